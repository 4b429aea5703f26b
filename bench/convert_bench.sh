#!/usr/bin/env bash
# imgtool convert vs qemu-img convert, same run, same files (not a timed test).
# Source: a 2 GiB raw image, half random data (16 x 64 MiB), half holes, and
# the same image as qcow2. Cases: qcow2->raw, raw->qcow2, qcow2->vmdk
# streamOptimized, raw->qcow2 -c. Wall time: hyperfine (>= 3 runs); peak RSS:
# /usr/bin/time -f %M. Prints a markdown section; with --append, appends it to
# docs/performance.md.
# Usage: bench/convert_bench.sh [--append] [IMGTOOL_BINARY]   (env BENCH_DIR, BENCH_RUNS)
set -euo pipefail
cd "$(dirname "$0")/.."
append=0
if [ "${1:-}" = "--append" ]; then append=1; shift; fi
imgtool=$(realpath "${1:-build/bin/imgtool}")
runs=${BENCH_RUNS:-3}
dir=${BENCH_DIR:-/var/tmp/imgtool-convert-bench}
mkdir -p "$dir"
src_raw=$dir/src.raw
src_q=$dir/src.qcow2
if [ ! -e "$src_raw" ]; then
  truncate -s 2G "$src_raw"
  for i in $(seq 0 15); do  # 64 MiB of random data every 128 MiB
    dd if=/dev/urandom of="$src_raw" bs=1M count=64 seek=$((i * 128)) conv=notrunc status=none
  done
fi
[ -e "$src_q" ] || qemu-img convert -f raw -O qcow2 "$src_raw" "$src_q"

have_vmdk=1
truncate -s 1M "$dir/probe.raw"
"$imgtool" convert -O vmdk -o subformat=streamOptimized "$dir/probe.raw" "$dir/probe.vmdk" >/dev/null 2>&1 || have_vmdk=0
rm -f "$dir/probe.raw" "$dir/probe.vmdk"

# name | imgtool args | qemu-img args (SRC/DST appended)
cases=(
  "qcow2 -> raw|-f qcow2 -O raw $src_q|-f qcow2 -O raw $src_q"
  "raw -> qcow2|-f raw -O qcow2 $src_raw|-f raw -O qcow2 $src_raw"
)
[ $have_vmdk = 1 ] && cases+=("qcow2 -> vmdk streamOptimized|-f qcow2 -O vmdk -o subformat=streamOptimized $src_q|-f qcow2 -O vmdk -o subformat=streamOptimized $src_q")
cases+=("raw -> qcow2 -c|-f raw -O qcow2 -c $src_raw|-f raw -O qcow2 -c $src_raw")

rss() {  # peak RSS in MiB of one run
  local kb
  /usr/bin/time -o "$dir/rss" -f %M "$@" >/dev/null 2>&1
  kb=$(tail -1 "$dir/rss")
  rm -f "$dir/out" "$dir/rss"
  echo $((kb / 1024))
}
mean() {  # hyperfine mean (s) from its JSON
  /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.3f %.3f" % (x["mean"], x["stddev"] or 0) for x in r))' "$1"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
out=$(mktemp)
{
  echo
  echo "### convert: $(date -u +%Y-%m-%d) — $(nproc) cores, load before: $load_before"
  echo
  echo "imgtool $("$imgtool" --version | awk '{print $2}'), $(qemu-img --version | head -1). Source: 2 GiB, 16 × 64 MiB random data + holes."
  echo "hyperfine --runs $runs (mean ± stddev); peak RSS from /usr/bin/time -f %M; ratio = qemu-img time / imgtool time (>1: imgtool faster); imgtool always fsyncs DST, \"qemu-img + sync\" is the like-for-like baseline."
  echo
  echo "| case | imgtool (s) | qemu-img (s) | ratio | qemu-img + sync (s) | ratio | imgtool RSS (MiB) | qemu-img RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$out"
for c in "${cases[@]}"; do
  IFS='|' read -r name iargs qargs <<<"$c"
  json=$(mktemp)
  # shellcheck disable=SC2086
  # imgtool fsyncs DST before renaming it into place; qemu-img convert (cache=unsafe) does not
  # flush. "qemu-img + sync" adds `sync DST` (fsync of the file) for the same durability.
  hyperfine --runs "$runs" --export-json "$json" --prepare "rm -f $dir/out" \
    -n imgtool "$imgtool convert $iargs $dir/out" -n qemu-img "qemu-img convert $qargs $dir/out" \
    -n "qemu-img + sync" "qemu-img convert $qargs $dir/out && sync $dir/out" >&2
  read -r it isd qt qsd st ssd <<<"$(mean "$json")"
  # shellcheck disable=SC2086
  irss=$(rss "$imgtool" convert $iargs "$dir/out")
  # shellcheck disable=SC2086
  qrss=$(rss qemu-img convert $qargs "$dir/out")
  ratio=$(/usr/bin/python3 -c "print('%.2f' % ($qt / $it))")
  sratio=$(/usr/bin/python3 -c "print('%.2f' % ($st / $it))")
  echo "| $name | $it ± $isd | $qt ± $qsd | $ratio | $st ± $ssd | $sratio | $irss | $qrss |" >>"$out"
  rm -f "$json" "$dir/out"
done
echo >>"$out"
echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$out"
[ $have_vmdk = 1 ] || echo "qcow2 -> vmdk streamOptimized: skipped (vmdk writer not in this build)." >>"$out"
cat "$out"
if [ $append = 1 ]; then
  grep -q '^## convert' docs/performance.md 2>/dev/null || printf '\n## convert\n' >>docs/performance.md
  cat "$out" >>docs/performance.md
fi
rm -f "$out"
