"""Which person of a duplicate cluster survives.

The default follows Marketo's own CRM rule and the field experience behind ECBridge: a person
synced with a Salesforce **contact** beats one synced with a Salesforce **lead**, which beats a
**Marketo-only** person (form fills, list imports, API). Ties go to the most recently updated
person, then to the lowest id (the oldest record) so the choice is deterministic.

Configurable through the ``winner_rule`` task option, for example::

    contact>lead>marketo_only;updated      (the default)
    contact>lead>marketo_only;created      ties go to the oldest person (first created)
    marketo_only>contact>lead;updated      keep the Marketo-only person

Push uses the same rule when a lookup matches several persons, so push and dedupe never disagree
about who the person is.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from python_tasks.dedupe.persons import ORIGINS, Person

TIE_BREAKS = {
    "updated": "most recently updated",
    "created": "first created",
    "id": "lowest id",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class WinnerRuleError(ValueError):
    """The winner_rule option does not parse."""


@dataclass(frozen=True)
class WinnerRule:
    origin_order: tuple[str, ...] = ("contact", "lead", "marketo_only")
    tie_break: str = "updated"

    @classmethod
    def parse(cls, text: str | None) -> "WinnerRule":
        if not text or not str(text).strip():
            return cls()
        order_text, _, tie = str(text).partition(";")
        order = tuple(part.strip().lower() for part in order_text.split(">") if part.strip())
        unknown = [part for part in order if part not in ORIGINS]
        if unknown or len(set(order)) != len(order) or set(order) != set(ORIGINS):
            raise WinnerRuleError(
                f"winner_rule {text!r}: the origin order must name each of {', '.join(ORIGINS)} "
                f"exactly once, separated by '>' (for example 'contact>lead>marketo_only;updated')"
            )
        tie = tie.strip().lower() or "updated"
        if tie not in TIE_BREAKS:
            raise WinnerRuleError(
                f"winner_rule {text!r}: tie break {tie!r} is not one of {', '.join(TIE_BREAKS)}"
            )
        return cls(order, tie)

    def __str__(self) -> str:
        return ">".join(self.origin_order) + ";" + self.tie_break

    def sort_key(self, person: Person) -> tuple:
        rank = self.origin_order.index(person.origin)
        if self.tie_break == "updated":
            tie = -(person.updated_at or _EPOCH).timestamp()
        elif self.tie_break == "created":
            tie = (person.created_at or datetime.max.replace(tzinfo=timezone.utc)).timestamp()
        else:
            tie = 0.0
        return (rank, tie, person.id)

    def rank(self, persons: Sequence[Person]) -> list[Person]:
        """The persons best first."""
        return sorted(persons, key=self.sort_key)

    def pick(self, persons: Sequence[Person]) -> tuple[Person, str]:
        """The winner and a sentence saying why it won."""
        if not persons:
            raise ValueError("cannot pick a winner of an empty cluster")
        ranked = self.rank(persons)
        winner = ranked[0]
        return winner, self.explain(winner, ranked[1:])

    def explain(self, winner: Person, losers: Sequence[Person]) -> str:
        if not losers:
            return "only person"
        same_origin = [p for p in losers if p.origin == winner.origin]
        parts = [f"{winner.describe_origin()}"]
        beaten = sorted({p.origin for p in losers if p.origin != winner.origin},
                        key=self.origin_order.index)
        if beaten:
            parts.append("beats " + ", ".join(o.replace("_", "-") for o in beaten))
        if same_origin:
            parts.append(f"{TIE_BREAKS[self.tie_break]} among {winner.origin.replace('_', '-')} persons")
        return "; ".join(parts)
