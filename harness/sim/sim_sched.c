/* SPDX-License-Identifier: MIT */
/*
 * sim_sched.c - the scheduler: the run queue, spawning tasks and kworkers,
 * blocking and waking, one scheduling step, sim_run_pending(), preemption.
 *
 * Only main schedules.  A coroutine runs until it blocks (sim_block), is
 * preempted at an instrumentation point (sim_preempt_current) or finishes;
 * then main takes the next step.  The order of a step is fixed (see
 * sim_sched_step), and the only choice in it, which runnable coroutine runs,
 * is a PRNG draw with sched_random, or the highest priority under PCT: the
 * same input, the same schedule.
 */
#include <string.h>

#include "sim_internal.h"

void sim_runq_add(struct sim_co *co)
{
	sim.runq[sim.runq_nr++] = co;
}

static struct sim_co *runq_take(unsigned int i)
{
	struct sim_co *co = sim.runq[i];

	memmove(&sim.runq[i], &sim.runq[i + 1], (sim.runq_nr - i - 1) * sizeof(sim.runq[0]));
	sim.runq_nr--;
	return co;
}

int sim_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg,
	      const char *name)
{
	struct sim_co *co;
	int id;

	if (!sim.ready)
		kenv_die(__FILE__, __LINE__, __func__, "called before sim_init()");
	if (ctx != KENV_CTX_TASK && ctx != KENV_CTX_KTHREAD)
		kenv_die(__FILE__, __LINE__, __func__, "ctx must be KENV_CTX_TASK or KENV_CTX_KTHREAD");
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online)
		return -1;
	co = sim_co_spawn(cpu, ctx, fn, arg, name, false);
	if (!co)
		return -1;
	/* The slot is free again (id -1) if it finishes now: keep the id. */
	id = co->id;
	if (!sim.cur && !sim.depth) {
		runq_take(sim.runq_nr - 1);
		sim_co_resume(co);
	}
	return id;
}

bool sim_task_done(int id)
{
	unsigned int i;

	for (i = 0; i < sim.nr_co_used; i++)
		if (sim.co[i]->state != SIM_CO_FREE && sim.co[i]->id == id)
			return false;
	return true;
}

unsigned int sim_tasks_alive(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < sim.nr_co_used; i++)
		n += sim.co[i]->state != SIM_CO_FREE && !sim.co[i]->worker;
	return n;
}

bool sim_start_worker(unsigned int cpu)
{
	return sim_co_spawn(cpu, KENV_CTX_KTHREAD, sim_worker_main, NULL, "kworker", true) != NULL;
}

void sim_set_driver_cpu(unsigned int cpu)
{
	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online || !sim_sleepable())
		kenv_die(__FILE__, __LINE__, __func__,
			 "the CPU must be online and the driver context idle");
	sim.frames[0].cpu = cpu;
	sim.cfg.driver_cpu = cpu;
	check_trace("driver cpu%u", cpu);
}

bool sim_wait_done(const struct sim_wait *w)
{
	switch (w->kind) {
	case SIM_WAIT_GP:
		return sim_rcu_cookie_done(w->cookie);
	case SIM_WAIT_BARRIER:
		return sim_rcu_barrier_done(w);
	case SIM_WAIT_WORK:
		return sim_work_done(w);
	case SIM_WAIT_TASK:
		return sim_task_done(w->task);
	}
	return true;
}

/* @co, blocked, becomes runnable. */
static void sim_wake_one(struct sim_co *co)
{
	co->state = SIM_CO_RUNNABLE;
	sim.nr_blocked--;
	sim.blocked_slots[co->wait->kind][co->slot / 64] &= ~(1ull << (co->slot % 64));
	if (co->worker)
		sim.cpu[co->cpu].workers_active++;
	sim_runq_add(co);
	check_trace("wake co%d %s", co->id, co->name);
}

bool sim_wake_blocked(void)
{
	unsigned int kinds = sim.wake_kinds;
	bool any = false;

	if (!kinds)
		return false;
	sim.wake_kinds = 0;
	/*
	 * In slot order, as a scan of every slot would go, blocked ones only,
	 * and of those only the ones whose kind of wait may have ended.
	 */
	for (unsigned int w = 0; w < (sim.nr_co_used + 63) / 64 && sim.nr_blocked; w++) {
		uint64_t bits = 0;

		for (unsigned int k = 0; k < SIM_WAIT_KINDS; k++)
			if (kinds & (1u << k))
				bits |= sim.blocked_slots[k][w];
		for (; bits; bits &= bits - 1) {
			struct sim_co *co = sim.co[w * 64 + (unsigned int)__builtin_ctzll(bits)];

			if (!sim_wait_done(co->wait))
				continue;
			sim_wake_one(co);
			any = true;
		}
	}
	return any;
}

/*
 * One scheduling step from main, in a fixed order of priority: wake-ups,
 * automatic GP transitions, due timers (hardirqs), ksoftirqd, kworkers and
 * other coroutines, interrupts injected for idle CPUs.  True if anything
 * happened.
 */
bool sim_sched_step(void)
{
	unsigned int cpu;

	if (sim.nr_blocked && sim_wake_blocked())
		return true;
	if (sim.cfg.auto_gp && sim_rcu_auto_step())
		return true;
	if (sim_timer_fire_due())
		return true;
	if (sim_ksoftirqd())
		return true;
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && !sim.cpu[cpu].workers_active &&
		    sim_work_eligible(cpu))
			sim_start_worker(cpu);
	if (sim.runq_nr) {
		unsigned int i = 0;
		struct sim_co *co;

		if (sim.pct.on)
			i = sim_pct_pick();
		else if (sim.cfg.sched_random && sim.runq_nr > 1)
			i = (unsigned int)sim_rng_below(sim.runq_nr);
		co = runq_take(i);
		check_trace("run co%d %s cpu%u", co->id, co->name, co->cpu);
		sim_co_resume(co);
		return true;
	}
	if (sim_deliver_idle_injection())
		return true;
	/* Idle: the lock-free pools fill up in the background. */
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && sim.cpu[cpu].pool_nr < sim.cfg.pool_pages)
			sim_pool_refill(cpu);
	return false;
}

bool sim_run_pending(void)
{
	unsigned int n;

	sim_assert_driver(__func__);
	for (n = 0; sim_sched_step(); n++) {
		if (n >= SIM_RUN_STEPS_MAX) {
			check_stall_busy("the scheduler", NULL, -1, n, sim.now);
			break;
		}
	}
	return n != 0;
}

void sim_block(struct sim_wait *w)
{
	struct sim_co *co = sim.cur;

	if (sim_wait_done(w))
		return;
	sim.st.sleeps++;
	if (!co) {
		sim_driver_wait(w);
		return;
	}
	check_trace("sleep co%d %s: %s", co->id, co->name, w->what);
	co->wait = w;
	co->state = SIM_CO_BLOCKED;
	sim.nr_blocked++;
	sim.blocked_slots[w->kind][co->slot / 64] |= 1ull << (co->slot % 64);
	if (co->worker && sim.cpu[co->cpu].workers_active)
		sim.cpu[co->cpu].workers_active--;
	sim_co_suspend(co);
	co->wait = NULL;
}

/*
 * Preempt the running coroutine at @site: back on the run queue, on
 * @migrate_to if that is >= 0, online and the coroutine is a task.
 */
void sim_preempt_current(int migrate_to, const char *site)
{
	struct sim_co *co = sim.cur;
	unsigned int from = co->cpu;

	if (migrate_to >= 0 && co->ctx == KENV_CTX_TASK && (unsigned int)migrate_to != from &&
	    (unsigned int)migrate_to < sim.cfg.nr_cpus && sim.cpu[migrate_to].online) {
		co->cpu = (unsigned int)migrate_to;
		sim.st.migrations++;
	}
	sim.st.preemptions++;
	check_trace("preempt co%d %s cpu%u->cpu%u at %s", co->id, co->name, from, co->cpu, site);
	co->state = SIM_CO_RUNNABLE;
	sim_runq_add(co);
	sim_co_suspend(co);
}
