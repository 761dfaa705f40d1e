"""``cci task run validate_mapping``: check ecbridge.yml against Salesforce's and Marketo's schemas.

For every mapped field: it exists on both sides, the types are compatible, the Marketo field is
long enough for the Salesforce values, the target is updateable; the lead lookup field is
searchable; each custom object exists with its dedupe field and its link to the lead. Every
problem names the mapping line and suggests a fix; any problem fails the task (non-zero exit).

With ``before_deploy: True`` the Salesforce side of custom fields is read from the generated
metadata in ``force-app`` (the fields do not exist in the org yet) and standard fields from the
org's describes, so the deploy flow can run this first.
"""
from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.utils import process_bool_arg
from cumulusci.tasks.salesforce import BaseSalesforceApiTask

from python_tasks.mapping import (
    MARKETO_COMPATIBLE,
    CustomObjectMapping,
    FieldType,
    Mapping,
    MappingError,
    MarketoField,
    load_mapping,
)
from python_tasks.push.schema import MarketoFieldInfo, MarketoSchema

# Salesforce describe types -> the mapping's field types (what a value of that field is).
SF_DESCRIBE_TYPES: dict[str, FieldType] = {
    "string": FieldType.STRING, "textarea": FieldType.STRING, "phone": FieldType.STRING, "url": FieldType.STRING,
    "id": FieldType.STRING, "reference": FieldType.STRING, "combobox": FieldType.STRING,
    "email": FieldType.EMAIL, "picklist": FieldType.PICKLIST, "multipicklist": FieldType.PICKLIST,
    "date": FieldType.DATE, "datetime": FieldType.DATETIME, "currency": FieldType.CURRENCY,
    "double": FieldType.DECIMAL, "percent": FieldType.DECIMAL, "int": FieldType.INTEGER,
    "long": FieldType.INTEGER, "boolean": FieldType.BOOLEAN,
}
# Metadata API <type> -> describe type (for before_deploy, read from force-app).
METADATA_TYPES = {
    "Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Html": "textarea", "Email": "email",
    "Phone": "phone", "Url": "url", "Number": "double", "Currency": "currency", "Percent": "percent",
    "Checkbox": "boolean", "Date": "date", "DateTime": "datetime", "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist", "Lookup": "reference", "MasterDetail": "reference",
    "AutoNumber": "string",
}
STRING_MARKETO = {"string", "text", "email", "phone", "url", "textarea"}
DEFAULT_MARKETO_LENGTH = {"string": 255, "email": 255, "phone": 255, "url": 255, "text": 65535}


@dataclass(frozen=True)
class SfFieldInfo:
    name: str
    type: str  # describe type: string, email, picklist, datetime, currency, double, ...
    length: int | None = None
    updateable: bool = True
    scale: int | None = None

    @property
    def field_type(self) -> FieldType | None:
        if self.type == "double" and self.scale == 0:
            return FieldType.INTEGER
        return SF_DESCRIBE_TYPES.get(self.type)


@dataclass(frozen=True)
class ValidationProblem:
    file: str
    line: int
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}\n    fix: {self.fix}"


def sf_fields_from_describe(describe: dict[str, Any]) -> dict[str, SfFieldInfo]:
    return {
        f["name"].lower(): SfFieldInfo(f["name"], str(f.get("type") or "string").lower(), f.get("length") or None,
                                       bool(f.get("updateable")), f.get("scale"))
        for f in describe.get("fields", [])
    }


def sf_fields_from_force_app(root: Path, object_name: str) -> dict[str, SfFieldInfo]:
    """Custom fields of one object as the generated metadata defines them."""
    out: dict[str, SfFieldInfo] = {}
    folder = root / "main" / "default" / "objects" / object_name / "fields"
    if not folder.is_dir():
        folder = root / "objects" / object_name / "fields"
    for path in sorted(folder.glob("*.field-meta.xml")) if folder.is_dir() else []:
        tree = ET.parse(path).getroot()

        def text(tag: str) -> str | None:
            node = next((n for n in tree.iter() if n.tag.split("}")[-1] == tag), None)
            return node.text.strip() if node is not None and node.text else None

        name = text("fullName") or path.name.split(".")[0]
        kind = METADATA_TYPES.get(text("type") or "Text", "string")
        length = text("length")
        scale = text("scale")
        out[name.lower()] = SfFieldInfo(name, kind, int(length) if length else None,
                                        (text("type") or "") not in ("AutoNumber", "Formula"),
                                        int(scale) if scale else None)
    return out


def person_fields_from_force_app(root: Path) -> dict[str, SfFieldInfo]:
    """Contact's custom fields in force-app as a person account shows them (``X__c`` -> ``Account.X__pc``)."""
    return {name[:-3] + "__pc": SfFieldInfo(info.name[:-3] + "__pc", info.type, info.length, info.updateable, info.scale)
            for name, info in sf_fields_from_force_app(root, "Contact").items() if name.endswith("__c")}


def _closest(name: str, options: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.75)
    return match[0] if match else None


def _close(name: str, options: Iterable[str]) -> str:
    match = _closest(name, options)
    return f" (did you mean {match}?)" if match else ""


class MappingValidator:
    """Pure checks: give it the schemas, get the problems back."""

    def __init__(self, mapping: Mapping, sf_objects: dict[str, dict[str, SfFieldInfo]], marketo: MarketoSchema,
                 co_describes: dict[str, dict[str, Any] | None]) -> None:
        self.m = mapping
        self.sf = {k.lower(): v for k, v in sf_objects.items()}
        self.mk = marketo
        self.co = co_describes
        self.file = str(mapping.path)
        self.problems: list[ValidationProblem] = []

    def problem(self, line: int, path: str, message: str, fix: str) -> None:
        self.problems.append(ValidationProblem(self.file, line, path, message, fix))

    def sf_field(self, object_name: str, field: str) -> SfFieldInfo | None:
        return self.sf.get(object_name.lower(), {}).get(field.lower())

    def check_sf_exists(self, object_name: str, field: str, line: int, path: str) -> SfFieldInfo | None:
        info = self.sf_field(object_name, field)
        if info is None:
            known = [f.name for f in self.sf.get(object_name.lower(), {}).values()]
            if not known:
                self.problem(line, path, f"Salesforce object {object_name} is not in the org",
                             "run the ecbridge_deploy flow (generate_apex, deploy) or fix the object name")
            else:
                hint = _close(field, known)
                fix = (f"run generate_apex and deploy force-app so the field exists{hint and ', or use' + hint}"
                       if field.endswith("__c") else f"use an existing field of {object_name}{hint}")
                self.problem(line, path, f"{object_name}.{field} does not exist in Salesforce{hint}", fix)
        return info

    def run(self) -> list[ValidationProblem]:
        self.check_org_features()
        self.check_write_back()
        self.check_lead()
        self.check_consent()
        for co in self.m.marketo.custom_objects:
            self.check_custom_object(co)
        return sorted(self.problems, key=lambda p: (p.line, p.path))

    def line_of(self, token: str) -> int:
        """The first line of the mapping file mentioning ``token`` (1 when it is a default)."""
        try:
            for number, line in enumerate(Path(self.m.path).read_text(encoding="utf-8").splitlines(), 1):
                if token in line:
                    return number
        except OSError:
            pass
        return 1

    def check_org_features(self) -> None:
        """The org has the features the mapping needs: Person Accounts for a Person Account member."""
        member = self.m.member
        account = self.sf.get("account", {})
        if member.person_account and account and "ispersonaccount" not in account:
            self.problem(self.line_of("person_account") or member.line, "salesforce.member.person_account",
                         "the org has no Person Accounts (Account has no IsPersonAccount field), which the "
                         "Person Account member needs",
                         "enable Person Accounts in the org (a scratch org: \"PersonAccounts\" in the features of "
                         "its orgs/*.json definition; another org: Salesforce support turns them on), or map "
                         "the member to object: Contact")

    def check_write_back(self) -> None:
        wb = self.m.write_back
        for object_name in (self.m.member.object_name, self.m.order.object_name):
            for field in (wb.marketo_id, wb.pushed_at, wb.error):
                line = self.line_of(field)
                info = self.check_sf_exists(object_name, field, line, f"salesforce.write_back ({object_name})")
                if info is not None and not info.updateable:
                    self.problem(line, f"salesforce.write_back ({object_name})",
                                 f"{object_name}.{field} is not updateable by this user",
                                 "grant edit access in the ECBridge_Integration permission set")

    def check_consent(self) -> None:
        """consent: the EC field is a mapped boolean (checked when the mapping loads); the Salesforce
        opt-out, reason and time fields exist on the member with their types and can be written; the
        Marketo unsubscribed and reason fields exist with their types and can be written over the API."""
        consent = self.m.consent
        if consent is None:
            return
        member = self.m.member.object_name
        wanted_sf = ((consent.opted_out, "opted_out", {FieldType.BOOLEAN}, "Checkbox"),
                     (consent.reason, "reason", {FieldType.STRING}, "Text(255)"),
                     (consent.changed_at, "changed_at", {FieldType.DATETIME}, "DateTime"),
                     (consent.ec_flag, "ec_field", {FieldType.BOOLEAN}, "Checkbox"))
        for name, key, types, shown in wanted_sf:
            path = f"consent.salesforce.{key}" if key != "ec_field" else "consent.ec_field"
            line = self.line_of(name) if key != "ec_field" else consent.ec_field.line
            info = self.check_sf_exists(member, name, line, path)
            if info is None:
                continue
            if info.field_type not in types:
                self.problem(line, path, f"{member}.{name} is a {info.type} field", f"use a {shown} field")
            if not info.updateable:
                self.problem(line, path, f"{member}.{name} is not updateable by this user",
                             f"grant edit access in the {self.m.permission_set} permission set")
            if key == "reason" and info.length and info.length < 255:
                self.problem(line, path, f"{member}.{name} holds {info.length} characters; a reason needs 255",
                             "a Text(255) field")
        wanted_mk = ((consent.unsubscribed, "unsubscribed", {"boolean"}),
                     (consent.unsubscribed_reason, "reason", STRING_MARKETO))
        for name, key, types in wanted_mk:
            path = f"consent.marketo.{key}"
            line = self.line_of(f"{key}: {name}") if self.line_of(f"{key}: {name}") > 1 else consent.line
            target = self.mk.lead.get(name)
            if target is None:
                self.problem(line, path, f"Marketo lead field {name} does not exist{_close(name, self.mk.lead)}",
                             f"{name} is a standard Marketo field: check the API user's field access (Admin > "
                             "Users & Roles > API role) or name the field this instance uses")
                continue
            if target.data_type not in types:
                self.problem(line, path, f"Marketo lead field {name} is a {target.data_type} field",
                             f"a {' or '.join(sorted(types))} field")
            if not target.updateable:
                self.problem(line, path, f"Marketo lead field {name} is not updateable over the API",
                             "give the API user's role write access to it, or name another field")

    def _source_object(self, mf: MarketoField) -> str | None:
        scope = mf.source.scope
        if scope == "member":
            return self.m.member.object_name
        if scope in ("last_order", "order"):
            return self.m.order.object_name
        if scope == "lines":
            return self.m.order_line.object_name
        return None

    def check_pair(self, mf: MarketoField, target: MarketoFieldInfo | None, path: str, *, must_update: bool = True,
                   target_label: str = "Marketo lead", available: Iterable[str] = ()) -> None:
        object_name = self._source_object(mf)
        source_type: FieldType | None = FieldType.INTEGER if mf.source.aggregate == "count" else None
        sf_info = None
        if mf.source.field and object_name:
            sf_info = self.check_sf_exists(object_name, mf.source.field, mf.line, path + ".from")
            if sf_info is not None:
                source_type = sf_info.field_type
        if mf.source.aggregate == "join":
            source_type = FieldType.STRING
        if target is None:
            hint = _close(mf.name, available)
            self.problem(mf.line, path, f"{target_label} field {mf.name} does not exist in Marketo{hint}",
                         f"run provision_marketo (-o apply True), or create it in Marketo (Admin > Field Management) "
                         f"as {mf.type}" if not hint
                         else f"rename it to {_closest(mf.name, available)}, the existing field")
            return
        if must_update and not target.updateable:
            self.problem(mf.line, path, f"{target_label} field {mf.name} is not updateable over the API",
                         "map to a custom Marketo field; system and CRM-managed fields cannot be written")
        if source_type is not None and target.data_type not in MARKETO_COMPATIBLE.get(source_type, frozenset()):
            allowed = ", ".join(sorted(MARKETO_COMPATIBLE.get(source_type, ())))
            self.problem(mf.line, path,
                         f"a Salesforce {source_type.value} ({object_name}.{mf.source.field}) cannot go into the "
                         f"Marketo {target.data_type} field {mf.name}",
                         f"use a Marketo field of type {allowed}, or a different Salesforce field")
        if target.data_type in STRING_MARKETO:
            limit = target.length or DEFAULT_MARKETO_LENGTH.get(target.data_type)
            if mf.source.aggregate == "join":
                if target.data_type != "text":
                    self.problem(mf.line, path, f"joined line values can exceed the {limit} characters of the "
                                 f"Marketo {target.data_type} field {mf.name}",
                                 "use a Marketo text (textarea) field for joined values")
            elif sf_info is not None and sf_info.length and limit and sf_info.length > limit:
                self.problem(mf.line, path,
                             f"{object_name}.{mf.source.field} holds {sf_info.length} characters, Marketo's "
                             f"{mf.name} only {limit}",
                             f"lengthen the Marketo field to {sf_info.length} or shorten the Salesforce field")

    def check_lead(self) -> None:
        lead = self.m.marketo.lead
        for mf in lead.fields:
            self.check_pair(mf, self.mk.lead.get(mf.name), f"marketo.lead.fields.{mf.name}", available=self.mk.lead)
        lookup = lead.lookup_field
        if lookup not in self.mk.lead:
            self.problem(lead.line, "marketo.lead.lookup_field", f"lookup field {lookup} does not exist in Marketo"
                         f"{_close(lookup, self.mk.lead)}", "use email or a searchable custom field such as ecMemberId")
        elif self.mk.searchable and lookup not in self.mk.searchable:
            self.problem(lead.line, "marketo.lead.lookup_field", f"lookup field {lookup} is not searchable in Marketo",
                         "ask Marketo support to make it searchable (string, email or integer custom fields), or use email")
        if lead.field_named(lookup) is None:
            self.problem(lead.line, "marketo.lead.lookup_field", f"lookup field {lookup} is not mapped, so the push "
                         "has no value to find persons by", f"map {lookup} under marketo.lead.fields")

    def check_custom_object(self, co: CustomObjectMapping) -> None:
        path = f"marketo.custom_objects.{co.api_name}"
        describe = self.co.get(co.api_name)
        if not describe:
            self.problem(co.line, path, f"Marketo custom object {co.api_name} does not exist (or is not approved)",
                         "run provision_marketo (-o apply True), or create and approve it in Marketo "
                         "(Admin > Marketo Custom Objects) with the mapped fields")
            return
        fields = MarketoSchema.custom_object_fields(describe)
        dedupe = [name for group in describe.get("dedupeFields") or [] for name in
                  (group if isinstance(group, list) else [group])]
        if co.dedupe_field not in dedupe:
            self.problem(co.line, path + ".dedupe_field",
                         f"{co.dedupe_field} is not a dedupe field of {co.api_name} (dedupe fields: "
                         f"{', '.join(dedupe) or 'none'})", f"make {co.dedupe_field} the object's dedupe field")
        for mf in co.fields:
            self.check_pair(mf, fields.get(mf.name), f"{path}.fields.{mf.name}", must_update=mf.name != co.dedupe_field,
                            target_label=f"{co.api_name}", available=fields)
        if co.link_field not in fields:
            self.problem(co.line, path + ".link.field", f"link field {co.link_field} does not exist on {co.api_name}",
                         "add a link field related to Lead in the custom object")
        links = describe.get("relationships") or []
        if not any(r.get("field") == co.link_field and (r.get("relatedTo") or {}).get("name") == "Lead"
                   and (r.get("relatedTo") or {}).get("field") == co.lead_link_field for r in links):
            self.problem(co.line, path + ".link", f"{co.api_name}.{co.link_field} is not linked to Lead.{co.lead_link_field}",
                         f"define the link field {co.link_field} as a link to Lead {co.lead_link_field}")


class ValidateMapping(BaseSalesforceApiTask):
    task_docs = __doc__

    task_options = {
        "mapping": {"description": "The mapping file (default ecbridge.yml)."},
        "before_deploy": {"description": "Check the Salesforce side against the generated metadata in force-app "
                                         "(custom fields) and the org's describes (standard fields). Default False."},
        "force_app": {"description": "The metadata folder for before_deploy (default force-app)."},
        "scratch_defs": {"description": "Also check the scratch org definitions of the project's org configs "
                                        "(orgs/*.json) against the mapping: edition and features. Default True."},
    }

    def _init_options(self, kwargs: dict[str, Any]) -> None:
        super()._init_options(kwargs)
        self.mapping_path = Path(self.options.get("mapping") or "ecbridge.yml")
        self.before_deploy = process_bool_arg(self.options.get("before_deploy") or False)
        self.force_app = Path(self.options.get("force_app") or "force-app")
        self.scratch_defs = process_bool_arg(self.options.get("scratch_defs", True))

    def _definition_problems(self, mapping: Mapping) -> list[Any]:
        from python_tasks.scratch_defs import check_definitions, load_definitions, scratch_configs

        root = Path(self.project_config.repo_root or ".")
        definitions, problems = load_definitions(scratch_configs(self.project_config), root)
        found, warnings = check_definitions(mapping, definitions)
        for warning in warnings:
            self.logger.warning(warning)
        return [*problems, *found]

    def _describe(self, object_name: str) -> dict[str, SfFieldInfo]:
        try:
            return sf_fields_from_describe(self.sf.restful(f"sobjects/{object_name}/describe"))
        except Exception as error:  # noqa: BLE001 - an object missing from the org is a reported problem
            self.logger.debug(f"describe {object_name}: {error}")
            return {}

    def _run_task(self) -> None:
        from python_tasks.marketo import MarketoClient, MarketoCredentialsMissing, MarketoError, MarketoNotFoundError

        try:
            mapping = load_mapping(self.mapping_path)
        except MappingError as error:
            raise TaskOptionsError(str(error)) from None
        definition_problems = self._definition_problems(mapping) if self.scratch_defs else []
        sf_objects: dict[str, dict[str, SfFieldInfo]] = {}
        for object_name in (mapping.member.object_name, mapping.order.object_name, mapping.order_line.object_name):
            fields = self._describe(object_name)
            if self.before_deploy:
                fields = {**fields, **sf_fields_from_force_app(self.force_app, object_name)}
                if mapping.member.person_account and object_name == mapping.member.object_name and fields:
                    fields = {**fields, **person_fields_from_force_app(self.force_app)}  # Contact's, as __pc
            sf_objects[object_name] = fields
        try:
            client = MarketoClient.from_project(self.project_config)
        except MarketoCredentialsMissing as error:
            raise TaskOptionsError(str(error)) from None
        try:
            lead_fields, searchable = MarketoSchema.lead_fields_from_describe2(client.describe2())
            co_describes: dict[str, dict[str, Any] | None] = {}
            for co in mapping.marketo.custom_objects:
                try:
                    co_describes[co.api_name] = client.describe_custom_object(co.api_name)
                except MarketoNotFoundError:
                    co_describes[co.api_name] = None
        except MarketoError as error:
            raise CumulusCIFailure(f"Marketo: {error}") from None
        finally:
            client.close()
        schema = MarketoSchema(lead=lead_fields, searchable=searchable)
        problems: list[Any] = [*definition_problems, *MappingValidator(mapping, sf_objects, schema, co_describes).run()]
        self.return_values = {"problems": [str(p) for p in problems]}
        if problems:
            for problem in problems:
                self.logger.error(str(problem))
            raise CumulusCIFailure(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                                   f"{self.mapping_path}: see above")
        self.logger.info(f"{self.mapping_path}: every mapped field exists on both sides with compatible types")
        if self.scratch_defs:
            self.logger.info("the scratch org definitions (orgs/*.json) have the edition and features it needs")
