/* SPDX-License-Identifier: MIT */
/*
 * scenarios.c - the scenario registry of flood.h, read from scenarios.def:
 * names, kinds, what `all` means, parsing --scenario and listing the table.
 * The start functions are the flooders' (flood.c).
 */
#include <stdio.h>
#include <string.h>

#include "flood.h"

struct scenario_info {
	const char *name;
	enum kvt_scenario_kind kind;
	bool in_all;
	bool bench;
	const char *desc;
};

static const struct scenario_info table[KVT_SC_NR] = {
#define KVT_SCENARIO(id, name, kind, in_all, bench, start, desc) \
	[KVT_SC_##id] = { name, KVT_KIND_##kind, in_all, bench, desc },
#include "scenarios.def"
};

/* A negative driver breaks the run on purpose: `all` must never include one. */
#define KVT_SCENARIO(id, name, kind, in_all, bench, start, desc) \
	_Static_assert(!(in_all) || KVT_KIND_##kind == KVT_KIND_FLOOD, \
		       "scenario " name ": a NEGATIVE driver in all");
#include "scenarios.def"

const char *kvt_scenario_name(enum kvt_scenario sc)
{
	return (unsigned int)sc < KVT_SC_NR ? table[sc].name : NULL;
}

enum kvt_scenario_kind kvt_scenario_kind(enum kvt_scenario sc)
{
	return table[sc].kind;
}

unsigned int kvt_scenario_all_mask(void)
{
	unsigned int mask = 0;

	for (int sc = 0; sc < KVT_SC_NR; sc++)
		if (table[sc].in_all)
			mask |= 1u << sc;
	return mask;
}

bool kvt_scenario_parse(const char *list, unsigned int *mask, const char **bad, size_t *bad_len)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		size_t len = strcspn(p, ",");
		bool found = false;

		if (len == 3 && !strncmp(p, "all", 3)) {
			*mask |= kvt_scenario_all_mask();
			found = true;
		}
		for (int sc = 0; sc < KVT_SC_NR && !found; sc++) {
			if (strlen(table[sc].name) == len && !strncmp(p, table[sc].name, len)) {
				*mask |= 1u << sc;
				found = true;
			}
		}
		if (!found) {
			*bad = p;
			*bad_len = len;
			return false;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		*bad = list;
		*bad_len = 0;
		return false;
	}
	return true;
}

void kvt_scenario_print_names(FILE *f, enum kvt_scenario_kind kind)
{
	const char *sep = "";

	for (int sc = 0; sc < KVT_SC_NR; sc++) {
		if (table[sc].kind != kind)
			continue;
		fprintf(f, "%s%s", sep, table[sc].name);
		sep = " ";
	}
}

void kvt_scenario_list(FILE *f)
{
	for (int sc = 0; sc < KVT_SC_NR; sc++)
		fprintf(f, "%s\t%s\t%s\t%s\t%s\n", table[sc].name,
			table[sc].kind == KVT_KIND_FLOOD ? "flood" : "negative",
			table[sc].in_all ? "yes" : "no", table[sc].bench ? "yes" : "no",
			table[sc].desc);
}
