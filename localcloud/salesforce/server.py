"""The local org assembled: data store + metadata repository + identity + HTTPS server.

In-process use (tests, benchmarks)::

    from localcloud.salesforce.server import start_local_org
    with start_local_org(tmp_path) as org:          # port 0: a free port on 127.0.0.1
        org.url, org.access_token, org.org_id, org.ca_bundle
        org.cumulusci_org_json()                     # the value for CUMULUSCI_ORG_local
        org.deployer.deploy_zip(zip_bytes)           # deploy without HTTP

Apex: when the Apex runtime (``localcloud.salesforce.apex.orgruntime.ApexRuntime``) is present
and ``ECBRIDGE_ORG_APEX`` is not ``off``, the org binds it (``_bind_apex_runtime``): it becomes the
store's trigger hook, compiles every deploy's Apex (a failure fails the deploy with file, line
and column), is re-activated with the org's sources after each deploy and answers
``/services/apexrest/*`` and the Tooling run-tests surface (``http/tooling_tests.py``).
If ``localcloud.salesforce.apex`` also exposes
``install_local_org(context)``, the org calls it after binding (the runtime is
``context.extras["apex_runtime"]``, the metadata repository ``context.extras["metadata_repository"]``)
and registers the route registrars it returns behind the same authentication.
Scheduled Apex: a running org (``start_local_org``) fires due scheduled jobs from a thread that calls
``context.extras["apex_scheduler"].tick(now)`` every ``ECBRIDGE_ORG_SCHEDULER_SECONDS`` (default 10,
``off`` for none); ``stop()`` ends it.
"""
from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from localcloud.common.httpserver import RunningServer, serve
from localcloud.common.tls import CertificateFiles, ensure_certificates
from localcloud.salesforce.data import open_store
from localcloud.salesforce.http.app import RouteRegistrar, build_app
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.identity import IdentityStore
from localcloud.salesforce.metadata.labels import org_labels, org_pages
from localcloud.salesforce.metadata import ApexSource, CompileProblem, CompileRequest, Deployer, MetadataRepository

log = logging.getLogger(__name__)

DATA_FILE = "org.sqlite3"
METADATA_FILE = "metadata.sqlite3"
AUTH_FILE = "auth.sqlite3"
SESSION_GRANT = "local_session"
#: how many broken classes and triggers one deploy reports (Salesforce reports them all)
COMPILE_PROBLEM_LIMIT = 500


def _source_files(sources: Iterable[ApexSource]) -> dict[str, str]:
    return {f"{s.name}.{'cls' if s.kind == 'ApexClass' else 'trigger'}": s.body for s in sources}


def _bind_apex_runtime(context: OrgContext, store: Any, repository: MetadataRepository, deployer: Deployer) -> Any:
    """Bind the Apex runtime to this org (see the module docstring); returns it or None."""
    if os.environ.get("ECBRIDGE_ORG_APEX", "on").lower() in ("off", "0", "false", "no"):
        return None
    try:
        from localcloud.salesforce.apex import ApexCompileError, compile_problems
        from localcloud.salesforce.apex.dataport import schema_of
        from localcloud.salesforce.apex.orgruntime import ApexRuntime
    except ImportError:
        return None
    runtime = ApexRuntime(store)
    existing = repository.apex_sources()
    if existing:
        try:
            runtime.program.labels = org_labels(repository)
            runtime.program.pages = org_pages(repository)
            runtime.deploy(_source_files(existing))
        except ApexCompileError as error:
            log.error("the org's stored Apex does not compile with this Apex runtime (%s); triggers and Apex "
                      "REST stay off until a deploy fixes it", error)

    def compile_hook(request: CompileRequest) -> list[CompileProblem]:
        # Compile against the schema the deploy produces (its new objects and fields included).
        schema = schema_of(SimpleNamespace(schema=request.schema)) if request.schema is not None else None
        # every broken class and trigger, as Salesforce reports them (not only the first)
        errors: list[Any] = compile_problems(_source_files(request.all_sources), data=store, schema=schema,
                                             limit=COMPILE_PROBLEM_LIMIT)
        problems = []
        for error in errors:
            name, _, extension = str(error.file).rpartition(".")
            kind = "ApexTrigger" if extension == "trigger" else "ApexClass"
            problems.append(CompileProblem(kind, name or str(error.file), error.line, error.column, error.message))
        return problems

    def activate(sources: Iterable[ApexSource]) -> None:
        files = _source_files(sources)
        stale = [name for name in runtime.sources if name not in files]
        if stale:  # deleted by destructiveChanges
            runtime.remove(stale)
        runtime.program.labels = org_labels(repository)
        runtime.program.pages = org_pages(repository)
        runtime.deploy(files)

    deployer.compile_hooks.append(compile_hook)
    deployer.activation_hooks.append(activate)
    context.extras["apex_runtime"] = runtime
    try:
        from localcloud.salesforce.apex.schedulelib import ApexScheduler
        context.extras["apex_scheduler"] = ApexScheduler(runtime)  # its clock loop starts with the server
    except ImportError:
        pass
    _bind_org_sources(store, repository, runtime)
    flows = _FlowBodies(repository)
    deployer.activation_hooks.append(flows.forget)
    try:
        from localcloud.salesforce.apex.dataport import register_org_source
        register_org_source(store, "flow_definitions", flows)
    except ImportError:
        pass
    return runtime


class _FlowBodies:
    """The org's deployed flows as ``{name: XML}`` for the flow engine (``apex/flowlib.py``); read once after
    each deploy (the same mapping is answered until then, so flows are parsed once a deploy)."""

    def __init__(self, repository: MetadataRepository) -> None:
        self.repository = repository
        self._bodies: dict[str, bytes] | None = None

    def __call__(self) -> dict[str, bytes]:
        if self._bodies is None:
            self._bodies = dict(self.repository.component_bodies("Flow"))
        return self._bodies

    def forget(self, _sources: Any = None) -> None:
        self._bodies = None


def _bind_org_sources(store: Any, repository: MetadataRepository, runtime: Any) -> None:
    """What Apex learns from the org's metadata: the entities selected for Change Data Capture, whose
    change events reach Apex change event triggers."""
    try:
        from localcloud.salesforce.apex.changeeventlib import attach
        from localcloud.salesforce.apex.dataport import register_org_source
    except ImportError:
        return
    from localcloud.salesforce.metadata.channel_members import selected_entities
    register_org_source(store, "cdc_entities", lambda: selected_entities(repository))
    attach(runtime)


def _plugin_routes(context: OrgContext) -> list[RouteRegistrar]:
    try:
        apex = importlib.import_module("localcloud.salesforce.apex")
    except ImportError:
        return []
    install: Callable[[OrgContext], Iterable[RouteRegistrar]] | None = getattr(apex, "install_local_org", None)
    return list(install(context)) if install else []


@dataclass
class LocalOrgHandle:
    url: str
    access_token: str
    context: OrgContext
    certificates: CertificateFiles | None
    server: RunningServer
    store: Any
    repository: MetadataRepository
    deployer: Deployer
    scheduler_loop: Any = None  # scheduled Apex's clock (schedulelib.SchedulerLoop), None when off
    _stopped: bool = field(default=False, repr=False)

    @property
    def org_id(self) -> str:
        return self.context.org_id

    @property
    def user_id(self) -> str:
        return self.context.user_id

    @property
    def username(self) -> str:
        return self.context.identity.identity.username

    @property
    def password(self) -> str:
        return self.context.identity.identity.password

    @property
    def client_id(self) -> str:
        return self.context.identity.identity.client_id

    @property
    def client_secret(self) -> str:
        return self.context.identity.identity.client_secret

    @property
    def refresh_token(self) -> str:
        return self.context.identity.identity.refresh_token

    @property
    def ca_bundle(self) -> str | None:
        return str(self.certificates.bundle) if self.certificates else None

    @property
    def instance(self) -> str:
        """``host:port``, the form simple-salesforce's ``instance=`` takes."""
        return self.url.split("://", 1)[1]

    def cumulusci_org_json(self) -> dict[str, Any]:
        """What CumulusCI needs in ``CUMULUSCI_ORG_local`` to use this org (refresh works too)."""
        return {
            "instance_url": self.url,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "org_id": self.org_id,
            "id": f"{self.url}/id/{self.org_id}/{self.user_id}",
            "username": self.username,
            "instance_name": "LOCAL",
            "org_type": "Developer Edition",
            "is_sandbox": False,
            "namespace": None,
            "scratch": False,
            "expires": "Persistent",
        }

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.scheduler_loop is not None:
            self.scheduler_loop.stop()
        self.server.stop()
        self.context.identity.close()
        self.repository.close()
        self.store.close()

    def __enter__(self) -> "LocalOrgHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _username(store: Any) -> tuple[str | None, str | None]:
    try:
        with store.transaction() as tx:
            user = tx.retrieve("User", store.user_id, ["Username", "Email"])
    except Exception:  # the data layer's User may lack a field; the identity store has defaults
        log.warning("could not read the admin user's username", exc_info=True)
        return None, None
    if not user:
        return None, None
    return user.get("Username"), user.get("Email")


@dataclass
class AssembledOrg:
    """An org opened from its folder and wired to its HTTP application, not yet listening anywhere."""

    app: Any
    context: OrgContext
    store: Any
    repository: MetadataRepository
    deployer: Deployer

    def close(self) -> None:
        self.context.identity.close()
        self.repository.close()
        self.store.close()


def _rename_admin(store: Any, username: str) -> None:
    with store.transaction(user_id=store.user_id) as tx:
        [result] = tx.update("User", [{"Id": store.user_id, "Username": username}], read_only_fields="write")
    if not getattr(result, "success", True):
        raise ValueError(f"the admin user cannot be named {username!r}: {result}")


def assemble_local_org(data_dir: Path, *, instance_url: str = "https://127.0.0.1", reset: bool = False,
                       org_number: int = 1, admin_username: str | None = None,
                       extra_modules: Iterable[RouteRegistrar] = ()) -> AssembledOrg:
    """Open (or create) the org under ``data_dir`` (data, metadata, identity, Apex) and build its app.

    ``org_number`` gives a new org its own organization id (the Dev Hub's scratch orgs); an existing
    folder keeps the id it has. ``admin_username`` renames the admin user (the sf CLI keys its auth
    files by username, so each checkout's local Dev Hub needs its own)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if reset:
        for name in (DATA_FILE, METADATA_FILE, AUTH_FILE):
            for suffix in ("", "-wal", "-shm", "-journal"):
                (data_dir / (name + suffix)).unlink(missing_ok=True)
    store = open_store(data_dir / DATA_FILE, org_number=org_number)
    repository = MetadataRepository(data_dir / METADATA_FILE)
    username, email = _username(store)
    if admin_username and username != admin_username:
        _rename_admin(store, admin_username)
        username, email = _username(store)
    identity = IdentityStore(data_dir / AUTH_FILE, store.org_id, store.user_id, username, email)
    context = OrgContext(identity=identity, data=store, instance_url=instance_url)
    context.extras["metadata_repository"] = repository
    deployer = Deployer(store, repository, store.user_id)
    context.deployer = deployer
    _bind_apex_runtime(context, store, repository, deployer)
    app = build_app(context, [*extra_modules, *_plugin_routes(context)])
    return AssembledOrg(app=app, context=context, store=store, repository=repository, deployer=deployer)


def start_local_org(
    data_dir: Path,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    tls: bool = True,
    tls_dir: Path | None = None,
    reset: bool = False,
    extra_modules: Iterable[RouteRegistrar] = (),
    wrap_app: Callable[[Any, OrgContext], Any] | None = None,
    admin_username: str | None = None,
) -> LocalOrgHandle:
    """Open (or create) the org under ``data_dir`` and serve it on ``host:port`` (0 = any free port).

    ``wrap_app(app, context)`` may put an application in front of the org's own (the local Dev Hub's
    routes, ``localcloud.salesforce.devhub``)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    certificates = ensure_certificates(tls_dir or data_dir / "tls") if tls else None
    org = assemble_local_org(data_dir, reset=reset, admin_username=admin_username, extra_modules=extra_modules)
    app = wrap_app(org.app, org.context) if wrap_app else org.app
    server = serve(app, port=port, ssl_context=certificates.server_context() if certificates else None, host=host)
    org.context.instance_url = server.url
    token = org.context.identity.session_token(SESSION_GRANT, server.url)
    log.info("local org %s listening on %s", org.store.org_id, server.url)
    return LocalOrgHandle(
        url=server.url, access_token=token, context=org.context, certificates=certificates, server=server,
        store=org.store, repository=org.repository, deployer=org.deployer,
        scheduler_loop=_start_scheduler(org.context),
    )


def _start_scheduler(context: OrgContext) -> Any:
    """Scheduled Apex's clock: a thread calling the org's ``ApexScheduler.tick`` every
    ``ECBRIDGE_ORG_SCHEDULER_SECONDS`` seconds (default 10; ``0``/``off``: none)."""
    scheduler = context.extras.get("apex_scheduler")
    if scheduler is None:
        return None
    from localcloud.salesforce.apex.schedulelib import SchedulerLoop, interval_setting
    interval = interval_setting()
    return SchedulerLoop(scheduler, interval).start() if interval > 0 else None
