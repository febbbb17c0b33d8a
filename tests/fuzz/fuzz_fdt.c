/*
 * tests/fuzz/fuzz_fdt.c: libFuzzer target for the device tree parser (kernel/fdt.c).
 *
 * The input is the blob and all of it is readable (avail = size); libFuzzer's
 * buffer has exactly that size, so any read past it is an ASan report. Besides no
 * faults, it checks that the error is one NUL-terminated line of printable ASCII,
 * that fdt_totalsize() agrees with a successful parse, and that a success stays
 * inside struct platform's arrays with NUL-terminated strings.
 * Seeds (tests/fuzz/corpus/fdt): QEMU virt GICv3 and GICv2, tests/host/data/synthetic.dts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kernel/fdt.h>
#include "fuzz_common.h"

/* One input: the whole blob. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct platform pf;
	char err[PLATFORM_ERR_MAX];

	int r = fdt_parse(data, size, &pf, err, sizeof err);
	fuzz_check_err(err, sizeof err);
	if (r == 0) {
		if (err[0] || size < FDT_HEADER_LEN || fdt_totalsize(data) > size ||
		    pf.ncpus == 0 || pf.ncpus > PLATFORM_MAX_CPUS ||
		    pf.nmem > PLATFORM_MAX_MEM || pf.nrsv > PLATFORM_MAX_RSV ||
		    !memchr(pf.model, '\0', sizeof pf.model) ||
		    !memchr(pf.bootargs, '\0', sizeof pf.bootargs) ||
		    (pf.gic_version != 0 && pf.gic_version != 2 && pf.gic_version != 3) ||
		    (pf.timer_irq_virt && (pf.timer_irq_virt < 16 || pf.timer_irq_virt > 31)))
			abort();
		/* the console's interrupt: an SPI of a UART, or a reason when one is refused */
		fuzz_check_err(pf.uart_irq_missing, sizeof pf.uart_irq_missing);
		if ((pf.have_uart_irq && (!pf.have_uart || pf.uart_irq_missing[0] ||
					  pf.uart_irq.num > 987)) ||
		    (pf.uart_irq_missing[0] && !pf.have_uart))
			abort();
	} else if (r != -1 || !err[0]) {
		abort();
	}
	return 0;
}
