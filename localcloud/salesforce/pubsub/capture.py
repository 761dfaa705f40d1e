"""Change Data Capture: which entities are selected, and the change events a commit publishes.

Entities are selected by ``PlatformEventChannelMember`` metadata on the standard ``ChangeEvents``
channel (``<eventChannel>ChangeEvents</eventChannel><selectedEntity>ContactChangeEvent</selectedEntity>``),
deployed like any other metadata; the selection is re-read after every deploy. The store calls
``on_commit`` after each committed data transaction (``Store.commit_listeners``): every saved record
of a selected entity becomes one change event, in save order, stored inside that transaction.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Any, Iterable

from localcloud.salesforce.data.changes import CREATE, UPDATE, CommittedChanges, RecordChange

from localcloud.salesforce.metadata.channel_members import CHANNEL, TYPE as MEMBER_TYPE, entity_of, read_member

from .avro_schema import EventLayout, build_layout
from .eventlog import EventLog, NewEvent
from .settings import PubSubSettings

log = logging.getLogger(__name__)

class ChangeCapture:
    def __init__(self, store: Any, repository: Any, events: EventLog, settings: PubSubSettings) -> None:
        self.store, self.repository, self.events, self.settings = store, repository, events, settings
        self._lock = threading.Lock()
        self._selected: dict[str, str] = {}  # lower-case entity -> canonical name
        self._layouts: dict[str, tuple[Any, EventLayout]] = {}
        self.refresh()

    # -- the selection ---------------------------------------------------------------------------
    def refresh(self, *_: Any) -> None:
        """Re-read the PlatformEventChannelMember metadata (an activation hook after each deploy)."""
        schema = self.store.schema
        selected: dict[str, str] = {}
        for component in self.repository.components(MEMBER_TYPE):
            body = self.repository.component_body(MEMBER_TYPE, component["fullName"])
            channel, event_name = read_member(body or b"")
            entity = entity_of(event_name)
            od = schema.find(entity) if entity else None
            if channel == CHANNEL and od is not None:
                selected[od.lower] = od.name
            else:
                log.warning("PlatformEventChannelMember %s (%s on %s) selects nothing", component["fullName"],
                            event_name, channel)
        with self._lock:
            self._selected = selected

    def selected(self) -> list[str]:
        with self._lock:
            return sorted(self._selected.values())

    def is_selected(self, entity: str) -> bool:
        with self._lock:
            return entity.lower() in self._selected

    def layout(self, entity: str, schema: Any = None) -> EventLayout:
        """The event layout of ``entity`` under ``schema`` (default: the committed one), cached per schema."""
        schema = schema if schema is not None else self.store.schema
        od = schema.find(entity)
        if od is None:
            raise KeyError(entity)
        with self._lock:
            cached = self._layouts.get(od.lower)
            if cached and cached[0] is schema:
                return cached[1]
        layout = build_layout(od)
        with self._lock:
            self._layouts[od.lower] = (schema, layout)
        return layout

    # -- publishing --------------------------------------------------------------------------------
    def on_commit(self, committed: CommittedChanges) -> None:
        with self._lock:
            selected = dict(self._selected)
        changes = [c for c in committed.changes if c.sobject.lower() in selected]
        if not changes:
            return
        header = {"changeOrigin": "", "transactionKey": str(uuid.uuid4()),
                  "commitTimestamp": int(committed.committed_at.timestamp() * 1000),
                  "commitNumber": self.events.next_commit_number(committed.transaction),
                  "commitUser": committed.user_id}
        limit = self.settings.overflow_threshold
        new: list[NewEvent] = []
        for sequence, change in enumerate(changes[:limit], start=1):
            layout = self.layout(change.sobject, committed.schema)
            new.append(self._event(layout, {**header, "sequenceNumber": sequence}, change))
        overflowed: list[str] = []
        for change in changes[limit:]:
            if change.sobject not in overflowed:
                overflowed.append(change.sobject)
        for sequence, entity in enumerate(overflowed, start=len(new) + 1):
            layout = self.layout(entity, committed.schema)
            new.append(self._gap(layout, {**header, "sequenceNumber": sequence}, "GAP_OVERFLOW", []))
        self.events.append(committed.transaction, new)

    def _event(self, layout: EventLayout, header: dict[str, Any], change: RecordChange) -> NewEvent:
        changed: Iterable[str] = ()
        nulled: Iterable[str] = ()
        if change.change_type == UPDATE:
            changed = [*change.changed, *(["LastModifiedDate"] if "LastModifiedDate" not in change.changed else [])]
            changed = [n for n in changed if n in layout.field_types or n in layout.member_of]
            nulled = [n for n in change.changed if change.values.get(n) is None]
        values = change.values if change.change_type in (CREATE, UPDATE) else {}
        full_header = {**header, "entityName": layout.entity, "recordIds": [change.record_id],
                       "changeType": change.change_type, "changedFields": layout.bitmap(changed),
                       "nulledFields": layout.bitmap(nulled), "diffFields": []}
        return NewEvent(layout.entity, layout.schema_id, layout.schema_json, str(uuid.uuid4()),
                        layout.encode(full_header, values))

    def _gap(self, layout: EventLayout, header: dict[str, Any], change_type: str, record_ids: list[str]) -> NewEvent:
        full_header = {**header, "entityName": layout.entity, "recordIds": record_ids, "changeType": change_type,
                       "changedFields": [], "nulledFields": [], "diffFields": []}
        return NewEvent(layout.entity, layout.schema_id, layout.schema_json, str(uuid.uuid4()),
                        layout.encode(full_header, {}))

    def publish_gap(self, entity: str, change_type: str, record_ids: list[str], user_id: str | None = None) -> list[int]:
        """Publish a gap event (GAP_CREATE, GAP_UPDATE, GAP_DELETE, GAP_UNDELETE): what Salesforce
        sends when it cannot make a change event; tests of subscribers use it."""
        if not change_type.startswith("GAP_"):
            raise ValueError(f"{change_type} is not a gap event type")
        layout = self.layout(entity)
        with self.store.transaction() as tx:
            tx.begin_write()
            header = {"changeOrigin": "", "transactionKey": str(uuid.uuid4()), "sequenceNumber": 1,
                      "commitTimestamp": int(self.store.now().timestamp() * 1000),
                      "commitNumber": self.events.next_commit_number(tx), "commitUser": user_id or self.store.user_id}
            return self.events.append(tx, [self._gap(layout, header, change_type, record_ids)])
