/* SPDX-License-Identifier: MIT */
/*
 * cli.h - `kvtorture`, the command line, as a library.
 *
 * The command line is compiled once (kvt_cli) and linked into one program
 * per implementation variant of the build: the reference implementation
 * (kvtorture), each catalogued bug re-injected (kvtorture-B8 ...), a kernel
 * tree's own code (kvtorture-kernel).  What differs between them is the
 * variant record each program's main (cli_main.c, compiled per variant from
 * the meson variant table) hands over: the implementation's name, the bug
 * built in, and the sibling programs it runs for the commands one program
 * cannot (stress and bench link another environment; --impl kernel another
 * implementation).  Driver only: the commands run the simulation on the
 * calling thread.
 */
#ifndef KVTORTURE_CLI_H
#define KVTORTURE_CLI_H

struct kvt_cli_variant {
	const char *impl;		/* "reference" or "kernel" */
	const char *injected_bug;	/* the catalogued bug built in, "" for none */
	/* Programs beside this one (relative to its folder), NULL where not built. */
	const char *stress_program;	/* `kvtorture stress` */
	const char *bench_program;	/* `kvtorture bench` */
	const char *kernel_program;	/* `--impl kernel` */
};

/* The running program's variant (set before any command runs). */
extern const struct kvt_cli_variant *kvt_cli;

/*
 * Run the command line with @argv on behalf of @variant; returns the exit
 * status (0 pass, 1 violated, 2 bad usage or input, 77 skipped, 99 set-up).
 */
int kvt_cli_main(const struct kvt_cli_variant *variant, int argc, char **argv);

#endif /* KVTORTURE_CLI_H */
