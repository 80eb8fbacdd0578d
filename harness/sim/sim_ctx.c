/* SPDX-License-Identifier: MIT */
/*
 * sim_ctx.c - the running context: the context queries of kenv.h
 * (kenv_context, in_hardirq/softirq/nmi, irqs_disabled, preemptible, cpu),
 * check_current(), might_sleep and cond_resched, and the checks a context
 * must pass when it ends or calls something that forbids where it runs.
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
 * A context (task, kthread, work item) ended: it must have given back every
 * lock and re-enabled what it disabled.  If not, report LOCKING and repair
 * the CPU, so the rest of the run is not poisoned by one bug.
 */
void sim_check_balanced(const char *who)
{
	struct sim_frame *f = sim_top();
	struct sim_cpu *c = &sim.cpu[f->cpu];

	if (f->locks || c->irqs_off || c->preempt || c->bh || c->rcu_nest) {
		check_fail(INV_LOCKING, NULL, (int)f->cpu,
			   "%s ended with %u raw locks held, irqs %s, preempt count %u, bh count %u, rcu nesting %u (all must be 0)",
			   who, f->locks, c->irqs_off ? "off" : "on", c->preempt, c->bh,
			   c->rcu_nest);
		f->locks = 0;
		c->irqs_off = false;
		c->preempt = 0;
		c->bh = 0;
		c->rcu_nest = 0;
	}
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

bool kenv_in_softirq(void)
{
	int i;

	for (i = sim.base; i <= sim.depth; i++)
		if (sim.frames[i].ctx == KENV_CTX_SOFTIRQ)
			return true;
	return false;
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

bool sim_might_block(const char *site)
{
	check_might_sleep(site);
	return sim_sleepable();
}

bool sim_nmi_forbidden(const char *fn)
{
	if (sim_top()->ctx != KENV_CTX_NMI)
		return false;
	check_fail(INV_LOCKING, NULL, (int)sim_cur_cpu(), "%s called from NMI context", fn);
	return true;
}

void sim_no_raw_lock(const char *fn)
{
	const struct check_task *ct = sim_top()->ct;
	unsigned int locks = 0;
	int i;

	for (i = sim.base; i <= sim.depth; i++)
		locks += sim.frames[i].locks;
	if (locks)
		check_fail(INV_NO_ALLOC_ATOMIC, NULL, (int)sim_cur_cpu(),
			   "%s called with %u raw locks held (innermost %s); it takes allocator locks",
			   fn, locks,
			   ct->nr_held ? ct->held[ct->nr_held - 1]->name : "unknown");
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
