"""Which members and orders a push run reads: what changed since the watermark, plus the retry
set, in one composite call when nothing is due; everything, once, when there is no watermark.

The reads (see :mod:`python_tasks.push.state` for why they are complete):

* change read: ``SystemModstamp >= since AND <change stamp> >= since`` on the member and the order
  (``since`` = watermark less the overlap), the retry set by Id, and the waiting orders (a count
  and the oldest few), all as subrequests of one ``/composite`` call: an idle run is one API call;
* full read (no watermark, ``full``, or a mapping that reads other fields): every member with a
  key and every order, through the REST query below ``bulk_threshold`` rows and through Bulk API
  2.0 query above it (a handful of calls for any size, where REST takes one call per 2,000 rows).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from python_tasks.mapping import Mapping
from python_tasks.push.cache import Checkpoint
from python_tasks.push.convert import parse_sf_datetime
from python_tasks.push.salesforce_io import SalesforceIO, soql_quote

DEFAULT_OVERLAP = timedelta(minutes=5)
DEFAULT_BULK_THRESHOLD = 10_000  # rows of one object above which a full read uses Bulk API 2.0
WAITING_LISTED = 50  # the oldest waiting orders a run lists by number (the rest are counted)
IDS_PER_QUERY = 200  # ids in one ``Id IN (...)`` filter: keeps a query URL well under 16,000 characters
PUSHED_SECONDS_KEPT = 30  # seconds of recent runs' write-backs the change read compares against (runner._run_points)


@dataclass
class ChangeSet:
    members: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    org_now: datetime  # the org's clock at the read: the next watermark
    method: str  # "changes", "full (REST)" or "full (Bulk API 2.0)"
    waiting_count: int = 0
    waiting_oldest: list[dict[str, Any]] = field(default_factory=list)
    rows_read: int = 0

    @property
    def full(self) -> bool:
        return self.method not in ("changes", "events")


def soql_datetime(moment: datetime) -> str:
    """A SOQL datetime literal, rounded down to the second (reading a little more is safe)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ChangeReader:
    def __init__(self, mapping: Mapping, sf: SalesforceIO, member_fields: Sequence[str],
                 order_fields: Sequence[str], overlap: timedelta = DEFAULT_OVERLAP,
                 bulk_threshold: int = DEFAULT_BULK_THRESHOLD) -> None:
        self.m = mapping
        self.sf = sf
        self.member_fields = list(member_fields)
        self.order_fields = list(order_fields)
        self.overlap = overlap
        self.bulk_threshold = bulk_threshold

    # ------------------------------------------------------------------ the queries
    def _member_select(self) -> str:
        return f"SELECT {', '.join(self.member_fields)} FROM {self.m.member.object_name}"

    def _order_select(self) -> str:
        return f"SELECT {', '.join(self.order_fields)} FROM {self.m.order.object_name}"

    def _has_key(self) -> str:
        """A member record: it carries the member key; of a Person Account member, a person account (business
        accounts are never members); of a Lead member that converts, not a converted Lead (its Contact is the
        member now, pushed by the mapping's converted view)."""
        person = " AND IsPersonAccount = true" if self.m.member.person_account else ""
        unconverted = " AND IsConverted = false" if self.m.member.converts_to else ""
        return f"{self.m.member.key_field} != null{person}{unconverted}"

    def _waiting_queries(self) -> dict[str, str]:
        o = self.m.order
        fields = ", ".join(dict.fromkeys(["Id", o.key_field, o.member_key.sf_field, "CreatedDate"]))
        unattached = f"{o.member_lookup} = null" + (f" AND {o.converted_member_lookup} = null"
                                                     if o.converted_member_lookup else "")
        return {
            "waitingCount": f"SELECT COUNT() FROM {o.object_name} WHERE {unattached}",
            "waitingOldest": f"SELECT {fields} FROM {o.object_name} WHERE {unattached} "
                             f"ORDER BY CreatedDate ASC LIMIT {WAITING_LISTED}",
        }

    def _not_pushed_since(self, checkpoint: Checkpoint) -> str:
        """Leave out, on the server, what recent runs pushed: for a second S in which a recent run
        wrote back, a record with pushed_at >= S, its stamp < S and no error was written back after
        its last change, so it is not due: had it changed before the write-back landed, the trigger
        would have moved its stamp past the write-back (ECBridgePushStamp). SOQL compares whole
        seconds, so a record changed and pushed within one second is read again, not left out."""
        wb = self.m.write_back
        horizon = checkpoint.watermark - self.overlap if checkpoint.watermark else None
        clauses = []
        for second in checkpoint.pushed_seconds[-PUSHED_SECONDS_KEPT:]:
            if horizon is not None and second < horizon:
                continue
            at = soql_datetime(second)
            clauses.append(f" AND ({wb.error} != null OR {wb.pushed_at} = null OR {wb.pushed_at} < {at} "
                           f"OR {wb.changed_at} >= {at})")
        return "".join(clauses)

    def _retry_queries(self, checkpoint: Checkpoint | None) -> dict[str, str]:
        queries: dict[str, str] = {}
        if checkpoint is None:
            return queries
        for tag, object_name, select, extra in (
                ("retryMembers", self.m.member.object_name, self._member_select(), f" AND {self._has_key()}"),
                ("retryOrders", self.m.order.object_name, self._order_select(), "")):
            ids = checkpoint.retry_ids(object_name)
            for n, start in enumerate(range(0, len(ids), IDS_PER_QUERY)):
                quoted = ",".join(soql_quote(i) for i in ids[start:start + IDS_PER_QUERY])
                queries[f"{tag}{n}"] = f"{select} WHERE Id IN ({quoted}){extra}"
        return queries

    # ------------------------------------------------------------------ reads
    def read(self, checkpoint: Checkpoint | None, full: bool) -> ChangeSet:
        if full or checkpoint is None or checkpoint.watermark is None:
            return self._read_all()
        since = soql_datetime(checkpoint.watermark - self.overlap)
        stamp = self.m.write_back.changed_at
        changed = f"SystemModstamp >= {since} AND {stamp} >= {since}" + self._not_pushed_since(checkpoint)
        queries = {
            "members": f"{self._member_select()} WHERE {changed} AND {self._has_key()}",
            "orders": f"{self._order_select()} WHERE {changed}",
            **self._waiting_queries(),
            **self._retry_queries(checkpoint),
        }
        rows, sizes, org_now = self.sf.queries(queries)
        org_now = self._latest(org_now, *rows.values())
        members = _unique_by_id(rows["members"], *(rows[k] for k in rows if k.startswith("retryMembers")))
        orders = _unique_by_id(rows["orders"], *(rows[k] for k in rows if k.startswith("retryOrders")))
        return ChangeSet(members, orders, org_now, "changes", sizes["waitingCount"], rows["waitingOldest"],
                         rows_read=sum(len(r) for r in rows.values()))

    def read_ids(self, member_ids: Sequence[str], order_ids: Sequence[str]) -> ChangeSet:
        """Exactly these members and orders (the ids change events named), read now: the same due
        rule then decides, so an event replayed or caused by the push's own write-back pushes nothing."""
        queries = self._waiting_queries()
        for tag, select, ids, extra in (("idMembers", self._member_select(), sorted(set(member_ids)),
                                         f" AND {self._has_key()}"),
                                        ("idOrders", self._order_select(), sorted(set(order_ids)), "")):
            for n, start in enumerate(range(0, len(ids), IDS_PER_QUERY)):
                quoted = ",".join(soql_quote(i) for i in ids[start:start + IDS_PER_QUERY])
                queries[f"{tag}{n}"] = f"{select} WHERE Id IN ({quoted}){extra}"
        rows, sizes, org_now = self.sf.queries(queries)
        org_now = self._latest(org_now, *rows.values())
        members = _unique_by_id(*(rows[k] for k in rows if k.startswith("idMembers")))
        orders = _unique_by_id(*(rows[k] for k in rows if k.startswith("idOrders")))
        return ChangeSet(members, orders, org_now, "events", sizes["waitingCount"], rows["waitingOldest"],
                         rows_read=sum(len(r) for r in rows.values()))

    def _read_all(self) -> ChangeSet:
        m, o = self.m.member, self.m.order
        rows, sizes, org_now = self.sf.queries({
            "memberCount": f"SELECT COUNT() FROM {m.object_name} WHERE {self._has_key()}",
            "orderCount": f"SELECT COUNT() FROM {o.object_name}",
            **self._waiting_queries(),
        })
        bulk = max(sizes["memberCount"], sizes["orderCount"]) > self.bulk_threshold
        member_soql = f"{self._member_select()} WHERE {self._has_key()}"
        order_soql = self._order_select()
        if bulk:
            members = self.sf.bulk_query(m.object_name, member_soql, self.member_fields)
            orders = self.sf.bulk_query(o.object_name, order_soql, self.order_fields)
        else:
            members = self.sf.query_all(member_soql)
            orders = self.sf.query_all(order_soql)
        method = "full (Bulk API 2.0)" if bulk else "full (REST)"
        org_now = self._latest(org_now, members, orders)
        return ChangeSet(members, orders, org_now, method, sizes["waitingCount"], rows["waitingOldest"],
                         rows_read=len(members) + len(orders) + len(rows["waitingOldest"]))

    def _latest(self, org_now: datetime, *groups: list[dict[str, Any]]) -> datetime:
        """The read happened after every stamp it saw: the Date header is whole seconds, a stamp
        has milliseconds, so the later of the two is the closer lower bound of the org's clock."""
        latest = org_now
        for group in groups:
            for row in group:
                for name in ("SystemModstamp", self.m.write_back.changed_at):
                    value = row.get(name)
                    if value:
                        latest = max(latest, parse_sf_datetime(value))
        return latest

    def members_by_id(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return self.sf.query_in(f"{self._member_select()} WHERE Id IN ({{ids}}) AND {self._has_key()}", ids,
                                size=IDS_PER_QUERY)

    def orders_of_members(self, member_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Every order of these members (the last-order fields need the newest pushed one)."""
        lookup = self.m.order.member_lookup
        return self.sf.query_in(f"{self._order_select()} WHERE {lookup} IN ({{ids}})", member_ids,
                                size=IDS_PER_QUERY)


def _unique_by_id(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for group in groups:
        for row in group:
            seen.setdefault(row["Id"], row)
    return list(seen.values())
