#!/usr/bin/env bash
# A large window over many sensors (SPEC §4, §6; docs/PROTOCOL.md "History"): with --window 500
# and batches of 100 readings over 50 sensors, a sensor's whole history (up to 499 values) is far
# longer than what a worker misses between its tasks, so tasks carry continuations of the
# windows each worker keeps; up to 64 batches are held at once, and each batch's values come from
# the ventilator's per-sensor store. The output matches the reference oracle at batch 100 and
# 5,000, with 2 and with 3 workers, and for the default job.
source "$(dirname "$0")/lib.sh"

make_input --rows 30000 --sensors 50 --seed 71 --format csv --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --window 500 --output "$T/expected.jsonl"

for shape in "100 2" "100 3" "5000 2"; do
    read -r batch workers <<< "$shape"
    name="b$batch-w$workers"
    start_bg "$name" "$SLUICE_BIN/sluice" run --input "$T/in.csv" --output "$T/$name.jsonl" \
        --workers "$workers" --window 500 --batch-size "$batch"
    expect_exit0 "$LAST_PID"
    compare "$T/expected.jsonl" "$T/$name.jsonl"
done

reference --input "$T/in.csv" --format csv --output "$T/expected-default.jsonl"
start_bg default "$SLUICE_BIN/sluice" run --input "$T/in.csv" --output "$T/default.jsonl" --workers 2
expect_exit0 "$LAST_PID"
compare "$T/expected-default.jsonl" "$T/default.jsonl"
echo "PASS: window 500 matches the reference at batch 100 and 5,000, with 2 and 3 workers"
