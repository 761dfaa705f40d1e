"""Issue 17, item 4: what one run or one checkout saved must not break another.

With CumulusCI's own keychain an org used once is saved in ``~/.cumulusci/ECBridge/local.org`` and on
later runs outranks ``CUMULUSCI_ORG_local``. Both failures seen in practice are reproduced here with
CumulusCI's keychain (so the test proves it reproduces them), then the same commands run with the
project's keychain (``cumulusci.yml`` → ``python_tasks.keychain.ProjectStateKeychain``, what a plain
``cci`` in the checkout uses) and succeed, without changing what the other checkout saved.

Each "checkout" is a git repository with the project's ``cumulusci.yml`` and keychain module, as a clone
has; ``HOME`` is shared between them, as on a developer's machine.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from localcloud.common.tls import CertificateFiles
from localcloud.salesforce.server import start_local_org
from tests.localorg_http.cci import CCI, ROOT, init_git

CUMULUSCI_KEYCHAIN = "cumulusci.core.keychain.EnvironmentProjectKeychain"  # what the Makefile used to set
CHECKOUT_FILES = ("cumulusci.yml", "sfdx-project.json", "python_tasks/__init__.py", "python_tasks/keychain.py")
QUERY = ("task", "run", "query", "--org", "local", "-o", "object", "User", "-o", "query", "SELECT Id FROM User",
         "-o", "result_file", "users.csv")


def make_checkout(path: Path) -> Path:
    for name in CHECKOUT_FILES:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, path / name)
    init_git(path)
    return path


def home_env(home: Path, certificates: CertificateFiles) -> dict[str, str]:
    (home / ".cumulusci").mkdir(parents=True, exist_ok=True)
    # cci looks for a newer version at most once an hour: a fresh timestamp keeps it offline.
    (home / ".cumulusci" / "cumulus_timestamp").write_text(str(time.time() + 10 * 365 * 86400))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CUMULUSCI_", "SF_", "SFDX_", "MARKETO_", "ECBRIDGE_")) and k != "CURL_CA_BUNDLE"}
    env.update({"HOME": str(home), "REQUESTS_CA_BUNDLE": str(certificates.bundle),
                "CUMULUSCI_DISABLE_TELEMETRY": "true", "PATH": f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"})
    return env


def cci(checkout: Path, env: dict[str, str], *args: str, keychain: str | None = None,
        **extra: str) -> subprocess.CompletedProcess[str]:
    run_env = {**env, **extra}
    if keychain:
        run_env["CUMULUSCI_KEYCHAIN_CLASS"] = keychain
    return subprocess.run([str(CCI), *args], cwd=checkout, env=run_env, capture_output=True, text=True, timeout=240)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return " ".join((result.stdout + result.stderr).split())


def org_env(org: Any) -> dict[str, str]:
    return {"CUMULUSCI_ORG_local": json.dumps(org.cumulusci_org_json())}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_make_clean_then_make_demo_uses_the_new_org_not_the_saved_tokens(
        tmp_path: Path, certificates: CertificateFiles) -> None:
    env = home_env(tmp_path / "home", certificates)
    checkout = make_checkout(tmp_path / "checkout")
    saved = tmp_path / "home" / ".cumulusci" / "ECBridge" / "local.org"

    first = start_local_org(tmp_path / "org-before-clean", tls_dir=certificates.ca_cert.parent)
    port = int(first.url.rsplit(":", 1)[1])
    try:
        for keychain in (CUMULUSCI_KEYCHAIN, None):
            result = cci(checkout, env, *QUERY, keychain=keychain, **org_env(first))
            assert result.returncode == 0, output(result)[-3000:]
    finally:
        first.stop()
    assert saved.exists(), "CumulusCI's keychain saves the refreshed local org (the setting of the failure)"
    ours = checkout / ".ecbridge" / "cumulusci" / "ECBridge"
    assert ours.is_dir() and not (ours / "local.org").exists(), "an org from the environment is never saved"

    # make clean: the org's data and credentials are gone; make demo: a new org on the same port.
    shutil.rmtree(tmp_path / "org-before-clean")
    second = start_local_org(tmp_path / "org-after-clean", port=port, tls_dir=certificates.ca_cert.parent)
    try:
        before = saved.read_bytes()
        failed = cci(checkout, env, *QUERY, keychain=CUMULUSCI_KEYCHAIN, **org_env(second))
        assert failed.returncode != 0 and "invalid_grant" in output(failed), output(failed)[-3000:]

        saved.write_bytes(before)
        result = cci(checkout, env, *QUERY, **org_env(second))
        assert result.returncode == 0, output(result)[-3000:]
        assert f"In org: {second.org_id}" in output(result)
        assert (checkout / "users.csv").read_text().count("\n") >= 2, "the query's rows came from the new org"
        assert saved.read_bytes() == before, "the project's keychain neither reads nor rewrites ~/.cumulusci/ECBridge"
    finally:
        second.stop()


def test_another_checkouts_saved_org_neither_breaks_a_fresh_clone_nor_is_touched(
        tmp_path: Path, certificates: CertificateFiles) -> None:
    env = home_env(tmp_path / "home", certificates)
    other = make_checkout(tmp_path / "other-checkout")
    fresh = make_checkout(tmp_path / "fresh-clone")

    other_org = start_local_org(tmp_path / "other-org", tls_dir=certificates.ca_cert.parent)
    try:
        for keychain in (CUMULUSCI_KEYCHAIN, None):  # the other checkout, with either keychain
            result = cci(other, env, *QUERY, keychain=keychain, **org_env(other_org))
            assert result.returncode == 0, output(result)[-3000:]
        assert cci(other, env, "org", "default", "local", **org_env(other_org)).returncode == 0
    finally:
        other_org.stop()  # "on other ports": nothing listens there now
    shared_home = tmp_path / "home" / ".cumulusci" / "ECBridge"
    other_state = other / ".ecbridge" / "cumulusci" / "ECBridge"
    assert (shared_home / "local.org").exists() and (other_state / "DEFAULT_ORG.txt").exists()
    before = {"home": snapshot(shared_home), "other": snapshot(other_state)}

    org = start_local_org(tmp_path / "fresh-org", tls_dir=certificates.ca_cert.parent)
    try:
        failed = cci(fresh, env, *QUERY, keychain=CUMULUSCI_KEYCHAIN, **org_env(org))
        assert failed.returncode != 0 and "internet connection" in output(failed), output(failed)[-3000:]

        result = cci(fresh, env, *QUERY, **org_env(org))
        assert result.returncode == 0, output(result)[-3000:]
        info = cci(fresh, env, "org", "info", "local", **org_env(org))
        assert info.returncode == 0 and org.url in output(info), output(info)
        listed = cci(fresh, env, "org", "list", **org_env(org))
        assert listed.returncode == 0, output(listed)
        # the fresh clone has no default org: the other checkout's DEFAULT_ORG.txt is not read
        assert "local" in output(listed) and not (fresh / ".ecbridge" / "cumulusci" / "ECBridge" / "DEFAULT_ORG.txt").exists()
    finally:
        org.stop()
    assert snapshot(shared_home) == before["home"], "the other checkout's saved orgs were touched"
    assert snapshot(other_state) == before["other"], "the other checkout's own keychain was touched"


def test_a_marketo_service_from_the_environment_outranks_a_saved_default(
        tmp_path: Path, certificates: CertificateFiles) -> None:
    """``local.env`` gives the local Marketo as ``CUMULUSCI_SERVICE_marketo``; a real Marketo connected
    earlier with ``cci service connect`` must not receive the demo's data."""
    env = home_env(tmp_path / "home", certificates)
    env["CUMULUSCI_KEY"] = "0123456789abcdef"  # CumulusCI 4.10 cannot read back services saved without a key
    checkout = make_checkout(tmp_path / "checkout")
    connected = cci(checkout, env, "service", "connect", "marketo", "production", "--base_url",
                    "https://123-ABC-456.mktorest.com", "--client_id", "real-id", "--client_secret", "real-secret")
    assert connected.returncode == 0, output(connected)
    local = {"CUMULUSCI_SERVICE_marketo": json.dumps(
        {"base_url": "https://127.0.0.1:47444", "client_id": "local-id", "client_secret": "local-secret"})}

    leaked = cci(checkout, env, "service", "info", "marketo", keychain=CUMULUSCI_KEYCHAIN, **local)
    assert leaked.returncode == 0 and "123-ABC-456" in output(leaked), output(leaked)

    result = cci(checkout, env, "service", "info", "marketo", **local)
    assert result.returncode == 0, output(result)
    assert "https://127.0.0.1:47444" in output(result) and "123-ABC-456" not in output(result)
    without = cci(checkout, env, "service", "info", "marketo")
    assert "123-ABC-456" in output(without), "without the variable the connected service is the default"


@pytest.mark.parametrize("value, expected", [("", ".ecbridge/cumulusci/ECBridge"), ("state", "state/cumulusci/ECBridge")])
def test_keychain_folder_follows_the_state_folder(tmp_path: Path, value: str, expected: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from python_tasks.keychain import keychain_folder

    monkeypatch.chdir(tmp_path)
    environ = {"ECBRIDGE_HOME": value} if value else {}
    assert keychain_folder(tmp_path, "ECBridge", environ) == (tmp_path / expected).resolve()
    with pytest.raises(ValueError, match="cannot name a folder"):
        keychain_folder(tmp_path, "../x", environ)


def test_make_clean_forgets_only_the_local_dev_hubs_scratch_orgs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  certificates: CertificateFiles) -> None:
    """`make clean` deletes the local Dev Hub with its scratch orgs: their keychain entries go too (else the next
    `cci flow run --org ecbdev` would ask sf about an org on a dead port); real scratch orgs and other orgs stay."""
    from cumulusci.core.config import BaseProjectConfig, OrgConfig, ScratchOrgConfig, UniversalConfig

    from python_tasks.keychain import ProjectStateKeychain, forget_local_scratch_orgs

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ECBRIDGE_HOME", raising=False)
    checkout = make_checkout(tmp_path / "checkout")
    project = BaseProjectConfig(UniversalConfig(), repo_info={"root": str(checkout)})
    keychain = ProjectStateKeychain(project, None)
    for name, scratch, url in (("ecbdev", True, "https://127.0.0.1:41143"), ("real", True, "https://x.scratch.my.salesforce.com"),
                               ("mine", False, "https://127.0.0.1:47443"), ("fresh", True, None)):
        config = {"username": f"{name}@example.com", "scratch": scratch, "config_file": "orgs/dev.json",
                  **({"instance_url": url} if url else {})}
        org = (ScratchOrgConfig if scratch else OrgConfig)(config, name, keychain=keychain, global_org=False)
        keychain.set_org(org, global_org=False)
    folder = checkout / ".ecbridge" / "cumulusci" / "ECBridge"
    assert (folder / "ecbdev.org").exists()

    logged_out: list[str] = []
    assert forget_local_scratch_orgs(keychain, logged_out.append) == ["ecbdev"]
    assert logged_out == ["ecbdev@example.com"] and not (folder / "ecbdev.org").exists()
    again = ProjectStateKeychain(project, None)
    assert {"real", "mine", "fresh"} <= set(again.list_orgs()) and "ecbdev" not in again.list_orgs()
