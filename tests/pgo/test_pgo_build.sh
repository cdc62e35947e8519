#!/usr/bin/env bash
# CI: scripts/build-pgo.sh builds (warnings are errors there too), and its executables write the
# same bytes as the release build's in build/ (which the test suite checks) for the jobs of its
# training and for inputs it did not train on: JSON Lines input, msgpack output, many sensors.
#   tests/pgo/test_pgo_build.sh    (after scripts/test.sh has built build/)
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -x build/sluice ]] || { echo "test_pgo_build: build/sluice missing; run scripts/test.sh first" >&2; exit 2; }
SLUICE_BUILD_DIR=build-pgo scripts/build-pgo.sh -DSLUICE_BUILD_TESTS=OFF
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/sluice run --workers 1 --count 20000 --output "$work/input.jsonl" 2>/dev/null
check() { # NAME OUTPUT-EXTENSION FLAGS...
    local name=$1 ext=$2
    shift 2
    for b in build build-pgo; do
        "$b/sluice" run --workers 2 "$@" --output "$work/$name-${b#build}.$ext" 2>"$work/log" ||
            { cat "$work/log" >&2; echo "FAIL: $b, $name" >&2; exit 1; }
    done
    cmp "$work/$name-.$ext" "$work/$name--pgo.$ext" || { echo "FAIL: $name differs" >&2; exit 1; }
    echo "ok: $name ($(wc -c <"$work/$name-.$ext") bytes alike)"
}
check generator jsonl --count 100000
check heavy csv --count 20000 --heavy 100
check sensors msgpack --count 50000 --sensors 5000 --window 200
check jsonl-input jsonl --input "$work/input.jsonl"
echo "PASS: the profile-guided build writes what the release build writes"
