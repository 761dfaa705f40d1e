"""A Metadata API deploy zip, read into components: what each file is and which type it belongs to.

Metadata API format (what ``sf project convert source`` writes and CumulusCI zips): ``package.xml``
at the root (possibly under one top folder), ``objects/X.object``, ``permissionsets/X.permissionset``,
``classes/X.cls`` + ``X.cls-meta.xml``, ``triggers/X.trigger`` + ``X.trigger-meta.xml``, and any
other folder Salesforce knows.
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

MD_NS = "http://soap.sforce.com/2006/04/metadata"

# folder -> (metadata type, file suffix). Types not listed are accepted and kept as-is.
FOLDER_TYPES: dict[str, tuple[str, str]] = {
    "objects": ("CustomObject", ".object"),
    "permissionsets": ("PermissionSet", ".permissionset"),
    "classes": ("ApexClass", ".cls"),
    "triggers": ("ApexTrigger", ".trigger"),
    "layouts": ("Layout", ".layout"),
    "tabs": ("CustomTab", ".tab"),
    "applications": ("CustomApplication", ".app"),
    "profiles": ("Profile", ".profile"),
    "staticresources": ("StaticResource", ".resource"),
    "remoteSiteSettings": ("RemoteSiteSetting", ".remoteSite"),
    "namedCredentials": ("NamedCredential", ".namedCredential"),
    "customMetadata": ("CustomMetadata", ".md"),
    "labels": ("CustomLabels", ".labels"),
    "pages": ("ApexPage", ".page"),
    "flexipages": ("FlexiPage", ".flexipage"),
    "lwc": ("LightningComponentBundle", ""),
    "aura": ("AuraDefinitionBundle", ""),
    "reportTypes": ("ReportType", ".reportType"),
    "globalValueSets": ("GlobalValueSet", ".globalValueSet"),
    "platformEventChannelMembers": ("PlatformEventChannelMember", ".platformEventChannelMember"),
    "cachePartitions": ("PlatformCachePartition", ".cachePartition"),
    "customPermissions": ("CustomPermission", ".customPermission"),
    "groups": ("Group", ".group"),
    "queues": ("Queue", ".queue"),
    "flows": ("Flow", ".flow"),
    "approvalProcesses": ("ApprovalProcess", ".approvalProcess"),
    "workflows": ("Workflow", ".workflow"),
    "permissionsetgroups": ("PermissionSetGroup", ".permissionsetgroup"),
}
# Types kept in folders: ``reports/<Folder>/<Name>.report`` is ``<Folder>/<Name>``, and the folder
# itself is ``reports/<Folder>-meta.xml``, a member ``<Folder>`` of the same type.
FOLDERED_TYPES: dict[str, tuple[str, str]] = {
    "reports": ("Report", ".report"),
    "dashboards": ("Dashboard", ".dashboard"),
    "email": ("EmailTemplate", ".email"),
    "documents": ("Document", ""),
}


class DeployPackageError(Exception):
    """The zip itself cannot be deployed (not a zip, no package.xml, unreadable XML)."""


@dataclass
class Component:
    type: str
    full_name: str
    file_name: str  # path inside the zip, relative to the package root, e.g. "classes/Foo.cls"
    body: bytes
    meta_xml: bytes | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8-sig")


@dataclass
class DeployPackage:
    api_version: str | None
    declared: dict[str, list[str]]  # type -> members, from package.xml
    components: list[Component] = field(default_factory=list)
    destructive: dict[str, list[str]] = field(default_factory=dict)

    def of_type(self, type_name: str) -> list[Component]:
        return [c for c in self.components if c.type == type_name]


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child_text(element: Element, name: str, default: str | None = None) -> str | None:
    for child in element:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return default


def children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local(child.tag) == name]


def parse_xml(data: bytes, file_name: str) -> Element:
    try:
        return fromstring(data)
    except Exception as error:  # defusedxml raises several types
        raise DeployPackageError(f"{file_name}: not well-formed XML: {error}") from error


def _package_manifest(data: bytes, file_name: str) -> tuple[str | None, dict[str, list[str]]]:
    root = parse_xml(data, file_name)
    declared: dict[str, list[str]] = {}
    for types in children(root, "types"):
        name = child_text(types, "name") or ""
        declared.setdefault(name, []).extend((m.text or "").strip() for m in children(types, "members"))
    return child_text(root, "version"), declared


def read_deploy_zip(zip_bytes: bytes) -> DeployPackage:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except zipfile.BadZipFile as error:
        raise DeployPackageError(f"The deploy payload is not a zip file: {error}") from error
    names = [n for n in archive.namelist() if not n.endswith("/")]
    manifests = sorted((n for n in names if posixpath.basename(n) == "package.xml"), key=len)
    if not manifests:
        raise DeployPackageError("No package.xml found")
    root = posixpath.dirname(manifests[0])
    prefix = root + "/" if root else ""
    version, declared = _package_manifest(archive.read(manifests[0]), "package.xml")
    package = DeployPackage(api_version=version, declared=declared)
    for extra in ("destructiveChanges.xml", "destructiveChangesPre.xml", "destructiveChangesPost.xml"):
        if prefix + extra in names:
            _, destroyed = _package_manifest(archive.read(prefix + extra), extra)
            for type_name, members in destroyed.items():
                package.destructive.setdefault(type_name, []).extend(members)

    files = {n[len(prefix):]: n for n in names if n.startswith(prefix)}
    for relative, full in sorted(files.items()):
        folder, _, rest = relative.partition("/")
        if folder in FOLDERED_TYPES and rest:
            if "/" in rest and rest.endswith("-meta.xml"):
                continue  # the sidecar of a component in a folder, read with it
            package.components.append(_foldered(archive, names, relative, full, folder, rest))
            continue
        if relative in ("package.xml",) or relative.startswith("destructiveChanges") or relative.endswith("-meta.xml"):
            continue
        if not rest:
            continue
        type_name, suffix = FOLDER_TYPES.get(folder, (folder, ""))
        if suffix and rest.endswith(suffix) and "/" not in rest:
            full_name = rest[: -len(suffix)]
        else:
            full_name = rest.split("/")[0].rsplit(".", 1)[0] if "/" in rest else rest.rsplit(".", 1)[0]
        meta_name = full + "-meta.xml"
        package.components.append(
            Component(
                type=type_name,
                full_name=full_name,
                file_name=relative,
                body=archive.read(full),
                meta_xml=archive.read(meta_name) if meta_name in names else None,
            )
        )
    return package


def _foldered(archive: zipfile.ZipFile, names: list[str], relative: str, full: str, folder: str,
              rest: str) -> Component:
    """A folder (``reports/F-meta.xml``) or a component in one (``reports/F/N.report``)."""
    type_name, suffix = FOLDERED_TYPES[folder]
    if "/" not in rest and rest.endswith("-meta.xml"):
        return Component(type=type_name, full_name=rest[: -len("-meta.xml")], file_name=relative,
                         body=archive.read(full))
    name = rest[: -len(suffix)] if suffix and rest.endswith(suffix) else rest
    meta_name = full + "-meta.xml"
    return Component(type=type_name, full_name=name, file_name=relative, body=archive.read(full),
                     meta_xml=archive.read(meta_name) if meta_name in names else None)
