"""Group Marketo persons into duplicate clusters.

Two persons belong to one cluster when their normalised emails are equal, or (with
``by_member_key``) when their EC member keys are equal; the relation is transitive (union-find),
so a person sharing an email with one person and a member key with another joins both into a
single cluster. Persons without any key are never clustered.

The clusters push_marketo recorded (``links``) join persons only while the data still says so:
a linked id joins only when that person, as scanned now, still has the recorded identity key.
Recorded ids can be stale (a reset sandbox, ids reused, a person changed since), and a stale link
must never merge two different people.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from python_tasks.dedupe.keys import identity_key
from python_tasks.dedupe.persons import Person
from python_tasks.dedupe.winner import WinnerRule


@dataclass
class Cluster:
    key: str
    persons: list[Person]
    winner: Person
    losers: list[Person]
    reason: str
    keys: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [p.id for p in self.persons]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        self.parent.setdefault(item, item)
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_clusters(
    persons: Iterable[Person],
    rule: WinnerRule,
    *,
    by_member_key: bool = False,
    links: Iterable[tuple[str, Sequence[int]]] = (),
) -> list[Cluster]:
    """Every group of two or more persons sharing a key, with its winner, sorted by key.

    ``links`` are ``(identity key, person ids)`` pairs push_marketo recorded when a lookup matched
    several persons; an id joins only if it is among ``persons`` and still has that key."""
    by_id: dict[int, Person] = {}
    first_with_key: dict[str, int] = {}
    uf = _UnionFind()
    for person in persons:
        by_id[person.id] = person
        keys = []
        if person.email_key:
            keys.append("email:" + person.email_key)
        if by_member_key and person.member_key_norm:
            keys.append("member:" + person.member_key_norm)
        for key in keys:
            if key in first_with_key:
                uf.union(first_with_key[key], person.id)
            else:
                first_with_key[key] = person.id
                uf.find(person.id)
    for key, group in links:
        present = [i for i in group if i in by_id and has_identity_key(by_id[i], key)]
        for other in present[1:]:
            uf.union(present[0], other)
    groups: dict[int, list[Person]] = {}
    for person_id in by_id:
        if person_id in uf.parent:
            groups.setdefault(uf.find(person_id), []).append(by_id[person_id])
    clusters = []
    for members in groups.values():
        if len(members) < 2:
            continue
        winner, reason = rule.pick(members)
        ranked = rule.rank(members)
        keys = _keys_of(members, by_member_key)
        clusters.append(
            Cluster(
                key=keys[0],
                persons=ranked,
                winner=winner,
                losers=[p for p in ranked if p.id != winner.id],
                reason=reason,
                keys=keys,
            )
        )
    clusters.sort(key=lambda c: c.key)
    return clusters


def has_identity_key(person: Person, key: str) -> bool:
    """Whether ``person`` is known by ``key`` (``"<lookupField>:<value>"``, as push_marketo records it)."""
    lookup_field, _, _ = key.partition(":")
    value = person.email if lookup_field == "email" else person.values.get(lookup_field)
    return identity_key(lookup_field, value) == key


def _keys_of(members: Sequence[Person], by_member_key: bool) -> list[str]:
    keys = sorted({p.email_key for p in members if p.email_key})
    out = ["email:" + k for k in keys] or ["id:" + str(min(p.id for p in members))]
    if by_member_key:
        out += ["member:" + k for k in sorted({p.member_key_norm for p in members if p.member_key_norm})]
    return out
