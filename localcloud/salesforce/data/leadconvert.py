"""Lead conversion as Salesforce's ``convertLead()`` does it (SOAP ``convertLead``, Apex
``Database.convertLead``): one Lead becomes a new or existing Account and Contact and, unless told
not to, a new Opportunity; the Lead is then marked converted and refuses further updates.

Every record is written with the ordinary DML of this package, so the triggers of Account, Contact,
Opportunity and Lead fire as for any other save (while the org's ``LeadConfigSettings``
``shouldLeadConvertRequireValidation``, Setup's "Enable Validation and Triggers from Lead Convert",
is on: ``triggers_on_convert``) (inserts for new records, updates for the existing
Account/Contact merged into and for the Lead itself: ``Trigger.new`` carries ``IsConverted = true``
and the ``Converted*Id`` fields, ``Trigger.old`` the unconverted Lead).

Rules (Salesforce's, from the convertLead() documentation):

- ``convertedStatus`` must name a ``LeadStatus`` row with ``IsConverted = true`` (its ``ApiName`` or
  ``MasterLabel``); the Lead's ``Status`` becomes that value.
- Standard Lead fields map to the standard fields of the new records (``STANDARD_MAPPINGS``);
  custom Lead fields map as the org's ``LeadConvertSettings`` declare (deployed as
  ``settings/LeadConvert.settings``: ``objectMapping`` per output object, ``inputField`` ->
  ``outputField``). Custom fields are never mapped by name alone, as in Salesforce.
- Merging into an existing Account/Contact (``accountId``/``contactId``) fills only the target's
  empty fields; existing data is never overwritten, except ``LeadSource`` on the Contact with
  ``overwriteLeadSource``.
- ``contactId`` needs ``accountId``, and the Contact must belong to that Account.
- A new Opportunity is named ``opportunityName`` or ``<Company>-``, is at the first open stage and
  closes at the end of the current calendar quarter; the Contact becomes its primary contact role.

Error codes: ``INVALID_STATUS`` ("invalid convertedStatus: X"), ``CANNOT_UPDATE_CONVERTED_LEAD``
("cannot reference converted lead"), ``REQUIRED_FIELD_MISSING`` (no lead id, or a contactId
without accountId), ``INVALID_CROSS_REFERENCE_KEY`` (an unknown lead/account/contact, or a contact
of another account), and any error the DML of the new records gives (a trigger's ``addError``...).
The status codes are Salesforce's; the texts of the last three cases are the local org's (not
documented).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import RecordError
from .ids import is_valid_id, key_prefix, to18

if TYPE_CHECKING:  # pragma: no cover
    from .txn import DataTransaction as Transaction

#: Salesforce's default Lead Status values (a new org's Setup > Lead Status): label, default, converted
DEFAULT_LEAD_STATUSES = (
    ("Open - Not Contacted", True, False),
    ("Working - Contacted", False, False),
    ("Closed - Converted", False, True),
    ("Closed - Not Converted", False, False),
)

#: standard Lead field -> field of the record conversion creates (fields the local org does not have are skipped)
STANDARD_MAPPINGS: dict[str, dict[str, str]] = {
    "Account": {"Company": "Name", "Street": "BillingStreet", "City": "BillingCity", "State": "BillingState",
                "PostalCode": "BillingPostalCode", "Country": "BillingCountry", "Phone": "Phone", "Fax": "Fax",
                "Website": "Website", "Industry": "Industry", "AnnualRevenue": "AnnualRevenue",
                "NumberOfEmployees": "NumberOfEmployees", "Rating": "Rating", "LeadSource": "AccountSource"},
    "Contact": {"FirstName": "FirstName", "LastName": "LastName", "Salutation": "Salutation", "Title": "Title",
                "Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone", "Fax": "Fax",
                "Street": "MailingStreet", "City": "MailingCity", "State": "MailingState",
                "PostalCode": "MailingPostalCode", "Country": "MailingCountry", "LeadSource": "LeadSource",
                "Description": "Description", "DoNotCall": "DoNotCall", "HasOptedOutOfEmail": "HasOptedOutOfEmail",
                "HasOptedOutOfFax": "HasOptedOutOfFax", "IndividualId": "IndividualId"},
    "Opportunity": {"LeadSource": "LeadSource"},
}
OUTPUT_OBJECTS = ("Account", "Contact", "Opportunity")
SETTINGS_KEY = "lead_convert_settings"
CONFIG_KEY = "lead_config_settings"
MAX_PER_CALL = 100  # Database.convertLead; SOAP convertLead takes 200


@dataclass
class LeadConvert:
    """One conversion request (Apex ``Database.LeadConvert``, SOAP ``LeadConvert``)."""

    lead_id: str | None = None
    converted_status: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str | None = None
    opportunity_name: str | None = None
    do_not_create_opportunity: bool = False
    overwrite_lead_source: bool = False
    send_notification_email: bool = False  # accepted; the local org sends no email


@dataclass
class LeadConvertResult:
    lead_id: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    errors: list[RecordError] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors


class _Failed(Exception):
    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__(errors[0].message if errors else "")
        self.errors = errors


def _fail(code: str, message: str, *fields: str) -> _Failed:
    return _Failed([RecordError(code, message, tuple(fields))])


# -- settings: the deployed LeadConvertSettings' custom field mappings -------------------------------
def field_mappings(tx: "Transaction") -> dict[str, dict[str, str]]:
    """``{"Contact": {"Lead_Field__c": "Contact_Field__c"}, ...}`` as the last deploy declared it."""
    row = tx.execute("SELECT value FROM _meta WHERE key = ?", (SETTINGS_KEY,)).fetchone()
    return json.loads(row[0]) if row else {}


def set_field_mappings(tx: "Transaction", mappings: Mapping[str, Mapping[str, str]]) -> None:
    """Replace the custom field mappings (the metadata deploy of ``LeadConvertSettings`` calls this)."""
    tx.begin_write()
    value = json.dumps({obj: dict(m) for obj, m in mappings.items()}, sort_keys=True)
    tx.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)", (SETTINGS_KEY, value))


def triggers_on_convert(tx: "Transaction") -> bool:
    """``LeadConfigSettings.shouldLeadConvertRequireValidation`` (Setup: "Enable Validation and Triggers
    from Lead Convert"); the local org's default is on (``ECBRIDGE_ORG_LEAD_CONVERT_TRIGGERS=off`` turns
    the default off) until a deploy of ``settings/LeadConfig.settings`` says otherwise."""
    row = tx.execute("SELECT value FROM _meta WHERE key = ?", (CONFIG_KEY,)).fetchone()
    if row:
        return bool(json.loads(row[0]).get("shouldLeadConvertRequireValidation"))
    return os.environ.get("ECBRIDGE_ORG_LEAD_CONVERT_TRIGGERS", "on").lower() not in ("off", "false", "0")


def set_lead_config(tx: "Transaction", require_validation: bool) -> None:
    tx.begin_write()
    tx.execute("INSERT OR REPLACE INTO _meta (key, value) VALUES (?, ?)",
               (CONFIG_KEY, json.dumps({"shouldLeadConvertRequireValidation": require_validation})))


def set_lead_statuses(tx: "Transaction", statuses: Sequence[tuple[str, str, bool, bool]]) -> None:
    """Replace the Lead Status values (``ApiName``, ``MasterLabel``, default, converted), in order: what
    deploying the ``LeadStatus`` StandardValueSet does. ``Lead.Status`` is an unrestricted picklist,
    so Leads accept the new values; its describe keeps listing the standard ones."""
    od = tx.schema.get("LeadStatus")
    tx.begin_write()
    tx.execute(f"DELETE FROM {od.table}")
    rows = [{"ApiName": api, "MasterLabel": label, "SortOrder": n, "IsDefault": default, "IsConverted": converted}
            for n, (api, label, default, converted) in enumerate(statuses, start=1)]
    for result in tx.insert("LeadStatus", rows, read_only_fields="write"):
        if not result.success:
            raise ValueError(f"LeadStatus: {result.errors[0].message}")


def seed_lead_statuses(tx: "Transaction") -> None:
    """The default Lead Status rows (a new org's), when the org has none (older files too)."""
    od = tx.schema.find("LeadStatus")
    if od is None or tx.execute(f"SELECT COUNT(*) FROM {od.table}").fetchone()[0]:
        return
    rows = [{"MasterLabel": label, "ApiName": label, "SortOrder": n, "IsDefault": default, "IsConverted": converted}
            for n, (label, default, converted) in enumerate(DEFAULT_LEAD_STATUSES, start=1)]
    for result in tx.insert("LeadStatus", rows, read_only_fields="write"):
        if not result.success:
            raise RuntimeError(f"seeding LeadStatus failed: {result.errors}")


# -- conversion ----------------------------------------------------------------------------------------
def convert_leads(tx: "Transaction", converts: Sequence[LeadConvert], *, all_or_none: bool = False
                  ) -> list[LeadConvertResult]:
    """Convert each Lead; one result per request, in order. Without ``all_or_none`` a failed
    conversion is undone alone; with it the first failure undoes them all (the others then carry
    ``ALL_OR_NONE_OPERATION_ROLLED_BACK``)."""
    seed_lead_statuses(tx)
    suppressed, tx.triggers_suppressed = tx.triggers_suppressed, not triggers_on_convert(tx)
    try:
        return _convert_all(tx, converts, all_or_none)
    finally:
        tx.triggers_suppressed = suppressed


def _convert_all(tx: "Transaction", converts: Sequence[LeadConvert], all_or_none: bool) -> list[LeadConvertResult]:
    outer = tx.savepoint()
    results: list[LeadConvertResult] = []
    for request in converts:
        sp = tx.savepoint()
        result = LeadConvertResult(to18(request.lead_id) if request.lead_id and is_valid_id(request.lead_id)
                                   else request.lead_id)
        try:
            _convert_one(tx, request, result)
            tx.release(sp)
        except _Failed as failed:
            tx.rollback_to(sp)
            result.account_id = result.contact_id = result.opportunity_id = None
            result.errors = failed.errors
        results.append(result)
        if result.errors and all_or_none:
            break
    if all_or_none and any(r.errors for r in results):
        tx.rollback_to(outer)
        rolled = RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records "
                             "were valid and the request was using AllOrNone header")
        results += [LeadConvertResult(r.lead_id) for r in converts[len(results):]]  # type: ignore[misc]
        for r in results:
            if not r.errors:
                r.account_id = r.contact_id = r.opportunity_id = None
                r.errors = [rolled]
    else:
        tx.release(outer)
    return results


def _converted_status(tx: "Transaction", status: str | None) -> str:
    rows = tx.query("SELECT ApiName, MasterLabel FROM LeadStatus WHERE IsConverted = true").records
    for row in rows:
        if status and status in (row["ApiName"], row["MasterLabel"]):
            return row["ApiName"] or row["MasterLabel"]
    raise _fail("INVALID_STATUS", f"invalid convertedStatus: {status}", "Status")


def _existing(tx: "Transaction", sobject: str, record_id: str | None, what: str) -> dict[str, Any]:
    prefix = tx.schema.get(sobject).key_prefix
    if record_id and is_valid_id(record_id) and key_prefix(record_id) == prefix:
        found = tx.retrieve(sobject, record_id, typed=True)
        if found is not None:
            return found
    raise _fail("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {what} {record_id}", what)


def _convert_one(tx: "Transaction", request: LeadConvert, result: LeadConvertResult) -> None:
    if not request.lead_id:
        raise _fail("REQUIRED_FIELD_MISSING", "Required field is missing: leadId", "leadId")
    lead = _existing(tx, "Lead", request.lead_id, "leadId")
    if lead.get("IsConverted"):
        raise _fail("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", "Id")
    status = _converted_status(tx, request.converted_status)
    if request.contact_id and not request.account_id:
        raise _fail("REQUIRED_FIELD_MISSING", "accountId must be specified if contactId is not null", "accountId")
    account = _existing(tx, "Account", request.account_id, "accountId") if request.account_id else None
    contact = _existing(tx, "Contact", request.contact_id, "contactId") if request.contact_id else None
    if contact is not None and account is not None and contact.get("AccountId") != account["Id"]:
        raise _fail("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: contact {contact['Id']} does not "
                    f"belong to account {account['Id']}", "contactId")
    owner = request.owner_id or lead.get("OwnerId")
    custom = field_mappings(tx)

    def values(target: str) -> dict[str, Any]:
        od = tx.schema.get(target)
        out: dict[str, Any] = {}
        for source, dest in [*STANDARD_MAPPINGS[target].items(), *custom.get(target, {}).items()]:
            if source in lead and od.find_field(dest) is not None and lead[source] not in (None, ""):
                out[od.field(dest).name] = lead[source]
        return out

    def merge(target: str, existing: dict[str, Any], overwrite: tuple[str, ...] = ()) -> None:
        fill = {k: v for k, v in values(target).items() if existing.get(k) in (None, "", False) or k in overwrite}
        fill.pop("Name", None)  # an existing account keeps its name
        _save(tx.update(target, [{"Id": existing["Id"], **fill}]))

    if account is None:
        new_account = values("Account")
        new_account.setdefault("Name", lead.get("Company") or lead.get("Name"))
        result.account_id = _save(tx.insert("Account", [{**new_account, "OwnerId": owner}]))
    else:
        merge("Account", account)
        result.account_id = account["Id"]
    if contact is None:
        result.contact_id = _save(tx.insert("Contact", [{**values("Contact"), "AccountId": result.account_id,
                                                          "OwnerId": owner}]))
    else:
        merge("Contact", contact, ("LeadSource",) if request.overwrite_lead_source else ())
        result.contact_id = contact["Id"]
    if not request.do_not_create_opportunity:
        today = tx.now().astimezone(tx.store.timezone).date()
        opportunity = {**values("Opportunity"), "Name": request.opportunity_name or f"{lead.get('Company') or ''}-",
                       "AccountId": result.account_id, "OwnerId": owner, "StageName": _first_open_stage(tx),
                       "CloseDate": _quarter_end(today)}
        result.opportunity_id = _save(tx.insert("Opportunity", [opportunity]))
        if tx.schema.find("OpportunityContactRole") is not None:
            _save(tx.insert("OpportunityContactRole", [{"OpportunityId": result.opportunity_id,
                                                        "ContactId": result.contact_id, "IsPrimary": True}]))
    tx.converting_leads.add(lead["Id"])
    try:
        _save(tx.update("Lead", [{
            "Id": lead["Id"], "Status": status, "IsConverted": True,
            "ConvertedDate": tx.now().astimezone(tx.store.timezone).date(),
            "ConvertedAccountId": result.account_id, "ConvertedContactId": result.contact_id,
            "ConvertedOpportunityId": result.opportunity_id,
        }], read_only_fields="write"))
    finally:
        tx.converting_leads.discard(lead["Id"])


def _save(results: list[Any]) -> str:
    if not results[0].success:
        raise _Failed(list(results[0].errors))
    return results[0].id


def _first_open_stage(tx: "Transaction") -> str:
    """The picklist's default stage, else its first value that is not a closed one."""
    stage = tx.schema.get("Opportunity").field("StageName")
    if stage.default_value:
        return str(stage.default_value)
    values = stage.picklist_values
    return next((v for v in values if not v.startswith("Closed")), values[0] if values else "Prospecting")


def _quarter_end(day: date) -> date:
    """The last day of ``day``'s calendar quarter (the close date a converted opportunity gets)."""
    first_of_next = date(day.year + 1, 1, 1) if day.month > 9 else date(day.year, ((day.month - 1) // 3 + 1) * 3 + 1, 1)
    return date.fromordinal(first_of_next.toordinal() - 1)
