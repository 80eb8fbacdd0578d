/* SPDX-License-Identifier: MIT */
/*
 * kvfree_rcu.h - the public API of the reference kvfree_rcu() implementation.
 *
 * kvfree_rcu(ptr, field) frees @ptr after an RCU grace period.  Pointers are
 * batched per CPU into storage pages ("bulk" channels: slab objects freed with
 * one kfree_bulk(), large vmalloc-like objects freed one by one) and, when no
 * page is at hand, onto a list threaded through the objects' rcu_head (the
 * fallback channel).  A per-CPU monitor hands full or aged batches to one of
 * two batch slots, which free them after a grace period.  Storage pages come
 * from a small per-CPU cache that is refilled outside the raw per-CPU lock, by
 * one of three run-time policies (DESIGN.md section 2).
 *
 * Everything here runs against impl/kenv.h; link one environment with it.
 */
#ifndef KVTORTURE_KVFREE_RCU_H
#define KVTORTURE_KVFREE_RCU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"

enum kvfree_policy {
	/* Refill on a miss only, via an hrtimer kick to a worker (the kernel's). */
	KVFREE_POLICY_KERNEL,
	/*
	 * Below a low watermark of free storage, or above a call rate, raise a
	 * softirq that allocates outside the lock (Thomas Gleixner's proposal).
	 */
	KVFREE_POLICY_WATERMARK,
	/* Allocate under the lock from the lock-free per-CPU pool (__GFP_NO_LOCKS). */
	KVFREE_POLICY_NOLOCKS,
	KVFREE_POLICY_NR
};

/* "kernel", "watermark", "nolocks"; NULL for an out-of-range value. */
const char *kvfree_policy_name(enum kvfree_policy policy);
/* Parse a policy name; returns false if @name is none of them. */
bool kvfree_policy_parse(const char *name, enum kvfree_policy *policy);

/* The most pointers one storage page can hold (what fits after its header). */
#define KVFREE_PAGE_ENTRIES_MAX ((KENV_PAGE_SIZE - 32) / sizeof(void *))
#define KVFREE_PAGE_ENTRIES_MIN 2
#define KVFREE_CACHE_PAGES_MAX 64

struct kvfree_rcu_config {
	enum kvfree_policy policy;
	unsigned int nr_cpus;		/* 1 .. KENV_NR_CPUS_MAX, == kenv_nr_cpus() */
	unsigned int page_entries;	/* pointers per page, MIN .. MAX */
	unsigned int cache_pages;	/* rcu_min_cached_objs: cache cap, 0 .. CACHE_PAGES_MAX */
	uint64_t drain_delay_ns;	/* KFREE_DRAIN_JIFFIES: the monitor's batching delay */
	uint64_t short_delay_ns;	/* monitor delay once a page's worth is pending */
	uint64_t refill_kick_ns;	/* hrtimer delay before the refill worker runs */
	uint64_t backoff_ns;		/* refill delay after the shrinker ran */
	unsigned int watermark;		/* watermark policy: refill below this many free slots */
	unsigned int rate_calls;	/* watermark policy: refill at this many calls ... */
	uint64_t rate_window_ns;	/* ... within this window */
};

/* Fill @cfg with the defaults (kernel policy, 1 CPU, full pages, 5 cached pages). */
void kvfree_rcu_config_default(struct kvfree_rcu_config *cfg);
/*
 * Check @cfg; on error return false and, when @why is not NULL, point it at a
 * static sentence naming the bad field.
 */
bool kvfree_rcu_config_valid(const struct kvfree_rcu_config *cfg, const char **why);

/*
 * Set up every CPU's state.  Context: sleep, before any other call, once per
 * environment instance; returns false for an invalid @cfg.  Pairs with
 * kvfree_rcu_exit().
 */
bool kvfree_rcu_init(const struct kvfree_rcu_config *cfg);
/*
 * Context: sleep.  Barrier, then give every cached page back; afterwards the
 * implementation holds no memory and kvfree_rcu_init() may be called again.
 */
void kvfree_rcu_exit(void);

/*
 * Queue @ptr to be freed after a grace period.  @head points inside the object
 * (two-argument form): context any but NMI, never allocates, never sleeps.
 * @head NULL (headless form): context sleep; may allocate a page with the lock
 * dropped, or wait for a GP inline and free.  A call from NMI is refused:
 * counted, reported as MISUSE, and the object is leaked.
 */
void kvfree_call_rcu(struct kenv_rcu_head *head, void *ptr);

#define kvfree_rcu(ptr, field) kvfree_call_rcu(&(ptr)->field, (void *)(ptr))
#define kvfree_rcu_mightsleep(ptr) kvfree_call_rcu(NULL, (void *)(ptr))

/*
 * Context: sleep.  Returns once every object queued before the call has been
 * freed (except headless calls still inside their inline synchronize).
 */
void kvfree_rcu_barrier(void);

/* The shrinker's answer when there is nothing to free (not 0: "don't know"). */
#define KVFREE_SHRINK_EMPTY (~0UL - 1)
#define KVFREE_SHRINK_STOP (~0UL)

/*
 * Context: sleep.  Objects pending plus pages cached, summed over CPUs, or
 * KVFREE_SHRINK_EMPTY when that is 0.  Makes every CPU back off its refill.
 */
unsigned long kfree_rcu_shrink_count(void);
/*
 * Context: sleep.  Drain every CPU's page cache and start reclaim of pending
 * objects until @nr_to_scan is covered; returns what was freed or queued, or
 * KVFREE_SHRINK_STOP when nothing was.
 */
unsigned long kfree_rcu_shrink_scan(unsigned long nr_to_scan);

/*
 * CPU hotplug.  Context: sleep, on a CPU other than @cpu, after the environment
 * stopped running tasks on @cpu.  Offline hands @cpu's pending objects to
 * batches (they are freed after a GP) and releases its cache; online lets @cpu
 * queue again.
 */
void kvfree_rcu_cpu_offline(int cpu);
void kvfree_rcu_cpu_online(int cpu);

/* Channels, as counted in the snapshot. */
enum kvfree_channel {
	KVFREE_CH_SLAB,		/* bulk page, freed with kfree_bulk() */
	KVFREE_CH_VMALLOC,	/* bulk page, freed one by one with vfree() */
	KVFREE_CH_LIST,		/* rcu_head list, the two-argument fallback */
	KVFREE_CH_NR
};

/* A read-only copy of one CPU's state, for checkers and reports. */
struct kvfree_rcu_cpu_stats {
	bool online;
	unsigned long pending[KVFREE_CH_NR];	/* queued on the krc, not detached */
	unsigned long in_flight;		/* detached to a batch, waiting for GP */
	unsigned long bulk_pages;		/* storage pages on the krc and in batches */
	unsigned long cached_pages;		/* pages in the cache */
	bool monitor_armed;
	bool batch_busy[2];
	bool backoff;				/* refill backs off (after the shrinker) */
	bool refill_in_progress;		/* a cache refill was asked for and has not ended */
	bool refill_pending;			/* ... and something runs or will run it: a timer
						 * armed, a work queued or running, a softirq
						 * raised on its CPU */
	/* Counters since init. */
	unsigned long calls[KENV_CTX_NR];	/* by caller context */
	unsigned long calls_headless;
	unsigned long fallback_list;		/* two-argument calls that took the list */
	unsigned long fallback_sync;		/* headless calls that synchronized inline */
	unsigned long direct_allocs;		/* headless page allocations, lock dropped */
	unsigned long pool_allocs;		/* nolocks pool allocations under the lock */
	unsigned long refill_runs;		/* refill worker / softirq runs */
	unsigned long refill_pages;		/* pages the refill added to the cache */
	unsigned long refill_failures;		/* refill attempts that failed (then stopped) */
	unsigned long pages_freed;		/* pages given back to the allocator */
	unsigned long objs_freed;		/* objects freed after a GP */
	unsigned long objs_freed_early_reclaim;	/* ... of which by the polled early reclaim */
	unsigned long objs_leaked;		/* cookie not passed: warned and leaked */
	unsigned long batches_queued;
	unsigned long monitor_runs;
	unsigned long watermark_raises;		/* watermark policy softirq raises */
	unsigned long nmi_refused;
	unsigned long double_queued;
	unsigned long headless_atomic;		/* headless calls from atomic context */
};

/*
 * Context: any but NMI (takes the CPU's lock briefly).  Copy @cpu's state;
 * false if @cpu is out of range or init has not run.
 */
bool kvfree_rcu_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st);
/*
 * Context: any, including NMI and a hang report: the same copy taken without
 * the lock, so counts may be torn on a running system.  An implementation
 * whose lists cannot be walked without the lock (the kernel shim) may report
 * every pending object in one channel, and in_flight and bulk_pages as 0.
 */
bool kvfree_rcu_snapshot_racy(int cpu, struct kvfree_rcu_cpu_stats *st);

/* The configuration in force (valid between init and exit). */
const struct kvfree_rcu_config *kvfree_rcu_config(void);

/*
 * True if the implementation checks a batch's grace-period cookie again when
 * the batch's rcu work runs, and if that GP has not passed, warns (GP-SAFETY)
 * and leaks the batch instead of freeing it, counting its objects in
 * objs_leaked.  An environment may then let an rcu work run before its GP
 * (the sim's rcu-work-early fault: RCU broken underneath) to test that
 * defence.  Context: any.
 */
bool kvfree_rcu_rechecks_gp(void);

/* ---------------------------------------------------------------------------
 * The structure walk: what one CPU's krc really holds, for the checker's
 * structural checks (check_structure() in harness/check/check.h), which
 * compare it with the implementation's own counters and with the shadow.
 */

/* Where kvfree_rcu_walk_locked() found a storage page. */
enum kvfree_page_place {
	KVFREE_PAGE_KRC,	/* a bulk channel of the krc: pending records */
	KVFREE_PAGE_BATCH,	/* a bulk channel of a batch slot: waiting for its GP */
	KVFREE_PAGE_CACHE,	/* the page cache: holds no records */
};

/* One storage page as the walk found it. */
struct kvfree_rcu_page_view {
	const void *page;
	enum kvfree_page_place place;
	enum kvfree_channel ch;		/* SLAB or VMALLOC; KVFREE_CH_NR in the cache */
	int batch;			/* the batch slot (0, 1) for KVFREE_PAGE_BATCH, else -1 */
	int owner;			/* the krc the page says it belongs to; -1: its layout keeps none */
	unsigned long records;		/* records it holds (0 in the cache) */
	unsigned long capacity;		/* the most it may hold */
	unsigned long slots;		/* record slots the page has room for: read no
					 * more than min(records, slots) of @recs */
	int guard;			/* the word after its last slot: 1 intact, 0 overwritten,
					 * -1 no guard (no room, or a cached page) */
	void *const *recs;		/* its @records records (NULL in the cache) */
};

/* The most list entries and pages the walk follows per list (a cycle ends there). */
#define KVFREE_WALK_MAX (1ul << 22)

/* One CPU's krc: the implementation's counters beside what the walk found. */
struct kvfree_rcu_structure {
	int cpu;
	/*
	 * The implementation took the CPU offline and promised to hand what it
	 * held to batches (the reference does; the kernel keeps an offline CPU's
	 * objects on its krc, and the kernel build says false).
	 */
	bool offline;
	/* The implementation's counters. */
	bool per_channel_counts;		/* false: count[KVFREE_CH_SLAB] counts all channels */
	unsigned long count[KVFREE_CH_NR];	/* objects pending per channel */
	unsigned long cached;			/* the cached-page count */
	unsigned long cache_cap;		/* its cap (cache_pages) */
	/* What the walk found. */
	unsigned long records[KVFREE_CH_NR];	/* on the krc's pages per bulk channel, and the
						 * length of its rcu_head list */
	unsigned long krc_pages;		/* pages on the krc's bulk channels */
	unsigned long cache_len;		/* pages on the cache list */
	unsigned long batch_records;		/* in both batch slots, lists included */
	unsigned long batch_pages;
	bool truncated;				/* a list reached KVFREE_WALK_MAX: counts are partial */
	bool partial;				/* a krc channel was walked only up to krc_max
						 * (fns): records[] are lower bounds */
};

/* What the walk calls back with; any of them may be NULL. */
struct kvfree_rcu_walk_fns {
	/* Every storage page: the krc's, the batch slots', the cache's. */
	void (*page)(void *arg, int cpu, const struct kvfree_rcu_page_view *v);
	/* Every object on the krc's rcu_head list (KRC) or a batch slot's (BATCH). */
	void (*list_obj)(void *arg, int cpu, const void *obj, enum kvfree_page_place place);
	void *arg;
	/* Leave the batch slots out (batch_records and batch_pages stay 0). */
	bool krc_only;
	/*
	 * Walk at most this many pages of each of the krc's bulk channels, and
	 * entries of its rcu_head list (0: all), from the head, where calls
	 * add; partial is set when one has more: a long list is a chase
	 * through cold memory.
	 */
	unsigned long krc_max;
};

/*
 * Walk @cpu's krc, its two batch slots and its page cache into @s, calling
 * @fns (or NULL) on the way.  Context: the caller holds @cpu's krc lock (the
 * lock for which kvfree_rcu_krc_cpu() returns @cpu), or nothing else runs
 * (the sim between ops).  It takes no lock, allocates nothing, reaches no
 * scheduling point and decides nothing: the checker does.  Returns false,
 * filling nothing, if @cpu is out of range or init has not run.
 */
bool kvfree_rcu_walk_locked(int cpu, struct kvfree_rcu_structure *s,
			    const struct kvfree_rcu_walk_fns *fns);
/*
 * The same under @cpu's krc lock (taken with irqs saved, then released).
 * Context: any but NMI.
 */
bool kvfree_rcu_walk(int cpu, struct kvfree_rcu_structure *s,
		     const struct kvfree_rcu_walk_fns *fns);
/* Context: any.  The CPU whose krc lock @lock is, or -1 for any other lock. */
int kvfree_rcu_krc_cpu(const struct kenv_lock *lock);

#endif /* KVTORTURE_KVFREE_RCU_H */
