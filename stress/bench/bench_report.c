// SPDX-License-Identifier: MIT
/*
 * bench_report.c - summaries, table, JSON and plots of kvbench (see
 * bench_report.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnu/libc-version.h>

#include "bench_obj.h"
#include "bench_report.h"

static const char *const metric_names[MET_NR] = {
	[MET_CPU_PER_OBJ] = "cpu_ns_per_obj",
	[MET_WALL_PER_OBJ] = "wall_ns_per_obj",
	[MET_MOPS] = "mobj_per_s",
	[MET_CALL_P50] = "call_ns_p50",
	[MET_CALL_P99] = "call_ns_p99",
	[MET_RECLAIM_P50] = "reclaim_ns_p50",
	[MET_RECLAIM_P99] = "reclaim_ns_p99",
	[MET_PEAK_KIB] = "peak_kib",
	[MET_PEAK_PENDING] = "peak_pending_objs",
	[MET_PAGES] = "pages_allocated",
	[MET_FALLBACK_PCT] = "fallback_pct",
	[MET_GPS] = "grace_periods",
};

const char *bench_metric_name(enum bench_metric m)
{
	return (unsigned int)m < MET_NR ? metric_names[m] : "?";
}

double bench_metric(const struct bench_run_result *r, enum bench_metric m)
{
	switch (m) {
	case MET_CPU_PER_OBJ:
		return r->cpu_ns_per_obj;
	case MET_WALL_PER_OBJ:
		return r->wall_ns_per_obj;
	case MET_MOPS:
		return r->flood_ns ? (double)r->objects * 1e3 / (double)r->flood_ns : 0;
	case MET_CALL_P50:
		return r->call_ns_p50;
	case MET_CALL_P99:
		return r->call_ns_p99;
	case MET_RECLAIM_P50:
		return r->reclaim_ns_p50;
	case MET_RECLAIM_P99:
		return r->reclaim_ns_p99;
	case MET_PEAK_KIB:
		return (double)r->peak_bytes / 1024.0;
	case MET_PEAK_PENDING:
		return (double)r->peak_pending;
	case MET_PAGES:
		return (double)r->pages_allocated;
	case MET_FALLBACK_PCT:
		return r->objects ? 100.0 * (double)(r->fallback_list + r->fallback_sync) /
				    (double)r->objects : 0;
	case MET_GPS:
		return (double)r->gps;
	case MET_NR:
		break;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct bench_stat3 bench_stat3_of(double *v, int n)
{
	struct bench_stat3 s = { 0, 0, 0 };

	if (n <= 0)
		return s;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

struct bench_stat3 bench_row_stat(const struct bench_row *row, enum bench_metric m)
{
	double v[BENCH_MAX_REPS];
	int n = 0;

	/* A run whose callers never got to call (starved past its end) has no per-object figures. */
	for (int i = 0; i < row->reps; i++)
		if (row->res[i].objects)
			v[n++] = bench_metric(&row->res[i], m);
	return bench_stat3_of(v, n);
}

bool bench_row_ratio(const struct bench_row *row, const struct bench_row *base,
		     struct bench_stat3 *out)
{
	double v[BENCH_MAX_REPS];
	int n = 0;

	for (int i = 0; i < row->reps && i < base->reps; i++)
		if (base->res[i].cpu_ns_per_obj > 0 && row->res[i].objects)
			v[n++] = row->res[i].cpu_ns_per_obj / base->res[i].cpu_ns_per_obj;
	*out = bench_stat3_of(v, n);
	return n > 0;
}

void bench_row_label(const struct bench_row *row, char *buf, size_t len)
{
	const struct bench_run_config *c = &row->cfg;

	if (bench_method_is_kvfree(c->method))
		snprintf(buf, len, "%s/%s/%d/%s/%s", bench_method_name(c->method),
			 c->irq ? "irq" : "task", c->threads, bench_reclaim_name(c->reclaim),
			 kvfree_policy_name(c->policy));
	else
		snprintf(buf, len, "%s/%s/%d", bench_method_name(c->method),
			 c->irq ? "irq" : "task", c->threads);
}

const struct bench_row *bench_find_base(const struct bench_report *rep,
					const struct bench_row *row, enum bench_method base)
{
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct bench_row *b = &rep->rows[i];

		if (b->cfg.method == base && b->cfg.irq == row->cfg.irq &&
		    b->cfg.threads == row->cfg.threads)
			return b;
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * Table
 */

static void fmt_ratio(char *buf, size_t len, const struct bench_report *rep,
		      const struct bench_row *row, enum bench_method base)
{
	const struct bench_row *b = bench_find_base(rep, row, base);
	struct bench_stat3 r;

	if (!b || b == row || !bench_row_ratio(row, b, &r))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f [%.2f-%.2f]", r.median, r.min, r.max);
}

void bench_print_table(FILE *f, const struct bench_report *rep)
{
	fprintf(f, "%-22s %-4s %3s %-7s %-9s %23s %8s %7s %13s %17s %9s %8s %20s %20s\n",
		"method", "ctx", "thr", "reclaim", "policy", "cpu ns/obj min/med/max",
		"wall/obj", "Mobj/s", "call p50/p99", "reclaim p50/p99", "peak KiB",
		"fallbk%", "x call_rcu med[min-max]", "x free med[min-max]");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct bench_row *row = &rep->rows[i];
		const struct bench_run_config *c = &row->cfg;
		bool kv = bench_method_is_kvfree(c->method);
		struct bench_stat3 cpu = bench_row_stat(row, MET_CPU_PER_OBJ);
		char cpus[40], calls[32], recl[32], vs_rcu[32], vs_free[32], fb[16];

		snprintf(cpus, sizeof(cpus), "%.1f/%.1f/%.1f", cpu.min, cpu.median, cpu.max);
		snprintf(calls, sizeof(calls), "%.0f/%.0f", bench_row_stat(row, MET_CALL_P50).median,
			 bench_row_stat(row, MET_CALL_P99).median);
		snprintf(recl, sizeof(recl), "%.3g/%.3g ms",
			 bench_row_stat(row, MET_RECLAIM_P50).median / 1e6,
			 bench_row_stat(row, MET_RECLAIM_P99).median / 1e6);
		fmt_ratio(vs_rcu, sizeof(vs_rcu), rep, row, BM_CALL_RCU);
		fmt_ratio(vs_free, sizeof(vs_free), rep, row, BM_FREE);
		if (kv)
			snprintf(fb, sizeof(fb), "%.3f", bench_row_stat(row, MET_FALLBACK_PCT).median);
		else
			snprintf(fb, sizeof(fb), "-");
		fprintf(f, "%-22s %-4s %3d %-7s %-9s %23s %8.1f %7.2f %13s %17s %9.0f %8s %20s %20s\n",
			bench_method_name(c->method), c->irq ? "irq" : "task", c->threads,
			kv ? bench_reclaim_name(c->reclaim) : "-",
			kv ? kvfree_policy_name(c->policy) : "-", cpus,
			bench_row_stat(row, MET_WALL_PER_OBJ).median,
			bench_row_stat(row, MET_MOPS).median, calls, recl,
			bench_row_stat(row, MET_PEAK_KIB).median, fb, vs_rcu, vs_free);
	}
}

/* ---------------------------------------------------------------------------
 * JSON
 */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void json_stat3(FILE *f, struct bench_stat3 s)
{
	fprintf(f, "{\"min\": %.6g, \"median\": %.6g, \"max\": %.6g}", s.min, s.median, s.max);
}

void bench_machine_json(FILE *f, const char *indent)
{
	struct utsname u;
	char model[128] = "unknown";
	FILE *ci = fopen("/proc/cpuinfo", "r");
	char line[256];

	if (ci) {
		while (fgets(line, sizeof(line), ci)) {
			char *colon = strchr(line, ':');

			if (!strncmp(line, "model name", 10) && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(ci);
	}
	uname(&u);
	fprintf(f, "%s\"cpu_model\": ", indent);
	json_string(f, model);
	fprintf(f, ",\n%s\"online_cpus\": %ld,\n%s\"kernel\": ", indent,
		sysconf(_SC_NPROCESSORS_ONLN), indent);
	json_string(f, u.release);
	fprintf(f, ",\n%s\"compiler\": ", indent);
	json_string(f, __VERSION__);
	fprintf(f, ",\n%s\"glibc\": ", indent);
	json_string(f, gnu_get_libc_version());
	fprintf(f, ",\n%s\"timer_pair_ns\": %.2f\n", indent,
		bench_ticks_to_ns(bench_ticks_overhead()));
}

void bench_machine_text(FILE *f)
{
	FILE *ci = fopen("/proc/cpuinfo", "r");
	char line[256], model[128] = "unknown";
	struct utsname u;

	if (ci) {
		while (fgets(line, sizeof(line), ci)) {
			char *colon = strchr(line, ':');

			if (!strncmp(line, "model name", 10) && colon) {
				snprintf(model, sizeof(model), "%s", colon + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(ci);
	}
	uname(&u);
	fprintf(f, "machine: %s, %ld CPUs online, Linux %s, glibc %s, compiler %s\n", model,
		sysconf(_SC_NPROCESSORS_ONLN), u.release, gnu_get_libc_version(), __VERSION__);
}

void bench_write_json(FILE *f, const struct bench_report *rep)
{
	fprintf(f, "{\n  \"tool\": \"kvbench\",\n  \"started\": ");
	json_string(f, rep->started);
	fprintf(f, ",\n  \"command\": ");
	json_string(f, rep->command);
	fprintf(f, ",\n  \"duration_ms\": %.1f,\n  \"object_bytes\": %zu,\n  \"burst\": %d,\n",
		(double)rep->duration_ns / 1e6, sizeof(struct bench_obj), BENCH_BURST);
	fprintf(f, "  \"machine\": {\n");
	bench_machine_json(f, "    ");
	fprintf(f, "  },\n  \"rows\": [");
	for (int i = 0; i < rep->nr_rows; i++) {
		const struct bench_row *row = &rep->rows[i];
		const struct bench_run_config *c = &row->cfg;
		bool kv = bench_method_is_kvfree(c->method);
		char label[96];
		struct bench_stat3 r;

		bench_row_label(row, label, sizeof(label));
		fprintf(f, "%s\n    {\"label\": ", i ? "," : "");
		json_string(f, label);
		fprintf(f, ", \"method\": \"%s\", \"context\": \"%s\", \"threads\": %d",
			bench_method_name(c->method), c->irq ? "hardirq" : "task", c->threads);
		if (kv)
			fprintf(f, ", \"reclaim\": \"%s\", \"policy\": \"%s\"",
				bench_reclaim_name(c->reclaim), kvfree_policy_name(c->policy));
		fprintf(f, ", \"reps\": %d,\n     \"summary\": {", row->reps);
		for (int m = 0; m < MET_NR; m++) {
			fprintf(f, "%s\"%s\": ", m ? ", " : "", bench_metric_name((enum bench_metric)m));
			json_stat3(f, bench_row_stat(row, (enum bench_metric)m));
		}
		fprintf(f, "},\n     \"ratio_cpu_vs_call_rcu\": ");
		if (bench_find_base(rep, row, BM_CALL_RCU) &&
		    bench_row_ratio(row, bench_find_base(rep, row, BM_CALL_RCU), &r))
			json_stat3(f, r);
		else
			fprintf(f, "null");
		fprintf(f, ", \"ratio_cpu_vs_free\": ");
		if (bench_find_base(rep, row, BM_FREE) &&
		    bench_row_ratio(row, bench_find_base(rep, row, BM_FREE), &r))
			json_stat3(f, r);
		else
			fprintf(f, "null");
		fprintf(f, ",\n     \"runs\": [");
		for (int k = 0; k < row->reps; k++) {
			const struct bench_run_result *res = &row->res[k];

			fprintf(f, "%s\n       {\"objects\": %llu, \"wall_ns\": %llu, \"flood_ns\": %llu"
				", \"cpu_ns\": %llu, \"peak_pending\": %llu, \"peak_bytes\": %llu"
				", \"peak_pages\": %llu, \"pages_allocated\": %llu"
				", \"fallback_list\": %llu, \"fallback_sync\": %llu, \"gps\": %llu",
				k ? "," : "", (unsigned long long)res->objects,
				(unsigned long long)res->wall_ns, (unsigned long long)res->flood_ns,
				(unsigned long long)res->cpu_ns, (unsigned long long)res->peak_pending,
				(unsigned long long)res->peak_bytes, (unsigned long long)res->peak_pages,
				(unsigned long long)res->pages_allocated,
				(unsigned long long)res->fallback_list,
				(unsigned long long)res->fallback_sync, (unsigned long long)res->gps);
			for (int m = 0; m < MET_NR; m++)
				fprintf(f, ", \"%s\": %.6g", bench_metric_name((enum bench_metric)m),
					bench_metric(res, (enum bench_metric)m));
			fprintf(f, "}");
		}
		fprintf(f, "]}");
	}
	fprintf(f, "\n  ]\n}\n");
}

/* ---------------------------------------------------------------------------
 * Plots
 */

/* Series of the plots: one per method (and reclaim mode for kvfree), task context, kernel policy. */
static bool plotted(const struct bench_row *row)
{
	return !row->cfg.irq && (!bench_method_is_kvfree(row->cfg.method) ||
				 row->cfg.policy == KVFREE_POLICY_KERNEL);
}

static void series_label(const struct bench_row *row, char *buf, size_t len)
{
	if (bench_method_is_kvfree(row->cfg.method))
		snprintf(buf, len, "%s(%s)", bench_method_name(row->cfg.method),
			 bench_reclaim_name(row->cfg.reclaim));
	else
		snprintf(buf, len, "%s", bench_method_name(row->cfg.method));
}

static bool same_series(const struct bench_row *a, const struct bench_row *b)
{
	return a->cfg.method == b->cfg.method && a->cfg.irq == b->cfg.irq &&
	       a->cfg.policy == b->cfg.policy &&
	       (!bench_method_is_kvfree(a->cfg.method) || a->cfg.reclaim == b->cfg.reclaim);
}

bool bench_write_plots(const char *dir, const struct bench_report *rep)
{
	static const enum bench_metric mets[] = { MET_CPU_PER_OBJ, MET_RECLAIM_P99, MET_PEAK_KIB };
	static const char *const files[] = { "methods_cpu", "methods_reclaim_p99", "methods_peak" };
	static const char *const ylabels[] = {
		"CPU ns per object (all threads, reclaim included)",
		"reclaim latency p99 (ns, queue to free)",
		"peak memory held (KiB: pending objects + storage)",
	};
	char path[4096], titles[2048] = "", label[96];
	bool first_of[256] = { false };
	int nseries = 0;
	FILE *f;

	/* Series are the plotted rows' distinct (method, reclaim), in row order. */
	for (int i = 0; i < rep->nr_rows && i < 256; i++) {
		bool seen = false;

		if (!plotted(&rep->rows[i]))
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = first_of[j] && same_series(&rep->rows[j], &rep->rows[i]);
		if (seen)
			continue;
		first_of[i] = true;
		series_label(&rep->rows[i], label, sizeof(label));
		if (strlen(titles) + strlen(label) + 2 < sizeof(titles)) {
			strcat(titles, nseries ? " " : "");
			strcat(titles, label);
		}
		nseries++;
	}
	for (unsigned int p = 0; p < sizeof(mets) / sizeof(mets[0]); p++) {
		snprintf(path, sizeof(path), "%s/%s.dat", dir, files[p]);
		f = fopen(path, "w");
		if (!f)
			return false;
		for (int i = 0; i < rep->nr_rows && i < 256; i++) {
			if (!first_of[i])
				continue;
			series_label(&rep->rows[i], label, sizeof(label));
			fprintf(f, "# %s: threads median min max\n", label);
			for (int j = 0; j < rep->nr_rows; j++) {
				struct bench_stat3 s;

				if (!plotted(&rep->rows[j]) || !same_series(&rep->rows[i], &rep->rows[j]))
					continue;
				s = bench_row_stat(&rep->rows[j], mets[p]);
				fprintf(f, "%d %.6g %.6g %.6g\n", rep->rows[j].cfg.threads, s.median,
					s.min, s.max);
			}
			fprintf(f, "\n\n");
		}
		if (fclose(f))
			return false;
	}
	snprintf(path, sizeof(path), "%s/methods.gp", dir);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# gnuplot script written by kvbench: gnuplot methods.gp (in this folder)\n"
		   "set terminal pngcairo size 1000,700 noenhanced\n"
		   "set key below\nset logscale y\nset grid ytics\n"
		   "set xlabel 'caller threads'\nset xtics (1, 2, 4, 8)\nset xrange [0.5:%d]\n"
		   "titles = \"%s\"\n",
		rep->nr_rows ? 5 : 5, titles);
	for (unsigned int p = 0; p < sizeof(mets) / sizeof(mets[0]); p++)
		fprintf(f, "set output '%s.png'\nset title '%s, median with min-max over repetitions'\n"
			   "set ylabel '%s'\n"
			   "plot for [i=0:%d] '%s.dat' index i using 1:2:3:4 with yerrorlines lw 2 "
			   "title word(titles, i+1)\n",
			files[p], ylabels[p], ylabels[p], nseries - 1, files[p]);
	return fclose(f) == 0;
}

bool bench_run_gnuplot(const char *dir, const char *script)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return false;
	if (pid == 0) {
		if (chdir(dir))
			_exit(127);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "kvbench: gnuplot not found: plots not drawn (%s/%s is ready)\n",
			dir, script);
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "kvbench: gnuplot %s failed in %s\n", script, dir);
		return false;
	}
	fprintf(stderr, "kvbench: plots drawn in %s (%s)\n", dir, script);
	return true;
}
