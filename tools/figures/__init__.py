"""Figures and generated tables for the pages, computed with the `snippets` code.

Each topic module in this package may define
- ``FIGURES``: {file name: function returning a matplotlib Figure}, written as SVG to
  docs/assets/figures/; the same bytes come out on every run (no dates, fixed hash salt, fixed
  random seeds), so a rebuild never changes a figure that did not change;
- ``TABLES``: {file name: function returning Markdown}, written to docs/generated/ and included
  by the pages with ``--8<-- "docs/generated/<name>.md"`` (for measured numbers such as speedups,
  which are taken on the machine that builds the site).
`python -m tools.figures` writes them all; the build runs it when the code changed.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SVGO = ROOT / "node_modules" / ".bin" / "svgo"
SVGO_CONFIG = Path(__file__).resolve().parent / "svgo.config.mjs"
OUT_DIR = ROOT / "docs" / "assets" / "figures"
TABLE_DIR = ROOT / "docs" / "generated"
SOURCES = [ROOT / "snippets", Path(__file__).resolve().parent]


def _collect(kind: str) -> dict:
    """Collect one registry (FIGURES or TABLES) from every topic module: {file name: function}."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, make in getattr(module, kind, {}).items():
            if name in found:
                raise ValueError(f"{name} is defined twice (tools/figures/{info.name}.py)")
            found[name] = make
    return found


def all_figures() -> dict:
    return _collect("FIGURES")


def all_tables() -> dict:
    return _collect("TABLES")


def is_stale(out_dir: Path = OUT_DIR) -> bool:
    """True when an output is missing or older than any Python source it may depend on."""
    stamp = out_dir / ".complete"
    if not stamp.exists() or not TABLE_DIR.is_dir():
        return True
    newest_source = max(p.stat().st_mtime for d in SOURCES for p in d.rglob("*.py"))
    return stamp.stat().st_mtime < newest_source


def _replace_outputs(directory: Path, pattern: str, written: list[Path]) -> None:
    """Delete outputs that no registry produces any more (a renamed figure must not linger)."""
    expected = {p.name for p in written}
    for old in directory.glob(pattern):
        if old.name not in expected:
            old.unlink()


def optimize(svgs: list[Path]) -> None:
    """Rewrite the SVGs with SVGO (shorter path data, rounded coordinates, no editor clutter)."""
    if not SVGO.is_file():
        raise FileNotFoundError(f"{SVGO} is missing: run `npm ci` (or `make deps`)")
    subprocess.run([str(SVGO), "--config", str(SVGO_CONFIG), "--quiet", *map(str, svgs)], check=True)


def write_all(out_dir: Path = OUT_DIR, table_dir: Path = TABLE_DIR) -> list[Path]:
    from tools.figures._style import save_svg

    out_dir.mkdir(parents=True, exist_ok=True)
    table_dir.mkdir(parents=True, exist_ok=True)
    figures = [save_svg(make(), out_dir / name) for name, make in sorted(all_figures().items())]
    optimize(figures)
    tables = []
    for name, make in sorted(all_tables().items()):
        path = table_dir / name
        path.write_text(make(), encoding="utf-8")
        tables.append(path)
    _replace_outputs(out_dir, "*.svg", figures)
    _replace_outputs(table_dir, "*.md", tables)
    (out_dir / ".complete").touch()
    return figures + tables
