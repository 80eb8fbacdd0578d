/* SPDX-License-Identifier: MIT */
/*
 * runner_report.c - the runner's reports (see runner_internal.h):
 * DIR/report.json (its layout is what ci/ and `kvbench policies` read),
 * DIR/timeseries.csv, the gnuplot plots, and the per-CPU summary table.
 *
 * report.json is formatted without allocation (runner_output.c): the abort
 * hook and the watchdog write it from wherever the run stopped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flood.h"
#include "posix_env.h"
#include "posix_obj.h"
#include "runner_internal.h"

/* ---------------------------------------------------------------------------
 * report.json, one section at a time
 */

/* What every section reads, taken once per report. */
struct report_input {
	struct posix_env_stats es;		/* over every phase */
	struct kvt_flood_stats fs;
	struct kvt_obj_stats os;
	const struct sample *last;	/* NULL before the first sample */
	int nr_samples;
};

static void json_ctx_counts(struct outbuf *o, const uint64_t *v)
{
	outbuf_add(o, "{");
	for (int c = 0; c < KENV_CTX_NR; c++)
		outbuf_add(o, "%s\"%s\": %" PRIu64, c ? ", " : "",
			   kenv_ctx_name((enum kenv_ctx)c), v[c]);
	outbuf_add(o, "}");
}

/* The phases begun, and @ph's flood time so far. */
static int nr_phases(void)
{
	return atomic_load(&runner_nr_phases);
}

static uint64_t phase_flood_ns(const struct runner_phase *ph)
{
	uint64_t end = ph->end_ns ? ph->end_ns : kenv_clock_ns();

	return ph->start_ns && end > ph->start_ns ? end - ph->start_ns : 0;
}

static double per_s(uint64_t n, uint64_t ns)
{
	return ns ? (double)n * 1e9 / (double)ns : 0;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* The run: tool, outcome, seed, command and configuration. */
static void json_run(struct outbuf *o, const char *status, int exit_code)
{
	uint64_t flood_ns = 0;

	for (int p = 0; p < nr_phases(); p++)
		flood_ns += phase_flood_ns(&runner_phases[p]);
	outbuf_add(o, "{\n  \"tool\": \"kvtorture stress\",\n  \"status\": \"%s\",\n"
		   "  \"exit_code\": %d,\n", status, exit_code);
	outbuf_add(o, "  \"seed\": %" PRIu64 ",\n  \"command\": ", runner_opts.seed);
	outbuf_add_json_string(o, runner_repro);
	outbuf_add(o, ",\n  \"policy\": \"%s\",\n  \"cpus\": %d,\n  \"duration_s\": %u,\n",
		   runner_opts.policy_name, runner_opts.cpus, runner_opts.duration_s);
	outbuf_add(o, "  \"flood_s\": %.3f,\n  \"interposer\": %s,\n", (double)flood_ns / 1e9,
		   posix_interpose_enabled() ? "true" : "false");
	/* Where the run was when this was written: a violation's report says when it was found. */
	outbuf_add(o, "  \"stopped_in\": \"%s\",\n", runner_phase_name(atomic_load(&runner_phase)));
}

/* The environment's, the objects' and the flooders' totals. */
static void json_totals(struct outbuf *o, const struct report_input *in)
{
	const struct posix_env_stats *es = &in->es;
	const struct kvt_flood_stats *fs = &in->fs;

	outbuf_add(o, "  \"totals\": {\"gps\": %" PRIu64 ", \"sched_points\": %" PRIu64
		   ", \"works_run\": %" PRIu64 ", \"timers_fired\": %" PRIu64
		   ", \"rcu_callbacks\": %" PRIu64 ", \"objects_allocated\": %" PRIu64
		   ", \"objects_freed\": %" PRIu64 ", \"pages_peak\": %" PRIu64
		   ", \"page_failures\": %" PRIu64 ", \"pool_allocs\": %" PRIu64
		   ", \"pool_misses\": %" PRIu64 ", \"reader_sections\": %" PRIu64
		   ", \"reader_objects_verified\": %" PRIu64 ", \"hotplug_cycles\": %" PRIu64
		   ", \"shrinker_runs\": %" PRIu64 ", \"barriers\": %" PRIu64
		   ", \"starvations\": %" PRIu64 ", \"warnings_bug\": %" PRIu64
		   ", \"warnings_misuse\": %" PRIu64 ", \"samples\": %d",
		   es->gps, es->sched_points, es->works_run, es->timers_fired, es->rcu_callbacks,
		   in->os.allocated, in->os.freed, es->pages_peak, es->page_failures,
		   es->pool_allocs, es->pool_misses, fs->reader_sections, fs->reader_objects,
		   fs->hotplug_cycles, fs->shrinker_runs, fs->barriers, fs->starvations,
		   es->warnings[0], es->warnings[1], in->nr_samples);
	outbuf_add(o, ", \"barriers_while_quiet\": %" PRIu64 ", \"barrier_shrinks\": %" PRIu64
		   ", \"misuse_calls\": {\"double_queue\": %" PRIu64 ", \"headless_atomic\": %"
		   PRIu64 ", \"headless_nmi\": %" PRIu64 "}},\n",
		   fs->barriers_while_quiet, fs->barrier_shrinks, fs->misuse_double,
		   fs->misuse_headless_atomic, fs->misuse_nmi);
}

/* The quiet stretches of @cpu over every phase. */
static void cpu_quiet(int cpu, struct kvt_quiet_stats *q)
{
	memset(q, 0, sizeof(*q));
	for (int p = 0; p < nr_phases(); p++) {
		const struct kvt_quiet_stats *one = &runner_phases[p].quiet[cpu];

		q->periods += one->periods;
		q->total_ns += one->total_ns;
		if (one->longest_ns > q->longest_ns)
			q->longest_ns = one->longest_ns;
	}
}

static void json_quiet(struct outbuf *o, const struct kvt_quiet_stats *q)
{
	outbuf_add(o, "{\"periods\": %" PRIu64 ", \"total_ns\": %" PRIu64
		   ", \"longest_ns\": %" PRIu64 "}", q->periods, q->total_ns, q->longest_ns);
}

/* One phase's checkpoints. */
static void json_checkpoints(struct outbuf *o, const struct checkpoint_figures *cp)
{
	uint64_t n = cp->count ? cp->count : 1;

	outbuf_add(o, "{\"count\": %" PRIu64 ", \"drains\": %" PRIu64 ", \"slow_late\": %" PRIu64
		   ", \"wait_ns\": {\"mean\": %" PRIu64 ", \"max\": %" PRIu64 "}"
		   ", \"stop_ns\": {\"mean\": %" PRIu64 ", \"max\": %" PRIu64 "}"
		   ", \"checked_ns\": {\"mean\": %" PRIu64 ", \"max\": %" PRIu64 "}}",
		   cp->count, cp->drains, cp->slow_late, cp->wait_ns_sum / n, cp->wait_ns_max,
		   cp->stop_ns_sum / n, cp->stop_ns_max, cp->checked_ns_sum / n,
		   cp->checked_ns_max);
}

/* One phase's PROGRESS monitor. */
static void json_watch(struct outbuf *o, const struct runner_phase *ph)
{
	const struct check_progress_watch *w = &ph->watch;

	outbuf_add(o, "{\"bound_ns\": %" PRIu64 ", \"persist_ns\": %" PRIu64
		   ", \"observations\": %" PRIu64 ", \"stranded_sightings\": %" PRIu64
		   ", \"stranded_longest_ns\": %" PRIu64 ", \"stranded_oldest_age_ns\": %" PRIu64
		   ", \"oldest_age_ns\": %" PRIu64 ", \"quiet_cpu_observations\": %" PRIu64
		   ", \"quiet_cpu_pending_observations\": %" PRIu64
		   ", \"quiet_cpu_oldest_age_ns\": %" PRIu64 "}",
		   w->bound_ns, w->persist_ns, w->observations, w->stranded_sightings,
		   w->stranded_longest_ns, w->stranded_oldest_age_ns, w->oldest_age_ns,
		   ph->quiet_observations, w->masked_observations, w->masked_oldest_age_ns);
}

/* One phase's figures summed over its CPUs. */
struct phase_sums {
	uint64_t calls, fl, fs, runs, raises, fails, pages, peak_pages, quiet_n, quiet_ns;
};

static struct phase_sums phase_sums(const struct runner_phase *ph)
{
	struct phase_sums t = { 0 };

	for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;

		t.quiet_n += ph->quiet[cpu].periods;
		t.quiet_ns += ph->quiet[cpu].total_ns;
		if (!runner_phase_cpu_stats(ph, cpu, &st))
			continue;
		for (int c = 0; c < KENV_CTX_NR; c++)
			t.calls += st.calls[c];
		t.fl += st.fallback_list;
		t.fs += st.fallback_sync;
		t.runs += st.refill_runs;
		t.raises += st.watermark_raises;
		t.fails += st.refill_failures;
		t.pages += st.refill_pages + st.direct_allocs + st.pool_allocs;
		t.peak_pages += atomic_load(&ph->peak_pages[cpu]);
	}
	return t;
}

/*
 * "policies": a section per phase, with the figures a policy is judged by
 * (kvbench policies and the regression baseline read them): calls per
 * second, the fallback share, refill runs (each a raise of the refill: a
 * timer kick, a softirq, a worker) and the storage pages at their peak.
 */
static void json_phases(struct outbuf *o)
{
	outbuf_add(o, "  \"policies\": [");
	for (int p = 0; p < nr_phases(); p++) {
		const struct runner_phase *ph = &runner_phases[p];
		struct phase_sums t = phase_sums(ph);
		uint64_t flood_ns = phase_flood_ns(ph);

		outbuf_add(o, "%s\n    {\"policy\": \"%s\", \"done\": %s, \"flood_s\": %.3f"
			   ", \"calls\": %" PRIu64 ", \"calls_per_s\": %.0f"
			   ", \"fallbacks\": {\"list\": %" PRIu64 ", \"sync\": %" PRIu64 "}"
			   ", \"fallback_pct\": %.6f, \"refill_runs\": %" PRIu64
			   ", \"watermark_raises\": %" PRIu64 ", \"refill_failures\": %" PRIu64
			   ", \"pages_allocated\": %" PRIu64 ", \"peak_pages\": %" PRIu64
			   ", \"pages_peak_env\": %" PRIu64 ",\n     \"checkpoints\": ",
			   p ? "," : "", kvfree_policy_name(ph->policy),
			   atomic_load(&ph->done) ? "true" : "false", (double)flood_ns / 1e9, t.calls,
			   per_s(t.calls, flood_ns), t.fl, t.fs, pct(t.fl + t.fs, t.calls), t.runs,
			   t.raises, t.fails, t.pages, t.peak_pages,
			   atomic_load(&ph->done) ? ph->es.pages_peak : 0);
		json_checkpoints(o, &ph->cp);
		outbuf_add(o, ",\n     \"progress_monitor\": ");
		json_watch(o, ph);
		outbuf_add(o, ",\n     \"duty_cycle\": {\"percent\": %u, \"cpus\": \"0x%" PRIx64
			   "\", \"quiet_ns\": %" PRIu64 ", \"quiet\": [",
			   ph->duty_percent, ph->duty_cpus, ph->quiet_ns);
		for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
			outbuf_add(o, "%s", cpu ? ", " : "");
			json_quiet(o, &ph->quiet[cpu]);
		}
		outbuf_add(o, "]}}");
	}
	outbuf_add(o, "\n  ],\n");
}

/* The checkpoints and the PROGRESS monitor over every phase. */
static void json_checks(struct outbuf *o)
{
	struct checkpoint_figures cp = { 0 };
	struct runner_phase all;

	memset(&all, 0, sizeof(all));
	for (int p = 0; p < nr_phases(); p++) {
		const struct runner_phase *ph = &runner_phases[p];
		const struct check_progress_watch *w = &ph->watch;

		cp.count += ph->cp.count;
		cp.drains += ph->cp.drains;
		cp.slow_late += ph->cp.slow_late;
		cp.wait_ns_sum += ph->cp.wait_ns_sum;
		cp.stop_ns_sum += ph->cp.stop_ns_sum;
		if (ph->cp.wait_ns_max > cp.wait_ns_max)
			cp.wait_ns_max = ph->cp.wait_ns_max;
		cp.checked_ns_sum += ph->cp.checked_ns_sum;
		if (ph->cp.stop_ns_max > cp.stop_ns_max)
			cp.stop_ns_max = ph->cp.stop_ns_max;
		if (ph->cp.checked_ns_max > cp.checked_ns_max)
			cp.checked_ns_max = ph->cp.checked_ns_max;
		all.watch.observations += w->observations;
		all.watch.stranded_sightings += w->stranded_sightings;
		all.watch.masked_observations += w->masked_observations;
		all.quiet_observations += ph->quiet_observations;
#define MAX_OF(f) if (w->f > all.watch.f) all.watch.f = w->f
		MAX_OF(bound_ns);
		MAX_OF(persist_ns);
		MAX_OF(stranded_longest_ns);
		MAX_OF(stranded_oldest_age_ns);
		MAX_OF(oldest_age_ns);
		MAX_OF(masked_oldest_age_ns);
#undef MAX_OF
	}
	outbuf_add(o, "  \"checkpoints\": ");
	json_checkpoints(o, &cp);
	/* What the waits for frees did not count (posix_starved_ns()). */
	outbuf_add(o, ",\n  \"checkpoint_ms\": %u,\n  \"reclaim_starved_ms\": %" PRIu64
		   ",\n  \"progress_monitor\": ", runner_opts.checkpoint_ms,
		   posix_starved_ns() / 1000000u);
	json_watch(o, &all);
	outbuf_add(o, ",\n");
}

/* The calls each selected scenario made. */
static void json_scenarios(struct outbuf *o, const struct report_input *in)
{
	const struct kvt_flood_stats *fs = &in->fs;

	outbuf_add(o, "  \"scenarios\": {");
	for (int sc = 0, first = 1; sc < KVT_SC_NR; sc++) {
		uint64_t total = 0;

		if (!(runner_opts.mask & (1u << sc)))
			continue;
		for (int c = 0; c < KENV_CTX_NR; c++)
			total += fs->calls[sc][c];
		outbuf_add(o, "%s\n    \"%s\": {\"calls\": %" PRIu64 ", \"calls_by_context\": ",
			   first ? "" : ",", kvt_scenario_name((enum kvt_scenario)sc), total);
		json_ctx_counts(o, fs->calls[sc]);
		outbuf_add(o, ", \"headless\": %" PRIu64 ", \"two_argument\": %" PRIu64 "}",
			   fs->headless[sc], total - fs->headless[sc]);
		first = 0;
	}
	outbuf_add(o, "\n  },\n");
}

/* One CPU's entry of "per_cpu": the implementation's counters, latency, interrupts. */
static void json_cpu(struct outbuf *o, const struct report_input *in, int cpu)
{
	struct kvfree_rcu_cpu_stats st;
	uint64_t lat[KVT_LAT_BUCKETS], calls = 0, lmax = 0;
	struct kvt_quiet_stats q;

	if (!runner_cpu_stats(cpu, &st))
		memset(&st, 0, sizeof(st));
	for (int c = 0; c < KENV_CTX_NR; c++)
		calls += st.calls[c];
	kvt_obj_latency(cpu, lat);
	for (int b = 0; b < KVT_LAT_BUCKETS; b++)
		if (lat[b])
			lmax = 2ull << b;
	outbuf_add(o, "%s\n    {\"cpu\": %d, \"calls\": %" PRIu64 ", \"calls_by_context\": ",
		   cpu ? "," : "", cpu, calls);
	json_ctx_counts(o, st.calls);
	outbuf_add(o, ", \"calls_by_form\": {\"two_argument\": %" PRIu64 ", \"headless\": %lu}",
		   calls - st.calls_headless, st.calls_headless);
	outbuf_add(o, ", \"driver_calls_by_context\": ");
	json_ctx_counts(o, in->fs.cpu_calls[cpu]);
	outbuf_add(o, ", \"fallbacks\": {\"list\": %lu, \"sync\": %lu}, \"direct_allocs\": %lu"
		   ", \"pool_allocs\": %lu, \"refills\": {\"runs\": %lu, \"pages\": %lu"
		   ", \"failures\": %lu}, \"watermark_raises\": %lu, \"peak_pending\": %" PRIu64
		   ", \"peak_pages\": %" PRIu64 ", \"objs_freed\": %lu"
		   ", \"objs_freed_early_reclaim\": %lu, \"objs_leaked\": %lu"
		   ", \"batches\": %lu, \"monitor_runs\": %lu",
		   st.fallback_list, st.fallback_sync, st.direct_allocs, st.pool_allocs,
		   st.refill_runs, st.refill_pages, st.refill_failures, st.watermark_raises,
		   runner_peak_pending(cpu), runner_peak_pages(cpu), st.objs_freed,
		   st.objs_freed_early_reclaim, st.objs_leaked, st.batches_queued, st.monitor_runs);
	outbuf_add(o, ", \"reclaim_latency_ns\": {\"p50\": %" PRIu64 ", \"p90\": %" PRIu64
		   ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64 "}",
		   kvt_lat_percentile(lat, 50), kvt_lat_percentile(lat, 90),
		   kvt_lat_percentile(lat, 99), lmax);
	outbuf_add(o, ", \"interrupts\": %" PRIu64 ", \"interrupts_replayed\": %" PRIu64
		   ", \"nmis\": %" PRIu64 ", \"nmi_calls\": %" PRIu64 ", \"nmi_refused\": %lu"
		   ", \"softirqs\": %" PRIu64 ", \"double_queued\": %lu, \"headless_atomic\": %lu",
		   in->es.irqs[cpu], in->es.irqs_replayed[cpu], in->es.nmis[cpu],
		   in->fs.nmi_calls[cpu], st.nmi_refused, in->es.softirqs[cpu], st.double_queued,
		   st.headless_atomic);
	cpu_quiet(cpu, &q);
	outbuf_add(o, ", \"quiet\": ");
	json_quiet(o, &q);
	outbuf_add(o, "}");
}

/* Violations by invariant, the one reported (if any), and the final sample. */
static void json_violations(struct outbuf *o, const struct report_input *in, const char *inv,
			    const char *report)
{
	outbuf_add(o, "  \"gps\": %" PRIu64 ",\n  \"violations\": {\"total\": %" PRIu64
		   ", \"by_invariant\": {", in->es.gps, runner_total_violations());
	for (int i = 0, first = 1; i < INV_NR; i++) {
		unsigned long c = check_count((enum check_inv)i);

		if (!c)
			continue;
		outbuf_add(o, "%s\"%s\": %lu", first ? "" : ", ",
			   check_inv_name((enum check_inv)i), c);
		first = 0;
	}
	outbuf_add(o, "}, \"reports\": [");
	if (inv && report) {
		outbuf_add(o, "{\"invariant\": \"%s\", \"report\": ", inv);
		outbuf_add_json_string(o, report);
		outbuf_add(o, ", \"reproduce\": ");
		outbuf_add_json_string(o, runner_repro);
		outbuf_add(o, "}");
	}
	outbuf_add(o, "]}");
	if (in->last)
		outbuf_add(o, ",\n  \"final_sample\": {\"pending\": %" PRIu64 ", \"cached\": %" PRIu64
			   "}", in->last->pending + in->last->in_flight, in->last->cached);
	outbuf_add(o, "\n}\n");
}

bool runner_write_report_json(const char *status, int exit_code, const char *inv,
			      const char *report)
{
	/* One buffer: a violation or a hang ends the process while it writes. */
	static struct outbuf json_out;
	static struct report_input in;
	const struct sample *s;

	runner_env_stats(&in.es);
	kvt_flood_stats(&in.fs);
	kvt_obj_stats(&in.os);
	s = runner_samples(&in.nr_samples);
	in.last = in.nr_samples ? &s[in.nr_samples - 1] : NULL;

	outbuf_reset(&json_out);
	json_run(&json_out, status, exit_code);
	json_totals(&json_out, &in);
	json_scenarios(&json_out, &in);
	json_phases(&json_out);
	json_checks(&json_out);
	outbuf_add(&json_out, "  \"per_cpu\": [");
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		json_cpu(&json_out, &in, cpu);
	outbuf_add(&json_out, "\n  ],\n");
	json_violations(&json_out, &in, inv, report);
	return outbuf_write_atomic("report.json", &json_out);
}

/* ---------------------------------------------------------------------------
 * timeseries.csv and the plots
 */

/* The text files' buffer: the main thread's only. */
static struct outbuf text_out;

void runner_write_timeseries(void)
{
	int n;
	const struct sample *samples = runner_samples(&n);

	outbuf_reset(&text_out);
	outbuf_add(&text_out, "t_s,calls,pending,in_flight,cached_pages,bulk_pages,fallback_list,"
		   "fallback_sync,fallbacks,gps,interrupts,nmi_refused,pages_in_use,violations\n");
	for (int i = 0; i < n; i++) {
		const struct sample *s = &samples[i];

		outbuf_add(&text_out, "%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			   ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			   ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			   (double)s->t_ns / 1e9, s->calls, s->pending + s->in_flight,
			   s->in_flight, s->cached, s->bulk, s->fallback_list, s->fallback_sync,
			   s->fallback_list + s->fallback_sync, s->gps, s->irqs, s->nmi_refused,
			   s->pages_in_use, s->violations);
	}
	outbuf_write_atomic("timeseries.csv", &text_out);
}

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[1024];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)len, path);
		if (!access(buf, X_OK))
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

void runner_write_plots(void)
{
	static const struct {
		const char *file, *title, *column;
	} plots[] = {
		{ "pending.png", "objects pending (queued, not yet freed)", "pending" },
		{ "cached_pages.png", "cached storage pages", "cached_pages" },
		{ "fallbacks.png", "fallbacks (list + inline synchronize), cumulative", "fallbacks" },
	};
	const char *dir = runner_opts.report_dir;
	char cmd[2048];
	int rc;

	if (!dir || !runner_opts.plots)
		return;
	if (!have_gnuplot()) {
		printf("note: gnuplot not found, plots skipped (install gnuplot-nox)\n");
		return;
	}
	outbuf_reset(&text_out);
	outbuf_add(&text_out, "set datafile separator ','\nset key autotitle columnhead\n"
		   "set terminal pngcairo size 900,500 noenhanced\nset xlabel 'seconds'\n"
		   "set grid\n");
	for (size_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++)
		outbuf_add(&text_out, "set output '%s/%s'\nset title \"%s (seed %" PRIu64 ")\"\n"
			   "plot '%s/timeseries.csv' using 't_s':'%s' with lines lw 2\n",
			   dir, plots[i].file, plots[i].title, runner_opts.seed, dir,
			   plots[i].column);
	outbuf_write_atomic("plots.gp", &text_out);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s/plots.gp' 2>&1", dir);
	rc = system(cmd);
	if (rc)
		printf("note: gnuplot failed (status %d), plots skipped\n", rc);
}

/* ---------------------------------------------------------------------------
 * The summary table
 */

/* A line per policy phase: its figures, checkpoints and PROGRESS monitor, quiet CPUs. */
static void print_phases(void)
{
	for (int p = 0; p < nr_phases(); p++) {
		const struct runner_phase *ph = &runner_phases[p];
		const struct check_progress_watch *w = &ph->watch;
		struct phase_sums t = phase_sums(ph);
		printf("policy %-9s %6.1f s: %.0f calls/s, fallbacks %.4f %%, refill runs %" PRIu64
		       "; checkpoints %" PRIu64 " (%" PRIu64 " drains, %" PRIu64 " slow-late, stop %.1f ms"
		       " mean, %.1f max);"
		       " PROGRESS monitor %" PRIu64 " observations, oldest pending %.0f ms (bound %.0f"
		       " ms), %" PRIu64 " stranded sightings; quiet stretches %" PRIu64 " (%.1f s)\n",
		       kvfree_policy_name(ph->policy), (double)phase_flood_ns(ph) / 1e9,
		       per_s(t.calls, phase_flood_ns(ph)), pct(t.fl + t.fs, t.calls), t.runs,
		       ph->cp.count,
		       ph->cp.drains, ph->cp.slow_late,
		       ph->cp.count ? (double)ph->cp.stop_ns_sum / (double)ph->cp.count / 1e6 : 0,
		       (double)ph->cp.stop_ns_max / 1e6, w->observations,
		       (double)w->oldest_age_ns / 1e6, (double)w->bound_ns / 1e6,
		       w->stranded_sightings, t.quiet_n, (double)t.quiet_ns / 1e9);
	}
}

void runner_print_summary(void)
{
	struct posix_env_stats es;
	struct kvt_flood_stats fs;

	runner_env_stats(&es);
	kvt_flood_stats(&fs);
	printf("\n%-4s %10s %9s %9s %9s %9s %7s %9s %9s %8s %7s %7s %10s %10s %8s %7s\n", "cpu",
	       "calls", "task", "kthread", "softirq", "hardirq", "nmi", "headless", "fallback",
	       "refills", "peakpnd", "peakpg", "lat.p50", "lat.p99", "irqs", "nmiref");
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;
		uint64_t lat[KVT_LAT_BUCKETS], calls = 0;

		if (!runner_cpu_stats(cpu, &st))
			memset(&st, 0, sizeof(st));
		for (int c = 0; c < KENV_CTX_NR; c++)
			calls += st.calls[c];
		kvt_obj_latency(cpu, lat);
		printf("%-4d %10" PRIu64 " %9lu %9lu %9lu %9lu %7" PRIu64 " %9lu %9lu %8lu %7" PRIu64
		       " %7" PRIu64 " %8.2fms %8.2fms %8" PRIu64 " %7lu\n",
		       cpu, calls, st.calls[KENV_CTX_TASK], st.calls[KENV_CTX_KTHREAD],
		       st.calls[KENV_CTX_SOFTIRQ], st.calls[KENV_CTX_HARDIRQ], fs.nmi_calls[cpu],
		       st.calls_headless, st.fallback_list + st.fallback_sync, st.refill_runs,
		       runner_peak_pending(cpu), runner_peak_pages(cpu),
		       (double)kvt_lat_percentile(lat, 50) / 1e6,
		       (double)kvt_lat_percentile(lat, 99) / 1e6, es.irqs[cpu], st.nmi_refused);
	}
	printf("gps %" PRIu64 ", reader sections %" PRIu64 " (%" PRIu64
	       " objects verified), hotplug cycles %" PRIu64 ", shrinker runs %" PRIu64
	       ", barriers %" PRIu64 ", violations %" PRIu64 "\n",
	       es.gps, fs.reader_sections, fs.reader_objects, fs.hotplug_cycles, fs.shrinker_runs,
	       fs.barriers, runner_total_violations());
	print_phases();
}
