"""ci/fuzz's and ci/campaign's options: a wrong one exits 2 with its message
before anything is built or run, and --help names every option, the
kernel's included."""
import os
import subprocess
import tempfile
import unittest

from tests.run_module import CI_DIR


class FuzzOptions(unittest.TestCase):
    def fuzz(self, *args):
        return subprocess.run(['bash', os.path.join(CI_DIR, 'fuzz')] + list(args),
                              capture_output=True, text=True, check=False, timeout=60)

    def test_bad_options_exit_2(self):
        with tempfile.NamedTemporaryFile(suffix='.tar.xz') as src:
            for args, msg in ((['--engine', 'honggfuzz'], "--engine: libfuzzer, afl or both"),
                              (['--time', '6x'], 'take whole numbers'),
                              (['--jobs', '0'], 'must be positive'),
                              (['fuzz-ops-kernel'], 'target fuzz-ops-kernel needs --kernel-src'),
                              (['--kernel-patch', src.name],
                               '--kernel-patch needs --kernel-src'),
                              (['--kernel-src', '/nonexistent/linux.tar.xz'],
                               '--kernel-src /nonexistent/linux.tar.xz: no such file or folder'),
                              (['--kernel-src', src.name, '--kernel-patch',
                                src.name + ',/nonexistent/fix.patch'],
                               '--kernel-patch /nonexistent/fix.patch: no such file'),
                              (['--kernel-src', src.name, 'fuzz-ops-kernal'],
                               "unknown target 'fuzz-ops-kernal'"),
                              (['--fuzzz'], "unknown option '--fuzzz'")):
                r = self.fuzz(*args)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn(msg, r.stderr)

    def test_help_names_every_option(self):
        r = self.fuzz('--help')
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ('--engine', '--time', '--jobs', '--out', '--corpus-root', '--found',
                    '--no-sanitize', '--kernel-src', '--kernel-patch', 'fuzz-ops-kernel',
                    'Exit status'):
            self.assertIn(opt, r.stdout)
        self.assertNotIn('set -euo', r.stdout)


class CampaignOptions(unittest.TestCase):
    def campaign(self, *args):
        return subprocess.run(['bash', os.path.join(CI_DIR, 'campaign')] + list(args),
                              capture_output=True, text=True, check=False, timeout=60)

    def test_bad_options_exit_2(self):
        with tempfile.NamedTemporaryFile(suffix='.tar.xz') as src:
            for args, msg in ((['--duration', '0'], '--duration must be at least 1'),
                              (['--seed', 'x'], 'take whole numbers'),
                              (['--kernel-src'], '--kernel-src needs a value'),
                              (['--kernel-patch', src.name],
                               '--kernel-patch needs --kernel-src'),
                              (['--kernel-src', '/nonexistent/linux'],
                               '--kernel-src /nonexistent/linux: no such file or folder'),
                              (['--kernel-src', src.name, '--kernel-patch', '/nonexistent/a.patch'],
                               '--kernel-patch /nonexistent/a.patch: no such file'),
                              (['--sed', '1'], "unknown option '--sed'")):
                r = self.campaign(*args)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn(msg, r.stderr)

    def test_help_names_every_option(self):
        r = self.campaign('--help')
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ('--seed', '--duration', '--report', '--kernel-src', '--kernel-patch',
                    'Exit status'):
            self.assertIn(opt, r.stdout)


class NightlyOptions(unittest.TestCase):
    def test_bad_kernel_options_exit_2(self):
        with tempfile.NamedTemporaryFile(suffix='.tar.xz') as src:
            for args, msg in ((['--kernel-patch', src.name], '--kernel-patch needs --kernel-src'),
                              (['--kernel-src', '/nonexistent/linux'],
                               '--kernel-src /nonexistent/linux: no such file or folder'),
                              (['--kernel-src', src.name, '--kernel-patch', '/nonexistent/a.patch'],
                               '--kernel-patch /nonexistent/a.patch: no such file'),
                              (['--budget', '30'], '--budget must be at least 60 s')):
                r = subprocess.run(['bash', os.path.join(CI_DIR, 'nightly')] + args,
                                   capture_output=True, text=True, check=False, timeout=60)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn(msg, r.stderr)


if __name__ == '__main__':
    unittest.main()
