#!/usr/bin/env python3
"""Checks of deploy/observability that promtool does not do itself.

Run by deploy/ci/check-observability:

  check_observability.py static --promtool PATH --work DIR
      The dashboard JSON (parses; unique panel ids; every panel but rows has
      targets, each with a PromQL expression, and uses the ${DS_PROMETHEUS}
      data source), every dashboard expression parses as PromQL (promtool
      check rules on them as recording rules, Grafana variables replaced),
      every alert has a `runbook` annotation naming a section of README.md
      that exists, and a unit test in alerts.test.yml that expects it to
      fire and one that expects it quiet; the Grafana provisioning files.

  check_observability.py live --metrics FILE [--redis-metrics FILE]
      FILE is a fresh shorty's first /metrics scrape. Every shorty_* name in
      a dashboard or alert expression must be a sample name there (a
      histogram's _bucket/_sum/_count are sample names of their own), and
      every selector's label matchers (=, =~) must match at least one
      series, so that a misspelt route or label value fails too. Selectors
      on layer="redis" and shorty_redis_* names are checked against --redis-metrics (a shorty with
      redis_url) or reported as skipped. Labels Prometheus adds (job,
      instance) are not in the exposition and are not checked.

Exit status 1 on any problem, after listing all of them.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DASHBOARD = HERE / "grafana" / "shorty-dashboard.json"
ALERTS = HERE / "prometheus" / "alerts.yml"
ALERT_TESTS = HERE / "prometheus" / "alerts.test.yml"
README = HERE / "README.md"
DATASOURCE = HERE / "grafana" / "provisioning" / "datasources" / "prometheus.yaml"
PROVIDER = HERE / "grafana" / "provisioning" / "dashboards" / "shorty.yaml"

DS_VAR = "${DS_PROMETHEUS}"
# Labels the scrape adds; a fresh process's exposition cannot have them.
SCRAPE_LABELS = {"job", "instance"}

problems = []


def problem(msg):
    problems.append(msg)


# --- expressions -----------------------------------------------------------

def grafana_to_promql(expr):
    """Replaces Grafana's variables with values promtool accepts."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    expr = expr.replace("$__range", "1h")
    # Multi-value variables in regex matchers: any value.
    expr = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)
    return expr


def dashboard_exprs(dash):
    """(where, expr) of every target in the dashboard, rows' panels too."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []) or []:
                if "expr" in t:
                    out.append((f'dashboard panel {p.get("id")} "{p.get("title")}" target {t.get("refId")}', t["expr"]))
            walk(p.get("panels", []) or [])

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\)\s*", q or "")
            if m:
                out.append((f'dashboard variable "{v["name"]}"', m.group(1)))
    return out


def alert_rules():
    doc = yaml.safe_load(ALERTS.read_text())
    rules = []
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            rules.append(r)
    return rules


# Strings, so their contents are not taken for names.
STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
SELECTOR = re.compile(r"(" + STRING + r")|\b(shorty_[a-z0-9_]+|up)\b\s*(\{(?:" + STRING + r"|[^}\"'])*\})?")
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(' + STRING + r")")


def unquote(s):
    return bytes(s[1:-1], "utf-8").decode("unicode_escape")


def selectors(expr):
    """(metric, [(label, op, value)]) for every shorty_*/up selector."""
    out = []
    for m in SELECTOR.finditer(expr):
        if m.group(1):  # a string literal
            continue
        name, braces = m.group(2), m.group(3) or "{}"
        matchers = [(lm.group(1), lm.group(2), unquote(lm.group(3))) for lm in MATCHER.finditer(braces)]
        out.append((name, matchers))
    return out


# --- static ----------------------------------------------------------------

def check_dashboard(promtool, work):
    try:
        dash = json.loads(DASHBOARD.read_text())
    except (OSError, json.JSONDecodeError) as e:
        problem(f"{DASHBOARD.name}: does not parse: {e}")
        return
    for key in ("title", "uid", "panels", "schemaVersion"):
        if key not in dash:
            problem(f"dashboard: no {key!r}")
    names = [v.get("name") for v in dash.get("templating", {}).get("list", [])]
    ds_vars = [v for v in dash.get("templating", {}).get("list", []) if v.get("name") == "DS_PROMETHEUS"]
    if not ds_vars or ds_vars[0].get("type") != "datasource" or ds_vars[0].get("query") != "prometheus":
        problem("dashboard: no templating variable DS_PROMETHEUS of type datasource (query prometheus)")
    ids = {}
    count = 0

    def walk(panels):
        nonlocal count
        for p in panels:
            count += 1
            pid = p.get("id")
            where = f'panel {pid} "{p.get("title")}"'
            if not isinstance(pid, int):
                problem(f"dashboard: {where}: id is not an integer")
            elif pid in ids:
                problem(f'dashboard: {where}: id {pid} also used by "{ids[pid]}"')
            else:
                ids[pid] = p.get("title")
            if "gridPos" not in p:
                problem(f"dashboard: {where}: no gridPos")
            if p.get("type") == "row":
                walk(p.get("panels", []) or [])
                continue
            if p.get("datasource", {}).get("uid") != DS_VAR:
                problem(f"dashboard: {where}: datasource uid is not {DS_VAR}")
            targets = p.get("targets") or []
            if not targets:
                problem(f"dashboard: {where}: no targets")
            refs = set()
            for t in targets:
                if not (t.get("expr") or "").strip():
                    problem(f"dashboard: {where}: target {t.get('refId')} has no expr")
                if t.get("datasource", {}).get("uid") != DS_VAR:
                    problem(f"dashboard: {where}: target {t.get('refId')} datasource uid is not {DS_VAR}")
                if t.get("refId") in refs:
                    problem(f"dashboard: {where}: refId {t.get('refId')} twice")
                refs.add(t.get("refId"))
            # Any other ${...} must be a variable the dashboard defines.
            for var in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", json.dumps(p)):
                if not var.startswith("__") and var not in names:
                    problem(f"dashboard: {where}: uses undefined variable ${var}")

    walk(dash.get("panels", []))
    if count == 0:
        problem("dashboard: no panels")

    # Every expression through promtool's PromQL parser, as recording rules.
    exprs = dashboard_exprs(dash)
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)]}]}
    path = Path(work) / "dashboard-exprs.rules.yml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    res = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        problem("dashboard: expressions that are not valid PromQL:\n" + res.stdout + res.stderr)
        for i in sorted({int(n) for n in re.findall(r"dashboard:expr_(\d+)", res.stdout + res.stderr)}):
            where, e = exprs[i]
            problem(f"  dashboard:expr_{i} is {where}: {e}")
    print(f"dashboard: {count} panels, {len(exprs)} expressions, all parse as PromQL" if res.returncode == 0
          else "dashboard: PromQL errors (above)")


def readme_anchors():
    anchors = set()
    for line in README.read_text().splitlines():
        m = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if m:
            # GitHub's anchors: lowercase, punctuation dropped, spaces to -.
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(a)
    return anchors


def check_alerts():
    rules = alert_rules()
    alerts = [r for r in rules if "alert" in r]
    if not alerts:
        problem("alerts.yml: no alerts")
    anchors = readme_anchors() if README.exists() else set()
    if not README.exists():
        problem("README.md missing")
    tests = yaml.safe_load(ALERT_TESTS.read_text()).get("tests", [])
    fires, quiet = set(), set()
    for t in tests:
        for a in t.get("alert_rule_test", []) or []:
            (fires if a.get("exp_alerts") else quiet).add(a.get("alertname"))
    for r in alerts:
        name = r["alert"]
        runbook = (r.get("annotations") or {}).get("runbook", "")
        m = re.fullmatch(r"deploy/observability/README\.md#([\w\-]+)", runbook)
        if not m:
            problem(f"alert {name}: runbook annotation {runbook!r} is not deploy/observability/README.md#section")
        elif m.group(1) not in anchors:
            problem(f"alert {name}: runbook points at #{m.group(1)}, which is no section of README.md")
        for key in ("summary", "description"):
            if not (r.get("annotations") or {}).get(key):
                problem(f"alert {name}: no {key} annotation")
        if "severity" not in (r.get("labels") or {}):
            problem(f"alert {name}: no severity label")
        if name not in fires:
            problem(f"alert {name}: no unit test in alerts.test.yml expects it to fire")
        if name not in quiet:
            problem(f"alert {name}: no unit test in alerts.test.yml expects it to stay quiet")
    unknown = (fires | quiet) - {r["alert"] for r in alerts}
    for name in sorted(unknown):
        problem(f"alerts.test.yml tests an alert that alerts.yml does not define: {name}")
    print(f"alerts: {len(alerts)} alerts, each with a runbook section and a firing and a quiet unit test"
          if not problems else "alerts: problems (below)")


def check_provisioning():
    ds = yaml.safe_load(DATASOURCE.read_text())
    dss = ds.get("datasources") or []
    if ds.get("apiVersion") != 1 or not dss:
        problem(f"{DATASOURCE.name}: apiVersion 1 with a datasources list expected")
    prom = [d for d in dss if d.get("type") == "prometheus"]
    if not prom:
        problem(f"{DATASOURCE.name}: no prometheus data source")
    elif prom[0].get("url") != "http://prometheus:9090":
        problem(f"{DATASOURCE.name}: url is {prom[0].get('url')!r}, the compose stack's is http://prometheus:9090")
    elif not prom[0].get("isDefault"):
        problem(f"{DATASOURCE.name}: the prometheus data source is not the default (DS_PROMETHEUS picks the default)")
    pv = yaml.safe_load(PROVIDER.read_text())
    provs = pv.get("providers") or []
    if pv.get("apiVersion") != 1 or not provs:
        problem(f"{PROVIDER.name}: apiVersion 1 with a providers list expected")
    elif provs[0].get("type") != "file" or (provs[0].get("options") or {}).get("path") != "/var/lib/grafana/dashboards":
        problem(f"{PROVIDER.name}: a file provider with path /var/lib/grafana/dashboards expected")
    print("provisioning: data source and dashboard provider files are well-formed")


# --- live ------------------------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+\S+")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """{sample name: [labels dict]} of a Prometheus text exposition."""
    series = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = {k: v.encode().decode("unicode_escape") for k, v in LABEL.findall(m.group(3) or "")}
        series.setdefault(m.group(1), []).append(labels)
    return series


def matches(labels, matchers):
    for label, op, value in matchers:
        have = labels.get(label, "")
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op == "=~" and not re.fullmatch(value, have):
            return False
        if op == "!~" and re.fullmatch(value, have):
            return False
    return True


def check_live(metrics_file, redis_file):
    plain = parse_exposition(Path(metrics_file).read_text())
    redis = parse_exposition(Path(redis_file).read_text()) if redis_file else None
    dash = json.loads(DASHBOARD.read_text())
    uses = [(where, grafana_to_promql(e)) for where, e in dashboard_exprs(dash)]
    uses += [(f'alert {r["alert"]}', r["expr"]) for r in alert_rules() if "alert" in r]
    names_used = set()
    checked = skipped = 0
    for where, expr in uses:
        for name, matchers in selectors(expr):
            if name == "up":
                continue  # Prometheus's own, from the scrape
            names_used.add(name)
            # Series that exist only on a shorty with redis_url.
            redis_only = name.startswith("shorty_redis_") or any(
                l == "layer" and op == "=" and v == "redis" for l, op, v in matchers)
            if redis_only:
                if redis is None:
                    skipped += 1
                    continue
                if name not in redis:
                    problem(f"{where}: {name} is not in a fresh shorty's /metrics with redis_url")
                    continue
            elif name not in plain:
                family = re.sub(r"_(bucket|sum|count)$", "", name)
                hint = ""
                if family != name and family in plain:
                    hint = f" ({family} is exported, but not as a histogram with {name[len(family):]})"
                elif name + "_bucket" in plain:
                    hint = f" (a histogram: use {name}_bucket, _sum or _count)"
                problem(f"{where}: {name} is not in a fresh shorty's /metrics{hint}")
                continue
            ms = [m for m in matchers if m[0] not in SCRAPE_LABELS]
            ms = [(l, op, v) for l, op, v in ms if not (op in ("=~", "!~") and v == ".*")]
            exposition = redis if redis_only else plain
            checked += 1
            if not any(matches(labels, ms) for labels in exposition.get(name, [])):
                shown = ",".join(f'{l}{op}"{v}"' for l, op, v in ms)
                values = sorted({tuple(sorted(lbl.items())) for lbl in exposition.get(name, [])})[:8]
                problem(f"{where}: no series {name}{{{shown}}} in a fresh shorty's /metrics "
                        f"(some that are: {[dict(v) for v in values]})")
    exported = sorted(n for n in plain if n.startswith("shorty_"))
    print(f"live: {len(names_used)} shorty_* names used, all in /metrics: {', '.join(sorted(names_used))}"
          if not any("not in a fresh" in p for p in problems) else "live: missing names (below)")
    print(f"live: {checked} selectors' label matchers checked against the exposition"
          + (f", {skipped} Redis-only ones skipped (no Redis to start a shorty with)" if skipped else ""))
    unused = sorted({re.sub(r"_(bucket|sum|count)$", "", n) for n in exported}
                    - {re.sub(r"_(bucket|sum|count)$", "", n) for n in names_used})
    if unused:
        print(f"live: exported but used by neither dashboard nor alerts: {', '.join(unused)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("static")
    s.add_argument("--promtool", required=True)
    s.add_argument("--work", required=True)
    lv = sub.add_parser("live")
    lv.add_argument("--metrics", required=True)
    lv.add_argument("--redis-metrics")
    args = ap.parse_args()
    if args.cmd == "static":
        check_dashboard(args.promtool, args.work)
        check_alerts()
        check_provisioning()
    else:
        check_live(args.metrics, args.redis_metrics)
    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
