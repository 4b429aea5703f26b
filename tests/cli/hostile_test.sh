#!/usr/bin/env bash
# Runs `imgtool info` and `imgtool check` on every hostile image made by
# tests/images/make_hostile.sh and asserts, per run: the expected exit code;
# no crash (exit < 128); done within 5 s; peak RSS < 200 MB; stderr is
# exactly one line naming the file for errors (check findings: one line each,
# all naming the file), contains the expected keyword, and never says
# "internal error". Env: IMGTOOL (binary), IMGTOOL_SOURCE_DIR, IMGTOOL_BUILD_DIR.
# Set-up commands run under `set -e`: one that fails ends the test with a
# failure. The runs under test are checked through their exit codes.
set -euo pipefail
: "${IMGTOOL:?}" "${IMGTOOL_SOURCE_DIR:?}"
trap 'echo "FAIL: set-up command failed (line $LINENO): $BASH_COMMAND" >&2' ERR
[ -x /usr/bin/time ] || { echo "FAIL: /usr/bin/time is not installed: run scripts/deps.sh test"; exit 1; }
work=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/hostile.XXXXXX")
nobody_dir=
trap 'chmod -R u+rwx "$work"; rm -rf "$work" ${nobody_dir:+"$nobody_dir"}' EXIT
bash "$IMGTOOL_SOURCE_DIR/tests/images/make_hostile.sh" "$work" >/dev/null
cd "$work"
n_cases=$(wc -l <expected.tsv)
[ "$n_cases" -ge 20 ] || { echo "FAIL: make_hostile.sh made only $n_cases cases"; exit 1; }

# Root ignores permission bits: the no-permission case runs as nobody. The
# build tree may sit inside a 0700 directory (a clone made in `mktemp -d`,
# root's home) that nobody cannot traverse, so that run uses copies of the
# binary and of the file in a 0755 directory under /tmp.
as_nobody=()
if [ "$(id -u)" = 0 ]; then
  command -v setpriv >/dev/null || { echo "FAIL: setpriv is not installed: run scripts/deps.sh test"; exit 1; }
  nobody_dir=$(mktemp -d /tmp/imgtool-hostile.XXXXXX)
  chmod 755 "$nobody_dir"
  cp "$IMGTOOL" "$nobody_dir/imgtool"
  chmod 755 "$nobody_dir/imgtool"
  cp -p no-permission.img "$nobody_dir/"
  as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  # Control: nobody reads a 0644 file beside it, so the case's "permission
  # denied" is about the file's own mode, not about reaching the directory.
  printf 'x' >"$nobody_dir/control.img"
  chmod 644 "$nobody_dir/control.img"
  "${as_nobody[@]}" "$nobody_dir/imgtool" info "$nobody_dir/control.img" >/dev/null ||
    { echo "FAIL: nobody cannot run imgtool on a readable file in $nobody_dir"; exit 1; }
fi

fails=0 n_run=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

while IFS=$'\t' read -r name info_rc check_rc want; do
  prefix=() bin=$IMGTOOL dir=$work
  if [ "$name" = no-permission.img ] && [ -n "$nobody_dir" ]; then
    prefix=("${as_nobody[@]}") bin=$nobody_dir/imgtool dir=$nobody_dir
  fi
  n_run=$((n_run + 1))
  for cmd in info check; do
    if [ "$cmd" = info ]; then rc_want=$info_rc; else rc_want=$check_rc; fi
    start=$SECONDS
    rc=0
    (cd "$dir" && exec timeout 5 /usr/bin/time -o "$work/rss.txt" -f %M "${prefix[@]}" "$bin" "$cmd" "$name") \
      >out.txt 2>err.txt || rc=$?
    rss_kb=$(tail -n 1 rss.txt)
    [[ $rss_kb =~ ^[0-9]+$ ]] || rss_kb=0
    what="$cmd $name (exit $rc, stderr: $(head -c 300 err.txt))"
    [ "$rc" = 124 ] && { fail "$what: timed out"; continue; }
    # 126/127: the binary never ran (e.g. nobody could not reach it).
    [ "$rc" = 126 ] || [ "$rc" = 127 ] && { fail "$what: the binary did not start"; continue; }
    [ "$rc" -ge 128 ] && fail "$what: crashed"
    [ "$rc" = "$rc_want" ] || fail "$what: want exit $rc_want"
    [ $((SECONDS - start)) -le 5 ] || fail "$what: took $((SECONDS - start)) s"
    [ "$rss_kb" -lt 204800 ] || fail "$what: peak RSS ${rss_kb} KiB"
    grep -q "internal error" err.txt && fail "$what: internal error"
    lines=$(wc -l <err.txt)
    if [ "$want" = - ]; then
      [ "$lines" = 0 ] || fail "$what: want empty stderr"
      continue
    fi
    if [ "$rc" = 1 ] || [ "$cmd" = info ]; then
      # An error, or an info on an image whose problems only check reports.
      if [ "$rc" = 1 ]; then
        [ "$lines" = 1 ] || fail "$what: want exactly one stderr line, got $lines"
      else
        [ "$lines" = 0 ] || fail "$what: info printed $lines stderr lines"
        continue
      fi
    else
      [ "$lines" -ge 1 ] || fail "$what: no finding on stderr"
    fi
    while IFS= read -r line; do
      [[ $line == "imgtool: "*"$name"* ]] || fail "$what: line does not name the file: $line"
    done <err.txt
    grep -qF -- "$want" err.txt || fail "$what: stderr lacks '$want'"
  done
done <expected.tsv

[ "$n_run" = "$n_cases" ] || fail "ran $n_run of $n_cases cases"
if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all $n_cases hostile cases passed"
