/*
 * arch/host/uart.c: the console's "UART" is standard output.
 *
 * Characters collect in a line buffer that goes out with one write(2) at each '\n'
 * (or when full), so a console line costs one system call, not one per character,
 * and lines from different CPUs stay whole (the console lock serialises callers).
 * The console's '\r' before each '\n' is for serial terminals; a Unix stream ends a
 * line with '\n' alone, so it is dropped. Power-off and fatal errors flush what is
 * left (host_uart_flush).
 *
 * Input: standard input is the receive line. Once arch_uart_rx_irq turns it on, a
 * thread of its own (not a CPU: it touches nothing of the kernel's) reads standard
 * input into a ring and raises IRQ_DEVICE(0) (irq.c) after each read; the kernel's
 * handler drains the ring with arch_uart_getc, which after the last byte of a closed
 * standard input says ARCH_UART_EOF, once. The ring has one writer (the thread) and
 * one reader (the handler, on the CPU the line is routed to); when it is full the
 * thread waits for room, as a UART's flow control would. Before the interrupt is on,
 * nothing reads standard input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>
#include <arch/uart.h>
#include "host.h"

static char line[512];
static size_t line_len;

static void write_all(const char *s, size_t n)
{
	int saved_errno = errno;
	while (n) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;		/* stdout is gone (EPIPE: SIGPIPE is ignored) */
		s += w, n -= (size_t)w;
	}
	errno = saved_errno;
}

void host_uart_flush(void)
{
	write_all(line, line_len);
	line_len = 0;
}

int arch_uart_init(uintptr_t base)
{
	(void)base;
	return 0;
}

void arch_uart_putc(char c)
{
	if (c == '\r')
		return;
	line[line_len++] = c;
	if (c == '\n' || line_len == sizeof(line))
		host_uart_flush();
}

#define RX_RING 4096		/* a power of two */

static unsigned char rx_ring[RX_RING];
static _Atomic unsigned rx_head, rx_tail;	/* written by the thread / the reader */
static _Atomic bool rx_eof, rx_eof_told;
static bool rx_started;

static void *rx_thread(void *arg)
{
	sigset_t all;
	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		unsigned head = atomic_load_explicit(&rx_head, memory_order_relaxed);
		unsigned room = RX_RING - (head - atomic_load_explicit(&rx_tail, memory_order_acquire));
		if (room == 0) {
			usleep(1000);
			continue;
		}
		unsigned at = head % RX_RING, n = room < RX_RING - at ? room : RX_RING - at;
		ssize_t got = read(0, rx_ring + at, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			atomic_store(&rx_eof, true);
			host_irq_raise_device();
			return NULL;
		}
		atomic_store_explicit(&rx_head, head + (unsigned)got, memory_order_release);
		host_irq_raise_device();
	}
}

void arch_uart_rx_irq(bool on)
{
	pthread_t t;
	if (!on || rx_started)
		return;
	rx_started = true;
	if (pthread_create(&t, NULL, rx_thread, NULL) != 0)
		host_fatal("console input: cannot start the thread that reads standard input");
	pthread_detach(t);
}

int arch_uart_getc(void)
{
	unsigned tail = atomic_load_explicit(&rx_tail, memory_order_relaxed);
	if (tail != atomic_load_explicit(&rx_head, memory_order_acquire)) {
		int c = rx_ring[tail % RX_RING];
		atomic_store_explicit(&rx_tail, tail + 1, memory_order_release);
		return c;
	}
	if (atomic_load(&rx_eof) && !atomic_exchange(&rx_eof_told, true))
		return ARCH_UART_EOF;
	return -1;
}

void arch_early_write(const char *s, unsigned long n)
{
	host_uart_flush();
	write_all(s, n);
}
