#!/usr/bin/env bash
# Guarantee (SPEC §7, GUARANTEES "Workers may fail at any moment", "Results lost in transit are
# sent again"): a worker cut off from the network mid-job loses nothing and duplicates nothing:
# the ventilator notices the silence (--worker-timeout 1), dispatches its batches again to the
# other worker, and when the link is healed the worker's late results are dropped as duplicates.
# Three simulated hosts (../shared/tools/netns-hosts, one network namespace each, real TCP):
# ventilator, sink and ingest on h1 (tcp://0.0.0.0 binds), worker A on h2, worker B on h3. Once
# the sink has written something, h2's cable is cut; once the ventilator logs that A went silent,
# it is healed. The output must equal the fault-free output; sink, ventilator, ingest and B exit 0.
# Needs root, iproute2 and the tool; otherwise prints SKIP and exits 0.
set -euo pipefail
source "$(dirname "$0")/fault_lib.sh"

NETNS=${SLUICE_NETNS_HOSTS:-$TESTS/../../shared/tools/netns-hosts}
[[ $(id -u) == 0 ]] || { echo "SKIP: needs root (network namespaces)"; exit 0; }
[[ -x $NETNS ]] || { echo "SKIP: $NETNS not found"; exit 0; }
ip netns list >/dev/null 2>&1 || { echo "SKIP: 'ip netns' is unavailable"; exit 0; }

# A tag and a subnet of our own, so that parallel runs do not clash.
export SL_NETNS_TAG="f$(($$ % 1000))"
export SL_NETNS_SUBNET="10.$((201 + $$ % 50)).$((($$ / 50) % 250 + 1))"
fault_extra_cleanup() { "$NETNS" down >/dev/null 2>&1 || true; }
if ! "$NETNS" up 3 >"$T/netns.up" 2>&1; then
    echo "SKIP: netns-hosts up failed: $(tail -n 1 "$T/netns.up")"
    exit 0
fi
cat "$T/netns.up"

COUNT=400000
JOB=(--count "$COUNT" --sensors 100)

note "fault-free reference"
reference "$T/ref.jsonl" "${JOB[@]}" --workers 2

on() { local h=$1 name=$2; shift 2; start "$name" "$NETNS" exec "$h" "$@"; }
on h1 vent "$BIN/sluice-ventilator" --bind-ingest tcp://0.0.0.0:5557 --bind-workers tcp://0.0.0.0:5558 \
    --bind-sink tcp://0.0.0.0:5560 --expect-ingest 1 --worker-timeout 1 --stats-interval 0.2
VENT=$LAST_PID
on h1 sink "$BIN/sluice-sink" --bind tcp://0.0.0.0:5559 --ventilator tcp://h1:5560 \
    --output "$T/out.jsonl" --stats-interval 0.2
SINK=$LAST_PID
# A holds each result 0.2 s (--throttle) and has more credits than B (so it is preferred by
# dispatch), so that it always holds work when its cable is cut.
on h2 worker-A "$BIN/sluice-worker" --ventilator tcp://h1:5558 --sink tcp://h1:5559 --name A \
    --heartbeat-interval 0.2 --stats-interval 0 --throttle 0.2 --credits 4
A=$LAST_PID
on h3 worker-B "$BIN/sluice-worker" --ventilator tcp://h1:5558 --sink tcp://h1:5559 --name B \
    --heartbeat-interval 0.2 --stats-interval 0 --credits 2
B=$LAST_PID
wait_workers 2
on h1 ingest "$BIN/sluice-ingest" --ventilator tcp://h1:5557 "${JOB[@]}" --rate 50000 --stats-interval 0
INGEST=$LAST_PID

wait_for_line "$T/sink.log" 'status: written [1-9]' 20 || fail "the sink wrote nothing within 20 s"
note "cut h2 (worker A)"
"$NETNS" cut h2
wait_for_line "$T/vent.log" 'worker A went silent' 10 ||
    fail "the ventilator did not notice within 10 s that worker A was cut off"
silent=$(grep -m1 'worker A went silent' "$T/vent.log")
echo "$silent"
[[ $silent =~ silent\;\ ([0-9]+)\ batches ]] && ((BASH_REMATCH[1] >= 1)) ||
    fail "worker A held no batch when it was cut off: nothing was dispatched again"
kill -0 "$INGEST" 2>/dev/null || note "warning: the input ended before the link was healed"
note "heal h2"
"$NETNS" heal h2

expect_exit sink "$SINK" 40
expect_exit ventilator "$VENT" 20
expect_exit ingest "$INGEST" 20
expect_exit "worker B" "$B" 20
cmp "$T/ref.jsonl" "$T/out.jsonl" || fail "the output differs from the fault-free output"
grep 'summary:' "$T/sink.log" | tail -n 1
grep 'summary:' "$T/vent.log" | tail -n 1
note "PASS: output identical after cutting and healing worker A's link"
