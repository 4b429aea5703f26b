#!/usr/bin/env bash
# libFuzzer smoke run: every tests/fuzz/fuzz_* harness built in BUILD_DIR runs
# for SECONDS on a seed corpus of small real images (made here with qemu-img,
# sgdisk, sfdisk, genisoimage) plus the committed regressions
# tests/images/regress/*.bin. Fails on the first crash, leak, timeout or OOM and
# leaves the reproducer in the printed artifact directory.
# Usage: tests/fuzz/run_smoke.sh BUILD_DIR SECONDS
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 64
fi
build=$1
secs=$2
src=$(cd "$(dirname "$0")/../.." && pwd)

mapfile -t harnesses < <(find "$build/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
if [ ${#harnesses[@]} -eq 0 ]; then
  echo "run_smoke: no fuzz_* harness in $build/tests/fuzz (configure with -DIMGTOOL_FUZZ=ON)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/imgtool-fuzz.XXXXXX")
keep=0
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
seeds=$work/seeds
mkdir -p "$seeds"

# ---- seed corpus: small images of every format (each well under the 1 MiB cap)
# Every seed is made or the run fails: a missing tool or a failed qemu-img
# would otherwise shrink the corpus without a word.
for tool in qemu-img sgdisk sfdisk genisoimage; do
  command -v "$tool" >/dev/null || { echo "run_smoke: $tool is not installed: run scripts/deps.sh test" >&2; exit 1; }
done
q() { qemu-img "$@" >/dev/null; }
# LUKS creation benchmarks PBKDF2 and can fail on a busy machine ("Unable to
# get accurate CPU usage"): retry that failure (only that one) a few times.
q_luks() {
  local i err
  for i in 1 2 3 4 5; do
    if err=$(qemu-img "$@" 2>&1 >/dev/null); then return 0; fi
    [[ $err == *"Unable to get accurate CPU usage"* ]] || break
  done
  echo "run_smoke: qemu-img $* failed: $err" >&2
  return 1
}
(
  cd "$seeds"
  head -c 300000 /dev/urandom >data.raw
  q create -f raw blank.raw 1M
  # qcow2 variants
  q create -f qcow2 -o compat=0.10 v2.qcow2 4M
  q create -f qcow2 v3.qcow2 4M
  q convert -f raw -O qcow2 -c data.raw zlib.qcow2
  q convert -f raw -O qcow2 -c -o compression_type=zstd data.raw zstd.qcow2
  q convert -f raw -O qcow2 -o cluster_size=512 data.raw small-cluster.qcow2
  q create -f qcow2 -o extended_l2=on,cluster_size=128k ext-l2.qcow2 4M
  q create -f qcow2 -b v3.qcow2 -F qcow2 backing.qcow2 4M
  q create -f qcow2 -o data_file=data-file.bin external-data.qcow2 1M
  q create -f qcow2 -o lazy_refcounts=on,refcount_bits=1 lazy.qcow2 4M
  q snapshot -c snap1 v3.qcow2
  q_luks create -q -f qcow2 --object secret,id=s0,data=x -o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 \
    luks.qcow2 1M
  # vmdk variants
  q create -f vmdk sparse.vmdk 4M
  q convert -f raw -O vmdk -o subformat=streamOptimized data.raw stream.vmdk
  q convert -f raw -O vmdk data.raw data-sparse.vmdk
  q create -f vmdk -o subformat=monolithicFlat flat.vmdk 64K
  q create -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 4M
  # detection-only formats
  q create -f vpc dyn.vhd 4M
  q convert -f raw -O vpc -o subformat=fixed data.raw fixed.vhd
  q create -f vdi v.vdi 4M
  q create -f qed q.qed 4M
  q create -f qed -b q.qed -F qed qb.qed 4M
  q_luks create -q -f luks --object secret,id=s0,data=x -o key-secret=s0,iter-time=10 l.luks 64K
  # vhdx: qemu puts the metadata region at 3 MiB; move it to 320 KiB (patching
  # both region tables) so the seed fits the 1 MiB cap.
  q create -f vhdx full.vhdx 4M
  /usr/bin/python3 - full.vhdx x.vhdx <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
meta = bytes.fromhex('06a27c8b90479a4bb8fe575f050f886e')
new = 320 * 1024
for table in (192 * 1024, 256 * 1024):
    count = struct.unpack_from('<I', d, table + 8)[0]
    for i in range(count):
        e = table + 16 + 32 * i
        if d[e:e + 16] == meta:
            old = struct.unpack_from('<Q', d, e + 16)[0]
            struct.pack_into('<Q', d, e + 16, new)
out = d[:new] + d[old:old + 64 * 1024]
open(sys.argv[2], 'wb').write(out)
EOF
  rm -f full.vhdx
  # raw disks with partition tables
  truncate -s 1M gpt.raw mbr.raw
  sgdisk -n 1:40:0 gpt.raw >/dev/null
  printf 'label: dos\n63,,83,*\n' | sfdisk -q mbr.raw
  mkdir -p tree && echo hi >tree/a
  genisoimage -quiet -V SEED -o cd.iso tree
  genisoimage -quiet -udf -o udf.iso tree
  rm -rf tree
  # The crafted bombs (shared tables, snapshot multiplication, huge bitmap
  # tables, 4 TiB padding) and the verdict cases (named files, Glance's
  # rules, compressed streams, refused headers), flattened into the corpus.
  for gen in make_bombs make_verdict_cases; do
    bash "$src/tests/images/$gen.sh" "$gen" >/dev/null
    for f in "$gen"/*; do
      [ -f "$f" ] && [ "$(basename "$f")" != expected.tsv ] && mv "$f" "$gen-$(basename "$f")"
    done
    rm -rf "$gen"
  done
  # libFuzzer reads at most -max_len bytes of a seed; cut the big ones (LUKS
  # headers are 2 MiB, the bombs are sparse and large) to the 1 MiB cap
  # ourselves so the corpus stays small.
  find . -type f -size +1024k -exec truncate -s 1M {} +
)
if compgen -G "$src/tests/images/regress/*.bin" >/dev/null; then
  cp "$src"/tests/images/regress/*.bin "$seeds"/
fi
echo "run_smoke: $(find "$seeds" -type f | wc -l) seeds, ${#harnesses[@]} harnesses, ${secs}s each"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for h in "${harnesses[@]}"; do
  name=$(basename "$h")
  corpus=$work/corpus-$name
  artifacts=$work/artifacts-$name
  mkdir -p "$corpus" "$artifacts"
  cp "$seeds"/* "$corpus"/
  echo "=== $name"
  if ! "$h" -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" >"$work/$name.log" 2>&1; then
    tail -n 60 "$work/$name.log" >&2
    echo "run_smoke: $name FAILED; reproducer(s) in $artifacts:" >&2
    ls -l "$artifacts" >&2 || true
    echo "  rerun: $h $artifacts/<file>; commit it as tests/images/regress/<what>.bin plus a test" >&2
    keep=1
    status=1
    continue
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|cov:' "$work/$name.log" | tail -n 3
done
exit $status
