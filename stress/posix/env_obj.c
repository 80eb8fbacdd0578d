/* SPDX-License-Identifier: MIT */
/*
 * env_obj.c - the objects kvfree_rcu() frees: kenv_kfree, kenv_kfree_bulk,
 * kenv_vfree, kenv_is_vmalloc_addr and the debug-objects set, in both
 * flavours.
 *
 * Checked flavour: the objects are the checked objects of posix_obj.h.  A
 * free tells the checker (which judges a double, early or wrong-channel
 * free), then poisons the object and parks it in a quarantine ring; only
 * when the ring pushes it out does its memory go back to the allocator, so
 * an early free shows up as poison in a reader rather than as a silently
 * reused block.  The ring is lock-free (a free can come from any context the
 * contract allows).  "vmalloc" objects live in one large mapping so
 * kenv_is_vmalloc_addr() is a range check.
 *
 * Unchecked flavour: every freed object goes to the program's
 * posix_obj_reclaim(); there is no vmalloc space and no debug-objects set
 * (the kernel's debug objects are a debug option).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "env_internal.h"

#if POSIX_CHECKED

#include "posix_obj.h"

#define KVT_OBJ_LIVE 0x4b56544c49564521ULL	/* "KVTLIVE!" */
#define KVT_OBJ_DEAD 0x6b6b6b6b6b6b6b6bULL	/* the poison */
#define KVT_POISON_BYTE 0x6b
#define PATTERN_BYTES 32

#define QUARANTINE_SLAB 16384
#define QUARANTINE_VMALLOC 1024
#define VMALLOC_CHUNKS 8192

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

/* Give the memory of a dead object back (slab: to malloc, as the env's own allocation). */
static void obj_release(void *p)
{
	if (kenv_is_vmalloc_addr(p)) {
		vm_chunk_free(p);
		atomic_fetch_sub(&vm_live, 1);
	} else {
		posix_cur()->env_internal++;
		free(p);
		posix_cur()->env_internal--;
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
	ENV_CHECK(check_obj_new(obj, sizeof(*obj) + payload, vmalloc));
	return obj;
}

void kvt_obj_discard(struct kvt_obj *obj)
{
	atomic_store(&obj->canary, KVT_OBJ_DEAD);
	obj_release(obj);
}

#if POSIX_CHECKED
/*
 * What @who, a reader inside its read-side section, found of @obj it reached,
 * to the checker (GP-SAFETY).  Formatted on the stack: no allocation.
 */
static void __attribute__((format(printf, 4, 5)))
report_found(const struct kvt_obj *obj, const char *who, enum check_found found,
	     const char *fmt, ...)
{
	char detail[256];
	va_list ap;
	int n = snprintf(detail, sizeof(detail), "the object %p (%s: ", (const void *)obj, who);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(detail))
		n += vsnprintf(detail + n, sizeof(detail) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(detail) - 1)
		snprintf(detail + n, sizeof(detail) - (size_t)n, ")");
	check_reader_found(posix_thread_id(), kenv_cpu(), obj, found, detail);
}
#endif

uint64_t kvt_obj_verify(const struct kvt_obj *obj, uint64_t gen, const char *who)
{
	uint64_t canary = atomic_load_explicit(&obj->canary, memory_order_acquire);
	uint64_t seen = obj->gen;
	size_t n;

	if (canary != live_canary(obj)) {
		ENV_CHECK(report_found(obj, who,
				       canary == KVT_OBJ_DEAD ? CHECK_FOUND_FREED : CHECK_FOUND_CORRUPT,
				       "canary %#llx, expected %#llx", (unsigned long long)canary,
				       (unsigned long long)live_canary(obj)));
		return seen;
	}
	if (gen && seen != gen) {
		ENV_CHECK(report_found(obj, who, CHECK_FOUND_CORRUPT,
				       "memory reused: generation %llu, reached as %llu",
				       (unsigned long long)seen, (unsigned long long)gen));
		return seen;
	}
	n = obj->size < PATTERN_BYTES ? obj->size : PATTERN_BYTES;
	for (size_t i = 0; i < n; i++) {
		if (obj->payload[i] != (unsigned char)(seen * 31 + i)) {
			ENV_CHECK(report_found(obj, who, CHECK_FOUND_CORRUPT,
					       "generation %llu, payload byte %zu is %#x, expected %#x",
					       (unsigned long long)seen, i, obj->payload[i],
					       (unsigned char)(seen * 31 + i)));
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

static void record_latency(const struct kvt_obj *obj)
{
	uint64_t queued = atomic_load(&obj->queued_ns);
	int qcpu;
	uint64_t now;

	if (!queued)
		return;
	qcpu = obj->queued_cpu >= 0 && obj->queued_cpu < KENV_NR_CPUS_MAX ? obj->queued_cpu : 0;
	now = kenv_clock_ns();
	atomic_fetch_add_explicit(&latency[qcpu][log2_bucket(now > queued ? now - queued : 0)], 1,
				  memory_order_relaxed);
}

static void obj_free(void *ptr, const char *how)
{
	struct kvt_obj *obj = ptr;

	if (!ptr)
		return;
	/* The checker first: it names a double, early or wrong-channel free precisely. */
	posix_irq_hold();
	check_allocator_call(how, ptr, *posix_lock_count(posix_cur()));
	check_obj_freed(ptr, how);
	posix_irq_unhold();
	/*
	 * Not live (freed already, or never ours): the checker has reported
	 * it; poisoning it again would hand its memory back twice.
	 */
	if (atomic_load(&obj->canary) != live_canary(obj))
		return;
	if (atomic_load(&obj->flags) & KVT_OBJ_QUEUED)
		ENV_CHECK(check_debug_obj_freed_queued(ptr, how));
	record_latency(obj);
	if (posix_cfg.free_cost_ns) {
		uint64_t until = kenv_clock_ns() + posix_cfg.free_cost_ns;

		while (kenv_clock_ns() < until)
			;
	}
	/* Poison: a reader that still holds it sees the dead canary and the 0x6b bytes. */
	atomic_store(&obj->canary, KVT_OBJ_DEAD);
	memset(obj->payload, KVT_POISON_BYTE, obj->size < PATTERN_BYTES ? obj->size : PATTERN_BYTES);
	atomic_fetch_add(&objs_freed, 1);
	quarantine(obj);
}

void kenv_kfree(void *ptr)
{
	obj_free(ptr, "kfree");
}

void kenv_kfree_bulk(size_t nr, void **ptrs)
{
	for (size_t i = 0; i < nr; i++)
		obj_free(ptrs[i], "kfree_bulk");
}

void kenv_vfree(void *ptr)
{
	obj_free(ptr, "vfree");
}

bool kenv_debug_obj_queue(void *ptr)
{
	struct kvt_obj *obj = ptr;

	return !(atomic_fetch_or(&obj->flags, KVT_OBJ_QUEUED) & KVT_OBJ_QUEUED);
}

void kenv_debug_obj_unqueue(void *ptr)
{
	struct kvt_obj *obj = ptr;

	bool was_queued = atomic_fetch_and(&obj->flags, (uint16_t)~KVT_OBJ_QUEUED) & KVT_OBJ_QUEUED;

	ENV_CHECK(check_debug_obj_unqueued(ptr, was_queued));
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

void posix_obj_start(void)
{
	/*
	 * Mapped once per process: leaked objects (refused or double-queued
	 * ones) of an earlier run may still point into it.
	 */
	if (!vm_base) {
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
	}
}

void posix_obj_stop(void)
{
	/* Give back the quarantine. */
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
}

#else /* !POSIX_CHECKED */

bool kenv_is_vmalloc_addr(const void *ptr)
{
	(void)ptr;
	return false;
}

void kenv_kfree(void *ptr)
{
	if (ptr)
		posix_obj_reclaim(ptr);
}

void kenv_kfree_bulk(size_t nr, void **ptrs)
{
	posix_obj_reclaim_bulk(nr, ptrs);
}

void kenv_vfree(void *ptr)
{
	if (ptr)
		posix_obj_reclaim(ptr);
}

bool kenv_debug_obj_queue(void *ptr)
{
	(void)ptr;
	return true;
}

void kenv_debug_obj_unqueue(void *ptr)
{
	(void)ptr;
}

void posix_obj_start(void)
{
}

void posix_obj_stop(void)
{
}

#endif
