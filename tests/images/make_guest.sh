#!/usr/bin/env bash
# Builds real guest images for the guest-inspection tests, without a network
# beyond the apt mirror this machine is configured with, and records what it
# put in them (OUTDIR/<name>.facts, KEY=VALUE) so tests assert against the
# guest, not a hard-coded point release.
#
#   make_guest.sh skeleton OUTDIR [OPTIONS]  # < 1 s: an ext4 filesystem with just what inspection reads
#   make_guest.sh debian OUTDIR               # ~35 s+: debootstrap'ed Debian 12 on a GPT disk with an ESP
#
# Skeleton options:
#   --hostname NAME     /etc/hostname (default skeleton-guest), to tell two images apart
#   --builtin-virtio    virtio_blk, virtio_scsi and virtio_net built into the kernel:
#                       listed in modules.builtin, no .ko files (the other way,
#                       besides modules, a kernel carries them)
#
# Output: OUTDIR/<name>.raw (raw disk image) and OUTDIR/<name>.facts.
set -euo pipefail
kind=${1:?kind: skeleton|debian}
out=${2:?outdir}
shift 2
hostname=skeleton-guest
builtin_virtio=no
while [ $# -gt 0 ]; do
  case "$1" in
    --hostname) hostname=${2:?--hostname NAME}; shift 2 ;;
    --builtin-virtio) builtin_virtio=yes; shift ;;
    *) echo "make_guest.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
mkdir -p "$out"
work=$(mktemp -d "$out/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT

# Populate a directory as a Debian-like root filesystem.
skeleton_root() {
  local r=$1
  mkdir -p "$r"/{etc,bin,usr/bin,sbin,var/lib/dpkg,boot}
  cat >"$r/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
OS
  echo "12.7" >"$r/etc/debian_version"
  echo "$hostname" >"$r/etc/hostname"
  printf 'UUID=0 / ext4 defaults 0 1\n' >"$r/etc/fstab"
  # ELF binaries tell libguestfs the architecture.
  cp /bin/ls /bin/bash "$r/bin/"
  cp /usr/bin/env "$r/usr/bin/"
  cat >"$r/var/lib/dpkg/status" <<'DPKG'
Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u7

Package: qemu-guest-agent
Status: install ok installed
Architecture: amd64
Version: 1:7.2+dfsg-7+deb12u7

DPKG
  local kv=6.1.0-99-amd64 scsi_model=
  mkdir -p "$r/lib/modules/$kv/kernel/drivers/block"
  if [ "$builtin_virtio" = yes ]; then
    printf 'kernel/drivers/block/virtio_blk.ko\nkernel/drivers/scsi/virtio_scsi.ko\nkernel/drivers/net/virtio_net.ko\n' \
      >"$r/lib/modules/$kv/modules.builtin"
    scsi_model=virtio-scsi
  else
    cp /bin/true "$r/lib/modules/$kv/kernel/drivers/block/virtio_blk.ko"
    printf 'kernel/drivers/net/virtio_net.ko\n' >"$r/lib/modules/$kv/modules.builtin"
  fi
  cat >"$out/skeleton.facts" <<FACTS
os_type=linux
os_distro=debian
os_version=12
architecture=x86_64
hostname=${hostname}
hw_qemu_guest_agent=yes
hw_disk_bus=virtio
hw_scsi_model=${scsi_model}
hw_vif_model=virtio
hw_firmware_type=
FACTS
}

case "$kind" in
  skeleton)
    skeleton_root "$work/root"
    rm -f "$out/skeleton.raw"
    mkfs.ext4 -q -F -L root -d "$work/root" "$out/skeleton.raw" 32M
    ;;
  debian)
    # The mirror is whatever apt on this machine uses (never hard-coded).
    mirror=
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
      mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
      mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
    fi
    [ -n "$mirror" ] || { echo "make_guest.sh: no apt mirror configured" >&2; exit 2; }
    debootstrap --variant=minbase --include=qemu-guest-agent,systemd-sysv bookworm "$work/root" "$mirror" \
      >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    echo "debian-guest" >"$work/root/etc/hostname"
    printf 'LABEL=root / ext4 defaults 0 1\nLABEL=ESP /boot/efi vfat defaults 0 2\n' >"$work/root/etc/fstab"
    mkdir -p "$work/root/boot/efi"
    # Kernel modules as a Debian kernel package lays them out, virtio_blk and
    # virtio_scsi both, as in Debian 12's generic and cloud kernels (the
    # kernel itself is not needed for inspection).
    kvs=(/lib/modules/*)
    [ -d "${kvs[0]}" ] || { echo "make_guest.sh: no kernel in /lib/modules (scripts/deps.sh guestfs)" >&2; exit 2; }
    kv=$(basename "${kvs[0]}")
    mkdir -p "$work/root/lib/modules/$kv/kernel/drivers/"{block,net,scsi}
    # The host's module when it has one (maybe compressed: .ko.xz); otherwise
    # a stand-in file, which is all inspection looks at.
    for m in block/virtio_blk scsi/virtio_scsi net/virtio_net; do
      mods=(/lib/modules/"$kv"/kernel/drivers/$m.ko*)
      if [ -e "${mods[0]}" ]; then src=${mods[0]}; else src=/bin/true; fi
      cp "$src" "$work/root/lib/modules/$kv/kernel/drivers/$m.ko"
    done
    version_id=$(. "$work/root/etc/os-release" && echo "$VERSION_ID")
    # Filesystems as separate images, then laid into a GPT disk: ESP (with
    # /EFI) + root. No loop devices or mounts needed.
    mkfs.vfat -n ESP -C "$work/esp.img" $((32 * 1024)) >/dev/null
    mmd -i "$work/esp.img" ::/EFI ::/EFI/debian
    mkfs.ext4 -q -F -L root -d "$work/root" "$work/root.img" 1G
    rm -f "$out/debian.raw"
    truncate -s $((1024 + 32 + 1024 + 2))M "$out/debian.raw"
    sfdisk -q "$out/debian.raw" <<'PT'
label: gpt
start=2048, size=65536, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
start=67584, size=2097152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
PT
    dd if="$work/esp.img" of="$out/debian.raw" bs=512 seek=2048 conv=notrunc,sparse status=none
    dd if="$work/root.img" of="$out/debian.raw" bs=512 seek=67584 conv=notrunc,sparse status=none
    qga=no
    grep -q '^Package: qemu-guest-agent$' "$work/root/var/lib/dpkg/status" && qga=yes
    cat >"$out/debian.facts" <<FACTS
os_type=linux
os_distro=debian
os_version=${version_id}
architecture=x86_64
hostname=debian-guest
hw_qemu_guest_agent=${qga}
hw_disk_bus=virtio
hw_scsi_model=virtio-scsi
hw_vif_model=virtio
hw_firmware_type=uefi
FACTS
    ;;
  *) echo "usage: $0 skeleton|debian OUTDIR" >&2; exit 64 ;;
esac
