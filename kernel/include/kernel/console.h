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
#include <sys/types.h>

void console_write(const char *s, size_t n);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The UART is usable from now on: flush what was held back. */
void console_start(uintptr_t uart_base);
/* Panic path: if the UART never came up, write what was held back through the
 * arch's early output (arch_early_write). */
void console_panic_flush(void);
/* Set by panic: from then on console output takes no lock. */
extern bool console_panicking;

/*
 * Input (kernel/console_input.c): the UART's receive interrupt fills a ring and wakes
 * the reader; the layer above does the rest (rt/tty.c).
 *
 *   console_input_init()         boot CPU, once interrupts are up: claim and route the
 *                                console's line (the receive interrupt stays off)
 *   console_input_start(wake)    turn the receive interrupt on; wake() is called from the
 *                                interrupt handler (interrupt context: it must not block)
 *                                when bytes came or the input ended. Once. 0, or -1 with
 *                                err ("console: no input: the firmware gives ...")
 *   console_input_take(buf, n)   up to n bytes, 0 when the ring is empty; one caller at a
 *                                time (the reader)
 *   console_input_ended()        the input ended for good (hosted: standard input closed)
 *                                and every byte was taken
 *   console_input_echo()         whether the reader should echo what is typed (the
 *                                hosted platform's terminal echoes by itself)
 *   console_input_dropped()      bytes lost to a full ring
 */
void console_input_init(void);
int console_input_start(void (*wake)(void), char *err, size_t errlen);
size_t console_input_take(char *buf, size_t n);
bool console_input_ended(void);
bool console_input_echo(void);
uint64_t console_input_dropped(void);

/* newlib's read(0) (kernel/libc.c) calls fn, which the layer above registers (rt/tty.c);
 * until then standard input is at end of file. */
void console_set_stdin_reader(ssize_t (*fn)(void *buf, size_t n));

#endif
