/*
 * tests/boot/probe.h: read a word on some CPU without faulting (arch_probe_read), for
 * the tests of unmapping, shootdown and stale stacks: ipi_call(cpu, probe_on, &p, true).
 */
#ifndef TESTS_BOOT_PROBE_H
#define TESTS_BOOT_PROBE_H

#include <stdint.h>
#include <arch/mmu.h>

struct probe {
	uint64_t va;
	int rc;			/* 0: read p->val; -1: the read faulted */
	uint64_t val;
};

static inline void probe_on(void *arg)
{
	struct probe *p = arg;
	p->rc = arch_probe_read(p->va, &p->val);
}

#endif
