/*
 * kernel/console.c: console output.
 *
 * One writer at a time: a write holds the console lock with interrupts off for its
 * length (bounded by the UART's speed; a line at a time from kprintf), so lines from
 * different CPUs never interleave. Once a panic has started, the lock is skipped
 * (the panicking CPU may hold it, or a stopped one). '\n' becomes "\r\n".
 *
 * Until console_start() the bytes go to a 16 KiB ring (aarch64 cannot print before it
 * has read the device tree and mapped the PL011); console_start() writes the ring out.
 * A panic before that (a bad device tree) hands the ring to arch_early_write().
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <arch/noscan.h>
#include <arch/ops.h>
#include <arch/uart.h>
#include <kernel/console.h>
#include <kernel/spinlock.h>

#define EARLY_RING 16384

static struct spinlock console_lock = SPINLOCK_INIT("console", LOCK_RANK_CONSOLE);
static bool console_live;
bool console_panicking;		/* set by panic(): write without the lock */
static char early_ring[EARLY_RING];
NOSCAN(early_ring);
static size_t early_len;			/* bytes held, <= EARLY_RING */

static void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			arch_uart_putc('\r');
		arch_uart_putc(s[i]);
	}
}

void console_write(const char *s, size_t n)
{
	bool locked = !console_panicking && arch_percpu();
	unsigned long irq = 0;
	if (locked)
		spin_lock_irqsave(&console_lock);
	else
		irq = arch_irq_save();
	if (console_live) {
		uart_write(s, n);
	} else {
		for (size_t i = 0; i < n && early_len < EARLY_RING; i++)
			early_ring[early_len++] = s[i];
	}
	if (locked)
		spin_unlock_irqrestore(&console_lock);
	else
		arch_irq_restore(irq);
}

void console_start(uintptr_t uart_base)
{
	arch_uart_init(uart_base);
	unsigned long irq = arch_irq_save();
	uart_write(early_ring, early_len);
	console_live = true;
	arch_irq_restore(irq);
}

void console_panic_flush(void)
{
	if (!console_live)
		arch_early_write(early_ring, early_len);
}


int kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}
