/*
 * rt/go.c: the public goroutine calls (rt/go.h) over the scheduler (rt/sched.c).
 */
#include <kernel/cpu.h>
#include <kernel/panic.h>
#include <rt/go.h>
#include <rt/sched.h>

static struct g *curg_or_panic(const char *what)
{
	struct g *g = sched_curg();
	if (!g)
		panic("%s: not called from a goroutine", what);
	return g;
}

void go(void (*fn)(void *), void *arg)
{
	sched_spawn(fn, arg, 0);
}

void go_stack(void (*fn)(void *), void *arg, size_t stack_size)
{
	sched_spawn(fn, arg, stack_size);
}

void go_yield(void)
{
	curg_or_panic("go_yield");
	sched_gosched();
}

uint64_t go_id(void)
{
	return curg_or_panic("go_id")->id;
}

unsigned go_cpu(void)
{
	irq_push();		/* no move between reading the CPU and its id */
	unsigned id = cpu_id();
	irq_pop();
	return id;
}

unsigned go_ncpu(void)
{
	return cpu_count();
}
