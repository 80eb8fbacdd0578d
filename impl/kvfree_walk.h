/* SPDX-License-Identifier: MIT */
/*
 * kvfree_walk.h - the parts of the structure walk (kvfree_rcu_walk_locked()
 * of kvfree_rcu.h) that do not depend on an implementation's own structures:
 * the page cache is a klist.h llist and the list channel a chain of rcu_heads
 * in the reference and in every kernel, and a krc lock is known by its place
 * in the per-CPU krc array.  Included by impl/kvfree_rcu.c and
 * impl/kernel/kernel_impl.c only.
 *
 * Context: as the walk's (the caller holds the krc lock, or nothing else
 * runs): plain loads, no lock, no allocation, no scheduling point.
 */
#ifndef KVTORTURE_KVFREE_WALK_H
#define KVTORTURE_KVFREE_WALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"
#include "klist.h"
#include "kvfree_rcu.h"

/*
 * The walk, the snapshots and the lock-to-CPU map serve the harness, not the
 * code under test: no coverage feedback from them.  They run at krc unlocks
 * in the structural checks' debug mode, where their edges and comparisons
 * were most of a fuzz input's cost, and their branches follow how much an
 * input queued, not what the implementation decided.  clang's coverage and
 * comparison tracing (libFuzzer, OSS-Fuzz) skip a function so marked; AFL++
 * 4.04c's pass does not, and cannot take a deny list beside its allow list.
 * With -Dchecker_asan=false they are left out of ASan with the checker.
 */
#if defined(__clang__) && defined(KVT_CHECKER_NO_ASAN)
#define KVFREE_HARNESS_FN __attribute__((no_sanitize("coverage", "address")))
#elif defined(__clang__)
#define KVFREE_HARNESS_FN __attribute__((no_sanitize("coverage")))
#elif defined(KVT_CHECKER_NO_ASAN)
#define KVFREE_HARNESS_FN __attribute__((no_sanitize_address))
#else
#define KVFREE_HARNESS_FN
#endif

/*
 * @s emptied for a walk of @cpu, a field at a time: it runs at krc unlocks in
 * the structural checks' debug mode, and a memset's range check costs more
 * than the walk of a small krc in a sanitizer build.
 */
KVFREE_HARNESS_FN
static inline void kvfree_walk_start(struct kvfree_rcu_structure *s, int cpu)
{
	_Static_assert(sizeof(*s) == 2 * sizeof(unsigned long) + 2 * KVFREE_CH_NR *
		       sizeof(unsigned long) + 6 * sizeof(unsigned long),
		       "a new field of struct kvfree_rcu_structure is set here too");
	s->cpu = cpu;
	s->offline = false;
	s->per_channel_counts = false;
	s->truncated = false;
	s->partial = false;
	for (unsigned int ch = 0; ch < KVFREE_CH_NR; ch++) {
		s->count[ch] = 0;
		s->records[ch] = 0;
	}
	s->cached = s->cache_cap = 0;
	s->krc_pages = s->cache_len = 0;
	s->batch_records = s->batch_pages = 0;
}

/*
 * The entry count at which a walk along a list of @place (a bulk channel's
 * pages, an rcu_head list) stops: fns->krc_max on the krc's own lists (when
 * below KVFREE_WALK_MAX), else KVFREE_WALK_MAX.  Taken once before the loop:
 * the walks run at every krc unlock in the structural checks' debug mode,
 * an entry at a time.
 */
KVFREE_HARNESS_FN
static inline unsigned long kvfree_walk_limit(enum kvfree_page_place place,
					      const struct kvfree_rcu_walk_fns *fns)
{
	if (place == KVFREE_PAGE_KRC && fns && fns->krc_max && fns->krc_max < KVFREE_WALK_MAX)
		return fns->krc_max;
	return KVFREE_WALK_MAX;
}

/*
 * A walk stopped at its @limit: below KVFREE_WALK_MAX it was fns->krc_max and
 * the counts are lower bounds (s->partial); at it, nothing is compared
 * (s->truncated).
 */
KVFREE_HARNESS_FN
static inline void kvfree_walk_stopped(struct kvfree_rcu_structure *s, unsigned long limit)
{
	if (limit < KVFREE_WALK_MAX)
		s->partial = true;
	else
		s->truncated = true;
}

/* The pages on a page cache: counted in s->cache_len, each shown to @fns. */
KVFREE_HARNESS_FN
static inline void kvfree_walk_cache(int cpu, const struct llist_head *cache,
				     unsigned long capacity, struct kvfree_rcu_structure *s,
				     const struct kvfree_rcu_walk_fns *fns)
{
	const struct llist_node *node =
		atomic_load_explicit(&((struct llist_head *)cache)->first, memory_order_relaxed);

	for (; node; node = node->next) {
		struct kvfree_rcu_page_view v = {
			.page = node, .place = KVFREE_PAGE_CACHE, .ch = KVFREE_CH_NR,
			.batch = -1, .owner = -1, .capacity = capacity, .guard = -1,
		};

		if (s->cache_len == KVFREE_WALK_MAX) {
			s->truncated = true;
			break;
		}
		s->cache_len++;
		if (fns && fns->page)
			fns->page(fns->arg, cpu, &v);
	}
}

/*
 * The objects on an rcu_head list (the krc's or a batch slot's, @place):
 * returns how many, each shown to @fns.  Each head's func holds its object,
 * or with @offset_form (kernels before 6.3) the head's offset in it.
 */
KVFREE_HARNESS_FN
static inline unsigned long kvfree_walk_rcu_list(int cpu, const struct kenv_rcu_head *head,
						 bool offset_form, enum kvfree_page_place place,
						 struct kvfree_rcu_structure *s,
						 const struct kvfree_rcu_walk_fns *fns)
{
	unsigned long n = 0, limit = kvfree_walk_limit(place, fns);

	for (; head; head = head->next) {
		const void *obj = offset_form ? (const char *)head - (uintptr_t)head->func
					      : (const void *)head->func;

		if (n == limit) {
			kvfree_walk_stopped(s, limit);
			break;
		}
		n++;
		if (fns && fns->list_obj)
			fns->list_obj(fns->arg, cpu, obj, place);
	}
	return n;
}

/*
 * The CPU whose krc lock @lock is, in a per-CPU array of krcs of @krc_size
 * bytes whose first lock is @first; -1 for any other lock.
 */
KVFREE_HARNESS_FN
static inline int kvfree_walk_krc_cpu(const struct kenv_lock *lock, const struct kenv_lock *first,
				      size_t krc_size)
{
	uintptr_t off = (uintptr_t)lock - (uintptr_t)first;

	if ((uintptr_t)lock < (uintptr_t)first || off % krc_size ||
	    off / krc_size >= KENV_NR_CPUS_MAX)
		return -1;
	return (int)(off / krc_size);
}

#endif /* KVTORTURE_KVFREE_WALK_H */
