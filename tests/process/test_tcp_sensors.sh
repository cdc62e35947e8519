#!/usr/bin/env bash
# The TCP listener end to end: a topology over ipc endpoints (ventilator, sink, 2 workers, ingest
# with --listen tcp://127.0.0.1:0), 1,000 concurrent sensors sending 1,000 lines each (some
# malformed, some cut mid-line, some with no newline at all, one over --max-line), plus one silent
# and one half-line connection held open throughout. Checks that every good line comes out exactly
# once in per-connection order, that dead letters and good lines add up, that later sensors are
# served within 10 s while the stalled ones stay open, and that every process exits 0 after the
# ingest's SIGTERM. Never sleeps: it waits on log and output files with bounded tail/grep.
set -euo pipefail

BIN="${SLUICE_BIN:-/work/main/build-tcp}"
HERE="${SLUICE_TESTS:-$(cd "$(dirname "$0")/.." && pwd)}/process"
PY="${PYTHON:-python3}"
CONNECTIONS="${TCP_CONNECTIONS:-1000}"
LINES="${TCP_LINES:-1000}"
TMP="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in "$TMP"/*.log; do
        echo "--- $log" >&2
        tail -n 20 "$log" >&2
    done
    exit 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# Prints the first line of FILE matching REGEX, waiting at most SECONDS while PID lives.
wait_for() {
    local file=$1 regex=$2 seconds=$3 pid=$4
    timeout "$seconds" grep -m1 -E "$regex" <(exec tail -n +1 --pid="$pid" -F "$file" 2> /dev/null) ||
        fail "no line matching '$regex' in $file within $seconds s"
}
# Waits until FILE has at least COUNT lines, at most SECONDS while PID lives.
wait_for_lines() {
    local file=$1 count=$2 seconds=$3 pid=$4
    local got
    got=$(timeout "$seconds" head -n "$count" <(exec tail -n +1 --pid="$pid" -F "$file" 2> /dev/null) |
        wc -l)
    [ "$got" -eq "$count" ] || fail "$file has $(wc -l < "$file") lines, not $count, after $seconds s"
}

ulimit -n 8192 2> /dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((CONNECTIONS + 256)) ] || fail "ulimit -n $(ulimit -n) is too low"

EP="ipc://$TMP"
start() { # NAME ARGS...: starts a node with its stderr in NAME.log
    local name=$1
    shift
    "$BIN/$@" 2> "$TMP/$name.log" &
    PIDS+=($!)
}
start ventilator sluice-ventilator --bind-ingest "$EP/ingest" --bind-workers "$EP/workers" \
    --bind-sink "$EP/sink" --expect-ingest 1
VENT=${PIDS[-1]}
start sink sluice-sink --bind "$EP/results" --ventilator "$EP/sink" --output "$TMP/out.jsonl"
SINK=${PIDS[-1]}
start worker1 sluice-worker --ventilator "$EP/workers" --sink "$EP/results" --name w1
W1=${PIDS[-1]}
start worker2 sluice-worker --ventilator "$EP/workers" --sink "$EP/results" --name w2
W2=${PIDS[-1]}
start ingest sluice-ingest --ventilator "$EP/ingest" --listen tcp://127.0.0.1:0 \
    --dead-letter "$TMP/dead.jsonl" --max-line 4096 --idle-timeout 600
INGEST=${PIDS[-1]}

PORT=$(wait_for "$TMP/ingest.log" 'listening for sensors on tcp://127\.0\.0\.1:[0-9]+' 30 "$INGEST" |
    sed -E 's/.*:([0-9]+)$/\1/')
echo "ingest listening on port $PORT"

# Part 1: 1,000 x 1,000 lines with faults, and two stalled connections held open.
t0=$(now)
"$PY" "$HERE/tcp_clients.py" --port "$PORT" --connections "$CONNECTIONS" --lines "$LINES" \
    --faults --max-line 4096 --stall --expected "$TMP/expected.json" > "$TMP/clients.out" \
    2> "$TMP/clients.log" &
CLIENTS=$!
PIDS+=("$CLIENTS")
wait_for "$TMP/clients.out" '^sent ' 300 "$CLIENTS" > /dev/null
t1=$(now)
GOOD=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["good"])' "$TMP/expected.json")
wait_for_lines "$TMP/out.jsonl" "$GOOD" 120 "$SINK"
t2=$(now)
echo "$(cat "$TMP/clients.out"); sent in $(secs "$t0" "$t1") s," \
    "all $GOOD in the output after $(secs "$t0" "$t2") s"

# Part 2: while the stalled connections stay open, new sensors are served within 10 s.
"$PY" "$HERE/tcp_clients.py" --port "$PORT" --connections 50 --lines 20 --prefix late \
    --expected "$TMP/expected_late.json" > "$TMP/late.out" 2> "$TMP/late.log" ||
    fail "late clients: $(cat "$TMP/late.log")"
t3=$(now)
wait_for_lines "$TMP/out.jsonl" $((GOOD + 1000)) 10 "$SINK"
echo "50 x 20 later lines in the output after $(secs "$t3" "$(now)") s"

# End the stream: SIGTERM to the ingest only; the job then ends and every node exits.
kill -TERM "$INGEST"
for pid in "$INGEST" "$SINK" "$W1" "$W2" "$VENT"; do
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || fail "process $pid exited $status"
done
kill -TERM "$CLIENTS"
wait "$CLIENTS" || fail "the clients exited $?"

grep -E "summary: tcp listener: $((CONNECTIONS + 52)) connections accepted" "$TMP/ingest.log" ||
    fail "ingest summary: $(grep summary "$TMP/ingest.log")"
grep -q ' 2 open at the end' "$TMP/ingest.log" || fail "the two stalled connections were not open"

"$PY" - "$CONNECTIONS" "$TMP/out.jsonl" "$TMP/dead.jsonl" "$TMP/expected.json" "$TMP/expected_late.json" <<'PYEOF'
import collections, json, sys
connections, out_path, dead_path, *expected_paths = sys.argv[1:]
cut_or_no_newline = sum(1 for i in range(int(connections)) if i % 10 in (5, 7))
expected = {'sensors': {}, 'good': 0, 'dead': 0}
for path in expected_paths:
    e = json.load(open(path))
    expected['sensors'].update(e['sensors'])
    expected['good'] += e['good']
    expected['dead'] += e['dead']

seen = collections.defaultdict(list)
for line in open(out_path):
    r = json.loads(line)
    seen[r['sensorId']].append((r['timestamp'], r['value']))
want = {s: [tuple(x) for x in v] for s, v in expected['sensors'].items() if v}
extra = set(seen) - set(want)
assert not extra, 'unexpected sensors in the output: %s' % sorted(extra)[:5]
for sensor, readings in want.items():
    got = seen.get(sensor, [])
    # Multiset first (nothing lost, nothing twice), then the connection's order.
    assert collections.Counter(got) == collections.Counter(readings), \
        '%s: %d readings out, %d expected' % (sensor, len(got), len(readings))
    assert got == readings, '%s: order differs' % sensor
total = sum(len(v) for v in seen.values())
assert total == expected['good'], (total, expected['good'])

dead = [json.loads(line) for line in open(dead_path)]
assert len(dead) == expected['dead'], 'dead letters: %d, expected %d' % (len(dead), expected['dead'])
reasons = collections.Counter(d['reason'] for d in dead)
assert reasons['truncated line at end of connection'] == cut_or_no_newline, reasons
assert reasons['line is longer than --max-line'] == 1, reasons
assert all(d['source'].startswith('tcp:127.0.0.1:') for d in dead), dead[0]
print('%d good lines exactly once and in order; %d dead letters: %s' % (
    total, len(dead), dict(reasons)))
PYEOF
echo "tcp sensors: PASS"
