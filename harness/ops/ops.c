/* SPDX-License-Identifier: MIT */
/*
 * ops.c - binary and text forms of op programs (see ops.h).
 *
 * Everything is table driven: one table says, for each op, which arguments it
 * has, where each lives in the three argument bytes and what range it takes.
 * Decoding, encoding, parsing and printing all read the same table, which is
 * what keeps the two forms in step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kenv.h"
#include "kvfree_rcu.h"
#include "splitmix64.h"
#include "ops.h"

_Static_assert((int)KVT_POLICY_KERNEL == (int)KVFREE_POLICY_KERNEL &&
	       (int)KVT_POLICY_WATERMARK == (int)KVFREE_POLICY_WATERMARK &&
	       (int)KVT_POLICY_NOLOCKS == (int)KVFREE_POLICY_NOLOCKS,
	       "kvt_policy numbers kvfree_policy");
_Static_assert(KVT_CACHE_PAGES_MAX <= KVFREE_CACHE_PAGES_MAX, "cache cap within the impl's");
_Static_assert(KVT_CPUS_MAX <= KENV_NR_CPUS_MAX, "CPUs within the environment's");
_Static_assert(KVT_OP_NR <= 256, "opcodes fit a byte");

/* ---------------------------------------------------------------------------
 * Value tables of the binary configuration
 *
 * A binary config byte indexes one of these (modulo its size).  Every entry is
 * valid for kvfree_rcu_config_valid(): drain >= 1 ms, short <= the smallest drain.
 */
#define MS 1000000ULL
#define SEC 1000000000ULL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The codec's table walks, run for every op of every fuzz input: no coverage
 * feedback from them (clang's coverage and comparison tracing; AFL++ 4.04c
 * instruments them anyway).  Their edges and comparisons follow the op table,
 * not the input, and repeat what the decoder's own branches (an opcode no op
 * owns, a repaired conflict) and the implementation already report, while
 * their hit counts, which grow with the number of ops, made longer inputs
 * look new.  Not inlined: a function inlined into an instrumented caller is
 * instrumented there.
 */
#if defined(__clang__)
#define OPS_TABLE_FN __attribute__((no_sanitize("coverage"), noinline))
#else
#define OPS_TABLE_FN
#endif

static const unsigned int page_entries_tab[16] = {
	2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 64, 128, 256, KVFREE_PAGE_ENTRIES_MAX,
};
/*
 * Delays stay short enough for a fuzz input to reach them with a few advance
 * steps: a long drain delay with tiny pages makes the monitor re-arm every
 * short delay, and each of those is work the sim must run.
 */
static const uint64_t drain_tab[8] = {
	4 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS, 500 * MS, 1 * SEC,
};
static const uint64_t short_tab[4] = { 1 * MS, 2 * MS, 3 * MS, 4 * MS };
static const uint64_t kick_tab[4] = { 0, 1 * MS, 10 * MS, 100 * MS };
static const uint64_t backoff_tab[4] = { 0, 10 * MS, 100 * MS, 1 * SEC };
static const unsigned int watermark_tab[8] = { 0, 1, 2, 4, 8, 16, 64, 256 };
static const unsigned int rate_calls_tab[4] = { 4, 16, 64, 1024 };
static const uint64_t rate_window_tab[4] = { 1 * MS, 10 * MS, 100 * MS, 1 * SEC };
static const uint64_t gp_tab[8] = {
	1 * MS, 2 * MS, 5 * MS, 10 * MS, 20 * MS, 50 * MS, 100 * MS, 200 * MS,
};

/*
 * advance: a picks the unit, b the multiple (b + 1): 1 us .. 2.56 s per op.
 * Longer steps cost the sim every periodic timer on the way, for little gain.
 */
static const uint64_t advance_unit_tab[4] = { 1000, 100000, 1 * MS, 10 * MS };
#define ADVANCE_MULT_MAX 256

static const char *const policy_names[KVT_POLICY_NR] = { "kernel", "watermark", "nolocks" };
static const char *const gp_mode_names[KVT_GP_NR] = { "explicit", "auto" };

static int find_u64(const uint64_t *tab, size_t n, uint64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i] == v)
			return (int)i;
	return -1;
}

static int find_uint(const unsigned int *tab, size_t n, unsigned int v)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i] == v)
			return (int)i;
	return -1;
}

void kvt_config_default(struct kvt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = 2;
	cfg->policy = KVT_POLICY_KERNEL;
	cfg->page_entries = KVFREE_PAGE_ENTRIES_MAX;
	cfg->cache_pages = 5;
	cfg->drain_ns = 5 * SEC;
	cfg->short_ns = 1 * MS;
	cfg->refill_kick_ns = 0;
	cfg->backoff_ns = 5 * SEC;
	cfg->watermark = 16;
	cfg->rate_calls = 64;
	cfg->rate_window_ns = 10 * MS;
	cfg->gp_mode = KVT_GP_EXPLICIT;
	cfg->gp_ns = 10 * MS;
	cfg->pool_pages = 4;
}

const char *kvt_config_invalid(const struct kvt_config *cfg)
{
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KVT_CPUS_MAX)
		return "cpus: out of range 1..8";
	if ((unsigned int)cfg->policy >= KVT_POLICY_NR)
		return "policy: not kernel, watermark or nolocks";
	if (cfg->page_entries < KVFREE_PAGE_ENTRIES_MIN || cfg->page_entries > KVFREE_PAGE_ENTRIES_MAX)
		return "page-entries: out of range 2..KVFREE_PAGE_ENTRIES_MAX";
	if (cfg->cache_pages > KVT_CACHE_PAGES_MAX)
		return "cache-pages: out of range 0..8";
	if (cfg->drain_ns < MS)
		return "drain-ns: below one jiffy (1000000)";
	if (cfg->short_ns < MS || cfg->short_ns > cfg->drain_ns)
		return "short-ns: below one jiffy (1000000) or above drain-ns";
	if (cfg->rate_window_ns == 0)
		return "rate-window-ns: zero";
	if ((unsigned int)cfg->gp_mode >= KVT_GP_NR)
		return "gp: not explicit or auto";
	if (cfg->gp_ns == 0)
		return "gp-ns: zero";
	if (cfg->pool_pages > KVT_POOL_PAGES_MAX)
		return "pool-pages: out of range 0..64";
	if (cfg->irq_permille > 1000 || cfg->nmi_permille > 1000 ||
	    cfg->preempt_permille > 1000 || cfg->migrate_permille > 1000 ||
	    cfg->alloc_fail_permille > 1000)
		return "a *-permille value is above 1000";
	if (cfg->pct_depth > KVT_PCT_DEPTH_MAX)
		return "pct-depth: out of range 0..16";
	if (cfg->pct_depth > 1 && cfg->pct_steps == 0)
		return "pct-steps: zero with pct-depth above 1 (change points are drawn from 1..pct-steps)";
	return NULL;
}

const char *kvt_policy_name(enum kvt_policy policy)
{
	return (unsigned int)policy < KVT_POLICY_NR ? policy_names[policy] : NULL;
}

static void config_decode(const uint8_t b[KVT_CONFIG_BYTES], struct kvt_config *cfg)
{
	kvt_config_default(cfg);
	cfg->nr_cpus = 1 + b[0] % KVT_FUZZ_CPUS_MAX;
	cfg->policy = (enum kvt_policy)(b[1] % KVT_POLICY_NR);
	cfg->page_entries = page_entries_tab[b[2] % ARRAY_SIZE(page_entries_tab)];
	cfg->cache_pages = b[3] % (KVT_CACHE_PAGES_MAX + 1);
	cfg->drain_ns = drain_tab[b[4] % ARRAY_SIZE(drain_tab)];
	cfg->short_ns = short_tab[b[5] % ARRAY_SIZE(short_tab)];
	cfg->refill_kick_ns = kick_tab[b[6] % ARRAY_SIZE(kick_tab)];
	cfg->backoff_ns = backoff_tab[b[7] % ARRAY_SIZE(backoff_tab)];
	cfg->watermark = watermark_tab[b[8] % ARRAY_SIZE(watermark_tab)];
	cfg->rate_calls = rate_calls_tab[b[9] & 3];
	cfg->rate_window_ns = rate_window_tab[(b[9] >> 2) & 3];
	cfg->gp_mode = (enum kvt_gp_mode)(b[10] & 1);
	cfg->gp_ns = gp_tab[(b[10] >> 1) & 7];
	cfg->pool_pages = b[11] % 9;
}

static const char *config_encode(const struct kvt_config *cfg, uint8_t b[KVT_CONFIG_BYTES])
{
	int i[10];

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > KVT_FUZZ_CPUS_MAX)
		return "cpus: the binary form holds 1..4";
	if (cfg->seed || cfg->irq_permille || cfg->nmi_permille || cfg->preempt_permille ||
	    cfg->migrate_permille || cfg->alloc_fail_permille || cfg->page_limit ||
	    cfg->pct_depth || cfg->pct_steps)
		return "exploration settings (seed, *-permille, page-limit, pct-*) are text only "
		       "(in the binary form, pct-change ops turn PCT on)";
	if (cfg->pool_pages > 8)
		return "pool-pages: the binary form holds 0..8";
	if (cfg->cache_pages > KVT_CACHE_PAGES_MAX || (unsigned int)cfg->policy >= KVT_POLICY_NR ||
	    (unsigned int)cfg->gp_mode >= KVT_GP_NR)
		return "configuration out of range";
	i[0] = find_uint(page_entries_tab, ARRAY_SIZE(page_entries_tab), cfg->page_entries);
	i[1] = find_u64(drain_tab, ARRAY_SIZE(drain_tab), cfg->drain_ns);
	i[2] = find_u64(short_tab, ARRAY_SIZE(short_tab), cfg->short_ns);
	i[3] = find_u64(kick_tab, ARRAY_SIZE(kick_tab), cfg->refill_kick_ns);
	i[4] = find_u64(backoff_tab, ARRAY_SIZE(backoff_tab), cfg->backoff_ns);
	i[5] = find_uint(watermark_tab, ARRAY_SIZE(watermark_tab), cfg->watermark);
	i[6] = find_uint(rate_calls_tab, ARRAY_SIZE(rate_calls_tab), cfg->rate_calls);
	i[7] = find_u64(rate_window_tab, ARRAY_SIZE(rate_window_tab), cfg->rate_window_ns);
	i[8] = find_u64(gp_tab, ARRAY_SIZE(gp_tab), cfg->gp_ns);
	i[9] = 0;
	for (int k = 0; k < 9; k++)
		if (i[k] < 0)
			return "a tunable has a value outside the binary form's table";
	b[0] = (uint8_t)(cfg->nr_cpus - 1);
	b[1] = (uint8_t)cfg->policy;
	b[2] = (uint8_t)i[0];
	b[3] = (uint8_t)cfg->cache_pages;
	b[4] = (uint8_t)i[1];
	b[5] = (uint8_t)i[2];
	b[6] = (uint8_t)i[3];
	b[7] = (uint8_t)i[4];
	b[8] = (uint8_t)i[5];
	b[9] = (uint8_t)(i[6] | i[7] << 2);
	b[10] = (uint8_t)((unsigned int)cfg->gp_mode | (unsigned int)i[8] << 1);
	b[11] = (uint8_t)cfg->pool_pages;
	return NULL;
}

/* ---------------------------------------------------------------------------
 * The op table
 */

enum field_kind {
	KF_CPU,		/* one whole byte, value < nr_cpus */
	KF_ENUM,	/* named values in bits of a byte */
	KF_NUM,		/* min .. min+n-1 in bits of a byte */
	KF_U16,		/* bytes b (low) and c (high) */
	KF_NS,		/* advance: unit in a, multiple in b and c */
};

struct field {
	const char *key;
	uint8_t arg;		/* enum kvt_arg */
	uint8_t kind;		/* enum field_kind */
	uint8_t byte;		/* 0: a, 1: b, 2: c */
	uint8_t shift, bits;
	uint16_t min, n;
	const char *const *names;
};

#define OP_FIELDS_MAX 6

struct op_desc {
	const char *name;
	unsigned int nr_fields;
	struct field f[OP_FIELDS_MAX];
};

static const char *const ctx_names[] = { "task", "kthread", "softirq", "hardirq" };
static const char *const form_names[] = { "head", "headless" };
static const char *const ch_names[] = { "slab", "vmalloc" };
static const char *const mask_names[] = { "none", "preempt", "bh", "irqs" };
static const char *const why_names[KVT_WHY_NR] = {
	"irqs-off", "preempt-off", "bh-off", "rcu-read", "softirq", "hardirq",
};

#define F_CPU(k, arg_, byte_) \
	{ (k), (arg_), KF_CPU, (byte_), 0, 8, 0, KVT_CPUS_MAX, NULL }
#define F_ENUM(k, arg_, byte_, shift_, bits_, names_) \
	{ (k), (arg_), KF_ENUM, (byte_), (shift_), (bits_), 0, ARRAY_SIZE(names_), (names_) }
#define F_NUM(k, arg_, byte_, shift_, bits_, min_, n_) \
	{ (k), (arg_), KF_NUM, (byte_), (shift_), (bits_), (min_), (n_), NULL }

#define CPU_A F_CPU("cpu", KVT_ARG_CPU, 0)
#define CTX4(byte_, shift_) F_ENUM("ctx", KVT_ARG_CTX, byte_, shift_, 2, ctx_names)
#define SLOT(byte_) F_NUM("slot", KVT_ARG_SLOT, byte_, 0, 8, 0, KVT_SLOTS)
#define ID(byte_) F_NUM("id", KVT_ARG_ID, byte_, 0, 8, 0, KVT_READERS)
#define FORM(byte_, shift_) F_ENUM("form", KVT_ARG_FORM, byte_, shift_, 1, form_names)
#define CH(byte_, shift_) F_ENUM("ch", KVT_ARG_CH, byte_, shift_, 1, ch_names)

static const char *const ctx2_names[] = { "task", "kthread" };

static const struct op_desc op_tab[KVT_OP_NR] = {
	[KVT_OP_QUEUE] = { "queue", 4, { CPU_A, CTX4(1, 0), FORM(1, 2), CH(1, 3) } },
	[KVT_OP_RETIRE] = { "retire", 4, { CPU_A, CTX4(1, 0), FORM(1, 2), SLOT(2) } },
	[KVT_OP_PUBLISH] = { "publish", 2, { SLOT(0), CH(1, 0) } },
	[KVT_OP_UNPUBLISH] = { "unpublish", 1, { SLOT(0) } },
	[KVT_OP_READER_BEGIN] = { "reader-begin", 2, { CPU_A, ID(1) } },
	[KVT_OP_READER_DEREF] = { "reader-deref", 2, { ID(0), SLOT(1) } },
	[KVT_OP_READER_END] = { "reader-end", 1, { ID(0) } },
	[KVT_OP_GP_START] = { "gp-start", 0, { { 0 } } },
	[KVT_OP_GP_TRY_END] = { "gp-try-end", 0, { { 0 } } },
	[KVT_OP_GP_COMPLETE] = { "gp-complete", 0, { { 0 } } },
	[KVT_OP_ADVANCE] = { "advance", 1,
		{ { "ns", KVT_ARG_N, KF_NS, 0, 0, 8, 0, 0, NULL } } },
	[KVT_OP_RUN_PENDING] = { "run-pending", 0, { { 0 } } },
	[KVT_OP_INJECT_IRQ] = { "inject-irq", 2, { CPU_A, CH(1, 0) } },
	[KVT_OP_INJECT_NMI] = { "inject-nmi", 2, { CPU_A, CH(1, 0) } },
	[KVT_OP_PREEMPT] = { "preempt", 1, { CPU_A } },
	[KVT_OP_MIGRATE] = { "migrate", 2, { CPU_A, F_CPU("to", KVT_ARG_TO, 1) } },
	[KVT_OP_FAIL_ALLOCS] = { "fail-allocs", 1, { F_NUM("n", KVT_ARG_N, 0, 0, 8, 0, 256) } },
	[KVT_OP_SHRINK_COUNT] = { "shrink-count", 1, { CPU_A } },
	[KVT_OP_SHRINK_SCAN] = { "shrink-scan", 2,
		{ CPU_A, { "n", KVT_ARG_N, KF_U16, 1, 0, 8, 0, 0, NULL } } },
	[KVT_OP_BARRIER] = { "barrier", 2,
		{ CPU_A, F_ENUM("ctx", KVT_ARG_CTX, 1, 0, 1, ctx2_names) } },
	[KVT_OP_CPU_OFFLINE] = { "cpu-offline", 1, { CPU_A } },
	[KVT_OP_CPU_ONLINE] = { "cpu-online", 1, { CPU_A } },
	[KVT_OP_QUEUE_LOOP] = { "queue-loop", 6,
		{ CPU_A, F_ENUM("ctx", KVT_ARG_CTX, 1, 0, 1, ctx2_names), FORM(1, 1), CH(1, 2),
		  F_ENUM("mask", KVT_ARG_MASK, 1, 3, 2, mask_names),
		  F_NUM("k", KVT_ARG_N, 2, 0, 8, 1, KVT_LOOP_MAX) } },
	[KVT_OP_MISUSE_DOUBLE] = { "misuse-double", 3, { CPU_A, CTX4(1, 0), CH(1, 2) } },
	[KVT_OP_MISUSE_NMI] = { "misuse-nmi", 2, { CPU_A, CH(1, 0) } },
	[KVT_OP_MISUSE_HEADLESS_ATOMIC] = { "misuse-headless-atomic", 3,
		{ CPU_A, F_ENUM("why", KVT_ARG_WHY, 1, 0, 3, why_names), CH(1, 3) } },
	/* after: steps from the last one taken to the change point, bytes b and c. */
	[KVT_OP_PCT_CHANGE] = { "pct-change", 1,
		{ { "after", KVT_ARG_N, KF_U16, 1, 0, 8, 0, 0, NULL } } },
	[KVT_OP_API_EDGES] = { "api-edges", 1, { CPU_A } },
	[KVT_OP_RCU_WORK_EARLY] = { "rcu-work-early", 1, { F_NUM("n", KVT_ARG_N, 0, 0, 2, 1, 4) } },
};

const char *kvt_op_name(unsigned int code)
{
	return code < KVT_OP_NR ? op_tab[code].name : NULL;
}

/* ---------------------------------------------------------------------------
 * Opcode bytes
 *
 * The binary form names an op by its record's first byte through this table,
 * which is fixed for ever: fuzz corpora are kept for years (OSS-Fuzz keeps
 * them), and an input must mean the same program after ops are added.  The
 * table only ever grows: an entry that names an op never changes, and a new
 * op takes one or more of the bytes that are still OP_UNOWNED (208..255 when
 * the table was made; a record with such a byte is skipped until then).
 *
 * The first 26 ops own eight bytes each, byte % 26, which is what every byte
 * below 208 meant when the binary form read the opcode as byte % KVT_OP_NR;
 * FIRST_26_OPS lists them in that order and never changes either.  The lowest
 * byte an op owns is its canonical byte, the one the encoder writes.
 *
 * Taken since: 0xd0 pct-change (one byte only: a record that turns PCT on
 * changes the whole run, so random bytes should rarely make one); 0xd1 ..
 * 0xd2 api-edges; 0xd3 rcu-work-early (one byte: a fault of the environment).
 */
#define OP_UNOWNED 0xff
_Static_assert(KVT_OP_NR < OP_UNOWNED, "OP_UNOWNED is not an op");

#define FIRST_26_OPS							\
	KVT_OP_QUEUE, KVT_OP_RETIRE, KVT_OP_PUBLISH, KVT_OP_UNPUBLISH,	\
	KVT_OP_READER_BEGIN, KVT_OP_READER_DEREF, KVT_OP_READER_END,	\
	KVT_OP_GP_START, KVT_OP_GP_TRY_END, KVT_OP_GP_COMPLETE,		\
	KVT_OP_ADVANCE, KVT_OP_RUN_PENDING, KVT_OP_INJECT_IRQ,		\
	KVT_OP_INJECT_NMI, KVT_OP_PREEMPT, KVT_OP_MIGRATE,		\
	KVT_OP_FAIL_ALLOCS, KVT_OP_SHRINK_COUNT, KVT_OP_SHRINK_SCAN,	\
	KVT_OP_BARRIER, KVT_OP_CPU_OFFLINE, KVT_OP_CPU_ONLINE,		\
	KVT_OP_QUEUE_LOOP, KVT_OP_MISUSE_DOUBLE, KVT_OP_MISUSE_NMI,	\
	KVT_OP_MISUSE_HEADLESS_ATOMIC
#define UNOWNED_8							\
	OP_UNOWNED, OP_UNOWNED, OP_UNOWNED, OP_UNOWNED,			\
	OP_UNOWNED, OP_UNOWNED, OP_UNOWNED, OP_UNOWNED

static const uint8_t op_of_byte[256] = {
	/* 0x00 .. 0xcf: the first 26 ops, eight times over. */
	FIRST_26_OPS, FIRST_26_OPS, FIRST_26_OPS, FIRST_26_OPS,
	FIRST_26_OPS, FIRST_26_OPS, FIRST_26_OPS, FIRST_26_OPS,
	/* 0xd0 .. 0xff: for new ops, which take entries here and nowhere else. */
	KVT_OP_PCT_CHANGE, KVT_OP_API_EDGES, KVT_OP_API_EDGES, KVT_OP_RCU_WORK_EARLY,	/* 0xd0 */
	OP_UNOWNED, OP_UNOWNED, OP_UNOWNED, OP_UNOWNED,
	UNOWNED_8, UNOWNED_8, UNOWNED_8, UNOWNED_8, UNOWNED_8,
};
_Static_assert(sizeof(op_of_byte) == 256, "one entry per opcode byte");

int kvt_op_of_byte(uint8_t byte)
{
	return op_of_byte[byte] == OP_UNOWNED ? -1 : op_of_byte[byte];
}

int kvt_op_byte(unsigned int code)
{
	for (unsigned int b = 0; b < 256 && code < KVT_OP_NR; b++)
		if (op_of_byte[b] == code)
			return (int)b;
	return -1;
}

static uint8_t *op_byte(struct kvt_op *op, unsigned int i)
{
	return i == 0 ? &op->a : i == 1 ? &op->b : &op->c;
}

static uint8_t op_byte_get(const struct kvt_op *op, unsigned int i)
{
	return i == 0 ? op->a : i == 1 ? op->b : op->c;
}

static unsigned int field_raw(const struct field *f, const struct kvt_op *op)
{
	return (op_byte_get(op, f->byte) >> f->shift) & ((1u << f->bits) - 1);
}

/* The value of @f in a canonical record. */
OPS_TABLE_FN
static uint64_t field_get(const struct field *f, const struct kvt_op *op)
{
	switch (f->kind) {
	case KF_CPU:
		return op_byte_get(op, f->byte);
	case KF_ENUM:
	case KF_NUM:
		return f->min + field_raw(f, op);
	case KF_U16:
		return (uint64_t)op->b | (uint64_t)op->c << 8;
	case KF_NS:
		return advance_unit_tab[op->a & 3] * ((uint64_t)op->b + 1);
	}
	return 0;
}

/*
 * Store @v into @op's bytes; @v is in range.  For KF_NS picks the smallest unit
 * that holds @v exactly; false if none does.
 */
OPS_TABLE_FN
static bool field_put(const struct field *f, struct kvt_op *op, uint64_t v)
{
	uint8_t *byte = op_byte(op, f->byte);

	switch (f->kind) {
	case KF_CPU:
		*byte = (uint8_t)v;
		return true;
	case KF_ENUM:
	case KF_NUM:
		*byte |= (uint8_t)((v - f->min) << f->shift);
		return true;
	case KF_U16:
		op->b = (uint8_t)(v & 0xff);
		op->c = (uint8_t)(v >> 8);
		return true;
	case KF_NS:
		for (unsigned int u = 0; u < ARRAY_SIZE(advance_unit_tab); u++) {
			uint64_t unit = advance_unit_tab[u];

			if (v >= unit && v % unit == 0 && v / unit <= ADVANCE_MULT_MAX) {
				op->a = (uint8_t)u;
				op->b = (uint8_t)(v / unit - 1);
				op->c = 0;
				return true;
			}
		}
		return false;
	}
	return false;
}

/* The executor's read of each op it runs (OPS_TABLE_FN). */
OPS_TABLE_FN
void kvt_op_args(const struct kvt_op *op, struct kvt_args *args)
{
	memset(args, 0, sizeof(*args));
	if (op->code >= KVT_OP_NR)
		return;
	for (unsigned int i = 0; i < op_tab[op->code].nr_fields; i++) {
		const struct field *f = &op_tab[op->code].f[i];

		args->v[f->arg] = field_get(f, op);
	}
}

/* Contexts in which a sleeping (headless) call is legal. */
static bool ctx_may_sleep(uint64_t ctx)
{
	return ctx == KENV_CTX_TASK || ctx == KENV_CTX_KTHREAD;
}

/*
 * Why @args are not a legal combination for @code, or NULL.  Decoding repairs
 * these (headless becomes head); parsing rejects them.
 */
static const char *op_args_conflict(unsigned int code, const struct kvt_args *args)
{
	if ((code == KVT_OP_QUEUE || code == KVT_OP_RETIRE) &&
	    args->v[KVT_ARG_FORM] == KVT_FORM_HEADLESS && !ctx_may_sleep(args->v[KVT_ARG_CTX]))
		return "form=headless needs ctx=task or kthread (see misuse-headless-atomic)";
	if (code == KVT_OP_QUEUE_LOOP && args->v[KVT_ARG_FORM] == KVT_FORM_HEADLESS &&
	    args->v[KVT_ARG_MASK] != KVT_MASK_NONE)
		return "form=headless needs mask=none (see misuse-headless-atomic)";
	return NULL;
}

OPS_TABLE_FN
static struct kvt_op op_pack(unsigned int code, const struct kvt_args *args)
{
	struct kvt_op op = { .code = (uint8_t)code };

	for (unsigned int i = 0; i < op_tab[code].nr_fields; i++) {
		const struct field *f = &op_tab[code].f[i];

		field_put(f, &op, args->v[f->arg]);
	}
	return op;
}

/* @in's fields brought into range (OPS_TABLE_FN), into @args. */
OPS_TABLE_FN
static void decode_fields(const struct kvt_op *in, unsigned int nr_cpus, struct kvt_args *args)
{
	for (unsigned int i = 0; i < op_tab[in->code].nr_fields; i++) {
		const struct field *f = &op_tab[in->code].f[i];
		uint64_t v;

		switch (f->kind) {
		case KF_CPU:
			v = op_byte_get(in, f->byte) % nr_cpus;
			break;
		case KF_ENUM:
		case KF_NUM:
			v = f->min + field_raw(f, in) % f->n;
			break;
		default:
			v = field_get(f, in);
			break;
		}
		args->v[f->arg] = v;
	}
}

bool kvt_op_decode(const uint8_t raw[KVT_OP_BYTES], unsigned int nr_cpus, struct kvt_op *op)
{
	struct kvt_op in = { op_of_byte[raw[0]], raw[1], raw[2], raw[3] };
	struct kvt_args args = { { 0 } };

	if (in.code == OP_UNOWNED)
		return false;
	decode_fields(&in, nr_cpus ? nr_cpus : 1, &args);
	if (op_args_conflict(in.code, &args))
		args.v[KVT_ARG_FORM] = KVT_FORM_HEAD;
	*op = op_pack(in.code, &args);
	return true;
}

/*
 * Environment failure of the codec itself (exit 99).  Not kenv_die(): the codec
 * links into programs that carry no environment (the parser's fuzz target).
 */
static _Noreturn void ops_die(const char *msg)
{
	fprintf(stderr, "kvtorture: ops: %s\n", msg);
	exit(99);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		ops_die("out of memory");
	return p;
}

void kvt_prog_decode(const uint8_t *data, size_t size, struct kvt_prog *prog)
{
	uint8_t cfgb[KVT_CONFIG_BYTES] = { 0 };
	size_t nr;

	if (size > KVT_MAX_INPUT)
		size = KVT_MAX_INPUT;
	memcpy(cfgb, data, size < KVT_CONFIG_BYTES ? size : KVT_CONFIG_BYTES);
	config_decode(cfgb, &prog->cfg);
	nr = size > KVT_CONFIG_BYTES ? (size - KVT_CONFIG_BYTES) / KVT_OP_BYTES : 0;
	prog->ops = xcalloc(nr, sizeof(*prog->ops));
	prog->nr = 0;
	for (size_t i = 0; i < nr; i++)
		prog->nr += kvt_op_decode(data + KVT_CONFIG_BYTES + i * KVT_OP_BYTES,
					  prog->cfg.nr_cpus, &prog->ops[prog->nr]);
}

bool kvt_prog_encode(const struct kvt_prog *prog, uint8_t **out, size_t *len, const char **why)
{
	uint8_t *buf;
	const char *bad;
	size_t size;

	*out = NULL;
	*len = 0;
	if (prog->nr > KVT_MAX_BINARY_OPS) {
		if (why)
			*why = "too many ops for the binary form (KVT_MAX_INPUT)";
		return false;
	}
	size = KVT_CONFIG_BYTES + prog->nr * KVT_OP_BYTES;
	buf = xcalloc(size, 1);
	bad = config_encode(&prog->cfg, buf);
	if (bad) {
		free(buf);
		if (why)
			*why = bad;
		return false;
	}
	for (size_t i = 0; i < prog->nr; i++) {
		const struct kvt_op *op = &prog->ops[i];
		uint8_t *rec = buf + KVT_CONFIG_BYTES + i * KVT_OP_BYTES;
		int byte = kvt_op_byte(op->code);

		if (byte < 0) {
			free(buf);
			if (why)
				*why = "an opcode that no op has";
			return false;
		}
		rec[0] = (uint8_t)byte;
		rec[1] = op->a;
		rec[2] = op->b;
		rec[3] = op->c;
	}
	*out = buf;
	*len = size;
	return true;
}

void kvt_prog_free(struct kvt_prog *prog)
{
	free(prog->ops);
	prog->ops = NULL;
	prog->nr = 0;
}

/* ---------------------------------------------------------------------------
 * Printing
 */

/* snprintf that keeps counting past the end of @buf, like snprintf itself. */
struct sbuf {
	char *buf;
	size_t len, pos;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t room = sb->pos < sb->len ? sb->len - sb->pos : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->pos += (size_t)n;
}

size_t kvt_config_format(const struct kvt_config *cfg, char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0 };

	if (len)
		buf[0] = '\0';
	sb_printf(&sb, "config cpus=%u policy=%s page-entries=%u cache-pages=%u",
		  cfg->nr_cpus, kvt_policy_name(cfg->policy) ? kvt_policy_name(cfg->policy) : "?",
		  cfg->page_entries, cfg->cache_pages);
	sb_printf(&sb, " drain-ns=%" PRIu64 " short-ns=%" PRIu64 " refill-kick-ns=%" PRIu64
		  " backoff-ns=%" PRIu64, cfg->drain_ns, cfg->short_ns, cfg->refill_kick_ns,
		  cfg->backoff_ns);
	sb_printf(&sb, " watermark=%u rate-calls=%u rate-window-ns=%" PRIu64, cfg->watermark,
		  cfg->rate_calls, cfg->rate_window_ns);
	sb_printf(&sb, " gp=%s gp-ns=%" PRIu64 " pool-pages=%u",
		  (unsigned int)cfg->gp_mode < KVT_GP_NR ? gp_mode_names[cfg->gp_mode] : "?",
		  cfg->gp_ns, cfg->pool_pages);
	/* Exploration settings only when set, so fuzz reproducers stay short. */
	if (cfg->seed)
		sb_printf(&sb, " seed=%" PRIu64, cfg->seed);
	if (cfg->irq_permille)
		sb_printf(&sb, " irq-permille=%u", cfg->irq_permille);
	if (cfg->nmi_permille)
		sb_printf(&sb, " nmi-permille=%u", cfg->nmi_permille);
	if (cfg->preempt_permille)
		sb_printf(&sb, " preempt-permille=%u", cfg->preempt_permille);
	if (cfg->migrate_permille)
		sb_printf(&sb, " migrate-permille=%u", cfg->migrate_permille);
	if (cfg->alloc_fail_permille)
		sb_printf(&sb, " alloc-fail-permille=%u", cfg->alloc_fail_permille);
	if (cfg->page_limit)
		sb_printf(&sb, " page-limit=%lu", cfg->page_limit);
	if (cfg->pct_depth)
		sb_printf(&sb, " pct-depth=%u", cfg->pct_depth);
	if (cfg->pct_steps)
		sb_printf(&sb, " pct-steps=%" PRIu64, cfg->pct_steps);
	return sb.pos;
}

size_t kvt_op_format(const struct kvt_op *op, char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0 };
	const struct op_desc *d;

	if (len)
		buf[0] = '\0';
	if (op->code >= KVT_OP_NR) {
		sb_printf(&sb, "bad-op-%u", op->code);
		return sb.pos;
	}
	d = &op_tab[op->code];
	sb_printf(&sb, "%s", d->name);
	for (unsigned int i = 0; i < d->nr_fields; i++) {
		const struct field *f = &d->f[i];
		uint64_t v = field_get(f, op);

		if (f->kind == KF_ENUM && v < f->n)
			sb_printf(&sb, " %s=%s", f->key, f->names[v]);
		else
			sb_printf(&sb, " %s=%" PRIu64, f->key, v);
	}
	return sb.pos;
}

#define LINE_MAX_LEN 512

bool kvt_prog_uses_pct(const struct kvt_prog *prog)
{
	if (prog->cfg.pct_depth || prog->cfg.pct_steps)
		return true;
	for (size_t i = 0; i < prog->nr; i++)
		if (prog->ops[i].code == KVT_OP_PCT_CHANGE)
			return true;
	return false;
}

/* The header: version 1 unless the program needs version 2 (PCT). */
static const char *text_header(const struct kvt_prog *prog)
{
	return kvt_prog_uses_pct(prog) ? KVT_TEXT_MAGIC " 2\n" : KVT_TEXT_MAGIC " 1\n";
}

int kvt_prog_print(const struct kvt_prog *prog, FILE *f)
{
	char line[LINE_MAX_LEN];

	fputs(text_header(prog), f);
	kvt_config_format(&prog->cfg, line, sizeof(line));
	fprintf(f, "%s\n", line);
	for (size_t i = 0; i < prog->nr; i++) {
		kvt_op_format(&prog->ops[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	return ferror(f) ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int kvt_prog_write_fd(const struct kvt_prog *prog, int fd)
{
	char line[LINE_MAX_LEN];
	const char *header = text_header(prog);
	size_t n;

	if (write_all(fd, header, strlen(header)))
		return -1;
	n = kvt_config_format(&prog->cfg, line, sizeof(line) - 1);
	n = n < sizeof(line) - 2 ? n : sizeof(line) - 2;
	line[n++] = '\n';
	if (write_all(fd, line, n))
		return -1;
	for (size_t i = 0; i < prog->nr; i++) {
		n = kvt_op_format(&prog->ops[i], line, sizeof(line) - 1);
		n = n < sizeof(line) - 2 ? n : sizeof(line) - 2;
		line[n++] = '\n';
		if (write_all(fd, line, n))
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Parsing
 */

struct parser {
	const char *filename;
	unsigned int line;
	struct kvt_err *err;
	unsigned int version;	/* of the header read */
};

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err->msg, sizeof(p->err->msg), "%s:%u: ", p->filename, p->line);
	if (n < 0 || (size_t)n >= sizeof(p->err->msg))
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err->msg + n, sizeof(p->err->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A token: [s, s+len) inside the line. */
struct tok {
	const char *s;
	size_t len;
};

static bool tok_is(struct tok t, const char *word)
{
	return strlen(word) == t.len && memcmp(t.s, word, t.len) == 0;
}

/* Split a line (comment already cut) into whitespace-separated tokens. */
static size_t tokenize(const char *s, size_t len, struct tok *toks, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i >= len)
			break;
		if (n < max) {
			toks[n].s = s + i;
			toks[n].len = 0;
		}
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
			if (n < max)
				toks[n].len++;
			i++;
		}
		n++;
	}
	return n;
}

/* Parse a decimal unsigned 64-bit number that fills the whole token. */
static bool parse_u64(struct tok t, uint64_t *v)
{
	uint64_t x = 0;

	if (t.len == 0 || t.len > 20)
		return false;
	for (size_t i = 0; i < t.len; i++) {
		unsigned int d;

		if (t.s[i] < '0' || t.s[i] > '9')
			return false;
		d = (unsigned int)(t.s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

static bool split_kv(struct tok t, struct tok *key, struct tok *val)
{
	const char *eq = memchr(t.s, '=', t.len);

	if (!eq)
		return false;
	key->s = t.s;
	key->len = (size_t)(eq - t.s);
	val->s = eq + 1;
	val->len = t.len - key->len - 1;
	return true;
}

#define MAX_TOKS 32

/* Checks common to config and op arguments; 0 or -1 with the error set. */
static int check_kv(struct parser *p, const char *what, struct tok t, struct tok *key,
		    struct tok *val)
{
	if (!split_kv(t, key, val))
		return perr(p, "%s: expected key=value, got '%.*s'", what, (int)t.len, t.s);
	if (key->len == 0)
		return perr(p, "%s: '%.*s' has no key", what, (int)t.len, t.s);
	if (val->len == 0)
		return perr(p, "%s: truncated line: '%.*s' has no value", what, (int)t.len, t.s);
	return 0;
}

struct cfg_key {
	const char *key;
	unsigned int kind;	/* 0: number, 1: policy, 2: gp mode */
	size_t off;
	unsigned int size;	/* bytes of the field */
	uint64_t max;
};

#define CK(k, kind_, field, max_) \
	{ (k), (kind_), offsetof(struct kvt_config, field), \
	  sizeof(((struct kvt_config *)0)->field), (max_) }

static const struct cfg_key cfg_keys[] = {
	CK("cpus", 0, nr_cpus, KVT_CPUS_MAX),
	CK("policy", 1, policy, 0),
	CK("page-entries", 0, page_entries, KVFREE_PAGE_ENTRIES_MAX),
	CK("cache-pages", 0, cache_pages, KVT_CACHE_PAGES_MAX),
	CK("drain-ns", 0, drain_ns, UINT64_MAX),
	CK("short-ns", 0, short_ns, UINT64_MAX),
	CK("refill-kick-ns", 0, refill_kick_ns, UINT64_MAX),
	CK("backoff-ns", 0, backoff_ns, UINT64_MAX),
	CK("watermark", 0, watermark, 1000000),
	CK("rate-calls", 0, rate_calls, 1000000000),
	CK("rate-window-ns", 0, rate_window_ns, UINT64_MAX),
	CK("gp", 2, gp_mode, 0),
	CK("gp-ns", 0, gp_ns, UINT64_MAX),
	CK("pool-pages", 0, pool_pages, KVT_POOL_PAGES_MAX),
	CK("seed", 0, seed, UINT64_MAX),
	CK("irq-permille", 0, irq_permille, 1000),
	CK("nmi-permille", 0, nmi_permille, 1000),
	CK("preempt-permille", 0, preempt_permille, 1000),
	CK("migrate-permille", 0, migrate_permille, 1000),
	CK("alloc-fail-permille", 0, alloc_fail_permille, 1000),
	CK("page-limit", 0, page_limit, 1000000000),
	/* Version 2. */
	CK("pct-depth", 0, pct_depth, KVT_PCT_DEPTH_MAX),
	CK("pct-steps", 0, pct_steps, UINT64_MAX),
};

/* The first key of cfg_keys[] that a version 1 file may not use. */
#define CFG_KEYS_V1 (ARRAY_SIZE(cfg_keys) - 2)

static void cfg_store(struct kvt_config *cfg, const struct cfg_key *k, uint64_t v)
{
	char *p = (char *)cfg + k->off;

	if (k->size == sizeof(uint64_t)) {
		uint64_t x = v;

		memcpy(p, &x, sizeof(x));
	} else if (k->size == sizeof(unsigned long)) {
		unsigned long x = (unsigned long)v;

		memcpy(p, &x, sizeof(x));
	} else {
		unsigned int x = (unsigned int)v;

		memcpy(p, &x, sizeof(x));
	}
}

static int parse_config(struct parser *p, struct tok *toks, size_t n, struct kvt_config *cfg)
{
	bool seen[ARRAY_SIZE(cfg_keys)] = { false };
	const char *bad;

	kvt_config_default(cfg);
	for (size_t i = 1; i < n; i++) {
		struct tok key, val;
		const struct cfg_key *k = NULL;
		uint64_t v = 0;
		size_t ki;

		if (check_kv(p, "config", toks[i], &key, &val))
			return -1;
		for (ki = 0; ki < ARRAY_SIZE(cfg_keys); ki++)
			if (tok_is(key, cfg_keys[ki].key)) {
				k = &cfg_keys[ki];
				break;
			}
		if (!k)
			return perr(p, "config: unknown key '%.*s'", (int)key.len, key.s);
		if (ki >= CFG_KEYS_V1 && p->version < 2)
			return perr(p, "config: %s needs version 2 (header '%s 2')", k->key,
				    KVT_TEXT_MAGIC);
		if (seen[ki])
			return perr(p, "config: duplicate key '%s'", k->key);
		seen[ki] = true;
		if (k->kind == 1 || k->kind == 2) {
			const char *const *names = k->kind == 1 ? policy_names : gp_mode_names;
			unsigned int nn = k->kind == 1 ? KVT_POLICY_NR : KVT_GP_NR;

			for (v = 0; v < nn; v++)
				if (tok_is(val, names[v]))
					break;
			if (v == nn)
				return perr(p, "config: %s=%.*s: expected %s", k->key, (int)val.len,
					    val.s, k->kind == 1 ? "kernel|watermark|nolocks"
								: "explicit|auto");
		} else {
			if (!parse_u64(val, &v))
				return perr(p, "config: %s=%.*s: not a number", k->key,
					    (int)val.len, val.s);
			if (v > k->max)
				return perr(p, "config: %s=%" PRIu64 " out of range (max %" PRIu64 ")",
					    k->key, v, k->max);
		}
		cfg_store(cfg, k, v);
	}
	bad = kvt_config_invalid(cfg);
	if (bad)
		return perr(p, "config: %s", bad);
	return 0;
}

static int parse_op(struct parser *p, struct tok *toks, size_t n, const struct kvt_config *cfg,
		    struct kvt_op *out)
{
	const struct op_desc *d = NULL;
	struct kvt_args args = { { 0 } };
	bool seen[OP_FIELDS_MAX] = { false };
	const char *bad;
	unsigned int code;

	for (code = 0; code < KVT_OP_NR; code++)
		if (tok_is(toks[0], op_tab[code].name)) {
			d = &op_tab[code];
			break;
		}
	if (!d)
		return perr(p, "unknown op '%.*s'", (int)toks[0].len, toks[0].s);
	if (code == KVT_OP_PCT_CHANGE && p->version < 2)
		return perr(p, "%s needs version 2 (header '%s 2')", d->name, KVT_TEXT_MAGIC);
	for (size_t i = 1; i < n; i++) {
		struct tok key, val;
		const struct field *f = NULL;
		unsigned int fi;
		uint64_t v = 0;

		if (check_kv(p, d->name, toks[i], &key, &val))
			return -1;
		for (fi = 0; fi < d->nr_fields; fi++)
			if (tok_is(key, d->f[fi].key)) {
				f = &d->f[fi];
				break;
			}
		if (!f)
			return perr(p, "%s: unknown key '%.*s'", d->name, (int)key.len, key.s);
		if (seen[fi])
			return perr(p, "%s: duplicate key '%s'", d->name, f->key);
		seen[fi] = true;
		if (f->kind == KF_ENUM) {
			for (v = 0; v < f->n; v++)
				if (tok_is(val, f->names[v]))
					break;
			if (v == f->n) {
				char choices[128];
				struct sbuf sb = { choices, sizeof(choices), 0 };

				for (unsigned int c = 0; c < f->n; c++)
					sb_printf(&sb, "%s%s", c ? "|" : "", f->names[c]);
				return perr(p, "%s: %s=%.*s: expected one of %s", d->name, f->key,
					    (int)val.len, val.s, choices);
			}
		} else {
			uint64_t lo = 0, hi = 0;

			if (!parse_u64(val, &v))
				return perr(p, "%s: %s=%.*s: not a number", d->name, f->key,
					    (int)val.len, val.s);
			switch (f->kind) {
			case KF_CPU:
				hi = cfg->nr_cpus - 1;
				break;
			case KF_NUM:
				lo = f->min;
				hi = (uint64_t)f->min + f->n - 1;
				break;
			case KF_U16:
				hi = 0xffff;
				break;
			default:
				hi = UINT64_MAX;
				break;
			}
			if (v < lo || v > hi)
				return perr(p, "%s: %s=%" PRIu64 " out of range (%" PRIu64 "..%" PRIu64
					    ")", d->name, f->key, v, lo, hi);
			if (f->kind == KF_NS) {
				struct kvt_op probe = { 0 };

				if (!field_put(f, &probe, v))
					return perr(p, "%s: ns=%" PRIu64 " out of range (1 to 256 "
						    "times 1000, 100000, 1000000 or 10000000)",
						    d->name, v);
			}
		}
		args.v[f->arg] = v;
	}
	for (unsigned int fi = 0; fi < d->nr_fields; fi++)
		if (!seen[fi])
			return perr(p, "%s: truncated line: missing %s=", d->name, d->f[fi].key);
	bad = op_args_conflict(code, &args);
	if (bad)
		return perr(p, "%s: %s", d->name, bad);
	*out = op_pack(code, &args);
	return 0;
}

int kvt_prog_parse(const char *text, size_t len, const char *filename,
		   struct kvt_prog *prog, struct kvt_err *err)
{
	struct parser p = { filename ? filename : "<input>", 0, err, 0 };
	enum { WANT_HEADER, WANT_CONFIG, WANT_OPS } state = WANT_HEADER;
	struct kvt_op *ops = NULL;
	size_t nr = 0, cap = 0;
	size_t pos = 0;

	prog->ops = NULL;
	prog->nr = 0;
	err->msg[0] = '\0';
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t linelen = nl ? (size_t)(nl - s) : len - pos;
		const char *hash = memchr(s, '#', linelen);
		size_t eff = hash ? (size_t)(hash - s) : linelen;
		struct tok toks[MAX_TOKS];
		size_t n;

		pos += linelen + (nl ? 1 : 0);
		p.line++;
		if (memchr(s, '\0', linelen)) {
			perr(&p, "NUL byte in a text line");
			goto fail;
		}
		n = tokenize(s, eff, toks, MAX_TOKS);
		if (n == 0)
			continue;
		if (n > MAX_TOKS) {
			perr(&p, "too many arguments (max %d)", MAX_TOKS - 1);
			goto fail;
		}
		switch (state) {
		case WANT_HEADER: {
			uint64_t version;

			if (!tok_is(toks[0], KVT_TEXT_MAGIC)) {
				perr(&p, "missing header '%s 1'", KVT_TEXT_MAGIC);
				goto fail;
			}
			if (n != 2 || !parse_u64(toks[1], &version)) {
				perr(&p, "bad header: expected '%s 1'", KVT_TEXT_MAGIC);
				goto fail;
			}
			if (version < 1 || version > KVT_TEXT_VERSION) {
				perr(&p, "unsupported version %" PRIu64 " (this build reads 1 to %d)",
				     version, KVT_TEXT_VERSION);
				goto fail;
			}
			p.version = (unsigned int)version;
			state = WANT_CONFIG;
			break;
		}
		case WANT_CONFIG:
			if (!tok_is(toks[0], "config")) {
				perr(&p, "expected the config line, got '%.*s'", (int)toks[0].len,
				     toks[0].s);
				goto fail;
			}
			if (parse_config(&p, toks, n, &prog->cfg))
				goto fail;
			state = WANT_OPS;
			break;
		case WANT_OPS:
			if (nr == KVT_MAX_OPS) {
				perr(&p, "too many ops (max %d)", KVT_MAX_OPS);
				goto fail;
			}
			if (nr == cap) {
				struct kvt_op *grown;

				cap = cap ? cap * 2 : 64;
				grown = realloc(ops, cap * sizeof(*ops));
				if (!grown)
					ops_die("out of memory");
				ops = grown;
			}
			if (parse_op(&p, toks, n, &prog->cfg, &ops[nr]))
				goto fail;
			nr++;
			break;
		}
	}
	if (state != WANT_OPS) {
		p.line++;
		perr(&p, state == WANT_HEADER ? "missing header '%s 1'"
					      : "truncated input: no config line after '%s 1'",
		     KVT_TEXT_MAGIC);
		goto fail;
	}
	prog->ops = ops ? ops : xcalloc(1, sizeof(*ops));
	prog->nr = nr;
	return 0;
fail:
	free(ops);
	return -1;
}

/* ---------------------------------------------------------------------------
 * Loading a file of either form
 */

static bool looks_like_text(const uint8_t *data, size_t size)
{
	size_t i = 0;

	/* Skip blank and comment lines, then look for the header word. */
	while (i < size) {
		while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r'))
			i++;
		if (i < size && data[i] == '#') {
			while (i < size && data[i] != '\n')
				i++;
		}
		if (i < size && data[i] == '\n') {
			i++;
			continue;
		}
		break;
	}
	if (size - i >= strlen(KVT_TEXT_MAGIC) &&
	    memcmp(data + i, KVT_TEXT_MAGIC, strlen(KVT_TEXT_MAGIC)) == 0)
		return true;
	/* A '#'-led plain-text file without the header is text with an error. */
	if (size == 0 || data[0] != '#')
		return false;
	for (i = 0; i < size; i++)
		if (data[i] != '\n' && data[i] != '\t' && data[i] != '\r' &&
		    (data[i] < 0x20 || data[i] > 0x7e))
			return false;
	return true;
}

int kvt_prog_load(const char *path, struct kvt_prog *prog, struct kvt_err *err)
{
	uint8_t *data = NULL;
	size_t size = 0, cap = 0;
	int fd, ret;

	prog->ops = NULL;
	prog->nr = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t r;

		if (size == cap) {
			uint8_t *grown;

			cap = cap ? cap * 2 : 8192;
			grown = realloc(data, cap);
			if (!grown)
				ops_die("out of memory");
			data = grown;
		}
		r = read(fd, data + size, cap - size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err->msg, sizeof(err->msg), "%s: read error: %s", path,
				 strerror(errno));
			close(fd);
			free(data);
			return -1;
		}
		if (r == 0)
			break;
		size += (size_t)r;
	}
	close(fd);
	if (looks_like_text(data, size)) {
		ret = kvt_prog_parse((const char *)data, size, path, prog, err);
	} else {
		kvt_prog_decode(data, size, prog);
		ret = 0;
	}
	free(data);
	return ret;
}

/* ---------------------------------------------------------------------------
 * Random programs
 */

static const uint8_t core_ops[] = {
	KVT_OP_QUEUE, KVT_OP_QUEUE, KVT_OP_QUEUE_LOOP, KVT_OP_PUBLISH, KVT_OP_RETIRE,
	KVT_OP_READER_BEGIN, KVT_OP_READER_DEREF, KVT_OP_READER_END, KVT_OP_ADVANCE,
	KVT_OP_GP_COMPLETE, KVT_OP_RUN_PENDING,
};

/* Random programs draw from the ops that existed before pct-change (ops.h). */
#define RANDOM_OPS (KVT_OP_MISUSE_HEADLESS_ATOMIC + 1)
_Static_assert(RANDOM_OPS == 26, "a seed keeps naming the same random program");

void kvt_prog_random(struct kvt_prog *prog, uint64_t seed, size_t nr_ops,
		     enum kvt_policy policy)
{
	uint8_t cfgb[KVT_CONFIG_BYTES];
	uint64_t st = seed;

	for (size_t i = 0; i < KVT_CONFIG_BYTES; i++)
		cfgb[i] = (uint8_t)splitmix64_next(&st);
	config_decode(cfgb, &prog->cfg);
	prog->cfg.policy = (unsigned int)policy < KVT_POLICY_NR ? policy : KVT_POLICY_KERNEL;
	if (nr_ops > KVT_MAX_OPS)
		nr_ops = KVT_MAX_OPS;
	prog->ops = xcalloc(nr_ops, sizeof(*prog->ops));
	prog->nr = nr_ops;
	for (size_t i = 0; i < nr_ops; i++) {
		uint64_t r = splitmix64_next(&st);
		unsigned int code = (unsigned int)((r >> 32) % RANDOM_OPS);
		uint8_t raw[KVT_OP_BYTES] = { 0, (uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16) };

		/*
		 * Two in five ops come from the core of a workload (queueing,
		 * readers, time and GPs), so random programs do more than misuse.
		 */
		if ((r >> 56) % 5 < 2)
			code = core_ops[(r >> 48) % ARRAY_SIZE(core_ops)];
		/* Time steps: mostly small, so timers interleave with the other ops. */
		if (code == KVT_OP_ADVANCE && (r >> 40) % 2)
			raw[2] = (uint8_t)(raw[2] % 16);
		raw[0] = (uint8_t)kvt_op_byte(code);
		kvt_op_decode(raw, prog->cfg.nr_cpus, &prog->ops[i]);
	}
}
