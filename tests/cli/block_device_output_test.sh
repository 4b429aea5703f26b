#!/usr/bin/env bash
# `imgtool convert ... DEVICE` writes a block device in place, as qemu-img
# does (docs/cli.md "Output files"): over a loop device whose file is first
# filled with a non-zero pattern, a raw conversion of a qcow2 with holes reads
# back byte-identical to `qemu-img convert -O raw` for the virtual size (holes
# zeroed), the bytes after it are untouched, the device node stays a device,
# and the device is flushed even with -t unsafe. A device smaller than the
# virtual size is refused before anything is written. The tests write through
# private device nodes (mknod in the temporary directory): a regression that
# replaced the node it was given could never replace one in /dev.
# Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/block-output.XXXXXX")
loops=()
cleanup() {
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# attach FILE NODE: a loop device over FILE, reached through the new node NODE.
attach() {
  local dev
  dev=$(losetup -f --show "$1" 2>/dev/null) || return 1
  loops+=("$dev")
  # shellcheck disable=SC2046
  mknod "$2" b $(stat -c '%Hr %Lr' "$dev") || return 1
}
pattern() { head -c "$1" /dev/zero | tr '\0' '\245'; }  # $1 bytes of 0xa5

mib=$((1 << 20))
vsize=$((64 * mib))
src=$tmp/holes.qcow2
qemu-img create -q -f qcow2 "$src" 64M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 20M 3M' -c 'write -z 30M 2M' \
  -c 'write -P 0x33 63M 1M' "$src" >/dev/null
qemu-img convert -f qcow2 -O raw "$src" "$tmp/want.raw"
pattern $mib >"$tmp/tail.bin"

pattern $((vsize + mib)) >"$tmp/big.bin"
if ! attach "$tmp/big.bin" "$tmp/disk"; then
  echo "FAIL: no loop device or mknod here (the suite runs as root: losetup, /dev/loop-control)" >&2
  exit 1
fi

# --- raw onto the device: in place, holes zeroed, the rest untouched, flushed --------------
if command -v strace >/dev/null; then
  nolsan="${ASAN_OPTIONS:-}:detect_leaks=0"  # LeakSanitizer cannot run under ptrace
  out=$(ASAN_OPTIONS=$nolsan strace -f -e trace=fsync,fdatasync,rename,renameat,renameat2 -o "$tmp/strace.log" \
    "$IMGTOOL" convert -t unsafe -O raw --checksum "$src" "$tmp/disk" 2>&1)
else
  out=$("$IMGTOOL" convert -t unsafe -O raw --checksum "$src" "$tmp/disk" 2>&1)
fi
rc=$?
[ $rc -eq 0 ] && [ -b "$tmp/disk" ] && ok "convert onto the device: exit 0, node still a block device" ||
  fail "convert onto the device: rc=$rc $out; $(ls -l "$tmp/disk")"
cmp -n $vsize "$tmp/disk" "$tmp/want.raw" && ok "first $vsize bytes equal qemu-img convert -O raw" ||
  fail "device differs from qemu-img's raw output"
cmp -i $vsize:0 -n $mib "$tmp/disk" "$tmp/tail.bin" && ok "bytes past the virtual size untouched" ||
  fail "bytes past the virtual size changed"
grep -q "^checksum: $(md5sum <"$tmp/want.raw" | cut -d' ' -f1)\$" <<<"$out" &&
  ok "--checksum is the md5 of the image, not of the device" || fail "--checksum: $out"
if [ -f "$tmp/strace.log" ]; then
  grep -q 'fsync(' "$tmp/strace.log" && ! grep -q 'rename' "$tmp/strace.log" &&
    ok "-t unsafe: the device is still fsynced; nothing renamed" ||
    fail "syscalls: $(grep -E 'fsync|rename' "$tmp/strace.log")"
fi
[ -z "$(ls -A "$tmp" | grep imgtool)" ] && ok "no temporary file" || fail "temporary file: $(ls -A "$tmp")"

# --- qcow2 onto the device: the header patch (pwrite) works in place ------------------------
"$IMGTOOL" convert -O qcow2 "$src" "$tmp/disk" && qemu-img compare -q -f qcow2 -F qcow2 "$src" "$tmp/disk" &&
  ok "qcow2 onto the device reads back equal" || fail "qcow2 onto the device"

# --- a device smaller than the virtual size: refused before writing ---------------------------
pattern $((32 * mib)) >"$tmp/small.bin"
if attach "$tmp/small.bin" "$tmp/small"; then
  err=$("$IMGTOOL" convert -O raw "$src" "$tmp/small" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" = 1 ] &&
    grep -q "^imgtool: $tmp/small: the block device holds $((32 * mib)) bytes, the image needs $vsize bytes; nothing was written\$" <<<"$err" &&
    cmp -s "$tmp/small" "$tmp/small.bin" && [ -b "$tmp/small" ] && ok "small device refused: $err" ||
    fail "small device: rc=$rc $err"
  # qcow2 has no size known in advance: it fails when it reaches the end.
  head -c $((40 * mib)) /dev/urandom >"$tmp/random.raw"
  err=$("$IMGTOOL" convert -O qcow2 "$tmp/random.raw" "$tmp/small" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "past the end of the block device.*partial image" <<<"$err" &&
    ok "qcow2 too big for the device: $err" || fail "qcow2 too big: rc=$rc $err"
else
  fail "cannot attach a second loop device"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all block device output checks passed"
