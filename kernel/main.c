/*
 * kernel/main.c: kernel_main(), the boot CPU's bring-up, in order:
 *
 *   1. CPU tables and the fault handler (a fault from here on is a readable panic);
 *   2. the console (x86-64: COM1 at once; aarch64: held in a ring until the PL011
 *      is known from the device tree and mapped);
 *   3. the device tree (aarch64), which may supply the memory map;
 *   4. the page allocator, from the memory map minus the kernel image, the DTB,
 *      the firmware's reserved ranges and the low memory the arch keeps;
 *   5. the final page tables (kernel/vm.c), then ACPI (x86-64) through them;
 *   6. the cycle counter's frequency and the clock; the interrupt controller, the
 *      dispatch table, IPIs, stop-the-world and the per-CPU timer; interrupts on;
 *      the rate of a wait loop, for the spins before halting (kernel/clock.h);
 *   7. every other CPU the firmware described (kernel/smp.c);
 *   8. the banner; the command line; the selected test suites, or the image's
 *      program (main with the arguments after "--", through the layer above: rt/);
 *      power off with the status.
 *
 * A bad firmware table or command line stops the boot here with one line naming
 * the table/option and field, and power-off with the panic status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arch/memlayout.h>
#include <arch/ops.h>
#include <boot/entry.h>
#include <kernel/boot.h>
#include <kernel/clock.h>
#include <kernel/cmdline.h>
#include <kernel/console.h>
#include <kernel/cpu.h>
#include <kernel/ipi.h>
#include <kernel/irq.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <kernel/preempt.h>
#include <kernel/smp.h>
#include <kernel/start.h>
#include <kernel/stw.h>
#include <kernel/test.h>
#include <kernel/vm.h>

const struct bootinfo *boot_bootinfo;
struct bootinfo_mem boot_mmap[BOOTINFO_MMAP_MAX];
uint32_t boot_mmap_count;

static char opt_tests[256];
static uint32_t opt_slice_ms = 10;
static bool opt_verbose;
static int tests_passed, tests_failed;
static char cmdline_copy[BOOTINFO_CMDLINE_MAX];

static const struct cmdline_opt kernel_opts[] = {
	{ "tests", CMDLINE_STR, opt_tests, sizeof(opt_tests), 0, 0,
	  "comma-separated test suites to run, or all; then power off" },
	{ "slice_ms", CMDLINE_UINT, &opt_slice_ms, sizeof(opt_slice_ms), 0, 10000,
	  "time slice of a goroutine while others wait, in ms (0: never preempt); default 10" },
	{ "verbose", CMDLINE_BOOL, &opt_verbose, sizeof(opt_verbose), 0, 0,
	  "before the program: the boot time, the memory map, each CPU answering a cross-call" },
};

/* Each image's build defines the program's name (kernel/start.h); an image without one. */
__attribute__((weak)) const char image_program_name[] = "gort";

/* The program's argv, split from the command line after "--". */
static char program_argbuf[CMDLINE_MAX_LEN + 1];
static char *program_argv[CMDLINE_MAX_WORDS + 2];
static struct program_args program_args;

/* The DTB memory nodes as a boot memory map (aarch64 direct boot). */
static void mmap_from_platform(void)
{
	for (uint32_t i = 0; i < boot_platform.nmem && boot_mmap_count < BOOTINFO_MMAP_MAX; i++)
		boot_mmap[boot_mmap_count++] = (struct bootinfo_mem){
			boot_platform.mem[i].base, boot_platform.mem[i].size, BOOTMEM_USABLE, 0 };
}

static void memory_init(const struct bootinfo *bi)
{
	struct platform_range rsv[PLATFORM_MAX_RSV + 3];
	uint32_t nrsv = 0;
	char err[PLATFORM_ERR_MAX];

	if (bi->mmap_count) {
		memcpy(boot_mmap, bi->mmap, bi->mmap_count * sizeof(bi->mmap[0]));
		boot_mmap_count = bi->mmap_count;
	} else {
		mmap_from_platform();
	}
	rsv[nrsv++] = (struct platform_range){ 0, ARCH_LOW_RESERVED };
	rsv[nrsv++] = (struct platform_range){ bi->kernel_phys, bi->kernel_size };
	if (bi->dtb)
		rsv[nrsv++] = boot_platform.fdt;
	for (uint32_t i = 0; i < boot_platform.nrsv; i++)
		rsv[nrsv++] = boot_platform.rsv[i];
	if (pmm_init(&kernel_pmm, boot_mmap, boot_mmap_count, rsv, nrsv, DMAP_BASE,
		     bi->boot_path == BOOT_PATH_HOSTED, err, sizeof(err)))
		panic("%s", err);
	/* The kernel image is RAM the direct map must cover even where a loader typed it
	 * otherwise (PVH loads it into E820 RAM, UEFI into LoaderData). */
	if (boot_mmap_count < BOOTINFO_MMAP_MAX)
		boot_mmap[boot_mmap_count++] = (struct bootinfo_mem){
			bi->kernel_phys, bi->kernel_size, BOOTMEM_KERNEL, 0 };
	/* The hosted platform has no tables to build: its image is the host program,
	 * mapped by Linux, and its direct map exists before kernel_main (arch/host). */
	if (bi->boot_path != BOOT_PATH_HOSTED && vm_init(boot_mmap, boot_mmap_count, err, sizeof(err)))
		panic("%s", err);
}

/* Map the interrupt controllers the firmware described and bring up dispatch. */
static void interrupts_init(void)
{
	const struct platform *p = &boot_platform;
	struct arch_intc_config ic = { 0 };
	char err[PLATFORM_ERR_MAX];

	if (p->lapic_phys && !(ic.lapic = (uintptr_t)vm_map_phys(p->lapic_phys, PAGE_SIZE, true)))
		panic("interrupts: cannot map the local APIC at 0x%llx", (unsigned long long)p->lapic_phys);
	for (uint32_t i = 0; i < p->nioapics && i < 8; i++) {
		ic.ioapic[i] = (uintptr_t)vm_map_phys(p->ioapics[i].phys, PAGE_SIZE, true);
		ic.ioapic_gsi_base[i] = p->ioapics[i].gsi_base;
		if (!ic.ioapic[i])
			panic("interrupts: cannot map IOAPIC %u", i);
		ic.nioapics++;
	}
	if (p->gic_version) {
		ic.gicd = (uintptr_t)vm_map_phys(p->gicd.base, p->gicd.size, true);
		if (!ic.gicd)
			panic("interrupts: cannot map the GIC distributor");
	}
	if (p->gic_version == 3) {	/* for v2, p->gicr is the CPU interface: unsupported yet */
		ic.gicr = (uintptr_t)vm_map_phys(p->gicr.base, p->gicr.size, true);
		ic.gicr_size = p->gicr.size;
		if (!ic.gicr)
			panic("interrupts: cannot map the GIC redistributors");
	}
	ic.timer_ppi = p->timer_irq_virt;
	irq_init();
	clock_timer_init();
	ipi_init();
	stw_init();
	if (arch_intc_init(&ic, err, sizeof(err)) || arch_timer_init(err, sizeof(err)))
		panic("%s", err);
	arch_irq_enable();
}

/* Hand the firmware interfaces the platform described to the arch (power-off). */
static void firmware_init(void)
{
	const struct platform *p = &boot_platform;
	uint64_t sleep_ctl = p->sleep_ctl;
	if (p->have_s5 && sleep_ctl && !p->sleep_ctl_space) {
		/* a memory-mapped sleep control register (hardware-reduced ACPI) */
		uint8_t *va = vm_map_phys(sleep_ctl & ~(uint64_t)(PAGE_SIZE - 1), PAGE_SIZE, true);
		if (!va)
			panic("ACPI: cannot map the sleep control register at 0x%llx",
			      (unsigned long long)sleep_ctl);
		sleep_ctl = (uint64_t)(uintptr_t)(va + (sleep_ctl & (PAGE_SIZE - 1)));
	}
	arch_firmware_init(&(struct arch_firmware){
		.psci_conduit = p->psci,
		.acpi_s5 = p->have_s5,
		.pm1a_cnt = p->pm1a_cnt,
		.pm1b_cnt = p->pm1b_cnt,
		.slp_typa = p->slp_typa,
		.slp_typb = p->slp_typb,
		.smi_cmd = p->smi_cmd,
		.acpi_enable = p->acpi_enable,
		.acpi_sleep_ctl = p->have_s5 ? sleep_ctl : 0,
		.acpi_sleep_io = p->sleep_ctl_space == 1,
	});
}

static void banner(const struct bootinfo *bi)
{
	char cpu[64];
	const struct platform *p = &boot_platform;

	arch_cpu_describe(cpu, sizeof(cpu));
	kprintf("\ngort kernel (%s), booted by %s via %s\n", ARCH_NAME,
		bi->firmware[0] ? bi->firmware : "unknown firmware",
		bi->boot_path == BOOT_PATH_UEFI ? "UEFI" :
		bi->boot_path == BOOT_PATH_HOSTED ? "the hosted platform" : "direct boot");
	kprintf("cpu: %s, %llu MHz cycle counter, %u of %u CPU%s online (described by %s)\n", cpu,
		(unsigned long long)(arch_cycles_freq() / 1000000), cpu_count(), cpus_described,
		cpus_described == 1 ? "" : "s", bi->acpi_rsdp ? "ACPI" : "the device tree");
	kprintf("memory: %llu MiB usable, %llu MiB free, %llu MiB direct-mapped; kernel at 0x%llx (%llu KiB)\n",
		(unsigned long long)(kernel_pmm.total * PAGE_SIZE >> 20),
		(unsigned long long)(kernel_pmm.nfree * PAGE_SIZE >> 20),
		(unsigned long long)(vm_dmap_bytes() >> 20),
		(unsigned long long)bi->kernel_phys, (unsigned long long)(bi->kernel_size >> 10));
	if (p->model[0])
		kprintf("machine: %s\n", p->model);
	if (p->have_s5 && p->sleep_ctl)
		kprintf("power-off: ACPI S5 (sleep control register, %s 0x%llx, SLP_TYP %u)\n",
			p->sleep_ctl_space ? "port" : "memory", (unsigned long long)p->sleep_ctl,
			p->slp_typa);
	else if (p->have_s5)
		kprintf("power-off: ACPI S5 (PM1a control 0x%x, SLP_TYP %u/%u)\n", p->pm1a_cnt,
			p->slp_typa, p->slp_typb);
	else if (bi->acpi_rsdp)
		kprintf("power-off: halts, no ACPI S5 (%s)\n", p->s5_missing);
	else if (p->psci != PSCI_NONE)
		kprintf("power-off: PSCI SYSTEM_OFF (%s)\n", p->psci == PSCI_HVC ? "hvc" : "smc");
	else if (bi->dtb && bi->boot_path != BOOT_PATH_HOSTED)
		kprintf("power-off: halts, no PSCI in the device tree\n");
	if (cmdline_copy[0])
		kprintf("command line: %s\n", cmdline_copy);
}

static uint64_t boot_us(const struct bootinfo *bi)
{
	uint64_t f = arch_cycles_freq();
	return f ? (arch_cycles() - bi->entry_cycles) * 1000000 / f : 0;
}

static void report_whoami(void *arg)
{
	*(uint64_t *)arg = arch_cpu_hwid();
}

/* verbose: what the machine looks like before the program starts. */
static void boot_report(const struct bootinfo *bi)
{
	kprintf("\nboot took %llu.%03llu ms from kernel entry\n",
		(unsigned long long)(boot_us(bi) / 1000), (unsigned long long)(boot_us(bi) % 1000));
	kprintf("memory map (%u entries):\n", boot_mmap_count);
	static const char *const types[] = { "?", "usable", "reserved", "ACPI", "ACPI NVS", "kernel", "boot data" };
	for (uint32_t i = 0; i < boot_mmap_count && i < 12; i++)
		kprintf("  %016llx-%016llx %s\n", (unsigned long long)boot_mmap[i].base,
			(unsigned long long)(boot_mmap[i].base + boot_mmap[i].size),
			boot_mmap[i].type < 7 ? types[boot_mmap[i].type] : "?");
	if (boot_mmap_count > 12)
		kprintf("  ... %u more\n", boot_mmap_count - 12);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++) {
		if (!atomic_load(&cpus[i].online))
			continue;
		uint64_t hw = 0, t0 = clock_ns();
		ipi_call(i, report_whoami, &hw, true);
		kprintf("cpu %u: hardware id 0x%llx, answered a cross-call in %llu us\n", i,
			(unsigned long long)hw, (unsigned long long)((clock_ns() - t0) / 1000));
	}
	printf("newlib: printf(\"%%.3f\") of 2/3 gives %.3f, strtol(\"-0x7f\") gives %ld\n",
	       2.0 / 3.0, strtol("-0x7f", NULL, 0));
	fflush(stdout);
}

/* The program's arguments from the line (kernel/cmdline.h), argv[0] its name. */
static void program_args_init(const char *line)
{
	char err[PLATFORM_ERR_MAX];
	const char *args = cmdline_program_args(line);

	program_argv[0] = (char *)image_program_name;
	int n = cmdline_split(args, program_argbuf, sizeof(program_argbuf), program_argv + 1,
			      CMDLINE_MAX_WORDS, err, sizeof(err));
	if (n < 0)
		panic("%s", err);
	program_argv[n + 1] = NULL;
	program_args = (struct program_args){ n + 1, program_argv };
	if (opt_tests[0] && args)
		panic("cmdline: arguments after '--' are the program's, but tests= runs the test "
		      "suites instead of the program");
}

/* The first goroutine, in test mode: the goroutine-phase suites, then the summary. */
static int goroutine_tests(void *arg)
{
	(void)arg;
	test_run_phase(opt_tests, true, &tests_passed, &tests_failed);
	test_summary(tests_passed, tests_failed);
	return tests_failed ? EXIT_FAIL : EXIT_PASS;
}

_Noreturn void kernel_main(struct bootinfo *bi)
{
	char err[PLATFORM_ERR_MAX];

	boot_bootinfo = bi;
	arch_cpu_init();
	smp_init_boot_cpu();
	panic_init();
#if defined(__x86_64__)
	console_start(0);
#endif
	if (boot_error[0])
		panic("%s", boot_error);
	if (bi->dtb && platform_init_dtb(bi, err, sizeof(err)))
		panic("%s", err);
	firmware_init();
	memory_init(bi);
	if (boot_platform.have_uart) {
		void *uart = vm_map_phys(boot_platform.uart.base, boot_platform.uart.size ? boot_platform.uart.size : PAGE_SIZE, true);
		if (!uart)
			panic("console: cannot map the UART at 0x%llx", (unsigned long long)boot_platform.uart.base);
		console_start((uintptr_t)uart);
	}
	if (bi->acpi_rsdp && platform_init_acpi(bi, err, sizeof(err)))
		panic("%s", err);
	firmware_init();	/* again, with what the ACPI tables added */
	arch_cycles_init(boot_platform.have_pm_timer ? boot_platform.pm_timer_port : 0);
	if (!arch_cycles_freq())
#if defined(__x86_64__)
		panic("clock: the TSC's frequency is unknown: no CPUID leaf 0x15, and no ACPI PM "
		      "timer, PIT channel 2 (port 0x61) or CMOS RTC that runs to measure it against");
#else
		panic("clock: the counter's frequency is unknown: CNTFRQ_EL0 is 0");
#endif
	clock_init();
	interrupts_init();
	clock_spin_calibrate(ipi_poll);
	console_input_init();
	smp_init();

	snprintf(cmdline_copy, sizeof(cmdline_copy), "%s", bi->cmdline[0] ? bi->cmdline : boot_platform.bootargs);
	banner(bi);
	/* the kernel's options and those the layers above registered (kernel/cmdline.h) */
	static struct cmdline_opt opts[sizeof(kernel_opts) / sizeof(kernel_opts[0]) + 32];
	size_t nopts = 0;
	for (size_t i = 0; i < sizeof(kernel_opts) / sizeof(kernel_opts[0]); i++)
		opts[nopts++] = kernel_opts[i];
	for (const struct cmdline_opt *o = __cmdline_opts_start; o < __cmdline_opts_end; o++) {
		if (nopts == sizeof(opts) / sizeof(opts[0]))
			panic("cmdline: more than %zu options registered", nopts);
		opts[nopts++] = *o;
	}
	if (cmdline_parse(cmdline_copy, opts, nopts, err, sizeof(err)))
		panic("%s", err);
	preempt_slice_ns = (uint64_t)opt_slice_ms * 1000000u;
	program_args_init(cmdline_copy);
	if (opt_tests[0]) {
		uint64_t us = boot_us(bi);
		kprintf("BENCH boot_ms %llu.%03llu ms\n", (unsigned long long)(us / 1000),
			(unsigned long long)(us % 1000));
		if (test_check(opt_tests))
			panic("tests: bad tests= option '%s'", opt_tests);
		test_run_phase(opt_tests, false, &tests_passed, &tests_failed);
		if (test_wants_goroutines(opt_tests)) {
			if ((uintptr_t)__kernel_start_begin < (uintptr_t)__kernel_start_end)
				__kernel_start_begin->start(goroutine_tests, NULL, arch_poweroff);
			kprintf("[FAIL] tests: goroutine tests selected, but this image has no scheduler\n");
			tests_failed++;
		}
		test_summary(tests_passed, tests_failed);
		arch_poweroff(tests_failed ? EXIT_FAIL : EXIT_PASS);
	}
	if (opt_verbose)
		boot_report(bi);
	/* the program, main(argc, argv), through the layer above (rt/), if the image has one */
	if ((uintptr_t)__kernel_start_begin < (uintptr_t)__kernel_start_end)
		__kernel_start_begin->start(NULL, &program_args, arch_poweroff);
	kprintf("this image has no scheduler to run a program: powering off\n");
	arch_poweroff(EXIT_PASS);
}
