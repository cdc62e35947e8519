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
cd "${SLUICE_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600
