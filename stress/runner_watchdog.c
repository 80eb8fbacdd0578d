/* SPDX-License-Identifier: MIT */
/*
 * runner_watchdog.c - how a failing stress run ends (see runner_internal.h):
 * the checker's abort hook for a violation, and the watchdog thread, which
 * dumps every thread and every CPU's krc state on a hang and exits with
 * KVT_EXIT_HANG.
 *
 * Both run while the rest of the run may be stuck or broken, so neither
 * allocates nor takes a lock under test: they format into static buffers
 * (runner_output.c) and leave with _exit().
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "flood.h"
#include "posix_env.h"
#include "posix_obj.h"
#include "runner_internal.h"
#include "stress.h"

_Atomic(int) runner_phase;

const char *runner_phase_name(int phase)
{
	static const char *const names[] = {
		[PHASE_SETUP] = "setup", [PHASE_RUN] = "flood", [PHASE_CHECKPOINT] = "checkpoint",
		[PHASE_QUIESCE] = "quiesce", [PHASE_DONE] = "done",
	};

	return phase >= 0 && phase <= PHASE_DONE ? names[phase] : "?";
}
static _Atomic(bool) watchdog_stop;
static pthread_t watchdog_thread;
static uint64_t run_deadline_ns;

/* ---------------------------------------------------------------------------
 * Violations
 */

void runner_abort_hook(enum check_inv inv, const char *report)
{
	static struct outbuf viol;
	const char *name = check_inv_name(inv);
	bool expected = runner_opts.expect_set && inv == runner_opts.expect;

	/* The run stops here: the report reads its figures racily. */
	posix_race_checks_off();
	outbuf_reset(&viol);
	outbuf_add(&viol, "%s\nreproduce: %s\n", report ? report : "", runner_repro);
	outbuf_write_atomic("violation.txt", &viol);
	runner_write_report_json(expected ? "expected-violation" : "violation", expected ? 0 : 1,
				 name, report);
	outbuf_reset(&viol);
	outbuf_add(&viol, "kvtorture stress: %s violated; reproduce with:\n  %s\n",
		   name ? name : "?", runner_repro);
	outbuf_write_fd(2, &viol);
	if (expected) {
		outbuf_reset(&viol);
		outbuf_add(&viol, "kvtorture stress: the expected violation %s was caught\n", name);
		outbuf_write_fd(1, &viol);
		posix_race_checks_on();
		_exit(0);
	}
	posix_race_checks_on();
}

/* ---------------------------------------------------------------------------
 * Hangs
 */

/* Every CPU's krc state (racy: the run may be stuck anywhere) to @fd. */
static void dump_krc(int fd)
{
	static struct outbuf d;

	outbuf_reset(&d);
	outbuf_add(&d, "--- per-CPU krc state (racy) ---\n");
	for (int cpu = 0; cpu < runner_opts.cpus; cpu++) {
		struct kvfree_rcu_cpu_stats st;

		if (!kvfree_rcu_snapshot_racy(cpu, &st)) {
			outbuf_add(&d, "cpu%d: no snapshot\n", cpu);
			continue;
		}
		outbuf_add(&d, "cpu%d: online=%d pending slab=%lu vmalloc=%lu list=%lu "
			   "in_flight=%lu bulk_pages=%lu cached=%lu monitor=%d batch_busy=%d/%d "
			   "backoff=%d\n",
			   cpu, st.online, st.pending[KVFREE_CH_SLAB], st.pending[KVFREE_CH_VMALLOC],
			   st.pending[KVFREE_CH_LIST], st.in_flight, st.bulk_pages, st.cached_pages,
			   st.monitor_armed, st.batch_busy[0], st.batch_busy[1], st.backoff);
	}
	outbuf_write_fd(fd, &d);
}

_Noreturn void runner_hang(const char *why)
{
	static _Atomic(bool) hanging;
	int fd;

	/* One report: a second caller (the watchdog and a checkpoint) waits for the exit. */
	if (atomic_exchange(&hanging, true))
		for (;;)
			pause();
	/* The run stops here: the dump and the report read its state racily. */
	posix_race_checks_off();

	/*
	 * The files first, hang.txt whole or not at all (a temporary file,
	 * renamed): a standard error that is a pipe nobody reads may fail
	 * every write.
	 */
	fd = report_file_open("hang.txt");
	if (fd >= 0) {
		dprintf(fd, "WATCHDOG: %s\nreproduce: %s\n", why, runner_repro);
		posix_dump_threads(fd);
		dump_krc(fd);
		kvt_flood_dump(fd);
		report_file_commit("hang.txt", fd);
	}
	runner_write_report_json("hang", KVT_EXIT_HANG, NULL, NULL);
	/* And the exit status stays the watchdog's: a write there fails instead. */
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "kvtorture stress: WATCHDOG: %s; reproduce with:\n  %s\n", why,
		runner_repro);
	posix_dump_threads(2);
	dump_krc(2);
	kvt_flood_dump(2);
	posix_race_checks_on();
	_exit(KVT_EXIT_HANG);
}

/* Objects freed so far: what a run past its deadline must still be doing. */
static uint64_t objects_freed(void)
{
	struct kvt_obj_stats os;

	kvt_obj_stats(&os);
	return os.freed;
}

/*
 * Past its deadline (its duration + --watchdog), a run is a hang once
 * nothing was freed for --watchdog seconds: what is left after the flood
 * (the last checkpoint, the final barrier) waits for reclaim, and a slow
 * one still frees.  Under TSan on a loaded machine reclaim frees about two
 * thousand objects a second, so the backlog of max_outstanding (5,000 per
 * CPU) takes seconds, twice over: the last checkpoint's, then the final
 * barrier's.  Time the host held the run up (posix_starved_ns(): the
 * reclaiming threads could not run, or a thread was blocked in the host's
 * kernel) is not counted as nothing freed: on an overloaded 2-core host a
 * kworker waits seconds for a CPU.  Freeing or not, starved
 * or not, the run ends by GRACE_NS (or 3 x --watchdog, if longer) past its
 * deadline.
 */
#define GRACE_NS (60 * 1000000000ull)

static void check_deadline(uint64_t now, uint64_t bound, uint64_t last_free_ns,
			   uint64_t starved_since_free)
{
	uint64_t grace = 3 * bound > GRACE_NS ? 3 * bound : GRACE_NS;
	char why[256];
	int n;

	if (now <= run_deadline_ns)
		return;
	/* Time the reclaiming threads could not run for the host does not count. */
	if (now - last_free_ns > bound && now - last_free_ns - bound > starved_since_free) {
		n = snprintf(why, sizeof(why), "the run did not end within its duration + %u s, "
			     "and nothing was freed for %u s", runner_opts.watchdog_s,
			     runner_opts.watchdog_s);
		if (starved_since_free && n > 0 && (size_t)n < sizeof(why))
			snprintf(why + n, sizeof(why) - (size_t)n, " (besides %.1f s the "
				 "host held the run up)",
				 (double)starved_since_free / 1e9);
	} else if (now > run_deadline_ns + grace) {
		snprintf(why, sizeof(why), "the run did not end within its duration + %" PRIu64
			 " s, still freeing (a livelock, or reclaim too slow)",
			 (uint64_t)runner_opts.watchdog_s + grace / 1000000000u);
	} else {
		return;
	}
	runner_hang(why);
}

/*
 * While the flood runs, it is stuck once no flooder made a call and nothing
 * was freed for --watchdog seconds, besides the time the host held the run
 * up (posix_starved_ns(), as in a wait for frees: a flooder blocked in the
 * host's kernel makes no call, starved kworkers free nothing): the flooders
 * wait for frees when the backlog is full (a grace period that never ends
 * stops both), or are blocked where no other check looks (a sleeping wait
 * that never returns).  The readers, interrupts and softirqs
 * go on regardless and do not count.  Not before the flood's first call (the
 * negative scenarios alone make none, and are found otherwise), and not
 * while every CPU is in a duty cycle's quiet stretch.  With checkpoints on
 * (the default), the next one finds most of these first.
 */
struct flood_watch {
	uint64_t calls, freed, since, starved_at;
};

static void check_flood_moves(struct flood_watch *fw, uint64_t now, uint64_t bound,
			      uint64_t calls, uint64_t freed, uint64_t starved)
{
	uint64_t all = runner_opts.cpus < 64 ? (1ull << runner_opts.cpus) - 1 : ~0ull;
	char why[256];
	int n;

	if (calls != fw->calls || freed != fw->freed || !calls ||
	    atomic_load(&runner_phase) != PHASE_RUN || kvt_flood_quiet_mask(now) == all) {
		*fw = (struct flood_watch){ .calls = calls, .freed = freed, .since = now,
					    .starved_at = starved };
		return;
	}
	if (now - fw->since <= bound || now - fw->since - bound <= starved - fw->starved_at)
		return;
	n = snprintf(why, sizeof(why), "the flood stalled: no call to kvfree_rcu() and nothing "
		     "freed for %u s", runner_opts.watchdog_s);
	if (starved != fw->starved_at && n > 0 && (size_t)n < sizeof(why))
		snprintf(why + n, sizeof(why) - (size_t)n, " (besides %.1f s the host held "
			 "the run up)", (double)(starved - fw->starved_at) / 1e9);
	runner_hang(why);
}

static void *watchdog_main(void *arg)
{
	uint64_t bound = (uint64_t)runner_opts.watchdog_s * 1000000000ull;
	uint64_t last_freed = objects_freed(), last_free_ns = kenv_clock_ns();
	uint64_t starved_at_free = posix_starved_ns();
	struct flood_watch fw = { .since = last_free_ns, .starved_at = starved_at_free };
	char why[256];

	(void)arg;
	while (!atomic_load(&watchdog_stop)) {
		uint64_t now = kenv_clock_ns();
		uint64_t freed = objects_freed();
		/* Sampled here every round: a wait's figure covers short intervals. */
		uint64_t starved = posix_starved_ns();
		int stuck;

		stuck = posix_watchdog_scan(bound);
		if (stuck >= 0) {
			snprintf(why, sizeof(why),
				 "thread %d stayed atomic without a scheduling point for %u s",
				 stuck, runner_opts.watchdog_s);
			runner_hang(why);
		}
		/* Past the bound together, the stuck thread is the cause to name. */
		check_flood_moves(&fw, now, bound, kvt_flood_calls(), freed, starved);
		if (freed != last_freed) {
			last_freed = freed;
			last_free_ns = now;
			starved_at_free = starved;
		}
		check_deadline(now, bound, last_free_ns, starved - starved_at_free);
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	return NULL;
}

void runner_watchdog_start(uint64_t deadline_ns)
{
	run_deadline_ns = deadline_ns;
	atomic_store(&watchdog_stop, false);
	posix_thread_create(&watchdog_thread, "watchdog", POSIX_ROLE_ENV, 0, watchdog_main, NULL);
}

void runner_watchdog_stop(void)
{
	atomic_store(&watchdog_stop, true);
	pthread_join(watchdog_thread, NULL);
}
