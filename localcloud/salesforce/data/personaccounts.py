"""Person Accounts: an org feature, as Salesforce models it.

Enabling it (one way, as in Salesforce) adds to the schema:
- ``Account.IsPersonAccount`` (read-only), ``Account.PersonContactId`` (read-only lookup to the person
  contact, relationship ``PersonContact``), and the person fields on Account (``FirstName``,
  ``LastName``, ``Salutation``, ``PersonEmail``, ``PersonBirthdate``, ``PersonMobilePhone`` ... see
  ``STANDARD_PAIRS``), each the Account side of a Contact field;
- every Contact custom field ``X__c`` as ``Account.X__pc`` (lookups: relationship ``X__pr``), now and
  whenever a Contact custom field is deployed later;
- ``Contact.IsPersonAccount`` (read-only), ``RecordType.IsPersonType`` (read-only);
- two Account record types: ``Business_Account`` ("Business Account", the default) and
  ``PersonAccount`` ("Person Account", ``IsPersonType = true``).

Storage: a person account is an Account row and its person contact a Contact row (``IsPersonAccount =
true``, ``AccountId`` = the account); the person fields are stored on both and kept in step by the
DML engine (``dml.py`` calls the hooks below), so SOQL, Bulk and REST read either side unchanged.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import features
from .changes import CREATE, DELETE, UPDATE, RecordChange
from .errors import RecordError
from .fieldtypes import field_describe
from .ids import make_id
from .schema import FieldDef, ObjectDef, Schema

if TYPE_CHECKING:  # pragma: no cover
    from .dml import _Run
    from .txn import DataStore as Store, DataTransaction as Transaction

#: environment setting of the ``local`` org (org number 1): ``on`` (default) or ``off``
ENV_SETTING = "ECBRIDGE_ORG_PERSON_ACCOUNTS"
PERSON_RECORD_TYPE = "PersonAccount"
PERSON_RECORD_TYPE_LABEL = "Person Account"
BUSINESS_RECORD_TYPE = "Business_Account"
BUSINESS_RECORD_TYPE_LABEL = "Business Account"

#: Account person field -> the Contact field it is the account side of
STANDARD_PAIRS: tuple[tuple[str, str], ...] = (
    ("FirstName", "FirstName"), ("LastName", "LastName"), ("Salutation", "Salutation"),
    ("PersonEmail", "Email"), ("PersonBirthdate", "Birthdate"), ("PersonMobilePhone", "MobilePhone"),
    ("PersonHomePhone", "HomePhone"), ("PersonOtherPhone", "OtherPhone"),
    ("PersonAssistantPhone", "AssistantPhone"), ("PersonAssistantName", "AssistantName"),
    ("PersonTitle", "Title"), ("PersonDepartment", "Department"), ("PersonLeadSource", "LeadSource"),
    ("PersonMailingStreet", "MailingStreet"), ("PersonMailingCity", "MailingCity"),
    ("PersonMailingState", "MailingState"), ("PersonMailingPostalCode", "MailingPostalCode"),
    ("PersonMailingCountry", "MailingCountry"), ("PersonMailingLatitude", "MailingLatitude"),
    ("PersonMailingLongitude", "MailingLongitude"), ("PersonMailingGeocodeAccuracy", "MailingGeocodeAccuracy"),
    ("PersonOtherStreet", "OtherStreet"), ("PersonOtherCity", "OtherCity"), ("PersonOtherState", "OtherState"),
    ("PersonOtherPostalCode", "OtherPostalCode"), ("PersonOtherCountry", "OtherCountry"),
    ("PersonOtherLatitude", "OtherLatitude"), ("PersonOtherLongitude", "OtherLongitude"),
    ("PersonOtherGeocodeAccuracy", "OtherGeocodeAccuracy"),
    ("PersonHasOptedOutOfEmail", "HasOptedOutOfEmail"), ("PersonHasOptedOutOfFax", "HasOptedOutOfFax"),
    ("PersonDoNotCall", "DoNotCall"), ("PersonEmailBouncedReason", "EmailBouncedReason"),
    ("PersonEmailBouncedDate", "EmailBouncedDate"), ("PersonIndividualId", "IndividualId"),
    ("PersonLastCURequestDate", "LastCURequestDate"), ("PersonLastCUUpdateDate", "LastCUUpdateDate"),
)
#: Account fields a person account shares with its person contact under the same name
SHARED_PAIRS: tuple[tuple[str, str], ...] = (("Phone", "Phone"), ("Fax", "Fax"))
#: the Account field of a standard Contact field, lower-case both sides
_RELATIONSHIPS = {"PersonIndividualId": "PersonIndividual"}

#: error codes and messages. Salesforce documents the code of the person account Name error
#: (INVALID_FIELD_FOR_INSERT_UPDATE "Account: bad field names on insert/update call: Name", help article
#: 000386207) and INVALID_PERSON_ACCOUNT_OPERATION (StatusCode) with "cannot reference person contact"
#: (reported by users on person contact DML). The others are settings: the local org's best reading.
ERRORS: dict[str, tuple[str, str]] = {
    "bad_fields": ("INVALID_FIELD_FOR_INSERT_UPDATE", "Account: bad field names on insert/update call: {fields}"),
    "person_contact": ("INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person contact"),
    "person_account_parent": ("INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person account"),
    "record_type_with_fields": ("INVALID_PERSON_ACCOUNT_OPERATION",
                                "You can't combine a person account record type change with any other field update."),
    "to_person_contacts": ("INVALID_PERSON_ACCOUNT_OPERATION",
                           "A business account becomes a person account only when it has exactly one contact "
                           "(this one has {count})"),
    "to_person_parent": ("INVALID_PERSON_ACCOUNT_OPERATION",
                         "A business account with a Parent Account cannot become a person account"),
    "record_type": ("INVALID_CROSS_REFERENCE_KEY", "Record Type ID: this ID value isn't valid for the user: {id}"),
}


def _error(key: str, *fields: str, **fmt: Any) -> RecordError:
    code, message = ERRORS[key]
    return RecordError(code, message.format(**fmt), tuple(fields))


# -- schema ------------------------------------------------------------------------------------------
def enabled(schema: Schema) -> bool:
    """Does this org have Person Accounts (``Account.IsPersonAccount`` exists)?"""
    account = schema.find("Account")
    return account is not None and "ispersonaccount" in account.fields


def default_for_new_org(org_number: int) -> bool:
    """The ``local`` org (org number 1) has Person Accounts unless ``ECBRIDGE_ORG_PERSON_ACCOUNTS=off``;
    the Dev Hub's scratch orgs have them only with the ``PersonAccounts`` feature."""
    if org_number != 1:
        return False
    return os.environ.get(ENV_SETTING, "on").strip().lower() not in ("off", "0", "false", "no")


def pc_name(contact_field: str) -> str:
    """``Member_Key__c`` -> ``Member_Key__pc``."""
    return contact_field[:-3] + "__pc"


def _mirror(raw: Mapping[str, Any], name: str, *, relationship: str | None = None) -> dict[str, Any]:
    """The Account-side describe of a Contact field."""
    d = copy.deepcopy(dict(raw))
    d.pop("_childRelationshipName", None)
    d.update(name=name, nameField=False, nillable=True if d.get("type") != "boolean" else False,
             compoundFieldName=None)
    if d.get("type") == "reference":
        d["relationshipName"] = relationship
    return d


def mirror_contact_field(schema: Schema, contact_field: FieldDef) -> dict[str, Any] | None:
    """Account ``__pc`` describe for a custom Contact field (None for compound fields)."""
    if contact_field.type in ("address", "location"):
        return None
    rel = contact_field.relationship_name
    return _mirror(contact_field.raw, pc_name(contact_field.name),
                   relationship=(rel[:-3] + "__pr") if rel and rel.endswith("__r") else None)


def _account_raw(schema: Schema, business_id: str, person_id: str) -> dict[str, Any]:
    account = schema.get("Account")
    contact = schema.get("Contact")
    raw = copy.deepcopy(account.raw)
    have = {f["name"].lower() for f in raw["fields"]}
    added: list[dict[str, Any]] = []
    for acc_name, con_name in STANDARD_PAIRS:
        cfd = contact.find_field(con_name)
        if cfd is None or acc_name.lower() in have:
            continue
        added.append(_mirror(cfd.raw, acc_name, relationship=_RELATIONSHIPS.get(acc_name)))
    for cfd in contact.fields.values():
        if cfd.custom and cfd.name.endswith("__c") and pc_name(cfd.name).lower() not in have:
            m = mirror_contact_field(schema, cfd)
            if m is not None:
                added.append(m)
    ro = dict(createable=False, updateable=False)
    added.append(field_describe("IsPersonAccount", "boolean", "Is Person Account", defaultedOnCreate=True, **ro))
    added.append(field_describe("PersonContactId", "reference", "Person Contact ID", referenceTo=["Contact"],
                                relationshipName="PersonContact", **ro))
    raw["fields"] = raw["fields"] + added
    raw["_recordTypeInfos"] = [
        {"developerName": BUSINESS_RECORD_TYPE, "name": BUSINESS_RECORD_TYPE_LABEL, "recordTypeId": business_id,
         "defaultRecordTypeMapping": True, "master": False},
        {"developerName": PERSON_RECORD_TYPE, "name": PERSON_RECORD_TYPE_LABEL, "recordTypeId": person_id,
         "defaultRecordTypeMapping": False, "master": False},
    ]
    raw["_defaultRecordTypeId"] = business_id
    return raw


def enable(tx: "Transaction") -> bool:
    """Turn Person Accounts on in this org (inside ``tx``); False when they already were. One way."""
    if enabled(tx.schema):
        return False
    tx.begin_write()
    schema = tx.schema
    contact = copy.deepcopy(schema.get("Contact").raw)
    have = {f["name"].lower() for f in contact["fields"]}
    if "hasoptedoutofemail" not in have:  # a standard Contact field every org has
        contact["fields"].append(field_describe("HasOptedOutOfEmail", "boolean", "Email Opt Out"))
    contact["fields"].append(field_describe("IsPersonAccount", "boolean", "Is Person Account",
                                            defaultedOnCreate=True, createable=False, updateable=False))
    tx.replace_object(contact)
    rt = copy.deepcopy(tx.schema.get("RecordType").raw)
    rt["fields"].append(field_describe("IsPersonType", "boolean", "Is Person Type", createable=False,
                                       updateable=False))
    tx.replace_object(rt)
    results = tx.insert("RecordType", [
        {"Name": BUSINESS_RECORD_TYPE_LABEL, "DeveloperName": BUSINESS_RECORD_TYPE, "SobjectType": "Account",
         "IsActive": True, "IsPersonType": False},
        {"Name": PERSON_RECORD_TYPE_LABEL, "DeveloperName": PERSON_RECORD_TYPE, "SobjectType": "Account",
         "IsActive": True, "IsPersonType": True,
         "Description": "Person accounts: an individual consumer (the person contact behind it)"},
    ], read_only_fields="write")
    if not all(r.success for r in results):
        raise RuntimeError(f"person account record types: {[e.to_json() for r in results for e in r.errors]}")
    business_id, person_id = (r.id for r in results)
    tx.replace_object(_account_raw(tx.schema, business_id, person_id))  # type: ignore[arg-type]
    return True


def enable_store(store: "Store") -> bool:
    with store.transaction() as tx:
        return enable(tx)


def field_pairs(schema: Schema) -> list[tuple[FieldDef, FieldDef]]:
    """(Account field, Contact field) of every person field of the org."""
    account, contact = schema.get("Account"), schema.get("Contact")
    out = []
    for acc_name, con_name in STANDARD_PAIRS + SHARED_PAIRS:
        afd, cfd = account.find_field(acc_name), contact.find_field(con_name)
        if afd is not None and cfd is not None:
            out.append((afd, cfd))
    for afd in account.fields.values():
        if afd.name.endswith("__pc"):
            cfd = contact.find_field(afd.name[:-4] + "__c")
            if cfd is not None:
                out.append((afd, cfd))
    return out


def person_only_fields(schema: Schema) -> list[FieldDef]:
    """The Account fields only a person account may carry."""
    shared = {a.lower() for a, _ in SHARED_PAIRS}
    return [afd for afd, _ in field_pairs(schema) if afd.lower not in shared]


def _run_record_types(run: "_Run") -> dict[str, bool]:
    """``_record_types`` read once per DML statement (a bulk load asks for every record)."""
    cached = getattr(run, "_person_record_types", None)
    if cached is None:
        cached = _record_types(run.tx)
        setattr(run, "_person_record_types", cached)
    return cached


def _record_types(tx: "Transaction") -> dict[str, bool]:
    """Account record type id -> is a person type (active ones)."""
    rows = tx.execute('SELECT id, "ispersontype" FROM "t_recordtype" WHERE isdeleted = 0 AND "isactive" = 1 '
                      'AND "sobjecttype" = \'Account\'').fetchall()
    return {r[0]: bool(r[1]) for r in rows}


def _name(first: Any, last: Any) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


# -- DML hooks (called by dml._Run) --------------------------------------------------------------------
def defaults(run: "_Run", row: dict[str, Any]) -> None:
    """A new Account gets the default (business) record type before its triggers. ``IsPersonAccount`` is
    false in *before insert* (set on save, as users of real orgs report: test the RecordTypeId there) unless
    the store's ``person_flag_in_before_insert`` setting is on."""
    if run.od.lower != "account" or not enabled(run.tx.schema):
        return
    if row.get("recordtypeid") is None:
        row["recordtypeid"] = run.od.raw.get("_defaultRecordTypeId")
    early = bool(getattr(run.tx.store, "person_flag_in_before_insert", False))
    row["ispersonaccount"] = early and bool(_run_record_types(run).get(row["recordtypeid"] or "", False))


def before_save(run: "_Run", row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
    """Account/Contact rules before a record is validated and written; raises ``RecordFailure``."""
    if not enabled(run.tx.schema):
        return
    if run.od.lower == "account":
        _account_rules(run, row, given, old)
    elif run.od.lower == "contact":
        _contact_rules(run, row, given, old)


def _fail(*errors: RecordError) -> None:
    from .dml import RecordFailure

    raise RecordFailure(list(errors))


def _account_rules(run: "_Run", row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
    tx, schema = run.tx, run.tx.schema
    types = _run_record_types(run)
    rt = row.get("recordtypeid")
    if rt is None:
        rt = row["recordtypeid"] = (old or {}).get("recordtypeid") or run.od.raw.get("_defaultRecordTypeId")
    if rt not in types:
        _fail(_error("record_type", "RecordTypeId", id=rt))
    person = types[rt]
    was_person = bool(old and old.get("ispersonaccount"))
    person_fields = person_only_fields(schema)
    if old is not None and person != was_person:
        changed = [k for k, v in given.items() if k != "recordtypeid" and old.get(k) != v]
        if changed:
            _fail(_error("record_type_with_fields", "RecordTypeId"))
        if person:
            _to_person(run, row)
        else:
            _to_business(run, row, person_fields)
        return
    if person:
        name = given.get("name")
        if name is not None and (old is None or name != old.get("name")):
            _fail(_error("bad_fields", "Name", fields="Name"))
        if not row.get("lastname"):
            _fail(RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ("LastName",)))
        row["name"] = _name(row.get("firstname"), row.get("lastname"))
        row["ispersonaccount"] = True
        if old is None:
            row["personcontactid"] = make_id("003", tx.store._next_numbers(tx._conn, "003", 1))
    else:
        bad = [fd.name for fd in person_fields if given.get(fd.lower) not in (None, False)]
        if bad:
            _fail(_error("bad_fields", *bad, fields=", ".join(bad)))
        row["ispersonaccount"] = False


def _live_contacts(tx: "Transaction", account_id: str) -> list[str]:
    return [r[0] for r in tx.execute('SELECT id FROM "t_contact" WHERE "accountid" = ? AND isdeleted = 0',
                                     (account_id,))]


def _to_person(run: "_Run", row: dict[str, Any]) -> None:
    from .dml import load_rows

    tx = run.tx
    if row.get("parentid"):
        _fail(_error("to_person_parent", "ParentId"))
    contacts = _live_contacts(tx, row["id"])
    if len(contacts) != 1:
        _fail(_error("to_person_contacts", "RecordTypeId", count=len(contacts)))
    contact = load_rows(tx, tx.schema.get("Contact"), contacts)[contacts[0]]
    for afd, cfd in field_pairs(tx.schema):
        row[afd.lower] = contact.get(cfd.lower)
    row["personcontactid"] = contacts[0]
    row["ispersonaccount"] = True
    row["name"] = _name(row.get("firstname"), row.get("lastname"))


def _to_business(run: "_Run", row: dict[str, Any], person_fields: Iterable[FieldDef]) -> None:
    row["name"] = _name(row.get("firstname"), row.get("lastname")) or row.get("name")
    for fd in person_fields:
        row[fd.lower] = False if fd.type == "boolean" else None
    row["personcontactid"] = None
    row["ispersonaccount"] = False


def _contact_rules(run: "_Run", row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
    tx = run.tx
    if old is not None and old.get("ispersonaccount"):
        if getattr(tx.store, "person_contact_updates", "sync") == "refuse":
            _fail(_error("person_contact"))
        if row.get("accountid") != old.get("accountid"):
            _fail(_error("person_contact", "AccountId"))
        return
    account = row.get("accountid")
    if account and (old is None or account != old.get("accountid")):
        hit = tx.execute('SELECT "ispersonaccount" FROM "t_account" WHERE id = ?', (account,)).fetchone()
        if hit is not None and hit[0]:
            _fail(_error("person_account_parent", "AccountId"))


def refuse_delete(run: "_Run", old: Mapping[str, Any]) -> RecordError | None:
    """A person contact is deleted with its account, never on its own."""
    if run.od.lower == "contact" and old.get("ispersonaccount") and enabled(run.tx.schema):
        return _error("person_contact")
    return None


def after_save(run: "_Run", row: dict[str, Any], old: dict[str, Any] | None) -> None:
    """Keep the other side in step once an Account or a person contact row is written."""
    if not enabled(run.tx.schema):
        return
    if run.od.lower == "account":
        if row.get("ispersonaccount") or (old is not None and old.get("ispersonaccount")):
            _write_person_contact(run, row, old)
    elif run.od.lower == "contact" and old is not None and old.get("ispersonaccount"):
        _write_account_from_contact(run, row, old)


def _write_person_contact(run: "_Run", account: dict[str, Any], old: dict[str, Any] | None) -> None:
    from .dml import _Run as Run, canonical, load_rows

    tx, schema = run.tx, run.tx.schema
    cod = schema.get("Contact")
    contact_id = account.get("personcontactid") or (old or {}).get("personcontactid")
    values: dict[str, Any] = {}
    if account.get("ispersonaccount"):
        for afd, cfd in field_pairs(schema):
            values[cfd.lower] = account.get(afd.lower)
        values.update(name=_name(account.get("firstname"), account.get("lastname")), ispersonaccount=True,
                      ownerid=account.get("ownerid"), accountid=account["id"])
    else:  # the account became a business account: its person contact becomes an ordinary contact
        values["ispersonaccount"] = False
    for f in ("lastmodifieddate", "lastmodifiedbyid", "systemmodstamp"):
        values[f] = account.get(f)
    existing = load_rows(tx, cod, [contact_id]).get(contact_id) if contact_id else None
    if existing is None:
        crow = Run(tx, cod, True, [], "write")._new_row({})
        crow.update(values)
        crow.update(id=contact_id, createddate=account.get("createddate"), createdbyid=account.get("createdbyid"))
        Run(tx, cod, True, [], "write")._write_insert(crow)
        tx.record_change(RecordChange(CREATE, cod.name, contact_id, canonical(cod, crow)))
        return
    _write_changes(tx, cod, contact_id, existing, values)


def _write_changes(tx: "Transaction", od: ObjectDef, record_id: str, existing: Mapping[str, Any],
                   values: Mapping[str, Any]) -> None:
    """Write the ``values`` (lower-case names) that differ from the ``existing`` row, as one change event."""
    from .values import to_db

    changed = [od.fields[k] for k, v in values.items() if k in od.fields and existing.get(k) != v]
    if not changed:
        return
    tx.execute(f"UPDATE {od.table} SET {', '.join(f'{fd.column} = ?' for fd in changed)} WHERE id = ?",
               [to_db(fd, values[fd.lower]) for fd in changed] + [record_id])
    tx.record_change(RecordChange(UPDATE, od.name, record_id, {fd.name: values[fd.lower] for fd in changed},
                                  tuple(fd.name for fd in changed)))


def _write_account_from_contact(run: "_Run", contact: dict[str, Any], old: dict[str, Any]) -> None:
    from .dml import load_rows

    tx, schema = run.tx, run.tx.schema
    aod = schema.get("Account")
    account_id = contact.get("accountid")
    existing = load_rows(tx, aod, [account_id]).get(account_id) if account_id else None
    if existing is None:
        return
    values = {afd.lower: contact.get(cfd.lower) for afd, cfd in field_pairs(schema)}
    values["name"] = _name(contact.get("firstname"), contact.get("lastname"))
    for f in ("lastmodifieddate", "lastmodifiedbyid", "systemmodstamp"):
        values[f] = contact.get(f)
    _write_changes(tx, aod, account_id, existing, values)


def on_delete(tx: "Transaction", od: ObjectDef, record_id: str, now: Any) -> None:
    """Deleting a person account deletes its person contact."""
    if od.lower != "account" or not enabled(tx.schema):
        return
    hit = tx.execute('SELECT "personcontactid" FROM "t_account" WHERE id = ?', (record_id,)).fetchone()
    if not hit or not hit[0]:
        return
    from .values import to_db

    cod = tx.schema.get("Contact")
    stamp = to_db(cod.fields["systemmodstamp"], now)
    tx.execute(f"UPDATE {cod.table} SET isdeleted = 1, systemmodstamp = ? WHERE id = ? AND isdeleted = 0",
               (stamp, hit[0]))
    tx.record_change(RecordChange(DELETE, cod.name, hit[0]))


class _Hooks(features.PersonAccountHooks):
    """This module's answers to schema and dml (``features.py``), installed at import."""

    def enabled(self, schema: Any) -> bool:
        return enabled(schema)

    def mirror_contact_field(self, schema: Any, contact_field: Any) -> dict[str, Any] | None:
        return mirror_contact_field(schema, contact_field)

    def defaults(self, run: Any, row: dict[str, Any]) -> None:
        defaults(run, row)

    def before_save(self, run: Any, row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
        before_save(run, row, given, old)

    def after_save(self, run: Any, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        after_save(run, row, old)

    def refuse_delete(self, run: Any, old: Mapping[str, Any]) -> RecordError | None:
        return refuse_delete(run, old)

    def on_delete(self, tx: Any, od: ObjectDef, record_id: str, now: Any) -> None:
        on_delete(tx, od, record_id, now)


features.person_accounts = _Hooks()
