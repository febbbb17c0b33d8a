/*
 * arch/host/host.h: what the files of arch/host share among themselves; not part of
 * the arch contract (arch/include/arch), never included outside this folder.
 *
 * The hosted platform is the kernel built as an ordinary Linux program (DESIGN.md,
 * "The hosted platform"). Each piece of the machine has a host stand-in:
 *
 *   CPU                 a thread (cpu.c); hardware id = its index; per-CPU pointer
 *                       in a __thread variable
 *   interrupt flag      a __thread software mask (irq.c; ops_impl.h inlines it)
 *   IPI                 a bit in the target's pending mask + tgkill of its thread
 *                       with SIG_IPI (irq.c)
 *   per-CPU timer       a POSIX timer on CLOCK_MONOTONIC that signals its CPU's
 *                       thread with SIG_TIMER (timer.c)
 *   cycle counter       CLOCK_MONOTONIC in nanoseconds (1 GHz)
 *   physical memory     a memfd of -m bytes at "physical" HOST_PHYS_BASE
 *   page tables         mmap of the memfd at fixed addresses in the kernel's
 *                       user-space window, plus a record of what is mapped (mmu.c)
 *   CPU exceptions      SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP (trap.c)
 *   exception and       an alternate signal stack per CPU (sigaltstack), in the
 *   interrupt stacks    boot data (below), like x86-64's IST stacks
 *   UART                stdout (uart.c)
 *   power-off           _exit with the status (power.c)
 *   firmware            main.c: describes the machine and hands a bootinfo to
 *                       kernel_main, as boot/entry.c does on bare metal
 *
 * "Physical" memory, as main.c lays it out:
 *
 *   HOST_PHYS_BASE (1 MiB)   boot data, never handed to the page allocator:
 *     + 0                      the alternate signal stacks, HOST_SIGSTACK_SIZE each,
 *                              one per possible CPU (index = hardware id)
 *     + HOST_BOOT_STACK_OFF    the boot CPU's stack
 *     + HOST_DTB_OFF           the device tree that describes the machine (dtb.c)
 *   + HOST_BOOTDATA_SIZE     usable RAM, to the end of the memfd
 *
 * The stacks part of the boot data is also mapped over host_boot_area, a page-aligned
 * array in the image's .bss (cpu.c), and the kernel's boot_stack / boot_stack_top are
 * symbols inside it, as start.S's are on bare metal: a symbol in the direct map would
 * not fit the small code model's 32-bit addresses. So every stack the kernel runs on
 * is physical memory the record of mappings knows (mmu.c), and arch_mmu_query, which
 * the panic backtrace asks before reading a frame, covers all of them. The signal
 * stacks lie below the boot stack, which lies below the other CPUs' stacks (page
 * allocator memory, in the direct map), so that a frame walk from a handler into the
 * interrupted code goes upwards, as the walk requires.
 */
#ifndef ARCH_HOST_HOST_H
#define ARCH_HOST_HOST_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <arch/memlayout.h>
#include <arch/smp.h>

#if !defined(__x86_64__) || !defined(__linux__)
#error "arch/host: x86-64 Linux hosts only (trap.c reads x86-64 ucontext registers)"
#endif

/* Functions ThreadSanitizer must not instrument at all, not even with its shadow call
 * stack's entry and exit: the dirty-page fault path (trap.c's first step, mmu.c's
 * arch_mmu_dirty_fault), which runs in any context, even while TSan is constructing
 * a fiber's state, which its signal wrapper then hands the handler half built. */
#if defined(__SANITIZE_THREAD__)
#define HOST_NO_TSAN __attribute__((no_sanitize_thread))
#else
#define HOST_NO_TSAN
#endif

/* The stacks' sizes have no suffix: cpu.c hands them to the assembler. */
#define HOST_PHYS_BASE		0x100000ul	/* the memfd's first byte, "physically" */
#define HOST_SIGSTACK_SIZE	0x8000		/* 32 KiB per CPU, like an IST stack x 2 */
#define HOST_BOOT_STACK_OFF	(ARCH_MAX_CPUS * HOST_SIGSTACK_SIZE)
#define HOST_BOOT_STACK_SIZE	0x10000		/* 64 KiB: sanitizer frames are larger */
#define HOST_BOOT_AREA_SIZE	(HOST_BOOT_STACK_OFF + HOST_BOOT_STACK_SIZE)
#define HOST_DTB_OFF		HOST_BOOT_AREA_SIZE
#define HOST_DTB_SIZE		0x4000
#define HOST_BOOTDATA_SIZE	(HOST_DTB_OFF + HOST_DTB_SIZE)

/* End of the kernel's address window (arch/memlayout.h): arch_mmu_map refuses
 * anything outside [DMAP_BASE, HOST_VA_END). */
#define HOST_VA_END		0x568000000000ul

#define HOST_MEM_DEFAULT	(256ul << 20)

/* Interrupts. Both are ordinary signals, not real-time ones: they do not queue, so a
 * burst of IPIs costs one delivery, and the pending mask says which kinds came. */
#define SIG_IPI		SIGUSR1
#define SIG_TIMER	SIGUSR2

/*
 * One per possible CPU, indexed by hardware id. Fields are grouped by who writes them.
 */
struct host_cpu {
	/* Written by any CPU. */
	_Atomic unsigned ipi_pending;	/* 1 << enum ipi_kind, set by senders */
	_Atomic unsigned dev_pending;	/* IRQ_DEVICE(0) raised (the input thread, uart.c) */

	/* Written once by the CPU's own thread before `live`, read-only afterwards. */
	pid_t tid;
	timer_t timer;
	_Atomic bool live;		/* takes interrupts: senders may signal it */

	/* Written by arch_cpu_start on the boot CPU before the thread exists. */
	_Atomic bool started;
	uintptr_t stack_top;		/* where the kernel asked entry() to run */
	void (*entry)(void *);
	void *entry_arg;

	/* This CPU only (its thread and its signal handlers). */
	uint64_t deadline;		/* armed timer deadline, ns; 0 = disarmed */
	bool timer_fired;		/* SIG_TIMER came and was not yet looked at */
} __attribute__((aligned(64)));

extern struct host_cpu host_cpus[ARCH_MAX_CPUS];
extern unsigned host_ncpus;		/* CPUs the "firmware" describes (-smp) */
extern pid_t host_pid;			/* this process, for tgkill */
extern int host_memfd;			/* physical memory */
extern uint64_t host_mem_size;		/* its size in bytes */

/* Raise IRQ_DEVICE(0) on the CPU it is routed to (nothing before it is): any thread. */
void host_irq_raise_device(void);

/* This thread's CPU (NULL on the process's main thread, which is not a CPU). */
extern __thread struct host_cpu *host_this_cpu;
extern __thread uint64_t host_hwid;

/* cpu.c: start CPU hwid's thread running entry(arg) on stack_top; 0 or -1 (errno). */
int host_thread_start(unsigned hwid, uintptr_t stack_top, void (*entry)(void *), void *arg);
/* cpu.c: install CPU hwid's alternate signal stack on this thread. */
void host_sigstack_install(unsigned hwid);
/* cpu.c: the image's stacks area (signal stacks, then the boot stack), and the top of
 * the boot stack. main.c backs it with the boot data. */
extern uint8_t host_boot_area[HOST_BOOT_AREA_SIZE];
extern char boot_stack_top[];

/* mmu.c: map physical [pa, pa+size) over [va, va+size) of the host image (replacing
 * what is there) and record it; for main.c's boot area. 0 or -1. */
int host_mmu_map_image(uint64_t va, uint64_t pa, uint64_t size);

/* irq.c: deliver what was recorded while interrupts were masked (ops_impl.h). */
void host_irq_replay(void);
/* irq.c: the signals that are interrupts, as a set. */
void host_irq_sigset(sigset_t *s);

/* timer.c: has this CPU's timer deadline passed (a SIG_TIMER that is not stale)? */
bool host_timer_due(struct host_cpu *c);
/* irq.c: CPU c's interrupts that are due though their signal may never come (an IPI
 * or device interrupt whose pending bits are still set, a timer deadline passed):
 * recorded as taken while masked (host_irq_pending, timer_fired), to be dispatched
 * when interrupts go on; whether there were any. On c's own thread. */
bool host_irq_note_lost(struct host_cpu *c);
/* ThreadSanitizer build: this CPU's interrupts whose deferred signal ran on another
 * CPU's thread, recorded or replayed (context.c). */
void host_irq_recover(void);
/* irq_signal is running on this thread (its sa_mask blocks the interrupt signals). */
extern __thread int host_irq_in_handler;
/* timer.c: this CPU's POSIX timer; 0 or -1 (errno). */
int host_timer_create(struct host_cpu *c);

/* trap.c: install the handlers of the CPU exceptions (once, boot CPU); their
 * signals, as a set. */
void host_trap_install(void);
void host_fault_sigset(sigset_t *s);

/* uart.c: write out what the console buffered (power-off, fatal errors). */
void host_uart_flush(void);

/* dtb.c: the machine's device tree into dst; its size, or 0 if it does not fit. */
size_t host_dtb_build(void *dst, size_t cap, unsigned ncpus, uint64_t mem_base, uint64_t mem_size,
		      const char *model);

/* power.c: a failure of the host itself (a system call that cannot fail did): one
 * line on stderr and exit with the panic status. Any context. */
_Noreturn void host_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
