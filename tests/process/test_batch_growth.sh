#!/usr/bin/env bash
# Batches grow only while the ingest would otherwise stop reading (docs/ARCHITECTURE.md,
# "Batches"): an ingest whose --max-unacked batches are all unacknowledged keeps filling its open
# batch up to --max-batch-size, and no further; with room in its window it sends batches of
# --batch-size. A protocol-speaking stand-in for the ventilator (held_ventilator.py) takes the
# first two batches without acknowledging them and releases the stream only once the ingest has
# logged that it waits with a full batch. Checks, for --max-batch-size 400 and then 100 (no
# growth):
#  - the two batches sent before the window filled hold exactly --batch-size readings;
#  - the batch sent on release holds exactly --max-batch-size readings;
#  - every later batch holds between --batch-size and --max-batch-size readings (how many is up to
#    timing), except the last, which holds what is left;
#  - the readings that arrived, decoded independently (python3-msgpack), are the input's, in order.
source "$(dirname "$0")/lib.sh"
require_zmq_python
ROWS=5000
plain_readings "$ROWS"

# run_case MAX: one ingest of the input with --batch-size 100 and --max-batch-size MAX.
run_case() {
    local max=$1 vent ingest sizes n=0 size
    mkfifo "$T/release-$max"
    STDIN_FROM="$T/release-$max" start_bg "vent-$max" "$ZPY" "$PROC/held_ventilator.py" \
        --bind "ipc://$T/in-$max" --hold 2 --readings "$T/got-$max.txt"
    vent=$LAST_PID
    # --ack-timeout: the held batches must not be sent again while the test waits;
    # --flush-interval: no partial batch is sent for want of readings.
    start_bg "ingest-$max" "$SLUICE_BIN/sluice-ingest" --ventilator "ipc://$T/in-$max" \
        --input "$T/in.csv" --batch-size 100 --max-batch-size "$max" --max-unacked 2 \
        --ack-timeout 600 --flush-interval 600 --log-level debug --stats-interval 0
    ingest=$LAST_PID
    wait_for_line "$T/ingest-$max.err" \
        "waiting for the ventilator: 2 batches unacknowledged, the open batch holds $max readings" \
        30 "$ingest" > /dev/null
    echo release > "$T/release-$max"
    expect_exit0 "$ingest" "$vent"
    sizes=$(sed -nE 's/^batch [0-9]+ ([0-9]+)$/\1/p' "$T/vent-$max.out" | tr '\n' ' ')
    read -r -a sizes <<< "$sizes"
    ((${#sizes[@]} >= 4)) || fail "max $max: only ${#sizes[@]} batches: ${sizes[*]}"
    [[ ${sizes[0]} == 100 && ${sizes[1]} == 100 ]] ||
        fail "max $max: the batches before the window filled hold ${sizes[0]} and ${sizes[1]}"
    [[ ${sizes[2]} == "$max" ]] ||
        fail "max $max: the batch sent on release holds ${sizes[2]}, expected $max"
    for size in "${sizes[@]}"; do
        n=$((n + size))
        if ((n < ROWS)); then
            ((size >= 100 && size <= max)) ||
                fail "max $max: a batch of $size readings (sizes: ${sizes[*]})"
        fi
    done
    ((n == ROWS)) || fail "max $max: $n readings arrived, the input has $ROWS"
    cmp -s "$T/expected.txt" "$T/got-$max.txt" ||
        fail "max $max: the readings that arrived differ from the input: $(diff "$T/expected.txt" "$T/got-$max.txt" | head -5)"
    echo "max $max: ${#sizes[@]} batches (${sizes[*]:0:8} ...)"
}

run_case 400
run_case 100
echo "PASS: batches grow to --max-batch-size while the window is full, and no further"
