"""The order email as a part of provision_marketo's plan: the program, its email script token, the
template and the sample email that ``marketo.email`` describes (python_tasks/marketo/emails.py makes
them; this only puts its plan beside the lead fields and the custom object)."""
from __future__ import annotations

from python_tasks.mapping import Mapping
from python_tasks.marketo import MarketoClient
from python_tasks.marketo.emails import OrderEmailProvisioner
from python_tasks.provision.plan import Section, Step


class OrderEmailSection:
    name = "Order email (program, script token, template, sample email)"

    def plan(self, mapping: Mapping, client: MarketoClient) -> Section:
        section = Section(self.name)
        if mapping.marketo.email is None:
            section.in_place.append("the mapping has no marketo.email section: no order email to provision")
            return section
        provisioner = OrderEmailProvisioner(mapping, source=mapping.path.name)
        items = provisioner.plan(client)
        section.in_place += [f"{item.kind} {item.name}" for item in items if item.action == "keep"]
        changes = [item for item in items if item.action != "keep"]
        if changes:
            section.steps.append(Step(
                f"{len(changes)} change(s) to the order email's assets",
                "; ".join(f"{item.action} {item.kind} {item.name}" + (f" ({item.detail})" if item.detail else "")
                          for item in changes),
                run=lambda client: provisioner.apply(client)))
        return section
