// SPDX-License-Identifier: MIT
/*
 * kvfree_config.c - the configuration half of kvfree_rcu.h: policy names,
 * defaults and validation.  Shared by every implementation of that API (the
 * reference one in kvfree_rcu.c and the kernel's in impl/kernel/), so a
 * program accepted by one is accepted by the other; an implementation with
 * tighter limits of its own refuses the rest in kvfree_rcu_init().
 */
#include <stdbool.h>
#include <string.h>

#include "kcompat.h"
#include "kvfree_rcu.h"

static const char *const policy_names[KVFREE_POLICY_NR] = {
	[KVFREE_POLICY_KERNEL] = "kernel",
	[KVFREE_POLICY_WATERMARK] = "watermark",
	[KVFREE_POLICY_NOLOCKS] = "nolocks",
};

const char *kvfree_policy_name(enum kvfree_policy policy)
{
	if ((unsigned int)policy >= KVFREE_POLICY_NR)
		return NULL;
	return policy_names[policy];
}

bool kvfree_policy_parse(const char *name, enum kvfree_policy *policy)
{
	for (unsigned int i = 0; i < KVFREE_POLICY_NR; i++) {
		if (strcmp(name, policy_names[i]) == 0) {
			*policy = (enum kvfree_policy)i;
			return true;
		}
	}
	return false;
}

void kvfree_rcu_config_default(struct kvfree_rcu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = KVFREE_POLICY_KERNEL;
	cfg->nr_cpus = 1;
	cfg->page_entries = KVFREE_PAGE_ENTRIES_MAX;
	cfg->cache_pages = 5;
	cfg->drain_delay_ns = 5000000000ULL;	/* 5 s, as KFREE_DRAIN_JIFFIES */
	cfg->short_delay_ns = 1000000ULL;	/* one jiffy */
	cfg->refill_kick_ns = 0;		/* the hrtimer fires right away */
	cfg->backoff_ns = 5000000000ULL;	/* rcu_delay_page_cache_fill_msec */
	cfg->watermark = KVFREE_PAGE_ENTRIES_MAX / 4;
	cfg->rate_calls = 1024;
	cfg->rate_window_ns = 1000000ULL;
}

bool kvfree_rcu_config_valid(const struct kvfree_rcu_config *cfg, const char **why)
{
	const char *bad = NULL;

	if ((unsigned int)cfg->policy >= KVFREE_POLICY_NR)
		bad = "policy: not kernel, watermark or nolocks";
	else if (cfg->nr_cpus < 1 || cfg->nr_cpus > KENV_NR_CPUS_MAX)
		bad = "nr_cpus: out of range 1..KENV_NR_CPUS_MAX";
	else if (cfg->page_entries < KVFREE_PAGE_ENTRIES_MIN ||
		 cfg->page_entries > KVFREE_PAGE_ENTRIES_MAX)
		bad = "page_entries: out of range 2..KVFREE_PAGE_ENTRIES_MAX";
	else if (cfg->cache_pages > KVFREE_CACHE_PAGES_MAX)
		bad = "cache_pages: above KVFREE_CACHE_PAGES_MAX";
	else if (cfg->drain_delay_ns < NSEC_PER_JIFFY)
		bad = "drain_delay_ns: below one jiffy";
	else if (cfg->short_delay_ns < NSEC_PER_JIFFY || cfg->short_delay_ns > cfg->drain_delay_ns)
		bad = "short_delay_ns: below one jiffy or above drain_delay_ns";
	else if (cfg->rate_window_ns == 0)
		bad = "rate_window_ns: zero";
	if (bad && why)
		*why = bad;
	return bad == NULL;
}
