#!/usr/bin/env bash
# How `sluice run` fails (SPEC §1, §8; README "Running a job in one command"):
# 1. The reader of its stdout goes away (`sluice run | head -n 1`): the sink reports the broken
#    pipe, and the run exits 1 at once, stopping the rest itself: no node left to the 5 s bound
#    ("did not exit; killing it") and no node it stopped reported as failed.
# 2. The ingest dies in the middle of a job (SIGKILL, as a crash or the OOM killer would): the
#    run exits 1, although the sink then writes what the job held, in order, and exits 0; and the
#    output holds exactly the readings sent before the ingest died.
source "$(dirname "$0")/lib.sh"

# children_of PID: the PIDs of PID's child processes.
children_of() {
    ps -o pid= --ppid "$1" | tr -d ' '
}

# 1. `sluice run --output - | head -n 1`. Two million readings: the job is still running when
# `head` exits after the first line.
# shellcheck disable=SC2016 # the inner shell expands $0, $1 and PIPESTATUS
start_bg head "$BASH" -c '"$0" run --count 2000000 --workers 2 --output - 2> "$1" | head -n 1
    exit "${PIPESTATUS[0]}"' "$SLUICE_BIN/sluice" "$T/head-run.err"
status=0
wait_pid_exit "$LAST_PID" || status=$?
[ "$status" -eq 1 ] ||
    fail "sluice run | head -n 1: exit status $status, expected 1: $(head -c 2000 "$T/head-run.err")"
[ "$(count_lines "$T/head.out")" -eq 1 ] || fail "head printed $(count_lines "$T/head.out") lines"
grep -q '^sluice-sink: error: cannot write to stdout: Broken pipe' "$T/head-run.err" ||
    fail "the sink did not report the broken pipe: $(head -c 2000 "$T/head-run.err")"
if grep -q 'did not exit' "$T/head-run.err"; then
    fail "sluice run had to wait for a node: $(grep 'did not exit' "$T/head-run.err")"
fi
errors=$(grep -c '^sluice: error' "$T/head-run.err" || true)
[ "$errors" -eq 1 ] ||
    fail "sluice run reported $errors errors, expected only the sink's: $(grep '^sluice: error' "$T/head-run.err")"
echo "ok: sluice run | head -n 1 -> 1, the sink's error only"

# 2. The ingest reads a FIFO that this test writes, so the test decides how far the input gets.
make_input --rows 3000 --sensors 7 --seed 71 --format csv --output "$T/all.csv"
head -n 1001 "$T/all.csv" > "$T/sent.csv" # the header and 1,000 readings
reference --input "$T/sent.csv" --format csv --output "$T/expected.jsonl"
last_ts=$(sed -n 's/.*"timestamp":\([^,]*\),.*/\1/p' "$T/expected.jsonl" | tail -n 1)
mkfifo "$T/in.csv"
start_bg run "$SLUICE_BIN/sluice" run --input "$T/in.csv" --input-format csv --workers 2 \
    --output "$T/out.jsonl" --child-log-level info
run=$LAST_PID
# Read-write: the open does not wait for a reader, and the test's own read end keeps a write
# from failing while the ingest has not opened the FIFO yet (the data waits in the pipe).
exec {feed}<> "$T/in.csv"
cat "$T/sent.csv" >&"$feed"
# The ingest holds the FIFO open, so its stream cannot end: the job waits for more input once
# the last reading sent is written.
wait_for_line "$T/out.jsonl" "\"timestamp\":$last_ts," 30 "$run" > /dev/null
launcher=$(children_of "$run")
ingest=
for pid in $(children_of "$launcher"); do
    [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = sluice-ingest ] && ingest=$pid
done
[ -n "$ingest" ] || fail "no sluice-ingest among the children of sluice run (pid $launcher)"
kill -KILL "$ingest"
status=0
wait_pid_exit "$run" || status=$?
exec {feed}>&-
[ "$status" -eq 1 ] || fail "the ingest was killed, yet sluice run exited $status, expected 1"
grep -q "^sluice: error: sluice-ingest (pid $ingest) was killed by signal Killed" "$T/run.err" ||
    fail "sluice run did not name the killed ingest: $(grep '^sluice' "$T/run.err")"
grep -q '^sluice-sink: info: summary: wrote 1000 readings' "$T/run.err" ||
    fail "the sink did not finish with the 1,000 readings: $(grep 'sluice-sink' "$T/run.err" | tail -n 3)"
compare "$T/expected.jsonl" "$T/out.jsonl"
echo "ok: the ingest killed mid-job -> 1; the 1,000 readings it sent are written, in order"
