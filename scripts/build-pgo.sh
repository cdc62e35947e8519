#!/usr/bin/env bash
# Builds Sluice with GCC's profile-guided optimisation into build-pgo/ (or $SLUICE_BUILD_DIR):
# an instrumented Release build runs a few training jobs on generated data (the generator, a CSV
# file, CSV output, --heavy), and the build is then done again with the profile they recorded.
# Extra arguments go to cmake, as for scripts/build.sh. It takes about twice as long as
# scripts/build.sh; the executables compute the same bytes and take ~3 % less time end to end
# (docs/BENCHMARKS.md, "Profile-guided optimisation").
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SLUICE_BUILD_DIR:-build-pgo}
profile=$(realpath -m "$dir")/pgo-profile
train=$(mktemp -d)
trap 'rm -rf "$train"' EXIT

rm -rf "$profile"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    "-DCMAKE_CXX_FLAGS=-fprofile-generate=$profile -fprofile-update=prefer-atomic" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"

# Training input: 100 sensors, timestamps a millisecond apart, values with 15-17 digits, as a
# sensor's readings usually look. Deterministic, so two builds of one commit get one profile.
awk 'BEGIN {
    print "sensorId,timestamp,value,unit"
    srand(7)
    for (i = 0; i < 300000; i++)
        printf "S%d,%.3f,%.17g,C\n", i % 100, 1700000000 + i / 1000, 40 + 20 * rand()
}' >"$train/input.csv"
head -n 50001 "$train/input.csv" >"$train/short.csv"
run() { "$dir/sluice" run --workers 2 "$@" 2>"$train/log" || { cat "$train/log" >&2; exit 1; }; }
run --count 300000 --output "$train/generated.jsonl"
run --input "$train/input.csv" --output "$train/out.jsonl"
run --input "$train/short.csv" --output "$train/out.csv"
run --input "$train/short.csv" --heavy 100 --output "$train/heavy.jsonl"

# -Wno-missing-profile: the tests' and benchmarks' own files, if they are built, run no training.
cmake -S . -B "$dir" \
    "-DCMAKE_CXX_FLAGS=-fprofile-use=$profile -fprofile-partial-training -Wno-missing-profile" \
    >/dev/null
cmake --build "$dir" -j"$(nproc)"
echo "profile-guided build in $dir/ (profile in $profile)"
