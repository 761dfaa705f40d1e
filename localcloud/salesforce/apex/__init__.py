"""The local org's Apex runtime: parser (tree-sitter), compiler to closures, interpreter, standard
library, SOQL/DML through the data layer, triggers, Apex REST dispatch and the Apex test runner.

Public API::

    from localcloud.salesforce.apex import ApexProgram, ApexCompileError
    prog = ApexProgram({"Foo.cls": src, "ContactTrigger.trigger": src2}, data=store)
    res = prog.execute_anonymous("System.debug(Foo.bar());")   # ExecutionResult
    res = prog.call_static("Foo", "bar", [1])
"""

from .errors import ApexCompileError, ApexThrown, ApexUncaught
from .runtime import ApexProgram, ExecutionResult, Transaction, compile_problems
from .orgruntime import ApexRuntime, CoverageResult, RestResult, TestMethodResult
from . import libraries  # noqa: F401 - the libraries fill the tables the interpreter reads (tables.py)


def run_tests_for_deploy(test_level, class_names, sources, *, store=None, prepare=None, transaction=None,
                         schema=None, permission_sets=None, cache_partitions=None):  # noqa: ANN001,ANN201 - see orgruntime
    """Deploy-time Apex test run (looked up by localcloud.salesforce.metadata)."""
    from .orgruntime import run_tests_for_deploy as run
    return run(test_level, class_names, sources, store=store, prepare=prepare, transaction=transaction,
               schema=schema, permission_sets=permission_sets, cache_partitions=cache_partitions)


def install_local_org(context):  # noqa: ANN001,ANN201 - the local org's plugin hook (server.py)
    """Bind USER_MODE checks to the org: permission set definitions come from the org's metadata
    repository (``context.extras["metadata_repository"].permission_set(name)``), Platform Cache
    partitions from its ``cache_partitions()``. Adds no routes."""
    from . import access, cachepartitions
    repository = getattr(context, "extras", {}).get("metadata_repository")
    source = getattr(repository, "permission_set", None)
    if callable(source) and getattr(context, "data", None) is not None:
        access.register_definitions(context.data, source)
    partitions = getattr(repository, "cache_partitions", None)  # Platform Cache: the deployed partitions
    if callable(partitions) and getattr(context, "data", None) is not None:
        cachepartitions.register_partitions(context.data, partitions)
    return []


__all__ = ["run_tests_for_deploy", "install_local_org", "compile_problems", "ApexProgram", "ApexRuntime", "ApexCompileError", "ApexThrown", "ApexUncaught",
           "ExecutionResult", "Transaction", "RestResult", "TestMethodResult", "CoverageResult"]
