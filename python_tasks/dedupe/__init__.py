"""marketo_dedupe: find duplicate Marketo persons and merge or mark them, never deleting.

Modules: keys (normal forms), persons, winner (the rule), clusters, plan (CSV/HTML), scan,
apply (merge/mark with an audit log), cluster_record (the clusters push_marketo met, per Marketo
instance), settled (which of those a run settled), task (the cci task). push_marketo reuses keys,
winner and cluster_record.
"""
from python_tasks.dedupe.task import MarketoDedupe

__all__ = ["MarketoDedupe"]
