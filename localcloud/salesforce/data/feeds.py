"""Chatter feed rows: a FeedComment takes its feed item's parent as ``ParentId`` (read-only in Salesforce,
filled by the platform) and its ``ThreadLevel`` (1, or one more than the comment it answers).
FeedItem.CommentCount and LikeCount are roll-up summaries of the item's FeedComment and FeedLike rows
(standard_objects.json), and deleting a feed item deletes its comments and likes (cascade)."""

from __future__ import annotations

from typing import Any

from .txn import DataTransaction


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
