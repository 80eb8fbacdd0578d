/* SPDX-License-Identifier: MIT */
/*
 * test_sim_mem - the sim's memory: pages are real, aligned and counted;
 * fault injection fails the next N allocations, random failures spare
 * allocations a real allocator would not fail, the page limit fails
 * allocations and reports an OOM of a KERNEL allocation (BOUNDED); the
 * lock-free pool empties and is refilled at task points; vmalloc objects are
 * recognised by address and start at a cache colour of their pages; double
 * frees and double unqueues are reported.
 */
#include <string.h>

#include "check.h"
#include "kenv.h"
#include "sim.h"
#include "tap.h"

static void setup(unsigned int pool, unsigned long limit, unsigned int fail_permille)
{
	struct sim_config cfg;

	sim_config_default(&cfg);
	cfg.pool_pages = pool;
	cfg.page_limit = limit;
	cfg.alloc_fail_permille = fail_permille;
	sim_init(&cfg);
}

static void test_pages(void)
{
	struct sim_stats st;
	void *a, *b, *c;

	setup(0, 0, 0);
	a = kenv_page_alloc(KENV_GFP_NOWAIT);
	b = kenv_page_alloc(KENV_GFP_KERNEL);
	TAP_OK(a && b && a != b, "pages: two allocations succeed");
	TAP_OK(((uintptr_t)a & (KENV_PAGE_SIZE - 1)) == 0, "pages: page aligned");
	memset(b, 0, KENV_PAGE_SIZE);
	sim_stats(&st);
	TAP_EQ(st.pages_in_use, 2, "pages: in use");
	TAP_EQ(st.allocs_by_gfp[SIM_GFP_KERNEL], 1, "pages: counted per gfp");
	kenv_page_free(a);
	kenv_page_free(b);
	sim_stats(&st);
	TAP_OK(st.pages_in_use == 0 && st.page_frees == 2, "pages: freed");

	sim_fail_next_allocs(2);
	a = kenv_page_alloc(KENV_GFP_NOWAIT | KENV_GFP_NOWARN);
	b = kenv_page_alloc(KENV_GFP_KERNEL | KENV_GFP_NORETRY);
	c = kenv_page_alloc(KENV_GFP_NOWAIT);
	TAP_OK(!a && !b && c, "fail_next: the next two allocations failed, the third did not");
	TAP_EQ(check_count(INV_BOUNDED), 0, "fail_next: a NORETRY failure is no OOM");
	kenv_page_free(c);

	check_set_quiet(true);
	kenv_page_free(c);
	TAP_EQ(check_count(INV_EXACTLY_ONCE), 1, "pages: a double page free is reported");
	check_set_quiet(false);
	sim_fini();
}

static void test_limit(void)
{
	void *a, *b;

	setup(0, 2, 0);
	a = kenv_page_alloc(KENV_GFP_NOWAIT);
	b = kenv_page_alloc(KENV_GFP_NOWAIT);
	TAP_OK(a && b, "limit: allocations up to the limit succeed");
	TAP_OK(!kenv_page_alloc(KENV_GFP_NOWAIT), "limit: beyond it, NOWAIT fails");
	TAP_OK(!kenv_page_alloc(KENV_GFP_KERNEL | KENV_GFP_NORETRY), "limit: KERNEL|NORETRY fails");
	TAP_EQ(check_count(INV_BOUNDED), 0, "limit: failures with NORETRY are expected, not OOM");
	check_set_quiet(true);
	TAP_OK(!kenv_page_alloc(KENV_GFP_KERNEL), "limit: plain KERNEL fails too");
	check_set_quiet(false);
	TAP_EQ(check_count(INV_BOUNDED), 1, "limit: ... and that is reported as OOM (BOUNDED)");
	kenv_page_free(a);
	TAP_OK((a = kenv_page_alloc(KENV_GFP_KERNEL)) != NULL, "limit: room again after a free");
	sim_fini();

	/* Random failures hit failable allocations only. */
	setup(0, 0, 1000);
	a = kenv_page_alloc(KENV_GFP_NOWAIT);
	b = kenv_page_alloc(KENV_GFP_KERNEL);
	TAP_OK(!a && b, "random: NOWAIT fails at 1000 permille, plain KERNEL does not");
	TAP_EQ(check_count(INV_BOUNDED), 0, "random: no OOM reported");
	sim_fini();
}

static struct kenv_lock lock;
static void *pool_pages[4];
static bool pool_refilled;

static void pool_user(void *arg)
{
	struct sim_stats st;
	int i;

	(void)arg;
	kenv_raw_spin_lock(&lock);
	for (i = 0; i < 3; i++)
		pool_pages[i] = kenv_page_alloc(KENV_GFP_POOL);
	kenv_raw_spin_unlock(&lock);
	/* The unlock was a preemptible point: the pool filled up again. */
	sim_stats(&st);
	pool_refilled = st.pool_pages == 2;
	for (i = 0; i < 3; i++)
		kenv_page_free(pool_pages[i]);
}

static void test_pool(void)
{
	struct sim_stats st;

	setup(2, 0, 0);
	kenv_lock_init(&lock, "pool_lock");
	sim_stats(&st);
	TAP_EQ(st.pool_pages, 2, "pool: filled at init");
	sim_spawn(0, KENV_CTX_TASK, pool_user, NULL, "pool");
	TAP_OK(pool_pages[0] && pool_pages[1] && !pool_pages[2],
	       "pool: two POOL pages under the lock, then empty");
	TAP_OK(pool_refilled, "pool: refilled at the next task point");
	sim_stats(&st);
	TAP_OK(st.pool_allocs == 2 && st.failures_by_gfp[SIM_GFP_POOL] == 1,
	       "pool: counted (%lu allocs, %lu failures)", st.pool_allocs,
	       st.failures_by_gfp[SIM_GFP_POOL]);
	TAP_EQ(check_count(INV_NO_ALLOC_ATOMIC), 0, "pool: POOL allocations under a lock are allowed");
	sim_fini();
}

static uintptr_t page_of(const void *p)
{
	return (uintptr_t)p & ~(uintptr_t)(KENV_PAGE_SIZE - 1);
}

static uintptr_t offset_in_page_of(const void *p)
{
	return (uintptr_t)p & (KENV_PAGE_SIZE - 1);
}

/*
 * vmalloc objects start at a cache colour of their first page, 64-byte
 * aligned, inside the range; one that fills its range starts at its start.
 */
static void test_vmalloc_colour(void)
{
	bool seen[KENV_PAGE_SIZE / 64] = { false };
	unsigned int colours = 0, inside = 0;
	char *v[64], *full, *again;
	unsigned long before;

	setup(0, 0, 0);
	check_set_quiet(true);
	for (unsigned int i = 0; i < 64; i++) {
		uintptr_t off;

		v[i] = sim_obj_alloc(64, true);
		off = offset_in_page_of(v[i]);
		memset(v[i], 1, 64);
		inside += off % 64 == 0 && off + 64 <= KENV_PAGE_SIZE;
		colours += !seen[off / 64];
		seen[off / 64] = true;
	}
	TAP_EQ(inside, 64, "vmalloc colour: 64-byte aligned, inside the object's page");
	TAP_EQ(colours, 64, "vmalloc colour: 64 objects on consecutive pages start at 64 colours");
	full = sim_obj_alloc(KENV_PAGE_SIZE, true);
	memset(full, 1, KENV_PAGE_SIZE);
	TAP_EQ(offset_in_page_of(full), 0, "vmalloc colour: an object filling its page starts there");

	before = check_count(INV_EXACTLY_ONCE);
	kenv_vfree(v[5] + 64);
	TAP_OK(check_count(INV_EXACTLY_ONCE) > before && sim_obj_live(v[5]),
	       "vmalloc colour: a vfree() of a pointer into an object is reported; it stays live");
	kenv_vfree(v[5]);
	again = sim_obj_alloc(64, true);
	TAP_OK(again == v[5], "vmalloc colour: a reused range gives the same start");
	check_set_quiet(false);
	sim_fini();
}

static void test_objects(void)
{
	void *s, *v, *big;
	void *bulk[3];
	unsigned long before;

	setup(0, 0, 0);
	/* Objects freed here were never queued: the checker says so, quietly. */
	check_set_quiet(true);
	s = sim_obj_alloc(32, false);
	v = sim_obj_alloc(10000, true);
	big = sim_obj_alloc(1 << 20, true);
	TAP_OK(!kenv_is_vmalloc_addr(s) && kenv_is_vmalloc_addr(v) && kenv_is_vmalloc_addr(big),
	       "objects: vmalloc objects are recognised by address");
	memset(v, 1, 10000);
	TAP_OK(sim_obj_live(s) && sim_obj_live(v), "objects: live after allocation");
	kenv_vfree(v);
	TAP_OK(!sim_obj_live(v), "objects: vfree'd object no longer live");
	TAP_OK(page_of(sim_obj_alloc(9000, true)) == page_of(v),
	       "objects: a freed vmalloc range is reused by size");
	bulk[0] = sim_obj_alloc(8, false);
	bulk[1] = sim_obj_alloc(8, false);
	bulk[2] = sim_obj_alloc(8, false);
	kenv_kfree_bulk(3, bulk);
	TAP_OK(!sim_obj_live(bulk[0]) && !sim_obj_live(bulk[2]), "objects: kfree_bulk freed them");

	before = check_count(INV_EXACTLY_ONCE);
	kenv_kfree(bulk[1]);
	TAP_OK(check_count(INV_EXACTLY_ONCE) > before, "objects: a double free is reported (%lu > %lu)",
	       check_count(INV_EXACTLY_ONCE), before);
	check_set_quiet(false);
	sim_fini();

	setup(0, 0, 0);
	s = sim_obj_alloc(16, false);
	TAP_OK(kenv_debug_obj_queue(s), "debug objects: first queue accepted");
	TAP_OK(!kenv_debug_obj_queue(s), "debug objects: second queue refused");
	kenv_debug_obj_unqueue(s);
	TAP_OK(kenv_debug_obj_queue(s), "debug objects: queue again after unqueue");
	kenv_debug_obj_unqueue(s);
	check_set_quiet(true);
	kenv_debug_obj_unqueue(s);
	check_set_quiet(false);
	TAP_EQ(check_count(INV_EXACTLY_ONCE), 1, "debug objects: an unqueue of an unqueued object is reported");
	/* s stays allocated: sim_fini() gives it back. */
	sim_fini();
}

int main(void)
{
	check_set_mode(CHECK_RECORD);
	test_pages();
	test_limit();
	test_pool();
	test_objects();
	test_vmalloc_colour();
	return tap_done();
}
