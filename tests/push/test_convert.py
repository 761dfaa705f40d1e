"""Type conversion by the Marketo field type, with rejections per field before any call."""
from __future__ import annotations

import pytest

from python_tasks.push.convert import ValueRejected, convert_value


@pytest.mark.parametrize(
    "value,kind,expected",
    [
        ("2024-05-01T16:30:00.000+0000", "datetime", "2024-05-01T16:30:00Z"),
        ("2024-05-01T09:30:00+09:00", "datetime", "2024-05-01T00:30:00Z"),
        ("2024-05-01", "date", "2024-05-01"),
        (12800.0, "currency", 12800),
        ("1980.50", "currency", 1980.5),
        (3.0, "integer", 3),
        (True, "boolean", True),
        ("false", "boolean", False),
        ("山田 太郎", "string", "山田 太郎"),
        ("Red;Blue", "string", "Red;Blue"),
        (" Taro@Example.COM ", "email", "taro@example.com"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email", "taro@example.com"),
        (None, "string", None),
        ("", "datetime", None),
    ],
)
def test_values_convert_to_marketo_formats(value, kind, expected) -> None:
    assert convert_value("f", value, kind) == expected


def test_a_tokyo_order_datetime_falls_on_the_tokyo_date() -> None:
    assert convert_value("d", "2024-04-30T16:00:00.000+0000", "date", tz="Asia/Tokyo") == "2024-05-01"
    assert convert_value("d", "2024-04-30T16:00:00.000+0000", "date") == "2024-04-30"


@pytest.mark.parametrize(
    "value,kind,length,fragment",
    [
        ("あ" * 256, "string", None, "256 characters, Marketo field holds 255"),
        ("abcdef", "string", 5, "holds 5"),
        ("たろう@example.com", "email", None, "non-ASCII"),
        ("not-an-email", "email", None, "not a valid email"),
        ("1.5", "integer", None, "fraction"),
        (2**31, "integer", None, "32-bit"),
        ("twelve", "currency", None, "not a number"),
        ("maybe", "boolean", None, "not a boolean"),
        ("yesterday", "datetime", None, "not a date/time"),
    ],
)
def test_values_marketo_would_reject_are_caught_with_the_field_named(value, kind, length, fragment) -> None:
    with pytest.raises(ValueRejected) as caught:
        convert_value("lastProductName", value, kind, length=length)
    assert fragment in caught.value.reason
    assert "lastProductName" in str(caught.value)
