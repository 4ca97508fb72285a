"""Figures and the speedup table of the Losses page, computed with snippets.losses."""

import platform
import time

import numpy as np

from snippets import losses as L
from tools.figures._style import figure


def _per_sample(loss, scores, y, **kwargs):
    """Loss value and d loss / d scores of each row on its own (the snippets average over N)."""
    values, grads = [], []
    for row, label in zip(scores, y):
        value, grad = loss(row[None, :], np.array([label]), **kwargs)
        values.append(float(value))
        grads.append(grad[0])
    return np.array(values), np.array(grads)


def _break_jumps(y, threshold=0.5):
    """NaN where the curve jumps, so that a step is not drawn as a vertical line."""
    y = np.asarray(y, dtype=float)
    return np.where(np.abs(np.diff(y, prepend=y[0])) > threshold, np.nan, y)


def margin_losses():
    """Two classes, label 0, scores (m, 0): each loss and its derivative as a function of the
    correct-class margin m = s_y - s_other."""
    m = np.linspace(-3, 3, 601)
    scores, y = np.stack([m, np.zeros_like(m)], axis=1), np.zeros(m.size, dtype=int)
    curves = [
        ("0-1", L.zero_one_loss, {}),
        ("hinge (SVM), Δ = 1", L.svm_loss, {}),
        ("squared hinge", L.squared_hinge_loss, {}),
        ("softmax CE = logistic", L.softmax_loss, {}),
    ]
    fig, (ax_loss, ax_grad) = figure(1, 2, width=10, height=3.8)
    for label, loss, kwargs in curves:
        values, grads = _per_sample(loss, scores, y, **kwargs)
        ax_loss.plot(m, _break_jumps(values), label=label)
        ax_grad.plot(m, grads[:, 0], label=label)      # d loss / d s_y = d loss / d m
    ax_loss.set_ylim(-0.2, 4.5)
    ax_grad.set_ylim(-4.5, 0.5)
    for ax, title in ((ax_loss, "loss"), (ax_grad, "d loss / d m")):
        ax.axvline(0, color="black", lw=0.6)
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(1, color="gray", ls=":", lw=1)
        ax.set_xlabel("margin m = s_y − s_other")
        ax.set_title(title, fontsize=10)
    ax_loss.legend(fontsize=9, loc="upper right")
    return fig


def regression_losses():
    """MSE, MAE and Huber (δ = 1 and δ = 2) as functions of the residual r, and their slopes."""
    r = np.linspace(-3, 3, 601)
    zero = np.zeros(1)

    def pointwise(loss, **kwargs):
        pairs = [loss(np.array([v]), zero, **kwargs) for v in r]
        return np.array([float(v) for v, _ in pairs]), np.array([g[0] for _, g in pairs])

    curves = [("MSE: r²", pointwise(L.mse_loss), "-"),
              ("MAE: |r|", pointwise(L.mae_loss), "-"),
              ("Huber, δ = 1", pointwise(L.huber_loss, delta=1.0), "-"),
              ("Huber, δ = 2", pointwise(L.huber_loss, delta=2.0), "--")]
    fig, (ax_loss, ax_grad) = figure(1, 2, width=10, height=3.8)
    for label, (values, grads), style in curves:
        ax_loss.plot(r, values, ls=style, label=label)
        ax_grad.plot(r, grads, ls=style, label=label)
    ax_loss.set_ylim(-0.2, 5)
    ax_grad.set_ylim(-3.5, 3.5)
    for ax, title in ((ax_loss, "loss ℓ(r)"), (ax_grad, "derivative ℓ'(r)")):
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        for edge in (-1, 1):
            ax.axvline(edge, color="gray", ls=":", lw=1)
        ax.set_xlabel("residual r = prediction − target")
        ax.set_title(title, fontsize=10)
    ax_loss.legend(fontsize=9, loc="upper center")
    return fig


def focal_modulation():
    """Focal loss (α off) against the probability of the true class, for several γ."""
    p_t = np.linspace(0.01, 0.99, 197)
    logits = np.log(p_t) - np.log1p(-p_t)           # σ(logit) = p_t, label 1
    fig, ax = figure(width=7, height=3.8)
    for gamma in (0.0, 0.5, 1.0, 2.0, 5.0):
        values = [float(L.focal_loss(np.array([s]), np.ones(1), gamma=gamma, alpha=None)[0])
                  for s in logits]
        ax.plot(p_t, values, label=f"γ = {gamma:g}" + (" (cross-entropy)" if gamma == 0 else ""))
    ax.axvspan(0.6, 1.0, color="#43a047", alpha=0.08)
    ax.text(0.8, 1.6, "well-classified\nexamples", ha="center", fontsize=9)
    ax.set_xlabel("probability of the true class p_t")
    ax.set_ylabel("loss")
    ax.set_ylim(0, 4.7)
    ax.legend(fontsize=9, loc="upper center")
    return fig


def scaled_scores():
    """A batch that every class already gets right, its scores multiplied by λ (i.e. weights λW):
    the SVM loss reaches 0 and stays there; the softmax loss keeps decreasing and never reaches 0."""
    rng = np.random.default_rng(0)
    n, c = 64, 5
    scores, y = rng.normal(size=(n, c)), rng.integers(0, c, size=n)
    scores[np.arange(n), y] = scores.max(axis=1) + rng.uniform(0.2, 1.0, size=n)   # all correct
    lam = np.linspace(0.0, 8.0, 321)
    svm = [float(L.svm_loss(k * scores, y)[0]) for k in lam]
    soft = [float(L.softmax_loss(k * scores, y)[0]) for k in lam]
    fig, ax = figure(width=7, height=3.6)
    ax.plot(lam, svm, label="SVM (hinge) loss")
    ax.plot(lam, soft, label="softmax cross-entropy")
    zero_from = lam[np.argmax(np.array(svm) == 0)]
    ax.axvline(zero_from, color="gray", ls=":", lw=1)
    ax.annotate("SVM loss = 0 from here on", (zero_from, 0.0), xytext=(zero_from + 0.4, 1.6),
                arrowprops={"arrowstyle": "->", "color": "gray"}, fontsize=9)
    ax.set_xlabel("scale λ of the weights (scores λs)")
    ax.set_ylabel("mean loss")
    ax.legend(fontsize=9)
    return fig


FIGURES = {
    "losses-margin.svg": margin_losses,
    "losses-regression.svg": regression_losses,
    "losses-focal.svg": focal_modulation,
    "losses-scaled-scores.svg": scaled_scores,
}


# --- the measured speedup of the vectorized losses over the double loops -------------------------

# (N, C, repeats): a CIFAR-10-sized batch of 10 classes, and a larger one with 100 classes.
SPEEDUP_SHAPES = ((500, 10, 7), (2000, 100, 3))


def _median_seconds(f, args, repeats):
    f(*args)                                          # warm-up (caches, lazy imports)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def speedup_table(shapes=SPEEDUP_SHAPES):
    """Markdown table: loop vs vectorized SVM and softmax loss (value and gradient), median times."""
    rng = np.random.default_rng(0)
    lines = ["| loss | N | C | loop (ms) | vectorized (ms) | speedup |",
             "|---|--:|--:|--:|--:|--:|"]
    for n, c, repeats in shapes:
        scores, y = rng.normal(size=(n, c)), rng.integers(0, c, size=n)
        for name, naive, fast in (("SVM (hinge)", L.svm_loss_naive, L.svm_loss),
                                  ("softmax cross-entropy", L.softmax_loss_naive, L.softmax_loss)):
            (loss_a, grad_a), (loss_b, grad_b) = naive(scores, y), fast(scores, y)
            if not (np.isclose(loss_a, loss_b, rtol=1e-12) and np.allclose(grad_a, grad_b, atol=1e-15)):
                raise AssertionError(f"{name}: loop and vectorized versions disagree at N={n}, C={c}")
            loop = _median_seconds(naive, (scores, y), repeats)
            vectorized = _median_seconds(fast, (scores, y), 5 * repeats)
            lines.append(f"| {name} | {n} | {c} | {loop * 1e3:.3g} | {vectorized * 1e3:.3g} "
                         f"| {loop / vectorized:.0f}× |")
    runs = " and ".join(f"{r} (N = {n})" for n, _, r in shapes)
    note = (f"Loss and gradient together; float64 scores from a seeded normal distribution; "
            f"median of {runs} loop runs and five times as many vectorized runs with "
            f"`time.perf_counter`, after one warm-up call; measured when the site was built "
            f"(Python {platform.python_version()}, NumPy {np.__version__}, {platform.machine()}).")
    return "\n".join(lines) + "\n\n" + note + "\n"


TABLES = {"losses-speedup.md": speedup_table}
