/* SPDX-License-Identifier: MIT */
/*
 * posix_env.h - the kenv.h environment on real threads.
 *
 * Every emulated CPU is a "CPU thread" in task context, running a workload
 * loop (posix_set_cpu_workload) or a job handed to every CPU at once
 * (posix_run_on_cpus), plus the threads that run what the kernel defers:
 * per-CPU kworkers (both work queues) and ksoftirqd threads, a timer thread
 * that fires timers as hardirqs of their CPU, and a GP thread that advances a
 * kernel-style sequence counter around each liburcu (memb)
 * urcu_memb_synchronize_rcu(), on which the polled-GP cookies, call_rcu,
 * rcu_work and rcu_barrier are built.  Two choices the kernel leaves to its
 * scheduler are configurable: where deferred work runs (a kworker per CPU,
 * or the CPU thread itself at its preemption points, posix_point()), and
 * whether softirqs raised outside interrupts go to a ksoftirqd thread or to
 * the CPU thread.
 *
 * One source, two flavours, as liburcu builds its flavours:
 *
 *   checked (posix_lib)   every lock, allocation, free, grace period and
 *                         context change is reported to the checker
 *                         (check.h); hardirqs are thread-directed real-time
 *                         signals sent to a CPU thread, NMIs a second signal
 *                         that ignores the soft irq mask; freed objects are
 *                         poisoned and quarantined (posix_obj.h); malloc is
 *                         interposed; scheduling points inject seeded
 *                         chaos; CPUs go offline and online; a watchdog
 *                         finds threads stuck atomic.  For correctness runs.
 *   unchecked             the same execution model with the checker hooks
 *   (posix_unchecked_lib) compiled to nothing, no signals, no NMIs, no
 *                         vmalloc space, no chaos: every freed object goes
 *                         to the program's posix_obj_reclaim().  For timing
 *                         runs (stress/bench), which must not measure the
 *                         checks.
 *
 * Every thread that touches the environment is registered (posix_thread_create
 * does it) and owns a thread-local record: its CPU id, its context stack
 * (task/kthread, then softirq, hardirq and NMI frames pushed on top), the
 * soft irq mask and the preempt/bh counts; in the checked flavour also one
 * struct check_task per frame for the lock checker.
 */
#ifndef KVTORTURE_POSIX_ENV_H
#define KVTORTURE_POSIX_ENV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"

/* Most threads the environment registers (CPU, kworker, ksoftirqd, flooders). */
#define POSIX_MAX_THREADS 512

/*
 * Thread-local variables of the environment use the initial-exec model: the
 * environment is always linked into the program, and the default model of
 * position-independent objects would make every access a __tls_get_addr()
 * call, on every kenv function of the fast path.
 */
#define POSIX_TLS __thread __attribute__((tls_model("initial-exec")))

/* Env-private softirqs, numbered after kenv.h's: the softirq flooder's. */
#define POSIX_SOFTIRQ_FLOOD ((unsigned int)KENV_SOFTIRQ_NR)
#define POSIX_SOFTIRQ_NR (KENV_SOFTIRQ_NR + 1)

/* What a registered thread stands for; fixes its base context. */
enum posix_role {
	POSIX_ROLE_OTHER,	/* unregistered, or a liburcu worker */
	POSIX_ROLE_MAIN,	/* the runner: task context */
	POSIX_ROLE_CPU,		/* a CPU thread: task context, receives interrupts */
	POSIX_ROLE_KWORKER,	/* work queue worker: kthread context */
	POSIX_ROLE_KSOFTIRQD,	/* runs a CPU's pending softirqs */
	POSIX_ROLE_USER,	/* a syscall-flood user thread: task context */
	POSIX_ROLE_KTHREAD,	/* a kernel thread of some CPU */
	POSIX_ROLE_ENV,		/* GP and timer threads */
	POSIX_ROLE_NR
};

/* Where deferred work runs. */
enum posix_reclaim {
	POSIX_RECLAIM_WORKER,	/* each CPU's kworker thread */
	POSIX_RECLAIM_INLINE,	/* the CPU thread itself, at its posix_point()s */
	POSIX_RECLAIM_NR
};

/*
 * Seeded adversarial scheduling at kenv_sched_point() (checked flavour):
 * rates in parts per million of points.  Delays only where the caller may be
 * preempted, spins anywhere; injected interrupts only on CPU threads with
 * irqs on.
 */
struct posix_chaos {
	unsigned int yield_ppm;
	unsigned int spin_ppm;		/* busy-wait up to spin_max_ns */
	unsigned int sleep_ppm;		/* nanosleep up to sleep_max_ns, preemptible only */
	unsigned int migrate_ppm;	/* user threads change CPU, preemptible only */
	unsigned int irq_inject_ppm;	/* run the irq handler here, as if it had arrived */
	unsigned int nmi_inject_ppm;	/* run the NMI handler here, mask or not */
	uint64_t spin_max_ns;
	uint64_t sleep_max_ns;
};

struct posix_env_config {
	int nr_cpus;			/* 1 .. KENV_NR_CPUS_MAX */
	uint64_t seed;			/* drives every random decision of the env */
	unsigned int fault_ppm;		/* page allocations that fail (fault injection) */
	unsigned int pool_pages;	/* per-CPU lock-free pool capacity (KENV_GFP_POOL) */
	/*
	 * INLINE: no kworkers; work and timers of a CPU run on its CPU thread at
	 * its preemption points, as a per-CPU kworker sharing the CPU would.
	 * Not combined with CPU hotplug (posix_cpu_offline refuses).
	 */
	enum posix_reclaim reclaim;
	/*
	 * Whether softirqs raised outside an interrupt or bh-off section (by a
	 * task, a kworker, the timer thread) go to a ksoftirqd thread per CPU
	 * (true) or to the CPU thread, which runs them at its next point (false).
	 * Either way they also run at irq exit and bh enable.
	 */
	bool ksoftirqd;
	/*
	 * Whether get_state_synchronize_rcu() also asks for a grace period.  The
	 * kernel's does not (only call_rcu, synchronize_rcu and the barrier do);
	 * a benchmark knob to see what asking would cost.
	 */
	bool gp_on_get_state;
	struct posix_chaos chaos;	/* checked flavour only */
	/*
	 * Test knob: end every grace period without waiting for readers (the GP
	 * counter and the checker's GP model still advance): a lying RCU that
	 * the object checks must catch as GP-SAFETY.
	 */
	bool gp_early;
	/*
	 * Test knob: every object free (kenv_kfree(), kenv_kfree_bulk(),
	 * kenv_vfree()) spins this long first, as a free with debugging or a
	 * large vfree() may take: reclaim falls far behind the flood, and what
	 * waits for it (a barrier, a CPU going offline, a checkpoint) waits
	 * seconds.  Checked flavour only; 0: none.
	 */
	uint64_t free_cost_ns;
};

/* Fill @cfg with the defaults (2 CPUs, kworkers, ksoftirqd, no faults, no chaos). */
void posix_env_config_default(struct posix_env_config *cfg);

/*
 * Start the environment: register the caller as POSIX_ROLE_MAIN on CPU 0
 * (and with liburcu), create liburcu's default call_rcu worker, start the GP
 * and timer threads, the kworkers (worker mode), the ksoftirqd threads (if
 * configured) and one idle CPU thread per CPU.  The checked flavour first
 * blocks the interrupt signals in the caller, so that every thread it creates
 * inherits the mask.  Context: the main thread; exits 99 on a set-up
 * failure.  Pairs with posix_env_stop(), after which it may be called again
 * (a new run: counters restart).  Call it before kvfree_rcu_init().
 */
void posix_env_start(const struct posix_env_config *cfg);
/*
 * Stop and join every env thread.  Context: the main thread, after
 * kvfree_rcu_exit(), with every thread made by posix_thread_create() joined.
 */
void posix_env_stop(void);

/*
 * Create a registered thread: registered with liburcu and the environment
 * as @role on @cpu before @fn runs (checked flavour: interrupt signals
 * blocked until then; CPU threads unblock them).  @name is copied and is the
 * thread's name for perf and top.  Context: sleep.  Pairs with pthread_join().
 */
void posix_thread_create(pthread_t *thr, const char *name, enum posix_role role, int cpu,
			 void *(*fn)(void *), void *arg);

/* ---- CPU threads ---------------------------------------------------------- */

/*
 * The CPU threads' workload: @fn(cpu, @arg) is called in a loop in task
 * context while the CPU is online and the workload is set; NULL idles them.
 * Context: sleep.
 */
void posix_set_cpu_workload(void (*fn)(int cpu, void *arg), void *arg);

/*
 * Run @fn(@cpu, @arg) once on every CPU thread, in task context, and return
 * when all of them have returned.  Meanwhile, and afterwards until
 * posix_env_stop(), each CPU thread keeps serving what is posted to it.
 * Context: the main thread, one job at a time, with every CPU online.
 */
void posix_run_on_cpus(void (*fn)(int cpu, void *arg), void *arg);
/*
 * The same in steps, so the main thread can sample while the CPUs work:
 * begin hands out the job; done says whether every CPU returned from it;
 * wait blocks until they have.  Context: as posix_run_on_cpus(); every
 * begin pairs with one wait.
 */
void posix_cpus_begin(void (*fn)(int cpu, void *arg), void *arg);
bool posix_cpus_done(void);
void posix_cpus_wait(void);

/*
 * A CPU thread's preemption point: run what is posted to its CPU (expired
 * timers and work in inline mode, softirqs when there is no ksoftirqd).  One
 * relaxed load when nothing is.  Context: any thread (only a CPU thread in
 * preemptible task context at its base frame runs anything).
 */
extern POSIX_TLS _Atomic(unsigned int) *posix_my_pending;
void posix_run_pending(void);
static inline void posix_point(void)
{
	_Atomic(unsigned int) *p = posix_my_pending;

	if (p && atomic_load_explicit(p, memory_order_relaxed))
		posix_run_pending();
}

/*
 * Enter / leave an emulated hardirq on the calling thread (irqs off inside);
 * the exit runs the softirqs raised meanwhile, as irq_exit() does, unless it
 * is nested in another interrupt or bh is off.  Context: a registered thread
 * in task or kthread context; pairs nest like real interrupts.
 */
void posix_irq_enter(void);
void posix_irq_exit(void);

/*
 * Env-private softirqs (POSIX_SOFTIRQ_FLOOD), as kenv_open/raise_softirq:
 * open before raising, from sleep context; raise from any context but NMI.
 */
void posix_open_softirq(unsigned int nr, void (*fn)(void));
void posix_raise_softirq(unsigned int nr);

/* ---- identity, random numbers, statistics ---------------------------------- */

/* Registered threads so far (ids 0 .. n-1).  Context: any. */
int posix_nr_threads(void);
/*
 * The caller's registry id (-1 unregistered), name, and a seeded per-thread
 * random number.  Context: any (the random stream is the caller's own).
 */
int posix_thread_id(void);
const char *posix_thread_name(void);
uint64_t posix_random(void);

/*
 * Counters for progress lines, reports and the watchdog.  The interrupt,
 * scheduling point and interposer counts stay 0 in the unchecked flavour.
 * Context: any (racy).
 */
struct posix_env_stats {
	uint64_t gps;				/* grace periods completed */
	uint64_t gp_seq;
	uint64_t sched_points;
	uint64_t irqs[KENV_NR_CPUS_MAX];	/* interrupts delivered (run) */
	uint64_t irqs_replayed[KENV_NR_CPUS_MAX];	/* ... of which held back by the mask */
	uint64_t nmis[KENV_NR_CPUS_MAX];
	uint64_t softirqs[KENV_NR_CPUS_MAX];	/* softirq handler runs */
	uint64_t works_run;
	uint64_t timers_fired;
	uint64_t rcu_callbacks;
	uint64_t warnings[2];			/* kenv_warn by kind */
	uint64_t pages_in_use;			/* pages handed out and not freed */
	uint64_t pages_peak;
	uint64_t pages_allocated;		/* allocations that succeeded, pool included */
	uint64_t page_failures;			/* injected and real failures */
	uint64_t pool_allocs, pool_misses;
	uint64_t interpose_reports;		/* allocator calls in atomic context */
};
void posix_env_stats(struct posix_env_stats *st);
/* Restart the peak-pages watermark from the pages in use now.  Context: any. */
void posix_reset_peak(void);

/* ---- pages ------------------------------------------------------------------ */

/*
 * The fault-injection rate of page allocations, changeable while running (the
 * pressure flooder).  Context: any.
 */
void posix_set_fault_ppm(unsigned int ppm);
/* Put pages into @cpu's lock-free pool up to its capacity.  Context: sleep. */
void posix_pool_refill(int cpu);

/* ---- checked flavour only ------------------------------------------------------ */

/*
 * Hold back interrupts (not NMIs) on the calling thread without disabling
 * irqs as far as the checker can see: they are recorded and replayed at the
 * unhold.  Wraps the harness's own checker calls from CPU threads, so that an
 * interrupt rarely finds its thread inside the checker (where the checker
 * would have to defer the handler's operations).  Nestable.  Context: any
 * but NMI.
 */
void posix_irq_hold(void);
void posix_irq_unhold(void);

/*
 * Interrupt handlers, called in hardirq (NMI) context on the interrupted CPU
 * thread, from a real signal or from a replay.  Context: set before the
 * flood starts; NULL ignores the interrupt (it is still counted).
 */
void posix_set_irq_handler(void (*fn)(int cpu));
void posix_set_nmi_handler(void (*fn)(int cpu));
/* Send an interrupt / NMI to @cpu's thread.  Context: any; false if offline. */
bool posix_raise_irq(int cpu);
bool posix_raise_nmi(int cpu);

/*
 * CPU hotplug.  posix_cpu_offline() stops the CPU thread's workload, its
 * ksoftirqd and interrupt delivery, and waits until no thread is inside
 * posix_cpu_enter() on @cpu; its kworker and timers keep running, reporting
 * the first online CPU as theirs.  Context: sleep, on another CPU; CPU 0
 * never goes offline, nor any in inline reclaim mode (returns false).  Pairs
 * with posix_cpu_online().
 */
bool posix_cpu_offline(int cpu);
void posix_cpu_online(int cpu);
/*
 * A user or kthread flooder's stay on its CPU: enter picks an online CPU (the
 * current one if online) and returns it; the CPU cannot go offline until
 * exit.  Context: task or kthread, preemptible.
 */
int posix_cpu_enter(void);
void posix_cpu_exit(void);
/*
 * posix_cpu_enter(), but a user thread first moves off a CPU @avoid says
 * no to, to the next online one it does not (none: it stays).  Context: as
 * posix_cpu_enter().
 */
int posix_cpu_enter_avoiding(bool (*avoid)(int cpu));

/* rr-chaos-style starvation: the thread @id sleeps at its next preemptible points until @until_ns. */
void posix_starve(int id, uint64_t until_ns);
/* Whether thread @id may be starved (not an env thread, not the main thread). */
bool posix_thread_starvable(int id);

/*
 * Watchdog scan, from one thread periodically: the id of a thread that has
 * stayed atomic (irqs off, preemption or bh off, a raw lock held, or inside a
 * handler) without passing any scheduling point for @bound_ns, or -1.  A
 * thread spinning forever on a raw lock is found this way.  Context: sleep.
 */
int posix_watchdog_scan(uint64_t bound_ns);
/*
 * For a wait that may time out on a stuck thread (a checkpoint pausing the
 * flood): each thread's scheduling points now, into @points
 * (POSIX_MAX_THREADS entries); then the id of a thread that looks atomic and
 * has passed none since, or -1.  Racy reads, as the scan's.  Context: sleep.
 */
void posix_points_snapshot(uint64_t *points);
int posix_stuck_since(const uint64_t *points);
/*
 * How long the host held the run up, in nanoseconds since the process
 * began: summed over sampling intervals, the most time any one thread spent
 * off a CPU in an interval at both ends of which it was either a thread
 * that reclaims (a kworker, the GP or timer thread) and runnable, or any
 * registered thread blocked in the host's kernel (state D: a page fault
 * held up below a guest, or behind another thread's mmap lock).  A wait for
 * frees, and the watchdog's look for a stalled flood, take it off the time
 * they wait: a loaded host or a sanitizer's runtime slows reclaim, and a
 * flooder held in the host's kernel makes no call, without anything being
 * stuck.  Sampled from Linux's /proc/self/task/TID/{stat,schedstat} at
 * most every 50 ms (more often, the same figure); 0 forever where those
 * files are missing.  Context: sleep, any thread.
 */
uint64_t posix_starved_ns(void);

/*
 * Hang report: every registered thread's name, CPU, context stack, irq and
 * preempt state, last instrumentation site and held locks, written to @fd
 * without allocating.  Context: any (the watchdog; racy by design).
 */
void posix_dump_threads(int fd);
/*
 * Around a report of a hang or a violation, written just before the run
 * exits: ThreadSanitizer ignores the calling thread's reads and writes from
 * off to on.  Such a report reads what the other threads were writing when
 * the run stopped, without synchronisation, on purpose; under TSan those
 * reads would otherwise end the run with TSan's status halfway through the
 * report.  Call on before exiting (TSan fails a thread that exits ignored).
 * Nothing in other builds.
 */
void posix_race_checks_off(void);
void posix_race_checks_on(void);
/*
 * Write all of @buf to @fd through EINTR and short writes, giving up on an
 * error: output that neither allocates nor locks, for reports written from
 * wherever a run stopped.  Context: any, signal handlers included.
 */
void posix_write_all(int fd, const char *buf, size_t len);

/*
 * Whether the malloc interposer is compiled in (the checked flavour, not in
 * sanitizer builds).  Context: any.
 */
bool posix_interpose_enabled(void);

/* ---- unchecked flavour only: provided by the program ---------------------------- */

/*
 * Where freed objects go in the unchecked flavour: kenv_kfree() and
 * kenv_vfree() call posix_obj_reclaim() with each non-NULL object,
 * kenv_kfree_bulk() calls posix_obj_reclaim_bulk() once per bulk.  The
 * program that links the unchecked flavour defines both (the benchmarks
 * count and free their objects there), as the environment defines
 * check_current() for the checker.  Context: wherever the implementation
 * frees (kworker, CPU thread, softirq); not under a raw lock.
 */
void posix_obj_reclaim(void *obj);
void posix_obj_reclaim_bulk(size_t nr, void **objs);

#endif /* KVTORTURE_POSIX_ENV_H */
