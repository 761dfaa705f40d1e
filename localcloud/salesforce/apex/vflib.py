"""Visualforce controllers in Apex (issue 18): ``ApexPages.StandardSetController``,
``ApexPages.StandardController``, ``PageReference``, ``Page.<name>``, page messages
(``ApexPages.addMessage/addMessages/hasMessages/getMessages``, ``ApexPages.Message``,
``ApexPages.Severity``) and the current page (``Test.setCurrentPage``, ``ApexPages.currentPage``).

The local org renders no Visualforce: what runs is the Apex side of a page, as an Apex test drives it.
Behaviour follows the Apex reference (StandardSetController: 10,000 records at most — a longer list is
cut, a query locator with more throws ``System.LimitException``; pages of 20 records by default;
``getRecord()`` is the prototype record whose set fields ``save()`` writes to every record). Choices
where Salesforce does not document the result: ``setPageSize`` goes back to page 1; ``next()`` past the
last page (and ``previous()`` before the first) stays where it is; ``cancel()``/``save()`` return the
current page's ``retURL`` parameter as a PageReference when it has one, else the home page
``/home/home.jsp``; ``Page.Name.getUrl()`` is ``/apex/<name in lower case>``; page messages belong to
the transaction. List views (``getListViewOptions``, ``getFilterId``/``setFilterId``) and
``StandardSetController.addFields``: ``listviewlib.py``. ``SelectOption`` (``System.SelectOption``) is
here. Not provided (compile error naming the method): ``PageReference.getContent``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from . import ops
from .compiler import KNOWN_TYPES
from .stdlib import NAMESPACE_FIELDS, NAMESPACES, NEW, STATIC_METHODS, STATIC_PROPS, Native, NativeEnumValue
from .values import ApexList, ApexMap, IdValue, SObject, TypeRef

MAX_RECORDS = 10_000
DEFAULT_PAGE_SIZE = 20
HOME_URL = "/home/home.jsp"
SEVERITIES = ("CONFIRM", "ERROR", "FATAL", "INFO", "WARNING")


# ------------------------------------------------------------------------------------------ state


class _PageState:
    """The Visualforce side of one transaction: its current page and its messages."""

    def __init__(self) -> None:
        self.current: PageReference | None = None
        self.messages: list[Message] = []


def _state() -> _PageState:
    tx = ops.CURRENT.prog.tx
    state = getattr(tx, "visualforce", None)
    if state is None:
        state = _PageState()
        tx.visualforce = state
    return state


# ------------------------------------------------------------------------------------------ PageReference


class PageReference(Native):
    apex_type = "System.PageReference"

    def __init__(self, url: str) -> None:
        base, _, query = url.partition("?")
        base, _, anchor = base.partition("#")
        self.base = base
        self.anchor: str | None = anchor or None
        self.parameters = ApexMap(parse_qsl(query, keep_blank_values=True), TypeRef("String"), TypeRef("String"))
        self.headers = ApexMap((), TypeRef("String"), TypeRef("String"))
        self.redirect = False
        self.redirect_code = 0

    def url(self) -> str:
        query = "&".join(f"{quote(str(k), safe='')}={quote('' if v is None else str(v), safe='')}"
                         for k, v in self.parameters.items())
        return self.base + (f"?{query}" if query else "") + (f"#{self.anchor}" if self.anchor else "")

    def apex_str(self) -> str:
        return f"System.PageReference[{self.url()}]"

    def m_geturl(self, a):
        return self.url()

    def m_getparameters(self, a):
        return self.parameters

    def m_getheaders(self, a):
        return self.headers

    def m_getanchor(self, a):
        return self.anchor

    def m_setanchor(self, a):
        self.anchor = a[0]
        return self

    def m_getredirect(self, a):
        return self.redirect

    def m_setredirect(self, a):
        self.redirect = bool(a[0])
        return self

    def m_getredirectcode(self, a):
        return self.redirect_code

    def m_setredirectcode(self, a):
        self.redirect_code = int(a[0] or 0)
        return self


def _new_page_reference(a: list[Any]) -> PageReference:
    if not a or a[0] is None:
        ops.npe()
    target = a[0]
    if isinstance(target, SObject):  # new PageReference(record): the record's detail page
        rid = target.fields.get("id")
        if rid is None:
            ops.throw("System.SObjectException", "Id not specified for the PageReference's record")
        return PageReference(f"/{rid}")
    return PageReference(str(target))


def _return_page() -> PageReference:
    """What cancel()/save() return: the original page when known (the current page's retURL), else home."""
    current = _state().current
    ret = current.parameters.get("retURL") if current is not None else None
    return PageReference(str(ret) if ret else HOME_URL)


def page_field(prog, ctx, fnode, fname: str):
    """``Page.Name``: a PageReference to the deployed Visualforce page. When the org's pages are known
    (``program.pages``), another name is a compile error; while a deploy compiles (its pages not stored
    yet) any name compiles."""
    pages = getattr(prog, "pages", None)
    if pages is not None and fname.lower() not in pages:
        raise ctx.err(fnode, f"Page {fname} does not exist")
    url = f"/apex/{fname.lower()}"
    return lambda fr: PageReference(url)


# ------------------------------------------------------------------------------------------ messages


class Severity(NativeEnumValue):
    apex_type = "ApexPages.Severity"


class Message(Native):
    apex_type = "ApexPages.Message"

    def __init__(self, severity: Any, summary: Any, detail: Any = None, component: Any = None) -> None:
        self.severity = severity
        self.summary = summary
        self.detail = detail if detail is not None else summary
        self.component = component

    def apex_str(self) -> str:
        return (f"ApexPages.Message[\"{self.summary}\",\"{self.detail}\",{self.severity.name if self.severity else None},"
                f"{self.component}]")

    def m_getsummary(self, a):
        return self.summary

    def m_getdetail(self, a):
        return self.detail

    def m_getseverity(self, a):
        return self.severity

    def m_getcomponentlabel(self, a):
        return None


def _new_message(a: list[Any]) -> Message:
    if len(a) < 2:
        ops.throw("System.TypeException", "ApexPages.Message needs a severity and a summary")
    return Message(*a[:4])


def _add_message(a):
    if not a or not isinstance(a[0], Message):
        ops.npe()
    _state().messages.append(a[0])


def _add_messages(a):
    """ApexPages.addMessages(exception): one ERROR message with the exception's message."""
    exc = a[0] if a else None
    if exc is None:
        ops.npe()
    text = ops.CURRENT.prog.call_value(exc, "getmessage", [])
    _state().messages.append(Message(Severity("ERROR"), text))


def _has_messages(a):
    messages = _state().messages
    if a and a[0] is not None:
        return any(m.severity == a[0] for m in messages)
    return bool(messages)


def _get_messages(a):
    return ApexList(list(_state().messages), TypeRef("ApexPages.Message"))


def _current_page(a):
    return _state().current


def _set_current_page(a):
    page = a[0] if a else None
    if page is not None and not isinstance(page, PageReference):
        ops.throw("System.TypeException", "Test.setCurrentPage takes a PageReference")
    _state().current = page


# ------------------------------------------------------------------------------------------ controllers


def _sobject_type(records: list[Any], declared: Any) -> str | None:
    for r in records:
        if isinstance(r, SObject):
            return r.type_name
    if isinstance(declared, TypeRef) and declared.name != "sobject":
        return declared.display
    return None


def _typed(records: list[Any], sobject: str | None) -> ApexList:
    return ApexList(records, TypeRef(sobject) if sobject else TypeRef("SObject"))


class StandardSetController(Native):
    apex_type = "ApexPages.StandardSetController"

    def __init__(self, source: Any) -> None:
        from .batchlib import QueryLocator
        if source is None:
            ops.npe()
        if isinstance(source, QueryLocator):
            rows = source.rows()
            if len(rows) > MAX_RECORDS:
                ops.throw("System.LimitException", f"StandardSetController accepts at most {MAX_RECORDS:,} records; "
                                                   f"the query locator returned {len(rows):,}")
            records = list(rows)
            declared = getattr(rows, "etype", None)
        elif isinstance(source, list):
            records = list(source)[:MAX_RECORDS]  # a longer list is cut to the limit, as in Salesforce
            declared = getattr(source, "etype", None)
        else:
            ops.throw("System.TypeException", "StandardSetController takes a List<SObject> or a Database.QueryLocator")
        self.sobject = _sobject_type(records, declared)
        self.records = records
        self.selected: list[Any] = []
        self.page_size = DEFAULT_PAGE_SIZE
        self.page_number = 1
        self.prototype: SObject | None = None
        self.filter_id: str | None = None
        self.extra_fields: list[str] = []

    def _pages(self) -> int:
        return max(1, -(-len(self.records) // self.page_size))

    def m_getrecords(self, a):
        start = (self.page_number - 1) * self.page_size
        return _typed(self.records[start:start + self.page_size], self.sobject)

    def m_getselected(self, a):
        return _typed(list(self.selected), self.sobject)

    def m_setselected(self, a):
        if a[0] is None:
            ops.npe()
        self.selected = list(a[0])

    def m_getresultsize(self, a):
        return len(self.records)

    def m_getcompleteresult(self, a):
        return True  # more than 10,000 records never get here (cut, or LimitException)

    def m_getpagesize(self, a):
        return self.page_size

    def m_setpagesize(self, a):
        size = a[0]
        if size is None:
            ops.npe()
        if int(size) < 1:
            ops.throw("System.VisualforceException", f"Invalid page size: {size}")
        self.page_size = int(size)
        self.page_number = 1

    def m_getpagenumber(self, a):
        return self.page_number

    def m_setpagenumber(self, a):
        if a[0] is None:
            ops.npe()
        self.page_number = min(max(1, int(a[0])), self._pages())

    def m_gethasnext(self, a):
        return self.page_number < self._pages()

    def m_gethasprevious(self, a):
        return self.page_number > 1

    def m_next(self, a):
        self.page_number = min(self.page_number + 1, self._pages())

    def m_previous(self, a):
        self.page_number = max(self.page_number - 1, 1)

    def m_first(self, a):
        self.page_number = 1

    def m_last(self, a):
        self.page_number = self._pages()

    def m_getrecord(self, a):
        """The prototype record: the fields set on it are what save() writes to every record."""
        if self.prototype is None:
            if self.sobject is None:
                return None
            self.prototype = SObject(ops.CURRENT.prog.sobject_name(self.sobject.lower()) or self.sobject)
        return self.prototype

    def m_save(self, a):
        from .dml import dml_statement
        prog = ops.CURRENT.prog
        if self.prototype is not None:
            for name, value in self.prototype.fields.items():
                if name == "id":
                    continue
                for record in self.records:
                    prog.sobject_put(record, self.prototype.names.get(name, name), value)
        existing = [r for r in self.records if r.fields.get("id") is not None]
        new = [r for r in self.records if r.fields.get("id") is None]
        dml_statement(prog, "update", existing, None)
        dml_statement(prog, "insert", new, None)
        return _return_page()

    def m_cancel(self, a):
        return _return_page()

    # -- list views (listviewlib.py) --------------------------------------------------------------------
    def _object_def(self) -> Any:
        from .dataport import data_tx
        if self.sobject is None:
            ops.throw("System.VisualforceException", "The controller's records have no SObject type")
        return data_tx(ops.CURRENT.prog).schema.get(self.sobject)

    def _fields(self, od: Any) -> list[str]:
        """The fields the controller's records carry (as first given), then the addFields ones."""
        names: dict[str, str] = {}
        for record in self.records:
            for low, value in record.fields.items():
                fd = od.find_field(low)
                if fd is not None and not isinstance(value, SObject):
                    names.setdefault(fd.name.lower(), fd.name)
        for name in self.extra_fields:
            names.setdefault(name.lower(), name)
        return list(names.values())

    def _load(self, soql: str, binds: dict[str, Any]) -> None:
        from .dataport import data_tx
        from .soql import to_sobject
        prog = ops.CURRENT.prog
        rows = data_tx(prog).query(soql, binds, typed=True).records
        name = prog.sobject_name(self.sobject.lower()) if self.sobject else None
        self.records = [to_sobject(prog, r, name) for r in rows][:MAX_RECORDS]
        self.page_number = 1
        self.selected = []

    def m_getlistviewoptions(self, a):
        from .listviewlib import view_options
        od = self._object_def()
        return ApexList([SelectOption(view_id, label) for view_id, label in view_options(ops.CURRENT.prog, od.name)],
                        TypeRef("System.SelectOption"))

    def m_getfilterid(self, a):
        return self.filter_id

    def m_setfilterid(self, a):
        from .listviewlib import view_query
        if not a or a[0] is None:
            ops.npe()
        od = self._object_def()
        soql, binds = view_query(ops.CURRENT.prog, od, str(a[0]), self._fields(od))
        self._load(soql, binds)
        self.filter_id = str(a[0])[:15]

    def m_addfields(self, a):
        """Adds fields to the records: the current records are read again with them (in their order)."""
        if not a or a[0] is None:
            ops.npe()
        od = self._object_def()
        for name in a[0]:
            fd = od.find_field(str(name))
            if fd is None and "." not in str(name):
                ops.throw("System.SObjectException", f"Invalid field {name} for {od.name}")
            path = fd.name if fd is not None else str(name)
            if path.lower() not in {f.lower() for f in self.extra_fields}:
                self.extra_fields.append(path)
        ids = [str(r.fields.get("id")) for r in self.records if r.fields.get("id") is not None]
        if not ids:
            return
        order = {rid: i for i, rid in enumerate(ids)}
        page = self.page_number
        self._load(f"SELECT {', '.join(dict.fromkeys(['Id', *self._fields(od)]))} FROM {od.name} WHERE Id IN :ids",
                   {"ids": ids})
        self.records.sort(key=lambda r: order.get(str(r.fields.get("id")), len(order)))
        self.page_number = min(page, self._pages())


class SelectOption(Native):
    """``System.SelectOption``: a value and label of a Visualforce select list."""
    apex_type = "System.SelectOption"

    def __init__(self, value: Any, label: Any, disabled: bool = False) -> None:
        self.value, self.label, self.disabled = value, label, bool(disabled)
        self.escape_item, self.title = True, None

    def apex_str(self) -> str:
        return f"System.SelectOption[value=\"{self.value}\", label=\"{self.label}\", disabled=\"{str(self.disabled).lower()}\"]"

    def m_getvalue(self, a):
        return self.value

    def m_getlabel(self, a):
        return self.label

    def m_getdisabled(self, a):
        return self.disabled

    def m_getescapeitem(self, a):
        return self.escape_item

    def m_gettitle(self, a):
        return self.title

    def m_setvalue(self, a):
        self.value = a[0]

    def m_setlabel(self, a):
        self.label = a[0]

    def m_setdisabled(self, a):
        self.disabled = bool(a[0])

    def m_setescapeitem(self, a):
        self.escape_item = bool(a[0])

    def m_settitle(self, a):
        self.title = a[0]

    def m_equals(self, a):
        o = a[0]
        return isinstance(o, SelectOption) and (o.value, o.label, o.disabled) == (self.value, self.label, self.disabled)

    def m_hashcode(self, a):
        return hash((str(self.value), str(self.label), self.disabled)) & 0x7FFFFFFF


def _new_select_option(a: list[Any]) -> SelectOption:
    if len(a) not in (2, 3):
        ops.throw("System.TypeException", "SelectOption takes a value, a label and optionally isDisabled")
    return SelectOption(a[0], a[1], bool(a[2]) if len(a) == 3 else False)


class StandardController(Native):
    apex_type = "ApexPages.StandardController"

    def __init__(self, record: Any) -> None:
        if not isinstance(record, SObject):
            ops.npe()
        self.record = record

    def m_getrecord(self, a):
        return self.record

    def m_getid(self, a):
        rid = self.record.fields.get("id")
        return IdValue(str(rid)) if rid is not None else None

    def m_addfields(self, a):
        ops.throw("System.SObjectException",
                  "You cannot call addFields when the data is being passed into the controller by the caller.")

    def m_reset(self, a):
        return None

    def m_view(self, a):
        rid = self.record.fields.get("id")
        return PageReference(f"/{rid}") if rid is not None else None

    def m_edit(self, a):
        rid = self.record.fields.get("id")
        return PageReference(f"/{rid}/e") if rid is not None else None

    def m_cancel(self, a):
        return self.m_view(a) or _return_page()

    def m_save(self, a):
        from .dml import dml_statement
        prog = ops.CURRENT.prog
        dml_statement(prog, "update" if self.record.fields.get("id") is not None else "insert", self.record, None)
        return self.m_view(a)

    def m_delete(self, a):
        from .dml import dml_statement
        dml_statement(ops.CURRENT.prog, "delete", self.record, None)
        return _return_page()


def _need_one(a: list[Any], what: str) -> Any:
    if len(a) != 1:
        ops.throw("System.TypeException", f"{what} takes one argument")
    return a[0]


# ------------------------------------------------------------------------------------------ registration

NAMESPACES.update({"apexpages", "apexpages.severity", "page", "system.page"})
KNOWN_TYPES.update({"apexpages.standardsetcontroller", "apexpages.standardcontroller", "apexpages.message",
                    "apexpages.severity", "pagereference", "system.pagereference", "selectoption",
                    "system.selectoption"})
NEW["selectoption"] = NEW["system.selectoption"] = _new_select_option
NEW["apexpages.standardsetcontroller"] = lambda a: StandardSetController(_need_one(a, "StandardSetController"))
NEW["apexpages.standardcontroller"] = lambda a: StandardController(_need_one(a, "StandardController"))
NEW["apexpages.message"] = _new_message
NEW["pagereference"] = _new_page_reference
for _sev in SEVERITIES:
    STATIC_PROPS[("apexpages.severity", _sev.lower())] = (lambda v: lambda: Severity(v))(_sev)
STATIC_METHODS[("apexpages.severity", "values")] = lambda a: ApexList([Severity(v) for v in SEVERITIES],
                                                                      TypeRef("ApexPages.Severity"))
STATIC_METHODS.update({
    ("apexpages", "addmessage"): _add_message,
    ("apexpages", "addmessages"): _add_messages,
    ("apexpages", "hasmessages"): _has_messages,
    ("apexpages", "getmessages"): _get_messages,
    ("apexpages", "currentpage"): _current_page,
    ("test", "setcurrentpage"): _set_current_page,
    ("test", "setcurrentpagereference"): _set_current_page,
})
NAMESPACE_FIELDS["page"] = NAMESPACE_FIELDS["system.page"] = page_field
