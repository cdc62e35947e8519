#!/usr/bin/env python3
"""Many concurrent TCP sensors for the listener's process test (Python 3 stdlib only).

Opens --connections connections at once and sends each --lines JSON Lines, written
round-robin whenever a socket can take more. With --faults, some connections also
send malformed lines, some are cut mid-line, some never send a newline, some use
CRLF and one sends a line longer than --max-line (the listener then closes it and
drops the rest). Writes the expected outcome to --expected as JSON:
{"sensors": {sensorId: [[timestamp, value], ...]}, "good": N, "dead": D}.
Sensor ids are PREFIX + connection number, so one connection is one sensor.

With --stall, two more connections are opened first and kept open until the
process is terminated: one silent, one that sent half a line.  After the normal
connections are done it prints "sent" to stdout and, with --stall, waits for SIGTERM.
"""
import argparse
import errno
import json
import selectors
import signal
import socket
import sys

T0 = 1700000000

MALFORMED = [
    b'not json',
    b'{"sensorId":"%s","timestamp":1,"value":NaN}',
    b'{"sensorId":"%s","value":1}',
    b'\x00\x01\xff\xfe garbage \x00',
    b'{"sensorId":"' + b'x' * 300 + b'","timestamp":1,"value":1}',
    b'{"sensorId":"%s","timestamp":"1","value":1}',
    b'{"sensorId":"%s","timestamp":1,"value":1',
]


def value_of(conn, k):
    return float((conn * 7 + k) % 1000) + 0.25


def payload(conn, args):
    """Bytes to send on connection `conn`, its expected good readings and dead letters."""
    sensor = '%s%d' % (args.prefix, conn)
    kind = conn % 10 if args.faults else -1
    if kind == 7:  # never sends a newline
        return b'{"sensorId":"%s","timestamp":1,"value":1' % sensor.encode() + b' ' * 100, [], 1
    eol = b'\r\n' if kind == 9 else b'\n'
    long_at = args.lines // 2 if args.faults and conn == 1 else -1
    parts, good, dead = [], [], 0
    for k in range(args.lines):
        if k == long_at:
            parts.append(b'{"sensorId":"' + b'L' * (args.max_line + 10) + b'"}' + eol)
            dead += 1
            break
        if kind == 3 and k % 37 == 5:
            bad = MALFORMED[(k // 37) % len(MALFORMED)]
            parts.append((bad % sensor.encode() if b'%s' in bad else bad) + eol)
            dead += 1
            continue
        ts, value = T0 + k, value_of(conn, k)
        parts.append(b'{"sensorId":"%s","timestamp":%d,"value":%r}' % (
            sensor.encode(), ts, value) + eol)
        good.append([ts, value])
    if kind == 5:  # cut mid-line
        parts.append(b'{"sensorId":"%s","timestamp":%d,"val' % (sensor.encode(), T0))
        dead += 1
    return b''.join(parts), good, dead


def connect(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex(('127.0.0.1', port))
    if err not in (0, errno.EINPROGRESS):
        raise OSError(err, 'connect: ' + errno.errorcode.get(err, str(err)))
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--connections', type=int, default=1000)
    p.add_argument('--lines', type=int, default=1000)
    p.add_argument('--prefix', default='c')
    p.add_argument('--faults', action='store_true')
    p.add_argument('--max-line', type=int, default=4096)
    p.add_argument('--stall', action='store_true')
    p.add_argument('--expected', required=True)
    args = p.parse_args()

    held = []
    if args.stall:
        silent = socket.create_connection(('127.0.0.1', args.port))
        half = socket.create_connection(('127.0.0.1', args.port))
        half.sendall(b'{"sensorId":"stalled","timest')
        held = [silent, half]

    sel = selectors.DefaultSelector()
    expected = {'sensors': {}, 'good': 0, 'dead': 0}
    for conn in range(args.connections):
        data, good, dead = payload(conn, args)
        expected['sensors']['%s%d' % (args.prefix, conn)] = good
        expected['good'] += len(good)
        expected['dead'] += dead
        sel.register(connect(args.port), selectors.EVENT_WRITE, [memoryview(data), 0])
    with open(args.expected, 'w') as f:
        json.dump(expected, f)

    open_count = args.connections
    while open_count:
        for key, _ in sel.select():
            state = key.data
            done = False
            try:
                state[1] += key.fileobj.send(state[0][state[1]:state[1] + 65536])
                done = state[1] == len(state[0])
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                done = True  # the listener closed it (the over-long line)
            if done:
                sel.unregister(key.fileobj)
                key.fileobj.close()
                open_count -= 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('sent %d good lines, %d dead letters' % (expected['good'], expected['dead']), flush=True)
    if held:
        signal.pause()


if __name__ == '__main__':
    main()
