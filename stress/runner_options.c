/* SPDX-License-Identifier: MIT */
/*
 * runner_options.c - the stress runner's options (see runner_internal.h):
 * parsing them, the help text, --list-scenarios, and the command line that
 * reproduces the run, which every report and failure message carries.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flood.h"
#include "posix_env.h"
#include "runner_internal.h"
#include "splitmix64.h"

struct stress_opts runner_opts;
const char *runner_prog = "kvtorture stress";
char runner_repro[2048];

static void usage(FILE *f)
{
	/* The scenario names come from the registry (scenarios.def). */
	fprintf(f,
		"usage: %s [--scenario NAME[,NAME]] [--cpus N] [--duration S] [--seed X]\n"
		"          [--policy kernel|watermark|nolocks|all] [--report DIR] [options]\n"
		"scenarios: ", runner_prog);
	kvt_scenario_print_names(f, KVT_KIND_FLOOD);
	fprintf(f, " all\n           (test only: ");
	kvt_scenario_print_names(f, KVT_KIND_NEGATIVE);
	fprintf(f,
		")\n"
		"policy: all runs each in turn, the duration split between them (the default\n"
		"        of --scenario all; otherwise kernel)\n"
		"options: --irq-rate N  --nmi-rate N  --threads N (syscall threads per CPU)\n"
		"         --fault-ppm N  --page-entries N  --cache-pages N  --drain-ms N\n"
		"         --checkpoint-ms N (between in-run checkpoints; 0: none; default 1000)\n"
		"         --duty-cycle PCT (every CPU floods PCT %% of the time; idle: odd CPUs, 30)\n"
		"         --quiet-ms N (a quiet stretch; default the drain delay + 2000)\n"
		"         --barrier-threads N  --barrier-rate N (barrier: threads, per second each)\n"
		"         --check-unlock (debug: structural checks at every krc unlock)\n"
		"         --watchdog S  --no-chaos  --no-plots  --quiet\n"
		"         --list-scenarios (print them: name, kind, in all, bench, description)\n"
		"         --env-fault gp-early (test: end GPs without waiting for readers)\n"
		"         --free-cost-us N (test: every object free spins N us: slow reclaim)\n"
		"         --expect-violation ID (test: exit 0 only if ID is reported)\n"
		"exit: 0 pass, 1 violation, 2 bad options, 3 watchdog (hang), 99 set-up error\n");
}

static _Noreturn void bad_option(int argi, const char *fmt, const char *what)
{
	fprintf(stderr, "%s: argument %d: ", runner_prog, argi);
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n(try --help)\n");
	exit(2);
}

static unsigned long long parse_num(int argi, const char *name, const char *v,
				    unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-')
		bad_option(argi, "'%s' is not a number", v);
	if (x < min || x > max) {
		fprintf(stderr, "%s: argument %d: %s %s is out of range [%llu, %llu]\n", runner_prog,
			argi, name, v, min, max);
		exit(2);
	}
	return x;
}

/* The options' getopt_long() values: past every character, so none is a short option. */
enum {
	OPT_HELP = 256, OPT_LIST_SCENARIOS, OPT_NO_CHAOS, OPT_NO_PLOTS, OPT_QUIET,
	OPT_SCENARIO, OPT_CPUS, OPT_DURATION, OPT_SEED, OPT_POLICY, OPT_REPORT,
	OPT_IRQ_RATE, OPT_NMI_RATE, OPT_THREADS, OPT_FAULT_PPM, OPT_PAGE_ENTRIES,
	OPT_CACHE_PAGES, OPT_DRAIN_MS, OPT_WATCHDOG, OPT_ENV_FAULT, OPT_EXPECT_VIOLATION,
	OPT_CHECKPOINT_MS, OPT_DUTY_CYCLE, OPT_QUIET_MS, OPT_BARRIER_THREADS, OPT_BARRIER_RATE,
	OPT_CHECK_UNLOCK, OPT_FREE_COST_US,
};

static const struct option longopts[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ "list-scenarios", no_argument, NULL, OPT_LIST_SCENARIOS },
	{ "no-chaos", no_argument, NULL, OPT_NO_CHAOS },
	{ "no-plots", no_argument, NULL, OPT_NO_PLOTS },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "irq-rate", required_argument, NULL, OPT_IRQ_RATE },
	{ "nmi-rate", required_argument, NULL, OPT_NMI_RATE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "fault-ppm", required_argument, NULL, OPT_FAULT_PPM },
	{ "page-entries", required_argument, NULL, OPT_PAGE_ENTRIES },
	{ "cache-pages", required_argument, NULL, OPT_CACHE_PAGES },
	{ "drain-ms", required_argument, NULL, OPT_DRAIN_MS },
	{ "watchdog", required_argument, NULL, OPT_WATCHDOG },
	{ "env-fault", required_argument, NULL, OPT_ENV_FAULT },
	{ "expect-violation", required_argument, NULL, OPT_EXPECT_VIOLATION },
	{ "checkpoint-ms", required_argument, NULL, OPT_CHECKPOINT_MS },
	{ "duty-cycle", required_argument, NULL, OPT_DUTY_CYCLE },
	{ "quiet-ms", required_argument, NULL, OPT_QUIET_MS },
	{ "barrier-threads", required_argument, NULL, OPT_BARRIER_THREADS },
	{ "barrier-rate", required_argument, NULL, OPT_BARRIER_RATE },
	{ "check-unlock", no_argument, NULL, OPT_CHECK_UNLOCK },
	{ "free-cost-us", required_argument, NULL, OPT_FREE_COST_US },
	{ NULL, 0, NULL, 0 },
};

static void set_defaults(void)
{
	struct stress_opts *o = &runner_opts;
	struct kvt_flood_config fdef;

	kvt_flood_config_default(&fdef);
	memset(o, 0, sizeof(*o));
	o->scenario = "all";
	o->mask = kvt_scenario_all_mask();
	o->cpus = 4;
	o->duration_s = 10;
	o->policy_name = NULL;		/* resolved once the scenarios are known */
	o->irq_rate = fdef.irq_rate;
	o->nmi_rate = fdef.nmi_rate;
	o->users = fdef.users_per_cpu;
	o->fault_ppm = fdef.fault_ppm;
	o->cache_pages = -1;
	o->drain_ms = -1;
	o->watchdog_s = 10;
	o->checkpoint_ms = 1000;
	o->duty_percent = 100;
	o->quiet_ms = -1;
	o->barrier_threads = fdef.barrier_threads;
	o->barrier_rate = fdef.barrier_rate;
	o->chaos = true;
	o->plots = true;
	/* Printed first, and part of the reproducing command: any value will do. */
	o->seed = splitmix64_mix((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
}

static void set_scenario(int argi, const char *v)
{
	const char *bad;
	size_t bad_len;

	if (!kvt_scenario_parse(v, &runner_opts.mask, &bad, &bad_len)) {
		fprintf(stderr, "%s: argument %d: unknown scenario '%.*s' in '%s'\n", runner_prog,
			argi, (int)bad_len, bad, v);
		usage(stderr);
		exit(2);
	}
	runner_opts.scenario = v;
}

/* Set option @id, named @name, to @v, read from argument @argi; exits 2 if @v is bad. */
static void set_option(int id, const char *name, const char *v, int argi)
{
	struct stress_opts *o = &runner_opts;

	switch (id) {
	case OPT_NO_CHAOS:
		o->chaos = false;
		break;
	case OPT_CHECK_UNLOCK:
		o->check_unlock = true;
		break;
	case OPT_NO_PLOTS:
		o->plots = false;
		break;
	case OPT_QUIET:
		o->quiet = true;
		break;
	case OPT_SCENARIO:
		set_scenario(argi, v);
		break;
	case OPT_CPUS:
		o->cpus = (int)parse_num(argi, name, v, 1, KENV_NR_CPUS_MAX);
		break;
	case OPT_DURATION:
		o->duration_s = (unsigned int)parse_num(argi, name, v, 1, 86400);
		break;
	case OPT_SEED:
		o->seed = parse_num(argi, name, v, 0, UINT64_MAX);
		break;
	case OPT_POLICY:
		if (strcmp(v, "all") && !kvfree_policy_parse(v, &o->policies[0]))
			bad_option(argi, "unknown policy '%s' (kernel, watermark, nolocks, all)", v);
		o->policy_name = v;
		break;
	case OPT_REPORT:
		o->report_dir = v;
		break;
	case OPT_IRQ_RATE:
		o->irq_rate = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		break;
	case OPT_NMI_RATE:
		o->nmi_rate = (unsigned int)parse_num(argi, name, v, 0, 100000);
		break;
	case OPT_THREADS:
		o->users = (unsigned int)parse_num(argi, name, v, 1, 16);
		break;
	case OPT_FAULT_PPM:
		o->fault_ppm = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		break;
	case OPT_PAGE_ENTRIES:
		o->page_entries = (unsigned int)parse_num(argi, name, v, KVFREE_PAGE_ENTRIES_MIN,
							  KVFREE_PAGE_ENTRIES_MAX);
		break;
	case OPT_CACHE_PAGES:
		o->cache_pages = (int)parse_num(argi, name, v, 0, KVFREE_CACHE_PAGES_MAX);
		break;
	case OPT_DRAIN_MS:
		o->drain_ms = (int)parse_num(argi, name, v, 0, 60000);
		break;
	case OPT_WATCHDOG:
		o->watchdog_s = (unsigned int)parse_num(argi, name, v, 1, 3600);
		break;
	case OPT_ENV_FAULT:
		if (strcmp(v, "gp-early"))
			bad_option(argi, "unknown --env-fault '%s' (gp-early)", v);
		o->gp_early = true;
		break;
	case OPT_CHECKPOINT_MS:
		o->checkpoint_ms = (unsigned int)parse_num(argi, name, v, 0, 600000);
		break;
	case OPT_DUTY_CYCLE:
		o->duty_percent = (unsigned int)parse_num(argi, name, v, 1, 100);
		o->duty_set = true;
		break;
	case OPT_QUIET_MS:
		o->quiet_ms = (int)parse_num(argi, name, v, 1, 600000);
		break;
	case OPT_BARRIER_THREADS:
		o->barrier_threads = (unsigned int)parse_num(argi, name, v, 1, 16);
		break;
	case OPT_BARRIER_RATE:
		o->barrier_rate = (unsigned int)parse_num(argi, name, v, 1, 10000);
		break;
	case OPT_FREE_COST_US:
		o->free_cost_us = (unsigned int)parse_num(argi, name, v, 0, 100000);
		break;
	case OPT_EXPECT_VIOLATION:
		if (!check_inv_parse(v, &o->expect))
			bad_option(argi, "unknown invariant ID '%s'", v);
		o->expect_set = true;
		break;
	}
}

/*
 * What getopt_long() returned @c for at argument @argi: a missing value
 * (':'), or '?': an option that takes no value given one, an unknown or
 * ambiguous long option, or anything else starting with '-'.
 */
static _Noreturn void option_error(int c, int argi, const char *arg)
{
	char name[64];

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	if (c == ':')
		bad_option(argi, "%s needs a value", name);
	if (optopt >= OPT_HELP)
		bad_option(argi, "%s takes no value", name);
	if (!strncmp(arg, "--", 2))
		bad_option(argi, "unknown option '%s'", name);
	bad_option(argi, "unexpected argument '%s'", arg);
}

/* Whether the --scenario list names `all`. */
static bool names_all(const char *list)
{
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == 3 && !strncmp(p, "all", 3))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/*
 * The phases' policies: the one given, or all three in turn for "all",
 * which is also the default of --scenario all (so the combined flood meets
 * every refill policy); otherwise the kernel's.
 */
static void resolve_policies(void)
{
	struct stress_opts *o = &runner_opts;

	if (!o->policy_name)
		o->policy_name = names_all(o->scenario) ? "all" : "kernel";
	if (strcmp(o->policy_name, "all")) {
		kvfree_policy_parse(o->policy_name, &o->policies[0]);
		o->nr_policies = 1;
		return;
	}
	for (int p = 0; p < KVFREE_POLICY_NR; p++)
		o->policies[p] = (enum kvfree_policy)p;
	o->nr_policies = KVFREE_POLICY_NR;
}

static void parse_options(int argc, char **argv)
{
	set_defaults();
	/* A ':' optstring and opterr off: errors are reported here, naming the argument. */
	optind = 0;
	opterr = 0;
	for (;;) {
		/*
		 * The argument this option starts at: there are no short options
		 * to bundle, so it is where getopt_long() stands (0: not yet begun).
		 */
		int argi = optind ? optind : 1;
		int idx = 0;
		char name[64];
		/* '+': stop at the first argument that is not an option. */
		int c = getopt_long(argc, argv, "+:", longopts, &idx);

		if (c == -1)
			break;
		if (c == ':' || c == '?')
			option_error(c, argi, argv[argi]);
		if (c == OPT_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == OPT_LIST_SCENARIOS) {
			kvt_scenario_list(stdout);
			exit(0);
		}
		snprintf(name, sizeof(name), "--%s", longopts[idx].name);
		set_option(c, name, optarg, argi);
	}
	if (optind < argc)
		bad_option(optind, "unexpected argument '%s'", argv[optind]);
	resolve_policies();
}

/* The command that re-runs this run: the seed and every option that matters. */
static void build_repro(void)
{
	const struct stress_opts *o = &runner_opts;
	char *r = runner_repro;
	size_t n;

	n = (size_t)snprintf(r, sizeof(runner_repro),
			     "%s --scenario %s --cpus %d --duration %u --seed %" PRIu64 " --policy %s",
			     runner_prog, o->scenario, o->cpus, o->duration_s, o->seed,
			     o->policy_name);
#define APPEND(...)                                                                      \
	do {                                                                             \
		if (n < sizeof(runner_repro))                                            \
			n += (size_t)snprintf(r + n, sizeof(runner_repro) - n, __VA_ARGS__); \
	} while (0)
	if (o->report_dir)
		APPEND(" --report %s", o->report_dir);
	APPEND(" --irq-rate %u --nmi-rate %u --threads %u --fault-ppm %u --watchdog %u",
	       o->irq_rate, o->nmi_rate, o->users, o->fault_ppm, o->watchdog_s);
	APPEND(" --checkpoint-ms %u --barrier-threads %u --barrier-rate %u", o->checkpoint_ms,
	       o->barrier_threads, o->barrier_rate);
	if (o->duty_set)
		APPEND(" --duty-cycle %u", o->duty_percent);
	if (o->quiet_ms >= 0)
		APPEND(" --quiet-ms %d", o->quiet_ms);
	if (o->page_entries)
		APPEND(" --page-entries %u", o->page_entries);
	if (o->cache_pages >= 0)
		APPEND(" --cache-pages %d", o->cache_pages);
	if (o->drain_ms >= 0)
		APPEND(" --drain-ms %d", o->drain_ms);
	if (!o->chaos)
		APPEND(" --no-chaos");
	if (o->check_unlock)
		APPEND(" --check-unlock");
	if (o->gp_early)
		APPEND(" --env-fault gp-early");
	if (o->free_cost_us)
		APPEND(" --free-cost-us %u", o->free_cost_us);
	if (o->expect_set)
		APPEND(" --expect-violation %s", check_inv_name(o->expect));
#undef APPEND
}

void runner_parse_options(int argc, char **argv)
{
	if (argc > 0 && argv[0]) {
		const char *base = strrchr(argv[0], '/');

		base = base ? base + 1 : argv[0];
		runner_prog = !strcmp(base, "stress") ? "kvtorture stress" : argv[0];
	}
	parse_options(argc, argv);
	build_repro();
}
