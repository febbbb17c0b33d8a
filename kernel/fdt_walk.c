/*
 * kernel/fdt_walk.c: the device tree parser's first half, the structure-block walker
 * (the second, kernel/fdt.c, extracts the platform from what it reports; the format,
 * what is trusted and the policy are described there).
 *
 * fdt_check_header checks the 40-byte header first (magic, totalsize within what the
 * caller could read, version, every block inside totalsize with 64-bit sums so
 * nothing wraps, alignment). fdt_walk then walks the structure block once: it
 * bounds-checks every token, node name, property length and name offset, requires
 * NUL terminators inside their blocks, limits nesting to FDT_MAX_DEPTH, requires
 * properties to come before subnodes (as the spec says and dtc writes), keeps the
 * current node's path for messages and matching (shortened past FDT_PATH_MAX), and
 * hands each node and property to a visitor (kernel/fdt_walk.h). Lookups by path are
 * walks too: fdt_stdout_path resolves /chosen stdout-path, through /aliases when it
 * names an alias. All multi-byte loads are byte loads: the blob may sit at any
 * address and aarch64 faults on unaligned access to device memory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kernel/fdt.h>
#include "fdt_walk.h"

/* Header fields, big-endian u32 each. */
#define FDT_H_MAGIC		0
#define FDT_H_TOTALSIZE		4
#define FDT_H_OFF_STRUCT	8
#define FDT_H_OFF_STRINGS	12
#define FDT_H_OFF_RSVMAP	16
#define FDT_H_VERSION		20
#define FDT_H_LAST_COMP		24
#define FDT_H_SIZE_STRINGS	32
#define FDT_H_SIZE_STRUCT	36	/* version 17 and later */

/* Structure block tokens. */
#define FDT_BEGIN_NODE		1
#define FDT_END_NODE		2
#define FDT_PROP		3
#define FDT_NOP			4
#define FDT_END			9

/* The current node's path as messages show it: "/" for the root, long ones shortened. */
const char *fdt_path(const struct fdt_cursor *cur)
{
	return cur->shown;
}

/* Write the path of the node at depth d (the current one or an ancestor) for a message. */
void fdt_path_show(const struct fdt_cursor *cur, int d, char *buf, size_t size)
{
	size_t n = d > 0 ? cur->pathlen[d] : 0;

	if (n == 0)
		snprintf(buf, size, "/");
	else if (n < size)
		snprintf(buf, size, "%.*s", (int)n, cur->path);
	else
		snprintf(buf, size, "...%s", cur->path + n - (size - 4));
}

/* Copy up to n bytes of a firmware string, stopping at NUL, non-printables as '?'. */
void fdt_copy_printable(char *dst, size_t dstsize, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < dstsize && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[i] = '\0';
}

/* The header's totalsize, 0 on a bad magic (see fdt.h). */
uint32_t fdt_totalsize(const void *hdr40)
{
	const uint8_t *h = hdr40;

	if (fdt_be32(h + FDT_H_MAGIC) != FDT_MAGIC)
		return 0;
	return fdt_be32(h + FDT_H_TOTALSIZE);
}

/* Check the header and that every block lies inside totalsize <= avail. */
int fdt_check_header(const uint8_t *b, size_t avail, struct fdt_blob *fb,
		     char *err, size_t errlen)
{
	if (avail < FDT_HEADER_LEN) {
		snprintf(err, errlen, "FDT: %lu bytes are too few for the header (%u)",
			 (unsigned long)avail, (unsigned)FDT_HEADER_LEN);
		return -1;
	}
	uint32_t magic = fdt_be32(b + FDT_H_MAGIC);
	uint32_t total = fdt_be32(b + FDT_H_TOTALSIZE);
	uint32_t version = fdt_be32(b + FDT_H_VERSION);
	uint32_t last_comp = fdt_be32(b + FDT_H_LAST_COMP);
	uint32_t off_struct = fdt_be32(b + FDT_H_OFF_STRUCT);
	uint32_t off_strings = fdt_be32(b + FDT_H_OFF_STRINGS);
	uint32_t size_strings = fdt_be32(b + FDT_H_SIZE_STRINGS);
	uint32_t off_rsvmap = fdt_be32(b + FDT_H_OFF_RSVMAP);

	if (magic != FDT_MAGIC) {
		snprintf(err, errlen, "FDT: bad magic 0x%08x", (unsigned)magic);
		return -1;
	}
	if (total < FDT_HEADER_LEN || total > avail) {
		snprintf(err, errlen, "FDT: totalsize %u is out of range [%u, %lu]",
			 (unsigned)total, (unsigned)FDT_HEADER_LEN, (unsigned long)avail);
		return -1;
	}
	if (version < 16 || last_comp > 17) {
		snprintf(err, errlen,
			 "FDT: version %u (last compatible %u) is not readable as version 16 or 17",
			 (unsigned)version, (unsigned)last_comp);
		return -1;
	}
	/* size_dt_struct exists from version 17; before, the block runs to the end. */
	uint32_t size_struct = version >= 17 ? fdt_be32(b + FDT_H_SIZE_STRUCT)
					     : (off_struct <= total ? total - off_struct : 0);
	if (off_struct < FDT_HEADER_LEN || off_struct % 4 != 0 ||
	    (uint64_t)off_struct + size_struct > total) {
		snprintf(err, errlen,
			 "FDT: structure block at 0x%x size 0x%x is unaligned or outside totalsize 0x%x",
			 (unsigned)off_struct, (unsigned)size_struct, (unsigned)total);
		return -1;
	}
	if (off_strings < FDT_HEADER_LEN || (uint64_t)off_strings + size_strings > total) {
		snprintf(err, errlen,
			 "FDT: strings block at 0x%x size 0x%x is outside totalsize 0x%x",
			 (unsigned)off_strings, (unsigned)size_strings, (unsigned)total);
		return -1;
	}
	if (off_rsvmap < FDT_HEADER_LEN || off_rsvmap % 8 != 0 || off_rsvmap >= total) {
		snprintf(err, errlen,
			 "FDT: memory reservation map at 0x%x is unaligned or outside totalsize 0x%x",
			 (unsigned)off_rsvmap, (unsigned)total);
		return -1;
	}
	fb->b = b;
	fb->size = total;
	fb->struct_off = off_struct;
	fb->struct_size = size_struct;
	fb->strings_off = off_strings;
	fb->strings_size = size_strings;
	fb->rsvmap_off = off_rsvmap;
	return 0;
}

/* Enter a child node: append "/name" to the path (shortened past FDT_PATH_MAX). */
static void fdt_path_push(struct fdt_cursor *cur, const char *name, uint32_t namelen)
{
	int d = cur->depth;

	cur->name = name;
	cur->namelen = namelen;
	if (d == 0) {
		cur->path[0] = '\0';
		cur->pathlen[0] = 0;
	} else {
		size_t base = cur->pathlen[d - 1];
		cur->pathlen[d] = (uint16_t)base;
		if (d > cur->trunc_depth) {
			/* already shortened above: the path stays the ancestor's */
		} else if (base + 1 + namelen + 1 <= FDT_PATH_MAX) {
			cur->path[base] = '/';
			fdt_copy_printable(cur->path + base + 1, namelen + 1,
					   (const uint8_t *)name, namelen);
			cur->pathlen[d] = (uint16_t)(base + 1 + namelen);
		} else {
			cur->trunc_depth = d;
			if (base + 5 <= FDT_PATH_MAX) {
				memcpy(cur->path + base, "/...", 5);
				cur->pathlen[d] = (uint16_t)(base + 4);
			}
		}
	}
	fdt_path_show(cur, d, cur->shown, sizeof cur->shown);
}

/* Leave the current node: restore the parent's path. */
static void fdt_path_pop(struct fdt_cursor *cur)
{
	if (cur->trunc_depth >= cur->depth)
		cur->trunc_depth = FDT_MAX_DEPTH + 1;
	cur->depth--;
	if (cur->depth >= 0)
		cur->path[cur->pathlen[cur->depth]] = '\0';
	fdt_path_show(cur, cur->depth, cur->shown, sizeof cur->shown);
}

/*
 * Walk the structure block once, checking every token, and report nodes and
 * properties to v. Returns 0 at FDT_END, <0 with err written, or what v stopped with.
 */
int fdt_walk(const struct fdt_blob *fb, const struct fdt_visitor *v, void *arg,
	     struct fdt_cursor *cur)
{
	const uint8_t *s = fb->b + fb->struct_off;
	const char *strs = (const char *)fb->b + fb->strings_off;
	uint32_t end = fb->struct_size, off = 0;
	bool props_done[FDT_MAX_DEPTH + 1];
	bool root_closed = false;
	int r;

	cur->depth = -1;
	cur->trunc_depth = FDT_MAX_DEPTH + 1;
	cur->path[0] = '\0';
	fdt_path_show(cur, -1, cur->shown, sizeof cur->shown);
	cur->name = "";
	cur->namelen = 0;
	for (;;) {
		if (end - off < 4) {
			snprintf(cur->err, cur->errlen,
				 "FDT: structure block ends at 0x%x without FDT_END", (unsigned)end);
			return -1;
		}
		uint32_t tok = fdt_be32(s + off);
		off += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			if (root_closed) {
				snprintf(cur->err, cur->errlen,
					 "FDT: node at structure offset 0x%x follows the root node",
					 (unsigned)(off - 4));
				return -1;
			}
			const uint8_t *nul = memchr(s + off, '\0', end - off);
			if (!nul) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: subnode name at structure offset 0x%x is not terminated",
					 fdt_path(cur), (unsigned)off);
				return -1;
			}
			const char *name = (const char *)(s + off);
			uint32_t namelen = (uint32_t)(nul - (s + off));
			uint64_t next = (uint64_t)off + (((uint64_t)namelen + 1 + 3) & ~(uint64_t)3);
			off = next > end ? end : (uint32_t)next;	/* past end: no FDT_END */
			if (cur->depth >= 0 && !props_done[cur->depth]) {
				props_done[cur->depth] = true;
				if (v->done && (r = v->done(arg, cur)) != 0)
					return r;
			}
			if (cur->depth == FDT_MAX_DEPTH) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: nodes nested deeper than %u", fdt_path(cur),
					 (unsigned)FDT_MAX_DEPTH);
				return -1;
			}
			cur->depth++;
			props_done[cur->depth] = false;
			fdt_path_push(cur, name, namelen);
			if (v->begin && (r = v->begin(arg, cur)) != 0)
				return r;
			break;
		}
		case FDT_END_NODE:
			if (cur->depth < 0) {
				snprintf(cur->err, cur->errlen,
					 "FDT: FDT_END_NODE at structure offset 0x%x closes no node",
					 (unsigned)(off - 4));
				return -1;
			}
			if (!props_done[cur->depth]) {
				props_done[cur->depth] = true;
				if (v->done && (r = v->done(arg, cur)) != 0)
					return r;
			}
			fdt_path_pop(cur);
			if (cur->depth < 0)
				root_closed = true;
			break;
		case FDT_PROP: {
			if (cur->depth < 0) {
				snprintf(cur->err, cur->errlen,
					 "FDT: property at structure offset 0x%x is outside every node",
					 (unsigned)(off - 4));
				return -1;
			}
			if (end - off < 8) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: property header at structure offset 0x%x is cut off",
					 fdt_path(cur), (unsigned)off);
				return -1;
			}
			uint32_t len = fdt_be32(s + off), nameoff = fdt_be32(s + off + 4);
			off += 8;
			if (len > end - off) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: property length %u at structure offset 0x%x runs past the structure block",
					 fdt_path(cur), (unsigned)len, (unsigned)(off - 8));
				return -1;
			}
			const uint8_t *val = s + off;
			uint64_t next = (uint64_t)off + (((uint64_t)len + 3) & ~(uint64_t)3);
			off = next > end ? end : (uint32_t)next;
			if (nameoff >= fb->strings_size) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: property name offset 0x%x is past the strings block (0x%x)",
					 fdt_path(cur), (unsigned)nameoff,
					 (unsigned)fb->strings_size);
				return -1;
			}
			if (!memchr(strs + nameoff, '\0', fb->strings_size - nameoff)) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: property name at strings offset 0x%x is not terminated",
					 fdt_path(cur), (unsigned)nameoff);
				return -1;
			}
			const char *pname = strs + nameoff;
			if (props_done[cur->depth]) {
				char shown[32];

				fdt_copy_printable(shown, sizeof shown, (const uint8_t *)pname,
						   sizeof shown);
				snprintf(cur->err, cur->errlen,
					 "FDT %s: property '%s' follows a subnode",
					 fdt_path(cur), shown);
				return -1;
			}
			if (v->prop && (r = v->prop(arg, cur, pname, val, len)) != 0)
				return r;
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			if (cur->depth >= 0 || !root_closed) {
				snprintf(cur->err, cur->errlen,
					 "FDT %s: FDT_END at structure offset 0x%x before the root node closed",
					 fdt_path(cur), (unsigned)(off - 4));
				return -1;
			}
			return 0;
		default:
			snprintf(cur->err, cur->errlen,
				 "FDT %s: unknown token 0x%x at structure offset 0x%x",
				 fdt_path(cur), (unsigned)tok, (unsigned)(off - 4));
			return -1;
		}
	}
}

/* True if the property's first string is s (NUL-terminated or ending with the value). */
bool fdt_str_is(const uint8_t *val, uint32_t len, const char *s)
{
	size_t n = strlen(s);

	return val && len >= n && memcmp(val, s, n) == 0 && (len == n || val[n] == '\0');
}

/* True if the string list (compatible) contains s. */
bool fdt_strlist_has(const uint8_t *val, uint32_t len, const char *s)
{
	uint32_t off = 0;

	while (val && off < len) {
		const uint8_t *nul = memchr(val + off, '\0', len - off);
		uint32_t n = nul ? (uint32_t)(nul - (val + off)) : len - off;
		if (fdt_str_is(val + off, n, s))
			return true;
		off += n + 1;
	}
	return false;
}

/* True if the cursor's path is exactly the n bytes at p. */
bool fdt_path_is(const struct fdt_cursor *cur, const uint8_t *p, uint32_t n)
{
	if (cur->depth >= cur->trunc_depth)
		return false;
	if (cur->depth == 0)
		return n == 1 && p[0] == '/';
	return cur->pathlen[cur->depth] == n && memcmp(cur->path, p, n) == 0;
}

/* A property search: node path and property name in, value out. */
struct fdt_find {
	const uint8_t *path;
	uint32_t pathlen;
	const char *name;
	const uint8_t *val;
	uint32_t len;
};

/* Visitor for fdt_find_prop: stop at the wanted property of the wanted node. */
static int fdt_find_visit(void *arg, const struct fdt_cursor *cur, const char *name,
			  const uint8_t *val, uint32_t len)
{
	struct fdt_find *f = arg;

	if (strcmp(name, f->name) != 0 || !fdt_path_is(cur, f->path, f->pathlen))
		return 0;
	f->val = val;
	f->len = len;
	return 1;
}

/* Find property name of the node at path (a full path); f->val NULL if absent. */
static int fdt_find_prop(const struct fdt_blob *fb, struct fdt_cursor *cur,
			 struct fdt_find *f)
{
	static const struct fdt_visitor v = { .prop = fdt_find_visit };

	f->val = NULL;
	f->len = 0;
	return fdt_walk(fb, &v, f, cur) < 0 ? -1 : 0;
}

/*
 * Resolve /chosen stdout-path to a node path: drop ":options", follow an alias
 * through /aliases. *path is NULL when there is none or it cannot be resolved (the
 * first enabled PL011 is used then).
 */
int fdt_stdout_path(const struct fdt_blob *fb, struct fdt_cursor *cur,
		    const uint8_t **path, uint32_t *pathlen)
{
	struct fdt_find f = { (const uint8_t *)"/chosen", 7, "stdout-path", NULL, 0 };

	*path = NULL;
	*pathlen = 0;
	if (fdt_find_prop(fb, cur, &f) < 0)
		return -1;
	if (!f.val) {
		f.name = "linux,stdout-path";
		if (fdt_find_prop(fb, cur, &f) < 0)
			return -1;
	}
	if (!f.val)
		return 0;
	uint32_t n = 0;
	while (n < f.len && f.val[n] != '\0' && f.val[n] != ':')
		n++;
	if (n == 0)
		return 0;
	if (f.val[0] == '/') {
		*path = f.val;
		*pathlen = n;
		return 0;
	}
	/* An alias: property of /aliases named by the first n bytes. */
	char alias[32];
	if (n >= sizeof alias)
		return 0;
	memcpy(alias, f.val, n);
	alias[n] = '\0';
	struct fdt_find a = { (const uint8_t *)"/aliases", 8, alias, NULL, 0 };
	if (fdt_find_prop(fb, cur, &a) < 0)
		return -1;
	if (!a.val)
		return 0;
	n = 0;
	while (n < a.len && a.val[n] != '\0')
		n++;
	if (n > 0 && a.val[0] == '/') {
		*path = a.val;
		*pathlen = n;
	}
	return 0;
}
