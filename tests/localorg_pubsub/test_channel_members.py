"""PlatformEventChannelMember metadata deploys with the rest of force-app; what the local org cannot
select fails the deploy with the file and line."""
from __future__ import annotations

from typing import Any

import pytest

from tests.localorg_pubsub.conftest import ORDER_OBJECT, deploy_zip, member_xml

PATH = "platformEventChannelMembers/{}.platformEventChannelMember"


def _failure(org: Any, files: dict[str, str]) -> Any:
    job = org.deployer.deploy_zip(deploy_zip(files))
    assert job.status == "Failed"
    (failure,) = job.failures
    return failure


def test_a_member_is_stored_and_listed(org: Any) -> None:
    job = org.deployer.deploy_zip(deploy_zip({PATH.format("ChangeEvents_ContactChangeEvent"): member_xml("ContactChangeEvent")}))
    assert job.status == "Succeeded", [f.problem for f in job.failures]
    assert [c["fullName"] for c in org.repository.components("PlatformEventChannelMember")] == [
        "ChangeEvents_ContactChangeEvent"]


@pytest.mark.parametrize("event, channel, words", [
    ("Nope__ChangeEvent", "ChangeEvents", "selectedEntity Nope__ChangeEvent"),
    ("ContactChangeEvent", "MyChannel__chn", "only the standard ChangeEvents channel"),
])
def test_what_cannot_be_selected_fails_with_file_and_line(org: Any, event: str, channel: str, words: str) -> None:
    failure = _failure(org, {PATH.format("M"): member_xml(event, channel)})
    assert failure.file_name == PATH.format("M") and words in failure.problem
    assert failure.line == (4 if "selectedEntity" in words else 3)


def test_a_member_name_with_a_double_underscore_fails(org: Any) -> None:
    files = {"objects/EC_Order__c.object": ORDER_OBJECT,
             PATH.format("ChangeEvents_EC_Order__ChangeEvent"): member_xml("EC_Order__ChangeEvent")}
    failure = _failure(org, files)
    assert "ChangeEvents_EC_Order_ChangeEvent" in failure.problem and "single underscores" in failure.problem


def test_more_than_five_entities_fail(org: Any) -> None:
    entities = ["Contact", "Account", "Lead", "User", "EC_Order__c"]
    files = {"objects/EC_Order__c.object": ORDER_OBJECT}
    for entity in entities:
        event = entity[:-3] + "__ChangeEvent" if entity.endswith("__c") else entity + "ChangeEvent"
        files[PATH.format(f"ChangeEvents_{event.replace('__', '_')}")] = member_xml(event)
    assert org.deployer.deploy_zip(deploy_zip(files)).status == "Succeeded"
    failure = _failure(org, {PATH.format("ChangeEvents_ContentVersionChangeEvent"): member_xml("ContentVersionChangeEvent")})
    assert "6 entities" in failure.problem and "ECBRIDGE_CDC_MAX_ENTITIES" in failure.problem


def test_a_member_deleted_by_destructive_changes_deselects_its_entity(pubsub: Any, org: Any, rest: Any) -> None:
    assert "Contact" in pubsub.capture.selected()
    job = org.deployer.deploy_zip(deploy_zip({}, {"PlatformEventChannelMember": ["ChangeEvents_ContactChangeEvent"]}))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert pubsub.capture.selected() == ["EC_Order__c"]
    assert [c["fullName"] for c in org.repository.components("PlatformEventChannelMember")] == [
        "ChangeEvents_EC_Order_ChangeEvent"]
    before = pubsub.events.latest()
    assert rest.post("/sobjects/Contact", {"LastName": "No longer captured"}).status_code == 201
    assert pubsub.events.latest() == before
