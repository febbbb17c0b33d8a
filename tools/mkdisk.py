#!/usr/bin/env python3
"""Wrap a FAT file system image into a GPT disk image with one EFI system partition.

Usage:
    mkdisk.py PARTITION.img DISK.img

The disk is what `dd` writes to a USB stick or an SD card: a protective MBR, the
primary GPT (header at LBA 1, 128 entries of 128 bytes from LBA 2), the EFI system
partition from LBA 2048 (1 MiB aligned) holding PARTITION.img byte for byte, 1 MiB of
slack, and the backup GPT (entries, then the header in the last LBA). 512-byte
sectors. The disk and partition GUIDs are derived from the partition's contents
(uuid5), so the same input makes the same disk.

Exit status 0, or 1 with a message naming the problem (a partition image that is
empty or not a whole number of sectors).
"""

import hashlib
import os
import struct
import sys
import uuid
import zlib

SECTOR = 512
ALIGN = 2048                # the partition's first LBA: 1 MiB
ENTRIES, ENTRY_SIZE = 128, 128
ENTRY_SECTORS = ENTRIES * ENTRY_SIZE // SECTOR   # 32
# EFI System Partition type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B
ESP_TYPE = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
NAMESPACE = uuid.UUID("5a0b6e8e-3f1e-4d43-9c58-6f72742d6469")


def header(my_lba, alt_lba, first, last, disk_guid, entries_lba, entries_crc):
    h = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x00010000, 92, 0, 0,
                    my_lba, alt_lba, first, last, disk_guid.bytes_le, entries_lba,
                    ENTRIES, ENTRY_SIZE, entries_crc)
    h = h[:16] + struct.pack("<I", zlib.crc32(h) & 0xffffffff) + h[20:]
    return h + bytes(SECTOR - len(h))


def make_disk(part):
    if not part or len(part) % SECTOR:
        raise ValueError("the partition image is %d bytes, not a whole number of %d-byte "
                         "sectors" % (len(part), SECTOR))
    part_sectors = len(part) // SECTOR
    total = ALIGN + part_sectors + ALIGN                  # slack and the backup GPT at the end
    last = total - 1
    first_usable, last_usable = 2 + ENTRY_SECTORS, last - 1 - ENTRY_SECTORS
    digest = hashlib.sha256(part).hexdigest()
    disk_guid = uuid.uuid5(NAMESPACE, "disk " + digest)
    part_guid = uuid.uuid5(NAMESPACE, "esp " + digest)

    entry = struct.pack("<16s16sQQQ72s", ESP_TYPE.bytes_le, part_guid.bytes_le, ALIGN,
                        ALIGN + part_sectors - 1, 0, "EFI system partition".encode("utf-16-le"))
    entries = entry + bytes(ENTRIES * ENTRY_SIZE - len(entry))
    ecrc = zlib.crc32(entries) & 0xffffffff

    mbr = bytearray(SECTOR)
    mbr[0x1BE:0x1CE] = struct.pack("<B3sB3sII", 0, b"\x00\x02\x00", 0xEE, b"\xff\xff\xff", 1,
                                   min(total - 1, 0xffffffff))
    mbr[510:512] = b"\x55\xaa"

    disk = bytearray(total * SECTOR)
    disk[0:SECTOR] = mbr
    disk[SECTOR:2 * SECTOR] = header(1, last, first_usable, last_usable, disk_guid, 2, ecrc)
    disk[2 * SECTOR:(2 + ENTRY_SECTORS) * SECTOR] = entries
    disk[ALIGN * SECTOR:ALIGN * SECTOR + len(part)] = part
    backup_entries = last - ENTRY_SECTORS
    disk[backup_entries * SECTOR:last * SECTOR] = entries
    disk[last * SECTOR:] = header(last, 1, first_usable, last_usable, disk_guid,
                                  backup_entries, ecrc)
    return bytes(disk)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[0], "rb") as f:
            disk = make_disk(f.read())
        with open(argv[1] + ".tmp", "wb") as f:
            f.write(disk)
    except (OSError, ValueError) as e:
        print("mkdisk: %s: %s" % (argv[0], e), file=sys.stderr)
        return 1
    os.replace(argv[1] + ".tmp", argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
