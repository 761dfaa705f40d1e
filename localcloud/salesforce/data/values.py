"""Field values: input coercion (JSON or Python -> typed Python), SQLite storage form and
REST JSON form, per describe type."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .ids import is_valid_id, to18
from .schema import FieldDef

TEXT = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
        "encryptedstring"}
DECIMALS = {"double", "currency", "percent"}
# Salesforce Email fields take ASCII addresses only: the local part of letters, digits and
# !#$%&'*+/=?^_`{|}~.- ; the domain of dot-separated labels of letters, digits and hyphens. No
# spaces, no control characters (NUL), no internationalised (non-ASCII) addresses. (A real org can
# activate Email Address Internationalization to take non-ASCII ones; the local org does not model it.)
EMAIL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$")


# The dates and date-times Salesforce stores (Data Loader guide, "Data Import Dates"): the earliest
# valid date is 1700-01-01T00:00:00Z GMT, the latest 4000-12-31T00:00:00Z GMT. Outside: the record
# fails with FIELD_INTEGRITY_EXCEPTION.
MIN_DATETIME = datetime(1700, 1, 1, tzinfo=timezone.utc)
MAX_DATETIME = datetime(4000, 12, 31, tzinfo=timezone.utc)
MIN_DATE = MIN_DATETIME.date()
MAX_DATE = MAX_DATETIME.date()


class ValueProblem(Exception):
    """A value that does not fit its field; becomes a record error."""

    def __init__(self, status_code: str, message: str, field_name: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field_name = field_name


def parse_datetime(text: str) -> datetime | None:
    m = DATETIME_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro)
    except ValueError:
        return None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        from datetime import timedelta

        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        dt = (dt - sign * offset)
    return dt.replace(tzinfo=timezone.utc)


def to_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def coerce(fd: FieldDef, value: Any) -> Any:
    """Typed Python value for ``value`` on field ``fd`` (None stays None; a checkbox set to null
    is false, as in Salesforce). Raises ``ValueProblem``."""
    if value is None:
        return False if fd.type == "boolean" else None
    t = fd.type
    if t in TEXT:
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float, Decimal)):
            value = _num_text(value)
        elif isinstance(value, (date, datetime)):
            value = value.isoformat()
        if not isinstance(value, str):
            raise _type_problem(fd, value)
        if value == "":
            return None
        if fd.length and len(value) > fd.length:
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise ValueProblem("STRING_TOO_LONG",
                               f"{fd.label}: data value too large: {shown} (max length={fd.length})", fd.name)
        if t == "email":
            value = value.strip()
            if not EMAIL_RE.fullmatch(value):
                raise ValueProblem("INVALID_EMAIL_ADDRESS", f"{fd.label}: invalid email address: {value}", fd.name)
        if t == "picklist" and fd.restricted_picklist and value not in fd.picklist_values:
            raise ValueProblem("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                               f"{fd.label}: bad value for restricted picklist field: {value}", fd.name)
        if t == "multipicklist":
            parts = [p.strip() for p in value.split(";") if p.strip()]
            if fd.restricted_picklist:
                for p in parts:
                    if p not in fd.picklist_values:
                        raise ValueProblem("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                           f"{fd.label}: bad value for restricted picklist field: {p}", fd.name)
            value = ";".join(parts)
        return value
    if t in ("id", "reference"):
        if not isinstance(value, str) or value == "":
            if value == "":
                return None
            raise _type_problem(fd, value)
        if not is_valid_id(value):
            raise ValueProblem("MALFORMED_ID", f"{fd.label}: id value of incorrect type: {value}", fd.name)
        return to18(value)
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _type_problem(fd, value)
    if t == "int":
        if isinstance(value, bool):
            raise _type_problem(fd, value)
        try:
            d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            raise _type_problem(fd, value) from None
        if d != d.to_integral_value():
            raise _type_problem(fd, value)
        return int(d)
    if t in DECIMALS:
        if isinstance(value, bool):
            raise _type_problem(fd, value)
        try:
            d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise _type_problem(fd, value) from None
        if not d.is_finite():
            raise _type_problem(fd, value)
        d = d.quantize(Decimal(1).scaleb(-fd.value_scale), rounding=ROUND_HALF_UP)
        if fd.precision:
            int_digits = len(str(abs(int(d)))) if int(d) != 0 else 0
            if int_digits > fd.precision - fd.scale:
                raise ValueProblem("NUMBER_OUTSIDE_VALID_RANGE",
                                   f"{fd.label}: value outside of valid range on numeric field: {value}", fd.name)
        return d
    if t == "date":
        return _in_range(fd, value, _coerce_date(fd, value), MIN_DATE, MAX_DATE)
    if t == "datetime":
        return _in_range(fd, value, _coerce_datetime(fd, value), MIN_DATETIME, MAX_DATETIME)
    if t == "base64":
        return _coerce_base64(fd, value)
    if t == "time":
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            m = TIME_RE.match(value.strip())
            if m:
                hh, mm, ss, ms = m.groups()
                return time(int(hh), int(mm), int(ss or 0), int((ms or "0").ljust(3, "0")) * 1000)
        raise _type_problem(fd, value)
    return value



def _coerce_base64(fd: FieldDef, value: Any) -> bytes:
    """A base64 field (ContentVersion.VersionData): bytes as given (Apex Blob), or the base64 text the
    REST and SOAP APIs send."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueProblem("INVALID_FIELD", f"{fd.label}: not valid base64 data", fd.name) from None
    raise _type_problem(fd, value)


def _coerce_date(fd: FieldDef, value: Any) -> date:
    if isinstance(value, datetime):
        return to_utc(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        dt = parse_datetime(value)
        if dt is not None and len(value.strip()) == 10:
            return dt.date()
    raise _type_problem(fd, value)


def _coerce_datetime(fd: FieldDef, value: Any) -> datetime:
    if isinstance(value, datetime):
        return to_utc(value).replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        dt = parse_datetime(value)
        if dt is not None:
            return dt.replace(microsecond=dt.microsecond // 1000 * 1000)
    raise _type_problem(fd, value)


def _in_range(fd: FieldDef, given: Any, value: Any, low: Any, high: Any) -> Any:
    if not low <= value <= high:
        raise ValueProblem("FIELD_INTEGRITY_EXCEPTION",
                           f"{fd.label}: value out of range: {given} (Salesforce stores {low.isoformat()} to "
                           f"{high.isoformat()})", fd.name)
    return value

def _num_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _type_problem(fd: FieldDef, value: Any) -> ValueProblem:
    return ValueProblem("INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{fd.label}: value not of required type: {value}", fd.name)


def to_db(fd: FieldDef, value: Any) -> Any:
    """Typed value -> SQLite value."""
    if value is None:
        return None
    t = fd.type
    if t == "boolean":
        return 1 if value else 0
    if t in DECIMALS:
        return float(value)
    if t == "datetime":
        return format_db_datetime(value)
    if t == "date":
        return value.isoformat()
    if t == "time":
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value


def format_db_datetime(value: datetime) -> str:
    value = to_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def from_db(fd: FieldDef, value: Any) -> Any:
    """SQLite value -> typed value."""
    if value is None:
        return None
    t = fd.type
    if t == "boolean":
        return bool(value)
    if t in DECIMALS:
        d = Decimal(repr(float(value))) if not isinstance(value, str) else Decimal(value)
        return d.quantize(Decimal(1).scaleb(-fd.value_scale), rounding=ROUND_HALF_UP)
    if t == "int":
        return int(value)
    if t == "base64":
        return bytes(value) if not isinstance(value, str) else base64.b64decode(value)
    if t == "datetime":
        return parse_datetime(value)
    if t == "date":
        return date.fromisoformat(value)
    if t == "time":
        m = TIME_RE.match(value)
        assert m
        hh, mm, ss, ms = m.groups()
        return time(int(hh), int(mm), int(ss or 0), int(ms or 0) * 1000)
    return value


def to_json(fd: FieldDef | None, value: Any) -> Any:
    """Typed value -> the REST API's JSON value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return format_json_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        # Records carry a base64 field as the URL of its blob (``base64_url``); elsewhere the bytes as base64.
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def base64_url(record_url: str, fd: FieldDef) -> str:
    """How REST records show a base64 field: the URL its bytes are read from
    (``/services/data/v62.0/sobjects/ContentVersion/068.../VersionData``)."""
    return f"{record_url}/{fd.name}"


def format_json_datetime(value: datetime) -> str:
    value = to_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def json_value(value: Any) -> Any:
    """Typed value of unknown field -> JSON (used for aggregates)."""
    return to_json(None, value)


def query_param(fd: FieldDef | None, value: Any) -> Any:
    """A bind/literal value as an SQLite parameter for comparison with ``fd``'s column."""
    if value is None:
        return None
    if fd is None:
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, datetime):
            return format_db_datetime(value)
        if isinstance(value, date):
            return value.isoformat()
        return value
    t = fd.type
    if t in ("id", "reference"):
        if isinstance(value, dict):
            value = value.get("Id") or value.get("id")
        if isinstance(value, str) and is_valid_id(value):
            return to18(value)
        return str(value)
    if t == "boolean":
        if isinstance(value, str):
            return 1 if value.lower() == "true" else 0
        return 1 if value else 0
    if t in DECIMALS or t == "int":
        if isinstance(value, bool):
            return 1 if value else 0
        if isinstance(value, (int, float)):
            return value
        try:
            return float(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    if t == "datetime":
        if isinstance(value, datetime):
            return format_db_datetime(value)
        if isinstance(value, date):
            return format_db_datetime(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
        if isinstance(value, str):
            dt = parse_datetime(value)
            return format_db_datetime(dt) if dt else value
    if t == "date":
        if isinstance(value, datetime):
            return to_utc(value).date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
    if t in TEXT and not isinstance(value, str):
        if isinstance(value, bool):
            return "true" if value else "false"
        return _num_text(value) if isinstance(value, (int, float, Decimal)) else str(value)
    return value
