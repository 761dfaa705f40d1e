"""The duplicate scenario's Marketo side: persons that exist before (form fills) and after (CRM sync) the EC data.

- Marketo-only persons (a form fill before the shopper registered on the EC site). Real Marketo has no
  API that creates a person "as a form would"; the nearest is a leads sync `createOrUpdate` on email,
  which is what this uses against a real instance. The local Marketo has an admin API that records a
  true form fill (`POST /_local/persons` with `source: form`), used when the base URL is 127.0.0.1.
- CRM-synced persons (what Marketo's native Salesforce sync creates for a new Contact, never
  deduplicated by email). On a real instance the sync itself does this; only the local Marketo can
  be asked to do it (`source: crm`), so this step runs against the local Marketo only.
- Unsubscribes made in Marketo (consent withdrawn there): every third Marketo-only person clicks the
  unsubscribe link of an email (`POST /_local/unsubscribe`, the local Marketo only: a real instance has
  no API that clicks a link), recorded with `role: unsubscribed`.
Every person created and its activities at that time go to the receipt (`kind: marketo`).
"""
from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from typing import Any

import requests

from python_tasks.marketo import MarketoClient, credentials_from_project

from .receipt import ReceiptWriter
from .recipe import GeneratedData
from .schema import PayloadSchema

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ADMIN_HEADER = "X-Local-Admin-Secret"
HISTORY_ACTIVITY_NAMES = ("New Lead", "Fill Out Form", "Change Data Value")


class MarketoSeedError(Exception):
    """The duplicate scenario could not be set up in Marketo (says which person and why)."""


def is_local_marketo(base_url: str) -> bool:
    return (urllib.parse.urlsplit(base_url).hostname or "") in LOCAL_HOSTS


def _admin_call(base_url: str, secret: str, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One call of the local Marketo's admin API; its ``result`` list."""
    answer = requests.post(f"{base_url.rstrip('/')}{path}", json=body, headers={ADMIN_HEADER: secret}, timeout=60)
    if answer.status_code != 200:
        raise MarketoSeedError(f"local Marketo admin API {path} answered {answer.status_code}: {answer.text[:300]}")
    return list(answer.json().get("result") or [])


def _admin_persons(base_url: str, secret: str, source: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _admin_call(base_url, secret, "/_local/persons", {"source": source, "input": records})


UNSUBSCRIBE_EVERY = 3  # every third Marketo-only person unsubscribes in Marketo (local Marketo only)
UNSUBSCRIBE_REASON = "Unsubscribed from an email (ECBridge demo)"


def _admin_unsubscribe(base_url: str, secret: str, person_id: int) -> None:
    """The person clicks an email's unsubscribe link (the local Marketo's admin call)."""
    _admin_call(base_url, secret, "/_local/unsubscribe", {"leadId": person_id, "reason": UNSUBSCRIBE_REASON})


def _activity_ids(client: MarketoClient, since: dt.datetime, lead_ids: list[int]) -> dict[int, list[int]]:
    """Activity ids per lead since `since` (the history the merge must keep)."""
    if not lead_ids:
        return {}
    type_ids = [int(t["id"]) for t in client.get_activity_types() if t.get("name") in HISTORY_ACTIVITY_NAMES]
    if not type_ids:
        return {}
    token = client.get_paging_token(since)
    found: dict[int, list[int]] = {lead_id: [] for lead_id in lead_ids}
    for activity in client.get_activities(type_ids, token, lead_ids=lead_ids):
        found.setdefault(int(activity["leadId"]), []).append(int(activity["id"]))
    return found


def seed_marketo_only_persons(
    project_config: Any, data: GeneratedData, receipt: ReceiptWriter, *, logger: logging.Logger
) -> dict[str, Any]:
    """Create the Marketo-only persons of the duplicate scenario; record their ids and activities."""
    members = {member["id"]: member for member in data.members}
    credentials = credentials_from_project(project_config)
    records = [
        {"email": person["email"], "firstName": person["firstName"], "lastName": person["lastName"]}
        for person in data.marketo_only_persons
    ]
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    with MarketoClient(credentials) as client:
        if is_local_marketo(credentials.base_url):
            via = "local admin API (form fill)"
            raw = _admin_persons(credentials.base_url, credentials.client_secret, "form", records)
            results = [(r.get("status"), r.get("id"), r.get("reasons")) for r in raw]
        else:
            via = "leads sync createOrUpdate on email (real Marketo has no form-fill API)"
            synced = client.sync_leads(records, action="createOrUpdate", lookup_field="email")
            results = [(r.status, r.id, [str(reason) for reason in r.reasons]) for r in synced]
        failures = [
            f"{record['email']}: {status} {reasons}" for record, (status, _, reasons) in zip(records, results)
            if status not in ("created", "updated")
        ]
        if failures:
            raise MarketoSeedError("Marketo refused Marketo-only persons:\n  " + "\n  ".join(failures))
        ids = [int(person_id) for _, person_id, _ in results]
        activities = _activity_ids(client, since, ids)
        calls = client.counters().calls
    for person, person_id in zip(data.marketo_only_persons, ids):
        receipt.write(
            "marketo",
            role="marketo-only",
            memberKey=members[person["member"]]["memberId"],
            email=person["email"],
            personId=person_id,
            activityIds=activities.get(person_id, []),
            via=via,
        )
    unsubscribed = 0
    if is_local_marketo(credentials.base_url):  # consent withdrawn in Marketo: the person clicks the link
        for index, (person, person_id) in enumerate(zip(data.marketo_only_persons, ids)):
            if index % UNSUBSCRIBE_EVERY:
                continue
            _admin_unsubscribe(credentials.base_url, credentials.client_secret, person_id)
            receipt.write("marketo", role="unsubscribed", memberKey=members[person["member"]]["memberId"],
                          email=person["email"], personId=person_id, reason=UNSUBSCRIBE_REASON)
            unsubscribed += 1
    logger.info(f"Seeded {len(ids)} Marketo-only persons through the {via}; {unsubscribed} of them unsubscribed "
                "from an email")
    return {"marketoOnlyPersons": len(ids), "via": via, "marketoCalls": calls, "marketoUnsubscribes": unsubscribed}


def simulate_crm_sync(
    project_config: Any,
    sf: Any,
    data: GeneratedData,
    schema: PayloadSchema,
    receipt: ReceiptWriter,
    *,
    logger: logging.Logger,
) -> dict[str, Any]:
    """For each duplicate-scenario member now in Salesforce, a person as Marketo's native sync creates it."""
    credentials = credentials_from_project(project_config)
    if not is_local_marketo(credentials.base_url):
        logger.info("Real Marketo: its native Salesforce sync creates CRM-synced persons itself; nothing simulated")
        return {"crmSyncedPersons": 0, "skipped": "real Marketo"}
    by_id = {member["id"]: member for member in data.members}
    keys = [by_id[person["member"]]["memberId"] for person in data.marketo_only_persons]
    key_field = schema.sf_member_field(schema.member_key)
    fields = ["Id", key_field] + [schema.sf_member_field(name) for name in ("email", "firstName", "lastName") if name in schema.member_fields]
    if schema.person_account:  # the native sync sees a person account as its person contact
        fields.append("PersonContactId")
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), 200):
        chunk = ", ".join("'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'" for key in keys[start : start + 200])
        soql = f"SELECT {', '.join(fields)} FROM {schema.member_object} WHERE {key_field} IN ({chunk})"
        rows.extend(sf.query_all(soql)["records"])
    records = [
        {
            "sfdcType": schema.member_object if schema.member_object in ("Contact", "Lead") else "Contact",
            "sfdcContactId" if schema.member_object != "Lead" else "sfdcLeadId":
                row["PersonContactId"] if schema.person_account else row["Id"],
            "email": row.get(schema.sf_member_field("email")),
            "firstName": row.get(schema.sf_member_field("firstName")) if "firstName" in schema.member_fields else None,
            "lastName": row.get(schema.sf_member_field("lastName")) if "lastName" in schema.member_fields else None,
        }
        for row in rows
    ]
    missing = sorted(set(keys) - {row[key_field] for row in rows})
    if missing:
        logger.warning(f"{len(missing)} duplicate-scenario members are not in Salesforce (yet): {missing[:10]}")
    results = _admin_persons(credentials.base_url, credentials.client_secret, "crm", records) if records else []
    created = 0
    for row, result in zip(rows, results):
        if result.get("status") in ("created", "updated"):
            created += 1
            receipt.write("marketo", role="crm-synced", memberKey=row[key_field], email=row.get(schema.sf_member_field("email")),
                          personId=int(result["id"]), contactId=row["Id"])
        else:
            logger.warning(f"local Marketo refused a CRM-synced person for {row[key_field]}: {result}")
    logger.info(f"Created {created} CRM-synced persons as Marketo's native Salesforce sync would")
    return {"crmSyncedPersons": created, "missingInSalesforce": missing}
