/* SPDX-License-Identifier: MIT */
/*
 * sim_rng.c - the run's PRNG: splitmix64 seeds xoshiro256** from
 * sim_config.seed, and the traced draws of sim.h.
 *
 * The generator itself (sim_rng_next, sim_rng_below, sim_chance) is inline in
 * sim_internal.h: instrumentation points draw from it on every call.  Only
 * draws made in a fixed order by single-threaded code, so a seed names a run.
 */
#include <inttypes.h>

#include "sim_internal.h"
#include "splitmix64.h"

void sim_rng_seed(uint64_t seed)
{
	uint64_t x = seed;
	unsigned int i;

	for (i = 0; i < 4; i++)
		sim.rng[i] = splitmix64_next(&x);
}

uint64_t sim_random(void)
{
	uint64_t v = sim_rng_next();

	check_trace("random %016" PRIx64, v);
	return v;
}

uint64_t sim_random_below(uint64_t n)
{
	uint64_t v = sim_rng_below(n);

	check_trace("random %" PRIu64 "/%" PRIu64, v, n);
	return v;
}
