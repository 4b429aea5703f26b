#!/usr/bin/env bash
# `imgtool publish -p`: percentage, rate and ETA. No network: --dry-run reads,
# (converts,) hashes and reports progress exactly as an upload does.
# Without a terminal: "imgtool: progress:" lines; on a terminal (script(1)
# gives one): one line redrawn with \r. Env: IMGTOOL, IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/publish-progress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

head -c 64M /dev/urandom >"$tmp/d.raw"
qemu-img convert -f raw -O qcow2 "$tmp/d.raw" "$tmp/d.qcow2"

# Known size: the last line is 100 %, the whole size, a rate and ETA 0:00.
"$IMGTOOL" publish --dry-run -p --output=json "$tmp/d.raw" >"$tmp/out" 2>"$tmp/err" || fail "dry run failed: $(cat "$tmp/err")"
last=$(grep '^imgtool: progress:' "$tmp/err" | tail -1)
grep -qE '^imgtool: progress: 100\.0%  64\.0/64\.0 MiB  [0-9.]+ MiB/s  ETA 0:00$' <<<"$last" &&
  ok "known size: $last" || fail "known size, last progress line: '$last' (stderr: $(cat "$tmp/err"))"
/usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" && ok "stdout stays JSON" ||
  fail "stdout is not JSON: $(head -c 300 "$tmp/out")"

# Unknown size (a conversion streamed into the body): bytes and rate, no ETA.
"$IMGTOOL" publish --dry-run -p --convert-to raw "$tmp/d.qcow2" >/dev/null 2>"$tmp/err2" || fail "convert dry run failed"
last=$(grep '^imgtool: progress:' "$tmp/err2" | tail -1)
grep -qE '^imgtool: progress: 64\.0 MiB  [0-9.]+ MiB/s$' <<<"$last" && ok "unknown size: $last" ||
  fail "unknown size, last progress line: '$last' (stderr: $(cat "$tmp/err2"))"

# On a terminal: redrawn in place with carriage returns, one final newline.
if command -v script >/dev/null; then
  script -qec "$IMGTOOL publish --dry-run -p --output=json $tmp/d.raw 2>&1 >/dev/null" /dev/null >"$tmp/tty" 2>&1
  if grep -q $'\r *100\.0%  64\.0/64\.0 MiB' "$tmp/tty" && ! grep -q 'imgtool: progress:' "$tmp/tty"; then
    ok "tty: redrawn line"
  else
    fail "tty output: $(od -c "$tmp/tty" | head -5)"
  fi
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
