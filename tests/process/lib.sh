# Shared helpers for the Sluice process-level tests (sourced by test_*.sh).
#
#   SLUICE_BIN    directory of the executables (default /work/main/build-proc)
#   SLUICE_TESTS  the repository's tests/ directory (default: this file's parent)
#   PYTHON        interpreter for the oracle (default python3)
#
# Provides:
#   $T                      a private temporary directory, removed at exit
#   start_bg NAME CMD...    start CMD in the background (stdout > $T/NAME.out, stderr >
#                           $T/NAME.err; stdin from the pipe `cat $STDIN_FROM` when STDIN_FROM
#                           is set, else /dev/null); its PID is left in $LAST_PID.  Every
#                           process runs under `timeout` (PROC_TIMEOUT seconds, default 60),
#                           so no wait on it can block for ever.
#   wait_pid_exit PID       wait for a started process; prints nothing, returns its status
#                           (124 when it was stopped by its time limit)
#   expect_exit0 PID...     wait for each PID and fail unless it exited 0
#   wait_for_line FILE REGEX [TIMEOUT] [PID]
#                           block (no polling loop, no sleep) until a line of FILE matches the
#                           extended REGEX; print that line; fail after TIMEOUT seconds
#                           (default 30) or as soon as PID (if given) has exited without it
#   fail MESSAGE            print FAIL with the test's name and the logs, exit 1
#   require_zmq_python, plain_readings ROWS
#                           for tests against the stand-in ventilator (held_ventilator.py)
# A trap kills (by PID: TERM, then KILL after 2 s) and reaps every started process that is
# still running, then removes $T.

set -euo pipefail

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SLUICE_BIN="${SLUICE_BIN:-/work/main/build-proc}"
SLUICE_TESTS="${SLUICE_TESTS:-$(dirname "$LIB_DIR")}"
PROC="$SLUICE_TESTS/process"
PY="${PYTHON:-python3}"
PROC_TIMEOUT="${PROC_TIMEOUT:-60}"
TEST_NAME="$(basename "$0" .sh)"

# Flags set in the caller's environment (SLUICE_WINDOW=...) must not leak into the processes.
for var in $(compgen -e); do
    case $var in
        SLUICE_BIN | SLUICE_TESTS) ;;
        SLUICE_*) unset "$var" ;;
    esac
done

for exe in sluice-ingest sluice-ventilator sluice-worker sluice-sink sluice; do
    if [ ! -x "$SLUICE_BIN/$exe" ]; then
        echo "FAIL [$TEST_NAME]: $SLUICE_BIN/$exe is missing (set SLUICE_BIN)" >&2
        exit 1
    fi
done

T="$(mktemp -d "${TMPDIR:-/tmp}/sluice-$TEST_NAME.XXXXXX")"
STARTED_PIDS=()          # every PID start_bg returned
declare -A PID_NAME=()   # PID -> NAME
declare -A PID_DONE=()   # PID -> 1 once reaped by wait_pid_exit
LAST_PID=

dump_logs() {
    local f
    for f in "$T"/*.err; do
        [ -s "$f" ] || continue
        echo "----- $(basename "$f") (last 15 lines)" >&2
        tail -n 15 "$f" >&2
    done
}

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    dump_logs
    exit 1
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED_PIDS[@]}"; do
        [ -n "${PID_DONE[$pid]:-}" ] && continue
        # The PID is a `timeout` process: it forwards TERM to its command (and the command's
        # own children) and sends KILL 2 s later if they are still there.
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        [ -n "${PID_DONE[$pid]:-}" ] && continue
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$T"
    if [ "$rc" -eq 0 ]; then
        echo "PASS [$TEST_NAME]"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "FAIL [$TEST_NAME]: interrupted" >&2; exit 130' INT TERM

# start_bg NAME CMD [ARG...]
start_bg() {
    local name=$1
    shift
    if [ -n "${STDIN_FROM:-}" ]; then
        timeout -k 2 "$PROC_TIMEOUT" "$@" > "$T/$name.out" 2> "$T/$name.err" \
            < <(cat -- "$STDIN_FROM") &
    else
        timeout -k 2 "$PROC_TIMEOUT" "$@" > "$T/$name.out" 2> "$T/$name.err" < /dev/null &
    fi
    LAST_PID=$!
    STARTED_PIDS+=("$LAST_PID")
    PID_NAME[$LAST_PID]=$name
}

# wait_pid_exit PID: returns the exit status of a process started by start_bg.
wait_pid_exit() {
    local pid=$1 status=0
    wait "$pid" || status=$?
    PID_DONE[$pid]=1
    return "$status"
}

# expect_exit0 PID...: every PID must exit 0.
expect_exit0() {
    local pid status name
    for pid in "$@"; do
        status=0
        wait_pid_exit "$pid" || status=$?
        name=${PID_NAME[$pid]:-pid $pid}
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            fail "$name (pid $pid) did not exit within ${PROC_TIMEOUT}s (status $status)"
        elif [ "$status" -ne 0 ]; then
            fail "$name (pid $pid) exited with status $status, expected 0"
        fi
    done
}

# wait_for_line FILE REGEX [TIMEOUT] [PID]: print the first line of FILE matching REGEX.
wait_for_line() {
    local file=$1 regex=$2 limit=${3:-30} pid=${4:-} line fd tail_pid found=
    local pid_opt=()
    [ -n "$pid" ] && pid_opt=(--pid="$pid")
    exec {fd}< <(exec timeout "$limit" tail -n +1 -F "${pid_opt[@]}" -- "$file" 2> /dev/null)
    tail_pid=$!
    while IFS= read -r -u "$fd" line; do
        if [[ $line =~ $regex ]]; then
            found=1
            break
        fi
    done
    kill -TERM "$tail_pid" 2> /dev/null || true
    exec {fd}<&-
    wait "$tail_pid" 2> /dev/null || true
    if [ -z "$found" ]; then
        fail "no line matching /$regex/ in $(basename "$file") within ${limit}s${pid:+ (or pid $pid exited first)}"
    fi
    printf '%s\n' "$line"
}

# wait_workers NAME N PID: the ventilator started as NAME (pid PID) has N workers.  Tests wait
# for this before starting the input, so that every worker takes part in the job (a short job
# can otherwise end before a late worker has joined, and that worker then waits for a
# ventilator for ever).
wait_workers() {
    wait_for_line "$T/$1.err" "\\($2 workers\\)" 30 "$3" > /dev/null
}

# Oracle helpers ---------------------------------------------------------------------------

# make_input ARGS...: make_input.py with its summary line kept in $T/make_input.log
make_input() {
    "$PY" "$PROC/make_input.py" "$@" 2>> "$T/make_input.log" \
        || fail "make_input.py $* failed: $(cat "$T/make_input.log")"
}

# reference ARGS...: reference.py; its `valid=N invalid=M` line is left in REF_VALID/REF_INVALID
reference() {
    local log="$T/reference.$RANDOM.log"
    "$PY" "$PROC/reference.py" "$@" 2> "$log" || fail "reference.py $* failed: $(cat "$log")"
    REF_VALID=$(sed -n 's/^valid=\([0-9]*\) invalid=\([0-9]*\)$/\1/p' "$log")
    REF_INVALID=$(sed -n 's/^valid=\([0-9]*\) invalid=\([0-9]*\)$/\2/p' "$log")
    [ -n "$REF_VALID" ] || fail "reference.py printed no summary: $(cat "$log")"
}

# compare EXPECTED ACTUAL [--format F]: compare.py, failing the test on a mismatch
compare() {
    local out
    out=$("$PY" "$PROC/compare.py" "$@" 2>&1) || fail "compare.py $* reports:
$out"
    echo "$out"
}

# assert_same FILE1 FILE2 WHAT: byte-identical files
assert_same() {
    cmp -- "$1" "$2" > /dev/null 2>&1 || fail "$3: $(cmp -- "$1" "$2" 2>&1 | head -n 1)"
}

# count_lines FILE: number of newline-terminated lines
count_lines() {
    wc -l < "$1" | tr -d ' '
}

# Stand-in ventilator helpers (held_ventilator.py) -------------------------------------------

# ZPY: Debian's python3, which has python3-zmq and python3-msgpack (scripts/setup.sh).
ZPY=/usr/bin/python3
require_zmq_python() {
    "$ZPY" -c 'import zmq, msgpack' 2> /dev/null ||
        fail "$ZPY cannot import zmq and msgpack (install python3-zmq python3-msgpack)"
}

# plain_readings ROWS: $T/in.csv with ROWS readings over 7 sensors, and $T/expected.txt with the
# same readings as held_ventilator.py writes what it received (Python's repr of the doubles).
plain_readings() {
    "$PY" - "$T/in.csv" "$T/expected.txt" "$1" << 'EOF'
import sys
rows = int(sys.argv[3])
with open(sys.argv[1], "w") as csv, open(sys.argv[2], "w") as expected:
    csv.write("sensorId,timestamp,value,unit\n")
    for i in range(rows):
        sensor, ts, value = "S%d" % (i % 7), 1.7e9 + i, i * 0.25 - 300
        csv.write("%s,%r,%r,C\n" % (sensor, ts, value))
        expected.write("%s,%r,%r,C\n" % (sensor, ts, value))
EOF
}
