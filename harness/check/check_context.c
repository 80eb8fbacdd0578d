/* SPDX-License-Identifier: MIT */
/*
 * check_context.c - the rules on what an environment's execution contexts
 * and scheduler report: a context or handler that returns with something
 * held or disabled, a call made where it must not run (NMI, under a raw
 * lock), an enable without a disable, a lock that can never be released,
 * a CPU id read where the task may migrate, and a scheduler that does not
 * come to rest (LOCKING, NO-ALLOC-ATOMIC, PROGRESS).
 *
 * The environments count their own state (locks per frame, preemption and bh
 * depth, scheduler steps) and say what happened; the rules are here.  The
 * success paths take no lock and snapshot no context: some of these hooks run
 * on every preempt_enable or free.
 */
#include "check.h"
#include "check_internal.h"

static const char *on_off(bool irqs_off)
{
	return irqs_off ? "off" : "on";
}

bool check_context_left(const char *who, int cpu, const struct check_cpu_state *entered,
			const struct check_cpu_state *left)
{
	static const struct check_cpu_state at_zero;
	const struct check_cpu_state *e = entered ? entered : &at_zero;
	struct check_ctx cs;

	if (!left->locks && left->irqs_off == e->irqs_off && left->preempt == e->preempt &&
	    left->bh == e->bh && left->rcu_nest == e->rcu_nest)
		return true;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cpu, &cs,
		     "%s returned with %u raw locks held, irqs %s (entered %s), preempt count %u "
		     "(entered %u), bh count %u (entered %u), rcu nesting %u (entered %u): a "
		     "context leaves the CPU as it found it",
		     who ? who : "a context", left->locks, on_off(left->irqs_off),
		     on_off(e->irqs_off), left->preempt, e->preempt, left->bh, e->bh,
		     left->rcu_nest, e->rcu_nest);
	return false;
}

bool check_nmi_unsafe(const char *fn)
{
	struct check_ctx cs;

	if (!kenv_in_nmi())
		return false;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cs.cpu, &cs, "%s called from NMI context", fn ? fn : "?");
	return true;
}

void check_nest_exit(const char *fn, unsigned int depth)
{
	struct check_ctx cs;

	if (depth)
		return;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cs.cpu, &cs,
		     "%s without a matching disable or lock (depth 0)", fn ? fn : "?");
}

void check_bh_disable(void)
{
	struct check_ctx cs;

	if (!kenv_in_hardirq() && !kenv_in_nmi())
		return;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cs.cpu, &cs, "local_bh_disable from %s context",
		     kenv_ctx_name(cs.ctx));
}

void check_cpu_id_read(const char *site)
{
	struct check_ctx cs;

	if (!kenv_preemptible() || kenv_context() != KENV_CTX_TASK)
		return;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cs.cpu, &cs,
		     "%s read its CPU id (cpu%d) in preemptible task context: the task may "
		     "migrate right after, so the id and per-CPU pointers made from it may name "
		     "another CPU (use raw_smp_processor_id()/raw_cpu_ptr() for hints, or "
		     "disable preemption or irqs first)",
		     site ? site : "?", cs.cpu);
}

void check_allocator_call(const char *fn, const void *ptr, unsigned int raw_locks)
{
	const struct check_task *t;
	struct check_ctx cs;
	unsigned int top;

	if (!raw_locks && !kenv_in_nmi())
		return;
	check_ctx_take(&cs);
	if (cs.nmi)
		check_report(INV_LOCKING, ptr, cs.cpu, &cs, "%s called from NMI context",
			     fn ? fn : "?");
	if (!raw_locks)
		return;
	t = cs.task;
	top = t->nr_held < CHECK_MAX_HELD ? t->nr_held : CHECK_MAX_HELD;
	check_report(INV_NO_ALLOC_ATOMIC, ptr, cs.cpu, &cs,
		     "%s called with %u raw locks held (innermost %s); it takes allocator locks",
		     fn ? fn : "?", raw_locks,
		     top && t->held[top - 1]->name ? t->held[top - 1]->name : "unknown");
}

void check_lock_busy(const struct kenv_lock *lock, int holder_cpu)
{
	struct check_ctx cs;

	/* The holder is this context or one it interrupted: check_lock_acquire() reports. */
	if (check_lock_would_deadlock(lock))
		return;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, lock, cs.cpu, &cs,
		     "self-deadlock: %s is already held (taken on cpu %d) and cannot be released "
		     "while this context spins",
		     lock && lock->name ? lock->name : "(unnamed lock)", holder_cpu);
}

void check_stall_busy(const char *who, const char *what, int cpu, unsigned int steps,
		      uint64_t now_ns)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_PROGRESS, NULL, cpu, &cs,
		     "livelock: %s%s%s is still busy after %u steps at virtual time %llu ns",
		     who ? who : "?", what ? " waiting for " : "", what ? what : "", steps,
		     (unsigned long long)now_ns);
}

void check_stall_blocked(const char *who, const char *what, int cpu, unsigned int blocked,
			 const char *why)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	if (blocked)
		check_report(INV_PROGRESS, NULL, cpu, &cs,
			     "%s%s%s: %u context(s) stay blocked with nothing left to run%s%s",
			     who ? who : "?", what ? " waits for " : "", what ? what : "", blocked,
			     why ? ": " : "", why ? why : "");
	else
		check_report(INV_PROGRESS, NULL, cpu, &cs,
			     "%s%s%s but nothing can run%s%s%s", who ? who : "?",
			     what ? " waits for " : "", what ? what : "", why ? " (" : "",
			     why ? why : "", why ? ")" : "");
}
