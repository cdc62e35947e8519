# shellcheck shell=bash
# Helpers for the fault-injection process tests (tests/process/test_fault_*.sh).
# Source it after `set -euo pipefail`. It gives:
#   $BIN   the executables (SLUICE_BIN, default /work/main/build-fault)
#   $TESTS the repository's tests/ directory (SLUICE_TESTS)
#   $T     a private mktemp -d directory, removed at exit (kept with KEEP=1 or on failure
#          with KEEP_ON_FAIL=1); $EP = "ipc://$T" for private endpoints
#   start NAME CMD...      run CMD in the background, stderr appended to $T/NAME.log; its PID
#                          is in $LAST_PID and is killed (SIGCONT, then SIGKILL) by the exit trap
#                          unless it was reaped by wait_exit
#   wait_for_line FILE ERE SECS     block until a line of FILE matches ERE (fails after SECS)
#   wait_for_lines FILE ERE N SECS  block until N lines of FILE match ERE
#   wait_exit PID SECS     block until PID exits (at most SECS); sets EXIT_RC (124 if it did not)
#   expect_exit NAME PID SECS [RC]  wait_exit and fail unless the status is RC (default 0)
#   reference FILE ARGS... the fault-free output of a job: `sluice run ARGS --output FILE`
#   sample_hwm PID...      start a background sampler recording each PID's VmHWM (kB) in
#                          $T/hwm.PID (the largest value seen; VmHWM itself only grows)
#   fail MSG               print MSG and the tails of the logs, exit 1
#   $SANITIZED             1 when the executables are built with AddressSanitizer
# No sleep here is used to wait for a condition: waiting blocks on the condition itself
# (tail -F | grep -m1, tail --pid, wait); the only sleeps are the sampler's period.

BIN=${SLUICE_BIN:-/work/main/build-fault}
TESTS=${SLUICE_TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fault.XXXXXX")
EP="ipc://$T"
LAST_PID=
EXIT_RC=
declare -A FAULT_ALIVE=()   # PIDs started and not yet reaped
declare -a FAULT_ORDER=()   # in start order, so cleanup kills the newest first

for exe in sluice sluice-ingest sluice-ventilator sluice-worker sluice-sink; do
    [[ -x $BIN/$exe ]] || { echo "FAIL: $BIN/$exe is missing (set SLUICE_BIN)" >&2; exit 1; }
done

# 1 when the executables are built with AddressSanitizer: they compute several times slower, so
# tests scale their job sizes and bounds (never the meaning of their checks) by it.
SANITIZED=0
# (Not `ldd | grep -q`: under pipefail, grep leaving early can fail the pipeline with SIGPIPE.)
if [[ $(ldd "$BIN/sluice-worker") == *libasan* ]]; then SANITIZED=1; fi

note() { echo "[$(date +%T.%3N)] $*"; }

dump_logs() {
    local f
    for f in "$T"/*.log; do
        [[ -e $f ]] || continue
        echo "---- ${f##*/} (last 15 lines) ----" >&2
        tail -n 15 "$f" >&2
    done
}

fail() {
    echo "FAIL: $*" >&2
    dump_logs
    exit 1
}

start() {
    local name=$1
    shift
    "$@" 2>>"$T/$name.log" &
    LAST_PID=$!
    FAULT_ALIVE[$LAST_PID]=1
    FAULT_ORDER+=("$LAST_PID")
}

fault_cleanup() {
    local rc=$? i p
    trap - EXIT INT TERM
    for ((i = ${#FAULT_ORDER[@]} - 1; i >= 0; i--)); do
        p=${FAULT_ORDER[i]}
        [[ -n ${FAULT_ALIVE[$p]:-} ]] || continue
        kill -CONT "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${!FAULT_ALIVE[@]}"; do wait "$p" 2>/dev/null || true; done
    if declare -F fault_extra_cleanup >/dev/null; then fault_extra_cleanup || true; fi
    if [[ ${KEEP:-0} == 1 || ($rc != 0 && ${KEEP_ON_FAIL:-0} == 1) ]]; then
        echo "kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap fault_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# `tail` ends on its own once grep has its match (coreutils >= 8.28 notices the closed pipe);
# `timeout` bounds the wait. The `|| true` keeps tail's SIGPIPE/timeout status out of pipefail.
wait_for_line() {
    local file=$1 re=$2 secs=${3:-30}
    { timeout "$secs" tail -n +1 -F "$file" 2>/dev/null || true; } | grep -q -m1 -E -- "$re"
}

wait_for_lines() {
    local file=$1 re=$2 n=$3 secs=${4:-30} got
    got=$({ timeout "$secs" tail -n +1 -F "$file" 2>/dev/null || true; } | grep -m"$n" -E -- "$re" | wc -l)
    [[ $got -ge $n ]]
}

wait_exit() {
    local pid=$1 secs=$2
    EXIT_RC=124
    timeout "$secs" tail -s 0.1 --pid="$pid" -f /dev/null || true
    if ps -o stat= -p "$pid" 2>/dev/null | grep -qv Z; then
        return 0 # still running: EXIT_RC stays 124
    fi
    EXIT_RC=0
    wait "$pid" 2>/dev/null || EXIT_RC=$?
    unset "FAULT_ALIVE[$pid]"
}

expect_exit() {
    local name=$1 pid=$2 secs=$3 want=${4:-0}
    wait_exit "$pid" "$secs"
    [[ $EXIT_RC == 124 ]] && fail "$name (pid $pid) did not exit within $secs s"
    [[ $EXIT_RC == "$want" ]] || fail "$name (pid $pid) exited with status $EXIT_RC, expected $want"
    return 0
}

reference() {
    local out=$1
    shift
    timeout 120 "$BIN/sluice" run "$@" --output "$out" 2>"$T/reference.log" ||
        fail "the fault-free reference run failed: sluice run $* (status $?)"
    [[ -s $out ]] || fail "the fault-free reference output is empty"
}

sample_hwm() {
    local pids=("$@")
    (
        while :; do
            for p in "${pids[@]}"; do
                v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null) || v=
                [[ -n $v ]] && echo "$v" >"$T/hwm.$p"
            done
            sleep 0.05 # sampling period (VmHWM is a peak: the last value read is the largest)
        done
    ) &
    FAULT_ALIVE[$!]=1
    FAULT_ORDER+=("$!")
    SAMPLER_PID=$!
}

# "whole records": empty, or ends with a newline
whole_records() { [[ ! -s $1 ]] || [[ $(tail -c 1 "$1" | od -An -c | tr -d ' ') == '\n' ]]; }

# FILE is a prefix of REF
is_prefix() { cmp -s -n "$(stat -c %s "$1")" "$1" "$2"; }

# The value after a label in the last summary line of a log: field_of LOG 'duplicates dropped'
field_of() {
    grep 'summary:' "$1" | tail -n 1 | grep -oE "$2 [0-9]+" | tail -n 1 | grep -oE '[0-9]+$'
}

# One local topology over private ipc:// endpoints. Extra flags follow the defaults.
start_vent() { start vent "$BIN/sluice-ventilator" --bind-ingest "$EP/in" --bind-workers "$EP/wk" \
    --bind-sink "$EP/sk" --expect-ingest 1 --stats-interval 0.2 "$@"; VENT=$LAST_PID; }
start_sink() { start sink "$BIN/sluice-sink" --bind "$EP/res" --ventilator "$EP/sk" \
    --stats-interval 0.2 "$@"; SINK=$LAST_PID; }
start_worker() { local name=$1; shift; start "worker-$name" "$BIN/sluice-worker" --ventilator "$EP/wk" \
    --sink "$EP/res" --name "$name" --heartbeat-interval 0.2 "$@"; }
start_ingest() { start ingest "$BIN/sluice-ingest" --ventilator "$EP/in" "$@"; INGEST=$LAST_PID; }
# Block until the ventilator has N workers (so a short job cannot end before one has joined).
wait_workers() { wait_for_line "$T/vent.log" "\\($1 workers\\)" "${2:-20}" ||
    fail "the ventilator never had $1 workers"; }
