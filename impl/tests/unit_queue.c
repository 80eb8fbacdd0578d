// SPDX-License-Identifier: MIT
/*
 * unit_queue.c - where a kvfree_rcu() call puts its object: which CPU, which
 * channel, which page, and what it may allocate on the way.
 */
#include "unit.h"

/* The caller's CPU owns the object: nothing lands on another CPU's krc. */
UNIT_TEST(queue_lands_on_callers_cpu)
{
	unit_setup(2, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(1);
	unit_queue(1, KENV_CTX_TASK, false, false);
	EXPECT_EQ(unit_snap(1).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 0);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST], 0);
	EXPECT_EQ(unit_snap(0).calls[KENV_CTX_TASK], 0);
	EXPECT_EQ(unit_snap(1).calls[KENV_CTX_TASK], 2);
	unit_finish_clean();
}

/* Slab and vmalloc objects go to separate bulk channels, each with its own page. */
UNIT_TEST(slab_and_vmalloc_use_separate_channels)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 3, NULL);
	unit_prime_cache(0);
	unit_queue(0, KENV_CTX_TASK, false, false);
	unit_queue(0, KENV_CTX_TASK, true, false);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_VMALLOC], 1);
	EXPECT_EQ(unit_snap(0).bulk_pages, 2);
	unit_run_monitor();
	unit_gp();
	EXPECT_EQ(unit_sim().vfree, 1);
	EXPECT_GE(unit_sim().kfree_bulk_objs, 1);
	unit_finish_clean();
}

/*
 * With the cache empty, the two-argument form threads the object onto the
 * rcu_head list and allocates nothing, even from a hardirq.
 */
UNIT_TEST(two_arg_cache_empty_takes_list_without_allocating)
{
	static const enum kenv_ctx ctxs[] = {
		KENV_CTX_TASK, KENV_CTX_KTHREAD, KENV_CTX_SOFTIRQ, KENV_CTX_HARDIRQ,
	};

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	for (unsigned int i = 0; i < 4; i++) {
		unsigned long allocs = unit_sim().page_allocs + unit_sim().page_alloc_failures;

		unit_queue(0, ctxs[i], false, false);
		EXPECT_EQ(unit_sim().page_allocs + unit_sim().page_alloc_failures, allocs);
		EXPECT_EQ(unit_snap(0).calls[ctxs[i]], 1);
	}
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST], 4);
	EXPECT_EQ(unit_snap(0).fallback_list, 4);
	EXPECT_EQ(unit_snap(0).bulk_pages, 0);
	unit_finish_clean();
}

/* A page takes page_entries records; the next call takes a cached page. */
UNIT_TEST(page_fills_then_takes_cached_page)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 3, NULL);
	unit_prime_cache(0);
	unit_queue_n(0, 4);
	EXPECT_EQ(unit_snap(0).bulk_pages, 1);
	EXPECT_EQ(unit_snap(0).cached_pages, 2);
	unit_queue_n(0, 1);
	EXPECT_EQ(unit_snap(0).bulk_pages, 2);
	EXPECT_EQ(unit_snap(0).cached_pages, 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 5);
	EXPECT_EQ(unit_snap(0).fallback_list, 1);	/* only the priming miss */
	unit_finish_clean();
}

/* The headless form may allocate a page itself, with the lock dropped. */
UNIT_TEST(headless_allocates_page_with_lock_dropped)
{
	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	unit_queue(0, KENV_CTX_TASK, false, true);
	EXPECT_EQ(unit_snap(0).direct_allocs, 1);
	EXPECT_EQ(unit_snap(0).bulk_pages, 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_snap(0).calls_headless, 1);
	EXPECT_EQ(unit_sim().allocs_by_gfp[SIM_GFP_KERNEL], 1);
	/* Had it allocated under the lock, the checker would have said so. */
	EXPECT_EQ(check_count(INV_NO_ALLOC_ATOMIC), 0);
	unit_finish_clean();
}

/*
 * The task migrates while the lock is dropped for the allocation: the page
 * and the pointer still go to the krc it locked first (PER-CPU).
 */
UNIT_TEST(headless_relocks_same_krc_after_migration)
{
	unit_setup(2, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	sim_set_next_preempt(0, 1);
	unit_queue(0, KENV_CTX_TASK, false, true);
	sim_run_pending();
	EXPECT_EQ(unit_sim().migrations, 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_snap(0).bulk_pages, 1);
	EXPECT_EQ(unit_snap(1).pending[KVFREE_CH_SLAB], 0);
	EXPECT_EQ(unit_snap(1).bulk_pages, 0);
	unit_finish_clean();
}

/*
 * The first CPU goes offline while the headless caller sleeps in its page
 * allocation: that krc was handed to batches, so the current CPU's krc takes
 * the call; nothing is leaked (HOTPLUG).
 */
UNIT_TEST(headless_relock_finds_cpu_offline_uses_current_krc)
{
	unit_setup(2, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	sim_set_next_preempt(0, 1);
	unit_queue(0, KENV_CTX_TASK, false, true);
	EXPECT_EQ(sim_tasks_alive(), 1);	/* preempted with the lock dropped */
	EXPECT(sim_cpu_offline(0));
	sim_run_pending();
	EXPECT_EQ(sim_tasks_alive(), 0);
	EXPECT_EQ(unit_snap(1).pending[KVFREE_CH_SLAB], 1);
	EXPECT_EQ(unit_snap(1).bulk_pages, 1);
	EXPECT_EQ(unit_snap(0).bulk_pages, 0);
	EXPECT_EQ(check_count(INV_HOTPLUG), 0);
	unit_finish_clean();
}

/* No page and no allocation: the headless caller waits for a GP and frees inline. */
UNIT_TEST(headless_falls_back_to_inline_synchronize)
{
	struct tobj *obj;
	int id;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 0, NULL);
	sim_fail_next_allocs(1);
	obj = unit_obj(false);
	unit_queue_obj(0, KENV_CTX_TASK, obj, true, CHECK_EXPECT_FREE, UNIT_MASK_NONE);
	id = 0;
	(void)id;
	/* The task now sleeps in synchronize_rcu(): nothing freed yet. */
	EXPECT(sim_obj_live(obj));
	EXPECT_EQ(unit_snap(0).fallback_sync, 1);
	EXPECT_EQ(sim_tasks_alive(), 1);
	unit_gp();
	EXPECT(!sim_obj_live(obj));
	EXPECT_EQ(unit_sim().kfree, 1);
	EXPECT_EQ(sim_tasks_alive(), 0);
	unit_finish_clean();
}
