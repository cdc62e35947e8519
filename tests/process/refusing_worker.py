#!/usr/bin/python3
"""A worker that refuses every task (task_refused, as a worker does whose windows are not where
the ventilator assumed), sends a heartbeat every second, and leaves with a goodbye when the job
ends. The ventilator must send each refused batch again, to a real worker, and the job's output
must not change. Prints `refused batch N` for each and exits 0 at the job's end; exits 1 if
nothing came for --timeout seconds. Needs python3-zmq (Debian)."""
import argparse
import struct
import sys

import zmq

from hostile_client import header

HELLO, CONFIG, TASK, HEARTBEAT, JOB_END, BYE, REFUSED = 10, 11, 12, 14, 16, 17, 18


def read_uint(b, i):
    t = b[i]
    if t < 0x80:
        return t, i + 1
    size = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[t]
    return int.from_bytes(b[i + 1:i + 1 + size], "big"), i + 1 + size


def read_str(b, i):
    t = b[i]
    if 0xA0 <= t <= 0xBF:
        n, i = t & 0x1F, i + 1
    elif t == 0xD9:
        n, i = b[i + 1], i + 2
    else:
        raise ValueError("not a str")
    return b[i:i + n], i + n


def read_header(frame):
    """[magic, version, type, id, seq, count, extra, name] -> (type, id, seq)"""
    if frame[0] != 0x98:
        raise ValueError("not a header")
    _, i = read_str(frame, 1)
    fields = []
    for _ in range(6):
        v, i = read_uint(frame, i)
        fields.append(v)
    return fields[1], fields[2], fields[3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ventilator", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 1000)
    s.setsockopt(zmq.ROUTING_ID, b"w-refuser")
    s.connect(args.ventilator)
    s.send(header(HELLO, 0, 0, 0, 2, "refuser:1"))
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    job = None
    idle = 0.0
    while True:
        if not poller.poll(1000):
            idle += 1
            if idle > args.timeout:
                print("nothing came for %g s" % args.timeout, file=sys.stderr)
                return 1
            if job is not None:
                s.send(header(HEARTBEAT, job))
            continue
        idle = 0.0
        frames = s.recv_multipart()
        type_, id_, seq = read_header(frames[0])
        if type_ == CONFIG:
            job = id_
        elif type_ == TASK and job is not None:
            s.send(header(REFUSED, job, seq))
            print("refused batch %d" % seq, flush=True)
        elif type_ == JOB_END:
            s.send(header(BYE, job))
            # Wait for the goodbye's echo, as a worker does, so that it is not lost on close.
            while poller.poll(2000):
                if read_header(s.recv_multipart()[0])[0] == BYE:
                    break
            return 0


if __name__ == "__main__":
    sys.exit(main())
