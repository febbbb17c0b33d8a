/*
 * arch/x86_64/uart.c: the 16550 UART at I/O port 0x3f8 (COM1).
 * 115200 8N1, FIFOs on. Output is polled: it waits for the transmit holding register,
 * bounded so a missing UART (some boards) cannot hang the kernel. Input interrupts
 * when asked (arch_uart_rx_irq): IER's received-data bit, with the modem control
 * register's OUT2, which on a PC gates the UART's line to the interrupt controller.
 * The "received data" interrupt (and the FIFO's character timeout) stays asserted
 * until the receive buffer is read empty.
 */
#include <arch/ops.h>
#include <arch/uart.h>

#define COM1 0x3f8

int arch_uart_init(uintptr_t base)
{
	(void)base;
	outb(COM1 + 1, 0x00);		/* no interrupts */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 0x01);		/* divisor 1: 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0xc7);		/* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + 4, 0x03);		/* DTR, RTS */
	return 0;
}

void arch_uart_rx_irq(bool on)
{
	outb(COM1 + 4, on ? 0x0b : 0x03);	/* DTR, RTS, and OUT2 when on */
	outb(COM1 + 1, on ? 0x01 : 0x00);	/* IER: received data available */
}

void arch_uart_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		arch_cpu_relax();
	outb(COM1, (uint8_t)c);
}

int arch_uart_getc(void)
{
	if (!(inb(COM1 + 5) & 0x01))
		return -1;
	return inb(COM1);
}

void arch_early_write(const char *s, unsigned long n)
{
	arch_uart_init(0);
	for (unsigned long i = 0; i < n; i++) {
		if (s[i] == '\n')
			arch_uart_putc('\r');
		arch_uart_putc(s[i]);
	}
}
