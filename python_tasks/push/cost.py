"""What a push will cost in Marketo calls, by phase, for the REST path and for the bulk path;
and which of the two to take for a volume within the daily allocation.

REST path (what :mod:`python_tasks.push.runner` does), per chunk of ``chunk_size`` persons:

* identity: one ``GET leads.json`` by email per 300 persons, another by the lookup field when it is
  not email (:mod:`python_tasks.push.identity`);
* persons: ``createOnly`` for the new ones, ``updateOnly`` for the known ones, 300 per call;
* custom objects: per custom object, one ``createOrUpdate`` per 300 of the chunk's orders;
* order fields: one ``updateOnly`` per 300 persons that have an order.

Bulk path (:class:`python_tasks.push.backfill.BulkBackfill`): the same identity reads, then bulk
lead import files of at most 10 MB (one call each, plus status polls), one ``GET leads.json`` by the
lookup field per 300 new persons for their lead ids, one bulk custom object import per 10 MB of
orders, and one bulk lead import (``lookupField=id``) per 10 MB of order fields.

Both start with the run's describes (``describe2`` and one per custom object) and fetch an access
token once an hour (a token lives 3,600 s; the client counts these calls too). Counts are
expectations for persons and orders spread evenly over the chunks; a job's failures file (read only
when a row failed) is outside ``calls`` and inside ``budget``. How fast Marketo imports a file is
not documented: ``import_rows_per_second`` is an assumption (a setting), and it only moves the poll
count and the time, never the other calls.

    settings = CostSettings.from_mapping(mapping, daily_allocation=50_000)
    choice = choose(PushVolume(persons=len(persons), orders=len(orders), new_persons=new), settings,
                    already_used=calls_spent_today)
    log(choice.summary_line())          # "This push will take about 8,416 Marketo calls (bulk import; ...)"
    if choice.method == BULK: ...       # BulkBackfill(client, mapping).run(...)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from python_tasks.mapping import Mapping

DAILY_ALLOCATION = 50_000  # Marketo's default daily API quota (607 past it)
RECORDS_PER_CALL = 300
MAX_BODY_BYTES = 1_000_000  # REST body limit (python_tasks.marketo.batching)
MAX_IMPORT_BYTES = 10 * 1000 * 1000  # bulk import file limit (python_tasks.marketo.client)
TOKEN_SECONDS = 3600.0
REST = "rest"
BULK = "bulk"


@dataclass(frozen=True)
class PushVolume:
    """What a push writes: persons (``new_persons`` of them unknown to Marketo) and orders."""

    persons: int
    orders: int
    new_persons: int | None = None  # None: every person is new (a first push)
    persons_with_orders: int | None = None  # None: min(persons, orders)

    def __post_init__(self) -> None:
        if self.persons < 0 or self.orders < 0:
            raise ValueError(f"persons and orders cannot be negative (got {self.persons}, {self.orders})")
        if not 0 <= self.new <= self.persons:
            raise ValueError(f"new_persons must be 0..persons (got {self.new_persons} of {self.persons})")

    @property
    def new(self) -> int:
        return self.persons if self.new_persons is None else self.new_persons

    @property
    def known(self) -> int:
        return self.persons - self.new

    @property
    def with_orders(self) -> int:
        if self.persons_with_orders is None:
            return min(self.persons, self.orders)
        return min(self.persons_with_orders, self.persons)


@dataclass(frozen=True)
class CostSettings:
    """The shape of the mapping, the limits and the assumptions the estimate uses.

    Byte sizes are averages: JSON bytes of one REST record, CSV bytes of one import row.
    """

    chunk_size: int = RECORDS_PER_CALL
    lookup_field: str = "email"
    custom_objects: int = 1
    order_fields: bool = True  # the mapping has last_order.* lead fields
    daily_allocation: int = DAILY_ALLOCATION
    lead_json_bytes: int = 250
    order_json_bytes: int = 300
    lead_row_bytes: int = 120
    order_row_bytes: int = 160
    order_fields_row_bytes: int = 90
    max_file_bytes: int = MAX_IMPORT_BYTES - 64 * 1024  # as BulkBackfill cuts its files
    poll_seconds: float = 30.0  # Adobe: poll an import every 5 to 30 s; the slowest costs fewest calls
    import_rows_per_second: float = 100.0  # per running job; undocumented, an assumption
    calls_per_second: float = 2.5  # the client's pacing: Adobe's advised 50 calls per 20 s
    resolve_identity_first: bool = True  # bulk path: run the identity reads before importing
    # When both fit, bulk only when it saves at least this many calls: below that the REST path's
    # per-record answers, field clearing (a blank CSV cell changes nothing) and speed are worth more.
    bulk_min_saving: int = 1_000

    @classmethod
    def from_mapping(cls, mapping: Mapping, **overrides: Any) -> "CostSettings":
        """Settings for an ``ecbridge.yml`` mapping; ``overrides`` set any other field."""
        lead = mapping.marketo.lead
        base = cls(
            lookup_field=lead.lookup_field,
            custom_objects=len(mapping.marketo.custom_objects),
            order_fields=any(f.source.scope == "last_order" for f in lead.fields),
        )
        return replace(base, **overrides)


@dataclass(frozen=True)
class Estimate:
    """Expected Marketo calls of one method, by phase (in the order they happen), and seconds."""

    method: str
    phases: dict[str, int]
    seconds: float
    reserve: int = 0  # calls that happen only when something fails (failures files)
    notes: tuple[str, ...] = field(default=())

    @property
    def calls(self) -> int:
        return sum(self.phases.values())

    @property
    def budget(self) -> int:
        """Calls to set aside: the expectation plus the failure-only calls."""
        return self.calls + self.reserve

    def fits(self, allocation: int) -> bool:
        return self.budget <= allocation

    def days(self, allocation: int, left_today: int | None = None) -> int:
        """Days of allocation the budget spans, today (with ``left_today`` calls left) included."""
        if allocation <= 0:
            return 0
        today = allocation if left_today is None else left_today
        return 1 + max(0, math.ceil((self.budget - today) / allocation))

    def lines(self) -> list[str]:
        out = [f"{self.method}: about {self.calls:,} Marketo calls, {_duration(self.seconds)}"]
        out += [f"  {name}: {count:,}" for name, count in self.phases.items() if count]
        if self.reserve:
            out.append(f"  (+ up to {self.reserve:,} failures-file reads if rows fail)")
        return out


@dataclass(frozen=True)
class Choice:
    method: str  # REST or BULK
    chosen: Estimate
    other: Estimate
    allocation: int
    reason: str

    @property
    def calls(self) -> int:
        return self.chosen.calls

    def summary_line(self) -> str:
        """One line for the push summary, said before the push starts."""
        return (f"This push will take about {self.chosen.calls:,} Marketo calls "
                f"({'bulk import' if self.method == BULK else 'REST sync'}; "
                f"{self.allocation:,} calls left today): {self.reason}")


def _calls(records: int, per_call: int) -> int:
    return math.ceil(records / per_call) if records > 0 else 0


def _per_call(json_bytes: int) -> int:
    """Records per REST write: 300, fewer when 300 records would pass the 1 MB body."""
    return max(1, min(RECORDS_PER_CALL, (MAX_BODY_BYTES - 200) // max(1, json_bytes + 1)))


def share(total: int, sizes: Sequence[int]) -> list[int]:
    """``total`` spread over parts in proportion to ``sizes`` (largest remainder; sums to ``total``)."""
    whole = sum(sizes)
    if whole == 0:
        return [0 for _ in sizes]
    exact = [total * size / whole for size in sizes]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(sizes)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def chunks(persons: int, chunk_size: int) -> list[int]:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 (got {chunk_size})")
    return [min(chunk_size, persons - start) for start in range(0, persons, chunk_size)]


def _with_tokens(phases: dict[str, int], seconds: float) -> dict[str, int]:
    return {"access token": 1 + math.floor(seconds / TOKEN_SECONDS), **phases}


def _setup(s: CostSettings) -> int:
    return 1 + s.custom_objects  # describe2 + one describe per custom object


def estimate_rest(volume: PushVolume, settings: CostSettings | None = None) -> Estimate:
    """Calls of the REST path: the push's chunked syncs."""
    s = settings or CostSettings()
    sizes = chunks(volume.persons, s.chunk_size)
    new = share(volume.new, sizes)
    orders = share(volume.orders, sizes)
    with_orders = share(volume.with_orders if s.order_fields else 0, sizes)
    lead_per_call, order_per_call = _per_call(s.lead_json_bytes), _per_call(s.order_json_bytes)
    phases = {
        "setup (describes)": _setup(s),
        "identity: by email": sum(_calls(c, RECORDS_PER_CALL) for c in sizes),
        "identity: by lookup field": (sum(_calls(c, RECORDS_PER_CALL) for c in sizes)
                                      if s.lookup_field != "email" else 0),
        "persons: createOnly": sum(_calls(n, lead_per_call) for n in new),
        "persons: updateOnly": sum(_calls(c - n, lead_per_call) for c, n in zip(sizes, new)),
        "custom objects: createOrUpdate": s.custom_objects * sum(_calls(o, order_per_call) for o in orders),
        "order fields: updateOnly": sum(_calls(w, lead_per_call) for w in with_orders),
    }
    seconds = sum(phases.values()) / s.calls_per_second
    return Estimate(REST, _with_tokens(phases, seconds), seconds,
                    notes=(f"{len(sizes):,} chunks of up to {s.chunk_size} persons",))


@dataclass(frozen=True)
class ImportPlan:
    """Bulk import files for ``rows`` rows of ``row_bytes`` each, cut at ``max_bytes``."""

    rows: int
    row_bytes: int
    max_bytes: int = MAX_IMPORT_BYTES - 64 * 1024

    @property
    def files(self) -> int:
        per_file = max(1, (self.max_bytes - 512) // max(1, self.row_bytes))  # 512: the header row
        return _calls(self.rows, per_file)

    def polls(self, s: CostSettings) -> int:
        """Status calls: every job is asked at least once; each running job (two at once) is asked
        every ``poll_seconds`` while its rows import."""
        if not self.rows:
            return 0
        return self.files + math.floor(self.rows / s.import_rows_per_second / s.poll_seconds)

    def seconds(self, s: CostSettings) -> float:
        return self.rows / (s.import_rows_per_second * min(2, max(1, self.files))) if self.rows else 0.0


def estimate_bulk(volume: PushVolume, settings: CostSettings | None = None) -> Estimate:
    """Calls of the bulk path: identity reads, lead import, lead ids, custom object and order fields imports."""
    s = settings or CostSettings()
    lookups = _calls(volume.persons, RECORDS_PER_CALL) if s.resolve_identity_first else 0
    by_lookup = volume.new if s.resolve_identity_first else volume.persons
    lead_files = [ImportPlan(by_lookup, s.lead_row_bytes, s.max_file_bytes),
                  ImportPlan(volume.persons - by_lookup, s.lead_row_bytes, s.max_file_bytes)]
    orders = ImportPlan(volume.orders, s.order_row_bytes, s.max_file_bytes)
    fields = ImportPlan(volume.with_orders if s.order_fields else 0, s.order_fields_row_bytes, s.max_file_bytes)
    phases = {
        "setup (describes)": _setup(s),
        "identity: by email": lookups,
        "identity: by lookup field": lookups if s.lookup_field != "email" else 0,
        "persons: import jobs": sum(p.files for p in lead_files),
        "persons: status polls": sum(p.polls(s) for p in lead_files),
        "lead ids: by lookup field": _calls(by_lookup, RECORDS_PER_CALL),
        "custom objects: import jobs": s.custom_objects * orders.files,
        "custom objects: status polls": s.custom_objects * orders.polls(s),
        "order fields: import jobs": fields.files,
        "order fields: status polls": fields.polls(s),
    }
    reserve = sum(p.files for p in lead_files) + s.custom_objects * orders.files + fields.files
    rest_calls = (phases["setup (describes)"] + phases["identity: by email"] + phases["identity: by lookup field"]
                  + phases["lead ids: by lookup field"])
    seconds = (rest_calls / s.calls_per_second + sum(p.seconds(s) for p in lead_files)
               + s.custom_objects * orders.seconds(s) + fields.seconds(s))
    return Estimate(BULK, _with_tokens(phases, seconds), seconds, reserve,
                    notes=(f"imports at an assumed {s.import_rows_per_second:g} rows/s per job, 2 jobs at once",))


def choose(volume: PushVolume, settings: CostSettings | None = None, *, already_used: int = 0) -> Choice:
    """The method for this volume within what is left of the day's allocation.

    Only one fits: that one. Both fit: bulk when it saves at least ``bulk_min_saving`` calls, else
    REST. Neither fits: the one with the smaller budget; the reason says how many days it needs.
    """
    s = settings or CostSettings()
    left = max(0, s.daily_allocation - already_used)
    rest, bulk = estimate_rest(volume, s), estimate_bulk(volume, s)
    rest_fits, bulk_fits = rest.fits(left), bulk.fits(left)
    saving = rest.budget - bulk.budget
    if rest_fits and bulk_fits:
        if saving >= s.bulk_min_saving:
            chosen, reason = bulk, (f"both fit the {left:,} calls left today; bulk saves {saving:,} calls "
                                    f"({bulk.budget:,} against {rest.budget:,}), at least {s.bulk_min_saving:,}")
        else:
            chosen, reason = rest, (f"both fit the {left:,} calls left today; bulk would save "
                                    f"{max(saving, 0):,} calls ({bulk.budget:,} against {rest.budget:,}), "
                                    f"under {s.bulk_min_saving:,}, so REST (answers per record at once)")
    elif rest_fits or bulk_fits:
        chosen = rest if rest_fits else bulk
        other = bulk if rest_fits else rest
        reason = (f"only {chosen.method} fits the {left:,} calls left today ({chosen.budget:,}; "
                  f"{other.method} would need {other.budget:,})")
    else:
        chosen = bulk if bulk.budget < rest.budget else rest
        other = bulk if chosen is rest else rest
        reason = (f"neither fits the {left:,} calls left today; {chosen.method} needs fewer "
                  f"({chosen.budget:,} against {other.budget:,}), spread over {chosen.days(s.daily_allocation, left)} "
                  f"days of allocation: the push stops at the quota (607) and the next run continues")
    return Choice(chosen.method, chosen, bulk if chosen is rest else rest, left, reason)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"
