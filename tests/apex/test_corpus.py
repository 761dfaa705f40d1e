"""The Apex corpus: each corpus/<name>.apex is anonymous Apex; corpus/<name>.out holds the expected
System.debug lines, and a last line `!! <ExceptionType>: <message>` when the run must end with an
uncaught exception, or only `!! COMPILE: <text>` when loading must fail with a compile error.

Programs whose name contains `_db_` run against a real local-org store (the project's custom objects
applied); each runs in its own transaction, rolled back afterwards. `<name>.trigger` (optional) holds
triggers deployed for that program (several triggers separated by a line `// ----`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.salesforce.apex import ApexCompileError, ApexProgram
from localcloud.salesforce.apex.orgruntime import ApexRuntime

from .orgfixture import make_store

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.apex"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = make_store(tmp_path_factory.mktemp("apexcorpus"))
    yield s
    s.close()


def run_case(name: str, store=None) -> list[str]:
    src = (CORPUS / f"{name}.apex").read_text()
    try:
        if store is None:
            prog = ApexProgram()
        else:
            trig_file = CORPUS / f"{name}.trigger"
            sources = {}
            if trig_file.exists():
                for i, part in enumerate(trig_file.read_text().split("// ----\n")):
                    sources[f"{name}_{i}.trigger"] = part
            prog = ApexRuntime(store, sources).program
        res = prog.execute_anonymous(src, file=f"{name}.apex", commit=False)
    except ApexCompileError as e:
        return [f"!! COMPILE: {e.message}"]
    lines = "\n".join(res.debug_log).split("\n") if res.debug_log else []
    if not res.success:
        lines.append(f"!! {res.exception_type}: {res.exception_message}")
    return lines


@pytest.mark.parametrize("name", CASES)
def test_corpus(name: str, request) -> None:
    expected = (CORPUS / f"{name}.out").read_text().rstrip("\n").split("\n")
    store = request.getfixturevalue("store") if "_db_" in name else None
    got = run_case(name, store)
    if expected and expected[-1].startswith("!! COMPILE: "):
        assert len(got) == 1 and got[0].startswith("!! COMPILE: "), got
        assert expected[-1][len("!! COMPILE: "):] in got[0], got
        return
    assert got == expected


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 150, len(CASES)
