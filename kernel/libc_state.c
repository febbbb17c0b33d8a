/*
 * kernel/libc_state.c: errno and newlib's per-thread state belong to the goroutine.
 *
 * A goroutine runs on any CPU and moves between them (it is readied on one, stolen by
 * another, and soon preempted anywhere), so state the C library keeps "per thread"
 * must follow the goroutine, not the CPU. The scheduler calls three hooks
 * (kernel/libc_state.h); what they do depends on the C library.
 *
 * Bare metal (newlib). newlib is built with __DYNAMIC_REENT__ (tools/newlib.sh): every
 * errno access and every stdio, strtok, rand, dtoa... call asks __getreent() for the
 * running flow's struct _reent, which holds errno, the dtoa big-number caches, strtok's
 * and rand's state, multibyte states, asctime's buffer. __getreent() below returns
 *
 *   in a goroutine        the goroutine's own reent (struct libc_state.reent)
 *   outside one           this CPU's reent (boot code, the scheduler loop, an idle
 *                         CPU, and interrupt handlers: a handler must not clobber the
 *                         errno of the goroutine it interrupted); the boot CPU's is
 *                         newlib's static one (_impure_ptr), the others' are made
 *                         like a goroutine's, below
 *   before per-CPU data   _impure_ptr too (one CPU, early boot)
 *
 * The switch hooks only set this CPU's `running` pointer (switch-in) and clear it
 * (switch-out); __getreent() reads it with interrupts off, so a goroutine preempted
 * and moved to another CPU between two calls asks the CPU it is on now. A reent is
 * made at its first use, from pages carved by the CPU asking (no lock; a page is never
 * given back): 100,000 goroutines that never touch the C library cost nothing but the
 * few words of struct libc_state in struct g; one that does costs one reent (its size
 * is printed by the libc_g suite), kept with the G when the scheduler reuses it for a
 * later goroutine. That later goroutine must start clean (errno 0, rand's default
 * seed, no strtok position), so libc_state_init() only marks the state fresh and the
 * first use re-initialises the reent, keeping the dtoa caches it owns (freeing them
 * would mean calling free() from inside whatever newlib function asked). stdin, stdout
 * and stderr are global (--enable-newlib-global-stdio-streams): one stdout, one
 * buffer, one FILE lock for every goroutine, which is what keeps a printed line whole
 * (kernel/newlib_lock.c); the atexit list is global too.
 *
 * Rejected: a per-CPU reent switched by copying (a reent is hundreds of bytes, copied
 * twice per context switch); one reent for everyone (errno races between goroutines,
 * and the dtoa caches are not thread-safe); allocating the reent eagerly at spawn
 * (every goroutine would pay for it); newlib's small reent (it allocates its parts with
 * malloc from inside arbitrary functions, and panics when that fails).
 *
 * Hosted (glibc). errno is glibc's, per OS thread, and every CPU is a thread: a
 * goroutine that stops on one CPU and resumes on another would see the other thread's
 * errno. switch-out saves the thread's errno into the goroutine, switch-in restores
 * it. glibc's other per-thread state (strtok, rand's global state) is not switched:
 * rand and strtok are not reentrant in glibc either way. The interrupt signal handler
 * saves and restores errno around itself (arch/host/irq.c), so a goroutine that an
 * interrupt preempts must be switched out with errno as the handler found it. And
 * since glibc declares __errno_location const, the compiler may keep errno's address
 * across a switch point, which after a move to another CPU is the wrong thread's:
 * every hosted source file sees errno through arch/host/include/errno.h instead. One
 * window is left: a preemption between host_errno_location's return and the access
 * through the address it gave (an instruction or two) resumes the access on another
 * thread, against the first thread's errno. Bare metal has no such window: the
 * address is in the goroutine's own reent.
 * Line buffering for standard output: see host_stdout_lines below.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <kernel/libc_state.h>
#include <kernel/cpu.h>
#include <kernel/panic.h>

const struct libc_lock_ops *libc_lock_ops;	/* set once, read by kernel/newlib_lock.c */

void libc_lock_register(const struct libc_lock_ops *ops)
{
	libc_lock_ops = ops;
}

#ifdef GORT_HOSTED

#include <errno.h>
#include <stdio.h>

/* Not const, unlike __errno_location: called at every use (arch/host/include/errno.h). */
__attribute__((noinline, noipa)) int *host_errno_location(void)
{
	return __errno_location();
}

void libc_state_init(struct libc_state *s)
{
	s->saved_errno = 0;
	s->wait_next = NULL;
}

void libc_state_switch_in(struct libc_state *s)
{
	errno = s->saved_errno;
}

void libc_state_switch_out(struct libc_state *s)
{
	s->saved_errno = errno;
}

struct libc_state *libc_state_running(void)
{
	return NULL;		/* glibc's locks and state are per thread: nothing uses it */
}

/*
 * glibc buffers standard output fully when it is a pipe (as under the boot-test
 * runner), and flushes whenever its buffer fills, possibly in the middle of a line;
 * the console writes its own lines with write(2) between two such flushes, inside
 * that line. Line buffering makes each printf'd line (shorter than the buffer) one
 * write(2) at its newline, which a pipe delivers whole. glibc's FILE lock is per OS
 * thread, and a goroutine is only switched inside the kernel's own code, never inside
 * glibc, so no goroutine holds it across a switch; flockfile() held across a blocking
 * call is the exception, and is not supported on this platform.
 */
__attribute__((constructor)) static void host_stdout_lines(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#else /* newlib */

#include <string.h>
#include <reent.h>
#include <arch/memlayout.h>
#include <kernel/pmm.h>

#ifndef __DYNAMIC_REENT__
#error "newlib was built without __DYNAMIC_REENT__: rebuild it (tools/newlib.sh)"
#endif

/* Per CPU, written and read only by that CPU with interrupts off; padded so that
 * switches on different CPUs do not share a cache line. */
static struct {
	struct libc_state *running;	/* the goroutine's state on this CPU, or NULL */
	struct _reent *cpu_reent;	/* outside goroutines; NULL until first used */
	char *chunk;			/* carving reents from this page... */
	size_t chunk_left;		/* ...this many bytes left in it */
	char pad[32];
} percpu[ARCH_MAX_CPUS] __attribute__((aligned(64)));

_Static_assert(sizeof(struct _reent) <= PAGE_SIZE, "a reent fits in a page");

/* A new, initialised reent, carved from this CPU's page; NULL if no page is left. */
static struct _reent *reent_new(unsigned cpu)
{
	const size_t sz = (sizeof(struct _reent) + 15) & ~(size_t)15;
	if (percpu[cpu].chunk_left < sz) {
		uint64_t pa = page_alloc();
		if (!pa)
			return NULL;
		percpu[cpu].chunk = phys_to_virt(pa);
		percpu[cpu].chunk_left = PAGE_SIZE;
	}
	struct _reent *r = (struct _reent *)percpu[cpu].chunk;
	percpu[cpu].chunk += sz;
	percpu[cpu].chunk_left -= sz;
	_REENT_INIT_PTR(r);
	return r;
}

/* A reused goroutine's reent, made like new but keeping the dtoa caches it owns. */
static void reent_reset(struct _reent *r)
{
	struct _Bigint *result = r->_result, **freelist = r->_freelist, *p5s = r->_p5s;
	int result_k = r->_result_k, cvtlen = r->_cvtlen;
	char *cvtbuf = r->_cvtbuf;
	_REENT_INIT_PTR(r);
	r->_result = result;
	r->_result_k = result_k;
	r->_freelist = freelist;
	r->_p5s = p5s;
	r->_cvtlen = cvtlen;
	r->_cvtbuf = cvtbuf;
}

void libc_state_init(struct libc_state *s)
{
	s->fresh = true;	/* the reent (if the G has one) is reset at its next use */
	s->wait_next = NULL;
}

void libc_state_switch_in(struct libc_state *s)
{
	KASSERT(!arch_irq_enabled());
	percpu[cpu_id()].running = s;
}

void libc_state_switch_out(struct libc_state *s)
{
	KASSERT(!arch_irq_enabled());
	KASSERT(percpu[cpu_id()].running == s);
	percpu[cpu_id()].running = NULL;
}

struct libc_state *libc_state_running(void)
{
	KASSERT(!arch_irq_enabled());
	struct cpu *c = cpu_this();
	return c->in_irq ? NULL : percpu[c->id].running;
}

/* newlib's hook under __DYNAMIC_REENT__: the running flow's reent (see the top). */
struct _reent *__getreent(void)
{
	if (!arch_percpu())
		return _impure_ptr;
	irq_push();
	struct cpu *c = cpu_this();
	struct libc_state *s = c->in_irq ? NULL : percpu[c->id].running;
	struct _reent *r;
	if (s) {
		if (!s->reent) {
			s->reent = reent_new(c->id);
			s->fresh = false;
		} else if (s->fresh) {
			reent_reset(s->reent);
			s->fresh = false;
		}
		r = s->reent;
	} else {
		/* the boot CPU's is newlib's static one: it formats messages before the
		 * page allocator exists */
		if (!percpu[c->id].cpu_reent)
			percpu[c->id].cpu_reent = c->id == 0 ? _impure_ptr : reent_new(c->id);
		r = percpu[c->id].cpu_reent;
	}
	irq_pop();
	if (!r) {
		/* the panic message is formatted by newlib too: give it the static reent */
		static _Atomic bool oom;
		if (atomic_exchange(&oom, true))
			return _impure_ptr;
		panic("libc: out of memory for a C library state (struct _reent)");
	}
	return r;
}

#endif
