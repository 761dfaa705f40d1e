"""The record changes a transaction makes, handed to the store's commit listeners as it commits.

Change Data Capture (``localcloud.salesforce.pubsub``) listens here: DML records one
``RecordChange`` per saved record (insert, update, soft delete, cascade delete, undelete), a savepoint
rollback forgets the changes made after it, a transaction rollback forgets them all. Only a
committing transaction calls the listeners, in commit order, inside it just before its COMMIT
(under the store's write lock): what a listener writes with ``CommittedChanges.transaction``
commits with the data, and a listener's exception rolls the whole transaction back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

CREATE, UPDATE, DELETE, UNDELETE = "CREATE", "UPDATE", "DELETE", "UNDELETE"


@dataclass(frozen=True)
class RecordChange:
    """One saved record. ``values``: canonical field name -> typed value (CREATE: every field,
    UPDATE: the changed fields only, DELETE: empty, UNDELETE: every field). ``changed``: the changed fields (UPDATE)."""

    change_type: str
    sobject: str
    record_id: str
    values: dict[str, Any] = field(default_factory=dict)
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommittedChanges:
    """What a listener gets: the changes in save order, the user who commits, when, the schema the
    transaction commits with (a data-layer ``Schema``) and the transaction itself (to write alongside)."""

    changes: tuple[RecordChange, ...]
    user_id: str
    committed_at: datetime
    schema: Any = None
    transaction: Any = None


CommitListener = Callable[[CommittedChanges], None]
