#!/usr/bin/env bash
# Usage and runtime errors (SPEC §1): bad usage exits 2 with one line naming the flag; a
# runtime failure exits 1 with one line `sluice-<role>: error: <what>`; --help exits 0 and
# lists each role's main flags.
source "$(dirname "$0")/lib.sh"

# Nothing here may reach a default TCP port: every endpoint is an ipc path in $T.
vent_eps=(--bind-ingest "ipc://$T/i" --bind-workers "ipc://$T/w" --bind-sink "ipc://$T/s")
failures=0

# expect STATUS REGEX WHAT CMD...: CMD exits STATUS; its stderr is exactly one line matching
# the extended REGEX; its stdout is empty.
expect() {
    local want=$1 regex=$2 what=$3 status=0 lines
    shift 3
    timeout 20 "$@" > "$T/out" 2> "$T/err" < /dev/null || status=$?
    lines=$(count_lines "$T/err")
    if [ "$status" -ne "$want" ]; then
        echo "FAIL: $what: exit status $status, expected $want; stderr: $(head -c 300 "$T/err")" >&2
        failures=$((failures + 1))
    elif [ "$lines" -ne 1 ]; then
        echo "FAIL: $what: stderr has $lines lines, expected one:" >&2
        head -n 5 "$T/err" >&2
        failures=$((failures + 1))
    elif ! grep -Eq -- "$regex" "$T/err"; then
        echo "FAIL: $what: stderr does not match /$regex/: $(cat "$T/err")" >&2
        failures=$((failures + 1))
    elif [ -s "$T/out" ]; then
        echo "FAIL: $what: unexpected stdout: $(head -c 200 "$T/out")" >&2
        failures=$((failures + 1))
    else
        echo "ok: $what -> $status: $(cat "$T/err")"
    fi
}

# 1. An unknown flag: exit 2, one line naming the flag.
for exe in sluice-ingest sluice-ventilator sluice-worker sluice-sink; do
    expect 2 "^$exe: .*--no-such-flag" "$exe --no-such-flag" \
        "$SLUICE_BIN/$exe" --no-such-flag
done
expect 2 "^sluice: .*--no-such-flag" "sluice run --no-such-flag" \
    "$SLUICE_BIN/sluice" run --no-such-flag
expect 2 "^sluice: .*--no-such-flag" "sluice --no-such-flag" \
    "$SLUICE_BIN/sluice" --no-such-flag

# 2. Bad values: exit 2 naming the flag.
expect 2 "^sluice-ventilator: .*--window" "sluice-ventilator --window 0" \
    "$SLUICE_BIN/sluice-ventilator" "${vent_eps[@]}" --window 0
expect 2 "^sluice-sink: .*--format" "sluice-sink --format xml" \
    "$SLUICE_BIN/sluice-sink" --bind "ipc://$T/r" --ventilator "ipc://$T/s" --format xml
expect 2 "^sluice: .*--calibration" "sluice run --calibration <missing file>" \
    "$SLUICE_BIN/sluice" run --calibration "$T/no-such-calibration.csv" --count 10 --workers 1 \
    --output "$T/run-out.jsonl"
expect 2 "^sluice-ingest: error: --max-batch-size \(50\) must be at least --batch-size \(100\)" \
    "sluice-ingest --max-batch-size below --batch-size" \
    "$SLUICE_BIN/sluice-ingest" --ventilator "ipc://$T/i" --batch-size 100 --max-batch-size 50
expect 2 "^sluice: error: --max-batch-size \(50\) must be at least --batch-size \(100\)" \
    "sluice run --max-batch-size below --batch-size" \
    "$SLUICE_BIN/sluice" run --batch-size 100 --max-batch-size 50 --count 10 --workers 1 \
    --output "$T/run-out.jsonl"

# An input `sluice run` cannot read is found before any process starts (exit 2, naming the flag
# and the file), as a missing --calibration file is; `-` is stdin and always accepted.
expect 2 "^sluice: error: --input: cannot open '$T/no-such-input\.csv': No such file" \
    "sluice run --input <missing file>" \
    "$SLUICE_BIN/sluice" run --input "$T/no-such-input.csv" --workers 1 --output "$T/run-out.jsonl"
mkdir -p "$T/a-directory"
expect 2 "^sluice: error: --input: '$T/a-directory' is a directory" \
    "sluice run --input <directory>" \
    "$SLUICE_BIN/sluice" run --input "$T/a-directory" --workers 1 --output "$T/run-out.jsonl"
[ ! -e "$T/run-out.jsonl" ] || fail "sluice run started a sink although its input was unreadable"

# 3. Runtime failures: exit 1, `sluice-<role>: error: <what>`.
expect 1 "^sluice-ingest: error: .*$T/no-such-input\.csv" "sluice-ingest --input <missing file>" \
    "$SLUICE_BIN/sluice-ingest" --ventilator "ipc://$T/i" --input "$T/no-such-input.csv"
printf 'sensorId,offset,scale\nA,1,2\nB,3,0\nC,4,5\n' > "$T/zero-scale.csv"
expect 1 "^sluice-ventilator: error: .*line 3" "sluice-ventilator: calibration with scale 0" \
    "$SLUICE_BIN/sluice-ventilator" "${vent_eps[@]}" --expect-ingest 1 \
    --calibration "$T/zero-scale.csv"

# 4. --help exits 0 and lists the main flags of the role; --version exits 0.
# check_help NAME "FLAGS" CMD...
check_help() {
    local name=$1 flags=$2 status=0 flag
    shift 2
    timeout 20 "$@" > "$T/help" 2>&1 < /dev/null || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL: $name --help exited $status" >&2
        failures=$((failures + 1))
        return
    fi
    local missing=0
    for flag in $flags; do
        if ! grep -Eq -- "(^|[ ,])$flag([ =,]|\$)" "$T/help"; then
            echo "FAIL: $name --help does not mention $flag" >&2
            missing=$((missing + 1))
        fi
    done
    failures=$((failures + missing))
    if [ "$missing" -eq 0 ]; then echo "ok: $name --help lists $flags"; fi
}
check_help sluice-ingest "--ventilator --input --format --unit --dead-letter --count --sensors \
--seed --rate --batch-size --config --version" "$SLUICE_BIN/sluice-ingest" --help
check_help sluice-ventilator "--bind-ingest --bind-workers --bind-sink --expect-ingest \
--calibration --window --heavy --max-in-flight --config --version" \
    "$SLUICE_BIN/sluice-ventilator" --help
check_help sluice-worker "--ventilator --sink --credits --serve --config --version" \
    "$SLUICE_BIN/sluice-worker" --help
check_help sluice-sink "--bind --ventilator --output --format --config --version" \
    "$SLUICE_BIN/sluice-sink" --help
check_help sluice "run keygen --config --version" "$SLUICE_BIN/sluice" --help
check_help "sluice run" "--input --input-format --output --output-format --workers \
--calibration --window --heavy --count --sensors --seed --dead-letter" \
    "$SLUICE_BIN/sluice" run --help
for exe in sluice-ingest sluice-ventilator sluice-worker sluice-sink sluice; do
    status=0
    timeout 20 "$SLUICE_BIN/$exe" --version > "$T/version" 2>&1 < /dev/null || status=$?
    if [ "$status" -ne 0 ] || ! grep -Eq '[0-9]+\.[0-9]+' "$T/version"; then
        echo "FAIL: $exe --version: status $status, output $(cat "$T/version")" >&2
        failures=$((failures + 1))
    fi
done

[ "$failures" -eq 0 ] || fail "$failures usage checks failed (see above)"
