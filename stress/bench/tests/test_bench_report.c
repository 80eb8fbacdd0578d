// SPDX-License-Identifier: MIT
/*
 * test_bench_report.c - the arithmetic kvbench reports with: histogram
 * percentiles, repetition summaries and pairwise ratios, and the reader of
 * the stress runner's report.json (json-c: the real layout and any other
 * spacing of it accepted; truncated, malformed or incomplete reports refused
 * with the file, line and column).  TAP output; no time is measured or
 * asserted.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_obj.h"
#include "bench_policy.h"
#include "bench_report.h"
#include "tap.h"

static void ok(int cond, const char *what)
{
	tap_ok(cond, "%s", what);
}

static void eq_u64(uint64_t got, uint64_t want, const char *what)
{
	tap_eq_u64(got, want, what);
}

static void near(double got, double want, double tol, const char *what)
{
	if (!tap_ok(fabs(got - want) <= tol, "%s", what))
		printf("#   got %g, want %g +- %g\n", got, want, tol);
}

static void test_hist(void)
{
	static struct bench_hist h;

	memset(&h, 0, sizeof(h));
	eq_u64(bench_hist_percentile(&h, 50), 0, "empty histogram: percentile 0");
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_add(&h, v);
	eq_u64(h.n, 1000, "1000 samples counted");
	/* 16 sub-buckets per power of two: within 1/16 of the true value. */
	near((double)bench_hist_percentile(&h, 50), 500, 500.0 / 16, "median of 1..1000");
	near((double)bench_hist_percentile(&h, 99), 990, 990.0 / 16, "p99 of 1..1000");
	eq_u64(bench_hist_percentile(&h, 0.01), 1, "smallest sample exact below 16");
	bench_hist_add(&h, UINT64_MAX);
	ok(bench_hist_percentile(&h, 100) > (1ULL << 62), "the largest value lands in the last buckets");
}

static void test_summary(void)
{
	static struct bench_row row, base;
	struct bench_stat3 s, r;
	const double cpu[5] = { 30, 10, 50, 20, 40 };

	memset(&row, 0, sizeof(row));
	memset(&base, 0, sizeof(base));
	row.reps = base.reps = 5;
	for (int i = 0; i < 5; i++) {
		row.res[i].objects = base.res[i].objects = 1000;
		row.res[i].cpu_ns_per_obj = cpu[i];
		base.res[i].cpu_ns_per_obj = 10 * (i + 1);
	}
	s = bench_row_stat(&row, MET_CPU_PER_OBJ);
	near(s.min, 10, 1e-9, "min over repetitions");
	near(s.median, 30, 1e-9, "median over repetitions");
	near(s.max, 50, 1e-9, "max over repetitions");
	ok(bench_row_ratio(&row, &base, &r), "pairwise ratio computed");
	/* Pairs: 30/10 10/20 50/30 20/40 40/50 = 3, .5, 1.667, .5, .8 */
	near(r.median, 0.8, 1e-9, "ratio median is taken pair by pair, not of medians");
	near(r.min, 0.5, 1e-9, "ratio min");
	near(r.max, 3.0, 1e-9, "ratio max");
	row.res[0].objects = 0;
	s = bench_row_stat(&row, MET_CPU_PER_OBJ);
	near(s.max, 50, 1e-9, "a repetition without calls is left out (max)");
	near(s.median, 30, 1e-9, "a repetition without calls is left out (median of 10 20 40 50)");
	base.reps = 0;
	ok(!bench_row_ratio(&row, &base, &r), "no ratio without a common repetition");
}

static const char report_ok[] =
	"{\n  \"tool\": \"kvtorture stress\",\n  \"status\": \"pass\",\n  \"exit_code\": 0,\n"
	"  \"totals\": {\"gps\": 12, \"pages_peak\": 40, \"samples\": 2},\n"
	"  \"scenarios\": {\n    \"syscall\": {\"calls\": 999, \"headless\": 1}\n  },\n"
	"  \"per_cpu\": [\n"
	"    {\"cpu\": 0, \"calls\": 1000, \"calls_by_context\": {\"task\": 1000}, "
	"\"fallbacks\": {\"list\": 3, \"sync\": 1}, \"direct_allocs\": 2, \"pool_allocs\": 0, "
	"\"refills\": {\"runs\": 4, \"pages\": 7, \"failures\": 0}, \"watermark_raises\": 0, "
	"\"peak_pending\": 600, \"peak_pages\": 5, \"objs_freed\": 1000, "
	"\"reclaim_latency_ns\": {\"p50\": 2000, \"p90\": 3000, \"p99\": 8000, \"max\": 9000}},\n"
	"    {\"cpu\": 1, \"calls\": 500, \"calls_by_context\": {\"task\": 500}, "
	"\"fallbacks\": {\"list\": 0, \"sync\": 2}, \"direct_allocs\": 1, \"pool_allocs\": 3, "
	"\"refills\": {\"runs\": 1, \"pages\": 2, \"failures\": 1}, \"watermark_raises\": 0, "
	"\"peak_pending\": 100, \"peak_pages\": 2, \"objs_freed\": 500, "
	"\"reclaim_latency_ns\": {\"p50\": 4000, \"p90\": 5000, \"p99\": 6000, \"max\": 7000}}\n"
	"  ],\n  \"gps\": 12,\n  \"violations\": {\"total\": 0}\n}\n";

/* @text without its spaces and line breaks outside strings: the same JSON. */
static void compact(char *out, const char *text)
{
	bool in_string = false;

	for (; *text; text++) {
		if (*text == '"' && text[-1] != '\\')
			in_string = !in_string;
		if (in_string || (*text != ' ' && *text != '\n'))
			*out++ = *text;
	}
	*out = 0;
}

static void refused(const char *text, const char *what, const char *needle)
{
	struct bench_stress_summary s;
	char err[256] = "";
	bool parsed = bench_parse_stress_report(text, "r/report.json", &s, err, sizeof(err));

	ok(!parsed && strstr(err, "r/report.json") && strstr(err, needle), what);
	if (parsed || !strstr(err, needle))
		printf("#   message: %s (wanted \"%s\")\n", err, needle);
}

static void test_parser(void)
{
	struct bench_stress_summary s, c;
	char err[256] = "";
	char truncated[sizeof(report_ok)], flat[sizeof(report_ok)];

	ok(bench_parse_stress_report(report_ok, "report.json", &s, err, sizeof(err)),
	   "a stress report parses");
	ok(s.passed, "status pass read");
	eq_u64(s.calls, 1500, "calls summed over CPUs (not the scenario's)");
	eq_u64(s.fallback_list, 3, "list fallbacks summed");
	eq_u64(s.fallback_sync, 3, "sync fallbacks summed");
	eq_u64(s.refill_pages, 9, "refill pages summed (not refill runs)");
	eq_u64(s.direct_allocs, 3, "direct allocations summed");
	eq_u64(s.pool_allocs, 3, "pool allocations summed");
	eq_u64(s.peak_pending, 700, "per-CPU peaks of pending summed");
	eq_u64(s.peak_pages, 7, "per-CPU peaks of pages summed");
	eq_u64(s.env_pages_peak, 40, "the environment's page peak read from totals");
	eq_u64(s.reclaim_p50, 4000, "p50: the worst CPU's");
	eq_u64(s.reclaim_p99, 8000, "p99: the worst CPU's");
	eq_u64(s.gps, 12, "grace periods read");

	compact(flat, report_ok);
	ok(bench_parse_stress_report(flat, "flat.json", &c, err, sizeof(err)) &&
	   !memcmp(&c, &s, sizeof(s)), "the same report without spaces or line breaks reads the same");

	/* Cut inside the second CPU: the JSON ends inside a value. */
	memcpy(truncated, report_ok, sizeof(report_ok));
	*strstr(truncated, "\"peak_pending\": 100") = 0;
	refused(truncated, "a truncated report is refused, naming the file, line and column",
		"r/report.json:11:");
	refused(truncated, "and saying it is truncated", "truncated");
	/* The same cut, closed again: valid JSON, but CPU 1 lacks its keys. */
	strcat(truncated, "\"x\": 0}\n  ]\n}\n");
	refused(truncated, "a per-CPU entry missing keys is refused", "per_cpu[1] has no");
	refused("{\n  \"status\": \"pass\",\n  \"per_cpu\": [1,, 2]\n}\n",
		"malformed JSON is refused with the line of the error", "r/report.json:3:");
	refused("{\"status\": \"pass\", \"per_cpu\": []} trailing",
		"text after the report is refused", "text after the JSON value");
	refused("{\"status\": \"pass\"}", "a report without per_cpu is refused", "per_cpu");
	refused("", "an empty file is refused", "truncated");
}

static void test_names(void)
{
	enum bench_method m;
	enum posix_reclaim r;

	for (int i = 0; i < BM_NR; i++)
		ok(bench_method_parse(bench_method_name((enum bench_method)i), &m) && (int)m == i,
		   "method names round-trip");
	ok(!bench_method_parse("kfree", &m), "an unknown method is refused");
	ok(bench_reclaim_parse("inline", &r) && r == POSIX_RECLAIM_INLINE, "reclaim mode parses");
	ok(!bench_method_irq_ok(BM_HEADLESS) && !bench_method_irq_ok(BM_SYNC_FREE) &&
	   bench_method_irq_ok(BM_KVFREE), "only non-sleeping methods run in hardirq context");
}

int main(void)
{
	test_hist();
	test_summary();
	test_parser();
	test_names();
	return tap_done();
}
