"""kvtci.fuzz_dict: dictionary escapes both engines read."""
import os
import tempfile
import unittest

from kvtci.fuzz_dict import engine_escapes
from tests.run_module import run_module


class EngineEscapes(unittest.TestCase):
    def test_newline_tab_return_in_hex(self):
        self.assertEqual(engine_escapes(r'"a\nb\tc\rd"'), r'"a\x0ab\x09c\x0dd"')

    def test_known_escapes_kept(self):
        for token in (r'"\\"', r'"\""', r'"\x0A\xff"', r'"\q"'):
            self.assertEqual(engine_escapes(token), token)

    def test_escaped_backslash_before_n_is_not_a_newline(self):
        # \\n is a backslash, then n: the pair is consumed first.
        self.assertEqual(engine_escapes(r'"\\n"'), r'"\\n"')

    def test_comments_and_lines_kept(self):
        text = '# a comment\nkw="x\\n"\n\n'
        self.assertEqual(engine_escapes(text), '# a comment\nkw="x\\x0a"\n\n')


class CommandLine(unittest.TestCase):
    def test_writes_dest(self):
        with tempfile.TemporaryDirectory() as d:
            src, dest = os.path.join(d, 'in.dict'), os.path.join(d, 'out.dict')
            with open(src, 'w') as f:
                f.write('"op\\t1"\n')
            r = run_module('fuzz_dict', src, dest)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(dest) as f:
                self.assertEqual(f.read(), '"op\\x091"\n')

    def test_missing_source_is_bad_input_and_dest_kept(self):
        with tempfile.TemporaryDirectory() as d:
            dest = os.path.join(d, 'out.dict')
            with open(dest, 'w') as f:
                f.write('old\n')
            r = run_module('fuzz_dict', os.path.join(d, 'nope.dict'), dest)
            self.assertEqual(r.returncode, 2)
            self.assertIn('nope.dict', r.stderr)
            with open(dest) as f:
                self.assertEqual(f.read(), 'old\n')

    def test_usage(self):
        r = run_module('fuzz_dict', 'only-one')
        self.assertEqual(r.returncode, 2)
        self.assertIn('usage:', r.stderr)


if __name__ == '__main__':
    unittest.main()
