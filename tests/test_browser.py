"""The built site in a real headless Chromium (Debian's package, driven by Playwright):
every page in both languages loads cleanly with typeset math, nothing leaves 127.0.0.1, the
language switch keeps the page, and search finds pages in Chinese and in English."""

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools import pages as P

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
# Flags that keep Chromium quiet on a closed network (no update checks, no sync, no QUIC probes).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALL_PAGES = [(lang, name) for lang in P.LANGS for name in P.pages(lang)]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(built_site):
    handler = functools.partial(QuietHandler, directory=str(built_site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package "
                    "(apt-get install chromium) or set CHROMIUM to its path", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


class Visit:
    """A page opened in a fresh context, with its console errors and requests recorded."""

    def __init__(self, browser, request, **context):
        self.context = browser.new_context(service_workers="block", **context)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors, self.requests, self.failed = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} ({r.status})"))
        self.test_name = request.node.name

    def screenshot_on_failure(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() else "_" for c in self.test_name)[:120]
        self.page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)

    def foreign_requests(self):
        return [u for u in self.requests
                if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname != "127.0.0.1"]


@pytest.fixture
def visit(browser, request):
    visits = []

    def open_(url, **context):
        v = Visit(browser, request, **context)
        visits.append(v)
        v.page.goto(url, wait_until="load")
        return v

    yield open_
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    for v in visits:
        if failed:
            v.screenshot_on_failure()
        v.context.close()


def url_of(server, lang, name):
    slug = name.removesuffix(".md")
    return f"{server}/{lang}/" + ("" if slug == "index" else f"{slug}/")


@pytest.mark.parametrize("lang, name", ALL_PAGES, ids=[f"{l}/{n}" for l, n in ALL_PAGES])
def test_page_loads_cleanly_with_typeset_math_and_figures(server, visit, lang, name):
    v = visit(url_of(server, lang, name))
    page = v.page
    page.wait_for_load_state("networkidle")
    where = f"{lang}/{name}"
    assert not v.errors, f"{where}: console errors {v.errors}"
    assert not v.failed, f"{where}: failed requests {v.failed}"
    assert not v.foreign_requests(), f"{where}: requests left 127.0.0.1: {v.foreign_requests()}"
    assert page.locator(".katex-error").count() == 0, f"{where}: KaTeX error on the page"
    if page.locator(".arithmatex").count():
        # KaTeX's own font must be in use: typeset math, not fallback text.
        family = page.locator(".katex").first.evaluate("e => getComputedStyle(e).fontFamily")
        assert "KaTeX_Main" in family, f"{where}: math is not styled by KaTeX ({family})"
        assert page.evaluate("document.fonts.check('16px KaTeX_Main')"), f"{where}: KaTeX font not loaded"
    broken = page.evaluate("""[...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                              .map(i => i.getAttribute('src'))""")
    assert not broken, f"{where}: images that did not load: {broken}"


@pytest.mark.parametrize("lang, name", ALL_PAGES, ids=[f"{l}/{n}" for l, n in ALL_PAGES])
def test_language_switch_lands_on_the_same_page_and_back(server, visit, lang, name):
    other = "en" if lang == "zh" else "zh"
    v = visit(url_of(server, lang, name))
    page = v.page
    for target, back in ((other, lang), (lang, other)):
        page.locator(".md-header__option .md-select").first.hover()
        page.locator(f'a.md-select__link[hreflang="{target}"]').click()
        page.wait_for_url(url_of(server, target, name))
        assert page.evaluate("document.documentElement.lang") == target


@pytest.mark.parametrize("lang, query, expected", [
    ("zh", "激活函数", "activations/"),
    ("zh", "神经元死亡", "activations/"),
    ("en", "dead ReLU", "activations/"),
    ("en", "softmax", "activations/"),
])
def test_search_finds_the_page_in_its_own_language(server, visit, lang, query, expected):
    v = visit(url_of(server, lang, "index.md"))
    page = v.page
    search = page.locator("input.md-search__input")
    search.fill(query)
    search.press("End")   # Material searches on keyup (an IME ends with one); fill() sends none
    page.locator(".md-search-result__item > a").first.wait_for()
    hrefs = page.locator(".md-search-result__item > a").evaluate_all("els => els.map(e => e.href)")
    assert any(f"/{lang}/{expected}" in h for h in hrefs), f"{lang} search for {query!r} gave {hrefs}"
    assert not any(f"/{'en' if lang == 'zh' else 'zh'}/" in h for h in hrefs), "results from the other language"


def test_dark_mode_toggle_switches_the_colour_scheme(server, visit):
    v = visit(url_of(server, "en", "activations.md"), color_scheme="light")
    page = v.page
    body = page.locator("body")
    assert body.get_attribute("data-md-color-scheme") == "default"
    for _ in range(3):   # system -> light -> dark (three-state toggle)
        if body.get_attribute("data-md-color-scheme") == "slate":
            break
        page.locator("form[data-md-component=palette] label:visible").first.click()
    assert body.get_attribute("data-md-color-scheme") == "slate"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", "dark scheme still has a white background"
