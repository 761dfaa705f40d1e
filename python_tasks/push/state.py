"""What is due for a push, kept in Salesforce itself, and how a run finds it without reading the org.

Why in Salesforce
-----------------
Every member and order carries the write-back fields ``Marketo_Id__c``, ``Marketo_Pushed_At__c``,
``Marketo_Push_Error__c`` and ``Marketo_Pushed_Change__c``, and the change stamp
``Marketo_Changed_At__c`` that the generated trigger (``ECBridgePushStamp``) sets whenever a
field the push sends changes. A record is **due** when

* it was never pushed (``Marketo_Pushed_At__c`` empty), or
* its last push failed (``Marketo_Push_Error__c`` set), or
* its change stamp differs from the one its last good push sent (``Marketo_Pushed_Change__c``).

The push's own write-back changes none of the watched fields, so it never moves the stamp: a
record changed only by the write-back is not due, with no re-read. A record changed while the
push was writing it gets a new stamp, which differs from the one pushed, so it stays due. A
record Marketo rejected keeps its error and is retried on every run. Without the stamp (a record
saved before the trigger existed) the rule falls back to ``SystemModstamp > Marketo_Pushed_At__c``
and the write-back sets the stamp, once.

How a run finds due records (cost in proportion to the changes)
----------------------------------------------------------------
A run reads only records whose ``SystemModstamp`` is at or past the **watermark** less an
**overlap**, and whose change stamp is too. ``SystemModstamp`` is indexed by Salesforce, so the
org serves the read from its index; the stamp filter drops the push's own write-backs on the
server. The watermark is the org's clock (the ``Date`` of the run's first answer, never this
machine's clock, so skew does not matter) at the start of the last run that finished; the overlap
(default 5 minutes) catches transactions that were saved before that moment but committed after
it. Records read again in the overlap are not due (their stamp equals the pushed one), so they
are not pushed twice. Records a run could not finish are kept in a retry set and read by Id until
done (:mod:`python_tasks.push.cache`). The watermark moves only at the end of a run, after every
write-back, so a crash cannot move it past unpushed work.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from python_tasks.push.convert import parse_sf_datetime


def is_due(record: dict[str, Any], *, pushed_at_field: str, error_field: str, changed_at_field: str,
           pushed_change_field: str, modstamp_field: str = "SystemModstamp") -> bool:
    pushed = record.get(pushed_at_field)
    if not pushed or record.get(error_field):
        return True
    changed = record.get(changed_at_field)
    if not changed:  # saved before the change stamp existed
        stamp = record.get(modstamp_field)
        return not stamp or parse_sf_datetime(stamp) > parse_sf_datetime(pushed)
    pushed_change = record.get(pushed_change_field)
    return not pushed_change or parse_sf_datetime(changed) != parse_sf_datetime(pushed_change)


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
