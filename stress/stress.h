/* SPDX-License-Identifier: MIT */
/*
 * stress.h - the stress runner: `kvtorture stress ...`.
 *
 *   stress --scenario NAME[,NAME] --cpus N --duration S --seed X
 *          --policy kernel|watermark|nolocks|all --report DIR [more options]
 *   stress --list-scenarios
 *
 * Runs the named flooders (flood.h) against the reference implementation on
 * the posix environment for S seconds, printing the seed first and a
 * progress line each second, then quiesces (stop, drain, kvfree_rcu_barrier),
 * runs the checker's end-of-run checks, prints a summary table and writes
 * DIR/report.json, DIR/timeseries.csv and gnuplot plots.  With --policy all
 * (the default of --scenario all) each refill policy has a phase of its own,
 * S/3 seconds, set up, quiesced and checked on its own.  While it floods, the
 * online PROGRESS monitor looks every 100 ms and a checkpoint every
 * --checkpoint-ms stops the world for the checker's mid-run checks
 * (runner_checkpoint.c).  A violation is reported with the command line that
 * re-runs it, written to DIR atomically.
 * --list-scenarios prints the scenario registry (scenarios.def), one line
 * each, tab-separated: name, kind (flood or negative), in `all` (yes/no),
 * compared by `kvbench policies` (yes/no), description.
 *
 * Exit codes: 0 pass; 1 an invariant was violated; 2 bad options; 3 the
 * watchdog found a thread stuck atomic, a flood that neither called nor
 * freed, or a run past its end not freeing, or a checkpoint could not stop
 * the world (a hang: every thread's state and the per-CPU krc state were
 * dumped, to DIR/hang.txt and stderr); 99 set-up error.
 */
#ifndef KVTORTURE_STRESS_H
#define KVTORTURE_STRESS_H

/* The watchdog's exit code (a hang). */
#define KVT_EXIT_HANG 3

/*
 * Parse @argv (argv[0] names the command, e.g. "stress" or "kvstress") and run.
 * Returns the exit code (or exits with it from a violation or a hang).
 * Context: the main thread of a process, once.
 */
int kvt_stress_main(int argc, char **argv);

#endif /* KVTORTURE_STRESS_H */
