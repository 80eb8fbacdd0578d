/* SPDX-License-Identifier: MIT */
/*
 * check_mem.c - the rules on what an environment observes of memory: a failed
 * page allocation (the OOM bound, BOUNDED), a page or debug object given back
 * twice (EXACTLY-ONCE), and an object a reader still inside finds freed or
 * overwritten (GP-SAFETY).
 *
 * The environments' allocators know what they have out; they say so here,
 * and the rules are here.  Objects handed to kvfree_rcu() are the shadow
 * heap's (check_obj_freed(), check_shadow.c), including the wrong-channel
 * rule.  No lock; the success paths snapshot no context.
 */
#include "check.h"
#include "check_internal.h"

void check_alloc_failed(unsigned int gfp, int cpu, const char *why)
{
	struct check_ctx cs;
	char flags[80];

	/* Failures a real allocator may return; any other would OOM-kill first. */
	if ((gfp & KENV_GFP_POOL) || !(gfp & KENV_GFP_KERNEL) ||
	    (gfp & (KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC)))
		return;
	check_ctx_take(&cs);
	check_gfp_names(gfp, flags, sizeof(flags));
	check_report(INV_BOUNDED, NULL, cpu, &cs,
		     "OOM: a page allocation with gfp=%s failed (%s): a KENV_GFP_KERNEL request "
		     "without NORETRY or NOMEMALLOC invokes the OOM killer, although the caller "
		     "has a fallback",
		     flags, why ? why : "no reason given");
}

/* EXACTLY-ONCE: @p given back (@what) although it was not out. */
static void given_back_twice(const void *p, const char *what)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_EXACTLY_ONCE, p, cs.cpu, &cs, "%s", what);
}

void check_page_freed(const void *page, bool allocated)
{
	if (!allocated)
		given_back_twice(page, "kenv_page_free of a page that is not allocated (double "
				 "free or foreign pointer)");
}

void check_debug_obj_unqueued(const void *obj, bool was_queued)
{
	if (!was_queued)
		given_back_twice(obj, "debug object unqueued but not queued (unqueued twice, or "
				 "never queued)");
}

void check_debug_obj_freed_queued(const void *obj, const char *how)
{
	struct check_ctx cs;

	check_ctx_take(&cs);
	check_report(INV_EXACTLY_ONCE, obj, cs.cpu, &cs,
		     "%s of %p while debug objects still has it queued (no unqueue before "
		     "the free)", how ? how : "?", obj);
}

void check_reader_found(int reader, int cpu, const void *obj, enum check_found found,
			const char *detail)
{
	struct check_ctx cs;

	if (found == CHECK_FOUND_INTACT)
		return;
	check_ctx_take(&cs);
	check_report(INV_GP_SAFETY, obj, cpu, &cs,
		     "reader %d is still inside but %s it reached is %s", reader,
		     detail ? detail : "the object",
		     found == CHECK_FOUND_FREED ? "freed" : "corrupt or reused");
}
