/*
 * tests/boot/libc_test.c: newlib, as the kernel links it (formatting, parsing, heap).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kernel/test.h>

TEST(libc, snprintf_integers)
{
	char b[128];
	snprintf(b, sizeof(b), "%d %i %u %x %X %o", -42, 7, 4000000000u, 0xbeef, 0xbeef, 8);
	EXPECT_STREQ(b, "-42 7 4000000000 beef BEEF 10");
	snprintf(b, sizeof(b), "%lld %llu %#llx", -9223372036854775807ll - 1, 18446744073709551615ull,
		 0x123456789abcdefull);
	EXPECT_STREQ(b, "-9223372036854775808 18446744073709551615 0x123456789abcdef");
	snprintf(b, sizeof(b), "[%5d|%-5d|%05d|%+d]", 42, 42, 42, 42);
	EXPECT_STREQ(b, "[   42|42   |00042|+42]");
	snprintf(b, sizeof(b), "%zu %p", (size_t)123, (void *)0x1000);
	EXPECT_STREQ(b, "123 0x1000");
}

TEST(libc, snprintf_floats)
{
	char b[128];
	snprintf(b, sizeof(b), "%.3f %.2e %g %g", 3.14159265, 12345.678, 0.0001, 1e20);
	EXPECT_STREQ(b, "3.142 1.23e+04 0.0001 1e+20");
	snprintf(b, sizeof(b), "%f %.0f %.1f", -2.5, 2.5, 0.05);
	EXPECT_STREQ(b, "-2.500000 2 0.1");
	double x = 1.0 / 3.0;
	snprintf(b, sizeof(b), "%.15g", x * 3.0);
	EXPECT_STREQ(b, "1");
}

TEST(libc, snprintf_strings)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%s|%10s|%-4s|%.2s|%c", "abc", "right", "l", "cut", 'z');
	EXPECT_STREQ(b, "abc|     right|l   |cu|z");
	EXPECT_EQ(n, 24);
	n = snprintf(b, 8, "%s", "truncated output");
	EXPECT_EQ(n, 16);
	EXPECT_STREQ(b, "truncat");
}

TEST(libc, strtol_and_friends)
{
	char *end;
	EXPECT_EQ(strtol("  -0x7f tail", &end, 0), -127);
	EXPECT_STREQ(end, " tail");
	EXPECT_EQ(strtol("0777", NULL, 0), 511);
	errno = 0;
	EXPECT_EQ(strtoul("99999999999999999999999", NULL, 10), (long long)ULONG_MAX);
	EXPECT_EQ(errno, ERANGE);
	EXPECT_EQ(atoi("12345"), 12345);
	EXPECT_TRUE(strtod("2.5e3", NULL) == 2500.0);
}

TEST(libc, memory_functions)
{
	char a[64], b[64];
	memset(a, 'x', sizeof(a));
	memcpy(b, a, sizeof(b));
	EXPECT_EQ(memcmp(a, b, sizeof(a)), 0);
	memmove(a + 1, a, 10);
	a[0] = 'y';
	EXPECT_EQ(a[0], 'y');
	EXPECT_EQ(a[1], 'x');
	EXPECT_EQ(strlen("hello"), 5);
	EXPECT_TRUE(strstr("find the needle", "needle") != NULL);
}

TEST(libc, malloc_heap)
{
	/* grows the heap through sbrk: pages mapped on demand at KHEAP_BASE */
	char *blocks[64];
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc(1000 + i * 500);
		ASSERT_TRUE(blocks[i] != NULL);
		memset(blocks[i], i, 1000 + i * 500);
	}
	for (int i = 0; i < 64; i++) {
		EXPECT_EQ(blocks[i][0], i);
		EXPECT_EQ(blocks[i][999 + i * 500], i);
	}
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
	char *big = malloc(8 << 20);
	ASSERT_TRUE(big != NULL);
	big[0] = 1;
	big[(8 << 20) - 1] = 2;
	EXPECT_EQ(big[0] + big[(8 << 20) - 1], 3);
	free(big);
}

TEST(libc, printf_to_console)
{
	/* stdout goes through write(1) to the console; printf returns what it wrote */
	int n = printf("libc: printf %d %s %.1f\n", 7, "ok", 0.5);
	fflush(stdout);
	EXPECT_EQ(n, 22);
}

/* malloc/free from goroutines on every CPU at once: every block keeps its owner's
 * pattern until freed (newlib's malloc lock; on the hosted platform, glibc's). */
#include <stdatomic.h>
#include <rt/go.h>

static _Atomic unsigned heap_bad;

static void heap_churn(void *arg)
{
	struct wait_group *wg = arg;
	unsigned seed = (unsigned)go_id() * 2654435761u;
	unsigned char *held[16] = { 0 };
	size_t sizes[16] = { 0 };
	unsigned char tag = (unsigned char)go_id();
	for (int i = 0; i < 8000; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned k = (seed >> 8) % 16;
		if (held[k]) {
			for (size_t j = 0; j < sizes[k]; j++)
				if (held[k][j] != tag) {
					atomic_fetch_add(&heap_bad, 1);
					break;
				}
			free(held[k]);
		}
		sizes[k] = 16 + (seed >> 16) % 2000;
		held[k] = malloc(sizes[k]);
		if (!held[k]) {
			atomic_fetch_add(&heap_bad, 1);
			sizes[k] = 0;
			continue;
		}
		memset(held[k], tag, sizes[k]);
	}
	for (unsigned k = 0; k < 16; k++)
		free(held[k]);
	wg_done(wg);
}

TEST_G(libc_smp, malloc_from_every_cpu)
{
	struct wait_group wg = WAIT_GROUP_INIT;
	atomic_store(&heap_bad, 0);
	wg_add(&wg, 16);
	for (int i = 0; i < 16; i++)
		go(heap_churn, &wg);
	wg_wait(&wg);
	EXPECT_EQ(atomic_load(&heap_bad), 0);
}
