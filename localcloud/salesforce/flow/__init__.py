"""The local org's flow engine: runs deployed flows (Metadata API ``Flow``) with Salesforce's semantics.

It imports nothing of the Apex package: the org running it implements ``host.FlowHost`` (see
``localcloud/salesforce/apex/flowlib.py``). See README.md.
"""

from . import elements  # noqa: F401 - registers the element handlers (engine.HANDLERS)
from .driver import run_interviews, start
from .engine import Interview
from .errors import (FlowDefinitionError, FlowError, FlowFault, FlowInputError, FlowUnhandledFault,
                     FlowUnsupported)
from .host import FlowHost
from .model import FlowDef, parse_flow
from .triggered import TriggeredOutcome, run_record_triggered, triggered_flows
from .values import Record

__all__ = [
    "Interview", "run_interviews", "start", "FlowDefinitionError", "FlowError", "FlowFault", "FlowInputError",
    "FlowUnhandledFault", "FlowUnsupported", "FlowHost", "FlowDef", "parse_flow", "TriggeredOutcome",
    "run_record_triggered", "triggered_flows", "Record",
]
