/*
 * rt/console.h: reading the console, a line at a time, as from a terminal.
 *
 *   console_lines()        a channel of the lines typed (for select): each element a
 *                          `char *`, a NUL-terminated line on the collector's heap
 *                          ending with its '\n' (none when Ctrl-D ended it); the empty
 *                          string "" is end of file (Ctrl-D on an empty line), after
 *                          which the console goes on reading, as a terminal does. The
 *                          channel is closed when the input ends for good (hosted:
 *                          standard input closed) or when the console has no input at
 *                          all (the reason is printed once: a UART without an
 *                          interrupt, say).
 *   console_read(buf, n)   read(2) on the console: up to n bytes of the current line,
 *                          blocking until a line is complete; 0 at end of file. The C
 *                          library's standard input reads through it: read(0, ...),
 *                          fgets, getchar, scanf (newlib in the images; glibc's stdin
 *                          hosted, but not glibc's read(0), which is the process's)
 *
 * Both take from one stream: a line goes to whichever reader asks first. The first use
 * starts the console's input (the UART's receive interrupt, kernel/console_input.c);
 * a goroutine waiting for input is not a deadlock.
 *
 * Editing, as a terminal in canonical mode: what is typed is echoed (not hosted,
 * where the host's terminal echoes); backspace (DEL or Ctrl-H) erases a character,
 * Ctrl-W a word, Ctrl-U the line; Enter (CR or LF; a CR LF pair counts once) ends the
 * line; Ctrl-D ends it without a newline, or on an empty line means end of file. Other
 * control characters are kept, echoed as ^X. A line holds at most CONSOLE_LINE_MAX
 * bytes: what is typed past that is dropped (and rings the bell) until Enter.
 *
 * Context: goroutines only.
 */
#ifndef RT_CONSOLE_H
#define RT_CONSOLE_H

#include <stddef.h>
#include <sys/types.h>

#define CONSOLE_LINE_MAX 4095

struct chan;

struct chan *console_lines(void);
ssize_t console_read(void *buf, size_t n);

#endif
