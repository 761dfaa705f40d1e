"""What the engine needs from the org running it (the Apex runtime implements it in ``apex/flowlib.py``).

Every data operation goes through the host so it runs in the caller's transaction and counts toward its
governor limits (each call of ``query`` is one SOQL query, each ``create``/``update``/``delete`` one DML
statement over its records). Failures the flow may handle (a DML or query error, an action that failed)
are raised as ``errors.FlowFault`` with the message ``$Flow.FaultMessage`` holds; anything else (governor
limits, assertion failures) propagates unchanged and ends the interview.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from .model import FlowDef
from .values import Record


class FlowHost(Protocol):
    def load_flow(self, name: str) -> FlowDef | None:
        """The deployed flow ``name`` (case-insensitive), or None."""

    def query(self, soql: str, sobject: str) -> list[Record]:
        """Run one SOQL query (literal values only)."""

    def create(self, records: Sequence[Record]) -> None:
        """Insert the records in one DML statement; sets each record's ``Id``."""

    def update(self, records: Sequence[Record]) -> None:
        """Update the records (each has an ``Id``) in one DML statement."""

    def delete(self, records: Sequence[Record]) -> None:
        """Delete the records (each has an ``Id``) in one DML statement."""

    def call_apex(self, action: str, invocations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run an Apex ``@InvocableMethod`` once for all invocations; one output map per invocation."""

    def global_value(self, name: str, path: Sequence[str]) -> Any:
        """``$User.Email`` -> ``global_value("$User", ["Email"])``; ``$Label``, ``$Setup``, ``$Organization``,
        ``$Profile``, ``$Permission``, ``$Api``, ``$System``. Raise ``errors.FlowUnsupported`` for one the
        host does not provide."""

    def all_fields(self, sobject: str) -> list[str]:
        """Every field of ``sobject`` (Get Records storing all fields automatically)."""

    def field_type(self, sobject: str, field: str) -> str | None:
        """The describe type of ``sobject.field`` (``string``, ``double``, ``reference``, ...) or None."""

    def parent(self, record: Record, relationship: str) -> Record | None:
        """The parent record behind ``record.<relationship>`` when the record does not hold it (a
        lookup of all its fields; None when the lookup is empty or there is no such relationship)."""

    def get_member(self, obj: Any, name: str) -> Any:
        """A member of an Apex-defined value (``dataType`` Apex)."""

    def set_member(self, obj: Any, name: str, value: Any) -> None:
        """Assign a member of an Apex-defined value."""

    def tick(self) -> None:
        """Called once per executed element (the host checks its CPU time limit)."""
