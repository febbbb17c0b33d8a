/*
 * tests/host/hosttest.h: a minimal harness for host unit tests (Linux, hosted libc).
 *
 * A test file defines its suite name, then its tests:
 *
 *   #define HTEST_SUITE "acpi"
 *   #include "hosttest.h"
 *   HTEST(rsdp_checksum) { HEXPECT_EQ(f(), -1); HEXPECT_STR_HAS(err, "RSDP"); }
 *
 * HTEST registers itself from a constructor, in file order; hosttest_main.c runs
 * every test (or those whose full name contains one of argv[1..]) and prints one
 * line each, then the summary the test runners read:
 *
 *   [ OK ] host/acpi.rsdp_checksum
 *   [FAIL] host/acpi.rsdp_checksum: tests/host/test_acpi.c:42: HEXPECT(x == 1)
 *   12 passed, 1 failed
 *
 * HEXPECT* record a failure and go on; HREQUIRE* record it and end the test (a
 * longjmp back to the runner, so nothing after it runs). Exit status 1 if any failed.
 */
#ifndef TESTS_HOST_HOSTTEST_H
#define TESTS_HOST_HOSTTEST_H

#include <stddef.h>
#include <string.h>

#ifndef HTEST_SUITE
#error "define HTEST_SUITE before including hosttest.h"
#endif

struct htest {
	const char *suite;
	const char *name;
	void (*fn)(void);
	struct htest *next;
};

/* Runner side (hosttest_main.c). */
void htest_register(struct htest *t);
void htest_fail(const char *file, int line, int fatal, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Path of a file under tests/host/data ($HOSTTEST_DATA overrides the directory). */
const char *htest_data_path(const char *name, char *buf, size_t len);
/* Read a whole data file into a malloc'd buffer; NULL (and a failure) if missing. */
void *htest_read_data(const char *name, size_t *len);

#define HTEST(tname)								\
	static void htest_fn_##tname(void);					\
	__attribute__((constructor)) static void htest_reg_##tname(void)	\
	{									\
		static struct htest t = { HTEST_SUITE, #tname, htest_fn_##tname, NULL }; \
		htest_register(&t);						\
	}									\
	static void htest_fn_##tname(void)

#define HEXPECT_AT(cond, fatal, ...)						\
	do {									\
		if (!(cond))							\
			htest_fail(__FILE__, __LINE__, fatal, __VA_ARGS__);	\
	} while (0)

#define HEXPECT(cond)   HEXPECT_AT(cond, 0, "HEXPECT(%s)", #cond)
#define HREQUIRE(cond)  HEXPECT_AT(cond, 1, "HREQUIRE(%s)", #cond)

#define HEXPECT_EQ_AT(a, b, fatal)						\
	do {									\
		unsigned long long htest_a = (unsigned long long)(a);		\
		unsigned long long htest_b = (unsigned long long)(b);		\
		HEXPECT_AT(htest_a == htest_b, fatal,				\
			   "%s == %s: 0x%llx (%lld) != 0x%llx (%lld)", #a, #b,	\
			   htest_a, (long long)htest_a, htest_b, (long long)htest_b); \
	} while (0)

#define HEXPECT_EQ(a, b)  HEXPECT_EQ_AT(a, b, 0)
#define HREQUIRE_EQ(a, b) HEXPECT_EQ_AT(a, b, 1)

#define HEXPECT_STREQ(a, b)							\
	do {									\
		const char *htest_a = (a), *htest_b = (b);			\
		HEXPECT_AT(htest_a && htest_b && strcmp(htest_a, htest_b) == 0, 0, \
			   "%s == %s: \"%s\" != \"%s\"", #a, #b,		\
			   htest_a ? htest_a : "(null)", htest_b ? htest_b : "(null)"); \
	} while (0)

/* The string contains needle (error messages: name the table and the field). */
#define HEXPECT_STR_HAS(s, needle)						\
	do {									\
		const char *htest_s = (s), *htest_n = (needle);			\
		HEXPECT_AT(htest_s && strstr(htest_s, htest_n), 0,		\
			   "\"%s\" does not contain \"%s\"",			\
			   htest_s ? htest_s : "(null)", htest_n);		\
	} while (0)

#endif
