"""MkDocs hooks shared by the Chinese and the English build.

- ``on_config``: each language is its own site under ``<SITE_URL>/<lang>/``.
- ``on_pre_build``: regenerate the figures when their code changed.
- ``on_files``: serve the shared assets (figures, CSS, JS) and KaTeX's CSS and fonts from the
  site; add the generated source-listing pages.
- ``on_page_markdown``: expand `<!-- generated: NAME -->` blocks (tools/generated.py).
- ``on_post_build``: write the Anki deck of the interview questions (tools/anki.py).
- ``on_page_content``: figures load lazily with their size reserved; typeset every formula with KaTeX at build time; a formula KaTeX cannot
  compile fails the build with the page, the line and the formula. Notebook pages
  (mkdocs-jupyter) get the same treatment: their raw $…$ math is marked up first, their MathJax
  loader removed, their headings given readable anchors and their plots the alt text written in
  the cell's metadata.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # MkDocs loads this file by path; make `tools` importable
    sys.path.insert(0, str(ROOT))

from tools import anki, generated  # noqa: E402
from tools.pages import strip_comments, walk_nav  # noqa: E402

SHARED_ASSETS = ROOT / "docs" / "assets"
KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
RENDERER = ROOT / "tools" / "katex_render.mjs"

# pymdownx.arithmatex in generic mode wraps TeX in \( \) (inline) or \[ \] (display).
MATH = re.compile(
    r'<span class="arithmatex">\\\((?P<inline>.*?)\\\)</span>'
    r'|<div class="arithmatex">\\\[(?P<display>.*?)\\\]</div>',
    re.DOTALL,
)


def on_config(config):
    lang = config.theme["language"]
    root = os.environ.get("SITE_URL", "http://127.0.0.1:8000/").rstrip("/")
    config.site_url = f"{root}/{lang}/"
    return config


def on_pre_build(config):
    # A subprocess, so that edited snippet code is re-imported (mkdocs serve keeps this process).
    result = subprocess.run([sys.executable, "-m", "tools.figures", "--if-stale"], cwd=ROOT)
    if result.returncode != 0:
        raise PluginError("figure generation failed (see the traceback above): tools/figures/")


def on_files(files, config):
    if not (KATEX_DIST / "katex.min.css").is_file():
        raise PluginError(f"{KATEX_DIST} is missing: run `npm ci` (or `make build`, which does it).")
    shared = [(SHARED_ASSETS.parent, p) for p in SHARED_ASSETS.rglob("*")
              if p.is_file() and not p.name.startswith(".")]
    katex = [(KATEX_DIST, KATEX_DIST / "katex.min.css")]
    katex += [(KATEX_DIST, p) for p in (KATEX_DIST / "fonts").iterdir()]
    for src_dir, path in shared + katex:
        rel = path.relative_to(src_dir).as_posix()
        if src_dir == KATEX_DIST:
            dest = f"assets/katex/{rel}"
            file = File.generated(config, dest, abs_src_path=str(path))
        else:
            file = File(rel, str(src_dir), config.site_dir, config.use_directory_urls)
        files.append(file)
    for src_uri, markdown in generated.source_pages(config.theme["language"]).items():
        files.append(File.generated(config, src_uri, content=markdown))
    # the Anki deck is made from the built self-test page (on_post_build); listed now so links to it validate
    if files.get_file_from_path(anki.SOURCE_PAGE):
        files.append(File.generated(config, anki.DOWNLOAD.format(lang=config.theme["language"]), content=b""))
    return files


def on_page_markdown(markdown, page, config, files):
    if generated.PLACEHOLDER.search(markdown):
        try:
            return generated.expand(markdown, config.theme["language"], walk_nav(config.nav))
        except (KeyError, ValueError) as err:
            raise PluginError(f"{page.file.src_path}: {err}") from err
    return markdown


class KatexRenderer:
    """One persistent node process per build: ~1 ms per formula instead of ~120 ms per spawn."""

    def __init__(self):
        try:
            self.proc = subprocess.Popen(
                ["node", str(RENDERER)], cwd=ROOT, text=True, encoding="utf-8",
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )
        except FileNotFoundError as err:
            raise PluginError("node is not installed: install Node.js >= 18 to typeset math") from err

    def render(self, items):
        self.proc.stdin.write(json.dumps({"items": items}) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise PluginError(f"the KaTeX renderer ({RENDERER.name}) exited unexpectedly")
        return json.loads(reply)["results"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


_renderer: KatexRenderer | None = None


# nbconvert's template loads MathJax and mermaid from CDNs; the site typesets with KaTeX instead.
NOTEBOOK_CDN_SCRIPTS = re.compile(
    r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->"
    r'|<script type="module">(?:(?!</script>).)*?mermaid.*?</script>', re.DOTALL)
PROTECTED = re.compile(r'(<(pre|code|script|style)\b.*?</\2>|<div class="clipboard-copy-txt".*?</div>)', re.DOTALL)
NOTEBOOK_HEADING = re.compile(r'<h([1-6]) id="[^"]*">(.*?)<a class="anchor-link" href="#[^"]*">')


def notebook_to_arithmatex(html_text):
    """Mark up a notebook's raw $$…$$ / $…$ math the way pymdownx.arithmatex marks up Markdown,
    leaving code, preformatted output and scripts alone."""
    def mark(segment):
        segment = re.sub(r"<p>\s*\$\$(.+?)\$\$\s*</p>", r'<div class="arithmatex">\\[\1\\]</div>', segment, flags=re.DOTALL)
        segment = re.sub(r"\$\$(.+?)\$\$", r'<div class="arithmatex">\\[\1\\]</div>', segment, flags=re.DOTALL)
        return re.sub(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", r'<span class="arithmatex">\\(\1\\)</span>', segment)
    parts = PROTECTED.split(html_text)
    # split() with two groups yields: text, whole protected block, tag name, text, ...
    return "".join(mark(p) if i % 3 == 0 else p for i, p in enumerate(parts) if i % 3 != 2)


def fix_notebook_anchors(html_text, page):
    """nbconvert drops non-ASCII from heading ids (Chinese headings get id=""); use the same
    readable slugs as the Markdown pages, in the HTML and in the page's table of contents."""
    used = {}

    def slug_for(title):
        base = generated.anchor(re.sub(r"<[^>]+>", "", title), "-") or "section"
        used[base] = used.get(base, 0) + 1
        return base if used[base] == 1 else f"{base}_{used[base] - 1}"

    slugs = []

    def replace(match):
        slug = slug_for(match.group(2))
        slugs.append(slug)
        return f'<h{match.group(1)} id="{slug}">{match.group(2)}<a class="anchor-link" href="#{slug}">'

    html_text = NOTEBOOK_HEADING.sub(replace, html_text)
    items = list(_walk_toc(page.toc))
    for item, slug in zip(items, slugs):
        item.id = slug
    return html_text


# nbconvert's lab template ignores alt text in cell metadata: it gives every plot this placeholder
# and logs a warning per notebook. notebook_plot_alts puts the cell's own text in its place.
NBCONVERT_PLACEHOLDER_ALT = 'alt="No description has been provided for this image"'
logging.getLogger("traitlets").addFilter(
    lambda record: not record.getMessage().startswith("Alternative text is missing"))


def notebook_plot_alts(html_text, page):
    """Give the n-th plot of a notebook the ``alt`` of the n-th code cell that has one in its
    metadata (each plotting cell draws one figure)."""
    cells = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))["cells"]
    alts = [c["metadata"]["alt"] for c in cells if c["cell_type"] == "code" and "alt" in c["metadata"]]
    plots = html_text.count(NBCONVERT_PLACEHOLDER_ALT)
    if plots != len(alts):
        raise PluginError(
            f"{page.file.src_path}: {plots} plot(s) but {len(alts)} code cell(s) with an \"alt\" "
            "in their metadata: describe each plot in its cell's metadata (\"alt\": \"...\")")
    for alt in alts:
        html_text = html_text.replace(NBCONVERT_PLACEHOLDER_ALT, f'alt="{html.escape(alt)}"', 1)
    return html_text


def _walk_toc(items):
    for item in items:
        yield item
        yield from _walk_toc(item.children)


FIGURE_IMG = re.compile(r'<img (?P<attrs>[^>]*?)src="(?P<src>[^"]*assets/figures/(?P<name>[^"/]+\.svg))"')
SVG_SIZE = re.compile(r'<svg [^>]*?width="(?P<w>[\d.]+)"[^>]*?height="(?P<h>[\d.]+)"')


def lazy_figures(html_text: str) -> str:
    """Figures load when they come near the viewport, with their size reserved (width and height
    from the SVG), so the page does not jump as they arrive."""
    def attrs(m):
        svg = (SHARED_ASSETS / "figures" / m["name"]).read_text(encoding="utf-8")[:600]
        size = SVG_SIZE.search(svg)
        if size is None:
            raise PluginError(f"assets/figures/{m['name']}: no width/height on its <svg> element")
        return (f'<img {m["attrs"]}src="{m["src"]}" width="{round(float(size["w"]))}" '
                f'height="{round(float(size["h"]))}" loading="lazy" decoding="async"')
    return FIGURE_IMG.sub(attrs, html_text)


def on_page_content(html_text, page, config, files):
    global _renderer
    if page.file.src_uri.endswith(".ipynb"):
        html_text = NOTEBOOK_CDN_SCRIPTS.sub("", html_text)
        html_text = fix_notebook_anchors(notebook_to_arithmatex(html_text), page)
        html_text = notebook_plot_alts(html_text, page)
    html_text = lazy_figures(html_text)
    matches = list(MATH.finditer(html_text))
    if not matches:
        return html_text
    items = []
    for m in matches:
        display = m.group("display") is not None
        tex = html.unescape(m.group("display") if display else m.group("inline"))
        if display:
            tex = strip_comments(tex)
        items.append({"tex": tex, "display": display})
    if _renderer is None:
        _renderer = KatexRenderer()
    results = _renderer.render(items)

    errors = [
        f"{page.file.src_path}:{_source_line(page, item['tex'])}: {res['error']}\n"
        f"    formula: {item['tex'].strip()}"
        for item, res in zip(items, results) if "error" in res
    ]
    if errors:
        raise PluginError("KaTeX cannot typeset these formulas; fix the TeX:\n" + "\n".join(errors))

    out, last = [], 0
    for m, item, res in zip(matches, items, results):
        out.append(html_text[last:m.start()])
        # data-search-exclude keeps KaTeX's glyph soup out of the search index; the inline
        # wrapper is not a <span> because Material's search parser matches excluded tags by name.
        if item["display"]:
            out.append(f'<div class="arithmatex" data-search-exclude>{res["html"]}</div>')
        else:
            out.append(f'<tex-math class="arithmatex" data-search-exclude>{res["html"]}</tex-math>')
        last = m.end()
    out.append(html_text[last:])
    return "".join(out)


def _source_line(page, tex):
    """Best-effort line number of a formula in the page's Markdown source (for error messages)."""
    source = page.file.content_string
    first = tex.strip().splitlines()[0] if tex.strip() else tex
    index = source.find(first)
    return source.count("\n", 0, index) + 1 if index >= 0 else "?"


def on_post_build(config):
    _close_renderer()
    lang = config.theme["language"]
    if not (Path(config.docs_dir) / anki.SOURCE_PAGE).is_file():
        return  # a site without a self-test page (the one-page test sites) has no deck
    anki.write_deck(Path(config.site_dir), lang, config.site_url, ROOT / ".cache" / f"anki-media-{lang}")


def on_build_error(error):
    _close_renderer()


def _close_renderer():
    global _renderer
    if _renderer is not None:
        _renderer.close()
        _renderer = None
