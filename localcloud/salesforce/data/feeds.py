"""Chatter feed rows: a FeedComment takes its feed item's parent as ``ParentId`` (read-only in Salesforce,
filled by the platform) and its ``ThreadLevel`` (1, or one more than the comment it answers).
FeedItem.CommentCount and LikeCount are roll-up summaries of the item's FeedComment and FeedLike rows
(standard_objects.json), and deleting a feed item deletes its comments and likes (cascade).

Salesforce lets a post (FeedItem.ParentId, hence FeedComment.ParentId) and a follow (EntitySubscription.ParentId)
point at a record of any feed-tracked object, custom objects included; the local org does not model feed
tracking and takes any object of the org there (ANY_OBJECT_REFERENCES). A user follows a record once: a second
EntitySubscription for the same ParentId and SubscriberId fails with DUPLICATE_VALUE, Salesforce's text. A Chatter
group (CollaborationGroup) has a unique name; its owner becomes an Admin member; a user is a member once."""

from __future__ import annotations

from typing import Any

from .errors import RecordError
from .txn import DataTransaction

ANY_OBJECT_REFERENCES = {("feeditem", "parentid"), ("feedcomment", "parentid"), ("entitysubscription", "parentid")}
#: objects whose rows are unique beyond a unique field (duplicate())
UNIQUE_ROWS = {"entitysubscription", "collaborationgroupmember", "collaborationgroup"}


def derive_comment(tx: DataTransaction, row: dict[str, Any]) -> None:
    """Before a FeedComment is inserted: ParentId and ThreadLevel from its feed item and thread parent."""
    item_id = row.get("feeditemid")
    if item_id:
        found = tx.query("SELECT ParentId FROM FeedItem WHERE Id = :v", {"v": str(item_id)}).records
        row["parentid"] = found[0].get("ParentId") if found else None
    level = 1
    parent_comment = row.get("threadparentid")
    if parent_comment:
        found = tx.query("SELECT ThreadLevel FROM FeedComment WHERE Id = :v", {"v": str(parent_comment)}).records
        level = int(found[0].get("ThreadLevel") or 1) + 1 if found else 1
    row["threadlevel"] = level


def duplicate_follow(tx: DataTransaction, row: dict[str, Any]) -> RecordError | None:
    """Before an EntitySubscription is inserted: the error when the subscriber already follows the parent."""
    parent, subscriber = row.get("parentid"), row.get("subscriberid")
    if not parent or not subscriber:
        return None
    found = tx.query("SELECT Id FROM EntitySubscription WHERE ParentId = :p AND SubscriberId = :s LIMIT 1",
                     {"p": str(parent), "s": str(subscriber)}).records
    if not found:
        return None
    return RecordError("DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: "
                                          "<unknown>", ())


def duplicate_member(tx: DataTransaction, row: dict[str, Any]) -> RecordError | None:
    """Before a CollaborationGroupMember is inserted: the error when the user already is a member."""
    group, member = row.get("collaborationgroupid"), row.get("memberid")
    if not group or not member:
        return None
    found = tx.query("SELECT Id FROM CollaborationGroupMember WHERE CollaborationGroupId = :g AND MemberId = :m "
                     "LIMIT 1", {"g": str(group), "m": str(member)}).records
    return RecordError("DUPLICATE_VALUE", "User is already a Member of this group.", ("MemberId",)) if found else None


def duplicate_group(tx: DataTransaction, row: dict[str, Any], record_id: str | None) -> RecordError | None:
    """Before a CollaborationGroup is saved: the error when another group has its name."""
    name = row.get("name")
    if not name:
        return None
    found = [r for r in tx.query("SELECT Id FROM CollaborationGroup WHERE Name = :n", {"n": str(name)}).records
             if r["Id"] != record_id]
    if not found:
        return None
    return RecordError("DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: "
                                          "<unknown>", ())


def after_group_insert(tx: DataTransaction, row: dict[str, Any]) -> None:
    """After a CollaborationGroup is inserted: its owner is an Admin member, as Salesforce makes it."""
    owner = row.get("ownerid")
    if owner:
        tx.insert("CollaborationGroupMember", [{"CollaborationGroupId": row["id"], "MemberId": owner,
                                                "CollaborationRole": "Admin"}], all_or_none=True,
                  read_only_fields="write")


def duplicate(tx: DataTransaction, sobject: str, row: dict[str, Any], old: dict[str, Any] | None,
              record_id: str | None) -> RecordError | None:
    """The DUPLICATE_VALUE error of a follow, a group membership or a group name that already exists."""
    if sobject == "entitysubscription" and old is None:
        return duplicate_follow(tx, row)
    if sobject == "collaborationgroupmember" and old is None:
        return duplicate_member(tx, row)
    if sobject == "collaborationgroup" and (old is None or old.get("name") != row.get("name")):
        return duplicate_group(tx, row, record_id)
    return None
