"""Adapter between the Apex runtime and the data layer (localcloud.salesforce.data).

The runtime talks to the data layer only through these functions so the data layer's API can move
without touching the interpreter. `data` is a `Store` (or anything with `.schema` and `.transaction()`).
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

#: what the org tells the runtime about itself beyond its data, per store: kind -> source
#: (``"flow_definitions"``: ``{name: XML}`` of the deployed flows; ``"cdc_entities"``: the entities selected for
#: Change Data Capture). Registered by the org (``install_local_org``); scratch test stores inherit them.
_ORG_SOURCES: "weakref.WeakKeyDictionary[Any, dict[str, Callable[[], Any]]]" = weakref.WeakKeyDictionary()


def register_org_source(store: Any, kind: str, source: Callable[[], Any] | None) -> None:
    """Tell the runtime where ``kind`` of ``store``'s org comes from (None: forget it)."""
    sources = _ORG_SOURCES.setdefault(store, {})
    if source is None:
        sources.pop(kind, None)
    else:
        sources[kind] = source


def org_source(store: Any, kind: str) -> Callable[[], Any] | None:
    try:
        return _ORG_SOURCES.get(store, {}).get(kind) if store is not None else None
    except TypeError:  # not weak-referenceable: never registered
        return None

from . import ops
from .values import Blob, IdValue, Long


def schema_of(data: Any) -> Any:
    from .schema import DataSchema
    sch = getattr(data, "schema", None)
    return DataSchema(sch) if sch is not None else None


class Session:
    """One Apex transaction's handle on the data layer."""

    def __init__(self, store: Any, tx: Any, owned: bool) -> None:
        self.store = store
        self.tx = tx
        self.owned = owned


def begin_session(data: Any, tx: Any = None) -> Session:
    if tx is not None:
        return Session(data, tx, False)
    return Session(data, data.transaction(), True)


def automated_process_user_in(tx: Any) -> str | None:
    """The org's Automated Process user (who runs platform event and change event triggers), read in ``tx``."""
    rows = tx.query("SELECT Id FROM User WHERE UserType = 'AutomatedProcess' LIMIT 1").records
    return str(rows[0]["Id"]) if rows else None


def automated_process_user(store: Any) -> str | None:
    """The Automated Process user, read in a transaction of its own."""
    with store.transaction() as tx:
        return automated_process_user_in(tx)


def session_as(store: Any, user_id: str) -> Session:
    """A data session whose DML is ``user_id``'s (CreatedById, OwnerId)."""
    return Session(store, store.transaction(user_id=user_id), True)


def end_session(session: Session, commit: bool) -> None:
    if not session.owned:
        return
    if commit:
        session.tx.commit()
    else:
        session.tx.rollback()


def data_tx(prog: Any) -> Any:
    """The running Apex transaction's data-layer transaction (what SOQL, SOSL and DML run in)."""
    s = prog.tx.data
    if s is None:
        ops.throw("System.UnexpectedException",
                  "DML and SOQL need the local org's data layer; this program runs without one")
    return s.tx


def to_data_value(v: Any) -> Any:
    """An Apex value as the data layer takes it (bind variables, record fields)."""
    if type(v) is IdValue:
        return str(v)
    if type(v) is Long:
        return int(v)
    if type(v) is Blob:  # a base64 field (ContentVersion.VersionData) takes the bytes
        return v.data
    return v


# Objects Apex tests see without SeeAllData (setup objects) and the org's own Apex bookkeeping.
SETUP_OBJECTS = {"user", "profile", "organization", "permissionset", "permissionsetassignment", "recordtype",
                 "userrole", "group", "groupmember", "businesshours", "entitydefinition", "fielddefinition",
                 "custompermission", "queuesobject", "setupentityaccess", "network", "listview",
                 "processdefinition", "permissionsetgroup", "permissionsetgroupcomponent"}


def isolated_test_store(store: Any, directory: Any) -> Any:
    """A scratch copy of the org for an Apex test run: same schema and setup objects (users,
    profiles, permission sets), no business data — so a test sees only the data it makes.

    Adapter: the data layer has no "test isolation" mode yet; this copies the SQLite file with
    SQLite's backup API and removes business records through the data layer's own API.
    """
    import sqlite3
    from pathlib import Path

    from localcloud.salesforce.data import open_store
    from localcloud.salesforce.data.locks import forget_approvals

    target = Path(directory) / "apex-test-run.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(target) + suffix)
        if p.exists():
            p.unlink()
    src = sqlite3.connect(str(store.path))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        # only tables holding rows need emptying (most standard objects of a fresh org have none)
        tables = [row[0] for row in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        filled = {name for name in tables if name.startswith("t_")
                  and dst.execute(f'SELECT EXISTS(SELECT 1 FROM "{name}")').fetchone()[0]}
    finally:
        src.close()
        dst.close()
    scratch = open_store(target, person_accounts=False)  # a copy keeps the org's own Person Accounts setting
    for kind, source in list(_ORG_SOURCES.get(store, {}).items()):
        register_org_source(scratch, kind, source)
    with scratch.transaction() as tx:
        for od in scratch.schema.objects():
            low = od.name.lower()
            if od.table.strip('"') not in filled:
                continue
            if low in SETUP_OBJECTS or low.startswith("apex") or low in ("asyncapexjob", "testsuitemembership") \
                    or low.endswith("__mdt"):  # custom metadata is metadata: tests see it
                continue
            try:
                ids = [r["Id"] for r in tx.query(f"SELECT Id FROM {od.name}", page_size=1_000_000).records]
            except Exception:  # noqa: BLE001 - objects that cannot be queried keep nothing to remove
                continue
            for i in range(0, len(ids), 200):
                tx.delete(ids[i:i + 200], all_or_none=False)
        forget_approvals(tx)  # record locks and ProcessInstance rows are org data too
    return scratch
