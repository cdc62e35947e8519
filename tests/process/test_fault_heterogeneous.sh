#!/usr/bin/env bash
# Guarantee (SPEC §3, ARCHITECTURE "dispatches ... to the worker with the most free credits"): a
# slow worker does not hold the job back and does not change the output; work flows to the
# worker that has room. Two workers, "fast" and "slow" (--throttle 0.05: each result held 0.05 s,
# a slow host), process 300 batches. Checks: the output equals the fault-free output; from the
# ventilator's "batches done per worker" line, fast did at least 3x the batches of slow; and that
# line agrees with the workers' own summaries ("NAME computed N batches"; with no retry, every
# batch is done exactly once).
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

BATCH=500
BATCHES=300
JOB=(--count $((BATCH * BATCHES)) --sensors 100)

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

start_vent
start_sink --output "$T/out.jsonl"
start_worker fast --stats-interval 0
F=$LAST_PID
# A sanitized build computes several times slower; the slow worker's handicap grows to match.
throttle=0.05
if ((SANITIZED)); then throttle=0.25; fi
start_worker slow --stats-interval 0 --throttle "$throttle"
S=$LAST_PID
wait_workers 2
# Fixed batches (no growth while the window is full), so that the job has exactly $BATCHES.
start_ingest "${JOB[@]}" --batch-size "$BATCH" --max-batch-size "$BATCH" --stats-interval 0

expect_exit sink "$SINK" 60
expect_exit ventilator "$VENT" 20
expect_exit ingest "$INGEST" 20
expect_exit "worker fast" "$F" 20
expect_exit "worker slow" "$S" 20

cmp "$T/ref.jsonl" "$T/out.jsonl" || fail "the output differs from the fault-free output"
line=$(grep -m1 'batches done per worker:' "$T/vent.log") ||
    fail "the ventilator did not log 'batches done per worker' at exit"
echo "$line"
per_worker() { echo "$line" | grep -oE "[:,] $1 [0-9]+" | grep -oE '[0-9]+$'; }
fast=$(per_worker fast) || fail "no count for worker fast in: $line"
slow=$(per_worker slow) || slow=0
((fast >= 3 * slow)) || fail "fast did $fast batches, slow $slow: expected fast >= 3x slow"
((fast + slow >= BATCHES)) ||
    fail "the ventilator counts $fast + $slow batches done, but the job has $BATCHES batches"

retries=$(field_of "$T/vent.log" retries)
if [[ $retries == 0 ]]; then
    own_fast=$(grep -oE 'fast computed [0-9]+' "$T/worker-fast.log" | grep -oE '[0-9]+$')
    own_slow=$(grep -oE 'slow computed [0-9]+' "$T/worker-slow.log" | grep -oE '[0-9]+$')
    echo "workers' own summaries: fast $own_fast, slow $own_slow"
    [[ $own_fast == "$fast" && $own_slow == "$slow" ]] ||
        fail "the ventilator's per-worker counts (fast $fast, slow $slow) disagree with the workers' own (fast $own_fast, slow $own_slow)"
fi
note "PASS: output identical; fast $fast batches, slow $slow"
