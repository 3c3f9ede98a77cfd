#!/usr/bin/env bash
# Does hammering one capped link starve everything else? For each binary in
# BINS (default: target/release/shorty), on a fresh SQLite database:
#
#   creates        wrk create.lua alone            (the single writer's work)
#   creates+hammer the same, while a second wrk GETs one link with
#                  max_clicks = 1e9 as fast as it can
#   misses         wrk redirect.lua over LINKS random codes with a tiny
#                  cache (a store read per request) alone
#   misses+hammer  the same, while the capped link is hammered
#
# Each pair is run ROUNDS times back to back (alone, then with the hammer),
# and the report gives the median ratio "with hammer / alone" per binary,
# every round, and the hammer's own rate. Ratios are taken within a round,
# seconds apart, so the shared machine's drift mostly cancels.
#
#   bash bench/capped.sh
#   BINS="/path/old/shorty target/release/shorty" bash bench/capped.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)

BINS=${BINS:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/shorty}
DURATION=${DURATION:-10}        # seconds per wrk run
ROUNDS=${ROUNDS:-3}
LINKS=${LINKS:-100000}          # preloaded links the misses pick from
CREATE_CONNECTIONS=${CREATE_CONNECTIONS:-16}
MISS_CONNECTIONS=${MISS_CONNECTIONS:-16}
HAMMER_CONNECTIONS=${HAMMER_CONNECTIONS:-32}
OUT=${OUT:-$REPO_ROOT/bench/out/capped-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

log() { printf '[capped %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[capped] ERROR: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
for bin in $BINS; do [[ -x $bin ]] || die "no shorty binary at $bin"; done

# shellcheck source=bench/lib.sh
source bench/lib.sh
result() { grep -o 'rps=[0-9.]*' "$1" | head -n1 | cut -d= -f2; }

log "generating $LINKS links"
python3 - "$LINKS" "$OUT/codes.txt" "$OUT/preload.jsonl" <<'PY'
import random, string, sys
n, codes, preload = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(7)
alphabet = string.ascii_letters + string.digits
with open(codes, "w") as c, open(preload, "w") as p:
    for i in range(n):
        code = "p" + "".join(rng.choice(alphabet) for _ in range(7))
        c.write(code + "\n")
        p.write('{"code":"%s","url":"https://example.com/preloaded/%d"}\n' % (code, i))
PY

server=""
stop_server() { [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=""; }
trap stop_server EXIT

: >"$OUT/results.tsv"
for bin in $BINS; do
    label=$(basename "$(dirname "$(dirname "$bin")")")/$(basename "$(dirname "$bin")")
    db="$OUT/$(echo "$label" | tr '/' '_').db"
    rm -f "$db"*
    "$bin" import --database-url "sqlite://$db" <"$OUT/preload.jsonl" >"$OUT/import.log" 2>&1 || die "import failed"
    port=$(free_port)
    SHORTY_ADMIN_TOKEN=capped-bench-admin-token "$bin" serve --listen "127.0.0.1:$port" \
        --database-url "sqlite://$db" --cache-capacity 1000 \
        --create-rate 1000000000 --create-burst 1000000000 >"$OUT/server.log" 2>&1 &
    server=$!
    base="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
    capped=$(curl -fs -XPOST "$base/api/v1/links" -H 'content-type: application/json' \
        -d '{"url":"https://example.com/capped","max_clicks":1000000000}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/$capped") == 302 ]] || die "capped link does not redirect"
    echo "$capped" >"$OUT/capped-code.txt"
    log "$label: serving on $port, capped link $capped"
    for round in $(seq "$ROUNDS"); do
        for kind in creates misses; do
            if [[ $kind == creates ]]; then
                load=(wrk -t1 -c"$CREATE_CONNECTIONS" -d"${DURATION}s" -s bench/create.lua "$base")
            else
                load=(env CODES_FILE="$OUT/codes.txt" wrk -t1 -c"$MISS_CONNECTIONS" -d"${DURATION}s" -s bench/redirect.lua "$base")
            fi
            "${load[@]}" >"$OUT/$kind-alone.txt" 2>&1
            alone=$(result "$OUT/$kind-alone.txt")
            CODES_FILE="$OUT/capped-code.txt" wrk -t1 -c"$HAMMER_CONNECTIONS" -d"$((DURATION + 2))s" \
                -s bench/redirect.lua "$base" >"$OUT/hammer.txt" 2>&1 &
            hammer=$!
            sleep 1
            "${load[@]}" >"$OUT/$kind-hammered.txt" 2>&1
            wait "$hammer"
            with=$(result "$OUT/$kind-hammered.txt")
            hammer_rps=$(result "$OUT/hammer.txt")
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$kind" "$alone" "$with" "$hammer_rps" |
                tee -a "$OUT/results.tsv" >&2
        done
    done
    stop_server
done

python3 - "$OUT/results.tsv" >"$OUT/report.md" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print("| binary | load | alone req/s (median) | with hammer req/s (median) | ratio (median of rounds) | rounds | hammer req/s (median) |")
print("|---|---|---:|---:|---:|---|---:|")
for label in dict.fromkeys(r[0] for r in rows):
    for kind in ("creates", "misses"):
        mine = [r for r in rows if r[0] == label and r[2] == kind]
        alone = [float(r[3]) for r in mine]
        with_ = [float(r[4]) for r in mine]
        ratios = [w / a for a, w in zip(alone, with_) if a > 0]
        hammer = [float(r[5]) for r in mine]
        print(f"| {label} | {kind} | {statistics.median(alone):,.0f} | {statistics.median(with_):,.0f} | "
              f"{statistics.median(ratios):.2f} | {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(hammer):,.0f} |")
PY
cat "$OUT/report.md"
