#!/usr/bin/env bash
# stdin and stdout (SPEC §2, §5): JSON Lines piped into `sluice-ingest --input - --format jsonl`
# with the sink writing `--output -`; and CSV piped through `sluice run --input - --output -`.
# Both outputs match the reference oracle and every process exits 0.
source "$(dirname "$0")/lib.sh"

make_input --rows 20000 --sensors 13 --seed 21 --format jsonl --bad-every 97 --constant-sensor \
    --calibration-output "$T/cal.csv" --output "$T/in.jsonl"
reference --input "$T/in.jsonl" --format jsonl --calibration "$T/cal.csv" --window 12 \
    --output "$T/expected-jsonl.jsonl"
jsonl_invalid=$REF_INVALID

# 1. The four executables; ingest reads a pipe, the sink writes its stdout.
ep="ipc://$T/ep"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
    --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 \
    --calibration "$T/cal.csv" --window 12 --stats-interval 0
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
    --output - --stats-interval 0
sink=$LAST_PID
start_bg worker1 "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
w1=$LAST_PID
start_bg worker2 "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
w2=$LAST_PID
wait_workers ventilator 2 "$vent"
STDIN_FROM="$T/in.jsonl" start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
    --input - --format jsonl --dead-letter "$T/dead.jsonl" --stats-interval 0
ingest=$LAST_PID
expect_exit0 "$ingest" "$vent" "$sink" "$w1" "$w2"
compare "$T/expected-jsonl.jsonl" "$T/sink.out"
n=$(count_lines "$T/dead.jsonl")
[ "$n" -eq "$jsonl_invalid" ] || fail "stdin jsonl: $n dead letters, reference counts $jsonl_invalid"
grep -q '"source"' "$T/dead.jsonl" || fail "dead letters do not name their source"

# 2. `cat in.csv | sluice run --input - --output - --workers 2 > out`
make_input --rows 20000 --sensors 9 --seed 22 --format csv --bad-every 89 --constant-sensor \
    --calibration-output "$T/cal2.csv" --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --calibration "$T/cal2.csv" --window 7 \
    --output "$T/expected-csv.jsonl"
STDIN_FROM="$T/in.csv" start_bg run "$SLUICE_BIN/sluice" run --input - --output - --workers 2 \
    --calibration "$T/cal2.csv" --window 7 --dead-letter "$T/run-dead.jsonl"
expect_exit0 "$LAST_PID"
compare "$T/expected-csv.jsonl" "$T/run.out"
n=$(count_lines "$T/run-dead.jsonl")
[ "$n" -eq "$REF_INVALID" ] || fail "sluice run: $n dead letters, reference counts $REF_INVALID"
csv_invalid=$REF_INVALID

# check_bad_input_told ERRFILE KEEP: behind `sluice run` (children log warnings only) the user still
# learns what was wrong and where, and how much: make_input makes every 89th data line bad, so the
# first is data line 89, line 90 of the file after its header; the first ten are logged one by
# one, the rest only counted; the summary gives the reference's count and says where they went.
check_bad_input_told() {
    local err=$1 keep=$2
    grep -q "^sluice-ingest: warning: bad input: stdin line 90: " "$err" ||
        fail "the first bad line (line 90 of stdin) was not logged: $(head -c 2000 "$err")"
    n=$(grep -c "^sluice-ingest: warning: bad input: " "$err")
    [ "$n" -eq 10 ] || fail "$n bad lines logged one by one, expected the first 10"
    grep -q "^sluice-ingest: warning: summary: $csv_invalid bad input lines were not sent (dead letters; $keep" "$err" ||
        fail "no summary warning of $csv_invalid bad input lines ($keep): $(grep summary "$err")"
}
check_bad_input_told "$T/run.err" "written to '$T/run-dead.jsonl')"

# 3. The same without a job definition: the defaults (window 50, no calibration).
reference --input "$T/in.csv" --format csv --output "$T/expected-default.jsonl"
STDIN_FROM="$T/in.csv" start_bg run-default "$SLUICE_BIN/sluice" run --input - --output - \
    --workers 2
expect_exit0 "$LAST_PID"
compare "$T/expected-default.jsonl" "$T/run-default.out"
check_bad_input_told "$T/run-default.err" "give --dead-letter FILE to keep them)"

# 4. A device as the output file (a benchmark's --output /dev/null): fsync has nothing to do
# there, and the job must still end with status 0.
start_bg run-null "$SLUICE_BIN/sluice" run --count 5000 --output /dev/null --workers 1
expect_exit0 "$LAST_PID"
