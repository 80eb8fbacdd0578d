// SPDX-License-Identifier: MIT
/*
 * kernel_impl.c - a real kernel's kvfree_rcu section behind kvfree_rcu.h.
 *
 * The section extracted from the user's kernel tree at configure time
 * (kernel_section.c, see extract_section.py) is compiled here, in this one
 * translation unit, against kcompat_kernel.h, i.e. against impl/kenv.h.  What
 * follows it is the shim: kvfree_rcu.h's functions written around the
 * kernel's own code, so every engine of the harness drives the kernel's
 * kvfree_call_rcu(), monitor, batch work, page-cache refill and shrinker
 * unchanged.
 *
 *   kvfree_rcu_init()      configuration -> module parameters and the emulated
 *                          PAGE_SIZE, every CPU's lock, then the kernel's batch
 *                          init function (which registers its shrinker);
 *   kvfree_call_rcu()      the kernel's, after the two caller checks
 *                          kvfree_rcu.h promises and the kernel leaves to
 *                          debug options (see there);
 *   kvfree_rcu_barrier()   the kernel's when it has one (6.12+), else the same
 *                          algorithm built from the kernel's own monitor;
 *   shrinker count/scan    through the shrinker the kernel registered;
 *   hotplug                the kernel keeps no per-CPU kvfree_rcu hotplug
 *                          state: an offline CPU's objects stay on its krc and
 *                          its monitor work still runs (workqueues move it);
 *   snapshot               read from the kernel's krc fields.
 * What the kernel cannot configure (its batching delay, the refill policy)
 * stays as the kernel has it; kvfree_rcu_config() reports what is in force.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "kcompat_kernel.h"
#include "kernel_section.h"

/*
 * Storage pages.  Each page the section allocates is a whole environment page
 * (KENV_PAGE_SIZE) of which the section uses its emulated PAGE_SIZE; the shim
 * keeps a trailer in the last bytes, past anything the section writes, with
 * the page's owner: the CPU whose krc holds it on a bulk list, or -1.  A guard
 * word goes right after the emulated page, i.e. after the last record slot
 * (when the page is as large as the trailer allows, that is the trailer's
 * first word): a record stored past the capacity overwrites it, which the
 * structure walk reports.  The kernel's own list operations report ownership
 * to the checker (PER-CPU):
 * list_add() onto a krc's bulk_head[] attaches a page, under that krc's lock;
 * putting an owned page into a krc's page cache (llist_add() onto bkvcache)
 * or freeing it releases it.  Kernels with the older chain layout (bkvhead[],
 * before 6.3) attach pages by plain assignment, so they report nothing.
 */
struct kernel_page_trailer {
	unsigned long guard;	/* KERNEL_PAGE_GUARD; the guard word of a full-size page */
	int owner;		/* a CPU, or -1; written by the page's one holder */
	unsigned int spare;
};
#define KERNEL_PAGE_GUARD 0x4b56475541524421ul	/* "KVGUARD!" */
/* The word after the last record slot of the emulated page. */
#define KERNEL_GUARD(page) ((unsigned long *)((char *)(page) + kvt_kernel_page_size))
#define KERNEL_TRAILER(page) \
	((struct kernel_page_trailer *)((char *)(page) + KENV_PAGE_SIZE - \
					sizeof(struct kernel_page_trailer)))

static unsigned long kernel_get_free_page(unsigned int gfp);
#undef __get_free_page
#define __get_free_page(gfp) kernel_get_free_page(gfp)
#if KVT_K_LAYOUT_LIST
static void kernel_list_add(struct list_head *entry, struct list_head *head);
static bool kernel_llist_add(struct llist_node *node, struct llist_head *head);
#define list_add(entry, head) kernel_list_add((entry), (head))
#define llist_add(node, head) kernel_llist_add((node), (head))
#endif

/* Module parameters that tree.c defines outside the section. */
#if !KVT_K_DEFINES_MIN_CACHED
static int rcu_min_cached_objs = 5;
#endif
#if !KVT_K_DEFINES_FILL_DELAY
static int rcu_delay_page_cache_fill_msec = 5000;
#endif

/* Globals the compat layer declares. */
struct workqueue_struct kvt_kernel_wq_reclaim = { KENV_WQ_RECLAIM };
struct workqueue_struct kvt_kernel_wq_highpri = { KENV_WQ_HIGHPRI };
unsigned long kvt_kernel_page_size = KENV_PAGE_SIZE;

/* The section's names that kvfree_rcu.h also uses, moved aside while it compiles. */
#define kvfree_call_rcu kernel_kvfree_call_rcu
#define kvfree_rcu_barrier kernel_kvfree_rcu_barrier
#define kfree_rcu_shrink_count kernel_kfree_rcu_shrink_count
#define kfree_rcu_shrink_scan kernel_kfree_rcu_shrink_scan
#define kvfree_rcu_init kernel_kvfree_rcu_init

/*
 * The kernel's code is compiled as the kernel compiles it: without the
 * project's extra warnings about signedness, unused helpers and prototypes.
 * The shim below is held to the project's full warning set again.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpointer-arith"
#pragma GCC diagnostic ignored "-Wcast-function-type"
#include "kernel_section.c"
#pragma GCC diagnostic pop

/* The section's batch init, named while the renames above still hold. */
static void kernel_batch_init(void)
{
	KVT_K_BATCH_INIT();
}

#undef list_add
#undef llist_add

#undef kvfree_call_rcu
#undef kvfree_rcu_barrier
#undef kfree_rcu_shrink_count
#undef kfree_rcu_shrink_scan
#undef kvfree_rcu_init

#include "kvfree_rcu.h"
#include "kvfree_walk.h"
#include "kernel_impl.h"

/* ---------------------------------------------------------------------------
 * Shim state
 *
 * Counters the kernel does not keep, per CPU of the context that counted;
 * relaxed atomics: they are statistics, read racily by the snapshot.
 */
typedef _Atomic(unsigned long) kstat_t;

struct kernel_cpu_stats {
	kstat_t calls[KENV_CTX_NR];
	kstat_t calls_headless;
	kstat_t nmi_refused;
	kstat_t headless_atomic;
	kstat_t double_queued;
	kstat_t objs_freed;
	kstat_t pages_freed;
};

static struct kernel_cpu_stats kstats[KENV_NR_CPUS_MAX];
static struct kvfree_rcu_config kernel_cfg;	/* in force; written at init only */
static bool kernel_up;				/* init .. exit */
static struct shrinker *kernel_shrinker;	/* registered by the batch init */
static struct shrinker kernel_shrinker_storage;	/* shrinker_alloc()'s one instance */

/*
 * The object of the double kvfree_rcu() that the debug hook just refused, for
 * the section's warning that follows it with no environment call in between
 * (so no other context on this thread can run in the gap).
 */
static __thread void *kernel_double_obj;

static struct kernel_cpu_stats *stats_here(void)
{
	int cpu = kenv_cpu();

	return &kstats[cpu >= 0 && cpu < KENV_NR_CPUS_MAX ? cpu : 0];
}

#define KSTAT_ADD(f, n) atomic_fetch_add_explicit(&stats_here()->f, (unsigned long)(n), \
						  memory_order_relaxed)

/* ---------------------------------------------------------------------------
 * The compat layer's functions (kcompat_kernel.h)
 */

/*
 * A WARN_ONCE's message as the kernel prints it, made at the first warning of
 * each call site (by its format) and kept: the environment and the checker
 * hold on to the text they are given.  A site that finds the table full, or
 * its slot still being written by another thread, gives the format itself.
 */
#define KERNEL_WARN_SITES 8

static struct {
	_Atomic(const char *) fmt;
	atomic_int ready;
	char text[160];
} kernel_warn_sites[KERNEL_WARN_SITES];

static const char *kernel_warn_text(const char *fmt, va_list ap)
{
	for (int i = 0; i < KERNEL_WARN_SITES; i++) {
		const char *have = atomic_load(&kernel_warn_sites[i].fmt);
		size_t n;

		if (!have && atomic_compare_exchange_strong(&kernel_warn_sites[i].fmt, &have, fmt)) {
			vsnprintf(kernel_warn_sites[i].text, sizeof(kernel_warn_sites[i].text), fmt, ap);
			n = strlen(kernel_warn_sites[i].text);
			while (n && kernel_warn_sites[i].text[n - 1] == '\n')
				kernel_warn_sites[i].text[--n] = 0;
			atomic_store(&kernel_warn_sites[i].ready, 1);
			return kernel_warn_sites[i].text;
		}
		if (have == fmt)
			return atomic_load(&kernel_warn_sites[i].ready) ? kernel_warn_sites[i].text : fmt;
	}
	return fmt;
}

bool kvt_kernel_warn(bool cond, const char *file, int line, const char *func, const char *fmt, ...)
{
	const char *text;
	va_list ap;

	if (!cond)
		return false;
	va_start(ap, fmt);
	text = kernel_warn_text(fmt, ap);
	va_end(ap);
	if (strstr(fmt, "Double-freed"))
		kenv_warn(KENV_WARN_MISUSE, "MISUSE", text, kernel_double_obj, file, line, func);
	else
		kenv_warn(KENV_WARN_BUG, "GP-SAFETY", text, NULL, file, line, func);
	return true;
}

bool kvt_kernel_debug_queue(void *ptr)
{
	bool already = !kenv_debug_obj_queue(ptr);

	if (already) {
		KSTAT_ADD(double_queued, 1);
		kernel_double_obj = ptr;
	}
	return already;
}

void kvt_kernel_hrtimer_fire(struct kenv_timer *t)
{
	struct hrtimer *timer = container_of(t, struct hrtimer, t);

	timer->function(timer);
}

void kvt_kernel_hrtimer_init(struct hrtimer *timer)
{
	kenv_timer_init(&timer->t, kvt_kernel_hrtimer_fire);
	/* Read without the krc lock by the racy snapshot (fill_unlocked()). */
	__atomic_store_n(&timer->kvt_inited, true, __ATOMIC_RELAXED);
}

bool kvt_kernel_queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dwork,
				   unsigned long delay)
{
	unsigned long now = jiffies;
	bool queued = kenv_queue_delayed_work(wq->kenv_queue, &dwork->dw, jiffies_to_nsecs(delay));

	/* Only a newly armed timer has a new expiry; the caller holds its krc lock. */
	if (queued)
		WRITE_ONCE(dwork->timer.expires, now + delay);
	return queued;
}

bool kvt_kernel_mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dwork,
				 unsigned long delay)
{
	unsigned long now = jiffies;
	bool was_pending = kenv_mod_delayed_work(wq->kenv_queue, &dwork->dw, jiffies_to_nsecs(delay));

	WRITE_ONCE(dwork->timer.expires, now + delay);
	return was_pending;
}

void kvt_kernel_kfree_bulk(size_t nr, void **ptrs)
{
	KSTAT_ADD(objs_freed, nr);
	kenv_kfree_bulk(nr, ptrs);
}

void kvt_kernel_vfree(const void *ptr)
{
	KSTAT_ADD(objs_freed, 1);
	kenv_vfree((void *)ptr);
}

void kvt_kernel_kvfree(const void *ptr)
{
	KSTAT_ADD(objs_freed, 1);
	if (kenv_is_vmalloc_addr(ptr))
		kenv_vfree((void *)ptr);
	else
		kenv_kfree((void *)ptr);
}

void kvt_kernel_free_page(unsigned long addr)
{
	struct kernel_page_trailer *tr = KERNEL_TRAILER(addr);

	/* A page that carried a batch goes back to the allocator (no lock held). */
	if (tr->owner >= 0) {
		tr->owner = -1;
		kenv_page_owner((void *)addr, -1, NULL);
	}
	KSTAT_ADD(pages_freed, 1);
	kenv_page_free((void *)addr);
}

/* Context: as the gfp flags allow (kcompat.h's __get_free_page()). */
static unsigned long kernel_get_free_page(unsigned int gfp)
{
	void *page = kenv_page_alloc(gfp);

	if (page) {
		KERNEL_TRAILER(page)->owner = -1;
		KERNEL_TRAILER(page)->guard = KERNEL_PAGE_GUARD;
		*KERNEL_GUARD(page) = KERNEL_PAGE_GUARD;
	}
	return (unsigned long)page;
}

#if KVT_K_LAYOUT_LIST
/* The CPU whose krc has @head as a bulk channel list, or -1. */
static int krc_cpu_of_bulk_head(const struct list_head *head)
{
	uintptr_t off = (uintptr_t)head - (uintptr_t)&krc[0];
	size_t rem;

	if (off >= sizeof(krc))
		return -1;
	rem = off % sizeof(krc[0]);
	for (int i = 0; i < FREE_N_CHANNELS; i++) {
		if (rem == offsetof(struct kfree_rcu_cpu, bulk_head) + i * sizeof(struct list_head))
			return (int)(off / sizeof(krc[0]));
	}
	return -1;
}

/* Context: under the lock of the krc @head belongs to, when it is a bulk list. */
static void kernel_list_add(struct list_head *entry, struct list_head *head)
{
	int cpu = krc_cpu_of_bulk_head(head);

	(list_add)(entry, head);
	if (cpu >= 0) {
		struct kvfree_rcu_bulk_data *bnode =
			container_of(entry, struct kvfree_rcu_bulk_data, list);

		KERNEL_TRAILER(bnode)->owner = cpu;
		kenv_page_owner(bnode, cpu, &krc[cpu].lock);
	}
}

/* Context: under the lock of the krc @head belongs to, when it is a page cache. */
static bool kernel_llist_add(struct llist_node *node, struct llist_head *head)
{
	uintptr_t off = (uintptr_t)head - (uintptr_t)&krc[0];

	if (off < sizeof(krc) && off % sizeof(krc[0]) == offsetof(struct kfree_rcu_cpu, bkvcache)) {
		struct kernel_page_trailer *tr = KERNEL_TRAILER(node);
		int cpu = (int)(off / sizeof(krc[0]));

		/* A page that carried a batch is recycled into the cache. */
		if (tr->owner >= 0) {
			tr->owner = -1;
			kenv_page_owner(node, -1, &krc[cpu].lock);
		}
	}
	return (llist_add)(node, head);
}
#endif

int kvt_kernel_register_shrinker(struct shrinker *s)
{
	kernel_shrinker = s;
	return 0;
}

struct shrinker *kvt_kernel_shrinker_alloc(void)
{
	memset(&kernel_shrinker_storage, 0, sizeof(kernel_shrinker_storage));
	return &kernel_shrinker_storage;
}

/* ---------------------------------------------------------------------------
 * Configuration
 */

/* The most records a kernel bulk page can hold before the shim's trailer. */
#define KERNEL_PAGE_ENTRIES_MAX							\
	((KENV_PAGE_SIZE - sizeof(struct kernel_page_trailer) -			\
	  sizeof(struct kvfree_rcu_bulk_data)) / sizeof(void *))

/*
 * Names, defaults and validation are impl/kvfree_config.c's, shared with the
 * reference implementation; what the kernel's page layout cannot hold is
 * refused in kvfree_rcu_init().
 */

const struct kvfree_rcu_config *kvfree_rcu_config(void)
{
	return &kernel_cfg;
}

/*
 * Kernels before 6.5 free a batch without looking at its cookie again; later
 * ones look and leak, but count nothing the harness could match the leak
 * against.
 */
bool kvfree_rcu_rechecks_gp(void)
{
	return false;
}

const char *kvt_kernel_version(void)
{
	return KVT_K_VERSION;
}

bool kvt_kernel_reports_pages(void)
{
	return KVT_K_LAYOUT_LIST;
}

const char *kvt_kernel_patches(void)
{
	return KVT_K_PATCHES;
}

/* ---------------------------------------------------------------------------
 * Init and exit
 */

bool kvfree_rcu_init(const struct kvfree_rcu_config *cfg)
{
	unsigned int entries;
	int cpu;

	if (!kvfree_rcu_config_valid(cfg, NULL) || (int)cfg->nr_cpus != kenv_nr_cpus())
		return false;
	might_sleep();

	/*
	 * Module parameters and the page size the section will size its pages
	 * by.  A kernel page header larger than the reference's leaves room
	 * for a few records less: asked for more, the page holds what fits.
	 */
	entries = min(cfg->page_entries, (unsigned int)KERNEL_PAGE_ENTRIES_MAX);
	rcu_min_cached_objs = (int)cfg->cache_pages;
	rcu_delay_page_cache_fill_msec = (int)(cfg->backoff_ns / 1000000ULL);
	kvt_kernel_page_size = sizeof(struct kvfree_rcu_bulk_data) + entries * sizeof(void *);
	if (KVFREE_BULK_MAX_ENTR != entries)
		KENV_DIE("kernel section: KVFREE_BULK_MAX_ENTR does not follow PAGE_SIZE");

	memset(kstats, 0, sizeof(kstats));
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		/* What the kernel's static initializer and BSS give every CPU. */
		memset(krcp, 0, sizeof(*krcp));
		raw_spin_lock_init(&krcp->lock);
	}
	kernel_shrinker = NULL;
	kernel_batch_init();
	if (!kernel_shrinker)
		KENV_DIE("kernel section: the batch init registered no shrinker");

	/* What is in force: the kernel's constants, the parameters as clamped. */
	kernel_cfg = *cfg;
	kernel_cfg.page_entries = entries;
	kernel_cfg.policy = KVFREE_POLICY_KERNEL;
	kernel_cfg.cache_pages = (unsigned int)rcu_min_cached_objs;
	kernel_cfg.drain_delay_ns = jiffies_to_nsecs(KFREE_DRAIN_JIFFIES);
	kernel_cfg.short_delay_ns = NSEC_PER_JIFFY;
	kernel_cfg.refill_kick_ns = 0;
	kernel_cfg.backoff_ns = (uint64_t)rcu_delay_page_cache_fill_msec * 1000000ULL;
	kernel_up = true;
	return true;
}

static void free_cached_pages(struct kfree_rcu_cpu *krcp)
{
#if KVT_K_HAS_DRAIN_PAGE_CACHE
	drain_page_cache(krcp);
#else
	struct llist_node *pos, *n;
	unsigned long flags;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	pos = llist_del_all(&krcp->bkvcache);
	WRITE_ONCE(krcp->nr_bkv_objs, 0);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	for (; pos; pos = n) {
		n = pos->next;
		free_page(pos);
	}
#endif
}

void kvfree_rcu_exit(void)
{
	int cpu;

	might_sleep();
	kvfree_rcu_barrier();
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		cancel_delayed_work_sync(&krcp->monitor_work);
		/* The refill kick may queue the refill work: stop the timer first. */
		if (krcp->hrtimer.kvt_inited)
			hrtimer_cancel(&krcp->hrtimer);
		cancel_delayed_work_sync(&krcp->page_cache_work);
		free_cached_pages(krcp);
		krcp->initialized = false;
	}
	kernel_up = false;
}

/* ---------------------------------------------------------------------------
 * Queueing
 */

void kvfree_call_rcu(struct kenv_rcu_head *head, void *ptr)
{
	/*
	 * The kernel does not support NMI callers: it would take the raw krc lock
	 * that the interrupted code may hold (lockdep reports that).  kvfree_rcu.h
	 * promises a refusal, so the call never reaches the kernel's code.
	 */
	if (unlikely(in_nmi())) {
		KSTAT_ADD(nmi_refused, 1);
		KENV_WARN_ON_ONCE(KENV_WARN_MISUSE, "MISUSE", in_nmi(), ptr);
		return;
	}
	/*
	 * A headless call from atomic context is the caller's bug, which the
	 * kernel leaves to might_sleep() (CONFIG_DEBUG_ATOMIC_SLEEP) and then
	 * proceeds to allocate or synchronize anyway.  Reported and refused here,
	 * as that debug option reports it, instead of letting the kernel sleep in
	 * atomic context.
	 */
	if (!head && unlikely(!preemptible())) {
		KSTAT_ADD(headless_atomic, 1);
		KENV_WARN_ON_ONCE(KENV_WARN_MISUSE, "MISUSE", !preemptible(), ptr);
		return;
	}
	KSTAT_ADD(calls[kenv_context()], 1);
	if (!head)
		KSTAT_ADD(calls_headless, 1);
#if KVT_K_CALL_OFFSET
	/* Before 6.3 the kernel takes the rcu_head's offset in the object (or the object). */
	if (head)
		kernel_kvfree_call_rcu(head, (rcu_callback_t)(uintptr_t)((char *)head - (char *)ptr));
	else
		kernel_kvfree_call_rcu(NULL, (rcu_callback_t)ptr);
#else
	kernel_kvfree_call_rcu(head, ptr);
#endif
}

/* ---------------------------------------------------------------------------
 * Barrier, shrinker, hotplug
 */

#if !KVT_K_HAS_BARRIER
static bool krc_need_offload(struct kfree_rcu_cpu *krcp)
{
	unsigned long flags;
	bool need;

	raw_spin_lock_irqsave(&krcp->lock, flags);
	need = need_offload_krc(krcp);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return need;
}
#endif

void kvfree_rcu_barrier(void)
{
#if KVT_K_HAS_BARRIER
	kernel_kvfree_rcu_barrier();
#else
	/*
	 * Kernels before 6.12 have no kvfree_rcu_barrier().  This is the 6.12
	 * algorithm on the kernel's own code: run the monitor (as the kernel's
	 * shrinker does) until nothing is left on the krc, letting busy batches
	 * finish between attempts; then wait for the monitor and both batches.
	 */
	int cpu;

	might_sleep();
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);

		while (krc_need_offload(krcp)) {
			kfree_rcu_monitor(&krcp->monitor_work.work);
			if (!krc_need_offload(krcp))
				break;
			for (int i = 0; i < KFREE_N_BATCHES; i++)
				flush_rcu_work(&krcp->krw_arr[i].rcu_work);
		}
	}
	for_each_possible_cpu(cpu) {
		struct kfree_rcu_cpu *krcp = per_cpu_ptr(&krc, cpu);
		unsigned long flags;

		cancel_delayed_work_sync(&krcp->monitor_work);
		for (int i = 0; i < KFREE_N_BATCHES; i++)
			flush_rcu_work(&krcp->krw_arr[i].rcu_work);
		/*
		 * Objects queued while we waited lost their monitor to the cancel
		 * above: arm it again, with the krc lock held as the section's
		 * own callers of this helper hold it.
		 */
		raw_spin_lock_irqsave(&krcp->lock, flags);
		if (need_offload_krc(krcp))
			schedule_delayed_monitor_work(krcp);
		raw_spin_unlock_irqrestore(&krcp->lock, flags);
	}
#endif
}

unsigned long kfree_rcu_shrink_count(void)
{
	struct shrink_control sc = { .nr_to_scan = 0 };

	might_sleep();
	return kernel_shrinker->count_objects(kernel_shrinker, &sc);
}

unsigned long kfree_rcu_shrink_scan(unsigned long nr_to_scan)
{
	struct shrink_control sc = { .nr_to_scan = nr_to_scan };

	might_sleep();
	return kernel_shrinker->scan_objects(kernel_shrinker, &sc);
}

/*
 * The kernel keeps no kvfree_rcu hotplug state: a dying CPU's krc keeps its
 * objects and its monitor and batch work run elsewhere.  Nothing to do.
 */
void kvfree_rcu_cpu_offline(int cpu)
{
	(void)cpu;
	might_sleep();
}

void kvfree_rcu_cpu_online(int cpu)
{
	(void)cpu;
}

/* ---------------------------------------------------------------------------
 * Snapshot
 */

static unsigned long stat_read(const kstat_t *s)
{
	return atomic_load_explicit((kstat_t *)s, memory_order_relaxed);
}

KVFREE_HARNESS_FN
static void fill_counters(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	const struct kernel_cpu_stats *ks = &kstats[cpu];

	for (int i = 0; i < KENV_CTX_NR; i++)
		st->calls[i] = stat_read(&ks->calls[i]);
	st->calls_headless = stat_read(&ks->calls_headless);
	st->nmi_refused = stat_read(&ks->nmi_refused);
	st->headless_atomic = stat_read(&ks->headless_atomic);
	st->double_queued = stat_read(&ks->double_queued);
	st->objs_freed = stat_read(&ks->objs_freed);
	st->pages_freed = stat_read(&ks->pages_freed);
}

/* Fields that can be read without the lock (no list is walked). */
KVFREE_HARNESS_FN
static void fill_unlocked(struct kfree_rcu_cpu *krcp, int cpu, struct kvfree_rcu_cpu_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->online = kenv_cpu_online(cpu);
	st->cached_pages = (unsigned long)READ_ONCE(krcp->nr_bkv_objs);
	st->monitor_armed = delayed_work_pending(&krcp->monitor_work);
	for (int i = 0; i < KFREE_N_BATCHES; i++)
		st->batch_busy[i] = kenv_rcu_work_busy(&krcp->krw_arr[i].rcu_work.rw);
	st->backoff = atomic_read(&krcp->backoff_page_cache_fill) != 0;
	st->refill_in_progress = atomic_read(&krcp->work_in_progress) != 0;
	st->refill_pending = (__atomic_load_n(&krcp->hrtimer.kvt_inited, __ATOMIC_RELAXED) &&
			      kenv_timer_pending(&krcp->hrtimer.t)) ||
			     kenv_work_busy(&krcp->page_cache_work.dw.work);
	fill_counters(cpu, st);
}

/* Count the records and pages of one bulk channel (krc or batch side). */
#if KVT_K_LAYOUT_LIST
KVFREE_HARNESS_FN
static void count_bulk(struct list_head *list, unsigned long *objs, unsigned long *pages)
{
	struct kvfree_rcu_bulk_data *bnode, *n;

	list_for_each_entry_safe(bnode, n, list, list) {
		*objs += bnode->nr_records;
		(*pages)++;
	}
}
#define KRC_BULK(krcp, i) (&(krcp)->bulk_head[i])
#define KRW_BULK(krwp, i) (&(krwp)->bulk_head_free[i])
#else
KVFREE_HARNESS_FN
static void count_bulk(struct kvfree_rcu_bulk_data *bnode, unsigned long *objs,
		       unsigned long *pages)
{
	for (; bnode; bnode = bnode->next) {
		*objs += bnode->nr_records;
		(*pages)++;
	}
}
#define KRC_BULK(krcp, i) ((krcp)->bkvhead[i])
#define KRW_BULK(krwp, i) ((krwp)->bkvhead_free[i])
#endif

KVFREE_HARNESS_FN
static unsigned long count_list(struct rcu_head *head)
{
	unsigned long n = 0;

	for (; head; head = head->next)
		n++;
	return n;
}

/*
 * Everything the krc and its batches hold, walked under the lock.  The
 * kernel's own count of objects on the krc must agree with the walk: a
 * disagreement is reported as the kernel breaking ACCOUNTING.
 */
KVFREE_HARNESS_FN
static void fill_locked(struct kfree_rcu_cpu *krcp, struct kvfree_rcu_cpu_stats *st)
{
	unsigned long kernel_count, walked;

	lockdep_assert_held(&krcp->lock);
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		count_bulk(KRC_BULK(krcp, i), &st->pending[i], &st->bulk_pages);
	st->pending[KVFREE_CH_LIST] = count_list(krcp->head);
	for (int b = 0; b < KFREE_N_BATCHES; b++) {
		struct kfree_rcu_cpu_work *krwp = &krcp->krw_arr[b];

		for (int i = 0; i < FREE_N_CHANNELS; i++)
			count_bulk(KRW_BULK(krwp, i), &st->in_flight, &st->bulk_pages);
		st->in_flight += count_list(krwp->head_free);
	}
#if KVT_K_CHANNEL_COUNTS
	kernel_count = (unsigned long)atomic_read(&krcp->head_count);
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		kernel_count += (unsigned long)atomic_read(&krcp->bulk_count[i]);
#else
	kernel_count = (unsigned long)READ_ONCE(krcp->count);
#endif
	walked = st->pending[0] + st->pending[1] + st->pending[KVFREE_CH_LIST];
	KENV_WARN_ON_ONCE(KENV_WARN_BUG, "ACCOUNTING", kernel_count != walked, krcp);
}

KVFREE_HARNESS_FN
bool kvfree_rcu_snapshot(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	struct kfree_rcu_cpu *krcp;
	unsigned long flags;

	if (cpu < 0 || cpu >= kenv_nr_cpus() || !kernel_up)
		return false;
	krcp = per_cpu_ptr(&krc, cpu);
	raw_spin_lock_irqsave(&krcp->lock, flags);
	fill_unlocked(krcp, cpu, st);
	fill_locked(krcp, st);
	raw_spin_unlock_irqrestore(&krcp->lock, flags);
	return true;
}

/*
 * Without the lock the kernel's lists cannot be walked (their pages may be
 * freed meanwhile): the kernel's own object count stands for "pending"
 * (reported in the slab channel when the kernel keeps one count for all),
 * and in-flight and bulk-page numbers are not available (0).
 */
KVFREE_HARNESS_FN
bool kvfree_rcu_snapshot_racy(int cpu, struct kvfree_rcu_cpu_stats *st)
{
	struct kfree_rcu_cpu *krcp;

	if (cpu < 0 || cpu >= KENV_NR_CPUS_MAX)
		return false;
	krcp = per_cpu_ptr(&krc, cpu);
	fill_unlocked(krcp, cpu, st);
#if KVT_K_CHANNEL_COUNTS
	st->pending[KVFREE_CH_LIST] = (unsigned long)atomic_read(&krcp->head_count);
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		st->pending[i] = (unsigned long)atomic_read(&krcp->bulk_count[i]);
#else
	st->pending[KVFREE_CH_SLAB] = (unsigned long)READ_ONCE(krcp->count);
#endif
	return true;
}

/* ---------------------------------------------------------------------------
 * The structure walk (kvfree_rcu.h), over the kernel's own fields
 *
 * Plain loads only: the caller holds the krc lock or nothing else runs.
 */

KVFREE_HARNESS_FN
static void walk_kernel_page(int cpu, struct kvfree_rcu_bulk_data *bnode,
			     enum kvfree_page_place place, int ch, int batch,
			     const struct kvfree_rcu_walk_fns *fns)
{
	struct kvfree_rcu_page_view v = {
		.page = bnode, .place = place, .ch = (enum kvfree_channel)ch, .batch = batch,
		.owner = KVT_K_LAYOUT_LIST ? KERNEL_TRAILER(bnode)->owner : -1,
		.records = bnode->nr_records, .capacity = KVFREE_BULK_MAX_ENTR,
		.slots = KERNEL_PAGE_ENTRIES_MAX,
		.guard = *KERNEL_GUARD(bnode) == KERNEL_PAGE_GUARD, .recs = bnode->records,
	};

	if (fns && fns->page)
		fns->page(fns->arg, cpu, &v);
}

/*
 * The pages of one bulk channel, on a list (6.3+) or a chain (before): the
 * first page of @head and the page after @bnode, NULL at the end.
 */
#if KVT_K_LAYOUT_LIST
typedef struct list_head *kernel_bulk_t;
#define BULK_PAGE(head, pos)							\
	((pos) == (head) ? NULL : container_of((pos), struct kvfree_rcu_bulk_data, list))
#define BULK_FIRST(head) BULK_PAGE((head), (head)->next)
#define BULK_NEXT(head, bnode) BULK_PAGE((head), (bnode)->list.next)
#else
typedef struct kvfree_rcu_bulk_data *kernel_bulk_t;
#define BULK_FIRST(head) (head)
#define BULK_NEXT(head, bnode) ((void)(head), (bnode)->next)
#endif

/* Walk one bulk channel's pages; returns the records on them. */
KVFREE_HARNESS_FN
static unsigned long walk_kernel_bulk(int cpu, kernel_bulk_t head, enum kvfree_page_place place,
				      int ch, int batch, unsigned long *pages,
				      struct kvfree_rcu_structure *s,
				      const struct kvfree_rcu_walk_fns *fns)
{
	unsigned long records = 0, n = 0, limit = kvfree_walk_limit(place, fns);

	for (struct kvfree_rcu_bulk_data *bnode = BULK_FIRST(head); bnode;
	     bnode = BULK_NEXT(head, bnode)) {
		if (n == limit) {
			kvfree_walk_stopped(s, limit);
			break;
		}
		n++;
		records += bnode->nr_records;
		walk_kernel_page(cpu, bnode, place, ch, batch, fns);
	}
	*pages += n;
	return records;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_walk_locked(int cpu, struct kvfree_rcu_structure *s,
			    const struct kvfree_rcu_walk_fns *fns)
{
	struct kfree_rcu_cpu *krcp;

	if (cpu < 0 || cpu >= kenv_nr_cpus() || !kernel_up)
		return false;
	krcp = per_cpu_ptr(&krc, cpu);
	kvfree_walk_start(s, cpu);
	/* The kernel keeps an offline CPU's objects on its krc: nothing promised. */
	s->offline = false;
#if KVT_K_CHANNEL_COUNTS
	s->per_channel_counts = true;
	for (int i = 0; i < FREE_N_CHANNELS; i++)
		s->count[i] = (unsigned long)(long)atomic_load_explicit(&krcp->bulk_count[i].counter,
									memory_order_relaxed);
	s->count[KVFREE_CH_LIST] =
		(unsigned long)(long)atomic_load_explicit(&krcp->head_count.counter,
							  memory_order_relaxed);
#else
	s->per_channel_counts = false;
	s->count[KVFREE_CH_SLAB] = (unsigned long)(long)__atomic_load_n(&krcp->count,
									 __ATOMIC_RELAXED);
#endif
	s->cached = (unsigned long)(long)__atomic_load_n(&krcp->nr_bkv_objs, __ATOMIC_RELAXED);
	s->cache_cap = kernel_cfg.cache_pages;

	for (int i = 0; i < FREE_N_CHANNELS; i++)
		s->records[i] = walk_kernel_bulk(cpu, KRC_BULK(krcp, i), KVFREE_PAGE_KRC, i, -1,
						 &s->krc_pages, s, fns);
	s->records[KVFREE_CH_LIST] = kvfree_walk_rcu_list(cpu, krcp->head, KVT_K_CALL_OFFSET,
							  KVFREE_PAGE_KRC, s, fns);
	for (int b = 0; b < KFREE_N_BATCHES && !(fns && fns->krc_only); b++) {
		struct kfree_rcu_cpu_work *krwp = &krcp->krw_arr[b];

		for (int i = 0; i < FREE_N_CHANNELS; i++)
			s->batch_records += walk_kernel_bulk(cpu, KRW_BULK(krwp, i),
							     KVFREE_PAGE_BATCH, i, b,
							     &s->batch_pages, s, fns);
		s->batch_records += kvfree_walk_rcu_list(cpu, krwp->head_free, KVT_K_CALL_OFFSET,
							 KVFREE_PAGE_BATCH, s, fns);
	}
	kvfree_walk_cache(cpu, &krcp->bkvcache, KVFREE_BULK_MAX_ENTR, s, fns);
	return true;
}

KVFREE_HARNESS_FN
bool kvfree_rcu_walk(int cpu, struct kvfree_rcu_structure *s,
		     const struct kvfree_rcu_walk_fns *fns)
{
	struct kfree_rcu_cpu *krcp;
	unsigned long flags;
	bool ok;

	if (cpu < 0 || cpu >= kenv_nr_cpus() || !kernel_up)
		return false;
	krcp = per_cpu_ptr(&krc, cpu);
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
