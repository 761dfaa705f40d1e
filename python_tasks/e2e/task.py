"""`ec_e2e_check`: prove the journey EC site -> Salesforce -> Marketo for one seeding run."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cumulusci.core.exceptions import CumulusCIException, TaskOptionsError
from cumulusci.core.utils import process_bool_arg
from cumulusci.tasks.salesforce import BaseSalesforceApiTask

from python_tasks.mapping import EmailMapping
from python_tasks.seed.receipt import LATEST_RUN_FILE, RECEIPT_NAME, read_receipt
from python_tasks.seed.schema import PayloadSchema, load_payload_schema

from .compare import Comparison, MarketoSnapshot, SalesforceSnapshot, compare_all
from .consent import compare_consent
from .emails import RenderedEmail, compare_emails, email_targets, render_emails
from .gather import SalesforceReader, duplicate_scenario, read_marketo, read_salesforce
from .journey import MARKETO_DAILY_QUOTA, journey
from .report import Report, summary_lines, write_report


class EndToEndMismatch(CumulusCIException):
    """The check found records that differ from what was sent (the report lists them one by one)."""


def resolve_run(reports_dir: Path, run_id: str | None) -> str:
    if run_id:
        return run_id
    latest = reports_dir / LATEST_RUN_FILE
    if not latest.exists():
        raise TaskOptionsError(f"no run_id given and {latest} does not exist: run seed_ec_data first")
    return latest.read_text(encoding="utf-8").strip()


class ECEndToEndCheck(BaseSalesforceApiTask):
    """Compare a seeding run's receipt with Salesforce and Marketo; write a JSON and HTML report."""

    task_docs = """
    Reads the receipt seed_ec_data wrote (reports_dir/<run_id>/seed-receipt.jsonl) and checks: every valid
    event is in Salesforce with its newest data; every invalid one is in EC_Ingest_Error__c with the expected
    code and field; every order is attached to its member; no member or order exists twice; every member and
    order reached Marketo with every mapped field equal to Salesforce; one Marketo person per email; the
    duplicate scenario's old persons were merged (not deleted) with their activities kept. Writes
    e2e-report.json and e2e-report.html next to the receipt and fails on any mismatch.
    """

    task_options = {
        "mapping": {"description": "Mapping file (default ecbridge.yml)"},
        "run_id": {"description": "Run to check (default: the latest seeded run in reports_dir)"},
        "reports_dir": {"description": "Folder with the runs' receipts (default reports/ecbridge)"},
        "check_marketo": {"description": "Also check Marketo (default True; needs the marketo service or MARKETO_* variables)"},
        "fail_on_mismatch": {"description": "Fail the task when anything differs (default True)"},
        "marketo_daily_quota": {"description": f"The Marketo subscription's daily API quota the report's gauge "
                                               f"measures against (default {MARKETO_DAILY_QUOTA})"},
        "check_email": {"description": "Render the sample order email for the sampled persons and check it (default True)"},
        "email_id": {"description": "Marketo email to render (default: the mapping's marketo.email.sample_email, by name)"},
        "email_sample": {"description": "Persons whose email is rendered: a number, or 0 for all (default 0)"},
        "email_co_limit": {"description": "Custom object records Marketo hands a script per person (default 10, Marketo's)"},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        self.mapping_path = Path(self.options.get("mapping") or "ecbridge.yml")
        self.reports_dir = Path(self.options.get("reports_dir") or "reports/ecbridge")
        self.check_marketo = process_bool_arg(self.options.get("check_marketo", True))
        self.fail_on_mismatch = process_bool_arg(self.options.get("fail_on_mismatch", True))
        self.marketo_daily_quota = int(self.options.get("marketo_daily_quota") or MARKETO_DAILY_QUOTA)
        self.check_email = process_bool_arg(self.options.get("check_email", True))
        self.email_id = int(self.options["email_id"]) if self.options.get("email_id") else None
        self.email_sample = int(self.options.get("email_sample") or 0)
        self.email_co_limit = int(self.options.get("email_co_limit") or 10)

    def _run_task(self) -> None:
        run_id = resolve_run(self.reports_dir, self.options.get("run_id"))
        run_dir = self.reports_dir / run_id
        receipt_path = run_dir / RECEIPT_NAME
        if not receipt_path.exists():
            raise TaskOptionsError(f"no receipt for run {run_id}: {receipt_path} does not exist")
        receipt = read_receipt(receipt_path)
        schema = load_payload_schema(self.mapping_path)
        undelivered = receipt.undelivered_event_ids()
        if undelivered:
            self.logger.warning(f"{len(undelivered)} events of run {run_id} were never answered by the endpoint")
        reader = SalesforceReader(self.sf)
        self.logger.info(f"Reading Salesforce for run {run_id} ({len(receipt.events)} planned events)")
        sf_snapshot = read_salesforce(reader, receipt.events, schema)
        duplicates = duplicate_scenario(receipt)
        marketo_snapshot = None
        email_check: EmailCheck | None = None
        marketo_calls: dict[str, Any] = {}
        notes: list[str] = []
        if self.check_marketo:
            from python_tasks.marketo import MarketoClient

            since = _parse_time(receipt.run.get("at")) - dt.timedelta(minutes=1)
            with MarketoClient.from_project(self.project_config) as client:
                self.logger.info(f"Reading Marketo at {client.base_url}")
                readout = read_marketo(client, sf_snapshot, schema, duplicates, since)
                if self.check_email:
                    email_check = self._render_emails(client, sf_snapshot, readout.snapshot, schema, run_id)
                counters = client.counters()
            marketo_snapshot, notes = readout.snapshot, readout.notes
            marketo_calls = {"check": counters.calls, **{f"check {k}": v for k, v in sorted(counters.calls_by_endpoint.items())}}
        comparison = compare_all(receipt.events, sf_snapshot, marketo_snapshot, schema, duplicates)
        compare_consent(receipt.events, receipt, sf_snapshot, marketo_snapshot, schema, comparison)
        email_preview = None
        if email_check is not None:
            email_preview = email_check.compare(comparison, sf_snapshot, marketo_snapshot, schema, self.email_co_limit)
            notes.extend(email_check.notes)
        for event_id in sorted(undelivered):
            comparison.add("seed.undelivered", event_id, "the endpoint never answered this event (see the receipt)")
        seed_calls = len(receipt.calls)
        daily = reader.daily_api_requests()
        api_calls: dict[str, Any] = {
            "salesforce": {
                "seed calls (attempts)": seed_calls,
                "seed calls answered 200": sum(1 for call in receipt.calls if call.get("httpStatus") == 200),
                "check calls": reader.calls,
                **({"org daily API requests used": daily["used"], "org daily API requests max": daily["max"]} if daily else {}),
            },
            "marketo": dict(marketo_calls),
        }
        for step, calls in flow_step_calls(getattr(self, "flow", None)).items():
            for side, count in calls.items():
                api_calls[side][f"{step} calls"] = count
        seed_marketo_calls = (receipt.summary.get("marketo") or {}).get("marketoCalls")
        if seed_marketo_calls is not None:
            api_calls["marketo"]["seed calls"] = seed_marketo_calls
        report = Report(
            run_id=run_id,
            comparison=comparison,
            api_calls=api_calls,
            seed_summary={k: v for k, v in receipt.summary.items() if k not in ("kind", "at")},
            journey=journey(receipt, comparison, api_calls, duplicates, marketo_checked=self.check_marketo,
                            marketo_daily_quota=self.marketo_daily_quota),
            sources={
                "receipt": str(receipt_path),
                "mapping": str(self.mapping_path),
                "salesforce": self.org_config.instance_url,
                "marketo checked": self.check_marketo,
                **{f"note {i + 1}": note for i, note in enumerate(notes)},
            },
            email_preview=email_preview,
        )
        json_path, html_path = write_report(report, run_dir)
        for line in summary_lines(report.to_json()):
            self.logger.info(line)
        self.logger.info(f"Report: {html_path} (JSON: {json_path})")
        self.return_values = {"ok": report.ok, "mismatches": len(comparison.mismatches), "report_json": str(json_path),
                              "report_html": str(html_path), "counts": dict(comparison.counts)}
        if not report.ok and self.fail_on_mismatch:
            first = "\n".join(f"  {m.check} {m.record}: {m.message}" for m in comparison.mismatches[:10])
            raise EndToEndMismatch(
                f"{len(comparison.mismatches)} mismatches in run {run_id} (all of them in {html_path}):\n{first}"
            )


    def _render_emails(self, client: Any, sf_snapshot: SalesforceSnapshot, marketo_snapshot: MarketoSnapshot,
                       schema: PayloadSchema, run_id: str) -> EmailCheck:
        """Ask Marketo for the sample email as each sampled person receives it (read-only calls)."""
        from python_tasks.mapping import load_mapping
        from python_tasks.marketo.emails import AssetApi

        check = EmailCheck(load_mapping(self.mapping_path).marketo.email)
        if check.spec is None:
            check.notes.append("the mapping has no marketo.email section: emails were not rendered")
            return check
        api = AssetApi(client)
        email_id = self.email_id
        if email_id is None:
            found = api.by_name("email", check.spec.sample_email)
            if found is None:
                check.missing = f"Marketo has no email named {check.spec.sample_email!r}: run provision_marketo_email or pass -o email_id"
                return check
            email_id = int(found["id"])
        targets = email_targets(sf_snapshot, marketo_snapshot, schema, self.email_sample, run_id)
        self.logger.info(f"Rendering email {email_id} for {len(targets)} persons")
        check.rendered = render_emails(api, email_id, targets)
        check.notes.append(f"email {email_id} rendered for {len(targets)} persons")
        return check


class EmailCheck:
    """The render check's inputs gathered with the Marketo client, compared once the rest is compared."""

    def __init__(self, spec: EmailMapping | None):
        self.spec = spec
        self.rendered: list[RenderedEmail] = []
        self.notes: list[str] = []
        self.missing: str | None = None

    def compare(self, comparison: Comparison, sf_snapshot: SalesforceSnapshot, marketo_snapshot: MarketoSnapshot | None,
                schema: PayloadSchema, co_limit: int) -> dict[str, Any] | None:
        if self.missing and self.spec is not None:
            comparison.add("marketo.email.missing", self.spec.sample_email, self.missing)
            return None
        if self.spec is None or marketo_snapshot is None:
            return None
        return compare_emails(self.rendered, sf_snapshot, marketo_snapshot, schema, self.spec, comparison, co_limit)


def flow_step_calls(flow: Any) -> dict[str, dict[str, int]]:
    """API calls the flow's earlier steps reported (push_marketo, marketo_dedupe), by step and side."""
    calls: dict[str, dict[str, int]] = {}
    for result in getattr(flow, "results", None) or []:
        values = getattr(result, "return_values", None) or {}
        if not isinstance(values, dict):
            continue
        sides = {"marketo": values.get("marketo_calls"), "salesforce": values.get("salesforce_calls")}
        counted = {side: int(count) for side, count in sides.items() if isinstance(count, int)}
        if counted:
            step = f"{result.task_name} (step {result.step_num})"
            calls[step] = counted
    return calls


def _parse_time(value: Any) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    return dt.datetime.fromisoformat(str(value))
