#!/usr/bin/env bash
# tools/deps.sh: install the Debian packages this project builds and tests with.
#
# Called by `make run` and `make test` before anything else; does nothing when every
# package is already installed (checked with dpkg-query, no network).
#
#   tools/deps.sh          what building, running and testing need
#   tools/deps.sh bench    that, plus what only `make bench` needs (golang-go: the Go
#                          peers of the goroutine benchmarks, tools/gobench.py, and
#                          of the collector benchmarks, tools/gcbench.py; libgc-dev:
#                          the Boehm peers of the collector benchmarks), so that
#                          `make test` on a fresh machine does not install them
#
# What it installs and why:
#   qemu-system-x86 qemu-system-arm   the emulators the images boot in
#   ovmf qemu-efi-aarch64             UEFI firmware (OVMF for x86-64, AAVMF for aarch64)
#   gnu-efi                           headers, crt0 and libraries for the x86-64 UEFI loader
#   gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu   the aarch64 cross compiler
#   mtools dosfstools                 to build the FAT EFI system partition image
#   newlib-source                     newlib's source, built into build/ by tools/newlib.sh
#   clang lld                         libFuzzer for the parser fuzzers
#   python3                           the boot-test runner
#   gdb-multiarch                     make debug, and the test of its goroutine commands
#   libgc-dev                         the Boehm collector: tests/boehm's programs are built
#                                     against it too and must print the same (make test),
#                                     and it is the peer of tests/bench/boehm (make bench)
#   golang-go (bench only)            the Go compiler for tests/bench/go
# The aarch64 GNU-EFI files are not installed system-wide (they clash with the amd64
# package); tools/gnuefi-aarch64.sh unpacks them into build/.
set -eu
pkgs="qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 gnu-efi gcc-aarch64-linux-gnu
binutils-aarch64-linux-gnu mtools dosfstools newlib-source clang lld python3 make gcc libgc-dev gdb-multiarch"
case "${1:-}" in
  "") ;;
  bench) pkgs="$pkgs golang-go" ;;
  *) echo "usage: tools/deps.sh [bench]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo
  else
    echo "deps: not root and no password-less sudo. Install them yourself, then rerun:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
  fi
else SUDO=""; fi
echo "deps: installing them with apt-get (about 600 MB)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
