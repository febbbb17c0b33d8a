/*
 * kernel/console.h: the kernel's console (the boot UART).
 *
 * Context: any, including exception handlers; never blocks, never allocates.
 * Before the UART is known (aarch64 learns it from the device tree) output is kept
 * in a ring and written out by console_start(); kprintf formats into a stack buffer,
 * so it is safe where newlib's stdio is not (traps, panics).
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The UART is usable from now on: flush what was held back. */
void console_start(uintptr_t uart_base);
/* Panic path: if the UART never came up, write what was held back through the
 * arch's early output (arch_early_write). */
void console_panic_flush(void);
/* Set by panic: from then on console output takes no lock. */
extern bool console_panicking;

#endif
