"""SOSL ``WITH SNIPPET [(target_length=n)]`` and ``WITH HIGHLIGHT``: the matched terms of a record's text
fields wrapped in ``<mark>`` tags (SOQL and SOSL Reference, "WITH SNIPPET" and "WITH HIGHLIGHT").

Salesforce's rules kept here: snippets and highlights come from Email, Text and Text Area fields only
(``SNIPPET_TYPES``); WITH SNIPPET gives snippets for articles, cases, case comments, feeds and ideas
(``SNIPPET_OBJECTS``, and every ``__kav`` article type), other objects of the search return none; WITH
HIGHLIGHT highlights business accounts, campaigns, contacts, leads, opportunities, quotes and users
(``HIGHLIGHT_OBJECTS``), at most 25 records per object; terms with a wildcard are never highlighted;
the text around the marks is HTML-escaped; a snippet is about ``target_length`` characters long (300 by
default), made of fragments of the matching fields joined by ``...``.

Choices where Salesforce documents no exact rule (its snippets come from its search index): the fragments
are taken from the matching fields in the object's field order, long text areas first; a fragment starts
about a third of the target length before its first match, at a word boundary; ``target_length`` must be
a whole number from 1 to 1000 (``MALFORMED_SEARCH`` otherwise). Stemming and synonyms are not modelled:
only tokens the term's words match are marked.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .schema import FieldDef, ObjectDef

SNIPPET_TYPES = {"string", "textarea", "email"}
SNIPPET_OBJECTS = {"case", "casecomment", "feeditem", "feedcomment", "idea", "ideacomment",
                   "knowledgearticleversion"}
HIGHLIGHT_OBJECTS = {"account", "campaign", "contact", "lead", "opportunity", "quote", "user"}
HIGHLIGHT_MAX_RECORDS = 25
DEFAULT_TARGET_LENGTH = 300
MAX_TARGET_LENGTH = 1000
MIN_FRAGMENT = 30  # a further fragment needs this much of the target length left
_TOKEN = re.compile(r"[^\W_]+")


@dataclass
class Hit:
    """What WITH SNIPPET / WITH HIGHLIGHT add to one found record."""

    snippet: str | None = None  # REST ``snippet.text``, Apex ``SearchResult.getSnippet()``
    highlights: dict[str, str] = field(default_factory=dict)  # field API name -> REST ``highlight.<Field>``
    field_snippets: dict[str, str] = field(default_factory=dict)  # lower-case field -> getSnippet(field)

    def rest_keys(self) -> dict[str, str]:
        out = {f"highlight.{name}": text for name, text in self.highlights.items()}
        if self.snippet is not None:
            out["snippet.text"] = self.snippet
        return out


def snippet_object(od: ObjectDef) -> bool:
    return od.name.lower() in SNIPPET_OBJECTS or od.name.lower().endswith("__kav")


def highlight_object(od: ObjectDef) -> bool:
    return od.name.lower() in HIGHLIGHT_OBJECTS


def highlight_words(term: str) -> list[re.Pattern[str]]:
    """The term's words a snippet marks: not the ones under ``NOT``, not the ones with a wildcard."""
    tokens = re.findall(r'"[^"]*"|\(|\)|[^\s()"]+', term)
    out: list[re.Pattern[str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.upper()
        if upper == "NOT":
            i = _skip_operand(tokens, i + 1)
            continue
        i += 1
        if tok in ("(", ")") or upper in ("AND", "OR"):
            continue
        words = _TOKEN.findall(tok) if not tok.startswith('"') else re.findall(r"[^\s]+", tok[1:-1])
        for w in words:
            if "*" in w or "?" in w:
                continue
            for part in _TOKEN.findall(w):
                out.append(re.compile(re.escape(part.lower())))
    return out


def _skip_operand(tokens: list[str], i: int) -> int:
    if i < len(tokens) and tokens[i] == "(":
        depth = 0
        while i < len(tokens):
            depth += tokens[i] == "("
            depth -= tokens[i] == ")"
            i += 1
            if depth == 0:
                break
        return i
    return i + 1


def _marks(value: str, words: list[re.Pattern[str]]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _TOKEN.finditer(value)
            if any(w.fullmatch(m.group(0).lower()) for w in words)]


def _render(value: str, start: int, end: int, marks: list[tuple[int, int]]) -> str:
    out, pos = [], start
    for a, b in marks:
        if a < start or b > end:
            continue
        out.append(html.escape(value[pos:a], quote=False))
        out.append(f"<mark>{html.escape(value[a:b], quote=False)}</mark>")
        pos = b
    out.append(html.escape(value[pos:end], quote=False))
    return "".join(out)


def _fragment(value: str, marks: list[tuple[int, int]], budget: int) -> tuple[str, int]:
    """A piece of ``value`` of about ``budget`` visible characters around its first match."""
    if len(value) <= budget:
        return _render(value, 0, len(value), marks), len(value)
    first = marks[0][0]
    start = max(0, first - budget // 3)
    if start > 0:
        space = value.rfind(" ", 0, start + 1)
        start = space + 1 if space >= 0 and first - space < budget else start
    end = min(len(value), start + budget)
    if end < len(value):
        space = value.rfind(" ", start, end)
        end = space if space > marks[0][1] else max(end, marks[0][1])
    text = ("..." if start > 0 else "") + _render(value, start, end, marks) + ("..." if end < len(value) else "")
    return text, end - start


def hit_for(od: ObjectDef, values: dict[str, Any], selected: list[str], words: list[re.Pattern[str]], *,
            snippet_length: int | None, highlight: bool) -> Hit:
    """The snippet (when ``snippet_length`` is given) and highlights of one record: ``values`` are its
    snippet-type fields (lower-case name -> value), ``selected`` the RETURNING fields (as the record names
    them)."""
    hit = Hit()
    if not words:
        return hit
    fields = [od.fields[k] for k in values if k in od.fields]
    if snippet_length is not None:
        ordered = sorted(fields, key=lambda fd: fd.type != "textarea")
        pieces, budget = [], snippet_length
        for fd in ordered:
            value = str(values[fd.lower] or "")
            marks = _marks(value, words)
            if not marks:
                continue
            hit.field_snippets[fd.lower] = _fragment(value, marks, snippet_length)[0]
            if budget >= MIN_FRAGMENT or not pieces:
                text, used = _fragment(value, marks, budget)
                if pieces:  # "... is the... City and County of ...": one ellipsis between fragments
                    pieces[-1] = pieces[-1].rstrip(".") + "..."
                    text = text[3:] if text.startswith("...") else text
                pieces.append(text)
                budget -= used
        hit.snippet = " ".join(pieces) if pieces else None
    if highlight:
        for name in selected:
            fd = od.fields.get(name.lower())
            if fd is None or fd.type not in SNIPPET_TYPES or values.get(fd.lower) is None:
                continue
            value = str(values[fd.lower])
            marks = _marks(value, words)
            if marks:
                hit.highlights[fd.name] = _render(value, 0, len(value), marks)
    return hit


def snippet_fields(od: ObjectDef) -> list[FieldDef]:
    return [fd for fd in od.fields.values() if fd.type in SNIPPET_TYPES and not fd.raw.get("calculated")]


__all__ = ["Hit", "hit_for", "highlight_words", "snippet_fields", "snippet_object", "highlight_object",
           "DEFAULT_TARGET_LENGTH", "MAX_TARGET_LENGTH", "HIGHLIGHT_MAX_RECORDS"]
