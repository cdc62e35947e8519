#!/usr/bin/env bash
# End-to-end benchmarks of a local topology, side by side with the origin's Python pipelines
# (../shared/peers, used in place). Runs alternate so that machine noise hits every contender
# alike; medians and ratios are reported.
#
#   bench/e2e.sh throughput [RECORDS] [RUNS]   CSV file -> 2 workers -> JSON Lines file, vs peers
#   bench/e2e.sh heavy [RECORDS] [RUNS]        the same with --heavy 100, vs the ideal
#   bench/e2e.sh batch [RECORDS]               batch-size sweep
#   bench/e2e.sh credits [RECORDS]             worker credits sweep
#   bench/e2e.sh sensors [RECORDS] [RUNS]      throughput over 10 to 10,000 sensors, to tmpfs
#   bench/e2e.sh bounds [RUNS]                 what removing one cost would give at most: HEAD
#                                              against HEAD + each bench/bounds/*.patch, to tmpfs
#   bench/e2e.sh latency RATE|max [SECONDS] [FLAGS...]
#                                              p50/p99/p99.9 from ingest to written at a fixed rate
#                                              or the maximum, of a running topology (the ingest
#                                              starts once the sink and both workers have joined);
#                                              FLAGS (--heavy 100, --batch-size B, --credits C...)
#                                              go to the node that owns them
#                                              (OUT=/dev/null: output to a device, not the disk)
#   bench/e2e.sh latency-run RATE|max [SECONDS] [FLAGS...]
#                                              the same through one `sluice run`, start-up included
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SLUICE_BIN:-build}
PEERS=${SLUICE_PEERS:-$(cd .. && pwd)/shared/peers}
PY=/usr/bin/python3
WORK=${SLUICE_BENCH_DIR:-/tmp/sluice-bench}
mkdir -p "$WORK"

make_input() { # deterministic CSV of $1 readings over $2 sensors (default 100)
    local n=$1 sensors=${2:-100} f="$WORK/input-$1.csv"
    [[ $sensors == 100 ]] || f="$WORK/input-$1-s$sensors.csv"
    [[ -s $f ]] || $PY - "$n" "$sensors" "$f" <<'PY'
import random, sys
n, sensors, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(12345)
with open(path, "w") as f:
    f.write("sensorId,timestamp,value,unit\n")
    for i in range(n):
        f.write(f"S{i % sensors},{1700000000.0 + i * 0.001!r},{r.gauss(50, 15)!r},C\n")
PY
    echo "$f"
}

sluice_rate() { # prints readings/s of one `sluice run`; extra flags pass through
    local input=$1 n=$2; shift 2
    local t0 t1 out=${OUT:-$WORK/out.jsonl}
    # Every run writes a new file, as the peers' runs and a first run do: opening the previous
    # run's 623 MB output with O_TRUNC makes ext4 free its blocks first, 0.2 s spent waiting
    # (docs/BENCHMARKS.md, "Overwriting an output"), which is not the job's cost.
    if [[ -f $out ]]; then rm -f "$out"; fi
    t0=$(date +%s.%N)
    "$BIN/sluice" run --input "$input" --workers 2 --output "$out" "$@" 2>/dev/null
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
    # The single-thread kernel is measured before every run of the job, alternating, since both
    # move with the host's speed: the share is the median of the runs' own ratios.
    n=${2:-500000} runs=${3:-3}
    input=$(make_input "$n")
    cores=$(nproc)
    : >"$WORK/h" && : >"$WORK/k" && : >"$WORK/r"
    for ((i = 1; i <= runs; i++)); do
        single=$("$BIN/bench/sluice_bench" --benchmark_filter='BM_compute_features/100/100' \
            --benchmark_min_time=1 --benchmark_format=csv 2>/dev/null |
            awk -F, '$1 ~ /BM_compute_features/ {printf "%.0f\n", $7}')
        rate=$(sluice_rate "$input" "$n" --heavy 100)
        echo "$single" >>"$WORK/k" && echo "$rate" >>"$WORK/h"
        $PY -c "print($rate / ($cores * $single))" >>"$WORK/r"
    done
    h=$(median <"$WORK/h") k=$(median <"$WORK/k") r=$(median <"$WORK/r")
    echo "heavy 100: sluice $h readings/s (runs: $(tr '\n' ' ' <"$WORK/h")); single-thread kernel $k/s (runs: $(tr '\n' ' ' <"$WORK/k"))"
    echo "ideal = $cores x the kernel's rate; sluice reaches $(awk -v r="$r" 'BEGIN {printf "%.0f", 100 * r}')% of it" \
        "(median of the runs' own shares: $(awk '{printf "%.0f%% ", 100 * $1}' "$WORK/r"))"
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
sensors)
    # The same job over inputs with 10 to 10,000 sensors, the output on tmpfs (what the sensors
    # change is the workers' history: W-1 values per sensor of each batch).
    n=${2:-2000000} runs=${3:-5}
    for sensors in 10 100 1000 10000; do
        input=$(make_input "$n" "$sensors")
        r=$(for ((i = 1; i <= runs; i++)); do
            OUT=/dev/shm/sluice-bench-out.jsonl sluice_rate "$input" "$n"
        done | median)
        echo "sensors $sensors: $r readings/s"
        rm -f /dev/shm/sluice-bench-out.jsonl
    done
    ;;
latency)
    # RATE readings/s, or `max` (the generator unthrottled: about SECONDS x 1,000,000 readings).
    # The topology runs node by node, as in a deployment, and the ingest starts only once the
    # ventilator has its sink and both workers: what is measured is a running pipeline, not its
    # start-up (readings read while the sink is still binding wait for it; `latency-run` below
    # includes that). Flags after SECONDS go to the node that owns them.
    rate=${2:?rate}; secs=${3:-10}
    if [[ $rate == max ]]; then pace=(--count $((secs * 1000000))); else pace=(--rate "$rate" --count $((rate * secs))); fi
    vflags=() iflags=() wflags=()
    set -- "${@:4}"
    while (($#)); do
        case $1 in
            --heavy | --window | --max-in-flight) vflags+=("$1" "$2") ;;
            --batch-size | --max-batch-size | --max-unacked | --flush-interval) iflags+=("$1" "$2") ;;
            --credits) wflags+=("$1" "$2") ;;
            *) echo "bench/e2e.sh latency: $1 is not routed to a node" >&2; exit 2 ;;
        esac
        shift 2
    done
    run=$(mktemp -d /tmp/sluice-latency.XXXXXX)
    pids=()
    trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -rf "$run"' EXIT
    ep="ipc://$run/"
    "$BIN/sluice-ventilator" --bind-ingest "${ep}in" --bind-workers "${ep}wk" --bind-sink "${ep}sk" \
        --expect-ingest 1 --stats-interval 0 "${vflags[@]}" 2>"$run/vent.log" &
    pids+=($!)
    "$BIN/sluice-sink" --bind "${ep}res" --ventilator "${ep}sk" --output "${OUT:-$WORK/out.jsonl}" \
        --stats-interval 0 2>"$run/sink.log" &
    sink=$!
    pids+=($sink)
    for w in 1 2; do
        "$BIN/sluice-worker" --ventilator "${ep}wk" --sink "${ep}res" --stats-interval 0 \
            "${wflags[@]}" 2>"$run/worker-$w.log" &
        pids+=($!)
    done
    for _ in $(seq 500); do # a benchmark's readiness wait (at most 5 s), not a test
        grep -q '(2 workers)' "$run/vent.log" && grep -q 'sink .* joined' "$run/vent.log" && break
        sleep 0.01
    done
    "$BIN/sluice-ingest" --ventilator "${ep}in" "${pace[@]}" --stats-interval 0 "${iflags[@]}" \
        2>"$run/ingest.log"
    wait "$sink"
    grep -E "latency|summary" "$run/sink.log"
    ;;
latency-run)
    # As `latency`, through one `sluice run` (start-up included); flags after SECONDS go to it.
    rate=${2:?rate}; secs=${3:-10}
    if [[ $rate == max ]]; then pace=(--count $((secs * 1000000))); else pace=(--rate "$rate" --count $((rate * secs))); fi
    "$BIN/sluice" run "${pace[@]}" --workers 2 --output "${OUT:-$WORK/out.jsonl}" "${@:4}" \
        --child-log-level warn 2>&1 | grep -E "latency|summary"
    ;;
bounds)
    # Each patch in bench/bounds/ makes one cost vanish (formatting, moving results to the sink)
    # and so writes wrong output: the job it times is an upper bound of what removing that cost
    # could give, not a design. HEAD and HEAD + each patch are built in worktrees (Release), then
    # run alternately (the order rotates from round to round) on the same 2 M-reading file to
    # tmpfs; medians of wall and CPU (user + system of every process) and of the ratios to HEAD's
    # run of the same round.
    runs=${2:-7} n=2000000
    input=$(make_input "$n")
    trees="$WORK/bounds"
    cleanup_bounds() {
        local t
        for t in "$trees"/*/; do [[ -d $t ]] && git worktree remove --force "$t" 2>/dev/null; done
        rm -rf "$trees"
        git worktree prune
    }
    trap cleanup_bounds EXIT
    cleanup_bounds
    names=(head)
    for patch in bench/bounds/*.patch; do names+=("$(basename "$patch" .patch)"); done
    for name in "${names[@]}"; do
        git worktree add --quiet --detach "$trees/$name" HEAD
        [[ $name == head ]] || git -C "$trees/$name" apply "$PWD/bench/bounds/$name.patch" || {
            echo "bench/bounds/$name.patch no longer applies to HEAD: update it" >&2
            exit 1
        }
        cmake -S "$trees/$name" -B "$trees/$name/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
            -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_BENCH=OFF >/dev/null
        cmake --build "$trees/$name/build" >/dev/null
    done
    # One more contender needs no patch: HEAD writing to /dev/null (the sink's write is free, the
    # results still cross to the sink), which splits free-results into its two parts.
    $PY - "$input" "$runs" "$trees" "${names[@]}" <<'PY'
import os, resource, statistics as st, subprocess, sys, time
path, runs, trees, builds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
out = "/dev/shm/sluice-bounds.jsonl"
jobs = {b: (b, out) for b in builds}
jobs["head-to-devnull"] = ("head", "/dev/null")
names = list(jobs)
wall = {n: [] for n in names}
cpu = {n: [] for n in names}
for i in range(runs):
    for n in names[i % len(names):] + names[:i % len(names)]:  # rotated: no contender always first
        build, target = jobs[n]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([f"{trees}/{build}/build/sluice", "run", "--input", path, "--workers", "2",
                        "--output", target], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        wall[n].append(time.monotonic() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[n].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if target == out:
            os.unlink(out)
for n in names:
    rw = st.median(a / b for a, b in zip(wall[n], wall[names[0]]))
    rc = st.median(a / b for a, b in zip(cpu[n], cpu[names[0]]))
    print(f"{n:18} wall {st.median(wall[n]):.3f} s  cpu {st.median(cpu[n]):.3f} s  "
          f"ratio to head: wall {rw:.3f}, cpu {rc:.3f}  (walls {' '.join(f'{w:.2f}' for w in wall[n])})")
PY
    ;;
*) echo "usage: bench/e2e.sh throughput|heavy|batch|credits|bounds|latency ..." >&2; exit 2 ;;
esac
