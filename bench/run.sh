#!/usr/bin/env bash
# Benchmark harness for shorty: compares shorty's redirect / create throughput
# with a bare nginx "return 302" on the same machine, same request stream.
# See bench/README.md for what each scenario measures and the knobs.
#
#   bash bench/run.sh                                  # full run (SQLite)
#   SCENARIOS=nginx-302 LINKS=10000 DURATION=3s bash bench/run.sh
#   SETUPS="postgres postgres-redis cluster" bash bench/run.sh
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
SETUPS=${SETUPS:-sqlite}                # sqlite postgres postgres-redis cluster (any, in order)
CREATE_CONNECTIONS=${CREATE_CONNECTIONS:-$CONNECTIONS}  # wrk -c for create; a list runs it once per value
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}    # server URL, no database name
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
DB_POOL_SIZE=${DB_POOL_SIZE:-}          # --db-pool-size for PostgreSQL setups; empty = shorty's default
CLUSTER_INSTANCES=${CLUSTER_INSTANCES:-3}   # shorty instances behind the nginx load balancer
CLUSTER_WORKERS=${CLUSTER_WORKERS:-1}   # TOKIO_WORKER_THREADS of each cluster instance
LB_WORKERS=${LB_WORKERS:-$WORKERS}      # worker_processes of the load-balancer nginx
CPU_STATS=${CPU_STATS:-1}               # 1 = record the CPU split by process during each measured run
SERVE_ARGS=${SERVE_ARGS:-}              # extra flags for every `shorty serve` (e.g. "--db-timeout-ms 30000")
ROUNDS=${ROUNDS:-5}                     # redirect rows: alternating nginx / shorty runs, the median pair is reported

# The exact invocation, with every knob spelled out, for the report.
CMDLINE="LINKS=$LINKS DURATION=$DURATION ROUNDS=$ROUNDS THREADS=$THREADS CONNECTIONS=$CONNECTIONS WORKERS=$WORKERS OUT=$OUT SCENARIOS='$SCENARIOS' HIT_CACHE_CAPACITY=$HIT_CACHE_CAPACITY MISS_CACHE_CAPACITY=$MISS_CACHE_CAPACITY WARMUP_MAX=$WARMUP_MAX BUILD=$BUILD"
if [[ $SETUPS != sqlite ]]; then
    CMDLINE+=" SETUPS='$SETUPS' CREATE_CONNECTIONS='$CREATE_CONNECTIONS' PG_URL=$PG_URL REDIS_URL=$REDIS_URL DB_POOL_SIZE=$DB_POOL_SIZE CLUSTER_INSTANCES=$CLUSTER_INSTANCES CLUSTER_WORKERS=$CLUSTER_WORKERS LB_WORKERS=$LB_WORKERS"
elif [[ $CREATE_CONNECTIONS != "$CONNECTIONS" ]]; then
    CMDLINE+=" CREATE_CONNECTIONS='$CREATE_CONNECTIONS'"
fi
[[ -z $SERVE_ARGS ]] || CMDLINE+=" SERVE_ARGS='$SERVE_ARGS'"
CMDLINE+=" CPU_STATS=$CPU_STATS bash $0${*:+ $*}"

cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
BENCH_DIR=$REPO_ROOT/bench

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

# --------------------------------------------------------- validate knobs ----
for v in LINKS ROUNDS THREADS CONNECTIONS WORKERS HIT_CACHE_CAPACITY MISS_CACHE_CAPACITY \
    CLUSTER_INSTANCES CLUSTER_WORKERS LB_WORKERS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
for v in DURATION WARMUP_MAX; do
    [[ ${!v} =~ ^[1-9][0-9]*[smh]?$ ]] || die "$v must look like 10s / 2m / 30 (got '${!v}')"
done
((THREADS <= CONNECTIONS)) || die "THREADS ($THREADS) must be <= CONNECTIONS ($CONNECTIONS)"
((LINKS <= 56800235584)) || die "LINKS too large for 6 base62 digits"
[[ -z $DB_POOL_SIZE || $DB_POOL_SIZE =~ ^[1-9][0-9]*$ ]] || die "DB_POOL_SIZE must be empty or a positive integer"
[[ $CPU_STATS == 0 || $CPU_STATS == 1 ]] || die "CPU_STATS must be 0 or 1"
read -r -a EXTRA_SERVE_ARGS <<<"$SERVE_ARGS"
read -r -a CREATE_CONN_LIST <<<"$CREATE_CONNECTIONS"
((${#CREATE_CONN_LIST[@]} > 0)) || die "CREATE_CONNECTIONS is empty"
for c in "${CREATE_CONN_LIST[@]}"; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || die "CREATE_CONNECTIONS entries must be positive integers (got '$c')"
    ((THREADS <= c)) || die "THREADS ($THREADS) must be <= every CREATE_CONNECTIONS entry ($c)"
done

read -r -a SETUP_LIST <<<"$SETUPS"
((${#SETUP_LIST[@]} > 0)) || die "SETUPS is empty"
NEED_SQLITE=0
NEED_PG=0
NEED_REDIS=0
for st in "${SETUP_LIST[@]}"; do
    case $st in
        sqlite) NEED_SQLITE=1 ;;
        postgres) NEED_PG=1 ;;
        postgres-redis | cluster) NEED_PG=1 NEED_REDIS=1 ;;
        *) die "unknown setup '$st' (known: sqlite postgres postgres-redis cluster)" ;;
    esac
done
[[ $(printf '%s\n' "${SETUP_LIST[@]}" | sort | uniq -d) == "" ]] || die "SETUPS lists a setup twice"

RUN_NGINX=0
RUN_SHORTY=0
read -r -a SCENARIO_LIST <<<"$SCENARIOS"
((${#SCENARIO_LIST[@]} > 0)) || die "SCENARIOS is empty"
for s in "${SCENARIO_LIST[@]}"; do
    case $s in
        nginx-302) RUN_NGINX=1 ;;
        redirect-hit | redirect-hit-no-metrics | redirect-miss | create) RUN_SHORTY=1 ;;
        *) die "unknown scenario '$s' (known: nginx-302 redirect-hit redirect-hit-no-metrics redirect-miss create)" ;;
    esac
done

# -------------------------------------------------------------- cleanup ----
SHORTY_PIDS=()     # every shorty serve process currently running
INSTANCE_PORTS=()  # their ports, same order
NGINX_PID=""       # the nginx-302 baseline
LB_PID=""          # the load-balancer nginx of the cluster setup
WRK_PID=""
CREATED_DBS=()     # PostgreSQL databases this run created (dropped at exit)
REDIS_PREFIXES=()  # Redis key prefixes this run used (keys deleted at exit)
RUN_TAG=shorty_bench_$$

psql_admin() { # psql_admin SQL: runs SQL in the maintenance database
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL/postgres" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

redis_del_prefix() { # redis_del_prefix PREFIX: deletes every key under PREFIX
    redis-cli -u "$REDIS_URL" --scan --pattern "$1*" |
        xargs -r -n 1000 redis-cli -u "$REDIS_URL" del >/dev/null
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$WRK_PID" wrk
    stop_pid "$LB_PID" nginx-lb
    local pid db pfx
    for pid in "${SHORTY_PIDS[@]+"${SHORTY_PIDS[@]}"}"; do stop_pid "$pid" shorty; done
    stop_pid "$NGINX_PID" nginx
    for db in "${CREATED_DBS[@]+"${CREATED_DBS[@]}"}"; do
        log "dropping database $db"
        psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" >&2 || log "WARNING: could not drop database $db"
    done
    for pfx in "${REDIS_PREFIXES[@]+"${REDIS_PREFIXES[@]}"}"; do
        log "deleting Redis keys $pfx*"
        redis_del_prefix "$pfx" || log "WARNING: could not delete Redis keys $pfx*"
    done
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
    # The cluster's load balancer is an nginx too.
    if [[ " $SETUPS " == *" cluster "* ]] && ((RUN_SHORTY)) && ! command -v nginx >/dev/null 2>&1; then
        if [[ -x /usr/sbin/nginx ]]; then PATH=$PATH:/usr/sbin; else pkgs+=(nginx); fi
    fi
    # PostgreSQL and Redis themselves must already run; only their clients are needed.
    if ((RUN_SHORTY && NEED_PG)) && ! command -v psql >/dev/null 2>&1; then pkgs+=(postgresql-client); fi
    if ((RUN_SHORTY && NEED_REDIS)) && ! command -v redis-cli >/dev/null 2>&1; then pkgs+=(redis-tools); fi
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
SQLITE_URL="sqlite://$OUT/shorty.db"
PG_TEMPLATE_DB=${RUN_TAG}_tpl
DB_URL=""       # database of the current setup
SHORTY_LOG=$OUT/shorty.log

# ---------------------------------------------------------------- helpers ----

http_code() { # http_code URL [curl args...]; prints the status (000 on failure)
    local url=$1
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" 2>/dev/null || true
}

rss_mib() { # VmRSS of PID in MiB
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "n/a"
}

shorty_rss() { # VmRSS of every running shorty instance, joined with " + "
    local pid out=""
    for pid in "${SHORTY_PIDS[@]}"; do out+="${out:+ + }$(rss_mib "$pid")"; done
    echo "${out:-n/a}"
}

now_ns() { date +%s%N; }

seconds() { # seconds 10s|2m|1h|30: a wrk duration in seconds
    case $1 in
        *h) echo $((${1%h} * 3600)) ;;
        *m) echo $((${1%m} * 60)) ;;
        *) echo "${1%s}" ;;
    esac
}

fname() { echo "${1//\//.}"; } # file-name form of a row name (postgres/create -> postgres.create)

declare -A R_RPS R_P50 R_P99 R_ERR R_DETAIL R_BASE R_CPU
declare -a DONE_SCENARIOS=()
NOTES=()
SETUP_NOTES=()

run_wrk() { # run_wrk NAME LUA PORT [CONNECTIONS]: one measured wrk run, parses RESULT
    local name=$1 lua=$2 port=$3 conns=${4:-$CONNECTIONS}
    local out=$OUT/$(fname "$name").wrk.txt
    log "$name: wrk -t$THREADS -c$conns -d$DURATION --latency -s $(basename "$lua") http://127.0.0.1:$port/"
    ((CPU_STATS)) && python3 "$BENCH_DIR/cpu_split.py" snap "$OUT/cpu.before.json" "$$"
    CODES_FILE=$CODES_FILE WRK_THREADS=$THREADS WRK_MODE=random \
        wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency -s "$lua" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 || {
        cat "$out" >&2
        die "$name: wrk failed"
    }
    if ((CPU_STATS)); then
        python3 "$BENCH_DIR/cpu_split.py" snap "$OUT/cpu.after.json" "$$"
        R_CPU[$name]=$(python3 "$BENCH_DIR/cpu_split.py" diff "$OUT/cpu.before.json" "$OUT/cpu.after.json")
        echo "${R_CPU[$name]}" >>"$out"
    fi
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
    R_BASE[$name]=${ROW_PREFIX}nginx-302
    if [[ ${f[requests]} == 0 ]]; then
        log "WARNING: $name completed 0 requests"
    fi
    if [[ ${f[errors]} != 0 ]]; then
        NOTES+=("$name errors: ${R_DETAIL[$name]} (status = non-2xx/3xx responses)")
    fi
}

add_row() { DONE_SCENARIOS+=("$1"); } # add_row NAME: NAME's results become a table row

# The machine is shared: its speed drifts over a run, and one nginx run
# followed a minute later by one shorty run gives ratios that swing by
# +-0.15 between runs. So each redirect row is measured in ROUNDS pairs, an
# nginx run right before each shorty run, and the row is the pair with the
# median ratio. Every pair is listed under the table.
declare -a ROUND_NOTES=()
measure_vs_nginx() { # measure_vs_nginx NAME LUA PORT: NAME's row
    local name=$1 lua=$2 port=$3 r
    if ((ROUNDS == 1)) || [[ -z $NGINX_PID ]]; then
        run_wrk "$name" "$lua" "$port"
        add_row "$name"
        return
    fi
    local -a pairs=()
    local errors=0
    for ((r = 1; r <= ROUNDS; r++)); do
        run_wrk "$name@nginx$r" "$BENCH_DIR/redirect.lua" "$NGINX_PORT"
        run_wrk "$name@$r" "$lua" "$port"
        errors=$((errors + ${R_ERR[$name@$r]}))
        pairs+=("$(awk -v s="${R_RPS[$name@$r]}" -v n="${R_RPS[$name@nginx$r]}" \
            'BEGIN { printf "%.4f", (n > 0 ? s / n : 0) }') $r")
    done
    local median
    median=$(printf '%s\n' "${pairs[@]}" | sort -n | awk -v k=$(((ROUNDS + 1) / 2)) 'NR == k { print $2 }')
    R_RPS[$name]=${R_RPS[$name@$median]}
    R_P50[$name]=${R_P50[$name@$median]}
    R_P99[$name]=${R_P99[$name@$median]}
    R_ERR[$name]=$errors
    R_CPU[$name]=${R_CPU[$name@$median]:-}
    R_BASE[$name]=$name@nginx$median
    local note="$name, $ROUNDS pairs (nginx -> shorty requests/s = ratio):"
    for ((r = 1; r <= ROUNDS; r++)); do
        note+=" $(awk -v s="${R_RPS[$name@$r]}" -v n="${R_RPS[$name@nginx$r]}" \
            'BEGIN { printf "%.0f -> %.0f = %.2f", n, s, (n > 0 ? s / n : 0) }')"
        ((r == median)) && note+=" (reported)"
        ((r < ROUNDS)) && note+=";"
    done
    ROUND_NOTES+=("$note")
    add_row "$name"
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
PG_PRELOAD_RATE=""

import_links() { # import_links DB_URL LABEL: shorty import of $PRELOAD, prints the rate
    local url=$1 label=$2 t0 t1
    log "preloading $LINKS links ($label): shorty import --database-url $url < $PRELOAD"
    t0=$(now_ns)
    if ! "$SHORTY_BIN" import --database-url "$url" <"$PRELOAD" >>"$OUT/import.log" 2>&1; then
        tail -n 30 "$OUT/import.log" >&2
        die "shorty import ($label) failed (full log: $OUT/import.log)"
    fi
    t1=$(now_ns)
    awk -v n="$LINKS" -v ns=$((t1 - t0)) \
        'BEGIN { s = ns / 1e9; printf "%d links in %.2f s = %.0f links/s", n, s, (s > 0 ? n / s : 0) }'
}

if ((RUN_SHORTY)); then
    if ((BUILD)); then
        log "cargo build --release --bin shorty"
        cargo build --release --bin shorty >&2
    fi
    [[ -x $SHORTY_BIN ]] || die "no shorty binary at $SHORTY_BIN"

    if ((NEED_SQLITE)); then
        PRELOAD_RATE=$(import_links "$SQLITE_URL" sqlite)
        log "preload (sqlite): $PRELOAD_RATE"
    fi
    if ((NEED_PG)); then
        psql_admin 'SELECT 1' >/dev/null || die "PostgreSQL not reachable at $PG_URL"
        # One preloaded template database; every PostgreSQL setup gets a fresh
        # copy of it (CREATE DATABASE ... TEMPLATE), so the import runs once.
        CREATED_DBS+=("$PG_TEMPLATE_DB")
        psql_admin "CREATE DATABASE $PG_TEMPLATE_DB" >&2
        log "shorty migrate --database-url $PG_URL/$PG_TEMPLATE_DB"
        "$SHORTY_BIN" migrate --database-url "$PG_URL/$PG_TEMPLATE_DB" >>"$OUT/import.log" 2>&1 ||
            die "shorty migrate failed (log: $OUT/import.log)"
        PG_PRELOAD_RATE=$(import_links "$PG_URL/$PG_TEMPLATE_DB" postgres)
        log "preload (postgres): $PG_PRELOAD_RATE"
        PRELOAD_RATE=$([[ $PRELOAD_RATE == n/a* ]] && echo "" || echo "sqlite $PRELOAD_RATE; ")
        PRELOAD_RATE+="postgres $PG_PRELOAD_RATE"
        pg_size=$(psql_admin "SELECT pg_size_pretty(pg_database_size('$PG_TEMPLATE_DB'))")
        NOTES+=("PostgreSQL database after the preload: $pg_size")
    fi
    if ((NEED_REDIS)); then
        [[ $(redis-cli -u "$REDIS_URL" ping 2>/dev/null) == PONG ]] || die "Redis not reachable at $REDIS_URL"
    fi
    if ((LINKS > HIT_CACHE_CAPACITY)); then
        NOTES+=("LINKS ($LINKS) > HIT_CACHE_CAPACITY ($HIT_CACHE_CAPACITY): redirect-hit cannot hold every link in cache")
    fi
fi

# ---------------------------------------------------------------- setups ----
SETUP=""
ROW_PREFIX=""         # "" for a plain SQLite run (the historical row names), else "<setup>/"
SETUP_ARGS=()         # serve flags of the current setup (database, Redis)
REDIS_PREFIX=""
if [[ $SETUPS != sqlite ]]; then PREFIX_ROWS=1; else PREFIX_ROWS=0; fi

begin_setup() { # begin_setup NAME: database and Redis prefix for one setup
    SETUP=$1
    ROW_PREFIX=""
    ((PREFIX_ROWS)) && ROW_PREFIX="$SETUP/"
    SETUP_ARGS=()
    REDIS_PREFIX=""
    case $SETUP in
        sqlite) DB_URL=$SQLITE_URL ;;
        *)
            ((RUN_SHORTY)) || return 0
            local db=${RUN_TAG}_${SETUP//-/_} t0 t1
            CREATED_DBS+=("$db")
            t0=$(now_ns)
            psql_admin "CREATE DATABASE $db TEMPLATE $PG_TEMPLATE_DB" >&2
            t1=$(now_ns)
            log "$SETUP: database $db copied from $PG_TEMPLATE_DB in $(((t1 - t0) / 1000000)) ms"
            DB_URL=$PG_URL/$db
            if [[ -n $DB_POOL_SIZE ]]; then SETUP_ARGS+=(--db-pool-size "$DB_POOL_SIZE"); fi
            if [[ $SETUP != postgres ]]; then
                REDIS_PREFIX="${RUN_TAG}_${SETUP//-/_}:"
                REDIS_PREFIXES+=("$REDIS_PREFIX")
                SETUP_ARGS+=(--redis-url "$REDIS_URL" --redis-key-prefix "$REDIS_PREFIX")
            fi
            ;;
    esac
}

redis_key_count() { # keys under the current setup's prefix
    redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_PREFIX*" | wc -l
}

# ---------------------------------------------------------------- shorty ----
start_instance() { # start_instance CACHE_CAPACITY HTTP_THREADS [extra serve args...]
    local cap=$1 threads=$2
    shift 2
    local port pid
    port=$(free_port)
    local -a cmd=("$SHORTY_BIN" serve --listen "127.0.0.1:$port" --database-url "$DB_URL"
        --log-format json --cache-capacity "$cap" "${SETUP_ARGS[@]+"${SETUP_ARGS[@]}"}"
        "${EXTRA_SERVE_ARGS[@]+"${EXTRA_SERVE_ARGS[@]}"}" "$@")
    log "starting: TOKIO_WORKER_THREADS=$threads ${cmd[*]}"
    printf '\n===== %s [%s] TOKIO_WORKER_THREADS=%s %s\n' "$(date -Is)" "$SETUP" "$threads" "${cmd[*]}" >>"$SHORTY_LOG"
    TOKIO_WORKER_THREADS=$threads "${cmd[@]}" >>"$SHORTY_LOG" 2>&1 &
    pid=$!
    SHORTY_PIDS+=("$pid")
    INSTANCE_PORTS+=("$port")
    local deadline=$((SECONDS + 30)) code
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$SHORTY_LOG" >&2
            die "shorty exited during startup (log: $SHORTY_LOG)"
        fi
        code=$(http_code "http://127.0.0.1:$port/_health")
        [[ $code == 200 ]] && break
        if ((SECONDS >= deadline)); then
            tail -n 40 "$SHORTY_LOG" >&2
            die "shorty not healthy after 30 s (last /_health status: $code; log: $SHORTY_LOG)"
        fi
        sleep 0.1
    done
    log "shorty ready on 127.0.0.1:$port (pid $pid)"
}

start_shorty() { # start_shorty CACHE_CAPACITY [extra serve args...]; sets SHORTY_PORT (what wrk hits)
    local cap=$1
    shift
    if [[ $SETUP == cluster ]]; then
        local i
        for ((i = 0; i < CLUSTER_INSTANCES; i++)); do
            start_instance "$cap" "$CLUSTER_WORKERS" "$@"
        done
        start_lb
        SHORTY_PORT=$LB_PORT
    else
        start_instance "$cap" "$WORKERS" "$@"
        SHORTY_PORT=${INSTANCE_PORTS[0]}
    fi
}

stop_shorty() {
    stop_pid "$LB_PID" nginx-lb
    LB_PID=""
    local pid
    for pid in "${SHORTY_PIDS[@]+"${SHORTY_PIDS[@]}"}"; do stop_pid "$pid" shorty; done
    SHORTY_PIDS=()
    INSTANCE_PORTS=()
    if [[ $DB_URL == postgres* ]]; then
        # Statements a stopped instance abandoned keep running (and holding
        # row locks) in PostgreSQL. Count them, then end them, so the next
        # scenario starts from a quiet database.
        local db=${DB_URL##*/} left
        sleep 0.5
        left=$(psql_admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle'")
        if ((left > 0)); then
            local detail
            detail=$(psql_admin "SELECT string_agg(n || '× ' || q, '; ') FROM (SELECT count(*) AS n, left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS q FROM pg_stat_activity WHERE datname = '$db' AND state <> 'idle' GROUP BY 2) t")
            log "WARNING: $left PostgreSQL backends still busy in $db after shorty stopped ($detail); terminating them"
            NOTES+=("$SETUP/$CUR_SCENARIO: $left PostgreSQL backends still busy after every shorty instance had exited ($detail); terminated by the harness")
        fi
        psql_admin "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$db'" >/dev/null
    fi
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

declare -a WARMUP_NOTES=()

warm_cache() { # warm_cache NAME PORT: one sequential pass over all codes
    local name=$1 port=$2 out t0 t1 ndone
    out=$OUT/$(fname "$name").warmup.txt
    log "$name: warming with one pass over $LINKS codes via port $port (max $WARMUP_MAX)"
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
    local secs note errs
    secs=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }')
    if ((${ndone:-0} >= THREADS)); then
        note="complete pass over $LINKS codes in ${secs} s"
    else
        note="INCOMPLETE: only $ndone/$THREADS wrk threads finished their slice within WARMUP_MAX=$WARMUP_MAX"
        NOTES+=("$name warm-up incomplete; raise WARMUP_MAX")
    fi
    errs=$(sed -n 's/^RESULT .* errors=\([0-9]*\) .*/\1/p' "$out" | tail -n 1)
    if [[ -n $errs && $errs != 0 ]]; then note+=" ($errs wrk errors during the pass)"; fi
    log "$name warm-up: $note"
    WARMUP_NOTES+=("$name via port $port: $note")
}

# ----------------------------------------------------------------- nginx ----
render_nginx_conf() { # render_nginx_conf TEMPLATE PREFIX PORT WORKERS [UPSTREAMS]
    local template=$1 prefix=$2 port=$3 workers=$4 upstreams=${5:-} temp_paths="" m nginx_v
    mkdir -p "$prefix/tmp"
    # Point the temp dirs of every compiled-in module into the prefix.
    nginx_v=$(nginx -V 2>&1)
    for m in proxy fastcgi uwsgi scgi; do
        if [[ $nginx_v != *"--without-http_${m}_module"* ]]; then
            temp_paths+="    ${m}_temp_path $prefix/tmp/$m;"$'\n'
        fi
    done
    TEMP_PATHS=$temp_paths WORKERS=$workers NGINX_PORT=$port PREFIX=$prefix UPSTREAMS=$upstreams \
        python3 - "$template" "$prefix/nginx.conf" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
for key, val in (("@TEMP_PATHS@\n", os.environ["TEMP_PATHS"]), ("@UPSTREAMS@\n", os.environ["UPSTREAMS"]),
                 ("@WORKERS@", os.environ["WORKERS"]), ("@PORT@", os.environ["NGINX_PORT"]),
                 ("@PREFIX@", os.environ["PREFIX"])):
    text = text.replace(key, val)
open(sys.argv[2], "w").write(text)
PY
    nginx -t -q -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log" >&2 ||
        die "nginx config test failed ($prefix/nginx.conf)"
}

start_nginx() {
    local prefix=$OUT/nginx
    NGINX_PORT=$(free_port)
    render_nginx_conf "$BENCH_DIR/nginx.conf.template" "$prefix" "$NGINX_PORT" "$WORKERS"
    local -a args=(-p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log")
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

start_lb() { # nginx load balancer in front of every port in INSTANCE_PORTS; sets LB_PORT
    local prefix=$OUT/nginx-lb upstreams="" p
    LB_PORT=$(free_port)
    for p in "${INSTANCE_PORTS[@]}"; do upstreams+="        server 127.0.0.1:$p;"$'\n'; done
    render_nginx_conf "$BENCH_DIR/nginx-lb.conf.template" "$prefix" "$LB_PORT" "$LB_WORKERS" "$upstreams"
    local -a args=(-p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log")
    log "starting load balancer: nginx ${args[*]} -g 'daemon off;' (upstreams: ${INSTANCE_PORTS[*]})"
    nginx "${args[@]}" -g 'daemon off;' >>"$prefix/stdout.log" 2>&1 &
    LB_PID=$!
    local deadline=$((SECONDS + 10))
    until [[ $(http_code "http://127.0.0.1:$LB_PORT/_health") == 200 ]]; do
        if ! kill -0 "$LB_PID" 2>/dev/null || ((SECONDS >= deadline)); then
            tail -n 20 "$prefix/error.log" >&2 || true
            die "load-balancer nginx did not come up on 127.0.0.1:$LB_PORT"
        fi
        sleep 0.1
    done
    log "load balancer ready on 127.0.0.1:$LB_PORT (pid $LB_PID)"
}

# ------------------------------------------------------------- scenarios ----
declare -A RSS_HIT RSS_CREATE
CREATE_FLAGS=(--create-rate 1000000000 --create-burst 1000000000)

scenario_nginx_302() { # leaves nginx running for the redirect rows' pairs (see measure_vs_nginx)
    stop_nginx
    start_nginx
    check_redirect nginx-302 "$NGINX_PORT" "$FIRST_CODE"
    run_wrk "${ROW_PREFIX}nginx-302" "$BENCH_DIR/redirect.lua" "$NGINX_PORT"
    add_row "${ROW_PREFIX}nginx-302"
}

stop_nginx() {
    stop_pid "$NGINX_PID" nginx
    NGINX_PID=""
}

scenario_redirect_hit() { # scenario_redirect_hit [ROW_SUFFIX [extra serve args...]]
    local name=${ROW_PREFIX}redirect-hit${1:-} p
    (($# == 0)) || shift
    start_shorty "$HIT_CACHE_CAPACITY" "$@"
    check_redirect "$name" "$SHORTY_PORT" "$FIRST_CODE"
    check_redirect "$name" "$SHORTY_PORT" "$LAST_CODE"
    if [[ $SETUP == cluster ]]; then
        # Round robin would leave each instance's local cache with about a
        # third of the codes after one pass through the balancer, so every
        # instance is warmed directly, one full pass each.
        local i=0
        for p in "${INSTANCE_PORTS[@]}"; do
            i=$((i + 1))
            check_redirect "$name" "$p" "$FIRST_CODE"
            warm_cache "$name.instance$i" "$p"
        done
    else
        warm_cache "$name" "$SHORTY_PORT"
    fi
    # Cached links are re-read after LINK_TTL (300 s, src/links/cache.rs):
    # measured later than that after the warm-up, this row would be misses.
    if ((ROUNDS * 2 * $(seconds "$DURATION") > 240)); then
        NOTES+=("$name: ROUNDS x 2 x DURATION exceeds 240 s; runs ending more than 300 s after the warm-up measure cache misses (LINK_TTL)")
    fi
    measure_vs_nginx "$name" "$BENCH_DIR/redirect.lua" "$SHORTY_PORT"
    RSS_HIT[$SETUP]=$(shorty_rss)
    stop_shorty
}

# The same as redirect-hit with metrics recording switched off, to measure
# what recording costs the redirect path (issue 4's <= 5% budget).
scenario_redirect_hit_no_metrics() {
    scenario_redirect_hit -no-metrics --metrics false
}

scenario_redirect_miss() {
    local name=${ROW_PREFIX}redirect-miss
    start_shorty "$MISS_CACHE_CAPACITY"
    check_redirect "$name" "$SHORTY_PORT" "$LAST_CODE"
    if [[ -n $REDIS_PREFIX ]]; then
        # "Local cache tiny, Redis warm": one sequential pass through the
        # server(s) fills Redis (read-through), then random codes are measured.
        warm_cache "$name" "$SHORTY_PORT"
        sleep 1 # let the background SET NX fills drain
        SETUP_NOTES+=("$SETUP: Redis keys under $REDIS_PREFIX after the redirect-miss warm-up: $(redis_key_count)")
    fi
    measure_vs_nginx "$name" "$BENCH_DIR/redirect.lua" "$SHORTY_PORT"
    stop_shorty
}

scenario_create() {
    start_shorty "$HIT_CACHE_CAPACITY" "${CREATE_FLAGS[@]}"
    local res c name
    res=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
        -H 'Content-Type: application/json' \
        --data '{"url":"https://example.com/bench/sanity"}' \
        "http://127.0.0.1:$SHORTY_PORT/api/v1/links" 2>/dev/null || true)
    if [[ $res != 201 ]]; then
        tail -n 20 "$SHORTY_LOG" >&2
        die "create: sanity POST /api/v1/links answered '$res', expected 201"
    fi
    for c in "${CREATE_CONN_LIST[@]}"; do
        name=${ROW_PREFIX}create
        [[ $c == "$CONNECTIONS" ]] || name+="-c$c"
        run_wrk "$name" "$BENCH_DIR/create.lua" "$SHORTY_PORT" "$c"
        add_row "$name"
    done
    RSS_CREATE[$SETUP]=$(shorty_rss)
    if [[ $DB_URL == postgres* ]]; then
        SETUP_NOTES+=("$SETUP: links in PostgreSQL after create: $(psql "$DB_URL" -X -A -t -c 'SELECT count(*) FROM links' 2>/dev/null || echo '?')")
    fi
    stop_shorty
}

end_setup() { # frees the setup's nginx, database and Redis keys right away (the exit trap would too)
    stop_nginx
    if [[ $DB_URL == postgres* ]]; then
        log "$SETUP: dropping database ${DB_URL##*/}"
        psql_admin "DROP DATABASE IF EXISTS ${DB_URL##*/} WITH (FORCE)" >&2
    fi
    if [[ -n $REDIS_PREFIX ]]; then
        log "$SETUP: deleting Redis keys $REDIS_PREFIX*"
        redis_del_prefix "$REDIS_PREFIX"
    fi
}

CUR_SCENARIO=""
for st in "${SETUP_LIST[@]}"; do
    begin_setup "$st"
    for s in "${SCENARIO_LIST[@]}"; do
        CUR_SCENARIO=$s
        log "=== setup $st, scenario $s"
        "scenario_${s//-/_}"
    done
    end_setup
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
if ((RUN_NGINX)) || [[ " $SETUPS " == *" cluster "* ]]; then nginx_version=$(nginx -v 2>&1 | sed 's/^nginx version: //'); fi
pg_version=""
redis_version=""
if ((RUN_SHORTY && NEED_PG)); then pg_version=$(psql_admin 'SHOW server_version' 2>/dev/null || true); fi
if ((RUN_SHORTY && NEED_REDIS)); then redis_version=$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | sed -n 's/^redis_version:\(.*\)\r*$/\1/p' | tr -d '\r'); fi

fmt_row() { # fmt_row NAME
    local n=$1 base_name=${R_BASE[$1]}
    awk -v n="$n" -v rps="${R_RPS[$n]}" -v p50="${R_P50[$n]}" -v p99="${R_P99[$n]}" \
        -v err="${R_ERR[$n]}" -v base="${R_RPS[$base_name]:-}" \
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
    echo "- load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency over 127.0.0.1 (create: -c ${CREATE_CONN_LIST[*]}); wrk and the server share the same $(nproc) CPUs"
    echo "- servers: nginx worker_processes=$WORKERS / shorty TOKIO_WORKER_THREADS=$WORKERS"
    if [[ " $SETUPS " == *" cluster "* ]]; then
        echo "- cluster: $CLUSTER_INSTANCES shorty instances with TOKIO_WORKER_THREADS=$CLUSTER_WORKERS each, behind one nginx load balancer with worker_processes=$LB_WORKERS (round robin, keepalive to the upstreams)"
    fi
    echo "- setups: $SETUPS"
    if ((RUN_SHORTY)); then
        # The commit above is HEAD at report time; with BUILD=0 the binary may be older.
        echo "- shorty binary: $SHORTY_BIN, modified $(date -u -r "$SHORTY_BIN" '+%Y-%m-%d %H:%M:%S UTC')"
    fi
    echo "- tools: ${wrk_version:-wrk ?}${nginx_version:+, $nginx_version}${pg_version:+, PostgreSQL $pg_version}${redis_version:+, Redis $redis_version}"
    echo "- preload (shorty import): $PRELOAD_RATE"
    for note in "${WARMUP_NOTES[@]+"${WARMUP_NOTES[@]}"}"; do echo "- warm-up: $note"; done
    for st in "${SETUP_LIST[@]}"; do
        if [[ -n ${RSS_HIT[$st]:-} || -n ${RSS_CREATE[$st]:-} ]]; then
            echo "- shorty RSS (VmRSS, $st): after redirect-hit ${RSS_HIT[$st]:-n/a} MiB, after create ${RSS_CREATE[$st]:-n/a} MiB"
        fi
    done
    for note in "${SETUP_NOTES[@]+"${SETUP_NOTES[@]}"}"; do echo "- $note"; done
    for note in "${NOTES[@]+"${NOTES[@]}"}"; do echo "- note: $note"; done
    echo
    echo "| scenario | requests/s | p50 ms | p99 ms | errors | ratio vs nginx |"
    echo "|---|---:|---:|---:|---:|---:|"
    for s in "${DONE_SCENARIOS[@]}"; do fmt_row "$s"; done
    if ((${#ROUND_NOTES[@]} > 0)); then
        echo
        echo "Each redirect row is the pair with the median ratio out of $ROUNDS nginx-then-shorty pairs:"
        echo
        for note in "${ROUND_NOTES[@]}"; do echo "- $note"; done
    fi
    if ((CPU_STATS)); then
        echo
        echo "CPU split during each measured run (% of one CPU, from /proc; $(nproc) CPUs = $(($(nproc) * 100))%):"
        echo
        for s in "${DONE_SCENARIOS[@]}"; do echo "- $s: ${R_CPU[$s]:-n/a}"; done
    fi
} | tee "$OUT/results.md"
log "raw wrk output and logs are in $OUT/"
