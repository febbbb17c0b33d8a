#!/usr/bin/env bash
# tools/newlib.sh ARCH OUT: build newlib for ARCH (x86_64 | aarch64) from Debian's
# newlib-source tarball into OUT (OUT/include, OUT/lib/libc.a, libm.a).
# Cached: a stamp file records the tarball, flags and options; a second run does nothing,
# and a changed line below (the stamp differs) rebuilds (the Makefile also rebuilds when
# this script is newer than the stamp).
#
# Threads (kernel/libc_state.c, kernel/newlib_lock.c): built with __DYNAMIC_REENT__ so
# newlib asks __getreent() for the running flow's struct _reent (the kernel returns the
# goroutine's), retargetable locks (the kernel's goroutine-aware locks), and stdin,
# stdout, stderr and the atexit list global rather than in every reent: one stdout
# whose FILE lock every goroutine shares, and a smaller reent per goroutine. The define
# is also appended to the installed newlib.h so the kernel sees the same _REENT.
set -eu
arch=${1:?arch}; out=${2:?out dir}
mkdir -p "$out"; out=$(cd "$out" && pwd)
tarball=/usr/src/newlib/newlib-3.3.0.tar.xz
[ -f "$tarball" ] || { echo "newlib: $tarball missing (tools/deps.sh installs newlib-source)" >&2; exit 1; }
case $arch in
  x86_64)  target=x86_64-elf;  cc=gcc; binpfx="";
           cflags="-O2 -g -ffreestanding -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mno-red-zone -mcmodel=kernel -fno-pic -fno-stack-protector" ;;
  aarch64) target=aarch64-elf; cc=aarch64-linux-gnu-gcc; binpfx=aarch64-linux-gnu-;
           cflags="-O2 -g -ffreestanding -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-pic -fno-stack-protector -mstrict-align" ;;
  *) echo "newlib: unknown arch $arch" >&2; exit 1 ;;
esac
stamp="$out/.stamp"
cflags="$cflags -D__DYNAMIC_REENT__"
want="$(sha256sum "$tarball" | cut -c1-16) $cflags retargetable-locking global-stdio-streams global-atexit"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  [ "$stamp" -nt "$0" ] || touch "$stamp"	# up to date: say so to make
  exit 0
fi
echo "newlib: building for $arch (about a minute; cached afterwards)"
rm -rf "$out"; mkdir -p "$out/src" "$out/obj"
tar -C "$out/src" -xJf "$tarball" --strip-components=1
ccinc="-nostdinc -isystem $($cc -print-file-name=include)"
( cd "$out/obj" && ../src/configure --target=$target --prefix="$out/install" \
    --disable-multilib --disable-newlib-supplied-syscalls --disable-nls \
    --enable-newlib-retargetable-locking --enable-newlib-reent-small=no \
    --enable-newlib-global-stdio-streams --enable-newlib-global-atexit \
    --disable-newlib-fvwrite-in-streamio --enable-newlib-io-long-long \
    --enable-newlib-io-c99-formats \
    CC_FOR_TARGET="$cc $ccinc" CFLAGS_FOR_TARGET="$cflags" \
    AR_FOR_TARGET=${binpfx}ar AS_FOR_TARGET=${binpfx}as LD_FOR_TARGET=${binpfx}ld \
    NM_FOR_TARGET=${binpfx}nm RANLIB_FOR_TARGET=${binpfx}ranlib \
    OBJDUMP_FOR_TARGET=${binpfx}objdump >"$out/configure.log" 2>&1 ) \
  || { echo "newlib: configure failed, see $out/configure.log" >&2; exit 1; }
make -C "$out/obj" -j"$(nproc)" all-target-newlib MAKEINFO=true >"$out/build.log" 2>&1 \
  || { echo "newlib: build failed, see $out/build.log" >&2; tail -20 "$out/build.log" >&2; exit 1; }
make -C "$out/obj" install-target-newlib MAKEINFO=true >>"$out/build.log" 2>&1 \
  || { echo "newlib: install failed, see $out/build.log" >&2; exit 1; }
rm -rf "$out/include" "$out/lib"
cp -r "$out/install/$target/include" "$out/include"
cp -r "$out/install/$target/lib" "$out/lib"
printf '\n/* tools/newlib.sh: the library was built with it; _REENT is __getreent() */\n#ifndef __DYNAMIC_REENT__\n#define __DYNAMIC_REENT__\n#endif\n' >>"$out/include/newlib.h"
rm -rf "$out/src" "$out/obj" "$out/install"
echo "$want" >"$stamp"
echo "newlib: $arch done"
