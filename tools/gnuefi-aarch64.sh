#!/usr/bin/env bash
# tools/gnuefi-aarch64.sh OUT: the arm64 GNU-EFI headers, crt0, linker script and
# libraries, unpacked into OUT (not installed: the arm64 package clashes with the amd64
# one). Downloads the Debian package gnu-efi:arm64 with apt-get (enabling the arm64
# architecture in dpkg if needed; needs root or password-less sudo for that step only).
# Cached: does nothing when OUT already has the files.
set -eu
out=${1:?out dir}
[ -f "$out/usr/lib/elf_aarch64_efi.lds" ] && [ -f "$out/usr/lib/libgnuefi.a" ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "gnuefi-aarch64: enabling the arm64 package architecture (dpkg --add-architecture arm64)"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get download -q gnu-efi:arm64 >/dev/null 2>&1 ) || {
  $SUDO apt-get update -qq
  ( cd "$tmp" && apt-get download -q gnu-efi:arm64 >/dev/null )
} || { echo "gnuefi-aarch64: apt-get download gnu-efi:arm64 failed" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"
dpkg -x "$tmp"/gnu-efi_*_arm64.deb "$out"
[ -f "$out/usr/lib/elf_aarch64_efi.lds" ] || { echo "gnuefi-aarch64: package lacks elf_aarch64_efi.lds" >&2; exit 1; }
echo "gnuefi-aarch64: unpacked into $out"
