"""Fixtures: a fresh store per test with ECBridge's schema deployed, and a settable clock."""
from __future__ import annotations

from datetime import datetime, timezone
import shutil
from pathlib import Path

import pytest

from localcloud.salesforce.data import (CustomFieldSpec as F, CustomObjectSpec, PicklistValue, Store,
                                        open_store)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 3, 0, 0, tzinfo=timezone.utc)  # a Saturday

    def __call__(self) -> datetime:
        return self.now


def deploy_ecbridge_schema(store: Store) -> None:
    """The objects and fields of the brief, as the metadata deploy would hand them over."""
    common = [F("EC_Last_Event_At__c", "DateTime"), F("Marketo_Id__c", "Text", length=64),
              F("Marketo_Pushed_At__c", "DateTime"), F("Marketo_Push_Error__c", "Text", length=255)]
    with store.transaction() as tx:
        tx.apply_custom_field("Contact", F("EC_Member_Id__c", "Text", length=64, external_id=True, unique=True))
        for f in common:
            tx.apply_custom_field("Contact", f)
        tx.apply_custom_object(CustomObjectSpec("EC_Order__c", label="EC Order", plural_label="EC Orders", fields=[
            F("Order_Number__c", "Text", length=64, external_id=True, unique=True),
            F("Member__c", "Lookup", reference_to="Contact", relationship_name="EC_Orders"),
            F("EC_Member_Id__c", "Text", length=64, external_id=True),
            F("Order_Date__c", "DateTime"),
            F("Total_Amount__c", "Currency", precision=16, scale=0),
            F("Status__c", "Picklist", picklist_values=[PicklistValue("New", default=True), PicklistValue("Paid"),
                                                         PicklistValue("Shipped"), PicklistValue("Cancelled")]),
            F("Last_Product_Name__c", "Text", length=255),
            *common,
        ]))
        tx.apply_custom_object(CustomObjectSpec("EC_Order_Line__c", label="EC Order Line", fields=[
            F("Order__c", "Lookup", reference_to="EC_Order__c", relationship_name="Order_Lines"),
            F("Line_Key__c", "Text", length=80, external_id=True, unique=True),
            F("Product_Name__c", "Text", length=255),
            F("SKU__c", "Text", length=64),
            F("Quantity__c", "Number", precision=18, scale=0),
            F("Unit_Price__c", "Currency", precision=16, scale=0),
        ]))
        tx.apply_custom_object(CustomObjectSpec("EC_Ingest_Error__c", label="EC Ingest Error", fields=[
            F("Event_Id__c", "Text", length=64), F("Event_Type__c", "Text", length=32),
            F("Error_Code__c", "Text", length=64), F("Field__c", "Text", length=128),
            F("Reason__c", "Text", length=255), F("Payload__c", "LongTextArea", length=131072),
            F("Replayed__c", "Checkbox", default_value="false"),
            F("Kind__c", "Picklist", restricted_picklist=True,
              picklist_values=[PicklistValue("member"), PicklistValue("order")]),
        ]))


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def template_org(tmp_path_factory) -> Path:
    """One org with the schema deployed; each test starts from a copy of its file."""
    path = tmp_path_factory.mktemp("template") / "org.sqlite3"
    s = open_store(path, clock=Clock())
    deploy_ecbridge_schema(s)
    s.close()
    return path


@pytest.fixture()
def store(tmp_path: Path, clock: Clock, template_org: Path) -> Store:
    target = tmp_path / "org.sqlite3"
    shutil.copyfile(template_org, target)
    s = open_store(target, clock=clock)
    yield s
    s.close()
