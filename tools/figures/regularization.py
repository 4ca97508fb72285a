"""Figures of the Regularization page, computed with snippets.regularization."""

import numpy as np

from snippets import regularization as reg
from tools.figures._style import figure

L1_COLOR, L2_COLOR, GRAY = "#3949ab", "#e53935", "#757575"
COEF_COLORS = ["#3949ab", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41",
               "#546e7a"]


def least_squares_problem(n=200, d=8, seed=0):
    """A small regression problem: 5 informative features of decreasing strength, 3 useless
    ones, mildly correlated columns. Loss l(w) = ||Xw - y||^2 / (2n)."""
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + 0.3 * rng.normal(size=(d, d)) / np.sqrt(d)
    X = rng.normal(size=(n, d)) @ mix
    w_true = np.array([3.0, -2.0, 1.5, 0.8, -0.5, 0.0, 0.0, 0.0])[:d]
    y = X @ w_true + 0.5 * rng.normal(size=n)
    return X, y


def lasso_path(X, y, lams, steps=500):
    """Proximal gradient (ISTA) on l(w) + lam ||w||_1 for each lam, warm-started from the
    previous solution."""
    n = len(y)
    lr = 1 / np.linalg.eigvalsh(X.T @ X / n).max()
    w, path = np.zeros(X.shape[1]), []
    for lam in lams:
        for _ in range(steps):
            w = reg.ista_step(w, X.T @ (X @ w - y) / n, lr, lam)
        path.append(w.copy())
    return np.array(path)


def ridge_path(X, y, lams, steps=500):
    """Gradient descent on l(w) + (lam/2) ||w||^2 (sgd_l2_step with the full-batch gradient)."""
    n = len(y)
    top = np.linalg.eigvalsh(X.T @ X / n).max()
    w, path = np.zeros(X.shape[1]), []
    for lam in lams:
        lr = 1 / (top + lam)
        for _ in range(steps):
            w = reg.sgd_l2_step(w, X.T @ (X @ w - y) / n, lr, lam)
        path.append(w.copy())
    return np.array(path)


PATH_LAMS = np.geomspace(1e2, 1e-3, 61)     # from strong to weak, so warm starts follow the path


def path():
    X, y = least_squares_problem()
    lasso, ridge = lasso_path(X, y, PATH_LAMS), ridge_path(X, y, PATH_LAMS)
    lam_max = reg.lasso_lambda_max(X, y)
    fig, axes = figure(1, 2, width=9, height=3.8, sharey=True)
    for ax, coefs, title in ((axes[0], lasso, "L1 (lasso): weights reach exactly 0"),
                             (axes[1], ridge, "L2 (ridge): weights shrink, never 0")):
        for j in range(coefs.shape[1]):
            ax.plot(PATH_LAMS, coefs[:, j], lw=1.6, color=COEF_COLORS[j % len(COEF_COLORS)])
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("λ (regularization strength)")
        ax.set_title(title, fontsize=11)
    axes[0].axvline(lam_max, color=GRAY, ls="--", lw=1)
    axes[0].annotate("λ_max = ‖Xᵀy‖∞ / n", (lam_max, 2.2), xytext=(4, 0),
                     textcoords="offset points", fontsize=10, color=GRAY)
    axes[0].set_ylabel("weight")
    return fig


def prox():
    w = np.linspace(-3, 3, 1201)
    t = 1.0
    fig, axes = figure(1, 2, width=9, height=3.6)
    ax = axes[0]
    pull = -reg.l1_penalty(w, t)[1]
    pull = np.where(np.abs(np.diff(pull, prepend=pull[0])) > 0.5, np.nan, pull)   # no vertical
    ax.plot(w, pull, color=L1_COLOR, label="L1: −λ sign(w)")
    ax.plot(w, -reg.l2_penalty(w, t)[1], color=L2_COLOR, label="L2: −λ w")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("w")
    ax.set_title("pull of the penalty on a weight (λ = 1)", fontsize=11)
    ax.legend(fontsize=9)
    ax = axes[1]
    ax.plot(w, w, color=GRAY, lw=1, ls=":", label="no penalty: w")
    ax.plot(w, reg.soft_threshold(w, t), color=L1_COLOR, label="L1 prox: soft_threshold(w, t)")
    ax.plot(w, w / (1 + t), color=L2_COLOR, label="L2 prox: w / (1 + t)")
    ax.axvspan(-t, t, color=L1_COLOR, alpha=0.08)
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("w before the step")
    ax.set_title("one proximal step (t = ηλ = 1): |w| ≤ t lands on 0", fontsize=11)
    ax.legend(fontsize=9, loc="upper left")
    return fig


# A 2-D quadratic loss l(w) = (w - w*)^T A (w - w*) / 2 for the constraint-geometry picture.
GEO_A = np.array([[1.0, 0.35], [0.35, 0.45]])
GEO_OPT = np.array([1.5, 1.2])
GEO_LAM = 0.8


def geometry_solutions(steps=5000):
    """The L1- and L2-penalized minimizers of the 2-D quadratic, by proximal / plain gradient
    descent with the snippets."""
    lr = 1 / np.linalg.eigvalsh(GEO_A).max()
    w1 = np.zeros(2)
    for _ in range(steps):
        w1 = reg.soft_threshold(w1 - lr * GEO_A @ (w1 - GEO_OPT), lr * GEO_LAM)
    w2 = np.zeros(2)
    for _ in range(steps):
        w2 = reg.sgd_l2_step(w2, GEO_A @ (w2 - GEO_OPT), lr / 2, GEO_LAM)
    return w1, w2


def geometry():
    w1, w2 = geometry_solutions()
    g = np.linspace(-2.2, 2.8, 401)
    W1, W2 = np.meshgrid(g, g)
    D1, D2 = W1 - GEO_OPT[0], W2 - GEO_OPT[1]
    loss = 0.5 * (GEO_A[0, 0] * D1 ** 2 + 2 * GEO_A[0, 1] * D1 * D2 + GEO_A[1, 1] * D2 ** 2)

    def loss_at(w):
        d = w - GEO_OPT
        return 0.5 * d @ GEO_A @ d

    fig, axes = figure(1, 2, width=9, height=4.4)
    theta = np.linspace(0, 2 * np.pi, 400)
    for ax, sol, name, color in ((axes[0], w1, "L1", L1_COLOR), (axes[1], w2, "L2", L2_COLOR)):
        level = loss_at(sol)
        ax.contour(W1, W2, loss, levels=sorted({level * f for f in (0.15, 0.45, 2.0, 3.5)}),
                   colors=GRAY, linewidths=0.7)
        ax.contour(W1, W2, loss, levels=[level], colors="black", linewidths=1.4)
        if name == "L1":
            r = np.abs(sol).sum()
            ball = np.array([[r, 0], [0, r], [-r, 0], [0, -r], [r, 0]])
            ax.fill(ball[:, 0], ball[:, 1], color=color, alpha=0.18)
            ax.plot(ball[:, 0], ball[:, 1], color=color)
            label = f"‖w‖₁ ≤ {r:.2f}"
        else:
            r = np.sqrt(np.sum(sol ** 2))
            ax.fill(r * np.cos(theta), r * np.sin(theta), color=color, alpha=0.18)
            ax.plot(r * np.cos(theta), r * np.sin(theta), color=color)
            label = f"‖w‖₂ ≤ {r:.2f}"
        ax.plot(*GEO_OPT, marker="x", color="black", ms=8, mew=2)
        ax.annotate("unregularized\nminimum", GEO_OPT, xytext=(6, 4), textcoords="offset points",
                    fontsize=9)
        ax.plot(*sol, marker="o", color=color, ms=8, zorder=5,
                label=f"solution ({sol[0]:.2f}, {sol[1]:.2f})")
        ax.legend(loc="lower left", fontsize=9)
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_aspect("equal")
        ax.set_xlim(-2.2, 2.8)
        ax.set_ylim(-2.2, 2.8)
        ax.set_xlabel("w₁")
        ax.set_ylabel("w₂")
        ax.set_title(f"{name} ball {label}", fontsize=11)
    return fig


DROPOUT_PS = np.linspace(0, 0.9, 19)


def dropout_simulation(n=200_000, seed=0):
    """Mean and variance of inverted dropout applied to n copies of x = 1, for each p."""
    rng = np.random.default_rng(seed)
    outs = [reg.dropout(np.ones(n), p, rng)[0] for p in DROPOUT_PS]
    return np.array([o.mean() for o in outs]), np.array([o.var() for o in outs])


def dropout_statistics():
    """The simulation against E = x and Var = p/(1 - p) x^2."""
    means, variances = dropout_simulation()
    fine = np.linspace(0, 0.9, 200)
    fig, axes = figure(1, 2, width=9, height=3.4)
    axes[0].plot(fine, np.ones_like(fine), color=GRAY, lw=1.5, label="theory: E = x = 1")
    axes[0].plot(DROPOUT_PS, means, "o", color=L1_COLOR, ms=5, label="simulated")
    axes[0].set_ylim(0, 1.5)
    axes[0].set_title("mean of x · mask", fontsize=11)
    axes[1].plot(fine, fine / (1 - fine), color=GRAY, lw=1.5, label="theory: p/(1−p) · x²")
    axes[1].plot(DROPOUT_PS, variances, "o", color=L2_COLOR, ms=5, label="simulated")
    axes[1].set_title("variance of x · mask", fontsize=11)
    for ax in axes:
        ax.set_xlabel("drop probability p")
        ax.legend(fontsize=9, loc="upper left")
    return fig


FIGURES = {
    "regularization-prox.svg": prox,
    "regularization-geometry.svg": geometry,
    "regularization-path.svg": path,
    "regularization-dropout.svg": dropout_statistics,
}
