/* SPDX-License-Identifier: MIT */
/*
 * bench_baseline.h - the policy regression baseline of `kvbench policies`.
 *
 * A refill policy that stops doing its job (stops noticing a high call
 * rate, refills too late) breaks no invariant: what changes is how often
 * calls fall back, how often the refill is raised, how fast calls go and how
 * many storage pages it holds.  The baseline keeps those four figures per
 * scenario and policy, each as the median of repeated runs and a noise band
 * derived from their spread; a later run is compared against it, figure by
 * figure, and a figure outside its band on the worse side is a regression
 * (refill raises either way: the policy's refill behaviour changed).
 *
 * The band of a figure over repetitions v[0..n-1] is the observed range
 * widened by its own ratio on each side: [min / k, max * k] with
 * k = max(max / min, 1.5) (2 for calls per second, which the machine's
 * other load alone moves that much), values below the figure's floor (near zero:
 * 0.05 % of calls falling back, 3 refills, 4 pages) counted as the floor,
 * and a minimum below the floor letting the band start at 0.  On a machine
 * shared with other work the noise is a factor (load slows or speeds a run
 * as a whole), hence a ratio, not a difference; what a broken policy
 * changes, it changes by a larger one.  Nothing here is a time asserted by
 * a test: the baseline is data, the comparison a report (exit code
 * KVBENCH_EXIT_REGRESSION).
 */
#ifndef KVTORTURE_BENCH_BASELINE_H
#define KVTORTURE_BENCH_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bench_policy.h"

/* kvbench policies --baseline: some figure regressed (and no run failed). */
#define KVBENCH_EXIT_REGRESSION 4

enum bench_figure {
	FIG_FALLBACK_PCT,	/* calls that took a fallback, % */
	FIG_REFILL_RAISES,	/* refill runs: each a raise of the refill */
	FIG_CALLS_PER_S,	/* kvfree_rcu() calls per second of flood */
	FIG_PEAK_PAGES,		/* storage pages at their peak, summed over CPUs */
	FIG_NR
};

struct bench_band {
	double median, lo, hi;
};

#define BENCH_BASELINE_MAX 64
#define BENCH_BASELINE_MAX_REPS 8

struct bench_baseline_entry {
	char scenario[32];
	char policy[16];
	struct bench_band band[FIG_NR];
	/* The repetitions' values the band came from (written, not read back). */
	double values[FIG_NR][BENCH_BASELINE_MAX_REPS];
};

struct bench_baseline {
	int cpus;			/* the stress runs' --cpus, --duration, --page-entries */
	unsigned int seconds;
	unsigned int page_entries;	/* 0: the implementation's default */
	int reps;			/* the repetitions the bands come from */
	int nr;
	struct bench_baseline_entry e[BENCH_BASELINE_MAX];
};

enum bench_verdict {
	VERDICT_IN_BAND,
	VERDICT_REGRESSED,	/* outside the band, on the worse side */
	VERDICT_IMPROVED,	/* outside the band, on the better side */
};

/* "fallback_pct", "refill_raises", "calls_per_s", "peak_pages". */
const char *bench_figure_name(enum bench_figure f);
/* @f of one run's summary. */
double bench_figure_value(const struct bench_stress_summary *s, enum bench_figure f);
/* The band of @f over @n >= 1 values (see above). */
struct bench_band bench_band_of(enum bench_figure f, const double *v, int n);
/* Where @v stands against @b for figure @f. */
enum bench_verdict bench_band_judge(enum bench_figure f, const struct bench_band *b, double v);
/* @b's entry for @scenario and @policy, or NULL. */
const struct bench_baseline_entry *bench_baseline_find(const struct bench_baseline *b,
							 const char *scenario, const char *policy);

/*
 * Parse the text of a baseline file (bench_baseline_write()'s layout, any
 * spacing) into @b.  @name names the text in messages.  False, with a
 * one-line message in @err naming @name (and the line and column where the
 * JSON is malformed), when it is not JSON or lacks a key; a missing key is
 * never read as zero.  Context: any.
 */
bool bench_baseline_parse(const char *json, const char *name, struct bench_baseline *b,
			  char *err, size_t errlen);
/* @b as JSON to @f, with when it was made (@started) and this machine (bench_machine_json()). */
void bench_baseline_write(FILE *f, const struct bench_baseline *b, const char *started);

/* Format an error message into @err (@len bytes). */
void __attribute__((format(printf, 3, 4))) bench_set_err(char *err, size_t len,
							 const char *fmt, ...);

#endif /* KVTORTURE_BENCH_BASELINE_H */
