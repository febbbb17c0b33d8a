#!/usr/bin/env python3
"""QEMU command lines for the image, in one place.

Every host tool that boots the image (tools/run.py for `make run`,
tools/boottest.py for the boot-test matrix) builds its QEMU command here, so a
flag is fixed once for all of them.

    build_cmd(arch, path, image, cmdline, smp=1, mem="512M", interactive=False,
              exit_device=True)
        -> (argv, cleanup)

arch is "x86_64" or "aarch64"; path is "uefi" (firmware boots the EFI system
partition image BUILD/<arch>/esp.img) or "direct" (QEMU loads the kernel
itself: BUILD/x86_64/kernel.elf through PVH, BUILD/aarch64/Image). For the
uefi path the kernel command line lives in the file cmdline.txt on the ESP, so
build_cmd boots a temporary copy of the image with that file replaced;
cleanup() removes the copy and must be called once QEMU has exited. Copying
also keeps parallel runs apart and keeps the build output unchanged (OVMF
without a flash variable store writes an NvVars file to the ESP).

    map_exit(arch, rc, exit_device=True) -> (status or None, reason)

turns QEMU's exit code into the kernel's power-off status (0 all tests passed,
1 some test failed, 2 panic), see below.

The hosted platform (arch/host) is an arch too, "host", though no QEMU runs
it: its paths are its builds, "native", "asan" and "tsan"
(BUILD/host-sys/gort, gort-asan, gort-tsan), its "QEMU command" is the binary
itself with -smp, -m and the command line as arguments, and its exit status is
the power-off status (3: a sanitizer report, arch/host/sanitizer.c).

Flags checked against QEMU 7.2, OVMF and AAVMF (edk2 2022.11) on Debian 12:
  - `-net none` on both machines: q35 and virt both add a NIC by default, and
    both firmwares then try a network boot (AAVMF prints "Start PXE over IPv4"
    and waits) before the disk.
  - aarch64 uefi: `acpi=off` makes AAVMF install the device tree instead of
    ACPI; `-boot menu=on,splash-time=0` skips the firmware's 5 s wait.
  - `-semihosting` on aarch64 lets the kernel exit with a status (SYS_EXIT);
    without it the `hlt #0xf000` faults.
  - interactive runs use `-nographic -serial mon:stdio` (Ctrl-A X quits,
    Ctrl-A C reaches the monitor); x86 SeaBIOS then also writes to the serial
    line, so output can appear glued in front of the kernel's first line.
"""

import os
import shutil
import struct
import subprocess
import tempfile

ARCHES = ("x86_64", "aarch64")
PATHS = ("uefi", "direct")
# A third way through the firmware: BUILD/<arch>/disk.img (make disk), a GPT disk whose
# EFI system partition holds the same files, attached as a raw disk like the ESP.
DISK_PATH = "disk"

# The hosted platform: builds by path (arch/host/host.mk).
HOST_ARCH = "host"
HOST_PATHS = {"native": "gort", "asan": "gort-asan", "tsan": "gort-tsan"}

QEMU_BIN = {
    "x86_64": "qemu-system-x86_64",
    "aarch64": "qemu-system-aarch64",
}

# Firmware images; the environment may point elsewhere (another edk2 build).
FIRMWARE = {
    "x86_64": os.environ.get("OVMF_FD", "/usr/share/ovmf/OVMF.fd"),
    "aarch64": os.environ.get("AAVMF_FD",
                              "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"),
}

# The meaning of each power-off status, for messages.
STATUS_MEANING = {0: "all tests passed", 1: "some test failed", 2: "panic",
                  3: "sanitizer report (host)"}


class QemuError(Exception):
    """A command line could not be built (missing image, mtools failure)."""


def image_path(build, arch, path, app=None):
    """The build output that `path` boots for `arch`, under the BUILD dir: the
    default image (the tests and the demo), or with `app` the image of the program
    of that name (`make image APP=dir`: BUILD/<arch>/app/<app>/, and hosted
    BUILD/host-sys/app/<app>/<app>[-asan|-tsan])."""
    check_arch_path(arch, path)
    if arch == HOST_ARCH:
        if app:
            return os.path.join(build, "host-sys", "app", app,
                                HOST_PATHS[path].replace("gort", app, 1))
        return os.path.join(build, "host-sys", HOST_PATHS[path])
    if path == "uefi":
        name = "esp.img"
    elif path == DISK_PATH:
        name = "disk.img"
    else:
        name = "kernel.elf" if arch == "x86_64" else "Image"
    if app:
        return os.path.join(build, arch, "app", app, name)
    return os.path.join(build, arch, name)


def check_arch_path(arch, path):
    if arch == HOST_ARCH:
        if path not in HOST_PATHS:
            raise QemuError("unknown host build %r (want one of %s)" % (path, ", ".join(HOST_PATHS)))
        return
    if arch not in ARCHES:
        raise QemuError("unknown arch %r (want one of %s)" % (arch, ", ".join(ARCHES + (HOST_ARCH,))))
    if path not in PATHS + (DISK_PATH,):
        raise QemuError("unknown boot path %r (want one of %s)"
                        % (path, ", ".join(PATHS + (DISK_PATH,))))


def build_cmd(arch, path, image, cmdline, smp=1, mem="512M", interactive=False,
              exit_device=True):
    """Return (argv, cleanup) to boot `image` on `arch` through `path`.

    cmdline None leaves the command line alone: the ESP's own cmdline.txt on
    the uefi path, no -append on the direct path. Raises QemuError when the
    image is missing or the command line cannot be written into the copy.
    """
    check_arch_path(arch, path)
    if not os.path.isfile(image):
        raise QemuError("missing image %s (run make first?)" % image)

    if arch == HOST_ARCH:
        argv = [image, "-smp", str(smp), "-m", str(mem), "--"]
        if cmdline is not None:
            argv.append(cmdline)
        return argv, lambda: None

    argv = [QEMU_BIN[arch]]
    if arch == "x86_64":
        argv += ["-machine", "q35"]
    elif path != "direct":
        argv += ["-machine", "virt,gic-version=3,acpi=off", "-cpu", "cortex-a72"]
    else:
        argv += ["-machine", "virt,gic-version=3", "-cpu", "cortex-a72"]
    argv += ["-m", str(mem), "-smp", str(smp)]
    if path != "direct":
        argv += ["-bios", FIRMWARE[arch]]
        if arch == "aarch64":
            argv += ["-boot", "menu=on,splash-time=0"]
    if arch == "aarch64" and exit_device:
        argv += ["-semihosting"]
    argv += ["-net", "none", "-no-reboot"]
    if interactive:
        argv += ["-nographic", "-serial", "mon:stdio"]
    else:
        argv += ["-display", "none", "-serial", "stdio", "-monitor", "none"]
    if arch == "x86_64" and exit_device:
        argv += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]

    if path == "direct":
        argv += ["-kernel", image]
        if cmdline is not None:
            argv += ["-append", cmdline]
        return argv, lambda: None

    tmpdir = tempfile.mkdtemp(prefix="qemu-esp-")

    def cleanup():
        shutil.rmtree(tmpdir, ignore_errors=True)

    try:
        copy = os.path.join(tmpdir, "esp.img")
        shutil.copyfile(image, copy)
        if cmdline is not None:
            inject_cmdline(copy, cmdline, tmpdir)
    except Exception:
        cleanup()
        raise
    if arch == "x86_64":
        argv += ["-drive", "format=raw,file=" + copy]
    else:
        argv += ["-drive", "if=none,format=raw,file=%s,id=esp" % copy,
                 "-device", "virtio-blk-device,drive=esp"]
    return argv, cleanup


def inject_cmdline(img, cmdline, tmpdir):
    """Replace ::cmdline.txt on the FAT image `img` with `cmdline`.

    The file is written without a trailing newline, so a loader that trims
    whitespace and one that does not read the same command line.
    """
    src = os.path.join(tmpdir, "cmdline.txt")
    with open(src, "w") as f:
        f.write(cmdline)
    target = "%s@@%d" % (img, fat_offset(img))
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    try:
        res = subprocess.run(["mcopy", "-o", "-i", target, src, "::cmdline.txt"],
                             env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    except OSError as e:
        raise QemuError("cannot run mcopy (install mtools): %s" % e)
    if res.returncode != 0:
        raise QemuError("mcopy into %s failed: %s" % (img, res.stdout.strip()))


# EFI System Partition type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as stored on disk.
ESP_GUID = bytes.fromhex("28732ac11ff8d211ba4b00a0c93ec93b")


def fat_offset(img):
    """Byte offset of the FAT file system inside `img`.

    0 for a bare FAT image ("superfloppy"); otherwise the EFI system partition
    (or the first partition) of an MBR or GPT disk, 512-byte sectors.
    """
    with open(img, "rb") as f:
        head = f.read(1024)
    if len(head) < 1024 or head[510:512] != b"\x55\xaa":
        return 0
    if head[0] in (0xEB, 0xE9) and (head[0x36:0x39] == b"FAT" or head[0x52:0x55] == b"FAT"):
        return 0  # a FAT boot sector, not a partition table
    entries = [head[0x1BE + 16 * i:0x1BE + 16 * (i + 1)] for i in range(4)]
    if any(e[4] == 0xEE for e in entries):
        return gpt_esp_offset(img, head[512:1024])
    used = [e for e in entries if e[4] != 0]
    if not used:
        return 0
    esp = [e for e in used if e[4] == 0xEF]
    lba = struct.unpack_from("<I", (esp or used)[0], 8)[0]
    return lba * 512


def gpt_esp_offset(img, hdr):
    if hdr[0:8] != b"EFI PART":
        raise QemuError("%s: protective MBR without a GPT header" % img)
    entries_lba, count, size = struct.unpack_from("<QII", hdr, 72)
    with open(img, "rb") as f:
        f.seek(entries_lba * 512)
        table = f.read(count * size)
    first = None
    for i in range(count):
        e = table[i * size:(i + 1) * size]
        if len(e) < 48 or e[0:16] == bytes(16):
            continue
        lba = struct.unpack_from("<Q", e, 32)[0]
        if e[0:16] == ESP_GUID:
            return lba * 512
        if first is None:
            first = lba
    if first is None:
        raise QemuError("%s: GPT without partitions" % img)
    return first * 512


def map_exit(arch, rc, exit_device=True):
    """Map QEMU's exit code `rc` to the kernel's power-off status.

    Returns (status, None), or (None, reason) when QEMU did not carry one.
    x86_64: isa-debug-exit makes QEMU exit with (v << 1) | 1, so an odd rc
    gives v = rc >> 1; an even rc means QEMU stopped without the device (a
    triple fault becomes a shutdown under -no-reboot, or QEMU itself failed).
    aarch64: semihosting SYS_EXIT gives rc = v; PSCI SYSTEM_OFF gives 0,
    which the caller accepts as 0 only next to a clean summary line.
    host: the process's exit status is v.
    A negative rc is death by a signal (the runner's timeout kill).
    Without the exit device (build_cmd's exit_device False: no isa-debug-exit,
    no semihosting) the kernel powers the machine off itself (ACPI S5, PSCI
    SYSTEM_OFF) and QEMU exits with 0, which carries no status: 0 is taken as
    0 (the caller requires a clean summary with it), anything else is a failure.
    """
    if rc is None:
        return None, "qemu did not exit"
    if rc < 0:
        return None, "qemu killed by signal %d" % -rc
    if not exit_device:
        if rc == 0:
            return 0, None
        return None, ("qemu exit code %d without its exit device (the kernel's own "
                      "power-off gives 0)" % rc)
    if arch == "x86_64":
        if rc & 1:
            return rc >> 1, None
        return None, "no exit status (triple fault or reset?) (qemu exit code %d)" % rc
    return rc, None


PROGRAM_STATUS_MEANING = {0: "success", 2: "panic, or the program's own 2",
                          3: "sanitizer report (host)"}


def describe_status(v, program=False):
    """'2 (panic)' for messages; program: the status of a program's run, where
    anything but 0 is what the program returned, but for a panic's 2."""
    meaning = (PROGRAM_STATUS_MEANING if program else STATUS_MEANING).get(v)
    return "%d (%s)" % (v, meaning) if meaning else str(v)
