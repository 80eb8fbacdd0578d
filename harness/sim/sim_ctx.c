/* SPDX-License-Identifier: MIT */
/*
 * sim_ctx.c - the running context: the context queries of kenv.h
 * (kenv_context, in_hardirq/softirq/nmi, irqs_disabled, preemptible, cpu),
 * check_current(), might_sleep and cond_resched, the raw locks held on the
 * running stack, and what a context leaves behind when it ends.
 *
 * The context is the innermost frame of the running stack (sim_top()), on
 * the CPU that frame runs on; softirq context holds for any frame above a
 * serving softirq, as in_softirq() does in the kernel.
 */
#include "sim_internal.h"

const char *const sim_ctx_names[KENV_CTX_NR] = {
	[KENV_CTX_TASK] = "task",
	[KENV_CTX_KTHREAD] = "kthread",
	[KENV_CTX_SOFTIRQ] = "softirq",
	[KENV_CTX_HARDIRQ] = "hardirq",
	[KENV_CTX_NMI] = "nmi",
};

/*
 * A context (task, kthread, work item) ended: the checker judges what it left
 * on the CPU (it must give back every lock and re-enable what it disabled).
 * The CPU is repaired either way, so the rest of the run is not poisoned by
 * one bug.
 */
void sim_context_ended(const char *who)
{
	struct sim_frame *f = sim_top();
	struct sim_cpu *c = &sim.cpu[f->cpu];
	const struct check_cpu_state left = {
		.locks = f->locks, .irqs_off = c->irqs_off, .preempt = c->preempt,
		.bh = c->bh, .rcu_nest = c->rcu_nest,
	};

	check_context_left(who, (int)f->cpu, NULL, &left);
	f->locks = 0;
	c->irqs_off = false;
	c->preempt = 0;
	c->bh = 0;
	c->rcu_nest = 0;
}

const char *kenv_ctx_name(enum kenv_ctx ctx)
{
	return (unsigned int)ctx < KENV_CTX_NR ? sim_ctx_names[ctx] : "?";
}

enum kenv_ctx kenv_context(void)
{
	return sim_top()->ctx;
}

bool kenv_in_hardirq(void)
{
	return sim_top()->ctx == KENV_CTX_HARDIRQ;
}

/* Softirq context: a frame of the running stack serves a softirq. */
SIM_HOT bool in_softirq_frames(void)
{
	return sim_top()->softirq;
}

bool kenv_in_softirq(void)
{
	return in_softirq_frames();
}

bool kenv_in_nmi(void)
{
	return sim_top()->ctx == KENV_CTX_NMI;
}

bool kenv_irqs_disabled(void)
{
	return sim_this_cpu()->irqs_off;
}

bool kenv_preemptible(void)
{
	return sim_sleepable();
}

int kenv_cpu(void)
{
	return (int)sim_cur_cpu();
}

/*
 * The checked read: the checker judges the context; under PCT the read is
 * then a fine-grained point, where a preemptible task may migrate and go on
 * with the id it read.
 */
int kenv_this_cpu(const char *site)
{
	int cpu = (int)sim_cur_cpu();

	check_cpu_id_read(site);
	kenv_access_point(site);
	return cpu;
}

int kenv_nr_cpus(void)
{
	return (int)sim.cfg.nr_cpus;
}

bool kenv_cpu_online(int cpu)
{
	return cpu >= 0 && (unsigned int)cpu < sim.cfg.nr_cpus && sim.cpu[cpu].online;
}

struct check_task *check_current(void)
{
	return sim_top()->ct;
}

/* check.h: the queries above in one go, for every checker hook. */
void check_env_context(struct check_ctx *cs)
{
	const struct sim_frame *f = sim_top();

	cs->task = f->ct;
	cs->cpu = (int)f->cpu;
	cs->ctx = f->ctx;
	cs->nmi = f->ctx == KENV_CTX_NMI;
	cs->hardirq = f->ctx == KENV_CTX_HARDIRQ;
	cs->softirq = in_softirq_frames();
	cs->irqs_off = sim.cpu[f->cpu].irqs_off;
	cs->preemptible = sim_sleepable();
}

bool sim_might_block(const char *site)
{
	check_might_sleep(site);
	return sim_sleepable();
}

unsigned int sim_raw_locks_held(void)
{
	unsigned int locks = 0;
	int i;

	for (i = sim.base; i <= sim.depth; i++)
		locks += sim.frames[i].locks;
	return locks;
}

/* A declaration only, as kenv.h has it: kenv_sched_point() is the point. */
void kenv_might_sleep(const char *site)
{
	sim_might_block(site);
}

void kenv_cond_resched(void)
{
	if (sim_might_block("cond_resched"))
		sim_point("cond_resched");
}
