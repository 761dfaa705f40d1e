"""seed_ec_data: Japanese EC test data (Snowfakery) delivered to the EC endpoint like a real EC site.

    recipe.run_recipe(path, options) -> GeneratedData        Snowfakery in-process, rows in memory
    events.build_events(data, schema, run_id=...) -> EventSet member/order events (+ later updates)
    invalid.build_invalid_events(...)                         deliberately invalid events, expected errors
    plan.plan_deliveries(events, ...) -> list[Batch]          shuffled calls of <= 200, second deliveries
    sender.EventSender(...).send(batches) -> SendOutcome      concurrent senders, retries, receipts
    receipt.read_receipt(path) -> Receipt                     what ec_e2e_check reads back
"""
from .task import SeedECData

__all__ = ["SeedECData"]
