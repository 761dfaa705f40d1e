"""The Metadata API deploy: a zip in, schema changes and stored Apex out, all or nothing.

Order of work (one deploy at a time):
1. read the zip (``package.py``); a zip that cannot be read fails with ``errorMessage``;
2. check every component: object/field definitions (``objects.py``), permission sets, Apex syntax
   (tree-sitter) and the declared name; then the compile hooks (``hooks.py``) see all Apex;
3. any component failure fails the whole deploy before anything is written;
4. apply in one data ``Transaction``: custom objects without their relationship fields, then the
   relationship fields, then custom fields on standard objects, then permission sets' records;
   a failure there rolls the transaction back and fails the component that caused it;
   then, with testLevel other than NoTestRun, the Apex tests run (``_run_tests``) on a scratch copy
   of this org given the deploy's schema, so they see what the deploy creates; any test failure
   rolls everything back and fails the deploy; so does too little coverage when the org deploys as
   a production org (``coverage.py``, setting ECBRIDGE_ORG_PRODUCTION);
5. only after the data transaction committed: Apex sources, permission set definitions and the
   other components are written to the metadata repository (``checkOnly`` writes nothing).
"""
from __future__ import annotations

import base64
import dataclasses
import inspect
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from localcloud.salesforce.data import CustomObjectSpec, SalesforceError
from localcloud.salesforce.data.formulas import formula_problems
from localcloud.salesforce.metadata import hooks
from localcloud.salesforce.metadata.apex_source import ApexSource, declared_name_problem, read_apex, syntax_problems
from localcloud.salesforce.metadata.custommetadata import apply_records, read_record
from localcloud.salesforce.metadata.leadconvert_settings import apply_lead_convert_settings
from localcloud.salesforce.metadata.setup_rows import (apply_permission_set_entities, apply_profile_and_group_rows,
                                                       apply_setup_rows)
from localcloud.salesforce.metadata.list_views import apply_list_views
from localcloud.salesforce.metadata.approval_processes import apply_approval_processes
from localcloud.salesforce.metadata.workflows import apply_field_updates
from localcloud.salesforce.metadata.coverage import NO_TEST_RUN_REFUSED, coverage_warnings, production_org
from localcloud.salesforce.metadata.objects import (CUSTOM_SUFFIXES, ObjectDefinitionError, global_value_set_values,
                                                    object_spec)
from localcloud.salesforce.metadata.package import Component, DeployPackage, DeployPackageError, read_deploy_zip
from localcloud.salesforce.metadata.permissionsets import permission_set_definition
from localcloud.salesforce.metadata.apex_rows import mirror_apex_rows
from localcloud.salesforce.metadata.repository import DEPLOY_PREFIX, MetadataRepository, now_iso
from localcloud.salesforce.metadata.channel_members import TYPE as CHANNEL_MEMBER, check_channel_members
from localcloud.salesforce.metadata.cachepartitions import TYPE as CACHE_PARTITION, check_cache_partitions, deploy_partitions
from localcloud.salesforce.metadata.ui_components import check_ui_components

log = logging.getLogger(__name__)

RELATIONSHIP_TYPES = {"Lookup", "MasterDetail", "MetadataRelationship", "Summary"}  # applied once every object exists
#: objects a deploy creates (custom objects; custom metadata types and platform events where supported)
CUSTOM_OBJECT_SUFFIXES = CUSTOM_SUFFIXES

#: Runs Apex tests requested by a deploy (testLevel RunSpecifiedTests / RunLocalTests / RunAllTestsInOrg).
#: Set by the Apex runtime: fn(test_level, class_names, all_sources) -> RunTestsOutcome.
TEST_RUNNER: list[Callable[[str, list[str], list[ApexSource]], "RunTestsOutcome"]] = []


@dataclass
class RunTestsOutcome:
    num_tests_run: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)  # name, methodName, message, stackTrace, namespace, time
    successes: list[dict[str, Any]] = field(default_factory=list)  # name, methodName, time
    total_time_ms: float = 0.0
    # codeCoverage of runTestResult: name, type (Class|Trigger), namespace, numLocations,
    # numLocationsNotCovered, locationsNotCovered [{line, column, numExecutions, time}]
    code_coverage: list[dict[str, Any]] = field(default_factory=list)
    # codeCoverageWarnings of runTestResult (id, message, name, namespace): a production org's coverage rule
    code_coverage_warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DeployOptions:
    check_only: bool = False
    rollback_on_error: bool = True
    ignore_warnings: bool = False
    test_level: str | None = None
    run_tests: list[str] = field(default_factory=list)
    purge_on_delete: bool = False
    single_package: bool = True


@dataclass
class ComponentMessage:
    component_type: str
    full_name: str
    file_name: str
    success: bool
    problem: str | None = None
    problem_type: str | None = None
    line: int | None = None
    column: int | None = None
    created: bool = False
    changed: bool = False
    deleted: bool = False
    id: str | None = None


class _ApplyFailure(Exception):
    def __init__(self, message: ComponentMessage):
        super().__init__(message.problem)
        self.message = message


class _CheckOnlyRollback(Exception):
    pass


class _CompileFailed(Exception):
    def __init__(self, failures: list[ComponentMessage]):
        super().__init__(f"{len(failures)} compile problem(s)")
        self.failures = failures


@dataclass
class DeployJob:
    id: str
    options: DeployOptions
    created_date: str
    created_by: str
    status: str = "Pending"  # Pending | InProgress | Succeeded | Failed
    done: bool = False
    state_detail: str | None = None
    start_date: str | None = None
    completed_date: str | None = None
    error_message: str | None = None
    error_status_code: str | None = None
    successes: list[ComponentMessage] = field(default_factory=list)
    failures: list[ComponentMessage] = field(default_factory=list)
    components_total: int = 0
    tests: RunTestsOutcome = field(default_factory=RunTestsOutcome)

    @property
    def success(self) -> bool:
        return self.status == "Succeeded"


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


class Deployer:
    """Runs deploys one at a time in a background thread; ``status(id)`` answers checkDeployStatus."""

    def __init__(self, store: Any, repository: MetadataRepository, user_id: str | None = None):
        self.store = store
        self.repository = repository
        self.user_id = user_id or getattr(store, "user_id", None)
        # Hooks of this org only (the module-level lists in hooks.py apply to every org).
        self.compile_hooks: list[hooks.CompileHook] = []
        self.activation_hooks: list[hooks.ActivationHook] = []
        self._jobs: dict[str, DeployJob] = {}
        self._jobs_lock = threading.Lock()
        self._deploy_lock = threading.Lock()
        self._mirror_apex()  # an org deployed before ApexClass rows were kept in the store gets them now

    def _mirror_apex(self) -> None:
        """ApexClass/ApexTrigger rows for SOQL (``apex_rows.py``); a committed deploy is never undone by it."""
        if not hasattr(self.store, "transaction"):
            return
        try:
            mirror_apex_rows(self.store, self.repository)
        except Exception:  # noqa: BLE001 - logged; the Tooling API still lists the classes
            log.exception("ApexClass/ApexTrigger rows could not be mirrored into the data store")

    # -- public -----------------------------------------------------------------------------------

    def start(self, zip_base64: str, options: DeployOptions, *, wait: bool = False) -> DeployJob:
        job = DeployJob(
            id=self.repository.next_id(DEPLOY_PREFIX), options=options, created_date=now_iso(),
            created_by=self.user_id or "",
        )
        with self._jobs_lock:
            self._jobs[job.id] = job
        worker = threading.Thread(target=self._run, args=(job, zip_base64), name=f"deploy-{job.id}", daemon=True)
        worker.start()
        if wait:
            worker.join()
        return job

    def deploy_zip(self, zip_bytes: bytes, options: DeployOptions | None = None) -> DeployJob:
        """Synchronous deploy (tests, tools): returns the finished job."""
        return self.start(base64.b64encode(zip_bytes).decode(), options or DeployOptions(), wait=True)

    def status(self, deploy_id: str) -> DeployJob | None:
        with self._jobs_lock:
            job = self._jobs.get(deploy_id)
        if job is None:
            stored = self.repository.deploy_result(deploy_id)
            job = _job_from_dict(stored) if stored else None
        return job

    # -- the work ---------------------------------------------------------------------------------

    def _run(self, job: DeployJob, zip_base64: str) -> None:
        with self._deploy_lock:
            job.status, job.start_date, job.state_detail = "InProgress", now_iso(), "Processing components"
            started = time.monotonic()
            try:
                self._deploy(job, zip_base64)
            except Exception as error:  # never leave a job hanging
                log.exception("deploy %s failed unexpectedly", job.id)
                job.status, job.error_message = "Failed", f"UNKNOWN_EXCEPTION: {type(error).__name__}: {error}"
                job.error_status_code = "UNKNOWN_EXCEPTION"
            job.completed_date = now_iso()
            job.state_detail = None
            job.done = True
            try:
                self.repository.save_deploy_result(job.id, dataclasses.asdict(job))
            except Exception:  # the answer is still in memory; only a restart would lose it
                log.exception("could not store the result of deploy %s", job.id)
            log.info("deploy %s %s in %.2fs", job.id, job.status, time.monotonic() - started)

    def _deploy(self, job: DeployJob, zip_base64: str) -> None:
        try:
            package = read_deploy_zip(base64.b64decode(zip_base64, validate=False))
        except (DeployPackageError, ValueError) as error:
            job.status, job.error_message, job.error_status_code = "Failed", str(error), "UNKNOWN_EXCEPTION"
            return
        job.components_total = len(package.components) + 1

        specs, permsets, apex, others = self._check(job, package)
        production = production_org() and bool(apex or _deleted_apex(package))
        if not job.failures and production and job.options.test_level == "NoTestRun":
            job.status, job.error_message, job.error_status_code = "Failed", NO_TEST_RUN_REFUSED, "INVALID_OPERATION"
            return
        if production and not job.options.test_level:
            job.options = dataclasses.replace(job.options, test_level="RunLocalTests")

        try:
            with self.store.transaction(user_id=self.user_id) as tx:
                # As Salesforce, every broken component is reported in one deploy: the schema and
                # the Apex that passed the checks are still applied and compiled (then rolled back).
                failures = self._apply_schema(tx, specs)
                failures += self._apply_permission_sets(tx, permsets)
                failures += self._apply_custom_metadata(tx, others)
                failures += self._apply_settings(tx, package.components)
                failures += self._apply_setup_rows(tx, package.components)
                failures += self._apply_list_views(tx, [c for c, _ in specs])
                failures += self._apply_approval_processes(tx, others)
                failures += self._apply_permission_set_entities(tx, permsets)
                failures += self._apply_profile_and_group_rows(tx, package.components)
                failures += self._check_ui_components(package, tx.schema)
                failures += self._compile(job, apex, tx.schema, _deleted_apex(package))
                if failures or job.failures:
                    raise _CompileFailed(failures)
                if job.options.test_level and job.options.test_level != "NoTestRun":
                    self._run_tests(job, apex, tx, lambda stx: self._apply_test_schema(stx, specs, permsets, others),
                                    _deleted_apex(package), permission_sets={c.full_name: d for c, d in permsets},
                                    cache_partitions=deploy_partitions(self.repository, package))
                    if job.tests.failures:
                        # as Salesforce: a failing test of a testLevel deploy rolls all of it back
                        raise _CheckOnlyRollback()
                    if production:
                        job.tests.code_coverage_warnings = coverage_warnings(
                            job.tests.code_coverage, job.options.test_level,
                            {(s.kind, s.name.lower()) for s in apex})
                        if job.tests.code_coverage_warnings:
                            raise _CheckOnlyRollback()
                if job.options.check_only:
                    raise _CheckOnlyRollback()
        except _CompileFailed as failed:
            job.failures.extend(failed.failures)
            broken = {(f.component_type, f.full_name) for f in job.failures}
            job.successes = [m for m in job.successes if (m.component_type, m.full_name) not in broken]
            job.status = "Failed"
            return
        except _CheckOnlyRollback:
            pass

        if job.tests.failures or job.tests.code_coverage_warnings:
            job.status = "Failed"
            return
        if not job.options.check_only:
            for kind, name in _deleted_apex(package):
                self.repository.delete_apex(kind, name)
            for name in package.destructive.get(CHANNEL_MEMBER, []):  # deselects a Change Data Capture entity
                self.repository.delete_component(CHANNEL_MEMBER, name)
            saved = self.repository.save_apex(apex)
            self._mirror_apex()
            for source in apex:
                record_id, created = saved[(source.kind, source.name)]
                message = self._success_for(job, source.kind, source.name)
                if message:
                    message.id, message.created, message.changed = record_id, created, not created
            for component, definition in permsets:
                self.repository.save_permission_set(component.full_name, definition)
            self.repository.save_components(
                job.id, [(c.type, c.full_name, c.file_name, c.body, c.meta_xml) for c in package.components]
            )
            for hook in [*hooks.activation_hooks(), *self.activation_hooks]:
                try:
                    hook(self.repository.apex_sources())
                except Exception:  # activation hooks must not undo a committed deploy
                    log.exception("activation hook %r failed", hook)
        job.status = "Succeeded"

    def _success_for(self, job: DeployJob, kind: str, name: str) -> ComponentMessage | None:
        return next((m for m in job.successes if m.component_type == kind and m.full_name == name), None)

    def _check(self, job: DeployJob, package: DeployPackage):
        specs: list[tuple[Component, CustomObjectSpec]] = []
        permsets: list[tuple[Component, dict[str, Any]]] = []
        apex: list[ApexSource] = []
        others: list[Component] = []
        job.successes.append(ComponentMessage("", "package.xml", "package.xml", True, changed=True))
        for type_name, members in package.destructive.items():
            for member in members:
                if type_name in ("ApexClass", "ApexTrigger", CHANNEL_MEMBER):
                    job.successes.append(ComponentMessage(type_name, member, "destructiveChanges.xml", True, deleted=True))
                else:
                    job.failures.append(ComponentMessage(
                        type_name, member, "destructiveChanges.xml", False, deleted=True, problem_type="Error",
                        problem=f"The local org cannot delete {type_name} components (data is never dropped); only ApexClass, ApexTrigger and PlatformEventChannelMember can be deleted",
                        line=1, column=1,
                    ))
        global_sets = {name: global_value_set_values(body, name)
                       for name, body in self.repository.component_bodies("GlobalValueSet")}
        global_sets.update({c.full_name: global_value_set_values(c.body, c.file_name)
                            for c in package.components if c.type == "GlobalValueSet"})
        for component in package.components:
            try:
                if component.type == "CustomObject":
                    spec = object_spec(component, global_sets)
                    specs.append((component, spec))
                    self._succeed(job, component, created=self.store.schema.find(component.full_name) is None)
                elif component.type == "PermissionSet":
                    permsets.append((component, permission_set_definition(component)))
                    self._succeed(job, component)
                elif component.type in ("ApexClass", "ApexTrigger"):
                    source = read_apex(component)
                    problems = syntax_problems(source.body)
                    named = declared_name_problem(source)
                    if named:
                        problems.append(named)
                    if problems:
                        for problem in problems[:10]:
                            job.failures.append(ComponentMessage(
                                component.type, component.full_name, component.file_name, False,
                                problem=problem.message, problem_type="Error", line=problem.line, column=problem.column,
                            ))
                        continue
                    apex.append(source)
                    self._succeed(job, component)
                else:
                    others.append(component)
                    self._succeed(job, component, created=not self.repository.component_exists(component.type, component.full_name))
            except ObjectDefinitionError as error:
                line = _line_of(component.text, f"<fullName>{error.field_name}</fullName>") if error.field_name else 1
                job.failures.append(ComponentMessage(
                    component.type, component.full_name, component.file_name, False,
                    problem=str(error), problem_type="Error", line=line, column=1,
                ))
            except DeployPackageError as error:
                job.failures.append(ComponentMessage(
                    component.type, component.full_name, component.file_name, False,
                    problem=str(error), problem_type="Error", line=1, column=1,
                ))
        if job.failures:
            failed = {(f.component_type, f.full_name) for f in job.failures}
            job.successes = [s for s in job.successes if (s.component_type, s.full_name) not in failed]
        return specs, permsets, apex, others

    def _check_ui_components(self, package: DeployPackage, schema: Any) -> list[ComponentMessage]:
        """Apps, tabs, list views, report types and reports against the schema this deploy produces."""
        def stored_members() -> dict[str, bytes]:
            return {c["fullName"]: self.repository.component_body(CHANNEL_MEMBER, c["fullName"]) or b""
                    for c in self.repository.components(CHANNEL_MEMBER)}

        def stored_partitions() -> dict[str, bytes]:
            return dict(self.repository.component_bodies(CACHE_PARTITION))

        problems = [*check_ui_components(package, schema, self.repository.component_exists),
                    *check_channel_members(package, schema, stored_members),
                    *check_cache_partitions(package, stored_partitions)]
        return [ComponentMessage(p.component.type, p.component.full_name, p.component.file_name, False,
                                 problem=p.message, problem_type="Error", line=p.line, column=1)
                for p in problems]

    def _compile(self, job: DeployJob, apex: list[ApexSource], schema: Any, deleted: set[tuple[str, str]] | None = None) -> list[ComponentMessage]:
        """Run the compile hooks against the schema this deploy produces (inside its transaction)."""
        compile_hooks = [*hooks.compile_hooks(), *self.compile_hooks]
        if not (apex or deleted) or not compile_hooks:
            return []
        deployed = {(s.kind, s.name.lower()) for s in apex} | (deleted or set())
        existing = [s for s in self.repository.apex_sources() if (s.kind, s.name.lower()) not in deployed]
        request = hooks.CompileRequest(deployed=apex, all_sources=[*existing, *apex], schema=schema)
        failures = []
        for hook in compile_hooks:
            for problem in hook(request):
                file_name = next((s.file_name for s in apex if s.kind == problem.kind and s.name.lower() == problem.name.lower()), "")
                failures.append(ComponentMessage(
                    problem.kind, problem.name, file_name, False, problem=problem.message,
                    problem_type=getattr(problem, "problem_type", "Error"), line=problem.line, column=problem.column,
                ))
        return failures

    def _succeed(self, job: DeployJob, component: Component, created: bool = False) -> None:
        job.successes.append(ComponentMessage(
            component.type, component.full_name, component.file_name, True, created=created, changed=not created,
        ))

    # -- applying ---------------------------------------------------------------------------------

    def _fail(self, component: Component, message: str, field_name: str | None = None) -> _ApplyFailure:
        line = _line_of(component.text, f"<fullName>{field_name}</fullName>") if field_name else 1
        return _ApplyFailure(ComponentMessage(
            component.type, component.full_name, component.file_name, False, problem=message, problem_type="Error",
            line=line, column=1,
        ))

    def _apply_schema(self, tx: Any, specs: list[tuple[Component, CustomObjectSpec]]) -> list[ComponentMessage]:
        """Apply objects, then relationship fields, field sets and formulas; returns one failure per broken component
        (all of them)."""
        relationship_fields = []
        failures: list[ComponentMessage] = []
        for component, spec in specs:
            if spec.full_name.endswith(CUSTOM_OBJECT_SUFFIXES):
                plain = [f for f in spec.fields if f.type not in RELATIONSHIP_TYPES]
                first = CustomObjectSpec(**{**spec.__dict__, "fields": plain})
                try:
                    tx.apply_custom_object(first)
                except (SalesforceError, ValueError, KeyError) as error:
                    failures.append(self._fail(component, _message(error), _field_in(error, plain)).message)
                    continue
                relationship_fields.extend((component, spec.full_name, f) for f in spec.fields if f.type in RELATIONSHIP_TYPES)
            else:
                if tx.schema.find(spec.full_name) is None:
                    failures.append(self._fail(
                        component, f"Cannot create standard object {spec.full_name}: the local org does not know it").message)
                    continue
                relationship_fields.extend((component, spec.full_name, f) for f in spec.fields)
                standard = tx.schema.get(spec.full_name)
                if spec.sharing_model and standard.raw.get("_sharingModel") != spec.sharing_model \
                        and standard.find_field("OwnerId") is not None:  # its org-wide default (data/sharing.py)
                    tx.replace_object({**standard.raw, "_sharingModel": spec.sharing_model})
        failed = {m.full_name for m in failures}
        for component, sobject, field_spec in relationship_fields:
            if component.full_name in failed:
                continue
            try:
                tx.apply_custom_field(sobject, field_spec)
            except (SalesforceError, ValueError, KeyError) as error:
                failures.append(self._fail(component, f"Field {field_spec.full_name}: {_message(error)}",
                                           field_spec.full_name).message)
                failed.add(component.full_name)
        for component, spec in specs:  # field sets, once every field of the deploy exists
            if component.full_name in failed or not spec.field_sets:
                continue
            try:
                tx.apply_field_sets(spec.full_name, spec.field_sets)
            except (SalesforceError, ValueError, KeyError) as error:
                failures.append(self._fail(component, _message(error), _field_in(error, spec.field_sets)).message)
                failed.add(component.full_name)
        for component, spec in specs:  # formulas, once every field of the deploy exists
            if component.full_name in failed:
                continue
            for problem, field_name in formula_problems(tx.schema, spec):
                failures.append(self._fail(component, problem, field_name).message)
                failed.add(component.full_name)
        return failures

    def _apply_custom_metadata(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """Custom metadata records (after the types of the same deploy); one failure per broken record."""
        records = []
        failures: list[ComponentMessage] = []
        for component in components:
            if component.type != "CustomMetadata":
                continue
            try:
                records.append(read_record(component))
            except DeployPackageError as error:
                failures.append(self._fail(component, str(error)).message)
        for record, error in apply_records(tx, records):
            failures.append(self._fail(record.component, str(error), None).message)
            if error.field_name:
                failures[-1].line = _line_of(record.component.text, f"<field>{error.field_name}</field>")
        return failures

    def _apply_settings(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """Settings the org has behaviour for (LeadConvertSettings); one failure per problem."""
        return [dataclasses.replace(self._fail(p.component, p.message).message,
                                    line=_line_of(p.component.text, p.needle) if p.needle else 1)
                for p in apply_lead_convert_settings(tx, components)]

    def _row_failures(self, problems: list[Any]) -> list[ComponentMessage]:
        """One failure per SetupRowProblem, at the line of its needle."""
        return [dataclasses.replace(self._fail(p.component, p.message).message,
                                    line=_line_of(p.component.text, p.needle) if p.needle else 1)
                for p in problems]

    def _apply_setup_rows(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """Custom permissions, groups and queues as their setup rows; one failure per problem."""
        return self._row_failures(apply_setup_rows(tx, components))

    def _apply_list_views(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """The objects' list views as ListView rows (metadata/list_views.py); one failure per problem."""
        return self._row_failures(apply_list_views(tx, components))

    def _apply_approval_processes(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """Approval processes as ProcessDefinition rows (metadata/approval_processes.py) and the workflow
        field updates their actions run (metadata/workflows.py)."""
        return self._row_failures(apply_field_updates(tx, components) + apply_approval_processes(tx, components))

    def _apply_permission_set_entities(self, tx: Any, permsets: list[tuple[Component, dict[str, Any]]]) -> list[ComponentMessage]:
        """The custom permissions deployed permission sets enable, as SetupEntityAccess rows."""
        return self._row_failures(apply_permission_set_entities(tx, permsets))

    def _apply_profile_and_group_rows(self, tx: Any, components: list[Component]) -> list[ComponentMessage]:
        """Permission set groups and the custom permissions profiles enable, as their setup rows."""
        return [dataclasses.replace(self._fail(p.component, p.message).message,
                                    line=_line_of(p.component.text, p.needle) if p.needle else 1)
                for p in apply_profile_and_group_rows(tx, components)]

    def _apply_permission_sets(self, tx: Any, permsets: list[tuple[Component, dict[str, Any]]]) -> list[ComponentMessage]:
        """Permission sets' records; returns one failure per broken permission set (all of them)."""
        if not permsets or tx.schema.find("PermissionSet") is None:
            return []
        failures: list[ComponentMessage] = []
        for component, definition in permsets:
            try:
                self._apply_permission_set(tx, component, definition)
            except _ApplyFailure as failure:
                failures.append(failure.message)
        return failures

    def _apply_permission_set(self, tx: Any, component: Component, definition: dict[str, Any]) -> None:
        for permission in definition["fieldPermissions"]:
            sobject, _, field_name = (permission["field"] or "").partition(".")
            target = tx.schema.find(sobject)
            if target is None or target.find_field(field_name) is None:
                raise self._fail(component, f"In field: field - no CustomField named {permission['field']} found",
                                 None)
        for permission in definition["objectPermissions"]:
            if tx.schema.find(permission["object"] or "") is None:
                raise self._fail(component, f"In field: object - no CustomObject named {permission['object']} found")
        name = component.full_name
        try:
            found = tx.find_ids_by_field("PermissionSet", "Name", name)
            values = {"Name": name, "Label": definition["label"]}
            if definition.get("description"):
                values["Description"] = definition["description"]
            if found:
                results = tx.update("PermissionSet", [{**values, "Id": found[0]}])
            else:
                results = tx.insert("PermissionSet", [values])
        except SalesforceError as error:
            raise self._fail(component, _message(error)) from error
        if not results[0].success:
            raise self._fail(component, "; ".join(e.message for e in results[0].errors))

    def _apply_test_schema(self, tx: Any, specs: list[tuple[Component, CustomObjectSpec]],
                           permsets: list[tuple[Component, dict[str, Any]]], others: list[Component] = ()) -> None:
        """Give a test run's scratch copy of the org this deploy's objects, fields, permission sets and
        custom metadata records."""
        failures = (self._apply_schema(tx, specs) + self._apply_permission_sets(tx, permsets)
                    + self._apply_custom_metadata(tx, list(others)) + self._apply_settings(tx, list(others))
                    + self._apply_setup_rows(tx, list(others)) + self._apply_list_views(tx, [c for c, _ in specs])
                    + self._apply_approval_processes(tx, list(others))
                    + self._apply_permission_set_entities(tx, permsets)
                    + self._apply_profile_and_group_rows(tx, list(others)))
        if failures:
            raise SalesforceError("UNKNOWN_EXCEPTION", f"could not prepare the test run: {failures[0].problem}")

    def _run_tests(self, job: DeployJob, apex: list[ApexSource], tx: Any = None,
                   prepare: Callable[[Any], None] | None = None,
                   deleted: set[tuple[str, str]] | None = None,
                   permission_sets: dict[str, dict[str, Any]] | None = None,
                   cache_partitions: list[dict[str, Any]] | None = None) -> None:
        level = job.options.test_level or "NoTestRun"
        runners = [*TEST_RUNNER, *hooks.apex_runtime_functions("run_tests_for_deploy")]
        if not runners:
            job.tests.failures.append({
                "name": "", "methodName": "", "namespace": None, "time": 0,
                "message": f"testLevel {level} was requested, but this local org has no Apex test runner installed",
                "stackTrace": None,
            })
            return
        deployed = {(s.kind, s.name.lower()) for s in apex} | (deleted or set())
        existing = [s for s in self.repository.apex_sources() if (s.kind, s.name.lower()) not in deployed]
        runner = runners[-1]
        extra: dict[str, Any] = {}
        try:
            accepted = inspect.signature(runner).parameters
        except (TypeError, ValueError):
            accepted = {}
        # The deploy's own transaction holds its uncommitted schema (and the store's write lock):
        # a runner that accepts it runs the tests inside it (savepoints) instead of a new one.
        if "transaction" in accepted:
            extra["transaction"] = tx
        if "schema" in accepted:
            extra["schema"] = tx.schema if tx is not None else None
        # This org's store, and how to give a scratch copy of it the deploy's schema (its objects,
        # fields and permission sets), so the tests run isolated yet see what the deploy creates.
        if "store" in accepted:
            extra["store"] = self.store
        if "prepare" in accepted:
            extra["prepare"] = prepare
        # The deploy's permission set definitions, so USER_MODE in its tests checks what it deploys.
        if "permission_sets" in accepted:
            extra["permission_sets"] = permission_sets
        # The org's Platform Cache partitions as this deploy leaves them, so its tests can use them.
        if "cache_partitions" in accepted and cache_partitions is not None:
            extra["cache_partitions"] = cache_partitions
        outcome = runner(level, list(job.options.run_tests), [*existing, *apex], **extra)
        # any object shaped like RunTestsOutcome; kept as one so the stored deploy result is plain JSON
        job.tests = RunTestsOutcome(
            num_tests_run=int(outcome.num_tests_run), failures=[dict(f) for f in outcome.failures],
            successes=[dict(s) for s in outcome.successes], total_time_ms=float(outcome.total_time_ms),
            code_coverage=[dict(c) for c in getattr(outcome, "code_coverage", None) or []],
        )


def _deleted_apex(package: DeployPackage) -> set[tuple[str, str]]:
    return {(kind, name.lower()) for kind in ("ApexClass", "ApexTrigger") for name in package.destructive.get(kind, [])}


def _message(error: BaseException) -> str:
    return getattr(error, "message", None) or str(error)


def _field_in(error: BaseException, fields: list[Any]) -> str | None:
    text = str(error)
    return next((f.full_name for f in fields if f.full_name and f.full_name in text), None)


def parse_bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _job_from_dict(data: dict[str, Any]) -> DeployJob:
    """A finished deploy read back from the repository (checkDeployStatus after a restart)."""
    data = dict(data)
    data["options"] = DeployOptions(**data["options"])
    data["successes"] = [ComponentMessage(**m) for m in data["successes"]]
    data["failures"] = [ComponentMessage(**m) for m in data["failures"]]
    data["tests"] = RunTestsOutcome(**data["tests"])
    return DeployJob(**data)


__all__ = ["Deployer", "DeployJob", "DeployOptions", "ComponentMessage", "RunTestsOutcome", "TEST_RUNNER"]
