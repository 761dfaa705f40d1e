"""The offline Apex checks pass on the generated force-app, and each one fails on the kind of
breakage it exists to catch."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks import checks

ROOT = Path(__file__).resolve().parents[2]
CLASSES = Path("force-app/main/default/classes")


@pytest.fixture(scope="module")
def tools() -> checks.Tools:
    return checks.find_tools(ROOT)


def test_the_real_force_app_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert checks.main(["--path", str(ROOT / "force-app")]) == 0
    out = capsys.readouterr().out
    for step in ("prettier-plugin-apex", "PMD 7 Apex", "apex-ls CheckForIssues"):
        assert f"[ok] {step}" in out
    assert "--check" in out and "PmdCli" in out and "CheckForIssues -n -w" in out, "each step prints what it ran"


def test_unformatted_apex_fails_prettier(project_copy: Path, tools: checks.Tools) -> None:
    path = project_copy / CLASSES / "ECBridgeValues.cls"
    path.write_text(path.read_text().replace("  public static String describe(Object value) {",
                                             "  public static String describe( Object value ){"))
    result = checks.check_prettier(project_copy / "force-app", tools)
    assert not result.ok
    assert "not formatted" in result.summary
    assert result.details == ["main/default/classes/ECBridgeValues.cls"]


def test_soql_in_a_loop_and_missing_sharing_fail_pmd_unless_justified(project_copy: Path, tools: checks.Tools,
                                                                     tmp_path: Path) -> None:
    (project_copy / CLASSES / "Leaky.cls").write_text(
        "public class Leaky {\n"
        "  public static Integer count(List<String> names) {\n"
        "    Integer total = 0;\n"
        "    for (String name : names) {\n"
        "      total += [SELECT COUNT() FROM Contact WHERE LastName = :name WITH USER_MODE];\n"
        "    }\n"
        "    return total;\n"
        "  }\n"
        "}\n"
    )
    (project_copy / CLASSES / "Unshared.cls").write_text(
        "public class Unshared {\n  public static List<Contact> all() {\n"
        "    return [SELECT Id FROM Contact WHERE LastName != NULL WITH USER_MODE LIMIT 10];\n  }\n}\n"
    )
    baseline = tmp_path / "baseline.txt"
    baseline.write_text(checks.BASELINE.read_text()
                        + "main/default/classes/Unshared.cls ApexSharingViolations # a test of the baseline itself\n")
    result = checks.check_pmd(project_copy / "force-app", tools, baseline=baseline)
    assert not result.ok
    joined = "\n".join(result.details)
    assert "main/default/classes/Leaky.cls:5: OperationWithLimitsInLoop" in joined, joined
    assert "main/default/classes/Leaky.cls:1: ApexSharingViolations" in joined, joined
    assert "Unshared.cls" not in joined, "the justified baseline entry excuses its finding"
    assert result.summary.startswith("2 finding(s)")


def test_a_baseline_entry_without_justification_is_refused(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.txt"
    baseline.write_text("main/default/classes/Unshared.cls ApexSharingViolations\n")
    with pytest.raises(ValueError, match="justification"):
        checks.load_baseline(baseline)


def test_an_unknown_field_and_a_type_error_fail_apex_ls(project_copy: Path, tools: checks.Tools) -> None:
    service = project_copy / CLASSES / "ECBridgeEventParser.cls"
    text = service.read_text()
    assert "draft.Quantity__c = " in text
    service.write_text(text.replace("draft.Quantity__c = ", "draft.Quantity_Typo__c = "))
    values = project_copy / CLASSES / "ECBridgeDateValues.cls"
    values.write_text(values.read_text().replace("Integer year = Integer.valueOf(parts.group(1));",
                                                 "Integer year = parts.group(1);", 1))
    result = checks.check_apex_ls(project_copy / "force-app", tools)
    assert not result.ok
    assert any("ECBridgeEventParser.cls" in line and "Unknown field 'Quantity_Typo__c'" in line
               for line in result.details), result.details
    assert any("ECBridgeDateValues.cls" in line and "Incompatible types" in line for line in result.details), result.details


def test_a_syntax_error_fails_prettier_and_the_command(project_copy: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (project_copy / CLASSES / "Broken.cls").write_text("public with sharing class Broken {\n  void x( {\n}\n")
    assert checks.main(["--path", str(project_copy / "force-app")]) == 1
    out, err = capsys.readouterr()
    assert "check_apex: FAILED (prettier-plugin-apex" in err
    assert "[FAILED] prettier-plugin-apex (parse + format)" in out and "does not parse" in out
    assert "Broken.cls" in out


def test_the_shipped_baseline_is_short_justified_and_about_real_files() -> None:
    entries = checks.load_baseline()
    assert len(entries) <= 3, "the baseline stays short"
    for entry in entries:
        assert len(entry.justification) > 20, entry
        assert list((ROOT / "force-app").glob(entry.pattern)), f"{entry.pattern} matches no file"
