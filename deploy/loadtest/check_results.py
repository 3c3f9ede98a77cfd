#!/usr/bin/env python3
"""Judges a headless Locust run of locustfile.py from the JSON report it
writes when SHORTY_LOADTEST_REPORT is set.

    check_results.py REPORT.json

Fails (exit 1) on:
- any failure other than "rate limited (429)" (unknown codes answering 404
  are successes in the locustfile; anything else they answer is a
  failure), and any exception raised in the locustfile;
- a run that did not exercise the mix: no redirects, unknown-code
  redirects, creates, alias creates or stats reads (the check runs with a
  token), fewer than 300 redirects in all, or (with at least 20 creates,
  enough to judge) a steady mix outside 40 to 250 redirects per create
  (the locustfile aims at 100; the seed creates each user makes first are
  not counted).
Prints the per-route table and the mix.
"""

import json
import sys

ALLOWED_FAILURE = "rate limited (429)"


def main():
    try:
        report = json.load(open(sys.argv[1]))
    except (OSError, ValueError) as e:
        print(f"no report from the locustfile ({e}): did locust run?", file=sys.stderr)
        return 1
    problems = []
    by_name = {}
    print(f"{'route':32} {'requests':>9} {'failures':>9} {'median ms':>10} {'p99 ms':>8} {'req/s':>8}")
    for e in report["entries"] + [report["total"]]:
        if e is not report["total"]:
            by_name[e["name"]] = e["requests"]
        print(f"{e['name']:32} {e['requests']:9d} {e['failures']:9d} {e['median_ms'] or 0:10.0f} "
              f"{e['p99_ms'] or 0:8.0f} {e['rps']:8.1f}")

    limited = 0
    for f in report["errors"]:
        # Locust keeps the message as CatchResponseError('...'); match inside.
        if ALLOWED_FAILURE in f["error"]:
            limited += f["occurrences"]
        else:
            problems.append(f"{f['occurrences']} x {f['method']} {f['name']}: {f['error']}")
    for x in report["exceptions"]:
        problems.append(f"exception in the locustfile ({x['count']} x): {x['msg']}\n{x['traceback']}")

    redirects = by_name.get("/{code}", 0)
    unknown = by_name.get("/{code} (unknown)", 0)
    creates = by_name.get("/api/v1/links", 0) + by_name.get("/api/v1/links (alias)", 0)
    total = report["total"]["requests"]
    for name in ("/{code}", "/{code} (unknown)", "/api/v1/links", "/api/v1/links (alias)",
                 "/api/v1/links/{code}/stats", "/api/v1/stats"):
        if by_name.get(name, 0) == 0:
            problems.append(f"no {name} requests: the mix was not exercised")
    if redirects < 300:
        problems.append(f"only {redirects} redirects: too little load to judge (load generator or server starved?)")
    ratio = redirects / creates if creates else float("inf")
    print(f"mix: {redirects} redirects, {unknown} unknown codes ({100 * unknown / max(redirects, 1):.1f}% of "
          f"redirects), {creates} creates (+{by_name.get('/api/v1/links (seed)', 0)} seed): "
          f"{ratio:.0f} redirects per create; {limited} of {total} requests rate limited (429, tolerated)")
    # Creates are about 1% of requests: under 20 of them the ratio is
    # mostly noise, so it is judged only from 20 on.
    if creates >= 20 and not 40 <= ratio <= 250:
        problems.append(f"{ratio:.0f} redirects per create, the locustfile aims at about 100")
    elif creates < 20:
        print(f"mix: only {creates} creates, too few to judge the redirects-per-create ratio")

    for p in problems:
        print(f"PROBLEM: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
