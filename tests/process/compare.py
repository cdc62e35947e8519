#!/usr/bin/env python3
"""Compare Sluice output with the reference oracle's expected records.

    compare.py EXPECTED.jsonl ACTUAL [--format jsonl|csv|msgpack] [--rel 1e-9]

EXPECTED is JSON Lines written by reference.py.  ACTUAL is JSON Lines, CSV
with a header line, or a stream of msgpack maps (decoded here in pure Python).
Checks the record count, the key order, exact string fields and windowCount,
and every other field numerically: equal within relative error REL, or both
below 1e-3 in magnitude and within 1e-12.  zscore is ill-conditioned when the
window is nearly constant, so when windowStd / |windowMean| < 1e-6 it may
differ by up to REL * max(1, |zscore|) * 1e3.

Prints up to 10 mismatches and exits 1, or prints `compare: N records match`
and exits 0.  Exit 2 on unreadable input.
"""
import argparse
import csv
import json
import math
import struct
import sys

STRING_FIELDS = {'sensorId', 'unit'}
INT_FIELDS = {'windowCount'}
MAX_REPORTED = 10


# ------------------------------------------------------------------ msgpack
class MsgpackReader:
    """Minimal msgpack decoder: nil, bool, ints, float32/64, str, bin, arrays, maps.

    Maps are returned as lists of (key, value) pairs to keep their order.
    """

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError('msgpack: truncated input at byte %d' % self.pos)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack('>' + fmt, self.take(struct.calcsize('>' + fmt)))[0]

    def decode(self):
        b = self.take(1)[0]
        if b <= 0x7f:
            return b
        if b >= 0xe0:
            return b - 0x100
        if 0x80 <= b <= 0x8f:
            return self.map(b & 0x0f)
        if 0x90 <= b <= 0x9f:
            return self.array(b & 0x0f)
        if 0xa0 <= b <= 0xbf:
            return self.take(b & 0x1f).decode('utf-8')
        simple = {0xc0: None, 0xc2: False, 0xc3: True}
        if b in simple:
            return simple[b]
        numbers = {0xca: 'f', 0xcb: 'd', 0xcc: 'B', 0xcd: 'H', 0xce: 'I', 0xcf: 'Q',
                   0xd0: 'b', 0xd1: 'h', 0xd2: 'i', 0xd3: 'q'}
        if b in numbers:
            return self.unpack(numbers[b])
        lengths = {0xc4: 'B', 0xc5: 'H', 0xc6: 'I', 0xd9: 'B', 0xda: 'H', 0xdb: 'I',
                   0xdc: 'H', 0xdd: 'I', 0xde: 'H', 0xdf: 'I'}
        if b in lengths:
            n = self.unpack(lengths[b])
            if b <= 0xc6:
                return self.take(n)
            if b <= 0xdb:
                return self.take(n).decode('utf-8')
            return self.array(n) if b <= 0xdd else self.map(n)
        raise ValueError('msgpack: unsupported type byte 0x%02x at %d' % (b, self.pos - 1))

    def array(self, n):
        return [self.decode() for _ in range(n)]

    def map(self, n):
        return [(self.decode(), self.decode()) for _ in range(n)]


def read_msgpack(path):
    with open(path, 'rb') as f:
        reader = MsgpackReader(f.read())
    items = []
    while reader.pos < len(reader.data):
        items.append(reader.decode())
    if len(items) == 1 and isinstance(items[0], list) and all(
            isinstance(x, list) and all(isinstance(p, tuple) for p in x) for x in items[0]):
        items = items[0]  # a single top-level array of maps
    for k, item in enumerate(items):
        if not isinstance(item, list) or not all(isinstance(p, tuple) for p in item):
            raise ValueError('msgpack: item %d is not a map' % k)
    return items


# ---------------------------------------------------------------- other inputs
def read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line, object_pairs_hook=list) for line in f if line.strip()]


def read_csv(path):
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    if not rows:
        return []
    header = rows[0]
    return [[(k, v if k in STRING_FIELDS else csv_number(v)) for k, v in zip(header, row)]
            if len(row) == len(header) else [('<bad row>', row)]
            for row in rows[1:] if row]


def csv_number(text):
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # reported as a mismatch later


# ---------------------------------------------------------------- comparison
def as_number(x):
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        try:
            return float(x)
        except OverflowError:
            return None
    return None  # strings, null, containers are never numbers


def close(a, b, rel):
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    diff, big = abs(a - b), max(abs(a), abs(b))
    return diff <= rel * big or (big < 1e-3 and diff <= 1e-12)


def compare_record(exp, act, rel):
    """Yields (field, message) for each mismatch between two records."""
    exp_keys, act_keys = [k for k, _ in exp], [k for k, _ in act]
    if exp_keys != act_keys:
        yield 'keys', 'expected %s, actual %s' % (exp_keys, act_keys)
        return
    e, a = dict(exp), dict(act)
    mean, std = as_number(e.get('windowMean')), as_number(e.get('windowStd'))
    for key in exp_keys:
        ev, av = e[key], a[key]
        if key in STRING_FIELDS:
            ok = av == ev
        elif key in INT_FIELDS:
            an = as_number(av)
            ok = an is not None and an == ev
        else:
            an = as_number(av)
            ok = an is not None and close(ev, an, rel)
            if not ok and key == 'zscore' and an is not None and mean and std is not None \
                    and std / abs(mean) < 1e-6:
                ok = abs(ev - an) <= rel * max(1.0, abs(ev)) * 1e3
        if not ok:
            yield key, 'expected %r, actual %r' % (ev, av)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('expected')
    ap.add_argument('actual')
    ap.add_argument('--format', default='jsonl', choices=('jsonl', 'csv', 'msgpack'))
    ap.add_argument('--rel', type=float, default=1e-9)
    args = ap.parse_args()
    try:
        expected = read_jsonl(args.expected)
        actual = {'jsonl': read_jsonl, 'csv': read_csv, 'msgpack': read_msgpack}[args.format](args.actual)
    except (OSError, ValueError) as err:
        print('compare: cannot read input: %s' % err, file=sys.stderr)
        return 2

    failures = 0
    if len(expected) != len(actual):
        print('compare: record count differs: expected %d, actual %d' % (len(expected), len(actual)))
        failures += 1
    for index, (exp, act) in enumerate(zip(expected, actual)):
        for field, message in compare_record(exp, act, args.rel):
            if failures < MAX_REPORTED:
                print('compare: record %d field %s: %s' % (index, field, message))
            failures += 1
    if failures:
        print('compare: %d mismatches' % failures)
        return 1
    print('compare: %d records match' % len(expected))
    return 0


if __name__ == '__main__':
    sys.exit(main())
