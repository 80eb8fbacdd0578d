/* SPDX-License-Identifier: MIT */
/*
 * sim_mem.c - the simulated page allocator (real 4096-byte pages recycled
 * through a free stack, fault injection, a page limit, per-CPU lock-free
 * pools), driver objects (slab-like from a bump region, vmalloc-like from
 * another, so that kenv_is_vmalloc_addr() is a range check, each at a cache
 * colour of its pages), object freeing
 * and the debug-object set.
 *
 * What a run costs to set up and tear down is what it used, not what earlier
 * runs grew (the simulation resets once per fuzz input):
 *   - live pages, live objects and queued debug objects are kept in open-
 *     addressing pointer maps sized at the first init and only grown; a slot
 *     is empty unless it carries the map's generation, so emptying a map is
 *     one increment;
 *   - slab objects come from a bump region and are never reused within a
 *     run: a freed one stays poisoned (ASan) until the run ends, the longest
 *     quarantine there is, and the end of a run frees them all at once by
 *     poisoning what the run used and resetting the bump;
 *   - pages go back to the free stack at the end of a run by a walk over
 *     every page ever made (a few dozen), not over a map.
 * Free pages and freed objects are poisoned under ASan, and a slab object is
 * followed by a poisoned redzone; pages handed out are filled with a fixed
 * junk pattern, so an uninitialised read behaves the same in every run.
 * Map iteration order depends on addresses: it is never used for anything
 * traced.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim_internal.h"

#define PAGE_JUNK		0x6b
#define VM_REGION_SIZE		(512ul << 20)
#define VM_CLASSES		64	/* freed vmalloc objects of 1..64 pages are reused */
#define SLAB_REGION_SIZE	(512ul << 20)
#define SLAB_ALIGN		16u	/* as malloc's */
#define SLAB_REDZONE		16u	/* poisoned bytes after each slab object */
#define MAP_INIT_CAP		4096u

struct ptr_map {
	uintptr_t *keys;
	uintptr_t *vals;
	uint32_t *gens;			/* a slot is empty unless gens[i] == gen */
	uint32_t gen;			/* never 0 */
	size_t cap, count;		/* cap: a power of two */
	unsigned int align_bits;	/* keys are 2^align_bits aligned */
};

struct ptr_stack {
	void **v;
	size_t nr, cap;
};

static struct ptr_map live_pages, live_objs, debug_objs;
static struct ptr_stack free_pages;
static struct ptr_stack all_pages;	/* every page ever made, for sim_mem_fini() */
static struct ptr_stack vm_free[VM_CLASSES];
static char *vm_base;
static size_t vm_used;
static char *slab_base;
static size_t slab_used;
static unsigned long pooled;
static unsigned long obj_ord;

/* ---- pointer map ------------------------------------------------------------ */

/*
 * A key's home slot: neighbouring addresses in neighbouring slots (a run's
 * objects and pages are handed out in address order, and looked up soon
 * after: a mixing hash made every lookup three cache misses), folded with
 * the higher bits so that the table spans any region.
 */
static size_t map_home(const struct ptr_map *m, uintptr_t k)
{
	uint64_t x = (uint64_t)k >> m->align_bits;
	unsigned int bits = (unsigned int)__builtin_ctzll(m->cap);

	return (size_t)(x ^ (x >> bits) ^ (x >> (2 * bits))) & (m->cap - 1);
}

static void map_alloc(struct ptr_map *m, size_t cap, unsigned int align_bits)
{
	m->align_bits = align_bits;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->gens = calloc(cap, sizeof(*m->gens));
	if (!m->keys || !m->vals || !m->gens)
		KENV_DIE("out of memory for a pointer map");
	m->gen = 1;
	m->cap = cap;
	m->count = 0;
}

SIM_HOT bool map_used(const struct ptr_map *m, size_t i)
{
	return m->gens[i] == m->gen;
}

static bool map_put(struct ptr_map *m, uintptr_t k, uintptr_t val);

static void map_grow(struct ptr_map *m)
{
	struct ptr_map old = *m;
	size_t i;

	map_alloc(m, old.cap * 2, old.align_bits);
	for (i = 0; i < old.cap; i++)
		if (map_used(&old, i))
			map_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.gens);
}

static size_t map_find(const struct ptr_map *m, uintptr_t k)
{
	size_t i = map_home(m, k);

	while (map_used(m, i) && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/*
 * Keys are addresses as integers: the maps never look at the memory, and
 * they see it before it is initialised.
 */

/* Insert; false (nothing changed) if @k is already there. */
static bool map_put(struct ptr_map *m, uintptr_t k, uintptr_t val)
{
	size_t i;

	if ((m->count + 1) * 2 > m->cap)
		map_grow(m);
	i = map_find(m, k);
	if (map_used(m, i))
		return false;
	m->keys[i] = k;
	m->vals[i] = val;
	m->gens[i] = m->gen;
	m->count++;
	return true;
}

static bool map_get(const struct ptr_map *m, uintptr_t k, uintptr_t *val)
{
	size_t i;

	if (!m->cap)
		return false;
	i = map_find(m, k);
	if (!map_used(m, i))
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

/* Remove with backward shifting, so probes never need tombstones. */
static bool map_del(struct ptr_map *m, uintptr_t k, uintptr_t *val)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return false;
	i = map_find(m, k);
	if (!map_used(m, i))
		return false;
	if (val)
		*val = m->vals[i];
	m->gens[i] = 0;
	m->count--;
	for (j = (i + 1) & mask; map_used(m, j); j = (j + 1) & mask) {
		size_t h = map_home(m, m->keys[j]);

		/* Entry j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (h > i && h <= j) : (h > i || h <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->gens[i] = m->gen;
		m->gens[j] = 0;
		i = j;
	}
	return true;
}

/* Empty the map: a new generation (the whole table only when it wraps). */
static void map_clear(struct ptr_map *m)
{
	if (!m->count)
		return;
	if (++m->gen == 0) {
		memset(m->gens, 0, m->cap * sizeof(*m->gens));
		m->gen = 1;
	}
	m->count = 0;
}

static void stack_reserve(struct ptr_stack *s, size_t n)
{
	size_t cap = s->cap ? s->cap : 64;
	void **v;

	if (n <= s->cap)
		return;
	while (cap < n)
		cap *= 2;
	v = realloc(s->v, cap * sizeof(*v));
	if (!v)
		KENV_DIE("out of memory for a free stack");
	s->v = v;
	s->cap = cap;
}

static void stack_push(struct ptr_stack *s, void *p)
{
	stack_reserve(s, s->nr + 1);
	s->v[s->nr++] = p;
}

/* ---- pages ------------------------------------------------------------------- */

static const char *const gfp_class_names[SIM_GFP_NR] = {
	[SIM_GFP_NOWAIT] = "nowait",
	[SIM_GFP_KERNEL] = "kernel",
	[SIM_GFP_POOL] = "pool",
};

static unsigned long pages_out(void)
{
	return sim.st.pages_in_use + pooled;
}

static bool page_limit_reached(void)
{
	return sim.page_limit && pages_out() >= sim.page_limit;
}

/* A page from the free stack or fresh; still poisoned. */
static void *page_get_raw(void)
{
	void *p;

	if (free_pages.nr)
		return free_pages.v[--free_pages.nr];
	p = aligned_alloc(KENV_PAGE_SIZE, KENV_PAGE_SIZE);
	if (!p)
		KENV_DIE("out of memory for a simulated page");
	stack_push(&all_pages, p);
	/* Room for every page ever made: giving one back never allocates. */
	stack_reserve(&free_pages, all_pages.nr);
	SIM_POISON(p, KENV_PAGE_SIZE);
	return p;
}

static void page_put_raw(void *p)
{
	SIM_POISON(p, KENV_PAGE_SIZE);
	stack_push(&free_pages, p);
}

void sim_pool_refill(unsigned int cpu)
{
	struct sim_cpu *c = &sim.cpu[cpu];
	unsigned int n = 0;

	while (c->pool_nr < sim.cfg.pool_pages && !page_limit_reached()) {
		c->pool[c->pool_nr++] = page_get_raw();
		pooled++;
		n++;
	}
	if (n)
		check_trace("pool cpu%u +%u", cpu, n);
}

void *kenv_page_alloc(unsigned int gfp)
{
	enum sim_gfp_class cls = (gfp & KENV_GFP_POOL) ? SIM_GFP_POOL :
				 (gfp & KENV_GFP_KERNEL) ? SIM_GFP_KERNEL : SIM_GFP_NOWAIT;
	/* Failures a real allocator may return; others would OOM-kill first. */
	bool failable = gfp & (KENV_GFP_NOWAIT | KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC |
			       KENV_GFP_POOL);
	const char *why = "none";
	struct sim_cpu *c;
	unsigned int cpu;
	void *p = NULL;

	check_alloc(gfp, "kenv_page_alloc");
	/* Reclaim may sleep: a preemption point for a sleepable caller. */
	if (cls == SIM_GFP_KERNEL && sim_sleepable())
		sim_point("page_alloc");
	cpu = sim_cur_cpu();
	c = &sim.cpu[cpu];

	if (sim.fail_next) {
		sim.fail_next--;
		why = "injected";
	} else if (failable && sim.cfg.alloc_fail_permille &&
		   sim_chance(sim.cfg.alloc_fail_permille)) {
		why = "random";
	} else if (cls == SIM_GFP_POOL) {
		if (c->pool_nr) {
			p = c->pool[--c->pool_nr];
			pooled--;
		} else {
			why = "pool empty";
		}
	} else if (page_limit_reached()) {
		why = "page limit";
	} else {
		p = page_get_raw();
	}

	if (!p) {
		sim.st.page_alloc_failures++;
		sim.st.failures_by_gfp[cls]++;
		check_trace("page alloc %s fails (%s) cpu%u", gfp_class_names[cls], why, cpu);
		check_alloc_failed(gfp, (int)cpu, why);
		return NULL;
	}
	SIM_UNPOISON(p, KENV_PAGE_SIZE);
	memset(p, PAGE_JUNK, KENV_PAGE_SIZE);
	map_put(&live_pages, (uintptr_t)p, 0);
	sim.st.pages_in_use++;
	sim.st.page_allocs++;
	sim.st.allocs_by_gfp[cls]++;
	if (cls == SIM_GFP_POOL)
		sim.st.pool_allocs++;
	check_trace("page alloc %s cpu%u, %lu in use", gfp_class_names[cls], cpu,
		    sim.st.pages_in_use);
	return p;
}

void kenv_page_free(void *page)
{
	bool allocated;

	if (!page)
		return;
	check_allocator_call("kenv_page_free", page, sim_raw_locks_held());
	allocated = map_del(&live_pages, (uintptr_t)page, NULL);
	check_page_freed(page, allocated);
	if (!allocated)
		return;
	sim.st.pages_in_use--;
	sim.st.page_frees++;
	page_put_raw(page);
	check_trace("page free cpu%u, %lu in use", sim_cur_cpu(), sim.st.pages_in_use);
}

void sim_fail_next_allocs(unsigned int n)
{
	sim.fail_next = n;
	check_trace("fail next %u allocs", n);
}

void sim_set_page_limit(unsigned long pages)
{
	sim.page_limit = pages;
	check_trace("page limit %lu", pages);
}

/* ---- objects ------------------------------------------------------------------ */

/*
 * A live object's map value: ordinal, kind, and its extent: the page count
 * of a vmalloc object (0: larger than the classes), the rounded size of a
 * slab object in SLAB_ALIGN units.
 */
#define OBJ_VMALLOC		1u
#define OBJ_EXTENT_SHIFT	1
#define OBJ_EXTENT_MASK		0x7fffffu
#define OBJ_ORD_SHIFT		24

static size_t vm_pages(size_t size)
{
	return (size + KENV_PAGE_SIZE - 1) / KENV_PAGE_SIZE;
}

/* A slab object: the next bytes of the slab region, then a poisoned redzone. */
static void *slab_get(size_t size, size_t *units)
{
	size_t rounded = (size + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
	char *p;

	if (rounded + SLAB_REDZONE > SLAB_REGION_SIZE - slab_used)
		KENV_DIE("the slab region is exhausted");
	p = slab_base + slab_used;
	slab_used += rounded + SLAB_REDZONE;
	SIM_POISON(p, rounded + SLAB_REDZONE);
	SIM_UNPOISON(p, size);
	*units = rounded / SLAB_ALIGN;
	return p;
}

/*
 * Where a vmalloc object of @size starts in its range of @extent pages at
 * @range: at the 64-byte cache colour the range's page number picks (64 in a
 * page), or at the last one the room the object leaves allows.  The kernel's
 * vmalloc returns page-aligned addresses, which nothing in an implementation
 * depends on; here all objects at offset 0 put their first lines (the
 * rcu_head a krc's list chains through, the canary the checker reads) into
 * one set of the CPU's caches, and a walk of that list waited at every entry
 * (perf: a third of the walk at a krc release).  The checker knows an object
 * by its exact address: a pointer into one is still a foreign free.
 */
static char *vm_colour(char *range, size_t extent, size_t size)
{
	size_t room = extent * KENV_PAGE_SIZE - size;
	size_t colour = (uintptr_t)range / KENV_PAGE_SIZE % 64 * 64;

	return range + (colour <= room ? colour : room & ~(size_t)63);
}

void *sim_obj_alloc(size_t size, bool vmalloc)
{
	size_t extent;
	uintptr_t val;
	void *p = NULL;

	if (!size)
		size = 1;
	if (!vmalloc) {
		p = slab_get(size, &extent);
	} else {
		extent = vm_pages(size);
		if (extent <= VM_CLASSES && vm_free[extent - 1].nr) {
			p = vm_free[extent - 1].v[--vm_free[extent - 1].nr];
		} else {
			if (extent > (VM_REGION_SIZE - vm_used) / KENV_PAGE_SIZE)
				KENV_DIE("the vmalloc region is exhausted");
			p = vm_base + vm_used;
			vm_used += extent * KENV_PAGE_SIZE;
		}
		SIM_UNPOISON(p, extent * KENV_PAGE_SIZE);
		p = vm_colour(p, extent, size);
		if (extent > VM_CLASSES)
			extent = 0;
	}
	val = ((uintptr_t)++obj_ord << OBJ_ORD_SHIFT) |
	      ((extent & OBJ_EXTENT_MASK) << OBJ_EXTENT_SHIFT) |
	      (vmalloc ? OBJ_VMALLOC : 0);
	map_put(&live_objs, (uintptr_t)p, val);
	sim.st.objs_allocated++;
	sim.st.objs_live++;
	check_trace("obj o%lu alloc %s %zu", obj_ord, vmalloc ? "vmalloc" : "slab", size);
	check_obj_new(p, size, vmalloc);
	return p;
}

bool sim_obj_live(const void *obj)
{
	return map_get(&live_objs, (uintptr_t)obj, NULL);
}

bool kenv_is_vmalloc_addr(const void *ptr)
{
	const char *p = ptr;

	return vm_base && p >= vm_base && p < vm_base + VM_REGION_SIZE;
}

static void vm_release(void *obj, uintptr_t val)
{
	size_t npages = (val >> OBJ_EXTENT_SHIFT) & OBJ_EXTENT_MASK;
	void *p = (void *)((uintptr_t)obj & ~(uintptr_t)(KENV_PAGE_SIZE - 1));

	/* Objects larger than the classes stay unused until the run ends. */
	if (npages) {
		SIM_POISON(p, npages * KENV_PAGE_SIZE);
		stack_push(&vm_free[npages - 1], p);
	}
}

/*
 * Free a driver object by @how.  The checker judges the free (a double free,
 * a foreign pointer, the wrong channel's function: it knows every object from
 * check_obj_new()); memory that is not live is then left alone, and live
 * memory goes back to where it came from, whichever function freed it.
 */
static void obj_release(void *p, const char *how)
{
	int cpu = kenv_cpu();
	uintptr_t val;

	check_obj_freed(p, how);
	if (!map_del(&live_objs, (uintptr_t)p, &val))
		return;
	sim.st.objs_live--;
	check_trace("obj o%lu %s cpu%d", (unsigned long)(val >> OBJ_ORD_SHIFT), how, cpu);
	if (val & OBJ_VMALLOC)
		vm_release(p, val);
	else	/* not reused before the run ends: poisoned until then */
		SIM_POISON(p, ((val >> OBJ_EXTENT_SHIFT) & OBJ_EXTENT_MASK) * SLAB_ALIGN);
}

void kenv_kfree(void *ptr)
{
	if (!ptr)
		return;
	check_allocator_call("kenv_kfree", ptr, sim_raw_locks_held());
	sim.st.kfree++;
	obj_release(ptr, "kfree");
}

void kenv_kfree_bulk(size_t nr, void **ptrs)
{
	size_t i;

	check_allocator_call("kenv_kfree_bulk", NULL, sim_raw_locks_held());
	sim.st.kfree_bulk_calls++;
	sim.st.kfree_bulk_objs += nr;
	check_trace("kfree_bulk %zu", nr);
	for (i = 0; i < nr; i++)
		if (ptrs[i])
			obj_release(ptrs[i], "kfree_bulk");
}

void kenv_vfree(void *ptr)
{
	if (!ptr)
		return;
	check_allocator_call("kenv_vfree", ptr, sim_raw_locks_held());
	sim.st.vfree++;
	obj_release(ptr, "vfree");
}

/* ---- debug objects ------------------------------------------------------------ */

bool kenv_debug_obj_queue(void *ptr)
{
	return map_put(&debug_objs, (uintptr_t)ptr, 0);
}

void kenv_debug_obj_unqueue(void *ptr)
{
	check_debug_obj_unqueued(ptr, map_del(&debug_objs, (uintptr_t)ptr, NULL));
}

/* ---- lifecycle ---------------------------------------------------------------- */

void sim_mem_init(void)
{
	unsigned int cpu;

	if (!live_pages.cap) {
		/* Pages, objects (slab: SLAB_ALIGN), any pointer (8). */
		map_alloc(&live_pages, MAP_INIT_CAP, (unsigned int)__builtin_ctz(KENV_PAGE_SIZE));
		map_alloc(&live_objs, MAP_INIT_CAP, (unsigned int)__builtin_ctz(SLAB_ALIGN));
		map_alloc(&debug_objs, MAP_INIT_CAP, 3);
		vm_base = mmap(NULL, VM_REGION_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (vm_base == MAP_FAILED)
			KENV_DIE("mmap of the vmalloc region failed");
		slab_base = mmap(NULL, SLAB_REGION_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (slab_base == MAP_FAILED)
			KENV_DIE("mmap of the slab region failed");
	}
	pooled = 0;
	obj_ord = 0;
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++)
		sim_pool_refill(cpu);
}

void sim_mem_fini(void)
{
	unsigned int cpu;
	size_t i;

	/* Pages still out (held by the implementation, or pooled) come back. */
	for (i = 0; live_pages.count && i < all_pages.nr; i++)
		if (map_get(&live_pages, (uintptr_t)all_pages.v[i], NULL))
			page_put_raw(all_pages.v[i]);
	map_clear(&live_pages);
	for (cpu = 0; cpu < sim.cfg.nr_cpus; cpu++) {
		struct sim_cpu *c = &sim.cpu[cpu];

		while (c->pool_nr)
			page_put_raw(c->pool[--c->pool_nr]);
	}
	pooled = 0;
	sim.st.pages_in_use = 0;

	/* Every object, live or freed, goes at once. */
	map_clear(&live_objs);
	SIM_POISON(slab_base, slab_used);
	slab_used = 0;
	SIM_POISON(vm_base, vm_used);
	vm_used = 0;
	for (i = 0; i < VM_CLASSES; i++)
		vm_free[i].nr = 0;
	map_clear(&debug_objs);
}
