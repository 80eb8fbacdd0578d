/* SPDX-License-Identifier: MIT */
/*
 * runner_sampling.c - what the runner measures while it runs (see
 * runner_internal.h): a sample of every CPU's counters every 100 ms, the
 * per-CPU peaks of each phase, the progress line each second, and each
 * phase's final per-CPU counters once it is quiesced.
 *
 * The implementation's and the environment's counters start again with
 * each phase (each policy's phase is a run of its own); the samples, the
 * per-CPU totals and the environment's totals add the phases done to the
 * one running, so every cumulative figure runs on across phases.
 *
 * The main thread is the only writer.  A violation report or a hang dump
 * may read the samples, phases and peaks from another thread at any time:
 * a sample is written before nr_samples counts it, a phase's final counters
 * before it is marked done, and the peaks are atomics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "flood.h"
#include "posix_env.h"
#include "runner_internal.h"

struct runner_phase runner_phases[KVFREE_POLICY_NR];
_Atomic(int) runner_nr_phases;

static struct sample samples[RUNNER_MAX_SAMPLES];
static _Atomic(int) nr_samples;

uint64_t runner_total_violations(void)
{
	uint64_t n = 0;

	for (int inv = 0; inv < INV_NR; inv++)
		n += check_count((enum check_inv)inv);
	return n;
}

/* The phase running, or NULL before the first. */
static struct runner_phase *cur_phase(void)
{
	int n = atomic_load(&runner_nr_phases);

	return n ? &runner_phases[n - 1] : NULL;
}

/* Add @b's counters to @a's; the state fields (pending, cache, flags) are @b's. */
static void add_cpu_stats(struct kvfree_rcu_cpu_stats *a, const struct kvfree_rcu_cpu_stats *b)
{
	struct kvfree_rcu_cpu_stats sum = *b;

	for (int c = 0; c < KENV_CTX_NR; c++)
		sum.calls[c] += a->calls[c];
#define ADD(f) sum.f += a->f
	ADD(calls_headless);
	ADD(fallback_list);
	ADD(fallback_sync);
	ADD(direct_allocs);
	ADD(pool_allocs);
	ADD(refill_runs);
	ADD(refill_pages);
	ADD(refill_failures);
	ADD(pages_freed);
	ADD(objs_freed);
	ADD(objs_freed_early_reclaim);
	ADD(objs_leaked);
	ADD(batches_queued);
	ADD(monitor_runs);
	ADD(watermark_raises);
	ADD(nmi_refused);
	ADD(double_queued);
	ADD(headless_atomic);
#undef ADD
	*a = sum;
}

bool runner_phase_cpu_stats(const struct runner_phase *ph, int cpu,
			    struct kvfree_rcu_cpu_stats *st)
{
	if (atomic_load(&ph->done)) {
		*st = ph->final[cpu];
		return true;
	}
	return kvfree_rcu_snapshot_racy(cpu, st);
}

bool runner_cpu_stats(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	int n = atomic_load(&runner_nr_phases);
	bool any = false;

	memset(st, 0, sizeof(*st));
	for (int p = 0; p < n; p++) {
		struct kvfree_rcu_cpu_stats one;

		if (!runner_phase_cpu_stats(&runner_phases[p], cpu, &one))
			continue;
		add_cpu_stats(st, &one);
		any = true;
	}
	return any;
}

void runner_env_stats(struct posix_env_stats *es)
{
	int n = atomic_load(&runner_nr_phases);
	struct posix_env_stats one;

	memset(es, 0, sizeof(*es));
	for (int p = 0; p < n; p++) {
		const struct runner_phase *ph = &runner_phases[p];

		if (atomic_load(&ph->done))
			one = ph->es;
		else
			posix_env_stats(&one);
		es->gps += one.gps;
		es->gp_seq += one.gp_seq;
		es->sched_points += one.sched_points;
		for (int cpu = 0; cpu < KENV_NR_CPUS_MAX; cpu++) {
			es->irqs[cpu] += one.irqs[cpu];
			es->irqs_replayed[cpu] += one.irqs_replayed[cpu];
			es->nmis[cpu] += one.nmis[cpu];
			es->softirqs[cpu] += one.softirqs[cpu];
		}
		es->works_run += one.works_run;
		es->timers_fired += one.timers_fired;
		es->rcu_callbacks += one.rcu_callbacks;
		es->warnings[0] += one.warnings[0];
		es->warnings[1] += one.warnings[1];
		es->pages_in_use = one.pages_in_use;
		if (one.pages_peak > es->pages_peak)
			es->pages_peak = one.pages_peak;
		es->pages_allocated += one.pages_allocated;
		es->page_failures += one.page_failures;
		es->pool_allocs += one.pool_allocs;
		es->pool_misses += one.pool_misses;
		es->interpose_reports += one.interpose_reports;
	}
}

static void raise_peak(_Atomic(uint64_t) *peak, uint64_t v)
{
	if (v > atomic_load(peak))
		atomic_store(peak, v);
}

void runner_take_sample(void)
{
	struct runner_phase *ph = cur_phase();
	struct posix_env_stats es;
	struct sample s;
	int n;

	if (!ph)
		return;
	memset(&s, 0, sizeof(s));
	runner_env_stats(&es);
	s.t_ns = kenv_clock_ns();
	s.phase = atomic_load(&runner_nr_phases) - 1;
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats now, st;
		uint64_t pending = 0;

		if (!kvfree_rcu_snapshot_racy(cpu, &now) || !runner_cpu_stats(cpu, &st))
			continue;
		for (int ch = 0; ch < KVFREE_CH_NR; ch++)
			pending += now.pending[ch];
		for (int c = 0; c < KENV_CTX_NR; c++)
			s.calls += st.calls[c];
		s.pending += pending;
		s.in_flight += now.in_flight;
		s.cached += now.cached_pages;
		s.bulk += now.bulk_pages;
		s.fallback_list += st.fallback_list;
		s.fallback_sync += st.fallback_sync;
		s.nmi_refused += st.nmi_refused;
		raise_peak(&ph->peak_pending[cpu], pending + now.in_flight);
		raise_peak(&ph->peak_pages[cpu], now.bulk_pages + now.cached_pages);
		s.irqs += es.irqs[cpu];
	}
	s.gps = es.gps;
	s.pages_in_use = es.pages_in_use;
	s.violations = runner_total_violations();
	n = atomic_load(&nr_samples);
	if (n < RUNNER_MAX_SAMPLES) {
		samples[n] = s;
		atomic_store(&nr_samples, n + 1);
	}
}

void runner_print_progress(void)
{
	int n = atomic_load(&nr_samples);
	struct kvt_flood_stats fs;
	uint64_t by_ctx[KENV_CTX_NR] = { 0 };
	const struct sample *s;

	if (!n || runner_opts.quiet)
		return;
	s = &samples[n - 1];
	kvt_flood_stats(&fs);
	for (int sc = 0; sc < KVT_SC_NR; sc++)
		for (int c = 0; c < KENV_CTX_NR; c++)
			by_ctx[c] += fs.calls[sc][c];
	printf("[%5.1fs] %s calls %" PRIu64 " (task %" PRIu64 " kthread %" PRIu64 " softirq %" PRIu64
	       " hardirq %" PRIu64 " nmi %" PRIu64 ") fallbacks %" PRIu64 " cached %" PRIu64
	       " pending %" PRIu64 " gps %" PRIu64 " checkpoints %" PRIu64 " violations %" PRIu64
	       "\n",
	       (double)s->t_ns / 1e9, kvfree_policy_name(runner_phases[s->phase].policy), s->calls,
	       by_ctx[KENV_CTX_TASK], by_ctx[KENV_CTX_KTHREAD], by_ctx[KENV_CTX_SOFTIRQ],
	       by_ctx[KENV_CTX_HARDIRQ], by_ctx[KENV_CTX_NMI], s->fallback_list + s->fallback_sync,
	       s->cached, s->pending + s->in_flight, s->gps, runner_phases[s->phase].cp.count,
	       s->violations);
	fflush(stdout);
}

const struct sample *runner_samples(int *n)
{
	*n = atomic_load(&nr_samples);
	return samples;
}

uint64_t runner_peak_pending(int cpu)
{
	uint64_t peak = 0;

	for (int p = 0; p < atomic_load(&runner_nr_phases); p++)
		if (atomic_load(&runner_phases[p].peak_pending[cpu]) > peak)
			peak = atomic_load(&runner_phases[p].peak_pending[cpu]);
	return peak;
}

uint64_t runner_peak_pages(int cpu)
{
	uint64_t peak = 0;

	for (int p = 0; p < atomic_load(&runner_nr_phases); p++)
		if (atomic_load(&runner_phases[p].peak_pages[cpu]) > peak)
			peak = atomic_load(&runner_phases[p].peak_pages[cpu]);
	return peak;
}

void runner_take_final(void)
{
	struct runner_phase *ph = cur_phase();

	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		kvfree_rcu_snapshot(cpu, &ph->final[cpu]);
	posix_env_stats(&ph->es);
	/* Written before it counts as done (seq_cst): readers take final only then. */
	atomic_store(&ph->done, true);
}
