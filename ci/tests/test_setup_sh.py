"""ci/setup.sh: kvt_worst, the precedence of exit statuses the scripts exit with."""
import os
import subprocess
import unittest

from tests.run_module import CI_DIR


def kvt_worst(*statuses):
    script = 'set -euo pipefail; source "$1"; shift; kvt_worst "$@"'
    r = subprocess.run(['bash', '-c', script, 'kvt_worst', os.path.join(CI_DIR, 'setup.sh')]
                       + list(statuses), capture_output=True, text=True, check=True)
    return r.stdout.strip()


class KvtWorst(unittest.TestCase):
    def test_precedence(self):
        # 99 > 3 > 2 > 1 > 0 > 77, whatever the order.
        for statuses, worst in ((('0', '0'), '0'), (('1', '0'), '1'), (('0', '1'), '1'),
                                (('1', '2'), '2'), (('3', '2', '1'), '3'), (('1', '3'), '3'),
                                (('3', '99', '0'), '99'), (('0', '77'), '0'),
                                (('77', '1'), '1'), (('77', '77'), '77')):
            self.assertEqual(kvt_worst(*statuses), worst, statuses)

    def test_other_statuses_count_as_a_failure(self):
        self.assertEqual(kvt_worst('134', '0'), '1')   # a sanitizer's abort
        self.assertEqual(kvt_worst('124'), '1')        # a timeout
        self.assertEqual(kvt_worst('134', '2'), '2')

    def test_empty_and_dash_ignored(self):
        self.assertEqual(kvt_worst(), '0')
        self.assertEqual(kvt_worst('', '-', '3'), '3')
        self.assertEqual(kvt_worst('-'), '0')


if __name__ == '__main__':
    unittest.main()
