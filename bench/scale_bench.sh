#!/usr/bin/env bash
# Glance at scale (docs/performance.md, "one read, several targets"): one
# 512 MiB raw image (random data, so nothing is skipped) into the local
# services of tests/glance/glance-dev.sh:
#   one cloud     imgtool publish F                      (the reference upload)
#   two clouds    imgtool publish --os-cloud A --os-cloud B F
#                 against openstackclient at its fastest: one `image create`
#                 per cloud, both at once (`&` … `wait`)
#   three stores  imgtool publish --store fast --store slow --store cold F
#                 against glanceclient's `glance image-create-via-import
#                 --stores fast,slow,cold` (the openstackclient in Debian 12
#                 has neither `image create --store` nor `image import`),
#                 then polling until the image is in all three (glanceclient
#                 does not wait; imgtool waits and verifies)
# Reported per case: median wall time over RUNS rounds (cases alternate
# order, `sync` before each, images deleted after), peak RSS (the largest
# process), and the bytes the commands read through read(2) (rchar of the
# wrapper shell, which the kernel credits with its reaped children: the
# source's bytes, plus python modules and HTTP answers for openstackclient).
# Usage: bench/scale_bench.sh [IMGTOOL] [RUNS]   (Glance must be running)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
IMGTOOL=$(realpath "${1:-$root/build/bin/imgtool}")
RUNS=${2:-3}
env_file=${IMGTOOL_GLANCE_ENV:-$root/tests/glance/.state/env}
[ -f "$env_file" ] || { echo "no $env_file: run tests/glance/glance-dev.sh start" >&2; exit 1; }
# shellcheck disable=SC1090
source "$env_file"
export OS_CLIENT_CONFIG_FILE=$IMGTOOL_GLANCE_CLOUDS_YAML
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_REGION_NAME 2>/dev/null || true
A=glance-dev-admin B=glance-dev-admin-two
work=$(mktemp -d "${TMPDIR:-/tmp}/scale-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
F=$work/disk.raw
head -c $((512 << 20)) /dev/urandom >"$F"

cat >"$work/osc_clouds.sh" <<END_CLOUDS
#!/usr/bin/env bash
set -euo pipefail
openstack --os-cloud $A image create --disk-format raw --container-format bare --file $F bench-scale-osc >/dev/null &
openstack --os-cloud $B image create --disk-format raw --container-format bare --file $F bench-scale-osc >/dev/null &
wait
END_CLOUDS
cat >"$work/glance_stores.sh" <<END_STORES
#!/usr/bin/env bash
set -euo pipefail
source "$env_file"
glance_admin
id=\$(glance --os-image-api-version 2 image-create-via-import --disk-format raw --container-format bare \\
  --name bench-scale-glance --stores fast,slow,cold --import-method glance-direct <$F | awk '/^\\| id /{print \$4}')
for _ in \$(seq 3000); do
  s=\$(glance image-show "\$id" | awk '/^\\| stores /{print \$4}')
  [ "\$s" = fast,slow,cold ] && exit 0
  sleep 0.2
done
exit 1
END_STORES
chmod +x "$work/osc_clouds.sh" "$work/glance_stores.sh"
declare -A cmd=(
  [imgtool_one]="$IMGTOOL publish --os-cloud $A --name bench-scale-imgtool $F"
  [imgtool_clouds]="$IMGTOOL publish --os-cloud $A --os-cloud $B --name bench-scale-imgtool $F"
  [osc_clouds]="$work/osc_clouds.sh"
  [imgtool_stores]="$IMGTOOL publish --os-cloud $A --store fast --store slow --store cold --name bench-scale-imgtool $F"
  [glance_stores]="$work/glance_stores.sh"
)
order=(imgtool_one imgtool_clouds osc_clouds imgtool_stores glance_stores)

delete_images() {
  for c in $A $B; do
    openstack --os-cloud "$c" image list -f value -c ID -c Name | awk '/ bench-scale-/{print $1}' |
      xargs -r openstack --os-cloud "$c" image delete
  done
}

# run NAME: appends "wall rss_kib rchar" to $work/NAME.out; a failed command
# stops the benchmark.
run() {
  sync
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$(/usr/bin/time -f '%M' bash -c "${cmd[$1]} >/dev/null || { echo 'FAILED: $1' >&2; exit 1; }
    awk '/^rchar/{print \$2}' /proc/\$\$/io >&2" 2>&1 | tail -2 | tr '\n' ' ')
  case "$out" in *FAILED*) echo "$out" >&2; exit 1 ;; esac
  t1=$(date +%s.%N)
  read -r rchar rss <<<"$out"
  echo "$(echo "$t1 - $t0" | bc) $rss $rchar" >>"$work/$1.out"
  delete_images
}

echo "== machine"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image: $(stat -c %s "$F") bytes raw"
delete_images
run imgtool_one && rm -f "$work/imgtool_one.out"  # warm-up
for i in $(seq "$RUNS"); do
  if [ $((i % 2)) -eq 1 ]; then list=("${order[@]}"); else mapfile -t list < <(printf '%s\n' "${order[@]}" | tac); fi
  for n in "${list[@]}"; do run "$n"; done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "| $RUNS runs | wall median (s) | peak RSS (MiB) | bytes read (MiB) |"
echo "|---|---:|---:|---:|"
for n in "${order[@]}"; do
  w=$(cut -d' ' -f1 "$work/$n.out" | med)
  r=$(cut -d' ' -f2 "$work/$n.out" | sort -n | tail -1)
  b=$(cut -d' ' -f3 "$work/$n.out" | med)
  printf '| %s | %.2f | %d | %.0f |\n' "$n" "$w" $((r / 1024)) "$(echo "$b / 1048576" | bc -l)"
done
