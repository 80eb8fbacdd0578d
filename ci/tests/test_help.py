"""Every ci/ script's --help prints its header comment whole: from its second
line to the last comment line before the script begins, no code."""
import os
import subprocess
import unittest

from tests.run_module import CI_DIR

SCRIPTS = ('bench', 'campaign', 'coverage', 'fuzz', 'hunt', 'nightly', 'replay-report', 'test')


def header(path):
    """The comment lines after the shebang, up to the first line of code."""
    lines = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f):
            if n == 0:
                continue
            if not line.startswith('#'):
                break
            lines.append(line.rstrip('\n'))
    return lines


class Help(unittest.TestCase):
    def test_help_is_the_whole_header(self):
        for name in SCRIPTS:
            path = os.path.join(CI_DIR, name)
            r = subprocess.run(['bash', path, '--help'], capture_output=True, text=True,
                               check=False, timeout=60)
            self.assertEqual(r.returncode, 0, (name, r.stderr))
            self.assertEqual(r.stdout.splitlines(), header(path), name)


if __name__ == '__main__':
    unittest.main()
