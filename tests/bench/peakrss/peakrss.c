/*
 * tests/bench/peakrss/peakrss.c: run a program and report its peak resident set size,
 * for tools/gcbench.py.
 *
 *   peakrss FILE PROGRAM [ARG...]
 *
 * forks, execs PROGRAM in the child, waits for it and writes the child's ru_maxrss (KiB)
 * to FILE; exits with the child's status (128 + the signal if a signal ended it).
 *
 * Why not the benchmark script's own wait4: Linux counts, in a process's maxrss, the
 * peak of the memory it exec'd from (exec_mmap keeps the old mm's high-water mark),
 * and a child forked or vforked by the Python script starts from the script's ~14 MB.
 * Forked from this small program instead, a child's figure is its own from about
 * 1 MB up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: peakrss FILE PROGRAM [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "peakrss: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "peakrss: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	int status;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "peakrss: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) != 0) {
		fprintf(stderr, "peakrss: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
