/*
 * rt/once.c: sync.Once.
 *
 * Go's shape: a done flag read with acquire on the fast path, and a mutex that the
 * first caller holds while fn runs. Everyone else who arrives meanwhile queues on
 * the mutex (wait reason "sync.Mutex.Lock"), finds done set once it gets in, and
 * returns: no caller returns before fn has, and fn's writes are visible to all of
 * them (the release store of done, or the mutex hand-off). Calling once_do on the
 * same once from inside fn deadlocks, as in Go.
 */
#include <rt/sync.h>

void once_do(struct once *o, void (*fn)(void *), void *arg)
{
	if (atomic_load_explicit(&o->done, memory_order_acquire))
		return;
	mutex_lock(&o->m);
	if (!atomic_load_explicit(&o->done, memory_order_relaxed)) {
		fn(arg);
		atomic_store_explicit(&o->done, 1, memory_order_release);
	}
	mutex_unlock(&o->m);
}
