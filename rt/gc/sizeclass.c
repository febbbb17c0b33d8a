/*
 * rt/gc/sizeclass.c: the size classes of small objects (Go's sizeclasses.go, computed
 * here at start-up instead of generated).
 *
 * Sizes: 8, 16, 24, 32, then steps of 16 up to 256, then steps of an eighth of the
 * power of two below the size (32 up to 512, 64 up to 1 KiB, ... 4 KiB up to 32 KiB).
 * So a request never wastes more than about 12.5% to rounding, and small sizes (the
 * tree nodes and list cells that dominate C programs' heaps) have exact classes. 24
 * exists for typed objects (a three-pointer struct): gc_alloc rounds untyped requests
 * to 16 first (malloc's alignment promise), so it never lands there.
 *
 * Span size per class: the smallest multiple of 8 KiB in which the objects waste at
 * most an eighth of the span (Go's rule); candidates whose spans hold the same
 * number of objects in the same pages are merged into the larger size (it costs
 * nothing more). Lookup: two tables indexed by the size in 8-byte steps up to 1 KiB
 * and in 128-byte steps above.
 */
#include <stddef.h>
#include <kernel/panic.h>
#include "heap.h"

#define SPAN_UNIT 8192u

unsigned gc_nsizeclasses;
uint32_t gc_class_size[NUM_SIZECLASSES];
uint32_t gc_class_npages[NUM_SIZECLASSES];
uint32_t gc_class_nelems[NUM_SIZECLASSES];

uint8_t gc_class8[1024 / 8 + 1];		/* (size + 7) / 8 -> class, size <= 1024 */
uint8_t gc_class128[(GC_MAX_SMALL - 1024) / 128 + 1];	/* (size - 1024 + 127) / 128 */

static uint32_t span_bytes_for(uint32_t size)
{
	uint32_t bytes = SPAN_UNIT;
	while (bytes % size > bytes / 8)
		bytes += SPAN_UNIT;
	return bytes;
}

static void add_class(uint32_t size)
{
	uint32_t bytes = span_bytes_for(size);
	uint32_t nelems = bytes / size;
	unsigned n = gc_nsizeclasses;
	/* the same objects in the same span as the previous class: the larger size wins */
	if (n > 1 && gc_class_npages[n - 1] == bytes / PAGE_SIZE && gc_class_nelems[n - 1] == nelems) {
		gc_class_size[n - 1] = size;
		return;
	}
	if (n >= NUM_SIZECLASSES)
		panic("gc: more than %d size classes", NUM_SIZECLASSES);
	gc_class_size[n] = size;
	gc_class_npages[n] = bytes / PAGE_SIZE;
	gc_class_nelems[n] = nelems;
	gc_nsizeclasses = n + 1;
}

void sizeclass_init(void)
{
	gc_nsizeclasses = 1;		/* class 0: large objects */
	add_class(8);
	add_class(16);
	add_class(24);
	add_class(32);
	for (uint32_t s = 48; s <= 256; s += 16)
		add_class(s);
	for (uint32_t pow = 256; pow < GC_MAX_SMALL; pow *= 2)
		for (uint32_t s = pow + pow / 8; s <= 2 * pow; s += pow / 8)
			add_class(s);

	unsigned c = 1;
	for (uint32_t i = 0; i < sizeof(gc_class8); i++) {
		uint32_t size = i * 8;
		while (gc_class_size[c] < size)
			c++;
		gc_class8[i] = (uint8_t)c;
	}
	for (uint32_t i = 0; i < sizeof(gc_class128); i++) {
		uint32_t size = 1024 + i * 128;
		while (gc_class_size[c] < size)
			c++;
		gc_class128[i] = (uint8_t)c;
	}
	gc_class8[0] = 1;
}

