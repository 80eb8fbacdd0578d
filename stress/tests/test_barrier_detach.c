/* SPDX-License-Identifier: MIT */
/*
 * test_barrier_detach.c - two kvfree_rcu_barrier() callers at once, on real
 * threads in the posix environment, with the implementation linked in (the
 * reference one, or with -DKVT_KERNEL_VARIANT a kernel's section).
 *
 * The first barrier detaches the krc's objects into a batch slot and, still
 * holding the krc lock, is held just before it queues the slot's rcu_work
 * (posix_queue_rcu_work_hook, for up to HOLD_MS).  The second begins then:
 * from outside the lock it finds the krc empty and the slot's work idle.  It
 * must not return before those objects are freed, since they were queued
 * before it began.  A barrier that waits for the lock returns only after the
 * first was let go, with every object freed.
 *
 * A kernel variant expects what the tree has: 6.12 and later as shipped
 * return early (an open finding, corpus/found/kernel-6.12/README.md); with
 * barrier-detach-race.patch, or its -mainline version, applied they must
 * not.  A tree without the kernel's own barrier (before 6.12) has nothing
 * to test (a TAP skip).  TAP output.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "env_internal.h"	/* posix_queue_rcu_work_hook */
#include "kvfree_rcu.h"
#include "posix_env.h"
#include "posix_obj.h"
#include "tap.h"
#ifdef KVT_KERNEL_VARIANT
#include "kernel_impl.h"
#endif

#define OK(cond, ...) TAP_OK(cond, __VA_ARGS__)
#define NR_OBJS 4
#define HOLD_MS 500

static _Atomic(bool) armed, inside, second_done;
static _Atomic(int) held_ms;
static __thread bool is_first;

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The hook: the first barrier's queue_rcu_work(), under the krc lock. */
static void hold_first(void)
{
	int ms = 0;

	if (!is_first || !atomic_exchange(&armed, false))
		return;
	atomic_store(&inside, true);
	while (ms < HOLD_MS && !atomic_load(&second_done)) {
		sleep_ms(1);
		ms++;
	}
	atomic_store(&held_ms, ms);
}

static void *first_barrier(void *arg)
{
	(void)arg;
	is_first = true;
	kvfree_rcu_barrier();
	return NULL;
}

/*
 * Whether the implementation's barrier must wait for a batch being detached:
 * always for the reference one; for a kernel, 1 with the fix applied, 0 as
 * shipped, -1 when the tree has no barrier of its own.
 */
static int expect_waits(const char **what)
{
#ifdef KVT_KERNEL_VARIANT
	static char buf[512];
	int major = 0, minor = 0;

	if (sscanf(kvt_kernel_version(), "%d.%d", &major, &minor) != 2 ||
	    major * 1000 + minor < 6012) {
		snprintf(buf, sizeof(buf), "kernel %s: no kvfree_rcu_barrier() of its own",
			 kvt_kernel_version());
		*what = buf;
		return -1;
	}
	snprintf(buf, sizeof(buf), "kernel %s%s%s", kvt_kernel_version(),
		 *kvt_kernel_patches() ? " patched with " : "", kvt_kernel_patches());
	*what = buf;
	/* barrier-detach-race.patch (6.12) or barrier-detach-race-mainline.patch (6.14+). */
	return strstr(kvt_kernel_patches(), "barrier-detach-race") != NULL;
#else
	*what = "the reference implementation";
	return 1;
#endif
}

int main(void)
{
	struct posix_env_config cfg;
	struct kvfree_rcu_config kcfg;
	struct kvt_obj_stats before, after;
	const char *what;
	int want = expect_waits(&what), got_inside;
	pthread_t thr;
	long freed;

	if (want < 0) {
		printf("1..0 # SKIP %s\n", what);
		return 0;
	}
	posix_env_config_default(&cfg);
	cfg.nr_cpus = 2;
	check_reset();
	posix_env_start(&cfg);
	kvfree_rcu_config_default(&kcfg);
	kcfg.nr_cpus = 2;
	/* No monitor fires meanwhile: its batch would leave the first barrier nothing to detach. */
	kcfg.drain_delay_ns = 30ull * 1000 * 1000 * 1000;
	if (!kvfree_rcu_init(&kcfg)) {
		OK(false, "kvfree_rcu_init");
		return tap_done();
	}
	kvt_obj_stats(&before);
	for (int i = 0; i < NR_OBJS; i++) {
		struct kvt_obj *obj = kvt_obj_alloc(16, false);

		check_obj_queued(obj, kenv_cpu(), kenv_context(), false, CHECK_EXPECT_FREE);
		kvfree_call_rcu(&obj->rh, obj);
		check_obj_queue_returned(obj);
	}
	atomic_store(&armed, true);
	atomic_store(&posix_queue_rcu_work_hook, hold_first);
	posix_thread_create(&thr, "barrier-first", POSIX_ROLE_KTHREAD, 1, first_barrier, NULL);
	for (int i = 0; i < 2000 && !atomic_load(&inside); i++)
		sleep_ms(1);
	got_inside = atomic_load(&inside);
	kvfree_rcu_barrier();
	kvt_obj_stats(&after);
	freed = (long)(after.freed - before.freed);
	atomic_store(&second_done, true);
	pthread_join(thr, NULL);
	atomic_store(&posix_queue_rcu_work_hook, NULL);
	OK(got_inside, "%s: the first barrier was held between detaching the batch and queueing it",
	   what);
	if (want)
		OK(freed == NR_OBJS,
		   "%s: the second barrier returned with the batch freed (%ld of %d; the first "
		   "held for %d ms)", what, freed, NR_OBJS, atomic_load(&held_ms));
	else
		OK(freed < NR_OBJS,
		   "%s: the second barrier returned early, as this tree's open finding says "
		   "(%ld of %d freed at its return; fixed by barrier-detach-race.patch)",
		   what, freed, NR_OBJS);
	kvfree_rcu_barrier();
	kvfree_rcu_exit();
	posix_env_stop();
	return tap_done();
}
