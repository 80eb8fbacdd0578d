/* SPDX-License-Identifier: MIT */
/*
 * splitmix64.h - the project's one seed expander: splitmix64 (Steele, Lea
 * and Flood's SplittableRandom finaliser, as Vigna publishes it for seeding).
 *
 * Every seeded thing starts here: the simulation seeds its xoshiro256**
 * state with it, the op language draws random programs from it, the command
 * line derives per-run seeds, the posix environment per-thread streams, and
 * tests their reproducible inputs.  One --seed drives all randomness
 * (STYLE.md rule 8), so these streams must stay what they are: changing the
 * constants changes every recorded seed's meaning.  Context: any; the state
 * belongs to its caller.
 */
#ifndef KVTORTURE_SPLITMIX64_H
#define KVTORTURE_SPLITMIX64_H

#include <stdint.h>

/* The increment each value adds to the state: 2^64 over the golden ratio, odd. */
#define SPLITMIX64_GAMMA 0x9e3779b97f4a7c15ULL

/* The next value of the stream whose state is *@state (advanced). */
static inline uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += SPLITMIX64_GAMMA);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The first value of the stream seeded with @x: a 64-bit mixing function. */
static inline uint64_t splitmix64_mix(uint64_t x)
{
	return splitmix64_next(&x);
}

#endif /* KVTORTURE_SPLITMIX64_H */
