/*
 * kernel/fdt.c: flattened device tree parser, aarch64 hardware discovery: the
 * extraction (this file) over the structure-block walker (kernel/fdt_walk.c).
 *
 * The blob (Devicetree Specification v0.4, chapter 5) is a 40-byte big-endian
 * header and three blocks, each located by an offset in the header:
 *
 *   +--------+---------------------+------------------------+---------------+
 *   | header | memory reservation  | structure block:       | strings block |
 *   |        | map: {u64 addr,     | BEGIN_NODE name\0 pad  | prop names,   |
 *   |        | u64 size}... {0,0}  | PROP len nameoff value | NUL-terminated|
 *   |        |                     | END_NODE ... END       |               |
 *   +--------+---------------------+------------------------+---------------+
 *   0        off_mem_rsvmap        off_dt_struct            off_dt_strings  totalsize
 *
 * What it trusts: nothing. The header is checked first (magic, totalsize within what
 * the caller could read, version, every block inside totalsize with 64-bit sums so
 * nothing wraps, alignment). The structure block is then walked by one function,
 * fdt_walk() (kernel/fdt_walk.c, with the header check and the path lookups), that
 * bounds-checks every token, node name, property length and name
 * offset, requires NUL terminators inside their blocks, limits nesting to
 * FDT_MAX_DEPTH, requires properties to come before subnodes (as the spec says and
 * dtc writes), and hands each node and property to a visitor. All multi-byte loads
 * are byte loads: the blob may sit at any address and aarch64 faults on unaligned
 * access to device memory.
 *
 * Walks: the first finds /chosen stdout-path (and, when it names an alias, a second
 * resolves it through /aliases), because /chosen usually comes after the UART it
 * names; the last extracts everything. The extracting visitor keeps, per open
 * depth, only what children need (#address-cells, #size-cells, ranges), plus the
 * properties of the one node whose property list is still open; a node is handled
 * the moment its property list ends (at its first child or at its end), so nothing
 * is stored per node and stack use is fixed (about 3 KiB in all).
 *
 * Addresses in reg are translated to CPU physical addresses through every
 * ancestor's ranges (empty ranges is the identity); a bus without ranges, an
 * address outside every range, or a value wider than 64 bits is an error for the
 * nodes we use, and ignored for the ones we do not.
 *
 * Policy: a malformed tree is an error even in nodes we do not use. Memory banks
 * past PLATFORM_MAX_MEM are dropped (we use less RAM, which is safe); reserved
 * regions past PLATFORM_MAX_RSV are an error (dropping one would let the page
 * allocator hand out firmware memory); CPUs past PLATFORM_MAX_CPUS are counted in
 * ncpus_dropped; two CPUs with one MPIDR are an error. The first GIC, timer and
 * PSCI node win; the UART is the PL011 that stdout-path names, else the first
 * enabled one. bootargs longer than platform.bootargs are truncated (at a NUL).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kernel/fdt.h>
#include "fdt_walk.h"

#define FDT_MAX_CELLS		4	/* largest #address-cells / #size-cells accepted */
#define FDT_CELLS_BAD		0xffffffffu	/* a cells property that was not 4 bytes */

#define MPIDR_AFF_MASK		0xff00ffffffull	/* Aff3 [39:32], Aff2..Aff0 [23:0] */
#define PSCI_0_2_CPU_ON_64	0xc4000003u

/* Add [base, base+size) to out->rsv; what names it goes into messages. */
static int fdt_add_rsv(struct platform *out, uint64_t base, uint64_t size, const char *what,
		       char *err, size_t errlen)
{
	if (size == 0)
		return 0;
	if (base > UINT64_MAX - (size - 1)) {
		snprintf(err, errlen, "FDT %s: reserved region 0x%llx size 0x%llx wraps around",
			 what, (unsigned long long)base, (unsigned long long)size);
		return -1;
	}
	if (out->nrsv == PLATFORM_MAX_RSV) {
		snprintf(err, errlen, "FDT %s: more than %u reserved memory regions",
			 what, (unsigned)PLATFORM_MAX_RSV);
		return -1;
	}
	out->rsv[out->nrsv].base = base;
	out->rsv[out->nrsv].size = size;
	out->nrsv++;
	return 0;
}

/* Read the /memreserve/ entries, up to the {0, 0} terminator, into out->rsv. */
static int fdt_parse_rsvmap(const struct fdt_blob *fb, struct platform *out, char *err,
			    size_t errlen)
{
	for (uint32_t off = fb->rsvmap_off;; off += 16) {
		if (fb->size - off < 16) {
			snprintf(err, errlen,
				 "FDT: memory reservation map at 0x%x has no terminating entry",
				 (unsigned)fb->rsvmap_off);
			return -1;
		}
		uint64_t base = fdt_be64(fb->b + off), size = fdt_be64(fb->b + off + 8);
		if (base == 0 && size == 0)
			return 0;
		if (fdt_add_rsv(out, base, size, "/memreserve/", err, errlen) < 0)
			return -1;
	}
}

/* Properties the extracting visitor keeps for the node whose property list is open. */
enum fdt_prop_id {
	FP_REG, FP_COMPATIBLE, FP_DEVICE_TYPE, FP_STATUS, FP_METHOD, FP_CPU_ON,
	FP_INTERRUPTS, FP_CLOCK_FREQUENCY, FP_MODEL, FP_BOOTARGS, FP_PHANDLE,
	FP_LINUX_PHANDLE, FP_INTERRUPTS_EXTENDED, FP_COUNT
};

static const char *const fdt_prop_names[FP_COUNT] = {
	[FP_REG] = "reg",
	[FP_COMPATIBLE] = "compatible",
	[FP_DEVICE_TYPE] = "device_type",
	[FP_STATUS] = "status",
	[FP_METHOD] = "method",
	[FP_CPU_ON] = "cpu_on",
	[FP_INTERRUPTS] = "interrupts",
	[FP_CLOCK_FREQUENCY] = "clock-frequency",
	[FP_MODEL] = "model",
	[FP_BOOTARGS] = "bootargs",
	[FP_PHANDLE] = "phandle",
	[FP_LINUX_PHANDLE] = "linux,phandle",
	[FP_INTERRUPTS_EXTENDED] = "interrupts-extended",
};

/* Nodes that matter by their place in the tree. */
enum fdt_kind { FK_OTHER, FK_ROOT, FK_CHOSEN, FK_CPUS, FK_RESERVED_MEMORY, FK_MEMORY_NAME };

/* What children of an open node need from it. */
struct fdt_level {
	uint32_t addr_cells, size_cells;	/* for its children; FDT_CELLS_BAD if malformed */
	bool has_ranges;
	uint32_t ranges_len;
	const uint8_t *ranges;
	uint32_t irq_parent;			/* interrupt-parent, its own or inherited; 0 none */
	uint8_t kind;				/* enum fdt_kind */
};

/* The extracting walk's state. */
struct fdt_state {
	struct platform *out;
	struct fdt_level lv[FDT_MAX_DEPTH + 1];
	struct { const uint8_t *val; uint32_t len; } prop[FP_COUNT];
	const uint8_t *stdout_path;
	uint32_t stdout_pathlen;
	bool uart_is_stdout;
	bool have_timer;
	uint32_t ncpu_nodes;
	uint32_t gic_phandle;			/* 0: the GIC has none (or no GIC yet) */
	/* the chosen PL011's interrupts, decoded after the walk (fdt_uart_irq), when the
	 * GIC's phandle is known: the GIC may come later in the tree */
	const uint8_t *uart_irq_val;
	uint32_t uart_irq_len, uart_irq_parent;
	bool uart_irq_ext;			/* from interrupts-extended: <phandle cells...> */
	char uart_path[FDT_SHOWN_MAX];
};

/* True if the node named n (namelen bytes) is "want" or "want@...". */
static bool fdt_name_is(const char *n, uint32_t namelen, const char *want)
{
	size_t w = strlen(want);

	return namelen >= w && memcmp(n, want, w) == 0 && (namelen == w || n[w] == '@');
}

/* Visitor: a node opened; set the spec's default cells and classify it. */
static int fdt_extract_begin(void *arg, const struct fdt_cursor *cur)
{
	struct fdt_state *st = arg;
	struct fdt_level *l = &st->lv[cur->depth];

	memset(l, 0, sizeof *l);
	l->addr_cells = 2;
	l->size_cells = 1;
	l->irq_parent = cur->depth > 0 ? st->lv[cur->depth - 1].irq_parent : 0;
	if (cur->depth == 0)
		l->kind = FK_ROOT;
	else if (cur->depth == 1 && fdt_name_is(cur->name, cur->namelen, "chosen"))
		l->kind = FK_CHOSEN;
	else if (cur->depth == 1 && fdt_name_is(cur->name, cur->namelen, "cpus"))
		l->kind = FK_CPUS;
	else if (cur->depth == 1 && fdt_name_is(cur->name, cur->namelen, "reserved-memory"))
		l->kind = FK_RESERVED_MEMORY;
	else if (cur->depth == 1 && fdt_name_is(cur->name, cur->namelen, "memory"))
		l->kind = FK_MEMORY_NAME;
	memset(st->prop, 0, sizeof st->prop);
	return 0;
}

/* Visitor: a property; keep cells and ranges per depth, the rest for this node. */
static int fdt_extract_prop(void *arg, const struct fdt_cursor *cur, const char *name,
			    const uint8_t *val, uint32_t len)
{
	struct fdt_state *st = arg;
	struct fdt_level *l = &st->lv[cur->depth];

	if (strcmp(name, "#address-cells") == 0) {
		l->addr_cells = len == 4 ? fdt_be32(val) : FDT_CELLS_BAD;
	} else if (strcmp(name, "#size-cells") == 0) {
		l->size_cells = len == 4 ? fdt_be32(val) : FDT_CELLS_BAD;
	} else if (strcmp(name, "ranges") == 0) {
		l->has_ranges = true;
		l->ranges = val;
		l->ranges_len = len;
	} else if (strcmp(name, "interrupt-parent") == 0) {
		if (len != 4) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: interrupt-parent length %u is not one cell", fdt_path(cur),
				 (unsigned)len);
			return -1;
		}
		l->irq_parent = fdt_be32(val);
	} else {
		for (int i = 0; i < FP_COUNT; i++) {
			if (strcmp(name, fdt_prop_names[i]) == 0) {
				st->prop[i].val = val;
				st->prop[i].len = len;
				break;
			}
		}
	}
	return 0;
}

/* Check a cells value of the node at depth d before it is used; what names it. */
static int fdt_cells_check(const struct fdt_cursor *cur, int d, uint32_t cells,
			   const char *what)
{
	if (cells == FDT_CELLS_BAD || cells > FDT_MAX_CELLS) {
		char where[FDT_SHOWN_MAX];

		fdt_path_show(cur, d, where, sizeof where);
		snprintf(cur->err, cur->errlen, "FDT %s: %s is not a 4-byte value in [0, %u]",
			 where, what, (unsigned)FDT_MAX_CELLS);
		return -1;
	}
	return 0;
}

/* Read n big-endian cells as one number; false if it does not fit 64 bits. */
static bool fdt_cells_read(const uint8_t *p, uint32_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (x >> 32)
			return false;
		x = x << 32 | fdt_be32(p + 4 * i);
	}
	*v = x;
	return true;
}

/*
 * Translate a bus address of the current node (reg, in its parent's address space)
 * to a CPU physical address through every ancestor's ranges.
 */
static int fdt_translate(struct fdt_state *st, const struct fdt_cursor *cur, uint64_t *addr,
			 uint64_t size)
{
	for (int k = cur->depth - 1; k >= 1; k--) {
		const struct fdt_level *bus = &st->lv[k];
		char bpath[FDT_SHOWN_MAX];

		fdt_path_show(cur, k, bpath, sizeof bpath);
		if (!bus->has_ranges) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg cannot be translated: %s has no ranges",
				 fdt_path(cur), bpath);
			return -1;
		}
		if (bus->ranges_len == 0)
			continue;	/* identity */
		uint32_t cac = bus->addr_cells, csc = bus->size_cells, pac = st->lv[k - 1].addr_cells;
		if (fdt_cells_check(cur, k, cac, "#address-cells") < 0 ||
		    fdt_cells_check(cur, k, csc, "#size-cells") < 0 ||
		    fdt_cells_check(cur, k - 1, pac, "#address-cells") < 0)
			return -1;
		uint32_t esz = 4 * (cac + pac + csc);
		if (cac == 0 || bus->ranges_len % esz != 0) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: ranges length %u is not a multiple of %u cells",
				 bpath, (unsigned)bus->ranges_len, (unsigned)(esz / 4));
			return -1;
		}
		bool found = false;
		for (uint32_t off = 0; off < bus->ranges_len && !found; off += esz) {
			const uint8_t *e = bus->ranges + off;
			uint64_t cb, pb, rs;
			if (!fdt_cells_read(e, cac, &cb) || !fdt_cells_read(e + 4 * cac, pac, &pb) ||
			    !fdt_cells_read(e + 4 * (cac + pac), csc, &rs))
				continue;	/* wider than 64 bits: not a CPU range */
			if (*addr < cb || *addr - cb >= rs || size > rs - (*addr - cb))
				continue;
			uint64_t delta = *addr - cb;
			if (pb > UINT64_MAX - delta)
				continue;
			*addr = pb + delta;
			found = true;
		}
		if (!found) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg address 0x%llx is outside the ranges of %s",
				 fdt_path(cur), (unsigned long long)*addr, bpath);
			return -1;
		}
	}
	return 0;
}

/*
 * Entry i of the current node's reg, decoded with the parent's cells and, when
 * translate is set, translated to a CPU physical address. *count gets the number
 * of entries (i may then be past it only if the caller checks count first).
 */
static int fdt_reg(struct fdt_state *st, const struct fdt_cursor *cur, uint32_t i,
		   bool translate, uint32_t *count, uint64_t *addr, uint64_t *size)
{
	const struct fdt_level *parent = &st->lv[cur->depth - 1];
	uint32_t ac = parent->addr_cells, sc = parent->size_cells;
	uint32_t len = st->prop[FP_REG].len;
	const uint8_t *reg = st->prop[FP_REG].val;

	if (fdt_cells_check(cur, cur->depth - 1, ac, "#address-cells") < 0 ||
	    fdt_cells_check(cur, cur->depth - 1, sc, "#size-cells") < 0)
		return -1;
	if (ac == 0) {
		snprintf(cur->err, cur->errlen, "FDT %s: reg with #address-cells 0",
			 fdt_path(cur));
		return -1;
	}
	if (len % (4 * (ac + sc)) != 0 || len == 0) {
		if (sc == 0)
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg length %u not a multiple of #address-cells (%u)",
				 fdt_path(cur), (unsigned)len, (unsigned)ac);
		else
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg length %u not a multiple of #address-cells (%u) + #size-cells (%u)",
				 fdt_path(cur), (unsigned)len, (unsigned)ac, (unsigned)sc);
		return -1;
	}
	*count = len / (4 * (ac + sc));
	if (i >= *count)
		return 0;
	const uint8_t *e = reg + i * 4 * (ac + sc);
	if (!fdt_cells_read(e, ac, addr) || !fdt_cells_read(e + 4 * ac, sc, size)) {
		snprintf(cur->err, cur->errlen, "FDT %s: reg entry %u does not fit 64 bits",
			 fdt_path(cur), (unsigned)i);
		return -1;
	}
	if (*size != 0 && *addr > UINT64_MAX - (*size - 1)) {
		snprintf(cur->err, cur->errlen,
			 "FDT %s: reg entry %u (0x%llx size 0x%llx) wraps around", fdt_path(cur),
			 (unsigned)i, (unsigned long long)*addr, (unsigned long long)*size);
		return -1;
	}
	return translate ? fdt_translate(st, cur, addr, *size) : 0;
}

/* First reg entries of a device into r[0..n-1]; fewer than n is an error. */
static int fdt_reg_ranges(struct fdt_state *st, const struct fdt_cursor *cur,
			  struct platform_range *r, uint32_t n, const char *what)
{
	uint32_t count = 0;

	if (!st->prop[FP_REG].val) {
		snprintf(cur->err, cur->errlen, "FDT %s: %s has no reg", fdt_path(cur), what);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (fdt_reg(st, cur, i, true, &count, &r[i].base, &r[i].size) < 0)
			return -1;
		if (i >= count) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg has %u entries, the %s needs %u", fdt_path(cur),
				 (unsigned)count, what, (unsigned)n);
			return -1;
		}
	}
	return 0;
}

/* True if the node's status says it is usable ("okay", "ok", or no status). */
static bool fdt_status_ok(const struct fdt_state *st)
{
	const uint8_t *v = st->prop[FP_STATUS].val;
	uint32_t n = st->prop[FP_STATUS].len;

	return !v || fdt_str_is(v, n, "okay") || fdt_str_is(v, n, "ok");
}

/* A single u32 property; what names it in the message. */
static int fdt_u32(const struct fdt_cursor *cur, const uint8_t *val, uint32_t len,
		   const char *what, uint32_t *v)
{
	if (len != 4) {
		snprintf(cur->err, cur->errlen, "FDT %s: %s has length %u, expected 4",
			 fdt_path(cur), what, (unsigned)len);
		return -1;
	}
	*v = fdt_be32(val);
	return 0;
}

/* /memory* or device_type "memory" under the root: every reg entry is a RAM bank. */
static int fdt_handle_memory(struct fdt_state *st, const struct fdt_cursor *cur)
{
	struct platform *out = st->out;
	uint32_t count = 1;

	if (!st->prop[FP_REG].val)
		return 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t base, size;
		if (fdt_reg(st, cur, i, false, &count, &base, &size) < 0)
			return -1;
		if (size == 0 || out->nmem == PLATFORM_MAX_MEM)
			continue;
		out->mem[out->nmem].base = base;
		out->mem[out->nmem].size = size;
		out->nmem++;
	}
	return 0;
}

/* A child of /reserved-memory with a reg: every entry is reserved. */
static int fdt_handle_reserved(struct fdt_state *st, const struct fdt_cursor *cur)
{
	uint32_t count = 1;

	if (!st->prop[FP_REG].val)
		return 0;	/* dynamically placed (size/alloc-ranges): not ours to keep */
	for (uint32_t i = 0; i < count; i++) {
		uint64_t base, size;
		if (fdt_reg(st, cur, i, true, &count, &base, &size) < 0 ||
		    fdt_add_rsv(st->out, base, size, fdt_path(cur), cur->err, cur->errlen) < 0)
			return -1;
	}
	return 0;
}

/* /cpus/cpu@N with device_type "cpu": reg is the MPIDR (affinity fields only). */
static int fdt_handle_cpu(struct fdt_state *st, const struct fdt_cursor *cur)
{
	struct platform *out = st->out;
	uint32_t count = 0;
	uint64_t mpidr = 0, size;

	if (!st->prop[FP_REG].val) {
		snprintf(cur->err, cur->errlen, "FDT %s: cpu has no reg", fdt_path(cur));
		return -1;
	}
	if (fdt_reg(st, cur, 0, false, &count, &mpidr, &size) < 0)
		return -1;
	if (mpidr & ~MPIDR_AFF_MASK) {
		snprintf(cur->err, cur->errlen,
			 "FDT %s: reg 0x%llx has bits outside the MPIDR affinity fields",
			 fdt_path(cur), (unsigned long long)mpidr);
		return -1;
	}
	for (uint32_t i = 0; i < out->ncpus; i++) {
		if (out->cpus[i].hwid == mpidr) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: reg 0x%llx is the MPIDR of an earlier cpu too",
				 fdt_path(cur), (unsigned long long)mpidr);
			return -1;
		}
	}
	uint32_t uid = st->ncpu_nodes++;
	if (out->ncpus == PLATFORM_MAX_CPUS) {
		out->ncpus_dropped++;
		return 0;
	}
	struct platform_cpu *c = &out->cpus[out->ncpus++];
	c->hwid = mpidr;
	c->uid = uid;
	c->enabled = fdt_status_ok(st);
	c->online_capable = false;
	return 0;
}

/* The ARMv8 generic timer: PPIs from interrupts (3 cells each), clock-frequency. */
static int fdt_handle_timer(struct fdt_state *st, const struct fdt_cursor *cur)
{
	const uint8_t *v = st->prop[FP_INTERRUPTS].val;
	uint32_t len = st->prop[FP_INTERRUPTS].len;
	uint32_t intid[3];

	if (!v || len % 12 != 0 || len < 36) {
		snprintf(cur->err, cur->errlen,
			 "FDT %s: interrupts length %u is not 3 or more triples of cells",
			 fdt_path(cur), (unsigned)len);
		return -1;
	}
	/* secure physical, non-secure physical, virtual, (hypervisor...) */
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t type = fdt_be32(v + 12 * i), num = fdt_be32(v + 12 * i + 4);
		if (type != 1 || num > 15) {
			snprintf(cur->err, cur->errlen,
				 "FDT %s: interrupts entry %u (type %u, number %u) is not a PPI",
				 fdt_path(cur), (unsigned)i, (unsigned)type, (unsigned)num);
			return -1;
		}
		intid[i] = num + 16;
	}
	uint32_t freq = 0;
	if (st->prop[FP_CLOCK_FREQUENCY].val &&
	    fdt_u32(cur, st->prop[FP_CLOCK_FREQUENCY].val, st->prop[FP_CLOCK_FREQUENCY].len,
		    "clock-frequency", &freq) < 0)
		return -1;
	st->out->timer_irq_phys = intid[1];
	st->out->timer_irq_virt = intid[2];
	st->out->timer_freq = freq;
	st->have_timer = true;
	return 0;
}

/*
 * The PL011's receive interrupt, after the walk: its first interrupts triple, which
 * must be an SPI (GIC binding: type 0, number, flags; flags 1 rising edge, 2 falling
 * edge, 4 level high, 8 level low). No interrupts property: no input (have_uart_irq
 * stays false). Its interrupt parent (its own interrupt-parent, else the nearest
 * ancestor's) must be the GIC, the one controller the kernel drives: another one (a
 * secondary controller, a nexus) leaves the console without input and says why in
 * uart_irq_missing, and its cells are not read (their format is that controller's).
 * No interrupt-parent anywhere above it: the GIC. An interrupts-extended property wins
 * over both (the devicetree specification's rule): its first entry's phandle is the
 * parent, and for the GIC its next three cells are the triple (later entries, for
 * other parents or more interrupts, are not read).
 */
static int fdt_uart_irq(struct fdt_state *st, char *err, size_t errlen)
{
	struct platform *out = st->out;
	const uint8_t *v = st->uart_irq_val;
	uint32_t len = st->uart_irq_len;

	out->have_uart_irq = false;
	if (!out->have_uart || !v)
		return 0;
	if (st->uart_irq_ext) {
		if (len < 4 || len % 4 != 0) {
			snprintf(err, errlen, "FDT %s: interrupts-extended length %u is not a phandle "
				 "and whole cells", st->uart_path, (unsigned)len);
			return -1;
		}
		if (fdt_be32(v) == 0) {
			snprintf(err, errlen, "FDT %s: interrupts-extended names phandle 0",
				 st->uart_path);
			return -1;
		}
	}
	if (st->uart_irq_parent && st->uart_irq_parent != st->gic_phandle) {
		if (st->gic_phandle)
			snprintf(out->uart_irq_missing, sizeof out->uart_irq_missing,
				 "its interrupt parent (phandle 0x%x) is not the GIC (0x%x)",
				 (unsigned)st->uart_irq_parent, (unsigned)st->gic_phandle);
		else
			snprintf(out->uart_irq_missing, sizeof out->uart_irq_missing,
				 "its interrupt parent (phandle 0x%x) is not the GIC (which has no phandle)",
				 (unsigned)st->uart_irq_parent);
		return 0;
	}
	if (st->uart_irq_ext) {
		if (len < 16) {
			snprintf(err, errlen, "FDT %s: interrupts-extended gives the GIC %u cells, "
				 "not 3", st->uart_path, (unsigned)(len / 4 - 1));
			return -1;
		}
		v += 4;
		len = 12;
	}
	if (len == 0 || len % 12 != 0) {
		snprintf(err, errlen, "FDT %s: interrupts length %u is not a multiple of 3 cells",
			 st->uart_path, (unsigned)len);
		return -1;
	}
	uint32_t type = fdt_be32(v), num = fdt_be32(v + 4), flags = fdt_be32(v + 8) & 0xf;
	if (type != 0 || num > 987) {
		snprintf(err, errlen, "FDT %s: interrupts (type %u, number %u) is not an SPI",
			 st->uart_path, (unsigned)type, (unsigned)num);
		return -1;
	}
	if (flags != 1 && flags != 2 && flags != 4 && flags != 8) {
		snprintf(err, errlen, "FDT %s: interrupts flags 0x%x are not one trigger (1, 2, 4 or 8)",
			 st->uart_path, (unsigned)flags);
		return -1;
	}
	out->uart_irq = (struct arch_irq_line){ num, flags >= 4, flags == 2 || flags == 8 };
	out->have_uart_irq = true;
	return 0;
}

/* PSCI: the conduit (method) and the CPU_ON function id. */
static int fdt_handle_psci(struct fdt_state *st, const struct fdt_cursor *cur,
			   bool v0_2)
{
	const uint8_t *m = st->prop[FP_METHOD].val;
	uint32_t mlen = st->prop[FP_METHOD].len;
	enum psci_conduit conduit;
	uint32_t cpu_on = PSCI_0_2_CPU_ON_64;

	if (fdt_str_is(m, mlen, "hvc")) {
		conduit = PSCI_HVC;
	} else if (fdt_str_is(m, mlen, "smc")) {
		conduit = PSCI_SMC;
	} else {
		char shown[16];

		fdt_copy_printable(shown, sizeof shown, m ? m : (const uint8_t *)"", m ? mlen : 0);
		snprintf(cur->err, cur->errlen, "FDT %s: method '%s' is neither hvc nor smc",
			 fdt_path(cur), shown);
		return -1;
	}
	if (!v0_2) {
		if (!st->prop[FP_CPU_ON].val) {
			snprintf(cur->err, cur->errlen, "FDT %s: PSCI 0.1 without cpu_on",
				 fdt_path(cur));
			return -1;
		}
		if (fdt_u32(cur, st->prop[FP_CPU_ON].val, st->prop[FP_CPU_ON].len, "cpu_on",
			    &cpu_on) < 0)
			return -1;
	}
	st->out->psci = conduit;
	st->out->psci_cpu_on = cpu_on;
	return 0;
}

/* Devices found by compatible, anywhere in the tree, if enabled. */
static int fdt_handle_compatible(struct fdt_state *st, const struct fdt_cursor *cur)
{
	struct platform *out = st->out;
	const uint8_t *c = st->prop[FP_COMPATIBLE].val;
	uint32_t n = st->prop[FP_COMPATIBLE].len;

	if (!c || cur->depth == 0 || !fdt_status_ok(st))
		return 0;
	if (out->gic_version == 0) {
		uint32_t version = 0;
		if (fdt_strlist_has(c, n, "arm,gic-v3"))
			version = 3;
		else if (fdt_strlist_has(c, n, "arm,cortex-a15-gic") ||
			 fdt_strlist_has(c, n, "arm,gic-400") ||
			 fdt_strlist_has(c, n, "arm,cortex-a7-gic"))
			version = 2;
		if (version) {
			struct platform_range r[2];
			if (fdt_reg_ranges(st, cur, r, 2, "GIC") < 0)
				return -1;
			out->gic_version = version;
			out->gicd = r[0];
			out->gicr = r[1];
			int ph = st->prop[FP_PHANDLE].val ? FP_PHANDLE : FP_LINUX_PHANDLE;
			if (st->prop[ph].val && st->prop[ph].len == 4)
				st->gic_phandle = fdt_be32(st->prop[ph].val);
			return 0;
		}
	}
	if (!st->have_timer && fdt_strlist_has(c, n, "arm,armv8-timer"))
		return fdt_handle_timer(st, cur);
	if (out->psci == PSCI_NONE) {
		bool v0_2 = fdt_strlist_has(c, n, "arm,psci-0.2") ||
			    fdt_strlist_has(c, n, "arm,psci-1.0");
		if (v0_2 || fdt_strlist_has(c, n, "arm,psci"))
			return fdt_handle_psci(st, cur, v0_2);
	}
	if (!st->uart_is_stdout && fdt_strlist_has(c, n, "arm,pl011")) {
		bool is_stdout = st->stdout_path &&
				 fdt_path_is(cur, st->stdout_path, st->stdout_pathlen);
		if (out->have_uart && !is_stdout)
			return 0;
		if (fdt_reg_ranges(st, cur, &out->uart, 1, "PL011") < 0)
			return -1;
		out->have_uart = true;
		st->uart_is_stdout = is_stdout;
		st->uart_irq_ext = st->prop[FP_INTERRUPTS_EXTENDED].val != NULL;
		if (st->uart_irq_ext) {
			st->uart_irq_val = st->prop[FP_INTERRUPTS_EXTENDED].val;
			st->uart_irq_len = st->prop[FP_INTERRUPTS_EXTENDED].len;
			st->uart_irq_parent = st->uart_irq_len >= 4 ? fdt_be32(st->uart_irq_val) : 0;
		} else {
			st->uart_irq_val = st->prop[FP_INTERRUPTS].val;
			st->uart_irq_len = st->prop[FP_INTERRUPTS].len;
			st->uart_irq_parent = st->lv[cur->depth].irq_parent;
		}
		snprintf(st->uart_path, sizeof st->uart_path, "%s", fdt_path(cur));
	}
	return 0;
}

/* Visitor: the current node's properties are complete; take what we need from it. */
static int fdt_extract_done(void *arg, const struct fdt_cursor *cur)
{
	struct fdt_state *st = arg;
	struct platform *out = st->out;
	const struct fdt_level *l = &st->lv[cur->depth];
	const struct fdt_level *parent = cur->depth > 0 ? &st->lv[cur->depth - 1] : NULL;
	const uint8_t *dt = st->prop[FP_DEVICE_TYPE].val;
	uint32_t dtlen = st->prop[FP_DEVICE_TYPE].len;

	if (l->kind == FK_ROOT && st->prop[FP_MODEL].val)
		fdt_copy_printable(out->model, sizeof out->model, st->prop[FP_MODEL].val,
				   st->prop[FP_MODEL].len);
	if (l->kind == FK_CHOSEN && st->prop[FP_BOOTARGS].val) {
		uint32_t n = st->prop[FP_BOOTARGS].len;
		const uint8_t *v = st->prop[FP_BOOTARGS].val;
		uint32_t i;
		for (i = 0; i < n && i + 1 < sizeof out->bootargs && v[i]; i++)
			out->bootargs[i] = (char)v[i];
		out->bootargs[i] = '\0';
	}
	if (cur->depth == 1 && fdt_status_ok(st) &&
	    (fdt_str_is(dt, dtlen, "memory") || (!dt && l->kind == FK_MEMORY_NAME)))
		if (fdt_handle_memory(st, cur) < 0)
			return -1;
	if (parent && parent->kind == FK_RESERVED_MEMORY && fdt_status_ok(st))
		if (fdt_handle_reserved(st, cur) < 0)
			return -1;
	if (parent && parent->kind == FK_CPUS && fdt_str_is(dt, dtlen, "cpu"))
		if (fdt_handle_cpu(st, cur) < 0)
			return -1;
	return fdt_handle_compatible(st, cur);
}

/* Header, reservation map, stdout-path walk, extracting walk (see fdt.h). */
int fdt_parse(const void *blob, size_t avail, struct platform *out, char *err,
	      size_t errlen)
{
	static const struct fdt_visitor extract = {
		.begin = fdt_extract_begin,
		.prop = fdt_extract_prop,
		.done = fdt_extract_done,
	};
	char scratch[1];
	struct fdt_blob fb;
	struct fdt_cursor cur;
	struct fdt_state st;

	if (!err || errlen == 0) {
		err = scratch;
		errlen = sizeof scratch;
	}
	err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!blob || fdt_check_header(blob, avail, &fb, err, errlen) < 0 ||
	    fdt_parse_rsvmap(&fb, out, err, errlen) < 0) {
		if (!blob)
			snprintf(err, errlen, "FDT: no blob");
		return -1;
	}
	cur.err = err;
	cur.errlen = errlen;
	memset(&st, 0, sizeof st);
	st.out = out;
	if (fdt_stdout_path(&fb, &cur, &st.stdout_path, &st.stdout_pathlen) < 0 ||
	    fdt_walk(&fb, &extract, &st, &cur) < 0 || fdt_uart_irq(&st, err, errlen) < 0)
		return -1;
	if (out->ncpus == 0) {
		snprintf(err, errlen, "FDT /cpus: no cpu node with device_type \"cpu\"");
		return -1;
	}
	return 0;
}
