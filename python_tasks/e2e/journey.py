"""The figures the end-to-end report draws: arrival order, statuses, calls against limits, duplicates.

All of them are computed here, once, from the seeding receipt and the comparison, and written into
the report's JSON under ``journey``; the page draws exactly these figures (the tests hold it to that).

* arrival: the time each order and its member's registration were first answered (from the
  receipt's call lines). An order answered before its member waits in Salesforce and is attached
  when the member's registration arrives, so its attach time is its member's answer; an order
  answered after its member is attached at once.
* statuses: the endpoint's per-event answers (created, updated, unchanged, stale, rejected).
* limits: Salesforce's daily API requests (the org's /limits, used and max) and the Marketo calls
  this run counted against Marketo's daily quota (50,000 calls by default; a setting).
* duplicates: the duplicate scenario's persons before the merge and after it.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from python_tasks.seed.receipt import Receipt

from .compare import Comparison, DuplicateScenarioPerson

MARKETO_DAILY_QUOTA = 50_000  # Marketo's default subscription quota (calls per day)
TIMELINE_ROWS = 40  # the orders drawn on the arrival chart (all are counted)


def _time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None


def first_answers(receipt: Receipt) -> dict[str, dt.datetime]:
    """When each event was first answered 200, from the receipt's call lines."""
    answered: dict[str, dt.datetime] = {}
    for call in receipt.calls:
        at = _time(call.get("at"))
        if at is None or call.get("httpStatus") != 200:
            continue
        for result in call.get("results") or []:
            event_id = str(result.get("id"))
            if event_id not in answered or at < answered[event_id]:
                answered[event_id] = at
    return answered


def arrival(receipt: Receipt) -> dict[str, Any]:
    answered = first_answers(receipt)
    start = min(answered.values(), default=None)
    member_at = {p.key: answered.get(p.event.id) for p in receipt.events if p.scenario == "member"}
    rows = []
    before = after = same_call = unknown = 0
    for planned in receipt.events:
        if planned.scenario != "order":
            continue
        order_at = answered.get(planned.event.id)
        member = member_at.get(planned.member_key or "")
        if order_at is None or member is None or start is None:
            unknown += 1
            continue
        if planned.register_and_buy:
            same_call += 1
        if order_at < member:
            before += 1
            rows.append({"order": planned.key, "member": planned.member_key,
                         "orderAt": round((order_at - start).total_seconds(), 3),
                         "attachedAt": round((member - start).total_seconds(), 3)})
        else:
            after += 1
    rows.sort(key=lambda r: (r["orderAt"] - r["attachedAt"], r["order"]))
    return {
        "orders": before + after + unknown,
        "ordersBeforeTheirMember": before,
        "ordersAfterTheirMember": after,
        "ordersInTheirMembersCall": same_call,
        "ordersNotAnswered": unknown,
        "longestWaitSeconds": max((r["attachedAt"] - r["orderAt"] for r in rows), default=0),
        "waited": rows[:TIMELINE_ROWS],
    }


def statuses(seed_summary: Mapping[str, Any]) -> dict[str, int]:
    raw = seed_summary.get("statuses") or {}
    order = ["created", "updated", "unchanged", "stale", "rejected"]
    known = {name: int(raw.get(name, 0)) for name in order}
    return {**known, **{k: int(v) for k, v in sorted(raw.items()) if k not in known}}


def _marketo_calls(api_calls: Mapping[str, Any]) -> int:
    """Every Marketo call the run counted: seeding, the flow's steps and the check (not per-endpoint lines)."""
    side = api_calls.get("marketo") or {}
    return sum(int(v) for k, v in side.items() if isinstance(v, int) and (k == "check" or k.endswith(" calls")))


def limits(api_calls: Mapping[str, Any], marketo_daily_quota: int = MARKETO_DAILY_QUOTA) -> dict[str, Any]:
    salesforce = api_calls.get("salesforce") or {}
    out: dict[str, Any] = {}
    if "org daily API requests max" in salesforce:
        out["salesforce"] = {"used": int(salesforce["org daily API requests used"]),
                             "limit": int(salesforce["org daily API requests max"]), "what": "daily API requests"}
    marketo = _marketo_calls(api_calls)
    if api_calls.get("marketo"):
        out["marketo"] = {"used": marketo, "limit": marketo_daily_quota, "what": "calls this run, of the daily quota"}
    return out


def duplicates(people: Sequence[DuplicateScenarioPerson], comparison: Comparison) -> dict[str, int]:
    before = len(people) + sum(1 for p in people if p.crm_person_id is not None)
    merged = comparison.counts.get("duplicate-scenario persons merged", 0)
    return {
        "emails": len({p.email.strip().lower() for p in people}),
        "personsBefore": before,
        "personsAfter": before - merged,
        "merged": merged,
        "marked": comparison.counts.get("duplicate-scenario persons marked", 0),
        "keptAsTheOnePerson": comparison.counts.get("duplicate-scenario persons kept as the one person", 0),
    }


def journey(receipt: Receipt, comparison: Comparison, api_calls: Mapping[str, Any],
            people: Sequence[DuplicateScenarioPerson], *, marketo_daily_quota: int = MARKETO_DAILY_QUOTA,
            marketo_checked: bool = True) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "arrival": arrival(receipt),
        "statuses": statuses(receipt.summary),
        "limits": limits(api_calls, marketo_daily_quota),
    }
    if people and marketo_checked:
        figures["duplicates"] = duplicates(people, comparison)
    return figures
