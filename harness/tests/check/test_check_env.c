/* SPDX-License-Identifier: MIT */
/*
 * test_check_env.c - the rules on environment events (check_env.c): each
 * hook fires with its invariant on the broken event and stays quiet on the
 * correct one beside it.  Runs in CHECK_RECORD mode against the fake
 * environment; each case starts from check_reset().
 */
#include <string.h>

#include "check.h"
#include "fake_env.h"

static char objs[4][64];
static struct check_task irq_task;
static struct kenv_lock lock_a;

static void setup(void)
{
	fake_ctx_default();
	fake_impl_reset();
	memset(&irq_task, 0, sizeof(irq_task));
	irq_task.name = "cpu0/hardirq";
	lock_a = (struct kenv_lock){ .name = "test.a" };
	check_set_mode(CHECK_RECORD);
	check_set_quiet(true);
	check_set_capacity(256);
	check_set_repro("kvtorture stress --seed 1");
	check_reset();
}

static const char *inv_or_none(enum check_inv inv)
{
	return inv == INV_NR ? "no violation" : check_inv_name(inv);
}

/* Exactly @times violations of @inv (0: none at all), the first containing @needle. */
static void expect(const char *name, enum check_inv inv, unsigned long times, const char *needle)
{
	const char *report = "";
	enum check_inv got = check_violated(&report);
	bool ok = times ? got == inv && (!needle || strstr(report, needle)) : got == INV_NR;

	for (unsigned int i = 0; i < INV_NR; i++) {
		unsigned long want = times && i == (unsigned int)inv ? times : 0;

		if (check_count((enum check_inv)i) != want)
			ok = false;
	}
	tap_ok(ok, "%s: %s", name, times ? inv_or_none(inv) : "no violation");
	if (!ok) {
		tap_diag("expected %lu x %s%s%s, got %s first", times, inv_or_none(inv),
			 needle ? " with " : "", needle ? needle : "", inv_or_none(got));
		tap_diag("%s", report ? report : "");
	}
}

static void test_page_alloc_failed(void)
{
	setup();
	check_page_alloc_failed(KENV_GFP_KERNEL, "injected");
	expect("BOUNDED: a KERNEL page allocation without NORETRY/NOMEMALLOC fails",
	       INV_BOUNDED, 1, "OOM");

	setup();
	check_page_alloc_failed(KENV_GFP_KERNEL | KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC, "injected");
	check_page_alloc_failed(KENV_GFP_KERNEL | KENV_GFP_NOMEMALLOC, "page limit");
	check_page_alloc_failed(KENV_GFP_NOWAIT | KENV_GFP_NOWARN, "injected");
	check_page_alloc_failed(KENV_GFP_POOL, "pool empty");
	expect("BOUNDED: NORETRY, NOMEMALLOC, NOWAIT and POOL allocations may fail", INV_NR, 0,
	       NULL);
}

static void test_mem_release(void)
{
	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	check_mem_release(objs[0], "kfree");
	check_lock_release(&lock_a);
	expect("NO-ALLOC-ATOMIC: memory given back under a raw lock", INV_NO_ALLOC_ATOMIC, 1,
	       "under raw lock test.a");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	check_lock_release(&lock_a);
	check_mem_release(objs[0], "kfree_bulk");
	check_mem_release(NULL, "kenv_page_free");
	expect("NO-ALLOC-ATOMIC: memory given back after the unlock", INV_NR, 0, NULL);
}

static void test_debug_objects(void)
{
	setup();
	check_debug_obj_not_queued(objs[0]);
	expect("EXACTLY-ONCE: debug-objects unqueue of an object not queued", INV_EXACTLY_ONCE,
	       1, "which is not queued");

	setup();
	check_debug_obj_freed_queued(objs[1], "kfree");
	expect("EXACTLY-ONCE: freed while debug objects still has it queued", INV_EXACTLY_ONCE,
	       1, "still has it queued");
}

static void test_obj_stale(void)
{
	setup();
	check_obj_stale(objs[2], "reader", "its memory was reused: generation %llu, reached as %llu",
			7ULL, 5ULL);
	expect("GP-SAFETY: a reader finds an object stale", INV_GP_SAFETY, 1,
	       "generation 7, reached as 5");
}

static void test_lock_self_deadlock(void)
{
	/* Only the environment saw the holder: the hook reports it. */
	setup();
	check_lock_self_deadlock(&lock_a, "cpu0/task");
	expect("LOCKING: the environment finds its own thread holding the lock", INV_LOCKING, 1,
	       "self-deadlock");

	/* The lock checker tracked the holder: check_lock_acquire reports it, once. */
	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	fake_ctx()->ctx = KENV_CTX_HARDIRQ;
	fake_ctx()->task = &irq_task;
	check_lock_self_deadlock(&lock_a, "cpu0/task");
	check_lock_acquire(&lock_a);
	expect("LOCKING: a self-deadlock the lock checker saw too is reported once", INV_LOCKING,
	       1, "which this context interrupted");
}

static void test_unmatched_enable(void)
{
	setup();
	check_unmatched_enable("preempt_enable");
	expect("LOCKING: preempt_enable without a matching disable", INV_LOCKING, 1,
	       "preempt_enable without a matching disable");

	setup();
	check_unmatched_enable("rcu_read_unlock");
	check_unmatched_enable("local_bh_enable");
	expect("LOCKING: every unmatched enable is counted", INV_LOCKING, 2, "rcu_read_unlock");
}

int main(void)
{
	test_page_alloc_failed();
	test_mem_release();
	test_debug_objects();
	test_obj_stale();
	test_lock_self_deadlock();
	test_unmatched_enable();
	return tap_done();
}
