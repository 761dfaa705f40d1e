"""Sample EC values for mapped fields, as JSON carries them: the generated Apex tests
(``generate.sample_value``) and the OpenAPI examples (``openapi``) share them. It sits below both, so
``generate`` imports ``openapi`` and neither imports the other back."""

from __future__ import annotations

from typing import Any

from python_tasks.mapping import FieldMapping, FieldType


def sample_json(field: FieldMapping, variant: int = 0) -> Any:
    """A valid EC value for ``field`` as JSON would carry it (used in tests and the OpenAPI examples)."""
    t = field.type
    if t is FieldType.STRING:
        text = f"Sample {field.ec_name} {variant}"
        return text[: field.length] if field.length else text
    if t is FieldType.EMAIL:
        return f"sample{variant}@example.com"
    if t is FieldType.PICKLIST:
        return field.values[variant % len(field.values)]
    if t in (FieldType.CURRENCY, FieldType.INTEGER, FieldType.DECIMAL):
        digits = (field.precision or 18) - (field.scale or 0)
        whole = min(1200 + variant, 10 ** min(digits, 9) - 1)
        if t is FieldType.DECIMAL and (field.scale or 0) > 0:
            return whole + 0.5
        return whole
    if t is FieldType.BOOLEAN:
        return variant % 2 == 0
    if t is FieldType.DATE:
        return f"1990-04-{1 + variant % 28:02d}"
    if t is FieldType.DATETIME:
        return f"2026-11-{1 + variant % 28:02d}T10:15:00+09:00"
    raise ValueError(f"no sample value for field {field.ec_name} of type {t}")  # pragma: no cover
