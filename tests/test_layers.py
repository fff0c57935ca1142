"""The package's layers import downward only, and no modules import each other in a cycle.

Read from the source with ``ast`` (nothing is imported). Layers, lowest first: the root helpers
(``streamsr._errors``, ``_frame``, ``_url``, ``_av``, ``_check``, any other ``streamsr._name``),
then sources → faces → enhance → compose → sinks, driven by runtime, with training beside the
top (it may use enhance, faces, sources and the root helpers; nothing below it may use it) and
cli on top. ``streamsr/__init__.py``, ``__main__.py`` and ``_demo.py`` are above everything
(``_demo`` is used by the cli). Within a layer anything goes, except a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "streamsr"

LAYERS = ("root", "sources", "faces", "enhance", "compose", "sinks", "runtime", "training", "cli")
TOP = frozenset({"streamsr", "streamsr.__main__", "streamsr._demo"})
# What each layer may import besides itself: the layers below it; training only what it builds
# on (not compose, sinks or runtime); the cli also the demo.
MAY_IMPORT: dict[str, frozenset[str]] = {
    layer: frozenset(LAYERS[:i]) for i, layer in enumerate(LAYERS)
}
MAY_IMPORT["training"] = frozenset({"root", "sources", "faces", "enhance"})
MAY_IMPORT["cli"] |= {"top:streamsr._demo"}

# Imports that run up a layer today, as (importer, imported) modules. Each one is a debt: this
# set must shrink to empty (remove an entry when its import goes; the test fails on stale ones).
KNOWN_UPWARD: frozenset[tuple[str, str]] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str:
    """``root``, a sub-package's layer, or ``top:<module>``."""
    if module in TOP:
        return f"top:{module}"
    parts = module.split(".")
    if len(parts) == 2 and parts[1].startswith("_"):
        return "root"
    return parts[1]


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, *, top_level: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import under ``node`` and whether it runs when the module is imported."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, top_level
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, top_level=False)
        elif isinstance(child, ast.If) and _is_type_checking(child):
            for stmt in child.body:  # for type checkers only
                yield from _walk(ast.Module([stmt], []), top_level=False)
            for stmt in child.orelse:
                yield from _walk(ast.Module([stmt], []), top_level=top_level)
        else:
            yield from _walk(child, top_level=top_level)


def imports(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, bool, int]]:
    """``(imported streamsr module, at module level, line)`` for each import in ``path``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node, top_level in _walk(ast.parse(path.read_text(), str(path)), top_level=True):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # ``from pkg import sub`` imports the sub-module when there is one.
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            targets = subs if len(subs) == len(node.names) else [target, *subs]
        for t in targets:
            if t == "streamsr" or t.startswith("streamsr."):
                while t not in known and "." in t:  # ``import streamsr.x.name`` of an attribute
                    t = t.rpartition(".")[0]
                yield t, top_level, node.lineno


def graph() -> list[tuple[str, str, bool, int]]:
    mods = modules()
    known = set(mods)
    return [
        (m, t, top_level, line)
        for m, p in mods.items()
        for t, top_level, line in imports(m, p, known)
        if t != m
    ]


def allowed(src: str, dst: str) -> bool:
    """Whether module ``src`` may import module ``dst``."""
    a, b = layer_of(src), layer_of(dst)
    return a.startswith("top:") or a == b or b in MAY_IMPORT[a]


def upward_imports() -> dict[tuple[str, str], int]:
    """``{(importer, imported): line}`` for every import that runs up a layer."""
    found: dict[tuple[str, str], int] = {}
    for src, dst, _, line in graph():
        if not allowed(src, dst):
            found.setdefault((src, dst), line)
    return found


def cycles(*, local: bool = False) -> list[list[str]]:
    """One import cycle per strongly connected component (Tarjan), as ``[a, b, ..., a]``.

    Module-level imports only, or also the function-local ones when ``local``: a cycle closed
    by an import inside a function works, but still ties the two modules into one.
    """
    edges: dict[str, set[str]] = {}
    for src, dst, top_level, _ in graph():
        if top_level or local:
            edges.setdefault(src, set()).add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_path_around(min(component), component, edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _path_around(start: str, component: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``component`` (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, set()) & component):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - Tarjan found one


def test_every_subpackage_has_a_layer() -> None:
    unmapped = {layer_of(m) for m in modules()} - set(LAYERS) - {f"top:{m}" for m in TOP}
    assert not unmapped, f"sub-packages without a layer (add them to LAYERS): {sorted(unmapped)}"


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "module-level import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_import_cycles_through_function_local_imports() -> None:
    found = cycles(local=True)
    assert not found, "import cycles closed by function-local imports:\n" + "\n".join(
        " -> ".join(c) for c in found
    )


def test_imports_run_downward_only() -> None:
    found = upward_imports()
    new = {k: v for k, v in found.items() if k not in KNOWN_UPWARD}
    assert not new, "imports running up a layer:\n" + "\n".join(
        f"{src} (line {line}, {layer_of(src)}) imports {dst} ({layer_of(dst)})"
        for (src, dst), line in sorted(new.items())
    )
    stale = KNOWN_UPWARD - found.keys()
    assert not stale, f"KNOWN_UPWARD lists imports that are gone; remove them: {sorted(stale)}"


@pytest.mark.parametrize(
    ("src", "dst", "ok"),
    [
        ("streamsr.sinks._file", "streamsr.sources._live", True),
        ("streamsr.sources._file", "streamsr.sinks", False),
        ("streamsr.faces._boxes", "streamsr._errors", True),
        ("streamsr._url", "streamsr.sources", False),
        ("streamsr.enhance._enhancer", "streamsr.training._degrade", False),
        ("streamsr.training._eval", "streamsr.faces", True),
        ("streamsr.training._train", "streamsr.enhance._srcnn", True),
        ("streamsr.training._eval", "streamsr.compose", False),
        ("streamsr.runtime._pipeline", "streamsr.training", False),
        ("streamsr.runtime._live_cli", "streamsr._demo", False),
        ("streamsr.cli._main", "streamsr._demo", True),
        ("streamsr.cli._train", "streamsr.training", True),
        ("streamsr._demo", "streamsr.runtime._stages", True),
        ("streamsr.runtime._stages", "streamsr.cli", False),
    ],
)
def test_layer_rules(src: str, dst: str, ok: bool) -> None:
    assert allowed(src, dst) is ok


def test_the_walk_finds_every_kind_of_import(tmp_path: Path) -> None:
    """Function-local, relative, ``TYPE_CHECKING`` and ``from pkg import sub`` imports."""
    src = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import _boxes\n"
        "if TYPE_CHECKING:\n"
        "    from streamsr.compose import compose\n"
        "def f():\n"
        "    from ..runtime import _stages\n"
    )
    path = tmp_path / "streamsr" / "faces" / "_x.py"
    path.parent.mkdir(parents=True)
    path.write_text(src)
    known = {"streamsr.faces._boxes", "streamsr.compose", "streamsr.runtime._stages", "streamsr"}
    got = sorted(imports("streamsr.faces._x", path, known))
    assert got == [
        ("streamsr.compose", False, 5),
        ("streamsr.faces._boxes", True, 3),
        ("streamsr.runtime._stages", False, 7),
    ]
