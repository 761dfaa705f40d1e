"""Salesforce's cron expressions (``System.schedule``): parsing and the next fire time.

``Seconds Minutes Hours Day_of_month Month Day_of_week [Optional_year]`` as the Apex Developer Guide
("Apex Scheduler") describes them: seconds and minutes are single integers (Salesforce refuses ``*``,
lists and increments there: "Seconds and minutes must be specified as integers"); hours 0-23; day of
month 1-31 with ``, - * ? / L W`` (``L`` the last day, ``LW`` the last weekday, ``15W`` the weekday
nearest the 15th within the month); month 1-12 or JAN-DEC with ``, - * /``; day of week 1-7 (1 =
Sunday) or SUN-SAT with ``, - * ? / L #`` (``L`` alone is Saturday, ``6L`` the month's last Friday,
``2#3`` its third Monday); year 1970-2099 with ``, - * /``. One of the two day fields must be ``?``.
A bad expression raises ``CronError`` with the message Salesforce's (Quartz) parser gives; the Apex
side turns it into ``System.StringException``.

Fire times are computed in the time zone given (the scheduling user's), as Salesforce does.
Imports nothing of the Apex package.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Iterator

MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                      "NOV", "DEC"), 1)}
DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
MIN_YEAR, MAX_YEAR = 1970, 2099


class CronError(ValueError):
    """A cron expression Salesforce refuses; ``str(error)`` is the message."""


@dataclass
class CronExpression:
    text: str
    second: int
    minute: int
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None  # None: every year
    days: frozenset[int] = frozenset()  # day of month (when not '?')
    last_day: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # nW
    any_day: bool = False  # day of month '?'
    weekdays: frozenset[int] = frozenset()  # 1 = Sunday .. 7 = Saturday
    last_of_weekday: int | None = None  # nL
    nth_weekday: tuple[int, int] | None = None  # n#k
    any_weekday: bool = False  # day of week '?'
    _hours: tuple[int, ...] = field(default=(), repr=False)

    def matches_day(self, d: date) -> bool:
        if d.month not in self.months or (self.years is not None and d.year not in self.years):
            return False
        if self.any_day:
            return self._weekday_ok(d)
        return self._day_ok(d)

    def _day_ok(self, d: date) -> bool:
        last = calendar.monthrange(d.year, d.month)[1]
        if self.last_day:
            return d.day == last
        if self.last_weekday:
            day = last
            while date(d.year, d.month, day).weekday() >= 5:
                day -= 1
            return d.day == day
        if self.nearest_weekday is not None:
            target = min(self.nearest_weekday, last)
            wd = date(d.year, d.month, target).weekday()
            if wd == 5:  # Saturday: the Friday before, or the Monday after when that leaves the month
                target = target - 1 if target > 1 else target + 2
            elif wd == 6:
                target = target + 1 if target < last else target - 2
            return d.day == target
        return d.day in self.days

    def _weekday_ok(self, d: date) -> bool:
        dow = (d.weekday() + 1) % 7 + 1  # Python Monday=0 -> Salesforce Monday=2, Sunday=1
        if self.last_of_weekday is not None:
            last = calendar.monthrange(d.year, d.month)[1]
            return dow == self.last_of_weekday and d.day + 7 > last
        if self.nth_weekday is not None:
            wanted, nth = self.nth_weekday
            return dow == wanted and (d.day - 1) // 7 + 1 == nth
        return dow in self.weekdays

    def next_fire(self, after: datetime, tz: tzinfo) -> datetime | None:
        """The first fire time strictly after ``after`` (aware), aware in ``tz``; None when none is left."""
        local = after.astimezone(tz)
        day = local.date()
        for day in _days_from(day, self):
            for hour in self._hours:
                naive = datetime(day.year, day.month, day.day, hour, self.minute, self.second)
                # a local time the daylight saving change skips becomes the time an hour later, as the
                # lenient calendar of Salesforce's (Quartz) scheduler makes it
                candidate = naive.replace(tzinfo=tz).astimezone(timezone.utc).astimezone(tz)
                if candidate > after:
                    return candidate
        return None


def _days_from(start: date, expr: CronExpression) -> Iterator[date]:
    day = start
    end = date(MAX_YEAR, 12, 31)
    while day <= end:
        if expr.years is not None and day.year not in expr.years:
            later = [y for y in expr.years if y > day.year]
            if not later:
                return
            day = date(min(later), 1, 1)
            continue
        if day.month not in expr.months:
            day = date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)
            continue
        if expr.matches_day(day):
            yield day
        day += timedelta(days=1)


def _number(token: str, names: dict[str, int] | None, low: int, high: int, what: str) -> int:
    upper = token.upper()
    if names and upper in names:
        return names[upper]
    if not token.isdigit():
        if names and token.isalpha():
            kind = "Month" if names is MONTHS else "Day-of-Week"
            raise CronError(f"Invalid {kind} value: '{token}'")
        raise CronError(f"Illegal characters for this position: '{token}'")
    value = int(token)
    if not low <= value <= high:
        raise CronError(what)
    return value


def _values(text: str, low: int, high: int, what: str, names: dict[str, int] | None = None) -> frozenset[int]:
    """``*``, ``a``, ``a-b``, ``a/n``, ``*/n``, ``a-b/n`` and comma lists of them."""
    out: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError("Unexpected end of expression.")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError("'/' must be followed by an integer.")
            step = int(step_text)
            if step > high:
                raise CronError(f"Increment > {high + 1 if low == 0 else high} : {step}")
        if base in ("*", ""):
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, names, low, high, what), _number(b, names, low, high, what)
        else:
            first = _number(base, names, low, high, what)
            last = high if slash else first
        if first <= last:
            out.update(range(first, last + 1, step))
        else:  # a range that wraps (FRI-MON, 22-2)
            span = list(range(first, high + 1)) + list(range(low, last + 1))
            out.update(span[::step])
    return frozenset(out)


def parse(text: str) -> CronExpression:
    """Parse a Salesforce cron expression (``CronError`` when Salesforce would refuse it)."""
    fields = str(text or "").split()
    if len(fields) < 6:
        raise CronError("Unexpected end of expression.")
    if len(fields) > 7:
        raise CronError(f"Illegal characters for this position: '{fields[7]}'")
    sec, minute, hour, dom, month, dow = fields[:6]
    year = fields[6] if len(fields) == 7 else None
    if "?" in (sec, minute, hour, month) or (year is not None and "?" in year):
        raise CronError("'?' can only be specified for Day-of-Month or Day-of-Week.")
    if not (sec.isdigit() and minute.isdigit()):
        raise CronError(f"Seconds and minutes must be specified as integers: {text}")
    if int(sec) > 59 or int(minute) > 59:
        raise CronError("Minute and Second values must be between 0 and 59")
    if dom != "?" and dow != "?":
        raise CronError("Support for specifying both a day-of-week AND a day-of-month parameter is not implemented.")
    if dom == "?" and dow == "?":
        raise CronError("'?' can only be specified for Day-of-Month -OR- Day-of-Week.")
    hours = _values(hour, 0, 23, "Hour values must be between 0 and 23")
    months = _values(month, 1, 12, "Month values must be between 1 and 12", MONTHS)
    years = None if year in (None, "*") else _values(year, MIN_YEAR, MAX_YEAR,
                                                     f"Year values must be between {MIN_YEAR} and {MAX_YEAR}")
    expr = CronExpression(str(text), int(sec), int(minute), hours, months, years, _hours=tuple(sorted(hours)))
    if dom == "?":
        expr.any_day = True
        _parse_weekdays(expr, dow)
    else:
        expr.any_weekday = True
        _parse_days(expr, dom)
    return expr


def _parse_days(expr: CronExpression, dom: str) -> None:
    what = "Day of month values must be between 1 and 31"
    upper = dom.upper()
    if upper == "L":
        expr.last_day = True
    elif upper in ("LW", "WL"):
        expr.last_weekday = True
    elif upper.endswith("W"):
        day = upper[:-1]
        if not day.isdigit():
            raise CronError(f"Illegal characters for this position: '{dom}'")
        if not 1 <= int(day) <= 31:
            raise CronError(what)
        expr.nearest_weekday = int(day)
    elif "L" in upper or "W" in upper or "#" in upper:
        raise CronError(f"Illegal characters for this position: '{dom}'")
    else:
        expr.days = _values(dom, 1, 31, what)


def _parse_weekdays(expr: CronExpression, dow: str) -> None:
    what = "Day-of-Week values must be between 1 and 7"
    upper = dow.upper()
    if upper == "L":
        expr.weekdays = frozenset({7})
    elif upper.endswith("L"):
        expr.last_of_weekday = _number(upper[:-1], DAYS, 1, 7, what)
    elif "#" in upper:
        day, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError("A numeric value between 1 and 5 must follow the '#' option")
        expr.nth_weekday = (_number(day, DAYS, 1, 7, what), int(nth))
    elif "L" in upper:
        raise CronError(f"Illegal characters for this position: '{dow}'")
    else:
        expr.weekdays = _values(dow, 1, 7, what, DAYS)


def one_time(at: datetime) -> str:
    """The cron expression of one fire at ``at`` (local time), as ``System.scheduleBatch`` makes it."""
    return f"{at.second} {at.minute} {at.hour} {at.day} {at.month} ? {at.year}"


__all__ = ["CronError", "CronExpression", "one_time", "parse"]
