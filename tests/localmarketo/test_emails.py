"""The Asset API (programs, templates, emails, my tokens) and emails rendered as one person receives them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.marketo import velocity
from localcloud.marketo.service import LocalMarketo

from .conftest import Api

TEMPLATE = """<html><body><div class="mktEditable" id="main">
<p>Hello {{lead.First Name:default=customer}} {{lead.lastName}}</p>
<p>Last order: {{lead.lastOrderNumber:default=none}}</p>
<p>{{my.greeting}}</p>
<div id="orders">{{my.orders}}</div>
<p>{{my.unknownToken}}</p>
</div></body></html>"""

ORDERS_SCRIPT = """#if($ecOrder_cList.isEmpty())no orders#else
#foreach($o in $ecOrder_cList)[${o.orderNumber}|$date.format("yyyy/MM/dd HH:mm", $convert.parseDate($o.orderDate, "yyyy-MM-dd HH:mm:ss", $convert.toLocale("ja_JP"), $date.getTimeZone().getTimeZone("America/Chicago")), $convert.toLocale("ja_JP"), $date.getTimeZone().getTimeZone("Asia/Tokyo"))|$number.format('¥#,##0', $o.totalAmount)]#end
#end"""


def _folder_id(api: Api, name: str) -> int:
    answer = api.get("/rest/asset/v1/folder/byName.json", params={"name": name, "type": "Folder"})
    return int(answer["result"][0]["id"])


def _email(api: Api, script: str = ORDERS_SCRIPT, template: str = TEMPLATE) -> dict[str, Any]:
    root = _folder_id(api, "Marketing Activities")
    program = api.post("/rest/asset/v1/programs.json", data={
        "name": "Orders", "folder": json.dumps({"id": root, "type": "Folder"}), "type": "Default", "channel": "Email Send"})
    assert program["success"], program
    program_id = program["result"][0]["id"]
    for name, kind, value in (("greeting", "text", "Thanks!"), ("orders", "script block", script)):
        saved = api.post(f"/rest/asset/v1/folder/{program_id}/tokens.json",
                         data={"name": name, "type": kind, "value": value, "folderType": "Program"})
        assert saved["success"], saved
    created = api.post("/rest/asset/v1/emailTemplates.json", files={
        "name": (None, "Order template"), "folder": (None, json.dumps({"id": _folder_id(api, "Design Studio"), "type": "Folder"})),
        "content": ("t.html", template.encode(), "text/html")})
    assert created["success"], created
    template_id = created["result"][0]["id"]
    email = api.post("/rest/asset/v1/emails.json", data={
        "name": "Order email", "folder": json.dumps({"id": program_id, "type": "Program"}), "template": template_id,
        "subject": "Your orders", "fromName": "Shop", "fromEmail": "shop@example.com", "replyEmail": "shop@example.com"})
    assert email["success"], email
    return {"program": program_id, "template": template_id, "email": email["result"][0]["id"]}


def _lead(api: Api, **fields: Any) -> int:
    answer = api.post("/rest/v1/leads.json", json={"action": "createOrUpdate", "input": [fields]})
    assert answer["result"][0]["status"] in ("created", "updated"), answer
    return int(answer["result"][0]["id"])


def _orders(api: Api, marketo: LocalMarketo, lead_id: int, orders: list[tuple[str, str, float, str]]) -> None:
    """orders: (number, orderDate UTC, total, updatedAt) — updatedAt set so list order is known."""
    answer = api.post("/rest/v1/customobjects/ecOrder_c.json", json={"action": "createOrUpdate", "dedupeBy": "dedupeFields", "input": [
        {"orderNumber": n, "orderDate": d, "totalAmount": t, "leadId": lead_id, "productNames": f"P-{n}", "status": "paid"}
        for n, d, t, _ in orders]})
    assert all(r["status"] == "created" for r in answer["result"]), answer
    with marketo.service.store.transaction() as db:
        for number, _, _, updated in orders:
            db.execute("UPDATE custom_objects SET updated_at=? WHERE dedupe_key LIKE ?", (updated, f"%{number}%"))


def _full(api: Api, email_id: int, lead_id: int | None, **params: Any) -> dict[str, Any]:
    query = {**({"leadId": lead_id} if lead_id is not None else {}), **params}
    return api.get(f"/rest/asset/v1/email/{email_id}/fullContent.json", params=query)


def test_asset_reads_follow_the_asset_api_shapes(api: Api) -> None:
    ids = _email(api)
    email = api.get(f"/rest/asset/v1/email/{ids['email']}.json")["result"][0]
    assert email["subject"] == {"type": "Text", "value": "Your orders"}
    assert email["folder"]["type"] == "Program" and email["folder"]["value"] == ids["program"]
    assert email["status"] == "draft" and email["template"] == ids["template"]
    by_name = api.get("/rest/asset/v1/email/byName.json", params={"name": "Order email"})
    assert by_name["result"][0]["id"] == ids["email"]
    missing = api.get("/rest/asset/v1/email/byName.json", params={"name": "nope"})
    assert missing["success"] and "result" not in missing and missing["warnings"]
    again = api.post("/rest/asset/v1/programs.json", data={
        "name": "Orders", "folder": json.dumps({"id": _folder_id(api, "Marketing Activities"), "type": "Folder"}),
        "type": "Default", "channel": "Email Send"})
    assert not again["success"] and again["errors"][0]["code"] == "709"
    tokens = api.get(f"/rest/asset/v1/folder/{ids['program']}/tokens.json", params={"folderType": "Program"})
    assert {t["name"]: t["type"] for t in tokens["result"][0]["tokens"]} == {"greeting": "text", "orders": "script block"}


def test_approval_needs_an_approved_template_and_picks_the_version(api: Api) -> None:
    ids = _email(api)
    refused = api.post(f"/rest/asset/v1/email/{ids['email']}/approveDraft.json")
    assert refused["errors"][0]["code"] == "709"
    assert api.post(f"/rest/asset/v1/emailTemplate/{ids['template']}/approveDraft.json")["success"]
    approved = api.post(f"/rest/asset/v1/email/{ids['email']}/approveDraft.json")
    assert approved["success"] and approved["result"][0]["status"] == "approved"
    assert _full(api, ids["email"], None)["result"][0]["status"] == "approved"
    # a new template draft does not change the approved email until the template is approved again
    api.post(f"/rest/asset/v1/emailTemplate/{ids['template']}/content.json",
             files={"content": ("t.html", b"<html><body>new {{my.greeting}}</body></html>", "text/html")})
    assert "Hello" in _full(api, ids["email"], None)["result"][0]["content"]
    api.post(f"/rest/asset/v1/emailTemplate/{ids['template']}/approveDraft.json")
    assert _full(api, ids["email"], None)["result"][0]["content"] == "<html><body>new Thanks!</body></html>"
    api.post(f"/rest/asset/v1/email/{ids['email']}/content.json",
             data={"subject": json.dumps({"type": "Text", "value": "New"}), "fromName": "Plain"})
    email = api.get(f"/rest/asset/v1/email/{ids['email']}.json")["result"][0]
    assert email["subject"]["value"] == "New" and email["fromName"]["value"] == "Plain"
    assert email["status"] == "approved with draft"


def test_full_content_renders_lead_tokens_defaults_and_my_tokens(api: Api, marketo: LocalMarketo) -> None:
    ids = _email(api)
    lead_id = _lead(api, email="a@example.com", lastName="Sato")
    html = _full(api, ids["email"], lead_id)["result"][0]["content"]
    assert "Hello customer Sato" in html  # empty first name -> default
    assert "Last order: none" in html
    assert "<p>Thanks!</p>" in html
    assert "no orders" in html
    assert "{{my.unknownToken}}" in html  # unknown tokens stay visible, as a typo would
    named = _lead(api, email="b@example.com", firstName="Hana", lastName="Ito & <b>Co</b>", lastOrderNumber="A-9")
    html = _full(api, ids["email"], named)["result"][0]["content"]
    assert "Hello Hana Ito &amp; &lt;b&gt;Co&lt;/b&gt;" in html and "Last order: A-9" in html  # tokens HTML-encoded
    marketo.service.update_settings(html_encode_tokens=False)
    assert "Hello Hana Ito & <b>Co</b>" in _full(api, ids["email"], named)["result"][0]["content"]
    missing = _full(api, ids["email"], 999999)
    assert not missing["success"] and missing["errors"][0]["code"] == "1004"


def test_script_gets_ten_most_recently_updated_records_formatted(api: Api, marketo: LocalMarketo) -> None:
    ids = _email(api)
    lead_id = _lead(api, email="c@example.com", lastName="Kato")
    # 12 orders; order k placed on day k, updated at minute (12 - k): the oldest orders are the freshest updates
    orders = [(f"N{k:02d}", f"2024-03-{k:02d}T15:30:00Z", 1000.0 * k + 0.4, f"2024-04-01T00:{12 - k:02d}:00Z")
              for k in range(1, 13)]
    _orders(api, marketo, lead_id, orders)
    html = _full(api, ids["email"], lead_id)["result"][0]["content"]
    shown = [part.split("|")[0] for part in html.split("[")[1:]]
    assert shown == [f"N{k:02d}" for k in range(1, 11)]  # most recently updated first, 10 of 12
    # 2024-03-01 15:30 UTC = 2024-03-02 00:30 JST; 1000.4 yen -> ¥1,000
    assert "[N01|2024/03/02 00:30|¥1,000]" in html
    marketo.service.update_settings(velocity_custom_object_limit=3)
    html = _full(api, ids["email"], lead_id)["result"][0]["content"]
    assert [part.split("|")[0] for part in html.split("[")[1:]] == ["N01", "N02", "N03"]


def test_only_ticked_fields_reach_the_script(api: Api, marketo: LocalMarketo) -> None:
    script = '#set($k = "sta")#set($k = "${k}tus")#foreach($o in $ecOrder_cList)${o.orderNumber}:$!o.get($k):$!o.lineCount#end'
    ids = _email(api, script=script)
    lead_id = _lead(api, email="d@example.com", lastName="Mori")
    _orders(api, marketo, lead_id, [("T1", "2024-01-01T00:00:00Z", 10.0, "2024-01-01T00:00:00Z")])
    html = _full(api, ids["email"], lead_id)["result"][0]["content"]
    # status is only reached by a computed name: not ticked, so null; lineCount is named: ticked (but empty)
    assert "T1::" in html
    marketo.service.update_settings(script_token_fields="all")
    assert "T1:paid:" in _full(api, ids["email"], lead_id)["result"][0]["content"]


def test_a_failing_script_names_the_token(api: Api, marketo: LocalMarketo) -> None:
    ids = _email(api, script='$date.format("yyyy QQ", $date.getDate())')
    lead_id = _lead(api, email="e@example.com", lastName="Abe")
    answer = _full(api, ids["email"], lead_id)
    assert not answer["success"]
    assert answer["errors"][0]["code"] == "611" and "{{my.orders}}" in answer["errors"][0]["message"]


def test_token_types_and_names_are_checked(api: Api, marketo: LocalMarketo) -> None:
    ids = _email(api)
    too_long = api.post(f"/rest/asset/v1/folder/{ids['program']}/tokens.json",
                        data={"name": "x" * 51, "type": "text", "value": "v", "folderType": "Program"})
    assert too_long["errors"][0]["code"] == "1001"
    marketo.service.update_settings(api_accepts_script_tokens=False)
    refused = api.post(f"/rest/asset/v1/folder/{ids['program']}/tokens.json",
                       data={"name": "s", "type": "script block", "value": "$lead", "folderType": "Program"})
    assert refused["errors"][0]["code"] == "1001"
    deleted = api.post(f"/rest/asset/v1/folder/{ids['program']}/tokens/delete.json",
                       data={"name": "greeting", "type": "text", "folderType": "Program"})
    assert deleted["success"]
    html = _full(api, ids["email"], _lead(api, email="f@example.com", lastName="Ono"))["result"][0]["content"]
    assert "{{my.greeting}}" in html


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("#,##0", "1234567.5", "1,234,568"), ("¥#,##0", 12800, "¥12,800"), ("0.00", "3.14159", "3.14"),
    ("#,##0.##", "1000.5", "1,000.5"), ("#,##0", "2.5", "2"), ("#,##0", "-1234", "-1,234")])
def test_number_tool_follows_decimal_format(pattern: str, value: Any, expected: str) -> None:
    assert velocity.NumberTool("en_US").format(pattern, value) == expected


def test_date_tool_parses_and_formats_in_zones() -> None:
    tools = velocity.tools("America/Chicago", "ja_JP")
    template = ('$date.format("yyyy年M月d日(E) HH:mm", $convert.parseDate("2024-12-31 10:00:00", "yyyy-MM-dd HH:mm:ss",'
                ' $convert.toLocale("ja_JP"), $date.getTimeZone()), $convert.toLocale("ja_JP"),'
                ' $date.getTimeZone().getTimeZone("Asia/Tokyo"))')
    # 10:00 in Chicago (CST, UTC-6) = 16:00 UTC = 01:00 next day in Tokyo, a Wednesday
    assert velocity.render(template, tools, "t") == "2025年1月1日(水) 01:00"
    sorted_list = velocity.SortTool().sort(velocity.as_list([{"d": "2024-01-02"}, {}, {"d": "2024-03-01"}]), "d:desc")
    assert [r.get("d") for r in sorted_list] == ["2024-03-01", "2024-01-02", None]


def test_double_hash_in_a_double_quoted_string_fails_loudly() -> None:
    with pytest.raises(velocity.ScriptError, match="line 2.*single quotes"):
        velocity.render('## a comment with "##" is fine\n$number.format("#,##0", 5)', velocity.tools("UTC", "en_US"), "t")


def test_emails_inherit_folder_tokens_and_the_program_overrides_them(api: Api) -> None:
    ids = _email(api)
    root = _folder_id(api, "Marketing Activities")
    for name, value in (("greeting", "from the folder"), ("unknownToken", "folder only")):
        saved = api.post(f"/rest/asset/v1/folder/{root}/tokens.json",
                         data={"name": name, "type": "text", "value": value, "folderType": "Folder"})
        assert saved["success"], saved
    html = _full(api, ids["email"], _lead(api, email="g@example.com", lastName="Ueda"))["result"][0]["content"]
    assert "<p>Thanks!</p>" in html  # the program's own token wins
    assert "<p>folder only</p>" in html  # inherited from the folder above the program
