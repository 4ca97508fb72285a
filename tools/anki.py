"""Anki decks of the interview questions, one per language, written by every build.

The deck is made from the built self-test page, so a card shows exactly what the site shows: the
question, the answer with its math already typeset by KaTeX (MathML kept for screen readers), and a
link back to the section it comes from. KaTeX's stylesheet and fonts travel with the deck as media,
so the math displays in Anki desktop and AnkiDroid without a network. Anki's media folder is flat:
the files are prefixed with `_` (Anki's "Check Media" then leaves them alone) and the stylesheet's
font URLs are rewritten to match.

Ids are stable: the deck and the note type have fixed ids per language, and a note's GUID is the
card id the self-test uses (page slug + a hash of the question), so importing an updated deck
updates the existing cards instead of adding copies.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import genanki
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
KATEX_DIST = ROOT / "node_modules" / "katex" / "dist"
SOURCE_PAGE = "selftest.md"                       # the page whose questions become the cards
DOWNLOAD = "downloads/dlkb-{lang}.apkg"           # under each language's site
IDS = {"zh": (1733140001, 1733140101), "en": (1733140002, 1733140102)}   # (deck, note type)
NAMES = {"zh": "深度学习知识库 · 面试题", "en": "Deep Learning Knowledge Base · interview questions"}
CSS = """@import url("_katex.min.css");
.card { font-family: system-ui, sans-serif; font-size: 18px; line-height: 1.5; text-align: left;
        max-width: 40em; margin: 0 auto; padding: 0 .5em; color: #1a1a1a; background: #fff; }
.nightMode .card, .night_mode .card { color: #e6e6e6; background: #1e1e1e; }
.katex-display { overflow-x: auto; overflow-y: hidden; }
pre, code { font-size: .85em; }
pre { overflow-x: auto; padding: .5em; background: rgba(127, 127, 127, .12); }
.source { font-size: .8em; opacity: .8; margin-top: 1.5em; }
"""


def _model(lang: str) -> genanki.Model:
    _, model_id = IDS[lang]
    return genanki.Model(
        model_id, f"DLKB question ({lang})",
        fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Source"}, {"name": "Topic"}],
        templates=[{"name": "Card 1", "qfmt": "{{Question}}",
                    "afmt": '{{FrontSide}}<hr id="answer">{{Answer}}<p class="source">{{Source}}</p>'}],
        css=CSS)


def cards(selftest_html: str, page_url: str) -> list[dict]:
    """The cards of a built self-test page: id, question, answer HTML, source link, topic, tags."""
    soup = BeautifulSoup(selftest_html, "html.parser")
    found = []
    for card in soup.select("div.flashcard[data-card]"):
        details = card.find("details")
        summary = details.find("summary")
        question = summary.decode_contents().strip()
        summary.extract()
        # <tex-math> (the site's inline-math wrapper, kept out of its search index) is not HTML Anki knows
        answer = re.sub(r"<(/?)tex-math\b", r"<\1span", details.decode_contents().strip())
        question = re.sub(r"<(/?)tex-math\b", r"<\1span", question)
        source = card.get("data-source", "")
        href = page_url.rstrip("/") + "/" + source.replace(".md#", "/#").replace(".md", "/") if source else page_url
        tags = [card["data-card"].split("-")[0]] + card.get("data-tags", "").split()
        found.append({"id": card["data-card"], "question": question, "answer": _local_links(answer, page_url),
                      "source": f'<a href="{href}">{card.get("data-topic", "")}</a>', "topic": card.get("data-topic", ""),
                      "tags": [re.sub(r"\s+", "_", t) for t in tags if t]})
    return found


def _local_links(answer: str, page_url: str) -> str:
    """Relative links of the site (../losses/#…) become absolute: the card lives outside the site."""
    return re.sub(r'href="\.\./([^"]*)"', lambda m: f'href="{page_url.rstrip("/")}/{m.group(1)}"', answer)


def media_files(tmp: Path) -> list[str]:
    """KaTeX's stylesheet and woff2 fonts, renamed for Anki's flat media folder."""
    css = (KATEX_DIST / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r"url\(fonts/([^)]+?\.woff2)\)", r"url(_\1)", css)
    css = re.sub(r",\s*url\(fonts/[^)]+?\.(?:woff|ttf)\)\s*format\(\"(?:woff|truetype)\"\)", "", css)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "_katex.min.css").write_text(css, encoding="utf-8")
    paths = [tmp / "_katex.min.css"]
    for font in sorted((KATEX_DIST / "fonts").glob("*.woff2")):
        target = tmp / f"_{font.name}"
        target.write_bytes(font.read_bytes())
        paths.append(target)
    return [str(p) for p in paths]


def write_deck(site_dir: Path, lang: str, site_url: str, tmp: Path) -> Path:
    """Write site_dir/downloads/dlkb-<lang>.apkg from site_dir/selftest/index.html."""
    selftest = (site_dir / "selftest" / "index.html").read_text(encoding="utf-8")
    deck_id, _ = IDS[lang]
    deck = genanki.Deck(deck_id, NAMES[lang])
    model = _model(lang)
    for card in cards(selftest, site_url):
        deck.add_note(genanki.Note(model=model, fields=[card["question"], card["answer"], card["source"], card["topic"]],
                                   tags=card["tags"], guid=genanki.guid_for(card["id"])))
    package = genanki.Package(deck)
    package.media_files = media_files(tmp)
    out = site_dir / DOWNLOAD.format(lang=lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    # genanki stamps the collection with the time; the notes, their ids and the media are what matter
    with warnings.catch_warnings():
        # KaTeX draws some glyphs (roots, wide accents) as inline SVG, whose tags genanki does not list
        warnings.filterwarnings("ignore", message="Field contained the following invalid HTML tags")
        package.write_to_file(str(out))
    return out
