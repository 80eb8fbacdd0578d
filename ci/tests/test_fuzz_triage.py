"""kvtci.fuzz_triage: the same bug gives the same key, different bugs different keys."""
import os
import tempfile
import unittest

from kvtci.fuzz_triage import failure_key, fold, slug
from tests.run_module import run_module

VIOLATION = '''kvtorture: VIOLATION NO-ALLOC-ATOMIC obj=(nil) cpu=0 ctx=task task=kvt-queue
  page allocation with gfp=NOWAIT|NOWARN at kenv_page_alloc under raw lock &krcp->lock (1 held)
  only KENV_GFP_POOL may allocate under a raw lock or with irqs off
  last events:
    #1 pool cpu0 +4
  reproduce: kvtorture replay crash-1234
'''

WARN = '''kvtorture: VIOLATION GP-SAFETY obj=0x1234 cpu=1 ctx=softirq task=kworker/1
  WARN_ON_ONCE(!poll_state_synchronize_rcu(cookie)) at impl/kvfree_rcu.c:301 in kfree_rcu_work
'''

ASAN = '''==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x55
READ of size 8 at 0x602000000010 thread T0
    #0 0x55d0c1 in __asan_memcpy (/x+0x1)
    #1 0x55d0c2 in kfree_rcu_work /src/impl/kvfree_rcu.c:123:4
    #2 0x55d0c3 in LLVMFuzzerTestOneInput /src/harness/fuzz/fuzz_ops.c:10:2
'''

LEAK = '''==1==ERROR: LeakSanitizer: detected memory leaks
    #0 0x4f in malloc (/x+0x4f)
    #1 0x50 in kvt_obj_alloc /src/harness/obj.c:12:3
'''

UBSAN = '''/src/impl/kvfree_rcu.c:412:17: runtime error: index 7 out of bounds for type 'int [4]'
    #0 0x5a in add_ptr_to_bulk_krc_lock /src/impl/kvfree_rcu.c:412:17
'''

FATAL = 'kvtorture: fatal (sim): harness/sim/sched.c:88: sim_switch: too many coroutines (65 > 64)\n'
PARSER = 'fuzz-repro-parser: round trip differs at line 12: op 3 vs 4\n==1== ERROR: libFuzzer: deadly signal\n'
SIGNAL = '''==1== ERROR: libFuzzer: deadly signal
    #0 0x1 in __sanitizer_print_stack_trace
    #1 0x2 in fuzzer::Fuzzer::CrashCallback
    #2 0x3 in kvfree_call_rcu /src/impl/kvfree_rcu.c:9:1
'''


class FailureKey(unittest.TestCase):
    def test_violation(self):
        self.assertEqual(failure_key(VIOLATION, 'crash'), (
            'NO-ALLOC-ATOMIC page allocation with gfp=NOWAIT|NOWARN at kenv_page_alloc '
            'under raw lock &krcp->lock (N held)',
            'no-alloc-atomic-page-allocation-gfp-nowait-nowarn-kenv-page-allo'))

    def test_violation_key_ignores_numbers(self):
        other = VIOLATION.replace('cpu=0', 'cpu=3').replace('(1 held)', '(2 held)')
        self.assertEqual(failure_key(other, 'crash'), failure_key(VIOLATION, 'crash'))

    def test_warning_site(self):
        self.assertEqual(failure_key(WARN, 'crash'), (
            'GP-SAFETY WARN_ON_ONCE(!poll_state_synchronize_rcu(cookie)) in kfree_rcu_work',
            'gp-safety-kfree-rcu-work-warn'))

    def test_sanitizers_name_the_first_frame_under_test(self):
        self.assertEqual(failure_key(ASAN, 'crash'), (
            'AddressSanitizer heap-use-after-free in kfree_rcu_work',
            'heap-use-after-free-kfree-rcu-work'))
        self.assertEqual(failure_key(LEAK, 'crash'),
                         ('LeakSanitizer leak in kvt_obj_alloc', 'leak-kvt-obj-alloc'))

    def test_ubsan(self):
        self.assertEqual(failure_key(UBSAN, 'crash'), (
            "UBSan kvfree_rcu.c: index N out of bounds for type 'int [N]'",
            'ubsan-add-ptr-to-bulk-krc-lock-index-out-bounds-for-type-int'))

    def test_harness_fatal(self):
        self.assertEqual(failure_key(FATAL, 'crash'), (
            'HARNESS-FATAL sim_switch: too many coroutines (N > N)',
            'harness-sim-switch-too-many-coroutines'))

    def test_parser_message_before_signal(self):
        self.assertEqual(failure_key(PARSER, 'crash'), (
            'PARSER round trip differs at line N: op N vs N', 'parser-round-trip-differs-line-op-vs'))

    def test_signal_skips_runtime_frames(self):
        self.assertEqual(failure_key(SIGNAL, 'crash'),
                         ('SIGNAL kvfree_call_rcu', 'signal-kvfree-call-rcu'))

    def test_timeout_and_nothing(self):
        self.assertEqual(failure_key(ASAN, 'timeout'), ('TIMEOUT', 'timeout'))
        self.assertEqual(failure_key('all fine\n', 'crash'), ('UNREPRODUCED', 'unreproduced'))

    def test_fold_and_slug(self):
        self.assertEqual(fold('at 0xdeadbeef cpu12  o7 #3 (nil) 42'), 'at P cpuN oN #N P N')
        self.assertEqual(slug('The', 'A_B of 9x'), 'a-b-x')
        self.assertEqual(slug('123'), 'unknown')
        self.assertLessEqual(len(slug('x' * 100)), 64)


class CommandLine(unittest.TestCase):
    def test_prints_key_tab_slug(self):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, 'crash.log')
            with open(log, 'wb') as f:
                f.write(b'\xff\xfe not UTF-8, read anyway\n' + ASAN.encode())
            r = run_module('fuzz_triage', log, 'crash')
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, 'AddressSanitizer heap-use-after-free in kfree_rcu_work\t'
                                       'heap-use-after-free-kfree-rcu-work\n')

    def test_missing_log_and_bad_kind(self):
        r = run_module('fuzz_triage', '/nonexistent/crash.log', 'crash')
        self.assertEqual(r.returncode, 2)
        self.assertIn('/nonexistent/crash.log', r.stderr)
        self.assertEqual(run_module('fuzz_triage', '/dev/null', 'hang').returncode, 2)


if __name__ == '__main__':
    unittest.main()
