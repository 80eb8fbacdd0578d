"""kvtci.coverage_summary: ci/coverage's table and list of what is never run."""
import json
import os
import tempfile
import unittest

from tests.run_module import run_module

TOP = '/src/kvt'


def summary_json(lines=(100, 97), branches=(40, 38), functions=(10, 10)):
    def kind(count, covered):
        return {'count': count, 'covered': covered,
                'percent': 100.0 * covered / count if count else 0}
    return {'data': [{'files': [
        {'filename': TOP + '/build-coverage/../impl/kvfree_config.c',
         'summary': {'lines': kind(10, 9), 'branches': kind(4, 2), 'functions': kind(2, 2),
                     'regions': kind(1, 1)}},
        {'filename': TOP + '/build-coverage/../impl/kvfree_rcu.c',
         'summary': {'lines': kind(*lines), 'branches': kind(*branches),
                     'functions': kind(*functions), 'regions': kind(1, 1)}},
        {'filename': TOP + '/build-coverage/../impl/kvfree_rcu.h',
         'summary': {'lines': kind(0, 0), 'branches': kind(0, 0), 'functions': kind(0, 0),
                     'regions': kind(0, 0)}},
    ], 'totals': {}}], 'type': 'llvm.coverage.json.export', 'version': '2.0.1'}


SHOW = (TOP + '/build-coverage/../impl/kvfree_config.c:\n'
        '    1|       |/* config */\n'
        '    2|      5|int f(int x)\n'
        '    3|      0|\treturn 0;\n'
        '  ------------------\n'
        '  |  Branch (2:6): [True: 5, False: 0]\n'
        '  ------------------\n'
        '\n' + TOP + '/build-coverage/../impl/kvfree_rcu.c:\n'
        '  733|  1.20k|\tif (++krcp->rate_calls < kvfree_cfg.rate_calls)\n'
        '  ------------------\n'
        '  |  Branch (733:6): [True: 1.20k, False: 0]\n'
        '  ------------------\n'
        '  734|      0|\tnow = kenv_clock_ns();\n'
        '  735|      0|\treturn high;\n'
        '  ------------------\n'
        '  | kvfree_rcu.c:helper:\n'
        '  |  735|      0|\treturn high;\n'
        '  |  |  Branch (733:6): [True: 1.20k, False: 0]\n'
        '  ------------------\n'
        '  950|     12|\tfor (int i = 0; i < 2; i++)\n'
        '  ------------------\n'
        '  |  Branch (950:19): [True: 0, False: 0]\n'
        '  ------------------\n')


class CoverageSummary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.out = os.path.join(self.dir, 'out')

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
        return path

    def run_summary(self, summary=None, show=SHOW, *extra):
        s = self.write('summary.json', json.dumps(summary or summary_json()))
        t = self.write('show.txt', show)
        return run_module('coverage_summary', s, t, self.out, TOP, *extra)

    def read(self, name):
        with open(os.path.join(self.out, name), encoding='utf-8') as f:
            return f.read()

    def test_table(self):
        r = self.run_summary()
        self.assertEqual(r.returncode, 0, r.stderr)
        md = self.read('summary.md')
        self.assertIn('| impl/kvfree_rcu.c | 97.00 % (97/100) | 95.00 % (38/40) | '
                      '100.00 % (10/10) |', md)
        self.assertIn('| impl/kvfree_config.c | 90.00 % (9/10) |', md)
        self.assertNotIn('kvfree_rcu.h', md, 'a file without code is left out')

    def test_uncovered(self):
        r = self.run_summary()
        self.assertEqual(r.returncode, 0, r.stderr)
        md = self.read('uncovered.md')
        self.assertIn('## impl/kvfree_rcu.c', md)
        self.assertIn('  734  \tnow = kenv_clock_ns();\n', md)
        self.assertEqual(md.count('  735  '), 1, 'a line repeated by a sub-view counts once')
        self.assertIn('  733:6   false  if (++krcp->rate_calls < kvfree_cfg.rate_calls)', md)
        self.assertEqual(md.count('733:6'), 1, 'a branch repeated by a sub-view counts once')
        self.assertIn('  950:19  true ', md)
        self.assertIn('  950:19  false', md)
        self.assertIn('    3  \treturn 0;', md)
        data = json.loads(self.read('summary.json'))
        rcu = [f for f in data['files'] if f['file'] == 'impl/kvfree_rcu.c'][0]
        self.assertEqual(rcu['uncovered_lines'], [734, 735])
        self.assertEqual(rcu['uncovered_branches'], ['733:6:false', '950:19:false', '950:19:true'])

    def test_gates(self):
        r = self.run_summary(None, SHOW, '--fail-under-lines', '97', '--fail-under-branches', '95')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('impl/kvfree_rcu.c lines: at least 97.0 % required: met', self.read('summary.md'))
        r = self.run_summary(None, SHOW, '--fail-under-lines', '98')
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('lines: at least 98.0 % required: NOT met', self.read('summary.md'))
        self.assertFalse(json.loads(self.read('summary.json'))['gates'][0]['met'])

    def test_bad_input(self):
        r = self.run_summary({'data': []})
        self.assertEqual(r.returncode, 2)
        self.assertIn('summary.json: not llvm-cov export JSON', r.stderr)
        self.assertFalse(os.path.exists(self.out), 'nothing written on bad input')
        r = self.run_summary(None, '   12|      0|orphan\n')
        self.assertEqual(r.returncode, 2)
        self.assertIn('show.txt:1: a source line before any file name', r.stderr)
        r = self.run_summary(None, SHOW, '--fail-under-lines', 'most')
        self.assertEqual(r.returncode, 2)
        self.assertIn('--fail-under-lines', r.stderr)


if __name__ == '__main__':
    unittest.main()
