"""The Bulk API is not implemented by the local org; its endpoints say so loudly.

CumulusCI switches a data step to Bulk API 1.0 (``/services/async/vXX.X/job``) at 2,000 records
and more (and ``extract_dataset`` for objects with 2,000 rows or more). Instead of an anonymous
404, the local org answers the Bulk API's own error shape with ``FeatureNotEnabled`` and what to
do, so the failing task names the cause. Bulk API 2.0 (``/jobs/ingest``, ``/jobs/query``) answers
the REST error shape with the same message.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response

MESSAGE = (
    "The ECBridge local org does not implement the Bulk API. CumulusCI uses it for data steps of "
    "2,000 records or more: load fewer records per step (or split the recipe), or use REST "
    "(sObject Collections), which the local org implements."
)
ASYNC_NS = "http://www.force.com/2009/06/asyncapi/dataload"


def register(router: Router, context: OrgContext) -> None:
    @router.route(("GET", "POST", "PUT", "PATCH", "DELETE"), r"/services/async/.*")
    def bulk_v1(request: Request) -> Response:
        session = request.headers.get("X-SFDC-Session") or request.bearer_token
        if not context.identity.is_valid(session):
            code, message, status = "InvalidSessionId", "Invalid session id", 400
        else:
            code, message, status = "FeatureNotEnabled", MESSAGE, 400
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{ASYNC_NS}">'
            f"<exceptionCode>{code}</exceptionCode><exceptionMessage>{escape(message)}</exceptionMessage></error>"
        )
        return Response(status, body.encode(), {"Content-Type": "application/xml"})

    @router.route(("GET", "POST", "PUT", "PATCH", "DELETE"), r"/services/data/v(?P<version>\d+\.\d)/jobs/.*")
    def bulk_v2(request: Request) -> Response:
        return error_response(400, "FEATURENOTENABLED", MESSAGE)
