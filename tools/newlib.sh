#!/usr/bin/env bash
# tools/newlib.sh ARCH OUT: build newlib for ARCH (x86_64 | aarch64) from Debian's
# newlib-source tarball into OUT (OUT/include, OUT/lib/libc.a, libm.a).
# Cached: a stamp file records the tarball and flags; a second run does nothing.
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
want="$(sha256sum "$tarball" | cut -c1-16) $cflags retargetable-locking"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
echo "newlib: building for $arch (about a minute; cached afterwards)"
rm -rf "$out"; mkdir -p "$out/src" "$out/obj"
tar -C "$out/src" -xJf "$tarball" --strip-components=1
ccinc="-nostdinc -isystem $($cc -print-file-name=include)"
( cd "$out/obj" && ../src/configure --target=$target --prefix="$out/install" \
    --disable-multilib --disable-newlib-supplied-syscalls --disable-nls \
    --enable-newlib-retargetable-locking --enable-newlib-reent-small=no \
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
rm -rf "$out/src" "$out/obj" "$out/install"
echo "$want" >"$stamp"
echo "newlib: $arch done"
