#!/usr/bin/env python3
"""tools/ksyms.py NM-OUTPUT OUT.S: the kernel's symbol table as assembly.

Reads `nm -n --defined-only kernel.elf` output, keeps text symbols (T, t, W, w),
and writes the .ksyms section that kernel/ksyms.c searches: ksyms_count, the sorted
address array, name offsets and the NUL-separated names. Run between the two links
of the kernel (the Makefile does); with no input symbols it writes an empty table.
"""
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    syms = {}
    with open(src) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or parts[1] not in "TtWw":
                continue
            addr, name = int(parts[0], 16), parts[2]
            if name.startswith(".L") or name.startswith("$"):
                continue
            syms.setdefault(addr, name)   # first name at an address wins
    entries = sorted(syms.items())
    lines = ['\t.section .ksyms, "a"', "\t.p2align 3",
             "\t.globl ksyms_count, ksyms_addrs, ksyms_offs, ksyms_names",
             "ksyms_count:", "\t.quad %d" % len(entries), "ksyms_addrs:"]
    lines += ["\t.quad 0x%x" % a for a, _ in entries]
    lines.append("ksyms_offs:")
    off = 0
    for _, name in entries:
        lines.append("\t.long %d" % off)
        off += len(name) + 1
    lines.append("ksyms_names:")
    lines += ['\t.asciz "%s"' % name for _, name in entries]
    lines.append("\t.byte 0")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
