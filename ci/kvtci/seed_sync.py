"""The fuzz targets' seed corpora, made from corpus/seeds/ (ci/seeds) or checked.

usage: python3 -m kvtci.seed_sync [--write] KVTORTURE TOP

For each text program corpus/seeds/NAME.kvt: corpus/fuzz-ops/NAME.bin holds
what `KVTORTURE encode` makes of it (none for a text-only program, whose
settings the binary form cannot carry), corpus/fuzz-repro-parser/NAME.kvt is
a copy of it; no other file is in those two folders; corpus/fuzz-ops.dict is
the dictionary of the binary corpus.  With --write, makes it so (every seed
is encoded before anything is written); without, exit 0 when all hold, 1
naming each file that does not.  2 bad input.
"""
import os
import subprocess

from kvtci.errors import BadInput, Usage, run, write_text

TEXT_ONLY = 'are text only'
# A fuzz-ops input: a header, then op records.  Every distinct record of the
# binary corpus is a dictionary token, so that mutations splice whole,
# meaningful records.
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


def folders(top):
    return (os.path.join(top, 'corpus', 'seeds'), os.path.join(top, 'corpus', 'fuzz-ops'),
            os.path.join(top, 'corpus', 'fuzz-repro-parser'))


def seeds(kvt, top):
    """Each seed: (NAME, its text, its binary form or None)."""
    seeds_dir = folders(top)[0]
    out = []
    for n in listing(seeds_dir):
        if n.endswith('.kvt'):
            src = os.path.join(seeds_dir, n)
            out.append((n[:-len('.kvt')], read_bytes(src), encode(kvt, src)))
    return out


def write_bytes(path, data):
    """Write path whole (a temporary, then a rename)."""
    with open(path + '.tmp', 'wb') as f:
        f.write(data)
    os.replace(path + '.tmp', path)


def records_of(ops_dir):
    records = []
    for n in listing(ops_dir):
        records += op_records(read_bytes(os.path.join(ops_dir, n)) or b'')
    return records


def write(kvt, top):
    """Make the corpora and the dictionary what the seeds say; the changes, one line each."""
    _, ops_dir, parser_dir = folders(top)
    made = seeds(kvt, top)
    names = [name for name, _, _ in made]
    out = []
    os.makedirs(ops_dir, exist_ok=True)
    os.makedirs(parser_dir, exist_ok=True)
    for name, text, binary in made:
        bin_path = os.path.join(ops_dir, name + '.bin')
        if binary is None:
            if read_bytes(bin_path) is not None:
                os.remove(bin_path)
            out.append('%s: text only, not in corpus/fuzz-ops' % name)
        else:
            write_bytes(bin_path, binary)
        write_bytes(os.path.join(parser_dir, name + '.kvt'), text)
    for folder, ext in ((ops_dir, '.bin'), (parser_dir, '.kvt')):
        for n in listing(folder):
            if not (n.endswith(ext) and n[:-len(ext)] in names):
                os.remove(os.path.join(folder, n))
                out.append('%s: removed (no seed of that name)' % os.path.join(folder, n))
    write_text(os.path.join(top, 'corpus', 'fuzz-ops.dict'), dictionary(records_of(ops_dir)))
    out.append('%d seeds written' % len(made))
    return out


def differences(kvt, top):
    """What differs from what write() makes, one line each."""
    _, ops_dir, parser_dir = folders(top)
    out, names = [], []
    for name, text, want in seeds(kvt, top):
        n = name + '.kvt'
        names.append(name)
        have = read_bytes(os.path.join(ops_dir, name + '.bin'))
        if want is None and have is not None:
            out.append('corpus/fuzz-ops/%s.bin: the seed is text only, but a binary is there' % name)
        elif want is not None and have is None:
            out.append('corpus/fuzz-ops/%s.bin: missing' % name)
        elif want != have:
            out.append('corpus/fuzz-ops/%s.bin: not what the seed encodes to' % name)
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
    have_dict = read_bytes(os.path.join(top, 'corpus', 'fuzz-ops.dict'))
    if have_dict is None or have_dict.decode('utf-8', 'replace') != dictionary(records_of(ops_dir)):
        out.append('corpus/fuzz-ops.dict: not the dictionary of corpus/fuzz-ops')
    return out


def main(argv):
    writing = argv[:1] == ['--write']
    if writing:
        argv = argv[1:]
    if len(argv) != 2:
        raise Usage('usage: python3 -m kvtci.seed_sync [--write] KVTORTURE TOP')
    if writing:
        for line in write(argv[0], argv[1]):
            print(line)
        return 0
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
