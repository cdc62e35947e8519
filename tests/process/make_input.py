#!/usr/bin/env python3
"""Deterministic test-input generator for the Sluice process-level tests.

    make_input.py --rows N --sensors S --seed X --format csv|jsonl --output FILE
                  [--bad-every K] [--constant-sensor] [--near-constant-sensor]
                  [--calibration-output FILE]

Writes N data lines (after the CSV header) for sensors "T0".."T{S-1}" in
pseudo-random order with increasing timestamps.  Sensor Tk follows value
profile k % 4: normal(50, 15); wide magnitudes 1e-3..1e6 with random sign;
integers (written without a decimal point); two-decimal values.  CSV uses the
non-standard column order value,sensorId,unit,timestamp,extra with RFC 4180
quoting here and there; JSONL shuffles keys and adds an ignored "extra" key.
Units are sometimes empty or absent (the default unit applies) or non-ASCII.

--bad-every K        every K-th data line is a dead letter of a rotating kind
--constant-sensor    sensor "CONST" also appears, always with value 21.7
--near-constant-sensor  sensor "NEAR" also appears, 1e4 + normal(0, 1e-3)
                     (ill-conditioned: windowStd / windowMean ~ 1e-7)
--calibration-output FILE  calibration CSV for half of the T sensors (+CONST)

Prints `rows=N bad=B valid=V` to stderr.
"""
import argparse
import json
import random
import sys

BAD_KINDS = ('nan', 'inf', 'missing', 'wrongtype', 'longid', 'truncated',
             'garbage', 'emptyid', 'badutf8', 'longunit')
UNITS = ('C', 'C', 'C', '', 'K', '°F')
EXTRAS = ('x', '', '42', '"a, b"', '"say ""hi"""')
START = 1700000000.0


def make_value(rng, sensor):
    """A (number, text) pair; text is how the value is written."""
    if sensor == 'CONST':
        return 21.7, '21.7'
    if sensor == 'NEAR':
        x = 1e4 + rng.gauss(0, 1e-3)
        return x, repr(x)
    profile = int(sensor[1:]) % 4
    if profile == 0:
        x = rng.gauss(50, 15)
    elif profile == 1:
        x = rng.choice((1, -1)) * 10 ** rng.uniform(-3, 6)
    elif profile == 2:
        x = rng.randint(-500, 500)
        return x, str(x)
    else:
        x = round(rng.uniform(-40, 120), 2)
    return x, repr(x)


def csv_line(value_text, sensor, unit, ts, extra):
    return '%s,%s,%s,%s,%s' % (value_text, sensor, unit, ts, extra)


def bad_csv(kind, variant, rng, sensor, value_text, unit, ts):
    if kind == 'garbage':
        return garbage(rng)
    if kind == 'badutf8':
        return csv_line(value_text, sensor, unit, ts, 'x').encode().replace(
            sensor.encode(), b'T\xff\xfe' + sensor[1:].encode(), 1)
    line = {
        'nan': lambda: csv_line(('NaN', 'nan')[variant], sensor, unit, ts, 'x'),
        'inf': lambda: csv_line(('inf', '1e999')[variant], sensor, unit, ts, 'x'),
        'missing': lambda: (csv_line(value_text, sensor, unit, '', 'x'),
                            csv_line('', sensor, unit, ts, 'x'))[variant],
        'wrongtype': lambda: csv_line(('abc', '12abc')[variant], sensor, unit, ts, 'x'),
        'longid': lambda: csv_line(value_text, 'S' * 300, unit, ts, 'x'),
        'truncated': lambda: '%s,%s' % (value_text, sensor),
        'emptyid': lambda: csv_line(value_text, ('', '""')[variant], unit, ts, 'x'),
        'longunit': lambda: csv_line(value_text, sensor, 'U' * 40, ts, 'x'),
    }[kind]()
    return line.encode()


def bad_jsonl(kind, variant, rng, obj):
    if kind == 'garbage':
        return garbage(rng)
    obj = dict(obj)
    raw = None  # replacement text for the "__RAW__" placeholder
    if kind == 'nan':
        obj['value'], raw = '__RAW__', 'NaN'
    elif kind == 'inf':
        obj['value'], raw = '__RAW__', ('1e999', 'Infinity')[variant]
    elif kind == 'missing':
        del obj[('timestamp', 'value', 'sensorId')[variant % 3]]
    elif kind == 'wrongtype':
        key, bad = (('value', str(obj['value'])), ('sensorId', 123))[variant]
        obj[key] = bad
    elif kind == 'longid':
        obj['sensorId'] = 'S' * 300
    elif kind == 'emptyid':
        obj['sensorId'] = ''
    elif kind == 'longunit':
        obj['unit'] = 'U' * 40
    line = json.dumps(obj)
    if raw is not None:
        line = line.replace('"__RAW__"', raw)
    if kind == 'truncated':
        line = line[:len(line) // 2]
    data = line.encode()
    if kind == 'badutf8':
        data = data.replace(b'"sensorId": "', b'"sensorId": "\xff\xfe', 1)
    return data


def garbage(rng):
    allowed = [b for b in range(256) if b not in b'\n\r,"']
    return b'\xff' + bytes(rng.choice(allowed) for _ in range(rng.randint(5, 40)))


def write_calibration(path, sensors, seed):
    rng = random.Random(seed * 7919 + 1)
    chosen = sorted(rng.sample(range(sensors), sensors // 2))
    lines = ['sensorId,offset,scale', 'CONST,21.7,2']
    for k in chosen:
        offset = rng.choice((0, rng.randint(-50, 50), round(rng.uniform(-100, 100), 3)))
        scale = rng.choice((1, rng.randint(2, 200), rng.uniform(0.001, 500)))
        lines.append('T%d,%s,%r' % (k, offset, scale * rng.choice((1, -1))))
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(lines) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, required=True)
    ap.add_argument('--sensors', type=int, required=True)
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--format', required=True, choices=('csv', 'jsonl'))
    ap.add_argument('--output', required=True)
    ap.add_argument('--bad-every', type=int, default=0)
    ap.add_argument('--constant-sensor', action='store_true')
    ap.add_argument('--near-constant-sensor', action='store_true')
    ap.add_argument('--calibration-output')
    args = ap.parse_args()
    if args.sensors < 1 or args.rows < 0 or args.bad_every < 0:
        ap.error('need --sensors >= 1, --rows >= 0, --bad-every >= 0')

    rng = random.Random(args.seed)
    ids = ['T%d' % k for k in range(args.sensors)]
    ids += ['CONST'] * args.constant_sensor + ['NEAR'] * args.near_constant_sensor
    out = [b'value,sensorId,unit,timestamp,extra'] if args.format == 'csv' else []
    bad = 0
    for i in range(args.rows):
        sensor = rng.choice(ids)
        value, value_text = make_value(rng, sensor)
        ts = repr(round(START + i * 0.001, 3))
        unit = rng.choice(UNITS)
        is_bad = args.bad_every and (i + 1) % args.bad_every == 0
        kind = BAD_KINDS[bad % len(BAD_KINDS)]
        variant = (bad // len(BAD_KINDS)) % 2
        if args.format == 'csv':
            if is_bad:
                out.append(bad_csv(kind, variant, rng, sensor, value_text, unit, ts))
            else:
                shown = '"%s"' % sensor if rng.random() < 0.2 else sensor
                out.append(csv_line(value_text, shown, unit, ts, rng.choice(EXTRAS)).encode())
        else:
            items = [('sensorId', sensor), ('timestamp', float(ts)), ('value', value),
                     ('extra', rng.choice(({'nested': [1, {'a': None}]}, 'x', 3.5, True)))]
            if unit or rng.random() < 0.5:
                items.append(('unit', unit))
            rng.shuffle(items)
            obj = dict(items)
            if is_bad:
                out.append(bad_jsonl(kind, variant, rng, obj))
            else:
                out.append(json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode())
        bad += bool(is_bad)
    with open(args.output, 'wb') as f:
        f.write(b'\n'.join(out) + b'\n')
    if args.calibration_output:
        write_calibration(args.calibration_output, args.sensors, args.seed)
    print('rows=%d bad=%d valid=%d' % (args.rows, bad, args.rows - bad), file=sys.stderr)


if __name__ == '__main__':
    main()
