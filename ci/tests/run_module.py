"""Running a kvtci module's command line as the ci/ scripts do, and a folder for its files."""
import os
import subprocess
import sys
import tempfile
import unittest

CI_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, cwd=None):
    """`python3 -m kvtci.MODULE ARGS` with its output captured; messages named 'ci-test'."""
    env = dict(os.environ, PYTHONPATH=CI_DIR, PYTHONDONTWRITEBYTECODE='1', KVT_PROG='ci-test')
    return subprocess.run([sys.executable, '-m', 'kvtci.' + module] + [str(a) for a in args],
                          env=env, cwd=cwd, capture_output=True, text=True, check=False)


class FolderTest(unittest.TestCase):
    """A test with a temporary folder, self.out, to write a module's input files in."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        """Write self.out/name (its folders made); returns its path."""
        path = os.path.join(self.out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def read(self, name):
        with open(os.path.join(self.out, name)) as f:
            return f.read()
