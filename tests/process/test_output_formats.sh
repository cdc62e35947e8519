#!/usr/bin/env bash
# Output formats (SPEC §5): the same job written as CSV and msgpack, chosen by the sink's
# --format and by the output file's extension (.csv, .msgpack), each checked against the
# reference oracle; the flag and the extension give the same bytes.  And --heavy 7 on the
# ventilator adds the heavy field, checked against reference.py --heavy 7.
source "$(dirname "$0")/lib.sh"

make_input --rows 15000 --sensors 11 --seed 44 --format csv --bad-every 71 --constant-sensor \
    --calibration-output "$T/cal.csv" --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --calibration "$T/cal.csv" --window 25 \
    --output "$T/expected.jsonl"
reference --input "$T/in.csv" --format csv --calibration "$T/cal.csv" --window 25 --heavy 7 \
    --output "$T/expected-heavy.jsonl"

# run_job NAME "VENTILATOR FLAGS" SINK FLAG...: one job over ipc, two workers, all exit 0
run_job() {
    local name=$1 vflags=$2 ep="ipc://$T/$1"
    shift 2
    # shellcheck disable=SC2086
    start_bg "$name-ventilator" "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
        --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 \
        --calibration "$T/cal.csv" --window 25 --stats-interval 0 $vflags
    local vent=$LAST_PID
    start_bg "$name-sink" "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
        --stats-interval 0 "$@"
    local sink=$LAST_PID
    start_bg "$name-worker1" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
        --sink "$ep-results" --stats-interval 0
    local w1=$LAST_PID
    start_bg "$name-worker2" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
        --sink "$ep-results" --stats-interval 0
    local w2=$LAST_PID
    wait_workers "$name-ventilator" 2 "$vent"
    start_bg "$name-ingest" "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
        --input "$T/in.csv" --stats-interval 0
    expect_exit0 "$LAST_PID" "$vent" "$sink" "$w1" "$w2"
}

run_job flag-csv "" --format csv --output "$T/flag-csv.out"
compare "$T/expected.jsonl" "$T/flag-csv.out" --format csv
head -n 1 "$T/flag-csv.out" | grep -qx \
    'sensorId,timestamp,value,unit,normalized,feature,windowCount,windowMean,windowStd,windowMin,windowMax,zscore' \
    || fail "CSV header is not the record fields in order: $(head -n 1 "$T/flag-csv.out")"

run_job flag-msgpack "" --format msgpack --output "$T/flag-msgpack.out"
compare "$T/expected.jsonl" "$T/flag-msgpack.out" --format msgpack

run_job ext-csv "" --output "$T/out.csv"
compare "$T/expected.jsonl" "$T/out.csv" --format csv
assert_same "$T/flag-csv.out" "$T/out.csv" "--format csv and the .csv extension give different bytes"

run_job ext-msgpack "" --output "$T/out.msgpack"
compare "$T/expected.jsonl" "$T/out.msgpack" --format msgpack
assert_same "$T/flag-msgpack.out" "$T/out.msgpack" \
    "--format msgpack and the .msgpack extension give different bytes"

run_job heavy "--heavy 7" --output "$T/heavy.jsonl"
compare "$T/expected-heavy.jsonl" "$T/heavy.jsonl"
