"""The fuzz-ops dictionary: every distinct op record of the seed corpus.

A fuzz-ops input is a 12-byte header, then 4-byte op records.  Every distinct
record of corpus/fuzz-ops/* becomes a dictionary token, so that mutations
splice whole, meaningful records.  Writes corpus/fuzz-ops.dict under TOP
(whole: a temporary, then a rename).

usage: python3 -m kvtci.seed_dict TOP
"""
import os

from kvtci.errors import BadInput, Usage, run, write_text

HEADER_BYTES = 12
RECORD_BYTES = 4


def op_records(data):
    """The 4-byte op records of one binary input (a trailing partial record is not one)."""
    body = data[HEADER_BYTES:]
    return [body[i:i + RECORD_BYTES] for i in range(0, len(body) - RECORD_BYTES + 1, RECORD_BYTES)]


def dictionary(records):
    """The dictionary text: a comment, then one "\\xNN..." token per record, sorted."""
    text = '# Dictionary for fuzz-ops: op records of the seed corpus (ci/seeds writes it).\n'
    for r in sorted(set(records)):
        text += '"' + ''.join('\\x%02x' % b for b in r) + '"\n'
    return text


def main(argv):
    if len(argv) != 1:
        raise Usage('usage: python3 -m kvtci.seed_dict TOP')
    top = argv[0]
    corpus = os.path.join(top, 'corpus', 'fuzz-ops')
    records = []
    try:
        for n in sorted(os.listdir(corpus)):
            with open(os.path.join(corpus, n), 'rb') as f:
                records += op_records(f.read())
    except OSError as e:
        raise BadInput('%s: %s' % (e.filename or corpus, e.strerror or e)) from None
    write_text(os.path.join(top, 'corpus', 'fuzz-ops.dict'), dictionary(records))
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.seed_dict')
