"""Compound address fields in the data layer (issue 18): typed values, retrieve, trigger records,
and an org file made before they existed gets them when opened."""
from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

from localcloud.salesforce.data import open_store
from localcloud.salesforce.data.compound import Address


def test_typed_query_and_retrieve_give_the_address(store) -> None:
    with store.transaction() as tx:
        [saved] = tx.insert("Contact", [{"LastName": "Kato", "MailingStreet": "1 Chome", "MailingCity": "Sapporo",
                                         "MailingLatitude": 43.06}])
        [record] = tx.query("SELECT MailingAddress, OtherAddress FROM Contact", typed=True).records
        assert record["MailingAddress"] == Address(latitude=Decimal("43.06"), city="Sapporo", street="1 Chome")
        assert record["OtherAddress"] is None
        rest = tx.retrieve("Contact", saved.id, ["MailingAddress"])
        assert rest["MailingAddress"]["city"] == "Sapporo" and rest["MailingAddress"]["latitude"] == 43.06
        full = tx.retrieve("Contact", saved.id)
        names = list(full)
        assert names.index("MailingAddress") == names.index("MailingGeocodeAccuracy") + 1  # describe order


def test_a_write_of_the_compound_is_skipped_in_ignore_mode_and_refused_in_reject_mode(store) -> None:
    with store.transaction() as tx:
        [ignored] = tx.insert("Lead", [{"LastName": "A", "Company": "C", "City": "Kobe", "Address": {"city": "x"}}],
                              read_only_fields="ignore")
        assert ignored.success
        [refused] = tx.insert("Lead", [{"LastName": "B", "Company": "C", "Address": None}], all_or_none=False)
        assert [e.status_code for e in refused.errors] == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
        assert tx.query("SELECT Address FROM Lead").records[0]["Address"]["city"] == "Kobe"


def test_an_org_file_from_before_compound_fields_gets_them_when_opened(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    open_store(path).close()
    conn = sqlite3.connect(path)
    definition = json.loads(conn.execute("SELECT definition FROM _objects WHERE lower = 'account'").fetchone()[0])
    definition["fields"] = [dict(f, compoundFieldName=None) if (f.get("compoundFieldName") or "").endswith("Address")
                            else f for f in definition["fields"] if f["type"] != "address"]
    conn.execute("UPDATE _objects SET definition = ? WHERE lower = 'account'", (json.dumps(definition),))
    conn.commit()
    conn.close()
    store = open_store(path)
    with store.transaction() as tx:
        tx.insert("Account", [{"Name": "Old", "ShippingCity": "Fukuoka"}])
        assert tx.query("SELECT ShippingAddress FROM Account").records[0]["ShippingAddress"]["city"] == "Fukuoka"
    fields = store.schema.get("Account").describe()["fields"]
    assert [f["name"] for f in fields if f["compoundFieldName"] == "BillingAddress"][0] == "BillingStreet"
    store.close()
