#!/usr/bin/env python3
"""Final test summary over result files.

Usage:
    summary.py FILE...

Each FILE holds one result per line, "PASS name" or "FAIL name" (a FAIL
line may carry a reason after the name, printed with it; blank lines and lines starting with '#' are
skipped). The boot-test runner (tools/boottest.py --results), the host-test
stage and tools/test_tools.py --results all write this format.

Prints every failure again as "[FAIL] name ..." (so it is the last thing seen
after a long log), then, for the first few failures whose line ends with
"[log: PATH]" (tools/boottest.py writes it), the last lines of that log (a CI
run's output is often all there is of a failure that does not happen again),
then "N passed, M failed" alone on a line. A file that is
missing or a line that is neither PASS nor FAIL counts as a failure: a stage
that did not run or wrote garbage must not look green.

Exit status: 0 iff M == 0 and N > 0, else 1.
"""

import re
import sys

LOG_RE = re.compile(r"\[log: (.+)\]$")
LOGS_SHOWN = 3
LOG_TAIL = 40


def log_tail(path, n):
    """The last n lines of a log, or None if it cannot be read."""
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return None


def tally(paths):
    """Return (passed, failures) over the files; failures are strings."""
    passed, failures = 0, []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as e:
            failures.append("%s: cannot read results: %s" % (path, e.strerror or e))
            continue
        for n, line in enumerate(lines, 1):
            fields = line.split(None, 1)
            if not fields or fields[0].startswith("#"):
                continue
            word = fields[0]
            rest = fields[1].strip() if len(fields) > 1 else ""
            if word == "PASS" and rest:
                passed += 1
            elif word == "FAIL" and rest:
                failures.append(rest)  # the name, and a reason if the writer gave one
            else:
                failures.append("%s:%d: not a result line: %r" % (path, n, line))
    return passed, failures


def main(argv=None):
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: summary.py FILE...", file=sys.stderr)
        return 2
    passed, failures = tally(paths)
    for f in failures:
        print("[FAIL] %s" % f)
    shown = 0
    for f in failures:
        m = LOG_RE.search(f)
        tail = log_tail(m.group(1), LOG_TAIL) if m and shown < LOGS_SHOWN else None
        if tail is not None:
            shown += 1
            print("--- the last %d lines of %s" % (len(tail), m.group(1)))
            for line in tail:
                print("  | %s" % line)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 0 if not failures and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
