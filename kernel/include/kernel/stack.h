/*
 * kernel/stack.h: demand-paged stack reservations (DESIGN.md "Stacks").
 *
 * C cannot move stacks, so each stack is a reservation of virtual memory in the
 * STACK_ARENA (arch/memlayout.h) with an unmapped guard page below it; only the top
 * page is mapped at allocation. A fault inside a reservation maps a zeroed page
 * (growth); a fault on the guard page is a stack overflow: a kernel panic "stack
 * overflow", with the upper layer's word on the reservation (stack_set_overflow_handler)
 * and its dump of the goroutines.
 *
 *        reservation (size bytes, power of two, aligned to its size)
 *   base                                                                top
 *   | guard |   unmapped (grows on demand) ...   |  mapped pages  | ... |
 *   ^ base                                                   sp ->      ^ top
 *
 * Any access, read or write, to an unmapped page of a live reservation above the
 * guard grows it, from any CPU (another goroutine writing into a parked one's stack
 * is legal). arch_probe_read is the exception: its fault is absorbed first, so it
 * reports an unmapped page as unreadable without growing anything (for tests).
 *
 * Context: stack_alloc/free/shrink may be called from any CPU with interrupts on or
 * off, never from an interrupt handler; they may run on a demand-paged stack
 * themselves. stack_fault runs in the fault handler on the fault stack.
 *
 * The rule for code running on a demand-paged stack: it may hold locks ranked below
 * LOCK_RANK_VM while its stack grows (the fault path takes the vm and pmm locks).
 * Locks of rank LOCK_RANK_VM and above call stack_prefault() when taken (spinlock.c),
 * so the few frames run under them do not fault; growth under one anyway is a panic
 * that names the lock, never a deadlock.
 */
#ifndef KERNEL_STACK_H
#define KERNEL_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STACK_MIN_SIZE     (16u << 10)		/* 16 KiB: a guard and three pages */
#define STACK_DEFAULT_SIZE (1u << 20)		/* 1 MiB */
#define STACK_MAX_SIZE     (64u << 20)		/* 64 MiB: the hard upper limit */

/* How far below the stack pointer stack_prefault() makes sure pages are mapped. */
#define STACK_PREFAULT_BYTES (8u << 10)		/* 8 KiB: two pages */

struct kstack {
	uintptr_t base;		/* lowest address: the guard page */
	uintptr_t top;		/* one past the highest address */
};

/* Reserve a stack of `size` bytes (rounded up to a power of two, at least
 * STACK_MIN_SIZE; 0 or more than STACK_MAX_SIZE is an error), top page mapped.
 * 0, or -1 for a bad size, or when out of memory or of arena space (*s untouched). */
int stack_alloc(struct kstack *s, size_t size);
/* Unmap every page, TLB shootdown included, give the pages back, and return the
 * reservation for reuse; *s is zeroed. Nothing may run on the stack any more. Freeing
 * something that is not a live reservation panics. */
void stack_free(struct kstack *s);
/* Unmap the pages wholly below sp - keep (a parked stack shrinking at GC time), with
 * shootdown. base <= sp <= top. On the caller's own stack, the 2 * STACK_PREFAULT_BYTES
 * below the caller's frame stay too. Returns the number of pages released. Touching
 * them again grows them back (zeroed). */
size_t stack_shrink(struct kstack *s, uintptr_t sp, size_t keep);
/* The reservation holding addr (live or freed since: the caller knows which), in *s;
 * false if addr is in none that was ever handed out. Lock-free, O(1), any context. */
bool stack_reservation_of(uintptr_t addr, struct kstack *s);
/* Pages currently mapped in the reservation (O(1)). */
size_t stack_mapped_pages(const struct kstack *s);

enum stack_fault_result {
	STACK_FAULT_NOT_STACK,	/* not in a stack sub-region of the arena, or a fault growth
				 * cannot fix (the page is mapped: rights): someone else's */
	STACK_FAULT_GREW,	/* a page was mapped (or another CPU just mapped it): resume */
	STACK_FAULT_OVERFLOW,	/* the guard page: the stack is full */
	STACK_FAULT_BAD,	/* in the arena, but no live reservation holds it (stale) */
	STACK_FAULT_NOMEM,	/* a live reservation, but no page (or page table) to map */
};

/* Called by the kernel's fault handler for every memory fault, interrupts off. For
 * every result but NOT_STACK, *s (if not NULL) is the reservation the address falls
 * in (live or not). Lock-free up to the decision; growth takes the pmm and vm locks. */
enum stack_fault_result stack_fault(uintptr_t addr, struct kstack *s);

/* The upper layer's word on an overflow (whose reservation it was, how to get a larger
 * one): the kernel's panic calls it right after its "stack overflow" line, on the fault
 * stack, interrupts off, the console in panic mode (kprintf takes no lock), the other
 * CPUs not yet stopped; it prints and returns, and the panic goes on. */
void stack_set_overflow_handler(void (*fn)(uintptr_t addr, const struct kstack *s));
/* For the panic: call the registered handler, if any. */
void stack_overflow_report(uintptr_t addr, const struct kstack *s);

/* Call fn(lo, hi, arg) for each size class's part of the arena that reservations
 * have used so far (slots handed out at least once; live or free now): where stack
 * pages can be mapped, the metadata excluded. A class first used during the walk may
 * be missed. Any context but interrupt handlers; lock-free. */
void stack_extents(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/* If the caller runs on a demand-paged stack, map the STACK_PREFAULT_BYTES below its
 * stack pointer now (never the guard page), so that it can take a lock the fault
 * path needs. Free (a range check) on any other stack. Any context. */
void stack_prefault(void);

#endif
