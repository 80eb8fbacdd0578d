/* SPDX-License-Identifier: MIT */
/*
 * fake_env.h - a settable stand-in for the environment and the
 * implementation, so the checker's tests run without the sim, the posix
 * environment or kvfree_rcu.c.
 *
 * Context state is thread-local (each test thread, and a signal handler that
 * saves and restores it, sets its own); the implementation's snapshot is a
 * plain array the test fills.  Also a minimal TAP writer.
 */
#ifndef KVTORTURE_FAKE_ENV_H
#define KVTORTURE_FAKE_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "kvfree_rcu.h"

struct fake_ctx {
	enum kenv_ctx ctx;
	int cpu;
	bool irqs_off;
	bool preempt_off;		/* preemption, bh or an RCU reader: not preemptible */
	struct check_task *task;	/* what check_current() returns */
};

/* The calling thread's context; tests write it directly. */
struct fake_ctx *fake_ctx(void);
/* Task context on cpu 0, irqs on, the thread's default task record. */
void fake_ctx_default(void);

/* The implementation's state as check_final() and friends will see it. */
extern struct kvfree_rcu_cpu_stats fake_stats[KENV_NR_CPUS_MAX];
extern struct kvfree_rcu_config fake_config;
extern bool fake_impl_up;		/* false: kvfree_rcu_config() returns NULL */
extern uint64_t fake_now_ns;

/*
 * The implementation's structures as its walk (kvfree_rcu_walk_locked())
 * reports them, per CPU: the summary, up to 4 pages and 4 list objects.
 * fake_krc_lock[cpu] is that CPU's krc lock (kvfree_rcu_krc_cpu()).
 */
#define FAKE_WALK_PAGES 4
struct fake_walk_cpu {
	struct kvfree_rcu_structure s;
	struct kvfree_rcu_page_view pages[FAKE_WALK_PAGES];
	unsigned int nr_pages;
	const void *list_objs[FAKE_WALK_PAGES];
	unsigned int nr_list;
};
extern struct fake_walk_cpu fake_walk[4];
extern struct kenv_lock fake_krc_lock[4];

/*
 * With fake_snapshot_locks, kvfree_rcu_snapshot() takes and releases
 * fake_krc_lock[cpu] with irqs off through the checker's lock hooks, as an
 * implementation's does; fake_snapshot_handler, if set, runs first, at the
 * lock's scheduling point, as an interrupt arriving there would.
 * fake_impl_reset() clears both.
 */
extern bool fake_snapshot_locks;
extern void (*fake_snapshot_handler)(int cpu);

/*
 * The API's edges as check_api_edges() calls them: offline, online, the racy
 * snapshot and init, each answering as a correct implementation does unless
 * fake_edge_fault breaks one.
 */
enum fake_edge_fault {
	FAKE_EDGE_NONE,
	FAKE_EDGE_OFFLINE_CHANGES,	/* offline of a CPU that does not exist drops a page */
	FAKE_EDGE_RACY_BAD_CPU,		/* the racy snapshot answers for CPU -1 */
	FAKE_EDGE_INIT_TAKES_BAD,	/* init accepts any configuration */
	FAKE_EDGE_RACY_DIFFERS,		/* the racy snapshot counts one object more */
	FAKE_EDGE_WALK_BAD_CPU,		/* the walk answers for CPU -1 */
	FAKE_EDGE_LIST_ONLY_MISSES,	/* without a page callback, list objects are skipped */
	FAKE_EDGE_ANSWERS_AFTER_EXIT,	/* the snapshot answers after exit */
};
extern enum fake_edge_fault fake_edge_fault;

/*
 * Zero the snapshot, 4 CPUs online, default configuration, clock 0; every
 * CPU's walk empty and consistent (cache cap 5).
 */
void fake_impl_reset(void);

/* The checks' report: the project's TAP producer. */
#include "tap.h"

#endif /* KVTORTURE_FAKE_ENV_H */
