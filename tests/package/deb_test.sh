#!/usr/bin/env bash
# `cpack -G DEB` on the build tree makes exactly imgtool_V_ARCH.deb and
# imgtool-dev_V_ARCH.deb, with the control fields, files and copyright they
# should have; the packaged binary runs. Nothing is installed on this machine
# (scripts/test.sh installs the package in its "deb" phase).
# Usage: deb_test.sh SOURCE_DIR BUILD_DIR HAVE_GUESTFS(ON|OFF)
set -euo pipefail
src=$1 build=$2 guestfs=$3
for tool in cpack dpkg-deb dpkg-shlibdeps file man objdump; do
  command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/deps.sh test"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
fail() { echo "FAIL: $*"; bad=1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; echo "cpack -G DEB failed"; exit 1; }
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
deb=$tmp/out/imgtool_${version}_${arch}.deb
dev=$tmp/out/imgtool-dev_${version}_${arch}.deb
if [ ! -f "$deb" ] || [ ! -f "$dev" ]; then
  ls -l "$tmp/out"
  echo "expected $(basename "$deb") and $(basename "$dev")"
  exit 1
fi
[ "$(find "$tmp/out" -maxdepth 1 -name '*.deb' | wc -l)" = 2 ] || { ls -l "$tmp/out"; fail "more packages than two"; }

field() { dpkg-deb -f "$1" "$2"; }
# ---- imgtool
[ "$(field "$deb" Package)" = imgtool ] || fail "Package: $(field "$deb" Package)"
[ "$(field "$deb" Version)" = "$version" ] || fail "Version: $(field "$deb" Version)"
[ "$(field "$deb" Section)" = utils ] || fail "Section: $(field "$deb" Section)"
for f in Maintainer Homepage Description; do [ -n "$(field "$deb" "$f")" ] || fail "no $f"; done
[[ $(field "$deb" Description) == "disk image toolkit for OpenStack Glance"* ]] ||
  fail "Description: $(field "$deb" Description | head -1)"
depends=$(field "$deb" Depends)
echo "imgtool Depends: $depends"
for p in libc6 libstdc++6 libssl3 libcurl4 zlib1g libzstd1 libyaml-cpp0.7; do
  [[ ", $depends" == *", $p "* ]] || fail "Depends lacks $p"
done
# libcurl4 and libssl3 (libcrypto) are opened at first use (dpkg-shlibdeps
# cannot see them): named explicitly, libcurl4 with the version whose options
# http.cpp sets. libguestfs0 likewise, but only inspect needs it: recommended,
# not a dependency.
[[ ", $depends," == *", libcurl4 (>= 7.85.0),"* ]] || fail "Depends lacks 'libcurl4 (>= 7.85.0)': $depends"
[[ ", $depends," == *", libssl3 (>= 3.0.0),"* ]] || fail "Depends lacks 'libssl3 (>= 3.0.0)': $depends"
[[ $depends != *libguestfs* ]] || fail "Depends names libguestfs (only inspect needs it: Recommends)"
[[ $depends != *-dev* ]] || fail "the tool depends on a -dev package"
recommends=$(field "$deb" Recommends)
case "$guestfs" in
  ON) want_recommends="ca-certificates, libguestfs0" ;;
  *) want_recommends=ca-certificates ;;
esac
[ "$recommends" = "$want_recommends" ] || fail "Recommends: '$recommends', expected '$want_recommends'"

dpkg-deb -c "$deb" | awk '{ print $6 }' >"$tmp/files"
for f in ./usr/bin/imgtool ./usr/share/man/man1/imgtool.1.gz ./usr/share/bash-completion/completions/imgtool \
  ./usr/share/doc/imgtool/copyright ./usr/share/doc/imgtool/README.md ./usr/share/doc/imgtool/docs/library.md; do
  grep -qxF "$f" "$tmp/files" || fail "imgtool does not hold $f"
done
! grep -qE '^\./usr/include/|\.a$|/pkgconfig/|/cmake/' "$tmp/files" || fail "imgtool holds development files"

dpkg-deb -x "$deb" "$tmp/root"
out=$("$tmp/root/usr/bin/imgtool" --version)
[ "$out" = "imgtool $version" ] || fail "the packaged imgtool --version printed '$out'"
file "$tmp/root/usr/bin/imgtool" | grep -q ', stripped' || fail "the packaged binary is not stripped"
# What the binary links (NEEDED): never libcurl, libcrypto, libguestfs or libvirt.
needed=$(objdump -p "$tmp/root/usr/bin/imgtool" | awk '$1 == "NEEDED" { print $2 }')
[ -n "$needed" ] || fail "objdump -p shows no NEEDED entry in the packaged binary"
! grep -qE '^lib(curl|crypto|ssl|guestfs|virt)' <<<"$needed" || fail "the packaged binary links: $(tr '\n' ' ' <<<"$needed")"
MANWIDTH=80 man --warnings -l "$tmp/root/usr/share/man/man1/imgtool.1.gz" >/dev/null 2>"$tmp/warn" || fail "man -l"
[ ! -s "$tmp/warn" ] || { cat "$tmp/warn"; fail "the packaged man page renders with warnings"; }

# The copyright file: machine-readable, its License paragraph is LICENSE.
copyright=$tmp/root/usr/share/doc/imgtool/copyright
head -1 "$copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
  fail "copyright: not in the machine-readable format"
grep -qx 'License: Apache-2.0' "$copyright" || fail "copyright: no 'License: Apache-2.0'"
awk 'p { print } /^License: Apache-2.0$/ { n++; if (n == 2) p = 1 }' "$copyright" | sed -e 's/^ //' -e 's/^\.$//' \
  >"$tmp/license"
sed -e 's/[[:blank:]]*$//' "$src/LICENSE" | sed -e '/./,$!d' >"$tmp/license.want"
cmp -s "$tmp/license" "$tmp/license.want" || { diff "$tmp/license.want" "$tmp/license" | head; fail "copyright: licence text differs from LICENSE"; }

# ---- imgtool-dev
[ "$(field "$dev" Package)" = imgtool-dev ] || fail "Package: $(field "$dev" Package)"
[ "$(field "$dev" Section)" = libdevel ] || fail "dev Section: $(field "$dev" Section)"
dev_depends=$(field "$dev" Depends)
for p in zlib1g-dev libzstd-dev libyaml-cpp-dev nlohmann-json3-dev pkg-config libcurl4 libssl3; do
  [[ ", $dev_depends," == *", $p"[\ ,]* ]] || fail "imgtool-dev Depends lacks $p: $dev_depends"
done
# Programs linking the library open libcurl, libcrypto and libguestfs at run time: no -dev package of theirs.
[[ $dev_depends != *libcurl*-dev* && $dev_depends != *libssl-dev* && $dev_depends != *libguestfs* ]] ||
  fail "imgtool-dev Depends names a libcurl/libssl -dev package or libguestfs: $dev_depends"
case "$guestfs" in
  ON) [ "$(field "$dev" Recommends)" = libguestfs0 ] || fail "imgtool-dev Recommends: '$(field "$dev" Recommends)'" ;;
esac
dpkg-deb -c "$dev" | awk '{ print $6 }' >"$tmp/dev_files"
for f in ./usr/include/imgtool/imgtool.hpp ./usr/include/imgtool/version.hpp ./usr/share/doc/imgtool-dev/copyright; do
  grep -qxF "$f" "$tmp/dev_files" || fail "imgtool-dev does not hold $f"
done
for pattern in '/libimgtool\.a$' '/cmake/imgtool/imgtoolConfig\.cmake$' '/pkgconfig/imgtool\.pc$'; do
  grep -qE "$pattern" "$tmp/dev_files" || fail "imgtool-dev holds nothing matching $pattern"
done
! grep -qE '^\./usr/bin/' "$tmp/dev_files" || fail "imgtool-dev holds programs"

[ "$bad" = 0 ] || exit 1
echo "imgtool_${version}_${arch}.deb and imgtool-dev_${version}_${arch}.deb are as they should be"
