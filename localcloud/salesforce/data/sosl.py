"""SOSL: ``FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING Object[(fields [WHERE ...] [ORDER BY ...]
[LIMIT n] [OFFSET n])], ...] [LIMIT n]`` (REST ``/search``, Apex ``[FIND 'term' ...]`` and ``Search.query``).

The search term is Salesforce's search syntax: words (all must match: implicit AND), ``AND``, ``OR``,
``AND NOT``, parentheses, ``"quoted phrases"``, and the wildcards ``*`` (any characters) and ``?`` (one
character). A word matches a *token* of a searched field (text split at every character that is not a
letter or digit, case-insensitive); an email or phone value also matches as a whole (a phone also by its
digits). Searched fields: ALL FIELDS (default) every text-like field (string, textarea, email, phone, url,
picklist, multipicklist, combobox), NAME FIELDS the name fields, EMAIL/PHONE FIELDS those types. Each
RETURNING object is then read as the SOQL ``SELECT fields FROM Object WHERE (where) AND Id IN (matches)
ORDER BY ... LIMIT ...`` (without a field list: ``Id``). Without RETURNING every searchable object of the
org is searched, answering Ids.

Known differences (Salesforce's search index is not reproduced): results come in the object's storage
order, not by relevance; search happens at once (no indexing delay); no stemming, synonyms, or
``WITH`` clauses other than ``WITH SNIPPET [(target_length=n)]`` and ``WITH HIGHLIGHT`` (``sosl_snippets.py``),
no ``UPDATE`` clause (they answer ``MALFORMED_SEARCH``); a term needs two characters besides wildcards, as
Salesforce requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import SalesforceError
from .schema import FieldDef, ObjectDef
from .soql.ast import And, Bind, Comparison, FieldRef
from .soql.parser import parse_soql
from .sosl_snippets import (DEFAULT_TARGET_LENGTH, HIGHLIGHT_MAX_RECORDS, MAX_TARGET_LENGTH, Hit, hit_for,
                            highlight_object, highlight_words, snippet_fields, snippet_object)
from .txn import DataTransaction

SEARCHED_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"}
SCOPES = {"ALL": SEARCHED_TYPES, "NAME": None, "EMAIL": {"email"}, "PHONE": {"phone"}, "SIDEBAR": SEARCHED_TYPES}
DEFAULT_LIMIT = 2000
IDS_BIND = "__sosl_ids"


class MalformedSearchError(SalesforceError):
    """``MALFORMED_SEARCH``: SOSL the local org cannot read."""

    def __init__(self, message: str) -> None:
        super().__init__("MALFORMED_SEARCH", message)


@dataclass
class Returning:
    sobject: str
    soql: str  # SELECT ... FROM sobject [WHERE ...] [ORDER BY ...] [LIMIT ...] [OFFSET ...]


@dataclass
class SoslQuery:
    term: str | Bind
    scope: str = "ALL"
    returning: list[Returning] = field(default_factory=list)
    limit: int | Bind | None = None
    snippet: int | None = None  # WITH SNIPPET: the target length
    highlight: bool = False  # WITH HIGHLIGHT


# -- parsing the statement ---------------------------------------------------------------------------------
_KEYWORD = re.compile(r"\s*(IN|RETURNING|LIMIT|WITH|UPDATE|OFFSET|ORDER)\b", re.I)


def parse_sosl(text: str) -> SoslQuery:
    """Parse ``FIND ...`` (REST braces ``{term}``, Apex quotes ``'term'`` or a bind ``:term``)."""
    s = text.strip()
    m = re.match(r"FIND\s+", s, re.I)
    if not m:
        raise MalformedSearchError(f"search must start with FIND: {text}")
    pos = m.end()
    term: str | Bind
    if s[pos:pos + 1] == "{":
        end = _closing(s, pos, "{", "}")
        term, pos = s[pos + 1:end], end + 1
    elif s[pos:pos + 1] == "'":
        end = pos + 1
        out = []
        while end < len(s) and s[end] != "'":
            if s[end] == "\\" and end + 1 < len(s):
                end += 1
            out.append(s[end])
            end += 1
        if end >= len(s):
            raise MalformedSearchError("unterminated search term")
        term, pos = "".join(out), end + 1
    elif s[pos:pos + 1] == ":":
        bm = re.match(r":\s*([\w.]+(?:\(\))?)", s[pos:])
        if not bm:
            raise MalformedSearchError("bad bind variable after FIND")
        term, pos = Bind(bm.group(1)), pos + bm.end()
    else:
        raise MalformedSearchError("the search term must be in braces {...} (or quotes in Apex)")
    q = SoslQuery(term)
    while pos < len(s):
        km = _KEYWORD.match(s, pos)
        if km is None:
            if not s[pos:].strip():
                break
            raise MalformedSearchError(f"unexpected token: '{s[pos:].split()[0]}'")
        word = km.group(1).upper()
        pos = km.end()
        if word == "IN":
            sm = re.match(r"\s*(ALL|NAME|EMAIL|PHONE|SIDEBAR)\s+FIELDS\b", s[pos:], re.I)
            if not sm:
                raise MalformedSearchError("IN must name ALL, NAME, EMAIL, PHONE or SIDEBAR FIELDS")
            q.scope, pos = sm.group(1).upper(), pos + sm.end()
        elif word == "RETURNING":
            pos = _returning(s, pos, q)
        elif word == "LIMIT":
            lm = re.match(r"\s*(\d+|:\s*\w+)", s[pos:])
            if not lm:
                raise MalformedSearchError("LIMIT needs a number")
            value = lm.group(1)
            q.limit = int(value) if value.isdigit() else Bind(value[1:].strip())
            pos += lm.end()
        elif word == "WITH":
            pos = _with(s, pos, q)
        else:
            raise MalformedSearchError(f"{word} is not supported by the local org's SOSL")
    return q


def _with(s: str, pos: int, q: SoslQuery) -> int:
    """``WITH SNIPPET [(target_length=n)]`` or ``WITH HIGHLIGHT``; other WITH clauses are refused."""
    wm = re.match(r"\s*(SNIPPET|HIGHLIGHT)\b", s[pos:], re.I)
    if not wm:
        other = (s[pos:].split() or ["(nothing)"])[0]
        raise MalformedSearchError(f"WITH {other} is not supported by the local org's SOSL "
                                   f"(only WITH SNIPPET and WITH HIGHLIGHT)")
    pos += wm.end()
    if wm.group(1).upper() == "HIGHLIGHT":
        q.highlight = True
        return pos
    q.snippet = DEFAULT_TARGET_LENGTH
    om = re.match(r"\s*\(\s*target_length\s*=\s*([^)\s]*)\s*\)", s[pos:], re.I)
    if om:
        value = om.group(1)
        if not value.isdigit() or not 1 <= int(value) <= MAX_TARGET_LENGTH:
            raise MalformedSearchError(f"target_length must be a whole number from 1 to {MAX_TARGET_LENGTH}: {value}")
        q.snippet, pos = int(value), pos + om.end()
    elif re.match(r"\s*\(", s[pos:]):
        raise MalformedSearchError("WITH SNIPPET takes (target_length=n)")
    return pos


def _closing(s: str, start: int, open_: str, close: str) -> int:
    depth, i, quote = 0, start, None
    while i < len(s):
        c = s[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"" and open_ != "{":
            quote = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise MalformedSearchError(f"missing '{close}'")


def _returning(s: str, pos: int, q: SoslQuery) -> int:
    while True:
        om = re.match(r"\s*([A-Za-z][\w]*)", s[pos:])
        if not om:
            raise MalformedSearchError("RETURNING needs an object name")
        sobject = om.group(1)
        pos += om.end()
        spec = ""
        after = re.match(r"\s*\(", s[pos:])
        if after:
            open_at = pos + after.end() - 1
            end = _closing(s, open_at, "(", ")")
            spec, pos = s[open_at + 1:end].strip(), end + 1
        q.returning.append(Returning(sobject, _soql(sobject, spec)))
        cm = re.match(r"\s*,", s[pos:])
        if not cm:
            return pos
        pos += cm.end()


def _soql(sobject: str, spec: str) -> str:
    """``Id, Name WHERE x ORDER BY y LIMIT 5`` -> ``SELECT Id, Name FROM Obj WHERE x ORDER BY y LIMIT 5``."""
    km = re.search(r"\b(WHERE|ORDER\s+BY|LIMIT|OFFSET|USING|WITH)\b", spec, re.I)
    fields, rest = (spec[:km.start()], spec[km.start():]) if km else (spec, "")
    return f"SELECT {fields.strip() or 'Id'} FROM {sobject} {rest}".strip()


# -- the search term --------------------------------------------------------------------------------------
Matcher = Callable[[list[list[str]], list[str]], bool]  # (tokens of each field, whole values) -> match


def compile_term(term: str) -> Matcher:
    tokens = re.findall(r'"[^"]*"|\(|\)|[^\s()"]+', term)
    if not tokens:
        raise MalformedSearchError("empty search term")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def expr() -> Matcher:
        left = conj()
        while peek() is not None and peek().upper() == "OR":  # type: ignore[union-attr]
            take()
            right = conj()
            left = (lambda a, b: lambda f, w: a(f, w) or b(f, w))(left, right)
        return left

    def conj() -> Matcher:
        left = unary()
        while peek() is not None and peek() != ")" and peek().upper() != "OR":  # type: ignore[union-attr]
            if peek().upper() == "AND":  # type: ignore[union-attr]
                take()
                if peek() is not None and peek().upper() == "NOT":  # type: ignore[union-attr]
                    take()
                    right = unary()
                    left = (lambda a, b: lambda f, w: a(f, w) and not b(f, w))(left, right)
                    continue
            right = unary()
            left = (lambda a, b: lambda f, w: a(f, w) and b(f, w))(left, right)
        return left

    def unary() -> Matcher:
        tok = peek()
        if tok is None:
            raise MalformedSearchError(f"search term ends early: {term}")
        if tok == "(":
            take()
            inner = expr()
            if peek() != ")":
                raise MalformedSearchError(f"missing ')' in search term: {term}")
            take()
            return inner
        take()
        if tok.startswith('"'):
            words = [_word(w) for w in re.findall(r"[^\W_]+[*?]*|[*?]+", tok[1:-1])]
            return lambda f, w: any(_phrase(tokens_, words) for tokens_ in f)
        pattern = _word(tok)
        return lambda f, w: any(pattern.fullmatch(t) for tokens_ in f for t in tokens_) or \
            any(pattern.fullmatch(v) for v in w)

    matcher = expr()
    if pos != len(tokens):
        raise MalformedSearchError(f"unexpected token in search term: '{tokens[pos]}'")
    return matcher


def _word(text: str) -> re.Pattern[str]:
    core = re.sub(r"[*?]", "", text)
    if len(core) < 2:
        raise SalesforceError("INVALID_SEARCH", f"search term must be longer than one character: {text}")
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c.lower()) for c in text))


def _phrase(tokens: list[str], words: list[re.Pattern[str]]) -> bool:
    n = len(words)
    return any(all(words[k].fullmatch(tokens[i + k]) for k in range(n)) for i in range(len(tokens) - n + 1))


def _tokens(value: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[^\W_]+", value)]


# -- running it -------------------------------------------------------------------------------------------
def searched_fields(od: ObjectDef, scope: str) -> list[FieldDef]:
    if scope == "NAME":
        return [fd for fd in od.fields.values()
                if fd.raw.get("nameField") or fd.lower in ("firstname", "lastname", "company")]
    types = SCOPES[scope] or SEARCHED_TYPES
    return [fd for fd in od.fields.values() if fd.type in types]


def matching_ids(tx: DataTransaction, od: ObjectDef, fields: list[FieldDef], matcher: Matcher) -> list[str]:
    if not fields:
        return []
    cols = ", ".join(fd.column for fd in fields)
    out = []
    for row in tx.execute(f"SELECT id, {cols} FROM {od.table} WHERE isdeleted = 0 ORDER BY rowid"):
        values = [str(v) for v in row[1:] if v is not None]
        whole = [v.lower() for v, fd in zip(row[1:], fields) if v is not None and fd.type in ("email", "phone")]
        whole += [re.sub(r"\D", "", v) for v, fd in zip(row[1:], fields) if v is not None and fd.type == "phone"]
        if values and matcher([_tokens(v) for v in values], whole):
            out.append(row[0])
    return out


def search(tx: DataTransaction, sosl: str | SoslQuery, binds: Mapping[str, Any] | None = None, *,
           bind_resolver: Callable[[Bind], Any] | None = None, typed: bool = False,
           fixed_ids: list[str] | None = None) -> list[tuple[str, list[dict[str, Any]]]]:
    """``[(object name, records)]`` in RETURNING order. Each RETURNING object that has matches is read by
    one SOQL query and counts as one (the data layer keeps no separate SOSL counter). ``fixed_ids`` (Apex
    ``Test.setFixedSearchResults``) replaces the term's matches: those records, filtered by RETURNING."""
    return [(name, records) for name, records, _ in search_hits(tx, sosl, binds, bind_resolver=bind_resolver,
                                                                typed=typed, fixed_ids=fixed_ids)]


def search_hits(tx: DataTransaction, sosl: str | SoslQuery, binds: Mapping[str, Any] | None = None, *,
                bind_resolver: Callable[[Bind], Any] | None = None, typed: bool = False,
                fixed_ids: list[str] | None = None,
                match_fixed: bool = False) -> list[tuple[str, list[dict[str, Any]], list[Hit]]]:
    """``search`` with each record's snippet and highlights (``sosl_snippets.Hit``, empty without
    ``WITH SNIPPET``/``WITH HIGHLIGHT``). ``match_fixed``: the fixed ids must match the term too."""
    q = parse_sosl(sosl) if isinstance(sosl, str) else sosl
    binds = dict(binds or {})

    def value(b: Bind) -> Any:
        if b.name in binds:
            return binds[b.name]
        if bind_resolver is not None:
            return bind_resolver(b)
        raise MalformedSearchError(f"Variable does not exist: {b.name}")

    term = value(q.term) if isinstance(q.term, Bind) else q.term
    if not isinstance(term, str) or not term.strip():
        raise MalformedSearchError("the search term is empty")
    matcher = compile_term(term)
    limit = value(q.limit) if isinstance(q.limit, Bind) else q.limit
    remaining = int(limit) if limit is not None else DEFAULT_LIMIT
    returning = q.returning or [Returning(od.name, f"SELECT Id FROM {od.name}") for od in tx.schema.objects()
                                if od.raw.get("searchable") and od.raw.get("queryable", True)]
    words = highlight_words(term) if q.snippet is not None or q.highlight else []
    out: list[tuple[str, list[dict[str, Any]], list[Hit]]] = []
    for spec in returning:
        od = tx.schema.get(spec.sobject)
        soql = parse_soql(spec.soql)
        if fixed_ids is not None:
            ids = [i for i in fixed_ids if str(i)[:3] == od.key_prefix]
            if match_fixed and ids:
                matched = set(matching_ids(tx, od, searched_fields(od, q.scope), matcher))
                ids = [i for i in ids if i in matched]
        else:
            ids = matching_ids(tx, od, searched_fields(od, q.scope), matcher)
        id_filter = Comparison(FieldRef(["Id"]), "IN", Bind(IDS_BIND))
        soql.where = And([soql.where, id_filter]) if soql.where is not None else id_filter
        if remaining <= 0 or not ids:
            out.append((od.name, [], []))
            continue
        added_id = bool(words) and not any(isinstance(f, FieldRef) and [p.lower() for p in f.path] == ["id"]
                                           for f in soql.select)
        if added_id:  # the snippets need each record's Id
            soql.select.append(FieldRef(["Id"]))
        records = tx.query(soql, {**binds, IDS_BIND: ids}, bind_resolver=bind_resolver, typed=typed,
                           page_size=max(remaining, 1)).records[:remaining]
        remaining -= len(records)
        hits = _hits(tx, od, records, words, q)
        if added_id:
            for record in records:
                record.pop("Id", None)
        out.append((od.name, records, hits))
    return out


def _hits(tx: DataTransaction, od: ObjectDef, records: list[dict[str, Any]], words: list[re.Pattern[str]],
          q: SoslQuery) -> list[Hit]:
    snippets = q.snippet is not None and snippet_object(od)
    highlights = q.highlight and highlight_object(od)
    if not words or not records or not (snippets or highlights):
        return [Hit() for _ in records]
    fields = snippet_fields(od)
    ids = [str(r.get("Id") or r.get("id")) for r in records]
    cols = ", ".join(fd.column for fd in fields)
    marks = ", ".join("?" for _ in ids)
    values = {row[0]: {fd.lower: v for fd, v in zip(fields, row[1:]) if v is not None}
              for row in tx.execute(f"SELECT id, {cols} FROM {od.table} WHERE id IN ({marks})", ids)}
    out = []
    for n, (rid, record) in enumerate(zip(ids, records)):
        if snippets or n < HIGHLIGHT_MAX_RECORDS:
            selected = [k for k in record if k not in ("attributes", "Id")]
            out.append(hit_for(od, values.get(rid, {}), selected, words,
                               snippet_length=q.snippet if snippets else None, highlight=True))
        else:
            out.append(Hit())
    return out


__all__ = ["SoslQuery", "Returning", "MalformedSearchError", "parse_sosl", "compile_term", "search", "search_hits"]
