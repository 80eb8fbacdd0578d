#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_extract.py - the kernel-section extraction step on synthetic trees.

usage: test_extract.py EXTRACT_SECTION_PY [MESON SOURCE_ROOT]    (TAP output)

The trees are made up here: a Makefile with a version and a tree.c holding a
stand-in "section" that has the landmarks extract_section.py looks for (the
batching constants, struct kfree_rcu_cpu, the functions the shim drives, a
batch init function far below), and a slab_common.c with the 6.14+ layout (the
section inside `#ifdef CONFIG_KVFREE_RCU_BATCHED`, module parameters and the
reclaim workqueue declared above it, the list layout).  None of it is kernel
code; it only has the shapes the extraction step recognises.  Patches
(-Dkernel_patch) are tested against these trees too; given MESON and the
source root, a `meson setup` with a patch that does not apply must fail at
configure time, naming the hunk.
"""
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

# The end of struct kfree_rcu_cpu and the per-CPU krc, the same in every layout.
KRC_TAIL = '''	atomic_t backoff_page_cache_fill;
	struct llist_head bkvcache;
	int nr_bkv_objs;
};

static DEFINE_PER_CPU(struct kfree_rcu_cpu, krc) = {
	.lock = SOME_STATIC_LOCK_INIT(krc.lock),
};
'''

# The shrinker callbacks, the same in every layout.
SHRINKER = '''
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
'''

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
%(krc_tail)s
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

%(shrinker)s
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
struct workqueue_struct;
#define queue_work(wq, work) ((void)0)
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


# The 6.14+ layout: mm/slab_common.c, the batched section under
# CONFIG_KVFREE_RCU_BATCHED with a simple fallback before it, file-scope
# parameters above the constants, list-based pages, per-channel counts,
# kfree_rcu_scheduler_running() in the middle and kvfree_rcu_init() last.
SLAB = '''
static int unrelated_above;

#ifndef CONFIG_KVFREE_RCU_BATCHED
void kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	simple_fallback_only(ptr);
}

void __init kvfree_rcu_init(void)
{
}
#else /* CONFIG_KVFREE_RCU_BATCHED */

static int rcu_min_cached_objs = 5;
module_param(rcu_min_cached_objs, int, 0444);
static int unused_parameter = 7;
static struct workqueue_struct *rcu_reclaim_wq;
struct made_up_thing *made_up_pointer;

#define KFREE_DRAIN_JIFFIES (5 * HZ)
#define KFREE_N_BATCHES 2
#define FREE_N_CHANNELS 2

struct kvfree_rcu_bulk_data {
	struct list_head list;
	unsigned long nr_records;
	void *records[];
};

struct kfree_rcu_cpu_work {
	struct rcu_work rcu_work;
	struct list_head bulk_head_free[FREE_N_CHANNELS];
};

struct kfree_rcu_cpu {
	struct rcu_head *head;
	atomic_t head_count;
	struct list_head bulk_head[FREE_N_CHANNELS];
	atomic_t bulk_count[FREE_N_CHANNELS];
	raw_spinlock_t lock;
%(krc_tail)s
static bool need_offload_krc(struct kfree_rcu_cpu *krcp)
{
	return !!krcp->head && rcu_min_cached_objs && made_up_pointer;
}

static void kfree_rcu_work(struct work_struct *work)
{
}

static void kfree_rcu_monitor(struct work_struct *work)
{
	queue_work(rcu_reclaim_wq, work);
}

void __init kfree_rcu_scheduler_running(void)
{
}
%(filler)s
void kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	might_sleep();
}

void kvfree_rcu_barrier(void)
{
}

%(shrinker)s
void __init kvfree_rcu_init(void)
{
	int cpu;
}

#endif /* CONFIG_KVFREE_RCU_BATCHED */
'''


def make_slab_tree(root, version=(6, 15, 2)):
    os.makedirs(os.path.join(root, 'mm'), exist_ok=True)
    with open(os.path.join(root, 'Makefile'), 'w') as f:
        f.write('VERSION = %d\nPATCHLEVEL = %d\nSUBLEVEL = %d\n' % version)
    with open(os.path.join(root, 'mm', 'slab_common.c'), 'w') as f:
        f.write(SLAB % {'filler': FILLER.replace('static int', 'static long'), 'shrinker': SHRINKER, 'krc_tail': KRC_TAIL})


def preprocesses(body, defines):
    """Whether the C preprocessor accepts @body (balanced conditionals), and its output."""
    cc = shutil.which('cc') or shutil.which('gcc') or shutil.which('clang')
    if not cc:
        return True, body
    p = subprocess.run([cc, '-E', '-P'] + ['-D%s' % d for d in defines] + ['-'],
                       input=body, capture_output=True, text=True)
    return p.returncode == 0, p.stdout + p.stderr


def slab_tests(script, tmp, compat):
    slab = os.path.join(tmp, 'slab')
    make_slab_tree(slab)
    out_dir = os.path.join(tmp, 's1')
    rc, out = run(script, slab, out_dir, compat)
    ok(rc == 0 and 'mm/slab_common.c' in out and 'list layout' in out and 'kvfree_rcu_init' in out,
       'the 6.14+ layout (mm/slab_common.c) is extracted (%s)' % out.strip())
    if rc != 0:
        return
    body = open(os.path.join(out_dir, 'kernel_section.c')).read()
    hdr = open(os.path.join(out_dir, 'kernel_section.h')).read()
    ok('kvfree_rcu_barrier' in body and 'kfree_rcu_shrink_scan' in body and 'unrelated_150' in body,
       'a kfree_rcu_scheduler_running() in the middle of the section does not cut it short')
    ok('static int rcu_min_cached_objs = 5;' in body and
       'static struct workqueue_struct *rcu_reclaim_wq;' in body,
       'file-scope declarations above the constants that the section uses are taken with it')
    ok('unused_parameter' not in body and 'made_up_thing *made_up_pointer;' not in body and
       'unrelated_above' not in body,
       'declarations the section does not use, or of types the compat layer lacks, stay out')
    ok('simple_fallback_only' not in body, 'the !CONFIG_KVFREE_RCU_BATCHED fallback stays out')
    good, text = preprocesses(body, ['CONFIG_KVFREE_RCU_BATCHED=1'])
    ok(good and 'kfree_rcu_shrink_scan' in text and 'kvfree_rcu_init' in text,
       'the enclosing #ifndef/#else is re-opened and closed: the section preprocesses, batched')
    good, text = preprocesses(body, [])
    ok(good and 'kfree_rcu_shrink_scan' not in text,
       'without CONFIG_KVFREE_RCU_BATCHED the extracted text preprocesses to nothing of the section')
    ok('#define KVT_K_LAYOUT_LIST 1' in hdr and '#define KVT_K_CHANNEL_COUNTS 1' in hdr and
       '#define KVT_K_HAS_BARRIER 1' in hdr and '#define KVT_K_BATCH_INIT kvfree_rcu_init' in hdr and
       '#define KVT_K_DEFINES_MIN_CACHED 1' in hdr,
       'list layout, per-channel counts, barrier and kvfree_rcu_init() are detected')


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def patch_tests(script, tmp, compat, tree, unpatched_body):
    """-Dkernel_patch: applied before extraction; a hunk that does not apply is refused."""
    tree_c = open(os.path.join(tree, 'kernel', 'rcu', 'tree.c')).read().split('\n')
    at = next(i for i, l in enumerate(tree_c) if 'return !!krcp->head;' in l)

    def hunk(first, old, new, path='kernel/rcu/tree.c', shift=0):
        ctx_before = tree_c[first - 2:first]
        ctx_after = tree_c[first + len(old):first + len(old) + 2]
        lines = ['--- a/%s' % path, '+++ b/%s' % path,
                 '@@ -%d,%d +%d,%d @@' % (first - 1 + shift, len(old) + 4, first - 1 + shift, len(new) + 4)]
        lines += [' ' + l for l in ctx_before] + ['-' + l for l in old] + ['+' + l for l in new]
        lines += [' ' + l for l in ctx_after]
        return '\n'.join(lines) + '\n'

    new_line = '\treturn !!krcp->head || krcp->count; /* patched */'
    fix = os.path.join(tmp, 'fix.patch')
    write(fix, hunk(at, [tree_c[at]], [new_line]))
    o7 = os.path.join(tmp, 'o7')
    p = subprocess.run([sys.executable, script, tree, o7, '--compat', compat, '--patch', fix],
                       capture_output=True, text=True)
    body = open(os.path.join(o7, 'kernel_section.c')).read() if p.returncode == 0 else ''
    hdr = open(os.path.join(o7, 'kernel_section.h')).read() if p.returncode == 0 else ''
    ok(p.returncode == 0 and new_line in body and tree_c[at] not in body and 'patched with' in p.stdout,
       'a patch is applied to the tree before the section is taken out (%s)' % p.stdout.strip())
    ok('#define KVT_K_PATCHES "fix.patch"' in hdr, 'the generated header names the patches applied')
    ok(body.split('\n')[2:] != unpatched_body.split('\n')[2:] and
       len(body.split('\n')) == len(unpatched_body.split('\n')),
       'the patched section differs from the unpatched one only where the patch says')

    moved = os.path.join(tmp, 'moved.patch')
    write(moved, hunk(at, [tree_c[at]], [new_line], shift=-20))
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o8'), '--compat', compat,
                        '--patch', moved], capture_output=True, text=True)
    ok(p.returncode == 0, 'a hunk whose line numbers are off applies where its context is (as patch(1))')

    # Numbered for a longer version of the file (a whole slab_common.c against
    # a tree that has less before the section): past the end of this one.
    beyond = os.path.join(tmp, 'beyond.patch')
    write(beyond, hunk(at, [tree_c[at]], [new_line], shift=len(tree_c) + 1000))
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o8b'), '--compat', compat,
                        '--patch', beyond], capture_output=True, text=True)
    ok(p.returncode == 0 and new_line in open(os.path.join(tmp, 'o8b', 'kernel_section.c')).read(),
       'a hunk numbered past the end of the file applies where its context is (%s)' % p.stderr.strip())

    bad = os.path.join(tmp, 'bad.patch')
    write(bad, hunk(at, ['\treturn !!krcp->tail;'], [new_line]))
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o9'), '--compat', compat,
                        '--patch', bad], capture_output=True, text=True)
    ok(p.returncode == 2 and 'bad.patch:3: hunk 1 does not apply to kernel/rcu/tree.c' in p.stderr and
       'return !!krcp->tail;' in p.stderr and not os.path.exists(os.path.join(tmp, 'o9')),
       'a hunk that does not apply fails with exit 2, naming the patch line, hunk and file, writing nothing')

    truncated = os.path.join(tmp, 'truncated.patch')
    write(truncated, '\n'.join(hunk(at, [tree_c[at]], [new_line]).split('\n')[:5]) + '\n')
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o10'), '--compat', compat,
                        '--patch', truncated], capture_output=True, text=True)
    ok(p.returncode == 2 and 'truncated.patch:3: truncated hunk' in p.stderr, 'a truncated patch is named as such')

    other = os.path.join(tmp, 'other.patch')
    write(other, hunk(at, [tree_c[at]], [new_line], path='mm/slub.c'))
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o11'), '--compat', compat,
                        '--patch', other], capture_output=True, text=True)
    ok(p.returncode == 2 and 'changes mm/slub.c' in p.stderr, 'a patch to a file the harness does not read is refused')

    notdiff = os.path.join(tmp, 'notdiff.patch')
    write(notdiff, 'this is not a diff\n')
    p = subprocess.run([sys.executable, script, tree, os.path.join(tmp, 'o12'), '--compat', compat,
                        '--patch', notdiff], capture_output=True, text=True)
    ok(p.returncode == 2 and 'notdiff.patch:1: not a unified diff' in p.stderr, 'a file that is not a diff is refused')

    p = subprocess.run([sys.executable, script, tree, o7, '--compat', compat],
                       capture_output=True, text=True)
    ok(p.returncode == 0 and 'patched' not in p.stdout and new_line not in open(os.path.join(o7, 'kernel_section.c')).read(),
       'dropping the patch re-extracts the unpatched section (the stamp covers patches)')


def configure_tests(meson, source_root, tmp, tree):
    """A -Dkernel_patch that does not apply fails `meson setup`, naming the hunk."""
    bad = os.path.join(tmp, 'bad.patch')
    build = os.path.join(tmp, 'build-badpatch')
    p = subprocess.run([meson, 'setup', build, source_root, '-Dkernel_src=' + tree,
                        '-Dkernel_patch=' + bad, '-Dstress=disabled'],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    ok(p.returncode != 0 and 'hunk 1 does not apply to kernel/rcu/tree.c' in out,
       'meson setup with a patch that does not apply fails at configure time, naming the hunk')
    p = subprocess.run([meson, 'setup', os.path.join(tmp, 'build-patchnosrc'), source_root,
                        '-Dkernel_patch=' + bad, '-Dstress=disabled'], capture_output=True, text=True)
    ok(p.returncode != 0 and '-Dkernel_patch needs -Dkernel_src' in p.stdout + p.stderr,
       'meson setup with -Dkernel_patch and no -Dkernel_src fails at configure time')


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
        make_tree(good, SECTION % {'extra_call': '', 'shrinker': SHRINKER, 'krc_tail': KRC_TAIL})
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
        make_tree(odd, SECTION % {'extra_call': 'frobnicate_percpu_widget(work);', 'shrinker': SHRINKER, 'krc_tail': KRC_TAIL})
        rc, out = run(script, odd, os.path.join(tmp, 'o3'), compat)
        ok(rc == 2 and 'does not provide: frobnicate_percpu_widget' in out,
           'a name missing from the compatibility layer is named')

        # A section without a function the shim drives.
        lacking = os.path.join(tmp, 'lacking')
        make_tree(lacking, (SECTION % {'extra_call': '', 'shrinker': SHRINKER, 'krc_tail': KRC_TAIL}).replace('kfree_rcu_shrink_scan', 'other_scan'))
        rc, out = run(script, lacking, os.path.join(tmp, 'o4'), compat)
        ok(rc == 2 and 'kfree_rcu_shrink_scan()' in out, 'a missing landmark function is named')

        # No batch init function.
        noinit = os.path.join(tmp, 'noinit')
        make_tree(noinit, SECTION % {'extra_call': '', 'shrinker': SHRINKER, 'krc_tail': KRC_TAIL}, with_init=False)
        rc, out = run(script, noinit, os.path.join(tmp, 'o5'), compat)
        ok(rc == 2 and 'batch init function' in out, 'a tree without the batch init function is refused')

        # Unreadable input.
        rc, out = run(script, os.path.join(tmp, 'nowhere'), os.path.join(tmp, 'o6'), compat)
        ok(rc == 99, 'a path that does not exist is a set-up error')

        slab_tests(script, tmp, compat)
        patch_tests(script, tmp, compat, good, body)
        if len(sys.argv) == 4:
            configure_tests(sys.argv[2], sys.argv[3], tmp, good)

    print('1..%d' % len(results))
    for i, (good_, name) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if good_ else 'not ok', i, name))
    return 0 if all(g for g, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
