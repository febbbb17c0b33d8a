/*
 * kernel/panic.h: stopping the machine with an explanation.
 *
 * panic() prints "PANIC: <message>", a backtrace of the caller, and powers off with
 * status EXIT_PANIC (the runner tells it apart from test failures). A fault the kernel
 * does not handle ends the same way, with the register dump between the two.
 * Context: any. A panic inside a panic prints one line and stops at once.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdbool.h>
#include <stdint.h>

#define EXIT_PASS  0
#define EXIT_FAIL  1
#define EXIT_PANIC 2

_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "  #i 0x... name+0xoff" lines for the frame chain starting at fp. */
void backtrace_print(uint64_t pc, uint64_t fp);
/* The same for a trap: pc, then ret (the interrupted function's return address when it
 * had no frame record yet; 0 otherwise), then the chain from fp. */
void backtrace_print_trap(uint64_t pc, uint64_t ret, uint64_t fp);
/* The return address a frame record really holds: its ret, unless a layer above
 * planted something else there (the collector's stack barriers): then the handler
 * registered below says what it replaced (given the slot's address and its word). */
uint64_t backtrace_record_ret(uint64_t fp);
void backtrace_set_ret_fixup(uint64_t (*fn)(uint64_t slot, uint64_t ret));

/* Install the exception handler that turns CPU faults into panics. */
void panic_init(void);

/* The layer above adds to every panic report (rt/: every goroutine's traceback).
 * Called once, after the panic's message (and a fault's registers), with the other
 * CPUs stopped and the world as the panic found it: it must only read, and print with
 * kprintf. It places the panicking flow's frames with panic_print_backtrace() (under
 * the header of the goroutine that panicked); if it does not, the kernel prints them
 * after it. */
void panic_set_dump_hook(void (*fn)(void));

/* The panicking flow's backtrace, once (later calls, or calls outside the panicking
 * CPU's report, print nothing). For the dump hook. */
void panic_print_backtrace(void);

/*
 * The other CPUs during a panic. The panicking CPU asks every other online CPU to
 * stop (an IPI); each records where it was interrupted and halts with interrupts
 * off. For the dump hook, per CPU:
 *   PANIC_CPU_UNKNOWN  no panic is being reported (a deadlock report, say)
 *   PANIC_CPU_SELF     the panicking CPU itself
 *   PANIC_CPU_STOPPED  stopped: *pc, *ret (see backtrace_print_trap) and *fp say where
 *   PANIC_CPU_SILENT   did not answer within panic_stop_wait_ms() (interrupts off?)
 */
enum panic_cpu_state {
	PANIC_CPU_UNKNOWN = 0,
	PANIC_CPU_SELF,
	PANIC_CPU_STOPPED,
	PANIC_CPU_SILENT,
};
enum panic_cpu_state panic_cpu_frame(unsigned cpu, uint64_t *pc, uint64_t *ret, uint64_t *fp);
uint64_t panic_stop_wait_ms(void);

/* For kernel/ipi.c: has a panic on another CPU asked this one to stop? Then it calls
 * panic_stop_self with the interrupted frame (NULL from a wait loop). */
struct arch_frame;
bool panic_stop_requested(void);
_Noreturn void panic_stop_self(const struct arch_frame *f);

#ifdef NDEBUG
#define KASSERT(c) ((void)0)
#else
#define KASSERT(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))
#endif

#endif
