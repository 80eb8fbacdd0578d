// SPDX-License-Identifier: MIT
/*
 * kvfree_rcu.c - the reference implementation of kvfree_rcu() batching.
 *
 * Per CPU, a struct kfree_rcu_cpu ("krc") gathers pointers under a raw lock:
 *   - two bulk channels of storage pages ("bnodes", arrays of pointers):
 *     channel 0 for slab objects (freed with one kfree_bulk() per page),
 *     channel 1 for vmalloc-like objects (freed one by one);
 *   - the rcu_head list, threaded through the objects themselves, which the
 *     two-argument form falls back to when no storage page is at hand.
 * A delayed "monitor" work hands everything pending to one of two batch slots
 * (struct kfree_rcu_cpu_work, "krw"), each of which queues an rcu_work: after
 * a grace period, kfree_rcu_work() frees the batch.  Pages whose GP cookie has
 * already passed are reclaimed by the monitor directly, without a new GP.
 *
 * Storage pages are never allocated from the page allocator under the raw
 * lock (NO-ALLOC-ATOMIC): the cache of free pages is refilled in a clean
 * context, chosen by the run-time policy (see run_page_cache_worker()).  The
 * one exception is the `nolocks` policy, which takes pages under the lock from
 * the environment's lock-free per-CPU pool only.
 *
 * Everything outside this file is reached through kcompat.h, i.e. kenv.h.
 *
 * Historical bugs can be compiled back in, one at a time, for the harness to
 * prove it catches them: build with -DKVFREE_INJECT=N (meson -Dinject=BN).
 * Each `#if KVFREE_INJECT == N` block is the bug's mechanism, as close to the
 * original as this design allows; corpus/bugs/catalogue.tsv describes them.
 * Values from 101 up are not historical: they are synthetic breakages of the
 * structures (the S1 ... S6 rows of the meson variant table), one per
 * structural check of the harness, built only for the tests that prove each
 * check fires (harness/tests/structure/).
 * Without KVFREE_INJECT (the default build) no bug path is compiled.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kcompat.h"
#include "kvfree_rcu.h"
#include "kvfree_walk.h"

#ifndef KVFREE_INJECT
#define KVFREE_INJECT 0
#endif
/*
 * Test only, not a historical bug: -DKVFREE_DEGRADE=1 (the `degraded` row of
 * the variant table) makes the watermark policy stop noticing its watermark
 * and the call rate, so it refills on a miss only.  Every invariant still
 * holds; the policy regression check and the watermark property test
 * (impl/tests/unit_policy.c) must flag it.
 */
#ifndef KVFREE_DEGRADE
#define KVFREE_DEGRADE 0
#endif

#define KFREE_N_BATCHES 2
#define FREE_N_CHANNELS 2

/*
 * One storage page: a header, then pointers up to the configured count
 * (page_entries, its capacity), then - when the page has room for one word
 * more, i.e. page_entries < KVFREE_PAGE_ENTRIES_MAX - a guard word after the
 * last slot, written when the page is attached to a krc: a record stored past
 * the capacity overwrites it, which kvfree_rcu_walk_locked() reports.
 */
#define KVFREE_PAGE_GUARD ((void *)(uintptr_t)0x4b56475541524421ull)	/* "KVGUARD!" */

struct kvfree_rcu_bulk_data {
	struct list_head list;
	unsigned long gp_snap;		/* cookie of the newest record's GP */
	unsigned int nr_records;
	int cpu;			/* the krc that owns the page (PER-CPU) */
	void *records[];
};

_Static_assert(sizeof(struct kvfree_rcu_bulk_data) == KENV_PAGE_SIZE -
	       KVFREE_PAGE_ENTRIES_MAX * sizeof(void *), "bulk page header size");
_Static_assert(KVFREE_PAGE_ENTRIES_MIN >= 2, "a page must hold two records");

struct kfree_rcu_cpu;

/*
 * A batch slot.  Its three "free" channels are filled by the monitor under
 * the krc lock, and emptied by kfree_rcu_work() (again under the lock) once
 * the rcu_work's grace period has passed.
 */
struct kfree_rcu_cpu_work {
	struct rcu_work rcu_work;
	struct rcu_head *head_free;		/* protected by krcp->lock */
	unsigned long head_free_gp_snap;	/* protected by krcp->lock */
	struct list_head bulk_head_free[FREE_N_CHANNELS]; /* protected by krcp->lock */
	struct kfree_rcu_cpu *krcp;
};

/*
 * Counters are written with relaxed atomics: under the lock as a plain
 * load+store (no locked instruction on the fast path), outside it with an
 * atomic add.  The snapshot reads them with relaxed loads.
 */
typedef _Atomic(unsigned long) kstat_t;

struct krc_stats {
	kstat_t calls[KENV_CTX_NR];
	kstat_t calls_headless;
	kstat_t fallback_list;
	kstat_t fallback_sync;
	kstat_t direct_allocs;
	kstat_t pool_allocs;
	kstat_t refill_runs;
	kstat_t refill_pages;
	kstat_t refill_failures;
	kstat_t pages_freed;
	kstat_t objs_freed;
	kstat_t objs_freed_early_reclaim;
	kstat_t objs_leaked;
	kstat_t batches_queued;
	kstat_t monitor_runs;
	kstat_t watermark_raises;
	kstat_t nmi_refused;
	kstat_t double_queued;
	kstat_t headless_atomic;
};

#define STAT_INC_LOCKED(krcp, f)						\
	atomic_store_explicit(&(krcp)->st.f,					\
		atomic_load_explicit(&(krcp)->st.f, memory_order_relaxed) + 1,	\
		memory_order_relaxed)
#define STAT_ADD(krcp, f, n)							\
	atomic_fetch_add_explicit(&(krcp)->st.f, (unsigned long)(n), memory_order_relaxed)

struct kfree_rcu_cpu {
	/* The rcu_head list channel; all three protected by lock. */
	struct rcu_head *head;
	unsigned long head_gp_snap;
	atomic_long_t head_count;	/* written under lock, read lock-free */

	/* Bulk channels: newest page first; written under lock. */
	struct list_head bulk_head[FREE_N_CHANNELS];
	atomic_long_t bulk_count[FREE_N_CHANNELS];

	struct kfree_rcu_cpu_work krw_arr[KFREE_N_BATCHES];
	raw_spinlock_t lock;
	struct delayed_work monitor_work;
	/*
	 * The pending monitor fires within the short delay: a call that asks
	 * for the short delay has nothing to bring forward, so it needs no
	 * clock.  Protected by lock; set when the monitor is armed or brought
	 * forward to the short delay, reset when it is armed with the drain delay.
	 */
	bool monitor_short;
	bool initialized;		/* written at init/exit only */
	bool online;			/* written under lock; read racily by snapshots */
	int cpu;

	/* Page-cache refill: see run_page_cache_worker(). */
	struct delayed_work page_cache_work;
	atomic_t backoff_page_cache_fill;
	atomic_t work_in_progress;
	struct hrtimer hrtimer;
	/*
	 * The CPU whose refill softirq was raised for this krc (watermark
	 * policy), -1 when none is: set under lock with work_in_progress, reset
	 * by the softirq before it clears work_in_progress; read racily by the
	 * snapshot, which tells whether anything will run a refill in progress.
	 */
	int refill_raised_on;

	/*
	 * The page cache.  Pushed and popped under lock only; nr_bkv_objs is
	 * also read without the lock (by the shrinker and the refill loop bound),
	 * hence READ_ONCE/WRITE_ONCE.
	 */
	struct llist_head bkvcache;
	int nr_bkv_objs;

	/* The watermark policy's call-rate window; protected by lock. */
	uint64_t rate_window_start;
	unsigned int rate_calls;

	/* Objects detached into batches and not yet freed or leaked. */
	atomic_long_t in_flight;
	/* Storage pages attached to the krc or to its batches. */
	atomic_long_t bulk_pages;

	struct krc_stats st;
};

static DEFINE_PER_CPU(struct kfree_rcu_cpu, krc);

/* The configuration in force, and its delays converted to jiffies. */
static struct kvfree_rcu_config kvfree_cfg;
static unsigned long drain_jiffies;
static unsigned long short_jiffies;
static unsigned long backoff_jiffies;

const struct kvfree_rcu_config *kvfree_rcu_config(void)
{
	return &kvfree_cfg;
}

/* The promise of the correct code; B8's build breaks it, which the fault shows. */
bool kvfree_rcu_rechecks_gp(void)
{
	return true;
}

/* ---------------------------------------------------------------------------
 * Locking and counting helpers
 */

/* Disable irqs first, so the CPU cannot change between the lookup and the lock. */
static struct kfree_rcu_cpu *krc_this_cpu_lock(unsigned long *flags)
{
	struct kfree_rcu_cpu *krcp;

#if KVFREE_INJECT == 106
	/* S6: the per-CPU pointer taken while still preemptible. */
	krcp = this_cpu_ptr(&krc);
	local_irq_save(*flags);
#else
	local_irq_save(*flags);
	krcp = this_cpu_ptr(&krc);
#endif
	raw_spin_lock(&krcp->lock);
	return krcp;
}

static void krc_this_cpu_unlock(struct kfree_rcu_cpu *krcp, unsigned long flags)
{
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
}

/* Objects still on the krc, in any channel (not yet detached to a batch). */
static long krc_count(struct kfree_rcu_cpu *krcp)
{
	long sum = atomic_long_read(&krcp->head_count);

	for (int i = 0; i < FREE_N_CHANNELS; i++)
		sum += atomic_long_read(&krcp->bulk_count[i]);
	return sum;
}

/* Does the krc hold anything that a batch should take? */
static bool need_offload_krc(struct kfree_rcu_cpu *krcp)
{
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		if (!list_empty(&krcp->bulk_head[i]))
			return true;
	return !!READ_ONCE(krcp->head);
}

/*
 * Is this batch slot still busy with an earlier batch?  A slot takes a new
 * batch only when all three of its channels are empty: attaching objects to
 * a slot whose rcu_work is already pending would free them after the old
 * grace period, not a new one.
 */
static bool need_wait_for_krwp_work(struct kfree_rcu_cpu_work *krwp)
{
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		if (!list_empty(&krwp->bulk_head_free[i]))
			return true;
	return !!krwp->head_free;
}

/* ---------------------------------------------------------------------------
 * The page cache
 */

static struct kvfree_rcu_bulk_data *get_cached_bnode_locked(struct kfree_rcu_cpu *krcp)
{
	lockdep_assert_held(&krcp->lock);

	if (!krcp->nr_bkv_objs)
		return NULL;
	/* The count and the list change together, under the lock. */
	KENV_ASSERT(krcp->bkvcache.first != NULL);
	WRITE_ONCE(krcp->nr_bkv_objs, krcp->nr_bkv_objs - 1);
	return (struct kvfree_rcu_bulk_data *)llist_del_first(&krcp->bkvcache);
}

/* Keep @bnode in the cache unless it is full (BOUNDED) or the CPU is offline. */
static bool put_cached_bnode_locked(struct kfree_rcu_cpu *krcp,
				    struct kvfree_rcu_bulk_data *bnode)
{
	lockdep_assert_held(&krcp->lock);

	if (krcp->nr_bkv_objs >= (int)kvfree_cfg.cache_pages || !krcp->online)
		return false;
	llist_add((struct llist_node *)bnode, &krcp->bkvcache);
	WRITE_ONCE(krcp->nr_bkv_objs, krcp->nr_bkv_objs + 1);
	return true;
}

/* Free every cached page; returns how many.  The pages go back outside the lock. */
static int drain_page_cache(struct kfree_rcu_cpu *krcp)
{
	struct llist_node *page_list, *pos, *n;
	unsigned long flags;
	int freed = 0;

	if (!kvfree_cfg.cache_pages)
		return 0;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	page_list = llist_del_all(&krcp->bkvcache);
	WRITE_ONCE(krcp->nr_bkv_objs, 0);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);

	for (pos = page_list; pos; pos = n) {
		n = pos->next;
		free_page(pos);
		freed++;
	}
	STAT_ADD(krcp, pages_freed, freed);
	return freed;
}

/* Give a page that carried a batch back to its krc's cache, or to the allocator. */
static void recycle_bnode(struct kfree_rcu_cpu *krcp, struct kvfree_rcu_bulk_data *bnode)
{
	unsigned long flags;
	bool cached;

	atomic_long_sub(1, &krcp->bulk_pages);
	raw_spin_lock_irqsave(&krcp->lock, flags);
	kenv_page_owner(bnode, -1, &krcp->lock);
#if KVFREE_INJECT == 101
	/* S1: a recycled page goes into the cache uncounted (and past its cap). */
	cached = krcp->online;
	if (cached)
		llist_add((struct llist_node *)bnode, &krcp->bkvcache);
#else
	cached = put_cached_bnode_locked(krcp, bnode);
#endif
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	if (!cached) {
		free_page(bnode);
		STAT_ADD(krcp, pages_freed, 1);
	}
}

/* ---------------------------------------------------------------------------
 * Freeing
 */

/*
 * Free one page of records after its GP.  The cookie is checked once more:
 * if the GP has not passed, the objects are leaked with a warning rather than
 * freed early (GP-SAFETY).  Context: kthread (the batch work or the monitor).
 */
static void kvfree_rcu_bulk(struct kfree_rcu_cpu *krcp, struct kvfree_rcu_bulk_data *bnode,
			    int idx)
{
	unsigned int nr = bnode->nr_records;

#if KVFREE_INJECT == 8
	/* B8 predates the per-page cookie re-check: free without looking. */
	if (true) {
#else
	if (!KENV_WARN_ON_ONCE(KENV_WARN_BUG, "GP-SAFETY",
			       !poll_state_synchronize_rcu(bnode->gp_snap), bnode)) {
#endif
		for (unsigned int i = 0; i < nr; i++)
			debug_rcu_head_unqueue(bnode->records[i]);
		if (idx == 0) {
			kfree_bulk(nr, bnode->records);
		} else {
			for (unsigned int i = 0; i < nr; i++) {
				vfree(bnode->records[i]);
				kenv_sched_point("kvfree_rcu_bulk:vfree");
			}
		}
		STAT_ADD(krcp, objs_freed, nr);
	} else {
		STAT_ADD(krcp, objs_leaked, nr);
	}
	atomic_long_sub(nr, &krcp->in_flight);
	recycle_bnode(krcp, bnode);
	cond_resched();
}

/* Free a detached rcu_head list; each head's func slot holds its object. */
static unsigned long kvfree_rcu_list(struct rcu_head *head)
{
	unsigned long nr = 0;
	struct rcu_head *next;

	for (; head; head = next) {
		void *ptr = (void *)head->func;

		next = head->next;
		debug_rcu_head_unqueue(ptr);
		kvfree(ptr);
		nr++;
		kenv_sched_point("kvfree_rcu_list");
	}
	return nr;
}

/*
 * The batch work: runs in kthread context after the rcu_work's grace period.
 * Everything the slot held is spliced out under the lock, then freed outside.
 */
static void kfree_rcu_work(struct work_struct *work)
{
	struct kfree_rcu_cpu_work *krwp =
		container_of(to_rcu_work(work), struct kfree_rcu_cpu_work, rcu_work);
	struct kfree_rcu_cpu *krcp = krwp->krcp;
	struct list_head bulk_head[FREE_N_CHANNELS];
	struct kvfree_rcu_bulk_data *bnode, *n;
	unsigned long head_gp_snap, flags, nr;
	struct rcu_head *head;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		list_replace_init(&krwp->bulk_head_free[i], &bulk_head[i]);
	head = krwp->head_free;
	krwp->head_free = NULL;
	head_gp_snap = krwp->head_free_gp_snap;
	raw_spin_unlock_irqrestore(&krcp->lock, flags);

	for (int i = 0; i < FREE_N_CHANNELS; i++)
		list_for_each_entry_safe(bnode, n, &bulk_head[i], struct kvfree_rcu_bulk_data, list)
			kvfree_rcu_bulk(krcp, bnode, i);

	if (!head)
		return;
	/* The list's own cookie, taken when it was detached: warn and leak if early. */
#if KVFREE_INJECT == 8
	(void)head_gp_snap;
	if (false) {
#else
	if (KENV_WARN_ON_ONCE(KENV_WARN_BUG, "GP-SAFETY",
			      !poll_state_synchronize_rcu(head_gp_snap), head)) {
#endif
		for (nr = 0; head; head = head->next)
			nr++;
		STAT_ADD(krcp, objs_leaked, nr);
		atomic_long_sub(nr, &krcp->in_flight);
		return;
	}
	nr = kvfree_rcu_list(head);
	STAT_ADD(krcp, objs_freed, nr);
	atomic_long_sub(nr, &krcp->in_flight);
}

/* ---------------------------------------------------------------------------
 * The monitor
 */

/*
 * Arm the monitor: after the drain delay, or almost at once when a page's
 * worth of objects is pending.  A pending monitor is only ever brought
 * forward.  Reading the timer's expiry needs the lock, which every writer of
 * that timer holds.
 */
static void schedule_delayed_monitor_work_locked(struct kfree_rcu_cpu *krcp)
{
	unsigned long delay;

	lockdep_assert_held(&krcp->lock);

	delay = krc_count(krcp) >= (long)kvfree_cfg.page_entries ? short_jiffies : drain_jiffies;
	if (delayed_work_pending(&krcp->monitor_work)) {
		uint64_t expires, now, left;

		/*
		 * The common case on the fast path: a pending monitor can only be
		 * brought forward, and not by the drain delay it was armed with at
		 * most, nor to the short delay once it was.  Skip the clock then.
		 */
		if (delay == drain_jiffies || krcp->monitor_short)
			return;
		expires = kenv_delayed_work_expires(&krcp->monitor_work.dw);
		now = kenv_clock_ns();
		left = expires > now ? expires - now : 0;
		if (jiffies_to_nsecs(delay) < left)
			mod_delayed_work(rcu_reclaim_wq, &krcp->monitor_work, delay);
		krcp->monitor_short = true;
		return;
	}
	queue_delayed_work(rcu_reclaim_wq, &krcp->monitor_work, delay);
	krcp->monitor_short = delay == short_jiffies;
}

static void schedule_delayed_monitor_work(struct kfree_rcu_cpu *krcp)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	schedule_delayed_monitor_work_locked(krcp);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
}

/*
 * Polled early reclaim: pages (oldest first) and the whole rcu_head list whose
 * cookies have already passed are taken off the krc and freed here, with no
 * new grace period.
 */
static void kvfree_rcu_drain_ready(struct kfree_rcu_cpu *krcp)
{
	struct list_head bulk_ready[FREE_N_CHANNELS];
	struct kvfree_rcu_bulk_data *bnode, *n;
	struct rcu_head *head_ready = NULL;
	unsigned long flags, nr;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	for (int i = 0; i < FREE_N_CHANNELS; i++) {
		INIT_LIST_HEAD(&bulk_ready[i]);
		list_for_each_entry_safe_reverse(bnode, n, &krcp->bulk_head[i],
						 struct kvfree_rcu_bulk_data, list) {
			if (!poll_state_synchronize_rcu(bnode->gp_snap))
				break;
#if KVFREE_INJECT == 7
			/* B7: one counter reset although other pages still hold objects. */
			atomic_long_set(&krcp->bulk_count[i], 0);
#elif KVFREE_INJECT == 102
			/* S2: the ready page's records come off the other channel's count. */
			atomic_long_sub(bnode->nr_records, &krcp->bulk_count[1 - i]);
#else
			atomic_long_sub(bnode->nr_records, &krcp->bulk_count[i]);
#endif
			atomic_long_add(bnode->nr_records, &krcp->in_flight);
			list_move(&bnode->list, &bulk_ready[i]);
		}
	}
	if (krcp->head && poll_state_synchronize_rcu(krcp->head_gp_snap)) {
		head_ready = krcp->head;
		atomic_long_add(atomic_long_read(&krcp->head_count), &krcp->in_flight);
		atomic_long_set(&krcp->head_count, 0);
		WRITE_ONCE(krcp->head, NULL);
	}
	raw_spin_unlock_irqrestore(&krcp->lock, flags);

	for (int i = 0; i < FREE_N_CHANNELS; i++) {
		list_for_each_entry_safe(bnode, n, &bulk_ready[i], struct kvfree_rcu_bulk_data, list) {
			STAT_ADD(krcp, objs_freed_early_reclaim, bnode->nr_records);
			kvfree_rcu_bulk(krcp, bnode, i);
		}
	}
	if (head_ready) {
		nr = kvfree_rcu_list(head_ready);
		STAT_ADD(krcp, objs_freed, nr);
		STAT_ADD(krcp, objs_freed_early_reclaim, nr);
		atomic_long_sub(nr, &krcp->in_flight);
	}
}

/*
 * Detach everything pending into a free batch slot and queue its rcu_work.
 * Returns whether a batch was queued.  If both slots are busy, or something
 * is left, the monitor is re-armed so that pending objects are never stranded
 * (PROGRESS).
 */
static bool kvfree_rcu_queue_batch(struct kfree_rcu_cpu *krcp)
{
	unsigned long flags;
	bool queued = false;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	for (int i = 0; i < KFREE_N_BATCHES && need_offload_krc(krcp); i++) {
		struct kfree_rcu_cpu_work *krwp = &krcp->krw_arr[i];
		long moved = 0;

#if KVFREE_INJECT == 8
		/*
		 * B8: each channel goes to any slot whose same channel is free, even
		 * if the slot's rcu_work is already waiting for an older GP.
		 */
		bool attached = false;

		(void)need_wait_for_krwp_work;
		for (int j = 0; j < FREE_N_CHANNELS; j++) {
			if (list_empty(&krwp->bulk_head_free[j]) && !list_empty(&krcp->bulk_head[j])) {
				moved += atomic_long_read(&krcp->bulk_count[j]);
				atomic_long_set(&krcp->bulk_count[j], 0);
				list_replace_init(&krcp->bulk_head[j], &krwp->bulk_head_free[j]);
				attached = true;
			}
		}
		if (!krwp->head_free && krcp->head) {
			krwp->head_free = krcp->head;
			krwp->head_free_gp_snap = get_state_synchronize_rcu();
			moved += atomic_long_read(&krcp->head_count);
			atomic_long_set(&krcp->head_count, 0);
			WRITE_ONCE(krcp->head, NULL);
			attached = true;
		}
		if (!attached)
			continue;
		atomic_long_add(moved, &krcp->in_flight);
		queued = queue_rcu_work(rcu_reclaim_wq, &krwp->rcu_work);
		STAT_INC_LOCKED(krcp, batches_queued);
		break;
#else
		if (need_wait_for_krwp_work(krwp))
			continue;

		/* The slot is empty in all three channels: it takes everything. */
		for (int j = 0; j < FREE_N_CHANNELS; j++) {
			moved += atomic_long_read(&krcp->bulk_count[j]);
			atomic_long_set(&krcp->bulk_count[j], 0);
			list_replace_init(&krcp->bulk_head[j], &krwp->bulk_head_free[j]);
		}
		krwp->head_free = krcp->head;
		krwp->head_free_gp_snap = get_state_synchronize_rcu();
		moved += atomic_long_read(&krcp->head_count);
		atomic_long_set(&krcp->head_count, 0);
		WRITE_ONCE(krcp->head, NULL);
		atomic_long_add(moved, &krcp->in_flight);

		/*
		 * The slot was idle, so its rcu_work cannot be pending: queueing
		 * always requests a new grace period for exactly these objects.
		 */
		queued = queue_rcu_work(rcu_reclaim_wq, &krwp->rcu_work);
		KENV_WARN_ON_ONCE(KENV_WARN_BUG, "GP-SAFETY", !queued, krwp);
		STAT_INC_LOCKED(krcp, batches_queued);
		break;
#endif
	}
#if KVFREE_INJECT == 1
	/* B1: only the bulk channels make the monitor repeat; the list is stranded. */
	if (!list_empty(&krcp->bulk_head[0]) || !list_empty(&krcp->bulk_head[1]))
		schedule_delayed_monitor_work_locked(krcp);
#else
	if (need_offload_krc(krcp))
		schedule_delayed_monitor_work_locked(krcp);
#endif
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return queued;
}

static void kfree_rcu_monitor(struct work_struct *work)
{
	struct kfree_rcu_cpu *krcp =
		container_of(to_delayed_work(work), struct kfree_rcu_cpu, monitor_work);

	STAT_ADD(krcp, monitor_runs, 1);
	kvfree_rcu_drain_ready(krcp);
	kvfree_rcu_queue_batch(krcp);
}

/* ---------------------------------------------------------------------------
 * Refilling the page cache
 */

static const gfp_t refill_gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN;
#if KVFREE_INJECT == 3
/* B3: the refill worker asks hard: under pressure that is an OOM. */
static const gfp_t worker_gfp = GFP_KERNEL | __GFP_NOWARN;
#else
static const gfp_t worker_gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN;
#endif

/*
 * Fill the cache up to its cap (or one page while backing off after the
 * shrinker), outside the lock, stopping at the first failure: a failed
 * NORETRY allocation does not sleep, so retrying would spin a worker.
 */
static void fill_page_cache(struct kfree_rcu_cpu *krcp, gfp_t gfp)
{
	int nr_pages = atomic_read(&krcp->backoff_page_cache_fill) ? 1 : (int)kvfree_cfg.cache_pages;
	struct kvfree_rcu_bulk_data *bnode;
	unsigned long flags;
	bool pushed;

	STAT_ADD(krcp, refill_runs, 1);
	for (int i = READ_ONCE(krcp->nr_bkv_objs); i < nr_pages; i++) {
		bnode = (struct kvfree_rcu_bulk_data *)__get_free_page(gfp);
		if (!bnode) {
			STAT_ADD(krcp, refill_failures, 1);
#if KVFREE_INJECT == 5
			/* B5: retry the same slot; a NORETRY failure never sleeps. */
			i--;
			continue;
#else
			break;
#endif
		}
		raw_spin_lock_irqsave(&krcp->lock, flags);
		pushed = put_cached_bnode_locked(krcp, bnode);
		raw_spin_unlock_irqrestore(&krcp->lock, flags);
		if (!pushed) {
			free_page(bnode);
			break;
		}
		STAT_ADD(krcp, refill_pages, 1);
	}
}

static void fill_page_cache_func(struct work_struct *work)
{
	struct kfree_rcu_cpu *krcp =
		container_of(to_delayed_work(work), struct kfree_rcu_cpu, page_cache_work);

	might_sleep();
	fill_page_cache(krcp, worker_gfp);
	atomic_set(&krcp->backoff_page_cache_fill, 0);
	atomic_set(&krcp->work_in_progress, 0);
}

/*
 * The hrtimer handler: queue the refill work.  The work is queued from a
 * timer rather than directly from the caller because the caller holds the raw
 * krc lock, and the work queue's own locking must not nest inside it.
 */
static enum hrtimer_restart schedule_page_work_fn(struct hrtimer *t)
{
	struct kfree_rcu_cpu *krcp = container_of(t, struct kfree_rcu_cpu, hrtimer);

	queue_delayed_work(system_highpri_wq, &krcp->page_cache_work, 0);
	return HRTIMER_NORESTART;
}

/*
 * The watermark policy's softirq: allocate pages for this CPU's cache with
 * NOWAIT (softirq context may not sleep), outside the lock.
 */
static void kvfree_rcu_softirq(void)
{
	struct kfree_rcu_cpu *krcp = this_cpu_ptr(&krc);

	if (!krcp->initialized || !atomic_read(&krcp->work_in_progress))
		return;
	fill_page_cache(krcp, GFP_NOWAIT | __GFP_NORETRY | __GFP_NOMEMALLOC | __GFP_NOWARN);
	WRITE_ONCE(krcp->refill_raised_on, -1);
	atomic_set(&krcp->work_in_progress, 0);
}

/*
 * Ask for the cache to be refilled in a clean context.  Called with the krc
 * lock held, so it may only arm a timer or raise a softirq.  While the shrinker
 * asked for backoff, every policy waits backoff_ns and then adds one page.
 */
static void run_page_cache_worker_locked(struct kfree_rcu_cpu *krcp)
{
	lockdep_assert_held(&krcp->lock);

	/*
	 * Read before the exchange: under a flood every call that misses the
	 * cache lands here while a refill is already on its way, and a plain
	 * load keeps the cache line shared instead of a locked write per call.
	 */
	if (!kvfree_cfg.cache_pages || atomic_read(&krcp->work_in_progress) ||
	    atomic_xchg(&krcp->work_in_progress, 1))
		return;
	if (atomic_read(&krcp->backoff_page_cache_fill)) {
		queue_delayed_work(system_highpri_wq, &krcp->page_cache_work, backoff_jiffies);
	} else if (kvfree_cfg.policy == KVFREE_POLICY_WATERMARK && krcp->cpu == smp_processor_id()) {
		STAT_INC_LOCKED(krcp, watermark_raises);
		WRITE_ONCE(krcp->refill_raised_on, krcp->cpu);
		raise_softirq(KENV_SOFTIRQ_KVFREE);
	} else {
		/*
		 * The kernel policy's kick, and the watermark policy's for a krc
		 * of another CPU: a headless call that migrated while it slept in
		 * its page allocation re-locks the krc it started on, and the
		 * softirq raised here would refill the cache of the CPU it runs
		 * on now, leaving this krc's refill in progress for ever.  The
		 * hrtimer's worker refills the krc it belongs to.
		 */
		hrtimer_start(&krcp->hrtimer, kvfree_cfg.refill_kick_ns, HRTIMER_MODE_REL);
	}
}

/*
 * The watermark policy refills before the cache runs dry: when the free
 * slots left in this CPU's storage fall below the watermark, or calls arrive
 * faster than rate_calls per window.
 */
static bool watermark_low_locked(struct kfree_rcu_cpu *krcp, int idx)
{
	struct kvfree_rcu_bulk_data *bnode =
		list_first_entry_or_null(&krcp->bulk_head[idx], struct kvfree_rcu_bulk_data, list);
	unsigned long free_slots = (unsigned long)krcp->nr_bkv_objs * kvfree_cfg.page_entries;
	uint64_t now;
	bool high;

	lockdep_assert_held(&krcp->lock);

#if KVFREE_DEGRADE == 1
	/* Test-only degradation (KVFREE_DEGRADE above): the trigger never fires. */
	return false;
#endif
	if (krcp->nr_bkv_objs >= (int)kvfree_cfg.cache_pages)
		return false;
	if (bnode)
		free_slots += kvfree_cfg.page_entries - bnode->nr_records;
	if (free_slots < kvfree_cfg.watermark)
		return true;

	/*
	 * The rate: did the last rate_calls calls arrive within one window?
	 * Asked once per rate_calls calls, so the fast path reads no clock.
	 */
	if (++krcp->rate_calls < kvfree_cfg.rate_calls)
		return false;
	now = kenv_clock_ns();
	high = now - krcp->rate_window_start < kvfree_cfg.rate_window_ns;
	krcp->rate_window_start = now;
	krcp->rate_calls = 0;
	return high;
}

/* ---------------------------------------------------------------------------
 * Queueing
 */

/*
 * Append @ptr to the current page of its channel, taking a new page from the
 * cache when the current one is missing or full.  With @can_alloc (headless
 * callers, who may sleep), a page may come from the allocator: the lock is
 * dropped around the allocation and the SAME krc is re-locked afterwards, even
 * if the task migrated meanwhile, so the page and the pointer stay with the
 * krc the caller will unlock (PER-CPU) - unless that krc's CPU went offline
 * meanwhile, when the current CPU's krc takes them.  Returns false when no
 * slot was found.
 */
static bool add_ptr_to_bulk_krc_lock(struct kfree_rcu_cpu **krcp, unsigned long *flags,
				     void *ptr, bool can_alloc)
{
	struct kvfree_rcu_bulk_data *bnode;
	int idx;

	*krcp = krc_this_cpu_lock(flags);
	/*
	 * The CPU we run on is up again, but its online hook has not run yet:
	 * an interrupt there comes first.  The krc takes calls from now on;
	 * kvfree_rcu_cpu_online() finds it done.  (An offline CPU runs nothing,
	 * so its krc stays closed.)
	 */
	if (unlikely(!(*krcp)->online) && cpu_online((*krcp)->cpu))
		WRITE_ONCE((*krcp)->online, true);
	if (unlikely(!(*krcp)->initialized || !(*krcp)->online))
		return false;

	idx = is_vmalloc_addr(ptr) ? 1 : 0;
	bnode = list_first_entry_or_null(&(*krcp)->bulk_head[idx],
					 struct kvfree_rcu_bulk_data, list);

#if KVFREE_INJECT == 103
	/* S3: off by one: a page takes one record more than its capacity. */
	if (!bnode || bnode->nr_records > kvfree_cfg.page_entries) {
#else
	if (!bnode || bnode->nr_records == kvfree_cfg.page_entries) {
#endif
		bnode = get_cached_bnode_locked(*krcp);
		if (!bnode && kvfree_cfg.policy == KVFREE_POLICY_NOLOCKS) {
			/* The only allocation allowed under the raw lock: lock-free pool. */
			bnode = (struct kvfree_rcu_bulk_data *)__get_free_page(__GFP_NO_LOCKS |
									__GFP_NOWARN);
			if (bnode)
				STAT_INC_LOCKED(*krcp, pool_allocs);
		}
#if KVFREE_INJECT == 2
		/* B2: a NOWAIT page straight from the allocator, under the raw lock. */
		if (!bnode && !can_alloc)
			bnode = (struct kvfree_rcu_bulk_data *)__get_free_page(GFP_NOWAIT |
									__GFP_NOWARN);
#endif
		if (!bnode && can_alloc) {
			krc_this_cpu_unlock(*krcp, *flags);
			bnode = (struct kvfree_rcu_bulk_data *)__get_free_page(refill_gfp);
#if KVFREE_INJECT == 9
			/* B9: re-lock whatever CPU the task runs on now. */
			*krcp = krc_this_cpu_lock(flags);
#else
			raw_spin_lock_irqsave(&(*krcp)->lock, *flags);
			if (unlikely(!(*krcp)->online)) {
				/*
				 * That CPU went offline while we slept and its krc
				 * was handed to batches: nothing may be added there
				 * any more, so the krc of the CPU we run on now
				 * takes the call (and the page) instead.
				 */
				raw_spin_unlock_irqrestore(&(*krcp)->lock, *flags);
				*krcp = krc_this_cpu_lock(flags);
			}
#endif
			if (bnode)
				STAT_INC_LOCKED(*krcp, direct_allocs);
		}
		if (!bnode)
			return false;

		bnode->nr_records = 0;
#if KVFREE_INJECT == 104
		/* S4: the page keeps whatever owner it had (a fresh page: none). */
		kenv_page_owner(bnode, (*krcp)->cpu, &(*krcp)->lock);
#else
		bnode->cpu = (*krcp)->cpu;
		kenv_page_owner(bnode, bnode->cpu, &(*krcp)->lock);
#endif
		if (kvfree_cfg.page_entries < KVFREE_PAGE_ENTRIES_MAX)
			bnode->records[kvfree_cfg.page_entries] = KVFREE_PAGE_GUARD;
		list_add(&bnode->list, &(*krcp)->bulk_head[idx]);
		atomic_long_inc(&(*krcp)->bulk_pages);
	}

	/* A page is full at page_entries: the test above takes a new one then. */
#if KVFREE_INJECT == 103
	KENV_ASSERT(bnode->nr_records <= kvfree_cfg.page_entries);
#else
	KENV_ASSERT(bnode->nr_records < kvfree_cfg.page_entries);
#endif
	bnode->records[bnode->nr_records++] = ptr;
	/* Refreshed on every insert: the page's cookie covers its newest record. */
	bnode->gp_snap = get_state_synchronize_rcu();
	/* Written under the lock only: no locked instruction needed. */
	atomic_long_set(&(*krcp)->bulk_count[idx], atomic_long_read(&(*krcp)->bulk_count[idx]) + 1);
	return true;
}

#if KVFREE_INJECT == 4
/*
 * B4: a call-stack recorder (KASAN's aux stack) whose depot grows by a page
 * with NOWAIT every so many records: called under the krc lock, irqs off.
 */
static struct llist_head stack_depot;
static unsigned int stack_depot_records;

static void record_call_stack_locked(struct kfree_rcu_cpu *krcp)
{
	struct llist_node *page;

	lockdep_assert_held(&krcp->lock);
	if (stack_depot_records++ % 16)
		return;
	page = (struct llist_node *)__get_free_page(GFP_NOWAIT | __GFP_NOWARN);
	if (page)
		llist_add(page, &stack_depot);
}

static void stack_depot_release(void)
{
	struct llist_node *pos = llist_del_all(&stack_depot), *n;

	for (; pos; pos = n) {
		n = pos->next;
		free_page(pos);
	}
	stack_depot_records = 0;
}
#endif

void kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	struct kfree_rcu_cpu *krcp;
	bool already_queued, success;
	unsigned long flags;
	enum kenv_ctx ctx;

	/*
	 * NMI: the krc lock may be held by the very code this NMI interrupted, so
	 * taking it could self-deadlock.  Refuse, count, and leak the object.
	 * The refusals below count on whatever CPU the caller is on now: a
	 * statistic, so raw_smp_processor_id() (the caller may be preemptible).
	 */
	if (unlikely(in_nmi())) {
		krcp = per_cpu_ptr(&krc, raw_smp_processor_id());
		STAT_ADD(krcp, nmi_refused, 1);
		KENV_WARN_ON_ONCE(KENV_WARN_MISUSE, "MISUSE", in_nmi(), ptr);
		return;
	}

	/* The headless form may sleep; from atomic context it is a caller bug. */
	if (!head && unlikely(!preemptible())) {
		krcp = per_cpu_ptr(&krc, raw_smp_processor_id());
		STAT_ADD(krcp, headless_atomic, 1);
		KENV_WARN_ON_ONCE(KENV_WARN_MISUSE, "MISUSE", !preemptible(), ptr);
		return;
	}
	if (!head)
		might_sleep();

	/* A second kvfree_rcu() of a queued object is leaked, never freed twice. */
	already_queued = debug_rcu_head_queue(ptr);
	if (KENV_WARN_ON_ONCE(KENV_WARN_MISUSE, "MISUSE", already_queued, ptr)) {
		krcp = per_cpu_ptr(&krc, raw_smp_processor_id());
		STAT_ADD(krcp, double_queued, 1);
		return;
	}

	success = add_ptr_to_bulk_krc_lock(&krcp, &flags, ptr, !head);
#if KVFREE_INJECT == 4
	record_call_stack_locked(krcp);
#endif
	/* Once: the macro names its argument twice. */
	ctx = kenv_context();
	STAT_INC_LOCKED(krcp, calls[ctx]);
	if (!head)
		STAT_INC_LOCKED(krcp, calls_headless);

	if (unlikely(!krcp->initialized || !krcp->online)) {
		/* Nobody may queue on an uninitialised or offline CPU: leak, loudly. */
		krc_this_cpu_unlock(krcp, flags);
		KENV_WARN_ON_ONCE(KENV_WARN_BUG, "HOTPLUG", true, ptr);
		return;
	}

	if (!success) {
		run_page_cache_worker_locked(krcp);

		if (!head) {
			STAT_INC_LOCKED(krcp, fallback_sync);
			krc_this_cpu_unlock(krcp, flags);
			/* No storage and we may sleep: wait for a GP right here. */
			debug_rcu_head_unqueue(ptr);
			synchronize_rcu();
			kvfree(ptr);
			return;
		}

		/* The object itself carries the link; its pointer goes in func. */
		head->func = (void (*)(struct rcu_head *))ptr;
		head->next = krcp->head;
		WRITE_ONCE(krcp->head, head);
		atomic_long_set(&krcp->head_count, atomic_long_read(&krcp->head_count) + 1);
		krcp->head_gp_snap = get_state_synchronize_rcu();
		STAT_INC_LOCKED(krcp, fallback_list);
	} else if (kvfree_cfg.policy == KVFREE_POLICY_WATERMARK &&
		   watermark_low_locked(krcp, is_vmalloc_addr(ptr) ? 1 : 0)) {
		run_page_cache_worker_locked(krcp);
	}

	schedule_delayed_monitor_work_locked(krcp);
	krc_this_cpu_unlock(krcp, flags);
}

/* ---------------------------------------------------------------------------
 * Barrier, shrinker, hotplug
 */

/*
 * Push everything pending on @krcp into batches, waiting for busy slots to
 * finish first.  The lock is taken at least once, even when the krc looks
 * empty from outside it: another caller (a second barrier, a CPU going
 * offline) may be inside kvfree_rcu_queue_batch(), the lists already moved
 * to a slot and its rcu_work not queued yet, so neither this check nor the
 * barrier's flush of the slot would see those objects.  Once we have had the
 * lock, that batch is queued and the flush waits for it.
 */
static void kvfree_rcu_offload_all(struct kfree_rcu_cpu *krcp)
{
	while (!kvfree_rcu_queue_batch(krcp)) {
		if (!need_offload_krc(krcp))
			break;
		/* Both slots are busy with older batches: let them finish. */
		for (int i = 0; i < KFREE_N_BATCHES; i++)
			flush_rcu_work(&krcp->krw_arr[i].rcu_work);
	}
}

void kvfree_rcu_barrier(void)
{
	struct kfree_rcu_cpu *krcp;
	int cpu;

	might_sleep();
#if KVFREE_INJECT == 12
	/* B12: what callers relied on before the barrier existed: call_rcu's. */
	(void)krcp;
	(void)cpu;
	rcu_barrier();
	return;
#endif

	for_each_possible_cpu(cpu)
		kvfree_rcu_offload_all(per_cpu_ptr(&krc, cpu));

	for_each_possible_cpu(cpu) {
		krcp = per_cpu_ptr(&krc, cpu);
		/* A running monitor may be freeing ready objects directly: wait for it. */
		cancel_delayed_work_sync(&krcp->monitor_work);
		for (int i = 0; i < KFREE_N_BATCHES; i++)
			flush_rcu_work(&krcp->krw_arr[i].rcu_work);
		/*
		 * Objects queued while we waited lost their monitor to the cancel
		 * above; re-arm it so they are not stranded (PROGRESS).
		 */
		if (need_offload_krc(krcp))
			schedule_delayed_monitor_work(krcp);
	}
}

unsigned long kfree_rcu_shrink_count(void)
{
	unsigned long count = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		count += (unsigned long)krc_count(krcp);
		count += (unsigned long)READ_ONCE(krcp->nr_bkv_objs);
		atomic_set(&krcp->backoff_page_cache_fill, 1);
	}
#if KVFREE_INJECT == 6
	/* B6: 0 means "cannot tell" to the shrinker core, not "empty". */
	return count;
#else
	return count == 0 ? KVFREE_SHRINK_EMPTY : count;
#endif
}

unsigned long kfree_rcu_shrink_scan(unsigned long nr_to_scan)
{
	unsigned long freed = 0, flags;
	long left = nr_to_scan > LONG_MAX ? LONG_MAX : (long)nr_to_scan;
	int cpu;

	might_sleep();
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);
		long count = krc_count(krcp);

		count += drain_page_cache(krcp);
		/*
		 * Run the monitor now - as its work, not by calling it here: the
		 * monitor frees ready objects itself, and kvfree_rcu_barrier()
		 * waits for a running monitor work but could not see a direct
		 * call, so it might return while we were still freeing objects
		 * queued before it (BARRIER).
		 */
		raw_spin_lock_irqsave(&krcp->lock, flags);
		if (need_offload_krc(krcp))
			mod_delayed_work(rcu_reclaim_wq, &krcp->monitor_work, 0);
		raw_spin_unlock_irqrestore(&krcp->lock, flags);
		left -= count;
		freed += (unsigned long)count;
		if (left <= 0)
			break;
	}
	return freed == 0 ? KVFREE_SHRINK_STOP : freed;
}

void kvfree_rcu_cpu_offline(int cpu)
{
	struct kfree_rcu_cpu *krcp;
	unsigned long flags;

	might_sleep();
	if (cpu < 0 || cpu >= kenv_nr_cpus())
		return;
	krcp = per_cpu_ptr(&krc, cpu);

	raw_spin_lock_irqsave(&krcp->lock, flags);
	WRITE_ONCE(krcp->online, false);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);

	/* Hand every pending object to a batch; the batches complete anywhere. */
#if KVFREE_INJECT == 105
	/* S5: the objects stay on the dead CPU's krc until its monitor runs. */
#else
	kvfree_rcu_offload_all(krcp);
#endif
	drain_page_cache(krcp);
}

void kvfree_rcu_cpu_online(int cpu)
{
	struct kfree_rcu_cpu *krcp;
	unsigned long flags;

	if (cpu < 0 || cpu >= kenv_nr_cpus())
		return;
	krcp = per_cpu_ptr(&krc, cpu);
	raw_spin_lock_irqsave(&krcp->lock, flags);
	WRITE_ONCE(krcp->online, true);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
}

/* ---------------------------------------------------------------------------
 * Init, exit, snapshot
 */

bool kvfree_rcu_init(const struct kvfree_rcu_config *cfg)
{
	int cpu;

	if (!kvfree_rcu_config_valid(cfg, NULL) || (int)cfg->nr_cpus != kenv_nr_cpus())
		return false;
	might_sleep();

	kvfree_cfg = *cfg;
	drain_jiffies = cfg->drain_delay_ns / NSEC_PER_JIFFY;
	short_jiffies = cfg->short_delay_ns / NSEC_PER_JIFFY;
	backoff_jiffies = cfg->backoff_ns / NSEC_PER_JIFFY;

	open_softirq(KENV_SOFTIRQ_KVFREE, kvfree_rcu_softirq);

	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		memset(krcp, 0, sizeof(*krcp));
		raw_spin_lock_init(&krcp->lock);
		krcp->cpu = cpu;
		krcp->refill_raised_on = -1;
		for (int i = 0; i < FREE_N_CHANNELS; i++)
			INIT_LIST_HEAD(&krcp->bulk_head[i]);
		for (int i = 0; i < KFREE_N_BATCHES; i++) {
			struct kfree_rcu_cpu_work *krwp = &krcp->krw_arr[i];

			INIT_RCU_WORK(&krwp->rcu_work, kfree_rcu_work);
			for (int j = 0; j < FREE_N_CHANNELS; j++)
				INIT_LIST_HEAD(&krwp->bulk_head_free[j]);
			krwp->krcp = krcp;
		}
		INIT_DELAYED_WORK(&krcp->monitor_work, kfree_rcu_monitor);
		INIT_DELAYED_WORK(&krcp->page_cache_work, fill_page_cache_func);
		hrtimer_setup(&krcp->hrtimer, schedule_page_work_fn);
		init_llist_head(&krcp->bkvcache);
		krcp->online = cpu_online(cpu);
		krcp->initialized = true;
	}
	return true;
}

void kvfree_rcu_exit(void)
{
	int cpu;

	might_sleep();
	kvfree_rcu_barrier();
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		cancel_delayed_work_sync(&krcp->monitor_work);
		hrtimer_cancel(&krcp->hrtimer);
		cancel_delayed_work_sync(&krcp->page_cache_work);
		atomic_set(&krcp->work_in_progress, 0);
		WRITE_ONCE(krcp->refill_raised_on, -1);
		drain_page_cache(krcp);
		krcp->initialized = false;
	}
#if KVFREE_INJECT == 4
	stack_depot_release();
#endif
}

static unsigned long stat_read(const kstat_t *s)
{
	return atomic_load_explicit((kstat_t *)s, memory_order_relaxed);
}

KVFREE_HARNESS_FN
static void krc_fill_stats(struct kfree_rcu_cpu *krcp, struct kvfree_rcu_cpu_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->online = READ_ONCE(krcp->online);
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		st->pending[i] = (unsigned long)atomic_long_read(&krcp->bulk_count[i]);
	st->pending[KVFREE_CH_LIST] = (unsigned long)atomic_long_read(&krcp->head_count);
	st->in_flight = (unsigned long)atomic_long_read(&krcp->in_flight);
	st->bulk_pages = (unsigned long)atomic_long_read(&krcp->bulk_pages);
	st->cached_pages = (unsigned long)READ_ONCE(krcp->nr_bkv_objs);
	st->monitor_armed = delayed_work_pending(&krcp->monitor_work);
	for (int i = 0; i < KFREE_N_BATCHES; i++)
		st->batch_busy[i] = kenv_rcu_work_busy(&krcp->krw_arr[i].rcu_work.rw);
	st->backoff = atomic_read(&krcp->backoff_page_cache_fill) != 0;
	st->refill_in_progress = atomic_read(&krcp->work_in_progress) != 0;
	st->refill_pending = hrtimer_is_queued(&krcp->hrtimer) ||
			     kenv_work_busy(&krcp->page_cache_work.dw.work) ||
			     READ_ONCE(krcp->refill_raised_on) == krcp->cpu;
	for (int i = 0; i < KENV_CTX_NR; i++)
		st->calls[i] = stat_read(&krcp->st.calls[i]);
	st->calls_headless = stat_read(&krcp->st.calls_headless);
	st->fallback_list = stat_read(&krcp->st.fallback_list);
	st->fallback_sync = stat_read(&krcp->st.fallback_sync);
	st->direct_allocs = stat_read(&krcp->st.direct_allocs);
	st->pool_allocs = stat_read(&krcp->st.pool_allocs);
	st->refill_runs = stat_read(&krcp->st.refill_runs);
	st->refill_pages = stat_read(&krcp->st.refill_pages);
	st->refill_failures = stat_read(&krcp->st.refill_failures);
	st->pages_freed = stat_read(&krcp->st.pages_freed);
	st->objs_freed = stat_read(&krcp->st.objs_freed);
	st->objs_freed_early_reclaim = stat_read(&krcp->st.objs_freed_early_reclaim);
	st->objs_leaked = stat_read(&krcp->st.objs_leaked);
	st->batches_queued = stat_read(&krcp->st.batches_queued);
	st->monitor_runs = stat_read(&krcp->st.monitor_runs);
	st->watermark_raises = stat_read(&krcp->st.watermark_raises);
	st->nmi_refused = stat_read(&krcp->st.nmi_refused);
	st->double_queued = stat_read(&krcp->st.double_queued);
	st->headless_atomic = stat_read(&krcp->st.headless_atomic);
}

/* @cpu's krc, if @cpu is one of the CPUs and init has run; else NULL. */
KVFREE_HARNESS_FN
static struct kfree_rcu_cpu *krc_of(int cpu)
{
	struct kfree_rcu_cpu *krcp;

	if (cpu < 0 || cpu >= kenv_nr_cpus())
		return NULL;
	krcp = per_cpu_ptr(&krc, cpu);
	return krcp->initialized ? krcp : NULL;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	struct kfree_rcu_cpu *krcp = krc_of(cpu);
	unsigned long flags;

	if (!krcp)
		return false;
	raw_spin_lock_irqsave(&krcp->lock, flags);
	krc_fill_stats(krcp, st);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return true;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_snapshot_racy(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	if (cpu < 0 || cpu >= KENV_NR_CPUS_MAX)
		return false;
	krc_fill_stats(per_cpu_ptr(&krc, cpu), st);
	return true;
}

/* ---------------------------------------------------------------------------
 * The structure walk (kvfree_rcu.h)
 *
 * Plain loads only: the caller holds the krc lock or nothing else runs, and a
 * READ_ONCE here would be a scheduling point inside the checker.
 */

#define WALK_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

KVFREE_HARNESS_FN
static void walk_page(struct kfree_rcu_cpu *krcp, struct kvfree_rcu_bulk_data *bnode,
		      enum kvfree_page_place place, int ch, int batch,
		      const struct kvfree_rcu_walk_fns *fns)
{
	struct kvfree_rcu_page_view v = {
		.page = bnode, .place = place, .ch = (enum kvfree_channel)ch, .batch = batch,
		.owner = bnode->cpu, .records = bnode->nr_records,
		.capacity = kvfree_cfg.page_entries, .slots = KVFREE_PAGE_ENTRIES_MAX,
		.guard = -1, .recs = bnode->records,
	};

	if (kvfree_cfg.page_entries < KVFREE_PAGE_ENTRIES_MAX)
		v.guard = bnode->records[kvfree_cfg.page_entries] == KVFREE_PAGE_GUARD;
	if (fns && fns->page)
		fns->page(fns->arg, krcp->cpu, &v);
}

/* The pages of one bulk list; returns the records on them. */
KVFREE_HARNESS_FN
static unsigned long walk_bulk(struct kfree_rcu_cpu *krcp, struct list_head *head,
			       enum kvfree_page_place place, int ch, int batch,
			       unsigned long *pages, struct kvfree_rcu_structure *s,
			       const struct kvfree_rcu_walk_fns *fns)
{
	unsigned long records = 0, n = 0, limit = kvfree_walk_limit(place, fns);
	struct list_head *pos;

	for (pos = head->next; pos != head; pos = pos->next) {
		struct kvfree_rcu_bulk_data *bnode =
			container_of(pos, struct kvfree_rcu_bulk_data, list);

		if (n == limit) {
			kvfree_walk_stopped(s, limit);
			break;
		}
		n++;
		records += bnode->nr_records;
		walk_page(krcp, bnode, place, ch, batch, fns);
	}
	*pages += n;
	return records;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_walk_locked(int cpu, struct kvfree_rcu_structure *s,
			    const struct kvfree_rcu_walk_fns *fns)
{
	struct kfree_rcu_cpu *krcp = krc_of(cpu);

	if (!krcp)
		return false;
	kvfree_walk_start(s, cpu);
	s->offline = !WALK_LOAD(krcp->online);
	s->per_channel_counts = true;
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		s->count[i] = (unsigned long)atomic_load_explicit(&krcp->bulk_count[i].counter,
								  memory_order_relaxed);
	s->count[KVFREE_CH_LIST] = (unsigned long)atomic_load_explicit(&krcp->head_count.counter,
								       memory_order_relaxed);
	s->cached = (unsigned long)WALK_LOAD(krcp->nr_bkv_objs);
	s->cache_cap = kvfree_cfg.cache_pages;

	for (int i = 0; i < FREE_N_CHANNELS; i++)
		s->records[i] = walk_bulk(krcp, &krcp->bulk_head[i], KVFREE_PAGE_KRC, i, -1,
					  &s->krc_pages, s, fns);
	s->records[KVFREE_CH_LIST] = kvfree_walk_rcu_list(cpu, krcp->head, false, KVFREE_PAGE_KRC,
							  s, fns);
	for (int b = 0; b < KFREE_N_BATCHES && !(fns && fns->krc_only); b++) {
		struct kfree_rcu_cpu_work *krwp = &krcp->krw_arr[b];

		for (int i = 0; i < FREE_N_CHANNELS; i++)
			s->batch_records += walk_bulk(krcp, &krwp->bulk_head_free[i],
						      KVFREE_PAGE_BATCH, i, b, &s->batch_pages,
						      s, fns);
		s->batch_records += kvfree_walk_rcu_list(cpu, krwp->head_free, false,
							 KVFREE_PAGE_BATCH, s, fns);
	}
	kvfree_walk_cache(cpu, &krcp->bkvcache, kvfree_cfg.page_entries, s, fns);
	return true;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_walk(int cpu, struct kvfree_rcu_structure *s,
		     const struct kvfree_rcu_walk_fns *fns)
{
	struct kfree_rcu_cpu *krcp = krc_of(cpu);
	unsigned long flags;
	bool ok;

	if (!krcp)
		return false;
	raw_spin_lock_irqsave(&krcp->lock, flags);
	ok = kvfree_rcu_walk_locked(cpu, s, fns);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return ok;
}

KVFREE_HARNESS_FN
int kvfree_rcu_krc_cpu(const struct kenv_lock *lock)
{
	return kvfree_walk_krc_cpu(lock, &krc[0].lock, sizeof(krc[0]));
}
