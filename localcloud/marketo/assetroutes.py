"""The /rest/asset/v1 routes: programs, folders, email templates, emails (with full content) and tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from localcloud.common.httpserver import Response
from localcloud.marketo.assets import NO_ASSETS, Asset, AssetOperations
from localcloud.marketo.bulk import parse_multipart
from localcloud.marketo.emailrender import EmailRenderer
from localcloud.marketo.envelope import CallError, success

if TYPE_CHECKING:
    from localcloud.marketo.service import Call

ID = r"(?P<id>\d+)"
BASE = r"/rest/asset/v1"


class AssetRoutes:
    def __init__(self, assets: AssetOperations, renderer: EmailRenderer):
        self.assets = assets
        self.renderer = renderer

    def register(self, add: Callable[[str, str, Callable[["Call"], Response]], None]) -> None:
        for kind, single, plural in (("folder", "folder", None), ("program", "program", "programs"),
                                     ("emailTemplate", "emailTemplate", "emailTemplates"),
                                     ("email", "email", "emails")):
            add("GET", rf"{BASE}/{single}/byName\.json", self._by_name(kind))
            add("GET", rf"{BASE}/{single}/{ID}\.json", self._by_id(kind))
            if kind in ("emailTemplate", "email"):
                add("POST", rf"{BASE}/{single}/{ID}/approveDraft\.json", self._approve(kind))
                add("POST", rf"{BASE}/{single}/{ID}/unapprove\.json", self._unapprove(kind))
        add("POST", rf"{BASE}/programs\.json", self._create_program)
        add("POST", rf"{BASE}/emailTemplates\.json", self._create_template)
        add("GET", rf"{BASE}/emailTemplate/{ID}/content\.json", self._template_content)
        add("POST", rf"{BASE}/emailTemplate/{ID}/content\.json", self._update_template_content)
        add("POST", rf"{BASE}/emails\.json", self._create_email)
        add("GET", rf"{BASE}/email/{ID}/fullContent\.json", self._full_content)
        add("POST", rf"{BASE}/email/{ID}/content\.json", self._update_email_content)
        add("GET", rf"{BASE}/folder/{ID}/tokens\.json", self._tokens)
        add("POST", rf"{BASE}/folder/{ID}/tokens\.json", self._save_token)
        add("POST", rf"{BASE}/folder/{ID}/tokens/delete\.json", self._delete_token)

    # --- helpers --------------------------------------------------------------------------------
    def _answer(self, call: "Call", assets: list[Asset]) -> Response:
        if not assets:  # Marketo: success with a warning, no result member
            return success(call.request_id, include_result=False, warnings=[NO_ASSETS])
        return success(call.request_id, [self.assets.view(asset) for asset in assets])

    @staticmethod
    def _multipart(call: "Call") -> dict[str, str]:
        parts = parse_multipart(call.request.headers.get("Content-Type") or "", call.request.body)
        fields = {name: content.decode("utf-8", "replace") for name, (content, _) in parts.items()}
        return {**call.params, **fields}

    # --- reads ----------------------------------------------------------------------------------
    def _by_name(self, kind: str) -> Callable[["Call"], Response]:
        return lambda call: self._answer(call, self.assets.by_name(kind, call.arg("name"), call.arg("folder")))

    def _by_id(self, kind: str) -> Callable[["Call"], Response]:
        def handler(call: "Call") -> Response:
            found = self.assets.get(kind, call.path_params["id"])
            return self._answer(call, [found] if found else [])

        return handler

    def _template_content(self, call: "Call") -> Response:
        return success(call.request_id, [self.assets.template_content(call.path_params["id"], call.arg("status"))])

    def _full_content(self, call: "Call") -> Response:
        email = self.assets.require("email", call.path_params["id"])
        content_type = (call.arg("type") or "HTML")
        if content_type.lower() not in ("html", "text"):
            raise CallError("1001", f"Invalid value for type: '{content_type}'. Required of type 'HTML' or 'Text'")
        html, version = self.renderer.render(email, call.arg("leadId"), call.arg("status"))
        if content_type.lower() == "text":
            html = _text_of(html)
        return success(call.request_id, [{"id": email.id, "status": version, "content": html}])

    def _tokens(self, call: "Call") -> Response:
        folder_id, folder_type = call.path_params["id"], call.arg("folderType")
        container = self.assets._token_container(folder_id, folder_type)
        return success(call.request_id, [self._token_result(container, folder_type)])

    def _token_result(self, container: Asset, folder_type: str | None) -> dict[str, Any]:
        return {"folder": {"type": folder_type or "Folder", "value": container.id},
                "tokens": self.assets.tokens(container.id, folder_type)}

    # --- writes ---------------------------------------------------------------------------------
    def _create_program(self, call: "Call") -> Response:
        return success(call.request_id, [self.assets.view(self.assets.create_program(call.params))])

    def _create_template(self, call: "Call") -> Response:
        fields = self._multipart(call)
        template = self.assets.create_template(fields, fields.get("content"))
        return success(call.request_id, [self.assets.view(template)])

    def _update_template_content(self, call: "Call") -> Response:
        fields = self._multipart(call)
        template = self.assets.update_template_content(call.path_params["id"], fields.get("content"))
        return success(call.request_id, [{"id": template.id}])

    def _create_email(self, call: "Call") -> Response:
        return success(call.request_id, [self.assets.view(self.assets.create_email(call.params))])

    def _update_email_content(self, call: "Call") -> Response:
        email = self.assets.update_email_content(call.path_params["id"], call.params)
        return success(call.request_id, [{"id": email.id}])

    def _approve(self, kind: str) -> Callable[["Call"], Response]:
        def handler(call: "Call") -> Response:
            asset = self.assets.approve(kind, call.path_params["id"])
            return success(call.request_id, [self.assets.view(asset)])

        return handler

    def _unapprove(self, kind: str) -> Callable[["Call"], Response]:
        def handler(call: "Call") -> Response:
            asset = self.assets.unapprove(kind, call.path_params["id"])
            return success(call.request_id, [{"id": asset.id}])

        return handler

    def _save_token(self, call: "Call") -> Response:
        container = self.assets.save_token(call.path_params["id"], call.params)
        return success(call.request_id, [self._token_result(container, call.arg("folderType"))])

    def _delete_token(self, call: "Call") -> Response:
        container = self.assets.delete_token(call.path_params["id"], call.params)
        return success(call.request_id, [{"id": container.id}])


def _text_of(html: str) -> str:
    import re

    text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6])>", "\n", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
