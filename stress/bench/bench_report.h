/* SPDX-License-Identifier: MIT */
/*
 * bench_report.h - summaries of repeated runs, and the table, JSON and
 * gnuplot output of kvbench.
 *
 * A row is one configuration (method, context, callers, reclaim, policy) run
 * several times; every metric is reported as min / median / max over the
 * repetitions.  Ratios against call_rcu and against free are taken pair by
 * pair (repetition i of the row against repetition i of the baseline with
 * the same context and callers, run right before it), then summarised.
 */
#ifndef KVTORTURE_BENCH_REPORT_H
#define KVTORTURE_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bench_run.h"

#define BENCH_MAX_REPS 32

enum bench_metric {
	MET_CPU_PER_OBJ,	/* ns of process CPU per object, reclaim included */
	MET_WALL_PER_OBJ,	/* ns of wall time per object, drain included */
	MET_MOPS,		/* million objects released per second by all callers */
	MET_CALL_P50,
	MET_CALL_P99,
	MET_RECLAIM_P50,
	MET_RECLAIM_P99,
	MET_PEAK_KIB,		/* pending objects' chunks plus storage pages */
	MET_PEAK_PENDING,
	MET_PAGES,		/* storage pages allocated */
	MET_FALLBACK_PCT,	/* calls that took the list or inline synchronize */
	MET_GPS,
	MET_NR
};

struct bench_row {
	struct bench_run_config cfg;
	int reps;
	struct bench_run_result res[BENCH_MAX_REPS];
};

struct bench_stat3 {
	double min, median, max;
};

/* The metric's JSON key ("cpu_ns_per_obj", ...). */
const char *bench_metric_name(enum bench_metric m);
double bench_metric(const struct bench_run_result *r, enum bench_metric m);
struct bench_stat3 bench_row_stat(const struct bench_row *row, enum bench_metric m);
/* Min, median and max of @v[0..@n) (sorted in place); zeros when @n is 0. */
struct bench_stat3 bench_stat3_of(double *v, int n);
/*
 * Pairwise ratio of CPU per object of @row over @base, summarised; false when
 * the rows have no repetition in common.
 */
bool bench_row_ratio(const struct bench_row *row, const struct bench_row *base,
		     struct bench_stat3 *out);

/* "kvfree_rcu/irq/2/inline/watermark": a row's name for tables and plots. */
void bench_row_label(const struct bench_row *row, char *buf, size_t len);

/* Everything kvbench prints and writes, for one matrix of rows. */
struct bench_report {
	const struct bench_row *rows;
	int nr_rows;
	const char *command;		/* the command line that produced it */
	const char *started;		/* ISO 8601 UTC */
	uint64_t duration_ns;
};

/* The baseline row for @row's ratios (same context and callers), or NULL. */
const struct bench_row *bench_find_base(const struct bench_report *rep,
					const struct bench_row *row, enum bench_method base);

void bench_print_table(FILE *f, const struct bench_report *rep);
void bench_write_json(FILE *f, const struct bench_report *rep);
/*
 * Write DIR/methods.dat and DIR/methods.gp (CPU per object by method and
 * callers, reclaim latency, peak memory) for gnuplot.  Returns false on an
 * I/O error.
 */
bool bench_write_plots(const char *dir, const struct bench_report *rep);

/*
 * Run `gnuplot @script` inside @dir (where the script's data files are) when
 * gnuplot is installed; prints the PNGs written, or why not.  Context: the
 * main thread (waits for the child).  Returns whether gnuplot succeeded.
 */
bool bench_run_gnuplot(const char *dir, const char *script);

/* Machine description for reports: CPU model, cores, kernel, compiler, glibc. */
void bench_machine_json(FILE *f, const char *indent);
void bench_machine_text(FILE *f);

#endif /* KVTORTURE_BENCH_REPORT_H */
