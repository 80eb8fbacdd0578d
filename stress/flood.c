/* SPDX-License-Identifier: MIT */
/*
 * flood.c - the flooders of flood.h.
 *
 * Objects reach interrupt handlers only through per-CPU rings that the CPU
 * thread fills in task context (a handler must not allocate): one ring for
 * the hardirq handler, one for the NMI handler, one for the softirq "device
 * queue".  The irq and NMI rings have one producer (the CPU thread) and one
 * consumer (a handler on that same thread), so a single-producer
 * single-consumer ring with atomic indices is enough even though the handler
 * may interrupt the producer anywhere.
 *
 * Each scenario of scenarios.def names its start function, in the last
 * section: it spawns the scenario's threads.  The handlers' feeding (irq,
 * nmi, softirq) is the CPU threads' workload, cpu_workload().
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "flood.h"
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "posix_obj.h"

#define NSLOTS 1024
#define RING 256
#define MAX_FLOOD_THREADS 256

void kvt_flood_config_default(struct kvt_flood_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 2;
	cfg->mask = kvt_scenario_all_mask();
	cfg->users_per_cpu = 1;
	cfg->irq_rate = 4000;
	cfg->nmi_rate = 200;
	cfg->fault_ppm = 200000;
	cfg->max_outstanding = 100000;
	cfg->stall_ns = 20 * 1000 * 1000;
	cfg->chaos = true;
	cfg->duty_percent = 100;
	cfg->quiet_ns = 1000ull * 1000 * 1000;
	cfg->duty_cpus = ~0ull;
	cfg->barrier_threads = 3;
	cfg->barrier_rate = 10;
	cfg->misuse_per_mille = 30;
}

/* ---------------------------------------------------------------------------
 * Shared state
 */

static struct kvt_flood_config fcfg;
static _Atomic(bool) flood_stop;
/*
 * A pause (kvt_flood_pause_slow(), kvt_flood_pause()): the flooder threads
 * whose level is reached wait at the top of their loops, counted in
 * nr_parked; nr_live counts the threads whose loop still runs (a thread
 * that returned never parks).  The slow ones (barriers, hotplug) also count
 * in the _slow counters.
 */
enum pause_level { PAUSE_NONE, PAUSE_SLOW, PAUSE_ALL };
static _Atomic(int) pause_level;
static _Atomic(int) nr_parked, nr_live, nr_parked_slow, nr_live_slow;
/* Where the duty cycles begin: kvt_flood_start(). */
static uint64_t duty_t0_ns;

/*
 * What a flooder thread runs; nr_live counts it until its loop returns.
 * @slow: its operations take long (a barrier waits for every pending
 * object's reclaim, a CPU going offline for its own), so it pauses first.
 */
struct flood_thread {
	void *(*fn)(void *);
	enum kvt_scenario sc;
	bool slow;
	char name[32];
	/* What a hang dump says of it: parked, waiting for frees, returned. */
	_Atomic(bool) parked, throttled, done;
};
static __thread struct flood_thread *my_thread;
static struct flood_thread thread_args[MAX_FLOOD_THREADS];

/* Whether a pause asks the calling flooder thread (or handler) to stop now. */
static bool pausing(void)
{
	int need = my_thread && my_thread->slow ? PAUSE_SLOW : PAUSE_ALL;

	return atomic_load(&pause_level) >= need;
}

/*
 * Flood handlers (hardirq, NMI, softirq) now running.  They run on their own,
 * from signals, irq exits and ksoftirqd, so stopping the flood waits for the
 * ones in progress; one that starts after the stop does nothing.
 */
static _Atomic(int) handlers_running;
static struct kvt_obj *_Atomic slots[NSLOTS];

/* Counters: relaxed atomics, read racily by the progress line. */
static _Atomic(uint64_t) st_calls[KVT_SC_NR][KENV_CTX_NR];
static _Atomic(uint64_t) st_headless[KVT_SC_NR];
static _Atomic(uint64_t) st_cpu_calls[KENV_NR_CPUS_MAX][KENV_CTX_NR];
static _Atomic(uint64_t) st_cpu_headless[KENV_NR_CPUS_MAX];
static _Atomic(uint64_t) st_nmi_calls[KENV_NR_CPUS_MAX];
static _Atomic(uint64_t) st_reader_sections, st_reader_objects;
static _Atomic(uint64_t) st_hotplug, st_shrinker, st_starve, st_barriers;
static _Atomic(uint64_t) st_barriers_quiet, st_barrier_shrinks;
static _Atomic(uint64_t) st_misuse_double, st_misuse_headless, st_misuse_nmi;

struct spsc_ring {
	_Atomic(unsigned int) head;	/* written by the producer */
	_Atomic(unsigned int) tail;	/* written by the consumer */
	struct kvt_obj *objs[RING];
};

/* A multi-producer stack consumed whole: the softirq device queue. */
struct item_stack {
	struct kvt_obj *_Atomic top;
	_Atomic(int) len;
};

struct flood_cpu {
	struct spsc_ring irq_ring, nmi_ring;
	/*
	 * misuse: objects for headless calls from the hardirq handler, and
	 * the objects the implementation refused in a handler, given back by
	 * the CPU thread (a handler must not free): one producer each.
	 */
	struct spsc_ring misuse_ring, irq_refused, nmi_refused;
	struct item_stack rxq;
	_Atomic(int) in_workload;
	_Atomic(uint64_t) softirq_passes;	/* kvt_flood_softirq_passes() */
	unsigned int nmi_seq;			/* this CPU's NMI handler's own */
} __attribute__((aligned(64)));

static struct flood_cpu fcpu[KENV_NR_CPUS_MAX];
static pthread_t threads[MAX_FLOOD_THREADS];
static int nr_threads;
static __thread enum kvt_scenario my_sc;

static bool ring_push(struct spsc_ring *r, struct kvt_obj *obj)
{
	unsigned int h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) >= RING)
		return false;
	r->objs[h % RING] = obj;
	/* Release: the slot's content before the index that publishes it. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

static struct kvt_obj *ring_pop(struct spsc_ring *r)
{
	unsigned int t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	struct kvt_obj *obj;

	if (t == atomic_load_explicit(&r->head, memory_order_acquire))
		return NULL;
	obj = r->objs[t % RING];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return obj;
}

static unsigned int ring_len(struct spsc_ring *r)
{
	return atomic_load(&r->head) - atomic_load(&r->tail);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/*
 * Sleep @ns, or less once the flood pauses or stops: a flooder between two
 * actions reaches its safe point (pause_point()) without sleeping its
 * interval out, so a checkpoint does not wait for it.
 */
static void nap_ns(uint64_t ns)
{
	uint64_t end = kenv_clock_ns() + ns;

	while (!pausing() && !atomic_load(&flood_stop)) {
		uint64_t now = kenv_clock_ns();

		if (now >= end)
			return;
		sleep_ns(end - now < 1000 * 1000 ? end - now : 1000 * 1000);
	}
}

static uint64_t rnd(uint64_t n)
{
	return n ? posix_random() % n : 0;
}

/* ---------------------------------------------------------------------------
 * Queueing and slots
 */

static void count_call(enum kvt_scenario sc, int cpu, enum kenv_ctx ctx, bool headless)
{
	atomic_fetch_add_explicit(&st_calls[sc][ctx], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st_cpu_calls[cpu][ctx], 1, memory_order_relaxed);
	if (headless) {
		atomic_fetch_add_explicit(&st_headless[sc], 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st_cpu_headless[cpu], 1, memory_order_relaxed);
	}
}

/* Hand @obj to kvfree_rcu() in the caller's context, telling the checker. */
static void queue_obj(struct kvt_obj *obj, bool headless, enum check_expect expect,
		      enum kvt_scenario sc)
{
	int cpu = kenv_cpu();
	enum kenv_ctx ctx = kenv_context();

	obj->queued_cpu = (int16_t)cpu;
	atomic_store_explicit(&obj->queued_ns, kenv_clock_ns(), memory_order_relaxed);
	if (ctx != KENV_CTX_NMI)
		posix_irq_hold();
	check_obj_queued(obj, cpu, ctx, headless, expect);
	if (ctx != KENV_CTX_NMI)
		posix_irq_unhold();
	kvfree_call_rcu(headless ? NULL : &obj->rh, obj);
	if (ctx != KENV_CTX_NMI)
		posix_irq_hold();
	check_obj_queue_returned(obj);
	if (ctx != KENV_CTX_NMI)
		posix_irq_unhold();
	count_call(sc, cpu, ctx, headless);
}

/* Publish @obj in a random slot and queue the one it replaces.  Context: any but NMI. */
static void swap_and_queue(struct kvt_obj *obj, bool headless, enum kvt_scenario sc)
{
	struct kvt_obj *old;

	/*
	 * Publish, exchange and unpublish with interrupts held back, so the
	 * checker sees them in the order they happened.
	 */
	posix_irq_hold();
	check_obj_publish(obj);
	/* Exchange: readers see the old or the new object, never a torn one. */
	old = atomic_exchange(&slots[rnd(NSLOTS)], obj);
	if (old)
		check_obj_unpublish(old);
	posix_irq_unhold();
	if (!old)
		return;
	queue_obj(old, headless, CHECK_EXPECT_FREE, sc);
}

static struct kvt_obj *new_obj(void)
{
	bool vm = rnd(16) == 0;

	return kvt_obj_alloc(vm ? 4096 + rnd(8192) : 8 + rnd(248), vm);
}

/* Flow control for the harness itself: the checker's shadow heap is finite. */
static bool over_limit(void)
{
	struct kvt_obj_stats os;

	kvt_obj_stats(&os);
	return os.allocated - os.freed > fcfg.max_outstanding;
}

static void throttle(void)
{
	if (my_thread)
		atomic_store_explicit(&my_thread->throttled, true, memory_order_relaxed);
	while (over_limit() && !atomic_load(&flood_stop) && !pausing())
		sleep_ns(200 * 1000);
	if (my_thread)
		atomic_store_explicit(&my_thread->throttled, false, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------
 * Pauses and duty cycles
 */

/*
 * A flooder thread's safe point, at the top of its loop, where it holds no
 * lock, is in no call and has every CPU it took offline back online: while
 * a pause is requested it waits here, counted in nr_parked.  Returns
 * whether it waited (the caller then looks at the stop flag again).
 */
static bool pause_point(void)
{
	bool slow = my_thread && my_thread->slow;

	if (!pausing())
		return false;
	if (my_thread)
		atomic_store_explicit(&my_thread->parked, true, memory_order_relaxed);
	atomic_fetch_add(&nr_parked, 1);
	if (slow)
		atomic_fetch_add(&nr_parked_slow, 1);
	while (pausing() && !atomic_load(&flood_stop))
		sleep_ns(100 * 1000);
	if (slow)
		atomic_fetch_sub(&nr_parked_slow, 1);
	atomic_fetch_sub(&nr_parked, 1);
	if (my_thread)
		atomic_store_explicit(&my_thread->parked, false, memory_order_relaxed);
	return true;
}

/* What a wait for the flood watches move: objects freed, flooders parked. */
static uint64_t flood_moved(void)
{
	struct kvt_obj_stats os;

	kvt_obj_stats(&os);
	return os.freed + (uint64_t)atomic_load(&nr_parked);
}

bool kvt_flood_wait(bool (*cond)(const void *arg), const void *arg, uint64_t deadline_ns,
		    uint64_t idle_ns)
{
	uint64_t mark = flood_moved(), since = kenv_clock_ns(), starved = posix_starved_ns();

	while (!cond(arg)) {
		uint64_t now = kenv_clock_ns(), moved = flood_moved();

		if (moved != mark) {
			mark = moved;
			since = now;
			starved = posix_starved_ns();
		}
		if (now > deadline_ns)
			return false;
		/* Time the reclaiming threads could not run for the host does not count. */
		if (now - since > idle_ns && now - since - idle_ns > posix_starved_ns() - starved)
			return false;
		sleep_ns(20 * 1000);
	}
	return true;
}

static bool slow_parked(const void *arg)
{
	(void)arg;
	return atomic_load(&nr_parked_slow) >= atomic_load(&nr_live_slow);
}

bool kvt_flood_pause_slow(uint64_t patience_ns)
{
	int none = PAUSE_NONE;

	atomic_compare_exchange_strong(&pause_level, &none, PAUSE_SLOW);
	return kvt_flood_wait(slow_parked, NULL, kenv_clock_ns() + patience_ns, UINT64_MAX);
}

/* Every flooder parked, no flood handler running, no CPU thread in a workload pass. */
static bool all_parked(const void *arg)
{
	(void)arg;
	if (atomic_load(&nr_parked) < atomic_load(&nr_live) || atomic_load(&handlers_running))
		return false;
	for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++)
		if (atomic_load(&fcpu[cpu].in_workload))
			return false;
	return true;
}

bool kvt_flood_pause(uint64_t idle_ns)
{
	/*
	 * seq_cst, as the level's readers: a handler or workload pass either
	 * is seen running by all_parked(), or sees the pause (handler_enter(),
	 * cpu_workload()).
	 */
	atomic_store(&pause_level, PAUSE_ALL);
	return kvt_flood_wait(all_parked, NULL, UINT64_MAX, idle_ns);
}

void kvt_flood_resume(void)
{
	atomic_store(&pause_level, PAUSE_NONE);
}

void kvt_flood_dump(int fd)
{
	static const char *const levels[] = { "none", "the slow flooders", "every flooder" };
	int level = atomic_load(&pause_level);
	int cpus = fcfg.nr_cpus < KENV_NR_CPUS_MAX ? fcfg.nr_cpus : KENV_NR_CPUS_MAX;

	if (!nr_threads)
		return;
	dprintf(fd, "--- the flood ---\n");
	dprintf(fd, "pause asked of: %s; parked %d of %d threads (slow %d of %d); "
		"flood handlers running %d\n",
		level >= PAUSE_NONE && level <= PAUSE_ALL ? levels[level] : "?",
		atomic_load(&nr_parked), atomic_load(&nr_live), atomic_load(&nr_parked_slow),
		atomic_load(&nr_live_slow), atomic_load(&handlers_running));
	for (int i = 0; i < nr_threads; i++) {
		struct flood_thread *t = &thread_args[i];
		const char *state = "running";

		if (atomic_load_explicit(&t->done, memory_order_relaxed))
			state = "returned";
		else if (atomic_load_explicit(&t->parked, memory_order_relaxed))
			state = "parked";
		else if (atomic_load_explicit(&t->throttled, memory_order_relaxed))
			state = "waits for frees (over the outstanding limit)";
		dprintf(fd, "%-20s %s%s\n", t->name, state, t->slow ? " (slow)" : "");
	}
	for (int cpu = 0; cpu < cpus; cpu++)
		if (atomic_load(&fcpu[cpu].in_workload))
			dprintf(fd, "cpu%d                 in a workload pass\n", cpu);
}

uint64_t kvt_flood_softirq_passes(int cpu)
{
	return atomic_load(&fcpu[cpu].softirq_passes);
}

static bool cpu_cycles(int cpu)
{
	return fcfg.duty_percent < 100 && cpu < 64 && ((fcfg.duty_cpus >> cpu) & 1);
}

static uint64_t duty_period_ns(void)
{
	return fcfg.quiet_ns * 100 / (100 - fcfg.duty_percent);
}

/*
 * Where @cpu's first period begins: the cycling CPUs are staggered by an
 * equal share of the period, each flooding from the start until its first
 * quiet stretch.
 */
static uint64_t duty_start_ns(int cpu)
{
	uint64_t below = cpu ? fcfg.duty_cpus & ((1ull << cpu) - 1) : 0;
	uint64_t all = fcfg.nr_cpus < 64 ? (1ull << fcfg.nr_cpus) - 1 : ~0ull;
	int rank = __builtin_popcountll(below);
	int n = __builtin_popcountll(fcfg.duty_cpus & all);

	return duty_t0_ns + duty_period_ns() * (uint64_t)rank / (uint64_t)(n ? n : 1);
}

bool kvt_flood_cpu_quiet(int cpu, uint64_t now_ns)
{
	uint64_t start, period;

	if (!cpu_cycles(cpu))
		return false;
	start = duty_start_ns(cpu);
	period = duty_period_ns();
	return now_ns >= start && (now_ns - start) % period >= period - fcfg.quiet_ns;
}

uint64_t kvt_flood_quiet_mask(uint64_t now_ns)
{
	uint64_t mask = 0;

	for (int cpu = 0; cpu < fcfg.nr_cpus && fcfg.duty_percent < 100; cpu++)
		if (kvt_flood_cpu_quiet(cpu, now_ns))
			mask |= 1ull << cpu;
	return mask;
}

void kvt_flood_quiet_stats(int cpu, uint64_t end_ns, struct kvt_quiet_stats *q)
{
	uint64_t period;

	memset(q, 0, sizeof(*q));
	if (!cpu_cycles(cpu))
		return;
	period = duty_period_ns();
	for (uint64_t b = duty_start_ns(cpu) + period - fcfg.quiet_ns; b < end_ns; b += period) {
		uint64_t e = b + fcfg.quiet_ns < end_ns ? b + fcfg.quiet_ns : end_ns;

		q->periods++;
		q->total_ns += e - b;
		if (e - b > q->longest_ns)
			q->longest_ns = e - b;
	}
}

/* Whether @cpu is quiet now; no clock read unless some CPU cycles. */
static bool quiet_now(int cpu)
{
	return fcfg.duty_percent < 100 && kvt_flood_cpu_quiet(cpu, kenv_clock_ns());
}

/*
 * A task flooder's turn begins: false (the caller loops again) if it paused
 * for a checkpoint, or if its CPU is quiet (then it waits a millisecond
 * outside the CPU); true with the CPU entered.  A user thread on a quiet CPU
 * moves to one that floods, as a scheduler would; a kthread stays on its own.
 */
static bool task_turn_begins(void)
{
	if (pause_point())
		return false;
	if (quiet_now(posix_cpu_enter_avoiding(quiet_now))) {
		posix_cpu_exit();
		sleep_ns(1000 * 1000);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------------
 * Threads
 */

static void *flood_thread_main(void *arg)
{
	struct flood_thread *t = arg;
	void *ret;

	my_thread = t;
	ret = t->fn((void *)(uintptr_t)t->sc);
	if (t->slow)
		atomic_fetch_sub(&nr_live_slow, 1);
	atomic_fetch_sub(&nr_live, 1);
	atomic_store_explicit(&t->done, true, memory_order_relaxed);
	return ret;
}

/* The slow flooders (struct flood_thread). */
static void *hotplug_main(void *arg);
static void *barrier_main(void *arg);

static void spawn(const char *name, enum posix_role role, int cpu, void *(*fn)(void *),
		  enum kvt_scenario sc)
{
	if (nr_threads >= MAX_FLOOD_THREADS)
		KENV_DIE("too many flooder threads");
	thread_args[nr_threads] = (struct flood_thread){
		.fn = fn, .sc = sc, .slow = fn == barrier_main || fn == hotplug_main };
	snprintf(thread_args[nr_threads].name, sizeof(thread_args[nr_threads].name), "%s", name);
	atomic_fetch_add(&nr_live, 1);
	if (thread_args[nr_threads].slow)
		atomic_fetch_add(&nr_live_slow, 1);
	posix_thread_create(&threads[nr_threads], name, role, cpu, flood_thread_main,
			    &thread_args[nr_threads]);
	nr_threads++;
}

/* syscall: open/close-like loops in task context, both forms. */
static void *syscall_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		if (!task_turn_begins())
			continue;
		for (int i = 0; i < 8; i++) {
			struct kvt_obj *obj;

			kenv_sched_point("syscall_entry");
			/* The point may have migrated us to a quiet CPU. */
			if (quiet_now(kenv_cpu()))
				break;
			obj = new_obj();
			if (!obj)
				break;
			swap_and_queue(obj, rnd(2), my_sc);
		}
		posix_cpu_exit();
		throttle();
	}
	return NULL;
}

/* kthread: loops with preemption, bh or irqs disabled, and plain ones. */
static void *kthread_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		unsigned int variant = (unsigned int)rnd(4);
		struct kvt_obj *objs[16];
		unsigned long flags;
		int n = 0;

		if (!task_turn_begins())
			continue;
		/* Allocate while preemptible: nothing may allocate in the atomic part. */
		while (n < 16 && (objs[n] = new_obj()))
			n++;
		switch (variant) {
		case 0:
			for (int i = 0; i < n; i++) {
				swap_and_queue(objs[i], rnd(2), my_sc);
				kenv_cond_resched();
			}
			break;
		case 1:
			kenv_preempt_disable();
			for (int i = 0; i < n; i++)
				swap_and_queue(objs[i], false, my_sc);
			kenv_preempt_enable();
			break;
		case 2:
			kenv_local_bh_disable();
			for (int i = 0; i < n; i++)
				swap_and_queue(objs[i], false, my_sc);
			kenv_local_bh_enable();
			break;
		default:
			flags = kenv_local_irq_save();
			for (int i = 0; i < n; i++)
				swap_and_queue(objs[i], false, my_sc);
			kenv_local_irq_restore(flags);
			break;
		}
		posix_cpu_exit();
		throttle();
	}
	return NULL;
}

/* The readers: every object reached is verified, twice for the long ones. */
static void *reader_main(void *arg)
{
	bool stall = (enum kvt_scenario)(uintptr_t)arg == KVT_SC_RCU_STALL;
	int id = posix_thread_id();

	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		const struct kvt_obj *held[8];
		uint64_t gens[8];
		int n = 0;

		if (pause_point())
			continue;
		kenv_rcu_read_lock();
		check_reader_begin(id);
		for (int i = 0; i < 8; i++) {
			const struct kvt_obj *obj = atomic_load_explicit(&slots[rnd(NSLOTS)],
									 memory_order_acquire);

			if (!obj)
				continue;
			check_reader_deref(id, obj);
			gens[n] = kvt_obj_verify(obj, 0, "reader");
			held[n++] = obj;
		}
		/* Stay inside: RCU cannot finish a GP while we do (rcu-stall). */
		if (stall)
			nap_ns(fcfg.stall_ns / 4 + rnd(fcfg.stall_ns));
		else
			kenv_sched_point("reader");
		for (int i = 0; i < n; i++)
			kvt_obj_verify(held[i], gens[i], "reader (re-check)");
		check_reader_end(id);
		kenv_rcu_read_unlock();
		atomic_fetch_add_explicit(&st_reader_sections, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st_reader_objects, (uint64_t)n, memory_order_relaxed);
		if (!stall)
			sleep_ns(20 * 1000);
	}
	return NULL;
}

/*
 * A flood handler's entry on @cpu: counts it as running, or returns false
 * (not counted) once the flood stops or pauses, or while @cpu is quiet, so
 * that kvt_flood_stop() and kvt_flood_pause() can wait for the handlers in
 * progress (and the stop then take what is left on the rings and queues).
 * The counter is raised before the flags are read: a handler either is seen
 * running by the stop or the pause, or sees them.  Context: hardirq, NMI or
 * softirq.  Pairs with handler_exit().
 */
static bool handler_enter(int cpu)
{
	atomic_fetch_add(&handlers_running, 1);
	if (atomic_load(&flood_stop) || atomic_load(&pause_level) == PAUSE_ALL || quiet_now(cpu)) {
		atomic_fetch_sub(&handlers_running, 1);
		return false;
	}
	return true;
}

static void handler_exit(void)
{
	atomic_fetch_sub(&handlers_running, 1);
}

/* softirq: a NET-style handler with an item budget and a time budget. */
static void softirq_flood_fn(void)
{
	int cpu = kenv_cpu();
	struct item_stack *q = &fcpu[cpu].rxq;
	uint64_t deadline = kenv_clock_ns() + 1000 * 1000;
	struct kvt_obj *list;
	int budget = 64;

	/* Counted paused or not: a checkpoint waits for a pass it raised (runner_checkpoint.c). */
	atomic_fetch_add(&fcpu[cpu].softirq_passes, 1);
	if (!handler_enter(cpu))
		return;
	list = atomic_exchange(&q->top, NULL);

	while (list && budget-- > 0 && kenv_clock_ns() < deadline) {
		struct kvt_obj *next = (struct kvt_obj *)list->rh.next;

		atomic_fetch_sub(&q->len, 1);
		list->rh.next = NULL;
		swap_and_queue(list, false, KVT_SC_SOFTIRQ);
		list = next;
	}
	/* Over budget: put the rest back and come again (ksoftirqd if need be). */
	while (list) {
		struct kvt_obj *next = (struct kvt_obj *)list->rh.next;
		struct kvt_obj *top = atomic_load(&q->top);

		do {
			list->rh.next = (struct kenv_rcu_head *)top;
		} while (!atomic_compare_exchange_weak(&q->top, &top, list));
		list = next;
	}
	if (atomic_load(&q->top))
		posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
	handler_exit();
}

static void rxq_push(struct item_stack *q, struct kvt_obj *obj)
{
	struct kvt_obj *top = atomic_load(&q->top);

	/* The rcu_head is unused until the object is queued: borrow its link. */
	do {
		obj->rh.next = (struct kenv_rcu_head *)top;
	} while (!atomic_compare_exchange_weak(&q->top, &top, obj));
	atomic_fetch_add(&q->len, 1);
}

/*
 * Give @obj, which the implementation refused, back from a handler: through
 * @r to the CPU thread, which hands it to kvfree_rcu() properly
 * (refused_retire()); leaked if the ring is full.
 */
static void refused_put(struct spsc_ring *r, struct kvt_obj *obj)
{
	(void)ring_push(r, obj);
}

/*
 * irq: the device handler takes ready objects and uses the two-argument
 * form; with the misuse flood, it also makes headless calls (refused:
 * hardirq context cannot sleep).
 */
static void irq_flood_fn(int cpu)
{
	struct kvt_obj *misused;

	if (!handler_enter(cpu))
		return;
	misused = ring_pop(&fcpu[cpu].misuse_ring);
	if (misused) {
		queue_obj(misused, true, CHECK_EXPECT_REFUSED, KVT_SC_MISUSE);
		atomic_fetch_add_explicit(&st_misuse_headless, 1, memory_order_relaxed);
		refused_put(&fcpu[cpu].irq_refused, misused);
	}
	for (int i = 0; i < 4; i++) {
		struct kvt_obj *obj = ring_pop(&fcpu[cpu].irq_ring);

		if (!obj)
			break;
		swap_and_queue(obj, false, KVT_SC_IRQ);
	}
	handler_exit();
}

/*
 * nmi: a call from NMI must be refused (counted, leaked), never deadlock;
 * with the misuse flood, every other one is headless.
 */
static void nmi_flood_fn(int cpu)
{
	struct flood_cpu *fc = &fcpu[cpu];
	struct kvt_obj *obj;

	if (!handler_enter(cpu))
		return;
	obj = ring_pop(&fc->nmi_ring);
	if (obj) {
		bool misuse = (fcfg.mask & (1u << KVT_SC_MISUSE)) && (fc->nmi_seq++ & 1);

		atomic_fetch_add_explicit(&st_nmi_calls[cpu], 1, memory_order_relaxed);
		if (misuse)
			atomic_fetch_add_explicit(&st_misuse_nmi, 1, memory_order_relaxed);
		queue_obj(obj, misuse, CHECK_EXPECT_REFUSED, misuse ? KVT_SC_MISUSE : KVT_SC_NMI);
		refused_put(&fc->nmi_refused, obj);
	}
	handler_exit();
}

/*
 * misuse, in task context on @cpu's thread: a double kvfree_rcu(), or a
 * headless call where sleeping is not allowed (irqs off, preemption off, bh
 * off, inside a read-side section, or from the hardirq handler).  Each is
 * declared to the checker with what must become of it, so MISUSE checks
 * that every one was warned about (and the double-queued object freed once).
 */
static atomic_uint misuse_turn;

static void misuse_pass(int cpu)
{
	struct flood_cpu *fc = &fcpu[cpu];
	struct kvt_obj *obj = kvt_obj_alloc(16 + rnd(64), false);
	unsigned long flags;
	/*
	 * The kinds in turn, not at random: a run that makes a few misuse
	 * passes (a slow build, a short run) still makes a double queue and
	 * headless calls, which the MISUSE checks need to have something to see.
	 */
	unsigned int how = atomic_fetch_add_explicit(&misuse_turn, 1, memory_order_relaxed) % 6;

	if (!obj)
		return;
	if (how == 0) {
		/*
		 * The read-side section keeps a grace period that began after
		 * the first call from ending before the second: the object is
		 * still queued (not freed) when the second call finds it.
		 */
		kenv_rcu_read_lock();
		queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_MISUSE);
		queue_obj(obj, false, CHECK_EXPECT_DOUBLE, KVT_SC_MISUSE);
		kenv_rcu_read_unlock();
		atomic_fetch_add_explicit(&st_misuse_double, 1, memory_order_relaxed);
		return;
	}
	if (how == 5) {
		/* From the hardirq handler, which this thread's interrupt runs. */
		if (ring_push(&fc->misuse_ring, obj))
			posix_raise_irq(cpu);
		else
			queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_MISUSE);
		return;
	}
	switch (how) {
	case 1:
		flags = kenv_local_irq_save();
		queue_obj(obj, true, CHECK_EXPECT_REFUSED, KVT_SC_MISUSE);
		kenv_local_irq_restore(flags);
		break;
	case 2:
		kenv_preempt_disable();
		queue_obj(obj, true, CHECK_EXPECT_REFUSED, KVT_SC_MISUSE);
		kenv_preempt_enable();
		break;
	case 3:
		kenv_local_bh_disable();
		queue_obj(obj, true, CHECK_EXPECT_REFUSED, KVT_SC_MISUSE);
		kenv_local_bh_enable();
		break;
	default:
		kenv_rcu_read_lock();
		queue_obj(obj, true, CHECK_EXPECT_REFUSED, KVT_SC_MISUSE);
		kenv_rcu_read_unlock();
		break;
	}
	atomic_fetch_add_explicit(&st_misuse_headless, 1, memory_order_relaxed);
	/*
	 * Refused: the implementation never took it, and it is still ours.
	 * Freed the right way now, as a caller that learnt its lesson would;
	 * given back to malloc unannounced, it would stay a live object to the
	 * checker for ever.
	 */
	queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_MISUSE);
}

/*
 * Hand what the handlers' refused calls gave back to kvfree_rcu(), the
 * right way (see misuse_pass()).  Context: @cpu's thread, task.
 */
static void refused_retire(struct flood_cpu *fc)
{
	struct kvt_obj *obj;

	while ((obj = ring_pop(&fc->irq_refused)))
		queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_MISUSE);
	while ((obj = ring_pop(&fc->nmi_refused)))
		queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_NMI);
}

/*
 * The CPU threads' task-context share: give back what handlers refused, feed
 * the handlers, mask irqs now and then, misuse the API now and then.
 */
static void cpu_workload(int cpu, void *arg)
{
	struct flood_cpu *fc = &fcpu[cpu];
	bool worked = false;

	(void)arg;
	/* seq_cst, then the flags: kvt_flood_pause() sees this pass, or it sees the pause. */
	atomic_store(&fc->in_workload, 1);
	if (atomic_load(&flood_stop) || atomic_load(&pause_level) == PAUSE_ALL)
		goto out;
	if (quiet_now(cpu))
		goto out;
	refused_retire(fc);
	/*
	 * Over the limit, the handlers go without: this pass may not wait for
	 * frees (below), and while a checkpoint waits for its slow flooders the
	 * handlers would otherwise be fed on and on, faster than a stalled grace
	 * period frees, until the checker's shadow heap is full.
	 */
	if (over_limit())
		goto misuse;
	if (fcfg.mask & (1u << KVT_SC_IRQ)) {
		while (ring_len(&fc->irq_ring) < RING / 2) {
			struct kvt_obj *obj = new_obj();

			if (!obj || !ring_push(&fc->irq_ring, obj)) {
				if (obj)
					kvt_obj_discard(obj);
				break;
			}
			worked = true;
		}
		/* A masked window: interrupts arriving now are replayed on restore. */
		{
			struct kvt_obj *obj = new_obj();
			unsigned long flags;

			if (obj) {
				flags = kenv_local_irq_save();
				swap_and_queue(obj, false, KVT_SC_IRQ);
				kenv_sched_point("irqs_off_window");
				kenv_local_irq_restore(flags);
			}
		}
	}
	if (fcfg.mask & ((1u << KVT_SC_NMI) | (1u << KVT_SC_MISUSE))) {
		while (ring_len(&fc->nmi_ring) < 16) {
			struct kvt_obj *obj = kvt_obj_alloc(16, false);

			if (!obj || !ring_push(&fc->nmi_ring, obj)) {
				if (obj)
					kvt_obj_discard(obj);
				break;
			}
		}
	}
	if ((fcfg.mask & (1u << KVT_SC_SOFTIRQ)) && atomic_load(&fc->rxq.len) < 2048) {
		for (int i = 0; i < 32; i++) {
			struct kvt_obj *obj = new_obj();

			if (!obj)
				break;
			rxq_push(&fc->rxq, obj);
		}
		/* Half the time raised under bh-off, so the bh enable runs it. */
		if (rnd(2)) {
			kenv_local_bh_disable();
			posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
			kenv_local_bh_enable();
		} else {
			posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
		}
		worked = true;
	}
misuse:
	if ((fcfg.mask & (1u << KVT_SC_MISUSE)) && rnd(1000) < fcfg.misuse_per_mille) {
		misuse_pass(cpu);
		worked = true;
	}
	if (rnd(64) == 0)
		posix_pool_refill(cpu);
out:
	atomic_store(&fc->in_workload, 0);
	/*
	 * Not while a pause is on its way: a checkpoint hands this thread jobs
	 * (holding its kworker, raising a softirq) and must not find it
	 * waiting for frees.
	 */
	if (atomic_load(&pause_level) == PAUSE_NONE)
		throttle();
	sleep_ns(worked ? 50 * 1000 : 200 * 1000);
}

/* Interrupt sources: thread-directed signals at the configured rates. */
static void *storm_main(void *arg)
{
	bool nmi = (enum kvt_scenario)(uintptr_t)arg == KVT_SC_NMI;
	unsigned int rate = nmi ? fcfg.nmi_rate : fcfg.irq_rate;
	uint64_t period = rate ? 1000000000ull / rate : 1000000000ull;

	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		if (pause_point())
			continue;
		for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++) {
			if (quiet_now(cpu))
				continue;
			if (nmi)
				posix_raise_nmi(cpu);
			else
				posix_raise_irq(cpu);
		}
		sleep_ns(period);
	}
	return NULL;
}

/* pressure: shrinker runs while page allocations fail. */
static void *shrinker_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	posix_set_fault_ppm(fcfg.fault_ppm);
	while (!atomic_load(&flood_stop)) {
		unsigned long count;

		if (pause_point())
			continue;
		count = kfree_rcu_shrink_count();
		/* Never 0, whatever runs meanwhile (the exact count is a checkpoint's). */
		check_shrink_count(count, NULL, NULL);
		if (count != KVFREE_SHRINK_EMPTY)
			kfree_rcu_shrink_scan(1 + rnd(count < 1024 ? count + 1 : 1024));
		atomic_fetch_add(&st_shrinker, 1);
		nap_ns((5 + rnd(40)) * 1000 * 1000);
	}
	posix_set_fault_ppm(0);
	return NULL;
}

/* hotplug: a random CPU (never 0) goes offline, then comes back. */
static void *hotplug_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop) && fcfg.nr_cpus > 1) {
		int cpu = 1 + (int)rnd((uint64_t)fcfg.nr_cpus - 1);

		/* Every CPU is back online here. */
		if (pause_point())
			continue;
		if (posix_cpu_offline(cpu)) {
			check_cpu_offline(cpu);
			kvfree_rcu_cpu_offline(cpu);
			nap_ns((2 + rnd(30)) * 1000 * 1000);
			kvfree_rcu_cpu_online(cpu);
			check_cpu_online(cpu);
			posix_cpu_online(cpu);
			atomic_fetch_add(&st_hotplug, 1);
		}
		nap_ns((2 + rnd(20)) * 1000 * 1000);
	}
	return NULL;
}

/*
 * barrier: several threads call kvfree_rcu_barrier() at --barrier-rate each,
 * racing each other, the flood, the monitor and the batches; now and then a
 * shrinker run just before one, so the shrinker's reclaim races barriers
 * even without the pressure flood (and hotplug races them in `all`).
 */
static void *barrier_main(void *arg)
{
	uint64_t period = 1000000000ull / (fcfg.barrier_rate ? fcfg.barrier_rate : 1);

	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		if (pause_point())
			continue;
		nap_ns(period / 2 + rnd(period));
		if (atomic_load(&flood_stop) || pausing())
			continue;
		if (rnd(4) == 0) {
			unsigned long count = kfree_rcu_shrink_count();

			check_shrink_count(count, NULL, NULL);
			if (count != KVFREE_SHRINK_EMPTY)
				kfree_rcu_shrink_scan(1 + rnd(count < 1024 ? count + 1 : 1024));
			atomic_fetch_add(&st_barrier_shrinks, 1);
		}
		if (kvt_flood_quiet_mask(kenv_clock_ns()))
			atomic_fetch_add(&st_barriers_quiet, 1);
		check_barrier_begin();
		kvfree_rcu_barrier();
		check_barrier_end();
		atomic_fetch_add(&st_barriers, 1);
	}
	return NULL;
}

/* rr-chaos-style starvation: a random thread stops running for a while. */
static void *chaos_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&flood_stop)) {
		int n = posix_nr_threads();
		int id = (int)rnd((uint64_t)n);
		/* Log-uniform from 1 ms to about 100 ms. */
		uint64_t ms = 1ull << rnd(7);

		if (pause_point())
			continue;
		if (posix_thread_starvable(id)) {
			posix_starve(id, kenv_clock_ns() + (ms + rnd(ms)) * 1000 * 1000);
			atomic_fetch_add(&st_starve, 1);
		}
		nap_ns((20 + rnd(200)) * 1000 * 1000);
	}
	return NULL;
}

/* Test-only: the broken drivers of the negative tests. */
static struct kenv_lock bug_lock;
/* Where the malloc'd block goes: keeps the compiler from eliding the pair. */
static void *volatile bug_sink;

/*
 * bug-reader-stall's and bug-gp-stall's work: enter an RCU read-side section
 * and never leave it.  It sleeps rather than spins, so the thread does not
 * look atomic: what catches the grace period that never ends is a wait for
 * frees that come no more (a checkpoint's, or the run's deadline).
 */
static struct kenv_work bug_reader_work;
static _Atomic(bool) bug_reader_in;

static void bug_reader_fn(struct kenv_work *work)
{
	(void)work;
	kenv_rcu_read_lock();
	atomic_store(&bug_reader_in, true);
	for (;;)
		sleep_ns(100 * 1000 * 1000);
}

/* Queue bug_reader_fn() once @until_ns passes or the flood stops; return once it is in. */
static void *leave_reader(uint64_t until_ns)
{
	while (!atomic_load(&flood_stop) && kenv_clock_ns() < until_ns)
		if (!pause_point())
			sleep_ns(1000 * 1000);
	kenv_work_init(&bug_reader_work, bug_reader_fn);
	kenv_queue_work(KENV_WQ_RECLAIM, &bug_reader_work);
	while (!atomic_load(&bug_reader_in))
		sleep_ns(1000 * 1000);
	return NULL;
}

static void *bug_main(void *arg)
{
	enum kvt_scenario sc = (enum kvt_scenario)(uintptr_t)arg;

	my_sc = sc;
	kenv_lock_init(&bug_lock, "bug_lock");
	/*
	 * Leave the reader behind when the flood stops, once it is in its
	 * section: kvt_flood_stop() joins this thread, so the final barrier
	 * begins with the reader held and waits for it forever.
	 */
	if (sc == KVT_SC_BUG_READER_STALL)
		return leave_reader(UINT64_MAX);
	/*
	 * Mid-run: from then on no grace period ends, so nothing is freed, a
	 * barrier in progress never returns and the flood stops at its
	 * backlog bound.  The next checkpoint cannot pause the barrier
	 * flooders, and must say so within --watchdog seconds of the last free.
	 */
	if (sc == KVT_SC_BUG_GP_STALL)
		return leave_reader(kenv_clock_ns() + 500 * 1000 * 1000);
	if (sc == KVT_SC_BUG_MISUSE_SILENT) {
		/*
		 * An NMI call the implementation would have dropped without a
		 * warning: declared (and returned), never made.  Only the
		 * checkpoints' MISUSE balance can notice before the end.
		 */
		struct kvt_obj *obj = kvt_obj_alloc(16, false);

		if (obj) {
			check_obj_queued(obj, kenv_cpu(), KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
			check_obj_queue_returned(obj);
			kvt_obj_discard(obj);
		}
		while (!atomic_load(&flood_stop))
			if (!pause_point())
				sleep_ns(1000 * 1000);
		return NULL;
	}
	while (!atomic_load(&flood_stop)) {
		unsigned long flags;
		void *p;

		if (pause_point())
			continue;
		flags = kenv_local_irq_save();
		kenv_raw_spin_lock(&bug_lock);
		if (sc == KVT_SC_BUG_STALL) {
			/*
			 * Spin with the lock held and irqs off, past any scheduling
			 * point, until the run is told to stop: the watchdog must see
			 * this thread stuck atomic and report where.
			 */
			while (!atomic_load(&flood_stop))
				;
			kenv_raw_spin_unlock(&bug_lock);
			kenv_local_irq_restore(flags);
			break;
		}
		if (sc == KVT_SC_BUG_ALLOC_LOCKED) {
			p = kenv_page_alloc(KENV_GFP_NOWAIT);
			kenv_raw_spin_unlock(&bug_lock);
			kenv_local_irq_restore(flags);
			kenv_page_free(p);
		} else {
			bug_sink = malloc(64);
			kenv_raw_spin_unlock(&bug_lock);
			kenv_local_irq_restore(flags);
			free(bug_sink);
		}
		sleep_ns(1000 * 1000);
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Starting the scenarios: scenarios.def names a start function for each
 */

/* kvt_flood_start() calls the per-CPU part first, then the rest with this. */
#define NO_CPU (-1)

/*
 * A scenario's start: spawn its threads.  kvt_flood_start() calls it once
 * for each CPU with that CPU's id, for threads that belong to a CPU, then
 * once with NO_CPU for the others.  Context: the main thread, in
 * kvt_flood_start() (fcfg is set).
 */
typedef void kvt_scenario_start_fn(enum kvt_scenario sc, int cpu);

static bool users_started[KENV_NR_CPUS_MAX];

/* @cpu's user threads (once per run), their calls counted under @sc. */
static void spawn_users(int cpu, enum kvt_scenario sc)
{
	char name[32];

	if (users_started[cpu])
		return;
	users_started[cpu] = true;
	for (unsigned int u = 0; u < fcfg.users_per_cpu; u++) {
		snprintf(name, sizeof(name), "user%d.%u", cpu, u);
		spawn(name, POSIX_ROLE_USER, cpu, syscall_main, sc);
	}
}

/*
 * The sources that stress others (a stall, pressure, hotplug, misuse,
 * barriers, quiet CPUs) need updates to act on: the syscall flood's user
 * threads run anyway, their calls counted under @sc when the syscall flood
 * was not asked for.
 */
static void spawn_base_load(int cpu, enum kvt_scenario sc)
{
	spawn_users(cpu, (fcfg.mask & (1u << KVT_SC_SYSCALL)) ? KVT_SC_SYSCALL : sc);
}

/* A thread of no CPU, started on the NO_CPU call. */
static void spawn_once(int cpu, const char *name, enum posix_role role, void *(*fn)(void *),
		       enum kvt_scenario sc)
{
	if (cpu == NO_CPU)
		spawn(name, role, 0, fn, sc);
}

static void start_syscall(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_users(cpu, sc);
}

static void start_kthread(enum kvt_scenario sc, int cpu)
{
	char name[32];

	if (cpu == NO_CPU)
		return;
	snprintf(name, sizeof(name), "cpu%d/kthread", cpu);
	spawn(name, POSIX_ROLE_KTHREAD, cpu, kthread_main, sc);
}

/* irq and nmi: one storm thread each; cpu_workload() feeds their handlers. */
static void start_irq(enum kvt_scenario sc, int cpu)
{
	spawn_once(cpu, "irq-storm", POSIX_ROLE_OTHER, storm_main, sc);
}

static void start_nmi(enum kvt_scenario sc, int cpu)
{
	spawn_once(cpu, "nmi-storm", POSIX_ROLE_OTHER, storm_main, sc);
}

/* rcu-stall: the readers (kvt_flood_start()) stay inside for long. */
static void start_rcu_stall(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_base_load(cpu, sc);
}

static void start_pressure(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_base_load(cpu, sc);
	spawn_once(cpu, "shrinker", POSIX_ROLE_KTHREAD, shrinker_main, sc);
}

static void start_hotplug(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_base_load(cpu, sc);
	spawn_once(cpu, "hotplug", POSIX_ROLE_KTHREAD, hotplug_main, sc);
}

/* misuse: the CPU threads misuse (cpu_workload); NMIs arrive without the nmi flood too. */
static void start_misuse(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_base_load(cpu, sc);
	else if (!(fcfg.mask & (1u << KVT_SC_NMI)))
		spawn("nmi-storm", POSIX_ROLE_OTHER, 0, storm_main, KVT_SC_NMI);
}

static void start_barrier(enum kvt_scenario sc, int cpu)
{
	char name[32];

	if (cpu != NO_CPU) {
		spawn_base_load(cpu, sc);
		return;
	}
	for (unsigned int i = 0; i < fcfg.barrier_threads; i++) {
		snprintf(name, sizeof(name), "barrier%u", i);
		spawn(name, POSIX_ROLE_KTHREAD, (int)(i % (unsigned int)fcfg.nr_cpus), barrier_main,
		      sc);
	}
}

/* idle: the base load on every CPU; the runner sets the duty cycles. */
static void start_idle(enum kvt_scenario sc, int cpu)
{
	if (cpu != NO_CPU)
		spawn_base_load(cpu, sc);
}

/* The negative drivers: one bug_main() thread, named after its scenario. */
static void start_negative(enum kvt_scenario sc, int cpu)
{
	spawn_once(cpu, kvt_scenario_name(sc), POSIX_ROLE_KTHREAD, bug_main, sc);
}

static kvt_scenario_start_fn *const start_fns[KVT_SC_NR] = {
#define KVT_SCENARIO(id, name, kind, in_all, bench, start, desc) [KVT_SC_##id] = start,
#include "scenarios.def"
};

/* Every selected scenario's start for @cpu (or NO_CPU), in table order. */
static void start_scenarios(int cpu)
{
	for (int sc = 0; sc < KVT_SC_NR; sc++)
		if ((fcfg.mask & (1u << sc)) && start_fns[sc])
			start_fns[sc]((enum kvt_scenario)sc, cpu);
}

void kvt_flood_start(const struct kvt_flood_config *cfg)
{
	char name[32];

	fcfg = *cfg;
	if (fcfg.duty_percent < 1 || fcfg.duty_percent > 100 || !fcfg.quiet_ns)
		KENV_DIE("flood: duty_percent out of 1..100 or quiet_ns 0");
	atomic_store(&flood_stop, false);
	atomic_store(&pause_level, PAUSE_NONE);
	atomic_store(&nr_parked, 0);
	atomic_store(&nr_live, 0);
	atomic_store(&nr_parked_slow, 0);
	atomic_store(&nr_live_slow, 0);
	duty_t0_ns = kenv_clock_ns();
	memset(users_started, 0, sizeof(users_started));
	posix_open_softirq(POSIX_SOFTIRQ_FLOOD, softirq_flood_fn);
	posix_set_irq_handler(irq_flood_fn);
	posix_set_nmi_handler(nmi_flood_fn);
	posix_set_cpu_workload(cpu_workload, NULL);

	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++)
		start_scenarios(cpu);
	/* Readers everywhere: they are the object checks' eyes. */
	for (int r = 0; r < (cfg->nr_cpus + 1) / 2; r++) {
		snprintf(name, sizeof(name), "reader%d", r);
		spawn(name, POSIX_ROLE_USER, r % cfg->nr_cpus, reader_main,
		      (cfg->mask & (1u << KVT_SC_RCU_STALL)) ? KVT_SC_RCU_STALL : KVT_SC_SYSCALL);
	}
	start_scenarios(NO_CPU);
	if (cfg->chaos)
		spawn("chaos", POSIX_ROLE_OTHER, 0, chaos_main, KVT_SC_SYSCALL);
}

void kvt_flood_stop(void)
{
	atomic_store(&flood_stop, true);
	posix_set_cpu_workload(NULL, NULL);
	for (int i = 0; i < nr_threads; i++)
		pthread_join(threads[i], NULL);
	nr_threads = 0;
	/* The CPU threads finish the workload pass they are in. */
	for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++)
		while (atomic_load(&fcpu[cpu].in_workload))
			sleep_ns(100 * 1000);
	posix_set_irq_handler(NULL);
	posix_set_nmi_handler(NULL);
	/*
	 * A handler still running may queue objects (which must happen before
	 * the caller's final barrier begins) and pop the rings and the softirq
	 * queue (which must not race with the drain below).  Raised softirqs
	 * still pending run later and find the flood stopped.
	 */
	while (atomic_load(&handlers_running))
		sleep_ns(100 * 1000);
	posix_set_fault_ppm(0);
	for (int cpu = 1; cpu < fcfg.nr_cpus; cpu++) {
		if (!kenv_cpu_online(cpu)) {
			kvfree_rcu_cpu_online(cpu);
			check_cpu_online(cpu);
			posix_cpu_online(cpu);
		}
	}
	/* Unpublish and queue what is still reachable, from task context. */
	for (int i = 0; i < NSLOTS; i++) {
		struct kvt_obj *obj = atomic_exchange(&slots[i], NULL);

		if (!obj)
			continue;
		check_obj_unpublish(obj);
		queue_obj(obj, false, CHECK_EXPECT_FREE, KVT_SC_SYSCALL);
	}
	/* Objects waiting for a handler were never queued: give them back. */
	for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++) {
		struct kvt_obj *obj;

		while ((obj = ring_pop(&fcpu[cpu].irq_ring)))
			kvt_obj_discard(obj);
		while ((obj = ring_pop(&fcpu[cpu].nmi_ring)))
			kvt_obj_discard(obj);
		while ((obj = ring_pop(&fcpu[cpu].misuse_ring)))
			kvt_obj_discard(obj);
		while ((obj = ring_pop(&fcpu[cpu].irq_refused)))
			kvt_obj_discard(obj);
		while ((obj = ring_pop(&fcpu[cpu].nmi_refused)))
			kvt_obj_discard(obj);
		obj = atomic_exchange(&fcpu[cpu].rxq.top, NULL);
		while (obj) {
			struct kvt_obj *next = (struct kvt_obj *)obj->rh.next;

			kvt_obj_discard(obj);
			obj = next;
		}
		atomic_store(&fcpu[cpu].rxq.len, 0);
	}
}

void kvt_flood_stats(struct kvt_flood_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int sc = 0; sc < KVT_SC_NR; sc++) {
		for (int c = 0; c < KENV_CTX_NR; c++)
			st->calls[sc][c] = atomic_load_explicit(&st_calls[sc][c], memory_order_relaxed);
		st->headless[sc] = atomic_load_explicit(&st_headless[sc], memory_order_relaxed);
	}
	for (int cpu = 0; cpu < KENV_NR_CPUS_MAX; cpu++) {
		for (int c = 0; c < KENV_CTX_NR; c++)
			st->cpu_calls[cpu][c] = atomic_load_explicit(&st_cpu_calls[cpu][c],
								     memory_order_relaxed);
		st->cpu_headless[cpu] = atomic_load_explicit(&st_cpu_headless[cpu],
							     memory_order_relaxed);
		st->nmi_calls[cpu] = atomic_load_explicit(&st_nmi_calls[cpu], memory_order_relaxed);
	}
	st->reader_sections = atomic_load(&st_reader_sections);
	st->reader_objects = atomic_load(&st_reader_objects);
	st->hotplug_cycles = atomic_load(&st_hotplug);
	st->shrinker_runs = atomic_load(&st_shrinker);
	st->starvations = atomic_load(&st_starve);
	st->barriers = atomic_load(&st_barriers);
	st->barriers_while_quiet = atomic_load(&st_barriers_quiet);
	st->barrier_shrinks = atomic_load(&st_barrier_shrinks);
	st->misuse_double = atomic_load(&st_misuse_double);
	st->misuse_headless_atomic = atomic_load(&st_misuse_headless);
	st->misuse_nmi = atomic_load(&st_misuse_nmi);
}

uint64_t kvt_flood_calls(void)
{
	uint64_t sum = 0;

	for (int sc = 0; sc < KVT_SC_NR; sc++)
		for (int c = 0; c < KENV_CTX_NR; c++)
			sum += atomic_load_explicit(&st_calls[sc][c], memory_order_relaxed);
	return sum;
}
