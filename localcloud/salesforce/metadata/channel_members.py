"""``PlatformEventChannelMember`` components: the entities selected for Change Data Capture.

``platformEventChannelMembers/ChangeEvents_ContactChangeEvent.platformEventChannelMember``::

    <PlatformEventChannelMember xmlns="http://soap.sforce.com/2006/04/metadata">
        <eventChannel>ChangeEvents</eventChannel>
        <selectedEntity>ContactChangeEvent</selectedEntity>
    </PlatformEventChannelMember>

A deploy fails, naming the file and line, when the channel is not ``ChangeEvents`` (the local org
has no custom channels), when the entity is not an object of the org (``EC_Order__ChangeEvent`` is
``EC_Order__c``'s), or when the org would select more than ``ECBRIDGE_CDC_MAX_ENTITIES`` entities
(5: what an org may select without the Change Data Capture add-on). A member listed in
``destructiveChanges.xml`` is deleted: its entity is no longer selected. The Pub/Sub API
(``localcloud.salesforce.pubsub``) reads the stored members.
"""
from __future__ import annotations

import os
import re
from typing import Any, Callable

from .package import Component, DeployPackage, child_text, parse_xml
from .ui_components import Problem

TYPE = "PlatformEventChannelMember"
CHANNEL = "ChangeEvents"
_DEVELOPER_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*(?<!_)$")


def max_entities() -> int:
    return int(os.environ.get("ECBRIDGE_CDC_MAX_ENTITIES", "5"))


def entity_of(event_name: str) -> str | None:
    if event_name.endswith("__ChangeEvent"):
        return event_name[: -len("__ChangeEvent")] + "__c"
    if event_name.endswith("ChangeEvent") and len(event_name) > len("ChangeEvent"):
        return event_name[: -len("ChangeEvent")]
    return None


def read_member(body: bytes, file_name: str = "platformEventChannelMember") -> tuple[str, str]:
    """(eventChannel, selectedEntity) of a member file."""
    root = parse_xml(body, file_name)
    return (child_text(root, "eventChannel") or "").strip(), (child_text(root, "selectedEntity") or "").strip()


def selected_entities(repository: Any) -> list[str]:
    """The entities (``Contact``, ``EC_Order__c``) the org's stored members select on ``ChangeEvents``."""
    out = []
    for component in repository.components(TYPE):
        channel, event_name = read_member(repository.component_body(TYPE, component["fullName"]) or b"")
        entity = entity_of(event_name)
        if channel == CHANNEL and entity:
            out.append(entity)
    return out


def _member(component: Component) -> tuple[str, str]:
    return read_member(component.body, component.file_name)


def check_channel_members(package: DeployPackage, schema: Any, stored: Callable[[], dict[str, bytes]]
                          ) -> list[Problem]:
    """``stored()``: the org's members before this deploy, full name -> file body."""
    members = package.of_type(TYPE)
    if not members:
        return []  # deleting members (destructiveChanges) needs no check
    problems: list[Problem] = []
    selected: dict[str, str] = {}
    for component in members:
        channel, event_name = _member(component)
        entity = entity_of(event_name)
        if not _DEVELOPER_NAME.match(component.full_name):
            problems.append(Problem(component, f"The member name {component.full_name} must begin with a letter and "
                                    "contain only letters, digits and single underscores, not ending with one "
                                    f"(ChangeEvents_{event_name.replace('__', '_')}).", ""))
        elif channel != CHANNEL:
            problems.append(Problem(component, f"The local org supports only the standard {CHANNEL} channel for "
                                    f"Change Data Capture; {channel or '(no eventChannel)'} is not one.",
                                    "eventChannel"))
        elif entity is None or schema.find(entity) is None:
            problems.append(Problem(component, f"selectedEntity {event_name or '(none)'} is not the change event of "
                                    "an object of this org (ContactChangeEvent, EC_Order__ChangeEvent...).",
                                    "selectedEntity"))
        else:
            selected[component.full_name] = schema.find(entity).name.lower()
    deleted = set(package.destructive.get(TYPE, []))
    for full_name, body in stored().items():
        if full_name in selected or full_name in deleted:
            continue
        fake = Component(TYPE, full_name, f"platformEventChannelMembers/{full_name}", body)
        channel, event_name = _member(fake)
        entity = entity_of(event_name)
        if channel == CHANNEL and entity and schema.find(entity) is not None:
            selected[full_name] = schema.find(entity).name.lower()
    entities = sorted(set(selected.values()))
    if len(entities) > max_entities() and not problems:
        problems.append(Problem(members[0], f"Change Data Capture would select {len(entities)} entities "
                                f"({', '.join(entities)}); this org allows {max_entities()} "
                                "(ECBRIDGE_CDC_MAX_ENTITIES, Salesforce's allocation without the add-on).",
                                "selectedEntity"))
    return problems
