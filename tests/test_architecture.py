"""ARCHITECTURE.md's "where each responsibility lives" table names exactly the modules there are."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"perception": ROOT / "src" / "perception", "pipelines": ROOT / "pipelines"}


def _table_modules() -> set[str]:
    """Every module the table names: `a.b` and `a.b` (`c`, `d`) for its submodules a.b.c, a.b.d."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("## Where each responsibility lives", 1)[1].split("\n## ", 1)[0]
    named: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| responsibility") or "---" in line:
            continue
        cell = line.rstrip(" |").rsplit(" | ", 1)[1]
        for module, inner in re.findall(
            r"`((?:perception|pipelines)[\w.]*)`(?:\s*\(([^)]*)\))?", cell
        ):
            named.add(module)
            named.update(f"{module}.{sub}" for sub in re.findall(r"`(\w+)`", inner or ""))
    return named


def _modules() -> set[str]:
    """Every public module of the library and the Dagster layer, one level into subpackages."""
    found: set[str] = set()
    for name, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if not parts or any(part.startswith("_") for part in parts):
                continue
            found.add(".".join((name, *parts)))
    return found


def test_every_module_has_a_row_and_every_row_a_module() -> None:
    """Every module has a row in the table and every module the table names exists."""
    named = _table_modules()
    modules = _modules()
    # A package named as a whole covers its submodules; a package whose submodules are listed
    # must list all of them.
    listed_packages = {m.rsplit(".", 1)[0] for m in named if m.rsplit(".", 1)[0] in named}
    unnamed = {
        m
        for m in modules
        if m not in named
        and not any(n.startswith(m + ".") for n in named)
        and not any(m.startswith(p + ".") for p in named - listed_packages)
    }
    assert not unnamed, f"modules missing from ARCHITECTURE.md's table: {sorted(unnamed)}"
    assert not named - modules, f"table names modules that do not exist: {sorted(named - modules)}"


def test_no_private_dagster_api() -> None:
    """Neither the library nor the Dagster layer names a private Dagster module (`dagster._`)."""
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in PACKAGES.values()
        for path in sorted(folder.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "dagster._" in line
    ]
    assert found == [], "use Dagster's public API (import dagster as dg)"
