/*
 * rt/program.c: the image's program, main(argc, argv), as the first goroutine.
 *
 * A program is a folder of C files with `int main(int argc, char **argv)`, built into
 * an image by `make run APP=dir` (or into the hosted binary by `make run-host APP=dir`).
 * The kernel splits its arguments from the command line, after "--"
 * (kernel/cmdline.h), and hands them up through kernel_start (kernel/start.h);
 * argv[0] is the program's name (the folder's). By the time main runs:
 *
 *   - every CPU runs the scheduler: goroutines main starts spread over all of them;
 *   - the collector is on (gc_percent=, gc=off on the command line): the program's
 *     globals are roots, gc_new and gc_alloc work, malloc is the C library's;
 *   - newlib (glibc, hosted) is there: stdio, string, math, time.
 *
 * main's return value is the power-off status, as exit(status) would be: C's
 * semantics, so atexit handlers run and stdio is flushed (newlib's exit ends in
 * _exit, kernel/libc.c, which powers off; glibc's exit ends the hosted process, the
 * kernel console flushed by its atexit handler, arch/host/main.c). exit() from any
 * goroutine does the same; a panic prints the goroutine dump and powers off with
 * status 2, as Go does. What other goroutines still do when main returns is cut
 * short, as in Go. The status reaches QEMU's exit code on x86-64 (isa-debug-exit)
 * and on aarch64 under semihosting (tools/qemu.py maps it back), in 0..127.
 *
 * Hosted, the process's own main is arch/host/main.c's: the build renames the
 * program's (objcopy --redefine-sym main=gort_app_main, arch/host/host.mk).
 */
#include <stdlib.h>
#include <kernel/start.h>
#include <rt/sched.h>

#if defined(GORT_HOSTED)
#define program_main gort_app_main
#else
#define program_main main
#endif

int program_main(int argc, char **argv);

int rt_program_main(void *arg)
{
	const struct program_args *a = arg;

	exit(program_main(a->argc, a->argv));
}
