"""Figures and the steps-to-tolerance table of the Optimizers page, computed with
snippets.optimizers. The learning rates are the best ones on the grid 10^(k/2), 1e-4 … 10, found
once by a grid search (about 40 s, not repeated here): they are hard-coded as the exponents k."""

from functools import lru_cache, partial

import numpy as np

from snippets import optimizers as opt
from tools.figures._style import figure

MAKERS = {
    "SGD": lambda lr: opt.SGD(lr),
    "Momentum": lambda lr: opt.SGD(lr, momentum=0.9),
    "Nesterov": lambda lr: opt.SGD(lr, momentum=0.9, nesterov=True),
    "AdaGrad": lambda lr: opt.AdaGrad(lr),
    "RMSProp": lambda lr: opt.RMSProp(lr),
    "Adam": lambda lr: opt.Adam(lr),
}
COLORS = dict(zip(MAKERS, ["#3949ab", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b"]))

# name: (function, start, minimiser, number of steps, axis limits for the trajectory plots)
PROBLEMS = {
    "quadratic": (opt.ill_conditioned_quadratic, (-3.0, 1.0), (0.0, 0.0), 5000,
                  ((-3.6, 1.2), (-1.4, 1.4))),
    "rotated": (partial(opt.ill_conditioned_quadratic, angle=np.pi / 4), (-3.0, 1.0), (0.0, 0.0),
                5000, ((-3.6, 1.2), (-1.4, 1.4))),
    "rosenbrock": (opt.rosenbrock, (-1.2, 1.0), (1.0, 1.0), 20000, ((-1.6, 1.6), (-0.6, 1.8))),
}
TOL = 1e-3

# Best learning rate 10^(k/2) for each optimizer and problem: (k for "first reaches the
# tolerance", k for "reaches it and stays"), μ = 0.9, α = 0.99, betas = (0.9, 0.999).
BEST_K = {
    "SGD": {"quadratic": (-4, -4), "rotated": (-4, -4), "rosenbrock": (-6, -6)},
    "Momentum": {"quadratic": (-5, -3), "rotated": (-5, -4), "rosenbrock": (-5, -5)},
    "Nesterov": {"quadratic": (-4, -4), "rotated": (-4, -4), "rosenbrock": (-6, -6)},
    "AdaGrad": {"quadratic": (1, 1), "rotated": (1, 1), "rosenbrock": (0, 0)},
    "RMSProp": {"quadratic": (2, -6), "rotated": (-2, -6), "rosenbrock": (-6, -6)},
    "Adam": {"quadratic": (-1, -2), "rotated": (1, -1), "rosenbrock": (-1, -6)},
}


def lr_of(k):
    return 10 ** (k / 2)


@lru_cache(maxsize=None)
def run(name, problem, k):
    """The trajectory of one optimizer at η = 10^(k/2) (cached: the table and figures share it)."""
    f, x0, _, n_steps, _ = PROBLEMS[problem]
    return opt.run_optimizer(MAKERS[name](lr_of(k)), f, np.array(x0), n_steps)


def steps(name, problem, stay, k=None):
    """(steps to tolerance, η) at η = 10^(k/2); by default the best k of BEST_K."""
    k = BEST_K[name][problem][1 if stay else 0] if k is None else k
    target = np.array(PROBLEMS[problem][2])
    return opt.steps_to_tolerance(run(name, problem, k), target, TOL, stay=stay), lr_of(k)


def steps_table():
    """Markdown: steps until ‖x_k − x*‖ ≤ 1e-3, first time / for good, each at its best η
    (the rates on a second, smaller line of each cell)."""
    def cell(name, problem):
        (first, lr_first), (stays, lr_stays) = (steps(name, problem, stay) for stay in (False, True))
        counts = " / ".join("—" if k is None else str(k) for k in (first, stays))
        return f"{counts}<br><small>η\u00a0=\u00a0{lr_first:.2g} / {lr_stays:.2g}</small>"

    lines = ["| | κ = 100, 0° | κ = 100, 45° | Rosenbrock |", "|---|---|---|---|"]
    for name in MAKERS:
        lines.append(f"| {name} | " + " | ".join(cell(name, p) for p in PROBLEMS) + " |")
    return "\n".join(lines) + "\n"


def _thin(path, first=40, total=400):
    """At most ~total points of a long path for plotting (every early step, then evenly spaced)."""
    n = len(path)
    idx = np.unique(np.concatenate([np.arange(min(first, n)),
                                    np.linspace(0, n - 1, min(total, n)).astype(int)]))
    return path[idx]


def _contours(ax, problem):
    f, _, target, _, (xlim, ylim) = PROBLEMS[problem]
    xs, ys = np.linspace(*xlim, 200), np.linspace(*ylim, 160)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    values = f(grid)[0]
    if problem == "rosenbrock":
        levels = np.logspace(-1, 3, 13)
    else:
        levels = np.linspace(0.5, 60, 14) ** 2 / 60
    ax.contour(xs, ys, values, levels=levels, colors="#9e9e9e", linewidths=0.6)
    ax.plot(*target, marker="*", color="black", ms=10, zorder=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def _trajectories(problem):
    fig, axes = figure(2, 3, width=10.5, height=6.2, sharex=True, sharey=True)
    for ax, name in zip(axes.ravel(), MAKERS):
        _contours(ax, problem)
        k = BEST_K[name][problem][1]
        path = run(name, problem, k)
        thin = _thin(path)
        ax.plot(thin[:, 0], thin[:, 1], color=COLORS[name], lw=1.3)
        ax.plot(path[:40, 0], path[:40, 1], "o", color=COLORS[name], ms=2.5)
        n, _ = steps(name, problem, stay=True)
        ax.set_title(f"{name}, η = {lr_of(k):.2g}: {n} steps", fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    return fig


def quadratic():
    return _trajectories("quadratic")


def rotated():
    return _trajectories("rotated")


def rosenbrock():
    return _trajectories("rosenbrock")


def distances():
    """‖x_k − x*‖ against k for every optimizer (at its "stays" rate) on the three problems."""
    fig, axes = figure(1, 3, width=11, height=3.8)
    titles = {"quadratic": "κ = 100, 0°", "rotated": "κ = 100, 45°", "rosenbrock": "Rosenbrock"}
    for ax, problem in zip(axes, PROBLEMS):
        target = np.array(PROBLEMS[problem][2])
        for name in MAKERS:
            path = run(name, problem, BEST_K[name][problem][1])
            d = np.linalg.norm(path - target, axis=1)
            k = np.unique(np.geomspace(1, len(d), 600).astype(int)) - 1
            ax.loglog(k + 1, np.maximum(d[k], 1e-17), color=COLORS[name], lw=1.4, label=name)
        ax.axhline(TOL, color="black", ls=":", lw=1)
        ax.set_title(titles[problem], fontsize=10)
        ax.set_xlabel("step k + 1")
        ax.set_ylim(1e-17, 1e2)
    axes[0].set_ylabel("‖x_k − x*‖")
    axes[0].legend(fontsize=8, loc="lower left")
    return fig


def ewa_figure():
    """A noisy series, its EWA without and with bias correction, for two β."""
    rng = np.random.default_rng(0)
    t = np.arange(1, 101)
    y = 10 + 3 * np.sin(t / 12) + rng.normal(0, 1.5, t.size)
    fig, ax = figure(width=8, height=3.8)
    ax.plot(t, y, ".", color="#9e9e9e", ms=4, label="values Y_t")
    for beta, color in ((0.9, "#3949ab"), (0.98, "#e53935")):
        ax.plot(t, opt.ewa(y, beta), color=color, ls="--", lw=1.5, label=f"β = {beta}, S_t")
        ax.plot(t, opt.ewa(y, beta, bias_correction=True), color=color, lw=1.8,
                label=f"β = {beta}, S_t / (1 − β^t)")
    ax.set_xlabel("t")
    ax.legend(fontsize=8, ncol=2, loc="lower right")
    return fig


def sgd_noise():
    """Single-example SGD on least squares: with a constant rate the error hovers, with a
    decaying one it keeps falling."""
    rng = np.random.default_rng(0)
    m = 200
    x = rng.standard_normal(m)
    y = 2 * x + rng.standard_normal(m)
    w_star = (x @ y) / (x @ x)
    fig, ax = figure(width=8, height=3.6)
    for label, schedule, color in (("constant η = 0.05", lambda t: 0.05, "#e53935"),
                                   ("decaying η = 0.05 / (1 + t/m)", lambda t: 0.05 / (1 + t / m),
                                    "#3949ab")):
        sgd, w, t, errors = opt.SGD(lr=0.05), np.array([0.0]), 0, []
        order = np.random.default_rng(1)
        for _ in range(50):
            for idx in opt.minibatches(m, 1, order):
                sgd.lr = schedule(t)
                w = sgd.step(w, np.array([np.mean((w[0] * x[idx] - y[idx]) * x[idx])]))
                errors.append(abs(w[0] - w_star))
                t += 1
        per_epoch = np.array(errors).reshape(50, m)
        epochs = np.arange(1, 51)
        low, high = np.quantile(per_epoch, [0.1, 0.9], axis=1)
        ax.fill_between(epochs, low, high, color=color, alpha=0.15, lw=0)
        ax.semilogy(epochs, np.median(per_epoch, axis=1), color=color, lw=2, label=label)
    ax.set_xlabel("epoch (m = 200 updates with B = 1); band: 10–90 % of the epoch's steps")
    ax.set_ylabel("|w − w*|")
    ax.legend(fontsize=9)
    return fig


def saddle_figure():
    """Gradient descent on x² − y² from just off the stable axis: a plateau, then escape."""
    fig, (left, right) = figure(1, 2, width=10, height=3.8)
    xs = ys = np.linspace(-1.2, 1.2, 241)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    left.contour(xs, ys, opt.saddle(grid)[0], levels=np.linspace(-1.4, 1.4, 15), colors="#9e9e9e",
                 linewidths=0.6)
    for y0, color in ((0.0, "#3949ab"), (1e-6, "#e53935"), (1e-2, "#43a047")):
        path = opt.run_optimizer(opt.SGD(lr=0.1), opt.saddle, np.array([1.0, y0]), 80)
        label = "y₀ = 0" if y0 == 0 else f"y₀ = {y0:g}"
        inside = np.all(np.abs(path) <= 1.2, axis=1)
        left.plot(path[inside, 0], path[inside, 1], marker="o", ms=2.5, lw=1, color=color, label=label)
        right.plot(opt.saddle(path)[0], color=color, label=label)
    left.plot(0, 0, marker="x", color="black", ms=8)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title("f = x² − y², η = 0.1", fontsize=10)
    right.set_xlabel("step")
    right.set_ylabel("f(x, y)")
    right.set_ylim(-3, 1.1)
    right.legend(fontsize=9)
    return fig


def nesterov_sign():
    """|θ| on the κ = 100 quadratic: heavy ball, Nesterov, and the seeds' wrong look-ahead."""
    f, x0 = opt.ill_conditioned_quadratic, np.array([-3.0, 1.0])
    runs = [("momentum (heavy ball)", opt.SGD(0.01, momentum=0.9), "#e53935"),
            ("Nesterov, look-ahead θ − μm", opt.NesterovLookahead(0.01, momentum=0.9), "#43a047"),
            ("seeds' look-ahead θ + μm", opt.SeedNesterov(0.01, momentum=0.9), "#8e24aa")]
    fig, ax = figure(width=8, height=3.6)
    for label, o, color in runs:
        path = opt.run_optimizer(o, f, x0, 300)
        ax.semilogy(np.linalg.norm(path, axis=1), color=color, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("‖θ‖")
    ax.set_ylim(1e-12, 1e12)
    ax.set_title("f = (x² + 100 y²)/2, η = 0.01, μ = 0.9", fontsize=10)
    ax.legend(fontsize=9)
    return fig


def adaptive_steps():
    """Step size under a constant gradient c, for c = 0.01 and c = 100: AdaGrad's shrinks like
    η/√t, RMSProp's starts at 10η and settles at η, Adam's is η from the first step."""
    fig, ax = figure(width=8, height=3.6)
    for name, make, color in (("AdaGrad", lambda: opt.AdaGrad(lr=0.01), "#fb8c00"),
                              ("RMSProp", lambda: opt.RMSProp(lr=0.01), "#8e24aa"),
                              ("Adam", lambda: opt.Adam(lr=0.01), "#00897b")):
        for c, style in ((0.01, "-"), (100.0, (0, (2, 3)))):
            o, theta, sizes = make(), np.array([0.0]), []
            for _ in range(500):
                new = o.step(theta, np.array([c]))
                sizes.append(abs(float(new[0] - theta[0])))
                theta = new
            ax.loglog(np.arange(1, 501), sizes, color=color, ls=style, lw=2 if style == "-" else 2.5,
                      label=f"{name}, g = {c:g}")
    ax.axhline(0.01, color="black", ls=":", lw=1)
    ax.set_xlabel("step t")
    ax.set_ylabel("|Δθ| (η = 0.01)")
    ax.legend(fontsize=8, ncol=3, loc="lower left")
    return fig


def schedules():
    fig, ax = figure(width=8, height=3.4)
    t = np.arange(0, 100)
    ax.plot(t, [opt.step_lr(0.1, int(e), step_size=30) for e in t], label="step (γ = 0.1 every 30)")
    ax.plot(t, [opt.cosine_lr(0.1, int(e), t_max=99) for e in t], label="cosine")
    ax.plot(t, [opt.warmup_lr(0.1, int(e), warmup_steps=10) * (1 if e < 10 else
                (1 + np.cos(np.pi * (e - 10) / 89)) / 2) for e in t], label="warm-up then cosine")
    ax.set_xlabel("epoch / step")
    ax.set_ylabel("η")
    ax.legend(fontsize=9)
    return fig


FIGURES = {
    "optimizers-sgd-noise.svg": sgd_noise,
    "optimizers-saddle.svg": saddle_figure,
    "optimizers-ewa.svg": ewa_figure,
    "optimizers-nesterov-sign.svg": nesterov_sign,
    "optimizers-adaptive-steps.svg": adaptive_steps,
    "optimizers-schedules.svg": schedules,
    "optimizers-quadratic.svg": quadratic,
    "optimizers-rotated.svg": rotated,
    "optimizers-rosenbrock.svg": rosenbrock,
    "optimizers-distances.svg": distances,
}
TABLES = {"optimizers-steps.md": steps_table}
