/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the op language: what a fuzz input or a reproducer asks the harness to do.
 *
 * A program is a configuration (CPUs, refill policy, tunables, how grace periods
 * progress) followed by a list of ops, each a fixed 4-byte record: an opcode and
 * three argument bytes.  The same program has two forms:
 *
 *   binary  the fuzz input: KVT_CONFIG_BYTES of configuration, then 4-byte
 *           records.  Every byte string decodes (values are taken modulo their
 *           range, a short tail is ignored), so byte mutations stay meaningful.
 *           The opcode byte names its op through a fixed table (ops.c) that
 *           only ever grows: a stored input means the same program after ops
 *           are added.  A record whose opcode byte no op owns yet is skipped.
 *   text    the reproducer: a versioned header line, one config line and one op
 *           per line with key=value arguments; '#' starts a comment.  Version
 *           1 is every program without PCT; version 2 adds the PCT settings
 *           (pct-depth, pct-steps) and the pct-change op.  A program is
 *           written as version 1 unless it uses them, so older files and
 *           older readers keep working; both versions parse.
 *
 * Decoding normalises each record to its canonical bytes, so binary -> decode ->
 * print -> parse -> encode gives the canonical bytes back, and text -> parse ->
 * print is stable.  The text form accepts some values the binary form cannot hold
 * (up to KVT_CPUS_MAX CPUs, any tunable); encoding such a program fails cleanly.
 *
 * Nothing here touches the environment: the codec is pure and may run anywhere.
 * The executor that runs a program is in exec.h.
 */
#ifndef KVTORTURE_OPS_H
#define KVTORTURE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The largest binary input considered; bytes beyond it are ignored. */
#define KVT_MAX_INPUT 4096
/* Bytes of configuration at the start of a binary input. */
#define KVT_CONFIG_BYTES 12
/* Bytes per op record. */
#define KVT_OP_BYTES 4
/* The most ops a binary input can hold. */
#define KVT_MAX_BINARY_OPS ((KVT_MAX_INPUT - KVT_CONFIG_BYTES) / KVT_OP_BYTES)
/* The most ops a text reproducer may hold. */
#define KVT_MAX_OPS 65536

/* CPUs: binary inputs use 1..KVT_FUZZ_CPUS_MAX, text up to KVT_CPUS_MAX. */
#define KVT_FUZZ_CPUS_MAX 4
#define KVT_CPUS_MAX 8
/* Shared publication slots readers can reach, and reader tokens. */
#define KVT_SLOTS 8
#define KVT_READERS 8
/* Most objects one queue-loop op queues. */
#define KVT_LOOP_MAX 64
/* Text format versions: the newest accepted; 1 is written for programs without PCT. */
#define KVT_TEXT_VERSION 2
#define KVT_TEXT_MAGIC "kvtorture-repro"
/* The deepest PCT exploration a program may ask for (sim.h's SIM_PCT_DEPTH_MAX). */
#define KVT_PCT_DEPTH_MAX 16

/* Refill policies by the names kvfree_rcu.h gives them (same numbering). */
enum kvt_policy { KVT_POLICY_KERNEL, KVT_POLICY_WATERMARK, KVT_POLICY_NOLOCKS, KVT_POLICY_NR };

/* How grace periods progress: only on gp-* ops, or by themselves with time. */
enum kvt_gp_mode { KVT_GP_EXPLICIT, KVT_GP_AUTO, KVT_GP_NR };

struct kvt_config {
	unsigned int nr_cpus;		/* 1 .. KVT_CPUS_MAX */
	enum kvt_policy policy;
	unsigned int page_entries;	/* pointers per storage page */
	unsigned int cache_pages;	/* page cache cap per CPU, 0 .. KVT_CACHE_PAGES_MAX */
	uint64_t drain_ns;		/* monitor batching delay, >= 1 ms */
	uint64_t short_ns;		/* monitor delay with a page's worth pending, 1 ms .. drain_ns */
	uint64_t refill_kick_ns;	/* hrtimer delay before the refill worker */
	uint64_t backoff_ns;		/* refill delay after the shrinker */
	unsigned int watermark;		/* watermark policy: free slots */
	unsigned int rate_calls;	/* watermark policy: calls ... */
	uint64_t rate_window_ns;	/* ... per window, > 0 */
	enum kvt_gp_mode gp_mode;
	uint64_t gp_ns;			/* auto mode: virtual duration of one GP, > 0 */
	unsigned int pool_pages;	/* nolocks policy: lock-free pool pages per CPU */
	/* Exploration (text only; a binary input always has them 0). */
	uint64_t seed;
	unsigned int irq_permille, nmi_permille, preempt_permille, migrate_permille;
	unsigned int alloc_fail_permille;
	unsigned long page_limit;	/* 0: unlimited */
	/*
	 * PCT exploration (text only, version 2): the sim's pct_depth and
	 * pct_steps (sim.h).  A program with a pct-change op runs under PCT
	 * too, at depth 1 when pct-depth is 0: its change points are its ops.
	 */
	unsigned int pct_depth;		/* 0 .. KVT_PCT_DEPTH_MAX */
	uint64_t pct_steps;		/* >= 1 when pct_depth > 1 */
};

#define KVT_CACHE_PAGES_MAX 8
/* shrink-scan's n at the top of its 16 bits: nr_to_scan = ULONG_MAX. */
#define KVT_SCAN_ALL 0xffffu
#define KVT_POOL_PAGES_MAX 64

/*
 * Ops.  The enum is the program's own numbering (tables, switches) and may be
 * reordered; the binary form does not use it.  There an op is named by the
 * opcode bytes it owns in ops.c's op_of_byte table: a new op takes bytes that
 * no op owns yet, and no byte ever changes owner (kvt_op_byte()).
 */
enum kvt_opcode {
	KVT_OP_QUEUE,		/* kvfree_rcu() of a new object */
	KVT_OP_RETIRE,		/* unpublish a slot's object and kvfree_rcu() it */
	KVT_OP_PUBLISH,		/* new object into a shared slot */
	KVT_OP_UNPUBLISH,	/* take it out of the slot (still owned, not queued) */
	KVT_OP_READER_BEGIN,
	KVT_OP_READER_DEREF,	/* a reader reaches a slot's published object */
	KVT_OP_READER_END,
	KVT_OP_GP_START,
	KVT_OP_GP_TRY_END,
	KVT_OP_GP_COMPLETE,
	KVT_OP_ADVANCE,		/* virtual time moves on; due timers fire */
	KVT_OP_RUN_PENDING,	/* run runnable work, softirqs, tasks */
	KVT_OP_INJECT_IRQ,	/* hardirq at the next point; its handler queues */
	KVT_OP_INJECT_NMI,	/* NMI at the next point; its handler calls (refused) */
	KVT_OP_PREEMPT,		/* switch coroutine at the next point of a task on cpu */
	KVT_OP_MIGRATE,		/* ... and move that task to another CPU */
	KVT_OP_FAIL_ALLOCS,	/* the next n page allocations fail */
	KVT_OP_SHRINK_COUNT,
	KVT_OP_SHRINK_SCAN,	/* n=KVT_SCAN_ALL scans ULONG_MAX (above LONG_MAX) */
	KVT_OP_BARRIER,		/* kvfree_rcu_barrier() */
	KVT_OP_CPU_OFFLINE,
	KVT_OP_CPU_ONLINE,
	KVT_OP_QUEUE_LOOP,	/* a task queueing k objects in a loop */
	KVT_OP_MISUSE_DOUBLE,	/* kvfree_rcu() twice on a queued object */
	KVT_OP_MISUSE_NMI,	/* kvfree_rcu() from NMI context */
	KVT_OP_MISUSE_HEADLESS_ATOMIC,	/* kvfree_rcu_mightsleep() from atomic context */
	KVT_OP_PCT_CHANGE,	/* PCT: a priority change point so many steps on (turns PCT on) */
	KVT_OP_API_EDGES,	/* run-pending, then at rest: refused calls; racy = locked */
	KVT_OP_RCU_WORK_EARLY,	/* the next n rcu works run before their GP (RCU broken) */
	KVT_OP_NR
};

/* One op: an opcode and the canonical argument bytes of its binary record. */
struct kvt_op {
	uint8_t code;		/* enum kvt_opcode (its binary byte: kvt_op_byte()) */
	uint8_t a, b, c;	/* packed arguments; read them with kvt_op_args() */
};

struct kvt_prog {
	struct kvt_config cfg;
	struct kvt_op *ops;	/* malloc'd; kvt_prog_free() */
	size_t nr;
};

/* Named arguments, unpacked; which ones an op has is in its text form. */
enum kvt_arg {
	KVT_ARG_CPU,		/* 0 .. nr_cpus-1 */
	KVT_ARG_CTX,		/* enum kenv_ctx: task, kthread, softirq, hardirq */
	KVT_ARG_FORM,		/* enum kvt_form */
	KVT_ARG_CH,		/* enum kvt_ch */
	KVT_ARG_SLOT,		/* 0 .. KVT_SLOTS-1 */
	KVT_ARG_ID,		/* reader token 0 .. KVT_READERS-1 */
	KVT_ARG_TO,		/* migration target CPU */
	KVT_ARG_N,		/* count, or ns for advance */
	KVT_ARG_MASK,		/* enum kvt_mask */
	KVT_ARG_WHY,		/* enum kvt_why */
	KVT_ARG_NR
};

enum kvt_form { KVT_FORM_HEAD, KVT_FORM_HEADLESS };
enum kvt_ch { KVT_CH_SLAB, KVT_CH_VMALLOC };
/* What a queue-loop task holds disabled while it loops. */
enum kvt_mask { KVT_MASK_NONE, KVT_MASK_PREEMPT, KVT_MASK_BH, KVT_MASK_IRQS };
/* Why a misuse-headless-atomic call is atomic. */
enum kvt_why {
	KVT_WHY_IRQS_OFF, KVT_WHY_PREEMPT_OFF, KVT_WHY_BH_OFF, KVT_WHY_RCU_READ,
	KVT_WHY_SOFTIRQ, KVT_WHY_HARDIRQ, KVT_WHY_NR
};

struct kvt_args {
	uint64_t v[KVT_ARG_NR];
};

/* Error text of parse/load: "FILE:LINE: what is wrong". */
struct kvt_err {
	char msg[512];
};

/* ---- configuration -------------------------------------------------------- */

/* The text defaults: 2 CPUs, kernel policy, full pages, kernel tunables, explicit GPs. */
void kvt_config_default(struct kvt_config *cfg);
/* Static sentence naming the first invalid field, or NULL when @cfg is valid. */
const char *kvt_config_invalid(const struct kvt_config *cfg);

/* "kernel", "watermark", "nolocks"; NULL out of range. */
const char *kvt_policy_name(enum kvt_policy policy);
/* "queue", "reader-begin", ...; NULL out of range. */
const char *kvt_op_name(unsigned int code);

/* ---- binary form ---------------------------------------------------------- */

/*
 * Decode @size bytes into @prog (ops malloc'd).  Never fails on content: bytes
 * past KVT_MAX_INPUT and a partial last record are ignored, a short config reads
 * as zeros.  Dies (exit 99) only if memory runs out.  Context: any thread; pairs
 * with kvt_prog_free().
 */
void kvt_prog_decode(const uint8_t *data, size_t size, struct kvt_prog *prog);
/*
 * The canonical bytes of @prog into a malloc'd buffer.  False, with @why set to
 * a static sentence, when @prog holds something the binary form cannot (more
 * than KVT_FUZZ_CPUS_MAX CPUs, a tunable outside its table, exploration
 * settings, too many ops).
 */
bool kvt_prog_encode(const struct kvt_prog *prog, uint8_t **out, size_t *len, const char **why);

/*
 * Decode one raw record against @nr_cpus CPUs into its canonical form @op;
 * false (nothing written) when no op owns the opcode byte raw[0]: the record
 * is skipped.  Context: any.
 */
bool kvt_op_decode(const uint8_t raw[KVT_OP_BYTES], unsigned int nr_cpus, struct kvt_op *op);
/*
 * The canonical opcode byte of op @code (the lowest byte it owns), which
 * kvt_prog_encode() writes; -1 out of range.  Context: any.
 */
int kvt_op_byte(unsigned int code);
/* The op that owns opcode byte @byte, or -1 if none does yet.  Context: any. */
int kvt_op_of_byte(uint8_t byte);
/* Unpack @op's arguments (unused ones are 0). */
void kvt_op_args(const struct kvt_op *op, struct kvt_args *args);

/* ---- text form ------------------------------------------------------------ */

/*
 * Parse a text reproducer of @len bytes (need not be NUL-terminated).  Returns 0,
 * or -1 with err->msg set to "@filename:LINE: what is wrong" (callers exit 2).
 * On success @prog owns malloc'd ops; on failure it holds nothing.
 */
int kvt_prog_parse(const char *text, size_t len, const char *filename,
		   struct kvt_prog *prog, struct kvt_err *err);
/* Canonical text of @prog to @f; returns 0, or -1 if the stream failed. */
int kvt_prog_print(const struct kvt_prog *prog, FILE *f);
/*
 * The same text written to @fd with write(2) from a stack buffer: no allocation,
 * so an abort hook may use it.  Returns 0 or -1.
 */
int kvt_prog_write_fd(const struct kvt_prog *prog, int fd);
/* One line of text without newline into @buf; returns the length it needed. */
size_t kvt_config_format(const struct kvt_config *cfg, char *buf, size_t len);
size_t kvt_op_format(const struct kvt_op *op, char *buf, size_t len);

/*
 * Read @path as either form: text when its first non-comment line is the
 * header (or it starts with '#' and is plain text), binary otherwise.  Returns
 * 0, or -1 with err->msg naming the file (I/O error or bad text; exit 2).
 */
int kvt_prog_load(const char *path, struct kvt_prog *prog, struct kvt_err *err);

/* Whether @prog uses PCT (pct-depth, or a pct-change op): text version 2. */
bool kvt_prog_uses_pct(const struct kvt_prog *prog);

/* Release @prog's ops; @prog may be reused.  Safe on a zeroed prog. */
void kvt_prog_free(struct kvt_prog *prog);

/* ---- random programs ------------------------------------------------------ */

/*
 * A well-formed random program for exploration (`kvtorture sim`): @nr_ops ops
 * drawn from @seed (splitmix64), @policy fixed, the rest of the configuration
 * drawn within the binary ranges.  Every op kind up to misuse-headless-atomic
 * can appear (so a seed names the program it named before pct-change
 * existed; PCT exploration takes its change points from pct-depth); the core
 * of a workload (queueing, readers, time, GPs) is drawn more often.
 */
void kvt_prog_random(struct kvt_prog *prog, uint64_t seed, size_t nr_ops,
		     enum kvt_policy policy);

#endif /* KVTORTURE_OPS_H */
