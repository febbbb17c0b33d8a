/*
 * kernel/cmdline.h: the kernel command-line parser, driven by a table of options.
 *
 * Calling context: any, typically once at boot on the boot CPU. Does not block,
 * does not allocate, keeps no state; writes only to the options' dst and to err.
 * Also built into host tests and a libFuzzer target (tests/host/test_cmdline.c,
 * tests/fuzz/fuzz_cmdline.c).
 *
 * Syntax: words separated by whitespace (space, tab, CR, LF, VT, FF), each one of
 *   name             a BOOL set to true (a UINT or STR needs a value)
 *   name=value       value ends at whitespace and contains no '"'
 *   name="a value"   value is what is between the quotes, spaces included; no
 *                    escapes; the closing quote must end the word
 * Option names are [A-Za-z0-9_.-]+. Values:
 *   BOOL  1 0 on off yes no true false (any case)
 *   UINT  decimal or 0x hex, optional k/K m/M g/G suffix (x 2^10, 2^20, 2^30),
 *         overflow is an error, then checked against [min, max] and against the
 *         width of dst (dstsize 1, 2, 4 or 8 bytes, native unsigned integer)
 *   STR   copied with its NUL into dst[dstsize]; a value that does not fit is an
 *         error, never truncated
 *   --               ends the kernel's options: the rest of the line is the
 *                    program's arguments (cmdline_program_args), never parsed here
 * The whole line is printable ASCII or whitespace, at most CMDLINE_MAX_LEN bytes
 * and CMDLINE_MAX_WORDS words. An option given twice is an error (the line is
 * usually typed by a person who meant one of them; guessing which hides a mistake).
 *
 * All or nothing: the line is checked completely before any dst is written, so on
 * error every option keeps its default.
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_LEN   1024	/* bytes before the NUL */
#define CMDLINE_MAX_WORDS 64

enum cmdline_type {
	CMDLINE_BOOL,		/* dst is a bool */
	CMDLINE_UINT,		/* dst is an unsigned integer of dstsize bytes */
	CMDLINE_STR,		/* dst is a char[dstsize] */
};

struct cmdline_opt {
	const char *name;
	enum cmdline_type type;
	void *dst;
	size_t dstsize;		/* STR: buffer size with the NUL; UINT: 1, 2, 4 or 8 */
	uint64_t min, max;	/* UINT: accepted range, inclusive */
	const char *help;	/* one line for a usage listing; may be NULL */
};

/*
 * Options of the layers above the kernel (rt/: the collector's gc_percent, gctrace...):
 * each is a struct cmdline_opt in the .cmdline_opts section, which the linker scripts
 * collect between __cmdline_opts_start and __cmdline_opts_end, and kernel/main.c
 * parses them in the same pass as its own (an unknown option still stops the boot).
 * Their dst is written before the upper layer starts (kernel/start.h).
 *
 *   CMDLINE_OPTION(gctrace, "gctrace", CMDLINE_BOOL, &opt, sizeof(opt), 0, 0, "help");
 */
#define CMDLINE_OPTION(id, ...)                                                         \
	static const struct cmdline_opt cmdline_opt_##id                               \
		__attribute__((used, section(".cmdline_opts"), aligned(8))) = { __VA_ARGS__ }
extern const struct cmdline_opt __cmdline_opts_start[], __cmdline_opts_end[];

/*
 * Parse line (NULL is an empty line) against opts[0..nopts). Returns 0, or -1 with
 * a one-line message in err (errlen bytes, NUL-terminated when errlen > 0) such as
 * "cmdline: option 'smp': 0 is out of range [1, 64]"; on error no dst was written.
 */
int cmdline_parse(const char *line, const struct cmdline_opt *opts, size_t nopts,
		  char *err, size_t errlen);

/*
 * The program's part of a line: what follows the word "--" (leading whitespace
 * skipped; quoted values are skipped whole, so a "--" inside one does not count), or
 * NULL when the line has no "--" or is not bounded. Call it on a line cmdline_parse
 * accepted.
 */
const char *cmdline_program_args(const char *line);

/*
 * Split the program's arguments into argv[0..argc) (at most maxargs, argv[argc] set
 * to NULL when there is room), the strings written into buf (buflen at least the
 * length of args + 1). Words are separated by whitespace; a '"' quotes up to the
 * next '"', whitespace included, and the quotes are dropped ("" is an empty
 * argument, a"b c"d is one: ab cd); there are no escapes. Returns argc, or -1 with a
 * one-line message in err (unterminated quote, too many arguments, a byte that is
 * not printable, too long).
 */
int cmdline_split(const char *args, char *buf, size_t buflen, char **argv, size_t maxargs,
		  char *err, size_t errlen);

#endif
