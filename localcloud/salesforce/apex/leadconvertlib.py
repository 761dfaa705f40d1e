"""Apex lead conversion: ``Database.LeadConvert``, ``Database.convertLead`` and
``Database.LeadConvertResult`` on the data layer's ``leadconvert`` module (the rules are there).

``Database.convertLead(lc | List<LeadConvert> [, Boolean allOrNone] [, AccessLevel])``: at most 100 conversions a
call (more: ``System.LimitException``), one DML statement; with allOrNone (the default) the first
failure throws ``System.DmlException`` "ConvertLead failed. First exception on row N; first error:
CODE, message: [fields]" and nothing of the call is kept. The AccessLevel argument is accepted;
the records a conversion writes are not checked against the running user's permissions (the local
org's choice: it models no "Convert Leads" permission).
"""
from __future__ import annotations

from typing import Any

from . import ops
from .dml import DatabaseError, DmlRow, _session
from .stdlib import NEW, STATIC_METHODS, Native
from .values import ApexList, IdValue, TypeRef


class LeadConvert(Native):
    apex_type = "Database.LeadConvert"

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def _get(self, name: str) -> Any:
        return self.values.get(name)


_ID_PROPS = ("leadid", "accountid", "contactid", "ownerid", "opportunityid")
_TEXT_PROPS = ("convertedstatus", "opportunityname")
_FLAG_PROPS = ("donotcreateopportunity", "overwriteleadsource", "sendnotificationemail")


def _setter(name: str, kind: str):
    def set_(self: LeadConvert, a: list[Any]) -> None:
        value = a[0] if a else None
        if kind == "id" and value is not None:
            value = IdValue(str(value))
        elif kind == "flag":
            value = bool(value)
        self.values[name] = value
    return set_


for _name in _ID_PROPS + _TEXT_PROPS:
    setattr(LeadConvert, "m_set" + _name, _setter(_name, "id" if _name in _ID_PROPS else "text"))
    setattr(LeadConvert, "m_get" + _name, (lambda k: lambda self, a: self.values.get(k))(_name))
for _name in _FLAG_PROPS:
    setattr(LeadConvert, "m_set" + _name, _setter(_name, "flag"))
    setattr(LeadConvert, "m_is" + _name, (lambda k: lambda self, a: bool(self.values.get(k)))(_name))


class LeadConvertResult(Native):
    apex_type = "Database.LeadConvertResult"

    def __init__(self, result: Any) -> None:
        self.result = result

    def m_getleadid(self, a):
        return IdValue(self.result.lead_id) if self.result.lead_id and self.result.success else None

    def m_getaccountid(self, a):
        return IdValue(self.result.account_id) if self.result.account_id else None

    def m_getcontactid(self, a):
        return IdValue(self.result.contact_id) if self.result.contact_id else None

    def m_getopportunityid(self, a):
        return IdValue(self.result.opportunity_id) if self.result.opportunity_id else None

    def m_getrelatedpersonaccountid(self, a):
        return None

    def m_issuccess(self, a):
        return self.result.success

    def m_geterrors(self, a):
        return ApexList([DatabaseError(e.status_code, e.message, list(e.fields)) for e in self.result.errors],
                        TypeRef("Database.Error"))


def _request(lc: Any) -> Any:
    from localcloud.salesforce.data.leadconvert import LeadConvert as Request
    if not isinstance(lc, LeadConvert):
        ops.npe()
    v = lc.values
    return Request(lead_id=v.get("leadid"), converted_status=v.get("convertedstatus"),
                   account_id=v.get("accountid"), contact_id=v.get("contactid"), owner_id=v.get("ownerid"),
                   opportunity_name=v.get("opportunityname"),
                   do_not_create_opportunity=bool(v.get("donotcreateopportunity")),
                   overwrite_lead_source=bool(v.get("overwriteleadsource")),
                   send_notification_email=bool(v.get("sendnotificationemail")))


def convert_lead(a: list[Any]) -> Any:
    from localcloud.salesforce.data.leadconvert import MAX_PER_CALL, convert_leads
    from .soql import is_access_level
    p = ops.CURRENT.prog
    value = a[0]
    flags = [x for x in a[1:] if not is_access_level(x)]  # convertLead(lc[, allOrNone][, AccessLevel])
    all_or_none = bool(flags[0]) if flags and isinstance(flags[0], bool) else True
    single = not isinstance(value, list)
    converts = [value] if single else list(value)
    if value is None:
        ops.npe()
    if len(converts) > MAX_PER_CALL:
        ops.throw("System.LimitException", f"convertLead accepts at most {MAX_PER_CALL} LeadConvert objects, "
                  f"not {len(converts)}")
    p.tx.check("dml")
    p.tx.add_rows("dml", len(converts))
    results = convert_leads(_session(p), [_request(lc) for lc in converts], all_or_none=all_or_none)
    if all_or_none:
        for i, result in enumerate(results):
            real = [e for e in result.errors if e.status_code != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            if real:
                _raise_convert(DmlRow(i, real[0].message, real[0].status_code, list(real[0].fields), None))
    out = [LeadConvertResult(r) for r in results]
    return out[0] if single else ApexList(out, TypeRef("Database.LeadConvertResult"))


def _raise_convert(row: DmlRow) -> None:
    fields = f": [{', '.join(row.fields)}]" if row.fields else ": []"
    msg = (f"ConvertLead failed. First exception on row {row.index}; first error: "
           f"{row.status_code}, {row.message}{fields}")
    obj = ops.CURRENT.prog.new_exception("System.DmlException", msg)
    obj.fields["__dml"] = [row]
    raise ops.ApexThrown(obj)


NEW["database.leadconvert"] = lambda a: LeadConvert()
STATIC_METHODS[("database", "convertlead")] = convert_lead
