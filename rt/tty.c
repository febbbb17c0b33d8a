/*
 * rt/tty.c: the console's line discipline and its readers (rt/console.h).
 *
 * The kernel's receive interrupt (kernel/console_input.c) only fills a ring and calls
 * tty_wake, which sends a token on `wake` (capacity 1: a token already there is wake
 * enough) with chan_try_send_irq. One goroutine, the tty, does the rest: it takes the
 * bytes, edits the line being typed, echoes, and sends each finished line on `lines`
 * (capacity 16: typing ahead is kept, then the tty waits for readers, and the kernel's
 * ring, then the UART, then QEMU's backend hold the rest). No lost wake-up: the tty
 * takes from the ring until it is empty before it waits on `wake`, and the handler
 * stores its bytes before it sends the token.
 *
 * Readers: console_lines() hands out the channel itself; console_read (and through it
 * newlib's read(0), kernel/libc.c, and hosted glibc's stdin, a fopencookie stream)
 * keeps the part of a line a short read left over, under `read_lock`.
 *
 * The tty starts at the first use of either (once): before that nothing reads the
 * UART. While it may still receive, it counts as a wake-up source for the deadlock
 * check (sched_wakers, rt/sched.c), as a pending timer does: a program waiting for
 * input is waiting, not dead. When the input ends for good (hosted: standard input
 * closed) the tty closes `lines` and stops counting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <kernel/console.h>
#include <kernel/panic.h>
#include <kernel/stack.h>
#include <rt/chan.h>
#include <rt/console.h>
#include <rt/gc.h>
#include <rt/go.h>
#include <rt/sched.h>
#include <rt/sync.h>

#define CTRL(c)		((c) & 0x1f)
#define TTY_LINES	16

static struct chan *wake;		/* tokens (uint64_t) from the interrupt */
static struct chan *lines;		/* char * lines for the readers */
static struct once tty_once = ONCE_INIT;

/* console_read's leftover: the rest of a line a short read did not take. */
static struct mutex read_lock = MUTEX_INIT;
static char *read_line;			/* read_lock: the line, or NULL */
static size_t read_off;			/* read_lock: what was taken of it */

/* The line being edited: the tty goroutine's alone. */
static char edit[CONSOLE_LINE_MAX + 1];
static size_t edit_len;
static bool edit_after_cr;		/* the last byte was CR: an LF right after is its pair */

static void tty_wake(void)
{
	uint64_t token = 1;		/* the channel's elements are words */
	chan_try_send_irq(wake, &token);
}

static void echo(const char *s, size_t n)
{
	if (console_input_echo())
		console_write(s, n);
}

/* Erase the last character on the screen: one column, two for a ^X. */
static void erase_one(void)
{
	unsigned char c = (unsigned char)edit[--edit_len];
	echo("\b \b", 3);
	if (c < 0x20 && c != '\t')
		echo("\b \b", 3);
}

/* Send the edited line (and newline, if any) to the readers; "" is end of file. */
static void deliver(bool newline)
{
	char *s = gc_alloc_noscan(edit_len + 2);
	memcpy(s, edit, edit_len);
	if (newline)
		s[edit_len++] = '\n';
	s[edit_len] = '\0';
	edit_len = 0;
	chan_send(lines, &s);
}

static void tty_byte(unsigned char c)
{
	bool after_cr = edit_after_cr;
	edit_after_cr = c == '\r';
	if (c == '\n' && after_cr)
		return;
	switch (c) {
	case '\r':
	case '\n':
		echo("\n", 1);
		deliver(true);
		return;
	case CTRL('D'):
		deliver(false);		/* on an empty line: "", end of file */
		return;
	case 0x7f:
	case CTRL('H'):
		if (edit_len)
			erase_one();
		return;
	case CTRL('U'):
		while (edit_len)
			erase_one();
		return;
	case CTRL('W'):
		while (edit_len && edit[edit_len - 1] == ' ')
			erase_one();
		while (edit_len && edit[edit_len - 1] != ' ')
			erase_one();
		return;
	}
	if (edit_len == CONSOLE_LINE_MAX) {
		echo("\a", 1);
		return;
	}
	edit[edit_len++] = (char)c;
	if (c < 0x20 && c != '\t') {
		char caret[2] = { '^', (char)(c + '@') };
		echo(caret, 2);
	} else {
		echo((const char *)&c, 1);
	}
}

static void tty_loop(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[128];
		size_t n = console_input_take(buf, sizeof(buf));
		for (size_t i = 0; i < n; i++)
			tty_byte((unsigned char)buf[i]);
		if (n)
			continue;
		if (console_input_ended()) {
			if (edit_len)
				deliver(false);
			chan_close(lines);
			atomic_fetch_sub(&sched_wakers, 1);
			return;
		}
		chan_recv(wake, NULL);
	}
}

static void tty_start(void *arg)
{
	char err[160];
	(void)arg;
	gc_store(&wake, chan_make_typed(&gc_type_u64, 1));
	gc_store(&lines, chan_make_typed(&gc_type_ptr, TTY_LINES));
	atomic_fetch_add(&sched_wakers, 1);
	if (console_input_start(tty_wake, err, sizeof(err)) < 0) {
		atomic_fetch_sub(&sched_wakers, 1);
		printf("%s\n", err);
		fflush(stdout);
		chan_close(lines);
		return;
	}
	go_stack(tty_loop, NULL, STACK_DEFAULT_SIZE);	/* the runtime's: not gstack_kib's */
}

struct chan *console_lines(void)
{
	once_do(&tty_once, tty_start, NULL);
	return lines;
}

ssize_t console_read(void *buf, size_t n)
{
	struct chan *c = console_lines();
	size_t k = 0;

	mutex_lock(&read_lock);
	if (!read_line) {
		char *s;
		if (!chan_recv(c, &s) || !*s) {
			mutex_unlock(&read_lock);
			return 0;	/* closed, or end of file */
		}
		gc_store(&read_line, s);
		read_off = 0;
	}
	size_t left = strlen(read_line + read_off);
	k = left < n ? left : n;
	memcpy(buf, read_line + read_off, k);
	read_off += k;
	if (read_off == strlen(read_line))
		gc_store(&read_line, NULL);
	mutex_unlock(&read_lock);
	return (ssize_t)k;
}

#if defined(GORT_HOSTED)
/* glibc's stdin, replaced: a stream whose reads are console_read. Its own buffer
 * (line by line, as console_read returns) is glibc's, allocated with malloc. */
static ssize_t stdin_cookie_read(void *cookie, char *buf, size_t n)
{
	(void)cookie;
	return console_read(buf, n);
}

void tty_init(void)
{
	static const cookie_io_functions_t io = { .read = stdin_cookie_read };
	FILE *f = fopencookie(NULL, "r", io);
	if (!f)
		panic("tty: fopencookie for standard input: %s", strerror(errno));
	stdin = f;
}
#else
void tty_init(void)
{
	console_set_stdin_reader(console_read);
}
#endif
