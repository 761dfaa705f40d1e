"""The SOQL syntax tree (plain dataclasses) produced by ``parse_soql`` and run by ``execute``.

The Apex runtime builds the same tree for inline SOQL with ``soql_from_node`` (it already has
the tree-sitter ``query_expression`` node) and evaluates ``Bind`` nodes itself through the
``bind_resolver`` callback of ``Transaction.query``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union


@dataclass
class FieldRef:
    """A field or a relationship path: ``Name`` -> ``["Name"]``, ``Member__r.Email`` -> ``["Member__r", "Email"]``."""

    path: list[str]

    @property
    def text(self) -> str:
        return ".".join(self.path)


@dataclass
class Aggregate:
    """``COUNT()``, ``COUNT(Id)``, ``SUM(f)``, ``MIN``, ``MAX``, ``AVG``, ``COUNT_DISTINCT`` with optional alias."""

    function: str
    field: FieldRef | None
    alias: str | None = None


@dataclass
class SubQuery:
    """A child relationship subquery in the select list; ``query.sobject`` is the relationship name."""

    query: "SoqlQuery"


#: the date functions: a number (DAY_ONLY: a date) of a date or dateTime field
DATE_FUNCTIONS = frozenset({
    "CALENDAR_MONTH", "CALENDAR_QUARTER", "CALENDAR_YEAR", "DAY_IN_MONTH", "DAY_IN_WEEK", "DAY_IN_YEAR", "DAY_ONLY",
    "FISCAL_MONTH", "FISCAL_QUARTER", "FISCAL_YEAR", "HOUR_IN_DAY", "WEEK_IN_MONTH", "WEEK_IN_YEAR"})
#: every function the parser accepts besides the aggregates
FUNCTIONS = DATE_FUNCTIONS | {"TOLABEL", "FORMAT", "CONVERTCURRENCY", "CONVERTTIMEZONE", "GROUPING"}


@dataclass
class Function:
    """A SOQL function other than the aggregates: ``toLabel(f)``, ``FORMAT(f | aggregate)``,
    ``convertCurrency(f)``, ``convertTimezone(f)`` (inside a date function), the date functions
    (``CALENDAR_YEAR(f)`` ...) and ``GROUPING(f)``. ``name`` is upper case; ``spelled`` as written."""

    name: str
    arg: Union[FieldRef, Aggregate, "Function"]
    alias: str | None = None
    spelled: str = ""

    @property
    def field(self) -> FieldRef | None:
        """The field the function reads (through nested functions and aggregates), if any."""
        arg: Any = self.arg
        while not isinstance(arg, FieldRef):
            arg = getattr(arg, "arg", None) if isinstance(arg, Function) else getattr(arg, "field", None)
            if arg is None:
                return None
        return arg

    @property
    def path(self) -> list[str]:
        f = self.field
        return f.path if f is not None else []

    @property
    def text(self) -> str:
        arg = self.arg
        inner = arg.text if isinstance(arg, (FieldRef, Function)) else (
            f"{arg.function}({arg.field.text if arg.field else ''})")
        return f"{self.spelled or self.name}({inner})"

    @property
    def aggregate(self) -> bool:
        """True when the function makes the query an aggregate one (date functions, GROUPING, or
        FORMAT of an aggregate)."""
        if self.name in DATE_FUNCTIONS or self.name == "GROUPING":
            return True
        return isinstance(self.arg, Aggregate) or (isinstance(self.arg, Function) and self.arg.aggregate)


SelectItem = Union[FieldRef, Aggregate, "Function", SubQuery]


@dataclass
class Literal:
    """A constant: ``str``, ``int``, ``Decimal``, ``bool``, ``None``, ``date`` or ``datetime``."""

    value: Any


@dataclass
class DateLiteral:
    """A relative date literal: ``TODAY``, ``LAST_N_DAYS:3`` (``n=3``) ..."""

    name: str
    n: int | None = None


@dataclass
class Bind:
    """``:expr``. ``name`` is the expression text without the colon and whitespace
    (``ids``, ``obj.Field__c``); ``node`` is the tree-sitter node of the expression (for the Apex
    runtime's evaluator) and ``source`` the bytes it was parsed from."""

    name: str
    node: Any = None
    source: bytes | None = None


@dataclass
class ValueList:
    """``('a', 'b')`` after ``IN`` / ``NOT IN`` / ``INCLUDES`` / ``EXCLUDES``."""

    items: list[Union[Literal, DateLiteral, Bind]]


@dataclass
class SemiJoin:
    """``Id IN (SELECT ParentId FROM Child)``: a single-field subquery used as a value set."""

    query: "SoqlQuery"


Value = Union[Literal, DateLiteral, Bind, ValueList, SemiJoin]


@dataclass
class Comparison:
    """``field op value``; ``op`` is one of ``= != < <= > >= LIKE IN NOT_IN INCLUDES EXCLUDES``."""

    left: Union[FieldRef, Aggregate, Function]
    op: str
    value: Value


@dataclass
class And:
    items: list["Condition"]


@dataclass
class Or:
    items: list["Condition"]


@dataclass
class Not:
    item: "Condition"


Condition = Union[Comparison, And, Or, Not]


@dataclass
class OrderItem:
    """``ORDER BY`` entry; ``nulls_last`` None means the default (NULLS FIRST for ASC, LAST for DESC)."""

    key: Union[FieldRef, Aggregate, Function]
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class SoqlQuery:
    """A whole query. ``count_only`` is ``SELECT COUNT() FROM ...``."""

    select: list[SelectItem]
    sobject: str
    where: Condition | None = None
    group_by: list[Union[FieldRef, Function]] = field(default_factory=list)
    #: ``ROLLUP`` or ``CUBE`` for ``GROUP BY ROLLUP(...)`` / ``GROUP BY CUBE(...)``
    group_by_kind: str | None = None
    having: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: Union[int, Bind, None] = None
    offset: Union[int, Bind, None] = None
    security: str | None = None
    for_update: bool = False
    all_rows: bool = False
    count_only: bool = False
    text: str = ""

    @property
    def is_aggregate(self) -> bool:
        return bool(self.group_by) or any(isinstance(s, Aggregate) or (isinstance(s, Function) and s.aggregate)
                                          for s in self.select)
