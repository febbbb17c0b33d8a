#!/usr/bin/env python3
"""The garbage-collector benchmarks, side by side: this runtime's collector on the
hosted platform, Go, the Boehm collector and plain malloc, in one run on one machine.

Usage:
    gcbench.py [--build DIR] [--runs R] [--no-build] [--peers-only]

Builds the peers into DIR/bench (the Go program of tests/bench/go/gc with GOCACHE and
GOPATH under DIR/bench, GOPATH mode, no network; the Boehm programs of
tests/bench/boehm with gcc -O2 and -lgc, Debian's libgc-dev 8.2.2; the malloc program
of tests/bench/malloc with gcc -O2), then runs every side R times (default 5),
interleaved (ours at 1 and 2 CPUs, Go at GOMAXPROCS 1 and 2, Boehm with 1 and 2
marker threads, malloc; then again), so that a slow spell of a noisy machine falls on
every side alike. Each side runs one process per figure group, so that the peak RSS
(every program alike, through tests/bench/peakrss, built into DIR/bench: a process
forked by this script would count the script's own ~14 MB in its peak) belongs to
one program:

    group    figures                                          ours (tests=)  Go  Boehm  malloc
    gcbench  gcbench_ms gcbench_pause_max_us                  gcb_gcbench    yes yes    -
             gcbench_pause_p99_us gcbench_gcs (+ gcbench_rss_kib)
    bintree  bintree_ms (+ bintree_rss_kib)                   gcb_bintree    yes yes    yes
    parked   parked_empty_ns parked_{recv,select,idle}{1000,10000}_ns
                                                              gcb_parked     yes -      -
    stwload  stwload_pause_max_us stwload_pause_p99_us        gcb_stwload    yes -      -

gcboehm: the Boehm programs' own source (tests/bench/boehm), unchanged, built into gort
against this runtime's gc.h (its main renamed: suites boehmsrc_gcbench and
boehmsrc_bintree, tests/boot/boehm_test.c), run with GC_MARKERS=P at -smp P, so it prints
boehm_<figure>_mP like the Boehm build; it is reported as gcboehm_<figure>_mP with the
ratio <figure>_mP_gcboehm_vs_boehm (the same source, the two collectors). gc.h puts
ours in its dirty-page mode (concurrent, no barrier): GCBench is also run in the
Boehm collector's incremental mode (boehminc: GC_ENABLE_INCREMENTAL=1, its
mprotect-based mostly-parallel marking, the same idea) and on ours in the
stop-the-world mode (gcboehmstw: gc_mode=stw), with the ratios
<figure>_mP_gcboehm_vs_boehminc and _vs_gcboehmstw. Pauses are every stop of the
world (GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD).

Boehm has no goroutines, so it has no parked or stwload figures; malloc has no
collector, so only binary-trees (its floor). What each figure measures is written at
the top of tests/bench/go/gc/main.go; ours must measure the same.

Ours is `DIR/host-sys/gort -smp P -m 4G -- tests=gcb_<group>` (make host-sys), which
prints "BENCH gort_<figure>_p<P> <value> <unit>" for its group's figures and ends
with "N passed, 0 failed" (N >= 1). Go prints go_<figure>_p<GOMAXPROCS>, Boehm
boehm_<figure>_m<markers> (GC_MARKERS=1 or 2 in its environment; the programs check
that it took effect), malloc malloc_bintree_ms_p1. Before the runs, ours is probed
with `tests=gcb_gcbench,gcb_bintree,gcb_parked,gcb_stwload,gcb__probe`: gort checks
every suite name before running any, so it stops at once and names the first one it
lacks; if that is the last, ours is all there. Without --peers-only a missing side
(ours included) is an error; with it, ours is not run, the probe's verdict goes to
stderr, and the peers' figures are printed.

This prints, per figure and configuration, the median over the R runs of each side
(the lower median: a value one run printed), then the ratios ours/peer (> 1: ours is
slower or larger): ours at p1 against Go p1 and Boehm m1, ours at p2 against Go p2
and Boehm m2, both against malloc p1 (binary-trees):

    BENCH gort_gcbench_ms_p1 <ours> ms
    BENCH go_gcbench_ms_p1 569.3 ms
    BENCH boehm_gcbench_ms_m1 315.6 ms
    BENCH gcbench_ms_p1_vs_go <ours / 569.3> x
    BENCH gcbench_ms_p1_vs_boehm <ours / 315.6> x

Derived in each run, then medians like the rest: the peak RSS as
<side>_gcbench_rss_kib_<cfg> and <side>_bintree_rss_kib_<cfg> (KiB), and the GC cost
per parked goroutine, <side>_parked_<kind>_per_g_ns_<cfg> = (parked_<kind>10000_ns -
parked_empty_ns) / 10000 for kind recv, select, idle.

Every binary-trees run's check lines ("stretch tree of depth 19\t check: 1048575",
...) must be the benchmark's (computed here), hence identical across implementations.
A run that fails (non-zero exit, a figure missing, wrong binary-trees output, ours
without "N passed, 0 failed") stops the whole thing with its output: a broken side is
not a figure. Exit status 0 on success.
"""

import argparse
import collections
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROCS = (1, 2)
# group -> the figures each side prints for it, in the order printed.
GROUPS = collections.OrderedDict([
    ("gcbench", ("gcbench_ms", "gcbench_pause_max_us", "gcbench_pause_p99_us", "gcbench_gcs")),
    ("bintree", ("bintree_ms",)),
    ("parked", ("parked_empty_ns", "parked_recv1000_ns", "parked_recv10000_ns",
                "parked_select1000_ns", "parked_select10000_ns", "parked_idle1000_ns",
                "parked_idle10000_ns")),
    ("stwload", ("stwload_pause_max_us", "stwload_pause_p99_us")),
])
# The groups each side runs.
SIDE_GROUPS = {"gort": tuple(GROUPS), "go": tuple(GROUPS), "boehm": ("gcbench", "bintree"),
               "gcboehm": ("gcbench", "bintree"), "malloc": ("bintree",),
               "boehminc": ("gcbench",), "gcboehmstw": ("gcbench",)}
# The prefix a side's BENCH lines carry when it is not the side's name: gcboehm is the
# Boehm programs' own source built against this runtime's gc.h, unchanged, so it prints
# what the Boehm build prints.
PRINTS_AS = {"gcboehm": "boehm", "boehminc": "boehm", "gcboehmstw": "boehm"}
BOEHM_SRC_SUITE = "boehmsrc_%s"
RSS_GROUPS = ("gcbench", "bintree")
PARKED_KINDS = ("recv", "select", "idle")
PARKED_N = 10000
FIGURES = (GROUPS["gcbench"] + ("gcbench_rss_kib",) + GROUPS["bintree"] + ("bintree_rss_kib",)
           + GROUPS["parked"] + tuple("parked_%s_per_g_ns" % k for k in PARKED_KINDS)
           + GROUPS["stwload"])
# Whom ours at P CPUs is compared with: (side, its configuration).
PEERS = (("go", "p%d"), ("boehm", "m%d"), ("malloc", "p1"))
SUITE = "gcb_%s"
PROBE_SENTINEL = "gcb__probe"
BENCH_RE = re.compile(r"^BENCH (\S+) (-?[0-9][0-9.eE+-]*) (\S+)\s*$", re.MULTILINE)
SUMMARY_RE = re.compile(r"^([0-9]+) passed, 0 failed\s*$", re.MULTILINE)
BINTREE_RE = re.compile(r"^(?:stretch tree of depth |[0-9]+\t trees of depth |"
                        r"long lived tree of depth ).*$", re.MULTILINE)
BINTREE_DEPTH = 18
GORT_MEM = "4G"
TIMEOUT = 300
# Environment variables that would change what a peer measures: Go's runtime knobs
# (GOMAXPROCS is the -procs flag) and every GC_* knob of the Boehm collector.
GO_KNOBS = ("GOGC", "GODEBUG", "GOMAXPROCS", "GOMEMLIMIT")

Job = collections.namedtuple("Job", "side cfg group argv env summary")


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Pure functions: parsing, checking, deriving, medians, the report

def parse_bench(text):
    """{name: (value, unit)} of the BENCH lines of one run's output."""
    out = {}
    for m in BENCH_RE.finditer(text):
        out[m.group(1)] = (float(m.group(2)), m.group(3))
    return out


def label(job):
    return "%s %s %s" % (job.side, job.group, job.cfg)


def check_run(job, status, text):
    """Raise BenchError (with the output's tail) if the run failed."""
    why = None
    if status != 0:
        why = "status %d" % status
    elif job.summary:
        m = SUMMARY_RE.search(text)
        if not m or int(m.group(1)) < 1:
            why = "no 'N passed, 0 failed' line"
    if why:
        raise BenchError("%s failed (%s): %s\n%s" % (label(job), why, " ".join(job.argv),
                                                     text[-3000:]))


def collect(job, text, rss_kib):
    """The figures one run contributes: its group's BENCH lines (every one must be
    there; anything else it prints is ignored) and its peak RSS for the groups that
    report one."""
    got = parse_bench(text)
    out = {}
    for fig in GROUPS[job.group]:
        name = "%s_%s_%s" % (job.side, fig, job.cfg)
        printed = "%s_%s_%s" % (PRINTS_AS.get(job.side, job.side), fig, job.cfg)
        if printed not in got:
            raise BenchError("%s printed no %s: %s\n%s" % (label(job), printed, " ".join(job.argv),
                                                          text[-3000:]))
        out[name] = got[printed]
    if job.group in RSS_GROUPS:
        out["%s_%s_rss_kib_%s" % (job.side, job.group, job.cfg)] = (float(rss_kib), "KiB")
    return out


def derive(figs):
    """Add the per-goroutine GC cost of each parked kind to one run's figures:
    (parked_<kind>10000_ns - parked_empty_ns) / 10000, for every side and cfg there."""
    out = dict(figs)
    for name, (empty, unit) in figs.items():
        m = re.match(r"^([a-z]+)_parked_empty_ns_(\w+)$", name)
        if not m:
            continue
        side, cfg = m.groups()
        for kind in PARKED_KINDS:
            full = figs.get("%s_parked_%s%d_ns_%s" % (side, kind, PARKED_N, cfg))
            if full:
                out["%s_parked_%s_per_g_ns_%s" % (side, kind, cfg)] = \
                    ((full[0] - empty) / PARKED_N, unit)
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
    """The output lines: per figure and CPU count, each side's median (malloc's once,
    with p1), then the ratios ours/peer where both sides have the figure."""
    lines = []
    for fig in FIGURES:
        for p in PROCS:
            names = ["gort_%s_p%d" % (fig, p), "go_%s_p%d" % (fig, p), "boehm_%s_m%d" % (fig, p),
                     "gcboehm_%s_m%d" % (fig, p), "boehminc_%s_m%d" % (fig, p),
                     "gcboehmstw_%s_m%d" % (fig, p)]
            if p == 1:
                names.append("malloc_%s_p1" % fig)
            for name in names:
                if name in medians:
                    v, unit = medians[name]
                    lines.append("BENCH %s %s %s" % (name, fmt(v), unit))
            ours = medians.get("gort_%s_p%d" % (fig, p))
            for side, cfg in PEERS:
                other = medians.get("%s_%s_%s" % (side, fig, cfg.replace("%d", str(p))))
                if ours and other and other[0] > 0:
                    lines.append("BENCH %s_p%d_vs_%s %.2f x" % (fig, p, side, ours[0] / other[0]))
            for peer in ("boehm", "boehminc", "gcboehmstw"):
                both = medians.get("gcboehm_%s_m%d" % (fig, p)), medians.get("%s_%s_m%d" % (peer, fig, p))
                if both[0] and both[1] and both[1][0] > 0:
                    lines.append("BENCH %s_m%d_gcboehm_vs_%s %.2f x" % (fig, p, peer, both[0][0] / both[1][0]))
    return lines


def expected_bintree_lines(n=BINTREE_DEPTH):
    """The check lines binary-trees prints at depth n (every check is a node count)."""
    def size(d):
        return (1 << (d + 1)) - 1
    lo, hi = 4, max(4 + 2, n)
    lines = ["stretch tree of depth %d\t check: %d" % (hi + 1, size(hi + 1))]
    for d in range(lo, hi + 1, 2):
        iters = 1 << (hi - d + lo)
        lines.append("%d\t trees of depth %d\t check: %d" % (iters, d, iters * size(d)))
    lines.append("long lived tree of depth %d\t check: %d" % (hi, size(hi)))
    return lines


def bintree_lines(text):
    """The binary-trees check lines of one run's output, in order (other lines, such
    as a kernel's banner, are skipped; line ends are not part of a line)."""
    return [m.group(0).rstrip() for m in BINTREE_RE.finditer(text)]


def compare_bintree(outputs, n=BINTREE_DEPTH):
    """outputs: [(label, lines)]. Every implementation must print the benchmark's lines,
    hence the same ones; raise BenchError naming the first that does not."""
    want = expected_bintree_lines(n)
    for who, lines in outputs:
        if lines != want:
            diff = [("  %-8s %r" % (tag, l)) for tag, ls in (("expected", want), ("got", lines))
                    for l in ls]
            raise BenchError("%s: binary-trees output differs from the benchmark's:\n%s"
                             % (who, "\n".join(diff)))


# ---------------------------------------------------------------------------
# Building and running

def go_env(bench):
    env = dict(os.environ)
    env.update(GOCACHE=os.path.join(bench, "gocache"), GOPATH=os.path.join(bench, "gopath"),
               GO111MODULE="off", GOPROXY="off", GOFLAGS="", CGO_ENABLED="0")
    return env


def run_env(markers=None):
    """The environment of a benchmark run: ours, without the knobs of GO_KNOBS and GC_*;
    GC_MARKERS for Boehm."""
    env = {k: v for k, v in os.environ.items()
           if k not in GO_KNOBS and not k.startswith("GC_")}
    if markers is not None:
        env["GC_MARKERS"] = str(markers)
    return env


def build(bench):
    os.makedirs(bench, exist_ok=True)
    if not shutil.which("go"):
        raise BenchError("no 'go' on PATH: run tools/deps.sh bench (Debian's golang-go)")
    if not os.path.isfile("/usr/include/gc.h"):
        raise BenchError("no /usr/include/gc.h: run tools/deps.sh bench (Debian's libgc-dev)")
    src = os.path.join(ROOT, "tests", "bench")
    subprocess.run(["go", "build", "-o", os.path.join(bench, "go_gc"),
                    os.path.join(src, "go", "gc", "main.go")], env=go_env(bench), check=True)
    cc = ["gcc", "-O2", "-Wall", "-Wextra", "-Werror"]
    for prog in ("gcbench", "bintree"):
        subprocess.run(cc + ["-pthread", "-o", os.path.join(bench, "boehm_" + prog),
                             os.path.join(src, "boehm", prog + ".c"), "-lgc"], check=True)
    subprocess.run(cc + ["-o", os.path.join(bench, "malloc_bintree"),
                         os.path.join(src, "malloc", "bintree.c")], check=True)
    subprocess.run(cc + ["-o", os.path.join(bench, "peakrss"),
                         os.path.join(src, "peakrss", "peakrss.c")], check=True)


def gort_path(build_dir):
    return os.path.join(build_dir, "host-sys", "gort")


def commands(build_dir, ours=True):
    """[Job] of one round: each side and configuration, one process per group."""
    bench = os.path.join(build_dir, "bench")
    gort = gort_path(build_dir)
    jobs = []
    for p in PROCS:
        if ours:
            for g in SIDE_GROUPS["gort"]:
                jobs.append(Job("gort", "p%d" % p, g, [gort, "-smp", str(p), "-m", GORT_MEM, "--",
                                                       "tests=" + SUITE % g], run_env(), True))
        for g in SIDE_GROUPS["go"]:
            jobs.append(Job("go", "p%d" % p, g, [os.path.join(bench, "go_gc"), "-procs", str(p), g],
                            run_env(), False))
        for g in SIDE_GROUPS["boehm"]:
            jobs.append(Job("boehm", "m%d" % p, g, [os.path.join(bench, "boehm_" + g)],
                            run_env(markers=p), False))
        for g in SIDE_GROUPS["boehminc"]:
            env = run_env(markers=p)
            env["GC_ENABLE_INCREMENTAL"] = "1"
            jobs.append(Job("boehminc", "m%d" % p, g, [os.path.join(bench, "boehm_" + g)], env, False))
        if ours:
            for g in SIDE_GROUPS["gcboehm"]:
                jobs.append(Job("gcboehm", "m%d" % p, g,
                                [gort, "-smp", str(p), "-m", GORT_MEM, "--", "tests=" + BOEHM_SRC_SUITE % g],
                                run_env(markers=p), True))
            for g in SIDE_GROUPS["gcboehmstw"]:
                jobs.append(Job("gcboehmstw", "m%d" % p, g,
                                [gort, "-smp", str(p), "-m", GORT_MEM, "--", "gc_mode=stw",
                                 "tests=" + BOEHM_SRC_SUITE % g], run_env(markers=p), True))
    jobs.append(Job("malloc", "p1", "bintree", [os.path.join(bench, "malloc_bintree")],
                    run_env(), False))
    return jobs


def run_job(job, peakrss, timeout=TIMEOUT):
    """Run one job under peakrss (its path): (exit status, output with stderr merged,
    peak RSS in KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryDirectory() as tmp:
        rss_file = os.path.join(tmp, "rss")
        # its own session: a timeout kills the program along with peakrss
        p = subprocess.Popen([peakrss, rss_file] + job.argv, stdout=out, stderr=subprocess.STDOUT,
                             env=job.env, start_new_session=True)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            out.seek(0)
            raise BenchError("%s: no result in %g s: %s\n%s" % (
                label(job), timeout, " ".join(job.argv),
                out.read().decode("utf-8", "replace")[-3000:]))
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
        try:
            with open(rss_file) as f:
                rss = int(f.read())
        except (OSError, ValueError) as e:
            raise BenchError("%s: no peak RSS from peakrss (%s): %s\n%s" % (
                label(job), e, " ".join(job.argv), text[-3000:]))
        return p.returncode, text, rss


def probe_ours(build_dir, timeout=60):
    """(True, note) if gort has every gcb_* suite, else (False, why not)."""
    gort = gort_path(build_dir)
    if not os.path.isfile(gort):
        return False, "no %s (make host-sys)" % gort
    suites = ([SUITE % g for g in SIDE_GROUPS["gort"]] + [BOEHM_SRC_SUITE % g for g in SIDE_GROUPS["gcboehm"]]
              + [PROBE_SENTINEL])
    argv = [gort, "-smp", "1", "-m", GORT_MEM, "--", "tests=" + ",".join(suites)]
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=run_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "the probe %s gave no answer in %d s" % (" ".join(argv), timeout)
    return judge_probe(argv, p.returncode, p.stdout.decode("utf-8", "replace"))


def judge_probe(argv, status, text):
    m = re.search(r"^tests: no suite named '([^']*)'", text, re.MULTILINE)
    if m and m.group(1) == PROBE_SENTINEL and status != 0:
        return True, "gort has the suites %s" % ", ".join(SUITE % g for g in SIDE_GROUPS["gort"])
    if m:
        return False, "gort says: tests: no suite named '%s'" % m.group(1)
    return False, "the probe %s did not end as expected (status %d):\n%s" % (
        " ".join(argv), status, text[-3000:])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"), help="build directory")
    ap.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--no-build", action="store_true", help="use the peers already built")
    ap.add_argument("--peers-only", action="store_true",
                    help="run the peers only (ours may be missing: say so on stderr)")
    args = ap.parse_args(argv)
    args.build = os.path.abspath(args.build)
    try:
        if not args.no_build:
            build(os.path.join(args.build, "bench"))
        there, why = probe_ours(args.build)
        if not there and not args.peers_only:
            raise BenchError("ours is missing: %s" % why)
        if args.peers_only:
            print("gcbench: %s; --peers-only: ours is not run" %
                  (("ours is missing: " + why) if not there else why), file=sys.stderr)
        runs, bintrees = [], []
        for r in range(args.runs):
            for job in commands(args.build, ours=not args.peers_only):
                status, text, rss = run_job(job, os.path.join(args.build, "bench", "peakrss"))
                check_run(job, status, text)
                figs = collect(job, text, rss)
                if job.group == "bintree":
                    bintrees.append((label(job), bintree_lines(text)))
                    compare_bintree(bintrees)
                runs.append(derive(figs))
            print("gcbench: round %d of %d done" % (r + 1, args.runs), file=sys.stderr)
    except (BenchError, subprocess.CalledProcessError) as e:
        print("gcbench: %s" % e, file=sys.stderr)
        return 1
    print("# collector benchmarks: medians of %d runs per side%s" %
          (args.runs, " (peers only)" if args.peers_only else ""))
    for line in report(merge(runs)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
