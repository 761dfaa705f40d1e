"""Velocity email scripts as Marketo runs them: the airspeed engine plus the tools Marketo puts in the context.

Marketo's script tokens run Apache Velocity with a few Velocity Tools in the context. The tools here
follow the Java tools' method names and argument orders, so a script written for Marketo runs unchanged:

- ``$date`` (ComparisonDateTool/DateTool): ``format(pattern, date[, locale[, timeZone]])``,
  ``toDate(pattern, text[, locale[, timeZone]])``, ``getTimeZone()`` (whose ``getTimeZone(id)`` gives a zone),
  ``getLocale()``, ``getDate()``; patterns are Java SimpleDateFormat (y M d H h m s S a E z Z X).
- ``$convert`` (ConversionTool): ``toLocale("ja_JP")``, ``parseDate(text, pattern[, locale[, zone]])``,
  ``toNumber``, ``toInteger``, ``toString``.
- ``$number`` (NumberTool): ``format(pattern, number[, locale])`` with DecimalFormat patterns ("#,##0",
  "¥#,##0", "0.00") or the names integer/number/currency/percent, ``integer(n)``, ``currency(n)``, ``toNumber``.
- ``$math`` (MathTool): add, sub, mul, div, max, min, round, roundTo, abs, toNumber.
- ``$sorter`` (SortTool): ``sort(list, "field:desc")`` or a list of such properties.
- ``$display`` (DisplayTool): ``alt(value, fallback)``.

A construct this module cannot execute (an unknown pattern letter, say) raises ``ScriptError`` naming it:
a script never renders half-right silently.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import airspeed


class ScriptError(Exception):
    """A script that cannot run, with the token and, where known, the line."""


# ---------------------------------------------------------------------------------------------
# Java-like values


class VList(list):
    """A java.util.List for scripts: get(i), size(), isEmpty(), contains(x)."""

    def get(self, index: int) -> Any:
        try:
            return self[int(index)]
        except IndexError:
            raise ScriptError(f"Index: {index}, Size: {len(self)} (IndexOutOfBoundsException)") from None

    def size(self) -> int:
        return len(self)

    def isEmpty(self) -> bool:  # noqa: N802 - Java name
        return not self

    def contains(self, item: Any) -> bool:
        return item in self


class Record(dict):
    """A custom object record or the lead: its loaded fields as properties (``$o.orderNumber``)."""

    def get(self, key: Any, default: Any = None) -> Any:  # java Map.get(key): null when absent
        return super().get(key, default)

    def containsKey(self, key: str) -> bool:  # noqa: N802 - Java name
        return key in self


class JTimeZone:
    def __init__(self, zone_id: str):
        try:
            self.zone = ZoneInfo(zone_id)
        except (ZoneInfoNotFoundError, ValueError):
            # java.util.TimeZone.getTimeZone answers GMT for an unknown id; so do we
            self.zone = ZoneInfo("UTC")
            zone_id = "GMT"
        self.id = zone_id

    def getTimeZone(self, zone_id: str) -> "JTimeZone":  # noqa: N802 - TimeZone.getTimeZone, static in Java
        return JTimeZone(str(zone_id))

    def getID(self) -> str:  # noqa: N802
        return self.id

    def __str__(self) -> str:
        return self.id


class JLocale:
    def __init__(self, tag: str):
        self.tag = str(tag).replace("-", "_")
        self.language = self.tag.split("_")[0].lower()

    def __str__(self) -> str:
        return self.tag


class JDate:
    """A java.util.Date: an instant; shown as Java's Date.toString in the context's zone."""

    def __init__(self, moment: dt.datetime, zone: dt.tzinfo):
        self.moment = moment
        self.zone = zone

    def getTime(self) -> int:  # noqa: N802
        return int(self.moment.timestamp() * 1000)

    def before(self, other: "JDate") -> bool:
        return self.moment < other.moment

    def after(self, other: "JDate") -> bool:
        return self.moment > other.moment

    def compareTo(self, other: "JDate") -> int:  # noqa: N802
        return (self.moment > other.moment) - (self.moment < other.moment)

    def __lt__(self, other: "JDate") -> bool:
        return self.moment < other.moment

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JDate) and self.moment == other.moment

    def __hash__(self) -> int:
        return hash(self.moment)

    def __str__(self) -> str:
        local = self.moment.astimezone(self.zone)
        return local.strftime("%a %b %d %H:%M:%S ") + (local.tzname() or "") + local.strftime(" %Y")


# ---------------------------------------------------------------------------------------------
# SimpleDateFormat

_WEEKDAYS = {
    "en": (("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
           ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")),
    "ja": (("月", "火", "水", "木", "金", "土", "日"), ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日")),
}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_AMPM = {"en": ("AM", "PM"), "ja": ("午前", "午後")}


def _pattern_parts(pattern: str) -> list[tuple[str, str]]:
    """SimpleDateFormat pattern -> [("field", "yyyy") | ("text", "/")]."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:  # '' is a quote
                parts.append(("text", "'"))
                i += 2
                continue
            if end < 0:
                raise ScriptError(f"Unterminated quote in date pattern {pattern!r}")
            parts.append(("text", pattern[i + 1 : end]))
            i = end + 1
        elif ch.isascii() and ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            parts.append(("field", pattern[i:j]))
            i = j
        else:
            parts.append(("text", ch))
            i += 1
    return parts


def format_java_date(pattern: str, moment: dt.datetime, locale: JLocale) -> str:
    out: list[str] = []
    lang = locale.language if locale.language in _WEEKDAYS else "en"
    for kind, token in _pattern_parts(pattern):
        if kind == "text":
            out.append(token)
            continue
        letter, n = token[0], len(token)
        if letter in "yu":
            out.append(f"{moment.year % 100:02d}" if n == 2 else str(moment.year).zfill(n))
        elif letter in "ML":
            if n >= 4 and lang == "en":
                out.append(_MONTHS_EN[moment.month - 1])
            elif n == 3 and lang == "en":
                out.append(_MONTHS_EN[moment.month - 1][:3])
            elif n >= 3:  # ja: 1月
                out.append(f"{moment.month}月")
            else:
                out.append(str(moment.month).zfill(n))
        elif letter == "d":
            out.append(str(moment.day).zfill(n))
        elif letter == "H":
            out.append(str(moment.hour).zfill(n))
        elif letter == "h":
            out.append(str((moment.hour % 12) or 12).zfill(n))
        elif letter == "k":
            out.append(str(moment.hour or 24).zfill(n))
        elif letter == "m":
            out.append(str(moment.minute).zfill(n))
        elif letter == "s":
            out.append(str(moment.second).zfill(n))
        elif letter == "S":
            out.append(str(moment.microsecond // 1000).zfill(n))
        elif letter == "E":
            short, long = _WEEKDAYS[lang]
            out.append((long if n >= 4 else short)[moment.weekday()])
        elif letter == "a":
            out.append(_AMPM.get(lang, _AMPM["en"])[moment.hour >= 12])
        elif letter in "zZX":
            offset = moment.utcoffset() or dt.timedelta(0)
            minutes = int(offset.total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            hh, mm = divmod(abs(minutes), 60)
            if letter == "z":
                out.append(moment.tzname() or f"GMT{sign}{hh:02d}:{mm:02d}")
            elif letter == "X" and minutes == 0:
                out.append("Z")
            elif letter == "X" and n == 1:
                out.append(f"{sign}{hh:02d}")
            elif letter == "X" and n >= 3:
                out.append(f"{sign}{hh:02d}:{mm:02d}")
            else:
                out.append(f"{sign}{hh:02d}{mm:02d}")
        else:
            raise ScriptError(f"Date pattern letter '{letter}' in {pattern!r} is not supported by the local Marketo")
    return "".join(out)


_FIELD_REGEX = {
    "y": r"(?P<y>\d{4}|\d{2})", "u": r"(?P<y>\d{4}|\d{2})", "M": r"(?P<M>\d{1,2})", "d": r"(?P<d>\d{1,2})",
    "H": r"(?P<H>\d{1,2})", "m": r"(?P<m>\d{1,2})", "s": r"(?P<s>\d{1,2})", "S": r"(?P<S>\d{1,3})",
    "X": r"(?P<X>Z|[+-]\d{2}:?\d{2}|[+-]\d{2})", "Z": r"(?P<X>[+-]\d{4})",
}


def parse_java_date(pattern: str, text: str, zone: dt.tzinfo) -> dt.datetime | None:
    """Text -> aware datetime, or None when it does not match (DateTool answers null)."""
    regex = ""
    for kind, token in _pattern_parts(pattern):
        if kind == "text":
            regex += re.escape(token)
            continue
        letter = token[0]
        if letter not in _FIELD_REGEX:
            raise ScriptError(f"Date pattern letter '{letter}' in {pattern!r} cannot be parsed by the local Marketo")
        regex += _FIELD_REGEX[letter]
    match = re.fullmatch(regex, str(text).strip())
    if match is None:
        return None
    parts = match.groupdict()
    year = int(parts.get("y") or 1970)
    if parts.get("y") and len(parts["y"]) == 2:
        year += 2000
    tzinfo: dt.tzinfo = zone
    if parts.get("X"):
        offset = parts["X"]
        if offset == "Z":
            tzinfo = dt.timezone.utc
        else:
            digits = offset[1:].replace(":", "")
            delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            tzinfo = dt.timezone(delta if offset[0] == "+" else -delta)
    try:
        return dt.datetime(year, int(parts.get("M") or 1), int(parts.get("d") or 1), int(parts.get("H") or 0),
                           int(parts.get("m") or 0), int(parts.get("s") or 0),
                           int(parts.get("S") or 0) * 1000, tzinfo=tzinfo)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# DecimalFormat

_NUMBER_PATTERN = re.compile(r"^(?P<prefix>[^#0,.]*)(?P<body>[#0,]*(?:\.[#0]*)?)(?P<suffix>[^#0,.]*)$")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _to_number(value: Any) -> int | float | None:
    number = _decimal(value)
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def format_decimal(pattern: str, value: Decimal) -> str:
    match = _NUMBER_PATTERN.match(pattern.split(";")[0])
    if match is None or not match.group("body"):
        raise ScriptError(f"Number pattern {pattern!r} is not supported by the local Marketo")
    body = match.group("body")
    integer_part, _, fraction_part = body.partition(".")
    grouping = "," in integer_part
    group_size = len(integer_part) - integer_part.rfind(",") - 1 if grouping else 0
    min_int = integer_part.count("0")
    min_frac = fraction_part.count("0")
    max_frac = len(fraction_part)
    rounded = value.quantize(Decimal(1).scaleb(-max_frac), rounding=ROUND_HALF_EVEN)
    negative = rounded < 0
    digits = f"{abs(rounded):f}"
    whole, _, frac = digits.partition(".")
    frac = frac.rstrip("0")
    frac = frac.ljust(min_frac, "0")
    whole = whole.lstrip("0").rjust(min_int, "0") if min_int or whole.strip("0") else whole.lstrip("0")
    if grouping and group_size > 0:
        groups = []
        while len(whole) > group_size:
            groups.insert(0, whole[-group_size:])
            whole = whole[:-group_size]
        whole = ",".join([whole, *groups]) if whole else ",".join(groups)
    text = whole + ("." + frac if frac else "")
    return ("-" if negative else "") + match.group("prefix") + text + match.group("suffix")


# ---------------------------------------------------------------------------------------------
# tools


class DateTool:
    def __init__(self, zone: str, locale: str):
        self._zone = JTimeZone(zone)
        self._locale = JLocale(locale)

    def _zone_of(self, zone: Any) -> dt.tzinfo:
        if isinstance(zone, JTimeZone):
            return zone.zone
        if isinstance(zone, str):
            return JTimeZone(zone).zone
        return self._zone.zone

    def _locale_of(self, locale: Any) -> JLocale:
        return locale if isinstance(locale, JLocale) else (JLocale(locale) if isinstance(locale, str) else self._locale)

    def _moment(self, obj: Any, zone: dt.tzinfo) -> dt.datetime | None:
        if isinstance(obj, JDate):
            return obj.moment
        if isinstance(obj, dt.datetime):
            return obj if obj.tzinfo else obj.replace(tzinfo=zone)
        if isinstance(obj, str):  # DateTool parses strings with its default format
            return parse_java_date("yyyy-MM-dd HH:mm:ss", obj, zone)
        return None

    def getTimeZone(self) -> JTimeZone:  # noqa: N802
        return self._zone

    def getLocale(self) -> JLocale:  # noqa: N802
        return self._locale

    def getDate(self) -> JDate:  # noqa: N802
        return JDate(dt.datetime.now(dt.timezone.utc), self._zone.zone)

    getSystemDate = getDate  # noqa: N815

    def toDate(self, pattern: Any, obj: Any = None, locale: Any = None, zone: Any = None) -> JDate | None:  # noqa: N802
        if obj is None:
            obj, pattern = pattern, "yyyy-MM-dd HH:mm:ss"
        tz = self._zone_of(zone)
        if isinstance(obj, JDate):
            return obj
        moment = parse_java_date(str(pattern), str(obj), tz) if obj is not None else None
        return JDate(moment, tz) if moment else None

    def format(self, pattern: Any, obj: Any = None, locale: Any = None, zone: Any = None) -> str | None:
        if obj is None:
            return None
        tz = self._zone_of(zone)
        moment = self._moment(obj, tz)
        if moment is None:
            return None
        named = {"default": "yyyy-MM-dd HH:mm:ss", "short": "yy/MM/dd H:mm", "medium": "yyyy/MM/dd H:mm:ss",
                 "iso": "yyyy-MM-dd'T'HH:mm:ssZ"}
        return format_java_date(named.get(str(pattern), str(pattern)), moment.astimezone(tz), self._locale_of(locale))

    def difference(self, first: Any, second: Any) -> Any:
        raise ScriptError("$date.difference is not supported by the local Marketo")


class ConvertTool:
    def __init__(self, dates: DateTool):
        self._dates = dates

    def toLocale(self, tag: Any) -> JLocale:  # noqa: N802
        return JLocale(str(tag))

    def parseDate(self, text: Any, pattern: Any, locale: Any = None, zone: Any = None) -> JDate | None:  # noqa: N802
        return self._dates.toDate(pattern, text, locale, zone)

    def toNumber(self, value: Any) -> Any:  # noqa: N802
        return _to_number(value)

    def toInteger(self, value: Any) -> int | None:  # noqa: N802
        number = _decimal(value)
        return None if number is None else int(number)

    def toString(self, value: Any) -> str:  # noqa: N802
        return "" if value is None else str(value)


class NumberTool:
    NAMED = {"integer": "#,##0", "number": "#,##0.###", "percent": "#,##0%"}
    CURRENCY = {"ja": "￥#,##0", "en": "$#,##0.00"}

    def __init__(self, locale: str):
        self._locale = JLocale(locale)

    def format(self, pattern: Any, value: Any = None, locale: Any = None) -> str | None:
        if value is None:
            return None
        number = _decimal(value)
        if number is None:
            return None
        name = str(pattern)
        lang = (locale if isinstance(locale, JLocale) else JLocale(str(locale)) if locale else self._locale).language
        if name == "currency":
            return format_decimal(self.CURRENCY.get(lang, self.CURRENCY["en"]), number)
        if name == "percent":
            return format_decimal("#,##0", number * 100) + "%"
        return format_decimal(self.NAMED.get(name, name), number)

    def integer(self, value: Any) -> str | None:
        return self.format("integer", value)

    def currency(self, value: Any) -> str | None:
        return self.format("currency", value)

    def toNumber(self, value: Any) -> Any:  # noqa: N802
        return _to_number(value)


class MathTool:
    @staticmethod
    def _n(value: Any) -> Decimal | None:
        return _decimal(value)

    def _out(self, value: Decimal | None) -> Any:
        if value is None:
            return None
        return int(value) if value == value.to_integral_value() else float(value)

    def add(self, *values: Any) -> Any:
        numbers = [self._n(v) for v in values]
        return None if None in numbers else self._out(sum(numbers, Decimal(0)))  # type: ignore[arg-type]

    def sub(self, a: Any, b: Any) -> Any:
        x, y = self._n(a), self._n(b)
        return None if x is None or y is None else self._out(x - y)

    def mul(self, a: Any, b: Any) -> Any:
        x, y = self._n(a), self._n(b)
        return None if x is None or y is None else self._out(x * y)

    def div(self, a: Any, b: Any) -> Any:
        x, y = self._n(a), self._n(b)
        return None if x is None or not y else self._out(x / y)

    def max(self, a: Any, b: Any) -> Any:
        x, y = self._n(a), self._n(b)
        return None if x is None or y is None else self._out(max(x, y))

    def min(self, a: Any, b: Any) -> Any:
        x, y = self._n(a), self._n(b)
        return None if x is None or y is None else self._out(min(x, y))

    def abs(self, a: Any) -> Any:
        x = self._n(a)
        return None if x is None else self._out(abs(x))

    def round(self, a: Any) -> Any:
        x = self._n(a)
        return None if x is None else int(x.quantize(Decimal(1), rounding="ROUND_HALF_UP"))

    def roundTo(self, places: Any, a: Any) -> Any:  # noqa: N802
        x = self._n(a)
        return None if x is None else self._out(x.quantize(Decimal(1).scaleb(-int(places)), rounding="ROUND_HALF_UP"))

    def toNumber(self, value: Any) -> Any:  # noqa: N802
        return self._out(self._n(value))


class SortTool:
    def sort(self, collection: Any, properties: Any = None) -> VList | None:
        if collection is None:
            return None
        items = list(collection)
        specs = [properties] if isinstance(properties, str) else list(properties or [])
        for spec in reversed(specs):  # stable sorts, last key first
            name, _, order = str(spec).partition(":")
            descending = order.strip().lower() in ("desc", "descending")

            def key(item: Any, name: str = name) -> tuple[int, Any]:
                value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
                return (0, value) if value is not None else (1, "")

            present = [i for i in items if key(i)[0] == 0]
            missing = [i for i in items if key(i)[0] == 1]
            present.sort(key=lambda item: _comparable(key(item)[1]), reverse=descending)
            items = present + missing  # nulls last either way, as SortTool's comparator puts them
        if not specs:
            items.sort(key=_comparable)
        return VList(items)


def _comparable(value: Any) -> Any:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, Decimal(str(value)), "")
    if isinstance(value, JDate):
        return (0, Decimal(value.getTime()), "")
    return (1, Decimal(0), str(value))


class DisplayTool:
    def alt(self, value: Any, fallback: Any = "") -> Any:
        return fallback if value in (None, "") else value


def tools(zone: str, locale: str) -> dict[str, Any]:
    """The tools Marketo's script context carries, with its default time zone and locale."""
    dates = DateTool(zone, locale)
    return {
        "date": dates,
        "convert": ConvertTool(dates),
        "number": NumberTool(locale),
        "math": MathTool(),
        "sorter": SortTool(),
        "display": DisplayTool(),
    }


def render(script: str, context: dict[str, Any], token_name: str) -> str:
    """Run one script token with airspeed; errors name the token (and the line when known)."""
    for number, line in enumerate(script.splitlines(), start=1):
        # Java Velocity keeps "##" inside a double-quoted string; airspeed reads it as a comment and
        # would cut the string silently ("#,##0" -> "#"). Refuse loudly instead.
        if re.search(r'"[^"]*##[^"]*"', re.sub(r"^\s*##.*", "", line)):
            raise ScriptError(f"{{{{my.{token_name}}}}} line {number}: '##' inside a double-quoted string is not "
                              "supported by the local Marketo's engine; use single quotes ('#,##0')")
    try:
        template = airspeed.Template(script)
        return template.merge(dict(context))
    except ScriptError as error:
        raise ScriptError(f"{{{{my.{token_name}}}}}: {error}") from None
    except airspeed.TemplateSyntaxError as error:
        raise ScriptError(f"{{{{my.{token_name}}}}}: Velocity syntax error: {error}") from None
    except Exception as error:  # noqa: BLE001 - any failure inside the engine is a script failure
        raise ScriptError(f"{{{{my.{token_name}}}}}: {type(error).__name__}: {error}") from None


def referenced_names(script: str) -> set[str]:
    """Identifiers a script names: what dragging fields into Marketo's script editor would tick."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", script))


def as_list(records: Iterable[dict[str, Any]]) -> VList:
    return VList(Record(r) for r in records)
