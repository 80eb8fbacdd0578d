#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test_structure.py - one structural check fires on its synthetic build.

usage: test_structure.py BROKEN REFERENCE PROGRAM INVARIANT PHRASE [TRACE]

BROKEN (kvtorture-S<n>, or a catalogued bug's build) replays PROGRAM and
must report INVARIANT, with PHRASE in the report (the check's own words, so
no other check can stand in for it) and TRACE, if given, in the trace;
REFERENCE (kvtorture) must pass the same program.  TAP output.
"""
import subprocess
import sys


def main():
    broken, reference, program, inv, phrase = sys.argv[1:6]
    trace = sys.argv[6] if len(sys.argv) > 6 else None
    checks = []
    b = subprocess.run([broken, 'replay', '-v', program], capture_output=True, text=True,
                       timeout=60)
    checks.append((b.returncode == 1 and ('VIOLATION ' + inv) in b.stdout,
                   'the broken build fails with %s (exit %d)' % (inv, b.returncode)))
    checks.append((phrase in b.stderr, 'its report says: %s' % phrase))
    if trace:
        checks.append((trace in b.stdout, 'its trace shows: %s' % trace))
    r = subprocess.run([reference, 'replay', program], capture_output=True, text=True,
                       timeout=60)
    checks.append((r.returncode == 0, 'the reference passes (exit %d)' % r.returncode))
    failed = 0
    for i, (ok, what) in enumerate(checks, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', i, what))
        failed += not ok
    print('1..%d' % len(checks))
    if failed:
        for name, p in (('broken', b), ('reference', r)):
            for line in (p.stdout + p.stderr).splitlines()[-40:]:
                print('# %s: %s' % (name, line))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
