"""kvtci.fuzz_bench: ci/bench --fuzz's fuzz.txt and fuzz.json from its runs."""
import json
import os
import subprocess
import tempfile
import unittest

from tests.run_module import CI_DIR, FolderTest, run_module

LF_PLAIN = '''INFO: Seed: 1
#2	INITED cov: 270 ft: 1500 corp: 21/1020b exec/s: 0 rss: 40Mb
#65536	pulse  cov: 280 ft: 1800 corp: 400/30Kb lim: 400 exec/s: 13107 rss: 45Mb
#600000	DONE   cov: 285 ft: 1973 corp: 603/69Kb lim: 1840 exec/s: 10000 rss: 53Mb
Done 600000 runs in 60 second(s)
'''
LF_ASAN_CRASH = '''#2	INITED cov: 260 ft: 1400 corp: 21/1020b exec/s: 0 rss: 400Mb
#4096	pulse  cov: 262 ft: 1450 corp: 30/2Kb lim: 80 exec/s: 2048 rss: 420Mb
#5000	NEW    cov: 263 ft: 1460 corp: 31/2Kb lim: 80 exec/s: 2500 rss: 420Mb L: 40/80 MS: 1 ChangeBit-
==1==ERROR: AddressSanitizer: heap-use-after-free
'''
AFL_STATS = '''start_time        : 1796159401
run_time          : 60
execs_done        : 563766
execs_per_sec     : 9394.69
corpus_count      : 454
stability         : 100.00%
command_line      : afl-fuzz -i corpus/fuzz-ops -o out -- build-afl/fuzz-ops
'''


class FuzzBench(FolderTest):
    def runs(self, crash=False):
        self.write('p1/fuzz.log', LF_PLAIN)
        self.write('a1/fuzz.log', LF_ASAN_CRASH if crash else LF_PLAIN.replace('10000', '4000'))
        self.write('f1/fuzzer_stats', AFL_STATS)
        self.write('p2/fuzz.log', LF_PLAIN.replace('#600000\tDONE', '#480000\tDONE')
                   .replace('exec/s: 10000', 'exec/s: 8000'))
        self.write('fuzz-runs.tsv',
                   'build-fuzz-plain\tlibfuzzer\t1\t60\t59.5\t0.5\t0\tp1/fuzz.log\n'
                   'build-fuzz\tlibfuzzer\t1\t60\t55.0\t5.0\t%d\ta1/fuzz.log\n'
                   'build-afl\tafl\t1\t60\t0.4\t1.6\t0\tf1/fuzzer_stats\n'
                   'build-fuzz-plain\tlibfuzzer\t2\t60\t59.0\t1.0\t0\tp2/fuzz.log\n' %
                   (1 if crash else 0))
        self.write('fuzz-fixed.tsv',
                   'build-fuzz-plain\t1\t500\t5\t0.25\t0.0\n'
                   'build-fuzz\t1\t500\t5\t1.0\t0.0\n'
                   'build-fuzz-plain\t2\t500\t5\t0.30\t0.0\n')

    def test_figures(self):
        self.runs()
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('| build-fuzz-plain | libfuzzer | 2 | 9,000 (8,000-10,000) | 9,000 (8,000-10,000) | - | '
                      '110.0 (100.0-120.0) |\n', r.stdout)
        self.assertIn('| build-afl | afl | 1 | 9,395 | - | 100.00% | - |\n', r.stdout)
        self.assertIn('| build-fuzz-plain | 1 | 60 | 600000 | 10000 | 60.0 | 603 | 285 / 1973 | '
                      '1840 | done |\n', r.stdout)
        self.assertEqual(self.read('fuzz.txt'), r.stdout)
        s = json.loads(self.read('fuzz.json'))
        self.assertEqual([b['build'] for b in s['builds']],
                         ['build-fuzz-plain', 'build-fuzz', 'build-afl'])
        self.assertEqual(s['builds'][0]['median_execs_per_s'], 9000)
        self.assertEqual(s['builds'][1]['us_per_exec_fixed'], [400.0])
        self.assertEqual(s['runs'][2]['execs'], 563766)
        self.assertIsNone(s['runs'][2]['execs_per_cpu_s'])

    def test_checker_share_against_nocheck(self):
        self.runs()
        self.write('n1/fuzz.log', LF_PLAIN.replace('exec/s: 10000', 'exec/s: 16000'))
        with open(os.path.join(self.out, 'fuzz-runs.tsv'), 'a', encoding='utf-8') as f:
            f.write('build-fuzz-plain-nocheck\tlibfuzzer\t1\t60\t59.5\t0.5\t0\tn1/fuzz.log\n')
        with open(os.path.join(self.out, 'fuzz-fixed.tsv'), 'a', encoding='utf-8') as f:
            f.write('build-fuzz-plain-nocheck\t1\t500\t5\t0.11\t0.0\n')
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        # 9,000 against 16,000 exec/s; 110 against 44 us per execution.
        self.assertIn('- build-fuzz-plain: 43.8 % of the exec/s, 60.0 % of the fixed '
                      'workload\'s time\n', r.stdout)
        s = json.loads(self.read('fuzz.json'))
        self.assertEqual(s['checker_share'],
                         [{'build': 'build-fuzz-plain', 'execs_per_s': 43.8, 'fixed': 60.0}])
        # Without a -nocheck build there is no such line.
        self.runs()
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertNotIn('checker\'s share', r.stdout)
        self.assertEqual(json.loads(self.read('fuzz.json'))['checker_share'], [])

    def test_crash_lists_the_reproducer_and_exits_1(self):
        self.runs(crash=True)
        self.write('artifacts.tsv', 'build-fuzz\t1\t%s\nbuild-fuzz-plain\t0\t%s\n' % (
            os.path.join(self.out, 'a1/crash-abc'), os.path.join(self.out, 'fixed-inputs/f00')))
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 1, r.stderr)
        # The last status line of a run cut short.
        self.assertIn('| build-fuzz | 1 | 60 | 5000 | 2500 | 60.0 | 31 | 263 / 1460 | 80 | '
                      'stopped (exit 1) |', r.stdout)
        self.assertIn('build-fuzz, seed 1: a1/crash-abc (reproduce: '
                      '`build/kvtorture replay -v a1/crash-abc`)', r.stdout)
        self.assertIn('build-fuzz-plain, fixed workload: fixed-inputs/f00 (reproduce: '
                      '`build/kvtorture replay -v fixed-inputs/f00`)', r.stdout)

    def test_bad_number_names_file_and_line_and_writes_nothing(self):
        self.runs()
        self.write('fuzz-fixed.tsv', 'build-fuzz\t1\t500\t5\t1.0\t0.0\nbuild-fuzz\t2\t5x0\t5\t1\t0\n')
        self.write('fuzz.txt', 'previous\n')
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 2)
        self.assertIn('fuzz-fixed.tsv:2: inputs is not a whole number', r.stderr)
        self.assertEqual(self.read('fuzz.txt'), 'previous\n')
        self.assertFalse(os.path.exists(os.path.join(self.out, 'fuzz.json')))

    def refused(self, name, text, msg):
        """With the runs of runs() but @name holding @text: exit 2, @msg said."""
        self.runs()
        self.write(name, text)
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(msg, r.stderr)

    def test_truncated_line_and_unknown_engine(self):
        self.refused('fuzz-runs.tsv', 'build-fuzz\tlibfuzzer\t1\t60\n',
                     'fuzz-runs.tsv:1: expected 8 tab-separated fields')
        self.refused('fuzz-runs.tsv', 'b\thonggfuzz\t1\t60\t1\t1\t0\tx\n',
                     'fuzz-runs.tsv:1: engine is libfuzzer or afl')

    def test_log_without_status_and_stats_without_execs(self):
        self.refused('p1/fuzz.log', 'INFO: Seed: 1\n==1==ERROR: libFuzzer: out-of-memory\n',
                     'p1/fuzz.log: no libFuzzer status line')
        self.refused('f1/fuzzer_stats', AFL_STATS.replace('execs_done', 'execs_gone'),
                     'f1/fuzzer_stats: no execs_done')

    def test_no_runs(self):
        self.write('fuzz-runs.tsv', '')
        self.write('fuzz-fixed.tsv', '')
        r = run_module('fuzz_bench', self.out, self.out)
        self.assertEqual(r.returncode, 2)
        self.assertIn('fuzz-runs.tsv: no runs', r.stderr)


class BenchOptions(unittest.TestCase):
    """ci/bench refuses bad options before it installs or builds anything."""

    def bench(self, *args):
        return subprocess.run(['bash', os.path.join(CI_DIR, 'bench')] + list(args),
                              capture_output=True, text=True, check=False, timeout=60)

    def test_bad_options_exit_2(self):
        for args, msg in ((['--fuzz', '--seconds', '6x'], 'take whole numbers'),
                          (['--fuzz', '--seeds', '0'], 'must be positive'),
                          (['--fuzz', '--fixed', '/nonexistent/inputs'],
                           '--fixed /nonexistent/inputs: not a folder of inputs'),
                          (['--ceiling'], '--ceiling goes with --fuzz'),
                          (['--pair', '/bin/true'], '--pair needs two programs'),
                          (['--pair', '/nonexistent/a', '/bin/true', '--inputs', '/tmp'],
                           '--pair /nonexistent/a: not a program'),
                          (['--pair', '/bin/true', '/bin/true'],
                           '--inputs (none): not a folder of inputs'),
                          (['--pair', '/bin/true', '/bin/true', '--inputs', '/tmp',
                            '--rounds', '0'], '--runs and --rounds must be positive'),
                          (['--pair', '/bin/true', '/bin/true', '--fuzz'],
                           '--pair and --fuzz are two different benchmarks'),
                          (['--fuzzz'], "unknown option '--fuzzz'")):
            r = self.bench(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(msg, r.stderr)

    def test_help_names_every_option(self):
        r = self.bench('--help')
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ('--fuzz', '--seconds', '--seeds', '--fixed', '--ceiling', '--out', '--pair',
                    '--inputs', '--runs', '--rounds',
                    'Nothing here judges a time'):
            self.assertIn(opt, r.stdout)
        self.assertNotIn('set -euo', r.stdout)

    def test_empty_fixed_folder(self):
        with tempfile.TemporaryDirectory() as d:
            r = self.bench('--fuzz', '--fixed', d)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn('not a folder of inputs', r.stderr)


if __name__ == '__main__':
    unittest.main()
