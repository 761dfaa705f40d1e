"""seed_ec_data: Japanese EC test data (Snowfakery) delivered to the EC endpoint like a real EC site.

    recipe.run_recipe(path, options) -> GeneratedData        Snowfakery in-process, rows in memory
    events.build_events(data, schema, run_id=...) -> EventSet member/order events (+ later updates)
    invalid.build_invalid_events(...)                         deliberately invalid events, expected errors
    plan.plan_deliveries(events, ...) -> list[Batch]          shuffled calls of <= 200, second deliveries
    sender.EventSender(...).send(batches) -> SendOutcome      concurrent senders, retries, receipts
    receipt.read_receipt(path) -> Receipt                     what ec_e2e_check reads back
"""
from typing import Any

__all__ = ["SeedECData"]


def __getattr__(name: str) -> Any:
    # The task (and CumulusCI with it) loads only when asked for: the libraries stay light to import.
    if name == "SeedECData":
        from .task import SeedECData

        return SeedECData
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
