/* SPDX-License-Identifier: MIT */
/*
 * flood.h - the flooders: one named scenario per flooding source of
 * DESIGN.md section 5, run on the posix environment.
 *
 * Every flooder does RCU-style updates on a shared table of slots: it
 * publishes a fresh checked object in a slot and hands the object it replaced
 * to kvfree_rcu() (two-argument or headless, as its context allows), telling
 * the checker (check_obj_queued / check_obj_queue_returned).  Reader threads
 * walk the slots inside read-side sections and verify every object they reach
 * (kvt_obj_verify), so an early free is caught where it hurts.
 *
 * The scenarios are listed in one place, scenarios.def: a new flooder is a
 * line there and its start function (and threads) in flood.c.
 */
#ifndef KVTORTURE_FLOOD_H
#define KVTORTURE_FLOOD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kenv.h"

/* The scenarios, in the order of stress/scenarios.def (the registry). */
enum kvt_scenario {
#define KVT_SCENARIO(id, name, kind, in_all, bench, start, desc) KVT_SC_##id,
#include "scenarios.def"
	KVT_SC_NR
};
_Static_assert(KVT_SC_NR <= 32, "scenario masks are 32-bit");

enum kvt_scenario_kind {
	KVT_KIND_FLOOD,		/* a flooding source */
	KVT_KIND_NEGATIVE,	/* test only: a deliberately broken driver */
};

/*
 * The registry (scenarios.c, from scenarios.def).  Context: any thread, no
 * lock taken; the printers use stdio.
 */
/* "syscall", ...; NULL out of range. */
const char *kvt_scenario_name(enum kvt_scenario sc);
enum kvt_scenario_kind kvt_scenario_kind(enum kvt_scenario sc);
/* The scenarios `all` names (IN_ALL in scenarios.def), as a bit mask. */
unsigned int kvt_scenario_all_mask(void);
/*
 * Parse "NAME[,NAME...]" ("all" is kvt_scenario_all_mask()) into a bit mask;
 * on error return false with @bad pointing at the offending name.
 */
bool kvt_scenario_parse(const char *list, unsigned int *mask, const char **bad, size_t *bad_len);
/* The names of @kind, in table order, separated by single spaces, to @f. */
void kvt_scenario_print_names(FILE *f, enum kvt_scenario_kind kind);
/*
 * The table to @f, one line per scenario, fields separated by tabs:
 * name, kind ("flood" or "negative"), in all ("yes" or "no"), compared by
 * `kvbench policies` ("yes" or "no"), description.
 */
void kvt_scenario_list(FILE *f);

struct kvt_flood_config {
	int nr_cpus;
	unsigned int mask;		/* scenarios, bits of enum kvt_scenario */
	unsigned int users_per_cpu;	/* syscall-flood threads per CPU */
	unsigned int irq_rate;		/* interrupts per second per CPU */
	unsigned int nmi_rate;		/* NMIs per second per CPU */
	unsigned int fault_ppm;		/* pressure: page allocation failures */
	unsigned int max_outstanding;	/* back off above this many live objects */
	uint64_t stall_ns;		/* rcu-stall: read-side section length */
	bool chaos;			/* starvation of random threads */
	/*
	 * Duty cycles: a cycling CPU's flooders call kvfree_rcu() for
	 * duty_percent of each period and are quiet for quiet_ns, the CPUs'
	 * periods staggered so that some flood while others are quiet.
	 * duty_percent 100: no quiet stretches.  duty_cpus: the CPUs that
	 * cycle (a bit each).
	 */
	unsigned int duty_percent;
	uint64_t quiet_ns;
	uint64_t duty_cpus;
	unsigned int barrier_threads;	/* barrier: concurrent barrier threads */
	unsigned int barrier_rate;	/* barrier: barriers per second per thread */
	unsigned int misuse_per_mille;	/* misuse: share of CPU workload passes that misuse */
};

void kvt_flood_config_default(struct kvt_flood_config *cfg);

/*
 * Start every flooder of @cfg->mask.  Context: the main thread, after
 * posix_env_start() and kvfree_rcu_init().  Pairs with kvt_flood_stop().
 */
void kvt_flood_start(const struct kvt_flood_config *cfg);
/*
 * Stop and join every flooder, bring every CPU back online, stop faults, and
 * queue the objects still published (unpublishing them) from the caller, so
 * that after kvfree_rcu_barrier() nothing may remain.  Context: the main
 * thread, sleep.
 */
void kvt_flood_stop(void);

/*
 * Pause every flooder at a safe point, in two steps.  kvt_flood_pause_slow()
 * stops the flooders whose operations take long (kvfree_rcu_barrier(), a CPU
 * going offline: each waits for reclaim) at the end of the one in progress,
 * while the others go on flooding; it waits for them up to @patience_ns
 * and returns whether they parked (if not, they still will: the pause
 * stays requested).  kvt_flood_pause() then stops the rest, and waits for
 * every flooder, slow ones included: their threads wait at the top of their
 * loops (outside any kvfree_rcu() call, barrier, shrinker or hotplug
 * operation, every CPU online), the CPU threads' workload passes and the
 * flood's interrupt and softirq handlers return without doing anything.
 * It returns true when they are there, false once nothing moved for
 * @idle_ns (kvt_flood_wait()); the pause stays requested: call
 * kvt_flood_resume().  After kvt_flood_pause() no flooder calls into the
 * implementation until the resume; what the implementation itself deferred
 * (timers, work, softirqs) goes on.  Context: the main thread, between
 * kvt_flood_start() and kvt_flood_stop().
 */
bool kvt_flood_pause_slow(uint64_t patience_ns);
bool kvt_flood_pause(uint64_t idle_ns);
void kvt_flood_resume(void);
/*
 * Wait until @cond(@arg) holds; false past @deadline_ns, or once nothing
 * moved for @idle_ns: no object freed, no flooder newly parked, not
 * counting the time the reclaiming threads could not run for the host
 * (posix_starved_ns(): a loaded host, a sanitizer's runtime).  What a
 * pause or a checkpoint waits for (a barrier, a CPU going offline, a
 * kworker finishing its batch) waits for reclaim, which under a sanitizer
 * on a loaded machine frees a few thousand objects a second behind a
 * backlog of up to max_outstanding: slow, but moving; a hang moves
 * nothing.  UINT64_MAX disables either bound.  Context: task, may sleep.
 */
bool kvt_flood_wait(bool (*cond)(const void *arg), const void *arg, uint64_t deadline_ns,
		    uint64_t idle_ns);
/*
 * Write to @fd what a hang report needs of the flood: the pause asked for,
 * the parked and live counts, each flooder thread's state (running, parked,
 * waiting for frees, returned), the flood handlers running and the CPUs in a
 * workload pass.  Racy reads of atomics; nothing if the flood never started.
 * Context: any thread, the run stopped or stuck.
 */
void kvt_flood_dump(int fd);
/*
 * How many times the flood's softirq handler (POSIX_SOFTIRQ_FLOOD) was
 * entered on @cpu, paused or not: a softirq pass raised after the pause
 * on @cpu has run every softirq raised there before it once this moves.
 */
uint64_t kvt_flood_softirq_passes(int cpu);

/* Whether @cpu is in a quiet stretch of its duty cycle at @now_ns.  Context: any. */
bool kvt_flood_cpu_quiet(int cpu, uint64_t now_ns);
/* The quiet CPUs at @now_ns, a bit each.  Context: any. */
uint64_t kvt_flood_quiet_mask(uint64_t now_ns);
/* @cpu's quiet stretches from the flood's start to @end_ns (clipped to it). */
struct kvt_quiet_stats {
	uint64_t periods;		/* stretches begun */
	uint64_t total_ns, longest_ns;
};
void kvt_flood_quiet_stats(int cpu, uint64_t end_ns, struct kvt_quiet_stats *q);

/* Calls made by the flooders, by scenario, CPU and context (racy reads). */
struct kvt_flood_stats {
	uint64_t calls[KVT_SC_NR][KENV_CTX_NR];
	uint64_t headless[KVT_SC_NR];
	uint64_t cpu_calls[KENV_NR_CPUS_MAX][KENV_CTX_NR];
	uint64_t cpu_headless[KENV_NR_CPUS_MAX];
	uint64_t nmi_calls[KENV_NR_CPUS_MAX];	/* NMI calls made (each must be refused) */
	uint64_t reader_sections, reader_objects;
	uint64_t hotplug_cycles, shrinker_runs, starvations, barriers;
	uint64_t barriers_while_quiet;		/* begun while some CPU was quiet */
	uint64_t barrier_shrinks;		/* shrinker runs racing a barrier */
	/* misuse: calls made that must warn, by kind */
	uint64_t misuse_double, misuse_headless_atomic, misuse_nmi;
};
void kvt_flood_stats(struct kvt_flood_stats *st);
/* The flooders' calls to kvfree_rcu() so far (the watchdog's sign of a moving flood). */
uint64_t kvt_flood_calls(void);

#endif /* KVTORTURE_FLOOD_H */
