#!/usr/bin/python3
"""A ventilator's ingest side that withholds its acknowledgements: it takes an ingest's first
--hold batches without acknowledging any, and acknowledges nothing until a line arrives on its
stdin (the test sends it once the ingest has logged that it is waiting). From then on it
acknowledges each batch as it comes, and the end of the stream. With --hold 0 it holds nothing:
it acknowledges every batch as it comes from the start, and ignores its stdin. Any batch that arrives while it
holds is a failure: the ingest sent beyond its window.

Writes each batch's size on a line `batch N SIZE` to stdout and every reading it received, in
order, as `sensor,timestamp,value,unit` (Python's repr of the doubles) to --readings. Exits 0
at an acknowledged end of stream whose counts match what arrived, 1 on anything else or after
--timeout seconds of silence. Decodes with Debian's python3-msgpack, independently of Sluice's
codec. Needs python3-zmq."""
import argparse
import sys

import msgpack
import zmq

MAGIC = "SLUICE"
STREAM_BATCH, STREAM_END, STREAM_ACK = 1, 2, 3


def header(version, type_, id_, seq, count=0, extra=0):
    return msgpack.packb([MAGIC, version, type_, id_, seq, count, extra, ""])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--hold", type=int, required=True)
    ap.add_argument("--readings", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.LINGER, 1000)
    s.bind(args.bind)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)
    holding = args.hold > 0
    released = False
    batches = 0
    readings = []
    peer = None
    version = None
    stream = None

    def ack(seq, extra=0):
        s.send_multipart([peer, header(version, STREAM_ACK, stream, seq, 0, extra)])

    while True:
        ready = dict(poller.poll(int(args.timeout * 1000)))
        if not ready:
            print("nothing came for %g s" % args.timeout, file=sys.stderr)
            return 1
        if ready.get(sys.stdin.fileno()) or ready.get(sys.stdin):
            sys.stdin.readline()
            poller.unregister(sys.stdin)
            released = True
        # The release may overtake the held batches, which the ingest sent before it logged.
        if released and holding and batches >= args.hold:
            holding = False
            print("released after %d batches" % batches, flush=True)
            ack(batches)
        if not ready.get(s):
            continue
        frames = s.recv_multipart()
        peer = frames[0]
        h = msgpack.unpackb(frames[1])
        if h[0] != MAGIC:
            print("not a Sluice header: %r" % (h,), file=sys.stderr)
            return 1
        version, type_, stream, seq, count = h[1], h[2], h[3], h[4], h[5]
        if type_ == STREAM_BATCH:
            if seq != batches:
                print("batch %d arrived, expected %d" % (seq, batches), file=sys.stderr)
                return 1
            if holding and batches >= args.hold:
                print("batch %d arrived while %d were unacknowledged" % (seq, batches),
                      file=sys.stderr)
                return 1
            body = msgpack.unpackb(frames[2])
            if len(body) != count:
                print("batch %d says %d readings, holds %d" % (seq, count, len(body)),
                      file=sys.stderr)
                return 1
            readings.extend(body)
            batches += 1
            print("batch %d %d" % (seq, count), flush=True)
            if released and holding and batches >= args.hold:
                holding = False
                print("released after %d batches" % batches, flush=True)
            if not holding:
                ack(batches)
        elif type_ == STREAM_END:
            if holding or seq != batches or count != len(readings):
                print("end of stream at batch %d, %d readings; received %d batches, %d readings"
                      % (seq, count, batches, len(readings)), file=sys.stderr)
                return 1
            ack(seq, 1)
            with open(args.readings, "w") as out:
                for sensor, ts, value, unit in readings:
                    out.write("%s,%r,%r,%s\n" % (sensor, ts, value, unit))
            return 0


if __name__ == "__main__":
    sys.exit(main())
