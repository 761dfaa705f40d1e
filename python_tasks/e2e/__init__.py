"""ec_e2e_check: compare a seeding run's receipt with Salesforce and Marketo, report in JSON and HTML.

    compare.compare_all(events, sf_snapshot, marketo_snapshot, schema, duplicates) -> Comparison   (pure)
    gather.read_salesforce(reader, events, schema) / gather.read_marketo(client, ...)            (I/O)
    report.write_report(report, run_dir) -> (json_path, html_path); report.summary_lines(json)
"""
from .task import ECEndToEndCheck, EndToEndMismatch

__all__ = ["ECEndToEndCheck", "EndToEndMismatch"]
