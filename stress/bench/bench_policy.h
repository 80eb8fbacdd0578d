/* SPDX-License-Identifier: MIT */
/*
 * bench_policy.h - `kvbench policies`: the three refill policies under each
 * flooding scenario.
 *
 * For every scenario (syscall, kthread, softirq, irq, pressure) and policy
 * (kernel, watermark, nolocks), runs the stress runner (build/kvstress,
 * the checked posix environment with its flooders) for a few seconds, reads
 * its report.json and compares: the fraction of calls that took a fallback
 * (the rcu_head list, or an inline synchronize for headless calls), the
 * storage pages allocated (refill, direct and pool), the peak of pending
 * objects and of storage pages, and reclaim latency.  Writes a table,
 * DIR/policies.json and a gnuplot plot.  With --baseline FILE it compares
 * the figures with a committed baseline and flags regressions; with
 * --write-baseline FILE it writes one from its repetitions
 * (bench_baseline.h).
 */
#ifndef KVTORTURE_BENCH_POLICY_H
#define KVTORTURE_BENCH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What one report.json says, summed over CPUs. */
struct bench_stress_summary {
	bool passed;			/* "status": "pass" */
	uint64_t calls;
	uint64_t fallback_list, fallback_sync;
	uint64_t refill_pages, direct_allocs, pool_allocs;
	uint64_t peak_pending;		/* sum of the per-CPU peaks */
	uint64_t peak_pages;		/* sum of the per-CPU peaks of storage pages */
	uint64_t env_pages_peak;	/* the environment's peak of pages in use */
	uint64_t reclaim_p50, reclaim_p99;	/* ns, the worst CPU's */
	uint64_t gps;
	uint64_t refill_runs;		/* refill worker / softirq runs */
	double flood_s;			/* the time it flooded ("flood_s"; 0 if absent) */
};

struct json_object;
/*
 * Parse @text as one JSON value with json-c; NULL with a one-line message in
 * @err naming @name and the line and column (truncated, malformed, or text
 * after the value).  The caller puts the object.  Context: any.
 */
struct json_object *bench_json_parse(const char *text, const char *name, char *err,
				     size_t errlen);

/*
 * Parse the text of a stress report.json into @s, with json-c: any layout
 * of the same JSON reads the same.  @name names the text in messages (the
 * file's path).  Returns false, with a one-line message in @err naming
 * @name, when the text is not JSON (with the line and column where json-c
 * stopped: truncated, malformed, or text after the value) or lacks the
 * status, the per-CPU array or a per-CPU key; a missing key is never read as
 * zero.  Context: any.
 */
bool bench_parse_stress_report(const char *json, const char *name,
			       struct bench_stress_summary *s, char *err, size_t errlen);

/*
 * `kvbench policies ...` (argv[0] is "policies"); returns the exit code: 0,
 * 1 when a stress run failed, 2 for bad usage or a report.json or baseline
 * that cannot be read (the message names the file and line), 4
 * (KVBENCH_EXIT_REGRESSION, bench_baseline.h) when with --baseline a figure
 * regressed and no run failed, 99 for a set-up error.
 */
int bench_policies_main(int argc, char **argv);

#endif /* KVTORTURE_BENCH_POLICY_H */
