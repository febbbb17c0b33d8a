#!/usr/bin/env python3
"""Self-tests of the host tools: the boot-test runner's parsing and
judgement, the exit-status mapping, the QEMU command lines, the command-line
injection into the ESP, and the summary.

Usage:
    test_tools.py [--results FILE]

The end-to-end tests put fake `qemu-system-x86_64` / `qemu-system-aarch64`
scripts first on PATH. The fake reads the kernel command line (from -append,
or from cmdline.txt on the -drive image, as the real loader does), treats
"scenario=NAME" in it as a script, prints serial-protocol lines with firmware
escape sequences around them, and exits the way the real QEMU would
(x86_64: (v << 1) | 1 as isa-debug-exit; aarch64: v as semihosting), or
hangs, or exits 0 as after a triple fault. tools/boottest.py runs a matrix of
such cases once, and each test checks part of its verdict.

Prints "[ OK ] tools/<test>" or "[FAIL] tools/<test>: file:line: message"
per test, then "N passed, M failed"; --results appends PASS/FAIL lines for
tools/summary.py. Exit status 0 iff all passed. Needs mtools; takes ~2 s.
"""

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import boehmprogs  # noqa: E402
import boottest  # noqa: E402
import gcbench   # noqa: E402
import gobench   # noqa: E402
import qemu      # noqa: E402
import summary   # noqa: E402

TESTS = []


def test(fn):
    """Register a test; its name is tools/<function name without test_>."""
    TESTS.append(fn)
    return fn


def eq(got, want, what=""):
    assert got == want, "%s: got %r, want %r" % (what or "value", got, want)


# ---------------------------------------------------------------------------
# The fake QEMU

FAKE_QEMU = r'''#!PYTHON
import json, os, re, subprocess, sys, time
arch = "x86_64" if os.path.basename(sys.argv[0]).endswith("x86_64") else "aarch64"
argv = sys.argv[1:]
cmdline = ""
if "-append" in argv:
    cmdline = argv[argv.index("-append") + 1]
else:
    for i, a in enumerate(argv):
        if a == "-drive":
            img = re.search(r"file=([^,]+)", argv[i + 1]).group(1)
            cmdline = subprocess.run(["mtype", "-i", img, "::cmdline.txt"],
                                     stdout=subprocess.PIPE, text=True).stdout
m = re.search(r"scenario=(\w+)", cmdline)
scenario = m.group(1) if m else "none"
path = "direct" if "-kernel" in argv else "uefi"
with open(os.path.join(os.environ["FAKE_DIR"], "argv.%s.%s.%s.json" % (arch, path, scenario)), "w") as f:
    json.dump(argv, f)

def out(s):
    sys.stdout.write(s)
    sys.stdout.flush()

def power_off(v):
    sys.exit((v << 1) | 1 if arch == "x86_64" else v)

FW = "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n\x1b[0m\x1b[37m\x1b[40m"
out(FW)
if scenario == "pass":
    out("[ OK ] a.one\r\n[ OK ] a.two (3 ms)\r\nBENCH boot_ms 12.3 ms\r\nsome chatter\r\n2 passed, 0 failed\r\n")
    power_off(0)
elif scenario == "fail":
    out("[ OK ] a.one\r\n[FAIL] a.two: a.c:12: want 1, got 2\r\n1 passed, 1 failed\r\n")
    power_off(1)
elif scenario in ("panic", "panic_nobt"):
    out("[ OK ] a.one\r\nPANIC: page fault at 0x0 (write)\r\n  rip 0xffffffff80001234\r\n")
    if scenario == "panic":
        out("backtrace:\r\n  #0 0xffffffff80001234 test_fault_target+0x14\r\n  #1 test_run+0x40\r\n")
    power_off(2)
elif scenario == "hang":
    out("[ OK ] a.one\r\nline %s\r\n" % "x")
    for i in range(40):
        out("hang line %d\r\n" % i)
    child = subprocess.Popen(["sleep", "1000"])  # holds stdout open too
    with open(os.path.join(os.environ["FAKE_DIR"], "hang.child"), "w") as f:
        f.write(str(child.pid))
    while True:
        time.sleep(1000)
elif scenario == "triple":
    out("[ OK ] a.one\r\n")
    sys.exit(0)
elif scenario == "nosummary":
    out("[ OK ] a.one\r\n")
    power_off(0)
elif scenario == "psci":
    out("[ OK ] a.one\r\n1 passed, 0 failed\r\n")
    sys.exit(0)
elif scenario == "lying":
    out("[FAIL] a.one: a.c:1: boom\r\n1 passed, 0 failed\r\n")
    power_off(0)
elif scenario == "glued":
    out("Booting from ROM..[ OK ] a.one\r\n1 passed, 0 failed\r\n")
    power_off(0)
elif scenario in ("count", "flaky"):
    counter = os.path.join(os.environ["FAKE_DIR"], "count." + scenario)
    n = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
    with open(counter, "w") as f:
        f.write(str(n))
    if scenario == "flaky" and n == 2:
        out("[FAIL] a.one: f.c:1: flaky\r\n0 passed, 1 failed\r\n")
        power_off(1)
    out("[ OK ] a.one\r\nBENCH n_ms %s ms\r\n1 passed, 0 failed\r\n" % ["2", "100", "10"][(n - 1) % 3])
    power_off(0)
elif scenario == "badexit":
    out("[ OK ] a.one\r\n1 passed, 0 failed\r\n")
    power_off(1)
else:
    out("fake qemu: unknown scenario in %r\r\n" % cmdline)
    power_off(1)
'''

# name arch path smp timeout cmdline expect regexes
E2E_MATRIX = r"""
# the end-to-end matrix of the self-tests
tests     x86_64   direct 1 20 'tests=all scenario=pass' 0
tests     x86_64   uefi   2 20 'tests=all scenario=pass' 0
tests     aarch64  uefi   1 20 'scenario=pass'           0
tests     aarch64  direct 4 20 'scenario=pass'           0
fail      x86_64   direct 1 20 'scenario=fail'           0
panic     x86_64   direct 1 20 'scenario=panic'          2 'PANIC: .*(page fault|Data Abort)' '(?i)backtrace' 'test_fault_target'
panic     aarch64  direct 1 20 'scenario=panic'          2 'PANIC: .*(page fault|Data Abort)' '(?i)backtrace' 'test_fault_target'
nobt      x86_64   direct 1 20 'scenario=panic_nobt'     2 'PANIC: .*(page fault|Data Abort)' '(?i)backtrace' 'test_fault_target'
unexp     x86_64   direct 1 20 'scenario=panic'          0
hang      x86_64   direct 1 2  'scenario=hang'           0
triple    x86_64   direct 1 20 'scenario=triple'         0
nosummary x86_64   direct 1 20 'scenario=nosummary'      0
psci      aarch64  direct 1 20 'scenario=psci'           0
psci      x86_64   direct 1 20 'scenario=psci'           0
lying     x86_64   direct 1 20 'scenario=lying'          0
glued     x86_64   direct 1 20 'scenario=glued'          0
badexit   aarch64  direct 1 20 'scenario=badexit'        0
"""


class E2E:
    """One boottest.py run over E2E_MATRIX with the fake QEMU, shared by the
    end-to-end tests (run lazily by the first of them)."""

    done = False

    @classmethod
    def get(cls):
        if not cls.done:
            cls.run()
            cls.done = True
        if cls.error:
            raise AssertionError(cls.error)
        return cls

    @classmethod
    def run(cls):
        cls.error = None
        d = cls.dir = tempfile.mkdtemp(prefix="test_tools-")
        bindir, build, tmp = (os.path.join(d, x) for x in ("bin", "build", "tmp"))
        for p in (bindir, build + "/x86_64", build + "/aarch64", tmp):
            os.makedirs(p)
        script = FAKE_QEMU.replace("#!PYTHON", "#!" + sys.executable, 1)
        for name in qemu.QEMU_BIN.values():
            with open(os.path.join(bindir, name), "w") as f:
                f.write(script)
            os.chmod(os.path.join(bindir, name), 0o755)
        for p in ("x86_64/kernel.elf", "aarch64/Image"):
            open(os.path.join(build, p), "w").close()
        for arch in qemu.ARCHES:
            make_fat(os.path.join(build, arch, "esp.img"), "scenario=wrong")
        matrix = os.path.join(d, "matrix.txt")
        with open(matrix, "w") as f:
            f.write(E2E_MATRIX)
        cls.build, cls.tmp, cls.results = build, tmp, os.path.join(d, "results.txt")
        cls.logs = os.path.join(d, "logs")
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"],
                   FAKE_DIR=d, TMPDIR=tmp)
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, os.path.join(TOOLS, "boottest.py"),
                            "--build", build, "--matrix", matrix, "--jobs", "6",
                            "--results", cls.results, "--log-dir", cls.logs],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        cls.wall = time.monotonic() - t0
        cls.rc, cls.stdout = p.returncode, p.stdout
        cls.verdicts = {}  # name -> (ok, reason)
        for line in p.stdout.splitlines():
            m = re.match(r"\[( OK |FAIL)\] (\S+?)(?:: (.*))?$", line)
            if m:
                cls.verdicts[m.group(2)] = (m.group(1) == " OK ", m.group(3) or "")
        if not cls.verdicts:
            cls.error = "boottest printed no result:\n" + p.stdout

    @classmethod
    def verdict(cls, name):
        cls.get()
        assert name in cls.verdicts, "no result %s in:\n%s" % (name, cls.stdout)
        return cls.verdicts[name]

    @classmethod
    def cleanup(cls):
        if cls.done:
            shutil.rmtree(cls.dir, ignore_errors=True)


def make_fat(path, cmdline, offset=0, size=4 << 20):
    """A FAT image at byte `offset` of a `size`-byte file, with cmdline.txt."""
    with open(path, "wb") as f:
        f.truncate(size)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    target = "%s@@%d" % (path, offset)
    subprocess.run(["mformat", "-T", str((size - offset) // 512), "-h", "64", "-s", "32",
                    "-i", target, "::"], env=env, check=True)
    src = path + ".cmdline"
    with open(src, "w") as f:
        f.write(cmdline)
    subprocess.run(["mcopy", "-i", target, src, "::cmdline.txt"], env=env, check=True)
    os.unlink(src)


def fat_cmdline(path, offset=0):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    return subprocess.run(["mtype", "-i", "%s@@%d" % (path, offset), "::cmdline.txt"],
                          env=env, stdout=subprocess.PIPE, text=True, check=True).stdout


def ok(name):
    got, reason = E2E.verdict(name)
    assert got, "%s failed: %s" % (name, reason)


def fails(name, why):
    got, reason = E2E.verdict(name)
    assert not got, "%s passed, expected a failure (%s)" % (name, why)
    assert re.search(why, reason), "%s: reason %r does not match %r" % (name, reason, why)


# ---------------------------------------------------------------------------
# Exit status mapping

@test
def test_map_exit_x86_64():
    for rc, v in ((1, 0), (3, 1), (5, 2), (255, 127)):
        eq(qemu.map_exit("x86_64", rc), (v, None), "rc %d" % rc)
    for rc in (0, 2, -9):
        status, why = qemu.map_exit("x86_64", rc)
        eq(status, None, "rc %d" % rc)
    assert "triple fault" in qemu.map_exit("x86_64", 0)[1]
    assert "signal 9" in qemu.map_exit("x86_64", -9)[1]


@test
def test_map_exit_without_exit_device():
    for arch in ("x86_64", "aarch64"):
        eq(qemu.map_exit(arch, 0, exit_device=False), (0, None), arch)
        for rc in (1, 3, 2, -9):
            status, why = qemu.map_exit(arch, rc, exit_device=False)
            eq(status, None, "%s rc %d" % (arch, rc))
        assert "without its exit device" in qemu.map_exit(arch, 1, exit_device=False)[1]


@test
def test_map_exit_aarch64():
    for rc in (0, 1, 2):
        eq(qemu.map_exit("aarch64", rc), (rc, None), "rc %d" % rc)
    eq(qemu.map_exit("aarch64", -15)[0], None)


# ---------------------------------------------------------------------------
# Output parsing

OVMF_SAMPLE = ("\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001\r\n"
               "\x1b[1m\x1b[33m\x1b[40mShell> \x1b[0m\x1b[37m\x1b[40m[ OK ] x.y\r\n"
               "[FAIL] x.z: x.c:7: bad: thing\r\r\n"
               "BENCH gc_pause_us 41.5 us\r\n"
               "3 passed, 1 failed\r\n"
               "PANIC: Data Abort at 0x10\r\n"
               "backtrace:\r\n"
               "0 passed, 0 failed\n"
               "12 passed, 0 failed\r\n")


@test
def test_clean_lines():
    lines = boottest.clean_lines(OVMF_SAMPLE)
    eq(lines[0], "BdsDxe: loading Boot0001")
    eq(lines[1], "Shell> [ OK ] x.y")
    assert all("\x1b" not in l and "\r" not in l for l in lines), lines


@test
def test_parse_output():
    out = boottest.parse_output(OVMF_SAMPLE)
    eq(out.tests, [("x.y", True, ""), ("x.z", False, "x.c:7: bad: thing")])
    eq(out.benches, [("gc_pause_us", "41.5", "us")])
    eq(out.summary, (12, 0), "the last summary line counts")
    eq(out.panic, "Data Abort at 0x10")


@test
def test_parse_output_not_fooled():
    out = boottest.parse_output("no tests here\r\nBENCHMARK x 1 ms\r\n1 passed, 0 failed, 3 skipped\r\n"
                                "Shell> echo \"[ OK ] nsh.echo\"\r\n[ OK ]\r\n")
    eq(out.tests, [])
    out = boottest.parse_output("[FAIL] a.b:\r\n[ OK ] chan.select/3 (2 ms)\r\n[FAIL] c.d: x.c:1: y:\r\n")
    eq(out.tests, [("a.b", False, ""), ("chan.select/3", True, "(2 ms)"), ("c.d", False, "x.c:1: y")])
    eq(out.benches, [])
    eq(out.summary, None)


@test
def test_match_in_order():
    lines = ["PANIC: page fault", "regs", "backtrace:", "  test_fault_target+0x4"]
    rx = [re.compile(r, re.M) for r in ("PANIC: .*page fault", "backtrace", "test_fault_target")]
    eq(boottest.match_in_order(rx, lines), None)
    rx = [re.compile(r, re.M) for r in ("backtrace", "PANIC")]
    eq(boottest.match_in_order(rx, lines), "PANIC", "out of order")
    eq(boottest.match_in_order([re.compile("^regs$", re.M)], lines), None, "^$ per line")


# ---------------------------------------------------------------------------
# The matrix

@test
def test_parse_matrix():
    cases = boottest.parse_matrix(
        "# comment\n\n"
        "tests x86_64 uefi 2 120 'tests=all gctrace=1' 0   # trailing comment\n"
        r"fault aarch64 direct 1 0.5 tests=fault 2 'PANIC: \w+' 'a#b' " "\n")
    eq(len(cases), 2)
    c = cases[0]
    eq((c.name, c.arch, c.path, c.smp, c.timeout, c.cmdline, c.expect),
       ("tests", "x86_64", "uefi", 2, 120.0, "tests=all gctrace=1", 0))
    eq((c.id, c.tag), ("boot/x86_64/uefi/tests", "x86_64.uefi"))
    c = cases[1]
    eq([r.pattern for r in c.regexes], [r"PANIC: \w+", "a#b"])
    eq(c.tag, "aarch64.direct.fault")


@test
def test_parse_matrix_errors():
    bad = {
        "tests x86_64 uefi 1 120 tests=all": "fields",
        "tests riscv64 uefi 1 120 tests=all 0": "unknown arch",
        "tests x86_64 pxe 1 120 tests=all 0": "unknown boot path",
        "tests x86_64 uefi two 120 tests=all 0": "invalid literal",
        "tests x86_64 uefi 0 120 tests=all 0": "smp must be",
        "tests x86_64 uefi 1 120 tests=all 0 '('": "bad regex",
        "te/sts x86_64 uefi 1 120 tests=all 0": "bad case name",
        "tests x86_64 uefi 1 120 'tests=all 0": "quotation",
        "a x86_64 uefi 1 1 x 0\na x86_64 uefi 1 1 y 0": "already defined at m:1",
    }
    for text, why in bad.items():
        try:
            boottest.parse_matrix(text, "m")
        except boottest.MatrixError as e:
            assert why in str(e), "%r: message %r lacks %r" % (text, str(e), why)
            assert str(e).startswith("m:"), str(e)
        else:
            raise AssertionError("%r parsed" % text)


@test
def test_repo_matrix():
    with open(os.path.join(ROOT, "tests", "boot", "matrix.txt")) as f:
        cases = boottest.parse_matrix(f.read())
    ids = {c.id: c for c in cases}
    good = {
        "x86_64": "PANIC: page fault at address 0x10 (write) in test_fault_target+0x0\n"
                  "registers:\nrip ffffffff80007dd0 rflags 00000046\nbacktrace:\n"
                  "  #0 0xffffffff80007f20 test_fault_target+0x0\n"
                  "  #1 0xffffffff80007f38 test_fault_caller+0x8\n"
                  "  #2 0xffffffff80007f5b test_fault_null_write+0x1b",
        "aarch64": "PANIC: Data Abort at address 0x10 (write) in test_fault_target+0x10\n"
                   "registers:\nelr ffffffff80008970 far 0000000000000010\nbacktrace:\n"
                   "  #0 0xffffffff80008970 test_fault_target+0x10\n"
                   "  #1 0xffffffff8000898b test_fault_caller+0xb\n"
                   "  #2 0xffffffff800089a7 test_fault_null_write+0x13",
    }
    for arch in qemu.ARCHES:
        for path in qemu.PATHS:
            c = ids["boot/%s/%s/tests" % (arch, path)]
            eq((c.cmdline, c.expect), ("tests=all gccheckmark=1", 0), c.id)
            eq(c.timeout, 180 if path == "uefi" else 120, c.id)
            c = ids["boot/%s/%s/fault" % (arch, path)]
            eq((c.cmdline, c.expect), ("tests=fault gccheckmark=1", 2), c.id)
            eq(boottest.match_in_order(c.regexes, good[arch].split("\n")), None, c.id)
            # a backtrace that lost the faulting function's caller must not pass
            lost = "\n".join(l for l in good[arch].split("\n") if "test_fault_caller" not in l)
            assert boottest.match_in_order(c.regexes, lost.split("\n")) is not None, c.id


@test
def test_matrix_qemu_args():
    cases = boottest.parse_matrix(
        "x aarch64 direct 1 10 '' 2 'qemu:-dtb a.dtb -m 1G' 'PANIC' 'qemu:-smp 2'\n")
    eq(cases[0].qemu_args, ["-dtb", "a.dtb", "-m", "1G", "-smp", "2"], "qemu args")
    eq([r.pattern for r in cases[0].regexes], ["PANIC"], "regexes")


@test
def test_matrix_app_images():
    cases = boottest.parse_matrix(
        "p x86_64 uefi 1 10 '-- 7' 7 app:args 'argc=2'\n"
        "p host asan 1 10 '' 0 app:args 'x'\n"
        "q x86_64 direct 1 10 '' 0 'x'\n")
    eq([c.app for c in cases], ["args", "args", None], "app names")
    eq([r.pattern for r in cases[0].regexes], ["argc=2"], "regexes without app:")
    eq(qemu.image_path("B", "x86_64", "uefi", "args"), "B/x86_64/app/args/esp.img", "uefi")
    eq(qemu.image_path("B", "aarch64", "direct", "args"), "B/aarch64/app/args/Image", "Image")
    eq(qemu.image_path("B", "host", "asan", "args"), "B/host-sys/app/args/args-asan", "host")
    eq(qemu.image_path("B", "host", "native", None), "B/host-sys/gort", "default host")
    for bad in ("app:", "app:a/b"):
        try:
            boottest.parse_matrix("p x86_64 uefi 1 10 '' 0 %s\n" % bad, "m")
        except boottest.MatrixError as e:
            assert "bad program name" in str(e), str(e)
        else:
            raise AssertionError("%r parsed" % bad)
    # a program's run: its status and regexes decide, no summary line is needed
    v = boottest.judge(cases[0], boottest.Run(0x0f, "args: argc=2\n"))
    assert v.passed, v.reason
    v = boottest.judge(cases[0], boottest.Run(0x0b, "args: argc=2\n"))
    assert not v.passed and "exit status 5, expected 7" in v.reason, v.reason


@test
def test_matrix_console_script():
    cases = boottest.parse_matrix(
        "r x86_64 direct 1 10 '' 0 app:readline 'wait:^ready$' 'send:a\\x7fb\\n' 'sleep:0.2'"
        " 'send:\\x04' 'close:' 'x'\n")
    c = cases[0]
    eq([st[0] for st in c.script], ["wait", "send", "sleep", "send", "close"], "steps")
    eq(c.script[1][1], b"a\x7fb\n", "escapes decoded")
    eq([r.pattern for r in c.regexes], ["x"], "script fields are not regexes")

    class Sink:
        def __init__(self):
            self.data, self.closed = b"", False

        def write(self, b):
            self.data += b

        def flush(self):
            pass

        def close(self):
            self.closed = True

    sink = Sink()
    player = boottest.Script(c.script, sink)
    player.feed(None)
    eq(sink.data, b"", "nothing before the wait matches")
    player.feed(b"not yet\r\nrea")
    eq(sink.data, b"", "a partial line does not match")
    player.feed(b"dy\r\n")
    eq(sink.data, b"a\x7fb\n", "sent after the match, then sleeping")
    assert player.due() is not None and player.due() > 0, player.due()
    time.sleep(0.25)
    player.feed(None)
    eq((sink.data, sink.closed), (b"a\x7fb\n\x04", True), "after the sleep")
    for bad in ("'wait:('", "'sleep:x'", "'send:\\x4'"):
        try:
            boottest.parse_matrix("r x86_64 direct 1 10 '' 0 %s\n" % bad, "m")
        except boottest.MatrixError:
            pass
        else:
            raise AssertionError("%s parsed" % bad)


@test
def test_mkdisk_gpt():
    import mkdisk
    import zlib
    part = bytes(range(256)) * 2 * 64                 # 64 sectors
    disk = mkdisk.make_disk(part)
    sec = 512
    eq(len(disk) % sec, 0, "whole sectors")
    last = len(disk) // sec - 1
    eq((disk[0x1C2], disk[510:512]), (0xEE, b"\x55\xaa"), "protective MBR")
    for lba, alt, entries_lba in ((1, last, 2), (last, 1, last - 32)):
        h = disk[lba * sec:lba * sec + 92]
        eq(h[:8], b"EFI PART", "signature at LBA %d" % lba)
        crc = struct.unpack_from("<I", h, 16)[0]
        eq(crc, zlib.crc32(h[:16] + bytes(4) + h[20:]) & 0xffffffff, "header CRC at %d" % lba)
        my, other, _, _ = struct.unpack_from("<QQQQ", h, 24)
        eq((my, other), (lba, alt), "my/alternate LBA")
        elba, n, size, ecrc = struct.unpack_from("<QIII", h, 72)
        eq(elba, entries_lba, "entries LBA")
        table = disk[elba * sec:elba * sec + n * size]
        eq(ecrc, zlib.crc32(table) & 0xffffffff, "entries CRC at %d" % lba)
    with tempfile.TemporaryDirectory() as d:
        img = os.path.join(d, "disk.img")
        with open(img, "wb") as f:
            f.write(disk)
        off = qemu.fat_offset(img)
    eq(off, 2048 * sec, "the ESP found where the firmware looks")
    eq(disk[off:off + len(part)], part, "the partition, byte for byte")
    eq(mkdisk.make_disk(part), disk, "the same input makes the same disk")
    for bad in (b"", b"x" * 513):
        try:
            mkdisk.make_disk(bad)
        except ValueError as e:
            assert "whole number" in str(e), str(e)
        else:
            raise AssertionError("%d bytes accepted" % len(bad))


@test
def test_readme_program_is_an_example():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(ROOT, "tests", "apps", "hello", "main.c")) as f:
        hello = f.read()
    start = readme.index("/* hello/main.c")
    eq(readme[start:readme.index("```", start)], hello, "README's program vs tests/apps/hello")


@test
def test_host_command():
    with tempfile.TemporaryDirectory() as d:
        binary = os.path.join(d, "gort-tsan")
        open(binary, "w").close()
        argv, cleanup = qemu.build_cmd("host", "tsan", binary, "tests=all bogus", smp=8)
        eq(argv, [binary, "-smp", "8", "-m", "512M", "--", "tests=all bogus"], "argv")
        cleanup()
    eq(qemu.map_exit("host", 2)[0], 2, "host exit status is the status itself")


# ---------------------------------------------------------------------------
# Judging (pure)

def case(arch="x86_64", expect=0, regexes=()):
    return boottest.Case("t", arch, "direct", 1, 10, "", expect,
                         [re.compile(r, re.M) for r in regexes], "m:1")


@test
def test_matrix_noexit():
    cases = boottest.parse_matrix(
        "p x86_64 direct 2 60 'tests=sync' 0 noexit: 'S5'\n"
        "p aarch64 uefi 1 60 'tests=sync' 0 'PSCI' noexit:\n"
        "q x86_64 direct 1 60 'tests=sync' 0 'x'\n")
    eq([c.exit_device for c in cases], [False, False, True], "exit devices")
    eq([r.pattern for r in cases[0].regexes], ["S5"], "noexit: is not a regex")
    for bad in ("p x86_64 direct 1 10 '' 2 noexit:\n", "p host native 1 10 '' 0 noexit:\n"):
        try:
            boottest.parse_matrix(bad, "m")
        except boottest.MatrixError as e:
            assert "noexit:" in str(e), e
        else:
            raise AssertionError("accepted %r" % bad)
    good = "[ OK ] a.b\r\n1 passed, 0 failed\r\n"
    c = case()
    c.exit_device = False
    assert boottest.judge(c, boottest.Run(0, good)).passed, "rc 0 and a clean summary"
    assert not boottest.judge(c, boottest.Run(1, good)).passed, "the exit device's status"
    assert not boottest.judge(c, boottest.Run(0, "[ OK ] a.b\r\n")).passed, "no summary"


@test
def test_judge():
    good = "[ OK ] a.b\r\n1 passed, 0 failed\r\n"
    j = boottest.judge
    assert j(case(), boottest.Run(1, good)).passed
    assert not j(case(), boottest.Run(0, good)).passed, "x86 rc 0 has no status"
    assert j(case("aarch64"), boottest.Run(0, good)).passed, "PSCI off with a clean summary"
    assert not j(case("aarch64"), boottest.Run(0, "[ OK ] a.b\r\n")).passed
    assert not j(case("aarch64", 2), boottest.Run(0, "PANIC: x\r\n")).passed, "PSCI is not 2"
    assert not j(case(), boottest.Run(1, "0 passed, 0 failed\r\n")).passed, "nothing ran"
    assert j(case(expect=2, regexes=["PANIC"]), boottest.Run(5, "PANIC: x\r\n")).passed
    v = j(case(), boottest.Run(None, "", timed_out=True))
    assert not v.passed and "timeout" in v.reason, v.reason
    v = j(case(), boottest.Run(None, "", error="missing image x"))
    eq((v.passed, v.reason), (False, "missing image x"))
    eq([b[0] for b in v.benches], [], "no wall time without a run")
    v = j(case(), boottest.Run(1, good + "BENCH boot_ms 3 ms\r\n", wall_ms=1234.4))
    eq(v.benches, [("boot_ms.x86_64.direct.t", "3", "ms"),
                   ("qemu_wall_ms.x86_64.direct.t", "1234", "ms")])
    eq([r[0] for r in v.results], ["boot/x86_64/direct/t/a.b", "boot/x86_64/direct/t"])


@test
def test_tsan_signal_death_retried_once():
    """A boot of the TSan build killed by SIGSEGV with no summary is booted once
    more, the first log kept and the retry said; nothing else is retried."""
    good = "[ OK ] a.b\r\n1 passed, 0 failed\r\n"
    died = "[ OK ] a.b\r\n"
    d = tempfile.mkdtemp(prefix="test_tools-retry-")

    def host_case(path):
        return boottest.Case("t", "host", path, 4, 10, "tests=x", 0, [], "m:1")

    def attempt(c, runs):
        """run_case over c with boot_case stubbed to judge runs in turn."""
        boots = []
        real = boottest.boot_case

        def fake(case_, build, log_dir, run):
            boots.append(1)
            with open(boottest.case_log_path(case_, log_dir, run), "w") as f:
                f.write("boot %d\n" % len(boots))
            return boottest.judge(case_, runs[len(boots) - 1])
        boottest.boot_case = fake
        try:
            return boottest.run_case(c, "build", d), len(boots)
        finally:
            boottest.boot_case = real

    try:
        v, n = attempt(host_case("tsan"), [boottest.Run(-11, died), boottest.Run(0, good)])
        eq(n, 2, "boots of a TSan SIGSEGV death")
        assert v.passed and v.retried and "SIGSEGV" in v.retried, (v.passed, v.retried)
        first = os.path.join(d, host_case("tsan").log_name[:-len(".log")] + ".first.log")
        with open(first) as f:
            eq(f.read(), "boot 1\n", "the first boot's log kept")
        assert first in v.retried, v.retried
        assert any(l.startswith("[RETRY] boot/host/tsan/t:") for l in boottest.format_verdict(v))
        v, n = attempt(host_case("tsan"), [boottest.Run(-11, died), boottest.Run(-11, died)])
        eq((n, v.passed), (2, False), "dying twice fails")
        v, n = attempt(host_case("native"), [boottest.Run(-11, died), boottest.Run(0, good)])
        eq((n, v.passed, v.retried), (1, False, None), "a native SIGSEGV is not retried")
        v, n = attempt(host_case("tsan"), [boottest.Run(-11, died + "PANIC: x\r\n"),
                                           boottest.Run(0, good)])
        eq((n, v.passed), (1, False), "a panic is not retried")
        v, n = attempt(host_case("tsan"), [boottest.Run(3, good), boottest.Run(0, good)])
        eq((n, v.passed), (1, False), "a TSan report (status 3) is not retried")
        v, n = attempt(host_case("tsan"), [boottest.Run(None, died, timed_out=True),
                                           boottest.Run(0, good)])
        eq((n, v.passed), (1, False), "a timeout is not retried")
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# QEMU command lines

@test
def test_build_cmd_direct():
    with tempfile.NamedTemporaryFile() as k:
        argv, cleanup = qemu.build_cmd("x86_64", "direct", k.name, "tests=all", smp=3)
        cleanup()
        s = " ".join(argv)
        eq(argv[0], "qemu-system-x86_64")
        for flag in ("-machine q35", "-smp 3", "-m 512M", "-net none", "-no-reboot",
                     "-display none -serial stdio -monitor none",
                     "-device isa-debug-exit,iobase=0xf4,iosize=0x04",
                     "-kernel " + k.name):
            assert flag in s, "%r not in %s" % (flag, s)
        eq(argv[-2:], ["-append", "tests=all"])
        assert "-bios" not in argv
        argv, _ = qemu.build_cmd("aarch64", "direct", k.name, None, interactive=True)
        s = " ".join(argv)
        eq(argv[0], "qemu-system-aarch64")
        for flag in ("-machine virt,gic-version=3 ", "-cpu cortex-a72", "-semihosting",
                     "-nographic", "-serial mon:stdio"):
            assert flag in s, "%r not in %s" % (flag, s)
        assert "-append" not in argv and "-monitor" not in argv, s
        for arch, flag in (("x86_64", "isa-debug-exit"), ("aarch64", "-semihosting")):
            argv, _ = qemu.build_cmd(arch, "direct", k.name, None, exit_device=False)
            assert flag not in " ".join(argv), "%s without its exit device: %s" % (arch, argv)


@test
def test_build_cmd_uefi():
    d = tempfile.mkdtemp(prefix="test_tools-")
    try:
        esp = os.path.join(d, "esp.img")
        make_fat(esp, "tests=none")
        for arch in qemu.ARCHES:
            argv, cleanup = qemu.build_cmd(arch, "uefi", esp, "tests=all x=1")
            s = " ".join(argv)
            copy = re.search(r"file=([^, ]+)", s).group(1)
            try:
                assert copy != esp, "boots the build output itself"
                eq(fat_cmdline(copy), "tests=all x=1", "injected command line")
                assert "-bios " + qemu.FIRMWARE[arch] in s, s
                if arch == "aarch64":
                    for flag in ("virt,gic-version=3,acpi=off", "-boot menu=on,splash-time=0",
                                 "-device virtio-blk-device,drive=esp", "-net none"):
                        assert flag in s, "%r not in %s" % (flag, s)
            finally:
                cleanup()
            assert not os.path.exists(copy), "cleanup left the copy"
        eq(fat_cmdline(esp), "tests=none", "build output unchanged")
        try:
            qemu.build_cmd("x86_64", "uefi", os.path.join(d, "nope.img"), "x")
        except qemu.QemuError as e:
            assert "missing image" in str(e)
        else:
            raise AssertionError("missing image accepted")
    finally:
        shutil.rmtree(d)


@test
def test_fat_offset_partitioned():
    d = tempfile.mkdtemp(prefix="test_tools-")
    try:
        mbr = os.path.join(d, "mbr.img")
        make_fat(mbr, "old", offset=1 << 20)
        with open(mbr, "r+b") as f:   # one MBR entry: ESP at LBA 2048
            f.seek(0x1BE)
            f.write(struct.pack("<B3sB3sII", 0, b"\0\0\0", 0xEF, b"\0\0\0", 2048, 6144))
            f.seek(510)
            f.write(b"\x55\xaa")
        eq(qemu.fat_offset(mbr), 1 << 20, "MBR")
        gpt = os.path.join(d, "gpt.img")
        make_fat(gpt, "old", offset=2 << 20, size=6 << 20)
        with open(gpt, "r+b") as f:
            f.seek(0x1BE)
            f.write(struct.pack("<B3sB3sII", 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 0xFFFFFFFF))
            f.seek(510)
            f.write(b"\x55\xaa" + b"EFI PART")
            f.seek(512 + 72)
            f.write(struct.pack("<QII", 2, 4, 128))
            f.seek(2 * 512 + 128)  # entry 1 is empty, entry 2 the ESP at LBA 4096
            f.write(qemu.ESP_GUID + bytes(16) + struct.pack("<QQ", 4096, 12287))
        eq(qemu.fat_offset(gpt), 2 << 20, "GPT")
        for img, off in ((mbr, 1 << 20), (gpt, 2 << 20)):
            argv, cleanup = qemu.build_cmd("x86_64", "uefi", img, "new")
            try:
                copy = re.search(r"file=([^, ]+)", " ".join(argv)).group(1)
                eq(fat_cmdline(copy, off), "new", img)
            finally:
                cleanup()
        bare = os.path.join(d, "bare.img")
        make_fat(bare, "x")
        eq(qemu.fat_offset(bare), 0, "bare FAT")
    finally:
        shutil.rmtree(d)


# ---------------------------------------------------------------------------
# End to end: boottest.py with the fake QEMU

@test
def test_e2e_pass_all_paths():
    for i in ("x86_64/direct", "x86_64/uefi", "aarch64/uefi", "aarch64/direct"):
        ok("boot/%s/tests" % i)
        ok("boot/%s/tests/a.one" % i)
        ok("boot/%s/tests/a.two" % i)


@test
def test_e2e_uefi_injection():
    E2E.get()
    with open(os.path.join(E2E.dir, "argv.x86_64.uefi.pass.json")) as f:
        argv = json.load(f)
    s = " ".join(argv)
    assert "-smp 2" in s, s
    assert E2E.build not in s, "the drive is the build output itself: " + s
    for arch in qemu.ARCHES:
        eq(fat_cmdline(os.path.join(E2E.build, arch, "esp.img")), "scenario=wrong",
           "original cmdline.txt")
    eq(os.listdir(E2E.tmp), [], "temporary copies left behind")


@test
def test_e2e_bench():
    E2E.get()
    out = E2E.stdout.splitlines()
    for tag in ("x86_64.direct", "x86_64.uefi", "aarch64.uefi", "aarch64.direct"):
        assert "BENCH boot_ms.%s 12.3 ms" % tag in out, tag
        assert any(re.match(r"BENCH qemu_wall_ms\.%s \d+ ms$" % re.escape(tag), l)
                   for l in out), tag
    assert any(re.match(r"BENCH qemu_wall_ms\.x86_64\.direct\.fail \d+ ms$", l) for l in out), \
        "a case not named tests is named in its BENCH tag"


@test
def test_e2e_test_failure():
    fails("boot/x86_64/direct/fail", r"exit status 1 \(some test failed\), expected 0")
    fails("boot/x86_64/direct/fail", "summary says 1 passed, 1 failed")
    fails("boot/x86_64/direct/fail/a.two", "^a.c:12: want 1, got 2$")
    ok("boot/x86_64/direct/fail/a.one")


@test
def test_e2e_panic_expected():
    ok("boot/x86_64/direct/panic")
    ok("boot/aarch64/direct/panic")
    fails("boot/x86_64/direct/nobt", r"regex not found \(in order\): '\(\?i\)backtrace'")


@test
def test_e2e_panic_unexpected():
    fails("boot/x86_64/direct/unexp", r"exit status 2 \(panic\), expected 0")
    fails("boot/x86_64/direct/unexp", "PANIC: page fault at 0x0")


@test
def test_e2e_timeout():
    fails("boot/x86_64/direct/hang", "^timeout after 2 s")
    ok("boot/x86_64/direct/hang/a.one")
    out = E2E.stdout.splitlines()
    i = out.index(next(l for l in out if l.startswith("[FAIL] boot/x86_64/direct/hang:")))
    tail = out[i + 1:i + 1 + boottest.TAIL_LINES]
    eq(len(tail), boottest.TAIL_LINES, "tail length")
    eq(tail[-1], "    | hang line 39")
    with open(os.path.join(E2E.dir, "hang.child")) as f:
        pid = int(f.read())
    assert not alive(pid), "the hung QEMU's child %d survived" % pid
    assert E2E.wall < 15, "boottest took %.1f s" % E2E.wall


def alive(pid):
    """True if pid runs (a zombie waiting for its reaper counts as dead)."""
    for _ in range(20):
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True


@test
def test_e2e_no_status():
    fails("boot/x86_64/direct/triple", r"no exit status \(triple fault or reset\?\)")
    fails("boot/x86_64/direct/nosummary", "no 'N passed, M failed' summary line")
    ok("boot/aarch64/direct/psci")
    fails("boot/x86_64/direct/psci", "no exit status")
    fails("boot/aarch64/direct/badexit", r"exit status 1 \(some test failed\)")


@test
def test_e2e_fail_line_with_clean_summary():
    fails("boot/x86_64/direct/lying", r"1 \[FAIL\] line\(s\)")
    fails("boot/x86_64/direct/lying/a.one", "boom")


@test
def test_e2e_glued_line():
    ok("boot/x86_64/direct/glued")
    ok("boot/x86_64/direct/glued/a.one")


@test
def test_e2e_logs_results_status():
    E2E.get()
    eq(E2E.rc, 1, "exit status with failures")
    log = os.path.join(E2E.logs, "x86_64.direct.fail.log")
    with open(log, "rb") as f:
        text = f.read()
    assert b"[FAIL] a.two: a.c:12" in text and b"\x1b[2J" in text, "raw log"
    assert b"qemu-system-x86_64 -machine q35" in text, "log names the command"
    eq(len(os.listdir(E2E.logs)), len(boottest.parse_matrix(E2E_MATRIX)), "one log per case")
    with open(E2E.results) as f:
        lines = f.read().splitlines()
    eq(len(lines), len(E2E.verdicts), "one results line per result")
    assert "PASS boot/x86_64/uefi/tests/a.one" in lines
    hang = [l for l in lines if l.startswith("FAIL boot/x86_64/direct/hang:")]
    eq(len(hang), 1, "the hang's FAIL line")
    assert "timeout after" in hang[0] and hang[0].endswith(
        "[log: %s]" % os.path.join(E2E.logs, "x86_64.direct.hang.log")), hang
    last = E2E.stdout.splitlines()[-1]
    npass = sum(1 for ok_, _ in E2E.verdicts.values() if ok_)
    eq(last, "%d passed, %d failed" % (npass, len(E2E.verdicts) - npass))


@test
def test_boottest_only_and_errors():
    E2E.get()
    env = dict(os.environ, PATH=os.path.join(E2E.dir, "bin") + os.pathsep + os.environ["PATH"],
               FAKE_DIR=E2E.dir)
    bt = [sys.executable, os.path.join(TOOLS, "boottest.py"), "--build", E2E.build,
          "--log-dir", os.path.join(E2E.dir, "logs2")]
    matrix = os.path.join(E2E.dir, "matrix.txt")
    p = subprocess.run(bt + ["--matrix", matrix, "--only", "psci$|aarch64/direct/tests$"],
                       env=env, stdout=subprocess.PIPE, text=True)
    eq(p.returncode, 1, "psci on x86_64 fails")
    cases = [l for l in p.stdout.splitlines() if re.match(r"\[....\] boot/[^/]+/[^/]+/[^/]+$", l)]
    eq(sorted(cases), ["[ OK ] boot/aarch64/direct/psci", "[ OK ] boot/aarch64/direct/tests",
                       "[FAIL] boot/x86_64/direct/psci: no exit status (triple fault or reset?)"
                       " (qemu exit code 0)"])
    p = subprocess.run(bt + ["--matrix", matrix, "--only", "aarch64/direct/tests$"],
                       env=env, stdout=subprocess.PIPE, text=True)
    eq(p.returncode, 0, "all passed")
    bad = os.path.join(E2E.dir, "bad.txt")
    with open(bad, "w") as f:
        f.write("x x86_64 uefi 1 1 y\n")
    p = subprocess.run(bt + ["--matrix", bad], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    eq(p.returncode, 2, "matrix error")
    assert "bad.txt:1:" in p.stderr, p.stderr
    p = subprocess.run(bt + ["--matrix", matrix, "--only", "nothing-matches"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    eq(p.returncode, 2, "no case selected")
    empty = os.path.join(E2E.dir, "nobuild")
    p = subprocess.run(bt[:2] + ["--build", empty, "--matrix", matrix, "--only", "x86_64/uefi/tests$"],
                       env=env, stdout=subprocess.PIPE, text=True)
    eq(p.returncode, 1)
    assert re.search(r"\[FAIL\] boot/x86_64/uefi/tests: missing image .*esp.img", p.stdout), p.stdout


@test
def test_boottest_bench_runs():
    E2E.get()
    env = dict(os.environ, PATH=os.path.join(E2E.dir, "bin") + os.pathsep + os.environ["PATH"],
               FAKE_DIR=E2E.dir)
    matrix = os.path.join(E2E.dir, "bench.txt")
    with open(matrix, "w") as f:
        f.write("count x86_64 direct 1 20 scenario=count 0\n"
                "flaky aarch64 direct 1 20 scenario=flaky 0\n")
    logs = os.path.join(E2E.dir, "logs3")
    p = subprocess.run([sys.executable, os.path.join(TOOLS, "boottest.py"), "--build", E2E.build,
                        "--matrix", matrix, "--log-dir", logs, "--bench-runs", "3", "--jobs", "1"],
                       env=env, stdout=subprocess.PIPE, text=True)
    out = p.stdout.splitlines()
    eq(p.returncode, 1, "the flaky case fails")
    assert "BENCH n_ms.x86_64.direct.count 10 ms" in out, "numeric median of 2 100 10:\n" + p.stdout
    assert "[ OK ] boot/x86_64/direct/count" in out, p.stdout
    assert "[ OK ] boot/x86_64/direct/count/a.one" in out, p.stdout
    assert "[FAIL] boot/aarch64/direct/flaky/a.one: run 2/3: f.c:1: flaky" in out, p.stdout
    assert any(l.startswith("[FAIL] boot/aarch64/direct/flaky: run 2/3: exit status 1")
               for l in out), p.stdout
    eq(out[-1], "2 passed, 2 failed", "each result counted once")
    eq(sorted(os.listdir(logs))[:3], ["aarch64.direct.flaky.run1.log",
                                      "aarch64.direct.flaky.run2.log",
                                      "aarch64.direct.flaky.run3.log"])


# ---------------------------------------------------------------------------
# summary.py

@test
def test_summary():
    d = tempfile.mkdtemp(prefix="test_tools-")
    try:
        def write(name, text):
            p = os.path.join(d, name)
            with open(p, "w") as f:
                f.write(text)
            return p

        def run(*paths):
            out = io.StringIO()
            old, sys.stdout = sys.stdout, out
            try:
                rc = summary.main(list(paths))
            finally:
                sys.stdout = old
            return rc, out.getvalue().splitlines()

        a = write("a", "PASS x/1\nPASS x/2\n\n# note\n")
        b = write("b", "PASS y/1\nFAIL y/2\nFAIL y/3: it broke\n")
        eq(run(a), (0, ["2 passed, 0 failed"]))
        eq(run(a, b), (1, ["[FAIL] y/2", "[FAIL] y/3: it broke", "3 passed, 2 failed"]))
        eq(run(write("e", "")), (1, ["0 passed, 0 failed"]), "nothing ran")
        rc, out = run(a, write("g", "PASSED z\n"))
        eq((rc, out[-1]), (1, "2 passed, 1 failed"), "garbage line")
        rc, out = run(a, os.path.join(d, "missing"))
        eq((rc, out[-1]), (1, "2 passed, 1 failed"), "missing file")
        assert "cannot read results" in out[0], out
        log = write("x.log", "".join("line %d\n" % i for i in range(100)))
        c = write("c", "FAIL boot/x/y: exit status 1, expected 0 [log: %s]\n" % log)
        rc, out = run(a, c)
        eq(rc, 1)
        eq(out[0], "[FAIL] boot/x/y: exit status 1, expected 0 [log: %s]" % log)
        eq(out[1], "--- the last 40 lines of %s" % log)
        eq(out[2:42], ["  | line %d" % i for i in range(60, 100)], "the log's tail")
        eq(out[-1], "2 passed, 1 failed", "the count stays last")
        rc, out = run(a, write("d", "FAIL boot/x/z: gone [log: %s]\n" % os.path.join(d, "nolog")))
        eq(out, ["[FAIL] boot/x/z: gone [log: %s]" % os.path.join(d, "nolog"), "2 passed, 1 failed"],
           "a log that is gone prints nothing more")
        eq(boottest.result_line("n", False, "a\nb  c", "/l"), "FAIL n: a b c [log: /l]")
        eq(boottest.result_line("n", True, "", "/l"), "PASS n")
        eq(len(boottest.result_line("n", False, "x" * 1000, None)), len("FAIL n: ") + 300)
    finally:
        shutil.rmtree(d)

# ---------------------------------------------------------------------------
# gobench.py: parsing, medians, ratios (the runs themselves are `make bench`)

@test
def test_gobench_parse():
    out = ("smp: 2 of 2 CPUs online\nBENCH boot_ms 2.1 ms\nBENCH gort_spawn_p2 848.7 ns\n"
           "noise BENCH gort_x_p2 1 ns\nBENCH gort_parked_bytes_p2 4322 bytes\r\n"
           "BENCH broken\n[ OK ] gobench.figures\n1 passed, 0 failed\n")
    eq(gobench.parse_bench(out), {"boot_ms": (2.1, "ms"), "gort_spawn_p2": (848.7, "ns"),
                                  "gort_parked_bytes_p2": (4322.0, "bytes")}, "parsed")


@test
def test_gobench_median():
    runs = [{"go_spawn_p1": (v, "ns")} for v in (9.0, 1.0, 5.0, 100.0)]
    runs += [{"gort_spawn_p1": (v, "ns")} for v in (3.0, 2.0, 1000.0)]
    got = gobench.merge(runs)
    # the lower median: a value one run printed, and one outlier moves nothing
    eq(got, {"go_spawn_p1": (5.0, "ns"), "gort_spawn_p1": (3.0, "ns")}, "medians")


@test
def test_gobench_report():
    med = {"gort_pingpong_p1": (400.0, "ns"), "go_pingpong_p1": (200.0, "ns"),
           "pthread_pingpong_p1": (40000.0, "ns"), "gort_select4_p2": (300.0, "ns"),
           "go_select4_p2": (0.0, "ns"), "go_parked_sys_bytes_p2": (2689.0, "bytes"),
           "gort_parked_bytes_p1": (6366.0, "bytes"), "go_parked_bytes_p1": (2618.0, "bytes")}
    eq(gobench.report(med), [
        "BENCH gort_parked_bytes_p1 6366 bytes",
        "BENCH go_parked_bytes_p1 2618 bytes",
        "BENCH parked_bytes_p1_vs_go 2.43 x",
        "BENCH go_parked_sys_bytes_p2 2689 bytes",
        "BENCH gort_pingpong_p1 400 ns",
        "BENCH go_pingpong_p1 200 ns",
        "BENCH pthread_pingpong_p1 40000 ns",
        "BENCH pingpong_p1_vs_go 2.00 x",
        "BENCH pingpong_p1_vs_pthread 0.01 x",
        "BENCH gort_select4_p2 300 ns",
        "BENCH go_select4_p2 0 ns",     # no ratio against zero
    ], "report")


@test
def test_gobench_commands_and_matrix():
    cmds = gobench.commands("/b")
    eq(cmds[0], (["/b/host-sys/gort", "-smp", "1", "-m", gobench.GORT_MEM, "--",
                  "tests=gobench"], True), "ours at 1 CPU")
    eq(cmds[2], (["taskset", "-c", "0", "/b/bench/pthread_bench"], False), "pthreads pinned")
    eq([c[0][-2:] for c in cmds if "gobench" in c[0][0]], [["-procs", "1"], ["-procs", "2"]],
       "Go at GOMAXPROCS 1 and 2")
    with open(os.path.join(ROOT, "tests", "boot", "bench.txt")) as f:
        cases = [c for c in boottest.parse_matrix(f.read()) if c.cmdline == "tests=gobench"]
    eq(sorted((c.arch, c.path, c.smp) for c in cases),
       [(a, "direct", n) for a in ("aarch64", "x86_64") for n in (1, 2)], "in-image cases")
    for c in cases:
        eq(c.qemu_args, ["-m", "2G"], c.id)


@test
def test_gobench_images():
    d = tempfile.mkdtemp()
    try:
        for arch in gobench.IMAGE_ARCHES:
            img = qemu.image_path(d, arch, "direct")
            os.makedirs(os.path.dirname(img), exist_ok=True)
            open(img, "w").close()
        cmds = gobench.image_commands(d)
        eq([a for a, _ in cmds], ["x86_64", "aarch64"], "both images")
        for arch, argv in cmds:
            eq("tests=gobench_mem" in " ".join(argv), True, arch + ": the memory suite")
            eq(argv[argv.index("-smp") + 1], "1", arch + ": one CPU")
            eq(argv[argv.index("-m") + 1], gobench.GORT_MEM, arch + ": 100k goroutines' memory")
    finally:
        shutil.rmtree(d)
    figs = {"gort_parked_bytes_p1": (4176.0, "bytes"), "gort_parked16k_bytes_p1": (4144.0, "bytes"),
            "gort_parked1m_bytes_p1": (6163.0, "bytes"), "boot_ms": (3.0, "ms")}
    eq(gobench.image_figures("x86_64", figs),
       {"img_x86_64_parked_bytes_p1": (4176.0, "bytes"), "img_x86_64_parked16k_bytes_p1": (4144.0, "bytes"),
        "img_x86_64_parked1m_bytes_p1": (6163.0, "bytes")}, "renamed per arch")
    try:
        gobench.image_figures("aarch64", {"gort_parked_bytes_p1": (4176.0, "bytes")})
        raise AssertionError("a missing figure must stop the run")
    except gobench.BenchError as e:
        eq("gort_parked16k_bytes_p1" in str(e), True, "names the missing figure")
    med = {"go_parked_bytes_p1": (2619.0, "bytes"), "img_aarch64_parked_bytes_p1": (4176.0, "bytes")}
    eq(gobench.image_report(med), ["BENCH img_aarch64_parked_bytes_p1 4176 bytes",
                                   "BENCH img_aarch64_parked_bytes_p1_vs_go 1.59 x"], "ratio to Go")
    eq(gobench.image_report({"img_x86_64_parked_bytes_p1": (4176.0, "bytes")}),
       ["BENCH img_x86_64_parked_bytes_p1 4176 bytes"], "no Go figure: no ratio")


# ---------------------------------------------------------------------------
# gcbench.py: parsing, checking, derived figures, medians, ratios, binary-trees output

def gcb_job(side, cfg, group, summary=False):
    return gcbench.Job(side, cfg, group, ["/b/" + side], {}, summary)


@test
def test_gcbench_collect():
    out = ("BENCH boot_ms 3.1 ms\nBENCH gort_gcbench_ms_p2 700.5 ms\r\n"
           "BENCH gort_gcbench_pause_max_us_p2 80 us\nBENCH gort_gcbench_pause_p99_us_p2 60.5 us\n"
           "BENCH gort_gcbench_gcs_p2 41 count\nBENCH gort_bintree_ms_p2 9 ms\n"
           "[ OK ] gcb_gcbench.run\n1 passed, 0 failed\n")
    job = gcb_job("gort", "p2", "gcbench", summary=True)
    gcbench.check_run(job, 0, out)
    # only the group's figures (not boot_ms, not another group's), plus the peak RSS
    eq(gcbench.collect(job, out, 51234), {
        "gort_gcbench_ms_p2": (700.5, "ms"), "gort_gcbench_pause_max_us_p2": (80.0, "us"),
        "gort_gcbench_pause_p99_us_p2": (60.5, "us"), "gort_gcbench_gcs_p2": (41.0, "count"),
        "gort_gcbench_rss_kib_p2": (51234.0, "KiB")}, "collected")
    eq(gcbench.collect(gcb_job("go", "p1", "stwload"),
                       "BENCH go_stwload_pause_max_us_p1 5 us\nBENCH go_stwload_pause_p99_us_p1 4 us\n",
                       99), {"go_stwload_pause_max_us_p1": (5.0, "us"),
                             "go_stwload_pause_p99_us_p1": (4.0, "us")}, "no RSS for stwload")

    def fails(fn, what, needle):
        try:
            fn()
        except gcbench.BenchError as e:
            assert needle in str(e), "%s: %s" % (what, e)
        else:
            raise AssertionError("%s: no error" % what)
    fails(lambda: gcbench.collect(job, out.replace("BENCH gort_gcbench_gcs_p2 41 count\n", ""), 1),
          "a figure missing", "printed no gort_gcbench_gcs_p2")
    fails(lambda: gcbench.check_run(job, 2, out), "exit status", "status 2")
    fails(lambda: gcbench.check_run(job, 0, out.replace("1 passed, 0 failed", "0 passed, 1 failed")),
          "ours failed a test", "N passed")
    fails(lambda: gcbench.check_run(job, 0, out.replace("1 passed, 0 failed", "0 passed, 0 failed")),
          "ours ran nothing", "N passed")
    gcbench.check_run(job, 0, out.replace("1 passed", "4 passed"))
    gcbench.check_run(gcb_job("go", "p1", "gcbench"), 0, "no summary needed")
    # the Boehm source built into ours prints Boehm's names; kept as gcboehm's
    eq(gcbench.collect(gcb_job("gcboehm", "m2", "bintree", summary=True),
                       "BENCH boehm_bintree_ms_m2 1700 ms\n1 passed, 0 failed\n", 3000),
       {"gcboehm_bintree_ms_m2": (1700.0, "ms"), "gcboehm_bintree_rss_kib_m2": (3000.0, "KiB")},
       "gcboehm collected under its own name")


@test
def test_gcbench_derive_and_median():
    run = {"go_parked_empty_ns_p1": (1000000.0, "ns"), "go_parked_recv10000_ns_p1": (13000000.0, "ns"),
           "go_parked_select10000_ns_p1": (11000000.0, "ns"),
           "go_parked_recv1000_ns_p1": (2000000.0, "ns"), "boehm_gcbench_ms_m1": (300.0, "ms")}
    got = gcbench.derive(run)
    eq(got["go_parked_recv_per_g_ns_p1"], (1200.0, "ns"), "(13 ms - 1 ms) / 10000")
    eq(got["go_parked_select_per_g_ns_p1"], (1000.0, "ns"), "select")
    assert "go_parked_idle_per_g_ns_p1" not in got, "no idle figure: no derived one"
    eq(len(got), len(run) + 2, "nothing else added")
    runs = [{"boehm_gcbench_ms_m2": (v, "ms")} for v in (9.0, 1.0, 5.0, 100.0)]
    eq(gcbench.merge(runs), {"boehm_gcbench_ms_m2": (5.0, "ms")}, "the lower median")


@test
def test_gcbench_report():
    med = {"gort_bintree_ms_p1": (3000.0, "ms"), "go_bintree_ms_p1": (2000.0, "ms"),
           "boehm_bintree_ms_m1": (1500.0, "ms"), "malloc_bintree_ms_p1": (1000.0, "ms"),
           "gort_bintree_ms_p2": (1800.0, "ms"), "go_bintree_ms_p2": (0.0, "ms"),
           "boehm_bintree_ms_m2": (1200.0, "ms"),
           "go_gcbench_gcs_p1": (36.0, "count"), "boehm_gcbench_gcs_m1": (31.0, "count"),
           "gcboehm_bintree_ms_m2": (1800.0, "ms"),
           "gcboehm_gcbench_ms_m2": (1200.0, "ms"), "boehminc_gcbench_ms_m2": (1600.0, "ms"),
           "gcboehmstw_gcbench_ms_m2": (600.0, "ms"),
           "gort_parked_idle_per_g_ns_p2": (50.5, "ns"), "go_parked_idle_per_g_ns_p2": (1010.0, "ns")}
    eq(gcbench.report(med), [
        "BENCH gcboehm_gcbench_ms_m2 1200 ms",       # gc.h on ours (the dirty-page mode)
        "BENCH boehminc_gcbench_ms_m2 1600 ms",      # Boehm's incremental mode
        "BENCH gcboehmstw_gcbench_ms_m2 600 ms",     # gc.h on ours, stop-the-world
        "BENCH gcbench_ms_m2_gcboehm_vs_boehminc 0.75 x",
        "BENCH gcbench_ms_m2_gcboehm_vs_gcboehmstw 2.00 x",
        "BENCH go_gcbench_gcs_p1 36 count",
        "BENCH boehm_gcbench_gcs_m1 31 count",       # peers only: no ratio
        "BENCH gort_bintree_ms_p1 3000 ms",
        "BENCH go_bintree_ms_p1 2000 ms",
        "BENCH boehm_bintree_ms_m1 1500 ms",
        "BENCH malloc_bintree_ms_p1 1000 ms",
        "BENCH bintree_ms_p1_vs_go 1.50 x",
        "BENCH bintree_ms_p1_vs_boehm 2.00 x",
        "BENCH bintree_ms_p1_vs_malloc 3.00 x",
        "BENCH gort_bintree_ms_p2 1800 ms",
        "BENCH go_bintree_ms_p2 0 ms",               # no ratio against zero
        "BENCH boehm_bintree_ms_m2 1200 ms",         # ours p2 against Boehm with 2 markers
        "BENCH gcboehm_bintree_ms_m2 1800 ms",       # Boehm's source on ours
        "BENCH bintree_ms_p2_vs_boehm 1.50 x",
        "BENCH bintree_ms_p2_vs_malloc 1.80 x",      # and against malloc p1
        "BENCH bintree_ms_m2_gcboehm_vs_boehm 1.50 x",  # the same source, both collectors
        "BENCH gort_parked_idle_per_g_ns_p2 50.5 ns",
        "BENCH go_parked_idle_per_g_ns_p2 1010 ns",
        "BENCH parked_idle_per_g_ns_p2_vs_go 0.05 x",
    ], "report")


@test
def test_gcbench_bintree_output():
    want = gcbench.expected_bintree_lines(18)
    eq(want[0], "stretch tree of depth 19\t check: 1048575", "stretch")
    eq(want[1], "262144\t trees of depth 4\t check: 8126464", "depth 4")
    eq(want[-2], "16\t trees of depth 18\t check: 8388592", "depth 18")
    eq(want[-1], "long lived tree of depth 18\t check: 524287", "long lived")
    eq(len(want), 10, "lines")
    # ours prints them among a kernel's lines, maybe with \r\n
    gort = ("gort kernel (host)\ncommand line: tests=gcb_bintree\n" + "\r\n".join(want)
            + "\r\nBENCH gort_bintree_ms_p1 3000 ms\n[ OK ] gcb_bintree.run\n1 passed, 0 failed\n")
    eq(gcbench.bintree_lines(gort), want, "extracted")
    gcbench.compare_bintree([("gort bintree p1", gcbench.bintree_lines(gort)),
                             ("malloc bintree p1", list(want))])
    for bad, what in ((want[:-1], "a line missing"),
                      ([l.replace("8388544", "8388545") for l in want], "a wrong check"),
                      ([], "no output")):
        try:
            gcbench.compare_bintree([("go bintree p1", want), ("boehm bintree m2", bad)])
        except gcbench.BenchError as e:
            assert str(e).startswith("boehm bintree m2: binary-trees output differs"), str(e)
        else:
            raise AssertionError("%s: no error" % what)


@test
def test_gcbench_commands():
    jobs = gcbench.commands("/b")
    eq([(j.side, j.cfg, j.group) for j in jobs][:8], [
        ("gort", "p1", "gcbench"), ("gort", "p1", "bintree"), ("gort", "p1", "parked"),
        ("gort", "p1", "stwload"), ("go", "p1", "gcbench"), ("go", "p1", "bintree"),
        ("go", "p1", "parked"), ("go", "p1", "stwload")], "ours, then Go, one group each")
    eq(jobs[0].argv, ["/b/host-sys/gort", "-smp", "1", "-m", "4G", "--", "tests=gcb_gcbench"],
       "ours")
    assert jobs[0].summary and not jobs[4].summary, "only ours prints a test summary"
    eq(jobs[5].argv, ["/b/bench/go_gc", "-procs", "1", "bintree"], "Go")
    boehm = [j for j in jobs if j.side == "boehm"]
    eq([(j.cfg, j.group, j.env["GC_MARKERS"]) for j in boehm],
       [("m1", "gcbench", "1"), ("m1", "bintree", "1"), ("m2", "gcbench", "2"),
        ("m2", "bintree", "2")], "Boehm with 1 and 2 markers")
    ours_boehm = [j for j in jobs if j.side == "gcboehm"]
    eq([(j.cfg, j.group, j.env["GC_MARKERS"], j.summary) for j in ours_boehm],
       [("m1", "gcbench", "1", True), ("m1", "bintree", "1", True), ("m2", "gcbench", "2", True),
        ("m2", "bintree", "2", True)], "Boehm's source on ours, GC_MARKERS = CPUs")
    eq(ours_boehm[3].argv, ["/b/host-sys/gort", "-smp", "2", "-m", "4G", "--", "tests=boehmsrc_bintree"],
       "gcboehm argv")
    inc = [j for j in jobs if j.side == "boehminc"]
    eq([(j.cfg, j.group, j.env["GC_MARKERS"], j.env["GC_ENABLE_INCREMENTAL"], j.argv) for j in inc],
       [("m1", "gcbench", "1", "1", ["/b/bench/boehm_gcbench"]),
        ("m2", "gcbench", "2", "1", ["/b/bench/boehm_gcbench"])], "Boehm's incremental mode")
    stw = [j for j in jobs if j.side == "gcboehmstw"]
    eq([(j.cfg, j.argv) for j in stw],
       [("m1", ["/b/host-sys/gort", "-smp", "1", "-m", "4G", "--", "gc_mode=stw", "tests=boehmsrc_gcbench"]),
        ("m2", ["/b/host-sys/gort", "-smp", "2", "-m", "4G", "--", "gc_mode=stw", "tests=boehmsrc_gcbench"])],
       "Boehm's source on ours, stop-the-world mode")
    eq([(j.side, j.cfg, j.argv) for j in jobs[-1:]],
       [("malloc", "p1", ["/b/bench/malloc_bintree"])], "malloc, once per round")
    eq(len(jobs), 2 * (4 + 4 + 2 + 2 + 1 + 1) + 1, "jobs per round")
    eq({j.side for j in gcbench.commands("/b", ours=False)}, {"go", "boehm", "boehminc", "malloc"},
       "peers only")
    saved = dict(os.environ)
    try:
        os.environ.update(GOGC="off", GC_INITIAL_HEAP_SIZE="1G", GC_MARKERS="7")
        env = gcbench.run_env(markers=2)
        eq((env.get("GOGC"), env.get("GC_INITIAL_HEAP_SIZE"), env["GC_MARKERS"]), (None, None, "2"),
           "knobs cleared")
    finally:
        os.environ.clear()
        os.environ.update(saved)


@test
def test_gcbench_run_and_probe():
    d = tempfile.mkdtemp(prefix="gcbench-test-")
    try:
        job = gcbench.Job("go", "p1", "bintree", [sys.executable, "-c",
                          "import sys; print('BENCH go_bintree_ms_p1 5 ms'); "
                          "sys.stderr.write('err\\n'); x = bytearray(64 << 20); sys.exit(3)"],
                          None, False)
        peakrss = os.path.join(d, "peakrss")
        subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", peakrss,
                        os.path.join(ROOT, "tests", "bench", "peakrss", "peakrss.c")], check=True)
        status, text, rss = gcbench.run_job(job, peakrss)
        eq((status, text), (3, "BENCH go_bintree_ms_p1 5 ms\nerr\n"), "status and merged output")
        assert rss >= 64 << 10, "peak RSS %d KiB, 64 MiB touched" % rss
        # a small program's own peak, not this script's (a child of this process would
        # start from this process's resident size)
        status, text, rss = gcbench.run_job(job._replace(argv=["true"]), peakrss)
        eq(status, 0, "true")
        assert rss < 8 << 10, "peak RSS of true: %d KiB" % rss
        t0 = time.monotonic()
        try:
            gcbench.run_job(job._replace(argv=["sleep", "30"]), peakrss, timeout=0.3)
        except gcbench.BenchError as e:
            assert "no result in 0.3 s" in str(e), str(e)
        else:
            raise AssertionError("no timeout")
        assert time.monotonic() - t0 < 10, "timeout too slow"

        eq(gcbench.probe_ours(d), (False, "no %s/host-sys/gort (make host-sys)" % d), "no gort")
        os.makedirs(os.path.join(d, "host-sys"))
        gort = os.path.join(d, "host-sys", "gort")

        def fake(missing):
            with open(gort, "w") as f:
                f.write("#!/bin/sh\necho 'smp: 1 of 1 CPUs online'\n"
                        "echo \"tests: no suite named '%s'\"\necho PANIC\nexit 2\n" % missing)
            os.chmod(gort, 0o755)
        fake("gcb_gcbench")
        eq(gcbench.probe_ours(d), (False, "gort says: tests: no suite named 'gcb_gcbench'"),
           "suite missing")
        fake("gcb__probe")
        eq(gcbench.probe_ours(d)[0], True, "every suite there")
        with open(gort, "w") as f:
            f.write("#!/bin/sh\necho \"$@\"\nexit 0\n")
        there, why = gcbench.probe_ours(d)
        assert not there and ("tests=gcb_gcbench,gcb_bintree,gcb_parked,gcb_stwload,boehmsrc_gcbench,"
                              "boehmsrc_bintree,gcb__probe") in why, why
    finally:
        shutil.rmtree(d)


@test
def test_boehmprogs_lines():
    text = ("gort kernel (host)\nboehm program tree: output begins\na\nb\n"
            "boehm program tree: output ends, status 0\n[ OK ] boehm_tree.tree\n1 passed, 0 failed\n")
    eq(boehmprogs.ours_lines("tree", text), (["a", "b"], None), "between the markers")
    eq(boehmprogs.ours_lines("links", text), (None, "no begin marker"), "another program")
    eq(boehmprogs.ours_lines("tree", text.replace("status 0", "status 3")), (None, "status 3"), "status")
    eq(boehmprogs.ours_lines("tree", text.split("boehm program tree: output ends")[0]),
       (None, "no end marker"), "cut short (a panic)")
    eq(boehmprogs.first_difference(["a", "b"], ["a", "b"]), None, "same")
    eq(boehmprogs.first_difference(["a", "b"], ["a", "c"]), "line 2: libgc 'b', ours 'c'", "differs")
    eq(boehmprogs.first_difference(["a", "b"], ["a"]), "line 2: libgc 'b', ours '<nothing>'", "shorter")


# ---------------------------------------------------------------------------

def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    results = None
    if args[:1] == ["--results"] and len(args) == 2:
        results = args[1]
    elif args:
        print("usage: test_tools.py [--results FILE]", file=sys.stderr)
        return 2
    if not shutil.which("mformat"):
        print("test_tools: mtools is missing", file=sys.stderr)
    npass, lines = 0, []
    try:
        for fn in TESTS:
            name = "tools/" + fn.__name__[len("test_"):]
            try:
                fn()
            except Exception as e:
                tb = traceback.extract_tb(e.__traceback__)
                frame = next((f for f in reversed(tb) if f.filename == __file__), tb[-1])
                msg = str(e).strip() or type(e).__name__
                if not isinstance(e, AssertionError):
                    msg = "%s: %s" % (type(e).__name__, msg)
                first, _, rest = msg.partition("\n")
                print("[FAIL] %s: %s:%d: %s" % (name, os.path.relpath(frame.filename, ROOT),
                                                frame.lineno, first))
                for l in rest.splitlines():
                    print("    | " + l)
                lines.append("FAIL " + name)
            else:
                print("[ OK ] %s" % name)
                npass += 1
                lines.append("PASS " + name)
            sys.stdout.flush()
    finally:
        E2E.cleanup()
    if results:
        with open(results, "a") as f:
            f.write("".join(l + "\n" for l in lines))
    nfail = len(lines) - npass
    print("%d passed, %d failed" % (npass, nfail))
    return 0 if nfail == 0 and npass > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
