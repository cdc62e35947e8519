#!/usr/bin/env bash
# Memory over a long job: runs `sluice run` on the generator for RECORDS readings (default
# 100,000,000) with the output to /dev/null and samples every process's resident set size
# (VmRSS, from /proc) every PERIOD seconds (default 5). Prints, per process, the RSS after a
# warm-up (the first minute, or the first fifth of a shorter job), the largest, and the last
# sample, so a flat line is visible at a glance.
#
#   bench/rss.sh [RECORDS] [PERIOD]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SLUICE_BIN:-build}
n=${1:-100000000} period=${2:-5}
log=$(mktemp /tmp/sluice-rss.XXXXXX)
trap 'rm -f "$log"' EXIT

"$BIN/sluice" run --count "$n" --sensors 1000 --workers 2 --output /dev/null \
    --child-log-level warn 2>/dev/null &
launcher=$!
start=$SECONDS
# The children are found by their parent's PID (the launcher's), never by name.
while kill -0 "$launcher" 2>/dev/null; do
    for pid in $(ps -o pid= --ppid "$launcher"); do
        name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
        [[ -n $rss ]] && echo "$((SECONDS - start)) $pid $name $rss" >>"$log"
    done
    sleep "$period" # a sampling period, not a synchronisation
done
wait "$launcher"
took=$((SECONDS - start))
warm=$((took / 5 < 60 ? took / 5 : 60))
echo "job of $n readings took $took s; RSS in MiB per process:"
awk -v warm="$warm" '{ key = $3 "[" $2 "]"
       if (!(key in first) && $1 >= warm) first[key] = $4
       if ($4 > max[key]) max[key] = $4
       last[key] = $4 }
     END { for (k in max) printf "  %-28s after %2d s %7.1f   max %7.1f   last %7.1f\n",
           k, warm, first[k] / 1024, max[k] / 1024, last[k] / 1024 }' "$log" | sort
