// SPDX-License-Identifier: MIT
/*
 * check_env.c - the rules on events the environments report (check.h,
 * "events the environments report"): a failed page allocation, memory given
 * back to the allocator, the debug-objects set, a stale object seen by a
 * reader, a lock held by an interrupted context of the same thread, an
 * enable without its disable.
 *
 * Each rule is written once, here; the sim and the posix environment only
 * say what happened.  Like every report path, none of them allocates or
 * takes a lock under test.
 */
#include <stdarg.h>

#include "check_fmt.h"
#include "check_internal.h"

/* Room for what an environment says it saw (check_obj_stale). */
#define SEEN_MAX 256

static const char *name_of(const struct kenv_lock *lock)
{
	return lock && lock->name ? lock->name : "?";
}

void check_page_alloc_failed(unsigned int gfp, const char *why)
{
	struct check_ctx cs;

	/* Only a sleeping allocation that may not fail: POOL and NOWAIT may, so may NORETRY. */
	if ((gfp & KENV_GFP_POOL) || !(gfp & KENV_GFP_KERNEL) ||
	    (gfp & (KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC)))
		return;
	check_ctx_take(&cs);
	check_report(INV_BOUNDED, NULL, cs.cpu, &cs,
		     "OOM: a sleeping page allocation (gfp %#x: KERNEL without NORETRY or "
		     "NOMEMALLOC) failed (%s): the kernel would call the OOM killer rather "
		     "than fail it; a refill must ask with NORETRY | NOMEMALLOC",
		     gfp, why ? why : "?");
}

void check_mem_release(const void *ptr, const char *site)
{
	const struct check_task *t = check_current();
	struct check_ctx cs;
	unsigned int top;

	/* The common case costs one load: no raw lock held. */
	if (!t || !t->nr_held)
		return;
	check_ctx_take(&cs);
	top = (t->nr_held <= CHECK_MAX_HELD ? t->nr_held : CHECK_MAX_HELD) - 1;
	check_report(INV_NO_ALLOC_ATOMIC, ptr, cs.cpu, &cs,
		     "%s of %p under raw lock %s (%u held): giving memory back takes the "
		     "allocator's own locks (sleeping ones on PREEMPT_RT)",
		     site ? site : "?", ptr, name_of(t->held[top]), t->nr_held);
}

void check_debug_obj_not_queued(const void *obj)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_EXACTLY_ONCE, obj, cs.cpu, &cs,
		     "debug-objects unqueue of %p, which is not queued (unqueued twice, or "
		     "never queued)", obj);
}

void check_debug_obj_freed_queued(const void *obj, const char *how)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_EXACTLY_ONCE, obj, cs.cpu, &cs,
		     "%s of %p while debug objects still has it queued (no unqueue before "
		     "the free)", how ? how : "?", obj);
}

void check_obj_stale(const void *obj, const char *who, const char *fmt, ...)
{
	struct check_ctx cs;
	char seen[SEEN_MAX];
	va_list ap;

	va_start(ap, fmt);
	check_vfmt(seen, sizeof(seen), fmt, ap);
	va_end(ap);
	check_ctx_take(&cs);
	check_report(INV_GP_SAFETY, obj, cs.cpu, &cs,
		     "%s reached %p inside a read-side critical section, but %s: it was "
		     "freed while a reader could still reach it", who ? who : "a reader", obj,
		     seen);
}

void check_lock_self_deadlock(const struct kenv_lock *lock, const char *holder)
{
	struct check_ctx cs;

	/* The lock checker saw the holder take it: check_lock_acquire() says it, once. */
	if (check_lock_would_deadlock(lock))
		return;
	check_ctx_take(&cs);
	check_report(INV_LOCKING, lock, cs.cpu, &cs,
		     "self-deadlock: %s re-taken in %s while %s, a context this thread "
		     "interrupted, holds it", name_of(lock),
		     cs.task->name ? cs.task->name : "?", holder ? holder : "?");
}

void check_unmatched_enable(const char *what)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_LOCKING, NULL, cs.cpu, &cs,
		     "%s without a matching disable (count already 0)", what ? what : "?");
}
