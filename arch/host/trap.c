/*
 * arch/host/trap.c: CPU exceptions are the signals Linux turns them into.
 *
 *   #PF page fault        SIGSEGV (unmapped, or not allowed), SIGBUS (past the memfd's end)
 *   #UD invalid opcode    SIGILL
 *   #DE divide error      SIGFPE
 *   #BP breakpoint        SIGTRAP
 *
 * Linux hands over what the hardware said: the vector (trapno), the page-fault error
 * code (err: bit 1 = write, bit 4 = instruction fetch) and the address (cr2), all in
 * the ucontext. So the struct trap_info is the one the x86-64 port builds, with the
 * same names, and the panic lines read alike on both.
 *
 * The handler runs on the CPU's signal stack (SA_ONSTACK), with the interrupt signals
 * blocked (sa_mask) and the software mask set, as an interrupt gate clears IF; it may
 * nest (SA_NODEFER: a fault inside the kernel's handler reaches it again, and panic
 * reports the nested fault instead of Linux killing the process). The kernel's
 * handler may change the frame and return (arch_probe_fixup moves rip): the frame is
 * written back into the ucontext and sigreturn resumes there.
 *
 * A write to a page the dirty-page tracking made read-only (mmu.c) is a SIGSEGV too:
 * the handler hands those to arch_mmu_dirty_fault before anything else and returns
 * at once when it resolved one, so that they cost no frame, no mask and no kernel.
 *
 * The sanitizers must leave these signals to us: arch/host/sanitizer.c sets their
 * handle_segv/handle_sigbus/handle_sigill/handle_sigfpe options to 0 (AddressSanitizer
 * would print its own SEGV report and exit; the kernel's panic is the report here).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <arch/frame.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <arch/trap.h>
#include "host.h"
#include "../x86_64/trap_common.h"

_Static_assert(offsetof(struct arch_frame, r8) == REG_R8 * 8 && offsetof(struct arch_frame, rdi) == REG_RDI * 8 &&
	       offsetof(struct arch_frame, rbp) == REG_RBP * 8 && offsetof(struct arch_frame, rsp) == REG_RSP * 8 &&
	       offsetof(struct arch_frame, rip) == REG_RIP * 8 && offsetof(struct arch_frame, err) == REG_ERR * 8 &&
	       offsetof(struct arch_frame, trapno) == REG_TRAPNO * 8 && offsetof(struct arch_frame, cr2) == REG_CR2 * 8 &&
	       offsetof(struct arch_frame, signo) == NGREG * 8,
	       "struct arch_frame must follow glibc's gregset_t");

static trap_handler_fn trap_handler;

void frame_from_ucontext(struct arch_frame *f, const ucontext_t *uc, int sig);
void frame_to_ucontext(ucontext_t *uc, const struct arch_frame *f);

void frame_from_ucontext(struct arch_frame *f, const ucontext_t *uc, int sig)
{
	memcpy(f, uc->uc_mcontext.gregs, NGREG * sizeof(greg_t));
	f->signo = (uint64_t)sig;
	f->live = 1;
	f->fpregs = uc->uc_mcontext.fpregs;
}

void frame_to_ucontext(ucontext_t *uc, const struct arch_frame *f)
{
	memcpy(uc->uc_mcontext.gregs, f, NGREG * sizeof(greg_t));
}

void arch_trap_set_handler(trap_handler_fn fn)
{
	trap_handler = fn;
}

static const char *trap_name(int sig, const siginfo_t *si, const struct arch_frame *f)
{
	if (si->si_code <= 0)		/* kill, tgkill, sigqueue: not the CPU */
		return sig == SIGSEGV ? "SIGSEGV sent by a process" :
		       sig == SIGBUS ? "SIGBUS sent by a process" :
		       sig == SIGILL ? "SIGILL sent by a process" :
		       sig == SIGFPE ? "SIGFPE sent by a process" : "SIGTRAP sent by a process";
	if (sig == SIGBUS)
		return "bus error";
	return f->trapno < 32 ? trap_names[f->trapno] : "unknown exception";
}

/* The kernel's part of a fault: everything but a clean page's first write. */
static void fault_signal_kernel(int sig, siginfo_t *si, ucontext_t *uc)
{
	int saved_errno = errno, was_off, pending, one = 1;
	struct arch_frame f;

#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer runs the handler with every signal blocked (its wrapper's
	 * sa_mask), SA_NODEFER or not, so a fault inside the kernel's handler would kill
	 * the process: a clean page's first write in the stack-growth path (the stacks'
	 * metadata), or a nested fault that panic should report. The interrupt handler
	 * does the same (irq.c). */
	sigset_t faults;
	host_fault_sigset(&faults);
	pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
#endif
	HOST_TLS_READ(host_irq_off, was_off);
	HOST_TLS_WRITE(host_irq_off, one);
	frame_from_ucontext(&f, uc, sig);
	struct trap_info ti = {
		.name = trap_name(sig, si, &f),
		.vector = f.trapno,
		.code = f.err,
		.pc = f.rip,
		.sp = f.rsp,
		.fp = f.rbp,
	};
	if ((sig == SIGSEGV || sig == SIGBUS) && si->si_code > 0) {
		ti.addr = (uint64_t)(uintptr_t)si->si_addr;
		ti.is_mem = true;
		ti.is_write = f.err & 2;
	}
	if (!trap_handler) {
		/* Before kernel_main installed its handler: nothing else can report it. */
		char line[160];
		int n = snprintf(line, sizeof(line), "gort host: %s (signal %d) at pc 0x%llx, address 0x%llx, "
				 "before the kernel's trap handler\n", ti.name, sig,
				 (unsigned long long)ti.pc, (unsigned long long)ti.addr);
		if (write(2, line, (size_t)n) < 0)
			(void)0;
		_exit(2);
	}
	trap_handler(&ti, &f);
	frame_to_ucontext(uc, &f);
	if (!was_off) {
		HOST_TLS_WRITE(host_irq_off, was_off);
		HOST_TLS_READ(host_irq_pending, pending);
		if (pending)		/* recorded meanwhile (ThreadSanitizer): after sigreturn */
			host_irq_replay();
	}
	errno = saved_errno;
}

/*
 * The handler. First, before the software mask or anything else: a write (error code
 * bit 1), not an instruction fetch (bit 4), to a page mapped but protected may be a
 * clean page's first write (mmu.c), resolved here in any context (masked, inside the
 * collector, inside a sanitizer's runtime), lock-free, and the access retried. Not
 * instrumented by ThreadSanitizer (HOST_NO_TSAN, host.h), nor is what it calls.
 */
HOST_NO_TSAN static void fault_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t err = uc->uc_mcontext.gregs[REG_ERR];

	if (sig == SIGSEGV && si->si_code == SEGV_ACCERR && (err & 2) && !(err & 16) &&
	    arch_mmu_dirty_fault((uint64_t)(uintptr_t)si->si_addr))
		return;
	fault_signal_kernel(sig, si, uc);
}

static const int fault_sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };

void host_fault_sigset(sigset_t *s)
{
	sigemptyset(s);
	for (unsigned i = 0; i < sizeof(fault_sigs) / sizeof(fault_sigs[0]); i++)
		sigaddset(s, fault_sigs[i]);
}

void host_trap_install(void)
{
	const int *sigs = fault_sigs;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	host_irq_sigset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(fault_sigs) / sizeof(fault_sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			host_fatal("sigaction(%d): %s", sigs[i], strerror(errno));
}

extern const char host_probe_insn[], host_probe_fail[];

bool arch_probe_fixup(struct arch_frame *f)
{
	if (f->rip != (uint64_t)host_probe_insn)
		return false;
	f->rip = (uint64_t)host_probe_fail;
	return true;
}

void arch_frame_dump(const struct arch_frame *f, int (*printfn)(const char *fmt, ...))
{
	trap_dump_gprs(f, printfn);
	printfn("rip %016llx rflags %08llx vector %llu error %llx cr2 %016llx signal %llu\n",
		(unsigned long long)f->rip, (unsigned long long)f->eflags,
		(unsigned long long)f->trapno, (unsigned long long)f->err,
		(unsigned long long)f->cr2, (unsigned long long)f->signo);
}

/* arch_frame_unrecorded_ret: framecode.c */
uint64_t arch_frame_pc(const struct arch_frame *f) { return f->rip; }
uint64_t arch_frame_sp(const struct arch_frame *f) { return f->rsp; }
uint64_t arch_frame_fp(const struct arch_frame *f) { return f->rbp; }

/* The red zone: user code on Linux may keep data in the 128 bytes below rsp. */
unsigned arch_frame_gc_areas(const struct arch_frame *f, uint64_t *stack_lo, const void *area[2],
			     uint64_t len[2])
{
	*stack_lo = f->rsp - 128;
	area[0] = f;
	len[0] = sizeof(*f);
	if (!f->fpregs)
		return 1;
	area[1] = f->fpregs;
	len[1] = sizeof(struct _libc_fpstate);
	return 2;
}
