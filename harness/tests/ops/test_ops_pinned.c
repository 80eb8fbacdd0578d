/* SPDX-License-Identifier: MIT */
/*
 * test_ops_pinned.c - stored binary inputs keep their meaning.
 *
 * Fuzz corpora live for years (OSS-Fuzz keeps them), so the opcode byte table
 * of the binary form only ever grows (ops.c).  This test pins it: a handful of
 * fixed byte strings and the exact text each decodes to, the ops that own
 * each byte below 0xd0 by name, and that a byte no op owns yet is skipped.  A
 * change to the table that gives a byte another meaning fails here; adding an
 * op that takes an unowned byte does not.  TAP output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "prog_text.h"
#include "tap.h"

struct pinned {
	const char *name;
	size_t size;
	const char *bytes;
	const char *text;
};

/* Decoded and printed by the binary form as it was before the table (byte % 26). */
static const struct pinned pinned[] = {
	{
		/* corpus/fuzz-ops/misuse.bin, a stored seed (canonical bytes) */
		"p1", 40,
		"\x01\x00\x02\x02\x01\x00\x00\x01\x03\x05\x00\x04\x17\x00\x00\x00"
		"\x18\x01\x00\x00\x0d\x00\x01\x00\x19\x00\x00\x00\x19\x01\x0b\x00"
		"\x0a\x01\xc7\x00\x09\x00\x00\x00",
		"kvtorture-repro 1\n"
		"config cpus=2 policy=kernel page-entries=4 cache-pages=2"
		" drain-ns=10000000 short-ns=1000000 refill-kick-ns=0"
		" backoff-ns=10000000 watermark=4 rate-calls=16 rate-window-ns=10000000"
		" gp=explicit gp-ns=1000000 pool-pages=4\n"
		"misuse-double cpu=0 ctx=task ch=slab\n"
		"misuse-nmi cpu=1 ch=slab\n"
		"inject-nmi cpu=0 ch=vmalloc\n"
		"misuse-headless-atomic cpu=0 why=irqs-off ch=slab\n"
		"misuse-headless-atomic cpu=1 why=rcu-read ch=vmalloc\n"
		"advance ns=20000000\n"
		"gp-complete\n",
	},
	{
		/* every op by its canonical byte 0x00..0x19, arguments varied */
		"p2", 116,
		"\x03\x01\x04\x02\x02\x00\x01\x01\x03\x05\x02\x02\x00\x01\x02\x03"
		"\x01\x08\x0f\x20\x02\x0f\x1c\x3d\x03\x16\x29\x5a\x04\x1d\x36\x77"
		"\x05\x24\x43\x94\x06\x2b\x50\xb1\x07\x32\x5d\xce\x08\x39\x6a\xeb"
		"\x09\x40\x77\x08\x0a\x47\x84\x25\x0b\x4e\x91\x42\x0c\x55\x9e\x5f"
		"\x0d\x5c\xab\x7c\x0e\x63\xb8\x99\x0f\x6a\xc5\xb6\x10\x71\xd2\xd3"
		"\x11\x78\xdf\xf0\x12\x7f\xec\x0d\x13\x86\xf9\x2a\x14\x8d\x06\x47"
		"\x15\x94\x13\x64\x16\x9b\x20\x81\x17\xa2\x2d\x9e\x18\xa9\x3a\xbb"
		"\x19\xb0\x47\xd8",
		"kvtorture-repro 1\n"
		"config cpus=4 policy=watermark page-entries=6 cache-pages=2"
		" drain-ns=20000000 short-ns=1000000 refill-kick-ns=1000000"
		" backoff-ns=10000000 watermark=4 rate-calls=16 rate-window-ns=10000000"
		" gp=explicit gp-ns=2000000 pool-pages=2\n"
		"queue cpu=1 ctx=softirq form=head ch=slab\n"
		"retire cpu=0 ctx=hardirq form=head slot=0\n"
		"publish slot=7 ch=slab\n"
		"unpublish slot=6\n"
		"reader-begin cpu=1 id=6\n"
		"reader-deref id=4 slot=3\n"
		"reader-end id=3\n"
		"gp-start\n"
		"gp-try-end\n"
		"gp-complete\n"
		"advance ns=1330000000\n"
		"run-pending\n"
		"inject-irq cpu=1 ch=slab\n"
		"inject-nmi cpu=0 ch=vmalloc\n"
		"preempt cpu=3\n"
		"migrate cpu=2 to=1\n"
		"fail-allocs n=113\n"
		"shrink-count cpu=0\n"
		"shrink-scan cpu=3 n=3564\n"
		"barrier cpu=2 ctx=kthread\n"
		"cpu-offline cpu=1\n"
		"cpu-online cpu=0\n"
		"queue-loop cpu=3 ctx=task form=head ch=slab mask=none k=2\n"
		"misuse-double cpu=2 ctx=kthread ch=vmalloc\n"
		"misuse-nmi cpu=1 ch=slab\n"
		"misuse-headless-atomic cpu=0 why=preempt-off ch=slab\n",
	},
	{
		/* opcode bytes the first 26 ops own besides their canonical one */
		"p3", 52,
		"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x1a\x05\x11\xc8"
		"\x33\x2a\x6c\xfd\x34\x4f\xc7\x32\x4e\x74\x22\x67\x9c\x99\x7d\x9c"
		"\xb6\xbe\xd8\xd1\xcf\xe3\x33\x06\x68\x08\x8e\x3b\x82\x2d\xe9\x70"
		"\x2f\x52\x44\xa5",
		"kvtorture-repro 1\n"
		"config cpus=4 policy=kernel page-entries=508 cache-pages=3"
		" drain-ns=1000000000 short-ns=4000000 refill-kick-ns=100000000"
		" backoff-ns=1000000000 watermark=256 rate-calls=1024"
		" rate-window-ns=1000000000 gp=auto gp-ns=200000000 pool-pages=3\n"
		"queue cpu=1 ctx=kthread form=head ch=slab\n"
		"misuse-headless-atomic cpu=2 why=softirq ch=vmalloc\n"
		"queue cpu=3 ctx=hardirq form=head ch=slab\n"
		"queue cpu=0 ctx=softirq form=head ch=slab\n"
		"queue cpu=1 ctx=kthread form=headless ch=vmalloc\n"
		"queue cpu=2 ctx=task form=head ch=vmalloc\n"
		"misuse-headless-atomic cpu=3 why=rcu-read ch=slab\n"
		"queue cpu=0 ctx=softirq form=head ch=vmalloc\n"
		"queue cpu=1 ctx=kthread form=head ch=vmalloc\n"
		"cpu-online cpu=2\n",
	},
	{
		/* arguments out of range, a headless call in hardirq, a short tail */
		"p4", 47,
		"\x06\x05\x11\x0c\x09\x07\x05\x06\x0a\xfe\xfd\x0d\x00\xfe\x07\x0f"
		"\x01\x09\x0f\xff\x0a\x07\xff\x55\x12\xff\xff\xff\x16\x02\xff\xff"
		"\x19\x03\xff\x00\x0f\x05\x06\x00\x10\x00\x00\x00\x03\x01\x02",
		"kvtorture-repro 1\n"
		"config cpus=3 policy=nolocks page-entries=3 cache-pages=3"
		" drain-ns=10000000 short-ns=4000000 refill-kick-ns=1000000"
		" backoff-ns=100000000 watermark=2 rate-calls=64"
		" rate-window-ns=1000000000 gp=auto gp-ns=100000000 pool-pages=4\n"
		"queue cpu=2 ctx=hardirq form=head ch=slab\n"
		"retire cpu=0 ctx=hardirq form=head slot=7\n"
		"advance ns=2560000000\n"
		"shrink-scan cpu=0 n=65535\n"
		"queue-loop cpu=2 ctx=kthread form=head ch=vmalloc mask=irqs k=64\n"
		"misuse-headless-atomic cpu=0 why=preempt-off ch=vmalloc\n"
		"migrate cpu=2 to=0\n"
		"fail-allocs n=0\n",
	},
	{
		/* a short configuration, no record */
		"p5", 5,
		"\x01\x02\x03\x04\x05",
		"kvtorture-repro 1\n"
		"config cpus=2 policy=nolocks page-entries=5 cache-pages=4"
		" drain-ns=200000000 short-ns=1000000 refill-kick-ns=0 backoff-ns=0"
		" watermark=0 rate-calls=4 rate-window-ns=1000000 gp=explicit"
		" gp-ns=1000000 pool-pages=0\n",
	},
};

/* The ops that own bytes 0x00..0xcf, by name: byte b belongs to first_ops[b % 26]. */
static const char *const first_ops[26] = {
	"queue", "retire", "publish", "unpublish", "reader-begin", "reader-deref",
	"reader-end", "gp-start", "gp-try-end", "gp-complete", "advance", "run-pending",
	"inject-irq", "inject-nmi", "preempt", "migrate", "fail-allocs", "shrink-count",
	"shrink-scan", "barrier", "cpu-offline", "cpu-online", "queue-loop", "misuse-double",
	"misuse-nmi", "misuse-headless-atomic",
};

static void test_pinned_inputs(void)
{
	for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		const struct pinned *p = &pinned[i];
		struct kvt_prog prog, again;
		char what[96], *text, *text2;
		const char *why;
		uint8_t *bin;
		size_t len;

		kvt_prog_decode((const uint8_t *)p->bytes, p->size, &prog);
		text = print_to_string(&prog);
		snprintf(what, sizeof(what), "pinned %s decodes to its text", p->name);
		tap_eq_str(text, p->text, what);
		snprintf(what, sizeof(what), "pinned %s: its canonical bytes decode the same", p->name);
		if (!kvt_prog_encode(&prog, &bin, &len, &why)) {
			tap_ok(false, "%s", what);
		} else {
			kvt_prog_decode(bin, len, &again);
			text2 = print_to_string(&again);
			tap_eq_str(text2, p->text, what);
			free(text2);
			kvt_prog_free(&again);
			free(bin);
		}
		free(text);
		kvt_prog_free(&prog);
	}
}

static void test_byte_owners(void)
{
	unsigned int moved = 0, unowned_low = 0, no_byte = 0, skipped_wrong = 0;

	for (unsigned int b = 0; b < 0xd0; b++) {
		int op = kvt_op_of_byte((uint8_t)b);

		if (op < 0)
			unowned_low++;
		else if (strcmp(kvt_op_name((unsigned int)op), first_ops[b % 26]) != 0)
			moved++;
	}
	tap_eq_u64(unowned_low, 0, "bytes 0x00..0xcf all have an owner");
	tap_eq_u64(moved, 0, "bytes 0x00..0xcf keep their owners (byte % 26, by name)");
	for (unsigned int c = 0; c < KVT_OP_NR; c++) {
		int b = kvt_op_byte(c);

		if (b < 0 || kvt_op_of_byte((uint8_t)b) != (int)c)
			no_byte++;
		for (int lower = 0; b > 0 && lower < b; lower++)
			if (kvt_op_of_byte((uint8_t)lower) == (int)c)
				no_byte++;
	}
	tap_eq_u64(no_byte, 0, "every op owns a byte; its canonical byte is the lowest it owns");
	for (unsigned int b = 0; b < 256; b++) {
		uint8_t raw[KVT_OP_BYTES] = { (uint8_t)b, 1, 2, 3 };
		struct kvt_op op;

		if (kvt_op_of_byte((uint8_t)b) < 0 && kvt_op_decode(raw, 2, &op))
			skipped_wrong++;
		if (kvt_op_of_byte((uint8_t)b) >= 0 && !kvt_op_decode(raw, 2, &op))
			skipped_wrong++;
	}
	tap_eq_u64(skipped_wrong, 0, "a record is skipped exactly when no op owns its byte");
	/* Bytes taken after the table was made: each keeps its op from then on. */
	tap_ok(kvt_op_of_byte(0xd0) == KVT_OP_PCT_CHANGE &&
	       !strcmp(kvt_op_name(KVT_OP_PCT_CHANGE), "pct-change"), "byte 0xd0 is pct-change");
	tap_eq_u64(kvt_op_byte(KVT_OP_NR), (uint64_t)-1, "no byte for an op that does not exist");
}

static void test_unowned_skipped(void)
{
	/* A queue, every unowned byte as a record, a gp-complete; and without them. */
	static uint8_t with[KVT_CONFIG_BYTES + 258 * KVT_OP_BYTES];
	static const uint8_t without[KVT_CONFIG_BYTES + 2 * KVT_OP_BYTES] = {
		[KVT_CONFIG_BYTES + KVT_OP_BYTES] = 0x09,
	};
	struct kvt_prog a, b;
	char *text_a, *text_b;
	size_t n = 1;

	for (unsigned int byte = 0; byte < 256; byte++)
		if (kvt_op_of_byte((uint8_t)byte) < 0)
			with[KVT_CONFIG_BYTES + n++ * KVT_OP_BYTES] = (uint8_t)byte;
	with[KVT_CONFIG_BYTES + n++ * KVT_OP_BYTES] = 0x09;
	kvt_prog_decode(with, KVT_CONFIG_BYTES + n * KVT_OP_BYTES, &a);
	kvt_prog_decode(without, sizeof(without), &b);
	text_a = print_to_string(&a);
	text_b = print_to_string(&b);
	tap_eq_u64(a.nr, 2, "records with unowned opcode bytes decode to nothing");
	tap_eq_str(text_a, text_b, "... the program reads as if they were not there");
	free(text_a);
	free(text_b);
	kvt_prog_free(&a);
	kvt_prog_free(&b);
}

int main(void)
{
	test_pinned_inputs();
	test_byte_owners();
	test_unowned_skipped();
	return tap_done();
}
