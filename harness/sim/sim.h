/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the deterministic simulation environment: its driver API.
 *
 * The sim implements every function of impl/kenv.h (and check_current() of
 * check.h) on one OS thread.  Virtual CPUs carry irq, preemption, bh and
 * softirq state; tasks and kthreads are coroutines; interrupts and NMIs run
 * nested on the interrupted stack at instrumentation points; time is a virtual
 * clock; grace periods follow a kernel-style sequence counter and explicit
 * readers.  Every decision (which coroutine runs, whether an interrupt arrives,
 * whether an allocation fails, when a grace period ends) comes either from
 * the driver's explicit commands below or from a PRNG seeded by
 * sim_config.seed: the same inputs give the same trace, bit for bit.
 *
 * Who calls what.  "Driver" functions are called from the program's main
 * stack, outside every coroutine, interrupt and softirq (the op executor, unit
 * tests, the CLI); they drive the scheduler.  Functions marked "any" may also
 * be called from code running inside the sim (a spawned task, a handler).
 *
 * The driver itself counts as a task: kenv_* calls made directly from main run
 * in task context on the driver CPU (sim_set_driver_cpu()).  When such a call
 * blocks (kenv_synchronize_rcu(), kvfree_rcu_barrier(), ...), the sim runs the
 * rest of the system - work, timers, softirqs, other coroutines, and grace
 * periods even in explicit mode - until the condition holds, so a test can
 * call kvfree_rcu_init() or kvfree_rcu_barrier() straight from main.
 */
#ifndef KVTORTURE_SIM_H
#define KVTORTURE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"

struct sim_config {
	unsigned int nr_cpus;		/* 1 .. KENV_NR_CPUS_MAX */
	uint64_t seed;			/* the PRNG behind every exploration decision */
	/*
	 * Automatic GPs: a GP starts as soon as one is needed (callbacks,
	 * rcu_work or synchronize waiters) and ends gp_duration_ns later, once
	 * no reader that predates it is inside.  Otherwise GPs start and end
	 * only on sim_gp_start()/sim_gp_try_end()/sim_gp_complete() (and when
	 * the driver context itself blocks, or in sim_quiesce()).
	 */
	bool auto_gp;
	uint64_t gp_duration_ns;
	/*
	 * Exploration: the chance, per instrumentation point, that a hardirq
	 * (irqs permitting) or an NMI arrives, that a preemptible task or
	 * kthread is preempted, and, when preempted, that a task migrates to
	 * a random online CPU; per allocation, that a failable one fails
	 * (NOWAIT, NORETRY, NOMEMALLOC or POOL).  0 everywhere: no PRNG draw
	 * at all, the run is steered by the driver alone.
	 */
	unsigned int irq_permille, nmi_permille, preempt_permille, migrate_permille,
		     alloc_fail_permille;
	/* Pick the next runnable coroutine at random instead of FIFO. */
	bool sched_random;
	/* Bodies of exploration interrupts (NULL: the interrupt does nothing
	 * but still exits through irq_exit, running pending softirqs). */
	void (*irq_fn)(void *arg);
	void *irq_arg;
	void (*nmi_fn)(void *arg);
	void *nmi_arg;
	unsigned long page_limit;	/* pages out (handed + pooled); 0: unlimited */
	unsigned int pool_pages;	/* KENV_GFP_POOL pages kept per CPU */
	unsigned int driver_cpu;	/* the CPU main's own kenv calls run on */
	/*
	 * PCT, probabilistic concurrency testing (Burckhardt, Kothari,
	 * Musuvathi, Nagarakatte, ASPLOS 2010), on when pct_depth >= 1.  Every
	 * coroutine gets a random priority when it is spawned; the scheduler
	 * runs the highest-priority runnable coroutine, and a coroutine that may
	 * be preempted yields at a scheduling point to a runnable one of higher
	 * priority (waking those whose wait is over).  pct_depth - 1 priority
	 * change points are drawn from [1, pct_steps] at sim_init() (more can
	 * be added with sim_pct_change_after()): when the coroutine running
	 * reaches the step of one, its priority drops below every other.  A
	 * step is a scheduling point reached by a coroutine, and under PCT every
	 * access to shared state is one (kenv_fine_points: READ_ONCE,
	 * WRITE_ONCE, atomics, per-CPU accessors, local_irq_save,
	 * preempt_disable, local_bh_disable, besides the locks and the points
	 * that are there anyway).  Random preemption (preempt_permille) is off:
	 * priorities decide; a PCT preemption migrates a task with
	 * migrate_permille.  A bug of depth d (d orderings between n coroutines
	 * that make it happen) in a run of at most k steps is found with
	 * probability at least 1 / (n k^(d-1)) per run.
	 */
	unsigned int pct_depth;		/* 0: off; 1 .. SIM_PCT_DEPTH_MAX */
	uint64_t pct_steps;		/* k: the change points' range, >= 1 with depth > 1 */
};

/* The deepest PCT exploration sim_config.pct_depth may ask for. */
#define SIM_PCT_DEPTH_MAX 16

/* Defaults: 1 CPU, seed 1, explicit GPs (1 ms when auto), no exploration,
 * FIFO scheduling, no page limit, 4 pool pages.  Context: any. */
void sim_config_default(struct sim_config *cfg);

/*
 * Start a fresh environment: virtual time 0, every CPU online and idle, no
 * timers, work, readers or callbacks, softirq handlers unregistered, stats
 * zeroed, the PRNG seeded; calls check_reset().  Coroutines left blocked by a
 * previous run are abandoned (their stacks are reused).  Cheap to repeat: no
 * stack is allocated again.  Driver only; dies (exit 99) on a bad @cfg.
 */
void sim_init(const struct sim_config *cfg);
/*
 * End the run: give back every page and object still out (the
 * implementation must not touch them afterwards).  Coroutine stacks and page
 * memory are kept for the next sim_init().  Driver only.
 */
void sim_fini(void);
/* The configuration in force.  Context: any. */
const struct sim_config *sim_config(void);

/* ---- entropy ------------------------------------------------------------ */

/* The next value of the run's PRNG (xoshiro256**, seeded by splitmix64 from
 * sim_config.seed); traced.  Context: any. */
uint64_t sim_random(void);
/* Uniform in [0, @n) (0 when @n is 0).  Context: any. */
uint64_t sim_random_below(uint64_t n);

/* ---- tasks ---------------------------------------------------------------- */

/*
 * Start fn(arg) as a coroutine in @ctx (KENV_CTX_TASK or KENV_CTX_KTHREAD) on
 * online @cpu.  From the driver, run it at once until it finishes, blocks or
 * is preempted; from inside the sim, only make it runnable.  Tasks may
 * migrate at preemption points; kthreads stay on their CPU (until it goes
 * offline).  @name (static) names it in reports.  Returns an id for
 * sim_task_done(), or -1 if @cpu is offline or the coroutine limit is reached.
 */
int sim_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg,
	      const char *name);
/* Whether the coroutine @id returned by sim_spawn() has finished.  Any. */
bool sim_task_done(int id);
/* How many spawned coroutines (not workers) have not finished.  Any. */
unsigned int sim_tasks_alive(void);

/*
 * Make the driver's own kenv calls run on @cpu (online).  Driver only, with
 * no lock held and irqs, preemption and bh enabled.
 */
void sim_set_driver_cpu(unsigned int cpu);

/* ---- interrupts and preemption -------------------------------------------- */

/*
 * Run fn(arg) now in @ctx (KENV_CTX_HARDIRQ, KENV_CTX_SOFTIRQ or KENV_CTX_NMI)
 * on @cpu, as an interrupt of the idle CPU (of the driver's task on the
 * driver CPU).  A hardirq runs with irqs off and leaves through irq_exit
 * (pending softirqs run).  If @cpu has irqs disabled a hardirq is held back
 * and delivered on restore.  Returns false if nothing ran now (CPU offline or
 * hardirq held back).  Driver only.
 */
bool sim_call_irq(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg);
/*
 * Deliver fn(arg) as a KENV_CTX_HARDIRQ or KENV_CTX_NMI at the next
 * instrumentation point reached on @cpu (a hardirq only while irqs are
 * enabled there; an NMI regardless, but not inside another NMI).  If no code
 * on @cpu reaches a point, sim_run_pending() delivers it once nothing else is
 * runnable, as an interrupt of the idle CPU.  At most 16 wait per CPU per
 * kind; returns false when full.  Context: any.
 */
bool sim_inject(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg);
/*
 * At the next instrumentation point of a preemptible task or kthread on
 * @cpu, preempt it; a task also moves to @migrate_to_cpu if that is >= 0 and
 * online.  One-shot.  Context: any.
 */
void sim_set_next_preempt(unsigned int cpu, int migrate_to_cpu);

/*
 * PCT only (pct_depth >= 1): a priority change point @steps steps after the
 * step taken last (0: at the next step).  False, adding nothing, when PCT is
 * off or 64 change points are already waiting.  Context: any.
 */
bool sim_pct_change_after(uint64_t steps);

/* ---- scheduler and time -------------------------------------------------- */

/*
 * Run everything runnable at the current virtual time: woken coroutines, due
 * timers, pending softirqs (ksoftirqd), queued work (kworkers), automatic GP
 * steps that need no time, leftover injected interrupts.  Returns true if
 * anything ran.  A livelock (no end after a large bound) reports PROGRESS.
 * Driver only.
 */
bool sim_run_pending(void);
/*
 * Advance virtual time by @ns, stopping at every timer expiry and automatic
 * GP end on the way to fire it and run what became runnable.  Driver only.
 */
void sim_advance(uint64_t ns);
/* Virtual time, ns.  Context: any (== kenv_clock_ns()). */
uint64_t sim_now(void);
/* The time of the next timer or automatic GP end; false if none.  Any. */
bool sim_next_event(uint64_t *when);

/* ---- grace periods and readers ------------------------------------------ */

/* The GP sequence counter (low 2 bits: 0 idle, 1 in progress).  Any. */
unsigned long sim_gp_seq(void);
bool sim_gp_in_progress(void);
/* Whether someone waits for a GP that has not started or ended.  Any. */
bool sim_gp_needed(void);
/* Start a GP if none is in progress.  Driver only. */
void sim_gp_start(void);
/*
 * End the GP in progress unless a reader that began before it started is
 * still inside; false if it could not (or none was in progress).  Callbacks
 * it satisfied become ready (their CPU's RCU softirq is raised).  Driver only.
 */
bool sim_gp_try_end(void);
/*
 * Start a GP if idle, end it, and invoke every ready callback (softirq
 * context on its CPU; rcu_work items get queued, not run).  False, leaving
 * the GP in progress, if a reader blocks it.  Driver only.
 */
bool sim_gp_complete(void);
/*
 * Explicit read-side critical sections, as a reader on @cpu would hold them
 * (check_reader_begin/deref/end are called).  Returns the reader id, or -1
 * when 64 readers are already inside.  Readers stay inside until ended; they
 * block GPs that start after them.  Context: any.
 */
int sim_reader_begin(unsigned int cpu);
void sim_reader_deref(int id, const void *obj);
void sim_reader_end(int id);
/* How many explicit readers are inside.  Any. */
unsigned int sim_readers_inside(void);

/* ---- memory ----------------------------------------------------------------- */

/*
 * Fail the next @n page allocations of any kind (a failed KENV_GFP_KERNEL
 * one without NORETRY/NOMEMALLOC is then reported as OOM).  Context: any.
 */
void sim_fail_next_allocs(unsigned int n);
/*
 * A fault of RCU itself: the next @n rcu works queued go to their work queue
 * at once instead of after a grace period.  Each runs with its worker's
 * check_task marked (check_rcu_work_early()).  Context: any.
 */
void sim_rcu_work_early(unsigned int n);
/* Change the page limit (0: unlimited).  Context: any. */
void sim_set_page_limit(unsigned long pages);
/*
 * A driver object of @size bytes (>= 1): slab-like, 16-byte aligned, from the
 * sim's slab region and never reused before sim_fini() (a freed one stays
 * poisoned under ASan), or, with @vmalloc, from a range of whole pages of
 * the sim's vmalloc region (kenv_is_vmalloc_addr() is true for it), 64-byte
 * aligned at a cache colour of its first page.  Registered with
 * check_obj_new(); freed by kenv_kfree(), kenv_kfree_bulk(), kenv_vfree(), or
 * by sim_fini().  Dies (99) when a region runs out.  Context: any but NMI.
 */
void *sim_obj_alloc(size_t size, bool vmalloc);
/* Whether @obj is a live sim object (allocated, not yet freed).  Any. */
bool sim_obj_live(const void *obj);

/* ---- CPU hotplug ----------------------------------------------------------- */

/*
 * Hooks run by sim_cpu_offline()/online() in a task coroutine: offline on
 * another online CPU after @cpu stopped running tasks, online on @cpu once it
 * is up (for example kvfree_rcu_cpu_offline/online).  NULL: none.  Reset
 * by sim_init().  Context: any.
 */
void sim_set_hotplug_hooks(void (*offline)(int cpu), void (*online)(int cpu));
/*
 * Take @cpu down: its pending softirqs run, its tasks, kthreads, timers,
 * queued work and RCU callbacks move to the lowest other online CPU, then
 * check_cpu_offline() and the offline hook run (to completion).  False if
 * @cpu is offline already, out of range, or the last one online.  Driver only.
 */
bool sim_cpu_offline(unsigned int cpu);
/* Bring @cpu back: check_cpu_online(), then the online hook.  Driver only. */
bool sim_cpu_online(unsigned int cpu);

/* ---- quiescence ------------------------------------------------------------ */

/*
 * Drive the system until nothing is pending: run work, advance time to the
 * next timer, complete GPs (even in explicit mode), deliver leftover
 * interrupts.  Returns true when quiet (no runnable or blocked coroutine, no
 * timer, work, callback, softirq or needed GP).  Returns false if explicit
 * readers still inside block a GP; or, after a bound, reports PROGRESS and
 * returns false.  Driver only.
 */
bool sim_quiesce(void);

/* ---- statistics ---------------------------------------------------------- */

enum sim_gfp_class { SIM_GFP_NOWAIT, SIM_GFP_KERNEL, SIM_GFP_POOL, SIM_GFP_NR };

struct sim_stats {
	unsigned long page_allocs, page_alloc_failures, page_frees, pages_in_use,
		      pool_allocs, pool_pages;
	unsigned long allocs_by_gfp[SIM_GFP_NR], failures_by_gfp[SIM_GFP_NR];
	unsigned long kfree, kfree_bulk_calls, kfree_bulk_objs, vfree;
	unsigned long objs_allocated, objs_live;
	unsigned long timers_fired, works_run, softirqs_run, irqs_delivered,
		      nmis_delivered, switches, preemptions, migrations, sleeps;
	unsigned long gps_started, gps_completed, callbacks_invoked;
	unsigned long pct_steps, pct_changes;	/* PCT: steps taken, change points hit */
};
/* Copy the run's counters.  Context: any. */
void sim_stats(struct sim_stats *st);

#endif /* KVTORTURE_SIM_H */
