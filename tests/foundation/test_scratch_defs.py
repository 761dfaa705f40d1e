"""The scratch org definitions (orgs/*.json) that CumulusCI's org configs point at, checked against the mapping."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from python_tasks.mapping import Mapping, load_mapping, parse_mapping
from python_tasks.scratch_defs import check_definitions, load_definitions, scratch_configs

ROOT = Path(__file__).resolve().parents[2]
CONFIG_NAMES = {"dev", "qa", "feature", "beta", "release"}


def person_account_mapping() -> Mapping:
    text = (ROOT / "ecbridge.yml").read_text()
    for old, new in (("    object: Contact\n", "    object: Account\n    person_account: true\n"),
                     ("{ field: Email, type: email", "{ field: PersonEmail, type: email"),
                     ("{ field: Birthdate,", "{ field: PersonBirthdate,"),
                     ("from: member.Email", "from: member.PersonEmail")):
        assert old in text, old
        text = text.replace(old, new)
    return parse_mapping(text, "ecbridge.yml")


def project_configs() -> dict[str, str]:
    """The org configs as CumulusCI merges them (its own cumulusci.yml, then the project's)."""
    from cumulusci.core.config import BaseProjectConfig, UniversalConfig

    project = BaseProjectConfig(UniversalConfig(), repo_info={"root": str(ROOT)})
    return scratch_configs(project)


def copy_orgs(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "orgs", tmp_path / "orgs")
    return tmp_path


def edit(root: Path, name: str, change: Any) -> None:
    path = root / "orgs" / f"{name}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n")


def test_every_cumulusci_org_config_has_its_own_definition_and_the_shipped_mapping_is_satisfied() -> None:
    configs = project_configs()
    assert CONFIG_NAMES <= set(configs), configs
    assert {name: configs[name] for name in CONFIG_NAMES} == {name: f"orgs/{name}.json" for name in CONFIG_NAMES}
    definitions, problems = load_definitions(configs, ROOT)
    assert problems == []
    found, warnings = check_definitions(load_mapping(ROOT / "ecbridge.yml"), definitions)
    assert found == [] and warnings == []
    editions = {d.config_name: d.edition for d in definitions}
    assert editions["release"] == "Enterprise" and editions["dev"] == "Developer"


def test_a_person_account_member_needs_the_feature_in_every_definition(tmp_path: Path) -> None:
    root = copy_orgs(tmp_path)
    configs = {name: f"orgs/{name}.json" for name in CONFIG_NAMES}
    mapping = person_account_mapping()

    definitions, _ = load_definitions(configs, root)
    found, _ = check_definitions(mapping, definitions)
    assert sorted(p.file for p in found) == sorted(f"orgs/{name}.json" for name in CONFIG_NAMES)
    problem = next(p for p in found if p.file == "orgs/dev.json")
    text = (root / "orgs" / "dev.json").read_text().splitlines()
    assert '"features"' in text[problem.line - 1]
    assert "PersonAccounts is missing" in str(problem) and "salesforce.member.person_account" in str(problem)
    assert 'add "PersonAccounts"' in problem.fix

    for name in CONFIG_NAMES - {"qa"}:
        edit(root, name, lambda d: d.__setitem__("features", [*d["features"], "PersonAccounts"]))
    definitions, _ = load_definitions(configs, root)
    found, _ = check_definitions(mapping, definitions)
    assert [p.file for p in found] == ["orgs/qa.json"], "only the definition still lacking the feature"

    edit(root, "qa", lambda d: d.__setitem__("features", "MultiCurrency;personaccounts"))  # old string form
    definitions, _ = load_definitions(configs, root)
    assert check_definitions(mapping, definitions) == ([], [])

    # the same definitions with a Contact member: allowed, with a warning per file
    found, warnings = check_definitions(load_mapping(ROOT / "ecbridge.yml"), definitions)
    assert found == [] and len(warnings) == len(CONFIG_NAMES)
    assert all("cannot be turned off" in w for w in warnings)


def test_an_edition_without_apex_a_missing_file_and_broken_json_are_each_reported(tmp_path: Path) -> None:
    root = copy_orgs(tmp_path)
    edit(root, "beta", lambda d: d.__setitem__("edition", "Professional"))
    edit(root, "feature", lambda d: d.pop("edition"))
    (root / "orgs" / "qa.json").write_text('{\n  "edition": "Developer",\n  "features": [,]\n}\n')
    configs = {**{name: f"orgs/{name}.json" for name in CONFIG_NAMES}, "extra": "orgs/missing.json"}

    definitions, problems = load_definitions(configs, root)
    found, _ = check_definitions(load_mapping(ROOT / "ecbridge.yml"), definitions)
    messages = {p.file: (p.line, str(p)) for p in problems + found}
    assert set(messages) == {"orgs/beta.json", "orgs/feature.json", "orgs/qa.json", "orgs/missing.json"}
    assert "Professional Edition org cannot run the project's Apex" in messages["orgs/beta.json"][1]
    assert "no edition" in messages["orgs/feature.json"][1]
    assert messages["orgs/qa.json"][0] == 3 and "not valid JSON" in messages["orgs/qa.json"][1]
    assert "`cci org scratch extra`" in messages["orgs/missing.json"][1]


def test_validate_mapping_fails_on_a_definition_missing_a_feature(tmp_path: Path) -> None:
    """The task wires the check in: the definitions' problems fail it before any org call is needed."""
    from python_tasks.validate import ValidateMapping

    class Project:
        repo_root = str(copy_orgs(tmp_path))

        @staticmethod
        def lookup(name: str) -> Any:
            assert name == "orgs__scratch"
            return {name: {"config_file": f"orgs/{name}.json"} for name in CONFIG_NAMES}

    task = ValidateMapping.__new__(ValidateMapping)
    task.project_config = Project()
    task.logger = __import__("logging").getLogger("test")
    problems = task._definition_problems(person_account_mapping())
    assert len(problems) == len(CONFIG_NAMES) and all("PersonAccounts" in str(p) for p in problems)


@pytest.mark.parametrize("name", sorted(CONFIG_NAMES))
def test_definitions_are_scratch_org_shapes(name: str) -> None:
    data = json.loads((ROOT / "orgs" / f"{name}.json").read_text())
    assert set(data) <= {"orgName", "description", "edition", "country", "language", "features", "settings",
                         "hasSampleData", "adminEmail", "release"}
    assert data["orgName"].startswith("ECBridge") and isinstance(data["features"], list)
