/* SPDX-License-Identifier: MIT */
/*
 * env_page.c - storage pages of the posix environment: the page allocator,
 * the lock-free per-CPU pool of the nolocks policy, fault injection and the
 * page counters.
 *
 * Pages come from their own mappings, not from malloc: a 4 KiB malloc() is a
 * large-bin request, which makes glibc consolidate every freed small object
 * sitting in its fastbins first, a cost the kernel's separate page
 * allocator never charges to kfree_rcu().  Pages are carved from 1 MiB
 * mappings and kept on a free list; a mutex guards it, which is fine because
 * the checker reports an allocation in atomic context before it happens, and
 * it is taken once per page of objects.  The mappings stay for the life of
 * the process, reused run after run.  A free page is poisoned for
 * AddressSanitizer, so a use after kenv_page_free() is still caught in
 * sanitizer builds.
 *
 * The pool: each CPU has up to pool_pages slots, filled at start, by
 * posix_pool_refill() and by pages given back on that CPU; a KENV_GFP_POOL
 * allocation takes one by exchange and may fail, never blocks.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "env_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define ENV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENV_ASAN 1
#endif
#endif
#ifdef ENV_ASAN
#include <sanitizer/asan_interface.h>
/* The first word of a free page links the free list: poison the rest. */
#define PAGE_POISON(p) ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(void *), \
						  KENV_PAGE_SIZE - sizeof(void *))
#define PAGE_UNPOISON(p) ASAN_UNPOISON_MEMORY_REGION((p), KENV_PAGE_SIZE)
#else
#define PAGE_POISON(p) ((void)(p))
#define PAGE_UNPOISON(p) ((void)(p))
#endif

#define POOL_MAX 64
#define PAGE_CHUNK_PAGES 256

/* The pool: slots taken and filled by exchange, so no ABA and no lock. */
static void *_Atomic pool[KENV_NR_CPUS_MAX][POOL_MAX];
static _Atomic(unsigned int) fault_ppm;
static _Atomic(uint64_t) pages_in_use, pages_peak, pages_allocated, page_failures;
static _Atomic(uint64_t) pool_allocs, pool_misses;

static pthread_mutex_t page_mutex = PTHREAD_MUTEX_INITIALIZER;
static void *page_free_list;
#if POSIX_CHECKED
/* Who holds page_mutex, for a hang dump (posix_dump_page_lock()). */
static struct posix_thread *_Atomic page_mutex_owner;
#endif

static void page_lock(void)
{
	pthread_mutex_lock(&page_mutex);
#if POSIX_CHECKED
	atomic_store_explicit(&page_mutex_owner, posix_me, memory_order_relaxed);
#endif
}

static void page_unlock(void)
{
#if POSIX_CHECKED
	atomic_store_explicit(&page_mutex_owner, NULL, memory_order_relaxed);
#endif
	pthread_mutex_unlock(&page_mutex);
}

static unsigned int pool_slots(void)
{
	return posix_cfg.pool_pages < POOL_MAX ? posix_cfg.pool_pages : POOL_MAX;
}

/* Map a new chunk, link its pages, and put them on the free list. */
static bool page_grow(void)
{
	size_t last = (size_t)(PAGE_CHUNK_PAGES - 1) * KENV_PAGE_SIZE;
	char *chunk = mmap(NULL, (size_t)PAGE_CHUNK_PAGES * KENV_PAGE_SIZE,
			   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (chunk == MAP_FAILED)
		return false;
	/* Linked outside the lock: the system call and the loop hold nobody up. */
	for (size_t off = 0; off < last; off += KENV_PAGE_SIZE)
		*(void **)(chunk + off) = chunk + off + KENV_PAGE_SIZE;
	/* Poisoned before any other thread can take one (the link word stays readable). */
	for (size_t off = 0; off <= last; off += KENV_PAGE_SIZE)
		PAGE_POISON(chunk + off);
	page_lock();
	*(void **)(chunk + last) = page_free_list;
	page_free_list = chunk;
	page_unlock();
	return true;
}

void (*_Atomic posix_page_locked_hook)(void);

static void *page_get(void)
{
	void *page;

	do {
		page_lock();
		posix_run_hook(&posix_page_locked_hook);
		page = page_free_list;
		if (page)
			page_free_list = *(void **)page;
		page_unlock();
		if (page) {
			PAGE_UNPOISON(page);
			return page;
		}
	} while (page_grow());
	return NULL;
}

static void page_put(void *page)
{
	page_lock();
	*(void **)page = page_free_list;
	page_free_list = page;
	PAGE_POISON(page);
	page_unlock();
}

static void page_account(void)
{
	uint64_t n = atomic_fetch_add(&pages_in_use, 1) + 1;
	uint64_t peak = atomic_load(&pages_peak);

	atomic_fetch_add_explicit(&pages_allocated, 1, memory_order_relaxed);
	while (n > peak && !atomic_compare_exchange_weak(&pages_peak, &peak, n))
		;
}

static bool fault_hit(void)
{
	unsigned int ppm = atomic_load_explicit(&fault_ppm, memory_order_relaxed);

	return ppm && posix_random() % 1000000u < ppm;
}

static void *pool_take(int cpu)
{
	void *page = NULL;

	/* Look before exchanging: a miss costs loads, not locked writes. */
	for (unsigned int i = 0; i < pool_slots() && !page; i++)
		if (atomic_load_explicit(&pool[cpu][i], memory_order_relaxed))
			page = atomic_exchange(&pool[cpu][i], NULL);
	atomic_fetch_add_explicit(page ? &pool_allocs : &pool_misses, 1, memory_order_relaxed);
	return page;
}

void *kenv_page_alloc(unsigned int gfp)
{
	void *page;

	ENV_CHECK(check_alloc(gfp, "kenv_page_alloc"));
	kenv_sched_point("page_alloc");
	if (gfp & KENV_GFP_POOL) {
		page = pool_take(kenv_cpu());
	} else {
		bool injected = fault_hit();

		page = injected ? NULL : page_get();
		if (!page) {
			atomic_fetch_add(&page_failures, 1);
			ENV_CHECK(check_alloc_failed(gfp, kenv_cpu(),
						     injected ? "injected" : "out of memory"));
		}
	}
	if (page)
		page_account();
	return page;
}

void kenv_page_free(void *page)
{
	int cpu = kenv_cpu();

	if (!page)
		return;
	ENV_CHECK(check_allocator_call("kenv_page_free", page, *posix_lock_count(posix_cur())));
	atomic_fetch_sub(&pages_in_use, 1);
	/* Recycle into this CPU's pool first: the nolocks policy lives on it. */
	for (unsigned int i = 0; i < pool_slots(); i++) {
		void *expected = NULL;

		if (atomic_compare_exchange_strong(&pool[cpu][i], &expected, page))
			return;
	}
	page_put(page);
}

void posix_pool_refill(int cpu)
{
	for (unsigned int i = 0; i < pool_slots(); i++) {
		void *expected = NULL;
		void *page;

		if (atomic_load(&pool[cpu][i]) || fault_hit())
			continue;
		page = page_get();
		if (!page)
			return;
		if (!atomic_compare_exchange_strong(&pool[cpu][i], &expected, page))
			page_put(page);
	}
}

#if POSIX_CHECKED
RACY_READER void posix_dump_page_lock(int fd)
{
	struct posix_thread *t = atomic_load_explicit(&page_mutex_owner, memory_order_relaxed);

	posix_fd_printf(fd, "page allocator lock: %s%s\n", t ? "held by " : "free",
			t ? t->name : "");
}
#endif

#if !POSIX_CHECKED
/* Page ownership is the checker's to track (check_kenv.c defines it for checked builds). */
void kenv_page_owner(const void *page, int cpu, const struct kenv_lock *krc_lock)
{
	(void)page;
	(void)cpu;
	(void)krc_lock;
}
#endif

void posix_set_fault_ppm(unsigned int ppm)
{
	atomic_store(&fault_ppm, ppm);
}

/* ---------------------------------------------------------------------------
 * Start, stop, statistics
 */

void posix_page_start(void)
{
	atomic_store(&pages_in_use, 0);
	atomic_store(&pages_peak, 0);
	atomic_store(&pages_allocated, 0);
	atomic_store(&page_failures, 0);
	atomic_store(&pool_allocs, 0);
	atomic_store(&pool_misses, 0);
	/* The pools start full, as the allocator's per-CPU lists would be. */
	atomic_store(&fault_ppm, 0);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		posix_pool_refill(cpu);
	atomic_store(&fault_ppm, posix_cfg.fault_ppm);
}

void posix_page_stop(void)
{
	for (int cpu = 0; cpu < KENV_NR_CPUS_MAX; cpu++) {
		for (int i = 0; i < POOL_MAX; i++) {
			void *page = atomic_exchange(&pool[cpu][i], NULL);

			if (page)
				page_put(page);
		}
	}
}

void posix_page_stats(struct posix_env_stats *st)
{
	st->pages_in_use = atomic_load(&pages_in_use);
	st->pages_peak = atomic_load(&pages_peak);
	st->pages_allocated = atomic_load(&pages_allocated);
	st->page_failures = atomic_load(&page_failures);
	st->pool_allocs = atomic_load(&pool_allocs);
	st->pool_misses = atomic_load(&pool_misses);
}

void posix_reset_peak(void)
{
	atomic_store(&pages_peak, atomic_load(&pages_in_use));
}
