#!/usr/bin/env bash
# The sample image of the README: a 64 MiB qcow2 with a little data, made with
# qemu-img/qemu-io so that it is a real qemu-made image.
set -euo pipefail
out=${1:-sample.qcow2}
rm -f "$out"
qemu-img create -q -f qcow2 "$out" 64M
qemu-io -f qcow2 -c 'write -P 0x5a 0 1M' -c 'write -P 0xa5 32M 512k' "$out" >/dev/null
