/* SPDX-License-Identifier: MIT */
/*
 * sim_run.c - the run: the sim's state, its configuration, sim_init() and
 * sim_fini(), the run's counters, and the environment's warnings and fatal
 * errors (kenv_warn, kenv_die).
 *
 * sim_init() resets every part of the simulation in a fixed order (the pools
 * refilled by sim_mem_init() are traced, so they come after check_reset()).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_internal.h"

struct sim_state sim;

void sim_config_default(struct sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 1;
	cfg->seed = 1;
	cfg->gp_duration_ns = 1000000;
	cfg->pool_pages = 4;
}

const struct sim_config *sim_config(void)
{
	return &sim.cfg;
}

static const char *config_invalid(const struct sim_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		return "sim_config.nr_cpus out of 1..KENV_NR_CPUS_MAX";
	if (cfg->irq_permille > 1000 || cfg->nmi_permille > 1000 ||
	    cfg->preempt_permille > 1000 || cfg->migrate_permille > 1000 ||
	    cfg->alloc_fail_permille > 1000)
		return "sim_config: a permille above 1000";
	if (cfg->pool_pages > SIM_POOL_MAX)
		return "sim_config.pool_pages above SIM_POOL_MAX";
	if (cfg->driver_cpu >= cfg->nr_cpus)
		return "sim_config.driver_cpu is not a CPU";
	if (cfg->pct_depth > SIM_PCT_DEPTH_MAX)
		return "sim_config.pct_depth above SIM_PCT_DEPTH_MAX";
	if (cfg->pct_depth > 1 && !cfg->pct_steps)
		return "sim_config.pct_steps is 0 with change points to draw";
	return NULL;
}

void sim_assert_driver(const char *fn)
{
	if (!sim.ready)
		kenv_die(__FILE__, __LINE__, fn, "called before sim_init()");
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, fn,
			 "driver-only function called from inside the simulation");
}

static void driver_frame_reset(unsigned int cpu)
{
	memset(&sim.driver_ct, 0, sizeof(sim.driver_ct));
	sim.driver_ct.name = "driver";
	memset(&sim.frames[0], 0, sizeof(sim.frames[0]));
	sim.frames[0].ctx = KENV_CTX_TASK;
	sim.frames[0].cpu = cpu;
	sim.frames[0].ct = &sim.driver_ct;
	sim.depth = 0;
	sim.base = 0;
}

void sim_init(const struct sim_config *cfg)
{
	const char *why = config_invalid(cfg);
	unsigned int i;

	if (why)
		kenv_die(__FILE__, __LINE__, __func__, why);
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, __func__, "called from inside the simulation");
	if (sim.ready)
		sim_fini();

	sim.cfg = *cfg;
	sim.now = 0;
	sim_rng_seed(cfg->seed);
	memset(&sim.st, 0, sizeof(sim.st));

	/* Only the configured CPUs are touched by the run, so only they reset. */
	for (i = 0; i < cfg->nr_cpus; i++) {
		struct sim_cpu *c = &sim.cpu[i];

		memset(c, 0, offsetof(struct sim_cpu, pool));
		c->online = true;
		c->next_preempt = SIM_NO_PREEMPT;
		c->cb_tail = &c->cb_head;
		c->pool_nr = 0;
		memset(&c->idle_ct, 0, sizeof(c->idle_ct));
		c->idle_ct.name = "idle";
	}
	driver_frame_reset(cfg->driver_cpu);

	sim_co_reset();
	sim.cur = NULL;
	sim.runq_nr = 0;
	sim.next_id = 0;
	sim.driver_wait = NULL;
	sim.nr_blocked = 0;
	memset(sim.blocked_slots, 0, sizeof(sim.blocked_slots));
	sim.wake_kinds = 0;

	sim.hook_offline = NULL;
	sim.hook_online = NULL;
	sim.fail_next = 0;
	sim.rwork_early = 0;
	sim.page_limit = cfg->page_limit;

	/* Every context of the sim runs on this one OS thread, and no signal. */
	check_set_one_thread(true);
	check_reset();
	sim_pct_init();
	sim_work_reset();
	sim_rcu_reset();
	sim.ready = true;
	sim_mem_init();
	check_trace("sim init cpus=%u seed=%" PRIu64 " auto_gp=%d", cfg->nr_cpus, cfg->seed,
		    (int)cfg->auto_gp);
}

void sim_fini(void)
{
	if (!sim.ready)
		return;
	if (sim.cur || sim.depth)
		kenv_die(__FILE__, __LINE__, __func__, "called from inside the simulation");
	sim_mem_fini();
	sim.timers = NULL;
	sim.ready = false;
}

void kenv_warn(enum kenv_warn_kind kind, const char *invariant, const char *cond,
	       const void *obj, const char *file, int line, const char *func)
{
	check_warned(kind, invariant, cond, obj, file, line, func);
}

_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg)
{
	/* No stdio buffering: this may run on a coroutine stack in any state. */
	dprintf(STDERR_FILENO, "kvtorture: fatal (sim): %s:%d: %s: %s\n", file, line, func, msg);
	exit(99);
}

void sim_stats(struct sim_stats *st)
{
	unsigned int cpu;

	*st = sim.st;
	st->pool_pages = 0;
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		st->pool_pages += sim.cpu[cpu].pool_nr;
}
