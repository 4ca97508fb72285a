"""Pages generated from the others (tools/generated.py): the cheat sheet has every key formula,
the self-test every interview question, the glossary every term, the verification page every
module — each taken from its source, never retyped."""

import html as html_lib
import re

import pytest

from tools import generated as G
from tools import pages as P

pytestmark = pytest.mark.site


def topic_pages(lang):
    nav = P.nav_files(lang)
    return [(name, P.read(P.DOCS / lang / name)) for name in nav if name.removesuffix(".md") in P.TOPICS]


def built(site, lang, slug):
    return (site / lang / slug / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", P.LANGS)
def test_cheatsheet_shows_every_key_formula_linked_to_its_section(built_site, lang):
    expected = [(name, section, formula) for name, text in topic_pages(lang)
                for section, formula in G.key_formulas(text)]
    assert len(expected) >= 10, "mark the key formulas of each topic with a first line `% key`"
    html = built(built_site, lang, "cheatsheet")
    assert html.count('<span class="katex-display">') == len(expected)
    annotations = re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>', html, re.DOTALL)
    for (name, section, formula), tex in zip(expected, annotations):
        assert " ".join(formula.split()) == " ".join(html_lib.unescape(tex).split())
        assert f'href="../{name.removesuffix(".md")}/#{G.anchor(section, "-")}"' in html, (
            f"cheat sheet entry for {section!r} does not link back to {name}")


def test_key_formula_marker_is_the_same_in_both_languages():
    zh = [f for _, t in topic_pages("zh") for _, f in G.key_formulas(t)]
    en = [f for _, t in topic_pages("en") for _, f in G.key_formulas(t)]
    assert zh == en


@pytest.mark.parametrize("lang", P.LANGS)
def test_selftest_has_every_interview_question_once(built_site, lang):
    expected = [(name, q) for name, text in topic_pages(lang) for q, _ in G.questions(text)]
    html = built(built_site, lang, "selftest")
    cards = re.findall(r'class="flashcard" data-card="([^"]+)"', html)
    assert len(cards) == len(expected) and len(set(cards)) == len(cards)
    for name, question in expected:
        assert G.card_id(name.removesuffix(".md"), question) in cards
    assert 'id="flashcards"' in html and "flashcards.js" in html


@pytest.mark.parametrize("lang", P.LANGS)
def test_glossary_page_lists_every_term(built_site, lang):
    html = built(built_site, lang, "glossary")
    for entry in G.glossary_terms():
        assert f"<td>{entry['zh']}</td>" in html and f"<td>{entry['en']}</td>" in html, entry


@pytest.mark.parametrize("lang", P.LANGS)
def test_verification_page_links_every_module_and_its_source(built_site, lang):
    html = built(built_site, lang, "verification")
    for module in G.snippet_modules():
        assert f'href="../source/{module}/"' in html, f"verification page lacks snippets/{module}.py"
        source = (built_site / lang / "source" / module / "index.html").read_text(encoding="utf-8")
        assert f"snippets/{module}.py" in source and 'class="k">def</span>' in source
        assert "--8&lt;--" not in source, "section markers leaked into the source listing"


def test_generated_blocks_fail_loudly_when_unknown():
    with pytest.raises(KeyError, match="unknown generated block 'nope'"):
        G.expand("<!-- generated: nope -->\n", "en", [])


@pytest.mark.parametrize("lang", P.LANGS)
def test_performance_page_renders_the_last_benchmark(built_site, lang):
    html = built(built_site, lang, "performance")
    data = P.DOCS / "data" / "benchmarks.json"
    if data.exists():
        import json

        measured = json.loads(data.read_text(encoding="utf-8"))
        assert measured["machine"]["when"] in html
        names = ("构建时 KaTeX", "浏览器端 MathJax 3") if lang == "zh" else ("build-time KaTeX", "client MathJax 3")
        assert all(name in html for name in names) and "conv2d (im2col)" in html
        if lang == "zh":      # bench.py's English names are translated on the Chinese page
            assert "build-time KaTeX" not in html and "unit/property" not in html
    else:
        assert "make bench" in html


def test_bench_turns_typeset_math_back_into_tex(built_site):
    from tools.bench import heaviest_math_page, raw_tex_variant

    page = heaviest_math_page(built_site / "en")
    built = page.read_text(encoding="utf-8")
    raw = raw_tex_variant(built)
    assert '<span class="katex">' not in raw and "katex.min.css" not in raw
    assert raw.count('<span class="arithmatex">\\(') + raw.count('<div class="arithmatex">\\[') == built.count('<span class="katex">')
