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

#include <stddef.h>
#include <stdint.h>

void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The UART is usable from now on: flush what was held back. */
void console_start(uintptr_t uart_base);
/* Everything printed so far, for the panic path when there is no UART. */
size_t console_early_copy(char *buf, size_t len);
/* Register a sink that replaces the UART (aarch64: semihosting when no UART). */
void console_set_fallback(void (*write)(const char *s, size_t n));

#endif
