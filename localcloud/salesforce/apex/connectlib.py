"""ConnectApi (Chatter in Apex): ``ConnectApi.ChatterFeeds`` over the org's FeedItem, FeedComment and FeedLike
rows, follows (``ChatterUsers``, ``Chatter``) over EntitySubscription rows, ``ChatterUsers.getUser``, and the
test doubles Salesforce requires in Apex tests.

ChatterFeeds: ``postFeedElement`` (a ``FeedItemInput`` or text), ``postFeedElementBatch``, ``getFeedElement``,
``getFeedElementBatch``, ``getFeedElementsFromFeed`` (Record, UserProfile, News, To, Groups, Company feeds),
``searchFeedElements``, ``updateFeedElement``, ``deleteFeedElement``, ``postCommentToFeedElement``,
``getCommentsForFeedElement``, ``getComment``, ``deleteComment``, ``likeFeedElement``, ``getLikesForFeedElement``,
``deleteLike``, ``setTestGetFeedElementsFromFeed`` and ``setTestSearchFeedElements``. ChatterUsers: ``getUser``,
``follow``, ``getFollowers``, ``getFollowings``; ConnectApi.Chatter: ``getFollowers`` (of a record),
``getSubscription``, ``deleteSubscription`` (unfollow), over EntitySubscription rows. Writes run the rows'
triggers and, as the Apex Reference says ("every write operation costs one DML statement"), count one DML
statement. Reads count no SOQL query.

In an Apex test, as in Salesforce: a method that reads or writes org data needs ``@IsTest(SeeAllData=true)``
(else ``System.UnsupportedOperationException: ConnectApi methods are not supported in data siloed tests.
Please use @IsTest(SeeAllData=true).``); ``getFeedElementsFromFeed`` and ``searchFeedElements`` never read
org data in a test: they return what the matching ``setTest...`` call registered with the same arguments,
and throw when nothing was. Types and methods not provided are refused when the code compiles.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import ops
from .connectbody import (Body, actor, feed_body, from_input, from_text, remember, user_detail, user_row,
                          user_summary)
from .connectrate import limited
from .connecttypes import BatchInput, BatchResult, enum, is_a, new, prop, select, throw, typed_list
from .stdlib import STATIC_METHODS
from .values import EnumValue, IdValue, SObject

NO_SILO = "ConnectApi methods are not supported in data siloed tests. Please use @IsTest(SeeAllData=true)."
NOT_FOUND = "Resource not found."
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
DEFAULT_RECENT_COMMENTS = 3
MAX_BATCH = 500
API = "/services/data/v62.0"
ITEM_FIELDS = ("Id, ParentId, Body, IsRichText, Type, Visibility, CreatedDate, LastModifiedDate, CreatedById, "
               "CommentCount, LikeCount")
COMMENT_FIELDS = ("Id, FeedItemId, ParentId, CommentBody, IsRichText, CommentType, CreatedDate, CreatedById, "
                  "ThreadLevel, ThreadParentId")


# ------------------------------------------------------------------------------------------ context
def _prog() -> Any:
    return ops.CURRENT.prog


def _sees_all_data(prog: Any) -> bool:
    """The running Apex test (its method or class) is annotated @IsTest(SeeAllData=true)."""
    pattern = re.compile(r"seealldata\s*=\s*true", re.I)
    for pos in prog.tx.stack:
        method = pos[0] if pos else None
        cls = getattr(method, "cls", None)
        while cls is not None:
            if pattern.search(cls.annotations.get("istest", "")):
                return True
            cls = cls.outer
        if method is not None and pattern.search(getattr(method, "annotations", {}).get("istest", "")):
            return True
    return False


def _community(community_id: Any) -> None:
    if community_id is not None and str(community_id).lower() != "internal":
        throw(f"Invalid communityId: {community_id}. The local org has no Experience Cloud sites: use null "
              "(Network.getNetworkId()) or 'internal'")


def _org_data(prog: Any, community_id: Any) -> Any:
    """Checks for a method that reads or writes org data; returns the data transaction."""
    if prog.tx.test is not None and not _sees_all_data(prog):
        ops.throw("System.UnsupportedOperationException", NO_SILO)
    _community(community_id)
    session = prog.tx.data
    if session is None:
        ops.throw("System.UnexpectedException", "ConnectApi needs the local org's data layer; this program runs "
                                                "without one")
    return session.tx


def _write(prog: Any, rows: int = 1) -> None:
    """A write operation: one DML statement against the governor limit."""
    prog.tx.check("dml")
    prog.tx.add_rows("dml", rows)


def _me(prog: Any) -> str:
    return str((prog.tx.user or {}).get("userid") or getattr(prog.data, "user_id", "") or "")


def _subject(prog: Any, subject: Any) -> str:
    return _me(prog) if str(subject).lower() == "me" else str(subject)


def _typed(prog: Any, row: dict[str, Any], sobject: str, field: str) -> Any:
    from .soql import to_sobject
    return to_sobject(prog, row, sobject).get_value(field)


def _one(dtx: Any, sobject: str, fields: str, record_id: Any) -> dict[str, Any]:
    rid = str(record_id or "")
    rows = select(dtx, f"SELECT {fields} FROM {sobject} WHERE Id = :v", {"v": rid}) if len(rid) in (15, 18) \
        else []
    if not rows:
        throw(NOT_FOUND, "ConnectApi.NotFoundException")
    return rows[0]


# ------------------------------------------------------------------------------------------ test doubles
def _doubles(prog: Any) -> list[tuple[str, list[Any], Any]]:
    return prog.tx.mocks.setdefault("connectapi", [])


def _set_test(method: str) -> Callable[[list[Any]], None]:
    def register(a: list[Any]) -> None:
        prog = _prog()
        if prog.tx.test is None:
            ops.throw("System.UnsupportedOperationException",
                      f"ConnectApi.ChatterFeeds.setTest{method[0].upper()}{method[1:]} can be called only in an "
                      "Apex test")
        if not a or not is_a(a[-1], "ConnectApi.FeedElementPage"):
            throw(f"setTest{method[0].upper()}{method[1:]}: the last argument is the ConnectApi.FeedElementPage "
                  "to return")
        doubles = _doubles(prog)
        doubles[:] = [d for d in doubles if not (d[0] == method and _same(d[1], a[:-1]))]
        doubles.append((method, list(a[:-1]), a[-1]))
    return register


def _same(left: list[Any], right: list[Any]) -> bool:
    return len(left) == len(right) and all(ops.eq(x, y) for x, y in zip(left, right))


def _test_double(prog: Any, method: str, a: list[Any]) -> Any:
    for name, args, result in _doubles(prog):
        if name == method and _same(args, a):
            return result
    ops.throw("System.UnsupportedOperationException",
              f"No test data registered for ConnectApi.ChatterFeeds.{method} with these arguments: call "
              f"ConnectApi.ChatterFeeds.setTest{method[0].upper()}{method[1:]} with the same arguments first")


# ------------------------------------------------------------------------------------------ output objects
def _feed_item(prog: Any, dtx: Any, row: dict[str, Any], recent_comments: int = DEFAULT_RECENT_COMMENTS) -> Any:
    item_id = str(row["Id"])
    comments = select(dtx, f"SELECT {COMMENT_FIELDS} FROM FeedComment WHERE FeedItemId = :v "
                         f"ORDER BY CreatedDate DESC, Id DESC LIMIT {int(recent_comments)}", {"v": item_id}) \
        if recent_comments else []
    comment_page = new("ConnectApi.CommentPage", total=int(row.get("CommentCount") or 0),
                       items=typed_list([_comment(prog, dtx, c) for c in reversed(comments)], "ConnectApi.Comment"),
                       currentPageUrl=f"{API}/chatter/feed-elements/{item_id}/capabilities/comments/items")
    likes = _likes_page(prog, dtx, item_id, 0, DEFAULT_PAGE_SIZE)
    capabilities = new(
        "ConnectApi.FeedElementCapabilities",
        comments=new("ConnectApi.CommentsCapability", page=comment_page),
        chatterLikes=new("ConnectApi.ChatterLikesCapability", page=likes, myLike=prop(likes, "myLike"),
                         isLikedByCurrentUser=prop(likes, "myLike") is not None),
        bookmarks=new("ConnectApi.BookmarksCapability", isBookmarkedByCurrentUser=False))
    creator = user_row(dtx, str(row.get("CreatedById")))
    kind = str(row.get("Type") or "TextPost")
    item_type = enum("ConnectApi.FeedItemType", kind) if kind.lower() in (
        prog.builtins["connectapi.feeditemtype"].enum_values) else None
    return new("ConnectApi.FeedItem", id=item_id, body=feed_body(dtx, prog.data, item_id, row.get("Body"),
                                                                  row.get("IsRichText")),
               capabilities=capabilities, createdDate=_typed(prog, row, "FeedItem", "CreatedDate"),
               modifiedDate=_typed(prog, row, "FeedItem", "LastModifiedDate"),
               feedElementType=enum("ConnectApi.FeedElementType", "FeedItem"),
               parent=actor(dtx, str(row.get("ParentId"))), actor=user_summary(creator) if creator else None,
               visibility=enum("ConnectApi.FeedItemVisibilityType", str(row.get("Visibility") or "AllUsers")),
               type=item_type, url=f"{API}/chatter/feed-elements/{item_id}", isBookmarkedByCurrentUser=False,
               isDeleteRestricted=False, isSharable=True, canShare=True, hasVerifiedComment=False)


def _comment(prog: Any, dtx: Any, row: dict[str, Any]) -> Any:
    cid = str(row["Id"])
    creator = user_row(dtx, str(row.get("CreatedById")))
    kind = str(row.get("CommentType") or "TextComment")
    return new("ConnectApi.Comment", id=cid, body=feed_body(dtx, prog.data, cid, row.get("CommentBody"),
                                                             row.get("IsRichText")),
               createdDate=_typed(prog, row, "FeedComment", "CreatedDate"),
               feedElement=new("ConnectApi.Reference", id=str(row["FeedItemId"]),
                               url=f"{API}/chatter/feed-elements/{row['FeedItemId']}"),
               parent=actor(dtx, str(row.get("ParentId"))) if row.get("ParentId") else None,
               threadLevel=int(row.get("ThreadLevel") or 1), threadParentId=row.get("ThreadParentId"),
               type=enum("ConnectApi.CommentType", kind), url=f"{API}/chatter/comments/{cid}",
               user=user_summary(creator) if creator else None, isDeleteRestricted=False,
               likes=new("ConnectApi.ChatterLikePage", total=0, items=typed_list([], "ConnectApi.ChatterLike")))


def _like(dtx: Any, row: dict[str, Any]) -> Any:
    creator = user_row(dtx, str(row.get("CreatedById")))
    entity = str(row.get("FeedEntityId") or row.get("FeedItemId"))
    return new("ConnectApi.ChatterLike", id=str(row["Id"]), url=f"{API}/chatter/likes/{row['Id']}",
               likedItem=new("ConnectApi.Reference", id=entity, url=f"{API}/chatter/feed-elements/{entity}"),
               user=user_summary(creator) if creator else None)


def _likes_page(prog: Any, dtx: Any, item_id: str, page: int, size: int) -> Any:
    rows = select(dtx, "SELECT Id, FeedItemId, FeedEntityId, CreatedById FROM FeedLike WHERE FeedItemId = :v "
                     "ORDER BY CreatedDate DESC, Id DESC", {"v": item_id})
    mine = next((r for r in rows if str(r.get("CreatedById")) == _me(prog)), None)
    shown = rows[page * size:(page + 1) * size]
    return new("ConnectApi.ChatterLikePage", total=len(rows), myLike=_like(dtx, mine) if mine else None,
               items=typed_list([_like(dtx, r) for r in shown], "ConnectApi.ChatterLike"),
               currentPageToken=str(page), nextPageToken=str(page + 1) if (page + 1) * size < len(rows) else None,
               currentPageUrl=f"{API}/chatter/feed-elements/{item_id}/capabilities/chatter-likes/items")


def _item(prog: Any, dtx: Any, item_id: Any, recent_comments: int = DEFAULT_RECENT_COMMENTS) -> Any:
    return _feed_item(prog, dtx, _one(dtx, "FeedItem", ITEM_FIELDS, item_id), recent_comments)


# ------------------------------------------------------------------------------------------ writing rows
def _dml(prog: Any, op: str, record: SObject, what: str) -> str:
    from .dml import _call, _data_errors
    (result,) = _call(prog, op, [record], None, False)
    if result is None or not getattr(result, "success", False):
        errors = _data_errors(result) if result is not None else []
        message = "; ".join(f"{e.status_code}: {e.message}" for e in errors) or "the record was not saved"
        throw(f"Cannot {what}: {message}")
    return str(record.get_value("Id"))


def _id(value: str) -> Any:
    return IdValue(value) if len(value) in (15, 18) else value


def _post(prog: Any, dtx: Any, subject_id: Any, element_type: Any, body: Body, visibility: Any) -> Any:
    if isinstance(element_type, EnumValue) and element_type.name != "FeedItem":
        throw(f"feedElementType {element_type.name} cannot be posted: use ConnectApi.FeedElementType.FeedItem")
    if not subject_id:
        throw("subjectId is required: the id of a record or user, or 'me'")
    vis = visibility.name if isinstance(visibility, EnumValue) else "AllUsers"
    record = SObject("FeedItem", {"ParentId": _id(_subject(prog, subject_id)), "Body": body.stored,
                                  "IsRichText": body.rich, "Type": "TextPost", "Visibility": vis})
    item_id = _dml(prog, "insert", record, f"post to {subject_id}")
    remember(prog.data, item_id, body)
    return _item(prog, dtx, item_id, 0)


def _post_input(prog: Any, dtx: Any, item: Any) -> Any:
    if not is_a(item, "ConnectApi.FeedItemInput"):
        throw("feedElement is required: a ConnectApi.FeedItemInput")
    if prop(item, "capabilities") is not None:
        ops.throw("System.UnexpectedException", "FeedItemInput.capabilities is not supported by the local org")
    if prop(item, "originalFeedElementId") is not None:
        ops.throw("System.UnexpectedException", "FeedItemInput.originalFeedElementId (sharing a post) is not "
                                                "supported by the local org")
    return _post(prog, dtx, prop(item, "subjectId"), prop(item, "feedElementType"), from_input(dtx, prop(item, "body")),
                 prop(item, "visibility"))


def post_feed_element(a: list[Any]) -> Any:
    prog = _prog()
    if len(a) == 4:  # (communityId, subjectId, feedElementType, text)
        dtx = _org_data(prog, a[0])
        _write(prog)
        return _post(prog, dtx, a[1], a[2], from_text(a[3]), None)
    if len(a) not in (2, 3):
        ops.throw("System.UnexpectedException", "ConnectApi.ChatterFeeds.postFeedElement with "
                                                f"{len(a)} arguments is not supported by the local org")
    dtx = _org_data(prog, a[0])
    if len(a) == 3 and a[2] is not None:
        ops.throw("System.UnexpectedException", "ConnectApi.ChatterFeeds.postFeedElement with a file upload "
                                                "is not supported by the local org")
    _write(prog)
    return _post_input(prog, dtx, a[1])


def _as_batch_result(fn: Callable[[], Any]) -> BatchResult:
    try:
        return BatchResult(fn())
    except ops.ApexThrown as thrown:
        type_name = thrown.obj.cls.name
        if type_name.lower() in ("system.limitexception", "system.unsupportedoperationexception"):
            raise
        message = thrown.obj.fields.get("__message")
        return BatchResult(None, type_name, None if message is None else str(message))


def post_feed_element_batch(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    inputs = list(a[1] or [])
    if len(inputs) > MAX_BATCH:
        throw(f"A batch holds at most {MAX_BATCH} inputs, not {len(inputs)}")
    for one in inputs:
        if not isinstance(one, BatchInput):
            throw("feedElements must be ConnectApi.BatchInput objects")
        if one.binary is not None:
            ops.throw("System.UnexpectedException", "ConnectApi.BatchInput with a file upload is not supported by "
                                                    "the local org")
    _write(prog, max(1, len(inputs)))
    return typed_list([_as_batch_result(lambda one=one: _post_input(prog, dtx, one.input)) for one in inputs],
                      "ConnectApi.BatchResult")


def update_feed_element(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    row = _one(dtx, "FeedItem", ITEM_FIELDS, a[1])
    element = a[2] if len(a) > 2 else None
    if not is_a(element, "ConnectApi.FeedItemInput"):
        throw("feedElement is required: a ConnectApi.FeedItemInput with the new body")
    body = from_input(dtx, prop(element, "body"))
    _write(prog)
    record = SObject("FeedItem", {"Id": _id(str(row["Id"])), "Body": body.stored, "IsRichText": body.rich})
    _dml(prog, "update", record, f"update {row['Id']}")
    remember(prog.data, str(row["Id"]), body)
    return _item(prog, dtx, row["Id"])


def _delete(sobject: str) -> Callable[[list[Any]], None]:
    def delete(a: list[Any]) -> None:
        prog = _prog()
        dtx = _org_data(prog, a[0])
        row = _one(dtx, sobject, "Id", a[1])
        _write(prog)
        _dml(prog, "delete", SObject(sobject, {"Id": _id(str(row["Id"]))}), f"delete {row['Id']}")
    return delete


def post_comment(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    item = _one(dtx, "FeedItem", "Id", a[1])
    thread_parent = None
    if len(a) == 3:
        body = from_text(a[2])
    elif len(a) == 4:
        if a[3] is not None:
            ops.throw("System.UnexpectedException", "ConnectApi.ChatterFeeds.postCommentToFeedElement with a file "
                                                    "upload is not supported by the local org")
        if not is_a(a[2], "ConnectApi.CommentInput"):
            throw("comment is required: a ConnectApi.CommentInput")
        if prop(a[2], "capabilities") is not None:
            ops.throw("System.UnexpectedException", "CommentInput.capabilities is not supported by the local org")
        body = from_input(dtx, prop(a[2], "body"))
        thread_parent = prop(a[2], "threadParentId")
        if thread_parent:
            _one(dtx, "FeedComment", "Id", thread_parent)
    else:
        throw(f"postCommentToFeedElement takes 3 or 4 arguments, not {len(a)}")
        return None
    _write(prog)
    values = {"FeedItemId": _id(str(item["Id"])), "CommentBody": body.stored, "IsRichText": body.rich,
              "CommentType": "TextComment"}
    if thread_parent:
        values["ThreadParentId"] = _id(str(thread_parent))
    comment_id = _dml(prog, "insert", SObject("FeedComment", values), f"comment on {item['Id']}")
    remember(prog.data, comment_id, body)
    return _comment(prog, dtx, _one(dtx, "FeedComment", COMMENT_FIELDS, comment_id))


def _page_args(a: list[Any]) -> tuple[int, int]:
    """(page number, page size) of a pageParam / pageSize pair (null: the first page, 25 items)."""
    token, size = (a[0] if a else None), (a[1] if len(a) > 1 else None)
    size = DEFAULT_PAGE_SIZE if size is None else int(size)
    if not 1 <= size <= MAX_PAGE_SIZE:
        throw(f"Invalid pageSize: {size}. A page holds 1 to {MAX_PAGE_SIZE} items")
    if token is None or str(token) == "":
        return 0, size
    if not re.fullmatch(r"\d+", str(token)):
        throw(f"Invalid pageParam: {token}")
    return int(str(token)), size


def get_comments(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    item = _one(dtx, "FeedItem", "Id", a[1])
    page, size = _page_args(a[2:])
    rows = select(dtx, f"SELECT {COMMENT_FIELDS} FROM FeedComment WHERE FeedItemId = :v ORDER BY CreatedDate, Id",
                     {"v": str(item["Id"])})
    shown = rows[page * size:(page + 1) * size]
    base = f"{API}/chatter/feed-elements/{item['Id']}/capabilities/comments/items"
    more = (page + 1) * size < len(rows)
    return new("ConnectApi.CommentPage", total=len(rows), currentPageToken=str(page) if page else None,
               items=typed_list([_comment(prog, dtx, r) for r in shown], "ConnectApi.Comment"),
               currentPageUrl=f"{base}?page={page}&pageSize={size}" if page else base,
               nextPageToken=str(page + 1) if more else None,
               nextPageUrl=f"{base}?page={page + 1}&pageSize={size}" if more else None)


def get_comment(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    return _comment(prog, dtx, _one(dtx, "FeedComment", COMMENT_FIELDS, a[1]))


def like_feed_element(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    item = _one(dtx, "FeedItem", "Id", a[1])
    me = _me(prog)
    mine = select(dtx, "SELECT Id, FeedItemId, FeedEntityId, CreatedById FROM FeedLike WHERE FeedItemId = :v AND "
                     "CreatedById = :me", {"v": str(item["Id"]), "me": me})
    if mine:  # liking twice keeps the one like
        return _like(dtx, mine[0])
    _write(prog)
    like_id = _dml(prog, "insert", SObject("FeedLike", {"FeedItemId": _id(str(item["Id"])),
                                                        "FeedEntityId": _id(str(item["Id"]))}), f"like {item['Id']}")
    return _like(dtx, _one(dtx, "FeedLike", "Id, FeedItemId, FeedEntityId, CreatedById", like_id))


def get_likes(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    item = _one(dtx, "FeedItem", "Id", a[1])
    page, size = _page_args(a[2:])
    return _likes_page(prog, dtx, str(item["Id"]), page, size)


def get_feed_element(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    recent = DEFAULT_RECENT_COMMENTS if len(a) < 3 or a[2] is None else max(0, min(int(a[2]), 25))
    return _item(prog, dtx, a[1], recent)


def get_feed_element_batch(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    ids = list(a[1] or [])
    if len(ids) > MAX_BATCH:
        throw(f"A batch holds at most {MAX_BATCH} feed element ids, not {len(ids)}")
    return typed_list([_as_batch_result(lambda i=i: _item(prog, dtx, i)) for i in ids], "ConnectApi.BatchResult")


# ------------------------------------------------------------------------------------------ feeds and search
def _feed_args(a: list[Any]) -> dict[str, Any]:
    """The named arguments of a getFeedElementsFromFeed overload (the Apex Reference's ten signatures)."""
    n = len(a)
    # 8 arguments: (..., recentCommentCount, density, pageParam, pageSize, sortParam, filter) or, with a subject,
    # (..., subjectId, recentCommentCount, density, pageParam, pageSize, sortParam)
    filtered = n == 8 and isinstance(a[7], EnumValue) and a[7].enum.name == "ConnectApi.FeedFilter"
    with_subject = n in (3, 6, 9, 10, 11) or (n == 8 and not filtered and not isinstance(a[2], int))
    rest = a[3:] if with_subject else a[2:]
    out: dict[str, Any] = {"subject": a[2] if with_subject else None, "recent": None, "token": None, "size": None,
                           "sort": None}
    if len(rest) == 3:  # pageParam, pageSize, sortParam
        out.update(token=rest[0], size=rest[1], sort=rest[2])
    elif len(rest) >= 5:  # recentCommentCount, [elementsPerBundle,] density, pageParam, pageSize, sortParam, ...
        skip = 1 if n in (10, 11) else 0
        out.update(recent=rest[0], token=rest[2 + skip], size=rest[3 + skip], sort=rest[4 + skip])
    return out


def _feed_rows(prog: Any, dtx: Any, feed: EnumValue, subject: Any) -> list[dict[str, Any]]:
    me = _me(prog)
    kind = feed.name
    if kind == "Company":
        return select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem")
    if subject is None:
        throw(f"subjectId is required for the {kind} feed")
    who = _subject(prog, subject)
    if kind == "To":  # posts to the user and posts (or their comments) that mention them: "@Name" in the body
        found = user_row(dtx, who) if who.startswith("005") else None
        if found is None:
            throw(f"The To feed's subject is a user: {subject}")
        mention = "@" + str(found.get("Name") or "")
        mentioned = {str(c["FeedItemId"]) for c in select(dtx, "SELECT FeedItemId, CommentBody FROM FeedComment")
                     if mention in str(c.get("CommentBody") or "")}
        return [r for r in select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem")
                if str(r.get("ParentId")) == who or mention in str(r.get("Body") or "") or str(r["Id"]) in mentioned]
    if kind == "Groups":
        groups = _my_groups(dtx, who)
        return select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem WHERE ParentId IN :g", {"g": groups}) \
            if groups else []
    if kind == "Record":
        return select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem WHERE ParentId = :v", {"v": who})
    if kind == "UserProfile":
        return select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem WHERE ParentId = :v OR CreatedById = :v",
                         {"v": who})
    if kind == "News":
        if who != me:
            throw("The News feed is the context user's: use 'me' or the context user's id as subjectId")
        followed = [str(r["ParentId"]) for r in select(dtx, "SELECT ParentId FROM EntitySubscription WHERE "
                                                          "SubscriberId = :v", {"v": me})]
        people = [f for f in followed if f.startswith("005")]
        followed += _my_groups(dtx, me)
        return select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem WHERE ParentId = :v OR CreatedById = :v OR "
                         "ParentId IN :followed OR CreatedById IN :people",
                         {"v": me, "followed": followed or [me], "people": people or [me]})
    ops.throw("System.UnexpectedException", f"ConnectApi.FeedType.{kind} is not supported by the local org "
                                            "(it reads the Record, UserProfile, News, To, Groups and Company feeds)")
    return []


def _my_groups(dtx: Any, user_id: str) -> list[str]:
    return [str(r["CollaborationGroupId"]) for r in select(dtx, 
        "SELECT CollaborationGroupId FROM CollaborationGroupMember WHERE MemberId = :m", {"m": user_id})]


def _page_of(prog: Any, dtx: Any, rows: list[dict[str, Any]], args: dict[str, Any], base: str) -> Any:
    sort = args["sort"].name if isinstance(args["sort"], EnumValue) else "LastModifiedDateDesc"
    key = "CreatedDate" if sort == "CreatedDateDesc" else "LastModifiedDate"
    rows = sorted(rows, key=lambda r: (str(r.get(key) or ""), str(r["Id"])), reverse=True)
    page, size = _page_args([args["token"], args["size"]])
    recent = DEFAULT_RECENT_COMMENTS if args["recent"] is None else max(0, min(int(args["recent"]), 25))
    shown = rows[page * size:(page + 1) * size]
    more = (page + 1) * size < len(rows)
    return new("ConnectApi.FeedElementPage",
               elements=typed_list([_feed_item(prog, dtx, r, recent) for r in shown], "ConnectApi.FeedElement"),
               currentPageToken=str(page) if page else None,
               currentPageUrl=f"{base}?page={page}&pageSize={size}" if page else base,
               nextPageToken=str(page + 1) if more else None,
               nextPageUrl=f"{base}?page={page + 1}&pageSize={size}" if more else None)


def get_feed_elements_from_feed(a: list[Any]) -> Any:
    prog = _prog()
    if prog.tx.test is not None:
        return _test_double(prog, "getFeedElementsFromFeed", a)
    if len(a) < 2 or not isinstance(a[1], EnumValue):
        throw("feedType is required: a ConnectApi.FeedType")
    dtx = _org_data(prog, a[0])
    args = _feed_args(a)
    feed = a[1]
    question_filter = next((x for x in a[2:] if isinstance(x, EnumValue) and x.enum.name == "ConnectApi.FeedFilter"
                            and x.name != "CommunityScoped"), None)
    if question_filter is not None:
        ops.throw("System.UnexpectedException", f"ConnectApi.FeedFilter.{question_filter.name} is not supported by "
                                                "the local org (it has no question posts)")
    rows = _feed_rows(prog, dtx, feed, args["subject"])
    subject = "" if args["subject"] is None else f"/{args['subject']}"
    return _page_of(prog, dtx, rows, args, f"{API}/chatter/feeds/{feed.name.lower()}{subject}/feed-elements")


def search_feed_elements(a: list[Any]) -> Any:
    prog = _prog()
    if prog.tx.test is not None:
        return _test_double(prog, "searchFeedElements", a)
    dtx = _org_data(prog, a[0])
    q = "" if len(a) < 2 or a[1] is None else str(a[1])
    term = q.replace("*", "").strip()
    if len(term) < 2:
        throw(f"Invalid search term: {q!r}. A search term needs at least 2 characters")
    rest = a[2:]
    args: dict[str, Any] = {"recent": None, "token": None, "size": None, "sort": None}
    if len(rest) == 1:
        args["sort"] = rest[0]
    elif len(rest) in (2, 3):
        args.update(token=rest[0], size=rest[1], sort=rest[2] if len(rest) == 3 else None)
    elif len(rest) == 4:
        args.update(recent=rest[0], token=rest[1], size=rest[2], sort=rest[3])
    pattern = re.compile(re.escape(term).replace(r"\ ", r"\s+"), re.I)
    commented = {str(c["FeedItemId"]) for c in select(dtx, "SELECT FeedItemId, CommentBody FROM FeedComment")
                 if pattern.search(re.sub(r"<[^>]+>", "", str(c.get("CommentBody") or "")))}
    rows = [r for r in select(dtx, f"SELECT {ITEM_FIELDS} FROM FeedItem")
            if pattern.search(re.sub(r"<[^>]+>", "", str(r.get("Body") or ""))) or str(r["Id"]) in commented]
    return _page_of(prog, dtx, rows, args, f"{API}/chatter/feed-elements?q={term}")


# ------------------------------------------------------------------------------------------ users
def get_user(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    user_id = _subject(prog, a[1] if len(a) > 1 else None)
    row = user_row(dtx, user_id) if user_id.startswith("005") else None
    if row is None:
        throw(NOT_FOUND, "ConnectApi.NotFoundException")
        return None
    manager = user_row(dtx, str(row["ManagerId"])) if row.get("ManagerId") else None
    return user_detail(row, manager.get("Name") if manager else None)


# ------------------------------------------------------------------------------------------ follows
SUBSCRIPTION_FIELDS = "Id, ParentId, SubscriberId, CreatedDate"


def _subscription(prog: Any, dtx: Any, row: dict[str, Any]) -> Any:
    subscriber = user_row(dtx, str(row["SubscriberId"]))
    return new("ConnectApi.Subscription", id=str(row["Id"]), subject=actor(dtx, str(row["ParentId"])),
               subscriber=user_summary(subscriber) if subscriber else None,
               createdDate=_typed(prog, row, "EntitySubscription", "CreatedDate"),
               url=f"{API}/chatter/subscriptions/{row['Id']}")


def _follow_page(prog: Any, dtx: Any, a: list[Any], where: str, kind: str) -> Any:
    """A FollowerPage / FollowingPage: (communityId, id[, pageParam, pageSize]), pages numbered from 0."""
    dtx_id = _subject(prog, a[1] if len(a) > 1 else None)
    page, size = _page_args(a[2:])
    rows = select(dtx, f"SELECT {SUBSCRIPTION_FIELDS} FROM EntitySubscription WHERE {where} = :v "
                     "ORDER BY CreatedDate, Id", {"v": dtx_id})
    shown = rows[page * size:(page + 1) * size]
    base = f"{API}/chatter/{'users' if dtx_id.startswith('005') else 'records'}/{dtx_id}/{kind}"
    more = (page + 1) * size < len(rows)
    items = typed_list([_subscription(prog, dtx, r) for r in shown], "ConnectApi.Subscription")
    return new("ConnectApi.FollowerPage" if kind == "followers" else "ConnectApi.FollowingPage", total=len(rows),
               currentPageUrl=f"{base}?page={page}&pageSize={size}",
               nextPageUrl=f"{base}?page={page + 1}&pageSize={size}" if more else None,
               previousPageUrl=f"{base}?page={page - 1}&pageSize={size}" if page else None,
               **{kind: items})


def get_followers(a: list[Any]) -> Any:
    prog = _prog()
    return _follow_page(prog, _org_data(prog, a[0]), a, "ParentId", "followers")


def get_followings(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    if not _subject(prog, a[1] if len(a) > 1 else None).startswith("005"):
        throw(f"userId must be a user's id or 'me', not {a[1] if len(a) > 1 else None}")
    return _follow_page(prog, dtx, a, "SubscriberId", "following")


def follow(a: list[Any]) -> Any:
    """ChatterUsers.follow(communityId, userId, subjectId): the user (the context user) follows a record or user."""
    prog = _prog()
    dtx = _org_data(prog, a[0])
    user = _subject(prog, a[1] if len(a) > 1 else None)
    if user != _me(prog):
        throw("userId must be the context user's id or 'me': a user follows records only for themselves")
    subject = _subject(prog, a[2] if len(a) > 2 else None)
    found = select(dtx, f"SELECT {SUBSCRIPTION_FIELDS} FROM EntitySubscription WHERE ParentId = :p AND "
                      "SubscriberId = :s", {"p": subject, "s": user})
    if found:  # following again answers the existing subscription
        return _subscription(prog, dtx, found[0])
    _write(prog)
    sub_id = _dml(prog, "insert", SObject("EntitySubscription", {"ParentId": _id(subject), "SubscriberId": _id(user)}),
                  f"follow {subject}")
    return _subscription(prog, dtx, _one(dtx, "EntitySubscription", SUBSCRIPTION_FIELDS, sub_id))


def get_subscription(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    return _subscription(prog, dtx, _one(dtx, "EntitySubscription", SUBSCRIPTION_FIELDS, a[1]))


STATIC_METHODS.update(limited({
    ("connectapi.chatterfeeds", "postfeedelement"): post_feed_element,
    ("connectapi.chatterfeeds", "postfeedelementbatch"): post_feed_element_batch,
    ("connectapi.chatterfeeds", "updatefeedelement"): update_feed_element,
    ("connectapi.chatterfeeds", "deletefeedelement"): _delete("FeedItem"),
    ("connectapi.chatterfeeds", "getfeedelement"): get_feed_element,
    ("connectapi.chatterfeeds", "getfeedelementbatch"): get_feed_element_batch,
    ("connectapi.chatterfeeds", "getfeedelementsfromfeed"): get_feed_elements_from_feed,
    ("connectapi.chatterfeeds", "settestgetfeedelementsfromfeed"): _set_test("getFeedElementsFromFeed"),
    ("connectapi.chatterfeeds", "searchfeedelements"): search_feed_elements,
    ("connectapi.chatterfeeds", "settestsearchfeedelements"): _set_test("searchFeedElements"),
    ("connectapi.chatterfeeds", "postcommenttofeedelement"): post_comment,
    ("connectapi.chatterfeeds", "getcommentsforfeedelement"): get_comments,
    ("connectapi.chatterfeeds", "getcomment"): get_comment,
    ("connectapi.chatterfeeds", "deletecomment"): _delete("FeedComment"),
    ("connectapi.chatterfeeds", "likefeedelement"): like_feed_element,
    ("connectapi.chatterfeeds", "getlikesforfeedelement"): get_likes,
    ("connectapi.chatterfeeds", "deletelike"): _delete("FeedLike"),
    ("connectapi.chatterusers", "getuser"): get_user,
    ("connectapi.chatterusers", "getfollowers"): get_followers,
    ("connectapi.chatterusers", "getfollowings"): get_followings,
    ("connectapi.chatterusers", "follow"): follow,
    ("connectapi.chatter", "getfollowers"): get_followers,
    ("connectapi.chatter", "getsubscription"): get_subscription,
    ("connectapi.chatter", "deletesubscription"): _delete("EntitySubscription"),
}, _me))
