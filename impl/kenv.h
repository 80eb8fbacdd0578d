/* SPDX-License-Identifier: MIT */
/*
 * kenv.h - the environment contract.
 *
 * The reference implementation (impl/kvfree_rcu.c) reaches the outside world only
 * through the functions declared here: locks, interrupt and preemption state,
 * context queries, the page allocator, object freeing, timers, work queues,
 * softirqs, RCU, the clock, warnings and scheduling points.  Two environments
 * implement it: the deterministic simulation (harness/sim/) and real threads
 * (stress/posix/).  Exactly one is linked into a program.
 *
 * Every function states the contexts it may be called from:
 *   any      - task, kthread, softirq, hardirq and NMI, irqs on or off, locks held;
 *   atomic   - any context but NMI (may run with irqs off or under a raw lock);
 *   sleep    - task or kthread context, irqs on, no raw lock held, not in a
 *              read-side critical section: the call may block.
 * Calling a "sleep" function from anywhere else is a NO-ALLOC-ATOMIC violation
 * that the environment reports; calling an "atomic" one from NMI is a LOCKING
 * violation.
 *
 * Time is in nanoseconds of the environment's clock (virtual in the simulation).
 * The contract has no memory-ordering surprises: lock/unlock are acquire/release,
 * irq save/restore are compiler barriers for the calling CPU, and every other
 * function that publishes state (queue_work, call_rcu, timer_start) is a full
 * barrier between its caller and the callback it eventually runs.
 */
#ifndef KVTORTURE_KENV_H
#define KVTORTURE_KENV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most CPUs any environment emulates; per-CPU data is sized by it. */
#define KENV_NR_CPUS_MAX 64

/* The size of one storage page handed out by kenv_page_alloc(). */
#define KENV_PAGE_SIZE 4096

/* ---------------------------------------------------------------------------
 * Contexts
 */

enum kenv_ctx {
	KENV_CTX_TASK,		/* a user task inside a system call */
	KENV_CTX_KTHREAD,	/* a kernel thread or a workqueue worker */
	KENV_CTX_SOFTIRQ,	/* serving a softirq (bh) */
	KENV_CTX_HARDIRQ,	/* a device interrupt or timer handler */
	KENV_CTX_NMI,		/* a non-maskable interrupt */
	KENV_CTX_NR
};

/* Name of a context, for reports ("task", "kthread", ...).  Context: any. */
const char *kenv_ctx_name(enum kenv_ctx ctx);

/* The innermost context the caller runs in.  Context: any. */
enum kenv_ctx kenv_context(void);

/* Context: any.  True inside a hardirq handler (not in NMI). */
bool kenv_in_hardirq(void);
/* Context: any.  True while serving a softirq (not merely with bh disabled). */
bool kenv_in_softirq(void);
/* Context: any. */
bool kenv_in_nmi(void);
/* Context: any.  True when irqs are (soft-)disabled on this CPU. */
bool kenv_irqs_disabled(void);
/*
 * Context: any.  True when the caller may be preempted and may sleep: task or
 * kthread context, irqs on, preemption and bh enabled, no raw lock held, and
 * not inside an RCU read-side critical section.
 */
bool kenv_preemptible(void);

/*
 * Context: any.  The CPU the caller runs on.  Stable only while preemption or
 * irqs are disabled, or a raw lock is held; otherwise the task may migrate at
 * the next scheduling point.
 */
int kenv_cpu(void);
/* Context: any.  The number of emulated CPUs (ids 0 .. n-1). */
int kenv_nr_cpus(void);
/* Context: any.  Whether @cpu is online. */
bool kenv_cpu_online(int cpu);

/* ---------------------------------------------------------------------------
 * Raw spinlocks, irq masking, preemption and bh
 *
 * A raw lock never sleeps; holding one makes the holder atomic.  The fields are
 * the environment's: the implementation only passes the lock around.
 */

struct kenv_lock {
	_Atomic(uintptr_t) word;	/* env: owner tag, 0 when free */
	const char *name;		/* for reports; set by init */
	int cpu;			/* env: CPU the holder ran on */
	unsigned int depth;		/* env: spare for the lock checker */
};

/* Context: any, before first use.  @name must outlive the lock. */
void kenv_lock_init(struct kenv_lock *lock, const char *name);
/*
 * Context: atomic.  Spins until the lock is free.  The caller must already
 * have irqs disabled if the lock is ever taken from hardirq context (LOCKING);
 * re-taking a lock the caller's CPU already holds is a LOCKING violation that
 * the environment reports instead of deadlocking.
 */
void kenv_raw_spin_lock(struct kenv_lock *lock);
/* Context: atomic.  Pairs with kenv_raw_spin_lock(). */
void kenv_raw_spin_unlock(struct kenv_lock *lock);
/* Context: atomic.  Whether the calling context holds @lock (for asserts). */
bool kenv_lock_held(const struct kenv_lock *lock);

/*
 * Context: any.  Disable irqs on this CPU and return the previous state;
 * pairs with kenv_local_irq_restore().  Interrupts arriving meanwhile are held
 * back and delivered on restore.
 */
unsigned long kenv_local_irq_save(void);
/* Context: any.  Restores the state kenv_local_irq_save() returned. */
void kenv_local_irq_restore(unsigned long flags);

/* Context: any but NMI.  Nestable; pairs with kenv_preempt_enable(). */
void kenv_preempt_disable(void);
/* Context: any but NMI.  May be a preemption point when the count drops to 0. */
void kenv_preempt_enable(void);
/* Context: task or kthread.  Nestable; pairs with kenv_local_bh_enable(). */
void kenv_local_bh_disable(void);
/* Context: task or kthread.  Runs pending softirqs when the count drops to 0. */
void kenv_local_bh_enable(void);

/*
 * Context: sleep.  Declares that the caller may sleep here.  Called from an
 * atomic context, the environment reports NO-ALLOC-ATOMIC naming @site.
 */
void kenv_might_sleep(const char *site);

/*
 * Context: any.  A scheduling instrumentation point: the environment may
 * deliver a pending or injected interrupt or NMI here, preempt the task, or
 * migrate it (only where preemptible), or insert a delay.  @site is a static
 * string naming the place, kept for traces and hang reports.
 */
void kenv_sched_point(const char *site);

/* Context: sleep.  A voluntary preemption point (cond_resched()). */
void kenv_cond_resched(void);

/*
 * Fine-grained scheduling points.  Every access to shared state that
 * kcompat.h spells - READ_ONCE/WRITE_ONCE, the atomics, the per-CPU accessors
 * - and, inside the environment, local_irq_save, preempt_disable and
 * local_bh_disable, is a place where a CPU could be interrupted or a task
 * preempted and migrated.  Real threads interleave there by themselves; a
 * simulation that schedules only at kenv_sched_point() and the lock and
 * irq-restore points cannot reach a race between a lockless read and the
 * lock taken after it.  While kenv_fine_points is true (the sim sets it for
 * its PCT exploration mode), each of them calls kenv_sched_point_fine(), which
 * does what kenv_sched_point() does; otherwise each costs one relaxed load and
 * a branch not taken (the posix environment never sets it).
 *
 * kenv_fine_points: written by the environment only, before the code under
 * test runs; read anywhere.
 */
extern _Atomic(bool) kenv_fine_points;
/* Context: any.  Only called while kenv_fine_points is set. */
void kenv_sched_point_fine(const char *site);

/*
 * Builds with coverage feedback for the fuzzers (clang's SanitizerCoverage,
 * AFL++'s pass) instrument the code under test after inlining: the flag's
 * test inlined at every access point would be an edge and a traced
 * comparison of the harness's, in every function of the implementation,
 * taken by whether an input turned PCT on (a third of a fuzz input's
 * comparison tracing).  There the test runs out of line, in the environment,
 * whose code is not instrumented.
 */
#if defined(__AFL_COMPILER)
#define KENV_EDGE_FEEDBACK 1
#elif defined(__has_feature)
#if __has_feature(coverage_sanitizer)
#define KENV_EDGE_FEEDBACK 1
#endif
#endif

/* Context: any.  kenv_access_point() out of line (the environment's). */
void kenv_access_point_out(const char *site);

/* Context: any.  A fine-grained scheduling point named @site (a static string). */
static inline void kenv_access_point(const char *site)
{
#ifdef KENV_EDGE_FEEDBACK
	kenv_access_point_out(site);
#else
	if (__builtin_expect(atomic_load_explicit(&kenv_fine_points, memory_order_relaxed), 0))
		kenv_sched_point_fine(site);
#endif
}

/*
 * Context: any.  The CPU the caller runs on, for a caller that relies on
 * staying there until it is done with it (smp_processor_id(), this_cpu_ptr()):
 * it must have preemption or irqs disabled, hold a raw lock, run in an
 * interrupt or softirq, or be a context bound to its CPU (a kthread or
 * kworker).  From a task that may be preempted and migrated right after the
 * read, the environment reports the access to the checker (LOCKING, as the
 * kernel's CONFIG_DEBUG_PREEMPT reports "using smp_processor_id() in
 * preemptible code"), and the read is a fine-grained scheduling point after
 * it, so a migration there can also be seen to do harm.  kenv_cpu() is the
 * unchecked read (raw_smp_processor_id(), raw_cpu_ptr()), for statistics and
 * hints that may be stale.  @site names the caller (a static string).
 */
int kenv_this_cpu(const char *site);

/* ---------------------------------------------------------------------------
 * Page allocation
 */

enum kenv_gfp {
	KENV_GFP_NOWAIT = 1u << 0,	/* do not sleep; may take allocator locks */
	KENV_GFP_KERNEL = 1u << 1,	/* may sleep and reclaim */
	KENV_GFP_NORETRY = 1u << 2,	/* fail fast instead of retrying reclaim */
	KENV_GFP_NOMEMALLOC = 1u << 3,	/* never dip into emergency reserves */
	KENV_GFP_NOWARN = 1u << 4,	/* no report on failure */
	/*
	 * Only from this CPU's lock-free page pool: no lock, no sleep, may fail.
	 * The one allocation allowed under a raw lock (the `nolocks` policy).
	 */
	KENV_GFP_POOL = 1u << 5,
};

/*
 * Allocate one KENV_PAGE_SIZE page, or NULL.  Context: with KENV_GFP_KERNEL,
 * sleep; with KENV_GFP_NOWAIT, atomic but never under a raw lock or with irqs
 * disabled (the allocator takes sleeping locks on PREEMPT_RT); with
 * KENV_GFP_POOL, atomic (allowed under a raw lock).  Anything else is a
 * NO-ALLOC-ATOMIC violation.  Without NORETRY/NOMEMALLOC a failed KERNEL
 * allocation is an "OOM" that the environment reports (BOUNDED).
 * The page may fail to arrive at any call (fault injection).
 */
void *kenv_page_alloc(unsigned int gfp);
/* Context: atomic, not under a raw lock (returns the page to its allocator). */
void kenv_page_free(void *page);
/*
 * Context: atomic.  Ownership of storage pages, for the PER-CPU invariant:
 * @page becomes a bulk page of @cpu's krc (@cpu >= 0, the caller holds
 * @krc_lock), or stops being one (@cpu == -1: back to the cache or the
 * allocator; @krc_lock is the lock held then, or NULL).  Environments forward
 * it to the checker.
 */
void kenv_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock);

/* ---------------------------------------------------------------------------
 * Freeing objects: the slab channel (bulk) and the vmalloc channel (one by one)
 */

/* Context: any.  Whether @ptr belongs to the vmalloc-like large-object space. */
bool kenv_is_vmalloc_addr(const void *ptr);
/* Context: atomic, not under a raw lock.  Frees one slab object (kfree). */
void kenv_kfree(void *ptr);
/* Context: atomic, not under a raw lock.  Frees @nr slab objects (kfree_bulk). */
void kenv_kfree_bulk(size_t nr, void **ptrs);
/* Context: sleep or atomic, not under a raw lock.  Frees one large object (vfree). */
void kenv_vfree(void *ptr);

/*
 * Double-queue detection (debug objects).  Context: any, called outside the
 * raw lock.  kenv_debug_obj_queue() returns false when @ptr is already queued
 * for a deferred free: the caller warns (MISUSE) and leaks.  Every object that
 * was queued successfully is unqueued exactly once, just before it is freed.
 */
bool kenv_debug_obj_queue(void *ptr);
void kenv_debug_obj_unqueue(void *ptr);

/* ---------------------------------------------------------------------------
 * Timers (hrtimer), delayed work, work queues, rcu_work, softirqs
 *
 * Fields marked "env" are owned by the environment and only read by the
 * implementation through the accessors below.
 */

struct kenv_timer;
typedef void (*kenv_timer_fn)(struct kenv_timer *timer);

struct kenv_timer {
	kenv_timer_fn func;		/* runs in hardirq context on @cpu */
	uint64_t expires;		/* env */
	_Atomic(unsigned int) state;	/* env */
	int cpu;			/* env */
	struct kenv_timer *next;	/* env */
	void *env_priv;			/* env */
};

/* Context: any, before first use. */
void kenv_timer_init(struct kenv_timer *timer, kenv_timer_fn func);
/*
 * Context: atomic.  (Re)arm @timer to fire @delay_ns from now on the calling
 * CPU; a pending timer is re-armed.  The handler runs in hardirq context.
 */
void kenv_timer_start(struct kenv_timer *timer, uint64_t delay_ns);
/* Context: atomic.  Disarm; returns whether the timer was pending. */
bool kenv_timer_cancel(struct kenv_timer *timer);
/*
 * Context: any but @timer's own handler (the wait would never end).  Disarm,
 * then wait until no handler of @timer runs anywhere, as hrtimer_cancel()
 * does; returns whether the timer was pending.
 */
bool kenv_timer_cancel_sync(struct kenv_timer *timer);
/* Context: any.  Whether @timer is armed and has not fired yet (racy without its owner's lock). */
bool kenv_timer_pending(const struct kenv_timer *timer);

enum kenv_wq {
	KENV_WQ_RECLAIM,	/* unbound, WQ_MEM_RECLAIM: reclaim work and the monitor */
	KENV_WQ_HIGHPRI,	/* per-CPU high priority: page-cache refill */
	KENV_WQ_NR
};

struct kenv_work;
typedef void (*kenv_work_fn)(struct kenv_work *work);

struct kenv_work {
	kenv_work_fn func;		/* runs in kthread context; may sleep */
	_Atomic(unsigned int) state;	/* env: pending / running bits */
	int cpu;			/* env: CPU it was queued on */
	enum kenv_wq wq;		/* env */
	struct kenv_work *next;		/* env */
	uint64_t seq;			/* env: generation, for flush */
	void *env_priv;			/* env */
};

struct kenv_delayed_work {
	struct kenv_work work;
	struct kenv_timer timer;	/* env: fires and queues @work */
};

struct kenv_rcu_head {
	struct kenv_rcu_head *next;
	void (*func)(struct kenv_rcu_head *head);
};

struct kenv_rcu_work {
	struct kenv_work work;
	struct kenv_rcu_head rcu;	/* env: the GP callback that queues @work */
	enum kenv_wq wq;		/* env */
};

/* Context: any, before first use. */
void kenv_work_init(struct kenv_work *work, kenv_work_fn func);
void kenv_delayed_work_init(struct kenv_delayed_work *dwork, kenv_work_fn func);
void kenv_rcu_work_init(struct kenv_rcu_work *rwork, kenv_work_fn func);

/* The delayed work that embeds @work (inside its func). */
#define kenv_to_delayed_work(w) \
	((struct kenv_delayed_work *)((char *)(w) - offsetof(struct kenv_delayed_work, work)))
#define kenv_to_rcu_work(w) \
	((struct kenv_rcu_work *)((char *)(w) - offsetof(struct kenv_rcu_work, work)))

/* Context: atomic.  Queue @work unless pending; returns whether it was queued. */
bool kenv_queue_work(enum kenv_wq wq, struct kenv_work *work);
/*
 * Context: atomic.  Run @dwork's func @delay_ns from now unless it is already
 * pending (then nothing changes and false is returned).
 */
bool kenv_queue_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			     uint64_t delay_ns);
/*
 * Context: atomic.  Like queue, but a pending work's timer is re-armed to
 * @delay_ns from now.  Returns whether it was pending before.
 */
bool kenv_mod_delayed_work(enum kenv_wq wq, struct kenv_delayed_work *dwork,
			   uint64_t delay_ns);
/* Context: any.  Whether @dwork waits for its timer or to run. */
bool kenv_delayed_work_pending(const struct kenv_delayed_work *dwork);
/* Context: any.  When a pending @dwork's timer fires, in clock ns. */
uint64_t kenv_delayed_work_expires(const struct kenv_delayed_work *dwork);
/* Context: sleep.  Cancel @dwork and wait for a running instance to finish. */
bool kenv_cancel_delayed_work_sync(struct kenv_delayed_work *dwork);
/* Context: sleep.  Wait until a queued or running @work has finished. */
void kenv_flush_work(struct kenv_work *work);
/*
 * Context: atomic.  After a full grace period, queue @rwork->work on @wq
 * (queue_rcu_work()).  Returns false, doing nothing, if it is already pending
 * (waiting for its GP or queued): then no new GP is requested.
 */
bool kenv_queue_rcu_work(enum kenv_wq wq, struct kenv_rcu_work *rwork);
/* Context: sleep.  Wait for a pending @rwork's GP and for its func to finish. */
void kenv_flush_rcu_work(struct kenv_rcu_work *rwork);
/* Context: any.  Whether @rwork waits for its GP, or is queued, or runs. */
bool kenv_rcu_work_busy(const struct kenv_rcu_work *rwork);
/* Context: any.  Whether @work (a delayed work's too) is queued, waits for its timer, or runs. */
bool kenv_work_busy(const struct kenv_work *work);

enum kenv_softirq {
	KENV_SOFTIRQ_KVFREE,	/* the `watermark` policy's refill */
	KENV_SOFTIRQ_NR
};

/* Context: any, at init.  @fn runs in softirq context on the raising CPU. */
void kenv_open_softirq(enum kenv_softirq nr, void (*fn)(void));
/*
 * Context: atomic.  Mark @nr pending on this CPU; it runs at the next irq exit,
 * bh enable, or in this CPU's ksoftirqd.
 */
void kenv_raise_softirq(enum kenv_softirq nr);

/* ---------------------------------------------------------------------------
 * RCU
 *
 * Cookies follow the kernel's polled API: get_state returns a value that
 * poll_state reports as passed once a full grace period has elapsed after the
 * get_state call.  Cookies are opaque to the implementation.
 */

/* Context: any but NMI.  Pairs with kenv_rcu_read_unlock(); nestable. */
void kenv_rcu_read_lock(void);
void kenv_rcu_read_unlock(void);
/* Context: atomic.  A cookie for the grace period that must still elapse. */
unsigned long kenv_get_state_synchronize_rcu(void);
/* Context: any.  Whether the grace period @cookie asked for has elapsed. */
bool kenv_poll_state_synchronize_rcu(unsigned long cookie);
/* Context: atomic.  Run @func(@head) in softirq-like context after a GP. */
void kenv_call_rcu(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *));
/* Context: sleep.  Wait for a full grace period. */
void kenv_synchronize_rcu(void);
/* Context: sleep.  Wait for every callback queued by kenv_call_rcu() so far. */
void kenv_rcu_barrier(void);

/* ---------------------------------------------------------------------------
 * Clock, warnings, statistics
 */

/* Context: any.  Monotonic clock, nanoseconds. */
uint64_t kenv_clock_ns(void);

enum kenv_warn_kind {
	/*
	 * The implementation found its own invariant broken and is leaking to
	 * stay safe (the kernel's WARN_ON_ONCE): fatal in harness builds.
	 */
	KENV_WARN_BUG,
	/* The caller misused the API (double queue, NMI call, ...): counted. */
	KENV_WARN_MISUSE,
};

/*
 * Context: any, including NMI and under raw locks: the report path neither
 * allocates nor takes a lock under test.  @invariant is an ID of DESIGN.md
 * section 4 ("GP-SAFETY", "MISUSE", ...), @cond the failed condition's text,
 * @obj the object concerned or NULL.
 */
void kenv_warn(enum kenv_warn_kind kind, const char *invariant, const char *cond,
	       const void *obj, const char *file, int line, const char *func);

/*
 * Environment failures (out of memory for the harness itself, a failed system
 * call): always on, print file, function, line and message, and exit 99.
 * Context: any.
 */
_Noreturn void kenv_die(const char *file, int line, const char *func, const char *msg);
#define KENV_DIE(msg) kenv_die(__FILE__, __LINE__, __func__, (msg))

/*
 * WARN_ON_ONCE-style check: evaluates @cond once and returns it; when it is
 * true, the environment is told every time (it counts each one and prints the
 * first per site).  No side effects inside @cond.
 */
static inline bool kenv_warn_on_(bool c, enum kenv_warn_kind kind, const char *inv,
				 const char *text, const void *obj, const char *file,
				 int line, const char *func)
{
	if (c)
		kenv_warn(kind, inv, text, obj, file, line, func);
	return c;
}
#define KENV_WARN_ON_ONCE(kind, inv, cond, obj) \
	kenv_warn_on_(!!(cond), (kind), (inv), #cond, (obj), __FILE__, __LINE__, __func__)

#ifdef KENV_DEBUG
#define KENV_ASSERT(cond)							\
	do {									\
		if (!(cond))							\
			kenv_die(__FILE__, __LINE__, __func__,			\
				 "assertion failed: " #cond);			\
	} while (0)
#else
#define KENV_ASSERT(cond) ((void)sizeof(cond))
#endif

#endif /* KVTORTURE_KENV_H */
