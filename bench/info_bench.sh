#!/usr/bin/env bash
# `imgtool info` vs `qemu-img info` on a sparse 1 TiB qcow2 and a sparse 1 TiB
# raw file, in the same hyperfine run (5 warm-ups, 40 runs, medians), plus
# peak RSS (/usr/bin/time -f %M), the machine and its load before and after.
# Usage: bench/info_bench.sh [IMGTOOL_BINARY]   (default: build/bin/imgtool)
# Prints a Markdown section to paste into docs/performance.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
imgtool=$(realpath -m "${1:-$root/build/bin/imgtool}")
[ -x "$imgtool" ] || { echo "no imgtool binary at $imgtool (build first or pass its path)" >&2; exit 1; }
for t in hyperfine qemu-img /usr/bin/time lscpu; do
  command -v "$t" >/dev/null || { echo "missing $t (scripts/deps.sh test)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
qemu-img create -q -f qcow2 big.qcow2 1T
truncate -s 1T big.raw

echo "## info"
echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load (uptime) before: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Versions: $("$imgtool" --version), $(qemu-img --version | head -1), $(hyperfine --version)."
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Script: bench/info_bench.sh."
echo
for img in big.qcow2 big.raw; do
  hyperfine -N --warmup 5 --runs 40 --export-json "$img.json" \
    -n "imgtool info $img" "$imgtool info $img" \
    -n "qemu-img info $img" "qemu-img info $img" \
    -n "imgtool --version (startup only)" "$imgtool --version" >/dev/null
  # Wall time is noisy on a shared machine; user+sys CPU time is reported too.
  /usr/bin/python3 - "$img.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| Command | wall median [ms] | wall mean ± σ [ms] | wall min [ms] | user+sys mean [ms] |")
print("|:---|---:|---:|---:|---:|")
for x in r:
    print(f"| `{x['command']}` | {x['median']*1e3:.1f} | {x['mean']*1e3:.1f} ± {x['stddev']*1e3:.1f} | {x['min']*1e3:.1f} | {(x['user']+x['system'])*1e3:.1f} |")
a, b = r[0], r[1]
print(f"\nRatio imgtool/qemu-img: wall median {a['median']/b['median']:.2f}, wall min {a['min']/b['min']:.2f}, "
      f"CPU {(a['user']+a['system'])/(b['user']+b['system']):.2f}.")
PY
  echo
  for tool in "$imgtool" qemu-img; do
    rss=$(/usr/bin/time -f %M "$tool" info "$img" 2>&1 >/dev/null | tail -n 1)
    echo "- peak RSS of \`$(basename "$tool") info $img\`: ${rss} KiB"
  done
  echo
done
echo "Load (uptime) after: $(cut -d' ' -f1-3 /proc/loadavg)."
