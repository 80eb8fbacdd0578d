#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_extract.py - the kernel-section extraction step on synthetic trees.

usage: test_extract.py EXTRACT_SECTION_PY      (TAP output)

The trees are made up here: a Makefile with a version and a tree.c holding a
stand-in "section" that has the landmarks extract_section.py looks for (the
batching constants, struct kfree_rcu_cpu, the functions the shim drives, a
batch init function far below).  None of it is kernel code; it only has the
shapes the extraction step recognises.
"""
import os
import subprocess
import sys
import tarfile
import tempfile

FILLER = ''.join('static int unrelated_%d;\n' % i for i in range(300))

SECTION = '''
/* The batching delay. */
#define KFREE_DRAIN_JIFFIES (5 * HZ)
#define KFREE_N_BATCHES 2
#define FREE_N_CHANNELS 2

struct kvfree_rcu_bulk_data {
	unsigned long nr_records;
	struct kvfree_rcu_bulk_data *next;
	void *records[];
};

struct kfree_rcu_cpu_work {
	struct rcu_work rcu_work;
	struct rcu_head *head_free;
	struct kvfree_rcu_bulk_data *bkvhead_free[FREE_N_CHANNELS];
	struct kfree_rcu_cpu *krcp;
};

struct kfree_rcu_cpu {
	struct rcu_head *head;
	struct kvfree_rcu_bulk_data *bkvhead[FREE_N_CHANNELS];
	raw_spinlock_t lock;
	int count;
	atomic_t backoff_page_cache_fill;
	struct llist_head bkvcache;
	int nr_bkv_objs;
};

static DEFINE_PER_CPU(struct kfree_rcu_cpu, krc) = {
	.lock = SOME_STATIC_LOCK_INIT(krc.lock),
};

static bool need_offload_krc(struct kfree_rcu_cpu *krcp)
{
	return !!krcp->head;
}

static void kfree_rcu_work(struct work_struct *work)
{
	trace_made_up_event(work);
}

static void kfree_rcu_monitor(struct work_struct *work)
{
	%(extra_call)s
}

void kvfree_call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	might_sleep();
}

static unsigned long
kfree_rcu_shrink_count(struct shrinker *shrink, struct shrink_control *sc)
{
	return 0;
}

static unsigned long
kfree_rcu_shrink_scan(struct shrinker *shrink, struct shrink_control *sc)
{
	return 0;
}

void __init kfree_rcu_scheduler_running(void)
{
}
'''

INIT = '''
static void __init kfree_rcu_batch_init(void)
{
	int cpu;
}
'''

COMPAT = '''
#define HZ 1000
#define might_sleep() ((void)0)
#define DEFINE_PER_CPU(type, name) type name[4]
'''

results = []


def ok(cond, name):
    results.append((bool(cond), name))


def make_tree(root, section, with_init=True, version=(6, 1, 7)):
    os.makedirs(os.path.join(root, 'kernel', 'rcu'), exist_ok=True)
    with open(os.path.join(root, 'Makefile'), 'w') as f:
        f.write('VERSION = %d\nPATCHLEVEL = %d\nSUBLEVEL = %d\n' % version)
    with open(os.path.join(root, 'kernel', 'rcu', 'tree.c'), 'w') as f:
        f.write('/* unrelated code above */\n' + section + FILLER + (INIT if with_init else ''))


def run(script, src, out, compat):
    p = subprocess.run([sys.executable, script, src, out, '--compat', compat],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def main():
    script = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        compat = os.path.join(tmp, 'compat.h')
        with open(compat, 'w') as f:
            f.write(COMPAT)

        # Not a kernel tree at all.
        empty = os.path.join(tmp, 'empty')
        os.makedirs(empty)
        rc, out = run(script, empty, os.path.join(tmp, 'o0'), compat)
        ok(rc == 2 and 'KFREE_DRAIN_JIFFIES' in out, 'a folder without the section is refused, naming the landmark')

        # A complete stand-in section, from a folder.
        good = os.path.join(tmp, 'good')
        make_tree(good, SECTION % {'extra_call': ''})
        o1 = os.path.join(tmp, 'o1')
        rc, out = run(script, good, o1, compat)
        ok(rc == 0 and 'kernel 6.1.7' in out, 'a complete section is extracted (%s)' % out.strip())
        body = open(os.path.join(o1, 'kernel_section.c')).read() if rc == 0 else ''
        hdr = open(os.path.join(o1, 'kernel_section.h')).read() if rc == 0 else ''
        ok('SOME_STATIC_LOCK_INIT' not in body and 'DEFINE_PER_CPU(struct kfree_rcu_cpu, krc);' in body,
           'the per-CPU static lock initializer is the one rewrite')
        ok('unrelated_150' not in body and 'kfree_rcu_batch_init' in body,
           'the far-away init function is taken alone, without the code in between')
        ok('#define KVT_K_LAYOUT_LIST 0' in hdr and '#define KVT_K_CALL_OFFSET 1' in hdr and
           '#define KVT_K_CHANNEL_COUNTS 0' in hdr, 'the chain layout and offset calling convention are detected')
        ok('#define trace_made_up_event(...) ((void)0)' in hdr, 'tracepoints become no-ops')
        ok('#define KVT_K_VERSION "6.1.7"' in hdr, 'the version is taken from the Makefile')

        # The same tree as a tarball, read in place.
        tarball = os.path.join(tmp, 'linux-source-test.tar.xz')
        with tarfile.open(tarball, 'w:xz') as tar:
            tar.add(good, arcname='linux-source-test')
        o2 = os.path.join(tmp, 'o2')
        rc, out = run(script, tarball, o2, compat)
        ok(rc == 0 and open(os.path.join(o2, 'kernel_section.c')).read().split('\n', 1)[1] == body.split('\n', 1)[1],
           'a tarball gives the same section as the folder')
        rc2, out2 = run(script, tarball, o2, compat)
        ok(rc2 == 0 and out2 == out, 'a second run reuses the extraction (same summary)')

        # A function the compatibility layer does not know.
        odd = os.path.join(tmp, 'odd')
        make_tree(odd, SECTION % {'extra_call': 'frobnicate_percpu_widget(work);'})
        rc, out = run(script, odd, os.path.join(tmp, 'o3'), compat)
        ok(rc == 2 and 'does not provide: frobnicate_percpu_widget' in out,
           'a name missing from the compatibility layer is named')

        # A section without a function the shim drives.
        lacking = os.path.join(tmp, 'lacking')
        make_tree(lacking, (SECTION % {'extra_call': ''}).replace('kfree_rcu_shrink_scan', 'other_scan'))
        rc, out = run(script, lacking, os.path.join(tmp, 'o4'), compat)
        ok(rc == 2 and 'kfree_rcu_shrink_scan()' in out, 'a missing landmark function is named')

        # No batch init function.
        noinit = os.path.join(tmp, 'noinit')
        make_tree(noinit, SECTION % {'extra_call': ''}, with_init=False)
        rc, out = run(script, noinit, os.path.join(tmp, 'o5'), compat)
        ok(rc == 2 and 'batch init function' in out, 'a tree without the batch init function is refused')

        # Unreadable input.
        rc, out = run(script, os.path.join(tmp, 'nowhere'), os.path.join(tmp, 'o6'), compat)
        ok(rc == 99, 'a path that does not exist is a set-up error')

    print('1..%d' % len(results))
    for i, (good_, name) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if good_ else 'not ok', i, name))
    return 0 if all(g for g, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
