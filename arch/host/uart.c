/*
 * arch/host/uart.c: the console's "UART" is standard output.
 *
 * Characters collect in a line buffer that goes out with one write(2) at each '\n'
 * (or when full), so a console line costs one system call, not one per character,
 * and lines from different CPUs stay whole (the console lock serialises callers).
 * The console's '\r' before each '\n' is for serial terminals; a Unix stream ends a
 * line with '\n' alone, so it is dropped. Power-off and fatal errors flush what is
 * left (host_uart_flush). Input: a byte from standard input when one is ready.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
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

int arch_uart_getc(void)
{
	struct pollfd p = { 0, POLLIN, 0 };
	unsigned char c;
	int saved_errno = errno, r = -1;
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && read(0, &c, 1) == 1)
		r = c;
	errno = saved_errno;
	return r;
}

void arch_early_write(const char *s, unsigned long n)
{
	host_uart_flush();
	write_all(s, n);
}
