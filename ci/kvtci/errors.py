"""How the kvtci command lines fail, with the project's exit codes.

Exit codes, as everywhere in kvtorture: 0 pass, 1 invariant violated (or,
for a campaign, something found), 2 bad usage or bad input, 3 a hang,
77 skipped, 99 set-up error.

A module reads and checks all of its input before it writes anything, and
raises BadInput for input it cannot use; run() prints its message, which
names the file (and the line, when known), and exits 2.  Any other failure
is a fault of the script itself and exits 99: never 1, which the scripts
would read as a finding.
"""
import os
import sys
import traceback

EXIT_PASS = 0
EXIT_FOUND = 1
EXIT_BAD_INPUT = 2
EXIT_HANG = 3
EXIT_SKIPPED = 77
EXIT_SETUP = 99


class BadInput(Exception):
    """Input that cannot be used; the message starts with the file at fault."""


class Usage(BadInput):
    """Wrong arguments; the message is the module's usage line."""


def read_text(path, errors='strict'):
    """The text of path; BadInput when it cannot be read or is not UTF-8."""
    try:
        with open(path, encoding='utf-8', errors=errors) as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise BadInput('%s: not UTF-8 text (byte %d)' % (path, e.start)) from None
    except OSError as e:
        raise BadInput('%s: %s' % (path, e.strerror or e)) from None


def read_lines(path):
    """The lines of path, without their line ends (see read_text)."""
    lines = read_text(path).split('\n')
    if lines[-1] == '':
        lines.pop()
    return lines


def number(path, n, field, value, kind=int):
    """@value, the @field of line @n of @path, as a @kind (int or float) at
    least 0; BadInput naming the file, line and field when it is not one."""
    try:
        v = kind(value)
    except ValueError:
        v = -1
    if not v >= 0:     # also refuses a float NaN
        raise BadInput('%s:%d: %s is not a %s: %r' % (
            path, n, field, 'whole number' if kind is int else 'number', value))
    return v


def write_text(path, text):
    """Write path whole: a reader never sees half of it (a temporary, then a rename)."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)


def program_name(module):
    """The name messages start with: the calling script's ($KVT_PROG), else the module's."""
    return os.environ.get('KVT_PROG') or module


def run(main, module):
    """Run main(argv) and exit with its status, or 2 on BadInput, 99 on anything else."""
    try:
        status = main(sys.argv[1:])
    except BadInput as e:
        print('%s: %s' % (program_name(module), e), file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except OSError as e:
        # Writing the output failed: the machine, not the input.
        print('%s: %s' % (program_name(module), e), file=sys.stderr)
        sys.exit(EXIT_SETUP)
    except Exception:  # pylint: disable=broad-except
        traceback.print_exc()
        print('%s: internal error (a bug of %s)' % (program_name(module), module),
              file=sys.stderr)
        sys.exit(EXIT_SETUP)
    sys.exit(status or 0)
