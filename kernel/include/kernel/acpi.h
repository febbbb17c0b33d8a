/*
 * kernel/acpi.h: the ACPI table parser (x86-64 hardware discovery).
 *
 * Calling context: boot CPU, once, before interrupts and other cores are up. Does
 * not block, does not allocate, keeps no state between calls; reads physical memory
 * only through the caller's struct phys_access, and keeps using a pointer map()
 * returned while it maps more (the root table while it looks at each entry), so
 * map() must not unmap earlier ranges during one acpi_parse(). Also built into
 * host tests and a libFuzzer target (tests/host/test_acpi.c, tests/fuzz/fuzz_acpi.c).
 */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include <kernel/platform.h>

/* Largest table (RSDT, XSDT, MADT, FADT, HPET, DSDT) the parser accepts, in bytes. */
#define ACPI_TABLE_MAX (1u << 20)

/*
 * Parse the RSDP at rsdp_phys, its RSDT or XSDT, and the MADT, FADT and HPET they
 * point to, and the DSDT the FADT points to (for \_S5 only), into *out (which is
 * cleared first). Returns 0, or -1 with a one-line message naming the table and the
 * field in err (errlen bytes, always NUL-terminated when errlen > 0); *out is then
 * partly filled and must not be used. Soft-off never makes it fail: out->have_s5, or
 * the reason in out->s5_missing.
 */
int acpi_parse(const struct phys_access *pa, uint64_t rsdp_phys, struct platform *out,
	       char *err, size_t errlen);

#endif
