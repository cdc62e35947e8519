#!/usr/bin/env bash
# Self-check of the process-test oracle (reference.py, compare.py,
# make_input.py): tiny hand-computed expectations, dead-letter counting,
# the constant-sensor case and compare.py's accept/reject behaviour.
# Needs no built binary.  Set PYTHON to choose the interpreter.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Hand-computed: window 2, default calibration (offset 20, scale 60), heavy 1.
printf 'extra,value,sensorId,timestamp\nq,1,A,1\n"x,y",2,A,2\nq,10,"B",3\nq,3,A,4\n' > "$TMP/hand.csv"
"$PY" "$HERE/reference.py" --input "$TMP/hand.csv" --format csv --window 2 --heavy 1 \
    --output "$TMP/hand.csv.out" 2> "$TMP/hand.err"
grep -qx 'valid=4 invalid=0' "$TMP/hand.err" || fail "hand.csv: $(cat "$TMP/hand.err")"
"$PY" - "$TMP/hand.csv.out" <<'PYEOF'
import json, math, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
a3 = recs[3]
assert a3['sensorId'] == 'A' and a3['unit'] == 'C', a3
assert a3['windowCount'] == 2 and a3['windowMean'] == 2.5 and a3['windowStd'] == 0.5, a3
assert a3['zscore'] == 1.0 and a3['windowMin'] == 2.0 and a3['windowMax'] == 3.0, a3
assert abs(a3['normalized'] - (3 - 20) / 60) < 1e-15, a3
assert abs(a3['feature'] - math.sqrt(17 / 60) * math.log(4)) < 1e-15, a3
assert abs(recs[0]['heavy'] - (math.sin(1) * math.cos(1) + math.log(2))) < 1e-15, recs[0]
b = recs[2]
assert (b['windowCount'], b['windowStd'], b['zscore']) == (1, 0.0, 0.0), b
assert list(a3) == ['sensorId', 'timestamp', 'value', 'unit', 'normalized', 'feature',
                    'windowCount', 'windowMean', 'windowStd', 'windowMin', 'windowMax',
                    'zscore', 'heavy'], list(a3)
print('hand-computed CSV case: ok')
PYEOF

# 2. The same readings as JSON Lines give the same records.
cat > "$TMP/hand.jsonl" <<'JEOF'
{"sensorId":"A","timestamp":1,"value":1,"extra":[1,2]}
{"value":2.0,"timestamp":2,"sensorId":"A","unit":""}

{"sensorId":"B","timestamp":3,"value":10,"unit":"C"}
{"sensorId":"A","timestamp":4,"value":3e0}
{"sensorId":"A","timestamp":5,"value":"3"}
JEOF
"$PY" "$HERE/reference.py" --input "$TMP/hand.jsonl" --format jsonl --window 2 --heavy 1 \
    --output "$TMP/hand.jsonl.out" 2> "$TMP/hand.err"
grep -qx 'valid=4 invalid=1' "$TMP/hand.err" || fail "hand.jsonl: $(cat "$TMP/hand.err")"
"$PY" "$HERE/compare.py" "$TMP/hand.csv.out" "$TMP/hand.jsonl.out"

# 3. Calibration: A has offset 1, scale 2, so A's value 3 normalizes to 1.
printf 'sensorId,offset,scale\nA,1,2\n' > "$TMP/hand_cal.csv"
"$PY" "$HERE/reference.py" --input "$TMP/hand.csv" --format csv --calibration "$TMP/hand_cal.csv" \
    --unit K --output "$TMP/cal.out" 2> /dev/null
"$PY" - "$TMP/cal.out" <<'PYEOF'
import json, math, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
assert recs[3]['normalized'] == 1.0 and recs[3]['feature'] == math.log(4), recs[3]
assert recs[2]['normalized'] == (10 - 20) / 60 and recs[2]['unit'] == 'K', recs[2]
assert recs[3]['windowCount'] == 3 and recs[3]['windowMean'] == 2.0, recs[3]
print('calibration and --unit: ok')
PYEOF

# 4. Generated inputs: every bad line is a dead letter; CONST has std 0, zscore 0.
for fmt in csv jsonl; do
    "$PY" "$HERE/make_input.py" --rows 400 --sensors 7 --seed 11 --format "$fmt" \
        --bad-every 4 --constant-sensor --near-constant-sensor \
        --calibration-output "$TMP/cal.csv" --output "$TMP/gen.$fmt" 2> "$TMP/gen.err"
    grep -qx 'rows=400 bad=100 valid=300' "$TMP/gen.err" || fail "make_input: $(cat "$TMP/gen.err")"
    "$PY" "$HERE/reference.py" --input "$TMP/gen.$fmt" --format "$fmt" --window 5 \
        --calibration "$TMP/cal.csv" --output "$TMP/gen.$fmt.out" 2> "$TMP/ref.err"
    grep -qx 'valid=300 invalid=100' "$TMP/ref.err" || fail "$fmt dead letters: $(cat "$TMP/ref.err")"
    echo "generated $fmt: $(cat "$TMP/ref.err")"
done
"$PY" - "$TMP/gen.csv.out" <<'PYEOF'
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
const = [r for r in recs if r['sensorId'] == 'CONST']
assert len(const) > 5, len(const)
for r in const:
    assert r['windowStd'] == 0.0 and r['zscore'] == 0.0 and r['windowMean'] == 21.7, r
    assert r['normalized'] == 0.0 and r['feature'] == 0.0, r
assert {r['unit'] for r in recs} >= {'C', 'K', '°F'}
assert any(r['windowCount'] == 5 for r in recs)
print('constant sensor: %d readings with std 0 and zscore 0: ok' % len(const))
PYEOF

# 5. compare.py accepts identical and re-encoded output, rejects perturbations.
OUT="$TMP/gen.csv.out"
"$PY" "$HERE/compare.py" "$OUT" "$OUT"
"$PY" - "$OUT" "$TMP" <<'PYEOF'
import csv, json, struct, sys
src, tmp = sys.argv[1], sys.argv[2]
recs = [json.loads(line) for line in open(src)]

def write(name, records):
    with open('%s/%s' % (tmp, name), 'w') as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + '\n' for r in records)

def perturbed(index, key, factor):
    copy = [dict(r) for r in recs]
    copy[index][key] *= factor
    return copy

def first(pred):
    return next(i for i, r in enumerate(recs) if pred(r))

plain = first(lambda r: r['sensorId'].startswith('T') and r['windowCount'] > 2 and r['zscore'] != 0)
near = first(lambda r: r['sensorId'] == 'NEAR' and r['windowCount'] > 2)
write('p_value.jsonl', perturbed(plain, 'windowMean', 1 + 1e-6))
write('p_zscore_plain.jsonl', perturbed(plain, 'zscore', 1 + 1e-7))
write('p_zscore_near.jsonl', perturbed(near, 'zscore', 1 + 1e-7))
write('p_count.jsonl', recs[:-1])
write('p_order.jsonl', [dict(reversed(list(r.items()))) for r in recs])

with open(tmp + '/as.csv', 'w', newline='') as f:  # CSV rendering of the same records
    w = csv.writer(f, lineterminator='\n')
    w.writerow(list(recs[0]))
    w.writerows([repr(v) if isinstance(v, float) else v for v in r.values()] for r in recs)

def pack(x):  # minimal msgpack encoder, enough for these records
    if isinstance(x, str):
        b = x.encode()
        return struct.pack('>BB', 0xd9, len(b)) + b
    if isinstance(x, float):
        return b'\xcb' + struct.pack('>d', x)
    if isinstance(x, int):
        return struct.pack('>B', x) if 0 <= x < 128 else b'\xd3' + struct.pack('>q', x)
    return struct.pack('>B', 0x80 | len(x)) + b''.join(pack(k) + pack(v) for k, v in x.items())
with open(tmp + '/as.msgpack', 'wb') as f:
    f.write(b''.join(pack(r) for r in recs))
PYEOF
"$PY" "$HERE/compare.py" "$OUT" "$TMP/as.csv" --format csv
"$PY" "$HERE/compare.py" "$OUT" "$TMP/as.msgpack" --format msgpack
"$PY" "$HERE/compare.py" "$OUT" "$TMP/p_zscore_near.jsonl" > /dev/null \
    || fail "compare.py rejected a 1e-7 zscore change on the near-constant sensor"
for bad in p_value p_zscore_plain p_count p_order; do
    status=0
    "$PY" "$HERE/compare.py" "$OUT" "$TMP/$bad.jsonl" > "$TMP/cmp.txt" || status=$?
    [ "$status" -eq 1 ] || fail "compare.py exit $status (want 1) for $bad"
    echo "rejected $bad: $(head -n 1 "$TMP/cmp.txt")"
done

echo "oracle self-check: PASS"
