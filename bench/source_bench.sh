#!/usr/bin/env bash
# Any-source benchmark (docs/performance.md, "publish from a URL"): a vendor's
# compressed image, served over HTTP from 127.0.0.1, into the local Glance of
# tests/glance/glance-dev.sh as raw:
#   pipeline  curl -o f.qcow2.xz URL && xz -d f.qcow2.xz &&
#             qemu-img convert -m 2 -W -O raw f.qcow2 f.raw &&
#             openstack image create --disk-format raw --file f.raw
#   imgtool   imgtool publish --convert-to raw URL (download, decompress,
#             convert, hash and upload in one pipeline; nothing on local disk)
# The image: 1 GiB virtual, 512 MiB of compressible data (slices of a tar of
# /usr/lib and /usr/share) in 8 runs, written in guest order by qemu-img,
# then xz -6. Reported per command: median wall time over RUNS rounds (the two
# commands alternate which goes first, `sync` before each run, the image
# deleted after), peak RSS (the largest of the pipeline's steps) and the bytes
# the commands wrote to local files (getrusage's block output, which Linux
# charges when a page is dirtied, so it counts what was written even if it
# never reached the disk; the HTTP server and Glance are not children of the
# commands, so their own writes are not counted). Machine and load are printed.
# Usage: bench/source_bench.sh [IMGTOOL] [RUNS]   (Glance must be running)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(realpath "${1:-$root/build/bin/imgtool}")
RUNS=${2:-3}
env_file=${IMGTOOL_GLANCE_ENV:-$root/tests/glance/.state/env}
[ -f "$env_file" ] || { echo "no $env_file: run tests/glance/glance-dev.sh start" >&2; exit 1; }
# shellcheck disable=SC1090
source "$env_file"
glance_admin
data=${BENCH_DIR:-/var/tmp/imgtool-source-bench}
mkdir -p "$data"
work=$(mktemp -d "${TMPDIR:-/tmp}/source-bench.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

src=$data/vendor.qcow2
if [ ! -e "$data/vendor.qcow2.xz" ]; then
  # (tar ends with SIGPIPE once head has its bytes: not an error here)
  tar -cf - /usr/lib /usr/share 2>/dev/null | head -c $((512 << 20)) >"$data/data.bin" || true
  qemu-img create -q -f raw "$data/v.raw" 1G
  for i in 0 1 2 3 4 5 6 7; do
    dd if="$data/data.bin" of="$data/v.raw" bs=1M count=64 skip=$((i * 64)) seek=$((i * 128)) conv=notrunc status=none
  done
  qemu-img convert -O qcow2 "$data/v.raw" "$src"
  xz -6 -T2 -k -c "$src" >"$data/vendor.qcow2.xz"
  rm -f "$data/v.raw" "$data/data.bin"
fi
port_file=$work/port
/usr/bin/python3 - "$data" "$port_file" <<'PY' &
import http.server, os, socketserver, sys, functools
d, pf = sys.argv[1], sys.argv[2]
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=d)
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
open(pf + ".tmp", "w").write(str(s.server_address[1])); os.rename(pf + ".tmp", pf)
s.serve_forever()
PY
server_pid=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$port_file")/vendor.qcow2.xz"

cat >"$work/pipeline.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
cd "$work"
curl -sf -o f.qcow2.xz "$url"
xz -d -T2 f.qcow2.xz
qemu-img convert -m 2 -W -O raw f.qcow2 f.raw
openstack image create --disk-format raw --container-format bare --file f.raw bench-src-pipeline >/dev/null
rm -f f.qcow2 f.raw
EOF
chmod +x "$work/pipeline.sh"
pipeline="$work/pipeline.sh"
imgtool_cmd="$IMGTOOL publish --convert-to raw --name bench-src-imgtool $url"
delete_images() {
  openstack image list -f value -c ID -c Name | awk '/ bench-src-/{print $1}' | xargs -r openstack image delete
}

# run NAME CMD: appends "wall rss_kib written_bytes" to $work/NAME
run() {
  sync
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$(/usr/bin/time -f '%M %O' bash -c "$2" 2>&1 >/dev/null | tail -1)
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) ${out% *} $((${out#* } * 512))" >>"$work/$1"
  delete_images
}

echo "== machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "source: $(stat -c %s "$data/vendor.qcow2.xz") bytes of xz; qcow2 $(stat -c %s "$src") bytes, 1 GiB virtual"
delete_images
run warmup "$imgtool_cmd"
for i in $(seq "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then
    run pipeline "$pipeline"
    run imgtool "$imgtool_cmd"
  else
    run imgtool "$imgtool_cmd"
    run pipeline "$pipeline"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "| $RUNS runs | wall median (s) | peak RSS (MiB) | written to local files (MiB) |"
echo "|---|---:|---:|---:|"
for n in pipeline imgtool; do
  w=$(cut -d' ' -f1 "$work/$n" | med)
  r=$(cut -d' ' -f2 "$work/$n" | sort -n | tail -1)
  b=$(cut -d' ' -f3 "$work/$n" | med)
  printf '| %s | %.2f | %d | %.1f |\n' "$n" "$w" $((r / 1024)) "$(echo "$b / 1048576" | bc -l)"
done
