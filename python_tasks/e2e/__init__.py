"""ec_e2e_check: compare a seeding run's receipt with Salesforce and Marketo, report in JSON and HTML.

    compare.compare_all(events, sf_snapshot, marketo_snapshot, schema, duplicates) -> Comparison   (pure)
    gather.read_salesforce(reader, events, schema) / gather.read_marketo(client, ...)            (I/O)
    report.write_report(report, run_dir) -> (json_path, html_path); report.summary_lines(json)
"""
from typing import Any

__all__ = ["ECEndToEndCheck", "EndToEndMismatch"]


def __getattr__(name: str) -> Any:
    # The task (and CumulusCI with it) loads only when asked for: the libraries stay light to import.
    if name in __all__:
        from . import task

        return getattr(task, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
