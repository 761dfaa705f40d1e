"""ConnectApi Chatter groups over the org's CollaborationGroup and CollaborationGroupMember rows:
``ConnectApi.ChatterGroups.createGroup``, ``getGroup``, ``getGroups``, ``getMembers``, ``addMember``,
``addMemberWithRole``, ``deleteMember``, and ``ConnectApi.ChatterUsers.getGroups``. The data layer makes the
owner an Admin member, keeps MemberCount and refuses a second group of the same name or a second membership
(``feeds.py``). Posting to a group is ``ChatterFeeds.postFeedElement`` with the group's id as subject."""

from __future__ import annotations

from typing import Any

from .connectbody import user_row, user_summary
from .connectlib import API, _dml, _id, _me, _one, _org_data, _page_args, _prog, _subject, _typed, _write
from .connectrate import limited
from .connecttypes import enum, is_a, new, prop, select, throw, typed_list
from .stdlib import STATIC_METHODS
from .values import EnumValue, SObject

GROUP_FIELDS = ("Id, Name, Description, CollaborationType, OwnerId, MemberCount, IsArchived, IsAutoArchiveDisabled, "
                "IsBroadcast, CanHaveGuests, LastFeedModifiedDate")
MEMBER_FIELDS = "Id, CollaborationGroupId, MemberId, CollaborationRole, LastFeedAccessDate"
VISIBILITY = {"Public": "PublicAccess", "Private": "PrivateAccess", "Unlisted": "Unlisted"}
MAX_NAME = 40


def _role(group: dict[str, Any], member: dict[str, Any] | None) -> Any:
    if member is None:
        return enum("ConnectApi.GroupMembershipType", "NotAMember")
    if str(member["MemberId"]) == str(group.get("OwnerId")):
        return enum("ConnectApi.GroupMembershipType", "GroupOwner")
    admin = member.get("CollaborationRole") == "Admin"
    return enum("ConnectApi.GroupMembershipType", "GroupManager" if admin else "StandardMember")


def _membership(dtx: Any, group_id: str, user_id: str) -> dict[str, Any] | None:
    rows = select(dtx, f"SELECT {MEMBER_FIELDS} FROM CollaborationGroupMember WHERE CollaborationGroupId = :g AND "
                     "MemberId = :m", {"g": group_id, "m": user_id})
    return rows[0] if rows else None


def _group(prog: Any, dtx: Any, row: dict[str, Any], detail: bool) -> Any:
    gid = str(row["Id"])
    owner = user_row(dtx, str(row.get("OwnerId")))
    return new("ConnectApi.ChatterGroupDetail" if detail else "ConnectApi.ChatterGroupSummary", id=gid,
               name=row.get("Name"), description=row.get("Description"), memberCount=int(row.get("MemberCount") or 0),
               owner=user_summary(owner) if owner else None, isArchived=bool(row.get("IsArchived")),
               isAutoArchiveDisabled=bool(row.get("IsAutoArchiveDisabled")), isBroadcast=bool(row.get("IsBroadcast")),
               canHaveChatterGuests=bool(row.get("CanHaveGuests")), fileCount=0, type="CollaborationGroup",
               myRole=_role(row, _membership(dtx, gid, _me(prog))),
               visibility=enum("ConnectApi.GroupVisibilityType", VISIBILITY[str(row.get("CollaborationType"))]),
               lastFeedElementPostDate=_typed(prog, row, "CollaborationGroup", "LastFeedModifiedDate"),
               url=f"{API}/chatter/groups/{gid}")


def _member(prog: Any, dtx: Any, group: dict[str, Any], row: dict[str, Any]) -> Any:
    user = user_row(dtx, str(row["MemberId"]))
    return new("ConnectApi.GroupMember", id=str(row["Id"]), role=_role(group, row),
               user=user_summary(user) if user else None, url=f"{API}/chatter/group-memberships/{row['Id']}",
               lastFeedAccessDate=_typed(prog, row, "CollaborationGroupMember", "LastFeedAccessDate"))


def _paged(rows: list[Any], a: list[Any], base: str) -> tuple[list[Any], dict[str, Any]]:
    page, size = _page_args(a)
    more = (page + 1) * size < len(rows)
    return rows[page * size:(page + 1) * size], dict(
        currentPageUrl=f"{base}?page={page}&pageSize={size}",
        nextPageUrl=f"{base}?page={page + 1}&pageSize={size}" if more else None,
        previousPageUrl=f"{base}?page={page - 1}&pageSize={size}" if page else None)


def _group_page(prog: Any, dtx: Any, page_class: str, rows: list[Any], page_args: list[Any], base: str) -> Any:
    shown, urls = _paged(rows, page_args, base)
    return new(page_class, total=len(rows),
               groups=typed_list([_group(prog, dtx, r, False) for r in shown], "ConnectApi.ChatterGroupSummary"),
               **urls)


def create_group(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    spec = a[1] if len(a) > 1 else None
    if not is_a(spec, "ConnectApi.ChatterGroupInput"):
        throw("group is required: a ConnectApi.ChatterGroupInput")
    name = str(prop(spec, "name") or "").strip()
    if not name:
        throw("ChatterGroupInput.name is required")
    if len(name) > MAX_NAME:
        throw(f"ChatterGroupInput.name is {len(name)} characters long: a group name holds at most {MAX_NAME}")
    visibility = prop(spec, "visibility")
    if not isinstance(visibility, EnumValue):
        throw("ChatterGroupInput.visibility is required: a ConnectApi.GroupVisibilityType")
    kind = {v: k for k, v in VISIBILITY.items()}[visibility.name]
    values = {"Name": name, "CollaborationType": kind, "Description": prop(spec, "description"),
              "IsBroadcast": bool(prop(spec, "isBroadcast")), "IsArchived": bool(prop(spec, "isArchived")),
              "IsAutoArchiveDisabled": bool(prop(spec, "isAutoArchiveDisabled"))}
    if prop(spec, "owner"):
        values["OwnerId"] = _id(str(prop(spec, "owner")))
    _write(prog)
    group_id = _dml(prog, "insert", SObject("CollaborationGroup", values), f"create the group {name}")
    return _group(prog, dtx, _one(dtx, "CollaborationGroup", GROUP_FIELDS, group_id), True)


def get_group(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    return _group(prog, dtx, _one(dtx, "CollaborationGroup", GROUP_FIELDS, a[1]), True)


def get_groups(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    rows = select(dtx, f"SELECT {GROUP_FIELDS} FROM CollaborationGroup WHERE CollaborationType != 'Unlisted' "
                     "ORDER BY Name, Id")
    return _group_page(prog, dtx, "ConnectApi.ChatterGroupPage", rows, list(a[1:]), f"{API}/chatter/groups")


def get_user_groups(a: list[Any]) -> Any:
    """ChatterUsers.getGroups(communityId, userId[, pageParam, pageSize]): the groups the user is a member of."""
    prog = _prog()
    dtx = _org_data(prog, a[0])
    user = _subject(prog, a[1] if len(a) > 1 else None)
    ids = [str(r["CollaborationGroupId"]) for r in select(dtx, 
        "SELECT CollaborationGroupId FROM CollaborationGroupMember WHERE MemberId = :m", {"m": user})]
    rows = select(dtx, f"SELECT {GROUP_FIELDS} FROM CollaborationGroup WHERE Id IN :ids ORDER BY Name, Id",
                     {"ids": ids}) if ids else []
    return _group_page(prog, dtx, "ConnectApi.UserGroupPage", rows, list(a[2:]), f"{API}/chatter/users/{user}/groups")


def get_members(a: list[Any]) -> Any:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    group = _one(dtx, "CollaborationGroup", GROUP_FIELDS, a[1])
    rows = select(dtx, f"SELECT {MEMBER_FIELDS} FROM CollaborationGroupMember WHERE CollaborationGroupId = :g "
                     "ORDER BY CreatedDate, Id", {"g": str(group["Id"])})
    shown, urls = _paged(rows, list(a[2:]), f"{API}/chatter/groups/{group['Id']}/members")
    mine = next((r for r in rows if str(r["MemberId"]) == _me(prog)), None)
    return new("ConnectApi.GroupMemberPage", totalMemberCount=len(rows),
               members=typed_list([_member(prog, dtx, group, r) for r in shown], "ConnectApi.GroupMember"),
               myMembership=new("ConnectApi.Reference", id=str(mine["Id"]),
                                url=f"{API}/chatter/group-memberships/{mine['Id']}") if mine else None, **urls)


def add_member(a: list[Any]) -> Any:
    """addMember(communityId, groupId, userId) and addMemberWithRole(..., role)."""
    prog = _prog()
    dtx = _org_data(prog, a[0])
    group = _one(dtx, "CollaborationGroup", GROUP_FIELDS, a[1])
    user = _subject(prog, a[2] if len(a) > 2 else None)
    role = a[3] if len(a) > 3 else None
    if role is not None and (not isinstance(role, EnumValue) or role.name not in ("GroupManager", "StandardMember")):
        throw("role must be ConnectApi.GroupMembershipType.GroupManager or StandardMember")
    _write(prog)
    values = {"CollaborationGroupId": _id(str(group["Id"])), "MemberId": _id(user),
              "CollaborationRole": "Admin" if role is not None and role.name == "GroupManager" else "Standard"}
    member_id = _dml(prog, "insert", SObject("CollaborationGroupMember", values), f"add {user} to {group['Name']}")
    return _member(prog, dtx, group, _one(dtx, "CollaborationGroupMember", MEMBER_FIELDS, member_id))


def delete_member(a: list[Any]) -> None:
    prog = _prog()
    dtx = _org_data(prog, a[0])
    row = _one(dtx, "CollaborationGroupMember", MEMBER_FIELDS, a[1])
    group = _one(dtx, "CollaborationGroup", GROUP_FIELDS, row["CollaborationGroupId"])
    if str(row["MemberId"]) == str(group.get("OwnerId")):
        throw("The group's owner cannot leave the group: change its owner first")
    _write(prog)
    _dml(prog, "delete", SObject("CollaborationGroupMember", {"Id": _id(str(row["Id"]))}), f"delete {row['Id']}")


STATIC_METHODS.update(limited({
    ("connectapi.chattergroups", "creategroup"): create_group,
    ("connectapi.chattergroups", "getgroup"): get_group,
    ("connectapi.chattergroups", "getgroups"): get_groups,
    ("connectapi.chattergroups", "getmembers"): get_members,
    ("connectapi.chattergroups", "addmember"): add_member,
    ("connectapi.chattergroups", "addmemberwithrole"): add_member,
    ("connectapi.chattergroups", "deletemember"): delete_member,
    ("connectapi.chatterusers", "getgroups"): get_user_groups,
}, _me))
