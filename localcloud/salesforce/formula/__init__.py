"""The Salesforce formula language: tokenizer, parser, type checker and evaluator.

Standalone: it imports nothing from the rest of the local org. Callers (the Apex ``FormulaEval``
library, formula fields in the data layer) hand it a ``Resolver`` that types and reads references.

    f = build('IF(Amount > 100, "big", "small")', resolver, FType.TEXT)
    f.evaluate(record)                       # -> "big"
"""

from .engine import Formula, MappingResolver, build
from .errors import FormulaError, FormulaRuntimeError, FormulaSyntaxError, FormulaTypeError, FormulaValidationError
from .functions import FUNCTIONS
from .types import DESCRIBE_TYPES, Env, Field, FType, Resolver, SimpleField, mapping_reader

__all__ = [
    "DESCRIBE_TYPES", "Env", "FUNCTIONS", "FType", "Field", "Formula", "FormulaError", "FormulaRuntimeError",
    "FormulaSyntaxError", "FormulaTypeError", "FormulaValidationError", "MappingResolver", "Resolver",
    "SimpleField", "build", "mapping_reader",
]
