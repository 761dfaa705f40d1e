"""An email as one person would receive it: lead tokens, program "my" tokens and Velocity script tokens.

- ``{{lead.Field}}`` / ``{{lead.Field:default=text}}``: the person's field, by REST name or display name
  (case-insensitive), HTML-encoded unless ``html_encode_tokens`` is off; empty -> the default, else nothing.
- ``{{my.Token}}``: the token of the email's program or of a folder above it (the nearest wins); a ``script block``
  token runs its Velocity with the context Marketo gives: ``$lead`` and ``$<customObject>List`` (the
  person's records, most recently updated first, at most ``velocity_custom_object_limit``), holding
  only the ticked fields, plus the tools of velocity.py.
- A token that names nothing known is left as written (then visible in the HTML), as a typo would be.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Callable
from zoneinfo import ZoneInfo

from localcloud.marketo import velocity
from localcloud.marketo.assets import SCRIPT_TOKEN, Asset, AssetOperations
from localcloud.marketo.envelope import CallError
from localcloud.marketo.schema import FieldDef, ObjectSchema, Schema, parse_datetime
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import LeadRow, Store

TOKEN = re.compile(r"\{\{\s*(lead|my)\.([^}:]+?)\s*(?::default=([^}]*))?\}\}")


class EmailRenderer:
    def __init__(self, store: Store, schema: Schema, assets: AssetOperations, settings: Callable[[], Settings]):
        self.store = store
        self.schema = schema
        self.assets = assets
        self.settings = settings

    # --- values as Marketo shows them -----------------------------------------------------------
    def _shown(self, definition: FieldDef | None, value: Any) -> Any:
        if value is None:
            return None
        if definition is not None and definition.data_type == "datetime" and isinstance(value, str):
            zone = ZoneInfo(self.settings().velocity_datetime_timezone)
            return parse_datetime(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        return value

    def _lead_field(self, name: str) -> FieldDef | None:
        fields = self.schema.lead.fields
        if name in fields:
            return fields[name]
        lowered = name.strip().lower()
        for definition in fields.values():
            if definition.name.lower() == lowered or definition.display_name.lower() == lowered:
                return definition
        return None

    # --- the person -----------------------------------------------------------------------------
    def _lead(self, lead_id: Any) -> LeadRow:
        try:
            number = int(str(lead_id))
        except ValueError:
            raise CallError("1001", f"Invalid value for leadId: '{lead_id}'. Required of type 'Integer'") from None
        lead = self.store.get_lead(number)
        if lead is None:
            raise CallError("1004", f"Lead '{number}' not found")
        return lead

    def _records(self, schema: ObjectSchema, lead_id: int) -> list[dict[str, Any]]:
        link = schema.lead_link
        if link is None:
            return []
        limit = self.settings().velocity_custom_object_limit
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT data FROM custom_objects WHERE api_name=? AND lead_id=?"
                " ORDER BY updated_at DESC, rowid DESC LIMIT ?",
                (schema.name, lead_id, limit),
            ).fetchall()
        return [json.loads(row["data"]) for row in rows]

    def _script_context(self, script: str, lead: LeadRow) -> dict[str, Any]:
        settings = self.settings()
        ticked_all = settings.script_token_fields == "all"
        names = velocity.referenced_names(script)
        lead_values: dict[str, Any] = {}
        for definition in self.schema.lead.fields.values():
            if not (ticked_all or definition.name in names or _java_name(definition.name) in names):
                continue
            value = self._shown(definition, lead.record().get(definition.name))
            if value is not None:
                lead_values[definition.name] = value
                lead_values[_java_name(definition.name)] = value
        context: dict[str, Any] = {
            **velocity.tools(settings.velocity_datetime_timezone, settings.velocity_locale),
            "lead": velocity.Record(lead_values),
        }
        for api_name, schema in self.schema.custom_objects.items():
            list_name = f"{api_name}List"
            if list_name not in names and not ticked_all:
                continue
            records = []
            for stored in self._records(schema, lead.id):
                records.append({
                    name: self._shown(definition, stored.get(name))
                    for name, definition in schema.fields.items()
                    if (ticked_all or name in names) and stored.get(name) is not None
                })
            context[list_name] = velocity.as_list(records)
        return context

    # --- rendering ------------------------------------------------------------------------------
    def render(self, email: Asset, lead_id: Any, status: str | None) -> tuple[str, str]:
        source, version = self.assets.email_html(email, status)
        tokens = self.assets.inherited_tokens(email)
        lead = self._lead(lead_id) if lead_id not in (None, "") else None
        record = lead.record() if lead else {}

        def replace(match: re.Match[str]) -> str:
            scope, name, default = match.group(1), match.group(2).strip(), match.group(3)
            if scope == "lead":
                definition = self._lead_field(name)
                if definition is None:
                    return match.group(0)
                value = self._shown(definition, record.get(definition.name))
                if value in (None, ""):
                    return default or ""
                # Admin > Field Management "HTML Encode Tokens" (on by default); a script's $lead is never encoded
                return html.escape(str(value)) if self.settings().html_encode_tokens else str(value)
            token = tokens.get(name)
            if token is None:
                return match.group(0)
            if token["type"] != SCRIPT_TOKEN:
                return token["value"]
            if lead is None:  # without a person a script has no data: Marketo shows the token's name
                return match.group(0)
            try:
                return velocity.render(token["value"], self._script_context(token["value"], lead), name)
            except velocity.ScriptError as error:
                raise CallError("611", f"System error: email script failed: {error}") from None

        return TOKEN.sub(replace, source), version


def _java_name(name: str) -> str:
    """firstName -> FirstName: the names Marketo's script editor gives standard lead fields."""
    return name[:1].upper() + name[1:]
