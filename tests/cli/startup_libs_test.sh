#!/usr/bin/env bash
# Startup: the commands that read and write images (info, check, compare,
# map, measure, checksum, convert, publish --dry-run, --version) load no
# libcurl, libguestfs or libvirt, and those that compute no digest (all but
# checksum, convert --checksum, convert to vmdk (its CID is a digest of the
# content) and publish) no libcrypto either; imgtool
# opens libcurl when it first talks to Keystone, libguestfs when it first
# inspects and libcrypto at the first digest (cmake/LazyLibraries.cmake).
# What a process loaded is read from the dynamic loader's own log
# (LD_DEBUG=libs, one "calling init: PATH" line per library it initializes,
# dlopen()ed ones included); the control runs (publish to a closed port,
# inspect) show that the log does name those libraries when they are loaded.
# Then, in a private mount namespace where each library file reads as empty,
# the command that needs it fails with one line naming it, and the others
# still work.
# Env: IMGTOOL (the binary), IMGTOOL_BUILD_DIR.
set -uo pipefail
: "${IMGTOOL:?set IMGTOOL to the imgtool binary}"
: "${IMGTOOL_BUILD_DIR:?set IMGTOOL_BUILD_DIR}"
for tool in qemu-img qemu-io unshare mount; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (scripts/deps.sh test)"; exit 1; }
done
tmp=$(mktemp -d "$IMGTOOL_BUILD_DIR/startup-libs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
config=$IMGTOOL_BUILD_DIR/generated/imgtool_config.hpp
have_guestfs=0
grep -qx '#define IMGTOOL_HAVE_GUESTFS 1' "$config" && have_guestfs=1
curl_soname=$(sed -n 's/^#define IMGTOOL_CURL_SONAME "\(.*\)"$/\1/p' "$config")
guestfs_soname=$(sed -n 's/^#define IMGTOOL_GUESTFS_SONAME "\(.*\)"$/\1/p' "$config")
crypto_soname=$(sed -n 's/^#define IMGTOOL_CRYPTO_SONAME "\(.*\)"$/\1/p' "$config")
if [ -z "$curl_soname" ] || [ -z "$crypto_soname" ]; then
  echo "FAIL: no IMGTOOL_CURL_SONAME or IMGTOOL_CRYPTO_SONAME in $config"
  exit 1
fi

img=$tmp/fixture.qcow2
qemu-img create -q -f qcow2 "$img" 64M
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' -c 'write -P 0xa5 32M 64k' "$img" >/dev/null
qemu-img create -q -f qcow2 -b "$img" -F qcow2 "$tmp/backed.qcow2"  # refused before inspection

# A clean environment: no OS_* or clouds.yaml of the caller's; a Keystone at
# a port nothing listens on, so publish fails at its first request.
run_env=(env -i PATH="$PATH" HOME="$tmp" TMPDIR="$tmp" LANG=C.UTF-8)
keystone=(OS_AUTH_URL=http://127.0.0.1:9/v3 OS_USERNAME=u OS_PASSWORD=p OS_PROJECT_NAME=p
  OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default)

# traced NAME [VAR=VALUE...] -- ARGS...: runs imgtool ARGS under LD_DEBUG=libs;
# leaves its exit code in $rc, stderr in $tmp/NAME.err and the paths of the
# libraries it initialized (one a line) in $tmp/NAME.libs.
traced() {
  local name=$1 extra=()
  shift
  while [ "$1" != -- ]; do
    extra+=("$1")
    shift
  done
  shift
  rm -f "$tmp/ld.$name".*
  "${run_env[@]}" "${extra[@]}" LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld.$name" \
    timeout 120 "$IMGTOOL" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  cat "$tmp/ld.$name".* >"$tmp/$name.ld" 2>/dev/null
  sed -n 's/.*calling init: //p' "$tmp/$name.ld" | sort -u >"$tmp/$name.libs"
}
# Any mention in the log counts ("find library=libcurl.so.4" is a load attempt).
net_re='lib(curl|guestfs|virt)[^ /]*\.so'
lean_re='lib(curl|guestfs|virt|crypto|ssl)[^ /]*\.so'

# check_lean NAME REGEX ARGS...: imgtool ARGS succeeds and loads nothing REGEX matches.
check_lean() {
  local name=$1 lazy_re=$2
  shift 2
  traced "$name" -- "$@"
  if [ $rc -ne 0 ]; then
    fail "$name: imgtool $* exited $rc: $(head -c 500 "$tmp/$name.err")"
  elif ! grep -q '/libc\.so' "$tmp/$name.libs"; then
    fail "$name: the loader's log names no libc (LD_DEBUG=libs not honoured?): $(head -c 300 "$tmp/$name.libs")"
  elif grep -oE "$lazy_re" "$tmp/$name.ld" | sort -u >"$tmp/$name.bad" && [ -s "$tmp/$name.bad" ]; then
    fail "$name: imgtool $* loaded $(tr '\n' ' ' <"$tmp/$name.bad")"
  else
    ok "$name: $(wc -l <"$tmp/$name.libs") objects initialized, none matching $lazy_re"
  fi
}

check_lean version "$lean_re" --version
check_lean info "$lean_re" info "$img"
check_lean info_json "$lean_re" info --output=json "$img"
check_lean check "$lean_re" check "$img"
check_lean convert "$lean_re" convert -O qcow2 "$img" "$tmp/out-lean.qcow2"
check_lean compare "$lean_re" compare "$img" "$img"
check_lean map "$lean_re" map "$img"
check_lean measure "$lean_re" measure -O qcow2 "$img"
# These hash: libcrypto, and nothing of the network or of inspection.
check_lean checksum "$net_re" checksum "$img"
check_lean convert_checksum "$net_re" convert --checksum -O qcow2 "$img" "$tmp/out.qcow2"
check_lean dry_run "$net_re" publish --dry-run "$img"
check_lean convert_vmdk "$net_re" convert -O vmdk "$img" "$tmp/out.vmdk"
if grep -q "/$crypto_soname" "$tmp/checksum.libs"; then
  crypto_path=$(grep "/$crypto_soname" "$tmp/checksum.libs" | head -1)
  ok "checksum loads $crypto_path"
else
  fail "checksum computed digests, yet the loader's log names no $crypto_soname: $(tr '\n' ' ' <"$tmp/checksum.libs")"
fi

# --- the controls: the libraries are loaded when needed, and the log shows it
traced publish "${keystone[@]}" -- publish "$img"
if [ $rc -ne 7 ] || ! grep -q '127.0.0.1:9' "$tmp/publish.err"; then
  fail "publish to a closed port: exit $rc (want 7, HTTP): $(head -c 500 "$tmp/publish.err")"
elif ! curl_path=$(grep -E '/libcurl[^/]*\.so' "$tmp/publish.libs" | head -1) || [ -z "$curl_path" ]; then
  fail "publish talked to Keystone, yet the loader's log names no libcurl: $(tr '\n' ' ' <"$tmp/publish.libs")"
else
  ok "publish loads $curl_path when it first talks to Keystone ($(head -1 "$tmp/publish.err"))"
fi

guestfs_path=""
traced inspect -- inspect --guest "$tmp/backed.qcow2"
if [ $have_guestfs = 1 ]; then
  # Loaded first (a missing library is the error to report), then the safety
  # check refuses the backing file before any appliance starts: exit 4.
  if [ $rc -ne 4 ]; then
    fail "inspect backed.qcow2: exit $rc (want 4, unsafe): $(head -c 500 "$tmp/inspect.err")"
  elif ! guestfs_path=$(grep -E '/libguestfs[^/]*\.so' "$tmp/inspect.libs" | head -1) || [ -z "$guestfs_path" ]; then
    fail "inspect: the loader's log names no libguestfs: $(tr '\n' ' ' <"$tmp/inspect.libs")"
  else
    ok "inspect loads $guestfs_path"
  fi
else
  if grep -q "has no guest inspection" "$tmp/inspect.err"; then
    ok "inspect in a build without libguestfs says so"
  else
    fail "inspect without libguestfs: exit $rc: $(head -c 500 "$tmp/inspect.err")"
  fi
fi

# --- a library that cannot be loaded: one line, non-zero exit --------------------
# In a private mount namespace (as root, or as a mapped root in a user
# namespace) each library file is /dev/null: the loader reads 0 bytes
# ("file too short"). Nothing outside the namespace sees the mounts.
if [ -n "${curl_path:-}" ] && [ -n "${crypto_path:-}" ]; then
  hide="$(readlink -f "$curl_path") $(readlink -f "$crypto_path")"
  [ -z "$guestfs_path" ] || hide+=" $(readlink -f "$guestfs_path")"
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
  cat >"$tmp/hidden.sh" <<'SH'
set -u
imgtool=$1 img=$2 backed=$3 out=$4
shift 4
for f in $HIDE; do mount --bind /dev/null "$f" || exit 99; done
"$imgtool" info "$img" >"$out.info" 2>&1; echo "info $?" >"$out.rc"
"$imgtool" check "$img" >"$out.check" 2>&1; echo "check $?" >>"$out.rc"
"$imgtool" checksum "$img" >/dev/null 2>"$out.checksum"; echo "checksum $?" >>"$out.rc"
"$imgtool" publish "$img" >/dev/null 2>"$out.publish"; echo "publish $?" >>"$out.rc"
"$imgtool" inspect --guest "$backed" >/dev/null 2>"$out.inspect"; echo "inspect $?" >>"$out.rc"
SH
  # shellcheck disable=SC2097,SC2098 # HIDE is for the namespace's shell
  "${run_env[@]}" "${keystone[@]}" HIDE="$hide" unshare --mount "${as_root[@]}" --propagation private \
    bash "$tmp/hidden.sh" "$IMGTOOL" "$img" "$tmp/backed.qcow2" "$tmp/hidden" 2>"$tmp/unshare.err"
  ns_rc=$?
  if [ $ns_rc -ne 0 ] || [ ! -f "$tmp/hidden.rc" ]; then
    fail "unshare --mount (bind /dev/null over $hide): exit $ns_rc: $(head -c 500 "$tmp/unshare.err")"
  else
    if grep -qx 'info 0' "$tmp/hidden.rc" && grep -qx 'check 0' "$tmp/hidden.rc"; then
      ok "info and check work without libcurl, libcrypto and libguestfs"
    else
      fail "info/check without the libraries: $(cat "$tmp/hidden.rc") $(head -c 300 "$tmp/hidden.info")"
    fi
    # (The line names the file being hashed first.)
    want="imgtool: $img: computing digests needs libcrypto ($crypto_soname): "
    if grep -qx 'checksum 1' "$tmp/hidden.rc" && [ "$(wc -l <"$tmp/hidden.checksum")" -eq 1 ] &&
      grep -qF "$want" "$tmp/hidden.checksum"; then
      ok "checksum without libcrypto: $(cat "$tmp/hidden.checksum")"
    else
      fail "checksum without libcrypto: $(grep checksum "$tmp/hidden.rc"), want one line '$want...': $(head -c 500 "$tmp/hidden.checksum")"
    fi
    want="imgtool: HTTP(S) (Keystone, Glance, URL sources) needs libcurl ($curl_soname): "
    if grep -qx 'publish 1' "$tmp/hidden.rc" && [ "$(wc -l <"$tmp/hidden.publish")" -eq 1 ] &&
      grep -qF "$want" "$tmp/hidden.publish"; then
      ok "publish without libcurl: $(cat "$tmp/hidden.publish")"
    else
      fail "publish without libcurl: $(grep publish "$tmp/hidden.rc"), want one line '$want...': $(head -c 500 "$tmp/hidden.publish")"
    fi
    if [ -n "$guestfs_path" ]; then
      want="imgtool: guest inspection needs libguestfs ($guestfs_soname): "
      if grep -qx 'inspect 1' "$tmp/hidden.rc" && [ "$(wc -l <"$tmp/hidden.inspect")" -eq 1 ] &&
        grep -qF "$want" "$tmp/hidden.inspect"; then
        ok "inspect without libguestfs: $(cat "$tmp/hidden.inspect")"
      else
        fail "inspect without libguestfs: $(grep inspect "$tmp/hidden.rc"), want one line '$want...': $(head -c 500 "$tmp/hidden.inspect")"
      fi
    fi
  fi
fi

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "startup library checks passed"
