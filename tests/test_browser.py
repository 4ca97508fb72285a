"""The built site in a real headless Chromium (Debian's package, driven by Playwright), with every
request to another host blocked (as offline): every page in both languages loads cleanly with
typeset math and loaded figures, its links and anchors resolve, nothing overflows a phone screen,
the language switch keeps the page, search finds pages in Chinese and in English, the self-test
flashcards keep their progress, the cheat sheet prints on A4, and the 404 pages help."""

import functools
import os
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tools import pages as P
from tools.site import not_found_page

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
# Flags that keep Chromium quiet on a closed network (no update checks, no sync, no QUIC probes).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALL_PAGES = [(lang, name) for lang in P.LANGS for name in P.pages(lang)]


class StaticHost(SimpleHTTPRequestHandler):
    """Serves the built site like a static host: missing paths get the 404 page (the language's
    own under /zh/ and /en/, the root one elsewhere) with status 404."""

    def log_message(self, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        page = not_found_page(Path(self.directory), urlsplit(self.path).path)
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def server(built_site):
    handler = functools.partial(StaticHost, directory=str(built_site))
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
        self.context.set_default_timeout(30_000)   # generous: CI machines are shared and slow
        self.blocked = []
        # No network beyond this machine: anything else is recorded and refused, as offline.
        self.context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), self._block)
        self.page = self.context.new_page()
        self.errors, self.requests, self.failed = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} ({r.status})"))
        self.test_name = request.node.name

    def _block(self, route):
        if urlsplit(route.request.url).scheme in ("data", "blob"):
            return route.continue_()
        self.blocked.append(route.request.url)
        return route.abort()

    def screenshot_on_failure(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() else "_" for c in self.test_name)[:120]
        self.page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)

    def foreign_requests(self):
        return self.blocked + [u for u in self.requests
                               if urlsplit(u).scheme not in ("data", "blob", "about")
                               and urlsplit(u).hostname != "127.0.0.1"]


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
    slug = name.removesuffix(".md").removesuffix(".ipynb")
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
    if page.locator(".katex:visible").count():
        # KaTeX's own font must be in use: typeset math, not fallback text.
        family = page.locator(".katex:visible").first.evaluate("e => getComputedStyle(e).fontFamily")
        assert "KaTeX_Main" in family, f"{where}: math is not styled by KaTeX ({family})"
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px KaTeX_Main')"), f"{where}: KaTeX font not loaded"
    broken = page.evaluate(LOAD_ALL_IMAGES_JS)
    assert not broken, f"{where}: images that did not load: {broken}"
    raw = page.evaluate(RAW_TEX_JS)
    assert not raw, f"{where}: raw TeX visible on the page: {raw[:5]}"


# Figures load lazily: make every image load now, wait for it, and list those that failed.
LOAD_ALL_IMAGES_JS = """async () => {
  const images = [...document.images];
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  return images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));
}"""


def test_figures_below_the_fold_wait_until_the_reader_scrolls(server, visit):
    v = visit(f"{server}/en/activations/", viewport={"width": 1280, "height": 800})
    v.page.wait_for_load_state("networkidle")
    figures = v.page.locator("img[src*='assets/figures/']")
    count = figures.count()
    assert count >= 4, f"en/activations has {count} figures; this test needs a page with several"
    for i in range(count):
        attrs = figures.nth(i).evaluate("i => [i.loading, i.getAttribute('width'), i.getAttribute('height')]")
        assert attrs[0] == "lazy" and attrs[1] and attrs[2], f"figure {i}: loading/width/height = {attrs}"
    fetched = [u for u in v.requests if "/assets/figures/" in u]
    assert len(fetched) < count, f"all {count} figures were fetched before any scrolling: {fetched}"
    v.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    v.page.wait_for_load_state("networkidle")
    v.page.wait_for_function("[...document.images].filter(i => i.src.includes('/assets/figures/'))"
                             ".every(i => i.getBoundingClientRect().bottom < 0 || i.complete)")


# Visible prose (not code, not typeset math) that still looks like TeX: a formula that was not typeset.
RAW_TEX_JS = r"""(() => {
  const walker = document.createTreeWalker(document.querySelector('.md-content'), NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('pre, code, .katex, script, style, .highlight')) continue;
    const m = n.textContent.match(/\\[a-zA-Z]{2,}|\$\$|\\[\(\[]/);
    if (m) hits.push(n.textContent.trim().slice(0, 80));
  }
  return hits;
})()"""


def internal_links(page, base):
    """Same-site links of the page's content and navigation, without duplicates."""
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
    return sorted({h for h in hrefs if h.startswith(base) and "/search/" not in h})


_checked_targets = {}


@pytest.mark.parametrize("lang, name", ALL_PAGES, ids=[f"{l}/{n}" for l, n in ALL_PAGES])
def test_internal_links_and_anchors_resolve(server, visit, lang, name):
    v = visit(url_of(server, lang, name))
    bad = []
    for link in internal_links(v.page, server):
        target, fragment = urldefrag(link)
        fragment = unquote(fragment)
        if target not in _checked_targets:
            response = v.context.request.get(target)
            _checked_targets[target] = (response.status, response.text() if response.ok else "")
        status, body = _checked_targets[target]
        if status >= 400:
            bad.append(f"{link} -> HTTP {status}")
        elif fragment and not re.search(rf'id="{re.escape(fragment)}"', body):
            bad.append(f"{link} -> no element with id {fragment!r}")
    assert not bad, f"{lang}/{name}: broken links: {bad}"


@pytest.mark.parametrize("lang, name", ALL_PAGES, ids=[f"{l}/{n}" for l, n in ALL_PAGES])
def test_no_horizontal_overflow_on_a_phone(server, visit, lang, name):
    v = visit(url_of(server, lang, name), viewport={"width": 375, "height": 740},
              device_scale_factor=2, is_mobile=True, has_touch=True)
    page = v.page
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{lang}/{name}: the page is {overflow}px wider than a 375px screen"
    # Wide formulas and tables must scroll inside their own box, not push the page.
    too_wide = page.evaluate("""[...document.querySelectorAll('.md-content .katex-display, .md-content table')]
        .filter(e => { const box = e.closest('div.arithmatex, .md-typeset__table') || e;
                       return box.getBoundingClientRect().right > window.innerWidth + 1; })
        .map(e => e.textContent.slice(0, 40))""")
    assert not too_wide, f"{lang}/{name}: boxes wider than the screen: {too_wide}"


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


SEARCHES = [
    ("zh", "激活函数", "activations"), ("zh", "神经元死亡", "activations"), ("zh", "交叉熵", "losses"),
    ("zh", "偏差修正", "optimizers"), ("zh", "梯度消失", "gradients"), ("zh", "卷积", "cnn"),
    ("en", "dead ReLU", "activations"), ("en", "softmax", "activations"), ("en", "bias correction", "optimizers"),
    ("en", "Huber", "losses"), ("en", "im2col", "cnn"),
]
# A query runs once its target page is in the site (pages arrive topic by topic).
LIVE_SEARCHES = [(lang, q, f"{slug}/") for lang, q, slug in SEARCHES if f"{slug}.md" in P.pages(lang)]


@pytest.mark.parametrize("lang, query, expected", LIVE_SEARCHES)
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


def test_flashcards_reveal_mark_shuffle_and_keep_progress(server, visit):
    v = visit(url_of(server, "en", "selftest.md"))
    page = v.page
    card = page.locator(".flashcards__card")
    total = page.locator(".flashcard[data-card]").count()
    assert total >= 5 and card.is_visible()
    assert page.locator(".flashcards__answer").is_hidden()
    page.get_by_role("button", name="Show answer").click()
    assert page.locator(".flashcards__answer").is_visible()
    first = card.get_attribute("data-card")
    page.get_by_role("button", name="I knew it").click()
    assert card.get_attribute("data-card") != first, "marking a card did not move to the next one"
    assert page.locator(".flashcards__progress").inner_text() == f"Known: 1 / {total}"
    page.get_by_role("button", name="Not yet").click()
    page.reload()
    assert page.locator(".flashcards__progress").inner_text() == f"Known: 1 / {total}", "progress lost on reload"
    page.get_by_label("Only the ones I don't know").check()
    assert page.locator(".flashcards__position").inner_text() == f"Card 1 of {total - 1}"
    order = []
    for _ in range(3):
        page.get_by_role("button", name="Shuffle").click()
        order.append(card.get_attribute("data-card"))
    assert page.locator(".flashcards__position").inner_text() == f"Card 1 of {total - 1}"
    stored = page.evaluate("JSON.parse(localStorage.getItem('dlkb-flashcards-v1'))")
    assert list(stored.values()).count("known") == 1 and list(stored.values()).count("unknown") == 1
    page.get_by_role("button", name="Reset progress").click()
    assert page.locator(".flashcards__progress").inner_text() == f"Known: 0 / {total}"
    assert not v.foreign_requests()


@pytest.mark.parametrize("lang", P.LANGS)
def test_cheatsheet_prints_on_a4_without_navigation(server, visit, lang):
    v = visit(url_of(server, lang, "cheatsheet.md"))
    page = v.page
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})   # A4 at 96 dpi
    for chrome in (".md-header", ".md-sidebar--primary", ".md-sidebar--secondary", ".md-footer"):
        assert page.locator(chrome).first.is_hidden(), f"{chrome} is printed"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"the printed cheat sheet is {overflow}px wider than A4"
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 20, f"{pages} A4 pages"


@pytest.mark.parametrize("lang, text", [("zh", "页面不存在"), ("en", "Page not found")])
def test_missing_page_gets_a_helpful_404_in_its_language(server, visit, lang, text):
    v = visit(f"{server}/{lang}/no/such/page/")
    page = v.page
    assert text in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.lang") == lang
    page.locator("article a").first.click()
    page.wait_for_url(f"{server}/{lang}/")
    assert not v.foreign_requests()
    v.failed = [f for f in v.failed if "/no/such/page/" not in f]
    assert not v.failed, v.failed
