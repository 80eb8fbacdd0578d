/* SPDX-License-Identifier: MIT */
/*
 * runner_checkpoint.c - the in-run checks of a stress run (see
 * runner_internal.h): checkpoints, where the world stands still for the
 * checker's mid-run checks, and the online PROGRESS monitor between them.
 *
 * A checkpoint stops the world in three steps:
 *
 *   1. the flooders pause at safe points (kvt_flood_pause_slow(), then
 *      kvt_flood_pause()): no kvfree_rcu() call, barrier, shrinker or
 *      hotplug operation is in progress and none starts, and every CPU is
 *      online;
 *   2. every CPU's kworker is held in a work item of ours, queued on its
 *      CPU's inbox by a job on that CPU's thread: a kworker runs one item
 *      at a time, so once each is inside ours no monitor, batch or refill
 *      work runs, and none starts (what timers and grace periods queue
 *      meanwhile waits on the inboxes, pending, as the snapshot shows it);
 *   3. the flood's softirq, raised on every CPU after the pause, has run in
 *      two passes begun since: one CPU's softirq passes never overlap and
 *      run what is pending in number order, so every kvfree_rcu softirq
 *      (the watermark policy's refill) raised before the pause has run, and
 *      nothing raises another.  (Two, because one pass that took its bits
 *      before the raise may still enter the flood's handler after it.)
 *
 * What still runs is the GP thread, the timer thread and liburcu's call_rcu
 * thread, which only queue work.  The implementation's state is whole: a
 * monitor is armed or not, a batch busy or not, every counter consistent.
 * So the checks are exact here, not racy: ACCOUNTING, BOUNDED (the cache cap,
 * bulk pages against what is pending, the refill-failure bound), PER-CPU
 * (the pages each krc owns), HOTPLUG, PROGRESS (nothing pending without an
 * armed monitor or a busy batch: a stranded CPU is caught here at any age)
 * and the MISUSE balance.  A drain checkpoint, under the pressure flood,
 * then lets the kworkers go for a kvfree_rcu_barrier() (BARRIER), stops the
 * world again and runs the shrinker on the idle system: its count must be
 * exact and never 0, the caches empty after its scan and the refill backing
 * off (BOUNDED), and on an empty system the count KVFREE_SHRINK_EMPTY.
 * Drain checkpoints come no more often than the PROGRESS monitor's bound
 * plus a second, so objects can outlive the bound between two barriers;
 * a pressure phase that ends before its first one has it at its end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "flood.h"
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "runner_internal.h"

#define MS 1000000ull
/* The PROGRESS monitor: persistence of a stranded CPU, and the bound's slack. */
#define WATCH_PERSIST_NS (500 * MS)
#define WATCH_SLACK_NS (1000 * MS)
/* What a grace period may take beyond the longest read-side section. */
#define GP_ALLOWANCE_NS (10 * MS)
#define HOLD_POLL_NS (20 * 1000)
/* How long the slow flooders may take to pause while the rest flood: world_stop(). */
#define SLOW_PATIENCE_NS (1000 * MS)

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------------------
 * Holding the kworkers and the softirqs
 */

static struct kenv_work hold_work[KENV_NR_CPUS_MAX];
/* Kworkers inside hold_fn(); set free by hold_release. */
static _Atomic(int) holding;
static _Atomic(bool) hold_release;

/* Context: a kworker (kthread, may sleep): hold it until the checkpoint is done. */
static void hold_fn(struct kenv_work *work)
{
	(void)work;
	atomic_fetch_add(&holding, 1);
	while (!atomic_load(&hold_release))
		sleep_ns(HOLD_POLL_NS);
	atomic_fetch_sub(&holding, 1);
}

/* Context: @cpu's thread, task: our work on its kworker's inbox. */
static void hold_job(int cpu, void *arg)
{
	(void)arg;
	if (!kenv_queue_work(KENV_WQ_HIGHPRI, &hold_work[cpu]))
		KENV_DIE("checkpoint: the hold work was still pending");
}

/* Context: @cpu's thread, task: a flood softirq pass, on its ksoftirqd. */
static void raise_job(int cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	posix_raise_softirq(POSIX_SOFTIRQ_FLOOD);
}

static bool all_held(const void *arg)
{
	(void)arg;
	return atomic_load(&holding) == runner_opts.cpus;
}

/* Every CPU's flood softirq entered at least the count in @arg. */
static bool passes_reached(const void *arg)
{
	const uint64_t *want = arg;

	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		if (kvt_flood_softirq_passes(cpu) < want[cpu])
			return false;
	return true;
}

/* The checkpoints' schedule, and the implementation's short monitor delay. */
static uint64_t next_checkpoint_ns, next_drain_ns, drain_interval_ns, short_delay_ns;
static bool drains;

static uint64_t watchdog_ns(void)
{
	return (uint64_t)runner_opts.watchdog_s * 1000000000ull;
}

/* @what did not happen: within --watchdog s, or while nothing moved that long. */
static _Noreturn void stuck(const char *what, bool idle)
{
	char why[200];

	snprintf(why, sizeof(why), "checkpoint: %s %s %u s", what,
		 idle ? "while nothing was freed for" : "within", runner_opts.watchdog_s);
	runner_hang(why);
}

/*
 * The flooders did not pause: a thread that has stayed atomic since the
 * pause began (one spinning under a raw lock, say) is the reason, and the
 * report names it.
 */
static uint64_t pause_points[POSIX_MAX_THREADS];

static _Noreturn void not_paused(const char *what)
{
	int id = posix_stuck_since(pause_points);
	char why[200];

	if (id < 0)
		stuck(what, true);
	snprintf(why, sizeof(why), "checkpoint: %s while nothing was freed for %u s: thread %d "
		 "stayed atomic without a scheduling point", what, runner_opts.watchdog_s, id);
	runner_hang(why);
}

/*
 * Step 2 above: every kworker held in hold_fn(), once it has finished the
 * work it runs, which may be a batch of thousands of objects.
 */
static void hold_kworkers(void)
{
	atomic_store(&hold_release, false);
	posix_run_on_cpus(hold_job, NULL);
	if (!kvt_flood_wait(all_held, NULL, UINT64_MAX, watchdog_ns()))
		stuck("not every kworker reached the hold", true);
}

/* Step 3 above, the flooders paused: two softirq passes on every CPU. */
static void sync_softirqs(void)
{
	uint64_t deadline = kenv_clock_ns() + watchdog_ns();
	uint64_t want[KENV_NR_CPUS_MAX];

	for (int round = 1; round <= 2; round++) {
		for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
			want[cpu] = kvt_flood_softirq_passes(cpu) + 1;
		posix_run_on_cpus(raise_job, NULL);
		if (!kvt_flood_wait(passes_reached, want, deadline, UINT64_MAX))
			stuck("a softirq pass did not run", false);
	}
}

/*
 * Steps 1 to 3.  The slow flooders first, while the flood goes on (a
 * barrier in progress waits for the reclaim of everything pending); then
 * the fast flooders, which stop within a burst; only then the kworkers.  In
 * between, with no call coming, whatever work is due still runs: every CPU
 * is idle for that moment, and a monitor that leaves objects stranded there
 * (nothing armed, no batch busy) is not masked by the next call re-arming
 * it, which under a flood comes within microseconds.  Returns when the fast
 * flooders were asked to stop: the flood stood still from then on.
 *
 * The slow flooders get SLOW_PATIENCE_NS on their own.  A barrier waits for
 * every object queued before it, and the fast flooders keep the backlog at
 * its bound (max_outstanding) meanwhile: where reclaim is slow (a sanitizer,
 * a loaded machine) the barrier's batches take seconds each, and more keep
 * coming.  Past the patience the fast flooders pause too, so the backlog
 * only shrinks and the barrier ends with it (counted in slow_late).  Each
 * wait fails only once nothing was freed for --watchdog seconds: a slow
 * reclaim moves, a hang does not.
 */
static uint64_t world_stop(struct runner_phase *ph)
{
	uint64_t stop_ns;
	bool slow_parked;

	posix_points_snapshot(pause_points);
	slow_parked = kvt_flood_pause_slow(SLOW_PATIENCE_NS);
	if (!slow_parked)
		ph->cp.slow_late++;
	stop_ns = kenv_clock_ns();
	if (slow_parked)
		posix_points_snapshot(pause_points);
	if (!kvt_flood_pause(watchdog_ns()))
		not_paused(slow_parked ? "the flooders did not pause" :
					 "the flooders did not pause (the slow ones not in 1 s alone)");
	/* Two short delays: the monitors that a page's worth of objects armed run now. */
	sleep_ns(2 * short_delay_ns);
	hold_kworkers();
	sync_softirqs();
	return stop_ns;
}

static bool none_held(const void *arg)
{
	(void)arg;
	return atomic_load(&holding) == 0;
}

static void world_release(void)
{
	atomic_store(&hold_release, true);
	/* They leave at once: the next hold must not find ours still running. */
	(void)kvt_flood_wait(none_held, NULL, UINT64_MAX, UINT64_MAX);
}

/* Whether the world still stands still: for check_shrink_count(), asked right after. */
static bool world_unchanged(void *arg)
{
	(void)arg;
	return atomic_load(&holding) == runner_opts.cpus;
}

/* ---------------------------------------------------------------------------
 * Checkpoints
 */


void runner_checks_begin(struct runner_phase *ph, const struct kvfree_rcu_config *kcfg,
			 const struct kvt_flood_config *fcfg, uint64_t start_ns)
{
	uint64_t gp_ns = GP_ALLOWANCE_NS;

	for (int cpu = 0; cpu < runner_opts.cpus; cpu++)
		kenv_work_init(&hold_work[cpu], hold_fn);
	/* Readers of rcu-stall hold a grace period up to 1.25 x stall_ns. */
	if (fcfg->mask & (1u << KVT_SC_RCU_STALL))
		gp_ns += fcfg->stall_ns + fcfg->stall_ns / 4;
	memset(&ph->watch, 0, sizeof(ph->watch));
	/*
	 * A correct monitor detaches an object within the drain delay; the
	 * batch it joins waits for grace periods; the rest is scheduling on a
	 * busy machine.
	 */
	ph->watch.bound_ns = kcfg->drain_delay_ns + 4 * gp_ns + WATCH_SLACK_NS;
	ph->watch.persist_ns = WATCH_PERSIST_NS;
	drain_interval_ns = ph->watch.bound_ns + 1000 * MS;
	short_delay_ns = kcfg->short_delay_ns;
	drains = fcfg->mask & (1u << KVT_SC_PRESSURE);
	next_checkpoint_ns = start_ns + (uint64_t)runner_opts.checkpoint_ms * MS;
	next_drain_ns = start_ns + drain_interval_ns;
}

/* ACCOUNTING, BOUNDED, PER-CPU, HOTPLUG, PROGRESS, MISUSE, structure: the world stands still. */
static void check_standing_world(void)
{
	check_accounting();
	check_misuse();
	/*
	 * The structures themselves: cache list against the cached count,
	 * channel counts against the records on the pages, records within a
	 * page's capacity, page ownership, offline CPUs holding nothing.  Each
	 * krc under its lock: timers and interrupts go on meanwhile.
	 */
	check_structure(true);
}

/*
 * First a scan for one object, which the first CPU holding anything (after
 * the barrier: its cached pages) covers by itself, when a later CPU holds
 * something too: the scan must stop there and leave the later CPUs their
 * pages (BOUNDED).  That first CPU must hold two or more: a scan whose counts
 * add up to nr_to_scan exactly stops even in a kernel whose test of what is
 * left wraps.  The kworkers are held, so no monitor or batch runs meanwhile,
 * and the callers are paused; a refill may still add pages, which the check
 * allows.
 */
static void check_shrinker_partial(unsigned long count)
{
	struct check_shrink_before held;
	unsigned long first = 0;
	bool later = false;

	if (count == KVFREE_SHRINK_EMPTY || !check_shrink_scan_begin(&held))
		return;
	for (int cpu = 0; cpu < held.nr_cpus; cpu++) {
		unsigned long has = held.pending[cpu] + held.cached[cpu];

		if (!first)
			first = has;
		else if (has)
			later = true;
	}
	if (first < 2 || !later)
		return;
	kfree_rcu_shrink_scan(1);
	if (world_unchanged(NULL))
		check_shrink_scan_end(&held, 1);
}

/*
 * A drain checkpoint's second half, the world held again after the
 * barrier: the shrinker on an idle system.
 */
static void check_shrinker_on_idle(void)
{
	unsigned long count = kfree_rcu_shrink_count();

	check_shrink_count(count, world_unchanged, NULL);
	check_shrinker_partial(count);
	count = kfree_rcu_shrink_count();
	kfree_rcu_shrink_scan(count == KVFREE_SHRINK_EMPTY ? 1 : count);
	check_after_shrinker();
	/* Nothing pending after the barrier, nothing cached after the scan: empty. */
	check_shrink_count(kfree_rcu_shrink_count(), world_unchanged, NULL);
	check_standing_world();
}

static void checkpoint(struct runner_phase *ph, bool drain)
{
	uint64_t t0 = kenv_clock_ns(), stopped, t1, t2, t3;

	atomic_store(&runner_phase, PHASE_CHECKPOINT);
	stopped = world_stop(ph);
	t1 = kenv_clock_ns();
	check_standing_world();
	if (drain) {
		world_release();
		check_barrier_begin();
		kvfree_rcu_barrier();
		check_barrier_end();
		hold_kworkers();
		sync_softirqs();
		check_shrinker_on_idle();
		ph->cp.drains++;
	}
	t2 = kenv_clock_ns();
	world_release();
	kvt_flood_resume();
	t3 = kenv_clock_ns();
	atomic_store(&runner_phase, PHASE_RUN);
	ph->cp.count++;
	ph->cp.wait_ns_sum += stopped - t0;
	check_figure_max(&ph->cp.wait_ns_max, stopped - t0);
	ph->cp.stop_ns_sum += t3 - stopped;
	check_figure_max(&ph->cp.stop_ns_max, t3 - stopped);
	ph->cp.checked_ns_sum += t2 - t1;
	check_figure_max(&ph->cp.checked_ns_max, t2 - t1);
}

void runner_checks_tick(struct runner_phase *ph, uint64_t now_ns)
{
	uint64_t quiet = kvt_flood_quiet_mask(now_ns);

	check_progress_watch(&ph->watch, now_ns, quiet);
	ph->quiet_observations += (uint64_t)__builtin_popcountll(quiet);
	if (!runner_opts.checkpoint_ms || now_ns < next_checkpoint_ns)
		return;
	checkpoint(ph, drains && now_ns >= next_drain_ns);
	now_ns = kenv_clock_ns();
	next_checkpoint_ns = now_ns + (uint64_t)runner_opts.checkpoint_ms * MS;
	if (drains && now_ns >= next_drain_ns)
		next_drain_ns = now_ns + drain_interval_ns;
}

/*
 * A phase that had no checkpoint gets one at its end, and a pressure phase
 * that had no drain checkpoint gets that: however slowly a loaded machine
 * ran the phase, or however short it was, each check ran at least once.
 */
void runner_checks_end(struct runner_phase *ph)
{
	bool drain = drains && !ph->cp.drains;

	if (runner_opts.checkpoint_ms && (!ph->cp.count || drain))
		checkpoint(ph, drain);
}
