/*
 * kernel/fdt.h: the flattened device tree parser (aarch64 hardware discovery).
 *
 * Calling context: boot CPU, once, before interrupts and other cores are up. Does
 * not block, does not allocate, keeps no state between calls; uses about 3 KiB of
 * stack. Also built into host tests and a libFuzzer target (tests/host/test_fdt.c,
 * tests/fuzz/fuzz_fdt.c).
 */
#ifndef KERNEL_FDT_H
#define KERNEL_FDT_H

#include <stddef.h>
#include <stdint.h>

#include <kernel/platform.h>

#define FDT_MAGIC      0xd00dfeedu
#define FDT_HEADER_LEN 40	/* bytes fdt_totalsize() reads */
#define FDT_MAX_DEPTH  32	/* deepest node accepted; the root is depth 0 */

/*
 * The header's totalsize, so that a caller holding only the first FDT_HEADER_LEN
 * bytes knows how much to map; 0 if the magic is wrong. The value is untrusted:
 * fdt_parse() checks it again against what was mapped.
 */
uint32_t fdt_totalsize(const void *hdr40);

/*
 * Parse the device tree blob (avail readable bytes at blob, any alignment) into
 * *out (which is cleared first). Returns 0, or -1 with a one-line message naming
 * the node and the property in err (errlen bytes, always NUL-terminated when
 * errlen > 0); *out is then partly filled and must not be used.
 */
int fdt_parse(const void *blob, size_t avail, struct platform *out, char *err,
	      size_t errlen);

#endif
