/*
 * args: what a program gets from the image: its arguments, and how it ends.
 *
 *   args [word ...]      print argc and every argument, quoted; main returns 0
 *   args -return N       main returns N: the power-off status
 *   args -exit N         a goroutine calls exit(N) while main is blocked for good
 *   args -panic          a goroutine closes a nil channel: Go's panic, the goroutine
 *                        dump, status 2
 *
 * Every way out but the panic runs the atexit handler and flushes stdout, as C's
 * exit does. Its header args.h is its own (the folder is on the include path).
 * The boot tests (tests/boot/matrix.txt) pass it quoted arguments after
 * "--" on the kernel command line and check each status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rt/chan.h>
#include <rt/go.h>
#include "args.h"

static void goodbye(void)
{
	printf("args: atexit handler ran\n");
}

static void exit_from_goroutine(void *arg)
{
	printf("args: goroutine %llu calls exit(%d)\n", (unsigned long long)go_id(), *(int *)arg);
	exit(*(int *)arg);
}

static void panic_from_goroutine(void *arg)
{
	(void)arg;
	chan_close(NULL);
}

static int number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 0 || v > ARGS_STATUS_MAX) {
		fprintf(stderr, "args: '%s' is not a status from 0 to %d\n", s, ARGS_STATUS_MAX);
		exit(ARGS_USAGE);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	static int status;

	atexit(goodbye);
#ifdef ARGS_FLAG_LINE
	printf(ARGS_FLAG_LINE);
#endif
	printf("args: argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("args: argv[%d]='%s'\n", i, argv[i]);
	if (argc == 3 && strcmp(argv[1], "-return") == 0)
		return number(argv[2]);
	if (argc == 3 && strcmp(argv[1], "-exit") == 0) {
		status = number(argv[2]);
		go(exit_from_goroutine, &status);
		chan_recv(chan_make(1, 0), NULL);	/* blocks until the exit powers off */
	}
	if (argc == 2 && strcmp(argv[1], "-panic") == 0) {
		go(panic_from_goroutine, NULL);
		chan_recv(chan_make(1, 0), NULL);
	}
	return 0;
}
