/*
 * arch/host/irq.c: interrupts as signals, masked in software.
 *
 * Two signals are interrupts: SIG_IPI (sent by arch_ipi_send with tgkill to the target
 * CPU's thread) and SIG_TIMER (sent by the CPU's POSIX timer to its thread alone).
 * One handler takes both, on the CPU's signal stack, with both blocked at the OS
 * level while it runs (sa_mask), as an interrupt gate clears IF:
 *
 *   mask set (host_irq_off)   record host_irq_pending (and, for SIG_TIMER, the CPU's
 *                             timer_fired) and return: the interrupt stays pending,
 *                             like a masked LAPIC/GIC interrupt
 *   mask clear                set the mask, take the CPU's pending IPI kinds with one
 *                             exchange, dispatch each as IRQ_IPI(kind), then the timer
 *                             as IRQ_TIMER if its deadline has passed (timer.c drops
 *                             a stale SIG_TIMER), clear the mask, return
 *
 * The pending mask carries the kinds; the signal only says "look". A sender sets its
 * bit with a fetch-or and signals only when the mask was empty: a non-empty mask means
 * an earlier sender's signal is still to come (or was taken while masked and is
 * recorded), and the exchange that will drain the mask takes the new bit with it. So
 * an IPI storm costs one signal per drain, not one per IPI. SIG_IPI and SIG_TIMER are
 * not real-time signals: they do not queue, which is what a pending mask wants.
 *
 * What was recorded while masked is delivered when the mask is cleared (ops_impl.h):
 * host_irq_replay sends SIG_IPI to the thread itself, so it is taken like any other,
 * on the signal stack with a real ucontext, never on the interrupted (later: a
 * goroutine's) stack.
 *
 * A CPU takes interrupts only once arch_intc_init_cpu has created its timer and
 * unblocked the two signals (every CPU thread starts with them blocked, inherited from
 * main.c). IPIs sent before that only set bits; arch_intc_init_cpu finds them and
 * records them as pending (the sender's fetch-or and this CPU's `live` store are
 * sequentially consistent, so one of the two sides sees the other).
 *
 * ThreadSanitizer intercepts signal handlers: it runs a synchronous signal (a fault,
 * or one a thread sent itself with pthread_kill, which the replay uses) at once, but
 * defers an asynchronous one to the end of the thread's next intercepted call
 * (clock_gettime, sigsuspend, ...) and hands the handler a copy of the ucontext. The
 * mask is checked when the handler really runs, so the semantics hold; but a change to
 * the frame would be lost, so preemption, which redirects the frame (preempt.S),
 * refuses such a copy (arch_frame_inject_call, frame.live) and leaves the request
 * pending instead; and the copy's registers are where the signal arrived, a moment
 * gone by the time the handler runs on that same stack, so the frame is moved to the
 * handler's caller (frame_at_caller). A loop that makes no intercepted call never gets the signal at all
 * there: the tsan build cannot preempt it (README). A
 * deferred signal can also run inside this handler, at a libc call the kernel's
 * handler makes: it finds the mask set and records, so the dispatch loops until
 * nothing was recorded during it. TSan runs deferred handlers with every signal
 * blocked, and a fault with SIGSEGV blocked kills the process outright; but a fault
 * in an interrupt handler is the kernel's to report or fix up (arch_probe_read from a
 * cross-call, tests/boot/smp_test.c tlb), so under TSan the handler unblocks the
 * CPU-exception signals first (TSan puts its mask back afterwards).
 *
 * Waiting for IPIs only (arch_wait_for_ipi, a stop-the-world participant's halt,
 * usually inside its IPI_STOP handler): both signals are blocked (inside the handler
 * they are already, by its sa_mask: host_irq_in_handler says so, which saves two
 * system calls per wait, about a tenth of a stop), and the thread sleeps in
 * sigwaitinfo for SIG_IPI alone, which takes the signal without running a handler;
 * the IPI kinds it announced are then dispatched right there, nested in the waiter
 * (on the signal stack below it when the waiter is itself a handler), with a frame
 * from getcontext (not live: nothing may redirect it, and IPIs never do).
 * SIG_TIMER stays blocked and pending, timer_fired untouched: the timer comes when
 * the caller turns interrupts on. IPI bits already set when the wait starts (recorded
 * while masked, or their signal went missing under TSan) are dispatched without
 * sleeping. No lost wake-up: SIG_IPI is blocked from the check to the sigwaitinfo.
 * Rejected: sigsuspend with the handler running nested. Under ThreadSanitizer the
 * waiter is often a deferred handler, run from TSan's pending-signal loop, and a
 * signal let in there is deferred again and run from a second, nested pass of that
 * loop, which saves the thread's signal mask in the same per-thread slot as the
 * first: the outer pass then "restores" the all-blocked mask, and the CPU never
 * takes a signal again (seen: timers lost after a stop).
 *
 * The one device line, IRQ_DEVICE(0) (the console's input, uart.c), rides on SIG_IPI
 * too, with its own pending word (dev_pending) so that it never makes an IPI sender
 * think a signal is already on its way: the input thread sets it and signals the CPU
 * the line is routed to when it was clear; a pass of the handler takes it after the
 * IPIs. A wait for IPIs only leaves it pending, and when its signal was what woke the
 * wait, records it (host_irq_pending) so that it is replayed once interrupts are on.
 *
 * Rejected: sigprocmask as the interrupt flag (a system call on every spinlock
 * acquire and release); real-time signals (they queue, and an IPI storm would fill
 * the queue: tgkill fails with EAGAIN at RLIMIT_SIGPENDING); delivering what was
 * recorded by a direct call from arch_irq_enable (it would run on whatever stack
 * the caller is on, and without a ucontext).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <arch/frame.h>
#include <arch/irq.h>
#include <arch/ops.h>
#include <arch/trap.h>
#include "host.h"

__thread int host_irq_pending;
__thread int host_irq_in_handler;	/* irq_signal running: both signals blocked */
pid_t host_pid;

static irq_handler_fn irq_handler;

void frame_from_ucontext(struct arch_frame *f, const ucontext_t *uc, int sig);
void frame_to_ucontext(ucontext_t *uc, const struct arch_frame *f);

void host_irq_sigset(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIG_IPI);
	sigaddset(s, SIG_TIMER);
}

void arch_irq_set_handler(irq_handler_fn fn)
{
	irq_handler = fn;
}

static void deliver(unsigned irq, struct arch_frame *f)
{
	if (irq_handler)
		irq_handler(irq, f);
}

extern const char host_preempt_tramp[], host_preempt_tramp_end[];

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer runs a deferred handler on the thread's current stack, with a copy
 * of the ucontext; a handler the kernel called is on this CPU's signal stack. */
static bool on_sigstack(const void *local)
{
	uintptr_t lo = (uintptr_t)(host_boot_area + host_hwid * HOST_SIGSTACK_SIZE);
	return (uintptr_t)local >= lo && (uintptr_t)local < lo + HOST_SIGSTACK_SIZE;
}

/*
 * A deferred delivery runs on the thread's own stack, later than the signal arrived:
 * the copy's rip, rsp and rbp name a moment that is gone, and the stack below the
 * handler's caller now holds the handler's own frames (a panic's dump that scanned up
 * from the copy's rsp found irq_signal's frames there and walked them instead of the
 * goroutine's). Where the thread really is: in the sanitizer's runtime, at the call of
 * this handler, with everything above it live. The frame says that (rec is the
 * handler's frame record); the other registers stay as the copy has them.
 */
static void frame_at_caller(struct arch_frame *f, const uint64_t *rec)
{
	f->rbp = rec[0];
	f->rip = rec[1];
	f->rsp = (uint64_t)(uintptr_t)(rec + 2);
}
#endif

/* The IPI kinds pending on this CPU, each once; mask set. */
static void dispatch_ipis(struct host_cpu *c, struct arch_frame *f)
{
	unsigned kinds = atomic_exchange_explicit(&c->ipi_pending, 0, memory_order_acquire);
	for (unsigned k = 0; k < IPI_KINDS; k++)
		if (kinds & (1u << k))
			deliver(IRQ_IPI(k), f);
}

bool host_irq_note_lost(struct host_cpu *c)
{
	int one = 1;
	bool timer = host_timer_due(c);
	if (timer)
		c->timer_fired = true;	/* (dispatch checks the deadline again) */
	if (!timer && !atomic_load_explicit(&c->ipi_pending, memory_order_relaxed) &&
	    !atomic_load_explicit(&c->dev_pending, memory_order_relaxed))
		return false;
	HOST_TLS_WRITE(host_irq_pending, one);
	return true;
}

/* One pass over what this CPU has pending; mask set. */
static void dispatch(struct host_cpu *c, struct arch_frame *f)
{
	dispatch_ipis(c, f);
	if (atomic_exchange_explicit(&c->dev_pending, 0, memory_order_acquire))
		deliver(IRQ_DEVICE(0), f);
	if (c->timer_fired) {
		c->timer_fired = false;
		if (host_timer_due(c))
			deliver(IRQ_TIMER, f);
	}
}

static void irq_signal(int sig, siginfo_t *si, void *ucv)
{
	int saved_errno = errno, off, zero = 0, one = 1;
	struct host_cpu *c = host_this_cpu;
	(void)si;

	if (!c) {			/* not a CPU thread: cannot happen (thread-directed) */
		errno = saved_errno;
		return;
	}
	if (sig == SIG_TIMER)
		c->timer_fired = true;
	HOST_TLS_READ(host_irq_off, off);
	if (off) {
		HOST_TLS_WRITE(host_irq_pending, one);
		errno = saved_errno;
		return;
	}
	HOST_TLS_WRITE(host_irq_off, one);
#if defined(__SANITIZE_THREAD__)
	sigset_t faults;
	host_fault_sigset(&faults);
	pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
#endif
	struct arch_frame f;
	frame_from_ucontext(&f, ucv, sig);
#if defined(__SANITIZE_THREAD__)
	f.live = on_sigstack(&f);	/* else a deferred delivery, with a copy */
	if (!f.live)
		frame_at_caller(&f, __builtin_frame_address(0));
#endif
	int again, in_handler;
	HOST_TLS_READ(host_irq_in_handler, in_handler);
	HOST_TLS_WRITE(host_irq_in_handler, one);
	do {
		HOST_TLS_WRITE(host_irq_pending, zero);
		dispatch(c, &f);
		HOST_TLS_READ(host_irq_pending, again);
	} while (again);
	HOST_TLS_WRITE(host_irq_in_handler, in_handler);
	if (f.live)		/* a copy's changes would be lost; nothing changes one */
		frame_to_ucontext(ucv, &f);
	if (f.rip == (uint64_t)host_preempt_tramp) {
		/* redirected: the trampoline starts with interrupts off (see preempt.S) */
		errno = saved_errno;
		return;
	}
	HOST_TLS_WRITE(host_irq_off, zero);
	errno = saved_errno;
}

/* ---- preemption: see preempt.S --------------------------------------------------- */

__thread uint64_t host_preempt_rip, host_preempt_rec, host_preempt_fn;

/* What the trampoline saves with XSAVE (0: no XSAVE, FXSAVE then) and the size of its
 * standard-form area for those components, a multiple of 64. Set by xsave_init. */
uint64_t host_xsave_mask, host_xsave_size;

#define XSAVE_VECTOR_COMPONENTS 0xe7ull	/* x87, SSE, AVX, AVX-512 opmask, ZMM_Hi256, Hi16_ZMM */

static void xsave_init(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & bit_OSXSAVE))
		return;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	uint64_t mask = (((uint64_t)hi << 32) | lo) & XSAVE_VECTOR_COMPONENTS;
	uint64_t size = 576;	/* the legacy area and the header */
	for (unsigned i = 2; i < 64; i++) {
		if (!((mask >> i) & 1))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);	/* a: the component's size, b: its offset */
		if ((uint64_t)a + b > size)
			size = (uint64_t)a + b;
	}
	host_xsave_size = (size + 63) & ~63ull;
	host_xsave_mask = mask;
}

void host_preempt_call(void (*fn)(void));

void host_preempt_call(void (*fn)(void))
{
	arch_irq_enable();
	fn();
	__asm__ volatile("");	/* not a tail call: keeps this frame in dumps */
}

bool arch_frame_inject_call(struct arch_frame *f, void (*fn)(void))
{
	extern const char __executable_start[], etext[], __libc_text_start[], __libc_text_end[];
	if (!f->live || f->rip < (uint64_t)__executable_start || f->rip >= (uint64_t)etext ||
	    (f->rip >= (uint64_t)__libc_text_start && f->rip < (uint64_t)__libc_text_end) ||
	    (f->rip >= (uint64_t)host_preempt_tramp && f->rip < (uint64_t)host_preempt_tramp_end))
		return false;	/* a copy, or in libc (shared, or linked in: host.ld), a sanitizer's
				 * runtime, or the trampoline */
	uint64_t rip = f->rip, rec = f->rip + 1, fnv = (uint64_t)(uintptr_t)fn;
	HOST_TLS_WRITE(host_preempt_rip, rip);
	HOST_TLS_WRITE(host_preempt_rec, rec);
	HOST_TLS_WRITE(host_preempt_fn, fnv);
	f->rip = (uint64_t)host_preempt_tramp;
	return true;
}

/* pthread_kill, not tgkill: ThreadSanitizer runs a signal a thread sent itself that
 * way at once, as the replay must be (for a thread itself glibc makes it one tgkill). */
void host_irq_replay(void)
{
	int saved_errno = errno;
	pthread_kill(pthread_self(), SIG_IPI);
	errno = saved_errno;
}

/* SIG_IPI to CPU t: the replay for this thread, one tgkill for another (pthread_kill of
 * another thread would add two sigprocmask calls and a lock). errno kept. Any context:
 * async-signal-safe. */
static void signal_cpu(struct host_cpu *t)
{
	int saved_errno = errno;
	if (t == host_this_cpu)
		host_irq_replay();
	else
		tgkill(host_pid, t->tid, SIG_IPI);
	errno = saved_errno;
}

void arch_ipi_send(uint64_t hwid, enum ipi_kind kind)
{
	if (hwid >= host_ncpus || (unsigned)kind >= IPI_KINDS)
		return;
	struct host_cpu *t = &host_cpus[hwid];
	if (atomic_fetch_or(&t->ipi_pending, 1u << kind) != 0)
		return;		/* a signal for the earlier bits is on its way */
	if (!atomic_load(&t->live))
		return;		/* arch_intc_init_cpu will find the bit */
	signal_cpu(t);
}

/* The CPU IRQ_DEVICE(0) is routed to; -1 while it is masked. */
static _Atomic int dev_cpu = -1;

int arch_irq_line_enable(const struct arch_irq_line *l, char *err, size_t errlen)
{
	if (l->num != 0) {
		snprintf(err, errlen, "hosted: no device line %u (the console's input is 0)",
			 (unsigned)l->num);
		return -1;
	}
	atomic_store(&dev_cpu, (int)host_hwid);
	return 0;
}

void host_irq_raise_device(void)
{
	int cpu = atomic_load(&dev_cpu);
	if (cpu < 0)
		return;
	struct host_cpu *t = &host_cpus[cpu];
	if (atomic_exchange_explicit(&t->dev_pending, 1, memory_order_release))
		return;		/* raised already: its signal is on its way or taken */
	if (atomic_load(&t->live))
		signal_cpu(t);
}

/* No broadcast in the host: one IPI per live CPU thread but this one. */
void arch_ipi_broadcast(enum ipi_kind kind)
{
	for (unsigned i = 0; i < host_ncpus; i++)
		if (&host_cpus[i] != host_this_cpu)
			arch_ipi_send(i, kind);
}

/* One file of /proc/self/task/<tid>/ into buf (NUL-terminated, possibly cut); false if
 * it cannot be read. */
static bool task_file(pid_t tid, const char *name, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0;
}

/* The value of a "Name:\tvalue" line of a status file, or "?". */
static const char *status_field(const char *text, const char *name, char *out, size_t len)
{
	const char *p = strstr(text, name);
	snprintf(out, len, "?");
	if (p) {
		p += strlen(name);
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, "\n");
		snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
	}
	return out;
}

/*
 * A CPU that does not answer (arch/irq.h): its thread as Linux sees it: the
 * scheduler state (R running, S sleeping), the system call it sleeps in with its
 * stack pointer and pc ("running" when in none), the signals Linux holds for it
 * (SigPnd: blocked by its mask) and its mask, and the IPI kinds still pending here.
 * An IPI pending with no signal held and the thread running is a signal the thread
 * took and deferred: ThreadSanitizer runs an asynchronous signal's handler only at the
 * next call it intercepts (cpu.c, host_cpu_relax).
 */
void arch_ipi_unanswered(uint64_t hwid, char *buf, size_t len)
{
	if (!len)
		return;
	buf[0] = '\0';
	if (hwid >= host_ncpus || !atomic_load(&host_cpus[hwid].live))
		return;
	pid_t tid = host_cpus[hwid].tid;
	char stat[512], status[2048], sys[160] = "?", pnd[24], blk[24];
	char state = '?';
	if (task_file(tid, "stat", stat, sizeof(stat))) {
		const char *p = strrchr(stat, ')');	/* the name may hold anything but ends there */
		if (p && p[1] == ' ')
			state = p[2];
	}
	if (task_file(tid, "syscall", sys, sizeof(sys))) {
		/* "nr a0 .. a5 sp pc", or "running": keep nr, sp and pc */
		sys[strcspn(sys, "\n")] = '\0';
		char *pc = strrchr(sys, ' ');
		if (pc) {
			*pc = '\0';
			char *sp = strrchr(sys, ' ');
			*pc = ' ';
			size_t nr = strcspn(sys, " ");
			if (sp && sp > sys + nr)
				memmove(sys + nr, sp, strlen(sp) + 1);	/* "nr sp pc" */
		}
	}
	if (!task_file(tid, "status", status, sizeof(status)))
		status[0] = '\0';
	bool in_call = strncmp(sys, "running", 7) != 0;
	snprintf(buf, len, "host thread %d: state %c, %s%s%s, SigPnd %s, SigBlk %s, IPI kinds pending 0x%x",
		 (int)tid, state, in_call ? "in system call " : "in no system call", in_call ? sys : "",
		 in_call ? " (nr sp pc)" : "", status_field(status, "SigPnd:", pnd, sizeof(pnd)),
		 status_field(status, "SigBlk:", blk, sizeof(blk)),
		 atomic_load(&host_cpus[hwid].ipi_pending));
}

/* Sleep until an IPI with only SIG_IPI taken, then run its handlers here (see the
 * top and arch/irq.h). Interrupts (the software mask) off throughout. */
void arch_wait_for_ipi(void)
{
	struct host_cpu *c = host_this_cpu;
	sigset_t irq, old, ipi;
	int saved_errno = errno, in_handler;

	HOST_TLS_READ(host_irq_in_handler, in_handler);
	sigemptyset(&ipi);
	sigaddset(&ipi, SIG_IPI);
	if (!in_handler) {	/* a handler has both blocked already (sa_mask) */
		host_irq_sigset(&irq);
		pthread_sigmask(SIG_BLOCK, &irq, &old);
	}
	if (!atomic_load(&c->ipi_pending))
		sigwaitinfo(&ipi, NULL);	/* EINTR (a fault's handler ran): spurious */
	if (!in_handler)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (atomic_load(&c->dev_pending)) {	/* its signal may be the one just taken */
		int one = 1;
		HOST_TLS_WRITE(host_irq_pending, one);
	}
	if (atomic_load(&c->ipi_pending)) {
		ucontext_t uc;
		struct arch_frame f;
		getcontext(&uc);
		frame_from_ucontext(&f, &uc, SIG_IPI);
		f.live = 0;
		dispatch_ipis(c, &f);
	}
	errno = saved_errno;	/* EINTR: the caller's (a goroutine's) errno is its own */
}

/* The OS already made every thread's view of memory agree: munmap and mprotect shoot
 * down the TLBs of all the process's threads before they return. Nothing to do. */
void arch_tlb_flush_local(uint64_t va, uint64_t size)
{
	(void)va, (void)size;
}

void arch_intc_init_cpu(void)
{
	struct host_cpu *c = host_this_cpu;
	sigset_t irq;
	int one = 1;

	c->tid = gettid();
	if (host_timer_create(c) != 0)
		host_fatal("cpu %llu: timer_create: %s", (unsigned long long)host_hwid, strerror(errno));
	atomic_store(&c->live, true);
	if (atomic_load(&c->ipi_pending))
		HOST_TLS_WRITE(host_irq_pending, one);
	host_irq_sigset(&irq);
	pthread_sigmask(SIG_UNBLOCK, &irq, NULL);
}

int arch_intc_init(const struct arch_intc_config *cfg, char *err, size_t errlen)
{
	struct sigaction sa;
	(void)cfg;		/* no controller: the firmware described none */

	xsave_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = irq_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	host_irq_sigset(&sa.sa_mask);
	if (sigaction(SIG_IPI, &sa, NULL) != 0 || sigaction(SIG_TIMER, &sa, NULL) != 0) {
		snprintf(err, errlen, "host: sigaction for the interrupt signals: %s", strerror(errno));
		return -1;
	}
	arch_intc_init_cpu();
	return 0;
}
