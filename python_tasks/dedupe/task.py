"""``cci task run marketo_dedupe``: find duplicate Marketo persons, plan, and (with apply) merge or mark."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.tasks import BaseTask
from cumulusci.core.utils import process_bool_arg

from python_tasks.dedupe.apply import PlanApplier
from python_tasks.dedupe.cluster_record import (ClusterRecord, ClusterRecordBusy, RecordContents, RecordedCluster,
                                                normalise_instance)
from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.extract_scan import ExtractUnavailable, extract_persons
from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead
from python_tasks.dedupe.activity import count_activities
from python_tasks.dedupe.decisions import SKIP, ReviewedPlanError, read_reviewed_plan, split_by_review
from python_tasks.dedupe.plan import MERGE, POLICIES, ConsentFields, make_plan, write_csv
from python_tasks.dedupe.plan_page import write_html
from python_tasks.dedupe.scan import scan_persons
from python_tasks.dedupe.settled import GONE, MERGED, ScannedIds, settled_clusters
from python_tasks.dedupe.winner import WinnerRule, WinnerRuleError
from python_tasks.mapping import MappingError, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentialsMissing, MarketoError


def read_push_clusters(path: Path, instance: str) -> tuple[list[RecordedCluster], RecordContents]:
    """The clusters push_marketo recorded against ``instance`` (a base URL), and the whole record
    (a missing file means none)."""
    contents = ClusterRecord(path).read()
    return contents.of_instance(normalise_instance(instance)), contents


class MarketoDedupe(BaseTask):
    task_docs = """
Scans every Marketo person, groups duplicates by normalised email (trimmed, lower case, full-width
to half-width; optionally also by the EC member key), picks a winner per cluster (default: synced
with a Salesforce contact > synced with a Salesforce lead > Marketo-only; ties to the most recently
updated) and writes a plan (CSV and HTML). Dry run by default. With ``apply`` it merges the losers
into the winner through the merge API (history moves to the winner; nobody is deleted), or with
``policy: mark`` flags Marketo-only losers with ``ecbSupersededBy`` so pushes and smart lists
route around them. Every action is a JSON line in the audit log with before and after.
The clusters push_marketo recorded against the Marketo instance being deduped join their persons
while those still carry the recorded identity key; an applied run then drops from that record the
clusters it merged and those whose persons are gone, and keeps the rest (and other instances').
"""

    task_options = {
        "apply": {"description": "Carry out the plan (default False: dry run, plan only)."},
        "policy": {"description": "merge (default) or mark."},
        "winner_rule": {"description": "Origin order and tie break, e.g. contact>lead>marketo_only;updated "
                                       "(default). Tie breaks: updated, created, id."},
        "by_member_key": {"description": "Also cluster persons sharing the EC member key (default False)."},
        "member_key_field": {"description": "Marketo field holding the member key (default: from the mapping)."},
        "merge_in_crm": {"description": "Pass mergeInCRM=true to Marketo (default False)."},
        "mapping": {"description": "The mapping file (default ecbridge.yml)."},
        "output_dir": {"description": "Where plan.csv, plan.html and audit.jsonl go (default reports/dedupe)."},
        "scan_method": {"description": "extract (Marketo's bulk lead extract: createdAt windows of 31 days, every "
                                       "person in a few calls), ids (read by id windows of 300) or auto (default: "
                                       "extract, else ids when the instance has no bulk extract)."},
        "extract_since": {"description": "Extract persons created since this ISO date (default: the oldest person "
                                         "among ids 1-300, else 2006-01-01)."},
        "extract_poll_seconds": {"description": "Seconds between extract status polls after the first (default 60, "
                                                "Adobe's advice); the first poll comes after 5 s or this, if less."},
        "start_id": {"description": "First lead id to scan (default 1)."},
        "end_id": {"description": "Last lead id to scan (default: until scan_gap empty windows)."},
        "scan_gap": {"description": "Stop after this many empty 300-id windows (default 20)."},
        "push_clusters": {"description": "Clusters push_marketo recorded (JSON lines) to include; only those of "
                                         "the Marketo instance deduped are read, and an applied run drops the "
                                         "ones it merged or whose persons are gone "
                                         "(default .ecbridge/push_duplicate_clusters.jsonl, if present)."},
        "reviewed_plan": {"description": "A plan.csv a reviewer gave back: with apply, clusters whose decision is "
                                         "skip, and clusters new or changed since that plan, are skipped "
                                         "(default: none, every cluster is applied)."},
        "count_activities": {"description": "Count each clustered person's activities for the plan page "
                                             "(default True; costs one read per 30 persons and 10 types)."},
        "calls_per_window": {"description": "Marketo calls per 20 s (default 50)."},
        "max_in_flight": {"description": "Marketo calls in flight at once (default 5)."},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        o = self.options
        self.apply = process_bool_arg(o.get("apply") or False)
        self.policy = str(o.get("policy") or MERGE).strip().lower()
        if self.policy not in POLICIES:
            raise TaskOptionsError(f"policy {self.policy!r} is not one of {', '.join(POLICIES)}")
        try:
            self.rule = WinnerRule.parse(o.get("winner_rule"))
        except WinnerRuleError as error:
            raise TaskOptionsError(str(error)) from None
        self.by_member_key = process_bool_arg(o.get("by_member_key") or False)
        self.merge_in_crm = process_bool_arg(o.get("merge_in_crm") or False)
        self.output_dir = Path(o.get("output_dir") or "reports/dedupe")
        self.start_id = int(o.get("start_id") or 1)
        self.end_id = int(o["end_id"]) if o.get("end_id") not in (None, "") else None
        self.scan_gap = int(o.get("scan_gap") or 20)
        self.scan_method = str(o.get("scan_method") or "auto").strip().lower()
        if self.scan_method not in ("auto", "extract", "ids"):
            raise TaskOptionsError(f"scan_method {self.scan_method!r} is not one of auto, extract, ids")
        since = o.get("extract_since")
        try:
            self.extract_since = (dt.datetime.fromisoformat(str(since).replace("Z", "+00:00")) if since else None)
        except ValueError:
            raise TaskOptionsError(f"extract_since {since!r} is not an ISO date") from None
        if self.extract_since is not None and self.extract_since.tzinfo is None:
            self.extract_since = self.extract_since.replace(tzinfo=dt.timezone.utc)
        self.poll_seconds = float(o.get("extract_poll_seconds") or 60)
        self.mapping_path = Path(o.get("mapping") or "ecbridge.yml")
        self.member_key_field = o.get("member_key_field")
        self.push_clusters = Path(o.get("push_clusters") or ".ecbridge/push_duplicate_clusters.jsonl")
        self.reviewed_plan = Path(o["reviewed_plan"]) if o.get("reviewed_plan") else None
        self.count_activities = process_bool_arg(o.get("count_activities", True))
        try:
            self.reviewed = read_reviewed_plan(self.reviewed_plan) if self.reviewed_plan else None
        except ReviewedPlanError as error:
            raise TaskOptionsError(str(error)) from None
        self.client_options = {"calls_per_window": int(o.get("calls_per_window") or 50),
                               "max_in_flight": int(o.get("max_in_flight") or 5)}

    def _consent_fields(self) -> ConsentFields | None:
        """The Marketo consent fields of the mapping's consent section (None without one)."""
        try:
            consent = load_mapping(self.mapping_path).consent
        except MappingError:
            return None
        return ConsentFields(consent.unsubscribed, consent.unsubscribed_reason) if consent is not None else None

    def _member_key_field(self) -> str | None:
        if self.member_key_field:
            return str(self.member_key_field)
        try:
            mapping = load_mapping(self.mapping_path)
        except MappingError:
            return None
        return next((f.name for f in mapping.marketo.lead.fields
                     if f.source.scope == "member" and f.source.field == mapping.member.key_field), None)

    def _recorded_clusters(self, base_url: str) -> list[RecordedCluster]:
        """The recorded clusters of the instance deduped; says what else the record holds."""
        recorded, contents = read_push_clusters(self.push_clusters, base_url)
        if contents.legacy:
            self.logger.warning(
                f"{contents.legacy} clusters in {self.push_clusters} were recorded without their Marketo instance "
                "(by an older push_marketo) and are ignored: their ids may belong to another instance. They are "
                "left in the file; the next push records again, with its instance, any that still exist.")
        if contents.unreadable:
            self.logger.warning(f"{contents.unreadable} lines of {self.push_clusters} are not recorded clusters "
                                "(not JSON objects with key and candidates) and are ignored; they are left in the file")
        others = contents.other_instances(normalise_instance(base_url))
        if recorded or others:
            self.logger.info(f"Clusters recorded by push_marketo: {len(recorded)} of this instance read"
                             + (f", {others} of other Marketo instances left alone" if others else ""))
        return recorded

    def _drop_settled(self, settled: dict[Any, str], read: int) -> int:
        """Drop from the record the clusters this run settled; the others (and any recorded since) stay."""
        if not settled:
            if read:
                self.logger.info(f"Clusters recorded by push_marketo: all {read} kept (none merged or gone)")
            return 0
        dropped = ClusterRecord(self.push_clusters).drop(settled)
        merged = sum(1 for why in settled.values() if why == MERGED)
        gone = sum(1 for why in settled.values() if why == GONE)
        self.logger.info(f"Clusters recorded by push_marketo: {dropped} dropped from {self.push_clusters} "
                         f"({merged} merged, {gone} whose persons are gone), {read - len(settled)} kept")
        return dropped

    def _scan(self, client: MarketoClient, fields: list[str], member_key: str | None,
              recorded: list[RecordedCluster]) -> tuple[list[Any], list[int], str]:
        """Every person, by bulk extract (the whole instance) or by id windows; says which."""
        from rich.progress import Progress, TextColumn, TimeElapsedColumn

        if self.scan_method in ("auto", "extract"):
            with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
                job = bar.add_task("Extracting persons")
                try:
                    scan = extract_persons(
                        client, fields, since=self.extract_since, poll_seconds=self.poll_seconds,
                        first_poll_seconds=min(5.0, self.poll_seconds),
                        progress=lambda done, total, found: bar.update(
                            job, description=f"Extracted {found} persons ({done} of {total} windows)"))
                except ExtractUnavailable as error:
                    if self.scan_method == "extract":
                        raise CumulusCIFailure(f"Marketo has no bulk lead extract here: {error}") from None
                    self.logger.warning(f"Bulk lead extract unavailable ({error}); scanning by id windows instead")
                else:
                    method = (f"bulk lead extract: persons created {scan.since:%Y-%m-%d %H:%M:%S} to "
                              f"{scan.until:%Y-%m-%d %H:%M:%S} UTC, {scan.windows} createdAt windows of at most "
                              f"31 days, {scan.jobs} jobs, {scan.bytes:,} bytes of the daily export quota")
                    self.logger.info(f"Scan: {method}")
                    persons = [person_from_lead(row, member_key) for row in scan.rows]
                    # the whole instance was read: a recorded id not found is gone, whatever its value
                    return persons, [1, sys.maxsize], method
        covered = [max(1, self.start_id), max(1, self.start_id) - 1]  # the ids the scan covered
        with Progress(TextColumn("{task.description}"), TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task("Scanning persons")

            def scanned_to(count: int, last: int) -> None:
                covered[1] = last
                bar.update(task, description=f"Scanned {count} persons (ids to {last})")

            persons = [person_from_lead(row, member_key) for row in scan_persons(
                client, fields, start_id=self.start_id, end_id=self.end_id, gap=self.scan_gap,
                at_least=max((i for c in recorded for i in c.candidates), default=0), progress=scanned_to)]
        method = f"id windows of 300: ids {covered[0]} to {covered[1]}"
        if self.end_id is None:
            method += (f", stopped after {self.scan_gap} empty windows; persons beyond a longer run of missing ids "
                       "are not read (give end_id or scan_gap, or use the bulk extract)")
        self.logger.info(f"Scan: {method}")
        return persons, covered, method

    def _run_task(self) -> None:
        member_key = self._member_key_field()
        fields = list(PERSON_FIELDS) + ([member_key] if member_key and member_key not in PERSON_FIELDS else [])
        consent = self._consent_fields()
        fields += [f for f in ((consent.unsubscribed, consent.reason) if consent else ()) if f not in fields]
        if self.by_member_key and not member_key:
            raise TaskOptionsError("by_member_key needs member_key_field (or a mapping with a member key lead field)")
        try:
            client = MarketoClient.from_project(self.project_config, **self.client_options)
        except MarketoCredentialsMissing as error:
            raise TaskOptionsError(str(error)) from None
        try:
            recorded = self._recorded_clusters(client.base_url)
            persons, covered, method = self._scan(client, fields, member_key, recorded)
            links = [(c.key, list(c.candidates)) for c in recorded]
            clusters = find_clusters(persons, self.rule, by_member_key=self.by_member_key, links=links)
            plan = make_plan(clusters, self.policy, consent)
            carried = [p for p in plan if p.carry]
            if carried:
                self.logger.info(f"Consent: {len(carried)} winners take the opt-out of an unsubscribed duplicate "
                                 "(Marketo's merge would keep the winner's subscription)")
            decisions = {k: SKIP for k, r in (self.reviewed or {}).items() if r.skip}
            activities = (count_activities(client, [i for c in clusters for i in c.ids])
                          if self.count_activities else None)
            csv_path = write_csv(plan, self.output_dir / "plan.csv", decisions)
            html_path = write_html(plan, self.output_dir / "plan.html", activities=activities, decisions=decisions,
                                   note=method)
            self.logger.info(f"Scanned {len(persons)} persons: {len(clusters)} duplicate clusters holding "
                             f"{sum(len(c.persons) for c in clusters)} persons (rule {self.rule})")
            self.logger.info(f"Plan written to {csv_path} and {html_path}")
            values: dict[str, Any] = {
                "persons_scanned": len(persons), "clusters": len(clusters),
                "persons_in_clusters": sum(len(c.persons) for c in clusters),
                "policy": self.policy, "plan_csv": str(csv_path), "plan_html": str(html_path), "scan": method,
                "applied": self.apply, "push_clusters_read": len(recorded), "push_clusters_dropped": 0,
                "opt_outs_carried": len(carried),
            }
            if self.apply:
                audit = self.output_dir / "audit.jsonl"
                applier = PlanApplier(client, audit, fields, merge_in_crm=self.merge_in_crm)
                if self.reviewed is not None:
                    todo, skipped = split_by_review(plan, self.reviewed)
                    for item in skipped:
                        self.logger.info(f"  {item.planned.key}: skipped, {item.reason}")
                    applier.skip([(item.planned, item.reason) for item in skipped])
                else:
                    todo, skipped = list(plan), []
                report = applier.apply(todo)
                for outcome in report.outcomes:
                    if outcome.result == "failed":
                        self.logger.error(f"  {outcome.key}: {outcome.detail}")
                values.update({
                    "merged": report.count("merged"), "marked": report.count("marked"),
                    "skipped": report.count("skipped"), "failed": report.count("failed"),
                    "merge_calls": report.merge_calls, "audit_log": str(audit),
                    "skipped_by_review": len(skipped),
                })
                self.logger.info(f"Applied ({self.policy}): {values['merged']} merged, {values['marked']} marked, "
                                 f"{values['skipped'] - len(skipped)} already done, {len(skipped)} skipped by the review, "
                                 f"{values['failed']} failed; audit log {audit}")
                scanned = ScannedIds(covered[0], covered[1], {p.id: p for p in persons})
                values["push_clusters_dropped"] = self._drop_settled(
                    settled_clusters(recorded, scanned, plan, report.outcomes), len(recorded))
                if report.stopped:
                    raise CumulusCIFailure(f"dedupe stopped early: {report.stopped}")
            else:
                self.logger.info("Dry run: nothing changed in Marketo (apply: True carries out the plan)")
            values["marketo_calls"] = client.counters().calls
            self.return_values = values
        except MarketoError as error:
            raise CumulusCIFailure(f"Marketo: {error}") from None
        except ClusterRecordBusy as error:
            raise CumulusCIFailure(str(error)) from None
        finally:
            client.close()
