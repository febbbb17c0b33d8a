/*
 * tests/host/test_cmdline.c: host tests of the command-line parser (kernel/cmdline.c).
 *
 * One representative table (a BOOL, UINTs of several widths, STRs) and lines that
 * exercise every value form and every error, with the exact messages. After each
 * failed parse the destinations must still hold their defaults (all or nothing).
 */
#define HTEST_SUITE "cmdline"
#include "hosttest.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kernel/cmdline.h>

static bool quiet;
static uint64_t smp, mem;
static uint8_t level;
static uint16_t port;
static uint32_t hz;
static char tests[16];
static char console[8];
static char err[160];

static const struct cmdline_opt opts[] = {
	{ "tests", CMDLINE_STR, tests, sizeof tests, 0, 0, "test suites to run" },
	{ "smp", CMDLINE_UINT, &smp, 8, 1, 64, "CPUs to start" },
	{ "quiet", CMDLINE_BOOL, &quiet, sizeof quiet, 0, 0, "fewer boot messages" },
	{ "mem", CMDLINE_UINT, &mem, 8, 0, UINT64_MAX, "memory limit" },
	{ "level", CMDLINE_UINT, &level, 1, 0, UINT64_MAX, "log level" },
	{ "port", CMDLINE_UINT, &port, 2, 0, UINT64_MAX, "I/O port" },
	{ "hz", CMDLINE_UINT, &hz, 4, 10, 10000, "tick rate" },
	{ "console", CMDLINE_STR, console, sizeof console, 0, 0, "console device" },
};
#define NOPTS (sizeof opts / sizeof opts[0])

static void defaults(void)
{
	quiet = false;
	smp = 7;
	mem = 0;
	level = 3;
	port = 0x3f8;
	hz = 100;
	strcpy(tests, "none");
	strcpy(console, "ttyS0");
}

static bool untouched(void)
{
	return !quiet && smp == 7 && mem == 0 && level == 3 && port == 0x3f8 && hz == 100 &&
	       strcmp(tests, "none") == 0 && strcmp(console, "ttyS0") == 0;
}

static int parse(const char *line)
{
	defaults();
	memset(err, 0x55, sizeof err);
	int r = cmdline_parse(line, opts, NOPTS, err, sizeof err);
	HEXPECT(memchr(err, '\0', sizeof err) != NULL);
	if (r < 0) {
		HEXPECT(err[0] != '\0');
		HEXPECT(untouched());
	} else {
		HEXPECT_STREQ(err, "");
	}
	return r;
}

HTEST(empty_lines)
{
	HEXPECT_EQ(parse(""), 0);
	HEXPECT(untouched());
	HEXPECT_EQ(parse(" \t\r\n "), 0);
	HEXPECT(untouched());
	HEXPECT_EQ(cmdline_parse(NULL, opts, NOPTS, err, sizeof err), 0);
}

HTEST(all_kinds)
{
	HREQUIRE_EQ(parse("  tests=sched,gc smp=4\tquiet mem=512M level=255 port=0x2F8 hz=1000 console=\"a b c\"\n"), 0);
	HEXPECT_STREQ(tests, "sched,gc");
	HEXPECT_EQ(smp, 4);
	HEXPECT(quiet);
	HEXPECT_EQ(mem, 512ull << 20);
	HEXPECT_EQ(level, 255);
	HEXPECT_EQ(port, 0x2f8);
	HEXPECT_EQ(hz, 1000);
	HEXPECT_STREQ(console, "a b c");
}

HTEST(bool_values)
{
	static const char *const on[] = { "quiet", "quiet=1", "quiet=on", "quiet=yes",
					  "quiet=true", "quiet=TRUE", "quiet=On" };
	static const char *const off[] = { "quiet=0", "quiet=off", "quiet=no", "quiet=false",
					   "quiet=NO" };

	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
		HEXPECT_EQ(parse(on[i]), 0);
		HEXPECT(quiet);
	}
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
		defaults();
		quiet = true;
		HEXPECT_EQ(cmdline_parse(off[i], opts, NOPTS, err, sizeof err), 0);
		HEXPECT(!quiet);
	}
	HEXPECT_EQ(parse("quiet=maybe"), -1);
	HEXPECT_STR_HAS(err, "cmdline: option 'quiet': value 'maybe' is not a boolean");
	HEXPECT_EQ(parse("quiet="), -1);
	HEXPECT_STR_HAS(err, "value '' is not a boolean");
	HEXPECT_EQ(parse("quiet=truex"), -1);
}

HTEST(uint_values)
{
	HEXPECT_EQ(parse("mem=0"), 0);
	HEXPECT_EQ(mem, 0);
	HEXPECT_EQ(parse("mem=0x0"), 0);
	HEXPECT_EQ(parse("mem=010"), 0);
	HEXPECT_EQ(mem, 10);			/* decimal, not octal */
	HEXPECT_EQ(parse("mem=0xDEADbeef"), 0);
	HEXPECT_EQ(mem, 0xdeadbeef);
	HEXPECT_EQ(parse("mem=4k"), 0);
	HEXPECT_EQ(mem, 4096);
	HEXPECT_EQ(parse("mem=3G"), 0);
	HEXPECT_EQ(mem, 3ull << 30);
	HEXPECT_EQ(parse("mem=0x10m"), 0);
	HEXPECT_EQ(mem, 16ull << 20);
	HEXPECT_EQ(parse("mem=18446744073709551615"), 0);
	HEXPECT_EQ(mem, UINT64_MAX);
	HEXPECT_EQ(parse("mem=0xffffffffffffffff"), 0);
	HEXPECT_EQ(mem, UINT64_MAX);
	HEXPECT_EQ(parse("mem=17179869183G"), 0);
	HEXPECT_EQ(mem, 17179869183ull << 30);
}

HTEST(uint_errors)
{
	HEXPECT_EQ(parse("smp=9x"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp': value '9x' is not a number");
	HEXPECT_EQ(parse("smp=0"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp': 0 is out of range [1, 64]");
	HEXPECT_EQ(parse("smp=65"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp': 65 is out of range [1, 64]");
	HEXPECT_EQ(parse("smp=1k"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp': 1024 is out of range [1, 64]");
	HEXPECT_EQ(parse("smp"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp' needs a value");
	HEXPECT_EQ(parse("smp="), -1);
	HEXPECT_STR_HAS(err, "value '' is not a number");
	HEXPECT_EQ(parse("smp=0x"), -1);
	HEXPECT_STR_HAS(err, "value '0x' is not a number");
	HEXPECT_EQ(parse("smp=k"), -1);
	HEXPECT_EQ(parse("smp=-1"), -1);
	HEXPECT_EQ(parse("smp=+1"), -1);
	HEXPECT_EQ(parse("smp=1kk"), -1);
	HEXPECT_EQ(parse("smp=0x1g2"), -1);
	HEXPECT_EQ(parse("level=\"1\r\n\t2\""), -1);	/* messages stay one printable line */
	HEXPECT_STREQ(err, "cmdline: option 'level': value '1???2' is not a number");
	HEXPECT_EQ(parse("smp=\"4\""), 0);	/* quoted numbers are numbers */
	HEXPECT_EQ(smp, 4);

	HEXPECT_EQ(parse("mem=18446744073709551616"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'mem': value '18446744073709551616' is too large");
	HEXPECT_EQ(parse("mem=0x10000000000000000"), -1);
	HEXPECT_STR_HAS(err, "is too large");
	HEXPECT_EQ(parse("mem=17179869184G"), -1);
	HEXPECT_STR_HAS(err, "is too large");
	HEXPECT_EQ(parse("mem=99999999999999999999999999999999999999999"), -1);
	HEXPECT_STR_HAS(err, "is too large");

	/* The width of dst bounds the range. */
	HEXPECT_EQ(parse("level=256"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'level': 256 is out of range [0, 255]");
	HEXPECT_EQ(parse("port=0x10000"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'port': 65536 is out of range [0, 65535]");
	HEXPECT_EQ(parse("port=65535"), 0);
	HEXPECT_EQ(port, 65535);
	HEXPECT_EQ(parse("hz=9"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'hz': 9 is out of range [10, 10000]");
}

HTEST(strings)
{
	HEXPECT_EQ(parse("tests=123456789012345"), 0);	/* 15 + NUL fits 16 */
	HEXPECT_STREQ(tests, "123456789012345");
	HEXPECT_EQ(parse("tests=1234567890123456"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'tests': value is 16 bytes, longer than 15");
	HEXPECT_EQ(parse("tests="), 0);
	HEXPECT_STREQ(tests, "");
	HEXPECT_EQ(parse("tests=\"\""), 0);
	HEXPECT_STREQ(tests, "");
	HEXPECT_EQ(parse("tests"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'tests' needs a value");
	HEXPECT_EQ(parse("tests=a=b"), 0);
	HEXPECT_STREQ(tests, "a=b");
	HEXPECT_EQ(parse("tests=\"x\ty=1\""), 0);
	HEXPECT_STREQ(tests, "x\ty=1");
	HEXPECT_EQ(parse("console=\"12345678\""), -1);
	HEXPECT_STR_HAS(err, "value is 8 bytes, longer than 7");
}

HTEST(quotes)
{
	HEXPECT_EQ(parse("tests=\"abc"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'tests': unterminated quote");
	HEXPECT_EQ(parse("smp=2 tests=\"abc smp=3"), -1);
	HEXPECT_STR_HAS(err, "unterminated quote");
	HEXPECT_EQ(parse("tests=\"a\"b"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'tests': text follows the closing quote");
	HEXPECT_EQ(parse("tests=a\"b\""), -1);
	HEXPECT_STREQ(err, "cmdline: option 'tests': quote inside an unquoted value");
	HEXPECT_EQ(parse("\"tests=a\""), -1);
	HEXPECT_STR_HAS(err, "character '\"' at offset 0 is not allowed in an option name");
	HEXPECT_EQ(parse("=5"), -1);
	HEXPECT_STREQ(err, "cmdline: '=' at offset 0 has no option name");
}

HTEST(unknown_option_lists_known)
{
	HEXPECT_EQ(parse("smp=2 foo=1"), -1);
	HEXPECT_STREQ(err, "cmdline: unknown option 'foo' (known: tests, smp, quiet, mem, level, port, hz, console)");
	HEXPECT_EQ(parse("smp.x"), -1);
	HEXPECT_STR_HAS(err, "unknown option 'smp.x'");
	HEXPECT_EQ(parse("SMP=2"), -1);		/* names are case-sensitive */

	/* Shortened to fit a small buffer, always with a closing parenthesis. */
	for (size_t len = 1; len < 120; len++) {
		char small[120];
		defaults();
		memset(small, 0x55, sizeof small);
		HEXPECT_EQ(cmdline_parse("foo", opts, NOPTS, small, len), -1);
		HEXPECT(strlen(small) < len);
		if (len > 60)
			HEXPECT(small[strlen(small) - 1] == ')');
	}
	char small[60];
	cmdline_parse("foo", opts, NOPTS, small, sizeof small);
	HEXPECT_STREQ(small, "cmdline: unknown option 'foo' (known: tests, smp, ...)");

	/* A long unknown name is shown shortened. */
	char line[200];
	memset(line, 'x', 150);
	line[150] = '\0';
	HEXPECT_EQ(parse(line), -1);
	HEXPECT_STR_HAS(err, "unknown option 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' (known:");
}

HTEST(duplicates_are_errors)
{
	HEXPECT_EQ(parse("smp=2 quiet smp=3"), -1);
	HEXPECT_STREQ(err, "cmdline: option 'smp' is given twice");
	HEXPECT_EQ(parse("quiet quiet=0"), -1);
}

HTEST(all_or_nothing)
{
	/* Valid options before the bad one are not applied either (parse() checks). */
	HEXPECT_EQ(parse("tests=all smp=4 quiet mem=1G console=x hz=5"), -1);
	HEXPECT(untouched());
}

HTEST(limits)
{
	char line[CMDLINE_MAX_LEN + 2];

	/* Exactly the limit: fine; one more byte: an error. */
	memset(line, ' ', sizeof line);
	memcpy(line, "smp=2", 5);
	line[CMDLINE_MAX_LEN] = '\0';
	HEXPECT_EQ(parse(line), 0);
	HEXPECT_EQ(smp, 2);
	line[CMDLINE_MAX_LEN] = ' ';
	line[CMDLINE_MAX_LEN + 1] = '\0';
	HEXPECT_EQ(parse(line), -1);
	HEXPECT_STREQ(err, "cmdline: longer than 1024 bytes");

	/* CMDLINE_MAX_WORDS distinct options: fine; one more: an error. */
	static bool flags[CMDLINE_MAX_WORDS + 1];
	static char names[CMDLINE_MAX_WORDS + 1][16];
	static struct cmdline_opt many[CMDLINE_MAX_WORDS + 1];
	char words[CMDLINE_MAX_WORDS * 16 + 16] = "";
	for (int i = 0; i <= CMDLINE_MAX_WORDS; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		many[i] = (struct cmdline_opt){ names[i], CMDLINE_BOOL, &flags[i], 1, 0, 0, NULL };
	}
	for (int i = 0; i < CMDLINE_MAX_WORDS; i++) {
		strcat(words, names[i]);
		strcat(words, " ");
	}
	HEXPECT_EQ(cmdline_parse(words, many, CMDLINE_MAX_WORDS + 1, err, sizeof err), 0);
	HEXPECT(flags[0] && flags[CMDLINE_MAX_WORDS - 1] && !flags[CMDLINE_MAX_WORDS]);
	strcat(words, names[CMDLINE_MAX_WORDS]);
	HEXPECT_EQ(cmdline_parse(words, many, CMDLINE_MAX_WORDS + 1, err, sizeof err), -1);
	HEXPECT_STREQ(err, "cmdline: more than 64 options");
}

HTEST(non_printable_bytes)
{
	HEXPECT_EQ(parse("smp=2\x1b[2J"), -1);
	HEXPECT_STREQ(err, "cmdline: byte 0x1b at offset 5 is not printable ASCII");
	HEXPECT_EQ(parse("tests=\xc3\xa9"), -1);
	HEXPECT_STR_HAS(err, "byte 0xc3 at offset 6");
	HEXPECT_EQ(parse("smp=2\x7f"), -1);
}

HTEST(bad_tables)
{
	uint64_t v;
	char s[4];
	struct cmdline_opt t[2] = {
		{ "ok", CMDLINE_UINT, &v, 8, 0, 10, NULL },
		{ "bad", CMDLINE_UINT, &v, 3, 0, 10, NULL },
	};

	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STREQ(err, "cmdline: option table entry 1 ('bad'): dstsize is not 1, 2, 4 or 8");
	t[1] = (struct cmdline_opt){ "bad", CMDLINE_UINT, &v, 8, 11, 10, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "min > max");
	t[1] = (struct cmdline_opt){ "bad", CMDLINE_STR, s, 0, 0, 0, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "dstsize is 0");
	t[1] = (struct cmdline_opt){ "b d", CMDLINE_STR, s, 4, 0, 0, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "bad character in name");
	t[1] = (struct cmdline_opt){ NULL, CMDLINE_STR, s, 4, 0, 0, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "no name");
	t[1] = (struct cmdline_opt){ "x", CMDLINE_STR, NULL, 4, 0, 0, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "no dst");
	t[1] = (struct cmdline_opt){ "x", (enum cmdline_type)7, s, 4, 0, 0, NULL };
	HEXPECT_EQ(cmdline_parse("", t, 2, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "unknown type");
}

HTEST(no_error_buffer)
{
	defaults();
	HEXPECT_EQ(cmdline_parse("foo", opts, NOPTS, NULL, 0), -1);
	HEXPECT_EQ(cmdline_parse("smp=3", opts, NOPTS, NULL, 0), 0);
	HEXPECT_EQ(smp, 3);
	char one[1] = { 'x' };
	HEXPECT_EQ(cmdline_parse("foo", opts, NOPTS, one, 1), -1);
	HEXPECT_EQ(one[0], '\0');
}

/* "--" ends the kernel's options; what follows is never parsed as one. */
HTEST(separator_ends_the_options)
{
	HEXPECT_EQ(parse("smp=3 -- bogus=1 \"unterminated"), 0);
	HEXPECT_EQ(smp, 3);
	HEXPECT_EQ(parse("--"), 0);
	HEXPECT(untouched());
	HEXPECT_EQ(parse("quiet --x"), -1);	/* a word that only starts with "--" */
	HEXPECT_STR_HAS(err, "unknown option '--x'");
	HEXPECT_EQ(parse("tests=\"a -- b\" bogus"), -1);	/* quoted: not the separator */
	HEXPECT_STR_HAS(err, "unknown option 'bogus'");
	HEXPECT_EQ(parse("smp=2\t--\tlevel=4"), 0);
	HEXPECT_EQ(level, 3);
}

HTEST(program_args_follow_the_separator)
{
	HEXPECT(cmdline_program_args("smp=2") == NULL);
	HEXPECT(cmdline_program_args(NULL) == NULL);
	HEXPECT(cmdline_program_args("") == NULL);
	HEXPECT(cmdline_program_args("--x y") == NULL);
	HEXPECT_STREQ(cmdline_program_args("smp=2 --"), "");
	HEXPECT_STREQ(cmdline_program_args("smp=2 --   -n 10 in"), "-n 10 in");
	HEXPECT_STREQ(cmdline_program_args("tests=\"x -- y\" -- a -- b"), "a -- b");
	HEXPECT(cmdline_program_args("tests=\"x -- y") == NULL);
	HEXPECT_STREQ(cmdline_program_args("--\n\"q\""), "\"q\"");
}

static char *av[8];
static char abuf[64];

static int split(const char *args)
{
	memset(err, 0x55, sizeof err);
	memset(av, 0x55, sizeof av);
	int n = cmdline_split(args, abuf, sizeof abuf, av, 8, err, sizeof err);
	HEXPECT(memchr(err, '\0', sizeof err) != NULL);
	if (n < 0)
		HEXPECT(err[0] != '\0');
	else
		HEXPECT_STREQ(err, "");
	return n;
}

HTEST(split_words_and_quotes)
{
	HEXPECT_EQ(split(""), 0);
	HEXPECT(av[0] == NULL);
	HEXPECT_EQ(split(NULL), 0);
	HEXPECT_EQ(split("  \t "), 0);
	HEXPECT_EQ(split("-n 10  input.txt "), 3);
	HEXPECT_STREQ(av[0], "-n");
	HEXPECT_STREQ(av[1], "10");
	HEXPECT_STREQ(av[2], "input.txt");
	HEXPECT(av[3] == NULL);
	HEXPECT_EQ(split("\"two words\" \"\" a\"b c\"d x=\"1 2\""), 4);
	HEXPECT_STREQ(av[0], "two words");
	HEXPECT_STREQ(av[1], "");
	HEXPECT_STREQ(av[2], "ab cd");
	HEXPECT_STREQ(av[3], "x=1 2");
	HEXPECT_EQ(split("-- --"), 2);	/* the program's own "--" stays its own */
	HEXPECT_STREQ(av[1], "--");
	HEXPECT_EQ(split("1 2 3 4 5 6 7 8"), 8);	/* exactly full: no NULL slot left */
	HEXPECT_STREQ(av[7], "8");
}

HTEST(split_errors_name_the_problem)
{
	HEXPECT_EQ(split("a \"b c"), -1);
	HEXPECT_STREQ(err, "cmdline: program argument 2 ('\"b c'): unterminated quote at offset 2");
	HEXPECT_EQ(split("1 2 3 4 5 6 7 8 9"), -1);
	HEXPECT_STREQ(err, "cmdline: more than 8 program arguments");
	HEXPECT_EQ(split("a\x01"), -1);
	HEXPECT_STREQ(err, "cmdline: byte 0x01 at offset 1 is not printable ASCII");
	HEXPECT_EQ(split("this line is longer than the sixty-four bytes of the test's buffer"), -1);
	HEXPECT_STR_HAS(err, "do not fit a buffer of 64");
	char one[1] = { 'x' };
	HEXPECT_EQ(cmdline_split("\"", abuf, sizeof abuf, av, 8, one, 1), -1);
	HEXPECT_EQ(one[0], '\0');
	HEXPECT_EQ(cmdline_split("a b", abuf, sizeof abuf, av, 8, NULL, 0), 2);
}
