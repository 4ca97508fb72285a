"""The formula check: every display formula on a page is bound to what checks it.

Inside a ``$$`` block, TeX comment lines (invisible on the page; the build strips them before
KaTeX) say how the formula is checked:

``% check[ PARTS]: snippets.<module>.<function>(<args>)[<python>] [where <clause>; <clause> …]``
    Every side of each equation in PARTS equals the call, evaluated at random points. Symbols
    bind to names in the call and the clauses; the first side may be the name of what is
    defined (``L_i``, ``\\sigma'(x)``) and is then not evaluated.
``% identity[ PARTS] [where …]``
    The sides of each equation in PARTS are equal: SymPy proves it, or else random points do.
``% unchecked[ PARTS]: <reason>``
    An inequality, an asymptotic statement, notation; the reason is shown in the coverage report.

PARTS are 1-based numbers (``2`` or ``1,3``) of the formula's equations, in reading order: a
formula is split at ``\\qquad``/``\\quad``, top-level commas, ``\\\\`` rows of
``aligned``/``gathered`` and implications (``\\Rightarrow``, ``\\iff``); see ``parts()``. Without
PARTS a binding covers every part no other binding names. A part that only defines a symbol used
by another part (``m = \\max_j x_j``) is substituted there and needs no binding of its own.

Clauses (separated by ``;``):
``x in [a, b]``                 a real drawn uniformly (the default domain is [-3, 3]);
``n: int in [a, b]``            an integer, inclusive;
``s: (5, 3) [in [a, b]]``       an array of that shape (sizes may name integer symbols);
``y: int (5,) in [0, 2]``       an integer array;
``x < 0``, ``x != 0``, …        a condition on the drawn values (points that fail it are redrawn);
``k = <python>``                a value computed from the others (NumPy as ``np``);
``tol = 1e-6``                  a relative tolerance other than the default 1e-9;
``base 1``                      indices in the formula count from 1 (the default when a sum starts
                                at 1); the call always sees 0-based indices.
Free indices of a side (``i`` in ``x_i``) run over the axis they index; the call may use them.

The LaTeX is read by SymPy's ``parse_latex`` after the rewrites in ``PREPROCESS`` (one table, each
with its reason) and a few structural rewrites (``cases``, indicators, norms, ``\\max_j``, ``\\odot``,
subscripts) that hand sub-formulas to the parser separately; no LaTeX is parsed here by hand.
Formula sides are evaluated with mpmath at 30 digits, so a form that cancels badly in float64
(``\\log(1 + e^{x})`` at x = -26) is still judged exactly; the code runs in float64. Two values
agree when ``|a - b| <= tol * max(|a|, |b|, scale)`` with ``scale`` a small floor for values near 0.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import mpmath
import numpy as np
import sympy
from sympy.parsing.latex import parse_latex

from tools import pages as P

mpmath.mp.dps = 30
POINTS = 32          # random points per part (the issue asks for at least 30)
TOLERANCE = 1e-9     # default relative tolerance
FLOOR = 1e-12        # absolute floor of the tolerance's scale, for values that should be 0
MAX_REJECTED = 0.05  # a binding whose code rejects more of its points than this fails
CACHE = P.ROOT / ".cache" / "formulas.json"

BINDING = re.compile(r"^%[ \t]*(?P<kind>check|identity|unchecked)(?:[ \t]+(?P<parts>\d+(?:[ \t]*,[ \t]*\d+)*))?"
                     r"[ \t]*(?::[ \t]*(?P<rest>.*?)|[ \t]+(?P<where>where[ \t].*?))?[ \t]*$")


# ----------------------------------------------------------------------------------------------
# Reading the pages
# ----------------------------------------------------------------------------------------------

@dataclass
class Binding:
    kind: str                  # "check" | "identity" | "unchecked"
    parts: tuple[int, ...]     # () = every part not named by another binding
    call: str = ""             # check: the Python call
    clauses: list[str] = field(default_factory=list)
    reason: str = ""           # unchecked: why
    text: str = ""             # the comment line as written


@dataclass
class Formula:
    page: str                  # "en/activations.md"
    line: int                  # line of the opening $$
    tex: str                   # the block's content, comments included
    key: bool
    bindings: list[Binding]
    errors: list[str]          # malformed binding lines

    @property
    def body(self) -> str:
        return P.strip_comments(self.tex)

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def parse_binding(line: str) -> Binding | str:
    m = BINDING.match(line.strip())
    if not m:
        return f"not a binding: {line.strip()!r}"
    kind, rest = m.group("kind"), (m.group("rest") or m.group("where") or "").strip()
    parts = tuple(int(p) for p in re.split(r"[ \t]*,[ \t]*", m.group("parts"))) if m.group("parts") else ()
    if kind == "unchecked":
        if not rest:
            return f"{line.strip()!r}: say why it is unchecked (`% unchecked: <reason>`)"
        return Binding(kind, parts, reason=rest, text=line.strip())
    if kind == "identity":
        clauses = _clauses(rest.removeprefix("where").strip()) if rest else []
        return Binding(kind, parts, clauses=clauses, text=line.strip())
    call, _, where = rest.partition(" where ")
    if "snippets." not in call:
        return f"{line.strip()!r}: a check calls a function of snippets (`% check: snippets.<module>.<fn>(...)`)"
    return Binding(kind, parts, call=call.strip(), clauses=_clauses(where), text=line.strip())


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in text.split(";") if c.strip()]


def formulas_of(page: str, text: str) -> list[Formula]:
    """The display formulas of one page (path like "en/activations.md"), with their bindings."""
    found = []
    for m in P.DISPLAY_MATH.finditer(_blank_code(text)):
        tex = m.group(1)
        bindings, errors, key = [], [], False
        for line in tex.splitlines():
            stripped = line.strip()
            if not stripped.startswith("%"):
                continue
            if stripped == "% key":
                key = True
                continue
            parsed = parse_binding(stripped)
            (errors if isinstance(parsed, str) else bindings).append(parsed)
        found.append(Formula(page, text.count("\n", 0, m.start()) + 1, tex, key, bindings, errors))
    return found


def _blank_code(text: str) -> str:
    """The page with fenced code replaced by blank lines, so line numbers stay right."""
    return P.FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def site_formulas(lang: str | None = None) -> list[Formula]:
    out = []
    for language in ([lang] if lang else P.LANGS):
        for name, path in P.pages(language).items():
            out += formulas_of(f"{language}/{name}", P.read(path))
    return out


# ----------------------------------------------------------------------------------------------
# Splitting a formula into parts and sides (bracket-aware scanning, no parsing)
# ----------------------------------------------------------------------------------------------

OPEN, CLOSE = "({[", ")}]"
RELATIONS = [(r"\leftarrow", "assign"), (r"\to", "limit"), (r"\approx", "approx"), (r"\leq", "le"), (r"\geq", "ge"), (r"\le", "le"), (r"\ge", "ge"),
             (r"\neq", "ne"), (r"\ne", "ne"), (r"\ll", "lt"), (r"\gg", "gt"), (r"\sim", "sim"),
             (r"\in", "in"), ("=", "eq"), ("<", "lt"), (">", "gt")]
PART_BREAKS = [r"\Longleftrightarrow", r"\Longrightarrow", r"\Rightarrow", r"\implies", r"\iff",
               r"\qquad", r"\quad", "\\\\"]
ENVIRONMENTS = ("aligned", "gathered", "align*", "split")


def _scan(tex: str):
    """Yield (index, depth) for each character, depth counting brackets and environments."""
    depth, i = 0, 0
    while i < len(tex):
        if tex.startswith(r"\begin{", i):
            yield i, depth
            depth += 1
            i = tex.index("}", i) + 1
            continue
        if tex.startswith(r"\end{", i):
            depth -= 1
            yield i, depth
            i = tex.index("}", i) + 1
            continue
        ch = tex[i]
        if ch == "\\" and i + 1 < len(tex):
            if tex[i + 1] in "{}":               # \{ … \} (a set) is a bracket too
                yield i, depth if tex[i + 1] == "{" else depth - 1
                depth += 1 if tex[i + 1] == "{" else -1
                i += 2
                continue
            if tex[i + 1] in "[]()|,;!: ":
                yield i, depth
                i += 2
                continue
            m = re.match(r"\\(left|right|bigl|bigr|Bigl|Bigr|biggl|biggr)\b(\\?.)?", tex[i:])
            if m and m.group(2):
                delim = m.group(2)
                yield i, depth
                if delim in ("(", "[", r"\{", r"\lVert", r"\lvert") or m.group(1).endswith("l") or m.group(1) == "left":
                    depth += 1 if m.group(1) in ("left", "bigl", "Bigl", "biggl") else 0
                if m.group(1) in ("right", "bigr", "Bigr", "biggr"):
                    depth -= 1
                i += len(m.group(0))
                continue
            m = re.match(r"\\[A-Za-z]+", tex[i:])
            if m:
                yield i, depth
                i += len(m.group(0))
                continue
        if ch in OPEN:
            yield i, depth
            depth += 1
        elif ch in CLOSE:
            depth -= 1
            yield i, depth
        else:
            yield i, depth
        i += 1


def _chars(tex: str):
    """(character, depth) for every character of tex."""
    depths = dict(_scan(tex))
    depth = 0
    for i, ch in enumerate(tex):
        depth = depths.get(i, depth)
        yield ch, depth


def top_level_split(tex: str, separators, keep=False):
    """Split at separators found at bracket depth 0 (longest first)."""
    seps = sorted(separators, key=len, reverse=True)
    pieces, start, found = [], 0, []
    skip_to = -1
    for i, depth in _scan(tex):
        if i < skip_to or depth != 0:
            continue
        for sep in seps:
            if tex.startswith(sep, i) and not (sep[-1].isalpha() and re.match(r"[A-Za-z]", tex[i + len(sep):i + len(sep) + 1])):
                pieces.append(tex[start:i])
                found.append(sep)
                start = i + len(sep)
                skip_to = start
                break
    pieces.append(tex[start:])
    return (pieces, found) if keep else pieces


def _unwrap_environments(tex: str) -> str:
    """aligned/gathered rows become top-level rows: their `\\\\` then split parts."""
    for env in ENVIRONMENTS:
        tex = tex.replace(rf"\begin{{{env}}}", r" \\ ").replace(rf"\end{{{env}}}", r" \\ ")
    tex = re.sub(r"\\\\\[[^\]]*\]", r"\\\\", tex)          # \\[1ex]
    return tex


def parts(body: str) -> list[str]:
    """The equations of a formula, in reading order (see the module docstring); a formula with no
    relation at all is one part."""
    tex = _unwrap_environments(body)
    # `a \qquad \gg \qquad b`: a relation between two equations joins them into one chain
    tex = re.sub(r"\\qquad\s*(\\gg|\\ll|<|>)\s*\\qquad", r" \1 ", tex)
    out: list[str] = []
    for row in top_level_split(tex, PART_BREAKS):
        # `&` aligns columns; a row `a &= b, & c &= d` holds two equations
        row = re.sub(r"[,:]\s*&", r" \\qquad ", row)
        row = re.sub(r"&\s*&", r" \\qquad ", row)
        for piece in top_level_split(row, [r"\qquad"]):
            piece = "".join(" " if ch == "&" and depth == 0 else ch for ch, depth in _chars(piece))
            for eq in top_level_split(piece, [","]):
                eq = eq.strip().rstrip(",.:;").strip()
                if out and re.match(r"(=|\\approx|\\le|\\ge|<|>)", eq):
                    out[-1] += " " + eq      # an aligned row that continues the previous one
                elif _is_equation_text(eq):
                    out.append(eq)
                elif out and eq and not _is_label(eq):
                    out[-1] += " \\quad " + eq   # a trailing condition such as (j \ne y_i)
    return out or [body.strip()]


def _is_label(tex: str) -> bool:
    return bool(re.fullmatch(r"(\\text\{[^}]*\}|\([a-z]\)|\\?[A-Za-z]*)", tex.strip()))


def _is_equation_text(tex: str) -> bool:
    sides, _ = sides_of(tex)
    return len(sides) > 1 and all(sides)


def sides_of(part: str) -> tuple[list[str], list[str]]:
    """The sides of a chain `a = b \\approx c` and the relations between them."""
    names = [r for r, _ in RELATIONS]
    pieces, found = top_level_split(part, names, keep=True)
    kinds = dict(RELATIONS)
    return [p.strip() for p in pieces], [kinds[f] for f in found]


# ----------------------------------------------------------------------------------------------
# Preprocessing: LaTeX as written -> LaTeX that parse_latex reads as meant
# ----------------------------------------------------------------------------------------------

# (pattern, replacement, why). Applied in order to each side before the structural rewrites.
PREPROCESS = [
    (r"(?<=\d)\\,(?=\d{3})", "", "digit grouping 24\\,092\\,320"),
    (r"\\underbrace\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}_\{(?:[^{}]|\{[^{}]*\})*\}", r"(\1)", "an underbrace's label"),
    (r"(?<=\d)\\[lc]?dots", "", "2.33… is the number shown"),
    (r"(\\?[A-Za-z]+)\^\{\s*(l|L|l\s*[-+]\s*1|\((?:[a-z]|l\s*[-+]\s*1|[0-9]+)\))\s*\}",
     lambda m: "\\" + m.group(1).lstrip("\\") + "sup" + _label(m.group(2)) + " ",
     "a layer label is not a power: z^{l} -> zsupl, a^{l-1} -> asuplm, W^{l+1} -> Wsuplp, z^{(1)} -> zsupone"),
    (r"(\\[A-Za-z]+sup[A-Za-z]+)\s+(?=\()", r"\1 \\cdot ", "a labelled name before (…) multiplies: δ^{l+1} (W^{l+1})^⊤"),
    (r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big)\b\s*(?=[\\(\[|.)\]])", "", "sizing of delimiters"),
    (r"(?<=[A-Za-z0-9}])\s*\\[,;]\s*(?=\()", r" \\cdot ", "a spaced `a\\,(b)` is a product, not a call"),
    (r"(?<!\\)\\(?:,|;|:|!|\s)|~", " ", "spacing (not the row break \\\\)"),
    (r"\\(?:quad|qquad|displaystyle|textstyle|limits)\b", " ", "layout only"),
    (r"\\(?:left|right)\.", "", "invisible delimiter"),
    (r"\\[lr]vert\b", "|", "absolute value bars"),
    (r"\\mathrel\{\+\}=", "=", "+= (accumulation) read as ="),
    (r"\\(?:dfrac|tfrac)\b", r"\\frac", "fraction styles"),
    (r"\\ne\b", r"\\neq", "parse_latex reads \\ne as a symbol"),
    (r"\\lnot\b", r"\\neg", "negation"),
    (r"\\operatorname\{fp16\}", r"\\fpsixteen", "a name with digits"),
    (r"\\mathrm\{KL\}\s*\(([^()]*?)\\\|([^()]*?)\)", r"\\KL(\1, \2)", "KL(p \\| q) is a function of two arguments"),
    (r"\\(?:operatorname\*?|mathrm|text|mathit|mathsf)\{([A-Za-z]{2,})\}", r"\\\1", "named operators and multi-letter names become one name"),
    (r"\\(?:operatorname\*?|mathrm|text|mathit|mathsf)\{\\?([A-Za-z])\}", r"\1", "one-letter names (\\mathrm{d})"),
    (r"\\(?:operatorname\*?|mathrm|mathit)\{rel\\_error\}", r"\\relerror", "rel_error's underscore"),
    (r"\\(?:mathcal|mathbb|mathbf|boldsymbol|bm)\{([A-Za-z0-9])\}(?!\s*\[)", r"\1", "font changes of one letter (not \\mathbf{1}[…])"),
    (r"\\(hat|tilde|bar|widehat|widetilde|overline)\s*(?:\{\\?([A-Za-z]+)\}|\\?([A-Za-z]+))",
     lambda m: "\\" + (m.group(2) or m.group(3)) + m.group(1), "accented names (\\hat m -> mhat)"),
    (r"\^\{?\\top\}?", r"^{\\transposed}", "transpose"),
    (r"(\\?[A-Za-z]+)(?:\^\{\\prime\}|('+))(\s*\()?",
     lambda m: "\\" + m.group(1).lstrip("\\") + "prime" * max(1, len(m.group(2) or "")) + ("(" if m.group(3) else " "),
     "primes make a new name: x' -> xprime, \\sigma'(x) -> sigmaprime(x) (a name, never the derivative)"),
    (r"\\arg\s*\\max(?![A-Za-z])|\\operatorname\*?\{arg\\,?max\}", r"\\argmax", "arg max"),
    (r"\\arg\s*\\min(?![A-Za-z])|\\operatorname\*?\{arg\\,?min\}", r"\\argmin", "arg min"),
    (r"\\cdot\s*\\cdot", r"\\cdot", "double dots"),
    (r"\\frac\{\\partial\s*(\\?[A-Za-z]+)\s*(?:_\{?([^{}]*?)\}?)?\}\{\\partial\s*(\\?[A-Za-z]+)\s*(?:_\{?([^{}]*?)\}?)?\s*\}",
     lambda m: ("\\d" + m.group(1).lstrip("\\") + "d" + m.group(3).lstrip("\\") + " "
                + (f"_{{{', '.join(i for i in (m.group(2), m.group(4)) if i)}}}" if m.group(2) or m.group(4) else "")),
     "a partial derivative dL/dy_i becomes the name dLdy (indexed by i; d xhat_j / d x_i by j, i), bound by the clauses"),
    (r"^\s*\[(.*)\]\s*$", r"\\concat(\1)", "a bracketed list [a, b] is a concatenation"),
    (r"^\s*\(([^()]*,[^()]*)\)\s*$", r"\\concat(\1)", "a vector (a, b) too"),
    (r"\\mathbb\{E\}\s*\[((?:[^\[\]]|\[[^\]]*\])*)\]", r"\\expect(\1)",
     "E[X]: a derivation's symbols stand for their expectations, so E is the identity (linearity)"),
    (r"\\#\\\{\s*([a-z])\s*:\s*(.*?)\\\}", r"\\sum_{\1 : \2} 1", "a count #{i : cond} is a sum of ones"),
    (r"\\nabla\s*(?:_\{?\\?[A-Za-z]+\}?)?\s*\\?([A-Za-z]+)\s*(?:\((?:[^()]|\([^()]*\))*\))?(?!\s*\[)",
     r"\\grad\1 ", "the gradient of a named function, ∇ℓ(w), is one name (gradell) that the clauses bind"),
]
_PREPROCESS = [(re.compile(p), r) for p, r, _ in PREPROCESS]
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _label(text: str) -> str:
    """A superscript label as letters only (TeX command names cannot hold digits or signs)."""
    text = re.sub(r"[()\s]", "", text).replace("-1", "m").replace("+1", "p")
    return re.sub(r"\d", lambda d: DIGIT_WORDS[int(d.group(0))], text)

# Functions a formula may use, by the name preprocessing gives them, evaluated from their
# mathematical definition (never from snippets, so a check compares two independent things).
# Each entry takes the point's values (so ELU(x) uses the α the binding draws).
FUNCTIONS = {
    "sigma": lambda env: lambda x: 1 / (1 + mpmath.exp(-x)),
    "ReLU": lambda env: lambda x: x if x > 0 else mpmath.mpf(0),
    "softplus": lambda env: lambda x: mpmath.log1p(mpmath.exp(x)),
    "Phi": lambda env: mpmath.ncdf,
    "erf": lambda env: mpmath.erf,
    "sign": lambda env: mpmath.sign,
    "clip": lambda env: lambda x, lo, hi: min(max(x, lo), hi),
    "ELU": lambda env: lambda x: x if x > 0 else env.get("alpha", 1) * (mpmath.exp(x) - 1),
    "expect": lambda env: lambda x: x,
    "sigmaprime": lambda env: lambda x: mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2,
    "fpsixteen": lambda env: lambda x: mpmath.mpf(float(np.float16(float(x)))),
    "SELU": lambda env: lambda x: env["lambda"] * (x if x > 0 else env["alpha"] * (mpmath.exp(x) - 1)),
}


# Functions with a parameter in their subscript: prox_t(w), Swish_β(x).
SUBSCRIPTED = {
    "prox": lambda t, w: mpmath.sign(w) * max(abs(w) - t, 0),
    "Swish": lambda b, x: x / (1 + mpmath.exp(-b * x)),
}


def _entropy(p, q=None):
    q = p if q is None else q
    return -sum(a * mpmath.log(b) for a, b in zip(p, q) if a != 0)


# Functions of whole arrays (not applied elementwise).
ARRAY_FUNCTIONS = {
    "H": _entropy,                                             # H(p), H(p, q)
    "KL": lambda p, q: sum(a * mpmath.log(a / b) for a, b in zip(p, q) if a != 0),
    "mean": lambda x: sum(x.ravel()) / x.size,
    "median": lambda x: sorted(x.ravel())[x.size // 2] if x.size % 2 else sum(sorted(x.ravel())[x.size // 2 - 1:x.size // 2 + 1]) / 2,
    "diag": np.diag,
    "softmax": lambda x: (np.array([ARRAY_FUNCTIONS["softmax"](row) for row in x]) if x.ndim == 2 else
                          np.array([mpmath.exp(v) for v in x], dtype=object) / sum(mpmath.exp(v) for v in x)),
    "sigma_min": lambda w: mpmath.mpf(float(np.linalg.svd(_floats(w), compute_uv=False).min())),
    "sigma_max": lambda w: mpmath.mpf(float(np.linalg.svd(_floats(w), compute_uv=False).max())),
    "concat": lambda *parts: np.concatenate([np.atleast_1d(a) for a in parts]),
    "BN": lambda x: _batch_normalize(x),                       # per column, ε = 0
}


def _batch_normalize(x):
    mean = sum(x) / len(x)
    var = sum((row - mean) ** 2 for row in x) / len(x)
    return (x - mean) / np.vectorize(mpmath.sqrt, otypes=[object])(var)


def _group_end(tex: str, start: int) -> int:
    """Index just past the bracketed group that opens at tex[start]."""
    opener = tex[start]
    pairs = {"{": "}", "(": ")", "[": "]"}
    close = pairs[opener]
    depth = 0
    for i in range(start, len(tex)):
        if tex[i] == "\\" and tex[i + 1:i + 2] in "{}[]":
            continue
        if tex[i] == opener and tex[i - 1:i] != "\\":
            depth += 1
        elif tex[i] == close and tex[i - 1:i] != "\\":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced {opener} in {tex!r}")


def _operand_end(tex: str, start: int) -> int:
    """End of the factor that starts at `start`: a name or group, with its sub/superscripts and a
    following (…) argument list."""
    i = start
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i < len(tex) and tex[i] in "({[":
        i = _group_end(tex, i)
    else:
        m = re.match(r"\\[A-Za-z]+|[A-Za-z0-9.]+", tex[i:]) if tex[i:i + 1] != "|" else None
        if tex[i:i + 1] == "|":
            i = tex.index("|", i + 1) + 1
        elif m:
            i += len(m.group(0))
    while True:
        j = i
        while j < len(tex) and tex[j] == " ":
            j += 1
        if tex[j:j + 1] in ("_", "^"):
            j += 1
            while tex[j:j + 1] == " ":
                j += 1
            i = _group_end(tex, j) if tex[j:j + 1] == "{" else _operand_end(tex, j)
        elif tex[j:j + 1] == "(" and j == i:
            i = _group_end(tex, j)
        elif tex.startswith(r"\prime", j):
            i = j + len(r"\prime")
        else:
            return i


def _operand_start(tex: str, end: int) -> int:
    """Start of the factor that ends at `end` (the mirror of _operand_end, for `\\odot`)."""
    i = end
    while i > 0 and tex[i - 1] == " ":
        i -= 1
    if tex[i - 1] in ")}]":
        close = tex[i - 1]
        opener = {")": "(", "}": "{", "]": "["}[close]
        depth = 0
        for j in range(i - 1, -1, -1):
            if tex[j] == close:
                depth += 1
            elif tex[j] == opener:
                depth -= 1
                if depth == 0:
                    i = j
                    break
        # a function name or sub/superscript right before the group belongs to it
        m = re.search(r"(\\[A-Za-z]+|[A-Za-z])(?:[_^](?:\{[^{}]*\}|\w))*\s*$", tex[:i])
        return m.start() if m else i
    m = re.search(r"(\\[A-Za-z]+|[A-Za-z0-9]+)(?:[_^](?:\{[^{}]*\}|\w))*$", tex[:i])
    return m.start() if m else i


class Side:
    """One side of an equation, parsed: the SymPy expression and the sub-formulas it refers to."""

    def __init__(self, tex: str, arrays: frozenset[str]):
        self.tex = tex
        self.subs: dict[str, list[str]] = {}      # subscript placeholders -> index TeX pieces
        self.raw_subs: dict[str, str] = {}
        self.holes: dict[str, tuple] = {}         # other placeholders -> (kind, parsed parts)
        self.arrays = arrays
        self.children: dict[str, Side] = {}
        try:
            self.expr, self.error = self._parse(tex), None
        except (Unreadable, ValueError) as err:
            self.expr, self.error = sympy.Symbol("unreadable"), Unreadable(str(err))

    # placeholders are TeX commands made of letters only, so parse_latex keeps them whole
    def _name(self, prefix: str) -> str:
        n = len(self.subs) + len(self.holes)
        letters = ""
        while True:
            letters = chr(ord("A") + n % 26) + letters
            n = n // 26 - 1
            if n < 0:
                return prefix + letters

    def _parse(self, tex: str):
        for pattern, replacement in _PREPROCESS:
            tex = pattern.sub(replacement, tex)
        tex = self._structures(tex)
        tex = self._subscripts(tex)
        try:
            return _parse_latex(tex)
        except Exception as err:   # parse_latex raises its own LaTeXParsingError and others
            raise Unreadable(f"parse_latex cannot read {self.tex!r} (as {tex!r}): {str(err).splitlines()[0]}") from err

    def sub_side(self, tex: str) -> "Side":
        """A piece of this side (an index, a condition, a case) parsed with the same placeholders."""
        if tex not in self.children:
            child = Side.__new__(Side)
            child.tex, child.subs, child.raw_subs, child.holes, child.arrays = tex, self.subs, self.raw_subs, self.holes, self.arrays
            child.children, child.error = self.children, None
            child.expr = child._parse(tex)
            self.children[tex] = child
        return self.children[tex]

    def _hole(self, kind, *pieces) -> str:
        name = self._name("hole")
        self.holes[name] = (kind, pieces)
        return rf" \{name} "

    def _structures(self, tex: str) -> str:
        tex = self._cases(tex)
        tex = self._indicators(tex)
        tex = self._norms(tex)
        tex = self._reductions(tex)
        tex = self._sums(tex)
        tex = self._hadamard(tex)
        tex = self._function_arguments(tex)
        return tex

    def _cases(self, tex: str) -> str:
        while (start := tex.find(r"\begin{cases}")) >= 0:
            end = tex.index(r"\end{cases}", start)
            body = tex[start + len(r"\begin{cases}"):end]
            rows = [r for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.strip()]
            pieces = []
            for row in rows:
                value, _, condition = row.partition("&")
                pieces.append((chain(self, value), condition_of(self, condition)))
            tex = tex[:start] + self._hole("cases", *pieces) + tex[end + len(r"\end{cases}"):]
        return tex

    def _indicators(self, tex: str) -> str:
        while (m := re.search(r"\\mathbf\{1\}\s*(?=\[)|\\mathbb\{1\}\s*(?=\[)|\\mathbb\{1\}_\{", tex)):
            if tex[m.end() - 1] == "{":
                end = _group_end(tex, m.end() - 1)
                cond = tex[m.end():end - 1]
            else:
                end = _group_end(tex, m.end())
                cond = tex[m.end() + 1:end - 1]
            tex = tex[:m.start()] + self._hole("indicator", condition_of(self, cond)) + tex[end:]
        return tex

    def _norms(self, tex: str) -> str:
        tex = tex.replace(r"\lVert", r"\|").replace(r"\rVert", r"\|")
        while (start := tex.find(r"\|")) >= 0:
            end = tex.index(r"\|", start + 2)
            inner = tex[start + 2:end]
            rest = tex[end + 2:]
            m = re.match(r"\s*_(?:\{(\d+|\\infty|F)\}|(\d|F))", rest)
            order = (m.group(1) or m.group(2)) if m else ""
            if m:
                rest = rest[m.end():]
            # ‖W‖₂ of a matrix is its spectral norm; ‖g‖ (no subscript) and ‖W‖_F take every entry
            word = {"0": "zero", "1": "one", "2": "two", "\\infty": "inf", "F": "all", "": "all"}[order]
            tex = tex[:start] + rf"\norm{word}({inner})" + rest
        return tex

    def _reductions(self, tex: str) -> str:
        """\\max_{j} X, \\min_j X, \\argmax_j X  ->  \\Max(X, j) etc. (X: the next factor)."""
        while (m := re.search(r"\\(max|min|argmax|argmin)\s*_", tex)):
            sub_start = m.end()
            sub_end = _group_end(tex, sub_start) if tex[sub_start] == "{" else sub_start + 1
            index = tex[sub_start:sub_end].strip("{}")
            operand_end = _operand_end(tex, sub_end)
            operand = tex[sub_end:operand_end]
            tex = tex[:m.start()] + self._hole("reduce", m.group(1), index, chain(self, operand)) + tex[operand_end:]
        return tex

    def _sums(self, tex: str) -> str:
        """Sums and products whose subscript is not `i = a` with an upper limit run over every
        valid index, minus exclusions and conditions: \\sum_{j}, \\sum_{j \\ne y_i},
        \\sum_{i \\in c,\\; x_i < 0}, \\sum_{p, q} (two sums)."""
        def limits(op, sub, has_upper):
            pieces = [p.strip() for p in top_level_split(sub, [","])]
            if "=" in pieces[0] and has_upper:
                return None
            if len(pieces) > 1 and all(re.fullmatch(r"[A-Za-z]", p) for p in pieces):
                return " ".join(rf"\{op}_{{{p}=\lo}}^{{\hi}}" for p in pieces)
            m = re.match(r"([A-Za-z])\s*(?:(\\neq|\\in|:)\s*(.*))?$", pieces[0])
            if not m:
                return None
            var, relation, operand = m.group(1), m.group(2), (m.group(3) or "").strip()
            conditions = [condition_of(self, c) for c in pieces[1:]]
            if relation == ":":
                conditions.insert(0, condition_of(self, operand))
                relation = None
            exclude = self.sub_side(operand) if relation == r"\neq" else None
            among = operand if relation == r"\in" else None
            hole = self._hole("select", var, exclude, among, conditions)
            return rf"\{op}_{{{var}=\sel({hole.strip()})}}^{{\hi}}"

        out, i = [], 0
        pattern = re.compile(r"\\(sum|prod)\s*_")
        while (m := pattern.search(tex, i)):
            out.append(tex[i:m.start()])
            j = m.end()
            if tex[j] == "{":
                end = _group_end(tex, j)
                sub = tex[j + 1:end - 1]
            else:
                end, sub = j + 1, tex[j]
            has_upper = tex[end:].lstrip().startswith("^")
            replacement = limits(m.group(1), sub, has_upper)
            out.append(replacement if replacement is not None else tex[m.start():end])
            i = end
        out.append(tex[i:])
        return "".join(out)

    def _hadamard(self, tex: str) -> str:
        while (i := tex.find(r"\odot")) >= 0:
            left = _operand_start(tex, i)
            right = _operand_end(tex, i + len(r"\odot"))
            a, b = tex[left:i], tex[i + len(r"\odot"):right]
            tex = tex[:left] + self._hole("hadamard", chain(self, a), chain(self, b)) + tex[right:]
        return tex

    def _function_arguments(self, tex: str) -> str:
        """\\erf\\frac{x}{2} -> \\erf(\\frac{x}{2}): named functions applied without parentheses."""
        for name in ("erf", "sign", "softplus", "ReLU", "GELU", "ELU", "SELU"):
            for m in reversed(list(re.finditer(rf"\\{name}(?![A-Za-z(])\s*(?=\\frac|\\sqrt|[A-Za-z0-9])", tex))):
                end = _operand_end(tex, m.end())
                if tex[m.end():].startswith(r"\frac"):
                    end = _group_end(tex, _group_end(tex, m.end() + 5))
                tex = tex[:m.start()] + rf"\{name}(" + tex[m.end():end] + ")" + tex[end:]
        return tex

    def _subscripts(self, tex: str) -> str:
        """Every subscript becomes a placeholder holding its TeX, so that `x_{i+p, j+q}` parses and
        the evaluator can decide whether it indexes an array or completes a name."""
        out, i = [], 0
        while i < len(tex):
            if tex[i] == "_" and (i == 0 or tex[i - 1] != "\\") and not re.search(r"\\int\s*$", tex[:i]):
                j = i + 1
                while tex[j:j + 1] == " ":
                    j += 1
                if tex[j:j + 1] == "{":
                    end = _group_end(tex, j)
                    raw = tex[j + 1:end - 1]
                elif tex[j:j + 1] == "\\":
                    m = re.match(r"\\[A-Za-z]+", tex[j:])
                    end = j + len(m.group(0))
                    raw = tex[j:end]
                else:
                    end = j + 1
                    raw = tex[j:end]
                if "=" in raw:
                    out.append(tex[i:end])    # a sum's limits: keep for parse_latex
                    i = end
                    continue
                name = self._name("sb")
                self.raw_subs[name] = raw
                self.subs[name] = [s.strip() for s in top_level_split(raw, [","])]
                for piece in self.subs[name]:
                    if re.search(r"[_\\]", piece):     # nested (y_k): register its subscripts now
                        try:
                            self.sub_side(piece)
                        except (Unreadable, ValueError):
                            pass                    # a name such as \min: never evaluated as an index
                out.append(rf"_{{\{name}}}")
                i = end
            else:
                out.append(tex[i])
                i += 1
        return "".join(out)


@lru_cache(maxsize=None)
def _parse_latex(tex: str):
    return parse_latex(tex, strict=True)


class Unreadable(Exception):
    """The LaTeX could not be read (parse_latex failed, or a construct is not supported)."""


class Unbound(Exception):
    """A symbol that neither the binding, the formula nor the known constants define."""


def chain(side: Side, tex: str) -> list:
    """A sub-formula that may itself be a chain `a = b` (inside cases): its sides, parsed."""
    pieces, _ = sides_of(tex)
    return [side.sub_side(p) for p in pieces if p.strip()]


def condition_of(side: Side, tex: str):
    """A condition such as `x \\ge 0`, `|r| \\le \\delta` or `j = y_i`: (sides, relations)."""
    tex = re.sub(r"\\text\{\s*(if|otherwise)\s*\}|,", " ", tex).strip()
    if not tex or tex in ("otherwise",):
        return None
    pieces, relations = sides_of(tex)
    return [side.sub_side(p) for p in pieces], relations


# ----------------------------------------------------------------------------------------------
# Evaluating a parsed side at one point
# ----------------------------------------------------------------------------------------------

CONSTANTS = {"e": +mpmath.e, "pi": +mpmath.pi}     # unary + makes numbers of the (callable) constants
RANGES = "__ranges__"
OUTSIDE_ZERO = "__outside_zero__"
EXPLICIT_BASE = "__explicit_base__"   # env key: the binding said `base 0|1`   # env key: entries outside an array read as 0 (`outside 0`)     # env key: lengths of the indices that `runs over` clauses give
LIMIT_NAMES = {"lo", "hi"}


def normal_name(name: str) -> str:
    """A parsed name as the clauses write it: b_{t-1} -> b_tm1, \\eta_{\\min} -> eta_min."""
    return re.sub(r"[\\{}\s]", "", name).replace("-", "m").replace("+", "p")


def to_mp(value):
    """A drawn value in mpmath form: mpf for a number, an object array of mpf for an array
    (a function a clause defines stays a function)."""
    if callable(value):
        return lambda *args: to_mp(value(*[_floats(a) if isinstance(a, np.ndarray) else float(a) for a in args]))
    if isinstance(value, np.ndarray):
        return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(value) if value.size else value.astype(object)
    return mpmath.mpf(float(value)) if not isinstance(value, (int, np.integer)) else int(value)


def _elementwise(fn, *args):
    if any(isinstance(a, np.ndarray) for a in args):
        return np.frompyfunc(fn, len(args), 1)(*args)
    return fn(*args)


def _as_int(value) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, mpmath.mpf) and value == int(value):
        return int(value)
    raise Unreadable(f"an index must be an integer, got {value}")


class Evaluator:
    """Evaluates one parsed side: `env` holds the drawn values (mpmath), `base` the first index."""

    def __init__(self, side: Side, env: dict, base: int):
        self.side, self.env, self.base = side, env, base
        self.ranges = env.get(RANGES, {})

    def value(self, expr, local=None):
        if expr is self.side.expr and self.side.error:
            raise self.side.error
        return self._ev(expr, dict(local or {}))

    # -- names ---------------------------------------------------------------------------
    def _symbol(self, name: str, local):
        if name in local:
            return local[name]
        if name in self.side.holes:
            return self._hole(name, local)
        m = re.fullmatch(r"(.+?)_\{(sb[A-Z]+)\}(.*)", name)
        if m:
            base, sub, rest = normal_name(m.group(1)), m.group(2), m.group(3)
            full = f"{base}_{normal_name(self.side.raw_subs[sub])}{normal_name(rest)}"
            if full in local:
                return local[full]
            if full in self.env:
                return self.env[full]
            array = local.get(base, self.env.get(base))
            if isinstance(array, np.ndarray) and not rest:
                return self._index(array, sub, local)
            if base == "delta" and len(self._pieces(sub, 2)) == 2:      # Kronecker's delta
                i, j = (self.value(self.side.sub_side(p).expr, local) for p in self._pieces(sub, 2))
                return mpmath.mpf(i == j)
            raise Unbound(full)
        key = normal_name(name)
        if key in self.env:
            return self.env[key]
        if key in CONSTANTS:
            return CONSTANTS[key]
        raise Unbound(key)

    def _pieces(self, sub, ndim):
        """The index expressions of a subscript; `ij` is two indices when two are expected."""
        pieces = self.side.subs[sub]
        if len(pieces) == 1 and ndim > 1 and re.fullmatch(r"[A-Za-z]{2,}", pieces[0]) and len(pieces[0]) == ndim:
            return list(pieces[0])
        return pieces

    def _index(self, array, sub, local):
        pieces = self._pieces(sub, array.ndim)
        if len(pieces) > array.ndim:
            raise Unreadable(f"{len(pieces)} indices for an array of {array.ndim} axes")
        index = []
        for axis, piece in enumerate(pieces):
            i = _as_int(self.value(self.side.sub_side(piece).expr, local)) - self.base
            if not 0 <= i < array.shape[axis] and self.env.get(OUTSIDE_ZERO):
                return mpmath.mpf(0)
            if not 0 <= i < array.shape[axis]:
                raise IndexOut(f"index {piece} = {i + self.base} is outside axis {axis} of length {array.shape[axis]}")
            index.append(i)
        return array[tuple(index)]

    def index_range(self, var: str, expr) -> range:
        """The values an index takes: a `runs over` clause, or the length of an array axis it
        indexes as a whole piece."""
        if var in self.ranges:
            return range(self.base, self.base + self.ranges[var])
        for sub, pieces in self.side.subs.items():
            if len(pieces) == 1 and re.fullmatch(r"[A-Za-z]{2,}", pieces[0]):
                pieces = list(pieces[0])
            if var not in pieces:
                continue
            for sym in _symbols_of_subscript(self.side, sub):
                array = self.env.get(normal_name(sym))
                if isinstance(array, np.ndarray) and array.ndim >= len(pieces):
                    n = array.shape[pieces.index(var)]
                    return range(self.base, self.base + n)
        raise Unbound(f"the range of the index {var} (it indexes no declared array)")

    # -- placeholders -------------------------------------------------------------------
    def _hole(self, name, local):
        kind, pieces = self.side.holes[name]
        if kind == "cases":
            for value, condition in pieces:
                if condition is None or self._condition(condition, local):
                    return self._chain(value, local)
            raise Unreadable("no case applies")
        if kind == "indicator":
            return mpmath.mpf(1) if self._condition(pieces[0], local) else mpmath.mpf(0)
        if kind == "hadamard":
            a, b = (self._chain(p, local) for p in pieces)
            return a * b
        if kind == "reduce":
            op, index, operand = pieces
            var, _, spec = index.partition("=")
            var = var.strip()
            m = re.match(r"\s*([A-Za-z])\s*(?:=|\\in)?.*", var)
            bounded = re.fullmatch(r"\s*0\s*\\le\s*([a-z](?:\s*,\s*[a-z])*)\s*<\s*(.+?)\s*", index)
            if bounded:                          # \max_{0 \le p, q < F}: every p and q in 0 … F − 1
                names = re.findall(r"[a-z]", bounded.group(1))
                stop = _as_int(self.value(self.side.sub_side(bounded.group(2)).expr, local))
                values = [self._chain(operand, {**local, **dict(zip(names, combo))})
                          for combo in itertools.product(range(stop), repeat=len(names))]
                if op in ("max", "min"):
                    return max(values) if op == "max" else min(values)
                raise Unreadable("arg max over bounded indices is not supported")
            var = m.group(1) if m else var
            values = []
            probe = operand[0]
            for v in self.index_range(var, probe.expr):
                values.append((self._chain(operand, {**local, var: v}), v))
            if op == "max":
                return max(values, key=lambda t: t[0])[0]
            if op == "min":
                return min(values, key=lambda t: t[0])[0]
            best = max(values, key=lambda t: t[0]) if op == "argmax" else min(values, key=lambda t: t[0])
            return best[1]
        raise Unreadable(f"unknown placeholder {kind}")

    def _chain(self, sides, local):
        values = [self.value(s.expr, local) if s is not None else None for s in sides]
        for v in values[1:]:
            if not agree(values[0], v, TOLERANCE):
                raise Mismatch(f"the two sides inside {sides[0].tex!r} = {sides[1].tex!r} differ: {values[0]} vs {v}")
        return values[0]

    def _condition(self, condition, local) -> bool:
        sides, relations = condition
        values = [self.value(s.expr, local) for s in sides]
        return all(_relation(r, a, b) for r, a, b in zip(relations, values, values[1:]))

    # -- the expression tree ------------------------------------------------------------
    def _ev(self, e, local):
        if isinstance(e, sympy.Symbol):
            return self._symbol(e.name, local)
        if e is sympy.S.Infinity:
            return mpmath.inf
        if e.is_NumberSymbol:
            return mpmath.mpf(str(e.evalf(40)))
        if e.is_Integer:
            return int(e)
        if e.is_Rational:
            return mpmath.mpf(e.p) / e.q
        if e.is_Float:
            return mpmath.mpf(str(e))
        if isinstance(e, sympy.Add):
            total = 0
            for a in e.args:
                total = total + self._ev(a, local)
            return total
        if isinstance(e, sympy.Mul):
            product = 1
            for a in e.args:
                if isinstance(a, sympy.Pow) and a.args[1] == -1 and not self._is_inverse(a, local):
                    product = product / self._ev(a.args[0], local)      # a fraction divides elementwise
                else:
                    product = _times(product, self._ev(a, local))
            return product
        if isinstance(e, sympy.Pow):
            return self._pow(e, local)
        if isinstance(e, (sympy.Sum, sympy.Product)):
            return self._sum(e, local)
        if isinstance(e, sympy.Abs):
            return _elementwise(abs, self._ev(e.args[0], local))
        if isinstance(e, sympy.floor):
            return _elementwise(lambda v: int(mpmath.floor(v)), self._ev(e.args[0], local))
        if isinstance(e, sympy.ceiling):
            return _elementwise(lambda v: int(mpmath.ceil(v)), self._ev(e.args[0], local))
        if isinstance(e, sympy.log):
            x = self._ev(e.args[0], local)
            base = self._ev(e.args[1], local) if len(e.args) > 1 else mpmath.e
            return _elementwise(lambda v: mpmath.log(v) / mpmath.log(base), x)
        if isinstance(e, sympy.Derivative):
            raise Unbound("a derivative (a name here)")
        if isinstance(e, sympy.core.relational.Relational):
            return _relation(type(e).__name__, self._ev(e.lhs, local), self._ev(e.rhs, local))
        if isinstance(e, sympy.Function) or isinstance(e, sympy.core.function.AppliedUndef):
            return self._function(e, local)
        raise Unreadable(f"cannot evaluate {type(e).__name__}: {e}")

    def _is_inverse(self, e, local) -> bool:
        """H^{-1} of a square matrix H is its inverse; any other power -1 is a reciprocal."""
        if not isinstance(e.args[0], sympy.Symbol):
            return False
        try:
            value = self._ev(e.args[0], local)
        except (Unbound, Unreadable):
            return False
        return isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == value.shape[1]

    def _pow(self, e, local):
        base_expr, exp_expr = e.args
        if isinstance(exp_expr, sympy.Symbol) and exp_expr.name == "transposed":
            value = self._ev(base_expr, local)
            if isinstance(value, np.ndarray):
                return value.reshape(1, -1) if value.ndim == 1 else value.T
            return value
        base, exponent = self._ev(base_expr, local), self._ev(exp_expr, local)
        if isinstance(base, np.ndarray) and base.ndim == 2 and isinstance(exponent, int):
            matrix = mpmath.matrix(base.tolist())
            result = matrix ** exponent
            return np.array(result.tolist(), dtype=object)
        return _elementwise(lambda a, b: mpmath.power(a, b) if not (isinstance(a, int) and isinstance(b, int) and b >= 0) else a ** b, base, exponent)

    def _sum(self, e, local):
        return self._over(e.args[0], list(e.args[1:]), local, isinstance(e, sympy.Product))

    def _over(self, body, limits, local, product):
        """Σ or Π of body over limits; SymPy lists nested limits innermost first."""
        if not limits:
            return self._ev(body, local)
        var, lo, hi = limits[-1]
        name = var.name
        if isinstance(lo, sympy.Symbol) and lo.name == "lo":
            values = list(self.index_range(name, body))
        elif isinstance(lo, sympy.core.function.AppliedUndef) and lo.func.__name__ == "sel":
            values = self._selection(lo.args[0].name, body, local)
        else:
            start = _as_int(self._ev(lo, local))
            stop = _as_int(self._ev(hi, local))
            # in a formula whose indices start at 0, a sum from 1 to C counts the C entries
            counting = start == 1 and self.base == 0 and not self.env.get(EXPLICIT_BASE) and self._indexes(name, body)
            values = range(0, stop) if counting else range(start, stop + 1)
        total = 1 if product else 0
        for v in values:
            term = self._over(body, limits[:-1], {**local, name: v}, product)
            total = _times(total, term) if product else total + term
        return total

    def _indexes(self, var, body) -> bool:
        """Whether `var` is used as an index of an array (not only as a number) in `body`."""
        try:
            self.index_range(var, body)
            return var not in self.ranges
        except Unbound:
            return False

    def _selection(self, hole, body, local):
        _, (var, exclude, among, conditions) = self.side.holes[hole]
        values = list(self.index_range(var, body))
        if among is not None and normal_name(among) in self.env:
            members = self.env[normal_name(among)]
            values = [int(v) + self.base for v in np.ravel(members)]
        if exclude is not None:
            excluded = self.value(exclude.expr, local)
            values = [v for v in values if v != excluded]
        return [v for v in values if all(self._condition(c, {**local, var: v}) for c in conditions if c)]

    def _function(self, e, local):
        name = e.func.__name__
        args = [self._ev(a, local) for a in e.args]
        try:
            value = self._symbol(name, local)
        except (Unbound, Unreadable):
            value = None
        if value is not None and not callable(value) and len(args) == 1:
            return _times(value, args[0])      # `y(1 - p)` parses as a call; with y a number it is a product
        if name in ("exp",):
            return _elementwise(mpmath.exp, args[0])
        if name in ("tanh", "sinh", "cosh", "sin", "cos", "tan", "erf"):
            return _elementwise(getattr(mpmath, name), args[0])
        if name in ("max", "Max", "min", "Min"):
            pick = max if name.lower() == "max" else min
            if len(args) == 1 and isinstance(args[0], np.ndarray):
                return pick(args[0].ravel().tolist())
            return _elementwise(lambda *v: pick(v), *args)
        if name in ("factorial", "binomial"):
            return getattr(mpmath, name if name == "factorial" else "binomial")(*args)
        if name.startswith("norm") and name[4:] in ("zero", "one", "two", "inf", "all"):
            order = {"zero": "0", "one": "1", "two": "2", "inf": "inf", "all": "all"}[name[4:]]
            x = np.asarray(args[0], dtype=object).ravel()
            if order == "inf":
                return max(abs(v) for v in x)
            if order == "0":
                return sum(1 for v in x if v != 0)
            if order == "2" and isinstance(args[0], np.ndarray) and args[0].ndim == 2 and min(args[0].shape) > 1:
                return ARRAY_FUNCTIONS["sigma_max"](args[0])
            p = 2 if order == "all" else int(order)
            return sum(abs(v) ** p for v in x) ** (mpmath.mpf(1) / p)
        m = re.fullmatch(r"(.+?)_\{(sb[A-Z]+)\}", name)
        full = f"{normal_name(m.group(1))}_{normal_name(self.side.raw_subs[m.group(2)])}" if m else name
        if full in ARRAY_FUNCTIONS and all(isinstance(a, np.ndarray) for a in args):
            return ARRAY_FUNCTIONS[full](*args)          # σ_min(W), σ_max(W)
        if m and normal_name(m.group(1)) in SUBSCRIPTED:
            parameter = self.value(self.side.sub_side(self.side.raw_subs[m.group(2)]).expr, local)
            return _elementwise(lambda *v: SUBSCRIPTED[normal_name(m.group(1))](parameter, *v), *args)
        if name in ARRAY_FUNCTIONS and (name == "concat" or all(isinstance(a, np.ndarray) for a in args)):
            return ARRAY_FUNCTIONS[name](*args)
        if name in self.env and callable(self.env[name]):
            return self.env[name](*args)
        if name in FUNCTIONS:
            return _elementwise(FUNCTIONS[name](self.env), *args)
        raise Unbound(f"the function {name}")


class Mismatch(Exception):
    """Two things that a formula says are equal are not."""


class IndexOut(Exception):
    """An index runs outside its array: the formula's index arithmetic is wrong."""


def _symbols_of_subscript(side: Side, sub: str):
    """The names (as parsed) that carry the subscript placeholder `sub`."""
    names = set()

    def walk(expr):
        for s in expr.free_symbols:
            m = re.fullmatch(r"(.+?)_\{" + sub + r"\}", s.name)
            if m:
                names.add(m.group(1))
    for expr in _all_exprs(side):
        walk(expr)
    return names


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


def _times(a, b):
    """Juxtaposed arrays multiply as matrices; a 1-D array is a column, its transpose a row;
    an operator the clauses define (T_Δ x) applies to what follows it."""
    if callable(a):
        return a(b)
    if callable(b) and not isinstance(a, np.ndarray) and a == 1:
        return b
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim >= 1 and b.ndim >= 1:
        if a.ndim == 1 and b.ndim == 2 and b.shape[0] == 1:
            return np.outer(a, b[0])
        return np.dot(a, b)
    return a * b


def _relation(kind, a, b) -> bool:
    kind = {"StrictLessThan": "lt", "LessThan": "le", "StrictGreaterThan": "gt", "GreaterThan": "ge",
            "Equality": "eq", "Unequality": "ne"}.get(kind, kind)
    if kind in ("eq", "ne"):      # 0.99 on the page and 0.99 drawn in float64 are the same number
        same = a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
        return same if kind == "eq" else not same
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[kind]


def agree(a, b, tol) -> bool:
    a, b = _floats(a), _floats(b)
    if a.shape != b.shape:
        return False
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return bool(np.array_equal(a, b))
    return bool(np.all(np.abs(a - b) <= tol * np.maximum(np.maximum(np.abs(a), np.abs(b)), FLOOR / tol)))


def _floats(v) -> np.ndarray:
    if isinstance(v, np.ndarray):
        return np.array([float(x) for x in v.ravel()], dtype=np.float64).reshape(v.shape)
    if isinstance(v, (bool, np.bool_)):
        return np.array(float(v))
    try:
        return np.asarray(float(v), dtype=np.float64)
    except TypeError as err:
        raise BindingError(f"a value that is not a number or an array: {type(v).__name__} (index the call's result)") from err


# ----------------------------------------------------------------------------------------------
# Drawing random points from a binding's clauses
# ----------------------------------------------------------------------------------------------

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
         "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega"}
DEFAULT_DOMAIN = (-3.0, 3.0)
IDENTITY_DOMAIN = (0.2, 2.5)   # identities often hold only for positive values (logs, roots)
KEYWORDS = {"lambda", "in", "is", "if", "for", "not", "and", "or"}

NUMBER = r"[\[(](?P<lo>[^,]+),(?P<hi>[^\])]+)[\])]"
CLAUSE_SCALAR = re.compile(rf"^(?P<name>[A-Za-z_]\w*)\s*(?::\s*(?P<kind>int|index))?\s+in\s+{NUMBER}$")
CLAUSE_ARRAY = re.compile(rf"^(?P<name>[A-Za-z_]\w*)\s*:\s*(?:(?P<kind>int|index)\s+)?\((?P<shape>[^)]*)\)(?:\s+in\s+{NUMBER})?$")
CLAUSE_RANGE = re.compile(r"^(?P<name>[A-Za-z])\s+runs\s+over\s+(?P<expr>.+)$")
CLAUSE_SET = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*=(?!=)\s*(?P<expr>.+)$")
CLAUSE_OPTION = re.compile(r"^(?P<key>tol|atol|approx)\s*=\s*(?P<value>\S+)$|^base\s+(?P<base>[01])$|^from\s+side\s+(?P<first>\d+)$|^(?P<outside>outside\s+0)$")
CONDITION = re.compile(r"[<>]|!=|==")


def python_name(name: str) -> str:
    return name + "_" if name in KEYWORDS else name


@dataclass
class Domain:
    """What a binding's clauses say: the values to draw, the conditions, the options."""
    draws: list = field(default_factory=list)      # (name, kind, spec), in order
    conditions: list[str] = field(default_factory=list)
    ranges: dict[str, str] = field(default_factory=dict)   # index name -> Python length
    tol: float = TOLERANCE
    atol: float = FLOOR
    approx: float | None = None
    base: int | None = None
    first: int = 1            # sides before this one are names, not evaluated
    outside_zero: bool = False
    explicit_base: bool = False

    @classmethod
    def from_clauses(cls, clauses: list[str]) -> "Domain":
        d = cls()
        for clause in clauses:
            if (m := CLAUSE_OPTION.match(clause)):
                if m.group("base"):
                    d.base, d.explicit_base = int(m.group("base")), True
                elif m.group("first"):
                    d.first = int(m.group("first"))
                elif m.group("outside"):
                    d.outside_zero = True
                elif m.group("key") == "tol":
                    d.tol = float(m.group("value"))
                elif m.group("key") == "atol":
                    d.atol = float(m.group("value"))
                else:
                    d.approx = float(m.group("value"))
            elif (m := CLAUSE_ARRAY.match(clause)):
                lo, hi = m.group("lo") or str(DEFAULT_DOMAIN[0]), m.group("hi") or str(DEFAULT_DOMAIN[1])
                d.draws.append((m.group("name"), (m.group("kind") or "real") + "-array", (m.group("shape"), lo, hi)))
            elif (m := CLAUSE_SCALAR.match(clause)):
                d.draws.append((m.group("name"), m.group("kind") or "real", (m.group("lo"), m.group("hi"))))
            elif (m := CLAUSE_RANGE.match(clause)):
                d.ranges[m.group("name")] = m.group("expr")
            elif (m := CLAUSE_SET.match(clause)):
                d.draws.append((m.group("name"), "set", m.group("expr")))
            elif CONDITION.search(clause):
                d.conditions.append(clause)
            else:
                raise BindingError(f"cannot read the clause {clause!r} (the forms are listed in tools/formulas.py)")
        return d

    def names(self) -> set[str]:
        return {name for name, _, _ in self.draws}

    def arrays(self) -> frozenset[str]:
        return frozenset(n for n, k, _ in self.draws if k.endswith("-array"))

    def draw(self, rng: np.random.Generator, extra: dict[str, tuple]) -> dict | None:
        """One point: {name: Python value}, or None when a condition fails."""
        values: dict = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in extra.items()}
        for name, kind, spec in self.draws:
            ns = _namespace(values)
            if kind == "set":
                values[name] = _eval(spec, ns)
                continue
            shape = tuple(int(_eval(n, ns)) for n in spec[0].split(",") if n.strip()) if kind.endswith("-array") else None
            lo, hi = _eval(spec[-2], ns), _eval(spec[-1], ns)
            if kind.startswith(("int", "index")):
                drawn = rng.integers(int(lo), int(hi) + 1, size=shape)
                values[name] = drawn if shape is not None else int(drawn)
            else:
                values[name] = rng.uniform(lo, hi, size=shape) if shape is not None else float(rng.uniform(lo, hi))
        ns = _namespace(values)
        return values if all(_eval(c, ns) for c in self.conditions) else None

    def formula_values(self, values: dict, base: int) -> dict:
        """The point as the formula sees it: mpmath numbers; indices counted from `base`."""
        kinds = {name: kind for name, kind, _ in self.draws}
        env = {}
        for name, value in values.items():
            env[name] = to_mp(value)
            if kinds.get(name, "").startswith("index") and base:
                env[name] = env[name] + base if not isinstance(value, np.ndarray) else np.array([int(v) + base for v in value.ravel()], dtype=object).reshape(value.shape)
        return env


class BindingError(Exception):
    """A binding that cannot be carried out as written."""


def _namespace(values: dict) -> dict:
    import snippets
    from snippets import (activations, autograd, cnn, gradcheck, gradients, initialization, losses,  # noqa: F401
                          normalization, optimizers, regularization)
    ns = {"np": np, "snippets": snippets, "math": math, "after": after}
    ns.update({python_name(k): v for k, v in values.items()})
    return ns


def after(optimizer, **state):
    """An optimizer put in a given state (``after(Adam(), m=m_tm1, v=v_tm1, t=2)``), so that a
    binding can check one step of an update rule from any point, not only the first."""
    for name, value in state.items():
        if not hasattr(optimizer, name):
            raise BindingError(f"{type(optimizer).__name__} has no state {name!r}")
        setattr(optimizer, name, value)
    return optimizer


def _eval(expr: str, ns: dict):
    return eval(compile(expr.strip(), "<binding>", "eval"), ns)   # the bindings are this repository's own text


# ----------------------------------------------------------------------------------------------
# Checking a formula
# ----------------------------------------------------------------------------------------------

@dataclass
class PartResult:
    number: int
    tex: str
    kind: str                     # check | identity | unchecked | definition | condition | unbound
    ok: bool = True
    message: str = ""
    points: int = 0
    rejected: int = 0
    sides_checked: int = 0
    proven: bool = False          # identity proven by SymPy
    worst: float = 0.0            # worst relative difference seen
    binding: str = ""


@dataclass
class FormulaResult:
    where: str
    page: str
    line: int
    key: bool
    status: str                    # code | identity | unchecked | failed
    parts: list[PartResult]
    calls: list[str]

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def failures(self) -> list[str]:
        return [f"{self.where}: part {p.number} `{p.tex}`: {p.message}" for p in self.parts if not p.ok]


# a part such as `\lambda > 0` or `(\lambda > 1)`: a condition on the formula's other parts
CONDITION_PART = re.compile(r"^\(?\s*\\?[A-Za-z]+(?:_\{?\\?\w+\}?)?\s*(?:>|<|\\geq?|\\leq?|\\neq?)\s*-?[\d.]+\s*\)?$")
TRAILING = " \\quad "


@dataclass
class Context:
    """What the parts of one formula share: definitions and conditions."""
    texts: list[str]
    definitions: dict[str, int]
    conditions: list[int]


def check_formula(formula: Formula) -> FormulaResult:
    if formula.errors:
        return FormulaResult(formula.where, formula.page, formula.line, formula.key, "failed",
                             [PartResult(0, formula.body, "unbound", False, "; ".join(formula.errors))], [])
    texts = parts(formula.body)
    ctx = Context(texts, _definitions(texts), [i for i, t in enumerate(texts, start=1) if CONDITION_PART.match(t.strip())])
    results = []
    named = {n for b in formula.bindings for n in b.parts}
    unnamed = [b for b in formula.bindings if not b.parts]
    if len(unnamed) > 1:
        results.append(PartResult(0, formula.body, "unbound", False,
                                  "more than one binding without part numbers: number them (`% check 2: …`)"))
    for n in sorted(named):
        if not 1 <= n <= len(texts):
            results.append(PartResult(n, formula.body, "unbound", False,
                                      f"no part {n}: this formula has {len(texts)} part(s): " + " | ".join(texts)))
    for number, tex in enumerate(texts, start=1):
        binding = next((b for b in formula.bindings if number in b.parts), None)
        structural = number in ctx.conditions or (number in ctx.definitions.values()
                                                  and _used_elsewhere(texts, number, ctx.definitions))
        if binding is None and number not in named and unnamed and not structural:
            binding = unnamed[0]
        if binding is None and number in ctx.conditions:
            results.append(PartResult(number, tex, "condition"))
        elif binding is None and number in ctx.definitions.values() and _used_elsewhere(texts, number, ctx.definitions):
            results.append(PartResult(number, tex, "definition"))
        elif binding is None:
            results.append(PartResult(number, tex, "unbound", False,
                                      f"no binding: add `% check {number}: snippets.<module>.<fn>(...)`, "
                                      f"`% identity {number}` or `% unchecked {number}: <reason>` to the $$ block"))
        elif binding.kind in ("check", "identity") and number in ctx.conditions:
            results.append(_check_part(number, tex, binding, ctx, formula))
        else:
            results.append(_check_part(number, tex, binding, ctx, formula))
    kinds = {r.kind for r in results if r.ok}
    status = ("failed" if any(not r.ok for r in results) else "code" if "check" in kinds
              else "identity" if "identity" in kinds else "unchecked")
    calls = [b.call for b in formula.bindings if b.kind == "check"]
    return FormulaResult(formula.where, formula.page, formula.line, formula.key, status, results, calls)


def _definitions(texts: list[str]) -> dict[str, int]:
    """{name: part number} for parts `m = …` whose left side is a bare name (m, \\alpha, p_t)."""
    out, seen = {}, []
    for number, tex in enumerate(texts, start=1):
        sides, relations = sides_of(tex)
        m = re.fullmatch(r"(\\?[A-Za-z]+)(?:_\{?(\\?\w+)\}?)?", sides[0].strip())
        if len(sides) == 2 and relations == ["eq"] and m:
            name = m.group(1).lstrip("\\")
            if len(name) == 1 or name in GREEK:
                key = name + (f"_{m.group(2).lstrip(chr(92))}" if m.group(2) else "")
                seen.append(key)
                out[key] = number
    return {k: v for k, v in out.items() if seen.count(k) == 1}   # u = a + b, u = ab, …: rows, not definitions


def _used_elsewhere(texts, number, definitions) -> bool:
    name = next(n for n, k in definitions.items() if k == number)
    base, _, sub = name.partition("_")
    head = re.escape(base) if len(base) == 1 else rf"\\{re.escape(base)}"
    pattern = rf"(?<![A-Za-z\\]){head}(?![A-Za-z])" + (rf"\s*_\{{?\\?{re.escape(sub)}\}}?" if sub else r"(?!\s*_)")
    return any(re.search(pattern, t) for i, t in enumerate(texts, start=1) if i != number)


def _check_part(number, tex, binding: Binding, ctx: Context, formula) -> PartResult:
    result = PartResult(number, tex, binding.kind, binding=binding.text)
    if binding.kind == "unchecked":
        result.message = binding.reason
        return result
    try:
        domain = Domain.from_clauses(binding.clauses)
        side_texts, relations = sides_of(tex)
        trailing = None
        if TRAILING in side_texts[-1]:
            side_texts[-1], _, trailing = side_texts[-1].partition(TRAILING)
        elif (m := re.search(r"(?:\\ |\s)*\(([^()]*(?:>|<|\\[gl]eq?(?![A-Za-z])|\\neq?(?![A-Za-z]))[^()]*)\)\s*$", side_texts[-1])):
            side_texts[-1], trailing = side_texts[-1][:m.start()], m.group(1)
        for i, r in enumerate(relations):
            if r in ("in", "sim", "limit"):   # `m = b/(1-p) \in \{…\}`, `… \to g/(1-μ)`: the sides before are checked
                side_texts, relations = side_texts[:i + 1], relations[:i]
                break
        if "ne" in relations or (binding.kind == "identity" and "assign" in relations):
            raise BindingError(f"a relation that points cannot check (≠, ←): use `% unchecked {number}: <reason>`")
        if len(side_texts) < 2:
            raise BindingError("nothing to check: the part has a single side")
        arrays = domain.arrays()
        sides = [Side(t, arrays) for t in side_texts]
        if domain.base is None:
            domain.base = _base_of(tex)
        if binding.kind == "identity" and not trailing and _prove(sides[domain.first - 1:], relations[domain.first - 1:]):
            result.proven, result.sides_checked = True, len(sides)
            return result
        defs = {name: Side(sides_of(ctx.texts[k - 1])[0][1], arrays) for name, k in ctx.definitions.items()
                if k != number and _used_elsewhere(ctx.texts, k, ctx.definitions)}
        conditions = [_condition_side(ctx.texts[k - 1], arrays) for k in ctx.conditions if k != number]
        if trailing:
            conditions.append(_condition_side(trailing.strip().strip("()"), arrays))
        _run_points(result, binding, domain, sides, relations, defs, conditions, formula)
    except (BindingError, Unreadable, Unbound, Mismatch, IndexOut) as err:
        result.ok = False
        result.message = f"{type(err).__name__}: {err}"
    except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as err:   # not evaluable as bound
        result.ok = False
        result.message = f"evaluating the formula raised {type(err).__name__}: {err}"
    return result


def _base_of(tex: str) -> int:
    """Indices count from 1 when a sum starts at 1 and none at 0 (the conv formula mixes both:
    c = 1…C counts channels, p = 0…F−1 offsets a window; it is read 0-based)."""
    starts = re.findall(r"_\{\s*[a-z]\s*=\s*([01])\s*\}", tex)
    return 1 if "1" in starts and "0" not in starts else 0


def _condition_side(tex: str, arrays) -> tuple[Side, object]:
    holder = Side("0", arrays)
    parsed = condition_of(holder, tex)
    if parsed is None:
        raise Unreadable(f"cannot read the condition {tex!r}")
    return holder, parsed


def _prove(sides, relations) -> bool:
    """SymPy's verdict on `a = b = …` when every side is plain algebra; False when it cannot say."""
    if any(r != "eq" for r in relations) or any(s.error or s.holes or s.subs for s in sides):
        return False
    exprs = []
    for s in sides:
        e = s.expr.subs({sympy.Symbol("e"): sympy.E, sympy.Symbol("pi"): sympy.pi})
        if any(isinstance(f, sympy.core.function.AppliedUndef) for f in e.atoms(sympy.Function)):
            return False
        exprs.append(e)
    try:
        return all(sympy.simplify(exprs[0] - other) == 0 for other in exprs[1:])
    except Exception:   # simplify can fail on anything unusual; the points decide then
        return False


def _all_exprs(side: Side):
    yield side.expr
    for piece in side.children.values():
        yield piece.expr


def _names(sides, domain: Domain, values: dict | None = None, known=()) -> tuple[set[str], set[str]]:
    """(free scalar names, free index letters) of some sides. A scalar name is one letter or a
    Greek name, possibly subscripted by a name (η_min, β_1): the clauses may leave it out and it
    gets the default domain. An index letter is a subscript of a declared array (x_i, s_{ij})
    that no sum, reduction or clause binds."""
    arrays = {n for n, k, _ in domain.draws
              if k.endswith("-array") or (k == "set" and (values is None or isinstance(values.get(n), np.ndarray)))}
    declared = domain.names() | set(domain.ranges) | set(known)
    scalars, letters, bound = set(), set(), set()
    for side in sides:
        for kind, pieces in side.holes.values():
            if kind == "reduce":
                bound |= set(re.findall(r"[a-z]", pieces[1].split("=")[0]))
            elif kind == "select":
                bound.add(pieces[0])
        for expr in _all_exprs(side):
            bound |= {str(limit[0]) for a in expr.atoms(sympy.Sum, sympy.Product) for limit in a.args[1:]}
            names = [a.name for a in expr.free_symbols] + [f.func.__name__ for f in expr.atoms(sympy.core.function.AppliedUndef)]
            for name in names:
                m = re.fullmatch(r"(.+?)_\{(sb[A-Z]+)\}", name)
                base = normal_name(m.group(1) if m else name)
                if m:
                    raw = side.raw_subs[m.group(2)].strip()
                    full = f"{base}_{normal_name(raw)}"
                    if full in declared:
                        continue
                    if base in arrays or (base == "delta" and len(raw) == 2):
                        for piece in side.subs[m.group(2)]:
                            letters |= set(piece) if re.fullmatch(r"[a-z]{2,3}", piece) and base != "delta" or base == "delta" else (
                                {piece} if re.fullmatch(r"[a-z]", piece) else set())
                        continue
                    if not re.fullmatch(r"\\?[A-Za-z0-9]+", raw):
                        continue
                    name = full
                else:
                    name = base
                if ((len(base) == 1 or base in GREEK) and name not in CONSTANTS and base not in LIMIT_NAMES
                        and name not in FUNCTIONS and name not in ARRAY_FUNCTIONS and base not in declared):
                    scalars.add(name)
    return scalars - bound - letters - declared, (letters | set(domain.ranges)) - bound - domain.names()


def _run_points(result: PartResult, binding, domain: Domain, sides, relations, defs, conditions, formula):
    rng = np.random.default_rng(int(hashlib.sha256((formula.body + binding.text).encode()).hexdigest()[:8], 16))
    is_check = binding.kind == "check"
    checked = sides[max(domain.first - 1, 1 if is_check else 0):]
    scalars, _ = _names(checked, domain, known=defs)
    extra = {n: (IDENTITY_DOMAIN if not is_check else DEFAULT_DOMAIN) for n in sorted(scalars)}
    indices = None
    tolerances = [None] + [(_approx_tol(s.tex, domain) if r == "approx" else (domain.tol, domain.atol / domain.tol))
                           for s, r in zip(sides[1:], relations)]
    attempts = 0
    while result.points < POINTS:
        attempts += 1
        if attempts > POINTS * 50:
            raise BindingError(f"the conditions reject almost every point ({result.points} of {attempts} kept)")
        values = domain.draw(rng, extra)
        if values is None:
            continue
        if indices is None:
            indices = sorted(_names(checked, domain, values, known=defs)[1])
        env = domain.formula_values(values, domain.base)
        env[RANGES] = {k: int(_eval(v, _namespace(values))) for k, v in domain.ranges.items()}
        env[OUTSIDE_ZERO] = domain.outside_zero
        env[EXPLICIT_BASE] = domain.explicit_base
        for name, side in defs.items():
            if name not in env:
                try:
                    env[name] = Evaluator(side, env, _base_of(side.tex)).value(side.expr)
                except (Unbound, Unreadable, IndexOut):
                    pass     # a definition this point cannot evaluate is simply not used
        combos = _index_combos(indices, checked, env, domain, values)
        combos = [c for c in combos if all(Evaluator(h, env, domain.base)._condition(c_, c) for h, c_ in conditions)]
        if not combos:
            continue
        rejected = False
        for combo in combos:
            if is_check:
                ns = _namespace(values)
                ns.update({k: v - domain.base for k, v in combo.items()})
                try:
                    code = _eval(binding.call, ns)
                except ValueError:
                    rejected = True
                    break
                except Exception as err:
                    raise BindingError(f"the call {binding.call} raised {type(err).__name__}: {err}") from err
            computed = []
            for i, side in enumerate(sides):
                if i + 1 < domain.first:
                    computed.append(None)
                    continue
                if i == 0 and is_check and relations[0] == "assign":
                    computed.append(None)          # `w ← …`: the left side is the new value's name
                    continue
                try:
                    computed.append(Evaluator(side, env, domain.base).value(side.expr, combo))
                except (Unbound, Unreadable) as err:
                    # a leading name (L_i, σ'(x), E[x̃]) is not evaluated; anything after it must be
                    if all(c is None for c in computed) and (is_check and i == 0 or not is_check and i < len(sides) - 2):
                        computed.append(None)
                        continue
                    raise type(err)(f"side {i + 1} `{side.tex}`: {err}") from err
            if is_check:
                reference = ("the code (" + binding.call + ")", code)
                if computed[0] is not None:
                    _judge(result, "eq", computed[0], code, (domain.tol, domain.atol / domain.tol), sides[0].tex,
                           reference[0], values, combo)
            else:
                reference = None
            for i in range(1, len(sides)):
                if computed[i - 1] is not None:
                    reference = (f"side {i} `{sides[i - 1].tex}`", computed[i - 1])
                if reference is None or computed[i] is None:
                    continue
                _judge(result, relations[i - 1], computed[i], reference[1], tolerances[i], f"side {i + 1} `{sides[i].tex}`",
                       reference[0], values, combo, flipped=True)
        if rejected:
            result.rejected += 1
            continue
        result.points += 1
    result.sides_checked = len(checked)
    if result.rejected > MAX_REJECTED * (result.points + result.rejected):
        raise BindingError(f"the code rejected {result.rejected} of {result.points + result.rejected} points "
                           "(ValueError): narrow the clauses to the code's domain")


def _judge(result, relation, value, reference, tolerance, what, against, values, combo, flipped=False):
    """Raise Mismatch unless `reference <relation> value` holds (for `=`, within the tolerance)."""
    a, b = (reference, value) if flipped else (value, reference)
    ok, diff = _compare(relation, a, b, tolerance)
    result.worst = max(result.worst, diff)
    if not ok:
        shown = ", ".join(f"{k} = {_show(v)}" for k, v in {**values, **combo}.items())
        symbol = {"eq": "=", "assign": "←", "approx": "≈", "le": "≤", "lt": "<", "ge": "≥", "gt": ">"}[relation]
        raise Mismatch(f"{what} = {_show(value)} but {against} = {_show(reference)}: `{symbol}` fails at {shown} "
                       f"(relative difference {diff:.2e}, tolerance {tolerance[0]:.0e})")


def _index_combos(indices, sides, env, domain: Domain, values):
    combos = [{}]
    ns = _namespace(values)
    for var in indices:
        if var in domain.ranges:
            span = range(domain.base, domain.base + int(_eval(domain.ranges[var], ns)))
        else:
            span = None
            for side in sides:
                try:
                    span = Evaluator(side, env, domain.base).index_range(var, side.expr)
                    break
                except Unbound:
                    continue
            if span is None:
                raise Unbound(f"the range of the index {var}: it indexes no declared array (add `{var} runs over <n>`)")
        combos = [{**c, var: v} for c in combos for v in span]
    return combos


def _compare(relation, a, b, tolerance) -> tuple[bool, float]:
    """(holds, relative difference) for `a <relation> b`, a and b numbers or arrays; the
    difference is taken relative to max(|a|, |b|, floor)."""
    tol, floor = tolerance
    fa, fb = _floats(a), _floats(b)
    if fa.shape != fb.shape:
        if fa.size == 1 or fb.size == 1:
            fa, fb = np.broadcast_arrays(fa.reshape(()) if fa.size == 1 else fa, fb.reshape(()) if fb.size == 1 else fb)
        else:
            return False, math.inf
    scale = np.maximum(np.maximum(np.abs(fa), np.abs(fb)), floor)
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isfinite(fa) & np.isfinite(fb), np.abs(fa - fb) / scale, np.where(fa == fb, 0.0, np.inf))
    worst = float(np.max(diff)) if diff.size else 0.0
    if relation in ("eq", "approx", "assign"):
        return worst <= tol, worst
    slack = tol * scale
    holds = {"le": fa <= fb + slack, "lt": fa < fb + slack, "ge": fa >= fb - slack, "gt": fa > fb - slack}[relation]
    return bool(np.all(holds)), 0.0


def _approx_tol(tex: str, domain: Domain) -> tuple[float, float]:
    """`\\approx` is judged by the digits the page shows (6.4 × 10^8 has two: within 5.5 %), or by
    an `approx = t` clause, relative to max(|a|, |b|, 1) (an approximation of a function)."""
    if domain.approx is not None:
        return domain.approx, 1.0
    digits = [len(n.replace(".", "").lstrip("0")) for n in re.findall(r"\d+\.\d+|\d+", tex)]
    if not digits or re.search(r"[A-Za-z]", re.sub(r"\\[A-Za-z]+", "", tex)):
        raise BindingError(f"`\\approx {tex}` is not a number shown to some digits: give the tolerance (`approx = 1e-3`)")
    if max(digits) == 0:
        return domain.tol, domain.atol / domain.tol
    return 0.5 * 10.0 ** (1 - min(max(digits), 9)) * 1.1, FLOOR


def _show(v) -> str:
    if isinstance(v, np.ndarray):
        return np.array2string(_floats(v), precision=6, threshold=12)
    if isinstance(v, (float, mpmath.mpf)):
        return f"{float(v):.9g}"
    return str(v)


# ----------------------------------------------------------------------------------------------
# The whole site, cached by content
# ----------------------------------------------------------------------------------------------

def _code_hash() -> str:
    h = hashlib.sha256()
    for path in sorted((P.ROOT / "snippets").glob("*.py")) + [Path(__file__)]:
        h.update(path.read_bytes())
    return h.hexdigest()


def check_all(formulas: list[Formula], use_cache: bool = True) -> list[FormulaResult]:
    """Check formulas; results are cached in .cache/ by the formula's text, for one version of the
    code and of this file (any change to either starts the cache afresh)."""
    code = _code_hash()
    cache = {}
    if use_cache and CACHE.exists():
        try:
            stored = json.loads(CACHE.read_text(encoding="utf-8"))
            cache = stored["results"] if stored.get("code") == code else {}
        except (ValueError, KeyError, TypeError):
            cache = {}
    out, fresh = [], {}
    for f in formulas:
        # the zh and en pages carry the same formulas and bindings: each is checked once
        key = hashlib.sha256(f.tex.encode("utf-8")).hexdigest()
        if key not in fresh:
            fresh[key] = cache[key] if key in cache else _result_to_json(check_formula(f))
        out.append(_result_from_json(fresh[key], f))
    if use_cache:
        CACHE.parent.mkdir(exist_ok=True)
        temporary = CACHE.with_suffix(f".{os.getpid()}.tmp")    # parallel test workers share the file
        temporary.write_text(json.dumps({"code": code, "results": {**cache, **fresh}}, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, CACHE)
    return out


def _result_to_json(r: FormulaResult) -> dict:
    return {"status": r.status, "calls": r.calls, "parts": [vars(p) for p in r.parts]}


def _result_from_json(data: dict, f: Formula) -> FormulaResult:
    return FormulaResult(f.where, f.page, f.line, f.key, data["status"], [PartResult(**p) for p in data["parts"]], data["calls"])


def coverage(results: list[FormulaResult]) -> dict[str, dict[str, int]]:
    """{page: {"code": n, "identity": n, "unchecked": n, "failed": n, "key": n, "key_checked": n}}."""
    table: dict[str, dict[str, int]] = {}
    for r in results:
        row = table.setdefault(r.page, {"code": 0, "identity": 0, "unchecked": 0, "failed": 0, "key": 0, "key_checked": 0})
        row[r.status] += 1
        if r.key:
            row["key"] += 1
            row["key_checked"] += r.status in ("code", "identity")
    return table


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="Check every display formula against its binding.")
    parser.add_argument("pages", nargs="*", help="pages such as en/activations.md (default: all)")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every part")
    args = parser.parse_args(argv)
    formulas = [f for f in site_formulas() if not args.pages or f.page in args.pages]
    results = check_all(formulas, use_cache=not args.no_cache)
    for r in results:
        if args.verbose:
            for p in r.parts:
                print(f"{r.where} [{p.number}] {p.kind:10} {'ok ' if p.ok else 'FAIL'} pts={p.points} rej={p.rejected} "
                      f"worst={p.worst:.1e}{' proven' if p.proven else ''} {p.message[:200]}")
        for failure in r.failures():
            print("FAIL", failure)
    table = coverage(results)
    for page, row in table.items():
        print(f"{page:32} code {row['code']:3}  identity {row['identity']:3}  unchecked {row['unchecked']:3}  "
              f"failed {row['failed']:3}  key {row['key_checked']}/{row['key']}")
    return 1 if any(not r.ok for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
