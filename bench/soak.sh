#!/usr/bin/env bash
# Soak run for shorty: one server on a fresh SQLite database, a mixed request
# stream (hits, misses, scans of random codes, creates, invented methods,
# random paths) for DURATION seconds at a fixed, moderate concurrency, with
# VmRSS, open fds and the number of metric series sampled every SAMPLE_EVERY
# seconds. At the end, $OUT/report.md says whether they stayed flat after
# the warm-up. See bench/README.md ("Soak") for the knobs and the rule.
#
#   bash bench/soak.sh                                    # 10 min soak
#   SHORTY_BIN=target/debug/shorty DURATION=90 WARMUP=30 bash bench/soak.sh  # smoke test
#
# Exit status: 0 flat, 1 not flat (or 5xx answers, or shorty died),
# 2 too few samples after the warm-up or the harness itself failed.
set -euo pipefail

CALLER_PWD=$(pwd)
cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
BENCH_DIR=$REPO_ROOT/bench

# ---------------------------------------------------------------- knobs ----
DEFAULT_BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/shorty
SHORTY_BIN=${SHORTY_BIN:-$DEFAULT_BIN}      # relative paths: from the directory you run in
BUILD=${BUILD:-1}                           # 1: cargo build --release if SHORTY_BIN is missing; 0: never
DURATION=${DURATION:-900}                   # seconds of load (>= 600 for a real soak)
WARMUP=${WARMUP:-300}                       # seconds before the flatness baseline: SQLite's page caches fill until ~240 s
SAMPLE_EVERY=${SAMPLE_EVERY:-10}            # seconds between samples
THREADS=${THREADS:-2}                       # wrk -t
CONNECTIONS=${CONNECTIONS:-32}              # wrk -c
PRELOAD=${PRELOAD:-10000}                   # links imported before the run (the hit set)
MIX=${MIX:-"hit=60 miss=10 scan=10 create=10 method=5 path=5"}  # request kinds and weights
SEED=${SEED:-1}                             # seeds soak.lua's generators
CACHE_CAPACITY=${CACHE_CAPACITY:-100000}    # shorty --cache-capacity
LOG_LEVEL=${LOG_LEVEL:-warn}                # shorty's RUST_LOG; "info" logs every request
WORKERS=${WORKERS:-}                        # TOKIO_WORKER_THREADS; empty: shorty's default (one per core)
SERVE_ARGS=${SERVE_ARGS:-}                  # extra `shorty serve` flags
RSS_TOL_PCT=${RSS_TOL_PCT:-10}              # VmRSS growth allowed after the warm-up, % of base
FD_TOL=${FD_TOL:-10}                        # open fds allowed to grow after the warm-up
SERIES_TOL=${SERIES_TOL:-5}                 # metric series lines allowed to grow after the warm-up
OUT=${OUT:-$REPO_ROOT/bench/out/soak-$(date +%Y%m%d-%H%M%S)}

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[soak] ERROR: %s\n' "$*" >&2; exit 2; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

abs_path() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "${CALLER_PWD%/}" "$1" ;; esac; }
SHORTY_BIN=$(abs_path "$SHORTY_BIN")
OUT=$(abs_path "$OUT")
OUT=${OUT%/}

seconds() { # seconds 600|600s|10m|1h
    case $1 in
        *h) echo $((${1%h} * 3600)) ;;
        *m) echo $((${1%m} * 60)) ;;
        *) echo "${1%s}" ;;
    esac
}

# --------------------------------------------------------- validate knobs ----
for v in DURATION WARMUP SAMPLE_EVERY; do
    [[ ${!v} =~ ^[1-9][0-9]*[smh]?$ ]] || die "$v must look like 600, 600s, 10m or 1h (got '${!v}')"
done
DURATION_S=$(seconds "$DURATION")
WARMUP_S=$(seconds "$WARMUP")
SAMPLE_S=$(seconds "$SAMPLE_EVERY")
for v in THREADS CONNECTIONS PRELOAD CACHE_CAPACITY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for v in SEED RSS_TOL_PCT FD_TOL SERIES_TOL; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[[ -z $WORKERS || $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be empty or a positive integer"
[[ $BUILD == 0 || $BUILD == 1 ]] || die "BUILD must be 0 or 1"
((THREADS <= CONNECTIONS)) || die "THREADS ($THREADS) must be <= CONNECTIONS ($CONNECTIONS)"
((PRELOAD <= 1000000000)) || die "PRELOAD must be at most 1,000,000,000"
((WARMUP_S < DURATION_S)) || die "WARMUP ($WARMUP_S s) must be shorter than DURATION ($DURATION_S s)"
((SAMPLE_S * 3 <= DURATION_S - WARMUP_S)) ||
    die "need at least 3 samples after the warm-up: DURATION - WARMUP ($((DURATION_S - WARMUP_S)) s) < 3 x SAMPLE_EVERY ($SAMPLE_S s)"
mix_total=0
for kv in ${MIX//,/ }; do
    [[ $kv =~ ^(hit|miss|scan|create|method|path)=([0-9]+)$ ]] ||
        die "MIX entries must be kind=N with kind in hit miss scan create method path (got '$kv')"
    mix_total=$((mix_total + BASH_REMATCH[2]))
done
((mix_total > 0)) || die "MIX weights add up to 0"
[[ $LOG_LEVEL =~ ^[A-Za-z0-9_:,=]+$ ]] || die "LOG_LEVEL looks odd: '$LOG_LEVEL'"
read -r -a EXTRA_SERVE_ARGS <<<"$SERVE_ARGS"
NOTES=()
SMOKE=0
if ((DURATION_S < 600)); then
    SMOKE=1
    log "WARNING: DURATION=$DURATION_S s is under 600 s: a smoke test of the harness, not a soak"
fi

CMDLINE="SHORTY_BIN=$SHORTY_BIN BUILD=$BUILD DURATION=$DURATION_S WARMUP=$WARMUP_S SAMPLE_EVERY=$SAMPLE_S THREADS=$THREADS CONNECTIONS=$CONNECTIONS PRELOAD=$PRELOAD MIX='$MIX' SEED=$SEED CACHE_CAPACITY=$CACHE_CAPACITY LOG_LEVEL=$LOG_LEVEL RSS_TOL_PCT=$RSS_TOL_PCT FD_TOL=$FD_TOL SERIES_TOL=$SERIES_TOL"
[[ -z $WORKERS ]] || CMDLINE+=" WORKERS=$WORKERS"
[[ -z $SERVE_ARGS ]] || CMDLINE+=" SERVE_ARGS='$SERVE_ARGS'"
CMDLINE+=" OUT=$OUT bash bench/soak.sh"

# -------------------------------------------------------------- cleanup ----
SHORTY_PID=""
WRK_PID=""
SAMPLER_PID=""

# shellcheck disable=SC2317 # called through the trap
cleanup() {
    local rc=$?
    trap - EXIT ERR INT TERM
    stop_pid "$WRK_PID" wrk
    stop_pid "$SAMPLER_PID" sampler
    stop_pid "$SHORTY_PID" shorty
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 2' ERR # a failing command is a harness failure, not a verdict
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ tool setup ----
ensure_tools() {
    local -a pkgs=()
    command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
    ((${#pkgs[@]} == 0)) && return 0
    log "installing: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >&2
    command -v wrk >/dev/null 2>&1 || die "wrk still missing after apt-get install"
}
ensure_tools

if [[ ! -x $SHORTY_BIN ]]; then
    ((BUILD)) || die "no shorty binary at $SHORTY_BIN (BUILD=0)"
    log "no binary at $SHORTY_BIN: cargo build --release --bin shorty (this can take a while)"
    cargo build --release --bin shorty >&2
    [[ -x $SHORTY_BIN ]] || die "still no shorty binary at $SHORTY_BIN after cargo build --release"
fi

# ---------------------------------------------------------------- out dir ----
case $OUT in
    "" | / | "$REPO_ROOT" | "$BENCH_DIR" | "$HOME") die "refusing to use OUT=$OUT" ;;
esac
if [[ -e $OUT && -n "$(ls -A "$OUT" 2>/dev/null)" ]]; then
    die "OUT=$OUT already exists and is not empty; pick another OUT"
fi
mkdir -p "$OUT"
CODES_FILE=$OUT/codes.txt
DB=$OUT/shorty.db
SHORTY_LOG=$OUT/shorty.log
log "output in $OUT"

alive() { # alive PID: running, not a zombie waiting to be reaped
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

http_code() { # http_code URL [curl args...]; prints the status (000 on failure)
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}

# ------------------------------------------------------------------ preload ----
# Codes: 'b' + 6 base62 digits of the index, as in run.sh; soak.lua's misses
# use the same shape with indexes past PRELOAD.
log "generating $PRELOAD links in $OUT/preload.jsonl"
python3 - "$PRELOAD" "$CODES_FILE" "$OUT/preload.jsonl" <<'PY'
import sys

n = int(sys.argv[1])
alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
with open(sys.argv[2], "w") as codes, open(sys.argv[3], "w") as pre:
    for i in range(n):
        digits, x = [], i
        for _ in range(6):
            x, d = divmod(x, 62)
            digits.append(alphabet[d])
        code = "b" + "".join(reversed(digits))
        codes.write(code + "\n")
        pre.write('{"code":"%s","url":"https://example.com/soak/item/%d"}\n' % (code, i))
PY
FIRST_CODE=$(head -n 1 "$CODES_FILE")
log "shorty import --database-url sqlite://$DB < preload.jsonl"
t0=$(date +%s%N)
if ! "$SHORTY_BIN" import --database-url "sqlite://$DB" <"$OUT/preload.jsonl" >"$OUT/import.log" 2>&1; then
    tail -n 20 "$OUT/import.log" >&2
    die "shorty import failed (log: $OUT/import.log)"
fi
t1=$(date +%s%N)
PRELOAD_NOTE=$(awk -v n="$PRELOAD" -v ns=$((t1 - t0)) 'BEGIN { printf "%d links in %.2f s", n, ns / 1e9 }')
log "preload: $PRELOAD_NOTE"

# ---------------------------------------------------------------- shorty ----
PORT=$(free_port)
ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
(umask 077 && printf '%s\n' "$ADMIN_TOKEN" >"$OUT/admin-token")
SERVE_CMD=("$SHORTY_BIN" serve --listen "127.0.0.1:$PORT" --base-url "http://127.0.0.1:$PORT"
    --database-url "sqlite://$DB" --log-format json --cache-capacity "$CACHE_CAPACITY"
    --create-rate 1000000000 --create-burst 1000000000
    "${EXTRA_SERVE_ARGS[@]+"${EXTRA_SERVE_ARGS[@]}"}")
log "starting: RUST_LOG=$LOG_LEVEL ${WORKERS:+TOKIO_WORKER_THREADS=$WORKERS }SHORTY_ADMIN_TOKEN=<\$OUT/admin-token> ${SERVE_CMD[*]}"
# Run from $OUT so that no ./shorty.toml of the caller's directory is read;
# the admin token goes through the environment, not the command line.
(
    cd "$OUT"
    export RUST_LOG=$LOG_LEVEL SHORTY_ADMIN_TOKEN=$ADMIN_TOKEN
    [[ -z $WORKERS ]] || export TOKIO_WORKER_THREADS=$WORKERS
    exec "${SERVE_CMD[@]}"
) >>"$SHORTY_LOG" 2>&1 &
SHORTY_PID=$!
deadline=$((SECONDS + 30))
until [[ $(http_code "http://127.0.0.1:$PORT/_health") == 200 ]]; do
    if ! alive "$SHORTY_PID"; then
        tail -n 40 "$SHORTY_LOG" >&2
        die "shorty exited during startup (log: $SHORTY_LOG)"
    fi
    ((SECONDS < deadline)) || die "shorty not healthy after 30 s (log: $SHORTY_LOG)"
    sleep 0.2
done
log "shorty ready on 127.0.0.1:$PORT (pid $SHORTY_PID)"

# Sanity: one request of the kinds whose answer we know, before the load.
expect() { # expect WHAT WANT GOT
    [[ $3 == "$2" ]] || { tail -n 20 "$SHORTY_LOG" >&2; die "sanity check: $1 answered '$3', expected $2"; }
}
expect "GET /$FIRST_CODE" 302 "$(http_code "http://127.0.0.1:$PORT/$FIRST_CODE")"
expect "GET /zzzzzzz" 404 "$(http_code "http://127.0.0.1:$PORT/zzzzzzz")"
expect "POST /api/v1/links" 201 "$(http_code "http://127.0.0.1:$PORT/api/v1/links" -X POST \
    -H 'Content-Type: application/json' --data '{"url":"https://example.com/soak/sanity"}')"
expect "GET /api/v1/links?limit=1 (admin)" 200 "$(http_code "http://127.0.0.1:$PORT/api/v1/links?limit=1" \
    -H "Authorization: Bearer $ADMIN_TOKEN")"
expect "FOOSANITY /healthz" 405 "$(http_code "http://127.0.0.1:$PORT/healthz" -X FOOSANITY)"

# --------------------------------------------------------------- the run ----
log "load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION_S}s -s soak.lua (MIX='$MIX', SEED=$SEED); sampling every ${SAMPLE_S}s"
python3 "$BENCH_DIR/soak.py" sample --pid "$SHORTY_PID" --metrics-url "http://127.0.0.1:$PORT/metrics" \
    --every "$SAMPLE_S" --duration "$DURATION_S" --warmup "$WARMUP_S" --out-dir "$OUT" --db "$DB" --timeout 60 &
SAMPLER_PID=$!
CODES_FILE=$CODES_FILE SOAK_PRELOADED=$PRELOAD SOAK_MIX=$MIX SOAK_SEED=$SEED \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION_S}s" --latency -s "$BENCH_DIR/soak.lua" \
    "http://127.0.0.1:$PORT/" >"$OUT/wrk.txt" 2>&1 &
WRK_PID=$!
# If shorty dies, stop wrk (SIGINT: it still prints its summary) rather
# than let it hammer a closed port for the rest of DURATION.
while kill -0 "$WRK_PID" 2>/dev/null; do
    if ! alive "$SHORTY_PID"; then
        log "shorty (pid $SHORTY_PID) is gone; stopping wrk"
        kill -INT "$WRK_PID" 2>/dev/null || true
        break
    fi
    sleep 1
done
wrk_rc=0
wait "$WRK_PID" || wrk_rc=$?
WRK_PID=""
sampler_rc=0
wait "$SAMPLER_PID" || sampler_rc=$?
SAMPLER_PID=""
sed 's/^/    /' "$OUT/wrk.txt" >&2

FAIL_ARGS=()
if ((wrk_rc != 0)); then
    FAIL_ARGS+=(--fail-reason "wrk exited with status $wrk_rc")
fi
vmrss() { awk '/^VmRSS:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"; }
if alive "$SHORTY_PID"; then
    SHORTY_RSS_END="$(vmrss "$SHORTY_PID") before the final /metrics scrape"
    curl -s --max-time 120 -o "$OUT/metrics.final.txt" "http://127.0.0.1:$PORT/metrics" ||
        log "WARNING: final GET /metrics failed"
    SHORTY_RSS_END+=", $(vmrss "$SHORTY_PID") after it"
    log "stopping shorty (SIGTERM)"
    stop_pid "$SHORTY_PID" shorty
    SHORTY_PID=""
else
    status=0
    wait "$SHORTY_PID" || status=$?
    SHORTY_PID=""
    SHORTY_RSS_END="n/a"
    FAIL_ARGS+=(--fail-reason "shorty exited during the run (status $status)")
    tail -n 20 "$SHORTY_LOG" >&2
fi
((sampler_rc == 0 || sampler_rc == 3)) || FAIL_ARGS+=(--fail-reason "the sampler failed (status $sampler_rc)")

# ---------------------------------------------------------------- report ----
commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null)" ]]; then
    commit+=" (dirty working tree)"
fi
bin_mtime=$(stat -c %Y "$SHORTY_BIN")
commit_time=$(git -C "$REPO_ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
bin_note=""
if ((bin_mtime < commit_time)); then bin_note=" (older than the HEAD commit: it may not contain it)"; fi
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
wrk_result=$(grep '^RESULT ' "$OUT/wrk.txt" | tail -n 1 || true)

{
    if ((SMOKE)); then
        echo "## shorty soak run (SMOKE TEST: ${DURATION_S} s < 600 s, not a soak)"
    else
        echo "## shorty soak run"
    fi
    echo
    echo "- date: $(date -Is)"
    echo "- commit: $commit"
    echo "- shorty binary: $SHORTY_BIN, modified $(date -u -d "@$bin_mtime" '+%Y-%m-%d %H:%M:%S UTC')$bin_note"
    echo "- machine: nproc=$(nproc), CPU: ${cpu_model:-unknown}, RAM: $mem_total, kernel $(uname -r); wrk and shorty share the CPUs"
    echo "- command: \`$CMDLINE\`"
    echo "- server: \`${SERVE_CMD[*]}\` with RUST_LOG=$LOG_LEVEL${WORKERS:+, TOKIO_WORKER_THREADS=$WORKERS}, an admin token, on a fresh SQLite database"
    echo "- preload (shorty import): $PRELOAD_NOTE"
    echo "- load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION_S}s --latency -s bench/soak.lua, MIX='$MIX', SEED=$SEED; warm-up ${WARMUP_S} s, a sample every ${SAMPLE_S} s"
    echo "- shorty VmRSS at the end of the load: $SHORTY_RSS_END"
    for note in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- note: $note"; done
    echo "- wrk: ${wrk_result:-no RESULT line} (err_status counts every answer outside 2xx/3xx: the misses, scans, invented methods and random paths are meant to get 4xx)"
    echo
    echo "### wrk output"
    echo
    echo '```'
    cat "$OUT/wrk.txt"
    echo '```'
    echo
} >"$OUT/report.md"

rc=0
python3 "$BENCH_DIR/soak.py" report --out-dir "$OUT" --warmup "$WARMUP_S" --cache-capacity "$CACHE_CAPACITY" \
    --rss-tol-pct "$RSS_TOL_PCT" --fd-tol "$FD_TOL" --series-tol "$SERIES_TOL" \
    "${FAIL_ARGS[@]+"${FAIL_ARGS[@]}"}" >>"$OUT/report.md" || rc=$?
cat "$OUT/report.md"
log "report: $OUT/report.md; samples: $OUT/samples.csv"
exit "$rc"
