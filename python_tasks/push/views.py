"""The member views one push covers. A mapping's member is one object, except a Lead member that
converts (``member.converts_to: Contact``): its unconverted Leads are members, and so are the
Contacts converted Leads became (``Mapping.converted_view``: the Contact is the member, the order's
Contact lookup its member lookup). A push runs once per view, each with its own watermark and retry
set (``PushCache`` per view), so neither view's reads move the other's watermark. The Contact
carries the Lead's Marketo id (the generated Lead trigger copies it at conversion), so the same
Marketo person is updated, by id, and never created twice.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Sequence

from python_tasks.mapping import Mapping
from python_tasks.push.runner import PushSummary

#: the suffix of a view's push state (``PushCache`` org id part); the member view has none
CONVERTED = "converted"


def push_views(mapping: Mapping) -> list[tuple[str, Mapping]]:
    """``[("", mapping)]``, plus ``("converted", the converted view)`` when members convert."""
    converted = mapping.converted_view()
    return [("", mapping)] + ([(CONVERTED, converted)] if converted is not None else [])


def merge_summaries(summaries: Sequence[PushSummary]) -> PushSummary:
    """One push's summary over its views: counts added, lists joined, texts from the first view that
    set them. The waiting orders are the same query in every view (an order waits while neither
    member lookup is set): taken once."""
    merged = PushSummary()
    for summary in summaries:
        for f in fields(PushSummary):
            if f.name in ("waiting", "waiting_total"):
                continue
            mine, theirs = getattr(merged, f.name), getattr(summary, f.name)
            if isinstance(mine, list):
                setattr(merged, f.name, [*mine, *theirs])
            elif isinstance(mine, int):
                setattr(merged, f.name, mine + theirs)
            elif not mine:
                setattr(merged, f.name, theirs)
    if summaries:
        merged.waiting, merged.waiting_total = summaries[0].waiting, summaries[0].waiting_total
    return merged
