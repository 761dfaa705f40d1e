"""The formula engine on its own: operators, functions, blanks, types checked at build time, errors
naming the formula and the column."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from localcloud.salesforce.formula import (FormulaRuntimeError, FormulaSyntaxError, FormulaTypeError, FType,
                                           MappingResolver, build)

TYPES = {
    "Name": FType.TEXT, "Amount": FType.NUMBER, "Discount": FType.NUMBER, "Stage": FType.PICKLIST,
    "Tags": FType.MULTIPICKLIST, "CloseDate": FType.DATE, "Created": FType.DATETIME, "Active": FType.BOOLEAN,
    "Account.Name": FType.TEXT, "Account.Owner.Email": FType.TEXT, "At": FType.TIME, "Blank": FType.TEXT,
}
RESOLVER = MappingResolver(TYPES)
RECORD = {
    "Name": "Acme Corp", "Amount": Decimal("150.50"), "Discount": None, "Stage": "Closed Won",
    "Tags": "Red;Blue", "CloseDate": dt.date(2024, 1, 31), "Active": True, "Blank": "",
    "Created": dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.timezone.utc), "At": dt.time(10, 30),
    "Account": {"Name": "Parent Co", "Owner": {"Email": "o@example.com"}},
}
NOW = dt.datetime(2024, 6, 15, 23, 30, tzinfo=dt.timezone.utc)


def ev(source: str, record: dict | None = None, **kw):
    opts = {k: kw.pop(k) for k in ("null_as_zero", "template") if k in kw}
    return build(source, RESOLVER, kw.pop("rtype", None), **opts).evaluate(
        RECORD if record is None else record, now=NOW, today=dt.date(2024, 6, 16), **kw)


@pytest.mark.parametrize("source, expected", [
    ("1 + 2 * 3", Decimal(7)), ("(1 + 2) * 3", Decimal(9)), ("2 ^ 10", Decimal(1024)), ("-2 ^ 2", Decimal(-4)),
    ("10 / 4", Decimal("2.5")), ("1 / 3 * 3", Decimal("0.9999999999999999999999999999999999")),
    ("Amount - 0.5", Decimal("150.00")), ('"a" & "b" + "c"', "abc"),
    ('Name = "Acme Corp"', True), ('Name == "acme corp"', False), ('Name <> "x"', True), ('Name != "x"', True),
    ("Amount > 100 && Amount <= 150.5", True), ("Amount < 100 || !Active", False), ("NOT(Active)", False),
    ('"b" > "a"', True), ("CloseDate < DATE(2024, 2, 1)", True),
])
def test_operators(source, expected) -> None:
    assert ev(source) == expected


def test_precedence_of_concatenation_and_comparison() -> None:
    assert ev('Name & "!" = "Acme Corp!"') is True
    assert ev("1 + 1 = 2 && 2 * 2 = 4") is True


def test_relationship_paths_read_parents_and_missing_parents_are_blank() -> None:
    assert ev('Account.Name & " / " & Account.Owner.Email') == "Parent Co / o@example.com"
    assert ev("ISBLANK(Account.Owner.Email)", {"Account": None}) is True


@pytest.mark.parametrize("source, expected", [
    ('IF(Amount > 100, "big", "small")', "big"), ('CASE(Stage, "Closed Won", 1, "Closed Lost", 2, 0)', Decimal(1)),
    ('CASE(Name, "x", "X", "other")', "other"), ("AND(Active, Amount > 1, TRUE)", True), ("OR(FALSE, NOT(Active))", False),
    ("ISBLANK(Discount)", True), ("ISBLANK(Blank)", True), ("ISNULL(Blank)", False), ("ISNULL(Discount)", True),
    ("BLANKVALUE(Discount, 5)", Decimal(5)), ("NULLVALUE(Amount, 5)", Decimal("150.50")),
    ('BLANKVALUE(Blank, "none")', "none"),
    ('ISPICKVAL(Stage, "Closed Won")', True), ('INCLUDES(Tags, "Blue")', True), ('INCLUDES(Tags, "Green")', False),
    ("TEXT(Stage)", "Closed Won"), ("TEXT(Amount)", "150.5"), ("TEXT(CloseDate)", "2024-01-31"),
    ("TEXT(Created)", "2024-03-01 12:00:00Z"), ('VALUE("42.5") + 1', Decimal("43.5")),
    ("LEN(Name)", Decimal(9)), ("LEFT(Name, 4)", "Acme"), ("RIGHT(Name, 4)", "Corp"), ("MID(Name, 6, 2)", "Co"),
    ("UPPER(Name)", "ACME CORP"), ("LOWER(Name)", "acme corp"), ('TRIM("  x  ")', "x"),
    ('CONTAINS(Name, "me C")', True), ('BEGINS(Name, "acme")', False), ('FIND("Corp", Name)', Decimal(6)),
    ('FIND("zzz", Name)', Decimal(0)), ('SUBSTITUTE(Name, "Corp", "Inc")', "Acme Inc"),
    ('LPAD("7", 3, "0")', "007"), ('RPAD("ab", 5, "xy")', "abxyx"), ('LPAD("abcdef", 3)', "abc"),
    ("ROUND(2.5, 0)", Decimal(3)), ("ROUND(-2.5, 0)", Decimal(-3)), ("ROUND(1234.5678, 2)", Decimal("1234.57")),
    ("ROUND(1250, -2)", Decimal(1300)), ("FLOOR(-2.5)", Decimal(-2)), ("CEILING(-2.5)", Decimal(-3)),
    ("CEILING(2.1)", Decimal(3)), ("MFLOOR(-2.5)", Decimal(-3)), ("ABS(-3)", Decimal(3)),
    ("MAX(1, Amount, 7)", Decimal("150.50")), ("MIN(4, 2, 9)", Decimal(2)), ("MOD(10, 3)", Decimal(1)),
    ("SQRT(16)", Decimal(4)),
    ('ISNUMBER("12.5")', True), ('ISNUMBER("12a")', False), ('REGEX("AB-123", "[A-Z]{2}-\\\\d{3}")', True),
    ('REGEX("xAB-123", "[A-Z]{2}-\\\\d{3}")', False),
    ('HYPERLINK("https://x.example", "X")', '<a href="https://x.example" target="_blank">X</a>'),
    ('"a" & BR() & "b"', "a<br>b"),
])
def test_functions(source, expected) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("TODAY()", dt.date(2024, 6, 16)), ("NOW()", NOW), ("DATE(2024, 2, 29)", dt.date(2024, 2, 29)),
    ('DATEVALUE("2024-05-06")', dt.date(2024, 5, 6)), ("DATEVALUE(Created)", dt.date(2024, 3, 1)),
    ('DATETIMEVALUE("2024-05-06 07:08:09")', dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),
    ("YEAR(CloseDate)", Decimal(2024)), ("MONTH(CloseDate)", Decimal(1)), ("DAY(CloseDate)", Decimal(31)),
    ("ADDMONTHS(CloseDate, 1)", dt.date(2024, 2, 29)), ("ADDMONTHS(DATE(2024, 1, 15), 13)", dt.date(2025, 2, 15)),
    ("ADDMONTHS(DATE(2024, 2, 29), 1)", dt.date(2024, 3, 31)),
    ("CloseDate + 1", dt.date(2024, 2, 1)), ("CloseDate - DATE(2024, 1, 1)", Decimal(30)),
    ("Created + 0.5", dt.datetime(2024, 3, 2, 0, 0, tzinfo=dt.timezone.utc)),
    ("At + 60000", dt.time(10, 31)), ("WEEKDAY(DATE(2024, 6, 16))", Decimal(1)),
])
def test_dates(source, expected) -> None:
    assert ev(source) == expected


def test_blank_numbers_propagate_unless_treated_as_zero() -> None:
    assert ev("Amount + Discount") is None
    assert ev("Amount + Discount", null_as_zero=True) == Decimal("150.50")
    assert ev("Discount > 1") is False
    assert ev("ROUND(Discount, 0)") is None
    assert ev("Discount = NULL") is True


def test_blank_text_is_null_and_equal_to_empty() -> None:
    assert ev('Blank = ""') is True
    assert ev('Blank & "x"') == "x"
    assert ev('IF(Active, "", "x")', rtype=FType.TEXT) is None


def test_if_evaluates_only_the_branch_taken() -> None:
    assert ev("IF(Amount > 0, 1, 1 / 0)") == Decimal(1)
    with pytest.raises(FormulaRuntimeError) as e:
        ev("IF(Amount < 0, 1, 1 / 0)")
    assert e.value.message == "Division by zero"
    assert e.value.column == 21
    assert "IF(Amount < 0, 1, 1 / 0)" in str(e.value)


def test_prior_value_functions() -> None:
    prior = {**RECORD, "Amount": Decimal(1), "Name": "Acme Corp"}
    assert ev("ISCHANGED(Amount)", prior=prior) is True
    assert ev("ISCHANGED(Name)", prior=prior) is False
    assert ev("PRIORVALUE(Amount)", prior=prior) == Decimal(1)
    assert ev("ISNEW()", is_new=True) is True
    assert ev("ISCHANGED(Amount)") is False  # no prior record: an insert


def test_template_mode_interpolates_merge_fields() -> None:
    assert ev("Hello {!Name}, you owe {!Amount * 2}.", template=True) == "Hello Acme Corp, you owe 301."
    with pytest.raises(FormulaTypeError) as e:
        build("Hi {!Nope}", RESOLVER, template=True)
    assert e.value.column == 6


def test_referenced_fields_in_order_of_appearance() -> None:
    f = build('IF(Active, Account.Name, Name & Account.Name)', RESOLVER)
    assert f.referenced_fields == ("Active", "Account.Name", "Name")


@pytest.mark.parametrize("source, message, column", [
    ("This will not compile!!!", "Syntax error. Found 'will'", 6),
    ('LEN("a"', "Syntax error. Missing ')'", 8),
    ("1 +", "Syntax error. Extra or missing operand", 4),
    ('"open', "Syntax error. Missing quote", 1),
    ("", "Syntax error. The formula is empty", 1),
])
def test_syntax_errors_name_the_column(source, message, column) -> None:
    with pytest.raises(FormulaSyntaxError) as e:
        build(source, RESOLVER)
    assert (e.value.message, e.value.column) == (message, column)
    assert not source or f"formula `{source}`" in str(e.value)


@pytest.mark.parametrize("source, message, column", [
    ("Nope + 1", "Field Nope does not exist. Check spelling.", 1),
    ("Account.Nope", "Field Account.Nope does not exist. Check spelling.", 1),
    ("FOO(1)", "Unknown function FOO. Check spelling.", 1),
    ("LEN(1)", "Incorrect parameter type for function 'LEN()'. Expected Text, received Number", 5),
    ('LEN("a", "b")', "Incorrect number of parameters for function 'LEN()'. Expected 1, received 2", 1),
    ('Amount + "x"', "Incorrect parameter type for operator '+'. Expected Number, received Text", 10),
    ('Name & 1', "Incorrect parameter type for operator '&'. Expected Text, received Number", 8),
    ('IF(Active, 1, "a")', "Incorrect parameter type for function 'IF()'. Expected Number, received Text", 15),
    ('Stage = "Closed Won"', "Field Stage is a picklist field. Picklist fields are only supported in certain "
                             "functions.", 1),
    ("CloseDate = Created", "Incorrect parameter type for operator '='. Expected Date, received DateTime", 13),
    ('ISPICKVAL(Name, "x")', "Incorrect parameter type for function 'ISPICKVAL()'. Expected Picklist, "
                             "received Text", 11),
    ("ISCHANGED(Amount + 1)", "Function ISCHANGED may only be used with a field as its argument", 11),
    ('CASE(Name, "a", 1)', "Incorrect number of parameters for function 'CASE()'. Expected 4, received 3", 1),
])
def test_type_errors_at_build_time(source, message, column) -> None:
    with pytest.raises(FormulaTypeError) as e:
        build(source, RESOLVER)
    assert (e.value.message, e.value.column) == (message, column)


def test_result_type_is_checked_against_the_expected_type() -> None:
    with pytest.raises(FormulaTypeError) as e:
        build("Amount * 2", RESOLVER, FType.BOOLEAN)
    assert e.value.message == ("Formula result is data type (Number), incompatible with expected data type "
                               "(Boolean).")
    assert build("NULL", RESOLVER, FType.NUMBER).evaluate(RECORD) is None


@pytest.mark.parametrize("source, message", [
    ("MOD(1, 0)", "Division by zero"), ("DATE(2023, 2, 29)", "DATE: 2023-2-29 is not a valid date"),
    ('VALUE("abc")', "VALUE: 'abc' is not a number"), ("SQRT(-1)", "SQRT: the square root of a negative number (-1)"),
])
def test_runtime_errors(source, message) -> None:
    with pytest.raises(FormulaRuntimeError) as e:
        ev(source)
    assert e.value.message == message


def test_references_typed_any_are_checked_when_read() -> None:
    r = MappingResolver({"X": FType.ANY})
    assert build('CASE(X, 1, "one", "other")', r).evaluate({"X": 1}) == "one"
    assert build('CASE(X, 1, "one", "other")', r).evaluate({"X": "1"}) == "other"
    assert build('X & "!"', r).evaluate({"X": "hi"}) == "hi!"
    with pytest.raises(FormulaRuntimeError) as e:
        build('X & "!"', r).evaluate({"X": 5})
    assert e.value.message == "Expected Text, received Number"
    with pytest.raises(FormulaRuntimeError):
        build("X * 2", r).evaluate({"X": "a"})
