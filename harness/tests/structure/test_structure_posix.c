// SPDX-License-Identifier: MIT
/*
 * test_structure_posix - the structural checks on real threads.
 *
 * The posix environment (stress/posix/, checked flavour) with the structural
 * checks' debug mode on (a walk of the krc at every krc unlock) and
 * checkpoints (check_structure(true), with each krc lock taken) between
 * rounds of a flood from every CPU thread, right after every fourth of which
 * a CPU goes offline and back (checked while it is down), and after a final
 * barrier.  Linked with one implementation of the variant table: the
 * reference must pass; each S row must fail with the invariant given as the
 * first argument ("none" for the reference).  The same calls a stress
 * runner makes for its checkpoints and its debug mode.
 *
 * Exit codes: 0 as expected, 1 not, 99 set-up error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "posix_obj.h"

#define NR_CPUS 2
#define ROUNDS 16
#define PER_ROUND 64

/*
 * Each CPU thread queues a round of objects, both channels, cond_resched
 * between; with @arg, only the CPU it points to (so that the round ends the
 * moment that CPU is done).
 */
static void flood(int cpu, void *arg)
{
	if (arg && *(const int *)arg != cpu)
		return;
	for (int i = 0; i < PER_ROUND; i++) {
		bool vm = i % 8 == 7;
		struct kvt_obj *obj = kvt_obj_alloc(vm ? 4096 : 32, vm);

		if (!obj)
			return;
		obj->queued_cpu = (int16_t)cpu;
		check_obj_queued(obj, kenv_cpu(), kenv_context(), false, CHECK_EXPECT_FREE);
		kvfree_rcu(obj, rh);
		check_obj_queue_returned(obj);
		kenv_cond_resched();
	}
}

int main(int argc, char **argv)
{
	struct posix_env_config pc;
	struct kvfree_rcu_config kc;
	enum check_inv want = INV_NR, got;
	const char *report;

	if (argc != 2 || (strcmp(argv[1], "none") && !check_inv_parse(argv[1], &want))) {
		fprintf(stderr, "usage: %s none|INVARIANT-ID\n", argv[0]);
		return 2;
	}
	check_set_mode(CHECK_RECORD);
	check_reset();
	posix_env_config_default(&pc);
	pc.nr_cpus = NR_CPUS;
	pc.seed = 7;
	posix_env_start(&pc);
	kvfree_rcu_config_default(&kc);
	kc.nr_cpus = NR_CPUS;
	kc.page_entries = 4;
	kc.cache_pages = 2;
	/*
	 * The monitors wait longer than a flood round takes (even under TSan),
	 * so that a CPU going offline right after one still holds objects
	 * (S5); the rounds sleep past the delays so that batches, recycled
	 * pages and ready records come and go between them (S1, S2).
	 */
	kc.drain_delay_ns = 50000000;
	kc.short_delay_ns = 25000000;
	kc.backoff_ns = 2000000;
	if (!kvfree_rcu_init(&kc)) {
		fprintf(stderr, "kvfree_rcu_init() refused the configuration\n");
		return 99;
	}
	check_set_structure_at_unlock(true);

	for (int round = 0; round < ROUNDS; round++) {
		/* Every fourth round cpu1 alone floods, then goes offline holding objects. */
		posix_run_on_cpus(flood, round % 4 == 3 ? &(int){ 1 } : NULL);
		if (round % 4 == 3 && posix_cpu_offline(1)) {
			check_cpu_offline(1);
			kvfree_rcu_cpu_offline(1);
			check_structure(true);
			kvfree_rcu_cpu_online(1);
			check_cpu_online(1);
			posix_cpu_online(1);
		}
		/* A checkpoint: every krc under its lock, against the shadow. */
		check_structure(true);
		/* A GP, then time for the monitors to find pages whose GP passed. */
		kenv_synchronize_rcu();
		nanosleep(&(struct timespec){ .tv_nsec = 60000000 }, NULL);
	}
	check_barrier_begin();
	kvfree_rcu_barrier();
	check_barrier_end();
	check_structure(true);

	kvfree_rcu_exit();
	check_set_structure_at_unlock(false);
	posix_env_stop();
	got = check_violated(&report);
	printf("%s: expected %s, got %s\n", argv[0], want == INV_NR ? "none" : check_inv_name(want),
	       got == INV_NR ? "none" : check_inv_name(got));
	return got == want ? 0 : 1;
}
