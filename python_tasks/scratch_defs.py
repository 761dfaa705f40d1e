"""The scratch org definitions (``orgs/*.json``) checked against the mapping.

CumulusCI's org configs (``cci org scratch dev|qa|feature|beta|release <name>``) point at these files; a
scratch org made from one must be able to hold what ``ecbridge.yml`` generates:

- its ``edition`` runs Apex (the project's triggers and Apex REST endpoint): Developer or Enterprise (or
  their Partner variants); Group and Professional do not;
- its ``features`` include what the mapping needs: ``PersonAccounts`` when the member is a Person Account.

A definition enabling ``PersonAccounts`` although the member is not one is only warned about: Person
Accounts cannot be turned off again and change how Account behaves, but nothing of ECBridge breaks.
Every problem names the file, the line and the mapping line that needs it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping as MappingType

from python_tasks.mapping import Mapping
from python_tasks.validate import ValidationProblem as DefinitionProblem  # file, line, path, message, fix

#: Editions whose scratch orgs run custom Apex.
APEX_EDITIONS = ("Developer", "Enterprise", "Partner Developer", "Partner Enterprise")
#: Every edition a scratch org definition may name.
EDITIONS = APEX_EDITIONS + ("Group", "Professional", "Partner Group", "Partner Professional")
PERSON_ACCOUNTS = "PersonAccounts"


@dataclass(frozen=True)
class ScratchDefinition:
    """One org config of the project and the definition file it points at."""

    config_name: str  # dev, qa, feature, beta, release
    path: Path
    text: str
    data: dict[str, Any]

    @property
    def edition(self) -> str:
        return str(self.data.get("edition") or "")

    def features(self) -> set[str]:
        """Feature names, lower case, without a quantity (``Feature:10``); a list or the old ``A;B`` string."""
        raw = self.data.get("features") or []
        items = raw.split(";") if isinstance(raw, str) else raw
        return {str(item).split(":")[0].strip().lower() for item in items if str(item).strip()}

    def line_of(self, key: str) -> int:
        """The line of ``"key":`` in the file (1 when it is absent)."""
        token = f'"{key}"'
        for number, line in enumerate(self.text.splitlines(), 1):
            if token in line:
                return number
        return 1


def required_features(mapping: Mapping) -> dict[str, str]:
    """Feature -> why the mapping needs it (a mapping line to point at)."""
    needed: dict[str, str] = {}
    if mapping.member.person_account:
        needed[PERSON_ACCOUNTS] = (f"the member is a Person Account ({mapping.path}:{mapping.member.line} "
                                   "salesforce.member.person_account)")
    return needed


def scratch_configs(project_config: Any) -> dict[str, str]:
    """``orgs: scratch:`` of the project (CumulusCI's defaults merged in): config name -> definition file."""
    configs = project_config.lookup("orgs__scratch") or {}
    return {name: str(config.get("config_file")) for name, config in configs.items()
            if isinstance(config, MappingType) and config.get("config_file")}


def load_definitions(configs: MappingType[str, str], root: Path) -> tuple[list[ScratchDefinition], list[DefinitionProblem]]:
    """Read each definition once (two configs may share a file); a missing or broken file is a problem."""
    definitions: list[ScratchDefinition] = []
    problems: list[DefinitionProblem] = []
    for name, relative in sorted(configs.items()):
        path = root / relative
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            problems.append(DefinitionProblem(relative, 1, f"orgs.scratch.{name}",
                                              f"the definition of `cci org scratch {name}` cannot be read "
                                              f"({error.strerror or error})",
                                              f"create {relative} (see orgs/dev.json) or point "
                                              f"orgs.scratch.{name}.config_file in cumulusci.yml at one"))
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            problems.append(DefinitionProblem(relative, error.lineno, f"orgs.scratch.{name}",
                                              f"not valid JSON: {error.msg} (column {error.colno})",
                                              "fix the JSON syntax"))
            continue
        if not isinstance(data, dict):
            problems.append(DefinitionProblem(relative, 1, f"orgs.scratch.{name}",
                                              "a scratch org definition is a JSON object", 'start from {"edition": ...}'))
            continue
        definitions.append(ScratchDefinition(name, Path(relative), text, data))
    return definitions, problems


def check_definitions(mapping: Mapping, definitions: Iterable[ScratchDefinition]) -> tuple[list[DefinitionProblem], list[str]]:
    """Problems (fail validate_mapping) and warnings (logged) of the definitions against the mapping."""
    problems: list[DefinitionProblem] = []
    warnings: list[str] = []
    needed = required_features(mapping)
    seen: set[Path] = set()
    for definition in definitions:
        if definition.path in seen:
            continue
        seen.add(definition.path)
        file = str(definition.path)
        edition = definition.edition
        if edition not in EDITIONS:
            problems.append(DefinitionProblem(file, definition.line_of("edition"), "edition",
                                              f"edition {edition!r} is not a scratch org edition" if edition
                                              else "no edition (it is required)",
                                              f"use one of {', '.join(APEX_EDITIONS)}"))
        elif edition not in APEX_EDITIONS:
            problems.append(DefinitionProblem(file, definition.line_of("edition"), "edition",
                                              f"a {edition} Edition org cannot run the project's Apex (triggers, "
                                              "Apex REST endpoint)", f"use one of {', '.join(APEX_EDITIONS)}"))
        features = definition.features()
        for feature, reason in needed.items():
            if feature.lower() not in features:
                problems.append(DefinitionProblem(file, definition.line_of("features"), "features",
                                                  f"feature {feature} is missing: {reason}",
                                                  f'add "{feature}" to "features"'))
        if PERSON_ACCOUNTS.lower() in features and PERSON_ACCOUNTS not in needed:
            warnings.append(f"{file}:{definition.line_of('features')}: enables {PERSON_ACCOUNTS} although the "
                            f"mapping's member is a {mapping.member.object_name}; Person Accounts cannot be "
                            "turned off again")
    return problems, warnings
