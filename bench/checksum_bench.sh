#!/usr/bin/env bash
# Benchmark: `imgtool checksum` (md5 + sha512 in one pass, one thread per
# digest) against the same two digests by the usual tools run in parallel,
# on the same file in page cache, in the same run (bench/interleave.py:
# interleaved rounds, so a change of load on a shared machine hits every
# command alike; warm-up round, `sync` before each run):
#   md5sum F & sha512sum F; wait
#   openssl dgst -md5 F & openssl dgst -sha512 F; wait
# plus peak RSS and the limit: imgtool's two digests run on two cores at once,
# so one pass cannot beat the slower digest on one core. That is OpenSSL's
# MD5 here, measured with `openssl speed -evp md5 -bytes 16384` (single
# core, 16 KiB blocks, a few seconds: MD5 cannot be vectorised within one
# stream, so this is the best one core does).
#
# Usage: bench/checksum_bench.sh [IMGTOOL] [SIZE_GIB]
#   IMGTOOL   default build/bin/imgtool;  SIZE_GIB default 4
# Env: BENCH_DIR (default /var/tmp/imgtool-checksum-bench), RUNS (default 5), WARMUP (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
imgtool=$(realpath "${1:-build/bin/imgtool}")
gib=${2:-4}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
dir=${BENCH_DIR:-/var/tmp/imgtool-checksum-bench}
f=$dir/data-${gib}g.bin
mkdir -p "$dir"
# shellcheck source=bench/host_memory.sh
. bench/host_memory.sh
hold_freed_pages

for t in openssl md5sum sha512sum /usr/bin/time lscpu; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

# Non-sparse file of incompressible bytes (a 64 MiB random block repeated:
# hash speed does not depend on content, the page cache must hold real pages).
if [ ! -f "$f" ] || [ "$(stat -c %s "$f")" != $((gib << 30)) ]; then
  head -c 64M /dev/urandom >"$dir/block"
  : >"$f"
  for _ in $(seq $((gib * 16))); do cat "$dir/block" >>"$f"; done
  rm -f "$dir/block"
fi
sync
cat "$f" >/dev/null  # into the page cache
bytes=$(stat -c %s "$f")

echo "== machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M') UTC"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM"
echo "load before (uptime): $(cut -d' ' -f1-3 /proc/loadavg)"
echo "memory: $page_reporting_note (bench/host_memory.sh)"
echo "openssl: $(openssl version)"
echo "coreutils: $(md5sum --version | head -1)"
echo "file: $f ($bytes bytes, in page cache)"

echo "== openssl speed (single core, 16 KiB blocks, 3 s each)"
speed() {  # prints GB/s for one EVP digest
  openssl speed -evp "$1" -bytes 16384 -seconds 3 2>/dev/null |
    awk -v a="$1" 'tolower($1)==a {v=$NF; sub(/k$/,"",v); printf "%.3f\n", v*1000/1e9}'
}
md5_gbs=$(speed md5)
sha512_gbs=$(speed sha512)
echo "md5: $md5_gbs GB/s   sha512: $sha512_gbs GB/s"

echo "== interleaved rounds ($warmup warm-up, $runs runs, sync before each)"
json=$dir/checksum_bench.json
/usr/bin/python3 bench/interleave.py --runs "$runs" --warmup "$warmup" --prepare sync --json "$json" \
  imgtool "$imgtool checksum $f" \
  "md5sum & sha512sum" "md5sum $f & sha512sum $f; wait" \
  "openssl dgst -md5 & -sha512" "openssl dgst -md5 $f & openssl dgst -sha512 $f; wait"

echo "== peak RSS (/usr/bin/time)"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "imgtool checksum: $(rss "$imgtool" checksum "$f") KiB"
echo "md5sum:           $(rss md5sum "$f") KiB"
echo "sha512sum:        $(rss sha512sum "$f") KiB"

echo "== summary (medians)"
/usr/bin/python3 - "$json" "$bytes" "$md5_gbs" "$sha512_gbs" <<'EOF'
import json, sys
res = {r["name"]: r for r in json.load(open(sys.argv[1]))["results"]}
size = int(sys.argv[2]); md5, sha = float(sys.argv[3]), float(sys.argv[4])
limit = min(md5, sha)
im = res["imgtool"]["median"]
print("| command | median (s) | min–max (s) | CPU user + sys (s) | GB/s | imgtool is |")
print("|---|---:|---:|---:|---:|---:|")
for name, r in res.items():
    print(f"| `{name}` | {r['median']:.3f} | {r['min']:.3f}–{r['max']:.3f} | {r['cpu_median']:.2f} "
          f"| {size / r['median'] / 1e9:.3f} "
          f"| {'—' if name == 'imgtool' else '%.2f× faster' % (r['median'] / im)} |")
print(f"\nlimit (slower of openssl md5 / sha512, one core, 16 KiB blocks): {limit:.3f} GB/s")
print(f"imgtool / limit: {size / im / 1e9 / limit * 100:.1f} % (target >= 90 %)")
EOF
echo "load after (uptime): $(cut -d' ' -f1-3 /proc/loadavg)"
