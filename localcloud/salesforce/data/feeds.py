"""Chatter feed rows: a FeedComment takes its feed item's parent as ``ParentId`` (read-only in Salesforce,
filled by the platform) and its ``ThreadLevel`` (1, or one more than the comment it answers).
FeedItem.CommentCount and LikeCount are roll-up summaries of the item's FeedComment and FeedLike rows
(standard_objects.json), and deleting a feed item deletes its comments and likes (cascade).

Salesforce lets a post (FeedItem.ParentId, hence FeedComment.ParentId) and a follow (EntitySubscription.ParentId)
point at a record of any feed-tracked object, custom objects included; the local org does not model feed
tracking and takes any object of the org there (ANY_OBJECT_REFERENCES). A user follows a record once: a second
EntitySubscription for the same ParentId and SubscriberId fails with DUPLICATE_VALUE, Salesforce's text."""

from __future__ import annotations

from typing import Any

from .errors import RecordError
from .txn import DataTransaction

ANY_OBJECT_REFERENCES = {("feeditem", "parentid"), ("feedcomment", "parentid"), ("entitysubscription", "parentid")}


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
