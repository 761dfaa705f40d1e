"""Formula fields in the local org: deployed read-only and described as calculated, computed when read
by SOQL (REST and Apex), record GET and Formula.recalculateFormulas, cross-object and always current."""
from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import fromstring

import pytest

from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store
from localcloud.salesforce.data.errors import InvalidFieldError
from localcloud.salesforce.metadata.objects import field_spec

FIELDS = {
    "Account": [
        {"fullName": "Account.Big__c", "type": "Checkbox", "formula": "NumberOfEmployees > 100"},
        {"fullName": "Account.Label__c", "type": "Text", "formula": 'Name & " (" & TEXT(NumberOfEmployees) & ")"'},
        {"fullName": "Account.Half__c", "type": "Number", "precision": 18, "scale": 2, "formula": "AnnualRevenue / 2"},
        {"fullName": "Account.PlusOne__c", "type": "Number", "precision": 18, "scale": 0,
         "formula": "AnnualRevenue + 1", "formulaTreatBlanksAs": "BlankAsBlank"},
        {"fullName": "Account.PlusOneZero__c", "type": "Number", "precision": 18, "scale": 0,
         "formula": "AnnualRevenue + 1"},
        {"fullName": "Account.Ratio__c", "type": "Number", "precision": 18, "scale": 2,
         "formula": "AnnualRevenue / NumberOfEmployees"},
    ],
    "Contact": [
        {"fullName": "Contact.Where__c", "type": "Text", "formula": 'Account.Label__c & " / " & LastName'},
    ],
}


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "org.sqlite3")
    with s.transaction() as tx:
        for sobject, fields in FIELDS.items():
            for f in fields:
                tx.apply_custom_field(sobject, f)
    yield s
    s.close()


def _account(store, **values) -> str:
    with store.transaction() as tx:
        return tx.insert("Account", [{"Name": "Acme", **values}])[0].id


def test_formula_fields_are_described_as_calculated_and_read_only(store) -> None:
    with store.transaction() as tx:
        d = tx.schema.get("Account").field("Label__c").describe
        assert (d["calculated"], d["calculatedFormula"], d["createable"], d["updateable"]) == (
            True, 'Name & " (" & TEXT(NumberOfEmployees) & ")"', False, False)
        assert tx.schema.get("Account").field("PlusOne__c").describe["formulaTreatNullNumberAsZero"] is False
        assert tx.schema.get("Account").field("PlusOneZero__c").describe["formulaTreatNullNumberAsZero"] is True
        result = tx.insert("Account", [{"Name": "x", "Label__c": "mine"}], all_or_none=False)[0]
        assert not result.success and result.errors[0].status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_soql_and_retrieve_compute_formulas_with_blank_and_error_handling(store) -> None:
    aid = _account(store, NumberOfEmployees=500, AnnualRevenue=1001)
    blank = _account(store, NumberOfEmployees=0)
    with store.transaction() as tx:
        rows = tx.query("SELECT Id, Big__c, Label__c, Half__c, PlusOne__c, PlusOneZero__c, Ratio__c FROM Account "
                        "ORDER BY NumberOfEmployees DESC").records
        assert tx.limits.soql_queries == 1  # the formulas' own reads are not counted
        assert [{k: v for k, v in r.items() if k not in ("attributes", "Id")} for r in rows] == [
            {"Big__c": True, "Label__c": "Acme (500)", "Half__c": 500.5, "PlusOne__c": 1002.0,
             "PlusOneZero__c": 1002.0, "Ratio__c": 2.0},
            # blank revenue: blank as blank -> null, blank as zero -> 1; 0 / 0 -> #Error! -> null
            {"Big__c": False, "Label__c": "Acme (0)", "Half__c": 0.0, "PlusOne__c": None, "PlusOneZero__c": 1.0,
             "Ratio__c": None},
        ]
        got = tx.retrieve("Account", aid)
        assert (got["Label__c"], got["Half__c"], got["Big__c"]) == ("Acme (500)", 500.5, True)
        typed = tx.query("SELECT Half__c FROM Account WHERE Id = :i", {"i": blank}, typed=True).records[0]
        assert str(typed["Half__c"]) == "0.00"


def test_cross_object_formulas_follow_the_parent_as_it_changes(store) -> None:
    aid = _account(store, NumberOfEmployees=5)
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "Doe", "AccountId": aid}])
    with store.transaction() as tx:
        row = tx.query("SELECT Where__c, Account.Label__c FROM Contact").records[0]
        assert (row["Where__c"], row["Account"]["Label__c"]) == ("Acme (5) / Doe", "Acme (5)")
        tx.update("Account", [{"Id": aid, "Name": "Renamed"}])
        assert tx.query("SELECT Where__c FROM Contact").records[0]["Where__c"] == "Renamed (5) / Doe"


def test_a_formula_that_cannot_be_built_fails_the_read_naming_the_field(store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_field("Account", {"fullName": "Account.Bad__c", "type": "Number", "formula": "Name * 2"})
    _account(store)
    with store.transaction() as tx:
        with pytest.raises(InvalidFieldError) as e:
            tx.query("SELECT Bad__c FROM Account")
    assert "Account.Bad__c" in str(e.value) and "Incorrect parameter type for operator '*'" in str(e.value)


def test_metadata_field_xml_carries_the_formula() -> None:
    spec = field_spec(fromstring(
        "<fields><fullName>Score__c</fullName><type>Number</type><precision>18</precision><scale>0</scale>"
        "<formula>NumberOfEmployees * 2</formula><formulaTreatBlanksAs>BlankAsBlank</formulaTreatBlanksAs></fields>"))
    assert (spec.formula, spec.formula_treat_blanks_as) == ("NumberOfEmployees * 2", "BlankAsBlank")


def test_apex_soql_reads_formulas_and_recalculate_formulas_computes_in_memory(store) -> None:
    rt = ApexRuntime(store, {"FxTest.cls": "@IsTest class FxTest { @IsTest static void formulas() {"
        " Account a = new Account(Name = 'Acme', NumberOfEmployees = 200, AnnualRevenue = 10); insert a;"
        " Account back = [SELECT Label__c, Big__c, Half__c FROM Account WHERE Id = :a.Id];"
        " Assert.areEqual('Acme (200)', back.Label__c); Assert.isTrue(back.Big__c); Assert.areEqual(5.00, back.Half__c);"
        " Assert.isTrue(Schema.SObjectType.Account.fields.Label__c.isCalculated());"
        " Account mem = new Account(Name = 'Mem', NumberOfEmployees = 0, AnnualRevenue = 3);"
        " List<FormulaRecalcResult> results = Formula.recalculateFormulas(new List<Account>{ mem });"
        " Assert.isFalse(results[0].isSuccess());"
        " Assert.areEqual('Ratio', results[0].getErrors()[0].getFieldName());"
        " Assert.areEqual('Division by zero', results[0].getErrors()[0].getFieldError());"
        " Assert.areEqual('Mem (0)', mem.Label__c); Assert.areEqual(1.50, mem.Half__c); } }"})
    assert [(r.method_name, r.outcome, r.message) for r in rt.run_tests()] == [("formulas", "Pass", None)]


def test_where_and_order_by_formula_fields_use_current_values(store) -> None:
    small = _account(store, NumberOfEmployees=5, AnnualRevenue=100)
    big = _account(store, NumberOfEmployees=500, AnnualRevenue=10)
    with store.transaction() as tx:
        assert [r["Id"] for r in tx.query("SELECT Id FROM Account WHERE Big__c = true").records] == [big]
        assert [r["Id"] for r in tx.query("SELECT Id FROM Account ORDER BY Half__c DESC").records] == [small, big]
        assert tx.query("SELECT COUNT() FROM Account WHERE Label__c LIKE 'Acme (5%'").total_size == 2
        tx.update("Account", [{"Id": small, "NumberOfEmployees": 1000}])
        assert len(tx.query("SELECT Id FROM Account WHERE Big__c = true").records) == 2
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "Doe", "AccountId": big}])
        rows = tx.query("SELECT LastName FROM Contact WHERE Account.Big__c = true AND Where__c != null").records
        assert [r["LastName"] for r in rows] == ["Doe"]


def test_formula_fields_read_the_running_users_globals(store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_field("Account", {"fullName": "Account.Mine__c", "type": "Checkbox",
                                          "formula": "$User.Id == OwnerId"})
        tx.apply_custom_field("Account", {"fullName": "Account.Who__c", "type": "Text",
                                          "formula": '$User.Username & " @ " & $Organization.Id & " as " & $Profile.Name'})
    aid = _account(store)
    with store.transaction() as tx:
        org_id = tx.query("SELECT Id FROM Organization").records[0]["Id"]
        user = tx.query(f"SELECT Username, Profile.Name FROM User WHERE Id = '{tx.user_id}'").records[0]
        row = tx.query("SELECT Mine__c, Who__c FROM Account WHERE Id = :i", {"i": aid}).records[0]
        assert row["Mine__c"] is True
        assert row["Who__c"] == f"{user['Username']} @ {org_id} as {user['Profile']['Name']}"


def test_child_subqueries_and_later_pages_compute_formulas(store) -> None:
    aid = _account(store, NumberOfEmployees=3)
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": f"C{i:04d}", "AccountId": aid} for i in range(5)])
    with store.transaction() as tx:
        kids = tx.query("SELECT Name, (SELECT Where__c FROM Contacts ORDER BY LastName) FROM Account").records[0]
        assert [k["Where__c"] for k in kids["Contacts"]["records"]] == [f"Acme (3) / C{i:04d}" for i in range(5)]
        first = tx.query("SELECT Where__c FROM Contact ORDER BY LastName", page_size=2)
        assert [r["Where__c"] for r in first.records] == ["Acme (3) / C0000", "Acme (3) / C0001"]
        assert first.next_records_locator
    later = store.query_more(first.next_records_locator)
    assert [r["Where__c"] for r in later.records] == ["Acme (3) / C0002", "Acme (3) / C0003"]
