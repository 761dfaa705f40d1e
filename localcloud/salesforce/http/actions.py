"""Invocable actions over REST: ``/services/data/vXX.X/actions/custom/apex[/<Class>]``.

GET lists the deployed Apex actions; POST ``{"inputs": [{...}, ...]}`` runs one, answering one
``{"actionName", "errors", "isSuccess", "outputValues", "version"}`` per input. Every input
succeeded: 200; otherwise 400 with the same list (the local org's choice where Salesforce's
documentation shows only the body). The action runs through the deployed Apex as the calling
user (see localcloud/salesforce/apex/invocable.py).
"""
from __future__ import annotations

import threading

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.apex.invocable import InvocableActionNotFound, invocable_actions, run_action
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response

MAX_INPUTS = 2000  # Salesforce: at most 2,000 inputs per call to an Apex action


def register(router: Router, context: OrgContext) -> None:
    lock = threading.Lock()
    base = r"/services/data/v(?P<version>\d+\.\d+)/actions/custom/apex"

    @router.route("GET", base + r"/?")
    def list_actions(request: Request) -> Response:
        runtime = context.extras.get("apex_runtime")
        actions = invocable_actions(runtime.program) if runtime is not None else []
        return Response.json({"actions": [{"label": label, "name": name, "type": "APEX"} for name, label in actions]})

    @router.route("POST", base + r"/(?P<name>[A-Za-z0-9_]+)/?")
    def run(request: Request) -> Response:
        name = request.path_params["name"]
        runtime = context.extras.get("apex_runtime")
        if runtime is None:
            return error_response(404, "NOT_FOUND", f"No invocable action named {name}")
        try:
            body = request.json()
        except ValueError as error:
            return error_response(400, "JSON_PARSER_ERROR", f"The request body is not JSON: {error}")
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            return error_response(400, "INVALID_INPUT", 'The body must be {"inputs": [ {...}, ... ]}')
        if len(inputs) > MAX_INPUTS:
            return error_response(400, "INVALID_INPUT", f"At most {MAX_INPUTS} inputs per call ({len(inputs)} sent)")
        try:
            with lock:
                outcome = run_action(runtime, name, inputs)
        except InvocableActionNotFound as error:
            return error_response(404, "NOT_FOUND", str(error))
        answers = []
        for output in outcome.outputs or [None] * len(inputs):
            failed = outcome.error is not None
            answers.append({
                "actionName": outcome.name,
                "errors": [{"statusCode": outcome.error[0], "message": outcome.error[1], "fields": []}] if failed else None,
                "isSuccess": not failed,
                "outputValues": None if failed else output,
                "version": 1,
            })
        return Response.json(answers, 200 if outcome.error is None else 400)
