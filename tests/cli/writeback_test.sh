#!/usr/bin/env bash
# Writeback while converting (src/io/writeback.cpp): with the default -t
# writeback, imgtool starts the kernel's writeback of the output behind the
# writer (sync_file_range SYNC_FILE_RANGE_WRITE every 8 MiB, waiting for the
# ranges more than 64 MiB behind) and still fsyncs before the rename; with
# -t unsafe it does neither. The same holds for a block device, which is
# always fsynced. The output is the same bytes in every case.
# Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -euo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
trap 'echo "FAIL: set-up command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
for tool in qemu-img qemu-io strace losetup; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed: run scripts/deps.sh test" >&2; exit 1; }
done
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/writeback.XXXXXX")
loop=
cleanup() {
  [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
nolsan="${ASAN_OPTIONS:-}:detect_leaks=0"  # LeakSanitizer cannot work under ptrace

# 160 MiB of data in a 256 MiB qcow2: more than the 64 MiB window.
src=$tmp/src.qcow2
qemu-img create -q -f qcow2 "$src" 256M
qemu-io -f qcow2 -c 'write -P 0x11 0 100M' -c 'write -P 0x22 150M 60M' "$src" >/dev/null

# trace NAME ARGS...: runs imgtool under strace; prints "<sync_file_range calls> <waits> <fsyncs>".
trace() {
  local log=$tmp/$1.strace
  shift
  ASAN_OPTIONS=$nolsan strace -f -e trace=sync_file_range,fsync,fdatasync -o "$log" "$IMGTOOL" "$@"
  awk '/sync_file_range\(/ { n++; if (/WAIT_AFTER/) w++ }
       /fsync\(|fdatasync\(/ { f++ }
       / = -1 / { e++ }
       END { print n + 0, w + 0, f + 0, e + 0 }' "$log"
}

for fmt in raw qcow2; do
  read -r n w f e <<<"$(trace wb-$fmt convert -f qcow2 -O $fmt "$src" "$tmp/wb.$fmt")"
  # 160 MiB in 8 MiB steps: about 20 starts; waits for all but the last 64 MiB.
  [ "$n" -ge 15 ] && [ "$w" -ge 5 ] && [ "$f" -ge 1 ] && [ "$e" -eq 0 ] &&
    ok "$fmt: writeback behind the writer ($n sync_file_range, $w waits), then fsync" ||
    fail "$fmt default: sync_file_range=$n waits=$w fsync=$f errors=$e"
  read -r n w f e <<<"$(trace unsafe-$fmt convert -t unsafe -f qcow2 -O $fmt "$src" "$tmp/unsafe.$fmt")"
  [ "$n" -eq 0 ] && [ "$f" -eq 0 ] && ok "$fmt -t unsafe: no writeback calls, no fsync" ||
    fail "$fmt -t unsafe: sync_file_range=$n fsync=$f"
  cmp -s "$tmp/wb.$fmt" "$tmp/unsafe.$fmt" && ok "$fmt: same bytes" || fail "$fmt: -t unsafe output differs"
  qemu-img compare -q -f qcow2 -F $fmt "$src" "$tmp/wb.$fmt" && ok "$fmt: compare" || fail "$fmt: compare"
done

# A block device (a loop device over a file, through a private node).
truncate -s 256M "$tmp/disk.bin"
loop=$(losetup -f --show "$tmp/disk.bin") || { echo "FAIL: no loop device here (the suite runs as root)" >&2; exit 1; }
# shellcheck disable=SC2046
mknod "$tmp/disk" b $(stat -c '%Hr %Lr' "$loop")
read -r n w f e <<<"$(trace dev convert -t unsafe -f qcow2 -O raw "$src" "$tmp/disk")"
[ "$n" -ge 15 ] && [ "$w" -ge 5 ] && [ "$f" -ge 1 ] && [ "$e" -eq 0 ] &&
  ok "block device: writeback behind the writer ($n sync_file_range, $w waits), then fsync" ||
  fail "block device: sync_file_range=$n waits=$w fsync=$f errors=$e"
losetup -d "$loop" && loop=
qemu-img compare -q -f qcow2 -F raw "$src" "$tmp/disk.bin" && ok "block device: compare" || fail "block device: compare"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all writeback checks passed"
