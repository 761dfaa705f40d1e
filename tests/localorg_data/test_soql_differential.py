"""Random WHERE clauses checked against a small Python model of SOQL's semantics (null handling,
case-insensitive text, NOT, IN/NOT IN, LIKE, ranges), on random data. Seeded: reproducible."""
from __future__ import annotations

import random

import pytest

from localcloud.salesforce.data import Store

STATUSES = ["New", "Paid", "Shipped", "Cancelled", None]
PRODUCTS = ["tea", "Tea Cup", "coffee", "Pot", None]


def make_rows(rng: random.Random) -> list[dict]:
    rows = []
    for n in range(60):
        rows.append({"Order_Number__c": f"R{n:03d}",
                     "Status__c": rng.choice(STATUSES),
                     "Total_Amount__c": rng.choice([None, 0, 100, 250, 999, 1000, 5000]),
                     "Last_Product_Name__c": rng.choice(PRODUCTS)})
    return rows


def text(v):
    return v.lower() if isinstance(v, str) else v


class Cond:
    def __init__(self, soql: str, fn):
        self.soql, self.fn = soql, fn


def leaf(rng: random.Random) -> Cond:
    kind = rng.choice(["status", "total", "product"])
    if kind == "status":
        field, values = "Status__c", ["New", "paid", "SHIPPED", "Cancelled", "Other"]
    elif kind == "total":
        field, values = "Total_Amount__c", [0, 100, 250, 1000, 4000]
    else:
        field, values = "Last_Product_Name__c", ["tea", "TEA CUP", "Coffee", "pot"]
    op = rng.choice(["=", "!=", "<", ">=", "IN", "NOT IN", "LIKE", "= null", "!= null"])
    lit = (lambda v: f"'{v}'") if kind != "total" else str
    if op == "= null":
        return Cond(f"{field} = null", lambda r: r[field] is None)
    if op == "!= null":
        return Cond(f"{field} != null", lambda r: r[field] is not None)
    if op in ("IN", "NOT IN"):
        vals = rng.sample(values, 2)
        inside = lambda r: r[field] is not None and text(r[field]) in [text(v) for v in vals]  # noqa: E731
        s = f"{field} {op} ({', '.join(lit(v) for v in vals)})"
        return Cond(s, inside if op == "IN" else (lambda r: not inside(r)))
    if op == "LIKE":
        if kind == "total":
            op = "="
        else:
            prefix = rng.choice(values)[:2]
            return Cond(f"{field} LIKE '{prefix}%'",
                        lambda r: r[field] is not None and r[field].lower().startswith(prefix.lower()))
    v = rng.choice(values)
    if kind != "total" and op in ("<", ">="):
        op = "="
    if op == "=":
        return Cond(f"{field} = {lit(v)}", lambda r: r[field] is not None and text(r[field]) == text(v))
    if op == "!=":
        return Cond(f"{field} != {lit(v)}", lambda r: r[field] is None or text(r[field]) != text(v))
    if op == "<":
        return Cond(f"{field} < {v}", lambda r: r[field] is not None and r[field] < v)
    return Cond(f"{field} >= {v}", lambda r: r[field] is not None and r[field] >= v)


def condition(rng: random.Random, depth: int = 0) -> Cond:
    roll = rng.random()
    if depth >= 2 or roll < 0.4:
        return leaf(rng)
    if roll < 0.55:
        inner = condition(rng, depth + 1)
        return Cond(f"NOT ({inner.soql})", lambda r: not inner.fn(r))
    a, b = condition(rng, depth + 1), condition(rng, depth + 1)
    if roll < 0.8:
        return Cond(f"({a.soql}) AND ({b.soql})", lambda r: a.fn(r) and b.fn(r))
    return Cond(f"({a.soql}) OR ({b.soql})", lambda r: a.fn(r) or b.fn(r))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_where_clauses_match_the_model(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    rows = make_rows(rng)
    with store.transaction() as tx:
        tx.insert("EC_Order__c", rows)
        for _ in range(120):
            cond = condition(rng)
            soql = f"SELECT Order_Number__c FROM EC_Order__c WHERE {cond.soql} ORDER BY Order_Number__c"
            got = [r["Order_Number__c"] for r in tx.query(soql).records]
            want = [r["Order_Number__c"] for r in rows if cond.fn(r)]
            assert got == want, soql
        tx.rollback()
