"""The admin's side of ECBridge inside Salesforce, generated with the rest of force-app.

* the ECBridge Lightning app with tabs for the order and ingest-error objects;
* list views: rejected events not yet replayed, members and orders whose Marketo push failed,
  orders waiting for their member;
* report types (members with their orders; orders with their member) and two reports in the
  ECBridge folder: orders waiting by age, push errors by reason;
* ECBridgeReplayRejectedEvents, an invocable action replaying corrected rejected events through
  the ingest service's public entry point (the one the REST resource calls), so the same rules and
  USER_MODE permission checks apply; and its Apex test;
* the ECBridge_Admin permission set: the app, the tabs, the replay action and read access to what
  the views and reports show (editing Payload__c to correct an event). Replaying also needs the
  ingest's own permissions (ECBridge_Integration), as for any caller of the endpoint.

Templates live in templates/admin. List view files are decomposed object children, where the
Salesforce CLI refuses XML comments: their generated mark is their name (``ECBridge_`` prefix,
see ``is_generated_by_name``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_tasks.mapping import Mapping

ADMIN = "admin"
APP_NAME = "ECBridge"
ADMIN_PERMISSION_SET = "ECBridge_Admin"
REPORT_FOLDER = "ECBridge"
REPLAY_CLASS = "ECBridgeReplayRejectedEvents"
REPLAY_TEST_CLASS = "ECBridgeReplayRejectedEventsTest"
GENERATED_NAME_PREFIX = "ECBridge_"
MEMBERS_WITH_ORDERS = "ECBridge_Members_With_Orders"
ORDERS_WITH_MEMBERS = "ECBridge_Orders_With_Members"


def is_generated_by_name(path: Path) -> bool:
    """A list view file the generator wrote (it cannot say so in a comment)."""
    return path.parent.name == "listViews" and path.name.startswith(GENERATED_NAME_PREFIX) \
        and path.name.endswith(".listView-meta.xml")


@dataclass(frozen=True)
class ListView:
    object_name: str
    name: str
    label: str
    columns: tuple[str, ...]
    filters: tuple[tuple[str, str, str | None], ...]  # (field, operation, value or None for blank)


def _member_relationship(mapping: Mapping) -> str:
    for field in mapping.salesforce_fields():
        if field.object_name == mapping.order.object_name and field.name == mapping.order.member_lookup:
            return f"{field.relationship_name}__r"
    raise ValueError(f"{mapping.path.name}: no lookup field {mapping.order.member_lookup} on {mapping.order.object_name}")


def _list_views(mapping: Mapping) -> list[ListView]:
    ie, order, member, wb = mapping.ingest_error, mapping.order, mapping.member, mapping.write_back
    return [
        ListView(ie.object_name, "ECBridge_Rejected_Not_Replayed", "Rejected events not replayed",
                 ("NAME", ie.event_type, ie.error_code, ie.field, ie.reason, "CREATED_DATE"),
                 ((ie.replayed, "equals", "0"),)),
        ListView(member.object_name, "ECBridge_Push_Failed", "ECBridge: Marketo push failed",
                 ("ACCOUNT.NAME" if member.object_name == "Account" else "FULL_NAME", member.key_field,
                  member.email.sf_field, wb.error, wb.pushed_at),
                 ((wb.error, "notEqual", None),)),
        ListView(order.object_name, "ECBridge_Push_Failed", "Marketo push failed",
                 ("NAME", order.key_field, order.member_key.sf_field, wb.error, wb.pushed_at),
                 ((wb.error, "notEqual", None),)),
        ListView(order.object_name, "ECBridge_Waiting_For_Member", "Waiting for their member",
                 ("CREATED_DATE", "NAME", order.key_field, order.member_key.sf_field),
                 ((order.member_lookup, "equals", None),)),
    ]


def _granted(qualified: str) -> str:
    """``Object.Field`` as a permission set grants it (``Account.EC_Member_Id__pc`` -> ``Contact.EC_Member_Id__c``)."""
    from python_tasks.mapping import person_contact_field

    object_name, _, name = qualified.partition(".")
    contact = person_contact_field(name) if object_name == "Account" else None
    return f"Contact.{contact}" if contact else qualified


def _admin_permission_set(mapping: Mapping) -> dict[str, Any]:
    ie, order, member, wb = mapping.ingest_error, mapping.order, mapping.member, mapping.write_back
    read = [f"{ie.object_name}.{f}" for f in (ie.event_id, ie.event_type, ie.error_code, ie.field, ie.reason,
                                              ie.replayed)]
    read += [f"{obj}.{f}" for obj in (member.object_name, order.object_name) for f in (wb.error, wb.pushed_at,
                                                                                      wb.marketo_id)]
    read += [f"{member.object_name}.{member.key_field}", f"{order.object_name}.{order.key_field}",
             f"{order.object_name}.{order.member_key.sf_field}", f"{order.object_name}.{order.member_lookup}"]
    read = [_granted(name) for name in read]  # a Person Account member's person fields are Contact's
    fields = [{"name": f, "editable": False} for f in sorted(set(read))]
    fields.append({"name": f"{ie.object_name}.{ie.payload}", "editable": True})
    return {
        "label": "ECBridge Admin",
        "description": "The ECBridge app, its tabs, list views and reports, and replaying corrected rejected "
                       "events (with ECBridge_Integration, which the ingest itself needs). Generated by ECBridge.",
        "application": APP_NAME,
        "classes": [REPLAY_CLASS],
        "fields": sorted(fields, key=lambda f: f["name"]),
        "objects": [
            {"name": ie.object_name, "edit": True},
            {"name": order.object_name, "edit": False},
            {"name": member.object_name, "edit": False},
            *([{"name": "Contact", "edit": False}] if member.person_account else []),  # person fields are Contact's
        ],
        "tabs": [order.object_name, ie.object_name],
    }


def render_admin(mapping: Mapping) -> dict[str, str]:
    """The admin files (relative to force-app), unformatted like the rest of render_unformatted."""
    from python_tasks.generate import DEFAULT_SOURCE_DIR, _context, _environment

    env = _environment(mapping)
    ctx = {**_context(mapping), "app_name": APP_NAME, "report_folder": REPORT_FOLDER,
           "replay_class": REPLAY_CLASS, "member_relationship": _member_relationship(mapping),
           "members_with_orders": MEMBERS_WITH_ORDERS, "orders_with_members": ORDERS_WITH_MEMBERS}
    base = DEFAULT_SOURCE_DIR
    order, ie = mapping.order, mapping.ingest_error

    def render(template: str, **extra: Any) -> str:
        return env.get_template(f"{ADMIN}/{template}").render(**ctx, **extra)

    files = {
        f"{base}/applications/{APP_NAME}.app-meta.xml": render("app.app-meta.xml.j2",
                                                               tabs=[order.object_name, ie.object_name]),
        f"{base}/permissionsets/{ADMIN_PERMISSION_SET}.permissionset-meta.xml": render(
            "permissionset.permissionset-meta.xml.j2", permset=_admin_permission_set(mapping)),
        f"{base}/reportTypes/{MEMBERS_WITH_ORDERS}.reportType-meta.xml": render("members_with_orders.reportType-meta.xml.j2"),
        f"{base}/reportTypes/{ORDERS_WITH_MEMBERS}.reportType-meta.xml": render("orders_with_members.reportType-meta.xml.j2"),
        f"{base}/reports/{REPORT_FOLDER}.reportFolder-meta.xml": render("folder.reportFolder-meta.xml.j2"),
        f"{base}/reports/{REPORT_FOLDER}/ECBridge_Orders_Waiting_By_Age.report-meta.xml": render(
            "orders_waiting_by_age.report-meta.xml.j2"),
        f"{base}/reports/{REPORT_FOLDER}/ECBridge_Push_Errors_By_Reason.report-meta.xml": render(
            "push_errors_by_reason.report-meta.xml.j2"),
    }
    for obj, description in ((order.object_name, "EC orders: waiting ones, and those whose Marketo push failed."),
                             (ie.object_name, "EC events the endpoint rejected, for correction and replay.")):
        files[f"{base}/tabs/{obj}.tab-meta.xml"] = render("tab.tab-meta.xml.j2", description=description,
                                                          motif="Custom13: Box" if obj == order.object_name
                                                          else "Custom53: Bell")
    for view in _list_views(mapping):
        files[f"{base}/objects/{view.object_name}/listViews/{view.name}.listView-meta.xml"] = render(
            "listview.listView-meta.xml.j2", view=view)
    for name, template in ((REPLAY_CLASS, "ECBridgeReplayRejectedEvents.cls.j2"),
                           (REPLAY_TEST_CLASS, "ECBridgeReplayRejectedEventsTest.cls.j2")):
        files[f"{base}/classes/{name}.cls"] = render(template)
        files[f"{base}/classes/{name}.cls-meta.xml"] = env.get_template("meta/class.cls-meta.xml.j2").render(**ctx)
    return files
