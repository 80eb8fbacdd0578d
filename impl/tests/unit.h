/* SPDX-License-Identifier: MIT */
/*
 * unit.h - fixtures and assertions shared by the unit tests of impl/.
 *
 * A test sets up the simulation and the implementation (unit_setup), drives
 * it with queue calls in chosen contexts, virtual time and explicit grace
 * periods, and asserts on the implementation's snapshot (unit_snap), the
 * simulation's counters (unit_sim) and the checker.  Comparisons print both
 * operands on failure.  Driver context only (the program's main stack).
 */
#ifndef KVTORTURE_UNIT_H
#define KVTORTURE_UNIT_H

#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "kvfree_rcu.h"
#include "sim.h"

#define MS 1000000ULL

struct tobj {
	struct kenv_rcu_head rh;
	uint64_t payload[2];
};

struct unit_test {
	const char *name;
	void (*fn)(void);
};

/*
 * UNIT_TEST(name) { ... } defines a test and registers it: the linker
 * gathers every test's record into the section "unit_tests", which unit.c
 * walks, and impl/tests/meson.build finds the names in the sources, so a
 * test is written in exactly one place.  The records are pointers, not the
 * structs themselves, so the section holds nothing but equal-sized entries.
 */
#define UNIT_TEST(tname)							\
	static void unit_fn_##tname(void);					\
	static const struct unit_test unit_##tname = { #tname, unit_fn_##tname }; \
	static const struct unit_test *const unit_ptr_##tname			\
		__attribute__((used, section("unit_tests"))) = &unit_##tname;	\
	static void unit_fn_##tname(void)

_Noreturn void unit_fail(const char *file, int line, const char *expr);
_Noreturn void unit_fail_eq(const char *file, int line, const char *a, const char *b,
			    unsigned long long va, unsigned long long vb, const char *op);

#define EXPECT(cond)								\
	do {									\
		if (!(cond))							\
			unit_fail(__FILE__, __LINE__, #cond);			\
	} while (0)
#define EXPECT_CMP_(a, b, op)							\
	do {									\
		unsigned long long a_ = (unsigned long long)(a);		\
		unsigned long long b_ = (unsigned long long)(b);		\
		if (!(a_ op b_))						\
			unit_fail_eq(__FILE__, __LINE__, #a, #b, a_, b_, #op);	\
	} while (0)
#define EXPECT_EQ(a, b) EXPECT_CMP_(a, b, ==)
#define EXPECT_NE(a, b) EXPECT_CMP_(a, b, !=)
#define EXPECT_LE(a, b) EXPECT_CMP_(a, b, <=)
#define EXPECT_GE(a, b) EXPECT_CMP_(a, b, >=)
#define EXPECT_GT(a, b) EXPECT_CMP_(a, b, >)

/* The configuration of the current test (after unit_setup). */
extern struct kvfree_rcu_config ucfg;

/*
 * Fresh sim with @cpus CPUs and explicit GPs, implementation initialised with
 * @policy, @entries per page, a cache of @cache pages, a 100 ms drain delay, a
 * 1 ms short delay, a 50 ms backoff; @tweak (or NULL) adjusts both configs.
 * The checker records violations instead of exiting.
 */
void unit_setup(unsigned int cpus, enum kvfree_policy policy, unsigned int entries,
		unsigned int cache,
		void (*tweak)(struct kvfree_rcu_config *cfg, struct sim_config *sc));
void unit_finish_clean(void);

struct kvfree_rcu_cpu_stats unit_snap(unsigned int cpu);
struct sim_stats unit_sim(void);

enum kvt_unit_mask { UNIT_MASK_NONE, UNIT_MASK_IRQS, UNIT_MASK_PREEMPT };

struct tobj *unit_obj(bool vmalloc);
/* Queue @obj from @ctx on @cpu (task/kthread: a coroutine; others: an interrupt). */
void unit_queue_obj(unsigned int cpu, enum kenv_ctx ctx, struct tobj *obj, bool headless,
		    enum check_expect expect, enum kvt_unit_mask mask);
/* A new object, queued with the expectation that it is freed after a GP. */
struct tobj *unit_queue(unsigned int cpu, enum kenv_ctx ctx, bool vmalloc, bool headless);
/* @n new slab objects, two-argument form, from a task on @cpu. */
void unit_queue_n(unsigned int cpu, unsigned int n);
void unit_prime_cache(unsigned int cpu);
void unit_run_monitor(void);
void unit_gp(void);

#endif /* KVTORTURE_UNIT_H */
