#!/usr/bin/env bash
# Publish benchmark (docs/performance.md, "publish"): a 1 GiB qcow2, half data
# and half holes, uploaded to the local Glance of tests/glance/glance-dev.sh by
#   1. the plain curl sequence (token, POST, PUT -T, GET): the server's limit
#   2. openstack image create --file
#   3. imgtool publish
# (curl -T streams the file like imgtool does; --data-binary @FILE would
# first read the whole file into memory) and, for conversion:
#   4. the curl sequence on the raw file converted beforehand (the limit)
#   5. qemu-img convert -m 2 -W -O raw (its fastest settings) + openstack image create
#   6. imgtool publish --convert-to raw (one pass, no temporary file)
# Wall time: hyperfine median of RUNS runs after one warm-up, `sync` before
# each run, the images made by a run deleted after it; peak RSS:
# /usr/bin/time -f %M of one more run. The machine and its load (uptime
# before and after) are printed with the tables.
# Usage: bench/publish_bench.sh [IMGTOOL] [RUNS]   (Glance must be running)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=${1:-$root/build/bin/imgtool}
RUNS=${2:-3}
env_file=${IMGTOOL_GLANCE_ENV:-$root/tests/glance/.state/env}
[ -f "$env_file" ] || { echo "no $env_file: run tests/glance/glance-dev.sh start" >&2; exit 1; }
# shellcheck disable=SC1090
source "$env_file"
glance_admin
work=$(mktemp -d "${TMPDIR:-/tmp}/publish-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
img=$work/half.qcow2
qemu-img create -q -f qcow2 "$img" 1G
cmds=""
for i in 0 2 4 6 8 10 12 14; do cmds+=" -c 'write -P $((i + 1)) $((i * 64))M 64M'"; done
eval qemu-io -f qcow2 "$cmds" "$img" >/dev/null
echo "image: $(du -h --apparent-size "$img" | cut -f1) qcow2, 512 MiB data + 512 MiB holes"

cat >"$work/curl.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
tok=\$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' \\
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"$OS_USERNAME","domain":{"name":"Default"},"password":"$OS_PASSWORD"}}},"scope":{"project":{"name":"$OS_PROJECT_NAME","domain":{"name":"Default"}}}}}' \\
  "$OS_AUTH_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
id=\$(curl -sf -H "X-Auth-Token: \$tok" -H 'Content-Type: application/json' \\
  -d '{"name":"bench-curl","disk_format":"qcow2","container_format":"bare"}' "$IMGTOOL_GLANCE_URL/v2/images" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -X PUT -H "X-Auth-Token: \$tok" -H 'Content-Type: application/octet-stream' \\
  -T "\$1" "$IMGTOOL_GLANCE_URL/v2/images/\$id/file"
curl -sf -H "X-Auth-Token: \$tok" "$IMGTOOL_GLANCE_URL/v2/images/\$id" >/dev/null
EOF
chmod +x "$work/curl.sh"

cleanup_cmd="openstack image list -f value -c ID -c Name | awk '/ bench-/{print \$1}' | xargs -r openstack image delete"

qemu-img convert -O raw "$img" "$work/pre.raw"
curl_q="$work/curl.sh $img"
osc_q="openstack image create --disk-format qcow2 --container-format bare --file $img bench-osc"
imgtool_q="$IMGTOOL publish --name bench-imgtool $img"
curl_r="$work/curl.sh $work/pre.raw"
osc_r="qemu-img convert -m 2 -W -O raw $img $work/tmp.raw && openstack image create --disk-format raw --container-format bare --file $work/tmp.raw bench-osc-raw"
imgtool_r="$IMGTOOL publish --convert-to raw --name bench-imgtool-raw $img"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "load before (uptime): $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/upload.json" --prepare "$cleanup_cmd; sync" --cleanup "$cleanup_cmd" \
  -n "curl sequence" "$curl_q" -n "openstack image create" "$osc_q" -n "imgtool publish" "$imgtool_q"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$work/convert.json" \
  --prepare "$cleanup_cmd; rm -f $work/tmp.raw; sync" --cleanup "$cleanup_cmd; rm -f $work/tmp.raw" \
  -n "curl sequence on the pre-converted raw" "$curl_r" \
  -n "qemu-img convert + openstack image create" "$osc_r" \
  -n "imgtool publish --convert-to raw" "$imgtool_r"

# Peak RSS (MiB) of the client side of one run; for the two-step path the larger of the two.
rss() {
  /usr/bin/time -o "$work/rss" -f %M bash -c "$1" >/dev/null 2>&1 || true
  echo $(($(tail -1 "$work/rss") / 1024))
}
declare -A mem
mem[q1]=$(rss "$curl_q") mem[q2]=$(rss "$osc_q") mem[q3]=$(rss "$imgtool_q")
mem[r1]=$(rss "$curl_r") mem[r2]=$(rss "$osc_r") mem[r3]=$(rss "$imgtool_r")
eval "$cleanup_cmd" >/dev/null 2>&1 || true
rm -f "$work/tmp.raw"

table() {  # table JSON KEY-PREFIX
  /usr/bin/python3 - "$1" "${mem[${2}1]}" "${mem[${2}2]}" "${mem[${2}3]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
limit = r[0]["median"]
print("| client | median (s) | min–max (s) | vs the curl limit | peak RSS (MiB) |")
print("|---|---:|---:|---:|---:|")
for x, m in zip(r, sys.argv[2:]):
    print("| %s | %.2f | %.2f–%.2f | %+.1f %% | %s |" % (x["command"], x["median"], x["min"], x["max"], 100 * (x["median"] / limit - 1), m))
PY
}
echo
table "$work/upload.json" q
echo
table "$work/convert.json" r
echo
echo "load after (uptime): $(cut -d' ' -f1-3 /proc/loadavg)"
