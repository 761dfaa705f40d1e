"""ConnectApi message bodies: a ``ConnectApi.MessageBodyInput``'s segments become the text stored in
FeedItem.Body / FeedComment.CommentBody (plain text, or HTML when the body has markup, as Salesforce's rich
text posts) and the output ``ConnectApi.FeedBody`` with its ``MessageSegment`` subclasses. Reading a post back
gives the segments it was posted with (kept per record and body in the process); a body written by DML (or
another process) reads back from its text: markup tags as MarkupBegin/End segments, the rest as text."""

from __future__ import annotations

import html
import re
import weakref
from typing import Any

from . import ops
from .connecttypes import MARKUP_TAGS, enum, is_a, new, prop, select, throw, typed_list

MAX_BODY_CHARS = 10_000
_SEG = "ConnectApi.MessageSegmentType"
_TAGS = {v: k for k, v in MARKUP_TAGS.items()}
#: store -> record id -> (stored body, its segments as plain tuples: ("Text", text), ("Mention", user id, name), ...)
_POSTED: "weakref.WeakKeyDictionary[Any, dict[str, tuple[str, list[tuple[Any, ...]]]]]" = weakref.WeakKeyDictionary()


class Body:
    """What a MessageBodyInput amounts to: stored text, rich or not, and its segments (plain tuples)."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.rich = False
        self.segments: list[tuple[Any, ...]] = []

    def add(self, plain: str, segment: tuple[Any, ...], markup: str | None = None) -> None:
        self.plain.append(plain)
        self.html.append(html.escape(plain, quote=False) if markup is None else markup)
        self.segments.append(segment)

    @property
    def text(self) -> str:
        return "".join(self.plain)

    @property
    def stored(self) -> str:
        return "".join(self.html) if self.rich else self.text


def from_input(dtx: Any, body: Any, what: str = "body") -> Body:
    """The body of a post or comment from its ``ConnectApi.MessageBodyInput``."""
    if not is_a(body, "ConnectApi.MessageBodyInput"):
        throw(f"{what} is required: a ConnectApi.MessageBodyInput with messageSegments")
    segments = prop(body, "messageSegments") or []
    if not segments:
        throw(f"{what}.messageSegments is required: at least one message segment")
    out = Body()
    for seg in segments:
        _add_segment(dtx, out, seg)
    if len(out.text) > MAX_BODY_CHARS:
        throw(f"The {what} is {len(out.text)} characters long: a feed body holds at most {MAX_BODY_CHARS}")
    return out


def from_text(text: Any) -> Body:
    """The body of a plain-text post or comment (the methods taking a String)."""
    value = "" if text is None else str(text)
    if not value:
        throw("text is required")
    if len(value) > MAX_BODY_CHARS:
        throw(f"The text is {len(value)} characters long: a feed body holds at most {MAX_BODY_CHARS}")
    out = Body()
    out.add(value, ("Text", value))
    return out


def _add_segment(dtx: Any, out: Body, seg: Any) -> None:
    if is_a(seg, "ConnectApi.TextSegmentInput"):
        t = prop(seg, "text") or ""
        out.add(t, ("Text", t))
    elif is_a(seg, "ConnectApi.MentionSegmentInput"):
        user = mentioned_user(dtx, prop(seg, "id"), prop(seg, "username"))
        name = str(user.get("Name") or "")
        out.add("@" + name, ("Mention", str(user.get("Id")), name))
    elif is_a(seg, "ConnectApi.LinkSegmentInput"):
        url = prop(seg, "url")
        if not url:
            throw("LinkSegmentInput.url is required")
        out.add(str(url), ("Link", str(url)))
    elif is_a(seg, "ConnectApi.HashtagSegmentInput"):
        tag = str(prop(seg, "tag") or "").lstrip("#")
        if not tag:
            throw("HashtagSegmentInput.tag is required")
        out.add("#" + tag, ("Hashtag", tag))
    elif is_a(seg, "ConnectApi.EntityLinkSegmentInput"):
        ref = record_reference(dtx, prop(seg, "entityId"))
        out.add(ref[1], ("EntityLink", ref[0], ref[1]))
    elif is_a(seg, "ConnectApi.MarkupBeginSegmentInput") or is_a(seg, "ConnectApi.MarkupEndSegmentInput"):
        _add_markup(out, seg, is_a(seg, "ConnectApi.MarkupBeginSegmentInput"))
    elif is_a(seg, "ConnectApi.InlineImageSegmentInput"):
        file_id = prop(seg, "fileId")
        found = select(dtx, "SELECT Id, Title FROM ContentDocument WHERE Id = :v", {"v": str(file_id or "")}) \
            if file_id else []
        if not found:
            throw(f"InlineImageSegmentInput.fileId: file not found: {file_id}")
        alt = prop(seg, "altText") or found[0].get("Title") or ""
        out.rich = True
        out.add("", ("InlineImage", str(found[0]["Id"]), alt),
                markup=f'<img src="sfdc://{found[0]["Id"]}" alt="{html.escape(alt)}"></img>')
    else:
        throw(f"Unsupported message segment: {ops.type_name(seg)}")


def _add_markup(out: Body, seg: Any, begin: bool) -> None:
    kind = prop(seg, "markupType")
    if kind is None:
        throw(f"{'MarkupBegin' if begin else 'MarkupEnd'}SegmentInput.markupType is required")
    tag = MARKUP_TAGS[kind.name.lower()]
    out.rich = True
    if not begin:
        out.add("", ("MarkupEnd", tag), markup=f"</{tag}>")
        return
    url = prop(seg, "url")
    if tag == "a" and not url:
        throw("MarkupBeginSegmentInput.url is required for a Hyperlink")
    markup = f'<a href="{html.escape(str(url))}">' if tag == "a" else f"<{tag}>"
    alt = prop(seg, "altText")
    out.add("", ("MarkupBegin", tag, None if url is None else str(url), None if alt is None else str(alt)),
            markup=markup)


# ------------------------------------------------------------------------------------------ output bodies
def remember(store: Any, record_id: str, body: Body) -> None:
    _POSTED.setdefault(store, {})[record_id] = (body.stored, body.segments)


def feed_body(dtx: Any, store: Any, record_id: str, stored: Any, rich: Any) -> Any:
    """The ``ConnectApi.FeedBody`` of a stored post or comment."""
    text = "" if stored is None else str(stored)
    kept = _POSTED.get(store, {}).get(record_id)
    if kept is not None and kept[0] == text:
        specs = kept[1]
    else:
        specs = _parse(text) if rich else ([("Text", text)] if text else [])
    segments = [_segment(dtx, spec) for spec in specs]
    plain = "".join(str(prop(s, "text") or "") for s, spec in zip(segments, specs)
                    if spec[0] not in ("MarkupBegin", "MarkupEnd", "InlineImage"))
    return new("ConnectApi.FeedBody", text=plain or None, isRichText=bool(rich),
               messageSegments=typed_list(segments, "ConnectApi.MessageSegment"))


def _segment(dtx: Any, spec: tuple[Any, ...]) -> Any:
    """The output ``ConnectApi.MessageSegment`` of a segment tuple."""
    kind = spec[0]
    if kind == "Text":
        return new("ConnectApi.TextSegment", text=spec[1], type=enum(_SEG, "Text"))
    if kind == "Mention":
        user = user_row(dtx, spec[1])
        summary = user_summary(user) if user is not None else None
        return new("ConnectApi.MentionSegment", text="@" + spec[2], name=spec[2], accessible=user is not None,
                   record=summary, user=summary, type=enum(_SEG, "Mention"))
    if kind == "Link":
        return new("ConnectApi.LinkSegment", text=spec[1], url=spec[1], type=enum(_SEG, "Link"))
    if kind == "Hashtag":
        return new("ConnectApi.HashtagSegment", text="#" + spec[1], tag=spec[1], type=enum(_SEG, "Hashtag"),
                   topicUrl=f"/services/data/v62.0/connect/topics?exactMatch=true&q={spec[1]}")
    if kind == "EntityLink":
        return new("ConnectApi.EntityLinkSegment", text=spec[2], type=enum(_SEG, "EntityLink"),
                   reference=new("ConnectApi.Reference", id=spec[1], url=record_url(spec[1])))
    if kind == "InlineImage":
        return new("ConnectApi.InlineImageSegment", text=spec[2], altText=spec[2], type=enum(_SEG, "InlineImage"),
                   url=f"/services/data/v62.0/connect/files/{spec[1]}/content")
    tag = spec[1]
    markup_type = enum("ConnectApi.MarkupType", _TAGS[tag])
    if kind == "MarkupEnd":
        return new("ConnectApi.MarkupEndSegment", text=f"</{tag}>", htmlTag=tag, markupType=markup_type,
                   type=enum(_SEG, "MarkupEnd"))
    text = f'<a href="{html.escape(spec[2] or "")}">' if tag == "a" else f"<{tag}>"
    return new("ConnectApi.MarkupBeginSegment", text=text, htmlTag=tag, markupType=markup_type, url=spec[2],
               altText=spec[3], type=enum(_SEG, "MarkupBegin"))


def _parse(text: str) -> list[tuple[Any, ...]]:
    """The segments of a rich text body written by DML: its markup tags and the text between them."""
    out: list[tuple[Any, ...]] = []
    for token in re.split(r"(<[^>]+>)", text):
        if not token:
            continue
        m = re.fullmatch(r"<(/?)([a-zA-Z]+)([^>]*)>", token)
        if m is not None and m.group(2).lower() in _TAGS:
            tag = m.group(2).lower()
            href = re.search(r'href="([^"]*)"', m.group(3))
            out.append(("MarkupEnd", tag) if m.group(1) else
                       ("MarkupBegin", tag, html.unescape(href.group(1)) if href else None, None))
        else:
            out.append(("Text", html.unescape(token)))
    return out


# ------------------------------------------------------------------------------------------ users and records
USER_FIELDS = ("Id, Name, FirstName, LastName, Username, Email, Title, CompanyName, CommunityNickname, IsActive, "
               "UserType, ManagerId, SmallPhotoUrl, FullPhotoUrl")


def mentioned_user(dtx: Any, ident: Any, username: Any) -> dict[str, Any]:
    if ident:
        rows = select(dtx, f"SELECT {USER_FIELDS} FROM User WHERE Id = :v", {"v": str(ident)}) \
            if str(ident).startswith("005") else []
    elif username:
        rows = select(dtx, f"SELECT {USER_FIELDS} FROM User WHERE Username = :v", {"v": str(username)})
    else:
        throw("MentionSegmentInput needs an id or a username")
        return {}
    if not rows:
        throw(f"Mentioned user not found: {ident or username}")
    return rows[0]


def user_row(dtx: Any, user_id: str) -> dict[str, Any] | None:
    rows = select(dtx, f"SELECT {USER_FIELDS} FROM User WHERE Id = :v", {"v": user_id})
    return rows[0] if rows else None


def _user_values(row: dict[str, Any]) -> dict[str, Any]:
    uid = str(row.get("Id"))
    photo = new("ConnectApi.Photo", smallPhotoUrl=row.get("SmallPhotoUrl"), largePhotoUrl=row.get("FullPhotoUrl"),
                url=f"/services/data/v62.0/connect/user-profiles/{uid}/photo")
    user_type = "Internal" if (row.get("UserType") or "Standard") == "Standard" else "Portal"
    return dict(id=uid, name=row.get("Name"), displayName=row.get("Name"), firstName=row.get("FirstName"),
                lastName=row.get("LastName"), title=row.get("Title"), companyName=row.get("CompanyName"),
                communityNickname=row.get("CommunityNickname"), isActive=bool(row.get("IsActive")),
                isInThisCommunity=True, type="User", photo=photo,
                userType=enum("ConnectApi.UserType", user_type), url=f"/services/data/v62.0/chatter/users/{uid}")


def user_summary(row: dict[str, Any]) -> Any:
    return new("ConnectApi.UserSummary", isChatterGuest=False, **_user_values(row))


def user_detail(row: dict[str, Any], manager_name: str | None) -> Any:
    return new("ConnectApi.UserDetail", email=row.get("Email"), username=row.get("Username"),
               managerId=row.get("ManagerId"), managerName=manager_name, hasChatter=True, isModerator=False,
               aboutMe=None, **_user_values(row))


def record_url(record_id: str) -> str:
    return f"/services/data/v62.0/chatter/records/{record_id}"


def record_reference(dtx: Any, record_id: Any) -> tuple[str, str]:
    """(id, name) of an existing record; ConnectApiException when there is none."""
    od = dtx.schema.by_key_prefix(str(record_id or "")[:3]) if record_id else None
    name_field = od.name_field if od is not None else None
    rows = select(dtx, f"SELECT Id{', ' + name_field.name if name_field else ''} FROM {od.name} WHERE Id = :v",
                     {"v": str(record_id)}) if od is not None else []
    if not rows:
        throw(f"Record not found: {record_id}")
    return str(rows[0]["Id"]), str(rows[0].get(name_field.name) if name_field else rows[0]["Id"])


def actor(dtx: Any, record_id: str) -> Any:
    """The parent of a post: a ConnectApi.UserSummary for a user, a ConnectApi.RecordSummary otherwise."""
    if record_id.startswith("005"):
        row = user_row(dtx, record_id)
        if row is not None:
            return user_summary(row)
    od = dtx.schema.by_key_prefix(record_id[:3])
    try:
        rid, name = record_reference(dtx, record_id)
    except ops.ApexThrown:
        rid, name = record_id, None
    return new("ConnectApi.RecordSummary", id=rid, name=name, type=od.name if od is not None else None,
               isInThisCommunity=True, url=record_url(rid))
