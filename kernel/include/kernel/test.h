/*
 * kernel/test.h: in-image tests.
 *
 *   TEST(suite, name) { ... EXPECT_EQ(a, b); ... }
 *
 * registers a test in the .tests section (linker.ld collects them); the kernel
 * command line `tests=all` or `tests=suite1,suite2` picks suites. TEST_EXPLICIT runs
 * only when its suite is named (tests that end the boot on purpose: faults).
 *
 * Output, one line per test (read by tools/boottest.py):
 *   [ OK ] suite.name
 *   [FAIL] suite.name: file:line: what failed
 * then "N passed, M failed" alone on a line. EXPECT_* record a failure and go on;
 * ASSERT_* return from the test. Context: tests run on the boot CPU, after the
 * kernel is up (console, pages, page tables, libc).
 */
#ifndef KERNEL_TEST_H
#define KERNEL_TEST_H

#include <stdbool.h>
#include <stdint.h>

struct test_case {
	const char *suite;
	const char *name;
	void (*fn)(void);
	bool explicit_only;
	bool in_goroutine;		/* runs inside the first goroutine, scheduler up */
};

#define TEST_DEFINE(suite_, name_, explicit_, goroutine_)                            \
	static void test_##suite_##_##name_(void);                                   \
	static const struct test_case test_case_##suite_##_##name_                   \
		__attribute__((used, section(".tests." #suite_), aligned(8))) = {    \
		#suite_, #name_, test_##suite_##_##name_, explicit_, goroutine_      \
	};                                                                           \
	static void test_##suite_##_##name_(void)

#define TEST(suite, name) TEST_DEFINE(suite, name, false, false)
#define TEST_EXPLICIT(suite, name) TEST_DEFINE(suite, name, true, false)
/* Tests of the goroutine runtime: run in a second phase, inside the first goroutine,
 * once the scheduler runs on every CPU. */
#define TEST_G(suite, name) TEST_DEFINE(suite, name, false, true)
#define TEST_G_EXPLICIT(suite, name) TEST_DEFINE(suite, name, true, true)

void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define EXPECT_TRUE(c) \
	((c) ? (void)0 : test_fail(__FILE__, __LINE__, "expected %s", #c))
#define EXPECT_EQ(a, b)                                                               \
	do {                                                                          \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		if (a_ != b_)                                                         \
			test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); \
	} while (0)
#define EXPECT_NE(a, b)                                                               \
	do {                                                                          \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		if (a_ == b_)                                                         \
			test_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, a_); \
	} while (0)
#define EXPECT_STREQ(a, b)                                                            \
	do {                                                                          \
		const char *a_ = (a), *b_ = (b);                                      \
		if (strcmp(a_, b_) != 0)                                              \
			test_fail(__FILE__, __LINE__, "%s: \"%s\" != \"%s\"", #a, a_, b_); \
	} while (0)
#define ASSERT_TRUE(c)                                                                \
	do {                                                                          \
		if (!(c)) {                                                           \
			test_fail(__FILE__, __LINE__, "expected %s", #c);             \
			return;                                                       \
		}                                                                     \
	} while (0)

/* 0 if every suite the comma-separated list names exists ("all" is every
 * non-explicit one); -1 after printing the first unknown name. */
int test_check(const char *suites);
/* Does the list select any goroutine-phase test? */
bool test_wants_goroutines(const char *suites);
/* Run the selected tests of one phase, adding to *passed and *failed. */
void test_run_phase(const char *suites, bool goroutine_phase, int *passed, int *failed);
/* The closing "N passed, M failed" line. */
void test_summary(int passed, int failed);

#endif
