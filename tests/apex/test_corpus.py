"""The Apex corpus: each corpus/<name>.apex is anonymous Apex; corpus/<name>.out holds the expected
System.debug lines, and a last line `!! <ExceptionType>: <message>` when the run must end with an
uncaught exception, or only `!! COMPILE: <text>` when loading must fail with a compile error."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.salesforce.apex import ApexCompileError, ApexProgram

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.apex"))


def run_case(name: str) -> list[str]:
    src = (CORPUS / f"{name}.apex").read_text()
    prog = ApexProgram()
    try:
        res = prog.execute_anonymous(src, file=f"{name}.apex")
    except ApexCompileError as e:
        return [f"!! COMPILE: {e.message}"]
    lines = "\n".join(res.debug_log).split("\n") if res.debug_log else []
    if not res.success:
        lines.append(f"!! {res.exception_type}: {res.exception_message}")
    return lines


@pytest.mark.parametrize("name", CASES)
def test_corpus(name: str) -> None:
    expected = (CORPUS / f"{name}.out").read_text().rstrip("\n").split("\n")
    got = run_case(name)
    if expected and expected[-1].startswith("!! COMPILE: "):
        assert len(got) == 1 and got[0].startswith("!! COMPILE: "), got
        assert expected[-1][len("!! COMPILE: "):] in got[0], got
        return
    assert got == expected


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 70, len(CASES)
