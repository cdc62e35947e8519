#!/usr/bin/env bash
# Guarantee (SPEC §7 "SIGINT/SIGTERM: a node stops taking new input, finishes what it holds, and
# exits 0 within a bound"; GUARANTEES "SIGINT/SIGTERM drain"). Each kind of node is signalled in
# turn, in separate runs of a rate-limited generator job (400,000 readings), once the sink has
# written something:
#  (a) the ingest: the job ends with what was read; every process exits 0 within 20 s; the output
#      is a prefix of the fault-free output in whole records, holding exactly the readings the
#      ingest says it sent;
#  (b) a worker (holding results: --throttle 0.2 --credits 4): it exits 0 within 20 s, its goodbye
#      reaches the ventilator and is acknowledged, the job finishes and the output equals the
#      fault-free output;
#  (c) the ventilator: it exits 0 within 20 s, the sink exits 0 with whole records (a prefix of the
#      fault-free output), the workers exit 0; the ingest exits 0, or 1 with a message saying that
#      the job was closed;
#  (d) `sluice run` under SIGINT: it exits 0 within 20 s with whole records, a prefix of the
#      fault-free output holding exactly what its ingest sent.
# FAULT_PARTS="a d" runs only some of the parts (default: all).
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"
want() { [[ " ${FAULT_PARTS:-a b c d} " == *" $1 "* ]]; }

COUNT=400000
JOB=(--count "$COUNT" --sensors 100)
BOUND=20

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

# part NAME: private endpoints and logs for one run (the previous run's logs go to its folder)
CURRENT=
part() {
    if [[ -n $CURRENT ]]; then mv "$T"/*.log "$T/$CURRENT/" 2>/dev/null || true; fi
    CURRENT=$1
    mkdir -p "$T/$1"
    EP="ipc://$T/$1"
    note "part $1"
}

topology() { # RATE [victim worker flags...]
    local rate=$1
    shift
    start_vent --worker-timeout 2
    start_sink --output "$T/$CURRENT/out.jsonl"
    start_worker w1 --stats-interval 0 "$@"
    W1=$LAST_PID
    start_worker w2 --stats-interval 0
    W2=$LAST_PID
    wait_workers 2
    start_ingest "${JOB[@]}" --rate "$rate" --stats-interval 0
    wait_for_line "$T/sink.log" 'status: written [1-9]' 20 || fail "$CURRENT: the sink wrote nothing within 20 s"
}

check_prefix() { # OUT [EXPECTED_LINES]
    local out=$1 lines
    [[ -s $out ]] || fail "$CURRENT: empty output"
    whole_records "$out" || fail "$CURRENT: the output does not end with a whole record"
    is_prefix "$out" "$T/ref.jsonl" || fail "$CURRENT: the output is not a prefix of the fault-free output"
    lines=$(wc -l <"$out")
    ((lines < COUNT)) || note "$CURRENT: warning: the whole job was written before the signal took effect"
    if [[ -n ${2:-} ]]; then
        [[ $lines == "$2" ]] || fail "$CURRENT: $lines records written, but the ingest sent $2 readings"
    fi
    note "$CURRENT: $lines whole records, a prefix of the fault-free output"
}

ingest_sent() { grep 'summary: stream' "$1" | grep -oE ' sent [0-9]+ readings' | grep -oE '[0-9]+'; }

# (a) SIGTERM the ingest mid-stream
if want a; then
part a
topology 50000
kill -TERM "$INGEST"
expect_exit ingest "$INGEST" "$BOUND"
expect_exit sink "$SINK" "$BOUND"
expect_exit ventilator "$VENT" "$BOUND"
expect_exit "worker w1" "$W1" "$BOUND"
expect_exit "worker w2" "$W2" "$BOUND"
sent=$(ingest_sent "$T/ingest.log") || fail "a: no ingest summary"
check_prefix "$T/a/out.jsonl" "$sent"
fi

# (b) SIGTERM a worker that holds results
if want b; then
part b
topology 100000 --throttle 0.2 --credits 4
kill -TERM "$W1"
expect_exit "worker w1 (SIGTERM)" "$W1" "$BOUND"
expect_exit sink "$SINK" 40
expect_exit ventilator "$VENT" "$BOUND"
expect_exit ingest "$INGEST" "$BOUND"
expect_exit "worker w2" "$W2" "$BOUND"
grep -m1 'stopping' "$T/worker-w1.log" || fail "b: worker w1 did not log that it was stopping"
grep -q 'worker w1 said goodbye' "$T/vent.log" || fail "b: worker w1 did not say goodbye to the ventilator"
grep 'did not acknowledge the goodbye' "$T/worker-w1.log" &&
    fail "b: the ventilator, still running, did not acknowledge worker w1's goodbye"
cmp "$T/ref.jsonl" "$T/b/out.jsonl" || fail "b: the output differs from the fault-free output"
note "b: output identical to the fault-free output"
fi

# (c) SIGTERM the ventilator
if want c; then
part c
topology 50000
kill -TERM "$VENT"
expect_exit ventilator "$VENT" "$BOUND"
expect_exit sink "$SINK" "$BOUND"
expect_exit "worker w1" "$W1" "$BOUND"
expect_exit "worker w2" "$W2" "$BOUND"
wait_exit "$INGEST" "$BOUND"
case $EXIT_RC in
0) ;;
1) grep -q 'closed the job' "$T/ingest.log" ||
    fail "c: the ingest exited 1 without saying that the job was closed: $(tail -n 1 "$T/ingest.log")" ;;
124) fail "c: the ingest did not exit within $BOUND s after the ventilator was stopped" ;;
*) fail "c: the ingest exited with status $EXIT_RC" ;;
esac
note "c: ingest exit status $EXIT_RC"
check_prefix "$T/c/out.jsonl"
fi

# (d) SIGINT `sluice run`. A background job of a non-interactive shell starts with SIGINT
# ignored; env --default-signal gives it the default disposition a terminal's Ctrl-C would meet.
if want d; then
part d
start run env --default-signal=INT "$BIN/sluice" run "${JOB[@]}" --rate 50000 --workers 2 \
    --stats-interval 0.2 --child-log-level info --output "$T/d/out.jsonl"
RUN=$LAST_PID
wait_for_line "$T/run.log" 'status: written [1-9]' 20 || fail "d: nothing written within 20 s"
kill -INT "$RUN"
expect_exit "sluice run (SIGINT)" "$RUN" "$BOUND"
sent=$(ingest_sent "$T/run.log") || fail "d: no ingest summary in sluice run's log"
check_prefix "$T/d/out.jsonl" "$sent"
fi
note "PASS"
