#!/usr/bin/env bash
# Usage: bench/instr.sh PATH/TO/shorty LABEL [SECONDS]
# Instructions per cache-hit redirect, counted by callgrind: shorty under
# valgrind with one HTTP thread, 2,000 links warmed into the cache, counters
# zeroed, then wrk sends random GETs for a fixed time; Ir / requests.
# RUST_LOG (default warn) sets the log level: info adds the request line.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$1; LABEL=$2; DUR=${3:-20}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
python3 - "$W" <<'PY'
import sys, random, string
w=sys.argv[1]; rng=random.Random(3)
with open(f"{w}/codes.txt","w") as c, open(f"{w}/preload.jsonl","w") as p:
    for i in range(2000):
        code="q"+"".join(rng.choice(string.ascii_letters) for _ in range(6))
        c.write(code+"\n"); p.write('{"code":"%s","url":"https://example.com/%d"}\n'%(code,i))
PY
"$BIN" import --database-url "sqlite://$W/s.db" < "$W/preload.jsonl" > /dev/null 2>&1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TOKIO_WORKER_THREADS=1 RUST_LOG=${RUST_LOG:-warn} valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database-url "sqlite://$W/s.db" > "$W/log" 2>&1 &
VG=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break; sleep 0.2; done
while read -r c; do curl -s -o /dev/null "http://127.0.0.1:$PORT/$c"; done < "$W/codes.txt"
callgrind_control -z "$VG" > /dev/null
CODES_FILE="$W/codes.txt" wrk -t1 -c8 -d"${DUR}s" -s "$HERE/redirect.lua" "http://127.0.0.1:$PORT" > "$W/wrk.txt" 2>&1
callgrind_control -d "$VG" > /dev/null
sleep 1
REQ=$(grep -o 'requests=[0-9]*' "$W/wrk.txt" | head -1 | cut -d= -f2)
kill -TERM "$VG"; wait "$VG" 2>/dev/null || true
IR=$(grep -h "^summary:" "$W/cg.out.1" | awk "{print \$2}")
echo "$LABEL requests=$REQ Ir=$IR Ir_per_request=$(python3 -c "print(round($IR/$REQ))")"
