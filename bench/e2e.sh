#!/usr/bin/env bash
# End-to-end benchmarks of a local topology, side by side with the origin's Python pipelines
# (../shared/peers, used in place). Runs alternate so that machine noise hits every contender
# alike; medians and ratios are reported.
#
#   bench/e2e.sh throughput [RECORDS] [RUNS]   CSV file -> 2 workers -> JSON Lines file, vs peers
#   bench/e2e.sh heavy [RECORDS] [RUNS]        the same with --heavy 100, vs the ideal
#   bench/e2e.sh batch [RECORDS]               batch-size sweep
#   bench/e2e.sh credits [RECORDS]             worker credits sweep
#   bench/e2e.sh latency RATE|max [SECONDS] [FLAGS...]
#                                              p50/p99/p99.9 from ingest to written at a fixed rate
#                                              or the maximum; FLAGS go to `sluice run` (--heavy 100)
#                                              (OUT=/dev/null: output to a device, not the disk)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SLUICE_BIN:-build}
PEERS=${SLUICE_PEERS:-$(cd .. && pwd)/shared/peers}
PY=/usr/bin/python3
WORK=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
mkdir -p "$WORK"

make_input() { # deterministic CSV of $1 readings over 100 sensors
    local n=$1 f="$WORK/input-$1.csv"
    [[ -s $f ]] || $PY - "$n" "$f" <<'PY'
import random, sys
n, path = int(sys.argv[1]), sys.argv[2]
r = random.Random(12345)
with open(path, "w") as f:
    f.write("sensorId,timestamp,value,unit\n")
    for i in range(n):
        f.write(f"S{i % 100},{1700000000.0 + i * 0.001!r},{r.gauss(50, 15)!r},C\n")
PY
    echo "$f"
}

sluice_rate() { # prints readings/s of one `sluice run`; extra flags pass through
    local input=$1 n=$2; shift 2
    local t0 t1
    t0=$(date +%s.%N)
    "$BIN/sluice" run --input "$input" --workers 2 --output "${OUT:-$WORK/out.jsonl}" "$@" 2>/dev/null
    t1=$(date +%s.%N)
    $PY -c "print(round($n / ($t1 - $t0)))"
}

peer_rate() { # prints the rec/s a peer reports on its last line
    "$PY" "$PEERS/$1" "${@:2}" | tail -1 | sed -E 's/.*rate=([0-9]+).*/\1/'
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

case ${1:-throughput} in
throughput)
    n=${2:-2000000} runs=${3:-5}
    input=$(make_input "$n")
    : >"$WORK/s" && : >"$WORK/m" && : >"$WORK/z" && : >"$WORK/p"
    for ((i = 1; i <= runs; i++)); do
        sluice_rate "$input" "$n" >>"$WORK/s"
        OUT=/dev/shm/sluice-bench-out.jsonl sluice_rate "$input" "$n" >>"$WORK/m"
        rm -f /dev/shm/sluice-bench-out.jsonl
        peer_rate pyzmq_pipeline.py --records "$n" --batch 1000 --workers 2 >>"$WORK/z"
        peer_rate seed_pool.py --records "$n" --batch 1000 --workers 2 >>"$WORK/p"
    done
    s=$(median <"$WORK/s") m=$(median <"$WORK/m") z=$(median <"$WORK/z") p=$(median <"$WORK/p")
    bytes=$(stat -c %s "$WORK/out.jsonl")
    echo "records=$n runs=$runs (medians, readings/s); output $((bytes / n)) bytes/record"
    echo "sluice (CSV file -> 2 workers -> JSONL file, with window stats): $s   runs: $(tr '\n' ' ' <"$WORK/s")"
    echo "sluice, the JSONL file on tmpfs (/dev/shm):                     $m   runs: $(tr '\n' ' ' <"$WORK/m")"
    echo "pyzmq_pipeline (batch 1000, 2 workers, in memory):             $z   runs: $(tr '\n' ' ' <"$WORK/z")"
    echo "seed_pool (batch 1000, 2 workers, in memory):                  $p   runs: $(tr '\n' ' ' <"$WORK/p")"
    $PY -c "print(f'ratio sluice/pyzmq = {$s/$z:.1f}x, sluice/seed_pool = {$s/$p:.1f}x')"
    # The disk's own ceiling for a file of that size, written as the sink writes it.
    dd if=/dev/zero of="$WORK/dd.out" bs=256k count=$((bytes / 262144)) conv=fsync 2>&1 | tail -1 |
        sed 's/^/disk write ceiling (dd, 256 KiB blocks, with fsync): /'
    dd if=/dev/zero of="$WORK/dd.out" bs=256k count=$((bytes / 262144)) 2>&1 | tail -1 |
        sed 's/^/disk write ceiling (dd, 256 KiB blocks, page cache only): /'
    rm -f "$WORK/dd.out"
    ;;
heavy)
    n=${2:-500000} runs=${3:-3}
    input=$(make_input "$n")
    single=$("$BIN/bench/sluice_bench" --benchmark_filter='BM_compute_features/100/100' --benchmark_min_time=1 \
        --benchmark_format=csv 2>/dev/null | awk -F, '$1 ~ /BM_compute_features/ {print $7}')
    : >"$WORK/h"
    for ((i = 1; i <= runs; i++)); do sluice_rate "$input" "$n" --heavy 100 >>"$WORK/h"; done
    h=$(median <"$WORK/h")
    cores=$(nproc)
    echo "heavy 100: sluice $h readings/s (runs: $(tr '\n' ' ' <"$WORK/h")); single-thread kernel $single/s"
    $PY -c "print(f'ideal = {$cores} x {float(\"$single\"):.0f} = {$cores*float(\"$single\"):.0f}/s; sluice reaches {100*$h/($cores*float(\"$single\")):.0f}% of it')"
    ;;
batch)
    n=${2:-1000000}
    input=$(make_input "$n")
    for b in 100 250 500 1000 2000 5000 10000; do
        r=$(for i in 1 2 3; do sluice_rate "$input" "$n" --batch-size "$b"; done | median)
        echo "batch $b: $r readings/s"
    done
    ;;
credits)
    n=${2:-1000000}
    input=$(make_input "$n")
    for c in 1 2 4 8; do
        r=$(for i in 1 2 3; do sluice_rate "$input" "$n" --credits "$c"; done | median)
        echo "credits $c: $r readings/s"
    done
    ;;
latency)
    # RATE readings/s, or `max` (the generator unthrottled: about SECONDS x 1,000,000 readings);
    # flags after SECONDS go to `sluice run` (e.g. --heavy 100).
    rate=${2:?rate}; secs=${3:-10}
    if [[ $rate == max ]]; then pace=(--count $((secs * 1000000))); else pace=(--rate "$rate" --count $((rate * secs))); fi
    "$BIN/sluice" run "${pace[@]}" --workers 2 --output "${OUT:-$WORK/out.jsonl}" "${@:4}" \
        --child-log-level warn 2>&1 | grep -E "latency|summary"
    ;;
*) echo "usage: bench/e2e.sh throughput|heavy|batch|credits|latency ..." >&2; exit 2 ;;
esac
