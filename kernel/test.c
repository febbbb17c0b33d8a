/*
 * kernel/test.c: runs the registered in-image tests (kernel/test.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/test.h>

extern const struct test_case __tests_start[], __tests_end[];

static const struct test_case *test_current;
static int test_failures;		/* failures recorded in the current test */

void test_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (test_failures++ == 0)
		kprintf("[FAIL] %s.%s: %s:%d: %s\n", test_current->suite, test_current->name, file, line, msg);
	else
		kprintf("       %s:%d: %s\n", file, line, msg);
}

/* Is `suite` in the comma-separated list? */
static bool list_has(const char *list, const char *suite)
{
	size_t n = strlen(suite);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, suite, n) == 0)
			return true;
		p += len + (e ? 1 : 0);
	}
	return false;
}

static bool suite_exists(const char *name, size_t len)
{
	for (const struct test_case *t = __tests_start; t < __tests_end; t++)
		if (strlen(t->suite) == len && strncmp(t->suite, name, len) == 0)
			return true;
	return false;
}

int test_check(const char *suites)
{
	for (const char *p = suites; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (!(len == 3 && strncmp(p, "all", 3) == 0) && !suite_exists(p, len)) {
			kprintf("tests: no suite named '%.*s'\n", (int)len, p);
			return -1;
		}
		p += len + (e ? 1 : 0);
	}
	return 0;
}

static bool selected(const char *suites, const struct test_case *t)
{
	return list_has(suites, t->suite) || (list_has(suites, "all") && !t->explicit_only);
}

bool test_wants_goroutines(const char *suites)
{
	for (const struct test_case *t = __tests_start; t < __tests_end; t++)
		if (t->in_goroutine && selected(suites, t))
			return true;
	return false;
}

void test_run_phase(const char *suites, bool goroutine_phase, int *passed, int *failed)
{
	for (const struct test_case *t = __tests_start; t < __tests_end; t++) {
		if (t->in_goroutine != goroutine_phase || !selected(suites, t))
			continue;
		test_current = t;
		test_failures = 0;
		t->fn();
		if (test_failures) {
			(*failed)++;
		} else {
			(*passed)++;
			kprintf("[ OK ] %s.%s\n", t->suite, t->name);
		}
	}
}

void test_summary(int passed, int failed)
{
	kprintf("%d passed, %d failed\n", passed, failed);
}
