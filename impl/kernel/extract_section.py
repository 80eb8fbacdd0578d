#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""extract_section.py - take the kvfree_rcu section out of a kernel tree.

usage: extract_section.py KERNEL_SRC OUTDIR [--compat HEADER]... [--patch FILE]...

KERNEL_SRC is a kernel source folder or a tarball of one (for example
/usr/src/linux-source-6.1.tar.xz, read in place: only the few files needed are
taken out of it).  The section lives in kernel/rcu/tree.c up to 6.13 and in
mm/slab_common.c from 6.14 on; it is found by its stable landmarks: from the
batching constants (#define KFREE_DRAIN_JIFFIES) through the batch init
function (kfree_rcu_batch_init(), or kvfree_rcu_init() from 6.12 on).  When
unrelated code sits between the section and its init function (tree.c), the
init function is taken on its own.  File-scope variables the section uses
but that the file declares above it (the module parameters, the reclaim
workqueue pointer) are taken with it, one declaration line each, and the
preprocessor conditionals that enclose the section's first line (6.15's
`#ifdef CONFIG_KVFREE_RCU_BATCHED`) are re-opened around it so that the
extracted text is balanced.

Each --patch FILE is a unified diff (`diff -u`, `git diff`, `git
format-patch`) against the kernel tree, paths as in the tree with or without
a leading a/ and b/ component.  The patches are applied in order to the
files read from the tree, before the section is taken out, so a proposed
kernel fix is compiled and run exactly as a kernel developer would apply it.
A hunk whose context is not found (at its line or anywhere else in the file)
fails the extraction, naming the patch, the hunk and the line at fault.

Writes into OUTDIR:
  kernel_section.c  the section, with one rewrite: the static initializer of
                    the per-CPU krc (its raw lock) is dropped, because the
                    harness initializes every CPU's lock at kvfree_rcu_init();
  kernel_section.h  what was detected: the version, the layout of the
                    per-CPU state, the calling convention, which functions the
                    section has, and a no-op for each tracepoint it calls.
Nothing is written into the project's source tree.

Every compat HEADER given is read for the names it provides; a name the
section calls that neither it nor the headers define is reported as missing.

Exit status: 0 on success, 2 when the tree cannot be used or a patch does not
apply (the message says what is missing, or names the patch, hunk and line),
99 when the tree or a patch cannot be read.
"""
import hashlib
import os
import re
import sys
import tarfile

WANTED = ('Makefile', 'kernel/rcu/tree.c', 'mm/slab_common.c')

# Functions and fields the shim drives; their absence means an unsupported tree.
REQUIRED = [
    ('struct kfree_rcu_cpu', r'\bstruct\s+kfree_rcu_cpu\s*\{'),
    ('struct kfree_rcu_cpu_work', r'\bstruct\s+kfree_rcu_cpu_work\s*\{'),
    ('the per-CPU krc', r'DEFINE_PER_CPU\(\s*struct\s+kfree_rcu_cpu\s*,\s*krc\s*\)'),
    ('kvfree_call_rcu()', r'^void\s+kvfree_call_rcu\s*\('),
    ('kfree_rcu_monitor()', r'\bkfree_rcu_monitor\s*\(\s*struct\s+work_struct'),
    ('kfree_rcu_work()', r'\bkfree_rcu_work\s*\(\s*struct\s+work_struct'),
    ('kfree_rcu_shrink_count()', r'\bkfree_rcu_shrink_count\s*\(\s*struct\s+shrinker'),
    ('kfree_rcu_shrink_scan()', r'\bkfree_rcu_shrink_scan\s*\(\s*struct\s+shrinker'),
    ('need_offload_krc()', r'\bneed_offload_krc\s*\('),
    ('the page cache (bkvcache, nr_bkv_objs)', r'\bbkvcache\b[\s\S]*\bnr_bkv_objs\b'),
    ('the backoff flag (backoff_page_cache_fill)', r'\bbackoff_page_cache_fill\b'),
]

C_WORDS = set('''auto break case char const continue default do double else enum extern
float for goto if inline int long register restrict return short signed sizeof static
struct switch typedef union unsigned void volatile while _Bool bool true false NULL
__typeof__ typeof __builtin_expect defined'''.split())


def die(code, msg):
    sys.stderr.write('kernel_src: %s\n' % msg)
    sys.exit(code)


def read_tree(src):
    """Return {relative path: text} for the WANTED files of a folder or tarball."""
    files = {}
    if os.path.isdir(src):
        for rel in WANTED:
            p = os.path.join(src, rel)
            if os.path.isfile(p):
                with open(p, encoding='utf-8', errors='replace') as f:
                    files[rel] = f.read()
        return files
    if not os.path.isfile(src):
        die(99, '%s: no such folder or file' % src)
    try:
        # Stream mode: one pass over the archive, no index, nothing else kept.
        with tarfile.open(src, mode='r|*') as tar:
            for m in tar:
                if not m.isfile():
                    continue
                parts = m.name.split('/', 1)
                rel = parts[1] if len(parts) == 2 and parts[0] not in ('kernel', 'mm') else m.name
                if rel in WANTED and rel not in files:
                    data = tar.extractfile(m).read()
                    files[rel] = data.decode('utf-8', errors='replace')
                    if len(files) == len(WANTED):
                        break
    except (tarfile.TarError, OSError, EOFError) as e:
        die(99, '%s: cannot read the archive: %s' % (src, e))
    return files


def stamp_of(src, compat, patches):
    """What the output depends on: the tree (path, size, time), the inputs, the patches' text."""
    parts = [os.path.abspath(src)]
    paths = [src] if not os.path.isdir(src) else [os.path.join(src, w) for w in WANTED]
    for p in paths + [os.path.abspath(__file__)] + list(compat):
        try:
            st = os.stat(p)
            parts.append('%s:%d:%d' % (p, st.st_size, int(st.st_mtime)))
        except OSError:
            parts.append('%s:-' % p)
    for p in patches:
        with open(p, 'rb') as f:
            parts.append('patch %s:%s' % (os.path.abspath(p), hashlib.sha256(f.read()).hexdigest()))
    return '|'.join(parts)


class PatchError(Exception):
    """A patch that cannot be read or applied: (exit code, message)."""

    def __init__(self, code, msg):
        Exception.__init__(self, msg)
        self.code = code


HUNK_RE = re.compile(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@')


def tree_path(name):
    """A diff's file name as a path in the tree: strip a/ b/ and timestamps."""
    name = name.split('\t', 1)[0].strip()
    if name == '/dev/null':
        return None
    if name.startswith(('a/', 'b/')):
        name = name[2:]
    return name


def parse_patch(path):
    """[(tree path, [(hunk header line no, old_start, old_lines, new_lines)])]."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
    except OSError as e:
        raise PatchError(99, '%s: cannot read the patch: %s' % (path, e.strerror))
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    files, i = [], 0
    while i < len(lines):
        if not (lines[i].startswith('--- ') and i + 1 < len(lines) and lines[i + 1].startswith('+++ ')):
            i += 1
            continue
        target = tree_path(lines[i + 1][4:]) or tree_path(lines[i][4:])
        if target is None:
            raise PatchError(2, '%s:%d: the patch creates or deletes a file; only changes '
                             'to kernel files are applied' % (path, i + 1))
        hunks, i = [], i + 2
        while i < len(lines) and lines[i].startswith('@@'):
            m = HUNK_RE.match(lines[i])
            if not m:
                raise PatchError(2, '%s:%d: malformed hunk header: %s' % (path, i + 1, lines[i]))
            header_line = i + 1
            want_old = int(m.group(2)) if m.group(2) is not None else 1
            want_new = int(m.group(4)) if m.group(4) is not None else 1
            old, new, i = [], [], i + 1
            while i < len(lines) and (len(old) < want_old or len(new) < want_new):
                l = lines[i]
                if l.startswith('\\'):		# "\ No newline at end of file"
                    i += 1
                    continue
                tag, rest = (l[:1], l[1:]) if l else (' ', '')
                if tag == ' ':
                    old.append(rest)
                    new.append(rest)
                elif tag == '-':
                    old.append(rest)
                elif tag == '+':
                    new.append(rest)
                else:
                    break
                i += 1
            if len(old) != want_old or len(new) != want_new:
                raise PatchError(2, '%s:%d: truncated hunk: the header promises %d old and %d '
                                 'new lines, the patch has %d and %d'
                                 % (path, header_line, want_old, want_new, len(old), len(new)))
            while i < len(lines) and lines[i].startswith('\\'):
                i += 1
            hunks.append((header_line, int(m.group(1)), old, new))
        if not hunks:
            raise PatchError(2, '%s:%d: no hunk follows the file header for %s' % (path, i, target))
        files.append((target, hunks))
    if not files:
        raise PatchError(2, '%s:1: not a unified diff (no ---/+++ file header found)' % path)
    return files


def apply_patch(path, files):
    """Apply the patch at @path to @files ({tree path: text}) in place."""
    for target, hunks in parse_patch(path):
        if target not in files:
            raise PatchError(2, '%s: changes %s, which the harness does not read (it reads %s)'
                             % (path, target, ', '.join(w for w in WANTED if w != 'Makefile')))
        lines = files[target].split('\n')
        shift = 0
        for n, (header_line, old_start, old, new) in enumerate(hunks, 1):
            want = max(old_start - 1 + shift, 0)
            at = None
            # At its line first, then the nearest offset either way (as patch(1) does, no fuzz),
            # as far as the whole file: its line may lie past the end of this one.
            for d in range(0, max(want, len(lines)) + 1):
                for cand in ((want + d, want - d) if d else (want,)):
                    if 0 <= cand <= len(lines) - len(old) and lines[cand:cand + len(old)] == old:
                        at = cand
                        break
                if at is not None:
                    break
            if at is None:
                near = lines[want:want + len(old)]
                diff = next((k for k in range(len(old)) if k >= len(near) or near[k] != old[k]), 0)
                raise PatchError(2, '%s:%d: hunk %d does not apply to %s: its context is not in '
                                 'the file (at line %d the patch expects "%s", the tree has "%s")'
                                 % (path, header_line, n, target, want + diff + 1,
                                    old[diff] if diff < len(old) else '',
                                    near[diff] if diff < len(near) else '<end of file>'))
            lines[at:at + len(old)] = new
            shift += (at - (old_start - 1 + shift)) + len(new) - len(old)
        files[target] = '\n'.join(lines)


def brace_depths(clean_lines):
    """The brace depth at the start of every line (comments and strings blanked)."""
    depths, depth = [], 0
    for l in clean_lines:
        depths.append(depth)
        depth += l.count('{') - l.count('}')
    return depths


# A one-line file-scope variable of a simple type (what the module parameters
# and the workqueue pointer are); the struct must be one the compat layer knows.
OUTSIDE_DECL_RE = re.compile(
    r'^(?:static\s+)?(?:const\s+)?(?:(?:unsigned\s+)?(?:int|long|bool|char)|unsigned|'
    r'struct\s+(\w+)\s*\*)\s*(\w+)\s*(?:=\s*[^;{}()]*)?;\s*$')


def outside_declarations(lines, clean, depths, pieces, body_clean, known):
    """Indexes of the file-scope declarations above or between the pieces that the section uses."""
    inside = set()
    for a, b in pieces:
        inside.update(range(a, b + 1))
    section_top = set()
    for i in inside:
        m = OUTSIDE_DECL_RE.match(clean[i])
        if m and depths[i] == 0:
            section_top.add(m.group(2))
    # Struct tags are not variables: `struct kmem_cache *s` does not use `kmem_cache`.
    used = set(re.findall(r'\b[A-Za-z_]\w*\b', re.sub(r'\b(?:struct|union|enum)\s+\w+', ' ', body_clean)))
    out = []
    for i in range(0, pieces[-1][1]):
        if i in inside or depths[i] != 0:
            continue
        m = OUTSIDE_DECL_RE.match(clean[i])
        if not m or m.group(2) not in used or m.group(2) in section_top:
            continue
        if m.group(1) and m.group(1) not in known:
            continue
        out.append(i)
    return out


PP_IF_RE = re.compile(r'^\s*#\s*(if|ifdef|ifndef)\b')
PP_ELSE_RE = re.compile(r'^\s*#\s*(else|elif)\b')
PP_ENDIF_RE = re.compile(r'^\s*#\s*endif\b')


def open_conditionals(lines, clean, upto):
    """The #if/#elif lines (as text) still open at line index @upto."""
    stack = []
    for i in range(upto):
        if PP_IF_RE.match(clean[i]):
            stack.append([lines[i]])
        elif PP_ELSE_RE.match(clean[i]) and stack:
            stack[-1].append(lines[i])
        elif PP_ENDIF_RE.match(clean[i]) and stack:
            stack.pop()
    return stack


def balance_conditionals(section_lines, opened):
    """Re-open the enclosing conditionals before the text and close what stays open after."""
    depth = len(opened)
    prefix = []
    for chain in opened:
        prefix.extend(chain)
    for l in section_lines:
        if PP_IF_RE.match(l):
            depth += 1
        elif PP_ENDIF_RE.match(l):
            depth -= 1
    return prefix, ['#endif /* kvtorture: closes what the section left open */'] * max(depth, 0)


def kernel_version(makefile):
    v = {}
    for key in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL'):
        m = re.search(r'^%s\s*=\s*(\d+)' % key, makefile or '', re.M)
        v[key] = int(m.group(1)) if m else None
    if v['VERSION'] is None or v['PATCHLEVEL'] is None:
        return None
    return (v['VERSION'], v['PATCHLEVEL'], v['SUBLEVEL'] or 0)


def strip_comments_and_strings(text):
    """Blank comments and string/char literals, keeping line structure."""
    def blank(m):
        return re.sub(r'[^\n]', ' ', m.group(0))
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(blank, text)


def function_span(lines, clean_lines, name_re, start=0):
    """(first, last) line indexes of the first function definition matching name_re."""
    pat = re.compile(name_re)
    for i in range(start, len(lines)):
        if not pat.search(clean_lines[i]):
            continue
        # A definition: the opening brace comes before any ';'.
        depth, seen_open = 0, False
        for j in range(i, len(lines)):
            for ch in clean_lines[j]:
                if ch == ';' and not seen_open:
                    break
                if ch == '{':
                    depth += 1
                    seen_open = True
                elif ch == '}':
                    depth -= 1
                    if seen_open and depth == 0:
                        first = i
                        # Take the return type on the line above (kernel style).
                        if i > 0 and re.match(r'^(static\s+)?[A-Za-z_][\w\s\*]*$', clean_lines[i - 1]) \
                                and clean_lines[i - 1].strip() and not clean_lines[i - 1].rstrip().endswith(';'):
                            first = i - 1
                        return first, j
            else:
                continue
            break
    return None


def compat_names(headers):
    names = set()
    for h in headers:
        with open(h, encoding='utf-8') as f:
            names.update(re.findall(r'\b[A-Za-z_]\w*\b', strip_comments_and_strings(f.read())))
    return names


def main(argv):
    args, compat, patches = [], [], []
    i = 1
    while i < len(argv):
        if argv[i] in ('--compat', '--patch') and i + 1 < len(argv):
            (compat if argv[i] == '--compat' else patches).append(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) != 2:
        die(2, 'usage: extract_section.py KERNEL_SRC OUTDIR [--compat HEADER]... [--patch FILE]...')
    src, outdir = args
    for p in patches:
        if not os.path.isfile(p):
            die(2, '%s: no such patch file' % p)

    # Reconfiguring reads a tarball again only when it, a patch, or this script changed.
    stamp_path = os.path.join(outdir, 'kernel_section.stamp')
    stamp = stamp_of(src, compat, patches)
    if os.path.isfile(stamp_path) and all(
            os.path.isfile(os.path.join(outdir, n)) for n in ('kernel_section.c', 'kernel_section.h')):
        with open(stamp_path, encoding='utf-8') as f:
            old = f.read().split('\n', 1)
        if old[0] == stamp and len(old) == 2:
            print(old[1].strip())
            return 0

    files = read_tree(src)
    version = kernel_version(files.get('Makefile'))
    vtext = '%d.%d.%d' % version if version else 'unknown version'
    for p in patches:
        try:
            apply_patch(p, files)
        except PatchError as e:
            die(e.code, '%s (kernel %s): %s' % (src, vtext, e))

    rel = None
    for cand in ('mm/slab_common.c', 'kernel/rcu/tree.c'):
        if cand in files and re.search(r'^#define\s+KFREE_DRAIN_JIFFIES\b', files[cand], re.M):
            rel = cand
            break
    if rel is None:
        have = ', '.join(sorted(k for k in files if k != 'Makefile')) or 'neither file'
        die(2, '%s (kernel %s): no kvfree_rcu batching section found: neither '
            'kernel/rcu/tree.c nor mm/slab_common.c defines KFREE_DRAIN_JIFFIES (found: %s). '
            'Batching arrived in 5.6; a kernel tree or linux-source tarball is expected.'
            % (src, vtext, have))

    text = files[rel]
    lines = text.split('\n')
    clean = strip_comments_and_strings(text).split('\n')

    start = next(i for i, l in enumerate(clean) if re.match(r'^#define\s+KFREE_DRAIN_JIFFIES\b', l))
    # Keep the comment right above the constant with it.
    while start > 0 and lines[start - 1].lstrip().startswith(('/*', '*', '//')):
        start -= 1

    init_name = None
    init_span = None
    for name in ('kfree_rcu_batch_init', 'kvfree_rcu_init'):
        span = function_span(lines, clean, r'\b%s\s*\(\s*void\s*\)' % name, start)
        if span:
            init_name, init_span = name, span
            break
    if not init_span:
        die(2, '%s (kernel %s): %s has no batch init function after the batching '
            'constants (kfree_rcu_batch_init() or kvfree_rcu_init())' % (src, vtext, rel))

    # tree.c ends the section with kfree_rcu_scheduler_running() and the RCU
    # core follows before the init function; slab_common.c keeps that function
    # in the middle of the section.  Split only when nothing the harness
    # drives lies in between.
    sched = function_span(lines, clean, r'\bkfree_rcu_scheduler_running\s*\(\s*void\s*\)', start)
    gap = '\n'.join(clean[sched[1] + 1:init_span[0]]) if sched and sched[1] < init_span[0] else ''
    if gap.count('\n') > 200 and not any(re.search(pat, gap, re.M) for _, pat in REQUIRED):
        pieces = [(start, sched[1]), init_span]
    else:
        pieces = [(start, init_span[1])]

    def assemble(spans):
        out = []
        for a, b in spans:
            prefix, suffix = balance_conditionals(lines[a:b + 1], open_conditionals(lines, clean, a))
            out.extend(prefix)
            out.append('#line %d "%s/%s"' % (a + 1, 'KERNEL_SRC', rel))
            out.extend(lines[a:b + 1])
            out.extend(suffix)
        return '\n'.join(out) + '\n'

    body_clean = strip_comments_and_strings(assemble(pieces))
    known = compat_names(compat) if compat else set()
    decls = outside_declarations(lines, clean, brace_depths(clean), pieces, body_clean, known)
    pieces = [(d, d) for d in decls] + pieces
    body = assemble(pieces)
    body_clean = strip_comments_and_strings(body)

    missing = [what for what, pat in REQUIRED if not re.search(pat, body_clean, re.M)]
    if missing:
        die(2, '%s (kernel %s, %s): the kvfree_rcu section lacks what the harness drives: %s'
            % (src, vtext, rel, '; '.join(missing)))

    # The one rewrite: the per-CPU state's static lock initializer.
    body, n = re.subn(r'(static\s+DEFINE_PER_CPU\(\s*struct\s+kfree_rcu_cpu\s*,\s*krc\s*\))\s*=\s*\{[^;]*?\};',
                      r'\1; /* kvtorture: lock initialized by the harness */', body, flags=re.S)
    if n != 1 and not re.search(r'static\s+DEFINE_PER_CPU\(\s*struct\s+kfree_rcu_cpu\s*,\s*krc\s*\)\s*;', body):
        die(2, '%s (kernel %s): the per-CPU krc definition has an unexpected form' % (src, vtext))
    body_clean = strip_comments_and_strings(body)

    # Layout of the per-CPU state.
    krc_struct = re.search(r'struct\s+kfree_rcu_cpu\s*\{(.*?)\n\};', body_clean, re.S).group(1)
    krw_struct = re.search(r'struct\s+kfree_rcu_cpu_work\s*\{(.*?)\n\};', body_clean, re.S).group(1)
    feats = {}
    if re.search(r'struct\s+list_head\s+bulk_head\s*\[', krc_struct):
        feats['KVT_K_LAYOUT_LIST'] = 1
    elif re.search(r'struct\s+kvfree_rcu_bulk_data\s*\*\s*bkvhead\s*\[', krc_struct):
        feats['KVT_K_LAYOUT_LIST'] = 0
    else:
        die(2, '%s (kernel %s): struct kfree_rcu_cpu has neither bulk_head[] (list) nor '
            'bkvhead[] (chain) bulk channels' % (src, vtext))
    free_field = 'bulk_head_free' if feats['KVT_K_LAYOUT_LIST'] else 'bkvhead_free'
    if not re.search(r'\b%s\s*\[' % free_field, krw_struct):
        die(2, '%s (kernel %s): struct kfree_rcu_cpu_work lacks %s[]' % (src, vtext, free_field))
    if re.search(r'\bbulk_count\s*\[', krc_struct) and re.search(r'\bhead_count\b', krc_struct):
        feats['KVT_K_CHANNEL_COUNTS'] = 1
    elif re.search(r'\bint\s+count\s*;', krc_struct):
        feats['KVT_K_CHANNEL_COUNTS'] = 0
    else:
        die(2, '%s (kernel %s): struct kfree_rcu_cpu has neither count nor '
            'bulk_count[]/head_count' % (src, vtext))
    if re.search(r'^void\s+kvfree_call_rcu\s*\(\s*struct\s+rcu_head\s*\*\s*\w+\s*,\s*rcu_callback_t', body_clean, re.M):
        feats['KVT_K_CALL_OFFSET'] = 1
    elif re.search(r'^void\s+kvfree_call_rcu\s*\(\s*struct\s+rcu_head\s*\*\s*\w+\s*,\s*void\s*\*', body_clean, re.M):
        feats['KVT_K_CALL_OFFSET'] = 0
    else:
        die(2, '%s (kernel %s): kvfree_call_rcu() has an unknown signature' % (src, vtext))
    feats['KVT_K_HAS_BARRIER'] = int(bool(re.search(r'^void\s+kvfree_rcu_barrier\s*\(\s*void\s*\)', body_clean, re.M)))
    feats['KVT_K_HAS_DRAIN_PAGE_CACHE'] = int(bool(re.search(r'\bdrain_page_cache\s*\(\s*struct', body_clean)))
    feats['KVT_K_DEFINES_MIN_CACHED'] = int(bool(re.search(r'\bint\s+rcu_min_cached_objs\s*=', body_clean)))
    feats['KVT_K_DEFINES_FILL_DELAY'] = int(bool(re.search(r'\bint\s+rcu_delay_page_cache_fill_msec\s*=', body_clean)))
    feats['KVT_K_HRTIMER_IN_INIT'] = int(bool(re.search(r'hrtimer_(setup|init)\s*\(', '\n'.join(lines[init_span[0]:init_span[1] + 1]))))

    tracepoints = sorted(set(re.findall(r'\b(trace_\w+)\s*\(', body_clean)))

    # Names the section calls that nobody defines.
    if compat:
        provided = compat_names(compat) | C_WORDS | set(tracepoints)
        defined = set(re.findall(r'\b([A-Za-z_]\w*)\s*\(', body_clean)) & set(
            re.findall(r'^(?:static\s+)?(?:inline\s+)?(?:__always_inline\s+)?[\w\s\*]*?\b([A-Za-z_]\w*)\s*\([^;{}]*$', body_clean, re.M))
        defined |= set(re.findall(r'^\s*#\s*define\s+(\w+)', body_clean, re.M))
        defined |= set(re.findall(r'^([A-Za-z_]\w*)\s*\(', body_clean, re.M))
        called = set(re.findall(r'(?<![\.\>\w])([A-Za-z_]\w*)\s*\(', body_clean))
        missing = sorted(n for n in called - provided - defined if not n.startswith('__builtin'))
        if missing:
            die(2, '%s (kernel %s, %s): the compatibility layer does not provide: %s'
                % (src, vtext, rel, ', '.join(missing)))

    os.makedirs(outdir, exist_ok=True)
    hdr = ['/* Generated by impl/kernel/extract_section.py from %s (%s); not project code. */' % (src, rel),
           '#ifndef KVT_KERNEL_SECTION_H', '#define KVT_KERNEL_SECTION_H',
           '#define KVT_K_VERSION "%s"' % vtext,
           '#define KVT_K_FILE "%s"' % rel,
           '#define KVT_K_BATCH_INIT %s' % init_name,
           '#define KVT_K_PATCHES "%s"' % ' '.join(os.path.basename(p) for p in patches)]
    if version:
        hdr.append('#define KVT_K_VERSION_CODE %d' % (version[0] * 65536 + version[1] * 256 + min(version[2], 255)))
    for k in sorted(feats):
        hdr.append('#define %s %d' % (k, feats[k]))
    for t in tracepoints:
        hdr.append('#define %s(...) ((void)0)' % t)
    hdr.append('#endif')
    for name, content in (('kernel_section.h', '\n'.join(hdr) + '\n'),
                          ('kernel_section.c', '/* Extracted from %s/%s (kernel %s)%s at configure time. */\n'
                           % (src, rel, vtext, ', patched with ' + ', '.join(patches) if patches else '')
                           + body)):
        tmp = os.path.join(outdir, name + '.tmp')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(content)
        os.replace(tmp, os.path.join(outdir, name))
    spans = ', '.join('%d-%d' % (a + 1, b + 1) if a != b else '%d' % (a + 1) for a, b in pieces)
    summary = ('kernel %s: kvfree_rcu section from %s lines %s (%s layout, %s)'
               % (vtext, rel, spans, 'list' if feats['KVT_K_LAYOUT_LIST'] else 'chain', init_name))
    if patches:
        summary += ', patched with %s' % ', '.join(patches)
    with open(stamp_path, 'w', encoding='utf-8') as f:
        f.write(stamp + '\n' + summary + '\n')
    print(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
