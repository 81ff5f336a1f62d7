"""The package's layers (``parity/__init__.py`` lists them): imports run one way, from the
outer layers to the core, and no imports run in a circle. Read from the source, so a
violation fails here before anyone imports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.package.layers import Edge, cycles, edges, layer_of, modules, upward

ROOT = Path(__file__).resolve().parents[2] / "parity"
#: Lowest first; a module may import from its own layer and those before it.
ORDER = ("core", "engine", "checks", "report", "plugin", "cli")


def _lines(found: list[Edge]) -> str:
    return "\n".join(
        f"  {e.source} (line {e.line}) imports {e.target}" + (" [typing]" if e.typing else "")
        for e in found
    )


def test_every_module_sits_in_a_layer() -> None:
    loose = [
        m for m in modules(ROOT)
        if layer_of(m, ORDER) == len(ORDER) and m not in ("parity", "parity.__main__")
    ]  # fmt: skip
    assert not loose, f"modules outside every layer (move them into one): {loose}"


def test_no_module_imports_from_a_layer_above_it() -> None:
    found = upward(edges(ROOT), ORDER)
    assert not found, "imports against the layers' direction:\n" + _lines(found)


def test_no_import_cycle() -> None:
    found = cycles(edges(ROOT))
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_the_sandbox_is_imported_only_where_it_is_started() -> None:
    # A plain install runs against staging without the sandbox's servers: only a function
    # that starts (or describes) the embedded sandbox may import it, never a module's top.
    found = [e for e in edges(ROOT, external="sandbox") if e.target == "sandbox" and not e.lazy]
    assert not found, "module-level imports of the sandbox:\n" + _lines(found)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in root.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return root


def test_the_checks_see_an_upward_import_a_cycle_and_a_typing_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "core/a.py": "def f():\n    from pkg.engine import b\n",  # lazy, still upward
            "core/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from pkg.engine.b import X\n",
            "core/d.py": "from . import e\n",
            "core/e.py": "import pkg.core.d\n",
            "engine/b.py": "from pkg.core import a\nfrom ..core.c import Y\n",
        },
    )
    found = edges(root)
    ups = {(e.source, e.target, e.typing, e.lazy) for e in upward(found, ("core", "engine"))}
    assert ups == {
        ("pkg.core.a", "pkg.engine.b", False, True),
        ("pkg.core.c", "pkg.engine.b", True, False),
    }
    assert sorted(cycles(found)) == [["pkg.core.a", "pkg.engine.b"], ["pkg.core.d", "pkg.core.e"]]
    # b -> c is relative (..core.c) and resolved; c -> b is typing only: no cycle there.
    assert ("pkg.engine.b", "pkg.core.c") in {(e.source, e.target) for e in found}


@pytest.mark.parametrize("layer", ORDER)
def test_each_layer_says_what_it_holds_and_may_import(layer: str) -> None:
    doc = (ROOT / layer / "__init__.py").read_text(encoding="utf-8")
    assert doc.startswith('"""') and "May import" in doc


def test_the_architecture_page_lists_every_module_under_its_layer() -> None:
    doc = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed: set[str] = set()
    layer = None
    for line in doc.splitlines():
        if line.startswith("### `parity/"):
            layer = line.split("`")[1].strip("/").split("/")[1]
        elif line.startswith("#"):
            layer = None
        elif layer and line.startswith("- `") and "`:" in line:
            listed.add(f"{layer}/{line.split('`')[1]}")
    files = {f"{layer}/{p.name}" for layer in ORDER for p in (ROOT / layer).glob("*.py")}
    inits = {f for f in files if f.endswith("/__init__.py")}  # listed where they hold code
    assert not listed - files, "docs/architecture.md lists modules that do not exist"
    assert not files - inits - listed, "modules docs/architecture.md does not list"
