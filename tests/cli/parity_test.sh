#!/usr/bin/env bash
# One verdict for every command. For every image of
# tests/images/make_verdict_cases.sh, tests/images/make_hostile.sh and
# tests/images/make_bombs.sh:
#  - `imgtool check` exits as expected (where the generator says), within
#    5 s and 200 MiB of peak RSS, without crashing;
#  - whenever check refuses (1 unreadable, 2 corrupt, 4 unsafe),
#    `publish --dry-run`, `convert` and `inspect --guest` refuse too (non-zero,
#    not a crash), and convert leaves no output and no temporary file.
# Env: IMGTOOL (binary), IMGTOOL_SOURCE_DIR, IMGTOOL_BUILD_DIR.
set -euo pipefail
: "${IMGTOOL:?}" "${IMGTOOL_SOURCE_DIR:?}"
work=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/parity.XXXXXX")
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
gen=$IMGTOOL_SOURCE_DIR/tests/images

bash "$gen/make_verdict_cases.sh" "$work/verdict" >/dev/null
bash "$gen/make_hostile.sh" "$work/hostile" >/dev/null
if [ -f "$gen/make_bombs.sh" ]; then bash "$gen/make_bombs.sh" "$work/bombs" >/dev/null; fi

fails=0 checked=0 refused=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expected.tsv files: name <TAB> info rc <TAB> check rc ... (hostile) or name <TAB> check rc (verdict).
expected_rc() {  # dir name -> the expected check exit code, or "" when none is given
  local dir=$1 name=$2
  [ -f "$dir/expected.tsv" ] || return 0
  awk -F'\t' -v n="$name" '$1 == n { print (NF >= 3 ? $3 : $2); exit }' "$dir/expected.tsv"
}

for dir in "$work"/verdict "$work"/hostile "$work"/bombs; do
  [ -d "$dir" ] || continue
  cd "$dir"
  for name in *; do
    [ -f "$name" ] || continue
    # no-permission.img: root reads it anyway; hostile_test.sh runs it as nobody.
    case "$name" in expected.tsv | no-permission.img | *.data | *-flat.vmdk | *-s0??.vmdk | *-f0??.vmdk | secret.txt | disk.ovf) continue ;; esac
    checked=$((checked + 1))
    rc=0
    timeout 5 /usr/bin/time -o "$work/rss" -f %M "$IMGTOOL" check "$name" >/dev/null 2>"$work/err" || rc=$?
    what="check $(basename "$dir")/$name (exit $rc: $(head -c 200 "$work/err"))"
    [ "$rc" = 124 ] && { fail "$what: took more than 5 s"; continue; }
    rss_kb=$(tail -n 1 "$work/rss")
    [[ $rss_kb =~ ^[0-9]+$ ]] || rss_kb=0
    [ "$rss_kb" -lt 204800 ] || fail "$what: peak RSS ${rss_kb} KiB"
    [ "$rc" -lt 128 ] || fail "$what: crashed"
    want=$(expected_rc "$dir" "$name")
    [ -z "$want" ] || [ "$rc" = "$want" ] || fail "$what: want exit $want"
    case "$rc" in 1 | 2 | 4) ;; *) continue ;; esac
    refused=$((refused + 1))
    out=$work/out
    rm -rf "$out" && mkdir "$out"
    for cmd in "publish --dry-run $name" "convert -O qcow2 $name $out/o.qcow2" "inspect --guest --timeout 60 $name"; do
      crc=0
      # shellcheck disable=SC2086  # the words of $cmd are the arguments
      timeout 30 "$IMGTOOL" $cmd >/dev/null 2>"$work/err" || crc=$?
      [ "$crc" != 0 ] || fail "$cmd: check refused ($rc) but this succeeded"
      [ "$crc" -lt 124 ] || fail "$cmd: exit $crc (timeout or crash): $(head -c 200 "$work/err")"
      [ "$(wc -l <"$work/err")" -ge 1 ] || fail "$cmd: refused without a word"
      grep -q "internal error" "$work/err" && fail "$cmd: internal error"
    done
    [ -z "$(ls -A "$out")" ] || fail "convert $name left $(ls -A "$out")"
  done
done

echo "parity: $checked images checked, $refused refused by check and by every other command"
[ "$checked" -ge 50 ] || fail "only $checked images were generated"
if [ "$fails" != 0 ]; then echo "$fails failure(s)"; exit 1; fi
