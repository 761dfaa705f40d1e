"""marketo_dedupe: find duplicate Marketo persons and merge or mark them, never deleting.

Modules: keys (normal forms), persons, winner (the rule), clusters, plan (the plan and its CSV),
plan_page (the HTML page a reviewer decides from, with activity counts from activity), decisions
(a reviewed plan.csv: which clusters apply skips), scan, apply (merge/mark with an audit log),
cluster_record (the clusters push_marketo met, per Marketo instance), settled (which of those a run settled), task (the cci task). push_marketo reuses keys,
winner and cluster_record.
"""
from python_tasks.dedupe.task import MarketoDedupe

__all__ = ["MarketoDedupe"]
