"""Load test of shorty: a realistic mix of redirects, creates and stats reads.

    locust -f deploy/loadtest/locustfile.py --host https://sho.rt

The mix, per simulated user (weights below):

- redirects of known codes, about 100 per create (GET /{code}, never
  followed: 301/302/307/308 with a Location expected),
- redirects of unknown codes, about 5% of redirects (404 expected),
- creates: generated codes, one in five with a custom alias; with a token,
  a share of them anonymous (SHORTY_ANONYMOUS_SHARE),
- stats reads of the caller's own links and of the caller's totals, when
  SHORTY_TOKEN is set (an API key with links:write and stats:read, or the
  admin token).

Requests are named by route template (/{code}, /api/v1/links,
/api/v1/links/{code}/stats, ...), so the statistics have one row per route,
not per code. 429 answers are failures named "rate limited (429)": the CI
check (deploy/ci/check-loadtest) tolerates them, nothing else.

Environment:
  SHORTY_TOKEN             Bearer token for creates and stats (optional)
  SHORTY_ANONYMOUS_SHARE   share of creates sent without the token when
                           SHORTY_TOKEN is set (default 0.25; 0 when the
                           service has allow_anonymous = false)
  SHORTY_SEED_LINKS        links each user creates before its first
                           redirect (default 5)
  SHORTY_TARGET_BASE       base of the target URLs (default
                           https://example.com/loadtest); never fetched,
                           redirects are not followed
  SHORTY_LOADTEST_REPORT   file to write the final statistics to as JSON
                           when Locust quits: per-route counts, latencies
                           and every failure's message (the CI check reads
                           it; Locust's own --csv/--json miss the messages
                           or the last second)
"""

import json
import os
import random
import string
import uuid

from locust import HttpUser, between, events, task

TOKEN = os.environ.get("SHORTY_TOKEN", "").strip()
ANONYMOUS_SHARE = float(os.environ.get("SHORTY_ANONYMOUS_SHARE", "0.25"))
SEED_LINKS = int(os.environ.get("SHORTY_SEED_LINKS", "5"))
TARGET_BASE = os.environ.get("SHORTY_TARGET_BASE", "https://example.com/loadtest").rstrip("/")

REDIRECT_STATUSES = {301, 302, 307, 308}
MAX_POOL = 10_000
ALPHABET = string.ascii_letters + string.digits

# Codes every user of this process redirects to, and the ones created with
# the token (their stats are readable with it).
known_codes = []
owned_codes = []


def remember(pool, code):
    if len(pool) >= MAX_POOL:
        pool[random.randrange(MAX_POOL)] = code
    else:
        pool.append(code)


def unknown_code():
    # 9 characters: generated codes are 7 (8 once that space is used up),
    # and the load test's aliases start with "lt-", so this is never taken.
    return "".join(random.choices(ALPHABET, k=9))


def rate_limited(resp):
    if resp.status_code == 429:
        resp.failure("rate limited (429)")
        return True
    return False


class ShortyUser(HttpUser):
    wait_time = between(0.005, 0.05)

    def on_start(self):
        # Named apart, so the steady mix (about 100 redirects per create)
        # can be read off the statistics.
        for _ in range(SEED_LINKS):
            self.create(alias=False, seed=True)

    # --- creates: 4 generated + 1 alias per 500 redirects of known codes
    @task(4)
    def create_link(self):
        self.create(alias=False)

    @task(1)
    def create_alias(self):
        self.create(alias=True)

    def create(self, alias, seed=False):
        body = {"url": f"{TARGET_BASE}/{uuid.uuid4().hex}"}
        if alias:
            body["alias"] = "lt-" + "".join(random.choices(ALPHABET, k=12))
        with_token = bool(TOKEN) and random.random() >= ANONYMOUS_SHARE
        headers = {"Authorization": f"Bearer {TOKEN}"} if with_token else {}
        with self.client.post(
            "/api/v1/links",
            json=body,
            headers=headers,
            name="/api/v1/links" + (" (alias)" if alias else " (seed)" if seed else ""),
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if rate_limited(resp):
                return
            if resp.status_code != 201:
                resp.failure(f"create: expected 201, got {resp.status_code}: {resp.text[:200]}")
                return
            try:
                code = resp.json()["code"]
            except (ValueError, KeyError):
                resp.failure(f"create: 201 without a code: {resp.text[:200]}")
                return
            if alias and code != body["alias"]:
                resp.failure(f"create: asked for alias {body['alias']}, got {code}")
                return
            resp.success()
            remember(known_codes, code)
            if with_token:
                remember(owned_codes, code)

    # --- redirects: 500 of known codes, 25 of unknown ones
    @task(500)
    def redirect(self):
        if not known_codes:
            return
        code = random.choice(known_codes)
        with self.client.get(
            f"/{code}", name="/{code}", allow_redirects=False, catch_response=True
        ) as resp:
            if rate_limited(resp):
                return
            if resp.status_code not in REDIRECT_STATUSES:
                resp.failure(f"redirect: expected 301/302/307/308, got {resp.status_code}")
            elif not resp.headers.get("Location", "").startswith(TARGET_BASE + "/"):
                resp.failure(f"redirect: Location {resp.headers.get('Location')!r} is not the link's URL")
            else:
                resp.success()

    @task(25)
    def redirect_unknown(self):
        with self.client.get(
            f"/{unknown_code()}", name="/{code} (unknown)", allow_redirects=False, catch_response=True
        ) as resp:
            if rate_limited(resp):
                return
            if resp.status_code == 404:
                resp.success()  # expected
            else:
                resp.failure(f"unknown code: expected 404, got {resp.status_code}")

    # --- stats reads (with a token only)
    @task(2)
    def link_stats(self):
        if not TOKEN or not owned_codes:
            return
        code = random.choice(owned_codes)
        with self.client.get(
            f"/api/v1/links/{code}/stats",
            headers={"Authorization": f"Bearer {TOKEN}"},
            name="/api/v1/links/{code}/stats",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if rate_limited(resp):
                return
            if resp.status_code != 200:
                resp.failure(f"link stats: expected 200, got {resp.status_code}: {resp.text[:200]}")
            elif "total" not in resp.json():
                resp.failure("link stats: no total in the body")
            else:
                resp.success()

    @task(1)
    def totals(self):
        if not TOKEN:
            return
        with self.client.get(
            "/api/v1/stats",
            headers={"Authorization": f"Bearer {TOKEN}"},
            name="/api/v1/stats",
            allow_redirects=False,
            catch_response=True,
        ) as resp:
            if rate_limited(resp):
                return
            if resp.status_code != 200:
                resp.failure(f"stats: expected 200, got {resp.status_code}: {resp.text[:200]}")
            else:
                resp.success()


@events.init.add_listener
def _announce(environment, **_kwargs):
    mode = "with SHORTY_TOKEN (creates owned, stats reads on)" if TOKEN else "anonymous (no stats reads)"
    print(f"shorty load test: {mode}; target URLs under {TARGET_BASE}/")


@events.quitting.add_listener
def _report(environment, **_kwargs):
    path = os.environ.get("SHORTY_LOADTEST_REPORT")
    if not path:
        return
    stats = environment.stats

    def entry(e):
        return {
            "method": e.method,
            "name": e.name,
            "requests": e.num_requests,
            "failures": e.num_failures,
            "median_ms": e.median_response_time,
            "p99_ms": e.get_response_time_percentile(0.99),
            "rps": e.total_rps,
        }

    runner = environment.runner
    report = {
        "entries": [entry(e) for e in sorted(stats.entries.values(), key=lambda e: e.name)],
        "total": entry(stats.total),
        "errors": [
            {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
        "exceptions": [
            {"count": x["count"], "msg": x["msg"], "traceback": x["traceback"]}
            for x in (runner.exceptions.values() if runner else [])
        ],
    }
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
