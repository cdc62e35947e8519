#!/usr/bin/env bash
# Wall time and the peak resident set size of each node of one `sluice run`, sampled every
# 0.2 s from /proc through `ps --ppid` (the launcher's children, found by its PID, never by
# name). For one job's memory; bench/rss.sh follows a long job over time.
#
#   bench/peak_rss.sh BINDIR [sluice run flags...]
# e.g. bench/peak_rss.sh build-bench --input /tmp/sluice-bench/input-2000000-s1000.csv \
#          --workers 2 --window 1000 --output /dev/shm/o.jsonl
set -euo pipefail
bin=$1
shift
t0=$(date +%s.%N)
"$bin/sluice" run "$@" 2>/dev/null &
launcher=$!
declare -A peak
while kill -0 "$launcher" 2>/dev/null; do
    while read -r rss comm; do
        [[ -n $comm ]] && ((rss > ${peak[$comm]:-0})) && peak[$comm]=$rss
    done < <(ps -o rss=,comm= --ppid "$launcher")
    sleep 0.2 # a sampling period, not a synchronisation
done
wait "$launcher"
t1=$(date +%s.%N)
printf '%s: wall %.2f s; peak RSS' "$bin" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
for name in "${!peak[@]}"; do printf ' %s %d MiB' "$name" $((peak[$name] / 1024)); done
((${#peak[@]} > 0)) || printf ' (none sampled: the job ended within 0.2 s)'
echo
