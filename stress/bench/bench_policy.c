// SPDX-License-Identifier: MIT
/*
 * bench_policy.c - `kvbench policies` (see bench_policy.h).
 *
 * The stress runner is a separate program (it links the checked posix
 * environment; this one links the timing environment), so it is run as a
 * child and read back through its report.json, whose layout it owns: the
 * parser looks keys up by name inside each per-CPU object and fails loudly
 * when one is missing rather than guessing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_policy.h"
#include "bench_report.h"
#include "kvfree_rcu.h"

#define NR_SCENARIOS 5
#define MAX_REPS 8

static const char *const scenarios[NR_SCENARIOS] = {
	"syscall", "kthread", "softirq", "irq", "pressure",
};

/* ---------------------------------------------------------------------------
 * report.json
 */

/* The unsigned number after @key inside [@p, @end), or false. */
static bool num_after(const char *p, const char *end, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);

	for (; p && p + klen <= end; p++) {
		if (!memcmp(p, key, klen)) {
			char *e;

			p += klen;
			while (p < end && (*p == ' ' || *p == ':'))
				p++;
			errno = 0;
			*v = strtoull(p, &e, 10);
			return e != p && !errno;
		}
	}
	return false;
}

bool bench_parse_stress_report(const char *json, struct bench_stress_summary *s)
{
	const char *per_cpu = strstr(json, "\"per_cpu\": [");
	const char *end, *cpu;
	uint64_t v;

	memset(s, 0, sizeof(*s));
	if (!per_cpu)
		return false;
	end = strstr(per_cpu, "\n  ]");
	if (!end)
		return false;
	s->passed = strstr(json, "\"status\": \"pass\"") != NULL;
	if (num_after(json, per_cpu, "\"pages_peak\"", &v))
		s->env_pages_peak = v;
	if (num_after(end, end + strlen(end), "\"gps\"", &v))
		s->gps = v;
	for (cpu = strstr(per_cpu, "{\"cpu\""); cpu && cpu < end;) {
		const char *next = strstr(cpu + 1, "{\"cpu\"");
		const char *stop = next && next < end ? next : end;
		const char *fb = strstr(cpu, "\"fallbacks\"");
		const char *rf = strstr(cpu, "\"refills\"");
		const char *lat = strstr(cpu, "\"reclaim_latency_ns\"");
		uint64_t calls, list, sync, pages, direct, pool, ppend, ppages, p50, p99;

		if (!fb || !rf || !lat || fb > stop || rf > stop || lat > stop ||
		    !num_after(cpu, stop, "\"calls\"", &calls) ||
		    !num_after(fb, stop, "\"list\"", &list) ||
		    !num_after(fb, stop, "\"sync\"", &sync) ||
		    !num_after(rf, stop, "\"pages\"", &pages) ||
		    !num_after(cpu, stop, "\"direct_allocs\"", &direct) ||
		    !num_after(cpu, stop, "\"pool_allocs\"", &pool) ||
		    !num_after(cpu, stop, "\"peak_pending\"", &ppend) ||
		    !num_after(cpu, stop, "\"peak_pages\"", &ppages) ||
		    !num_after(lat, stop, "\"p50\"", &p50) ||
		    !num_after(lat, stop, "\"p99\"", &p99))
			return false;
		s->calls += calls;
		s->fallback_list += list;
		s->fallback_sync += sync;
		s->refill_pages += pages;
		s->direct_allocs += direct;
		s->pool_allocs += pool;
		s->peak_pending += ppend;
		s->peak_pages += ppages;
		if (p50 > s->reclaim_p50)
			s->reclaim_p50 = p50;
		if (p99 > s->reclaim_p99)
			s->reclaim_p99 = p99;
		cpu = next;
	}
	return true;
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
};

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

static int run_one(const struct pol_opts *o, const char *scenario, const char *policy, int rep,
		   struct bench_stress_summary *s)
{
	/* Room for the file name after the folder: snprintf cannot truncate. */
	char dir[PATH_MAX - 64], path[PATH_MAX], secs[16], cpus[16], seed[16];
	char *json;
	int rc;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/stress-%s-%s-%d", o->out, scenario, policy,
			     rep) >= sizeof(dir)) {
		fprintf(stderr, "kvbench: --out %s: path too long\n", o->out);
		return 2;
	}
	snprintf(secs, sizeof(secs), "%u", o->seconds);
	snprintf(cpus, sizeof(cpus), "%d", o->cpus);
	snprintf(seed, sizeof(seed), "%d", rep + 1);
	{
		char *const argv[] = {
			(char *)o->kvstress, "--scenario", (char *)scenario, "--policy",
			(char *)policy, "--cpus", cpus, "--duration", secs, "--seed", seed,
			"--no-chaos", "--no-plots", "--quiet", "--report", dir, NULL,
		};

		if (mkdir(dir, 0777) && errno != EEXIST) {
			fprintf(stderr, "kvbench: cannot create %s: %s\n", dir, strerror(errno));
			return 99;
		}
		snprintf(path, sizeof(path), "%s/output.txt", dir);
		rc = run_child(argv, path);
	}
	snprintf(path, sizeof(path), "%s/report.json", dir);
	json = slurp(path);
	if (!json) {
		fprintf(stderr, "kvbench: %s %s: no %s (exit %d)\n", scenario, policy, path, rc);
		return rc ? rc : 99;
	}
	if (!bench_parse_stress_report(json, s)) {
		fprintf(stderr, "kvbench: %s: not the report layout this parser knows\n", path);
		free(json);
		return 99;
	}
	free(json);
	return rc;
}

static _Noreturn void pol_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvbench policies: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: kvbench policies [--kvstress PATH] [--seconds S] [--scenarios LIST]\n"
			"               [--policy LIST] [--cpus N] [--reps N] [--out DIR] [--no-plots]\n");
	exit(2);
}

static bool set_from_list(char *list, const char *const *names, int n, bool *set)
{
	memset(set, 0, sizeof(bool) * (size_t)n);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int i;

		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n)
			return false;
		set[i] = true;
	}
	return true;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static double median3(double *v, int n)
{
	/* n <= MAX_REPS: insertion sort. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_policies_main(int argc, char **argv)
{
	static struct bench_stress_summary res[NR_SCENARIOS][KVFREE_POLICY_NR][MAX_REPS];
	const char *pnames[KVFREE_POLICY_NR];
	struct pol_opts o = { .seconds = 3, .cpus = 2, .reps = 1, .plots = true, .out = "." };
	char path[PATH_MAX], started[32];
	int worst = 0;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	gmtime_r(&now, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int p = 0; p < KVFREE_POLICY_NR; p++) {
		pnames[p] = kvfree_policy_name((enum kvfree_policy)p);
		o.pol[p] = true;
	}
	for (int s = 0; s < NR_SCENARIOS; s++)
		o.scen[s] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-plots")) {
			o.plots = false;
			continue;
		}
		if (strcmp(a, "--kvstress") && strcmp(a, "--out") && strcmp(a, "--seconds") &&
		    strcmp(a, "--cpus") && strcmp(a, "--reps") && strcmp(a, "--scenarios") &&
		    strcmp(a, "--policy"))
			pol_usage("unknown option %s", a);
		if (!v)
			pol_usage("%s needs a value", a);
		i++;
		if (!strcmp(a, "--kvstress"))
			o.kvstress = v;
		else if (!strcmp(a, "--out"))
			o.out = v;
		else if (!strcmp(a, "--seconds"))
			o.seconds = (unsigned int)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--cpus"))
			o.cpus = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "--reps"))
			o.reps = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "--scenarios")) {
			if (!set_from_list(v, scenarios, NR_SCENARIOS, o.scen))
				pol_usage("unknown scenario in %s", v);
		} else if (!strcmp(a, "--policy")) {
			if (!set_from_list(v, pnames, KVFREE_POLICY_NR, o.pol))
				pol_usage("unknown policy in %s", v);
		} else {
			pol_usage("unknown option %s", a);
		}
	}
	if (!o.kvstress) {
		/* Built beside us: build/stress/bench/kvbench and build/stress/kvstress. */
		static char sibling[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", sibling, sizeof(sibling) - 16);
		char *slash;

		if (n > 0) {
			sibling[n] = 0;
			slash = strrchr(sibling, '/');
			if (slash) {
				strcpy(slash, "/../kvstress");
				o.kvstress = sibling;
			}
		}
		if (!o.kvstress || access(o.kvstress, X_OK))
			pol_usage("%s", "no kvstress beside kvbench: give --kvstress PATH");
	}
	if (o.seconds < 1 || o.seconds > 3600 || o.cpus < 1 || o.cpus > 64 || o.reps < 1 ||
	    o.reps > MAX_REPS)
		pol_usage("%s", "--seconds 1..3600, --cpus 1..64, --reps 1..8");
	if (access(o.kvstress, X_OK))
		pol_usage("cannot execute %s", o.kvstress);
	if (mkdir(o.out, 0777) && errno != EEXIST) {
		fprintf(stderr, "kvbench: cannot create %s: %s\n", o.out, strerror(errno));
		return 99;
	}

	for (int r = 0; r < o.reps; r++) {
		for (int s = 0; s < NR_SCENARIOS; s++) {
			for (int p = 0; p < KVFREE_POLICY_NR; p++) {
				int rc;

				if (!o.scen[s] || !o.pol[p])
					continue;
				rc = run_one(&o, scenarios[s], pnames[p], r, &res[s][p][r]);
				fprintf(stderr, "rep %d %-9s %-10s exit %d, %llu calls, fallbacks %.4f %%\n",
					r + 1, scenarios[s], pnames[p], rc,
					(unsigned long long)res[s][p][r].calls,
					pct(res[s][p][r].fallback_list + res[s][p][r].fallback_sync,
					    res[s][p][r].calls));
				if (rc > worst)
					worst = rc;
			}
		}
	}

	printf("kvbench policies %s: kvstress --cpus %d --duration %u --no-chaos, %d repetition(s), medians\n",
	       started, o.cpus, o.seconds, o.reps);
	bench_machine_text(stdout);
	printf("%-9s %-10s %11s %10s %10s %10s %9s %9s %11s %10s %12s %12s\n", "scenario",
	       "policy", "calls", "fallback%", "list%", "sync%", "pages", "pagepeak", "peakpend",
	       "pool", "recl p50 ms", "recl p99 ms");
	snprintf(path, sizeof(path), "%s/policies.dat", o.out);
	f = fopen(path, "w");
	if (!f)
		return 99;
	fprintf(f, "# scenario kernel watermark nolocks: fallback %% (median), then reclaim p99 ms\n");
	for (int s = 0; s < NR_SCENARIOS; s++) {
		double fbm[KVFREE_POLICY_NR] = { 0 }, p99m[KVFREE_POLICY_NR] = { 0 };

		if (!o.scen[s])
			continue;
		for (int p = 0; p < KVFREE_POLICY_NR; p++) {
			double v[9][MAX_REPS];

			if (!o.pol[p])
				continue;
			for (int r = 0; r < o.reps; r++) {
				const struct bench_stress_summary *x = &res[s][p][r];

				v[0][r] = (double)x->calls;
				v[1][r] = pct(x->fallback_list + x->fallback_sync, x->calls);
				v[2][r] = pct(x->fallback_list, x->calls);
				v[3][r] = pct(x->fallback_sync, x->calls);
				v[4][r] = (double)(x->refill_pages + x->direct_allocs + x->pool_allocs);
				v[5][r] = (double)x->peak_pages;
				v[6][r] = (double)x->peak_pending;
				v[7][r] = (double)x->reclaim_p50 / 1e6;
				v[8][r] = (double)x->reclaim_p99 / 1e6;
			}
			for (int k = 0; k < 9; k++)
				v[k][0] = median3(v[k], o.reps);
			fbm[p] = v[1][0];
			p99m[p] = v[8][0];
			printf("%-9s %-10s %11.0f %10.4f %10.4f %10.4f %9.0f %9.0f %11.0f %10llu %12.3g %12.3g\n",
			       scenarios[s], pnames[p], v[0][0], v[1][0], v[2][0], v[3][0], v[4][0],
			       v[5][0], v[6][0], (unsigned long long)res[s][p][0].pool_allocs,
			       v[7][0], v[8][0]);
		}
		fprintf(f, "%s %.6g %.6g %.6g %.6g %.6g %.6g\n", scenarios[s], fbm[0], fbm[1], fbm[2],
			p99m[0], p99m[1], p99m[2]);
	}
	fclose(f);

	snprintf(path, sizeof(path), "%s/policies.json", o.out);
	f = fopen(path, "w");
	if (!f)
		return 99;
	fprintf(f, "{\n  \"tool\": \"kvbench policies\",\n  \"started\": \"%s\",\n"
		   "  \"stress\": {\"cpus\": %d, \"seconds\": %u, \"chaos\": false, \"reps\": %d},\n"
		   "  \"machine\": {\n", started, o.cpus, o.seconds, o.reps);
	bench_machine_json(f, "    ");
	fprintf(f, "  },\n  \"runs\": [");
	for (int s = 0, first = 1; s < NR_SCENARIOS; s++) {
		for (int p = 0; p < KVFREE_POLICY_NR; p++) {
			for (int r = 0; r < o.reps && o.scen[s] && o.pol[p]; r++) {
				const struct bench_stress_summary *x = &res[s][p][r];

				fprintf(f, "%s\n    {\"scenario\": \"%s\", \"policy\": \"%s\", \"rep\": %d"
					", \"passed\": %s, \"calls\": %llu, \"fallback_list\": %llu"
					", \"fallback_sync\": %llu, \"fallback_pct\": %.6g"
					", \"pages_allocated\": %llu, \"refill_pages\": %llu"
					", \"direct_allocs\": %llu, \"pool_allocs\": %llu"
					", \"peak_pending\": %llu, \"peak_pages\": %llu"
					", \"env_pages_peak\": %llu, \"reclaim_ns_p50\": %llu"
					", \"reclaim_ns_p99\": %llu, \"gps\": %llu}",
					first ? "" : ",", scenarios[s], pnames[p], r + 1,
					x->passed ? "true" : "false", (unsigned long long)x->calls,
					(unsigned long long)x->fallback_list,
					(unsigned long long)x->fallback_sync,
					pct(x->fallback_list + x->fallback_sync, x->calls),
					(unsigned long long)(x->refill_pages + x->direct_allocs +
							     x->pool_allocs),
					(unsigned long long)x->refill_pages,
					(unsigned long long)x->direct_allocs,
					(unsigned long long)x->pool_allocs,
					(unsigned long long)x->peak_pending,
					(unsigned long long)x->peak_pages,
					(unsigned long long)x->env_pages_peak,
					(unsigned long long)x->reclaim_p50,
					(unsigned long long)x->reclaim_p99, (unsigned long long)x->gps);
				first = 0;
			}
		}
	}
	fprintf(f, "\n  ]\n}\n");
	fclose(f);

	snprintf(path, sizeof(path), "%s/policies.gp", o.out);
	f = fopen(path, "w");
	if (!f)
		return 99;
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
		o.cpus, o.seconds, o.reps, o.reps);
	fclose(f);
	if (o.plots)
		bench_run_gnuplot(o.out, "policies.gp");
	return worst == 0 ? 0 : 1;
}
