#!/usr/bin/env bash
# How `sluice run` fails (SPEC §1, §8; README "Running a job in one command"):
# 1. The reader of its stdout goes away (`sluice run | head -n 1`): the sink reports the broken
#    pipe, and the run exits 1 at once, stopping the rest itself: no node left to the 5 s bound
#    ("did not exit; killing it") and no node it stopped reported as failed.
# 2. The ingest dies in the middle of a job (SIGKILL, as a crash or the OOM killer would): the
#    run exits 1, although the ventilator then ends the job with what it holds and the sink
#    writes that, in order, and exits 0; the output holds exactly the readings sent before the
#    ingest died, and no node is left to the 5 s bound.
# 3. The ventilator dies in the middle of a job: the same, the sink writing what is in order.
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

# 2 and 3. The ingest reads a FIFO that this test writes, so the test decides how far the input
# gets: 1,000 readings, then nothing (the FIFO stays open, so the stream cannot end). Once the last
# of them is written, the test kills one node (by its PID, a child of `sluice run`).
make_input --rows 3000 --sensors 7 --seed 71 --format csv --output "$T/all.csv"
head -n 1001 "$T/all.csv" > "$T/sent.csv" # the header and 1,000 readings
reference --input "$T/sent.csv" --format csv --output "$T/expected.jsonl"
last_ts=$(sed -n 's/.*"timestamp":\([^,]*\),.*/\1/p' "$T/expected.jsonl" | tail -n 1)

# kill_mid_job NAME COMM: run the job as NAME, SIGKILL its child named COMM (the kernel's 15-byte
# name) once the 1,000 readings are written, and check that the run fails (status 1) and names
# it, that no node is left to the launcher's 5 s bound, and that the sink still wrote the 1,000
# readings, in order, and exited.
kill_mid_job() {
    local name=$1 comm=$2 run launcher victim='' pid status=0 feed
    mkfifo "$T/$name.csv"
    start_bg "$name" "$SLUICE_BIN/sluice" run --input "$T/$name.csv" --input-format csv \
        --workers 2 --output "$T/$name.jsonl" --child-log-level info
    run=$LAST_PID
    # Read-write: the open does not wait for a reader, and the test's own read end keeps a
    # write from failing while the ingest has not opened the FIFO yet (the data waits in it).
    exec {feed}<> "$T/$name.csv"
    cat "$T/sent.csv" >&"$feed"
    wait_for_line "$T/$name.jsonl" "\"timestamp\":$last_ts," 30 "$run" > /dev/null
    launcher=$(children_of "$run")
    for pid in $(children_of "$launcher"); do
        [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$comm" ] && victim=$pid
    done
    [ -n "$victim" ] || fail "$name: no $comm among the children of sluice run (pid $launcher)"
    kill -KILL "$victim"
    wait_pid_exit "$run" || status=$?
    exec {feed}>&-
    [ "$status" -eq 1 ] || fail "$name: $comm was killed, yet sluice run exited $status, expected 1"
    grep -q "^sluice: error: ${comm}[a-z]* (pid $victim) was killed by signal Killed" "$T/$name.err" ||
        fail "$name: sluice run did not name the killed node: $(grep '^sluice' "$T/$name.err")"
    if grep -q 'did not exit' "$T/$name.err"; then
        fail "$name: sluice run had to wait for a node: $(grep 'did not exit' "$T/$name.err")"
    fi
    grep -q '^sluice-sink: info: summary: wrote 1000 readings' "$T/$name.err" ||
        fail "$name: the sink did not finish with the 1,000 readings: $(grep 'sluice-sink' "$T/$name.err" | tail -n 3)"
    compare "$T/expected.jsonl" "$T/$name.jsonl"
    echo "ok: $comm killed mid-job -> 1; the 1,000 readings sent are written, in order"
}

# 2. The ingest dies: the ventilator ends the job with what it holds, as on Ctrl-C.
kill_mid_job ingest-killed sluice-ingest
# 3. The ventilator dies: nothing can end the job; the sink writes what is in order and exits,
#    and the ingest, which could only wait for a ventilator, is stopped at once.
kill_mid_job ventilator-killed sluice-ventilat
