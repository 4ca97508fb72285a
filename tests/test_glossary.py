"""Translations stay consistent: when an English page uses a glossary term, its Chinese
counterpart uses the glossary's Chinese term, and no Chinese page uses a ruled-out variant."""

import re

import pytest

from tools import pages as P
from tools.generated import glossary_terms

TERMS = glossary_terms()
ZH, EN = P.pages("zh"), P.pages("en")
CONTENT_PAGES = sorted(n for n in set(ZH) & set(EN) if n.removesuffix(".md") in P.TOPICS or n == "index.md")


def prose(text: str) -> str:
    """The text a reader sees as prose: no code, no math, no HTML comments."""
    text = P.without_code(text)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", " ", text)
    return re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)


def test_glossary_entries_are_well_formed():
    seen = set()
    for entry in TERMS:
        assert {"en", "zh"} <= set(entry), f"glossary entry {entry} needs en and zh"
        assert entry["en"].lower() not in seen, f"{entry['en']} is in docs/data/glossary.yml twice"
        seen.add(entry["en"].lower())
        assert entry.get("page", "activations") in P.TOPICS, f"{entry['en']}: unknown page {entry.get('page')}"
        for variant in entry.get("avoid", []):
            assert variant != entry["zh"], f"{entry['en']}: avoid lists the term itself"


@pytest.mark.parametrize("name", CONTENT_PAGES)
def test_chinese_page_uses_the_glossary_term_whenever_the_english_page_uses_the_concept(name):
    en, zh = prose(P.read(EN[name])), prose(P.read(ZH[name]))
    missing = []
    for entry in TERMS:
        pattern = entry.get("match", re.escape(entry["en"]))
        if re.search(pattern, en, flags=re.IGNORECASE) and entry["zh"] not in zh:
            missing.append(f"{entry['en']} → {entry['zh']}")
    assert not missing, (f"docs/en/{name} uses these terms but docs/zh/{name} never uses their glossary "
                         f"translation (docs/data/glossary.yml): {missing}")


@pytest.mark.parametrize("name", sorted(ZH))
def test_chinese_pages_avoid_ruled_out_variants(name):
    zh = P.read(ZH[name])
    found = [(variant, entry["zh"]) for entry in TERMS for variant in entry.get("avoid", []) if variant in zh]
    assert not found, f"docs/zh/{name}: use the glossary term instead of {found} (variant, term)"
