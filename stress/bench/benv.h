/* SPDX-License-Identifier: MIT */
/*
 * benv.h - the timing environment: kenv.h on real threads and liburcu grace
 * periods, with every check left out.
 *
 * The posix environment (stress/posix/) exists to catch bugs: every lock,
 * allocation and free goes through the checker, freed objects are poisoned
 * and quarantined.  A timing run must not pay for that, so the benchmarks
 * link this environment instead (correctness runs and timing runs are
 * different programs).  It keeps the posix environment's execution model —
 * one CPU thread per emulated CPU running the workload in task context, a
 * GP thread that advances a kernel-style sequence counter around each
 * urcu_memb_synchronize_rcu(), a timer thread for hrtimers and delayed work —
 * and makes one choice the kernel leaves to the scheduler selectable: where
 * the deferred work runs.
 *
 *   BENV_RECLAIM_WORKER  each CPU has a kworker thread that runs the work
 *                        queued on it (batch reclaim, monitor, cache refill);
 *   BENV_RECLAIM_INLINE  the CPU thread runs its own work, timers and
 *                        softirqs at its preemption points (benv_point()),
 *                        as a per-CPU kworker sharing the CPU would.
 *
 * Softirqs always run on the raising CPU's thread, at benv_point() or at the
 * exit of an emulated interrupt (benv_irq_exit()).  There are no NMIs, no
 * vmalloc space (every object is a slab object) and no double-queue
 * tracking (the benchmarks never queue an object twice, and the kernel's
 * debug objects are a debug option).  Storage pages come from their own
 * mappings, apart from the objects' malloc heap, as the kernel's page
 * allocator is apart from slab; the nolocks policy's lock-free pool is a
 * per-CPU array filled at start and by freed pages.
 *
 * Objects handed to kvfree_rcu() are struct bench_obj (bench_obj.h): the
 * environment's kfree reports every freed object to bench_obj_reclaimed().
 */
#ifndef KVTORTURE_BENV_H
#define KVTORTURE_BENV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kenv.h"

enum benv_reclaim {
	BENV_RECLAIM_WORKER,	/* a kworker thread per CPU */
	BENV_RECLAIM_INLINE,	/* the CPU thread itself, at benv_point() */
	BENV_RECLAIM_NR
};

/* "worker", "inline"; NULL out of range. */
const char *benv_reclaim_name(enum benv_reclaim r);
bool benv_reclaim_parse(const char *name, enum benv_reclaim *r);

struct benv_config {
	int nr_cpus;			/* CPU threads, 1 .. KENV_NR_CPUS_MAX */
	enum benv_reclaim reclaim;
	unsigned int pool_pages;	/* per-CPU lock-free pool (nolocks policy) */
	/*
	 * Whether a GP cookie taken with get_state_synchronize_rcu() also asks
	 * the GP thread for a grace period (the posix environment does; the
	 * kernel's get_state does not, only call_rcu and synchronize do).
	 */
	bool gp_on_get_state;
};

/* Fill @cfg with the defaults: 1 CPU, worker reclaim, 8 pool pages, kernel cookies. */
void benv_config_default(struct benv_config *cfg);

/*
 * Start the environment: register the caller as the main thread (task
 * context, CPU 0), start the GP thread, the timer thread, the kworkers
 * (worker mode) and one idle CPU thread per CPU, each registered with
 * liburcu.  Context: the main thread, once per run; exits 99 on a set-up
 * failure.  Pairs with benv_stop(); call kvfree_rcu_init() after it.
 */
void benv_start(const struct benv_config *cfg);
/*
 * Stop and join every thread.  Context: the main thread, after
 * kvfree_rcu_exit() (nothing may be queued or pending any more).
 */
void benv_stop(void);

/*
 * Run @fn(@cpu, @arg) once on every CPU thread, in task context, and return
 * when all of them have returned.  Meanwhile (and afterwards, until
 * benv_stop()) each CPU thread keeps serving its pending work.
 * Context: the main thread.
 */
void benv_run_on_cpus(void (*fn)(int cpu, void *arg), void *arg);
/*
 * The same in two steps, so the main thread can sample while the CPUs work:
 * begin hands out the job; done says whether every CPU returned from it;
 * wait blocks until they have.  Context: the main thread; one job at a time.
 */
void benv_cpus_begin(void (*fn)(int cpu, void *arg), void *arg);
bool benv_cpus_done(void);
void benv_cpus_wait(void);

/*
 * A CPU thread's preemption point: run the timers, softirqs and (inline mode)
 * work that are pending for its CPU.  One relaxed load when nothing is.
 * Context: a CPU thread, task context, preemptible.
 */
/*
 * Thread-local variables of the environment use the initial-exec model: the
 * environment is always linked into the program, and the default model of
 * position-independent objects would make every access a __tls_get_addr()
 * call, on every kenv function of the fast path.
 */
#define BENV_TLS __thread __attribute__((tls_model("initial-exec")))

extern BENV_TLS _Atomic(unsigned int) *benv_my_pending;
void benv_run_pending(void);
static inline void benv_point(void)
{
	_Atomic(unsigned int) *p = benv_my_pending;

	if (p && atomic_load_explicit(p, memory_order_relaxed))
		benv_run_pending();
}

/*
 * Enter / leave an emulated hardirq on the calling CPU thread (irqs off
 * inside); the exit runs the softirqs raised meanwhile, as irq_exit() does.
 * Context: a CPU thread, task context; pairs nest like real interrupts.
 */
void benv_irq_enter(void);
void benv_irq_exit(void);

/* Counters for reports.  Context: any (racy reads). */
struct benv_stats {
	uint64_t pages_in_use;		/* storage pages handed out, not given back */
	uint64_t pages_peak;
	uint64_t pages_allocated;	/* allocations that succeeded, pool included */
	uint64_t pool_allocs, pool_misses;
	uint64_t gps;			/* grace periods completed */
	uint64_t works_run, timers_fired, softirqs_run, rcu_callbacks;
};
void benv_stats(struct benv_stats *st);
/* Restart the peak-pages watermark from the pages in use now.  Context: any. */
void benv_reset_peak(void);

#endif /* KVTORTURE_BENV_H */
