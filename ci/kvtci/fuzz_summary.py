"""The summary of a ci/fuzz run: summary.json and summary.md in its work folder.

Reads what ci/fuzz wrote to the work folder OUT:
  campaigns.tsv  target engine seconds execs cov_or_edges stability
                 corpus_before corpus_after crashes  (one finished campaign a line)
  findings.tsv   target engine status key file reproduce-command
  coverage.txt   target cov ft  (the merged corpus's coverage; may be missing)
Lines with another number of fields are ignored (a campaign cut short);
a field that should be a number and is not is bad input (exit 2, nothing
written).  Prints the markdown summary too.

usage: python3 -m kvtci.fuzz_summary OUT WALL_SECONDS TOP
  TOP  the source top: reproducer paths under it are written relative to it
"""
import json
import os

from kvtci.errors import BadInput, Usage, number, read_lines, run, write_text


def read_campaigns(path):
    """The finished campaigns of campaigns.tsv, as dicts."""
    camps = []
    for n, line in enumerate(read_lines(path), 1):
        f = line.split('\t')
        if len(f) != 9:
            continue
        secs, execs = number(path, n, 'seconds', f[2]), number(path, n, 'execs', f[3])
        camps.append({'target': f[0], 'engine': f[1], 'seconds': secs, 'execs': execs,
                      'execs_per_s': round(execs / secs) if secs else 0,
                      'coverage': number(path, n, 'coverage', f[4]), 'stability': f[5],
                      'corpus_before': number(path, n, 'corpus_before', f[6]),
                      'corpus_after': number(path, n, 'corpus_after', f[7]),
                      'raw_crashes': number(path, n, 'crashes', f[8])})
    return camps


def read_findings(path, top):
    """The findings of findings.tsv, as dicts; absolute paths made relative to top."""
    finds = []
    for line in read_lines(path):
        f = line.split('\t')
        if len(f) == 6:
            finds.append({'target': f[0], 'engine': f[1], 'status': f[2], 'key': f[3],
                          'file': os.path.relpath(f[4], top) if f[4].startswith('/') else f[4],
                          'reproduce': f[5]})
    return finds


def read_coverage(path):
    """{target: {'cov': C, 'ft': F}} from coverage.txt; empty when there is none."""
    cov = {}
    if not os.path.exists(path):
        return cov
    for n, line in enumerate(read_lines(path), 1):
        f = line.split()
        if len(f) != 3:
            raise BadInput('%s:%d: expected "TARGET COV FT", got %r' % (path, n, line))
        cov[f[0]] = {'cov': number(path, n, 'cov', f[1]), 'ft': number(path, n, 'ft', f[2])}
    return cov


def summarize(wall, camps, finds, cov):
    """The summary.json object."""
    return {'wall_seconds': wall, 'campaigns': camps, 'corpus_coverage': cov,
            'findings': finds, 'raw_crashes': sum(c['raw_crashes'] for c in camps),
            'new': sum(1 for f in finds if f['status'] == 'new'),
            'known': sum(1 for f in finds if f['status'] == 'known')}


def markdown(summary):
    """summary.md, as a list of lines."""
    camps, finds, cov = summary['campaigns'], summary['findings'], summary['corpus_coverage']
    L = ['# ci/fuzz summary', '',
         '| target | engine | time (s) | execs | exec/s | coverage | stability | corpus before -> after | raw crashes |',
         '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |']
    for c in camps:
        what = 'cov %d' % c['coverage'] if c['engine'] == 'libfuzzer' else 'edges %d' % c['coverage']
        L.append('| %s | %s | %d | %d | %d | %s | %s | %d -> %d | %d |' % (
            c['target'], c['engine'], c['seconds'], c['execs'], c['execs_per_s'], what,
            c['stability'], c['corpus_before'], c['corpus_after'], c['raw_crashes']))
    L += ['', 'Corpus coverage after merging (libFuzzer edges / features over the whole corpus): ' +
          (', '.join('%s %d / %d' % (t, v['cov'], v['ft']) for t, v in sorted(cov.items())) or 'n/a'),
          '']
    uniq = [f for f in finds if f['status'] in ('new', 'known')]
    L.append('Findings: %d raw crash(es), %d distinct: %d new, %d already in corpus/found, %d unreproduced.' % (
        summary['raw_crashes'], len(uniq), summary['new'], summary['known'],
        sum(1 for f in finds if f['status'] == 'unreproduced')))
    if uniq:
        L += ['', '| status | target | engine | what | reproducer | reproduce with |',
              '| --- | --- | --- | --- | --- | --- |']
        for f in uniq:
            L.append('| %s | %s | %s | %s | %s | `%s` |' % (f['status'], f['target'], f['engine'],
                     f['key'].replace('|', '/'), f['file'], f['reproduce']))
    return L


def main(argv):
    if len(argv) != 3:
        raise Usage('usage: python3 -m kvtci.fuzz_summary OUT WALL_SECONDS TOP')
    out, wall, top = argv
    try:
        wall = int(wall)
    except ValueError:
        raise Usage('WALL_SECONDS: a whole number, not %r' % wall) from None
    summary = summarize(wall, read_campaigns(os.path.join(out, 'campaigns.tsv')),
                        read_findings(os.path.join(out, 'findings.tsv'), top),
                        read_coverage(os.path.join(out, 'coverage.txt')))
    lines = markdown(summary)
    write_text(os.path.join(out, 'summary.json'), json.dumps(summary, indent=2))
    write_text(os.path.join(out, 'summary.md'), '\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.fuzz_summary')
