"""Asset API of the local Marketo: folders, programs, email templates, emails and program "my" tokens.

Rows live in one SQLite table ``assets`` (kind folder|program|emailTemplate|email) and ``my_tokens``.
Shapes follow Adobe's Asset API reference: results are lists, folders are ``{"id", "type"}`` (``value``
on reads), ``status`` is draft|approved, timestamps look like ``2014-12-05T02:06:21Z+0000``.
What an email looks like for one person is ``emailrender.py``'s job.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

from localcloud.marketo.envelope import CallError
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

ASSET_SQL = """
CREATE TABLE IF NOT EXISTS assets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, name TEXT NOT NULL,
    folder_id INTEGER, folder_type TEXT, data TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft',
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS assets_kind_name ON assets(kind, name);
CREATE TABLE IF NOT EXISTS my_tokens (
    folder_id INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (folder_id, name));
"""

# The root folders every instance has (Marketing Activities holds programs, Design Studio templates).
ROOT_FOLDERS = ("Marketing Activities", "Design Studio")
# Documented token types the Create Token endpoint accepts; "script block" is a setting (see README).
API_TOKEN_TYPES = ("date", "number", "rich text", "score", "sfdc campaign", "text")
SCRIPT_TOKEN = "script block"
MAX_TOKEN_NAME = 50
NO_ASSETS = "No assets found for the given search criteria."


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ+0000")


@dataclass
class Asset:
    id: int
    kind: str
    name: str
    folder_id: int | None
    folder_type: str | None
    data: dict[str, Any]
    status: str
    created_at: str
    updated_at: str


def _asset(row: sqlite3.Row) -> Asset:
    return Asset(row["id"], row["kind"], row["name"], row["folder_id"], row["folder_type"],
                 json.loads(row["data"]), row["status"], row["created_at"], row["updated_at"])


def parse_folder(raw: Any, what: str = "folder") -> tuple[int, str]:
    """``{"id": 12, "type": "Folder"}`` (as JSON text in a form) -> (12, "Folder")."""
    if raw in (None, ""):
        raise CallError("701", f"{what} cannot be blank")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
        folder_id = int(value["id"])
        folder_type = str(value.get("type") or "Folder")
    except (ValueError, TypeError, KeyError):
        raise CallError("1001", f"Invalid value for {what}: {raw}. Expected {{\"id\":<int>,\"type\":\"Folder|Program\"}}") from None
    if folder_type not in ("Folder", "Program"):
        raise CallError("1001", f"Invalid folder type '{folder_type}'. Required of type 'Folder' or 'Program'")
    return folder_id, folder_type


class AssetOperations:
    def __init__(self, store: Store, settings: Callable[[], Settings]):
        self.store = store
        self.settings = settings
        for statement in ASSET_SQL.split(";"):
            if statement.strip():
                with self.store.transaction() as db:
                    db.execute(statement)
        for name in ROOT_FOLDERS:
            if not self._find("folder", name):
                self._insert("folder", name, None, None, {"description": None, "isSystem": True}, "approved")

    # --- rows -----------------------------------------------------------------------------------
    def _insert(self, kind: str, name: str, folder_id: int | None, folder_type: str | None,
                data: dict[str, Any], status: str = "draft") -> Asset:
        stamp = _now()
        with self.store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO assets(kind, name, folder_id, folder_type, data, status, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, name, folder_id, folder_type, json.dumps(data), status, stamp, stamp),
            )
            asset_id = int(cursor.lastrowid)
        found = self.get(kind, asset_id)
        assert found is not None
        return found

    def _save(self, asset: Asset) -> None:
        asset.updated_at = _now()
        with self.store.transaction() as db:
            db.execute("UPDATE assets SET name=?, data=?, status=?, updated_at=? WHERE id=?",
                       (asset.name, json.dumps(asset.data), asset.status, asset.updated_at, asset.id))

    def get(self, kind: str, asset_id: Any) -> Asset | None:
        try:
            number = int(asset_id)
        except (TypeError, ValueError):
            return None
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM assets WHERE kind=? AND id=?", (kind, number)).fetchone()
        return _asset(row) if row else None

    def require(self, kind: str, asset_id: Any) -> Asset:
        found = self.get(kind, asset_id)
        if found is None:
            raise CallError("702", f"{kind} {asset_id} not found")
        return found

    def _find(self, kind: str, name: str, folder_id: int | None = None) -> list[Asset]:
        sql, params = "SELECT * FROM assets WHERE kind=? AND name=?", [kind, name]
        if folder_id is not None:
            sql += " AND folder_id=?"
            params.append(folder_id)
        with self.store.transaction() as db:
            return [_asset(row) for row in db.execute(sql + " ORDER BY id", params).fetchall()]

    def by_name(self, kind: str, name: str | None, folder: str | None = None) -> list[Asset]:
        if not name:
            raise CallError("701", "name cannot be blank")
        folder_id = parse_folder(folder)[0] if folder else None
        return self._find(kind, name, folder_id)

    def _check_container(self, folder_id: int, folder_type: str) -> None:
        kind = "program" if folder_type == "Program" else "folder"
        if self.get(kind, folder_id) is None:
            raise CallError("702", f"{folder_type} {folder_id} not found")

    def _check_unique(self, kind: str, name: str) -> None:
        if self._find(kind, name):  # asset names are unique in an instance
            raise CallError("709", f"{kind} name '{name}' is already in use")

    # --- views ----------------------------------------------------------------------------------
    def view(self, asset: Asset) -> dict[str, Any]:
        base: dict[str, Any] = {"id": asset.id, "name": asset.name,
                                "description": asset.data.get("description"),
                                "createdAt": asset.created_at, "updatedAt": asset.updated_at}
        folder = ({"type": asset.folder_type, "value": asset.folder_id, "folderName": self._container_name(asset)}
                  if asset.folder_id is not None else None)
        if asset.kind == "folder":
            return {**base, "folderId": {"id": asset.id, "type": "Folder"}, "folderType": "Folder",
                    "parent": folder, "isSystem": bool(asset.data.get("isSystem")), "workspace": "Default"}
        if asset.kind == "program":
            return {**base, "type": asset.data.get("type", "Default"), "channel": asset.data.get("channel"),
                    "folder": folder, "status": "", "workspace": "Default"}
        if asset.kind == "emailTemplate":
            return {**base, "folder": folder, "status": asset.status, "workspace": "Default"}
        data = asset.data
        return {**base, "folder": folder, "template": data.get("template"), "status": asset.status,
                "subject": {"type": "Text", "value": data.get("subject")},
                "fromName": {"type": "Text", "value": data.get("fromName")},
                "fromEmail": {"type": "Text", "value": data.get("fromEmail")},
                "replyEmail": {"type": "Text", "value": data.get("replyEmail")},
                "operational": bool(data.get("operational")), "textOnly": False, "publishToMSI": False,
                "webView": False, "workspace": "Default", "version": 2, "autoCopyToText": True}

    def _container_name(self, asset: Asset) -> str | None:
        kind = "program" if asset.folder_type == "Program" else "folder"
        parent = self.get(kind, asset.folder_id)
        return parent.name if parent else None

    # --- programs -------------------------------------------------------------------------------
    def create_program(self, params: dict[str, str]) -> Asset:
        name = (params.get("name") or "").strip()
        if not name:
            raise CallError("701", "name cannot be blank")
        folder_id, folder_type = parse_folder(params.get("folder"))
        if folder_type != "Folder":
            raise CallError("709", "A program must be created in a folder")
        self._check_container(folder_id, folder_type)
        program_type = params.get("type") or ""
        if program_type not in ("Default", "Email", "Event", "Event with Webinar", "Engagement"):
            raise CallError("1001", f"Invalid value for type: '{program_type}'")
        if not params.get("channel"):
            raise CallError("701", "channel cannot be blank")
        self._check_unique("program", name)
        return self._insert("program", name, folder_id, folder_type,
                            {"type": program_type, "channel": params["channel"],
                             "description": params.get("description")})

    # --- email templates ------------------------------------------------------------------------
    def create_template(self, fields: dict[str, str], content: str | None) -> Asset:
        name = (fields.get("name") or "").strip()
        if not name:
            raise CallError("701", "name cannot be blank")
        if content is None:
            raise CallError("701", "content cannot be blank")
        folder_id, folder_type = parse_folder(fields.get("folder"))
        self._check_container(folder_id, folder_type)
        self._check_unique("emailTemplate", name)
        return self._insert("emailTemplate", name, folder_id, folder_type,
                            {"draft": content, "approved": None, "description": fields.get("description")})

    def update_template_content(self, template_id: Any, content: str | None) -> Asset:
        template = self.require("emailTemplate", template_id)
        if content is None:
            raise CallError("701", "content cannot be blank")
        template.data["draft"] = content
        if template.status == "approved" and template.data.get("approved") != content:
            template.status = "approved with draft"
        self._save(template)
        return template

    def template_content(self, template_id: Any, status: str | None = None) -> dict[str, Any]:
        template = self.require("emailTemplate", template_id)
        which = self._version(template, status)
        return {"id": template.id, "status": which, "content": template.data.get(which)}

    # --- emails ---------------------------------------------------------------------------------
    def create_email(self, params: dict[str, str]) -> Asset:
        name = (params.get("name") or "").strip()
        if not name:
            raise CallError("701", "name cannot be blank")
        folder_id, folder_type = parse_folder(params.get("folder"))
        self._check_container(folder_id, folder_type)
        template = self.require("emailTemplate", params.get("template"))
        self._check_unique("email", name)
        data = {key: params.get(key) for key in ("subject", "fromName", "fromEmail", "replyEmail", "description")}
        data["template"] = template.id
        data["operational"] = str(params.get("operational", "")).lower() == "true"
        return self._insert("email", name, folder_id, folder_type, data)

    def update_email_content(self, email_id: Any, params: dict[str, str]) -> Asset:
        """Subject and sender of an email: each given as {"type": "Text", "value": ...} (or plain text)."""
        email = self.require("email", email_id)
        names = {"subject": "subject", "fromName": "fromName", "fromEmail": "fromEmail", "replyTo": "replyEmail"}
        changed = False
        for given, stored in names.items():
            raw = params.get(given)
            if raw is None:
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
            text = value.get("value") if isinstance(value, dict) else value
            if email.data.get(stored) != text:
                email.data[stored] = text
                changed = True
        if changed and email.status == "approved":
            email.status = "approved with draft"
        self._save(email)
        return email

    # --- approval -------------------------------------------------------------------------------
    def approve(self, kind: str, asset_id: Any) -> Asset:
        asset = self.require(kind, asset_id)
        if kind == "emailTemplate":
            asset.data["approved"] = asset.data.get("draft")
        if kind == "email":
            template = self.require("emailTemplate", asset.data.get("template"))
            if template.status == "draft":
                raise CallError("709", f"Cannot approve: template {template.id} is not approved")
        asset.status = "approved"
        self._save(asset)
        return asset

    def unapprove(self, kind: str, asset_id: Any) -> Asset:
        asset = self.require(kind, asset_id)
        if asset.status == "draft":
            raise CallError("709", f"{kind} {asset.id} is not approved")
        asset.status = "draft"
        self._save(asset)
        return asset

    @staticmethod
    def _version(asset: Asset, status: str | None) -> str:
        wanted = (status or "").lower()
        if wanted not in ("", "draft", "approved"):
            raise CallError("1001", f"Invalid value for status: '{status}'. Required of type 'draft' or 'approved'")
        if wanted == "approved" and asset.status == "draft":
            raise CallError("702", f"{asset.kind} {asset.id} has no approved version")
        if wanted == "":
            wanted = "draft" if asset.status == "draft" else "approved"
        return wanted

    def email_html(self, email: Asset, status: str | None) -> tuple[str, str]:
        """The email's HTML before tokens, and which version it is: the template's (emails stay linked)."""
        version = self._version(email, status)
        template = self.require("emailTemplate", email.data.get("template"))
        html = template.data.get("approved") if version == "approved" else template.data.get("draft")
        if html is None:
            html = template.data.get("draft") or ""
        return html, version

    # --- my tokens ------------------------------------------------------------------------------
    def _token_container(self, folder_id: Any, folder_type: str | None) -> Asset:
        kind = "program" if (folder_type or "Folder") == "Program" else "folder"
        return self.require(kind, folder_id)

    def tokens(self, folder_id: Any, folder_type: str | None) -> list[dict[str, Any]]:
        container = self._token_container(folder_id, folder_type)
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM my_tokens WHERE folder_id=? ORDER BY name", (container.id,)).fetchall()
        return [{"name": row["name"], "type": row["type"], "value": row["value"],
                 "computedUrl": f"/#{'PG' if container.kind == 'program' else 'MF'}{container.id}A1"} for row in rows]

    def token_map(self, folder_id: int) -> dict[str, dict[str, str]]:
        with self.store.transaction() as db:
            rows = db.execute("SELECT * FROM my_tokens WHERE folder_id=?", (folder_id,)).fetchall()
        return {row["name"]: {"type": row["type"], "value": row["value"]} for row in rows}

    def save_token(self, folder_id: Any, params: dict[str, str]) -> Asset:
        container = self._token_container(folder_id, params.get("folderType"))
        for required in ("name", "type", "value", "folderType"):
            if params.get(required) in (None, ""):
                raise CallError("701", f"{required} cannot be blank")
        name, token_type = params["name"], params["type"]
        if len(name) > MAX_TOKEN_NAME:
            raise CallError("1001", f"Token name exceeds {MAX_TOKEN_NAME} characters")
        allowed = API_TOKEN_TYPES + ((SCRIPT_TOKEN,) if self.settings().api_accepts_script_tokens else ())
        if token_type not in allowed:
            raise CallError("1001", f"Invalid value for type: '{token_type}'. Required of type {', '.join(allowed)}")
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO my_tokens(folder_id, name, type, value) VALUES (?, ?, ?, ?)",
                       (container.id, name, token_type, params["value"]))
        return container

    def delete_token(self, folder_id: Any, params: dict[str, str]) -> Asset:
        container = self._token_container(folder_id, params.get("folderType"))
        with self.store.transaction() as db:
            deleted = db.execute("DELETE FROM my_tokens WHERE folder_id=? AND name=? AND type=?",
                                 (container.id, params.get("name"), params.get("type"))).rowcount
        if not deleted:
            raise CallError("702", f"Token '{params.get('name')}' not found")
        return container

    def inherited_tokens(self, asset: Asset) -> dict[str, dict[str, str]]:
        """My tokens an email sees: those of its program and of every folder above, the nearest winning."""
        chain: list[Asset] = []
        current: Asset | None = asset
        while current is not None and current.folder_id is not None and len(chain) < 50:
            kind = "program" if current.folder_type == "Program" else "folder"
            current = self.get(kind, current.folder_id)
            if current is not None:
                chain.append(current)
        tokens: dict[str, dict[str, str]] = {}
        for container in reversed(chain):  # farthest first, so nearer containers override
            tokens.update(self.token_map(container.id))
        return tokens
