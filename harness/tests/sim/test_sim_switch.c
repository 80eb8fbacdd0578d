/* SPDX-License-Identifier: MIT */
/*
 * test_sim_switch - measures (prints, never asserts) what the fuzzer pays
 * for the sim in this build: one coroutine switch, and one small run from
 * sim_init() to sim_fini().  Asserts only the counts: every forced preemption
 * is two switches, and repeated runs reuse their coroutine stacks.
 */
#include <time.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"
#include "tap.h"

#define POINTS 200000
#define RUNS 20000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void yielder(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < POINTS; i++)
		kenv_sched_point("yield");
}

static void small(void *arg)
{
	(void)arg;
	kenv_sched_point("small");
}

int main(void)
{
	struct sim_config cfg;
	struct sim_stats st;
	double t0, t1, base;
	unsigned long switches = 0;
	int i;

	check_set_mode(CHECK_RECORD);

	/* The same points without preemption: the cost of a point itself. */
	sim_config_default(&cfg);
	sim_init(&cfg);
	t0 = now_s();
	sim_spawn(0, KENV_CTX_TASK, yielder, NULL, "yielder");
	t1 = now_s();
	sim_stats(&st);
	TAP_EQ(st.preemptions, 0, "point: no preemption without exploration");
	base = (t1 - t0) / POINTS;
	tap_diag("instrumentation point, nothing happens: %.1f ns", base * 1e9);
	sim_fini();

	/* Every point preempts: main -> coroutine -> main per point. */
	sim_config_default(&cfg);
	cfg.preempt_permille = 1000;
	sim_init(&cfg);
	t0 = now_s();
	sim_spawn(0, KENV_CTX_TASK, yielder, NULL, "yielder");
	sim_run_pending();
	t1 = now_s();
	sim_stats(&st);
	TAP_EQ(st.preemptions, POINTS, "switch: every point preempted");
	TAP_EQ(st.switches, POINTS + 1, "switch: one resume per preemption, plus the start");
	tap_diag("preempted point: %.1f ns = a point, a trip to the scheduler and back (two coroutine switches), two trace events",
		 (t1 - t0) * 1e9 / POINTS);
	tap_diag("coroutine switch, one way, upper bound: %.1f ns",
		 ((t1 - t0) / POINTS - base) * 1e9 / 2.0);
	sim_fini();

	/* A fuzz-input-sized lifecycle, over and over. */
	sim_config_default(&cfg);
	cfg.nr_cpus = 4;
	t0 = now_s();
	for (i = 0; i < RUNS; i++) {
		sim_init(&cfg);
		sim_spawn((unsigned int)i % 4, KENV_CTX_TASK, small, NULL, "small");
		sim_quiesce();
		sim_stats(&st);
		switches += st.switches;
		sim_fini();
	}
	t1 = now_s();
	TAP_EQ(switches, RUNS, "lifecycle: one switch per run");
	tap_diag("sim_init + spawn + quiesce + sim_fini: %.2f us per run",
		 (t1 - t0) * 1e6 / RUNS);
	return tap_done();
}
