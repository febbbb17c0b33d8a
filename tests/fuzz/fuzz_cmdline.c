/*
 * tests/fuzz/fuzz_cmdline.c: libFuzzer target for the command-line parser
 * (kernel/cmdline.c).
 *
 * The input, NUL-terminated in a copy of its exact size + 1, is parsed against a
 * table like the kernel's (every type, several UINT widths, small STR buffers).
 * Besides no faults, it checks the contract: an error is one printable line and
 * leaves every destination at its default (all or nothing); a success leaves
 * strings NUL-terminated and numbers inside their ranges. The program's part of the
 * line (after "--") is split too: the words must lie inside the buffer, hold no
 * whitespace unless quoted, and add up to no more bytes than the input.
 * Seeds: tests/fuzz/corpus/cmdline.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/cmdline.h>
#include "fuzz_common.h"

/* The destinations, in one struct so that "untouched" is one memcmp. */
struct fuzz_dst {
	bool quiet;
	uint8_t level;
	uint16_t port;
	uint32_t hz;
	uint64_t smp, mem;
	char tests[32];
	char console[8];
};

/* The program's arguments of the line, split: every word inside buf, bounded. */
static void fuzz_split(const char *line, size_t size)
{
	static char buf[CMDLINE_MAX_LEN + 1];
	char *argv[17], err[160];
	const char *args = cmdline_program_args(line);

	if (args && (args < line || args > line + size))
		abort();
	int n = cmdline_split(args ? args : line, buf, sizeof buf, argv, 16, err, sizeof err);
	fuzz_check_err(err, sizeof err);
	if (n < 0) {
		if (n != -1 || !err[0])
			abort();
		return;
	}
	size_t total = 0;
	for (int i = 0; i < n; i++) {
		if (argv[i] < buf || argv[i] >= buf + sizeof buf)
			abort();
		total += strlen(argv[i]) + 1;
	}
	if (err[0] || n > 16 || (n < 16 && argv[n] != NULL) || total > size + 1)
		abort();
}

/* One input: a NUL-terminated command line against a table like the kernel's. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_dst d, def;
	const struct cmdline_opt opts[] = {
		{ "tests", CMDLINE_STR, d.tests, sizeof d.tests, 0, 0, "suites" },
		{ "smp", CMDLINE_UINT, &d.smp, 8, 1, 64, "CPUs" },
		{ "quiet", CMDLINE_BOOL, &d.quiet, sizeof d.quiet, 0, 0, "quiet" },
		{ "mem", CMDLINE_UINT, &d.mem, 8, 0, UINT64_MAX, "memory" },
		{ "level", CMDLINE_UINT, &d.level, 1, 0, UINT64_MAX, "level" },
		{ "port", CMDLINE_UINT, &d.port, 2, 0x100, 0xffff, "port" },
		{ "hz", CMDLINE_UINT, &d.hz, 4, 10, 10000, "hz" },
		{ "console", CMDLINE_STR, d.console, sizeof d.console, 0, 0, "console" },
	};
	char err[160];
	char *line = malloc(size + 1);

	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	memset(&def, 0, sizeof def);
	def.smp = 1;
	def.hz = 100;
	def.port = 0x3f8;
	memcpy(def.tests, "none", 5);
	memcpy(def.console, "ttyS0", 6);
	memcpy(&d, &def, sizeof d);

	int r = cmdline_parse(line, opts, sizeof opts / sizeof opts[0], err, sizeof err);
	fuzz_check_err(err, sizeof err);
	if (r == 0) {
		if (err[0] || !memchr(d.tests, '\0', sizeof d.tests) ||
		    !memchr(d.console, '\0', sizeof d.console) || d.smp < 1 || d.smp > 64 ||
		    d.hz < 10 || d.hz > 10000 || d.port < 0x100)
			abort();
	} else if (r != -1 || !err[0] || memcmp(&d, &def, sizeof d) != 0) {
		abort();
	}
	fuzz_split(line, size);
	free(line);
	return 0;
}
