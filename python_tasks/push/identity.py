"""Find the Marketo person each push goes to, so a person is never created twice.

Before creating anyone the push looks persons up by the mapping's lookup field, by normalised
email and by the Marketo id already written back on the member. Then, per identity key:

* no match: create (``createOnly`` with the lookup field, so a person created meanwhile by
  someone else is answered "1005 already exists" instead of duplicated; the push then looks it up
  again and updates it);
* one match: update that person by id;
* several matches (what Marketo would answer 1007 for): the best candidate by the dedupe winner
  rule (:mod:`python_tasks.dedupe.winner`) gets the write and the cluster is recorded for
  ``marketo_dedupe``;
* a match marked ``ecbSupersededBy`` by the dedupe ``mark`` policy is replaced by the person that
  supersedes it.

Within one run each identity key is written by exactly one request (members sharing a key are
grouped first), so the run cannot race itself. Across two runs started at the same moment for the
same new email, both may see "no match" and both send ``createOnly``; Marketo documents that two
near-simultaneous creates can both succeed. The push task therefore takes a lock file per
Marketo instance (``.ecbridge/push-<host>.lock``) so two runs on one machine cannot overlap; runs
from different machines must be scheduled not to overlap (one ``watch`` process, or one CI
schedule), and ``marketo_dedupe`` repairs what a violation would leave.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from python_tasks.dedupe.keys import normalise_email
from python_tasks.dedupe.persons import PERSON_FIELDS, Person, person_from_lead
from python_tasks.dedupe.winner import WinnerRule
from python_tasks.push.build import PersonWrite

@dataclass
class Resolution:
    target: int | None  # Marketo lead id to update, None to create
    candidates: list[int] = field(default_factory=list)
    reason: str = ""
    routed_from: int | None = None  # a superseded person the write was routed away from


@dataclass
class DuplicateCluster:
    key: str
    candidates: list[int]
    chosen: int
    reason: str


def lookup_fields(lookup_field: str, member_key_field: str | None) -> list[str]:
    fields = list(PERSON_FIELDS)
    for extra in (lookup_field, member_key_field):
        if extra and extra not in fields:
            fields.append(extra)
    return fields


class IdentityResolver:
    def __init__(self, marketo: Any, lookup_field: str, rule: WinnerRule,
                 member_key_field: str | None = None, extra_fields: Sequence[str] = ()) -> None:
        self.marketo = marketo
        self.lookup_field = lookup_field
        self.rule = rule
        self.member_key_field = member_key_field
        self.fields = lookup_fields(lookup_field, member_key_field)
        self.fields += [f for f in extra_fields if f not in self.fields]  # e.g. consent: unsubscribed
        self.leads: dict[int, dict[str, Any]] = {}  # every person the last resolve read, by id
        self._clusters: dict[tuple[str, tuple[int, ...]], DuplicateCluster] = {}

    @property
    def clusters(self) -> list[DuplicateCluster]:
        """Each cluster met in this run once (a person looked up again, e.g. after a create that answered
        'already exists', meets the same cluster again: the later sighting is kept)."""
        return list(self._clusters.values())

    def _read(self, filter_type: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(v for v in values if v not in (None, "")))
        if unique:
            out.extend(self.marketo.get_leads_by_filter(filter_type, unique, self.fields))
        return out

    def resolve(self, persons: Sequence[PersonWrite]) -> dict[str, Resolution]:
        by_id: dict[int, dict[str, Any]] = {}
        for lead in self._read("email", [p.email_key for p in persons if p.email_key]):
            by_id[int(lead["id"])] = lead
        if self.lookup_field != "email":
            for lead in self._read(self.lookup_field, [p.lookup_value for p in persons]):
                by_id[int(lead["id"])] = lead
        known = [i for p in persons for i in p.known_marketo_ids if i not in by_id]
        for lead in self._read("id", known):
            by_id[int(lead["id"])] = lead
        superseding = [int(l["ecbSupersededBy"]) for l in by_id.values()
                       if l.get("ecbSupersededBy") and int(l["ecbSupersededBy"]) not in by_id]
        for lead in self._read("id", superseding):
            by_id[int(lead["id"])] = lead
        by_email: dict[str, list[int]] = {}
        by_lookup: dict[str, list[int]] = {}
        for lead_id, lead in by_id.items():
            email = normalise_email(lead.get("email"))
            if email:
                by_email.setdefault(email, []).append(lead_id)
            if self.lookup_field != "email" and lead.get(self.lookup_field) not in (None, ""):
                by_lookup.setdefault(str(lead[self.lookup_field]).strip(), []).append(lead_id)
        self.leads = by_id
        persons_by_id = {i: person_from_lead(l, self.member_key_field) for i, l in by_id.items()}
        return {p.key: self._decide(p, by_email, by_lookup, persons_by_id) for p in persons}

    def _decide(self, person: PersonWrite, by_email: dict[str, list[int]], by_lookup: dict[str, list[int]],
                persons_by_id: dict[int, Person]) -> Resolution:
        ids: list[int] = []
        if person.email_key:
            ids += by_email.get(person.email_key, [])
        if self.lookup_field != "email" and person.lookup_value not in (None, ""):
            ids += by_lookup.get(str(person.lookup_value).strip(), [])
        ids += [i for i in person.known_marketo_ids if i in persons_by_id]
        routed_from = None
        resolved: list[int] = []
        for lead_id in dict.fromkeys(ids):
            winner = persons_by_id[lead_id].superseded_by
            if winner and winner in persons_by_id:
                routed_from = lead_id
                lead_id = winner
            if lead_id not in resolved:
                resolved.append(lead_id)
        if not resolved:
            return Resolution(None)
        if len(resolved) == 1:
            return Resolution(resolved[0], resolved, "single match", routed_from)
        chosen, reason = self.rule.pick([persons_by_id[i] for i in resolved])
        cluster = DuplicateCluster(person.key, sorted(resolved), chosen.id, reason)
        self._clusters[(cluster.key, tuple(cluster.candidates))] = cluster
        return Resolution(chosen.id, resolved, f"{len(resolved)} matches: {reason}", routed_from)
