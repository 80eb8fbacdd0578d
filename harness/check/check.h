/* SPDX-License-Identifier: MIT */
/*
 * check.h - the invariant checker shared by the sim and the posix environments.
 *
 * It keeps a shadow state of every object handed to kvfree_rcu() (when and where
 * it was queued, which grace periods have elapsed since, whether a reader can
 * still reach it, how often it was freed) and a lock checker (the raw locks each
 * execution context holds, irq state when they were taken, re-entry from an
 * interrupt or NMI).  The environments call the check_* hooks from their kenv
 * functions; drivers (the op executor, the flooders) call the object hooks.
 * A failed check calls check_fail(), which prints a report naming the
 * invariant ID (DESIGN.md section 4), the object, CPU and context, the last
 * trace events, and the command that reproduces the run.
 *
 * Reporting never allocates and takes no lock under test.  The checker's own
 * state is protected by its own spinlock (posix) or by the simulation being
 * single-threaded.
 */
#ifndef KVTORTURE_CHECK_H
#define KVTORTURE_CHECK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"

struct kvfree_rcu_cpu_stats;

enum check_inv {
	INV_GP_SAFETY,
	INV_EXACTLY_ONCE,
	INV_BARRIER,
	INV_NO_ALLOC_ATOMIC,
	INV_LOCKING,
	INV_PROGRESS,
	INV_BOUNDED,
	INV_ACCOUNTING,
	INV_PER_CPU,
	INV_HOTPLUG,
	INV_MISUSE,
	INV_NR
};

/* "GP-SAFETY", ...; NULL out of range. */
const char *check_inv_name(enum check_inv inv);
/* Parse an ID as printed; false if unknown. */
bool check_inv_parse(const char *name, enum check_inv *inv);

/*
 * Per execution context (a thread in posix, a coroutine or nested handler in
 * the sim) lock checker state.  The environment owns one per context and
 * returns it from check_current().
 */
#define CHECK_MAX_HELD 8
struct check_task {
	const struct kenv_lock *held[CHECK_MAX_HELD];
	bool held_irqs_off[CHECK_MAX_HELD];	/* irqs were off when taken */
	unsigned int nr_held;
	const char *last_site;			/* last kenv_sched_point() */
	const char *name;			/* "cpu1/task", "cpu0/kworker", ... */
	/*
	 * Runs an rcu work the environment let run before its grace period
	 * (check_rcu_work_early()): a GP-SAFETY warning here is the
	 * implementation's defence working.
	 */
	bool rcu_work_early;
	/*
	 * A CPU's number plus one while this context reads that CPU's krc
	 * through check_krc_snapshot(), until its first release of that krc's
	 * lock; 0 otherwise.
	 */
	unsigned int reading_krc;
};

/* Provided by the environment: the caller's context record.  Context: any. */
struct check_task *check_current(void);

/* Everything the checker needs to know about the calling context, taken once. */
struct check_ctx {
	struct check_task *task;	/* never NULL: a placeholder for unknown threads */
	int cpu;
	enum kenv_ctx ctx;
	bool irqs_off, hardirq, softirq, nmi, preemptible;
};
/*
 * The caller's context, all of it: check_current() (NULL allowed), then what
 * kenv_cpu(), kenv_context(), kenv_in_nmi(), kenv_in_hardirq(),
 * kenv_in_softirq(), kenv_irqs_disabled() and kenv_preemptible() answer.
 * The checker's own definition asks them one by one; it is a weak symbol, so
 * an environment that can answer in one go defines its own (the simulation,
 * where every hook took these seven calls).  Context: any.
 */
void check_env_context(struct check_ctx *cs);

/* ---- run lifecycle ------------------------------------------------------- */

/* Forget all shadow state and counts; start a new run.  Context: sleep. */
void check_reset(void);
/*
 * The command that reproduces this run, printed in every report (for example
 * "kvtorture replay crash.kvt" or "kvtorture stress --seed 7 ...").  Copied.
 */
void check_set_repro(const char *cmd);
/*
 * When a check fails: CHECK_ABORT (default) prints the report and exits 1 after
 * running the abort hook (which writes the reproducer); CHECK_RECORD records the
 * first violation and goes on, for callers that finish the run then ask
 * check_violated() (the fuzz targets abort; the unit tests record).
 */
enum check_mode { CHECK_ABORT, CHECK_RECORD };
void check_set_mode(enum check_mode mode);
/* Called once, before exit, on the first violation in CHECK_ABORT mode. */
void check_set_abort_hook(void (*hook)(enum check_inv inv, const char *report));
/* The first violation of the run, or INV_NR for none; @report gets its text. */
enum check_inv check_violated(const char **report);
/* How many violations of @inv were seen in this run. */
unsigned long check_count(enum check_inv inv);
/*
 * Size of the shadow heap: how many distinct objects (queued or announced and
 * not yet freed) it can track at once; takes effect at the next check_reset()
 * (default 65536).  Freed objects are forgotten when room is needed, so the
 * limit is on live objects; exceeding it is a set-up error (exit 99).
 * Context: sleep, before check_reset().
 */
void check_set_capacity(size_t objs);
/*
 * Whether every context that calls the checker runs on one OS thread and no
 * signal handler calls it (the simulation: coroutines and nested handlers on
 * the driver's thread).  Then the checker's own synchronization (the trace
 * ring, the shadow lock, the lock checker's per-thread list and class table)
 * does its read-modify-writes as plain loads and stores: their lock prefix
 * was the largest cost of a simulated event.  Default false (real threads,
 * signals).  Context: sleep, with nothing else using the checker.
 */
void check_set_one_thread(bool one);
/*
 * CHECK_RECORD prints the first report of each invariant ID; quiet prints
 * none (unit tests that provoke violations on purpose).  Context: sleep.
 */
void check_set_quiet(bool quiet);

/* ---- trace ---------------------------------------------------------------- */

/*
 * check_trace(FMT, ARGS...): append an event to the trace ring (kept for
 * reports and replay -v) and fold it into the run's trace hash.  The event is
 * recorded as it is, its call site (FMT) and up to CHECK_TRACE_ARGS raw
 * argument words; text is made only when a report, check_trace_tail() or
 * check_trace_dump() asks for it, with the checker's formatter (check_fmt.h).
 * Hence:
 *   - FMT is a string literal; it names the kind of event, and the hash folds
 *     a hash of its text (the same in every build), never its address;
 *   - arguments are integers of at most 64 bits, or strings for %s that stay
 *     valid and unchanged for the whole run (literals, static tables: they
 *     are read when the text is made, and their hashes are kept by address);
 *     no floating point, no %p (an address would enter the hash);
 *   - the hash folds, per event, FMT's hash, each integer argument as a
 *     64-bit word (signed ones sign-extended) and each string's hash: a
 *     deterministic function of the event sequence, equal across compilers
 *     and sanitizer builds.
 * The compiler checks FMT against the arguments as for printf.
 * Context: any (signal handlers and NMIs included); lock-free, no allocation.
 */
#define CHECK_TRACE_ARGS 6
#define check_trace(fmt_, ...)							\
	do {									\
		static struct check_trace_site check_trace_site_ = { .fmt = fmt_ }; \
		if (0)								\
			check_trace_printf_(fmt_, ##__VA_ARGS__);		\
		check_trace_event_(&check_trace_site_,				\
				   CHECK_TRACE_WORDS_(CHECK_TRACE_NARGS_(__VA_ARGS__), \
						      ##__VA_ARGS__));		\
	} while (0)
/* FNV-style hash over every traced event of the run: same input, same hash. */
uint64_t check_trace_hash(void);
/*
 * Whether events are folded into that hash (on by default; kept across
 * check_reset()).  Off, the ring still records every event for reports and
 * check_trace_hash() answers 0: for a caller that never reads the hash (a
 * fuzz target), where the folding was a tenth of an input's time.  Context:
 * between runs.
 */
void check_set_trace_hash(bool on);
/* Print the whole retained trace (replay -v). */
void check_trace_dump(int fd);

/*
 * What check_trace() expands to (not for direct use).  A call site's record:
 * its format, and what the first event worked out from it (kind: a hash of
 * the format's text, 0 until then; shape: how many arguments, which are
 * strings), published with release/acquire so that any context may be first.
 */
struct check_trace_site {
	const char *fmt;
	_Atomic(uint64_t) kind;
	_Atomic(uint32_t) shape;
};
void check_trace_event_(struct check_trace_site *site, uint64_t a0, uint64_t a1, uint64_t a2,
			uint64_t a3, uint64_t a4, uint64_t a5);
static inline __attribute__((format(printf, 1, 2))) void check_trace_printf_(const char *fmt, ...)
{
	(void)fmt;
}
/* How many arguments (0 to 6; a seventh fails to compile: no _WORDS_7). */
#define CHECK_TRACE_NARGS_(...) CHECK_TRACE_NTH_(0, ##__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define CHECK_TRACE_NTH_(_0, _1, _2, _3, _4, _5, _6, _7, _8, n, ...) n
/* Each argument as a word, padded with zeros to CHECK_TRACE_ARGS words. */
#define CHECK_TRACE_W_(x) ((uint64_t)(uintptr_t)(x))
#define CHECK_TRACE_CAT_(a, b) a##b
#define CHECK_TRACE_WORDS_(n, ...) CHECK_TRACE_CAT_(CHECK_TRACE_WORDS_, n)(__VA_ARGS__)
#define CHECK_TRACE_WORDS_0() 0, 0, 0, 0, 0, 0
#define CHECK_TRACE_WORDS_1(a) CHECK_TRACE_W_(a), 0, 0, 0, 0, 0
#define CHECK_TRACE_WORDS_2(a, b) CHECK_TRACE_W_(a), CHECK_TRACE_W_(b), 0, 0, 0, 0
#define CHECK_TRACE_WORDS_3(a, b, c) \
	CHECK_TRACE_W_(a), CHECK_TRACE_W_(b), CHECK_TRACE_W_(c), 0, 0, 0
#define CHECK_TRACE_WORDS_4(a, b, c, d) \
	CHECK_TRACE_W_(a), CHECK_TRACE_W_(b), CHECK_TRACE_W_(c), CHECK_TRACE_W_(d), 0, 0
#define CHECK_TRACE_WORDS_5(a, b, c, d, e) \
	CHECK_TRACE_W_(a), CHECK_TRACE_W_(b), CHECK_TRACE_W_(c), CHECK_TRACE_W_(d), \
	CHECK_TRACE_W_(e), 0
#define CHECK_TRACE_WORDS_6(a, b, c, d, e, f) \
	CHECK_TRACE_W_(a), CHECK_TRACE_W_(b), CHECK_TRACE_W_(c), CHECK_TRACE_W_(d), \
	CHECK_TRACE_W_(e), CHECK_TRACE_W_(f)

/* ---- violations ----------------------------------------------------------- */

/*
 * Report a violation of @inv about @obj (or NULL) on @cpu (or -1).  Context:
 * any; does not allocate.  The format should print both sides of a failed
 * comparison.
 */
void check_fail(enum check_inv inv, const void *obj, int cpu, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- objects -------------------------------------------------------------- */

/* A driver allocated @obj (for the object pool the harness owns). */
void check_obj_new(const void *obj, size_t size, bool vmalloc);
/* Readers may now reach @obj / no new reader can reach @obj. */
void check_obj_publish(const void *obj);
void check_obj_unpublish(const void *obj);
/*
 * A driver is about to hand @obj to kvfree_call_rcu() on @cpu in @ctx.
 * @expect: what must become of it.
 */
enum check_expect {
	CHECK_EXPECT_FREE,	/* freed exactly once, after a GP */
	CHECK_EXPECT_REFUSED,	/* an NMI call: refused, never freed */
	CHECK_EXPECT_DOUBLE,	/* a second queue of a queued object: leaked */
	/*
	 * Set by the checker, never declared: a CHECK_EXPECT_FREE object still
	 * queued when an rcu work ran before its GP.  Freed after its GP, or
	 * leaked and counted in the implementation's objs_leaked.
	 */
	CHECK_EXPECT_MAY_LEAK,
};
void check_obj_queued(const void *obj, int cpu, enum kenv_ctx ctx, bool headless,
		      enum check_expect expect);
/*
 * How check_obj_queued() reads @expect.  A call from NMI is taken as
 * CHECK_EXPECT_REFUSED whatever was declared (refusal is its only correct
 * outcome).  Each refused call, each CHECK_EXPECT_DOUBLE call, and each
 * headless CHECK_EXPECT_FREE call made while !kenv_preemptible() expects
 * exactly one KENV_WARN_MISUSE from the implementation: a warning naming the
 * object must match one of that object's, and at check_final() the run's
 * warnings must equal the run's expectations (MISUSE).  Memory reused for a
 * new object needs check_obj_new() first; the environment calls
 * check_obj_freed() before the memory goes back to its allocator.
 */

/*
 * The driver's kvfree_call_rcu() for @obj has returned.  BARRIER covers only
 * objects whose call returned before kvfree_rcu_barrier() was entered: a call
 * still in progress (another thread, a preempted coroutine, a headless call
 * inside its inline synchronize) may legitimately complete after the barrier.
 * Context: any.  Pairs with check_obj_queued().
 */
void check_obj_queue_returned(const void *obj);
/*
 * The environment freed @obj (from kenv_kfree, kenv_kfree_bulk, kenv_vfree;
 * @how is "kfree", "kfree_bulk" or "vfree").  Checks GP-SAFETY (a GP that
 * began after the queue has ended; no reader that could reach it is still
 * inside) and EXACTLY-ONCE: not freed before, queued before, and freed by its
 * own channel's function (a vmalloc object by vfree, a slab one by kfree or
 * kfree_bulk, as check_obj_new() said: the one wrong-channel rule).  An
 * object the environment's allocator does not have out (a double free, a
 * foreign pointer) is reported here as freed twice or never queued, so an
 * environment calls this first and only then declines to free it.  Context:
 * any.
 */
void check_obj_freed(const void *obj, const char *how);
/*
 * The environment is about to run an rcu work before its grace period has
 * passed (a fault it injects), in a context whose check_task says
 * rcu_work_early.  An implementation that promises kvfree_rcu_rechecks_gp()
 * warns GP-SAFETY there and leaks the batch: every CHECK_EXPECT_FREE object
 * still queued becomes CHECK_EXPECT_MAY_LEAK, and check_final() holds those
 * left unfreed to the implementation's objs_leaked.  Context: any.
 */
void check_rcu_work_early(void);

/*
 * PER-CPU: bulk storage page @page becomes a bulk page of @cpu's krc (@cpu >=
 * 0; the caller holds @krc_lock, that CPU's krc lock), or stops belonging to
 * any krc (@cpu == -1: recycled into a page cache or given back; @krc_lock is
 * the lock held then, or NULL).  A page moves from one krc to another (CPU
 * offline adoption) by a release then an attach.  Fails PER-CPU when a page is
 * attached while another CPU's krc still owns it, attached without holding
 * @krc_lock, attached under a different lock than earlier pages of that CPU,
 * or released while no krc owns it.  The implementation reports through the
 * environment (kenv), which forwards here.  Context: atomic.
 */
void check_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock);

/*
 * How many storage pages @cpu's krc owns according to the check_page_owner()
 * reports so far, into @owned; returns whether the implementation reported
 * any page at all (one that reports none is not checked for PER-CPU).  For
 * tests of an implementation's reporting.  Context: sleep, between ops.
 */
bool check_pages_owned(int cpu, unsigned long *owned);

/* ---- RCU ------------------------------------------------------------------ */

/* The environment started / ended a grace period (in order, never nested). */
void check_gp_started(void);
void check_gp_ended(void);
/* Reader @id entered / reached @obj / left its read-side critical section. */
void check_reader_begin(int id);
void check_reader_deref(int id, const void *obj);
void check_reader_end(int id);

/* ---- barrier, hotplug ----------------------------------------------------- */

void check_barrier_begin(void);
/* BARRIER: everything queued before the matching begin has been freed. */
void check_barrier_end(void);
void check_cpu_offline(int cpu);
void check_cpu_online(int cpu);

/* ---- allocations, locks, sleeping (called by the environment) ------------- */

/*
 * A page or memory allocation with @gfp was attempted at @site.  Checks
 * NO-ALLOC-ATOMIC against the current context: raw locks held, irqs off,
 * hardirq/NMI; only KENV_GFP_POOL is allowed under a raw lock.
 */
void check_alloc(unsigned int gfp, const char *site);
/* The caller declared it may sleep (might_sleep, synchronize, flush ...). */
void check_might_sleep(const char *site);
/* Lock checker: before acquiring / after releasing @lock.  LOCKING. */
void check_lock_acquire(const struct kenv_lock *lock);
void check_lock_release(const struct kenv_lock *lock);
/*
 * Whether acquiring @lock now would deadlock: it is held (or being acquired)
 * on the caller's CPU by the caller or by a context the caller interrupted on
 * the same OS thread.  check_lock_acquire() reports that as LOCKING; an
 * environment calls this first to fail the acquisition instead of spinning
 * forever in CHECK_RECORD mode.  Context: any.
 */
bool check_lock_would_deadlock(const struct kenv_lock *lock);
/*
 * For a hang dump: the calling OS thread's token, and the token of the
 * thread that holds the checker's own lock (0 if free, a racy read).  An
 * environment records each thread's token when it registers it, to name the
 * holder.  Context: any.
 */
uintptr_t check_thread_token(void);
uintptr_t check_lock_holder_token(void);
/* The implementation warned (kenv_warn): BUG kind is a violation of @inv. */
void check_warned(enum kenv_warn_kind kind, const char *inv, const char *cond,
		  const void *obj, const char *file, int line, const char *func);

/* ---- what the environments observe ---------------------------------------- */

/*
 * The environments report here what happened and the checker decides whether
 * it breaks a rule, so that each rule exists once for every environment.
 */

/* A CPU's lock, irq, preemption, bh and RCU-reader state, as an environment counts it. */
struct check_cpu_state {
	unsigned int locks;	/* raw locks the context itself took and holds */
	bool irqs_off;
	unsigned int preempt;	/* preempt_disable depth, raw locks included */
	unsigned int bh;	/* bh_disable depth, a softirq being served included */
	unsigned int rcu_nest;	/* rcu_read_lock depth */
};

/*
 * LOCKING: a context on @cpu returned, leaving the CPU in @left.  @entered:
 * the state its body began with (a handler: what it interrupted, with the
 * handler's own bh count or irqs-off added), or NULL for a task, kthread or
 * work item, which begins with everything at zero.  A context leaves the CPU
 * as it found it and holds no lock it took.  @who names it in the report.
 * Returns true if it did (the environment repairs the CPU either way).
 * Context: any.
 */
bool check_context_left(const char *who, int cpu, const struct check_cpu_state *entered,
			const struct check_cpu_state *left);
/*
 * LOCKING: @fn was called, which must not run in NMI context (an NMI may have
 * interrupted a holder of what it takes).  Reports it if the caller is in NMI
 * context, and returns whether it was.  Context: any.
 */
bool check_nmi_unsafe(const char *fn);
/*
 * LOCKING: @fn closes a nesting (preempt_enable, local_bh_enable,
 * rcu_read_unlock) whose depth was @depth before the call: 0 means there was
 * no matching disable or lock.  Context: any.
 */
void check_nest_exit(const char *fn, unsigned int depth);
/* LOCKING: local_bh_disable() was called; not in hardirq or NMI context.  Any. */
void check_bh_disable(void);
/*
 * LOCKING: the caller read its CPU id to stay on that CPU (smp_processor_id(),
 * this_cpu_ptr(), at @site; kenv_this_cpu()).  A task that could be
 * preempted right after the read could also be migrated, so the id, and any
 * per-CPU pointer made from it, may name another CPU by the time it is used:
 * the kernel's CONFIG_DEBUG_PREEMPT check.  Not a violation with preemption,
 * bh or irqs disabled, a raw lock held, in an interrupt, softirq or RCU
 * read-side section (neither environment preempts there), nor in a kthread
 * context, which both environments keep on its CPU (the kernel exempts
 * per-CPU kthreads the same way).  The raw_ forms are not reported.  Any.
 */
void check_cpu_id_read(const char *site);
/*
 * NO-ALLOC-ATOMIC and LOCKING: @fn, which takes the allocator's own locks
 * (kfree, kfree_bulk, vfree, a page free), was called for @ptr while
 * @raw_locks raw locks are held on the caller's CPU (by the caller and by the
 * contexts it interrupted).  Not allowed from NMI (LOCKING), nor under a raw
 * lock (NO-ALLOC-ATOMIC).  Context: any.
 */
void check_allocator_call(const char *fn, const void *ptr, unsigned int raw_locks);
/*
 * LOCKING: acquiring @lock found it taken (on @holder_cpu), and the caller
 * cannot wait for its release (on one OS thread nothing else runs while it
 * spins).  Call it before check_lock_acquire(), which reports the
 * self-deadlock itself when the holder is the caller or a context it
 * interrupted; this reports any other holder.  Context: any.
 */
void check_lock_busy(const struct kenv_lock *lock, int holder_cpu);
/*
 * PROGRESS: @who (the scheduler, a waiting driver, quiescence), waiting for
 * @what (or NULL), was still busy after @steps steps at @now_ns: a livelock.
 * @cpu: the CPU involved, or -1.  Context: sleep.
 */
void check_stall_busy(const char *who, const char *what, int cpu, unsigned int steps,
		      uint64_t now_ns);
/*
 * PROGRESS: @who waits for @what but nothing can run: @blocked contexts stay
 * blocked (0: not counted); @why says what holds it (or NULL).  Context: sleep.
 */
void check_stall_blocked(const char *who, const char *what, int cpu, unsigned int blocked,
			 const char *why);

/*
 * BOUNDED: a page allocation with @gfp failed on @cpu (@why: the
 * environment's reason, or NULL).  A failure is expected of KENV_GFP_NOWAIT,
 * NORETRY, NOMEMALLOC and POOL requests; a KENV_GFP_KERNEL request without
 * NORETRY or NOMEMALLOC would have invoked the OOM killer (the refill path
 * must never ask for that): the one OOM rule.  Context: any.
 */
void check_alloc_failed(unsigned int gfp, int cpu, const char *why);
/*
 * EXACTLY-ONCE: kenv_page_free(@page); @allocated: whether the page allocator
 * had it out (false: a double free or a foreign pointer).  Context: any.
 */
void check_page_freed(const void *page, bool allocated);
/*
 * EXACTLY-ONCE: kenv_debug_obj_unqueue(@obj); @was_queued: whether debug
 * objects had it queued (false: unqueued twice, or never queued).  Any.
 */
void check_debug_obj_unqueued(const void *obj, bool was_queued);
/* EXACTLY-ONCE: @obj freed by @how while debug objects still has it queued.  Any. */
void check_debug_obj_freed_queued(const void *obj, const char *how);

/* What a reader inside its read-side section finds of an object it reached. */
enum check_found {
	CHECK_FOUND_INTACT,	/* live, the same object it reached */
	CHECK_FOUND_FREED,	/* given back to the allocator */
	CHECK_FOUND_CORRUPT,	/* poisoned, overwritten or reused for another object */
};
/*
 * GP-SAFETY: reader @reader, still inside its read-side section on @cpu,
 * looked at @obj, which it reached while inside, and found it @found;
 * @detail (or NULL) names the object and the evidence (serial, canary).
 * Anything but intact means it was freed under the reader.  This is the
 * environment's own look at the memory, an independent second opinion to the
 * shadow state's check at the free.  Context: any.
 */
void check_reader_found(int reader, int cpu, const void *obj, enum check_found found,
			const char *detail);
/* ---- end of run ----------------------------------------------------------- */

/*
 * After the run quiesced (all work done, GPs completed, barrier returned):
 * EXACTLY-ONCE (nothing lost), ACCOUNTING and BOUNDED against the
 * implementation's snapshot, PROGRESS (nothing pending without an armed monitor
 * or queued batch), HOTPLUG, MISUSE counts.  Returns true if all held.
 */
bool check_final(void);

/*
 * Mid-run checks against the implementation's snapshot, for a system with no
 * kvfree_rcu() call, batch or monitor running (the sim between ops, the posix
 * runner with its flooders paused).  ACCOUNTING: the objects pending plus in
 * flight over all CPUs equal the shadow's queued-and-not-freed objects, and
 * each CPU's bulk pages equal the pages it owns per check_page_owner() (when
 * the implementation reports pages); BOUNDED: each CPU's cache holds at most
 * cache_pages pages and its bulk pages at most what its objects need; HOTPLUG:
 * a CPU taken offline holds no pending object.  Returns true if all held.
 * Context: sleep (takes each CPU's krc lock through kvfree_rcu_snapshot()).
 */
bool check_accounting(void);
/*
 * The API's edges, with nothing running and no krc lock held (the sim's
 * driver between ops, no task alive): offline, online and snapshot of a CPU
 * that does not exist (-1, nr_cpus) and the racy snapshot of -1 are refused,
 * kvfree_rcu_init() while initialised refuses an invalid configuration and
 * one for another number of CPUs, and none of it changes any CPU's snapshot;
 * @cpu's racy snapshot equals its locked one, and its walk with a list
 * callback alone (krc only) names every list object its walk without
 * callbacks counts.  ACCOUNTING if not.  Returns true if all held.
 * Context: sleep.
 */
bool check_api_edges(int cpu);
/*
 * After kvfree_rcu_exit(): kvfree_rcu_snapshot() and both structure walks
 * refuse every CPU (kvfree_rcu.h: as before init).  ACCOUNTING if not.
 * Returns true if all held.  Context: sleep.
 */
bool check_after_exit(void);
/*
 * PROGRESS: each CPU with pending objects has its monitor armed or a batch
 * busy, and no object queued more than @bound_ns before @now_ns (the
 * environment's clock) is still unfreed although two grace periods that began
 * after its queue have ended (gp_ended >= gp_started at queue + 2): with GPs
 * stalled, lateness is not blamed on the implementation.  @bound_ns should
 * cover the drain delay plus a few grace periods.  Returns true if all held.
 * Context: sleep.
 */
bool check_progress(uint64_t now_ns, uint64_t bound_ns);
/*
 * BOUNDED after memory pressure: right after kfree_rcu_shrink_count() and
 * kfree_rcu_shrink_scan() returned, with nothing else running, every CPU's
 * cache is empty and its refill backs off.  Returns true if both held.
 * Context: sleep.
 */
bool check_after_shrinker(void);
/*
 * ACCOUNTING of kfree_rcu_shrink_count()'s answer @count: never 0 (to the
 * shrinker core 0 means "cannot tell", not "empty"), whatever else ran.  With
 * @unchanged, also equal to the objects pending plus the pages cached over
 * every CPU, or KVFREE_SHRINK_EMPTY for none, per snapshots taken now, if
 * @unchanged(@arg) still says nothing else ran since the count (it is asked
 * after the snapshots, which take each krc lock: in the sim, scheduling
 * points).  Not compared when a snapshot fails.  Returns true if all held.
 * Context: sleep.
 */
bool check_shrink_count(unsigned long count, bool (*unchanged)(void *arg), void *arg);
/*
 * What each CPU held just before a kfree_rcu_shrink_scan(): objects pending
 * on its krc and pages in its cache.
 */
struct check_shrink_before {
	int nr_cpus;
	unsigned long pending[KENV_NR_CPUS_MAX];
	unsigned long cached[KENV_NR_CPUS_MAX];
};
/* Take @b; false if a snapshot failed (then nothing is checked). */
bool check_shrink_scan_begin(struct check_shrink_before *b);
/*
 * BOUNDED of a scan asked for @nr_to_scan: it visits the CPUs in order,
 * counting each one's objects and cached pages, and stops at the first CPU at
 * which those counts cover @nr_to_scan; every CPU after it keeps its objects
 * and its cache (none has fewer: a refill running beside the scan may add
 * pages).  @b was taken right before the scan, and no caller of kvfree_rcu()
 * and no monitor, batch or barrier ran since (the caller's to know: it is
 * not asked here).  Returns true if it held.  Context: sleep.
 */
bool check_shrink_scan_end(const struct check_shrink_before *b, unsigned long nr_to_scan);

/* ---- structural checks (check_structure.c) -------------------------------- */

/*
 * The checks above compare the implementation's counters with the shadow;
 * these look at the structures themselves, through the implementation's
 * walk (kvfree_rcu_walk_locked() of kvfree_rcu.h, in the reference and in
 * the kernel shim alike), and compare what is there with the counters and
 * with the shadow.  Per CPU (at every krc unlock in the debug mode, and in
 * check_structure()):
 *   ACCOUNTING  each bulk channel's count equals the records on the pages of
 *               that channel on the krc, the list channel's count the length
 *               of the krc's rcu_head list (an implementation that keeps one
 *               count: their sum); the cached-page count equals the pages on
 *               the cache list;
 *   BOUNDED     no page on the krc or in a batch holds more records than its
 *               capacity, and the guard word after its last slot (where the
 *               page has room for one) is intact; the cache list holds at most
 *               the cache's cap;
 *   PER-CPU     every page on the krc or in its batches names that CPU as its
 *               owner (where the page layout keeps an owner).
 * And across the system, in check_structure() only:
 *   PER-CPU     every such page is owned by that CPU per check_page_owner(),
 *               and a cached page by none (when the implementation reports
 *               pages);
 *   EXACTLY-ONCE every object on the krc's and its batches' pages and lists
 *               is queued and not yet freed per the shadow (any other would be
 *               freed a second time, or was never handed over);
 *   HOTPLUG     a CPU the implementation took offline holds nothing pending:
 *               checked while the run goes on, not only once it drained.
 * Reports print both sides of each comparison.  A walk that had to stop at
 * KVFREE_WALK_MAX entries skips the comparisons it cannot make.
 */

/*
 * Every CPU's krc, now.  @lock_krcs: take each CPU's krc lock around its
 * walk (kvfree_rcu_walk()), for a system where other threads run: real
 * threads, where even with the flooders paused kworkers, timers, softirqs
 * and interrupts go on (each CPU is consistent under its lock; counters that
 * span CPUs are left to check_accounting()).  Without it no lock is taken and
 * no scheduling point is reached: for a system where nothing else runs and
 * no krc lock is held (the sim between ops; its traces stay as they were).
 * Context: sleep, holding no krc lock and not inside the checker; the shadow
 * lock is taken per page and per object, after the krc lock (the order every
 * hook already uses), and never held across a krc lock or unlock.  Stress
 * checkpoints call check_structure(true) with the flooders paused.  Returns
 * true if all held.
 */
bool check_structure(bool lock_krcs);

/*
 * The structural checks' debug mode: the per-CPU half (ACCOUNTING, BOUNDED,
 * PER-CPU by the page's own owner; no shadow, nothing allocated, no lock
 * taken; the krc itself, not its batch slots) at every release of a krc
 * lock, while it is still held.  Both
 * environments call check_lock_release() for every raw lock they release, so
 * this needs nothing from them: a plain flag.  kvt_run() (the sim's executor)
 * turns it on for every run; a posix runner turns it on for a debug run (it
 * costs a walk of one krc per unlock: O(pages + list length)).  The setting
 * stays until changed; check_reset() leaves it.  Context: sleep, between runs
 * or before the threads that take krc locks start.
 */
void check_set_structure_at_unlock(bool on);

/*
 * kvfree_rcu_snapshot(@cpu, @st) for the harness and the checker: the same
 * answer, but the first release of that krc's lock by this context inside it
 * (the snapshot's own) is no point for the debug mode's walk (it is still
 * counted as a release).  The snapshot reads and changes nothing, so the krc
 * it leaves is the one the last release left, or a handler that ran at its
 * lock's scheduling point (another context, walked at its own release); a
 * fifth of the krc releases of a fuzz input were these.
 * Context: as kvfree_rcu_snapshot().
 */
bool check_krc_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st);

/* ---- real-thread runs (check_stress.c) ------------------------------------- */

/*
 * Raise the figure @max to @v: one writer, readers on any thread (relaxed;
 * the figures of check_progress_watch and of a stress run's checkpoints).
 */
static inline void check_figure_max(_Atomic(uint64_t) *max, uint64_t v)
{
	if (v > atomic_load_explicit(max, memory_order_relaxed))
		atomic_store_explicit(max, v, memory_order_relaxed);
}

/*
 * The online PROGRESS monitor of a stress run: called periodically while
 * the flooders run, with nothing paused.  A CPU is "stranded" when its
 * snapshot shows objects pending on its krc, no monitor armed and no batch
 * busy: nothing will ever detach them unless another call comes.  Since the
 * monitor is not armed while it runs, one such observation proves nothing;
 * a CPU is reported (PROGRESS, with the age of its oldest object) when it
 * has been seen stranded at least twice, for at least @persist_ns, with no
 * monitor run and no batch queued in between, and the oldest object queued
 * on it has been pending longer than @bound_ns.  The caller sets bound_ns
 * (the drain delay plus what grace periods may take plus a slack for
 * scheduling: the latest a correct monitor detaches an object) and
 * persist_ns once, zeroes the rest, and reads the figures for its reports.
 */
struct check_watch_cpu {		/* per CPU, the checker's own */
	bool stranded;
	uint64_t since_ns;		/* first observation of this stranded stretch */
	unsigned long sightings;	/* observations in this stretch */
	unsigned long monitor_runs, batches_queued;	/* at the last observation */
};

struct check_progress_watch {
	uint64_t bound_ns, persist_ns;		/* set by the caller */
	/*
	 * Figures since the watch was zeroed: atomic, so that a report
	 * written by another thread (a violation's, at any moment) reads
	 * them while the watch's caller updates them.
	 */
	_Atomic(uint64_t) observations;		/* calls */
	_Atomic(uint64_t) stranded_sightings;	/* CPU observations found stranded */
	_Atomic(uint64_t) stranded_longest_ns;	/* the longest stranded stretch seen */
	_Atomic(uint64_t) stranded_oldest_age_ns;	/* oldest object on a stranded CPU */
	_Atomic(uint64_t) oldest_age_ns;	/* oldest object queued and not freed */
	_Atomic(uint64_t) masked_observations;	/* observations of @age_mask CPUs with pending */
	_Atomic(uint64_t) masked_oldest_age_ns;	/* their oldest pending object */
	struct check_watch_cpu cpu[KENV_NR_CPUS_MAX];
};
/*
 * One observation at @now_ns (the environment's clock).  @age_mask: CPUs
 * (bit per CPU) whose oldest object's age the caller wants in the
 * masked_* figures (a stress run's quiet CPUs).  Takes each CPU's krc lock
 * (kvfree_rcu_snapshot()), then the shadow lock briefly.  Returns true if
 * nothing was reported.  Context: sleep, one caller per watch.
 */
bool check_progress_watch(struct check_progress_watch *w, uint64_t now_ns, uint64_t age_mask);

/*
 * MISUSE at a checkpoint of a stress run, with every kvfree_rcu() call of
 * the run returned (the flooders paused at safe points): the misuse
 * warnings the implementation gave equal the calls that expected one (see
 * check_obj_queued()), as check_final() compares at the end of a run.
 * Returns true if they do.  Context: sleep.
 */
bool check_misuse(void);

#endif /* KVTORTURE_CHECK_H */
