#!/usr/bin/env python3
"""The Boehm-style programs of tests/boehm/, built both ways and compared.

Usage:
    boehmprogs.py [--build DIR] [--results FILE] [--smp N ...]

Each program (tests/boehm/<name>.c, plain C against <gc.h>) is built unchanged
against Debian's libgc (gcc -O2 ... -lgc, into DIR/boehm/<name>) and run; its
standard output is the reference. The same source is built into this runtime's
hosted platform (DIR/host-sys/gort, tests/boot/boehm_test.c: suite boehm_<name>), run
at each core count (default 1 and 4) with gccheckmark=1, and the lines between its
"boehm program <name>: output begins" and "... output ends, status 0" markers must
equal the reference line for line. One result per program and side:

    PASS boehm/<name>/libgc        the libgc build ran (status 0, output ends "done")
    PASS boehm/<name>/gort_p<N>    ours at N cores printed exactly the same

A failure carries the first differing line. Writes "PASS name" / "FAIL name reason"
lines to FILE (tools/summary.py) and prints them. Exit status 0 iff all passed.
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ("tree", "finalize", "links")
TIMEOUT = 300


def run(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace")


def ours_lines(name, text):
    """The program's lines between the markers, or (None, why)."""
    begin = "boehm program %s: output begins" % name
    m = re.search(r"boehm program %s: output ends, status (-?\d+)" % re.escape(name), text)
    lines = text.splitlines()
    if begin not in lines:
        return None, "no begin marker"
    if not m:
        return None, "no end marker"
    if m.group(1) != "0":
        return None, "status %s" % m.group(1)
    start = lines.index(begin) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("boehm program %s: output ends" % name))
    return lines[start:end], None


def first_difference(want, got):
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "<nothing>"
        g = got[i] if i < len(got) else "<nothing>"
        if w != g:
            return "line %d: libgc %r, ours %r" % (i + 1, w, g)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--results")
    ap.add_argument("--smp", type=int, nargs="*", default=[1, 4])
    args = ap.parse_args(argv)
    out_dir = os.path.join(args.build, "boehm")
    os.makedirs(out_dir, exist_ok=True)
    gort = os.path.join(args.build, "host-sys", "gort")
    results = []
    for name in PROGRAMS:
        src = os.path.join(ROOT, "tests", "boehm", name + ".c")
        exe = os.path.join(out_dir, name)
        cc = subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, src, "-lgc"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if cc.returncode:
            results.append(("FAIL", "boehm/%s/libgc" % name, "gcc -lgc failed: %s" %
                            cc.stdout.decode(errors="replace").strip().splitlines()[-1:]))
            continue
        status, text = run([exe])
        want = text.splitlines()
        if status != 0 or not want or want[-1] != "done":
            results.append(("FAIL", "boehm/%s/libgc" % name, "status %s, last line %r" %
                            (status, want[-1] if want else "")))
            continue
        results.append(("PASS", "boehm/%s/libgc" % name, ""))
        for n in args.smp:
            status, text = run([gort, "-smp", str(n), "-m", "1G", "--", "tests=boehm_" + name, "gccheckmark=1"])
            got, why = ours_lines(name, text)
            label = "boehm/%s/gort_p%d" % (name, n)
            if got is None:
                results.append(("FAIL", label, "%s (exit %s): %s" % (why, status, text.strip().splitlines()[-1:])))
            elif first_difference(want, got):
                results.append(("FAIL", label, first_difference(want, got)))
            elif status != 0:
                results.append(("FAIL", label, "exit status %s" % status))
            else:
                results.append(("PASS", label, ""))
    lines = ["%s %s%s" % (v, n, (" " + why) if why else "") for v, n, why in results]
    for line in lines:
        print(line)
    if args.results:
        with open(args.results, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0 if all(v == "PASS" for v, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
