/*
 * arch/host/main.c: the program's main(), the hosted platform's firmware and boot
 * path. It plays the part of QEMU (the machine: CPUs, RAM), of the firmware (the
 * description of the machine) and of boot/entry.c (the bootinfo), then starts the
 * boot CPU in the same kernel_main() as every bare-metal boot.
 *
 *   gort [-smp N] [-m SIZE] [--] [kernel command line ...]
 *
 *   -smp N     CPUs (threads), 1..ARCH_MAX_CPUS; default: the host's online CPUs
 *   -m SIZE    physical memory, in MiB or with a K, M or G suffix; default 256M
 *   the rest   the kernel command line, words joined by blanks ("tests=all"); after
 *              a "--" word among them, the program's arguments: each is quoted if
 *              it holds a blank (kernel/cmdline.h), and one that holds a '"' is
 *              refused, since the command line has no escapes
 *
 * The exit status is the kernel's power-off status: 0 all tests passed, 1 some test
 * failed, 2 panic; 3 is a sanitizer report (arch/host/sanitizer.c), 64 a bad usage.
 *
 * Bring-up, on the process's main thread:
 *   1. the interrupt signals are blocked, so every CPU thread starts with them blocked
 *      (arch_intc_init_cpu unblocks them on each CPU once it can take them);
 *   2. physical memory: a memfd of SIZE bytes at physical HOST_PHYS_BASE, mapped at
 *      DMAP_BASE + HOST_PHYS_BASE through arch_mmu_map: the "early tables" a
 *      bare-metal entry builds before the kernel runs (the kernel builds no others);
 *   3. the boot data in it (host.h): signal stacks and the boot stack, also mapped
 *      over the image's host_boot_area; the device tree describing SIZE bytes of RAM
 *      and N CPUs with hardware ids 0..N-1;
 *   4. the bootinfo (path BOOT_PATH_HOSTED, the memory map: boot data, then usable
 *      RAM; no kernel image in physical memory: the image is this program);
 *   5. CPU 0, a thread on the kernel's boot_stack, runs kernel_main(bootinfo); the
 *      main thread sleeps for good. The run ends when a CPU powers off (_exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <arch/mmu.h>
#include <arch/ops.h>
#include <boot/bootinfo.h>
#include <boot/entry.h>
#include "host.h"

#define EXIT_USAGE 64

#define STR_(x) #x
#define STR(x) STR_(x)
/* -m: room for the boot data and 16 MiB; at most what the direct map reaches. */
#define HOST_MEM_MIN_MIB 20
#define HOST_MEM_MAX_GIB 255
#define HOST_MEM_MIN ((uint64_t)HOST_MEM_MIN_MIB << 20)
#define HOST_MEM_MAX ((uint64_t)HOST_MEM_MAX_GIB << 30)
_Static_assert(HOST_MEM_MIN >= HOST_BOOTDATA_SIZE + (16u << 20) &&
	       HOST_MEM_MAX <= DMAP_SIZE - HOST_PHYS_BASE, "-m limits");

int host_memfd = -1;
uint64_t host_mem_size;

/* boot/entry.c's, which the host does not link: the kernel prints it when set. */
char boot_error[160];

static struct bootinfo boot_info;

static _Noreturn void usage(const char *why)
{
	fprintf(stderr, "gort: %s\nusage: gort [-smp N] [-m SIZE] [--] [kernel command line ...]\n", why);
	exit(EXIT_USAGE);
}

/* "256M", "1G", "512" (MiB), "65536K". */
static uint64_t parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	uint64_t unit = 1ull << 20;
	if (errno || end == s)
		usage("-m wants a size such as 256M");
	if (*end == 'K' || *end == 'k')
		unit = 1ull << 10, end++;
	else if (*end == 'M' || *end == 'm')
		unit = 1ull << 20, end++;
	else if (*end == 'G' || *end == 'g')
		unit = 1ull << 30, end++;
	if (*end || v > UINT64_MAX / unit)
		usage("-m wants a size such as 256M");
	return v * unit;
}

static void boot_cpu(void *bi)
{
	kernel_main(bi);
}

int main(int argc, char **argv)
{
	uint64_t entry_cycles = arch_cycles();
	struct bootinfo *bi = &boot_info;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncpus = online < 1 ? 1 : online > ARCH_MAX_CPUS ? ARCH_MAX_CPUS : (unsigned)online;
	uint64_t mem = HOST_MEM_DEFAULT;
	size_t cmdlen = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "-smp") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > ARCH_MAX_CPUS)
				usage("-smp wants a number of CPUs from 1 to " STR(ARCH_MAX_CPUS));
			ncpus = (unsigned)n;
		} else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
			mem = parse_size(argv[++i]);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			usage("unknown option");
		} else {
			break;
		}
	}
	for (bool program = false; i < argc; i++) {
		size_t n = strlen(argv[i]);
		bool quote = program && (n == 0 || strpbrk(argv[i], " \t\n\r\v\f"));
		if (program && strchr(argv[i], '"'))
			usage("a program argument holds a '\"': the command line cannot carry it");
		if (cmdlen + n + 4 > BOOTINFO_CMDLINE_MAX)
			usage("the kernel command line is too long");
		if (cmdlen)
			bi->cmdline[cmdlen++] = ' ';
		if (quote)
			bi->cmdline[cmdlen++] = '"';
		memcpy(bi->cmdline + cmdlen, argv[i], n);
		cmdlen += n;
		if (quote)
			bi->cmdline[cmdlen++] = '"';
		program = program || strcmp(argv[i], "--") == 0;
	}
	mem &= ~(PAGE_SIZE - 1);
	if (mem < HOST_MEM_MIN || mem > HOST_MEM_MAX)
		usage("-m: the size must be from " STR(HOST_MEM_MIN_MIB) "M to " STR(HOST_MEM_MAX_GIB) "G");

	/* A program's exit() (rt/program.c) ends the process through glibc's exit, not
	 * arch_poweroff: what the kernel console holds is written then. */
	atexit(host_uart_flush);

	/* 1. */
	sigset_t irq;
	host_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	host_irq_sigset(&irq);
	pthread_sigmask(SIG_BLOCK, &irq, NULL);

	/* 2. */
	host_memfd = memfd_create("gort-physical-memory", MFD_CLOEXEC);
	if (host_memfd < 0 || ftruncate(host_memfd, (off_t)mem) != 0)
		host_fatal("physical memory: memfd of %llu MiB: %s", (unsigned long long)(mem >> 20),
			   strerror(errno));
	host_mem_size = mem;
	if (arch_mmu_map(DMAP_BASE + HOST_PHYS_BASE, HOST_PHYS_BASE, mem, MMU_WRITE) != 0)
		host_fatal("physical memory: cannot map it at 0x%llx: %s",
			   (unsigned long long)(DMAP_BASE + HOST_PHYS_BASE), strerror(errno));
	host_ncpus = ncpus;

	/* 3. */
	struct utsname u;
	char model[96];
	if (uname(&u) != 0)
		strcpy(u.release, "?"), strcpy(u.machine, "?");
	snprintf(model, sizeof(model), "gort hosted, %s: %u thread%s, %llu MiB memfd", u.machine,
		 ncpus, ncpus == 1 ? "" : "s", (unsigned long long)(mem >> 20));
	if (host_mmu_map_image((uintptr_t)host_boot_area, HOST_PHYS_BASE, HOST_BOOT_AREA_SIZE) != 0)
		host_fatal("the boot area: cannot map boot data over it: %s", strerror(errno));
	if (!host_dtb_build(phys_to_virt(HOST_PHYS_BASE + HOST_DTB_OFF), HOST_DTB_SIZE, ncpus,
			    HOST_PHYS_BASE, mem, model))
		host_fatal("the device tree does not fit in %d bytes", HOST_DTB_SIZE);

	/* 4. */
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->boot_path = BOOT_PATH_HOSTED;
	bi->entry_cycles = entry_cycles;
	bi->dtb = HOST_PHYS_BASE + HOST_DTB_OFF;
	bi->kernel_phys = 0;
	bi->kernel_size = 0;
	bi->mmap[0] = (struct bootinfo_mem){ HOST_PHYS_BASE, HOST_BOOTDATA_SIZE, BOOTMEM_BOOTDATA, 0 };
	bi->mmap[1] = (struct bootinfo_mem){ HOST_PHYS_BASE + HOST_BOOTDATA_SIZE, mem - HOST_BOOTDATA_SIZE,
					     BOOTMEM_USABLE, 0 };
	bi->mmap_count = 2;
	snprintf(bi->firmware, sizeof(bi->firmware), "Linux %s", u.release);

	/* 5. */
	if (host_thread_start(0, (uintptr_t)boot_stack_top, boot_cpu, bi) != 0)
		host_fatal("cannot start the boot CPU's thread: %s", strerror(errno));
	for (;;)
		pause();
}
