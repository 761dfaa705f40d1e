"""The local org's HTTP application: authentication, API-call accounting and the route modules.

Route modules register themselves on one ``Router`` with ``register(router, context)``. Later
modules (for example the Apex REST and the run-tests Tooling surface) are added through
``ROUTE_MODULES`` or ``build_app(..., extra_modules=[...])`` without touching this file's logic.
"""
from __future__ import annotations

import logging
import email.utils
import re
from types import ModuleType
from typing import Callable, Iterable

from localcloud.common.httpserver import App, Request, Response, Router
from localcloud.salesforce.http import errors, oauth
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.versions import version_list

log = logging.getLogger(__name__)

RouteRegistrar = Callable[[Router, OrgContext], None]

# Paths that need no bearer token: the version list, OAuth's own endpoints (they check their own
# credentials), and the SOAP endpoints (the session id travels inside the SOAP header).
_PUBLIC = re.compile(
    r"/services/data/?|/services/oauth2/(token|revoke|userinfo)/?|/id/.*|/services/Soap/.*"
    r"|/services/async/.*"  # Bulk API 1.0 sends its session in X-SFDC-Session; bulk.py checks it
)
# Requests Salesforce counts against DailyApiRequests.
_COUNTED = re.compile(r"/services/(data/v\d+\.\d+/|apexrest/|Soap/).*")


class OrgApp(App):
    def __init__(self, router: Router, context: OrgContext):
        super().__init__(router)
        self.context = context

    def not_found(self, request: Request) -> Response:
        return errors.not_found_resource()

    def method_not_allowed(self, request: Request) -> Response:
        return errors.error_response(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are GET,HEAD,PATCH,POST,DELETE"
        )

    def internal_error(self, request: Request, error: BaseException) -> Response:
        return errors.error_response(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred: {type(error).__name__}")

    def __call__(self, request: Request) -> Response:
        response = self._answer(request)
        # The org's clock, as on Salesforce where Date and SystemModstamp come from one clock (a
        # client reading "now" from Date, as push_marketo does, agrees with the stamps it filters on).
        clock = getattr(self.context.data, "now", None)
        if callable(clock):
            response.headers.setdefault("Date", email.utils.format_datetime(clock(), usegmt=True))
        return response

    def _answer(self, request: Request) -> Response:
        path = request.path
        if not _PUBLIC.fullmatch(path) and not self.context.identity.is_valid(request.bearer_token):
            return errors.invalid_session()
        if _COUNTED.fullmatch(path) and not path.startswith("/services/Soap/"):
            used = self.context.identity.count_api_call(self.context.today())
            if used > self.context.daily_api_requests:
                return errors.error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            response = super().__call__(request)
            # simple-salesforce reads this into Salesforce.api_usage
            response.headers.setdefault("Sforce-Limit-Info", f"api-usage={used}/{self.context.daily_api_requests}")
            return response
        return super().__call__(request)


def _register_versions(router: Router, context: OrgContext) -> None:
    @router.route("GET", r"/services/data/?")
    def versions(request: Request) -> Response:
        return Response.json(version_list())


def default_route_modules() -> list[RouteRegistrar]:
    """The route modules of the local org, in registration order (first match wins)."""
    from localcloud.salesforce.http import (
        actions, anonymous, apexrest, bulk, bulk2, composite, rest_data, soap_metadata, soap_partner, tooling,
        tooling_tests,
    )

    return [
        _register_versions,
        oauth.register,
        soap_metadata.register,
        soap_partner.register,
        anonymous.register,
        tooling_tests.register,
        tooling.register,
        composite.register,
        actions.register,
        rest_data.register,
        apexrest.register,
        bulk.register,
        bulk2.register,
    ]


def build_app(context: OrgContext, extra_modules: Iterable[RouteRegistrar | ModuleType] = ()) -> OrgApp:
    router = Router()
    for module in [*default_route_modules(), *extra_modules]:
        registrar = module.register if isinstance(module, ModuleType) else module
        registrar(router, context)
    return OrgApp(router, context)
