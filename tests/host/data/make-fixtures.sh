#!/bin/sh
# tests/host/data/make-fixtures.sh: regenerate the firmware tables that
# tests/host/test_fdt.c, tests/host/test_acpi.c and tests/fuzz/corpus/fdt read.
# Needs qemu-system-aarch64, qemu-system-x86_64, OVMF, dtc and python3 (Debian:
# qemu-system-arm qemu-system-x86 ovmf device-tree-compiler python3). Run from the
# top of the tree; it takes about 30 seconds.
#
# Device trees: QEMU virt dumps its own (dumpdtb); dtc re-serialises them only to
# drop QEMU's 1 MiB padding. rng-seed and kaslr-seed change on every run, nothing
# the tests read does.
#
# ACPI: QEMU q35 with SeaBIOS (RSDP revision 0, RSDT) and with OVMF (revision 2,
# XSDT) is left without a disk for a few seconds, its RAM is saved through the
# monitor (pmemsave), and the RSDP, root tables and every table they list are cut
# out into a segment file, with the DSDT the FADT points to: records of {u64 base,
# u64 length, bytes}, little endian, the RSDP first.
set -eu
d=tests/host/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: > "$tmp/kernel"
qemu-system-aarch64 -machine virt,gic-version=3,dumpdtb="$tmp/v3.dtb" -cpu cortex-a72 \
	-smp 4 -m 512M -nographic -kernel "$tmp/kernel" -append "tests=all console=ttyAMA0"
qemu-system-aarch64 -machine virt,gic-version=2,dumpdtb="$tmp/v2.dtb" -cpu cortex-a72 \
	-smp 4 -m 512M -nographic
dtc -q -I dtb -O dtb -o "$d/qemu-virt-gicv3.dtb" "$tmp/v3.dtb"
dtc -q -I dtb -O dtb -o "$d/qemu-virt-gicv2.dtb" "$tmp/v2.dtb"
dtc -q -I dts -O dtb -o "$d/synthetic.dtb" "$d/synthetic.dts"

# ACPI: dump RAM after the firmware has installed its tables.
dump_ram() {	# $1 = output file, $2 = seconds to wait, $3 = RAM size, rest = QEMU options
	out=$1 wait=$2 size=$3
	shift 3
	(sleep "$wait"; echo "pmemsave 0 $size \"$out\""; sleep 3; echo quit) |
		qemu-system-x86_64 -machine q35 -smp 4 -display none -serial none \
			-monitor stdio -net none "$@" > /dev/null
}
dump_ram "$tmp/seabios.ram" 3 0x4000000 -m 64M
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
dump_ram "$tmp/ovmf.ram" 12 0x10000000 -m 256M \
	-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
	-drive if=pflash,format=raw,file="$tmp/vars.fd"
cat > "$tmp/extract.py" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
# The newest valid RSDP (UEFI firmware keeps a 1.0 and a 2.0 copy).
found, i = None, 0
while True:
    i = d.find(b'RSD PTR ', i)
    if i < 0:
        break
    if sum(d[i:i + 20]) & 0xff == 0 and (found is None or d[i + 15] > d[found + 15]):
        if d[i + 15] < 2 or sum(d[i:i + struct.unpack_from('<I', d, i + 20)[0]]) & 0xff == 0:
            found = i
    i += 1
assert found is not None, 'no RSDP'
r, rev = found, d[found + 15]
segs = [(r, 36 if rev >= 2 else 20)]
roots = [(struct.unpack_from('<I', d, r + 16)[0], 4)]
if rev >= 2:
    roots.append((struct.unpack_from('<Q', d, r + 24)[0], 8))
for base, esz in roots:
    if base == 0:
        continue
    n = struct.unpack_from('<I', d, base + 4)[0]
    segs.append((base, n))
    for k in range((n - 36) // esz):
        a = struct.unpack_from('<Q' if esz == 8 else '<I', d, base + 36 + esz * k)[0]
        segs.append((a, struct.unpack_from('<I', d, a + 4)[0]))
# The FADT's DSDT too (X_DSDT when set): the parser reads its \_S5.
for base, n in list(segs[1:]):
    if d[base:base + 4] == b'FACP':
        a = struct.unpack_from('<Q', d, base + 140)[0] if n >= 148 else 0
        a = a or struct.unpack_from('<I', d, base + 40)[0]
        if a:
            segs.append((a, struct.unpack_from('<I', d, a + 4)[0]))
segs = segs[:1] + sorted(set(segs[1:]) - {segs[0]})
with open(sys.argv[2], 'wb') as f:
    for base, n in segs:
        f.write(struct.pack('<QQ', base, n) + d[base:base + n])
PY
python3 "$tmp/extract.py" "$tmp/seabios.ram" "$d/q35-seabios.acpi"
python3 "$tmp/extract.py" "$tmp/ovmf.ram" "$d/q35-ovmf.acpi"

mkdir -p tests/fuzz/corpus/fdt
cp "$d/qemu-virt-gicv3.dtb" "$d/qemu-virt-gicv2.dtb" "$d/synthetic.dtb" tests/fuzz/corpus/fdt/
