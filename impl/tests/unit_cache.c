// SPDX-License-Identifier: MIT
/*
 * unit_cache.c - the per-CPU page cache and the three refill policies: when a
 * refill is triggered, where it allocates, when it stops, and the shrinker.
 */
#include "unit.h"

/*
 * Kernel policy: a miss arms the hrtimer, whose handler queues the refill
 * work; the work fills the cache to its cap in kthread context, outside the
 * lock (the checker would report NO-ALLOC-ATOMIC otherwise).
 */
UNIT_TEST(miss_kicks_deferred_refill_outside_lock)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 3, NULL);
	unit_queue(0, KENV_CTX_HARDIRQ, false, false);
	/* Nothing was allocated during the call itself. */
	EXPECT_EQ(unit_sim().page_allocs, 0);
	EXPECT_EQ(unit_snap(0).cached_pages, 0);
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).refill_runs, 1);
	EXPECT_EQ(unit_snap(0).refill_pages, 3);
	EXPECT_EQ(unit_snap(0).cached_pages, 3);
	EXPECT_EQ(unit_sim().allocs_by_gfp[SIM_GFP_KERNEL], 3);
	EXPECT_GE(unit_sim().timers_fired, 1);
	EXPECT_EQ(check_count(INV_NO_ALLOC_ATOMIC), 0);
	unit_finish_clean();
}

/* The kernel policy refills only on a miss, never while pages remain. */
UNIT_TEST(kernel_policy_refills_only_on_miss)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 2, 2, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 4);		/* uses both cached pages */
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).cached_pages, 0);
	EXPECT_EQ(unit_snap(0).refill_runs, 1);
	unit_queue_n(0, 1);		/* miss */
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).refill_runs, 2);
	EXPECT_EQ(unit_snap(0).fallback_list, 2);
	unit_finish_clean();
}

/* A failed refill allocation ends the refill: one attempt, no retry loop. */
UNIT_TEST(refill_stops_at_first_failure)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 5, NULL);
	unit_queue(0, KENV_CTX_TASK, false, false);
	sim_fail_next_allocs(1);
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).refill_runs, 1);
	EXPECT_EQ(unit_snap(0).refill_failures, 1);
	EXPECT_EQ(unit_snap(0).refill_pages, 0);
	EXPECT_EQ(unit_sim().page_allocs + unit_sim().page_alloc_failures, 1);
	/* The next miss may try again. */
	unit_queue(0, KENV_CTX_TASK, false, false);
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).cached_pages, 5);
	unit_finish_clean();
}

/* Pages come back to the cache after a batch, never beyond the cap (BOUNDED). */
UNIT_TEST(cache_recycles_pages_up_to_cap)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 2, 2, NULL);
	unit_prime_cache(0);
	for (int round = 0; round < 4; round++) {
		unit_queue_n(0, 8);	/* 4 pages' worth: 2 cached + refills + list */
		sim_run_pending();
		unit_run_monitor();
		unit_gp();
		EXPECT_LE(unit_snap(0).cached_pages, 2);
	}
	EXPECT_GT(unit_snap(0).pages_freed, 0);
	EXPECT_EQ(unit_snap(0).cached_pages, 2);
	unit_finish_clean();
}

/* Nothing pending and nothing cached: the shrinker says "empty", not 0. */
UNIT_TEST(shrinker_reports_empty)
{
	unit_setup(2, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	EXPECT_EQ(kfree_rcu_shrink_count(), KVFREE_SHRINK_EMPTY);
	EXPECT_EQ(kfree_rcu_shrink_scan(10), KVFREE_SHRINK_STOP);
	unit_finish_clean();
}

/*
 * The shrinker counts pending objects and cached pages, drains the cache and
 * starts reclaim; refill then backs off: it waits backoff_ns and adds one page.
 */
UNIT_TEST(shrinker_drains_cache_and_refill_backs_off)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 3, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 2);
	EXPECT_EQ(kfree_rcu_shrink_count(), 3 + 3 - 1);	/* 3 objects + 2 cached pages */
	EXPECT(unit_snap(0).backoff);
	EXPECT_GE(kfree_rcu_shrink_scan(100), 3);
	EXPECT_EQ(unit_snap(0).cached_pages, 0);
	/* The scan runs the monitor at once, as work (which a barrier can wait for). */
	EXPECT(unit_snap(0).monitor_armed);
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).batches_queued, 1);
	unit_gp();
	/* The batch's page came back to the cache; fill it, then miss. */
	EXPECT_EQ(unit_snap(0).cached_pages, 1);
	unit_queue_n(0, 4);
	EXPECT_EQ(unit_snap(0).cached_pages, 0);
	unit_queue_n(0, 1);		/* miss: refill is deferred by the backoff */
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).cached_pages, 0);
	EXPECT_EQ(unit_snap(0).fallback_list, 2);
	sim_advance(ucfg.backoff_ns + MS);
	EXPECT_EQ(unit_snap(0).cached_pages, 1);	/* one page while backing off */
	EXPECT(!unit_snap(0).backoff);
	unit_finish_clean();
}

static void watermark_tweak(struct kvfree_rcu_config *cfg, struct sim_config *sc)
{
	cfg->watermark = 6;
	cfg->rate_calls = 1000;
}

/*
 * Watermark policy: when free slots fall below the watermark, a softirq
 * refills the cache before any miss; no call had to fall back meanwhile.
 */
UNIT_TEST(watermark_refills_below_watermark_before_miss)
{
	unit_setup(1, KVFREE_POLICY_WATERMARK, 4, 2, watermark_tweak);
	unit_prime_cache(0);		/* the first call misses: 8 free slots after */
	EXPECT_EQ(unit_snap(0).fallback_list, 1);
	unit_queue_n(0, 2);		/* 4 - 2 + 4 = 6 free slots: not below */
	EXPECT_EQ(unit_snap(0).watermark_raises, 1);
	unit_queue_n(0, 1);		/* 5 < 6: raise; it runs at the call's bh/irq exit */
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).watermark_raises, 2);
	EXPECT_EQ(unit_snap(0).cached_pages, 2);
	EXPECT_EQ(unit_snap(0).fallback_list, 1);
	EXPECT_GE(unit_sim().softirqs_run, 1);
	EXPECT_GE(unit_sim().allocs_by_gfp[SIM_GFP_NOWAIT], 1);
	unit_finish_clean();
}

static void rate_tweak(struct kvfree_rcu_config *cfg, struct sim_config *sc)
{
	cfg->watermark = 0;
	cfg->rate_calls = 3;
	cfg->rate_window_ns = 10 * MS;
}

/* Watermark policy: a high call rate also triggers the softirq refill. */
UNIT_TEST(watermark_rate_triggers_refill)
{
	unit_setup(1, KVFREE_POLICY_WATERMARK, 64, 2, rate_tweak);
	unit_prime_cache(0);
	unit_queue_n(0, 1);		/* page taken: one cached page left */
	EXPECT_EQ(unit_snap(0).cached_pages, 1);
	EXPECT_EQ(unit_snap(0).watermark_raises, 1);
	unit_queue_n(0, 2);		/* third call in the window */
	sim_run_pending();
	EXPECT_EQ(unit_snap(0).watermark_raises, 2);
	EXPECT_EQ(unit_snap(0).cached_pages, 2);
	unit_finish_clean();
}

/*
 * nolocks policy: on a miss the call takes a page from the lock-free pool
 * under the lock (the one allocation the checker accepts there), even from a
 * hardirq, instead of falling back to the list.
 */
UNIT_TEST(nolocks_takes_pool_page_under_lock)
{
	unit_setup(1, KVFREE_POLICY_NOLOCKS, 4, 2, NULL);
	unit_queue(0, KENV_CTX_HARDIRQ, false, false);
	EXPECT_EQ(unit_snap(0).pool_allocs, 1);
	EXPECT_EQ(unit_snap(0).fallback_list, 0);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_sim().allocs_by_gfp[SIM_GFP_POOL], 1);
	EXPECT_EQ(check_count(INV_NO_ALLOC_ATOMIC), 0);
	unit_finish_clean();
}

static void empty_pool_tweak(struct kvfree_rcu_config *cfg, struct sim_config *sc)
{
	sc->pool_pages = 0;
}

/* nolocks with the pool dry: the pool allocation fails and the list takes it. */
UNIT_TEST(nolocks_empty_pool_falls_back_to_list)
{
	unit_setup(1, KVFREE_POLICY_NOLOCKS, 4, 2, empty_pool_tweak);
	unit_queue(0, KENV_CTX_HARDIRQ, false, false);
	EXPECT_EQ(unit_snap(0).pool_allocs, 0);
	EXPECT_EQ(unit_snap(0).fallback_list, 1);
	unit_finish_clean();
}
