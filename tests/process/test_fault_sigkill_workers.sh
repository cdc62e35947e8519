#!/usr/bin/env bash
# Guarantee (SPEC §7, GUARANTEES "Workers may fail at any moment"): a worker SIGKILLed at any
# moment loses nothing and duplicates nothing; its unfinished work is done by another worker and
# new workers are used at once. A 2,000,000-reading generator job runs with 2 workers while a
# loop SIGKILLs a random worker every 0.1-0.3 s and starts a replacement at once, until the sink
# exits. The output must equal a fault-free run byte for byte; sink, ventilator and ingest exit 0;
# at least 5 kills must have happened (else the test tested nothing).
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

COUNT=2000000
SENSORS=500
LIMIT=120
# Under AddressSanitizer the whole topology runs at ~25,000 readings/s: a quarter of the job still
# sees some hundred kills.
if ((SANITIZED)); then COUNT=500000 LIMIT=300; fi
JOB=(--count "$COUNT" --sensors "$SENSORS" --batch-size 500)

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

note "job under SIGKILL"
start_vent --worker-timeout 1
start_sink --output "$T/out.jsonl"
W=()
start_worker w0; W+=("$LAST_PID")
start_worker w1; W+=("$LAST_PID")
wait_workers 2
start_ingest "${JOB[@]}" --stats-interval 0

kills=0
started=2
deadline=$((SECONDS + LIMIT))
# The fault injection: its sleeps are the pacing of the load, not a synchronisation.
while kill -0 "$SINK" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "the job did not end within $LIMIT s ($kills kills)"
    sleep "$(printf '0.%03d' $((100 + RANDOM % 201)))"
    kill -0 "$SINK" 2>/dev/null || break
    i=$((RANDOM % ${#W[@]}))
    # (stderr off: bash would print "Killed" for every one of them)
    { kill -KILL "${W[i]}" || true; wait_exit "${W[i]}" 5; } 2>/dev/null
    [[ $EXIT_RC == 137 ]] && kills=$((kills + 1))
    start_worker "w$started"
    W[i]=$LAST_PID
    started=$((started + 1))
done
note "sink exited after $kills kills"

expect_exit sink "$SINK" 5
expect_exit ventilator "$VENT" 20
expect_exit ingest "$INGEST" 20

((kills >= 5)) || fail "only $kills workers were killed during the job: it ended too soon to test anything"
cmp "$T/ref.jsonl" "$T/out.jsonl" || fail "the output differs from the fault-free output"
written=$(field_of "$T/sink.log" 'wrote')
[[ $written == "$COUNT" ]] || fail "the sink wrote $written readings, expected $COUNT"
grep 'summary:' "$T/vent.log" | tail -n 1
grep 'summary:' "$T/sink.log" | tail -n 1
note "PASS: $kills workers SIGKILLed, output identical ($(wc -l <"$T/out.jsonl") records)"
