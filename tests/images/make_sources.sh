#!/usr/bin/env bash
# Compressed and packaged images for the source layer's tests
# (tests/sources/decompress_test.cpp, packaged_disk_test.cpp), made with the
# real tools. Idempotent; byte-for-byte the same on every run except the
# vmdks and what holds them (qemu-img gives a streamOptimized vmdk a random CID).
#   base.qcow2               64 MiB virtual, 3.5 MiB of patterned data and 3 MiB of noise (qemu-img, qemu-io)
#   base.raw                 the same disk, raw (64 MiB)
#   stream.vmdk              the same disk, streamOptimized vmdk
#   small.qcow2, small.vmdk  a second disk: 32 MiB virtual, 1 MiB of data
#   base.qcow2.{gz,xz,bz2,zst}   one member/stream/frame each
#   multi.raw.{gz,xz,bz2,zst}    base.raw in three members/streams/frames (split -n 3; the
#                            xz with 4 and 8 bytes of stream padding between them)
#   trailing.{gz,xz,bz2,zst}     base.qcow2 compressed, then "trailing garbage\n"
#   truncated.xz             base.qcow2.xz cut in the middle
#   corrupt.gz               base.qcow2.gz with 16 bytes in its middle overwritten
#   zeros512.xz              512 MiB of zeros, xz -1
#   disk.ova                 disk.ovf (64 MiB, streamOptimized) then disk.vmdk
#   two-disks.ova            two.ovf naming disk1.vmdk and disk2.vmdk, a manifest, both disks
#   wrong-capacity.ova       as disk.ova, the OVF declaring 128 MiB
#   plain.tar                GNU tar: ./ and ./base.qcow2
#   two-files.tar            GNU tar: base.qcow2, small.qcow2
#   disk.ova.gz              disk.ova, gzip-compressed
#   long-name.tar            pax tar: one qcow2 under a 150-character path
#   dotdot.tar               one member named ../x
#   bad-checksum.tar         plain.tar with a byte of its second header changed
# Usage: tests/images/make_sources.sh OUTDIR
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
for tool in qemu-img qemu-io gzip xz bzip2 zstd tar /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "make_sources.sh: $tool not found (scripts/deps.sh test)" >&2; exit 1; }
done
mkdir -p "$out"
cd "$out"
rm -rf -- stage ./*.qcow2 ./*.raw ./*.vmdk ./*.gz ./*.xz ./*.bz2 ./*.zst ./*.ova ./*.tar ./*.ova.gz ./*.ovf ./*.mf ./part.* noise.bin

# ---- the disks -------------------------------------------------------------
# 3 MiB of deterministic noise (SHA-256 in counter mode): compressed, it
# still spans several of the decompressor's 1 MiB input buffers.
/usr/bin/python3 -c '
import hashlib, sys
sys.stdout.buffer.write(b"".join(hashlib.sha256(i.to_bytes(8, "little")).digest() for i in range(3 << 15)))' >noise.bin
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x5a 0 2M' -c 'write -s noise.bin 8M 3M' -c 'write -P 0xa5 16M 1M' \
  -c 'write -P 0x3c 40M 512k' base.qcow2 >/dev/null
rm -f noise.bin
qemu-img convert -O raw base.qcow2 base.raw
qemu-img convert -O vmdk -o subformat=streamOptimized base.qcow2 stream.vmdk
qemu-img create -q -f qcow2 small.qcow2 32M
qemu-io -f qcow2 -c 'write -P 0x11 1M 1M' small.qcow2 >/dev/null
qemu-img convert -O vmdk -o subformat=streamOptimized small.qcow2 small.vmdk

# ---- compressed ------------------------------------------------------------
gzip -9n -c base.qcow2 >base.qcow2.gz
xz -6 -T1 -c base.qcow2 >base.qcow2.xz
bzip2 -9 -c base.qcow2 >base.qcow2.bz2
zstd -q -19 -c <base.qcow2 >base.qcow2.zst

split -n 3 -d -a 1 base.raw part.
gzip -n -c part.0 >multi.raw.gz && gzip -n -c part.1 >>multi.raw.gz && gzip -n -c part.2 >>multi.raw.gz
{ xz -1 -T1 -c part.0; head -c 4 /dev/zero; xz -1 -T1 -c part.1; head -c 8 /dev/zero; xz -1 -T1 -c part.2; } >multi.raw.xz
bzip2 -c part.0 >multi.raw.bz2 && bzip2 -c part.1 >>multi.raw.bz2 && bzip2 -c part.2 >>multi.raw.bz2
for p in part.0 part.1 part.2; do zstd -q -c <"$p"; done >multi.raw.zst
rm -f part.*

for ext in gz xz bz2 zst; do
  { cat "base.qcow2.$ext"; printf 'trailing garbage\n'; } >"trailing.$ext"
done
size=$(stat -c %s base.qcow2.xz)
head -c $((size / 2)) base.qcow2.xz >truncated.xz
cp base.qcow2.gz corrupt.gz
size=$(stat -c %s corrupt.gz)
printf 'CORRUPTCORRUPT!!' | dd of=corrupt.gz bs=1 seek=$((size / 2)) conv=notrunc status=none
head -c 512M /dev/zero | xz -1 -T1 -c >zeros512.xz

# ---- OVAs and tars ----------------------------------------------------------
# deterministic tars: fixed order, owner and time
tar_det() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 "$@"; }
vmdk_uri=http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized
# ovf FILE (HREF ID CAPACITY_MIB)... : an OVF 1.0 descriptor naming the disks
ovf() {
  local file=$1
  shift
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<!-- made by tests/images/make_sources.sh -->'
    echo '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"'
    echo '    xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">'
    echo '  <References>'
    local a=("$@") i
    for ((i = 0; i < ${#a[@]}; i += 3)); do
      echo "    <File ovf:href=\"${a[i]}\" ovf:id=\"${a[i + 1]}\" ovf:size=\"$(stat -c %s "${a[i]}")\"/>"
    done
    echo '  </References>'
    echo '  <DiskSection>'
    echo '    <Info>Virtual disk information</Info>'
    for ((i = 0; i < ${#a[@]}; i += 3)); do
      echo "    <Disk ovf:capacity=\"${a[i + 2]}\" ovf:capacityAllocationUnits=\"byte * 2^20\" ovf:diskId=\"vmdisk$i\""
      echo "          ovf:fileRef=\"${a[i + 1]}\" ovf:format=\"$vmdk_uri\"/>"
    done
    echo '  </DiskSection>'
    echo '  <VirtualSystem ovf:id="vm"><Info>A virtual machine</Info><Name>vm</Name></VirtualSystem>'
    echo '</Envelope>'
  } >"$file"
}
mkdir -p stage/one stage/two stage/wrong stage/plain/
cp stream.vmdk stage/one/disk.vmdk
(cd stage/one && ovf disk.ovf disk.vmdk file1 64)
tar_det --format=ustar -cf disk.ova -C stage/one disk.ovf disk.vmdk

cp stream.vmdk stage/two/disk1.vmdk
cp small.vmdk stage/two/disk2.vmdk
(cd stage/two && ovf two.ovf disk1.vmdk file1 64 disk2.vmdk file2 32 &&
  sha256sum disk1.vmdk disk2.vmdk two.ovf | sed -E 's/^([0-9a-f]+)  (.*)$/SHA256(\2)= \1/' >two.mf)
tar_det --format=ustar -cf two-disks.ova -C stage/two two.ovf two.mf disk1.vmdk disk2.vmdk

cp stream.vmdk stage/wrong/disk.vmdk
(cd stage/wrong && ovf disk.ovf disk.vmdk file1 128)
tar_det --format=ustar -cf wrong-capacity.ova -C stage/wrong disk.ovf disk.vmdk

cp base.qcow2 stage/plain/base.qcow2
tar_det --format=gnu -cf plain.tar -C stage/plain .
tar_det --format=gnu -cf two-files.tar -C stage/plain base.qcow2 -C ../.. small.qcow2
gzip -n -c disk.ova >disk.ova.gz
long=$(printf 'd%.0s' {1..60})/$(printf 'e%.0s' {1..60})/$(printf 'f%.0s' {1..20}).qcow2
mkdir -p "stage/long/$(dirname "$long")"
cp base.qcow2 "stage/long/$long"
tar_det --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -cf long-name.tar -C stage/long "$long"

/usr/bin/python3 - <<'PY'
import io, tarfile
with tarfile.open('dotdot.tar', 'w', format=tarfile.USTAR_FORMAT) as t:
    data = b'not a disk\n' * 100
    info = tarfile.TarInfo('../x')
    info.size, info.mtime = len(data), 0
    t.addfile(info, io.BytesIO(data))
PY
cp plain.tar bad-checksum.tar
# the second header is ./base.qcow2's; its name's 3rd byte becomes 'X'
printf 'X' | dd of=bad-checksum.tar bs=1 seek=$((512 + 2)) conv=notrunc status=none
rm -rf stage
