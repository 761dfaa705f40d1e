"""ECBridge's CumulusCI keychain: this checkout's orgs in this checkout, the environment first.

CumulusCI's file keychain keeps a project's orgs in ``~/.cumulusci/<project name>/`` (shared by every
checkout of the project) and loads them *after* ``CUMULUSCI_ORG_<name>``, so a saved ``local.org``
outranks the org the environment describes. An org refreshed once was saved there, so

- after ``make clean && make demo`` the saved file still held the old local org's tokens
  (``invalid_grant ... expired access/refresh token``);
- a second checkout on other ports left its ``local.org`` behind and a fresh clone's ``make demo``
  talked to a port nothing listened on.

This keychain (chosen in ``cumulusci.yml`` under ``cumulusci: keychain:``, so a plain ``cci`` uses it)
changes three things and nothing else:

1. The project's orgs, its default org and its project-level default services live in
   ``<state>/cumulusci/<project name>/``, where ``<state>`` is ``$ECBRIDGE_HOME`` or ``.ecbridge`` in the
   checkout: one checkout never reads or writes another's orgs.
2. Orgs and services given in the environment (``CUMULUSCI_ORG_<name>``,
   ``CUMULUSCI_SERVICE_<type>``) win over saved ones of the same name, as the environment is what the
   caller says now.
3. An org that came from the environment is never written to disk: a refreshed access token stays in
   memory for the run (the environment still holds the refresh token for the next one).

Global orgs and services (``cci org connect --global-org``, ``cci service connect``) stay in
``~/.cumulusci`` and are shared between checkouts, as in CumulusCI.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from cumulusci.core.exceptions import OrgNotFound
from cumulusci.core.keychain import EncryptedFileProjectKeychain
from cumulusci.core.keychain.encrypted_file_project_keychain import GlobalOrg, LocalOrg

STATE_ENV = "ECBRIDGE_HOME"
DEFAULT_STATE_FOLDER = ".ecbridge"
KEYCHAIN_FOLDER = "cumulusci"


def state_folder(repo_root: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Path:
    """The project's state folder: ``$ECBRIDGE_HOME`` (relative to the working directory, as the local
    cloud reads it) or ``<repo_root>/.ecbridge``."""
    env = os.environ if environ is None else environ
    chosen = (env.get(STATE_ENV) or "").strip()
    return Path(chosen).resolve() if chosen else Path(repo_root).resolve() / DEFAULT_STATE_FOLDER


def keychain_folder(repo_root: str | os.PathLike[str], project_name: str,
                    environ: dict[str, str] | None = None) -> Path:
    """Where this checkout's project orgs live. The last part is the project's name because CumulusCI
    names project-scoped services after it (``cci service info`` shows "project: <name>")."""
    if not project_name or "/" in project_name or project_name in (".", ".."):
        raise ValueError(f"project name {project_name!r} cannot name a folder")
    return state_folder(repo_root, environ) / KEYCHAIN_FOLDER / project_name


class ProjectStateKeychain(EncryptedFileProjectKeychain):
    """CumulusCI's encrypted file keychain with the project's orgs in the checkout's state folder and
    the environment outranking saved files (see the module docstring)."""

    _environment_orgs: set[str]

    @property
    def project_local_dir(self) -> str | None:
        repo_root = getattr(self.project_config, "repo_root", None)
        name = getattr(self.project_config, "project__name", None)
        if not repo_root or not name:  # no project (cci run outside a checkout): CumulusCI's own place
            return super().project_local_dir
        folder = keychain_folder(repo_root, name)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return str(folder)

    # -- orgs -------------------------------------------------------------------------------------

    def _load_orgs(self) -> None:
        self._environment_orgs = set()
        self._load_org_files(self.global_config_dir, GlobalOrg)
        self._load_org_files(self.project_local_dir, LocalOrg)
        self._load_orgs_from_environment()  # last, so that it wins

    def _load_org_from_environment(self, env_var_name: str, value: str) -> None:
        super()._load_org_from_environment(env_var_name, value)
        self._environment_orgs.add(env_var_name[len(self.env_org_var_prefix):].lower())

    def _set_org(self, org_config: Any, global_org: bool, save: bool = True) -> None:
        if org_config.name in getattr(self, "_environment_orgs", ()):
            save = False  # quietly: `cci org info --json` prints the org on stdout
        super()._set_org(org_config, global_org, save=save)

    def _remove_org(self, name: str, global_org: bool) -> None:
        if name in self._environment_orgs:
            raise OrgNotFound(f"Org {name} comes from the environment variable "
                              f"{self.env_org_var_prefix}{name.upper()}: unset it instead of removing the org")
        super()._remove_org(name, global_org)

    # -- services ---------------------------------------------------------------------------------

    def _load_default_services(self) -> None:
        super()._load_default_services()
        # A service given in the environment without a name (CUMULUSCI_SERVICE_<type>) is the default of
        # its type, whatever DEFAULT_SERVICES.json says.
        for name in os.environ:
            if name.startswith(self.env_service_var_prefix) and "__" not in name[len(self.env_service_var_prefix):]:
                service_type = self._get_env_service_type(name)
                if "env" in self.services.get(service_type, {}):
                    self._default_services[service_type] = "env"



# -- make clean: forget the scratch orgs of the local Dev Hub ---------------------------------------

LOCAL_HOSTS = ("https://127.0.0.1:", "https://localhost:", "https://[::1]:")


def forget_local_scratch_orgs(keychain: Any, logout: Callable[[str], None] | None = None) -> list[str]:
    """Remove from ``keychain`` the scratch orgs served on this machine (the local Dev Hub's, whose data
    ``make clean`` deletes), and log the sf CLI out of each; real scratch orgs are kept. Returns their names."""
    forgotten = []
    for name in keychain.list_orgs():
        try:
            org = keychain.get_org(name)
        except Exception:  # noqa: BLE001 - an unreadable org is not ours to judge; CumulusCI reports it on use
            continue
        instance_url = str(org.config.get("instance_url") or "")
        if not org.config.get("scratch") or not instance_url.startswith(LOCAL_HOSTS):
            continue
        username = org.config.get("username")
        keychain.remove_org(name, global_org=bool(org.global_org))
        if username and logout:
            logout(username)
        forgotten.append(name)
    return forgotten


def _sf_logout(username: str) -> None:
    subprocess.run(["sf", "org", "logout", "--target-org", username, "--no-prompt"], capture_output=True,
                   text=True, timeout=120, check=False)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["forget-local-scratch-orgs"]:
        print("usage: python -m python_tasks.keychain forget-local-scratch-orgs", file=sys.stderr)
        return 2
    from cumulusci.cli.runtime import CliRuntime

    runtime = CliRuntime(load_keychain=True)
    if runtime.project_config is None or runtime.keychain is None:
        print("not in a CumulusCI project: no scratch orgs to forget")
        return 0
    names = forget_local_scratch_orgs(runtime.keychain, logout=_sf_logout if shutil.which("sf") else None)
    print(f"forgot the local Dev Hub's scratch orgs: {', '.join(names)}" if names
          else "no scratch orgs of the local Dev Hub to forget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
