"""A source-format force-app directory as a Metadata API zip (objects merged with their fields and list
views, classes, triggers, apps, tabs, report types, reports, permission sets and a package.xml naming
them), for tests that deploy over SOAP."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
FORCE_APP = ROOT / "force-app" / "main" / "default"
API = "62.0"
_GENERATED_COMMENT = re.compile(r"^\s*<!--.*?-->\s*\n", re.M)


def _strip_comment(text: str) -> str:
    return _GENERATED_COMMENT.sub("", text, count=1)


def force_app_mdapi_zip(include_tests: bool = True, source: Path = FORCE_APP) -> bytes:
    """``source`` (a force-app/main/default directory) as a Metadata API zip: objects merged with their
    fields, classes, triggers and permission sets, with a package.xml naming them."""
    files: dict[str, str] = {}
    members: dict[str, list[str]] = {"CustomObject": [], "ApexClass": [], "ApexTrigger": [], "PermissionSet": []}
    for obj_dir in sorted((source / "objects").iterdir()):
        name = obj_dir.name
        meta = obj_dir / f"{name}.object-meta.xml"
        head = _strip_comment(meta.read_text()) if meta.exists() else (
            '<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n</CustomObject>\n')
        fields = []
        for field in sorted((obj_dir / "fields").glob("*.field-meta.xml")):
            body = re.search(r"<CustomField[^>]*>(.*)</CustomField>", field.read_text(), re.S).group(1)
            fields.append(f"    <fields>{body}</fields>\n")
        for view in sorted((obj_dir / "listViews").glob("*.listView-meta.xml")):
            body = re.search(r"<ListView[^>]*>(.*)</ListView>", view.read_text(), re.S).group(1)
            fields.append(f"    <listViews>{body}</listViews>\n")
        text = head.replace("</CustomObject>", "".join(fields) + "</CustomObject>")
        files[f"objects/{name}.object"] = text
        members["CustomObject"].append(name)
    for kind, folder, suffix in (("ApexClass", "classes", ".cls"), ("ApexTrigger", "triggers", ".trigger")):
        for code in sorted((source / folder).glob(f"*{suffix}")):
            if not include_tests and code.stem.endswith("Test"):
                continue
            files[f"{folder}/{code.name}"] = code.read_text()
            files[f"{folder}/{code.name}-meta.xml"] = _strip_comment(Path(str(code) + "-meta.xml").read_text())
            members[kind].append(code.stem)
    for kind, folder, suffix in (("CustomApplication", "applications", "app"), ("CustomTab", "tabs", "tab"),
                                 ("ReportType", "reportTypes", "reportType")):
        for item in sorted((source / folder).glob(f"*.{suffix}-meta.xml")):
            name = item.name[: -len(f".{suffix}-meta.xml")]
            files[f"{folder}/{name}.{suffix}"] = _strip_comment(item.read_text())
            members.setdefault(kind, []).append(name)
    for folder_meta in sorted((source / "reports").glob("*.reportFolder-meta.xml")):
        folder = folder_meta.name[: -len(".reportFolder-meta.xml")]
        files[f"reports/{folder}-meta.xml"] = _strip_comment(folder_meta.read_text())
        members.setdefault("Report", []).append(folder)
        for report in sorted((source / "reports" / folder).glob("*.report-meta.xml")):
            name = report.name[: -len(".report-meta.xml")]
            files[f"reports/{folder}/{name}.report"] = _strip_comment(report.read_text())
            members["Report"].append(f"{folder}/{name}")
    for permset in sorted((source / "permissionsets").glob("*.permissionset-meta.xml")):
        name = permset.name.split(".")[0]
        files[f"permissionsets/{name}.permissionset"] = _strip_comment(permset.read_text())
        members["PermissionSet"].append(name)
    files["package.xml"] = package_xml(members)
    return zip_files(files)


def package_xml(members: Mapping[str, Sequence[str]], api: str = API) -> str:
    """A package.xml naming ``members`` by metadata type ("*" for all); types without members are left out."""
    types = "".join(f"    <types>{''.join(f'<members>{m}</members>' for m in names)}<name>{kind}</name></types>\n"
                    for kind, names in members.items() if names)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            f"{types}    <version>{api}</version>\n</Package>\n")


def zip_files(files: Mapping[str, str], root: str = "") -> bytes:
    """``files`` (path in the zip -> text) as a zip, every path under ``root``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(root + name, text)
    return buffer.getvalue()
