/*
 * kernel/fdt_walk.h: what the two halves of the device tree parser share (private to
 * kernel/fdt.c and kernel/fdt_walk.c): the checked blob, the walk's cursor and
 * visitor, the walker and its lookups, and the byte-order helpers.
 */
#ifndef KERNEL_FDT_WALK_H
#define KERNEL_FDT_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kernel/fdt.h>

#define FDT_PATH_MAX		256	/* longer paths are shortened and never match */
#define FDT_SHOWN_MAX		64	/* a path in a message: "..." and its tail past this */

/* The blob after the header check: every block is inside size. */
struct fdt_blob {
	const uint8_t *b;
	uint32_t size;
	uint32_t struct_off, struct_size;
	uint32_t strings_off, strings_size;
	uint32_t rsvmap_off;
};

/* Where the walk is: the path of the current node, for messages and matching. */
struct fdt_cursor {
	int depth;			/* of the current node; the root is 0 */
	int trunc_depth;		/* path is shortened from this depth on */
	char path[FDT_PATH_MAX];	/* "" for the root, "/cpus/cpu@0" below it */
	uint16_t pathlen[FDT_MAX_DEPTH + 1];
	char shown[FDT_SHOWN_MAX];	/* the path as messages show it */
	const char *name;		/* current node's name in the blob, NUL-terminated */
	uint32_t namelen;
	char *err;
	size_t errlen;
};

/*
 * What a walk does at each event; each returns <0 to fail (err written), 0 to go
 * on, >0 to stop early with success.
 *   begin: a node opened (cursor is at it);
 *   prop:  a property of the current node (name NUL-terminated, val may be unaligned);
 *   done:  the current node's property list ended (cursor is at that node).
 */
struct fdt_visitor {
	int (*begin)(void *arg, const struct fdt_cursor *cur);
	int (*prop)(void *arg, const struct fdt_cursor *cur, const char *name,
		    const uint8_t *val, uint32_t len);
	int (*done)(void *arg, const struct fdt_cursor *cur);
};

/* Read a big-endian u32 from any alignment. */
static inline uint32_t fdt_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Read a big-endian u64 from any alignment. */
static inline uint64_t fdt_be64(const uint8_t *p)
{
	return (uint64_t)fdt_be32(p) << 32 | fdt_be32(p + 4);
}

/* The current node's path as messages show it: "/" for the root, long ones shortened. */
const char *fdt_path(const struct fdt_cursor *cur);
/* Write the path of the node at depth d (the current one or an ancestor) for a message. */
void fdt_path_show(const struct fdt_cursor *cur, int d, char *buf, size_t size);
/* Copy up to n bytes of a firmware string, stopping at NUL, non-printables as '?'. */
void fdt_copy_printable(char *dst, size_t dstsize, const uint8_t *src, size_t n);
/* Check the header and that every block lies inside totalsize <= avail. */
int fdt_check_header(const uint8_t *b, size_t avail, struct fdt_blob *fb, char *err,
		     size_t errlen);
/*
 * Walk the structure block once, checking every token, and report nodes and
 * properties to v. Returns 0 at FDT_END, <0 with err written, or what v stopped with.
 */
int fdt_walk(const struct fdt_blob *fb, const struct fdt_visitor *v, void *arg,
	     struct fdt_cursor *cur);
/* True if the property's first string is s (NUL-terminated or ending with the value). */
bool fdt_str_is(const uint8_t *val, uint32_t len, const char *s);
/* True if the string list (compatible) contains s. */
bool fdt_strlist_has(const uint8_t *val, uint32_t len, const char *s);
/* True if the cursor's path is exactly the n bytes at p. */
bool fdt_path_is(const struct fdt_cursor *cur, const uint8_t *p, uint32_t n);
/* /chosen stdout-path as a node path (an alias resolved); *path NULL when none. */
int fdt_stdout_path(const struct fdt_blob *fb, struct fdt_cursor *cur,
		    const uint8_t **path, uint32_t *pathlen);

#endif
