"""kvtci.seed_sync: the seed corpora against what ci/seeds makes of corpus/seeds/."""
import os
import stat
import unittest

from kvtci.seed_sync import dictionary, op_records
from tests.run_module import FolderTest, run_module

# A stand-in for `kvtorture encode FILE`: twelve header bytes and the file's
# first line as the records; "seed=" makes a program text only; "bad" fails.
FAKE_KVTORTURE = '''#!/usr/bin/env python3
import sys
text = open(sys.argv[2], 'rb').read()
if b'seed=' in text:
    sys.stderr.write(sys.argv[2] + ': cannot be encoded: exploration settings are text only\\n')
    sys.exit(2)
if b'bad' in text:
    sys.stderr.write(sys.argv[2] + ':1: not a program\\n')
    sys.exit(2)
sys.stdout.buffer.write(bytes(12) + text.split(b'\\n')[0])
'''


class SeedSync(FolderTest):
    def setUp(self):
        super().setUp()
        self.kvt = self.write('kvtorture', FAKE_KVTORTURE)
        os.chmod(self.kvt, os.stat(self.kvt).st_mode | stat.S_IXUSR)
        self.seed('a', 'abcdefgh\n')
        self.seed('b', 'wxyz\n')
        self.seed('t', 'seed=1\n', binary=False)
        self.write_dict()

    def seed(self, name, text, binary=True):
        self.write('corpus/seeds/%s.kvt' % name, text)
        self.write('corpus/fuzz-repro-parser/%s.kvt' % name, text)
        if binary:
            self.write_bytes('corpus/fuzz-ops/%s.bin' % name, bytes(12) + text.split('\n')[0].encode())

    def write_bytes(self, name, data):
        path = os.path.join(self.out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)

    def write_dict(self):
        ops = os.path.join(self.out, 'corpus', 'fuzz-ops')
        records = []
        for n in sorted(os.listdir(ops)):
            with open(os.path.join(ops, n), 'rb') as f:
                records += op_records(f.read())
        self.write('corpus/fuzz-ops.dict', dictionary(records))

    def check(self):
        return run_module('seed_sync', self.kvt, self.out)

    def assert_reports(self, *lines):
        """The check fails (1), naming each of @lines."""
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for line in lines:
            self.assertIn(line, r.stdout)

    def test_in_sync(self):
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('in sync', r.stdout)

    def test_a_stale_binary(self):
        self.write_bytes('corpus/fuzz-ops/a.bin', bytes(12) + b'abcd')
        self.write_dict()
        self.assert_reports('corpus/fuzz-ops/a.bin: not what the seed encodes to')

    def test_a_seed_edited_since(self):
        self.write('corpus/seeds/b.kvt', 'wxyz\n# a comment added\n')
        self.assert_reports('corpus/fuzz-repro-parser/b.kvt: differs from corpus/seeds/b.kvt')

    def test_a_missing_copy_and_binary(self):
        os.remove(os.path.join(self.out, 'corpus', 'fuzz-repro-parser', 'b.kvt'))
        os.remove(os.path.join(self.out, 'corpus', 'fuzz-ops', 'b.bin'))
        self.write_dict()
        self.assert_reports('corpus/fuzz-ops/b.bin: missing',
                            'corpus/fuzz-repro-parser/b.kvt: missing')

    def test_text_only_has_no_binary(self):
        self.write_bytes('corpus/fuzz-ops/t.bin', bytes(12))
        self.assert_reports('corpus/fuzz-ops/t.bin: the seed is text only')

    def test_orphans(self):
        self.write_bytes('corpus/fuzz-ops/gone.bin', bytes(12))
        self.write('corpus/fuzz-repro-parser/gone.kvt', 'x\n')
        self.assert_reports('corpus/fuzz-ops/gone.bin: no seed of that name',
                            'corpus/fuzz-repro-parser/gone.kvt: no seed of that name')

    def test_a_stale_dictionary(self):
        self.write('corpus/fuzz-ops.dict', '# old\n')
        self.assert_reports('corpus/fuzz-ops.dict: not the dictionary of corpus/fuzz-ops')

    def test_a_seed_that_cannot_be_encoded(self):
        self.seed('c', 'bad\n')
        r = self.check()
        self.assertEqual(r.returncode, 2)
        self.assertIn(os.path.join('corpus', 'seeds', 'c.kvt'), r.stderr)
        self.assertIn('not a program', r.stderr)

    def test_write_makes_it_so(self):
        # A stale binary, an edited seed, a text-only seed with a binary, an
        # orphan and an old dictionary: --write mends all, then the check passes.
        self.write_bytes('corpus/fuzz-ops/a.bin', bytes(12) + b'abcd')
        self.write('corpus/seeds/b.kvt', 'wxyz\n# edited\n')
        self.write_bytes('corpus/fuzz-ops/t.bin', bytes(12))
        self.write_bytes('corpus/fuzz-ops/gone.bin', bytes(12))
        self.write('corpus/fuzz-ops.dict', '# old\n')
        r = run_module('seed_sync', '--write', self.kvt, self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('t: text only, not in corpus/fuzz-ops', r.stdout)
        self.assertIn('gone.bin: removed (no seed of that name)', r.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.out, 'corpus', 'fuzz-ops', 't.bin')))
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_write_refuses_a_seed_before_writing(self):
        self.seed('c', 'bad\n')
        self.write_bytes('corpus/fuzz-ops/a.bin', bytes(12) + b'old!')
        r = run_module('seed_sync', '--write', self.kvt, self.out)
        self.assertEqual(r.returncode, 2)
        with open(os.path.join(self.out, 'corpus', 'fuzz-ops', 'a.bin'), 'rb') as f:
            self.assertEqual(f.read(), bytes(12) + b'old!')

    def test_usage(self):
        r = run_module('seed_sync', self.kvt)
        self.assertEqual(r.returncode, 2)
        self.assertIn('usage:', r.stderr)


class Dictionary(unittest.TestCase):
    def test_records_after_the_header(self):
        header = bytes(12)
        self.assertEqual(op_records(header + b'abcdefgh'), [b'abcd', b'efgh'])
        self.assertEqual(op_records(header + b'abcdef'), [b'abcd'])
        self.assertEqual(op_records(header[:5]), [])

    def test_dictionary_distinct_and_sorted(self):
        self.assertEqual(dictionary([b'\x02\x00\x00\x01', b'\x01\xff\x00\x00', b'\x02\x00\x00\x01']),
                         '# Dictionary for fuzz-ops: op records of the seed corpus (ci/seeds writes it).\n'
                         '"\\x01\\xff\\x00\\x00"\n"\\x02\\x00\\x00\\x01"\n')
