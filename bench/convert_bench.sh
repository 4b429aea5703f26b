#!/usr/bin/env bash
# imgtool convert vs qemu-img convert 7.2, same run, same files (not a timed test).
#
# Sources: a 1 GiB image with 512 MiB of data (8 x 64 MiB slices, one every
# 128 MiB; the rest holes), as raw and as qcow2, in two flavours:
#   random        /dev/urandom bytes (incompressible)
#   compressible  slices of a tar of /usr/lib + /usr/share (binaries and text;
#                 gzip -1 gets it to ~45 %), for the compressed targets, where
#                 the data decides the speed
#
# qemu-img runs at its fastest settings: `-m 2 -W` (two coroutines per core
# here, out-of-order writes). qemu-img 7.2 also accepts -W with -c, so the
# compressed cases use it too; QEMU_FLAGS_C overrides that (e.g. "" for its
# defaults: 8 coroutines, in-order writes).
#
# Two like-for-like pairs per case, because imgtool fsyncs DST before the
# rename by default and qemu-img (cache=unsafe for convert) does not flush:
#   durable  imgtool (default, -t writeback)  vs  qemu-img ... && sync DST
#   unsafe   imgtool -t unsafe                vs  qemu-img ...
# The loop is bench/interleave.py (hyperfine would run all runs of one command
# before the next, so on a shared machine a change of load between commands
# would end up in the ratios): BENCH_WARMUP warm-up rounds, then BENCH_RUNS
# rounds (BENCH_RUNS_C for the compressed cases), each running the four
# commands once in a rotating order; before every run `rm -f OUT; sync` (no
# run pays for the previous one's writeback, and the deletion is not timed),
# after it `rm -f OUT`. Reported: median wall time, ratio = qemu-img median /
# imgtool median (> 1: imgtool faster), median CPU time (user + sys) of the
# unsafe pair, and peak RSS (from wait4). The machine (CPU model, cores,
# memory, kernel, file system) and its load (uptime before and after each
# case) are printed with the table: other processes share the cores, and the
# numbers mean little without it.
#
# Prints a markdown section; with --append, appends it to docs/performance.md.
# Usage: bench/convert_bench.sh [--append] [IMGTOOL_BINARY]
# Env: BENCH_DIR (default /var/tmp/imgtool-convert-bench), BENCH_RUNS (5),
#      BENCH_RUNS_C (3), BENCH_WARMUP (1), BENCH_CASES (regex on case names).
set -euo pipefail
cd "$(dirname "$0")/.."
append=0
if [ "${1:-}" = "--append" ]; then append=1; shift; fi
imgtool=$(realpath "${1:-build/bin/imgtool}")
runs=${BENCH_RUNS:-5}
runs_c=${BENCH_RUNS_C:-3}
warmup=${BENCH_WARMUP:-1}
dir=${BENCH_DIR:-/var/tmp/imgtool-convert-bench}
qflags="-m 2 -W"
qflags_c=${QEMU_FLAGS_C-"-m 2 -W"}
only=${BENCH_CASES:-.}
for t in qemu-img lscpu findmnt; do
  command -v "$t" >/dev/null || { echo "missing $t (scripts/deps.sh test)" >&2; exit 1; }
done
mkdir -p "$dir"
# shellcheck source=bench/host_memory.sh
. bench/host_memory.sh
hold_freed_pages

# make_source NAME DATA_CMD: 1 GiB raw with 8 x 64 MiB slices of DATA_CMD's output, plus a qcow2 copy.
make_source() {
  local raw=$dir/$1.raw
  if [ ! -e "$raw" ]; then
    $2 >"$dir/data.bin"
    truncate -s 1G "$raw.tmp"
    for i in $(seq 0 7); do
      dd if="$dir/data.bin" of="$raw.tmp" bs=1M count=64 skip=$((i * 64)) seek=$((i * 128)) conv=notrunc status=none
    done
    rm -f "$dir/data.bin"
    mv "$raw.tmp" "$raw"
  fi
  [ -e "$dir/$1.qcow2" ] || qemu-img convert -f raw -O qcow2 "$raw" "$dir/$1.qcow2"
}
random_data() { head -c 512M /dev/urandom; }
usr_data() { { tar cf - /usr/lib /usr/share 2>/dev/null || true; } | head -c 512M; }  # tar dies of SIGPIPE
make_source random random_data
make_source compressible usr_data
r=$dir/random z=$dir/compressible
sync

# name | imgtool args | qemu-img args (without SRC/DST) | SRC | compressed?
st="-O vmdk -o subformat=streamOptimized"
cases=(
  "qcow2 → raw (random)|-f qcow2 -O raw|$qflags -f qcow2 -O raw|$r.qcow2|0"
  "raw → qcow2 (random)|-f raw -O qcow2|$qflags -f raw -O qcow2|$r.raw|0"
  "raw → qcow2 -c zlib (compressible)|-f raw -O qcow2 -c|$qflags_c -f raw -O qcow2 -c|$z.raw|1"
  "raw → qcow2 -c zstd (compressible)|-f raw -O qcow2 -c -o compression_type=zstd|$qflags_c -f raw -O qcow2 -c -o compression_type=zstd|$z.raw|1"
  "raw → qcow2 -c zlib (random)|-f raw -O qcow2 -c|$qflags_c -f raw -O qcow2 -c|$r.raw|1"
  "qcow2 → vmdk streamOptimized (compressible)|-f qcow2 $st|$qflags_c -f qcow2 $st|$z.qcow2|1"
)

# Medians (s) of wall time, then CPU medians and peak RSS (MiB), in command order.
medians() {
  /usr/bin/python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.3f" % x["median"] for x in r), " ".join("%.2f" % x["cpu_median"] for x in r),
      " ".join(str(x["rss_kib"] // 1024) for x in r))' "$1"
}
ratio() { /usr/bin/python3 -c "print('%.2f' % ($1 / $2))"; }
load() { cut -d' ' -f1 /proc/loadavg; }

fs=$(findmnt -no FSTYPE,SOURCE -T "$dir" | tr -s ' ' ' ')
out=$(mktemp)
{
  echo
  echo "### convert: $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "- Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM," \
    "kernel $(uname -r); files in $dir ($fs)."
  echo "- Load (uptime) before: $(cut -d' ' -f1-3 /proc/loadavg); $page_reporting_note (bench/host_memory.sh)."
  echo "- imgtool $("$imgtool" --version | awk '{print $2}'), $(qemu-img --version | head -1)."
  echo "- qemu-img flags: \`$qflags\` uncompressed, \`$qflags_c\` compressed. bench/interleave.py: $warmup warm-up" \
    "round(s), then $runs rounds ($runs_c for the compressed cases) of the four commands in rotating order, each run" \
    "after \`rm -f OUT; sync\`. Median wall times in seconds; ratio = qemu-img / imgtool (> 1: imgtool faster);" \
    "CPU = median user + sys seconds of the unsafe pair."
  echo
  echo "| case | imgtool (fsync) | qemu-img && sync | ratio durable | imgtool -t unsafe | qemu-img | ratio unsafe | CPU imgtool / qemu-img | RSS imgtool / qemu-img (MiB) | load before → after |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$out"
for c in "${cases[@]}"; do
  IFS='|' read -r name iargs qargs src compressed <<<"$c"
  [[ $name =~ $only ]] || continue
  n=$runs
  [ "$compressed" = 1 ] && n=$runs_c
  json=$(mktemp)
  l0=$(load)
  echo "== $name" >&2
  /usr/bin/python3 bench/interleave.py --warmup "$warmup" --runs "$n" --json "$json" \
    --prepare "rm -f $dir/out; sync" --cleanup "rm -f $dir/out" \
    imgtool "$imgtool convert $iargs $src $dir/out" \
    "qemu-img && sync" "qemu-img convert $qargs $src $dir/out && sync $dir/out" \
    "imgtool -t unsafe" "$imgtool convert -t unsafe $iargs $src $dir/out" \
    qemu-img "qemu-img convert $qargs $src $dir/out"
  l1=$(load)
  read -r id qs iu q _ _ ciu cq _ _ riu rq <<<"$(medians "$json")"
  echo "| $name | $id | $qs | $(ratio "$qs" "$id") | $iu | $q | $(ratio "$q" "$iu") | $ciu / $cq | $riu / $rq | $l0 → $l1 |" >>"$out"
  cp "$json" "$dir/$(echo "$name" | tr -c 'a-zA-Z0-9' _).json"
  rm -f "$json" "$dir/out"
  sync
done
{
  echo
  echo "Load (uptime) after: $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$out"
cat "$out"
if [ $append = 1 ]; then
  grep -q '^## convert' docs/performance.md 2>/dev/null || printf '\n## convert\n' >>docs/performance.md
  cat "$out" >>docs/performance.md
fi
rm -f "$out"
