/* SPDX-License-Identifier: MIT */
/*
 * runner_sampling.c - what the runner measures while it runs (see
 * runner_internal.h): a sample of every CPU's counters every 100 ms, the
 * per-CPU peaks, the progress line each second, and the final per-CPU
 * counters once the run is quiesced.
 *
 * The main thread is the only writer.  A violation report or a hang dump
 * may read the samples and peaks from another thread at any time: a sample
 * is written before nr_samples counts it, and the peaks are atomics.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "flood.h"
#include "posix_env.h"
#include "runner_internal.h"

static struct sample samples[RUNNER_MAX_SAMPLES];
static _Atomic(int) nr_samples;
static _Atomic(uint64_t) peak_pending[KENV_NR_CPUS_MAX], peak_pages[KENV_NR_CPUS_MAX];
/* Written once by runner_take_final() on the main thread, then only read. */
static struct kvfree_rcu_cpu_stats final_stats[KENV_NR_CPUS_MAX];
static bool have_final;

uint64_t runner_total_violations(void)
{
	uint64_t n = 0;

	for (int inv = 0; inv < INV_NR; inv++)
		n += check_count((enum check_inv)inv);
	return n;
}

void runner_take_sample(void)
{
	struct posix_env_stats es;
	struct sample s;
	int n;

	memset(&s, 0, sizeof(s));
	posix_env_stats(&es);
	s.t_ns = kenv_clock_ns();
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;
		uint64_t pending = 0;

		if (!kvfree_rcu_snapshot_racy(cpu, &st))
			continue;
		for (int ch = 0; ch < KVFREE_CH_NR; ch++)
			pending += st.pending[ch];
		for (int c = 0; c < KENV_CTX_NR; c++)
			s.calls += st.calls[c];
		s.pending += pending;
		s.in_flight += st.in_flight;
		s.cached += st.cached_pages;
		s.bulk += st.bulk_pages;
		s.fallback_list += st.fallback_list;
		s.fallback_sync += st.fallback_sync;
		s.nmi_refused += st.nmi_refused;
		if (pending + st.in_flight > atomic_load(&peak_pending[cpu]))
			atomic_store(&peak_pending[cpu], pending + st.in_flight);
		if (st.bulk_pages + st.cached_pages > atomic_load(&peak_pages[cpu]))
			atomic_store(&peak_pages[cpu], st.bulk_pages + st.cached_pages);
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
	printf("[%5.1fs] calls %" PRIu64 " (task %" PRIu64 " kthread %" PRIu64 " softirq %" PRIu64
	       " hardirq %" PRIu64 " nmi %" PRIu64 ") fallbacks %" PRIu64 " cached %" PRIu64
	       " pending %" PRIu64 " gps %" PRIu64 " violations %" PRIu64 "\n",
	       (double)s->t_ns / 1e9, s->calls, by_ctx[KENV_CTX_TASK], by_ctx[KENV_CTX_KTHREAD],
	       by_ctx[KENV_CTX_SOFTIRQ], by_ctx[KENV_CTX_HARDIRQ], by_ctx[KENV_CTX_NMI],
	       s->fallback_list + s->fallback_sync, s->cached, s->pending + s->in_flight, s->gps,
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
	return atomic_load(&peak_pending[cpu]);
}

uint64_t runner_peak_pages(int cpu)
{
	return atomic_load(&peak_pages[cpu]);
}

void runner_take_final(void)
{
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		kvfree_rcu_snapshot(cpu, &final_stats[cpu]);
	have_final = true;
}

bool runner_cpu_stats(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	if (have_final) {
		*st = final_stats[cpu];
		return true;
	}
	return kvfree_rcu_snapshot_racy(cpu, st);
}
