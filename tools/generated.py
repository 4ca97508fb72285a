"""Pages whose content is generated at build time from the topic pages and the code, so that
nothing is retyped: the cheat sheet (key formulas), the self-test (interview questions), the
glossary (docs/data/glossary.yml), the verification overview and the source listings.

A page opts in with a line `<!-- generated: NAME -->`, which `tools/hooks.py` replaces with
`markdown(NAME, lang, nav_pages)`; the source listings are whole pages made by `source_pages()`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

import yaml
from pymdownx.slugs import slugify

from tools import pages as P

PLACEHOLDER = re.compile(r"^<!-- generated: (\w+) -->$", re.MULTILINE)
KEY_FORMULA = re.compile(r"^\$\$[ \t]*\n[ \t]*% key[ \t]*\n(.*?)\n\$\$[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)
QUESTION_BLOCK = re.compile(r'^\?\?\?\+?[ \t]+question[ \t]+"([^"]+)"\n((?:[ \t]*\n|    .*\n?)+)', re.MULTILINE)
anchor = slugify(case="lower")

TEXT = {
    "zh": {
        "formula_count": "共 {n} 个公式，来自 {t} 个主题。",
        "checked_against": "对照代码检查：", "checked_identity": "作为恒等式检查（SymPy 或随机点）",
        "coverage": {"page": "页面", "formulas": "展示公式", "code": "对照代码", "identity": "恒等式",
                     "unchecked": "未检查", "key": "关键公式已检查", "total": "合计",
                     "share": "主题页上 {n} 个展示公式中，{checked} 个（{pct:.0f}%）由机器检查：{code} 个对照代码，{identity} 个作为恒等式。",
                     "reasons": "未检查的公式及原因", "where": "位置", "reason": "原因"},
        "questions": "共 {n} 道题，来自 {t} 个主题。",
        "term": "中文", "english": "English", "where": "详见", "avoid": "不用的译法",
        "topic": "主题", "code": "实现", "tests": "测试", "functions": "公开函数/类",
        "doctests": "含 doctest", "test_functions": "测试函数",
        "source_title": "源代码：{name}", "source_intro": "页面引用的实现与它的测试，原样取自仓库。",
        "implementation": "实现", "its_tests": "测试",
        "perf": {
            "missing": "还没有测量数据：运行 `make bench` 会生成 `docs/data/benchmarks.json`。",
            "measured": "测量于 {when}，{cpu}（{cores} 核），Python {python}，NumPy {numpy}。",
            "build": "构建（两种语言，中位数，共 {n} 次）", "kind": "情形", "wall": "墙钟时间", "cpu": "CPU 时间",
            "cold": "冷构建（图像、表格、站点全部重新生成）", "warm": "热构建",
            "counts": "{pages} 个页面、{formulas} 个公式、{snippets} 处代码引入；热构建每页 {ms_page:.0f} ms，每个公式 {ms_formula:.2f} ms。",
            "reader": "读者端：{page}（{formulas} 个公式，每种方式加载 {n} 次取中位数）",
            "variant": "方式", "final": "公式最终显示", "paint": "首次绘制", "fonts": "字体就绪",
            "script": "主线程脚本", "cls": "布局偏移", "requests": "请求数", "raw": "未压缩 KB", "gzip": "gzip 后 KB",
            "slower": "相对构建时排版",
            "tests": "测试套件：总计 {wall:.0f} s（{n} 个测试，{failures} 个失败）；不含浏览器部分 {nb:.0f} s。",
            "part": "部分", "time": "时间", "count": "测试数",
            "code": "代码：向量化与循环实现（取多次运行中的最好成绩）",
            "what": "函数", "shape": "规模", "loop": "循环 ms", "vector": "向量化 ms", "speedup": "加速比",
            "reference": "参考实现：{ref}",
            # bench.py names the variants, test parts and a missing reference in English
            "names": {"build-time KaTeX": "构建时 KaTeX", "client KaTeX": "浏览器端 KaTeX",
                      "client MathJax 3": "浏览器端 MathJax 3", "doctests": "doctest",
                      "unit/property": "单元与性质测试", "build": "构建", "browser": "浏览器",
                      "not installed (install torch to compare)": "未安装（安装 torch 后即可比较）"},
        },
        "cards": {"show": "显示答案", "hide": "隐藏答案", "known": "会了", "unknown": "还不会",
                  "shuffle": "打乱顺序", "only_unknown": "只看还不会的", "reset": "清除进度",
                  "progress": "已掌握 {known} / {total}", "done": "这一组都会了。",
                  "card": "第 {i} / {n} 张"},
    },
    "en": {
        "formula_count": "{n} formulas from {t} topics.",
        "checked_against": "Checked against", "checked_identity": "Checked as an identity (SymPy or random points)",
        "coverage": {"page": "Page", "formulas": "Display formulas", "code": "Against code", "identity": "Identities",
                     "unchecked": "Unchecked", "key": "Key formulas checked", "total": "Total",
                     "share": "Of the {n} display formulas on the topic pages, {checked} ({pct:.0f} %) are checked by machine: {code} against the code, {identity} as identities.",
                     "reasons": "Unchecked formulas and why", "where": "Where", "reason": "Reason"},
        "questions": "{n} questions from {t} topics.",
        "term": "中文", "english": "English", "where": "Explained in", "avoid": "Chinese variants not used",
        "topic": "Topic", "code": "Code", "tests": "Tests", "functions": "Public functions/classes",
        "doctests": "with a doctest", "test_functions": "Test functions",
        "source_title": "Source: {name}", "source_intro": "The implementation the pages include, and its tests, exactly as in the repository.",
        "implementation": "Implementation", "its_tests": "Tests",
        "perf": {
            "missing": "Not measured yet: `make bench` writes `docs/data/benchmarks.json`.",
            "measured": "Measured on {when}, {cpu} ({cores} cores), Python {python}, NumPy {numpy}.",
            "build": "Build (both languages, median of {n})", "kind": "Case", "wall": "Wall time", "cpu": "CPU time",
            "cold": "Cold (figures, tables and site regenerated)", "warm": "Warm",
            "counts": "{pages} pages, {formulas} formulas, {snippets} snippet includes; warm build {ms_page:.0f} ms per page, {ms_formula:.2f} ms per formula.",
            "reader": "Reader: {page} ({formulas} formulas, median of {n} loads per variant)",
            "variant": "Variant", "final": "Final math", "paint": "First paint", "fonts": "Fonts ready",
            "script": "Main-thread script", "cls": "Layout shift", "requests": "Requests", "raw": "KB raw", "gzip": "KB gzip",
            "slower": "vs build-time",
            "tests": "Test suite: {wall:.0f} s in all ({n} tests, {failures} failing); {nb:.0f} s without the browser part.",
            "part": "Part", "time": "Time", "count": "Tests",
            "code": "Code: vectorized against loops (best of several runs)",
            "what": "Function", "shape": "Shape", "loop": "Loop ms", "vector": "Vectorized ms", "speedup": "Speedup",
            "reference": "Reference implementation: {ref}",
            "names": {},
        },
        "cards": {"show": "Show answer", "hide": "Hide answer", "known": "I knew it", "unknown": "Not yet",
                  "shuffle": "Shuffle", "only_unknown": "Only the ones I don't know", "reset": "Reset progress",
                  "progress": "Known: {known} / {total}", "done": "You know every card in this set.",
                  "card": "Card {i} of {n}"},
    },
}


def title_of(text: str) -> str:
    match = HEADING.search(text)
    return match.group(2) if match and match.group(1) == "#" else ""


def _topics(lang: str, nav_pages: list[str]):
    """(file name, slug, title, text) of the topic pages, in nav order."""
    for name in nav_pages:
        slug = name.removesuffix(".md")
        if slug in P.TOPICS:
            text = (P.DOCS / lang / name).read_text(encoding="utf-8")
            yield name, slug, title_of(text), text


def section_anchor(section: str) -> tuple[str, str]:
    """(title, anchor) of a heading's text; `Title {#id}` sets the anchor explicitly."""
    m = re.fullmatch(r"(.*?)\s*\{#([\w-]+)\}", section)
    return (m.group(1), m.group(2)) if m else (section, anchor(section, "-"))


def _section_at(text: str, position: int) -> str:
    """The heading text of the section that contains `position`."""
    headings = [m for m in HEADING.finditer(text) if m.start() < position and len(m.group(1)) > 1]
    return headings[-1].group(2) if headings else ""


def key_formulas(text: str) -> list[tuple[str, str]]:
    """(section heading, formula) for each display formula whose first line is `% key`."""
    return [(_section_at(text, m.start()), P.strip_comments(m.group(1))) for m in KEY_FORMULA.finditer(text)]


CALLED = re.compile(r"snippets\.(\w+)\.(\w+)")


def checked_by(tex: str) -> list[tuple[str, str]]:
    """(module, function) of every snippets function a formula's `% check` bindings call."""
    found = []
    for kind, rest in P.bindings(tex):
        for pair in CALLED.findall(rest) if kind == "check" else []:
            if pair not in found:
                found.append(pair)
    return found


def _code_links(lang: str, nav_pages: list[str]) -> dict[tuple[str, str], str]:
    """{(module, name): link} to the section of a topic page that shows `name`'s snippet section."""
    links = {}
    for name, _, _, text in _topics(lang, nav_pages):
        for m in re.finditer(r'^[ \t]*--8<--[ \t]+"snippets/(\w+)\.py:(\w+)"', text, re.MULTILINE):
            _, slug = section_anchor(_section_at(text, m.start()))
            links.setdefault((m.group(1), m.group(2)), f"{name}#{slug}")
    return links


def _check_note(lang: str, tex: str, code_links: dict) -> str:
    """The cheat sheet's line under a formula: the code it is checked against, linked to where a
    page shows that code (or to the module's full listing)."""
    t = TEXT[lang]
    calls = checked_by(tex)
    if calls:
        links = ", ".join(f"[`{m}.{f}`]({code_links.get((m, f), f'source/{m}.md')})" for m, f in calls)
        return f'{t["checked_against"]} {links}\n{{: .checked-by }}\n\n'
    if any(kind == "identity" for kind, _ in P.bindings(tex)):
        return f'{t["checked_identity"]}\n{{: .checked-by }}\n\n'
    return ""


def cheatsheet(lang: str, nav_pages: list[str]) -> str:
    out, count, topics = [], 0, 0
    code_links = _code_links(lang, nav_pages)
    for name, _, title, text in _topics(lang, nav_pages):
        formulas = key_formulas(text)
        if not formulas:
            continue
        topics += 1
        out.append(f"## [{title}]({name})\n")
        raw = [m.group(0) for m in KEY_FORMULA.finditer(text)]
        for (section, formula), block in zip(formulas, raw):
            count += 1
            title_, slug = section_anchor(section)
            out.append(f'<div class="cheatsheet-item" markdown>\n\n[{title_}]({name}#{slug})\n\n'
                       f"$$\n{formula}\n$$\n\n{_check_note(lang, block, code_links)}</div>\n")
    summary = TEXT[lang]["formula_count"].format(n=count, t=topics)
    return summary + "\n\n" + "\n".join(out)


def questions(text: str) -> list[tuple[str, str]]:
    """(question, answer Markdown) of every `??? question` block of a page."""
    return [(q, answer.rstrip() + "\n") for q, answer in QUESTION_BLOCK.findall(text)]


def card_id(slug: str, question: str) -> str:
    return slug + "-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:10]


def selftest(lang: str, nav_pages: list[str]) -> str:
    labels = json.dumps(TEXT[lang]["cards"], ensure_ascii=False).replace("'", "&#39;")
    out, count, topics = [f"<div id=\"flashcards\" data-labels='{labels}'></div>\n"], 0, 0
    for name, slug, title, text in _topics(lang, nav_pages):
        cards = questions(text)
        if not cards:
            continue
        topics += 1
        out.append(f"## [{title}]({name})\n")
        sections = [section_anchor(_section_at(text, m.start()))[1] for m in QUESTION_BLOCK.finditer(text)]
        for (question, answer), section in zip(cards, sections):
            count += 1
            out.append(f'<div class="flashcard" data-card="{card_id(slug, question)}" data-topic="{title}" '
                       f'data-source="{name}#{section}" markdown>\n\n??? question "{question}"\n{answer}\n</div>\n')
    summary = TEXT[lang]["questions"].format(n=count, t=topics)
    return summary + "\n\n" + "\n".join(out)


def glossary_terms() -> list[dict]:
    return yaml.safe_load((P.DOCS / "data" / "glossary.yml").read_text(encoding="utf-8"))


def glossary(lang: str, nav_pages: list[str]) -> str:
    t = TEXT[lang]
    titles = {slug: title for _, slug, title, _ in _topics(lang, nav_pages)}
    first, second = (("term", "english") if lang == "zh" else ("english", "term"))
    rows = [f"| {t[first]} | {t[second]} | {t['where']} | {t['avoid']} |", "|---|---|---|---|"]
    terms = sorted(glossary_terms(), key=lambda e: e["en"].lower())
    for entry in terms:
        cells = {"term": entry["zh"], "english": entry["en"]}
        page = entry.get("page")
        where = f"[{titles[page]}]({page}.md)" if page in titles else ""
        avoid = "、".join(entry.get("avoid", []))
        rows.append(f"| {cells[first]} | {cells[second]} | {where} | {avoid} |")
    return "\n".join(rows) + "\n"


def _module_stats(module: str) -> tuple[int, int, int]:
    """(public functions and classes, those with a doctest, test functions) of a snippets module."""
    tree = ast.parse((P.ROOT / "snippets" / f"{module}.py").read_text(encoding="utf-8"))
    public = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
    with_doctest = [n for n in public if ">>>" in (ast.get_docstring(n) or "")]
    tests = 0
    test_file = P.ROOT / "tests" / f"test_{module}.py"
    if test_file.exists():
        test_tree = ast.parse(test_file.read_text(encoding="utf-8"))
        tests = sum(isinstance(n, ast.FunctionDef) and n.name.startswith("test_") for n in test_tree.body)
    return len(public), len(with_doctest), tests


def snippet_modules() -> list[str]:
    return sorted(p.stem for p in (P.ROOT / "snippets").glob("*.py") if not p.stem.startswith("_"))


def verification(lang: str, nav_pages: list[str]) -> str:
    t = TEXT[lang]
    titles = {slug: title for _, slug, title, _ in _topics(lang, nav_pages)}
    shown_on: dict[str, list[str]] = {}
    for name, slug, _, text in _topics(lang, nav_pages):
        for include in P.snippet_includes(text):
            module = Path(include.split(":")[0]).stem
            if include.startswith("snippets/") and slug not in shown_on.setdefault(module, []):
                shown_on[module].append(slug)
    rows = [f"| {t['code']} | {t['topic']} | {t['functions']} | {t['doctests']} | {t['test_functions']} |",
            "|---|---|---:|---:|---:|"]
    for module in snippet_modules():
        public, doctested, tests = _module_stats(module)
        topics = ", ".join(f"[{titles[s]}]({s}.md)" for s in shown_on.get(module, []))
        rows.append(f"| [`snippets/{module}.py`](source/{module}.md) | {topics} | {public} | {doctested} | {tests} |")
    return "\n".join(rows) + "\n"


def formula_status(tex: str) -> str:
    """code | identity | unchecked, from a display formula's bindings (the tests make them pass)."""
    kinds = {kind for kind, _ in P.bindings(tex)}
    return "code" if "check" in kinds else "identity" if "identity" in kinds else "unchecked"


def formula_coverage(lang: str, nav_pages: list[str]) -> str:
    """Per topic page: display formulas checked against code, as identities, or not (with why)."""
    t = TEXT[lang]["coverage"]
    rows = [f"| {t['page']} | {t['formulas']} | {t['code']} | {t['identity']} | {t['unchecked']} | {t['key']} |",
            "|---|---:|---:|---:|---:|---:|"]
    totals = dict.fromkeys(("n", "code", "identity", "unchecked", "key", "key_checked"), 0)
    reasons = []
    for name, _, title, text in _topics(lang, nav_pages):
        counts = dict.fromkeys(totals, 0)
        body = P.without_code(text)
        for m in P.DISPLAY_MATH.finditer(body):
            tex = m.group(1)
            status = formula_status(tex)
            key = "% key" in tex.split("\n", 2)[1] if "\n" in tex else False
            counts["n"] += 1
            counts[status] += 1
            counts["key"] += key
            counts["key_checked"] += key and status != "unchecked"
            for kind, rest in P.bindings(tex):
                if kind == "unchecked":
                    why = rest.split(":", 1)[1].strip() if ":" in rest else rest
                    section, slug = section_anchor(_section_at(body, m.start()))
                    reasons.append(f"| [{title} · {section}]({name}#{slug}) | {why} |")
        for k in totals:
            totals[k] += counts[k]
        rows.append(f"| [{title}]({name}) | {counts['n']} | {counts['code']} | {counts['identity']} | "
                    f"{counts['unchecked']} | {counts['key_checked']} / {counts['key']} |")
    rows.append(f"| **{t['total']}** | **{totals['n']}** | **{totals['code']}** | **{totals['identity']}** | "
                f"**{totals['unchecked']}** | **{totals['key_checked']} / {totals['key']}** |")
    checked = totals["code"] + totals["identity"]
    summary = t["share"].format(n=totals["n"], checked=checked, pct=100 * checked / max(totals["n"], 1),
                                code=totals["code"], identity=totals["identity"])
    return (summary + "\n\n" + "\n".join(rows) + f"\n\n### {t['reasons']}\n\n| {t['where']} | {t['reason']} |\n|---|---|\n"
            + "\n".join(reasons) + "\n")


def source_pages(lang: str) -> dict[str, str]:
    """{'source/<module>.md': Markdown} listing each snippets module and its tests in full."""
    t = TEXT[lang]
    result = {}
    for module in snippet_modules():
        parts = [f"# {t['source_title'].format(name=f'snippets/{module}.py')}\n", t["source_intro"] + "\n",
                 f"## {t['implementation']}\n", f'```python\n--8<-- "snippets/{module}.py"\n```\n']
        if (P.ROOT / "tests" / f"test_{module}.py").exists():
            parts += [f"## {t['its_tests']}\n", f'```python\n--8<-- "tests/test_{module}.py"\n```\n']
        result[f"source/{module}.md"] = "\n".join(parts)
    return result


def performance(lang: str, nav_pages: list[str]) -> str:
    """Tables of the last `make bench` run (docs/data/benchmarks.json)."""
    t = TEXT[lang]["perf"]
    path = P.DOCS / "data" / "benchmarks.json"
    if not path.exists():
        return t["missing"] + "\n"
    data = json.loads(path.read_text(encoding="utf-8"))
    m, b, r, tests, code = data["machine"], data["build"], data.get("reader"), data.get("tests"), data["code"]
    out = [t["measured"].format(**m), "", f"### {t['build'].format(n=b['repeats'])}", "",
           f"| {t['kind']} | {t['wall']} | {t['cpu']} |", "|---|---:|---:|",
           f"| {t['cold']} | {b['cold_wall_s']:.1f} s | {b['cold_cpu_s']:.1f} s |",
           f"| {t['warm']} | {b['warm_wall_s']:.1f} s | {b['warm_cpu_s']:.1f} s |", "",
           t["counts"].format(pages=b["pages"], formulas=b["formulas"], snippets=b["snippet_includes"],
                              ms_page=b["ms_per_page_warm"], ms_formula=b["ms_per_formula_warm"]), ""]
    if r:
        out += [f"### {t['reader'].format(page=r['page'], formulas=r['formulas'], n=r['repeats'])}", "",
                f"| {t['variant']} | {t['final']} | {t['paint']} | {t['fonts']} | {t['script']} | {t['cls']} "
                f"| {t['requests']} | {t['raw']} | {t['gzip']} | {t['slower']} |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, v in r["variants"].items():
            out.append(f"| {t['names'].get(name, name)} | {v['final_math_ms']:.0f} ms | {v['first_paint_ms']:.0f} ms | {v['fonts_ready_ms']:.0f} ms "
                       f"| {v['script_ms']:.0f} ms | {v['layout_shift']:.3f} | {v['requests']:.0f} | {v['kb_raw']:.0f} "
                       f"| {v['kb_gzip']:.0f} | ×{v['speedup_of_build_time']:.2f} |")
        out.append("")
    if tests:
        out += ["### " + t["tests"].format(wall=tests["wall_s"], n=sum(tests["tests"].values()),
                                           failures=tests["failures"], nb=tests["non_browser_s"]), "",
                f"| {t['part']} | {t['time']} | {t['count']} |", "|---|---:|---:|"]
        out += [f"| {t['names'].get(part, part)} | {seconds:.1f} s | {tests['tests'][part]} |" for part, seconds in tests["parts_s"].items()]
        out.append("")
    out += [f"### {t['code']}", "", f"| {t['what']} | {t['shape']} | {t['loop']} | {t['vector']} | {t['speedup']} |",
            "|---|---|---:|---:|---:|"]
    out += [f"| `{row['what']}` | {row['shape']} | {row['loop_ms']:.2f} | {row['vectorized_ms']:.3f} | ×{row['speedup']:.0f} |"
            for row in code["rows"]]
    out += ["", t["reference"].format(ref=t["names"].get(code["reference"], code["reference"])), ""]
    return "\n".join(out)


GENERATORS = {"cheatsheet": cheatsheet, "selftest": selftest, "glossary": glossary,
              "verification": verification, "formula_coverage": formula_coverage, "performance": performance}


def expand(markdown: str, lang: str, nav_pages: list[str]) -> str:
    """Replace every `<!-- generated: NAME -->` line with the generated Markdown."""
    def replace(match):
        name = match.group(1)
        if name not in GENERATORS:
            raise KeyError(f"unknown generated block {name!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name](lang, nav_pages)
    return PLACEHOLDER.sub(replace, markdown)
