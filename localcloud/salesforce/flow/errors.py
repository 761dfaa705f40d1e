"""What a flow interview raises. The host (the Apex runtime) turns these into its own exceptions."""

from __future__ import annotations


class FlowError(Exception):
    """Base of the flow engine's errors."""


class FlowDefinitionError(FlowError):
    """The flow's XML cannot be read (not a Flow, an element without a name, a connector to nowhere)."""


class FlowUnsupported(FlowError):
    """A construct the local org does not run (screen flows, an element kind, an action type).

    ``construct`` names it with the flow and the element; ``str()`` is Salesforce-style
    ``<construct> is not supported by the local org``."""

    def __init__(self, construct: str) -> None:
        super().__init__(f"{construct} is not supported by the local org")
        self.construct = construct


class FlowFault(FlowError):
    """An element failed (a DML or query error, an action that threw). The interview follows the
    element's fault connector (``$Flow.FaultMessage`` is ``message``), else it stops with
    ``FlowUnhandledFault``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FlowUnhandledFault(FlowError):
    """An element failed and has no fault connector: the interview stops.

    ``message`` is what Salesforce's fault email starts with: ``An error occurred at element <name>
    (<kind>).`` then the element's error."""

    def __init__(self, flow: str, element: str, kind: str, error: str) -> None:
        self.flow, self.element, self.kind, self.error = flow, element, kind, error
        self.message = f"An error occurred at element {element} ({kind}).\n{error}"
        super().__init__(self.message)


class FlowInputError(FlowError):
    """An input the flow does not take (no such variable, or not available for input)."""
