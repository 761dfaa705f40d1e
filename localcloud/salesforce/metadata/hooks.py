"""Extension points of the deploy, for the Apex runtime (issue 5) and anyone else.

``COMPILE_HOOKS``: functions called once per deploy, after the syntax check passed and the
deploy's schema changes were applied (inside its transaction: ``request.schema``), with every
Apex class and trigger of the deploy *and* of the org (the org's current sources overlaid with
the deploy's), so a compiler can resolve cross-references. A hook returns ``CompileProblem``s;
any problem fails the deploy like a syntax error (the whole deploy rolls back).

``ACTIVATION_HOOKS``: called after a deploy committed, with the final sources (for example to
drop a compiled-class cache). They must not fail.

Register with ``register_compile_hook(fn)`` / ``register_activation_hook(fn)``.

The Apex runtime does not need to import this package (imports flow metadata -> apex, never
back): the deploy also looks up, lazily, these functions on ``localcloud.salesforce.apex``:

* ``compile_for_deploy(request)`` — a compile hook (``request.deployed`` / ``request.all_sources``
  are ApexSource-like objects with ``kind, name, body, api_version, status, file_name,
  table_name``); returns problems with ``kind, name, line, column, message`` (and optionally
  ``problem_type``).
* ``activate_apex(sources)`` — an activation hook.
* ``run_tests_for_deploy(test_level, class_names, sources[, store=..., prepare=..., transaction=..., schema=..., permission_sets=...])``
  — runs the tests a deploy asks for; returns an object shaped like ``deploy.RunTestsOutcome``
  (``num_tests_run``, ``failures``, ``successes``, ``total_time_ms``, ``code_coverage``). Each
  keyword is passed only when the function accepts it: ``store`` is the deploying org's data
  store (never a process-wide "current" org), ``prepare(tx)`` applies the deploy's objects,
  fields and permission sets to a transaction of another store (a scratch copy of the org the
  tests run on, so they see what the same deploy creates), ``transaction`` the deploy's open data
  ``Transaction`` (it holds the store's write lock: opening another writing transaction on the
  store from the same thread would fail), ``schema`` the schema the deploy produces and
  ``permission_sets`` the deploy's permission set definitions by name (USER_MODE in its tests).
  Any failure in the outcome fails the deploy and rolls all of it back.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from localcloud.salesforce.metadata.apex_source import ApexSource


@dataclass(frozen=True)
class CompileProblem:
    kind: str  # "ApexClass" | "ApexTrigger"
    name: str  # class or trigger name
    line: int  # 1-based
    column: int  # 1-based
    message: str  # e.g. "Unsupported construct: 'Database.Stateful' is not supported by the local org"
    problem_type: str = "Error"


@dataclass(frozen=True)
class CompileRequest:
    deployed: Sequence[ApexSource]  # what this deploy adds or changes
    all_sources: Sequence[ApexSource]  # the org's sources after the deploy (deployed ones replace older)
    schema: Any = None  # the data layer's Schema as this deploy leaves it (new objects and fields included)


CompileHook = Callable[[CompileRequest], Sequence[CompileProblem]]
ActivationHook = Callable[[Sequence[ApexSource]], None]

COMPILE_HOOKS: list[CompileHook] = []
ACTIVATION_HOOKS: list[ActivationHook] = []


def register_compile_hook(hook: CompileHook) -> CompileHook:
    if hook not in COMPILE_HOOKS:
        COMPILE_HOOKS.append(hook)
    return hook


def register_activation_hook(hook: ActivationHook) -> ActivationHook:
    if hook not in ACTIVATION_HOOKS:
        ACTIVATION_HOOKS.append(hook)
    return hook


def apex_runtime_functions(name: str) -> list[Callable]:
    """``[localcloud.salesforce.apex.<name>]`` when the Apex runtime provides it, else ``[]``."""
    try:
        apex = importlib.import_module("localcloud.salesforce.apex")
    except ImportError:
        return []
    function = getattr(apex, name, None)
    return [function] if callable(function) else []


def compile_hooks() -> list[CompileHook]:
    return [*COMPILE_HOOKS, *apex_runtime_functions("compile_for_deploy")]


def activation_hooks() -> list[ActivationHook]:
    return [*ACTIVATION_HOOKS, *apex_runtime_functions("activate_apex")]
