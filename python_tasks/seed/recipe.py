"""Run the Snowfakery recipe in-process and keep its rows in memory, grouped by table."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from snowfakery.data_generator import generate
from snowfakery.output_streams import OutputStream

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "datasets" / "ec_japan.recipe.yml"


class RecipeError(Exception):
    """The recipe did not run or did not produce the tables the seeding needs."""


class InMemoryOutputStream(OutputStream):
    """A Snowfakery output stream that keeps every row (references flattened to row ids)."""

    encoders = {**OutputStream.encoders, bool: bool}

    def __init__(self) -> None:
        super().__init__(None)
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def write_single_row(self, tablename: str, row: dict[str, Any]) -> None:
        self.tables[tablename].append(dict(row))

    def close(self, **kwargs: Any) -> None:
        return None


@dataclass
class GeneratedData:
    """Rows of one recipe run: members, their orders and lines, Marketo-only persons."""

    members: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    marketo_only_persons: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)

    def lines_by_order(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in self.lines:
            grouped[line["orderNumber"]].append(line)
        for order_lines in grouped.values():
            order_lines.sort(key=lambda line: line["lineNumber"])
        return dict(grouped)


REQUIRED_TABLES = ("Member", "Order", "OrderLine")


def run_recipe(recipe: Path | str = DEFAULT_RECIPE, options: Mapping[str, Any] | None = None) -> GeneratedData:
    """Run `recipe` with Snowfakery's API; `options` are the recipe's `- option:` knobs."""
    path = Path(recipe)
    if not path.exists():
        raise RecipeError(f"recipe not found: {path}")
    user_options = {name: str(value) for name, value in (options or {}).items() if value is not None}
    stream = InMemoryOutputStream()
    try:
        with path.open(encoding="utf-8") as recipe_file:
            generate(recipe_file, user_options=user_options, output_stream=stream)
    except Exception as error:  # Snowfakery raises many types; keep its message, name the recipe
        raise RecipeError(f"{path}: {error}") from error
    tables = stream.tables
    if not tables.get("Member"):
        raise RecipeError(f"{path}: the recipe produced no Member rows (options: {user_options})")
    for row in tables.get("Member", []) + tables.get("Order", []) + tables.get("MarketoOnlyPerson", []):
        for name, value in list(row.items()):
            if isinstance(value, dt.datetime):
                row[name] = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return GeneratedData(
        members=list(tables.get("Member", [])),
        orders=list(tables.get("Order", [])),
        lines=list(tables.get("OrderLine", [])),
        marketo_only_persons=list(tables.get("MarketoOnlyPerson", [])),
        options=user_options,
    )
