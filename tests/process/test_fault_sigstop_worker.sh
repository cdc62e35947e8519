#!/usr/bin/env bash
# Guarantee (GUARANTEES "Workers may fail at any moment"): a worker that hangs (SIGSTOP) is
# presumed dead after --worker-timeout and its batches go to the other worker; when it comes back
# (SIGCONT) its late results are dropped by the sink as duplicates and the ventilator uses it
# again; a worker that stays stopped until the job has ended does not crash when it resumes and
# exits 0 on SIGTERM. The output equals the fault-free output byte for byte.
#
# Phase A: stop worker b once the sink has written something; wait for the ventilator to log that
#          b went silent; SIGCONT b; wait for b to join again (used again).
# Phase B: stop b again and leave it stopped while the job ends; then SIGCONT and SIGTERM it.
# The generator is rate-limited (300,000 readings at 40,000/s, about 7.5 s) so that the job is
# still running through phase A.
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

COUNT=300000
JOB=(--count "$COUNT" --sensors 200)

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

start_vent --worker-timeout 1
start_sink --output "$T/out.jsonl"
start_worker a --stats-interval 0 --credits 2
A=$LAST_PID
# b holds each result 0.3 s (--throttle) and has more credits than a (so dispatch prefers it):
# when it is stopped it always holds unfinished work
start_worker b --stats-interval 0 --throttle 0.3 --credits 4
B=$LAST_PID
wait_workers 2
start_ingest "${JOB[@]}" --rate 40000 --stats-interval 0

wait_for_line "$T/sink.log" 'status: written [1-9]' 20 || fail "the sink wrote nothing within 20 s"
note "phase A: SIGSTOP worker b"
kill -STOP "$B"
wait_for_line "$T/vent.log" 'worker b went silent' 10 ||
    fail "the ventilator did not notice the stopped worker within 10 s (--worker-timeout 1)"
silent=$(grep -m1 'worker b went silent' "$T/vent.log")
echo "$silent"
[[ $silent =~ silent\;\ ([0-9]+)\ batches\ dispatched\ again ]] ||
    fail "cannot read the re-dispatched batches from: $silent"
((BASH_REMATCH[1] >= 1)) || fail "the stopped worker held no batch: nothing was re-dispatched"
kill -0 "$INGEST" 2>/dev/null || fail "the job input ended before phase A was over; raise COUNT"
note "SIGCONT worker b"
kill -CONT "$B"
wait_for_lines "$T/vent.log" 'worker b joined' 2 10 ||
    fail "worker b was not used again after SIGCONT (no second 'worker b joined' within 10 s)"
note "worker b joined again"

note "phase B: SIGSTOP worker b until the job has ended"
kill -STOP "$B"
expect_exit sink "$SINK" 40
expect_exit ventilator "$VENT" 20
expect_exit ingest "$INGEST" 20
expect_exit "worker a" "$A" 20
note "job ended; SIGCONT and SIGTERM worker b"
kill -CONT "$B" 2>/dev/null || true
kill -TERM "$B" 2>/dev/null || true
expect_exit "worker b (resumed after the job ended)" "$B" 15

cmp "$T/ref.jsonl" "$T/out.jsonl" || fail "the output differs from the fault-free output"
dups=$(field_of "$T/sink.log" 'duplicates dropped')
[[ -n $dups && $dups -ge 0 ]] || fail "the sink's summary does not report duplicates dropped"
grep 'summary:' "$T/sink.log" | tail -n 1
grep 'summary:' "$T/vent.log" | tail -n 1
note "PASS: output identical; duplicates dropped $dups"
