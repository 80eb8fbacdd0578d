/* SPDX-License-Identifier: MIT */
/*
 * test_check_invariants.c - every checker fires on a broken sequence (one
 * negative test per invariant ID, and per way it can break, the hooks through
 * which the environments report what they observe included) and stays quiet
 * on the correct sequence next to it.  Runs in CHECK_RECORD mode against the fake
 * environment; each case starts from check_reset().
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "check_internal.h"
#include "fake_env.h"

static char objs[64][64];
static struct check_task irq_task, nmi_task, other_task;
static struct kenv_lock lock_a, lock_b, lock_c, lock_cpu[2];
static struct kenv_lock many_locks[CHECK_MAX_HELD + 1];
static char page0[64], page1[64];

static void setup(void)
{
	fake_ctx_default();
	fake_impl_reset();
	memset(&irq_task, 0, sizeof(irq_task));
	memset(&nmi_task, 0, sizeof(nmi_task));
	memset(&other_task, 0, sizeof(other_task));
	irq_task.name = "cpu0/hardirq";
	nmi_task.name = "cpu0/nmi";
	other_task.name = "cpu1/task";
	lock_a = (struct kenv_lock){ .name = "test.a" };
	lock_b = (struct kenv_lock){ .name = "test.b" };
	lock_c = (struct kenv_lock){ .name = "test.c" };
	lock_cpu[0] = (struct kenv_lock){ .name = "krc.lock" };
	lock_cpu[1] = (struct kenv_lock){ .name = "krc.lock" };
	for (unsigned int i = 0; i <= CHECK_MAX_HELD; i++)
		many_locks[i] = (struct kenv_lock){ .name = "test.many" };
	check_set_mode(CHECK_RECORD);
	check_set_quiet(true);
	check_set_capacity(256);
	check_set_repro("kvtorture replay corpus/test.kvt");
	check_reset();
}

static const char *inv_or_none(enum check_inv inv)
{
	return inv == INV_NR ? "no violation" : check_inv_name(inv);
}

/*
 * The run's first violation is @inv, its report contains @needle (if given),
 * and no other invariant fired: each checker is precise as well as sensitive.
 */
static void expect_only(const char *name, enum check_inv inv, const char *needle)
{
	const char *report;
	enum check_inv got = check_violated(&report);
	bool ok = got == inv && (!needle || strstr(report, needle));

	for (unsigned int i = 0; i < INV_NR; i++) {
		if (i != (unsigned int)inv && check_count((enum check_inv)i))
			ok = false;
	}
	tap_ok(ok, "%s: %s", name, inv_or_none(inv));
	if (!ok) {
		tap_diag("expected %s%s%s, got %s", inv_or_none(inv), needle ? " with " : "",
			 needle ? needle : "", inv_or_none(got));
		for (unsigned int i = 0; i < INV_NR; i++) {
			if (check_count((enum check_inv)i))
				tap_diag("  %s fired %lu time(s)",
					 check_inv_name((enum check_inv)i),
					 check_count((enum check_inv)i));
		}
		tap_diag("%s", report);
	}
}

static void expect_clean(const char *name)
{
	expect_only(name, INV_NR, NULL);
}

static void gp(void)
{
	check_gp_started();
	check_gp_ended();
}

/* new, queued (two-argument, task context on cpu 0), call returned */
static void queue(const void *o, int cpu)
{
	check_obj_new(o, 32, false);
	check_obj_queued(o, cpu, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	check_obj_queue_returned(o);
}

/* An object of the given kind queued, a grace period, then freed by @how. */
static void queue_gp_free(const void *o, bool vmalloc, const char *how)
{
	check_obj_new(o, 32, vmalloc);
	check_obj_queued(o, 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	gp();
	check_obj_freed(o, how);
}

static void enter(enum kenv_ctx ctx, struct check_task *t, int cpu, bool irqs_off)
{
	struct fake_ctx *f = fake_ctx();

	f->ctx = ctx;
	f->task = t;
	f->cpu = cpu;
	f->irqs_off = irqs_off;
}

/* ---- GP-SAFETY ----------------------------------------------------------- */

static void test_gp_safety(void)
{
	setup();
	queue(objs[0], 0);
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("GP-SAFETY: freed with no grace period", INV_GP_SAFETY,
		    "needs gp_ended >= 1");

	setup();
	queue(objs[0], 0);
	check_gp_started();
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("GP-SAFETY: freed while the first grace period is in progress",
		    INV_GP_SAFETY, "freed by kfree_bulk after gp_ended=0");

	setup();
	check_gp_started();
	queue(objs[0], 0);
	check_gp_ended();
	check_obj_freed(objs[0], "kfree");
	expect_only("GP-SAFETY: a grace period in progress at queue time does not count",
		    INV_GP_SAFETY, "already in progress");

	setup();
	check_gp_started();
	queue(objs[0], 0);
	check_gp_ended();
	gp();
	check_obj_freed(objs[0], "kfree");
	expect_clean("GP-SAFETY: freed after a full grace period that began after the queue");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_publish(objs[0]);
	check_reader_begin(7);
	check_reader_deref(7, objs[0]);
	check_obj_unpublish(objs[0]);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	gp();	/* a lying RCU: the reader is still inside */
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("GP-SAFETY: freed while a reader that reached it is inside",
		    INV_GP_SAFETY, "reader 7 dereferenced it");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_publish(objs[0]);
	check_reader_begin(3);
	check_obj_unpublish(objs[0]);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("GP-SAFETY: freed while an older reader is inside", INV_GP_SAFETY,
		    "reader 3");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_publish(objs[0]);
	check_obj_unpublish(objs[0]);
	check_reader_begin(3);	/* began after the unpublish: cannot reach it */
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_reader_end(3);
	expect_clean("GP-SAFETY: a reader that began after the unpublish does not matter");

	setup();
	queue(objs[0], 0);
	gp();
	check_obj_freed(objs[0], "kfree");
	check_reader_begin(4);
	check_reader_deref(4, objs[0]);
	expect_only("GP-SAFETY: a reader reached a freed object", INV_GP_SAFETY,
		    "reached the object");
}

/* ---- EXACTLY-ONCE -------------------------------------------------------- */

static void test_exactly_once(void)
{
	setup();
	queue(objs[0], 0);
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("EXACTLY-ONCE: double free", INV_EXACTLY_ONCE, "freed 2 times");

	setup();
	queue(objs[0], 0);
	queue(objs[1], 1);
	gp();
	check_obj_freed(objs[0], "kfree");
	fake_stats[1].pending[KVFREE_CH_SLAB] = 1;	/* the implementation agrees it holds it */
	fake_stats[1].monitor_armed = true;
	tap_ok(!check_final(), "EXACTLY-ONCE: check_final() returns false on a lost object");
	expect_only("EXACTLY-ONCE: lost object", INV_EXACTLY_ONCE, "never freed");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_freed(objs[0], "kfree");
	expect_only("EXACTLY-ONCE: freed without being queued", INV_EXACTLY_ONCE,
		    "never queued");

	setup();
	queue_gp_free(objs[0], true, "kfree_bulk");
	expect_only("EXACTLY-ONCE: a vmalloc object freed by the slab channel",
		    INV_EXACTLY_ONCE, "wrong channel");

	setup();
	queue(objs[0], 0);
	check_obj_new(objs[0], 32, false);
	expect_only("EXACTLY-ONCE: memory reused while still queued", INV_EXACTLY_ONCE,
		    "still queued");

	setup();
	queue(objs[0], 0);
	queue(objs[1], 2);
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_obj_freed(objs[1], "kfree_bulk");
	check_obj_new(objs[0], 32, false);	/* reuse after free */
	queue(objs[0], 1);
	gp();
	check_obj_freed(objs[0], "kfree");
	tap_ok(check_final(), "EXACTLY-ONCE: check_final() passes when everything was freed once");
	expect_clean("EXACTLY-ONCE: free, reuse, free again");
}

/* ---- BARRIER ------------------------------------------------------------- */

static void test_barrier(void)
{
	setup();
	queue(objs[0], 0);
	check_barrier_begin();
	gp();
	check_barrier_end();
	expect_only("BARRIER: returned with an older object unfreed", INV_BARRIER,
		    "are not freed");

	setup();
	queue(objs[0], 0);
	check_barrier_begin();
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_barrier_end();
	expect_clean("BARRIER: everything older freed before it returned");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	check_barrier_begin();	/* the call has not returned: not covered */
	check_obj_queue_returned(objs[0]);
	check_barrier_end();
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	expect_clean("BARRIER: a call still in progress at barrier entry is not covered");

	/*
	 * The oldest object's call returns after the barrier began: it is not
	 * covered, but a younger one whose call returned before is; one queued
	 * after the barrier began is not.
	 */
	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	queue(objs[1], 0);
	check_barrier_begin();
	check_obj_queue_returned(objs[0]);
	queue(objs[2], 1);
	gp();
	check_barrier_end();
	expect_only("BARRIER: a covered object behind one whose call returned late", INV_BARRIER,
		    "1 object(s) whose kvfree_rcu() returned before");

	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	check_obj_queue_returned(objs[0]);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "in_nmi()", objs[0], "x.c", 1, "f");
	check_barrier_begin();
	check_barrier_end();
	expect_clean("BARRIER: a refused object is not waited for");
}

/* ---- NO-ALLOC-ATOMIC ----------------------------------------------------- */

static void test_no_alloc_atomic(void)
{
	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[0]);
	check_alloc(KENV_GFP_NOWAIT, "add_ptr_to_bulk_krc_lock");
	check_lock_release(&lock_cpu[0]);
	expect_only("NO-ALLOC-ATOMIC: NOWAIT allocation under the raw krc lock",
		    INV_NO_ALLOC_ATOMIC, "under raw lock krc.lock");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[0]);
	check_alloc(KENV_GFP_POOL, "add_ptr_to_bulk_krc_lock");
	check_lock_release(&lock_cpu[0]);
	expect_clean("NO-ALLOC-ATOMIC: POOL allocation under the raw lock is accepted");

	setup();
	fake_ctx()->irqs_off = true;
	check_alloc(KENV_GFP_NOWAIT, "site");
	expect_only("NO-ALLOC-ATOMIC: allocation with irqs disabled", INV_NO_ALLOC_ATOMIC,
		    "with irqs disabled");

	setup();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_alloc(KENV_GFP_NOWAIT, "site");
	expect_only("NO-ALLOC-ATOMIC: allocation in hardirq", INV_NO_ALLOC_ATOMIC,
		    "in hardirq context");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, false);
	check_alloc(KENV_GFP_NOWAIT, "site");
	expect_only("NO-ALLOC-ATOMIC: allocation in NMI", INV_NO_ALLOC_ATOMIC,
		    "in NMI context");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, false);
	check_alloc(KENV_GFP_POOL, "site");
	expect_only("NO-ALLOC-ATOMIC: even the pool is not NMI-safe", INV_NO_ALLOC_ATOMIC,
		    "in NMI context");

	setup();
	enter(KENV_CTX_SOFTIRQ, &irq_task, 0, false);
	check_alloc(KENV_GFP_KERNEL | KENV_GFP_NORETRY, "refill");
	expect_only("NO-ALLOC-ATOMIC: GFP_KERNEL in softirq", INV_NO_ALLOC_ATOMIC,
		    "in softirq context");

	setup();
	enter(KENV_CTX_SOFTIRQ, &irq_task, 0, false);
	check_alloc(KENV_GFP_NOWAIT, "watermark refill");
	expect_clean("NO-ALLOC-ATOMIC: NOWAIT in softirq with irqs on is accepted");

	setup();
	fake_ctx()->preempt_off = true;
	check_alloc(KENV_GFP_KERNEL, "refill");
	expect_only("NO-ALLOC-ATOMIC: GFP_KERNEL with preemption disabled",
		    INV_NO_ALLOC_ATOMIC, "non-preemptible");

	setup();
	check_alloc(KENV_GFP_KERNEL | KENV_GFP_NORETRY | KENV_GFP_NOMEMALLOC, "refill worker");
	check_might_sleep("kvfree_rcu_barrier");
	expect_clean("NO-ALLOC-ATOMIC: GFP_KERNEL and might_sleep in a preemptible task");

	setup();
	fake_ctx()->preempt_off = true;
	check_might_sleep("synchronize_rcu");
	expect_only("NO-ALLOC-ATOMIC: might_sleep while not preemptible",
		    INV_NO_ALLOC_ATOMIC, "synchronize_rcu may sleep");
}

/* ---- LOCKING ------------------------------------------------------------- */

static void test_locking(void)
{
	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	check_lock_acquire(&lock_a);
	expect_only("LOCKING: the same context takes a lock twice", INV_LOCKING,
		    "this very context");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[0]);
	enter(KENV_CTX_NMI, &nmi_task, 0, true);
	tap_ok(check_lock_would_deadlock(&lock_cpu[0]),
	       "LOCKING: check_lock_would_deadlock() sees the interrupted holder");
	check_lock_acquire(&lock_cpu[0]);
	expect_only("LOCKING: an NMI re-enters a held lock", INV_LOCKING,
		    "which this context interrupted");

	setup();
	check_lock_acquire(&lock_cpu[0]);	/* cpu0's task, irqs on */
	enter(KENV_CTX_TASK, &other_task, 1, true);	/* another CPU's coroutine, same thread */
	tap_ok(!check_lock_would_deadlock(&lock_cpu[0]),
	       "LOCKING: a holder on another CPU is contention, not deadlock");
	check_lock_acquire(&lock_cpu[0]);
	check_lock_release(&lock_cpu[0]);
	expect_clean("LOCKING: the same lock wanted from another CPU");

	setup();
	check_lock_release(&lock_a);
	expect_only("LOCKING: release of a lock not held", INV_LOCKING, "does not hold it");

	setup();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, false);
	check_lock_acquire(&lock_a);
	check_lock_release(&lock_a);
	expect_only("LOCKING: taken in hardirq with irqs enabled", INV_LOCKING,
		    "hardirq context with irqs enabled");

	setup();
	check_lock_acquire(&lock_cpu[0]);	/* task, irqs on */
	check_lock_release(&lock_cpu[0]);
	enter(KENV_CTX_HARDIRQ, &irq_task, 1, true);
	check_lock_acquire(&lock_cpu[1]);	/* same class, another instance */
	check_lock_release(&lock_cpu[1]);
	expect_only("LOCKING: irq-unsafe lock (hardirq and irqs-on users)", INV_LOCKING,
		    "irq-unsafe lock krc.lock");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[0]);
	check_lock_release(&lock_cpu[0]);
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_lock_acquire(&lock_cpu[0]);
	check_lock_release(&lock_cpu[0]);
	expect_clean("LOCKING: irq-safe use (irqs off everywhere)");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	check_lock_acquire(&lock_b);
	check_lock_release(&lock_b);
	check_lock_release(&lock_a);
	check_lock_acquire(&lock_b);
	check_lock_acquire(&lock_c);
	check_lock_release(&lock_c);
	check_lock_release(&lock_b);
	expect_clean("LOCKING: a consistent order a -> b -> c");
	check_lock_acquire(&lock_b);
	check_lock_acquire(&lock_a);
	expect_only("LOCKING: order inversion", INV_LOCKING, "lock order inversion");

	setup();
	fake_ctx()->irqs_off = true;
	for (unsigned int i = 0; i <= CHECK_MAX_HELD; i++)
		check_lock_acquire(&many_locks[i]);
	expect_only("LOCKING: more than CHECK_MAX_HELD held", INV_LOCKING, "at most 8");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, true);
	check_lock_acquire(&lock_a);
	check_lock_release(&lock_a);
	expect_only("LOCKING: a raw lock in NMI context", INV_LOCKING, "NMI context");
}

/* ---- PROGRESS, BOUNDED, ACCOUNTING --------------------------------------- */

static void test_progress(void)
{
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	tap_ok(!check_progress(0, 1000), "PROGRESS: check_progress() returns false");
	expect_only("PROGRESS: pending objects, no monitor armed, no batch busy", INV_PROGRESS,
		    "monitor is not armed");

	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	fake_stats[1].monitor_armed = true;
	tap_ok(check_progress(0, 1000), "PROGRESS: check_progress() returns true");
	expect_clean("PROGRESS: pending objects with the monitor armed");

	setup();
	fake_stats[1].refill_in_progress = true;
	check_progress(0, 1000);
	expect_only("PROGRESS: a page-cache refill in progress that nothing will run",
		    INV_PROGRESS, "refill is in progress but nothing will run it");

	setup();
	fake_stats[1].refill_in_progress = true;
	fake_stats[1].refill_pending = true;
	tap_ok(check_progress(0, 1000), "PROGRESS: a refill in progress with its timer armed");
	expect_clean("PROGRESS: a refill in progress that something will run");

	setup();
	queue(objs[0], 0);
	fake_stats[0].in_flight = 1;
	fake_stats[0].batch_busy[1] = true;
	gp();
	gp();
	check_progress(10000, 1000);
	expect_only("PROGRESS: reclaim latency beyond the bound while GPs progressed",
		    INV_PROGRESS, "grace periods progressed but reclaim did not");

	setup();
	queue(objs[0], 0);
	fake_stats[0].in_flight = 1;
	fake_stats[0].batch_busy[1] = true;
	gp();
	check_progress(10000, 1000);
	expect_clean("PROGRESS: a late object is not blamed while grace periods stall");
}

/*
 * A partial scan: cpu1's 6 objects cover nr_to_scan=4 (cpu0 holds nothing),
 * so cpu2 (3 objects, 2 cached pages) and cpu3 (nothing) must keep what they
 * held; cpu0 and cpu1 may lose anything.
 */
static void shrink_scan_before(struct check_shrink_before *b)
{
	setup();
	fake_stats[1].pending[KVFREE_CH_SLAB] = 6;
	fake_stats[2].pending[KVFREE_CH_LIST] = 3;
	fake_stats[2].cached_pages = 2;
	tap_ok(check_shrink_scan_begin(b), "BOUNDED: check_shrink_scan_begin() takes every CPU");
}

static void test_shrink_scan_stops(void)
{
	struct check_shrink_before b;

	shrink_scan_before(&b);
	fake_stats[1].pending[KVFREE_CH_SLAB] = 0;
	tap_ok(check_shrink_scan_end(&b, 4), "BOUNDED: check_shrink_scan_end() true");
	tap_ok(check_shrink_scan_end(&b, 6), "BOUNDED: a scan covered exactly by cpu1 stops there");
	fake_stats[2].cached_pages = 3;
	fake_stats[3].cached_pages = 1;
	tap_ok(check_shrink_scan_end(&b, 4), "BOUNDED: later CPUs' caches may grow (a refill)");
	expect_clean("BOUNDED: the scan stopped at the CPU that covered it");

	shrink_scan_before(&b);
	fake_stats[2].cached_pages = 0;
	tap_ok(!check_shrink_scan_end(&b, 4), "BOUNDED: check_shrink_scan_end() false");
	expect_only("BOUNDED: the scan drained a CPU past the one that covered it", INV_BOUNDED,
		    "(nr_to_scan=4) went on past cpu1, where the CPUs' objects and cached pages "
		    "(6) already covered it: cpu2 went from 3 pending and 2 cached page(s) to 3 "
		    "and 0");

	shrink_scan_before(&b);
	fake_stats[2].pending[KVFREE_CH_LIST] = 0;
	check_shrink_scan_end(&b, 4);
	expect_only("BOUNDED: the scan ran the monitor of a CPU past the one that covered it",
		    INV_BOUNDED, "cpu2 went from 3 pending and 2 cached page(s) to 0 and 2");

	shrink_scan_before(&b);
	fake_stats[2].pending[KVFREE_CH_LIST] = 0;
	fake_stats[2].cached_pages = 0;
	tap_ok(check_shrink_scan_end(&b, 11), "BOUNDED: a scan of more than all hold visits all");
	tap_ok(check_shrink_scan_end(&b, 9), "BOUNDED: ... as does one that only cpu2 covers");
	expect_clean("BOUNDED: a scan that needed every CPU");
}

static void test_bounded(void)
{
	setup();
	fake_stats[2].cached_pages = 6;
	tap_ok(!check_accounting(), "BOUNDED: check_accounting() returns false");
	expect_only("BOUNDED: page cache above its cap", INV_BOUNDED,
		    "caches 6 pages, more than cache_pages=5");

	setup();
	fake_stats[2].cached_pages = 5;
	fake_stats[2].bulk_pages = 6;
	tap_ok(check_accounting(), "BOUNDED: check_accounting() returns true");
	expect_clean("BOUNDED: cache at its cap, 6 partly used pages");

	setup();
	fake_stats[3].bulk_pages = 7;
	check_accounting();
	expect_only("BOUNDED: more bulk pages than the pending objects need", INV_BOUNDED,
		    "7 bulk pages for 0 bulk objects");

	setup();
	fake_stats[1].cached_pages = 1;
	fake_stats[1].backoff = true;
	fake_stats[0].backoff = true;
	fake_stats[2].backoff = true;
	fake_stats[3].backoff = true;
	tap_ok(!check_after_shrinker(), "BOUNDED: check_after_shrinker() returns false");
	expect_only("BOUNDED: a page cached after the shrinker", INV_BOUNDED,
		    "still caches 1 page");

	setup();
	tap_ok(!check_after_shrinker(), "BOUNDED: refill without backoff after the shrinker");
	expect_only("BOUNDED: no refill backoff after the shrinker", INV_BOUNDED,
		    "does not back off");

	test_shrink_scan_stops();
}

static void test_accounting(void)
{
	setup();
	queue(objs[0], 0);
	queue(objs[1], 0);
	fake_stats[0].pending[KVFREE_CH_SLAB] = 1;
	fake_stats[0].monitor_armed = true;
	check_accounting();
	expect_only("ACCOUNTING: the implementation counts fewer objects than were queued",
		    INV_ACCOUNTING, "holds 1 object(s)");

	setup();
	queue(objs[0], 0);
	queue(objs[1], 1);
	queue(objs[2], 1);
	fake_stats[0].pending[KVFREE_CH_SLAB] = 1;
	fake_stats[0].monitor_armed = true;
	fake_stats[3].in_flight = 2;	/* migrated and detached: only the total counts */
	fake_stats[3].batch_busy[0] = true;
	tap_ok(check_accounting(), "ACCOUNTING: check_accounting() returns true");
	expect_clean("ACCOUNTING: totals match");

	/*
	 * A counter that lost objects (B7) also makes the pages look too many
	 * for them: the first violation of the run names the counter.
	 */
	setup();
	for (int i = 0; i < 40; i++)
		queue(objs[i], 0);
	fake_stats[0].pending[KVFREE_CH_SLAB] = 8;
	fake_stats[0].bulk_pages = 10;
	fake_stats[0].monitor_armed = true;
	check_accounting();
	tap_ok(check_violated(NULL) == INV_ACCOUNTING && check_count(INV_BOUNDED) == 1,
	       "ACCOUNTING: a wrong counter is named before the page bound it skews");
}

/* ---- PER-CPU ------------------------------------------------------------- */

static void attach(const void *page, int cpu, struct kenv_lock *lock, bool hold)
{
	if (hold)
		check_lock_acquire(lock);
	check_page_owner(page, cpu, lock);
	if (hold)
		check_lock_release(lock);
}

static void test_per_cpu(void)
{
	setup();
	fake_ctx()->irqs_off = true;
	attach(page0, 0, &lock_cpu[0], true);
	attach(page0, 1, &lock_cpu[1], true);
	expect_only("PER-CPU: a page attached to two CPUs' krcs", INV_PER_CPU,
		    "while cpu0's krc still owns it");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[1]);	/* B9: re-locked this CPU's krc after migrating */
	check_page_owner(page0, 0, &lock_cpu[0]);
	check_lock_release(&lock_cpu[1]);
	expect_only("PER-CPU: a page attached without holding that CPU's krc lock",
		    INV_PER_CPU, "without holding its lock krc.lock");

	setup();
	fake_ctx()->irqs_off = true;
	attach(page0, 0, &lock_cpu[0], true);
	attach(page1, 0, &lock_cpu[1], true);
	expect_only("PER-CPU: a CPU's pages attached under two different locks", INV_PER_CPU,
		    "earlier pages of cpu0");

	setup();
	check_page_owner(page0, -1, NULL);
	expect_only("PER-CPU: releasing a page no krc owns", INV_PER_CPU, "no krc owned it");

	setup();
	fake_ctx()->irqs_off = true;
	attach(page0, 0, &lock_cpu[0], true);
	check_accounting();
	expect_only("PER-CPU: bulk_pages disagrees with the pages attached", INV_ACCOUNTING,
		    "bulk_pages=0 but 1 pages are attached");

	setup();
	fake_ctx()->irqs_off = true;
	attach(page0, 0, &lock_cpu[0], true);
	attach(page1, 1, &lock_cpu[1], true);
	attach(page0, -1, &lock_cpu[0], true);	/* offline adoption: release, then attach */
	attach(page0, 1, &lock_cpu[1], true);
	fake_stats[1].bulk_pages = 2;
	check_accounting();
	attach(page0, -1, NULL, false);
	attach(page1, -1, &lock_cpu[1], true);
	expect_clean("PER-CPU: attach, move between CPUs, release");
}

/* ---- HOTPLUG ------------------------------------------------------------- */

static void test_hotplug(void)
{
	setup();
	queue(objs[0], 2);
	check_cpu_offline(2);
	fake_stats[3].pending[KVFREE_CH_SLAB] = 1;	/* adopted by cpu3, then lost */
	fake_stats[3].monitor_armed = true;
	check_final();
	expect_only("HOTPLUG: an object of an offlined CPU never freed", INV_HOTPLUG,
		    "later went offline");

	setup();
	queue(objs[0], 2);
	check_cpu_offline(2);
	fake_stats[2].pending[KVFREE_CH_SLAB] = 1;
	fake_stats[2].monitor_armed = true;
	check_accounting();
	expect_only("HOTPLUG: an offline CPU still holds pending objects", INV_HOTPLUG,
		    "cpu2 is offline");

	setup();
	queue(objs[0], 2);
	check_cpu_offline(2);
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_cpu_online(2);
	tap_ok(check_final(), "HOTPLUG: check_final() passes");
	expect_clean("HOTPLUG: objects of an offlined CPU freed after a GP");
}

/* ---- a CPU id read where the task may migrate (LOCKING) ---------------- */

static void test_cpu_id_read(void)
{
	setup();
	check_cpu_id_read("krc_this_cpu_lock");
	expect_only("LOCKING: smp_processor_id() in a preemptible task", INV_LOCKING,
		    "krc_this_cpu_lock read its CPU id (cpu0) in preemptible task context");

	setup();
	fake_ctx()->irqs_off = true;
	check_cpu_id_read("irqs off");
	fake_ctx_default();
	fake_ctx()->preempt_off = true;
	check_cpu_id_read("preemption off");
	fake_ctx_default();
	fake_ctx()->ctx = KENV_CTX_KTHREAD;
	check_cpu_id_read("a kthread, bound to its CPU");
	enter(KENV_CTX_SOFTIRQ, &irq_task, 0, false);
	check_cpu_id_read("softirq");
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_cpu_id_read("hardirq");
	fake_ctx_default();
	check_lock_acquire(&lock_a);
	check_cpu_id_read("under a raw lock");
	check_lock_release(&lock_a);
	expect_clean("LOCKING: a CPU id read with irqs, preemption or bh off, under a lock, in a "
		     "kthread or an interrupt");
}

/* ---- the structural checks ------------------------------------------------ */

static char spage[4][64];

/* A page on @cpu's walk at @place, owned by @cpu, guard intact, capacity 4. */
static struct kvfree_rcu_page_view *walk_page(int cpu, const void *page,
					      enum kvfree_page_place place,
					      unsigned long records, void *const *recs)
{
	struct fake_walk_cpu *w = &fake_walk[cpu];
	struct kvfree_rcu_page_view *v = &w->pages[w->nr_pages++];

	*v = (struct kvfree_rcu_page_view){
		.page = page, .place = place,
		.ch = place == KVFREE_PAGE_CACHE ? KVFREE_CH_NR : KVFREE_CH_SLAB,
		.batch = place == KVFREE_PAGE_BATCH ? 0 : -1,
		.owner = place == KVFREE_PAGE_CACHE ? -1 : cpu, .records = records,
		.capacity = 4, .slots = 5, .guard = place == KVFREE_PAGE_CACHE ? -1 : 1,
		.recs = recs,
	};
	return v;
}

/*
 * cpu1: a krc page with objs[0..1] (queued), objs[2] on its list, a page in a
 * batch with objs[3], a cached page; every count agrees and the shadow owns
 * the two pages for cpu1.
 */
static void *recs01[2] = { objs[0], objs[1] };
static void *recs3[1] = { objs[3] };
static void *recs5[5] = { objs[0], objs[1], objs[7], objs[8], objs[9] };

/* Page 0 of cpu1 overfilled: five queued records where four fit. */
static void structure_overfilled(void)
{
	for (int i = 7; i < 10; i++)
		queue(objs[i], 1);
	fake_walk[1].pages[0].records = 5;
	fake_walk[1].pages[0].recs = recs5;
	fake_walk[1].s.count[KVFREE_CH_SLAB] = fake_walk[1].s.records[KVFREE_CH_SLAB] = 5;
}

static void structure_whole(void)
{
	struct fake_walk_cpu *w = &fake_walk[1];

	for (int i = 0; i < 4; i++)
		queue(objs[i], 1);
	fake_ctx()->irqs_off = true;
	attach(spage[0], 1, &fake_krc_lock[1], true);
	attach(spage[1], 1, &fake_krc_lock[1], true);
	fake_ctx()->irqs_off = false;
	walk_page(1, spage[0], KVFREE_PAGE_KRC, 2, recs01);
	walk_page(1, spage[1], KVFREE_PAGE_BATCH, 1, recs3);
	walk_page(1, spage[2], KVFREE_PAGE_CACHE, 0, NULL);
	w->list_objs[w->nr_list++] = objs[2];
	w->s.count[KVFREE_CH_SLAB] = w->s.records[KVFREE_CH_SLAB] = 2;
	w->s.count[KVFREE_CH_LIST] = w->s.records[KVFREE_CH_LIST] = 1;
	w->s.krc_pages = 1;
	w->s.batch_pages = 1;
	w->s.batch_records = 1;
	w->s.cached = w->s.cache_len = 1;
}

/* cpu1's krc lock taken and released (irqs off) with the structural checks' debug mode on. */
static void release_krc1_in_debug_mode(void)
{
	fake_ctx()->irqs_off = true;
	check_set_structure_at_unlock(true);
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
	check_set_structure_at_unlock(false);
}

/* A handler on cpu1 that takes and releases cpu1's krc lock, irqs off. */
static void handler_releases_krc1(int cpu)
{
	struct fake_ctx saved = *fake_ctx();

	(void)cpu;
	enter(KENV_CTX_HARDIRQ, &irq_task, 1, true);
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
	*fake_ctx() = saved;
}

/* The same, in the context that takes the snapshot (a posix signal handler's case). */
static void handler_in_same_context_releases_krc1(int cpu)
{
	(void)cpu;
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
}

/*
 * check_krc_snapshot()'s cases: cpu1's slab count wrong (3 against 2
 * records), snapshots taking the krc lock, @handler at its scheduling point,
 * the debug mode on.
 */
static void snapshot_case(void (*handler)(int cpu))
{
	setup();
	structure_whole();
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 3;
	fake_snapshot_locks = true;
	fake_snapshot_handler = handler;
	check_set_structure_at_unlock(true);
}

/* The debug mode off again, and cpu1's wrong count reported once. */
static void snapshot_case_walked(const char *name)
{
	check_set_structure_at_unlock(false);
	expect_only(name, INV_ACCOUNTING,
		    "cpu1's slab channel counts 3 object(s) but its krc holds 2");
}

/*
 * check_krc_snapshot(): the release of the krc lock a snapshot takes is no
 * point for the debug mode's walk; another context's release inside it is,
 * and so is the snapshotting context's next one.
 */
static void test_structure_snapshot(void)
{
	struct kvfree_rcu_cpu_stats st;

	snapshot_case(NULL);
	fake_stats[1].objs_freed = 7;
	tap_ok(check_krc_snapshot(1, &st) && st.objs_freed == 7,
	       "structure snapshot: check_krc_snapshot() answers as kvfree_rcu_snapshot()");
	expect_clean("structure snapshot: the snapshot's own release of the krc lock walks nothing");
	tap_ok(check_current()->reading_krc == 0,
	       "structure snapshot: the context's mark is cleared on return");
	tap_ok(!check_krc_snapshot(9, &st), "structure snapshot: no CPU 9, no snapshot");
	kvfree_rcu_snapshot(1, &st);
	snapshot_case_walked("ACCOUNTING: the same snapshot taken directly is walked at its release");

	snapshot_case(NULL);
	check_krc_snapshot(1, &st);
	release_krc1_in_debug_mode();
	snapshot_case_walked("ACCOUNTING: the snapshotting context's next release of the krc lock "
			     "is walked");

	snapshot_case(handler_releases_krc1);
	check_krc_snapshot(1, &st);
	snapshot_case_walked("ACCOUNTING: a handler's release of the krc lock inside a snapshot "
			     "is walked");

	snapshot_case(handler_in_same_context_releases_krc1);
	fake_ctx()->irqs_off = true;
	check_krc_snapshot(1, &st);
	snapshot_case_walked("ACCOUNTING: a handler in the snapshot's own context leaves one "
			     "release walked");

	snapshot_case(NULL);
	check_krc_snapshot(2, &st);
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
	snapshot_case_walked("ACCOUNTING: a snapshot of cpu2 leaves cpu1's releases walked");
}

static void test_structure(void)
{
	setup();
	structure_whole();
	tap_ok(check_structure(true), "structure: check_structure() returns true");
	expect_clean("structure: counters, pages, owners and objects agree");

	setup();
	structure_whole();
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 3;
	tap_ok(!check_structure(false), "structure: check_structure() returns false");
	expect_only("ACCOUNTING: a channel's count is not the records on its pages",
		    INV_ACCOUNTING, "cpu1's slab channel counts 3 object(s) but its krc holds 2 "
		    "(records on its pages)");

	setup();
	structure_whole();
	fake_walk[1].s.count[KVFREE_CH_LIST] = 0;
	check_structure(false);
	expect_only("ACCOUNTING: the list count is not the list's length", INV_ACCOUNTING,
		    "list channel counts 0 object(s) but its krc holds 1 (entries on its rcu_head");

	setup();
	structure_whole();
	fake_walk[1].s.per_channel_counts = false;
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 3;
	fake_walk[1].s.count[KVFREE_CH_LIST] = 0;
	check_structure(false);
	expect_clean("ACCOUNTING: one count for all channels, equal to their sum");
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 4;
	check_structure(false);
	expect_only("ACCOUNTING: one count for all channels, not their sum", INV_ACCOUNTING,
		    "cpu1 counts 4 pending object(s) but its krc holds 3");

	setup();
	structure_whole();
	fake_walk[1].s.cached = 2;
	check_structure(false);
	expect_only("ACCOUNTING: the cached-page count is not the cache list's length",
		    INV_ACCOUNTING, "cached-page count is 2 but its cache list holds 1 page(s)");

	setup();
	structure_whole();
	fake_walk[1].s.cached = fake_walk[1].s.cache_len = 6;
	check_structure(false);
	expect_only("BOUNDED: the cache list above its cap", INV_BOUNDED,
		    "cache list holds 6 page(s), more than its cap cache_pages=5");

	setup();
	structure_whole();
	structure_overfilled();
	check_structure(false);
	expect_only("BOUNDED: a page holds more records than its capacity", INV_BOUNDED,
		    "holds 5 records, more than its capacity 4");

	setup();
	structure_whole();
	fake_walk[1].pages[1].guard = 0;
	check_structure(false);
	expect_only("BOUNDED: the guard after a page's last slot overwritten", INV_BOUNDED,
		    "the guard word after the last slot of page");

	setup();
	structure_whole();
	fake_walk[1].pages[0].owner = 3;
	check_structure(false);
	expect_only("PER-CPU: a page names another CPU as its owner", INV_PER_CPU,
		    "on cpu1's krc (slab channel) says it belongs to cpu3");

	setup();
	structure_whole();
	fake_ctx()->irqs_off = true;
	attach(spage[0], -1, &fake_krc_lock[1], true);
	attach(spage[0], 2, &fake_krc_lock[2], true);
	check_structure(false);
	expect_only("PER-CPU: a page on cpu1's krc owned by cpu2 per check_page_owner()",
		    INV_PER_CPU, "is owned by cpu2 per check_page_owner()");

	setup();
	structure_whole();
	fake_ctx()->irqs_off = true;
	attach(spage[1], -1, &fake_krc_lock[1], true);
	check_structure(false);
	expect_only("PER-CPU: a page in a batch owned by no krc", INV_PER_CPU,
		    "is owned by no krc per check_page_owner()");

	setup();
	structure_whole();
	fake_ctx()->irqs_off = true;
	attach(spage[2], 1, &fake_krc_lock[1], true);
	check_structure(false);
	expect_only("PER-CPU: a cached page still attached to a krc", INV_PER_CPU,
		    "is in cpu1's page cache but still attached to cpu1's krc");

	setup();
	structure_whole();
	gp();
	check_obj_freed(objs[1], "kfree_bulk");
	check_structure(false);
	expect_only("EXACTLY-ONCE: a freed object still on a krc page", INV_EXACTLY_ONCE,
		    "was already freed at #");

	setup();
	structure_whole();
	check_obj_new(objs[5], 32, false);
	fake_walk[1].list_objs[0] = objs[5];
	check_structure(false);
	expect_only("EXACTLY-ONCE: an object never queued on the krc's list", INV_EXACTLY_ONCE,
		    "was never handed to kvfree_rcu()");

	setup();
	structure_whole();
	recs3[0] = objs[6];
	check_structure(false);
	recs3[0] = objs[3];
	expect_only("EXACTLY-ONCE: an unknown pointer in a batch", INV_EXACTLY_ONCE,
		    "is no object the checker knows queued");

	setup();
	structure_whole();
	fake_walk[1].s.offline = true;
	check_structure(false);
	expect_only("HOTPLUG: an offline CPU's krc still holds objects", INV_HOTPLUG,
		    "cpu1 is offline but its krc still holds 3 object(s) (slab 2, vmalloc 0, "
		    "list 1)");

	setup();
	structure_whole();
	fake_walk[1].s.offline = true;
	fake_walk[1].s.count[KVFREE_CH_SLAB] = fake_walk[1].s.records[KVFREE_CH_SLAB] = 0;
	fake_walk[1].s.count[KVFREE_CH_LIST] = fake_walk[1].s.records[KVFREE_CH_LIST] = 0;
	fake_walk[1].nr_pages = 0;
	fake_walk[1].nr_list = 0;
	fake_walk[1].s.cached = fake_walk[1].s.cache_len = 0;
	check_structure(false);
	expect_clean("HOTPLUG: an offline CPU whose krc is empty (its batches may still run)");

	setup();
	structure_whole();
	fake_walk[1].s.truncated = true;
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 9;
	check_structure(false);
	expect_clean("structure: a walk cut short at KVFREE_WALK_MAX compares no counts");

	/* The debug mode: at the krc lock's release, while it is still held. */
	setup();
	structure_whole();
	fake_walk[1].s.count[KVFREE_CH_SLAB] = 3;
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
	expect_clean("structure at unlock: off unless asked for");
	check_set_structure_at_unlock(true);
	check_lock_acquire(&lock_a);
	check_lock_release(&lock_a);
	expect_clean("structure at unlock: another lock's release walks nothing");
	check_lock_acquire(&fake_krc_lock[1]);
	check_lock_release(&fake_krc_lock[1]);
	check_set_structure_at_unlock(false);
	expect_only("ACCOUNTING: a count wrong when the krc lock is released", INV_ACCOUNTING,
		    "cpu1's slab channel counts 3 object(s) but its krc holds 2");

	setup();
	structure_whole();
	structure_overfilled();
	release_krc1_in_debug_mode();
	expect_only("BOUNDED: a page past its capacity when the krc lock is released",
		    INV_BOUNDED, "holds 5 records, more than its capacity 4");

	/*
	 * A release counts the first 16 entries of a krc's list, a lower bound
	 * for its count; between ops the whole list is counted.
	 */
	setup();
	structure_whole();
	fake_walk[1].s.count[KVFREE_CH_LIST] = fake_walk[1].s.records[KVFREE_CH_LIST] = 20;
	release_krc1_in_debug_mode();
	expect_clean("structure at unlock: a list of 20 counted as 20, of which 16 walked");

	setup();
	structure_whole();
	fake_walk[1].s.records[KVFREE_CH_LIST] = 20;
	fake_walk[1].s.count[KVFREE_CH_LIST] = 12;
	release_krc1_in_debug_mode();
	expect_only("ACCOUNTING: a long list counted short when the krc lock is released",
		    INV_ACCOUNTING, "list channel counts 12 object(s) but its krc holds at least 16");

	setup();
	structure_whole();
	fake_walk[1].s.records[KVFREE_CH_LIST] = 20;
	fake_walk[1].s.count[KVFREE_CH_LIST] = 25;
	release_krc1_in_debug_mode();
	expect_clean("structure at unlock: a long list counted long is left to the walk between ops");
	check_structure(false);
	expect_only("ACCOUNTING: ... which counts the whole list", INV_ACCOUNTING,
		    "list channel counts 25 object(s) but its krc holds 20");

	test_structure_snapshot();
}

/* ---- MISUSE -------------------------------------------------------------- */

static void test_misuse(void)
{
	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, false);
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	fake_ctx_default();
	check_final();
	expect_only("MISUSE: an NMI call refused without a warning", INV_MISUSE,
		    "refused NMI calls 1");

	setup();
	check_obj_new(objs[0], 32, false);
	enter(KENV_CTX_NMI, &nmi_task, 0, false);
	check_obj_queued(objs[0], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "kenv_in_nmi()", objs[0], "kvfree_rcu.c", 10,
		     "kvfree_call_rcu");
	fake_ctx_default();
	tap_ok(check_final(), "MISUSE: check_final() passes");
	expect_clean("MISUSE: an NMI call refused with one warning");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, false);
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "kenv_in_nmi()", objs[0], "x.c", 1, "f");
	fake_ctx_default();
	check_obj_freed(objs[0], "kfree");
	expect_only("MISUSE: a refused object must not be freed", INV_EXACTLY_ONCE,
		    "was refused");

	setup();
	queue(objs[0], 0);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_DOUBLE);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "!kenv_debug_obj_queue(ptr)", objs[0], "x.c",
		     2, "f");
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	tap_ok(check_final(), "MISUSE: check_final() passes for a detected double queue");
	expect_clean("MISUSE: a double queue detected, warned and leaked");

	setup();
	queue(objs[0], 0);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_DOUBLE);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "!kenv_debug_obj_queue(ptr)", objs[0], "x.c",
		     2, "f");
	gp();
	check_obj_freed(objs[0], "kfree_bulk");
	check_obj_freed(objs[0], "kfree_bulk");
	expect_only("MISUSE: a double queue freed twice", INV_EXACTLY_ONCE, "queued twice");

	setup();
	queue(objs[0], 0);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "!kenv_debug_obj_queue(ptr)", objs[0], "x.c",
		     2, "f");
	expect_only("MISUSE: a warning about an object nobody misused", INV_MISUSE,
		    "no call was expected to misuse");

	setup();
	fake_ctx()->preempt_off = true;
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, true, CHECK_EXPECT_FREE);
	check_obj_queue_returned(objs[0]);
	fake_ctx_default();
	gp();
	check_obj_freed(objs[0], "kfree");
	check_final();
	expect_only("MISUSE: a headless call from atomic context not reported", INV_MISUSE,
		    "headless calls from atomic context 1");
}

/* ---- the implementation's warnings, reports, trace, deferral ------------- */

static void test_warned_bug(void)
{
	setup();
	check_warned(KENV_WARN_BUG, "GP-SAFETY", "!kenv_poll_state_synchronize_rcu(snap)",
		     objs[0], "kvfree_rcu.c", 42, "kfree_rcu_work");
	expect_only("check_warned: a BUG warning is a violation of its invariant",
		    INV_GP_SAFETY, "kvfree_rcu.c:42");
}

/*
 * An rcu work the environment ran before its GP: the GP-SAFETY warning there
 * is expected, and what stays queued must be what the implementation leaked.
 */
static void test_rcu_work_early(void)
{
	setup();
	queue(objs[0], 0);
	queue(objs[1], 0);
	fake_ctx()->task->rcu_work_early = true;
	check_rcu_work_early();
	check_warned(KENV_WARN_BUG, "GP-SAFETY", "!poll_state_synchronize_rcu(bnode->gp_snap)",
		     objs[0], "kvfree_rcu.c", 42, "kvfree_rcu_bulk");
	fake_ctx()->task->rcu_work_early = false;
	expect_clean("GP-SAFETY: the warning in an rcu work run before its GP is its defence");
	gp();
	check_obj_freed(objs[1], "kfree");	/* on another batch: freed after its GP */
	fake_stats[0].objs_leaked = 1;
	tap_ok(check_final(), "EXACTLY-ONCE: an object leaked by the defence, counted");
	expect_clean("EXACTLY-ONCE: an object leaked by the defence, counted");

	setup();
	queue(objs[0], 0);
	fake_ctx()->task->rcu_work_early = true;
	check_rcu_work_early();
	fake_ctx()->task->rcu_work_early = false;
	fake_stats[0].monitor_armed = true;
	fake_stats[0].pending[KVFREE_CH_SLAB] = 1;
	tap_ok(!check_final(), "EXACTLY-ONCE: check_final() false on an uncounted leak");
	expect_only("EXACTLY-ONCE: still queued after an early rcu work, nothing leaked",
		    INV_EXACTLY_ONCE, "1 object(s) queued when an rcu work ran before its GP are "
		    "not freed, but the implementation counts 0 leaked");

	setup();
	queue(objs[0], 0);
	check_rcu_work_early();
	check_warned(KENV_WARN_BUG, "GP-SAFETY", "!poll_state_synchronize_rcu(bnode->gp_snap)",
		     objs[0], "kvfree_rcu.c", 42, "kvfree_rcu_bulk");
	expect_only("GP-SAFETY: the warning outside the early rcu work is a violation",
		    INV_GP_SAFETY, "kvfree_rcu.c:42");

	setup();
	queue(objs[0], 0);
	gp();
	check_obj_freed(objs[0], "kfree");
	fake_stats[0].objs_leaked = 1;
	check_accounting();
	expect_only("ACCOUNTING: a leak counted of an object that was freed",
		    INV_ACCOUNTING, "and leaked 1, but 0 are queued and not freed");
}

static void test_report_format(void)
{
	const char *report;

	setup();
	fake_ctx()->cpu = 1;
	fake_ctx()->task->name = "cpu1/task";
	fake_ctx()->task->last_site = "kfree_rcu_work";
	for (int i = 0; i < 40; i++)
		check_trace("event %d", i);
	queue(objs[0], 1);
	check_gp_started();
	check_obj_freed(objs[0], "kfree_bulk");
	check_violated(&report);
	tap_ok(strstr(report, "kvtorture: VIOLATION GP-SAFETY obj=0x") == report &&
	       strstr(report, " cpu=1 ctx=task task=cpu1/task\n") &&
	       strstr(report, "  last sched point: kfree_rcu_work\n") &&
	       strstr(report, "  last events:\n") && strstr(report, " event 39\n") &&
	       strstr(report, " event 8\n") && !strstr(report, " event 7\n") &&
	       strstr(report, "  reproduce: kvtorture replay corpus/test.kvt\n"),
	       "report: header, both sides, last 32 events and the reproducer");
	tap_diag("%s", report);
	check_fail(INV_BOUNDED, NULL, -1, "second %d", 2);
	tap_ok(check_violated(NULL) == INV_GP_SAFETY && check_count(INV_BOUNDED) == 1,
	       "report: check_violated() keeps the first; check_count() counts each");
}

static void test_trace_hash(void)
{
	uint64_t h1, h2, h3, h4;

	setup();
	check_trace("op %d on cpu%u: %s", 1, 2u, "queue");
	check_trace("op %d", 2);
	h1 = check_trace_hash();
	setup();
	check_trace("op %d on cpu%u: %s", 1, 2u, "queue");
	check_trace("op %d", 2);
	h2 = check_trace_hash();
	setup();
	check_trace("op %d on cpu%u: %s", 1, 2u, "queue");
	check_trace("op %d", 3);
	h3 = check_trace_hash();
	setup();
	check_trace("op %d on cpu%u: %s", 1, 2u, "queu");
	check_trace("eop %d", 2);
	h4 = check_trace_hash();
	tap_ok(h1 == h2, "trace: same events, same hash");
	/*
	 * Kinds and words, never addresses: the same value in every build
	 * (it changes only with the hash function or these two events).
	 */
	tap_ok(h1 == 0x638d1aac26113a6aull, "trace: the pinned hash (%016llx)",
	       (unsigned long long)h1);
	tap_ok(h1 != h3 && h1 != h4, "trace: different events or boundaries, different hash");
}

static void test_deferred(void)
{
	/*
	 * A handler that interrupts the checker while its thread is inside must
	 * not spin on the shadow lock: its operation is deferred and applied
	 * when the interrupted section ends.  Simulated by calling a hook while
	 * this thread holds the shadow lock.
	 */
	setup();
	check_obj_new(objs[0], 32, false);
	check_shadow_lock();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_obj_queued(objs[0], 0, KENV_CTX_HARDIRQ, false, CHECK_EXPECT_FREE);
	check_obj_freed(objs[0], "kfree");	/* before any GP: must be caught when applied */
	fake_ctx_default();
	tap_ok(check_violated(NULL) == INV_NR, "deferral: nothing applied while inside");
	check_shadow_unlock();
	expect_only("deferral: operations applied in order when the section ends",
		    INV_GP_SAFETY, "ctx=hardirq task=cpu0/hardirq");
}

static void test_capacity(void)
{
	/*
	 * 256 records, 2000 objects through them: freed records are forgotten
	 * when room is needed, and a run after reset starts empty (the index is
	 * emptied by generation, not by clearing it).
	 */
	static char many[2000][16];

	setup();
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2000; i++) {
			queue(many[i], i % 4);
			if (i % 100 == 99) {
				gp();
				for (int j = i - 99; j <= i; j++)
					check_obj_freed(many[j], "kfree_bulk");
			}
		}
		tap_ok(check_final(), "capacity: 2000 objects through 256 records, round %d",
		       round);
		check_reset();
	}
	queue(many[0], 0);
	check_obj_freed(NULL, "kfree");
	tap_ok(check_violated(NULL) == INV_NR, "capacity: a reset forgets the last run");
	check_obj_freed(many[0], "kfree");
	expect_only("capacity: checks still work after resets and compactions", INV_GP_SAFETY,
		    NULL);
}

/* ---- what the environments observe (check.h), one rule each ---------------- */

static void test_gp_safety_observed(void)
{
	setup();
	check_reader_found(2, 1, objs[0], CHECK_FOUND_FREED, "object #5");
	expect_only("GP-SAFETY: a reader still inside finds what it reached freed",
		    INV_GP_SAFETY, "reader 2 is still inside but object #5 it reached is freed");

	setup();
	check_reader_found(2, 1, objs[0], CHECK_FOUND_CORRUPT, NULL);
	expect_only("GP-SAFETY: a reader still inside finds what it reached overwritten",
		    INV_GP_SAFETY, "corrupt or reused");

	setup();
	check_reader_found(2, 1, objs[0], CHECK_FOUND_INTACT, "object #5");
	expect_clean("GP-SAFETY: a reader finds what it reached intact");
}

static void test_exactly_once_observed(void)
{
	setup();
	queue_gp_free(objs[0], false, "vfree");
	expect_only("EXACTLY-ONCE: a slab object freed by the vmalloc channel",
		    INV_EXACTLY_ONCE, "a slab object freed by vfree");

	setup();
	queue_gp_free(objs[0], true, "vfree");
	queue_gp_free(objs[1], false, "kfree");
	queue_gp_free(objs[2], false, "kfree_bulk");
	expect_clean("EXACTLY-ONCE: each object freed by its own channel's function");

	setup();
	check_obj_freed(objs[1], "kfree");
	expect_only("EXACTLY-ONCE: a foreign pointer freed", INV_EXACTLY_ONCE, "never queued");

	setup();
	check_page_freed(page0, false);
	expect_only("EXACTLY-ONCE: a page freed that the allocator does not have out",
		    INV_EXACTLY_ONCE, "page that is not allocated");

	setup();
	check_page_freed(page0, true);
	expect_clean("EXACTLY-ONCE: a page freed once");

	setup();
	check_debug_obj_unqueued(objs[0], false);
	expect_only("EXACTLY-ONCE: a debug object unqueued that is not queued",
		    INV_EXACTLY_ONCE, "unqueued but not queued");

	setup();
	check_debug_obj_unqueued(objs[0], true);
	expect_clean("EXACTLY-ONCE: a debug object unqueued once");

	setup();
	check_debug_obj_freed_queued(objs[1], "kfree");
	expect_only("EXACTLY-ONCE: an object freed while debug objects still has it queued",
		    INV_EXACTLY_ONCE, "still has it queued");
}

static void test_no_alloc_atomic_observed(void)
{
	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_cpu[0]);
	check_allocator_call("kenv_kfree", objs[0], 1);
	check_lock_release(&lock_cpu[0]);
	expect_only("NO-ALLOC-ATOMIC: a free under a raw lock", INV_NO_ALLOC_ATOMIC,
		    "kenv_kfree called with 1 raw locks held (innermost krc.lock)");

	setup();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_allocator_call("kenv_page_free", page0, 1);	/* the interrupted task holds it */
	expect_only("NO-ALLOC-ATOMIC: a free in an interrupt of a raw lock holder",
		    INV_NO_ALLOC_ATOMIC, "1 raw locks held (innermost unknown)");

	setup();
	check_allocator_call("kenv_vfree", objs[0], 0);
	expect_clean("NO-ALLOC-ATOMIC: a free with no raw lock held");
}

static void test_locking_observed(void)
{
	const struct check_cpu_state zero = { 0 };
	struct check_cpu_state entered = { .irqs_off = true, .preempt = 1 }, left;

	setup();
	left = (struct check_cpu_state){ .locks = 1, .preempt = 1 };
	tap_ok(!check_context_left("kvt-queue", 0, NULL, &left),
	       "LOCKING: check_context_left() returns false");
	expect_only("LOCKING: a task returned holding a raw lock", INV_LOCKING,
		    "kvt-queue returned with 1 raw locks held");

	setup();
	left = (struct check_cpu_state){ .irqs_off = true };
	check_context_left("a work item", 0, NULL, &left);
	expect_only("LOCKING: a work item returned with irqs off", INV_LOCKING,
		    "irqs off (entered on)");

	setup();
	tap_ok(check_context_left("kvt-queue", 0, NULL, &zero),
	       "LOCKING: check_context_left() returns true");
	expect_clean("LOCKING: a task returned with everything given back");

	setup();
	left = entered;
	left.rcu_nest = 1;
	check_context_left("hardirq handler", 0, &entered, &left);
	expect_only("LOCKING: a handler returned inside an RCU read-side section",
		    INV_LOCKING, "rcu nesting 1 (entered 0)");

	setup();
	left = entered;
	check_context_left("hardirq handler", 0, &entered, &left);
	expect_clean("LOCKING: a handler returned leaving the CPU as it found it");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, true);
	tap_ok(check_nmi_unsafe("kenv_call_rcu"), "LOCKING: check_nmi_unsafe() in NMI");
	expect_only("LOCKING: an NMI-unsafe call from NMI context", INV_LOCKING,
		    "kenv_call_rcu called from NMI context");

	setup();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	tap_ok(!check_nmi_unsafe("kenv_call_rcu"), "LOCKING: check_nmi_unsafe() in hardirq");
	expect_clean("LOCKING: an NMI-unsafe call from hardirq context");

	setup();
	enter(KENV_CTX_NMI, &nmi_task, 0, true);
	check_allocator_call("kenv_kfree", objs[0], 0);
	expect_only("LOCKING: a free from NMI context", INV_LOCKING,
		    "kenv_kfree called from NMI context");

	setup();
	check_nest_exit("kenv_preempt_enable", 0);
	expect_only("LOCKING: an enable without a disable", INV_LOCKING,
		    "kenv_preempt_enable without a matching disable");

	setup();
	check_nest_exit("kenv_rcu_read_unlock", 2);
	expect_clean("LOCKING: an unlock inside a read-side section");

	setup();
	enter(KENV_CTX_HARDIRQ, &irq_task, 0, true);
	check_bh_disable();
	expect_only("LOCKING: local_bh_disable in hardirq", INV_LOCKING,
		    "local_bh_disable from hardirq context");

	setup();
	enter(KENV_CTX_SOFTIRQ, &irq_task, 0, false);
	check_bh_disable();
	expect_clean("LOCKING: local_bh_disable in softirq");

	setup();
	check_lock_busy(&lock_a, 1);	/* held by a context no longer running */
	check_lock_acquire(&lock_a);
	expect_only("LOCKING: a lock held elsewhere that nothing can release", INV_LOCKING,
		    "test.a is already held (taken on cpu 1) and cannot be released");

	setup();
	fake_ctx()->irqs_off = true;
	check_lock_acquire(&lock_a);
	check_lock_busy(&lock_a, 0);
	check_lock_acquire(&lock_a);
	expect_only("LOCKING: a lock this context holds is reported once", INV_LOCKING,
		    "this very context");
	tap_ok(check_count(INV_LOCKING) == 1, "LOCKING: ... by check_lock_acquire() alone");
}

static void test_progress_observed(void)
{
	setup();
	check_stall_busy("the scheduler", NULL, -1, 200000, 5000);
	expect_only("PROGRESS: a scheduler that does not come to rest", INV_PROGRESS,
		    "livelock: the scheduler is still busy after 200000 steps");

	setup();
	check_stall_busy("the driver", "synchronize_rcu", 0, 7, 0);
	expect_only("PROGRESS: a driver wait that does not end", INV_PROGRESS,
		    "the driver waiting for synchronize_rcu is still busy");

	setup();
	check_stall_blocked("the driver", "rcu_barrier", 0, 0, "a reader blocks the grace period");
	expect_only("PROGRESS: a driver waits and nothing can run", INV_PROGRESS,
		    "the driver waits for rcu_barrier but nothing can run (a reader blocks");

	setup();
	check_stall_blocked("quiesce", NULL, -1, 3, NULL);
	expect_only("PROGRESS: contexts stay blocked with nothing to run", INV_PROGRESS,
		    "quiesce: 3 context(s) stay blocked");
}

static void test_bounded_observed(void)
{
	setup();
	check_alloc_failed(KENV_GFP_KERNEL | KENV_GFP_NOWARN, 1, "page limit");
	expect_only("BOUNDED: a failed GFP_KERNEL allocation is an OOM", INV_BOUNDED,
		    "OOM: a page allocation with gfp=KERNEL|NOWARN failed (page limit)");

	setup();
	check_alloc_failed(KENV_GFP_KERNEL | KENV_GFP_NORETRY, 1, NULL);
	check_alloc_failed(KENV_GFP_KERNEL | KENV_GFP_NOMEMALLOC, 1, NULL);
	check_alloc_failed(KENV_GFP_NOWAIT, 1, NULL);
	check_alloc_failed(KENV_GFP_POOL, 1, NULL);
	expect_clean("BOUNDED: NORETRY, NOMEMALLOC, NOWAIT and POOL failures are expected");
}

static bool answer_unchanged;

static bool unchanged(void *arg)
{
	(void)arg;
	return answer_unchanged;
}

/* structure_whole() with cpu1's snapshot agreeing: 2 slab records, 1 list object, 1 cached. */
static void structure_whole_snapshot(void)
{
	structure_whole();
	fake_stats[1].pending[KVFREE_CH_SLAB] = 2;
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	fake_stats[1].cached_pages = 1;
}

/* check_api_edges(): every call the API must refuse, and the racy snapshot. */
static void test_api_edges(void)
{
	static const struct {
		enum fake_edge_fault fault;
		const char *name, *expect;
	} cases[] = {
		{ FAKE_EDGE_OFFLINE_CHANGES, "offline of a CPU that does not exist changes state",
		  "cpu0's snapshot changed across calls that must be refused" },
		{ FAKE_EDGE_RACY_BAD_CPU, "racy snapshot of CPU -1 answers",
		  "kvfree_rcu_snapshot_racy() answered for CPU -1 or 64, which do not exist" },
		{ FAKE_EDGE_INIT_TAKES_BAD, "init while initialised takes a bad configuration",
		  "kvfree_rcu_init() took page_entries=1, below the minimum 2" },
		{ FAKE_EDGE_RACY_DIFFERS, "racy snapshot disagrees with the locked one at rest",
		  "cpu2's racy snapshot differs from its locked one at rest: pending 1 against 0" },
		{ FAKE_EDGE_WALK_BAD_CPU, "the structure walk answers for CPU -1",
		  "the structure walk answered for CPU -1, which does not exist" },
	};
	char name[128];

	setup();
	tap_ok(check_api_edges(2), "ACCOUNTING: the API's edges hold on a correct implementation");
	expect_clean("ACCOUNTING: the API's edges, correct implementation");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setup();
		fake_edge_fault = cases[i].fault;
		check_api_edges(2);
		snprintf(name, sizeof(name), "ACCOUNTING: %s", cases[i].name);
		expect_only(name, INV_ACCOUNTING, cases[i].expect);
	}

	/* A walk with a list callback alone, over a krc with a page and a list object. */
	setup();
	structure_whole_snapshot();
	tap_ok(check_api_edges(1), "ACCOUNTING: a walk with a list callback alone names the "
	       "list's objects");
	expect_clean("ACCOUNTING: a walk with a list callback alone, correct");

	setup();
	structure_whole_snapshot();
	fake_edge_fault = FAKE_EDGE_LIST_ONLY_MISSES;
	check_api_edges(1);
	expect_only("ACCOUNTING: a walk without a page callback skips the list's objects",
		    INV_ACCOUNTING, "cpu1's structure walk with a list callback alone named "
		    "0 list object(s) and counted 1 on 1 krc page(s); without callbacks it "
		    "counted 1 on 1");
}

/* check_after_exit(): after exit, no CPU is answered for. */
static void test_after_exit(void)
{
	setup();
	fake_impl_up = false;
	tap_ok(check_after_exit(), "ACCOUNTING: after exit, every CPU is refused");
	expect_clean("ACCOUNTING: after exit, correct implementation");

	setup();
	fake_impl_up = false;
	fake_edge_fault = FAKE_EDGE_ANSWERS_AFTER_EXIT;
	tap_ok(!check_after_exit(), "ACCOUNTING: check_after_exit() false");
	expect_only("ACCOUNTING: the snapshot answers after exit", INV_ACCOUNTING,
		    "after kvfree_rcu_exit(), cpu0's snapshot answered");
}

static void test_accounting_observed(void)
{
	setup();
	tap_ok(!check_shrink_count(0, NULL, NULL), "ACCOUNTING: check_shrink_count() false");
	expect_only("ACCOUNTING: the shrinker counts 0", INV_ACCOUNTING, "returned 0");

	setup();
	answer_unchanged = true;
	fake_stats[1].pending[KVFREE_CH_SLAB] = 3;
	fake_stats[2].cached_pages = 2;
	check_shrink_count(4, unchanged, NULL);
	expect_only("ACCOUNTING: the shrinker's count differs from the CPUs'", INV_ACCOUNTING,
		    "returned 4, but the CPUs hold 5");

	setup();
	answer_unchanged = true;
	fake_stats[1].pending[KVFREE_CH_SLAB] = 3;
	fake_stats[2].cached_pages = 2;
	tap_ok(check_shrink_count(5, unchanged, NULL), "ACCOUNTING: check_shrink_count() true");
	check_shrink_count(KVFREE_SHRINK_EMPTY, NULL, NULL);
	answer_unchanged = false;
	check_shrink_count(4, unchanged, NULL);	/* something ran since: not compared */
	fake_impl_reset();
	answer_unchanged = true;
	check_shrink_count(KVFREE_SHRINK_EMPTY, unchanged, NULL);
	expect_clean("ACCOUNTING: the shrinker's count matches, or cannot be compared");
}

int main(int argc, char **argv)
{
	/*
	 * --one-thread: the same tests with the checker's synchronization in
	 * its one-thread form (check_set_one_thread(), as the sim runs it).
	 */
	if (argc > 1 && strcmp(argv[1], "--one-thread") == 0)
		check_set_one_thread(true);
	test_gp_safety();
	test_gp_safety_observed();
	test_exactly_once();
	test_exactly_once_observed();
	test_barrier();
	test_no_alloc_atomic();
	test_no_alloc_atomic_observed();
	test_locking();
	test_locking_observed();
	test_progress();
	test_progress_observed();
	test_bounded();
	test_bounded_observed();
	test_accounting();
	test_accounting_observed();
	test_api_edges();
	test_after_exit();
	test_per_cpu();
	test_hotplug();
	test_cpu_id_read();
	test_structure();
	test_misuse();
	test_warned_bug();
	test_rcu_work_early();
	test_report_format();
	test_trace_hash();
	test_deferred();
	test_capacity();
	return tap_done();
}
