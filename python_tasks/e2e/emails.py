"""The render check: Marketo's sample order email, as each sampled person receives it, shows their orders.

    targets = email_targets(sf_snapshot, marketo_snapshot, schema, sample, seed)   (pure)
    rendered = render_emails(asset_api, email_id, targets)                         (I/O: fullContent.json?leadId=)
    preview = compare_emails(rendered, sf_snapshot, marketo_snapshot, schema, spec, comparison)   (pure)

For each person: the last order number and last product name (Salesforce's newest order) are in the
HTML; the order rows are the person's orders Marketo can hand the script (the most recently updated
``co_limit`` custom object records), newest order date first, each with its date in the mapping's zone
and format, its products and its total in the mapping's currency format; a person without orders gets
the mapping's fallback text; no raw ``$`` reference or ``{{`` token is left anywhere.
The formatting here is an independent implementation (Python, not the engine's), so it cross-checks.
"""
from __future__ import annotations

import datetime as dt
import html
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from html.parser import HTMLParser
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from python_tasks.mapping import EmailMapping
from python_tasks.seed.schema import PayloadSchema

from .compare import Comparison, MarketoSnapshot, SalesforceSnapshot, normalise_email

RAW_TOKEN = re.compile(r"\{\{|\}\}|\$!?\{?[A-Za-z_]")
ROW_CELLS = ("ecb-order-number", "ecb-order-date", "ecb-products", "ecb-total")
LAST_ORDER_SPANS = {"last order number": "ecb-last-order-number", "last product name": "ecb-last-product"}
DEFAULT_CO_LIMIT = 10  # Marketo's documented default: 10 most recently updated records per object and person


@dataclass(frozen=True)
class EmailTarget:
    member_key: str
    member_id: str  # Salesforce Id
    lead_id: int


@dataclass
class RenderedEmail:
    target: EmailTarget
    html: str | None
    error: str | None = None


# ---------------------------------------------------------------- who
def _lead_by_email(mkto: MarketoSnapshot) -> dict[str, dict[str, Any]]:
    by_email: dict[str, dict[str, Any]] = {}
    for lead in mkto.leads:
        if not lead.get("ecbSupersededBy"):
            by_email.setdefault(normalise_email(lead.get("email")), lead)
    return by_email


def email_targets(sf: SalesforceSnapshot, mkto: MarketoSnapshot, schema: PayloadSchema,
                  sample: int = 0, seed: str = "") -> list[EmailTarget]:
    """Members that have a Marketo person; all of them (sample 0) or ``sample`` chosen by ``seed``.

    A sample keeps persons without orders in their share, so the fallback is seen whenever it exists.
    """
    key_field = schema.sf_member_field(schema.member_key)
    email_field = schema.sf_member_field(schema.member_email)
    leads = _lead_by_email(mkto)
    targets = []
    for member in sorted(sf.members, key=lambda row: str(row.get(key_field))):
        lead = leads.get(normalise_email(member.get(email_field)))
        if lead is not None and lead.get("id") is not None:
            targets.append(EmailTarget(str(member.get(key_field)), str(member.get("Id")), int(lead["id"])))
    if sample <= 0 or sample >= len(targets):
        return targets
    with_orders = {str(o.get(schema.order_member_lookup))[:15] for o in sf.orders if o.get(schema.order_member_lookup)}
    rng = random.Random(seed)
    buying = [t for t in targets if t.member_id[:15] in with_orders]
    not_buying = [t for t in targets if t.member_id[:15] not in with_orders]
    from_not_buying = min(len(not_buying), max(1 if not_buying else 0, round(sample * len(not_buying) / len(targets))))
    chosen = rng.sample(not_buying, from_not_buying) + rng.sample(buying, min(len(buying), sample - from_not_buying))
    return sorted(chosen, key=lambda t: t.member_key)


def render_emails(api: Any, email_id: int, targets: Iterable[EmailTarget]) -> list[RenderedEmail]:
    """``GET /rest/asset/v1/email/{id}/fullContent.json?leadId=`` for each person (read-only)."""
    rendered = []
    for target in targets:
        try:
            rendered.append(RenderedEmail(target, str(api.full_content(email_id, target.lead_id).get("content") or "")))
        except Exception as error:  # noqa: BLE001 - a failed render is a finding about that person, not a crash
            rendered.append(RenderedEmail(target, None, f"{type(error).__name__}: {error}"))
    return rendered


# ---------------------------------------------------------------- formatting (SimpleDateFormat, DecimalFormat)
_DATE_FIELDS = {"yyyy": "{0.year:04d}", "yy": "{yy:02d}", "MM": "{0.month:02d}", "M": "{0.month}", "dd": "{0.day:02d}",
                "d": "{0.day}", "HH": "{0.hour:02d}", "H": "{0.hour}", "mm": "{0.minute:02d}", "m": "{0.minute}",
                "ss": "{0.second:02d}", "s": "{0.second}"}


def format_date(pattern: str, moment: dt.datetime) -> str:
    """The subset of Java's SimpleDateFormat an order date needs; other letters are refused."""
    out = []
    for run in re.finditer(r"'[^']*'|([A-Za-z])\1*|.", pattern):
        token = run.group(0)
        if token.startswith("'"):
            out.append(token[1:-1] or "'")
        elif token[0].isalpha():
            if token not in _DATE_FIELDS:
                raise ValueError(f"date pattern {pattern!r}: {token!r} is not checked by ec_e2e_check")
            out.append(_DATE_FIELDS[token].format(moment, yy=moment.year % 100))
        else:
            out.append(token)
    return "".join(out)


def format_amount(pattern: str, value: Any) -> str:
    """DecimalFormat's prefix + grouping + fixed decimals, HALF_EVEN; enough for '¥#,##0' or '$#,##0.00'."""
    match = re.fullmatch(r"([^#0,.]*)([#0,]+)(?:\.(0*)#*)?([^#0,.]*)", pattern)
    if match is None:
        raise ValueError(f"currency pattern {pattern!r} is not checked by ec_e2e_check")
    prefix, integer, decimals, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-len(decimals)), rounding=ROUND_HALF_EVEN)
    text = f"{abs(number):,.{len(decimals)}f}" if "," in integer else f"{abs(number):.{len(decimals)}f}"
    return ("-" if number < 0 else "") + prefix + text + suffix


def _moment(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _as_script_sees_it(moment: dt.datetime | None, instance_zone: ZoneInfo) -> dt.datetime | None:
    """Marketo hands a script the datetime as local text of its instance zone, without an offset: in the
    hour a year that the clocks fall back, reading it back gives the first of the two instants."""
    if moment is None:
        return None
    return moment.astimezone(instance_zone).replace(tzinfo=None).replace(tzinfo=instance_zone, fold=0)


# ---------------------------------------------------------------- reading the HTML
class _Rows(HTMLParser):
    """Text of the generated table's cells, by class, one dict per ``tr.ecb-order``; the last-order spans."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, str]] = []
        self.spans: dict[str, str] = {}
        self._cell: str | None = None
        self._span: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        span = next((c for c in classes if c in LAST_ORDER_SPANS.values()), None)
        if span:
            self._span = span
            self.spans[span] = ""
        if tag == "tr" and "ecb-order" in classes:
            self.rows.append({})
        elif tag == "td" and self.rows:
            self._cell = next((c for c in classes if c in ROW_CELLS), None)
            if self._cell:
                self.rows[-1][self._cell] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag == "span":
            self._span = None

    def handle_data(self, data: str) -> None:
        if self._span:
            self.spans[self._span] += data
        if self._cell and self.rows:
            self.rows[-1][self._cell] += data


def order_rows(content: str) -> list[dict[str, str]]:
    parser = _Rows()
    parser.feed(content)
    return [{k: v.strip() for k, v in row.items()} for row in parser.rows]


def last_order_spans(content: str) -> dict[str, str]:
    """The generated email's last-order spans by label (none in an email without them)."""
    parser = _Rows()
    parser.feed(content)
    return {label: parser.spans[css].strip() for label, css in LAST_ORDER_SPANS.items() if css in parser.spans}


def visible_text(content: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<!--.*?-->|<(style|script)[^>]*>.*?</\1>", "", content)))


# ---------------------------------------------------------------- the comparison
def compare_emails(rendered: list[RenderedEmail], sf: SalesforceSnapshot, mkto: MarketoSnapshot, schema: PayloadSchema,
                   spec: EmailMapping, result: Comparison, co_limit: int = DEFAULT_CO_LIMIT) -> dict[str, Any] | None:
    """Add counts and mismatches; return one rendered email to show in the report (one with orders if any)."""
    zone = ZoneInfo(spec.time_zone)
    number_field, product_field = schema.sf_order_field(schema.order_key), schema.order_last_product_name
    date_field = next((s.sf_field for s in schema.order_fields.values() if s.type == "datetime"), None)
    orders_by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in sf.orders:
        if order.get(schema.order_member_lookup):
            orders_by_member[str(order[schema.order_member_lookup])[:15]].append(order)
    records_by_lead: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in mkto.custom_objects.get(spec.custom_object, []):
        if record.get("leadId") is not None:
            records_by_lead[int(record["leadId"])].append(record)
    preview: dict[str, Any] | None = None
    for item in rendered:
        target = item.target
        record_name = target.member_key
        result.bump("emails rendered")
        if item.html is None:
            result.add("marketo.email.render", record_name, f"Marketo did not render the email: {item.error}",
                       actual=item.error)
            continue
        content = item.html
        text = visible_text(content)
        raw = sorted(set(RAW_TOKEN.findall(content)))
        if raw:
            result.add("marketo.email.raw-token", record_name, "the HTML shows unrendered tokens or references",
                       expected="no '{{' and no '$' references", actual=", ".join(raw))
        orders = orders_by_member.get(target.member_id[:15], [])
        rows = order_rows(content)
        if not orders:
            result.bump("emails of persons without orders")
            if spec.no_orders_text not in text:
                result.add("marketo.email.no-orders", record_name, "the fallback text is missing",
                           expected=spec.no_orders_text, actual=text.strip()[:200])
            if rows:
                result.add("marketo.email.no-orders", record_name, "a person without orders is shown order rows",
                           actual=", ".join(r.get("ecb-order-number", "") for r in rows))
            preview = preview or {"record": record_name, "leadId": target.lead_id, "html": content}
            continue
        last = max(orders, key=lambda o: (_moment(o.get(date_field)) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)))
        problems_before = len(result.mismatches)
        spans = last_order_spans(content)
        for label, value in (("last order number", last.get(number_field)), ("last product name", last.get(product_field))):
            shown = spans.get(label)
            if value and (shown != str(value) if shown is not None else str(value) not in text):
                result.add("marketo.email.last-order", record_name, f"the {label} is not in the email",
                           field=label, expected=value, actual=shown)
        _compare_rows(rows, records_by_lead.get(target.lead_id, []), spec, zone, co_limit, record_name, result)
        if len(result.mismatches) == problems_before:
            result.bump("emails showing the right orders")
        if preview is None or "ecb-order" not in preview["html"]:
            preview = {"record": record_name, "leadId": target.lead_id, "html": content}
    return preview


def _compare_rows(rows: list[dict[str, str]], records: list[dict[str, Any]], spec: EmailMapping, zone: ZoneInfo,
                  co_limit: int, record_name: str, result: Comparison) -> None:
    if records and all(r.get("updatedAt") for r in records):  # what Marketo hands the script: the freshest updates
        records = sorted(records, key=lambda r: str(r["updatedAt"]), reverse=True)
    loaded = records[:co_limit]
    by_number = {str(r.get(spec.order_number)): r for r in records}
    expected = sorted(loaded, key=lambda r: _moment(r.get(spec.order_date)) or dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                      reverse=True)[: spec.max_orders]
    shown = [row.get("ecb-order-number", "") for row in rows]
    wanted = [str(r.get(spec.order_number)) for r in expected]
    if sorted(shown) != sorted(wanted):
        result.add("marketo.email.orders", record_name, "the email lists other orders than Marketo holds for the person",
                   expected=", ".join(wanted), actual=", ".join(shown))
        return
    dates = [_moment(by_number[number].get(spec.order_date)) for number in shown]
    if any(a is not None and b is not None and a < b for a, b in zip(dates, dates[1:])):
        result.add("marketo.email.order-sequence", record_name, "orders are not listed newest first",
                   expected=", ".join(wanted), actual=", ".join(shown))
    for row in rows:
        record = by_number[row.get("ecb-order-number", "")]
        moment = _as_script_sees_it(_moment(record.get(spec.order_date)), ZoneInfo(spec.instance_time_zone))
        checks = {
            "date": format_date(spec.date_format, moment.astimezone(zone)) if moment else "",
            "products": str(record.get(spec.product_names) or ""),
            "total": format_amount(spec.currency_format, record[spec.total]) if record.get(spec.total) not in (None, "") else "",
        }
        cells = {"date": row.get("ecb-order-date", ""), "products": row.get("ecb-products", ""), "total": row.get("ecb-total", "")}
        for name, value in checks.items():
            if cells[name] != value:
                result.add("marketo.email.order-format", f"{record_name} {row.get('ecb-order-number')}",
                           f"the order's {name} is shown differently", field=name, expected=value, actual=cells[name])
