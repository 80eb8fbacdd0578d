"""ci/setup.sh: kvt_worst, the precedence of exit statuses the scripts exit with;
KVT_AFL_CC, the compiler of every AFL++ build, and the build's refusal of one
without the instrument list; the libFuzzer builds' profile (-Dpgo_profile),
which the code under the fuzzers' coverage must not take, and on which the
objects that take it depend."""
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import tempfile
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


def setup_var(name):
    script = 'set -euo pipefail; source "$1"; printf "%s" "${!2}"'
    r = subprocess.run(['bash', '-c', script, 'setup_var', os.path.join(CI_DIR, 'setup.sh'), name],
                       capture_output=True, text=True, check=True)
    return r.stdout


class AflCompiler(unittest.TestCase):
    def test_the_compiler_command_sets_the_instrument_list(self):
        words = shlex.split(setup_var('KVT_AFL_CC'))
        top = os.path.dirname(CI_DIR)
        self.assertEqual(words[0], 'env')
        self.assertEqual(words[-1], 'afl-clang-fast')
        lists = [w.split('=', 1)[1] for w in words if w.startswith('AFL_LLVM_ALLOWLIST=')]
        self.assertEqual(lists, [os.path.join(top, 'harness/fuzz/coverage-allowlist.txt')])
        self.assertTrue(os.path.isfile(lists[0]))

    @unittest.skipUnless(shutil.which('afl-clang-fast') and shutil.which('meson'),
                         'needs afl-clang-fast and meson')
    def test_an_afl_build_without_the_list_is_refused(self):
        top = os.path.dirname(CI_DIR)
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, CC='afl-clang-fast')
            env.pop('AFL_LLVM_ALLOWLIST', None)
            r = subprocess.run(['meson', 'setup', os.path.join(d, 'b'), top, '-Dfuzzing=afl',
                                '-Dstress=disabled'], env=env, capture_output=True, text=True,
                               check=False, timeout=100)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn('the compiler command must set the instrument list', r.stdout + r.stderr)


def allowlist_patterns():
    """The `src:` patterns of harness/fuzz/coverage-allowlist.txt."""
    top = os.path.dirname(CI_DIR)
    with open(os.path.join(top, 'harness/fuzz/coverage-allowlist.txt')) as f:
        return [ln.strip()[4:] for ln in f if ln.startswith('src:')]


def meson_setup(builddir, *opts, cc='clang'):
    top = os.path.dirname(CI_DIR)
    env = dict(os.environ, CC=cc)
    return subprocess.run(['meson', 'setup', builddir, top, '-Dstress=disabled'] + list(opts),
                          env=env, capture_output=True, text=True, check=False, timeout=200)


class PgoProfile(unittest.TestCase):
    def test_the_libfuzzer_builds_name_the_profile(self):
        profile = setup_var('KVT_PGO_PROFILE')
        self.assertTrue(profile.endswith('/build-pgo/fuzz-ops.profdata'), profile)
        script = 'set -euo pipefail; source "$1"; printf "%s\\n" "${KVT_LIBFUZZER_OPTIONS[@]}"'
        r = subprocess.run(['bash', '-c', script, 'opts', os.path.join(CI_DIR, 'setup.sh')],
                           capture_output=True, text=True, check=True)
        self.assertIn('-Dpgo_profile=' + profile, r.stdout.splitlines())

    @unittest.skipUnless(shutil.which('clang') and shutil.which('meson'), 'needs clang and meson')
    def test_only_code_outside_the_coverage_takes_the_profile(self):
        # Coverage is instrumented after inlining: a profile reaching the
        # code under test would change the edges the fuzzers see.
        with tempfile.TemporaryDirectory() as d:
            profile = os.path.join(d, 'p.profdata')
            open(profile, 'w').close()   # meson only checks that it is there
            r = meson_setup(os.path.join(d, 'b'), '-Dfuzzing=libfuzzer',
                            '-Dpgo_profile=' + profile)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(d, 'b', 'compile_commands.json')) as f:
                commands = json.load(f)
        flag = '-fprofile-instr-use=' + profile
        covered, taking = [], set()
        for c in commands:
            name = c['file']
            if any(fnmatch.fnmatch(name, p) for p in allowlist_patterns()):
                covered.append(name)
                self.assertNotIn(flag, c['command'], name)
            elif flag in c['command']:
                taking.add(os.path.basename(name))
        self.assertTrue(any(n.endswith('impl/kvfree_rcu.c') for n in covered), covered)
        self.assertTrue(any(n.endswith('harness/ops/ops.c') for n in covered), covered)
        for name in ('check_shadow.c', 'check_structure.c', 'sim_sched.c', 'exec.c'):
            self.assertIn(name, taking)

    @unittest.skipUnless(shutil.which('clang') and shutil.which('meson') and
                         shutil.which('ninja') and shutil.which('llvm-profdata-14'),
                         'needs clang, meson, ninja and llvm-profdata-14')
    def test_a_changed_profile_compiles_its_objects_again(self):
        # ninja does not know the file a flag names; an LTO link refuses
        # objects of two profiles (ProfileSummary), so one ninja run after
        # the profile changes must compile every object that takes it.
        with tempfile.TemporaryDirectory() as d:
            def profile(text):
                src = os.path.join(d, 'p.proftext')
                with open(src, 'w') as f:
                    f.write(text)
                subprocess.run(['llvm-profdata-14', 'merge', '-o', os.path.join(d, 'p.profdata'),
                                src], check=True, capture_output=True)

            def build():
                r = subprocess.run(['ninja', '-C', b, '-v', 'harness/check/libcheck.a'],
                                   capture_output=True, text=True, check=False, timeout=300)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                return r.stdout

            b = os.path.join(d, 'b')
            profile('')
            r = meson_setup(b, '-Dpgo_profile=' + os.path.join(d, 'p.profdata'))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn('check_shadow.c', build())
            self.assertNotIn('check_shadow.c', build())
            profile('f\n0x1234\n1\n7\n')
            self.assertIn('check_shadow.c', build())

    @unittest.skipUnless(shutil.which('clang') and shutil.which('meson'), 'needs clang and meson')
    def test_a_missing_profile_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            r = meson_setup(os.path.join(d, 'b'), '-Dpgo_profile=' + os.path.join(d, 'none'))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('-Dpgo_profile=' + os.path.join(d, 'none') + ': no such file',
                      r.stdout + r.stderr)

    @unittest.skipUnless(shutil.which('gcc') and shutil.which('meson'), 'needs gcc and meson')
    def test_gcc_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            profile = os.path.join(d, 'p.profdata')
            open(profile, 'w').close()
            r = meson_setup(os.path.join(d, 'b'), '-Dpgo_profile=' + profile, cc='gcc')
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('-Dpgo_profile needs clang', r.stdout + r.stderr)


def build_option(builddir, name):
    """The value meson configured @builddir with for option @name."""
    r = subprocess.run(['meson', 'introspect', '--buildoptions', builddir],
                       capture_output=True, text=True, check=True)
    return next(o['value'] for o in json.loads(r.stdout) if o['name'] == name)


class KvtBuild(unittest.TestCase):
    @unittest.skipUnless(shutil.which('clang') and shutil.which('meson') and shutil.which('ninja'),
                         'needs clang, meson and ninja')
    @staticmethod
    def kvt_build(calls, folder, cwd=None):
        """Runs @calls (kvt_build command lines, "$2" the build folder) in bash."""
        script = ('set -euo pipefail; source "$1"; KVT_TOP=$(cd "$(dirname "$1")/.." && pwd); '
                  + '; '.join(calls))
        return subprocess.run(['bash', '-c', script, 'kvt_build', os.path.join(CI_DIR, 'setup.sh'), folder],
                              cwd=cwd, capture_output=True, text=True, check=False, timeout=110)

    def test_options_left_out_do_not_stay(self):
        # kvt_build configures a folder again when its options change; an
        # option the new set leaves out must be back at its default (meson's
        # --wipe kept it: a -Dkernel_patch stayed applied).
        with tempfile.TemporaryDirectory() as d:
            b = os.path.join(d, 'b')
            r = self.kvt_build(['CC=clang kvt_build "$2" -Dstress=disabled -Dinject=B2 -- build.ninja',
                                'CC=clang kvt_build "$2" -Dstress=disabled -- build.ninja'], b)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('configured with other options', r.stderr)
            self.assertEqual(build_option(b, 'inject'), '')
            self.assertEqual(build_option(b, 'stress'), 'disabled')

    @unittest.skipUnless(shutil.which('clang') and shutil.which('meson') and shutil.which('ninja'),
                         'needs clang, meson and ninja')
    def test_a_profiling_build_leaves_no_profile_behind(self):
        # meson setup runs its compiler checks in the current folder; built
        # with -fprofile-instr-generate, each wrote default.profraw there (the
        # top of the tree, for ci/coverage and the profile of build-pgo).
        with tempfile.TemporaryDirectory() as d:
            b = os.path.join(d, 'b')
            r = self.kvt_build(['CC=clang kvt_build "$2" -Dstress=disabled -Dc_args=-fprofile-instr-generate '
                                '-Dc_link_args=-fprofile-instr-generate -- build.ninja'], b, cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.isfile(os.path.join(b, 'build.ninja')))
            self.assertEqual([f for f in os.listdir(d) if f.endswith('.profraw')], [])


class LlvmTool(unittest.TestCase):
    def run_tool(self, name):
        script = 'set -euo pipefail; source "$1"; x=$(kvt_llvm_tool "$2"); printf "%s" "$x"'
        return subprocess.run(['bash', '-c', script, 'tool', os.path.join(CI_DIR, 'setup.sh'), name],
                              capture_output=True, text=True, check=False)

    def test_a_missing_tool_is_a_setup_error(self):
        r = self.run_tool('llvm-no-such-tool')
        self.assertEqual(r.returncode, 99)
        self.assertIn('llvm-no-such-tool-14 is needed (package llvm-14)', r.stderr)

    @unittest.skipUnless(shutil.which('llvm-profdata-14'), 'needs llvm-profdata-14')
    def test_version_14_first(self):
        r = self.run_tool('llvm-profdata')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, shutil.which('llvm-profdata-14'))


if __name__ == '__main__':
    unittest.main()
