#!/usr/bin/env bash
# Runs `imgtool map` (human and JSON), `measure` (-O qcow2 and -O vmdk) and
# `compare` (the image with itself) on every hostile image made by
# tests/images/make_hostile.sh. Each image is assessed first, so the exit code
# follows `check`'s verdict: clean or leaks -> 0 and an empty stderr; unsafe
# -> 4 (compare: 2, qemu-img's "cannot open"); unreadable or corrupt -> 1
# (compare: 2). Per run: no crash, done within 5 s, peak RSS < 200 MB, and an
# error is exactly one stderr line "imgtool: ..." naming the file, never an
# "internal error". Env: IMGTOOL (binary), IMGTOOL_SOURCE_DIR, IMGTOOL_BUILD_DIR.
set -euo pipefail
: "${IMGTOOL:?}" "${IMGTOOL_SOURCE_DIR:?}"
trap 'echo "FAIL: set-up command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
[ -x /usr/bin/time ] || { echo "FAIL: /usr/bin/time is not installed: run scripts/deps.sh test"; exit 1; }
work=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/readside-hostile.XXXXXX")
trap 'chmod -R u+rwx "$work"; rm -rf "$work"' EXIT
bash "$IMGTOOL_SOURCE_DIR/tests/images/make_hostile.sh" "$work" >/dev/null
cd "$work"
n_cases=$(wc -l <expected.tsv)
[ "$n_cases" -ge 20 ] || { echo "FAIL: make_hostile.sh made only $n_cases cases"; exit 1; }

fails=0 n_run=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

while IFS=$'\t' read -r name _info_rc check_rc _want; do
  # Permissions are hostile_test.sh's business (it runs that case as nobody).
  [ "$name" = no-permission.img ] && continue
  case $check_rc in
    0 | 3) want=0 want_compare=0 ;;
    4) want=4 want_compare=2 ;;
    *) want=1 want_compare=2 ;;
  esac
  for args in "map" "map --output=json" "measure -O qcow2" "measure --output=json -O vmdk" "compare"; do
    n_run=$((n_run + 1))
    rc_want=$want
    extra=()
    if [ "$args" = compare ]; then rc_want=$want_compare extra=("$name"); fi
    start=$SECONDS
    rc=0
    # shellcheck disable=SC2086 # $args is several words on purpose
    timeout 5 /usr/bin/time -o rss.txt -f %M "$IMGTOOL" $args "$name" "${extra[@]}" >out.txt 2>err.txt || rc=$?
    rss_kb=$(tail -n 1 rss.txt)
    [[ $rss_kb =~ ^[0-9]+$ ]] || rss_kb=0
    what="$args $name (exit $rc, stderr: $(head -c 300 err.txt))"
    [ "$rc" = 124 ] && { fail "$what: timed out"; continue; }
    [ "$rc" -ge 128 ] && fail "$what: crashed"
    [ "$rc" = "$rc_want" ] || fail "$what: want exit $rc_want"
    [ $((SECONDS - start)) -le 5 ] || fail "$what: took $((SECONDS - start)) s"
    [ "$rss_kb" -lt 204800 ] || fail "$what: peak RSS ${rss_kb} KiB"
    grep -q "internal error" err.txt && fail "$what: internal error"
    lines=$(wc -l <err.txt)
    if [ "$rc" = 0 ]; then
      [ "$lines" = 0 ] || fail "$what: want empty stderr"
    else
      [ "$lines" = 1 ] || fail "$what: want exactly one stderr line, got $lines"
      line=$(head -n 1 err.txt)
      [[ $line == "imgtool: "*"$name"* ]] || fail "$what: line does not name the file: $line"
    fi
  done
done <expected.tsv

[ "$n_run" -ge 100 ] || fail "ran only $n_run commands"
if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all $n_run runs on $n_cases hostile cases passed"
