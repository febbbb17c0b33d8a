/*
 * kernel/acpi.c: ACPI table parser, x86-64 hardware discovery.
 *
 * What it reads, in order:
 *
 *   RSDP ──► XSDT (revision >= 2 and an XSDT address) or RSDT ──► entries
 *                                                                  ├─ "APIC" MADT: CPUs,
 *                                                                  │   IOAPICs, overrides
 *                                                                  ├─ "FACP" FADT: PM timer,
 *                                                                  │   PM1 control ──► DSDT:
 *                                                                  │   the \_S5 package
 *                                                                  └─ "HPET" HPET: base
 *
 * What it trusts: nothing. Every table lives in firmware memory that the loader
 * handed over, and every byte of it may be wrong:
 *   - every physical range is asked of phys_access.map() before it is read, with
 *     phys + len checked for wrap-around first; NULL is "points past the end of
 *     memory" and a clear error, never a fault;
 *   - every length is checked against the structure's minimum before a field is read,
 *     and against ACPI_TABLE_MAX before the table is mapped; entry counts derive from
 *     the checked length, never from a count field;
 *   - every checksum (RSDP v1 and extended, every table we read) is verified;
 *   - multi-byte fields are read with byte loads (little endian, any alignment):
 *     the tables are packed and need not be aligned;
 *   - strings (OEM id, signatures) are copied with non-printable bytes replaced, so
 *     that an error message or the boot banner never prints control characters.
 *
 * Policy for well-formed tables that describe more than struct platform holds:
 * CPUs past PLATFORM_MAX_CPUS are counted in ncpus_dropped; IOAPICs and interrupt
 * source overrides past their arrays are dropped (the kernel then cannot route those
 * GSIs, which is not unsafe). A CPU whose local APIC id was already seen is skipped:
 * firmware may describe a CPU both as a local APIC (type 0) and as an x2APIC (type 9).
 * Processor entries that are neither enabled nor online-capable are unusable by
 * definition (ACPI 6.5 table 5.23) and are not recorded. A second MADT, FADT or HPET
 * is ignored: the first one in the root table wins. Tables we do not read are not
 * mapped past their header, so a broken SSDT does not stop the boot.
 *
 * Soft-off (S5) is optional, so nothing about it stops the boot: a missing or broken
 * DSDT, a malformed \_S5, ports past the I/O space leave have_s5 false and the reason
 * in s5_missing. There is no AML interpreter: the DSDT is searched for the one
 * construct firmware uses for it, Name (_S5, Package () {SLP_TYPa, SLP_TYPb, ...})
 * (NameOp, an optional root prefix, "_S5_", PackageOp, PkgLength, NumElements, then
 * integer constants); an \_S5 that is a method, or one defined only in an SSDT, is
 * not found (said in s5_missing).
 *
 * Layouts (ACPI 6.5, section 5.2): RSDP 5.2.5.3, header 5.2.6, MADT 5.2.12,
 * FADT 5.2.9, HPET (IA-PC HPET spec 1.0a, table 3); AML encodings 20.2 (NameOp 0x08,
 * PackageOp 0x12, PkgLength 20.2.4, integer constants 20.2.3).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <kernel/acpi.h>

/* RSDP: v1 is 20 bytes, v2 adds length, XSDT address and an extended checksum. */
#define RSDP_V1_LEN		20
#define RSDP_V2_LEN		36
#define RSDP_OEMID		9
#define RSDP_REVISION		15
#define RSDP_RSDT		16
#define RSDP_LENGTH		20
#define RSDP_XSDT		24

/* System description table header, common to every table below. */
#define ACPI_HDR_LEN		36
#define ACPI_HDR_LENGTH		4

/* MADT: header, local APIC address, flags, then variable-length entries. */
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_ENTRIES		44
#define MADT_PCAT_COMPAT	(1u << 0)
#define MADT_LAPIC		0	/* processor local APIC, 8 bytes */
#define MADT_IOAPIC		1	/* 12 bytes */
#define MADT_ISO		2	/* interrupt source override, 10 bytes */
#define MADT_LAPIC_OVERRIDE	5	/* 64-bit local APIC address, 12 bytes */
#define MADT_X2APIC		9	/* processor local x2APIC, 16 bytes */
#define MADT_CPU_ENABLED	(1u << 0)
#define MADT_CPU_ONLINE_CAPABLE	(1u << 1)

/* FADT fields we read; each is read only when the table's length covers it. */
#define FADT_DSDT		40	/* u32 physical address */
#define FADT_SMI_CMD		48	/* u32 I/O port */
#define FADT_ACPI_ENABLE	52	/* u8 */
#define FADT_PM1A_CNT_BLK	64	/* u32 I/O port */
#define FADT_PM1B_CNT_BLK	68	/* u32 I/O port */
#define FADT_PM_TMR_BLK		76	/* u32 I/O port */
#define FADT_PM1_CNT_LEN	89	/* u8, at least 2 */
#define FADT_PM_TMR_LEN		91	/* u8, 4 when the PM timer exists */
#define FADT_FLAGS		112	/* u32 */
#define FADT_X_DSDT		140	/* u64 physical address */
#define FADT_X_PM1A_CNT_BLK	172	/* generic address structure, 12 bytes */
#define FADT_X_PM1B_CNT_BLK	184	/* generic address structure, 12 bytes */
#define FADT_X_PM_TMR_BLK	208	/* generic address structure, 12 bytes */
#define FADT_SLEEP_CONTROL_REG	244	/* generic address structure (hardware-reduced) */
#define FADT_TMR_VAL_EXT	(1u << 8)
#define FADT_HW_REDUCED_ACPI	(1u << 20)

/* HPET: event timer block id, then the base address as a generic address structure. */
#define HPET_BASE		40
#define HPET_MIN_LEN		56

/* Generic address structure: space id, bit width, bit offset, access size, address. */
#define GAS_SPACE		0
#define GAS_ADDRESS		4
#define GAS_LEN			12
#define GAS_SPACE_MEMORY	0
#define GAS_SPACE_IO		1

/* Everything one parse needs, passed down instead of globals. */
struct acpi_ctx {
	const struct phys_access *pa;
	struct platform *out;
	char *err;
	size_t errlen;
};

/* Read a little-endian u16 from any alignment. */
static uint16_t acpi_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

/* Read a little-endian u32 from any alignment. */
static uint32_t acpi_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Read a little-endian u64 from any alignment. */
static uint64_t acpi_le64(const uint8_t *p)
{
	return (uint64_t)acpi_le32(p) | (uint64_t)acpi_le32(p + 4) << 32;
}

/* Sum of len bytes modulo 256; a valid ACPI structure sums to 0. */
static uint8_t acpi_checksum(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* Copy n firmware bytes as a printable, NUL-terminated string (dst holds n + 1). */
static void acpi_copy_printable(char *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[n] = '\0';
}

/* Map [phys, phys+len), or NULL when it wraps around or is not readable. */
static const uint8_t *acpi_map(struct acpi_ctx *c, uint64_t phys, uint64_t len)
{
	if (len == 0 || phys > UINT64_MAX - (len - 1))
		return NULL;
	return c->pa->map(c->pa->ctx, phys, len);
}

/* Human name of a table signature, for messages ("APIC" is the MADT). */
static const char *acpi_table_name(const char *sig)
{
	if (memcmp(sig, "APIC", 4) == 0)
		return "MADT";
	if (memcmp(sig, "FACP", 4) == 0)
		return "FADT";
	return sig;	/* "HPET", "XSDT", "RSDT" name themselves */
}

/*
 * Map a whole table whose header is at phys and check its signature, its length
 * (at least minlen, at most ACPI_TABLE_MAX) and its checksum. Returns the table and
 * its length in *lenp, or NULL with the error written.
 */
static const uint8_t *acpi_map_table(struct acpi_ctx *c, uint64_t phys, const char *sig,
				     uint32_t minlen, uint32_t *lenp)
{
	const char *name = acpi_table_name(sig);
	const uint8_t *t = acpi_map(c, phys, ACPI_HDR_LEN);

	if (!t) {
		snprintf(c->err, c->errlen,
			 "ACPI %s: header at 0x%llx points past the end of memory",
			 name, (unsigned long long)phys);
		return NULL;
	}
	if (memcmp(t, sig, 4) != 0) {
		char got[5];

		acpi_copy_printable(got, t, 4);
		snprintf(c->err, c->errlen, "ACPI %s: signature '%s' at 0x%llx, expected '%s'",
			 name, got, (unsigned long long)phys, sig);
		return NULL;
	}
	uint32_t len = acpi_le32(t + ACPI_HDR_LENGTH);
	if (len < minlen) {
		snprintf(c->err, c->errlen, "ACPI %s: length %u is shorter than its header (%u)",
			 name, (unsigned)len, (unsigned)minlen);
		return NULL;
	}
	if (len > ACPI_TABLE_MAX) {
		snprintf(c->err, c->errlen, "ACPI %s: length %u is larger than the limit (%u)",
			 name, (unsigned)len, (unsigned)ACPI_TABLE_MAX);
		return NULL;
	}
	t = acpi_map(c, phys, len);
	if (!t) {
		snprintf(c->err, c->errlen,
			 "ACPI %s: length %u at 0x%llx points past the end of memory",
			 name, (unsigned)len, (unsigned long long)phys);
		return NULL;
	}
	if (acpi_checksum(t, len) != 0) {
		snprintf(c->err, c->errlen, "ACPI %s: checksum mismatch", name);
		return NULL;
	}
	*lenp = len;
	return t;
}

/*
 * Read the RSDP: checksums, revision, OEM id, and which root table to use.
 * Sets *root to its physical address and *xsdt to whether it has 8-byte entries.
 */
static int acpi_parse_rsdp(struct acpi_ctx *c, uint64_t phys, uint64_t *root, bool *xsdt)
{
	const uint8_t *r = acpi_map(c, phys, RSDP_V1_LEN);

	if (!r) {
		snprintf(c->err, c->errlen, "ACPI RSDP: 0x%llx points past the end of memory",
			 (unsigned long long)phys);
		return -1;
	}
	if (memcmp(r, "RSD PTR ", 8) != 0) {
		snprintf(c->err, c->errlen, "ACPI RSDP: bad signature at 0x%llx",
			 (unsigned long long)phys);
		return -1;
	}
	if (acpi_checksum(r, RSDP_V1_LEN) != 0) {
		snprintf(c->err, c->errlen, "ACPI RSDP: checksum mismatch");
		return -1;
	}
	acpi_copy_printable(c->out->oem_id, r + RSDP_OEMID, 6);
	c->out->acpi_revision = r[RSDP_REVISION];
	*root = acpi_le32(r + RSDP_RSDT);
	*xsdt = false;
	if (r[RSDP_REVISION] < 2)
		goto check_root;

	r = acpi_map(c, phys, RSDP_V2_LEN);
	if (!r) {
		snprintf(c->err, c->errlen,
			 "ACPI RSDP: revision %u structure at 0x%llx points past the end of memory",
			 (unsigned)c->out->acpi_revision, (unsigned long long)phys);
		return -1;
	}
	uint32_t len = acpi_le32(r + RSDP_LENGTH);
	if (len < RSDP_V2_LEN || len > ACPI_TABLE_MAX) {
		snprintf(c->err, c->errlen, "ACPI RSDP: length %u is out of range [%u, %u]",
			 (unsigned)len, (unsigned)RSDP_V2_LEN, (unsigned)ACPI_TABLE_MAX);
		return -1;
	}
	r = acpi_map(c, phys, len);
	if (!r) {
		snprintf(c->err, c->errlen,
			 "ACPI RSDP: length %u at 0x%llx points past the end of memory",
			 (unsigned)len, (unsigned long long)phys);
		return -1;
	}
	if (acpi_checksum(r, len) != 0) {
		snprintf(c->err, c->errlen, "ACPI RSDP: extended checksum mismatch");
		return -1;
	}
	uint64_t x = acpi_le64(r + RSDP_XSDT);
	if (x != 0) {
		*root = x;
		*xsdt = true;
	}
check_root:
	if (*root == 0) {
		snprintf(c->err, c->errlen, "ACPI RSDP: no RSDT or XSDT address");
		return -1;
	}
	return 0;
}

/* Record one processor (MADT type 0 or 9) unless it is unusable or already known. */
static void acpi_add_cpu(struct acpi_ctx *c, uint64_t hwid, uint32_t uid, uint32_t flags)
{
	struct platform *p = c->out;
	bool enabled = flags & MADT_CPU_ENABLED;
	bool online = !enabled && (flags & MADT_CPU_ONLINE_CAPABLE);

	if (!enabled && !online)
		return;
	for (uint32_t i = 0; i < p->ncpus; i++)
		if (p->cpus[i].hwid == hwid)
			return;
	if (p->ncpus == PLATFORM_MAX_CPUS) {
		p->ncpus_dropped++;
		return;
	}
	struct platform_cpu *cpu = &p->cpus[p->ncpus++];
	cpu->hwid = hwid;
	cpu->uid = uid;
	cpu->enabled = enabled;
	cpu->online_capable = online;
}

/* Smallest valid length of a MADT entry of this type; 2 for types we skip. */
static uint32_t acpi_madt_min_len(uint8_t type)
{
	switch (type) {
	case MADT_LAPIC:		return 8;
	case MADT_IOAPIC:		return 12;
	case MADT_ISO:			return 10;
	case MADT_LAPIC_OVERRIDE:	return 12;
	case MADT_X2APIC:		return 16;
	default:			return 2;
	}
}

#define MADT_COM1_IRQ	4	/* the console's UART, COM1 at 0x3f8 */

/*
 * An ISA IRQ's line: identity-mapped to the same GSI, edge-triggered, active high
 * (the ISA bus's own), unless an interrupt source override of bus 0 says otherwise.
 * The override's MPS INTI flags: polarity in bits 1:0, trigger in bits 3:2, each
 * 00 "as the bus", 01 high / edge, 11 low / level; 10 is reserved.
 */
static int acpi_isa_line(struct acpi_ctx *c, uint8_t irq, struct arch_irq_line *l)
{
	const struct platform *p = c->out;

	*l = (struct arch_irq_line){ irq, false, false };
	for (uint32_t i = 0; i < p->niso; i++) {
		const struct platform_iso *iso = &p->iso[i];
		if (iso->bus != 0 || iso->source != irq)
			continue;
		unsigned pol = iso->flags & 3, trig = (iso->flags >> 2) & 3;
		if (pol == 2 || trig == 2) {
			snprintf(c->err, c->errlen,
				 "ACPI MADT: the override of ISA IRQ %u has reserved flags 0x%x",
				 (unsigned)irq, (unsigned)iso->flags);
			return -1;
		}
		l->num = iso->gsi;
		l->active_low = pol == 3;
		l->level = trig == 3;
	}
	return 0;
}

/* Walk the MADT ("APIC") entries into CPUs, IOAPICs and interrupt source overrides. */
static int acpi_parse_madt(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	struct platform *p = c->out;

	p->lapic_phys = acpi_le32(t + MADT_LAPIC_ADDR);
	p->have_8259 = acpi_le32(t + MADT_FLAGS) & MADT_PCAT_COMPAT;

	uint32_t off = MADT_ENTRIES;
	for (uint32_t idx = 0; off < len; idx++) {
		if (len - off < 2) {
			snprintf(c->err, c->errlen,
				 "ACPI MADT: entry %u at offset %u is cut off by the end of the table (%u)",
				 (unsigned)idx, (unsigned)off, (unsigned)len);
			return -1;
		}
		const uint8_t *e = t + off;
		uint8_t type = e[0], elen = e[1];
		if (elen < 2) {
			snprintf(c->err, c->errlen,
				 "ACPI MADT: entry %u (type %u) at offset %u has length %u",
				 (unsigned)idx, (unsigned)type, (unsigned)off, (unsigned)elen);
			return -1;
		}
		if (elen > len - off) {
			snprintf(c->err, c->errlen,
				 "ACPI MADT: entry %u (type %u) at offset %u: length %u runs past the end of the table (%u)",
				 (unsigned)idx, (unsigned)type, (unsigned)off, (unsigned)elen,
				 (unsigned)len);
			return -1;
		}
		if (elen < acpi_madt_min_len(type)) {
			snprintf(c->err, c->errlen,
				 "ACPI MADT: entry %u (type %u) length %u is shorter than %u",
				 (unsigned)idx, (unsigned)type, (unsigned)elen,
				 (unsigned)acpi_madt_min_len(type));
			return -1;
		}
		switch (type) {
		case MADT_LAPIC:
			/* uid, APIC id, flags; id 0xff is the broadcast id, never a CPU */
			if (e[3] != 0xff)
				acpi_add_cpu(c, e[3], e[2], acpi_le32(e + 4));
			break;
		case MADT_X2APIC:
			/* reserved[2], x2APIC id, flags, uid */
			if (acpi_le32(e + 4) != 0xffffffffu)
				acpi_add_cpu(c, acpi_le32(e + 4), acpi_le32(e + 12),
					     acpi_le32(e + 8));
			break;
		case MADT_IOAPIC:
			/* id, reserved, address, GSI base */
			if (p->nioapics < PLATFORM_MAX_IOAPICS) {
				struct platform_ioapic *io = &p->ioapics[p->nioapics++];
				io->id = e[2];
				io->phys = acpi_le32(e + 4);
				io->gsi_base = acpi_le32(e + 8);
			}
			break;
		case MADT_ISO:
			/* bus, source irq, GSI, MPS INTI flags */
			if (p->niso < PLATFORM_MAX_ISO) {
				struct platform_iso *iso = &p->iso[p->niso++];
				iso->bus = e[2];
				iso->source = e[3];
				iso->gsi = acpi_le32(e + 4);
				iso->flags = acpi_le16(e + 8);
			}
			break;
		case MADT_LAPIC_OVERRIDE:
			/* reserved[2], 64-bit local APIC address */
			p->lapic_phys = acpi_le64(e + 4);
			break;
		default:
			break;
		}
		off += elen;
	}
	if (p->lapic_phys == 0) {
		snprintf(c->err, c->errlen, "ACPI MADT: local APIC address is 0");
		return -1;
	}
	if (p->nioapics && acpi_isa_line(c, MADT_COM1_IRQ, &p->uart_irq) < 0)
		return -1;
	p->have_uart_irq = p->nioapics > 0;
	if (p->ncpus == 0) {
		snprintf(c->err, c->errlen, "ACPI MADT: no usable processor entry");
		return -1;
	}
	return 0;
}

/*
 * Read the PM timer from the FADT ("FACP"). Its length depends on its revision
 * (116 bytes in ACPI 1.0, 244 in 2.0, 276 since 5.0): each field is read only when
 * the length covers it. X_PM_TMR_BLK wins over PM_TMR_BLK when it is an I/O address.
 */
static int acpi_parse_fadt(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	struct platform *p = c->out;
	uint32_t flags = len >= FADT_FLAGS + 4 ? acpi_le32(t + FADT_FLAGS) : 0;
	uint64_t port = 0;
	const char *field = "X_PM_TMR_BLK";

	if (flags & FADT_HW_REDUCED_ACPI)
		return 0;	/* hardware-reduced ACPI has no PM timer */
	if (len >= FADT_X_PM_TMR_BLK + GAS_LEN &&
	    t[FADT_X_PM_TMR_BLK + GAS_SPACE] == GAS_SPACE_IO)
		port = acpi_le64(t + FADT_X_PM_TMR_BLK + GAS_ADDRESS);
	if (port == 0 && len >= FADT_PM_TMR_BLK + 4) {
		field = "PM_TMR_BLK";
		port = acpi_le32(t + FADT_PM_TMR_BLK);
		/* PM_TMR_LEN is 4 when the timer exists, 0 when it does not */
		if (len >= FADT_PM_TMR_LEN + 1 && t[FADT_PM_TMR_LEN] != 4)
			port = 0;
	}
	if (port == 0)
		return 0;
	if (port > 0xffff - 3) {
		snprintf(c->err, c->errlen,
			 "ACPI FADT: %s port 0x%llx is past the I/O port space",
			 field, (unsigned long long)port);
		return -1;
	}
	p->have_pm_timer = true;
	p->pm_timer_port = (uint32_t)port;
	p->pm_timer_32bit = flags & FADT_TMR_VAL_EXT;
	return 0;
}

/* ---- soft-off (S5) ------------------------------------------------------------- */

#define AML_NAME_OP		0x08
#define AML_ROOT_PREFIX		'\\'
#define AML_PACKAGE_OP		0x12
#define SLP_TYP_MAX		7	/* a 3-bit field of PM1 control */

/* An AML integer constant at p (before end): Zero, One, Ones or a Byte, Word, DWord or
 * QWord prefix and its value. The bytes it takes, 0 when there is none or it is cut. */
static unsigned aml_integer(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	if (p >= end)
		return 0;
	size_t room = (size_t)(end - p);
	switch (p[0]) {
	case 0x00: *v = 0; return 1;				/* ZeroOp */
	case 0x01: *v = 1; return 1;				/* OneOp */
	case 0xff: *v = UINT64_MAX; return 1;			/* OnesOp */
	case 0x0a: if (room < 2) return 0; *v = p[1]; return 2;			/* BytePrefix */
	case 0x0b: if (room < 3) return 0; *v = acpi_le16(p + 1); return 3;	/* WordPrefix */
	case 0x0c: if (room < 5) return 0; *v = acpi_le32(p + 1); return 5;	/* DWordPrefix */
	case 0x0e: if (room < 9) return 0; *v = acpi_le64(p + 1); return 9;	/* QWordPrefix */
	}
	return 0;
}

/* A PkgLength at p (before end): its value in *len, the bytes it takes, or 0 when it
 * is cut or malformed (bits 5-4 of a lead byte followed by others must be zero). */
static unsigned aml_pkglength(const uint8_t *p, const uint8_t *end, uint32_t *len)
{
	if (p >= end)
		return 0;
	unsigned follow = p[0] >> 6;
	if ((size_t)(end - p) < follow + 1)
		return 0;
	if (follow == 0) {
		*len = p[0] & 0x3f;
		return 1;
	}
	if (p[0] & 0x30)
		return 0;
	uint32_t v = p[0] & 0x0f;
	for (unsigned i = 0; i < follow; i++)
		v |= (uint32_t)p[1 + i] << (4 + 8 * i);
	*len = v;
	return follow + 1;
}

/*
 * Find Name (_S5, Package () {a, b, ...}) in the AML aml[0, n): 0 with the SLP_TYP
 * values, or -1 with the reason in why. An "_S5_" in any other place (a method's
 * name, a string, a reference) is passed over. One element gives both values.
 */
static int aml_find_s5(const uint8_t *aml, size_t n, uint8_t *typa, uint8_t *typb, char *why,
		       size_t whylen)
{
	const uint8_t *end = aml + n;
	for (size_t i = 1; i + 4 < n; i++) {
		if (memcmp(aml + i, "_S5_", 4) != 0)
			continue;
		bool named = aml[i - 1] == AML_NAME_OP ||
			     (i >= 2 && aml[i - 1] == AML_ROOT_PREFIX && aml[i - 2] == AML_NAME_OP);
		if (!named || aml[i + 4] != AML_PACKAGE_OP)
			continue;
		const uint8_t *pkg = aml + i + 5;
		uint32_t pkglen;
		unsigned k = aml_pkglength(pkg, end, &pkglen);
		if (k == 0 || pkglen < k + 1 || pkglen > (size_t)(end - pkg)) {
			snprintf(why, whylen, "ACPI DSDT: \\_S5 package at offset %zu has a bad length",
				 ACPI_HDR_LEN + i + 4);
			return -1;
		}
		const uint8_t *q = pkg + k, *pend = pkg + pkglen;
		uint8_t count = *q++;
		uint64_t v[2] = { 0, 0 };
		for (unsigned e = 0; e < 2 && e < count; e++) {
			unsigned used = aml_integer(q, pend, &v[e]);
			if (used == 0) {
				snprintf(why, whylen,
					 "ACPI DSDT: \\_S5 element %u is not an integer constant", e);
				return -1;
			}
			q += used;
		}
		if (count == 0) {
			snprintf(why, whylen, "ACPI DSDT: \\_S5 package is empty");
			return -1;
		}
		if (count == 1)
			v[1] = v[0];
		for (unsigned e = 0; e < 2; e++)
			if (v[e] > SLP_TYP_MAX) {
				snprintf(why, whylen,
					 "ACPI DSDT: \\_S5 SLP_TYP%c 0x%llx does not fit its 3 bits",
					 e ? 'b' : 'a', (unsigned long long)v[e]);
				return -1;
			}
		*typa = (uint8_t)v[0];
		*typb = (uint8_t)v[1];
		return 0;
	}
	snprintf(why, whylen,
		 "ACPI DSDT: no Name (_S5, Package ...) (a method, or in an SSDT: not read)");
	return -1;
}

/* A PM1 control port of the FADT: the X_ field when it is an I/O address, else the
 * 32-bit one. 0 when neither is there. */
static uint64_t fadt_port(const uint8_t *t, uint32_t len, uint32_t xoff, uint32_t off)
{
	uint64_t port = 0;
	if (len >= xoff + GAS_LEN && t[xoff + GAS_SPACE] == GAS_SPACE_IO)
		port = acpi_le64(t + xoff + GAS_ADDRESS);
	if (port == 0 && len >= off + 4)
		port = acpi_le32(t + off);
	return port;
}

/* The S5 registers: PM1 control from the FADT, SLP_TYP from the DSDT's \_S5. Never
 * fails the parse (see the top): have_s5, or the reason in s5_missing. */
static void acpi_parse_s5(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	struct platform *p = c->out;
	char *why = p->s5_missing;
	size_t whylen = sizeof p->s5_missing;
	uint32_t flags = len >= FADT_FLAGS + 4 ? acpi_le32(t + FADT_FLAGS) : 0;

	uint64_t sctl = 0;		/* hardware-reduced: the sleep control register */
	uint8_t sspace = 0;
	if (flags & FADT_HW_REDUCED_ACPI) {
		/* no PM1 blocks: the sleep control register, an 8-bit register in I/O or
		 * memory space (ACPI 6.5 4.8.3.7) */
		if (len < FADT_SLEEP_CONTROL_REG + GAS_LEN) {
			snprintf(why, whylen, "ACPI FADT: hardware-reduced, length %u has no sleep "
				 "control register", (unsigned)len);
			return;
		}
		const uint8_t *g = t + FADT_SLEEP_CONTROL_REG;
		uint64_t addr = acpi_le64(g + GAS_ADDRESS);
		if ((g[GAS_SPACE] != GAS_SPACE_IO && g[GAS_SPACE] != GAS_SPACE_MEMORY) || addr == 0 ||
		    (g[GAS_SPACE] == GAS_SPACE_IO && addr > 0xffff)) {
			snprintf(why, whylen, "ACPI FADT: sleep control register (space %u, address "
				 "0x%llx) is not an I/O port or memory", (unsigned)g[GAS_SPACE],
				 (unsigned long long)addr);
			return;
		}
		sspace = g[GAS_SPACE];
		sctl = addr;
	}
	uint64_t a = sctl ? 0 : fadt_port(t, len, FADT_X_PM1A_CNT_BLK, FADT_PM1A_CNT_BLK);
	uint64_t b = sctl ? 0 : fadt_port(t, len, FADT_X_PM1B_CNT_BLK, FADT_PM1B_CNT_BLK);
	if (a == 0 && !sctl) {
		snprintf(why, whylen, "ACPI FADT: no PM1a control block");
		return;
	}
	if (!sctl && len >= FADT_PM1_CNT_LEN + 1 && t[FADT_PM1_CNT_LEN] < 2) {
		snprintf(why, whylen, "ACPI FADT: PM1_CNT_LEN %u is shorter than 2",
			 (unsigned)t[FADT_PM1_CNT_LEN]);
		return;
	}
	if (a > 0xffff - 1 || b > 0xffff - 1) {
		snprintf(why, whylen, "ACPI FADT: PM1%c_CNT_BLK port 0x%llx is past the I/O port space",
			 a > 0xffff - 1 ? 'a' : 'b', (unsigned long long)(a > 0xffff - 1 ? a : b));
		return;
	}
	uint64_t smi = len >= FADT_SMI_CMD + 4 ? acpi_le32(t + FADT_SMI_CMD) : 0;
	if (smi > 0xffff) {
		snprintf(why, whylen, "ACPI FADT: SMI_CMD port 0x%llx is past the I/O port space",
			 (unsigned long long)smi);
		return;
	}
	uint64_t dsdt = len >= FADT_X_DSDT + 8 ? acpi_le64(t + FADT_X_DSDT) : 0;
	if (dsdt == 0 && len >= FADT_DSDT + 4)
		dsdt = acpi_le32(t + FADT_DSDT);
	if (dsdt == 0) {
		snprintf(why, whylen, "ACPI FADT: no DSDT");
		return;
	}
	/* the DSDT's errors go to s5_missing, not to the parse's error */
	struct acpi_ctx d = { c->pa, c->out, why, whylen };
	uint32_t dlen;
	const uint8_t *dt = acpi_map_table(&d, dsdt, "DSDT", ACPI_HDR_LEN, &dlen);
	uint8_t typa, typb;
	if (!dt || aml_find_s5(dt + ACPI_HDR_LEN, dlen - ACPI_HDR_LEN, &typa, &typb, why, whylen) < 0)
		return;
	p->have_s5 = true;
	p->pm1a_cnt = (uint16_t)a;
	p->pm1b_cnt = (uint16_t)b;
	p->slp_typa = typa;
	p->slp_typb = typb;
	p->smi_cmd = (uint16_t)smi;
	p->acpi_enable = len >= FADT_ACPI_ENABLE + 1 ? t[FADT_ACPI_ENABLE] : 0;
	p->sleep_ctl = sctl;
	p->sleep_ctl_space = sspace;
	why[0] = '\0';
}

/* Read the HPET's base address; it must be in system memory. */
static int acpi_parse_hpet(struct acpi_ctx *c, const uint8_t *t, uint32_t len)
{
	(void)len;	/* acpi_map_table checked len >= HPET_MIN_LEN */
	uint8_t space = t[HPET_BASE + GAS_SPACE];
	uint64_t base = acpi_le64(t + HPET_BASE + GAS_ADDRESS);

	if (space != GAS_SPACE_MEMORY) {
		snprintf(c->err, c->errlen,
			 "ACPI HPET: base address space %u is not system memory",
			 (unsigned)space);
		return -1;
	}
	if (base == 0) {
		snprintf(c->err, c->errlen, "ACPI HPET: base address is 0");
		return -1;
	}
	c->out->have_hpet = true;
	c->out->hpet_phys = base;
	return 0;
}

/* RSDP, then the root table, then the MADT, FADT and HPET it lists (see acpi.h). */
int acpi_parse(const struct phys_access *pa, uint64_t rsdp_phys, struct platform *out,
	       char *err, size_t errlen)
{
	char scratch[1];
	struct acpi_ctx c = { pa, out, err, errlen };

	if (!c.err || c.errlen == 0) {
		c.err = scratch;
		c.errlen = sizeof scratch;
	}
	c.err[0] = '\0';
	memset(out, 0, sizeof *out);

	uint64_t root_phys;
	bool xsdt;
	if (acpi_parse_rsdp(&c, rsdp_phys, &root_phys, &xsdt) < 0)
		return -1;

	const char *root_sig = xsdt ? "XSDT" : "RSDT";
	uint32_t root_len, esize = xsdt ? 8 : 4;
	const uint8_t *root = acpi_map_table(&c, root_phys, root_sig, ACPI_HDR_LEN, &root_len);
	if (!root)
		return -1;

	/* Find the first MADT, FADT and HPET; entries is derived from the checked length. */
	uint64_t madt = 0, fadt = 0, hpet = 0;
	uint32_t entries = (root_len - ACPI_HDR_LEN) / esize;
	for (uint32_t i = 0; i < entries; i++) {
		const uint8_t *e = root + ACPI_HDR_LEN + i * esize;
		uint64_t phys = xsdt ? acpi_le64(e) : acpi_le32(e);
		if (phys == 0)
			continue;	/* some firmware leaves empty slots */
		const uint8_t *h = acpi_map(&c, phys, ACPI_HDR_LEN);
		if (!h) {
			snprintf(c.err, c.errlen,
				 "ACPI %s: entry %u points past the end of memory (0x%llx)",
				 root_sig, (unsigned)i, (unsigned long long)phys);
			return -1;
		}
		if (memcmp(h, "APIC", 4) == 0 && !madt)
			madt = phys;
		else if (memcmp(h, "FACP", 4) == 0 && !fadt)
			fadt = phys;
		else if (memcmp(h, "HPET", 4) == 0 && !hpet)
			hpet = phys;
	}

	const uint8_t *t;
	uint32_t len;
	if (!madt) {
		snprintf(c.err, c.errlen, "ACPI: no MADT");
		return -1;
	}
	if (!(t = acpi_map_table(&c, madt, "APIC", MADT_ENTRIES, &len)) ||
	    acpi_parse_madt(&c, t, len) < 0)
		return -1;
	if (fadt) {
		if (!(t = acpi_map_table(&c, fadt, "FACP", ACPI_HDR_LEN, &len)) ||
		    acpi_parse_fadt(&c, t, len) < 0)
			return -1;
		acpi_parse_s5(&c, t, len);
	} else {
		snprintf(out->s5_missing, sizeof out->s5_missing, "ACPI: no FADT");
	}
	if (hpet && (!(t = acpi_map_table(&c, hpet, "HPET", HPET_MIN_LEN, &len)) ||
		     acpi_parse_hpet(&c, t, len) < 0))
		return -1;
	return 0;
}
