#!/usr/bin/env python3
"""make debug: boot an image under QEMU stopped at its first instruction, and attach
gdb-multiarch to it with the kernel's symbols and the goroutine commands.

Usage:
    debug.py ARCH [--path uefi|direct] [--cmdline CMDLINE] [--smp N] [--build BUILD]
             [--app NAME] [--port PORT]

QEMU waits for gdb (-S) on 127.0.0.1:PORT (default 1234); the guest's serial console
goes to BUILD/<arch>/debug-serial.log (follow it with tail -f in another terminal);
gdb runs on this terminal with tools/gdb_gort.py sourced: `continue` starts the
image, Ctrl-C stops it, `info goroutines` and `goroutine N bt` look at goroutines.
Quitting gdb kills QEMU. On the uefi path the firmware runs first: symbols are the
kernel's, so breakpoints in it (`break kernel_main`) work once it is loaded.
"""

import argparse
import os
import shlex
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="Boot under QEMU waiting for gdb, and attach gdb.")
    ap.add_argument("arch", choices=qemu.ARCHES)
    ap.add_argument("--path", choices=qemu.PATHS, default="direct")
    ap.add_argument("--cmdline", default=None)
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--app", default=None)
    ap.add_argument("--port", type=int, default=1234)
    args = ap.parse_args(argv)

    image = qemu.image_path(args.build, args.arch, args.path, args.app)
    base = os.path.join(args.build, args.arch, "app", args.app) if args.app else \
        os.path.join(args.build, args.arch)
    elf = os.path.join(base, "kernel.elf")
    serial = os.path.join(args.build, args.arch, "debug-serial.log")
    try:
        cmd, cleanup = qemu.build_cmd(args.arch, args.path, image, args.cmdline, smp=args.smp)
    except qemu.QemuError as e:
        print("debug: %s" % e, file=sys.stderr)
        return 2
    cmd = [("file:" + serial) if a == "stdio" else a for a in cmd]
    cmd += ["-gdb", "tcp:127.0.0.1:%d" % args.port, "-S"]
    print("debug: %s" % shlex.join(cmd), file=sys.stderr)
    print("debug: the serial console goes to %s (tail -f it)" % serial, file=sys.stderr)
    q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gdb_gort.py")
    gdb = ["gdb-multiarch", "-q", "-ex", "set pagination off", "-ex", "file " + elf,
           "-ex", "source " + script, "-ex", "target remote 127.0.0.1:%d" % args.port]
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is gdb's
        return subprocess.call(gdb)
    except OSError as e:
        print("debug: cannot run gdb-multiarch (tools/deps.sh installs it): %s" % e,
              file=sys.stderr)
        return 127
    finally:
        try:
            os.killpg(q.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        q.wait()
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
