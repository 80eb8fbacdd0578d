/* SPDX-License-Identifier: MIT */
/*
 * sim_irq.c - interrupts, NMIs and softirqs as frames nested on the running
 * stack, and the per-CPU queues of injected interrupts.
 *
 * Handlers never switch stacks: sim_run_nested() pushes a frame (sim.frames)
 * and pops it before anything switches, so at every switch each CPU's irq,
 * preemption, bh and RCU-reader state is back to what the task left.  A
 * handler on another CPU than the running one is only possible from main: it
 * interrupts that CPU's idle loop (sim_run_on).  Injected interrupts wait in
 * their CPU's queue for an instrumentation point (sim_point.c) or, when
 * nothing runs there, for the scheduler's idle step.
 */
#include <string.h>

#include "sim_internal.h"

static void noop(void *arg)
{
	(void)arg;
}

/*
 * Run fn(arg) in @ctx on @cpu as a frame nested on the running stack: the
 * CPU's irq, preemption, bh and RCU state is saved, set for the handler
 * (softirq: bh counted, irqs on; hardirq and NMI: irqs off), and restored on
 * return; a hardirq then leaves through irq_exit.
 */
void sim_run_nested(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_cpu *c = &sim.cpu[cpu];
	struct check_cpu_state entered, left;
	struct sim_frame *f;
	struct check_task *ct;

	if (sim.depth + 1 >= SIM_FRAMES_MAX)
		KENV_DIE("interrupts nested deeper than SIM_FRAMES_MAX");
	f = &sim.frames[++sim.depth];
	ct = &sim.frame_ct[sim.depth];
	memset(ct, 0, sizeof(*ct));
	ct->name = sim_ctx_names[ctx];
	memset(f, 0, sizeof(*f));
	f->ctx = ctx;
	f->cpu = cpu;
	f->ct = ct;
	/* The frame below is at or above the base: this CPU's own stack. */
	f->softirq = ctx == KENV_CTX_SOFTIRQ || sim.frames[sim.depth - 1].softirq;
	f->saved_irqs_off = c->irqs_off;
	f->saved_preempt = c->preempt;
	f->saved_bh = c->bh;
	f->saved_rcu = c->rcu_nest;

	/* A softirq is served with bh counted and irqs on; handlers with irqs off. */
	if (ctx == KENV_CTX_SOFTIRQ) {
		c->bh++;
		c->irqs_off = false;
	} else {
		c->irqs_off = true;
		if (ctx == KENV_CTX_HARDIRQ)
			sim.st.irqs_delivered++;
		else
			sim.st.nmis_delivered++;
	}

	entered = (struct check_cpu_state){
		.irqs_off = c->irqs_off, .preempt = c->preempt, .bh = c->bh, .rcu_nest = c->rcu_nest,
	};

	(fn ? fn : noop)(arg);

	left = (struct check_cpu_state){
		.locks = f->locks, .irqs_off = c->irqs_off, .preempt = c->preempt, .bh = c->bh,
		.rcu_nest = c->rcu_nest,
	};
	check_context_left(sim_ctx_names[ctx], (int)cpu, &entered, &left);
	c->irqs_off = f->saved_irqs_off;
	c->preempt = f->saved_preempt;
	c->bh = f->saved_bh;
	c->rcu_nest = f->saved_rcu;
	sim.depth--;
	if (ctx == KENV_CTX_HARDIRQ)
		sim_irq_exit(cpu);
}

void sim_run_on(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_frame *idle;
	int saved_base;

	if (cpu == sim_cur_cpu()) {
		sim_run_nested(cpu, ctx, fn, arg);
		return;
	}
	/* Another CPU is only reachable from main: it interrupts that CPU's idle loop. */
	if (sim.cur)
		KENV_DIE("code on one CPU tried to run a handler on another");
	if (sim.depth + 2 >= SIM_FRAMES_MAX)
		KENV_DIE("interrupts nested deeper than SIM_FRAMES_MAX");
	saved_base = sim.base;
	idle = &sim.frames[++sim.depth];
	memset(idle, 0, sizeof(*idle));
	idle->ctx = KENV_CTX_KTHREAD;
	idle->cpu = cpu;
	idle->idle = true;
	idle->ct = &sim.cpu[cpu].idle_ct;
	idle->ct->nr_held = 0;
	sim.base = sim.depth;
	sim_run_nested(cpu, ctx, fn, arg);
	sim.depth--;
	sim.base = saved_base;
}

static bool inject_push(struct sim_injectq *q, void (*fn)(void *), void *arg)
{
	unsigned int i;

	if (q->count == SIM_INJECT_MAX)
		return false;
	i = (q->head + q->count) % SIM_INJECT_MAX;
	q->slot[i].fn = fn;
	q->slot[i].arg = arg;
	q->count++;
	return true;
}

/* Take the oldest entry of a non-empty injection queue. */
void sim_inject_pop(struct sim_injectq *q, void (**fn)(void *), void **arg)
{
	*fn = q->slot[q->head].fn;
	*arg = q->slot[q->head].arg;
	q->head = (q->head + 1) % SIM_INJECT_MAX;
	q->count--;
}

bool sim_inject(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	struct sim_cpu *c;

	if (cpu >= sim.cfg.nr_cpus || (ctx != KENV_CTX_HARDIRQ && ctx != KENV_CTX_NMI))
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu or ctx (HARDIRQ or NMI)");
	c = &sim.cpu[cpu];
	if (!inject_push(ctx == KENV_CTX_NMI ? &c->nmis : &c->irqs, fn, arg))
		return false;
	check_trace("inject %s cpu%u", sim_ctx_names[ctx], cpu);
	return true;
}

bool sim_call_irq(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg)
{
	sim_assert_driver(__func__);
	if (cpu >= sim.cfg.nr_cpus || ctx < KENV_CTX_SOFTIRQ || ctx >= KENV_CTX_NR)
		kenv_die(__FILE__, __LINE__, __func__, "bad cpu or ctx (SOFTIRQ, HARDIRQ or NMI)");
	if (!sim.cpu[cpu].online)
		return false;
	if (ctx == KENV_CTX_HARDIRQ && sim.cpu[cpu].irqs_off) {
		inject_push(&sim.cpu[cpu].irqs, fn, arg);
		check_trace("hardirq cpu%u held back", cpu);
		return false;
	}
	check_trace("%s cpu%u", sim_ctx_names[ctx], cpu);
	sim_run_on(cpu, ctx, fn, arg);
	return true;
}

/* Deliver one interrupt injected for a CPU that ran nothing to take it. */
bool sim_deliver_idle_injection(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		struct sim_cpu *c = &sim.cpu[cpu];
		struct sim_injectq *q = NULL;
		enum kenv_ctx ctx;
		void (*fn)(void *);
		void *arg;

		if (!c->online)
			continue;
		if (c->nmis.count) {
			q = &c->nmis;
			ctx = KENV_CTX_NMI;
		} else if (c->irqs.count && !c->irqs_off) {
			q = &c->irqs;
			ctx = KENV_CTX_HARDIRQ;
		} else {
			continue;
		}
		sim_inject_pop(q, &fn, &arg);
		check_trace("%s cpu%u (idle)", sim_ctx_names[ctx], cpu);
		sim_run_on(cpu, ctx, fn, arg);
		return true;
	}
	return false;
}
