/*
 * arch/context.h: suspended flows of control, for the goroutine scheduler.
 *
 * A struct arch_context (layout in each arch's <arch/context_impl.h>) holds what a
 * function call may not clobber: the callee-saved registers, the stack pointer, the
 * resume pc, and the callee-saved FP state (x86-64: MXCSR and the x87 control word;
 * aarch64: d8-d15 and FPCR).
 *
 *   arch_context_init(c, stack_top, entry, arg)
 *       a new context that, first switched to, runs entry(arg) on the stack ending at
 *       stack_top (16-byte aligned), with a terminating frame record (fp = 0, return
 *       address 0) so that tracebacks stop there. entry must not return.
 *   arch_context_switch(from, to)
 *       save the caller into *from and resume *to; returns when something switches
 *       back to *from. from == to is allowed (returns at once).
 *   arch_context_sp/fp/pc(c)
 *       where a suspended context stands: the collector scans [sp, stack top), a
 *       traceback walks from fp with pc first.
 *
 * Context: any interrupt state (the scheduler switches with interrupts off and the
 * new context restores its own state through the scheduler). Never blocks, never
 * allocates. The interrupt flag and the per-CPU pointer are NOT part of a context.
 */
#ifndef ARCH_CONTEXT_H
#define ARCH_CONTEXT_H

#include <stdint.h>
#include <arch/context_impl.h>

void arch_context_init(struct arch_context *c, uintptr_t stack_top, void (*entry)(void *), void *arg);
void arch_context_switch(struct arch_context *from, struct arch_context *to);
uintptr_t arch_context_sp(const struct arch_context *c);
uintptr_t arch_context_fp(const struct arch_context *c);
uintptr_t arch_context_pc(const struct arch_context *c);

#endif
