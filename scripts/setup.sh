#!/usr/bin/env bash
# README command 1: install the build dependencies, build imgtool, and run
# `imgtool info` on a sample image (tests/images/make_sample.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
tests/images/make_sample.sh build/sample.qcow2
echo "\$ build/bin/imgtool info build/sample.qcow2"
build/bin/imgtool info build/sample.qcow2
