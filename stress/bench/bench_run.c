// SPDX-License-Identifier: MIT
/*
 * bench_run.c - one timed run of one method (see bench_run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include "bench_obj.h"
#include "bench_run.h"

/* Sample one release call in this many for the latency histogram. */
#define CALL_SAMPLE_EVERY 64
/* The main thread looks at memory this often while the callers run. */
#define SAMPLE_NS (1000u * 1000)
/* glibc's chunk for a 32-byte request: what a pending object costs. */
#define OBJ_CHUNK_BYTES 48
/* liburcu 0.13's defer_rcu ring: DEFER_QUEUE_SIZE (4096) pointers per registered thread. */
#define DEFER_RING_BYTES (4096 * sizeof(void *))

static const char *const method_names[BM_NR] = {
	[BM_KVFREE] = "kvfree_rcu",
	[BM_HEADLESS] = "kvfree_rcu_headless",
	[BM_CALL_RCU] = "call_rcu",
	[BM_DEFER_RCU] = "defer_rcu",
	[BM_SYNC_FREE] = "synchronize_rcu",
	[BM_FREE] = "free",
};

static const char *const reclaim_names[POSIX_RECLAIM_NR] = {
	[POSIX_RECLAIM_WORKER] = "worker",
	[POSIX_RECLAIM_INLINE] = "inline",
};

/* The index of @name in @names[0 .. @n - 1], or -1. */
static int name_index(const char *const *names, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -1;
}

const char *bench_method_name(enum bench_method m)
{
	return (unsigned int)m < BM_NR ? method_names[m] : NULL;
}

bool bench_method_parse(const char *name, enum bench_method *m)
{
	int i = name_index(method_names, BM_NR, name);

	if (i >= 0)
		*m = (enum bench_method)i;
	return i >= 0;
}

const char *bench_reclaim_name(enum posix_reclaim r)
{
	return (unsigned int)r < POSIX_RECLAIM_NR ? reclaim_names[r] : NULL;
}

bool bench_reclaim_parse(const char *name, enum posix_reclaim *r)
{
	int i = name_index(reclaim_names, POSIX_RECLAIM_NR, name);

	if (i >= 0)
		*r = (enum posix_reclaim)i;
	return i >= 0;
}

bool bench_method_irq_ok(enum bench_method m)
{
	return m == BM_KVFREE || m == BM_CALL_RCU || m == BM_FREE;
}

bool bench_method_is_kvfree(enum bench_method m)
{
	return m == BM_KVFREE || m == BM_HEADLESS;
}

/* liburcu's rcu_head sits where kvfree_rcu's does: both are the object's first 16 bytes. */
struct urcu_obj {
	struct rcu_head head;
	uint64_t stamp;
	uint64_t payload;
};

_Static_assert(sizeof(struct rcu_head) == sizeof(struct kenv_rcu_head), "rcu_head sizes");
_Static_assert(offsetof(struct urcu_obj, stamp) == offsetof(struct bench_obj, stamp),
	       "stamp offsets");

static void call_rcu_cb(struct rcu_head *head)
{
	bench_obj_reclaimed(head);
}

static void defer_cb(void *p)
{
	bench_obj_reclaimed(p);
}

struct job {
	const struct bench_run_config *cfg;
	_Atomic(bool) stop;
	_Atomic(uint64_t) objects;
};

static inline void release(enum bench_method m, struct bench_obj *obj)
{
	switch (m) {
	case BM_KVFREE:
		kvfree_call_rcu(&obj->rh, obj);
		break;
	case BM_HEADLESS:
		kvfree_call_rcu(NULL, obj);
		break;
	case BM_CALL_RCU:
		urcu_memb_call_rcu(&((struct urcu_obj *)obj)->head, call_rcu_cb);
		break;
	case BM_DEFER_RCU:
		urcu_memb_defer_rcu(defer_cb, obj);
		break;
	case BM_SYNC_FREE:
		urcu_memb_synchronize_rcu();
		bench_obj_reclaimed(obj);
		break;
	case BM_FREE:
	case BM_NR:
		bench_obj_reclaimed(obj);
		break;
	}
}

static void caller(int cpu, void *arg)
{
	struct job *job = arg;
	const struct bench_run_config *cfg = job->cfg;
	struct bench_acct *a = bench_acct_self();
	uint64_t n = 0;

	(void)cpu;
	while (!atomic_load_explicit(&job->stop, memory_order_relaxed)) {
		struct bench_obj *objs[BENCH_BURST];

		for (int i = 0; i < BENCH_BURST; i++) {
			objs[i] = malloc(sizeof(struct bench_obj));
			if (!objs[i])
				KENV_DIE("out of memory for benchmark objects");
			objs[i]->payload = n + (uint64_t)i;
		}
		if (cfg->irq)
			posix_irq_enter();
		for (int i = 0; i < BENCH_BURST; i++) {
			uint64_t k = n + (uint64_t)i;

			/* Stamped objects are not the timed ones: a plain free() of a
			 * stamped object also reads the clock. */
			objs[i]->stamp = k % BENCH_STAMP_EVERY == BENCH_STAMP_EVERY / 2 ?
					 bench_ticks() : 0;
			if (k % CALL_SAMPLE_EVERY == 0) {
				uint64_t t0 = bench_ticks();

				/* Raw: the report prints the cost of the timer pair beside. */
				release(cfg->method, objs[i]);
				bench_hist_add(&a->call, bench_ticks() - t0);
			} else {
				release(cfg->method, objs[i]);
			}
		}
		if (cfg->irq)
			posix_irq_exit();
		bench_acct_inc(&a->queued, BENCH_BURST);
		n += BENCH_BURST;
		posix_point();
	}
	/* Unregistering flushes this thread's defer queue: part of the measured drain. */
	if (cfg->method == BM_DEFER_RCU)
		urcu_memb_defer_unregister_thread();
	atomic_fetch_add(&job->objects, n);
}

/*
 * Before the clocks start: the caller's counters (a calloc the first time)
 * and defer_rcu's per-thread queue (a mutex and a thread start).
 */
static void prepare(int cpu, void *arg)
{
	struct job *job = arg;

	(void)cpu;
	(void)bench_acct_self();
	if (job->cfg->method == BM_DEFER_RCU && urcu_memb_defer_register_thread())
		KENV_DIE("rcu_defer_register_thread");
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap_ns(uint64_t ns)
{
	struct timespec ts = { 0, (long)ns };

	nanosleep(&ts, NULL);
}

static void sample_memory(const struct bench_run_config *cfg, struct bench_run_result *res)
{
	struct posix_env_stats es;
	uint64_t q, f, pending, bytes;

	bench_acct_counts(&q, &f);
	posix_env_stats(&es);
	pending = q > f ? q - f : 0;
	/* Storage: kvfree_rcu's pages, defer_rcu's rings; call_rcu links through the objects. */
	bytes = pending * OBJ_CHUNK_BYTES + es.pages_in_use * KENV_PAGE_SIZE;
	if (cfg->method == BM_DEFER_RCU)
		bytes += (uint64_t)cfg->threads * DEFER_RING_BYTES;
	if (pending > res->peak_pending)
		res->peak_pending = pending;
	if (bytes > res->peak_bytes)
		res->peak_bytes = bytes;
}

void bench_run(const struct bench_run_config *cfg, struct bench_run_result *res)
{
	struct posix_env_config ecfg;
	struct kvfree_rcu_config kcfg;
	struct job job = { .cfg = cfg };
	struct bench_hist reclaim, call;
	struct posix_env_stats es;
	uint64_t wall0, cpu0, deadline, q, f;
	bool kv = bench_method_is_kvfree(cfg->method);

	memset(res, 0, sizeof(*res));
	posix_env_config_default(&ecfg);
	ecfg.nr_cpus = cfg->threads;
	ecfg.reclaim = cfg->reclaim;
	ecfg.gp_on_get_state = cfg->gp_on_get_state;
	/* Softirqs run on the raising CPU's thread, at its points: no thread of their own. */
	ecfg.ksoftirqd = false;
	posix_env_start(&ecfg);
	kvfree_rcu_config_default(&kcfg);
	kcfg.nr_cpus = (unsigned int)cfg->threads;
	kcfg.policy = cfg->policy;
	if (!kvfree_rcu_init(&kcfg))
		KENV_DIE("kvfree_rcu_init refused the configuration");
	/* liburcu creates its call_rcu worker on first use: not inside the timing. */
	if (cfg->method == BM_CALL_RCU)
		(void)urcu_memb_get_default_call_rcu_data();
	posix_run_on_cpus(prepare, &job);
	bench_acct_reset();
	posix_reset_peak();

	wall0 = now_ns(CLOCK_MONOTONIC);
	cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	deadline = wall0 + cfg->duration_ns;
	posix_cpus_begin(caller, &job);
	while (!posix_cpus_done()) {
		sample_memory(cfg, res);
		if (now_ns(CLOCK_MONOTONIC) >= deadline)
			atomic_store(&job.stop, true);
		nap_ns(SAMPLE_NS);
	}
	posix_cpus_wait();
	res->flood_ns = now_ns(CLOCK_MONOTONIC) - wall0;
	sample_memory(cfg, res);

	/* Drain: everything released is freed before the clocks stop. */
	if (kv)
		kvfree_rcu_barrier();
	else if (cfg->method == BM_CALL_RCU)
		urcu_memb_barrier();
	for (;;) {
		bench_acct_counts(&q, &f);
		if (f >= q)
			break;
		nap_ns(50 * 1000);
	}
	res->cpu_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	res->wall_ns = now_ns(CLOCK_MONOTONIC) - wall0;

	res->objects = atomic_load(&job.objects);
	if (q != res->objects || f != q) {
		fprintf(stderr, "kvbench: %s: %llu objects released, %llu counted queued, %llu freed\n",
			bench_method_name(cfg->method), (unsigned long long)res->objects,
			(unsigned long long)q, (unsigned long long)f);
		exit(1);
	}
	res->cpu_ns_per_obj = res->objects ? (double)res->cpu_ns / (double)res->objects : 0;
	res->wall_ns_per_obj = res->objects ? (double)res->wall_ns / (double)res->objects : 0;
	bench_acct_hists(&reclaim, &call);
	res->call_ns_p50 = bench_ticks_to_ns(bench_hist_percentile(&call, 50));
	res->call_ns_p99 = bench_ticks_to_ns(bench_hist_percentile(&call, 99));
	res->reclaim_ns_p50 = bench_ticks_to_ns(bench_hist_percentile(&reclaim, 50));
	res->reclaim_ns_p99 = bench_ticks_to_ns(bench_hist_percentile(&reclaim, 99));
	posix_env_stats(&es);
	res->peak_pages = es.pages_peak;
	res->pages_allocated = es.pages_allocated;
	res->gps = es.gps;
	for (int cpu = 0; cpu < cfg->threads; cpu++) {
		struct kvfree_rcu_cpu_stats st;

		if (kvfree_rcu_snapshot(cpu, &st)) {
			res->fallback_list += st.fallback_list;
			res->fallback_sync += st.fallback_sync;
			if (getenv("KVBENCH_DEBUG") && kv)
				fprintf(stderr, "cpu%d: list %lu sync %lu direct %lu refill runs %lu pages %lu fail %lu freed pages %lu batches %lu monitor %lu early %lu wm %lu gps %llu works %llu timers %llu\n",
					cpu, st.fallback_list, st.fallback_sync, st.direct_allocs, st.refill_runs,
					st.refill_pages, st.refill_failures, st.pages_freed, st.batches_queued,
					st.monitor_runs, st.objs_freed_early_reclaim, st.watermark_raises,
					(unsigned long long)es.gps, (unsigned long long)es.works_run,
					(unsigned long long)es.timers_fired);
		}
	}
	kvfree_rcu_exit();
	posix_env_stop();
}
