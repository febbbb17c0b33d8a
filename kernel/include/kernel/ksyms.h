/*
 * kernel/ksyms.h: the kernel's own symbol table, for tracebacks.
 *
 * Generated at build time by tools/ksyms.py from the linked image (text symbols only)
 * and linked into the .ksyms section, which sits after .text so that adding the table
 * never moves code (see the Makefile's two-pass link). Context: any; read-only data.
 */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdint.h>

/* The function containing addr and addr's offset into it, or NULL if none. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);
/* The address of a function by name, 0 if absent (tests use it). */
uint64_t ksyms_addr_of(const char *name);

#endif
