"""The end-to-end report's pictures, drawn from the ``journey`` figures of its JSON (journey.py)."""
from __future__ import annotations

from typing import Any, Mapping

from markupsafe import Markup

from python_tasks.reporting.svg import Span, bar_chart, gauge, timeline

STATUS_COLORS = {"created": "#1a7f37", "updated": "#0969da", "unchanged": "#57606a", "stale": "#9a6700",
                 "rejected": "#cf222e"}


def journey_charts(journey: Mapping[str, Any]) -> dict[str, Markup]:
    charts: dict[str, Markup] = {}
    arrival = journey.get("arrival") or {}
    if arrival:
        charts["arrivalOrder"] = bar_chart("arrivalOrder", "Orders answered before or after their member", {
            "after their member": arrival.get("ordersAfterTheirMember", 0),
            "before their member": arrival.get("ordersBeforeTheirMember", 0),
            "not answered": arrival.get("ordersNotAnswered", 0),
        }, colors={"after their member": "#1a7f37", "before their member": "#9a6700", "not answered": "#cf222e"})
        waited = arrival.get("waited") or []
        if waited:
            charts["arrivalTimeline"] = timeline(
                "arrivalTimeline", "Orders that came before their member: answered, then attached",
                [Span(w["order"], w["orderAt"], w["attachedAt"], f"(order {w['order']})",
                      f"(member {w['member']} registered)") for w in waited],
                start_name="order answered", end_name="attached (member answered)")
    if journey.get("statuses"):
        charts["statuses"] = bar_chart("statuses", "Endpoint answers by status", journey["statuses"],
                                       colors=STATUS_COLORS)
    for side, figures in (journey.get("limits") or {}).items():
        charts[f"limit-{side}"] = gauge(f"limit-{side}", f"{side}: {figures['what']}", figures["used"],
                                        figures["limit"])
    dupes = journey.get("duplicates")
    if dupes:
        charts["duplicates"] = bar_chart("duplicates", "Duplicate-scenario persons before and after the merge", {
            "persons before": dupes["personsBefore"], "persons after": dupes["personsAfter"],
        }, colors={"persons before": "#9a6700", "persons after": "#1a7f37"})
    return charts
