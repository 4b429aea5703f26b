#!/usr/bin/env bash
# Runs `imgtool info` and `imgtool check` on every hostile image made by
# tests/images/make_hostile.sh and asserts, per run: the expected exit code;
# no crash (exit < 128); done within 10 s; peak RSS < 200 MB; stderr is
# exactly one line naming the file for errors (check findings: one line each,
# all naming the file), contains the expected keyword, and never says
# "internal error". Env: IMGTOOL (binary), IMGTOOL_SOURCE_DIR, IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?}" "${IMGTOOL_SOURCE_DIR:?}"
work=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/hostile.XXXXXX")
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
bash "$IMGTOOL_SOURCE_DIR/tests/images/make_hostile.sh" "$work" >/dev/null || { echo "make_hostile.sh failed"; exit 1; }
cd "$work"
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time missing (apt-get install time)"; exit 1; }

# Root ignores permission bits: run the no-permission case as nobody.
as_nobody=()
if [ "$(id -u)" = 0 ]; then
  if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups "$IMGTOOL" --version >/dev/null 2>&1
  then as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  else as_nobody=(SKIP)
  fi
fi

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

while IFS=$'\t' read -r name info_rc check_rc want; do
  prefix=()
  if [ "$name" = no-permission.img ]; then
    if [ "${as_nobody[0]:-}" = SKIP ]; then echo "SKIP: $name (root and no setpriv)"; continue; fi
    prefix=("${as_nobody[@]}")
    chmod 755 "$work"
  fi
  for cmd in info check; do
    if [ "$cmd" = info ]; then rc_want=$info_rc; else rc_want=$check_rc; fi
    start=$SECONDS
    timeout 10 /usr/bin/time -o rss.txt -f %M "${prefix[@]}" "$IMGTOOL" "$cmd" "$name" >out.txt 2>err.txt
    rc=$?
    rss_kb=$(tail -n 1 rss.txt 2>/dev/null)
    [[ $rss_kb =~ ^[0-9]+$ ]] || rss_kb=0
    what="$cmd $name (exit $rc, stderr: $(head -c 300 err.txt))"
    [ "$rc" = 124 ] && { fail "$what: timed out"; continue; }
    [ "$rc" -ge 128 ] && fail "$what: crashed"
    [ "$rc" = "$rc_want" ] || fail "$what: want exit $rc_want"
    [ $((SECONDS - start)) -le 10 ] || fail "$what: took $((SECONDS - start)) s"
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

if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all hostile cases passed"
