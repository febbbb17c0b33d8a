/*
 * arch/aarch64/uart.c: the ARM PL011 UART: output polled, input by interrupt when
 * asked (arch_uart_rx_irq: the receive and receive-timeout interrupts, which stay
 * asserted while the receive FIFO holds bytes and clear as it is read empty).
 *
 * The kernel finds the PL011 in the device tree, maps it as device memory and passes
 * the virtual address to arch_uart_init. Registers used (32-bit, offsets from base):
 *   UARTDR    0x00  data
 *   UARTFR    0x18  flags: BUSY bit 3, RXFE bit 4 (receive FIFO empty), TXFF bit 5
 *   UARTLCR_H 0x2c  line control: 8 data bits (WLEN 0b11), no parity, 1 stop, FIFOs
 *   UARTCR    0x30  control: UARTEN, TXE, RXE
 *   UARTIMSC  0x38  interrupt mask: RXIM bit 4, RTIM bit 6 when input interrupts
 *   UARTICR   0x44  interrupt clear
 * The baud rate divisors (UARTIBRD/FBRD) are left as the firmware set them: the
 * reference clock is a device-tree clock we do not parse yet, and QEMU ignores them.
 * Every wait is bounded, so a dead or absent UART slows the kernel down but cannot
 * hang it.
 */
#include <arch/ops.h>
#include <arch/uart.h>
#include "arm64.h"

#define UARTDR		0x00
#define UARTFR		0x18
#define UARTLCR_H	0x2c
#define UARTCR		0x30
#define UARTIMSC	0x38
#define UARTICR		0x44

#define FR_BUSY		(1u << 3)
#define FR_RXFE		(1u << 4)
#define FR_TXFF		(1u << 5)
#define LCR_H_FEN	(1u << 4)
#define LCR_H_WLEN8	(3u << 5)
#define CR_UARTEN	(1u << 0)
#define CR_TXE		(1u << 8)
#define CR_RXE		(1u << 9)
#define INT_RX		(1u << 4)
#define INT_RT		(1u << 6)

#define UART_SPIN_MAX	100000

static volatile uint32_t *uart_regs;

static inline uint32_t reg_read(unsigned off) { return uart_regs[off / 4]; }
static inline void reg_write(unsigned off, uint32_t v) { uart_regs[off / 4] = v; }

/* Wait (bounded) until the transmitter has sent everything, FIFO and shift register. */
void pl011_drain(void)
{
	if (!uart_regs)
		return;
	for (int i = 0; i < UART_SPIN_MAX && (reg_read(UARTFR) & FR_BUSY); i++)
		arch_cpu_relax();
}

int arch_uart_init(uintptr_t base)
{
	if (!base)
		return -1;
	uart_regs = (volatile uint32_t *)base;
	pl011_drain();				/* the firmware's last words */
	reg_write(UARTCR, 0);			/* off while reprogramming */
	reg_write(UARTLCR_H, LCR_H_WLEN8 | LCR_H_FEN);
	reg_write(UARTIMSC, 0);
	reg_write(UARTICR, 0x7ff);
	reg_write(UARTCR, CR_UARTEN | CR_TXE | CR_RXE);
	return 0;
}

void arch_uart_rx_irq(bool on)
{
	if (!uart_regs)
		return;
	/* No clear first: bytes that came before are pending already, and QEMU's PL011
	 * raises RX again only when its FIFO goes from empty to not empty. */
	reg_write(UARTIMSC, on ? INT_RX | INT_RT : 0);
}

void arch_uart_putc(char c)
{
	if (!uart_regs)
		return;
	for (int i = 0; i < UART_SPIN_MAX && (reg_read(UARTFR) & FR_TXFF); i++)
		arch_cpu_relax();
	reg_write(UARTDR, (uint8_t)c);
}

int arch_uart_getc(void)
{
	if (!uart_regs || (reg_read(UARTFR) & FR_RXFE))
		return -1;
	return (int)(reg_read(UARTDR) & 0xff);
}

/* Semihosting SYS_WRITE0 (0x04), a NUL-terminated chunk at a time. Without a
 * semihosting host the call traps and is skipped (trap.c); stop trying then. */
void arch_early_write(const char *s, unsigned long n)
{
	char chunk[129];
	while (n && !arm64_semihost_trapped) {
		unsigned long k = n < 128 ? n : 128;
		for (unsigned long i = 0; i < k; i++)
			chunk[i] = s[i] ? s[i] : ' ';
		chunk[k] = '\0';
		arm64_semihost(0x04, chunk);
		s += k;
		n -= k;
	}
}
