/* SPDX-License-Identifier: MIT */
/*
 * bench_run.h - one timed run of one deferred-free method.
 *
 * A run starts the environment (the unchecked flavour of the posix
 * environment) with one CPU thread per caller, and on
 * each of them allocates 32-byte objects with malloc() in bursts of
 * BENCH_BURST and releases each with the method under test (inside an
 * emulated hardirq for the interrupt variant), until the run's time is up.
 * Then it drains (kvfree_rcu_barrier(), rcu_barrier(), the defer queues) and
 * stops the environment.  What it measures covers every thread of the
 * process, from the first call to the last free.
 */
#ifndef KVTORTURE_BENCH_RUN_H
#define KVTORTURE_BENCH_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "posix_env.h"
#include "kvfree_rcu.h"

enum bench_method {
	BM_KVFREE,		/* kvfree_rcu(ptr, rh): the two-argument form */
	BM_HEADLESS,		/* kvfree_rcu_mightsleep(ptr) */
	BM_CALL_RCU,		/* liburcu call_rcu(), free() in the callback */
	BM_DEFER_RCU,		/* liburcu defer_rcu(free, ptr) */
	BM_SYNC_FREE,		/* liburcu synchronize_rcu(), then free(), per object */
	BM_FREE,		/* free() at once: the lower bound */
	BM_NR
};

/*
 * Objects are allocated, then released, this many at a time: few enough that
 * plain free() stays in glibc's 7-entry per-thread cache (its fastest path,
 * the honest lower bound), and what one emulated interrupt releases.
 */
#define BENCH_BURST 4

/* "kvfree_rcu", ...; NULL out of range. */
const char *bench_method_name(enum bench_method m);
bool bench_method_parse(const char *name, enum bench_method *m);
/* Where deferred work runs (posix_env.h): "worker", "inline"; NULL out of range. */
const char *bench_reclaim_name(enum posix_reclaim r);
bool bench_reclaim_parse(const char *name, enum posix_reclaim *r);
/* Whether @m may be called from hardirq context (no sleeping). */
bool bench_method_irq_ok(enum bench_method m);
/* Whether @m runs the reference implementation (and so depends on reclaim and policy). */
bool bench_method_is_kvfree(enum bench_method m);

struct bench_run_config {
	enum bench_method method;
	int threads;			/* CPU threads calling, 1 .. KENV_NR_CPUS_MAX */
	bool irq;			/* release inside an emulated hardirq */
	enum posix_reclaim reclaim;
	enum kvfree_policy policy;
	uint64_t duration_ns;		/* how long the callers call */
	bool gp_on_get_state;		/* see struct posix_env_config */
};

struct bench_run_result {
	uint64_t objects;		/* released by the callers (all freed at the end) */
	uint64_t wall_ns;		/* first call to last free */
	uint64_t flood_ns;		/* first call to the callers' stop */
	uint64_t cpu_ns;		/* CPU time of the whole process over wall_ns */
	double cpu_ns_per_obj, wall_ns_per_obj;
	double call_ns_p50, call_ns_p99;	/* sampled release calls */
	double reclaim_ns_p50, reclaim_ns_p99;	/* queue to free, sampled objects */
	uint64_t peak_pending;		/* objects released and not yet freed */
	uint64_t peak_pages;		/* storage pages held at once */
	uint64_t peak_bytes;		/* pending objects' chunks plus storage */
	uint64_t pages_allocated;
	uint64_t fallback_list, fallback_sync;	/* kvfree_rcu only */
	uint64_t gps;			/* grace periods of the environment's GP thread */
};

/*
 * Run @cfg once.  Context: the main thread, which must not be inside another
 * run.  Exits 99 on a set-up failure and 1 if objects were lost.
 */
void bench_run(const struct bench_run_config *cfg, struct bench_run_result *res);

#endif /* KVTORTURE_BENCH_RUN_H */
