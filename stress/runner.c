/* SPDX-License-Identifier: MIT */
/*
 * runner.c - kvt_stress_main(): options, the run, progress, the watchdog and
 * the reports (see stress.h).
 *
 * Reports are formatted into static buffers with vsnprintf and written with
 * write(2) to a temporary file that is then renamed, so a violation report
 * (written from the checker's abort hook, in whatever context the violation
 * was found) neither allocates nor leaves a half-written file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "flood.h"
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "posix_obj.h"
#include "stress.h"

#define MAX_SAMPLES 40000
#define SAMPLE_NS (100ull * 1000 * 1000)

struct stress_opts {
	unsigned int mask;
	const char *scenario;
	int cpus;
	unsigned int duration_s;
	uint64_t seed;
	enum kvfree_policy policy;
	const char *report_dir;
	unsigned int irq_rate, nmi_rate, users, fault_ppm;
	unsigned int page_entries;	/* 0: the implementation's default */
	int cache_pages;		/* -1: default */
	int drain_ms;			/* -1: default */
	unsigned int watchdog_s;
	bool chaos;
	bool gp_early;
	bool quiet;
	bool plots;
	bool expect_set;
	enum check_inv expect;
};

struct sample {
	uint64_t t_ns;
	uint64_t calls, pending, in_flight, cached, bulk, fallback_list, fallback_sync;
	uint64_t gps, irqs, nmi_refused, violations, pages_in_use;
};

static struct stress_opts opts;
static const char *prog = "kvtorture stress";
static char repro[2048];
static struct sample samples[MAX_SAMPLES];
static _Atomic(int) nr_samples;
/* Written by the sampler, read by a violation report from any thread. */
static _Atomic(uint64_t) peak_pending[KENV_NR_CPUS_MAX], peak_pages[KENV_NR_CPUS_MAX];
static struct kvfree_rcu_cpu_stats final_stats[KENV_NR_CPUS_MAX];
static bool have_final;

enum run_phase { PHASE_SETUP, PHASE_RUN, PHASE_QUIESCE, PHASE_DONE };
static _Atomic(int) phase;
static _Atomic(bool) watchdog_stop;
static uint64_t run_deadline_ns;

/* ---------------------------------------------------------------------------
 * Output without allocation: a static buffer, then write(2)
 */

struct outbuf {
	char buf[1 << 20];
	size_t len;
	bool overflow;
};

static struct outbuf json_out, text_out;

static void __attribute__((format(printf, 2, 3))) out(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(o->buf) - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void out_json_string(struct outbuf *o, const char *s)
{
	out(o, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			out(o, "\\%c", c);
		else if (c == '\n')
			out(o, "\\n");
		else if (c < 0x20)
			out(o, "\\u%04x", c);
		else
			out(o, "%c", c);
	}
	out(o, "\"");
}

static void write_fd(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Write @o to DIR/@name through DIR/.@name.tmp and rename: readers see all or nothing. */
static bool write_atomic(const char *name, const struct outbuf *o)
{
	char tmp[1024], path[1024];
	int fd;

	if (!opts.report_dir)
		return true;
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", opts.report_dir, name);
	snprintf(path, sizeof(path), "%s/%s", opts.report_dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return false;
	write_fd(fd, o->buf, o->len);
	fsync(fd);
	close(fd);
	return rename(tmp, path) == 0;
}

/* ---------------------------------------------------------------------------
 * Statistics
 */

static uint64_t total_violations(void)
{
	uint64_t n = 0;

	for (int inv = 0; inv < INV_NR; inv++)
		n += check_count((enum check_inv)inv);
	return n;
}

static void take_sample(void)
{
	struct posix_env_stats es;
	struct sample s;
	int n;

	memset(&s, 0, sizeof(s));
	posix_env_stats(&es);
	s.t_ns = kenv_clock_ns();
	for (int cpu = 0; cpu < opts.cpus; cpu++) {
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
	s.violations = total_violations();
	n = atomic_load(&nr_samples);
	if (n < MAX_SAMPLES) {
		samples[n] = s;
		atomic_store(&nr_samples, n + 1);
	}
}

static void print_progress(void)
{
	int n = atomic_load(&nr_samples);
	struct kvt_flood_stats fs;
	uint64_t by_ctx[KENV_CTX_NR] = { 0 };
	const struct sample *s;

	if (!n || opts.quiet)
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

/* ---------------------------------------------------------------------------
 * Reports
 */

static void json_ctx_counts(struct outbuf *o, const uint64_t *v)
{
	out(o, "{");
	for (int c = 0; c < KENV_CTX_NR; c++)
		out(o, "%s\"%s\": %" PRIu64, c ? ", " : "", kenv_ctx_name((enum kenv_ctx)c), v[c]);
	out(o, "}");
}

static void build_report_json(struct outbuf *o, const char *status, int exit_code,
			      const char *inv, const char *report)
{
	struct posix_env_stats es;
	struct kvt_flood_stats fs;
	struct kvt_obj_stats os;
	const struct sample *last = NULL;
	int n = atomic_load(&nr_samples);

	posix_env_stats(&es);
	kvt_flood_stats(&fs);
	kvt_obj_stats(&os);
	if (n)
		last = &samples[n - 1];
	o->len = 0;
	o->overflow = false;
	out(o, "{\n  \"tool\": \"kvtorture stress\",\n  \"status\": \"%s\",\n  \"exit_code\": %d,\n",
	    status, exit_code);
	out(o, "  \"seed\": %" PRIu64 ",\n  \"command\": ", opts.seed);
	out_json_string(o, repro);
	out(o, ",\n  \"policy\": \"%s\",\n  \"cpus\": %d,\n  \"duration_s\": %u,\n",
	    kvfree_policy_name(opts.policy), opts.cpus, opts.duration_s);
	out(o, "  \"interposer\": %s,\n", posix_interpose_enabled() ? "true" : "false");
	out(o, "  \"totals\": {\"gps\": %" PRIu64 ", \"sched_points\": %" PRIu64
	    ", \"works_run\": %" PRIu64 ", \"timers_fired\": %" PRIu64
	    ", \"rcu_callbacks\": %" PRIu64 ", \"objects_allocated\": %" PRIu64
	    ", \"objects_freed\": %" PRIu64 ", \"pages_peak\": %" PRIu64
	    ", \"page_failures\": %" PRIu64 ", \"pool_allocs\": %" PRIu64
	    ", \"pool_misses\": %" PRIu64 ", \"reader_sections\": %" PRIu64
	    ", \"reader_objects_verified\": %" PRIu64 ", \"hotplug_cycles\": %" PRIu64
	    ", \"shrinker_runs\": %" PRIu64 ", \"barriers\": %" PRIu64
	    ", \"starvations\": %" PRIu64 ", \"warnings_bug\": %" PRIu64
	    ", \"warnings_misuse\": %" PRIu64 ", \"samples\": %d},\n",
	    es.gps, es.sched_points, es.works_run, es.timers_fired, es.rcu_callbacks,
	    os.allocated, os.freed, es.pages_peak, es.page_failures, es.pool_allocs,
	    es.pool_misses, fs.reader_sections, fs.reader_objects, fs.hotplug_cycles,
	    fs.shrinker_runs, fs.barriers, fs.starvations, es.warnings[0], es.warnings[1], n);

	out(o, "  \"scenarios\": {");
	for (int sc = 0, first = 1; sc < KVT_SC_NR; sc++) {
		uint64_t total = 0;

		if (!(opts.mask & (1u << sc)))
			continue;
		for (int c = 0; c < KENV_CTX_NR; c++)
			total += fs.calls[sc][c];
		out(o, "%s\n    \"%s\": {\"calls\": %" PRIu64 ", \"calls_by_context\": ",
		    first ? "" : ",", kvt_scenario_name((enum kvt_scenario)sc), total);
		json_ctx_counts(o, fs.calls[sc]);
		out(o, ", \"headless\": %" PRIu64 ", \"two_argument\": %" PRIu64 "}",
		    fs.headless[sc], total - fs.headless[sc]);
		first = 0;
	}
	out(o, "\n  },\n  \"per_cpu\": [");
	for (int cpu = 0; cpu < opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;
		uint64_t lat[KVT_LAT_BUCKETS], calls = 0, lmax = 0;
		bool ok;

		if (have_final) {
			st = final_stats[cpu];
			ok = true;
		} else {
			ok = kvfree_rcu_snapshot_racy(cpu, &st);
		}
		if (!ok)
			memset(&st, 0, sizeof(st));
		for (int c = 0; c < KENV_CTX_NR; c++)
			calls += st.calls[c];
		kvt_obj_latency(cpu, lat);
		for (int b = 0; b < KVT_LAT_BUCKETS; b++)
			if (lat[b])
				lmax = 2ull << b;
		out(o, "%s\n    {\"cpu\": %d, \"calls\": %" PRIu64 ", \"calls_by_context\": ",
		    cpu ? "," : "", cpu, calls);
		json_ctx_counts(o, st.calls);
		out(o, ", \"calls_by_form\": {\"two_argument\": %" PRIu64 ", \"headless\": %lu}",
		    calls - st.calls_headless, st.calls_headless);
		out(o, ", \"driver_calls_by_context\": ");
		json_ctx_counts(o, fs.cpu_calls[cpu]);
		out(o, ", \"fallbacks\": {\"list\": %lu, \"sync\": %lu}, \"direct_allocs\": %lu"
		    ", \"pool_allocs\": %lu, \"refills\": {\"runs\": %lu, \"pages\": %lu, \"failures\": %lu}"
		    ", \"watermark_raises\": %lu, \"peak_pending\": %" PRIu64 ", \"peak_pages\": %" PRIu64
		    ", \"objs_freed\": %lu, \"objs_freed_early_reclaim\": %lu, \"objs_leaked\": %lu"
		    ", \"batches\": %lu, \"monitor_runs\": %lu",
		    st.fallback_list, st.fallback_sync, st.direct_allocs, st.pool_allocs,
		    st.refill_runs, st.refill_pages, st.refill_failures, st.watermark_raises,
		    atomic_load(&peak_pending[cpu]), atomic_load(&peak_pages[cpu]), st.objs_freed,
		    st.objs_freed_early_reclaim,
		    st.objs_leaked, st.batches_queued, st.monitor_runs);
		out(o, ", \"reclaim_latency_ns\": {\"p50\": %" PRIu64 ", \"p90\": %" PRIu64
		    ", \"p99\": %" PRIu64 ", \"max\": %" PRIu64 "}",
		    kvt_lat_percentile(lat, 50), kvt_lat_percentile(lat, 90),
		    kvt_lat_percentile(lat, 99), lmax);
		out(o, ", \"interrupts\": %" PRIu64 ", \"interrupts_replayed\": %" PRIu64
		    ", \"nmis\": %" PRIu64 ", \"nmi_calls\": %" PRIu64 ", \"nmi_refused\": %lu"
		    ", \"softirqs\": %" PRIu64 ", \"double_queued\": %lu, \"headless_atomic\": %lu}",
		    es.irqs[cpu], es.irqs_replayed[cpu], es.nmis[cpu], fs.nmi_calls[cpu],
		    st.nmi_refused, es.softirqs[cpu], st.double_queued, st.headless_atomic);
	}
	out(o, "\n  ],\n  \"gps\": %" PRIu64 ",\n  \"violations\": {\"total\": %" PRIu64
	    ", \"by_invariant\": {", es.gps, total_violations());
	for (int i = 0, first = 1; i < INV_NR; i++) {
		unsigned long c = check_count((enum check_inv)i);

		if (!c)
			continue;
		out(o, "%s\"%s\": %lu", first ? "" : ", ", check_inv_name((enum check_inv)i), c);
		first = 0;
	}
	out(o, "}, \"reports\": [");
	if (inv && report) {
		out(o, "{\"invariant\": \"%s\", \"report\": ", inv);
		out_json_string(o, report);
		out(o, ", \"reproduce\": ");
		out_json_string(o, repro);
		out(o, "}");
	}
	out(o, "]}");
	if (last)
		out(o, ",\n  \"final_sample\": {\"pending\": %" PRIu64 ", \"cached\": %" PRIu64 "}",
		    last->pending + last->in_flight, last->cached);
	out(o, "\n}\n");
}

static void write_timeseries(void)
{
	int n = atomic_load(&nr_samples);

	text_out.len = 0;
	text_out.overflow = false;
	out(&text_out, "t_s,calls,pending,in_flight,cached_pages,bulk_pages,fallback_list,"
	    "fallback_sync,fallbacks,gps,interrupts,nmi_refused,pages_in_use,violations\n");
	for (int i = 0; i < n; i++) {
		const struct sample *s = &samples[i];

		out(&text_out, "%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		    ",%" PRIu64 ",%" PRIu64 "\n", (double)s->t_ns / 1e9, s->calls,
		    s->pending + s->in_flight, s->in_flight, s->cached, s->bulk, s->fallback_list,
		    s->fallback_sync, s->fallback_list + s->fallback_sync, s->gps, s->irqs,
		    s->nmi_refused, s->pages_in_use, s->violations);
	}
	write_atomic("timeseries.csv", &text_out);
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

static void write_plots(void)
{
	static const struct {
		const char *file, *title, *column;
	} plots[] = {
		{ "pending.png", "objects pending (queued, not yet freed)", "pending" },
		{ "cached_pages.png", "cached storage pages", "cached_pages" },
		{ "fallbacks.png", "fallbacks (list + inline synchronize), cumulative", "fallbacks" },
	};
	char cmd[2048];
	int rc;

	if (!opts.report_dir || !opts.plots)
		return;
	if (!have_gnuplot()) {
		printf("note: gnuplot not found, plots skipped (install gnuplot-nox)\n");
		return;
	}
	text_out.len = 0;
	text_out.overflow = false;
	out(&text_out, "set datafile separator ','\nset key autotitle columnhead\n"
	    "set terminal pngcairo size 900,500 noenhanced\nset xlabel 'seconds'\nset grid\n");
	for (size_t i = 0; i < sizeof(plots) / sizeof(plots[0]); i++)
		out(&text_out, "set output '%s/%s'\nset title \"%s (seed %" PRIu64 ")\"\n"
		    "plot '%s/timeseries.csv' using 't_s':'%s' with lines lw 2\n",
		    opts.report_dir, plots[i].file, plots[i].title, opts.seed, opts.report_dir,
		    plots[i].column);
	write_atomic("plots.gp", &text_out);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s/plots.gp' 2>&1", opts.report_dir);
	rc = system(cmd);
	if (rc)
		printf("note: gnuplot failed (status %d), plots skipped\n", rc);
}

static void print_summary(void)
{
	struct posix_env_stats es;
	struct kvt_flood_stats fs;

	posix_env_stats(&es);
	kvt_flood_stats(&fs);
	printf("\n%-4s %10s %9s %9s %9s %9s %7s %9s %9s %8s %7s %7s %10s %10s %8s %7s\n", "cpu",
	       "calls", "task", "kthread", "softirq", "hardirq", "nmi", "headless", "fallback",
	       "refills", "peakpnd", "peakpg", "lat.p50", "lat.p99", "irqs", "nmiref");
	for (int cpu = 0; cpu < opts.cpus; cpu++) {
		const struct kvfree_rcu_cpu_stats *st = &final_stats[cpu];
		uint64_t lat[KVT_LAT_BUCKETS], calls = 0;

		for (int c = 0; c < KENV_CTX_NR; c++)
			calls += st->calls[c];
		kvt_obj_latency(cpu, lat);
		printf("%-4d %10" PRIu64 " %9lu %9lu %9lu %9lu %7" PRIu64 " %9lu %9lu %8lu %7" PRIu64
		       " %7" PRIu64 " %8.2fms %8.2fms %8" PRIu64 " %7lu\n",
		       cpu, calls, st->calls[KENV_CTX_TASK], st->calls[KENV_CTX_KTHREAD],
		       st->calls[KENV_CTX_SOFTIRQ], st->calls[KENV_CTX_HARDIRQ], fs.nmi_calls[cpu],
		       st->calls_headless, st->fallback_list + st->fallback_sync, st->refill_runs,
		       atomic_load(&peak_pending[cpu]), atomic_load(&peak_pages[cpu]),
		       (double)kvt_lat_percentile(lat, 50) / 1e6,
		       (double)kvt_lat_percentile(lat, 99) / 1e6, es.irqs[cpu], st->nmi_refused);
	}
	printf("gps %" PRIu64 ", reader sections %" PRIu64 " (%" PRIu64
	       " objects verified), hotplug cycles %" PRIu64 ", shrinker runs %" PRIu64
	       ", barriers %" PRIu64 ", violations %" PRIu64 "\n",
	       es.gps, fs.reader_sections, fs.reader_objects, fs.hotplug_cycles, fs.shrinker_runs,
	       fs.barriers, total_violations());
}

/* ---------------------------------------------------------------------------
 * Violations and hangs
 */

static void abort_hook(enum check_inv inv, const char *report)
{
	static struct outbuf viol;
	const char *name = check_inv_name(inv);
	bool expected = opts.expect_set && inv == opts.expect;

	viol.len = 0;
	out(&viol, "%s\nreproduce: %s\n", report ? report : "", repro);
	write_atomic("violation.txt", &viol);
	build_report_json(&json_out, expected ? "expected-violation" : "violation", expected ? 0 : 1,
			  name, report);
	write_atomic("report.json", &json_out);
	viol.len = 0;
	out(&viol, "kvtorture stress: %s violated; reproduce with:\n  %s\n", name ? name : "?",
	    repro);
	write_fd(2, viol.buf, viol.len);
	if (expected) {
		viol.len = 0;
		out(&viol, "kvtorture stress: the expected violation %s was caught\n", name);
		write_fd(1, viol.buf, viol.len);
		_exit(0);
	}
}

static void dump_krc(int fd)
{
	static struct outbuf d;

	d.len = 0;
	d.overflow = false;
	out(&d, "--- per-CPU krc state (racy) ---\n");
	for (int cpu = 0; cpu < opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;

		if (!kvfree_rcu_snapshot_racy(cpu, &st)) {
			out(&d, "cpu%d: no snapshot\n", cpu);
			continue;
		}
		out(&d, "cpu%d: online=%d pending slab=%lu vmalloc=%lu list=%lu in_flight=%lu "
		    "bulk_pages=%lu cached=%lu monitor=%d batch_busy=%d/%d backoff=%d\n",
		    cpu, st.online, st.pending[KVFREE_CH_SLAB], st.pending[KVFREE_CH_VMALLOC],
		    st.pending[KVFREE_CH_LIST], st.in_flight, st.bulk_pages, st.cached_pages,
		    st.monitor_armed, st.batch_busy[0], st.batch_busy[1], st.backoff);
	}
	write_fd(fd, d.buf, d.len);
}

static _Noreturn void hang(const char *why)
{
	char path[1024];
	int fd = -1;

	fprintf(stderr, "kvtorture stress: WATCHDOG: %s; reproduce with:\n  %s\n", why, repro);
	posix_dump_threads(2);
	dump_krc(2);
	if (opts.report_dir) {
		snprintf(path, sizeof(path), "%s/hang.txt", opts.report_dir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	}
	if (fd >= 0) {
		dprintf(fd, "WATCHDOG: %s\nreproduce: %s\n", why, repro);
		posix_dump_threads(fd);
		dump_krc(fd);
		close(fd);
	}
	build_report_json(&json_out, "hang", KVT_EXIT_HANG, NULL, NULL);
	write_atomic("report.json", &json_out);
	_exit(KVT_EXIT_HANG);
}

static void *watchdog_main(void *arg)
{
	uint64_t bound = (uint64_t)opts.watchdog_s * 1000000000ull;
	uint64_t last_progress = 0, last_change = kenv_clock_ns();
	char why[256];

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		uint64_t now = kenv_clock_ns();
		uint64_t progress = posix_progress() + kvt_flood_calls();
		int stuck;

		if (progress != last_progress || atomic_load(&phase) != PHASE_RUN) {
			last_progress = progress;
			last_change = now;
		} else if (now - last_change > bound) {
			snprintf(why, sizeof(why), "no progress for %u s", opts.watchdog_s);
			hang(why);
		}
		stuck = posix_watchdog_scan(bound);
		if (stuck >= 0) {
			snprintf(why, sizeof(why),
				 "thread %d stayed atomic without a scheduling point for %u s",
				 stuck, opts.watchdog_s);
			hang(why);
		}
		if (now > run_deadline_ns) {
			snprintf(why, sizeof(why), "the run did not end within its duration + %u s",
				 opts.watchdog_s);
			hang(why);
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Options
 */

static void usage(FILE *f)
{
	/* The scenario names come from the registry (scenarios.def). */
	fprintf(f,
		"usage: %s [--scenario NAME[,NAME]] [--cpus N] [--duration S] [--seed X]\n"
		"          [--policy kernel|watermark|nolocks] [--report DIR] [options]\n"
		"scenarios: ", prog);
	kvt_scenario_print_names(f, KVT_KIND_FLOOD);
	fprintf(f, " all\n           (test only: ");
	kvt_scenario_print_names(f, KVT_KIND_NEGATIVE);
	fprintf(f,
		")\n"
		"options: --irq-rate N  --nmi-rate N  --threads N (syscall threads per CPU)\n"
		"         --fault-ppm N  --page-entries N  --cache-pages N  --drain-ms N\n"
		"         --watchdog S  --no-chaos  --no-plots  --quiet\n"
		"         --list-scenarios (print them: name, kind, in all, bench, description)\n"
		"         --env-fault gp-early (test: end GPs without waiting for readers)\n"
		"         --expect-violation ID (test: exit 0 only if ID is reported)\n"
		"exit: 0 pass, 1 violation, 2 bad options, 3 watchdog (hang), 99 set-up error\n");
}

static _Noreturn void bad_option(int argi, const char *fmt, const char *what)
{
	fprintf(stderr, "%s: argument %d: ", prog, argi);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n(try --help)\n");
	exit(2);
}

static unsigned long long parse_num(int argi, const char *name, const char *v,
				    unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-')
		bad_option(argi, "'%s' is not a number", v);
	if (x < min || x > max) {
		fprintf(stderr, "%s: argument %d: %s %s is out of range [%llu, %llu]\n", prog, argi,
			name, v, min, max);
		exit(2);
	}
	return x;
}

static void parse_options(int argc, char **argv)
{
	struct kvt_flood_config fdef;

	kvt_flood_config_default(&fdef);
	memset(&opts, 0, sizeof(opts));
	opts.scenario = "all";
	opts.mask = kvt_scenario_all_mask();
	opts.cpus = 4;
	opts.duration_s = 10;
	opts.policy = KVFREE_POLICY_KERNEL;
	opts.irq_rate = fdef.irq_rate;
	opts.nmi_rate = fdef.nmi_rate;
	opts.users = fdef.users_per_cpu;
	opts.fault_ppm = fdef.fault_ppm;
	opts.cache_pages = -1;
	opts.drain_ms = -1;
	opts.watchdog_s = 10;
	opts.chaos = true;
	opts.plots = true;
	opts.seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		char name[64];
		const char *eq = strchr(a, '=');
		int argi = i;

		if (strncmp(a, "--", 2))
			bad_option(i, "unexpected argument '%s'", a);
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
			v = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
		}
		if (!strcmp(name, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(name, "--list-scenarios")) {
			kvt_scenario_list(stdout);
			exit(0);
		}
		if (!strcmp(name, "--no-chaos")) {
			opts.chaos = false;
			continue;
		}
		if (!strcmp(name, "--no-plots")) {
			opts.plots = false;
			continue;
		}
		if (!strcmp(name, "--quiet")) {
			opts.quiet = true;
			continue;
		}
		if (!v) {
			if (i + 1 >= argc)
				bad_option(i, "%s needs a value", name);
			v = argv[++i];
		}
		if (!strcmp(name, "--scenario")) {
			const char *bad;
			size_t bad_len;

			if (!kvt_scenario_parse(v, &opts.mask, &bad, &bad_len)) {
				fprintf(stderr, "%s: argument %d: unknown scenario '%.*s' in '%s'\n",
					prog, argi, (int)bad_len, bad, v);
				usage(stderr);
				exit(2);
			}
			opts.scenario = v;
		} else if (!strcmp(name, "--cpus")) {
			opts.cpus = (int)parse_num(argi, name, v, 1, KENV_NR_CPUS_MAX);
		} else if (!strcmp(name, "--duration")) {
			opts.duration_s = (unsigned int)parse_num(argi, name, v, 1, 86400);
		} else if (!strcmp(name, "--seed")) {
			opts.seed = parse_num(argi, name, v, 0, UINT64_MAX);
		} else if (!strcmp(name, "--policy")) {
			if (!kvfree_policy_parse(v, &opts.policy))
				bad_option(argi, "unknown policy '%s' (kernel, watermark, nolocks)", v);
		} else if (!strcmp(name, "--report")) {
			opts.report_dir = v;
		} else if (!strcmp(name, "--irq-rate")) {
			opts.irq_rate = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		} else if (!strcmp(name, "--nmi-rate")) {
			opts.nmi_rate = (unsigned int)parse_num(argi, name, v, 0, 100000);
		} else if (!strcmp(name, "--threads")) {
			opts.users = (unsigned int)parse_num(argi, name, v, 1, 16);
		} else if (!strcmp(name, "--fault-ppm")) {
			opts.fault_ppm = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		} else if (!strcmp(name, "--page-entries")) {
			opts.page_entries = (unsigned int)parse_num(argi, name, v,
								    KVFREE_PAGE_ENTRIES_MIN,
								    KVFREE_PAGE_ENTRIES_MAX);
		} else if (!strcmp(name, "--cache-pages")) {
			opts.cache_pages = (int)parse_num(argi, name, v, 0, KVFREE_CACHE_PAGES_MAX);
		} else if (!strcmp(name, "--drain-ms")) {
			opts.drain_ms = (int)parse_num(argi, name, v, 0, 60000);
		} else if (!strcmp(name, "--watchdog")) {
			opts.watchdog_s = (unsigned int)parse_num(argi, name, v, 1, 3600);
		} else if (!strcmp(name, "--env-fault")) {
			if (strcmp(v, "gp-early"))
				bad_option(argi, "unknown --env-fault '%s' (gp-early)", v);
			opts.gp_early = true;
		} else if (!strcmp(name, "--expect-violation")) {
			if (!check_inv_parse(v, &opts.expect))
				bad_option(argi, "unknown invariant ID '%s'", v);
			opts.expect_set = true;
		} else {
			bad_option(argi, "unknown option '%s'", name);
		}
	}
}

static void build_repro(void)
{
	size_t n;

	n = (size_t)snprintf(repro, sizeof(repro),
			     "%s --scenario %s --cpus %d --duration %u --seed %" PRIu64 " --policy %s",
			     prog, opts.scenario, opts.cpus, opts.duration_s, opts.seed,
			     kvfree_policy_name(opts.policy));
#define APPEND(...)                                                                  \
	do {                                                                         \
		if (n < sizeof(repro))                                               \
			n += (size_t)snprintf(repro + n, sizeof(repro) - n, __VA_ARGS__); \
	} while (0)
	if (opts.report_dir)
		APPEND(" --report %s", opts.report_dir);
	APPEND(" --irq-rate %u --nmi-rate %u --threads %u --fault-ppm %u --watchdog %u",
	       opts.irq_rate, opts.nmi_rate, opts.users, opts.fault_ppm, opts.watchdog_s);
	if (opts.page_entries)
		APPEND(" --page-entries %u", opts.page_entries);
	if (opts.cache_pages >= 0)
		APPEND(" --cache-pages %d", opts.cache_pages);
	if (opts.drain_ms >= 0)
		APPEND(" --drain-ms %d", opts.drain_ms);
	if (!opts.chaos)
		APPEND(" --no-chaos");
	if (opts.gp_early)
		APPEND(" --env-fault gp-early");
	if (opts.expect_set)
		APPEND(" --expect-violation %s", check_inv_name(opts.expect));
#undef APPEND
}

/* ---------------------------------------------------------------------------
 * The run
 */

int kvt_stress_main(int argc, char **argv)
{
	struct posix_env_config ecfg;
	struct kvfree_rcu_config kcfg;
	struct kvt_flood_config fcfg;
	const char *why = NULL;
	pthread_t wd;
	uint64_t end_ns, next_ns;
	int exit_code = 0;

	if (argc > 0 && argv[0]) {
		const char *base = strrchr(argv[0], '/');

		base = base ? base + 1 : argv[0];
		prog = !strcmp(base, "stress") ? "kvtorture stress" : argv[0];
	}
	parse_options(argc, argv);
	build_repro();
	printf("kvtorture stress: seed %" PRIu64 "\n", opts.seed);
	if ((opts.mask & (1u << KVT_SC_BUG_MALLOC_LOCKED)) && !posix_interpose_enabled()) {
		printf("skip: bug-malloc-locked needs the malloc interposer (not in sanitizer builds)\n");
		return 77;
	}
	printf("command: %s\n", repro);
	fflush(stdout);

	if (opts.report_dir && mkdir(opts.report_dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create report directory %s: %s\n", prog,
			opts.report_dir, strerror(errno));
		return 99;
	}

	kvfree_rcu_config_default(&kcfg);
	kcfg.policy = opts.policy;
	kcfg.nr_cpus = (unsigned int)opts.cpus;
	if (opts.page_entries)
		kcfg.page_entries = opts.page_entries;
	if (opts.cache_pages >= 0)
		kcfg.cache_pages = (unsigned int)opts.cache_pages;
	if (opts.drain_ms >= 0)
		kcfg.drain_delay_ns = (uint64_t)opts.drain_ms * 1000 * 1000;
	if (!kvfree_rcu_config_valid(&kcfg, &why)) {
		fprintf(stderr, "%s: invalid configuration: %s\n", prog, why ? why : "?");
		return 2;
	}

	kvt_flood_config_default(&fcfg);
	fcfg.nr_cpus = opts.cpus;
	fcfg.mask = opts.mask;
	fcfg.users_per_cpu = opts.users;
	fcfg.irq_rate = opts.irq_rate;
	fcfg.nmi_rate = opts.nmi_rate;
	fcfg.fault_ppm = opts.fault_ppm;
	fcfg.chaos = opts.chaos;

	check_set_capacity((size_t)fcfg.max_outstanding * 4 + 65536);
	check_reset();
	check_set_mode(CHECK_ABORT);
	check_set_repro(repro);
	check_set_abort_hook(abort_hook);

	posix_env_config_default(&ecfg);
	ecfg.nr_cpus = opts.cpus;
	ecfg.seed = opts.seed;
	ecfg.gp_early = opts.gp_early;
	if (opts.chaos) {
		ecfg.chaos.yield_ppm = 2000;
		ecfg.chaos.spin_ppm = 1000;
		ecfg.chaos.sleep_ppm = 300;
		ecfg.chaos.migrate_ppm = 3000;
	}
	if (opts.mask & (1u << KVT_SC_IRQ))
		ecfg.chaos.irq_inject_ppm = 2000;
	if (opts.mask & (1u << KVT_SC_NMI))
		ecfg.chaos.nmi_inject_ppm = 300;
	posix_env_start(&ecfg);
	if (!kvfree_rcu_init(&kcfg)) {
		fprintf(stderr, "%s: kvfree_rcu_init failed\n", prog);
		return 99;
	}

	end_ns = kenv_clock_ns() + (uint64_t)opts.duration_s * 1000000000ull;
	run_deadline_ns = end_ns + (uint64_t)opts.watchdog_s * 1000000000ull;
	atomic_store(&phase, PHASE_RUN);
	posix_thread_create(&wd, "watchdog", POSIX_ROLE_ENV, 0, watchdog_main, NULL);
	kvt_flood_start(&fcfg);

	next_ns = kenv_clock_ns() + 1000000000ull;
	while (kenv_clock_ns() < end_ns) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)SAMPLE_NS };

		nanosleep(&ts, NULL);
		take_sample();
		if (kenv_clock_ns() >= next_ns) {
			print_progress();
			next_ns += 1000000000ull;
		}
	}

	/* Quiesce: stop the flood, drain the slots, and wait for every free. */
	atomic_store(&phase, PHASE_QUIESCE);
	kvt_flood_stop();
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	take_sample();
	check_accounting();
	if (!check_final())
		exit_code = 1;
	for (int cpu = 0; cpu < opts.cpus; cpu++)
		kvfree_rcu_snapshot(cpu, &final_stats[cpu]);
	have_final = true;
	kvfree_rcu_exit();
	atomic_store(&phase, PHASE_DONE);
	atomic_store(&watchdog_stop, true);
	pthread_join(wd, NULL);
	posix_env_stop();

	if (!exit_code && opts.expect_set) {
		fprintf(stderr, "%s: the expected violation %s was NOT caught\n", prog,
			check_inv_name(opts.expect));
		exit_code = 1;
	}
	print_summary();
	build_report_json(&json_out, exit_code ? "fail" : "pass", exit_code, NULL, NULL);
	if (!write_atomic("report.json", &json_out))
		fprintf(stderr, "%s: cannot write %s/report.json\n", prog, opts.report_dir);
	write_timeseries();
	write_plots();
	if (opts.report_dir)
		printf("report: %s/report.json\n", opts.report_dir);
	printf("kvtorture stress: %s (seed %" PRIu64 ")\n", exit_code ? "FAIL" : "PASS", opts.seed);
	return exit_code;
}
