"""Hostile values already in Salesforce reach push_marketo (issue 10): members whose email Marketo cannot
store (non-ASCII, a NUL, an emoji) are skipped with a reason naming the field; the persons beside them are
pushed; and every order is accounted for: pushed, or skipped with the reason written back on the order
(never silently left out), again on the next run."""
from __future__ import annotations

from tests.push.conftest import start_services, stop_services
from tests.push.helpers import add_member, add_order, leads_by_email, push

# Members Marketo cannot take as persons; the org may refuse some of them itself (a Salesforce Email field takes
# ASCII addresses only), and those it refuses are not part of the check. A member without an email always gets in.
CANDIDATES = {"H0": None, "H1": "たろう@example.jp", "H2": "ta\u0000ro@example.jp", "H3": "emoji🍵@example.jp",
              "H4": "a,b@example.jp"}
GOOD = {"G1": "hanako@example.jp", "G2": "x'or'1'='1@example.jp"}


def test_unpushable_members_and_their_orders_are_reported_and_written_back(tmp_path, resilience_certs) -> None:
    services = start_services(tmp_path, resilience_certs.ca_cert.parent)
    try:
        from simple_salesforce.exceptions import SalesforceMalformedRequest

        sf = services.sf
        HOSTILE = {}
        for key, email in {**CANDIDATES, **GOOD}.items():
            try:
                member = add_member(sf, key, email, last="'; DROP TABLE leads; --", first="花子🍵")
            except SalesforceMalformedRequest as refused:
                assert key in CANDIDATES and "INVALID_EMAIL_ADDRESS" in str(refused), refused
                continue
            if key in CANDIDATES:
                HOSTILE[key] = email
            add_order(sf, f"O-{key}", key, member, "2024-05-01T00:00:00.000+0000", 1000, ["茶\u0007", "急須"])
        assert "H0" in HOSTILE

        for run in range(2):
            summary = push(services)
            skipped = dict(summary.persons_skipped)
            assert set(skipped) == set(HOSTILE), summary.persons_skipped
            assert all("email" in reason for reason in skipped.values()), skipped
            assert dict(summary.orders_skipped).keys() == {f"O-{k}" for k in HOSTILE}, \
                f"run {run}: the orders of a member that cannot be pushed are reported, not dropped: {summary.orders_skipped}"
            assert summary.persons_created == (len(GOOD) if run == 0 else 0)

        for email in GOOD.values():
            [lead] = leads_by_email(services.client, email)
            assert lead["lastName"] == "'; DROP TABLE leads; --" and lead["lastOrderNumber"].startswith("O-G")
        orders = {r["Order_Number__c"]: r for r in sf.query(
            "SELECT Order_Number__c, Marketo_Id__c, Marketo_Push_Error__c FROM EC_Order__c")["records"]}
        for key in GOOD:
            assert orders[f"O-{key}"]["Marketo_Id__c"] and not orders[f"O-{key}"]["Marketo_Push_Error__c"]
        for key in HOSTILE:
            error = orders[f"O-{key}"]["Marketo_Push_Error__c"]
            assert not orders[f"O-{key}"]["Marketo_Id__c"] and error and "member" in error and "email" in error, \
                f"O-{key}: the order carries why it was not pushed: {error!r}"
        members = {r["EC_Member_Id__c"]: r for r in sf.query(
            "SELECT EC_Member_Id__c, Marketo_Push_Error__c FROM Contact")["records"]}
        assert all("email" in (members[k]["Marketo_Push_Error__c"] or "") for k in HOSTILE)
    finally:
        stop_services(services)
