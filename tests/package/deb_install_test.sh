#!/usr/bin/env bash
# The package a user installs (scripts/test.sh, phase "deb"): as the README
# says, `cpack -G DEB` in the build directory, then `apt-get install
# ./imgtool_*.deb` (apt resolves Depends from Debian's archive), then the
# installed /usr/bin/imgtool runs (--version; info on a generated qcow2 prints
# what qemu-img info prints), then `apt-get remove imgtool` leaves the machine
# as it was. Idempotent: a package left by an interrupted run is removed
# first, and a failure removes what this run installed.
# Root, or sudo, for apt-get. Usage: deb_install_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
for tool in cpack apt-get dpkg-query qemu-img qemu-io; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/deps.sh test"; exit 1; }
done
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
[ -z "$SUDO" ] || apt=("$SUDO" "${apt[@]}")
tmp=$(mktemp -d)
installed=0
cleanup() {
  if [ "$installed" = 1 ]; then "${apt[@]}" remove imgtool </dev/null >/dev/null || echo "could not remove imgtool"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
is_installed() { dpkg-query -W -f='${Status}' imgtool 2>/dev/null | grep -q 'install ok installed'; }

if is_installed; then
  echo "imgtool $(dpkg-query -W -f='${Version}' imgtool) is installed (an earlier run?): removing it first"
  "${apt[@]}" remove imgtool </dev/null >/dev/null
fi
# dpkg would silently replace a file no package owns.
[ ! -e /usr/bin/imgtool ] || { echo "/usr/bin/imgtool exists and belongs to no package: move it away first"; exit 1; }

cd "$build"
rm -f imgtool_*.deb imgtool-dev_*.deb  # ./imgtool_*.deb below must match this build's package only
cpack -G DEB >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; echo "cpack -G DEB failed"; exit 1; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' CPackConfig.cmake)
debs=(./imgtool_*.deb)
if [ ${#debs[@]} != 1 ] || [ ! -f "${debs[0]}" ]; then
  ls -l ./*.deb
  echo "expected one imgtool_*.deb"
  exit 1
fi
echo "built ${debs[0]#./}: Depends: $(dpkg-deb -f "${debs[0]}" Depends)"

installed=1
"${apt[@]}" install ./imgtool_*.deb </dev/null >"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; echo "apt-get install failed"; exit 1; }
is_installed || { echo "apt-get install succeeded but dpkg does not list imgtool as installed"; exit 1; }
[ "$(dpkg-query -W -f='${Version}' imgtool)" = "$version" ] ||
  { echo "dpkg lists imgtool $(dpkg-query -W -f='${Version}' imgtool), this build is $version"; exit 1; }

out=$(/usr/bin/imgtool --version)
[ "$out" = "imgtool $version" ] || { echo "/usr/bin/imgtool --version printed '$out'"; exit 1; }
img=$tmp/smoke.qcow2
qemu-img create -q -f qcow2 "$img" 64M
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' "$img" >/dev/null
/usr/bin/imgtool info "$img" >"$tmp/info.imgtool"
qemu-img info "$img" >"$tmp/info.qemu"
diff -u "$tmp/info.qemu" "$tmp/info.imgtool" || { echo "installed imgtool info differs from qemu-img info"; exit 1; }
echo "installed: $out; imgtool info = qemu-img info on a qcow2"

"${apt[@]}" remove imgtool </dev/null >/dev/null
installed=0
! is_installed || { echo "imgtool is still installed after apt-get remove"; exit 1; }
[ ! -e /usr/bin/imgtool ] || { echo "/usr/bin/imgtool is still there after apt-get remove"; exit 1; }
echo "removed imgtool again"
