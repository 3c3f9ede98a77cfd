#!/usr/bin/env python3
"""Checks the Helm chart deploy/helm/shorty. Run by deploy/ci/check-helm,
which installs the tools first; every failure is fatal (exit 1).

1. `helm lint --strict` (Helm's own lint, through helm-python-sdk's libhelm)
   with the default values and with ci/*.yaml, for Kubernetes 1.30.
2. Renders the chart with the default values and every ci/*-values.yaml
   and validates every manifest against the Kubernetes 1.30 schemas in
   strict mode (kubernetes-validate). The Prometheus Operator kinds are not
   Kubernetes kinds: they are validated against the small schemas in
   deploy/helm/schemas/. Any other kind without a schema fails.
3. Facts the schemas cannot see: probes on /healthz and /readyz, the
   security context, graceful shutdown, the SQLite/PostgreSQL shapes, and
   that every config key of src/config/mod.rs is wired to its SHORTY_*
   variable (and nothing else is), and that every metric the alert rules
   read is one shorty registers (src/).
4. `promtool check rules` on the PrometheusRule's groups.
5. Values that must be refused are refused: values.schema.json rejects
   replicaCount: "three" (and other bad values), and rendering fails, with a
   message naming the fix, for SQLite with 2 replicas or autoscaling.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import helm_python as helm
import jsonschema
import kubernetes_validate
import yaml

KUBE_VERSION = "1.30.0"
RELEASE = "shorty"
NAMESPACE = "links"

HERE = Path(__file__).resolve().parent
CHART = HERE / "shorty"
SCHEMAS = HERE / "schemas"
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}

failures: list[str] = []
started = time.monotonic()


def step(msg: str) -> None:
    print(f"[check-helm {time.monotonic() - started:5.1f}s] {msg}", flush=True)


def fail(msg: str) -> None:
    failures.append(msg)
    print(f"  FAIL: {msg}", flush=True)


def expect(cond: bool, msg: str) -> None:
    if not cond:
        fail(msg)


# --- what the code says ------------------------------------------------------


def code_env_vars(repo: Path) -> dict[str, str]:
    """SHORTY_* variable -> config key, from the clap attributes of ConfigLayer."""
    src = (repo / "src/config/mod.rs").read_text()
    found = dict.fromkeys(re.findall(r'env\s*=\s*"(SHORTY_[A-Z0-9_]+)"', src))
    if len(found) < 20:
        raise SystemExit(f"found only {len(found)} SHORTY_* variables in src/config/mod.rs: parser out of date?")
    return {var: var.removeprefix("SHORTY_").lower() for var in found}


def code_metric_names(repo: Path) -> set[str]:
    """Every "shorty_..." metric name string registered under src/."""
    names: set[str] = set()
    for path in (repo / "src").rglob("*.rs"):
        names.update(re.findall(r'"(shorty_[a-z0-9_]+)"', path.read_text()))
    return {n for n in names if not n.endswith(("_csrf", "_session"))}


# --- rendering -----------------------------------------------------------------


def load_values(path: Path | None) -> dict | None:
    return None if path is None else yaml.safe_load(path.read_text())


def render(chart: helm.Chart, values: dict | None) -> list[dict]:
    out = chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs = []
    for template, text in sorted(out.items()):
        if template.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                doc.setdefault("metadata", {})
                docs.append(doc)
    return docs


def validate_manifests(docs: list[dict], label: str) -> None:
    for doc in docs:
        kind, api = doc.get("kind"), doc.get("apiVersion")
        name = f"{kind}/{doc['metadata'].get('name')}"
        crd = CRD_SCHEMAS.get((api, kind))
        try:
            if crd:
                schema = json.loads((SCHEMAS / crd).read_text())
                jsonschema.Draft202012Validator(schema).validate(doc)
                how = f"vendored schema {crd}"
            else:
                kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
                how = f"Kubernetes {KUBE_VERSION} strict"
            print(f"  ok   {label}: {api} {name} ({how})")
        except kubernetes_validate.SchemaNotFoundError:
            fail(f"{label}: no schema for {api} {kind}: add one to deploy/helm/schemas/ or fix the apiVersion")
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as e:
            where = "/".join(str(p) for p in e.absolute_path)
            fail(f"{label}: {api} {name} at {where or '(root)'}: {e.message}")


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict], kind: str, label: str) -> dict:
    found = by_kind(docs, kind)
    if len(found) != 1:
        fail(f"{label}: expected one {kind}, rendered {len(found)}")
        return {}
    return found[0]


# --- facts -------------------------------------------------------------------------


def check_pod(docs: list[dict], label: str) -> dict:
    deploy = one(docs, "Deployment", label)
    if not deploy:
        return {}
    pod = deploy["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    expect(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{label}: liveness probe is not /healthz")
    expect(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{label}: readiness probe is not /readyz")
    expect(c.get("startupProbe", {}).get("httpGet", {}).get("path") == "/healthz", f"{label}: startup probe is not /healthz")
    sc = c["securityContext"]
    expect(sc.get("runAsNonRoot") is True and pod["securityContext"].get("runAsNonRoot") is True, f"{label}: not runAsNonRoot")
    expect(sc.get("readOnlyRootFilesystem") is True, f"{label}: root filesystem is writable")
    expect(sc.get("allowPrivilegeEscalation") is False, f"{label}: privilege escalation allowed")
    expect("ALL" in sc.get("capabilities", {}).get("drop", []), f"{label}: capabilities not dropped")
    expect(bool(c["resources"].get("requests")) and bool(c["resources"].get("limits")), f"{label}: requests or limits missing")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    expect("/tmp" in mounts, f"{label}: no /tmp volume under the read-only root")
    sleep = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    expect(0 < sleep < grace, f"{label}: preStop sleep {sleep}s must be >0 and below terminationGracePeriodSeconds {grace}s")
    expect(pod.get("enableServiceLinks") is False, f"{label}: service links would inject SHORTY_* variables")
    return deploy


def wired_env(docs: list[dict], deploy: dict) -> dict[str, str]:
    """Every variable the container gets: ConfigMap keys via envFrom, then env."""
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    maps = {d["metadata"]["name"]: d.get("data", {}) for d in by_kind(docs, "ConfigMap")}
    env: dict[str, str] = {}
    for src in c.get("envFrom", []):
        env.update({k: str(v) for k, v in maps[src["configMapRef"]["name"]].items()})
    for e in c.get("env", []):
        env[e["name"]] = e.get("value", "<from %s>" % next(iter(e.get("valueFrom", {"?": 0}))))
    return env


def check_config_wiring(docs: list[dict], deploy: dict, code_vars: dict[str, str], label: str, require_all: bool) -> None:
    env = wired_env(docs, deploy)
    chart_vars = {k for k in env if k.startswith("SHORTY_")}
    unknown = sorted(chart_vars - set(code_vars))
    expect(not unknown, f"{label}: variables no config key reads (src/config/mod.rs): {unknown}")
    if require_all:
        missing = sorted(f"{code_vars[v]} ({v})" for v in set(code_vars) - chart_vars)
        expect(not missing, f"{label}: config keys the chart does not wire: {missing}")
    print(f"  ok   {label}: {len(chart_vars)} of {len(code_vars)} config keys wired, none unknown")


def check_rules(docs: list[dict], metric_names: set[str], promtool: Path, workdir: Path, label: str) -> None:
    rules = one(docs, "PrometheusRule", label)
    if not rules:
        return
    alerts = [r for g in rules["spec"]["groups"] for r in g["rules"]]
    names = {r["alert"] for r in alerts}
    for want in ("ShortyHigh5xxRatio", "ShortyRedirectLatencyP99High", "ShortyInstanceDown", "ShortyRedisDegraded", "ShortyClicksPendingGrowing", "ShortyStoreUnavailable"):
        expect(want in names, f"{label}: alert {want} missing")
    for r in alerts:
        for metric in set(re.findall(r"\b(shorty_[a-z0-9_]+)", r["expr"])):
            base = re.sub(r"_(bucket|sum|count)$", "", metric) if metric not in metric_names else metric
            expect(base in metric_names, f"{label}: alert {r['alert']} reads {metric}, which shorty does not export (src/ registers: {sorted(metric_names)})")
    print(f"  ok   {label}: {len(alerts)} alerts, every metric they read is registered in src/")
    rule_file = workdir / f"{label}-rules.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": rules["spec"]["groups"]}, sort_keys=False))
    run = subprocess.run([str(promtool), "check", "rules", str(rule_file)], capture_output=True, text=True)
    print("  " + (run.stdout + run.stderr).strip().replace("\n", "\n  "))
    expect(run.returncode == 0, f"{label}: promtool check rules failed")


def must_refuse(chart: helm.Chart, values: dict, errors: tuple[type, ...], needle: str, what: str) -> None:
    try:
        chart.render(values=values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    except errors as e:
        ok = needle in str(e)
        expect(ok, f"refused {what}, but the message does not mention {needle!r}: {e}")
        if ok:
            first = str(e).strip().splitlines()
            print(f"  ok   refused {what}: {' '.join(first)[:160]}")
        return
    except helm.HelmError as e:
        fail(f"{what}: refused for the wrong reason ({type(e).__name__}): {e}")
        return
    fail(f"{what}: rendered, but must be refused")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--promtool", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="where rendered manifests are written")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    step(f"helm library {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__}), kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''}, Kubernetes schemas {KUBE_VERSION}")
    code_vars = code_env_vars(args.repo)
    metric_names = code_metric_names(args.repo)
    step(f"the code: {len(code_vars)} config keys (src/config/mod.rs), {len(metric_names)} metric names (src/)")

    value_files = sorted((CHART / "ci").glob("*-values.yaml"))
    expect(any(f.name == "full-values.yaml" for f in value_files), "ci/full-values.yaml is missing")
    scenarios = [("default", None)] + [(f.stem, f) for f in value_files]

    step("helm lint --strict")
    for label, path in scenarios:
        report = helm.lint(str(CHART), load_values(path), strict=True, kube_version=f"v{KUBE_VERSION}", namespace=NAMESPACE)
        bad = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
        for m in report["messages"]:
            print(f"  lint {label}: severity {m['severity']} {m['path']}: {m['error'].strip()}")
        expect(not bad, f"lint {label}: {len(bad)} warning(s)/error(s)")
        if not bad:
            print(f"  ok   lint {label}")

    with helm.Chart.load(str(CHART)) as chart:
        for label, path in scenarios:
            step(f"render + validate: {label}")
            try:
                docs = render(chart, load_values(path))
            except helm.HelmError as e:
                fail(f"render {label}: {e}")
                continue
            (args.out / f"{label}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
            print(f"  {len(docs)} manifests -> {args.out / (label + '.yaml')}")
            validate_manifests(docs, label)
            try:
                deploy = check_pod(docs, label)
            except (KeyError, TypeError, ValueError) as e:
                fail(f"{label}: the Deployment lacks an expected field: {e!r}")
                continue
            if not deploy:
                continue
            values = chart.merge_values(load_values(path))
            sqlite = values["database"]["type"] == "sqlite"
            check_config_wiring(docs, deploy, code_vars, label, require_all=(label == "full-values"))
            if sqlite:
                expect(deploy["spec"].get("replicas") == 1, f"{label}: SQLite must run exactly one replica")
                expect(deploy["spec"]["strategy"]["type"] == "Recreate", f"{label}: SQLite needs the Recreate strategy (one writer on the volume)")
                expect(not by_kind(docs, "HorizontalPodAutoscaler"), f"{label}: an autoscaler on SQLite")
                expect(not by_kind(docs, "PodDisruptionBudget"), f"{label}: a PodDisruptionBudget on one replica only blocks drains")
                env = wired_env(docs, deploy)
                expect(env.get("SHORTY_DATABASE_URL", "").startswith("sqlite:///"), f"{label}: database_url is not an absolute sqlite:// path")
                mounts = {m["mountPath"] for m in deploy["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
                expect(str(Path(values["sqlite"]["path"]).parent) in mounts, f"{label}: the SQLite file's directory is not a volume")
            else:
                expect(deploy["spec"]["strategy"]["type"] == "RollingUpdate", f"{label}: PostgreSQL replicas should roll")
            if label == "full-values":
                hpa = one(docs, "HorizontalPodAutoscaler", label)
                kinds = sorted(m["type"] for m in hpa.get("spec", {}).get("metrics", []))
                expect(hpa.get("apiVersion") == "autoscaling/v2" and kinds == ["Pods", "Resource"], f"{label}: HPA needs autoscaling/v2 with a CPU and a Pods metric, has {kinds}")
                for kind in ("PodDisruptionBudget", "Ingress", "ServiceMonitor", "Secret", "Service", "ServiceAccount"):
                    one(docs, kind, label)
                expect(bool(deploy["spec"]["template"]["spec"].get("topologySpreadConstraints")), f"{label}: no topology spread")
                check_rules(docs, metric_names, args.promtool, args.out, label)

        step("values the chart must refuse")
        schema_err = (helm.HelmValuesError,)
        render_err = (helm.HelmRenderError,)
        must_refuse(chart, {"replicaCount": "three"}, schema_err, "/replicaCount", 'replicaCount: "three" (values.schema.json)')
        must_refuse(chart, {"unknownKey": 1}, schema_err, "unknownKey", "an unknown top-level key (values.schema.json)")
        must_refuse(chart, {"config": {"code_length": 3}}, schema_err, "/config/code_length", "config.code_length: 3 (values.schema.json)")
        must_refuse(chart, {"config": {"code_lenght": 7}}, schema_err, "code_lenght", "a misspelt config key (values.schema.json)")
        must_refuse(chart, {"securityContext": {"readOnlyRootFilesystem": False}}, schema_err, "readOnlyRootFilesystem", "a writable root filesystem (values.schema.json)")
        must_refuse(chart, {"secrets": {"adminToken": "short"}}, schema_err, "adminToken", "a 5-character admin token (values.schema.json)")
        must_refuse(chart, {"replicaCount": 2}, render_err, "database.type is sqlite", "SQLite with replicaCount: 2")
        must_refuse(chart, {"autoscaling": {"enabled": True}}, render_err, "database.type is sqlite", "SQLite with autoscaling")
        must_refuse(chart, {"database": {"type": "postgres"}, "replicaCount": 3}, render_err, "no database URL", "PostgreSQL without a URL")
        must_refuse(chart, {"redis": {"enabled": True}}, render_err, "no Redis URL", "Redis without a URL")

    step(f"done: {len(failures)} failure(s)")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
