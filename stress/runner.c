/* SPDX-License-Identifier: MIT */
/*
 * runner.c - kvt_stress_main(): the run, step by step (see stress.h).  A
 * run is one phase per policy (one, or the three in turn with --policy all),
 * the duration split evenly; each phase sets up (report folder, the
 * implementation's, the flooders' and the environment's configuration, the
 * checker), floods with a sample every 100 ms, the PROGRESS monitor and the
 * checkpoints in between (runner_checkpoint.c) and a progress line each
 * second, then quiesces and runs the checker's end-of-run checks.  The
 * report covers every phase.  The options, sampling, in-run checks, reports
 * and the watchdog are the other runner_*.c files (runner_internal.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "flood.h"
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "runner_internal.h"
#include "stress.h"

/* The implementation's configuration from the options; 2 (bad usage) if invalid. */
static int configure_kvfree(struct kvfree_rcu_config *kcfg, enum kvfree_policy policy)
{
	const char *why = NULL;

	kvfree_rcu_config_default(kcfg);
	kcfg->policy = policy;
	kcfg->nr_cpus = (unsigned int)runner_opts.cpus;
	if (runner_opts.page_entries)
		kcfg->page_entries = runner_opts.page_entries;
	if (runner_opts.cache_pages >= 0)
		kcfg->cache_pages = (unsigned int)runner_opts.cache_pages;
	if (runner_opts.drain_ms >= 0)
		kcfg->drain_delay_ns = (uint64_t)runner_opts.drain_ms * 1000 * 1000;
	if (!kvfree_rcu_config_valid(kcfg, &why)) {
		fprintf(stderr, "%s: invalid configuration: %s\n", runner_prog, why ? why : "?");
		return 2;
	}
	return 0;
}

/*
 * The flooders' configuration.  Duty cycles: --duty-cycle makes every CPU
 * cycle; the idle scenario, without it, every other CPU (the odd ones) at
 * 30 %.  A quiet stretch lasts the drain delay plus 2 s unless --quiet-ms
 * says otherwise: longer than the drain delay, so a quiet CPU's monitor
 * must fire with no call to re-arm it, and long enough for the PROGRESS
 * monitor to judge what is left stranded.
 */
static void configure_flood(struct kvt_flood_config *fcfg, const struct kvfree_rcu_config *kcfg)
{
	kvt_flood_config_default(fcfg);
	fcfg->nr_cpus = runner_opts.cpus;
	fcfg->mask = runner_opts.mask;
	fcfg->users_per_cpu = runner_opts.users;
	fcfg->irq_rate = runner_opts.irq_rate;
	fcfg->nmi_rate = runner_opts.nmi_rate;
	fcfg->fault_ppm = runner_opts.fault_ppm;
	fcfg->chaos = runner_opts.chaos;
	/*
	 * The backlog the flood may build up: 5000 live objects per CPU.  The
	 * flood outruns reclaim, so it runs at this bound; a larger one adds
	 * nothing but time to every barrier, CPU offline and batch (each waits
	 * for or frees the backlog), which a checkpoint waits for.
	 */
	fcfg->max_outstanding = 5000u * (unsigned int)runner_opts.cpus;
	fcfg->barrier_threads = runner_opts.barrier_threads;
	fcfg->barrier_rate = runner_opts.barrier_rate;
	fcfg->duty_percent = runner_opts.duty_percent;
	fcfg->duty_cpus = ~0ull;
	if (!runner_opts.duty_set && (runner_opts.mask & (1u << KVT_SC_IDLE))) {
		fcfg->duty_percent = 30;
		fcfg->duty_cpus = 0xaaaaaaaaaaaaaaaaull;
	}
	fcfg->quiet_ns = runner_opts.quiet_ms >= 0 ? (uint64_t)runner_opts.quiet_ms * 1000000ull :
			 kcfg->drain_delay_ns + 2000000000ull;
}

static void configure_env(struct posix_env_config *ecfg)
{
	posix_env_config_default(ecfg);
	ecfg->nr_cpus = runner_opts.cpus;
	ecfg->seed = runner_opts.seed;
	ecfg->gp_early = runner_opts.gp_early;
	ecfg->free_cost_ns = (uint64_t)runner_opts.free_cost_us * 1000u;
	if (runner_opts.chaos) {
		ecfg->chaos.yield_ppm = 2000;
		ecfg->chaos.spin_ppm = 1000;
		ecfg->chaos.sleep_ppm = 300;
		ecfg->chaos.migrate_ppm = 3000;
	}
	if (runner_opts.mask & (1u << KVT_SC_IRQ))
		ecfg->chaos.irq_inject_ppm = 2000;
	if (runner_opts.mask & ((1u << KVT_SC_NMI) | (1u << KVT_SC_MISUSE)))
		ecfg->chaos.nmi_inject_ppm = 300;
	/* The checkpoints hold each CPU's kworker (runner_checkpoint.c). */
	ecfg->reclaim = POSIX_RECLAIM_WORKER;
}

/*
 * Everything before a phase's flood: the report folder, the configurations,
 * the checker (a violation ends the run through runner_abort_hook()), the
 * environment and the implementation with @policy.  0, or the exit code to
 * leave with.
 */
static int set_up(struct kvt_flood_config *fcfg, enum kvfree_policy policy)
{
	struct posix_env_config ecfg;
	struct kvfree_rcu_config kcfg;
	int rc;

	if (runner_opts.report_dir && mkdir(runner_opts.report_dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: cannot create report directory %s: %s\n", runner_prog,
			runner_opts.report_dir, strerror(errno));
		return 99;
	}
	rc = configure_kvfree(&kcfg, policy);
	if (rc)
		return rc;
	configure_flood(fcfg, &kcfg);

	check_set_capacity((size_t)fcfg->max_outstanding * 4 + 65536);
	check_reset();
	check_set_structure_at_unlock(runner_opts.check_unlock);
	check_set_mode(CHECK_ABORT);
	check_set_repro(runner_repro);
	check_set_abort_hook(runner_abort_hook);

	configure_env(&ecfg);
	posix_env_start(&ecfg);
	if (!kvfree_rcu_init(&kcfg)) {
		fprintf(stderr, "%s: kvfree_rcu_init failed\n", runner_prog);
		return 99;
	}
	return 0;
}

/* A new phase record for @policy, counted before anything reads it. */
static struct runner_phase *phase_begin(enum kvfree_policy policy)
{
	int n = atomic_load(&runner_nr_phases);
	struct runner_phase *ph = &runner_phases[n];

	memset(ph, 0, sizeof(*ph));
	ph->policy = policy;
	kvt_flood_stats(&ph->fs_begin);
	ph->fs_end = ph->fs_begin;
	atomic_store(&runner_nr_phases, n + 1);
	return ph;
}

/*
 * Flood for @flood_ns under the watchdog: a sample every 100 ms with the
 * PROGRESS monitor and the checkpoints in between, progress each second.
 */
static void flood(struct runner_phase *ph, const struct kvt_flood_config *fcfg, uint64_t flood_ns)
{
	uint64_t start_ns = kenv_clock_ns(), end_ns = start_ns + flood_ns, next_ns;

	atomic_store(&runner_phase, PHASE_RUN);
	runner_watchdog_start(end_ns + (uint64_t)runner_opts.watchdog_s * 1000000000ull);
	ph->start_ns = start_ns;
	ph->duty_percent = fcfg->duty_percent;
	ph->duty_cpus = fcfg->duty_cpus;
	ph->quiet_ns = fcfg->quiet_ns;
	runner_checks_begin(ph, kvfree_rcu_config(), fcfg, start_ns);
	kvt_flood_start(fcfg);

	next_ns = start_ns + 1000000000ull;
	/* At least one sample and tick, however late this thread runs. */
	do {
		uint64_t now = kenv_clock_ns(), left = now < end_ns ? end_ns - now : 0;
		struct timespec ts = { .tv_sec = 0,
				       .tv_nsec = (long)(left < RUNNER_SAMPLE_NS ? left : RUNNER_SAMPLE_NS) };

		nanosleep(&ts, NULL);
		runner_take_sample();
		runner_checks_tick(ph, kenv_clock_ns());
		if (kenv_clock_ns() >= next_ns) {
			runner_print_progress();
			next_ns += 1000000000ull;
		}
	} while (kenv_clock_ns() < end_ns);
	runner_checks_end(ph);
	ph->end_ns = kenv_clock_ns();
}

/*
 * Quiesce: stop the flood, drain the slots, wait for every free, and run
 * the checker's end-of-run checks.  0 if they pass, else 1.
 */
static int quiesce(struct runner_phase *ph)
{
	int exit_code = 0;

	atomic_store(&runner_phase, PHASE_QUIESCE);
	kvt_flood_stop();
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		kvt_flood_quiet_stats(cpu, ph->end_ns, &ph->quiet[cpu]);
	kvt_flood_stats(&ph->fs_end);
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	runner_take_sample();
	check_accounting();
	if (!check_final())
		exit_code = 1;
	runner_take_final();
	kvfree_rcu_exit();
	if (!check_after_exit())
		exit_code = 1;
	atomic_store(&runner_phase, PHASE_DONE);
	/* Stopping the environment waits for its threads: the watchdog still bounds it. */
	posix_env_stop();
	runner_watchdog_stop();
	return exit_code;
}

/* The end of a run that was not cut short: the summary, the files, the verdict. */
static int report(int exit_code)
{
	if (!exit_code && runner_opts.expect_set) {
		fprintf(stderr, "%s: the expected violation %s was NOT caught\n", runner_prog,
			check_inv_name(runner_opts.expect));
		exit_code = 1;
	}
	runner_print_summary();
	if (!runner_write_report_json(exit_code ? "fail" : "pass", exit_code, NULL, NULL))
		fprintf(stderr, "%s: cannot write %s/report.json\n", runner_prog,
			runner_opts.report_dir);
	runner_write_timeseries();
	runner_write_plots();
	if (runner_opts.report_dir)
		printf("report: %s/report.json\n", runner_opts.report_dir);
	printf("kvtorture stress: %s (seed %" PRIu64 ")\n", exit_code ? "FAIL" : "PASS",
	       runner_opts.seed);
	return exit_code;
}

int kvt_stress_main(int argc, char **argv)
{
	struct kvt_flood_config fcfg;
	uint64_t phase_ns;
	int rc = 0;

	runner_parse_options(argc, argv);
	printf("kvtorture stress: seed %" PRIu64 "\n", runner_opts.seed);
	if ((runner_opts.mask & (1u << KVT_SC_BUG_MALLOC_LOCKED)) && !posix_interpose_enabled()) {
		printf("skip: bug-malloc-locked needs the malloc interposer (not in sanitizer builds)\n");
		return 77;
	}
	printf("command: %s\n", runner_repro);
	fflush(stdout);

	/* The duration, split evenly between the policies' phases. */
	phase_ns = (uint64_t)runner_opts.duration_s * 1000000000ull /
		   (uint64_t)runner_opts.nr_policies;
	for (int p = 0; p < runner_opts.nr_policies && !rc; p++) {
		enum kvfree_policy policy = runner_opts.policies[p];
		struct runner_phase *ph;

		if (runner_opts.nr_policies > 1 && !runner_opts.quiet)
			printf("policy %s: %.1f s\n", kvfree_policy_name(policy), (double)phase_ns / 1e9);
		rc = set_up(&fcfg, policy);
		if (rc)
			return rc;
		ph = phase_begin(policy);
		flood(ph, &fcfg, phase_ns);
		rc = quiesce(ph);
	}
	return report(rc);
}
