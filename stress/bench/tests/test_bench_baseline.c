// SPDX-License-Identifier: MIT
/*
 * test_bench_baseline.c - the policy regression baseline (bench_baseline.h):
 * the figures read from a run's summary, the bands derived from
 * repetitions, the verdicts (a regression only outside the band on the
 * worse side; refill raises either way), and the baseline file's reader
 * (written and read back; malformed or incomplete files refused naming the
 * file).  TAP output; no time is measured or asserted: the inputs are made
 * up.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_baseline.h"
#include "tap.h"

static void near(double got, double want, const char *what)
{
	if (!tap_ok(fabs(got - want) <= 1e-9 * fmax(1, fabs(want)), "%s", what))
		tap_diag("got %.12g, want %.12g", got, want);
}

static void test_figures(void)
{
	struct bench_stress_summary s = { .calls = 2000, .fallback_list = 30, .fallback_sync = 10,
					  .refill_runs = 77, .peak_pages = 41, .flood_s = 4 };

	near(bench_figure_value(&s, FIG_FALLBACK_PCT), 2.0, "fallback_pct: list and sync over calls");
	near(bench_figure_value(&s, FIG_REFILL_RAISES), 77, "refill_raises: refill runs");
	near(bench_figure_value(&s, FIG_CALLS_PER_S), 500, "calls_per_s: calls over flood seconds");
	near(bench_figure_value(&s, FIG_PEAK_PAGES), 41, "peak_pages");
	s.calls = 0;
	s.flood_s = 0;
	near(bench_figure_value(&s, FIG_FALLBACK_PCT), 0, "no calls: no fallback share");
	near(bench_figure_value(&s, FIG_CALLS_PER_S), 0, "no flood time: no rate");
	tap_ok(!strcmp(bench_figure_name(FIG_CALLS_PER_S), "calls_per_s") &&
	       bench_figure_name(FIG_NR) == NULL, "figure names");
}

static void test_bands(void)
{
	const double calls[5] = { 300000, 320000, 310000, 340000, 330000 };
	const double fb[3] = { 0.010, 0.2, 0.011 };
	const double raises[4] = { 100, 400, 120, 130 };
	struct bench_band b;

	/* A ratio of 340/300 = 1.13: the least factor, 2 for the call rate, widens it. */
	b = bench_band_of(FIG_CALLS_PER_S, calls, 5);
	near(b.median, 320000, "calls_per_s band: the median");
	near(b.lo, 300000 / 2.0, "calls_per_s band: min over the least factor");
	near(b.hi, 340000 * 2.0, "calls_per_s band: max times the least factor");
	/* A minimum below the floor: the band starts at 0; the ratio is to the floor. */
	b = bench_band_of(FIG_FALLBACK_PCT, fb, 3);
	near(b.median, 0.011, "fallback_pct band: the median");
	near(b.lo, 0, "fallback_pct band: a minimum below the floor starts it at 0");
	near(b.hi, 0.2 * (0.2 / 0.05), "fallback_pct band: max times max over the floor");
	/* A spread larger than the least factor widens by the spread itself. */
	b = bench_band_of(FIG_REFILL_RAISES, raises, 4);
	near(b.median, 125, "refill_raises band: the median of an even count");
	near(b.lo, 100.0 / 4, "refill_raises band: min over the ratio max / min");
	near(b.hi, 400.0 * 4, "refill_raises band: max times the ratio");
	b = bench_band_of(FIG_PEAK_PAGES, (const double[]){ 40 }, 1);
	tap_ok(b.lo > 26.6 && b.lo < 26.7 && b.hi == 60, "one repetition: the least factor alone");
}

static void test_verdicts(void)
{
	const struct bench_band b = { .median = 10, .lo = 5, .hi = 15 };

	tap_ok(bench_band_judge(FIG_FALLBACK_PCT, &b, 15) == VERDICT_IN_BAND, "at the edge: in band");
	tap_ok(bench_band_judge(FIG_FALLBACK_PCT, &b, 16) == VERDICT_REGRESSED,
	       "fallback_pct above the band: regressed");
	tap_ok(bench_band_judge(FIG_FALLBACK_PCT, &b, 4) == VERDICT_IMPROVED,
	       "fallback_pct below the band: improved, not flagged");
	tap_ok(bench_band_judge(FIG_CALLS_PER_S, &b, 4) == VERDICT_REGRESSED,
	       "calls_per_s below the band: regressed");
	tap_ok(bench_band_judge(FIG_CALLS_PER_S, &b, 16) == VERDICT_IMPROVED,
	       "calls_per_s above the band: improved");
	tap_ok(bench_band_judge(FIG_PEAK_PAGES, &b, 16) == VERDICT_REGRESSED,
	       "peak_pages above the band: regressed");
	tap_ok(bench_band_judge(FIG_REFILL_RAISES, &b, 4) == VERDICT_REGRESSED &&
	       bench_band_judge(FIG_REFILL_RAISES, &b, 16) == VERDICT_REGRESSED,
	       "refill_raises outside the band either way: regressed");
	tap_ok(bench_band_judge(FIG_REFILL_RAISES, &(struct bench_band){ .lo = 2.5, .hi = 9 }, 1) ==
	       VERDICT_IN_BAND, "a value below the floor (3 refills) counts as the floor");
}

/* Write @b, read it back into @out. */
static bool round_trip(const struct bench_baseline *b, struct bench_baseline *out, char *err,
		       size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool ok;

	bench_baseline_write(f, b, "2026-01-01T00:00:00Z");
	fclose(f);
	ok = bench_baseline_parse(text, "written.json", out, err, errlen);
	free(text);
	return ok;
}

static void test_file(void)
{
	static struct bench_baseline b, r;
	char err[512];
	bool ok;

	memset(&b, 0, sizeof(b));
	b.cpus = 2;
	b.seconds = 3;
	b.page_entries = 32;
	b.reps = 5;
	b.nr = 2;
	snprintf(b.e[0].scenario, sizeof(b.e[0].scenario), "syscall");
	snprintf(b.e[0].policy, sizeof(b.e[0].policy), "watermark");
	snprintf(b.e[1].scenario, sizeof(b.e[1].scenario), "pressure");
	snprintf(b.e[1].policy, sizeof(b.e[1].policy), "kernel");
	for (int k = 0; k < FIG_NR; k++)
		b.e[1].band[k] = (struct bench_band){ .median = k + 1.5, .lo = k, .hi = k + 3 };
	ok = round_trip(&b, &r, err, sizeof(err));
	if (!tap_ok(ok, "a written baseline reads back"))
		tap_diag("%s", err);
	tap_ok(r.cpus == 2 && r.seconds == 3 && r.page_entries == 32 && r.reps == 5 && r.nr == 2,
	       "its stress settings and entries");
	tap_ok(bench_baseline_find(&r, "pressure", "kernel") &&
	       bench_baseline_find(&r, "pressure", "kernel")->band[FIG_PEAK_PAGES].hi == FIG_PEAK_PAGES + 3,
	       "an entry's band by scenario and policy");
	tap_ok(!bench_baseline_find(&r, "pressure", "nolocks"), "a missing entry is not found");

	ok = bench_baseline_parse("{\"stress\": {\"cpus\": 2, \"seconds\": 3, \"page_entries\": 0, "
				  "\"reps\": 3}, \"entries\": [{\"scenario\": \"irq\", \"policy\": "
				  "\"kernel\", \"fallback_pct\": {\"median\": 1, \"lo\": 0}}]}",
				  "b.json", &r, err, sizeof(err));
	tap_ok(!ok && strstr(err, "b.json: entries[0] (irq kernel) has no number at /fallback_pct/hi"),
	       "a missing band key is refused, naming the file and key: %s", err);
	ok = bench_baseline_parse("{\"stress\": {\"cpus\": 2}, \"entries\": []}", "c.json", &r, err,
				  sizeof(err));
	tap_ok(!ok && strstr(err, "c.json: no \"stress\" object"),
	       "incomplete stress settings are refused: %s", err);
	ok = bench_baseline_parse("{\"stress\": {\"cpus\": 2,\n \"seconds\": ", "d.json", &r, err,
				  sizeof(err));
	tap_ok(!ok && strstr(err, "d.json:2:") && strstr(err, "truncated"),
	       "a truncated file is refused with its line: %s", err);
}

int main(void)
{
	test_figures();
	test_bands();
	test_verdicts();
	test_file();
	return tap_done();
}
