"""ci/fuzz's, ci/campaign's and ci/nightly's options: a wrong one exits 2 with
its message before anything is built or run, and --help names every option,
the kernel's included."""
import os
import subprocess
import tempfile
import unittest

from tests.run_module import CI_DIR

# A file that exists, to stand for a kernel tarball or a patch.
SRC = '@src'


def script(name, *args):
    """ci/NAME ARGS..., its output captured."""
    return subprocess.run(['bash', os.path.join(CI_DIR, name)] + list(args),
                          capture_output=True, text=True, check=False, timeout=60)


def kernel_cases():
    """Wrong kernel options, the same for every script that takes them."""
    return ((['--kernel-patch', SRC], '--kernel-patch needs --kernel-src'),
            (['--kernel-src', '/nonexistent/linux'],
             '--kernel-src /nonexistent/linux: no such file or folder'),
            (['--kernel-src', SRC, '--kernel-patch', SRC + ',/nonexistent/fix.patch'],
             '--kernel-patch /nonexistent/fix.patch: no such file'))


class ScriptOptions(unittest.TestCase):
    def bad(self, name, cases):
        """Each (args, message) of @cases: ci/NAME exits 2 and says the message."""
        with tempfile.NamedTemporaryFile(suffix='.tar.xz') as src:
            for args, msg in cases:
                args = [a.replace(SRC, src.name) for a in args]
                r = script(name, *args)
                self.assertEqual(r.returncode, 2, (name, args, r.stderr))
                self.assertIn(msg, r.stderr)

    def help_names(self, name, options):
        r = script(name, '--help')
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in options + ('--kernel-src', '--kernel-patch', 'Exit status'):
            self.assertIn(opt, r.stdout)

    def test_fuzz(self):
        self.bad('fuzz', kernel_cases() + (
            (['--engine', 'honggfuzz'], '--engine: libfuzzer, afl or both'),
            (['--time', '6x'], 'take whole numbers'),
            (['--jobs', '0'], 'must be positive'),
            (['fuzz-ops-kernel'], 'target fuzz-ops-kernel needs --kernel-src'),
            (['--kernel-src', SRC, 'fuzz-ops-kernal'], "unknown target 'fuzz-ops-kernal'"),
            (['--fuzzz'], "unknown option '--fuzzz'")))
        self.help_names('fuzz', ('--engine', '--time', '--jobs', '--out', '--corpus-root',
                                 '--found', '--no-sanitize', 'fuzz-ops-kernel'))

    def test_campaign(self):
        self.bad('campaign', kernel_cases() + (
            (['--duration', '0'], '--duration must be at least 1'),
            (['--seed', 'x'], 'take whole numbers'),
            (['--kernel-src'], '--kernel-src needs a value'),
            (['--sed', '1'], "unknown option '--sed'")))
        self.help_names('campaign', ('--seed', '--duration', '--report'))

    def test_nightly(self):
        self.bad('nightly', kernel_cases() + (
            (['--budget', '30'], '--budget must be at least 60 s'),
            (['--builds', 'msan'], "--builds: plain, asan, tsan, not 'msan'")))
        self.help_names('nightly', ('--budget', '--seed', '--report', '--builds'))


if __name__ == '__main__':
    unittest.main()
