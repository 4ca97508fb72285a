"""Reading the Markdown pages: which pages exist, and the formulas, code includes and figures each
shows. Used by the docs-consistency tests (and by generators that must not retype content)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
LANGS = ("zh", "en")
CONFIGS = {"zh": ROOT / "mkdocs.yml", "en": ROOT / "mkdocs.en.yml"}

# The topic pages (fixed slugs): each must be a complete lesson (see tests/test_docs.py).
TOPICS = ("activations", "losses", "regularization", "normalization", "optimizers",
          "initialization", "backprop", "gradients", "cnn")

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[^\n]*\n.*?^(?P=indent)(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
DISPLAY_MATH = re.compile(r"^[ \t]*\$\$(.*?)\$\$[ \t]*$", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^[ \t]*--8<--[ \t]+"([^"]+)"', re.MULTILINE)
IMAGE = re.compile(r"!\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)")
QUESTION = re.compile(r'^\?\?\?\+?[ \t]+question[ \t]+"([^"]+)"', re.MULTILINE)


def pages(lang: str) -> dict[str, Path]:
    """{relative path like 'activations.md': file} for one language (Markdown and notebooks)."""
    base = DOCS / lang
    found = [p for p in base.rglob("*") if p.suffix in (".md", ".ipynb") and ".ipynb_checkpoints" not in p.parts]
    return {p.relative_to(base).as_posix(): p for p in sorted(found)}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def read(path: Path) -> str:
    """A page's Markdown; for a notebook, its Markdown cells with code cells as fenced blocks."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    parts = []
    for cell in _cells(path):
        source = "".join(cell["source"])
        parts.append(source if cell["cell_type"] == "markdown" else f"```python\n{source}\n```")
    return "\n\n".join(parts) + "\n"


def code_cells(path: Path) -> list[str]:
    """The code cells of a notebook (empty for a Markdown page)."""
    if path.suffix != ".ipynb":
        return []
    return ["".join(c["source"]).strip() for c in _cells(path) if c["cell_type"] == "code"]


def without_code(text: str) -> str:
    return FENCE.sub("", text)


def display_formulas(text: str) -> list[str]:
    """The $$ … $$ blocks outside code, whitespace-normalised, in page order."""
    return [" ".join(m.group(1).split()) for m in DISPLAY_MATH.finditer(without_code(text))]


# Inside a $$ block, whole-line TeX comments carry `% key` (cheat sheet) and the formula-check
# bindings (`% check: …`, `% identity`, `% unchecked: …`; see tools/formulas.py). Readers never see
# them: the build strips them before KaTeX, so they reach no page, MathML annotation or search index.
COMMENT_LINE = re.compile(r"^[ \t]*%.*(?:\n|$)", re.MULTILINE)
BINDING = re.compile(r"^[ \t]*%[ \t]*(?P<kind>check|identity|unchecked)\b(?P<rest>.*)$", re.MULTILINE)


def strip_comments(tex: str) -> str:
    """The TeX a reader sees: a display formula without its comment lines."""
    return COMMENT_LINE.sub("", tex).strip()


def bindings(tex: str) -> list[tuple[str, str]]:
    """(kind, rest of the line) of each binding line of a display formula."""
    return [(m.group("kind"), m.group("rest").strip()) for m in BINDING.finditer(tex)]


def snippet_includes(text: str) -> list[str]:
    """The pymdownx.snippets includes ("file:section"), in page order."""
    return SNIPPET.findall(text)


def figures(text: str) -> list[str]:
    return IMAGE.findall(without_code(text))


def questions(text: str) -> list[str]:
    return QUESTION.findall(text)


class _Loader(yaml.SafeLoader):
    """mkdocs.yml uses !!python/object/apply (slugify) and !ENV tags; only the nav is needed here."""


_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def walk_nav(items) -> list[str]:
    """The Markdown files of a nav structure (as written in mkdocs.yml), in order."""
    found = []
    for item in items or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found += walk_nav(value)
        elif isinstance(value, str) and value.endswith((".md", ".ipynb")):
            found.append(value)
    return found


def nav_files(lang: str) -> list[str]:
    """The Markdown files listed in a language's nav, in order."""
    config = yaml.load(CONFIGS[lang].read_text(encoding="utf-8"), Loader=_Loader)
    return walk_nav(config.get("nav"))
