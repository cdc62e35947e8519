#!/usr/bin/env bash
# SPEC §7: on SIGTERM "a node stops taking new input, finishes what it holds, and exits within a
# bound". When what it holds cannot be delivered (nobody listens, or no worker or sink takes it),
# it gives up after --drain-timeout with status 1, saying how much was not delivered:
# 1. an ingest that has read its whole input and waits for a ventilator that is not there (until
#    2026-12-03 it stopped watching for SIGTERM once its input had ended, and resent its batches
#    every 2 s for ever);
# 2. a ventilator holding accepted batches with no worker and no sink (until 2026-12-03 it exited
#    0 after its drain timeout, with only a warning, as if it had finished).
# The harness's `timeout -k 2` kills a process 2 s after forwarding it the SIGTERM: that is the
# bound checked here, with --drain-timeout 0.2.
source "$(dirname "$0")/lib.sh"

# stop_and_expect_1 NAME PID: SIGTERM to PID, which must exit 1 (not be killed by the bound).
stop_and_expect_1() {
    local name=$1 pid=$2 status=0
    kill -TERM "$pid"
    wait_pid_exit "$pid" || status=$?
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        fail "$name did not stop on SIGTERM (status $status): $(tail -n 3 "$T/$name.err")"
    fi
    [ "$status" -eq 1 ] || fail "$name exited $status, expected 1: $(tail -n 3 "$T/$name.err")"
}

# 1. An ingest of 2,500 readings (three batches of 1,000, the last one partial) towards an
#    endpoint where nothing listens; SIGTERM once its input has ended.
make_input --rows 2500 --sensors 5 --seed 81 --format csv --output "$T/in.csv"
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "ipc://$T/nobody" --input "$T/in.csv" \
    --batch-size 1000 --drain-timeout 0.2 --stats-interval 0
wait_for_line "$T/ingest.err" "input ended after 2500 readings" 30 "$LAST_PID" > /dev/null
stop_and_expect_1 ingest "$LAST_PID"
grep -q "^sluice-ingest: info: stopping: delivering what is held" "$T/ingest.err" ||
    fail "the ingest did not say it was stopping: $(tail -n 3 "$T/ingest.err")"
grep -q "^sluice-ingest: error: the ventilator did not acknowledge 3 batches within --drain-timeout" \
    "$T/ingest.err" || fail "the ingest did not count its undelivered batches: $(tail -n 2 "$T/ingest.err")"
echo "ok: an ingest whose input has ended stops on SIGTERM: 3 batches undelivered, status 1"

# 2. A ventilator that accepted a stream of 5 batches, with no worker and no sink.
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "ipc://$T/i" \
    --bind-workers "ipc://$T/w" --bind-sink "ipc://$T/s" --expect-ingest 1 --drain-timeout 0.2 \
    --stats-interval 0
vent=$LAST_PID
start_bg feeder "$SLUICE_BIN/sluice-ingest" --ventilator "ipc://$T/i" --count 5000 \
    --batch-size 1000 --stats-interval 0
expect_exit0 "$LAST_PID" # its stream is accepted and acknowledged: the ingest's part is done
wait_for_line "$T/ventilator.err" "ingest stream [0-9]+ ended after 5 batches" 30 "$vent" > /dev/null
stop_and_expect_1 ventilator "$vent"
grep -q "^sluice-ventilator: error: --drain-timeout passed with 5 batches not written" \
    "$T/ventilator.err" || fail "the ventilator did not count its unwritten batches: $(tail -n 2 "$T/ventilator.err")"
echo "ok: a ventilator holding batches nobody takes stops on SIGTERM: 5 batches unwritten, status 1"
