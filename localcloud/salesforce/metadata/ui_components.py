"""Lightning apps, tabs, list views, report types, reports and the app/tab grants of permission sets,
checked against the schema the deploy produces and what the org already holds.

Salesforce refuses a deploy whose tab names no object, whose app or permission set names a tab or an
app that does not exist, whose list view, report type or report names a field or relationship the
object does not have, or whose report names a report type or folder that does not exist; so does
the local org, naming the component, file and line. What passes is stored as deployed (the
repository's ``component`` table, answered by ``listMetadata``).

Settings (undocumented by Salesforce, so the local org's own choices):
* ALL-CAPS column and filter names of list views and reports (``NAME``, ``CREATED_DATE``,
  ``CONTACT.EMAIL``...) are Salesforce's own column tokens; they are accepted without checking,
  since Salesforce publishes no complete list.
* Standard report types (names without ``__c``) are accepted with any columns.
* A field path with a dot (``Member__c.EC_Member_Id__c``) is checked up to its first segment, which
  must be a lookup of the object.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable
from xml.etree.ElementTree import Element

from .package import Component, DeployPackage, DeployPackageError, child_text, children, parse_xml

_TOKEN = re.compile(r"^[A-Z0-9_.]+$")


@dataclass(frozen=True)
class Problem:
    component: Component
    message: str
    needle: str  # text on the line to report

    @property
    def line(self) -> int:
        for number, line in enumerate(self.component.text.splitlines(), start=1):
            if self.needle and self.needle in line:
                return number
        return 1


Exists = Callable[[str, str], bool]  # (metadata type, full name) already in the org


def _object(schema: Any, name: str) -> Any:
    return schema.find(name)


def _has_field(schema: Any, od: Any, name: str) -> bool:
    if _TOKEN.match(name):
        return True
    head, _, rest = name.partition(".")
    fd = od.find_field(head)
    if fd is None and rest:
        fd = od.relationship(head)
    if fd is None:
        return False
    return not rest or fd.type == "reference"


def _child(schema: Any, parent: Any, relationship: str) -> Any:
    for name in (relationship, relationship[:-3] if relationship.endswith("__r") else relationship + "__r"):
        found = schema.child_relationship(parent, name)
        if found is not None:
            return found[0]
    return None


def _texts(element: Element, name: str) -> list[str]:
    return [(c.text or "").strip() for c in children(element, name)]


class UiComponentCheck:
    def __init__(self, package: DeployPackage, schema: Any, exists: Exists):
        self.package = package
        self.schema = schema
        self.exists = exists
        self.problems: list[Problem] = []

    def _in_deploy(self, type_name: str, full_name: str) -> bool:
        return any(c.type == type_name and c.full_name.lower() == full_name.lower() for c in self.package.components)

    def _known(self, type_name: str, full_name: str) -> bool:
        return self._in_deploy(type_name, full_name) or self.exists(type_name, full_name)

    def _tab_known(self, tab: str) -> bool:
        return tab.startswith("standard-") or self._known("CustomTab", tab)

    def _fail(self, component: Component, message: str, needle: str) -> None:
        self.problems.append(Problem(component, message, needle))

    # -- the components ---------------------------------------------------------------------------

    def run(self) -> list[Problem]:
        for component in self.package.components:
            try:
                self._one(component)
            except DeployPackageError as error:
                self._fail(component, str(error), "")
        return self.problems

    def _one(self, component: Component) -> None:
        check = {"CustomTab": self._tab, "CustomApplication": self._application, "CustomObject": self._list_views,
                 "ReportType": self._report_type, "PermissionSet": self._permission_set}.get(component.type)
        if component.type == "Report" and "/" in component.full_name:
            check = self._report
        if check is not None:
            check(component)

    def _tab(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        if (child_text(root, "customObject") or "").lower() == "true" and _object(self.schema, component.full_name) is None:
            self._fail(component, f"The tab {component.full_name} is for a custom object, and no object "
                                  f"{component.full_name} exists", "<customObject>")

    def _application(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        for tab in _texts(root, "tabs"):
            if not self._tab_known(tab):
                self._fail(component, f"In field: tabs - no CustomTab named {tab} found", f"<tabs>{tab}</tabs>")

    def _permission_set(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        for visibility in children(root, "applicationVisibilities"):
            app = child_text(visibility, "application") or ""
            if not self._known("CustomApplication", app):
                self._fail(component, f"In field: application - no CustomApplication named {app} found",
                           f"<application>{app}</application>")
        for setting in children(root, "tabSettings"):
            tab = child_text(setting, "tab") or ""
            if not self._tab_known(tab):
                self._fail(component, f"In field: tab - no CustomTab named {tab} found", f"<tab>{tab}</tab>")

    def _list_views(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        views = children(root, "listViews")
        if not views:
            return
        od = _object(self.schema, component.full_name)
        if od is None:
            return  # the object's own check reports it
        for view in views:
            name = child_text(view, "fullName") or "?"
            fields = [*_texts(view, "columns"), *(child_text(f, "field") or "" for f in children(view, "filters"))]
            for field_name in fields:
                if not _has_field(self.schema, od, field_name):
                    self._fail(component, f"List view {name}: {component.full_name} has no field {field_name}",
                               field_name)

    def _report_type_tables(self, root: Element) -> dict[str, Any]:
        """Table path (``Contact``, ``Contact.EC_Orders__r``) -> object, following the joins."""
        base = child_text(root, "baseObject") or ""
        od = _object(self.schema, base)
        tables: dict[str, Any] = {}
        if od is None:
            return tables
        tables[base] = od
        path, parent, join = base, od, children(root, "join")
        while join:
            relationship = child_text(join[0], "relationship") or ""
            child = _child(self.schema, parent, relationship)
            if child is None:
                break
            path = f"{path}.{relationship}"
            tables[path] = child
            parent, join = child, children(join[0], "join")
        return tables

    def _report_type(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        base = child_text(root, "baseObject") or ""
        if _object(self.schema, base) is None:
            self._fail(component, f"In field: baseObject - no object named {base} found", "<baseObject>")
            return
        tables = self._report_type_tables(root)
        join = children(root, "join")
        while join:
            relationship = child_text(join[0], "relationship") or ""
            if not any(path.endswith("." + relationship) for path in tables):
                self._fail(component, f"In field: relationship - {relationship} is not a child relationship of the "
                                      "object before it", f"<relationship>{relationship}</relationship>")
                return
            join = children(join[0], "join")
        for section in children(root, "sections"):
            for column in children(section, "columns"):
                table = child_text(column, "table") or ""
                field_name = child_text(column, "field") or ""
                od = tables.get(table)
                if od is None:
                    self._fail(component, f"In field: table - {table} is not a table of this report type",
                               f"<table>{table}</table>")
                elif not _has_field(self.schema, od, field_name):
                    self._fail(component, f"In field: field - {od.name} has no field {field_name}",
                               f"<field>{field_name}</field>")

    def _report_type_root(self, name: str) -> Element | None:
        for component in self.package.components:
            if component.type == "ReportType" and component.full_name.lower() == name.lower():
                return parse_xml(component.body, component.file_name)
        return None

    def _report(self, component: Component) -> None:
        root = parse_xml(component.body, component.file_name)
        folder = component.full_name.split("/", 1)[0]
        if folder != "unfiled$public" and not self._known("Report", folder):
            self._fail(component, f"No report folder named {folder} found", "<Report")
        report_type = child_text(root, "reportType") or ""
        if report_type.startswith("CustomEntity") and "$" in report_type:
            self._implicit_report_type(component, report_type)
            return
        if not report_type.endswith("__c"):
            return  # a standard report type: columns are not checked (see the module docs)
        name = report_type[:-3]
        type_root = self._report_type_root(name)
        if type_root is None:
            if not self.exists("ReportType", name):
                self._fail(component, f"In field: reportType - no ReportType named {report_type} found",
                           f"<reportType>{report_type}</reportType>")
            return  # a report type deployed before: its columns are in the org, not in this deploy
        tables = self._report_type_tables(type_root)
        columns = [*(child_text(c, "field") or "" for c in children(root, "columns")),
                   *(child_text(c, "column") or "" for f in children(root, "filter")
                     for c in children(f, "criteriaItems")),
                   *(child_text(g, "field") or "" for g in children(root, "groupingsDown")),
                   *(child_text(t, "dateColumn") or "" for t in children(root, "timeFrameFilter"))]
        for column in columns:
            if _TOKEN.match(column):
                continue
            table, dollar, field_name = column.rpartition("$")
            od = tables.get(table)
            if not dollar or od is None:
                self._fail(component, f"{column} is not a column of report type {report_type} (expected "
                                      f"<table>$<field> with a table of {', '.join(tables)})", column)
            elif not _has_field(self.schema, od, field_name):
                self._fail(component, f"{column}: {od.name} has no field {field_name}", column)

    def _implicit_report_type(self, component: Component, report_type: str) -> None:
        """Salesforce's own report types of custom objects: ``CustomEntity$Log__c``,
        ``CustomEntityCustomEntity$Parent__c$Child__c[@Child__c.Lookup__c]``; every object must exist
        (columns are not checked, as with standard report types)."""
        path = report_type.split("@", 1)[0]
        for name in path.split("$")[1:]:
            if _object(self.schema, name) is None:
                self._fail(component, f"In field: reportType - no ReportType named {report_type} found",
                           f"<reportType>{report_type}</reportType>")
                return


def check_ui_components(package: DeployPackage, schema: Any, exists: Exists) -> list[Problem]:
    return UiComponentCheck(package, schema, exists).run()
