"""What the Apex runtime relies on: the AST from an Apex parse tree, bind nodes, typed results,
limits enforcement and savepoints for test isolation."""
from __future__ import annotations

import pytest
from tree_sitter_language_pack import get_parser

from localcloud.salesforce.data import LimitExceededError, Store, soql_from_node
from localcloud.salesforce.data.soql.ast import Bind

APEX = b"""
public with sharing class OrderLinker {
    public static List<EC_Order__c> waiting(Set<String> keys, Contact member) {
        return [SELECT Id, Order_Number__c, Member__r.LastName FROM EC_Order__c
                WHERE EC_Member_Id__c IN :keys AND (Member__c = null OR Member__c = :member.Id)
                AND NOT Status__c = 'Cancelled'
                WITH USER_MODE ORDER BY Order_Number__c LIMIT :(keys.size() * 10)];
    }
}
"""


def find(node, type_):
    if node.type == type_:
        return node
    for c in node.children:
        r = find(c, type_)
        if r is not None:
            return r
    return None


def test_inline_soql_from_an_apex_parse_tree(store: Store) -> None:
    tree = get_parser("apex").parse(APEX)
    node = find(tree.root_node, "query_expression")
    q = soql_from_node(node, APEX)
    assert q.sobject == "EC_Order__c" and q.security == "USER_MODE"
    binds = {}

    def resolve(b: Bind):
        # the Apex runtime evaluates b.node in its own scope; here: a tiny fake evaluator
        text = b.source[b.node.start_byte:b.node.end_byte].decode()  # source: the bytes the node belongs to
        binds[b.name] = text
        return {"keys": ["M1", "M2"], "member.Id": member_id, "(keys.size()*10)": 20}[b.name]

    with store.transaction() as tx:
        [c] = tx.insert("Contact", [{"LastName": "Known", "EC_Member_Id__c": "M2"}])
        member_id = c.id
        tx.insert("EC_Order__c", [
            {"Order_Number__c": "A", "EC_Member_Id__c": "M1"},
            {"Order_Number__c": "B", "EC_Member_Id__c": "M2", "Member__c": c.id},
            {"Order_Number__c": "C", "EC_Member_Id__c": "M1", "Status__c": "Cancelled"},
            {"Order_Number__c": "D", "EC_Member_Id__c": "M9"}])
        res = tx.query(q, bind_resolver=resolve, typed=True)
    assert [r["Order_Number__c"] for r in res.records] == ["A", "B"]
    assert res.records[1]["Member__r"]["LastName"] == "Known" and res.records[0]["Member__r"] is None
    assert binds["member.Id"] == "member.Id" and "keys" in binds


def test_dml_row_limit_is_enforced_when_asked(store: Store) -> None:
    with store.transaction() as tx:
        tx.limits.enforce = True
        tx.limits.max_dml_rows = 5
        tx.insert("Contact", [{"LastName": str(i)} for i in range(5)])
        with pytest.raises(LimitExceededError) as exc:
            tx.insert("Contact", [{"LastName": "one too many"}])
        assert exc.value.limit_message == "Too many DML rows: 6"


def test_savepoint_per_test_method_isolates_data(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "setup"}])
        setup = tx.savepoint()
        for name in ("test1", "test2"):
            sp = tx.savepoint()
            tx.insert("Contact", [{"LastName": name}])
            seen = sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records)
            assert seen == sorted(["setup", name])  # a test sees only setup data and its own
            tx.rollback_to(sp)
        tx.rollback_to(setup)
        tx.rollback()
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact").total_size == 0
