"""Compile errors of anonymous Apex point into the user's text: the statements are compiled inside a
wrapper that sits on line 1, so line 1's columns must not include the wrapper, and columns count
characters (as Salesforce's executeAnonymous does), not UTF-8 bytes."""

from __future__ import annotations

import pytest

from localcloud.salesforce.apex import ApexCompileError, ApexProgram


@pytest.fixture(scope="module")
def program() -> ApexProgram:
    return ApexProgram({"Foo.cls": "public class Foo { public static Integer one() { return 1; } }"})


@pytest.mark.parametrize("source, line, column", [
    ("  Integer x = foo;", 1, 15),                                   # semantic error on line 1
    ("Integer y = 1;\n  Integer x = foo;", 2, 15),                   # the same on line 2
    ("String s = 'ééé'; Integer x = foo;", 1, 31),                   # characters, not bytes
    ("Integer x = Foo.two();", 1, 13),                               # unknown method of a deployed class
    ("class A { void m() { Integer x = foo; } }\nInteger q = 1;", 1, 34),  # inside a local class
    ("Integer x = 1;\nSystem.debug(;", 2, 13),                         # syntax error
])
def test_compile_error_positions_point_into_the_users_text(program: ApexProgram, source: str, line: int,
                                                          column: int) -> None:
    with pytest.raises(ApexCompileError) as caught:
        program.execute_anonymous(source)
    assert (caught.value.line, caught.value.column) == (line, column), caught.value.message
    assert str(caught.value).startswith(f"anonymous.apex:{line}:{column}: ")


def test_a_syntax_error_on_line_one_has_the_same_column_as_on_line_two(program: ApexProgram) -> None:
    columns = []
    for source in ("System.debug(;", "Integer x = 1;\nSystem.debug(;"):
        with pytest.raises(ApexCompileError) as caught:
            program.execute_anonymous(source)
        columns.append(caught.value.column)
    assert columns[0] == columns[1] < 20
