"""The dedupe plan as a page a reviewer decides from: one card per cluster, no JavaScript, printable.

Each card sets the winner and the losers side by side (key fields, how each is synced, created and
updated dates, activity counts) with a column of the values the merge keeps; values that differ
between the persons are highlighted. A summary on top counts clusters and persons by the rule that
joined them and by size, and radio buttons filter the cards by rule and size with CSS alone
(``:checked ~``). The reviewer's decision goes into plan.csv's ``decision`` column (see decisions).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, select_autoescape

from python_tasks.dedupe.clusters import Cluster
from python_tasks.dedupe.persons import CONTACT, LEAD, MARKETO_ONLY, Person
from python_tasks.dedupe.plan import DEFAULT_DECISION, MERGE, SUPERSEDED_FIELD, PlannedCluster, action_text

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE = "plan.html.j2"

SYNC_KIND = {CONTACT: "CRM contact", LEAD: "CRM lead", MARKETO_ONLY: "Marketo-only"}
RULE_EMAIL = "email"
RULE_MEMBER = "member key"
RULE_LINKED = "recorded by push"
RULES = (RULE_EMAIL, RULE_MEMBER, RULE_LINKED)
SIZES = ("2", "3", "4+")
# Fields shown first, in this order; the others of the cluster follow alphabetically.
LEADING_FIELDS = ("email", "firstName", "lastName")
HIDDEN_FIELDS = {"id", "createdAt", "updatedAt", "sfdcType", "sfdcLeadId", "sfdcContactId", "sfdcAccountId"}


def cluster_rule(cluster: Cluster) -> str:
    """What joined the cluster: one email, one member key, or a link push_marketo recorded."""
    emails = {p.email_key for p in cluster.persons}
    if len(emails) == 1 and None not in emails:
        return RULE_EMAIL
    if any(k.startswith("member:") for k in cluster.keys):
        return RULE_MEMBER
    return RULE_LINKED


def size_band(size: int) -> str:
    return str(size) if size < 4 else "4+"


def css_name(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-").replace("--", "-") or "x"


def shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Column:
    person_id: int
    role: str  # winner | loser
    sync_kind: str
    sync_detail: str
    action: str


@dataclass
class Row:
    label: str
    cells: list[str]
    kept: str | None  # what the merge keeps; None when the row is not a merged value
    differs: bool
    changed: bool = False  # the kept value is a loser's, filled into the winner


@dataclass
class Card:
    key: str
    rule: str
    size: int
    band: str
    policy: str
    reason: str
    decision: str
    columns: list[Column]
    rows: list[Row]
    kept_reason: str = ""
    changes: int = 0

    @property
    def winner(self) -> Column:
        return next(c for c in self.columns if c.role == "winner")

    @property
    def css(self) -> str:
        return f"card rule-{css_name(self.rule)} size-{css_name(self.band)}" + (" skipped" if self.decision != DEFAULT_DECISION else "")


@dataclass
class Summary:
    clusters: int = 0
    persons: int = 0
    changes: int = 0
    by_rule: dict[str, list[int]] = field(default_factory=dict)  # rule -> [clusters, persons]
    by_size: dict[str, list[int]] = field(default_factory=dict)
    by_sync: dict[str, int] = field(default_factory=dict)
    skipped: int = 0


def _values_row(label: str, persons: Sequence[Person], name: str, kept: object, changed: bool) -> Row:
    cells = [shown(p.values.get(name)) for p in persons]
    distinct = {c.strip().lower() for c in cells if c.strip()}
    return Row(label, cells, shown(kept), len(distinct) > 1 or (bool(distinct) and "" in [c.strip() for c in cells]),
               changed)


def card_of(planned: PlannedCluster, activities: Mapping[int, int] | None, decision: str) -> Card:
    cluster = planned.cluster
    persons = cluster.persons
    winner = planned.winner
    merging = planned.policy == MERGE
    fill = {c.field: c.after for c in planned.changes if c.person_id == winner.id}
    names = sorted({f for p in persons for f in p.values} - HIDDEN_FIELDS - set(LEADING_FIELDS) - {SUPERSEDED_FIELD})
    rows = []
    for name in [*LEADING_FIELDS, *names, SUPERSEDED_FIELD]:
        if name == SUPERSEDED_FIELD and not any(p.values.get(name) for p in persons) and merging:
            continue
        if merging:
            kept, changed = (fill[name], True) if name in fill else (winner.values.get(name), False)
        else:
            kept, changed = None, False
        rows.append(_values_row(name, persons, name, kept, changed))
    created = [p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else "" for p in persons]
    updated = [p.updated_at.strftime("%Y-%m-%d %H:%M") if p.updated_at else "" for p in persons]
    rows.append(Row("created", created, None, len(set(created)) > 1))
    rows.append(Row("updated", updated, None, len(set(updated)) > 1))
    if activities is not None:
        counts = [str(activities.get(p.id, 0)) for p in persons]
        total = str(sum(activities.get(p.id, 0) for p in persons))
        rows.append(Row("activities", counts, total if merging else None, len(set(counts)) > 1))
    columns = [Column(p.id, "winner" if p.id == winner.id else "loser", SYNC_KIND.get(p.origin, p.origin),
                      p.describe_origin(), action_text(planned, p)) for p in persons]
    return Card(planned.key, cluster_rule(cluster), len(persons), size_band(len(persons)), planned.policy,
                cluster.reason, decision, columns, rows, planned.kept_reason, len(planned.changes))


def summarise(cards: Sequence[Card]) -> Summary:
    summary = Summary(by_rule={r: [0, 0] for r in RULES}, by_size={s: [0, 0] for s in SIZES},
                      by_sync={k: 0 for k in SYNC_KIND.values()})
    for card in cards:
        summary.clusters += 1
        summary.persons += card.size
        summary.changes += card.changes
        summary.by_rule[card.rule][0] += 1
        summary.by_rule[card.rule][1] += card.size
        summary.by_size[card.band][0] += 1
        summary.by_size[card.band][1] += card.size
        for column in card.columns:
            summary.by_sync[column.sync_kind] = summary.by_sync.get(column.sync_kind, 0) + 1
        summary.skipped += card.decision != DEFAULT_DECISION
    return summary


def render_html(plan: Sequence[PlannedCluster], *, title: str = "ECBridge dedupe plan",
                activities: Mapping[int, int] | None = None, decisions: Mapping[str, str] | None = None,
                csv_name: str = "plan.csv", note: str = "") -> str:
    cards = [card_of(p, activities, (decisions or {}).get(p.key, DEFAULT_DECISION)) for p in plan]
    environment = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html", "j2"]))
    context: dict[str, Any] = {
        "title": title, "cards": cards, "summary": summarise(cards), "rules": RULES, "sizes": SIZES,
        "css_name": css_name, "csv_name": csv_name, "default_decision": DEFAULT_DECISION,
        "activities_counted": activities is not None, "note": note,
    }
    return environment.get_template(TEMPLATE).render(**context)


def write_html(plan: Sequence[PlannedCluster], path: Path, *, title: str = "ECBridge dedupe plan",
               activities: Mapping[int, int] | None = None, decisions: Mapping[str, str] | None = None,
               note: str = "") -> Path:
    """``note``: how the persons were read (the scan method), shown under the title."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(plan, title=title, activities=activities, decisions=decisions, note=note),
                    encoding="utf-8")
    return path
