"""The table of ci/hunt: time to detect each historical bug, per engine.

Reads RUNS (runs.tsv: a header, then one run a line: bug engine seed found
seconds invariant note) and writes OUT/hunt.json and OUT/hunt.md: per bug and
engine the median and max time to detect over the seeds, where a run without
a find counts as longer than the budget, and the best median over engines.
A malformed line is bad input (exit 2, nothing written).

usage: python3 -m kvtci.hunt_report RUNS OUT BUDGET SEEDS
Exit status: 0 every bug found by at least one engine, 1 some bug found by
none, 2 bad usage or input.
"""
import json
import os
import statistics

from kvtci.errors import BadInput, Usage, read_lines, run, write_text

FIELDS = ('bug', 'engine', 'seed', 'found', 'seconds', 'invariant', 'note')


def read_runs(path):
    """(bugs, engines, cells): bugs and engines in order of first appearance;
    cells[(bug, engine)] = {'invariant': ..., 'runs': [{seed, found, seconds, note}]}."""
    lines = read_lines(path)
    if not lines:
        raise BadInput('%s: empty (expected a header line)' % path)
    bugs, engines, cells = [], [], {}
    for n, line in enumerate(lines[1:], 2):
        f = line.split('\t')
        if len(f) != len(FIELDS):
            raise BadInput('%s:%d: %d fields, expected %d (%s)' % (
                path, n, len(f), len(FIELDS), ' '.join(FIELDS)))
        bug, engine, seed, found, secs, inv, note = f
        try:
            run_ = {'seed': int(seed), 'found': found == '1',
                    'seconds': float(secs) if secs else None, 'note': note}
        except ValueError:
            raise BadInput('%s:%d: seed %r or seconds %r is not a number' % (
                path, n, seed, secs)) from None
        if bug not in bugs:
            bugs.append(bug)
        if engine not in engines:
            engines.append(engine)
        cells.setdefault((bug, engine), {'invariant': inv, 'runs': []})['runs'].append(run_)
    for bug in bugs:
        for e in engines:
            if (bug, e) not in cells:
                raise BadInput('%s: no run of %s with engine %s' % (path, bug, e))
    return bugs, engines, cells


def cell_summary(c):
    """found/runs, median and max seconds of one bug and engine (None: not found)."""
    # A run without a find counts as longer than the budget.
    t = [r['seconds'] if r['found'] else float('inf') for r in c['runs']]
    med, mx = statistics.median(t), max(t)
    return {'found': sum(r['found'] for r in c['runs']), 'runs': len(t),
            'median_s': None if med == float('inf') else round(med, 2),
            'max_s': None if mx == float('inf') else round(mx, 2)}


def hunt_result(bugs, engines, cells, budget, seeds):
    """The hunt.json object."""
    result = {'budget_s': budget, 'seeds': seeds, 'bugs': []}
    for bug in bugs:
        entry = {'id': bug, 'invariant': cells[(bug, engines[0])]['invariant'], 'engines': {}}
        for e in engines:
            c = cells[(bug, e)]
            entry['engines'][e] = dict(cell_summary(c), runs_detail=c['runs'])
        entry['best_median_s'] = min((v['median_s'] for v in entry['engines'].values()
                                      if v['median_s'] is not None), default=None)
        result['bugs'].append(entry)
    return result


def fmt_cell(s, budget):
    """One cell of the table: 'median / max s (found/runs)'."""
    if s['median_s'] is None:
        return '> %d s (%d/%d)' % (budget, s['found'], s['runs'])
    mx = '> %d' % budget if s['max_s'] is None else '%.1f' % s['max_s']
    return '%.1f / %s s (%d/%d)' % (s['median_s'], mx, s['found'], s['runs'])


def markdown(result, engines):
    """hunt.md."""
    budget, seeds = result['budget_s'], result['seeds']
    md = ('# Historical-bug hunt\n\nTime to detect, median / max over %d seed(s), budget %d s '
          'per bug, engine and seed (found/runs).  A find counts when it names the '
          "bug's catalogued invariant and its reproducer passes without the bug.\n\n"
          % (seeds, budget))
    md += '| bug | invariant | ' + ' | '.join(engines) + ' | best median |\n'
    md += '|---|---|' + '---|' * len(engines) + '---|\n'
    for b in result['bugs']:
        best = b['best_median_s']
        md += '| %s | %s | %s | %s |\n' % (b['id'], b['invariant'],
                                          ' | '.join(fmt_cell(b['engines'][e], budget) for e in engines),
                                          'not found' if best is None else '%.1f s' % best)
    notes = [(b['id'], e, r['seed'], r['note']) for b in result['bugs']
             for e in engines for r in b['engines'][e]['runs_detail'] if r['note']]
    if notes:
        md += '\nOther violations or failures seen on the way (not counted):\n\n'
        for bug, e, seed, note in notes:
            md += '- %s %s seed %d: %s\n' % (bug, e, seed, note)
    return md


def main(argv):
    if len(argv) != 4:
        raise Usage('usage: python3 -m kvtci.hunt_report RUNS OUT BUDGET SEEDS')
    runs_path, out = argv[0], argv[1]
    try:
        budget, seeds = int(argv[2]), int(argv[3])
    except ValueError:
        raise Usage('BUDGET and SEEDS: whole numbers, not %r and %r' % (argv[2], argv[3])) from None
    bugs, engines, cells = read_runs(runs_path)
    result = hunt_result(bugs, engines, cells, budget, seeds)
    write_text(os.path.join(out, 'hunt.json'), json.dumps(result, indent=2))
    write_text(os.path.join(out, 'hunt.md'), markdown(result, engines))
    missed = [b['id'] for b in result['bugs'] if b['best_median_s'] is None]
    return 1 if missed else 0


if __name__ == '__main__':
    run(main, 'kvtci.hunt_report')
