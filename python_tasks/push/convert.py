"""Salesforce values to Marketo values, by the Marketo field's data type, checked before any call.

Marketo rejects a record (status ``skipped``, reason 1001 wrong type / 1003 invalid data) for a
value that is too long, of the wrong type, or an email it cannot parse; and because one bad value
costs one record, not the batch, it is cheaper and clearer to catch these here, per record and
field, and send only what Marketo will accept. Conversions:

* ``date``: ``YYYY-MM-DD``; a Salesforce datetime becomes the calendar date in ``timezone``
  (an order placed at 01:00 in Tokyo is on the Tokyo date).
* ``datetime``: ISO 8601 in UTC with a ``Z`` (``2024-05-01T09:30:00Z``), Marketo's own format.
* ``integer``: whole numbers in Marketo's 32-bit range; ``float``/``currency``/``percent``: numbers,
  exact decimals kept (yen totals stay integers: ``12800`` not ``12800.0``).
* ``boolean``: ``true``/``false`` (Salesforce checkboxes and the texts ``true``/``false``/``1``/``0``).
* ``string``/``text``/``phone``/``url``/picklists: text as is, non-ASCII (Japanese) intact, length
  counted in characters against the Marketo field's length; a multi-select picklist keeps ``a;b``.
* ``email``: NFKC (full-width to half-width), trimmed, lower-cased; must then be plain ASCII
  ``local@domain.tld`` of at most 255 characters.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from python_tasks.dedupe.keys import normalise_email

STRING_TYPES = {"string", "text", "textarea", "phone", "url", "reference", "picklist", "multipicklist"}
DEFAULT_LENGTHS = {"string": 255, "email": 255, "phone": 255, "url": 255, "text": 65535, "textarea": 65535}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


@dataclass(frozen=True)
class ValueRejected(Exception):
    """A value Marketo would reject; ``code`` is the Marketo reason code it would have answered."""

    field: str
    value: Any
    reason: str
    code: str = "1003"

    def __str__(self) -> str:
        shown = repr(self.value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{self.field}={shown}: {self.reason}"


def parse_sf_datetime(value: Any) -> datetime:
    """Salesforce's ``2024-05-01T09:30:00.000+0000`` (or a datetime) as an aware UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        match = re.search(r"([+-])(\d{2})(\d{2})$", text)
        if match:
            text = text[: match.start()] + f"{match.group(1)}{match.group(2)}:{match.group(3)}"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_marketo_datetime(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _to_decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueRejected(field, value, "a boolean is not a number", "1001")
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueRejected(field, value, "not a number", "1001") from None
    if not number.is_finite():
        raise ValueRejected(field, value, "not a finite number", "1001")
    return number


def _plain_number(number: Decimal) -> int | float:
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def convert_value(
    field: str,
    value: Any,
    marketo_type: str,
    *,
    length: int | None = None,
    tz: tzinfo | str = "UTC",
) -> Any:
    """The value to send for one Marketo field, or ``ValueRejected``. ``None`` stays ``None``."""
    if value is None or (isinstance(value, str) and value == "" and marketo_type != "string"):
        return None
    kind = (marketo_type or "string").lower()
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if kind == "email":
        email = normalise_email(value)
        if email is None:
            return None
        if not email.isascii():
            raise ValueRejected(field, value, "email has non-ASCII characters Marketo cannot store", "1003")
        if len(email) > (length or DEFAULT_LENGTHS["email"]):
            raise ValueRejected(field, value, f"email longer than {length or 255} characters", "1003")
        if not _EMAIL.match(email):
            raise ValueRejected(field, value, "not a valid email address", "1003")
        return email
    if kind in ("integer", "score"):
        number = _to_decimal(field, value)
        if number != number.to_integral_value():
            raise ValueRejected(field, value, "Marketo integer field cannot hold a fraction", "1001")
        if not INT_MIN <= int(number) <= INT_MAX:
            raise ValueRejected(field, value, "outside Marketo's 32-bit integer range", "1003")
        return int(number)
    if kind in ("float", "currency", "percent", "double", "decimal"):
        return _plain_number(_to_decimal(field, value))
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueRejected(field, value, "not a boolean", "1001")
    if kind == "datetime":
        try:
            if isinstance(value, date) and not isinstance(value, datetime):
                moment = datetime(value.year, value.month, value.day, tzinfo=zone)
            elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
                d = date.fromisoformat(value.strip())
                moment = datetime(d.year, d.month, d.day, tzinfo=zone)
            else:
                moment = parse_sf_datetime(value)
        except ValueError:
            raise ValueRejected(field, value, "not a date/time", "1001") from None
        return format_marketo_datetime(moment)
    if kind == "date":
        try:
            if isinstance(value, datetime):
                day = parse_sf_datetime(value).astimezone(zone).date()
            elif isinstance(value, date):
                day = value
            elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value).strip()):
                day = date.fromisoformat(str(value).strip())
            else:
                day = parse_sf_datetime(value).astimezone(zone).date()
        except ValueError:
            raise ValueRejected(field, value, "not a date", "1001") from None
        return day.isoformat()
    # text-like types
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, Decimal)):
        text = str(_plain_number(_to_decimal(field, value)))
    elif isinstance(value, (list, tuple)):
        text = ";".join(str(v) for v in value)
    else:
        text = str(value)
    limit = length or DEFAULT_LENGTHS.get(kind, 255 if kind in STRING_TYPES else None)
    if limit is not None and len(text) > limit:
        raise ValueRejected(field, value, f"{len(text)} characters, Marketo field holds {limit}", "1003")
    return text
