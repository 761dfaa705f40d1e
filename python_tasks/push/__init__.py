"""push_marketo: Salesforce members and orders to Marketo persons and custom objects.

Modules: convert (values by Marketo type), schema (Marketo describes), build (records from rows),
state (what is due; the per-record high-water mark kept in Salesforce), identity (find before
create), runner (one ordered run), salesforce_io (reads, write-back), lock, task (the cci task).
"""
from python_tasks.push.task import PushMarketo

__all__ = ["PushMarketo"]
