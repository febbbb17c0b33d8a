/*
 * tests/boot/fault_test.c: a deliberate fault (tests=fault).
 *
 * Ends the boot: the runner checks the panic line, the register dump, and that the
 * backtrace names test_fault_target and its caller.
 */
#include <stdint.h>
#include <kernel/test.h>

void test_fault_target(volatile uint64_t *p);
void test_fault_caller(volatile uint64_t *p);
void test_fault_bad_call(void (*fn)(void));

__attribute__((noinline)) void test_fault_target(volatile uint64_t *p)
{
	*p = 0xdead;	/* p is in the unmapped lower half: a write fault */
}

__attribute__((noinline)) void test_fault_caller(volatile uint64_t *p)
{
	test_fault_target(p);
	__asm__ volatile("" ::: "memory");	/* not a tail call: keep this frame */
}

TEST_EXPLICIT(fault, null_write)
{
	test_fault_caller((volatile uint64_t *)(uintptr_t)0x10);
	test_fail(__FILE__, __LINE__, "the write to 0x10 did not fault");
}

/* A call through a pointer to unmapped memory: the caller must still be named. */
__attribute__((noinline)) void test_fault_bad_call(void (*fn)(void))
{
	fn();
	__asm__ volatile("" ::: "memory");
}

TEST_EXPLICIT(fault_call, unmapped_pc)
{
	test_fault_bad_call((void (*)(void))(uintptr_t)0x2000);
	test_fail(__FILE__, __LINE__, "the call to 0x2000 did not fault");
}
