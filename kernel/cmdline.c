/*
 * kernel/cmdline.c: the kernel command-line parser (syntax in kernel/cmdline.h).
 *
 * Input: the command line from the bootinfo (a file on the ESP, QEMU -append, or
 * /chosen/bootargs), typed by a person or written by a tool. What it trusts:
 * nothing. The line's length is bounded before anything else; every byte is
 * checked to be printable or whitespace; a value quoted in a message is shortened
 * and has its whitespace shown as '?', so a message is one printable line; the
 * number of words is bounded; numbers are accumulated with overflow checks before
 * every multiply and add; strings are copied only after their length is checked
 * against dst.
 *
 * Two passes over the line with the same code: the first checks everything and
 * writes nothing, the second writes. A line either applies whole or not at all.
 * The option table comes from the kernel itself, but it is checked too (a bad
 * entry is a programming error reported once, not a wild store).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kernel/cmdline.h>

#define CMDLINE_SHOW 32		/* longest name or value quoted in a message */

/* A span of the line: a name or a value, not NUL-terminated. */
struct cmdline_span {
	const char *s;
	size_t n;
};

/* True for the whitespace that separates words. */
static bool cmdline_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* True for a character allowed in an option name. */
static bool cmdline_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* True if the word at p is "--", which ends the kernel's options. */
static bool cmdline_is_separator(const char *p)
{
	return p[0] == '-' && p[1] == '-' && (p[2] == '\0' || cmdline_is_space(p[2]));
}

/* Shown length of a span in messages. */
static int cmdline_shown(struct cmdline_span sp)
{
	return sp.n > CMDLINE_SHOW ? CMDLINE_SHOW : (int)sp.n;
}

/* A value as messages quote it: shortened, tabs and newlines (quoted values) as '?'. */
static const char *cmdline_show_value(struct cmdline_span v, char buf[CMDLINE_SHOW + 1])
{
	int n = cmdline_shown(v);

	for (int i = 0; i < n; i++)
		buf[i] = (v.s[i] >= 0x20 && v.s[i] < 0x7f) ? v.s[i] : '?';
	buf[n] = '\0';
	return buf;
}

/* True if span equals word, ignoring ASCII case. */
static bool cmdline_span_is(struct cmdline_span sp, const char *word)
{
	size_t i;

	for (i = 0; i < sp.n && word[i]; i++) {
		char c = sp.s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != word[i])
			return false;
	}
	return i == sp.n && word[i] == '\0';
}

/* Parse a BOOL value; false if it is not one of the accepted words. */
static bool cmdline_parse_bool(struct cmdline_span v, bool *out)
{
	static const char *const yes[] = { "1", "on", "yes", "true" };
	static const char *const no[] = { "0", "off", "no", "false" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (cmdline_span_is(v, yes[i])) {
			*out = true;
			return true;
		}
		if (cmdline_span_is(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Parse a UINT value: 0 ok, -1 not a number, -2 does not fit 64 bits. */
static int cmdline_parse_uint(struct cmdline_span v, uint64_t *out)
{
	const char *s = v.s;
	size_t n = v.n;
	unsigned base = 10, shift = 0;
	uint64_t x = 0;

	if (n > 0) {
		switch (s[n - 1]) {
		case 'k': case 'K': shift = 10; n--; break;
		case 'm': case 'M': shift = 20; n--; break;
		case 'g': case 'G': shift = 30; n--; break;
		default: break;
		}
	}
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		n -= 2;
	}
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (x > (UINT64_MAX - d) / base)
			return -2;
		x = x * base + d;
	}
	if (x > (UINT64_MAX >> shift))
		return -2;
	*out = x << shift;
	return 0;
}

/* Largest value an unsigned integer of size bytes holds. */
static uint64_t cmdline_width_max(size_t size)
{
	return size >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * size)) - 1;
}

/* Store a checked UINT value into dst of size bytes, at dst's own type. */
static void cmdline_store_uint(void *dst, size_t size, uint64_t v)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (size) {
	case 1: memcpy(dst, &v8, 1); break;
	case 2: memcpy(dst, &v16, 2); break;
	case 4: memcpy(dst, &v32, 4); break;
	default: memcpy(dst, &v, 8); break;
	}
}

/* Check the option table itself: names, types, sizes, ranges. */
static int cmdline_check_table(const struct cmdline_opt *opts, size_t nopts, char *err,
			       size_t errlen)
{
	for (size_t k = 0; k < nopts; k++) {
		const struct cmdline_opt *o = &opts[k];
		const char *why = NULL;

		if (!o->name || !o->name[0])
			why = "no name";
		else if (!o->dst)
			why = "no dst";
		else if (o->type == CMDLINE_UINT &&
			 o->dstsize != 1 && o->dstsize != 2 && o->dstsize != 4 && o->dstsize != 8)
			why = "dstsize is not 1, 2, 4 or 8";
		else if (o->type == CMDLINE_UINT && o->min > o->max)
			why = "min > max";
		else if (o->type == CMDLINE_STR && o->dstsize == 0)
			why = "dstsize is 0";
		else if (o->type != CMDLINE_BOOL && o->type != CMDLINE_UINT &&
			 o->type != CMDLINE_STR)
			why = "unknown type";
		for (const char *p = o->name; !why && *p; p++)
			if (!cmdline_is_name_char(*p))
				why = "bad character in name";
		if (why) {
			snprintf(err, errlen, "cmdline: option table entry %lu ('%.32s'): %s",
				 (unsigned long)k, o->name ? o->name : "", why);
			return -1;
		}
	}
	return 0;
}

/* Write "unknown option 'name' (known: a, b, ...)", shortened to fit errlen. */
static void cmdline_err_unknown(struct cmdline_span name, const struct cmdline_opt *opts,
				size_t nopts, char *err, size_t errlen)
{
	static const char tail[] = ", ...)";
	int r = snprintf(err, errlen, "cmdline: unknown option '%.*s' (known: ",
			 cmdline_shown(name), name.s);
	size_t used = r < 0 ? errlen : (size_t)r;

	for (size_t k = 0; k < nopts && used < errlen; k++) {
		size_t need = (k ? 2 : 0) + strlen(opts[k].name);
		if (used + need + sizeof tail > errlen) {
			snprintf(err + used, errlen - used, "%s", k ? tail : "...)");
			return;
		}
		used += (size_t)snprintf(err + used, errlen - used, "%s%s", k ? ", " : "",
					 opts[k].name);
	}
	if (used < errlen)
		snprintf(err + used, errlen - used, ")");
}

/* Check (store false) or apply (store true) one option's value. */
static int cmdline_apply(const struct cmdline_opt *o, struct cmdline_span name,
			 bool has_value, struct cmdline_span v, bool store, char *err,
			 size_t errlen)
{
	int nl = cmdline_shown(name);
	char shown[CMDLINE_SHOW + 1];

	if (o->type == CMDLINE_BOOL) {
		bool b = true;
		if (has_value && !cmdline_parse_bool(v, &b)) {
			snprintf(err, errlen,
				 "cmdline: option '%.*s': value '%s' is not a boolean (1/0, on/off, yes/no, true/false)",
				 nl, name.s, cmdline_show_value(v, shown));
			return -1;
		}
		if (store)
			memcpy(o->dst, &b, sizeof b);
		return 0;
	}
	if (!has_value) {
		snprintf(err, errlen, "cmdline: option '%.*s' needs a value", nl, name.s);
		return -1;
	}
	if (o->type == CMDLINE_STR) {
		if (v.n >= o->dstsize) {
			snprintf(err, errlen,
				 "cmdline: option '%.*s': value is %lu bytes, longer than %lu",
				 nl, name.s, (unsigned long)v.n, (unsigned long)(o->dstsize - 1));
			return -1;
		}
		if (store) {
			memcpy(o->dst, v.s, v.n);
			((char *)o->dst)[v.n] = '\0';
		}
		return 0;
	}
	uint64_t x = 0, max = o->max;
	int r = cmdline_parse_uint(v, &x);
	if (r == -1) {
		snprintf(err, errlen, "cmdline: option '%.*s': value '%s' is not a number",
			 nl, name.s, cmdline_show_value(v, shown));
		return -1;
	}
	if (r == -2) {
		snprintf(err, errlen, "cmdline: option '%.*s': value '%s' is too large",
			 nl, name.s, cmdline_show_value(v, shown));
		return -1;
	}
	if (max > cmdline_width_max(o->dstsize))
		max = cmdline_width_max(o->dstsize);
	if (x < o->min || x > max) {
		snprintf(err, errlen, "cmdline: option '%.*s': %llu is out of range [%llu, %llu]",
			 nl, name.s, (unsigned long long)x, (unsigned long long)o->min,
			 (unsigned long long)max);
		return -1;
	}
	if (store)
		cmdline_store_uint(o->dst, o->dstsize, x);
	return 0;
}

/* One pass over the line: parse every word, check it, and store if asked. */
static int cmdline_run(const char *line, const struct cmdline_opt *opts, size_t nopts,
		       bool store, char *err, size_t errlen)
{
	size_t seen[CMDLINE_MAX_WORDS];
	size_t words = 0, i = 0;

	for (;;) {
		while (cmdline_is_space(line[i]))
			i++;
		if (!line[i] || cmdline_is_separator(line + i))
			return 0;	/* the rest, if any, is the program's (cmdline_program_args) */

		struct cmdline_span name = { line + i, 0 }, v = { "", 0 };
		while (line[i] && !cmdline_is_space(line[i]) && line[i] != '=') {
			if (!cmdline_is_name_char(line[i])) {
				snprintf(err, errlen,
					 "cmdline: character '%c' at offset %lu is not allowed in an option name",
					 line[i], (unsigned long)i);
				return -1;
			}
			i++;
		}
		name.n = (size_t)(line + i - name.s);
		if (name.n == 0) {
			snprintf(err, errlen, "cmdline: '=' at offset %lu has no option name",
				 (unsigned long)i);
			return -1;
		}
		if (words == CMDLINE_MAX_WORDS) {
			snprintf(err, errlen, "cmdline: more than %u options",
				 (unsigned)CMDLINE_MAX_WORDS);
			return -1;
		}

		bool has_value = line[i] == '=';
		if (has_value)
			i++;
		if (has_value && line[i] == '"') {
			const char *close = strchr(line + i + 1, '"');
			if (!close) {
				snprintf(err, errlen, "cmdline: option '%.*s': unterminated quote",
					 cmdline_shown(name), name.s);
				return -1;
			}
			v.s = line + i + 1;
			v.n = (size_t)(close - v.s);
			i = (size_t)(close + 1 - line);
			if (line[i] && !cmdline_is_space(line[i])) {
				snprintf(err, errlen,
					 "cmdline: option '%.*s': text follows the closing quote",
					 cmdline_shown(name), name.s);
				return -1;
			}
		} else if (has_value) {
			v.s = line + i;
			while (line[i] && !cmdline_is_space(line[i])) {
				if (line[i] == '"') {
					snprintf(err, errlen,
						 "cmdline: option '%.*s': quote inside an unquoted value",
						 cmdline_shown(name), name.s);
					return -1;
				}
				i++;
			}
			v.n = (size_t)(line + i - v.s);
		}

		size_t k;
		for (k = 0; k < nopts; k++)
			if (strlen(opts[k].name) == name.n && memcmp(opts[k].name, name.s, name.n) == 0)
				break;
		if (k == nopts) {
			cmdline_err_unknown(name, opts, nopts, err, errlen);
			return -1;
		}
		for (size_t w = 0; w < words; w++) {
			if (seen[w] == k) {
				snprintf(err, errlen, "cmdline: option '%.*s' is given twice",
					 cmdline_shown(name), name.s);
				return -1;
			}
		}
		seen[words++] = k;
		if (cmdline_apply(&opts[k], name, has_value, v, store, err, errlen) < 0)
			return -1;
	}
}

/* The message buffer to write: the caller's, or scratch (one byte) when it gave none;
 * emptied. */
static char *cmdline_err_start(char *err, size_t *errlen, char *scratch)
{
	if (!err || *errlen == 0) {
		err = scratch;
		*errlen = 1;
	}
	err[0] = '\0';
	return err;
}

/* The line's length, or CMDLINE_MAX_LEN + 1 if it is longer (never reads past that). */
static size_t cmdline_bounded_len(const char *line)
{
	size_t len = 0;

	while (len <= CMDLINE_MAX_LEN && line[len])
		len++;
	return len;
}

/* Check that the line is bounded and printable; 0 or -1 with err. */
static int cmdline_check_line(const char *line, size_t *lenp, char *err, size_t errlen)
{
	size_t len = cmdline_bounded_len(line);

	if (len > CMDLINE_MAX_LEN) {
		snprintf(err, errlen, "cmdline: longer than %u bytes", (unsigned)CMDLINE_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 || c >= 0x7f) && !cmdline_is_space((char)c)) {
			snprintf(err, errlen,
				 "cmdline: byte 0x%02x at offset %lu is not printable ASCII",
				 (unsigned)c, (unsigned long)i);
			return -1;
		}
	}
	*lenp = len;
	return 0;
}

/* Bound and check the line and the table, then check all words, then apply them. */
int cmdline_parse(const char *line, const struct cmdline_opt *opts, size_t nopts,
		  char *err, size_t errlen)
{
	char scratch[1];

	err = cmdline_err_start(err, &errlen, scratch);
	if (!line)
		line = "";
	size_t len;
	if (cmdline_check_line(line, &len, err, errlen) < 0)
		return -1;
	if (cmdline_check_table(opts, nopts, err, errlen) < 0 ||
	    cmdline_run(line, opts, nopts, false, err, errlen) < 0)
		return -1;
	return cmdline_run(line, opts, nopts, true, err, errlen);
}

/*
 * The word "--" as cmdline_run finds it: words are skipped the way it reads them
 * (a '"' runs to the next '"', spaces included), so a "--" inside a quoted value is
 * not the separator. An unterminated quote ends the line.
 */
const char *cmdline_program_args(const char *line)
{
	size_t i = 0, len;

	if (!line)
		return NULL;
	len = cmdline_bounded_len(line);
	if (len > CMDLINE_MAX_LEN)
		return NULL;
	for (;;) {
		while (i < len && cmdline_is_space(line[i]))
			i++;
		if (i == len)
			return NULL;
		if (cmdline_is_separator(line + i)) {
			i += 2;
			while (i < len && cmdline_is_space(line[i]))
				i++;
			return line + i;
		}
		while (i < len && !cmdline_is_space(line[i])) {
			if (line[i++] == '"') {
				while (i < len && line[i] != '"')
					i++;
				if (i < len)
					i++;
			}
		}
	}
}

/* Split the program's arguments: whitespace separates, '"' quotes, no escapes. */
int cmdline_split(const char *args, char *buf, size_t buflen, char **argv, size_t maxargs,
		  char *err, size_t errlen)
{
	char scratch[1];
	size_t len, i = 0, o = 0, argc = 0;

	err = cmdline_err_start(err, &errlen, scratch);
	if (!args)
		args = "";
	if (cmdline_check_line(args, &len, err, errlen) < 0)
		return -1;
	if (buflen < len + 1) {
		snprintf(err, errlen, "cmdline: program arguments: %lu bytes do not fit a buffer of %lu",
			 (unsigned long)len, (unsigned long)buflen);
		return -1;
	}
	for (;;) {
		while (i < len && cmdline_is_space(args[i]))
			i++;
		if (i == len)
			break;
		if (argc == maxargs) {
			snprintf(err, errlen, "cmdline: more than %lu program arguments",
				 (unsigned long)maxargs);
			return -1;
		}
		size_t start = i;
		argv[argc++] = buf + o;
		while (i < len && !cmdline_is_space(args[i])) {
			if (args[i] != '"') {
				buf[o++] = args[i++];
				continue;
			}
			size_t open = i++;
			while (i < len && args[i] != '"')
				buf[o++] = args[i++];
			if (i == len) {
				char show[CMDLINE_SHOW + 1];
				struct cmdline_span w = { args + start, len - start };
				snprintf(err, errlen,
					 "cmdline: program argument %lu ('%s'): unterminated quote at offset %lu",
					 (unsigned long)argc, cmdline_show_value(w, show),
					 (unsigned long)open);
				return -1;
			}
			i++;	/* the closing quote */
		}
		buf[o++] = '\0';	/* o <= i + argc - 1 < len + 1: the buffer holds it */
	}
	if (argc < maxargs)
		argv[argc] = NULL;
	return (int)argc;
}
