"""``cci task run push_marketo``: the CumulusCI task over :class:`python_tasks.push.runner.PushRun`."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.utils import process_bool_arg
from cumulusci.tasks.salesforce import BaseSalesforceApiTask

from python_tasks.dedupe.cluster_record import ClusterRecordBusy
from python_tasks.dedupe.winner import WinnerRule, WinnerRuleError
from python_tasks.mapping import MappingError, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentialsMissing, MarketoError
from python_tasks.push.cache import PushCache
from python_tasks.push.changes import DEFAULT_BULK_THRESHOLD, DEFAULT_OVERLAP
from python_tasks.push.consent_readback import (
    DEFAULT_FIRST_LOOKBACK,
    ReadbackFields,
    ReadbackResult,
    read_back_unsubscribes,
)
from python_tasks.push.lock import PushAlreadyRunning, RunLock
from python_tasks.push.runner import PushOptions, PushRun, PushSummary
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import merge_describes
from python_tasks.push.state import parse_duration
from python_tasks.push.views import merge_summaries, push_views
from python_tasks.push.stream import StopOnSignals, StreamError, StreamingPush, settings_from

DEFAULT_WATCH_SECONDS = 60
CUMULUSCI_ORG_READS = 1  # GET sobjects/Organization/<id> when CumulusCI refreshes the org's token


class PushMarketo(BaseSalesforceApiTask):
    task_docs = """
Pushes the mapped member and order fields from Salesforce to Marketo: persons first (found by the
mapping's lookup field and normalised email before anything is created), then one custom object
record per order (deduplicated on the order number, linked to the person), then the person's
order-derived fields. Each member and order gets its Marketo id, pushed-at time and any error
written back. Only records changed since their last good push are sent, unless ``full`` is set.
Orders whose member has not arrived are listed as waiting, with their age.
"""

    task_options = {
        "mapping": {"description": "The mapping file (default ecbridge.yml)."},
        "full": {"description": "Push every member and order, not only what changed (default False)."},
        "watch": {"description": "Keep running and push what changed every N seconds: True for every "
                                 f"{DEFAULT_WATCH_SECONDS} s, or a number of seconds; or `stream`: push what "
                                 "Change Data Capture events name, within about a second (Pub/Sub API; see "
                                 "README). Stop with Ctrl-C or SIGTERM."},
        "pubsub_endpoint": {"description": "With watch stream: the Pub/Sub API host:port (default "
                                           "$SF_PUBSUB_ENDPOINT, else Salesforce's api.pubsub.salesforce.com:7443)."},
        "stream_batch_seconds": {"description": "With watch stream: gather events at most this long (default 1)."},
        "stream_batch_records": {"description": "With watch stream: or until this many records (default 300)."},
        "max_cycles": {"description": "With watch: stop after this many pushes (with watch stream: streamed "
                                      "batches; default: run until stopped)."},
        "waiting_older_than": {"description": "List only waiting orders older than this (e.g. 30m, 2h, 1d)."},
        "chunk_size": {"description": "Persons per chunk: one Marketo call per phase (default 300)."},
        "timezone": {"description": "Time zone for Salesforce datetimes sent to Marketo date fields (default UTC)."},
        "winner_rule": {"description": "Rule picking the person to write when a lookup matches several "
                                       "(default contact>lead>marketo_only;updated, as marketo_dedupe)."},
        "calls_per_window": {"description": "Marketo calls per 20 s this push may use (default 50, Adobe's advice)."},
        "max_in_flight": {"description": "Marketo calls in flight at once (default 5)."},
        "state_dir": {"description": "Directory for the run lock, the watermark and retry set, and the duplicate "
                                     "clusters file (default .ecbridge)."},
        "overlap": {"description": "How far before the watermark each run reads again, for transactions that "
                                   "commit late (default 5m; e.g. 90s, 10m)."},
        "bulk_threshold": {"description": "Rows of one object above which a full read uses Bulk API 2.0 "
                                          f"(default {DEFAULT_BULK_THRESHOLD:,})."},
        "marketo_method": {"description": "How to write Marketo: auto (REST sync, or bulk import where it saves "
                                          "calls: a large first push; see README), rest or bulk."},
        "daily_allocation": {"description": "Marketo calls a day the instance allows (default 50,000): the "
                                            "estimate said before a push is measured against it."},
        "consent_readback": {"description": "Before each push (each cycle, streamed batch and idle tick of a "
                                            "watch), read unsubscribes made in Marketo and opt the members out in "
                                            "Salesforce (default: on when the mapping declares consent)."},
        "consent_opt_out_field": {"description": "The member's Salesforce opt-out field the read-back sets (default "
                                                 "HasOptedOutOfEmail; PersonHasOptedOutOfEmail for Person Accounts)."},
        "consent_reason_field": {"description": "The member's Salesforce field for the unsubscribe reason (default "
                                                "Marketo_Unsubscribe_Reason__c; `none` writes no reason)."},
        "consent_readback_since": {"description": "How far back the first read-back (no paging token yet) starts "
                                                  "(default 30d)."},
        "consent_readback_seconds": {"description": "With watch stream: read back at least this often while no "
                                                    "event arrives (default 60)."},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        opts = self.options
        self.mapping_path = Path(opts.get("mapping") or "ecbridge.yml")
        self.full = process_bool_arg(opts.get("full") or False)
        watch = opts.get("watch")
        self.stream = str(watch).strip().lower() == "stream"
        if self.stream:
            self.watch_seconds = None
        elif watch in (None, "", False, "False", "false", "0", 0):
            self.watch_seconds = None
        elif watch in (True, "True", "true"):
            self.watch_seconds = DEFAULT_WATCH_SECONDS
        else:
            try:
                self.watch_seconds = float(watch)
            except (TypeError, ValueError):
                raise TaskOptionsError(f"watch: {watch!r} is neither True/False nor a number of seconds") from None
            if self.watch_seconds <= 0:
                raise TaskOptionsError("watch: the interval must be a positive number of seconds")
        self.max_cycles = int(opts["max_cycles"]) if opts.get("max_cycles") not in (None, "") else None
        try:
            self.waiting_older_than = parse_duration(opts.get("waiting_older_than"))
            self.winner_rule = WinnerRule.parse(opts.get("winner_rule"))
        except (ValueError, WinnerRuleError) as error:
            raise TaskOptionsError(str(error)) from None
        self.chunk_size = int(opts.get("chunk_size") or 300)
        if not 1 <= self.chunk_size <= 300:
            raise TaskOptionsError("chunk_size must be 1..300 (Marketo takes at most 300 records a call)")
        self.push_options = PushOptions(
            full=self.full, chunk_size=self.chunk_size,
            tz=str(opts.get("timezone") or "UTC"), winner_rule=self.winner_rule,
        )
        try:
            self.push_options.overlap = parse_duration(opts.get("overlap")) or DEFAULT_OVERLAP
        except ValueError as error:
            raise TaskOptionsError(f"overlap: {error}") from None
        self.push_options.bulk_threshold = int(opts.get("bulk_threshold") or DEFAULT_BULK_THRESHOLD)
        method = str(opts.get("marketo_method") or "auto").strip().lower()
        if method not in ("auto", "rest", "bulk"):
            raise TaskOptionsError(f"marketo_method: {method!r} is not one of auto, rest, bulk")
        self.push_options.marketo_method = method
        self.push_options.daily_allocation = int(opts.get("daily_allocation") or 50_000)
        self.state_dir = Path(opts.get("state_dir") or ".ecbridge")
        self.push_options.clusters_file = self.state_dir / "push_duplicate_clusters.jsonl"
        self.client_options = {
            "calls_per_window": int(opts.get("calls_per_window") or 50),
            "max_in_flight": int(opts.get("max_in_flight") or 5),
        }
        readback = opts.get("consent_readback")
        self.consent_readback = None if readback in (None, "") else process_bool_arg(readback)
        reason = opts.get("consent_reason_field")
        # "" keeps the default reason field; `none` writes no reason
        self.consent_reason_field = None if str(reason or "").strip().lower() == "none" else (reason or "")
        self.consent_opt_out_field = opts.get("consent_opt_out_field") or None
        try:
            self.consent_readback_since = parse_duration(opts.get("consent_readback_since")) or DEFAULT_FIRST_LOOKBACK
        except ValueError as error:
            raise TaskOptionsError(f"consent_readback_since: {error}") from None
        self.consent_readback_seconds = float(opts.get("consent_readback_seconds") or DEFAULT_WATCH_SECONDS)
        self.readback_fields: ReadbackFields | None = None  # set in _run_task when the read-back is on

    def _marketo_client(self) -> MarketoClient:
        try:
            return MarketoClient.from_project(self.project_config, **self.client_options)
        except MarketoCredentialsMissing as error:
            raise TaskOptionsError(str(error)) from None

    def _run_task(self) -> None:
        try:
            mapping = load_mapping(self.mapping_path)
        except MappingError as error:
            raise TaskOptionsError(str(error)) from None
        client = self._marketo_client()
        sf = SalesforceIO(self.sf)
        cache = PushCache(self.state_dir, self.org_config.org_id or "org", client.base_url)
        self.push_options.cache = cache
        declared = getattr(mapping, "consent", None) is not None
        if self.consent_readback if self.consent_readback is not None else declared:
            self.readback_fields = ReadbackFields.for_mapping(mapping, self.consent_opt_out_field,
                                                              self.consent_reason_field)
        # a Lead member that converts: its Contacts are pushed as a view of their own (push/views.py)
        self._view_caches = {name: PushCache(self.state_dir, f"{self.org_config.org_id or 'org'}-{name}",
                                             client.base_url) for name, _view in push_views(mapping)[1:]}
        try:
            with RunLock(self.state_dir, client.base_url):
                self._setup_calls = client.counters().calls
                schema = self._describe(mapping, client)
                if self.stream:
                    summary = self._stream_push(mapping, sf, client, schema, cache)
                cycle = 0
                while not self.stream:
                    cycle += 1
                    summary = self._one_push(mapping, sf, client, schema)
                    if _schema_errors(summary):
                        self.logger.warning("Marketo answered a schema error (1006): reading its describes again")
                        self._setup_calls = client.counters().calls
                        schema = self._describe(mapping, client)
                    if self.watch_seconds is None or (self.max_cycles and cycle >= self.max_cycles):
                        break
                    self.logger.info(f"Watching: next push in {self.watch_seconds:g} s (Ctrl-C to stop)")
                    try:
                        time.sleep(self.watch_seconds)
                    except KeyboardInterrupt:
                        self.logger.info("Watch stopped between pushes; nothing was left half done")
                        break
                    self.push_options.full = False  # a full push once, then what changed
        except (PushAlreadyRunning, ClusterRecordBusy) as error:
            raise CumulusCIFailure(str(error)) from None
        except MarketoError as error:
            raise CumulusCIFailure(f"Marketo: {error}") from None
        except StreamError as error:
            raise CumulusCIFailure(f"watch stream: {error}") from None
        finally:
            client.close()
            cache.close()
            for view_cache in getattr(self, "_view_caches", {}).values():
                view_cache.close()
        if summary.stopped:
            raise CumulusCIFailure(f"push stopped early: {summary.stopped}")

    def _stream_push(self, mapping: Any, sf: SalesforceIO, client: MarketoClient, schema: Any,
                     cache: PushCache) -> PushSummary:
        """``watch stream`` (python_tasks/push/stream.py): until SIGTERM / Ctrl-C, between batches."""
        opts = self.options
        settings = settings_from(opts.get("pubsub_endpoint"), dict(os.environ),
                                 float(opts["stream_batch_seconds"]) if opts.get("stream_batch_seconds") else None,
                                 int(opts["stream_batch_records"]) if opts.get("stream_batch_records") else None)
        last = PushSummary()

        def push(ids: Any) -> PushSummary:
            nonlocal last
            self.push_options.only_ids = ids
            try:
                last = self._one_push(mapping, sf, client, schema)
            finally:
                self.push_options.only_ids = None
                self.push_options.full = False
            return last

        def metadata() -> tuple[tuple[str, str], ...]:
            org = self.org_config
            return (("accesstoken", org.access_token), ("instanceurl", org.instance_url), ("tenantid", org.org_id))

        wb = mapping.write_back
        idle = None
        if self.readback_fields is not None:
            def idle() -> None:
                self._read_back(client, sf, cache)
        streaming = StreamingPush(settings, cache, push, metadata, mapping.member.object_name,
                                  mapping.order.object_name, [wb.marketo_id, wb.pushed_at, wb.error, wb.pushed_change],
                                  log=self.logger.warning,
                                  refresh_token=lambda: self.org_config.refresh_oauth_token(self.project_config.keychain),
                                  idle=idle, idle_seconds=self.consent_readback_seconds,
                                  other_member_objects=[view.member.object_name for _n, view in push_views(mapping)[1:]])
        self.logger.info(f"Streaming change events from {settings.endpoint} ({settings.topic}); "
                         "SIGTERM or Ctrl-C stops between batches")
        with StopOnSignals(streaming.stop, self.logger.info):
            stats = streaming.run(max_batches=self.max_cycles)
        self.logger.info(f"Stream stopped: {stats.batches} batches pushed, {stats.catch_ups} catch-ups, "
                         f"{stats.events} events ({stats.skipped_events} write-backs and others skipped), "
                         f"{stats.reconnects} reconnects")
        return last

    @staticmethod
    def _describe(mapping: Any, client: MarketoClient) -> Any:
        """Marketo's describes: once per process (and again after a schema error), not per cycle."""
        return merge_describes(
            mapping, client.describe2(),
            [(co.api_name, client.describe_custom_object(co.api_name)) for co in mapping.marketo.custom_objects],
        )

    def _one_push(self, mapping: Any, sf: SalesforceIO, client: MarketoClient, schema: Any) -> PushSummary:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        calls_before = getattr(self, "_setup_calls", None)
        calls_before = client.counters().calls if calls_before is None else calls_before
        self._setup_calls = None  # the describes are counted in the cycle that made them
        # CumulusCI reads the org's Organization record once per task run (refresh_oauth_token):
        # one API call that is not ours but is spent for this push; counted in the first cycle.
        sf_before = sf.calls - (0 if getattr(self, "_counted_org_read", False) else CUMULUSCI_ORG_READS)
        self._counted_org_read = True
        # Marketo -> Salesforce first: an opt-out made in Marketo is in Salesforce before the push reads it
        readback = self._read_back(client, sf, self.push_options.cache) if self.readback_fields else None
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=True) as bar:
            task_id = bar.add_task("Pushing persons", total=None)

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(task_id, completed=done, total=total)

            summaries = []
            for name, view in push_views(mapping):
                options = self.push_options if not name else replace(
                    self.push_options, cache=getattr(self, "_view_caches", {}).get(name))
                run = PushRun(view, sf, client, schema, options, progress=progress, log=self.logger.warning,
                              info=self.logger.info)
                summaries.append(run.run(self.waiting_older_than))
                if summaries[-1].stopped:
                    break
            summary = merge_summaries(summaries)
        values = summary.as_return_values(client.counters().calls - calls_before, sf.calls - sf_before)
        if readback is not None:
            values["consent_readback"] = readback.as_dict()
        self.return_values = values
        from python_tasks.push.history import record_push_run  # reports/push: history.jsonl and index.html
        record_push_run(values, warn=self.logger.warning)
        self._log_summary(summary, values)
        return summary

    def _read_back(self, client: MarketoClient, sf: SalesforceIO, cache: PushCache | None) -> ReadbackResult:
        """Unsubscribes made in Marketo since the last read-back, onto the members in Salesforce."""
        assert self.readback_fields is not None and cache is not None
        from datetime import datetime, timezone

        result = read_back_unsubscribes(client, sf, cache, self.readback_fields,
                                        first_since=datetime.now(timezone.utc) - self.consent_readback_since)
        lines = result.lines()
        (self.logger.info if result.activities or result.failed else self.logger.debug)(lines[0])
        for line in lines[1:]:
            self.logger.warning(line)
        return result

    def _log_summary(self, s: PushSummary, values: dict[str, Any]) -> None:
        log = self.logger
        log.info(f"Read {s.members_read} changed members and {s.orders_read} changed orders from Salesforce "
                 f"({s.read_method}; {s.rows_read} rows in all)")
        log.info(f"Persons: {s.persons_created} created, {s.persons_updated} updated, "
                 f"{s.persons_unchanged} unchanged, {len(s.persons_skipped)} skipped")
        for who, why in s.persons_skipped[:50]:
            log.warning(f"  person {who} skipped: {why}")
        log.info(f"Orders: {s.orders_pushed} pushed, {len(s.orders_skipped)} skipped, {s.waiting_total} waiting "
                 "for their member" + (f" (the oldest {len(s.waiting)} listed)" if s.waiting_total > len(s.waiting) else ""))
        for who, why in s.orders_skipped[:50]:
            log.warning(f"  order {who} skipped: {why}")
        for w in s.waiting[:50]:
            log.info(f"  order {w.order_number} waits for member {w.member_key} since {_age(w.age)}")
        if s.duplicate_clusters:
            log.warning(f"{len(s.duplicate_clusters)} lookups matched several persons: wrote to the best one and "
                        f"recorded the clusters in {self.push_options.clusters_file} (run marketo_dedupe)")
        if s.consent.refused or s.consent.resubscribed:
            log.warning(f"Consent: {len(s.consent.refused)} re-subscribes refused, {len(s.consent.resubscribed)} "
                        "persons subscribed again by an EC consent event after their Marketo unsubscribe")
        for refusal in s.consent.refused[:50]:
            log.warning(f"  re-subscribe refused for {refusal}")
        for record_id, text in s.write_back_failures[:50]:
            log.error(f"  write-back to Salesforce failed for {record_id}: {text}")
        if s.retry_left:
            log.info(f"{s.retry_left} records will be read again by the next push (rejected, or changed meanwhile)")
        log.info(f"API calls: Marketo {values['marketo_calls']}, Salesforce {values['salesforce_calls']}")


def _schema_errors(summary: PushSummary) -> bool:
    """Marketo refused a field by name (1006): its describes have changed since they were read."""
    reasons = [why for _who, why in (*summary.persons_skipped, *summary.orders_skipped)]
    return any("1006" in why for why in reasons)


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
