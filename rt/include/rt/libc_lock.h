/*
 * rt/libc_lock.h: hand newlib's locks the scheduler's park and ready
 * (rt/libc_lock.c, kernel/newlib_lock.c).
 *
 * libc_lock_start(): call once when the scheduler starts, before goroutines contend
 * for the C library (sched_start). Idempotent. Context: any but interrupts.
 */
#ifndef RT_LIBC_LOCK_H
#define RT_LIBC_LOCK_H

void libc_lock_start(void);

#endif
