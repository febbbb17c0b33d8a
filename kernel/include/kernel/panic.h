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

/* Install the exception handler that turns CPU faults into panics. */
void panic_init(void);

/* The layer above adds to every panic report (rt/: every goroutine's traceback).
 * Called once, after the panicking flow's own backtrace, with the world still as the
 * panic found it: it must only read, and print with kprintf. */
void panic_set_dump_hook(void (*fn)(void));

#ifdef NDEBUG
#define KASSERT(c) ((void)0)
#else
#define KASSERT(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))
#endif

#endif
