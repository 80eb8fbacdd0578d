"""kvtci.seed_dict: the fuzz-ops dictionary from the seed corpus."""
import os
import tempfile
import unittest

from kvtci.seed_dict import dictionary, op_records
from tests.run_module import run_module

HEADER = bytes(12)


class SeedDict(unittest.TestCase):
    def test_records_after_the_header(self):
        self.assertEqual(op_records(HEADER + b'abcdefgh'), [b'abcd', b'efgh'])
        self.assertEqual(op_records(HEADER + b'abcdef'), [b'abcd'])
        self.assertEqual(op_records(HEADER[:5]), [])

    def test_dictionary_distinct_and_sorted(self):
        self.assertEqual(dictionary([b'\x02\x00\x00\x01', b'\x01\xff\x00\x00', b'\x02\x00\x00\x01']),
                         '# Dictionary for fuzz-ops: op records of the seed corpus (ci/seeds writes it).\n'
                         '"\\x01\\xff\\x00\\x00"\n"\\x02\\x00\\x00\\x01"\n')

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as top:
            corpus = os.path.join(top, 'corpus', 'fuzz-ops')
            os.makedirs(corpus)
            for name, data in (('a.bin', HEADER + b'\x01\x02\x03\x04'),
                               ('b.bin', HEADER + b'\x01\x02\x03\x04\x00\x00\x00\x09')):
                with open(os.path.join(corpus, name), 'wb') as f:
                    f.write(data)
            r = run_module('seed_dict', top)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(top, 'corpus', 'fuzz-ops.dict')) as f:
                self.assertEqual(f.read().splitlines()[1:],
                                 ['"\\x00\\x00\\x00\\x09"', '"\\x01\\x02\\x03\\x04"'])
            self.assertFalse(os.path.exists(os.path.join(top, 'corpus', 'fuzz-ops.dict.tmp')))

    def test_no_corpus(self):
        with tempfile.TemporaryDirectory() as top:
            r = run_module('seed_dict', top)
            self.assertEqual(r.returncode, 2)
            self.assertIn(os.path.join('corpus', 'fuzz-ops'), r.stderr)


if __name__ == '__main__':
    unittest.main()
