/* SPDX-License-Identifier: MIT */
/*
 * posix_obj.h - checked objects for the stress runs.
 *
 * Every object a flooder hands to kvfree_rcu() carries a header with a canary
 * and a generation.  The environment's kenv_kfree/kfree_bulk/vfree verify the
 * header, tell the checker (check_obj_freed), poison the object and park it
 * in a quarantine before its memory can be reused, so a reader that reaches an
 * object freed too early sees the poison (or a new generation) and reports
 * GP-SAFETY even in a build without sanitizers.  "vmalloc" objects live in one
 * large mapping so kenv_is_vmalloc_addr() can recognise them.
 */
#ifndef KVTORTURE_POSIX_OBJ_H
#define KVTORTURE_POSIX_OBJ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kenv.h"

struct kvt_obj {
	_Atomic(uint64_t) canary;	/* KVT_OBJ_LIVE ^ address while live */
	uint64_t gen;			/* unique per allocation */
	_Atomic(uint64_t) queued_ns;	/* when the driver queued it, for latency */
	uint32_t size;			/* payload bytes */
	int16_t queued_cpu;
	_Atomic(uint16_t) flags;	/* KVT_OBJ_QUEUED: debug-objects state */
	struct kenv_rcu_head rh;	/* for the two-argument form */
	unsigned char payload[];	/* filled with a pattern derived from gen */
};

#define KVT_OBJ_QUEUED 1u

/* Payload sizes: slab objects are small; vmalloc objects are one 16 KiB chunk. */
#define KVT_OBJ_SLAB_MAX 512
#define KVT_VMALLOC_CHUNK (16u * 1024u)

/*
 * Allocate a live object with @payload bytes (vmalloc: from the large-object
 * space) and announce it to the checker (check_obj_new).  Context: sleep or
 * preemptible task; returns NULL when memory is exhausted.
 */
struct kvt_obj *kvt_obj_alloc(size_t payload, bool vmalloc);
/*
 * Give back an object that was never queued (a driver's leftover).  Context:
 * task or kthread, not under a raw lock.
 */
void kvt_obj_discard(struct kvt_obj *obj);

/*
 * Readers: check that @obj is live and still the generation @gen that was read
 * when it was reached (pass 0 to only read it), and that its payload is
 * intact.  On a mismatch, reports GP-SAFETY (freed while reachable) naming
 * @who.  Returns the generation seen.  Context: any, inside a read-side
 * critical section.
 */
uint64_t kvt_obj_verify(const struct kvt_obj *obj, uint64_t gen, const char *who);

/*
 * Reclaim latency of the objects freed so far (queue to free), as a log2
 * histogram: buckets[i] counts latencies in [2^i, 2^(i+1)) ns.
 */
#define KVT_LAT_BUCKETS 40
void kvt_obj_latency(int cpu, uint64_t buckets[KVT_LAT_BUCKETS]);
/* Percentile @p (0..100) of a histogram, in ns (upper bucket bound). */
uint64_t kvt_lat_percentile(const uint64_t buckets[KVT_LAT_BUCKETS], double p);

/* Objects allocated / freed through the env so far, live now. */
struct kvt_obj_stats {
	uint64_t allocated, freed, quarantined, vmalloc_live;
};
void kvt_obj_stats(struct kvt_obj_stats *st);

#endif /* KVTORTURE_POSIX_OBJ_H */
