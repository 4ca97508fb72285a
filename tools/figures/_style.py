"""One look for every figure, and byte-identical SVG output."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

STYLE = {
    "svg.hashsalt": "dlkb",          # fixed ids inside the SVG: identical bytes on every run
    "svg.fonttype": "path",          # text as paths: no font needed in the browser
    "font.family": "DejaVu Sans",    # ships with matplotlib: same glyphs on every machine
    "font.size": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.facecolor": "white",     # readable on the dark theme too
    "axes.facecolor": "white",
    "lines.linewidth": 2,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#3949ab", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b"]),
}
plt.rcParams.update(STYLE)


def figure(nrows=1, ncols=1, width=8.0, height=4.0, **kwargs):
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)


def save_svg(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return path
