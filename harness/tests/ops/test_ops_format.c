/* SPDX-License-Identifier: MIT */
/*
 * test_ops_format.c - the op language's binary and text forms.
 *
 * Round trips (text -> parse -> print, binary -> decode -> encode -> decode,
 * binary -> text -> binary), every class of malformed text with its exact
 * "FILE:LINE: ..." message, truncated binary inputs, loading either form from a
 * file, and the random program generator.  TAP output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops.h"
#include "prog_text.h"
#include "splitmix64.h"
#include "tap.h"

/* Every op, in canonical text, with the canonical config line (pct-change: version 2). */
static const char all_ops_text[] =
	"kvtorture-repro 2\n"
	"config cpus=4 policy=kernel page-entries=4 cache-pages=2 drain-ns=20000000 "
	"short-ns=1000000 refill-kick-ns=1000000 backoff-ns=10000000 watermark=4 "
	"rate-calls=16 rate-window-ns=10000000 gp=explicit gp-ns=5000000 pool-pages=2\n"
	"queue cpu=0 ctx=task form=head ch=slab\n"
	"queue cpu=1 ctx=kthread form=headless ch=vmalloc\n"
	"queue cpu=2 ctx=softirq form=head ch=slab\n"
	"queue cpu=3 ctx=hardirq form=head ch=vmalloc\n"
	"retire cpu=1 ctx=task form=headless slot=3\n"
	"publish slot=3 ch=vmalloc\n"
	"unpublish slot=7\n"
	"reader-begin cpu=2 id=5\n"
	"reader-deref id=5 slot=3\n"
	"reader-end id=5\n"
	"gp-start\n"
	"gp-try-end\n"
	"gp-complete\n"
	"advance ns=5000000\n"
	"advance ns=70000000\n"
	"advance ns=2560000000\n"
	"run-pending\n"
	"inject-irq cpu=1 ch=slab\n"
	"inject-nmi cpu=0 ch=vmalloc\n"
	"preempt cpu=3\n"
	"migrate cpu=0 to=2\n"
	"fail-allocs n=200\n"
	"shrink-count cpu=1\n"
	"shrink-scan cpu=2 n=65535\n"
	"barrier cpu=3 ctx=kthread\n"
	"cpu-offline cpu=1\n"
	"cpu-online cpu=1\n"
	"queue-loop cpu=0 ctx=kthread form=head ch=vmalloc mask=irqs k=64\n"
	"queue-loop cpu=1 ctx=task form=headless ch=slab mask=none k=1\n"
	"misuse-double cpu=2 ctx=hardirq ch=slab\n"
	"misuse-nmi cpu=3 ch=slab\n"
	"misuse-headless-atomic cpu=0 why=rcu-read ch=vmalloc\n"
	"pct-change after=300\n"
	"api-edges cpu=2\n"
	"rcu-work-early n=3\n";

static bool same_prog(const struct kvt_prog *a, const struct kvt_prog *b)
{
	char *ta = print_to_string(a), *tb = print_to_string(b);
	bool same = strcmp(ta, tb) == 0 && a->nr == b->nr &&
		    (a->nr == 0 || memcmp(a->ops, b->ops, a->nr * sizeof(*a->ops)) == 0);

	free(ta);
	free(tb);
	return same;
}

static void test_text_round_trip(void)
{
	struct kvt_prog prog, again, decoded;
	struct kvt_err err;
	bool covered[KVT_OP_NR] = { false };
	bool all = true;
	uint8_t *bin;
	size_t blen;
	const char *why = NULL;
	char *text;

	if (!tap_ok(kvt_prog_parse(all_ops_text, strlen(all_ops_text), "all.kvt", &prog, &err) == 0,
		    "hand-written program with every op parses"))
		printf("#   %s\n", err.msg);
	for (size_t i = 0; i < prog.nr; i++)
		covered[prog.ops[i].code] = true;
	for (unsigned int c = 0; c < KVT_OP_NR; c++)
		if (!covered[c]) {
			printf("#   op %s not covered\n", kvt_op_name(c));
			all = false;
		}
	tap_ok(all, "the hand-written program covers every opcode");

	text = print_to_string(&prog);
	tap_eq_str(text, all_ops_text, "canonical text prints back identically");
	tap_ok(kvt_prog_parse(text, strlen(text), "printed", &again, &err) == 0 &&
	       same_prog(&prog, &again), "text -> parse -> print -> parse is stable");
	free(text);

	tap_ok(kvt_prog_encode(&prog, &bin, &blen, &why), "the program encodes to binary");
	tap_eq_u64(blen, KVT_CONFIG_BYTES + prog.nr * KVT_OP_BYTES, "binary length");
	kvt_prog_decode(bin, blen, &decoded);
	tap_ok(same_prog(&prog, &decoded), "text -> encode -> decode gives the same program");
	free(bin);
	kvt_prog_free(&prog);
	kvt_prog_free(&again);
	kvt_prog_free(&decoded);
}

static void test_comments_and_defaults(void)
{
	static const char text[] =
		"# a reproducer\n"
		"\n"
		"  kvtorture-repro 1   # the header\n"
		"config cpus=1 page-entries=2\r\n"
		"# nothing here\n"
		"queue cpu=0 ctx=task ch=slab form=head   # keys in any order\n"
		"gp-complete";
	struct kvt_prog prog, def = { 0 };
	struct kvt_err err;
	char line[512];

	if (!tap_ok(kvt_prog_parse(text, strlen(text), "c.kvt", &prog, &err) == 0,
		    "comments, blank lines, CR, unordered keys, no final newline"))
		printf("#   %s\n", err.msg);
	tap_eq_u64(prog.nr, 2, "two ops");
	kvt_config_default(&def.cfg);
	def.cfg.nr_cpus = 1;
	def.cfg.page_entries = 2;
	kvt_config_format(&prog.cfg, line, sizeof(line));
	{
		char want[512];

		kvt_config_format(&def.cfg, want, sizeof(want));
		tap_eq_str(line, want, "config keys left out take the defaults");
	}
	kvt_prog_free(&prog);
}

struct bad_case {
	const char *text;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "", "bad.kvt:1: missing header 'kvtorture-repro 1'" },
	{ "# only a comment\n", "bad.kvt:2: missing header 'kvtorture-repro 1'" },
	{ "config cpus=1\n", "bad.kvt:1: missing header 'kvtorture-repro 1'" },
	{ "kvtorture-repro 3\n", "bad.kvt:1: unsupported version 3 (this build reads 1 to 2)" },
	{ "kvtorture-repro 0\n", "bad.kvt:1: unsupported version 0 (this build reads 1 to 2)" },
	{ "kvtorture-repro 1\nconfig pct-depth=2 pct-steps=10\n",
	  "bad.kvt:2: config: pct-depth needs version 2 (header 'kvtorture-repro 2')" },
	{ "kvtorture-repro 1\nconfig\npct-change after=3\n",
	  "bad.kvt:3: pct-change needs version 2 (header 'kvtorture-repro 2')" },
	{ "kvtorture-repro 2\nconfig pct-depth=17\n",
	  "bad.kvt:2: config: pct-depth=17 out of range (max 16)" },
	{ "kvtorture-repro 2\nconfig pct-depth=3\n",
	  "bad.kvt:2: config: pct-steps: zero with pct-depth above 1 (change points are drawn "
	  "from 1..pct-steps)" },
	{ "kvtorture-repro 2\nconfig\npct-change after=65536\n",
	  "bad.kvt:3: pct-change: after=65536 out of range (0..65535)" },
	{ "kvtorture-repro\n", "bad.kvt:1: bad header: expected 'kvtorture-repro 1'" },
	{ "kvtorture-repro 1\n", "bad.kvt:2: truncated input: no config line after 'kvtorture-repro 1'" },
	{ "kvtorture-repro 1\nqueue cpu=0\n", "bad.kvt:2: expected the config line, got 'queue'" },
	{ "kvtorture-repro 1\nconfig cpus=9\n", "bad.kvt:2: config: cpus=9 out of range (max 8)" },
	{ "kvtorture-repro 1\nconfig cpus=x\n", "bad.kvt:2: config: cpus=x: not a number" },
	{ "kvtorture-repro 1\nconfig colour=red\n", "bad.kvt:2: config: unknown key 'colour'" },
	{ "kvtorture-repro 1\nconfig policy=fifo\n",
	  "bad.kvt:2: config: policy=fifo: expected kernel|watermark|nolocks" },
	{ "kvtorture-repro 1\nconfig cpus=1 cpus=2\n", "bad.kvt:2: config: duplicate key 'cpus'" },
	{ "kvtorture-repro 1\nconfig drain-ns=2000000 short-ns=3000000\n",
	  "bad.kvt:2: config: short-ns: below one jiffy (1000000) or above drain-ns" },
	{ "kvtorture-repro 1\nconfig cpus=\n", "bad.kvt:2: config: truncated line: 'cpus=' has no value" },
	{ "kvtorture-repro 1\nconfig\nfrobnicate cpu=0\n", "bad.kvt:3: unknown op 'frobnicate'" },
	{ "kvtorture-repro 1\nconfig cpus=2\nqueue cpu=2 ctx=task form=head ch=slab\n",
	  "bad.kvt:3: queue: cpu=2 out of range (0..1)" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=nmi form=head ch=slab\n",
	  "bad.kvt:3: queue: ctx=nmi: expected one of task|kthread|softirq|hardirq" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task form=head ch=slab size=3\n",
	  "bad.kvt:3: queue: unknown key 'size'" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task form=head ch=slab cpu=1\n",
	  "bad.kvt:3: queue: duplicate key 'cpu'" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task form=he",
	  "bad.kvt:3: queue: form=he: expected one of head|headless" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task form=head ch=",
	  "bad.kvt:3: queue: truncated line: 'ch=' has no value" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task\n",
	  "bad.kvt:3: queue: truncated line: missing form=" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=task form head\n",
	  "bad.kvt:3: queue: expected key=value, got 'form'" },
	{ "kvtorture-repro 1\nconfig\nqueue cpu=0 ctx=hardirq form=headless ch=slab\n",
	  "bad.kvt:3: queue: form=headless needs ctx=task or kthread (see misuse-headless-atomic)" },
	{ "kvtorture-repro 1\nconfig\nqueue-loop cpu=0 ctx=task form=headless ch=slab mask=bh k=3\n",
	  "bad.kvt:3: queue-loop: form=headless needs mask=none (see misuse-headless-atomic)" },
	{ "kvtorture-repro 1\nconfig\nqueue-loop cpu=0 ctx=task form=head ch=slab mask=bh k=0\n",
	  "bad.kvt:3: queue-loop: k=0 out of range (1..64)" },
	{ "kvtorture-repro 1\nconfig\nreader-begin cpu=0 id=8\n",
	  "bad.kvt:3: reader-begin: id=8 out of range (0..7)" },
	{ "kvtorture-repro 1\nconfig\nadvance ns=1500\n",
	  "bad.kvt:3: advance: ns=1500 out of range (1 to 256 times 1000, 100000, 1000000 or "
	  "10000000)" },
	{ "kvtorture-repro 1\nconfig\nadvance ns=0\n",
	  "bad.kvt:3: advance: ns=0 out of range (1 to 256 times 1000, 100000, 1000000 or "
	  "10000000)" },
	{ "kvtorture-repro 1\nconfig\nadvance ns=2570000000\n",
	  "bad.kvt:3: advance: ns=2570000000 out of range (1 to 256 times 1000, 100000, 1000000 or "
	  "10000000)" },
	{ "kvtorture-repro 1\nconfig\nshrink-scan cpu=0 n=65536\n",
	  "bad.kvt:3: shrink-scan: n=65536 out of range (0..65535)" },
	{ "kvtorture-repro 1\nconfig\nfail-allocs n=99999999999999999999999\n",
	  "bad.kvt:3: fail-allocs: n=99999999999999999999999: not a number" },
	{ "kvtorture-repro 1\nconfig\nrun-pending\ngp-start now=1\n",
	  "bad.kvt:4: gp-start: unknown key 'now'" },
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct kvt_prog prog = { 0 };
		struct kvt_err err;
		char what[96];
		int ret;

		ret = kvt_prog_parse(bad_cases[i].text, strlen(bad_cases[i].text), "bad.kvt", &prog,
				     &err);
		snprintf(what, sizeof(what), "malformed case %zu is rejected", i);
		tap_ok(ret == -1 && prog.ops == NULL && prog.nr == 0, "%s", what);
		snprintf(what, sizeof(what), "malformed case %zu names FILE:LINE and the fault", i);
		tap_eq_str(err.msg, bad_cases[i].msg, what);
	}
	/* A NUL byte inside a line. */
	{
		static const char text[] = "kvtorture-repro 1\nconfig\ngp-st\0art\n";
		struct kvt_prog prog;
		struct kvt_err err;

		tap_ok(kvt_prog_parse(text, sizeof(text) - 1, "nul.kvt", &prog, &err) == -1,
		       "a NUL byte is rejected");
		tap_eq_str(err.msg, "nul.kvt:3: NUL byte in a text line", "NUL byte message");
	}
}

static uint64_t rng_state = 42;

static uint64_t rng(void)
{
	return splitmix64_next(&rng_state);
}

static void test_binary_round_trip(void)
{
	static uint8_t buf[KVT_MAX_INPUT + 64];
	unsigned int bad_enc = 0, bad_dec = 0, bad_text = 0, bad_bytes = 0;

	for (unsigned int iter = 0; iter < 2000; iter++) {
		size_t size = rng() % (iter < 1000 ? 80 : sizeof(buf));
		struct kvt_prog a, b, c;
		struct kvt_err err;
		uint8_t *bin, *bin2;
		size_t blen, blen2;
		const char *why;
		char *text;

		for (size_t i = 0; i < size; i++)
			buf[i] = (uint8_t)rng();
		kvt_prog_decode(buf, size, &a);
		if (!kvt_prog_encode(&a, &bin, &blen, &why)) {
			bad_enc++;
			kvt_prog_free(&a);
			continue;
		}
		kvt_prog_decode(bin, blen, &b);
		if (!same_prog(&a, &b))
			bad_dec++;
		/* binary -> decode -> print -> parse -> encode: the canonical bytes. */
		text = print_to_string(&a);
		if (kvt_prog_parse(text, strlen(text), "rt", &c, &err) != 0) {
			printf("#   %s\n", err.msg);
			bad_text++;
		} else if (!kvt_prog_encode(&c, &bin2, &blen2, &why)) {
			bad_text++;
		} else {
			if (blen2 != blen || memcmp(bin, bin2, blen) != 0)
				bad_bytes++;
			free(bin2);
			kvt_prog_free(&c);
		}
		free(text);
		free(bin);
		kvt_prog_free(&a);
		kvt_prog_free(&b);
	}
	tap_eq_u64(bad_enc, 0, "every decoded random input encodes");
	tap_eq_u64(bad_dec, 0, "decode -> encode -> decode is the identity");
	tap_eq_u64(bad_text, 0, "every decoded input prints to text that parses and encodes");
	tap_eq_u64(bad_bytes, 0, "binary -> text -> binary gives the canonical bytes");
}

static void test_truncated_binary(void)
{
	uint8_t buf[KVT_CONFIG_BYTES + 40 * KVT_OP_BYTES];
	size_t owned[41] = { 0 };	/* records with an owned opcode among the first n */
	struct kvt_prog full;
	unsigned int bad = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	/* Two records whose opcode byte no op owns yet: skipped. */
	buf[KVT_CONFIG_BYTES + 5 * KVT_OP_BYTES] = 0xff;
	buf[KVT_CONFIG_BYTES + 6 * KVT_OP_BYTES] = 0xd0;
	for (size_t n = 0; n < 40; n++)
		owned[n + 1] = owned[n] + (kvt_op_of_byte(buf[KVT_CONFIG_BYTES + n * KVT_OP_BYTES]) >= 0);
	kvt_prog_decode(buf, sizeof(buf), &full);
	tap_eq_u64(full.nr, owned[40], "full input decodes to its records with an owned opcode");
	tap_ok(owned[40] <= 38, "... and skips those without one");
	for (size_t len = 0; len <= sizeof(buf); len++) {
		struct kvt_prog part;
		size_t want = owned[len > KVT_CONFIG_BYTES ? (len - KVT_CONFIG_BYTES) / KVT_OP_BYTES : 0];

		kvt_prog_decode(buf, len, &part);
		if (part.nr != want ||
		    (len >= KVT_CONFIG_BYTES && memcmp(part.ops, full.ops, want * sizeof(*part.ops))))
			bad++;
		kvt_prog_free(&part);
	}
	tap_eq_u64(bad, 0, "every prefix decodes to the matching shorter program");

	/* Bytes past the cap are ignored. */
	{
		static uint8_t big[KVT_MAX_INPUT * 2];
		struct kvt_prog p;

		kvt_prog_decode(big, sizeof(big), &p);
		tap_eq_u64(p.nr, KVT_MAX_BINARY_OPS, "input beyond KVT_MAX_INPUT is ignored");
		kvt_prog_free(&p);
	}
	kvt_prog_free(&full);
}

static void test_not_encodable(void)
{
	static const char text[] = "kvtorture-repro 1\nconfig cpus=8\nqueue cpu=7 ctx=task form=head ch=slab\n";
	static const char text2[] = "kvtorture-repro 1\nconfig cpus=1 drain-ns=3000000\n";
	static const char text3[] = "kvtorture-repro 1\nconfig cpus=1 seed=5 irq-permille=10\n";
	struct kvt_prog p;
	struct kvt_err err;
	uint8_t *bin;
	size_t blen;
	const char *why = NULL;

	tap_ok(kvt_prog_parse(text, strlen(text), "t", &p, &err) == 0, "cpus=8 parses as text");
	tap_ok(!kvt_prog_encode(&p, &bin, &blen, &why) && bin == NULL, "cpus=8 does not encode");
	tap_eq_str(why, "cpus: the binary form holds 1..4", "and says why");
	kvt_prog_free(&p);
	tap_ok(kvt_prog_parse(text2, strlen(text2), "t", &p, &err) == 0 &&
	       !kvt_prog_encode(&p, &bin, &blen, &why), "a drain delay outside the table does not encode");
	kvt_prog_free(&p);
	tap_ok(kvt_prog_parse(text3, strlen(text3), "t", &p, &err) == 0 &&
	       !kvt_prog_encode(&p, &bin, &blen, &why), "exploration settings do not encode");
	{
		char line[512];

		kvt_config_format(&p.cfg, line, sizeof(line));
		tap_ok(strstr(line, " seed=5 irq-permille=10") != NULL, "exploration settings print");
	}
	kvt_prog_free(&p);
}

/*
 * Version 1 is written unless the program uses PCT: every file written
 * before PCT existed reads and prints the same; a PCT program is version 2
 * and keeps its settings through a round trip; pct-depth is text only, while
 * pct-change ops encode.
 */
static void test_versions(void)
{
	static const char v1[] = "kvtorture-repro 1\nconfig cpus=1\ngp-complete\n";
	static const char v2_plain[] = "kvtorture-repro 2\nconfig cpus=1\ngp-complete\n";
	static const char v2_pct[] =
		"kvtorture-repro 2\nconfig cpus=2 seed=9 pct-depth=3 pct-steps=500\n"
		"queue cpu=0 ctx=task form=head ch=slab\n";
	static const char v2_ops[] =
		"kvtorture-repro 2\n"
		"config cpus=1 policy=kernel page-entries=4 cache-pages=2 drain-ns=20000000 "
		"short-ns=1000000 refill-kick-ns=1000000 backoff-ns=10000000 watermark=4 "
		"rate-calls=16 rate-window-ns=10000000 gp=explicit gp-ns=5000000 pool-pages=2\n"
		"pct-change after=7\n"
		"queue cpu=0 ctx=task form=head ch=slab\n";
	struct kvt_prog p, q;
	struct kvt_err err;
	uint8_t *bin;
	size_t blen;
	const char *why = NULL;
	char *text;

	tap_ok(kvt_prog_parse(v1, strlen(v1), "t", &p, &err) == 0, "version 1 parses");
	text = print_to_string(&p);
	tap_ok(!strncmp(text, "kvtorture-repro 1\n", 18) && !kvt_prog_uses_pct(&p),
	       "a program without PCT prints as version 1");
	free(text);
	kvt_prog_free(&p);
	tap_ok(kvt_prog_parse(v2_plain, strlen(v2_plain), "t", &p, &err) == 0,
	       "version 2 without PCT parses");
	text = print_to_string(&p);
	tap_ok(!strncmp(text, "kvtorture-repro 1\n", 18), "... and prints as version 1");
	free(text);
	kvt_prog_free(&p);

	tap_ok(kvt_prog_parse(v2_pct, strlen(v2_pct), "t", &p, &err) == 0 && p.cfg.pct_depth == 3 &&
	       p.cfg.pct_steps == 500, "pct-depth and pct-steps parse");
	text = print_to_string(&p);
	tap_ok(!strncmp(text, "kvtorture-repro 2\n", 18) &&
	       strstr(text, " seed=9 pct-depth=3 pct-steps=500\n") != NULL,
	       "a PCT program prints as version 2 with its settings");
	tap_ok(kvt_prog_parse(text, strlen(text), "printed", &q, &err) == 0 && same_prog(&p, &q),
	       "and reads back the same");
	free(text);
	kvt_prog_free(&q);
	tap_ok(!kvt_prog_encode(&p, &bin, &blen, &why) && why && strstr(why, "pct-"),
	       "pct-depth does not encode (text only)");
	kvt_prog_free(&p);

	tap_ok(kvt_prog_parse(v2_ops, strlen(v2_ops), "t", &p, &err) == 0 && kvt_prog_uses_pct(&p),
	       "a pct-change op makes a PCT program");
	tap_ok(kvt_prog_encode(&p, &bin, &blen, &why) && bin[KVT_CONFIG_BYTES] == 0xd0 &&
	       bin[KVT_CONFIG_BYTES + 2] == 7, "pct-change encodes as byte 0xd0, after in b and c");
	kvt_prog_decode(bin, blen, &q);
	tap_ok(same_prog(&p, &q), "and decodes back");
	free(bin);
	kvt_prog_free(&q);
	kvt_prog_free(&p);
}

static void test_load(void)
{
	/* mkdtemp() wants six trailing template letters; spelled out at run time. */
	char dir[] = "/tmp/kvt-ops-______";
	char tpath[64], bpath[64], npath[64];
	struct kvt_prog a, t, b;
	struct kvt_err err;
	uint8_t *bin;
	size_t blen;
	const char *why;
	FILE *f;

	memset(dir + strlen(dir) - 6, 'X', 6);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(tpath, sizeof(tpath), "%s/a.kvt", dir);
	snprintf(bpath, sizeof(bpath), "%s/a.bin", dir);
	snprintf(npath, sizeof(npath), "%s/missing.kvt", dir);
	if (kvt_prog_parse(all_ops_text, strlen(all_ops_text), "all", &a, &err) ||
	    !kvt_prog_encode(&a, &bin, &blen, &why)) {
		printf("# setup failed\n");
		exit(99);
	}
	f = fopen(tpath, "w");
	fputs("# saved reproducer\n", f);
	kvt_prog_print(&a, f);
	fclose(f);
	f = fopen(bpath, "wb");
	fwrite(bin, 1, blen, f);
	fclose(f);

	tap_ok(kvt_prog_load(tpath, &t, &err) == 0 && same_prog(&a, &t), "load reads the text form");
	tap_ok(kvt_prog_load(bpath, &b, &err) == 0 && same_prog(&a, &b), "load reads the binary form");
	kvt_prog_free(&t);
	kvt_prog_free(&b);

	tap_ok(kvt_prog_load(npath, &t, &err) == -1, "load of a missing file fails");
	tap_ok(strncmp(err.msg, npath, strlen(npath)) == 0 && strstr(err.msg, "cannot open") != NULL,
	       "and the message names the file");
	printf("#   %s\n", err.msg);

	/* A '#'-led text file without the header is text, and wrong. */
	f = fopen(tpath, "w");
	fputs("# forgot the header\nconfig cpus=1\n", f);
	fclose(f);
	tap_ok(kvt_prog_load(tpath, &t, &err) == -1, "load of headerless text fails");
	{
		char want[128];

		snprintf(want, sizeof(want), "%s:2: missing header 'kvtorture-repro 1'", tpath);
		tap_eq_str(err.msg, want, "with the file and line");
	}

	/* The fd writer gives the same text as the FILE writer. */
	f = fopen(tpath, "w");
	tap_ok(kvt_prog_write_fd(&a, fileno(f)) == 0, "kvt_prog_write_fd succeeds");
	fclose(f);
	tap_ok(kvt_prog_load(tpath, &t, &err) == 0 && same_prog(&a, &t),
	       "kvt_prog_write_fd output loads back");
	kvt_prog_free(&t);

	unlink(tpath);
	unlink(bpath);
	rmdir(dir);
	free(bin);
	kvt_prog_free(&a);
}

static void test_random(void)
{
	struct kvt_prog a, b;
	bool covered[KVT_OP_NR] = { false };
	bool all = true;

	kvt_prog_random(&a, 7, 3000, KVT_POLICY_NOLOCKS);
	kvt_prog_random(&b, 7, 3000, KVT_POLICY_NOLOCKS);
	tap_ok(same_prog(&a, &b), "the same seed gives the same random program");
	tap_ok(a.cfg.policy == KVT_POLICY_NOLOCKS && kvt_config_invalid(&a.cfg) == NULL,
	       "random config is valid and has the asked policy");
	for (size_t i = 0; i < a.nr; i++)
		covered[a.ops[i].code] = true;
	for (unsigned int c = 0; c < KVT_OP_NR; c++)
		all &= covered[c] == (c <= KVT_OP_MISUSE_HEADLESS_ATOMIC);
	tap_ok(all, "3000 random ops cover every opcode of the first 26, and only those "
		    "(PCT is a setting there; the op set random seeds name is fixed)");
	kvt_prog_free(&b);
	kvt_prog_random(&b, 8, 3000, KVT_POLICY_NOLOCKS);
	tap_ok(!same_prog(&a, &b), "another seed gives another program");
	kvt_prog_free(&a);
	kvt_prog_free(&b);
}

int main(void)
{
	test_text_round_trip();
	test_comments_and_defaults();
	test_malformed();
	test_binary_round_trip();
	test_truncated_binary();
	test_not_encodable();
	test_versions();
	test_load();
	test_random();
	return tap_done();
}
