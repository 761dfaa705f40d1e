"""Hooks run when a top-level Apex execution ends (lowest layer: imports nothing of the package).

``runtime.ApexProgram`` calls each hook with ``(transaction, succeeded)``; libraries that keep state
outside the data layer register here (``cachelib``: a failed request's cache operations roll back).
"""

from __future__ import annotations

from typing import Any, Callable

TX_END_HOOKS: list[Callable[[Any, bool], None]] = []


def register(hook: Callable[[Any, bool], None]) -> None:
    if hook not in TX_END_HOOKS:
        TX_END_HOOKS.append(hook)
