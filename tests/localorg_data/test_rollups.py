"""Roll-up summary fields (COUNT/SUM/MIN/MAX of master-detail children) are computed as the children change."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from localcloud.salesforce.data import CustomFieldSpec as F, CustomObjectSpec, PicklistValue
from localcloud.salesforce.metadata.objects import field_spec
from localcloud.salesforce.metadata.package import parse_xml

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def summary(name: str, operation: str, field: str | None = None, filters: str = "") -> F:
    summarized = f"<summarizedField>Line__c.{field}</summarizedField>" if field else ""
    xml = (f"<CustomField {NS}><fullName>{name}</fullName><label>{name}</label>{filters}"
           f"<summaryForeignKey>Line__c.Batch__c</summaryForeignKey><summaryOperation>{operation}</summaryOperation>"
           f"{summarized}<type>Summary</type></CustomField>")
    return field_spec(parse_xml(xml.encode(), f"{name}.field-meta.xml"))


@pytest.fixture()
def org(store):
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec("Batch__c", label="Batch"))
        tx.apply_custom_object(CustomObjectSpec("Line__c", label="Line", fields=[
            F("Level__c", "Picklist", picklist_values=[PicklistValue("ERROR"), PicklistValue("INFO")]),
            F("Amount__c", "Number", precision=18, scale=2),
            F("At__c", "DateTime")]))
        tx.apply_custom_field("Line__c", F("Batch__c", "MasterDetail", reference_to="Batch__c",
                                           relationship_name="Lines"))
        only_errors = ("<summaryFilterItems><field>Line__c.Level__c</field><operation>equals</operation>"
                       "<value>error</value></summaryFilterItems>")
        for spec in (summary("Total__c", "count"), summary("Errors__c", "count", filters=only_errors),
                     summary("Amount__c", "sum", "Amount__c"), summary("First__c", "min", "At__c"),
                     summary("Last__c", "max", "At__c")):
            tx.apply_custom_field("Batch__c", spec)
    return store


def totals(tx, batch_id: str) -> dict:
    return tx.retrieve("Batch__c", batch_id, ["Total__c", "Errors__c", "Amount__c", "First__c", "Last__c"], typed=True)


def test_summaries_follow_inserts_updates_deletes_and_undeletes(org) -> None:
    with org.transaction() as tx:
        a, b = (r.id for r in tx.insert("Batch__c", [{"Name": "A"}, {"Name": "B"}]))
        got = totals(tx, a)
        assert (got["Total__c"], got["Errors__c"], got["Amount__c"], got["First__c"]) == (0, 0, 0, None)
        lines = tx.insert("Line__c", [
            {"Batch__c": a, "Level__c": "ERROR", "Amount__c": 1.5, "At__c": "2026-01-02T00:00:00Z"},
            {"Batch__c": a, "Level__c": "INFO", "Amount__c": 2, "At__c": "2026-01-01T00:00:00Z"},
            {"Batch__c": a, "Level__c": "ERROR", "Amount__c": 3, "At__c": "2026-01-03T00:00:00Z"}])
        got = totals(tx, a)
        assert (got["Total__c"], got["Errors__c"], float(got["Amount__c"])) == (3, 2, 6.5)
        assert got["First__c"] == datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert got["Last__c"] == datetime(2026, 1, 3, tzinfo=timezone.utc)
        assert org.schema.get("Batch__c").field("First__c").type == "datetime"

        results = tx.update("Line__c", [{"Id": lines[0].id, "Level__c": "INFO"}])
        assert all(r.success for r in results), [r.to_json() for r in results]
        got = totals(tx, a)
        assert (got["Total__c"], got["Errors__c"], float(got["Amount__c"])) == (3, 1, 6.5)
        assert totals(tx, b)["Total__c"] == 0

        tx.delete([lines[1].id])
        got = totals(tx, a)
        assert (got["Total__c"], float(got["Amount__c"])) == (2, 4.5)
        assert got["First__c"] == datetime(2026, 1, 2, tzinfo=timezone.utc)
        tx.undelete([lines[1].id])
        assert totals(tx, a)["Total__c"] == 3
        tx.delete([lines[0].id, lines[1].id])
        got = totals(tx, a)
        assert (got["Total__c"], float(got["Amount__c"]), got["First__c"]) == (1, 3.0, datetime(2026, 1, 3, tzinfo=timezone.utc))
        rows = tx.query("SELECT Name, Total__c FROM Batch__c WHERE Total__c > 0").records
        assert [(r["Name"], r["Total__c"]) for r in rows] == [("A", 1)]


def test_a_summary_naming_an_unknown_field_fails_when_applied(org) -> None:
    with pytest.raises(ValueError, match="summarizedField"):
        with org.transaction() as tx:
            tx.apply_custom_field("Batch__c", summary("Bad__c", "max", "Nope__c"))


def test_the_master_goes_through_its_save_procedure_and_may_refuse(org) -> None:
    from localcloud.salesforce.apex.orgruntime import ApexRuntime

    runtime = ApexRuntime(org, {
        "BatchTrigger.trigger": "trigger BatchTrigger on Batch__c (before update, after update) {"
                                " if (Trigger.isBefore) { for (Batch__c b : Trigger.new) { if (b.Total__c > 2) {"
                                " b.addError('too many lines'); } } } else { BatchCount.updates++; } }",
        "BatchCount.cls": "public class BatchCount { public static Integer updates = 0; }"})
    result = runtime.execute_anonymous("""
        Batch__c b = new Batch__c(Name = 'A');
        insert b;
        insert new List<Line__c>{ new Line__c(Batch__c = b.Id, Level__c = 'ERROR'), new Line__c(Batch__c = b.Id) };
        System.debug(BatchCount.updates + ' ' + [SELECT Total__c FROM Batch__c].Total__c);
        Database.SaveResult refused = Database.insert(new Line__c(Batch__c = b.Id), false);
        System.debug(refused.isSuccess() + ' ' + refused.getErrors()[0].getMessage() + ' '
                     + [SELECT COUNT() FROM Line__c] + ' ' + [SELECT Total__c FROM Batch__c].Total__c);
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["1 2", "false too many lines 2 2"]
