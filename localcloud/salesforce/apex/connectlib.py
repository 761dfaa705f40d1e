"""ConnectApi (Chatter in Apex), the commonly used part: ``ConnectApi.ChatterFeeds.postFeedElement``.

``postFeedElement(communityId, feedElement)`` with a ``ConnectApi.FeedItemInput`` (``body`` a
``MessageBodyInput`` of ``TextSegmentInput`` / ``MentionSegmentInput`` / ``LinkSegmentInput``,
``feedElementType`` ``ConnectApi.FeedElementType.FeedItem``, ``subjectId`` a record, a user or ``'me'``)
and ``postFeedElement(communityId, subjectId, feedElementType, text)`` insert a ``FeedItem`` row
(its triggers run) and return a ``ConnectApi.FeedItem`` with ``id``, ``body`` (text and segments),
``feedElementType``, ``createdDate``, ``visibility``. Failures throw ``ConnectApi.ConnectApiException``.

As in Salesforce, an Apex test calling ConnectApi needs ``@IsTest(SeeAllData=true)``; otherwise the
call throws ``System.UnsupportedOperationException``. Everything else under ``ConnectApi`` is refused
when the code is compiled (unknown ConnectApi types and methods name the construct, file and line).
"""

from __future__ import annotations

import re
from typing import Any

from . import ops
from .stdlib import NAMESPACES, STATIC_METHODS
from .tables import BUILTIN_INSTALLERS
from .values import ApexList, ApexObject, EnumValue, IdValue, SObject, TypeRef

NAMESPACES.update({"connectapi", "connectapi.chatterfeeds"})
MAX_BODY_CHARS = 10_000
NO_SILO = "ConnectApi methods are not supported in data siloed tests. Please use @IsTest(SeeAllData=true)."

#: ConnectApi classes the local org has: name -> (superclass or None, fields)
CLASSES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "ConnectApi.FeedElementInput": (None, ("subjectId", "feedElementType", "capabilities")),
    "ConnectApi.FeedItemInput": ("ConnectApi.FeedElementInput", (
        "subjectId", "feedElementType", "capabilities", "body", "visibility", "isBookmarkedByCurrentUser",
        "originalFeedElementId")),
    "ConnectApi.MessageBodyInput": (None, ("messageSegments",)),
    "ConnectApi.MessageSegmentInput": (None, ()),
    "ConnectApi.TextSegmentInput": ("ConnectApi.MessageSegmentInput", ("text",)),
    "ConnectApi.MentionSegmentInput": ("ConnectApi.MessageSegmentInput", ("id", "username")),
    "ConnectApi.LinkSegmentInput": ("ConnectApi.MessageSegmentInput", ("url",)),
    "ConnectApi.FeedElement": (None, ("id", "body", "feedElementType", "createdDate", "parent", "url",
                                      "visibility")),
    "ConnectApi.FeedItem": ("ConnectApi.FeedElement", ("id", "body", "feedElementType", "createdDate", "parent",
                                                        "url", "visibility")),
    "ConnectApi.FeedBody": (None, ("text", "messageSegments", "isRichText")),
    "ConnectApi.MessageSegment": (None, ("text", "type")),
    "ConnectApi.TextSegment": ("ConnectApi.MessageSegment", ("text", "type")),
    "ConnectApi.MentionSegment": ("ConnectApi.MessageSegment", ("text", "type", "name")),
    "ConnectApi.LinkSegment": ("ConnectApi.MessageSegment", ("text", "type", "url")),
}
ABSTRACT = {"ConnectApi.FeedElementInput", "ConnectApi.MessageSegmentInput", "ConnectApi.FeedElement",
            "ConnectApi.MessageSegment"}
ENUMS = {
    "ConnectApi.FeedElementType": ["Bundle", "FeedItem", "Recommendation"],
    "ConnectApi.FeedItemVisibilityType": ["AllUsers", "InternalUsers"],
    "ConnectApi.MessageSegmentType": ["EntityLink", "FieldChange", "FieldChangeName", "FieldChangeValue",
                                      "Hashtag", "InlineImage", "Link", "MarkupBegin", "MarkupEnd", "Mention",
                                      "MoreChangesSegment", "ResourceLink", "Text"],
}
EXCEPTIONS = ("ConnectApi.ConnectApiException", "ConnectApi.NotFoundException", "ConnectApi.RateLimitException")


def _new(class_name: str, **values: Any) -> Any:
    """An instance of a ConnectApi output class with its fields set."""
    prog = ops.CURRENT.prog
    obj = prog.instantiate(prog.builtins[class_name.lower()], [])
    for k, v in values.items():
        obj.fields[k.lower()] = v
    return obj


def _is(value: Any, name: str) -> bool:
    cls = ops.CURRENT.prog.builtins.get(name.lower())
    return isinstance(value, ApexObject) and cls is not None and value.cls.is_subclass_of(cls)


def _field(value: Any, name: str) -> Any:
    return value.fields.get(name.lower())


def _enum(prog: Any, name: str, value: str) -> Any:
    return prog.builtins[name.lower()].enum_values[value.lower()]


def _throw(message: str) -> None:
    ops.throw("ConnectApi.ConnectApiException", message)


# ------------------------------------------------------------------------------------------ checks
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


def _check_context(prog: Any, community_id: Any) -> None:
    if prog.tx.test is not None and not _sees_all_data(prog):
        ops.throw("System.UnsupportedOperationException", NO_SILO)
    if community_id is not None and str(community_id).lower() != "internal":
        _throw(f"Invalid communityId: {community_id}. The local org has no Experience Cloud sites: use null "
               "(Network.getNetworkId()) or 'internal'")


def _user_id(prog: Any) -> str:
    return str((prog.tx.user or {}).get("userid") or getattr(prog.data, "user_id", "") or "")


def _data_tx(prog: Any) -> Any:
    session = prog.tx.data
    if session is None:
        ops.throw("System.UnexpectedException", "ConnectApi needs the local org's data layer; this program runs "
                                                "without one")
    return session.tx


# ------------------------------------------------------------------------------------------ posting
def _segments(prog: Any, body: Any) -> tuple[str, list[Any]]:
    """The post's text (mentions as @Name) and its output segments."""
    if not _is(body, "ConnectApi.MessageBodyInput"):
        _throw("body is required: a ConnectApi.MessageBodyInput with messageSegments")
    segments = _field(body, "messageSegments") or []
    if not segments:
        _throw("body.messageSegments is required: at least one message segment")
    text: list[str] = []
    out: list[Any] = []
    kind = "ConnectApi.MessageSegmentType"
    for seg in segments:
        if _is(seg, "ConnectApi.TextSegmentInput"):
            t = _field(seg, "text") or ""
            text.append(t)
            out.append(_new("ConnectApi.TextSegment", text=t, type=_enum(prog, kind, "Text")))
        elif _is(seg, "ConnectApi.MentionSegmentInput"):
            name = _mentioned(prog, seg)
            text.append("@" + name)
            out.append(_new("ConnectApi.MentionSegment", text="@" + name, name=name, type=_enum(prog, kind, "Mention")))
        elif _is(seg, "ConnectApi.LinkSegmentInput"):
            url = _field(seg, "url")
            if not url:
                _throw("LinkSegmentInput.url is required")
            text.append(str(url))
            out.append(_new("ConnectApi.LinkSegment", text=str(url), url=str(url), type=_enum(prog, kind, "Link")))
        else:
            _throw(f"Unsupported message segment: {ops.type_name(seg)} (the local org posts Text, Mention and Link "
                   "segments)")
    return "".join(text), out


def _mentioned(prog: Any, seg: Any) -> str:
    ident, username = _field(seg, "id"), _field(seg, "username")
    dtx = _data_tx(prog)
    if ident:
        rows = dtx.query("SELECT Id, Name FROM User WHERE Id = :v", {"v": str(ident)}).records
    elif username:
        rows = dtx.query("SELECT Id, Name FROM User WHERE Username = :v", {"v": str(username)}).records
    else:
        _throw("MentionSegmentInput needs an id or a username")
        return ""
    if not rows:
        _throw(f"Mentioned user not found: {ident or username}")
    return str(rows[0].get("Name") or "")


def _post(prog: Any, subject_id: Any, element_type: Any, text: str, segments: list[Any],
          visibility: Any) -> Any:
    if isinstance(element_type, EnumValue) and element_type.name != "FeedItem":
        _throw(f"feedElementType {element_type.name} cannot be posted: use ConnectApi.FeedElementType.FeedItem")
    if element_type is None:
        _throw("feedElementType is required: ConnectApi.FeedElementType.FeedItem")
    if not subject_id:
        _throw("subjectId is required: the id of a record or user, or 'me'")
    parent = _user_id(prog) if str(subject_id).lower() == "me" else str(subject_id)
    if len(text) > MAX_BODY_CHARS:
        _throw(f"The post is {len(text)} characters long: a feed item body holds at most {MAX_BODY_CHARS}")
    vis = visibility.name if isinstance(visibility, EnumValue) else "AllUsers"
    record = SObject("FeedItem", {"ParentId": IdValue(parent) if len(parent) in (15, 18) else parent, "Body": text,
                                  "Type": "TextPost", "Visibility": vis})
    from .dml import _call, _data_errors
    (result,) = _call(prog, "insert", [record], None, False)
    if result is None or not getattr(result, "success", False):
        errors = _data_errors(result) if result is not None else []
        message = "; ".join(f"{e.status_code}: {e.message}" for e in errors) or "the feed item was not saved"
        _throw(f"Cannot post to {subject_id}: {message}")
    row = _data_tx(prog).query("SELECT Id, CreatedDate FROM FeedItem WHERE Id = :v",
                               {"v": str(record.get_value("Id"))}).records[0]
    body = _new("ConnectApi.FeedBody", text=text, isRichText=False,
                messageSegments=ApexList(segments, TypeRef("ConnectApi.MessageSegment")))
    from .soql import to_sobject
    created = to_sobject(prog, row, "FeedItem").get_value("CreatedDate")
    return _new("ConnectApi.FeedItem", id=str(record.get_value("Id")), body=body,
                feedElementType=_enum(prog, "ConnectApi.FeedElementType", "FeedItem"),
                createdDate=created,
                visibility=_enum(prog, "ConnectApi.FeedItemVisibilityType", vis),
                url=f"/chatter-api/v62.0/feed-elements/{record.get_value('Id')}")


def post_feed_element(a: list[Any]) -> Any:
    prog = ops.CURRENT.prog
    if len(a) == 4:  # (communityId, subjectId, feedElementType, text)
        _check_context(prog, a[0])
        text = "" if a[3] is None else str(a[3])
        if not text:
            _throw("text is required")
        segment = _new("ConnectApi.TextSegment", text=text, type=_enum(prog, "ConnectApi.MessageSegmentType", "Text"))
        return _post(prog, a[1], a[2], text, [segment], None)
    if len(a) not in (2, 3):
        ops.throw("System.UnexpectedException", "ConnectApi.ChatterFeeds.postFeedElement with "
                                                f"{len(a)} arguments is not supported by the local org")
    _check_context(prog, a[0])
    if len(a) == 3 and a[2] is not None:
        ops.throw("System.UnexpectedException", "ConnectApi.ChatterFeeds.postFeedElement with a file upload "
                                                "is not supported by the local org")
    item = a[1]
    if not _is(item, "ConnectApi.FeedItemInput"):
        _throw("feedElement is required: a ConnectApi.FeedItemInput")
    text, segments = _segments(prog, _field(item, "body"))
    return _post(prog, _field(item, "subjectId"), _field(item, "feedElementType"), text, segments,
                 _field(item, "visibility"))


STATIC_METHODS[("connectapi.chatterfeeds", "postfeedelement")] = post_feed_element


def install(p: Any) -> None:
    """The ConnectApi classes, enums and exceptions of a program."""
    from .model import ApexClass, FieldInfo
    from .stdlib import _make_enum
    for name, (parent, fields) in CLASSES.items():
        c = ApexClass(name, "class")
        c.builtin = True
        c.modifiers = {"global", "virtual"} | ({"abstract"} if name in ABSTRACT else set())
        c.superclass = p.builtins.get(parent.lower()) if parent else None
        inherited = {f.lower() for f in CLASSES[parent][1]} if parent else set()
        for fname in fields:
            if fname.lower() in inherited:
                continue
            fi = FieldInfo(fname, c, TypeRef("Object"), False, 0)
            fi.modifiers = {"global"}
            c.fields[fi.lname] = fi
            c.field_order.append(fi)
        p.builtins[name.lower()] = c
    for name, values in ENUMS.items():
        _make_enum(p, name, values, (name.lower(),))
    base = p.builtins["exception"]
    for name in EXCEPTIONS:
        c = ApexClass(name, "class")
        c.builtin = True
        c.superclass = base
        c.modifiers = {"virtual"}
        p.builtins[name.lower()] = c


BUILTIN_INSTALLERS.append(install)  # after systemlib's (libraries.py order)
