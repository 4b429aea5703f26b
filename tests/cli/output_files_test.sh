#!/usr/bin/env bash
# `imgtool convert SRC DST` writes DST as users expect (docs/cli.md "Output
# files"): a new file gets 0666 minus the umask (or the directory's default
# ACL) and the process umask is never touched. Env: IMGTOOL (the binary),
# IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/output-files.XXXXXX")
cleanup() {
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
mode_of() { stat -c %a "$1"; }

src=$tmp/src.qcow2
qemu-img create -q -f qcow2 "$src" 8M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 5M 1M' "$src" >/dev/null
qemu-img convert -f qcow2 -O raw "$src" "$tmp/want.raw"

# --- a new file: 0666 & ~umask, and no umask() call ------------------------------
(umask 002 && "$IMGTOOL" convert -O raw "$src" "$tmp/new.raw") &&
  [ "$(mode_of "$tmp/new.raw")" = 664 ] && cmp -s "$tmp/new.raw" "$tmp/want.raw" &&
  ok "new file, umask 002: mode 664" || fail "new file, umask 002: mode $(mode_of "$tmp/new.raw")"
if command -v strace >/dev/null; then
  # umask() can only be read by setting it: a race with other threads that
  # create files, and a side effect on a library's caller.
  nolsan="${ASAN_OPTIONS:-}:detect_leaks=0"  # LeakSanitizer cannot run under ptrace
  n=$(ASAN_OPTIONS=$nolsan strace -f -e trace=umask -o /dev/stdout "$IMGTOOL" convert -O raw "$src" "$tmp/s.raw" |
    grep -c 'umask(')
  [ "$n" -eq 0 ] && ok "convert never calls umask()" || fail "convert called umask() $n time(s)"
else
  echo "skip: no strace"
fi
# A default ACL decides the mode of new files instead of the umask: only a
# file created with mode 0666 (not one chmod'ed afterwards) gets it.
mkdir "$tmp/acl"
if setfacl -d -m u::rw,g::rw,o::r "$tmp/acl" 2>/dev/null; then
  (umask 077 && "$IMGTOOL" convert -O raw "$src" "$tmp/acl/new.raw") &&
    [ "$(mode_of "$tmp/acl/new.raw")" = 664 ] && ok "default ACL gives mode 664 despite umask 077" ||
    fail "default ACL: mode $(mode_of "$tmp/acl/new.raw"), want 664"
else
  echo "skip: no default ACLs on this file system"
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all output file checks passed"
