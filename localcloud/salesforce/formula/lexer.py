"""Tokens of the Salesforce formula language."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import FormulaSyntaxError

OPERATORS = ("<>", "!=", "==", "<=", ">=", "&&", "||", "+", "-", "*", "/", "^", "&", "=", "<", ">", "!",
             "(", ")", ",")


@dataclass(frozen=True)
class Token:
    kind: str  # number | string | name | op | end
    text: str
    pos: int


def _name_char(c: str) -> bool:
    return c.isalnum() or c in "_$."


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise FormulaSyntaxError("Syntax error. Missing '*/'", text, i)
            i = end + 2
            continue
        if c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == "." and j + 1 < n and text[j + 1].isdigit():
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
            out.append(Token("number", text[i:j], i))
            i = j
            continue
        if c in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    esc = text[j + 1]
                    buf.append({"n": "\n", "t": "\t", "r": "\r"}.get(esc, esc))
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise FormulaSyntaxError("Syntax error. Missing quote", text, i)
            out.append(Token("string", "".join(buf), i))
            i = j + 1
            continue
        if c.isalpha() or c in "_$":
            j = i
            while j < n and _name_char(text[j]):
                j += 1
            name = text[i:j]
            if name.endswith("."):
                raise FormulaSyntaxError(f"Syntax error. Found '{name}'", text, i)
            out.append(Token("name", name, i))
            i = j
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is None:
            raise FormulaSyntaxError(f"Syntax error. Found '{c}'", text, i)
        out.append(Token("op", op, i))
        i += len(op)
    out.append(Token("end", "", n))
    return out
