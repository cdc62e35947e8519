#!/usr/bin/env bash
# Configuration sources (SPEC §1): the ventilator's window set by a --config TOML file
# (`window = 5`) and, in another run, by SLUICE_WINDOW=5 in its environment; the sink's
# output file set by SLUICE_OUTPUT.  The outputs have windows of at most 5 readings (and
# exactly 5 once a sensor has enough readings) and match the reference with --window 5.
source "$(dirname "$0")/lib.sh"

make_input --rows 8000 --sensors 9 --seed 55 --format csv --bad-every 61 --constant-sensor \
    --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --window 5 --output "$T/expected.jsonl"

# max_window_count FILE: the largest windowCount in a JSON Lines output
max_window_count() {
    "$PY" -c 'import json, sys; print(max(json.loads(l)["windowCount"] for l in open(sys.argv[1])))' "$1"
}

# run_job NAME VENTILATOR-COMMAND... -- SINK-COMMAND... -- : one job over ipc with one worker.
# Each COMMAND is the start of a command line (e.g. `env SLUICE_WINDOW=5 .../sluice-ventilator
# --window 5`); the endpoint flags are appended to it.
run_job() {
    local name=$1 ep="ipc://$T/$1"
    shift
    local vent_pre=() sink_pre=()
    while [ "$1" != -- ]; do vent_pre+=("$1"); shift; done
    shift
    while [ "$1" != -- ]; do sink_pre+=("$1"); shift; done
    shift
    start_bg "$name-ventilator" "${vent_pre[@]}" --bind-ingest "$ep-ingest" \
        --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 --stats-interval 0
    local vent=$LAST_PID
    start_bg "$name-sink" "${sink_pre[@]}" --bind "$ep-results" --ventilator "$ep-sink" \
        --stats-interval 0
    local sink=$LAST_PID
    start_bg "$name-worker" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
        --sink "$ep-results" --stats-interval 0
    local worker=$LAST_PID
    wait_workers "$name-ventilator" 1 "$vent"
    start_bg "$name-ingest" "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
        --input "$T/in.csv" --stats-interval 0
    expect_exit0 "$LAST_PID" "$vent" "$sink" "$worker"
}

# 1. --config job.toml with `window = 5`
cat > "$T/job.toml" <<'EOF'
# the job's window, as the long flag's name
window = 5
EOF
run_job config "$SLUICE_BIN/sluice-ventilator" --config "$T/job.toml" -- \
    "$SLUICE_BIN/sluice-sink" --output "$T/config.jsonl" --
grep -q 'window 5\b' "$T/config-ventilator.err" \
    || fail "--config: the ventilator does not report window 5: $(head -n 1 "$T/config-ventilator.err")"
max=$(max_window_count "$T/config.jsonl")
[ "$max" -eq 5 ] || fail "--config window = 5: the largest windowCount is $max, expected 5"
compare "$T/expected.jsonl" "$T/config.jsonl"

# 2. SLUICE_WINDOW=5 in the ventilator's environment; SLUICE_OUTPUT in the sink's.
run_job env env SLUICE_WINDOW=5 "$SLUICE_BIN/sluice-ventilator" -- \
    env SLUICE_OUTPUT="$T/env-output.jsonl" "$SLUICE_BIN/sluice-sink" --
[ -s "$T/env-output.jsonl" ] || fail "SLUICE_OUTPUT: the sink did not write $T/env-output.jsonl"
[ -s "$T/env-sink.out" ] && fail "SLUICE_OUTPUT: the sink still wrote records to stdout"
max=$(max_window_count "$T/env-output.jsonl")
[ "$max" -eq 5 ] || fail "SLUICE_WINDOW=5: the largest windowCount is $max, expected 5"
compare "$T/expected.jsonl" "$T/env-output.jsonl"
assert_same "$T/config.jsonl" "$T/env-output.jsonl" "--config and environment runs differ"

# 3. A flag on the command line wins over the environment (window 5 beats SLUICE_WINDOW=9).
run_job precedence env SLUICE_WINDOW=9 "$SLUICE_BIN/sluice-ventilator" --window 5 -- \
    "$SLUICE_BIN/sluice-sink" --output "$T/precedence.jsonl" --
max=$(max_window_count "$T/precedence.jsonl")
[ "$max" -eq 5 ] || fail "--window 5 with SLUICE_WINDOW=9: the largest windowCount is $max, expected 5"
