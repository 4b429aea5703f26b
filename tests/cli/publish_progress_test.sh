#!/usr/bin/env bash
# `imgtool publish -p`: percentage, rate and ETA. No network: --dry-run reads,
# (converts,) hashes and reports progress exactly as an upload does.
# Without a terminal: "imgtool: progress:" lines; on a terminal (script(1)
# gives one): one line redrawn with \r. Env: IMGTOOL, IMGTOOL_BUILD_DIR.
# Set-up commands run under `set -e`: one that fails ends the test with a
# failure. Commands whose exit code is the point are run as `cmd || rc=$?`.
set -euo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
trap 'echo "FAIL: set-up command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/publish-progress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for tool in qemu-img script; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed: run scripts/deps.sh test" >&2; exit 1; }
done
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# The last "imgtool: progress:" line of a file, or nothing. (awk, not
# `grep | tail`: grep exits 1 when there is no such line, and pipefail
# would end the test there instead of reporting the missing line.)
last_progress() { awk '/^imgtool: progress:/ { l = $0 } END { print l }' "$1"; }

head -c 64M /dev/urandom >"$tmp/d.raw"
qemu-img convert -f raw -O qcow2 "$tmp/d.raw" "$tmp/d.qcow2"

# Known size: the last line is 100 %, the whole size, a rate and ETA 0:00.
"$IMGTOOL" publish --dry-run -p --output=json "$tmp/d.raw" >"$tmp/out" 2>"$tmp/err" || fail "dry run failed: $(cat "$tmp/err")"
last=$(last_progress "$tmp/err")
grep -qE '^imgtool: progress: 100\.0%  64\.0/64\.0 MiB  [0-9.]+ MiB/s  ETA 0:00$' <<<"$last" &&
  ok "known size: $last" || fail "known size, last progress line: '$last' (stderr: $(cat "$tmp/err"))"
/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" && ok "stdout stays JSON" ||
  fail "stdout is not JSON: $(head -c 300 "$tmp/out")"

# A conversion to raw: the size is the virtual size, known before the first byte.
"$IMGTOOL" publish --dry-run -p --convert-to raw "$tmp/d.qcow2" >/dev/null 2>"$tmp/err2" || fail "convert dry run failed"
last=$(last_progress "$tmp/err2")
grep -qE '^imgtool: progress: 100\.0%  64\.0/64\.0 MiB  [0-9.]+ MiB/s  ETA 0:00$' <<<"$last" &&
  ok "raw conversion, known size: $last" || fail "raw conversion, last progress line: '$last' (stderr: $(cat "$tmp/err2"))"

# A qcow2 planned before the first byte: a known size, 100 % at the end.
"$IMGTOOL" publish --dry-run -p --convert-to qcow2 "$tmp/d.raw" >/dev/null 2>"$tmp/err2" || fail "convert dry run failed"
last=$(last_progress "$tmp/err2")
grep -qE '^imgtool: progress: 100\.0%  64\.[0-9]/64\.[0-9] MiB  [0-9.]+ MiB/s  ETA 0:00$' <<<"$last" &&
  ok "planned qcow2: $last" || fail "planned qcow2, last progress line: '$last' (stderr: $(cat "$tmp/err2"))"

# Unknown size (compressed grains of a streamOptimized vmdk, whose size
# depends on the data): bytes and rate, no ETA.
"$IMGTOOL" publish --dry-run -p --convert-to vmdk -o subformat=streamOptimized "$tmp/d.raw" >/dev/null 2>"$tmp/err2" ||
  fail "convert dry run failed"
last=$(last_progress "$tmp/err2")
grep -qE '^imgtool: progress: [0-9.]+ [KM]iB  [0-9.]+ MiB/s$' <<<"$last" && ok "unknown size: $last" ||
  fail "unknown size, last progress line: '$last' (stderr: $(cat "$tmp/err2"))"

# On a terminal: redrawn in place with carriage returns, one final newline.
rc=0
tty_cmd="$(printf '%q ' "$IMGTOOL" publish --dry-run -p --output=json "$tmp/d.raw") 2>&1 >/dev/null"
script -qec "$tty_cmd" /dev/null >"$tmp/tty" 2>&1 || rc=$?
if [ $rc -eq 0 ] && grep -q $'\r *100\.0%  64\.0/64\.0 MiB' "$tmp/tty" && ! grep -q 'imgtool: progress:' "$tmp/tty"; then
  ok "tty: redrawn line"
else
  fail "tty output (rc=$rc): $(od -c "$tmp/tty" | head -5)"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
