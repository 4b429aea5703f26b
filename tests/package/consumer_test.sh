#!/usr/bin/env bash
# Installs the built tree into a temporary prefix, checks where the files
# went, then builds a separate project against it twice: with
# find_package(imgtool) and with pkg-config.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
[ -f "$tmp/prefix/include/imgtool/version.hpp" ] || { echo "the generated imgtool/version.hpp is not installed"; exit 1; }
[ ! -e "$tmp/prefix/include/imgtool/version.hpp.in" ] || { echo "the version.hpp template is installed"; exit 1; }
# What the CLI brings: the man page and the completion where man and
# bash-completion look, the docs.
for f in bin/imgtool share/man/man1/imgtool.1.gz share/bash-completion/completions/imgtool \
  share/doc/imgtool/README.md share/doc/imgtool/docs/library.md; do
  [ -f "$tmp/prefix/$f" ] || { echo "cmake --install did not install $f"; exit 1; }
done
cat >"$tmp/main.cpp" <<'CPP'
#include <imgtool/imgtool.hpp>
#include <iostream>
int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (imgtool::version() != IMGTOOL_VERSION_STRING) return 3;  // installed header and library agree
  auto img = imgtool::open_image(argv[1]);
  std::cout << img->info().format << " " << img->info().virtual_size << "\n";
}
CPP
cat >"$tmp/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer CXX)
find_package(imgtool REQUIRED)
add_executable(consumer main.cpp)
target_link_libraries(consumer PRIVATE imgtool::imgtool)
CM
cmake -S "$tmp" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
head -c 1000 /dev/urandom >"$tmp/one.img"
out=$("$tmp/b/consumer" "$tmp/one.img")
[ "$out" = "raw 1024" ] || { echo "find_package consumer printed '$out'"; exit 1; }
# pkg-config route (its flags in a variable of their own: inside a command
# substitution on the g++ line a pkg-config failure would go unnoticed)
flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  pkg-config --cflags --libs imgtool)
# The consumer chooses the standard (C++20 or later); the .pc file must not.
case " $flags " in *" -std="*) echo "pkg-config --cflags imposes a standard: $flags"; exit 1 ;; esac
# shellcheck disable=SC2086 # one word per flag
g++ -std=c++20 "$tmp/main.cpp" -o "$tmp/pc" $flags
out=$("$tmp/pc" "$tmp/one.img")
[ "$out" = "raw 1024" ] || { echo "pkg-config consumer printed '$out'"; exit 1; }
echo "find_package and pkg-config consumers OK"
