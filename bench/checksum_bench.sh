#!/usr/bin/env bash
# Benchmark: `imgtool checksum` (md5 + sha512 in one pass, one thread each)
# against md5sum then sha512sum and openssl dgst -md5 then -sha512, on the
# same file in page cache, in the same run (hyperfine), plus peak RSS and
# OpenSSL's single-core MD5 / SHA-512 speeds, which bound what one pass can
# reach: the slower of the two.
#
# Usage: bench/checksum_bench.sh [IMGTOOL] [SIZE_GIB]
#   IMGTOOL   default build/bin/imgtool;  SIZE_GIB default 4
# Env: BENCH_DIR (default /tmp/imgtool-checksum-bench), RUNS (default 3), WARMUP (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
imgtool=$(realpath "${1:-build/bin/imgtool}")
gib=${2:-4}
runs=${RUNS:-3}
warmup=${WARMUP:-1}
dir=${BENCH_DIR:-/tmp/imgtool-checksum-bench}
f=$dir/data-${gib}g.bin
mkdir -p "$dir"

for t in hyperfine openssl md5sum sha512sum /usr/bin/time; do
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
cat "$f" >/dev/null  # into the page cache
bytes=$(stat -c %s "$f")

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "openssl: $(openssl version)"
echo "coreutils: $(md5sum --version | head -1)"
echo "hyperfine: $(hyperfine --version)"
echo "file: $f ($bytes bytes, in page cache)"

echo "== openssl speed (single core, 1 MiB blocks)"
speed() {  # prints GB/s for one EVP digest
  openssl speed -evp "$1" -bytes 1048576 -seconds 3 2>/dev/null |
    awk -v a="$1" 'tolower($1)==a {v=$NF; sub(/k$/,"",v); printf "%.3f\n", v*1000/1e9}'
}
md5_gbs=$(speed md5)
sha512_gbs=$(speed sha512)
echo "md5: $md5_gbs GB/s   sha512: $sha512_gbs GB/s"

echo "== hyperfine ($runs runs)"
json=$dir/checksum_bench.json
hyperfine --runs "$runs" --warmup "$warmup" --export-json "$json" \
  -n imgtool "$imgtool checksum $f" \
  -n md5sum+sha512sum "md5sum $f && sha512sum $f" \
  -n openssl-dgst "openssl dgst -md5 $f && openssl dgst -sha512 $f"

echo "== peak RSS (/usr/bin/time)"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "imgtool checksum: $(rss "$imgtool" checksum "$f") KiB"
echo "md5sum:           $(rss md5sum "$f") KiB"
echo "sha512sum:        $(rss sha512sum "$f") KiB"

echo "== summary"
/usr/bin/python3 - "$json" "$bytes" "$md5_gbs" "$sha512_gbs" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
size = int(sys.argv[2]); md5, sha = float(sys.argv[3]), float(sys.argv[4])
limit = min(md5, sha)
im = res["imgtool"]["mean"]
for name, r in res.items():
    print(f"{name:18s} mean {r['mean']:.3f} s (min {r['min']:.3f}, max {r['max']:.3f})"
          f"  {size / r['mean'] / 1e9:.3f} GB/s  imgtool speed-up x{r['mean'] / im:.2f}")
print(f"limit (slower of openssl md5/sha512 single core): {limit:.3f} GB/s")
print(f"imgtool / limit: {size / im / 1e9 / limit * 100:.1f} % (target >= 90 %)")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
