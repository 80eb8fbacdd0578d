"""kvtci.stress_report: the command and outcome of a stress report folder."""
import json
import os
import tempfile
import unittest

from kvtci import stress_report
from kvtci.errors import BadInput
from tests.run_module import run_module

COMMAND = 'build/kvstress --scenario syscall --cpus 4 --duration 2 --seed 7 --report r'
REPORT = {'tool': 'kvtorture stress', 'status': 'violation', 'exit_code': 1, 'seed': 7,
          'command': COMMAND, 'per_cpu': [],
          'violations': {'total': 3, 'by_invariant': {'GP-SAFETY': 2, 'BOUNDED': 1}}}


class Folder(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.json = os.path.join(self.dir, 'report.json')

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.dir, name), 'w') as f:
            f.write(text)


class Command(Folder):
    def test_from_report_json(self):
        self.write('report.json', json.dumps(REPORT, indent=2))
        self.write('violation.txt', 'reproduce: something else\n')
        self.assertEqual(stress_report.recorded_command(self.dir), COMMAND)

    def test_from_violation_hang_or_run_log(self):
        self.write('run.log', 'seed 7\ncommand: from-run-log --x\n')
        self.assertEqual(stress_report.recorded_command(self.dir), 'from-run-log --x')
        self.write('hang.txt', 'WATCHDOG: stuck\nreproduce: from-hang --h\n')
        self.assertEqual(stress_report.recorded_command(self.dir), 'from-hang --h')
        self.write('violation.txt', 'VIOLATION X\n  reproduce: from-violation --v\n')
        self.assertEqual(stress_report.recorded_command(self.dir), 'from-violation --v')

    def test_report_without_command_falls_back(self):
        self.write('report.json', '{"status": "pass"}')
        self.write('run.log', 'command: kvstress --n\n')
        self.assertEqual(stress_report.recorded_command(self.dir), 'kvstress --n')

    def test_none(self):
        self.assertIsNone(stress_report.recorded_command(self.dir))
        r = run_module('stress_report', 'command', self.dir)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (1, '', ''))

    def test_command_line(self):
        self.write('report.json', json.dumps(REPORT))
        r = run_module('stress_report', 'command', self.dir)
        self.assertEqual((r.returncode, r.stdout), (0, COMMAND + '\n'), r.stderr)


class Outcome(Folder):
    def test_invariants_sorted(self):
        self.assertEqual(stress_report.outcome(REPORT), 'BOUNDED,GP-SAFETY')

    def test_status_when_no_violation(self):
        self.assertEqual(stress_report.outcome({'status': 'hang', 'violations': {}}), 'hang')
        self.assertEqual(stress_report.outcome({}), '')

    def test_command_line(self):
        self.write('report.json', json.dumps(dict(REPORT, violations={}, status='pass')))
        r = run_module('stress_report', 'outcome', self.json)
        self.assertEqual((r.returncode, r.stdout), (0, 'pass\n'), r.stderr)

    def test_missing_report_prints_an_empty_line(self):
        r = run_module('stress_report', 'outcome', self.json)
        self.assertEqual((r.returncode, r.stdout), (0, '\n'), r.stderr)


class BadReport(Folder):
    """A malformed report.json: a clear error naming the file and line, exit 2."""

    def test_truncated(self):
        text = json.dumps(REPORT, indent=2)
        self.write('report.json', text[:len(text) // 2])
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        msg = str(cm.exception)
        self.assertTrue(msg.startswith(self.json + ':'), msg)
        self.assertIn('malformed JSON', msg)
        self.assertIn('truncated', msg)

    def test_truncated_inside_a_value(self):
        self.write('report.json', '{\n  "status": "pass",\n  "interposer": tru')
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        self.assertEqual(str(cm.exception), self.json + ':3:17: malformed JSON: Expecting value; '
                         'the file ends early (truncated?)')

    def test_line_and_column(self):
        self.write('report.json', '{\n  "status": "pass",\n  "seed": 7 7\n}\n')
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        self.assertTrue(str(cm.exception).startswith(self.json + ':3:13: malformed JSON: '),
                        str(cm.exception))
        self.assertNotIn('truncated', str(cm.exception))

    def test_empty_file(self):
        self.write('report.json', '')
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        self.assertIn(self.json + ':1:1: malformed JSON', str(cm.exception))

    def test_not_an_object(self):
        self.write('report.json', '[1, 2]')
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        self.assertIn('not a stress report', str(cm.exception))

    def test_not_utf8(self):
        with open(self.json, 'wb') as f:
            f.write(b'{"status": "\xff"}')
        with self.assertRaises(BadInput) as cm:
            stress_report.load(self.json)
        self.assertIn(self.json + ': not UTF-8', str(cm.exception))

    def test_command_line_exits_2_and_does_not_fall_back(self):
        self.write('report.json', json.dumps(REPORT)[:40])
        self.write('run.log', 'command: must not be used\n')
        for args in (('command', self.dir), ('outcome', self.json)):
            r = run_module('stress_report', *args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(r.stdout, '')
            self.assertRegex(r.stderr, r'^ci-test: .*report\.json:1:\d+: malformed JSON')
        with open(self.json) as f:
            self.assertEqual(f.read(), json.dumps(REPORT)[:40])

    def test_usage(self):
        self.assertEqual(run_module('stress_report', 'replay', self.dir).returncode, 2)


if __name__ == '__main__':
    unittest.main()
