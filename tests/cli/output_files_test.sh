#!/usr/bin/env bash
# `imgtool convert SRC DST` writes DST as users expect (docs/cli.md "Output
# files"): a new file gets 0666 minus the umask (or the directory's default
# ACL) and the process umask is never touched; a replaced file keeps its mode
# and owner, or is not replaced; a symbolic link is written through to its
# final target; other file types are refused. Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
tmp=$(mktemp -d "${IMGTOOL_BUILD_DIR:-/tmp}/output-files.XXXXXX")
pub=""
cleanup() {
  rm -rf "$tmp"
  if [ -n "$pub" ]; then rm -rf "$pub"; fi
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

# --- an existing DST keeps its mode and owner ----------------------------------------
printf 'old' >"$tmp/old.raw"
chmod 600 "$tmp/old.raw"
want_owner="$(id -u) $(id -g)"
if [ "$(id -u)" = 0 ]; then chown 12345:23456 "$tmp/old.raw" && want_owner="12345 23456"; fi
(umask 022 && "$IMGTOOL" convert -O raw "$src" "$tmp/old.raw") && cmp -s "$tmp/old.raw" "$tmp/want.raw" &&
  [ "$(stat -c '%a %u %g' "$tmp/old.raw")" = "600 $want_owner" ] && ok "replaced file keeps mode 600 and owner" ||
  fail "replaced file: $(stat -c '%a %u %g' "$tmp/old.raw"), want 600 $want_owner"

# --- an owner that cannot be kept: refused before writing, DST untouched ---------------
# Someone else's 0666 file in a directory everyone may write: the rename would
# hand the file to the caller, so imgtool refuses. Runs as nobody, from a
# world-traversable copy (the build tree may be under a 0700 directory).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  pub=$(mktemp -d /tmp/imgtool-output-files.XXXXXX)
  chmod 755 "$pub"
  cp "$IMGTOOL" "$src" "$pub/" && chmod 644 "$pub/src.qcow2"
  mkdir -m 777 "$pub/w"
  printf 'roots' >"$pub/w/theirs.raw"
  chmod 666 "$pub/w/theirs.raw"
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/$(basename "$IMGTOOL")" convert -O raw \
    "$pub/src.qcow2" "$pub/w/theirs.raw" 2>&1)
  rc=$?
  left=$(ls -A "$pub/w")
  [ $rc -eq 1 ] && grep -q "theirs.raw: cannot keep the owner (uid 0, gid 0) of the existing file" <<<"$err" &&
    [ "$(cat "$pub/w/theirs.raw")" = roots ] && [ "$left" = theirs.raw ] &&
    ok "owner that cannot be kept: refused ($err)" || fail "owner that cannot be kept: rc=$rc err=$err left=$left"
else
  echo "skip: not root or no setpriv"
fi

# --- DST is a symbolic link: the link stays, its final target gets the image ----------
mkdir "$tmp/images" "$tmp/links"
printf 'old' >"$tmp/images/disk.raw"
chmod 640 "$tmp/images/disk.raw"
ln -s ../images/hop "$tmp/links/out.raw"
ln -s disk.raw "$tmp/images/hop"
"$IMGTOOL" convert -O raw "$src" "$tmp/links/out.raw" && [ "$(readlink "$tmp/links/out.raw")" = ../images/hop ] &&
  [ "$(readlink "$tmp/images/hop")" = disk.raw ] && cmp -s "$tmp/images/disk.raw" "$tmp/want.raw" &&
  [ "$(mode_of "$tmp/images/disk.raw")" = 640 ] && [ "$(ls -A "$tmp/images" | wc -l)" = 2 ] &&
  ok "link chain written through to its target" ||
  fail "link chain: $(ls -l "$tmp/links" "$tmp/images")"
ln -s images/fresh.raw "$tmp/dangling.raw"
(umask 022 && "$IMGTOOL" convert -O raw "$src" "$tmp/dangling.raw") && [ -L "$tmp/dangling.raw" ] &&
  cmp -s "$tmp/images/fresh.raw" "$tmp/want.raw" && [ "$(mode_of "$tmp/images/fresh.raw")" = 644 ] &&
  ok "dangling link: its target is created" || fail "dangling link: $(ls -l "$tmp" "$tmp/images")"
ln -s loop-b "$tmp/loop-a" && ln -s loop-a "$tmp/loop-b"
err=$("$IMGTOOL" convert -O raw "$src" "$tmp/loop-a" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "^imgtool: $tmp/loop-a: symbolic link loop" <<<"$err" && [ "$(readlink "$tmp/loop-a")" = loop-b ] &&
  ok "link loop: $err" || fail "link loop: rc=$rc $err"

# --- other file types are refused, and stay what they were --------------------------------
# A private copy of /dev/null, never the real one: a regression (or an old
# binary) would replace the node it is given.
mkdir "$tmp/dir" && mkfifo "$tmp/fifo"
chardev=/dev/null
if mknod "$tmp/null" c 1 3 2>/dev/null; then chardev=$tmp/null; else echo "skip: no mknod; /dev/null only via a link"; fi
ln -s "$chardev" "$tmp/null-link"
targets=("$tmp/dir" "$tmp/fifo" "$tmp/null-link")
[ "$chardev" = /dev/null ] || targets+=("$chardev")
for dst in "${targets[@]}"; do
  err=$(timeout 10 "$IMGTOOL" convert -O raw "$src" "$dst" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <<<"$err")" = 1 ] && grep -q "is a directory\|is a FIFO\|is a character device" <<<"$err" &&
    ok "DST $dst refused: $err" || fail "DST $dst: rc=$rc $err"
done
[ -c "$chardev" ] && [ -p "$tmp/fifo" ] && [ -L "$tmp/null-link" ] && [ -z "$(ls -A "$tmp/dir")" ] &&
  [ -z "$(ls -A "$(dirname "$chardev")" | grep imgtool)" ] && ok "refused targets unchanged" || fail "a refused target changed"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all output file checks passed"
