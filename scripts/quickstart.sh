#!/usr/bin/env bash
# Sets up, builds, and runs the main job on its built-in defaults: the generator's 1,000,000
# readings through a local topology (one worker per core), written to sluice-output.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
build/sluice run --output sluice-output.jsonl "$@"
echo "first records of sluice-output.jsonl:"
head -n 3 sluice-output.jsonl
