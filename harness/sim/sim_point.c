/* SPDX-License-Identifier: MIT */
/*
 * sim_point.c - instrumentation points: what may happen to the running
 * context at one (kenv_sched_point, and the sim's own points in locks, irq
 * restore, bh and preempt enable, allocations).
 *
 * In this order: injected NMIs, then a random one; injected hardirqs while
 * irqs are on, due timers of this CPU, then a random hardirq; for a
 * sleepable context, the CPU's lock-free pool refill; for a preemptible
 * coroutine, a requested or random preemption (and migration), or under PCT
 * (sim_pct.c) a step counted first and a preemption when a runnable coroutine
 * has a higher priority.  Every random decision is a PRNG draw taken in this
 * fixed order.
 */
#include "sim_internal.h"

void sim_set_next_preempt(unsigned int cpu, int migrate_to_cpu)
{
	if (cpu >= sim.cfg.nr_cpus)
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu");
	sim.cpu[cpu].next_preempt = migrate_to_cpu >= 0 ? migrate_to_cpu : -1;
}

/*
 * Whether anything can happen at a point on @c: the tests of
 * sim_point_act() without its PRNG draws and calls, in which a random event
 * counts as possible when its permille is set.  Most points find nothing to
 * do; they return without the slow path's frame.
 */
static bool sim_point_may_act(const struct sim_cpu *c)
{
	if ((sim.pct.on && sim.cur) || c->nmis.count || sim.cfg.nmi_permille)
		return true;
	if (!c->irqs_off && (c->irqs.count || sim.cfg.irq_permille ||
			     (sim.timers && sim.timers->expires <= sim.now)))
		return true;
	if (c->pool_nr >= sim.cfg.pool_pages &&
	    !(sim.cur && (c->next_preempt != SIM_NO_PREEMPT || sim.cfg.preempt_permille)))
		return false;
	return sim_sleepable();
}

/* What sim_point() does when sim_point_may_act(): in the order above. */
__attribute__((noinline)) static void sim_point_act(const char *site)
{
	struct sim_frame *f = sim_top();
	unsigned int cpu = f->cpu;
	struct sim_cpu *c = &sim.cpu[cpu];
	void (*fn)(void *);
	void *arg;
	unsigned int n;

	if (sim.pct.on && sim.cur)
		sim_pct_step(site);

	/* NMIs ignore the irq mask. */
	if (c->nmis.count) {
		sim_inject_pop(&c->nmis, &fn, &arg);
		check_trace("nmi cpu%u at %s", cpu, site);
		sim_run_nested(cpu, KENV_CTX_NMI, fn, arg);
	}
	if (sim.cfg.nmi_permille && sim_chance(sim.cfg.nmi_permille)) {
		check_trace("nmi cpu%u at %s (random)", cpu, site);
		sim_run_nested(cpu, KENV_CTX_NMI, sim.cfg.nmi_fn, sim.cfg.nmi_arg);
	}

	/* Hardirqs only while this CPU has irqs on; re-checked after each. */
	for (n = 0; c->irqs.count && !c->irqs_off && n < SIM_INJECT_MAX; n++) {
		sim_inject_pop(&c->irqs, &fn, &arg);
		check_trace("hardirq cpu%u at %s", cpu, site);
		sim_run_nested(cpu, KENV_CTX_HARDIRQ, fn, arg);
	}
	/* The timer list is sorted by expiry: nothing is due unless its head is. */
	if (!c->irqs_off && sim.timers && sim.timers->expires <= sim.now)
		sim_timer_fire_due_on(cpu);
	if (!c->irqs_off && sim.cfg.irq_permille && sim_chance(sim.cfg.irq_permille)) {
		check_trace("hardirq cpu%u at %s (random)", cpu, site);
		sim_run_nested(cpu, KENV_CTX_HARDIRQ, sim.cfg.irq_fn, sim.cfg.irq_arg);
	}

	if (!sim_sleepable())
		return;
	if (c->pool_nr < sim.cfg.pool_pages)
		sim_pool_refill(cpu);
	if (!sim.cur)
		return;		/* main (the driver) is never preempted */
	if (c->next_preempt != SIM_NO_PREEMPT) {
		int to = c->next_preempt;

		c->next_preempt = SIM_NO_PREEMPT;
		sim_preempt_current(to, site);
	} else if (sim.pct.on) {
		if (sim_pct_should_yield()) {
			int to = -1;

			if (sim.cfg.migrate_permille && sim_chance(sim.cfg.migrate_permille))
				to = (int)sim_random_online_cpu((int)cpu);
			sim_preempt_current(to, site);
		}
	} else if (sim.cfg.preempt_permille && sim_chance(sim.cfg.preempt_permille)) {
		int to = -1;

		if (sim.cfg.migrate_permille && sim_chance(sim.cfg.migrate_permille))
			to = (int)sim_random_online_cpu((int)cpu);
		sim_preempt_current(to, site);
	}
}

void sim_point(const char *site)
{
	struct sim_frame *f = sim_top();

	f->ct->last_site = site;
	if (f->ctx == KENV_CTX_NMI || !sim_point_may_act(&sim.cpu[f->cpu]))
		return;
	sim_point_act(site);
}

void kenv_sched_point(const char *site)
{
	sim_point(site);
}
