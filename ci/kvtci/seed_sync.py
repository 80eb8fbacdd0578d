"""Whether the fuzz targets' seed corpora are what ci/seeds makes of corpus/seeds/.

usage: python3 -m kvtci.seed_sync KVTORTURE TOP

For each text program corpus/seeds/NAME.kvt: corpus/fuzz-ops/NAME.bin holds
what `KVTORTURE encode` makes of it (none for a text-only program, whose
settings the binary form cannot carry), corpus/fuzz-repro-parser/NAME.kvt is
a copy of it; no other file is in those two folders; corpus/fuzz-ops.dict is
the dictionary of the binary corpus.  Exit 0 when all hold, 1 naming each
file that does not (ci/seeds brings them back), 2 bad input.
"""
import os
import subprocess

from kvtci.errors import BadInput, Usage, run
from kvtci.seed_dict import dictionary, op_records

TEXT_ONLY = 'are text only'


def read_bytes(path):
    """The bytes of path, or None when there is no such file."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise BadInput('%s: %s' % (path, e.strerror or e)) from None


def listing(folder):
    try:
        return sorted(n for n in os.listdir(folder) if not n.startswith('.'))
    except OSError as e:
        raise BadInput('%s: %s' % (folder, e.strerror or e)) from None


def encode(kvt, src):
    """The binary form of @src, or None for a text-only program."""
    r = subprocess.run([kvt, 'encode', src], capture_output=True, check=False)
    if r.returncode == 0:
        return r.stdout
    err = r.stderr.decode('utf-8', 'replace').strip()
    if TEXT_ONLY in err:
        return None
    raise BadInput('%s: %s cannot encode it: %s' % (src, kvt, err or 'exit %d' % r.returncode))


def differences(kvt, top):
    """What differs from ci/seeds' output, one line each."""
    seeds_dir = os.path.join(top, 'corpus', 'seeds')
    ops_dir = os.path.join(top, 'corpus', 'fuzz-ops')
    parser_dir = os.path.join(top, 'corpus', 'fuzz-repro-parser')
    out, names = [], []
    for n in listing(seeds_dir):
        if not n.endswith('.kvt'):
            continue
        name, src = n[:-len('.kvt')], os.path.join(seeds_dir, n)
        names.append(name)
        want = encode(kvt, src)
        have = read_bytes(os.path.join(ops_dir, name + '.bin'))
        if want is None and have is not None:
            out.append('corpus/fuzz-ops/%s.bin: the seed is text only, but a binary is there' % name)
        elif want is not None and have is None:
            out.append('corpus/fuzz-ops/%s.bin: missing' % name)
        elif want != have:
            out.append('corpus/fuzz-ops/%s.bin: not what the seed encodes to' % name)
        text = read_bytes(src)
        copy = read_bytes(os.path.join(parser_dir, n))
        if copy is None:
            out.append('corpus/fuzz-repro-parser/%s: missing' % n)
        elif copy != text:
            out.append('corpus/fuzz-repro-parser/%s: differs from corpus/seeds/%s' % (n, n))
    for n in listing(ops_dir):
        if not (n.endswith('.bin') and n[:-len('.bin')] in names):
            out.append('corpus/fuzz-ops/%s: no seed of that name' % n)
    for n in listing(parser_dir):
        if not (n.endswith('.kvt') and n[:-len('.kvt')] in names):
            out.append('corpus/fuzz-repro-parser/%s: no seed of that name' % n)
    records = []
    for n in listing(ops_dir):
        records += op_records(read_bytes(os.path.join(ops_dir, n)) or b'')
    have_dict = read_bytes(os.path.join(top, 'corpus', 'fuzz-ops.dict'))
    if have_dict is None or have_dict.decode('utf-8', 'replace') != dictionary(records):
        out.append('corpus/fuzz-ops.dict: not the dictionary of corpus/fuzz-ops')
    return out


def main(argv):
    if len(argv) != 2:
        raise Usage('usage: python3 -m kvtci.seed_sync KVTORTURE TOP')
    out = differences(argv[0], argv[1])
    for line in out:
        print(line)
    if out:
        print('%d difference(s): run ci/seeds' % len(out))
        return 1
    print('the seed corpora are in sync with corpus/seeds/')
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.seed_sync')
