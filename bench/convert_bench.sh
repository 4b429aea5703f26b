#!/usr/bin/env bash
# imgtool convert vs qemu-img convert, same run, same files (not a timed test).
# Sources (2 GiB each, half data, half holes: 16 x 64 MiB of data every 128 MiB):
#   random        /dev/urandom data (incompressible), as raw and qcow2
#   compressible  slices of a tar of /usr/lib + /usr/share (binaries and text,
#                 gzip -1 gets it to ~45 %), as raw and qcow2; only for the
#                 compressed targets, where the data decides the speed
# Cases: qcow2->raw, raw->qcow2 (random), qcow2->vmdk streamOptimized and
# raw->qcow2 -c (both sources). Each command runs after `rm -f out; sync`, so no
# run pays for the previous one's writeback; hyperfine median of BENCH_RUNS
# (after one warm-up). Peak RSS: /usr/bin/time -f %M.
# imgtool fsyncs DST before the rename by default; qemu-img (cache=unsafe) does
# not flush. So the table has both like-for-like pairs: imgtool -t unsafe vs
# qemu-img, and imgtool vs qemu-img + `sync DST`.
# Prints a markdown section; with --append, appends it to docs/performance.md.
# Usage: bench/convert_bench.sh [--append] [IMGTOOL_BINARY]   (env BENCH_DIR, BENCH_RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
append=0
if [ "${1:-}" = "--append" ]; then append=1; shift; fi
imgtool=$(realpath "${1:-build/bin/imgtool}")
runs=${BENCH_RUNS:-5}
dir=${BENCH_DIR:-/var/tmp/imgtool-convert-bench}
mkdir -p "$dir"

# make_source NAME DATA_CMD: 2 GiB raw with 16 x 64 MiB slices of DATA_CMD's output, plus a qcow2 copy.
make_source() {
  local raw=$dir/$1.raw
  if [ ! -e "$raw" ]; then
    $2 >"$dir/data.bin"
    truncate -s 2G "$raw.tmp"
    for i in $(seq 0 15); do
      dd if="$dir/data.bin" of="$raw.tmp" bs=1M count=64 skip=$((i * 64)) seek=$((i * 128)) conv=notrunc status=none
    done
    rm -f "$dir/data.bin"
    mv "$raw.tmp" "$raw"
  fi
  [ -e "$dir/$1.qcow2" ] || qemu-img convert -f raw -O qcow2 "$raw" "$dir/$1.qcow2"
}
random_data() { head -c 1G /dev/urandom; }
usr_data() { { tar cf - /usr/lib /usr/share 2>/dev/null || true; } | head -c 1G; }  # tar dies of SIGPIPE
make_source random random_data
make_source compressible usr_data
r=$dir/random z=$dir/compressible

# name | convert args without SRC/DST | SRC
cases=(
  "qcow2 -> raw (random)|-f qcow2 -O raw|$r.qcow2"
  "raw -> qcow2 (random)|-f raw -O qcow2|$r.raw"
  "qcow2 -> vmdk streamOptimized (random)|-f qcow2 -O vmdk -o subformat=streamOptimized|$r.qcow2"
  "qcow2 -> vmdk streamOptimized (compressible)|-f qcow2 -O vmdk -o subformat=streamOptimized|$z.qcow2"
  "raw -> qcow2 -c (random)|-f raw -O qcow2 -c|$r.raw"
  "raw -> qcow2 -c (compressible)|-f raw -O qcow2 -c|$z.raw"
)

rss() {  # peak RSS in MiB of one run
  local kb
  /usr/bin/time -o "$dir/rss" -f %M "$@" >/dev/null 2>&1
  kb=$(tail -1 "$dir/rss")
  rm -f "$dir/out" "$dir/rss"
  echo $((kb / 1024))
}
medians() {  # hyperfine medians (s) from its JSON, in command order
  /usr/bin/python3 -c 'import json,sys; print(" ".join("%.3f" % x["median"] for x in json.load(open(sys.argv[1]))["results"]))' "$1"
}
ratio() { /usr/bin/python3 -c "print('%.2f' % ($1 / $2))"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
out=$(mktemp)
{
  echo
  echo "### convert: $(date -u +%Y-%m-%d) — $(nproc) cores, load before: $load_before"
  echo
  echo "imgtool $("$imgtool" --version | awk '{print $2}'), $(qemu-img --version | head -1)."
  echo "Median of $runs runs after one warm-up, each after \`rm -f out; sync\`. Ratios are qemu-img time / imgtool time (> 1: imgtool faster):"
  echo "\"unsafe\" compares \`imgtool -t unsafe\` with plain \`qemu-img convert\` (neither flushes); \"durable\" compares imgtool's default (fsync, then rename) with \`qemu-img convert && sync DST\`."
  echo
  echo "| case | imgtool -t unsafe (s) | qemu-img (s) | ratio unsafe | imgtool (s) | qemu-img + sync (s) | ratio durable | RSS imgtool / qemu-img (MiB) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} >"$out"
for c in "${cases[@]}"; do
  IFS='|' read -r name args src <<<"$c"
  json=$(mktemp)
  # shellcheck disable=SC2086
  hyperfine --warmup 1 --runs "$runs" --export-json "$json" --prepare "rm -f $dir/out; sync" \
    -n "imgtool -t unsafe" "$imgtool convert -t unsafe $args $src $dir/out" \
    -n qemu-img "qemu-img convert $args $src $dir/out" \
    -n imgtool "$imgtool convert $args $src $dir/out" \
    -n "qemu-img + sync" "qemu-img convert $args $src $dir/out && sync $dir/out" >&2
  read -r iu q id qs <<<"$(medians "$json")"
  # shellcheck disable=SC2086
  irss=$(rss "$imgtool" convert $args "$src" "$dir/out")
  # shellcheck disable=SC2086
  qrss=$(rss qemu-img convert $args "$src" "$dir/out")
  echo "| $name | $iu | $q | $(ratio "$q" "$iu") | $id | $qs | $(ratio "$qs" "$id") | $irss / $qrss |" >>"$out"
  rm -f "$json" "$dir/out"
done
echo >>"$out"
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$out"
cat "$out"
if [ $append = 1 ]; then
  grep -q '^## convert' docs/performance.md 2>/dev/null || printf '\n## convert\n' >>docs/performance.md
  cat "$out" >>docs/performance.md
fi
rm -f "$out"
