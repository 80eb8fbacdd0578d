"""Running a kvtci module's command line as the ci/ scripts do, for the tests."""
import os
import subprocess
import sys

CI_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, cwd=None):
    """`python3 -m kvtci.MODULE ARGS` with its output captured; messages named 'ci-test'."""
    env = dict(os.environ, PYTHONPATH=CI_DIR, PYTHONDONTWRITEBYTECODE='1', KVT_PROG='ci-test')
    return subprocess.run([sys.executable, '-m', 'kvtci.' + module] + [str(a) for a in args],
                          env=env, cwd=cwd, capture_output=True, text=True, check=False)
