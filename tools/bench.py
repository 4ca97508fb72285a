"""`make bench`: measure the site and the code side by side and print one table.

1. Build: cold (figures, tables and site removed) and warm `tools.site build`, wall and CPU time.
2. Reader: the heaviest math page in headless Chromium, as built (KaTeX at build time) and, in
   the same run, the same page typeset in the browser by KaTeX auto-render and by MathJax 3
   (local copies from node_modules): final math on screen, fonts ready, main-thread script
   time, layout shift, requests and bytes (raw and gzip).
3. Tests: wall time of the whole suite and of each part (doctests, unit/property, build, browser).
4. Code: vectorized vs loop speedups (SVM loss, softmax loss, conv2d via im2col).
Medians over repeated runs; ratios are taken within one run. Writes docs/data/benchmarks.json,
which the Performance page renders. Uses only local resources and leaves no server running.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import html
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "data" / "benchmarks.json"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def median(values):
    return statistics.median(values)


def timed_run(cmd, env=None):
    """Wall and CPU (user + sys of the child processes) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


# --- 1. build ---------------------------------------------------------------------------------

def bench_build(repeats):
    build = [sys.executable, "-m", "tools.site", "build"]
    cold, warm = [], []
    for _ in range(repeats):
        for path in (ROOT / "site", ROOT / "docs" / "assets" / "figures", ROOT / "docs" / "generated"):
            shutil.rmtree(path, ignore_errors=True)
        cold.append(timed_run(build))
        warm.append(timed_run(build))
    site = ROOT / "site"
    pages = [p for p in site.rglob("index.html") if p.parent != site and "/source/" not in p.as_posix()]
    formulas = sum(p.read_text(encoding="utf-8").count('<span class="katex">') for p in pages)
    from tools import pages as P
    includes = sum(len(P.snippet_includes(P.read(path))) for lang in P.LANGS for path in P.pages(lang).values())
    warm_wall = median([w for w, _ in warm])
    return {
        "cold_wall_s": median([w for w, _ in cold]), "cold_cpu_s": median([c for _, c in cold]),
        "warm_wall_s": warm_wall, "warm_cpu_s": median([c for _, c in warm]),
        "pages": len(pages), "formulas": formulas, "snippet_includes": includes,
        "ms_per_page_warm": 1000 * warm_wall / len(pages),
        "ms_per_formula_warm": 1000 * warm_wall / max(formulas, 1),
        "repeats": repeats,
    }


# --- 2. reader --------------------------------------------------------------------------------

MATH_SPAN = re.compile(r'<tex-math class="arithmatex" data-search-exclude>(.*?)</tex-math>', re.DOTALL)
MATH_DIV = re.compile(r'<div class="arithmatex" data-search-exclude>(.*?)</div>', re.DOTALL)
TEX = re.compile(r'<annotation encoding="application/x-tex">(.*?)</annotation>', re.DOTALL)

KATEX_CLIENT = """<script defer src="{a}katex/katex.min.js"></script>
<script defer src="{a}katex/contrib/auto-render.min.js"></script>
<script>document.addEventListener("DOMContentLoaded", () => {{
  renderMathInElement(document.body, {{delimiters: [{{left: "\\\\[", right: "\\\\]", display: true}},
    {{left: "\\\\(", right: "\\\\)", display: false}}], throwOnError: false}});
  window.__mathDone = performance.now();
}});</script>"""
MATHJAX_CLIENT = """<script>window.MathJax = {{chtml: {{fontURL: "{a}mathjax/es5/output/chtml/fonts/woff-v2"}},
  startup: {{pageReady: () => MathJax.startup.defaultPageReady().then(() => {{ window.__mathDone = performance.now(); }})}}}};</script>
<script defer src="{a}mathjax/es5/tex-chtml.js"></script>"""
INIT = """window.__cls = 0;
new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value; })
  .observe({type: "layout-shift", buffered: true});"""


def raw_tex_variant(page_html):
    """The built page with every typeset formula turned back into its TeX source."""
    def back(match, display):
        tex = html.unescape(TEX.search(match.group(1)).group(1))
        return f'<div class="arithmatex">\\[{html.escape(tex, quote=False)}\\]</div>' if display else \
               f'<span class="arithmatex">\\({html.escape(tex, quote=False)}\\)</span>'
    page_html = MATH_DIV.sub(lambda m: back(m, True), page_html)
    page_html = MATH_SPAN.sub(lambda m: back(m, False), page_html)
    return page_html.replace('<link rel="stylesheet" href="../assets/katex/katex.min.css">', "")


def heaviest_math_page(site_lang_dir):
    """The topic page with the most formulas (the generated pages hide theirs in collapsed blocks)."""
    from tools.pages import TOPICS

    candidates = [site_lang_dir / slug / "index.html" for slug in TOPICS if (site_lang_dir / slug).is_dir()]
    return max(candidates, key=lambda p: p.read_text(encoding="utf-8").count('<span class="katex">'))


def bench_reader(repeats):
    from playwright.sync_api import sync_playwright

    served = Path(tempfile.mkdtemp(prefix="dlkb-bench-"))
    try:
        shutil.copytree(ROOT / "site" / "en", served / "en")
        page_file = heaviest_math_page(served / "en")
        slug = page_file.parent.name
        built = page_file.read_text(encoding="utf-8")
        raw = raw_tex_variant(built)
        shutil.copytree(ROOT / "node_modules" / "katex" / "dist", served / "en" / "katex")
        shutil.copytree(ROOT / "node_modules" / "mathjax" / "es5", served / "en" / "mathjax" / "es5")
        assets = "../"
        variants = {"build-time KaTeX": slug,
                    "client KaTeX": f"{slug}-katex",
                    "client MathJax 3": f"{slug}-mathjax"}
        for name, script in (("client KaTeX", KATEX_CLIENT), ("client MathJax 3", MATHJAX_CLIENT)):
            target = served / "en" / variants[name] / "index.html"
            target.parent.mkdir()
            head_extra = script.format(a=assets)
            if name == "client KaTeX":
                head_extra = '<link rel="stylesheet" href="../katex/katex.min.css">' + head_extra
            target.write_text(raw.replace("</head>", head_extra + "</head>"), encoding="utf-8")
        formulas = built.count('<span class="katex">')

        handler = functools.partial(_Quiet, directory=str(served))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_address[1]}/en/"
        results = {name: [] for name in variants}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                for _ in range(repeats):      # interleaved, so machine noise hits every variant alike
                    for name, path in variants.items():
                        results[name].append(_load_once(browser, base + path + "/"))
                browser.close()
        finally:
            httpd.shutdown()
            httpd.server_close()
    finally:
        shutil.rmtree(served, ignore_errors=True)

    summary = {}
    for name, runs in results.items():
        summary[name] = {key: median([r[key] for r in runs]) for key in runs[0]}
    base_final = summary["build-time KaTeX"]["final_math_ms"]
    for name in summary:
        summary[name]["speedup_of_build_time"] = summary[name]["final_math_ms"] / base_final
    return {"page": f"en/{slug}/", "formulas": formulas, "repeats": repeats, "variants": summary}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _load_once(browser, url):
    context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 800})
    context.add_init_script(INIT)
    page = context.new_page()
    bodies = []
    page.on("response", lambda r: bodies.append(r))
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url, wait_until="load")
    page.wait_for_function("document.readyState === 'complete' && (!document.querySelector('.arithmatex') "
                           "|| window.__mathDone !== undefined || !document.querySelector('script[src*=mathjax], "
                           "script[src*=katex]'))", timeout=60_000)
    page.evaluate("document.fonts.ready")
    page.wait_for_timeout(300)  # let late layout shifts land
    timing = page.evaluate("""(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const fonts = performance.getEntriesByType('resource').filter(e => /\\.woff2?$/.test(e.name));
        const fontsEnd = Math.max(0, ...fonts.map(e => e.responseEnd));
        const mathDone = window.__mathDone || 0;
        return {fcp: fcp ? fcp.startTime : 0, fontsEnd, mathDone, cls: window.__cls};
    })()""")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    raw_bytes = gz_bytes = 0
    for response in bodies:
        try:
            body = response.body()
        except Exception:    # redirects and aborted responses have no body
            continue
        raw_bytes += len(body)
        gz_bytes += len(gzip.compress(body, 6))
    context.close()
    return {
        "final_math_ms": max(timing["fcp"], timing["mathDone"], timing["fontsEnd"]),
        "first_paint_ms": timing["fcp"],
        "fonts_ready_ms": timing["fontsEnd"],
        "script_ms": 1000 * metrics.get("ScriptDuration", 0.0),
        "layout_shift": timing["cls"],
        "requests": len(bodies),
        "kb_raw": raw_bytes / 1024,
        "kb_gzip": gz_bytes / 1024,
    }


# --- 3. tests ---------------------------------------------------------------------------------

def bench_tests():
    report = Path(tempfile.mkdtemp(prefix="dlkb-junit-")) / "junit.xml"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
                   cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    parts = {"doctests": 0.0, "unit/property": 0.0, "build": 0.0, "browser": 0.0}
    counts = dict.fromkeys(parts, 0)
    failures = 0
    for case in ET.parse(report).getroot().iter("testcase"):
        where = case.get("classname", "")
        part = ("doctests" if where.startswith("snippets.") else
                "browser" if "test_browser" in where else
                "build" if any(k in where for k in ("test_site", "test_generated")) else "unit/property")
        parts[part] += float(case.get("time", 0))
        counts[part] += 1
        failures += any(child.tag in ("failure", "error") for child in case)
    shutil.rmtree(report.parent, ignore_errors=True)
    return {"wall_s": wall, "parts_s": parts, "tests": counts, "failures": failures,
            "non_browser_s": wall - parts["browser"]}


# --- 4. code ----------------------------------------------------------------------------------

def _best_of(f, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_code(repeats):
    from snippets import cnn, losses

    rng = np.random.default_rng(0)
    rows = []
    scores, y = rng.normal(size=(500, 10)), rng.integers(0, 10, size=500)
    for name, naive, fast in (("svm_loss", losses.svm_loss_naive, losses.svm_loss),
                              ("softmax_loss", losses.softmax_loss_naive, losses.softmax_loss)):
        t_naive = _best_of(lambda: naive(scores, y), repeats)
        t_fast = _best_of(lambda: fast(scores, y), repeats * 10)
        rows.append({"what": name, "shape": "scores (500, 10)", "loop_ms": 1000 * t_naive,
                     "vectorized_ms": 1000 * t_fast, "speedup": t_naive / t_fast})
    x, w, b = rng.normal(size=(8, 3, 32, 32)), rng.normal(size=(16, 3, 3, 3)), rng.normal(size=16)
    t_naive = _best_of(lambda: cnn.conv2d_naive(x, w, b, stride=1, padding=1), max(2, repeats // 2))
    t_fast = _best_of(lambda: cnn.conv2d(x, w, b, stride=1, padding=1), repeats * 10)
    rows.append({"what": "conv2d (im2col)", "shape": "x (8,3,32,32), w (16,3,3,3), s=1, p=1",
                 "loop_ms": 1000 * t_naive, "vectorized_ms": 1000 * t_fast, "speedup": t_naive / t_fast})
    reference = "not installed (install torch to compare)"
    try:
        import torch
        import torch.nn.functional as F

        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
        t_torch = _best_of(lambda: F.conv2d(tx, tw, tb, stride=1, padding=1), repeats * 10)
        agree = float(np.max(np.abs(F.conv2d(tx, tw, tb, padding=1).numpy() - cnn.conv2d(x, w, b, padding=1))))
        reference = f"torch {torch.__version__}: {1000 * t_torch:.2f} ms, max |difference| {agree:.1e}"
    except ImportError:
        pass
    return {"rows": rows, "reference": reference}


# --- report -------------------------------------------------------------------------------------

def table(result):
    b, r, t, c = result["build"], result.get("reader"), result.get("tests"), result["code"]
    lines = [f"Benchmarks — {result['machine']['when']} — {result['machine']['cpu']} ({result['machine']['cores']} cores), "
             f"Python {result['machine']['python']}", ""]
    lines += ["BUILD (both languages, median of %d)" % b["repeats"],
              f"  cold  wall {b['cold_wall_s']:.1f} s   cpu {b['cold_cpu_s']:.1f} s",
              f"  warm  wall {b['warm_wall_s']:.1f} s   cpu {b['warm_cpu_s']:.1f} s",
              f"  {b['pages']} pages, {b['formulas']} formulas, {b['snippet_includes']} snippet includes; "
              f"warm {b['ms_per_page_warm']:.0f} ms/page, {b['ms_per_formula_warm']:.2f} ms/formula", ""]
    if r:
        lines.append(f"READER ({r['page']}, {r['formulas']} formulas, median of {r['repeats']} loads)")
        lines.append(f"  {'variant':18} {'final math':>10} {'1st paint':>9} {'fonts':>7} {'script':>7} "
                     f"{'CLS':>6} {'reqs':>5} {'KB raw':>8} {'KB gzip':>8} {'× slower':>8}")
        for name, v in r["variants"].items():
            lines.append(f"  {name:18} {v['final_math_ms']:8.0f}ms {v['first_paint_ms']:7.0f}ms {v['fonts_ready_ms']:5.0f}ms "
                         f"{v['script_ms']:5.0f}ms {v['layout_shift']:6.3f} {v['requests']:5.0f} {v['kb_raw']:8.0f} "
                         f"{v['kb_gzip']:8.0f} {v['speedup_of_build_time']:8.2f}")
        lines.append("")
    if t:
        p = t["parts_s"]
        lines += [f"TESTS  whole suite {t['wall_s']:.0f} s wall ({sum(t['tests'].values())} tests, {t['failures']} failing); "
                  f"without the browser part {t['non_browser_s']:.0f} s",
                  "  " + ", ".join(f"{k} {v:.1f} s ({t['tests'][k]})" for k, v in p.items()), ""]
    lines.append("CODE (best of repeats)")
    for row in c["rows"]:
        lines.append(f"  {row['what']:16} {row['shape']:38} loop {row['loop_ms']:8.2f} ms  "
                     f"vectorized {row['vectorized_ms']:7.3f} ms  ×{row['speedup']:.0f}")
    lines.append(f"  reference conv2d: {c['reference']}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description="Measure build, reader, tests and code speed.")
    parser.add_argument("--repeats", type=int, default=5, help="page loads per variant (default 5)")
    parser.add_argument("--build-repeats", type=int, default=3)
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DATA.relative_to(ROOT)}")
    args = parser.parse_args()

    result = {"machine": {"when": dt.datetime.now().strftime("%Y-%m-%d"), "cores": os.cpu_count(),
                          "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
                          "numpy": np.__version__}}
    print("timing the build…", flush=True)
    result["build"] = bench_build(args.build_repeats)
    print("timing the reader in Chromium…", flush=True)
    result["reader"] = bench_reader(args.repeats) if shutil.which(CHROMIUM) else None
    if not args.skip_tests:
        print("timing the test suite…", flush=True)
        result["tests"] = bench_tests()
    print("timing the code…", flush=True)
    result["code"] = bench_code(repeats=5)
    print()
    print(table(result))
    if not args.no_write:
        DATA.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nwrote {DATA.relative_to(ROOT)} (rendered by the Performance page)")


if __name__ == "__main__":
    main()
