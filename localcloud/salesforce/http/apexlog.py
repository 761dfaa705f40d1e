"""The debug log of one anonymous Apex execution, in Salesforce's text format, filtered by the
``DebuggingHeader`` of the Apex SOAP API (``categories`` with levels, or one ``debugLevel``).

    levels = debug_levels(header_element)              # {"Apex_code": "DEBUG", ...} or {} (no log)
    text = render_log(version, levels, source, run)    # what DebuggingInfo/debugLog carries

The local org keeps these events of a run: ``USER_DEBUG`` (``System.debug`` with its line and level),
the unit around it (``EXECUTION_STARTED``, ``CODE_UNIT_STARTED|[EXTERNAL]|execute_anonymous_apex``,
``CODE_UNIT_FINISHED``, ``EXECUTION_FINISHED``), ``FATAL_ERROR`` for an uncaught exception, and the
``CUMULATIVE_LIMIT_USAGE`` block (SOQL, DML, rows, CPU, callouts, async jobs). It records no per-statement
``SOQL_EXECUTE_*`` / ``DML_*`` / ``METHOD_*`` events; the counts are in the limit block.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable
from xml.etree.ElementTree import Element

from localcloud.salesforce.metadata.package import child_text, children

#: LogCategoryLevel, lowest first (NONE logs nothing of its category).
LEVELS = ("NONE", "ERROR", "WARN", "INFO", "DEBUG", "FINE", "FINER", "FINEST")
#: LogCategory names of the Apex SOAP API -> the names in the log's first line.
CATEGORIES = {"db": "DB", "workflow": "WORKFLOW", "validation": "VALIDATION", "callout": "CALLOUT",
              "apex_code": "APEX_CODE", "apex_profiling": "APEX_PROFILING", "visualforce": "VISUALFORCE",
              "system": "SYSTEM", "wave": "WAVE", "nba": "NBA"}
#: LogType (``debugLevel``) -> category levels. Salesforce documents what each type includes, not the
#: levels; these are the local org's reading of it (listed in the HTTP README).
LOG_TYPES: dict[str, dict[str, str]] = {
    "NONE": {},
    "DEBUGONLY": {"APEX_CODE": "DEBUG", "APEX_PROFILING": "INFO"},
    "DB": {"APEX_CODE": "DEBUG", "APEX_PROFILING": "INFO", "DB": "INFO"},
    "PROFILING": {"APEX_CODE": "DEBUG", "APEX_PROFILING": "FINEST", "DB": "INFO"},
    "CALLOUT": {"APEX_CODE": "DEBUG", "APEX_PROFILING": "FINEST", "CALLOUT": "INFO", "DB": "INFO"},
    "DETAIL": {"APEX_CODE": "FINEST", "APEX_PROFILING": "FINEST", "CALLOUT": "FINEST", "DB": "FINEST",
               "SYSTEM": "FINEST", "VALIDATION": "INFO", "VISUALFORCE": "INFO", "WORKFLOW": "INFO"},
}
DEFAULT_LOG_TYPE = "DEBUGONLY"
#: Salesforce truncates a debug log at 20 MB.
MAX_LOG_CHARACTERS = 20_000_000


class DebuggingHeaderError(ValueError):
    """A DebuggingHeader naming an unknown category, level or log type."""


def _level(value: str | None) -> str:
    level = (value or "").strip().upper()
    if level not in LEVELS:
        raise DebuggingHeaderError(f"'{value}' is not a LogCategoryLevel ({', '.join(LEVELS)})")
    return level


def debug_levels(header: Element | None) -> dict[str, str]:
    """Category (log name) -> level from a ``DebuggingHeader`` (no header: ``DEBUGONLY``). Categories
    set to NONE are left out; an empty answer means no log."""
    if header is None:
        return dict(LOG_TYPES[DEFAULT_LOG_TYPE])
    pairs = children(header, "categories")
    if not pairs:
        log_type = (child_text(header, "debugLevel") or DEFAULT_LOG_TYPE).upper()
        if log_type not in LOG_TYPES:
            raise DebuggingHeaderError(f"'{log_type}' is not a LogType ({', '.join(LOG_TYPES)})")
        return dict(LOG_TYPES[log_type])
    levels: dict[str, str] = {}
    for pair in pairs:
        name = (child_text(pair, "category") or "").strip()
        level = _level(child_text(pair, "level"))
        if name.lower() == "all":
            levels.update({category: level for category in CATEGORIES.values()})
        elif name.lower() in CATEGORIES:
            levels[CATEGORIES[name.lower()]] = level
        else:
            raise DebuggingHeaderError(f"'{name}' is not a LogCategory ({', '.join(CATEGORIES)}, All)")
    return {name: level for name, level in levels.items() if level != "NONE"}


def logs(levels: dict[str, str], category: str, level: str) -> bool:
    """Whether an event of ``category`` at ``level`` is written under ``levels``."""
    chosen = levels.get(category)
    return chosen is not None and LEVELS.index(chosen) >= LEVELS.index(level)


@dataclass
class RunRecord:
    """What one execution leaves for its log."""

    started: dt.datetime  # the org's clock, in the user's time zone
    elapsed_ns: int
    user_id: str
    username: str
    time_zone: str
    debug_entries: list[tuple[int, str, str]] = field(default_factory=list)  # (line, level, message)
    limits: Any = None  # runtime.Limits
    queued: int = 0  # async jobs queued (Queueable, @future)
    fatal: str | None = None  # "System.X: message\n\nAnonymousBlock: line 1, column 1"


def _zone_label(name: str, when: dt.datetime) -> tuple[str, str]:
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    gmt = f"GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"({gmt}) {when.tzname() or name} ({name})", gmt


def _limit_block(run: RunRecord) -> list[str]:
    lim = run.limits
    rows = [
        ("Number of SOQL queries", lim.soql_queries, lim.max_soql),
        ("Number of query rows", lim.query_rows, lim.max_query_rows),
        ("Number of DML statements", lim.dml_statements, lim.max_dml),
        ("Number of Publish Immediate DML", lim.publish_immediate_dml, lim.max_publish_immediate_dml),
        ("Number of DML rows", lim.dml_rows, lim.max_dml_rows),
        ("Maximum CPU time", lim.cpu_ms(), lim.max_cpu_ms),
        ("Number of callouts", lim.callouts, lim.max_callouts),
        ("Number of queueable jobs added to the queue", run.queued, 50),
    ]
    return ["CUMULATIVE_LIMIT_USAGE", "LIMIT_USAGE_FOR_NS|(default)|\n"
            + "\n".join(f"  {name}: {used} out of {limit}" for name, used, limit in rows) + "\n",
            "CUMULATIVE_LIMIT_USAGE_END\n"]


def _events(levels: dict[str, str], run: RunRecord) -> Iterable[str]:
    zone, gmt = _zone_label(run.time_zone, run.started)
    yield f"USER_INFO|[EXTERNAL]|{run.user_id}|{run.username}|{zone}|{gmt}"
    yield "EXECUTION_STARTED"
    yield "CODE_UNIT_STARTED|[EXTERNAL]|execute_anonymous_apex"
    for line, level, message in run.debug_entries:
        if logs(levels, "APEX_CODE", level.upper() if level.upper() in LEVELS else "DEBUG"):
            yield f"USER_DEBUG|[{line}]|{level.upper()}|{message}"
    if run.fatal is not None and logs(levels, "APEX_CODE", "ERROR"):
        yield f"FATAL_ERROR|{run.fatal}"
    if run.limits is not None and logs(levels, "APEX_PROFILING", "INFO"):
        yield from _limit_block(run)
    yield "CODE_UNIT_FINISHED|execute_anonymous_apex"
    yield "EXECUTION_FINISHED"


def render_log(version: str, levels: dict[str, str], source: str, run: RunRecord) -> str:
    """The log text (empty when ``levels`` log nothing). Every event line starts with the time of the
    execution (``HH:MM:SS.mmm``) and, in parentheses, nanoseconds since it started, spread evenly over
    the run (the local org does not time each event)."""
    if not levels:
        return ""
    head = [f"{version} " + ";".join(f"{name},{levels[name]}" for name in sorted(levels))]
    lines_in = source.split("\n")
    if len(lines_in) > 1 and not lines_in[-1]:
        lines_in.pop()  # the newline that ends the last line starts no line of its own
    head += [f"Execute Anonymous: {line}" for line in lines_in]
    events = list(_events(levels, run))
    stamp = run.started.strftime("%H:%M:%S.") + f"{run.started.microsecond // 1000}"
    step = max(1, run.elapsed_ns // max(1, len(events)))
    lines = [f"{stamp} ({(i + 1) * step})|{event}" for i, event in enumerate(events)]
    text = "\n".join(head + lines) + "\n"
    if len(text) > MAX_LOG_CHARACTERS:
        text = text[:MAX_LOG_CHARACTERS] + "\n*********** MAXIMUM DEBUG LOG SIZE REACHED ***********\n"
    return text
