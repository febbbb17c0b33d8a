/*
 * arch/noscan.h: data of the image the garbage collector must not scan.
 *
 * The collector (rt/gc) treats the image's .data and .bss as roots, scanned
 * conservatively every cycle. Tables of the arch and the kernel that can never hold a
 * pointer into its heap (interrupt and exception stacks, per-CPU scratch, tables of
 * physical addresses) are listed here instead of being scanned (a contract header so
 * that arch/ and kernel/, below the collector, can describe their own data):
 *
 *   static char irq_stacks[...];
 *   NOSCAN(irq_stacks);
 *
 * records {start, end} in the .noscan_ranges section (collected by linker.ld and
 * arch/host/host.ld between __noscan_start and __noscan_end), which the collector
 * reads; the variable itself stays where it is. NOSCAN_RANGE(id, start, end) does the
 * same for a range between two symbols (stacks laid out in assembly). Nothing here
 * names the collector: the lower layers only describe their own data. Every CPU stack in
 * the image is listed: a stack changes under a concurrent scan, and the collector
 * scans each stopped CPU's own stack itself where it matters (rt/gc/stackscan.c).
 * Context: a declaration, at file scope.
 */
#ifndef ARCH_NOSCAN_H
#define ARCH_NOSCAN_H

struct noscan_range {
	const void *start, *end;
};

#define NOSCAN_RANGE(id, start_, end_)                                                 \
	static const struct noscan_range noscan_range_##id                            \
		__attribute__((used, section(".noscan_ranges"), aligned(8))) = { (start_), (end_) }
#define NOSCAN(var) NOSCAN_RANGE(var, &(var), (const char *)&(var) + sizeof(var))

/* Linker-script symbols: the list, and the data the collector scans. */
extern const struct noscan_range __noscan_start[], __noscan_end[];
extern char __gc_roots_start[], __gc_roots_end[];

#endif
