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

/* Calls made by the flooders, by scenario, CPU and context (racy reads). */
struct kvt_flood_stats {
	uint64_t calls[KVT_SC_NR][KENV_CTX_NR];
	uint64_t headless[KVT_SC_NR];
	uint64_t cpu_calls[KENV_NR_CPUS_MAX][KENV_CTX_NR];
	uint64_t cpu_headless[KENV_NR_CPUS_MAX];
	uint64_t nmi_calls[KENV_NR_CPUS_MAX];	/* NMI calls made (each must be refused) */
	uint64_t reader_sections, reader_objects;
	uint64_t hotplug_cycles, shrinker_runs, starvations, barriers;
};
void kvt_flood_stats(struct kvt_flood_stats *st);
/* All calls so far (for progress and the watchdog). */
uint64_t kvt_flood_calls(void);

#endif /* KVTORTURE_FLOOD_H */
