/*
 * tests/host/xorshift.h: the xorshift64 generator that the host tests' random damage
 * draws from (test_acpi.c and test_fdt.c: random_damage_never_faults).
 *
 * Each test file keeps its own state with its own fixed, non-zero seed, so a run that
 * fails repeats exactly:
 *
 *   static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
 *   size_t at = xorshift_next(&rng_state) % len;
 *
 * Marsaglia's 13/7/17 triple; the result is bits 16..47 of the new state.
 */
#ifndef TESTS_HOST_XORSHIFT_H
#define TESTS_HOST_XORSHIFT_H

#include <stdint.h>

static inline uint32_t xorshift_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (uint32_t)(*state >> 16);
}

#endif
