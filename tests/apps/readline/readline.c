/*
 * readline: a program that reads lines from the console.
 *
 *   readline             read with fgets (the C library's standard input) until end
 *                        of file; print each line back, numbered, in capitals
 *   readline -select     read the console's channel of lines in a select with a
 *                        ticker (rt/console.h, rt/timer.h): a line, or a tick every
 *                        2 s that says how long the wait has been
 *
 * The console is a terminal: what is typed is echoed, backspace, Ctrl-W and Ctrl-U
 * edit the line, Enter ends it, Ctrl-D on an empty line is end of file. At the end
 * the program prints how many lines, words and characters it read.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <rt/chan.h>
#include <rt/console.h>
#include <rt/go.h>

static long nlines, nwords, nchars;

static void take(const char *line)
{
	bool in_word = false;
	nlines++;
	printf("readline: %ld: ", nlines);
	for (const char *p = line; *p; p++) {
		if (*p != '\n')
			nchars++;
		if (isspace((unsigned char)*p))
			in_word = false;
		else if (!in_word)
			in_word = true, nwords++;
		putchar(toupper((unsigned char)*p));
	}
	if (!*line || line[strlen(line) - 1] != '\n')
		putchar('\n');
	fflush(stdout);
}

int main(int argc, char **argv)
{
	bool use_select = argc == 2 && strcmp(argv[1], "-select") == 0;
	if (argc > 1 && !use_select) {
		fprintf(stderr, "usage: %s [-select]\n", argv[0]);
		return 2;
	}
	printf("readline: reading lines%s; Ctrl-D ends\n", use_select ? " (select)" : "");
	fflush(stdout);
	if (!use_select) {
		char buf[256];
		while (fgets(buf, sizeof(buf), stdin))
			take(buf);
	} else {
		struct chan *in = console_lines();
		struct go_timer *tick = go_ticker(2000000000ull);
		for (long waited = 0;;) {
			char *line;
			bool ok;
			struct select_case cs[2] = {
				{ in, SELECT_RECV, &line, &ok },
				{ go_timer_chan(tick), SELECT_RECV, NULL, NULL },
			};
			if (chan_select(cs, 2, false) == 1) {
				printf("readline: still waiting after %ld s\n", waited += 2);
				fflush(stdout);
				continue;
			}
			if (!ok || !*line)
				break;	/* the input ended, or Ctrl-D on an empty line */
			take(line);
		}
		go_timer_free(tick);
	}
	printf("readline: %ld lines, %ld words, %ld characters\n", nlines, nwords, nchars);
	return 0;
}
