"""Rewrite a fuzzing dictionary in the escapes both engines read.

libFuzzer and AFL++ know only the escapes \\\\, \\" and \\xNN in a dictionary
token; the project's dictionaries may also use \\n, \\t and \\r, which this
spells in hex.  Anything else is copied as it is.

usage: python3 -m kvtci.fuzz_dict SOURCE DEST
"""
import re
import sys

from kvtci.errors import Usage, read_text, run, write_text

# The escapes the engines do not know, in the spelling they do.
HEX_OF = {'n': '\\x0a', 't': '\\x09', 'r': '\\x0d'}


def engine_escapes(text):
    """text with \\n, \\t and \\r spelled in hex; other escapes (and \\xNN) kept."""
    return re.sub(r'\\(x[0-9A-Fa-f]{2}|.)',
                  lambda m: HEX_OF.get(m.group(1), '\\' + m.group(1)), text)


def main(argv):
    if len(argv) != 2:
        raise Usage('usage: python3 -m kvtci.fuzz_dict SOURCE DEST')
    source, dest = argv
    # Read it all first: a bad source leaves DEST as it was.
    text = read_text(source)
    write_text(dest, engine_escapes(text))
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.fuzz_dict')
