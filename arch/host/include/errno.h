/*
 * errno.h on the hosted platform: glibc's, with errno re-read at every use.
 *
 * glibc's errno is (*__errno_location()), and __errno_location is declared const, so
 * the compiler may call it once per function and keep the address. A goroutine that
 * touches errno, switches, and resumes on another CPU (another thread) would then use
 * the first thread's errno. Here errno goes through host_errno_location
 * (kernel/libc_state.c), an ordinary function the compiler must call at each use: it
 * always names the errno of the thread running the code now. This directory comes
 * before the system's in the hosted build's include path (arch/host/host.mk).
 */
#ifndef HOST_ERRNO_H
#define HOST_ERRNO_H

#include_next <errno.h>

#ifndef __ASSEMBLER__
int *host_errno_location(void);
#undef errno
#define errno (*host_errno_location())
#endif

#endif
