"""SOQL: parser (tree-sitter ``apex`` grammar) and executor."""

from .ast import (Aggregate, And, Bind, Comparison, DateLiteral, FieldRef, Function, Literal, Not, Or,
                  OrderItem, SemiJoin, SoqlQuery, SubQuery, ValueList)
from .parser import bracket_not, parse_soql, soql_from_node

__all__ = ["parse_soql", "soql_from_node", "bracket_not", "SoqlQuery", "FieldRef", "Aggregate", "Function", "SubQuery",
           "Literal", "DateLiteral", "Bind", "ValueList", "SemiJoin", "Comparison", "And", "Or",
           "Not", "OrderItem"]
