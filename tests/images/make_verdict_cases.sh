#!/usr/bin/env bash
# Makes images covering every verdict and writes OUTDIR/expected.tsv, one line
# per image:  name <TAB> expected `imgtool check` exit code
# (0 clean, 1 unreadable, 2 corrupt, 3 leaks, 4 unsafe; tools/exit_codes.hpp).
# Valid images of every format, the files an image may name (beside it or
# not, named like a VMware extent or not), Glance's rules, and the headers that
# must be refused. Used by tests/cli/parity_test.sh.
# Usage: tests/images/make_verdict_cases.sh OUTDIR
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
cd "$out"
tsv=expected.tsv
: >"$tsv"
expect() { printf '%s\t%s\n' "$1" "$2" >>"$tsv"; }
q() { qemu-img "$@" >/dev/null; }
io() { qemu-io "$@" >/dev/null; }
poke() {  # file offset python-bytes-literal
  /usr/bin/python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2], 0)); f.write(eval(sys.argv[3])); f.close()' "$1" "$2" "$3"
}

# ---- valid images: clean ------------------------------------------------------
head -c 1048576 /dev/urandom >data.raw
expect data.raw 0
q create -f qcow2 -o compat=0.10 v2.qcow2 8M
expect v2.qcow2 0
q convert -f raw -O qcow2 data.raw v3.qcow2
io -f qcow2 -c 'write -z 0 64k' v3.qcow2
q snapshot -c snap1 v3.qcow2
expect v3.qcow2 0
q convert -f raw -O qcow2 -c data.raw zlib.qcow2
expect zlib.qcow2 0
q convert -f raw -O qcow2 -o extended_l2=on,cluster_size=128k data.raw extl2.qcow2
expect extl2.qcow2 0
q convert -f raw -O vmdk data.raw sparse.vmdk
expect sparse.vmdk 0
q convert -f raw -O vmdk -o subformat=streamOptimized data.raw stream.vmdk
expect stream.vmdk 0
q create -f vpc dyn.vhd 4M
expect dyn.vhd 0
q create -f vhdx x.vhdx 4M
expect x.vhdx 0
q create -f vdi v.vdi 4M
expect v.vdi 0
mkdir -p tree && echo hi >tree/a
genisoimage -quiet -o cd.iso tree
rm -rf tree
expect cd.iso 0

# ---- files named inside an image ----------------------------------------------
# A descriptor with its extent beside it, named like VMware's: read by default.
q create -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
expect flat.vmdk 0
# The same with an extent of another name: unsafe (--allow-external-files admits it).
printf 'secret' >secret.txt
printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "secret.txt" 0\n' >named-secret.vmdk
expect named-secret.vmdk 4
printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n' >abs-extent.vmdk
expect abs-extent.vmdk 4
q create -f qcow2 base.qcow2 4M
expect base.qcow2 0
q create -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2 4M
expect overlay.qcow2 4
q create -f qcow2 -u -b /etc/hostname -F raw hostfile.qcow2 4M
expect hostfile.qcow2 4
(q create -f qcow2 -o data_file=ext.data ext.qcow2 1M)
expect ext.qcow2 4
q create -f vmdk -b sparse.vmdk -F vmdk child.vmdk
expect child.vmdk 4
q create -f qed base.qed 4M
expect base.qed 4  # Glance bans qed
# A differencing VDI (image type 4 at 0x4c).
cp v.vdi diff.vdi
poke diff.vdi 0x4c 'b"\x04\x00\x00\x00"'
expect diff.vdi 4
# A differencing VHD (disk type 4 at 60 of the footer, checksum fixed).
q create -f vpc diffsrc.vhd 4M
/usr/bin/python3 - diffsrc.vhd diff.vhd <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
for base in (0, len(d) - 512):
    struct.pack_into('>I', d, base + 60, 4)
    struct.pack_into('>I', d, base + 64, 0)
    struct.pack_into('>I', d, base + 64, ~sum(d[base:base + 512]) & 0xffffffff)
open(sys.argv[2], 'wb').write(d)
EOF
rm diffsrc.vhd
expect diff.vhd 4

# ---- Glance's rules and several formats at once --------------------------------
# 1 MiB raw with an MBR signature and a boot flag but no partitions.
truncate -s 1M mbr-empty.raw
poke mbr-empty.raw 446 'b"\x80"'
poke mbr-empty.raw 510 'b"\x55\xaa"'
expect mbr-empty.raw 4
cp cd.iso qcow2-in-iso.iso
head -c 512 v2.qcow2 | dd of=qcow2-in-iso.iso conv=notrunc status=none
expect qcow2-in-iso.iso 4

# ---- not disk images ------------------------------------------------------------
# Compressed and packaged images: every command reads the disk image inside
# (docs/sources.md), so the verdict is the inner image's.
gzip -c v2.qcow2 >v2.qcow2.gz
expect v2.qcow2.gz 0
xz -c v2.qcow2 >v2.qcow2.xz
expect v2.qcow2.xz 0
bzip2 -c data.raw >data.raw.bz2
expect data.raw.bz2 0
zstd -q -c v2.qcow2 >v2.qcow2.zst
expect v2.qcow2.zst 0
# ... a backing file stays a backing file under a compression layer (and the
# stream has no directory to look for it in).
gzip -c hostfile.qcow2 >hostfile.qcow2.gz
expect hostfile.qcow2.gz 4
# An OVA whose OVF lists no disk: unreadable (1), not guessed.
printf '<Envelope/>\n' >disk.ovf
tar -cf appliance.ova disk.ovf stream.vmdk
expect appliance.ova 1

# ---- headers that must be refused -------------------------------------------------
: >empty.img
expect empty.img 1
cp v2.qcow2 v1.qcow2
poke v1.qcow2 4 'b"\x00\x00\x00\x01"'  # qcow version 1
expect v1.qcow2 1
cp v3.qcow2 luks-no-fde.qcow2
poke luks-no-fde.qcow2 32 'b"\x00\x00\x00\x02"'  # crypt_method LUKS, no FDE header extension
expect luks-no-fde.qcow2 1
cp sparse.vmdk cowd.vmdk
poke cowd.vmdk 0 'b"COWD"'  # VMDK3 magic in front of a sparse extent header
expect cowd.vmdk 1

# ---- corrupt -------------------------------------------------------------------------
# A cut download: the last data clusters are past EOF.
q convert -f raw -O qcow2 data.raw cut.qcow2
truncate -s $(($(stat -c %s cut.qcow2) - 65536)) cut.qcow2
expect cut.qcow2 2
cp v3.qcow2 refcount0.qcow2
# The first refcount block sits at 0x20000 in a qemu-made image; clear the
# header cluster's refcount so the header is in use but counted 0.
poke refcount0.qcow2 0x20000 'b"\x00\x00"'
expect refcount0.qcow2 2
