#!/usr/bin/env bash
# Side by side: alternating runs of the same `sluice run` with two or more builds, the order of
# the contenders rotating from round to round so that the machine's drift hits each alike.
# Prints each build's median wall and CPU time (user + sys of every process) and the median of
# its per-round ratios to the first build's run of the same round.
#
#   bench/ab.sh ROUNDS BINDIR0 BINDIR1 [BINDIR...]
#   env: IN (input CSV, default /tmp/sluice-bench/input-2000000.csv),
#        OUT (output file, default /dev/shm/sluice-ab.jsonl), FLAGS (more `sluice run` flags)
# e.g. git worktree add /tmp/base <rev>, a Release build there, then
#   bench/ab.sh 8 /tmp/base/build-bench build-bench
set -euo pipefail
rounds=$1
shift
IN=${IN:-/tmp/sluice-bench/input-2000000.csv}
OUT=${OUT:-/dev/shm/sluice-ab.jsonl}
bins=("$@")
k=${#bins[@]}
((k >= 2)) || { echo "usage: bench/ab.sh ROUNDS BINDIR0 BINDIR1 [BINDIR...]" >&2; exit 2; }
[[ $(printf '%s\n' "${bins[@]}" | sort -u | wc -l) == "$k" ]] ||
    { echo "bench/ab.sh: each build directory once" >&2; exit 2; }
times=$(mktemp)
trap 'rm -f "$times" "$OUT"' EXIT
declare -A wall cpu
for ((i = 0; i < rounds; i++)); do
    for ((j = 0; j < k; j++)); do
        b=${bins[$(((i + j) % k))]}
        rm -f "$OUT"
        # shellcheck disable=SC2086 # FLAGS is a list of flags
        /usr/bin/time -o "$times" -f "%e %U %S" "$b/sluice" run --input "$IN" --workers 2 \
            --output "$OUT" ${FLAGS:-} >/dev/null 2>&1
        read -r w u s <"$times"
        wall[$b]+="$w "
        cpu[$b]+="$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}') "
    done
done
for b in "${bins[@]}"; do
    python3 - "$b" "${wall[$b]}" "${cpu[$b]}" "${wall[${bins[0]}]}" "${cpu[${bins[0]}]}" <<'PY'
import statistics as st
import sys
name = sys.argv[1]
w, c, w0, c0 = (list(map(float, a.split())) for a in sys.argv[2:])
rw = st.median(a / b for a, b in zip(w, w0))
rc = st.median(a / b for a, b in zip(c, c0))
print(f"{name}: wall median {st.median(w):.3f} s, CPU median {st.median(c):.3f} s; "
      f"paired ratio to the first: wall {rw:.3f}, CPU {rc:.3f}; walls {w}")
PY
done
