#!/usr/bin/env bash
# Mixed sources and no workers (SPEC §2, §3, §7): a CSV file ingest and a TCP listener ingest feed
# one ventilator. The job starts with no worker at all: the ventilator must say so and wait; once
# a worker joins, the job completes. Each stream's records come out complete and in its input
# order (the sensors of the two streams are disjoint, so each filtered stream must equal the
# oracle's output for that stream alone), and every process exits 0.
source "$(dirname "$0")/lib.sh"

make_input --rows 15000 --sensors 6 --seed 31 --format csv --bad-every 97 --output "$T/a.csv"
make_input --rows 4000 --sensors 5 --seed 32 --format jsonl --output "$T/n-t.jsonl"
sed 's/"sensorId": "T/"sensorId": "N/' "$T/n-t.jsonl" > "$T/n.jsonl"
grep -q '"sensorId": "N' "$T/n.jsonl" || fail "renaming the TCP stream's sensors failed"
reference --input "$T/a.csv" --format csv --window 10 --output "$T/expected-a.jsonl"
valid_a=$REF_VALID
reference --input "$T/n.jsonl" --format jsonl --window 10 --output "$T/expected-n.jsonl"
valid_n=$REF_VALID

ep="ipc://$T/mix"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
    --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 2 --window 10 \
    --stats-interval 0.2
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
    --output "$T/out.jsonl" --stats-interval 0
sink=$LAST_PID
start_bg file_ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --input "$T/a.csv" \
    --batch-size 300 --stats-interval 0
file_ingest=$LAST_PID
wait_for_line "$T/ventilator.err" "no workers: [0-9]+ batches wait for a worker" 30 "$vent" > /dev/null

start_bg tcp_ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
    --listen tcp://127.0.0.1:0 --batch-size 300 --stats-interval 0
tcp_ingest=$LAST_PID
line=$(wait_for_line "$T/tcp_ingest.err" "listening for sensors on tcp://127.0.0.1:[0-9]+" 30 "$tcp_ingest")
port=$(sed -E 's/.*tcp:\/\/127\.0\.0\.1:([0-9]+).*/\1/' <<< "$line")
"$PY" - "$port" "$T/n.jsonl" <<'PY' || fail "the sensor client could not send"
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s, open(sys.argv[2], "rb") as f:
    s.sendall(f.read())
PY

start_bg worker "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
worker=$LAST_PID
# Every reading of both streams accepted: then the listener holds nothing and may stop.
wait_for_line "$T/ventilator.err" "status: in $((valid_a + valid_n)) readings" 60 "$vent" > /dev/null
kill -TERM "$tcp_ingest"
expect_exit0 "$sink" "$vent" "$file_ingest" "$tcp_ingest" "$worker"

"$PY" - "$T/out.jsonl" "$T/out-a.jsonl" "$T/out-n.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as a, open(sys.argv[3], "w") as n:
    for line in f:
        (n if json.loads(line)["sensorId"].startswith("N") else a).write(line)
PY
compare "$T/expected-a.jsonl" "$T/out-a.jsonl" > /dev/null
compare "$T/expected-n.jsonl" "$T/out-n.jsonl" > /dev/null
echo "PASS: file ($valid_a) and TCP ($valid_n) streams complete and in order; the job waited for a worker"
