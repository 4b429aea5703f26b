#!/usr/bin/env bash
# README command 2 (and what .ci/run runs): installs the test dependencies,
# then builds and runs the whole suite:
#   1. release build (-Werror) + ctest, with a real Keystone + Glance on 127.0.0.1
#   2. the Debian package: cpack -G DEB, apt-get install it, run it, remove it
#   3. ASan+UBSan build + ctest
#   4. libFuzzer smoke run of every parser harness (clang)
# Environment: IMGTOOL_TEST_SKIP="asan fuzz glance guestfs deb" skips phases (local use only).
# Nothing in the suite skips by itself (ctest counts a skip as a pass): a test
# whose tool, libguestfs or Glance is missing fails. So a skipped phase is left
# out here, by name: without "glance" no Glance test runs (ctest -LE glance);
# without "guestfs" the release build has no libguestfs and runs no guest test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
skip=" ${IMGTOOL_TEST_SKIP:-} "
jobs=$(nproc)
t0=$SECONDS
phase() { echo; echo "=== $* ($((SECONDS - t0)) s)"; }

phase "dependencies"
scripts/deps.sh test
# Guest inspection is ON (not AUTO) unless skipped: a machine without
# libguestfs then fails to configure instead of building without it.
guestfs=ON
ctest_leave_out=()
if [[ $skip == *" guestfs "* ]]; then
  guestfs=OFF
  ctest_leave_out+=(-E '^(GuestfsInspect|GlanceAutoProperties)\.')
else
  scripts/deps.sh guestfs
fi

glance_started=0
cleanup() {
  if [ "$glance_started" = 1 ]; then bash tests/glance/glance-dev.sh stop || true; fi
}
trap cleanup EXIT

if [[ $skip != *" glance "* ]]; then
  phase "Keystone + Glance (install, configure, start)"
  glance_started=1
  bash tests/glance/glance-dev.sh start
  # Where glance-dev.sh writes it (it honours IMGTOOL_GLANCE_STATE too).
  export IMGTOOL_GLANCE_ENV="${IMGTOOL_GLANCE_STATE:-$root/tests/glance/.state}/env"
else
  ctest_leave_out+=(-LE glance)
fi

phase "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIMGTOOL_WERROR=ON \
  -DIMGTOOL_WITH_GUESTFS="$guestfs" >/dev/null
cmake --build build -j "$jobs"
phase "release tests"
(cd build && ctest -j "$jobs" --output-on-failure --timeout 900 "${ctest_leave_out[@]}")

if [[ $skip != *" deb "* ]]; then
  phase "Debian package (cpack -G DEB, apt-get install, run, apt-get remove)"
  bash tests/package/deb_install_test.sh build
fi

if [[ $skip != *" asan "* ]]; then
  phase "ASan+UBSan build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIMGTOOL_SANITIZE=ON -DIMGTOOL_WERROR=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  phase "ASan+UBSan tests"
  # Glance and package tests already ran against the release build, and so did
  # the tests that load libguestfs (once it is loaded, LeakSanitizer's tracer
  # crashes at exit: the guest tests, and the two that run `inspect --guest`
  # on a refused image) and the one that runs imgtool under faketime (its
  # LD_PRELOAD comes before the ASan runtime, which ASan refuses).
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -j "$jobs" --output-on-failure --timeout 900 -LE 'glance|slow' \
      -E '^(Guestfs|GlanceAutoProperties|VerdictCli\.BackingFileFlagOnCheckConvertAndPublish$|shell\.startup_libs_test$|shell\.determinism_test$)')
fi

if [[ $skip != *" fuzz "* ]]; then
  phase "libFuzzer smoke run"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIMGTOOL_FUZZ=ON \
    -DIMGTOOL_BUILD_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs" --target fuzzers
  bash tests/fuzz/run_smoke.sh build-fuzz "${IMGTOOL_FUZZ_SECONDS:-20}"
fi

phase "all tests passed"
