/*
 * arch/uart.h: the boot console's UART (16550 on x86-64 at I/O port 0x3f8, PL011 on
 * aarch64 at the address the device tree gives, mapped by the kernel).
 *
 * Context: any, including exception handlers; polled, never sleeps. Callers serialise.
 */
#ifndef ARCH_UART_H
#define ARCH_UART_H

#include <stdbool.h>
#include <stdint.h>

/* base: the UART's virtual address (aarch64), ignored on x86-64. 0 on success. */
int arch_uart_init(uintptr_t base);
void arch_uart_putc(char c);
/* -1 when no character is waiting. */
int arch_uart_getc(void);

/*
 * The receive interrupt: on, the UART raises its line (routed first with
 * arch_irq_line_enable) while received bytes wait; arch_uart_getc until -1 drains
 * them and lowers it. Hosted, the "line" is IRQ_DEVICE(0), raised by a thread that
 * reads standard input; there, end of input (standard input closed) is reported
 * once, after the last byte, as arch_uart_getc's ARCH_UART_EOF. Boot CPU.
 */
void arch_uart_rx_irq(bool on);
#define ARCH_UART_EOF	(-2)

/*
 * Output for the time before the console's UART is known (a panic while reading the
 * device tree): x86-64 writes COM1, which needs no discovery; aarch64 uses the
 * semihosting console when a host provides one (QEMU -semihosting) and otherwise
 * drops the bytes. Context: any; slow; for panics only.
 */
void arch_early_write(const char *s, unsigned long n);

#endif
