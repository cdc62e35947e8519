#!/usr/bin/env bash
# End of a job (SPEC §3, §8): with two ingest processes (a CSV file and a JSON Lines file with
# disjoint sensors) and --expect-ingest 2, the job ends when both have ended and every process
# exits 0; each file's records come out complete and in their input order (the output filtered
# to one file's sensors equals the reference for that file alone).  The generator
# (--count 5000 --sensors 7 --seed 3) run twice gives byte-identical output whose readings
# follow the generator's definition.
source "$(dirname "$0")/lib.sh"

# File A: CSV, sensors T*.  File B: JSON Lines, sensors U* (make_input's T renamed).
make_input --rows 20000 --sensors 8 --seed 71 --format csv --bad-every 83 --constant-sensor \
    --calibration-output "$T/cal-a.csv" --output "$T/a.csv"
make_input --rows 20000 --sensors 6 --seed 72 --format jsonl --bad-every 79 \
    --calibration-output "$T/cal-b.csv" --output "$T/b-t.jsonl"
sed 's/"sensorId": "T/"sensorId": "U/' "$T/b-t.jsonl" > "$T/b.jsonl"
{
    cat "$T/cal-a.csv"
    grep '^T' "$T/cal-b.csv" | sed 's/^T/U/'
} > "$T/cal.csv"
grep -q '"sensorId": "U' "$T/b.jsonl" || fail "renaming file B's sensors failed"

reference --input "$T/a.csv" --format csv --calibration "$T/cal.csv" --window 10 \
    --output "$T/expected-a.jsonl"
invalid_a=$REF_INVALID
reference --input "$T/b.jsonl" --format jsonl --calibration "$T/cal.csv" --window 10 \
    --output "$T/expected-b.jsonl"
invalid_b=$REF_INVALID

ep="ipc://$T/two"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
    --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 2 \
    --calibration "$T/cal.csv" --window 10 --stats-interval 0
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
    --output "$T/two.jsonl" --stats-interval 0
sink=$LAST_PID
start_bg worker1 "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
w1=$LAST_PID
start_bg worker2 "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
    --stats-interval 0
w2=$LAST_PID
wait_workers ventilator 2 "$vent"
# Small batches so that the two streams' batches interleave in the order.
start_bg ingest-a "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --input "$T/a.csv" \
    --dead-letter "$T/dead-a.jsonl" --batch-size 200 --stats-interval 0
ia=$LAST_PID
start_bg ingest-b "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --input "$T/b.jsonl" \
    --format jsonl --dead-letter "$T/dead-b.jsonl" --batch-size 200 --stats-interval 0
ib=$LAST_PID

# The first stream's end must not end the job: the ventilator is still running after it.
wait_for_line "$T/ventilator.err" '1 of 2 streams ended' 30 "$vent" > /dev/null
expect_exit0 "$ia" "$ib" "$vent" "$sink" "$w1" "$w2"
grep -q '2 of 2 streams ended' "$T/ventilator.err" \
    || fail "the ventilator did not report both streams ended"

grep '"sensorId":"CONST' "$T/two.jsonl" > /dev/null \
    || fail "no CONST records (file A's constant sensor) in the output"
grep -E '"sensorId":"(T|CONST)' "$T/two.jsonl" > "$T/two-a.jsonl" || true
grep '"sensorId":"U' "$T/two.jsonl" > "$T/two-b.jsonl" || true
total=$(count_lines "$T/two.jsonl")
na=$(count_lines "$T/two-a.jsonl")
nb=$(count_lines "$T/two-b.jsonl")
[ "$((na + nb))" -eq "$total" ] || fail "$total records, but $na from file A and $nb from file B"
echo "file A (csv): $na records; file B (jsonl): $nb records"
compare "$T/expected-a.jsonl" "$T/two-a.jsonl"
compare "$T/expected-b.jsonl" "$T/two-b.jsonl"
n=$(count_lines "$T/dead-a.jsonl")
[ "$n" -eq "$invalid_a" ] || fail "file A: $n dead letters, reference counts $invalid_a"
n=$(count_lines "$T/dead-b.jsonl")
[ "$n" -eq "$invalid_b" ] || fail "file B: $n dead letters, reference counts $invalid_b"
# Informational: how much the two streams interleaved.
"$PY" - "$T/two.jsonl" <<'PYEOF'
import sys
ids = [line[len('{"sensorId":"'):][:1] for line in open(sys.argv[1])]
switches = sum(1 for a, b in zip(ids, ids[1:]) if (a == 'U') != (b == 'U'))
print('streams interleaved: %d switches between files in the order' % switches)
PYEOF

# The generator, twice (1 worker, then 2 workers): byte-identical output.
# run_generator NAME WORKERS
run_generator() {
    local name=$1 workers=$2 ep="ipc://$T/$1" k pids=()
    start_bg "$name-ventilator" "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" \
        --bind-workers "$ep-workers" --bind-sink "$ep-sink" --expect-ingest 1 --stats-interval 0
    local v=$LAST_PID
    start_bg "$name-sink" "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" \
        --output "$T/$name.jsonl" --stats-interval 0
    local s=$LAST_PID
    for ((k = 1; k <= workers; k++)); do
        start_bg "$name-worker$k" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" \
            --sink "$ep-results" --stats-interval 0
        pids+=("$LAST_PID")
    done
    wait_workers "$name-ventilator" "$workers" "$v"
    start_bg "$name-ingest" "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" \
        --count 5000 --sensors 7 --seed 3 --stats-interval 0
    expect_exit0 "$LAST_PID" "$v" "$s" "${pids[@]}"
}
run_generator gen1 1
run_generator gen2 2
assert_same "$T/gen1.jsonl" "$T/gen2.jsonl" "two runs of the generator (seed 3) wrote different bytes"

# The generator's readings follow its definition; their features match the reference.
"$PY" - "$T/gen1.jsonl" "$T/gen-readings.jsonl" <<'PYEOF' || fail "generator output does not follow the definition"
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
assert len(recs) == 5000, 'expected 5000 records, got %d' % len(recs)
with open(sys.argv[2], 'w') as out:
    for i, r in enumerate(recs):
        assert r['sensorId'] == 'S%d' % (i % 7), (i, r['sensorId'])
        assert abs(r['timestamp'] - (1700000000 + i * 0.001)) < 1e-5, (i, r['timestamp'])
        assert r['unit'] == 'C', (i, r['unit'])
        out.write(json.dumps({k: r[k] for k in ('sensorId', 'timestamp', 'value', 'unit')}) + '\n')
values = [r['value'] for r in recs]
mean = sum(values) / len(values)
std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
assert 48 < mean < 52 and 13 < std < 17, 'values are not Normal(50, 15): mean %g, std %g' % (mean, std)
print('generator: 5000 readings S0..S6, timestamps start + i*0.001, mean %.2f, std %.2f' % (mean, std))
PYEOF
reference --input "$T/gen-readings.jsonl" --format jsonl --output "$T/expected-gen.jsonl"
compare "$T/expected-gen.jsonl" "$T/gen1.jsonl"
