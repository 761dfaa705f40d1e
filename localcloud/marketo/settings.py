"""Every limit, fault and undocumented behaviour of the local Marketo, as one settings object.

Defaults are the real service's values. Behaviours Adobe does not document are settings too, each
marked ``undocumented`` below, so a test states the behaviour it relies on instead of a guess.
Settings change at runtime (``MarketoService.update_settings`` or ``POST /_local/settings``) and are
kept in the SQLite file, so they survive a restart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("606", "615", "611", "604", "608", "713", "502", "hang")


@dataclass
class Settings:
    # --- limits (documented; real defaults) ---
    rate_limit_calls: int = 100  # calls per sliding window, 606 past it
    rate_limit_window_seconds: float = 20.0
    max_concurrent_calls: int = 10  # calls in flight, 615 past it
    daily_quota: int = 50_000  # calls per day, 607 past it; the day resets 00:00 US Central
    quota_timezone: str = "America/Chicago"
    max_batch_records: int = 300  # records per write / values per filter, 1003 past it
    max_body_bytes: int = 1_048_576  # HTTP 413 past it
    max_bulk_body_bytes: int = 10 * 1_048_576  # HTTP 413 past it on /bulk
    max_uri_bytes: int = 8_192  # HTTP 414 past it
    token_lifetime_seconds: int = 3600
    max_merge_losers: int = 25  # 1080 past it
    max_filter_results: int = 1000  # "1003 Too many results match the filter"
    max_activity_type_ids: int = 10
    max_activity_lead_ids: int = 30
    bulk_import_max_running: int = 2
    bulk_import_max_queued: int = 10  # jobs queued *including* the running ones; 1016 past it
    # schema endpoints (documented limits)
    max_lead_fields_per_create: int = 100  # fields a Create Lead Fields call, 1003 past it
    max_custom_object_types: int = 10  # 709 past it
    max_custom_object_fields: int = 50  # fields a custom object type, 709 past it
    max_fields_added_after_approval: int = 20  # 709 past it
    # the Custom Object Metadata API needs a subscription type: false answers 616 like such an instance
    custom_object_metadata_api: bool = True
    # bulk lead extract (documented limits)
    bulk_extract_max_running: int = 2
    bulk_extract_max_queued: int = 10  # jobs queued including the running ones; 1029 past it
    bulk_extract_daily_bytes: int = 500 * 1_048_576  # 1029 "Export daily quota exceeded" past it
    bulk_extract_max_days: int = 31  # createdAt / updatedAt window, 1003 past it
    # an instance without bulk lead extract (false answers 703 "feature not enabled")
    bulk_lead_extract: bool = True
    # Identity's `access_token` query parameter is deprecated; off unless switched on.
    accept_access_token_query_param: bool = False

    # --- undocumented behaviours (settings, never guesses baked in) ---
    # undocumented: what an update does when several leads match the lookup value:
    # "reject" (skipped 1007, the documented rule), "oldest" or "newest" (update that one lead).
    multiple_match_policy: str = "reject"
    # documented as possible, not as certain: "duplicate records may result" when a createOrUpdate for a key
    # arrives before an earlier call with the same key has returned. True makes every such overlap
    # duplicate (a lead made by a call still running when this one arrived is invisible to its lookup).
    simultaneous_upserts_duplicate: bool = False
    # undocumented: strings longer than the field: reject with 1003 or truncate silently.
    truncate_long_strings: bool = False
    # undocumented: read-only / CRM-managed fields in a sync input: "ignore" them or "reject" (1003).
    readonly_field_policy: str = "ignore"
    # undocumented: time zone for datetimes sent without an offset.
    naive_datetime_timezone: str = "UTC"
    # undocumented: where a merged loser's activities point: "winner" (moved) or "loser" (kept).
    merge_activities_to: str = "winner"
    # undocumented: custom object records linked to a loser are relinked to the winner on merge.
    merge_moves_custom_objects: bool = True
    # undocumented: a custom object linked to a merged (gone) lead id: "reject" (1004) or "follow"
    # (link to the winner).
    link_to_merged_lead: str = "reject"
    # undocumented: whether calls refused with 606/607/615 themselves count toward rate and quota.
    rejected_calls_count: bool = False
    # undocumented: the total number of custom lead fields an instance allows (1003 past it).
    max_custom_lead_fields: int = 500
    # undocumented: whether a string/email/integer lead field created over the API can be a filterType.
    new_lead_fields_searchable: bool = True
    # undocumented: whether a createdAt window's endAt is inclusive (false: startAt <= createdAt < endAt).
    extract_end_inclusive: bool = False
    # local only: every bulk extract job stays "Processing" at least this long (to observe the queue).
    bulk_extract_hold_seconds: float = 0.0
    # --- emails (Asset API and email scripts) ---
    # documented default: custom object records per object and person loaded into an email script
    # (Admin > Email > Custom Object Retrieval Limits changes it), most recently updated first.
    velocity_custom_object_limit: int = 10
    # documented admin switch (Field Management > HTML Encode Tokens, on by default): {{lead.*}} values are
    # HTML-encoded in emails; a script's $lead values are not.
    html_encode_tokens: bool = True
    # undocumented: the time zone in which datetime fields reach a script (and lead tokens), as text
    # "yyyy-MM-dd HH:mm:ss"; also the default zone of $date.
    velocity_datetime_timezone: str = "America/Chicago"
    # undocumented: the default locale of the script tools ($date, $number).
    velocity_locale: str = "en_US"
    # undocumented: the Create Token endpoint documents six types; whether it also takes "script block".
    api_accepts_script_tokens: bool = True
    # undocumented: which fields a script token created over the API has ticked: "referenced" (the
    # fields its script names, as dragging them in the editor ticks them) or "all".
    script_token_fields: str = "referenced"
    # local only: every bulk import job stays "Importing" at least this long (to observe queueing).
    bulk_import_hold_seconds: float = 0.0
    # local only: page size of GET /rest/v1/activities.json when batchSize is not given.
    activities_page_size: int = 300
    # documented (Adobe, "Durable Unsubscribe"): an unsubscribe (false to true) or a re-subscribe (true to
    # false) of one person applies to every person with the same email, and a person created later with
    # an unsubscribed address (or given it) is unsubscribed. False: each person's flag stands alone.
    durable_unsubscribe: bool = True
    # documented (Adobe, "Durable Unsubscribe"): "when a lead is imported, the unsubscribe flag will not
    # be overwritten by the import": an import never re-subscribes. True lets it (an instance that differs).
    import_resubscribes: bool = False
    # documented (Adobe KB "Get Lead Activities REST API is not returning any activities"): each
    # activities.json call goes through `batchSize` activities of ALL types after the token and returns
    # those of the asked types, so a page may be empty with moreResult true. False (the default, kept
    # for speed) filters the types before paging; a client must work either way.
    activities_scan_all_types: bool = False
    # undocumented: the Unsubscribed Reason an email link unsubscribe writes (POST /_local/unsubscribe
    # without `reason`); {email} is the email's name.
    unsubscribe_link_reason: str = "Unsubscribed via email link: {email}"

    # --- fault injection (local only; deterministic with the seed) ---
    fault_share: float = 0.0  # share of REST/bulk calls answered with a fault
    fault_kinds: list[str] = field(default_factory=lambda: ["606"])  # chosen among FAULT_KINDS
    fault_seed: int = 0
    hang_seconds: float = 120.0  # a "hang" fault sleeps this long, then answers 604
    expire_token_every_n_calls: int = (
        0  # every Nth authenticated call finds its token expired (602)
    )

    def validate(self) -> None:
        if not 0.0 <= self.fault_share <= 1.0:
            raise ValueError("fault_share must be between 0 and 1")
        unknown = [kind for kind in self.fault_kinds if str(kind) not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"fault_kinds {unknown} not among {list(FAULT_KINDS)}")
        choices = {
            "multiple_match_policy": ("reject", "oldest", "newest"),
            "readonly_field_policy": ("ignore", "reject"),
            "merge_activities_to": ("winner", "loser"),
            "link_to_merged_lead": ("reject", "follow"),
            "script_token_fields": ("referenced", "all"),
        }
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.velocity_datetime_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"velocity_datetime_timezone {self.velocity_datetime_timezone!r} is not a time zone") from None
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")
        for name in (
            "rate_limit_calls",
            "max_concurrent_calls",
            "daily_quota",
            "max_batch_records",
            "max_body_bytes",
            "max_bulk_body_bytes",
            "max_uri_bytes",
            "token_lifetime_seconds",
            "max_merge_losers",
            "velocity_custom_object_limit",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any]) -> "Settings":
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown settings: {unknown}")
        values = self.as_dict()
        for name, value in changes.items():
            current = values[name]
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{name} must be an integer")
            elif isinstance(current, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{name} must be a number")
                value = float(value)
            elif isinstance(current, list):
                if not isinstance(value, list):
                    raise ValueError(f"{name} must be a list")
                value = [str(v) for v in value]
            elif isinstance(current, str) and not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            values[name] = value
        result = Settings(**values)
        result.validate()
        return result
