#!/usr/bin/env bash
# Slow stage, NOT under ctest (run by .ci/run): the compose file and the image, end to end.
#
# Installs Docker and docker-compose (v1) if missing, starts a private, hermetic dockerd (own
# socket, data root and exec root; touches no host firewall; containers reach only each other),
# makes the runtime base image with debootstrap (no registry), builds the image from
# compose/Dockerfile.offline with the executables in $SLUICE_BIN, then runs a finite job:
#     docker-compose up --scale worker=3 --exit-code-from sink
# on a generated CSV and checks the sink's output against the Python oracle. Everything it
# started (containers, networks, images, the engine and its directories) is removed on exit.
#
# Environment: SLUICE_BIN (executables; default <repo>/build, as scripts/test.sh builds them),
#   SLUICE_DOCKER_CACHE (where the debootstrapped base is kept between runs; default
#   /var/cache/sluice-docker; SLUICE_DOCKER_CACHE= to rebuild it every time),
#   SLUICE_DEBIAN_MIRROR (default http://deb.debian.org/debian), SLUICE_ROWS (default 20000),
#   SLUICE_DOCKER_FULL=1: build the image from the users' compose/Dockerfile instead (compiles
#   inside the build stage; a base with its packages preinstalled stands in for the registry;
#   several minutes more).
# Needs root (it runs an engine). Exit status 0 = pass.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SLUICE_BIN:-$REPO/build}
TESTS=$REPO/tests
CACHE=${SLUICE_DOCKER_CACHE-/var/cache/sluice-docker}
MIRROR=${SLUICE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROWS=${SLUICE_ROWS:-20000}
PY=${PYTHON:-python3}
started=$SECONDS

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== [$((SECONDS - started)) s] $*"; }

[[ $(id -u) == 0 ]] || fail "needs root (it starts its own Docker engine)"
for b in sluice sluice-ingest sluice-ventilator sluice-worker sluice-sink; do
    [[ -x $BIN/$b ]] || fail "$BIN/$b not built (set SLUICE_BIN or run scripts/build.sh)"
done

# One run at a time: the engine's paths are fixed so that a crashed run's leftovers are found.
LOCK=/run/sluice-docker-test.lock
exec 9>"$LOCK"
flock -w 900 9 || fail "another test_compose.sh run holds $LOCK"

SOCK=/run/sluice-docker-test.sock
DATA_ROOT=/var/lib/sluice-docker-test
EXEC_ROOT=/run/sluice-docker-test-exec
PIDFILE=/run/sluice-docker-test.pid
export DOCKER_HOST=unix://$SOCK DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
T=$(mktemp -d /tmp/sluice-docker.XXXXXX)
PROJ=sluicetest$$
IMAGE=sluice-test:$$
BASE=sluice-base:bookworm
COMPOSE=(docker-compose -p "$PROJ" -f "$REPO/compose/docker-compose.yml")
DOCKERD_PID=

unmount_under() { # lazily unmount everything below $1, deepest first
    awk -v r="$1" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
stop_engine() { # TERM our dockerd (given PID), wait for it, then remove its directories
    local pid=$1
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        timeout 30 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # containerd and shims of this engine (their command lines name our exec root)
    local p
    for p in $(pgrep -f -- "$EXEC_ROOT" || true); do kill -KILL "$p" 2>/dev/null || true; done
    unmount_under "$EXEC_ROOT"; unmount_under "$DATA_ROOT"
    rm -rf --one-file-system "$DATA_ROOT" "$EXEC_ROOT"
    rm -f "$SOCK" "$PIDFILE"
}
cleanup() {
    local rc=$?
    set +e
    if [[ -n $DOCKERD_PID ]]; then
        "${COMPOSE[@]}" down -v --remove-orphans -t 5 >/dev/null 2>&1
        docker rmi -f "$IMAGE" >/dev/null 2>&1
        stop_engine "$DOCKERD_PID"
    fi
    rm -rf "$T"
    echo "== test_compose.sh: $([[ $rc == 0 ]] && echo PASS || echo "FAIL ($rc)") in $((SECONDS - started)) s"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. the engine ------------------------------------------------------------------------------
step "install docker.io, docker-compose, debootstrap if missing"
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q docker.io docker-compose debootstrap
fi
command -v docker >/dev/null || fail "no docker client"

step "start a hermetic dockerd on $SOCK"
# a previous run that was killed may have left its engine: end it (its PID is in our pidfile)
if [[ -s $PIDFILE ]] && grep -qs dockerd "/proc/$(cat "$PIDFILE")/cmdline"; then
    echo "stopping a leftover engine (PID $(cat "$PIDFILE"))"
    stop_engine "$(cat "$PIDFILE")"
else
    stop_engine ""
fi
: > "$T/dockerd.log"
setsid dockerd --host "unix://$SOCK" --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    </dev/null >"$T/dockerd.log" 2>&1 &
DOCKERD_PID=$!
(set +o pipefail; timeout 60 tail -n +1 -F "$T/dockerd.log" 2>/dev/null | grep -q -m1 'API listen on') ||
    { cat "$T/dockerd.log" >&2; fail "dockerd did not start"; }
docker version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'
docker-compose version --short

# ---- 2. images, without a registry --------------------------------------------------------------
# the runtime packages: those that own the shared libraries the executables link
pkgs=$(for l in $(ldd "$BIN"/sluice "$BIN"/sluice-* | awk '/=> \//{print $3}' | sort -u); do
           p=$(dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null || dpkg -S "/usr$l" 2>/dev/null) ||
               { echo "FAIL: no Debian package owns $l" >&2; exit 1; }
           echo "${p%%:*}"
       done | sort -u | paste -sd, -)
[[ -n $pkgs ]] || fail "cannot tell the executables' runtime packages"
# base_image TAG PACKAGES : a Debian 12 minbase with PACKAGES, imported as TAG (the rootfs tarball
# is kept in $CACHE, keyed by the package list, so that later runs skip debootstrap)
base_image() {
    local tag=$1 pk=$2 tar
    tar=${CACHE:+$CACHE/bookworm-minbase-$(md5sum <<<"$pk" | cut -c1-12).tar}
    if [[ -z $tar || ! -s $tar ]]; then
        rm -rf "$T/rootfs"
        debootstrap --variant=minbase --include="$pk" bookworm "$T/rootfs" "$MIRROR" > "$T/debootstrap.log" 2>&1 ||
            { tail -20 "$T/debootstrap.log" >&2; fail "debootstrap failed"; }
        rm -rf "$T/rootfs/var/cache/apt/archives/"*.deb "$T/rootfs/var/lib/apt/lists/"*_Packages
        if [[ -n $tar ]]; then
            mkdir -p "$CACHE"; tar -C "$T/rootfs" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
        else
            tar=$T/rootfs.tar; tar -C "$T/rootfs" -cf "$tar" .
        fi
        rm -rf --one-file-system "$T/rootfs"
    fi
    docker import "$tar" "$tag" >/dev/null
    [[ $tar == "$T"/* ]] && rm -f "$tar"
    return 0
}

if [[ ${SLUICE_DOCKER_FULL:-0} == 1 ]]; then
    # The users' compose/Dockerfile, unchanged: its base (debian:bookworm-slim, never pulled: a
    # local image of that name is used) already holds every package it installs, so its
    # `apt-get update` fails harmlessly (exit 0) and `apt-get install` finds them installed.
    full="build-essential,cmake,pkg-config,libzmq3-dev,cppzmq-dev,libmsgpack-cxx-dev,libcli11-dev,libdragonbox-dev,catch2,$pkgs"
    step "base image debian:bookworm-slim (debootstrap minbase + the Dockerfile's packages)"
    base_image debian:bookworm-slim "$full"
    step "image $IMAGE from compose/Dockerfile (the sources without build directories as context)"
    mkdir -p "$T/src"
    tar -C "$REPO" --exclude='./build*' --exclude=./.git --exclude=./compose/data -c . | tar -C "$T/src" -x
    docker build --network none -f "$T/src/compose/Dockerfile" -t "$IMAGE" "$T/src" > "$T/build.log" 2>&1 ||
        { tail -30 "$T/build.log" >&2; fail "docker build -f compose/Dockerfile failed"; }
else
    step "base image $BASE (debootstrap minbase + $pkgs)"
    base_image "$BASE" "$pkgs"
    step "image $IMAGE from compose/Dockerfile.offline"
    mkdir -p "$T/ctx/bin"
    cp "$BIN"/sluice "$BIN"/sluice-ingest "$BIN"/sluice-ventilator "$BIN"/sluice-worker "$BIN"/sluice-sink "$T/ctx/bin/"
    docker build -q --network none --build-arg BASE="$BASE" -f "$REPO/compose/Dockerfile.offline" \
        -t "$IMAGE" "$T/ctx" >/dev/null
fi
docker run --rm --network none "$IMAGE" sluice-ventilator --version ||
    fail "the image cannot run sluice-ventilator: $(docker run --rm --network none "$IMAGE" sh -c 'ldd /usr/local/bin/* | grep "not found"')"
[[ $(docker run --rm --network none "$IMAGE" id -un) == sluice ]] || fail "the image does not run as user sluice"

# ---- 3. the job ---------------------------------------------------------------------------------
step "input: $ROWS rows"
mkdir -p "$T/data"
"$PY" "$TESTS/process/make_input.py" --rows "$ROWS" --sensors 40 --seed 5 --format csv --bad-every 97 \
    --constant-sensor --calibration-output "$T/data/cal.csv" --output "$T/data/input.csv"
"$PY" "$TESTS/process/reference.py" --input "$T/data/input.csv" --format csv --window 20 \
    --calibration "$T/data/cal.csv" --output "$T/expected.jsonl"
chown -R 1000:1000 "$T/data"        # the containers run as the image's user sluice (uid 1000)

export SLUICE_IMAGE=$IMAGE SLUICE_DATA=$T/data SLUICE_WINDOW=20 SLUICE_CALIBRATION=/data/cal.csv \
    SLUICE_STATS_INTERVAL=0
step "validate the compose file, then: docker-compose up --scale worker=3 --exit-code-from sink"
"${COMPOSE[@]}" config -q
up_start=$SECONDS
status=0
timeout 300 "${COMPOSE[@]}" up --no-build --no-color --scale worker=3 --exit-code-from sink > "$T/up.log" 2>&1 || status=$?
up_secs=$((SECONDS - up_start))
echo "docker-compose up exited $status after $up_secs s"
# `up` stops following the other containers' logs once the sink exits: read them all afterwards
"${COMPOSE[@]}" logs --no-color > "$T/logs.txt" 2>&1 || true
grep -E 'summary|error|refused|joined' "$T/logs.txt" | cut -c1-200 || true
if [[ $status != 0 ]]; then tail -40 "$T/up.log" >&2; fail "docker-compose up exited $status"; fi

# ---- 4. checks ----------------------------------------------------------------------------------
step "checks"
[[ -s $T/data/output.jsonl ]] || fail "no /data/output.jsonl"
"$PY" "$TESTS/process/compare.py" "$T/expected.jsonl" "$T/data/output.jsonl" ||
    fail "the output differs from the oracle"
[[ $(stat -c %u "$T/data/output.jsonl") == 1000 ]] || fail "output.jsonl is not owned by uid 1000"

ids=$("${COMPOSE[@]}" ps -q)
worker_ids=$("${COMPOSE[@]}" ps -q worker)
workers=$(wc -l <<<"$worker_ids")
[[ $workers == 3 ]] || fail "expected 3 worker containers, found $workers"
grep -qE '^sink_1 +\| sluice-sink: info: summary: wrote' "$T/logs.txt" || fail "no sink summary in the logs"
joined=$(grep -cE '^ventilator_1 +\| .*worker .* joined' "$T/logs.txt" || true)
echo "  workers that joined the job: $joined"
[[ $joined -ge 1 ]] || fail "no worker joined the ventilator"
# every container ended by itself or on SIGTERM (init: true) with status 0; none needed SIGKILL
for c in $ids; do
    read -r name code < <(docker inspect --format '{{.Name}} {{.State.ExitCode}}' "$c")
    echo "  ${name#/}: exit $code"
    [[ $code == 137 ]] && fail "$name had to be killed (SIGTERM not handled)"
    [[ $code == 0 ]] || fail "$name exited $code"
done
# the healthcheck command works in the image (run it the way docker does, in a running container)
hc=$(docker inspect --format '{{json .Config.Healthcheck.Test}}' "$(head -1 <<<"$worker_ids")")
[[ $hc == *sluice* ]] || fail "no healthcheck on the worker: $hc"
hc_cmd=$(docker inspect --format '{{index .Config.Healthcheck.Test 1}}' "$(head -1 <<<"$worker_ids")")
# in a fresh container: fails with no node, passes once a worker has started (its first log line)
docker run --rm --network none --init -e HC="$hc_cmd" "$IMAGE" sh -c \
    'sh -c "$HC" && exit 3
     sluice-worker --ventilator tcp://127.0.0.1:1 --sink tcp://127.0.0.1:2 --stats-interval 0 2>/tmp/w.log &
     timeout 10 tail -n +1 -f /tmp/w.log | grep -q -m1 connecting || exit 4
     sh -c "$HC"; r=$?; kill $!; exit $r' || fail "the healthcheck does not tell a live node (status $?)"

step "docker-compose down"
down_start=$SECONDS
"${COMPOSE[@]}" down -v --remove-orphans > "$T/down.log" 2>&1 || { cat "$T/down.log" >&2; fail "down failed"; }
left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJ" | wc -l)
[[ $left == 0 ]] || fail "$left containers left after down"
echo "down took $((SECONDS - down_start)) s; job (up) took $up_secs s; $(wc -l < "$T/data/output.jsonl") records"
echo "test_compose.sh: PASS"
