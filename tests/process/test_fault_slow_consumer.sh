#!/usr/bin/env bash
# Guarantee (SPEC §6, GUARANTEES "Memory does not grow with the length of the stream"): when the
# output is slower than the input, the pressure travels back to the source; nothing is dropped and
# no process's memory grows with the stream.
#
# The same topology writing to a file with no slow reader runs first: the unthrottled, fault-free
# run. Then the sink writes to stdout, a FIFO read by a deliberately slow reader (64 KiB, then a
# pause: 4 ms, at most 16 MB/s, or longer if needed to make the reader need at least 3 times the
# unthrottled run's time, as under AddressSanitizer; that pacing is the load). Checks:
#  - the slow run's output is byte-identical to the unthrottled output (nothing lost or doubled);
#  - the ingest was slowed: its elapsed time ("summary: stream ... in X s") is at least 1.5 times the
#    unthrottled run's and at least half the time the reader needs at its maximum speed (the ingest
#    finishes while the last in-flight batches and the pipe's buffer still wait for the reader);
#  - every process's peak RSS (VmHWM, sampled every 50 ms while it runs) stays under 100 MB.
#
# Why 100 MB: with --max-in-flight 16 and 1,000-reading batches (about 40 KB of msgpack in, about
# 310 KB of JSON out per batch), the data any process holds is bounded by ~16 batches plus the
# ingest's 8 unacknowledged ones and the sink's 1 MiB write buffer: a few MB to ~10 MB. A process
# at rest is ~10-15 MB (libzmq, allocator). 100 MB leaves a wide margin for allocator slack, yet is
# well below what unbounded buffering would need: the output of this job is ~250 MB, and a sink or
# ventilator that buffered the stream instead of pushing back would pass 100 MB long before the end.
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

COUNT=800000
BOUND_KB=$((100 * 1024))
LIMIT=150
# AddressSanitizer's shadow memory and quarantine (256 MB by default) inflate RSS whatever the
# program holds; the bound then only checks that nothing scales with the stream. Its topology
# runs at ~25,000 readings/s, so the job is halved.
if ((SANITIZED)); then COUNT=400000 BOUND_KB=$((400 * 1024)) LIMIT=300; fi
PAUSE=0.004
JOB=(--count "$COUNT" --sensors 300)

# run_job TAG: the topology with --max-in-flight 16; the sink writes to stdout, into $T/TAG.fifo
# when SLOW=1 (read by the slow reader into $T/TAG.jsonl), else straight into $T/TAG.jsonl.
run_job() {
    local tag=$1 reader= p
    : >"$T/vent.log" && : >"$T/sink.log" && : >"$T/ingest.log"
    rm -f "$T"/worker-*.log
    start_vent --max-in-flight 16
    if [[ ${SLOW:-0} == 1 ]]; then
        mkfifo "$T/$tag.fifo"
        start reader python3 -c '
import os, sys, time
out = open(sys.argv[1], "wb")
fd = os.open(sys.argv[2], os.O_RDONLY)
while True:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    out.write(chunk)
    time.sleep(float(sys.argv[3]))  # the slowness of this consumer: the load, not a synchronisation
out.close()
' "$T/$tag.jsonl" "$T/$tag.fifo" "$PAUSE"
        reader=$LAST_PID
        start_sink --output - >"$T/$tag.fifo"
    else
        start_sink --output - >"$T/$tag.jsonl"
    fi
    start_worker a --stats-interval 0
    local wa=$LAST_PID
    start_worker b --stats-interval 0
    local wb=$LAST_PID
    wait_workers 2
    start_ingest "${JOB[@]}" --stats-interval 0
    local pids=("$VENT" "$SINK" "$wa" "$wb" "$INGEST")
    local names=(ventilator sink worker-a worker-b ingest)
    sample_hwm "${pids[@]}"
    local started=$SECONDS
    expect_exit sink "$SINK" "$LIMIT"
    expect_exit ventilator "$VENT" 20
    expect_exit ingest "$INGEST" 20
    expect_exit "worker a" "$wa" 20
    expect_exit "worker b" "$wb" 20
    [[ -z $reader ]] || expect_exit reader "$reader" 20
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait_exit "$SAMPLER_PID" 5
    local i peak
    for i in "${!pids[@]}"; do
        peak=$(cat "$T/hwm.${pids[i]}" 2>/dev/null || echo 0)
        [[ $peak -gt 0 ]] || fail "$tag: no VmHWM sample of ${names[i]}"
        printf '%s: %-10s peak RSS %6d kB\n' "$tag" "${names[i]}" "$peak"
        ((peak < BOUND_KB)) || fail "$tag: ${names[i]} peak RSS $peak kB exceeds the bound of $BOUND_KB kB"
    done
    ELAPSED=$(grep 'summary: stream' "$T/ingest.log" | grep -oE 'batches in [0-9.e+-]+ s' | grep -oE '[0-9][0-9.e+-]*')
    [[ -n $ELAPSED ]] || fail "$tag: no ingest summary line"
    note "$tag: job took $((SECONDS - started)) s; ingest elapsed $ELAPSED s"
}

note "unthrottled run (also the fault-free reference)"
SLOW=0 run_job fast
FAST=$ELAPSED
PAUSE=$(awk -v f="$FAST" -v b="$(stat -c %s "$T/fast.jsonl")" \
    'BEGIN { p = 3 * f / (b / 65536); printf "%.4f", (p > 0.004 ? p : 0.004) }')
note "the slow reader pauses $PAUSE s after every 64 KiB"
note "run with a slow consumer"
SLOW=1 run_job slow
SLOWT=$ELAPSED

cmp "$T/fast.jsonl" "$T/slow.jsonl" || fail "the slow consumer's output differs from the unthrottled output"
lines=$(wc -l <"$T/slow.jsonl")
[[ $lines == "$COUNT" ]] || fail "the slow consumer got $lines records, expected $COUNT"
bytes=$(stat -c %s "$T/slow.jsonl")
# The reader takes at least bytes / 64 KiB * PAUSE.
min_reader=$(awk -v b="$bytes" -v p="$PAUSE" 'BEGIN { printf "%.2f", b / 65536 * p }')
awk -v s="$SLOWT" -v f="$FAST" -v m="$min_reader" 'BEGIN { exit !(s >= 1.5 * f && s >= 0.5 * m) }' ||
    fail "the ingest was not slowed by the slow consumer: $SLOWT s vs $FAST s unthrottled (reader needs >= $min_reader s)"
note "PASS: $lines records identical; ingest $SLOWT s slowed vs $FAST s unthrottled (reader >= $min_reader s)"
