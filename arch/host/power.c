/*
 * arch/host/power.c: power-off is the process's exit with the status.
 *
 * _exit, not exit: powering off stops every CPU at once, mid-instruction, and so does
 * _exit, while exit would run atexit handlers and destructors with the other CPU
 * threads still running on the same memory. What the console buffered is written
 * first. (The sanitizers report as they find, with halt_on_error: nothing of theirs
 * waits for an exit-time hook; see arch/host/sanitizer.c.)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <arch/ops.h>
#include "host.h"

void arch_firmware_init(const struct arch_firmware *fw)
{
	(void)fw;
}

_Noreturn void arch_poweroff(int status)
{
	host_uart_flush();
	_exit(status & 0xff);
}

/* This CPU stops for good; the others and the process go on. */
_Noreturn void arch_hang(void)
{
	sigset_t irq;
	int one = 1;
	HOST_TLS_WRITE(host_irq_off, one);
	host_irq_sigset(&irq);
	pthread_sigmask(SIG_BLOCK, &irq, NULL);
	for (;;)
		pause();
}

_Noreturn void host_fatal(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	msg[n++] = '\n';
	host_uart_flush();
	if (write(2, "gort host: ", 11) < 0 || write(2, msg, (size_t)n) < 0)
		(void)0;
	_exit(2);
}
