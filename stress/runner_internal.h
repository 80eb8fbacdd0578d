/* SPDX-License-Identifier: MIT */
/*
 * runner_internal.h - what the stress runner's files share; not an API
 * (stress.h is).  One concern per file:
 *
 *   runner.c           kvt_stress_main(): the run, step by step, one policy
 *                      phase after another
 *   runner_options.c   the options, the help text, the reproducing command
 *   runner_checkpoint.c  in-run checks: checkpoints (the world stopped for
 *                      the checker's mid-run checks) and the online PROGRESS
 *                      monitor between them
 *   runner_sampling.c  samples every 100 ms, peaks, the progress line, the
 *                      final per-CPU snapshot
 *   runner_report.c    report.json, timeseries.csv, the plots, the summary table
 *   runner_output.c    output without allocation: static buffers, atomic files
 *   runner_watchdog.c  how a failing run ends: the watchdog and its hang dump,
 *                      the checker's abort hook for a violation
 *
 * The options and the reproducing command are set once by the main thread
 * before any other thread starts, and only read afterwards.
 */
#ifndef KVTORTURE_RUNNER_INTERNAL_H
#define KVTORTURE_RUNNER_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "flood.h"
#include "kvfree_rcu.h"
#include "posix_env.h"

/* ---- runner_options.c --------------------------------------------------- */

struct stress_opts {
	unsigned int mask;
	const char *scenario;
	int cpus;
	unsigned int duration_s;
	uint64_t seed;
	/*
	 * The policies run, one phase each, in this order, the duration split
	 * evenly between them: one policy, or all three ("all", the default of
	 * --scenario all).
	 */
	enum kvfree_policy policies[KVFREE_POLICY_NR];
	int nr_policies;
	const char *policy_name;	/* as given: a policy's name or "all" */
	const char *report_dir;
	unsigned int irq_rate, nmi_rate, users, fault_ppm;
	unsigned int page_entries;	/* 0: the implementation's default */
	int cache_pages;		/* -1: default */
	int drain_ms;			/* -1: default */
	unsigned int watchdog_s;
	unsigned int checkpoint_ms;	/* between checkpoints; 0: none */
	unsigned int duty_percent;	/* 100: no quiet stretches */
	bool duty_set;			/* --duty-cycle given (else idle's default) */
	int quiet_ms;			/* -1: the drain delay + 2 s */
	unsigned int barrier_threads, barrier_rate;
	bool check_unlock;		/* structural checks at every krc unlock */
	bool chaos;
	bool gp_early;
	unsigned int free_cost_us;	/* every object free spins this long */
	bool quiet;
	bool plots;
	bool expect_set;
	enum check_inv expect;
};

extern struct stress_opts runner_opts;
/* How the runner names itself in messages: "kvtorture stress" or its argv[0]. */
extern const char *runner_prog;
/* The command line that re-runs this run: every option, the seed included. */
extern char runner_repro[2048];

/*
 * Set runner_prog from @argv[0], runner_opts from @argv and runner_repro
 * from them; exits 0 after --help or --list-scenarios, 2 on bad usage.
 */
void runner_parse_options(int argc, char **argv);

/* ---- phases --------------------------------------------------------------- */

/*
 * In-run checks of one phase (runner_checkpoint.c); atomic, since a
 * violation's report reads them from any thread.
 */
struct checkpoint_figures {
	_Atomic(uint64_t) count;		/* checkpoints done */
	_Atomic(uint64_t) drains;		/* ... of which drain checkpoints */
	/* ... whose slow flooders had not parked within SLOW_PATIENCE_NS. */
	_Atomic(uint64_t) slow_late;
	/* Waiting, the flood going on: barriers, hotplug, kworkers finishing. */
	_Atomic(uint64_t) wait_ns_sum, wait_ns_max;
	/* The flood standing still: flooders pausing, softirqs, checks, resume. */
	_Atomic(uint64_t) stop_ns_sum, stop_ns_max;
	_Atomic(uint64_t) checked_ns_sum, checked_ns_max;	/* ... of which checking */
};

/*
 * One policy's part of the run: written by the main thread as the phase
 * goes, read by reports at any time (racy while it runs; a violation report
 * may read it from wherever the run stopped).
 */
struct runner_phase {
	enum kvfree_policy policy;
	uint64_t start_ns, end_ns;		/* its flood; end 0 while it runs */
	_Atomic(bool) done;			/* quiesced: final holds its counters */
	struct kvfree_rcu_cpu_stats final[KENV_NR_CPUS_MAX];
	struct posix_env_stats es;		/* the environment's, at its end */
	struct kvt_flood_stats fs_begin, fs_end;	/* the flooders', cumulative */
	struct kvt_quiet_stats quiet[KENV_NR_CPUS_MAX];
	_Atomic(uint64_t) peak_pending[KENV_NR_CPUS_MAX], peak_pages[KENV_NR_CPUS_MAX];
	struct checkpoint_figures cp;
	struct check_progress_watch watch;
	_Atomic(uint64_t) quiet_observations;	/* watch observations of quiet CPUs */
	/* The duty cycles it ran with (struct kvt_flood_config). */
	unsigned int duty_percent;
	uint64_t duty_cpus, quiet_ns;
};

extern struct runner_phase runner_phases[KVFREE_POLICY_NR];
/* Phases begun; the current one is runner_nr_phases - 1. */
extern _Atomic(int) runner_nr_phases;

/* ---- runner_checkpoint.c ---------------------------------------------------- */

/*
 * Prepare the in-run checks of the phase that starts: the PROGRESS
 * monitor's bound from @kcfg and @fcfg (the drain delay, grace periods as
 * long as the longest read-side section, and a second of slack) and the
 * checkpoints' schedule from @start_ns.  Context: the main thread, after
 * kvfree_rcu_init(), before the flood starts.
 */
void runner_checks_begin(struct runner_phase *ph, const struct kvfree_rcu_config *kcfg,
			 const struct kvt_flood_config *fcfg, uint64_t start_ns);
/*
 * Between samples of the flood at @now_ns: one observation of the PROGRESS
 * monitor, and a checkpoint when one is due.  Context: the main thread.
 */
void runner_checks_tick(struct runner_phase *ph, uint64_t now_ns);
/*
 * The flood's last moment: a checkpoint if checkpoints are on and none was
 * due yet (a phase shorter than --checkpoint-ms, or one whose main thread a
 * loaded machine kept from its ticks), a drain checkpoint if the phase
 * floods with pressure and none was due yet.  Context: the main thread,
 * before the flood stops.
 */
void runner_checks_end(struct runner_phase *ph);

/* ---- runner_sampling.c -------------------------------------------------- */

#define RUNNER_MAX_SAMPLES 40000
#define RUNNER_SAMPLE_NS (100ull * 1000 * 1000)

struct sample {
	uint64_t t_ns;
	int phase;
	uint64_t calls, pending, in_flight, cached, bulk, fallback_list, fallback_sync;
	uint64_t gps, irqs, nmi_refused, violations, pages_in_use;
};

/*
 * Take a sample of every CPU's counters (racy snapshots) and raise the
 * peaks.  Context: the main thread (the only writer of samples).
 */
void runner_take_sample(void);
/* The progress line from the last sample, unless --quiet.  Context: the main thread. */
void runner_print_progress(void);
/*
 * The samples taken so far: @n of them.  Context: any; a sample is complete
 * before it is counted.
 */
const struct sample *runner_samples(int *n);
/* The highest pending + in-flight objects and storage pages seen on @cpu, over every phase. */
uint64_t runner_peak_pending(int cpu);
uint64_t runner_peak_pages(int cpu);
/* Every violation counted so far, over all invariants. */
uint64_t runner_total_violations(void);
/*
 * Keep every CPU's final counters in the current phase (exact: the run is
 * quiesced).  Context: the main thread, before kvfree_rcu_exit().
 */
void runner_take_final(void);
/*
 * @cpu's counters over the run: the sum of the phases done and, while a
 * phase runs, a racy snapshot of it.  False if there is nothing to read.
 */
bool runner_cpu_stats(int cpu, struct kvfree_rcu_cpu_stats *st);
/* @ph's counters of @cpu: final when done, else a racy snapshot. */
bool runner_phase_cpu_stats(const struct runner_phase *ph, int cpu,
			    struct kvfree_rcu_cpu_stats *st);
/* The environment's counters over the run (the phases done plus the one running). */
void runner_env_stats(struct posix_env_stats *es);

/* ---- runner_report.c ---------------------------------------------------- */

/*
 * Write DIR/report.json: @status ("pass", "fail", "violation",
 * "expected-violation", "hang") and @exit_code, with the violation @inv and
 * its @report when there is one (else NULL).  No allocation, no lock: the
 * abort hook and the watchdog call it in whatever state the run is.  True if
 * written (or no --report).
 */
bool runner_write_report_json(const char *status, int exit_code, const char *inv,
			      const char *report);
/* DIR/timeseries.csv and, with gnuplot and unless --no-plots, the plots. */
void runner_write_timeseries(void);
void runner_write_plots(void);
/* The per-CPU summary table on stdout.  Context: after runner_take_final(). */
void runner_print_summary(void);

/* ---- runner_output.c ---------------------------------------------------- */

/*
 * Output without allocation: text formatted into a static buffer, then
 * written with write(2).  A buffer that fills up drops the rest (overflow).
 */
struct outbuf {
	char buf[1 << 20];
	size_t len;
	bool overflow;
};

void outbuf_reset(struct outbuf *o);
void outbuf_add(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* @s as a JSON string, quotes included. */
void outbuf_add_json_string(struct outbuf *o, const char *s);
/* All of @o to @fd (posix_write_all()). */
void outbuf_write_fd(int fd, const struct outbuf *o);
/*
 * Write @o to DIR/@name through DIR/.@name.tmp and a rename: readers see
 * all or nothing.  True if written, or if there is no --report folder.
 */
bool outbuf_write_atomic(const char *name, const struct outbuf *o);
/*
 * A report file written in place of REPORT_DIR/NAME whole or not at all:
 * open gives the descriptor of a temporary beside it (-1 without --report
 * or on error), commit syncs, closes and renames it over NAME, or, when
 * the sync or the close failed, removes it and leaves NAME as it was.
 */
int report_file_open(const char *name);
bool report_file_commit(const char *name, int fd);

/* ---- runner_watchdog.c -------------------------------------------------- */

enum run_phase { PHASE_SETUP, PHASE_RUN, PHASE_CHECKPOINT, PHASE_QUIESCE, PHASE_DONE };
/*
 * Set by the main thread; the watchdog watches for progress only in
 * PHASE_RUN (a checkpoint stops the flooders on purpose, and bounds its own
 * waits by the frees: kvt_flood_wait()).
 */
extern _Atomic(int) runner_phase;
/* "setup", "flood", "checkpoint", "quiesce", "done". */
const char *runner_phase_name(int phase);

/*
 * The checker's abort hook (check_set_abort_hook): writes violation.txt
 * and report.json, tells stderr how to reproduce, and exits 0 if the
 * violation was the one --expect-violation asked for.  Context: any, where
 * the violation was found; allocates nothing.
 */
void runner_abort_hook(enum check_inv inv, const char *report);
/*
 * Start the watchdog thread: it ends the process with KVT_EXIT_HANG after
 * dumping every thread and krc, when nothing progresses for --watchdog
 * seconds, a thread stays atomic that long, or the clock passes
 * @deadline_ns with nothing freed for --watchdog seconds (or passes it by
 * a minute or 3 x --watchdog, freeing or not).  Pairs with runner_watchdog_stop().
 * Context: the main thread.
 */
void runner_watchdog_start(uint64_t deadline_ns);
void runner_watchdog_stop(void);
/*
 * End the run as a hang: dump every thread and krc to stderr and
 * DIR/hang.txt, write report.json, exit with KVT_EXIT_HANG.  Context: any
 * thread; allocates nothing.
 */
_Noreturn void runner_hang(const char *why);

#endif /* KVTORTURE_RUNNER_INTERNAL_H */
