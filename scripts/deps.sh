#!/usr/bin/env bash
# Installs imgtool's build and test dependencies from Debian 12's packages.
# Idempotent and non-interactive: does nothing (not even apt-get update) when
# every package is already installed.  Usage: scripts/deps.sh [build|test|all]
set -euo pipefail
what=${1:-all}

# dpkg-dev and file: `cpack -G DEB` (dpkg-shlibdeps computes the Depends).
build_pkgs=(g++ cmake ninja-build pkg-config make zlib1g-dev libssl-dev libcurl4-openssl-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libzstd-dev liblzma-dev libbz2-dev qemu-utils ca-certificates
  libyaml-cpp-dev dpkg-dev file)
# Tests: the real qemu-img/qemu-io (golden outputs), clang for the libFuzzer
# harnesses, third-party readers as second opinions, a real Keystone +
# Glance (python libraries only, no service packages; see tests/glance/), and
# man-db + groff-base to render the man page, faketime (output must not depend
# on the clock), gnupg + gpgv (clear-signed sums files).
test_pkgs=(clang faketime libclang-rt-14-dev libfuzzer-14-dev libvmdk-utils python3-libvmdk libqcow-utils curl
  python3-keystone python3-glance python3-openstackclient python3-glanceclient hyperfine
  genisoimage fdisk gdisk time strace stunnel4 openssl 7zip xz-utils bzip2 zstd man-db groff-base gnupg gpgv)
# Guest inspection (optional feature): libguestfs + a kernel for its
# appliance, and what tests/images/make_guest.sh builds guests with.
guestfs_pkgs=(libguestfs-dev libguestfs-tools linux-image-amd64 debootstrap mtools dosfstools fdisk e2fsprogs)

case "$what" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  all) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${guestfs_pkgs[@]}") ;;
  guestfs) pkgs=("${guestfs_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all|guestfs]" >&2; exit 64 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
