#!/usr/bin/env python3
"""The goroutine benchmarks, side by side: this runtime on the hosted platform, Go,
and plain pthreads, in one run on one machine.

Usage:
    gobench.py [--build DIR] [--runs R] [--no-build]

Builds the peers into DIR/bench (the Go program of tests/bench/go with GOCACHE and
GOPATH under DIR/bench, GOPATH mode, no network; the pthread program of
tests/bench/pthread with gcc -O2 -pthread), then runs every side R times (default
5), interleaved (ours at 1 and 2 CPUs, Go at GOMAXPROCS 1 and 2, pthreads pinned to
one CPU with taskset and unpinned, then again), so that a slow spell of a noisy
machine falls on every side alike. Ours is DIR/host-sys/gort with tests=gobench
(tests/boot/gobench_test.c); it must be built already (make host-sys).

Each program prints "BENCH <side>_<figure>_p<CPUs> <value> <unit>" lines; this prints,
per figure, the median over the R runs of each side (the lower median: a value one
run printed) and the ratios ours/Go and ours/pthreads (> 1: ours is slower or larger):

    BENCH gort_pingpong_p1 435.8 ns
    BENCH go_pingpong_p1 447.9 ns
    BENCH pthread_pingpong_p1 39703.7 ns
    BENCH pingpong_p1_vs_go 0.97 x
    BENCH pingpong_p1_vs_pthread 0.01 x

The images' memory per parked goroutine comes from one boot of each image (direct
path, one CPU, tests=gobench_mem: counts of pages, not timed, the same at every boot),
after the rounds, set beside Go's median of the same run (the images' timed figures
are tests/boot/bench.txt's, emulated):

    BENCH img_x86_64_parked_bytes_p1 4176 bytes
    BENCH img_x86_64_parked_bytes_p1_vs_go 1.59 x

--no-images leaves them out (no QEMU, or images not built).

A run that fails (non-zero exit, or ours without "1 passed, 0 failed") stops the
whole thing with its output: a broken side is not a figure. Exit status 0 on success.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402  (tools/qemu.py, next to this file)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDES = ("gort", "go", "pthread")
PROCS = (1, 2)
# The figures, in the order printed; every side prints <side>_<figure>_p<CPUs>.
FIGURES = ("parked_bytes", "parked_sys_bytes", "spawn", "pingpong",
           "chanbuf", "select4", "mutex")
BENCH_RE = re.compile(r"^BENCH (\S+) (-?[0-9][0-9.eE+-]*) (\S+)\s*$", re.MULTILINE)
GORT_MEM = "2G"
IMAGE_ARCHES = ("x86_64", "aarch64")
# The images' memory figures (tests=gobench_mem), each set against Go's parked_bytes.
IMAGE_FIGURES = ("parked_bytes", "parked16k_bytes", "parked1m_bytes")
TIMEOUT = 300


class BenchError(Exception):
    pass


def parse_bench(text):
    """{name: (value, unit)} of the BENCH lines of one run's output."""
    out = {}
    for m in BENCH_RE.finditer(text):
        out[m.group(1)] = (float(m.group(2)), m.group(3))
    return out


def merge(runs):
    """[{name: (value, unit)}] of R runs -> {name: (lower median, unit)}."""
    values, units = {}, {}
    for run in runs:
        for name, (v, unit) in run.items():
            values.setdefault(name, []).append(v)
            units[name] = unit
    return {name: (statistics.median_low(vs), units[name]) for name, vs in values.items()}


def fmt(v):
    return "%d" % v if v == int(v) else "%.1f" % v


def report(medians):
    """The output lines: per figure and CPU count, each side's median, then the ratios
    ours/Go and ours/pthreads where both sides have the figure."""
    lines = []
    for fig in FIGURES:
        for p in PROCS:
            key = "%s_p%d" % (fig, p)
            for side in SIDES:
                name = "%s_%s" % (side, key)
                if name in medians:
                    v, unit = medians[name]
                    lines.append("BENCH %s %s %s" % (name, fmt(v), unit))
            ours = medians.get("gort_" + key)
            for side in SIDES[1:]:
                other = medians.get("%s_%s" % (side, key))
                if ours and other and other[0] > 0:
                    lines.append("BENCH %s_vs_%s %.2f x" % (key, side, ours[0] / other[0]))
    return lines


def run(argv, env=None, check_summary=False, arch=None):
    """One program's BENCH lines; arch: an image booted in QEMU, whose exit code
    carries the kernel's status (tools/qemu.py map_exit)."""
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: no result in %d s" % (" ".join(argv), TIMEOUT))
    text = p.stdout.decode("utf-8", "replace")
    status = qemu.map_exit(arch, p.returncode)[0] if arch else p.returncode
    if status != 0 or (check_summary and not re.search(r"^1 passed, 0 failed\r?$", text, re.M)):
        raise BenchError("%s failed (status %d):\n%s" % (" ".join(argv), p.returncode, text[-3000:]))
    return parse_bench(text)


def image_commands(build_dir):
    """[(arch, argv)]: each image booted once for its memory figures."""
    cmds = []
    for arch in IMAGE_ARCHES:
        image = qemu.image_path(build_dir, arch, "direct")
        argv, _ = qemu.build_cmd(arch, "direct", image, "tests=gobench_mem", smp=1, mem=GORT_MEM)
        cmds.append((arch, argv))
    return cmds


def image_figures(arch, figures):
    """One image boot's gort_<fig>_p1 figures, renamed img_<arch>_<fig>_p1."""
    out = {}
    for fig in IMAGE_FIGURES:
        v = figures.get("gort_%s_p1" % fig)
        if v is None:
            raise BenchError("the %s image printed no gort_%s_p1" % (arch, fig))
        out["img_%s_%s_p1" % (arch, fig)] = v
    return out


def image_report(medians):
    """The images' memory figures and their ratios to Go's parked_bytes at one CPU."""
    lines = []
    go = medians.get("go_parked_bytes_p1")
    for arch in IMAGE_ARCHES:
        for fig in IMAGE_FIGURES:
            name = "img_%s_%s_p1" % (arch, fig)
            if name not in medians:
                continue
            v, unit = medians[name]
            lines.append("BENCH %s %s %s" % (name, fmt(v), unit))
            if go and go[0] > 0:
                lines.append("BENCH %s_vs_go %.2f x" % (name, v / go[0]))
    return lines


def go_env(bench):
    env = dict(os.environ)
    env.update(GOCACHE=os.path.join(bench, "gocache"), GOPATH=os.path.join(bench, "gopath"),
               GO111MODULE="off", GOPROXY="off", GOFLAGS="", CGO_ENABLED="0")
    return env


def build(bench):
    os.makedirs(bench, exist_ok=True)
    if not shutil.which("go"):
        raise BenchError("no 'go' on PATH: run tools/deps.sh bench (Debian's golang-go)")
    subprocess.run(["go", "build", "-o", os.path.join(bench, "gobench"),
                    os.path.join(ROOT, "tests", "bench", "go", "main.go")],
                   env=go_env(bench), check=True)
    subprocess.run(["gcc", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", "-o",
                    os.path.join(bench, "pthread_bench"),
                    os.path.join(ROOT, "tests", "bench", "pthread", "pthread_bench.c")],
                   check=True)


def commands(build_dir):
    """[(argv, check_summary)] of one round: each side at each CPU count."""
    bench = os.path.join(build_dir, "bench")
    gort = os.path.join(build_dir, "host-sys", "gort")
    cmds = []
    for p in PROCS:
        cmds.append(([gort, "-smp", str(p), "-m", GORT_MEM, "--", "tests=gobench"], True))
        cmds.append(([os.path.join(bench, "gobench"), "-procs", str(p)], False))
        pin = ["taskset", "-c", "0"] if p == 1 else []
        cmds.append((pin + [os.path.join(bench, "pthread_bench")], False))
    return cmds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"), help="build directory")
    ap.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--no-build", action="store_true", help="use the peers already built")
    ap.add_argument("--no-images", action="store_true",
                    help="leave out the images' memory figures (no QEMU boots)")
    args = ap.parse_args(argv)
    args.build = os.path.abspath(args.build)
    try:
        if not args.no_build:
            build(os.path.join(args.build, "bench"))
        if not os.path.isfile(os.path.join(args.build, "host-sys", "gort")):
            raise BenchError("missing %s/host-sys/gort (make host-sys)" % args.build)
        runs = []
        for r in range(args.runs):
            for argv_, summary in commands(args.build):
                runs.append(run(argv_, check_summary=summary, env=go_env(os.path.join(args.build, "bench"))))
            print("gobench: round %d of %d done" % (r + 1, args.runs), file=sys.stderr)
        if not args.no_images:
            for arch, argv_ in image_commands(args.build):
                runs.append(image_figures(arch, run(argv_, check_summary=True, arch=arch)))
    except (BenchError, subprocess.CalledProcessError, qemu.QemuError) as e:
        print("gobench: %s" % e, file=sys.stderr)
        return 1
    print("# goroutine benchmarks: medians of %d runs per side" % args.runs)
    medians = merge(runs)
    for line in report(medians) + image_report(medians):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
