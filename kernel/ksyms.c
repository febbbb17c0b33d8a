/*
 * kernel/ksyms.c: address -> name lookups in the generated symbol table.
 *
 * Layout (tools/ksyms.py): ksyms_count entries, ksyms_addrs[] sorted ascending,
 * ksyms_offs[i] the offset of entry i's NUL-terminated name in ksyms_names.
 * A lookup is a binary search; an address past the last symbol's end (the end of
 * .text) names nothing.
 */
#include <stddef.h>
#include <string.h>
#include <kernel/ksyms.h>

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_offs[];
extern const char ksyms_names[];
extern char __text_start[], __text_end[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
	if (addr < (uint64_t)__text_start || addr >= (uint64_t)__text_end || ksyms_count == 0)
		return NULL;
	size_t lo = 0, hi = ksyms_count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksyms_addrs[lo] > addr)
		return NULL;
	*offset = addr - ksyms_addrs[lo];
	return ksyms_names + ksyms_offs[lo];
}

uint64_t ksyms_addr_of(const char *name)
{
	for (uint64_t i = 0; i < ksyms_count; i++)
		if (strcmp(ksyms_names + ksyms_offs[i], name) == 0)
			return ksyms_addrs[i];
	return 0;
}
