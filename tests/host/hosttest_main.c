/*
 * tests/host/hosttest_main.c: the runner behind tests/host/hosttest.h.
 *
 * Tests register themselves at start-up (constructors, in file order); main()
 * runs each one, or only those whose "host/suite.name" contains one of the
 * arguments, prints "[ OK ]" or "[FAIL]" with the first failure's place and text
 * (further failures of the same test go to stderr), then "N passed, M failed".
 * A fatal expectation longjmps back here. Single-threaded, so plain globals.
 */
#define HTEST_SUITE "main"
#include "hosttest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static struct htest *htest_head, **htest_tail = &htest_head;
static jmp_buf htest_jmp;
static int htest_failures;		/* in the running test */
static char htest_first[512];		/* its first failure */

/* Append a test (called from HTEST constructors, in file order). */
void htest_register(struct htest *t)
{
	t->next = NULL;
	*htest_tail = t;
	htest_tail = &t->next;
}

/* Record a failure of the running test; a fatal one ends the test. */
void htest_fail(const char *file, int line, int fatal, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (htest_failures++ == 0)
		snprintf(htest_first, sizeof htest_first, "%s:%d: %s", file, line, msg);
	else
		fprintf(stderr, "       also %s:%d: %s\n", file, line, msg);
	if (fatal)
		longjmp(htest_jmp, 1);
}

/* tests/host/data/<name>, or $HOSTTEST_DATA/<name>. */
const char *htest_data_path(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("HOSTTEST_DATA");

	snprintf(buf, len, "%s/%s", dir && *dir ? dir : "tests/host/data", name);
	return buf;
}

/* A whole data file in a buffer of its exact size (ASan sees reads past it). */
void *htest_read_data(const char *name, size_t *len)
{
	char path[512];
	FILE *f = fopen(htest_data_path(name, path, sizeof path), "rb");
	void *buf = NULL;
	long n;

	*len = 0;
	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)n ? (size_t)n : 1)) ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		htest_fail(__FILE__, __LINE__, 0, "cannot read %s (run from the top of the tree)",
			   path);
		free(buf);
		buf = NULL;
	} else {
		*len = (size_t)n;
	}
	if (f)
		fclose(f);
	return buf;
}

/* True if the test's full name matches the command-line filters (or there are none). */
static int htest_selected(const char *full, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(full, argv[i]))
			return 1;
	return 0;
}

/* Run one test; a fatal expectation returns here through longjmp. Returns failures. */
static int htest_run(struct htest *t)
{
	htest_failures = 0;
	htest_first[0] = '\0';
	if (setjmp(htest_jmp) == 0)
		t->fn();
	return htest_failures;
}

/* Run the selected tests, one line each, then "N passed, M failed". */
int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct htest *t = htest_head; t; t = t->next) {
		char full[256];

		snprintf(full, sizeof full, "host/%s.%s", t->suite, t->name);
		if (!htest_selected(full, argc, argv))
			continue;
		if (htest_run(t) == 0) {
			printf("[ OK ] %s\n", full);
			passed++;
		} else {
			printf("[FAIL] %s: %s\n", full, htest_first);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
