// SPDX-License-Identifier: MIT
/*
 * bench_obj.c - per-thread accounting of benchmark objects, latency
 * histograms and the tick clock (see bench_obj.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_obj.h"
#include "posix_env.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#define MAX_ACCTS 256

/* Records are never freed: a thread that exited still counts in the sums. */
static struct bench_acct *_Atomic accts[MAX_ACCTS];
static _Atomic(int) nr_accts;
/* initial-exec: see POSIX_TLS in posix_env.h. */
static POSIX_TLS struct bench_acct *acct_me;
/* Its destructor gives an exiting thread's record up for the next thread. */
static pthread_key_t acct_key;
static pthread_once_t acct_key_once = PTHREAD_ONCE_INIT;

static double ns_per_tick = 1.0;
static uint64_t tick_overhead;

/* ---------------------------------------------------------------------------
 * Histograms
 */

static unsigned int hist_index(uint64_t v)
{
	unsigned int e;

	if (v < BENCH_HIST_SUB)
		return (unsigned int)v;
	e = 63u - (unsigned int)__builtin_clzll(v);	/* e >= 4 */
	return (e - 3) * BENCH_HIST_SUB + (unsigned int)((v >> (e - 4)) & (BENCH_HIST_SUB - 1));
}

/* The smallest value that lands in bucket @i. */
static uint64_t hist_lower(unsigned int i)
{
	unsigned int e, sub;

	if (i < BENCH_HIST_SUB)
		return i;
	e = i / BENCH_HIST_SUB + 3;
	sub = i % BENCH_HIST_SUB;
	return (1ULL << e) | ((uint64_t)sub << (e - 4));
}

void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
}

void bench_hist_merge(struct bench_hist *into, const struct bench_hist *from)
{
	for (unsigned int i = 0; i < BENCH_HIST_BUCKETS; i++)
		into->count[i] += from->count[i];
	into->n += from->n;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double pct)
{
	uint64_t want, acc = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned int i = 0; i < BENCH_HIST_BUCKETS; i++) {
		acc += h->count[i];
		if (acc >= want) {
			/* Report the middle of the bucket: half its width off either way. */
			uint64_t lo = hist_lower(i);
			uint64_t hi = i + 1 < BENCH_HIST_BUCKETS ? hist_lower(i + 1) : UINT64_MAX;

			return lo + (hi - lo) / 2;
		}
	}
	return hist_lower(BENCH_HIST_BUCKETS - 1);
}

/* ---------------------------------------------------------------------------
 * Ticks
 */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_ticks(void)
{
#ifdef HAVE_TSC
	uint64_t t;

	/*
	 * Fenced on both sides: the TSC read is not ordered with the code
	 * being timed, which would otherwise overlap it and read as 0 ns.
	 */
	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
#else
	return mono_ns();
#endif
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void bench_ticks_init(void)
{
	uint64_t t0, n0, t1, n1, pairs[101];
	struct timespec nap = { 0, 50 * 1000 * 1000 };

	t0 = bench_ticks();
	n0 = mono_ns();
	nanosleep(&nap, NULL);
	t1 = bench_ticks();
	n1 = mono_ns();
	if (t1 > t0)
		ns_per_tick = (double)(n1 - n0) / (double)(t1 - t0);
	for (int i = 0; i < 101; i++) {
		uint64_t a = bench_ticks();
		uint64_t b = bench_ticks();

		pairs[i] = b - a;
	}
	qsort(pairs, 101, sizeof(pairs[0]), cmp_u64);
	tick_overhead = pairs[50];
}

double bench_ticks_to_ns(uint64_t ticks)
{
	return (double)ticks * ns_per_tick;
}

uint64_t bench_ticks_overhead(void)
{
	return tick_overhead;
}

/* ---------------------------------------------------------------------------
 * Per-thread records
 */

static int accts_used(void)
{
	int n = atomic_load(&nr_accts);

	return n < MAX_ACCTS ? n : MAX_ACCTS;
}

static void acct_thread_exit(void *p)
{
	struct bench_acct *a = p;

	atomic_store(&a->in_use, false);
}

static void acct_key_init(void)
{
	if (pthread_key_create(&acct_key, acct_thread_exit))
		KENV_DIE("pthread_key_create");
}

/* Make @a the calling thread's record, given up again when the thread exits. */
static struct bench_acct *acct_adopt(struct bench_acct *a)
{
	pthread_once(&acct_key_once, acct_key_init);
	if (pthread_setspecific(acct_key, a))
		KENV_DIE("pthread_setspecific");
	acct_me = a;
	return a;
}

struct bench_acct *bench_acct_self(void)
{
	struct bench_acct *a = acct_me;
	int id;

	if (a)
		return a;
	/* Take over the record of a thread that exited, else make one. */
	for (int i = 0; i < accts_used(); i++) {
		bool busy = false;

		a = atomic_load(&accts[i]);
		if (a && atomic_compare_exchange_strong(&a->in_use, &busy, true))
			return acct_adopt(a);
	}
	/* calloc: the histograms are 16 KiB; never freed (see accts[]). */
	a = calloc(1, sizeof(*a));
	if (!a)
		KENV_DIE("out of memory for a thread's benchmark counters");
	id = atomic_fetch_add(&nr_accts, 1);
	if (id >= MAX_ACCTS)
		KENV_DIE("too many threads for the benchmark counters");
	atomic_store(&a->in_use, true);
	atomic_store(&accts[id], a);
	return acct_adopt(a);
}

void bench_obj_free_stamped(struct bench_obj *obj, struct bench_acct *a)
{
	uint64_t now = bench_ticks();

	bench_hist_add(&a->reclaim, now > obj->stamp ? now - obj->stamp : 0);
	free(obj);
}

void bench_obj_reclaimed(void *obj)
{
	struct bench_acct *a = bench_acct_self();

	bench_obj_free_one(obj, a);
	bench_acct_inc(&a->freed, 1);
}

void bench_obj_reclaimed_bulk(size_t nr, void **objs)
{
	struct bench_acct *a = bench_acct_self();

	for (size_t i = 0; i < nr; i++)
		bench_obj_free_one(objs[i], a);
	bench_acct_inc(&a->freed, nr);
}

/* The environment's kfree, vfree and kfree_bulk (the unchecked flavour's hooks). */
void posix_obj_reclaim(void *obj)
{
	bench_obj_reclaimed(obj);
}

void posix_obj_reclaim_bulk(size_t nr, void **objs)
{
	bench_obj_reclaimed_bulk(nr, objs);
}

void bench_acct_counts(uint64_t *queued, uint64_t *freed)
{
	uint64_t q = 0, f = 0;

	for (int i = 0; i < accts_used(); i++) {
		struct bench_acct *a = atomic_load(&accts[i]);

		if (!a)
			continue;
		q += atomic_load_explicit(&a->queued, memory_order_relaxed);
		f += atomic_load_explicit(&a->freed, memory_order_relaxed);
	}
	*queued = q;
	*freed = f;
}

void bench_acct_hists(struct bench_hist *reclaim, struct bench_hist *call)
{
	memset(reclaim, 0, sizeof(*reclaim));
	memset(call, 0, sizeof(*call));
	for (int i = 0; i < accts_used(); i++) {
		struct bench_acct *a = atomic_load(&accts[i]);

		if (!a)
			continue;
		bench_hist_merge(reclaim, &a->reclaim);
		bench_hist_merge(call, &a->call);
	}
}

void bench_acct_reset(void)
{
	for (int i = 0; i < accts_used(); i++) {
		struct bench_acct *a = atomic_load(&accts[i]);

		if (!a)
			continue;
		atomic_store(&a->queued, 0);
		atomic_store(&a->freed, 0);
		memset(&a->reclaim, 0, sizeof(a->reclaim));
		memset(&a->call, 0, sizeof(a->call));
	}
}
