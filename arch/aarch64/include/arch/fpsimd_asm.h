/*
 * arch/fpsimd_asm.h (aarch64, assembly only): save and restore all 32 FP/SIMD
 * registers (q0..q31, 512 bytes) at [base]: the trap frame (vectors.S) and the
 * preemption trampoline (preempt.S) both give interrupted code every register back.
 */
#ifndef ARCH_AARCH64_FPSIMD_ASM_H
#define ARCH_AARCH64_FPSIMD_ASM_H

.macro SAVE_Q0_Q31 base
	stp	q0, q1, [\base, #32 * 0]
	stp	q2, q3, [\base, #32 * 1]
	stp	q4, q5, [\base, #32 * 2]
	stp	q6, q7, [\base, #32 * 3]
	stp	q8, q9, [\base, #32 * 4]
	stp	q10, q11, [\base, #32 * 5]
	stp	q12, q13, [\base, #32 * 6]
	stp	q14, q15, [\base, #32 * 7]
	stp	q16, q17, [\base, #32 * 8]
	stp	q18, q19, [\base, #32 * 9]
	stp	q20, q21, [\base, #32 * 10]
	stp	q22, q23, [\base, #32 * 11]
	stp	q24, q25, [\base, #32 * 12]
	stp	q26, q27, [\base, #32 * 13]
	stp	q28, q29, [\base, #32 * 14]
	stp	q30, q31, [\base, #32 * 15]
.endm

.macro RESTORE_Q0_Q31 base
	ldp	q0, q1, [\base, #32 * 0]
	ldp	q2, q3, [\base, #32 * 1]
	ldp	q4, q5, [\base, #32 * 2]
	ldp	q6, q7, [\base, #32 * 3]
	ldp	q8, q9, [\base, #32 * 4]
	ldp	q10, q11, [\base, #32 * 5]
	ldp	q12, q13, [\base, #32 * 6]
	ldp	q14, q15, [\base, #32 * 7]
	ldp	q16, q17, [\base, #32 * 8]
	ldp	q18, q19, [\base, #32 * 9]
	ldp	q20, q21, [\base, #32 * 10]
	ldp	q22, q23, [\base, #32 * 11]
	ldp	q24, q25, [\base, #32 * 12]
	ldp	q26, q27, [\base, #32 * 13]
	ldp	q28, q29, [\base, #32 * 14]
	ldp	q30, q31, [\base, #32 * 15]
.endm

#endif
