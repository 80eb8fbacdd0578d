/* SPDX-License-Identifier: MIT */
/*
 * exec.h - the op executor: runs an op program (ops.h) against the reference
 * kvfree_rcu() implementation inside the deterministic simulation (sim.h),
 * with the invariant checker (check.h) watching.
 *
 * One kvt_run() is one complete, self-contained run: fresh sim, init, the ops
 * in order, then quiescence (readers end, slot objects are retired, work runs,
 * GPs complete, kvfree_rcu_barrier()), check_final(), exit.  The same program
 * gives the same trace, bit for bit, so kvt_run_trace_hash() fingerprints it.
 * Between ops the structures are checked (check_structure()), and in their
 * debug mode at every krc unlock too.  A program with pct-depth or a
 * pct-change op runs under the sim's PCT scheduling (sim.h).
 *
 * What each op does (the op's text name, see ops.h):
 *   queue / retire      a task or kthread coroutine (sim_spawn), or a softirq or
 *                       hardirq on an idle CPU (sim_call_irq), calls kvfree_rcu()
 *                       or kvfree_rcu_mightsleep() on a new object / on the
 *                       object of a slot, which retire unpublishes first;
 *   publish/unpublish   a new object enters a slot readers can reach / leaves it;
 *   reader-*            explicit read-side sections (sim_reader_*); a reader
 *                       also checks at its end that what it reached still lives;
 *   gp-*, advance, run-pending, preempt, migrate, fail-allocs, cpu-*:
 *                       the sim's driver calls of the same name;
 *   inject-irq / -nmi   a handler that queues at the next instrumentation point;
 *   shrink-*, barrier   a kthread / task calling the shrinker or the barrier;
 *   queue-loop          a task queueing k objects with preemption, bh or irqs
 *                       optionally disabled;
 *   misuse-*            double queue, a call from NMI, a headless call from
 *                       atomic context: expected to be detected, never harmful;
 *   pct-change          a PCT priority change point @after steps on
 *                       (sim_pct_change_after()).
 * An op that cannot apply (an offline CPU, an empty slot, a reader not inside,
 * cpu-offline while an explicit reader is inside: its hook may wait for a GP
 * that reader blocks) is traced and skipped: every program runs.
 *
 * Driver only: call from the program's main stack, one run at a time.
 */
#ifndef KVTORTURE_EXEC_H
#define KVTORTURE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "kenv.h"
#include "ops.h"

/* The objects the executor hands to kvfree_rcu(). */
struct kvt_obj {
	struct kenv_rcu_head rh;
	uint64_t canary;	/* KVT_OBJ_CANARY while the object lives */
	uint64_t serial;	/* per run, from 1: tells a reused address apart */
};

#define KVT_OBJ_CANARY 0x6b7674636f626a31ULL

struct kvt_run_opts {
	/* >= 0: write each op as it runs, then the retained trace, to this fd. */
	int trace_fd;
	/* CHECK_ABORT: exit 1 at the first violation; CHECK_RECORD: finish and return 1. */
	enum check_mode mode;
	/* Command that reproduces the run, printed in reports (NULL: none). */
	const char *repro;
	/* Run on the first violation in CHECK_ABORT mode (writes the reproducer). */
	void (*abort_hook)(enum check_inv inv, const char *report);
	/* Print no violation report (tests that provoke them on purpose). */
	bool quiet;
	/*
	 * Called on the driver's stack after each op (@idx is its index), for
	 * callers that check or perturb the run between ops.  NULL: none.
	 */
	void (*after_op)(size_t idx, void *arg);
	void *after_op_arg;
	/*
	 * The structural checks (check.h) run between ops and at every krc
	 * unlock unless this is set (a run that must cost what it cost before
	 * them, for a measurement).
	 */
	bool no_structure_checks;
	/*
	 * Leave the trace hash uncomputed (check_set_trace_hash()): for a
	 * caller that never reads it (the fuzz targets).  trace_hash is 0.
	 */
	bool no_trace_hash;
};

/* trace_fd -1, CHECK_ABORT, no repro, no hook, not quiet. */
void kvt_run_opts_default(struct kvt_run_opts *opts);

/*
 * Run @prog (@opts NULL: defaults).  Returns 0 when every invariant held, 1 on
 * a violation (in CHECK_ABORT mode the checker exits 1 itself), 2 if the
 * implementation refused the configuration.  Driver only; not reentrant.
 */
int kvt_run(const struct kvt_prog *prog, const struct kvt_run_opts *opts);

/*
 * The object in @slot (published or not, still owned by the slot), or NULL.
 * Driver only, during a run (from an after_op hook).
 */
struct kvt_obj *kvt_run_slot(unsigned int slot);

/* What the last kvt_run() saw. */
struct kvt_run_result {
	uint64_t trace_hash;		/* check_trace_hash() at the end of the run */
	enum check_inv violated;	/* first violation, INV_NR for none */
	size_t ops_run;			/* ops executed (fewer after a violation) */
	size_t ops_skipped;		/* ops that could not apply */
	unsigned long pct_steps;	/* PCT steps taken (0 without PCT) */
};
void kvt_run_last(struct kvt_run_result *res);
/* Shorthand: the last run's trace hash. */
uint64_t kvt_run_trace_hash(void);

#endif /* KVTORTURE_EXEC_H */
