"""The key of a fuzzing failure, so that the same bug found twice is one finding.

From the log of a crash's replay, the key names what failed: the invariant ID
and its site (a VIOLATION report), the harness's own fatal error, the
sanitizer error and the first frame of the code under test, UBSan's check,
the reproducer parser's message, a signal, or a timeout.  Numbers and
addresses are folded, so two runs of one bug give the same key.  The slug is
the key in a few lowercase words, for the reproducer's file name.

usage: python3 -m kvtci.fuzz_triage LOG KIND
  KIND  crash or timeout (as the engine filed the input)
Prints KEY<TAB>SLUG; UNREPRODUCED when the log shows no failure.
"""
import re

from kvtci.errors import Usage, read_text, run

# Words that say nothing in a slug.
SLUG_DROP = {'n', 'p', 'the', 'a', 'an', 'of', 'at', 'in', 'with', 'to', 'is', 'its', 'own'}
# Frames of the engines, the runtime and the allocator: the first other frame
# of a sanitizer's stack is the site.
RUNTIME_FRAME = re.compile(
    r'^(__|fuzzer|LLVMFuzzer|main$|abort|raise|malloc|calloc|realloc|free|operator|std)')


def fold(s):
    """s with addresses and numbers replaced, blanks squeezed."""
    s = re.sub(r'0x[0-9a-fA-F]+|\(nil\)', 'P', s)
    s = re.sub(r'\b(cpu|o|w|co|#)?\d+\b', lambda m: (m.group(1) or '') + 'N', s)
    return ' '.join(s.split())


def slug(*parts):
    """The lowercase words of parts, joined by '-', at most 64 characters."""
    words = []
    for p in parts:
        words += re.findall(r'[a-z][a-z0-9_]*', p.lower())
    s = '-'.join(w.replace('_', '-') for w in words if w not in SLUG_DROP)
    return s[:64].rstrip('-') or 'unknown'


def failure_key(text, kind):
    """(key, slug) of the failure that the log text shows; kind is crash or timeout."""
    if kind == 'timeout':
        return 'TIMEOUT', 'timeout'
    m = re.search(r'VIOLATION (\S+) obj=\S+ cpu=\S+ ctx=\S+ task=\S+\n  (.*)', text)
    if m:
        inv, msg = m.group(1), m.group(2)
        w = re.search(r'(WARN\w*)\((.*?)\) at (\S+?):\d+ in (\w+)', msg)
        if w:
            site = '%s(%s) in %s' % (w.group(1), w.group(2), w.group(4))
            return inv + ' ' + site, slug(inv, w.group(4), 'warn')
        return inv + ' ' + fold(msg), slug(inv, re.sub(r'\(s\)|\d+', ' ', msg))
    m = re.search(r'kvtorture: fatal \((\w+)\): \S+?:\d+: (\w+): ([^\n]*)', text)
    if m:
        # The harness itself gave up (a set-up error inside the run): a harness bug.
        return ('HARNESS-FATAL %s: %s' % (m.group(2), fold(m.group(3))),
                slug('harness', m.group(2), re.sub(r'\d+', ' ', m.group(3))))
    m = re.search(r'ERROR: (AddressSanitizer|LeakSanitizer|MemorySanitizer|ThreadSanitizer): ?([\w-]*)',
                  text)
    u = re.search(r'([\w./-]+\.c):\d+:\d+: runtime error: ([^\n]*)', text)
    frames = re.findall(r'#\d+ 0x[0-9a-f]+ in (\w+) ', text)
    frame = next((f for f in frames if not RUNTIME_FRAME.match(f)), 'unknown')
    if m:
        san = 'leak' if m.group(1) == 'LeakSanitizer' else (m.group(2) or m.group(1))
        return '%s %s in %s' % (m.group(1), san, frame), slug(san, frame)
    if u:
        return ('UBSan %s: %s' % (u.group(1).split('/')[-1], fold(u.group(2))),
                slug('ubsan', frame, u.group(2)[:40]))
    m = re.search(r'fuzz-repro-parser: ([^\n]*)', text)
    if m:
        return 'PARSER ' + fold(m.group(1)), slug('parser', m.group(1))
    if 'deadly signal' in text or 'Aborted' in text:
        return 'SIGNAL %s' % frame, slug('signal', frame)
    return 'UNREPRODUCED', 'unreproduced'


def main(argv):
    if len(argv) != 2 or argv[1] not in ('crash', 'timeout'):
        raise Usage('usage: python3 -m kvtci.fuzz_triage LOG crash|timeout')
    key, name = failure_key(read_text(argv[0], errors='replace'), argv[1])
    print('%s\t%s' % (key, name))
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.fuzz_triage')
