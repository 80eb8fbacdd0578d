/* SPDX-License-Identifier: MIT */
/*
 * env_lock.c - raw spinlocks of the posix environment.
 *
 * A lock word holds 0 or its holder (posix_lock_owner: the frame of the
 * context that took it in the checked flavour, the thread in the unchecked
 * one), so kenv_lock_held() is one comparison and, in the checked flavour, a
 * handler re-entering a lock its own thread holds is recognised (the owner
 * is a frame of this thread) and reported instead of spinning forever.  Acquisition tries the compare-and-swap first (one
 * locked instruction when the lock is free, even on a line another CPU
 * wrote last), then spins on plain loads until the word looks free, yielding
 * now and then to a holder that was descheduled (there may be more CPU
 * threads than cores).
 */
#include <sched.h>
#include <unistd.h>

#include "env_internal.h"

void kenv_lock_init(struct kenv_lock *lock, const char *name)
{
	atomic_store(&lock->word, 0);
	lock->name = name;
	lock->cpu = -1;
	lock->depth = 0;
}

#if POSIX_CHECKED
static bool held_by_this_thread(const struct posix_thread *t, uintptr_t w)
{
	return w >= (uintptr_t)&t->frames[0] && w < (uintptr_t)&t->frames[POSIX_MAX_FRAMES];
}

/*
 * Tell the checker about the acquisition.  If a frame of this very thread
 * holds the lock (an interrupt or NMI re-entering it), spinning would never
 * end: the checker reports the self-deadlock, and the run cannot go on.
 */
static void lock_acquire_check(struct posix_thread *t, struct kenv_lock *lock)
{
	uintptr_t w = atomic_load_explicit(&lock->word, memory_order_relaxed);
	bool self = held_by_this_thread(t, w);

	posix_irq_hold();
	if (self)
		check_lock_busy(lock, lock->cpu);
	check_lock_acquire(lock);
	posix_irq_unhold();
	if (self) {
		posix_fd_printf(2, "kvtorture: cannot continue past a self-deadlock on %s\n",
				lock->name);
		_exit(1);
	}
}
#endif

void kenv_raw_spin_lock(struct kenv_lock *lock)
{
	struct posix_thread *t = posix_cur();
	uintptr_t me = posix_lock_owner(t);
	uintptr_t expected = 0;
	unsigned int spins = 0;
#if POSIX_CHECKED
	struct kenv_lock *outer = NULL;
	bool outer_set = false;
#endif

#if POSIX_CHECKED
	lock_acquire_check(t, lock);
#endif
	/* Acquire: the critical section cannot float above the lock. */
	while (!atomic_compare_exchange_weak_explicit(&lock->word, &expected, me,
						      memory_order_acquire, memory_order_relaxed)) {
#if POSIX_CHECKED
		/* What a hang dump shows: a spinner and the holder it waits for. */
		if (!outer_set) {
			outer = atomic_load_explicit(&t->spins_on, memory_order_relaxed);
			atomic_store_explicit(&t->spins_on, lock, memory_order_relaxed);
			outer_set = true;
		}
#endif
		while (atomic_load_explicit(&lock->word, memory_order_relaxed)) {
			if (++spins % 128 == 0)
				sched_yield();
			else
				posix_cpu_relax();
		}
		expected = 0;
	}
#if POSIX_CHECKED
	if (outer_set)
		atomic_store_explicit(&t->spins_on, outer, memory_order_relaxed);
	lock->cpu = kenv_cpu();
#endif
	(*posix_lock_count(t))++;
}

void kenv_raw_spin_unlock(struct kenv_lock *lock)
{
	struct posix_thread *t = posix_cur();

#if POSIX_CHECKED
	ENV_CHECK(check_lock_release(lock));
	/* Not this context's lock: the checker has reported it; leave the holder's lock alone. */
	if (atomic_load_explicit(&lock->word, memory_order_relaxed) != posix_lock_owner(t))
		return;
#endif
	(*posix_lock_count(t))--;
	/* Release: everything written under the lock is visible to the next holder. */
	atomic_store_explicit(&lock->word, 0, memory_order_release);
}

bool kenv_lock_held(const struct kenv_lock *lock)
{
	return atomic_load_explicit(&((struct kenv_lock *)lock)->word, memory_order_relaxed) ==
	       posix_lock_owner(posix_cur());
}
