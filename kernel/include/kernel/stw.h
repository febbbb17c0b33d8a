/*
 * kernel/stw.h: stop the world.
 *
 *   stop_the_world(fn, arg)
 *       brings every other online CPU to a known point (its STOP IPI handler, spinning
 *       with interrupts off), runs fn(arg) on the calling CPU, then releases them.
 *
 * Any CPU may call it, several at the same moment: one wins, the others join its stop
 * as participants while they wait for their turn, so it cannot deadlock. A CPU with
 * interrupts off delays the stop until it turns them on (STOP is maskable by design,
 * see arch/irq.h); one that stays silent past ipi_wait_ns is a panic naming it.
 * fn must not block and must not cross-call (every other CPU is stopped).
 * Context: any except interrupt handlers; returns with the interrupt state it found.
 */
#ifndef KERNEL_STW_H
#define KERNEL_STW_H

#include <stdint.h>

void stop_the_world(void (*fn)(void *), void *arg);
void stw_init(void);

/* Completed stops, for tests and statistics. */
extern _Atomic uint64_t stw_count;

#endif
