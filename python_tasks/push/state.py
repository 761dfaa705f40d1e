"""What is due for a push, kept in Salesforce itself.

Why in Salesforce
-----------------
Every member and order carries the write-back fields ``Marketo_Id__c``, ``Marketo_Pushed_At__c``
and ``Marketo_Push_Error__c``. A record is **due** when

* it was never pushed (``Marketo_Pushed_At__c`` empty), or
* its last push failed (``Marketo_Push_Error__c`` set), or
* it changed after its last good push (``SystemModstamp > Marketo_Pushed_At__c``) and the change
  is not the push's own write-back (below).

The "high-water mark" is therefore per record, written only after Marketo accepted that record,
and it moves only past what Marketo accepted: a rejected record keeps its old mark and its error
and is retried and reported on every run. A run killed at any point leaves every record either
with its new mark (Marketo has it) or with its old one (it is due again); the writes are
idempotent (persons found before creating, custom objects deduplicated on the order number), so
re-running converges on the same Marketo state. A state file beside the task would be lost with
the machine, disagree between two machines, and say nothing to a Salesforce admin; the fields are
visible on every record and survive anything.

The push's own write-back
-------------------------
Writing ``Marketo_Pushed_At__c`` itself moves ``SystemModstamp`` past the mark, and the org gives
no way to write a field without that (SOQL cannot compare two fields either, so the rule runs
here on rows read with the few fields the push needs). Right after each write-back the push reads
the records again: where the mapped fields still hold exactly the values it pushed, it notes the
new ``SystemModstamp`` in a local cache (:mod:`python_tasks.push.cache`); a record whose stamp is
still that one is unchanged. Where a value differs (someone edited the record in between) no note
is taken and the record stays due. The cache is only an optimisation: without it (a new machine)
every previously pushed record is due once and re-pushed idempotently; a change is never lost.
No time window or clock agreement between this machine and the org is involved.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from python_tasks.push.convert import parse_sf_datetime


def is_due(record: dict[str, Any], *, pushed_at_field: str, error_field: str,
           modstamp_field: str = "SystemModstamp", seen: Mapping[str, str] | None = None) -> bool:
    pushed = record.get(pushed_at_field)
    if not pushed:
        return True
    if record.get(error_field):
        return True
    stamp = record.get(modstamp_field)
    if not stamp:
        return True
    if parse_sf_datetime(stamp) <= parse_sf_datetime(pushed):
        return False
    return not (seen is not None and seen.get(record.get("Id", "")) == stamp)


def format_sf_datetime(moment: datetime) -> str:
    """``2024-05-01T09:30:00.000Z``: what Salesforce accepts for a DateTime over REST."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_duration(text: str | int | float | None) -> timedelta | None:
    """``90`` (seconds), ``30s``, ``15m``, ``2h``, ``3d``; None/empty gives None."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if raw[-1] in units:
            return timedelta(seconds=float(raw[:-1]) * units[raw[-1]])
        return timedelta(seconds=float(raw))
    except ValueError:
        raise ValueError(f"{text!r} is not a duration (use seconds, or a number with s, m, h or d)") from None
