// SPDX-License-Identifier: MIT
/*
 * unit_reclaim.c - when objects are freed: the monitor's delays, the two batch
 * slots, grace periods, polled early reclaim, the per-page cookie and the
 * warn-and-leak re-check.
 */
#include <stdbool.h>

#include "unit.h"

/*
 * The batch work's cookie re-check must see a cookie that has not passed.
 * With a correct environment that cannot happen, so this test-only link
 * wrapper (-Wl,--wrap) makes the environment's poll answer "not yet" on demand.
 */
bool __real_kenv_poll_state_synchronize_rcu(unsigned long cookie);
bool __wrap_kenv_poll_state_synchronize_rcu(unsigned long cookie);
static bool lie_about_gp;

bool __wrap_kenv_poll_state_synchronize_rcu(unsigned long cookie)
{
	if (lie_about_gp)
		return false;
	return __real_kenv_poll_state_synchronize_rcu(cookie);
}

/* One object waits for the drain delay; then a batch; then a GP; then free. */
UNIT_TEST(monitor_waits_drain_delay_then_batch_waits_gp)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);		/* one object on the list */
	unit_queue_n(0, 1);		/* one in a page */
	EXPECT(unit_snap(0).monitor_armed);

	sim_advance(ucfg.drain_delay_ns - MS);
	EXPECT_EQ(unit_snap(0).monitor_runs, 0);
	sim_advance(2 * MS);
	EXPECT_EQ(unit_snap(0).monitor_runs, 1);
	EXPECT_EQ(unit_snap(0).batches_queued, 1);
	EXPECT_EQ(unit_snap(0).in_flight, 2);
	EXPECT(unit_snap(0).batch_busy[0]);

	/* Time alone frees nothing: the batch waits for its grace period. */
	sim_advance(10 * ucfg.drain_delay_ns);
	EXPECT_EQ(unit_snap(0).objs_freed, 0);
	unit_gp();
	EXPECT_EQ(unit_snap(0).objs_freed, 2);
	EXPECT_EQ(unit_snap(0).in_flight, 0);
	EXPECT(!unit_snap(0).batch_busy[0]);
	unit_finish_clean();
}

/* A page's worth pending brings the monitor forward to the short delay. */
UNIT_TEST(monitor_short_delay_when_page_worth_pending)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 3);		/* 1 on the list + 3 = one page's worth */
	sim_advance(2 * ucfg.short_delay_ns);
	EXPECT_EQ(unit_snap(0).monitor_runs, 1);
	EXPECT_EQ(unit_snap(0).batches_queued, 1);
	unit_finish_clean();
}

/*
 * Two batches can be in flight; with both busy the monitor cannot detach and
 * must re-arm itself, or the pending objects would be stranded (PROGRESS).
 */
UNIT_TEST(two_batches_in_flight_and_monitor_rearms_while_busy)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);
	unit_run_monitor();
	EXPECT(unit_snap(0).batch_busy[0]);
	unit_queue_n(0, 1);
	unit_run_monitor();
	EXPECT(unit_snap(0).batch_busy[0]);
	EXPECT(unit_snap(0).batch_busy[1]);
	EXPECT_EQ(unit_snap(0).batches_queued, 2);

	unit_queue_n(0, 1);
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).batches_queued, 2);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 1);
	EXPECT(unit_snap(0).monitor_armed);

	/*
	 * The re-armed monitor runs again after the GP: the leftover object's
	 * cookie has passed by then, so it is reclaimed directly.
	 */
	unit_gp();
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 0);
	EXPECT_EQ(unit_snap(0).objs_freed_early_reclaim, 1);
	EXPECT_EQ(unit_snap(0).objs_freed, 3);
	unit_finish_clean();
}

/*
 * The same with only the rcu_head list pending: both slots busy, the monitor
 * must still re-arm for the list channel alone.
 */
UNIT_TEST(monitor_rearms_for_list_channel_while_batches_busy)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	for (int i = 0; i < 2; i++) {
		unit_queue(0, KENV_CTX_HARDIRQ, false, false);
		unit_run_monitor();
	}
	EXPECT(unit_snap(0).batch_busy[0] && unit_snap(0).batch_busy[1]);
	unit_queue(0, KENV_CTX_HARDIRQ, false, false);
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST], 1);
	EXPECT(unit_snap(0).monitor_armed);
	unit_finish_clean();
}

/*
 * Polled reclaim takes the ready (older) page only; the channel's count keeps
 * the objects of the page that stays, and a batch takes them with their count.
 */
UNIT_TEST(early_reclaim_of_one_page_keeps_the_others_counted)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 4);		/* page 1, full */
	unit_gp();			/* page 1 and the list are ready */
	unit_queue_n(0, 2);		/* page 2 */
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 6);
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).objs_freed_early_reclaim, 5);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 0);
	EXPECT_EQ(unit_snap(0).in_flight, 2);
	unit_gp();
	EXPECT_EQ(unit_snap(0).in_flight, 0);
	EXPECT_EQ(unit_snap(0).objs_freed, 7);
	unit_finish_clean();
}

/*
 * Pages and the list whose cookies passed already are freed by the monitor
 * directly, without queueing a batch or waiting for another GP.
 */
UNIT_TEST(polled_early_reclaim_frees_without_new_gp)
{
	unsigned long gps;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);		/* one object on the list */
	unit_queue_n(0, 2);		/* two in a page */
	unit_gp();
	gps = unit_sim().gps_completed;
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).objs_freed_early_reclaim, 3);
	EXPECT_EQ(unit_snap(0).objs_freed, 3);
	EXPECT_EQ(unit_snap(0).batches_queued, 0);
	EXPECT_EQ(unit_sim().gps_completed, gps);
	unit_finish_clean();
}

/*
 * The page cookie is refreshed on every insert: an object added after a GP
 * keeps its whole page from early reclaim (else it would be freed early).
 */
UNIT_TEST(page_cookie_refreshed_on_every_insert)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 1);
	unit_gp();			/* the list and the first record are ready */
	unit_queue_n(0, 1);		/* same page, newer cookie */
	unit_run_monitor();
	EXPECT_EQ(unit_snap(0).objs_freed_early_reclaim, 1);	/* the list only */
	EXPECT_EQ(unit_snap(0).batches_queued, 1);
	EXPECT_EQ(unit_snap(0).in_flight, 2);
	EXPECT_EQ(check_count(INV_GP_SAFETY), 0);
	unit_gp();
	EXPECT_EQ(unit_snap(0).objs_freed, 3);
	unit_finish_clean();
}

/*
 * A batch whose cookie has not passed when its work runs is leaked with a
 * warning, never freed early.
 */
UNIT_TEST(cookie_not_passed_leaks_with_warning)
{
	struct tobj *obj[3];

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);		/* obj on the list */
	for (int i = 0; i < 3; i++)
		obj[i] = unit_queue(0, KENV_CTX_TASK, false, false);
	unit_run_monitor();
	lie_about_gp = true;
	unit_gp();
	lie_about_gp = false;
	EXPECT_EQ(unit_snap(0).objs_freed, 0);
	EXPECT_EQ(unit_snap(0).objs_leaked, 4);
	EXPECT_EQ(unit_sim().kfree_bulk_objs, 0);
	EXPECT_EQ(unit_sim().kfree, 0);
	for (int i = 0; i < 3; i++)
		EXPECT(sim_obj_live(obj[i]));
	/* The warning is a GP-SAFETY report: fatal in harness builds. */
	EXPECT_EQ(check_violated(NULL), INV_GP_SAFETY);
	sim_fini();
}

/* The rcu_head list channel also waits for a GP and is freed by the batch. */
UNIT_TEST(list_channel_freed_after_gp)
{
	struct tobj *obj;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	obj = unit_queue(0, KENV_CTX_HARDIRQ, false, false);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST], 1);
	unit_run_monitor();
	EXPECT(sim_obj_live(obj));
	unit_gp();
	EXPECT(!sim_obj_live(obj));
	unit_finish_clean();
}
