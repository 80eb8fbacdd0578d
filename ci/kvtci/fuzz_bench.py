"""The figures of `ci/bench --fuzz`: fuzz.txt and fuzz.json in its output folder.

Reads what ci/bench wrote to the folder OUT:
  fuzz-runs.tsv   build engine seed seconds cpu_user cpu_sys status result
                  One timed fuzzing run a line: engine libfuzzer (result: its
                  log) or afl (result: its fuzzer_stats); status is the
                  fuzzer's exit status; cpu_* the run's CPU seconds (bash's
                  `time`, the fuzzer and what it waited for; not used for
                  afl, whose fork server's children it does not count).
  fuzz-fixed.tsv  build round inputs runs cpu_user cpu_sys
                  One timed pass over a fixed set of inputs a line: each of
                  the inputs executed `runs` times by the build's fuzz target.
  artifacts.tsv   build seed file  (what a run stopped at, seed 0 for the
                  fixed workload; may be missing)
A build named B-nocheck (`--ceiling`: fuzz-ops-nocheck, whose checker checks
nothing) beside B gives B's checker share: 1 - its median exec/s over
B-nocheck's, and the same from the fixed workload's medians.
Every line must have its fields and its numbers (bad input: exit 2, the file
and line named, nothing written).  A libFuzzer log gives the last status line
it printed (`#N ... exec/s: E`, DONE at the end of a full run); an AFL++
fuzzer_stats file gives execs_done, execs_per_sec, stability and
corpus_count.  Prints fuzz.txt.  Exit 0, or 1 when a run stopped at a crash
(listed with the command that reproduces it).

usage: python3 -m kvtci.fuzz_bench OUT TOP
  TOP  the source top: paths under it are written relative to it
"""
import json
import os
import re
import statistics

from kvtci.errors import (EXIT_FOUND, EXIT_PASS, BadInput, Usage, number, read_lines, run,
                          write_text)

# libFuzzer's status lines: "#1234\tDONE   cov: 285 ft: 1973 corp: 603/69Kb lim: 1840 exec/s: 10730 rss: 53Mb"
_LF_LINE = re.compile(r'^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+ (?:lim: (\d+) )?'
                      r'exec/s: (\d+)')


def _fields(path, n, line, count, what):
    f = line.split('\t')
    if len(f) != count:
        raise BadInput('%s:%d: expected %d tab-separated fields (%s), got %d' % (
            path, n, count, what, len(f)))
    return f


def read_libfuzzer_log(path):
    """The last status line of a libFuzzer log, as a dict; BadInput when it has none."""
    last = None
    for line in read_lines(path):
        m = _LF_LINE.match(line)
        if m:
            last = m
    if not last:
        raise BadInput('%s: no libFuzzer status line ("#N ... exec/s: E")' % path)
    return {'execs': int(last.group(1)), 'done': last.group(2) == 'DONE',
            'cov': int(last.group(3)), 'ft': int(last.group(4)), 'corpus': int(last.group(5)),
            'max_len': int(last.group(6)) if last.group(6) else None,
            'execs_per_s': int(last.group(7))}


def read_afl_stats(path):
    """execs, exec/s, stability and corpus of an AFL++ fuzzer_stats file."""
    kv = {}
    for n, line in enumerate(read_lines(path), 1):
        k, sep, v = line.partition(':')
        if not sep:
            raise BadInput('%s:%d: expected "key : value", got %r' % (path, n, line))
        kv[k.strip()] = (n, v.strip())
    out = {}
    for key, field, kind in (('execs_done', 'execs', int), ('execs_per_sec', 'execs_per_s', float),
                             ('corpus_count', 'corpus', int)):
        if key not in kv:
            raise BadInput('%s: no %s' % (path, key))
        out[field] = number(path, kv[key][0], key, kv[key][1], kind)
    out['execs_per_s'] = round(out['execs_per_s'])
    out['stability'] = kv.get('stability', (0, '-'))[1]
    out['done'] = True
    return out


def read_runs(path, top):
    """The timed fuzzing runs of fuzz-runs.tsv, each with what its fuzzer reported."""
    runs = []
    for n, line in enumerate(read_lines(path), 1):
        f = _fields(path, n, line, 8, 'build engine seed seconds cpu_user cpu_sys status result')
        engine = f[1]
        if engine not in ('libfuzzer', 'afl'):
            raise BadInput('%s:%d: engine is libfuzzer or afl, not %r' % (path, n, engine))
        result = f[7] if os.path.isabs(f[7]) else os.path.join(top, f[7])
        r = {'build': f[0], 'engine': engine, 'seed': number(path, n, 'seed', f[2]),
             'seconds': number(path, n, 'seconds', f[3]),
             'cpu_seconds': round(number(path, n, 'cpu_user', f[4], float) +
                                  number(path, n, 'cpu_sys', f[5], float), 2),
             'status': number(path, n, 'status', f[6])}
        r.update(read_libfuzzer_log(result) if engine == 'libfuzzer' else read_afl_stats(result))
        # afl-fuzz does not wait for its fork server's children: their CPU
        # time is not the run's, and executions per CPU second would be wrong.
        r['execs_per_cpu_s'] = (round(r['execs'] / r['cpu_seconds'])
                                if engine == 'libfuzzer' and r['cpu_seconds'] else None)
        runs.append(r)
    return runs


def read_fixed(path):
    """The fixed-workload passes of fuzz-fixed.tsv: microseconds per execution."""
    passes = []
    for n, line in enumerate(read_lines(path), 1):
        f = _fields(path, n, line, 6, 'build round inputs runs cpu_user cpu_sys')
        inputs, reps = number(path, n, 'inputs', f[2]), number(path, n, 'runs', f[3])
        if not inputs or not reps:
            raise BadInput('%s:%d: inputs and runs must be positive' % (path, n))
        cpu = number(path, n, 'cpu_user', f[4], float) + number(path, n, 'cpu_sys', f[5], float)
        passes.append({'build': f[0], 'round': number(path, n, 'round', f[1]), 'inputs': inputs,
                       'runs': reps, 'cpu_seconds': round(cpu, 2),
                       'us_per_exec': round(cpu * 1e6 / (inputs * reps), 1)})
    return passes


def read_artifacts(path, top):
    """What runs stopped at: [{'build', 'seed', 'file'}]; empty when there is no list."""
    arts = []
    if not os.path.exists(path):
        return arts
    for n, line in enumerate(read_lines(path), 1):
        f = _fields(path, n, line, 3, 'build seed file')
        arts.append({'build': f[0], 'seed': number(path, n, 'seed', f[1]),
                     'file': os.path.relpath(f[2], top) if f[2].startswith(top + '/') else f[2]})
    return arts


def _spread(values):
    """'median (min-max)', or the one value."""
    if not values:
        return '-'
    med = statistics.median(values)
    fmt = '{:,.1f}' if any(isinstance(v, float) for v in values) else '{:,.0f}'
    if len(values) == 1:
        return fmt.format(med)
    return '%s (%s-%s)' % (fmt.format(med), fmt.format(min(values)), fmt.format(max(values)))


def summarize(runs, fixed, arts):
    """fuzz.json: every run and pass, and per build the medians."""
    builds = []
    for b in dict.fromkeys(r['build'] for r in runs):
        mine = [r for r in runs if r['build'] == b]
        passes = [p['us_per_exec'] for p in fixed if p['build'] == b]
        builds.append({'build': b, 'engine': mine[0]['engine'], 'runs': len(mine),
                       'execs_per_s': [r['execs_per_s'] for r in mine],
                       'execs_per_cpu_s': [r['execs_per_cpu_s'] for r in mine
                                           if r['execs_per_cpu_s'] is not None],
                       'median_execs_per_s': statistics.median(r['execs_per_s'] for r in mine),
                       'stability': [r['stability'] for r in mine if 'stability' in r],
                       'us_per_exec_fixed': passes})
    return {'builds': builds, 'runs': runs, 'fixed': fixed, 'stopped_at': arts,
            'checker_share': checker_share(builds)}


def checker_share(builds):
    """Per build B with a B-nocheck beside it: the checker's share of B's time, in %."""
    by_name = {b['build']: b for b in builds}
    shares = []
    for b in builds:
        none = by_name.get(b['build'] + '-nocheck')
        if not none:
            continue
        share = {'build': b['build'], 'execs_per_s': None, 'fixed': None}
        if none['median_execs_per_s']:
            share['execs_per_s'] = round(
                100 * (1 - b['median_execs_per_s'] / none['median_execs_per_s']), 1)
        if b['us_per_exec_fixed'] and none['us_per_exec_fixed']:
            share['fixed'] = round(100 * (1 - statistics.median(none['us_per_exec_fixed']) /
                                          statistics.median(b['us_per_exec_fixed'])), 1)
        shares.append(share)
    return shares


def text(summary):
    """fuzz.txt, as a list of lines (markdown tables)."""
    L = ['# ci/bench --fuzz: fuzz-ops throughput', '',
         '| build | engine | runs | exec/s (the engine\'s own) | execs per CPU second | '
         'stability | fixed workload, us per execution |',
         '| --- | --- | ---: | ---: | ---: | --- | ---: |']
    for b in summary['builds']:
        L.append('| %s | %s | %d | %s | %s | %s | %s |' % (
            b['build'], b['engine'], b['runs'], _spread(b['execs_per_s']),
            _spread(b['execs_per_cpu_s']), ', '.join(b['stability']) or '-',
            _spread(b['us_per_exec_fixed'])))
    if summary['checker_share']:
        L += ['', 'The checker\'s share of the time (against the same build with no checker, '
                  '`-nocheck`):', '']
        for c in summary['checker_share']:
            L.append('- %s: %s of the exec/s, %s of the fixed workload\'s time' % (
                c['build'], '-' if c['execs_per_s'] is None else '%.1f %%' % c['execs_per_s'],
                '-' if c['fixed'] is None else '%.1f %%' % c['fixed']))
    L += ['', '| build | seed | seconds | execs | exec/s | CPU s | corpus | cov / ft, stability | '
              'max_len | end |',
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |']
    for r in summary['runs']:
        what = r['stability'] if r['engine'] == 'afl' else '%d / %d' % (r['cov'], r['ft'])
        L.append('| %s | %d | %d | %d | %d | %s | %d | %s | %s | %s |' % (
            r['build'], r['seed'], r['seconds'], r['execs'], r['execs_per_s'],
            '%.1f' % r['cpu_seconds'] if r['engine'] == 'libfuzzer' else '-',
            r['corpus'], what, r.get('max_len') or '-',
            'done' if r['done'] and not r['status'] else 'stopped (exit %d)' % r['status']))
    arts = summary['stopped_at']
    if arts:
        L += ['', 'Runs stopped at a crash or hang (the figures of those runs are partial or missing):']
        for a in arts:
            L.append('- %s, %s: %s (reproduce: `build/kvtorture replay -v %s`)' % (
                a['build'], 'seed %d' % a['seed'] if a['seed'] else 'fixed workload',
                a['file'], a['file']))
    return L


def main(argv):
    if len(argv) != 2:
        raise Usage('usage: python3 -m kvtci.fuzz_bench OUT TOP')
    out, top = argv
    top = os.path.abspath(top)
    runs = read_runs(os.path.join(out, 'fuzz-runs.tsv'), top)
    if not runs:
        raise BadInput('%s: no runs' % os.path.join(out, 'fuzz-runs.tsv'))
    summary = summarize(runs, read_fixed(os.path.join(out, 'fuzz-fixed.tsv')),
                        read_artifacts(os.path.join(out, 'artifacts.tsv'), top))
    lines = text(summary)
    write_text(os.path.join(out, 'fuzz.json'), json.dumps(summary, indent=2))
    write_text(os.path.join(out, 'fuzz.txt'), '\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return EXIT_FOUND if summary['stopped_at'] else EXIT_PASS


if __name__ == '__main__':
    run(main, 'kvtci.fuzz_bench')
