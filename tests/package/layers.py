"""The import graph of a package tree, read from its source (no import is executed).

An edge is every ``import`` / ``from ... import`` of a module of the same package, at
module level or inside a function, marked *typing* when it sits under ``if TYPE_CHECKING:``
(it never runs, so it cannot make a cycle; it still may not point up a layer).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Edge", "cycles", "edges", "layer_of", "modules", "upward"]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    typing: bool  # under ``if TYPE_CHECKING:``
    lazy: bool  # inside a function


def modules(root: Path) -> dict[str, Path]:
    """``{"parity.core.catalog": path, ...}`` for the package at ``root``."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    def walk(node: ast.AST, typing: bool, lazy: bool) -> Iterator[Any]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, typing, lazy
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    yield from walk(ast.Module(body=[sub], type_ignores=[]), True, lazy)
                for sub in child.orelse:
                    yield from walk(ast.Module(body=[sub], type_ignores=[]), typing, lazy)
            else:
                inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from walk(child, typing, inner)

    yield from walk(tree, False, False)


def _targets(
    name: str, is_pkg: bool, node: ast.Import | ast.ImportFrom, known: dict[str, Path]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        candidates = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = name.split(".") if is_pkg else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        candidates = [
            f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
        ]
    for target in candidates:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target:
            yield target


def edges(root: Path, *, external: str | None = None) -> list[Edge]:
    """Every import between modules of the package at ``root`` (and, with ``external``,
    every import of that other top-level package, as target ``external``)."""
    known = modules(root)
    out: list[Edge] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, typing, lazy in _imports(tree):
            if external is not None:
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if not node.level
                    else []
                )
                for n in names:
                    if n == external or n.startswith(external + "."):
                        out.append(Edge(name, external, node.lineno, typing, lazy))
            for target in _targets(name, path.name == "__init__.py", node, known):
                if target != name:
                    out.append(Edge(name, target, node.lineno, typing, lazy))
    return out


def layer_of(module: str, order: tuple[str, ...]) -> int:
    """The module's layer: its first subpackage's position in ``order`` (the root
    package's own modules, ``__init__`` and ``__main__``, sit above every layer)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in order:
        return order.index(parts[1])
    return len(order)


def upward(all_edges: list[Edge], order: tuple[str, ...]) -> list[Edge]:
    """Edges from a lower layer to a higher one (typing imports included)."""
    return [e for e in all_edges if layer_of(e.source, order) < layer_of(e.target, order)]


def cycles(all_edges: list[Edge]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module) among
    the imports that run (typing imports left out)."""
    graph: dict[str, set[str]] = {}
    for e in all_edges:
        if not e.typing:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found
