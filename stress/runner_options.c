/* SPDX-License-Identifier: MIT */
/*
 * runner_options.c - the stress runner's options (see runner_internal.h):
 * parsing them, the help text, --list-scenarios, and the command line that
 * reproduces the run, which every report and failure message carries.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flood.h"
#include "posix_env.h"
#include "runner_internal.h"

struct stress_opts runner_opts;
const char *runner_prog = "kvtorture stress";
char runner_repro[2048];

static void usage(FILE *f)
{
	/* The scenario names come from the registry (scenarios.def). */
	fprintf(f,
		"usage: %s [--scenario NAME[,NAME]] [--cpus N] [--duration S] [--seed X]\n"
		"          [--policy kernel|watermark|nolocks] [--report DIR] [options]\n"
		"scenarios: ", runner_prog);
	kvt_scenario_print_names(f, KVT_KIND_FLOOD);
	fprintf(f, " all\n           (test only: ");
	kvt_scenario_print_names(f, KVT_KIND_NEGATIVE);
	fprintf(f,
		")\n"
		"options: --irq-rate N  --nmi-rate N  --threads N (syscall threads per CPU)\n"
		"         --fault-ppm N  --page-entries N  --cache-pages N  --drain-ms N\n"
		"         --watchdog S  --no-chaos  --no-plots  --quiet\n"
		"         --list-scenarios (print them: name, kind, in all, bench, description)\n"
		"         --env-fault gp-early (test: end GPs without waiting for readers)\n"
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

static void parse_options(int argc, char **argv)
{
	struct kvt_flood_config fdef;

	kvt_flood_config_default(&fdef);
	memset(&runner_opts, 0, sizeof(runner_opts));
	runner_opts.scenario = "all";
	runner_opts.mask = kvt_scenario_all_mask();
	runner_opts.cpus = 4;
	runner_opts.duration_s = 10;
	runner_opts.policy = KVFREE_POLICY_KERNEL;
	runner_opts.irq_rate = fdef.irq_rate;
	runner_opts.nmi_rate = fdef.nmi_rate;
	runner_opts.users = fdef.users_per_cpu;
	runner_opts.fault_ppm = fdef.fault_ppm;
	runner_opts.cache_pages = -1;
	runner_opts.drain_ms = -1;
	runner_opts.watchdog_s = 10;
	runner_opts.chaos = true;
	runner_opts.plots = true;
	runner_opts.seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;
		char name[64];
		const char *eq = strchr(a, '=');
		int argi = i;

		if (strncmp(a, "--", 2))
			bad_option(i, "unexpected argument '%s'", a);
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
			v = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
		}
		if (!strcmp(name, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(name, "--list-scenarios")) {
			kvt_scenario_list(stdout);
			exit(0);
		}
		if (!strcmp(name, "--no-chaos")) {
			runner_opts.chaos = false;
			continue;
		}
		if (!strcmp(name, "--no-plots")) {
			runner_opts.plots = false;
			continue;
		}
		if (!strcmp(name, "--quiet")) {
			runner_opts.quiet = true;
			continue;
		}
		if (!v) {
			if (i + 1 >= argc)
				bad_option(i, "%s needs a value", name);
			v = argv[++i];
		}
		if (!strcmp(name, "--scenario")) {
			const char *bad;
			size_t bad_len;

			if (!kvt_scenario_parse(v, &runner_opts.mask, &bad, &bad_len)) {
				fprintf(stderr, "%s: argument %d: unknown scenario '%.*s' in '%s'\n",
					runner_prog, argi, (int)bad_len, bad, v);
				usage(stderr);
				exit(2);
			}
			runner_opts.scenario = v;
		} else if (!strcmp(name, "--cpus")) {
			runner_opts.cpus = (int)parse_num(argi, name, v, 1, KENV_NR_CPUS_MAX);
		} else if (!strcmp(name, "--duration")) {
			runner_opts.duration_s = (unsigned int)parse_num(argi, name, v, 1, 86400);
		} else if (!strcmp(name, "--seed")) {
			runner_opts.seed = parse_num(argi, name, v, 0, UINT64_MAX);
		} else if (!strcmp(name, "--policy")) {
			if (!kvfree_policy_parse(v, &runner_opts.policy))
				bad_option(argi, "unknown policy '%s' (kernel, watermark, nolocks)", v);
		} else if (!strcmp(name, "--report")) {
			runner_opts.report_dir = v;
		} else if (!strcmp(name, "--irq-rate")) {
			runner_opts.irq_rate = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		} else if (!strcmp(name, "--nmi-rate")) {
			runner_opts.nmi_rate = (unsigned int)parse_num(argi, name, v, 0, 100000);
		} else if (!strcmp(name, "--threads")) {
			runner_opts.users = (unsigned int)parse_num(argi, name, v, 1, 16);
		} else if (!strcmp(name, "--fault-ppm")) {
			runner_opts.fault_ppm = (unsigned int)parse_num(argi, name, v, 0, 1000000);
		} else if (!strcmp(name, "--page-entries")) {
			runner_opts.page_entries = (unsigned int)parse_num(argi, name, v,
								    KVFREE_PAGE_ENTRIES_MIN,
								    KVFREE_PAGE_ENTRIES_MAX);
		} else if (!strcmp(name, "--cache-pages")) {
			runner_opts.cache_pages = (int)parse_num(argi, name, v, 0, KVFREE_CACHE_PAGES_MAX);
		} else if (!strcmp(name, "--drain-ms")) {
			runner_opts.drain_ms = (int)parse_num(argi, name, v, 0, 60000);
		} else if (!strcmp(name, "--watchdog")) {
			runner_opts.watchdog_s = (unsigned int)parse_num(argi, name, v, 1, 3600);
		} else if (!strcmp(name, "--env-fault")) {
			if (strcmp(v, "gp-early"))
				bad_option(argi, "unknown --env-fault '%s' (gp-early)", v);
			runner_opts.gp_early = true;
		} else if (!strcmp(name, "--expect-violation")) {
			if (!check_inv_parse(v, &runner_opts.expect))
				bad_option(argi, "unknown invariant ID '%s'", v);
			runner_opts.expect_set = true;
		} else {
			bad_option(argi, "unknown option '%s'", name);
		}
	}
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
			     kvfree_policy_name(o->policy));
#define APPEND(...)                                                                      \
	do {                                                                             \
		if (n < sizeof(runner_repro))                                            \
			n += (size_t)snprintf(r + n, sizeof(runner_repro) - n, __VA_ARGS__); \
	} while (0)
	if (o->report_dir)
		APPEND(" --report %s", o->report_dir);
	APPEND(" --irq-rate %u --nmi-rate %u --threads %u --fault-ppm %u --watchdog %u",
	       o->irq_rate, o->nmi_rate, o->users, o->fault_ppm, o->watchdog_s);
	if (o->page_entries)
		APPEND(" --page-entries %u", o->page_entries);
	if (o->cache_pages >= 0)
		APPEND(" --cache-pages %d", o->cache_pages);
	if (o->drain_ms >= 0)
		APPEND(" --drain-ms %d", o->drain_ms);
	if (!o->chaos)
		APPEND(" --no-chaos");
	if (o->gp_early)
		APPEND(" --env-fault gp-early");
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
