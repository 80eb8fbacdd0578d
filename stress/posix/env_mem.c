/* SPDX-License-Identifier: MIT */
/*
 * env_mem.c - pages, the lock-free per-CPU page pool, fault injection, and
 * the checked objects of posix_obj.h (kfree, kfree_bulk, vfree, debug objects).
 *
 * Freed objects are verified, reported to the checker, poisoned and parked in
 * a quarantine ring; only when the ring pushes them out does their memory go
 * back to the allocator, so an early free shows up as poison in a reader
 * rather than as a silently reused block.  The ring is lock-free (a free can
 * come from any context the contract allows).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "env_internal.h"
#include "posix_obj.h"

#define KVT_OBJ_LIVE 0x4b56544c49564521ULL	/* "KVTLIVE!" */
#define KVT_OBJ_DEAD 0x6b6b6b6b6b6b6b6bULL	/* the poison */
#define KVT_POISON_BYTE 0x6b
#define PATTERN_BYTES 32

#define POOL_MAX 64
#define QUARANTINE_SLAB 16384
#define QUARANTINE_VMALLOC 1024
#define VMALLOC_CHUNKS 8192

/* The page pool: slots taken and filled by exchange, so no ABA and no lock. */
static void *_Atomic pool[KENV_NR_CPUS_MAX][POOL_MAX];
static _Atomic(unsigned int) fault_ppm;
static _Atomic(uint64_t) pages_in_use, pages_peak, page_failures, pool_allocs, pool_misses;
_Atomic(uint64_t) posix_interpose_reports;

static void *_Atomic quarantine_slab[QUARANTINE_SLAB];
static void *_Atomic quarantine_vmalloc[QUARANTINE_VMALLOC];
static _Atomic(uint64_t) q_slab_head, q_vmalloc_head;

/* The vmalloc space: one mapping cut into chunks, free chunks on a locked stack. */
static char *vm_base;
static size_t vm_size;
static atomic_flag vm_lock = ATOMIC_FLAG_INIT;
static uint32_t vm_free[VMALLOC_CHUNKS];
static unsigned int vm_nr_free;

static _Atomic(uint64_t) obj_gen, objs_allocated, objs_freed, vm_live;
static _Atomic(uint64_t) latency[KENV_NR_CPUS_MAX][KVT_LAT_BUCKETS];

static void env_alloc_begin(void)
{
	posix_cur()->env_internal++;
}

static void env_alloc_end(void)
{
	posix_cur()->env_internal--;
}

/* ---------------------------------------------------------------------------
 * Pages
 */

static void page_account(void)
{
	uint64_t n = atomic_fetch_add(&pages_in_use, 1) + 1;
	uint64_t peak = atomic_load(&pages_peak);

	while (n > peak && !atomic_compare_exchange_weak(&pages_peak, &peak, n))
		;
}

static bool fault_hit(void)
{
	unsigned int ppm = atomic_load_explicit(&fault_ppm, memory_order_relaxed);

	return ppm && posix_random() % 1000000u < ppm;
}

static void *real_page(void)
{
	void *p;

	env_alloc_begin();
	p = aligned_alloc(KENV_PAGE_SIZE, KENV_PAGE_SIZE);
	env_alloc_end();
	return p;
}

void *kenv_page_alloc(unsigned int gfp)
{
	void *page = NULL;
	int cpu = kenv_cpu();

	posix_irq_hold();
	check_alloc(gfp, "kenv_page_alloc");
	posix_irq_unhold();
	kenv_sched_point("page_alloc");
	if (gfp & KENV_GFP_POOL) {
		for (int i = 0; i < POOL_MAX && !page; i++)
			page = atomic_exchange(&pool[cpu][i], NULL);
		if (!page) {
			atomic_fetch_add(&pool_misses, 1);
			return NULL;
		}
		atomic_fetch_add(&pool_allocs, 1);
		page_account();
		return page;
	}
	if (!fault_hit())
		page = real_page();
	if (!page) {
		atomic_fetch_add(&page_failures, 1);
		if ((gfp & KENV_GFP_KERNEL) && !(gfp & (KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC)))
			check_fail(INV_BOUNDED, NULL, cpu,
				   "OOM: a sleeping page allocation (gfp %#x) failed without NORETRY or NOMEMALLOC: the kernel would call the OOM killer",
				   gfp);
		return NULL;
	}
	page_account();
	return page;
}

void kenv_page_free(void *page)
{
	int cpu = kenv_cpu();

	if (!page)
		return;
	if (posix_cur_frame(posix_cur())->nr_locks)
		check_fail(INV_NO_ALLOC_ATOMIC, page, cpu,
			   "page %p given back to the allocator under a raw lock", page);
	atomic_fetch_sub(&pages_in_use, 1);
	/* Recycle into this CPU's pool first: the nolocks policy lives on it. */
	for (unsigned int i = 0; i < posix_cfg.pool_pages && i < POOL_MAX; i++) {
		void *expected = NULL;

		if (atomic_compare_exchange_strong(&pool[cpu][i], &expected, page))
			return;
	}
	env_alloc_begin();
	free(page);
	env_alloc_end();
}

void posix_pool_refill(int cpu)
{
	for (unsigned int i = 0; i < posix_cfg.pool_pages && i < POOL_MAX; i++) {
		void *expected = NULL;
		void *page;

		if (atomic_load(&pool[cpu][i]) || fault_hit())
			continue;
		page = real_page();
		if (!page)
			return;
		if (!atomic_compare_exchange_strong(&pool[cpu][i], &expected, page)) {
			env_alloc_begin();
			free(page);
			env_alloc_end();
		}
	}
}

void posix_set_fault_ppm(unsigned int ppm)
{
	atomic_store(&fault_ppm, ppm);
}

/* ---------------------------------------------------------------------------
 * Objects
 */

static uint64_t live_canary(const void *obj)
{
	return KVT_OBJ_LIVE ^ (uint64_t)(uintptr_t)obj;
}

bool kenv_is_vmalloc_addr(const void *ptr)
{
	return vm_base && (const char *)ptr >= vm_base && (const char *)ptr < vm_base + vm_size;
}

static void *vm_chunk_alloc(void)
{
	void *p = NULL;

	while (atomic_flag_test_and_set_explicit(&vm_lock, memory_order_acquire))
		sched_yield();
	if (vm_nr_free)
		p = vm_base + (size_t)vm_free[--vm_nr_free] * KVT_VMALLOC_CHUNK;
	atomic_flag_clear_explicit(&vm_lock, memory_order_release);
	return p;
}

static void vm_chunk_free(void *p)
{
	while (atomic_flag_test_and_set_explicit(&vm_lock, memory_order_acquire))
		sched_yield();
	vm_free[vm_nr_free++] = (uint32_t)(((char *)p - vm_base) / KVT_VMALLOC_CHUNK);
	atomic_flag_clear_explicit(&vm_lock, memory_order_release);
}

static void obj_release(void *p)
{
	if (kenv_is_vmalloc_addr(p)) {
		vm_chunk_free(p);
		atomic_fetch_sub(&vm_live, 1);
	} else {
		env_alloc_begin();
		free(p);
		env_alloc_end();
	}
}

static void fill_pattern(struct kvt_obj *obj)
{
	size_t n = obj->size < PATTERN_BYTES ? obj->size : PATTERN_BYTES;

	for (size_t i = 0; i < n; i++)
		obj->payload[i] = (unsigned char)(obj->gen * 31 + i);
}

struct kvt_obj *kvt_obj_alloc(size_t payload, bool vmalloc)
{
	struct kvt_obj *obj;

	if (vmalloc) {
		if (payload > KVT_VMALLOC_CHUNK - sizeof(*obj))
			payload = KVT_VMALLOC_CHUNK - sizeof(*obj);
		obj = vm_chunk_alloc();
		if (obj)
			atomic_fetch_add(&vm_live, 1);
	} else {
		if (payload > KVT_OBJ_SLAB_MAX)
			payload = KVT_OBJ_SLAB_MAX;
		obj = malloc(sizeof(*obj) + payload);
	}
	if (!obj)
		return NULL;
	obj->gen = atomic_fetch_add(&obj_gen, 1) + 1;
	obj->size = (uint32_t)payload;
	obj->queued_cpu = -1;
	atomic_store(&obj->flags, 0);
	atomic_store(&obj->queued_ns, 0);
	obj->rh.next = NULL;
	obj->rh.func = NULL;
	fill_pattern(obj);
	/* Release: a reader that sees the live canary sees the rest of the header. */
	atomic_store_explicit(&obj->canary, live_canary(obj), memory_order_release);
	atomic_fetch_add(&objs_allocated, 1);
	posix_irq_hold();
	check_obj_new(obj, sizeof(*obj) + payload, vmalloc);
	posix_irq_unhold();
	return obj;
}

void kvt_obj_discard(struct kvt_obj *obj)
{
	atomic_store(&obj->canary, KVT_OBJ_DEAD);
	obj_release(obj);
}

uint64_t kvt_obj_verify(const struct kvt_obj *obj, uint64_t gen, const char *who)
{
	uint64_t canary = atomic_load_explicit(&obj->canary, memory_order_acquire);
	uint64_t seen = obj->gen;
	size_t n;

	if (canary != live_canary(obj)) {
		check_fail(INV_GP_SAFETY, obj, kenv_cpu(),
			   "%s reached %p inside a read-side section, but it is %s (canary %#llx, expected %#llx)",
			   who, (const void *)obj, canary == KVT_OBJ_DEAD ? "already freed (poisoned)" :
			   "not a live object", (unsigned long long)canary,
			   (unsigned long long)live_canary(obj));
		return seen;
	}
	if (gen && seen != gen) {
		check_fail(INV_GP_SAFETY, obj, kenv_cpu(),
			   "%s holds %p inside a read-side section, but its memory was reused: generation %llu, reached as %llu",
			   who, (const void *)obj, (unsigned long long)seen, (unsigned long long)gen);
		return seen;
	}
	n = obj->size < PATTERN_BYTES ? obj->size : PATTERN_BYTES;
	for (size_t i = 0; i < n; i++) {
		if (obj->payload[i] != (unsigned char)(seen * 31 + i)) {
			check_fail(INV_GP_SAFETY, obj, kenv_cpu(),
				   "%s reached %p (generation %llu): payload byte %zu is %#x, expected %#x (poisoned or overwritten)",
				   who, (const void *)obj, (unsigned long long)seen, i,
				   obj->payload[i], (unsigned char)(seen * 31 + i));
			break;
		}
	}
	return seen;
}

static unsigned int log2_bucket(uint64_t ns)
{
	unsigned int b = ns ? 63u - (unsigned int)__builtin_clzll(ns) : 0;

	return b < KVT_LAT_BUCKETS ? b : KVT_LAT_BUCKETS - 1;
}

static void quarantine(void *obj)
{
	bool vm = kenv_is_vmalloc_addr(obj);
	void *_Atomic *ring = vm ? quarantine_vmalloc : quarantine_slab;
	uint64_t size = vm ? QUARANTINE_VMALLOC : QUARANTINE_SLAB;
	uint64_t idx = atomic_fetch_add(vm ? &q_vmalloc_head : &q_slab_head, 1) % size;
	void *old = atomic_exchange(&ring[idx], obj);

	if (old)
		obj_release(old);
}

static void obj_free(void *ptr, const char *how, bool vfree)
{
	struct kvt_obj *obj = ptr;
	int cpu = kenv_cpu();
	uint64_t canary, queued;

	if (!ptr)
		return;
	if (posix_cur_frame(posix_cur())->nr_locks)
		check_fail(INV_NO_ALLOC_ATOMIC, ptr, cpu, "%s of %p under a raw lock", how, ptr);
	/* The checker first: it names a double free or an early free precisely. */
	posix_irq_hold();
	check_obj_freed(ptr, how);
	posix_irq_unhold();
	canary = atomic_load(&obj->canary);
	if (canary != live_canary(obj)) {
		check_fail(INV_EXACTLY_ONCE, ptr, cpu, "%s of %p, which is %s (canary %#llx)", how,
			   ptr, canary == KVT_OBJ_DEAD ? "already freed" : "not a live object",
			   (unsigned long long)canary);
		return;
	}
	if (vfree != kenv_is_vmalloc_addr(ptr))
		check_fail(INV_EXACTLY_ONCE, ptr, cpu, "%s of %p, a %s object", how, ptr,
			   vfree ? "slab" : "vmalloc");
	if (atomic_load(&obj->flags) & KVT_OBJ_QUEUED)
		check_fail(INV_EXACTLY_ONCE, ptr, cpu,
			   "%s of %p while debug objects still has it queued (no unqueue before the free)",
			   how, ptr);
	queued = atomic_load(&obj->queued_ns);
	if (queued) {
		int qcpu = obj->queued_cpu >= 0 && obj->queued_cpu < KENV_NR_CPUS_MAX ?
			   obj->queued_cpu : 0;
		uint64_t now = kenv_clock_ns();

		atomic_fetch_add_explicit(&latency[qcpu][log2_bucket(now > queued ? now - queued : 0)],
					  1, memory_order_relaxed);
	}
	/* Poison: a reader that still holds it sees the dead canary and the 0x6b bytes. */
	atomic_store(&obj->canary, KVT_OBJ_DEAD);
	memset(obj->payload, KVT_POISON_BYTE, obj->size < PATTERN_BYTES ? obj->size : PATTERN_BYTES);
	atomic_fetch_add(&objs_freed, 1);
	quarantine(obj);
}

void kenv_kfree(void *ptr)
{
	obj_free(ptr, "kfree", false);
}

void kenv_kfree_bulk(size_t nr, void **ptrs)
{
	for (size_t i = 0; i < nr; i++)
		obj_free(ptrs[i], "kfree_bulk", false);
}

void kenv_vfree(void *ptr)
{
	obj_free(ptr, "vfree", true);
}

bool kenv_debug_obj_queue(void *ptr)
{
	struct kvt_obj *obj = ptr;

	return !(atomic_fetch_or(&obj->flags, KVT_OBJ_QUEUED) & KVT_OBJ_QUEUED);
}

void kenv_debug_obj_unqueue(void *ptr)
{
	struct kvt_obj *obj = ptr;

	if (!(atomic_fetch_and(&obj->flags, (uint16_t)~KVT_OBJ_QUEUED) & KVT_OBJ_QUEUED))
		check_fail(INV_EXACTLY_ONCE, ptr, kenv_cpu(),
			   "debug-objects unqueue of %p, which is not queued", ptr);
}

void kvt_obj_latency(int cpu, uint64_t buckets[KVT_LAT_BUCKETS])
{
	for (int i = 0; i < KVT_LAT_BUCKETS; i++)
		buckets[i] = cpu >= 0 && cpu < KENV_NR_CPUS_MAX ? atomic_load(&latency[cpu][i]) : 0;
}

uint64_t kvt_lat_percentile(const uint64_t buckets[KVT_LAT_BUCKETS], double p)
{
	uint64_t total = 0, acc = 0;

	for (int i = 0; i < KVT_LAT_BUCKETS; i++)
		total += buckets[i];
	if (!total)
		return 0;
	for (int i = 0; i < KVT_LAT_BUCKETS; i++) {
		acc += buckets[i];
		if ((double)acc >= p / 100.0 * (double)total)
			return 2ULL << i;
	}
	return 2ULL << (KVT_LAT_BUCKETS - 1);
}

void kvt_obj_stats(struct kvt_obj_stats *st)
{
	st->allocated = atomic_load(&objs_allocated);
	st->freed = atomic_load(&objs_freed);
	st->quarantined = atomic_load(&q_slab_head) + atomic_load(&q_vmalloc_head);
	st->vmalloc_live = atomic_load(&vm_live);
}

/* ---------------------------------------------------------------------------
 * Start, stop, statistics
 */

void posix_mem_start(void)
{
	vm_size = (size_t)VMALLOC_CHUNKS * KVT_VMALLOC_CHUNK;
	vm_base = mmap(NULL, vm_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm_base == MAP_FAILED) {
		vm_base = NULL;
		KENV_DIE("mmap of the vmalloc space");
	}
	/* Hand chunks out lowest first. */
	vm_nr_free = 0;
	for (int i = VMALLOC_CHUNKS - 1; i >= 0; i--)
		vm_free[vm_nr_free++] = (uint32_t)i;
	atomic_store(&fault_ppm, posix_cfg.fault_ppm);
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++)
		posix_pool_refill(cpu);
}

void posix_mem_stop(void)
{
	/*
	 * Give back the quarantine and the pools.  The vmalloc mapping stays:
	 * leaked objects (refused or double-queued ones) may still point into it.
	 */
	for (int i = 0; i < QUARANTINE_SLAB; i++) {
		void *p = atomic_exchange(&quarantine_slab[i], NULL);

		if (p)
			obj_release(p);
	}
	for (int i = 0; i < QUARANTINE_VMALLOC; i++) {
		void *p = atomic_exchange(&quarantine_vmalloc[i], NULL);

		if (p)
			obj_release(p);
	}
	for (int cpu = 0; cpu < posix_cfg.nr_cpus; cpu++) {
		for (int i = 0; i < POOL_MAX; i++) {
			void *p = atomic_exchange(&pool[cpu][i], NULL);

			env_alloc_begin();
			free(p);
			env_alloc_end();
		}
	}
}

void posix_mem_stats(struct posix_env_stats *st)
{
	st->pages_in_use = atomic_load(&pages_in_use);
	st->pages_peak = atomic_load(&pages_peak);
	st->page_failures = atomic_load(&page_failures);
	st->pool_allocs = atomic_load(&pool_allocs);
	st->pool_misses = atomic_load(&pool_misses);
	st->interpose_reports = atomic_load(&posix_interpose_reports);
}
