/*
 * arch/host/dtb.c: the hosted machine, described as a flattened device tree.
 *
 * The kernel discovers its hardware, it never assumes it (DESIGN.md "Boot"): on the
 * host, the "firmware" (main.c) writes a device tree into physical memory and passes
 * it in the bootinfo, and the kernel's own parser (kernel/fdt.c, by way of
 * platform_init_dtb) reads the CPUs from it, as on aarch64:
 *
 *   / { #address-cells = <2>; #size-cells = <2>; model = "...";
 *       memory@100000 { device_type = "memory"; reg = <base size>; };
 *       cpus { #address-cells = <1>; #size-cells = <0>;
 *              cpu@N { device_type = "cpu"; reg = <N>; }; ... }; };
 *
 * No interrupt controller, timer, UART or PSCI node: the host has none of them (its
 * interrupts, timer and console are signals and stdout, arch/host). The memory node
 * repeats what the bootinfo's memory map says; the kernel takes the map.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "host.h"

#define FDT_MAGIC	0xd00dfeedu
#define FDT_HEADER_LEN	40u
#define FDT_BEGIN_NODE	1u
#define FDT_END_NODE	2u
#define FDT_PROP	3u
#define FDT_END		9u

struct fdt_writer {
	uint8_t st[8192];	/* structure block */
	size_t stlen;
	char strings[256];	/* strings block */
	size_t strlen;
	bool overflow;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void emit(struct fdt_writer *w, const void *data, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	if (w->stlen + padded > sizeof(w->st)) {
		w->overflow = true;
		return;
	}
	memcpy(w->st + w->stlen, data, n);
	memset(w->st + w->stlen + n, 0, padded - n);
	w->stlen += padded;
}

static void emit_u32(struct fdt_writer *w, uint32_t v)
{
	uint8_t b[4];
	put_be32(b, v);
	emit(w, b, 4);
}

static uint32_t string_off(struct fdt_writer *w, const char *name)
{
	for (size_t off = 0; off < w->strlen; off += strlen(w->strings + off) + 1)
		if (strcmp(w->strings + off, name) == 0)
			return (uint32_t)off;
	size_t n = strlen(name) + 1;
	if (w->strlen + n > sizeof(w->strings)) {
		w->overflow = true;
		return 0;
	}
	memcpy(w->strings + w->strlen, name, n);
	w->strlen += n;
	return (uint32_t)(w->strlen - n);
}

static void begin_node(struct fdt_writer *w, const char *name)
{
	emit_u32(w, FDT_BEGIN_NODE);
	emit(w, name, strlen(name) + 1);
}

static void prop(struct fdt_writer *w, const char *name, const void *val, size_t len)
{
	emit_u32(w, FDT_PROP);
	emit_u32(w, (uint32_t)len);
	emit_u32(w, string_off(w, name));
	emit(w, val, len);
}

static void prop_str(struct fdt_writer *w, const char *name, const char *s)
{
	prop(w, name, s, strlen(s) + 1);
}

static void prop_cells(struct fdt_writer *w, const char *name, const uint32_t *cells, unsigned n)
{
	uint8_t b[16];
	for (unsigned i = 0; i < n && i < 4; i++)
		put_be32(b + 4 * i, cells[i]);
	prop(w, name, b, 4 * n);
}

/*
 * Write the tree for ncpus CPUs (hwid = index) and RAM [mem_base, mem_base+mem_size)
 * into dst (cap bytes). Returns its size, or 0 if it does not fit.
 */
size_t host_dtb_build(void *dst, size_t cap, unsigned ncpus, uint64_t mem_base, uint64_t mem_size,
		      const char *model)
{
	static struct fdt_writer w;	/* boot CPU, once: no need for it on the stack */
	char name[32];

	memset(&w, 0, sizeof(w));
	begin_node(&w, "");
	prop_cells(&w, "#address-cells", (const uint32_t[]){ 2 }, 1);
	prop_cells(&w, "#size-cells", (const uint32_t[]){ 2 }, 1);
	prop_str(&w, "model", model);
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)mem_base);
	begin_node(&w, name);
	prop_str(&w, "device_type", "memory");
	prop_cells(&w, "reg", (const uint32_t[]){ (uint32_t)(mem_base >> 32), (uint32_t)mem_base,
						 (uint32_t)(mem_size >> 32), (uint32_t)mem_size }, 4);
	emit_u32(&w, FDT_END_NODE);
	begin_node(&w, "cpus");
	prop_cells(&w, "#address-cells", (const uint32_t[]){ 1 }, 1);
	prop_cells(&w, "#size-cells", (const uint32_t[]){ 0 }, 1);
	for (unsigned i = 0; i < ncpus; i++) {
		snprintf(name, sizeof(name), "cpu@%x", i);
		begin_node(&w, name);
		prop_str(&w, "device_type", "cpu");
		prop_cells(&w, "reg", (const uint32_t[]){ i }, 1);
		emit_u32(&w, FDT_END_NODE);
	}
	emit_u32(&w, FDT_END_NODE);
	emit_u32(&w, FDT_END_NODE);
	emit_u32(&w, FDT_END);

	size_t off_rsv = FDT_HEADER_LEN, off_st = off_rsv + 16, off_str = off_st + w.stlen;
	size_t total = off_str + w.strlen;
	if (w.overflow || total > cap)
		return 0;
	uint8_t *b = dst;
	memset(b, 0, total);
	put_be32(b + 0, FDT_MAGIC);
	put_be32(b + 4, (uint32_t)total);
	put_be32(b + 8, (uint32_t)off_st);
	put_be32(b + 12, (uint32_t)off_str);
	put_be32(b + 16, (uint32_t)off_rsv);
	put_be32(b + 20, 17);			/* version */
	put_be32(b + 24, 16);			/* last compatible version */
	put_be32(b + 28, 0);			/* boot CPU's physical id */
	put_be32(b + 32, (uint32_t)w.strlen);
	put_be32(b + 36, (uint32_t)w.stlen);
	/* the reservation map is one terminating {0, 0} entry: already zero */
	memcpy(b + off_st, w.st, w.stlen);
	memcpy(b + off_str, w.strings, w.strlen);
	return total;
}
