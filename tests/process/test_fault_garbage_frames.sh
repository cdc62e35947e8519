#!/usr/bin/env bash
# Guarantee (SPEC §7, GUARANTEES "Bad input and hostile traffic never crash a node", PROTOCOL.md):
# malformed or foreign messages on any socket are counted and dropped; no process crashes; a peer
# speaking another protocol version is named in the log. During a job, hostile_client.py connects
# to every bound endpoint (ventilator ingest/workers/sink ROUTERs as a DEALER, the sink's results
# PULL as a PUSH) and sends random bytes, multi-frame garbage, truncated msgpack, wrong magic,
# protocol version 7, valid-looking headers with wrong types/fields/frame counts, lying lengths,
# deep nesting, huge frame counts and an oversized frame. Raw TCP garbage does not apply to ipc://
# endpoints (skipped here). Checks: the output equals the fault-free output, every process exits 0,
# the ventilator's and the sink's summaries count malformed messages (> 0), and both logs name
# "protocol version 7".
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import zmq' 2>/dev/null; then
    echo "SKIP: $PY cannot import zmq (python3-zmq is installed by scripts/setup.sh)"
    exit 0
fi

COUNT=400000
JOB=(--count "$COUNT" --sensors 100)

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

start_vent --worker-timeout 2
start_sink --output "$T/out.jsonl"
start_worker a --stats-interval 0
A=$LAST_PID
start_worker b --stats-interval 0
B=$LAST_PID
wait_workers 2
start_ingest "${JOB[@]}" --rate 80000 --stats-interval 0

wait_for_line "$T/sink.log" 'status: written [1-9]' 20 || fail "the sink wrote nothing within 20 s"
note "hostile client"
start hostile "$PY" "$(dirname "$0")/hostile_client.py" --ingest "$EP/in" --workers "$EP/wk" \
    --sink-control "$EP/sk" --results "$EP/res" >"$T/hostile.out"
expect_exit "hostile client" "$LAST_PID" 60
cat "$T/hostile.out"
kill -0 "$INGEST" 2>/dev/null || note "warning: the input ended before the hostile client finished"

expect_exit sink "$SINK" 40
expect_exit ventilator "$VENT" 20
expect_exit ingest "$INGEST" 20
expect_exit "worker a" "$A" 20
expect_exit "worker b" "$B" 20

cmp "$T/ref.jsonl" "$T/out.jsonl" || fail "the output differs from the fault-free output"
vm=$(field_of "$T/vent.log" 'malformed messages')
sm=$(field_of "$T/sink.log" 'malformed messages')
[[ -n $vm && $vm -gt 0 ]] || fail "the ventilator's summary counts no malformed messages (got '${vm}')"
[[ -n $sm && $sm -gt 0 ]] || fail "the sink's summary counts no malformed messages (got '${sm}')"
grep -q 'protocol version 7' "$T/vent.log" || fail "the ventilator's log does not name protocol version 7"
grep -q 'protocol version 7' "$T/sink.log" || fail "the sink's log does not name protocol version 7"
grep -m1 'protocol version 7' "$T/vent.log"
grep -m1 'protocol version 7' "$T/sink.log"
grep 'summary:' "$T/vent.log" | tail -n 1
grep 'summary:' "$T/sink.log" | tail -n 1
note "PASS: output identical; malformed messages counted: ventilator $vm, sink $sm"
