#!/usr/bin/env python3
"""Test of the gdb commands (tools/gdb_gort.py) against booted images, for make test.

Usage:
    gdbtest.py [--build BUILD] [--results FILE] [--log-dir DIR]

For each case: boot a program's image (make apps) on the direct path under QEMU
with its gdb stub on a free local port, wait until the program's output says it is
where the case wants it, then run gdb-multiarch in batch mode: load the image's
symbols, source the script, attach (which stops every vCPU), run the case's
commands, kill. The case passes when every regex matches gdb's output, in order.

    readline   parked goroutines: main blocked in fgets (its backtrace must go
               through console_read, fgets and main), the terminal's goroutine,
               the collector's; a goroutine that does not exist is an error
    sieve      running goroutines: each CPU is running one (a spinner or a
               filter) when gdb stops them: their backtraces come from the
               vCPUs' registers, through an interrupt handler's frames when the
               CPU was in one, down to the goroutine's function and on to the
               first frame of every goroutine (arch_context_start)
    entry      a CPU stopped (a breakpoint) at the entry of an interrupt that came
               while it ran a spinner, before any frame record names the spinner:
               x86-64 seven pushes into trap_common, aarch64 the first instruction
               of the IRQ vector; the spinner must still be the second frame, and
               its caller (g_entry) the third: on x86-64 spin has no frame record,
               so that return address comes from the interrupted rsp
    preempted  one CPU, stopped (a breakpoint) as a new filter goroutine starts:
               the spinner is runnable, preempted inside spin, a leaf GCC leaves
               without a frame record on x86-64; its backtrace must name spin and
               then its caller, g_entry, found from the registers the preemption
               saved (the frame chain alone skips it)

Output: "[ OK ] gdb/<arch>/<case>" or "[FAIL] gdb/<arch>/<case>: reason" (with gdb's
output), then "N passed, M failed"; --results appends PASS/FAIL lines for
tools/summary.py. Exit status 0 iff every case passed.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402

RUNNING = ("python r = [int(g['id']) for g in _goroutines() if _status(g)[1] == 2]; "
           "print('running goroutines: %d' % len(r)); "
           "[gdb.execute('goroutine %d bt' % i) for i in r]")

SPINNERS = ("python s = [int(g['id']) for g in _goroutines() "
            "if int(g['fn']) and _symbol(int(g['fn'])).startswith('spin+')]; "
            "print('spinners: %d' % len(s)); "
            "[gdb.execute('goroutine %d bt' % i) for i in s]")

# The entry case's breakpoint, per arch: where, and the condition that the
# interrupted pc is in spin (sieve.c; its loop is well inside its first 64 bytes).
ENTRY_BREAK = {
    "x86_64": ("*(trap_common + 7)",
               "*(unsigned long *)($rsp + 72) - (unsigned long)spin < 64",
               r"trap_common\+0x7"),
    "aarch64": ("*(arm64_vectors + 0x80)", "$ELR_EL1 - (unsigned long)spin < 64",
                r"arm64_vectors\+0x80"),
}

CASES = [
    # name, app, smp, cmdline, wait for (regex on the serial output), gdb commands, regexes
    ("readline", "readline", 2, "gccheckmark=1", r"readline: reading lines",
     ["info goroutines", "goroutine 1 bt", "goroutine 424242 bt"],
     [r"goroutine \d+: waiting \(chan receive\), started at tty_loop",
      r"goroutine \d+: waiting \(GC idle\), started at gc_coordinator",
      r"goroutine 1: waiting \(chan receive\), started at main_goroutine",
      r"^\d+ goroutines$",
      r"^goroutine 1 \[waiting\]:",
      r"#0 0x[0-9a-f]{16} sched_switch\+",
      r"#\d+ 0x[0-9a-f]{16} console_read\+",
      r"#\d+ 0x[0-9a-f]{16} _?fgets(_r)?\+",
      r"#\d+ 0x[0-9a-f]{16} main\+",
      r"#\d+ 0x[0-9a-f]{16} arch_context_start\+",
      r"no goroutine 424242 \(info goroutines lists them\)"]),
    ("sieve", "sieve", 2, "gccheckmark=1 -- 1000", r"sieve: 2 3 5 7",
     ["info goroutines", RUNNING],
     [r"goroutine \d+: running on cpu [01], started at (spin|filter|generate)",
      r"running goroutines: [12]$",
      r"goroutine \d+ \[running\]:",
      r"#\d+ 0x[0-9a-f]{16} (spin|filter|generate)\+",
      r"#\d+ 0x[0-9a-f]{16} arch_context_start\+"]),
    ("entry", "sieve", 2, "gccheckmark=1 -- 1000", r"sieve: 2 3 5 7",
     ["break %(where)s if %(cond)s", "continue", "delete", RUNNING],
     [r"running goroutines: [12]$",
      r"^  #0 0x[0-9a-f]{16} %(entry)s\n  #1 0x[0-9a-f]{16} spin\+0x[0-9a-f]+\n"
      r"  #2 0x[0-9a-f]{16} g_entry\+"]),
    ("preempted", "sieve", 1, "gccheckmark=1 -- 1000", r"sieve: 2 3 5 7",
     ["break filter", "continue", "delete", SPINNERS],
     [r"spinners: 1$",
      r"^goroutine \d+ \[runnable\]:",
      r"_preempt_tramp\+0x[0-9a-f]+\n  #\d+ 0x[0-9a-f]{16} spin\+0x[0-9a-f]+\n"
      r"  #\d+ 0x[0-9a-f]{16} g_entry\+"]),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_case(build, arch, case, log_dir):
    name, app, smp, cmdline, wait_re, cmds, regexes = case
    where, cond, entry = ENTRY_BREAK[arch]
    subst = {"where": where, "cond": cond, "entry": entry}
    cmds = [c % subst if "%(" in c else c for c in cmds]
    regexes = [r % subst if "%(" in r else r for r in regexes]
    image = qemu.image_path(build, arch, "direct", app)
    elf = os.path.join(build, arch, "app", app, "kernel.elf")
    port = free_port()
    argv, cleanup = qemu.build_cmd(arch, "direct", image, cmdline, smp=smp)
    argv += ["-gdb", "tcp:127.0.0.1:%d" % port]
    log = open(os.path.join(log_dir, "gdb.%s.%s.log" % (arch, name)), "w")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, deadline = b"", time.monotonic() + 120
        os.set_blocking(proc.stdout.fileno(), False)
        while not re.search(wait_re.encode(), out):
            if time.monotonic() > deadline or proc.poll() is not None:
                log.write(out.decode(errors="replace"))
                return "the program never printed %r (serial output in %s)" % (wait_re, log.name)
            chunk = proc.stdout.read()
            if chunk:
                out += chunk
            else:
                time.sleep(0.1)
        log.write(out.decode(errors="replace"))
        gdb = ["gdb-multiarch", "-nx", "-batch", "-ex", "set pagination off",
               "-ex", "set confirm off", "-ex", "file " + elf,
               "-ex", "source " + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               "gdb_gort.py"),
               "-ex", "target remote 127.0.0.1:%d" % port]
        for c in cmds:
            gdb += ["-ex", c]
        gdb += ["-ex", "kill"]
        try:
            res = subprocess.run(gdb, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=120, text=True)
        except OSError as e:
            return "cannot run gdb-multiarch (tools/deps.sh installs it): %s" % e
        except subprocess.TimeoutExpired:
            return "gdb did not finish in 120 s"
        log.write("\n### gdb\n" + res.stdout)
        pos = 0
        for r in regexes:
            m = re.compile(r, re.MULTILINE).search(res.stdout, pos)
            if not m:
                return "regex not found (in order): %r; gdb said:\n%s" % (r, res.stdout)
            pos = m.end()
        return None
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
        cleanup()
        log.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Test tools/gdb_gort.py against booted images.")
    ap.add_argument("--build", default="build")
    ap.add_argument("--results", default=None)
    ap.add_argument("--log-dir", default=None)
    args = ap.parse_args(argv)
    log_dir = args.log_dir or os.path.join(args.build, "logs")
    os.makedirs(log_dir, exist_ok=True)
    passed = failed = 0
    lines = []
    for arch in qemu.ARCHES:
        for case in CASES:
            rid = "gdb/%s/%s" % (arch, case[0])
            try:
                why = run_case(args.build, arch, case, log_dir)
            except (qemu.QemuError, OSError) as e:
                why = str(e)
            if why is None:
                passed += 1
                print("[ OK ] %s" % rid)
                lines.append("PASS %s\n" % rid)
            else:
                failed += 1
                print("[FAIL] %s: %s" % (rid, why))
                lines.append("FAIL %s\n" % rid)
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    if args.results:
        with open(args.results, "a") as f:
            f.writelines(lines)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
