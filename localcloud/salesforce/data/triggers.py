"""The trigger hook: how DML hands records to the Apex runtime (or to a Python test hook).

The data layer calls ``hook.before(event)`` and ``hook.after(event)`` around every DML
statement, in chunks of at most 200 records (for each chunk: before, save, after). Inside the
hook:

* ``event.new`` are the records as dicts keyed by canonical field names (all fields of the
  object; ``Id`` is set except in before insert). In *before insert/update* the hook may change
  values in place (``event.new[i]["Field__c"] = ...``); the changes are saved. In *after* events
  they are read-only copies.
* ``event.old`` are the stored records before the change (update, delete) or ``None``.
* ``event.add_error(i, message, field=None)`` fails record ``i`` with
  ``FIELD_CUSTOM_VALIDATION_EXCEPTION`` and ``message`` (Apex ``addError``); with allOrNone the
  whole statement fails. An error added in *after* rolls the chunk back and, without
  allOrNone, the chunk is retried without the failed records (triggers run again), as
  Salesforce does.
* ``event.transaction`` is the running ``Transaction``: DML and queries on it are recursion
  (trigger depth is limited to 16, like Salesforce).
* Raising ``TriggerException(message)`` fails every record of the chunk with
  ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`` (or the exception's ``status_code``: a failed record-triggered
  flow raises ``CANNOT_EXECUTE_FLOW_TRIGGER``); any other exception propagates out of the DML call
  (the statement is rolled back first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from .txn import DataTransaction

TriggerOp = Literal["insert", "update", "delete", "undelete"]


@dataclass
class TriggerEvent:
    """One chunk (<= 200 records) of one DML statement at one timing."""

    op: TriggerOp
    timing: Literal["before", "after"]
    sobject: str
    new: list[dict[str, Any]] | None
    old: list[dict[str, Any]] | None
    transaction: "DataTransaction"
    errors: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.new if self.new is not None else (self.old or []))

    @property
    def is_before(self) -> bool:
        return self.timing == "before"

    @property
    def is_after(self) -> bool:
        return self.timing == "after"

    def add_error(self, index: int, message: str, field_name: str | None = None) -> None:
        """Fail record ``index`` of this chunk with ``message`` (optionally on a field)."""
        if not 0 <= index < self.size:
            raise IndexError(f"record index {index} outside chunk of {self.size}")
        self.errors.setdefault(index, []).append((message, field_name))


class TriggerHook(Protocol):
    """What the Apex runtime implements and registers with ``Store.set_trigger_hook``."""

    def before(self, event: TriggerEvent) -> None: ...

    def after(self, event: TriggerEvent) -> None: ...
