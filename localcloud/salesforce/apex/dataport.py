"""Adapter between the Apex runtime and the data layer (localcloud.salesforce.data).

The runtime talks to the data layer only through these functions so the data layer's API can move
without touching the interpreter. `data` is a `Store` (or anything with `.schema` and `.transaction()`).
"""

from __future__ import annotations

from typing import Any


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


def end_session(session: Session, commit: bool) -> None:
    if not session.owned:
        return
    if commit:
        session.tx.commit()
    else:
        session.tx.rollback()
