"""The summary of ci/coverage: line, branch and function coverage per file, and
every uncovered line and branch with its source.

Reads SUMMARY (`llvm-cov export -summary-only`, JSON) and SHOW (`llvm-cov show
-format=text -show-branches=count` over the same files) and writes into OUT:
summary.json, summary.md (a table, the way OSS-Fuzz's coverage builds sum up)
and uncovered.md (per file, each line executed zero times and each branch
outcome never taken, with the source line).  File names are shown relative
to TOP.  With --fail-under-lines P or --fail-under-branches P, the file
impl/kvfree_rcu.c must reach P percent.  Input that is not what llvm-cov
writes is bad input (exit 2, nothing written).

usage: python3 -m kvtci.coverage_summary SUMMARY SHOW OUT TOP
           [--fail-under-lines P] [--fail-under-branches P]
Exit status: 0 written (and the thresholds met), 1 below a threshold, 2 bad
usage or input.
"""
import json
import os
import re

from kvtci.errors import BadInput, Usage, read_lines, read_text, run, write_text

GATED = 'impl/kvfree_rcu.c'
KINDS = ('lines', 'branches', 'functions')

# `  123|   1.20k|source`, `  124|        |comment`: a line and its count.
LINE_RE = re.compile(r'^\s*(\d+)\|\s*([0-9.]+[kMGTPE]?)?\|(.*)$')
# `  |  Branch (388:16): [True: 0, False: 12]` (nested views add `  |`).
BRANCH_RE = re.compile(r'^[\s|]*Branch \((\d+):(\d+)\): \[True: ([0-9.]+[kMGTPE]?), '
                       r'False: ([0-9.]+[kMGTPE]?)\]')


def relative(path, top):
    """path relative to top, with the build folder's `../` folded away."""
    norm = os.path.normpath(path)
    top = os.path.normpath(top)
    return os.path.relpath(norm, top) if norm.startswith(top + os.sep) else norm


def read_summary(path, top):
    """[(file, {kind: {count, covered, percent}})] from llvm-cov's export JSON."""
    try:
        data = json.loads(read_text(path))
        files = data['data'][0]['files']
        out = []
        for f in files:
            s = f['summary']
            out.append((relative(f['filename'], top),
                        {k: {'count': int(s[k]['count']), 'covered': int(s[k]['covered'])}
                         for k in KINDS}))
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise BadInput('%s: not llvm-cov export JSON (%s)' % (path, e)) from None
    for _, s in out:
        for k in KINDS:
            c = s[k]
            c['percent'] = round(100.0 * c['covered'] / c['count'], 2) if c['count'] else None
    return out


def read_show(path, top, single):
    """{file: {'lines': [(n, text)], 'branches': [(n, col, side, text)]}} of what
    was never executed.  @single names the file when llvm-cov printed one
    file, without a header."""
    lines = read_lines(path)
    out = {}
    cur = single
    source = {}
    seen_branches = set()
    for n, line in enumerate(lines, 1):
        if line.startswith('/') and line.endswith(':'):
            cur = relative(line[:-1], top)
            source = {}
            continue
        m = LINE_RE.match(line)
        if m:
            if cur is None:
                raise BadInput('%s:%d: a source line before any file name' % (path, n))
            num, count, text = int(m.group(1)), m.group(2), m.group(3)
            # Expansion views repeat lines of the file: the first is the file's.
            source.setdefault(num, text)
            entry = out.setdefault(cur, {'lines': [], 'branches': []})
            if count == '0' and (num, text) not in entry['lines']:
                entry['lines'].append((num, text))
            continue
        m = BRANCH_RE.match(line)
        if m:
            if cur is None:
                raise BadInput('%s:%d: a branch before any file name' % (path, n))
            num, col = int(m.group(1)), int(m.group(2))
            entry = out.setdefault(cur, {'lines': [], 'branches': []})
            for side, count in (('true', m.group(3)), ('false', m.group(4))):
                key = (cur, num, col, side)
                if count == '0' and key not in seen_branches:
                    seen_branches.add(key)
                    entry['branches'].append((num, col, side, source.get(num, '')))
    for e in out.values():
        e['lines'].sort()
        e['branches'].sort()
    return out


def pct(c):
    if c['percent'] is None:
        return '-'
    return '%.2f %% (%d/%d)' % (c['percent'], c['covered'], c['count'])


def markdown(summary, gates, verdicts):
    md = ('# Coverage of the implementation\n\n'
          'clang source-based coverage (llvm-cov), every input of the corpus replayed '
          'once.  Lines and branches as llvm-cov counts them: code compiled out '
          '(`#if KVFREE_INJECT` blocks of the build without bugs) is not counted.\n\n'
          '| file | lines | branches | functions |\n|---|---|---|---|\n')
    for name, s in summary:
        if not any(s[k]['count'] for k in KINDS):
            continue
        md += '| %s | %s | %s | %s |\n' % (name, pct(s['lines']), pct(s['branches']),
                                          pct(s['functions']))
    if gates:
        md += '\n'
        for (kind, want), ok in zip(gates, verdicts):
            md += '- %s %s: at least %s %% required: %s\n' % (
                GATED, kind, want, 'met' if ok else 'NOT met')
    return md


def uncovered_md(summary, uncovered):
    md = ('# What the corpus never runs\n\n'
          'Per file, each line executed zero times and each branch outcome never '
          'taken (`line:column`), with its source line.\n')
    for name, _ in summary:
        e = uncovered.get(name)
        if not e or not (e['lines'] or e['branches']):
            continue
        md += '\n## %s\n\n' % name
        if e['lines']:
            md += 'Lines:\n\n```\n'
            md += ''.join('%5d  %s\n' % (n, t.rstrip()) for n, t in e['lines'])
            md += '```\n\n'
        if e['branches']:
            md += 'Branches:\n\n```\n'
            md += ''.join('%5d:%-3d %-5s  %s\n' % (n, c, side, t.strip())
                          for n, c, side, t in e['branches'])
            md += '```\n'
    return md


def parse_args(argv):
    pos, gates = [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('--fail-under-lines', '--fail-under-branches'):
            if i + 1 >= len(argv):
                raise Usage('%s needs a percentage' % a)
            try:
                want = float(argv[i + 1])
            except ValueError:
                raise Usage('%s: a percentage, not %r' % (a, argv[i + 1])) from None
            gates.append(('lines' if a.endswith('lines') else 'branches', want))
            i += 2
        elif a.startswith('-'):
            raise Usage('unknown option %r' % a)
        else:
            pos.append(a)
            i += 1
    if len(pos) != 4:
        raise Usage('usage: python3 -m kvtci.coverage_summary SUMMARY SHOW OUT TOP '
                    '[--fail-under-lines P] [--fail-under-branches P]')
    return pos, gates


def main(argv):
    (summary_path, show_path, out, top), gates = parse_args(argv)
    summary = read_summary(summary_path, top)
    single = summary[0][0] if len(summary) == 1 else None
    uncovered = read_show(show_path, top, single)
    gated = dict(summary).get(GATED)
    if gates and gated is None:
        raise BadInput('%s: no coverage of %s' % (summary_path, GATED))
    verdicts = [gated[kind]['percent'] is not None and gated[kind]['percent'] >= want
                for kind, want in gates]
    result = {'files': [{'file': name, **s,
                         'uncovered_lines': [n for n, _ in uncovered.get(name, {}).get('lines', [])],
                         'uncovered_branches': ['%d:%d:%s' % (n, c, side) for n, c, side, _ in
                                                uncovered.get(name, {}).get('branches', [])]}
                        for name, s in summary],
              'gates': [{'file': GATED, 'kind': kind, 'min_percent': want, 'met': ok}
                        for (kind, want), ok in zip(gates, verdicts)]}
    os.makedirs(out, exist_ok=True)
    write_text(os.path.join(out, 'summary.json'), json.dumps(result, indent=2))
    write_text(os.path.join(out, 'summary.md'), markdown(summary, gates, verdicts))
    write_text(os.path.join(out, 'uncovered.md'), uncovered_md(summary, uncovered))
    return 0 if all(verdicts) else 1


if __name__ == '__main__':
    run(main, 'kvtci.coverage_summary')
