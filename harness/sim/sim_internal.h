/* SPDX-License-Identifier: MIT */
/*
 * sim_internal.h - state and helpers shared by the files of the simulation.
 * Not for drivers: they use sim.h.
 *
 *   sim_run.c      the sim's state, configuration, sim_init/fini, counters,
 *                  kenv_warn and kenv_die
 *   sim_rng.c      the PRNG and its seeding (the generator is inline below)
 *   sim_co.c       coroutine stacks, creation, the context switch and the
 *                  sanitizers' fiber annotations
 *   sim_sched.c    the run queue, spawning, blocking and waking, a
 *                  scheduling step, preemption
 *   sim_time.c     virtual time, the driver's waits, quiescence
 *   sim_irq.c      interrupt, NMI and softirq frames; injection queues
 *   sim_point.c    instrumentation points: what may happen at one
 *   sim_pct.c      PCT: priorities, change points, fine-grained points
 *   sim_ctx.c      context queries, and a context's end
 *   sim_lock.c     raw locks, irq masking, preemption, bh
 *   sim_hotplug.c  CPU hotplug
 *   sim_rcu.c      grace periods, readers, callbacks
 *   sim_work.c     timers, work, softirqs
 *   sim_mem.c      pages, objects, debug objects
 *
 * Execution model.  Only one thing runs at a time: either main (the driver,
 * and the scheduler it calls) or one coroutine.  Switches happen only between
 * main and a coroutine, and only where the coroutine is preemptible or
 * blocks, so at a switch every CPU's irq, preemption, bh and RCU-reader state
 * is back to zero: that state can live in the CPU, not in the task.
 * Interrupts, NMIs and softirqs never switch stacks: they are frames pushed
 * on the running stack (sim.frames) and popped before anything switches.
 *
 * Everything runs on one OS thread, so nothing here is locked; "context"
 * means the simulated one.
 */
#ifndef KVTORTURE_SIM_INTERNAL_H
#define KVTORTURE_SIM_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"

/*
 * Sanitizers.  Coroutine stacks are switched by hand, so ASan and TSan must
 * be told about every switch; freed pages and objects are poisoned so that a
 * use after free by the implementation is caught where it happens.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define SIM_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(SIM_ASAN)
#define SIM_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(SIM_TSAN)
#define SIM_TSAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
#define SIM_POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define SIM_UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SIM_POISON(p, n)	((void)(p), (void)(n))
#define SIM_UNPOISON(p, n)	((void)(p), (void)(n))
#endif

/* Softirq bits: the contract's, plus the sim's own RCU callback softirq. */
#define SIM_SOFTIRQ_RCU		KENV_SOFTIRQ_NR
#define SIM_NR_SOFTIRQS		(KENV_SOFTIRQ_NR + 1)
_Static_assert(SIM_NR_SOFTIRQS <= 32, "softirq bits fit an unsigned int");

#define SIM_INJECT_MAX		16	/* injected interrupts waiting per CPU and kind */
#define SIM_FRAMES_MAX		16	/* nested contexts on one stack */
#define SIM_CB_SEGS		16	/* distinct GP cookies among one CPU's callbacks */
#define SIM_POOL_MAX		64	/* KENV_GFP_POOL pages per CPU */
#define SIM_READERS_MAX		64
#define SIM_CO_MAX		512	/* coroutines alive at once */
#define SIM_PCT_CHANGES_MAX	64	/* PCT change points per run */

/* Bounds after which a loop that should end is called a livelock (PROGRESS). */
#define SIM_RUN_STEPS_MAX	200000u
#define SIM_DRIVE_STEPS_MAX	200000u

/* kenv_work.state bits (the upper half holds the work's ordinal for traces). */
#define SIM_W_PENDING		0x01u	/* queued, waiting for its timer or GP, not yet run */
#define SIM_W_QUEUED		0x02u	/* on a CPU's worklist */
#define SIM_W_TIMER		0x04u	/* waiting for its delayed-work timer */
#define SIM_W_RCU		0x08u	/* waiting for its grace period (rcu_work) */
#define SIM_W_RUNNING		0x10u	/* its func executes on a worker */
#define SIM_W_EARLY		0x20u	/* an rcu_work queued without its GP (fault) */
#define SIM_W_ORD_SHIFT		16

struct sim_injectq {
	struct {
		void (*fn)(void *arg);
		void *arg;
	} slot[SIM_INJECT_MAX];
	unsigned int head, count;
};

/* One segment of a CPU's callback list: @count callbacks waiting for @cookie. */
struct sim_cbseg {
	unsigned long cookie;
	unsigned long count;
};

struct sim_cpu {
	bool online;
	bool irqs_off;
	unsigned int preempt;		/* preempt_disable depth, raw locks included */
	unsigned int bh;		/* bh_disable depth, serving softirqs included */
	unsigned int rcu_nest;		/* kenv_rcu_read_lock depth */
	uint64_t rcu_nest_gp;		/* GP starts when the outermost one was taken */
	unsigned int softirq_pending;	/* bit per SIM softirq */
	struct sim_injectq irqs, nmis;
	int next_preempt;		/* SIM_NO_PREEMPT, -1: preempt, >= 0: migrate there */

	/* Work queued to this CPU's workers, FIFO through kenv_work.next. */
	struct kenv_work *work_head, *work_tail;
	unsigned int workers_active;	/* worker coroutines runnable or running */

	/* RCU callbacks, FIFO through kenv_rcu_head.next, split by cookie. */
	struct kenv_rcu_head *cb_head, **cb_tail;
	struct sim_cbseg seg[SIM_CB_SEGS];
	unsigned int seg_first, seg_nr;
	unsigned long cb_queued, cb_invoked;

	/* The lock-free page pool (KENV_GFP_POOL). */
	void *pool[SIM_POOL_MAX];
	unsigned int pool_nr;

	struct check_task idle_ct;
};
#define SIM_NO_PREEMPT (-2)

/* A nested execution context on the current stack. */
struct sim_frame {
	enum kenv_ctx ctx;
	unsigned int cpu;
	struct check_task *ct;
	struct sim_co *co;		/* base frame of a coroutine, else NULL */
	bool idle;			/* base frame of an idle CPU */
	/*
	 * This frame serves a softirq, or interrupted one that does, down to
	 * the base frame (kenv_in_softirq()): set as the frame is pushed.
	 */
	bool softirq;
	unsigned int locks;		/* raw locks this frame took and holds */
	/* The interrupted CPU state, restored (and compared) on exit. */
	bool saved_irqs_off;
	unsigned int saved_preempt, saved_bh, saved_rcu;
};

enum sim_wait_kind {
	SIM_WAIT_GP,		/* gp_seq reached @cookie */
	SIM_WAIT_BARRIER,	/* every CPU invoked up to @marks[cpu] callbacks */
	SIM_WAIT_WORK,		/* @work's done generation reached @target */
	SIM_WAIT_TASK,		/* coroutine @task finished */
};
#define SIM_WAIT_KINDS		(SIM_WAIT_TASK + 1)

/* What a blocked context waits for; lives on the waiter's stack. */
struct sim_wait {
	enum sim_wait_kind kind;
	const char *what;
	unsigned long cookie;
	struct kenv_work *work;
	uint64_t target;
	int task;
	unsigned long marks[KENV_NR_CPUS_MAX];
};

enum sim_co_state { SIM_CO_FREE, SIM_CO_RUNNABLE, SIM_CO_RUNNING, SIM_CO_BLOCKED };

struct sim_co {
	int id;				/* per run; -1 when free */
	unsigned int slot;
	enum sim_co_state state;
	enum kenv_ctx ctx;
	bool worker;			/* a kworker draining its CPU's worklist */
	unsigned int cpu;
	void (*fn)(void *arg);
	void *arg;
	const char *name;
	struct check_task ct;
	struct sim_frame frame;		/* its base frame while switched out */
	struct sim_wait *wait;		/* while blocked */

	/* Switching. */
	bool fresh;			/* to be (re)started in co_trampoline */
	void *sp;			/* saved stack pointer (x86-64 switch) */
	ucontext_t uc;			/* elsewhere: the start context ... */
	jmp_buf jb;			/* ... and the switch buffer */
	void *stack_map;		/* mmap base, guard page first */
	size_t map_size;
	void *stack;			/* usable stack bottom */
	size_t stack_size;
	void *asan_fake;
	void *tsan_fiber;

	int64_t pct_prio;		/* PCT: higher runs first; < 0 after a change point */
};

struct sim_state {
	struct sim_config cfg;
	bool ready;
	uint64_t now;
	uint64_t rng[4];
	struct sim_stats st;

	struct sim_cpu cpu[KENV_NR_CPUS_MAX];

	/* Frames of the running stack; queries look at [base, depth]. */
	struct sim_frame frames[SIM_FRAMES_MAX];
	int depth, base;
	struct check_task frame_ct[SIM_FRAMES_MAX];
	struct check_task driver_ct;

	/* Coroutines. */
	struct sim_co *co[SIM_CO_MAX];
	unsigned int nr_co;		/* allocated slots (kept across runs) */
	unsigned int nr_co_used;	/* slots used in this run: all above are free */
	struct sim_co *cur;		/* running coroutine, NULL on main */
	struct sim_co *runq[SIM_CO_MAX];
	unsigned int runq_nr;
	unsigned int nr_blocked;	/* coroutines in SIM_CO_BLOCKED */
	/* Their slots, a bit each, by the kind of wait (enum sim_wait_kind). */
	uint64_t blocked_slots[SIM_WAIT_KINDS][SIM_CO_MAX / 64];
	/*
	 * The kinds of wait something may have ended since sim_wake_blocked()
	 * last looked, a bit each: a grace period starting or ending (GP),
	 * callbacks invoked or moved (BARRIER), a work item finishing (WORK), a
	 * coroutine exiting (TASK).  A wait's condition changes only there, and
	 * a waiter blocks only while it is false: the others need no look.
	 */
	unsigned int wake_kinds;
	int next_id;
	struct sim_wait *driver_wait;	/* the driver context's, while it waits */

	/* Timers, sorted by expiry then arming order, through kenv_timer.next. */
	struct kenv_timer *timers;
	unsigned int nr_timers;
	uintptr_t timer_ord, work_ord;

	void (*softirq_fn[KENV_SOFTIRQ_NR])(void);

	/* RCU. */
	unsigned long gp_seq, gp_needed;
	uint64_t gp_starts;		/* GPs started so far */
	uint64_t gp_start_time;
	struct {
		bool inside;
		unsigned int cpu;
		uint64_t gp;		/* gp_starts when it began */
	} reader[SIM_READERS_MAX];
	unsigned int readers_inside;

	/* Memory. */
	unsigned int fail_next;
	/* RCU broken (sim_rcu_work_early()): rcu works still to queue without a GP. */
	unsigned int rwork_early;
	unsigned long page_limit;

	/* Hotplug hooks. */
	void (*hook_offline)(int cpu);
	void (*hook_online)(int cpu);

	/* PCT (sim_pct.c): steps taken, and the change points still ahead, sorted. */
	struct {
		bool on;
		uint64_t step;
		int64_t low;		/* the last priority a change point gave */
		uint64_t change[SIM_PCT_CHANGES_MAX];
		unsigned int next, nr;	/* change[next .. nr) are ahead */
	} pct;
};

extern struct sim_state sim;

/* The context names kenv_ctx_name() returns, indexed by enum kenv_ctx. */
extern const char *const sim_ctx_names[KENV_CTX_NR];

/*
 * The hottest helpers, run at every instrumentation point and checker hook:
 * always inlined, since a sanitizer build's checks make their bodies look
 * too big to the inliner and a call each cost a few percent of an input.
 */
#define SIM_HOT static inline __attribute__((always_inline))

/* Something a wait of @kind may be waiting for happened (sim.wake_kinds). */
SIM_HOT void sim_wake_note(enum sim_wait_kind kind)
{
	sim.wake_kinds |= 1u << kind;
}

/* The innermost frame; the CPU it runs on. */
SIM_HOT struct sim_frame *sim_top(void)
{
	return &sim.frames[sim.depth];
}
SIM_HOT unsigned int sim_cur_cpu(void)
{
	return sim.frames[sim.depth].cpu;
}
SIM_HOT struct sim_cpu *sim_this_cpu(void)
{
	return &sim.cpu[sim.frames[sim.depth].cpu];
}
/* Whether the caller may block right now (task/kthread, nothing disabled). */
SIM_HOT bool sim_sleepable(void)
{
	const struct sim_frame *f = sim_top();
	const struct sim_cpu *c = &sim.cpu[f->cpu];

	return sim.depth == sim.base && !f->idle &&
	       (f->ctx == KENV_CTX_TASK || f->ctx == KENV_CTX_KTHREAD) &&
	       !c->irqs_off && !c->preempt && !c->bh && !c->rcu_nest && !f->locks;
}

/* ---- sim_run.c ------------------------------------------------------------ */

/* Driver-only entry points die unless called from main outside any handler. */
void sim_assert_driver(const char *fn);

/* ---- sim_rng.c ------------------------------------------------------------ */

/* Seed the generator from @seed (splitmix64 fills xoshiro256**'s state). */
void sim_rng_seed(uint64_t seed);

SIM_HOT uint64_t sim_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The next xoshiro256** value; untraced (sim_random() traces). */
SIM_HOT uint64_t sim_rng_next(void)
{
	uint64_t *s = sim.rng;
	uint64_t result = sim_rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = sim_rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, @n), 0 when @n is 0; untraced. */
SIM_HOT uint64_t sim_rng_below(uint64_t n)
{
	/* Multiply-high: unbiased enough for scheduling, and one draw only. */
	return n ? (uint64_t)(((unsigned __int128)sim_rng_next() * n) >> 64) : 0;
}

/* A PRNG draw: true with probability @permille / 1000 (no draw for 0). */
SIM_HOT bool sim_chance(unsigned int permille)
{
	return permille && sim_rng_below(1000) < permille;
}

/* ---- sim_co.c ------------------------------------------------------------- */

/* A coroutine running fn(arg) in @ctx on @cpu, runnable; NULL when none is left. */
struct sim_co *sim_co_spawn(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg,
			    const char *name, bool worker);
/* main -> @co; returns when @co blocked, was preempted or finished. */
void sim_co_resume(struct sim_co *co);
/* The running coroutine -> main; returns when main resumes it. */
void sim_co_suspend(struct sim_co *co);
/* sim_init(): free every coroutine; those still blocked are re-made on reuse. */
void sim_co_reset(void);

/* ---- sim_sched.c ---------------------------------------------------------- */

void sim_runq_add(struct sim_co *co);
/* Make runnable every blocked coroutine whose wait is over; true if any. */
bool sim_wake_blocked(void);
/* Whether what @w waits for holds. */
bool sim_wait_done(const struct sim_wait *w);
/* One scheduling step from main; true if anything happened. */
bool sim_sched_step(void);
/* Block the caller until @w holds (coroutine: switch away; driver: drive). */
void sim_block(struct sim_wait *w);
/* Preempt the running coroutine (and move a task to @migrate_to if >= 0). */
void sim_preempt_current(int migrate_to, const char *site);
/* Start a kworker coroutine for @cpu's worklist. */
bool sim_start_worker(unsigned int cpu);

/* ---- sim_time.c ----------------------------------------------------------- */

/* The driver context waits for @w, driving the system meanwhile. */
void sim_driver_wait(struct sim_wait *w);

/* ---- sim_irq.c ------------------------------------------------------------ */

/* Run fn(arg) in @ctx as a frame nested on the running stack of @cpu. */
void sim_run_nested(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg);
/* Run fn(arg) in @ctx on @cpu nested on the current stack (on the idle CPU
 * or the driver when called from main); handles irq_exit for hardirqs. */
void sim_run_on(unsigned int cpu, enum kenv_ctx ctx, void (*fn)(void *), void *arg);
/* Take the oldest entry of the non-empty queue @q. */
void sim_inject_pop(struct sim_injectq *q, void (**fn)(void *), void **arg);
/* Deliver one interrupt injected for a CPU that ran nothing to take it. */
bool sim_deliver_idle_injection(void);

/* ---- sim_point.c ---------------------------------------------------------- */

/* An instrumentation point (interrupts, NMIs, preemption, pool refill). */
void sim_point(const char *site);

/* ---- sim_pct.c ------------------------------------------------------------ */

/* sim_init(): PCT on or off, its change points drawn; kenv_fine_points set. */
void sim_pct_init(void);
/* A coroutine was made: under PCT it gets its random priority. */
void sim_pct_spawned(struct sim_co *co);
/* Under PCT: the index in sim.runq of the coroutine to run next. */
unsigned int sim_pct_pick(void);
/* Under PCT, a coroutine reached a scheduling point: count the step, apply a change point. */
void sim_pct_step(const char *site);
/*
 * Under PCT, at a point where the running coroutine may be preempted: whether
 * a runnable coroutine (waking those whose wait is over) has a higher priority.
 */
bool sim_pct_should_yield(void);

/* ---- sim_ctx.c ------------------------------------------------------------ */

/*
 * A "sleep" kenv function was called: tell the checker, and return whether
 * the caller may really block (else the function must not wait).
 */
bool sim_might_block(const char *site);
/* Raw locks held on the running CPU's stack: the caller's and those of the
 * contexts it interrupted (for check_allocator_call()). */
unsigned int sim_raw_locks_held(void);
/* A context ended (coroutine, work item): the checker judges what it left
 * held or disabled (check_context_left), then the CPU is repaired. */
void sim_context_ended(const char *who);

/* ---- sim_hotplug.c -------------------------------------------------------- */

/* A random online CPU other than @avoid (-1: none avoided); a PRNG draw. */
unsigned int sim_random_online_cpu(int avoid);
/* The lowest online CPU other than @avoid (-1: none avoided). */
unsigned int sim_first_online_cpu(int avoid);

/* ---- sim_rcu.c ------------------------------------------------------------ */

void sim_rcu_reset(void);
/* The cookie that a GP starting after now will reach; records the need. */
unsigned long sim_rcu_snap_and_request(void);
bool sim_rcu_cookie_done(unsigned long cookie);
/* Whether the GP in progress may end now as far as readers go. */
bool sim_rcu_readers_allow(void);
void sim_rcu_start_gp(void);
void sim_rcu_end_gp(void);
/* Automatic mode: start or end a GP if due; true if something changed. */
bool sim_rcu_auto_step(void);
/* Automatic mode: when the GP in progress may end (readers aside). */
bool sim_rcu_auto_end_time(uint64_t *when);
/* Invoke @cpu's ready callbacks; the caller is its RCU softirq. */
void sim_rcu_invoke_ready(unsigned int cpu);
bool sim_rcu_barrier_done(const struct sim_wait *w);
/* Hotplug: move @from's callbacks to @to (waiting barriers follow). */
void sim_rcu_migrate_callbacks(unsigned int from, unsigned int to);
/* Queue a callback without the context checks (rcu_work uses it). */
void sim_rcu_queue(struct kenv_rcu_head *head, void (*func)(struct kenv_rcu_head *));

/* ---- sim_work.c ------------------------------------------------------------ */

void sim_work_reset(void);
/* Fire the earliest due timer of any CPU from main; true if one fired. */
bool sim_timer_fire_due(void);
/* Fire at most one due timer of @cpu at an instrumentation point. */
bool sim_timer_fire_due_on(unsigned int cpu);
bool sim_timer_next(uint64_t *when);
/* Run @cpu's pending softirqs in softirq context (the caller is on @cpu). */
void sim_do_softirq(unsigned int cpu);
/* irq_exit: pending softirqs run unless in interrupt or bh disabled. */
void sim_irq_exit(unsigned int cpu);
/* ksoftirqd from main: run one CPU's pending softirqs; true if any. */
bool sim_ksoftirqd(void);
/* Whether @cpu has work its workers may start now. */
bool sim_work_eligible(unsigned int cpu);
/* The kworker coroutine body. */
void sim_worker_main(void *arg);
bool sim_work_done(const struct sim_wait *w);
void sim_work_migrate(unsigned int from, unsigned int to);
void sim_timer_migrate(unsigned int from, unsigned int to);
/* Enqueue @work (pending already set) on @wq, from a CPU-local @cpu. */
void sim_work_enqueue(enum kenv_wq wq, struct kenv_work *work, unsigned int cpu);

/* ---- sim_mem.c ------------------------------------------------------------- */

void sim_mem_init(void);
void sim_mem_fini(void);
/* Refill @cpu's lock-free pool up to the configured size. */
void sim_pool_refill(unsigned int cpu);

#endif /* KVTORTURE_SIM_INTERNAL_H */
