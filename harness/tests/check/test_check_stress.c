/* SPDX-License-Identifier: MIT */
/*
 * test_check_stress.c - the rules of check_stress.c (the online PROGRESS
 * monitor of a stress run, the MISUSE balance at a checkpoint) fire on a
 * broken sequence and stay quiet on the correct one next to it.  CHECK_RECORD
 * mode, against the fake environment and snapshot; each case starts from
 * check_reset().
 */
#include <string.h>

#include "check.h"
#include "fake_env.h"

#define MS 1000000ull

static char objs[8][64];
static struct check_progress_watch watch;

static void setup(void)
{
	fake_ctx_default();
	fake_impl_reset();
	check_set_mode(CHECK_RECORD);
	check_set_quiet(true);
	check_set_capacity(256);
	check_set_repro("kvtorture stress --seed 1");
	check_reset();
	memset(&watch, 0, sizeof(watch));
	watch.bound_ns = 1000 * MS;
	watch.persist_ns = 200 * MS;
}

/* The run's only violation is @inv (INV_NR: none), its report containing @needle. */
static void expect_only(const char *name, enum check_inv inv, const char *needle)
{
	const char *report = "";
	enum check_inv got = check_violated(&report);
	bool ok = got == inv && (!needle || (report && strstr(report, needle)));

	for (unsigned int i = 0; i < INV_NR; i++)
		if (i != (unsigned int)inv && check_count((enum check_inv)i))
			ok = false;
	tap_ok(ok, "%s: %s", name, inv == INV_NR ? "no violation" : check_inv_name(inv));
	if (!ok)
		tap_diag("got %s: %s", got == INV_NR ? "no violation" : check_inv_name(got),
			 report ? report : "");
}

/* @o queued (two-argument form, task context) on @cpu at the fake clock's now. */
static void queue(const void *o, int cpu)
{
	check_obj_new(o, 32, false);
	check_obj_queued(o, cpu, KENV_CTX_TASK, false, CHECK_EXPECT_FREE);
	check_obj_queue_returned(o);
}

/* Observe at @ms on the fake clock. */
static bool observe(uint64_t ms, uint64_t age_mask)
{
	fake_now_ns = ms * MS;
	return check_progress_watch(&watch, fake_now_ns, age_mask);
}

static void test_progress_watch(void)
{
	/* cpu1 holds a list object with nothing armed, long enough: stranded. */
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	tap_ok(observe(1500, 0), "PROGRESS watch: a first sighting is not a verdict");
	tap_ok(!observe(1800, 0), "PROGRESS watch: check_progress_watch() returns false");
	expect_only("PROGRESS watch: a CPU stranded beyond the bound", INV_PROGRESS,
		    "has been pending for 1800 ms, beyond the bound of 1000 ms");
	tap_ok(watch.stranded_sightings == 2 && watch.stranded_longest_ns == 300 * MS &&
	       watch.stranded_oldest_age_ns == 1800 * MS,
	       "PROGRESS watch: figures of the stranded CPU (%llu sightings, %llu ms, %llu ms old)",
	       (unsigned long long)watch.stranded_sightings,
	       (unsigned long long)(watch.stranded_longest_ns / MS),
	       (unsigned long long)(watch.stranded_oldest_age_ns / MS));

	/* The same, with the monitor armed: it will detach them. */
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	fake_stats[1].monitor_armed = true;
	observe(1500, 0);
	tap_ok(observe(1800, 0), "PROGRESS watch: an armed monitor is progress");
	expect_only("PROGRESS watch: pending objects with the monitor armed", INV_NR, NULL);

	/* A batch in flight: its completion is followed by another monitor run. */
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_SLAB] = 1;
	fake_stats[1].batch_busy[0] = true;
	observe(1500, 0);
	observe(1800, 0);
	expect_only("PROGRESS watch: pending objects behind a busy batch", INV_NR, NULL);

	/* Stranded, but the object is younger than the bound: a monitor may still come. */
	setup();
	fake_now_ns = 1000 * MS;
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	observe(1500, 0);
	observe(1800, 0);
	expect_only("PROGRESS watch: stranded within the bound", INV_NR, NULL);

	/* Stranded for less than the persistence: the monitor may be running. */
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	observe(1500, 0);
	observe(1600, 0);
	expect_only("PROGRESS watch: stranded for less than the persistence", INV_NR, NULL);

	/* The monitor ran between the sightings: a new stretch begins. */
	setup();
	queue(objs[0], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	observe(1500, 0);
	fake_stats[1].monitor_runs++;
	observe(1800, 0);
	expect_only("PROGRESS watch: a monitor run in between restarts the stretch", INV_NR, NULL);
	tap_ok(!observe(2000, 0), "PROGRESS watch: ... and the new stretch is judged on its own");
	expect_only("PROGRESS watch: stranded again for the persistence", INV_PROGRESS,
		    "stranded");

	/* Only the CPU's own objects count: an old object of cpu2 does not blame cpu1. */
	setup();
	queue(objs[0], 2);
	fake_now_ns = 1500 * MS;
	queue(objs[1], 1);
	fake_stats[1].pending[KVFREE_CH_LIST] = 1;
	fake_stats[2].in_flight = 1;
	fake_stats[2].batch_busy[1] = true;
	observe(1600, 0);
	observe(1900, 0);
	expect_only("PROGRESS watch: another CPU's old object is not this CPU's age", INV_NR,
		    NULL);
	tap_ok(watch.oldest_age_ns == 1900 * MS && watch.stranded_oldest_age_ns == 400 * MS,
	       "PROGRESS watch: oldest object %llu ms, oldest on the stranded CPU %llu ms",
	       (unsigned long long)(watch.oldest_age_ns / MS),
	       (unsigned long long)(watch.stranded_oldest_age_ns / MS));

	/* An offline CPU is HOTPLUG's business, not this monitor's. */
	setup();
	queue(objs[0], 3);
	fake_stats[3].pending[KVFREE_CH_LIST] = 1;
	fake_stats[3].online = false;
	observe(1500, 0);
	observe(1800, 0);
	expect_only("PROGRESS watch: an offline CPU is not watched", INV_NR, NULL);

	/* The masked figures: the age of what a quiet CPU holds, armed or not. */
	setup();
	queue(objs[0], 2);
	fake_stats[2].pending[KVFREE_CH_SLAB] = 1;
	fake_stats[2].monitor_armed = true;
	observe(700, 1u << 2);
	tap_ok(watch.masked_observations == 1 && watch.masked_oldest_age_ns == 700 * MS,
	       "PROGRESS watch: the masked CPU's oldest object (%llu observations, %llu ms)",
	       (unsigned long long)watch.masked_observations,
	       (unsigned long long)(watch.masked_oldest_age_ns / MS));
	expect_only("PROGRESS watch: figures only", INV_NR, NULL);
}

static void test_misuse_balance(void)
{
	/* A refused NMI call and its warning: balanced. */
	setup();
	check_obj_new(objs[0], 32, false);
	check_obj_queued(objs[0], 0, KENV_CTX_NMI, false, CHECK_EXPECT_REFUSED);
	check_warned(KENV_WARN_MISUSE, "MISUSE", "in_nmi()", objs[0], "f.c", 1, "fn");
	check_obj_queue_returned(objs[0]);
	tap_ok(check_misuse(), "MISUSE balance: check_misuse() returns true");
	expect_only("MISUSE balance: every expected warning given", INV_NR, NULL);

	/* A double queue the implementation did not warn about. */
	setup();
	queue(objs[0], 0);
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, false, CHECK_EXPECT_DOUBLE);
	check_obj_queue_returned(objs[0]);
	tap_ok(!check_misuse(), "MISUSE balance: check_misuse() returns false");
	expect_only("MISUSE balance: a double queue without a warning", INV_MISUSE,
		    "1 misuse warning(s) expected (refused NMI calls 0, double queues 1");

	/* A headless call from atomic context the implementation took silently. */
	setup();
	check_obj_new(objs[0], 32, false);
	fake_ctx()->preempt_off = true;
	check_obj_queued(objs[0], 0, KENV_CTX_TASK, true, CHECK_EXPECT_REFUSED);
	check_obj_queue_returned(objs[0]);
	fake_ctx()->preempt_off = false;
	check_misuse();
	expect_only("MISUSE balance: a refused headless call without a warning", INV_MISUSE,
		    "warned 0 time(s)");
}

int main(void)
{
	test_progress_watch();
	test_misuse_balance();
	return tap_done();
}
