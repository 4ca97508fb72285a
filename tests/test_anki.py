"""The Anki decks written by the build: one per language, one note per interview question, math
typeset with KaTeX's stylesheet and fonts as media, a link back to the section, stable ids."""

import json
import sqlite3
import zipfile

import genanki
import pytest

from tools import anki
from tools import generated as G
from tools import pages as P


def open_deck(site, lang, tmp_path):
    path = site / lang / anki.DOWNLOAD.format(lang=lang)
    assert path.is_file(), f"{path} is missing: the build writes it in tools/hooks.py on_post_build"
    with zipfile.ZipFile(path) as z:
        z.extract("collection.anki2", tmp_path)
        media = json.loads(z.read("media"))
        names = set(z.namelist())
    db = sqlite3.connect(tmp_path / "collection.anki2")
    notes = db.execute("select guid, flds, tags from notes").fetchall()
    decks = json.loads(db.execute("select decks from col").fetchone()[0])
    models = json.loads(db.execute("select models from col").fetchone()[0])
    db.close()
    return notes, media, names, decks, models


def expected_cards(lang):
    cards = []
    for name in P.nav_files(lang):
        slug = name.removesuffix(".md")
        if slug in P.TOPICS:
            cards += [G.card_id(slug, q) for q, _ in G.questions(P.read(P.DOCS / lang / name))]
    return cards


@pytest.mark.parametrize("lang", P.LANGS)
def test_the_deck_has_one_note_per_interview_question_with_a_stable_id(built_site, lang, tmp_path):
    notes, _, _, decks, models = open_deck(built_site, lang, tmp_path)
    # the GUID is the self-test's card id, so a rebuilt or edited deck updates the same notes
    assert sorted(guid for guid, _, _ in notes) == sorted(genanki.guid_for(c) for c in expected_cards(lang))
    deck_id, model_id = anki.IDS[lang]
    assert str(deck_id) in decks and str(model_id) in models


@pytest.mark.parametrize("lang", P.LANGS)
def test_notes_carry_typeset_math_a_link_back_and_topic_tags(built_site, lang, tmp_path):
    notes, _, _, _, _ = open_deck(built_site, lang, tmp_path)
    with_math = 0
    for _, fields, tags in notes:
        question, answer, source, topic = fields.split("\x1f")
        assert question.strip() and answer.strip() and topic.strip()
        assert "<tex-math" not in answer and "\\(" not in answer, "math must arrive typeset, in HTML Anki knows"
        with_math += 'class="katex"' in answer
        assert source.startswith(f'<a href="http://127.0.0.1:8000/{lang}/') and "/#" in source
        assert tags.split()[0] in P.TOPICS
    assert with_math >= 20, "answers with math keep KaTeX's HTML"


@pytest.mark.parametrize("lang", P.LANGS)
def test_katex_stylesheet_and_fonts_travel_as_media(built_site, lang, tmp_path):
    _, media, names, _, models = open_deck(built_site, lang, tmp_path)
    files = set(media.values())
    assert "_katex.min.css" in files and len([f for f in files if f.endswith(".woff2")]) == 20
    assert set(media) <= names
    css = next(iter(models.values()))["css"]
    assert '@import url("_katex.min.css")' in css
