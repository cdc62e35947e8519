#!/usr/bin/env bash
# Operating (SPEC §10, issue 7): `sluice status ENDPOINT` shows the topology from the ventilator.
# Three named workers take part in an endless job fed 30 batches of 1,000 readings; once the sink
# has written them all, the table must list every worker exactly once, their batches and records
# done must add up to the job (30 and 30,000: computed here from the ingest's flags), the stream
# must show 30 batches ended, and the sink line 30,000 records written. After one worker is killed
# (SIGKILL, by PID), the table must list the two live workers and not the dead one.
source "$(dirname "$0")/lib.sh"

count=30000 batch=1000
batches=$((count / batch))
ep="ipc://$T/s"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" --bind-workers "$ep-workers" \
    --bind-sink "$ep-sink" --metrics 127.0.0.1:0 --worker-timeout 1 --stats-interval 0
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" --output "$T/out.jsonl" \
    --stats-interval 0
declare -A worker_pid=()
for name in w-one w-two w-three; do
    start_bg "$name" "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" \
        --name "$name" --stats-interval 0
    worker_pid[$name]=$LAST_PID
done
vport=$(wait_for_line "$T/ventilator.err" "metrics on http://127.0.0.1:[0-9]+/metrics" 30 "$vent" |
    sed -E 's/.*:([0-9]+)\/metrics/\1/')
wait_workers ventilator 3 "$vent"
# Fixed batches (no growth while the window is full), so that the job has exactly $batches.
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --count "$count" --batch-size "$batch" \
    --max-batch-size "$batch" --stats-interval 0
ingest=$LAST_PID
expect_exit0 "$ingest"

# The live form, not on a terminal: one table per interval on stdout, which the waits below follow.
start_bg status "$SLUICE_BIN/sluice" status "127.0.0.1:$vport" --interval 0.2
status=$LAST_PID
wait_for_line "$T/status.out" "^sink .*, ${count:0:2},${count:2} records written" 30 "$status" > /dev/null
"$SLUICE_BIN/sluice" status "127.0.0.1:$vport" --once > "$T/table.txt" || fail "sluice status --once failed"
cat "$T/table.txt"

# worker_rows FILE: the rows of the worker table (between its header and the "(N workers)" line).
worker_rows() { awk '/^WORKER /{on=1; next} /^\([0-9]+ workers\)$/{on=0} on' "$1"; }
for name in w-one w-two w-three; do
    n=$(worker_rows "$T/table.txt" | awk -v n="$name" '$1 == n' | wc -l)
    [[ $n == 1 ]] || fail "worker $name is listed $n times in the status table"
done
read -r done_batches done_records < <(worker_rows "$T/table.txt" |
    awk '{gsub(",", "", $3); gsub(",", "", $4); b += $3; r += $4} END {print b, r}')
[[ $done_batches == "$batches" ]] || fail "workers' batches done add up to $done_batches, expected $batches"
[[ $done_records == "$count" ]] || fail "workers' records done add up to $done_records, expected $count"
grep -qE "^\(3 workers\)$" "$T/table.txt" || fail "the table does not count 3 workers"
stream=$(awk '/^STREAM /{getline; print; exit}' "$T/table.txt")
read -r _ _ s_batches s_readings s_state <<< "$stream"
[[ $s_batches == "$batches" && ${s_readings//,/} == "$count" && $s_state == ended ]] ||
    fail "the stream row reads '$stream', expected $batches batches, $count readings, ended"
[[ $(count_lines "$T/out.jsonl") == "$count" ]] || fail "the sink did not write $count records"

# A dead worker leaves the table once the ventilator presumes it dead (--worker-timeout 1).
# start_bg's PID is the `timeout` wrapper; the worker itself is its only child (by PPID).
w_two=$(ps -o pid= --ppid "${worker_pid[w-two]}" | tr -d ' ')
[[ -n $w_two ]] || fail "cannot find the process of worker w-two"
kill -KILL "$w_two"
wait_pid_exit "${worker_pid[w-two]}" 2> /dev/null || true
wait_for_line "$T/status.out" "^\(2 workers\)$" 30 "$status" > /dev/null
"$SLUICE_BIN/sluice" status "127.0.0.1:$vport" --once > "$T/table2.txt" || fail "sluice status --once failed"
worker_rows "$T/table2.txt" | awk '$1 == "w-two"' | grep -q . && fail "the dead worker w-two is still listed"
for name in w-one w-three; do
    worker_rows "$T/table2.txt" | awk -v n="$name" '$1 == n' | grep -q . || fail "live worker $name is missing"
done

# A node without a status table (the sink has --metrics too, but no topology) and a bad ENDPOINT.
"$SLUICE_BIN/sluice" status 127.0.0.1 --once 2> "$T/usage.err" && fail "a bad ENDPOINT was accepted"
grep -q "is not HOST:PORT" "$T/usage.err" || fail "no clear message for a bad ENDPOINT: $(cat "$T/usage.err")"

kill -INT "$status"
expect_exit0 "$status"

# SIGINT in the middle of a request still ends `sluice status` at once with status 0: a listener
# that accepts and never answers holds the request (whose timeouts are 2 s, as long as the
# harness's grace after a signal); the signal goes once it says it has accepted.
start_bg mute python3 -c '
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
print("accepted", flush=True)
c.recv(65536)
signal.pause()  # holds the connection open, silent, until stopped
'
mute=$LAST_PID
mport=$(wait_for_line "$T/mute.out" "^[0-9]+$" 30 "$mute")
start_bg status2 "$SLUICE_BIN/sluice" status "127.0.0.1:$mport" --once
status2=$LAST_PID
wait_for_line "$T/mute.out" "^accepted$" 30 "$status2" > /dev/null
kill -INT "$status2"
expect_exit0 "$status2"
echo "PASS: the status table lists every live worker; work done adds up to the job"
