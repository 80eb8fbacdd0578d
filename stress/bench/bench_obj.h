/* SPDX-License-Identifier: MIT */
/*
 * bench_obj.h - the objects the benchmarks free, and the per-thread counters
 * and latency histograms that follow them.
 *
 * Every method allocates a 32-byte struct bench_obj with malloc() and hands it
 * to its deferred-free primitive.  One object in BENCH_STAMP_EVERY carries the
 * tick count of its queueing; whoever finally frees it (the environment's
 * kfree, a liburcu callback, the plain free) calls bench_obj_reclaimed(),
 * which records queue-to-free latency for stamped objects and counts the
 * free.  Counters and histograms are per thread, so the fast paths take no
 * locked instruction; bench_acct_sum() adds them up.
 */
#ifndef KVTORTURE_BENCH_OBJ_H
#define KVTORTURE_BENCH_OBJ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kenv.h"

struct bench_obj {
	/* The two-argument kvfree_rcu() and liburcu's call_rcu() link through here. */
	struct kenv_rcu_head rh;
	uint64_t stamp;		/* bench_ticks() when queued, or 0 when not sampled */
	uint64_t payload;
};

_Static_assert(sizeof(struct bench_obj) == 32, "the benchmarks free 32-byte objects");

/* One object in this many carries a reclaim-latency stamp. */
#define BENCH_STAMP_EVERY 64

/*
 * Log-linear histogram of tick counts: 16 sub-buckets per power of two
 * (about 6 % resolution), mergeable by addition.
 */
#define BENCH_HIST_SUB 16
/* Exact below 16, then 16 per power of two from 2^4 to 2^63. */
#define BENCH_HIST_BUCKETS ((64 - 3) * BENCH_HIST_SUB)
struct bench_hist {
	uint64_t count[BENCH_HIST_BUCKETS];
	uint64_t n;
};

/* Context: any.  Add one value; the caller owns @h (no concurrent writer). */
void bench_hist_add(struct bench_hist *h, uint64_t v);
/* @into += @from.  Context: any, with both quiescent. */
void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from);
/* The value below which @pct percent (0..100) of the samples lie; 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);

/*
 * Ticks: the TSC where there is one (constant rate, a few ns to read), else
 * CLOCK_MONOTONIC nanoseconds.  bench_ticks_init() calibrates the rate
 * against CLOCK_MONOTONIC; call it once before anything is timed.
 */
void bench_ticks_init(void);
uint64_t bench_ticks(void);
double bench_ticks_to_ns(uint64_t ticks);
/* Ticks one bench_ticks() pair costs when nothing is between them (median). */
uint64_t bench_ticks_overhead(void);

/*
 * This thread's record, created on first use (any thread: a CPU thread, a
 * kworker, liburcu's call_rcu or defer worker).  Fields written by the owner
 * only; the atomics are stored with relaxed plain increments.
 */
struct bench_acct {
	_Atomic(bool) in_use;		/* owned by a live thread */
	_Atomic(uint64_t) queued;	/* objects handed to a deferred free */
	_Atomic(uint64_t) freed;	/* objects freed (any method) */
	struct bench_hist reclaim;	/* queue-to-free ticks of stamped objects */
	struct bench_hist call;		/* ticks of sampled release calls */
};
/*
 * When the thread exits, its record keeps its counts until the next
 * bench_acct_reset(), and a thread created later may take it over.
 */
struct bench_acct *bench_acct_self(void);

static inline void bench_acct_inc(_Atomic(uint64_t) *c, uint64_t n)
{
	/* Only the owner writes: a plain load+store, no locked instruction. */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* The slow half of bench_obj_free_one(): record the latency, then free. */
void bench_obj_free_stamped(struct bench_obj *obj, struct bench_acct *a);

/* Free @obj now, recording its latency if stamped; not counted (see below). */
static inline void bench_obj_free_one(struct bench_obj *obj, struct bench_acct *a)
{
	if (obj->stamp)
		bench_obj_free_stamped(obj, a);
	else
		free(obj);
}

/*
 * Free one object and count it.  Context: any thread, not under a lock that
 * malloc may need.  The environment's kfree and vfree reach it through
 * posix_obj_reclaim() (posix_env.h), which bench_obj.c defines.
 */
void bench_obj_reclaimed(void *obj);
/* Free @nr objects and count them once (kfree_bulk, through posix_obj_reclaim_bulk()). */
void bench_obj_reclaimed_bulk(size_t nr, void **objs);

/* Sum of every thread's counters (racy while running). */
void bench_acct_counts(uint64_t *queued, uint64_t *freed);
/* Merge every thread's histograms.  Context: with all threads quiescent. */
void bench_acct_hists(struct bench_hist *reclaim, struct bench_hist *call);
/* Zero every record (a new run).  Context: with all threads quiescent. */
void bench_acct_reset(void);

#endif /* KVTORTURE_BENCH_OBJ_H */
