/* SPDX-License-Identifier: MIT */
/*
 * posix_env.h - the kenv.h environment on real threads.
 *
 * Every emulated CPU is a "CPU thread" running a workload loop in task
 * context, plus a kworker thread (both work queues) and a ksoftirqd thread,
 * all carrying the CPU's id.  Hardirqs are thread-directed real-time signals
 * sent to a CPU thread; local irq masking is a soft mask (a thread-local flag
 * the handler checks; an interrupt arriving while masked is recorded and
 * replayed on restore, so masking makes no system call).  An NMI is a second
 * signal that ignores the mask.  Grace periods come from liburcu (memb): a GP
 * thread advances a kernel-style sequence counter around each
 * urcu synchronize_rcu(), and the polled-GP cookies, call_rcu, rcu_work and
 * rcu_barrier are all built on that counter, so the checker's GP model and
 * the real grace periods agree.  Timers fire in a timer thread that runs their
 * handler as a hardirq of the timer's CPU.
 *
 * Every thread that touches the environment is registered (posix_thread_create
 * does it) and owns a thread-local record: its CPU id, its context stack
 * (task/kthread, then softirq, hardirq and NMI frames pushed on top), the soft
 * irq mask, preempt/bh counts, and one struct check_task per frame for the lock
 * checker.  The records are listed for the watchdog's hang dump.
 */
#ifndef KVTORTURE_POSIX_ENV_H
#define KVTORTURE_POSIX_ENV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kenv.h"

/* Most threads the environment registers (CPU, kworker, ksoftirqd, flooders). */
#define POSIX_MAX_THREADS 512

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

/*
 * Seeded adversarial scheduling at kenv_sched_point(): rates in parts per
 * million of points.  Delays only where the caller may be preempted, spins
 * anywhere; injected interrupts only on CPU threads with irqs on.
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
	struct posix_chaos chaos;
	/*
	 * Test knob: end every grace period without waiting for readers (the GP
	 * counter and the checker's GP model still advance): a lying RCU that
	 * the object checks must catch as GP-SAFETY.
	 */
	bool gp_early;
};

/* Fill @cfg with the defaults (2 CPUs, no faults, no chaos). */
void posix_env_config_default(struct posix_env_config *cfg);

/*
 * Start the environment: block the interrupt signals in the caller, create
 * liburcu's default call_rcu worker while they are blocked (0.13 workers
 * inherit the mask), register the caller as POSIX_ROLE_MAIN on CPU 0, start
 * the GP and timer threads and every CPU's kworker, ksoftirqd and (idle) CPU
 * thread.  Context: the main thread, once; exits 99 on a set-up failure.
 * Pairs with posix_env_stop().  Call it before kvfree_rcu_init().
 */
void posix_env_start(const struct posix_env_config *cfg);
/* Stop and join every env thread.  Context: the main thread, after kvfree_rcu_exit(). */
void posix_env_stop(void);

/*
 * Create a registered thread: interrupt signals blocked, registered with
 * liburcu and the environment as @role on @cpu before @fn runs; CPU threads
 * unblock interrupts after registering.  @name is copied.  Context: sleep.
 * Pairs with pthread_join().
 */
void posix_thread_create(pthread_t *thr, const char *name, enum posix_role role, int cpu,
			 void *(*fn)(void *), void *arg);

/*
 * The CPU threads' workload: @fn(cpu, @arg) is called in a loop in task
 * context while the CPU is online and the workload is set; NULL idles them.
 * Context: sleep.
 */
void posix_set_cpu_workload(void (*fn)(int cpu, void *arg), void *arg);

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
 * Hold back interrupts (not NMIs) on the calling thread without disabling
 * irqs as far as the checker can see: they are recorded and replayed at the
 * unhold.  Wraps the harness's own checker calls from CPU threads, so that an
 * interrupt rarely finds its thread inside the checker (where the checker
 * would have to defer the handler's operations).  Nestable.  Context: any
 * but NMI.
 */
void posix_irq_hold(void);
void posix_irq_unhold(void);

/* Env-private softirqs (POSIX_SOFTIRQ_FLOOD), as kenv_open/raise_softirq. */
void posix_open_softirq(unsigned int nr, void (*fn)(void));
void posix_raise_softirq(unsigned int nr);

/*
 * CPU hotplug.  posix_cpu_offline() stops the CPU thread's workload, its
 * ksoftirqd and interrupt delivery, and waits until no thread is inside
 * posix_cpu_enter() on @cpu; its kworker and timers keep running, reporting
 * the first online CPU as theirs.  Context: sleep, on another CPU; CPU 0
 * never goes offline (returns false).  Pairs with posix_cpu_online().
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

/* rr-chaos-style starvation: the thread @id sleeps at its next preemptible points until @until_ns. */
void posix_starve(int id, uint64_t until_ns);
/* Registered threads so far (ids 0 .. n-1) and whether @id may be starved. */
int posix_nr_threads(void);
bool posix_thread_starvable(int id);

/* The caller's registry id, name, and a seeded per-thread random number. */
int posix_thread_id(void);
const char *posix_thread_name(void);
uint64_t posix_random(void);

/* Counters for progress lines, reports and the watchdog.  Context: any (racy). */
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
	uint64_t page_failures;			/* injected and real failures */
	uint64_t pool_allocs, pool_misses;
	uint64_t interpose_reports;		/* allocator calls in atomic context */
};
void posix_env_stats(struct posix_env_stats *st);
/* A number that grows whenever anything in the environment makes progress. */
uint64_t posix_progress(void);

/*
 * Watchdog scan, from one thread periodically: the id of a thread that has
 * stayed atomic (irqs off, preemption or bh off, a raw lock held, or inside a
 * handler) without passing any scheduling point for @bound_ns, or -1.  A
 * thread spinning forever on a raw lock is found this way.  Context: sleep.
 */
int posix_watchdog_scan(uint64_t bound_ns);

/*
 * Hang report: every registered thread's name, CPU, context stack, irq and
 * preempt state, last instrumentation site and held locks, written to @fd
 * without allocating.  Context: any (the watchdog; racy by design).
 */
void posix_dump_threads(int fd);

/*
 * The fault-injection rate of page allocations, changeable while running (the
 * pressure flooder).  Context: any.
 */
void posix_set_fault_ppm(unsigned int ppm);
/* Put pages into @cpu's lock-free pool up to its capacity.  Context: sleep. */
void posix_pool_refill(int cpu);

/*
 * Whether the malloc interposer is compiled in (not in sanitizer builds), and
 * a flag that makes it (and check_alloc from the env's own allocations) look
 * away while the harness itself allocates.  Context: any.
 */
bool posix_interpose_enabled(void);

#endif /* KVTORTURE_POSIX_ENV_H */
