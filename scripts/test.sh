#!/usr/bin/env bash
# Sets up, builds, and runs every test: unit tests, --help/--version smoke tests and the
# process-level tests over real sockets. SLUICE_SANITIZE=address,undefined builds with sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
args=()
if [[ -n ${SLUICE_SANITIZE:-} ]]; then
    export SLUICE_BUILD_DIR=${SLUICE_BUILD_DIR:-build-sanitize} SLUICE_BUILD_TYPE=Debug
    args+=(-DSLUICE_SANITIZE="$SLUICE_SANITIZE")
fi
scripts/build.sh "${args[@]}"
(cd "${SLUICE_BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)" --timeout 600)

# The libFuzzer targets need clang: a separate build that holds only them, each run for a bounded
# time by ctest. SLUICE_SKIP_FUZZ=1 skips it (the sanitizer pass in CI does, having run it once).
if [[ -z ${SLUICE_SKIP_FUZZ:-} ]]; then
    targets=$(for f in tests/fuzz/fuzz_*.cpp; do basename "$f" .cpp; done)
    cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_FUZZ=ON >/dev/null
    # shellcheck disable=SC2086
    cmake --build build-fuzz -j"$(nproc)" --target $targets
    (cd build-fuzz && ctest --output-on-failure -j"$(nproc)")
fi
