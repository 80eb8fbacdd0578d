/* SPDX-License-Identifier: MIT */
/*
 * sim_lock.c - raw spinlocks, irq masking, preemption and bh: the per-CPU
 * state behind them, and the instrumentation points they are (an interrupt
 * may arrive before a lock is taken, and held-back ones arrive on restore;
 * under PCT also before irqs, preemption or bh are disabled).
 *
 * On one OS thread a raw lock is never contended: it is free, or held by the
 * running context, or by a context that the running one interrupted (raw
 * lock holders are neither preempted nor migrated).  The lock word names the
 * holder's check_task for kenv_lock_held().
 */
#include "sim_internal.h"

void kenv_lock_init(struct kenv_lock *lock, const char *name)
{
	atomic_store_explicit(&lock->word, 0, memory_order_relaxed);
	lock->name = name;
	lock->cpu = -1;
	lock->depth = 0;
}

void kenv_raw_spin_lock(struct kenv_lock *lock)
{
	struct sim_frame *f;

	/* An interrupt may arrive just before the lock is taken. */
	sim_point("raw_spin_lock");
	f = sim_top();
	sim.cpu[f->cpu].preempt++;
	/*
	 * Held already: nothing else can run to release it on one OS thread.
	 * The checker judges it (a self-deadlock); then go on as if acquired,
	 * so the run can finish.
	 */
	if (atomic_load_explicit(&lock->word, memory_order_relaxed))
		check_lock_busy(lock, lock->cpu);
	check_lock_acquire(lock);
	atomic_store_explicit(&lock->word, (uintptr_t)f->ct, memory_order_relaxed);
	lock->cpu = (int)f->cpu;
	f->locks++;
}

void kenv_raw_spin_unlock(struct kenv_lock *lock)
{
	struct sim_frame *f = sim_top();
	struct sim_cpu *c = &sim.cpu[f->cpu];

	check_lock_release(lock);
	atomic_store_explicit(&lock->word, 0, memory_order_relaxed);
	lock->cpu = -1;
	if (f->locks)
		f->locks--;
	if (c->preempt)
		c->preempt--;
	sim_point("raw_spin_unlock");
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	return atomic_load_explicit(&lock->word, memory_order_relaxed) ==
	       (uintptr_t)sim_top()->ct;
}

unsigned long kenv_local_irq_save(void)
{
	struct sim_cpu *c;
	unsigned long was_off;

	/* Under PCT the last moment to be interrupted or preempted (a fine point). */
	kenv_access_point("irq_save");
	c = sim_this_cpu();
	was_off = c->irqs_off;

	c->irqs_off = true;
	return was_off;
}

void kenv_local_irq_restore(unsigned long flags)
{
	sim_this_cpu()->irqs_off = flags != 0;
	/* Interrupts held back while masked arrive here. */
	sim_point("irq_restore");
}

void kenv_preempt_disable(void)
{
	check_nmi_unsafe("kenv_preempt_disable");
	kenv_access_point("preempt_disable");
	sim_this_cpu()->preempt++;
}

void kenv_preempt_enable(void)
{
	struct sim_cpu *c = sim_this_cpu();

	check_nmi_unsafe("kenv_preempt_enable");
	check_nest_exit("kenv_preempt_enable", c->preempt);
	if (!c->preempt)
		return;
	if (--c->preempt == 0)
		sim_point("preempt_enable");
}

void kenv_local_bh_disable(void)
{
	check_bh_disable();
	kenv_access_point("bh_disable");
	sim_this_cpu()->bh++;
}

void kenv_local_bh_enable(void)
{
	unsigned int cpu = sim_cur_cpu();
	struct sim_cpu *c = &sim.cpu[cpu];
	enum kenv_ctx ctx = sim_top()->ctx;

	check_nest_exit("kenv_local_bh_enable", c->bh);
	if (!c->bh)
		return;
	/* Softirqs raised meanwhile run now, as local_bh_enable() does. */
	if (--c->bh == 0 && c->softirq_pending && !c->irqs_off &&
	    (ctx == KENV_CTX_TASK || ctx == KENV_CTX_KTHREAD))
		sim_do_softirq(cpu);
	sim_point("bh_enable");
}
