"""Chatter feed rows in the local org (issue 18, ConnectApi): FeedComment takes its feed item's parent and a
thread level, FeedItem.CommentCount / LikeCount follow the item's FeedComment / FeedLike rows, and deleting
the item deletes its comments and likes."""
from __future__ import annotations

from localcloud.salesforce.data import Store


def test_comments_and_likes_stay_in_step_with_their_feed_item(store: Store) -> None:
    with store.transaction() as tx:
        [account] = tx.insert("Account", [{"Name": "Acme"}])
        [item] = tx.insert("FeedItem", [{"ParentId": account.id, "Body": "Ship it?"}])
        [first] = tx.insert("FeedComment", [{"FeedItemId": item.id, "CommentBody": "Yes"}])
        [reply] = tx.insert("FeedComment", [{"FeedItemId": item.id, "CommentBody": "Agreed",
                                             "ThreadParentId": first.id}])
        [like] = tx.insert("FeedLike", [{"FeedItemId": item.id, "FeedEntityId": item.id}])
        assert first.success and reply.success and like.success, (first.errors, reply.errors, like.errors)
        row = tx.query("SELECT CommentCount, LikeCount, (SELECT ParentId, ThreadLevel FROM FeedComments "
                       "ORDER BY CreatedDate, Id) FROM FeedItem").records[0]
        assert (row["CommentCount"], row["LikeCount"]) == (2, 1)
        assert [(c["ParentId"], c["ThreadLevel"]) for c in row["FeedComments"]["records"]] == [
            (account.id, 1), (account.id, 2)]
        assert tx.delete([first.id])[0].success
        assert tx.query("SELECT CommentCount FROM FeedItem").records[0]["CommentCount"] == 1
        [orphan] = tx.insert("FeedComment", [{"FeedItemId": "0D5000000000009", "CommentBody": "lost"}],
                             all_or_none=False)
        assert not orphan.success and orphan.errors[0].status_code == "INVALID_CROSS_REFERENCE_KEY"
        assert tx.delete([item.id])[0].success
        assert tx.query("SELECT Id FROM FeedComment").records == []
        assert tx.query("SELECT Id FROM FeedLike").records == []


def test_posts_and_follows_take_any_record_and_a_user_follows_a_record_once(store: Store) -> None:
    with store.transaction() as tx:
        [row] = tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": "evt-1"}])
        [item] = tx.insert("FeedItem", [{"ParentId": row.id, "Body": "Look at this one"}])
        assert item.success, item.errors
        me = tx.query("SELECT Id FROM User WHERE Username = 'admin@ecbridge.local'").records[0]["Id"]
        first, second = tx.insert("EntitySubscription", [{"ParentId": row.id, "SubscriberId": me}] * 2,
                                  all_or_none=False)
        assert first.success, first.errors
        assert not second.success and (second.errors[0].status_code, second.errors[0].message) == (
            "DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: <unknown>")
        followed = tx.query("SELECT Id, (SELECT Id FROM FeedSubscriptions) FROM User WHERE Id = :me",
                            {"me": me}).records[0]
        assert followed["FeedSubscriptions"]["totalSize"] == 1


def test_a_chatter_group_has_its_owner_as_admin_and_unique_names_and_members(store: Store) -> None:
    with store.transaction() as tx:
        [group] = tx.insert("CollaborationGroup", [{"Name": "Launch", "CollaborationType": "Public"}])
        assert group.success, group.errors
        [member] = tx.query("SELECT MemberId, CollaborationRole, CollaborationGroup.MemberCount, "
                            "CollaborationGroup.OwnerId FROM CollaborationGroupMember").records
        assert member["CollaborationRole"] == "Admin" and member["MemberId"] == member["CollaborationGroup"]["OwnerId"]
        assert member["CollaborationGroup"]["MemberCount"] == 1
        [same_name] = tx.insert("CollaborationGroup", [{"Name": "launch", "CollaborationType": "Private"}],
                                all_or_none=False)
        assert (same_name.errors[0].status_code, same_name.errors[0].message) == (
            "DUPLICATE_VALUE", "duplicate value found: <unknown> duplicates value on record with id: <unknown>")
        [again] = tx.insert("CollaborationGroupMember", [{"CollaborationGroupId": group.id,
                                                          "MemberId": member["MemberId"]}], all_or_none=False)
        assert (again.errors[0].status_code, again.errors[0].message) == (
            "DUPLICATE_VALUE", "User is already a Member of this group.")
        [post] = tx.insert("FeedItem", [{"ParentId": group.id, "Body": "Hello group"}])
        assert post.success, post.errors
        assert tx.delete([group.id])[0].success
        assert tx.query("SELECT Id FROM CollaborationGroupMember").records == []
