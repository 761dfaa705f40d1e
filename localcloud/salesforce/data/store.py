"""SQLite storage and transactions.

Concurrency model: every ``Transaction`` has its own SQLite connection (WAL mode). Reads run
without locks. The first write of a transaction (DML, savepoint, schema change) takes the
store's write lock and ``BEGIN IMMEDIATE``; the lock is held until commit or rollback, so
writers are serialised (no lost update, no torn write; uniqueness checks cannot race) while
readers keep going. Other processes are held off by SQLite's own lock (``busy_timeout``).
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import threading
import time as _time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

from . import definitions, dml, fieldsets, formulas, locks, personaccounts, recycle  # personaccounts installs its hooks (features.py)
from . import entitydefs, recordaccess, sharing  # noqa: F401 - install the sharing hooks and computed views (features.py)
from .soql.engine import execute as execute_soql
from .soql.engine import select_uncounted
from .changes import CommitListener, CommittedChanges, RecordChange
from .errors import InvalidQueryLocatorError, SalesforceError
from .ids import make_id
from .results import QueryResult, SaveResult
from .schema import FieldDef, ObjectDef, Schema, standard_object_definitions
from .soql.ast import Bind, SoqlQuery
from .soql.functions import sf_datefn
from .specs import CustomFieldSpec, CustomObjectSpec, FieldSetSpec, field_spec_from_dict, object_spec_from_dict
from .triggers import TriggerHook
from .store_indexes import INDEXED_AUDIT_FIELDS
from .txn import Limits, ReadOnlyFields
from .values import DECIMALS, TEXT


BindResolver = Callable[[Bind], Any]
RowFilter = Callable[[Any, str], "str | None"]  # record visibility: (object, table alias) -> SQL or None

CURSOR_TTL_SECONDS = 15 * 60
MAX_CURSORS = 200


class Savepoint:
    """A point inside a transaction to roll back to (Apex ``Database.setSavepoint``)."""

    def __init__(self, name: str, schema: Schema, schema_changed: bool) -> None:
        self.name = name
        self.schema = schema
        self.schema_changed = schema_changed
        self.changes_mark = 0

    def __repr__(self) -> str:
        return f"Savepoint({self.name})"


def column_sql(fd: FieldDef) -> str:
    if fd.type in TEXT:
        return "TEXT" if fd.case_sensitive else "TEXT COLLATE NOCASE"
    if fd.type in ("boolean", "int"):
        return "INTEGER"
    if fd.type in DECIMALS:
        return "REAL"
    if fd.type == "base64":
        return "BLOB"
    return "TEXT"


def _needs_index(fd: FieldDef) -> bool:
    return (fd.type == "reference" or fd.external_id or fd.unique or (fd.custom and bool(fd.raw.get("idLookup")))
            or fd.lower in INDEXED_AUDIT_FIELDS)


def upgraded_fields(stored: list[dict[str, Any]], standard: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """``stored`` (a persisted standard object's fields) with the standard fields it lacks inserted after
    their predecessor, and ``compoundFieldName`` filled in where the standard describe has it; None when
    nothing changes. Fields of the org (custom ones) keep their place."""
    have = {f["name"].lower(): f for f in stored}
    by_name = {f["name"].lower(): f for f in standard}
    out = [dict(f) for f in stored]
    changed = False
    for f in out:
        std = by_name.get(f["name"].lower())
        if std is not None and std.get("compoundFieldName") and not f.get("compoundFieldName"):
            f["compoundFieldName"] = std["compoundFieldName"]
            changed = True
    previous = None
    for f in standard:
        low = f["name"].lower()
        if low not in have:
            at = next((k + 1 for k, x in enumerate(out) if previous and x["name"].lower() == previous), len(out))
            out.insert(at, json.loads(json.dumps(f)))  # a copy: the fixture stays untouched
            have[low] = f
            changed = True
        previous = low
    return out if changed else None


class Transaction:
    """One unit of work (one REST request, one Apex transaction). Use as a context manager:
    commit on normal exit, roll back on exception. Not shared between threads."""

    def __init__(self, store: "Store", user_id: str | None = None) -> None:
        self._store = store
        self.user_id: str = user_id or store.user_id
        self.acting_user_id: str | None = None  # Apex's running user (System.runAs), for record locks (locks.py)
        self._conn = store._acquire_connection()
        self.schema: Schema = store._current_schema(self._conn)
        self._writing = False
        self._closed = False
        self._schema_changed = False
        self._savepoints: list[Savepoint] = []
        self._sp_seq = itertools.count(1)
        self.limits = Limits()
        self.trigger_depth = 0
        self.now: Callable[[], datetime] = store._now
        self._after_commit: list[Callable[[], None]] = []
        self._changes: list[RecordChange] = []
        self.converting_leads: set[str] = set()  # leads lead conversion may update (leadconvert.py)
        self.triggers_suppressed = False  # lead conversion without LeadConfigSettings' validation and triggers

    def record_change(self, change: RecordChange) -> None:
        """DML reports a saved record here; the store's commit listeners get them after COMMIT."""
        self._changes.append(change)

    def recorded_changes(self) -> tuple[RecordChange, ...]:
        """The changes recorded so far and not rolled back (what commit listeners would get now)."""
        return tuple(self._changes)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed, after its write lock is released
        (Apex's Queueables and @future calls enqueued by triggers). A rollback drops it."""
        self._after_commit.append(callback)

    # -- plumbing --------------------------------------------------------------------------
    @property
    def store(self) -> "Store":
        return self._store

    @property
    def closed(self) -> bool:
        return self._closed

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run raw SQL on this transaction's connection (the SOQL engine and DML use this)."""
        if self._closed:
            raise RuntimeError("transaction is closed")
        return self._conn.execute(sql, params)

    def begin_write(self) -> None:
        """Take the store's write lock and open the SQLite write transaction (idempotent)."""
        if self._closed:
            raise RuntimeError("transaction is closed")
        if self._writing:
            return
        self._store._lock_for_write()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._store._unlock_write()
            raise
        self._writing = True
        if not self._schema_changed:
            self.schema = self._store._current_schema(self._conn)

    def _finish(self) -> None:
        self._closed = True
        if self._writing:
            self._writing = False
            self._store._unlock_write()
        self._store._release_connection(self._conn)

    def commit(self) -> None:
        if self._closed:
            return
        try:
            if self._writing:
                version = None
                if self._schema_changed:
                    version = self._store._persist_schema(self._conn, self.schema)
                self._store._notify_commit(self)  # inside the transaction: what listeners write commits with it
                self._conn.execute("COMMIT")
                if version is not None:
                    self._store._publish_schema(self.schema, version)
        except BaseException:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        finally:
            self._finish()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        if self._closed:
            return
        self._after_commit.clear()
        self._changes.clear()
        try:
            if self._writing:
                self._conn.execute("ROLLBACK")
        finally:
            self._finish()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def __del__(self) -> None:
        # a transaction dropped without commit/rollback must not keep the write lock
        try:
            if not self._closed:
                self.rollback()
        except Exception:  # noqa: BLE001 - best effort during garbage collection
            pass

    # -- savepoints --------------------------------------------------------------------------
    def savepoint(self) -> Savepoint:
        self.begin_write()
        sp = Savepoint(f"sp{next(self._sp_seq)}", self.schema, self._schema_changed)
        sp.changes_mark = len(self._changes)
        self._conn.execute(f"SAVEPOINT {sp.name}")
        self._savepoints.append(sp)
        return sp

    def rollback_to(self, savepoint: Savepoint) -> None:
        """Undo everything since ``savepoint`` (which stays usable; later savepoints become invalid)."""
        if savepoint not in self._savepoints:
            raise SalesforceError("INVALID_OPERATION", "Savepoint does not exist in this context")
        self._conn.execute(f"ROLLBACK TO {savepoint.name}")
        idx = self._savepoints.index(savepoint)
        del self._savepoints[idx + 1:]
        self.schema = savepoint.schema
        self._schema_changed = savepoint.schema_changed
        del self._changes[savepoint.changes_mark:]

    def release(self, savepoint: Savepoint) -> None:
        """Forget a savepoint, keeping its changes."""
        if savepoint not in self._savepoints:
            return
        self._conn.execute(f"RELEASE {savepoint.name}")
        idx = self._savepoints.index(savepoint)
        del self._savepoints[idx:]

    # -- DML -----------------------------------------------------------------------------------
    def insert(self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = True,
               read_only_fields: ReadOnlyFields = "reject") -> list[SaveResult]:
        """Create records (keys case-insensitive; JSON or Python values). ``Id`` must be absent.
        ``read_only_fields``: ``reject`` (REST: ``INVALID_FIELD_FOR_INSERT_UPDATE``), ``ignore``
        (Apex re-saving queried records) or ``write`` (system writers: test results, ApexClass)."""
        return dml.insert(self, sobject, records, all_or_none, read_only_fields)

    def update(self, sobject: str | None, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = True,
               read_only_fields: ReadOnlyFields = "reject") -> list[SaveResult]:
        """Update records by their ``Id``; only given fields change. ``sobject`` None = from the id prefix."""
        return dml.update(self, sobject, records, all_or_none, read_only_fields)

    def upsert(self, sobject: str, records: Sequence[Mapping[str, Any]], external_id_field: str = "Id", *,
               all_or_none: bool = True, read_only_fields: ReadOnlyFields = "reject") -> list[SaveResult]:
        """Insert or update by an external id field (or ``Id``); results carry ``created``."""
        return dml.upsert(self, sobject, records, external_id_field, all_or_none, read_only_fields)

    def delete(self, ids: Sequence[str], *, all_or_none: bool = True) -> list[SaveResult]:
        """Soft-delete records (``IsDeleted``; ``queryAll``/``ALL ROWS`` still sees them)."""
        return dml.delete(self, ids, all_or_none)

    def undelete(self, ids: Sequence[str], *, all_or_none: bool = True) -> list[SaveResult]:
        """Restore soft-deleted records from the Recycle Bin, with what their delete cascaded to and the
        lookups it cleared (``recycle.py``); ``after undelete`` triggers fire. Not deleted, or deleted only
        by cascade: ``UNDELETE_FAILED`` "Entity is not in the recycle bin"."""
        return dml.undelete(self, ids, all_or_none)

    def empty_recycle_bin(self, ids: Sequence[str]) -> list[SaveResult]:
        """Delete Recycle Bin records for good (``Database.emptyRecycleBin``); each id on its own."""
        return dml.empty_recycle_bin(self, ids)

    def retrieve(self, sobject: str, record_id: str, fields: Sequence[str] | None = None, *,
                 typed: bool = False) -> dict[str, Any] | None:
        """One live record (REST shape with ``attributes``) or None when absent/deleted; formula fields
        are computed (``formulas.py``)."""
        out = dml.retrieve(self, sobject, record_id, fields, typed)
        if out is not None:
            od = self.schema.get(sobject)
            if formulas.formula_fields(od):
                formulas.fill_record(self, od, out, typed, lambda soql, binds: select_uncounted(self, soql, binds))
        return out

    def find_ids_by_field(self, sobject: str, field: str, value: Any) -> list[str]:
        """Ids of live records whose ``field`` equals ``value`` (GET by external id; 300 answers)."""
        return dml.find_ids_by_field(self, sobject, field, value)

    # -- SOQL ------------------------------------------------------------------------------------
    def query(self, soql: str | SoqlQuery, binds: Mapping[str, Any] | None = None, *,
              include_deleted: bool = False, bind_resolver: BindResolver | None = None,
              typed: bool = False, page_size: int = 2000, row_filter: RowFilter | None = None) -> QueryResult:
        """Run SOQL. ``include_deleted`` is queryAll. Counts a SOQL query and its rows. ``row_filter``:
        record visibility in a sharing context (``visibility.Visibility.condition``)."""
        return execute_soql(self, soql, binds or {}, include_deleted=include_deleted, bind_resolver=bind_resolver,
                            typed=typed, page_size=page_size, row_filter=row_filter)

    # -- schema changes ---------------------------------------------------------------------------
    def _schema_for_change(self) -> Schema:
        self.begin_write()
        if not self._schema_changed:
            self.schema = self.schema.copy()
            self._schema_changed = True
        return self.schema

    def apply_custom_object(self, spec: CustomObjectSpec | Mapping[str, Any]) -> ObjectDef:
        """Create or extend a custom object (and its fields) inside this transaction; ``spec`` may
        also be a plain dict (``object_spec_from_dict``). Raises ``ValueError`` naming the
        object/field when the spec cannot be applied."""
        if isinstance(spec, Mapping):
            spec = object_spec_from_dict(dict(spec))
        schema = self._schema_for_change()
        # savepoint semantics for the in-memory copy: work on a copy, swap on success
        work = schema.copy()
        od, _created, _added = work.apply_custom_object(spec)
        self._store._sync_table(self._conn, od)
        share = work.find(od.name[:-3] + "__Share") if od.name.endswith("__c") else None
        if share is not None:  # the sharing rows object of a Private/Read custom object
            self._store._sync_table(self._conn, share)
        self.schema = work
        return od

    def apply_custom_field(self, sobject: str, spec: CustomFieldSpec | Mapping[str, Any]) -> FieldDef:
        """Add or change a custom field on a standard or custom object inside this transaction
        (``spec`` may be a plain dict, see ``field_spec_from_dict``). With Person Accounts a Contact
        field also appears on Account as ``__pc``."""
        if isinstance(spec, Mapping):
            spec = field_spec_from_dict(dict(spec))
        schema = self._schema_for_change()
        work = schema.copy()
        _added, fd = work.apply_custom_field(sobject, spec)
        self._store._sync_table(self._conn, work.get(sobject))
        if work.get(sobject).lower == "contact" and work.find("Account") is not None:
            self._store._sync_table(self._conn, work.get("Account"))
        self.schema = work
        return fd

    def apply_field_sets(self, sobject: str, specs: Sequence[FieldSetSpec]) -> ObjectDef:
        """Store ``sobject``'s field sets inside this transaction (``fieldsets.py``); ``ValueError`` naming
        the field set and the path that is not a field of the org."""
        schema = self._schema_for_change()
        work = schema.copy()
        od = fieldsets.apply_field_sets(work, sobject, list(specs))
        self.schema = work
        return od

    def replace_object(self, raw: Mapping[str, Any]) -> ObjectDef:
        """Replace (or add) an object's whole definition inside this transaction and add its new
        columns: a standard object's change when an org feature is turned on (Person Accounts)."""
        schema = self._schema_for_change()
        work = schema.copy()
        od = ObjectDef(dict(raw))
        work._add(od)
        self._store._sync_table(self._conn, od)
        self.schema = work
        return od


@dataclass
class _Cursor:
    records: Sequence[Any]
    total: int
    page_size: int
    expires: float
    materialize: Callable[[Sequence[Any]], list[dict[str, Any]]] | None = None


class Store:
    """The local org's data: one SQLite file at ``path`` (created and seeded when missing)."""

    def __init__(self, path: str | Path, *, api_version: str = "62.0",
                 clock: Callable[[], datetime] | None = None, lock_timeout: float = 30.0,
                 timezone_name: str | None = None, org_number: int = 1,
                 person_accounts: bool | None = None) -> None:
        """``org_number``: which organization id a NEW file gets (``00D`` id number; the local org is 1,
        the scratch orgs of the local Dev Hub 2, 3, ...). An existing file keeps its own.

        ``person_accounts``: True turns Person Accounts on (new or existing file; one way, as in
        Salesforce); False leaves a new file without them; None: the default, on for the ``local``
        org (org number 1, new or existing file) unless ``ECBRIDGE_ORG_PERSON_ACCOUNTS=off``, off for
        a new scratch org (the Dev Hub turns them on for the ``PersonAccounts`` feature)."""
        if org_number < 1:
            raise ValueError(f"org_number must be at least 1 (got {org_number})")
        self._org_number = org_number
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.api_version = api_version
        self._clock = clock
        self.lock_timeout = lock_timeout
        self._write_lock = threading.Lock()
        self._writer: int | None = None
        self._pool: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._schema_lock = threading.Lock()
        self._schema: Schema | None = None
        self._schema_version: str | None = None
        self._hook: TriggerHook | None = None
        self.commit_listeners: list[CommitListener] = []
        """Called with each committing transaction's record changes, inside it just before COMMIT
        (Change Data Capture writes its events there, so they commit or roll back with the data)."""
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._cursor_lock = threading.Lock()
        self._cursor_seq = itertools.count(1)
        self._closed = False
        self.person_contact_updates: str = "sync"
        """``sync`` (default): updating a person contact through Contact updates its person account
        (Salesforce's API guide: person contacts can be modified, not created or deleted);
        ``refuse``: such updates fail with INVALID_PERSON_ACCOUNT_OPERATION "cannot reference person
        contact", the error users report from some orgs."""
        self.person_flag_in_before_insert: bool = False
        """Account ``IsPersonAccount`` in *before insert* triggers: False (default; the flag is set on save,
        as users of real orgs report) or True (already set from the record type)."""
        self.emptied_queryable: timedelta = timedelta(hours=24)
        """How long rows emptied from the Recycle Bin stay queryable with ALL ROWS / queryAll (Salesforce:
        "for some time. Typically this time is 24 hours, but may be shorter or longer")."""
        self.delete_trigger_chunk: int | None = 200
        """Delete triggers get chunks of this size (None: the whole statement at once). Salesforce
        documents 200-record chunks for triggers; debug logs published by users show delete
        triggers receiving the whole list, so this is a setting."""
        conn = self._acquire_connection()
        try:
            self._lock_for_write()
            try:
                conn.execute("BEGIN IMMEDIATE")
                fresh = conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_meta'").fetchone() is None
                if fresh:
                    self._initialise(conn)
                else:
                    self._add_new_standard_objects(conn)
                    self._add_new_standard_fields(conn)
                recycle.ensure_table(conn)
                locks.ensure_table(conn)
                definitions.ensure_table(conn)
                conn.execute("COMMIT")
            finally:
                self._unlock_write()
            meta = dict(conn.execute("SELECT key, value FROM _meta").fetchall())
            seeded = conn.execute('SELECT COUNT(*) FROM "t_organization"').fetchone()[0] > 0
        finally:
            self._release_connection(conn)
        if not seeded:  # new file, or a first start that stopped between creating and seeding
            self._seed()
            conn = self._acquire_connection()
            meta = dict(conn.execute("SELECT key, value FROM _meta").fetchall())
            self._release_connection(conn)
        self.org_id: str = meta["org_id"]
        self.user_id: str = meta["user_id"]

        if person_accounts is None:
            person_accounts = personaccounts.default_for_new_org(org_number)
        if person_accounts and not personaccounts.enabled(self.schema):
            personaccounts.enable_store(self)
        if timezone_name is None:
            conn = self._acquire_connection()
            row = conn.execute('SELECT "timezonesidkey" FROM "t_user" WHERE id = ?', (self.user_id,)).fetchone()
            self._release_connection(conn)
            timezone_name = row[0] if row and row[0] else "UTC"
        self.timezone = ZoneInfo(timezone_name)
        """The zone date literals (TODAY, LAST_N_DAYS:n ...) are evaluated in: the admin user's
        TimeZoneSidKey unless ``timezone_name`` is given (Salesforce uses the running user's)."""

    # -- time ------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The org's clock (what SystemModstamp and the HTTP Date header read)."""
        return self._now()

    def set_clock(self, clock: Callable[[], datetime] | None) -> None:
        """Tests: run the org on another clock (skew against the client, a late commit)."""
        self._clock = clock

    def _now(self) -> datetime:
        now = self._clock() if self._clock else datetime.now(timezone.utc)
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        now = now.astimezone(timezone.utc)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    # -- connections and locks -----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self.lock_timeout)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(self.lock_timeout * 1000)}")
        conn.create_function("sf_includes", 2, _sf_includes, deterministic=True)
        conn.create_function("sf_datefn", 5, sf_datefn, deterministic=True)  # SOQL date functions
        return conn

    def _acquire_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("store is closed")
        with self._pool_lock:
            if self._pool:
                return self._pool.pop()
        return self._connect()

    def _release_connection(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self._pool_lock:
            if not self._closed and len(self._pool) < 16:
                self._pool.append(conn)
                return
        conn.close()

    def _lock_for_write(self) -> None:
        me = threading.get_ident()
        if self._writer == me:
            raise RuntimeError(
                "this thread already holds a write transaction on the store; do nested work through "
                "the running Transaction (for triggers: event.transaction)")
        if not self._write_lock.acquire(timeout=self.lock_timeout):
            raise SalesforceError("UNABLE_TO_LOCK_ROW",
                                  "unable to obtain exclusive access to this record or 1 records")
        self._writer = me

    def _unlock_write(self) -> None:
        self._writer = None
        self._write_lock.release()

    # -- schema ------------------------------------------------------------------------------------
    @property
    def schema(self) -> Schema:
        """The committed schema (re-read when another store/process changed it)."""
        conn = self._acquire_connection()
        try:
            return self._current_schema(conn)
        finally:
            self._release_connection(conn)

    def _current_schema(self, conn: sqlite3.Connection) -> Schema:
        row = conn.execute("SELECT value FROM _meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else None
        with self._schema_lock:
            if self._schema is not None and version == self._schema_version:
                return self._schema
        rows = conn.execute("SELECT definition FROM _objects ORDER BY seq").fetchall()
        schema = Schema(json.loads(r[0]) for r in rows)
        with self._schema_lock:
            self._schema, self._schema_version = schema, version
        return schema

    def _persist_schema(self, conn: sqlite3.Connection, schema: Schema) -> str:
        existing = {r[0]: r[1] for r in conn.execute("SELECT lower, definition FROM _objects")}
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _objects").fetchone()[0]
        for od in schema.objects():
            text = json.dumps(od.raw, separators=(",", ":"))
            if existing.get(od.lower) != text:
                if od.lower in existing:
                    conn.execute("UPDATE _objects SET definition = ? WHERE lower = ?", (text, od.lower))
                else:
                    seq += 1
                    conn.execute("INSERT INTO _objects (lower, seq, definition) VALUES (?, ?, ?)",
                                 (od.lower, seq, text))
        version = str(_time.time_ns())
        conn.execute("UPDATE _meta SET value = ? WHERE key = 'schema_version'", (version,))
        return version

    def _publish_schema(self, schema: Schema, version: str) -> None:
        with self._schema_lock:
            self._schema, self._schema_version = schema, version

    def _sync_table(self, conn: sqlite3.Connection, od: ObjectDef) -> None:
        """Create the object's table or add missing columns, and its indexes."""
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({od.table})")}
        if not cols:
            defs = ['"id" TEXT PRIMARY KEY', '"isdeleted" INTEGER NOT NULL DEFAULT 0']
            defs += [f"{fd.column} {column_sql(fd)}" for fd in od.fields.values()
                     if fd.lower not in ("id", "isdeleted")]
            conn.execute(f"CREATE TABLE {od.table} ({', '.join(defs)})")
        else:
            for fd in od.fields.values():
                if fd.lower not in cols:
                    conn.execute(f"ALTER TABLE {od.table} ADD COLUMN {fd.column} {column_sql(fd)}")
        for fd in od.fields.values():
            if fd.lower in ("id",):
                continue
            if fd.unique or (fd.external_id and fd.unique):
                try:
                    conn.execute(
                        f'CREATE UNIQUE INDEX IF NOT EXISTS "u_{od.lower}_{fd.lower}" ON {od.table} ({fd.column}) '
                        f"WHERE isdeleted = 0 AND {fd.column} IS NOT NULL")
                except sqlite3.IntegrityError:
                    raise ValueError(f"field {od.name}.{fd.name}: existing records have duplicate values, "
                                     "it cannot become unique") from None
            elif _needs_index(fd):
                conn.execute(f'CREATE INDEX IF NOT EXISTS "i_{od.lower}_{fd.lower}" ON {od.table} ({fd.column})')

    def _add_new_standard_objects(self, conn: sqlite3.Connection) -> None:
        """A file made by an earlier version gets the standard objects added since (ContentVersion...)."""
        existing = {r[0] for r in conn.execute("SELECT lower FROM _objects")}
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM _objects").fetchone()[0]
        for od in Schema.standard(skip=existing | _feature_objects_off()).objects():
            self._sync_table(conn, od)
            seq += 1
            conn.execute("INSERT INTO _objects (lower, seq, definition) VALUES (?, ?, ?)",
                         (od.lower, seq, json.dumps(od.raw, separators=(",", ":"))))

    def _add_new_standard_fields(self, conn: sqlite3.Connection) -> None:
        """A file made by an earlier version gets the standard fields added since to its standard objects
        (the compound address fields, with their components' ``compoundFieldName``), in describe order."""
        changed = False
        stored = {r[0]: r[1] for r in conn.execute("SELECT lower, definition FROM _objects")}
        for standard in standard_object_definitions():  # read only (no copy: opening stays cheap)
            lower = standard["name"].lower()
            if lower not in stored:
                continue
            raw = json.loads(stored[lower])
            if raw.get("custom"):
                continue
            updated = upgraded_fields(raw["fields"], standard["fields"])
            if updated is None:
                continue
            raw["fields"] = updated
            conn.execute("UPDATE _objects SET definition = ? WHERE lower = ?",
                         (json.dumps(raw, separators=(",", ":")), lower))
            self._sync_table(conn, ObjectDef(raw))
            changed = True
        if changed:
            conn.execute("UPDATE _meta SET value = ? WHERE key = 'schema_version'", (str(_time.time_ns()),))

    def _initialise(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("CREATE TABLE _objects (lower TEXT PRIMARY KEY, seq INTEGER, definition TEXT)")
        conn.execute("CREATE TABLE _counters (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        schema = Schema.standard(skip=_feature_objects_off())
        for od in schema.objects():
            self._sync_table(conn, od)
        org_id = make_id("00D", self._org_number)
        user_id = make_id("005", 1)
        if self._org_number > 1:  # the seeded Organization record takes the next 00D number
            conn.execute("INSERT INTO _counters (prefix, n) VALUES ('00D', ?)", (self._org_number - 1,))
        conn.executemany("INSERT INTO _meta (key, value) VALUES (?, ?)",
                         [("org_id", org_id), ("user_id", user_id), ("schema_version", "0"),
                          ("created", self._now().isoformat())])
        for seq, od in enumerate(schema.objects(), start=1):
            conn.execute("INSERT INTO _objects (lower, seq, definition) VALUES (?, ?, ?)",
                         (od.lower, seq, json.dumps(od.raw, separators=(",", ":"))))
        self._schema, self._schema_version = schema, "0"

    def _seed(self) -> None:
        """The records every org has: its Organization, profiles and the admin user."""
        conn = self._acquire_connection()
        meta = dict(conn.execute("SELECT key, value FROM _meta").fetchall())
        self._release_connection(conn)
        user_id = meta["user_id"]
        with Transaction(self, user_id) as tx:
            opts = dict(read_only_fields="write")
            license_id = _one(tx.insert("UserLicense", [{
                "Name": "Salesforce", "MasterLabel": "Salesforce", "LicenseDefinitionKey": "SFDC", "Status": "Active",
                "TotalLicenses": 2, "UsedLicenses": 1}], **opts))
            admin_profile = _one(tx.insert("Profile", [{"Name": "System Administrator", "UserType": "Standard",
                                                        "UserLicenseId": license_id}], **opts))
            _one(tx.insert("Profile", [{"Name": "Standard User", "UserType": "Standard", "UserLicenseId": license_id}],
                           **opts))
            # every org has it: a profile that grants no object access (apex/access.py gives it none)
            _one(tx.insert("Profile", [{"Name": "Minimum Access - Salesforce", "UserType": "Standard",
                                        "UserLicenseId": license_id}], **opts))
            uid = _one(tx.insert("User", [{
                "Username": "admin@ecbridge.local", "LastName": "Admin", "FirstName": "ECBridge",
                "Alias": "admin", "Email": "admin@ecbridge.local", "ProfileId": admin_profile,
                "TimeZoneSidKey": "Asia/Tokyo", "LocaleSidKey": "ja_JP", "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US", "UserType": "Standard", "IsActive": True,
            }], **opts))
            if uid != user_id:
                raise RuntimeError(f"seeded admin user got id {uid}, expected {user_id}")
            oid = _one(tx.insert("Organization", [{
                "Name": "ECBridge Local Org", "Country": "JP", "PrimaryContact": "ECBridge Admin",
                "DefaultLocaleSidKey": "ja_JP", "TimeZoneSidKey": "Asia/Tokyo", "LanguageLocaleKey": "en_US",
                "FiscalYearStartMonth": 1, "OrganizationType": "Developer Edition", "NamespacePrefix": None,
                "InstanceName": "LOCAL", "IsSandbox": False, "IsReadOnly": False, "TrialExpirationDate": None,
            }], **opts))
            if oid != meta["org_id"]:
                raise RuntimeError(f"seeded organization got id {oid}, expected {meta['org_id']}")
            # every org's Automated Process user (autoproc@<org id>): no profile, UserType AutomatedProcess
            auto = _one(tx.insert("User", [{
                "Username": f"autoproc@{oid}", "LastName": "Automated Process", "Alias": "autoproc",
                "Email": "autoproc@automated-process.invalid", "ProfileId": admin_profile, "TimeZoneSidKey": "GMT",
                "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
                "UserType": "AutomatedProcess", "IsActive": True}], **opts))
            user_od = tx.schema.get("User")
            tx.execute(f"UPDATE {user_od.table} SET {user_od.field('ProfileId').column} = NULL WHERE id = ?", (auto,))
            from .leadconvert import seed_lead_statuses
            seed_lead_statuses(tx)

    # -- ids -------------------------------------------------------------------------------------------
    def _next_numbers(self, conn: sqlite3.Connection, key: str, count: int) -> int:
        """Reserve ``count`` numbers for counter ``key``; returns the first (inside a write txn)."""
        row = conn.execute("UPDATE _counters SET n = n + ? WHERE prefix = ? RETURNING n", (count, key)).fetchone()
        if row is None:
            conn.execute("INSERT INTO _counters (prefix, n) VALUES (?, ?)", (key, count))
            return 1
        return int(row[0]) - count + 1

    # -- public -------------------------------------------------------------------------------------
    def transaction(self, *, user_id: str | None = None) -> Transaction:
        return Transaction(self, user_id)

    def _notify_commit(self, tx: Transaction) -> None:
        changes, tx._changes = tuple(tx._changes), []
        if not changes or not self.commit_listeners:
            return
        committed = CommittedChanges(changes, tx.user_id, self._now(), tx.schema, tx)
        for listener in list(self.commit_listeners):
            listener(committed)  # an exception rolls the transaction back (nothing committed, nothing lost)

    def set_trigger_hook(self, hook: TriggerHook | None) -> None:
        self._hook = hook

    @property
    def trigger_hook(self) -> TriggerHook | None:
        return self._hook

    def apply_custom_object(self, spec: CustomObjectSpec | Mapping[str, Any]) -> ObjectDef:
        with self.transaction() as tx:
            return tx.apply_custom_object(spec)

    def apply_custom_field(self, sobject: str, spec: CustomFieldSpec | Mapping[str, Any]) -> FieldDef:
        with self.transaction() as tx:
            return tx.apply_custom_field(sobject, spec)

    def register_cursor(self, records: Sequence[Any], total: int, page_size: int,
                        materialize: Callable[[Sequence[Any]], list[dict[str, Any]]] | None = None) -> str:
        """Keep the rows after the first page; returns the locator of the next page. With
        ``materialize`` the rows are raw and converted a page at a time."""
        cursor_id = make_id("01g", next(self._cursor_seq))
        with self._cursor_lock:
            now = _time.monotonic()
            for key in [k for k, c in self._cursors.items() if c.expires < now]:
                del self._cursors[key]
            while len(self._cursors) >= MAX_CURSORS:
                self._cursors.popitem(last=False)
            self._cursors[cursor_id] = _Cursor(records, total, page_size, now + CURSOR_TTL_SECONDS, materialize)
        return f"{cursor_id}-{page_size}"

    def query_more(self, locator: str) -> QueryResult:
        """The page at ``locator`` (``<cursorId>-<offset>``)."""
        cursor_id, _, offset_text = locator.partition("-")
        with self._cursor_lock:
            cursor = self._cursors.get(cursor_id)
            if cursor is None or not offset_text.isdigit() or cursor.expires < _time.monotonic():
                raise InvalidQueryLocatorError(locator)
            cursor.expires = _time.monotonic() + CURSOR_TTL_SECONDS
        offset = int(offset_text)
        if offset > len(cursor.records) or offset <= 0:
            raise InvalidQueryLocatorError(locator)
        page = cursor.records[offset:offset + cursor.page_size]
        end = offset + len(page)
        if cursor.materialize is not None:
            page = cursor.materialize(page)
        done = end >= len(cursor.records)
        if done:
            with self._cursor_lock:
                self._cursors.pop(cursor_id, None)
        return QueryResult(total_size=cursor.total, done=done, records=page,
                           next_records_locator=None if done else f"{cursor_id}-{end}")

    def close(self) -> None:
        self._closed = True
        with self._pool_lock:
            for k, conn in enumerate(self._pool):
                if k == 0:
                    try:
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    except sqlite3.Error:
                        pass  # another process still writes; SQLite keeps the WAL consistent
                conn.close()
            self._pool.clear()


def _one(results: list[SaveResult]) -> str:
    r = results[0]
    if not r.success or r.id is None:
        raise RuntimeError(f"seeding failed: {[e.to_json() for e in r.errors]}")
    return r.id


def _sf_includes(stored: str | None, wanted: str | None) -> int:
    """``INCLUDES`` for multi-select picklists: ``wanted`` is ``a;b`` (all must be present)."""
    if stored is None or wanted is None:
        return 0
    have = {p.strip().lower() for p in stored.split(";")}
    return int(all(w.strip().lower() in have for w in wanted.split(";") if w.strip()))


def open_store(path: str | Path, *, reset: bool = False, api_version: str = "62.0",
               clock: Callable[[], datetime] | None = None, timezone_name: str | None = None,
               org_number: int = 1, person_accounts: bool | None = None) -> Store:
    """Open (or with ``reset`` delete and recreate) the store at ``path``."""
    p = Path(path)
    if reset:
        for suffix in ("", "-wal", "-shm", "-journal"):
            q = Path(str(p) + suffix)
            if q.exists():
                q.unlink()
    return Store(p, api_version=api_version, clock=clock, timezone_name=timezone_name, org_number=org_number,
                 person_accounts=person_accounts)


__all__ = ["Store", "Transaction", "Savepoint", "Limits", "open_store", "BindResolver", "ReadOnlyFields"]


#: Experience Cloud (communities): an org has the ``Network`` object only with the feature on, as Salesforce
#: (code tests ``Type.forName('Schema.Network') != null``). Setting: ``ECBRIDGE_ORG_EXPERIENCE_CLOUD=on`` (default
#: off: the local org has no sites); read when a store is created or opened by a newer version.
EXPERIENCE_CLOUD_ENV = "ECBRIDGE_ORG_EXPERIENCE_CLOUD"
EXPERIENCE_CLOUD_OBJECTS = frozenset({"network"})


def _feature_objects_off() -> set[str]:
    """The standard objects of org features that are off (lower-case names)."""
    on = os.environ.get(EXPERIENCE_CLOUD_ENV, "off").strip().lower() in ("on", "1", "true", "yes")
    return set() if on else set(EXPERIENCE_CLOUD_OBJECTS)

