/*
 * tests/boot/framecode_test.c: arch_frame_unrecorded_ret (arch/include/arch/trap.h),
 * the return address of an interrupted innermost function that has no frame record
 * of its own at that instruction, which a goroutine dump needs for its caller's line.
 *
 * A function of known code (below, in assembly) is "interrupted" at its first
 * instruction, between its frame push and set-up (x86-64), and at its final ret,
 * after the epilogue gave the frame pointer back to the caller; each frame is built
 * by hand with the return address where the code keeps it at that point (x86-64: the
 * stack; aarch64: the link register), and the answer must be that address. Inside the
 * function's body, with its record set up, there is none to give.
 */
#include <stdint.h>
#include <string.h>
#include <arch/frame.h>
#include <arch/trap.h>
#include <kernel/test.h>

void framecode_test_fn(void);

#if defined(__x86_64__)
/* push rbp | mov rsp,rbp | nop | pop rbp | ret */
__asm__(".text\n.globl framecode_test_fn\n.type framecode_test_fn,@function\n"
	"framecode_test_fn:\n push %rbp\n mov %rsp, %rbp\n nop\n pop %rbp\n ret\n"
	".size framecode_test_fn, .-framecode_test_fn\n");
#define AT_PUSH	1	/* after the push, before the mov */
#define AT_BODY	4	/* the nop: the record is set up */
#define AT_RET	6

static bool ask(uint64_t pc, uint64_t ret_slot_off, uint64_t *got)
{
	uint64_t stack[4] = { 0x1111, 0x2222, 0x3333, 0x4444 };
	struct arch_frame f;
	memset(&f, 0, sizeof(f));
	f.rip = pc;
	f.rsp = (uint64_t)(uintptr_t)&stack[0];
	*got = 0;
	bool ok = arch_frame_unrecorded_ret(&f, (uint64_t)(uintptr_t)framecode_test_fn, got);
	return ok && *got == stack[ret_slot_off / 8];
}
#elif defined(__aarch64__)
/* stp x29,x30,[sp,#-16]! | mov x29,sp | nop | ldp x29,x30,[sp],#16 | ret */
__asm__(".text\n.globl framecode_test_fn\n.type framecode_test_fn,%function\n"
	"framecode_test_fn:\n stp x29, x30, [sp, #-16]!\n mov x29, sp\n nop\n"
	" ldp x29, x30, [sp], #16\n ret\n.size framecode_test_fn, .-framecode_test_fn\n");
#define AT_PUSH	4
#define AT_BODY	8
#define AT_RET	16

static bool ask(uint64_t pc, uint64_t ret_slot_off, uint64_t *got)
{
	(void)ret_slot_off;
	struct arch_frame f;
	memset(&f, 0, sizeof(f));
	f.elr = pc;
	f.x[30] = 0x5555;	/* the link register holds it until the record is set up */
	*got = 0;
	bool ok = arch_frame_unrecorded_ret(&f, (uint64_t)(uintptr_t)framecode_test_fn, got);
	return ok && *got == 0x5555;
}
#endif

TEST(framecode, unrecorded_return_at_entry_push_and_ret)
{
	uint64_t fn = (uint64_t)(uintptr_t)framecode_test_fn, got;
	EXPECT_TRUE(ask(fn, 0, &got));			/* entry: at sp (x86-64) / in lr */
	EXPECT_TRUE(ask(fn + AT_PUSH, 8, &got));	/* pushed rbp on top of it / still lr */
	EXPECT_TRUE(ask(fn + AT_RET, 0, &got));		/* the epilogue done: at sp / in lr */
	struct arch_frame f;
	memset(&f, 0, sizeof(f));
#if defined(__x86_64__)
	uint64_t stack[2] = { 0, 0 };
	f.rip = fn + AT_BODY;
	f.rsp = (uint64_t)(uintptr_t)stack;
#else
	f.elr = fn + AT_BODY;
#endif
	EXPECT_TRUE(!arch_frame_unrecorded_ret(&f, fn, &got));	/* the record holds it */
}
