// SPDX-License-Identifier: MIT
/*
 * check_none.c - a checker that checks nothing: every hook of check.h that
 * the simulation, the op executor and the implementation call, doing nothing
 * and answering "fine".  Linked into fuzz-ops-nocheck only, the ceiling of
 * `ci/bench --fuzz --ceiling`: how fast the rest of a fuzz input runs, to
 * tell the checker's share of the time from everything else's.  It finds
 * nothing but crashes and sanitizer reports: never fuzz with it.
 *
 * Linked before the checker's library, it leaves none of that library's
 * files to be pulled in.  A hook added to check.h and called from outside
 * the checker must be added here too: until it is, the link pulls in the
 * checker's file that defines it, and with it definitions that clash with
 * these (a libFuzzer build, as ci/test's, fails to link).
 */
#include "check.h"
#include "kenv.h"
#include "kvfree_rcu.h"

/* Every parameter is ignored: that is the point. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

/* ---- the run ------------------------------------------------------------------ */

void check_reset(void) {}
void check_set_repro(const char *cmd) {}
void check_set_mode(enum check_mode mode) {}
void check_set_abort_hook(void (*hook)(enum check_inv inv, const char *report)) {}
void check_set_one_thread(bool one) {}
void check_set_quiet(bool quiet) {}
void check_set_trace_hash(bool on) {}
void check_set_structure_at_unlock(bool on) {}
bool check_krc_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	return kvfree_rcu_snapshot(cpu, st);
}

enum check_inv check_violated(const char **report)
{
	if (report)
		*report = NULL;
	return INV_NR;
}

uint64_t check_trace_hash(void)
{
	return 0;
}

void check_trace_dump(int fd) {}
void check_trace_event_(struct check_trace_site *site, uint64_t a0, uint64_t a1, uint64_t a2,
			uint64_t a3, uint64_t a4, uint64_t a5) {}

/* ---- objects, grace periods, readers -------------------------------------------- */

void check_obj_new(const void *obj, size_t size, bool vmalloc) {}
void check_obj_publish(const void *obj) {}
void check_obj_unpublish(const void *obj) {}
void check_obj_queued(const void *obj, int cpu, enum kenv_ctx ctx, bool headless,
		      enum check_expect expect) {}
void check_obj_queue_returned(const void *obj) {}
void check_obj_freed(const void *obj, const char *how) {}
void check_rcu_work_early(void) {}
void check_debug_obj_unqueued(const void *obj, bool was_queued) {}
void check_page_freed(const void *page, bool allocated) {}
void kenv_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock) {}
void check_gp_started(void) {}
void check_gp_ended(void) {}
void check_reader_begin(int id) {}
void check_reader_deref(int id, const void *obj) {}
void check_reader_end(int id) {}
void check_reader_found(int reader, int cpu, const void *obj, enum check_found found,
			const char *detail) {}
void check_barrier_begin(void) {}
void check_barrier_end(void) {}
void check_cpu_offline(int cpu) {}
void check_cpu_online(int cpu) {}

/* ---- contexts, locks, allocations ------------------------------------------------ */

void check_alloc(unsigned int gfp, const char *site) {}
void check_alloc_failed(unsigned int gfp, int cpu, const char *why) {}
void check_allocator_call(const char *fn, const void *ptr, unsigned int raw_locks) {}
void check_might_sleep(const char *site) {}
void check_lock_acquire(const struct kenv_lock *lock) {}
void check_lock_release(const struct kenv_lock *lock) {}
void check_lock_busy(const struct kenv_lock *lock, int holder_cpu) {}
void check_bh_disable(void) {}
void check_cpu_id_read(const char *site) {}
void check_nest_exit(const char *fn, unsigned int depth) {}
void check_warned(enum kenv_warn_kind kind, const char *inv, const char *cond,
		  const void *obj, const char *file, int line, const char *func) {}
void check_stall_busy(const char *who, const char *what, int cpu, unsigned int steps,
		      uint64_t now_ns) {}
void check_stall_blocked(const char *who, const char *what, int cpu, unsigned int blocked,
			 const char *why) {}

bool check_context_left(const char *who, int cpu, const struct check_cpu_state *entered,
			const struct check_cpu_state *left)
{
	return true;
}

/* The caller refuses in NMI context, as with the checker, unreported. */
bool check_nmi_unsafe(const char *fn)
{
	return kenv_in_nmi();
}

/* ---- whole-state checks: all pass ------------------------------------------------ */

bool check_structure(bool lock_krcs)
{
	return true;
}

bool check_progress(uint64_t now_ns, uint64_t bound_ns)
{
	return true;
}

bool check_after_shrinker(void)
{
	return true;
}

bool check_shrink_count(unsigned long count, bool (*unchanged)(void *arg), void *arg)
{
	return true;
}

bool check_shrink_scan_begin(struct check_shrink_before *b)
{
	return false;
}

bool check_shrink_scan_end(const struct check_shrink_before *b, unsigned long nr_to_scan)
{
	return true;
}

bool check_api_edges(int cpu)
{
	return true;
}

bool check_accounting(void)
{
	return true;
}

bool check_final(void)
{
	return true;
}

bool check_after_exit(void)
{
	return true;
}
