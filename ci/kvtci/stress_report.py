"""Reading a stress run's report folder, as `kvtorture stress --report` writes it.

A folder holds report.json (its "command" is the exact command line of the
run, seed and every option), and on a failure violation.txt or hang.txt (a
"reproduce:" line with the same command); ci/nightly adds run.log (a
"command:" line).  A report.json that is there but malformed is bad input:
the error names the file and line, and the exit status is 2.

usage: python3 -m kvtci.stress_report command DIR
         print the run's command: report.json's "command", else the
         "reproduce:" line of violation.txt or hang.txt, else the "command:"
         line of run.log; exit 1 (and print nothing) when none has one
       python3 -m kvtci.stress_report outcome REPORT_JSON
         print the invariants the run violated (comma-separated), else its
         status ("pass", "hang", ...); an empty line when there is no such file
"""
import json
import os
import re

from kvtci.errors import BadInput, Usage, read_text, run

# Where a command is found when report.json has none, in this order.
COMMAND_LINES = (('violation.txt', r'^\s*reproduce: (.*)$'),
                 ('hang.txt', r'^reproduce: (.*)$'),
                 ('run.log', r'^command: (.*)$'))


def load(path):
    """The object of the report.json at path; None when there is no such file.
    BadInput when it cannot be read or is not a JSON object."""
    if not os.path.exists(path):
        return None
    text = read_text(path)
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        # A run killed while writing its report leaves it cut short: say so
        # when the error is on the file's last line, or a string runs to its end.
        cut = e.msg.startswith('Unterminated') or '\n' not in text[e.pos:].rstrip()
        raise BadInput('%s:%d:%d: malformed JSON: %s%s' % (
            path, e.lineno, e.colno, e.msg,
            '; the file ends early (truncated?)' if cut else '')) from None
    if not isinstance(d, dict):
        raise BadInput('%s: not a stress report (a JSON %s, not an object)' % (
            path, type(d).__name__))
    return d


def recorded_command(folder):
    """The command line that re-runs the run of the report folder, or None."""
    d = load(os.path.join(folder, 'report.json'))
    if d is not None and 'command' in d:
        if not isinstance(d['command'], str):
            raise BadInput('%s: "command" is not a string' % os.path.join(folder, 'report.json'))
        return d['command']
    for name, pattern in COMMAND_LINES:
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        for line in read_text(path, errors='replace').split('\n'):
            m = re.match(pattern, line)
            if m:
                return m.group(1)
    return None


def outcome(d):
    """The violated invariants of report object d, comma-separated, else its status."""
    violations = d.get('violations')
    by_invariant = violations.get('by_invariant') if isinstance(violations, dict) else None
    invariants = sorted(by_invariant) if isinstance(by_invariant, dict) else []
    return ','.join(invariants) or str(d.get('status', ''))


def main(argv):
    if len(argv) != 2 or argv[0] not in ('command', 'outcome'):
        raise Usage('usage: python3 -m kvtci.stress_report command DIR | outcome REPORT_JSON')
    if argv[0] == 'command':
        cmd = recorded_command(argv[1])
        if cmd is None:
            return 1
        print(cmd)
        return 0
    d = load(argv[1])
    print('' if d is None else outcome(d))
    return 0


if __name__ == '__main__':
    run(main, 'kvtci.stress_report')
