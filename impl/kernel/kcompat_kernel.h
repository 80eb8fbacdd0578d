/* SPDX-License-Identifier: MIT */
/*
 * kcompat_kernel.h - what a real kernel's kvfree_rcu section needs beyond
 * impl/kcompat.h: the kernel's own shapes and spellings.
 *
 * The reference implementation was written against kcompat.h and uses its
 * simplified shapes (struct delayed_work wraps kenv_delayed_work, hrtimer
 * callbacks are set with a two-argument hrtimer_setup(), workqueues are enum
 * values).  Kernel code reaches into those objects the kernel's way:
 * `monitor_work.work`, `monitor_work.timer.expires`, `hrtimer.function`,
 * `struct workqueue_struct *`, the four-argument list iterators.  This header
 * includes kcompat.h with those few type names moved aside and defines the
 * kernel's shapes on top of the same kenv.h primitives, then adds the names the
 * kernel section uses that kcompat.h does not have: tracepoints, debug and
 * KASAN/kmemleak hooks as no-ops, shrinker registration, module parameters,
 * workqueue allocation, printk.
 *
 * Only impl/kernel/kernel_impl.c includes it, and only around the extracted
 * kernel text; everything here is usable in any context the kenv.h primitive
 * behind it allows.  Nothing here is kernel code: it is the contract the
 * extracted code is compiled against.
 */
#ifndef KVTORTURE_KCOMPAT_KERNEL_H
#define KVTORTURE_KCOMPAT_KERNEL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* kcompat.h's own work, timer and workqueue shapes, moved out of the way. */
#define work_struct kcompat_ref_work_struct
#define delayed_work kcompat_ref_delayed_work
#define rcu_work kcompat_ref_rcu_work
#define hrtimer kcompat_ref_hrtimer
#define work_func_t kcompat_ref_work_func_t
#include "kcompat.h"
#undef work_func_t
#undef work_struct
#undef delayed_work
#undef rcu_work
#undef hrtimer

/* ---- compiler annotations --------------------------------------------------- */

#define __init
#define __initdata
#define __read_mostly
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __maybe_unused __attribute__((unused))
#define __counted_by(member)
#define __must_check
#define EXPORT_SYMBOL_GPL(sym) extern int kvt_kernel_export_marker_
#define EXPORT_SYMBOL(sym) extern int kvt_kernel_export_marker_
#define IS_ENABLED(option) (option)
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define clamp(v, lo, hi) min(max((v), (lo)), (hi))
#define MSEC_PER_SEC 1000L

/* Kernel configuration the section is compiled for. */
#define CONFIG_DEBUG_OBJECTS_RCU_HEAD 1	/* double kvfree_rcu() detection on */
#define CONFIG_PREEMPT_RT 0
#define CONFIG_KVFREE_RCU_BATCHED 1
#define CONFIG_KASAN_GENERIC 0

/* ---- printk and warnings ---------------------------------------------------- */

/* Informational messages are dropped: they carry no invariant. */
#define pr_info(...) ((void)0)
#define pr_err(...) ((void)0)
#define pr_warn(...) ((void)0)
#define pr_debug(...) ((void)0)
#define pr_cont(...) ((void)0)

/*
 * Warnings.  kcompat.h's WARN_ON_ONCE reports a GP-SAFETY bug, which is what
 * every WARN_ON_ONCE of the kvfree_rcu section guards (an object about to be
 * freed early, a bad offset in the list channel).  WARN_ONCE with a message is
 * classified by its text: the section's one "Double-freed call" warning is a
 * caller's misuse that the kernel detects and leaks (MISUSE); any other is a
 * bug of the code under test.  The message is formatted as the kernel prints
 * it, once per call site (the report keeps the first, as WARN_ONCE does).
 */
bool kvt_kernel_warn(bool cond, const char *file, int line, const char *func,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define WARN_ONCE(cond, fmt, ...) \
	kvt_kernel_warn(!!(cond), __FILE__, __LINE__, __func__, fmt, ##__VA_ARGS__)
#define WARN_ON(cond) KENV_WARN_ON_ONCE(KENV_WARN_BUG, "GP-SAFETY", cond, NULL)

/* ---- atomics beyond kcompat.h ----------------------------------------------- */

/* Each one a fine-grained scheduling point before the access, as kcompat.h's. */

/*
 * atomic_set() is a plain store in the kernel, as in kcompat.h, but the
 * section relies on the full barriers around it: fill_page_cache_func() ends
 * with atomic_set(&work_in_progress, 0), ordered after everything the timer
 * callback and the work did by the workqueue's barrier before the work ran,
 * and the next caller's fully ordered atomic_xchg() then re-initializes the
 * hrtimer.  ThreadSanitizer does not follow fences, so here the store is a
 * release: the guarantee the kernel gets from its barriers, in a form TSan
 * sees (on x86 the same instruction).
 */
static inline void kvt_kernel_atomic_set(atomic_t *v, int i)
{
	kenv_access_point("atomic_set");
	atomic_store_explicit(&v->counter, i, memory_order_release);
}
#define atomic_set(v, i) kvt_kernel_atomic_set((v), (i))

static inline void atomic_inc(atomic_t *v)
{
	kenv_access_point("atomic_inc");
	atomic_fetch_add_explicit(&v->counter, 1, memory_order_relaxed);
}
static inline void atomic_dec(atomic_t *v)
{
	kenv_access_point("atomic_dec");
	atomic_fetch_sub_explicit(&v->counter, 1, memory_order_relaxed);
}
static inline void atomic_add(int i, atomic_t *v)
{
	kenv_access_point("atomic_add");
	atomic_fetch_add_explicit(&v->counter, i, memory_order_relaxed);
}
static inline void atomic_sub(int i, atomic_t *v)
{
	kenv_access_point("atomic_sub");
	atomic_fetch_sub_explicit(&v->counter, i, memory_order_relaxed);
}

/* ---- lists: the kernel's typeof-based iterators ------------------------------ */

/* klist.h's iterators take the entry type explicitly; the kernel infers it. */
#undef list_for_each_entry_safe
#undef list_for_each_entry_safe_reverse
#define list_for_each_entry_safe(pos, n, head, member)				\
	list_for_each_entry_safe_typed_(pos, n, head, __typeof__(*pos), member)
#define list_for_each_entry_safe_typed_(pos, n, head, type, member)		\
	for (pos = list_entry((head)->next, type, member),			\
	     n = list_entry(pos->member.next, type, member);			\
	     &pos->member != (head);						\
	     pos = n, n = list_entry(n->member.next, type, member))
#define list_for_each_entry_safe_reverse(pos, n, head, member)			\
	list_for_each_entry_safe_reverse_typed_(pos, n, head, __typeof__(*pos), member)
#define list_for_each_entry_safe_reverse_typed_(pos, n, head, type, member)	\
	for (pos = list_entry((head)->prev, type, member),			\
	     n = list_entry(pos->member.prev, type, member);			\
	     &pos->member != (head);						\
	     pos = n, n = list_entry(n->member.prev, type, member))
#define list_for_each_entry(pos, head, member)					\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);		\
	     &pos->member != (head);						\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)
#undef list_first_entry_or_null
#define list_first_entry_or_null(head, type, member)				\
	(list_empty(head) ? NULL : list_entry((head)->next, type, member))

static inline void list_del(struct list_head *entry)
{
	list_del_init(entry);
}

#define llist_for_each_safe(pos, n, node)					\
	for ((pos) = (node); (pos) && ((n) = (pos)->next, true); (pos) = (n))

/* ---- RCU names --------------------------------------------------------------- */

typedef void (*rcu_callback_t)(struct kenv_rcu_head *head);

/* The offset form of the list channel (kernels before 6.3 store it in func). */
#define __is_kvfree_rcu_offset(offset) ((offset) < 4096)

#define RCU_SCHEDULER_INACTIVE 0
#define RCU_SCHEDULER_INIT 1
#define RCU_SCHEDULER_RUNNING 2
/* The harness always runs with the scheduler up: the monitor is armed at once. */
#define rcu_scheduler_active RCU_SCHEDULER_RUNNING

/* Lockdep's map of callback invocation: nothing to track here. */
#define rcu_lock_acquire(map) ((void)0)
#define rcu_lock_release(map) ((void)0)
#define cond_resched_tasks_rcu_qs() cond_resched()

/* The full-width polled GP state (6.5+) is the environment's cookie. */
struct rcu_gp_oldstate {
	unsigned long cookie;
};
static inline void get_state_synchronize_rcu_full(struct rcu_gp_oldstate *rgosp)
{
	rgosp->cookie = kenv_get_state_synchronize_rcu();
}
static inline bool poll_state_synchronize_rcu_full(struct rcu_gp_oldstate *rgosp)
{
	return kenv_poll_state_synchronize_rcu(rgosp->cookie);
}

/* ---- debug hooks: no-ops ------------------------------------------------------- */

#define kasan_record_aux_stack(ptr) ((void)(ptr))
#define kasan_record_aux_stack_noalloc(ptr) ((void)(ptr))
#define kmemleak_ignore(ptr) ((void)(ptr))
#define lockdep_assert_irqs_disabled() ((void)0)

/* ---- time --------------------------------------------------------------------- */

#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC 1
#endif

/* ---- timers: struct hrtimer with a settable ->function --------------------------- */

struct hrtimer {
	struct kenv_timer t;	/* env; first, so a kenv_timer * is the hrtimer */
	enum hrtimer_restart (*function)(struct hrtimer *timer);
	bool kvt_inited;	/* kvt: set by hrtimer_init/setup, for exit; atomic (racy snapshot) */
};

/* Context: any.  Runs ->function in the environment's hardirq context. */
void kvt_kernel_hrtimer_fire(struct kenv_timer *t);
void kvt_kernel_hrtimer_init(struct hrtimer *timer);

#undef hrtimer_setup
#undef hrtimer_start
#undef hrtimer_cancel
#define hrtimer_init(timer, clock, mode) kvt_kernel_hrtimer_init(timer)
#define hrtimer_setup(timer, fn, clock, mode)					\
	do {									\
		kvt_kernel_hrtimer_init(timer);					\
		(timer)->function = (fn);					\
	} while (0)
#define hrtimer_start(timer, kt, mode) kenv_timer_start(&(timer)->t, (uint64_t)(kt))
#define hrtimer_cancel(timer) kenv_timer_cancel_sync(&(timer)->t)

/* ---- work: the kernel's work_struct / delayed_work / rcu_work shapes --------------- */

struct work_struct {
	struct kenv_work w;
};

/*
 * The kernel's delayed_work has ->work and ->timer; the section reads
 * ->timer.expires (jiffies) to decide whether to bring a pending monitor
 * forward.  Here ->timer.expires mirrors the expiry of the environment's
 * timer, written by the queue/mod wrappers below whenever they arm it, and
 * read racily just like the kernel's field.
 */
struct timer_list {
	unsigned long expires;
};

struct delayed_work {
	union {
		struct kenv_delayed_work dw;
		struct work_struct work;
	};
	struct timer_list timer;
};

struct rcu_work {
	union {
		struct kenv_rcu_work rw;
		struct work_struct work;
	};
};

_Static_assert(offsetof(struct kenv_delayed_work, work) == 0, "delayed_work.work overlays dw.work");
_Static_assert(offsetof(struct kenv_rcu_work, work) == 0, "rcu_work.work overlays rw.work");

typedef void (*work_func_t)(struct work_struct *work);

#undef to_delayed_work
#undef to_rcu_work
#define to_delayed_work(wk) container_of(wk, struct delayed_work, work)
#define to_rcu_work(wk) container_of(wk, struct rcu_work, work)

/* Workqueues are pointers in the kernel; each names one kenv queue. */
struct workqueue_struct {
	enum kenv_wq kenv_queue;
};
extern struct workqueue_struct kvt_kernel_wq_reclaim, kvt_kernel_wq_highpri;

#undef rcu_reclaim_wq
#undef system_highpri_wq
#define system_wq (&kvt_kernel_wq_reclaim)
#define system_unbound_wq (&kvt_kernel_wq_reclaim)
#define system_highpri_wq (&kvt_kernel_wq_highpri)
#define WQ_UNBOUND 0x2
#define WQ_MEM_RECLAIM 0x8
#define WQ_HIGHPRI 0x10
#define alloc_workqueue(name, flags, max_active, ...)				\
	(((flags) & WQ_HIGHPRI) ? &kvt_kernel_wq_highpri : &kvt_kernel_wq_reclaim)

#undef INIT_WORK
#undef INIT_DELAYED_WORK
#undef INIT_RCU_WORK
#undef queue_work
#undef queue_delayed_work
#undef mod_delayed_work
#undef queue_rcu_work
#undef delayed_work_pending
#undef cancel_delayed_work_sync
#undef flush_rcu_work
#define INIT_WORK(work, fn) kenv_work_init(&(work)->w, (kenv_work_fn)(void (*)(void))(fn))
#define INIT_DELAYED_WORK(dwork, fn)						\
	kenv_delayed_work_init(&(dwork)->dw, (kenv_work_fn)(void (*)(void))(fn))
#define INIT_RCU_WORK(rwork, fn)						\
	kenv_rcu_work_init(&(rwork)->rw, (kenv_work_fn)(void (*)(void))(fn))

/* Context: atomic.  The kernel's signatures, on the environment's queues. */
bool kvt_kernel_queue_delayed_work(struct workqueue_struct *wq, struct delayed_work *dwork,
				   unsigned long delay);
bool kvt_kernel_mod_delayed_work(struct workqueue_struct *wq, struct delayed_work *dwork,
				 unsigned long delay);
#define queue_work(wq, work) kenv_queue_work((wq)->kenv_queue, &(work)->w)
#define queue_delayed_work(wq, dwork, delay) kvt_kernel_queue_delayed_work((wq), (dwork), (delay))
#define mod_delayed_work(wq, dwork, delay) kvt_kernel_mod_delayed_work((wq), (dwork), (delay))
#define queue_rcu_work(wq, rwork) kenv_queue_rcu_work((wq)->kenv_queue, &(rwork)->rw)
#define delayed_work_pending(dwork) kenv_delayed_work_pending(&(dwork)->dw)
#define cancel_delayed_work_sync(dwork) kenv_cancel_delayed_work_sync(&(dwork)->dw)
#define cancel_delayed_work(dwork) kenv_cancel_delayed_work_sync(&(dwork)->dw)
#define flush_rcu_work(rwork) kenv_flush_rcu_work(&(rwork)->rw)
#define flush_work(work) kenv_flush_work(&(work)->w)
#define flush_delayed_work(dwork) kenv_flush_work(&(dwork)->dw.work)

/* ---- memory --------------------------------------------------------------------- */

/*
 * The emulated PAGE_SIZE: the section sizes its bulk pages by it
 * (KVFREE_BULK_MAX_ENTR), so setting it from the configuration's page_entries
 * gives the fuzzer tiny pages.  Real storage pages are still KENV_PAGE_SIZE.
 */
extern unsigned long kvt_kernel_page_size;
#undef PAGE_SIZE
#define PAGE_SIZE kvt_kernel_page_size

/* Freeing goes through counting wrappers (for the snapshot); same contexts. */
void kvt_kernel_kfree_bulk(size_t nr, void **ptrs);
void kvt_kernel_vfree(const void *ptr);
void kvt_kernel_kvfree(const void *ptr);
void kvt_kernel_free_page(unsigned long addr);
#undef kfree_bulk
#undef vfree
#undef free_page
#define kfree_bulk(nr, ptrs) kvt_kernel_kfree_bulk((size_t)(nr), (ptrs))
#define vfree(ptr) kvt_kernel_vfree(ptr)
#define kvfree(ptr) kvt_kernel_kvfree(ptr)
#define free_page(addr) kvt_kernel_free_page((unsigned long)(addr))

/* debug objects: the section's queue check, counted for the snapshot. */
bool kvt_kernel_debug_queue(void *ptr);
#undef debug_rcu_head_queue
#define debug_rcu_head_queue(ptr) kvt_kernel_debug_queue((void *)(ptr))

/* ---- shrinker ----------------------------------------------------------------------- */

#define SHRINK_STOP (~0UL)
#define SHRINK_EMPTY (~0UL - 1)
#define DEFAULT_SEEKS 2

struct shrink_control {
	unsigned long nr_to_scan;
	unsigned long nr_scanned;
	int nid;
};

struct shrinker {
	unsigned long (*count_objects)(struct shrinker *s, struct shrink_control *sc);
	unsigned long (*scan_objects)(struct shrinker *s, struct shrink_control *sc);
	long batch;
	int seeks;
};

/*
 * Registration only records the shrinker: the harness calls it through
 * kfree_rcu_shrink_count()/scan() of kvfree_rcu.h.  Context: sleep.
 */
int kvt_kernel_register_shrinker(struct shrinker *s);
struct shrinker *kvt_kernel_shrinker_alloc(void);
#define register_shrinker(s, ...) kvt_kernel_register_shrinker(s)
#define shrinker_alloc(flags, ...) kvt_kernel_shrinker_alloc()
#define shrinker_register(s) ((void)kvt_kernel_register_shrinker(s))

/* ---- slab sheaves (6.18+): outside the section, absent here --------------------------- */

/*
 * From 6.18 kvfree_call_rcu() first offers an object to its slab cache's
 * rcu_free sheaf (mm/slub.c), and the barrier flushes the sheaves first.
 * Sheaves belong to the slab allocator, not to the kvfree_rcu section: the
 * harness's objects come from no slab cache with sheaves, so the section's
 * own test (folio_test_slab()) sends every object to the batching path this
 * harness exercises, and there are no sheaves to flush.
 */
struct folio;
struct kmem_cache {
	void *cpu_sheaves;
};
struct slab {
	struct kmem_cache *slab_cache;
};
#define virt_to_folio(obj) ((struct folio *)(obj))
#define folio_test_slab(folio) ((void)(folio), false)
#define folio_slab(folio) ((struct slab *)(folio))
#define virt_to_slab(obj) ((struct slab *)NULL)
#define slab_nid(slab) ((void)(slab), 0)
#define numa_mem_id() 0
#define CONFIG_NUMA 0
#define __kfree_rcu_sheaf(s, obj) ((void)(s), (void)(obj), false)
#define flush_all_rcu_sheaves() ((void)0)
#define flush_rcu_sheaves_on_cache(s) ((void)(s))
/* 6.19 and the 6.18.y backports ask the cache, not the field. */
#define cache_has_sheaves(s) ((s)->cpu_sheaves != NULL)

/*
 * CPU hotplug's read lock: kvfree_rcu_barrier_on_cache() (6.18.y, 6.19)
 * takes it around the sheaves' flush, which has nothing to flush here, and
 * the harness never calls that function (kmem_cache_destroy()'s barrier;
 * its batching part is __kvfree_rcu_barrier(), which kvfree_rcu_barrier()
 * runs too).  The lock is not modelled: a section that takes it on a path
 * the harness runs stops the run, naming it, instead of running unexcluded
 * from the harness's CPU hotplug.
 */
#define cpus_read_lock() KENV_DIE("cpus_read_lock() is not modelled by the kernel shim")
#define cpus_read_unlock() KENV_DIE("cpus_read_unlock() is not modelled by the kernel shim")

/* ---- module parameters: configuration, set by the shim at init ---------------------- */

#define module_param(name, type, perm) extern int kvt_kernel_export_marker_
#define MODULE_PARAM_PREFIX "kvtorture."

#endif /* KVTORTURE_KCOMPAT_KERNEL_H */
