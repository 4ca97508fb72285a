"""Figures of the Activations page, computed with snippets.activations."""

import numpy as np

from snippets import activations as act
from tools.figures._style import figure

X = np.linspace(-4, 4, 801)

# (title, function, derivative) for the small-multiple grids; Leaky ReLU uses α = 0.1 so the
# slope is visible at this scale.
PANELS = [
    ("sigmoid", act.sigmoid, act.sigmoid_grad),
    ("tanh", act.tanh, act.tanh_grad),
    ("ReLU", act.relu, act.relu_grad),
    ("Leaky ReLU (α=0.1)", lambda x: act.leaky_relu(x, 0.1), lambda x: act.leaky_relu_grad(x, 0.1)),
    ("ELU (α=1)", act.elu, act.elu_grad),
    ("SELU", act.selu, act.selu_grad),
    ("Swish / SiLU (β=1)", act.swish, act.swish_grad),
    ("GELU", act.gelu, act.gelu_grad),
    ("softplus", act.softplus, act.softplus_grad),
    ("binary step", act.binary_step, act.binary_step_grad),
    ("RReLU (eval)", lambda x: act.rrelu(x)[0], lambda x: act.rrelu(x)[1]),
    ("PReLU (a=0.25)", lambda x: act.prelu(x, 0.25),
     lambda x: act.prelu_backward(np.ones_like(x), x, 0.25)[0]),
    ("Mish", act.mish, act.mish_grad),
    ("ReLU6", act.relu6, act.relu6_grad),
    ("hard sigmoid", act.hard_sigmoid, act.hard_sigmoid_grad),
    ("hard swish", act.hard_swish, act.hard_swish_grad),
]


def _grid(pick, color):
    fig, axes = figure(4, 4, width=10, height=9, sharex=True)
    for ax, (title, f, df) in zip(axes.ravel(), PANELS):
        y = (f, df)[pick](X)
        # Break the line at jumps (step functions, derivative kinks) instead of drawing verticals.
        y = np.where(np.abs(np.diff(y, prepend=y[0])) > 0.2, np.nan, y)
        ax.plot(X, y, color=color)
        ax.axhline(0, color="black", lw=0.6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(title, fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("x")
    return fig


def functions():
    return _grid(0, "#3949ab")


def derivatives():
    return _grid(1, "#e53935")


def saturation():
    """sigmoid vs tanh vs ReLU derivatives on one axis: 0.25 vs 1 at 0, and the saturated tails."""
    fig, ax = figure(width=7, height=3.6)
    x = np.linspace(-6, 6, 1201)
    ax.plot(x, act.sigmoid_grad(x), label="σ'(x), max 0.25")
    ax.plot(x, act.tanh_grad(x), label="tanh'(x), max 1")
    relu_grad = act.relu_grad(x)
    ax.plot(x, np.where(np.abs(np.diff(relu_grad, prepend=0)) > 0.5, np.nan, relu_grad),
            label="ReLU'(x)")
    ax.axhline(0.25, color="gray", ls=":", lw=1)
    ax.set_xlabel("x")
    ax.legend(loc="upper left", fontsize=9)
    return fig


def selu_fixed_point(layers=30, width=256, batch=1024):
    """Mean and variance of activations through a deep SELU net with LeCun-normal weights,
    starting far from (0, 1): both are pulled to the fixed point within a few layers."""
    rng = np.random.default_rng(0)
    h = rng.normal(1.0, np.sqrt(3.0), size=(batch, width))
    means, variances = [h.mean()], [h.var()]
    for _ in range(layers):
        w = rng.normal(0.0, np.sqrt(1.0 / width), size=(width, width))
        h = act.selu(h @ w)
        means.append(h.mean())
        variances.append(h.var())
    fig, ax = figure(width=7, height=3.4)
    ax.plot(means, marker="o", ms=3, label="mean")
    ax.plot(variances, marker="s", ms=3, label="variance")
    ax.axhline(0, color="gray", ls=":", lw=1)
    ax.axhline(1, color="gray", ls=":", lw=1)
    ax.set_xlabel("layer")
    ax.legend()
    return fig


FIGURES = {
    "activations-functions.svg": functions,
    "activations-derivatives.svg": derivatives,
    "activations-saturation.svg": saturation,
    "activations-selu-fixed-point.svg": selu_fixed_point,
}
