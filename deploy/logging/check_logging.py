#!/usr/bin/env python3
"""Checks deploy/logging/vector/ without a Vector binary (none installs
from the registries this project can use).

  check_logging.py schema
      Every YAML file parses; shorty.yaml holds the remap transform
      `shorty` reading `shorty_raw`; every source-*.yaml defines exactly the
      source `shorty_raw`, every sink-*.yaml one sink reading `shorty`;
      every component's type is one this checker knows, with its required
      options present and no option outside the documented ones (a typo
      such as include_unit fails); every source x sink combination merges
      into a valid graph (unique ids, every input exists, no cycle);
      ${VAR} / ${VAR:-default} interpolations are well-formed.

  check_logging.py events --lines FILE --out FILE
      Wraps each real shorty log line (FILE) as the journald, docker_logs,
      file and stdin sources present it, plus lines that are not JSON, as
      VRL CLI input (one JSON event per line), and writes the remap
      program to FILE.vrl.

  check_logging.py verify --lines FILE --events FILE --output FILE
      Judges the VRL CLI's output for those events: every JSON line comes
      out with each of its fields at the same value (timestamp parsed,
      level lowercased), the source's metadata, service = "shorty"; request
      lines with status an integer and latency_ms a number; a non-JSON line
      keeps its text with level "unknown" and a parse_error; every field the
      sinks' templates use exists on every event. And README.md documents
      every field seen in the real lines, and only those.
"""

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
VDIR = HERE / "vector"
README = HERE / "README.md"

# Vector component types used here: required options, and every option the
# checker accepts (Vector's documented ones for that type, a subset).
COMMON = {"type", "inputs"}
KNOWN = {
    "sources": {
        "journald": (set(), {"include_units", "exclude_units", "include_matches", "exclude_matches",
                             "current_boot_only", "since_now", "journal_directory", "journalctl_path",
                             "batch_size", "data_dir", "remap_priority", "extra_args", "acknowledgements",
                             "journal_namespace", "emit_cursor"}),
        "docker_logs": (set(), {"include_containers", "exclude_containers", "include_labels", "include_images",
                                "include_streams", "docker_host", "auto_partial_merge", "partial_event_marker_field",
                                "multiline", "retry_backoff_secs", "tls", "host_key", "data_dir"}),
        "file": ({"include"}, {"include", "exclude", "read_from", "ignore_older_secs", "max_line_bytes",
                              "fingerprint", "glob_minimum_cooldown_ms", "multiline", "data_dir",
                              "file_key", "host_key", "offset_key", "line_delimiter", "encoding",
                              "ignore_checkpoints", "remove_after_secs", "oldest_first", "acknowledgements"}),
        "stdin": (set(), {"max_length", "host_key", "framing", "decoding"}),
    },
    "transforms": {
        "remap": ({"inputs"}, {"source", "file", "drop_on_error", "drop_on_abort", "reroute_dropped",
                               "timezone", "metric_tag_values"}),
    },
    "sinks": {
        "loki": ({"inputs", "endpoint", "encoding", "labels"},
                 {"endpoint", "encoding", "labels", "path", "tenant_id", "out_of_order_action",
                  "remove_label_fields", "remove_timestamp", "structured_metadata", "auth", "batch",
                  "buffer", "compression", "healthcheck", "request", "tls", "acknowledgements"}),
        "elasticsearch": ({"inputs", "endpoints"},
                          {"endpoints", "mode", "bulk", "data_stream", "auth", "api_version", "compression",
                           "id_key", "pipeline", "batch", "buffer", "healthcheck", "request", "tls",
                           "encoding", "acknowledgements", "doc_type", "suppress_type_name"}),
        "console": ({"inputs", "encoding"}, {"encoding", "target", "framing", "acknowledgements"}),
    },
}
TOP_LEVEL = {"data_dir", "sources", "transforms", "sinks", "api", "schema", "log_schema",
             "acknowledgements", "timezone", "enrichment_tables", "secret"}
CODECS = {"json", "text", "logfmt", "raw_message", "native_json"}
INTERP = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")

problems = []


def problem(msg):
    problems.append(msg)


def load(path):
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        problem(f"{path.name}: does not parse: {e}")
        return {}
    if not isinstance(doc, dict):
        problem(f"{path.name}: not a mapping")
        return {}
    for key in doc:
        if key not in TOP_LEVEL:
            problem(f"{path.name}: unknown top-level key {key!r}")
    return doc


def check_interpolation(path):
    for m in INTERP.finditer(path.read_text()):
        inner = m.group(1)
        if inner is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*((:?-|:?\?).*)?", inner):
            problem(f"{path.name}: malformed interpolation ${{{inner}}}")


def check_components(path, doc):
    for kind in ("sources", "transforms", "sinks"):
        for cid, comp in (doc.get(kind) or {}).items():
            where = f"{path.name}: {kind}.{cid}"
            if not isinstance(comp, dict) or "type" not in comp:
                problem(f"{where}: no type")
                continue
            known = KNOWN[kind].get(comp["type"])
            if known is None:
                problem(f"{where}: type {comp['type']!r} is not one this checker knows for {kind}")
                continue
            required, allowed = known
            for opt in required - set(comp):
                problem(f"{where}: missing required option {opt!r}")
            for opt in set(comp) - allowed - COMMON:
                problem(f"{where}: unknown option {opt!r} for type {comp['type']}")
            if kind != "sources":
                inputs = comp.get("inputs")
                if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) for i in inputs):
                    problem(f"{where}: inputs must be a non-empty list of component ids")
            elif "inputs" in comp:
                problem(f"{where}: a source takes no inputs")
            enc = comp.get("encoding")
            if enc is not None and (not isinstance(enc, dict) or enc.get("codec") not in CODECS):
                problem(f"{where}: encoding.codec must be one of {sorted(CODECS)}")
            if comp["type"] == "remap" and not (comp.get("source") or comp.get("file")):
                problem(f"{where}: remap needs source or file")


def merged_graph(docs, names):
    ids = {}
    for doc, name in zip(docs, names):
        for kind in ("sources", "transforms", "sinks"):
            for cid, comp in (doc.get(kind) or {}).items():
                if cid in ids:
                    problem(f"{' + '.join(names)}: component id {cid!r} defined twice ({ids[cid][1]} and {name})")
                ids[cid] = (kind, name, comp)
    for cid, (kind, name, comp) in ids.items():
        for i in comp.get("inputs", []) or []:
            if i not in ids:
                problem(f"{' + '.join(names)}: {cid} reads {i!r}, which no file defines")
            elif ids[i][0] == "sinks":
                problem(f"{' + '.join(names)}: {cid} reads the sink {i!r}")
    # No cycles.
    state = {}

    def visit(c, stack):
        if state.get(c) == 1:
            problem(f"{' + '.join(names)}: cycle {' -> '.join(stack + [c])}")
            return
        if state.get(c) == 2 or c not in ids:
            return
        state[c] = 1
        for i in ids[c][2].get("inputs", []) or []:
            visit(i, stack + [c])
        state[c] = 2

    for c in ids:
        visit(c, [])
    return ids


def parse_files():
    main = VDIR / "shorty.yaml"
    sources = sorted(VDIR.glob("source-*.yaml"))
    sinks = sorted(VDIR.glob("sink-*.yaml"))
    others = set(VDIR.glob("*.yaml")) - {main} - set(sources) - set(sinks)
    for o in sorted(others):
        problem(f"{o.name}: neither shorty.yaml, source-*.yaml nor sink-*.yaml")
    return main, sources, sinks


def schema():
    main, sources, sinks = parse_files()
    docs = {}
    for path in [main] + sources + sinks:
        docs[path] = load(path)
        check_interpolation(path)
        check_components(path, docs[path])
    t = (docs[main].get("transforms") or {}).get("shorty")
    if not t or t.get("type") != "remap" or t.get("inputs") != ["shorty_raw"]:
        problem("shorty.yaml: no remap transform `shorty` with inputs [shorty_raw]")
    if docs[main].get("sources") or docs[main].get("sinks"):
        problem("shorty.yaml: sources and sinks belong in source-*.yaml and sink-*.yaml")
    for s in sources:
        if list((docs[s].get("sources") or {}).keys()) != ["shorty_raw"] or docs[s].get("sinks") or docs[s].get("transforms"):
            problem(f"{s.name}: must define exactly the source shorty_raw")
    for k in sinks:
        sk = docs[k].get("sinks") or {}
        if len(sk) != 1 or docs[k].get("sources") or docs[k].get("transforms"):
            problem(f"{k.name}: must define exactly one sink")
        for cid, comp in sk.items():
            if comp.get("inputs") != ["shorty"]:
                problem(f"{k.name}: sink {cid} must read [shorty]")
    if not sources or not sinks:
        problem("need at least one source-*.yaml and one sink-*.yaml")
    combos = 0
    for s in sources:
        for k in sinks:
            merged_graph([docs[main], docs[s], docs[k]], [main.name, s.name, k.name])
            combos += 1
    print(f"schema: {1 + len(sources) + len(sinks)} files; {combos} source x sink combinations form valid graphs"
          if not problems else "schema: problems (below)")


# --- events and verify -------------------------------------------------------

NOT_JSON = [
    "thread 'main' panicked at src/main.rs:1:1:\nboom",
    "shorty: configuration error: admin_token must be at least 16 characters long (it has 6)",
    "  2026-12-03T11:55:19.483010Z  INFO shorty::startup: shorty listening addr=127.0.0.1:8080",
]
SOURCES = {
    "journald": lambda line: {"message": line, "host": "vm-1", "source_type": "journald",
                              "_SYSTEMD_UNIT": "shorty.service", "PRIORITY": "6",
                              "timestamp": "2026-12-03T00:00:00Z"},
    "docker_logs": lambda line: {"message": line, "host": "docker-host", "source_type": "docker_logs",
                                 "container_name": "shorty-1", "container_id": "0123abcd",
                                 "image": "shorty:latest", "stream": "stdout",
                                 "label": {"org.opencontainers.image.title": "shorty"},
                                 "timestamp": "2026-12-03T00:00:00Z"},
    "file": lambda line: {"message": line, "host": "vm-2", "source_type": "file",
                          "file": "/var/log/shorty/shorty.log", "timestamp": "2026-12-03T00:00:00Z"},
    "stdin": lambda line: {"message": line, "host": "laptop", "source_type": "stdin",
                           "timestamp": "2026-12-03T00:00:00Z"},
}
META = {"journald": {"unit": "_SYSTEMD_UNIT"}, "docker_logs": {"container": "container_name", "stream": "stream"},
        "file": {"file": "file"}, "stdin": {}}


def real_lines(path):
    lines = [l for l in Path(path).read_text().splitlines() if l.strip()]
    objs = []
    for l in lines:
        try:
            objs.append((l, json.loads(l)))
        except ValueError:
            problem(f"shorty wrote a line that is not JSON with log_format = json: {l[:200]}")
    return objs


def events(lines_file, out_file):
    prog = yaml.safe_load((VDIR / "shorty.yaml").read_text())["transforms"]["shorty"]["source"]
    Path(out_file + ".vrl").write_text(prog)
    evs = []
    for line, _ in real_lines(lines_file):
        for src, make in SOURCES.items():
            evs.append(make(line))
    for line in NOT_JSON:
        for src, make in SOURCES.items():
            evs.append(make(line))
    Path(out_file).write_text("".join(json.dumps(e) + "\n" for e in evs))
    print(f"events: {len(evs)} events ({len(SOURCES)} sources x the real lines and {len(NOT_JSON)} non-JSON lines)")
    return 0 if not problems else 1


def sink_template_fields():
    fields = set()
    for k in VDIR.glob("sink-*.yaml"):
        for m in re.finditer(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}", k.read_text()):
            fields.add(m.group(1))
    return fields


def readme_fields():
    """Field names in README.md's field tables: rows starting | `name` |."""
    text = README.read_text()
    return set(re.findall(r"^\|\s*`([a-z_]+)`\s*\|", text, flags=re.M))


def instant(text):
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def verify(lines_file, events_file, output_file):
    inputs = [json.loads(l) for l in Path(events_file).read_text().splitlines()]
    outputs = []
    for i, l in enumerate(Path(output_file).read_text().splitlines()):
        try:
            outputs.append(json.loads(l))
        except ValueError:
            problem(f"VRL output line {i + 1} is not JSON: {l[:200]}")
    if len(outputs) != len(inputs):
        problem(f"{len(inputs)} events in, {len(outputs)} out")
        return report()
    templates = sink_template_fields()
    for ev, out in zip(inputs, outputs):
        src = ev["source_type"]
        where = f"{src} event for {ev['message'][:80]!r}"
        try:
            orig = json.loads(ev["message"])
        except ValueError:
            orig = None
        if isinstance(orig, dict):
            for k, v in orig.items():
                if k == "timestamp":
                    # Parsed: the same instant, whatever digits RFC 3339 shows.
                    if not isinstance(out.get(k), str) or instant(out[k]) != instant(v):
                        problem(f"{where}: timestamp {out.get(k)!r}, shorty wrote {v!r}")
                elif k == "level":
                    if out.get(k) != v.lower():
                        problem(f"{where}: level {out.get(k)!r}, expected {v.lower()!r}")
                elif out.get(k) != v:
                    problem(f"{where}: field {k} is {out.get(k)!r}, shorty wrote {v!r}")
            if orig.get("message") == "request":
                if not isinstance(out.get("status"), int):
                    problem(f"{where}: status is not an integer: {out.get('status')!r}")
                if not isinstance(out.get("latency_ms"), (int, float)):
                    problem(f"{where}: latency_ms is not a number: {out.get('latency_ms')!r}")
            if "parse_error" in out:
                problem(f"{where}: parse_error on a JSON line")
        else:
            if out.get("message") != ev["message"] or out.get("level") != "unknown" or not out.get("parse_error"):
                problem(f"{where}: a non-JSON line should keep its text with level unknown and a parse_error: {out}")
        if out.get("service") != "shorty":
            problem(f"{where}: service is {out.get('service')!r}")
        if out.get("host") != ev["host"] or out.get("source_type") != src:
            problem(f"{where}: host/source_type not carried over: {out.get('host')!r}, {out.get('source_type')!r}")
        for field, key in META[src].items():
            if out.get(field) != ev[key]:
                problem(f"{where}: {field} should be {ev[key]!r} (from {key}), is {out.get(field)!r}")
        for t in templates:
            if out.get(t) in (None, ""):
                problem(f"{where}: the sinks' template field {t!r} is missing")
    # The README's field tables against what shorty really wrote.
    seen = set()
    for _, obj in real_lines(lines_file):
        seen |= set(obj)
    documented = readme_fields()
    for f in sorted(seen - documented):
        problem(f"README.md does not document the field {f!r}, which shorty writes")
    added = {"service", "host", "source_type", "unit", "container", "stream", "file", "parse_error"}
    for f in sorted(documented - seen - added - {"span", "spans"}):
        problem(f"README.md documents the field {f!r}, which no real line had (stale, or not exercised)")
    print(f"verify: {len(outputs)} events parsed as expected; fields shorty wrote: {', '.join(sorted(seen))}"
          if not problems else "verify: problems (below)")
    return report()


def report():
    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("schema")
    e = sub.add_parser("events")
    e.add_argument("--lines", required=True)
    e.add_argument("--out", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--lines", required=True)
    v.add_argument("--events", required=True)
    v.add_argument("--output", required=True)
    a = ap.parse_args()
    if a.cmd == "schema":
        schema()
        return report()
    if a.cmd == "events":
        return events(a.lines, a.out)
    return verify(a.lines, a.events, a.output)


if __name__ == "__main__":
    sys.exit(main())
