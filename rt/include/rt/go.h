/*
 * rt/go.h: goroutines for C programs (the public API; more comes with channels,
 * select, sync and timers).
 *
 *   go(fn, arg)              run fn(arg) as a new goroutine (a demand-paged stack
 *                            reservation of GO_STACK_DEFAULT, 32 KiB, or what the
 *                            boot's gstack_kib=N says: go_stack_default())
 *   go_stack(fn, arg, size)  the same with a stack reservation of `size` bytes
 *                            (16 KiB .. 64 MiB; a stack of 16 KiB holds a guard
 *                            page and three pages of frames)
 *   go_stack_default()       the reservation go() gives, in bytes
 *   go_yield()               let other goroutines run
 *   go_id()                  the running goroutine's id (1 = the first)
 *   go_sleep(ns)             park for at least ns nanoseconds (0: yield)
 *   go_now()                 the monotonic clock, in nanoseconds since boot
 *   go_cpu()                 the CPU the caller runs on (0 .. go_ncpu() - 1); it may
 *                            have moved by the time the value is used, as with Linux's
 *                            sched_getcpu: for statistics, not for per-CPU data
 *   go_ncpu()                the number of CPUs online, each running goroutines
 *   go_timer_after(ns), go_ticker(period), go_timer_stop/reset/free, go_after(ns),
 *   go_after_func(ns, fn, arg)   timers that deliver on channels or run a function
 *                            (rt/timer.h)
 *
 *   struct wait_group        Go's sync.WaitGroup: wg_add(wg, n), wg_done(wg),
 *                            wg_wait(wg); a negative counter is a panic
 *
 * Context: goroutines only (not interrupt handlers, not before the scheduler runs).
 * Misuse is a panic with a Go-style message, never silent.
 */
#ifndef RT_GO_H
#define RT_GO_H

#include <stddef.h>
#include <stdint.h>
#include <kernel/spinlock.h>
#include <rt/timer.h>

/* go()'s stack reservation unless the boot says otherwise: 32 KiB, a guard page and
 * seven pages for the G and the goroutine's frames (28 KiB, as deep as twice a Linux
 * kernel thread's). C cannot move a stack to grow it, so a reservation is the most
 * a goroutine's stack can ever reach, and what it costs parked is its top page (which
 * holds the G), 8 bytes of the reservation's metadata and, in the images, its share
 * of a leaf page table (512 pages of reservations per table): 64 B at 32 KiB, 2 KiB
 * at 1 MiB. 4168 bytes per parked goroutine, 1.59x Go's, where 1 MiB would cost
 * 6155. A goroutine that recurses deeply asks for more with go_stack (up to 64 MiB);
 * a program whose goroutines all do boots with gstack_kib=N. The program's main
 * goroutine and the runtime's own have 1 MiB (STACK_DEFAULT_SIZE). Outgrowing a
 * reservation is the "stack overflow" panic, naming the goroutine and its
 * reservation's size. */
#define GO_STACK_DEFAULT (32u << 10)

void go(void (*fn)(void *), void *arg);
void go_stack(void (*fn)(void *), void *arg, size_t stack_size);
size_t go_stack_default(void);
void go_yield(void);
uint64_t go_id(void);
void go_sleep(uint64_t ns);
uint64_t go_now(void);
unsigned go_cpu(void);
unsigned go_ncpu(void);

struct g;

struct wait_group {
	struct spinlock lock;
	int64_t count;			/* lock */
	struct g *waiters;		/* lock: parked in wg_wait, linked by schedlink */
};

#define WAIT_GROUP_INIT { SPINLOCK_INIT("wait_group", LOCK_RANK_SYNC), 0, NULL }

void wg_add(struct wait_group *wg, int64_t delta);
void wg_done(struct wait_group *wg);
void wg_wait(struct wait_group *wg);

#endif
