/*
 * kernel/console_input.c: the console's receive side, the first device interrupt.
 *
 * Microkernel-style, as DESIGN.md has it: the UART's receive interrupt handler only
 * moves the bytes the UART holds into a ring and wakes the reader, through a function
 * the layer above registered (rt/tty.c: a send on a channel its reader goroutine
 * waits on). The line discipline (echo, erasing, end of file) and everything else run
 * in that goroutine, never in the handler.
 *
 * At boot (console_input_init, boot CPU) the line the firmware gave for the console's
 * UART (kernel/platform.h: COM1's ISA IRQ 4 through the MADT's overrides, the PL011's
 * SPI from the device tree; hosted, the standard-input thread's IRQ_DEVICE(0)) is
 * claimed and routed to the boot CPU, the UART's own receive interrupt still off.
 * The first reader turns it on (console_input_start); until then what is typed waits
 * in the UART (and, under QEMU, in its character backend, which holds it back rather
 * than drop it; hosted, in the pipe or terminal: nothing reads standard input yet).
 * A line that cannot be routed leaves input off, and console_input_start says why.
 *
 * The ring has one producer, the handler (on the boot CPU, where the line goes), and
 * one consumer, console_input_take (one reader at a time: the layer above's reader
 * goroutine, on any CPU). head and tail are free-running counters: the producer
 * publishes bytes with a release store of head, the consumer frees room with a
 * release store of tail; each reads the other's with acquire. The handler drains the
 * UART completely even when the ring is full (a level-triggered line must go low, and
 * an edge-triggered one, like the PC's ISA line, raises no new edge while bytes are
 * left), counting what it drops.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <arch/irq.h>
#include <arch/uart.h>
#include <kernel/boot.h>
#include <kernel/console.h>
#include <kernel/irq.h>
#include <kernel/platform.h>

#define CIN_RING	4096		/* a power of two */
#define CIN_DRAIN_MAX	65536		/* bytes per interrupt, against a babbling UART */

static struct {
	/* The ring: head written by the handler, tail by the reader. */
	_Atomic unsigned head, tail;
	char ring[CIN_RING];
	_Atomic bool ended;		/* the handler saw the end of the input (hosted) */
	_Atomic uint64_t dropped;	/* bytes the ring had no room for */

	/* Written once: at boot (routed, why), by console_input_start (wake). */
	bool routed;
	bool echo;			/* the reader should echo: not hosted (the host's
					 * terminal echoes what it reads itself) */
	char why[PLATFORM_ERR_MAX];	/* why input is off, when !routed */
	void (*_Atomic wake)(void);
	_Atomic bool started;
} cin;

static void console_rx_irq(unsigned irq, void *arg, struct arch_frame *f)
{
	bool any = false;
	(void)irq, (void)arg, (void)f;
	for (unsigned i = 0; i < CIN_DRAIN_MAX; i++) {
		int c = arch_uart_getc();
		if (c == -1)
			break;
		any = true;
		if (c == ARCH_UART_EOF) {
			atomic_store_explicit(&cin.ended, true, memory_order_release);
			continue;
		}
		unsigned head = atomic_load_explicit(&cin.head, memory_order_relaxed);
		if (head - atomic_load_explicit(&cin.tail, memory_order_acquire) == CIN_RING) {
			atomic_fetch_add_explicit(&cin.dropped, 1, memory_order_relaxed);
			continue;
		}
		cin.ring[head % CIN_RING] = (char)c;
		atomic_store_explicit(&cin.head, head + 1, memory_order_release);
	}
	void (*wake)(void) = atomic_load_explicit(&cin.wake, memory_order_acquire);
	if (any && wake)
		wake();
}

void console_input_init(void)
{
	char err[PLATFORM_ERR_MAX];
	struct arch_irq_line line = boot_platform.uart_irq;
	bool hosted = boot_bootinfo->boot_path == BOOT_PATH_HOSTED;

	cin.echo = !hosted;
	if (hosted)
		line = (struct arch_irq_line){ 0, false, false };
	else if (!boot_platform.have_uart_irq) {
		if (boot_platform.uart_irq_missing[0])
			snprintf(cin.why, sizeof(cin.why), "the console's UART: %s",
				 boot_platform.uart_irq_missing);
		else
			snprintf(cin.why, sizeof(cin.why), "the firmware gives the console's UART no interrupt");
		return;
	}
	if (irq_register(IRQ_DEVICE(line.num), console_rx_irq, NULL) < 0) {
		snprintf(cin.why, sizeof(cin.why), "interrupt %u is claimed already",
			 (unsigned)IRQ_DEVICE(line.num));
		return;
	}
	if (arch_irq_line_enable(&line, err, sizeof(err)) < 0) {
		snprintf(cin.why, sizeof(cin.why), "%s", err);
		kprintf("console: no input: %s\n", err);
		return;
	}
	cin.routed = true;
}

int console_input_start(void (*wake)(void), char *err, size_t errlen)
{
	if (!cin.routed) {
		snprintf(err, errlen, "console: no input: %s", cin.why);
		return -1;
	}
	if (atomic_exchange(&cin.started, true)) {
		snprintf(err, errlen, "console: input started twice");
		return -1;
	}
	atomic_store_explicit(&cin.wake, wake, memory_order_release);
	arch_uart_rx_irq(true);
	return 0;
}

size_t console_input_take(char *buf, size_t n)
{
	unsigned tail = atomic_load_explicit(&cin.tail, memory_order_relaxed);
	unsigned head = atomic_load_explicit(&cin.head, memory_order_acquire);
	size_t k = 0;

	while (k < n && tail != head)
		buf[k++] = cin.ring[tail++ % CIN_RING];
	atomic_store_explicit(&cin.tail, tail, memory_order_release);
	return k;
}

bool console_input_ended(void)
{
	/* ended before head: a byte stored before the end is seen with it */
	return atomic_load_explicit(&cin.ended, memory_order_acquire) &&
	       atomic_load_explicit(&cin.head, memory_order_acquire) ==
		       atomic_load_explicit(&cin.tail, memory_order_relaxed);
}

bool console_input_echo(void)
{
	return cin.echo;
}

uint64_t console_input_dropped(void)
{
	return atomic_load_explicit(&cin.dropped, memory_order_relaxed);
}
