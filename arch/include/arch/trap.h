/*
 * arch/trap.h: exceptions, as the kernel sees them.
 *
 * The arch catches every CPU exception on its own stack (x86-64 IST1, aarch64 SP_EL1)
 * and calls the handler the kernel registered, with a generic summary and the arch's
 * saved frame. The kernel's handler decides (for now: panic with a register dump and a
 * backtrace; later: stack growth, preemption, IPIs).
 *
 * Context of the handler: interrupts off, on the exception stack; it may print.
 */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#include <stdbool.h>
#include <stdint.h>

struct arch_frame;	/* the registers saved at entry; layout private to the arch */

struct trap_info {
	const char *name;	/* "page fault", "Data Abort", "invalid opcode", ... */
	uint64_t vector;	/* x86 vector number, or aarch64 ESR_EL1.EC */
	uint64_t code;		/* x86 error code, or the full ESR_EL1 */
	uint64_t addr;		/* faulting address (CR2 / FAR_EL1) when is_mem */
	bool is_mem;		/* a memory access fault: addr is meaningful */
	bool is_write;		/* ... caused by a write */
	uint64_t pc, sp, fp;	/* where it happened */
};

typedef void (*trap_handler_fn)(const struct trap_info *ti, struct arch_frame *f);

/* Register the kernel's exception handler. */
void arch_trap_set_handler(trap_handler_fn fn);

/* Print every register of f with printfn, a few per line. */
void arch_frame_dump(const struct arch_frame *f, int (*printfn)(const char *fmt, ...));

/*
 * A function interrupted before its frame record exists (in its prologue, or a leaf
 * the compiler left frameless: GCC 12 on x86-64 drops the frame of leaves that use no
 * stack, whatever -mno-omit-leaf-frame-pointer says) has its return address in the
 * trap frame (x86-64: at the interrupted sp; aarch64: in x30), not in the fp chain.
 * Given the start of the interrupted function, return true and that address.
 */
bool arch_frame_unrecorded_ret(const struct arch_frame *f, uint64_t func_start, uint64_t *ret);

/*
 * A walk of the frame chain that just printed ret, a return address into the
 * preemption trampoline (preempt.S), has reached the record the trampoline planted
 * for the code it interrupted, at rec: fill f with that code's pc, sp and fp (and
 * aarch64's x30) from what the trampoline saved, for arch_frame_unrecorded_ret (a
 * preempted frameless leaf's caller is not on the chain). False when ret is not
 * into the trampoline or the saved words are not readable.
 */
bool arch_preempt_frame(uint64_t ret, uint64_t rec, struct arch_frame *f);

/*
 * What ends at ret, a return address in the function starting at ret_func_start: a
 * direct call (its target in *target), a call through a register or memory (the code
 * does not say where to), or no call at all (ret is no return address: a function
 * pointer, a stale word). A backtrace that looks for frames among a stack's words
 * uses it to tell a return address from other words of the kernel's code, and the
 * return of the frame it walks from one an earlier, deeper call left there.
 */
enum arch_call { ARCH_CALL_NONE, ARCH_CALL_INDIRECT, ARCH_CALL_DIRECT };
enum arch_call arch_call_before(uint64_t ret, uint64_t ret_func_start, uint64_t *target);

/* Where the frame's code was interrupted: its pc, stack pointer and frame pointer
 * (x86-64 rip/rsp/rbp, aarch64 elr/sp/x29). For a CPU stopped by a panic, which
 * records them so the dump can walk the goroutine it was running. */
uint64_t arch_frame_pc(const struct arch_frame *f);
uint64_t arch_frame_sp(const struct arch_frame *f);
uint64_t arch_frame_fp(const struct arch_frame *f);

/*
 * For the collector, which scans a goroutine stopped by an interrupt conservatively:
 * where the interrupted flow's data may be. *stack_lo is the lowest stack address it
 * may still be using: its stack pointer, less the red zone its ABI lets a leaf
 * function use below it (0 in the kernel, built -mno-red-zone; 128 bytes on the
 * hosted platform). area/len receive the memory holding its registers, general and
 * FP/SIMD (pointers may sit in vector registers: struct copies, vectorised loops):
 * the number of areas is returned (at most 2). Interrupt context, f the current
 * interrupt's frame on this CPU (the areas live as long as the handler runs).
 */
unsigned arch_frame_gc_areas(const struct arch_frame *f, uint64_t *stack_lo, const void *area[2],
			     uint64_t len[2]);

/*
 * Preemption (kernel/preempt.c): redirect the interrupted context of f so that, as
 * soon as the interrupt returns, it calls fn() on its own stack as if the interrupted
 * instruction had been a call, and resumes exactly where it was when fn returns, with
 * every register as it was (general, flags, FP/SIMD). fn starts with interrupts on,
 * and may switch stacks and come back on another CPU. Returns false, changing
 * nothing, when the arch cannot do it for f: the interrupted code was not kernel code
 * running on its ordinary stack with interrupts on, or was the redirection's own
 * trampoline, or (hosted) the frame is a copy the signal return will not use.
 * Interrupt context, on the CPU whose interrupted frame f is.
 */
bool arch_frame_inject_call(struct arch_frame *f, void (*fn)(void));

/*
 * Frame-pointer walk: return the caller's frame record.
 * Both arches store {previous fp, return address} at fp, so this is generic; the arch
 * says whether an address may hold a frame (inside the current stack).
 */
struct frame_record {
	struct frame_record *next;
	uint64_t ret;
};

#endif
