#!/usr/bin/env bash
# A refused task (docs/PROTOCOL.md, "History"): a worker answers task_refused when a task's
# history does not continue the windows it holds. Here a protocol-speaking worker refuses every
# task it gets and stays; the ventilator must send each refused batch again at once (with
# --task-timeout 600, nothing else would), a real worker that joins afterwards computes them, and
# the output must match the reference oracle.
source "$(dirname "$0")/lib.sh"
# The refusing worker speaks ZeroMQ through Debian's python3-zmq (scripts/setup.sh installs it).
ZPY=/usr/bin/python3
"$ZPY" -c 'import zmq' 2> /dev/null || fail "$ZPY cannot import zmq (install python3-zmq)"

make_input --rows 6000 --sensors 40 --seed 81 --format csv --output "$T/in.csv"
reference --input "$T/in.csv" --format csv --window 20 --output "$T/expected.jsonl"

ep="ipc://$T/ep"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
    --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 --window 20 \
    --stats-interval 0 --log-level info --task-timeout 600
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
    --output "$T/out.jsonl" --stats-interval 0
sink=$LAST_PID
start_bg refuser "$ZPY" "$PROC/refusing_worker.py" --ventilator "$ep-workers"
refuser=$LAST_PID
wait_workers ventilator 1 "$vent"
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --input "$T/in.csv" \
    --batch-size 100 --stats-interval 0
ingest=$LAST_PID
wait_for_line "$T/refuser.out" '^refused batch 0$' 30 "$refuser" > /dev/null ||
    fail "the refusing worker got no task: $(cat "$T/refuser.out" "$T/refuser.err")"
wait_for_line "$T/ventilator.err" 'worker refuser:1 refused batch 0: ' 30 "$vent" > /dev/null ||
    fail "the ventilator did not log the refusal"
start_bg worker "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
worker=$LAST_PID
expect_exit0 "$ingest" "$vent" "$sink" "$worker" "$refuser"
n=$(grep -c '^refused batch' "$T/refuser.out")
compare "$T/expected.jsonl" "$T/out.jsonl"
echo "PASS: $n refused batches were sent again and the output matches the reference"
