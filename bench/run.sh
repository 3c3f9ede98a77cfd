#!/usr/bin/env bash
# Benchmark harness for shorty: compares shorty's redirect / create throughput
# with a bare nginx "return 302" on the same machine, same request stream.
# See bench/README.md for what each scenario measures and the knobs.
#
#   bash bench/run.sh                                  # full run
#   SCENARIOS=nginx-302 LINKS=10000 DURATION=3s bash bench/run.sh
#
# Progress goes to stderr; the report (machine info + one markdown table) goes
# to stdout and to $OUT/results.md. All traffic stays on 127.0.0.1.
set -euo pipefail

# ---------------------------------------------------------------- knobs ----
LINKS=${LINKS:-1000000}                 # links preloaded / codes in codes.txt
DURATION=${DURATION:-10s}               # wrk -d for every measured run
THREADS=${THREADS:-2}                   # wrk -t
CONNECTIONS=${CONNECTIONS:-64}          # wrk -c
WORKERS=${WORKERS:-2}                   # nginx worker_processes = TOKIO_WORKER_THREADS
OUT=${OUT:-bench/out}                   # work dir (relative to repo root), wiped each run
SCENARIOS=${SCENARIOS:-"nginx-302 redirect-hit redirect-miss create"}
HIT_CACHE_CAPACITY=${HIT_CACHE_CAPACITY:-1000000}   # --cache-capacity for redirect-hit/create
MISS_CACHE_CAPACITY=${MISS_CACHE_CAPACITY:-1000}    # --cache-capacity for redirect-miss
WARMUP_MAX=${WARMUP_MAX:-180s}          # upper bound for the redirect-hit cache warm-up pass
BUILD=${BUILD:-1}                       # 0 = reuse the existing target/release/shorty

# The exact invocation, with every knob spelled out, for the report.
CMDLINE="LINKS=$LINKS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS WORKERS=$WORKERS OUT=$OUT SCENARIOS='$SCENARIOS' HIT_CACHE_CAPACITY=$HIT_CACHE_CAPACITY MISS_CACHE_CAPACITY=$MISS_CACHE_CAPACITY WARMUP_MAX=$WARMUP_MAX BUILD=$BUILD bash $0${*:+ $*}"

cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
BENCH_DIR=$REPO_ROOT/bench

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------- validate knobs ----
for v in LINKS THREADS CONNECTIONS WORKERS HIT_CACHE_CAPACITY MISS_CACHE_CAPACITY; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for v in DURATION WARMUP_MAX; do
    [[ ${!v} =~ ^[1-9][0-9]*[smh]?$ ]] || die "$v must look like 10s / 2m / 30 (got '${!v}')"
done
((THREADS <= CONNECTIONS)) || die "THREADS ($THREADS) must be <= CONNECTIONS ($CONNECTIONS)"
((LINKS <= 56800235584)) || die "LINKS too large for 6 base62 digits"

RUN_NGINX=0
RUN_SHORTY=0
read -r -a SCENARIO_LIST <<<"$SCENARIOS"
((${#SCENARIO_LIST[@]} > 0)) || die "SCENARIOS is empty"
for s in "${SCENARIO_LIST[@]}"; do
    case $s in
        nginx-302) RUN_NGINX=1 ;;
        redirect-hit | redirect-miss | create) RUN_SHORTY=1 ;;
        *) die "unknown scenario '$s' (known: nginx-302 redirect-hit redirect-miss create)" ;;
    esac
done

# -------------------------------------------------------------- cleanup ----
SHORTY_PID=""
NGINX_PID=""
WRK_PID=""

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1 name=$2 i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) ignored SIGTERM for 10 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$WRK_PID" wrk
    stop_pid "$SHORTY_PID" shorty
    stop_pid "$NGINX_PID" nginx
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ tool setup ----
apt_install() { # apt_install PKG...; never lets a package start its service
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || rc=$?
    if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
    return "$rc"
}

ensure_tools() {
    local -a pkgs=()
    command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
    if ((RUN_NGINX)) && ! command -v nginx >/dev/null 2>&1; then
        # Some PATHs (non-root shells) lack /usr/sbin, where Debian puts nginx.
        if [[ -x /usr/sbin/nginx ]]; then PATH=$PATH:/usr/sbin; else pkgs+=(nginx); fi
    fi
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
    ((${#pkgs[@]} == 0)) && return 0

    log "installing: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    local -a final=()
    local p
    for p in "${pkgs[@]}"; do
        if [[ $p == nginx ]] && apt-cache show nginx-light >/dev/null 2>&1; then
            final+=(nginx-light) # smallest build; has the rewrite module we need
        else
            final+=("$p")
        fi
    done
    apt_install "${final[@]}"
    [[ -x /usr/sbin/nginx && :$PATH: != *:/usr/sbin:* ]] && PATH=$PATH:/usr/sbin
    command -v wrk >/dev/null 2>&1 || die "wrk still missing after apt-get install"
    if ((RUN_NGINX)); then command -v nginx >/dev/null 2>&1 || die "nginx still missing after apt-get install"; fi
    return 0
}
ensure_tools

# ---------------------------------------------------------------- out dir ----
case $OUT in /*) ;; *) OUT=$REPO_ROOT/$OUT ;; esac
OUT=${OUT%/}
case $OUT in
    "" | / | "$REPO_ROOT" | "$BENCH_DIR" | "$HOME") die "refusing to use OUT=$OUT as a scratch dir" ;;
esac
if [[ -d $OUT && -n "$(ls -A "$OUT")" && ! -e $OUT/.shorty-bench ]]; then
    die "OUT=$OUT exists, is not empty and was not created by this script; refusing to wipe it"
fi
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/.shorty-bench"
CODES_FILE=$OUT/codes.txt
PRELOAD=$OUT/preload.jsonl
DB_URL="sqlite://$OUT/shorty.db"
SHORTY_LOG=$OUT/shorty.log

# ---------------------------------------------------------------- helpers ----
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

http_code() { # http_code URL [curl args...]; prints the status (000 on failure)
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}

rss_mib() { # VmRSS of PID in MiB
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

now_ns() { date +%s%N; }

declare -A R_RPS R_P50 R_P99 R_ERR R_DETAIL
declare -a DONE_SCENARIOS=()
NOTES=()

run_wrk() { # run_wrk SCENARIO LUA PORT: one measured wrk run, parses RESULT
    local name=$1 lua=$2 port=$3
    local out=$OUT/$name.wrk.txt
    log "$name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s $(basename "$lua") http://127.0.0.1:$port/"
    CODES_FILE=$CODES_FILE WRK_THREADS=$THREADS WRK_MODE=random \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$lua" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 || {
        cat "$out" >&2
        die "$name: wrk failed"
    }
    sed 's/^/    /' "$out" >&2
    local line
    line=$(grep '^RESULT ' "$out" | tail -n 1) || die "$name: no RESULT line in $out"
    local kv k v
    local -A f=()
    for kv in ${line#RESULT }; do
        k=${kv%%=*}
        v=${kv#*=}
        f[$k]=$v
    done
    R_RPS[$name]=${f[rps]}
    R_P50[$name]=${f[p50_ms]}
    R_P99[$name]=${f[p99_ms]}
    R_ERR[$name]=${f[errors]}
    R_DETAIL[$name]="connect=${f[err_connect]} read=${f[err_read]} write=${f[err_write]} status=${f[err_status]} timeout=${f[err_timeout]}"
    DONE_SCENARIOS+=("$name")
    if [[ ${f[requests]} == 0 ]]; then
        log "WARNING: $name completed 0 requests"
    fi
    if [[ ${f[errors]} != 0 ]]; then
        NOTES+=("$name errors: ${R_DETAIL[$name]} (status = non-2xx/3xx responses)")
    fi
}

# ------------------------------------------------------- codes / preload ----
# Codes: 'b' + 6 base62 digits of n (zero-padded): unique, 7 chars, [0-9A-Za-z].
PRELOAD_ARG=""
if ((RUN_SHORTY)); then PRELOAD_ARG=$PRELOAD; fi
log "generating $LINKS codes in $CODES_FILE${PRELOAD_ARG:+ and preload JSON lines in $PRELOAD_ARG}"
python3 - "$LINKS" "$CODES_FILE" "$PRELOAD_ARG" <<'PY'
import sys

n = int(sys.argv[1])
codes_path, preload_path = sys.argv[2], sys.argv[3]
alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
pairs = [a + b for a in alphabet for b in alphabet]  # 2 base62 digits at a time
codes_f = open(codes_path, "w", buffering=1 << 20)
pre_f = open(preload_path, "w", buffering=1 << 20) if preload_path else None
for i in range(n):
    hi, rest = divmod(i, 3844 * 3844)
    mid, lo = divmod(rest, 3844)
    code = "b" + pairs[hi] + pairs[mid] + pairs[lo]
    codes_f.write(code + "\n")
    if pre_f:
        pre_f.write('{"code":"%s","url":"https://example.com/item/%d"}\n' % (code, i))
codes_f.close()
if pre_f:
    pre_f.close()
PY
FIRST_CODE=$(head -n 1 "$CODES_FILE")
LAST_CODE=$(tail -n 1 "$CODES_FILE")

# ------------------------------------------------------------ build/import ----
SHORTY_BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/shorty
PRELOAD_RATE="n/a (no shorty scenario)"
if ((RUN_SHORTY)); then
    if ((BUILD)); then
        log "cargo build --release --bin shorty"
        cargo build --release --bin shorty >&2
    fi
    [[ -x $SHORTY_BIN ]] || die "no shorty binary at $SHORTY_BIN"

    log "preloading $LINKS links: shorty import --database-url $DB_URL < $PRELOAD"
    t0=$(now_ns)
    if ! "$SHORTY_BIN" import --database-url "$DB_URL" <"$PRELOAD" >"$OUT/import.log" 2>&1; then
        tail -n 30 "$OUT/import.log" >&2
        die "shorty import failed (full log: $OUT/import.log)"
    fi
    t1=$(now_ns)
    PRELOAD_RATE=$(awk -v n="$LINKS" -v ns=$((t1 - t0)) \
        'BEGIN { s = ns / 1e9; printf "%d links in %.2f s = %.0f links/s", n, s, (s > 0 ? n / s : 0) }')
    log "preload: $PRELOAD_RATE"
    if ((LINKS > HIT_CACHE_CAPACITY)); then
        NOTES+=("LINKS ($LINKS) > HIT_CACHE_CAPACITY ($HIT_CACHE_CAPACITY): redirect-hit cannot hold every link in cache")
    fi
fi

# ---------------------------------------------------------------- shorty ----
start_shorty() { # start_shorty CACHE_CAPACITY [extra serve args...]
    local cap=$1
    shift
    SHORTY_PORT=$(free_port)
    local -a cmd=("$SHORTY_BIN" serve --listen "127.0.0.1:$SHORTY_PORT" --database-url "$DB_URL"
        --log-format json --cache-capacity "$cap" "$@")
    log "starting: TOKIO_WORKER_THREADS=$WORKERS ${cmd[*]}"
    printf '\n===== %s TOKIO_WORKER_THREADS=%s %s\n' "$(date -Is)" "$WORKERS" "${cmd[*]}" >>"$SHORTY_LOG"
    TOKIO_WORKER_THREADS=$WORKERS "${cmd[@]}" >>"$SHORTY_LOG" 2>&1 &
    SHORTY_PID=$!
    local deadline=$((SECONDS + 30)) code
    while :; do
        if ! kill -0 "$SHORTY_PID" 2>/dev/null; then
            tail -n 40 "$SHORTY_LOG" >&2
            SHORTY_PID=""
            die "shorty exited during startup (log: $SHORTY_LOG)"
        fi
        code=$(http_code "http://127.0.0.1:$SHORTY_PORT/_health")
        [[ $code == 200 ]] && break
        if ((SECONDS >= deadline)); then
            tail -n 40 "$SHORTY_LOG" >&2
            die "shorty not healthy after 30 s (last /_health status: $code; log: $SHORTY_LOG)"
        fi
        sleep 0.1
    done
    log "shorty ready on 127.0.0.1:$SHORTY_PORT (pid $SHORTY_PID)"
}

stop_shorty() {
    stop_pid "$SHORTY_PID" shorty
    SHORTY_PID=""
}

check_redirect() { # check_redirect NAME PORT CODE: one GET must answer 302 + Location
    local name=$1 port=$2 code=$3 res
    # No -L: curl must not follow the Location (only 127.0.0.1 gets traffic).
    res=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 \
        "http://127.0.0.1:$port/$code" 2>/dev/null || true)
    if [[ ${res%% *} != 302 || -z ${res#* } ]]; then
        [[ -f $SHORTY_LOG ]] && tail -n 20 "$SHORTY_LOG" >&2
        die "$name: sanity check GET /$code answered '$res', expected '302 <location>'"
    fi
}

warm_cache() { # warm_cache PORT: one sequential pass over all codes
    local port=$1 out=$OUT/redirect-hit.warmup.txt t0 t1 ndone
    log "redirect-hit: warming the cache with one pass over $LINKS codes (max $WARMUP_MAX)"
    t0=$(now_ns)
    CODES_FILE=$CODES_FILE WRK_THREADS=$THREADS WRK_MODE=seq \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP_MAX" -s "$BENCH_DIR/redirect.lua" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 &
    WRK_PID=$!
    while kill -0 "$WRK_PID" 2>/dev/null; do
        ndone=$(grep -c '^WARMUP_THREAD_DONE' "$out" 2>/dev/null || true)
        if ((${ndone:-0} >= THREADS)); then
            kill -INT "$WRK_PID" 2>/dev/null || true # wrk's SIGINT handler ends the run early
            break
        fi
        sleep 0.2
    done
    wait "$WRK_PID" 2>/dev/null || true
    WRK_PID=""
    t1=$(now_ns)
    ndone=$(grep -c '^WARMUP_THREAD_DONE' "$out" 2>/dev/null || true)
    local secs
    secs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    if ((${ndone:-0} >= THREADS)); then
        WARMUP_NOTE="complete pass over $LINKS codes in ${secs} s"
    else
        WARMUP_NOTE="INCOMPLETE: only $ndone/$THREADS wrk threads finished their slice within WARMUP_MAX=$WARMUP_MAX"
        NOTES+=("redirect-hit warm-up incomplete; raise WARMUP_MAX")
    fi
    log "redirect-hit warm-up: $WARMUP_NOTE"
}

# ----------------------------------------------------------------- nginx ----
start_nginx() {
    local prefix=$OUT/nginx temp_paths="" m
    mkdir -p "$prefix/tmp"
    NGINX_PORT=$(free_port)
    # Point the temp dirs of every compiled-in module into the prefix.
    local nginx_v
    nginx_v=$(nginx -V 2>&1)
    for m in proxy fastcgi uwsgi scgi; do
        if [[ $nginx_v != *"--without-http_${m}_module"* ]]; then
            temp_paths+="    ${m}_temp_path $prefix/tmp/$m;"$'\n'
        fi
    done
    TEMP_PATHS=$temp_paths WORKERS=$WORKERS NGINX_PORT=$NGINX_PORT PREFIX=$prefix python3 - \
        "$BENCH_DIR/nginx.conf.template" "$prefix/nginx.conf" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
for key, val in (("@TEMP_PATHS@\n", os.environ["TEMP_PATHS"]), ("@WORKERS@", os.environ["WORKERS"]),
                 ("@PORT@", os.environ["NGINX_PORT"]), ("@PREFIX@", os.environ["PREFIX"])):
    text = text.replace(key, val)
open(sys.argv[2], "w").write(text)
PY
    local -a args=(-p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log")
    nginx -t -q "${args[@]}" >&2 || die "nginx config test failed ($prefix/nginx.conf)"
    log "starting: nginx ${args[*]} -g 'daemon off;'"
    nginx "${args[@]}" -g 'daemon off;' >>"$prefix/stdout.log" 2>&1 &
    NGINX_PID=$!
    local deadline=$((SECONDS + 10))
    until [[ $(http_code "http://127.0.0.1:$NGINX_PORT/$FIRST_CODE") == 302 ]]; do
        if ! kill -0 "$NGINX_PID" 2>/dev/null || ((SECONDS >= deadline)); then
            tail -n 20 "$prefix/error.log" >&2 || true
            die "nginx did not come up on 127.0.0.1:$NGINX_PORT"
        fi
        sleep 0.1
    done
    log "nginx ready on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"
}

# ------------------------------------------------------------- scenarios ----
RSS_HIT="n/a"
RSS_CREATE="n/a"
WARMUP_NOTE="n/a"
CREATE_FLAGS=(--create-rate 1000000000 --create-burst 1000000000)

scenario_nginx_302() {
    start_nginx
    check_redirect nginx-302 "$NGINX_PORT" "$FIRST_CODE"
    run_wrk nginx-302 "$BENCH_DIR/redirect.lua" "$NGINX_PORT"
    stop_pid "$NGINX_PID" nginx
    NGINX_PID=""
}

scenario_redirect_hit() {
    start_shorty "$HIT_CACHE_CAPACITY"
    check_redirect redirect-hit "$SHORTY_PORT" "$FIRST_CODE"
    check_redirect redirect-hit "$SHORTY_PORT" "$LAST_CODE"
    warm_cache "$SHORTY_PORT"
    run_wrk redirect-hit "$BENCH_DIR/redirect.lua" "$SHORTY_PORT"
    RSS_HIT=$(rss_mib "$SHORTY_PID")
    stop_shorty
}

scenario_redirect_miss() {
    start_shorty "$MISS_CACHE_CAPACITY"
    check_redirect redirect-miss "$SHORTY_PORT" "$LAST_CODE"
    run_wrk redirect-miss "$BENCH_DIR/redirect.lua" "$SHORTY_PORT"
    stop_shorty
}

scenario_create() {
    start_shorty "$HIT_CACHE_CAPACITY" "${CREATE_FLAGS[@]}"
    local res
    res=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
        -H 'Content-Type: application/json' \
        --data '{"url":"https://example.com/bench/sanity"}' \
        "http://127.0.0.1:$SHORTY_PORT/api/v1/links" 2>/dev/null || true)
    if [[ $res != 201 ]]; then
        tail -n 20 "$SHORTY_LOG" >&2
        die "create: sanity POST /api/v1/links answered '$res', expected 201"
    fi
    run_wrk create "$BENCH_DIR/create.lua" "$SHORTY_PORT"
    RSS_CREATE=$(rss_mib "$SHORTY_PID")
    stop_shorty
}

for s in "${SCENARIO_LIST[@]}"; do
    log "=== scenario $s"
    "scenario_${s//-/_}"
done

# ---------------------------------------------------------------- report ----
commit=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo "unknown (no commit yet)")
if [[ $commit != unknown* && -n "$(git -C "$REPO_ROOT" status --porcelain 2>/dev/null)" ]]; then
    commit+=" (dirty working tree)"
fi
cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
mem_total=$(free -g | awk '/^Mem:/ { print $2 }')
wrk_version=$({ wrk -v 2>&1 || true; } | head -n 1)
nginx_version=""
if ((RUN_NGINX)); then nginx_version=$(nginx -v 2>&1 | sed 's/^nginx version: //'); fi

fmt_row() { # fmt_row NAME
    local n=$1
    awk -v n="$n" -v rps="${R_RPS[$n]}" -v p50="${R_P50[$n]}" -v p99="${R_P99[$n]}" \
        -v err="${R_ERR[$n]}" -v base="${R_RPS[nginx-302]:-}" \
        'BEGIN {
            ratio = (base != "" && base + 0 > 0) ? sprintf("%.2f", rps / base) : "n/a"
            printf "| %s | %.0f | %.2f | %.2f | %s | %s |\n", n, rps, p50, p99, err, ratio
        }'
}

{
    echo "## shorty benchmark results"
    echo
    echo "- date: $(date -Is)"
    echo "- commit: $commit"
    echo "- machine: nproc=$(nproc), CPU: ${cpu_model:-unknown}, RAM total: ${mem_total} GiB (free -g), kernel $(uname -r)"
    echo "- command: \`$CMDLINE\`"
    echo "- load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency over 127.0.0.1; wrk and the server share the same $(nproc) CPUs"
    echo "- servers: nginx worker_processes=$WORKERS / shorty TOKIO_WORKER_THREADS=$WORKERS"
    echo "- tools: ${wrk_version:-wrk ?}${nginx_version:+, $nginx_version}"
    echo "- preload (shorty import): $PRELOAD_RATE"
    echo "- redirect-hit cache warm-up: $WARMUP_NOTE"
    echo "- shorty RSS (VmRSS): after redirect-hit ${RSS_HIT} MiB, after create ${RSS_CREATE} MiB"
    for note in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- note: $note"; done
    echo
    echo "| scenario | requests/s | p50 ms | p99 ms | errors | ratio vs nginx |"
    echo "|---|---:|---:|---:|---:|---:|"
    for s in "${DONE_SCENARIOS[@]}"; do fmt_row "$s"; done
} | tee "$OUT/results.md"
log "raw wrk output and logs are in $OUT/"
