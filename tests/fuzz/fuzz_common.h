/*
 * tests/fuzz/fuzz_common.h: what the parser fuzzers (tests/fuzz/fuzz_*.c) share.
 *
 * fuzz_check_err(err, size): abort (a libFuzzer crash) unless err, a buffer of size
 * bytes, holds one printable line: NUL-terminated inside the buffer, every byte
 * before the NUL printable ASCII. Every parser promises that of its error messages.
 */
#ifndef TESTS_FUZZ_COMMON_H
#define TESTS_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

static inline void fuzz_check_err(const char *err, size_t size)
{
	const char *nul = memchr(err, '\0', size);

	if (!nul)
		abort();
	for (const char *p = err; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

#endif
