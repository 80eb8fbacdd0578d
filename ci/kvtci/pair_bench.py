"""The figures of `ci/bench --pair A B`: pair.txt and pair.json in its output folder.

Two fuzz targets (two trees, or two builds of one tree) on the same inputs,
run at the same time, one pinned to each of two CPUs, then with the CPUs
swapped: a round.  On a machine whose CPUs run at different and drifting
speeds, neither a run after the other nor two runs on one CPU compare them;
a round gives both the same CPUs for the same time.  Reads OUT/pair.tsv:
  side round cpu inputs runs cpu_user cpu_sys exe exec_s
One timed pass a line: side A or B, the CPU it was pinned to, each of the
inputs executed `runs` times, its CPU seconds, and exec_s, the CPU seconds
of the executions alone as a timing program reports them (its `Executed`
lines: no start-up, no reading of inputs, no leak check at exit), or `-`
for a program that reports none (a libFuzzer replay).  Every round must hold
A and B once on each of two CPUs (bad input: exit 2, the file and line
named, nothing written).  A round's ratio is B's seconds over A's, summed
over its two placements: the executions' own when every pass of the round
has them, else the user CPU seconds; below 1, B takes less.  The median
ratio over the rounds is the figure.  The per-execution times are the
executions' own too, else the user and system time (libFuzzer reads each
input file again for every execution).

usage: python3 -m kvtci.pair_bench OUT
"""
import json
import os
import statistics

from kvtci.errors import EXIT_PASS, BadInput, Usage, number, read_lines, run, write_text


def read_pairs(path):
    """The passes of pair.tsv, and per round its passes by side: {round: {'A': [...], 'B': [...]}}."""
    passes, rounds = [], {}
    for n, line in enumerate(read_lines(path), 1):
        f = line.split('\t')
        if len(f) != 9:
            raise BadInput('%s:%d: expected 9 tab-separated fields (side round cpu inputs runs '
                           'cpu_user cpu_sys exe exec_s), got %d' % (path, n, len(f)))
        if f[0] not in ('A', 'B'):
            raise BadInput('%s:%d: side is A or B, not %r' % (path, n, f[0]))
        p = {'side': f[0], 'round': number(path, n, 'round', f[1]),
             'cpu': number(path, n, 'cpu', f[2]), 'inputs': number(path, n, 'inputs', f[3]),
             'runs': number(path, n, 'runs', f[4]),
             'user': number(path, n, 'cpu_user', f[5], float),
             'sys': number(path, n, 'cpu_sys', f[6], float), 'exe': f[7], 'line': n,
             'exec': None if f[8] == '-' else number(path, n, 'exec_s', f[8], float)}
        if not p['inputs'] or not p['runs']:
            raise BadInput('%s:%d: inputs and runs must be positive' % (path, n))
        passes.append(p)
        rounds.setdefault(p['round'], {'A': [], 'B': []})[p['side']].append(p)
    if not passes:
        raise BadInput('%s: no passes' % path)
    for r, sides in sorted(rounds.items()):
        for side, ps in sides.items():
            cpus = sorted(p['cpu'] for p in ps)
            if len(ps) != 2 or cpus[0] == cpus[1]:
                raise BadInput('%s: round %d has %s on CPUs %s: each side runs once on each of '
                               'two CPUs' % (path, r, side, cpus or 'none'))
        if sorted(p['cpu'] for p in sides['A']) != sorted(p['cpu'] for p in sides['B']):
            raise BadInput('%s: round %d puts A and B on different CPUs' % (path, r))
        for side, ps in sides.items():
            if ps[0]['exe'] != ps[1]['exe']:
                raise BadInput('%s:%d: round %d runs %s as %s, line %d another program' % (
                    path, ps[1]['line'], r, ps[1]['exe'], side, ps[0]['line']))
    return passes, rounds


def timed(ps):
    """Whether every pass of @ps timed its executions itself."""
    return all(p['exec'] is not None for p in ps)


def seconds(p, basis):
    """A pass's seconds on @basis: 'exec' (the executions' own) or 'user'."""
    return p['exec'] if basis == 'exec' else p['user']


def summarize(passes, rounds):
    out = {'rounds': [], 'exe': {}}
    for r, sides in sorted(rounds.items()):
        basis = 'exec' if timed(sides['A'] + sides['B']) else 'user'
        a = sum(seconds(p, basis) for p in sides['A'])
        b = sum(seconds(p, basis) for p in sides['B'])
        out['rounds'].append({'round': r, 'basis': basis, 'a_s': round(a, 3), 'b_s': round(b, 3),
                              'ratio': round(b / a, 3) if a else None})
    ratios = [x['ratio'] for x in out['rounds'] if x['ratio'] is not None]
    out['ratio_median'] = round(statistics.median(ratios), 3) if ratios else None
    out['ratio_min'] = min(ratios) if ratios else None
    out['ratio_max'] = max(ratios) if ratios else None
    for side in ('A', 'B'):
        ps = [p for p in passes if p['side'] == side]
        own = timed(ps)
        us = [(p['exec'] if own else p['user'] + p['sys']) * 1e6 / (p['inputs'] * p['runs'])
              for p in ps]
        out['exe'][side] = {'exe': ps[0]['exe'], 'us_per_exec': round(statistics.median(us), 1),
                            'us_per_exec_min': round(min(us), 1),
                            'basis': 'exec' if own else 'user+sys'}
    return out


BASIS = {'exec': "the executions' own CPU seconds", 'user': 'user CPU seconds',
         'user+sys': 'user and system CPU seconds'}


def text(s):
    L = ['# ci/bench --pair: two fuzz targets side by side on the same inputs', '',
         '| side | program | µs per execution: median (min) | from |', '| --- | --- | ---: | --- |']
    for side in ('A', 'B'):
        e = s['exe'][side]
        L.append('| %s | `%s` | %.1f (%.1f) | %s |' % (side, e['exe'], e['us_per_exec'],
                                                      e['us_per_exec_min'], BASIS[e['basis']]))
    L += ['', '| round | A s | B s | B / A | from |', '| ---: | ---: | ---: | ---: | --- |']
    for r in s['rounds']:
        L.append('| %d | %.2f | %.2f | %s | %s |' % (
            r['round'], r['a_s'], r['b_s'], '-' if r['ratio'] is None else '%.3f' % r['ratio'],
            BASIS[r['basis']]))
    if s['ratio_median'] is not None:
        bases = sorted({r['basis'] for r in s['rounds']})
        L += ['', 'B / A, %s: median %.3f (%.3f-%.3f) over %d round(s)' % (
            ' or '.join(BASIS[b] for b in bases), s['ratio_median'], s['ratio_min'],
            s['ratio_max'], len(s['rounds']))]
    return L


def main(argv):
    if len(argv) != 1:
        raise Usage('usage: python3 -m kvtci.pair_bench OUT')
    out = argv[0]
    passes, rounds = read_pairs(os.path.join(out, 'pair.tsv'))
    s = summarize(passes, rounds)
    lines = text(s)
    write_text(os.path.join(out, 'pair.json'), json.dumps(s, indent=2))
    write_text(os.path.join(out, 'pair.txt'), '\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return EXIT_PASS


if __name__ == '__main__':
    run(main, 'kvtci.pair_bench')
