#!/usr/bin/env python3
"""Interactive boot of the image under QEMU, for `make run`.

Usage:
    run.py ARCH [--path uefi|direct] [--cmdline CMDLINE] [--smp N] [--mem SIZE]
           [--build BUILD] [--app NAME] [-- EXTRA-QEMU-ARGS...]

ARCH is x86_64 or aarch64. The serial line is on the terminal, multiplexed
with the QEMU monitor: Ctrl-A X quits, Ctrl-A C switches to the monitor and
back. Without --cmdline the image's own command line is used (cmdline.txt on
the ESP, or none on the direct path); on the uefi path the firmware boots a
temporary copy of BUILD/<arch>/esp.img with the command line written in, so
the build output is never modified. Arguments after `--` go to QEMU as they
are, e.g. `-- -s -S` to wait for gdb on port 1234, or `-- -d int`.

--app NAME boots the image of a program (`make image APP=dir` built it into
BUILD/<arch>/app/NAME/) instead of the default one (the tests and the demo).

Exit status: the kernel's power-off status (0 all tests passed, 1 some test
failed, 2 panic; a program's: what main returned or exit() was given), mapped from QEMU's exit code by tools/qemu.py. When QEMU
carries no status (Ctrl-A X, or a triple fault on x86_64) a note goes to
stderr and the status is 0 (128+N if QEMU died of signal N). QEMU's own
start-up errors exit 1, which on x86_64 is indistinguishable from status 0:
read its message.
"""

import argparse
import os
import shlex
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu  # noqa: E402  (tools/qemu.py, next to this file)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description="Boot the image under QEMU interactively "
                                 "(Ctrl-A X quits).")
    ap.add_argument("arch", choices=qemu.ARCHES)
    ap.add_argument("--path", choices=qemu.PATHS, default="uefi",
                    help="boot through the firmware (uefi, default) or QEMU -kernel (direct)")
    ap.add_argument("--cmdline", default=None, help="kernel command line")
    ap.add_argument("--smp", type=int, default=1, help="number of cores (default 1)")
    ap.add_argument("--mem", default="512M", help="memory size (default 512M)")
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"),
                    help="build directory (default: $BUILD or build)")
    ap.add_argument("--app", default=None, help="boot this program's image (make image APP=dir)")
    args = ap.parse_args(argv)

    image = qemu.image_path(args.build, args.arch, args.path, args.app)
    try:
        cmd, cleanup = qemu.build_cmd(args.arch, args.path, image, args.cmdline,
                                      smp=args.smp, mem=args.mem, interactive=True)
    except qemu.QemuError as e:
        print("run: %s" % e, file=sys.stderr)
        return 2
    cmd += extra
    print("run: %s" % shlex.join(cmd), file=sys.stderr)
    try:
        try:
            proc = subprocess.Popen(cmd)
        except OSError as e:
            print("run: cannot run %s: %s" % (cmd[0], e), file=sys.stderr)
            return 127
        # The terminal is raw while QEMU runs, so Ctrl-C reaches the guest;
        # should a SIGINT still arrive (no tty), let QEMU decide and wait.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        rc = proc.wait()
    finally:
        cleanup()
    status, why = qemu.map_exit(args.arch, rc)
    if status is None:
        print("run: %s" % why, file=sys.stderr)
        return rc if rc > 0 else 0 if rc == 0 else 128 - rc
    program = "tests=" not in (args.cmdline or "")
    print("run: exit status %s" % qemu.describe_status(status, program), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
