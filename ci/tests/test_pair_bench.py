"""kvtci.pair_bench: ci/bench --pair's pair.txt and pair.json from its passes."""
import json
import os

from tests.run_module import FolderTest, run_module


def line(side, rnd, cpu, user, exe=None, sys_s='0.5', exec_s='-'):
    return '%s\t%d\t%d\t100\t10\t%s\t%s\t%s\t%s\n' % (
        side, rnd, cpu, user, sys_s, exe or '/t/%s/fuzz-ops' % side.lower(), exec_s)


GOOD = (line('A', 1, 0, '2.0') + line('B', 1, 1, '1.6') + line('A', 1, 1, '3.0') +
        line('B', 1, 0, '2.4') +
        line('A', 2, 0, '2.0') + line('B', 2, 1, '2.0') + line('A', 2, 1, '2.0') +
        line('B', 2, 0, '2.2') +
        line('A', 3, 0, '1.0') + line('B', 3, 1, '0.9') + line('A', 3, 1, '1.0') +
        line('B', 3, 0, '0.9'))


class PairBench(FolderTest):
    def test_ratio_per_round_and_median(self):
        self.write('pair.tsv', GOOD)
        r = run_module('pair_bench', self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(self.read('pair.json'))
        # Round 1: (1.6 + 2.4) / (2.0 + 3.0); round 2: 4.2 / 4.0; round 3: 1.8 / 2.0.
        self.assertEqual([x['ratio'] for x in s['rounds']], [0.8, 1.05, 0.9])
        self.assertEqual(s['ratio_median'], 0.9)
        self.assertEqual((s['ratio_min'], s['ratio_max']), (0.8, 1.05))
        # A's passes: (2.5, 3.5, 2.5, 2.5, 1.5, 1.5) s for 1,000 executions each.
        self.assertEqual(s['exe']['A']['us_per_exec'], 2500.0)
        self.assertEqual(s['exe']['A']['us_per_exec_min'], 1500.0)
        self.assertIn('user CPU seconds: median 0.900 (0.800-1.050) over 3 round(s)',
                      self.read('pair.txt'))
        self.assertIn('| B | `/t/b/fuzz-ops` |', r.stdout)

    def test_the_executions_own_seconds_when_every_pass_has_them(self):
        # Round 1: the executions' own (1.0 + 1.2) / (2.0 + 2.0); round 2 has a
        # pass without them (a libFuzzer replay): user CPU, 2.4 / 3.0.
        t = (line('A', 1, 0, '2.5', exec_s='2.0') + line('B', 1, 1, '2.0', exec_s='1.0') +
             line('A', 1, 1, '2.5', exec_s='2.0') + line('B', 1, 0, '2.0', exec_s='1.2') +
             line('A', 2, 0, '1.5', exec_s='1.0') + line('B', 2, 1, '1.2') +
             line('A', 2, 1, '1.5', exec_s='1.0') + line('B', 2, 0, '1.2', exec_s='1.0'))
        self.write('pair.tsv', t)
        r = run_module('pair_bench', self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(self.read('pair.json'))
        self.assertEqual([(x['basis'], x['ratio']) for x in s['rounds']],
                         [('exec', 0.55), ('user', 0.8)])
        # A timed every pass itself: 1.0-2.0 s for 1,000 executions; B did not.
        self.assertEqual((s['exe']['A']['basis'], s['exe']['A']['us_per_exec'],
                          s['exe']['A']['us_per_exec_min']), ('exec', 1500.0, 1000.0))
        self.assertEqual((s['exe']['B']['basis'], s['exe']['B']['us_per_exec_min']),
                         ('user+sys', 1700.0))
        self.assertIn("the executions' own CPU seconds or user CPU seconds: median 0.675",
                      r.stdout)

    def refused(self, text, msg):
        self.write('pair.tsv', text)
        self.write('pair.txt', 'previous\n')
        r = run_module('pair_bench', self.out)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(msg, r.stderr)
        self.assertEqual(self.read('pair.txt'), 'previous\n')
        self.assertFalse(os.path.exists(os.path.join(self.out, 'pair.json')))

    def test_truncated_line_bad_side_and_number(self):
        self.refused(GOOD + 'A\t4\t0\t100\n', 'pair.tsv:13: expected 9 tab-separated fields')
        self.refused(GOOD.replace('fuzz-ops\t-', 'fuzz-ops\t1.5s', 1), 'pair.tsv:1: exec_s is not a')
        self.refused(GOOD.replace('A\t2\t0', 'C\t2\t0'), "pair.tsv:5: side is A or B, not 'C'")
        self.refused(GOOD.replace('\t3.0\t', '\t3,0\t'), 'pair.tsv:3: cpu_user is not a')
        self.refused(GOOD.replace('\t100\t10\t2.0', '\t100\t0\t2.0', 1),
                     'pair.tsv:1: inputs and runs must be positive')

    def test_a_round_without_both_placements(self):
        # Round 3 lost B's second pass; then both its B passes on one CPU.
        self.refused(GOOD[:GOOD.rindex('B\t3\t0')], 'round 3 has B on CPUs [1]')
        self.refused(GOOD.replace('B\t3\t0', 'B\t3\t1'), 'round 3 has B on CPUs [1, 1]')
        self.refused(GOOD.replace('A\t2\t0', 'A\t2\t5').replace('B\t2\t0', 'B\t2\t6'),
                     'round 2 puts A and B on different CPUs')

    def test_two_programs_on_one_side(self):
        self.refused(GOOD.replace('A\t1\t1\t100\t10\t3.0\t0.5\t/t/a/fuzz-ops\t-',
                                  'A\t1\t1\t100\t10\t3.0\t0.5\t/t/c/fuzz-ops\t-'),
                     'pair.tsv:3: round 1 runs /t/c/fuzz-ops as A, line 1 another program')

    def test_no_passes_and_no_file(self):
        self.refused('', 'pair.tsv: no passes')
        os.remove(os.path.join(self.out, 'pair.tsv'))
        r = run_module('pair_bench', self.out)
        self.assertEqual(r.returncode, 2)
        self.assertIn('pair.tsv', r.stderr)
