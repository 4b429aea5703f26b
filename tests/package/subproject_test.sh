#!/usr/bin/env bash
# A project that embeds imgtool with add_subdirectory() (FetchContent works
# the same way) configures and builds with GoogleTest unfindable
# (CMAKE_DISABLE_FIND_PACKAGE_GTest: any find_package(GTest REQUIRED) then
# fails the configure), keeps its own build type, and installs nothing of
# imgtool's. Usage: subproject_test.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "subproject: $*" >&2; exit 1; }

mkdir "$tmp/consumer"
cat >"$tmp/consumer/main.cpp" <<'CPP'
#include <imgtool/imgtool.hpp>
#include <iostream>
int main(int argc, char** argv) {
  if (argc < 2) return 2;
  auto img = imgtool::open_image(argv[1]);
  std::cout << imgtool::version() << " " << img->info().format << " " << img->info().virtual_size << "\n";
}
CPP
cat >"$tmp/consumer/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
set(CMAKE_CXX_STANDARD 20)
add_subdirectory("$src" imgtool)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE imgtool::imgtool)
CM

cmake -S "$tmp/consumer" -B "$tmp/b" -G Ninja -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "the consumer does not configure without GoogleTest"; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$tmp/b/CMakeCache.txt"; }
[ "$(cache IMGTOOL_BUILD_TESTS)" = OFF ] || fail "IMGTOOL_BUILD_TESTS is '$(cache IMGTOOL_BUILD_TESTS)', want OFF"
[ "$(cache IMGTOOL_INSTALL)" = OFF ] || fail "IMGTOOL_INSTALL is '$(cache IMGTOOL_INSTALL)', want OFF"
[ -z "$(cache CMAKE_BUILD_TYPE)" ] || fail "imgtool set the consumer's CMAKE_BUILD_TYPE to '$(cache CMAKE_BUILD_TYPE)'"

cmake --build "$tmp/b" -j "$(nproc)" >"$tmp/build.log" 2>&1 || { tail -50 "$tmp/build.log"; fail "the consumer does not build"; }
head -c 1000 /dev/urandom >"$tmp/one.img"
out=$("$tmp/b/consumer" "$tmp/one.img")
[[ $out =~ ^[0-9]+\.[0-9]+\.[0-9]+\ raw\ 1024$ ]] || fail "the consumer printed '$out', want 'VERSION raw 1024'"

cmake --install "$tmp/b" --prefix "$tmp/prefix" >/dev/null
if [ -e "$tmp/prefix" ] && [ -n "$(find "$tmp/prefix" -type f)" ]; then
  find "$tmp/prefix" -type f >&2
  fail "installing the consumer installed imgtool's files"
fi
echo "add_subdirectory consumer without GoogleTest OK"
