/*
 * kernel/libc.c: the OS hooks newlib calls (its "syscalls"), so printf, snprintf,
 * strtol, malloc, memcpy and friends come from newlib.
 *
 * The two newlib targets name their hooks differently: x86_64-elf calls write, sbrk,
 * fstat... (built with MISSING_SYSCALL_NAMES), aarch64-elf calls _write, _sbrk,
 * _fstat... Each hook is defined once under its plain name with a strong alias for
 * the underscored one, so both targets link.
 *
 *   write(1 or 2)  -> the console; other descriptors -> EBADF
 *   sbrk           -> vm_sbrk (the libc heap at KHEAP_BASE, mapped on demand)
 *   exit           -> power off with the status
 *   read(0)        -> the console's reader (rt/tty.c registers it: a line at a time,
 *                     blocking the goroutine); 0 (end of file) before it is registered
 *   the rest       -> fail with the errno a system without files gives
 *
 * Threads: errno and the rest of newlib's per-thread state belong to the running
 * goroutine (kernel/libc_state.c, __getreent), and newlib's locks to the goroutine
 * holding them (kernel/newlib_lock.c). newlib 3.3.0 has no flockfile outside its Linux
 * port: flockfile, ftrylockfile and funlockfile are defined here over the FILE's lock,
 * so a program can keep several printf calls together on stdout.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/lock.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <sys/time.h>
#include <arch/ops.h>
#include <kernel/console.h>
#include <kernel/vm.h>

#undef errno
extern int errno;

#define ALIAS(name) __attribute__((alias(#name)))

int write(int fd, const void *buf, size_t n);
int write(int fd, const void *buf, size_t n)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	console_write(buf, n);
	return (int)n;
}
int _write(int fd, const void *buf, size_t n) ALIAS(write);

static ssize_t (*_Atomic stdin_reader)(void *buf, size_t n);

void console_set_stdin_reader(ssize_t (*fn)(void *buf, size_t n))
{
	atomic_store(&stdin_reader, fn);
}

int read(int fd, void *buf, size_t n);
int read(int fd, void *buf, size_t n)
{
	if (fd != 0) {
		errno = EBADF;
		return -1;
	}
	ssize_t (*fn)(void *, size_t) = atomic_load(&stdin_reader);
	return fn ? (int)fn(buf, n > 0x7fffffff ? 0x7fffffff : n) : 0;
}
int _read(int fd, void *buf, size_t n) ALIAS(read);

void *sbrk(ptrdiff_t incr);
void *sbrk(ptrdiff_t incr)
{
	void *p = vm_sbrk(incr);
	if (p == (void *)-1)
		errno = ENOMEM;
	return p;
}
void *_sbrk(ptrdiff_t incr) ALIAS(sbrk);

int close(int fd);
int close(int fd)
{
	(void)fd;
	errno = EBADF;
	return -1;
}
int _close(int fd) ALIAS(close);

int fstat(int fd, struct stat *st);
int fstat(int fd, struct stat *st)
{
	if (fd < 0 || fd > 2) {
		errno = EBADF;
		return -1;
	}
	st->st_mode = S_IFCHR;
	return 0;
}
int _fstat(int fd, struct stat *st) ALIAS(fstat);

int isatty(int fd);
int isatty(int fd)
{
	return fd >= 0 && fd <= 2;
}
int _isatty(int fd) ALIAS(isatty);

off_t lseek(int fd, off_t off, int whence);
off_t lseek(int fd, off_t off, int whence)
{
	(void)fd, (void)off, (void)whence;
	errno = ESPIPE;
	return -1;
}
off_t _lseek(int fd, off_t off, int whence) ALIAS(lseek);

int open(const char *path, int flags, ...);
int open(const char *path, int flags, ...)
{
	(void)path, (void)flags;
	errno = ENOENT;
	return -1;
}
int _open(const char *path, int flags, ...) ALIAS(open);

int getpid(void);
int getpid(void)
{
	return 1;
}
int _getpid(void) ALIAS(getpid);

int kill(int pid, int sig);
int kill(int pid, int sig)
{
	(void)pid, (void)sig;
	errno = EINVAL;
	return -1;
}
int _kill(int pid, int sig) ALIAS(kill);

_Noreturn void _exit(int status);
_Noreturn void _exit(int status)
{
	arch_poweroff(status);
}

int gettimeofday(struct timeval *tv, void *tz);
int gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	uint64_t f = arch_cycles_freq(), c = arch_cycles();
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	tv->tv_sec = (time_t)(c / f);
	tv->tv_usec = (suseconds_t)((c % f) * 1000000 / f);
	return 0;
}
int _gettimeofday(struct timeval *tv, void *tz) ALIAS(gettimeofday);

clock_t times(struct tms *t);
clock_t times(struct tms *t)
{
	(void)t;
	errno = ENOSYS;
	return (clock_t)-1;
}
clock_t _times(struct tms *t) ALIAS(times);

int link(const char *a, const char *b);
int link(const char *a, const char *b)
{
	(void)a, (void)b;
	errno = EMLINK;
	return -1;
}
int _link(const char *a, const char *b) ALIAS(link);

int unlink(const char *p);
int unlink(const char *p)
{
	(void)p;
	errno = ENOENT;
	return -1;
}
int _unlink(const char *p) ALIAS(unlink);

int stat(const char *p, struct stat *st);
int stat(const char *p, struct stat *st)
{
	(void)p, (void)st;
	errno = ENOENT;
	return -1;
}
int _stat(const char *p, struct stat *st) ALIAS(stat);

/* stdio's own initialisation (newlib's findfp.c): the global streams' locks exist only
 * once some reent has run it. */
void __sinit(struct _reent *r);

static void file_ready(FILE *f)
{
	struct _reent *r = _REENT;
	if (!r->__sdidinit)
		__sinit(r);
	(void)f;
}

void flockfile(FILE *f)
{
	file_ready(f);
	_flockfile(f);
}

int ftrylockfile(FILE *f)
{
	file_ready(f);
	if (f->_flags & __SSTR)
		return 0;
	return __lock_try_acquire_recursive(f->_lock) ? 0 : -1;
}

void funlockfile(FILE *f)
{
	_funlockfile(f);
}
