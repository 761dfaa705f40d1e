"""`provision_marketo_email`: create or update, from the mapping, the order email program in Marketo."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cumulusci.core.tasks import BaseTask
from cumulusci.core.utils import process_bool_arg

from python_tasks.mapping import load_mapping

from .emails import OrderEmailProvisioner, changes


class ProvisionMarketoEmail(BaseTask):
    task_docs = """
    From marketo.email in the mapping: a program with an email script token listing the person's orders
    (newest first, dates in the mapping's zone, totals in yen, the fallback text when there are none),
    an approved email template and an approved sample email using the token and the last-order lead tokens.
    Idempotent: what exists and matches is kept; a changed script or template is updated and approved again.
    With dry_run it only prints the plan.
    """

    task_options = {
        "mapping": {"description": "Mapping file (default ecbridge.yml)"},
        "dry_run": {"description": "Only print what would be created or updated (default False)"},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        self.mapping_path = Path(self.options.get("mapping") or "ecbridge.yml")
        self.dry_run = process_bool_arg(self.options.get("dry_run", False))

    def _run_task(self) -> None:
        from python_tasks.marketo import MarketoClient

        provisioner = OrderEmailProvisioner(load_mapping(self.mapping_path), self.mapping_path.name)
        with MarketoClient.from_project(self.project_config) as client:
            plan = provisioner.plan(client)
            for item in plan:
                self.logger.info(f"  {item}")
            done = plan if self.dry_run else provisioner.apply(client, plan)
            calls = client.counters().calls
        email = next((item for item in done if item.kind == "email" and item.asset_id), None)
        self.logger.info(
            f"{'Planned' if self.dry_run else 'Made'} {len(changes(done))} change(s); sample email id: "
            f"{email.asset_id if email else 'not created yet'}"
        )
        self.return_values = {
            "changes": [item.to_json() for item in changes(done)],
            "email_id": email.asset_id if email else None,
            "marketo_calls": calls,
            "dry_run": self.dry_run,
        }
