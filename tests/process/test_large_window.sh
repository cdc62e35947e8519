#!/usr/bin/env bash
# A large window over many sensors (SPEC §4, §6; docs/BENCHMARKS.md "Many sensors and large
# windows"): with --window 500 and batches of 100 readings over 50 sensors, every task carries up
# to 50 x 499 history values for 100 readings, and up to 64 batches are held at once. The output
# matches the reference oracle (each batch's history rebuilt from the ventilator's per-sensor
# store, whichever batch is sent when), and the ventilator says once that a larger --batch-size
# would share those histories among more readings. With a batch size where the history no longer
# outweighs the readings, and for the default job, it says nothing.
source "$(dirname "$0")/lib.sh"

make_input --rows 30000 --sensors 50 --seed 71 --format csv --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --window 500 --output "$T/expected.jsonl"

hint='sluice-ventilator: warning: tasks carry [0-9]+ KiB of sensor history \([0-9]+ sensors in a batch of 100 readings, up to 499 values each\) for [0-9]+ KiB of readings; a larger --batch-size at the ingest'

start_bg small "$SLUICE_BIN/sluice" run --input "$T/in.csv" --output "$T/small.jsonl" --workers 2 \
    --window 500 --batch-size 100
expect_exit0 "$LAST_PID"
compare "$T/expected.jsonl" "$T/small.jsonl"
n=$(grep -Ec "$hint" "$T/small.err" || true)
[ "$n" -eq 1 ] || fail "expected the batch-size hint once, saw it $n times: $(grep -i warning "$T/small.err")"

start_bg large "$SLUICE_BIN/sluice" run --input "$T/in.csv" --output "$T/large.jsonl" --workers 2 \
    --window 500 --batch-size 5000
expect_exit0 "$LAST_PID"
compare "$T/expected.jsonl" "$T/large.jsonl"
! grep -q 'sensor history' "$T/large.err" || fail "hint at batch 5,000: $(grep 'sensor history' "$T/large.err")"

reference --input "$T/in.csv" --format csv --output "$T/expected-default.jsonl"
start_bg default "$SLUICE_BIN/sluice" run --input "$T/in.csv" --output "$T/default.jsonl" --workers 2
expect_exit0 "$LAST_PID"
compare "$T/expected-default.jsonl" "$T/default.jsonl"
! grep -q 'sensor history' "$T/default.err" || fail "hint for the default job: $(grep 'sensor history' "$T/default.err")"
echo "PASS: window 500 matches the reference at batch 100 and 5,000; the hint once, only where it helps"
