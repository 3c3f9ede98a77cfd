#!/usr/bin/env python3
"""Sampler and flatness analysis behind bench/soak.sh (stdlib only).

    soak.py sample --pid PID --metrics-url URL --every S --duration D
                   --warmup W --out-dir DIR [--db PATH]
    soak.py report --out-dir DIR --warmup W [--cache-capacity N]
                   [--rss-tol-pct P] [--fd-tol N] [--series-tol N]
                   [--fail-reason TEXT ...]

`sample` takes one sample at t = 0, every, 2*every, ... up to `duration`
seconds (t counted from its own start, which soak.sh puts right before
wrk's) and appends it to DIR/samples.csv:

    elapsed_s     seconds since the start of the load
    vmrss_kib     VmRSS of PID (/proc/PID/status), and its parts
    rss_anon_kib    RssAnon: heap, stacks, SQLite's page caches
    rss_file_kib    RssFile: file-backed pages, e.g. SQLite's mmap of the db
    fds           entries in /proc/PID/fd
    threads       Threads: in /proc/PID/status
    series        non-comment, non-empty lines of GET /metrics
    metrics_kib   size of that response
    scrape_ms     how long the GET took, reading included
    requests      sum of shorty_http_requests_total
    http_5xx      the part of it with a 5xx status
    links_created shorty_links_created_total
    cache_local_misses  shorty_cache_requests_total{layer="local",result="miss"}
                  (each miss loads the code and puts it, or a "missing"
                  marker, into the cache: a proxy for how full it is)
    db_kib        size of the SQLite file plus its -wal and -shm

A metrics value is empty when the scrape failed. It also keeps the
/metrics text of the first sample at or after the warm-up
(DIR/metrics.warmup.txt); against soak.sh's scrape after the load
(DIR/metrics.final.txt) the report names the series that appeared after
the warm-up. It stops early (exit 3) if PID goes away.

`report` prints the markdown analysis (sample table, flatness verdict,
request mix from DIR/wrk.txt and DIR/metrics.final.txt, shorty.log
summary) and exits 0 when every checked metric is flat and nothing
failed, 1 when something is not flat or a --fail-reason was given or
shorty answered 5xx, 2 when there are too few samples after the warm-up.
The flatness rule is in bench/README.md ("Soak").
"""
import argparse
import csv
import json
import os
import re
import signal
import sys
import time
import urllib.request

COLUMNS = [
    "elapsed_s", "vmrss_kib", "rss_anon_kib", "rss_file_kib", "fds", "threads", "series",
    "metrics_kib", "scrape_ms", "requests", "http_5xx", "links_created", "cache_local_misses",
    "db_kib",
]

LINE_RE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+-?\d+)?$')
LABEL_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
STANDARD_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}


# ------------------------------------------------------------------ metrics --
def iter_samples(path, prefix=b"", skip_buckets=False):
    """(name, {labels}, value) of the sample lines of a saved scrape that start
    with prefix, read line by line (the file can be hundreds of MB)."""
    with open(path, "rb") as f:
        for raw in f:
            if not raw.startswith(prefix) or raw[:1] in (b"#", b"\n"):
                continue
            if skip_buckets and b"_bucket{" in raw:
                continue
            m = LINE_RE.match(raw.decode("utf-8", "replace").strip())
            if not m:
                continue
            try:
                v = float(m.group(3))
            except ValueError:
                continue
            yield m.group(1), dict(LABEL_RE.findall(m.group(2) or "")), v


# A series explosion can make /metrics hundreds of MB, so a scrape is read in
# chunks and scanned with bytes operations, never split into Python lines.
REQ_CHUNK_RE = re.compile(rb'\nshorty_http_requests_total\{(.*)\} (\S+)')
CREATED_CHUNK_RE = re.compile(rb'\nshorty_links_created_total (\S+)')
CACHE_CHUNK_RE = re.compile(rb'\nshorty_cache_requests_total\{(.*)\} (\S+)')
EMPTY_LINE_RE = re.compile(rb'\n(?=\n)')


def scrape(url, timeout, save_path=None):
    """GETs /metrics and returns its summary; the text goes to save_path if given."""
    res = {"series": 0, "requests": 0.0, "http_5xx": 0.0, "links_created": 0.0,
           "cache_local_misses": 0.0, "metrics_kib": 0}
    save = open(save_path, "wb") if save_path else None
    size = 0
    carry = b""

    def scan(block):  # block: whole lines, each ending in \n
        p = b"\n" + block
        res["series"] += p.count(b"\n") - 1 - p.count(b"\n#") - len(EMPTY_LINE_RE.findall(p))
        for labels, v in REQ_CHUNK_RE.findall(p):
            n = float(v)
            res["requests"] += n
            if b'status="5' in labels:
                res["http_5xx"] += n
        for v in CREATED_CHUNK_RE.findall(p):
            res["links_created"] += float(v)
        for labels, v in CACHE_CHUNK_RE.findall(p):
            if b'layer="local"' in labels and b'result="miss"' in labels:
                res["cache_local_misses"] += float(v)

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                size += len(chunk)
                if save:
                    save.write(chunk)
                buf = carry + chunk
                cut = buf.rfind(b"\n")
                if cut < 0:
                    carry = buf
                    continue
                scan(buf[:cut + 1])
                carry = buf[cut + 1:]
        if carry:
            scan(carry + b"\n")
    finally:
        if save:
            save.close()
    res["metrics_kib"] = size // 1024
    for k in ("requests", "http_5xx", "links_created", "cache_local_misses"):
        res[k] = int(res[k])
    return res


# ------------------------------------------------------------------- sample --
def proc_status(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                vals[k] = int(v.split()[0])
            elif k == "State" and v.split()[0] in ("Z", "X"):
                raise ProcessLookupError(f"process {pid} is a zombie")
    return vals


def file_kib(paths):
    total = 0
    for p in paths:
        try:
            total += os.stat(p).st_size
        except FileNotFoundError:
            pass
    return total // 1024


def cmd_sample(a):
    stop = {"flag": False}

    def on_term(_sig, _frm):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    csv_path = os.path.join(a.out_dir, "samples.csv")
    f = open(csv_path, "w", newline="")
    w = csv.writer(f)
    w.writerow(COLUMNS)
    f.flush()
    db_files = [a.db, a.db + "-wal", a.db + "-shm"] if a.db else []
    t0 = time.monotonic()
    k = 0
    kept_warmup = False
    # Samples at t = 0, every, 2*every, ... while t < duration: the load
    # ends at `duration`, and a sample taken as wrk closes its connections
    # would show the fds (and more) of a server going idle.
    while not stop["flag"] and k * a.every < a.duration:
        target = t0 + k * a.every
        while not stop["flag"]:
            left = target - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.5))
        if stop["flag"]:
            break
        elapsed = time.monotonic() - t0
        try:
            st = proc_status(a.pid)
            fds = len(os.listdir(f"/proc/{a.pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            print(f"[soak] t={elapsed:.0f}s: process {a.pid} is gone; sampler stops", file=sys.stderr)
            f.close()
            return 3
        save = None
        if not kept_warmup and k * a.every >= a.warmup:
            save = os.path.join(a.out_dir, "metrics.warmup.txt")
        ms = {}
        s0 = time.monotonic()
        try:
            ms = scrape(a.metrics_url, a.timeout, save)
            ms["scrape_ms"] = int((time.monotonic() - s0) * 1000)
            kept_warmup = kept_warmup or save is not None
        except Exception as e:  # noqa: BLE001 - any failure leaves the metric columns empty
            print(f"[soak] t={elapsed:.0f}s: GET {a.metrics_url} failed: {e}", file=sys.stderr)
        row = {
            "elapsed_s": f"{elapsed:.1f}",
            "vmrss_kib": st.get("VmRSS", ""),
            "rss_anon_kib": st.get("RssAnon", ""),
            "rss_file_kib": st.get("RssFile", ""),
            "fds": fds,
            "threads": st.get("Threads", ""),
            "db_kib": file_kib(db_files) if db_files else "",
        }
        for c in ("series", "metrics_kib", "scrape_ms", "requests", "http_5xx", "links_created",
                  "cache_local_misses"):
            row[c] = ms.get(c, "")
        w.writerow([row[c] for c in COLUMNS])
        f.flush()
        print(f"[soak] t={elapsed:5.0f}s rss={int(row['vmrss_kib'] or 0) / 1024:.1f} MiB "
              f"(anon {int(row['rss_anon_kib'] or 0) / 1024:.1f}) fds={fds} "
              f"threads={row['threads']} series={row['series']} "
              f"(/metrics {int(row['metrics_kib'] or 0) / 1024:.1f} MiB in {row['scrape_ms']} ms) "
              f"requests={row['requests']} 5xx={row['http_5xx']} "
              f"db={int(row['db_kib'] or 0) / 1024:.1f} MiB", file=sys.stderr)
        # A slow scrape must not be followed by a burst of catch-up samples.
        k = max(k + 1, int((time.monotonic() - t0) // a.every) + 1)
    f.close()
    return 0


# ------------------------------------------------------------------- report --
def read_samples(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        d = {}
        for c in COLUMNS:
            v = r.get(c, "")
            d[c] = float(v) if v not in ("", None) else None
        out.append(d)
    return out


def lsq_slope(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def spark(values):
    bars = "▁▂▃▄▅▆▇█"
    vals = [v for v in values if v is not None]
    if not vals:
        return ""
    lo, hi = min(vals), max(vals)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif hi == lo:
            out.append(bars[0])
        else:
            out.append(bars[min(7, int((v - lo) / (hi - lo) * 8))])
    return "".join(out)


def fmt_num(v, unit):
    if v is None:
        return "n/a"
    if unit == "kib":
        return f"{v / 1024:.1f} MiB"
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def analyse(rows, col, warmup):
    """Flatness figures of one column, or None if too few samples after the warm-up."""
    pts = [(r["elapsed_s"], r[col]) for r in rows if r[col] is not None]
    post = [(t, v) for t, v in pts if t >= warmup - 0.5]
    if len(post) < 3:
        return None
    t_base, base = post[0]
    t_end = post[-1][0]
    third = t_base + (t_end - t_base) * 2 / 3
    last = [v for t, v in post if t >= third - 0.5]
    max_last = max(last)
    slope = lsq_slope([t for t, _ in post], [v for _, v in post])  # per second
    projected = slope * (t_end - t_base)
    return {
        "t_base": t_base, "base": base, "t_end": t_end, "max_last": max_last,
        "min_post": min(v for _, v in post), "max_post": max(v for _, v in post),
        "growth": max_last - base, "slope_min": slope * 60, "projected": projected,
        "all": [v for _, v in pts],
    }


def series_families(path):
    """Label sets of every series of a saved scrape; a histogram's buckets,
    _sum and _count count as one (its _sum and _count lines stand for it)."""
    fams = set()
    for name, labels, _v in iter_samples(path, skip_buckets=True):
        base = re.sub(r"_(sum|count)$", "", name)
        fams.add(base + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}")
    return fams


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def mix_section(out_dir):
    lines = []
    wrk = read(os.path.join(out_dir, "wrk.txt")) or ""
    mix = {}
    m = re.search(r"^MIX (.*)$", wrk, re.M)
    if m:
        for kv in m.group(1).split():
            k, _, v = kv.partition("=")
            mix[k] = int(v)
    final = os.path.join(out_dir, "metrics.final.txt")
    if not os.path.exists(final):
        return ["(no final /metrics scrape: metrics.final.txt is missing)"], 0
    reqs = [(lab.get("method", ""), lab.get("route", ""), lab.get("status", ""), int(v))
            for _n, lab, v in iter_samples(final, b"shorty_http_requests_total{")]

    def count(pred):
        return sum(n for me, ro, st, n in reqs if pred(me, ro, st))

    invented = {}
    for me, _ro, st, n in reqs:
        if me not in STANDARD_METHODS:
            invented[st] = invented.get(st, 0) + n
    invented_methods = len({me for me, _ro, _st, _n in reqs if me not in STANDARD_METHODS})
    create_other = {}
    for me, ro, st, n in reqs:
        if me == "POST" and ro == "/api/v1/links" and st != "201":
            create_other[st] = create_other.get(st, 0) + n
    lines.append("Requests of each kind that wrk generated (`MIX` line of `soak.lua`) "
                 "against what shorty counted in `shorty_http_requests_total` at the end:")
    lines.append("")
    lines.append("| kind | generated | expected answer | shorty counted |")
    lines.append("|---|---:|---|---:|")
    lines.append(f"| hit | {mix.get('hit', 'n/a')} | GET `/{{code}}` 302 | "
                 f"{count(lambda me, ro, st: me == 'GET' and ro == '/{code}' and st == '302')} |")
    ms = (mix.get("miss", 0) + mix.get("scan", 0)) if mix else "n/a"
    lines.append(f"| miss + scan | {ms} (miss {mix.get('miss', 'n/a')}, scan {mix.get('scan', 'n/a')}) | "
                 f"GET `/{{code}}` 404 | "
                 f"{count(lambda me, ro, st: me == 'GET' and ro == '/{code}' and st == '404')} |")
    other = "".join(f", {st}: {n}" for st, n in sorted(create_other.items()))
    lines.append(f"| create | {mix.get('create', 'n/a')} | POST `/api/v1/links` 201 | "
                 f"{count(lambda me, ro, st: me == 'POST' and ro == '/api/v1/links' and st == '201')}"
                 f"{' (other statuses' + other + ')' if other else ''} |")
    inv = ", ".join(f"{st}: {n}" for st, n in sorted(invented.items())) or "none"
    lines.append(f"| method | {mix.get('method', 'n/a')} | 405 (or 404) | {sum(invented.values())} "
                 f"({inv}; {invented_methods} distinct methods in the metrics) |")
    lines.append(f"| path | {mix.get('path', 'n/a')} | GET `unmatched` 404 | "
                 f"{count(lambda me, ro, st: me == 'GET' and ro == 'unmatched' and st == '404')} |")
    lines.append("")
    by_status = {}
    for _me, _ro, st, n in reqs:
        by_status[st] = by_status.get(st, 0) + n
    lines.append("All requests by status: " + ", ".join(f"{st}: {n}" for st, n in sorted(by_status.items()))
                 + f" (total {sum(by_status.values())}; includes the harness's own sanity checks and "
                 "`/metrics` scrapes)")
    e5 = sum(n for st, n in by_status.items() if st.startswith("5"))
    return lines, e5


def log_section(out_dir):
    text = read(os.path.join(out_dir, "shorty.log"))
    if text is None:
        return ["(no shorty.log)"]
    levels, msgs = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            lvl = str(obj.get("level", "?"))
            msg = str(obj.get("message", ""))
            if obj.get("target") == "shorty::http":
                method = obj.get("method")
                if method not in STANDARD_METHODS:
                    method = "<invented method>"
                msg = f"request {method} {obj.get('route')} {obj.get('status')}"
        except ValueError:
            lvl, msg = "(not JSON)", line[:120]
        levels[lvl] = levels.get(lvl, 0) + 1
        key = (lvl, msg[:160])
        msgs[key] = msgs.get(key, 0) + 1
    if not levels:
        return ["shorty.log is empty."]
    out = ["shorty.log lines by level: " + ", ".join(f"{k}: {v}" for k, v in sorted(levels.items()))]
    top = sorted(msgs.items(), key=lambda kv: -kv[1])[:8]
    out.append("")
    out.append("Most frequent messages:")
    out.append("")
    for (lvl, msg), n in top:
        out.append(f"- {n} × {lvl} `{msg}`")
    return out


def cmd_report(a):
    rows = read_samples(os.path.join(a.out_dir, "samples.csv"))
    fail = list(a.fail_reason or [])
    out = []

    # --- samples table (compact: at most ~30 rows, always the warm-up base and the last)
    out.append("### Samples")
    out.append("")
    out.append(f"Every sample is in `samples.csv` ({len(rows)} rows; RssFile and threads only there). "
               "req/s is the rate since the previous row of this table; cache loads are local cache misses, "
               "each of which puts an entry (or a not-found marker) in the cache.")
    out.append("")
    base_idx = next((i for i, r in enumerate(rows) if r["elapsed_s"] >= a.warmup - 0.5), None)
    stride = max(1, -(-len(rows) // 30))
    keep = sorted({i for i in range(0, len(rows), stride)} | {len(rows) - 1}
                  | ({base_idx} if base_idx is not None else set()))
    out.append("| t s | VmRSS MiB | RssAnon MiB | fds | series | /metrics MiB | scrape ms | requests | req/s "
               "| 5xx | created | cache loads | db MiB |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    prev = None

    def mib(v):
        return "" if v is None else f"{v / 1024:.1f}"

    def num(v):
        return "" if v is None else f"{v:.0f}"

    for i in keep:
        r = rows[i]
        rate = ""
        if prev is not None and r["requests"] is not None and prev["requests"] is not None:
            dt = r["elapsed_s"] - prev["elapsed_s"]
            if dt > 0:
                rate = f"{(r['requests'] - prev['requests']) / dt:.0f}"
        mark = " (warm-up end)" if i == base_idx else ""
        out.append(f"| {r['elapsed_s']:.0f}{mark} | {mib(r['vmrss_kib'])} | {mib(r['rss_anon_kib'])} "
                   f"| {num(r['fds'])} | {num(r['series'])} | {mib(r['metrics_kib'])} | {num(r['scrape_ms'])} "
                   f"| {num(r['requests'])} | {rate} | {num(r['http_5xx'])} | {num(r['links_created'])} "
                   f"| {num(r['cache_local_misses'])} | {mib(r['db_kib'])} |")
        prev = r
    out.append("")

    # --- flatness
    checks = [
        ("vmrss_kib", "VmRSS", "pct", a.rss_tol_pct, True),
        ("fds", "open fds", "abs", a.fd_tol, True),
        ("series", "metric series", "abs", a.series_tol, True),
        ("rss_anon_kib", "RssAnon", "pct", a.rss_tol_pct, False),
        ("rss_file_kib", "RssFile", "pct", a.rss_tol_pct, False),
        ("threads", "threads", "abs", a.fd_tol, False),
        ("db_kib", "db + wal size", "pct", a.rss_tol_pct, False),
    ]
    out.append(f"### Flatness after the warm-up ({a.warmup:.0f} s)")
    out.append("")
    out.append("base = the first sample at or after the warm-up; growth = max over the last third of the "
               "run minus base; projected = least-squares slope of every post-warm-up sample × their time "
               f"span. A checked metric is NOT FLAT if growth or projected exceeds its tolerance: "
               f"VmRSS {a.rss_tol_pct:g}% of base, open fds {a.fd_tol:g}, metric series {a.series_tol:g}. "
               "The unchecked rows use the same rule for information only.")
    out.append("")
    out.append("| metric | base | max, last third | growth | slope /min | projected | tolerance | curve (all samples) | verdict |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
    insufficient = False
    results = {}
    for col, label, kind, tol, checked in checks:
        res = analyse(rows, col, a.warmup)
        if res is None:
            if checked:
                insufficient = True
            out.append(f"| {label} | | | | | | | | too few samples after the warm-up |")
            continue
        unit = "kib" if col.endswith("_kib") else ""
        base = res["base"]
        if kind == "pct":
            g = 100 * res["growth"] / base if base else 0.0
            p = 100 * res["projected"] / base if base else 0.0
            bad = g > tol or p > tol
            growth = f"{fmt_num(res['growth'], unit)} ({g:+.1f}%)"
            proj = f"{fmt_num(res['projected'], unit)} ({p:+.1f}%)"
            tol_s = f"{tol:g}%"
            slope = fmt_num(res["slope_min"], unit) if unit else f"{res['slope_min']:.2f}"
        else:
            bad = res["growth"] > tol or res["projected"] > tol
            growth = f"{res['growth']:+.0f}"
            proj = f"{res['projected']:+.1f}"
            tol_s = f"{tol:g}"
            slope = f"{res['slope_min']:+.2f}"
        results[col] = (bad, res)
        verdict = ("**NOT FLAT**" if bad else "flat") if checked else ("(grows)" if bad else "(flat)")
        if checked and bad:
            fail.append(f"{label} not flat after the warm-up")
        out.append(f"| {label}{'' if checked else ' (info)'} | {fmt_num(base, unit)} at {res['t_base']:.0f} s "
                   f"| {fmt_num(res['max_last'], unit)} | {growth} | {slope} | {proj} | {tol_s} "
                   f"| `{spark(res['all'])}` | {verdict} |")
    out.append("")

    # --- hints
    hints = []
    if "vmrss_kib" in results and results["vmrss_kib"][0] and "rss_anon_kib" in results \
            and not results["rss_anon_kib"][0]:
        hints.append("VmRSS grows but RssAnon does not: the growth is file-backed pages, most likely "
                     "SQLite's mmap (up to 1 GiB) of a database file that the creates keep growing.")
    if a.cache_capacity and base_idx is not None:
        misses = rows[base_idx]["cache_local_misses"]
        crossed = next((r["elapsed_s"] for r in rows if (r["cache_local_misses"] or 0) >= a.cache_capacity), None)
        if misses is not None and misses < a.cache_capacity:
            hints.append(f"The in-process cache had taken {misses:.0f} loads by the end of the warm-up, fewer "
                         f"than its capacity ({a.cache_capacity}): it was probably still filling, so part of "
                         "any RSS growth after the warm-up is the cache reaching its bound. "
                         + (f"The loads passed the capacity at t={crossed:.0f} s. " if crossed else
                            "They never reached it during the run. ")
                         + "Lengthen WARMUP or lower CACHE_CAPACITY.")
    series_new = 0
    if "series" in results and results["series"][0]:
        before = os.path.join(a.out_dir, "metrics.warmup.txt")
        after = os.path.join(a.out_dir, "metrics.final.txt")
        if os.path.exists(before) and os.path.exists(after):
            new = sorted(series_families(after) - series_families(before))
            series_new = len(new)
            names = {}
            for s in new:
                n = s.split("{", 1)[0]
                names[n] = names.get(n, 0) + 1
            hints.append(f"{len(new)} label sets appeared after the warm-up (histogram buckets folded), by "
                         "metric: " + ", ".join(f"`{k}` {v}" for k, v in sorted(names.items()))
                         + ". For example: " + "; ".join(f"`{s}`" for s in new[:5]))
    failed = sum(1 for r in rows if r["series"] is None)
    if failed:
        hints.append(f"{failed} of {len(rows)} /metrics scrapes failed (empty cells); the series, requests "
                     "and 5xx columns skip them.")
    if series_new > 100 and "vmrss_kib" in results and results["vmrss_kib"][0]:
        hints.append("Every new series is a registered counter or histogram that lives as long as the "
                     "process, so series growth alone makes RSS grow (and /metrics bigger and slower).")
    if hints:
        out.append("Notes:")
        out.append("")
        out.extend(f"- {h}" for h in hints)
        out.append("")

    # --- mix
    out.append("### Request mix")
    out.append("")
    mix_lines, e5 = mix_section(a.out_dir)
    out.extend(mix_lines)
    out.append("")
    if e5:
        fail.append(f"shorty answered {e5} requests with a 5xx status")

    out.append("### shorty.log")
    out.append("")
    out.extend(log_section(a.out_dir))
    out.append("")

    out.append("### Verdict")
    out.append("")
    if fail:
        out.append("**FAIL**: " + "; ".join(fail) + "."
                   + (" (Too few samples after the warm-up to judge flatness.)" if insufficient else ""))
        rc = 1
    elif insufficient:
        out.append(f"INCONCLUSIVE: fewer than 3 samples after the warm-up ({a.warmup:.0f} s); "
                   "lengthen DURATION or shorten WARMUP / SAMPLE_EVERY.")
        rc = 2
    else:
        out.append("PASS: VmRSS, open fds and metric series are flat after the warm-up, and no 5xx.")
        rc = 0
    print("\n".join(out))
    return rc


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--pid", type=int, required=True)
    s.add_argument("--metrics-url", required=True)
    s.add_argument("--every", type=float, default=10)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--warmup", type=float, default=120)
    s.add_argument("--out-dir", required=True)
    s.add_argument("--db", default="")
    s.add_argument("--timeout", type=float, default=5)
    r = sub.add_parser("report")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--warmup", type=float, default=120)
    r.add_argument("--cache-capacity", type=int, default=0)
    r.add_argument("--rss-tol-pct", type=float, default=10)
    r.add_argument("--fd-tol", type=float, default=10)
    r.add_argument("--series-tol", type=float, default=5)
    r.add_argument("--fail-reason", action="append")
    a = p.parse_args()
    if a.cmd == "sample":
        return cmd_sample(a)
    try:
        return cmd_report(a)
    except Exception:  # noqa: BLE001 - a broken analysis must not read as "not flat" (exit 1)
        import traceback
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
