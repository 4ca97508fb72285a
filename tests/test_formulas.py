"""The formula check (tools/formulas.py): every display formula on every page is bound to what
checks it, every binding passes, the two languages carry the same bindings, the coverage targets
hold, and planted errors in copies of real formulas are all caught."""

import re
from functools import lru_cache

import pytest

from tools import formulas as F
from tools import generated as G
from tools import pages as P

FORMULAS = F.site_formulas()
EN = [f for f in FORMULAS if f.page.startswith("en/")]


@lru_cache(maxsize=None)
def results() -> dict[str, F.FormulaResult]:
    """Every formula checked once (zh and en share identical formulas; see check_all)."""
    return {r.where: r for r in F.check_all(FORMULAS)}


def result_of(formula) -> F.FormulaResult:
    """One formula's result, without checking the others (parallel workers split the formulas)."""
    return F.check_all([formula])[0]


@pytest.mark.parametrize("formula", EN, ids=lambda f: f"{f.page}:{f.line}")
def test_every_display_formula_is_bound_and_its_binding_holds(formula):
    result = result_of(formula)
    assert result.ok, "\n".join(result.failures())
    for part in result.parts:
        if part.kind in ("check", "identity") and not part.proven:
            assert part.points >= 30, f"{formula.where} part {part.number}: only {part.points} points"


def test_the_chinese_pages_carry_the_english_bindings():
    by_page = {}
    for f in FORMULAS:
        lang, name = f.page.split("/", 1)
        by_page.setdefault(name, {}).setdefault(lang, []).append([b.text for b in f.bindings])
    for name, langs in by_page.items():
        assert langs.get("zh") == langs.get("en"), (
            f"{name}: the bindings (% check / % identity / % unchecked lines) differ between docs/zh and docs/en")


def test_a_formula_without_a_binding_fails_with_page_line_and_what_to_add():
    text = "# Page\n\nSome text.\n\n$$\n% key\ny = 2x\n$$\n"
    [formula] = F.formulas_of("en/example.md", text)
    result = F.check_formula(formula)
    [failure] = result.failures()
    assert "docs/en/example.md:5" in failure
    assert "% check 1: snippets." in failure and "% identity 1" in failure and "% unchecked 1:" in failure


def test_a_binding_whose_code_rejects_most_points_fails():
    """A domain the code refuses at most points cannot check anything: it fails, not passes."""
    text = ("$$\n% check: snippets.activations.softplus(x if x < -2.5 else 'not a number') where x in [-3, 3]\n"
            "\\operatorname{softplus}(x) = \\log\\bigl(1 + e^{x}\\bigr)\n$$\n")
    [formula] = F.formulas_of("en/example.md", text)
    [failure] = F.check_formula(formula).failures()
    assert "rejected" in failure and "narrow the clauses" in failure


# Realistic errors planted into copies of real formulas: (page, text in the formula, planted text).
PLANTED = [
    ("activations.md", r"\sigma(x)\,\bigl(1 - \sigma(x)\bigr)", r"\sigma(x)\,\bigl(1 + \sigma(x)\bigr)"),   # σ(1+σ)
    ("losses.md", r"= p_j - \mathbf{1}[j = y_i]", r"= \mathbf{1}[j = y_i] - p_j"),                            # flipped sign
    ("optimizers.md", r"v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^{2}", r"v_t &= \beta_2 v_{t-1} + (1 - \beta_1)\, g_t^{2}"),  # β1 for β2
    ("optimizers.md", r"\hat m_t &= \frac{m_t}{1 - \beta_1^{t}}", r"\hat m_t &= \frac{m_t}{1 - \beta_1^{t-1}}"),  # t − 1 for t
    ("optimizers.md", r"\theta_t &= \theta_{t-1} - \frac{\eta\, \hat m_t}{\sqrt{\hat v_t} + \epsilon}",
     r"\theta_t &= \theta_{t-1} - \frac{\eta\, \hat m_t}{\sqrt{\hat v_t + \epsilon}}"),                       # ε inside the root
    ("optimizers.md", r"\eta_0\,\gamma^{\lfloor e / s \rfloor}", r"\eta_0\,\gamma^{e / s}"),                  # missing floor
    ("initialization.md", r"\sigma^{2}_{\mathrm{Xavier}} = \frac{2}{n_{\mathrm{in}} + n_{\mathrm{out}}}",
     r"\sigma^{2}_{\mathrm{Xavier}} = \frac{1}{n_{\mathrm{in}}}"),                                           # 1/fan_in
    ("losses.md", r"\frac12 r^{2} & |r| \le \delta", r"r^{2} & |r| \le \delta"),                              # missing ½
    ("regularization.md", r"= (1 - \eta\lambda)\, w_t - \eta\, \nabla \ell(w_t)", r"= (1 - 2\eta\lambda)\, w_t - \eta\, \nabla \ell(w_t)"),  # λ twice
    ("backprop.md", r"\frac{\partial L}{\partial Y}\,W^{\top} \in", r"\frac{\partial L}{\partial Y}\,W \in"),  # transpose dropped
    ("backprop.md", r"\nabla_W f = 2\,q\,x^{\top}", r"\nabla_W f = 2\,x\,q^{\top}"),                         # transposed product
    ("regularization.md", r"\nabla R_{2}(w) = \lambda\, w", r"\nabla R_{2}(w) = 2\lambda\, w"),               # the ½ forgotten
    ("cnn.md", r"w_{k,c,p,q}\; \tilde{x}_{c,\,iS+p,\,jS+q}", r"w_{k,c,p,q}\; \tilde{x}_{c,\,i+p,\,j+q}"),        # stride dropped
    ("normalization.md", r"\alpha\, \frac{m}{m - 1}\, \sigma^{2}", r"\alpha\, \sigma^{2}"),                    # biased running variance
    ("activations.md", r"= \frac{e^{x_i - m}}{\sum_{j} e^{x_j - m}}", r"= \frac{e^{x_i - m}}{\sum_{j} e^{x_j}}"),  # max subtracted once
]


def _planted(page, old, new):
    candidates = [f for f in EN if f.page == f"en/{page}" and old in f.tex]
    assert len(candidates) == 1, f"{page}: {old!r} is in {len(candidates)} formulas (the planted list needs updating)"
    f = candidates[0]
    return F.Formula(f.page, f.line, f.tex.replace(old, new, 1), f.key, f.bindings, f.errors), f


@pytest.mark.parametrize("page, old, new", PLANTED, ids=[f"{p}:{n[:30]}" for p, _, n in PLANTED])
def test_a_planted_error_is_reported(page, old, new):
    wrong, original = _planted(page, old, new)
    assert result_of(original).ok, f"{original.where} must pass before an error is planted in it"
    result = F.check_formula(wrong)
    assert not result.ok, f"the checker missed {new!r} planted for {old!r} in {original.where}"


def test_at_least_ten_kinds_of_error_are_planted():
    assert len(PLANTED) >= 10


def _topic_results():
    return [r for r in results().values() if r.page.startswith("en/") and r.page[3:].removesuffix(".md") in P.TOPICS]


def test_at_least_80_percent_of_the_topic_formulas_are_checked_by_machine():
    topic = _topic_results()
    checked = [r for r in topic if r.status in ("code", "identity")]
    share = len(checked) / len(topic)
    assert share >= 0.8, f"only {len(checked)} of {len(topic)} topic formulas ({share:.0%}) are checked"


# Key formulas left unchecked, each because no code computes what it states.
KEY_WITHOUT_CODE = {
    ("losses.md", "notation"),            # the training objective in general
    ("optimizers.md", "definitions"),     # the mini-batch gradient and its moments over random batches
    ("optimizers.md", "conditions"),      # Robbins–Monro: conditions on an infinite schedule
    ("backprop.md", "notation"),          # the multivariate chain rule
    ("backprop.md", "Taylor"),            # expansions with O(h^k) remainders
    ("gradients.md", "the variance"),     # the argument whose variances the Initialization page checks
    ("cnn.md", "the operator form"),      # ⋆ and rot180 restate sums checked in the formulas before
    ("cnn.md", "accumulation"),           # += over windows; the pooling backward passes have gradient tests
}


def test_every_key_formula_with_code_is_checked():
    for r in _topic_results():
        if r.key and r.status == "unchecked":
            reason = r.parts[0].message
            name = r.page[3:]
            assert any(name == page and reason.startswith(start) for page, start in KEY_WITHOUT_CODE), (
                f"{r.where}: a key formula is unchecked ({reason}); bind it to its code or, if no code "
                "computes it, add it to KEY_WITHOUT_CODE with the reason")


def test_the_verification_page_counts_what_the_checker_counts():
    for lang in P.LANGS:
        for name in P.nav_files(lang):
            if name.removesuffix(".md") not in P.TOPICS:
                continue
            text = P.read(P.DOCS / lang / name)
            mine = [G.formula_status(m.group(1)) for m in P.DISPLAY_MATH.finditer(P.without_code(text))]
            theirs = [results()[f.where].status for f in FORMULAS if f.page == f"{lang}/{name}"]
            assert mine == theirs, f"docs/{lang}/{name}: the coverage table and the checker disagree"


def test_binding_lines_never_reach_the_built_pages(built_site):
    """Bindings are stripped before KaTeX: no MathML annotation, page or search index holds one."""
    import html as html_lib
    lines = {b.text for f in FORMULAS for b in f.bindings if len(b.text) > 12}   # the prose names "% identity" itself
    for lang in P.LANGS:
        for page in (built_site / lang).rglob("index.html"):
            for tex in re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>',
                                  page.read_text(encoding="utf-8"), re.DOTALL):
                assert "%" not in html_lib.unescape(tex).replace("\\%", ""), f"{page}: a TeX comment reached the MathML: {tex[:80]}"
        index = (built_site / lang / "search" / "search_index.json").read_text(encoding="utf-8")
        leaked = [line for line in lines if html_lib.escape(line, quote=False).replace('"', '\\"') in index or line in index]
        assert not leaked, f"site/{lang}: bindings reached the search index: {leaked[:3]}"
