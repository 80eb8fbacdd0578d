// SPDX-License-Identifier: MIT
/*
 * kvbench - timing runs of deferred freeing, side by side.
 *
 *   kvbench [methods] [--methods LIST] [--threads LIST] [--reps N] [--ms N]
 *           [--reclaim worker,inline] [--policy kernel,watermark,nolocks]
 *           [--no-irq] [--gp-on-get-state] [--out DIR] [--no-plots] [--quiet]
 *   kvbench policies [--kvstress PATH] [--seconds S] [--scenarios LIST]
 *           [--policy LIST] [--cpus N] [--reps N] [--out DIR] [--no-plots]
 *
 * The first form times kvfree_rcu() (both forms), liburcu's call_rcu(),
 * defer_rcu() and synchronize_rcu() + free, and plain free() on the
 * unchecked flavour of the posix environment (posix_env.h), for each number
 * of caller threads, in task context and (for what may run there) in
 * hardirq context, each configuration --reps times, interleaved.  It prints a table, and with --out writes
 * DIR/methods.json and gnuplot plots.  The second form runs the stress
 * runner under each flooding scenario and policy and compares the policies
 * (bench_policy.h).
 *
 * Exit codes: 0 done; 1 a run lost objects, the implementation warned or
 * (policies) a stress run failed; 2 bad usage, or (policies) a report.json
 * that cannot be read; 99 set-up error.  KVBENCH_DEBUG=1 in the environment prints
 * each CPU's kvfree_rcu counters after every kvfree_rcu run.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_obj.h"
#include "bench_policy.h"
#include "bench_report.h"
#include "bench_run.h"

#define MAX_ROWS 256
#define MAX_LIST 16

static const char usage[] =
	"usage: kvbench [methods] [--methods LIST] [--threads LIST] [--reps N] [--ms N]\n"
	"               [--reclaim worker,inline] [--policy kernel,watermark,nolocks]\n"
	"               [--no-irq] [--gp-on-get-state] [--out DIR] [--no-plots] [--quiet]\n"
	"       kvbench policies [--kvstress PATH] [--seconds S] [--scenarios LIST]\n"
	"               [--policy LIST] [--cpus N] [--reps N] [--out DIR] [--no-plots]\n"
	"methods: kvfree_rcu kvfree_rcu_headless call_rcu defer_rcu synchronize_rcu free\n";

static _Noreturn void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvbench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage);
	exit(2);
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		bad_usage("bad number for %s", opt);
	return v;
}

/* Split a comma list into at most MAX_LIST items of @buf; returns the count. */
static int split_list(char *buf, char *items[MAX_LIST])
{
	int n = 0;

	for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
		if (n == MAX_LIST)
			bad_usage("too many items in a list near %s", tok);
		items[n++] = tok;
	}
	return n;
}

struct options {
	enum bench_method methods[BM_NR];
	int nr_methods;
	int threads[MAX_LIST];
	int nr_threads;
	enum posix_reclaim reclaims[POSIX_RECLAIM_NR];
	int nr_reclaims;
	enum kvfree_policy policies[KVFREE_POLICY_NR];
	int nr_policies;
	int reps;
	uint64_t duration_ns;
	bool irq, gp_on_get_state, plots, quiet;
	const char *out;
};

static void parse_methods(struct options *o, char *list)
{
	char *items[MAX_LIST];
	int n = split_list(list, items);

	o->nr_methods = 0;
	for (int i = 0; i < n; i++) {
		enum bench_method m;

		if (!bench_method_parse(items[i], &m))
			bad_usage("unknown method %s", items[i]);
		if (o->nr_methods < BM_NR)
			o->methods[o->nr_methods++] = m;
	}
}

static void parse_threads(struct options *o, char *list)
{
	char *items[MAX_LIST];
	int n = split_list(list, items);

	o->nr_threads = n;
	for (int k = 0; k < n; k++)
		o->threads[k] = (int)parse_num("--threads", items[k], 1, KENV_NR_CPUS_MAX);
}

static void parse_reclaims(struct options *o, char *list)
{
	char *items[MAX_LIST];
	int n = split_list(list, items);

	o->nr_reclaims = 0;
	for (int k = 0; k < n && o->nr_reclaims < POSIX_RECLAIM_NR; k++)
		if (!bench_reclaim_parse(items[k], &o->reclaims[o->nr_reclaims++]))
			bad_usage("unknown reclaim mode %s (worker, inline)", items[k]);
}

static void parse_policies(struct options *o, char *list)
{
	char *items[MAX_LIST];
	int n = split_list(list, items);

	o->nr_policies = 0;
	for (int k = 0; k < n && o->nr_policies < KVFREE_POLICY_NR; k++)
		if (!kvfree_policy_parse(items[k], &o->policies[o->nr_policies++]))
			bad_usage("unknown policy %s", items[k]);
}

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	for (int m = 0; m < BM_NR; m++)
		o->methods[o->nr_methods++] = (enum bench_method)m;
	o->threads[0] = 1;
	o->threads[1] = 2;
	o->threads[2] = 4;
	o->nr_threads = 3;
	o->reclaims[0] = POSIX_RECLAIM_WORKER;
	o->reclaims[1] = POSIX_RECLAIM_INLINE;
	o->nr_reclaims = 2;
	o->policies[0] = KVFREE_POLICY_KERNEL;
	o->nr_policies = 1;
	o->reps = 5;
	o->duration_ns = 200ull * 1000 * 1000;
	o->irq = true;
	o->plots = true;
}

/* The long options' getopt_long() values: past every character. */
enum {
	OPT_NO_IRQ = 256, OPT_GP_ON_GET_STATE, OPT_NO_PLOTS, OPT_QUIET, OPT_METHODS,
	OPT_THREADS, OPT_RECLAIM, OPT_POLICY, OPT_REPS, OPT_MS, OPT_OUT,
};

static void parse_options(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "no-irq", no_argument, NULL, OPT_NO_IRQ },
		{ "gp-on-get-state", no_argument, NULL, OPT_GP_ON_GET_STATE },
		{ "no-plots", no_argument, NULL, OPT_NO_PLOTS },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "methods", required_argument, NULL, OPT_METHODS },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "reclaim", required_argument, NULL, OPT_RECLAIM },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "reps", required_argument, NULL, OPT_REPS },
		{ "ms", required_argument, NULL, OPT_MS },
		{ "out", required_argument, NULL, OPT_OUT },
		{ NULL, 0, NULL, 0 },
	};

	set_defaults(o);
	/* "methods", the default form, may be named first; then the options. */
	optind = argc > 1 && !strcmp(argv[1], "methods") ? 2 : 1;
	opterr = 0;
	for (;;) {
		/* Where this option starts: -h is the only short one, and it exits. */
		int argi = optind;
		/* ':' and opterr off: errors are ours; '+': stop at a non-option. */
		int c = getopt_long(argc, argv, "+:h", longopts, NULL);

		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case OPT_NO_IRQ:
			o->irq = false;
			break;
		case OPT_GP_ON_GET_STATE:
			o->gp_on_get_state = true;
			break;
		case OPT_NO_PLOTS:
			o->plots = false;
			break;
		case OPT_QUIET:
			o->quiet = true;
			break;
		case OPT_METHODS:
			parse_methods(o, optarg);
			break;
		case OPT_THREADS:
			parse_threads(o, optarg);
			break;
		case OPT_RECLAIM:
			parse_reclaims(o, optarg);
			break;
		case OPT_POLICY:
			parse_policies(o, optarg);
			break;
		case OPT_REPS:
			o->reps = (int)parse_num("--reps", optarg, 1, BENCH_MAX_REPS);
			break;
		case OPT_MS:
			o->duration_ns = parse_num("--ms", optarg, 1, 600000) * 1000 * 1000;
			break;
		case OPT_OUT:
			o->out = optarg;
			break;
		case ':':
			bad_usage("%s needs a value", argv[argi]);
		default:
			bad_usage("unknown option %s", argv[argi]);
		}
	}
	if (optind < argc)
		bad_usage("unknown option %s", argv[optind]);
	if (!o->nr_methods || !o->nr_threads || !o->nr_reclaims || !o->nr_policies)
		bad_usage("%s", "empty list");
}

static bool has_method(const struct options *o, enum bench_method m)
{
	for (int i = 0; i < o->nr_methods; i++)
		if (o->methods[i] == m)
			return true;
	return false;
}

static void add_row(struct bench_row *rows, int *n, const struct bench_run_config *cfg)
{
	if (*n >= MAX_ROWS)
		bad_usage("%s", "too many configurations");
	memset(&rows[*n], 0, sizeof(rows[*n]));
	rows[*n].cfg = *cfg;
	(*n)++;
}

/* Baselines first, so every kvfree_rcu row's pair partners ran just before it. */
static int build_matrix(const struct options *o, struct bench_row *rows)
{
	static const enum bench_method order[BM_NR] = {
		BM_FREE, BM_CALL_RCU, BM_DEFER_RCU, BM_SYNC_FREE, BM_KVFREE, BM_HEADLESS,
	};
	int n = 0;

	for (int t = 0; t < o->nr_threads; t++) {
		for (int irq = 0; irq <= (o->irq ? 1 : 0); irq++) {
			for (int k = 0; k < BM_NR; k++) {
				struct bench_run_config cfg = {
					.method = order[k], .threads = o->threads[t], .irq = irq,
					.reclaim = POSIX_RECLAIM_WORKER, .policy = KVFREE_POLICY_KERNEL,
					.duration_ns = o->duration_ns,
					.gp_on_get_state = o->gp_on_get_state,
				};

				if (!has_method(o, order[k]) || (irq && !bench_method_irq_ok(order[k])))
					continue;
				if (!bench_method_is_kvfree(order[k])) {
					add_row(rows, &n, &cfg);
					continue;
				}
				for (int r = 0; r < o->nr_reclaims; r++) {
					for (int p = 0; p < o->nr_policies; p++) {
						cfg.reclaim = o->reclaims[r];
						cfg.policy = o->policies[p];
						add_row(rows, &n, &cfg);
					}
				}
			}
		}
	}
	return n;
}

static void join_args(char *buf, size_t len, int argc, char **argv)
{
	buf[0] = 0;
	for (int i = 0; i < argc; i++) {
		size_t used = strlen(buf);

		snprintf(buf + used, len - used, "%s%s", i ? " " : "", argv[i]);
	}
}

static void iso_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int run_methods(int argc, char **argv)
{
	static struct bench_row rows[MAX_ROWS];
	struct options o;
	struct bench_report rep;
	char command[2048], started[32];
	int n;

	/* Before parsing: the list parser cuts argv's lists at the commas. */
	join_args(command, sizeof(command), argc, argv);
	parse_options(&o, argc, argv);
	n = build_matrix(&o, rows);
	if (!n)
		bad_usage("%s", "no configuration to run (irq-only methods with --no-irq?)");
	iso_now(started, sizeof(started));
	if (o.out && mkdir(o.out, 0777) && errno != EEXIST) {
		fprintf(stderr, "kvbench: cannot create %s: %s\n", o.out, strerror(errno));
		return 99;
	}
	bench_ticks_init();
	if (!o.quiet) {
		bench_machine_text(stderr);
		fprintf(stderr, "kvbench: %d configurations x %d repetitions, %.0f ms each\n", n,
			o.reps, (double)o.duration_ns / 1e6);
	}
	for (int rep_i = 0; rep_i < o.reps; rep_i++) {
		for (int i = 0; i < n; i++) {
			struct bench_row *row = &rows[i];
			char label[96];

			bench_run(&row->cfg, &row->res[rep_i]);
			row->reps = rep_i + 1;
			if (!row->res[rep_i].objects) {
				bench_row_label(row, label, sizeof(label));
				fprintf(stderr, "kvbench: %s, repetition %d: no call made (callers starved); "
					"left out of the summary\n", label, rep_i + 1);
			}
			if (o.quiet)
				continue;
			bench_row_label(row, label, sizeof(label));
			fprintf(stderr, "rep %d %-42s %8.1f ns/obj cpu %10llu objs\n", rep_i + 1,
				label, row->res[rep_i].cpu_ns_per_obj,
				(unsigned long long)row->res[rep_i].objects);
		}
	}

	rep = (struct bench_report){ .rows = rows, .nr_rows = n, .command = command,
				     .started = started, .duration_ns = o.duration_ns };
	printf("kvbench %s, %d repetitions, %.0f ms of calls per run, 32-byte objects\n",
	       started, o.reps, (double)o.duration_ns / 1e6);
	bench_machine_text(stdout);
	printf("call latency includes one timer read pair: %.1f ns (median of empty pairs)\n",
	       bench_ticks_to_ns(bench_ticks_overhead()));
	bench_print_table(stdout, &rep);
	if (o.out) {
		char path[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/methods.json", o.out);
		f = fopen(path, "w");
		if (!f) {
			fprintf(stderr, "kvbench: cannot write %s: %s\n", path, strerror(errno));
			return 99;
		}
		bench_write_json(f, &rep);
		fclose(f);
		snprintf(path, sizeof(path), "%s/methods.txt", o.out);
		f = fopen(path, "w");
		if (f) {
			fprintf(f, "kvbench %s: %s\n", started, command);
			bench_machine_text(f);
			fprintf(f, "call latency includes one timer read pair: %.1f ns\n",
				bench_ticks_to_ns(bench_ticks_overhead()));
			bench_print_table(f, &rep);
			fclose(f);
		}
		if (!bench_write_plots(o.out, &rep)) {
			fprintf(stderr, "kvbench: cannot write the plot data in %s\n", o.out);
			return 99;
		}
		if (o.plots)
			bench_run_gnuplot(o.out, "methods.gp");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "policies"))
		return bench_policies_main(argc - 1, argv + 1);
	return run_methods(argc, argv);
}
