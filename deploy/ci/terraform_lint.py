#!/usr/bin/env python3
"""Static checks of a Terraform directory (deploy/terraform/aws), without
terraform itself and without any network: every file is parsed with
python-hcl2, then

  * every `var.X` used is declared, and every declared variable is used
    somewhere other than its own validation;
  * every variable has a description and a type; every output a description;
  * every `local.X` used is declared (once), and every local is used;
  * every resource and data source referenced (`aws_lb.main`,
    `data.aws_iam_policy_document.kms`) is declared;
  * the aws provider is pinned with a version constraint;
  * README.md's variables table is exactly the one generated from
    variables.tf (`--write-readme` regenerates it);
  * terraform.tfvars.example names only declared variables, sets every
    variable that has no default, and shows every other one (set, or as a
    commented-out `# name = ...` line);
  * every `#checkov:skip=CKV_...:reason` sits inside a resource or data
    block and gives a real reason; with --checkov-report, checkov passed
    with no failed check, no parsing error, and every skip in the files was
    used (no stale skips) and every skip it reports carries its reason;
  * with --repo, the config keys the module wires (set by the module,
    secrets, and those allowed in var.shorty_config) are exactly the config
    keys of src/config/mod.rs.

Exit 1 on any finding.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import hcl2

findings: list[str] = []


def find(msg: str) -> None:
    findings.append(msg)
    print(f"  FAIL: {msg}", flush=True)


def unquote(s):
    if isinstance(s, str) and len(s) >= 2 and s[0] == s[-1] == '"':
        return s[1:-1]
    return s


def strings(node, skip_comments=True):
    """Every string inside a parsed HCL value (expressions come as strings)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            if skip_comments and k == "__comments__":
                continue
            yield k
            yield from strings(v, skip_comments)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v, skip_comments)


def comments(node):
    """(comment text) for every comment attached anywhere inside node."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "__comments__":
                for c in v:
                    yield c.get("value", "")
            else:
                yield from comments(v)
    elif isinstance(node, list):
        for v in node:
            yield from comments(v)


VAR_RE = re.compile(r"(?<![\w.])var\.([A-Za-z_][A-Za-z0-9_-]*)")
LOCAL_RE = re.compile(r"(?<![\w.])local\.([A-Za-z_][A-Za-z0-9_-]*)")
DATA_RE = re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)")
RES_RE = re.compile(r"(?<![\w.])((?:aws|random)_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")
SKIP_RE = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?$")
TABLE_START, TABLE_END = "<!-- variables-table:start -->", "<!-- variables-table:end -->"


def expr_text(v) -> str:
    return " ".join(strings(v))


def type_text(t) -> str:
    t = expr_text(t)
    return t[2:-1] if t.startswith("${") and t.endswith("}") else t


def hcl_value(v) -> str:
    """A parsed HCL value written back as HCL, for the README."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        u = unquote(v)
        if v.startswith('"'):
            return '"' + u + '"'
        return u[2:-1] if u.startswith("${") and u.endswith("}") else u
    if isinstance(v, list):
        return "[" + ", ".join(hcl_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = [f"{unquote(k)} = {hcl_value(x)}" for k, x in v.items() if not k.startswith("__")]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    return str(v)


def default_text(var: dict) -> str | None:
    return hcl_value(var["default"]) if "default" in var else None


def md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def variables_table(variables: dict) -> str:
    rows = ["| Name | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name in sorted(variables):
        v = variables[name]
        d = default_text(v)
        default = "**required**" if d is None else "`" + md_escape(d) + "`"
        description = unquote(v.get("description", "")).replace('\\"', '"')
        rows.append(f"| `{name}` | `{md_escape(type_text(v.get('type', '')))}` | {default} | {md_escape(description)} |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=Path)
    ap.add_argument("--repo", type=Path, help="repository root, to compare config keys with src/config/mod.rs")
    ap.add_argument("--checkov-report", type=Path, help="checkov's JSON report of the same directory")
    ap.add_argument("--write-readme", action="store_true", help="rewrite README.md's variables table")
    args = ap.parse_args()
    d: Path = args.dir

    tf_files = sorted(d.glob("*.tf"))
    if not tf_files:
        find(f"no .tf files in {d}")
        return 1
    parsed: dict[Path, dict] = {}
    for f in tf_files:
        try:
            parsed[f] = hcl2.loads(f.read_text())
        except Exception as e:  # the parser raises several types
            find(f"{f.name}: does not parse: {e}")
    print(f"  parsed {len(parsed)} of {len(tf_files)} .tf files with python-hcl2")

    variables: dict[str, dict] = {}
    locals_: dict[str, str] = {}
    resources: set[tuple[str, str]] = set()
    datas: set[tuple[str, str]] = set()
    outputs: dict[str, dict] = {}
    used_vars: set[str] = set()
    used_locals: set[str] = set()
    used_res: set[tuple[str, str]] = set()
    used_data: set[tuple[str, str]] = set()
    block_skips: list[tuple[str, str, str]] = []  # (file, block, comment)
    providers: dict[str, dict] = {}
    local_exprs: dict[str, str] = {}

    def scan(node, own_var: str | None = None):
        text = expr_text(node)
        for m in VAR_RE.finditer(text):
            if m.group(1) != own_var:
                used_vars.add(m.group(1))
        used_locals.update(LOCAL_RE.findall(text))
        used_data.update(DATA_RE.findall(text))
        for m in RES_RE.finditer(text):
            used_res.add((m.group(1), m.group(2)))

    for f, doc in parsed.items():
        for block in doc.get("variable", []):
            for qname, body in block.items():
                name = unquote(qname)
                if name in variables:
                    find(f"{f.name}: variable {name} declared twice")
                variables[name] = body
                scan({k: v for k, v in body.items() if k != "validation"})
                for val in body.get("validation", []):
                    scan(val, own_var=name)
        for block in doc.get("locals", []):
            for k, v in block.items():
                if k.startswith("__"):
                    continue
                if k in locals_:
                    find(f"{f.name}: local {k} declared twice ({locals_[k]} too)")
                locals_[k] = f.name
                local_exprs[k] = expr_text(v)
                scan(v)
        for kind, store in (("resource", resources), ("data", datas)):
            for block in doc.get(kind, []):
                for qtype, named in block.items():
                    for qname, body in named.items():
                        key = (unquote(qtype), unquote(qname))
                        if key in store:
                            find(f"{f.name}: {kind} {'.'.join(key)} declared twice")
                        store.add(key)
                        scan(body)
                        for c in comments(body):
                            if "checkov:skip" in c:
                                block_skips.append((f.name, ".".join(key), c.strip()))
        for block in doc.get("output", []):
            for qname, body in block.items():
                outputs[unquote(qname)] = body
                scan(body)
        for block in doc.get("provider", []):
            for qname, body in block.items():
                scan(body)
        for block in doc.get("module", []):
            find(f"{f.name}: modules are not supported by this checker")
        for tblock in doc.get("terraform", []):
            for rp in tblock.get("required_providers", []):
                for k, v in rp.items():
                    if not k.startswith("__"):
                        providers[k] = v

    # variables
    for name, body in sorted(variables.items()):
        if not unquote(body.get("description", "")).strip():
            find(f"variable {name} has no description")
        if "type" not in body:
            find(f"variable {name} has no type")
    for name in sorted(set(variables) - used_vars):
        find(f"variable {name} is declared but never used")
    for name in sorted(used_vars - set(variables)):
        find(f"var.{name} is used but not declared")
    print(f"  {len(variables)} variables checked: declared vs used, description, type")

    # locals, resources, data, outputs
    for name in sorted(used_locals - set(locals_)):
        find(f"local.{name} is used but not declared")
    for name in sorted(set(locals_) - used_locals):
        find(f"local {name} is declared but never used")
    for key in sorted(used_res - resources):
        find(f"{'.'.join(key)} is referenced but no such resource is declared")
    for key in sorted(used_data - datas):
        find(f"data.{'.'.join(key)} is referenced but no such data source is declared")
    for name, body in sorted(outputs.items()):
        if not unquote(body.get("description", "")).strip():
            find(f"output {name} has no description")
    print(f"  {len(locals_)} locals, {len(resources)} resources, {len(datas)} data sources, {len(outputs)} outputs cross-checked")

    # provider pin
    aws = providers.get("aws")
    if not aws or not re.search(r"[~>=<]|\d", unquote(aws.get("version", "")) if isinstance(aws, dict) else ""):
        find("versions.tf does not pin the aws provider's version")
    else:
        print(f"  aws provider pinned: {unquote(aws.get('version'))}")

    # README table
    readme = d / "README.md"
    table = variables_table(variables)
    text = readme.read_text() if readme.exists() else ""
    if TABLE_START not in text or TABLE_END not in text:
        find(f"{readme}: no {TABLE_START} ... {TABLE_END} section for the variables table")
    else:
        before, rest = text.split(TABLE_START, 1)
        current, after = rest.split(TABLE_END, 1)
        if args.write_readme:
            readme.write_text(f"{before}{TABLE_START}\n{table}\n{TABLE_END}{after}")
            print(f"  wrote the variables table into {readme}")
        else:
            listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", current, re.M))
            for name in sorted(set(variables) - listed):
                find(f"README.md: variable {name} is missing from the variables table")
            for name in sorted(listed - set(variables)):
                find(f"README.md: the variables table lists {name}, which is not a variable")
            if current.strip() != table.strip() and listed == set(variables):
                find("README.md: the variables table differs from variables.tf (types, defaults or descriptions); regenerate it with --write-readme")
            if current.strip() == table.strip():
                print(f"  README.md variables table matches variables.tf ({len(variables)} rows)")

    # tfvars example
    example = d / "terraform.tfvars.example"
    if not example.exists():
        find(f"{example} is missing")
    else:
        ex_text = example.read_text()
        try:
            ex = hcl2.loads(ex_text)
        except Exception as e:
            find(f"{example.name}: does not parse: {e}")
            ex = {}
        set_names = {k for k in ex if not k.startswith("__")}
        commented = set(re.findall(r"^#\s*([a-z0-9_]+)\s*=", ex_text, re.M))
        for name in sorted(set_names - set(variables)):
            find(f"{example.name} sets {name}, which is not a variable")
        for name in sorted(commented - set(variables)):
            find(f"{example.name} shows {name} (commented), which is not a variable")
        for name, body in sorted(variables.items()):
            if "default" not in body and name not in set_names:
                find(f"{example.name} does not set {name}, which has no default")
            elif name not in set_names and name not in commented:
                find(f"{example.name} does not show {name} (set it, or add a commented '# {name} = ...' line)")
        print(f"  {example.name}: {len(set_names)} set, {len(commented)} shown commented")

    # checkov skips in the files
    raw_skips = []
    for f in tf_files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if "checkov:skip" in line:
                raw_skips.append((f.name, n, line.strip()))
    if len(raw_skips) != len(block_skips):
        find(f"{len(raw_skips)} checkov:skip comments in the files but {len(block_skips)} inside resource or data blocks: put each skip inside the block it is for")
    file_skips: dict[tuple[str, str], str] = {}
    for fname, block, c in block_skips:
        m = SKIP_RE.search(c)
        if not m:
            find(f"{fname} {block}: malformed skip comment {c!r}")
            continue
        check, reason = m.group(1), (m.group(2) or "").strip()
        if len(reason) < 30 or " " not in reason:
            find(f"{fname} {block}: skip of {check} gives no real reason: {reason!r}")
        file_skips[(block, check)] = reason
    print(f"  {len(file_skips)} checkov skips, each inside its block with a reason")

    # checkov's own verdict
    if args.checkov_report:
        try:
            report = json.loads(args.checkov_report.read_text())
        except (OSError, ValueError) as e:
            find(f"no usable checkov report ({e}): checkov did not finish")
            report = []
        reports = report if isinstance(report, list) else [report]
        tf = [r for r in reports if r.get("check_type") == "terraform"]
        if not tf:
            find("the checkov report has no terraform results")
        for r in tf:
            s = r.get("summary", {})
            if s.get("parsing_errors", 0):
                find(f"checkov could not parse {s['parsing_errors']} file(s): their checks did not run")
            if s.get("passed", 0) == 0:
                find("checkov passed no check at all: did it scan the files?")
            for c in r.get("results", {}).get("failed_checks", []):
                find(f"checkov {c['check_id']} failed: {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}) {c['check_name']}")
            reported = set()
            for c in r.get("results", {}).get("skipped_checks", []):
                res = c["resource"]
                # for_each / count instances: aws_x.y["key"] or aws_x.y[0]
                reported.add((re.sub(r"\[.*\]$", "", res.removeprefix("data.")), c["check_id"]))
                comment = (c.get("check_result", {}) or {}).get("suppress_comment", "")
                if len(comment.strip()) < 30:
                    find(f"checkov skipped {c['check_id']} on {res} without a reason")
                else:
                    print(f"  skipped {c['check_id']} on {res}: {comment.strip()}")
            for block, check in sorted(set(file_skips) - reported):
                find(f"stale skip: {check} on {block} is skipped in the file but checkov did not report it (remove it)")
            print(f"  checkov: {s.get('passed')} passed, {s.get('failed')} failed, {s.get('skipped')} skipped, {s.get('parsing_errors')} parsing errors")

    # config keys against the code
    if args.repo:
        src = (args.repo / "src/config/mod.rs").read_text()
        code = {v.removeprefix("SHORTY_").lower() for v in re.findall(r'env\s*=\s*"(SHORTY_[A-Z0-9_]+)"', src)}
        if len(code) < 20:
            find(f"found only {len(code)} config keys in src/config/mod.rs: parser out of date?")
        set_by_module = set(re.findall(r"\b([a-z_]+)\s*=\s", local_exprs.get("shorty_config", ""))) - {"var", "local"}
        secrets = set(re.findall(r'\\?"([a-z_]+)\\?"', local_exprs.get("secret_names", "")))
        shorty_config_var = variables.get("shorty_config", {})
        allowed = set()
        for val in shorty_config_var.get("validation", []):
            allowed |= set(re.findall(r'\\?"([a-z_]+)\\?"', expr_text(val.get("condition", ""))))
        wired = set_by_module | secrets | allowed
        for name, what in ((set_by_module, "set by the module (local.shorty_config)"), (secrets, "secrets (local.secret_names)"), (allowed, "allowed in var.shorty_config")):
            for k in sorted(name - code):
                find(f"{k} is {what} but is not a config key of src/config/mod.rs")
        for k in sorted(code - wired):
            find(f"config key {k} (SHORTY_{k.upper()}) cannot be set through the module")
        print(f"  config keys: {len(code)} in src/config/mod.rs; module sets {len(set_by_module)}, secrets {len(secrets)}, var.shorty_config allows {len(allowed)}")

    if findings:
        print(f"terraform_lint: {len(findings)} finding(s)")
        return 1
    print("terraform_lint: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
