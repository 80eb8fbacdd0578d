/* SPDX-License-Identifier: MIT */
/*
 * sim_hotplug.c - CPU hotplug: which CPUs are online, taking one down
 * (everything that would run there moves to the lowest other online CPU) and
 * bringing it back, with the implementation's hotplug hooks run in a task.
 */
#include <string.h>

#include "sim_internal.h"

unsigned int sim_first_online_cpu(int avoid)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && (int)cpu != avoid)
			return cpu;
	return 0;
}

unsigned int sim_random_online_cpu(int avoid)
{
	unsigned int cpu, n = 0, pick;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		n += sim.cpu[cpu].online && (int)cpu != avoid;
	if (!n)
		return sim_first_online_cpu(-1);
	pick = (unsigned int)sim_rng_below(n);
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		if (sim.cpu[cpu].online && (int)cpu != avoid && pick-- == 0)
			return cpu;
	return sim_first_online_cpu(-1);
}

static struct {
	void (*fn)(int cpu);
	int cpu;
} hook_call;

static void hook_body(void *arg)
{
	(void)arg;
	hook_call.fn(hook_call.cpu);
}

void sim_set_hotplug_hooks(void (*offline)(int cpu), void (*online)(int cpu))
{
	sim.hook_offline = offline;
	sim.hook_online = online;
}

/* Run @fn(@cpu) in a task on @on and wait (driving the sim) until it ends. */
static void run_hook(void (*fn)(int cpu), int cpu, unsigned int on, const char *name)
{
	struct sim_wait w;
	int id;

	if (!fn)
		return;
	hook_call.fn = fn;
	hook_call.cpu = cpu;
	id = sim_spawn(on, KENV_CTX_TASK, hook_body, NULL, name);
	if (id < 0)
		KENV_DIE("no coroutine left for a hotplug hook");
	memset(&w, 0, sizeof(w));
	w.kind = SIM_WAIT_TASK;
	w.what = name;
	w.task = id;
	sim_block(&w);
}

bool sim_cpu_offline(unsigned int cpu)
{
	struct sim_cpu *c;
	unsigned int to, i, online = 0;

	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || !sim.cpu[cpu].online)
		return false;
	for (i = 0; i < sim.cfg.nr_cpus; i++)
		online += sim.cpu[i].online;
	if (online < 2)
		return false;
	c = &sim.cpu[cpu];
	to = sim_first_online_cpu((int)cpu);
	check_trace("cpu%u going offline, tasks to cpu%u", cpu, to);

	/* ksoftirqd drains what is pending before the CPU parks. */
	sim_do_softirq(cpu);
	if (c->irqs.count || c->nmis.count)
		check_trace("cpu%u offline drops %u injected interrupts", cpu,
			    c->irqs.count + c->nmis.count);
	c->irqs.count = 0;
	c->nmis.count = 0;
	c->next_preempt = SIM_NO_PREEMPT;
	c->online = false;

	/* Everything that would run on @cpu moves: affinity is broken. */
	for (i = 0; i < sim.nr_co_used; i++) {
		struct sim_co *co = sim.co[i];

		if (co->state == SIM_CO_FREE || co->cpu != cpu)
			continue;
		co->cpu = to;
		if (co->worker && co->state != SIM_CO_BLOCKED) {
			c->workers_active--;
			sim.cpu[to].workers_active++;
		}
		check_trace("co%d %s moves cpu%u->cpu%u", co->id, co->name, cpu, to);
	}
	if (sim.cfg.driver_cpu == cpu) {
		sim.cfg.driver_cpu = to;
		sim.frames[0].cpu = to;
	}
	sim_work_migrate(cpu, to);
	sim_timer_migrate(cpu, to);
	sim_rcu_migrate_callbacks(cpu, to);

	check_cpu_offline((int)cpu);
	check_trace("cpu%u offline", cpu);
	run_hook(sim.hook_offline, (int)cpu, to, "cpu-offline");
	return true;
}

bool sim_cpu_online(unsigned int cpu)
{
	struct sim_cpu *c;

	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || sim.cpu[cpu].online)
		return false;
	c = &sim.cpu[cpu];
	c->irqs_off = false;
	c->preempt = 0;
	c->bh = 0;
	c->rcu_nest = 0;
	c->softirq_pending = 0;
	c->workers_active = 0;
	c->online = true;
	check_cpu_online((int)cpu);
	check_trace("cpu%u online", cpu);
	sim_pool_refill(cpu);
	run_hook(sim.hook_online, (int)cpu, cpu, "cpu-online");
	return true;
}
