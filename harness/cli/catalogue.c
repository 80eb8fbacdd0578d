// SPDX-License-Identifier: MIT
/*
 * catalogue.c - parse the historical-bug catalogue (see catalogue.h).
 *
 * The text is copied once and split in place: each field becomes a
 * NUL-terminated string inside the copy, so entries need no allocation of
 * their own.  Every error names the file and the line at fault.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"

static const char *const field_names[BUG_FIELD_NR] = {
	[BUG_ID] = "id",
	[BUG_INVARIANT] = "invariant",
	[BUG_ENGINES] = "engines",
	[BUG_COMMIT] = "commit",
	[BUG_VERSION] = "version",
	[BUG_TITLE] = "title",
	[BUG_MECHANISM] = "mechanism",
	[BUG_FIDELITY] = "fidelity",
};

static const struct {
	const char *name;
	enum bug_engine bit;
} engine_names[] = {
	{ "sim", BUG_ENGINE_SIM },
	{ "libfuzzer", BUG_ENGINE_LIBFUZZER },
	{ "afl", BUG_ENGINE_AFL },
	{ "stress", BUG_ENGINE_STRESS },
};

const char *bug_field_name(enum bug_field field)
{
	if ((unsigned int)field >= BUG_FIELD_NR)
		return NULL;
	return field_names[field];
}

static int fail(char *err, size_t err_len, const char *filename, unsigned int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t err_len, const char *filename, unsigned int line,
		const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, err_len, "%s:%u: ", filename, line);
	if (n < 0 || (size_t)n >= err_len)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "B" and 1..3 digits, no leading zero. */
static bool id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 4 || s[0] != 'B' || s[1] == '0')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* One or more commits of 12..40 lowercase hex digits, separated by commas. */
static bool commits_valid(const char *s)
{
	size_t run = 0;

	for (;; s++) {
		if (*s == ',' || *s == '\0') {
			if (run < 12 || run > 40)
				return false;
			if (*s == '\0')
				return true;
			run = 0;
		} else if (isdigit((unsigned char)*s) || (*s >= 'a' && *s <= 'f')) {
			run++;
		} else {
			return false;
		}
	}
}

/* "vMAJOR.MINOR". */
static bool version_valid(const char *s)
{
	const char *p = s + 1;
	bool dot = false;

	if (s[0] != 'v' || !isdigit((unsigned char)*p))
		return false;
	for (; *p; p++) {
		if (*p == '.') {
			if (dot || !isdigit((unsigned char)p[1]))
				return false;
			dot = true;
		} else if (!isdigit((unsigned char)*p)) {
			return false;
		}
	}
	return dot;
}

/* Parse the engines list into bits; false with @bad naming the bad word. */
static bool engines_parse(const char *s, unsigned int *bits, char *bad, size_t bad_len)
{
	*bits = 0;
	if (strcmp(s, "none") == 0)
		return true;
	while (*s) {
		size_t n = strcspn(s, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof(engine_names) / sizeof(engine_names[0]); i++) {
			if (strlen(engine_names[i].name) == n &&
			    strncmp(s, engine_names[i].name, n) == 0) {
				*bits |= engine_names[i].bit;
				known = true;
			}
		}
		if (!known) {
			snprintf(bad, bad_len, "%.*s", (int)(n < 64 ? n : 64), s);
			return false;
		}
		s += n;
		if (*s == ',' && !*++s) {
			snprintf(bad, bad_len, "(empty after a comma)");
			return false;
		}
	}
	return *bits != 0;
}

/* Split @line at tabs into at most @max fields; returns how many there were. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
	size_t n = 0;

	for (char *p = line;; p++) {
		if (n < max)
			fields[n] = p;
		n++;
		p = strchr(p, '\t');
		if (!p)
			return n;
		*p = '\0';
	}
}

static int parse_entry(struct bug_catalogue *cat, char **f, const char *filename,
		       unsigned int line, char *err, size_t err_len)
{
	struct bug_entry *e;
	char bad[80];

	for (unsigned int i = 0; i < BUG_FIELD_NR; i++)
		if (!*f[i])
			return fail(err, err_len, filename, line, "empty %s field", field_names[i]);
	if (!id_valid(f[BUG_ID]))
		return fail(err, err_len, filename, line,
			    "bad id '%s': want 'B' and a number (B1, B12)", f[BUG_ID]);
	if (bug_catalogue_find(cat, f[BUG_ID]))
		return fail(err, err_len, filename, line, "%s is listed twice (first at line %u)",
			    f[BUG_ID], bug_catalogue_find(cat, f[BUG_ID])->line);
	if (cat->nr >= BUG_CATALOGUE_MAX)
		return fail(err, err_len, filename, line, "more than %d bugs", BUG_CATALOGUE_MAX);
	e = &cat->bugs[cat->nr];
	if (!check_inv_parse(f[BUG_INVARIANT], &e->invariant))
		return fail(err, err_len, filename, line,
			    "%s: unknown invariant '%s' (want an ID of DESIGN.md section 4)",
			    f[BUG_ID], f[BUG_INVARIANT]);
	if (!engines_parse(f[BUG_ENGINES], &e->engines, bad, sizeof(bad)))
		return fail(err, err_len, filename, line,
			    "%s: bad engines '%s' at '%s' (want sim, libfuzzer, afl, stress, "
			    "comma-separated, or none)", f[BUG_ID], f[BUG_ENGINES], bad);
	if (!commits_valid(f[BUG_COMMIT]))
		return fail(err, err_len, filename, line,
			    "%s: bad commit '%s' (want 12 to 40 lowercase hex digits, "
			    "comma-separated)", f[BUG_ID], f[BUG_COMMIT]);
	if (!version_valid(f[BUG_VERSION]))
		return fail(err, err_len, filename, line,
			    "%s: bad version '%s' (want vMAJOR.MINOR)", f[BUG_ID], f[BUG_VERSION]);
	for (unsigned int i = 0; i < BUG_FIELD_NR; i++)
		e->field[i] = f[i];
	e->line = line;
	cat->nr++;
	return 0;
}

int bug_catalogue_parse(const char *text, size_t len, const char *filename,
			struct bug_catalogue *cat, char *err, size_t err_len)
{
	char *p, *next, *fields[BUG_FIELD_NR];
	bool have_header = false;
	unsigned int line = 0;

	memset(cat, 0, sizeof(*cat));
	snprintf(cat->path, sizeof(cat->path), "%s", filename);
	if (memchr(text, '\0', len)) {
		const char *nul = memchr(text, '\0', len);
		unsigned int at = 1;

		for (const char *q = text; q < nul; q++)
			at += *q == '\n';
		return fail(err, err_len, filename, at, "NUL byte in the catalogue");
	}
	cat->text = malloc(len + 1);
	if (!cat->text)
		return fail(err, err_len, filename, 0, "out of memory");
	memcpy(cat->text, text, len);
	cat->text[len] = '\0';

	for (p = cat->text; p && *p; p = next) {
		size_t n;

		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		n = strlen(p);
		if (n && p[n - 1] == '\r')
			p[--n] = '\0';
		if (!n || p[0] == '#')
			continue;
		n = split_tabs(p, fields, BUG_FIELD_NR);
		if (!have_header) {
			bool same = n == BUG_FIELD_NR;

			for (unsigned int i = 0; same && i < BUG_FIELD_NR; i++)
				same = strcmp(fields[i], field_names[i]) == 0;
			if (!same) {
				bug_catalogue_free(cat);
				return fail(err, err_len, filename, line,
					    "bad header: want the %d tab-separated columns id, "
					    "invariant, engines, commit, version, title, mechanism, "
					    "fidelity", BUG_FIELD_NR);
			}
			have_header = true;
			continue;
		}
		if (n != BUG_FIELD_NR) {
			bug_catalogue_free(cat);
			return fail(err, err_len, filename, line,
				    "%zu tab-separated field(s), want %d", n, BUG_FIELD_NR);
		}
		if (parse_entry(cat, fields, filename, line, err, err_len) != 0) {
			bug_catalogue_free(cat);
			return -1;
		}
	}
	if (!have_header) {
		bug_catalogue_free(cat);
		return fail(err, err_len, filename, line ? line : 1, "no header line");
	}
	return 0;
}

int bug_catalogue_load(const char *path, struct bug_catalogue *cat, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	memset(cat, 0, sizeof(*cat));
	if (!f) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *grown;

			cap = cap ? cap * 2 : 16384;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				fclose(f);
				snprintf(err, err_len, "%s: out of memory", path);
				return -1;
			}
			buf = grown;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, err_len, "%s: read error", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = bug_catalogue_parse(buf ? buf : "", len, path, cat, err, err_len);
	free(buf);
	return rc;
}

const struct bug_entry *bug_catalogue_find(const struct bug_catalogue *cat, const char *id)
{
	for (size_t i = 0; i < cat->nr; i++)
		if (strcmp(cat->bugs[i].field[BUG_ID], id) == 0)
			return &cat->bugs[i];
	return NULL;
}

void bug_catalogue_free(struct bug_catalogue *cat)
{
	free(cat->text);
	cat->text = NULL;
	cat->nr = 0;
}
