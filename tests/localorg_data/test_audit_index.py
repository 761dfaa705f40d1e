"""A range filter on SystemModstamp (push_marketo's change read) is served from an index, as on
Salesforce, where SystemModstamp and CreatedDate are indexed on every object: the read costs what
it returns, not what the table holds."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from localcloud.salesforce.data import Store
from localcloud.salesforce.data.soql.engine import execute


def _plans(store: Store, soql: str, monkeypatch: Any) -> tuple[list[str], int]:
    """The SQLite query plan of every statement the SOQL compiles to, and the rows it returned."""
    from localcloud.salesforce.data import store as store_module

    plans: list[str] = []
    original = store_module.Transaction.execute

    def traced(tx: Any, sql: str, params: Any = ()) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            plans.extend(row[-1] for row in original(tx, "EXPLAIN QUERY PLAN " + sql, params).fetchall())
        return original(tx, sql, params)

    monkeypatch.setattr(store_module.Transaction, "execute", traced)
    with store.transaction() as tx:
        result = execute(tx, soql, {})
    return plans, result.total_size


def test_a_systemmodstamp_range_uses_the_index_and_reads_only_the_changed_rows(store, clock, monkeypatch) -> None:
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": f"old{i}"} for i in range(300)])
    clock.now += timedelta(hours=1)
    since = clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": f"new{i}"} for i in range(3)])
    plans, rows = _plans(store, f"SELECT Id, LastName FROM Contact WHERE SystemModstamp >= {since}", monkeypatch)
    assert rows == 3
    assert any("INDEX i_contact_systemmodstamp" in plan for plan in plans), plans
    assert not any(plan.startswith("SCAN") and "t_contact" in plan for plan in plans), plans
