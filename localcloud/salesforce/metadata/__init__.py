"""The local org's Metadata API deploy: a deploy zip into schema changes (through the data layer)
and stored, syntax-checked Apex (``MetadataRepository``), all or nothing.

Public interface::

    repo = MetadataRepository(Path(".ecbridge/org/metadata.sqlite3"))
    deployer = Deployer(store, repo)                 # store: localcloud.salesforce.data.Store
    job = deployer.deploy_zip(zip_bytes)             # synchronous; or deployer.start(b64, options)
    job.status, job.failures, job.successes

    repo.apex_classes(), repo.apex_triggers("Contact"), repo.apex_class("Name")   # for the Apex runtime
    hooks.register_compile_hook(fn)                  # Apex runtime: compile at deploy, report problems
    hooks.register_activation_hook(fn)               # after a deploy committed
    deploy.TEST_RUNNER.append(fn)                    # Apex runtime: run tests a deploy asks for
"""
from localcloud.salesforce.metadata import hooks
from localcloud.salesforce.metadata.apex_source import ApexSource, SourceProblem, syntax_problems
from localcloud.salesforce.metadata.deploy import (
    TEST_RUNNER,
    ComponentMessage,
    Deployer,
    DeployJob,
    DeployOptions,
    RunTestsOutcome,
)
from localcloud.salesforce.metadata.hooks import CompileProblem, CompileRequest, register_activation_hook, register_compile_hook
from localcloud.salesforce.metadata.repository import MetadataRepository

__all__ = [
    "hooks", "ApexSource", "SourceProblem", "syntax_problems", "Deployer", "DeployJob", "DeployOptions",
    "ComponentMessage", "RunTestsOutcome", "TEST_RUNNER", "CompileProblem", "CompileRequest",
    "register_compile_hook", "register_activation_hook", "MetadataRepository",
]
