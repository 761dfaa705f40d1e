"""Imports go one way: the local org's data layer has no import circle (``store`` -> ``dml`` ->
``txn``), ``python_tasks.generate`` imports ``openapi``, never the reverse (their shared sample
values live in ``python_tasks.samples``), and the Apex interpreter's modules import only downwards
through its layers (``localcloud/salesforce/apex/README.md``, "Layers"). The graph is read with ``ast``
from the source, so imports made inside functions and under ``TYPE_CHECKING`` count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """``module -> modules of the package it imports`` (``from pkg import sub`` names the submodule)."""
    files = {_module_name(p): p for p in (ROOT / package.replace(".", "/")).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package_name = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package_name.split(".")[:len(package_name.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets.update(f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names)
            elif isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reader_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_local_org_data_layer_has_no_import_circle() -> None:
    graph = import_graph("localcloud.salesforce.data")
    assert "localcloud.salesforce.data.dml" in graph["localcloud.salesforce.data.store"]
    assert cycles(graph) == []


def test_generate_and_openapi_import_one_way() -> None:
    graph = import_graph("python_tasks")
    assert "python_tasks.openapi" in graph["python_tasks.generate"]
    circle = [c for c in cycles(graph) if "python_tasks.openapi" in c]
    assert circle == [], f"python_tasks.openapi is in an import circle: {sorted(circle[0])}"


APEX = "localcloud.salesforce.apex"
# localcloud/salesforce/apex/README.md "Layers"; a module not named here is a library (layer 5).
APEX_LAYERS = {
    1: {"values", "model", "errors", "schema"},                # values and model
    2: {"ops", "exceptions", "tables", "txhooks"},             # operations; the tables and hooks libraries fill
    3: {"compiler", "exprs"},                                  # statements and expressions
    4: {"runtime", "dataport", "triggers", "asyncjobs", "jobrows"},  # runtime (jobrows: AsyncApexJob rows)
    6: {"orgruntime", "libraries", "__init__"},                # the org: wires the runtime and the libraries
}
LIBRARIES = 5


def _apex_layer(module: str) -> int:
    short = "__init__" if module == APEX else module.rsplit(".", 1)[1]
    return next((layer for layer, names in APEX_LAYERS.items() if short in names), LIBRARIES)


def test_the_apex_package_has_no_import_circle() -> None:
    graph = import_graph(APEX)
    assert f"{APEX}.compiler" in graph[f"{APEX}.exprs"] and f"{APEX}.dml" in graph[f"{APEX}.systemlib"]
    circles = [sorted(m.rsplit(".", 1)[1] for m in c) for c in cycles(graph)]
    assert circles == [], f"import circles in {APEX}: {circles}"


def test_the_apex_layers_import_only_downwards() -> None:
    """Values/model -> operations/tables -> compiler/exprs -> runtime -> libraries -> the org: no module
    imports one of a higher layer (a library is reached from below through ``tables``)."""
    graph = import_graph(APEX)
    def name(m: str) -> str:
        return f"{m.rsplit('.', 1)[1]} (layer {_apex_layer(m)})"
    upward = sorted(f"{name(a)} imports {name(b)}" for a, targets in graph.items() for b in targets
                    if _apex_layer(b) > _apex_layer(a))
    assert upward == []
    assert _apex_layer(f"{APEX}.stdlib") == LIBRARIES and _apex_layer(APEX) == 6


def test_every_apex_library_is_loaded_and_every_hook_is_set() -> None:
    """A library module missing from ``libraries.py`` would never fill the tables; a hook nobody sets
    would fail at run time."""
    from localcloud.salesforce.apex import libraries, tables

    modules = {m for m in import_graph(APEX) if _apex_layer(m) == LIBRARIES}
    listed = {m.__name__ for m in libraries.MODULES}
    assert modules - listed == set()
    unset = [name for name in tables.Hooks.__annotations__ if name not in vars(tables.HOOKS)]
    assert unset == []
    assert tables.BUILTIN_INSTALLERS[0].__module__ == f"{APEX}.stdlib"
