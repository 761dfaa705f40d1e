"""``cci task run provision_marketo``: create in Marketo the lead fields and custom objects ecbridge.yml needs.

Each provisioner reads the instance's schema and plans (``Section``: steps, drift, what is in place);
the plan is written as text and HTML. Dry run by default; ``apply: True`` runs the steps, then plans
again so the written plan shows what remains. Nothing is ever deleted. A provisioner whose plan is
blocked (Marketo forbids the change the mapping needs) changes nothing and fails the task with the
documented rule and the way out.

To provision something more, write a class with ``name`` and ``plan(mapping, client) -> Section``
and add it to ``PROVISIONERS``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.tasks import BaseTask
from cumulusci.core.utils import process_bool_arg

from python_tasks.mapping import Mapping, MappingError, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentialsMissing, MarketoError
from python_tasks.provision.custom_object import CustomObjectProvisioner
from python_tasks.provision.order_email import OrderEmailSection
from python_tasks.provision.lead_fields import LeadFieldsProvisioner, ProvisioningFailed
from python_tasks.provision.plan import Section, write_plan


class Provisioner(Protocol):
    name: str

    def plan(self, mapping: Mapping, client: MarketoClient) -> Section: ...


# Order matters: the custom object's link field needs the lead's fields.
PROVISIONERS: tuple[Provisioner, ...] = (LeadFieldsProvisioner(), CustomObjectProvisioner(), OrderEmailSection())


def plan_all(mapping: Mapping, client: MarketoClient,
             provisioners: tuple[Provisioner, ...] = PROVISIONERS) -> list[Section]:
    return [p.plan(mapping, client) for p in provisioners]


def apply_all(mapping: Mapping, client: MarketoClient, provisioners: tuple[Provisioner, ...] = PROVISIONERS,
              log: Any = None) -> tuple[int, list[str]]:
    """Run every unblocked provisioner's steps (each provisioner re-plans just before, so one's
    changes are seen by the next). Returns (steps run, blocked messages)."""
    done, blocked = 0, []
    for provisioner in provisioners:
        section = provisioner.plan(mapping, client)
        if section.blocked:
            blocked += [f"{d.target}: {d.problem}. Way out: {d.fix}" for d in section.drift if d.blocking]
            continue
        for step in section.steps:
            if log:
                log(f"{section.name}: {step.what}")
            step.run(client)
            done += 1
    return done, blocked


class ProvisionMarketo(BaseTask):
    task_docs = __doc__

    task_options = {
        "apply": {"description": "Create what is missing (default False: dry run, plan only)."},
        "mapping": {"description": "The mapping file (default ecbridge.yml)."},
        "output_dir": {"description": "Where plan.txt and plan.html go (default reports/provision)."},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        self.apply = process_bool_arg(self.options.get("apply") or False)
        self.mapping_path = Path(self.options.get("mapping") or "ecbridge.yml")
        self.output_dir = Path(self.options.get("output_dir") or "reports/provision")

    def _run_task(self) -> None:
        try:
            mapping = load_mapping(self.mapping_path)
        except MappingError as error:
            raise TaskOptionsError(str(error)) from None
        try:
            client = MarketoClient.from_project(self.project_config)
        except MarketoCredentialsMissing as error:
            raise TaskOptionsError(str(error)) from None
        try:
            planned = plan_all(mapping, client)
            steps = sum(len(s.steps) for s in planned)
            done, blocked = 0, []
            if self.apply and steps:
                done, blocked = apply_all(mapping, client, log=self.logger.info)
                sections = plan_all(mapping, client)  # what remains after the changes
            else:
                sections = planned
                blocked = [f"{d.target}: {d.problem}. Way out: {d.fix}" for s in planned for d in s.drift if d.blocking]
        except ProvisioningFailed as error:
            raise CumulusCIFailure(str(error)) from None
        except MarketoError as error:
            raise CumulusCIFailure(f"Marketo: {error}") from None
        finally:
            calls = client.counters().calls
            client.close()
        text_path, html_path = write_plan(planned if not self.apply else sections, self.output_dir,
                                          applied=self.apply)
        for section in planned:
            for step in section.steps:
                self.logger.info(f"{'created' if self.apply else 'would create'}: {step.what}: {step.detail}")
        for section in sections:
            for item in section.drift:
                self.logger.warning(f"{'blocked' if item.blocking else 'drift'}: {item.target}: {item.problem} "
                                    f"(fix: {item.fix})")
        self.return_values = {
            "planned": steps, "applied": done, "drift": sum(len(s.drift) for s in sections),
            "blocked": blocked, "plan_text": str(text_path), "plan_html": str(html_path), "marketo_calls": calls,
        }
        self.logger.info(f"Plan written to {text_path} and {html_path}"
                         + ("" if self.apply else "; dry run: nothing changed (apply: True creates it)"))
        if blocked:
            raise CumulusCIFailure("Marketo forbids what the mapping needs: " + " | ".join(blocked))
        if not steps:
            self.logger.info("Marketo already has every field and custom object the mapping needs")
