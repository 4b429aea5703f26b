#!/usr/bin/env bash
# The man page renders without warnings, and it and the bash completion know
# every subcommand and every option the CLI's --help lists, so the three
# cannot drift apart. Then the completion is exercised as bash would call it.
# Usage: man_completion_test.sh IMGTOOL MAN_PAGE.1.gz COMPLETION_SCRIPT
set -euo pipefail
bin=$1 man_gz=$2 completion=$3
for tool in man groff zcat; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/deps.sh test"; exit 1; }
done
[ -f "$man_gz" ] || { echo "no man page at $man_gz (built at configure time)"; exit 1; }
[ -f "$completion" ] || { echo "no completion script at $completion"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
fail() { echo "FAIL: $*"; bad=1; }

# 1. man renders it, and says nothing on stderr (--warnings: groff's checks).
MANWIDTH=80 man --warnings -l "$man_gz" >"$tmp/rendered" 2>"$tmp/warnings" || fail "man -l exited with $?"
[ ! -s "$tmp/warnings" ] || { cat "$tmp/warnings"; fail "man --warnings printed the above"; }
grep -q '^COMMANDS' "$tmp/rendered" || fail "the rendered page has no COMMANDS section"

# The roff source, with \- as - and font changes dropped, for matching names.
zcat "$man_gz" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f\[[^]]*\]//g' >"$tmp/man.txt"
# The subsection of one subcommand: from ".SS NAME" to the next .SS or .SH.
man_section() { awk -v s=".SS $1" '$0 == s { on = 1; next } /^\.S[SH]( |$)/ { on = 0 } on' "$tmp/man.txt"; }
has_word() { grep -qE -- "(^|[^A-Za-z0-9_-])$1([^A-Za-z0-9_-]|\$)"; }
completion_words() { bash --norc --noprofile -c 'source "$1"; shift; "$@"' _ "$completion" "$@"; }

# 2. Subcommands: `imgtool --help` lists them under "Subcommands:".
"$bin" --help >"$tmp/help"
mapfile -t subs < <(awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^[^ ]/ { on = 0 }' \
  "$tmp/help")
[ ${#subs[@]} -ge 6 ] || fail "found only ${#subs[@]} subcommands in imgtool --help"
# shellcheck disable=SC2016 # expanded by the bash that sourced the completion
commands=$(completion_words eval 'echo "$_imgtool_commands"')
for top in -h --help --version; do
  has_word "$top" <"$tmp/man.txt" || fail "man page: no $top"
done

# 3. Options: each line of "Options:" in `imgtool SUB --help` starts with its
#    names ("-f,--format TEXT ..."); every name must be in SUB's man
#    subsection (except -h/--help, which the COMMANDS section describes once
#    for all) and in SUB's completion list.
total=0
for sub in "${subs[@]}"; do
  section=$(man_section "$sub")
  [ -n "$section" ] || { fail "man page: no subsection '.SS $sub'"; continue; }
  grep -qw -- "$sub" <<<"$commands" || fail "completion: $sub is not in _imgtool_commands"
  opts=$(completion_words _imgtool_options "$sub")
  [ -n "$opts" ] || fail "completion: _imgtool_options has no arm for $sub"
  "$bin" "$sub" --help >"$tmp/sub_help"
  mapfile -t names < <(awk '/^Options:/ { on = 1; next } on && /^  -/ { print $1 } on && /^[^ ]/ { on = 0 }' \
    "$tmp/sub_help" | tr ',' '\n')
  [ ${#names[@]} -gt 0 ] || fail "imgtool $sub --help lists no options"
  for o in "${names[@]}"; do
    total=$((total + 1))
    case $o in -h | --help) ;; *) has_word "$o" <<<"$section" || fail "man page: $o of '$sub' is not in its subsection" ;; esac
    has_word "$o" <<<"$opts" || fail "completion: $o of '$sub' is not in _imgtool_options $sub"
  done
done
echo "checked ${#subs[@]} subcommands and $total options against the man page and the completion"

# 4. The completion as bash calls it: COMP_LINE up to the cursor.
complete_line() {
  bash --norc --noprofile -c '
    source "$1"
    COMP_LINE=$2 COMP_POINT=${#2}
    read -ra COMP_WORDS <<<"$2"; COMP_CWORD=${#COMP_WORDS[@]}
    _imgtool
    ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$completion" "$1"
}
expect_completion() {
  local got
  got=$(cd "$tmp/files" && complete_line "$1")
  [ "$got" = "$2" ] || fail "completing '$1': got '$got', want '$2'"
}
mkdir -p "$tmp/files/dir"
touch "$tmp/files/disk.qcow2" "$tmp/files/disk.raw"
expect_completion "imgtool ch" "check checksum "
expect_completion "imgtool --v" "--version "
expect_completion "imgtool convert -O " "qcow2 raw vmdk "
expect_completion "imgtool convert --output-format=v" "vmdk "
expect_completion "imgtool info -f qc" "qcow qcow2 "
expect_completion "imgtool info --output=" "human json "
expect_completion "imgtool check --allow-b" "--allow-backing "
expect_completion "imgtool convert -o compat=1.1,clu" "1.1,cluster_size= "
expect_completion "imgtool checksum --os-hash-algo sha5" "sha512 "
expect_completion "imgtool info disk." "disk.qcow2 disk.raw "
expect_completion "imgtool publish --name " ""
expect_completion "imgtool map -s " ""                       # map's -s takes an offset
expect_completion "imgtool compare -s disk." "disk.qcow2 disk.raw "  # compare's -s is a flag
expect_completion "imgtool measure -O " "qcow2 raw vmdk "

[ "$bad" = 0 ] || exit 1
echo "man page and completion agree with the CLI"
