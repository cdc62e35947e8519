#!/usr/bin/env bash
# Regression (SPEC §7): a worker that joins and is SIGKILLed before the sink connects. When the
# sink joins, the ventilator configures every known worker; the dead one is unreachable and must
# be forgotten without disturbing the others (this once invalidated the iteration and hung the
# ventilator; under AddressSanitizer it is a use-after-free). The job then completes normally.
source "$(dirname "$0")/lib.sh"

ep="ipc://$T/d"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" --bind-workers "$ep-workers" \
    --bind-sink "$ep-sink" --expect-ingest 1 --stats-interval 0
vent=$LAST_PID
for w in doomed1 keeper doomed2; do
    start_bg "$w" "$SLUICE_BIN/sluice-worker" --name "$w" --ventilator "$ep-workers" --sink "$ep-results" \
        --stats-interval 0
    declare "pid_$w=$LAST_PID"
done
wait_workers ventilator 3 "$vent"
# Kill the worker processes themselves: start_bg runs each under `timeout`, whose child they are.
for w in doomed1 doomed2; do
    wrapper=pid_$w
    p=$(pgrep -P "${!wrapper}")
    [[ -n $p && $(cat /proc/"$p"/comm) == sluice-worker ]] || fail "cannot find the process of $w"
    kill -KILL "$p"
    tail --pid="$p" -f /dev/null
done
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" --output "$T/out.jsonl" \
    --stats-interval 0
sink=$LAST_PID
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --count 20000 --stats-interval 0
ingest=$LAST_PID
expect_exit0 "$sink" "$vent" "$ingest" "$pid_keeper"
[[ $(wc -l < "$T/out.jsonl") == 20000 ]] || fail "the job did not write all 20000 records"
grep -q "worker doomed1 is unreachable\|worker doomed1 went silent" "$T/ventilator.err" ||
    fail "the ventilator never noticed the dead worker"
echo "PASS: dead workers forgotten when the sink joined; the job completed"
