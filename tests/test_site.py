"""The real MkDocs build of both languages: strict, math typeset at build time, nothing loaded
from a third-party host, the language switch keeps the page, and broken input fails the build
with the file name."""

import json
import logging
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from tools import generated as G
from tools import pages as P
from tools.figures import write_all
from tools.site import CONFIGS

pytestmark = pytest.mark.site
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def site(built_site):
    return built_site


def html_pages(site, lang):
    return sorted((site / lang).rglob("*.html"))


def page_for(site, lang, md_name):
    slug = md_name.removesuffix(".md").removesuffix(".ipynb")
    return site / lang / ("index.html" if slug == "index" else f"{slug}/index.html")


class Resources(HTMLParser):
    """Collects every URL the browser would fetch to render the page (not plain <a> links)."""

    FETCHING = {("script", "src"), ("img", "src"), ("img", "srcset"), ("source", "src"),
                ("source", "srcset"), ("iframe", "src"), ("video", "src"), ("audio", "src"),
                ("embed", "src"), ("object", "data"), ("track", "src")}
    LINK_RELS = {"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch",
                 "apple-touch-icon", "preconnect", "dns-prefetch"}

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value and (tag, name) in self.FETCHING:
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]
        if tag == "link" and attrs.get("href") and set((attrs.get("rel") or "").split()) & self.LINK_RELS:
            self.urls.append(attrs["href"])
        if attrs.get("style"):
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", attrs["style"])


def external(url):
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") or url.startswith("//")) and parts.hostname not in LOCAL_HOSTS


# --- the build --------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", P.LANGS)
def test_every_page_is_built_with_its_language(site, lang):
    for name in P.pages(lang):
        path = page_for(site, lang, name)
        assert path.is_file(), f"{name} was not built into {path}"
        assert f'<html lang="{lang}"' in path.read_text(encoding="utf-8"), f"{path}: wrong <html lang>"


def test_root_page_sends_visitors_to_the_default_language(site):
    root = (site / "index.html").read_text(encoding="utf-8")
    assert 'http-equiv="refresh" content="0; url=zh/"' in root


@pytest.mark.parametrize("lang", P.LANGS)
def test_language_switch_links_to_the_same_page(site, lang):
    other = "en" if lang == "zh" else "zh"
    for name in P.pages(lang):
        path = page_for(site, lang, name)
        html = path.read_text(encoding="utf-8")
        hrefs = {hreflang: href for href, hreflang in re.findall(
            r'<a href="([^"]+)" hreflang="(\w+)" class="md-select__link"', html)}
        assert set(hrefs) == {"zh", "en"}, f"{path}: language switch missing ({hrefs})"
        base = "http://127.0.0.1/" + path.relative_to(site).as_posix()
        target = urlsplit(urljoin(base, hrefs[other])).path.lstrip("/")
        expected = page_for(site, other, name).relative_to(site).as_posix()
        assert (target + "index.html" if target.endswith("/") else target) == expected, (
            f"{path}: the {other} switch goes to {target}, not to the same page {expected}")


@pytest.mark.parametrize("lang", P.LANGS)
def test_math_is_typeset_at_build_time_and_no_raw_tex_is_left(site, lang):
    for path in html_pages(site, lang):
        html = path.read_text(encoding="utf-8")
        assert "katex-error" not in html, f"{path}: KaTeX error in the page"
        scripts = re.findall(r"<script\b[^>]*>", html) + re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.DOTALL)
        math_scripts = [s for s in scripts if re.search(r"katex|mathjax", s, re.IGNORECASE)]
        assert not math_scripts, f"{path}: ships a math script: {[s[:80] for s in math_scripts]}"
        visible = re.sub(r"<(script|style|pre|code|annotation|title)\b.*?</\1>", "", html, flags=re.DOTALL)
        visible = re.sub(r"<[^>]+>", "", visible)
        leftovers = re.findall(r"\\[a-zA-Z]+|\\[()\[\]]|\$\$|\$[^$\s][^$\n]*\$", visible)
        assert not leftovers, f"{path}: raw TeX in the page text: {leftovers[:5]}"


@pytest.mark.parametrize("lang", P.LANGS)
def test_every_formula_in_the_source_is_rendered(site, lang):
    for name, source in P.pages(lang).items():
        if name.endswith(".ipynb"):
            continue   # notebook math is checked by the raw-TeX test and the browser
        text = P.without_code(G.expand(P.read(source), lang, P.nav_files(lang)))
        display = len(P.display_formulas(text))
        html = page_for(site, lang, name).read_text(encoding="utf-8")
        rendered_display = html.count('<span class="katex-display">')
        assert rendered_display == display, f"docs/{lang}/{name}: {display} display formulas, {rendered_display} rendered"
        if name == "activations.md":
            assert html.count('<tex-math class="arithmatex"') > 50


def test_katex_assets_are_served_from_the_site(site):
    for lang in P.LANGS:
        css = site / lang / "assets" / "katex" / "katex.min.css"
        assert css.is_file()
        for font in re.findall(r"url\((fonts/[^)]+\.woff2)\)", css.read_text(encoding="utf-8")):
            assert (css.parent / font).is_file(), f"{font} referenced by katex.min.css is missing"


def test_no_page_loads_anything_from_a_third_party_host(site):
    for path in sorted(site.rglob("*.html")):
        parser = Resources()
        parser.feed(path.read_text(encoding="utf-8"))
        bad = [u for u in parser.urls if external(u)]
        assert not bad, f"{path} loads from third-party hosts: {bad}"
        html = path.read_text(encoding="utf-8")
        # Material's bundle fetches from a CDN only for mermaid diagrams and for repository facts.
        assert 'class="mermaid"' not in html, f"{path}: mermaid would be fetched from a CDN"
        assert "md-source" not in html, f"{path}: repo_url makes the browser call the GitHub API"
    for css in sorted(site.rglob("*.css")):
        text = css.read_text(encoding="utf-8")
        bad = [u for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(r"@import\s+['\"]([^'\"]+)", text)
               if external(u)]
        assert not bad, f"{css} loads from third-party hosts: {bad}"


def test_theme_uses_no_web_fonts(site):
    html = page_for(site, "en", "index.md").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html


@pytest.mark.parametrize("lang", P.LANGS)
def test_snippet_code_is_on_the_page_without_section_markers(site, lang):
    html = page_for(site, lang, "activations.md").read_text(encoding="utf-8")
    assert "--8&lt;--" not in html and "--8<--" not in html
    for function in ("sigmoid", "softmax", "maxout", "rrelu"):
        assert re.search(rf"def</span><span[^>]*> </span><span[^>]*>{function}</span>", html), (
            f"the code of {function} is not on the {lang} Activations page")


def test_chinese_headings_have_readable_anchors(site):
    html = page_for(site, "zh", "activations.md").read_text(encoding="utf-8")
    assert 'id="为什么必须有非线性"' in html
    assert not re.search(r'id="_\d+"', html), "a Chinese heading got a meaningless #_N anchor"


def test_search_indexes_are_per_language_and_chinese_is_segmented(site):
    zh = json.loads((site / "zh" / "search" / "search_index.json").read_text(encoding="utf-8"))
    en = json.loads((site / "en" / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert "\\u200b" in zh["config"]["separator"], "the zh separator must split jieba's segments"
    zh_titles = {d["location"]: d["title"] for d in zh["docs"]}
    assert zh_titles["activations/"] == "激活\u200b函数"
    en_text = " ".join(d["text"] for d in en["docs"] if d["location"].startswith("activations/"))
    assert "dying ReLU" in en_text and "激活" not in en_text
    # Rendered math is excluded from the index (no KaTeX glyph soup in results).
    assert "katex" not in json.dumps(zh) and "katex" not in json.dumps(en)


@pytest.mark.parametrize("lang", P.LANGS)
def test_notebook_plots_carry_the_alt_text_of_their_cells(site, lang):
    from html import escape

    for name in (n for n in P.pages(lang) if n.endswith(".ipynb")):
        built = page_for(site, lang, name).read_text(encoding="utf-8")
        cells = json.loads(P.pages(lang)[name].read_text(encoding="utf-8"))["cells"]
        alts = [c["metadata"]["alt"] for c in cells if "alt" in c["metadata"]]
        assert alts and "No description has been provided" not in built, f"docs/{lang}/{name}"
        for alt in alts:
            assert f'alt="{escape(alt)}"' in built, f"docs/{lang}/{name}: plot without its alt {alt!r}"


def test_a_notebook_plot_without_alt_text_fails_the_build(tmp_path):
    from types import SimpleNamespace

    from mkdocs.exceptions import PluginError

    from tools.hooks import NBCONVERT_PLACEHOLDER_ALT, notebook_plot_alts

    notebook = tmp_path / "lab.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "code", "metadata": {"alt": "a parabola"}, "source": "plt.plot(x, x**2)"},
        {"cell_type": "code", "metadata": {}, "source": "plt.plot(x, x**3)"}]}), encoding="utf-8")
    page = SimpleNamespace(file=SimpleNamespace(abs_src_path=str(notebook), src_path="lab.ipynb"))
    one = f"<img {NBCONVERT_PLACEHOLDER_ALT} src=a.png>"
    assert notebook_plot_alts(one, page) == '<img alt="a parabola" src=a.png>'
    with pytest.raises(PluginError, match=r"lab\.ipynb: 2 plot\(s\) but 1 code cell"):
        notebook_plot_alts(one * 2, page)


def test_figures_are_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    names = [p.name for p in write_all(first, tmp_path / "tables-a") if p.suffix == ".svg"]
    write_all(second, tmp_path / "tables-b")
    assert names, "no figures generated"
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), f"{name} differs between runs"


# --- broken input fails the build, naming the file ------------------------------------------

def build_one_page(tmp_path, markdown, extra_files=None):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(markdown, encoding="utf-8")
    for name, content in (extra_files or {}).items():
        (docs / name).write_text(content, encoding="utf-8")
    config = load_config(config_file=str(CONFIGS["en"]), docs_dir=str(docs),
                         site_dir=str(tmp_path / "site"),
                         nav=[{"Home": "index.md"}, *({n: n} for n in (extra_files or {}))])
    mkdocs_build(config)


def build_errors(caplog):
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)


@pytest.mark.parametrize("tex, message", [
    (r"\frac{1}{", "Unexpected end of input"),
    (r"\sigmoid(x)", r"Undefined control sequence: \\sigmoid"),
])
def test_a_broken_formula_fails_the_build_with_page_line_and_formula(tmp_path, caplog, tex, message):
    with pytest.raises(Abort):
        build_one_page(tmp_path, f"# Page\n\nSome text.\n\n$$\n{tex}\n$$\n")
    errors = build_errors(caplog)
    assert "index.md:6" in errors and f"formula: {tex}" in errors and re.search(message, errors), errors


def test_a_broken_inline_formula_fails_the_build(tmp_path, caplog):
    with pytest.raises(Abort):
        build_one_page(tmp_path, "# Page\n\nInline $\\frac{a}{$ math.\n")
    assert re.search(r"index\.md:3: .*\n.*formula: \\frac\{a\}\{", build_errors(caplog)), build_errors(caplog)


def test_a_missing_snippet_section_fails_the_build(tmp_path):
    with pytest.raises(Exception, match="no_such_section"):
        build_one_page(tmp_path, '# Page\n\n```python\n--8<-- "snippets/activations.py:no_such_section"\n```\n')


def test_a_missing_snippet_file_fails_the_build(tmp_path):
    with pytest.raises(Exception, match="no_such_module.py"):
        build_one_page(tmp_path, '# Page\n\n```python\n--8<-- "snippets/no_such_module.py"\n```\n')


@pytest.mark.parametrize("link, complaint", [
    ("[gone](missing.md)", "missing.md"),
    ("[gone](other.md#no-such-heading)", "no-such-heading"),
])
def test_a_dead_internal_link_fails_the_strict_build(tmp_path, caplog, link, complaint):
    caplog.set_level(logging.WARNING)
    with pytest.raises(Abort):
        build_one_page(tmp_path, f"# Page\n\nSee {link}.\n", {"other.md": "# Other\n"})
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "index.md" in warnings and complaint in warnings, warnings



def test_a_missing_page_is_answered_by_its_languages_404(site):
    from tools.site import not_found_page

    assert not_found_page(site, "/en/no-such-page/") == site / "en" / "404.html"
    assert not_found_page(site, "/zh/不存在/") == site / "zh" / "404.html"
    assert not_found_page(site, "/nothing/here") == site / "404.html"
    assert not_found_page(site, "/") == site / "404.html"
