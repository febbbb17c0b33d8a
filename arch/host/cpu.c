/*
 * arch/host/cpu.c: CPUs as threads.
 *
 * A CPU is a POSIX thread. arch_cpu_start() (and main.c, for the boot CPU) creates it
 * with a small stack of glibc's and the thread moves at once to the stack the kernel
 * chose for it (the contract: entry(arg) runs on stack_top), which lies in the memfd:
 * the boot CPU's boot_stack in the boot data, the others' idle stacks from the page
 * allocator. The move is one way (rsp := stack_top, rbp := 0, call), announced to
 * AddressSanitizer as a fiber switch so that it knows the stack's bounds; glibc's
 * stack stays allocated and unused. ThreadSanitizer keeps its own shadow call stack
 * and needs no announcement.
 *
 * Per-CPU state: the kernel's per-CPU pointer is the __thread variable host_percpu
 * (ops_impl.h reads it %fs-relative, like %gs:0 on bare metal); the arch's own is
 * struct host_cpu, found through host_this_cpu. The hardware id is the CPU's index,
 * and main.c describes CPU i with hwid i.
 *
 * Exception and interrupt stacks: every signal handler runs on the CPU's alternate
 * signal stack (SA_ONSTACK), HOST_SIGSTACK_SIZE in the boot data, installed by
 * arch_cpu_init / arch_cpu_init_ap as bare metal loads its IST or SP_EL1 stacks.
 * (Under ThreadSanitizer, asynchronous signals are deferred to the next intercepted
 * call and then run on the thread's own stack; see irq.c.)
 *
 * Idle: arch_wait_for_interrupt blocks the interrupt signals at the OS level, checks
 * what was recorded while the software mask was set, clears the mask and sleeps in
 * sigsuspend, which unblocks them atomically: a signal sent before the sleep stays
 * pending in the kernel and ends it, so no wake-up is lost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arch/ops.h>
#include <arch/noscan.h>
#include <arch/smp.h>
#include "host.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * The image's stacks area (host.h): the CPUs' signal stacks, then the kernel's
 * boot_stack, as start.S lays them out in .bss on bare metal. main.c maps the boot
 * data's pages over it before any CPU runs.
 */
uint8_t host_boot_area[HOST_BOOT_AREA_SIZE] __attribute__((aligned(4096)));
NOSCAN(host_boot_area);

#define STR_(x) #x
#define STR(x) STR_(x)
__asm__(".globl boot_stack, boot_stack_top\n"
	".set boot_stack, host_boot_area + " STR(HOST_BOOT_STACK_OFF) "\n"
	".set boot_stack_top, host_boot_area + " STR(HOST_BOOT_AREA_SIZE) "\n");

/* glibc's stack for a CPU thread: only used until the switch to the kernel's. */
#define HOST_THREAD_STACK (256u << 10)
/* The kernel's idle stacks are 16 KiB (kernel/smp.c AP_STACK_PAGES); ASan is told so. */
#define HOST_AP_STACK_SIZE (16u << 10)

struct host_cpu host_cpus[ARCH_MAX_CPUS];
unsigned host_ncpus;

__thread int host_irq_off = 1;		/* CPUs start with interrupts off */
__thread void *host_percpu;
__thread struct host_cpu *host_this_cpu;
__thread uint64_t host_hwid;

static char start_error[96];

void arch_percpu_set(void *p)
{
	HOST_TLS_WRITE(host_percpu, p);
}

uint64_t arch_cpu_hwid(void)
{
	return host_hwid;
}

void host_sigstack_install(unsigned hwid)
{
	stack_t ss = {
		.ss_sp = host_boot_area + hwid * HOST_SIGSTACK_SIZE,
		.ss_size = HOST_SIGSTACK_SIZE,
	};
	if (sigaltstack(&ss, NULL) != 0)
		host_fatal("cpu %u: sigaltstack: %s", hwid, strerror(errno));
}

void arch_cpu_init(void)
{
	host_trap_install();
	host_sigstack_install((unsigned)host_hwid);
}

void arch_cpu_init_ap(unsigned cpu)
{
	(void)cpu;	/* the kernel's index; the stacks go by hardware id */
	host_sigstack_install((unsigned)host_hwid);
}

/* On the kernel's stack: tell ASan the switch is done, run the CPU. */
void host_stack_entry(void *arg, void (*fn)(void *));
void host_stack_entry(void *arg, void (*fn)(void *))
{
#if defined(__SANITIZE_ADDRESS__)
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	fn(arg);
	host_fatal("cpu %llu: its entry function returned", (unsigned long long)host_hwid);
}

static void *cpu_thread(void *p)
{
	struct host_cpu *c = p;
	unsigned hwid = (unsigned)(c - host_cpus);
	uintptr_t top = c->stack_top;
	uintptr_t size = hwid == 0 ? HOST_BOOT_STACK_SIZE : HOST_AP_STACK_SIZE;

	host_this_cpu = c;
	host_hwid = hwid;
#if defined(__SANITIZE_ADDRESS__)
	/* NULL: this thread never comes back to glibc's stack */
	__sanitizer_start_switch_fiber(NULL, (void *)(top - size), size);
#else
	(void)size;
#endif
	/* rbp = 0 ends the kernel's frame-pointer walks; .cfi_undefined rip ends the DWARF
	 * unwinders' (the sanitizers' reports, gdb), which would otherwise apply this
	 * function's frame description to the new stack, as glibc's clone does. */
	__asm__ volatile(
		"movq %0, %%rsp\n\t"
		"xorl %%ebp, %%ebp\n\t"
		".cfi_undefined rip\n\t"
		"call host_stack_entry\n\t"
		"ud2"
		: : "r"(top), "D"(c->entry_arg), "S"(c->entry) : "memory");
	__builtin_unreachable();
}

int host_thread_start(unsigned hwid, uintptr_t stack_top, void (*entry)(void *), void *arg)
{
	struct host_cpu *c = &host_cpus[hwid];
	pthread_attr_t attr;
	pthread_t t;

	c->stack_top = stack_top & ~15ul;
	c->entry = entry;
	c->entry_arg = arg;
	atomic_store(&c->started, true);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HOST_THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, cpu_thread, c);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_store(&c->started, false);
		errno = rc;
		return -1;
	}
	return 0;
}

int arch_cpu_start(uint64_t hwid, uintptr_t stack_top, void (*entry)(void *), void *arg)
{
	if (hwid >= host_ncpus) {
		snprintf(start_error, sizeof(start_error), "no CPU with hardware id %llu (-smp %u)",
			 (unsigned long long)hwid, host_ncpus);
		return -1;
	}
	if (atomic_load(&host_cpus[hwid].started)) {
		snprintf(start_error, sizeof(start_error), "CPU %llu was started already",
			 (unsigned long long)hwid);
		return -1;
	}
	if (host_thread_start((unsigned)hwid, stack_top, entry, arg) != 0) {
		snprintf(start_error, sizeof(start_error), "pthread_create: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *arch_cpu_start_error(void)
{
	return start_error;
}

/*
 * Sleep with the interrupt signals unblocked until one was handled.
 *
 * ThreadSanitizer keeps deferred signals per fiber, and a signal that came while a
 * goroutine's fiber ran outside any intercepted call can stay with that fiber after it
 * parks; the CPU would then sleep past its timer and its IPIs (seen in the collector's
 * stress tests: every CPU idle with deadlines seconds old and IPI bits set). So in the
 * TSan build the sleep is bounded (ppoll with the same mask: TSan delivers signals
 * that come during it at once), and arch_wait_for_interrupt's caller loops, which
 * re-reads the deadline and the IPI bits. The native builds sleep until a signal.
 */
#if defined(__SANITIZE_THREAD__)
#define TSAN_WAIT_NS (5 * 1000 * 1000)
#endif

static void wait_signal(const sigset_t *blocked_old)
{
	sigset_t m = *blocked_old, irq;
	host_irq_sigset(&irq);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&irq, s))
			sigdelset(&m, s);
#if defined(__SANITIZE_THREAD__)
	struct timespec ts = { 0, TSAN_WAIT_NS };
	ppoll(NULL, 0, &ts, &m);
#else
	sigsuspend(&m);
#endif
}

void arch_wait_for_interrupt(void)
{
	sigset_t irq, old;
	int pending, zero = 0, one = 1;

	host_irq_sigset(&irq);
	pthread_sigmask(SIG_BLOCK, &irq, &old);
#if defined(__SANITIZE_THREAD__)
	/* The idle loop is never inside a window that blocks the interrupt signals, yet
	 * under TSan a thread was seen here with them blocked (a mask carried across a
	 * fiber switch by a deferred delivery), replaying its pending interrupt to itself
	 * forever. The mask belongs to the CPU, whose interrupt state is the software
	 * flag: put the signals back. The fault signals too (context.c's tsan_irq_restore
	 * says why). */
	sigset_t faults;
	host_fault_sigset(&faults);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&irq, s) || sigismember(&faults, s))
			sigdelset(&old, s);
#endif
	HOST_TLS_READ(host_irq_pending, pending);
	/* A due deadline is an interrupt even if its SIG_TIMER went missing: seen under
	 * ThreadSanitizer, whose deferred signals are kept per fiber (goroutine), with
	 * many short-lived goroutines readied by timers (go_timer tests); likewise an IPI
	 * or device interrupt whose signal went missing: its bits are still set. */
	if (!pending && host_irq_note_lost(host_this_cpu))
		pending = 1;
	if (!pending) {
		HOST_TLS_WRITE(host_irq_off, zero);
		wait_signal(&old);	/* the handler ran inside, with the mask clear */
		HOST_TLS_WRITE(host_irq_off, one);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	HOST_TLS_READ(host_irq_pending, pending);
	if (pending) {			/* came while masked: take it now */
		arch_irq_enable();
		HOST_TLS_WRITE(host_irq_off, one);
	}
}

/* arch_halt: like hlt, whatever the mask; an interrupt that comes while masked is
 * recorded by the handler and ends the sleep all the same. */
void host_halt(void)
{
	sigset_t cur;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	wait_signal(&cur);
}

/*
 * ThreadSanitizer defers an asynchronous signal to the end of the next intercepted
 * libc call (or runs it at once inside a blocking one). A spin-wait with interrupts
 * on that makes no such call would never take its interrupt; clock_gettime is
 * intercepted and cheap, so the TSan build's arch_cpu_relax makes one. And since a
 * deferred signal can be run on another CPU's thread (host_irq_recover, context.c),
 * the wait also looks at this CPU's own pending interrupts.
 */
void (*host_relax_check)(void);	/* set once by the kernel (kernel/preempt.c); relaxed atomics */

void host_cpu_relax(void)
{
	struct timespec ts;
	sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &ts);
#if defined(__SANITIZE_THREAD__)
	host_irq_recover();
#endif
}

/* The host CPU's "model name" from /proc/cpuinfo; never fails. */
void arch_cpu_describe(char *buf, unsigned long len)
{
	char text[4096];
	const char *model = "unknown CPU";
	int fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		text[n] = '\0';
		char *p = strstr(text, "model name");
		char *colon = p ? strchr(p, ':') : NULL;
		if (colon) {
			model = colon + 1;
			while (*model == ' ' || *model == '\t')
				model++;
			char *nl = strchr(colon, '\n');
			if (nl)
				*nl = '\0';
		}
	}
	snprintf(buf, len, "%s (Linux threads)", model);
}
