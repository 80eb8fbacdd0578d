"""kvtci.fuzz_summary: ci/fuzz's summary.json and summary.md from its work folder."""
import json
import os
import unittest

from tests.run_module import FolderTest, run_module

CAMPAIGNS = ('fuzz-ops\tlibfuzzer\t600\t1234567\t812\t-\t40\t52\t3\n'
             'fuzz-ops\tafl\t598\t2345678\t1500\t99.80%\t52\t60\t0\n'
             'fuzz-repro-parser\tlibfuzzer\t0\t0\t0\t-\t3\t3\t0\n'
             'fuzz-repro-parser\tafl\t12\n')   # a campaign cut short: ignored
FINDINGS = ('fuzz-ops\tlibfuzzer\tnew\tGP-SAFETY x | y\t/top/corpus/found/gp-1.kvt\t'
            'build/kvtorture replay -v corpus/found/gp-1.kvt\n'
            'fuzz-ops\tlibfuzzer\tknown\tBOUNDED z\tcorpus/found/k.kvt\tbuild/kvtorture replay -v k\n'
            'fuzz-ops\tafl\tdup\tBOUNDED z\t/tmp/crash\t-\n'
            'fuzz-ops\tafl\tunreproduced\t-\t/tmp/c2\tbuild/kvtorture replay /tmp/c2\n')
COVERAGE = 'fuzz-ops 812 2200\nfuzz-repro-parser 300 900\n'

EXPECTED_MD = '''# ci/fuzz summary

| target | engine | time (s) | execs | exec/s | coverage | stability | corpus before -> after | raw crashes |
| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |
| fuzz-ops | libfuzzer | 600 | 1234567 | 2058 | cov 812 | - | 40 -> 52 | 3 |
| fuzz-ops | afl | 598 | 2345678 | 3923 | edges 1500 | 99.80% | 52 -> 60 | 0 |
| fuzz-repro-parser | libfuzzer | 0 | 0 | 0 | cov 0 | - | 3 -> 3 | 0 |

Corpus coverage after merging (libFuzzer edges / features over the whole corpus): fuzz-ops 812 / 2200, fuzz-repro-parser 300 / 900

Findings: 3 raw crash(es), 2 distinct: 1 new, 1 already in corpus/found, 1 unreproduced.

| status | target | engine | what | reproducer | reproduce with |
| --- | --- | --- | --- | --- | --- |
| new | fuzz-ops | libfuzzer | GP-SAFETY x / y | corpus/found/gp-1.kvt | `build/kvtorture replay -v corpus/found/gp-1.kvt` |
| known | fuzz-ops | libfuzzer | BOUNDED z | corpus/found/k.kvt | `build/kvtorture replay -v k` |
'''


class FuzzSummary(FolderTest):
    def test_summary(self):
        self.write('campaigns.tsv', CAMPAIGNS)
        self.write('findings.tsv', FINDINGS)
        self.write('coverage.txt', COVERAGE)
        r = run_module('fuzz_summary', self.out, 1234, '/top')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, EXPECTED_MD)
        self.assertEqual(self.read('summary.md'), EXPECTED_MD)
        s = json.loads(self.read('summary.json'))
        self.assertEqual((s['wall_seconds'], s['raw_crashes'], s['new'], s['known']), (1234, 3, 1, 1))
        self.assertEqual(len(s['campaigns']), 3)
        self.assertEqual(s['campaigns'][1]['execs_per_s'], 3923)
        self.assertEqual(s['findings'][0]['file'], 'corpus/found/gp-1.kvt')
        self.assertEqual(s['corpus_coverage']['fuzz-ops'], {'cov': 812, 'ft': 2200})

    def test_nothing_found_and_no_coverage(self):
        self.write('campaigns.tsv', '')
        self.write('findings.tsv', '')
        r = run_module('fuzz_summary', self.out, 5, '/top')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('merging (libFuzzer edges / features over the whole corpus): n/a\n', r.stdout)
        self.assertTrue(r.stdout.endswith(
            'Findings: 0 raw crash(es), 0 distinct: 0 new, 0 already in corpus/found, 0 unreproduced.\n'))

    def test_bad_number_names_file_and_line_and_writes_nothing(self):
        self.write('campaigns.tsv', CAMPAIGNS.replace('\t598\t', '\t59x\t'))
        self.write('findings.tsv', '')
        self.write('summary.md', 'previous\n')
        r = run_module('fuzz_summary', self.out, 5, '/top')
        self.assertEqual(r.returncode, 2)
        self.assertIn('campaigns.tsv:2: seconds is not a whole number', r.stderr)
        self.assertEqual(self.read('summary.md'), 'previous\n')
        self.assertFalse(os.path.exists(os.path.join(self.out, 'summary.json')))

    def test_missing_findings(self):
        self.write('campaigns.tsv', CAMPAIGNS)
        r = run_module('fuzz_summary', self.out, 5, '/top')
        self.assertEqual(r.returncode, 2)
        self.assertIn('findings.tsv', r.stderr)

    def test_bad_coverage_line(self):
        self.write('campaigns.tsv', '')
        self.write('findings.tsv', '')
        self.write('coverage.txt', 'fuzz-ops 812\n')
        r = run_module('fuzz_summary', self.out, 5, '/top')
        self.assertEqual(r.returncode, 2)
        self.assertIn('coverage.txt:1:', r.stderr)


if __name__ == '__main__':
    unittest.main()
