"""Test.* (startTest/stopTest/isRunningTest/setMock) for Apex test runs."""

from __future__ import annotations

from typing import Any

from . import ops
from .stdlib import STATIC_METHODS


class TestContext:
    """State of one running Apex test method."""

    def __init__(self) -> None:
        self.started = False
        self.stopped = False
        self.outer_limits: Any = None


def _start(a):
    p = ops.CURRENT.prog
    t = p.tx.test
    if t is None:
        return None
    if t.started:
        ops.throw("System.FinalException", "Testing already started")
    t.started = True
    from .runtime import Limits
    t.outer_limits = p.tx.limits
    p.tx.limits = Limits()
    return None


def _stop(a):
    p = ops.CURRENT.prog
    t = p.tx.test
    if t is None:
        return None
    if t.stopped:
        ops.throw("System.FinalException", "Testing already stopped")
    t.stopped = True
    from . import asyncjobs
    asyncjobs.prepare_test_delivery(p)
    asyncjobs.run_queued(p, p.tx)
    if t.outer_limits is not None:
        p.tx.limits = t.outer_limits
    return None


def _set_mock(a):
    p = ops.CURRENT.prog
    t = a[0]
    key = t.apex_str().lower() if hasattr(t, "apex_str") else str(t).lower()
    p.tx.mocks[key] = a[1]
    return None


STATIC_METHODS.update({
    ("test", "starttest"): _start,
    ("test", "stoptest"): _stop,
    ("test", "isrunningtest"): lambda a: ops.CURRENT.prog.tx.test is not None,
    ("test", "setmock"): _set_mock,
    ("test", "createstub"): lambda a: __import__("localcloud.salesforce.apex.stubs", fromlist=["create_stub"]).create_stub(a),
    ("test", "getstandardpricebookid"): lambda a: "01s000000000001AAA",
    ("test", "setfixedsearchresults"): lambda a: None,
})
