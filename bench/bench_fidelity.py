"""Fidelity benchmark (issue 18): how much of real-world Apex the local org deploys and runs.

For each public corpus under /work/shared/apex-corpora (or ``--corpora DIR``) it starts a fresh local
org, deploys the corpus's package directories in the README's order with CumulusCI's own ``deploy``
task (real ``cci``, real ``sf project convert source``), then runs the corpus's own Apex tests with
CumulusCI's ``run_tests`` task, and prints:

* classes and triggers deployed out of the total;
* test methods passed, failed and not run (a method is "not run" when its class did not deploy);
* the top causes: deploy problems (by components refused) and test failures (by methods);
* how many failed methods fail for a reason the apex README does not list: issue 18 allows a method to
  fail only with the local org's loud "<construct> is not supported by the local org" naming a construct
  of the README's "Not supported" section; every other failure is a fidelity bug (``unlisted``).

A deploy that fails is retried without the refused components (their source files are moved aside)
until it succeeds, as a user would cut a codebase down to what deploys; the number of deploys it took
is printed. UI-only metadata (LWC, Aura, flexipages, layouts) is left out; tabs and applications are
deployed (permission sets name them).

    .venv/bin/python bench/bench_fidelity.py [--corpus trigger-actions-framework] [--max-deploys 40]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.common.tls import ensure_certificates  # noqa: E402
from localcloud.salesforce.server import start_local_org  # noqa: E402
from tests.localorg_http.cci import cci_env, init_git, run_cci  # noqa: E402

CORPORA_DIR = Path("/work/shared/apex-corpora")
#: corpus -> (repository folder, package directories in deploy order); one org per corpus
CORPORA: dict[str, list[tuple[str, str]]] = {
    "trigger-actions-framework": [("trigger-actions-framework", "trigger-actions-framework")],
    "fflib": [("fflib-apex-mocks", "sfdx-source/apex-mocks"), ("fflib-apex-common", "sfdx-source/apex-common")],
    "nebula-logger": [("nebula-logger", "nebula-logger/core"), ("nebula-logger", "nebula-logger/extra-tests")],
}
#: metadata with no backend meaning (README of the corpora); tabs and applications are deployed, since
#: permission sets name them and the local org checks those names as Salesforce does
UI_ONLY = {"lwc", "aura", "flexipages", "layouts"}
SOURCE_SUFFIX = {"classes": (".cls", ".cls-meta.xml"), "triggers": (".trigger", ".trigger-meta.xml")}
TEST_ANNOTATION = re.compile(r"@is_?test\b", re.I)
APEX_README = ROOT / "localcloud" / "salesforce" / "apex" / "README.md"
NOT_SUPPORTED = re.compile(r"^(?:[\w.]+: )?(?P<construct>.+?) is not supported by the local org")


@dataclass
class CorpusResult:
    name: str
    classes_total: int = 0
    classes_deployed: int = 0
    deploys: int = 0
    methods_total: int = 0
    passed: int = 0
    failed: int = 0
    unlisted: int = 0
    deploy_causes: Counter = field(default_factory=Counter)
    test_causes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def not_run(self) -> int:
        return max(0, self.methods_total - self.passed - self.failed)


def copy_package(source: Path, target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        return {n for n in names if n in UI_ONLY}

    shutil.copytree(source, target, ignore=ignore)


def apex_files(folder: Path) -> list[Path]:
    return sorted(p for pattern in ("*.cls", "*.trigger") for p in folder.rglob(pattern))


def count_test_methods(source: str) -> int:
    """Test methods of a class: methods annotated @IsTest (or declared testMethod) in an @IsTest class."""
    text = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S)
    header, keyword, body = re.split(r"\b(class)\b", text, maxsplit=1, flags=re.I) if re.search(
        r"\bclass\b", text, re.I) else (text, "", "")
    if not TEST_ANNOTATION.search(header):
        return 0
    annotated = len(re.findall(r"@is_?test\b(?:\s*\([^)]*\))?\s+(?:@\w+(?:\s*\([^)]*\))?\s+)*"
                               r"(?:(?:public|private|global|static|void)\s+)+\w+\s*\(", body, re.I))
    legacy = len(re.findall(r"\btestmethod\b", text, re.I))
    return annotated + legacy


def cause_of(message: str) -> str:
    """A cause key: the message's first line with names of the corpus's own classes folded away."""
    first = (message or "").strip().splitlines()[0] if (message or "").strip() else "(no message)"
    first = re.sub(r"^\S+\.(cls|trigger|object|field-meta\.xml|[a-zA-Z]+): line \d+, column \d+: ", "", first)
    first = re.sub(r"Error on line \d+, col \d+: ", "", first)
    return first[:140]


def not_supported_section(readme: Path = APEX_README) -> str:
    """The text of the apex README's "Not supported" section (up to the next heading)."""
    text = readme.read_text(encoding="utf-8")
    start = text.find("## Not supported")
    if start < 0:
        return ""
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def is_listed(cause: str, section: str) -> bool:
    """True when a failure is the local org's loud refusal of a construct the README lists: one of the
    names in the refusal (``FormulaEval``, ``Invocable.Action``, ...) appears in the section."""
    match = NOT_SUPPORTED.match(cause)
    if not match:
        return False
    names = re.findall(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+|[A-Z]\w*[A-Z]\w*|[A-Za-z_]\w*(?=\(\))",
                       match.group("construct"))
    return any(name in section for name in names)


def source_files_of(component_file: str, package_dir: Path) -> list[Path]:
    """The source-format files behind a Metadata API file name (``classes/Foo.cls`` -> Foo.cls + meta)."""
    folder, _, base = component_file.partition("/")
    stem = base.split(".")[0]
    if folder == "objects":  # a whole object: its folder in source format
        return [p for p in package_dir.rglob(stem) if p.is_dir() and p.parent.name == "objects"]
    if folder == "customMetadata":
        return list(package_dir.rglob(f"{base.rsplit('.md', 1)[0]}.md-meta.xml"))
    if folder in SOURCE_SUFFIX:  # Apex may sit in any folder of a package directory
        return [p for suffix in SOURCE_SUFFIX[folder] for p in package_dir.rglob(stem + suffix)]
    return [p for p in package_dir.rglob(f"{stem}.*") if p.parent.name == folder or folder in p.parts]


def deploy_until_success(org, project: Path, env: dict, package: str, result: CorpusResult, max_deploys: int,
                         aside: Path) -> None:
    package_dir = project / package
    for _ in range(max_deploys):
        before = {job_id for job_id in org.deployer._jobs}
        run = run_cci(project, env, "task", "run", "deploy", "--org", "local", "-o", "path", package, timeout=900)
        result.deploys += 1
        jobs = [job for job_id, job in org.deployer._jobs.items() if job_id not in before]
        if run.returncode == 0:
            return
        if not jobs:
            print(f"  deploy of {package} failed before reaching the org:\n{(run.stdout + run.stderr)[-2000:]}")
            return
        job = jobs[-1]
        failures = job.failures
        if not failures:
            print(f"  deploy of {package} failed: {job.error_message}")
            return
        moved = 0
        for failure in failures:
            result.deploy_causes[cause_of(failure.problem or "")] += 1
            for path in source_files_of(failure.file_name, package_dir):
                if path.exists():
                    target = aside / path.relative_to(project)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(path), str(target))
                    moved += 1
        if not moved:
            print(f"  deploy of {package}: could not set aside {[(f.file_name, f.problem) for f in failures][:5]}")
            return
        subprocess_git(project)


def subprocess_git(project: Path) -> None:
    import subprocess

    subprocess.run(["git", "add", "-A"], cwd=project, check=True, capture_output=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "set aside"],
                   cwd=project, capture_output=True)


def run_corpus(name: str, corpora: Path, work: Path, certificates, max_deploys: int) -> CorpusResult:
    result = CorpusResult(name)
    section = not_supported_section()
    started = time.perf_counter()
    project = work / name / "project"
    project.mkdir(parents=True)
    packages = []
    for repo, package in CORPORA[name]:
        copy_package(corpora / repo / package, project / package)
        packages.append(package)
    sources = [p for package in packages for p in apex_files(project / package)]
    result.classes_total = len(sources)
    test_methods = {p.stem.lower(): count_test_methods(p.read_text(errors="replace")) for p in sources
                    if p.suffix == ".cls"}
    result.methods_total = sum(test_methods.values())
    (project / "sfdx-project.json").write_text(json.dumps({
        "packageDirectories": [{"path": p, "default": i == 0} for i, p in enumerate(packages)],
        "namespace": "", "sfdcLoginUrl": "https://login.salesforce.com", "sourceApiVersion": "62.0"}))
    (project / "cumulusci.yml").write_text(
        f"minimum_cumulusci_version: \"4.10.1\"\nproject:\n  name: Fidelity{name.replace('-', '')}\n  package:\n"
        f"    name: Fidelity{name.replace('-', '')}\n    api_version: \"62.0\"\n  source_format: sfdx\n")
    init_git(project)
    org = start_local_org(work / name / "org", tls_dir=certificates.ca_cert.parent)
    try:
        env = cci_env(org, work / name / "home")
        for package in packages:
            deploy_until_success(org, project, env, package, result, max_deploys, work / name / "aside")
        ours = {p.stem.lower() for p in sources}
        deployed = {s.name.lower() for s in org.repository.apex_sources()} & ours
        result.classes_deployed = len(deployed)
        deployed_tests = [n for n, count in test_methods.items() if count and n in deployed]
        if deployed_tests:
            out = work / name / "results.json"
            run = run_cci(project, env, "task", "run", "run_tests", "--org", "local", "-o", "test_name_match",
                          ",".join(deployed_tests), "-o", "json_output", str(out), timeout=3600)
            if out.exists():
                for row in json.loads(out.read_text()):
                    if row["Outcome"] == "Pass":
                        result.passed += 1
                    else:
                        result.failed += 1
                        cause = cause_of(row.get("Message") or "")
                        result.test_causes[cause] += 1
                        result.unlisted += not is_listed(cause, section)
            else:
                print(f"  run_tests wrote no results:\n{(run.stdout + run.stderr)[-2000:]}")
    finally:
        org.stop()
    result.seconds = time.perf_counter() - started
    return result


def report(results: list[CorpusResult], top: int) -> None:
    print()
    print(f"{'corpus':28} {'classes':>11} {'deploys':>7} {'methods':>7} {'passed':>7} {'failed':>7} {'not run':>7} {'pass %':>7} {'unlisted':>8}")
    for r in results:
        rate = 100.0 * r.passed / r.methods_total if r.methods_total else 0.0
        print(f"{r.name:28} {r.classes_deployed:>5}/{r.classes_total:<5} {r.deploys:>7} {r.methods_total:>7} "
              f"{r.passed:>7} {r.failed:>7} {r.not_run:>7} {rate:>6.1f}% {r.unlisted:>8}")
    for r in results:
        print(f"\n{r.name} ({r.seconds:.0f} s) — top deploy causes (components refused):")
        for cause, count in r.deploy_causes.most_common(top):
            print(f"  {count:4}  {cause}")
        print(f"{r.name} — top test failure causes (methods):")
        section = not_supported_section()
        for cause, count in r.test_causes.most_common(top):
            print(f"  {count:4}  {'' if is_listed(cause, section) else '[unlisted] '}{cause}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", choices=sorted(CORPORA), help="only these corpora")
    parser.add_argument("--corpora", type=Path, default=CORPORA_DIR)
    parser.add_argument("--max-deploys", type=int, default=40)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fidelity-"))
    certificates = ensure_certificates(work / "tls")
    results = []
    try:
        for name in args.corpus or list(CORPORA):
            print(f"== {name}", flush=True)
            results.append(run_corpus(name, args.corpora, work, certificates, args.max_deploys))
            report(results[-1:], args.top)
        report(results, args.top)
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
