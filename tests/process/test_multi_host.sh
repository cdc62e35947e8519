#!/usr/bin/env bash
# Sluice across (simulated) machines: four hosts in network namespaces (../shared/tools/netns-hosts),
# real TCP between distinct addresses, endpoints by host name.
#   h1: ventilator + sink     h2, h3: workers     h4: ingest
# Part 1: a 50k-row CSV job; every process exits 0; the output is byte-identical to the same job
#         on one machine (`sluice run`, over ipc) and equals the oracle; both remote workers worked.
# Part 2: the same with CURVE on every node: output still identical; a worker on h3 with an
#         unauthorized key gets no work, the ventilator logs "refused a CURVE client" (from h3's
#         address) and its summary counts the refused CURVE clients.
# Needs root and `ip netns`; otherwise prints "SKIP: reason" and exits 0.
# Env: SLUICE_BIN (default /work/main/build-hosts), SLUICE_TESTS (<repo>/tests),
#      SLUICE_NETNS_HOSTS (the netns-hosts tool; default <repo>/../shared/tools/netns-hosts).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${SLUICE_BIN:-/work/main/build-hosts}
TESTS=${SLUICE_TESTS:-$(cd "$HERE/.." && pwd)}
REPO=$(cd "$TESTS/.." && pwd)
NH=${SLUICE_NETNS_HOSTS:-$REPO/../shared/tools/netns-hosts}
PY=${PYTHON:-python3}

skip() { echo "SKIP: $*"; exit 0; }
[[ $(id -u) == 0 ]] || skip "needs root (network namespaces)"
command -v ip >/dev/null && ip netns list >/dev/null 2>&1 || skip "'ip netns' is not available"
[[ -x $NH ]] || skip "netns-hosts not found at $NH"

# a tag and a subnet of our own, so that concurrent runs never meet
b36() { local n=$1 d=0123456789abcdefghijklmnopqrstuvwxyz s=; while ((n > 0)); do s=${d:n%36:1}$s; n=$((n / 36)); done; echo "${s:-0}"; }
tag=$(b36 $$); export SL_NETNS_TAG=${tag: -4}
export SL_NETNS_SUBNET=10.213.$(($$ % 200 + 20))

T=$(mktemp -d /tmp/sluice-hosts.XXXXXX)
declare -A PID=()
UP=0
fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do echo "--- ${f##*/}"; tail -3 "$f" | cut -c1-300; done >&2; exit 1; }
cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    for p in "${PID[@]}"; do wait "$p" 2>/dev/null || true; done
    [[ $UP == 1 ]] && "$NH" down || true
    rm -rf "$T"
    exit "$rc"
}
trap cleanup EXIT

# on HOST NAME CMD... : run CMD on HOST in the background, stderr to $T/NAME.log
# (netns-hosts exec exec()s all the way down, so $! is CMD's own PID)
on() { local h=$1 n=$2; shift 2; "$NH" exec "$h" "$@" >/dev/null 2>"$T/$n.log" & PID[$n]=$!; }
wait_line() { (set +o pipefail; timeout 20 tail -n +1 -F "$T/$1.log" 2>/dev/null | grep -m1 -E -- "$2") || fail "$1: no line matching '$2'"; }
finish() {
    local n=$1 p=${PID[$1]} st=0
    timeout 90 tail --pid="$p" -f /dev/null || fail "$n did not exit"
    wait "$p" || st=$?
    unset "PID[$n]"
    [[ $st == 0 ]] || fail "$n exited $st"
}
stop() {
    local p=${PID[$1]}
    kill -TERM "$p" 2>/dev/null || true
    timeout 20 tail --pid="$p" -f /dev/null || kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "PID[$1]"
}
batches_of() { sed -nE 's/.*computed ([0-9]+) batches.*/\1/p' "$T/$1.log"; }

# ---- input, oracle and the single-machine run -------------------------------------------------
"$PY" "$TESTS/process/make_input.py" --rows 50000 --sensors 60 --seed 17 --format csv --bad-every 113 \
    --constant-sensor --calibration-output "$T/cal.csv" --output "$T/input.csv" 2>/dev/null
"$PY" "$TESTS/process/reference.py" --input "$T/input.csv" --format csv --window 20 \
    --calibration "$T/cal.csv" --output "$T/expected.jsonl" 2>/dev/null
JOB=(--expect-ingest 1 --window 20 --calibration "$T/cal.csv")
Q=(--stats-interval 0)
"$BIN/sluice" run --input "$T/input.csv" --window 20 --calibration "$T/cal.csv" --workers 2 \
    --output "$T/single.jsonl" "${Q[@]}" >/dev/null 2>"$T/single.log" || fail "sluice run failed"
"$PY" "$TESTS/process/compare.py" "$T/expected.jsonl" "$T/single.jsonl" >/dev/null || fail "the single-machine run differs from the oracle"
echo "[$SECONDS s] single machine: $(wc -l < "$T/single.jsonl") records, equal to the oracle"

UP=1   # from here on the trap runs `netns-hosts down`, even if `up` fails half-way
"$NH" up 4 >/dev/null
H1=$("$NH" addr h1); H3=$("$NH" addr h3)

# run_job RUN [SERVER KEYS...] [-- CLIENT KEYS...] : the whole topology across the hosts, one job;
# writes $T/RUN.jsonl; with INTRUDER set, an unauthorized worker on h3 comes first
run_job() {
    local r=$1; shift
    local srv=() cli=()
    while [[ $# -gt 0 && $1 != -- ]]; do srv+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift && cli=("$@")
    on h1 "$r-vent" "$BIN/sluice-ventilator" "${srv[@]}" "${JOB[@]}" "${Q[@]}"
    wait_line "$r-vent" 'ingest on tcp://' >/dev/null
    local sinkkeys=()
    [[ ${#srv[@]} -gt 0 ]] && sinkkeys=("${srv[@]}" --curve-server-public "$T/keys/server.public")
    on h1 "$r-sink" "$BIN/sluice-sink" "${sinkkeys[@]}" "${Q[@]}" --ventilator tcp://localhost:5560 --output "$T/$r.jsonl"
    wait_line "$r-sink" 'results on tcp://' >/dev/null
    if [[ -n ${INTRUDER:-} ]]; then   # first, so that it is there before any work exists
        on h3 "$r-intruder" "$BIN/sluice-worker" "${INTRUDER_KEYS[@]}" "${Q[@]}" --name "$r-intruder" \
            --ventilator tcp://h1:5558 --sink tcp://h1:5559
        local line
        line=$(wait_line "$r-vent" 'refused a CURVE client')
        [[ $line == *" at $H3: "* ]] || fail "refusal not from h3 ($H3): $line"
    fi
    on h2 "$r-w2" "$BIN/sluice-worker" "${cli[@]}" "${Q[@]}" --name "$r-w2" --ventilator tcp://h1:5558 --sink tcp://h1:5559
    on h3 "$r-w3" "$BIN/sluice-worker" "${cli[@]}" "${Q[@]}" --name "$r-w3" --ventilator "tcp://$H1:5558" --sink tcp://h1:5559
    wait_line "$r-vent" "worker $r-w2 joined" >/dev/null
    wait_line "$r-vent" "worker $r-w3 joined" >/dev/null
    on h4 "$r-in" "$BIN/sluice-ingest" "${cli[@]}" "${Q[@]}" --ventilator tcp://h1:5557 --input "$T/input.csv"
    local n
    for n in sink vent in w2 w3; do finish "$r-$n"; done
    for n in w2 w3; do
        [[ $(batches_of "$r-$n") -gt 0 ]] || fail "$r: worker $n on $n did no work"
    done
}

# ---- part 1: plain TCP across the hosts -------------------------------------------------------
# (w3 connects to the ventilator by address, w2 and the ingest by name)
run_job plain
cmp "$T/single.jsonl" "$T/plain.jsonl" || fail "the multi-host output differs from the single-machine run"
echo "[$SECONDS s] part 1: 4 hosts, output byte-identical to one machine (w2 $(batches_of plain-w2), w3 $(batches_of plain-w3) batches)"

# ---- part 2: CURVE across the hosts, and an unauthorized worker on h3 ----------------------------
"$BIN/sluice" keygen --name server --dir "$T/keys" >/dev/null
"$BIN/sluice" keygen --name client --dir "$T/keys" >/dev/null
"$BIN/sluice" keygen --name intruder --dir "$T/other" >/dev/null
mkdir "$T/auth" && cp "$T/keys/client.public" "$T/auth/"
INTRUDER=1
INTRUDER_KEYS=(--curve-secret "$T/other/intruder.secret" --curve-server-public "$T/keys/server.public")
run_job curve --curve-secret "$T/keys/server.secret" --curve-authorized "$T/auth" \
    -- --curve-secret "$T/keys/client.secret" --curve-server-public "$T/keys/server.public"
stop curve-intruder
cmp "$T/single.jsonl" "$T/curve.jsonl" || fail "the CURVE multi-host output differs"
! grep -q 'curve-intruder' "$T/curve-vent.log" || fail "the ventilator took the unauthorized worker"
[[ $(batches_of curve-intruder) == 0 ]] || fail "the unauthorized worker computed: $(grep summary "$T/curve-intruder.log")"
summary=$(grep 'summary:' "$T/curve-vent.log") || fail "no ventilator summary"
refused=$(sed -nE 's/.*refused CURVE clients?[^0-9]*([0-9]+).*/\1/p' <<<"$summary")
[[ -n $refused && $refused -ge 1 ]] || fail "the ventilator's summary does not count refused CURVE clients: $summary"
echo "[$SECONDS s] part 2: CURVE on 4 hosts, output identical; h3's unauthorized worker refused ($refused) and idle"
echo "test_multi_host: PASS"
