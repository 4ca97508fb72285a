"""Figures for the pages, generated from the `snippets` code as deterministic SVG.

Each topic module in this package defines ``FIGURES``: a dict from output file name to a function
that returns a matplotlib Figure. `python -m tools.figures` writes them all to
docs/assets/figures/; the same bytes come out on every run (no dates, fixed hash salt, fixed
random seeds), so a rebuild never changes a figure that did not change.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "docs" / "assets" / "figures"
SOURCES = [ROOT / "snippets", Path(__file__).resolve().parent]


def all_figures():
    """Collect FIGURES from every topic module of this package: {file name: function}."""
    figures = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, make in getattr(module, "FIGURES", {}).items():
            if name in figures:
                raise ValueError(f"figure {name} is defined twice (tools/figures/{info.name}.py)")
            figures[name] = make
    return figures


def is_stale(out_dir: Path = OUT_DIR) -> bool:
    """True when a figure is missing or older than any Python source it may depend on."""
    outputs = list(out_dir.glob("*.svg"))
    if not outputs:
        return True
    newest_source = max(p.stat().st_mtime for d in SOURCES for p in d.rglob("*.py"))
    stamp = out_dir / ".complete"
    return not stamp.exists() or stamp.stat().st_mtime < newest_source


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    from tools.figures._style import save_svg

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in sorted(all_figures().items()):
        written.append(save_svg(make(), out_dir / name))
    expected = {p.name for p in written}
    for stale in out_dir.glob("*.svg"):
        if stale.name not in expected:
            stale.unlink()
    (out_dir / ".complete").touch()
    return written
