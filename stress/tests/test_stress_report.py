"""Run the stress runner and check what its report says, as TAP.

usage: test_stress_report.py EXIT_CODE REPORT_DIR [CHECK...] -- KVSTRESS [ARG...]

Runs KVSTRESS ARG... --report REPORT_DIR and expects EXIT_CODE; then each
CHECK, a Python expression over `r` (REPORT_DIR/report.json, parsed) and
`violation` (the text of REPORT_DIR/violation.txt, '' if none), must be
true.  Each is a TAP test line of its own, and a failed one prints the
report's relevant parts.  The checks are about what a run did (its
checkpoints, policies, quiet stretches, the invariant it caught and where),
never about how fast.
"""
import json
import os
import shutil
import subprocess
import sys


def main(argv):
    if '--' not in argv or len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    sep = argv.index('--')
    want_rc, report_dir, checks = int(argv[1]), argv[2], argv[3:sep]
    cmd = argv[sep + 1:] + ['--report', report_dir]
    shutil.rmtree(report_dir, ignore_errors=True)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    print('1..%d' % (1 + len(checks)))
    ok = p.returncode == want_rc
    print('%s 1 - exit %d (want %d): %s' % ('ok' if ok else 'not ok', p.returncode, want_rc,
                                             ' '.join(cmd)))
    if not ok:
        print('# ' + (p.stdout + p.stderr)[-3000:].replace('\n', '\n# '))
    try:
        with open(os.path.join(report_dir, 'report.json')) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        r = {}
        print('# no report.json: %s' % e)
    try:
        with open(os.path.join(report_dir, 'violation.txt')) as f:
            violation = f.read()
    except OSError:
        violation = ''
    failed = not ok
    for i, check in enumerate(checks, 2):
        try:
            good = bool(eval(check, {}, {'r': r, 'violation': violation}))  # noqa: S307
        except Exception as e:  # a missing key is a failed check, shown as such
            good = False
            print('# %s: %s: %s' % (check, type(e).__name__, e))
        print('%s %d - %s' % ('ok' if good else 'not ok', i, check))
        failed |= not good
    if failed:
        for key in ('policies', 'checkpoints', 'progress_monitor', 'violations'):
            if key in r:
                print('# %s: %s' % (key, json.dumps(r[key])[:1500]))
        if violation:
            print('# violation.txt: ' + violation[:1500].replace('\n', '\n# '))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
