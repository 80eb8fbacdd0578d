/* SPDX-License-Identifier: MIT */
/*
 * check_internal.h - what the checker's files share (not for other modules).
 *
 * Synchronization of the checker's own state:
 *
 *   state                            protected by
 *   -------------------------------  ----------------------------------------
 *   shadow heap, readers, barriers,  the shadow lock (check_shadow.c), a C11
 *   GP counters, hotplug, misuse,    spinlock owned by an OS thread; a call
 *   page owners                      that finds its own thread holding it (a
 *                                    signal handler) defers its operation to
 *                                    a per-thread queue drained before the
 *                                    lock is released
 *   trace ring and hash              lock-free (seqlock slots claimed by CAS,
 *                                    CAS on the hash)
 *   violation counts, first report   atomics; the first report's text is
 *                                    written once by the CAS winner
 *   lock classes, order matrix       atomics (CAS insert, fetch_or bits)
 *   the OS thread's lock stack       thread-local, claim-then-fill slots
 *
 * So no checker path waits for a lock that a signal handler of the same
 * thread might hold, and the report path takes no lock at all.
 *
 * On one OS thread without signal handlers (check_set_one_thread(), the
 * simulation) the same protocols run with the read-modify-writes of their
 * hot paths done as a load then a store (check_cas() and friends below):
 * nothing can come between the two.
 */
#ifndef KVTORTURE_CHECK_INTERNAL_H
#define KVTORTURE_CHECK_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "kvfree_rcu.h"

/* Context: any.  Snapshot the caller's context from the environment. */
void check_ctx_take(struct check_ctx *cs);
/*
 * Context: any.  The caller's task alone, as check_ctx_take() would set
 * cs->task: for a hook whose success path needs nothing else.
 */
struct check_task *check_task_take(void);

/*
 * Report a violation seen in context @cs (the context of the call that found
 * it, which for a deferred operation is the handler that made the call).
 * Lock-free; in CHECK_ABORT mode does not return.  Context: any.
 */
void check_report(enum check_inv inv, const void *obj, int cpu, const struct check_ctx *cs,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void check_vreport(enum check_inv inv, const void *obj, int cpu, const struct check_ctx *cs,
		   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/*
 * check_set_one_thread(): written only while nothing uses the checker, read
 * by every hook.
 */
extern bool check_one_thread;

/*
 * Read-modify-writes of the checker's hot paths: sequentially consistent
 * (check_fetch_add_relaxed: relaxed) on real threads, a relaxed load and a
 * store on one thread.  Statement expressions (GNU C), so that one macro
 * serves every atomic type.
 */
#define check_cas(p, expected, desired)						\
	(check_one_thread ? check_cas_one_(p, expected, desired)		\
			  : atomic_compare_exchange_strong(p, expected, desired))
#define check_cas_one_(p, expected, desired)					\
	__extension__({								\
		__typeof__(*(expected)) cur_ =					\
			atomic_load_explicit((p), memory_order_relaxed);	\
		bool ok_ = cur_ == *(expected);					\
		if (ok_)							\
			atomic_store_explicit((p), (desired), memory_order_relaxed); \
		else								\
			*(expected) = cur_;					\
		ok_;								\
	})
#define check_fetch_or(p, v)							\
	(check_one_thread ? check_fetch_op_one_(p, |, v) : atomic_fetch_or(p, v))
#define check_fetch_add_relaxed(p, v)						\
	(check_one_thread ? check_fetch_op_one_(p, +, v)			\
			  : atomic_fetch_add_explicit(p, v, memory_order_relaxed))
#define check_fetch_op_one_(p, op, v)						\
	__extension__({								\
		__typeof__(atomic_load_explicit((p), memory_order_relaxed)) old_ = \
			atomic_load_explicit((p), memory_order_relaxed);	\
		atomic_store_explicit((p), old_ op (v), memory_order_relaxed);	\
		old_;								\
	})
#define check_store(p, v)							\
	do {									\
		if (check_one_thread)						\
			atomic_store_explicit((p), (v), memory_order_relaxed);	\
		else								\
			atomic_store((p), (v));					\
	} while (0)

/*
 * The run's event sequence: every trace event and every shadow event takes
 * the next number, so "#N" in a report and in the trace are on one scale.
 */
extern _Atomic(uint64_t) check_seq;
static inline uint64_t check_next_seq(void)
{
	return check_fetch_add_relaxed(&check_seq, 1) + 1;
}

/* "NOWAIT|NORETRY"-style names of @gfp's flags into @buf.  Context: any. */
void check_gfp_names(unsigned int gfp, char *buf, size_t size);

/* Append the last @n trace events to @buf (report path).  Context: any. */
size_t check_trace_tail(char *buf, size_t size, unsigned int n);

/* Per-file reset hooks, called by check_reset() with nothing else running. */
void check_trace_reset(void);
void check_shadow_reset(size_t capacity);
void check_locks_reset(void);
void check_report_reset(void);

/* ---- shadow state queries for the end-of-run and mid-run checks ---------- */

/*
 * Run the shadow lock's critical section for a sleep-context caller (never a
 * handler): check_shadow_lock() dies if the calling thread is already inside.
 */
void check_shadow_lock(void);
void check_shadow_unlock(void);
/*
 * Die (exit 99) unless the calling thread holds the shadow lock: the first
 * line of every _locked function; the message names that function.
 */
void check_shadow_assert_held_(const char *func);
#define check_shadow_assert_held() check_shadow_assert_held_(__func__)

struct check_shadow_sums {
	unsigned long outstanding;		/* queued EXPECT_FREE, not freed */
	unsigned long pages_owned[KENV_NR_CPUS_MAX];	/* per check_page_owner() */
	bool pages_reported;			/* check_page_owner() was called */
	bool offline[KENV_NR_CPUS_MAX];		/* per check_cpu_offline/online */
	unsigned long misuse_expected, misuse_warned;
	unsigned long expected_refused, expected_double, expected_headless_atomic;
	uint64_t gp_ended;
	unsigned int went_offline;		/* CPUs that went offline at least once */
};
/* Caller holds the shadow lock. */
void check_shadow_sums_locked(struct check_shadow_sums *sums);
/*
 * MISUSE: the misuse warnings the implementation gave (in @sums) against the
 * calls that expected one, reported with @when before the figures ("" at
 * the end of a run).  Returns true if they balance.  Shadow lock held.
 */
bool check_misuse_balance_locked(const struct check_shadow_sums *sums,
				 const struct check_ctx *cs, const char *when);

/*
 * Visit outstanding objects (queued, not freed) in queue order; @fn returns
 * false to stop.  Caller holds the shadow lock.
 */
struct check_obj_view {
	const void *obj;
	int cpu;
	enum kenv_ctx ctx;
	bool headless;
	enum check_expect expect;
	uint64_t queue_seq, returned_seq, queue_ns, gp_started_at_queue;
	bool cpu_went_offline;		/* its CPU went offline after the queue */
};
void check_shadow_each_outstanding_locked(bool (*fn)(const struct check_obj_view *v, void *arg),
					  void *arg);

/* How many operations were deferred from signal handlers since the reset (tests). */
unsigned long check_shadow_deferred_total(void);

/*
 * PER-CPU across a lock drop (check_locks.c): a driver's kvfree_rcu() call
 * begins in context @t (check_obj_queued), and a storage page is attached
 * under @lock in context @cs (check_page_owner); reports a page allocated
 * with one krc lock dropped and attached under another of the same class.
 */
void check_locks_call_begin(const struct check_task *t);
void check_locks_page_attach(const void *page, int cpu, const struct kenv_lock *lock,
			     const struct check_ctx *cs);

/* KENV_WARN_MISUSE from check_warned(): counted and matched to an object. */
void check_shadow_misuse_warned(const void *obj, const char *cond);

/*
 * For the structural checks (check_structure.c), caller holds the shadow
 * lock.  The CPU whose krc owns @page per check_page_owner(), or -1 (none,
 * or never reported); *@reported: whether the implementation reports pages
 * at all.
 */
int check_shadow_page_owner_locked(const void *page, bool *reported);
/* What the shadow knows of @obj; *@seq: when it was queued, or freed. */
enum check_known {
	CHECK_KNOWN_NONE,	/* never seen, or freed and forgotten */
	CHECK_KNOWN_NEW,	/* announced (check_obj_new), never queued */
	CHECK_KNOWN_QUEUED,	/* queued and not freed */
	CHECK_KNOWN_FREED,	/* freed */
};
enum check_known check_shadow_obj_known_locked(const void *obj, uint64_t *seq);

/*
 * Where @obj is now, in words, into @buf (check_structure.c): on which CPU's
 * krc or batch slot, which channel and page, or on none of them; found by
 * the implementation's walk of every CPU, under each krc lock on real
 * threads, without one on the checker's one thread (check_set_one_thread()).
 * For a report that names an object the implementation should have let go.
 * Context: sleep, holding no krc lock and not the shadow lock.
 */
size_t check_structure_where(const void *obj, char *buf, size_t size);

/*
 * Called by check_lock_release() first, while the lock is still held, when
 * set (the structural checks' debug mode, check_set_structure_at_unlock()).
 */
extern void (*_Atomic check_lock_release_hook)(const struct kenv_lock *lock);

/* The objects a CPU's snapshot counts pending, over all channels. */
static inline unsigned long check_stats_pending(const struct kvfree_rcu_cpu_stats *st)
{
	unsigned long n = 0;

	for (unsigned int ch = 0; ch < KVFREE_CH_NR; ch++)
		n += st->pending[ch];
	return n;
}

#endif /* KVTORTURE_CHECK_INTERNAL_H */
