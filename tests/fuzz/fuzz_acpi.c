/*
 * tests/fuzz/fuzz_acpi.c: libFuzzer target for the ACPI parser (kernel/acpi.c).
 *
 * The input is physical memory from address 0 to its size, with the RSDP at 0; so
 * every table pointer the fuzzer writes is an offset into its own input, and every
 * byte past the input is "not readable" (map() returns NULL). The input buffer has
 * exactly the input's size, so a read the parser did not ask map() for is an ASan
 * report. Besides no faults, it checks that the error is one NUL-terminated line
 * of printable ASCII, that a success stays inside struct platform's arrays, and that
 * soft-off (S5) is either found, with a PM1a port or (hardware-reduced) a sleep
 * control register, and 3-bit SLP_TYP values, or missing with a printable reason.
 *
 * Checksums would stop almost every mutation at the first table, so when the last
 * input byte is odd the harness first repairs, in a copy of the same size, the
 * checksums of the RSDP, the RSDT and XSDT, every table they point to and the
 * DSDT an FADT among them names; inputs
 * with an even last byte reach the parser as they are, checksum errors included.
 * Seeds (tests/fuzz/corpus/acpi) are the q35-like tables of tests/host/test_acpi.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/acpi.h>
#include "fuzz_common.h"

struct fuzz_mem {
	const uint8_t *data;
	size_t size;
};

/* [phys, phys+len) inside the input, else NULL. */
static const void *fuzz_map(void *ctx, uint64_t phys, uint64_t len)
{
	const struct fuzz_mem *m = ctx;

	if (phys > m->size || len > m->size - phys)
		return NULL;
	return m->data + phys;
}

/* Little-endian u32 / u64 of the input at off (the caller checked the bounds). */
static uint64_t fuzz_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Make [off, off+len) sum to 0 by setting the byte at off+at, if all of it is there. */
static void fuzz_fix_sum(uint8_t *b, size_t size, uint64_t off, uint64_t len, uint64_t at)
{
	uint8_t sum = 0;

	if (off > size || len > size - off || at >= len)
		return;
	b[off + at] = 0;
	for (uint64_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[off + i]);
	b[off + at] = (uint8_t)-sum;
}

/* Repair the checksum of a root table at off and of every table its entries name. */
static void fuzz_fix_root(uint8_t *b, size_t size, uint64_t off, int esize)
{
	if (off > size || size - off < 36)
		return;
	uint64_t len = fuzz_le(b + off + 4, 4);
	for (uint64_t e = off + 36; len <= size - off && e + esize <= off + len; e += esize) {
		uint64_t t = fuzz_le(b + e, esize);
		if (t > size || size - t < 36)
			continue;
		uint64_t tlen = fuzz_le(b + t + 4, 4);
		if (memcmp(b + t, "FACP", 4) == 0 && tlen <= size - t && tlen >= 44) {
			/* the DSDT it names (X_DSDT first), for the \_S5 search */
			uint64_t d = tlen >= 148 ? fuzz_le(b + t + 140, 8) : 0;
			if (!d)
				d = fuzz_le(b + t + 40, 4);
			if (d <= size && size - d >= 36)
				fuzz_fix_sum(b, size, d, fuzz_le(b + d + 4, 4), 9);
		}
		fuzz_fix_sum(b, size, t, tlen, 9);
	}
	fuzz_fix_sum(b, size, off, len, 9);
}

/* Repair every checksum the parser will check, as far as the input reaches. */
static void fuzz_fix_checksums(uint8_t *b, size_t size)
{
	if (size < 36)
		return;
	fuzz_fix_root(b, size, fuzz_le(b + 16, 4), 4);
	fuzz_fix_root(b, size, fuzz_le(b + 24, 8), 8);
	fuzz_fix_sum(b, size, 0, 20, 8);
	fuzz_fix_sum(b, size, 0, fuzz_le(b + 20, 4), 32);
}

/* One input: memory at 0, RSDP at 0; checksums repaired when the last byte is odd. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = NULL;
	struct fuzz_mem m = { data, size };
	struct phys_access pa = { fuzz_map, &m };
	static struct platform pf;
	char err[PLATFORM_ERR_MAX];

	if (size > 0 && (data[size - 1] & 1) && (copy = malloc(size))) {
		memcpy(copy, data, size);
		fuzz_fix_checksums(copy, size);
		m.data = copy;
	}
	int r = acpi_parse(&pa, 0, &pf, err, sizeof err);
	free(copy);
	fuzz_check_err(err, sizeof err);
	if (r == 0) {
		/* soft-off: found with its ports and 3-bit values, or missing with a reason */
		fuzz_check_err(pf.s5_missing, sizeof pf.s5_missing);
		if (pf.have_s5 ? ((pf.pm1a_cnt == 0) == (pf.sleep_ctl == 0) || pf.slp_typa > 7 ||
				  pf.slp_typb > 7 || pf.s5_missing[0] || pf.sleep_ctl_space > 1 ||
				  (pf.sleep_ctl_space == 1 && pf.sleep_ctl > 0xffff))
			       : !pf.s5_missing[0] || pf.sleep_ctl)
			abort();
		if (err[0] || pf.ncpus == 0 || pf.ncpus > PLATFORM_MAX_CPUS ||
		    pf.nioapics > PLATFORM_MAX_IOAPICS || pf.niso > PLATFORM_MAX_ISO ||
		    pf.lapic_phys == 0 || !memchr(pf.oem_id, '\0', sizeof pf.oem_id) ||
		    (pf.have_pm_timer && pf.pm_timer_port > 0xfffc))
			abort();
	} else if (r != -1 || !err[0]) {
		abort();
	}
	return 0;
}
