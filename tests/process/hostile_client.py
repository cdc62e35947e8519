#!/usr/bin/python3
"""A hostile peer for the Sluice fault tests: it connects to every endpoint a Sluice job binds
and sends garbage, malformed and foreign messages (never a valid message that could change the
job, such as a well-formed stream_end or worker_hello).

    hostile_client.py --ingest EP --workers EP --sink-control EP --results EP [--seed N]

  --ingest        the ventilator's ingest ROUTER   (we connect a DEALER)
  --workers       the ventilator's workers ROUTER  (DEALER)
  --sink-control  the ventilator's sink ROUTER     (DEALER)
  --results       the sink's results PULL          (PUSH)

The first message on every socket is a header speaking protocol version 7, so that it is among
the first malformed messages each node logs (the logs are rate-limited). Prints a count of what
it sent per socket and exits 0. Needs python3-zmq (Debian), i.e. `import zmq`.
"""
import argparse
import random
import struct
import sys

import zmq

MAGIC = "SLUICE"
VERSION = 4  # core/protocol.hpp, k_protocol_version


# ---- a minimal msgpack encoder, so that malformed encodings can be built by hand ---------------
def p_uint(v):
    if v < 128:
        return bytes([v])
    if v < 1 << 8:
        return b"\xcc" + struct.pack(">B", v)
    if v < 1 << 16:
        return b"\xcd" + struct.pack(">H", v)
    if v < 1 << 32:
        return b"\xce" + struct.pack(">I", v)
    return b"\xcf" + struct.pack(">Q", v)


def p_int(v):
    if v >= 0:
        return p_uint(v)
    if v >= -32:
        return struct.pack(">b", v)
    return b"\xd3" + struct.pack(">q", v)


def p_str(s):
    b = s.encode() if isinstance(s, str) else s
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    if len(b) < 256:
        return b"\xd9" + bytes([len(b)]) + b
    return b"\xdb" + struct.pack(">I", len(b)) + b


def p_bin(b):
    return b"\xc6" + struct.pack(">I", len(b)) + b


def p_f64(x):
    return b"\xcb" + struct.pack(">d", x)


def p_array(items):
    n = len(items)
    head = bytes([0x90 | n]) if n < 16 else b"\xdd" + struct.pack(">I", n)
    return head + b"".join(items)


def header(type_, id_=0, seq=0, count=0, extra=0, name="hostile", version=VERSION, magic=MAGIC):
    return p_array([p_str(magic), p_uint(version), p_uint(type_), p_uint(id_), p_uint(seq),
                    p_uint(count), p_uint(extra), p_str(name)])


def reading(sensor="S1", ts=1.7e9, value=50.0, unit="C"):
    return p_array([p_str(sensor), p_f64(ts), p_f64(value), p_str(unit)])


TYPES = [1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 30, 31, 32, 33, 34, 35]
DATA_FRAMES = {1: 1, 11: 1, 20: 1, 12: 2}


def common_garbage(rng):
    """Messages (lists of frames) that are malformed on any socket."""
    msgs = []
    msgs.append([b""])
    for n in (1, 2, 7, 31, 255, 4096, 70000):
        msgs.append([rng.randbytes(n)])
    for _ in range(40):
        msgs.append([rng.randbytes(rng.randint(1, 300))])
    for nframes in (2, 3, 4, 5):
        msgs.append([rng.randbytes(rng.randint(0, 100)) for _ in range(nframes)])
    # huge frame counts
    msgs.append([b"x"] * 100)
    msgs.append([header(14)] + [b""] * 1000)
    # truncated msgpack: every prefix of a valid header
    good = header(14, 123, 4, 5, 6, "truncated")
    for cut in range(0, len(good)):
        msgs.append([good[:cut]])
    # a valid header followed by trailing bytes
    msgs.append([good + b"\x00"])
    # wrong magic, wrong version, other shapes of the header
    msgs.append([header(14, magic="SLUICX")])
    msgs.append([header(14, magic="")])
    msgs.append([header(14, magic="SLUICE" * 1000)])
    msgs.append([header(14, version=0)])
    msgs.append([header(14, version=1)])  # the version before history bins
    msgs.append([header(14, version=2)])  # the version before history deltas
    msgs.append([header(14, version=4)])
    msgs.append([header(14, version=(1 << 64) - 1)])
    msgs.append([p_array([p_str(MAGIC), p_uint(VERSION), p_uint(14)])])                 # 3 elements
    msgs.append([p_array([p_str(MAGIC)] + [p_uint(1)] * 6)])                       # 7 elements
    msgs.append([p_array([p_str(MAGIC)] + [p_uint(1)] * 6 + [p_str(""), p_uint(0)])])  # 9
    msgs.append([b"\x88" + p_str("a") + p_uint(1) * 8])                             # a map
    msgs.append([p_array([p_str(MAGIC), p_str("1"), p_uint(14), p_uint(0), p_uint(0),
                          p_uint(0), p_uint(0), p_str("")])])                       # version as str
    msgs.append([p_array([p_str(MAGIC), p_uint(VERSION), p_str("heartbeat"), p_uint(0), p_uint(0),
                          p_uint(0), p_uint(0), p_str("")])])                       # type as str
    msgs.append([p_array([p_str(MAGIC), p_uint(VERSION), p_uint(14), p_int(-1), p_f64(1.5),
                          p_uint(0), p_uint(0), p_str("")])])                       # negative, float
    msgs.append([p_array([p_str(MAGIC), p_uint(VERSION), p_uint(14), p_uint(0), p_uint(0),
                          p_uint(0), p_uint(0), p_uint(7)])])                       # name as int
    msgs.append([p_array([p_bin(MAGIC.encode()), p_uint(1), p_uint(14), p_uint(0), p_uint(0),
                          p_uint(0), p_uint(0), p_str("")])])                       # magic as bin
    # lengths and counts that lie: str32 / array32 claiming 4 GiB
    msgs.append([b"\x98\xdb\xff\xff\xff\xff" + b"SLUICE"])
    msgs.append([b"\xdd\xff\xff\xff\xff" + p_str(MAGIC)])
    msgs.append([b"\x98" + p_str(MAGIC) + b"\x01\x0e\x00\x00\x00\x00\xdb\xff\xff\xff\xf0abc"])
    # deep nesting
    msgs.append([b"\x91" * 100000])
    # unknown message types
    for t in (0, 4, 9, 18, 19, 21, 29, 36, 99, 255, 256, 65535, (1 << 64) - 1):
        msgs.append([header(t)])
    # every known type with a wrong number of data frames
    for t in TYPES:
        n = DATA_FRAMES.get(t, 0)
        for wrong in (n + 1, n + 2):
            msgs.append([header(t, rng.getrandbits(63), 5, 5)] + [rng.randbytes(20)] * wrong)
        if n > 0:
            msgs.append([header(t, rng.getrandbits(63), 5, 5)] + [b""] * (n - 1))
    return msgs


def ingest_specific(rng):
    """Valid-looking headers with bad payloads or fields for the ingest socket. Stream ids are
    fresh random ones (never a real stream's), and no stream_end can end a stream: its batch
    count never matches the stream's."""
    sid = rng.getrandbits(62) * 2 + 1
    msgs = []
    payloads = [b"", b"\x90\x90", rng.randbytes(64), reading()[:-3],
                p_array([reading(value=float("nan"))]),
                p_array([reading(value=float("inf"))]),
                p_array([reading(sensor="")]),
                p_array([reading(sensor="x" * 300)]),
                p_array([reading(unit="u" * 40)]),
                p_array([p_array([p_str("S1"), p_str("ts"), p_f64(1.0), p_str("C")])]),
                p_array([p_array([p_str("S1"), p_f64(1.0)])]),
                b"\xdd\xff\xff\xff\xff" + reading(),
                b"\x91" * 50000]
    for i, payload in enumerate(payloads):
        # stream_batch numbered 0, 1, 2...: each is refused as a whole and counted
        msgs.append([header(1, sid, i, 1), payload])
    # a valid batch of the wrong size (count says 5, payload has 1)
    msgs.append([header(1, sid, len(payloads), 5), p_array([reading()])])
    # stream_end claiming 1000 batches of a stream that has none: must not end anything
    msgs.append([header(2, rng.getrandbits(62) * 2 + 1, 1000, 1000)])
    # types that are not for this socket
    for t in (3, 10, 13, 14, 20, 30, 32, 34):
        n = DATA_FRAMES.get(t, 0)
        msgs.append([header(t, sid, 1, 1)] + [b"x"] * n)
    return msgs


def workers_specific(rng):
    """For the workers socket: messages of a worker the ventilator does not know (it must answer
    with reset, or drop them), never a worker_hello that would enrol us."""
    msgs = []
    for t in (13, 14, 17, 18):
        msgs.append([header(t, rng.getrandbits(64), rng.getrandbits(20), 1000)])
    msgs.append([header(10, 0, 0, 0, 2, "bad-hello")] + [b"extra frame"])      # wrong frames
    msgs.append([header(12, 1, 2, 3), b"readings", b"history"])                # task from a worker
    msgs.append([header(1, 1, 0, 1), p_array([reading()])])                    # ingest type here
    return msgs


def sink_control_specific(rng):
    """For the ventilator's sink socket: messages of a sink the ventilator does not know, and a
    sink_hello with an output format that does not exist."""
    msgs = []
    for t in (32, 34, 14):
        msgs.append([header(t, rng.getrandbits(64), 1 << 40, 1 << 40)])
    msgs.append([header(30, 0, 0, 0, 99, "hostile-sink")])                    # unknown format
    msgs.append([header(30, 0, 0, 0, 0, "hostile-sink"), b"extra"])           # wrong frames
    return msgs


def results_specific(rng):
    """For the sink's results socket: results of a job that is not running, results with broken
    records, and messages that are not results."""
    msgs = []
    for _ in range(20):
        msgs.append([header(20, rng.getrandbits(64), rng.getrandbits(10), 3, 0),
                     rng.randbytes(rng.randint(0, 200))])
    msgs.append([header(20, rng.getrandbits(64), 0, 1, 7), b'{"half a record'])  # bad format
    for t in (13, 14, 32, 34):
        msgs.append([header(t, 1, 1, 1)])
    return msgs


def send_all(sock, name, msgs, counts):
    sent = 0
    for frames in msgs:
        try:
            sock.send_multipart(frames, copy=True)
            sent += 1
        except zmq.Again:
            pass
        # Drain whatever the peer answers (acks, resets) so nothing piles up.
        try:
            while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                sock.recv_multipart(zmq.NOBLOCK)
        except (zmq.Again, zmq.ZMQError):
            pass
    counts[name] = counts.get(name, 0) + sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingest", required=True)
    ap.add_argument("--workers", required=True)
    ap.add_argument("--sink-control", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    ctx = zmq.Context()
    socks = {}
    for name, kind, ep in (("ingest", zmq.DEALER, a.ingest), ("workers", zmq.DEALER, a.workers),
                           ("sink-control", zmq.DEALER, a.sink_control),
                           ("results", zmq.PUSH, a.results)):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 5000)
        s.setsockopt(zmq.SNDTIMEO, 2000)
        s.setsockopt(zmq.SNDHWM, 100000)
        s.connect(ep)
        socks[name] = s
    specific = {"ingest": ingest_specific, "workers": workers_specific,
                "sink-control": sink_control_specific, "results": results_specific}
    counts = {}
    # The protocol-version-7 header first on every socket: these are the first malformed
    # messages every node sees, so the rate-limited log names them.
    # On the results socket it has the shape of a result (header + records), since a version 7
    # peer there would be a worker pushing results.
    for name, s in socks.items():
        v7 = [header(14, 0, 0, 0, 0, "v7", version=7)]
        if name == "results":
            v7 = [header(20, 1, 0, 1, 0, "v7", version=7), b'{"sensorId":"S0"}\n']
        send_all(s, name, [v7], counts)
    for _ in range(a.rounds):
        for name, s in socks.items():
            msgs = common_garbage(rng) + specific[name](rng)
            rng.shuffle(msgs)
            send_all(s, name, msgs, counts)
    # An oversized message (over the 64 MiB limit) last: the node must drop it (and the
    # connection), not crash or buffer it.
    big = b"\x00" * (65 << 20)
    for name in ("ingest", "results"):
        send_all(socks[name], name, [[header(14), big]], counts)
    for s in socks.values():
        s.close()  # linger: delivered before exit
    ctx.term()
    print("hostile client sent: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
