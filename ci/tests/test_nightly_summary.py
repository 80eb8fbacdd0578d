"""kvtci.nightly_summary: ci/nightly's summary.md from a made-up report folder."""
import io
import json
import os
import tempfile
import time
import unittest
from contextlib import redirect_stderr

from kvtci.nightly_summary import summary_lines
from tests.run_module import run_module

REPORT = {'status': 'violation', 'command': 'kvstress --seed 3',
          'totals': {'pages_peak': 44},
          'per_cpu': [
              {'calls': 100, 'fallbacks': {'list': 2, 'sync': 1}, 'peak_pending': 50,
               'reclaim_latency_ns': {'p50': 1000000, 'p99': 5000000, 'max': 9000000}},
              {'calls': 200, 'fallbacks': {'list': 0, 'sync': 4}, 'peak_pending': 70,
               'reclaim_latency_ns': {'p50': 2000000, 'p99': 3000000, 'max': 12500000}}],
          'violations': {'by_invariant': {'GP-SAFETY': 2, 'BOUNDED': 1}}}


class NightlySummary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.report = os.path.join(self.tmp.name, 'reports', 'nightly-1')
        for d in ('stress/plain/irq-nolocks', 'stress/asan/irq-nolocks', 'sim/plain', 'fuzz',
                  'reproducers/fuzz-repro-parser', 'policies'):
            os.makedirs(os.path.join(self.report, d))
        self.write('stress/plain/irq-nolocks/report.json', json.dumps(REPORT, indent=2))
        self.write('stress/plain/irq-nolocks/pending.png', '')
        # A run killed while it wrote its report.
        self.write('stress/asan/irq-nolocks/report.json', json.dumps(REPORT, indent=2)[:100])
        self.write('sim/plain/sim.log', 'kvtorture sim: seed 5\nkvtorture sim: 1234 runs in 30 s, no violation\n')
        self.write('fuzz/summary.md', '# ci/fuzz summary\n\nFindings: 0 raw crash(es).\n')
        self.write('reproducers/stress-plain-irq-nolocks.txt', 'x\n')
        self.write('reproducers/sim-plain-seed1.kvt', 'y\n')
        self.write('reproducers/fuzz-repro-parser/p-1.txt', 'z\n')
        self.write('policies/regression.json', json.dumps({'figures': [
            {'scenario': 'syscall', 'policy': 'kernel', 'figure': 'fallback_pct', 'now': 0.1,
             'median': 0.1, 'lo': 0, 'hi': 0.2, 'verdict': 'ok'},
            {'scenario': 'syscall', 'policy': 'watermark', 'figure': 'fallback_pct', 'now': 0.96,
             'median': 0.15, 'lo': 0, 'hi': 0.4, 'verdict': 'REGRESSED'}], 'regressed': 1}))
        rows = [('stress', 'plain', 'irq-nolocks', '3', 'VIOLATION', '1', 'stress/plain/irq-nolocks', '3'),
                ('stress', 'asan', 'irq-nolocks', '4', 'ERROR', '134', 'stress/asan/irq-nolocks', '3'),
                ('stress', 'plain', 'hotplug-watermark', '5', 'skipped', '-', '-', '0'),
                ('policy', 'plain', 'baseline', '-', 'REGRESSION', '4', 'policies', '60'),
                ('sim', 'plain', 'all-policies', '7', 'pass', '0', 'sim/plain', '30'),
                ('fuzz', 'fuzz', 'both-engines', '-', 'pass', '0', 'fuzz', '100'),
                ('cut', 'short')]
        self.write('runs.tsv', ''.join('\t'.join(
            os.path.join(self.report, f) if i == 6 and f != '-' else f for i, f in enumerate(r)) + '\n'
            for r in rows))

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.report, name), 'w') as f:
            f.write(text)

    def lines(self, interrupted='0'):
        err = io.StringIO()
        with redirect_stderr(err):
            lines = summary_lines(self.report, '20240101', '3600', '1000', interrupted,
                                  self.tmp.name, now=1100.5, host='nightly-host')
        return lines, err.getvalue()

    def test_summary(self):
        lines, err = self.lines()
        stamp = time.strftime('%Y-%m-%d %H:%M:%S %Z', time.localtime(1100.5))
        self.assertEqual(lines[:5], ['# Nightly report', '',
                                     'Seed 20240101, budget 3600 s, ran 100 s.  Host nightly-host, %s.' % stamp,
                                     '', '**3 run(s) found something: see below and reproducers/.**'])
        self.assertIn('| nolocks | plain | VIOLATION | 3 | 300 | 7 | 70 | 44 | 2.00 ms / 5.00 ms / '
                      '12.50 ms | BOUNDED 1, GP-SAFETY 2 | stress/plain/irq-nolocks/report.json |', lines)
        self.assertIn('| nolocks | asan | ERROR | 4 | - | - | - | - | - | - | stress/asan/irq-nolocks/run.log |',
                      lines)
        self.assertIn('| watermark | plain | skipped | 5 | - | - | - | - | - | - | - |', lines)
        self.assertIn('Plots (plain build): [nolocks pending](stress/plain/irq-nolocks/pending.png)', lines)
        self.assertIn('1 stress run(s) did not fit in the budget (skipped); a larger --budget runs them all.',
                      lines)
        self.assertIn('| plain | 7 | pass | 1234 runs in 30 s, no violation | sim/plain/sim.log |', lines)
        # The policy check: its verdict, and only the figures out of their band.
        self.assertIn('Against stress/bench/policy-baseline.json (`kvbench policies --baseline`): '
                      'REGRESSION (exit 4); the table: policies/policies.txt', lines)
        self.assertIn('| syscall | watermark | fallback_pct | 0.96 | 0 .. 0.4 | REGRESSED |', lines)
        self.assertFalse([l for l in lines if l.startswith('| syscall | kernel | fallback_pct')])
        self.assertIn('Status: pass (exit 0); full summary: fuzz/summary.md', lines)
        self.assertIn('Findings: 0 raw crash(es).', lines)
        self.assertIn('- reproducers/fuzz-repro-parser/p-1.txt: `build/fuzz-repro-parser '
                      'reproducers/fuzz-repro-parser/p-1.txt`', lines)
        self.assertIn('- reproducers/sim-plain-seed1.kvt: `build/kvtorture replay -v '
                      'reports/nightly-1/reproducers/sim-plain-seed1.kvt`', lines)
        self.assertIn('- reproducers/stress-plain-irq-nolocks.txt: `ci/replay-report stress/plain/irq-nolocks`',
                      lines)
        # The broken report is named, with its line, and costs only its row's numbers.
        self.assertIn(os.path.join(self.report, 'stress/asan/irq-nolocks/report.json') + ':', err)
        self.assertIn('malformed JSON', err)

    def test_kernel_night(self):
        # ci/nightly --kernel-src: the implementation named, its reproducers replayed with it.
        self.write('implementation.txt', "Linux 6.12.118's kvfree_rcu with fix.patch\n"
                   'build-kernel-tree/kvtorture --impl kernel\n')
        os.makedirs(os.path.join(self.report, 'reproducers', 'kernel-6.12'))
        self.write('reproducers/kernel-6.12/progress-1.kvt', 'k\n')
        self.write('reproducers/kernel-6.12/asan-2.bin', 'b\n')
        lines, _ = self.lines()
        self.assertEqual(lines[4], "Implementation under test: Linux 6.12.118's kvfree_rcu with "
                                   'fix.patch (`build-kernel-tree/kvtorture --impl kernel`).')
        self.assertIn('- reproducers/sim-plain-seed1.kvt: `build-kernel-tree/kvtorture --impl kernel '
                      'replay -v reports/nightly-1/reproducers/sim-plain-seed1.kvt`', lines)
        self.assertIn('- reproducers/kernel-6.12/progress-1.kvt: `build-kernel-tree/kvtorture --impl '
                      'kernel replay -v reports/nightly-1/reproducers/kernel-6.12/progress-1.kvt`', lines)
        self.assertIn('- reproducers/kernel-6.12/asan-2.bin: `build-fuzz-kernel/fuzz-ops-kernel '
                      'reports/nightly-1/reproducers/kernel-6.12/asan-2.bin`', lines)
        self.assertIn('minimize it (`build-kernel-tree/kvtorture --impl kernel minimize F -o', lines[-1])

    def test_interrupted(self):
        lines, _ = self.lines(interrupted='1')
        self.assertIn('ran 100 s (INTERRUPTED: partial results).', lines[2])

    def test_nothing_found_no_reproducers(self):
        self.write('runs.tsv', 'sim\tplain\tall-policies\t7\tpass\t0\t%s\t30\n'
                   % os.path.join(self.report, 'sim/plain'))
        for root, _, files in os.walk(os.path.join(self.report, 'reproducers')):
            for f in files:
                os.remove(os.path.join(root, f))
        os.rmdir(os.path.join(self.report, 'reproducers', 'fuzz-repro-parser'))
        lines, _ = self.lines()
        self.assertEqual(lines[4], '**Nothing found.**')
        self.assertEqual(lines[-3:], ['## Reproducers', '', 'None.'])

    def test_command_line_writes_summary(self):
        r = run_module('nightly_summary', self.report, 1, 3600, int(time.time()), 0, self.tmp.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.report, 'summary.md')) as f:
            self.assertTrue(f.read().startswith('# Nightly report\n'))

    def test_missing_runs_is_bad_input(self):
        os.remove(os.path.join(self.report, 'runs.tsv'))
        r = run_module('nightly_summary', self.report, 1, 3600, 0, 0, self.tmp.name)
        self.assertEqual(r.returncode, 2)
        self.assertIn('runs.tsv', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.report, 'summary.md')))


if __name__ == '__main__':
    unittest.main()
