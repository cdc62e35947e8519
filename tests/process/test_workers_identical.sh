#!/usr/bin/env bash
# The output is a pure function of the input (SPEC §3): the four executables as separate
# processes over ipc, with 1 worker and with 3 workers (and 250-reading batches), write
# byte-identical output that matches the reference oracle; the dead-letter file holds one line
# per invalid input line; every process exits 0.
source "$(dirname "$0")/lib.sh"

make_input --rows 60000 --sensors 41 --seed 7 --format csv --bad-every 101 --constant-sensor \
    --calibration-output "$T/cal.csv" --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --calibration "$T/cal.csv" --window 30 \
    --output "$T/expected.jsonl"
[ "$REF_INVALID" -gt 0 ] || fail "the input should hold dead letters"

# run_job NAME WORKERS [INGEST FLAG...]
run_job() {
    local name=$1 workers=$2 ep="ipc://$T/$1" k pids=() busy=0 n
    shift 2
    start_bg "$name-ventilator" "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
        --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 \
        --calibration "$T/cal.csv" --window 30 --stats-interval 0
    local vent=$LAST_PID
    start_bg "$name-sink" "$SLUICE_BIN/sluice-sink" --bind "$ep-results" \
        --ventilator "$ep-sink" --output "$T/$name.jsonl" --stats-interval 0
    local sink=$LAST_PID
    for ((k = 1; k <= workers; k++)); do
        start_bg "$name-worker$k" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
            --sink "$ep-results" --stats-interval 0
        pids+=("$LAST_PID")
    done
    # Every worker has joined before the input starts, so all of them can take work.
    wait_workers "$name-ventilator" "$workers" "$vent"
    start_bg "$name-ingest" "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
        --input "$T/in.csv" --dead-letter "$T/$name.dead.jsonl" --stats-interval 0 "$@"
    local ingest=$LAST_PID
    expect_exit0 "$ingest" "$vent" "$sink" "${pids[@]}"

    [ -s "$T/$name.jsonl" ] || fail "$name: no output"
    n=$(count_lines "$T/$name.dead.jsonl")
    [ "$n" -eq "$REF_INVALID" ] || fail "$name: $n dead letters, reference counts $REF_INVALID invalid lines"
    for ((k = 1; k <= workers; k++)); do
        grep -Eq 'computed [1-9][0-9]* batches' "$T/$name-worker$k.err" && busy=$((busy + 1))
    done
    echo "$name: $workers workers, $busy of them computed batches; $n dead letters"
    if [ "$workers" -gt 1 ] && [ "$busy" -lt 2 ]; then
        fail "$name: only $busy of $workers workers computed any batch"
    fi
}

run_job one 1
run_job three 3
run_job three-b250 3 --batch-size 250

compare "$T/expected.jsonl" "$T/one.jsonl"
assert_same "$T/one.jsonl" "$T/three.jsonl" "1 worker and 3 workers wrote different bytes"
assert_same "$T/one.jsonl" "$T/three-b250.jsonl" \
    "1 worker (batch 1000) and 3 workers (batch 250) wrote different bytes"
assert_same "$T/one.dead.jsonl" "$T/three-b250.dead.jsonl" "dead-letter files differ"
