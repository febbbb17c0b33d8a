#!/usr/bin/env python3
"""Boot-test runner: boots the image under QEMU for every case of the boot
matrix and judges each run from its serial output and exit status.

Usage:
    boottest.py [--build BUILD] [--matrix tests/boot/matrix.txt] [--only REGEX]
                [--results FILE] [--jobs N] [--log-dir DIR] [--bench-runs N]

--only REGEX keeps the cases whose id boot/<arch>/<path>/<case> it matches
(re.search); --jobs N boots N cases at once (default 2).

For each case (one line of the matrix, format documented at the top of
tests/boot/matrix.txt) the runner builds the QEMU command with tools/qemu.py,
streams the serial output into BUILD/logs/<arch>.<path>.<case>.log, kills the
whole QEMU process group when the case's timeout expires, and parses the
serial protocol (docs: DESIGN.md, "Tests and the serial protocol"):

    [ OK ] suite.name
    [FAIL] suite.name: file:line: message
    N passed, M failed          (the run's summary; the last one counts)
    BENCH name value unit
    PANIC: message              (then registers and backtrace, status 2)

Firmware escape sequences and carriage returns are stripped first, and a
protocol token is found anywhere in a line, since firmware output (SeaBIOS
under -nographic, OVMF's cursor moves) may precede the kernel's first line.

A case passes when
  - the power-off status (tools/qemu.py map_exit) equals the expected one;
    on aarch64 QEMU exit code 0 (PSCI SYSTEM_OFF) counts as status 0 only
    next to a clean summary line;
  - for expected status 0: a summary line says at least 1 passed and 0
    failed, and no [FAIL] line or PANIC appeared (a case whose command line
    runs no tests= and that has regexes is judged by those instead of the
    summary);
  - every regex of the case matches the output, in order (each one searched
    from where the previous match ended; ^ and $ match at line ends).

Output, one line per result:
    [ OK ] boot/<arch>/<path>/<case>/<suite.name>   each in-image test
    [FAIL] boot/<arch>/<path>/<case>: reason         the case itself
    BENCH <name>.<arch>.<path> value unit            the image's BENCH lines
    BENCH qemu_wall_ms.<arch>.<path> ms ms           wall time of the QEMU run
(for a case not named "tests" the BENCH tag gets ".<case>" appended, so two
cases on the same arch and path never report the same name). A timed-out
case prints the last 30 lines of its log under its [FAIL] line. The run ends
with "N passed, M failed" over all results.

--bench-runs N boots every selected case N times (for `make bench`): a
result passes only if it passed in every boot, and each BENCH line carries
the median of the N values; logs are then named <...>.run<k>.log.

--results FILE appends "PASS name" / "FAIL name: reason [log: PATH]" lines for tools/summary.py.
Exit status: 0 iff every result passed, 1 otherwise, 2 for a usage or
matrix error.
"""

import argparse
import codecs
import concurrent.futures
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402  (tools/qemu.py, next to this file)

TAIL_LINES = 30  # log lines shown with a timeout


# ---------------------------------------------------------------------------
# The matrix

class Case:
    """One boot of the image: a line of the matrix."""

    def __init__(self, name, arch, path, smp, timeout, cmdline, expect, regexes, where):
        self.name = name          # case name, unique per arch and path
        self.arch = arch          # x86_64 | aarch64
        self.path = path          # uefi | direct
        self.smp = smp            # number of cores
        self.timeout = timeout    # seconds for the whole QEMU run
        self.cmdline = cmdline    # kernel command line
        self.expect = expect      # expected power-off status
        self.regexes = regexes    # compiled, must match in order
        self.where = where        # "matrix.txt:12", for messages
        self.qemu_args = []       # extra QEMU arguments ("qemu:ARGS" fields)
        self.app = None           # a program's image ("app:NAME" field), else the default
        self.script = []          # console input: ("wait", regex) / ("send", bytes) / ("close",)
        self.exit_device = True   # False: "noexit:", QEMU without its exit device

    @property
    def id(self):
        """The case's result name: boot/<arch>/<path>/<case>."""
        return "boot/%s/%s/%s" % (self.arch, self.path, self.name)

    @property
    def tag(self):
        """Suffix of BENCH names: <arch>.<path>[.<case>]."""
        tag = "%s.%s" % (self.arch, self.path)
        return tag if self.name == "tests" else tag + "." + self.name

    @property
    def log_name(self):
        return "%s.%s.%s.log" % (self.arch, self.path, self.name)


class MatrixError(Exception):
    pass


CASE_NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")


def parse_matrix(text, filename="matrix.txt"):
    """Parse the matrix text into a list of Cases; raises MatrixError.

    One case per line, fields separated by blanks, shell-style quoting
    (shlex), '#' starts a comment:
        name arch path smp timeout cmdline expect [regex ...]
    """
    cases, seen = [], {}
    for n, raw in enumerate(text.splitlines(), 1):
        where = "%s:%d" % (filename, n)
        try:
            f = shlex.split(raw, comments=True)
        except ValueError as e:
            raise MatrixError("%s: %s" % (where, e))
        if not f:
            continue
        if len(f) < 7:
            raise MatrixError("%s: want 'name arch path smp timeout cmdline expect"
                              " [regex...]', got %d fields" % (where, len(f)))
        name, arch, path, smp, timeout, cmdline, expect = f[:7]
        if not CASE_NAME_RE.match(name):
            raise MatrixError("%s: bad case name %r" % (where, name))
        try:
            qemu.check_arch_path(arch, path)
        except qemu.QemuError as e:
            raise MatrixError("%s: %s" % (where, e))
        try:
            smp = int(smp)
            timeout = float(timeout)
            expect = int(expect)
        except ValueError as e:
            raise MatrixError("%s: %s" % (where, e))
        if smp < 1 or timeout <= 0 or not 0 <= expect <= 255:
            raise MatrixError("%s: smp must be >= 1, timeout > 0, expect 0..255" % where)
        regexes, qemu_args, app, script, noexit = [], [], None, [], False
        for r in f[7:]:
            if r.startswith("qemu:"):
                qemu_args += shlex.split(r[len("qemu:"):])
                continue
            if r.startswith("wait:"):
                try:
                    script.append(("wait", re.compile(r[len("wait:"):], re.MULTILINE)))
                except re.error as e:
                    raise MatrixError("%s: bad regex in %r: %s" % (where, r, e))
                continue
            if r.startswith("send:"):
                try:
                    data = codecs.decode(r[len("send:"):], "unicode_escape").encode("latin-1")
                except (UnicodeError, ValueError) as e:
                    raise MatrixError("%s: bad escape in %r: %s" % (where, r, e))
                script.append(("send", data))
                continue
            if r.startswith("sleep:"):
                try:
                    script.append(("sleep", float(r[len("sleep:"):])))
                except ValueError as e:
                    raise MatrixError("%s: %r: %s" % (where, r, e))
                continue
            if r == "close:":
                script.append(("close",))
                continue
            if r == "noexit:":
                noexit = True
                continue
            if r.startswith("app:"):
                app = r[len("app:"):]
                if not CASE_NAME_RE.match(app):
                    raise MatrixError("%s: bad program name %r in app:" % (where, app))
                continue
            try:
                regexes.append(re.compile(r, re.MULTILINE))
            except re.error as e:
                raise MatrixError("%s: bad regex %r: %s" % (where, r, e))
        case = Case(name, arch, path, smp, timeout, cmdline, expect, regexes, where)
        case.qemu_args = qemu_args
        case.app = app
        case.script = script
        if noexit and (arch == qemu.HOST_ARCH or expect != 0):
            raise MatrixError("%s: noexit: is for QEMU cases expecting 0 (a power-off without "
                              "the exit device carries no status)" % where)
        case.exit_device = not noexit
        if case.id in seen:
            raise MatrixError("%s: case %s already defined at %s" % (where, case.id, seen[case.id]))
        seen[case.id] = where
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------
# Parsing the serial output

# CSI sequences (ESC [ params intermediates final), other two-byte ESC
# sequences, and the C1 CSI byte; OVMF prints e.g. ESC[2J ESC[01;01H ESC[=3h.
ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")

# A test name is letters, digits and _ . + - /, followed by ": message",
# other text after a blank (ignored for [ OK ]), or the end of the line.
TEST_RE = re.compile(r"\[( OK |FAIL)\] ([\w.+/-]+)(?::?\s+(.*?))?:?\s*$")
SUMMARY_RE = re.compile(r"(?:^|[^\d])(\d+) passed, (\d+) failed\s*$")
BENCH_RE = re.compile(r"(?:^|\s)BENCH (\S+) (-?[0-9][0-9.eE+-]*) (\S+)\s*$")
PANIC_RE = re.compile(r"PANIC: (.*?)\s*$")


def clean_lines(text):
    """The output as a list of lines: escapes stripped, split at \\r and \\n,
    other control characters dropped, blank lines removed."""
    text = ANSI_RE.sub("", text)
    lines = []
    for line in re.split(r"\r\n|\r|\n", text):
        line = "".join(c for c in line if c == "\t" or c >= " ")
        if line.strip():
            lines.append(line)
    return lines


class Output:
    """What the image said, parsed from its cleaned lines."""

    def __init__(self, lines):
        self.lines = lines
        self.tests = []      # (name, passed, message) in output order
        self.summary = None  # (passed, failed) of the last summary line
        self.benches = []    # (name, value, unit)
        self.panic = None    # message of the first PANIC line
        for line in lines:
            m = TEST_RE.search(line)
            if m:
                passed = m.group(1) == " OK "
                self.tests.append((m.group(2), passed, m.group(3) or ""))
                continue
            m = SUMMARY_RE.search(line)
            if m:
                self.summary = (int(m.group(1)), int(m.group(2)))
                continue
            m = BENCH_RE.search(line)
            if m:
                self.benches.append((m.group(1), m.group(2), m.group(3)))
                continue
            m = PANIC_RE.search(line)
            if m and self.panic is None:
                self.panic = m.group(1)


def parse_output(text):
    return Output(clean_lines(text))


def match_in_order(regexes, lines):
    """Return the first regex (pattern text) that does not match after the
    previous one's match, or None when all matched in order."""
    text = "\n".join(lines)
    pos = 0
    for r in regexes:
        m = r.search(text, pos)
        if not m:
            return r.pattern
        pos = m.end()
    return None


# ---------------------------------------------------------------------------
# Judging a run

class Run:
    """How one QEMU run ended."""

    def __init__(self, rc, text, timed_out=False, wall_ms=0.0, error=None):
        self.rc = rc                # QEMU exit code (negative: signal), None if not started
        self.text = text            # everything QEMU wrote (stdout and stderr)
        self.timed_out = timed_out  # killed by the runner
        self.wall_ms = wall_ms      # wall time of the run
        self.error = error          # why QEMU could not be started


class Verdict:
    """The results of one case: per-test results, then the case's own."""

    def __init__(self, case):
        self.case = case
        self.results = []   # (name, passed, reason)
        self.benches = []   # (name, value, unit), names already tagged
        self.tail = []      # log lines to show under a timeout
        self.passed = False
        self.reason = ""
        self.log_path = None  # the boot's log (the first failing boot's, merged)
        self.rc = None        # the emulator's (or host process's) exit code
        self.panicked = False
        self.summarized = False
        self.retried = None   # why the case was booted twice (run_case), if it was


def judge(case, run):
    """Judge `run` of `case`; returns a Verdict. Pure: no I/O, for tests."""
    v = Verdict(case)
    out = parse_output(run.text)
    v.rc = None if run.timed_out else run.rc
    v.panicked = out.panic is not None
    v.summarized = out.summary is not None
    for name, passed, msg in out.tests:
        v.results.append(("%s/%s" % (case.id, name), passed, msg))
    for name, value, unit in out.benches:
        v.benches.append(("%s.%s" % (name, case.tag), value, unit))
    if run.error is None:
        v.benches.append(("qemu_wall_ms.%s" % case.tag, "%.0f" % run.wall_ms, "ms"))

    reasons = []
    if run.error is not None:
        reasons.append(run.error)
    elif run.timed_out:
        reasons.append("timeout after %g s (last %d lines of the log below)"
                       % (case.timeout, TAIL_LINES))
        v.tail = out.lines[-TAIL_LINES:]
    else:
        status, why = qemu.map_exit(case.arch, run.rc, case.exit_device)
        if status is None:
            reasons.append(why)
        elif status != case.expect:
            program = case.app is not None
            reasons.append("exit status %s, expected %s"
                           % (qemu.describe_status(status, program),
                              qemu.describe_status(case.expect, program)))
        if case.expect == 0:
            if out.panic is not None:
                reasons.append("PANIC: %s" % out.panic)
            runs_tests = "tests=" in case.cmdline
            if out.summary is None and (runs_tests or not case.regexes):
                # a boot that runs no suites (the demo) is judged by its regexes
                reasons.append("no 'N passed, M failed' summary line")
            elif out.summary is not None and (out.summary[1] != 0 or out.summary[0] < 1):
                reasons.append("summary says %d passed, %d failed" % out.summary)
            nfail = sum(1 for _, ok, _ in out.tests if not ok)
            if nfail and (out.summary is None or out.summary[1] == 0):
                reasons.append("%d [FAIL] line(s) in the output" % nfail)
        missing = match_in_order(case.regexes, out.lines)
        if missing is not None:
            reasons.append("regex not found (in order): %r" % missing)

    v.passed = not reasons
    v.reason = "; ".join(reasons)
    v.results.append((case.id, v.passed, v.reason))
    return v


# ---------------------------------------------------------------------------
# Running QEMU

# Process groups of running QEMUs, killed if the runner is interrupted;
# once _abort is set no new QEMU starts.
_live = set()
_live_lock = threading.Lock()
_abort = threading.Event()


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Script:
    """A case's console input, played against the output as it comes: each "wait"
    holds the rest back until its regex matches the output (searched from where the
    previous wait matched, carriage returns and escape sequences stripped); "send"
    writes its bytes to the guest's console (QEMU's serial on its standard input; the
    hosted binary's standard input); "sleep" holds the rest back for that many
    seconds; "close" closes that input."""

    def __init__(self, steps, stdin):
        self.steps = list(steps)
        self.stdin = stdin
        self.text = ""
        self.pos = 0
        self.until = None   # the end of a sleep under way

    def due(self):
        """Seconds until a sleep under way ends (None: nothing timed)."""
        return None if self.until is None else max(self.until - time.monotonic(), 0)

    def feed(self, data):
        """Take new output (bytes, or None to just advance); play what is due."""
        if data:
            self.text += ANSI_RE.sub("", data.decode("utf-8", errors="replace")).replace("\r", "")
        while self.steps:
            step = self.steps[0]
            if step[0] == "wait":
                m = step[1].search(self.text, self.pos)
                if not m:
                    return
                self.pos = m.end()
            elif step[0] == "sleep":
                if self.until is None:
                    self.until = time.monotonic() + step[1]
                if time.monotonic() < self.until:
                    return
                self.until = None
            elif step[0] == "send":
                try:
                    self.stdin.write(step[1])
                    self.stdin.flush()
                except (BrokenPipeError, OSError):
                    self.steps = []
                    return
            else:
                self.close()
            self.steps.pop(0)

    def close(self):
        try:
            self.stdin.close()
        except OSError:
            pass


def run_qemu(argv, timeout, log, script=None):
    """Run argv in its own process group, copy its output to `log` as it
    comes, and kill the group after `timeout` seconds; play `script` (console
    input steps, Case.script) against the output. Returns a Run."""
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if script else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as e:
        return Run(None, "", error="cannot run %s: %s" % (argv[0], e))
    with _live_lock:
        _live.add(proc.pid)
        if _abort.is_set():
            kill_group(proc.pid)
    chunks, timed_out = [], False
    player = Script(script, proc.stdin) if script else None
    if player:
        player.feed(None)
    fd = proc.stdout.fileno()
    deadline = t0 + timeout
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                due = player.due() if player else None
                if not sel.select(left if due is None else min(left, due)):
                    if player:
                        player.feed(None)
                    continue
                data = os.read(fd, 65536)
                if not data:
                    break  # EOF: QEMU closed its output, normally by exiting
                chunks.append(data)
                log.write(data)
                log.flush()
                if player:
                    player.feed(data)
            if not timed_out:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    timed_out = True
            if timed_out:
                kill_group(proc.pid)
                # Keep what was still in the pipe; the writers are dead now,
                # but bound the wait in case one escaped the group.
                end = time.monotonic() + 2
                while time.monotonic() < end and sel.select(max(end - time.monotonic(), 0)):
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    chunks.append(data)
                    log.write(data)
        rc = proc.wait()
    finally:
        proc.stdout.close()
        if player:
            player.close()
        with _live_lock:
            _live.discard(proc.pid)
    wall_ms = (time.monotonic() - t0) * 1000
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return Run(rc, text, timed_out=timed_out, wall_ms=wall_ms)


def tsan_signal_death(case, v):
    """True for a boot of the ThreadSanitizer build that the host killed with
    SIGSEGV before it printed a summary or a panic: the known death of TSan's
    delivery of a held-back signal on a goroutine's demand-paged stack, with
    every signal blocked (README, "What does not work yet"; about one boot in
    a hundred of the gc_stress line). Retried once, in plain sight."""
    return (case.path == "tsan" and v.rc == -signal.SIGSEGV and not v.passed
            and not v.panicked and not v.summarized)


def run_case(case, build, log_dir, run=None):
    """Boot one case and judge it; a runner error fails the case. `run`
    numbers the boots of a case under --bench-runs (it names the log). A
    known ThreadSanitizer death (tsan_signal_death) boots the case once more;
    the first boot's log is kept beside (.first.log) and the verdict says so."""
    try:
        v = boot_case(case, build, log_dir, run)
        v.log_path = case_log_path(case, log_dir, run)
        if tsan_signal_death(case, v):
            first = v.log_path[:-len(".log")] + ".first.log"
            os.replace(v.log_path, first)
            v = boot_case(case, build, log_dir, run)
            v.log_path = case_log_path(case, log_dir, run)
            v.retried = ("first boot killed by SIGSEGV under ThreadSanitizer (its "
                         "signal delivery on a goroutine stack, README); log: %s" % first)
        return v
    except Exception as e:  # a bug or an I/O error must not hide the other cases
        return judge(case, Run(None, "", error="runner error: %s: %s"
                               % (type(e).__name__, e)))


def case_log_path(case, log_dir, run):
    log_name = case.log_name
    if run is not None:
        log_name = log_name[:-len(".log")] + ".run%d.log" % run
    return os.path.join(log_dir, log_name)


def boot_case(case, build, log_dir, run):
    image = qemu.image_path(build, case.arch, case.path, case.app)
    log_path = case_log_path(case, log_dir, run)
    with open(log_path, "wb") as log:
        try:
            argv, cleanup = qemu.build_cmd(case.arch, case.path, image, case.cmdline,
                                           smp=case.smp, exit_device=case.exit_device)
            argv = argv + case.qemu_args
        except qemu.QemuError as e:
            log.write(("### %s\n" % e).encode())
            return judge(case, Run(None, "", error=str(e)))
        try:
            log.write(("### %s (%s)\n### %s\n" % (case.id, case.where, shlex.join(argv))).encode())
            log.flush()
            run = run_qemu(argv, case.timeout, log, case.script)
        finally:
            cleanup()
        log.write(("\n### qemu exit code %s%s, %.0f ms\n"
                   % (run.rc, " (killed at timeout)" if run.timed_out else "",
                      run.wall_ms)).encode())
    return judge(case, run)


def merge_verdicts(verdicts):
    """One Verdict for several boots of the same case (--bench-runs): a
    result passes only if it passed in every boot that reported it (the
    reason names the first failing boot), and each BENCH value is the median
    over the boots (the lower median, so it is a value one boot printed)."""
    if len(verdicts) == 1:
        return verdicts[0]
    n = len(verdicts)
    m = Verdict(verdicts[0].case)
    results, benches = {}, {}
    for k, v in enumerate(verdicts, 1):
        for name, ok, reason in v.results:
            prev = results.setdefault(name, (True, ""))
            if prev[0] and not ok:
                results[name] = (False, "run %d/%d: %s" % (k, n, reason))
        for name, value, unit in v.benches:
            benches.setdefault((name, unit), []).append(value)
        if v.tail and not m.tail:
            m.tail = v.tail
        if not v.passed and not m.log_path:
            m.log_path = v.log_path
        m.retried = m.retried or v.retried
    case_id = m.case.id
    m.results = [(name, ok, reason) for name, (ok, reason) in results.items() if name != case_id]
    m.results.append((case_id,) + results[case_id])
    m.passed, m.reason = results[case_id]
    for (name, unit), values in benches.items():
        try:
            value = sorted(values, key=float)[(len(values) - 1) // 2]
        except ValueError:  # not a number after all: keep the first
            value = values[0]
        m.benches.append((name, value, unit))
    return m


# ---------------------------------------------------------------------------
# Reporting

def result_line(name, ok, reason, log_path):
    """The --results line: "PASS name", or "FAIL name: reason [log: PATH]" on
    one line (the reason cut at 300 characters), which tools/summary.py repeats
    at the end of make test with the log's last lines."""
    if ok:
        return "PASS %s" % name
    reason = " ".join(reason.split())
    if len(reason) > 300:
        reason = reason[:297] + "..."
    line = "FAIL %s" % name + (": %s" % reason if reason else "")
    return line + (" [log: %s]" % log_path if log_path else "")


def format_verdict(v):
    """The lines printed for one case."""
    lines = []
    for name, ok, reason in v.results[:-1]:
        lines.append("[ OK ] %s" % name if ok else "[FAIL] %s: %s" % (name, reason))
    for name, value, unit in v.benches:
        lines.append("BENCH %s %s %s" % (name, value, unit))
    name, ok, reason = v.results[-1]
    if v.retried:
        lines.append("[RETRY] %s: %s" % (name, v.retried))
    lines.append("[ OK ] %s" % name if ok else "[FAIL] %s: %s" % (name, reason))
    lines.extend("    | " + l for l in v.tail)
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description="Boot the image under QEMU for each case "
                                 "of the boot matrix and judge the runs.")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"),
                    help="build directory (default: $BUILD or build)")
    ap.add_argument("--matrix", default="tests/boot/matrix.txt", help="the boot matrix")
    ap.add_argument("--only", metavar="REGEX",
                    help="run only cases whose id boot/<arch>/<path>/<case> matches")
    ap.add_argument("--results", metavar="FILE", help="append PASS/FAIL lines to FILE")
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--log-dir", metavar="DIR", help="logs (default BUILD/logs)")
    ap.add_argument("--bench-runs", type=int, default=1, metavar="N",
                    help="boot each case N times; BENCH values are the medians "
                    "(default 1)")
    args = ap.parse_args(argv)

    try:
        with open(args.matrix) as f:
            cases = parse_matrix(f.read(), args.matrix)
        only = re.compile(args.only) if args.only else None
    except (OSError, MatrixError, re.error) as e:
        print("boottest: %s" % e, file=sys.stderr)
        return 2
    if only:
        cases = [c for c in cases if only.search(c.id)]
    if not cases:
        print("boottest: no case selected", file=sys.stderr)
        return 2
    if args.bench_runs < 1:
        print("boottest: --bench-runs must be >= 1", file=sys.stderr)
        return 2
    log_dir = args.log_dir or os.path.join(args.build, "logs")
    os.makedirs(log_dir, exist_ok=True)

    results_file = open(args.results, "a") if args.results else None
    print_lock = threading.Lock()
    npass = nfail = 0

    def report(v):
        nonlocal npass, nfail
        with print_lock:
            print("\n".join(format_verdict(v)), flush=True)
            for name, ok, reason in v.results:
                if ok:
                    npass += 1
                else:
                    nfail += 1
                if results_file:
                    if v.retried and name == v.case.id:
                        results_file.write("# RETRY %s: %s\n" % (name, v.retried))
                    results_file.write(result_line(name, ok, reason, v.log_path) + "\n")
            if results_file:
                results_file.flush()

    # Each QEMU runs in its own session (so a timeout can kill its whole
    # group), out of reach of the signals that stop the runner: turn SIGTERM
    # and SIGHUP (make or CI giving up) into the KeyboardInterrupt path below,
    # which kills them.
    def interrupted(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        runs = args.bench_runs
        futures = {}  # future -> (case index, run number)
        for i, c in enumerate(cases):
            for k in range(1, runs + 1):
                fut = pool.submit(run_case, c, args.build, log_dir, k if runs > 1 else None)
                futures[fut] = (i, k)
        done = {}  # case index -> {run number: verdict}
        for fut in concurrent.futures.as_completed(futures):
            i, k = futures[fut]
            done.setdefault(i, {})[k] = fut.result()
            if len(done[i]) == runs:
                report(merge_verdicts([done[i][k] for k in sorted(done[i])]))
    except KeyboardInterrupt:
        _abort.set()
        with _live_lock:
            for pid in list(_live):
                kill_group(pid)
        pool.shutdown(wait=True, cancel_futures=True)
        print("boottest: interrupted", file=sys.stderr)
        return 130
    finally:
        pool.shutdown(wait=True)
        if results_file:
            results_file.close()

    print("%d passed, %d failed" % (npass, nfail))
    return 0 if nfail == 0 and npass > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
