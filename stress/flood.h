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
 */
#ifndef KVTORTURE_FLOOD_H
#define KVTORTURE_FLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "kenv.h"

enum kvt_scenario {
	KVT_SC_SYSCALL,		/* user threads, both forms */
	KVT_SC_KTHREAD,		/* kthreads: plain, preempt off, bh off, irqs off */
	KVT_SC_SOFTIRQ,		/* softirq handlers with item and time budgets */
	KVT_SC_IRQ,		/* interrupt storms on every CPU, two-argument form */
	KVT_SC_NMI,		/* calls from NMI: refused and counted */
	KVT_SC_RCU_STALL,	/* readers holding read-side sections for long */
	KVT_SC_PRESSURE,	/* page allocation failures and shrinker runs */
	KVT_SC_HOTPLUG,		/* CPUs going offline and online */
	/* Test-only: deliberately broken drivers (negative tests). */
	KVT_SC_BUG_ALLOC_LOCKED,	/* kenv_page_alloc(NOWAIT) under a raw lock */
	KVT_SC_BUG_MALLOC_LOCKED,	/* malloc() under a raw lock (the interposer) */
	KVT_SC_BUG_STALL,		/* a thread spinning under a raw lock (the watchdog) */
	KVT_SC_NR
};

#define KVT_SC_ALL_MASK ((1u << KVT_SC_BUG_ALLOC_LOCKED) - 1)

/* "syscall", ...; NULL out of range. */
const char *kvt_scenario_name(enum kvt_scenario sc);
/*
 * Parse "NAME[,NAME...]" ("all" is every non-test scenario) into a bit mask;
 * on error return false with @bad pointing at the offending name.
 */
bool kvt_scenario_parse(const char *list, unsigned int *mask, const char **bad, size_t *bad_len);

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
