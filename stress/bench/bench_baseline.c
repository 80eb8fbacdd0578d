// SPDX-License-Identifier: MIT
/*
 * bench_baseline.c - the policy regression baseline (bench_baseline.h):
 * figures, bands, verdicts, and the baseline file.
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <json-c/json.h>

#include "bench_baseline.h"
#include "bench_report.h"

/*
 * Per figure: its name, which way it gets worse, the floor below which its
 * values count as that floor (figures near zero: a band is a ratio) and the
 * least factor a band widens by.
 */
enum worse { WORSE_UP, WORSE_DOWN, WORSE_EITHER };

static const struct {
	const char *name;
	enum worse worse;
	double floor, min_factor;
} figures[FIG_NR] = {
	[FIG_FALLBACK_PCT] = { "fallback_pct", WORSE_UP, 0.05, 1.5 },
	[FIG_REFILL_RAISES] = { "refill_raises", WORSE_EITHER, 3, 1.5 },
	/* The machine's other load alone moves the call rate by up to 2x. */
	[FIG_CALLS_PER_S] = { "calls_per_s", WORSE_DOWN, 1, 2.0 },
	[FIG_PEAK_PAGES] = { "peak_pages", WORSE_UP, 4, 1.5 },
};

const char *bench_figure_name(enum bench_figure f)
{
	return (unsigned int)f < FIG_NR ? figures[f].name : NULL;
}

double bench_figure_value(const struct bench_stress_summary *s, enum bench_figure f)
{
	switch (f) {
	case FIG_FALLBACK_PCT:
		return s->calls ? 100.0 * (double)(s->fallback_list + s->fallback_sync) /
					  (double)s->calls : 0;
	case FIG_REFILL_RAISES:
		return (double)s->refill_runs;
	case FIG_CALLS_PER_S:
		return s->flood_s > 0 ? (double)s->calls / s->flood_s : 0;
	case FIG_PEAK_PAGES:
		return (double)s->peak_pages;
	case FIG_NR:
		break;
	}
	return 0;
}

static double median_of(const double *v, int n)
{
	double s[64];

	if (n > 64)
		n = 64;
	memcpy(s, v, sizeof(double) * (size_t)(n > 0 ? n : 0));
	return bench_stat3_of(s, n).median;
}

struct bench_band bench_band_of(enum bench_figure f, const double *v, int n)
{
	struct bench_band b = { 0 };
	double min = v[0], max = v[0], lo, hi, k;

	for (int i = 1; i < n; i++) {
		min = fmin(min, v[i]);
		max = fmax(max, v[i]);
	}
	b.median = median_of(v, n);
	lo = fmax(min, figures[f].floor);
	hi = fmax(max, figures[f].floor);
	k = fmax(hi / lo, figures[f].min_factor);
	/* Below the floor a figure is as good as 0: its band starts there. */
	b.lo = min < figures[f].floor ? 0 : lo / k;
	b.hi = hi * k;
	return b;
}

enum bench_verdict bench_band_judge(enum bench_figure f, const struct bench_band *b, double v)
{
	/* As in the band: below the floor, a value counts as the floor. */
	double x = fmax(v, figures[f].floor);
	bool above = x > b->hi, below = x < b->lo;

	if (!above && !below)
		return VERDICT_IN_BAND;
	switch (figures[f].worse) {
	case WORSE_UP:
		return above ? VERDICT_REGRESSED : VERDICT_IMPROVED;
	case WORSE_DOWN:
		return below ? VERDICT_REGRESSED : VERDICT_IMPROVED;
	case WORSE_EITHER:
		break;
	}
	return VERDICT_REGRESSED;
}

const struct bench_baseline_entry *bench_baseline_find(const struct bench_baseline *b,
							 const char *scenario, const char *policy)
{
	for (int i = 0; i < b->nr; i++)
		if (!strcmp(b->e[i].scenario, scenario) && !strcmp(b->e[i].policy, policy))
			return &b->e[i];
	return NULL;
}

/* ---------------------------------------------------------------------------
 * The file
 */

void bench_set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* The number at JSON pointer @ptr below @obj, integer or not. */
static bool get_num(struct json_object *obj, const char *ptr, double *v)
{
	struct json_object *o;

	if (json_pointer_get(obj, ptr, &o) ||
	    !(json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double)))
		return false;
	*v = json_object_get_double(o);
	return true;
}

static bool get_str(struct json_object *obj, const char *key, char *buf, size_t len)
{
	struct json_object *o;

	if (!json_object_object_get_ex(obj, key, &o) || !json_object_is_type(o, json_type_string) ||
	    (size_t)json_object_get_string_len(o) >= len)
		return false;
	memcpy(buf, json_object_get_string(o), (size_t)json_object_get_string_len(o) + 1);
	return true;
}

static bool parse_entry(struct json_object *o, int idx, struct bench_baseline_entry *e,
			const char *name, char *err, size_t errlen)
{
	if (!get_str(o, "scenario", e->scenario, sizeof(e->scenario)) ||
	    !get_str(o, "policy", e->policy, sizeof(e->policy))) {
		bench_set_err(err, errlen, "%s: entries[%d] has no \"scenario\" or \"policy\" string", name,
			idx);
		return false;
	}
	for (int f = 0; f < FIG_NR; f++) {
		static const char *const parts[] = { "median", "lo", "hi" };
		double *dst[] = { &e->band[f].median, &e->band[f].lo, &e->band[f].hi };

		for (int k = 0; k < 3; k++) {
			char ptr[64];

			snprintf(ptr, sizeof(ptr), "/%s/%s", figures[f].name, parts[k]);
			if (!get_num(o, ptr, dst[k])) {
				bench_set_err(err, errlen, "%s: entries[%d] (%s %s) has no number at %s", name,
					idx, e->scenario, e->policy, ptr);
				return false;
			}
		}
	}
	return true;
}

bool bench_baseline_parse(const char *json, const char *name, struct bench_baseline *b,
			  char *err, size_t errlen)
{
	struct json_object *root, *entries;
	double cpus, seconds, reps, page_entries;
	bool ok = false;

	memset(b, 0, sizeof(*b));
	root = bench_json_parse(json, name, err, errlen);
	if (!root)
		return false;
	if (!get_num(root, "/stress/cpus", &cpus) || !get_num(root, "/stress/seconds", &seconds) ||
	    !get_num(root, "/stress/page_entries", &page_entries) ||
	    !get_num(root, "/stress/reps", &reps)) {
		bench_set_err(err, errlen, "%s: no \"stress\" object with cpus, seconds, page_entries and "
			"reps", name);
		goto out;
	}
	b->cpus = (int)cpus;
	b->seconds = (unsigned int)seconds;
	b->page_entries = (unsigned int)page_entries;
	b->reps = (int)reps;
	if (!json_object_object_get_ex(root, "entries", &entries) ||
	    !json_object_is_type(entries, json_type_array)) {
		bench_set_err(err, errlen, "%s: no \"entries\" array", name);
		goto out;
	}
	if (json_object_array_length(entries) > BENCH_BASELINE_MAX) {
		bench_set_err(err, errlen, "%s: more than %d entries", name, BENCH_BASELINE_MAX);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(entries); i++)
		if (!parse_entry(json_object_array_get_idx(entries, i), (int)i, &b->e[b->nr++], name,
				 err, errlen))
			goto out;
	ok = true;
out:
	json_object_put(root);
	return ok;
}

void bench_baseline_write(FILE *f, const struct bench_baseline *b, const char *started)
{
	fprintf(f, "{\n  \"tool\": \"kvbench policies --write-baseline\",\n  \"written\": \"%s\",\n"
		   "  \"stress\": {\"cpus\": %d, \"seconds\": %u, \"page_entries\": %u, \"chaos\": false, "
		   "\"reps\": %d},\n"
		   "  \"band\": \"[min / k, max * k], k = max(max / min, 1.5; calls_per_s 2), values "
		   "below a floor (fallback_pct 0.05, refill_raises 3, calls_per_s 1, peak_pages 4) "
		   "taken as the floor and a min below it making lo 0\",\n"
		   "  \"machine\": {\n", started, b->cpus, b->seconds, b->page_entries, b->reps);
	bench_machine_json(f, "    ");
	fprintf(f, "  },\n  \"entries\": [");
	for (int i = 0; i < b->nr; i++) {
		const struct bench_baseline_entry *e = &b->e[i];

		fprintf(f, "%s\n    {\"scenario\": \"%s\", \"policy\": \"%s\"", i ? "," : "",
			e->scenario, e->policy);
		for (int k = 0; k < FIG_NR; k++) {
			fprintf(f, ",\n     \"%s\": {\"median\": %.6g, \"lo\": %.6g, \"hi\": %.6g, "
				"\"values\": [", figures[k].name, e->band[k].median, e->band[k].lo,
				e->band[k].hi);
			for (int r = 0; r < b->reps && r < BENCH_BASELINE_MAX_REPS; r++)
				fprintf(f, "%s%.6g", r ? ", " : "", e->values[k][r]);
			fprintf(f, "]}");
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
}
