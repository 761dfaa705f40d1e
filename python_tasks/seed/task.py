"""`seed_ec_data`: generate Japanese EC traffic and deliver it to the org's EC endpoint like an EC site."""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from cumulusci.core.exceptions import TaskOptionsError
from cumulusci.core.utils import process_bool_arg
from cumulusci.tasks.salesforce import BaseSalesforceApiTask
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .events import PlannedEvent, build_events
from .invalid import build_invalid_events
from .plan import MAX_EVENTS_PER_CALL, Batch, plan_deliveries
from .receipt import LATEST_RUN_FILE, RECEIPT_NAME, ReceiptWriter
from .recipe import DEFAULT_RECIPE, run_recipe
from .schema import load_payload_schema
from .sender import DeliveryError, EventSender, SendOutcome, TokenSource


def new_run_id() -> str:
    """A short tag, unique per second, that keeps one run's keys and emails apart from another's."""
    now = dt.datetime.now(dt.timezone.utc)
    return "s" + now.strftime("%y%m%d%H%M%S")


def orders_ahead_of_members(events: list[PlannedEvent], outcome: SendOutcome) -> int:
    """How many orders the endpoint answered before it answered their member's registration."""
    member_answer = {
        planned.key: outcome.answered_at.get(planned.event.id) for planned in events if planned.scenario == "member"
    }
    ahead = 0
    for planned in events:
        if planned.scenario != "order" or planned.member_key not in member_answer:
            continue
        order_at = outcome.answered_at.get(planned.event.id)
        member_at = member_answer[planned.member_key]
        if order_at is not None and member_at is not None and order_at < member_at:
            ahead += 1
    return ahead


class SeedECData(BaseSalesforceApiTask):
    """Generate EC data with Snowfakery and POST it to /services/apexrest/ecbridge/v1/events."""

    task_docs = """
    Runs the Snowfakery recipe (datasets/ec_japan.recipe.yml) in-process, turns members and orders into
    EC events and delivers them with several concurrent senders: orders shuffled ahead of their members,
    register-and-buy shoppers in one call, a share of events delivered twice, some deliberately invalid
    events. Writes a receipt (JSON lines) of every event and every answer under reports_dir/<run_id>/,
    which ec_e2e_check reads. Persons of the duplicate scenario are seeded into Marketo first (as a form
    fill would create them) when a Marketo is configured.
    """

    task_options = {
        "mapping": {"description": "Mapping file (default ecbridge.yml)"},
        "recipe": {"description": f"Snowfakery recipe (default {DEFAULT_RECIPE.name} in datasets/)"},
        "members": {"description": "Number of members to generate (default 100)"},
        "orders_per_member": {"description": "Average orders per member (default 2)"},
        "lines_per_order": {"description": "Average order lines per order (default 2)"},
        "register_and_buy_share": {"description": "Share of members who register and buy in one call (default 0.3)"},
        "marketo_only_share": {
            "description": "Share of members who already exist in Marketo as Marketo-only persons (default 0.1)"
        },
        "update_share": {"description": "Share of members and orders that get a later update event (default 0.1)"},
        "duplicate_share": {"description": "Share of valid events delivered a second time (default 0.1)"},
        "invalid_events": {"description": "Number of deliberately invalid events (default 9, one of each kind)"},
        "senders": {"description": "Concurrent senders (threads) (default 4)"},
        "batch_size": {"description": f"Events per call, at most {MAX_EVENTS_PER_CALL} (default 200)"},
        "max_attempts": {"description": "Attempts per call on 5xx, timeouts and broken connections (default 5)"},
        "timeout": {"description": "Seconds to wait for one call (default 120)"},
        "run_id": {"description": "Tag for this run's keys, emails and report folder (default: s<UTC timestamp>)"},
        "reports_dir": {"description": "Folder for receipts and reports (default reports/ecbridge)"},
        "random_seed": {"description": "Seed for shuffling and event choices (default: random)"},
        "seed_marketo": {
            "description": "Create the duplicate scenario's Marketo-only persons in Marketo (default True; "
            "skipped with a warning when no Marketo is configured)"
        },
        "simulate_crm_sync": {
            "description": "After delivery, create CRM-synced persons for the duplicate scenario's members as "
            "Marketo's native Salesforce sync would (local Marketo only; default True)"
        },
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        o = self.options
        self.mapping_path = Path(o.get("mapping") or "ecbridge.yml")
        self.recipe_path = Path(o.get("recipe") or DEFAULT_RECIPE)
        self.members = self._int("members", 100, minimum=1)
        self.orders_per_member = self._int("orders_per_member", 2, minimum=0)
        self.lines_per_order = self._int("lines_per_order", 2, minimum=1)
        self.register_and_buy_share = self._share("register_and_buy_share", 0.3)
        self.marketo_only_share = self._share("marketo_only_share", 0.1)
        self.update_share = self._share("update_share", 0.1)
        self.duplicate_share = self._share("duplicate_share", 0.1)
        self.invalid_events = self._int("invalid_events", 9, minimum=0)
        self.senders = self._int("senders", 4, minimum=1)
        self.batch_size = self._int("batch_size", MAX_EVENTS_PER_CALL, minimum=1)
        if self.batch_size > MAX_EVENTS_PER_CALL:
            raise TaskOptionsError(f"batch_size is at most {MAX_EVENTS_PER_CALL} (the endpoint answers 413 above)")
        self.max_attempts = self._int("max_attempts", 5, minimum=1)
        self.timeout = float(o.get("timeout") or 120)
        self.run_id = str(o.get("run_id") or new_run_id())
        self.reports_dir = Path(o.get("reports_dir") or "reports/ecbridge")
        self.random_seed = o.get("random_seed")
        self.seed_marketo = process_bool_arg(o.get("seed_marketo", True))
        self.simulate_crm_sync = process_bool_arg(o.get("simulate_crm_sync", True))

    def _int(self, name: str, default: int, *, minimum: int) -> int:
        raw = self.options.get(name)
        try:
            value = default if raw in (None, "") else int(raw)
        except (TypeError, ValueError) as error:
            raise TaskOptionsError(f"{name} must be a whole number, not {raw!r}") from error
        if value < minimum:
            raise TaskOptionsError(f"{name} must be at least {minimum}, not {value}")
        return value

    def _share(self, name: str, default: float) -> float:
        raw = self.options.get(name)
        try:
            value = default if raw in (None, "") else float(raw)
        except (TypeError, ValueError) as error:
            raise TaskOptionsError(f"{name} must be a share between 0 and 1, not {raw!r}") from error
        if not 0.0 <= value <= 1.0:
            raise TaskOptionsError(f"{name} must be between 0 and 1, not {value}")
        return value

    def _refresh_token(self) -> str:
        self.org_config.refresh_oauth_token(self.project_config.keychain)
        return self.org_config.access_token

    def _run_task(self) -> None:
        rng = random.Random(self.random_seed)
        run_dir = self.reports_dir / self.run_id
        schema = load_payload_schema(self.mapping_path)
        self.logger.info(f"Generating {self.members} members with {self.recipe_path} (run {self.run_id})")
        data = run_recipe(
            self.recipe_path,
            {
                "members": self.members,
                "orders_per_member": self.orders_per_member,
                "lines_per_order": self.lines_per_order,
                "register_and_buy_share": self.register_and_buy_share,
                "marketo_only_share": self.marketo_only_share,
                "run_id": self.run_id,
            },
        )
        event_set = build_events(data, schema, run_id=self.run_id, update_share=self.update_share, rng=rng)
        invalid = build_invalid_events(event_set.events, schema, run_id=self.run_id, count=self.invalid_events, rng=rng)
        events = event_set.events + invalid
        batches = plan_deliveries(
            events, run_id=self.run_id, batch_size=self.batch_size, duplicate_share=self.duplicate_share, rng=rng
        )
        receipt_path = run_dir / RECEIPT_NAME
        if receipt_path.exists():
            raise TaskOptionsError(f"{receipt_path} exists: run {self.run_id} was seeded already; pick another run_id")
        with ReceiptWriter(receipt_path) as receipt:
            receipt.write(
                "run",
                runId=self.run_id,
                instanceUrl=self.org_config.instance_url,
                mapping=str(self.mapping_path),
                recipe=str(self.recipe_path),
                options={name: self.options.get(name) for name in self.task_options if name in self.options},
                members=len(data.members),
                orders=len(data.orders),
                lines=len(data.lines),
            )
            for planned in events:
                receipt.write("event", planned=planned.to_json())
            marketo_summary = self._seed_marketo_persons(data, receipt)
            outcome = self._deliver(batches, receipt)
            crm_summary = self._simulate_crm_sync(data, schema, receipt)
            ahead = orders_ahead_of_members(events, outcome)
            redelivered = sum(len(batch.redelivered_ids) for batch in batches)
            summary = {
                "runId": self.run_id,
                "members": len(data.members),
                "orders": len(data.orders),
                "lines": len(data.lines),
                "events": len(events),
                "invalidEvents": len(invalid),
                "redeliveries": redelivered,
                "calls": outcome.calls,
                "attempts": outcome.attempts,
                "retries": outcome.retries,
                "statuses": outcome.statuses,
                "ordersAnsweredBeforeTheirMember": ahead,
                "registerAndBuy": sum(1 for planned in events if planned.register_and_buy),
                "failedCalls": outcome.failed_batches,
                "seconds": round(outcome.seconds, 2),
                "marketo": marketo_summary,
                "crmSync": crm_summary,
            }
            receipt.write("summary", **summary)
        (self.reports_dir / LATEST_RUN_FILE).write_text(self.run_id + "\n", encoding="utf-8")
        self.return_values = {**summary, "receipt": str(receipt_path)}
        rate = len(events) / outcome.seconds if outcome.seconds else 0.0
        self.logger.info(
            f"Sent {len(events)} events (+{redelivered} second deliveries) in {outcome.calls} calls "
            f"({outcome.retries} retries) in {outcome.seconds:.1f} s, {rate:.0f} events/s; answers: {outcome.statuses}"
        )
        self.logger.info(f"Orders answered before their member: {ahead}; receipt: {receipt_path}")
        if outcome.failed_batches:
            lines = "\n".join(f"  {batch}: {error}" for batch, error in sorted(outcome.failed_batches.items()))
            raise DeliveryError(
                f"{len(outcome.failed_batches)} calls were never answered after {self.max_attempts} attempts "
                f"(their events are listed in {receipt_path}):\n{lines}"
            )

    def _deliver(self, batches: list[Batch], receipt: ReceiptWriter) -> SendOutcome:
        with Progress(
            TextColumn("[bold]EC events"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("calls"),
            TimeElapsedColumn(),
            transient=False,
        ) as progress:
            bar = progress.add_task("deliver", total=len(batches))
            sender = EventSender(
                self.org_config.instance_url,
                TokenSource(get=lambda: self.org_config.access_token, refresh=self._refresh_token),
                receipt,
                senders=self.senders,
                timeout=self.timeout,
                max_attempts=self.max_attempts,
                on_call_done=lambda batch: progress.advance(bar),
            )
            return sender.send(batches)

    def _seed_marketo_persons(self, data: Any, receipt: ReceiptWriter) -> dict[str, Any]:
        if not self.seed_marketo or not data.marketo_only_persons:
            return {"marketoOnlyPersons": 0, "skipped": "nothing to seed" if self.seed_marketo else "seed_marketo off"}
        from python_tasks.marketo import MarketoCredentialsMissing

        from .marketo_seed import seed_marketo_only_persons

        try:
            return seed_marketo_only_persons(self.project_config, data, receipt, logger=self.logger)
        except MarketoCredentialsMissing as error:
            self.logger.warning(f"No Marketo configured ({error}): the duplicate scenario's persons are not seeded")
            return {"marketoOnlyPersons": 0, "skipped": f"no Marketo: {error}"}

    def _simulate_crm_sync(self, data: Any, schema: Any, receipt: ReceiptWriter) -> dict[str, Any]:
        if not self.simulate_crm_sync or not data.marketo_only_persons:
            return {"crmSyncedPersons": 0}
        from python_tasks.marketo import MarketoCredentialsMissing

        from .marketo_seed import simulate_crm_sync

        try:
            return simulate_crm_sync(self.project_config, self.sf, data, schema, receipt, logger=self.logger)
        except MarketoCredentialsMissing as error:
            return {"crmSyncedPersons": 0, "skipped": f"no Marketo: {error}"}


__all__ = ["SeedECData", "new_run_id", "orders_ahead_of_members"]
