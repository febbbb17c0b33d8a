/*
 * kernel/libc_state.h: the C library's per-flow state (errno, newlib's reent), which
 * belongs to a goroutine, not to the CPU it happens to run on; and the goroutine-aware
 * newlib locks' hook into the scheduler. kernel/libc_state.c has the design.
 *
 * The scheduler (rt/sched.c) embeds one struct libc_state in every goroutine and calls
 * libc_state_switch_in() just before a goroutine starts running on a CPU and
 * libc_state_switch_out() as soon as it stopped, both on that CPU with interrupts off;
 * libc_state_init() when a goroutine is (re)spawned (any context but interrupts; it
 * neither blocks nor allocates).
 *
 * Bare metal: errno is newlib's, in the goroutine's struct _reent (allocated at its
 * first use, kept with the G when it is reused). Hosted: errno is glibc's per-thread
 * one, saved at switch-out and restored at switch-in.
 *
 * newlib's locks (kernel/newlib_lock.c) park a goroutine that waits for one, through
 * the operations rt/ registers with libc_lock_register() (rt/libc_lock.c) once the
 * scheduler runs; before that, and outside goroutines, waiters spin.
 */
#ifndef KERNEL_LIBC_STATE_H
#define KERNEL_LIBC_STATE_H

#include <stdbool.h>

struct _reent;
struct spinlock;

struct libc_state {
	/* Owned by the goroutine (touched by its own code, or by the switch hooks on the
	 * CPU running it, interrupts off). */
#ifdef GORT_HOSTED
	int saved_errno;		/* glibc's errno while the G is switched out */
#else
	struct _reent *reent;		/* newlib's state, NULL until first used */
	bool fresh;			/* (re)spawned: reset reent before its next use */
#endif
	/* Guarded by the spinlock of the newlib lock it waits for. */
	struct libc_state *wait_next;	/* next goroutine parked on that lock */
};

void libc_state_init(struct libc_state *s);
void libc_state_switch_in(struct libc_state *s);
void libc_state_switch_out(struct libc_state *s);

/* The goroutine's state running on this CPU, NULL outside a goroutine (the scheduler
 * loop, boot code, an idle CPU). Interrupts off (the answer is this CPU's). */
struct libc_state *libc_state_running(void);

/*
 * What rt/ lends the newlib locks (rt/libc_lock.c):
 *   park(lock)   park the running goroutine; `lock` is held (taken with
 *                spin_lock_irqsave) and is released once the G is marked waiting;
 *                the irqsave half is popped before returning, which happens once
 *                someone readied it
 *   ready(s)     make the goroutine owning s runnable (s was parked by park)
 */
struct libc_lock_ops {
	void (*park)(struct spinlock *lock);
	void (*ready)(struct libc_state *s);
};

/* Called once by rt/ when the scheduler starts; never unregistered. */
void libc_lock_register(const struct libc_lock_ops *ops);

#endif
