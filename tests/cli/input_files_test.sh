#!/usr/bin/env bash
# What `imgtool info` and `imgtool check` accept as FILE: regular files and
# block devices are read; a FIFO, a socket or a character device is refused at
# once with one line (opening a FIFO for reading used to block until a writer
# appeared, i.e. for ever). Every run is under `timeout`, so a regression fails
# instead of hanging. Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/input-files.XXXXXX")
loop=""
sockpid=""
cleanup() {
  if [ -n "$sockpid" ]; then kill "$sockpid" 2>/dev/null; wait "$sockpid" 2>/dev/null; fi
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# refused CMD PATH WORDS: exit 1 within a second, exactly one stderr line that
# names PATH and says WORDS, nothing on stdout.
refused() {
  local cmd=$1 path=$2 words=$3 start end rc ms lines
  start=$(date +%s%N)
  timeout 5 "$IMGTOOL" "$cmd" "$path" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  lines=$(wc -l <"$tmp/err")
  if [ $rc -eq 1 ] && [ "$ms" -lt 1000 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/out" ] &&
    grep -qF "imgtool: $path: $words" "$tmp/err"; then
    ok "$cmd $path: refused in ${ms} ms: $(cat "$tmp/err")"
  else
    fail "$cmd $path: rc=$rc (124 = hung), ${ms} ms, $lines stderr line(s): $(head -c 500 "$tmp/err")"
  fi
}

# --- FIFO: no writer ever comes ---------------------------------------------
mkfifo "$tmp/fifo"
refused info "$tmp/fifo" "is a FIFO"
refused check "$tmp/fifo" "is a FIFO"

# --- character devices ---------------------------------------------------------
for dev in /dev/null /dev/zero; do
  refused info "$dev" "is a character device"
  refused check "$dev" "is a character device"
done

# --- a socket --------------------------------------------------------------------
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); time.sleep(60)' "$tmp/sock" &
sockpid=$!
for _ in $(seq 1 100); do [ -S "$tmp/sock" ] && break; sleep 0.05; done
refused info "$tmp/sock" "is a socket"

# --- a block device holding a qcow2 is read -----------------------------------------
qemu-img create -q -f qcow2 "$tmp/img.qcow2" 64M
qemu-io -f qcow2 -c 'write -P 0x5a 1M 2M' "$tmp/img.qcow2" >/dev/null
# The device is larger than the image: info must still find the qcow2 header.
cp "$tmp/img.qcow2" "$tmp/backing.bin" && truncate -s 16M "$tmp/backing.bin"
if loop=$(losetup -f --show "$tmp/backing.bin" 2>/dev/null); then
  out=$(timeout 10 "$IMGTOOL" info "$loop" 2>&1)
  rc=$?
  want=$(qemu-img info -U "$loop" 2>&1)
  [ $rc -eq 0 ] && [ "$out" = "$want" ] && ok "info $loop equals qemu-img info" ||
    fail "info $loop: rc=$rc"$'\n'"--- imgtool:"$'\n'"$out"$'\n'"--- qemu-img:"$'\n'"$want"
  out=$(timeout 10 "$IMGTOOL" check "$loop" 2>&1)
  rc=$?
  [ $rc -eq 0 ] && grep -q "No errors were found" <<<"$out" && ok "check $loop" || fail "check $loop: rc=$rc $out"
else
  echo "skip: no loop device available"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all input file checks passed"
