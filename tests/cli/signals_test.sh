#!/usr/bin/env bash
# SIGINT and SIGTERM end every subcommand quickly (docs/cli.md "Signals"):
# each command is started on an input that keeps it busy for many seconds,
# signalled once its handlers are installed and 0.5 s have passed, and must
# exit 130 within a second of the signal, with one line on stderr, no DST and
# no temporary file (DST.imgtool-XXXXXX).
# Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR; SIGNALS_MAX_MS overrides the
# 1000 ms limit (for sanitizer builds on a loaded machine).
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
max_ms=${SIGNALS_MAX_MS:-1000}
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/signals.XXXXXX")
cleanup() {
  exec 7>&- 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# --- fixtures: sparse or metadata-only, so they cost little disk and time ----
# 64 GiB of holes: hashing or compressing its zeros takes minutes.
sparse=$tmp/sparse.raw
truncate -s 64G "$sparse"
# A fully allocated 8 GiB qcow2 with 512-byte clusters (16 M L2 entries and
# refcounts for `check` to walk); its data clusters are holes. Written
# directly: qemu-img's preallocation=metadata needs minutes for this.
qcow=$tmp/busy.qcow2
/usr/bin/python3 - "$qcow" $((8 << 30)) <<'PY' || fail "cannot build $qcow"
import array, struct, sys

path, vsize = sys.argv[1], int(sys.argv[2])
C, COPIED = 512, 1 << 63  # qcow2.txt: cluster_bits 9; L1/L2 bit 63 = refcount is exactly 1
N = vsize // C  # data clusters
n_l2 = -(-N // (C // 8))
l1_clusters = -(-n_l2 * 8 // C)
n_rb, rt_clusters = 0, 1
while True:  # refcount blocks count themselves: iterate to the fixed point
    total = 1 + l1_clusters + rt_clusters + n_rb + n_l2 + N
    rb = -(-total // (C // 2))  # refcount_order 4: 16-bit refcounts
    rt = -(-rb * 8 // C)
    if (rb, rt) == (n_rb, rt_clusters):
        break
    n_rb, rt_clusters = rb, rt
l1_off = C
rt_off = l1_off + l1_clusters * C
rb_off = rt_off + rt_clusters * C
l2_off = rb_off + n_rb * C
data_off = l2_off + n_l2 * C


def be(code, values):
    a = array.array(code, values)
    if sys.byteorder == "little":
        a.byteswap()
    return a.tobytes()


def pad(b):
    return b + bytes(-len(b) % C)


with open(path, "wb") as f:
    f.write(pad(struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 9, vsize, 0, n_l2, l1_off, rt_off,
                            rt_clusters, 0, 0, 0, 0, 0, 4, 104)))
    f.write(pad(be("Q", range(l2_off | COPIED, (l2_off + n_l2 * C) | COPIED, C))))
    f.write(pad(be("Q", range(rb_off, rb_off + n_rb * C, C))))
    f.write(pad(be("H", [1]) * total))
    step = 1 << 20
    for first in range(0, N, step):
        last = min(N, first + step)
        f.write(be("Q", range((data_off + first * C) | COPIED, (data_off + last * C) | COPIED, C)))
    f.write(bytes(data_off - f.tell()))
    f.truncate(data_off + N * C)
PY
# A FIFO nobody writes to: open() blocks until the signal interrupts it.
fifo=$tmp/fifo
mkfifo "$fifo"
# stdin that delivers some data and then stays open without more (held open
# read-write on fd 7, so there is never an EOF).
idle=$tmp/idle
mkfifo "$idle"
exec 7<>"$idle"
out=$tmp/out  # DST directory: must stay empty
mkdir "$out"

# --- the measurement -----------------------------------------------------------
now_us() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t)); }

# True once the process catches SIGINT (bit 1) and SIGTERM (bit 14): a signal
# sent earlier would hit the default action (or SIG_IGN, which a background
# job of a non-interactive shell inherits for SIGINT).
handlers_installed() {
  local mask
  mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$mask" ] && (((16#$mask >> 1) & 1)) && (((16#$mask >> 14) & 1))
}

# signal_case NAME SIG FORCED_OK: $pid is the imgtool started by the caller,
# with stderr in $tmp/err. FORCED_OK=1 accepts the CLI's backstop (a forced
# exit of a read-only command whose current step does not poll).
signal_case() {
  local name=$1 sig=$2 forced_ok=$3 deadline
  deadline=$(($(now_us) + 10000000))
  until handlers_installed "$pid" || [ "$(now_us)" -gt $deadline ]; do sleep 0.01; done
  sleep 0.5
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    fail "$name $sig: finished (rc=$?) before the signal; the fixture is too small: $(head -c 300 "$tmp/err")"
    return
  fi
  local t0 t1 rc guard
  t0=$(now_us)
  kill "-$sig" "$pid"
  # A regression must fail, not hang: SIGKILL after 5 s.
  (
    deadline=$((t0 + 5000000))
    while kill -0 "$pid" 2>/dev/null; do
      [ "$(now_us)" -gt $deadline ] && exec kill -KILL "$pid"
      sleep 0.02
    done
  ) &
  guard=$!
  wait "$pid"
  rc=$?
  t1=$(now_us)
  kill "$guard" 2>/dev/null
  wait "$guard" 2>/dev/null
  local ms=$(((t1 - t0) / 1000))
  if [ ! -d "$tmp" ]; then  # seen on a busy shared machine: nothing here removes it before the end
    fail "$name $sig: the test directory $tmp disappeared (removed by another process?); stopping"
    exit 1
  fi
  local lines err left temps
  lines=$(wc -l <"$tmp/err")
  err=$(head -c 400 "$tmp/err")
  left=$(ls -A "$out")
  temps=$(find "$tmp" -name '*.imgtool-*' | head -3)
  # The interruption may name the file it was reading.
  local expect="^imgtool: (.*: )?interrupted by SIG$sig\$" how="polled"
  if [ "$forced_ok" = 1 ] && grep -q "^imgtool: interrupted by SIG$sig (forced exit" "$tmp/err"; then
    expect="^imgtool: interrupted by SIG$sig \\(forced exit"
    how="backstop"
  fi
  if [ "$rc" -eq 130 ] && [ "$ms" -le "$max_ms" ] && [ "$lines" -eq 1 ] && grep -Eq "$expect" "$tmp/err" &&
    [ -z "$left" ] && [ -z "$temps" ]; then
    ok "$name $sig: exit 130 after $ms ms ($how)"
  else
    fail "$name $sig: rc=$rc after $ms ms (limit $max_ms), $lines stderr line(s): '$err', left in DST dir: '$left', temporary files: '$temps'"
  fi
  rm -f "$out"/* "$out"/.??* 2>/dev/null
}

for sig in INT TERM; do
  # (info and check refuse a FIFO at once: tests/cli/input_files_test.sh.)
  # The qcow2 walk polls for the signal itself.
  "$IMGTOOL" check "$qcow" >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "check (8 GiB qcow2, 512-byte clusters)" $sig 0

  "$IMGTOOL" checksum "$sparse" >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "checksum (64 GiB of holes)" $sig 0

  "$IMGTOOL" checksum "$fifo" >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "checksum (open of a FIFO blocks)" $sig 0

  # $! of a background pipeline is its last command: imgtool.
  cat /dev/zero | "$IMGTOOL" checksum - >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "checksum - (cat /dev/zero |)" $sig 0

  # 64 MiB (the hash threads are running), then a read that blocks.
  timeout 30 head -c 64M /dev/zero >&7 &
  writer=$!
  "$IMGTOOL" checksum - <&7 >/dev/null 2>"$tmp/err" &
  pid=$!
  wait "$writer"
  signal_case "checksum - (stdin idle after 64 MiB)" $sig 0

  # Compression of zeros on 16 workers: each worker holds a 2 MiB job.
  "$IMGTOOL" convert -S 0 -c -m 16 -O qcow2 "$sparse" "$out/c.qcow2" >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "convert -c -m 16" $sig 0

  "$IMGTOOL" publish --dry-run "$sparse" >/dev/null 2>"$tmp/err" &
  pid=$!
  signal_case "publish --dry-run" $sig 0
done

[ $fails -eq 0 ] || {
  echo "$fails failure(s)"
  exit 1
}
echo "all signal checks passed"
