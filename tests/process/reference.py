#!/usr/bin/env python3
"""Independent reference oracle for the Sluice process-level tests.

Written from the specification only (no Sluice code is read or imported),
standard library only.  Reads sensor readings (CSV or JSON Lines), skips and
counts invalid lines, and writes the expected output records as JSON Lines:

    reference.py --input FILE --format csv|jsonl [--calibration FILE]
                 [--window W] [--heavy K] [--unit U] --output FILE

Prints `valid=N invalid=M` to stderr.  Exit 0 on success, 2 on usage errors.

Accuracy: window mean, standard deviation and z-score are computed exactly
with integer arithmetic on the binary values (each float is m * 2**e) and
rounded once at the end (std and zscore: one extra rounding from sqrt).

Interpretation choices where the specification is silent:
  * blank lines (empty or whitespace only in JSONL, empty in CSV) are ignored,
    not counted;
  * a CSV record whose field count differs from the header's is invalid;
  * numbers in CSV must match [+-]digits[.digits][e[+-]digits] (no spaces,
    no hex, no "inf"/"nan"); JSON numbers are ints or floats (not bools);
  * a missing or empty unit takes the default; a non-string unit (null too)
    is invalid;
  * JSON lines containing the non-standard NaN/Infinity tokens are invalid;
  * any invalid UTF-8 anywhere in a line makes the line invalid.
"""
import argparse
import csv
import json
import math
import re
import sys
from collections import deque

NUMBER_RE = re.compile(r'[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z')
MAX_ID_BYTES = 256
MAX_UNIT_BYTES = 32
DEFAULT_CALIBRATION = (20.0, 60.0)  # offset, scale


class Invalid(Exception):
    """Raised for an input line that is a dead letter."""


def utf8_len(text):
    """Byte length of text in UTF-8; Invalid if it holds undecodable bytes."""
    try:
        return len(text.encode('utf-8'))
    except UnicodeEncodeError:
        raise Invalid('invalid UTF-8') from None


def parse_number_text(text):
    if not NUMBER_RE.match(text):
        raise Invalid('not a number: %r' % text)
    x = float(text)
    if not math.isfinite(x):
        raise Invalid('not finite')
    return x


def json_number(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise Invalid('wrong type')
    try:
        x = float(x)
    except OverflowError:
        raise Invalid('overflow') from None
    if not math.isfinite(x):
        raise Invalid('not finite')
    return x


def check_strings(sensor, unit, default_unit):
    if not isinstance(sensor, str) or not sensor:
        raise Invalid('bad sensorId')
    if utf8_len(sensor) > MAX_ID_BYTES:
        raise Invalid('sensorId too long')
    if unit is None or unit == '':
        return sensor, default_unit
    if not isinstance(unit, str):
        raise Invalid('bad unit')
    if utf8_len(unit) > MAX_UNIT_BYTES:
        raise Invalid('unit too long')
    return sensor, unit


# ---------------------------------------------------------------- CSV input
def csv_records(text):
    """RFC 4180 records from text; yields a list of fields, or None if malformed."""
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix('\r')
        i += 1
        if '"' not in line:
            yield line.split(',')
            continue
        fields, field, state, bad = [], [], 'start', False
        while True:
            for ch in line:
                if state == 'start':
                    if ch == '"':
                        state = 'quoted'
                    elif ch == ',':
                        fields.append('')
                    else:
                        field.append(ch)
                        state = 'plain'
                elif state == 'plain':
                    if ch == ',':
                        fields.append(''.join(field))
                        field, state = [], 'start'
                    else:
                        bad |= ch == '"'
                        field.append(ch)
                elif state == 'quoted':
                    if ch == '"':
                        state = 'closing'
                    else:
                        field.append(ch)
                else:  # 'closing': just saw a quote inside a quoted field
                    if ch == '"':
                        field.append('"')
                        state = 'quoted'
                    elif ch == ',':
                        fields.append(''.join(field))
                        field, state = [], 'start'
                    else:
                        bad = True
                        field.append(ch)
                        state = 'plain'
            if state != 'quoted':
                break
            if i >= len(lines):  # unterminated quote at end of file
                bad = True
                break
            field.append('\n')
            line = lines[i].removesuffix('\r')
            i += 1
        fields.append(''.join(field))
        yield None if bad else fields


def read_csv(data, default_unit):
    text = data.removeprefix(b'\xef\xbb\xbf').decode('utf-8', 'surrogateescape')
    records = csv_records(text)
    header = next(records, None)
    if header is None:
        sys.exit('reference.py: CSV input has no header line')
    index = {name: k for k, name in reversed(list(enumerate(header)))}
    for name in ('sensorId', 'timestamp', 'value'):
        if name not in index:
            sys.exit('reference.py: CSV header lacks column %r' % name)
    for fields in records:
        if fields == ['']:
            continue  # blank line
        try:
            if fields is None or len(fields) != len(header):
                raise Invalid('malformed record')
            for f in fields:
                utf8_len(f)
            sensor, unit = check_strings(
                fields[index['sensorId']],
                fields[index['unit']] if 'unit' in index else None, default_unit)
            yield (sensor, parse_number_text(fields[index['timestamp']]),
                   parse_number_text(fields[index['value']]), unit)
        except Invalid:
            yield None


# --------------------------------------------------------------- JSONL input
def reject_constant(name):
    raise Invalid('non-standard JSON constant ' + name)


def read_jsonl(data, default_unit):
    for raw in data.split(b'\n'):
        raw = raw.removesuffix(b'\r')
        if not raw.strip():
            continue  # blank line
        try:
            try:
                obj = json.loads(raw.decode('utf-8'), parse_constant=reject_constant)
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise Invalid('unparsable') from None
            if not isinstance(obj, dict):
                raise Invalid('not an object')
            if not all(k in obj for k in ('sensorId', 'timestamp', 'value')):
                raise Invalid('missing field')
            sensor, unit = check_strings(obj['sensorId'], obj.get('unit'), default_unit)
            yield (sensor, json_number(obj['timestamp']), json_number(obj['value']), unit)
        except Invalid:
            yield None


# ------------------------------------------------------------- computation
def read_calibration(path):
    cal = {}
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {'sensorId', 'offset', 'scale'} <= set(reader.fieldnames):
            sys.exit('reference.py: calibration header must be sensorId,offset,scale')
        for row in reader:
            try:
                offset, scale = parse_number_text(row['offset']), parse_number_text(row['scale'])
            except (Invalid, TypeError):
                sys.exit('reference.py: bad calibration row %r' % row)
            if scale == 0:
                sys.exit('reference.py: zero scale for sensor %r' % row['sensorId'])
            cal[row['sensorId']] = (offset, scale)
    return cal


def binary(x):
    """(m, e) with x == m * 2**e exactly, m and e integers."""
    m, d = x.as_integer_ratio()
    return m, 1 - d.bit_length()


def window_stats(win):
    """win: non-empty sequence of (value, m, e); the last item is the current reading.

    Returns (mean, std, zscore), each correctly rounded or within ~1 ulp.
    """
    n = len(win)
    e0 = min(e for _, _, e in win)
    ints = [m << (e - e0) for _, m, e in win]  # values / 2**e0, exact integers
    s = sum(ints)
    q = n * sum(x * x for x in ints) - s * s   # n**2 * variance / 4**e0, exact
    if e0 >= 0:
        mean = (s << e0) / n
        var = (q << 2 * e0) / (n * n)
    else:
        mean = s / (n << -e0)
        var = q / ((n * n) << -2 * e0)
    if q == 0:
        return mean, 0.0, 0.0
    d = n * ints[-1] - s  # zscore = d / sqrt(q)
    return mean, math.sqrt(var), math.copysign(math.sqrt(d * d / q), d)


def heavy(v, k):
    for _ in range(k):
        v = math.sin(v) * math.cos(v) + math.log1p(abs(v))
    return v


def process(readings, calibration, window, heavy_k):
    windows = {}
    for sensor, ts, value, unit in readings:
        offset, scale = calibration.get(sensor, DEFAULT_CALIBRATION)
        normalized = (value - offset) / scale
        win = windows.setdefault(sensor, deque(maxlen=window))
        win.append((value,) + binary(value))
        mean, std, z = window_stats(win)
        values = [v for v, _, _ in win]
        rec = {
            'sensorId': sensor, 'timestamp': ts, 'value': value, 'unit': unit,
            'normalized': normalized,
            'feature': math.sqrt(abs(normalized)) * math.log1p(abs(value)),
            'windowCount': len(win), 'windowMean': mean, 'windowStd': std,
            'windowMin': min(values), 'windowMax': max(values), 'zscore': z,
        }
        if heavy_k > 0:
            rec['heavy'] = heavy(value, heavy_k)
        yield rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--input', required=True)
    ap.add_argument('--format', required=True, choices=('csv', 'jsonl'))
    ap.add_argument('--calibration')
    ap.add_argument('--window', type=int, default=50)
    ap.add_argument('--heavy', type=int, default=0)
    ap.add_argument('--unit', default='C')
    ap.add_argument('--output', required=True)
    args = ap.parse_args()
    if args.window < 1 or args.heavy < 0:
        ap.error('--window must be >= 1 and --heavy >= 0')

    calibration = read_calibration(args.calibration) if args.calibration else {}
    with open(args.input, 'rb') as f:
        data = f.read()
    reader = read_csv if args.format == 'csv' else read_jsonl
    parsed = list(reader(data, args.unit))
    valid = [r for r in parsed if r is not None]

    with open(args.output, 'w', encoding='utf-8', newline='\n') as out:
        for rec in process(valid, calibration, args.window, args.heavy):
            out.write(json.dumps(rec, separators=(',', ':'), ensure_ascii=False) + '\n')
    print('valid=%d invalid=%d' % (len(valid), len(parsed) - len(valid)), file=sys.stderr)


if __name__ == '__main__':
    main()
