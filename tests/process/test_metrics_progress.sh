#!/usr/bin/env bash
# Operating (SPEC §10): /metrics scraped during a job agrees with what is written — the
# ventilator's sluice_records_written (from the sink's commits, sent after each write) never
# exceeds the records already in the output file, the sink's sluice_records_total is at least
# that, and both reach the job's size; `sluice run` on a terminal (a pseudo-terminal from
# `script`) shows a progress bar with records, rate, percent and time left.
source "$(dirname "$0")/lib.sh"
command -v curl > /dev/null || fail "curl is needed"

count=300000
ep="ipc://$T/m"
start_bg ventilator "$SLUICE_BIN/sluice-ventilator" --bind-ingest "$ep-ingest" --bind-workers "$ep-workers" \
    --bind-sink "$ep-sink" --expect-ingest 1 --metrics 127.0.0.1:0 --stats-interval 0
vent=$LAST_PID
start_bg sink "$SLUICE_BIN/sluice-sink" --bind "$ep-results" --ventilator "$ep-sink" --output "$T/out.jsonl" \
    --metrics 127.0.0.1:0 --stats-interval 0
sink=$LAST_PID
start_bg worker "$SLUICE_BIN/sluice-worker" --ventilator "$ep-workers" --sink "$ep-results" --stats-interval 0
worker=$LAST_PID
vport=$(wait_for_line "$T/ventilator.err" "metrics on http://127.0.0.1:[0-9]+/metrics" 30 "$vent" | sed -E 's/.*:([0-9]+)\/metrics/\1/')
sport=$(wait_for_line "$T/sink.err" "metrics on http://127.0.0.1:[0-9]+/metrics" 30 "$sink" | sed -E 's/.*:([0-9]+)\/metrics/\1/')
wait_workers ventilator 1 "$vent"
start_bg ingest "$SLUICE_BIN/sluice-ingest" --ventilator "$ep-ingest" --count $count --rate 100000 \
    --batch-size 500 --stats-interval 0
ingest=$LAST_PID

metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"[{ ]" || $1 == n {print $2; exit}'; }
scrapes=0 max_seen=0 max_sensors=0
# The job lasts ~3 s at the paced rate: scrape as fast as curl allows until it is over.
while kill -0 "$sink" 2> /dev/null; do
    written=$(metric "$vport" sluice_records_written) || break
    sink_total=$(metric "$sport" sluice_records_total) || break
    [[ -n $written && -n $sink_total ]] || break
    lines=$(wc -l < "$T/out.jsonl")
    written=$(printf "%.0f" "$written") sink_total=$(printf "%.0f" "$sink_total")
    ((written <= lines)) || fail "ventilator reports $written written but the file holds $lines records"
    ((sink_total >= written)) || fail "sink total $sink_total is below the committed $written"
    ((written >= max_seen)) || fail "records written went backwards ($max_seen -> $written)"
    max_seen=$written
    # The ventilator's history memory: the generator's 100 sensors, each keeping its last W-1 = 49
    # values plus the values of the batches held (at most --max-in-flight 64 of 500 readings);
    # one copy per held batch, or no trimming, would exceed it.
    sensors=$(printf "%.0f" "$(metric "$vport" sluice_sensors)")
    history=$(printf "%.0f" "$(metric "$vport" sluice_history_values)")
    ((sensors <= 100)) || fail "ventilator reports $sensors sensors of the generator's 100"
    ((history <= 100 * 49 + 64 * 500)) || fail "ventilator keeps $history history values"
    max_sensors=$((sensors > max_sensors ? sensors : max_sensors))
    scrapes=$((scrapes + 1))
done
((scrapes >= 3)) || fail "only $scrapes scrapes happened during the job"
((max_seen > 0)) || fail "no progress was ever reported by /metrics"
((max_sensors == 100)) || fail "the ventilator never reported the generator's 100 sensors"
expect_exit0 "$sink" "$vent" "$worker" "$ingest"
[[ $(wc -l < "$T/out.jsonl") == "$count" ]] || fail "output does not hold $count records"
echo "metrics: $scrapes scrapes, consistent with the file (last seen $max_seen written)"

# The progress bar on a terminal.
command -v script > /dev/null || fail "script (util-linux) is needed"
script -qec "$SLUICE_BIN/sluice run --count 400000 --rate 200000 --workers 1 --output $T/bar.jsonl" /dev/null \
    > "$T/tty.txt" || fail "sluice run under a terminal failed: $(tail -c 400 "$T/tty.txt")"
tr '\r' '\n' < "$T/tty.txt" | grep -E >/dev/null '^.*\[#*\.*\] [0-9,]+ records, [0-9,]+/s, [0-9]+%, [0-9]+:[0-9]{2} left' ||
    fail "no progress bar on the terminal: $(tr '\r' '\n' < "$T/tty.txt" | tail -n 5)"
[[ $(wc -l < "$T/bar.jsonl") == 400000 ]] || fail "the run with a progress bar lost records"
echo "PASS: metrics agree with the output; progress bar shown on a terminal"
