#!/usr/bin/env bash
# The README's "running the nodes by hand" example over TCP: ventilator (--expect-ingest 1
# --window 20 --calibration), sink, two workers and an ingest of a CSV file, each binding
# tcp://127.0.0.1:0 where it binds and connecting to the ports the binding nodes log.
# The output matches the reference oracle and every process exits 0.
source "$(dirname "$0")/lib.sh"

make_input --rows 30000 --sensors 17 --seed 33 --format csv --bad-every 53 --constant-sensor \
    --calibration-output "$T/cal.csv" --output "$T/readings.csv"
reference --input "$T/readings.csv" --format csv --calibration "$T/cal.csv" --window 20 \
    --output "$T/expected.jsonl"

any='tcp://127\.0\.0\.1:[0-9]+'
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest tcp://127.0.0.1:0 \
    --bind-workers tcp://127.0.0.1:0 --bind-sink tcp://127.0.0.1:0 \
    --expect-ingest 1 --window 20 --calibration "$T/cal.csv"
vent=$LAST_PID
line=$(wait_for_line "$T/ventilator.err" "ingest on $any, workers on $any, sink on $any" 30 "$vent")
[[ $line =~ ingest\ on\ (tcp://[0-9.:]+),\ workers\ on\ (tcp://[0-9.:]+),\ sink\ on\ (tcp://[0-9.:]+) ]] \
    || fail "cannot parse the ventilator's endpoints from: $line"
ingest_ep=${BASH_REMATCH[1]} workers_ep=${BASH_REMATCH[2]} vent_sink_ep=${BASH_REMATCH[3]}
for ep in "$ingest_ep" "$workers_ep" "$vent_sink_ep"; do
    [[ $ep =~ :0$ ]] && fail "the ventilator logged port 0 instead of the real port: $line"
done
echo "ventilator: ingest $ingest_ep, workers $workers_ep, sink $vent_sink_ep"

start_bg sink "$SLUICE_BIN/sluice-sink" --bind tcp://127.0.0.1:0 --ventilator "$vent_sink_ep" \
    --output "$T/features.jsonl"
sink=$LAST_PID
line=$(wait_for_line "$T/sink.err" "results on $any" 30 "$sink")
[[ $line =~ results\ on\ (tcp://[0-9.:]+) ]] || fail "cannot parse the sink's endpoint: $line"
results_ep=${BASH_REMATCH[1]}
[[ $results_ep =~ :0$ ]] && fail "the sink logged port 0 instead of the real port: $line"
echo "sink: results $results_ep"

start_bg worker1 "$SLUICE_BIN/sluice-worker" --ventilator "$workers_ep" --sink "$results_ep"
w1=$LAST_PID
start_bg worker2 "$SLUICE_BIN/sluice-worker" --ventilator "$workers_ep" --sink "$results_ep"
w2=$LAST_PID
wait_workers ventilator 2 "$vent"
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ingest_ep" --input "$T/readings.csv"
ingest=$LAST_PID

expect_exit0 "$ingest" "$vent" "$sink" "$w1" "$w2"
compare "$T/expected.jsonl" "$T/features.jsonl"
grep -q 'sluice-sink: info: summary' "$T/sink.err" || fail "the sink printed no summary"
grep -q 'sluice-ventilator: info: summary' "$T/ventilator.err" \
    || fail "the ventilator printed no summary"
grep -Eq "dead letters $REF_INVALID\b" "$T/ingest.err" \
    || fail "the ingest summary does not report $REF_INVALID dead letters: $(tail -n 1 "$T/ingest.err")"
