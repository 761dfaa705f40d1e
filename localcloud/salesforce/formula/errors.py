"""Formula errors. Each names the formula and the 1-based column where the problem is.

``FormulaSyntaxError`` and ``FormulaTypeError`` are raised while a formula is built (Salesforce's
"validation" errors: syntax, unknown field or function, wrong argument count or type);
``FormulaRuntimeError`` while it is evaluated (division by zero, an invalid date, VALUE of non-numeric
text). ``message`` is the Salesforce wording; ``str(error)`` adds the formula and the column.
"""

from __future__ import annotations


class FormulaError(Exception):
    def __init__(self, message: str, formula: str = "", position: int | None = None) -> None:
        self.message = message
        self.formula = formula
        self.position = position
        super().__init__(self._text())

    @property
    def column(self) -> int | None:
        return None if self.position is None else self.position + 1

    def _text(self) -> str:
        if not self.formula:
            return self.message
        where = f", column {self.column}" if self.position is not None else ""
        return f"{self.message} (formula `{self.formula}`{where})"

    def located(self, formula: str, position: int | None = None) -> "FormulaError":
        """The same error, naming ``formula`` (and ``position`` when the error has none)."""
        self.formula = formula
        if self.position is None:
            self.position = position
        self.args = (self._text(),)
        return self


class FormulaValidationError(FormulaError):
    """The formula cannot be built (Apex: ``System.FormulaValidationException``)."""


class FormulaSyntaxError(FormulaValidationError):
    pass


class FormulaTypeError(FormulaValidationError):
    pass


class FormulaRuntimeError(FormulaError):
    """The formula failed on this record (Apex: ``System.FormulaEvaluationException``)."""
