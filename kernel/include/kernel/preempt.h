/*
 * kernel/preempt.h: involuntary switches, the mechanism; the scheduler (rt/) owns the
 * policy and registers the function that gives the CPU away.
 *
 * A tick that decides the running flow's time is up calls preempt_irq(frame) from its
 * interrupt handler. Code is preemptible when it runs with interrupts on, holds no
 * spinlock and is not itself an interrupt handler (irq_depth 0, nlocks 0):
 *
 *   preemptible      the arch redirects the interrupted frame (arch/trap.h
 *                    arch_frame_inject_call): the interrupt returns straight into a
 *                    call of the handler on the interrupted stack, so the switch
 *                    happens before the interrupted code runs another instruction,
 *                    and when the flow is resumed it goes on where it was with
 *                    every register as it was (Go's asyncPreempt, without the
 *                    signal). The switch itself runs on the flow's own stack, not on
 *                    the interrupt stack (x86-64's IST stacks are not reentrant).
 *   not preemptible  the request stays pending on the CPU (cpu.preempt_pending), and
 *                    the irq_pop or spin_unlock that ends the non-preemptible section
 *                    calls preempt_check(), which calls the handler from there.
 *
 * The pending request belongs to the flow that was running: the scheduler clears it
 * (preempt_cancel) whenever it takes the CPU back.
 *
 * One redirect at a time: from the redirect until the handler calls preempt_arrived
 * (with interrupts off, before it switches), the flow runs the trampoline and the
 * handler's first instructions with interrupts on, and a tick there must not redirect
 * it again (cpu.preempt_inflight): that would be a second switch for one slice, and a
 * trampoline frame inside another, which every stack walker would have to untangle.
 */
#ifndef KERNEL_PREEMPT_H
#define KERNEL_PREEMPT_H

#include <stdbool.h>
#include <stdint.h>

struct arch_frame;

/* The command line's slice_ms, in ns: how long a goroutine may run while others
 * wait; 0 = never preempt. */
extern _Atomic uint64_t preempt_slice_ns;	/* a test may change it while CPUs run */

/* The scheduler's handler: called with interrupts on, no lock held, depth 0, on the
 * preempted flow's stack; it calls preempt_arrived, switches away and returns when the
 * flow is resumed. */
void preempt_set_handler(void (*fn)(void));

/* The handler's first act, interrupts off (irq_push): the redirect that called it has
 * arrived, and a tick may redirect this CPU's flow again. */
void preempt_arrived(void);

/* Interrupt context: preempt the interrupted flow now if it is preemptible, else as
 * soon as it is. Returns true when it was redirected at once. */
bool preempt_irq(struct arch_frame *f);

/* Act on a pending request if the current code is preemptible (irq_pop, spin_unlock). */
void preempt_check(void);

/* Drop this CPU's pending request and redirect mark (interrupts off). */
void preempt_cancel(void);

#endif
