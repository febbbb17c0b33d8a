/*
 * tests/host/test_fdt.c: host tests of the device tree parser (kernel/fdt.c).
 *
 * Two sources of trees: real ones (tests/host/data: QEMU virt with GICv3 and GICv2,
 * dumped by QEMU itself, and synthetic.dts for what QEMU does not describe), and
 * small ones built here token by token (struct fdtb) so that each malformation is
 * exactly the one under test. Every malformed input must give -1 and a message
 * that names the node or the header field; nothing may read outside the blob,
 * which ASan checks because each blob is copied into an allocation of its exact
 * size (and at an odd address, for the unaligned-access checks of UBSan).
 */
#define HTEST_SUITE "fdt"
#include "hosttest.h"
#include "xorshift.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/fdt.h>

static struct platform pf;
static char err[PLATFORM_ERR_MAX];

/* ---- blobs -------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Parse a copy of blob in an exact-size allocation at an odd address. */
static int parse_copy(const void *blob, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	int r;

	memcpy(buf + 1, blob, len);
	r = fdt_parse(buf + 1, len, &pf, err, sizeof err);
	HEXPECT(memchr(err, '\0', sizeof err) != NULL);
	if (r < 0)
		HEXPECT(err[0] != '\0');
	free(buf);
	return r;
}

/* A fixture from tests/host/data; the test fails (and ends) if it is missing. */
static uint8_t *fixture(const char *name, size_t *len)
{
	uint8_t *b = htest_read_data(name, len);

	HREQUIRE(b != NULL);
	return b;
}

/* ---- a builder for small trees ----------------------------------------------- */

struct fdtb {
	uint8_t st[1 << 16];
	size_t stlen;
	char strs[4096];
	size_t strslen;
	uint8_t rsv[1024];
	size_t rsvlen;
	uint8_t out[1 << 17];
	size_t outlen;
};

static struct fdtb B;

static void b_reset(void)
{
	memset(&B, 0, sizeof B);
}

static void b_u32(uint32_t v)
{
	HREQUIRE(B.stlen + 4 <= sizeof B.st);
	put_be32(B.st + B.stlen, v);
	B.stlen += 4;
}

static void b_begin(const char *name)
{
	size_t n = strlen(name) + 1;

	b_u32(1);
	HREQUIRE(B.stlen + n + 4 <= sizeof B.st);
	memcpy(B.st + B.stlen, name, n);
	B.stlen += (n + 3) & ~(size_t)3;
}

static void b_end(void)
{
	b_u32(2);
}

static uint32_t b_string(const char *s)
{
	size_t n = strlen(s) + 1;
	uint32_t off = (uint32_t)B.strslen;

	HREQUIRE(B.strslen + n <= sizeof B.strs);
	memcpy(B.strs + B.strslen, s, n);
	B.strslen += n;
	return off;
}

static void b_prop(const char *name, const void *val, uint32_t len)
{
	b_u32(3);
	b_u32(len);
	b_u32(b_string(name));
	HREQUIRE(B.stlen + len + 4 <= sizeof B.st);
	if (len)
		memcpy(B.st + B.stlen, val, len);
	B.stlen += (len + 3) & ~(uint32_t)3;
}

static void b_prop_str(const char *name, const char *s)
{
	b_prop(name, s, (uint32_t)strlen(s) + 1);
}

/* A property of n u32 cells. */
static void b_prop_cells(const char *name, int n, ...)
{
	uint8_t v[256];
	va_list ap;

	HREQUIRE(n * 4 <= (int)sizeof v);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		put_be32(v + 4 * i, va_arg(ap, uint32_t));
	va_end(ap);
	b_prop(name, v, (uint32_t)(4 * n));
}

static void b_memreserve(uint64_t base, uint64_t size)
{
	HREQUIRE(B.rsvlen + 16 <= sizeof B.rsv);
	put_be32(B.rsv + B.rsvlen, (uint32_t)(base >> 32));
	put_be32(B.rsv + B.rsvlen + 4, (uint32_t)base);
	put_be32(B.rsv + B.rsvlen + 8, (uint32_t)(size >> 32));
	put_be32(B.rsv + B.rsvlen + 12, (uint32_t)size);
	B.rsvlen += 16;
}

/* Lay out header, reservation map (terminated), structure (+FDT_END), strings. */
static size_t b_finish(void)
{
	b_u32(9);
	size_t off_rsv = 40, off_st = off_rsv + B.rsvlen + 16;
	size_t off_str = off_st + B.stlen, total = off_str + B.strslen;

	HREQUIRE(total <= sizeof B.out);
	memset(B.out, 0, total);
	put_be32(B.out + 0, FDT_MAGIC);
	put_be32(B.out + 4, (uint32_t)total);
	put_be32(B.out + 8, (uint32_t)off_st);
	put_be32(B.out + 12, (uint32_t)off_str);
	put_be32(B.out + 16, (uint32_t)off_rsv);
	put_be32(B.out + 20, 17);
	put_be32(B.out + 24, 16);
	put_be32(B.out + 32, (uint32_t)B.strslen);
	put_be32(B.out + 36, (uint32_t)B.stlen);
	memcpy(B.out + off_rsv, B.rsv, B.rsvlen);
	memcpy(B.out + off_st, B.st, B.stlen);
	memcpy(B.out + off_str, B.strs, B.strslen);
	B.outlen = total;
	return total;
}

static int b_parse(void)
{
	b_finish();
	return parse_copy(B.out, B.outlen);
}

/* Root properties (#address-cells 2, #size-cells 2, an interrupt-parent unless 0)
 * and a /cpus with n CPUs. */
static void b_root_with_cpus_parent(int n, uint32_t irq_parent)
{
	b_begin("");
	b_prop_cells("#address-cells", 1, 2);
	b_prop_cells("#size-cells", 1, 2);
	if (irq_parent)
		b_prop_cells("interrupt-parent", 1, irq_parent);
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "cpu@%x", i);
		b_begin(name);
		b_prop_str("device_type", "cpu");
		b_prop_cells("reg", 1, i);
		b_end();
	}
	b_end();
}

static void b_root_with_cpus(int n)
{
	b_root_with_cpus_parent(n, 0);
}

/* ---- the real trees ------------------------------------------------------------ */

HTEST(qemu_virt_gicv3)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	HREQUIRE_EQ(parse_copy(b, len), 0);
	HEXPECT_STREQ(err, "");
	HEXPECT_EQ(pf.ncpus, 4);
	HEXPECT_EQ(pf.ncpus_dropped, 0);
	for (uint32_t i = 0; i < 4; i++) {
		HEXPECT_EQ(pf.cpus[i].hwid, i);
		HEXPECT_EQ(pf.cpus[i].uid, i);
		HEXPECT(pf.cpus[i].enabled);
	}
	HEXPECT_EQ(pf.gic_version, 3);
	HEXPECT_EQ(pf.gicd.base, 0x08000000);
	HEXPECT_EQ(pf.gicd.size, 0x10000);
	HEXPECT_EQ(pf.gicr.base, 0x080a0000);
	HEXPECT_EQ(pf.gicr.size, 0xf60000);
	HEXPECT(pf.have_uart);
	HEXPECT_EQ(pf.uart.base, 0x09000000);
	HEXPECT_EQ(pf.uart.size, 0x1000);
	HEXPECT(pf.have_uart_irq);		/* interrupts = <0 1 4>: SPI 1, level high */
	HEXPECT_EQ(pf.uart_irq.num, 1);
	HEXPECT(pf.uart_irq.level);
	HEXPECT(!pf.uart_irq.active_low);
	HEXPECT_EQ(pf.psci, PSCI_HVC);
	HEXPECT_EQ(pf.psci_cpu_on, 0xc4000003);
	HEXPECT_EQ(pf.nmem, 1);
	HEXPECT_EQ(pf.mem[0].base, 0x40000000);
	HEXPECT_EQ(pf.mem[0].size, 512u << 20);
	HEXPECT_EQ(pf.nrsv, 0);
	HEXPECT_EQ(pf.timer_irq_phys, 30);	/* PPI 14 */
	HEXPECT_EQ(pf.timer_irq_virt, 27);	/* PPI 11 */
	HEXPECT_EQ(pf.timer_freq, 0);
	HEXPECT_STREQ(pf.model, "linux,dummy-virt");
	HEXPECT_STREQ(pf.bootargs, "tests=all console=ttyAMA0");
	HEXPECT_EQ(fdt_totalsize(b), len);
	free(b);
}

HTEST(qemu_virt_gicv2)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv2.dtb", &len);

	HREQUIRE_EQ(parse_copy(b, len), 0);
	HEXPECT_EQ(pf.ncpus, 4);
	HEXPECT_EQ(pf.gic_version, 2);
	HEXPECT_EQ(pf.gicd.base, 0x08000000);
	HEXPECT_EQ(pf.gicd.size, 0x10000);
	HEXPECT_EQ(pf.gicr.base, 0x08010000);	/* GICv2: the CPU interface */
	HEXPECT_EQ(pf.gicr.size, 0x10000);
	HEXPECT_EQ(pf.uart.base, 0x09000000);
	HEXPECT_EQ(pf.psci, PSCI_HVC);
	HEXPECT_STREQ(pf.bootargs, "");
	free(b);
}

HTEST(synthetic_board)
{
	size_t len;
	uint8_t *b = fixture("synthetic.dtb", &len);

	HREQUIRE_EQ(parse_copy(b, len), 0);
	HEXPECT_STREQ(err, "");
	HEXPECT_STREQ(pf.model, "gort synthetic board");
	HEXPECT_STREQ(pf.bootargs, "smp=2 tests=\"a b\"");
	HREQUIRE_EQ(pf.ncpus, 4);
	HEXPECT_EQ(pf.cpus[0].hwid, 0);
	HEXPECT_EQ(pf.cpus[1].hwid, 0x100);
	HEXPECT_EQ(pf.cpus[2].hwid, 0x10000);
	HEXPECT(!pf.cpus[2].enabled);		/* status = "disabled" */
	HEXPECT_EQ(pf.cpus[3].hwid, 0x100000000ull);	/* Aff3 = 1 */
	HEXPECT(pf.cpus[0].enabled && pf.cpus[1].enabled && pf.cpus[3].enabled);
	HEXPECT_EQ(pf.cpus[3].uid, 3);
	HREQUIRE_EQ(pf.nmem, 2);		/* memory@0 is disabled */
	HEXPECT_EQ(pf.mem[0].base, 0x80000000);
	HEXPECT_EQ(pf.mem[0].size, 0x40000000);
	HEXPECT_EQ(pf.mem[1].base, 0x800000000ull);
	HEXPECT_EQ(pf.mem[1].size, 0x40000000);
	HREQUIRE_EQ(pf.nrsv, 2);		/* /memreserve/, tee; not dynamic, not off */
	HEXPECT_EQ(pf.rsv[0].base, 0x48000000);
	HEXPECT_EQ(pf.rsv[0].size, 0x10000);
	HEXPECT_EQ(pf.rsv[1].base, 0x8e000000);
	HEXPECT_EQ(pf.rsv[1].size, 0x2000000);
	HEXPECT_EQ(pf.psci, PSCI_SMC);
	HEXPECT_EQ(pf.psci_cpu_on, 0x95c1ba60);
	HEXPECT_EQ(pf.timer_irq_phys, 30);
	HEXPECT_EQ(pf.timer_irq_virt, 27);
	HEXPECT_EQ(pf.timer_freq, 62500000);
	HEXPECT_EQ(pf.gic_version, 2);
	HEXPECT_EQ(pf.gicd.base, 0xfe040000);	/* through /soc ranges */
	HEXPECT_EQ(pf.gicd.size, 0x1000);
	HEXPECT_EQ(pf.gicr.base, 0xfe042000);
	HEXPECT_EQ(pf.gicr.size, 0x2000);
	HEXPECT(pf.have_uart);			/* stdout-path = serial1 alias, two levels down */
	HEXPECT_EQ(pf.uart.base, 0xfe800100);
	HEXPECT_EQ(pf.uart.size, 0x100);
	free(b);
}

/* Without a stdout-path the first enabled PL011 wins. */
HTEST(uart_first_enabled_without_stdout_path)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("soc");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 1);
	b_prop("ranges", "", 0);
	b_begin("serial@1000");
	b_prop_str("status", "disabled");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 2, 0x1000, 0x1000);
	b_end();
	b_begin("serial@2000");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 2, 0x2000, 0x1000);
	b_end();
	b_begin("serial@3000");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 2, 0x3000, 0x1000);
	b_end();
	b_end();
	b_end();
	HREQUIRE_EQ(b_parse(), 0);
	HEXPECT(pf.have_uart);
	HEXPECT_EQ(pf.uart.base, 0x2000);
}

HTEST(totalsize_reads_header)
{
	uint8_t h[40] = { 0 };

	HEXPECT_EQ(fdt_totalsize(h), 0);
	put_be32(h, FDT_MAGIC);
	put_be32(h + 4, 0x1234);
	HEXPECT_EQ(fdt_totalsize(h), 0x1234);
}

/* ---- header ------------------------------------------------------------------- */

/* Parse the QEMU tree with the header word at off replaced by v. */
static int parse_with_header(size_t off, uint32_t v)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	put_be32(b + off, v);
	int r = parse_copy(b, len);
	free(b);
	return r;
}

HTEST(header_checks)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	HEXPECT_EQ(fdt_parse(b, 39, &pf, err, sizeof err), -1);
	HEXPECT_STR_HAS(err, "header");
	HEXPECT_EQ(parse_copy(b, len - 1), -1);		/* totalsize > avail */
	HEXPECT_STR_HAS(err, "totalsize");
	HEXPECT_EQ(fdt_parse(NULL, 0, &pf, err, sizeof err), -1);
	free(b);

	HEXPECT_EQ(parse_with_header(0, 0xd00dfeef), -1);
	HEXPECT_STR_HAS(err, "magic");
	HEXPECT_EQ(parse_with_header(4, 39), -1);
	HEXPECT_STR_HAS(err, "totalsize");
	HEXPECT_EQ(parse_with_header(20, 15), -1);
	HEXPECT_STR_HAS(err, "version 15");
	HEXPECT_EQ(parse_with_header(24, 18), -1);
	HEXPECT_STR_HAS(err, "last compatible 18");
	HEXPECT_EQ(parse_with_header(8, 0x3a), -1);		/* unaligned struct */
	HEXPECT_STR_HAS(err, "structure block");
	HEXPECT_EQ(parse_with_header(8, 0xfffffff0), -1);	/* off + size wraps in 32 bits */
	HEXPECT_STR_HAS(err, "structure block");
	HEXPECT_EQ(parse_with_header(36, 0xffffffc8), -1);
	HEXPECT_STR_HAS(err, "structure block");
	HEXPECT_EQ(parse_with_header(12, 0xffffff00), -1);
	HEXPECT_STR_HAS(err, "strings block");
	HEXPECT_EQ(parse_with_header(32, 0xffffffff), -1);
	HEXPECT_STR_HAS(err, "strings block");
	HEXPECT_EQ(parse_with_header(16, 0x24), -1);		/* rsvmap unaligned */
	HEXPECT_STR_HAS(err, "reservation map");
	HEXPECT_EQ(parse_with_header(16, 0x10), -1);		/* rsvmap inside the header */
	HEXPECT_STR_HAS(err, "reservation map");
	HEXPECT_EQ(parse_with_header(16, 0xfffffff8), -1);
	HEXPECT_STR_HAS(err, "reservation map");
}

/* Version 16 has no size_dt_struct: the block runs to totalsize. */
HTEST(version_16_header)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	put_be32(b + 20, 16);
	put_be32(b + 36, 0xdeadbeef);
	HEXPECT_EQ(parse_copy(b, len), 0);
	HEXPECT_EQ(pf.ncpus, 4);
	free(b);
}

/* Every shorter structure block cuts FDT_END off at least: always an error. */
HTEST(struct_block_truncated_everywhere)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);
	uint32_t full = get_be32(b + 36);
	int ok = 0;

	for (uint32_t s = 0; s < full; s++) {
		put_be32(b + 36, s);
		ok += parse_copy(b, len) == 0;
	}
	HEXPECT_EQ(ok, 0);
	put_be32(b + 36, full);
	HEXPECT_EQ(parse_copy(b, len), 0);
	free(b);
}

/* Every shorter strings block leaves a name unterminated or out of range. */
HTEST(strings_block_truncated_everywhere)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);
	uint32_t full = get_be32(b + 32);
	int ok = 0;

	for (uint32_t s = 0; s < full; s++) {
		put_be32(b + 32, s);
		ok += parse_copy(b, len) == 0;
	}
	HEXPECT_EQ(ok, 0);
	HEXPECT_STR_HAS(err, "strings");
	free(b);
}

/* A blob cut short (with totalsize fixed up to match) is an error, never a read past it. */
HTEST(blob_truncated_everywhere)
{
	size_t len;
	uint8_t *b = fixture("synthetic.dtb", &len);
	int ok = 0;

	for (size_t n = 40; n < len; n++) {
		put_be32(b + 4, (uint32_t)n);
		ok += parse_copy(b, n) == 0;
	}
	HEXPECT_EQ(ok, 0);
	free(b);
}

/* ---- memory reservation map ---------------------------------------------------- */

HTEST(memreserve_entries)
{
	b_reset();
	b_memreserve(0x1000, 0x2000);
	b_memreserve(0x5000, 0);		/* empty: ignored */
	b_memreserve(0x9000, 0x1000);
	b_root_with_cpus(1);
	b_end();
	HREQUIRE_EQ(b_parse(), 0);
	HREQUIRE_EQ(pf.nrsv, 2);
	HEXPECT_EQ(pf.rsv[0].base, 0x1000);
	HEXPECT_EQ(pf.rsv[1].base, 0x9000);
}

HTEST(memreserve_unterminated)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	/* Point the map at the last 16-byte-aligned... 8-aligned spot: no terminator after it. */
	put_be32(b + 16, (uint32_t)((len - 8) & ~7u));
	HEXPECT_EQ(parse_copy(b, len), -1);
	HEXPECT_STR_HAS(err, "reservation map");
	free(b);
}

HTEST(memreserve_wraps)
{
	b_reset();
	b_memreserve(0xfffffffffffff000ull, 0x2000);
	b_root_with_cpus(1);
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "/memreserve/");
	HEXPECT_STR_HAS(err, "wraps");
}

HTEST(too_many_reserved_regions)
{
	b_reset();
	for (int i = 0; i <= PLATFORM_MAX_RSV; i++)
		b_memreserve(0x100000ull * (uint64_t)(i + 1), 0x1000);
	b_root_with_cpus(1);
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "reserved memory regions");
}

/* ---- the structure block ---------------------------------------------------------- */

HTEST(minimal_tree)
{
	b_reset();
	b_root_with_cpus(2);
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.ncpus, 2);
	HEXPECT_EQ(pf.gic_version, 0);
	HEXPECT(!pf.have_uart);
	HEXPECT_EQ(pf.psci, PSCI_NONE);
}

HTEST(no_cpus_is_an_error)
{
	b_reset();
	b_begin("");
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "/cpus");
}

HTEST(depth_limit)
{
	/* Exactly FDT_MAX_DEPTH deep: fine. */
	b_reset();
	b_root_with_cpus(1);
	for (int i = 0; i < FDT_MAX_DEPTH; i++)
		b_begin("d");
	for (int i = 0; i < FDT_MAX_DEPTH; i++)
		b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);

	/* One more: an error naming the depth. */
	b_reset();
	b_root_with_cpus(1);
	for (int i = 0; i <= FDT_MAX_DEPTH; i++)
		b_begin("d");
	for (int i = 0; i <= FDT_MAX_DEPTH; i++)
		b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "deeper than 32");

	/* A bomb: thousands of BEGIN_NODE, never closed. */
	b_reset();
	b_begin("");
	for (int i = 0; i < 5000; i++)
		b_begin("bomb");
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "deeper than 32");
}

HTEST(long_paths_are_shortened_in_messages)
{
	char name[201];

	memset(name, 'n', 200);
	name[200] = '\0';
	b_reset();
	b_root_with_cpus(1);
	b_begin(name);
	b_begin(name);
	b_begin(name);
	b_prop_cells("#address-cells", 1, 7);	/* bad, only an error when used */
	b_begin("x");
	b_prop_cells("reg", 1, 0);
	b_prop("compatible", "arm,pl011", 10);
	b_end();
	b_end();
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT ...");
	HEXPECT_STR_HAS(err, "nnn/...: #address-cells is not");
	HEXPECT(strlen(err) < 120);
}

HTEST(node_name_unterminated)
{
	b_reset();
	b_root_with_cpus(1);
	b_end();
	b_finish();
	/* Replace FDT_END by BEGIN_NODE and leave no NUL after it: the strings follow. */
	size_t off_st = get_be32(B.out + 8), sz = get_be32(B.out + 36);
	put_be32(B.out + off_st + sz - 4, 1);
	HEXPECT_EQ(parse_copy(B.out, B.outlen), -1);
	HEXPECT(err[0] != '\0');
}

HTEST(property_length_past_end)
{
	b_reset();
	b_begin("");
	b_u32(3);
	b_u32(0x7ffffff0);	/* length */
	b_u32(b_string("compatible"));
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "property length 2147483632");

	b_reset();
	b_begin("");
	b_u32(3);
	b_u32(0xffffffff);
	b_u32(b_string("x"));
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "runs past");
}

HTEST(property_header_cut_off)
{
	b_reset();
	b_begin("");
	b_u32(3);
	b_u32(0);
	b_finish();
	/* size_dt_struct ends right after the length word (drop nameoff and FDT_END). */
	put_be32(B.out + 36, get_be32(B.out + 36) - 4);
	HEXPECT_EQ(parse_copy(B.out, B.outlen), -1);
	HEXPECT_STR_HAS(err, "cut off");
}

HTEST(property_name_offset_out_of_range)
{
	b_reset();
	b_root_with_cpus(1);
	b_u32(3);
	b_u32(0);
	b_u32(0x10000000);
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "name offset 0x10000000 is past the strings block");
}

HTEST(property_name_unterminated)
{
	b_reset();
	b_root_with_cpus(1);
	b_prop_cells("x", 1, 1);
	b_end();
	b_finish();
	/* Strings block ends inside the last name "x": its NUL is cut off. */
	put_be32(B.out + 32, get_be32(B.out + 32) - 1);
	HEXPECT_EQ(parse_copy(B.out, B.outlen), -1);
	HEXPECT_STR_HAS(err, "not terminated");
}

HTEST(property_after_subnode)
{
	b_reset();
	b_root_with_cpus(1);
	b_prop_str("model", "late");
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "property 'model' follows a subnode");
}

HTEST(token_errors)
{
	b_reset();
	b_root_with_cpus(1);
	b_u32(0x77);
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "unknown token 0x77");

	b_reset();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "closes no node");

	b_reset();
	b_root_with_cpus(1);	/* root not closed */
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT_END");

	b_reset();
	b_root_with_cpus(1);
	b_end();
	b_begin("second-root");
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "follows the root");

	b_reset();
	b_prop_cells("x", 1, 1);
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "outside every node");

	b_reset();	/* FDT_NOP anywhere is fine */
	b_u32(4);
	b_root_with_cpus(1);
	b_u32(4);
	b_end();
	b_u32(4);
	HEXPECT_EQ(b_parse(), 0);
}

HTEST(no_fdt_end)
{
	b_reset();
	b_root_with_cpus(1);
	b_end();
	b_finish();
	put_be32(B.out + 36, get_be32(B.out + 36) - 4);
	HEXPECT_EQ(parse_copy(B.out, B.outlen), -1);
	HEXPECT_STR_HAS(err, "without FDT_END");
}

/* ---- properties of the nodes we read ----------------------------------------------- */

HTEST(cpu_reg_not_multiple_of_address_cells)
{
	b_reset();
	b_begin("");
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 2);
	b_prop_cells("#size-cells", 1, 0);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 2, 0, 0);
	b_end();
	b_begin("cpu@1");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 1);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STREQ(err, "FDT /cpus/cpu@1: reg length 4 not a multiple of #address-cells (2)");
}

HTEST(cpu_errors)
{
	/* Same MPIDR twice. */
	b_reset();
	b_begin("");
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	for (int i = 0; i < 2; i++) {
		b_begin(i ? "cpu@1" : "cpu@0");
		b_prop_str("device_type", "cpu");
		b_prop_cells("reg", 1, 0x101);
		b_end();
	}
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /cpus/cpu@1: reg 0x101");

	/* Bits outside the affinity fields. */
	b_reset();
	b_begin("");
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 0x81000000);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "affinity");

	/* No reg. */
	b_reset();
	b_begin("");
	b_begin("cpus");
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /cpus/cpu@0: cpu has no reg");

	/* Bad #address-cells on /cpus. */
	b_reset();
	b_begin("");
	b_begin("cpus");
	b_prop("#address-cells", "\0\0", 2);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 0);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /cpus: #address-cells");
}

HTEST(cpu_overflow_is_counted)
{
	b_reset();
	b_root_with_cpus(PLATFORM_MAX_CPUS + 5);
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.ncpus, PLATFORM_MAX_CPUS);
	HEXPECT_EQ(pf.ncpus_dropped, 5);
	HEXPECT_EQ(pf.cpus[PLATFORM_MAX_CPUS - 1].hwid, PLATFORM_MAX_CPUS - 1);
}

HTEST(memory_nodes)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("memory");			/* by name, no device_type */
	b_prop_cells("reg", 4, 0, 0x1000, 0, 0x1000);
	b_end();
	b_begin("memory@2000");			/* size 0: skipped */
	b_prop_str("device_type", "memory");
	b_prop_cells("reg", 8, 0, 0x2000, 0, 0, 0, 0x3000, 0, 0x100);
	b_end();
	b_begin("ram");				/* by device_type */
	b_prop_str("device_type", "memory");
	b_prop_cells("reg", 4, 1, 0, 1, 0);
	b_end();
	b_begin("memoryx");			/* neither */
	b_prop_cells("reg", 4, 0, 0x9000, 0, 0x1000);
	b_end();
	b_end();
	HREQUIRE_EQ(b_parse(), 0);
	HREQUIRE_EQ(pf.nmem, 3);
	HEXPECT_EQ(pf.mem[0].base, 0x1000);
	HEXPECT_EQ(pf.mem[1].base, 0x3000);
	HEXPECT_EQ(pf.mem[1].size, 0x100);
	HEXPECT_EQ(pf.mem[2].base, 0x100000000ull);
	HEXPECT_EQ(pf.mem[2].size, 0x100000000ull);

	/* Extra banks are dropped, not an error. */
	b_reset();
	b_root_with_cpus(1);
	b_begin("memory@0");
	b_prop_str("device_type", "memory");
	uint8_t reg[16 * (PLATFORM_MAX_MEM + 3)];
	for (int i = 0; i < PLATFORM_MAX_MEM + 3; i++) {
		put_be32(reg + 16 * i, 0);
		put_be32(reg + 16 * i + 4, (uint32_t)(i + 1) << 20);
		put_be32(reg + 16 * i + 8, 0);
		put_be32(reg + 16 * i + 12, 0x1000);
	}
	b_prop("reg", reg, sizeof reg);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.nmem, PLATFORM_MAX_MEM);
}

HTEST(memory_reg_errors)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("memory@0");
	b_prop_str("device_type", "memory");
	b_prop_cells("reg", 3, 0, 0x1000, 0);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /memory@0: reg length 12");

	b_reset();
	b_root_with_cpus(1);
	b_begin("memory@0");
	b_prop_str("device_type", "memory");
	b_prop_cells("reg", 4, 0xffffffff, 0xfffff000, 0, 0x2000);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "wraps around");

	/* #address-cells 3 with a non-zero top cell does not fit 64 bits. */
	b_reset();
	b_begin("");
	b_prop_cells("#address-cells", 1, 3);
	b_prop_cells("#size-cells", 1, 1);
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 0);
	b_end();
	b_end();
	b_begin("memory@0");
	b_prop_str("device_type", "memory");
	b_prop_cells("reg", 4, 1, 0, 0, 0x1000);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "does not fit 64 bits");
}

/* A device under a bus: identity, translated, untranslatable. */
static void b_bus_with_uart(const void *ranges, uint32_t rlen, bool has_ranges, uint32_t reg)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("bus@10000000");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 1);
	if (has_ranges)
		b_prop("ranges", ranges, rlen);
	b_begin("uart@0");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 2, reg, 0x1000);
	b_end();
	b_end();
	b_end();
}

HTEST(ranges_translation)
{
	uint8_t r[40];

	b_bus_with_uart(NULL, 0, true, 0x5000);		/* `ranges;` */
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x5000);

	/* Two ranges: child 0 -> 0x1_0000_0000 (64 KiB), child 0x100000 -> 0x2000_0000. */
	put_be32(r + 0, 0);
	put_be32(r + 4, 1);
	put_be32(r + 8, 0);
	put_be32(r + 12, 0x10000);
	put_be32(r + 16, 0x100000);
	put_be32(r + 20, 0);
	put_be32(r + 24, 0x20000000);
	put_be32(r + 28, 0x100000);
	b_bus_with_uart(r, 32, true, 0x100800);
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x20000800);
	b_bus_with_uart(r, 32, true, 0x2000);
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x100002000ull);

	b_bus_with_uart(r, 32, true, 0xf800);		/* straddles the end of range 0 */
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "outside the ranges of /bus@10000000");

	b_bus_with_uart(r, 28, true, 0x2000);		/* not whole entries */
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /bus@10000000: ranges length 28");

	b_bus_with_uart(NULL, 0, false, 0x2000);	/* no ranges: not memory-mapped */
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /bus@10000000/uart@0: reg cannot be translated");
}

HTEST(gic_needs_two_regions)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("intc@8000000");
	b_prop_str("compatible", "arm,gic-v3");
	b_prop_cells("reg", 4, 0, 0x08000000, 0, 0x10000);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /intc@8000000: reg has 1 entries, the GIC needs 2");

	b_reset();
	b_root_with_cpus(1);
	b_begin("intc@8000000");
	b_prop_str("compatible", "arm,gic-v3");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "has no reg");

	/* Disabled GIC: ignored. */
	b_reset();
	b_root_with_cpus(1);
	b_begin("intc@8000000");
	b_prop_str("compatible", "arm,gic-v3");
	b_prop_str("status", "disabled");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.gic_version, 0);
}

HTEST(timer_interrupts)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("timer");
	b_prop("compatible", "arm,armv8-timer\0arm,armv7-timer", 32);
	b_prop_cells("interrupts", 6, 1, 13, 4, 1, 14, 4);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /timer: interrupts length 24");

	b_reset();
	b_root_with_cpus(1);
	b_begin("timer");
	b_prop_str("compatible", "arm,armv8-timer");
	b_prop_cells("interrupts", 12, 1, 13, 4, 0, 14, 4, 1, 11, 4, 1, 10, 4);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "entry 1 (type 0, number 14) is not a PPI");

	b_reset();
	b_root_with_cpus(1);
	b_begin("timer");
	b_prop_str("compatible", "arm,armv8-timer");
	b_prop_cells("interrupts", 12, 1, 13, 4, 1, 14, 4, 1, 16, 4, 1, 10, 4);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "number 16");

	b_reset();
	b_root_with_cpus(1);
	b_begin("timer");
	b_prop_str("compatible", "arm,armv8-timer");
	b_prop_cells("interrupts", 12, 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4);
	b_prop_cells("clock-frequency", 2, 0, 1);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "clock-frequency has length 8");
}

HTEST(psci_variants)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("psci");
	b_prop("compatible", "arm,psci-0.2\0arm,psci", 22);
	b_prop_str("method", "smc");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.psci, PSCI_SMC);
	HEXPECT_EQ(pf.psci_cpu_on, 0xc4000003);

	b_reset();
	b_root_with_cpus(1);
	b_begin("psci");
	b_prop_str("compatible", "arm,psci");
	b_prop_str("method", "hvc");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /psci: PSCI 0.1 without cpu_on");

	b_reset();
	b_root_with_cpus(1);
	b_begin("psci");
	b_prop_str("compatible", "arm,psci-1.0");
	b_prop_str("method", "svc\x01");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /psci: method 'svc?' is neither hvc nor smc");

	b_reset();
	b_root_with_cpus(1);
	b_begin("psci");
	b_prop_str("compatible", "arm,psci-1.0");
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "method '' is neither");
}

HTEST(strings_are_bounded)
{
	char big[3000];

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	b_reset();
	b_begin("");
	b_prop_str("model", "ctl\x1b[2Jchars and a very long model name that does not fit in sixty-four bytes");
	b_begin("chosen");
	b_prop_str("bootargs", big);
	b_end();
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 0);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_STREQ(err, "");
	HEXPECT_EQ(strlen(pf.model), sizeof pf.model - 1);
	HEXPECT(strncmp(pf.model, "ctl?[2Jchars", 12) == 0);
	HEXPECT_EQ(strlen(pf.bootargs), sizeof pf.bootargs - 1);

	/* Unterminated bootargs (no NUL in the value): copied up to its length. */
	b_reset();
	b_begin("");
	b_begin("chosen");
	b_prop("bootargs", "smp=2", 5);
	b_prop("stdout-path", "/nowhere", 8);
	b_end();
	b_begin("cpus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 0);
	b_begin("cpu@0");
	b_prop_str("device_type", "cpu");
	b_prop_cells("reg", 1, 0);
	b_end();
	b_end();
	b_end();
	HREQUIRE_EQ(b_parse(), 0);
	HEXPECT_STREQ(pf.bootargs, "smp=2");
}

HTEST(reserved_memory_errors)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("reserved-memory");
	b_prop_cells("#address-cells", 1, 2);
	b_prop_cells("#size-cells", 1, 2);
	b_begin("fw@0");
	b_prop_cells("reg", 4, 0, 0x1000, 0, 0x1000);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);	/* no ranges on /reserved-memory */
	HEXPECT_STR_HAS(err, "FDT /reserved-memory/fw@0: reg cannot be translated");
}

/* ---- random damage ----------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	return xorshift_next(&rng_state);
}

/* Thousands of damaged copies of each real tree: errors are fine, faults are not. */
HTEST(random_damage_never_faults)
{
	static const char *const names[] = {
		"qemu-virt-gicv3.dtb", "qemu-virt-gicv2.dtb", "synthetic.dtb",
	};

	for (size_t f = 0; f < 3; f++) {
		size_t len;
		uint8_t *orig = fixture(names[f], &len);
		uint8_t *b = malloc(len);
		int ok = 0;

		for (int iter = 0; iter < 4000; iter++) {
			memcpy(b, orig, len);
			int n = 1 + (int)(rng() % 4);
			for (int k = 0; k < n; k++) {
				size_t at = rng() % len;
				switch (rng() % 4) {
				case 0: b[at] ^= (uint8_t)(1u << (rng() % 8)); break;
				case 1: b[at] = (uint8_t)rng(); break;
				case 2: if (at + 4 <= len) put_be32(b + (at & ~(size_t)3), rng() % 64); break;
				default: if (at + 4 <= len) put_be32(b + (at & ~(size_t)3), rng()); break;
				}
			}
			int r = parse_copy(b, len);
			ok += r == 0;
			if (r == 0) {
				HEXPECT(pf.ncpus <= PLATFORM_MAX_CPUS && pf.ncpus > 0);
				HEXPECT(pf.nmem <= PLATFORM_MAX_MEM && pf.nrsv <= PLATFORM_MAX_RSV);
				HEXPECT(memchr(pf.model, '\0', sizeof pf.model) != NULL);
				HEXPECT(memchr(pf.bootargs, '\0', sizeof pf.bootargs) != NULL);
			}
		}
		HEXPECT(ok > 0);	/* many damages land in values we do not read */
		free(b);
		free(orig);
	}
}

/* ---- stdout-path forms and more translation ----------------------------------------- */

/* A tree with /chosen (stdout-path property given), /aliases and two PL011s. */
static void b_two_uarts(const char *prop, const char *stdout_path)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("aliases");
	b_prop_str("serial0", "/uart@2000");
	b_end();
	b_begin("chosen");
	if (prop)
		b_prop_str(prop, stdout_path);
	b_end();
	b_begin("uart@1000");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 4, 0, 0x1000, 0, 0x1000);
	b_end();
	b_begin("uart@2000");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 4, 0, 0x2000, 0, 0x1000);
	b_end();
	b_end();
}

HTEST(stdout_path_forms)
{
	b_two_uarts("stdout-path", "/uart@2000");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x2000);
	b_two_uarts("stdout-path", "/uart@2000:115200n8");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x2000);
	b_two_uarts("linux,stdout-path", "/uart@2000");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x2000);
	b_two_uarts("stdout-path", "serial0");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x2000);
	/* Unresolvable: the first enabled PL011. */
	b_two_uarts("stdout-path", "serial7:9600");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x1000);
	b_two_uarts("stdout-path", "an-alias-name-much-longer-than-thirty-two-bytes");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x1000);
	b_two_uarts("stdout-path", ":");
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x1000);
	b_two_uarts(NULL, NULL);
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x1000);
}

HTEST(uart_reg_errors)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("uart@1000");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 2, 0, 0x1000);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /uart@1000: reg length 8");
}

/* Ranges entries wider than 64 bits (PCI-style 3-cell child addresses) are skipped. */
HTEST(ranges_wide_entries_skipped)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("bus");
	b_prop_cells("#address-cells", 1, 3);
	b_prop_cells("#size-cells", 1, 1);
	/* child (3 cells), parent (2 cells), size (1 cell) */
	b_prop_cells("ranges", 12,
		     0x02000000, 0, 0x1000, 0, 0x40000000, 0x1000,	/* top cell set: skipped */
		     0, 0, 0x1000, 0, 0x50000000, 0x1000);
	b_begin("uart@1000");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 4, 0, 0, 0x1100, 0x100);
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), 0);
	HEXPECT_EQ(pf.uart.base, 0x50000100);

	/* A bus with a bad #size-cells: an error naming the bus. */
	b_reset();
	b_root_with_cpus(1);
	b_begin("bus");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 9);
	b_prop_cells("ranges", 3, 0, 0, 0x1000);
	b_begin("sub");
	b_prop_cells("#address-cells", 1, 1);
	b_prop_cells("#size-cells", 1, 1);
	b_prop("ranges", "", 0);
	b_begin("uart@0");
	b_prop("compatible", "arm,pl011", 10);
	b_prop_cells("reg", 2, 0, 0x100);
	b_end();
	b_end();
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STR_HAS(err, "FDT /bus: #size-cells is not a 4-byte value in [0, 4]");
}

HTEST(no_error_buffer)
{
	size_t len;
	uint8_t *b = fixture("qemu-virt-gicv3.dtb", &len);

	HEXPECT_EQ(fdt_parse(b, len, &pf, NULL, 0), 0);
	HEXPECT_EQ(fdt_parse(b, len - 1, &pf, NULL, 0), -1);
	char one[1] = { 'x' };
	HEXPECT_EQ(fdt_parse(b, 10, &pf, one, 1), -1);
	HEXPECT_EQ(one[0], '\0');
	free(b);
}

/* The PL011's receive interrupt: one SPI with one trigger, or none at all. */
static int uart_with_interrupts(int ncells, uint32_t type, uint32_t num, uint32_t flags)
{
	b_reset();
	b_root_with_cpus(1);
	b_begin("serial@2000");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 4, 0, 0x2000, 0, 0x1000);
	if (ncells == 3)
		b_prop_cells("interrupts", 3, type, num, flags);
	else if (ncells == 2)
		b_prop_cells("interrupts", 2, type, num);
	b_end();
	b_end();
	return b_parse();
}

HTEST(uart_interrupt_spi)
{
	HREQUIRE_EQ(uart_with_interrupts(0, 0, 0, 0), 0);
	HEXPECT(pf.have_uart);
	HEXPECT(!pf.have_uart_irq);
	HREQUIRE_EQ(uart_with_interrupts(3, 0, 7, 8), 0);
	HEXPECT(pf.have_uart_irq);
	HEXPECT_EQ(pf.uart_irq.num, 7);
	HEXPECT(pf.uart_irq.level);
	HEXPECT(pf.uart_irq.active_low);
	HREQUIRE_EQ(uart_with_interrupts(3, 0, 3, 1), 0);
	HEXPECT(!pf.uart_irq.level);
	HEXPECT(!pf.uart_irq.active_low);
	HEXPECT_EQ(uart_with_interrupts(3, 1, 3, 4), -1);
	HEXPECT_STREQ(err, "FDT /serial@2000: interrupts (type 1, number 3) is not an SPI");
	HEXPECT_EQ(uart_with_interrupts(3, 0, 988, 4), -1);
	HEXPECT_STR_HAS(err, "is not an SPI");
	HEXPECT_EQ(uart_with_interrupts(3, 0, 3, 3), -1);
	HEXPECT_STREQ(err, "FDT /serial@2000: interrupts flags 0x3 are not one trigger (1, 2, 4 or 8)");
	HEXPECT_EQ(uart_with_interrupts(2, 0, 3, 0), -1);
	HEXPECT_STR_HAS(err, "interrupts length 8 is not a multiple of 3 cells");
}

/*
 * The PL011's interrupt parent: its own interrupt-parent, else the nearest ancestor's,
 * must be the GIC (by phandle; none anywhere is the GIC too). Another controller
 * leaves the console without input, says why, and its cells are not read.
 *   root_parent, uart_parent: interrupt-parent of the root and of the UART (0: none);
 *   gic_phandle: the GIC's phandle (0: none), gic_first: the GIC before the UART;
 *   legacy: the GIC's phandle as linux,phandle.
 */
/* The GIC (phandle gic_phandle, 0 for none; as linux,phandle when legacy) and a second
 * controller, phandle 0x77, with two cells per interrupt. */
static void b_two_intcs(uint32_t gic_phandle, bool legacy)
{
	b_begin("intc@8000000");
	b_prop_str("compatible", "arm,gic-v3");
	b_prop_cells("reg", 8, 0, 0x08000000, 0, 0x10000, 0, 0x080a0000, 0, 0xf60000);
	if (gic_phandle)
		b_prop_cells(legacy ? "linux,phandle" : "phandle", 1, gic_phandle);
	b_end();
	b_begin("gpio-intc@100");
	b_prop_cells("#interrupt-cells", 1, 2);
	b_prop_cells("phandle", 1, 0x77);
	b_end();
}

static int uart_under_parent(uint32_t root_parent, uint32_t uart_parent, uint32_t gic_phandle,
			     bool gic_first, bool legacy)
{
	b_reset();
	b_root_with_cpus_parent(1, root_parent);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == (gic_first ? 0 : 1)) {
			b_two_intcs(gic_phandle, legacy);
		} else {
			b_begin("pl011@9000000");
			b_prop("compatible", "arm,pl011\0arm,primecell", 24);
			b_prop_cells("reg", 4, 0, 0x09000000, 0, 0x1000);
			if (uart_parent)
				b_prop_cells("interrupt-parent", 1, uart_parent);
			if (uart_parent == 0x77)
				b_prop_cells("interrupts", 2, 5, 4);	/* that controller's format */
			else
				b_prop_cells("interrupts", 3, 0, 1, 4);
			b_end();
		}
	}
	b_end();
	return b_parse();
}

/* A GIC (phandle 0x8001), a second controller (0x77) and a PL011 whose interrupts come
 * by interrupts-extended (ncells cells), with interrupt-parent 0x77 and a plain
 * interrupts beside it when `decoy` (both lose to interrupts-extended). */
static int uart_extended(const uint32_t *cells, int ncells, bool decoy)
{
	b_reset();
	b_root_with_cpus_parent(1, decoy ? 0x77 : 0);
	b_two_intcs(0x8001, false);
	b_begin("pl011@9000000");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 4, 0, 0x09000000, 0, 0x1000);
	if (decoy) {
		b_prop_cells("interrupt-parent", 1, 0x77);
		b_prop_cells("interrupts", 2, 5, 4);
	}
	uint8_t raw[64];
	for (int i = 0; i < ncells; i++)
		put_be32(raw + 4 * i, cells[i]);
	b_prop("interrupts-extended", raw, (uint32_t)(4 * ncells));
	b_end();
	b_end();
	return b_parse();
}

HTEST(uart_interrupts_extended)
{
	/* the GIC by interrupts-extended: its triple, whatever interrupt-parent and
	 * interrupts say beside it */
	for (int decoy = 0; decoy < 2; decoy++) {
		static const uint32_t gic[] = { 0x8001, 0, 7, 8 };
		HREQUIRE_EQ(uart_extended(gic, 4, decoy), 0);
		HEXPECT(pf.have_uart && pf.have_uart_irq);
		HEXPECT_EQ(pf.uart_irq.num, 7);
		HEXPECT(pf.uart_irq.level && pf.uart_irq.active_low);
		HEXPECT_STREQ(pf.uart_irq_missing, "");
	}
	/* only the first entry is read: a second one, for another controller, is not */
	static const uint32_t two[] = { 0x8001, 0, 9, 4, 0x77, 3, 1 };
	HREQUIRE_EQ(uart_extended(two, 7, false), 0);
	HEXPECT(pf.have_uart_irq);
	HEXPECT_EQ(pf.uart_irq.num, 9);
	/* another controller first: no input, the reason; its cells not judged */
	static const uint32_t other[] = { 0x77, 5 };
	HREQUIRE_EQ(uart_extended(other, 2, false), 0);
	HEXPECT(pf.have_uart && !pf.have_uart_irq);
	HEXPECT_STREQ(pf.uart_irq_missing, "its interrupt parent (phandle 0x77) is not the GIC (0x8001)");
	/* malformed: errors that name the property */
	HEXPECT_EQ(uart_extended(NULL, 0, false), -1);
	HEXPECT_STREQ(err, "FDT /pl011@9000000: interrupts-extended length 0 is not a phandle and whole cells");
	static const uint32_t zero[] = { 0, 0, 1, 4 };
	HEXPECT_EQ(uart_extended(zero, 4, false), -1);
	HEXPECT_STREQ(err, "FDT /pl011@9000000: interrupts-extended names phandle 0");
	static const uint32_t short_gic[] = { 0x8001, 0, 1 };
	HEXPECT_EQ(uart_extended(short_gic, 3, false), -1);
	HEXPECT_STREQ(err, "FDT /pl011@9000000: interrupts-extended gives the GIC 2 cells, not 3");
	static const uint32_t ppi[] = { 0x8001, 1, 1, 4 };
	HEXPECT_EQ(uart_extended(ppi, 4, false), -1);
	HEXPECT_STR_HAS(err, "is not an SPI");
}

HTEST(uart_interrupt_parent)
{
	/* QEMU's shape: the root names the GIC, the UART inherits it; in either order */
	for (int first = 0; first < 2; first++) {
		HREQUIRE_EQ(uart_under_parent(0x8001, 0, 0x8001, first, false), 0);
		HEXPECT(pf.have_uart && pf.have_uart_irq);
		HEXPECT_EQ(pf.uart_irq.num, 1);
		HEXPECT_STREQ(pf.uart_irq_missing, "");
	}
	/* no interrupt-parent anywhere: the GIC; the UART's own wins over the root's */
	HREQUIRE_EQ(uart_under_parent(0, 0, 0, true, false), 0);
	HEXPECT(pf.have_uart_irq);
	HREQUIRE_EQ(uart_under_parent(0x77, 0x8001, 0x8001, false, false), 0);
	HEXPECT(pf.have_uart_irq);
	HREQUIRE_EQ(uart_under_parent(0x77, 0x8001, 0x8001, true, true), 0);	/* linux,phandle */
	HEXPECT(pf.have_uart_irq);
	/* another controller: no input, the reason, and its two-cell interrupts not judged */
	HREQUIRE_EQ(uart_under_parent(0x8001, 0x77, 0x8001, true, false), 0);
	HEXPECT(pf.have_uart);
	HEXPECT(!pf.have_uart_irq);
	HEXPECT_STREQ(pf.uart_irq_missing, "its interrupt parent (phandle 0x77) is not the GIC (0x8001)");
	HREQUIRE_EQ(uart_under_parent(0x77, 0, 0x8001, false, false), 0);	/* inherited */
	HEXPECT(!pf.have_uart_irq);
	HEXPECT_STR_HAS(pf.uart_irq_missing, "(phandle 0x77) is not the GIC");
	HREQUIRE_EQ(uart_under_parent(0x8001, 0x8001, 0, true, false), 0);
	HEXPECT(!pf.have_uart_irq);
	HEXPECT_STREQ(pf.uart_irq_missing,
		      "its interrupt parent (phandle 0x8001) is not the GIC (which has no phandle)");

	/* a malformed interrupt-parent is an error like any malformed property */
	b_reset();
	b_root_with_cpus(1);
	b_begin("serial@2000");
	b_prop("compatible", "arm,pl011\0arm,primecell", 24);
	b_prop_cells("reg", 4, 0, 0x2000, 0, 0x1000);
	b_prop_cells("interrupt-parent", 2, 1, 2);
	b_end();
	b_end();
	HEXPECT_EQ(b_parse(), -1);
	HEXPECT_STREQ(err, "FDT /serial@2000: interrupt-parent length 8 is not one cell");
}
