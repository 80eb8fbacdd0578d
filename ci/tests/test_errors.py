"""kvtci.errors: exit codes of the modules' command lines."""
import io
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr
from unittest import mock

from kvtci import errors


class Run(unittest.TestCase):
    def exit_status(self, main):
        """(exit status, stderr) of errors.run(main)."""
        err = io.StringIO()
        with mock.patch.object(sys, 'argv', ['prog']), redirect_stderr(err), \
                mock.patch.dict(os.environ, {'KVT_PROG': 'ci-test'}), \
                self.assertRaises(SystemExit) as cm:
            errors.run(main, 'kvtci.test')
        return cm.exception.code, err.getvalue()

    def test_status_passes_through(self):
        self.assertEqual(self.exit_status(lambda argv: 0)[0], 0)
        self.assertEqual(self.exit_status(lambda argv: None)[0], 0)
        self.assertEqual(self.exit_status(lambda argv: 1)[0], 1)

    def test_bad_input_is_2_with_the_message(self):
        def main(argv):
            raise errors.BadInput('runs.tsv:3: bad')
        self.assertEqual(self.exit_status(main), (2, 'ci-test: runs.tsv:3: bad\n'))

    def test_a_bug_is_99_never_1(self):
        def main(argv):
            return {}['missing']
        status, err = self.exit_status(main)
        self.assertEqual(status, 99)
        self.assertIn('KeyError', err)
        self.assertIn('ci-test: internal error', err)

    def test_write_failure_is_99(self):
        def main(argv):
            errors.write_text('/nonexistent/dir/out.md', 'x')
        self.assertEqual(self.exit_status(main)[0], 99)


class Number(unittest.TestCase):
    def test_numbers(self):
        self.assertEqual(errors.number('f', 1, 'x', '12'), 12)
        self.assertEqual(errors.number('f', 1, 'x', '0.5', float), 0.5)

    def test_refused_with_file_line_and_field(self):
        for value, kind, what in (('1x', int, 'whole number'), ('-3', int, 'whole number'),
                                  ('1.5', int, 'whole number'), ('nan', float, 'number'),
                                  ('-0.1', float, 'number'), ('', float, 'number')):
            with self.assertRaises(errors.BadInput) as cm:
                errors.number('runs.tsv', 7, 'seconds', value, kind)
            self.assertEqual(str(cm.exception),
                             'runs.tsv:7: seconds is not a %s: %r' % (what, value))


class Files(unittest.TestCase):
    def test_read_lines(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'f')
            for text, lines in (('', []), ('a\n', ['a']), ('a\nb', ['a', 'b']), ('a\r\nb\n', ['a', 'b'])):
                with open(p, 'w', newline='') as f:
                    f.write(text)
                self.assertEqual(errors.read_lines(p), lines)

    def test_read_missing(self):
        with self.assertRaises(errors.BadInput) as cm:
            errors.read_text('/nonexistent/f')
        self.assertEqual(str(cm.exception), '/nonexistent/f: No such file or directory')

    def test_write_is_whole(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'out')
            errors.write_text(p, 'text\n')
            self.assertEqual(os.listdir(d), ['out'])
            with open(p) as f:
                self.assertEqual(f.read(), 'text\n')


if __name__ == '__main__':
    unittest.main()
