#!/usr/bin/env bash
# Makes a set of hostile images from valid qemu-made ones plus byte pokes, and
# writes OUTDIR/expected.tsv, one line per file:
#   name <TAB> info exit code <TAB> check exit code <TAB> stderr substring
# The substring is a stable keyword the single error line (or, for check, one
# of the finding lines) must contain; "-" means stderr must be empty.
# Exit codes: 0 ok/clean, 1 cannot open/parse, 2 corrupt, 3 leaks, 4 unsafe
# (tools/exit_codes.hpp). Used by tests/cli/hostile_test.sh.
# Usage: tests/images/make_hostile.sh OUTDIR
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
cd "$out"
rm -rf ./*
tsv=expected.tsv
: >"$tsv"
expect() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$tsv"; }

# Byte pokes. Big-endian (qcow2) and little-endian (vmdk) integers.
poke_hex() {  # file offset hexbytes...
  local f=$1 off=$2; shift 2
  local s=""
  for b in "$@"; do s+="\\x$b"; done
  printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
be() {  # value width -> hex bytes, big-endian
  local v=$1 w=$2 i out=()
  for ((i = w - 1; i >= 0; i--)); do out+=("$(printf '%02x' $(((v >> (8 * i)) & 0xff)))"); done
  echo "${out[@]}"
}
le() {
  local v=$1 w=$2 i out=()
  for ((i = 0; i < w; i++)); do out+=("$(printf '%02x' $(((v >> (8 * i)) & 0xff)))"); done
  echo "${out[@]}"
}
poke_be32() { poke_hex "$1" "$2" $(be "$3" 4); }
poke_be64() { poke_hex "$1" "$2" $(be "$3" 8); }
poke_le64() { poke_hex "$1" "$2" $(le "$3" 8); }
read_be64() { od -An -tu1 -j "$2" -N 8 "$1" | awk '{v=0; for(i=1;i<=NF;i++) v=v*256+$i; printf "%d\n", v}'; }

# --- files that are not images ------------------------------------------------
: >zero-length.img
# An empty file is not a disk image: info shows it as qemu does (raw, 0 B),
# the verdict refuses it.
expect zero-length.img 0 1 empty
mkdir directory.img
expect directory.img 1 1 directory
expect missing.img 1 1 "no such file"
printf 'secret' >no-permission.img
chmod 000 no-permission.img
# root bypasses permission bits: hostile_test.sh runs this case as nobody
# (setpriv), on a copy in a directory nobody can reach.
expect no-permission.img 1 1 "ermission"

# --- qcow2 ------------------------------------------------------------------------
qemu-img create -q -f qcow2 good.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -P 0x22 64k 64k' good.qcow2 >/dev/null
# Every prefix of the header is refused or read as raw, never crashes.
for n in 4 8 20 48 72 103; do
  head -c "$n" good.qcow2 >"trunc-$n.qcow2"
done
# 4 bytes: magic without version, which qemu would not probe as qcow2 either.
expect trunc-4.qcow2 0 0 -
for n in 8 20 48 72 103; do expect "trunc-$n.qcow2" 1 1 qcow2; done

cp good.qcow2 l1-size-2p30.qcow2 && poke_be32 l1-size-2p30.qcow2 36 $((1 << 30))
expect l1-size-2p30.qcow2 1 1 L1
cp good.qcow2 l1-past-eof.qcow2 && poke_be64 l1-past-eof.qcow2 40 $((1 << 40))
expect l1-past-eof.qcow2 1 1 L1
cp good.qcow2 refcount-table-past-eof.qcow2 && poke_be64 refcount-table-past-eof.qcow2 48 $((1 << 40))
expect refcount-table-past-eof.qcow2 1 1 refcount
cp good.qcow2 refcount-clusters-huge.qcow2 && poke_be32 refcount-clusters-huge.qcow2 56 $((0x7fffffff))
expect refcount-clusters-huge.qcow2 1 1 refcount
cp good.qcow2 unknown-incompat-bit.qcow2 && poke_be64 unknown-incompat-bit.qcow2 72 $((1 << 20))
expect unknown-incompat-bit.qcow2 1 1 incompatible

qemu-img create -q -f qcow2 base.qcow2 64M
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 backing.qcow2
rm base.qcow2  # never needed: imgtool does not open it
expect backing.qcow2 0 4 backing
qemu-img create -q -f qcow2 -o data_file=data-file.bin data-file.qcow2 64M
expect data-file.qcow2 0 4 "data file"

# L2 entry pointing at cluster 1 (the refcount table of a qemu-made image):
# guest data on top of metadata.
l1=$(read_be64 good.qcow2 40)
l2=$(($(read_be64 good.qcow2 "$l1") & 0x00fffffffffffe00))
cp good.qcow2 l2-into-metadata.qcow2
poke_be64 l2-into-metadata.qcow2 "$l2" $(((1 << 63) | 0x10000))
expect l2-into-metadata.qcow2 0 2 refcount
# Two L2 entries naming the same host cluster.
d0=$(read_be64 good.qcow2 "$l2")
cp good.qcow2 l2-shared-cluster.qcow2
poke_be64 l2-shared-cluster.qcow2 $((l2 + 8)) "$d0"
expect l2-shared-cluster.qcow2 0 2 refcount

# --- vmdk -----------------------------------------------------------------------
qemu-img create -q -f vmdk good.vmdk 64M
qemu-io -f vmdk -c 'write -P 1 0 64k' good.vmdk >/dev/null
qemu-img create -q -f vmdk -o subformat=monolithicFlat flat.vmdk 1M
sed 's|"flat-flat.vmdk"|"/etc/passwd"|' flat.vmdk >etc-passwd.vmdk
rm -f flat.vmdk flat-flat.vmdk
expect etc-passwd.vmdk 0 4 /etc/passwd
cp good.vmdk descriptor-size-2p40.vmdk && poke_le64 descriptor-size-2p40.vmdk 36 $((1 << 40))
expect descriptor-size-2p40.vmdk 0 2 descriptor
cp good.vmdk grain-size-0.vmdk && poke_le64 grain-size-0.vmdk 20 0
expect grain-size-0.vmdk 1 1 grain
cp good.vmdk gd-past-eof.vmdk && poke_le64 gd-past-eof.vmdk 56 $((1 << 40))
expect gd-past-eof.vmdk 1 1 "grain directory"

echo "made $(wc -l <"$tsv") hostile cases in $out"
