// SPDX-License-Identifier: MIT
/*
 * unit_misc.c - the barrier, CPU hotplug, misuse detection and configuration.
 */
#include "unit.h"

/* kvfree_rcu_barrier() returns only when everything queued before it is freed. */
UNIT_TEST(barrier_frees_everything_queued_before)
{
	unit_setup(3, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(0);
	unit_prime_cache(2);
	for (unsigned int cpu = 0; cpu < 3; cpu++) {
		unit_queue_n(cpu, 9);
		unit_queue(cpu, KENV_CTX_HARDIRQ, true, false);
	}
	unit_run_monitor();		/* some in flight, some still pending */
	unit_queue_n(1, 3);
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	EXPECT_EQ(unit_sim().objs_live, 0);
	for (unsigned int cpu = 0; cpu < 3; cpu++) {
		EXPECT_EQ(unit_snap(cpu).in_flight, 0);
		EXPECT_EQ(unit_snap(cpu).pending[KVFREE_CH_SLAB] +
			  unit_snap(cpu).pending[KVFREE_CH_VMALLOC] +
			  unit_snap(cpu).pending[KVFREE_CH_LIST], 0);
	}
	EXPECT_EQ(check_count(INV_BARRIER), 0);
	unit_finish_clean();
}

/*
 * A CPU going offline hands its pending objects to batches (freed after a GP,
 * not lost, not early) and gives its cache back; online, it queues again.
 */
UNIT_TEST(cpu_offline_hands_objects_to_batches)
{
	unit_setup(2, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	unit_prime_cache(1);
	unit_queue_n(1, 5);
	EXPECT(sim_cpu_offline(1));
	EXPECT(!unit_snap(1).online);
	EXPECT_EQ(unit_snap(1).pending[KVFREE_CH_SLAB] + unit_snap(1).pending[KVFREE_CH_LIST], 0);
	EXPECT_EQ(unit_snap(1).in_flight, 6);
	EXPECT_EQ(unit_snap(1).cached_pages, 0);
	EXPECT_EQ(unit_snap(1).objs_freed, 0);
	unit_gp();
	EXPECT_EQ(unit_snap(1).objs_freed, 6);
	EXPECT(sim_cpu_online(1));
	EXPECT(unit_snap(1).online);
	unit_queue_n(1, 1);
	EXPECT_EQ(unit_snap(1).pending[KVFREE_CH_LIST], 1);
	unit_finish_clean();
}

/* A second kvfree_rcu() of a queued object is reported and leaked: freed once. */
UNIT_TEST(double_queue_warns_and_leaks)
{
	struct tobj *obj;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	obj = unit_obj(false);
	unit_queue_obj(0, KENV_CTX_TASK, obj, false, CHECK_EXPECT_FREE, UNIT_MASK_NONE);
	unit_queue_obj(0, KENV_CTX_TASK, obj, false, CHECK_EXPECT_DOUBLE, UNIT_MASK_NONE);
	EXPECT_EQ(unit_snap(0).double_queued, 1);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST], 1);
	unit_run_monitor();
	unit_gp();
	EXPECT(!sim_obj_live(obj));
	EXPECT_EQ(unit_sim().kfree, 1);
	EXPECT_EQ(check_count(INV_EXACTLY_ONCE), 0);
	unit_finish_clean();
}

/* A call from NMI is refused and counted, and does not touch the krc. */
UNIT_TEST(nmi_call_refused_and_counted)
{
	struct tobj *obj;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	obj = unit_obj(false);
	unit_queue_obj(0, KENV_CTX_NMI, obj, false, CHECK_EXPECT_REFUSED, UNIT_MASK_NONE);
	EXPECT_EQ(unit_snap(0).nmi_refused, 1);
	EXPECT_EQ(unit_snap(0).calls[KENV_CTX_NMI], 0);
	EXPECT_EQ(unit_snap(0).pending[KVFREE_CH_LIST] + unit_snap(0).pending[KVFREE_CH_SLAB], 0);
	EXPECT(!unit_snap(0).monitor_armed);
	EXPECT(sim_obj_live(obj));
	EXPECT_EQ(check_count(INV_LOCKING), 0);
	unit_finish_clean();
}

/* A headless call with irqs disabled is reported (MISUSE), not run. */
UNIT_TEST(headless_from_atomic_reported)
{
	struct tobj *obj;

	unit_setup(1, KVFREE_POLICY_KERNEL, 4, 2, NULL);
	obj = unit_obj(false);
	unit_queue_obj(0, KENV_CTX_TASK, obj, true, CHECK_EXPECT_REFUSED, UNIT_MASK_IRQS);
	EXPECT_EQ(unit_snap(0).headless_atomic, 1);
	EXPECT_EQ(unit_snap(0).calls_headless, 0);
	EXPECT(sim_obj_live(obj));
	/* It neither slept nor allocated in atomic context. */
	EXPECT_EQ(check_count(INV_NO_ALLOC_ATOMIC), 0);
	unit_finish_clean();
}

/* Bad configurations are refused with a sentence naming the field. */
UNIT_TEST(config_rejects_bad_values)
{
	struct kvfree_rcu_config cfg;
	const char *why = NULL;

	kvfree_rcu_config_default(&cfg);
	EXPECT(kvfree_rcu_config_valid(&cfg, &why));
	cfg.page_entries = 1;
	EXPECT(!kvfree_rcu_config_valid(&cfg, &why));
	EXPECT(why != NULL);
	kvfree_rcu_config_default(&cfg);
	cfg.cache_pages = KVFREE_CACHE_PAGES_MAX + 1;
	EXPECT(!kvfree_rcu_config_valid(&cfg, &why));
	kvfree_rcu_config_default(&cfg);
	cfg.policy = KVFREE_POLICY_NR;
	EXPECT(!kvfree_rcu_config_valid(&cfg, &why));
	kvfree_rcu_config_default(&cfg);
	cfg.short_delay_ns = cfg.drain_delay_ns + 1;
	EXPECT(!kvfree_rcu_config_valid(&cfg, &why));
}
