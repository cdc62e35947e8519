#!/usr/bin/env bash
# The default --batch-size follows the source (ingest/ingest.hpp, batch_size_for): 2,000 readings
# from a regular file, named or redirected to stdin, whose readings are all there to be read;
# 1,000 from a live source (stdin from a pipe, the generator), where the batch bounds latency; a
# given --batch-size always wins, and a given --max-batch-size caps the default. A
# protocol-speaking stand-in for the ventilator (held_ventilator.py --hold 0, decoding with
# python3-msgpack, independently of Sluice's codec) records every batch's size and the readings.
# Checks, for each source, the exact sizes of the batches and that the readings arrived unchanged
# and in order; then that `sluice run` leaves the choice to the ingest (the sink's count of
# batches).
source "$(dirname "$0")/lib.sh"
require_zmq_python
ROWS=5000
plain_readings "$ROWS"

# run_case NAME "EXPECTED SIZES" INGEST_COMMAND...: one ingest against the stand-in, whose
# endpoint replaces @VENT@ in the command. --flush-interval 600: no batch is sent part-full for
# want of readings (a pipe may deliver them in pieces), so the sizes are the batch size's alone.
run_case() {
    local name=$1 expected=$2 vent ingest sizes arg
    shift 2
    local cmd=()
    for arg in "$@"; do cmd+=("${arg//@VENT@/ipc://$T/in-$name}"); done
    start_bg "vent-$name" "$ZPY" "$PROC/held_ventilator.py" --bind "ipc://$T/in-$name" --hold 0 \
        --readings "$T/got-$name.txt"
    vent=$LAST_PID
    start_bg "ingest-$name" "${cmd[@]}"
    ingest=$LAST_PID
    expect_exit0 "$ingest" "$vent"
    sizes=$(sed -nE 's/^batch [0-9]+ ([0-9]+)$/\1/p' "$T/vent-$name.out" | tr '\n' ' ')
    [[ ${sizes% } == "$expected" ]] ||
        fail "$name: batches of ${sizes% }, expected $expected"
    if [[ $name != generator ]]; then
        cmp -s "$T/expected.txt" "$T/got-$name.txt" ||
            fail "$name: the readings that arrived differ from the input: $(diff "$T/expected.txt" "$T/got-$name.txt" | head -5)"
    fi
    echo "$name: batches of ${sizes% }"
}

ING=("$SLUICE_BIN/sluice-ingest" --ventilator @VENT@ --flush-interval 600 --stats-interval 0)
run_case file "2000 2000 1000" "${ING[@]}" --input "$T/in.csv"
# stdin redirected from the file is a regular file too (fstat), whatever the flag says.
# shellcheck disable=SC2016 # the inner shell expands them
run_case stdin-file "2000 2000 1000" bash -c 'exec "$@" < "$0"' "$T/in.csv" "${ING[@]}" --input -
STDIN_FROM="$T/in.csv" run_case stdin-pipe "1000 1000 1000 1000 1000" "${ING[@]}" --input -
run_case generator "1000 1000 1000 1000 1000" "${ING[@]}" --count "$ROWS"
run_case given "700 700 700 700 700 700 700 100" "${ING[@]}" --input "$T/in.csv" --batch-size 700
run_case capped "1500 1500 1500 500" "${ING[@]}" --input "$T/in.csv" --max-batch-size 1500

# `sluice run` passes --batch-size only when it was given: the ingest chooses by its source.
# (The generator's readings differ from the file's, so only the counts are checked here.)
for case in "file 3" "given 8"; do
    read -r name batches <<< "$case"
    extra=()
    [[ $name == given ]] && extra=(--batch-size 700)
    start_bg "run-$name" "$SLUICE_BIN/sluice" run --input "$T/in.csv" --workers 1 \
        --output "$T/out-$name.jsonl" --no-progress "${extra[@]}"
    expect_exit0 "$LAST_PID"
    grep -q "job has $batches batches, $ROWS readings" "$T/run-$name.err" ||
        fail "sluice run ($name): $(grep 'job has' "$T/run-$name.err" || echo 'no count of batches'), expected $batches batches"
done
start_bg run-generator "$SLUICE_BIN/sluice" run --count "$ROWS" --output "$T/out-gen.jsonl" \
    --workers 1 --no-progress
expect_exit0 "$LAST_PID"
grep -q "job has 5 batches, $ROWS readings" "$T/run-generator.err" ||
    fail "sluice run (generator): $(grep 'job has' "$T/run-generator.err" || echo 'no count of batches'), expected 5 batches"
echo "PASS: the default batch size follows the source"
