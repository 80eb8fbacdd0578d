/* SPDX-License-Identifier: MIT */
/*
 * kcompat.h - the kernel's names and signatures for the environment contract.
 *
 * Code written against this header reads like kernel code (raw_spin_lock_irqsave,
 * queue_delayed_work, get_state_synchronize_rcu, __get_free_page, per-CPU
 * accessors, ...) while every primitive goes through impl/kenv.h.  The reference
 * implementation uses it, and so can other kvfree_rcu implementations built
 * against the same environment.  Time is kept in jiffies of KCOMPAT_HZ ticks per
 * second, derived from the environment's nanosecond clock.
 */
#ifndef KVTORTURE_KCOMPAT_H
#define KVTORTURE_KCOMPAT_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"
#include "klist.h"

/* ---- compiler and memory model ------------------------------------------ */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/*
 * Single-copy-atomic accesses of a plain variable that is also read (or
 * written) without the lock that protects it.  Relaxed atomics compile to the
 * same plain moves as volatile accesses, and TSan sees them as intended races.
 * Each is a fine-grained scheduling point (kenv_access_point()), before the
 * access.
 */
#define READ_ONCE(x) (kenv_access_point(__func__), __atomic_load_n(&(x), __ATOMIC_RELAXED))
#define WRITE_ONCE(x, v)							\
	(kenv_access_point(__func__), __atomic_store_n(&(x), (v), __ATOMIC_RELAXED))
#define ULONG_CMP_GE(a, b) (ULONG_MAX / 2 >= (a) - (b))

typedef struct { _Atomic(int) counter; } atomic_t;
typedef struct { _Atomic(long) counter; } atomic_long_t;

#define ATOMIC_INIT(i) { (i) }
/* Every atomic operation is a fine-grained scheduling point, before the access. */
static inline int atomic_read(const atomic_t *v)
{
	kenv_access_point("atomic_read");
	return atomic_load_explicit(&((atomic_t *)v)->counter, memory_order_relaxed);
}
static inline void atomic_set(atomic_t *v, int i)
{
	kenv_access_point("atomic_set");
	atomic_store_explicit(&v->counter, i, memory_order_relaxed);
}
/* Fully ordered, as in the kernel. */
static inline int atomic_xchg(atomic_t *v, int i)
{
	kenv_access_point("atomic_xchg");
	return atomic_exchange(&v->counter, i);
}
static inline long atomic_long_read(const atomic_long_t *v)
{
	kenv_access_point("atomic_long_read");
	return atomic_load_explicit(&((atomic_long_t *)v)->counter, memory_order_relaxed);
}
static inline void atomic_long_set(atomic_long_t *v, long i)
{
	kenv_access_point("atomic_long_set");
	atomic_store_explicit(&v->counter, i, memory_order_relaxed);
}
static inline void atomic_long_add(long i, atomic_long_t *v)
{
	kenv_access_point("atomic_long_add");
	atomic_fetch_add_explicit(&v->counter, i, memory_order_relaxed);
}
static inline void atomic_long_sub(long i, atomic_long_t *v)
{
	kenv_access_point("atomic_long_sub");
	atomic_fetch_sub_explicit(&v->counter, i, memory_order_relaxed);
}
static inline void atomic_long_inc(atomic_long_t *v)
{
	atomic_long_add(1, v);
}

/* ---- contexts, CPUs, per-CPU data ------------------------------------------ */

#define in_hardirq() kenv_in_hardirq()
#define in_softirq() kenv_in_softirq()
#define in_nmi() kenv_in_nmi()
#define irqs_disabled() kenv_irqs_disabled()
#define preemptible() kenv_preemptible()
/*
 * smp_processor_id() and this_cpu_ptr() are for callers that cannot migrate
 * (kenv_this_cpu(): checked, LOCKING); the raw_ forms read the CPU without
 * the check, for statistics and hints, as the kernel distinguishes them.
 */
#define smp_processor_id() kenv_this_cpu(__func__)
#define raw_smp_processor_id() kenv_cpu()
#define nr_cpu_ids ((unsigned int)kenv_nr_cpus())
#define cpu_online(cpu) kenv_cpu_online(cpu)
#define for_each_possible_cpu(cpu) for ((cpu) = 0; (cpu) < kenv_nr_cpus(); (cpu)++)

/* Per-CPU variables are arrays indexed by CPU id. */
#define DEFINE_PER_CPU(type, name) type name[KENV_NR_CPUS_MAX]
#define per_cpu_ptr(ptr, cpu) (&(*(ptr))[(cpu)])
#define this_cpu_ptr(ptr) per_cpu_ptr(ptr, kenv_this_cpu(__func__))
#define raw_cpu_ptr(ptr) per_cpu_ptr(ptr, kenv_cpu())

#define might_sleep() kenv_might_sleep(__func__)
#define cond_resched() kenv_cond_resched()

/* ---- locks and interrupt state ---------------------------------------------- */

typedef struct kenv_lock raw_spinlock_t;

#define raw_spin_lock_init(lock) kenv_lock_init((lock), #lock)
#define raw_spin_lock(lock) kenv_raw_spin_lock(lock)
#define raw_spin_unlock(lock) kenv_raw_spin_unlock(lock)
#define raw_spin_lock_irqsave(lock, flags)					\
	do {									\
		(flags) = kenv_local_irq_save();				\
		kenv_raw_spin_lock(lock);					\
	} while (0)
#define raw_spin_unlock_irqrestore(lock, flags)					\
	do {									\
		kenv_raw_spin_unlock(lock);					\
		kenv_local_irq_restore(flags);					\
	} while (0)
#define local_irq_save(flags) ((flags) = kenv_local_irq_save())
#define local_irq_restore(flags) kenv_local_irq_restore(flags)
#define preempt_disable() kenv_preempt_disable()
#define preempt_enable() kenv_preempt_enable()
#define local_bh_disable() kenv_local_bh_disable()
#define local_bh_enable() kenv_local_bh_enable()

/*
 * lockdep_assert_held(): a broken lock-held assumption is a LOCKING bug in the
 * implementation, reported through the environment (fatal in harness builds).
 */
#define lockdep_assert_held(lock)						\
	((void)KENV_WARN_ON_ONCE(KENV_WARN_BUG, "LOCKING", !kenv_lock_held(lock), NULL))

#define WARN_ON_ONCE(cond) KENV_WARN_ON_ONCE(KENV_WARN_BUG, "GP-SAFETY", cond, NULL)

/* ---- memory ----------------------------------------------------------------- */

typedef unsigned int gfp_t;

#define GFP_NOWAIT ((gfp_t)KENV_GFP_NOWAIT)
#define GFP_KERNEL ((gfp_t)KENV_GFP_KERNEL)
#define __GFP_NORETRY ((gfp_t)KENV_GFP_NORETRY)
#define __GFP_NOMEMALLOC ((gfp_t)KENV_GFP_NOMEMALLOC)
#define __GFP_NOWARN ((gfp_t)KENV_GFP_NOWARN)
#define __GFP_NO_LOCKS ((gfp_t)KENV_GFP_POOL)
#define PAGE_SIZE ((size_t)KENV_PAGE_SIZE)

#define __get_free_page(gfp) ((unsigned long)kenv_page_alloc(gfp))
#define free_page(addr) kenv_page_free((void *)(addr))
#define kfree(ptr) kenv_kfree(ptr)
#define kfree_bulk(nr, ptrs) kenv_kfree_bulk((nr), (ptrs))
#define vfree(ptr) kenv_vfree(ptr)
#define is_vmalloc_addr(ptr) kenv_is_vmalloc_addr(ptr)

static inline void kvfree(void *ptr)
{
	if (is_vmalloc_addr(ptr))
		vfree(ptr);
	else
		kfree(ptr);
}

#define debug_rcu_head_queue(ptr) (!kenv_debug_obj_queue(ptr))
#define debug_rcu_head_unqueue(ptr) kenv_debug_obj_unqueue(ptr)

/* ---- time ------------------------------------------------------------------- */

#define KCOMPAT_HZ 1000
#define HZ KCOMPAT_HZ
#define NSEC_PER_JIFFY (1000000000ULL / KCOMPAT_HZ)
#define jiffies ((unsigned long)(kenv_clock_ns() / NSEC_PER_JIFFY))
#define msecs_to_jiffies(ms) ((unsigned long)(ms) * KCOMPAT_HZ / 1000)
#define jiffies_to_nsecs(j) ((uint64_t)(j) * NSEC_PER_JIFFY)
typedef int64_t ktime_t;
#define ms_to_ktime(ms) ((ktime_t)(ms) * 1000000)

/* ---- timers, work, softirqs --------------------------------------------------- */

struct hrtimer {
	struct kenv_timer t;
};
enum hrtimer_restart { HRTIMER_NORESTART };
#define HRTIMER_MODE_REL 0

/* hrtimer callbacks take the embedding struct, as in the kernel. */
#define hrtimer_setup(timer, fn)						\
	kenv_timer_init(&(timer)->t, (kenv_timer_fn)(void (*)(void))(fn))
#define hrtimer_start(timer, kt, mode) kenv_timer_start(&(timer)->t, (uint64_t)(kt))
#define hrtimer_cancel(timer) kenv_timer_cancel_sync(&(timer)->t)
#define hrtimer_is_queued(timer) kenv_timer_pending(&(timer)->t)

struct work_struct {
	struct kenv_work w;
};
struct delayed_work {
	struct kenv_delayed_work dw;
};
struct rcu_work {
	struct kenv_rcu_work rw;
};

typedef void (*work_func_t)(struct work_struct *work);

/* struct work_struct wraps kenv_work at offset 0, so the function types agree. */
_Static_assert(offsetof(struct work_struct, w) == 0, "work_struct layout");
_Static_assert(offsetof(struct delayed_work, dw) == 0, "delayed_work layout");
_Static_assert(offsetof(struct kenv_delayed_work, work) == 0, "kenv_delayed_work layout");
_Static_assert(offsetof(struct kenv_rcu_work, work) == 0, "kenv_rcu_work layout");

#define INIT_WORK(work, fn) kenv_work_init(&(work)->w, (kenv_work_fn)(void (*)(void))(fn))
#define INIT_DELAYED_WORK(dwork, fn)						\
	kenv_delayed_work_init(&(dwork)->dw, (kenv_work_fn)(void (*)(void))(fn))
#define INIT_RCU_WORK(rwork, fn)						\
	kenv_rcu_work_init(&(rwork)->rw, (kenv_work_fn)(void (*)(void))(fn))
#define to_delayed_work(work) ((struct delayed_work *)(void *)(work))
#define to_rcu_work(work) ((struct rcu_work *)(void *)(work))

#define rcu_reclaim_wq KENV_WQ_RECLAIM
#define system_highpri_wq KENV_WQ_HIGHPRI

#define queue_work(wq, work) kenv_queue_work((wq), &(work)->w)
#define queue_delayed_work(wq, dwork, delay)					\
	kenv_queue_delayed_work((wq), &(dwork)->dw, jiffies_to_nsecs(delay))
#define mod_delayed_work(wq, dwork, delay)					\
	kenv_mod_delayed_work((wq), &(dwork)->dw, jiffies_to_nsecs(delay))
#define delayed_work_pending(dwork) kenv_delayed_work_pending(&(dwork)->dw)
#define cancel_delayed_work_sync(dwork) kenv_cancel_delayed_work_sync(&(dwork)->dw)
#define queue_rcu_work(wq, rwork) kenv_queue_rcu_work((wq), &(rwork)->rw)
#define flush_rcu_work(rwork) kenv_flush_rcu_work(&(rwork)->rw)

#define raise_softirq(nr) kenv_raise_softirq(nr)
#define open_softirq(nr, fn) kenv_open_softirq((nr), (fn))

/* ---- RCU -------------------------------------------------------------------- */

#define rcu_head kenv_rcu_head
#define rcu_read_lock() kenv_rcu_read_lock()
#define rcu_read_unlock() kenv_rcu_read_unlock()
#define get_state_synchronize_rcu() kenv_get_state_synchronize_rcu()
#define poll_state_synchronize_rcu(cookie) kenv_poll_state_synchronize_rcu(cookie)
#define call_rcu(head, func) kenv_call_rcu((head), (func))
#define synchronize_rcu() kenv_synchronize_rcu()
#define rcu_barrier() kenv_rcu_barrier()

#endif /* KVTORTURE_KCOMPAT_H */
