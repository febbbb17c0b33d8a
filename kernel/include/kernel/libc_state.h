/*
 * kernel/libc_state.h: the C library's per-flow state (errno, newlib's reent), which
 * belongs to a goroutine, not to the CPU it happens to run on.
 *
 * The scheduler (rt/sched.c) embeds one struct libc_state in every goroutine and calls
 * libc_state_switch_in() just before a goroutine starts running on a CPU and
 * libc_state_switch_out() as soon as it stopped, both on that CPU with interrupts off;
 * libc_state_init() when a goroutine is (re)spawned.
 *
 * Not filled in yet: errno and newlib's state are still the CPU's.
 */
#ifndef KERNEL_LIBC_STATE_H
#define KERNEL_LIBC_STATE_H

struct libc_state {
	int unused;
};

static inline void libc_state_init(struct libc_state *s) { (void)s; }
static inline void libc_state_switch_in(struct libc_state *s) { (void)s; }
static inline void libc_state_switch_out(struct libc_state *s) { (void)s; }

#endif
