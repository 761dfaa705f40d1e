"""The flow engine on its own (no Apex): a host made of dicts shows what the engine asks the org for and
how it bulkifies interviews, reads conditions and follows fault connectors."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Sequence

import pytest

from localcloud.salesforce.flow import (FlowFault, FlowUnhandledFault, FlowUnsupported, Interview, Record,
                                        parse_flow, run_interviews, run_record_triggered, start, triggered_flows)
from localcloud.salesforce.flow.conditions import combine, soql_condition


class DictHost:
    """Records what the engine asked for; queries answer ``rows``; a create of a record named 'bad' fails."""

    def __init__(self, rows: list[Record] | None = None) -> None:
        self.rows = rows or []
        self.calls: list[tuple[str, Any]] = []

    def load_flow(self, name: str):
        return None

    def query(self, soql: str, sobject: str) -> list[Record]:
        self.calls.append(("query", soql))
        return [r.copy() for r in self.rows]

    def create(self, records: Sequence[Record]) -> None:
        self.calls.append(("create", len(records)))
        if any(r.get("Name") == "bad" for r in records):
            raise FlowFault("REQUIRED_FIELD_MISSING: bad")
        for i, r in enumerate(records):
            r.put("Id", f"001{i:012d}AAA")

    def update(self, records: Sequence[Record]) -> None:
        self.calls.append(("update", [dict(r.data) for r in records]))

    def delete(self, records: Sequence[Record]) -> None:
        self.calls.append(("delete", len(records)))

    def call_apex(self, action: str, invocations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append(("apex", len(invocations)))
        return [{"out": str(i["in"]).upper()} for i in invocations]

    def global_value(self, name: str, path: Sequence[str]) -> Any:
        raise FlowUnsupported(name)

    def all_fields(self, sobject: str) -> list[str]:
        return ["Id", "Name"]

    def field_type(self, sobject: str, field: str) -> str | None:
        return {"name": "string", "numberofemployees": "int"}.get(field.lower())

    def parent(self, record: Record, relationship: str) -> Record | None:
        return None

    def get_member(self, obj: Any, name: str) -> Any:
        return None

    def set_member(self, obj: Any, name: str, value: Any) -> None:
        raise FlowFault("no members")

    def tick(self) -> None:
        pass


NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def test_after_save_interviews_of_a_chunk_share_one_query_one_dml_and_one_action_call() -> None:
    flow = parse_flow("Sync", f"""<Flow {NS}><processType>AutoLaunchedFlow</processType><status>Active</status>
      <start><object>Account</object><recordTriggerType>CreateAndUpdate</recordTriggerType>
        <triggerType>RecordAfterSave</triggerType><filterLogic>or</filterLogic>
        <filters><field>NumberOfEmployees</field><operator>GreaterThan</operator><value><numberValue>10</numberValue></value></filters>
        <connector><targetReference>Find</targetReference></connector></start>
      <recordLookups><name>Find</name><label>x</label><object>Contact</object><getFirstRecordOnly>true</getFirstRecordOnly>
        <storeOutputAutomatically>true</storeOutputAutomatically><connector><targetReference>Shout</targetReference></connector></recordLookups>
      <actionCalls><name>Shout</name><label>x</label><actionName>Up</actionName><actionType>apex</actionType>
        <inputParameters><name>in</name><value><elementReference>$Record.Name</elementReference></value></inputParameters>
        <storeOutputAutomatically>true</storeOutputAutomatically><connector><targetReference>Save</targetReference></connector></actionCalls>
      <recordUpdates><name>Save</name><label>x</label><inputReference>$Record</inputReference>
        <inputAssignments><field>Description</field><value><elementReference>Shout.out</elementReference></value></inputAssignments></recordUpdates>
    </Flow>""")
    assert triggered_flows([flow], "account", "update", "after") == [flow]
    assert triggered_flows([flow], "Account", "delete", "before") == []
    host = DictHost([Record("Contact", {"Id": "003000000000001AAA"})])
    new = [{"Id": f"001{i:012d}AAA", "Name": f"a{i}", "NumberOfEmployees": 5 + i * 10} for i in range(3)]
    outcome = run_record_triggered(flow, host, "insert", "after", new, None)
    assert outcome.faults == {} and outcome.errors == {}
    assert [c[0] for c in host.calls] == ["query", "apex", "update"]  # one of each for the two interviews
    assert host.calls[1] == ("apex", 2)
    assert host.calls[2][1] == [{"Id": new[1]["Id"], "Description": "A1"}, {"Id": new[2]["Id"], "Description": "A2"}]
    assert new[1].get("Description") is None  # after-save: $Record is a copy


def test_a_fault_follows_the_fault_connector_else_stops_the_interview() -> None:
    xml = f"""<Flow {NS}><processType>AutoLaunchedFlow</processType><status>Active</status>
      <start><connector><targetReference>Make</targetReference></connector></start>
      <variables><name>name</name><dataType>String</dataType><isInput>true</isInput></variables>
      <variables><name>why</name><dataType>String</dataType><isOutput>true</isOutput></variables>
      <recordCreates><name>Make</name><label>x</label><object>Account</object>
        <inputAssignments><field>Name</field><value><elementReference>name</elementReference></value></inputAssignments>
        {{fault}}</recordCreates>
      <assignments><name>Keep</name><label>x</label><assignmentItems><assignToReference>why</assignToReference>
        <operator>Assign</operator><value><elementReference>$Flow.FaultMessage</elementReference></value></assignmentItems></assignments>
    </Flow>"""
    handled = parse_flow("F", xml.replace("{fault}", "<faultConnector><targetReference>Keep</targetReference></faultConnector>"))
    interview = Interview(handled, DictHost(), {"name": "bad"})
    start(interview)
    assert interview.variable("why") == "REQUIRED_FIELD_MISSING: bad"
    unhandled = parse_flow("F", xml.replace("{fault}", ""))
    with pytest.raises(FlowUnhandledFault) as info:
        start(Interview(unhandled, DictHost(), {"name": "bad"}))
    assert info.value.message == "An error occurred at element Make (FlowRecordCreate).\nREQUIRED_FIELD_MISSING: bad"
    good = [Interview(unhandled, DictHost(), {"name": n}) for n in ("ok", "fine")]
    assert run_interviews(good) == {}


def test_condition_logic_and_filters() -> None:
    calls: list[int] = []

    def cond(n: int, value: bool):
        return lambda: calls.append(n) or value
    assert combine("1 AND (2 OR NOT 3)", [cond(1, True), cond(2, False), cond(3, False)], "x") is True
    assert combine("or", [cond(4, True), cond(5, False)], "x") is True and 5 not in calls
    assert soql_condition("Name", "StartsWith", "50%_o'k", "x") == "Name LIKE '50\\%\\_o\\'k%'"
    assert soql_condition("Amount", "GreaterThanOrEqualTo", Decimal("2.50"), "x") == "Amount >= 2.5"
    assert soql_condition("Id", "In", [], "x") == "Id = null"
    with pytest.raises(FlowUnsupported):
        soql_condition("Name", "Sounds", "x", "where")


def test_one_get_records_element_of_many_interviews_is_one_query_shared_out_by_their_filters() -> None:
    flow = parse_flow("Pick", f"""<Flow {NS}><processType>AutoLaunchedFlow</processType><status>Active</status>
      <start><object>Account</object><recordTriggerType>Create</recordTriggerType><triggerType>RecordBeforeSave</triggerType>
        <connector><targetReference>Find</targetReference></connector></start>
      <recordLookups><name>Find</name><label>x</label><object>Contact</object><filterLogic>and</filterLogic>
        <filters><field>LastName</field><operator>EqualTo</operator><value><elementReference>$Record.Name</elementReference></value></filters>
        <getFirstRecordOnly>false</getFirstRecordOnly><queriedFields>Id</queriedFields>
        <sortField>Title</sortField><sortOrder>Desc</sortOrder><storeOutputAutomatically>true</storeOutputAutomatically>
        <connector><targetReference>Count</targetReference></connector></recordLookups>
      <assignments><name>Count</name><label>x</label><assignmentItems><assignToReference>$Record.NumberOfEmployees</assignToReference>
        <operator>AssignCount</operator><value><elementReference>Find</elementReference></value></assignmentItems></assignments>
    </Flow>""")
    rows = [Record("Contact", {"Id": f"003{i:012d}AAA", "LastName": name, "Title": title})
            for i, (name, title) in enumerate([("SMITH", "a"), ("Jones", "b"), ("smith", None), ("Smith", "c")])]
    host = DictHost(rows)
    new = [{"Name": "Smith"}, {"Name": "Jones"}, {"Name": "Nobody"}]
    run_record_triggered(flow, host, "insert", "before", new, None)
    assert len(host.calls) == 1 and host.calls[0][0] == "query"
    assert "WHERE ((LastName = 'Smith')) OR ((LastName = 'Jones')) OR ((LastName = 'Nobody'))" in host.calls[0][1]
    assert [r["NumberOfEmployees"] for r in new] == [3, 1, 0]  # SOQL text equality ignores case
