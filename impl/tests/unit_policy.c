// SPDX-License-Identifier: MIT
/*
 * unit_policy.c - properties of the refill policies under fixed flood
 * programs: what a policy promises over a stretch of calls, not one step of
 * its mechanism (unit_cache.c has those).  A policy that keeps every
 * invariant can still stop doing its job; these are the deterministic
 * counterpart of the stress runs' policy baseline (stress/bench/).
 */
#include "unit.h"

/* A watermark of a page and a half; the call rate never triggers. */
static void flood_tweak(struct kvfree_rcu_config *cfg, struct sim_config *sc)
{
	cfg->watermark = 12;
	cfg->rate_calls = 1u << 30;
}

/*
 * The watermark policy refills before its pages run out: a flood of 256
 * two-argument calls, 32 pages' worth (eight times the cache), with no
 * monitor run to give pages back, in bursts of four with the softirqs they
 * raise run in between, and not one call falls back to the rcu_head list
 * after the first (the priming miss).  A policy that only refills on a miss
 * - the kernel's, or a watermark policy that stopped noticing its watermark
 * (the `degraded` build: 29 of the 256) - falls back whenever the cache
 * runs dry, until the refill the miss asked for has run.
 */
UNIT_TEST(watermark_refills_before_pages_run_out)
{
	unsigned long fallbacks;

	unit_setup(1, KVFREE_POLICY_WATERMARK, 8, 4, flood_tweak);
	unit_prime_cache(0);
	fallbacks = unit_snap(0).fallback_list;
	EXPECT_EQ(fallbacks, 1);
	for (int burst = 0; burst < 64; burst++) {
		unit_queue_n(0, 4);
		sim_run_pending();
	}
	EXPECT_EQ(unit_snap(0).fallback_list, fallbacks);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 256);
	/* 28 pages beyond the 4 cached at the start, at most 4 a refill. */
	EXPECT_GE(unit_snap(0).watermark_raises, 7);
	unit_finish_clean();
}
