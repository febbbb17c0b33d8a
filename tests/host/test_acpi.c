/*
 * tests/host/test_acpi.c: host tests of the ACPI parser (kernel/acpi.c).
 *
 * The tests build ACPI tables the way QEMU's q35 machine lays them out (RSDP, XSDT
 * and RSDT, MADT with four CPUs, an IOAPIC and five overrides, FADT revision 3 with
 * the PM timer at 0x608, HPET at 0xfed00000), with correct checksums, inside a
 * buffer that plays physical memory at MEM_BASE; then they damage one thing at a
 * time. The buffer is an allocation of the exact size, so a read past "the end of
 * memory" that the parser failed to ask map() about is an ASan error.
 *
 * The tables QEMU really builds are tested too: tests/host/data/q35-seabios.acpi and
 * q35-ovmf.acpi are cut from q35 RAM dumps by tests/host/data/make-fixtures.sh.
 *
 * With HOSTTEST_ACPI_SEEDS=dir, the test write_fuzz_seeds writes the same tables
 * as tests/fuzz/fuzz_acpi.c reads them (memory at physical 0, RSDP at 0).
 */
#define HTEST_SUITE "acpi"
#include "hosttest.h"
#include "xorshift.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/acpi.h>

#define MEM_BASE 0x7ffe0000ull
#define MEM_SIZE 0x4000u

/* Where the standard layout puts each table (offsets from the memory base). */
#define OFF_RSDP 0x0
#define OFF_XSDT 0x100
#define OFF_RSDT 0x200
#define OFF_MADT 0x400
#define OFF_FADT 0x800
#define OFF_HPET 0xc00
#define OFF_SSDT 0xd00
#define OFF_DSDT 0xe00
#define OFF_FREE 0x1000

static uint8_t *mem;		/* MEM_SIZE bytes ... */
static uint64_t mem_base;	/* ... at this physical address */
static size_t mem_size;
static struct platform pf;
static char err[PLATFORM_ERR_MAX];

/* ---- physical memory ---------------------------------------------------------- */

static const void *mem_map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	if (phys < mem_base || phys - mem_base > mem_size || len > mem_size - (phys - mem_base))
		return NULL;
	return mem + (phys - mem_base);
}

static void mem_reset(uint64_t base, size_t size)
{
	free(mem);
	mem = calloc(1, size);
	mem_base = base;
	mem_size = size;
}

/* Keep the first n bytes of memory only (a fresh exact-size allocation). */
static void mem_truncate(size_t n)
{
	uint8_t *m = malloc(n ? n : 1);

	memcpy(m, mem, n);
	free(mem);
	mem = m;
	mem_size = n;
}

static int parse_at(uint64_t rsdp)
{
	struct phys_access pa = { mem_map, NULL };

	memset(err, 0x55, sizeof err);
	int r = acpi_parse(&pa, rsdp, &pf, err, sizeof err);
	HEXPECT(memchr(err, '\0', sizeof err) != NULL);
	if (r < 0)
		HEXPECT(err[0] != '\0');
	else
		HEXPECT_STREQ(err, "");
	return r;
}

static int parse(void)
{
	return parse_at(mem_base + OFF_RSDP);
}

/* ---- table builders ----------------------------------------------------------- */

static void put16(size_t off, uint16_t v)
{
	mem[off] = (uint8_t)v;
	mem[off + 1] = (uint8_t)(v >> 8);
}

static void put32(size_t off, uint32_t v)
{
	put16(off, (uint16_t)v);
	put16(off + 2, (uint16_t)(v >> 16));
}

static void put64(size_t off, uint64_t v)
{
	put32(off, (uint32_t)v);
	put32(off + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(size_t off)
{
	return mem[off] | (uint32_t)mem[off + 1] << 8 | (uint32_t)mem[off + 2] << 16 |
	       (uint32_t)mem[off + 3] << 24;
}

static uint8_t sum(size_t off, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + mem[off + i]);
	return s;
}

/* Set the checksum of the table at off (length from its header). */
static void fix(size_t off)
{
	uint32_t len = get32(off + 4);

	if (len < 10 || len > mem_size - off)
		return;		/* a damaged length: leave the sum damaged too */
	mem[off + 9] = 0;
	mem[off + 9] = (uint8_t)-sum(off, len);
}

static void rsdp_fix(size_t off)
{
	mem[off + 8] = 0;
	mem[off + 8] = (uint8_t)-sum(off, 20);
	if (mem[off + 15] >= 2) {
		mem[off + 32] = 0;
		mem[off + 32] = (uint8_t)-sum(off, get32(off + 20));
	}
}

static void rsdp(size_t off, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	memcpy(mem + off, "RSD PTR ", 8);
	memcpy(mem + off + 9, "BOCHS ", 6);
	mem[off + 15] = rev;
	put32(off + 16, rsdt);
	if (rev >= 2) {
		put32(off + 20, 36);
		put64(off + 24, xsdt);
	}
	rsdp_fix(off);
}

static void header(size_t off, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(mem + off, sig, 4);
	put32(off + 4, len);
	mem[off + 8] = rev;
	memcpy(mem + off + 10, "BOCHS ", 6);
	memcpy(mem + off + 16, "BXPC    ", 8);
	put32(off + 24, 1);
	memcpy(mem + off + 28, "BXPC", 4);
	put32(off + 32, 1);
}

/* Root table at off with n entries (addresses of tables), 8 or 4 bytes each. */
static void root(size_t off, bool x, const uint64_t *e, int n)
{
	uint32_t esz = x ? 8 : 4;

	header(off, x ? "XSDT" : "RSDT", 36 + esz * (uint32_t)n, 1);
	for (int i = 0; i < n; i++) {
		if (x)
			put64(off + 36 + 8 * (size_t)i, e[i]);
		else
			put32(off + 36 + 4 * (size_t)i, (uint32_t)e[i]);
	}
	fix(off);
}

/* MADT under construction: entries appended at madt_end. */
static size_t madt_off, madt_end;

static void madt_begin(size_t off, uint32_t lapic, uint32_t flags)
{
	madt_off = off;
	madt_end = off + 44;
	header(off, "APIC", 44, 3);
	put32(off + 36, lapic);
	put32(off + 40, flags);
}

static void madt_raw(const uint8_t *e, size_t n)
{
	memcpy(mem + madt_end, e, n);
	madt_end += n;
}

static void madt_lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t e[8] = { 0, 8, uid, id };

	madt_raw(e, 8);
	put32(madt_end - 4, flags);
}

static void madt_x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
	uint8_t e[16] = { 9, 16 };

	madt_raw(e, 16);
	put32(madt_end - 12, id);
	put32(madt_end - 8, flags);
	put32(madt_end - 4, uid);
}

static void madt_ioapic(uint8_t id, uint32_t addr, uint32_t gsi)
{
	uint8_t e[12] = { 1, 12, id, 0 };

	madt_raw(e, 12);
	put32(madt_end - 8, addr);
	put32(madt_end - 4, gsi);
}

static void madt_iso(uint8_t src, uint32_t gsi, uint16_t flags)
{
	uint8_t e[10] = { 2, 10, 0, src };

	madt_raw(e, 10);
	put32(madt_end - 6, gsi);
	put16(madt_end - 2, flags);
}

static void madt_finish(void)
{
	put32(madt_off + 4, (uint32_t)(madt_end - madt_off));
	fix(madt_off);
}

/* FADT of length len: PM_TMR_BLK, PM_TMR_LEN 4, flags, X_PM_TMR_BLK when it fits. */
static void fadt(size_t off, uint32_t len, uint32_t pm, uint32_t flags, uint8_t xspace,
		 uint64_t xaddr)
{
	memset(mem + off, 0, len);
	header(off, "FACP", len, len >= 244 ? 3 : 1);
	if (len >= 80)
		put32(off + 76, pm);
	if (len >= 92)
		mem[off + 91] = pm ? 4 : 0;
	if (len >= 116)
		put32(off + 112, flags);
	if (len >= 220) {
		mem[off + 208] = xspace;
		mem[off + 209] = 32;
		mem[off + 211] = 3;
		put64(off + 212, xaddr);
	}
	fix(off);
}

/* Give the FADT PM1 control blocks and a DSDT (the 32-bit field and, when the table
 * is long enough, X_DSDT), PM1_CNT_LEN 2. */
static void fadt_pm1(uint32_t pm1a, uint32_t pm1b, uint64_t dsdt_phys)
{
	uint32_t len = get32(OFF_FADT + 4);

	put32(OFF_FADT + 40, (uint32_t)dsdt_phys);
	if (len >= 148)
		put64(OFF_FADT + 140, dsdt_phys);
	put32(OFF_FADT + 64, pm1a);
	put32(OFF_FADT + 68, pm1b);
	if (len >= 90)
		mem[OFF_FADT + 89] = 2;
	fix(OFF_FADT);
}

/* A DSDT at OFF_DSDT whose AML is aml[0, n). */
static void dsdt(const uint8_t *aml, size_t n)
{
	header(OFF_DSDT, "DSDT", 36 + (uint32_t)n, 2);
	memcpy(mem + OFF_DSDT + 36, aml, n);
	fix(OFF_DSDT);
}

/* Make the FADT hardware-reduced (276 bytes, no PM1 blocks) with its sleep control
 * register at addr in GAS space `space` (0 memory, 1 I/O), 8 bits wide. */
static void fadt_hw_reduced(uint8_t space, uint64_t addr)
{
	fadt(OFF_FADT, 276, 0x608, 1u << 20, 1, 0x608);
	fadt_pm1(0, 0, mem_base + OFF_DSDT);
	mem[OFF_FADT + 244] = space;
	mem[OFF_FADT + 245] = 8;
	put64(OFF_FADT + 248, addr);
	fix(OFF_FADT);
}

/* QEMU's: Name (_S5, Package (0x04) {Zero, Zero, Zero, Zero}) */
static const uint8_t qemu_s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00 };

static void hpet(size_t off, uint8_t space, uint64_t addr)
{
	header(off, "HPET", 56, 1);
	put32(off + 36, 0x8086a201);
	mem[off + 40] = space;
	put64(off + 44, addr);
	fix(off);
}

/* The q35 layout: RSDP v2 -> XSDT (and RSDT) -> FADT, MADT, HPET, an SSDT. */
static void std_tables(uint64_t base, size_t size)
{
	mem_reset(base, size);
	uint64_t e[4] = { base + OFF_FADT, base + OFF_MADT, base + OFF_HPET, base + OFF_SSDT };
	rsdp(OFF_RSDP, 2, (uint32_t)(base + OFF_RSDT), base + OFF_XSDT);
	root(OFF_XSDT, true, e, 4);
	root(OFF_RSDT, false, e, 4);
	madt_begin(OFF_MADT, 0xfee00000, 1);
	for (uint8_t i = 0; i < 4; i++)
		madt_lapic(i, i, 1);
	madt_ioapic(0, 0xfec00000, 0);
	madt_iso(0, 2, 0);
	madt_iso(5, 5, 0xd);
	madt_iso(9, 9, 0xd);
	madt_iso(10, 10, 0xd);
	madt_iso(11, 11, 0xd);
	uint8_t nmi[6] = { 4, 6, 0xff, 5, 0, 1 };	/* LAPIC NMI: skipped */
	madt_raw(nmi, 6);
	madt_finish();
	fadt(OFF_FADT, 244, 0x608, 0x84a5 | (1u << 8), 1, 0x608);
	dsdt(qemu_s5, sizeof qemu_s5);
	fadt_pm1(0x604, 0, base + OFF_DSDT);
	hpet(OFF_HPET, 0, 0xfed00000);
	header(OFF_SSDT, "SSDT", 36, 1);	/* bad checksum on purpose: never read */
}

static void std(void)
{
	std_tables(MEM_BASE, MEM_SIZE);
}

/* Rewrite the XSDT with these entries. */
static void xsdt_entries(const uint64_t *e, int n)
{
	root(OFF_XSDT, true, e, n);
}

/* ---- good tables ---------------------------------------------------------------- */

HTEST(q35_layout)
{
	std();
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_STREQ(pf.oem_id, "BOCHS ");
	HEXPECT_EQ(pf.acpi_revision, 2);
	HREQUIRE_EQ(pf.ncpus, 4);
	for (uint32_t i = 0; i < 4; i++) {
		HEXPECT_EQ(pf.cpus[i].hwid, i);
		HEXPECT_EQ(pf.cpus[i].uid, i);
		HEXPECT(pf.cpus[i].enabled);
		HEXPECT(!pf.cpus[i].online_capable);
	}
	HEXPECT_EQ(pf.ncpus_dropped, 0);
	HEXPECT_EQ(pf.lapic_phys, 0xfee00000);
	HEXPECT(pf.have_8259);
	HREQUIRE_EQ(pf.nioapics, 1);
	HEXPECT_EQ(pf.ioapics[0].id, 0);
	HEXPECT_EQ(pf.ioapics[0].phys, 0xfec00000);
	HEXPECT_EQ(pf.ioapics[0].gsi_base, 0);
	HREQUIRE_EQ(pf.niso, 5);
	HEXPECT_EQ(pf.iso[0].source, 0);
	HEXPECT_EQ(pf.iso[0].gsi, 2);
	HEXPECT_EQ(pf.iso[0].flags, 0);
	HEXPECT_EQ(pf.iso[4].source, 11);
	HEXPECT_EQ(pf.iso[4].gsi, 11);
	HEXPECT_EQ(pf.iso[4].flags, 0xd);
	HEXPECT(pf.have_uart_irq);		/* COM1: no override, ISA's own */
	HEXPECT_EQ(pf.uart_irq.num, 4);
	HEXPECT(!pf.uart_irq.level);
	HEXPECT(!pf.uart_irq.active_low);
	HEXPECT(pf.have_hpet);
	HEXPECT_EQ(pf.hpet_phys, 0xfed00000);
	HEXPECT(pf.have_pm_timer);
	HEXPECT_EQ(pf.pm_timer_port, 0x608);
	HEXPECT(pf.pm_timer_32bit);
}

/* Revision 0: the RSDT is used, whatever else the memory holds. */
HTEST(rsdp_v1_uses_rsdt)
{
	std();
	memset(mem + OFF_XSDT, 0xee, 64);	/* the XSDT is garbage now */
	memset(mem + OFF_RSDP + 20, 0, 16);
	rsdp(OFF_RSDP, 0, (uint32_t)(MEM_BASE + OFF_RSDT), 0);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.acpi_revision, 0);
	HEXPECT_EQ(pf.ncpus, 4);
	HEXPECT(pf.have_hpet);
}

/* Revision 2 with no XSDT address falls back to the RSDT. */
HTEST(rsdp_v2_without_xsdt_uses_rsdt)
{
	std();
	memset(mem + OFF_XSDT, 0xee, 64);
	rsdp(OFF_RSDP, 2, (uint32_t)(MEM_BASE + OFF_RSDT), 0);
	HEXPECT_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, 4);
}

HTEST(fadt_and_hpet_are_optional)
{
	std();
	uint64_t e[1] = { MEM_BASE + OFF_MADT };
	xsdt_entries(e, 1);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(!pf.have_hpet);
	HEXPECT(!pf.have_pm_timer);
	HEXPECT_EQ(pf.ncpus, 4);
}

HTEST(empty_and_duplicate_root_entries)
{
	std();
	/* Null slots are skipped; the first MADT wins over a later (broken) one. */
	uint64_t e[4] = { 0, MEM_BASE + OFF_MADT, 0, MEM_BASE + OFF_FREE };
	header(OFF_FREE, "APIC", 20, 1);
	xsdt_entries(e, 4);
	HEXPECT_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, 4);
}

HTEST(cpu_flags_and_x2apic)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 0);		/* neither enabled nor online-capable: unusable */
	madt_lapic(2, 2, 2);		/* online-capable */
	madt_lapic(3, 0xff, 1);		/* broadcast id: not a CPU */
	madt_x2apic(300, 1, 30);
	madt_x2apic(0, 1, 99);		/* same CPU as lapic 0: skipped */
	madt_x2apic(0xffffffff, 1, 7);
	madt_finish();
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(!pf.have_8259);
	HREQUIRE_EQ(pf.ncpus, 3);
	HEXPECT_EQ(pf.cpus[0].hwid, 0);
	HEXPECT_EQ(pf.cpus[1].hwid, 2);
	HEXPECT(!pf.cpus[1].enabled);
	HEXPECT(pf.cpus[1].online_capable);
	HEXPECT_EQ(pf.cpus[2].hwid, 300);
	HEXPECT_EQ(pf.cpus[2].uid, 30);
	HEXPECT(pf.cpus[2].enabled);
}

HTEST(cpu_overflow_is_counted)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	for (uint32_t i = 0; i < PLATFORM_MAX_CPUS + 10; i++)
		madt_x2apic(i, 1, i);
	madt_finish();
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, PLATFORM_MAX_CPUS);
	HEXPECT_EQ(pf.ncpus_dropped, 10);
}

HTEST(ioapic_and_iso_overflow_dropped)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	for (int i = 0; i < PLATFORM_MAX_IOAPICS + 2; i++)
		madt_ioapic((uint8_t)i, 0xfec00000u + 0x1000u * (uint32_t)i, 24u * (uint32_t)i);
	for (int i = 0; i < PLATFORM_MAX_ISO + 2; i++)
		madt_iso((uint8_t)i, (uint32_t)i, 0);
	madt_finish();
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.nioapics, PLATFORM_MAX_IOAPICS);
	HEXPECT_EQ(pf.ioapics[PLATFORM_MAX_IOAPICS - 1].gsi_base, 24 * (PLATFORM_MAX_IOAPICS - 1));
	HEXPECT_EQ(pf.niso, PLATFORM_MAX_ISO);
}

HTEST(lapic_address_override)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	uint8_t o[12] = { 5, 12 };
	madt_raw(o, 12);
	put64(madt_end - 8, 0x1234567000ull);
	madt_finish();
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.lapic_phys, 0x1234567000ull);
}

HTEST(fadt_revisions)
{
	/* ACPI 1.0 FADT (116 bytes): PM_TMR_BLK and flags, no X_ fields. */
	std();
	fadt(OFF_FADT, 116, 0xb008, 0, 0, 0);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(pf.have_pm_timer);
	HEXPECT_EQ(pf.pm_timer_port, 0xb008);
	HEXPECT(!pf.pm_timer_32bit);

	/* Short FADT: PM_TMR_BLK readable, flags not. */
	std();
	fadt(OFF_FADT, 80, 0x408, 0, 0, 0);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.pm_timer_port, 0x408);

	/* Too short to hold PM_TMR_BLK: no PM timer, not an error. */
	std();
	fadt(OFF_FADT, 60, 0, 0, 0, 0);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(!pf.have_pm_timer);

	/* X_PM_TMR_BLK wins when it is an I/O address. */
	std();
	fadt(OFF_FADT, 276, 0x608, 1u << 8, 1, 0x1808);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.pm_timer_port, 0x1808);
	HEXPECT(pf.pm_timer_32bit);

	/* X_PM_TMR_BLK in memory space: the I/O port PM_TMR_BLK is used. */
	std();
	fadt(OFF_FADT, 276, 0x608, 0, 0, 0xfe000000);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_EQ(pf.pm_timer_port, 0x608);

	/* Hardware-reduced ACPI: no PM timer. */
	std();
	fadt(OFF_FADT, 276, 0x608, 1u << 20, 1, 0x608);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(!pf.have_pm_timer);

	/* PM_TMR_LEN 0: no PM timer. */
	std();
	fadt(OFF_FADT, 244, 0x608, 0, 0, 0);
	mem[OFF_FADT + 91] = 0;
	fix(OFF_FADT);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT(!pf.have_pm_timer);
}

/* ---- real tables ------------------------------------------------------------------ */

/* A segment file: records of {u64 base, u64 length, bytes}, the RSDP's first. */
struct seg_file {
	const uint8_t *b;
	size_t len;
};

static uint64_t seg_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static const void *seg_map(void *ctx, uint64_t phys, uint64_t len)
{
	const struct seg_file *f = ctx;

	for (size_t o = 0; f->len - o >= 16;) {
		uint64_t base = seg_le64(f->b + o), n = seg_le64(f->b + o + 8);
		if (n > f->len - o - 16)
			return NULL;
		if (phys >= base && phys - base <= n && len <= n - (phys - base))
			return f->b + o + 16 + (phys - base);
		o += 16 + n;
	}
	return NULL;
}

/* Parse a QEMU dump; what both firmwares describe for q35 -smp 4. */
static void check_q35_dump(const char *name, uint8_t revision)
{
	size_t len;
	uint8_t *b = htest_read_data(name, &len);

	HREQUIRE(b != NULL && len >= 16);
	struct seg_file f = { b, len };
	struct phys_access pa = { seg_map, &f };
	HEXPECT_EQ(acpi_parse(&pa, seg_le64(b), &pf, err, sizeof err), 0);
	HEXPECT_STREQ(err, "");
	HEXPECT_STREQ(pf.oem_id, "BOCHS ");
	HEXPECT_EQ(pf.acpi_revision, revision);
	HEXPECT_EQ(pf.ncpus, 4);
	for (uint32_t i = 0; i < 4 && i < pf.ncpus; i++) {
		HEXPECT_EQ(pf.cpus[i].hwid, i);
		HEXPECT(pf.cpus[i].enabled);
	}
	HEXPECT_EQ(pf.lapic_phys, 0xfee00000);
	HEXPECT(pf.have_8259);
	HEXPECT_EQ(pf.nioapics, 1);
	HEXPECT_EQ(pf.ioapics[0].phys, 0xfec00000);
	HEXPECT_EQ(pf.ioapics[0].gsi_base, 0);
	HEXPECT_EQ(pf.niso, 5);
	HEXPECT_EQ(pf.iso[0].source, 0);
	HEXPECT_EQ(pf.iso[0].gsi, 2);
	HEXPECT(pf.have_hpet);
	HEXPECT_EQ(pf.hpet_phys, 0xfed00000);
	HEXPECT(pf.have_pm_timer);
	HEXPECT_EQ(pf.pm_timer_port, 0x608);
	HEXPECT(!pf.pm_timer_32bit);		/* QEMU's FADT flags: 0x84a5 */
	HEXPECT_STREQ(pf.s5_missing, "");
	HEXPECT(pf.have_s5);			/* ICH9's PM1a control, \_S5 {0, 0, 0, 0} */
	HEXPECT_EQ(pf.pm1a_cnt, 0x604);
	HEXPECT_EQ(pf.pm1b_cnt, 0);
	HEXPECT_EQ(pf.slp_typa, 0);
	HEXPECT_EQ(pf.slp_typb, 0);
	HEXPECT_EQ(pf.smi_cmd, 0xb2);		/* ICH9's APM control port */
	HEXPECT_EQ(pf.acpi_enable, 2);
	free(b);
}

HTEST(qemu_q35_seabios)
{
	check_q35_dump("q35-seabios.acpi", 0);
}

HTEST(qemu_q35_ovmf)
{
	check_q35_dump("q35-ovmf.acpi", 2);
}

/* ---- damaged RSDP --------------------------------------------------------------- */

HTEST(rsdp_checksum)
{
	std();
	mem[OFF_RSDP + 9] ^= 1;
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI RSDP: checksum mismatch");
}

HTEST(rsdp_extended_checksum)
{
	std();
	mem[OFF_RSDP + 33] = 1;		/* reserved byte, covered by the extended sum only */
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI RSDP: extended checksum mismatch");
}

HTEST(rsdp_signature_and_address)
{
	std();
	mem[OFF_RSDP] = 'X';
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI RSDP: bad signature");

	std();
	HEXPECT_EQ(parse_at(0x1000), -1);
	HEXPECT_STR_HAS(err, "ACPI RSDP: 0x1000 points past the end of memory");
	HEXPECT_EQ(parse_at(UINT64_MAX - 3), -1);	/* + 20 wraps */
	HEXPECT_STR_HAS(err, "ACPI RSDP");
	HEXPECT_EQ(parse_at(MEM_BASE + MEM_SIZE - 30), -1);	/* v1 fits, v2 does not */
	HEXPECT_STR_HAS(err, "ACPI RSDP");
}

HTEST(rsdp_v2_length)
{
	std();
	put32(OFF_RSDP + 20, 20);
	rsdp_fix(OFF_RSDP);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI RSDP: length 20 is out of range");

	std();
	put32(OFF_RSDP + 20, 0xffffffff);
	mem[OFF_RSDP + 8] = 0;
	mem[OFF_RSDP + 8] = (uint8_t)-sum(OFF_RSDP, 20);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI RSDP: length 4294967295");

	std();
	put32(OFF_RSDP + 20, MEM_SIZE + 1);
	mem[OFF_RSDP + 8] = 0;
	mem[OFF_RSDP + 8] = (uint8_t)-sum(OFF_RSDP, 20);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "points past the end of memory");
}

HTEST(rsdp_no_root)
{
	std();
	rsdp(OFF_RSDP, 2, 0, 0);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI RSDP: no RSDT or XSDT address");
}

HTEST(oem_id_is_printable)
{
	std();
	memcpy(mem + OFF_RSDP + 9, "A\x1b[2J\n", 6);
	rsdp_fix(OFF_RSDP);
	HREQUIRE_EQ(parse(), 0);
	HEXPECT_STREQ(pf.oem_id, "A?[2J?");
}

/* ---- damaged root tables --------------------------------------------------------- */

HTEST(xsdt_checks)
{
	std();
	mem[OFF_XSDT + 40] ^= 0x10;
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI XSDT: checksum mismatch");

	std();
	put32(OFF_XSDT + 4, 20);
	fix(OFF_XSDT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI XSDT: length 20 is shorter than its header (36)");

	std();
	put32(OFF_XSDT + 4, 0xfffffff0);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI XSDT: length 4294967280 is larger than the limit");

	std();
	put32(OFF_XSDT + 4, MEM_SIZE);		/* in bounds of the limit, past memory */
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI XSDT: length 16384 at 0x7ffe0100 points past the end of memory");

	std();
	memcpy(mem + OFF_XSDT, "RSDT", 4);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI XSDT: signature 'RSDT'");

	std();
	rsdp(OFF_RSDP, 2, 0, 0xfffffffffffffff0ull);	/* header wraps */
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI XSDT: header at 0xfffffffffffffff0 points past the end of memory");
}

HTEST(xsdt_entry_past_memory)
{
	std();
	uint64_t e[5] = { MEM_BASE + OFF_FADT, MEM_BASE + OFF_MADT, MEM_BASE + OFF_HPET,
			  0x123456789000ull, MEM_BASE + OFF_SSDT };
	xsdt_entries(e, 5);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI XSDT: entry 3 points past the end of memory (0x123456789000)");

	/* An entry whose header would straddle the end of memory. */
	std();
	e[3] = MEM_BASE + MEM_SIZE - 10;
	xsdt_entries(e, 5);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "entry 3 points past the end of memory");

	/* The same with RSDT entries (32-bit). */
	std();
	rsdp(OFF_RSDP, 0, (uint32_t)(MEM_BASE + OFF_RSDT), 0);
	e[3] = 0xfffffff0;
	root(OFF_RSDT, false, e, 5);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI RSDT: entry 3 points past the end of memory (0xfffffff0)");
}

/* A length that is not a whole number of entries: the partial entry is ignored. */
HTEST(xsdt_partial_entry)
{
	std();
	put32(OFF_XSDT + 4, 36 + 4 * 8 + 5);
	fix(OFF_XSDT);
	HEXPECT_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, 4);
}

HTEST(root_table_too_large)
{
	/* A valid XSDT just over ACPI_TABLE_MAX: refused by length, before mapping it. */
	std_tables(MEM_BASE, ACPI_TABLE_MAX + 0x2000);
	put32(OFF_XSDT + 4, ACPI_TABLE_MAX + 8);
	fix(OFF_XSDT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "larger than the limit (1048576)");

	/* At the limit: a huge XSDT of null entries is walked, and has no MADT. */
	std_tables(MEM_BASE, ACPI_TABLE_MAX + 0x2000);
	memset(mem + OFF_XSDT + 36, 0, ACPI_TABLE_MAX - 36);
	put32(OFF_XSDT + 4, ACPI_TABLE_MAX);
	fix(OFF_XSDT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI: no MADT");
}

HTEST(no_madt)
{
	std();
	uint64_t e[2] = { MEM_BASE + OFF_FADT, MEM_BASE + OFF_HPET };
	xsdt_entries(e, 2);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI: no MADT");
}

/* ---- damaged MADT ------------------------------------------------------------------ */

HTEST(madt_length_shorter_than_header)
{
	std();
	put32(OFF_MADT + 4, 20);
	fix(OFF_MADT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI MADT: length 20 is shorter than its header (44)");
}

HTEST(madt_checksum)
{
	std();
	mem[OFF_MADT + 50] ^= 1;
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI MADT: checksum mismatch");
}

HTEST(madt_length_past_memory)
{
	std();
	put32(OFF_MADT + 4, MEM_SIZE - OFF_MADT + 1);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI MADT: length");
	HEXPECT_STR_HAS(err, "points past the end of memory");
}

HTEST(madt_zero_length_entry)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	uint8_t z[8] = { 0, 0 };
	madt_raw(z, 8);
	madt_finish();
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI MADT: entry 1 (type 0) at offset 52 has length 0");

	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	uint8_t one[4] = { 0x7f, 1 };
	madt_raw(one, 4);
	madt_finish();
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "has length 1");
}

HTEST(madt_entry_past_table)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	madt_ioapic(0, 0xfec00000, 0);
	madt_finish();
	mem[OFF_MADT + 53] = 40;	/* IOAPIC claims 40 bytes, 12 remain */
	fix(OFF_MADT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI MADT: entry 1 (type 1) at offset 52: length 40 runs past the end of the table (64)");
}

HTEST(madt_entry_too_short_for_its_type)
{
	static const struct { uint8_t type, min; } t[] = {
		{ 0, 8 }, { 1, 12 }, { 2, 10 }, { 5, 12 }, { 9, 16 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char want[64];
		uint8_t e[16] = { t[i].type, (uint8_t)(t[i].min - 1) };

		std();
		madt_begin(OFF_MADT, 0xfee00000, 1);
		madt_lapic(0, 0, 1);
		madt_raw(e, t[i].min - 1u);
		madt_finish();
		HEXPECT_EQ(parse(), -1);
		snprintf(want, sizeof want, "(type %u) length %u is shorter than %u",
			 t[i].type, t[i].min - 1u, t[i].min);
		HEXPECT_STR_HAS(err, want);
	}
}

HTEST(madt_entry_header_cut_off)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	uint8_t half[1] = { 0 };
	madt_raw(half, 1);
	madt_finish();
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI MADT: entry 1 at offset 52 is cut off");
}

HTEST(madt_without_cpus_or_lapic)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 0);
	madt_finish();
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI MADT: no usable processor entry");

	std();
	madt_begin(OFF_MADT, 0, 1);
	madt_lapic(0, 0, 1);
	madt_finish();
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI MADT: local APIC address is 0");
}

/* Thousands of minimum-size unknown entries: walked, bounded, fine. */
HTEST(madt_many_entries)
{
	std_tables(MEM_BASE, 0x40000);
	madt_begin(OFF_FREE, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	for (int i = 0; i < 50000; i++) {
		uint8_t e[2] = { 0x80, 2 };
		madt_raw(e, 2);
	}
	madt_finish();
	uint64_t e[1] = { MEM_BASE + OFF_FREE };
	xsdt_entries(e, 1);
	HEXPECT_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, 1);
}

/* ---- damaged FADT and HPET ----------------------------------------------------------- */

HTEST(fadt_checks)
{
	std();
	mem[OFF_FADT + 100] ^= 1;
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI FADT: checksum mismatch");

	std();
	put32(OFF_FADT + 4, 30);
	fix(OFF_FADT);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI FADT: length 30 is shorter than its header (36)");

	std();
	fadt(OFF_FADT, 244, 0, 0, 1, 0x10000);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI FADT: X_PM_TMR_BLK port 0x10000 is past the I/O port space");

	std();
	fadt(OFF_FADT, 116, 0xfffe, 0, 0, 0);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STR_HAS(err, "ACPI FADT: PM_TMR_BLK port 0xfffe");
}

/* ---- soft-off (S5) ------------------------------------------------------------- */

/* Parse, which must succeed whatever S5 finds: the reason S5 is missing, or "". */
static const char *s5_parse(void)
{
	HEXPECT_EQ(parse(), 0);
	HEXPECT_EQ(pf.ncpus, 4);
	HEXPECT_EQ(pf.have_s5, pf.s5_missing[0] == '\0');
	return pf.s5_missing;
}

HTEST(s5_qemu_layout)
{
	std();
	HEXPECT_STREQ(s5_parse(), "");
	HEXPECT(pf.have_s5);
	HEXPECT_EQ(pf.pm1a_cnt, 0x604);
	HEXPECT_EQ(pf.pm1b_cnt, 0);
	HEXPECT_EQ(pf.slp_typa, 0);
	HEXPECT_EQ(pf.slp_typb, 0);
	HEXPECT_EQ(pf.smi_cmd, 0);
}

HTEST(s5_encodings)
{
	/* a root prefix, byte prefixes; a PM1b block; the X_ field wins when it is I/O */
	static const uint8_t rooted[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
					  0x0a, 0x05, 0x0a, 0x06, 0x00, 0x00 };
	std();
	dsdt(rooted, sizeof rooted);
	fadt_pm1(0x604, 0x640, MEM_BASE + OFF_DSDT);
	mem[OFF_FADT + 172] = 1;
	put64(OFF_FADT + 176, 0x1004);
	put32(OFF_FADT + 48, 0xb2);
	mem[OFF_FADT + 52] = 0xf0;
	fix(OFF_FADT);
	HEXPECT_STREQ(s5_parse(), "");
	HEXPECT_EQ(pf.pm1a_cnt, 0x1004);
	HEXPECT_EQ(pf.pm1b_cnt, 0x640);
	HEXPECT_EQ(pf.slp_typa, 5);
	HEXPECT_EQ(pf.slp_typb, 6);
	HEXPECT_EQ(pf.smi_cmd, 0xb2);
	HEXPECT_EQ(pf.acpi_enable, 0xf0);

	/* decoys passed over (a method named _S5_, a string, a reference), then one
	 * element, which gives both values */
	static const uint8_t decoys[] = {
		0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00,	/* Method (_S5) { Return (0) } */
		0x08, 'S', 'T', 'R', '_', 0x0d, '_', 'S', '5', '_', 0x00, /* Name (STR, "_S5_") */
		0x08, 'R', 'E', 'F', '_', '_', 'S', '5', '_',		/* Name (REF, _S5_) */
		0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x07,
	};
	std();
	dsdt(decoys, sizeof decoys);
	HEXPECT_STREQ(s5_parse(), "");
	HEXPECT_EQ(pf.slp_typa, 7);
	HEXPECT_EQ(pf.slp_typb, 7);

	/* a two-byte PkgLength, a word prefix and One; an ACPI 1.0 FADT (no X_ fields) */
	static const uint8_t wide[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x47, 0x00, 0x02,
					0x0b, 0x03, 0x00, 0x01 };
	std();
	fadt(OFF_FADT, 116, 0xb008, 0, 0, 0);
	dsdt(wide, sizeof wide);
	fadt_pm1(0xb004, 0, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "");
	HEXPECT_EQ(pf.pm1a_cnt, 0xb004);
	HEXPECT_EQ(pf.slp_typa, 3);
	HEXPECT_EQ(pf.slp_typb, 1);
}

/* Hardware-reduced ACPI (QEMU's microvm): no PM1 blocks, the FADT's sleep control
 * register (memory or I/O) with the DSDT's \_S5 values. */
HTEST(s5_hardware_reduced)
{
	static const uint8_t five[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05 };
	for (int io = 0; io < 2; io++) {
		std();
		dsdt(five, sizeof five);
		fadt_hw_reduced(io ? 1 : 0, io ? 0x4004 : 0xfea00200);
		HEXPECT_STREQ(s5_parse(), "");
		HEXPECT(pf.have_s5);
		HEXPECT_EQ(pf.sleep_ctl, io ? 0x4004 : 0xfea00200);
		HEXPECT_EQ(pf.sleep_ctl_space, io ? 1 : 0);
		HEXPECT_EQ(pf.slp_typa, 5);
		HEXPECT_EQ(pf.pm1a_cnt, 0);
	}
	/* the register but no \_S5: nothing of it is kept */
	std();
	dsdt((const uint8_t *)"\x08STR_\x0dx", 7);
	fadt_hw_reduced(0, 0xfea00200);
	HEXPECT_STR_HAS(s5_parse(), "no Name (_S5");
	HEXPECT_EQ(pf.sleep_ctl, 0);
}

HTEST(s5_missing_never_stops_the_boot)
{
	std();
	uint64_t e[1] = { MEM_BASE + OFF_MADT };
	xsdt_entries(e, 1);
	HEXPECT_STREQ(s5_parse(), "ACPI: no FADT");

	std();
	fadt(OFF_FADT, 276, 0x608, 1u << 20, 1, 0x608);
	fadt_pm1(0x604, 0, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: sleep control register (space 0, address 0x0) is "
				  "not an I/O port or memory");	/* hardware-reduced: PM1 unused */
	std();
	fadt(OFF_FADT, 244, 0x608, 1u << 20, 1, 0x608);
	fadt_pm1(0x604, 0, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: hardware-reduced, length 244 has no sleep control register");
	std();
	fadt_hw_reduced(2, 0x100);		/* PCI configuration space */
	HEXPECT_STR_HAS(s5_parse(), "sleep control register (space 2, address 0x100) is not");
	std();
	fadt_hw_reduced(1, 0x10000);
	HEXPECT_STR_HAS(s5_parse(), "address 0x10000) is not an I/O port or memory");

	std();
	fadt_pm1(0, 0x640, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: no PM1a control block");

	std();
	mem[OFF_FADT + 89] = 1;
	fix(OFF_FADT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: PM1_CNT_LEN 1 is shorter than 2");

	std();
	fadt_pm1(0xffff, 0, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: PM1a_CNT_BLK port 0xffff is past the I/O port space");

	std();
	fadt_pm1(0x604, 0x10000, MEM_BASE + OFF_DSDT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: PM1b_CNT_BLK port 0x10000 is past the I/O port space");

	std();
	put32(OFF_FADT + 48, 0x10000);
	fix(OFF_FADT);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: SMI_CMD port 0x10000 is past the I/O port space");

	std();
	fadt_pm1(0x604, 0, 0);
	HEXPECT_STREQ(s5_parse(), "ACPI FADT: no DSDT");

	std();
	fadt_pm1(0x604, 0, 0x90000000);
	HEXPECT_STREQ(s5_parse(), "ACPI DSDT: header at 0x90000000 points past the end of memory");

	std();
	mem[OFF_DSDT + 40] ^= 1;
	HEXPECT_STREQ(s5_parse(), "ACPI DSDT: checksum mismatch");

	std();
	memcpy(mem + OFF_DSDT, "SSDT", 4);
	HEXPECT_STR_HAS(s5_parse(), "ACPI DSDT: signature 'SSDT'");

	std();
	put32(OFF_DSDT + 4, OFF_FREE - OFF_DSDT + 1);
	fix(OFF_DSDT);
	mem_truncate(OFF_FREE);
	HEXPECT_STR_HAS(s5_parse(), "ACPI DSDT: length 513 at 0x7ffe0e00 points past the end of memory");
}

HTEST(s5_malformed_packages)
{
	static const struct {
		uint8_t aml[16];
		size_t n;
		const char *why;
	} cases[] = {
		{ { 0x08, 'S', 'T', 'R', '_', 0x0d, 'x', 0x00 }, 8,
		  "ACPI DSDT: no Name (_S5, Package ...) (a method, or in an SSDT: not read)" },
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x08 }, 10,
		  "ACPI DSDT: \\_S5 SLP_TYPa 0x8 does not fit its 3 bits" },
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x00, 0xff }, 10,
		  "ACPI DSDT: \\_S5 SLP_TYPb 0xffffffffffffffff does not fit its 3 bits" },
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0d, 'a', 0x00, 0x00 }, 12,
		  "ACPI DSDT: \\_S5 element 0 is not an integer constant" },
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x00, 0x0b, 0x01 }, 11,
		  "ACPI DSDT: \\_S5 element 1 is not an integer constant" },	/* word cut by the package */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x02, 0x00 }, 8,
		  "ACPI DSDT: \\_S5 package is empty" },
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x3f, 0x04, 0x00, 0x00 }, 10,
		  "ACPI DSDT: \\_S5 package at offset 41 has a bad length" },	/* past the table */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x01, 0x04 }, 8,
		  "ACPI DSDT: \\_S5 package at offset 41 has a bad length" },	/* no room for the count */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x41 }, 7,
		  "ACPI DSDT: \\_S5 package at offset 41 has a bad length" },	/* PkgLength cut */
		{ { 0x08, '_', 'S', '5', '_', 0x12, 0x76, 0x00, 0x02, 0x00, 0x00 }, 11,
		  "ACPI DSDT: \\_S5 package at offset 41 has a bad length" },	/* reserved bits set */
		{ { 0x08, '_', 'S', '5', '_', 0x12 }, 6,
		  "ACPI DSDT: \\_S5 package at offset 41 has a bad length" },	/* the table ends */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		std();
		dsdt(cases[i].aml, cases[i].n);
		HEXPECT_STREQ(s5_parse(), cases[i].why);
	}
}

HTEST(hpet_checks)
{
	std();
	put32(OFF_HPET + 4, 40);
	fix(OFF_HPET);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI HPET: length 40 is shorter than its header (56)");

	std();
	hpet(OFF_HPET, 1, 0xfed00000);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI HPET: base address space 1 is not system memory");

	std();
	hpet(OFF_HPET, 0, 0);
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI HPET: base address is 0");

	std();
	mem[OFF_HPET + 50] ^= 1;
	HEXPECT_EQ(parse(), -1);
	HEXPECT_STREQ(err, "ACPI HPET: checksum mismatch");
}

/* ---- sweeps ----------------------------------------------------------------------- */

/* Memory cut at every length: an error until everything fits, never a read past it. */
HTEST(memory_truncated_everywhere)
{
	int ok = 0;

	for (size_t n = 0; n <= OFF_SSDT + 36; n++) {
		std();
		mem_truncate(n);
		ok += parse() == 0;
	}
	HEXPECT_EQ(ok, 1);	/* only the full set parses */
}

/* Every table length from 0 up: rejected or parsed, never read past. */
HTEST(every_table_length)
{
	static const size_t offs[] = { OFF_XSDT, OFF_RSDT, OFF_MADT, OFF_FADT, OFF_HPET };

	for (size_t t = 0; t < sizeof offs / sizeof offs[0]; t++) {
		for (uint32_t len = 0; len < 300; len++) {
			std();
			if (offs[t] == OFF_RSDT)
				rsdp(OFF_RSDP, 0, (uint32_t)(MEM_BASE + OFF_RSDT), 0);
			put32(offs[t] + 4, len);
			fix(offs[t]);
			mem_truncate(offs[t] + len > OFF_FREE ? offs[t] + len : OFF_FREE);
			parse();
		}
	}
}

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rng(void)
{
	return xorshift_next(&rng_state);
}

/* Random damage with checksums repaired, so the damage reaches the fields. */
HTEST(random_damage_never_faults)
{
	static const size_t offs[] = { OFF_XSDT, OFF_MADT, OFF_FADT, OFF_HPET };
	int ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		std();
		size_t t = offs[rng() % 4];
		uint32_t len = get32(t + 4);
		int n = 1 + (int)(rng() % 3);
		for (int k = 0; k < n; k++) {
			size_t at = t + rng() % (len + 8);
			switch (rng() % 3) {
			case 0: mem[at] ^= (uint8_t)(1u << (rng() % 8)); break;
			case 1: mem[at] = (uint8_t)rng(); break;
			default: mem[at] = (uint8_t)(rng() % 4); break;
			}
		}
		fix(t);
		mem_truncate(OFF_FREE);
		if (parse() == 0) {
			ok++;
			HEXPECT(pf.ncpus >= 1 && pf.ncpus <= PLATFORM_MAX_CPUS);
			HEXPECT(pf.nioapics <= PLATFORM_MAX_IOAPICS && pf.niso <= PLATFORM_MAX_ISO);
		}
	}
	HEXPECT(ok > 0);
}

/* ---- fuzz seeds --------------------------------------------------------------------- */

static void write_seed(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	HREQUIRE(f != NULL);
	HEXPECT_EQ(fwrite(mem, 1, mem_size, f), mem_size);
	fclose(f);
}

HTEST(write_fuzz_seeds)
{
	const char *dir = getenv("HOSTTEST_ACPI_SEEDS");

	if (!dir)
		return;
	std_tables(0, OFF_FREE);
	HREQUIRE_EQ(parse_at(0), 0);
	write_seed(dir, "q35-xsdt");

	std_tables(0, OFF_FREE);
	rsdp(OFF_RSDP, 0, OFF_RSDT, 0);
	HREQUIRE_EQ(parse_at(0), 0);
	write_seed(dir, "rsdt-v1");

	std_tables(0, OFF_FREE);
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 2);
	madt_x2apic(300, 1, 2);
	madt_ioapic(0, 0xfec00000, 0);
	madt_iso(0, 2, 0);
	uint8_t o[12] = { 5, 12 };
	madt_raw(o, 12);
	put64(madt_end - 8, 0xfee00000);
	madt_finish();
	fadt(OFF_FADT, 116, 0xb008, 0, 0, 0);
	HREQUIRE_EQ(parse_at(0), 0);
	write_seed(dir, "x2apic-fadt1");

	/* \_S5 after a method, a string and a reference named like it, rooted, with a
	 * two-byte PkgLength and every integer prefix */
	static const uint8_t aml[] = {
		0x14, 0x08, '_', 'S', '5', '_', 0x00, 0xa4, 0x00,
		0x08, 'S', 'T', 'R', '_', 0x0d, '_', 'S', '5', '_', 0x00,
		0x08, 'R', 'E', 'F', '_', '_', 'S', '5', '_',
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x48, 0x01, 0x06, 0x0a, 0x05, 0x0b, 0x05, 0x00,
		0x0c, 0x00, 0x00, 0x00, 0x00, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff,
	};
	std_tables(0, OFF_FREE);
	dsdt(aml, sizeof aml);
	fadt_pm1(0x604, 0x640, OFF_DSDT);
	HREQUIRE_EQ(parse_at(0), 0);
	HREQUIRE(pf.have_s5 && pf.slp_typa == 5 && pf.slp_typb == 5);
	write_seed(dir, "s5-decoys");

	/* hardware-reduced: the sleep control register in memory */
	std_tables(0, OFF_FREE);
	fadt_hw_reduced(0, 0xfea00200);
	HREQUIRE_EQ(parse_at(0), 0);
	HREQUIRE(pf.have_s5 && pf.sleep_ctl == 0xfea00200);
	write_seed(dir, "s5-hw-reduced");
}

HTEST(no_error_buffer)
{
	struct phys_access pa = { mem_map, NULL };

	std();
	HEXPECT_EQ(acpi_parse(&pa, MEM_BASE, &pf, NULL, 0), 0);
	HEXPECT_EQ(acpi_parse(&pa, 0, &pf, NULL, 0), -1);
	char one[1] = { 'x' };
	HEXPECT_EQ(acpi_parse(&pa, 0, &pf, one, 1), -1);
	HEXPECT_EQ(one[0], '\0');
}

/* COM1's line (ISA IRQ 4): ISA's own unless overridden; reserved flags are refused. */
static int com1_with_override(bool override, uint32_t gsi, uint16_t flags, bool ioapic)
{
	std();
	madt_begin(OFF_MADT, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	if (ioapic)
		madt_ioapic(0, 0xfec00000u, 0);
	madt_iso(0, 2, 0);
	if (override)
		madt_iso(4, gsi, flags);
	madt_finish();
	return parse();
}

HTEST(com1_line_from_overrides)
{
	HREQUIRE_EQ(com1_with_override(false, 0, 0, true), 0);
	HEXPECT(pf.have_uart_irq);
	HEXPECT_EQ(pf.uart_irq.num, 4);
	HEXPECT(!pf.uart_irq.level && !pf.uart_irq.active_low);
	HREQUIRE_EQ(com1_with_override(true, 20, 0xf, true), 0);	/* level, active low */
	HEXPECT_EQ(pf.uart_irq.num, 20);
	HEXPECT(pf.uart_irq.level && pf.uart_irq.active_low);
	HREQUIRE_EQ(com1_with_override(true, 4, 0x5, true), 0);	/* edge, high, said */
	HEXPECT(!pf.uart_irq.level && !pf.uart_irq.active_low);
	HEXPECT_EQ(com1_with_override(true, 4, 0x2, true), -1);
	HEXPECT_STREQ(err, "ACPI MADT: the override of ISA IRQ 4 has reserved flags 0x2");
	HREQUIRE_EQ(com1_with_override(false, 0, 0, false), 0);	/* no IOAPIC: no line */
	HEXPECT(!pf.have_uart_irq);
}
