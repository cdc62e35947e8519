#!/usr/bin/env bash
# CURVE on one host over tcp://127.0.0.1 with ports chosen by the kernel (port 0, discovered from
# the logs):
#   (a) every node with keys: the output is byte-identical to the same job without keys (and
#       equals the oracle);
#   (b) an ingest with an unauthorized key is refused (the ventilator logs and counts it) and none
#       of its readings appear; the authorized ingest then completes the job;
#   (c) a worker with no CURVE keys at all gets no work; an authorized worker completes the job
#       and the output is unchanged.
# Env: SLUICE_BIN (executables, default /work/main/build-hosts), SLUICE_TESTS (<repo>/tests).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${SLUICE_BIN:-/work/main/build-hosts}
TESTS=${SLUICE_TESTS:-$(cd "$HERE/.." && pwd)}
PY=${PYTHON:-python3}
T=$(mktemp -d /tmp/sluice-curve.XXXXXX)
declare -A PID=()

fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do echo "--- ${f##*/}"; tail -3 "$f" | cut -c1-300; done >&2; exit 1; }
cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

# start NAME CMD... : run CMD in the background, stderr to $T/NAME.log
start() { local n=$1; shift; "$@" >/dev/null 2>"$T/$n.log" & PID[$n]=$!; }
# wait_line NAME REGEX : block (at most 20 s) until NAME's log has a line matching REGEX; print it
wait_line() { (set +o pipefail; timeout 20 tail -n +1 -F "$T/$1.log" 2>/dev/null | grep -m1 -E -- "$2") || fail "$1: no line matching '$2'"; }
# finish NAME : wait (at most 60 s) for NAME to exit; fail unless its status is 0
finish() {
    local n=$1 p=${PID[$1]} st=0
    timeout 60 tail --pid="$p" -f /dev/null || fail "$n did not exit"
    wait "$p" || st=$?
    unset "PID[$n]"
    [[ $st == 0 ]] || fail "$n exited $st"
}
# stop NAME : end a process that never gets a job end (SIGTERM, then wait for it)
stop() {
    local p=${PID[$1]}
    kill -TERM "$p" 2>/dev/null || true
    timeout 20 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "PID[$1]"
}

# ---- keys and input -------------------------------------------------------------------------
"$BIN/sluice" keygen --name server --dir "$T/keys" >/dev/null
"$BIN/sluice" keygen --name client --dir "$T/keys" >/dev/null
"$BIN/sluice" keygen --name intruder --dir "$T/other" >/dev/null
[[ -s $T/keys/server.public && -s $T/keys/server.secret && -s $T/keys/client.public ]] || fail "keygen wrote no keys"
mkdir "$T/auth" && cp "$T/keys/client.public" "$T/auth/"
SRV=(--curve-secret "$T/keys/server.secret" --curve-authorized "$T/auth")
CLI=(--curve-secret "$T/keys/client.secret" --curve-server-public "$T/keys/server.public")
BAD=(--curve-secret "$T/other/intruder.secret" --curve-server-public "$T/keys/server.public")

"$PY" "$TESTS/process/make_input.py" --rows 20000 --sensors 30 --seed 3 --format csv --bad-every 101 \
    --calibration-output "$T/cal.csv" --output "$T/input.csv" 2>/dev/null
"$PY" "$TESTS/process/reference.py" --input "$T/input.csv" --format csv --window 20 \
    --calibration "$T/cal.csv" --output "$T/expected.jsonl" 2>/dev/null
JOB=(--expect-ingest 1 --window 20 --calibration "$T/cal.csv")
Q=(--stats-interval 0)

# topology RUN SERVERKEYS... : ventilator and sink of run RUN; sets IN WO SI RE
topology() {
    local r=$1; shift
    start "$r-vent" "$BIN/sluice-ventilator" "$@" "${JOB[@]}" "${Q[@]}" \
        --bind-ingest tcp://127.0.0.1:0 --bind-workers tcp://127.0.0.1:0 --bind-sink tcp://127.0.0.1:0
    read -r IN WO SI < <(wait_line "$r-vent" 'ingest on' |
        sed -E 's/.*ingest on ([^,]*), workers on ([^,]*), sink on ([^;]*);.*/\1 \2 \3/')
    local sinkkeys=()
    [[ $# -gt 0 ]] && sinkkeys=("$@" --curve-server-public "$T/keys/server.public")
    start "$r-sink" "$BIN/sluice-sink" "${sinkkeys[@]}" "${Q[@]}" --bind tcp://127.0.0.1:0 \
        --ventilator "$SI" --output "$T/$r.jsonl"
    RE=$(wait_line "$r-sink" 'results on' | sed -E 's/.*results on ([^,]*),.*/\1/')
    [[ $IN == tcp://127.0.0.1:* && $WO == tcp://127.0.0.1:* && $SI == tcp://127.0.0.1:* && $RE == tcp://127.0.0.1:* ]] ||
        fail "endpoints not found: '$IN' '$WO' '$SI' '$RE'"
}
worker() { local n=$1; shift; start "$n" "$BIN/sluice-worker" "$@" "${Q[@]}" --name "$n" --ventilator "$WO" --sink "$RE"; }
ingest() { local n=$1; shift; start "$n" "$BIN/sluice-ingest" "$@" "${Q[@]}" --ventilator "$IN"; }
finish_job() { local n; for n in "$@"; do finish "$n"; done; }

# ---- 0. without keys ------------------------------------------------------------------------
topology plain
worker plain-w1; worker plain-w2
ingest plain-in --input "$T/input.csv"
finish_job plain-sink plain-vent plain-in plain-w1 plain-w2
"$PY" "$TESTS/process/compare.py" "$T/expected.jsonl" "$T/plain.jsonl" >/dev/null || fail "plain run differs from the oracle"
echo "[$SECONDS s] plain run: $(wc -l < "$T/plain.jsonl") records, equal to the oracle"

# ---- (a) every node with keys ---------------------------------------------------------------
topology curve "${SRV[@]}"
worker curve-w1 "${CLI[@]}"; worker curve-w2 "${CLI[@]}"
ingest curve-in "${CLI[@]}" --input "$T/input.csv"
finish_job curve-sink curve-vent curve-in curve-w1 curve-w2
cmp "$T/plain.jsonl" "$T/curve.jsonl" || fail "(a) output with CURVE differs from the output without"
! grep -q 'refused a CURVE client' "$T/curve-vent.log" || fail "(a) an authorized client was refused"
echo "[$SECONDS s] (a) CURVE on every node: output byte-identical"

# ---- (b) an ingest with an unauthorized key -------------------------------------------------
topology refin "${SRV[@]}"
worker refin-w1 "${CLI[@]}"
# its readings would be generator readings (sensors S0..S9), which the real input never has
ingest refin-bad "${BAD[@]}" --count 5000 --sensors 10
line=$(wait_line refin-vent 'refused a CURVE client')
n=$(sed -nE 's/.*\(([0-9]+) refused so far\).*/\1/p' <<<"$line")
[[ $n == 1 ]] || fail "(b) the refusal is not counted: $line"
ingest refin-in "${CLI[@]}" --input "$T/input.csv"
finish_job refin-sink refin-vent refin-in refin-w1
# it can never drain (no acknowledgement ever reaches it): no point in SIGTERM
kill -KILL "${PID[refin-bad]}"; wait "${PID[refin-bad]}" 2>/dev/null || true; unset "PID[refin-bad]"
cmp "$T/plain.jsonl" "$T/refin.jsonl" || fail "(b) output changed by the refused ingest"
! grep -q '"sensorId":"S[0-9]' "$T/refin.jsonl" || fail "(b) readings of the refused ingest were written"
grep -q 'from 1 streams' "$T/refin-vent.log" || fail "(b) the ventilator accepted more than one stream"
echo "[$SECONDS s] (b) unauthorized ingest refused and counted; output unchanged"

# ---- (c) a worker without any CURVE keys ----------------------------------------------------
topology nokey "${SRV[@]}"
worker nokey-plain                     # no keys at all: its NULL handshake cannot pass
worker nokey-w1 "${CLI[@]}"
wait_line nokey-vent 'worker nokey-w1 joined' >/dev/null
ingest nokey-in "${CLI[@]}" --input "$T/input.csv"
finish_job nokey-sink nokey-vent nokey-in nokey-w1
stop nokey-plain
cmp "$T/plain.jsonl" "$T/nokey.jsonl" || fail "(c) output changed"
! grep -q 'nokey-plain' "$T/nokey-vent.log" || fail "(c) the ventilator took the keyless worker"
grep -qE 'computed 0 batches' "$T/nokey-plain.log" || fail "(c) the keyless worker computed something: $(grep summary "$T/nokey-plain.log")"
echo "[$SECONDS s] (c) keyless worker got no work; output unchanged"
echo "test_curve: PASS"
