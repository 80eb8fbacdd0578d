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

static const char *const sc_names[KVT_SC_NR] = {
	[KVT_SC_SYSCALL] = "syscall",	[KVT_SC_KTHREAD] = "kthread",
	[KVT_SC_SOFTIRQ] = "softirq",	[KVT_SC_IRQ] = "irq",
	[KVT_SC_NMI] = "nmi",		[KVT_SC_RCU_STALL] = "rcu-stall",
	[KVT_SC_PRESSURE] = "pressure", [KVT_SC_HOTPLUG] = "hotplug",
	[KVT_SC_BUG_ALLOC_LOCKED] = "bug-alloc-locked",
	[KVT_SC_BUG_MALLOC_LOCKED] = "bug-malloc-locked",
	[KVT_SC_BUG_STALL] = "bug-stall",
};

const char *kvt_scenario_name(enum kvt_scenario sc)
{
	return (unsigned int)sc < KVT_SC_NR ? sc_names[sc] : NULL;
}

bool kvt_scenario_parse(const char *list, unsigned int *mask, const char **bad, size_t *bad_len)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		bool found = false;

		if (len == 3 && !strncmp(p, "all", 3)) {
			*mask |= KVT_SC_ALL_MASK;
			found = true;
		}
		for (int sc = 0; sc < KVT_SC_NR && !found; sc++) {
			if (strlen(sc_names[sc]) == len && !strncmp(p, sc_names[sc], len)) {
				*mask |= 1u << sc;
				found = true;
			}
		}
		if (!found) {
			*bad = p;
			*bad_len = len;
			return false;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		*bad = list;
		*bad_len = 0;
		return false;
	}
	return true;
}

void kvt_flood_config_default(struct kvt_flood_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 2;
	cfg->mask = KVT_SC_ALL_MASK;
	cfg->users_per_cpu = 1;
	cfg->irq_rate = 4000;
	cfg->nmi_rate = 200;
	cfg->fault_ppm = 200000;
	cfg->max_outstanding = 100000;
	cfg->stall_ns = 20 * 1000 * 1000;
	cfg->chaos = true;
}

/* ---------------------------------------------------------------------------
 * Shared state
 */

static struct kvt_flood_config fcfg;
static _Atomic(bool) flood_stop;
static struct kvt_obj *_Atomic slots[NSLOTS];

/* Counters: relaxed atomics, read racily by the progress line. */
static _Atomic(uint64_t) st_calls[KVT_SC_NR][KENV_CTX_NR];
static _Atomic(uint64_t) st_headless[KVT_SC_NR];
static _Atomic(uint64_t) st_cpu_calls[KENV_NR_CPUS_MAX][KENV_CTX_NR];
static _Atomic(uint64_t) st_cpu_headless[KENV_NR_CPUS_MAX];
static _Atomic(uint64_t) st_nmi_calls[KENV_NR_CPUS_MAX];
static _Atomic(uint64_t) st_reader_sections, st_reader_objects;
static _Atomic(uint64_t) st_hotplug, st_shrinker, st_starve, st_barriers;

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
	struct item_stack rxq;
	_Atomic(int) in_workload;
	_Atomic(int) in_softirq;	/* softirq_flood_fn() runs for this CPU */
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
static void throttle(void)
{
	struct kvt_obj_stats os;

	kvt_obj_stats(&os);
	while (os.allocated - os.freed > fcfg.max_outstanding &&
	       !atomic_load(&flood_stop)) {
		sleep_ns(200 * 1000);
		kvt_obj_stats(&os);
	}
}

/* ---------------------------------------------------------------------------
 * Threads
 */

static void spawn(const char *name, enum posix_role role, int cpu, void *(*fn)(void *),
		  enum kvt_scenario sc)
{
	if (nr_threads >= MAX_FLOOD_THREADS)
		KENV_DIE("too many flooder threads");
	posix_thread_create(&threads[nr_threads++], name, role, cpu, fn,
			    (void *)(uintptr_t)sc);
}

/* syscall: open/close-like loops in task context, both forms. */
static void *syscall_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		posix_cpu_enter();
		for (int i = 0; i < 8; i++) {
			struct kvt_obj *obj = new_obj();

			if (!obj)
				break;
			kenv_sched_point("syscall_entry");
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

		/* Allocate while preemptible: nothing may allocate in the atomic part. */
		while (n < 16 && (objs[n] = new_obj()))
			n++;
		posix_cpu_enter();
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
			sleep_ns(fcfg.stall_ns / 4 + rnd(fcfg.stall_ns));
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
 * softirq: a NET-style handler with an item budget and a time budget.  Once
 * the flood stops it takes nothing more: kvt_flood_stop() waits for passes in
 * progress (in_softirq, flood_stop: either the pass sees the stop, or the
 * stop sees the pass), then gives back what is left, so no object is queued
 * after the run's final barrier began.
 */
static void softirq_flood_fn(void)
{
	struct flood_cpu *fc = &fcpu[kenv_cpu()];
	struct item_stack *q = &fc->rxq;
	uint64_t deadline = kenv_clock_ns() + 1000 * 1000;
	struct kvt_obj *list;
	int budget = 64;

	atomic_fetch_add(&fc->in_softirq, 1);
	if (atomic_load(&flood_stop)) {
		atomic_fetch_sub(&fc->in_softirq, 1);
		return;
	}
	list = atomic_exchange(&q->top, NULL);
	while (list && budget-- > 0 && kenv_clock_ns() < deadline &&
	       !atomic_load_explicit(&flood_stop, memory_order_relaxed)) {
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
	if (atomic_load(&q->top) && !atomic_load(&flood_stop))
		posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
	atomic_fetch_sub(&fc->in_softirq, 1);
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

/* irq: the device handler takes ready objects and uses the two-argument form. */
static void irq_flood_fn(int cpu)
{
	for (int i = 0; i < 4; i++) {
		struct kvt_obj *obj = ring_pop(&fcpu[cpu].irq_ring);

		if (!obj)
			return;
		swap_and_queue(obj, false, KVT_SC_IRQ);
	}
}

/* nmi: a call from NMI must be refused (counted, leaked), never deadlock. */
static void nmi_flood_fn(int cpu)
{
	struct kvt_obj *obj = ring_pop(&fcpu[cpu].nmi_ring);

	if (!obj)
		return;
	atomic_fetch_add_explicit(&st_nmi_calls[cpu], 1, memory_order_relaxed);
	queue_obj(obj, false, CHECK_EXPECT_REFUSED, KVT_SC_NMI);
}

/* The CPU threads' task-context share: feed the handlers, mask irqs now and then. */
static void cpu_workload(int cpu, void *arg)
{
	struct flood_cpu *fc = &fcpu[cpu];
	bool worked = false;

	(void)arg;
	atomic_store(&fc->in_workload, 1);
	if (atomic_load(&flood_stop))
		goto out;
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
	if (fcfg.mask & (1u << KVT_SC_NMI)) {
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
	if (rnd(64) == 0)
		posix_pool_refill(cpu);
out:
	atomic_store(&fc->in_workload, 0);
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
		for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++) {
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
		unsigned long count = kfree_rcu_shrink_count();

		if (count != KVFREE_SHRINK_EMPTY)
			kfree_rcu_shrink_scan(1 + rnd(count < 1024 ? count + 1 : 1024));
		atomic_fetch_add(&st_shrinker, 1);
		sleep_ns((5 + rnd(40)) * 1000 * 1000);
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

		if (posix_cpu_offline(cpu)) {
			check_cpu_offline(cpu);
			kvfree_rcu_cpu_offline(cpu);
			sleep_ns((2 + rnd(30)) * 1000 * 1000);
			kvfree_rcu_cpu_online(cpu);
			check_cpu_online(cpu);
			posix_cpu_online(cpu);
			atomic_fetch_add(&st_hotplug, 1);
		}
		sleep_ns((2 + rnd(20)) * 1000 * 1000);
	}
	return NULL;
}

/* all: a barrier now and then, while everything else floods. */
static void *barrier_main(void *arg)
{
	my_sc = (enum kvt_scenario)(uintptr_t)arg;
	while (!atomic_load(&flood_stop)) {
		sleep_ns((100 + rnd(300)) * 1000 * 1000);
		if (atomic_load(&flood_stop))
			break;
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

		if (posix_thread_starvable(id)) {
			posix_starve(id, kenv_clock_ns() + (ms + rnd(ms)) * 1000 * 1000);
			atomic_fetch_add(&st_starve, 1);
		}
		sleep_ns((20 + rnd(200)) * 1000 * 1000);
	}
	return NULL;
}

/* Test-only: the broken drivers of the negative tests. */
static struct kenv_lock bug_lock;
/* Where the malloc'd block goes: keeps the compiler from eliding the pair. */
static void *volatile bug_sink;

static void *bug_main(void *arg)
{
	enum kvt_scenario sc = (enum kvt_scenario)(uintptr_t)arg;

	my_sc = sc;
	kenv_lock_init(&bug_lock, "bug_lock");
	while (!atomic_load(&flood_stop)) {
		unsigned long flags = kenv_local_irq_save();
		void *p;

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

void kvt_flood_start(const struct kvt_flood_config *cfg)
{
	char name[32];
	unsigned int m = cfg->mask;
	bool base_load = m & ((1u << KVT_SC_RCU_STALL) | (1u << KVT_SC_PRESSURE) |
			      (1u << KVT_SC_HOTPLUG));

	fcfg = *cfg;
	atomic_store(&flood_stop, false);
	posix_open_softirq(POSIX_SOFTIRQ_FLOOD, softirq_flood_fn);
	posix_set_irq_handler(irq_flood_fn);
	posix_set_nmi_handler(nmi_flood_fn);
	posix_set_cpu_workload(cpu_workload, NULL);

	for (int cpu = 0; cpu < cfg->nr_cpus; cpu++) {
		/* The sources that stress others need updates to act on. */
		if ((m & (1u << KVT_SC_SYSCALL)) || base_load) {
			for (unsigned int u = 0; u < cfg->users_per_cpu; u++) {
				snprintf(name, sizeof(name), "user%d.%u", cpu, u);
				spawn(name, POSIX_ROLE_USER, cpu, syscall_main,
				      (m & (1u << KVT_SC_SYSCALL)) ? KVT_SC_SYSCALL :
				      KVT_SC_PRESSURE);
			}
		}
		if (m & (1u << KVT_SC_KTHREAD)) {
			snprintf(name, sizeof(name), "cpu%d/kthread", cpu);
			spawn(name, POSIX_ROLE_KTHREAD, cpu, kthread_main, KVT_SC_KTHREAD);
		}
	}
	/* Readers everywhere: they are the object checks' eyes. */
	for (int r = 0; r < (cfg->nr_cpus + 1) / 2; r++) {
		snprintf(name, sizeof(name), "reader%d", r);
		spawn(name, POSIX_ROLE_USER, r % cfg->nr_cpus, reader_main,
		      (m & (1u << KVT_SC_RCU_STALL)) ? KVT_SC_RCU_STALL : KVT_SC_SYSCALL);
	}
	if (m & (1u << KVT_SC_IRQ))
		spawn("irq-storm", POSIX_ROLE_OTHER, 0, storm_main, KVT_SC_IRQ);
	if (m & (1u << KVT_SC_NMI))
		spawn("nmi-storm", POSIX_ROLE_OTHER, 0, storm_main, KVT_SC_NMI);
	if (m & (1u << KVT_SC_PRESSURE))
		spawn("shrinker", POSIX_ROLE_KTHREAD, 0, shrinker_main, KVT_SC_PRESSURE);
	if (m & (1u << KVT_SC_HOTPLUG))
		spawn("hotplug", POSIX_ROLE_KTHREAD, 0, hotplug_main, KVT_SC_HOTPLUG);
	if ((m & KVT_SC_ALL_MASK) == KVT_SC_ALL_MASK)
		spawn("barrier", POSIX_ROLE_KTHREAD, 0, barrier_main, KVT_SC_SYSCALL);
	if (m & (1u << KVT_SC_BUG_ALLOC_LOCKED))
		spawn("bug-alloc", POSIX_ROLE_KTHREAD, 0, bug_main, KVT_SC_BUG_ALLOC_LOCKED);
	if (m & (1u << KVT_SC_BUG_MALLOC_LOCKED))
		spawn("bug-malloc", POSIX_ROLE_KTHREAD, 0, bug_main, KVT_SC_BUG_MALLOC_LOCKED);
	if (m & (1u << KVT_SC_BUG_STALL))
		spawn("bug-stall", POSIX_ROLE_KTHREAD, 0, bug_main, KVT_SC_BUG_STALL);
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
	/* The CPU threads finish the workload pass, the softirq pass they are in. */
	for (int cpu = 0; cpu < fcfg.nr_cpus; cpu++)
		while (atomic_load(&fcpu[cpu].in_workload) || atomic_load(&fcpu[cpu].in_softirq))
			sleep_ns(100 * 1000);
	posix_set_irq_handler(NULL);
	posix_set_nmi_handler(NULL);
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
}

uint64_t kvt_flood_calls(void)
{
	uint64_t sum = 0;

	for (int sc = 0; sc < KVT_SC_NR; sc++)
		for (int c = 0; c < KENV_CTX_NR; c++)
			sum += atomic_load_explicit(&st_calls[sc][c], memory_order_relaxed);
	return sum + atomic_load(&st_reader_sections);
}
