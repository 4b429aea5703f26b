#!/usr/bin/env bash
# `imgtool info` vs `qemu-img info` on a sparse 1 TiB qcow2 and a sparse 1 TiB
# raw file, in the same hyperfine run (5 warm-ups, 40 runs, medians), plus
# peak RSS (/usr/bin/time -f %M), the machine and its load before and after.
# Usage: bench/info_bench.sh [IMGTOOL_BINARY]   (default: build/bin/imgtool)
# Prints Markdown sections to paste into docs/performance.md: "info", then
# "Startup" (interleaved rounds, medians; IMGTOOL_BENCH_ROUNDS, default 31).
# IMGTOOL_BENCH_ONLY=startup runs the Startup part alone.
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

if [ "${IMGTOOL_BENCH_ONLY:-}" != startup ]; then
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
fi

# ---- Startup ---------------------------------------------------------------------------
# `imgtool info` against `qemu-img info` on the sparse 1 TiB qcow2, interleaved:
# each round is one hyperfine invocation (-N, 3 warm-ups and 1 timed run of
# each command), and the rounds alternate which command goes first, so a
# change of machine load during the bench hits both alike. Medians over the
# rounds; peak RSS (/usr/bin/time -f %M) from interleaved runs too.
rounds=${IMGTOOL_BENCH_ROUNDS:-31}
echo "## Startup"
echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average before $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Versions: $("$imgtool" --version), $(qemu-img --version | head -1), $(hyperfine --version)."
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Script: IMGTOOL_BENCH_ONLY=startup bench/info_bench.sh ($rounds rounds)."
echo
# What the dynamic loader loads: linked (ldd) and actually initialized by `info`.
loaded() { # BINARY ARGS...: shared libraries the loader initialized (LD_DEBUG=libs)
  rm -f "$work/ld".*
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$work/ld" "$@" >/dev/null 2>&1 || true
  cat "$work/ld".* | grep -c 'calling init:' || true
}
echo "- shared libraries linked (ldd): imgtool $(ldd "$imgtool" | grep -c '=>'), qemu-img $(ldd "$(command -v qemu-img)" | grep -c '=>');" \
  "objects the loader initializes for \`info\` (LD_DEBUG=libs): imgtool $(loaded "$imgtool" info big.qcow2), qemu-img $(loaded qemu-img info big.qcow2)."
stats() { # BINARY ARGS...: median of 9 runs of the loader's startup cycles (LD_DEBUG=statistics)
  for _ in 1 2 3 4 5 6 7 8 9; do
    LD_DEBUG=statistics "$@" 2>&1 >/dev/null | sed -n 's/.*total startup time in dynamic loader: *\([0-9]*\) cycles.*/\1/p' | head -1
  done | sort -n | sed -n 5p
}
echo "- dynamic loader startup (LD_DEBUG=statistics, median of 9): imgtool $(stats "$imgtool" info big.qcow2) cycles," \
  "qemu-img $(stats qemu-img info big.qcow2) cycles; relocations: imgtool" \
  "$(LD_DEBUG=statistics "$imgtool" info big.qcow2 2>&1 >/dev/null | sed -n 's/.*final number of relocations: *//p' | head -1)," \
  "qemu-img $(LD_DEBUG=statistics qemu-img info big.qcow2 2>&1 >/dev/null | sed -n 's/.*final number of relocations: *//p' | head -1)."
echo
for r in $(seq 1 "$rounds"); do
  a=("-n" "imgtool info" "$imgtool info big.qcow2")
  b=("-n" "qemu-img info" "qemu-img info big.qcow2")
  c=("-n" "imgtool --version" "$imgtool --version")
  if ((r % 2)); then order=("${a[@]}" "${b[@]}" "${c[@]}"); else order=("${b[@]}" "${a[@]}" "${c[@]}"); fi
  hyperfine -N --warmup 3 --runs 1 --export-json "$work/startup.$r.json" "${order[@]}" >/dev/null 2>&1
done
rss_runs=11
for _ in $(seq 1 "$rss_runs"); do
  /usr/bin/time -a -o "$work/rss.imgtool" -f %M "$imgtool" info big.qcow2 >/dev/null
  /usr/bin/time -a -o "$work/rss.qemu" -f %M qemu-img info big.qcow2 >/dev/null
done
/usr/bin/python3 - "$work" "$rounds" "$rss_runs" <<'PY'
import json, statistics as st, sys
work, rounds, rss_runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wall, cpu = {}, {}
paired = []  # imgtool/qemu-img wall ratio within each round
for r in range(1, rounds + 1):
    res = {x["command"]: x for x in json.load(open(f"{work}/startup.{r}.json"))["results"]}
    for name, x in res.items():
        wall.setdefault(name, []).append(x["times"][0] * 1e3)
        cpu.setdefault(name, []).append((x["user"] + x["system"]) * 1e3)
    paired.append(res["imgtool info"]["times"][0] / res["qemu-img info"]["times"][0])
rss = {k: [int(v) for v in open(f"{work}/rss.{k}").read().split()] for k in ("imgtool", "qemu")}
print(f"| {rounds} interleaved rounds | wall median [ms] | wall min [ms] | user+sys median [ms] | peak RSS median [KiB] |")
print("|:---|---:|---:|---:|---:|")
rss_of = {"imgtool info": st.median(rss["imgtool"]), "qemu-img info": st.median(rss["qemu"])}
for name in ("imgtool info", "qemu-img info", "imgtool --version"):
    r = f"{rss_of[name]:.0f}" if name in rss_of else "—"
    print(f"| `{name}` | {st.median(wall[name]):.2f} | {min(wall[name]):.2f} | {st.median(cpu[name]):.2f} | {r} |")
mi, mq = st.median(wall["imgtool info"]), st.median(wall["qemu-img info"])
print(f"\nimgtool/qemu-img: median wall {mi / mq:.2f} (median of the per-round ratios {st.median(paired):.2f}, "
      f"imgtool faster in {sum(p < 1 for p in paired)} of {rounds} rounds); "
      f"peak RSS {rss_of['imgtool info'] - rss_of['qemu-img info']:+.0f} KiB "
      f"(medians of {rss_runs} runs each, max {max(rss['imgtool'])} / {max(rss['qemu'])} KiB).")
print(f"Targets: wall median at most qemu-img's: {'met' if mi <= mq else 'NOT met'}; "
      f"RSS at most qemu-img's + 4 MiB: {'met' if rss_of['imgtool info'] <= rss_of['qemu-img info'] + 4096 else 'NOT met'}.")
PY
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
