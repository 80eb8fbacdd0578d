// SPDX-License-Identifier: MIT
/*
 * bench_policy.c - `kvbench policies` (see bench_policy.h).
 *
 * The stress runner is a separate program (it links the checked posix
 * environment; this one links the unchecked flavour), so it is run as a
 * child and read back through its report.json, whose layout it owns.  The
 * report is read with json-c: keys are looked up by name, whatever the
 * spacing, and a report that is not JSON or lacks a key is refused with the
 * file, line and column, never read as zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench_baseline.h"
#include "bench_policy.h"
#include "bench_report.h"
#include "kvfree_rcu.h"
#include "sibling.h"

#define MAX_REPS 8
/* Exit code of a report that cannot be read: bad input, as for bad options. */
#define EXIT_BAD_INPUT 2

/* The scenarios compared: those with BENCH set in stress/scenarios.def. */
#define BENCH_NAME_0(name)
#define BENCH_NAME_1(name) name,
static const char *const scenarios[] = {
#define KVT_SCENARIO(id, name, kind, in_all, bench, start, desc) BENCH_NAME_##bench(name)
#include "scenarios.def"
};
#define NR_SCENARIOS ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

/* ---------------------------------------------------------------------------
 * report.json
 */

/* The 1-based line and column of byte @off of @text. */
static void line_col(const char *text, size_t off, unsigned int *line, unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

struct json_object *bench_json_parse(const char *text, const char *name, char *err,
				     size_t errlen)
{
	size_t len = strlen(text), end;
	struct json_tokener *tok;
	struct json_object *root;
	enum json_tokener_error jerr;
	unsigned int line, col;

	if (len > INT_MAX) {
		bench_set_err(err, errlen, "%s: too large to be a report", name);
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		bench_set_err(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!root && jerr == json_tokener_continue) {
		line_col(text, len, &line, &col);
		bench_set_err(err, errlen, "%s:%u:%u: truncated: the JSON text ends inside a value",
			name, line, col);
		return NULL;
	}
	if (!root) {
		line_col(text, end, &line, &col);
		bench_set_err(err, errlen, "%s:%u:%u: not JSON: %s", name, line, col,
			json_tokener_error_desc(jerr));
		return NULL;
	}
	end += strspn(text + end, " \t\r\n");
	if (end < len) {
		line_col(text, end, &line, &col);
		bench_set_err(err, errlen, "%s:%u:%u: text after the JSON value", name, line, col);
		json_object_put(root);
		return NULL;
	}
	return root;
}

/* The unsigned integer at JSON pointer @ptr below @obj ("/fallbacks/list"). */
static bool get_u64(struct json_object *obj, const char *ptr, uint64_t *v)
{
	struct json_object *o;

	if (json_pointer_get(obj, ptr, &o) || !json_object_is_type(o, json_type_int) ||
	    json_object_get_int64(o) < 0)
		return false;
	*v = json_object_get_uint64(o);
	return true;
}

/* Add one per-CPU entry of the report to @s. */
static bool add_cpu(struct json_object *cpu, size_t idx, struct bench_stress_summary *s,
		    const char *name, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"/calls", "/fallbacks/list", "/fallbacks/sync", "/refills/pages", "/direct_allocs",
		"/pool_allocs", "/peak_pending", "/peak_pages", "/reclaim_latency_ns/p50",
		"/reclaim_latency_ns/p99", "/refills/runs",
	};
	uint64_t v[sizeof(keys) / sizeof(keys[0])];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!get_u64(cpu, keys[k], &v[k])) {
			bench_set_err(err, errlen, "%s: per_cpu[%zu] has no unsigned number at %s", name,
				idx, keys[k]);
			return false;
		}
	}
	s->calls += v[0];
	s->fallback_list += v[1];
	s->fallback_sync += v[2];
	s->refill_pages += v[3];
	s->direct_allocs += v[4];
	s->pool_allocs += v[5];
	s->peak_pending += v[6];
	s->peak_pages += v[7];
	if (v[8] > s->reclaim_p50)
		s->reclaim_p50 = v[8];
	if (v[9] > s->reclaim_p99)
		s->reclaim_p99 = v[9];
	s->refill_runs += v[10];
	return true;
}

static bool summarise(struct json_object *root, struct bench_stress_summary *s,
		      const char *name, char *err, size_t errlen)
{
	struct json_object *status, *per_cpu;

	if (!json_object_object_get_ex(root, "status", &status) ||
	    !json_object_is_type(status, json_type_string)) {
		bench_set_err(err, errlen, "%s: no \"status\" string", name);
		return false;
	}
	s->passed = !strcmp(json_object_get_string(status), "pass");
	if (!json_object_object_get_ex(root, "per_cpu", &per_cpu) ||
	    !json_object_is_type(per_cpu, json_type_array) ||
	    !json_object_array_length(per_cpu)) {
		bench_set_err(err, errlen, "%s: no \"per_cpu\" array of CPUs", name);
		return false;
	}
	/* Optional: older reports lack them, and they only annotate the comparison. */
	(void)get_u64(root, "/totals/pages_peak", &s->env_pages_peak);
	(void)get_u64(root, "/gps", &s->gps);
	if (json_pointer_get(root, "/flood_s", &status) == 0 &&
	    (json_object_is_type(status, json_type_double) ||
	     json_object_is_type(status, json_type_int)))
		s->flood_s = json_object_get_double(status);
	for (size_t i = 0; i < json_object_array_length(per_cpu); i++)
		if (!add_cpu(json_object_array_get_idx(per_cpu, i), i, s, name, err, errlen))
			return false;
	return true;
}

bool bench_parse_stress_report(const char *json, const char *name,
			       struct bench_stress_summary *s, char *err, size_t errlen)
{
	struct json_object *root;
	bool ok;

	memset(s, 0, sizeof(*s));
	root = bench_json_parse(json, name, err, errlen);
	if (!root)
		return false;
	ok = summarise(root, s, name, err, errlen);
	json_object_put(root);
	return ok;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	buf[len] = 0;
	return buf;
}

/* ---------------------------------------------------------------------------
 * Running the stress runner
 */

struct pol_opts {
	const char *kvstress;
	const char *out;
	unsigned int seconds;
	int cpus;
	int reps;
	bool plots;
	bool scen[NR_SCENARIOS];
	bool pol[KVFREE_POLICY_NR];
	const char *pnames[KVFREE_POLICY_NR];
	char started[32];
	const char *baseline;		/* --baseline: compare with this file */
	const char *write_baseline;	/* --write-baseline: write one here */
	unsigned int page_entries;	/* --page-entries for kvstress; 0: its default */
	bool set_cpus, set_seconds, set_page_entries;	/* given on the command line */
};

/* The --baseline file, read with the options: it also supplies their defaults. */
static struct bench_baseline baseline;

/* Run @argv with its output in @log (the stress runner prints its own report). */
static int run_child(char *const argv[], const char *log)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		fprintf(stderr, "kvbench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(99);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Read back the report a run wrote into @dir; the run exited with @rc. */
static int read_report(const char *dir, int rc, const char *what,
		       struct bench_stress_summary *s)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	char *json;
	bool ok;

	snprintf(path, sizeof(path), "%s/report.json", dir);
	json = slurp(path);
	if (!json) {
		fprintf(stderr, "kvbench: %s: no %s (exit %d)\n", what, path, rc);
		return rc ? rc : 99;
	}
	ok = bench_parse_stress_report(json, path, s, err, sizeof(err));
	free(json);
	if (!ok) {
		fprintf(stderr, "kvbench: %s\n", err);
		return EXIT_BAD_INPUT;
	}
	return rc;
}

static int run_one(const struct pol_opts *o, const char *scenario, const char *policy, int rep,
		   struct bench_stress_summary *s)
{
	/* Room for the file name after the folder: snprintf cannot truncate. */
	char dir[PATH_MAX - 64], log[PATH_MAX], what[64], secs[16], cpus[16], seed[16], pe[16];
	int rc;
	char *argv[] = {
		(char *)o->kvstress, "--scenario", (char *)scenario, "--policy",
		(char *)policy, "--cpus", cpus, "--duration", secs, "--seed", seed,
		"--no-chaos", "--no-plots", "--quiet", "--report", dir, NULL, NULL, NULL,
	};

	if ((size_t)snprintf(dir, sizeof(dir), "%s/stress-%s-%s-%d", o->out, scenario, policy,
			     rep) >= sizeof(dir)) {
		fprintf(stderr, "kvbench: --out %s: path too long\n", o->out);
		return 2;
	}
	snprintf(secs, sizeof(secs), "%u", o->seconds);
	snprintf(cpus, sizeof(cpus), "%d", o->cpus);
	snprintf(seed, sizeof(seed), "%d", rep + 1);
	snprintf(what, sizeof(what), "%s %s", scenario, policy);
	if (o->page_entries) {
		snprintf(pe, sizeof(pe), "%u", o->page_entries);
		argv[16] = "--page-entries";
		argv[17] = pe;
	}
	if (mkdir(dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "kvbench: cannot create %s: %s\n", dir, strerror(errno));
		return 99;
	}
	snprintf(log, sizeof(log), "%s/output.txt", dir);
	rc = read_report(dir, run_child(argv, log), what, s);
	/* A report from before "flood_s": the run flooded for its duration. */
	if (s->flood_s <= 0)
		s->flood_s = o->seconds;
	return rc;
}

/* ---------------------------------------------------------------------------
 * Options
 */

static _Noreturn void pol_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvbench policies: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: kvbench policies [--kvstress PATH] [--seconds S] [--scenarios LIST]\n"
			"               [--policy LIST] [--cpus N] [--reps N] [--out DIR] [--no-plots]\n"
			"               [--page-entries N] [--baseline FILE] [--write-baseline FILE]\n");
	exit(2);
}

/* Set @set[i] for each of @names in the comma list @list (left whole for messages). */
static bool set_from_list(const char *list, const char *const *names, int n, bool *set)
{
	char copy[1024], *save = NULL;

	if ((size_t)snprintf(copy, sizeof(copy), "%s", list) >= sizeof(copy))
		return false;
	memset(set, 0, sizeof(bool) * (size_t)n);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n)
			return false;
		set[i] = true;
	}
	return true;
}

/* The options' getopt_long() values: past every character, so none is a short option. */
enum {
	POL_KVSTRESS = 256, POL_OUT, POL_SECONDS, POL_CPUS, POL_REPS, POL_SCENARIOS, POL_POLICY,
	POL_NO_PLOTS, POL_BASELINE, POL_WRITE_BASELINE, POL_PAGE_ENTRIES,
};

static const struct option pol_longopts[] = {
	{ "kvstress", required_argument, NULL, POL_KVSTRESS },
	{ "out", required_argument, NULL, POL_OUT },
	{ "seconds", required_argument, NULL, POL_SECONDS },
	{ "cpus", required_argument, NULL, POL_CPUS },
	{ "reps", required_argument, NULL, POL_REPS },
	{ "scenarios", required_argument, NULL, POL_SCENARIOS },
	{ "policy", required_argument, NULL, POL_POLICY },
	{ "no-plots", no_argument, NULL, POL_NO_PLOTS },
	{ "baseline", required_argument, NULL, POL_BASELINE },
	{ "write-baseline", required_argument, NULL, POL_WRITE_BASELINE },
	{ "page-entries", required_argument, NULL, POL_PAGE_ENTRIES },
	{ NULL, 0, NULL, 0 },
};

/* Set option @id to @v (numbers are range-checked by pol_parse()). */
static void pol_set(struct pol_opts *o, int id, char *v)
{
	switch (id) {
	case POL_KVSTRESS:
		o->kvstress = v;
		break;
	case POL_OUT:
		o->out = v;
		break;
	case POL_SECONDS:
		o->seconds = (unsigned int)strtoul(v, NULL, 10);
		o->set_seconds = true;
		break;
	case POL_CPUS:
		o->cpus = (int)strtol(v, NULL, 10);
		o->set_cpus = true;
		break;
	case POL_PAGE_ENTRIES:
		o->page_entries = (unsigned int)strtoul(v, NULL, 10);
		if (o->page_entries < KVFREE_PAGE_ENTRIES_MIN || o->page_entries > KVFREE_PAGE_ENTRIES_MAX)
			pol_usage("--page-entries %s: out of range", v);
		o->set_page_entries = true;
		break;
	case POL_REPS:
		o->reps = (int)strtol(v, NULL, 10);
		break;
	case POL_SCENARIOS:
		if (!set_from_list(v, scenarios, NR_SCENARIOS, o->scen))
			pol_usage("unknown scenario in %s", v);
		break;
	case POL_POLICY:
		if (!set_from_list(v, o->pnames, KVFREE_POLICY_NR, o->pol))
			pol_usage("unknown policy in %s", v);
		break;
	case POL_NO_PLOTS:
		o->plots = false;
		break;
	case POL_BASELINE:
		o->baseline = v;
		break;
	case POL_WRITE_BASELINE:
		o->write_baseline = v;
		break;
	}
}

/* Without --kvstress: the one built beside us (build/stress/bench/kvbench, build/kvstress). */
static const char *sibling_kvstress(void)
{
	static char path[PATH_MAX];

	return kvt_sibling_path("../../kvstress", path, sizeof(path)) ? path : NULL;
}

/*
 * Read --baseline's file into `baseline`: a baseline compares only with runs
 * of its own stress settings, which are therefore the defaults of
 * --cpus, --seconds and --page-entries; given otherwise, they are refused.
 * Exits 2 when the file cannot be read.
 */
static void adopt_baseline(struct pol_opts *o)
{
	char err[PATH_MAX + 256];
	char *json = slurp(o->baseline);
	bool ok;

	if (!json) {
		fprintf(stderr, "kvbench: cannot read the baseline %s: %s\n", o->baseline,
			strerror(errno));
		exit(EXIT_BAD_INPUT);
	}
	ok = bench_baseline_parse(json, o->baseline, &baseline, err, sizeof(err));
	free(json);
	if (!ok) {
		fprintf(stderr, "kvbench: %s\n", err);
		exit(EXIT_BAD_INPUT);
	}
	if ((o->set_cpus && o->cpus != baseline.cpus) ||
	    (o->set_seconds && o->seconds != baseline.seconds) ||
	    (o->set_page_entries && o->page_entries != baseline.page_entries)) {
		fprintf(stderr, "kvbench: %s was made with --cpus %d --seconds %u --page-entries %u: "
				"other settings do not compare with it\n", o->baseline, baseline.cpus,
			baseline.seconds, baseline.page_entries);
		exit(EXIT_BAD_INPUT);
	}
	o->cpus = baseline.cpus;
	o->seconds = baseline.seconds;
	o->page_entries = baseline.page_entries;
}

static void pol_parse(struct pol_opts *o, int argc, char **argv)
{
	time_t now = time(NULL);
	struct tm tm;

	*o = (struct pol_opts){ .seconds = 3, .cpus = 2, .reps = 1, .plots = true, .out = "." };
	gmtime_r(&now, &tm);
	strftime(o->started, sizeof(o->started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int p = 0; p < KVFREE_POLICY_NR; p++) {
		o->pnames[p] = kvfree_policy_name((enum kvfree_policy)p);
		o->pol[p] = true;
	}
	for (int s = 0; s < NR_SCENARIOS; s++)
		o->scen[s] = true;
	/* ':' and opterr off: errors are ours; '+': stop at a non-option. */
	optind = 1;
	opterr = 0;
	for (;;) {
		int argi = optind;	/* where this option starts: no short options */
		int c = getopt_long(argc, argv, "+:", pol_longopts, NULL);

		if (c == -1)
			break;
		if (c == ':')
			pol_usage("%s needs a value", argv[argi]);
		if (c == '?')
			pol_usage("unknown option %s", argv[argi]);
		pol_set(o, c, optarg);
	}
	if (optind < argc)
		pol_usage("unknown option %s", argv[optind]);
	if (o->baseline)
		adopt_baseline(o);
	if (!o->kvstress) {
		o->kvstress = sibling_kvstress();
		if (!o->kvstress || access(o->kvstress, X_OK))
			pol_usage("%s", "no kvstress beside kvbench: give --kvstress PATH");
	}
	if (o->seconds < 1 || o->seconds > 3600 || o->cpus < 1 || o->cpus > 64 || o->reps < 1 ||
	    o->reps > MAX_REPS)
		pol_usage("%s", "--seconds 1..3600, --cpus 1..64, --reps 1..8");
	if (access(o->kvstress, X_OK))
		pol_usage("cannot execute %s", o->kvstress);
	/* A band needs a spread to be derived from. */
	if (o->write_baseline && o->reps < 3)
		pol_usage("%s", "--write-baseline needs --reps 3 or more");
}

/* ---------------------------------------------------------------------------
 * Results
 */

static struct bench_stress_summary results[NR_SCENARIOS][KVFREE_POLICY_NR][MAX_REPS];

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

/* The median of @v (n <= MAX_REPS), sorted in place. */
static double median(double *v, int n)
{
	return bench_stat3_of(v, n).median;
}

/* Every selected scenario and policy, @o->reps times; the worst exit code. */
static int run_all(const struct pol_opts *o)
{
	int worst = 0;

	for (int r = 0; r < o->reps; r++) {
		for (int s = 0; s < NR_SCENARIOS; s++) {
			for (int p = 0; p < KVFREE_POLICY_NR; p++) {
				const struct bench_stress_summary *x = &results[s][p][r];
				int rc;

				if (!o->scen[s] || !o->pol[p])
					continue;
				rc = run_one(o, scenarios[s], o->pnames[p], r, &results[s][p][r]);
				if (rc == EXIT_BAD_INPUT)
					return rc;
				fprintf(stderr, "rep %d %-9s %-10s exit %d, %llu calls, fallbacks %.4f %%\n",
					r + 1, scenarios[s], o->pnames[p], rc,
					(unsigned long long)x->calls,
					pct(x->fallback_list + x->fallback_sync, x->calls));
				if (rc > worst)
					worst = rc;
			}
		}
	}
	return worst;
}

/* The columns of the table, as medians over the repetitions. */
enum pol_col { COL_CALLS, COL_FB, COL_LIST, COL_SYNC, COL_PAGES, COL_PAGEPEAK, COL_PEAKPEND,
	       COL_P50, COL_P99, COL_NR };

static void pol_medians(const struct pol_opts *o, int s, int p, double m[COL_NR])
{
	double v[COL_NR][MAX_REPS];

	for (int r = 0; r < o->reps; r++) {
		const struct bench_stress_summary *x = &results[s][p][r];

		v[COL_CALLS][r] = (double)x->calls;
		v[COL_FB][r] = pct(x->fallback_list + x->fallback_sync, x->calls);
		v[COL_LIST][r] = pct(x->fallback_list, x->calls);
		v[COL_SYNC][r] = pct(x->fallback_sync, x->calls);
		v[COL_PAGES][r] = (double)(x->refill_pages + x->direct_allocs + x->pool_allocs);
		v[COL_PAGEPEAK][r] = (double)x->peak_pages;
		v[COL_PEAKPEND][r] = (double)x->peak_pending;
		v[COL_P50][r] = (double)x->reclaim_p50 / 1e6;
		v[COL_P99][r] = (double)x->reclaim_p99 / 1e6;
	}
	for (int k = 0; k < COL_NR; k++)
		m[k] = median(v[k], o->reps);
}

/* The table on stdout, and DIR/policies.dat for the plots. */
static bool write_table(const struct pol_opts *o)
{
	char path[PATH_MAX], pe_opt[32] = "";
	FILE *f;

	if (o->page_entries)
		snprintf(pe_opt, sizeof(pe_opt), " --page-entries %u", o->page_entries);
	printf("kvbench policies %s: kvstress --cpus %d --duration %u --no-chaos%s, %d repetition(s), "
	       "medians\n", o->started, o->cpus, o->seconds, pe_opt, o->reps);
	bench_machine_text(stdout);
	printf("%-9s %-10s %11s %10s %10s %10s %9s %9s %11s %10s %12s %12s\n", "scenario",
	       "policy", "calls", "fallback%", "list%", "sync%", "pages", "pagepeak", "peakpend",
	       "pool", "recl p50 ms", "recl p99 ms");
	snprintf(path, sizeof(path), "%s/policies.dat", o->out);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# scenario kernel watermark nolocks: fallback %% (median), then reclaim p99 ms\n");
	for (int s = 0; s < NR_SCENARIOS; s++) {
		double fb[KVFREE_POLICY_NR] = { 0 }, p99[KVFREE_POLICY_NR] = { 0 };

		for (int p = 0; p < KVFREE_POLICY_NR && o->scen[s]; p++) {
			double m[COL_NR];

			if (!o->pol[p])
				continue;
			pol_medians(o, s, p, m);
			fb[p] = m[COL_FB];
			p99[p] = m[COL_P99];
			printf("%-9s %-10s %11.0f %10.4f %10.4f %10.4f %9.0f %9.0f %11.0f %10llu %12.3g %12.3g\n",
			       scenarios[s], o->pnames[p], m[COL_CALLS], m[COL_FB], m[COL_LIST],
			       m[COL_SYNC], m[COL_PAGES], m[COL_PAGEPEAK], m[COL_PEAKPEND],
			       (unsigned long long)results[s][p][0].pool_allocs, m[COL_P50], m[COL_P99]);
		}
		if (o->scen[s])
			fprintf(f, "%s %.6g %.6g %.6g %.6g %.6g %.6g\n", scenarios[s], fb[0], fb[1],
				fb[2], p99[0], p99[1], p99[2]);
	}
	return !fclose(f);
}

static void write_json_run(FILE *f, const struct pol_opts *o, int s, int p, int r, bool first)
{
	const struct bench_stress_summary *x = &results[s][p][r];

	fprintf(f, "%s\n    {\"scenario\": \"%s\", \"policy\": \"%s\", \"rep\": %d"
		", \"passed\": %s, \"calls\": %llu, \"fallback_list\": %llu"
		", \"fallback_sync\": %llu, \"fallback_pct\": %.6g"
		", \"pages_allocated\": %llu, \"refill_pages\": %llu"
		", \"direct_allocs\": %llu, \"pool_allocs\": %llu"
		", \"peak_pending\": %llu, \"peak_pages\": %llu"
		", \"env_pages_peak\": %llu, \"reclaim_ns_p50\": %llu"
		", \"reclaim_ns_p99\": %llu, \"gps\": %llu}",
		first ? "" : ",", scenarios[s], o->pnames[p], r + 1, x->passed ? "true" : "false",
		(unsigned long long)x->calls, (unsigned long long)x->fallback_list,
		(unsigned long long)x->fallback_sync,
		pct(x->fallback_list + x->fallback_sync, x->calls),
		(unsigned long long)(x->refill_pages + x->direct_allocs + x->pool_allocs),
		(unsigned long long)x->refill_pages, (unsigned long long)x->direct_allocs,
		(unsigned long long)x->pool_allocs, (unsigned long long)x->peak_pending,
		(unsigned long long)x->peak_pages, (unsigned long long)x->env_pages_peak,
		(unsigned long long)x->reclaim_p50, (unsigned long long)x->reclaim_p99,
		(unsigned long long)x->gps);
}

/* DIR/policies.json: every run. */
static bool write_json(const struct pol_opts *o)
{
	char path[PATH_MAX];
	bool first = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/policies.json", o->out);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "{\n  \"tool\": \"kvbench policies\",\n  \"started\": \"%s\",\n"
		   "  \"stress\": {\"cpus\": %d, \"seconds\": %u, \"page_entries\": %u, \"chaos\": false, "
		   "\"reps\": %d},\n"
		   "  \"machine\": {\n", o->started, o->cpus, o->seconds, o->page_entries, o->reps);
	bench_machine_json(f, "    ");
	fprintf(f, "  },\n  \"runs\": [");
	for (int s = 0; s < NR_SCENARIOS; s++) {
		for (int p = 0; p < KVFREE_POLICY_NR; p++) {
			for (int r = 0; r < o->reps && o->scen[s] && o->pol[p]; r++) {
				write_json_run(f, o, s, p, r, first);
				first = false;
			}
		}
	}
	fprintf(f, "\n  ]\n}\n");
	return !fclose(f);
}

/* DIR/policies.gp: the gnuplot script for the two plots. */
static bool write_gnuplot(const struct pol_opts *o)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/policies.gp", o->out);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# gnuplot script written by kvbench policies: gnuplot policies.gp (in this folder)\n"
		   "set terminal pngcairo size 1000,600 noenhanced\n"
		   "set style data histograms\nset style histogram clustered gap 1\n"
		   "set style fill solid 0.8 border -1\nset grid ytics\nset key top left\n"
		   "set xlabel 'flooding scenario (kvstress --cpus %d --duration %u)'\n"
		   "set output 'policies_fallback.png'\n"
		   "set title 'Calls that took a fallback (rcu_head list or inline synchronize), median of %d'\n"
		   "set ylabel 'fallback calls (%% of calls)'\n"
		   "plot 'policies.dat' using 2:xtic(1) title 'kernel', '' using 3 title 'watermark', "
		   "'' using 4 title 'nolocks'\n"
		   "set output 'policies_reclaim_p99.png'\n"
		   "set title 'Reclaim latency p99, worst CPU (queue to free), median of %d'\n"
		   "set ylabel 'ms'\nset logscale y\n"
		   "plot 'policies.dat' using 5:xtic(1) title 'kernel', '' using 6 title 'watermark', "
		   "'' using 7 title 'nolocks'\n",
		o->cpus, o->seconds, o->reps, o->reps);
	return !fclose(f);
}

/* ---------------------------------------------------------------------------
 * The regression baseline (bench_baseline.h)
 */

/* @f over the repetitions of scenario @s and policy @p, into @v; how many. */
static int figure_values(const struct pol_opts *o, int s, int p, enum bench_figure f, double *v)
{
	for (int r = 0; r < o->reps; r++)
		v[r] = bench_figure_value(&results[s][p][r], f);
	return o->reps;
}

/* --write-baseline: every selected scenario and policy, its bands from the repetitions. */
static bool write_baseline(const struct pol_opts *o)
{
	static struct bench_baseline b;
	double v[MAX_REPS];
	FILE *f;

	memset(&b, 0, sizeof(b));
	b.cpus = o->cpus;
	b.seconds = o->seconds;
	b.page_entries = o->page_entries;
	b.reps = o->reps;
	for (int s = 0; s < NR_SCENARIOS; s++) {
		for (int p = 0; p < KVFREE_POLICY_NR && o->scen[s]; p++) {
			struct bench_baseline_entry *e = &b.e[b.nr++];

			if (!o->pol[p]) {
				b.nr--;
				continue;
			}
			snprintf(e->scenario, sizeof(e->scenario), "%s", scenarios[s]);
			snprintf(e->policy, sizeof(e->policy), "%s", o->pnames[p]);
			for (int k = 0; k < FIG_NR; k++) {
				int n = figure_values(o, s, p, (enum bench_figure)k, v);

				e->band[k] = bench_band_of((enum bench_figure)k, v, n);
				memcpy(e->values[k], v, sizeof(double) * (size_t)n);
			}
		}
	}
	f = fopen(o->write_baseline, "w");
	if (!f)
		return false;
	bench_baseline_write(f, &b, o->started);
	printf("baseline: %d scenario x policy entries from %d repetitions written to %s\n", b.nr,
	       b.reps, o->write_baseline);
	return !fclose(f);
}

static const char *const verdict_names[] = {
	[VERDICT_IN_BAND] = "ok", [VERDICT_REGRESSED] = "REGRESSED", [VERDICT_IMPROVED] = "improved",
};

/*
 * --baseline: each selected scenario and policy's medians against the
 * baseline's bands, as a table and DIR/regression.json.  Returns 0 when
 * nothing regressed, KVBENCH_EXIT_REGRESSION when something did, 99 when
 * the results cannot be written.
 */
static int compare_baseline(const struct pol_opts *o)
{
	const struct bench_baseline *b = &baseline;
	char path[PATH_MAX];
	int regressed = 0, missing = 0;
	bool first = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/regression.json", o->out);
	f = fopen(path, "w");
	if (!f)
		return 99;
	fprintf(f, "{\n  \"tool\": \"kvbench policies --baseline\",\n  \"baseline\": \"%s\",\n"
		   "  \"started\": \"%s\",\n  \"reps\": %d,\n  \"figures\": [", o->baseline,
		o->started, o->reps);
	printf("\nregression check against %s (%d repetitions there, %d here; medians):\n",
	       o->baseline, b->reps, o->reps);
	printf("%-9s %-10s %-14s %14s %14s %14s  %s\n", "scenario", "policy", "figure", "now",
	       "band lo", "band hi", "verdict");
	for (int s = 0; s < NR_SCENARIOS; s++) {
		for (int p = 0; p < KVFREE_POLICY_NR && o->scen[s]; p++) {
			const struct bench_baseline_entry *e;
			double v[MAX_REPS];

			if (!o->pol[p])
				continue;
			e = bench_baseline_find(b, scenarios[s], o->pnames[p]);
			if (!e) {
				printf("%-9s %-10s (not in the baseline)\n", scenarios[s], o->pnames[p]);
				missing++;
				continue;
			}
			for (int k = 0; k < FIG_NR; k++) {
				int n = figure_values(o, s, p, (enum bench_figure)k, v);
				double now = median(v, n);
				enum bench_verdict verdict = bench_band_judge((enum bench_figure)k,
									      &e->band[k], now);

				regressed += verdict == VERDICT_REGRESSED;
				printf("%-9s %-10s %-14s %14.6g %14.6g %14.6g  %s\n", scenarios[s],
				       o->pnames[p], bench_figure_name((enum bench_figure)k), now,
				       e->band[k].lo, e->band[k].hi, verdict_names[verdict]);
				fprintf(f, "%s\n    {\"scenario\": \"%s\", \"policy\": \"%s\", "
					   "\"figure\": \"%s\", \"now\": %.6g, \"median\": %.6g, "
					   "\"lo\": %.6g, \"hi\": %.6g, \"verdict\": \"%s\"}",
					first ? "" : ",", scenarios[s], o->pnames[p],
					bench_figure_name((enum bench_figure)k), now, e->band[k].median,
					e->band[k].lo, e->band[k].hi, verdict_names[verdict]);
				first = false;
			}
		}
	}
	fprintf(f, "\n  ],\n  \"regressed\": %d,\n  \"not_in_baseline\": %d\n}\n", regressed,
		missing);
	if (fclose(f))
		return 99;
	printf("%d figure(s) regressed%s; details in %s\n", regressed,
	       missing ? ", some runs not in the baseline" : "", path);
	return regressed ? KVBENCH_EXIT_REGRESSION : 0;
}

int bench_policies_main(int argc, char **argv)
{
	struct pol_opts o;
	int worst, rc;

	pol_parse(&o, argc, argv);
	if (mkdir(o.out, 0777) && errno != EEXIST) {
		fprintf(stderr, "kvbench: cannot create %s: %s\n", o.out, strerror(errno));
		return 99;
	}
	worst = run_all(&o);
	if (worst == EXIT_BAD_INPUT)
		return EXIT_BAD_INPUT;
	if (!write_table(&o) || !write_json(&o) || !write_gnuplot(&o)) {
		fprintf(stderr, "kvbench: cannot write the results in %s\n", o.out);
		return 99;
	}
	if (o.plots)
		bench_run_gnuplot(o.out, "policies.gp");
	if (o.write_baseline && !write_baseline(&o)) {
		fprintf(stderr, "kvbench: cannot write %s: %s\n", o.write_baseline, strerror(errno));
		return 99;
	}
	rc = o.baseline ? compare_baseline(&o) : 0;
	/* A failed run (a violation) comes first; a regression is the next news. */
	if (worst)
		return 1;
	return rc;
}
