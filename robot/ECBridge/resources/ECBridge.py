"""Robot keywords for ECBridge: the EC endpoint, Marketo persons and custom objects, the duplicate scenario.

Import after CumulusCI's own API library (no browser is needed anywhere):

    Library  cumulusci.robotframework.CumulusCI  ${ORG}
    Library  cumulusci.robotframework.SalesforceAPI
    Library  ECBridge.py

The org comes from CumulusCI (``cci task run robot --org local``); Marketo from the ``marketo`` service
or the MARKETO_* environment variables. Only public REST calls are made, so the suite also runs
against a real org and a real Marketo, except the keywords marked "local Marketo only".
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import requests
from robot.api import logger
from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn

from python_tasks.marketo import MarketoClient, credentials_from_project
from python_tasks.seed.marketo_seed import ADMIN_HEADER, is_local_marketo
from python_tasks.seed.sender import EVENTS_PATH

JST = dt.timezone(dt.timedelta(hours=9))


@library(scope="GLOBAL", auto_keywords=False)
class ECBridge:
    def __init__(self) -> None:
        self._marketo: MarketoClient | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def _cumulusci(self) -> Any:
        return BuiltIn().get_library_instance("cumulusci.robotframework.CumulusCI")

    @property
    def marketo(self) -> MarketoClient:
        if self._marketo is None:
            self._marketo = MarketoClient(credentials_from_project(self._cumulusci.project_config))
        return self._marketo

    # ------------------------------------------------------------------ EC events
    @keyword("Unique Run Tag")
    def unique_run_tag(self) -> str:
        """A short tag that keeps this test's keys and emails apart from every other run."""
        return "rb" + uuid.uuid4().hex[:8]

    @keyword("EC Time")
    def ec_time(self, minutes_from_now: int = 0) -> str:
        """An occurredAt in Japan time, whole seconds (as the EC site sends it)."""
        moment = dt.datetime.now(JST).replace(microsecond=0) + dt.timedelta(minutes=int(minutes_from_now))
        return moment.isoformat()

    @keyword("Member Event")
    def member_event(self, member_id: str, email: str, last_name: str, first_name: str = "",
                     occurred_at: str | None = None, event_id: str | None = None, **fields: Any) -> dict[str, Any]:
        data = {"memberId": member_id, "email": email, "lastName": last_name, **fields}
        if first_name:
            data["firstName"] = first_name
        return {"id": event_id or f"{member_id}:member:{uuid.uuid4().hex[:6]}", "type": "member",
                "occurredAt": occurred_at or self.ec_time(), "data": data}

    @keyword("Order Event")
    def order_event(self, order_number: str, member_id: str, *products: str, occurred_at: str | None = None,
                    event_id: str | None = None, status: str = "ordered", unit_price: int = 1200) -> dict[str, Any]:
        """An order with one line per product name (quantity 1, `unit_price` yen each)."""
        moment = occurred_at or self.ec_time()
        lines = [{"productName": name, "sku": f"SKU-{index:03d}", "quantity": 1, "unitPrice": int(unit_price)}
                 for index, name in enumerate(products or ("抹茶チョコレート 12粒",), start=1)]
        data = {"orderNumber": order_number, "memberId": member_id, "orderDate": moment,
                "totalAmount": sum(line["unitPrice"] for line in lines), "status": status, "lines": lines}
        return {"id": event_id or f"{order_number}:order:{uuid.uuid4().hex[:6]}", "type": "order",
                "occurredAt": moment, "data": data}

    @keyword("Send EC Events")
    def send_ec_events(self, *events: dict[str, Any], expected_status: int = 200) -> list[dict[str, Any]]:
        """POST the events to the org's EC endpoint in one call; returns the per-event results."""
        org = self._cumulusci.org
        answer = requests.post(
            org.instance_url.rstrip("/") + EVENTS_PATH,
            data=json.dumps({"events": list(events)}, ensure_ascii=False).encode("utf-8"),
            headers={"Authorization": f"Bearer {org.access_token}", "Content-Type": "application/json; charset=utf-8"},
            timeout=120,
        )
        logger.info(f"EC endpoint answered {answer.status_code}: {answer.text[:2000]}")
        if answer.status_code != int(expected_status):
            raise AssertionError(f"EC endpoint answered {answer.status_code}, expected {expected_status}: {answer.text[:500]}")
        if answer.status_code != 200:
            return []
        payload = answer.json()
        results = payload.get("results") if isinstance(payload, dict) else payload
        return list(results)

    @keyword("Results Should Have Statuses")
    def results_should_have_statuses(self, results: list[dict[str, Any]], *statuses: str) -> None:
        actual = [str(result.get("status")) for result in results]
        if actual != list(statuses):
            raise AssertionError(f"statuses {actual} != expected {list(statuses)}; results: {results}")

    # ------------------------------------------------------------------ Marketo
    @keyword("Marketo Persons With Email")
    def marketo_persons_with_email(self, email: str, *fields: str) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(["id", "email", "sfdcType", "sfdcContactId", *fields]))
        persons = list(self.marketo.get_leads_by_filter("email", [email], fields=wanted))
        logger.info(f"Marketo persons with {email}: {persons}")
        return persons

    @keyword("Marketo Person Should Exist Once")
    def marketo_person_should_exist_once(self, email: str, *fields: str) -> dict[str, Any]:
        persons = self.marketo_persons_with_email(email, *fields)
        if len(persons) != 1:
            raise AssertionError(f"expected one Marketo person with {email}, found {len(persons)}: {persons}")
        return persons[0]

    @keyword("Marketo Person By Id")
    def marketo_person_by_id(self, person_id: int) -> dict[str, Any] | None:
        found = list(self.marketo.get_leads_by_filter("id", [int(person_id)], fields=["id", "email"]))
        return found[0] if found else None

    @keyword("Marketo Orders")
    def marketo_orders(self, *order_numbers: str, api_name: str = "ecOrder_c") -> list[dict[str, Any]]:
        fields = ["marketoGUID", "orderNumber", "leadId", "orderDate", "totalAmount", "productNames", "status", "lineCount"]
        records = list(self.marketo.get_custom_objects(api_name, "orderNumber", list(order_numbers), fields=fields))
        logger.info(f"Marketo {api_name} records: {records}")
        return records

    @keyword("Create Marketo Form Person")
    def create_marketo_form_person(self, email: str, last_name: str, first_name: str = "") -> int:
        """A Marketo-only person, as a form fill creates it (local Marketo: a true form fill; real: leads sync)."""
        record = {"email": email, "lastName": last_name, **({"firstName": first_name} if first_name else {})}
        if is_local_marketo(self.marketo.base_url):
            result = self._local_persons("form", [record])[0]
            return int(result["id"])
        result = self.marketo.sync_leads([record], action="createOrUpdate", lookup_field="email")[0]
        if not result.ok:
            raise AssertionError(f"Marketo refused {email}: {result.reasons}")
        return int(result.id)

    @keyword("Create CRM Synced Person")
    def create_crm_synced_person(self, contact_id: str, email: str, last_name: str, first_name: str = "") -> int:
        """Local Marketo only: a person as Marketo's native Salesforce sync creates it (no email dedupe)."""
        if not is_local_marketo(self.marketo.base_url):
            BuiltIn().skip("A real Marketo's native Salesforce sync creates CRM-synced persons itself")
        record = {"sfdcType": "Contact", "sfdcContactId": contact_id, "email": email, "lastName": last_name}
        if first_name:
            record["firstName"] = first_name
        return int(self._local_persons("crm", [record])[0]["id"])

    def _local_persons(self, source: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        credentials = credentials_from_project(self._cumulusci.project_config)
        answer = requests.post(f"{credentials.base_url}/_local/persons", json={"source": source, "input": records},
                               headers={ADMIN_HEADER: credentials.client_secret}, timeout=60)
        if answer.status_code != 200:
            raise AssertionError(f"local Marketo admin API answered {answer.status_code}: {answer.text[:300]}")
        results = answer.json()["result"]
        if any(result.get("status") not in ("created", "updated") for result in results):
            raise AssertionError(f"local Marketo refused persons: {results}")
        return results

    @keyword("Marketo Activity Ids")
    def marketo_activity_ids(self, *person_ids: int, since_minutes: int = 30) -> list[int]:
        """Ids of New Lead / Fill Out Form / Change Data Value / Merge Leads activities of the persons."""
        names = {"New Lead", "Fill Out Form", "Change Data Value", "Merge Leads"}
        types = [int(t["id"]) for t in self.marketo.get_activity_types() if t.get("name") in names]
        token = self.marketo.get_paging_token(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=int(since_minutes)))
        ids = [int(a["id"]) for a in self.marketo.get_activities(types, token, lead_ids=[int(p) for p in person_ids])]
        logger.info(f"activities of {person_ids}: {ids}")
        return ids

    @keyword("Activities Should Be Kept")
    def activities_should_be_kept(self, before: list[int], after: list[int]) -> None:
        lost = sorted(set(int(a) for a in before) - set(int(a) for a in after))
        if lost:
            raise AssertionError(f"activities lost: {lost}")
