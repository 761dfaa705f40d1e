"""OAuth 2.0 token endpoint, userinfo and the identity URL, in Salesforce's shapes.

Grants: ``authorization_code`` (a one-time code of ``IdentityStore.issue_auth_code``, for the client id
and redirect URI it was issued to: the Dev Hub gives one to each new scratch org, as the sf CLI expects),
``refresh_token`` (the refresh token is checked; any client id is accepted, because
CumulusCI refreshes with its own built-in connected app — a documented local-org setting),
``password`` (username + password of the integration user; client id must be the org's) and
``client_credentials`` (the org's client id + secret). Failures answer 400 with
``{"error", "error_description"}`` as Salesforce does. Every grant issues a new access token;
the refresh token never expires. userinfo and the identity URL answer 403 ``Bad_OAuth_Token`` for
a missing, unknown or expired token, and extend a live token's session like any other request
(``IdentityStore.is_valid``).
"""
from __future__ import annotations

import hmac

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.versions import LATEST_VERSION


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


def _same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


def _form(request: Request) -> dict[str, str]:
    content_type = (request.headers.get("Content-Type") or "").lower()
    values: dict[str, str] = {k: v[0] for k, v in request.query.items()}
    if request.body and "json" not in content_type:
        values.update({k: v[0] for k, v in request.form().items()})
    return values


def urls(context: OrgContext) -> dict[str, str]:
    base = context.instance_url
    org, user = context.org_id, context.user_id
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org}",
        "rest": f"{base}/services/data/v{{version}}/",
        "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
        "search": f"{base}/services/data/v{{version}}/search/",
        "query": f"{base}/services/data/v{{version}}/query/",
        "recent": f"{base}/services/data/v{{version}}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org}",
        "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
        "profile": f"{base}/{user}",
        "feeds": f"{base}/services/data/v{{version}}/chatter/feeds",
        "groups": f"{base}/services/data/v{{version}}/chatter/groups",
        "users": f"{base}/services/data/v{{version}}/chatter/users",
        "feed_items": f"{base}/services/data/v{{version}}/chatter/feed-items",
        "feed_elements": f"{base}/services/data/v{{version}}/chatter/feed-elements",
        "custom_domain": base,
    }


def token_payload(context: OrgContext, grant: str, include_refresh: bool) -> dict[str, str]:
    issued = context.identity.issue_token(grant, context.instance_url)
    payload = {
        "access_token": issued.access_token,
        "instance_url": context.instance_url,
        "id": context.identity.identity_url(context.instance_url),
        "token_type": "Bearer",
        "issued_at": str(issued.issued_at_ms),
        "signature": issued.signature,
        "scope": "web api refresh_token full",
    }
    if include_refresh:
        payload["refresh_token"] = context.identity.identity.refresh_token
    return payload


def userinfo_payload(context: OrgContext) -> dict:
    ident = context.identity.identity
    return {
        "sub": context.identity.identity_url(context.instance_url),
        "user_id": ident.user_id,
        "organization_id": ident.org_id,
        "preferred_username": ident.username,
        "nickname": ident.username.split("@")[0],
        "name": f"{ident.user_first_name} {ident.user_last_name}",
        "email": ident.user_email,
        "email_verified": True,
        "given_name": ident.user_first_name,
        "family_name": ident.user_last_name,
        "zoneinfo": "Asia/Tokyo",
        "photos": {"picture": f"{context.instance_url}/profilephoto/005/F", "thumbnail": f"{context.instance_url}/profilephoto/005/T"},
        "profile": f"{context.instance_url}/{ident.user_id}",
        "picture": f"{context.instance_url}/profilephoto/005/F",
        "address": {"country": "JP"},
        "urls": urls(context),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "ja_JP",
        "utcOffset": 32400000,
        "updated_at": "2024-01-01T00:00:00Z",
        "is_app_installed": True,
    }


def identity_payload(context: OrgContext) -> dict:
    ident = context.identity.identity
    info = userinfo_payload(context)
    return {
        "id": info["sub"],
        "asserted_user": True,
        "user_id": ident.user_id,
        "organization_id": ident.org_id,
        "username": ident.username,
        "nick_name": info["nickname"],
        "display_name": info["name"],
        "email": ident.user_email,
        "email_verified": True,
        "first_name": ident.user_first_name,
        "last_name": ident.user_last_name,
        "timezone": info["zoneinfo"],
        "photos": info["photos"],
        "addr_country": "JP",
        "status": {"created_date": None, "body": None},
        "urls": info["urls"],
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "ja_JP",
        "utcOffset": 32400000,
        "last_modified_date": "2024-01-01T00:00:00.000+0000",
        "is_app_installed": True,
    }


def register(router: Router, context: OrgContext) -> None:
    @router.route("POST", r"/services/oauth2/token/?")
    def token(request: Request) -> Response:
        form = _form(request)
        grant = form.get("grant_type", "")
        ident = context.identity.identity
        if grant == "refresh_token":
            if not _same(form.get("refresh_token"), ident.refresh_token):
                return _oauth_error("invalid_grant", "expired access/refresh token")
            return Response.json(token_payload(context, grant, include_refresh=False))
        if grant == "password":
            if form.get("client_id") and not _same(form.get("client_id"), ident.client_id):
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if not (_same(form.get("username"), ident.username) and _same(form.get("password"), ident.password)):
                return _oauth_error("invalid_grant", "authentication failure")
            return Response.json(token_payload(context, grant, include_refresh=False))
        if grant == "client_credentials":
            if not _same(form.get("client_id"), ident.client_id):
                return _oauth_error("invalid_client_id", "client identifier invalid")
            if not _same(form.get("client_secret"), ident.client_secret):
                return _oauth_error("invalid_client", "invalid client credentials")
            return Response.json(token_payload(context, grant, include_refresh=False))
        if grant == "authorization_code":
            problem = context.identity.redeem_auth_code(form.get("code", ""), form.get("client_id", ""),
                                                         form.get("redirect_uri", ""))
            if problem:
                return _oauth_error("invalid_grant", problem)
            return Response.json(token_payload(context, grant, include_refresh=True))
        if not grant:
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        return _oauth_error("unsupported_grant_type", "grant type not supported")

    @router.route(("POST", "GET"), r"/services/oauth2/revoke/?")
    def revoke(request: Request) -> Response:
        form = _form(request)
        if context.identity.revoke(form.get("token", "")):
            return Response.empty(200)
        return _oauth_error("unsupported_token_type", "this token type is not supported")

    def _bearer_or_403(request: Request) -> Response | None:
        if context.identity.is_valid(request.bearer_token):
            return None
        return Response.text("Bad_OAuth_Token", 403)

    @router.route(("GET", "POST"), r"/services/oauth2/userinfo/?")
    def userinfo(request: Request) -> Response:
        return _bearer_or_403(request) or Response.json(userinfo_payload(context))

    @router.route("GET", r"/id/(?P<org>00D\w{12,15})/(?P<user>005\w{12,15})/?")
    def identity(request: Request) -> Response:
        denied = _bearer_or_403(request)
        if denied:
            return denied
        if request.path_params["org"][:15] != context.org_id[:15] or request.path_params["user"][:15] != context.user_id[:15]:
            return Response.text("Bad_Id", 404)
        return Response.json(identity_payload(context))


__all__ = ["register", "urls", "userinfo_payload", "identity_payload", "token_payload", "LATEST_VERSION"]
