#!/usr/bin/env bash
# Deterministic output through the CLI (docs/convert.md, "Deterministic
# output"): the same source and options give the same bytes whatever -m and
# the clock say. Each target (raw; qcow2 plain, -c zlib, -c zstd; vmdk
# monolithicSparse, streamOptimized) is converted twice, with -m 1 under
# faketime at one date and with -m 8 under faketime at another (libfaketime
# changes what every clock call returns, so a timestamp or a time-seeded
# value anywhere in the output would differ), then compared with cmp; the
# --checksum digests (Glance's checksum and os_hash_value) must agree too.
# qemu-img must read every output: `qemu-img check` clean, `qemu-img compare`
# identical to the source.
# Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -euo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
trap 'echo "FAIL: set-up command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
for tool in qemu-img qemu-io faketime; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed: run scripts/deps.sh test" >&2; exit 1; }
done
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/determinism.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# faketime must really move the clock for this test to mean anything.
[ "$(faketime '2001-02-03 04:05:06' date -u +%Y)" = 2001 ] || { echo "FAIL: faketime does not work here" >&2; exit 1; }

# A 48 MiB qcow2 source: text-like (compressible) data, random data, explicit
# zeros and holes, over more than one vmdk grain table (32 MiB each).
src=$tmp/src.qcow2
head -c 2M /dev/urandom >"$tmp/rand.bin"
qemu-img create -q -f qcow2 "$src" 48M
qemu-io -f qcow2 -c 'write -P 0x41 0 3M' -c "write -s $tmp/rand.bin 5M 2M" -c 'write -z 6M 64k' \
  -c 'write -P 0x5a 33M 1M' -c 'write -P 0x11 50331136 512' "$src" >/dev/null

targets=(
  "raw|-O raw"
  "qcow2|-O qcow2"
  "qcow2 -c zlib|-O qcow2 -c -o compression_type=zlib"
  "qcow2 -c zstd|-O qcow2 -c -o compression_type=zstd"
  "vmdk monolithicSparse|-O vmdk -o subformat=monolithicSparse"
  "vmdk streamOptimized|-O vmdk -o subformat=streamOptimized"
)
i=0
for t in "${targets[@]}"; do
  IFS='|' read -r name args <<<"$t"
  i=$((i + 1))
  fmt=$(awk '{print $2}' <<<"$args")
  # Same basename in two directories: vmdk's descriptor names the file.
  mkdir -p "$tmp/a$i" "$tmp/b$i"
  a=$tmp/a$i/out.img b=$tmp/b$i/out.img
  # shellcheck disable=SC2086
  sa=$(faketime '2001-02-03 04:05:06' "$IMGTOOL" convert -m 1 --checksum $args "$src" "$a")
  # shellcheck disable=SC2086
  sb=$(faketime '2037-11-30 23:59:01' "$IMGTOOL" convert -m 8 --checksum $args "$src" "$b")
  if cmp -s "$a" "$b"; then ok "$name: same bytes with -m 1 / -m 8 and clocks 36 years apart"; else
    fail "$name: outputs differ: $(cmp "$a" "$b" 2>&1 | head -1)"
  fi
  [ "$sa" = "$sb" ] && ok "$name: same checksum and os_hash_value" || fail "$name: --checksum differs: $sa / $sb"
  # The same again without --checksum (files then take the one-pass layouts).
  # shellcheck disable=SC2086
  faketime '2001-02-03 04:05:06' "$IMGTOOL" convert -m 1 $args "$src" "$a"
  # shellcheck disable=SC2086
  faketime '2037-11-30 23:59:01' "$IMGTOOL" convert -m 8 $args "$src" "$b"
  cmp -s "$a" "$b" && ok "$name (no --checksum): same bytes" || fail "$name (no --checksum): outputs differ"
  if [ "$fmt" != raw ]; then
    qemu-img check -q -f "$fmt" "$b" && ok "$name: qemu-img check clean" || fail "$name: qemu-img check"
  fi
  qemu-img compare -q -f qcow2 -F "$fmt" "$src" "$b" && ok "$name: qemu-img compare identical" ||
    fail "$name: qemu-img compare differs"
done

# vmdk: the CID qemu reads is the same in both runs and not ffffffff.
cid() { qemu-img info --output=json "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"]["cid"])'; }
ca=$(cid "$tmp/a6/out.img") cb=$(cid "$tmp/b6/out.img")
[ "$ca" = "$cb" ] && [ "$ca" != 4294967295 ] && ok "vmdk CID $ca in both runs" || fail "vmdk CID: $ca / $cb"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all determinism checks passed"
