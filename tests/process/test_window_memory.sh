#!/usr/bin/env bash
# A worker's window memory is bounded (--worker-window-memory; docs/PROTOCOL.md "History"): with
# 1 MiB and --window 200, a worker keeps the windows of at most 312 sensors (3,360 bytes each),
# and the job has 1,000. Workers then drop their windows every few tasks, and the ventilator,
# applying the same rule, sends those tasks whole histories: no task is refused, each worker ends
# holding at most 312 sensors' windows plus one batch's, and the output matches the reference.
source "$(dirname "$0")/lib.sh"

make_input --rows 40000 --sensors 1000 --seed 91 --format csv --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --window 200 --output "$T/expected.jsonl"

ep="ipc://$T/ep"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
    --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 --window 200 \
    --worker-window-memory 1 --stats-interval 0 --log-level info
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
    --output "$T/out.jsonl" --stats-interval 0
sink=$LAST_PID
workers=()
for i in 1 2; do
    start_bg "worker$i" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
        --sink "$ep-results" --name "w$i" --stats-interval 0 --log-level info
    workers+=("$LAST_PID")
done
wait_workers ventilator 2 "$vent"
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --input "$T/in.csv" \
    --batch-size 100 --stats-interval 0
expect_exit0 "$LAST_PID" "$vent" "$sink" "${workers[@]}"
compare "$T/expected.jsonl" "$T/out.jsonl"

grep -q 'workers keep the windows of up to 312 sensors' "$T/ventilator.err" ||
    fail "the ventilator did not state the limit: $(grep 'job ' "$T/ventilator.err")"
summary=$(grep 'summary: ' "$T/ventilator.err")
[[ $summary =~ tasks\ refused\ 0, ]] || fail "tasks were refused: $summary"
[[ $summary =~ window\ drops\ ([0-9]+), ]] || fail "no window drops in: $summary"
drops=${BASH_REMATCH[1]}
((drops > 0)) || fail "the ventilator assumed no drop: $summary"
worker_drops=0
for i in 1 2; do
    line=$(grep 'summary: ' "$T/worker$i.err")
    [[ $line =~ tasks\ refused\ 0,\ windows\ dropped\ ([0-9]+)\ times\ \(holding\ ([0-9]+)\ at\ the\ end\) ]] ||
        fail "worker $i summary: $line"
    ((BASH_REMATCH[2] <= 312 + 100)) || fail "worker $i kept ${BASH_REMATCH[2]} windows: $line"
    worker_drops=$((worker_drops + BASH_REMATCH[1]))
done
# Both sides count the same drops: the ventilator's assumptions were never wrong.
((worker_drops == drops)) || fail "workers dropped $worker_drops times, the ventilator assumed $drops"
echo "PASS: $drops window drops, none refused, output matches the reference"
