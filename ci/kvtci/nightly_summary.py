"""summary.md of a ci/nightly report folder: what ran, what it found, where to look.

Reads REPORT/runs.tsv (one run a line: kind build name seed status exit_code
dir seconds; lines with another number of fields are ignored), each stress
run's report.json, the policy regression check's regression.json (kvbench
policies --baseline), the simulation's sim.log, ci/fuzz's summary.md, and the
reproducers/ folder.  The summary is written even when a run left a broken
report.json (a run killed while writing it): that run's row shows no
numbers, and a warning names the file.

usage: python3 -m kvtci.nightly_summary REPORT SEED BUDGET START INTERRUPTED TOP
  START        the night's start, in seconds since the epoch
  INTERRUPTED  1 when the night was interrupted (the summary says so)
  TOP          the source top (reproducer paths are written relative to it)
"""
import json
import os
import sys
import time

from kvtci import stress_report
from kvtci.errors import BadInput, Usage, program_name, read_lines, run, write_text

RUN_FIELDS = ('kind', 'build', 'name', 'seed', 'status', 'rc', 'dir', 'secs')


def read_runs(path):
    """The runs of runs.tsv, as dicts."""
    runs = []
    for line in read_lines(path):
        f = line.split('\t')
        if len(f) == len(RUN_FIELDS):
            runs.append(dict(zip(RUN_FIELDS, f)))
    return runs


def load_report(r):
    """The report.json of stress run r, or None when it has none or a broken one."""
    try:
        return stress_report.load(os.path.join(r['dir'], 'report.json'))
    except BadInput as e:
        print('%s: %s; its row shows no numbers' % (program_name('kvtci.nightly_summary'), e),
              file=sys.stderr)
        return None


def fmt_ns(ns):
    return '-' if ns is None else ('%.2f ms' % (ns / 1e6))


def stress_row(pol, r, d, rel):
    """The table row of stress run r (policy pol) from its report object d."""
    cpus = d.get('per_cpu', [])
    calls = sum(c.get('calls', 0) for c in cpus)
    fb = sum(c.get('fallbacks', {}).get('list', 0) + c.get('fallbacks', {}).get('sync', 0)
             for c in cpus)
    peak_pend = max([c.get('peak_pending', 0) for c in cpus] or [0])
    pages = d.get('totals', {}).get('pages_peak', '-')
    lat = [c.get('reclaim_latency_ns', {}) for c in cpus]
    p50 = max([l.get('p50', 0) for l in lat] or [0])
    p99 = max([l.get('p99', 0) for l in lat] or [0])
    lmax = max([l.get('max', 0) for l in lat] or [0])
    v = d.get('violations', {})
    vtxt = ', '.join('%s %d' % kv for kv in sorted(v.get('by_invariant', {}).items())) or '0'
    return '| %s | %s | %s | %s | %d | %d | %d | %s | %s / %s / %s | %s | %s |' % (
        pol, r['build'], r['status'], r['seed'], calls, fb, peak_pend, pages,
        fmt_ns(p50), fmt_ns(p99), fmt_ns(lmax), vtxt, rel(r['dir']) + '/report.json')


def stress_sections(runs, rel):
    """One section per scenario: a row per policy and build, the plain build's plots."""
    L = []
    stress = [r for r in runs if r['kind'] == 'stress']
    scen = []
    for r in stress:
        sc = r['name'].rsplit('-', 1)[0]
        if sc not in scen:
            scen.append(sc)
    for sc in scen:
        L += ['## Scenario %s' % sc, '',
              '| policy | build | status | seed | calls | fallbacks (list+sync) | peak pending objs | peak pages | reclaim p50 / p99 / max | violations | report |',
              '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |']
        for r in stress:
            if r['name'].rsplit('-', 1)[0] != sc:
                continue
            pol = r['name'].rsplit('-', 1)[1]
            d = load_report(r) if r['status'] != 'skipped' else None
            row = None
            if d:
                try:
                    row = stress_row(pol, r, d, rel)
                except (AttributeError, TypeError, ValueError):
                    # A report of another shape: no numbers rather than no summary.
                    row = None
            if row is None:
                row = '| %s | %s | %s | %s | - | - | - | - | - | - | %s |' % (
                    pol, r['build'], r['status'], r['seed'],
                    '-' if r['status'] == 'skipped' else rel(r['dir']) + '/run.log')
            L.append(row)
        plots = []
        for r in stress:
            if r['name'].rsplit('-', 1)[0] == sc and r['build'] == 'plain':
                for p in ('pending', 'fallbacks', 'cached_pages'):
                    f = os.path.join(r['dir'], p + '.png')
                    if os.path.exists(f):
                        plots.append('[%s %s](%s)' % (r['name'].rsplit('-', 1)[1], p, rel(f)))
        if plots:
            L += ['', 'Plots (plain build): ' + ', '.join(plots)]
        L.append('')
    skipped = sum(1 for r in stress if r['status'] == 'skipped')
    if skipped:
        L += ['%d stress run(s) did not fit in the budget (skipped); a larger --budget runs them all.'
              % skipped, '']
    return L


def policy_section(runs, rel):
    """The refill policies against the baseline: the verdict, and every figure out of its band."""
    checks = [r for r in runs if r['kind'] == 'policy']
    if not checks:
        return []
    r = checks[0]
    if r['status'] == 'skipped':
        return ['## Policy regression check', '',
                'Skipped: the night\'s stress share was too short to hold it (--budget 700 or more runs it).', '']
    L = ['## Policy regression check', '',
         'Against stress/bench/policy-baseline.json (`kvbench policies --baseline`): %s (exit %s); '
         'the table: %s' % (r['status'], r['rc'], rel(os.path.join(r['dir'], 'policies.txt'))), '']
    path = os.path.join(r['dir'], 'regression.json')
    try:
        with open(path, encoding='utf-8') as f:
            figures = json.load(f)['figures']
        out = [x for x in figures if x['verdict'] != 'ok']
    except (OSError, ValueError, KeyError, TypeError) as e:
        return L + ['(no readable %s: %s)' % (rel(path), e), '']
    if not out:
        return L + ['Every figure within its band.', '']
    L += ['| scenario | policy | figure | now | band | verdict |', '| --- | --- | --- | ---: | --- | --- |']
    for x in out:
        L.append('| %s | %s | %s | %.6g | %.6g .. %.6g | %s |' % (
            x['scenario'], x['policy'], x['figure'], x['now'], x['lo'], x['hi'], x['verdict']))
    return L + ['']


def sim_section(runs, rel):
    sims = [r for r in runs if r['kind'] == 'sim']
    if not sims:
        return []
    L = ['## Simulation exploration', '', '| build | seed | status | runs | log |',
         '| --- | ---: | --- | --- | --- |']
    for r in sims:
        last = ''
        try:
            with open(os.path.join(r['dir'], 'sim.log'), encoding='utf-8', errors='replace') as f:
                for line in f:
                    if ' runs in ' in line:
                        last = line.split(': ', 2)[-1].strip()
        except OSError:
            pass
        L.append('| %s | %s | %s | %s | %s |' % (r['build'], r['seed'], r['status'], last or '-',
                                                 rel(r['dir']) + '/sim.log'))
    L.append('')
    return L


def fuzz_section(runs, report):
    fz = [r for r in runs if r['kind'] == 'fuzz']
    if not fz:
        return []
    L = ['## Fuzzing', '',
         'Status: %s (exit %s); full summary: fuzz/summary.md' % (fz[0]['status'], fz[0]['rc']), '']
    try:
        with open(os.path.join(report, 'fuzz', 'summary.md'), encoding='utf-8',
                  errors='replace') as f:
            L += f.read().split('\n')[1:]
    except OSError:
        L.append('(no fuzz summary: see fuzz/fuzz.log)')
    L.append('')
    return L


def read_impl(report):
    """(what, kvtorture command) of the implementation the night ran: the
    reference unless ci/nightly --kernel-src wrote implementation.txt."""
    try:
        with open(os.path.join(report, 'implementation.txt'), encoding='utf-8') as f:
            what, cmd = (f.read().split('\n') + ['', ''])[:2]
    except FileNotFoundError:
        return None, 'build/kvtorture'
    return what.strip() or None, cmd.strip() or 'build/kvtorture'


def reproducers_section(report, top, rel, kvt='build/kvtorture'):
    repros = sorted(os.listdir(os.path.join(report, 'reproducers')))
    repros = [n for n in repros if not n.startswith('.')]
    L = ['## Reproducers', '']
    if not repros:
        return L + ['None.']
    for n in repros:
        p = os.path.join(report, 'reproducers', n)
        if os.path.isdir(p) and n.startswith('kernel-'):
            # ci/fuzz --kernel-src's findings: text reproducers of the kernel's code.
            for m in sorted(os.listdir(p)):
                if m.endswith('.kvt'):
                    L.append('- reproducers/%s/%s: `%s replay -v %s/reproducers/%s/%s`'
                             % (n, m, kvt, os.path.relpath(report, top), n, m))
                elif m.endswith('.bin'):
                    L.append('- reproducers/%s/%s: `build-fuzz-kernel/fuzz-ops-kernel %s/reproducers/%s/%s`'
                             % (n, m, os.path.relpath(report, top), n, m))
        elif os.path.isdir(p):
            for m in sorted(os.listdir(p)):
                L.append('- reproducers/%s/%s: `build/%s reproducers/%s/%s`'
                         % (n, m, n, n, m))
        elif n.startswith('stress-'):
            L.append('- reproducers/%s: `ci/replay-report %s`' % (
                n, rel(os.path.join(report, 'stress', *n[len('stress-'):-4].split('-', 1)))))
        else:
            L.append('- reproducers/%s: `%s replay -v %s/reproducers/%s`' % (
                n, kvt, os.path.relpath(report, top), n))
    L += ['', 'To keep one as a regression test: minimize it (`%s minimize F -o '
          'corpus/found/NAME.kvt`) and commit it under corpus/found/.' % kvt]
    return L


def summary_lines(report, seed, budget, start, interrupted, top, now=None, host=None):
    """summary.md as a list of lines; now (seconds) and host default to this machine's."""
    runs = read_runs(os.path.join(report, 'runs.tsv'))
    now = time.time() if now is None else now
    host = os.uname().nodename if host is None else host

    def rel(p):
        return os.path.relpath(p, report) if p.startswith('/') else p

    L = ['# Nightly report', '',
         'Seed %s, budget %s s, ran %d s%s.  Host %s, %s.' % (
             seed, budget, int(now) - int(start),
             ' (INTERRUPTED: partial results)' if interrupted == '1' else '',
             host, time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(now))), '']
    what, kvt = read_impl(report)
    if what:
        L += ['Implementation under test: %s (`%s`).' % (what, kvt), '']
    bad = [r for r in runs if r['status'] not in ('pass', 'skipped', 'skip')]
    L.append('**%s**' % ('%d run(s) found something: see below and reproducers/.' % len(bad) if bad
                         else 'Nothing found.'))
    L.append('')
    L += stress_sections(runs, rel)
    L += policy_section(runs, rel)
    L += sim_section(runs, rel)
    L += fuzz_section(runs, report)
    L += reproducers_section(report, top, rel, kvt)
    return L


def main(argv):
    if len(argv) != 6:
        raise Usage('usage: python3 -m kvtci.nightly_summary REPORT SEED BUDGET START INTERRUPTED TOP')
    report, seed, budget, start, interrupted, top = argv
    try:
        int(start)
    except ValueError:
        raise Usage('START: seconds since the epoch, not %r' % start) from None
    lines = summary_lines(report, seed, budget, start, interrupted, top)
    write_text(os.path.join(report, 'summary.md'), '\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.nightly_summary')
