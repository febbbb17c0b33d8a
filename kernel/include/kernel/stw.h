/*
 * kernel/stw.h: stop the world.
 *
 *   stop_the_world(fn, arg)
 *       brings every other online CPU to a known point (its STOP IPI handler, or the
 *       wait loop it was in), halted there with interrupts off, runs fn(arg) on the
 *       calling CPU, then releases them. A CPU asleep in the scheduler's idle halt
 *       is left there, claimed (below).
 *   stop_the_world_all(fn, arg)
 *       the same, but once every other online CPU has stopped, fn(arg) runs on EVERY
 *       online CPU at once, the caller's included, each with interrupts off, wherever
 *       the stop found it; returns after every CPU has returned from fn, then
 *       releases them. fn may spin waiting for the others' progress through shared
 *       memory (they all run it concurrently: parallel mark termination), bounded:
 *       a CPU still inside fn after ipi_wait_ns is a panic naming it.
 *   stop_the_world_all_prep(prep, fn, idle, post, arg)
 *       the same, with prep(arg) run on the calling CPU alone once every other CPU has
 *       stopped and before any runs fn: what fn needs set up with the world stopped,
 *       without a barrier inside fn (each one costs a wake-up per CPU); and post(arg)
 *       (if not NULL) on the calling CPU alone once every CPU has returned from fn,
 *       before any is released: what must follow everyone's part, again without a
 *       barrier inside fn. Either may be NULL. With idle not NULL, CPUs asleep in the
 *       scheduler's idle halt (stw_idle_halt) are left asleep: the caller runs
 *       idle(arg, cpu) for each of them, after prep and before its own fn, to do that
 *       CPU's share (what fn would have done on a CPU that runs nothing); fn runs on
 *       the others only (stw_cpus()). With idle NULL every CPU is woken and runs fn.
 *   stop_the_world_all_early(early, fn, idle, post, arg)
 *       the same without prep: early(arg) (if not NULL) runs on the calling CPU once
 *       every other CPU has been asked to stop or claimed asleep, while they may
 *       still be on their way (what fn needs set up that does not need them
 *       stopped), and fn then starts on each CPU as soon as all have stopped, with
 *       no word from the caller after the last arrival: one cross-CPU hand-off fewer
 *       than with prep. stop_the_world_all is this one with early NULL.
 *
 * A plain stop_the_world never wakes a CPU asleep in stw_idle_halt either: such a CPU
 * is claimed (counted as stopped) without an IPI, and if anything wakes it before the
 * release, it waits for the release first, before the handler of what woke it runs.
 * Go takes idle Ps the same way: a stop costs nothing on CPUs with nothing to run,
 * where a wake-up from a halt costs 10 to 100 us under QEMU's TCG and more from a deep
 * sleep state on hardware.
 *
 * Any CPU may call either, several at the same moment: one wins, the others join its
 * stop as participants while they wait for their turn (running fn if it is an
 * all-stop), so it cannot deadlock. A CPU with interrupts off delays the stop until
 * it turns them on or enters a wait loop (STOP is maskable by design, see arch/irq.h);
 * one that stays silent past ipi_wait_ns is a panic naming it.
 *
 * Stopped CPUs halt with only IPIs deliverable (arch_wait_for_ipi), never spin, and
 * keep answering cross-calls, shootdowns and a panic's stop while halted; their timer
 * and device interrupts are taken after the release.
 * fn must not block and must not cross-call or shoot down (stop_the_world_all: every
 * CPU is inside fn with interrupts off; stop_the_world: the others are stopped, and a
 * stop is no place for work on them).
 * Context: any except interrupt handlers; returns with the interrupt state it found.
 *
 * Inside fn (on any CPU of the stop):
 *   stw_stop_point()   where this CPU was stopped:
 *       STW_OWNER         it called the stop: fn runs in its own flow
 *       STW_STOPPED_IRQ   stopped by an interrupt (the STOP IPI's handler, or a wait loop
 *                         inside some interrupt handler): the flow that was running is
 *                         the interrupted one, whose registers are in the outermost
 *                         interrupt's frame (kernel/cpu.h irq_frame)
 *       STW_STOPPED_WAIT  stopped in a wait loop outside interrupt context (ipi_call,
 *                         tlb_shootdown, a losing stop_the_world, ...): the flow is
 *                         the one running fn, on its own stack, below the wait loop
 *     and outside a stop, or between stops, STW_NONE. Any context.
 *   stw_cpus()         how many CPUs run fn in the stop, the owner included: every
 *                      online CPU but those left asleep in their idle halt (claimed).
 *                      Only inside a stop.
 *   stw_stopped_at_entry()  whether this CPU took the stop in the STOP IPI's own
 *                      handler, entered as the outermost interrupt (not in a wait loop,
 *                      nor nested in another handler): then its stack holds, below the
 *                      interrupted flow's frame (irq_frame), only the stop's own frames.
 *                      Interrupts off; false outside a stop.
 *   stw_cpu_claimed(c) whether CPU c was left asleep in its idle halt (claimed, see
 *                      above) by this stop. Only inside a stop.
 *
 * The idle side (the scheduler's idle loop, interrupts off):
 *   stw_idle_halt()    arch_wait_for_interrupt, during which a stop may claim this CPU
 *                      instead of stopping it with an IPI; on waking, a claimed CPU
 *                      waits for that stop's release before it returns (and before any
 *                      interrupt handler runs: irq dispatch calls stw_idle_wake).
 *   stw_idle_begin()   the same claim for a CPU that spins in its idle loop instead:
 *                      from here until its stw_idle_wake() it may be claimed, so it
 *                      must run nothing an owner may take over (no IPI handler: it
 *                      calls stw_idle_wake() before it answers one, and begins again
 *                      after). A spinning idle CPU answers a stop's IPI in a few
 *                      microseconds, but then takes part in the stop, which under
 *                      QEMU's TCG cost a 2-vCPU mark termination 2 to 10 times the
 *                      pause of one CPU; claimed, it costs the owner its share only.
 *   stw_idle_claims    CPUs claimed so, in all (tests and benchmarks: the path taken);
 *   stw_idle_spin_claims  those of them claimed while spinning.
 *   stw_cpu_idle_spinning(c)  whether CPU c spins claimable now (tests: a hint).
 *   stw_halted()       how many participants are halted (or about to: counted, then
 *                      halted with the IPI that ends the halt taken inside it), for
 *                      tests that need a participant past its spinning.
 */
#ifndef KERNEL_STW_H
#define KERNEL_STW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <arch/irq.h>

/*
 * A halt that its waker may skip (stop-the-world's waits here, the collector's mark
 * termination): the waiter, after spinning for a while, counts itself in *sleepers,
 * evaluates still_waiting once more and halts (arch_wait_for_ipi) only if it holds;
 * the CPU that ends the wait first makes still_waiting false, then sends its wake-up
 * IPI only if *sleepers is not zero. All sequentially consistent: either the waiter
 * sees the change or the waker sees the waiter counted. The caller loops and looks
 * again after every wake-up (an IPI for someone else ends the halt too).
 */
#define HALT_COUNTED(sleepers, still_waiting)                                           \
	do {                                                                            \
		atomic_fetch_add((sleepers), 1);                                        \
		if (still_waiting)                                                      \
			arch_wait_for_ipi();                                            \
		atomic_fetch_sub((sleepers), 1);                                        \
	} while (0)

enum stw_stop_point {
	STW_NONE = 0,
	STW_OWNER,
	STW_STOPPED_IRQ,
	STW_STOPPED_WAIT,
};

void stop_the_world(void (*fn)(void *), void *arg);
void stop_the_world_all(void (*fn)(void *), void *arg);
void stop_the_world_all_prep(void (*prep)(void *), void (*fn)(void *), void (*idle)(void *, unsigned),
			     void (*post)(void *), void *arg);
void stop_the_world_all_early(void (*early)(void *), void (*fn)(void *), void (*idle)(void *, unsigned),
			      void (*post)(void *), void *arg);
void stw_idle_begin(void);
void stw_idle_halt(void);
void stw_idle_wake(void);
extern _Atomic uint64_t stw_idle_claims, stw_idle_spin_claims;
bool stw_cpu_idle_spinning(unsigned cpu);
enum stw_stop_point stw_stop_point(void);
unsigned stw_cpus(void);
bool stw_cpu_claimed(unsigned cpu);
bool stw_stopped_at_entry(void);
unsigned stw_halted(void);
void stw_init(void);

/* Completed stops, for tests and statistics. */
extern _Atomic uint64_t stw_count;

#endif
