"""The Snowfakery recipe: realistic Japanese shoppers, knobs that work, rows that hang together."""
from __future__ import annotations

import re

import pytest

from python_tasks.seed.recipe import RecipeError, run_recipe

KANA = re.compile(r"^[\u30a0-\u30ffー]+$")
KANJI_OR_KANA = re.compile(r"^[\u3040-\u30ff\u4e00-\u9fff々ー]+$")
PREFECTURE = re.compile(r".+[都道府県]$")


def test_members_have_kanji_names_kana_readings_prefectures_and_unique_keys(generated) -> None:
    members = generated.members
    assert len(members) == 60
    for member in members:
        assert KANJI_OR_KANA.match(member["lastName"]), member
        assert KANA.match(member["lastNameKana"]) and KANA.match(member["firstNameKana"]), member
        assert PREFECTURE.match(member["prefecture"]), member
        assert re.fullmatch(r"[a-z.]+\d+\.t1@[a-z.]+", member["email"]), member["email"]
        assert member["memberId"].startswith("T1-M")
    assert len({member["memberId"] for member in members}) == 60
    assert len({member["email"] for member in members}) == 60


def test_orders_lines_and_prices_hang_together(generated) -> None:
    member_ids = {member["memberId"]: member for member in generated.members}
    lines = generated.lines_by_order()
    for order in generated.orders:
        member = member_ids[order["memberId"]]
        assert order["orderDate"] >= member["registeredAt"], order
        assert lines[order["orderNumber"]], f"order {order['orderNumber']} has no lines"
        assert [line["lineNumber"] for line in lines[order["orderNumber"]]] == list(
            range(1, len(lines[order["orderNumber"]]) + 1)
        )
    for line in generated.lines:
        assert isinstance(line["quantity"], int) and line["quantity"] >= 1
        assert isinstance(line["unitPrice"], int) and 100 <= line["unitPrice"] <= 100_000  # yen, no decimals


def test_register_and_buy_members_place_their_first_order_at_registration(generated) -> None:
    first_orders = {order["memberId"]: order for order in generated.orders if order["firstOfRegisterAndBuy"]}
    for member in generated.members:
        if member["registerAndBuy"]:
            assert first_orders[member["memberId"]]["orderDate"] == member["registeredAt"]
        else:
            assert member["memberId"] not in first_orders


def test_marketo_only_persons_exist_exactly_for_the_duplicate_scenario(generated) -> None:
    flagged = {member["id"] for member in generated.members if member["marketoOnly"]}
    persons = generated.marketo_only_persons
    assert {person["member"] for person in persons} == flagged
    by_id = {member["id"]: member for member in generated.members}
    for person in persons:
        member = by_id[person["member"]]
        assert person["email"].lower() == member["email"]
        assert person["filledAt"] < member["registeredAt"]


@pytest.mark.parametrize(
    ("options", "expect"),
    [
        ({"members": 5, "marketo_only_share": 0, "register_and_buy_share": 0, "orders_per_member": 0}, (5, 0, 0, 0)),
        ({"members": 7, "marketo_only_share": 1, "register_and_buy_share": 1, "orders_per_member": 0}, (7, 7, 7, 7)),
    ],
)
def test_knobs_drive_the_counts(options, expect) -> None:
    data = run_recipe(options=options)
    members, marketo_only, orders, register_and_buy = expect
    assert len(data.members) == members
    assert len(data.marketo_only_persons) == marketo_only
    assert len(data.orders) == orders  # 0 orders per member: only register-and-buy shoppers buy, once
    assert sum(1 for member in data.members if member["registerAndBuy"]) == register_and_buy


def test_a_missing_recipe_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(RecipeError, match="recipe not found"):
        run_recipe(tmp_path / "nope.recipe.yml")
