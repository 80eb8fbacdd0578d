"""kvtci.hunt_report: ci/hunt's table from its runs."""
import json
import os
import tempfile
import unittest

from tests.run_module import run_module

HEADER = 'bug\tengine\tseed\tfound\tseconds\tinvariant\tnote\n'
RUNS = (HEADER +
        'B2\tsim\t1\t1\t0.52\tNO-ALLOC-ATOMIC\t\n'
        'B2\tsim\t2\t1\t1.70\tNO-ALLOC-ATOMIC\tother:BOUNDED\n'
        'B2\tsim\t3\t0\t\tNO-ALLOC-ATOMIC\t\n'
        'B2\tlibfuzzer\t1\t0\t\tNO-ALLOC-ATOMIC\t\n'
        'B8\tsim\t1\t0\t\tGP-SAFETY\texit:99\n'
        'B8\tlibfuzzer\t1\t1\t12.3\tGP-SAFETY\t\n')

EXPECTED_MD = '''# Historical-bug hunt

Time to detect, median / max over 3 seed(s), budget 60 s per bug, engine and seed (found/runs).  A find counts when it names the bug's catalogued invariant and its reproducer passes without the bug.

| bug | invariant | sim | libfuzzer | best median |
|---|---|---|---|---|
| B2 | NO-ALLOC-ATOMIC | 1.7 / > 60 s (2/3) | > 60 s (0/1) | 1.7 s |
| B8 | GP-SAFETY | > 60 s (0/1) | 12.3 / 12.3 s (1/1) | 12.3 s |

Other violations or failures seen on the way (not counted):

- B2 sim seed 2: other:BOUNDED
- B8 sim seed 1: exit:99
'''


class HuntReport(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.runs = os.path.join(self.dir, 'runs.tsv')

    def tearDown(self):
        self.tmp.cleanup()

    def hunt(self, runs_text):
        with open(self.runs, 'w') as f:
            f.write(runs_text)
        return run_module('hunt_report', self.runs, self.dir, 60, 3)

    def test_every_bug_found(self):
        r = self.hunt(RUNS)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.dir, 'hunt.md')) as f:
            self.assertEqual(f.read(), EXPECTED_MD)
        with open(os.path.join(self.dir, 'hunt.json')) as f:
            h = json.load(f)
        self.assertEqual((h['budget_s'], h['seeds']), (60, 3))
        b2 = h['bugs'][0]
        self.assertEqual((b2['id'], b2['best_median_s']), ('B2', 1.7))
        self.assertEqual(b2['engines']['sim']['max_s'], None)
        self.assertEqual(b2['engines']['sim']['runs_detail'][1],
                         {'seed': 2, 'found': True, 'seconds': 1.7, 'note': 'other:BOUNDED'})

    def test_a_bug_found_by_no_engine_exits_1(self):
        r = self.hunt(RUNS + 'B9\tsim\t1\t0\t\tPER-CPU\t\nB9\tlibfuzzer\t1\t0\t\tPER-CPU\t\n')
        self.assertEqual(r.returncode, 1, r.stderr)
        with open(os.path.join(self.dir, 'hunt.md')) as f:
            self.assertIn('| B9 | PER-CPU | > 60 s (0/1) | > 60 s (0/1) | not found |\n', f.read())

    def test_malformed_line_names_file_and_line_and_writes_nothing(self):
        r = self.hunt(RUNS + 'B9\tsim\t1\n')
        self.assertEqual(r.returncode, 2)
        self.assertIn('runs.tsv:8: 3 fields, expected 7', r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'hunt.md')))
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'hunt.json')))

    def test_bad_number(self):
        r = self.hunt(RUNS.replace('0.52', 'fast'))
        self.assertEqual(r.returncode, 2)
        self.assertIn('runs.tsv:2:', r.stderr)

    def test_empty_file(self):
        r = self.hunt('')
        self.assertEqual(r.returncode, 2)
        self.assertIn('runs.tsv: empty', r.stderr)

    def test_usage(self):
        self.assertEqual(run_module('hunt_report', self.runs, self.dir, 'sixty', 3).returncode, 2)


if __name__ == '__main__':
    unittest.main()
