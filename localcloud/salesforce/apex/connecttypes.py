"""ConnectApi (Chatter in Apex) types the local org has: the input and output classes (their properties as in
the ConnectApi Apex Reference), enums, exceptions, ``ConnectApi.BatchInput`` / ``ConnectApi.BatchResult``, and
helpers that build output objects. The methods are in ``connectlib``; a ConnectApi type not listed here is
refused when the code is compiled (``Invalid type: ConnectApi.X``)."""

from __future__ import annotations

from typing import Any

from . import ops
from .compiler import KNOWN_TYPES
from .stdlib import NAMESPACES, NEW, Native
from .tables import BUILTIN_INSTALLERS
from .values import ApexList, ApexObject, TypeRef

NAMESPACES.update({"connectapi", "connectapi.chatterfeeds", "connectapi.chatterusers", "connectapi.chatter",
                   "connectapi.chattergroups"})

_ACTOR = ("id", "name", "type", "url", "motif", "mySubscription", "isInThisCommunity")
_USER = _ACTOR + ("additionalLabel", "communityNickname", "companyName", "displayName", "firstName", "isActive",
                  "lastName", "outOfOffice", "photo", "reputation", "title", "userType")
_ELEMENT = ("body", "capabilities", "createdDate", "feedElementType", "header", "id", "modifiedDate", "parent",
            "relativeCreatedDate", "url", "visibility")
_PAGE = ("currentPageToken", "currentPageUrl", "nextPageToken", "nextPageUrl", "previousPageToken", "previousPageUrl")
_SEGMENT = ("text", "type")
_GROUP = ("additionalLabel", "announcement", "canHaveChatterGuests", "community", "description",
          "emailToChatterAddress", "fileCount", "id", "isArchived", "isAutoArchiveDisabled", "isBroadcast",
          "lastFeedElementPostDate", "memberCount", "motif", "myRole", "mySubscription", "name", "owner", "photo",
          "type", "url", "visibility")
#: class -> (superclass or None, its own and inherited properties)
CLASSES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    # input
    "ConnectApi.FeedElementInput": (None, ("capabilities", "feedElementType", "subjectId")),
    "ConnectApi.FeedItemInput": ("ConnectApi.FeedElementInput", (
        "capabilities", "feedElementType", "subjectId", "body", "isBookmarkedByCurrentUser", "originalFeedElementId",
        "visibility")),
    "ConnectApi.CommentInput": (None, ("body", "capabilities", "threadParentId")),
    "ConnectApi.MessageBodyInput": (None, ("messageSegments",)),
    "ConnectApi.MessageSegmentInput": (None, ()),
    "ConnectApi.TextSegmentInput": ("ConnectApi.MessageSegmentInput", ("text",)),
    "ConnectApi.MentionSegmentInput": ("ConnectApi.MessageSegmentInput", ("id", "username")),
    "ConnectApi.LinkSegmentInput": ("ConnectApi.MessageSegmentInput", ("url",)),
    "ConnectApi.EntityLinkSegmentInput": ("ConnectApi.MessageSegmentInput", ("entityId",)),
    "ConnectApi.HashtagSegmentInput": ("ConnectApi.MessageSegmentInput", ("tag",)),
    "ConnectApi.MarkupBeginSegmentInput": ("ConnectApi.MessageSegmentInput", ("altText", "markupType", "url")),
    "ConnectApi.MarkupEndSegmentInput": ("ConnectApi.MessageSegmentInput", ("markupType",)),
    "ConnectApi.InlineImageSegmentInput": ("ConnectApi.MessageSegmentInput", ("altText", "fileId")),
    # output
    "ConnectApi.Reference": (None, ("id", "url")),
    "ConnectApi.ActorWithId": (None, _ACTOR),
    "ConnectApi.RecordSummary": ("ConnectApi.ActorWithId", _ACTOR),
    "ConnectApi.User": ("ConnectApi.ActorWithId", _USER),
    "ConnectApi.UserSummary": ("ConnectApi.User", _USER + ("isChatterGuest",)),
    "ConnectApi.UserDetail": ("ConnectApi.User", _USER + (
        "aboutMe", "address", "bannerPhoto", "chatterActivity", "chatterInfluence", "email", "followersCount",
        "followingCounts", "groupCount", "hasChatter", "isModerator", "managerId", "managerName", "phoneNumbers",
        "thanksReceived", "username")),
    "ConnectApi.Photo": (None, ("fullEmailPhotoUrl", "largePhotoUrl", "mediumPhotoUrl", "photoVersionId",
                                "smallPhotoUrl", "standardEmailPhotoUrl", "url")),
    "ConnectApi.FeedElement": (None, _ELEMENT),
    "ConnectApi.FeedItem": ("ConnectApi.FeedElement", _ELEMENT + (
        "actor", "canShare", "clientInfo", "event", "hasVerifiedComment", "isBookmarkedByCurrentUser",
        "isDeleteRestricted", "isSharable", "originalFeedItem", "originalFeedItemActor", "photoUrl", "preamble",
        "type")),
    "ConnectApi.FeedElementPage": (None, ("currentPageToken", "currentPageUrl", "elements", "isModifiedToken",
                                          "isModifiedUrl", "nextPageToken", "nextPageUrl", "updatesToken",
                                          "updatesUrl")),
    "ConnectApi.FeedElementCapabilities": (None, ("bookmarks", "chatterLikes", "comments")),
    "ConnectApi.CommentsCapability": (None, ("page",)),
    "ConnectApi.ChatterLikesCapability": (None, ("isLikedByCurrentUser", "likesMessage", "myLike", "page")),
    "ConnectApi.BookmarksCapability": (None, ("isBookmarkedByCurrentUser",)),
    "ConnectApi.Comment": (None, ("body", "capabilities", "clientInfo", "createdDate", "feedElement", "id",
                                  "isDeleteRestricted", "likes", "likesMessage", "myLike", "parent",
                                  "relativeCreatedDate", "threadLevel", "threadParentId", "type", "url", "user")),
    "ConnectApi.CommentPage": (None, _PAGE + ("items", "total")),
    "ConnectApi.ChatterLike": (None, ("id", "likedItem", "url", "user")),
    "ConnectApi.ChatterLikePage": (None, _PAGE + ("items", "myLike", "total")),
    "ConnectApi.Subscription": (None, ("community", "createdDate", "id", "subject", "subscriber", "url")),
    "ConnectApi.FollowerPage": (None, ("currentPageUrl", "followers", "nextPageUrl", "previousPageUrl", "total")),
    "ConnectApi.FollowingPage": (None, ("currentPageUrl", "following", "nextPageUrl", "previousPageUrl", "total")),
    "ConnectApi.ChatterGroupInput": (None, ("announcement", "canHaveChatterGuests", "description", "information",
                                            "isArchived", "isAutoArchiveDisabled", "isBroadcast", "name", "owner",
                                            "visibility")),
    "ConnectApi.ChatterGroup": (None, _GROUP),
    "ConnectApi.ChatterGroupSummary": ("ConnectApi.ChatterGroup", _GROUP),
    "ConnectApi.ChatterGroupDetail": ("ConnectApi.ChatterGroup", _GROUP + ("information", "pendingRequests")),
    "ConnectApi.ChatterGroupPage": (None, ("currentPageUrl", "groups", "nextPageUrl", "previousPageUrl", "total")),
    "ConnectApi.UserGroupPage": (None, ("currentPageToken", "currentPageUrl", "groups", "nextPageToken",
                                        "nextPageUrl", "previousPageToken", "previousPageUrl", "total")),
    "ConnectApi.GroupMember": (None, ("id", "lastFeedAccessDate", "role", "url", "user")),
    "ConnectApi.GroupMemberPage": (None, ("currentPageUrl", "members", "myMembership", "nextPageUrl",
                                          "previousPageUrl", "totalMemberCount")),
    "ConnectApi.FeedBody": (None, ("isRichText", "messageSegments", "text")),
    "ConnectApi.MessageSegment": (None, _SEGMENT),
    "ConnectApi.TextSegment": ("ConnectApi.MessageSegment", _SEGMENT),
    "ConnectApi.MentionSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("accessible", "name", "record", "user")),
    "ConnectApi.LinkSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("url",)),
    "ConnectApi.EntityLinkSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("motif", "reference")),
    "ConnectApi.HashtagSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("tag", "topicUrl")),
    "ConnectApi.MarkupBeginSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("altText", "htmlTag", "markupType",
                                                                             "url")),
    "ConnectApi.MarkupEndSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("htmlTag", "markupType")),
    "ConnectApi.InlineImageSegment": ("ConnectApi.MessageSegment", _SEGMENT + ("altText", "thumbnails", "url")),
}
ABSTRACT = {"ConnectApi.FeedElementInput", "ConnectApi.MessageSegmentInput", "ConnectApi.FeedElement",
            "ConnectApi.MessageSegment", "ConnectApi.ActorWithId", "ConnectApi.User", "ConnectApi.ChatterGroup"}
ENUMS = {
    "ConnectApi.FeedElementType": ["Bundle", "FeedItem", "Recommendation"],
    "ConnectApi.FeedItemVisibilityType": ["AllUsers", "InternalUsers"],
    "ConnectApi.MessageSegmentType": ["EntityLink", "FieldChange", "FieldChangeName", "FieldChangeValue",
                                      "Hashtag", "InlineImage", "Link", "MarkupBegin", "MarkupEnd", "Mention",
                                      "MoreChangesSegment", "ResourceLink", "Text"],
    "ConnectApi.FeedType": ["Bookmarks", "Company", "DirectMessageModeration", "DirectMessages", "Files", "Filter",
                            "Groups", "Home", "Isolated", "Landing", "Moderation", "Mute", "News", "PendingReview",
                            "People", "Record", "Streams", "To", "Topics", "UserProfile"],
    "ConnectApi.FeedSortOrder": ["CreatedDateDesc", "LastModifiedDateDesc", "MostRecentActivity", "MostViewed",
                                 "Relevance"],
    "ConnectApi.FeedDensity": ["AllUpdates", "FewerUpdates"],
    "ConnectApi.FeedFilter": ["AllQuestions", "CommunityScoped", "QuestionsWithCandidateAnswers", "SolvedQuestions",
                              "UnansweredQuestions", "UnansweredQuestionsWithCandidateAnswers", "UnsolvedQuestions"],
    "ConnectApi.MarkupType": ["Bold", "Code", "Hyperlink", "Italic", "ListItem", "OrderedList", "Paragraph",
                              "Strikethrough", "Underline", "UnorderedList"],
    "ConnectApi.CommentType": ["ContentComment", "TextComment"],
    "ConnectApi.FeedItemType": ["ActivityEvent", "AdvancedTextPost", "AnnouncementPost", "ApprovalPost",
                                "AttachArticleEvent", "BasicTemplateFeedItem", "CanvasPost",
                                "CollaborationGroupCreated", "CollaborationGroupUnarchived", "ContentPost",
                                "CreateRecordEvent",
                                "DashboardComponentAlert", "DashboardComponentSnapshot", "LinkPost", "PollPost",
                                "ProfileSkillPost", "QuestionPost", "ReplyPost", "RypplePost", "TextPost",
                                "TrackedChange", "UserStatus"],
    "ConnectApi.UserType": ["ChatterGuest", "ChatterOnly", "Guest", "Internal", "Portal", "System", "Undefined"],
    "ConnectApi.GroupMembershipType": ["GroupManager", "GroupOwner", "NotAMember", "NotAMemberPrivateRequested",
                                       "StandardMember"],
    "ConnectApi.GroupVisibilityType": ["PrivateAccess", "PublicAccess", "Unlisted"],
}
EXCEPTIONS = ("ConnectApi.ConnectApiException", "ConnectApi.NotFoundException", "ConnectApi.RateLimitException")
MARKUP_TAGS = {"bold": "b", "code": "code", "hyperlink": "a", "italic": "i", "listitem": "li", "orderedlist": "ol",
               "paragraph": "p", "strikethrough": "s", "underline": "u", "unorderedlist": "ul"}


# ------------------------------------------------------------------------------------------ helpers
def new(class_name: str, **values: Any) -> Any:
    """An instance of a ConnectApi class with its properties set."""
    prog = ops.CURRENT.prog
    obj = prog.instantiate(prog.builtins[class_name.lower()], [])
    for k, v in values.items():
        obj.fields[k.lower()] = v
    return obj


def is_a(value: Any, name: str) -> bool:
    cls = ops.CURRENT.prog.builtins.get(name.lower())
    return isinstance(value, ApexObject) and cls is not None and value.cls.is_subclass_of(cls)


def prop(value: Any, name: str) -> Any:
    return value.fields.get(name.lower())


def enum(name: str, value: str) -> Any:
    return ops.CURRENT.prog.builtins[name.lower()].enum_values[value.lower()]


def typed_list(items: list[Any], element: str) -> ApexList:
    return ApexList(list(items), TypeRef(element))


def select(dtx: Any, soql: str, binds: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The records of a query, typed (date-times as datetime) as Apex values are made from."""
    return dtx.query(soql, binds or {}, typed=True).records


def throw(message: str, kind: str = "ConnectApi.ConnectApiException") -> None:
    ops.throw(kind, message)


# ------------------------------------------------------------------------------------------ batches
class BatchInput(Native):
    """``new ConnectApi.BatchInput(input[, binaryInput(s)])``: one input of a batch post."""

    apex_type = "ConnectApi.BatchInput"

    def __init__(self, args: list[Any]) -> None:
        if not args or len(args) > 2:
            ops.throw("System.TypeException", "Constructor not defined: [ConnectApi.BatchInput].<Constructor>"
                                              f"({len(args)} arguments)")
        self.input = args[0]
        self.binary = args[1] if len(args) == 2 else None


class BatchResult(Native):
    """One result of a batch method: ``isSuccess()``, ``getResult()``, ``getErrorMessage()``,
    ``getErrorTypeName()``."""

    apex_type = "ConnectApi.BatchResult"

    def __init__(self, result: Any = None, error_type: str | None = None, error: str | None = None) -> None:
        self.result, self.error_type, self.error = result, error_type, error

    def m_issuccess(self, a: list[Any]) -> bool:
        return self.error_type is None

    def m_getresult(self, a: list[Any]) -> Any:
        return self.result

    def m_geterrormessage(self, a: list[Any]) -> str | None:
        return self.error

    def m_geterrortypename(self, a: list[Any]) -> str | None:
        return self.error_type

    def apex_str(self) -> str:
        return f"ConnectApi.BatchResult[success={self.error_type is None}]"


NEW["connectapi.batchinput"] = BatchInput
KNOWN_TYPES.update({"connectapi.batchinput", "connectapi.batchresult"})


API_VERSION = "62.0"


def format_object(obj: Any) -> str:
    """How Salesforce prints a ConnectApi output or input object: ``ConnectApi.FieldValue[buildVersion=60.0,
    value=...]``, its properties in alphabetical order."""
    fields = sorted(obj.cls.all_instance_fields(), key=lambda fi: fi.lname)
    parts = [f"buildVersion={API_VERSION}"] + [f"{fi.name}={ops.to_str(obj.fields.get(fi.lname), True)}"
                                               for fi in fields]
    return f"{obj.cls.name}[{', '.join(parts)}]"


def install(p: Any) -> None:
    """The ConnectApi classes, enums and exceptions of a program."""
    from .model import ApexClass, FieldInfo
    from .stdlib import _make_enum
    for name, (parent, fields) in CLASSES.items():
        c = ApexClass(name, "class")
        c.builtin = True
        c.modifiers = {"global", "virtual"} | ({"abstract"} if name in ABSTRACT else set())
        c.superclass = p.builtins.get(parent.lower()) if parent else None
        c.format_object = format_object  # type: ignore[attr-defined]
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
