"""Figures of the Initialization page, computed with snippets.initialization."""

import numpy as np

from snippets import initialization as init
from tools.figures._style import figure

SCHEMES = [
    ("0.01 · randn", init.small_random, "#fb8c00"),
    ("Xavier (normal)", init.xavier_normal, "#3949ab"),
    ("LeCun (normal)", init.lecun_normal, "#8e24aa"),
    ("He (normal)", init.he_normal, "#e53935"),
]


def depth():
    """Standard deviation of the activations after each of 50 layers (width 256), per scheme,
    with tanh and with ReLU."""
    fig, axes = figure(1, 2, width=10.5, height=4)
    # Each panel zooms on the schemes that survive; 0.01·randn leaves through the bottom.
    for ax, activation, ylim in zip(axes, ("tanh", "relu"), ((1e-3, 3), (1e-9, 10))):
        for label, scheme, color in SCHEMES:
            stds = init.activation_stds(scheme, activation, np.random.default_rng(0), batch_size=128)
            ax.semilogy(np.arange(1, 51), stds, color=color, label=label,
                        ls="--" if scheme is init.lecun_normal else "-")
        ax.set_title(f"{activation}, 50 layers of width 256", fontsize=10)
        ax.set_xlabel("layer")
        ax.set_ylim(*ylim)
    axes[0].set_ylabel("std of activations")
    axes[0].legend(fontsize=9, loc="lower left")
    return fig


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 3)), rng.standard_normal((16, 1))


def _history(params, activation, n_steps, lr):
    x, y = _data()
    history = [params]
    for _ in range(n_steps):
        params = init.train_two_layer(params, x, y, activation, lr=lr, n_steps=1)
        history.append(params)
    return history


def symmetry():
    """Outgoing weight W2[j] of each of 4 hidden units during training: identical start
    (all units equal) versus a small random start."""
    rng = np.random.default_rng(1)
    same = {"W1": np.full((3, 4), 0.3), "b1": np.zeros(4), "W2": np.full((4, 1), 0.3),
            "b2": np.zeros(1)}
    random = {"W1": 0.3 * rng.standard_normal((3, 4)), "b1": np.zeros(4),
              "W2": 0.3 * rng.standard_normal((4, 1)), "b2": np.zeros(1)}
    fig, axes = figure(1, 2, width=10, height=3.6, sharey=True)
    colors = ["#3949ab", "#e53935", "#43a047", "#fb8c00"]
    for ax, (title, params) in zip(axes, (("identical units", same), ("random units", random))):
        history = _history(params, "tanh", 200, lr=0.2)
        w2 = np.array([p["W2"][:, 0] for p in history])
        for j in range(4):
            ax.plot(w2[:, j], color=colors[j], lw=2.5 if j == 0 else 1.6,
                    ls=["-", "--", "-.", ":"][j], label=f"unit {j + 1}")
        ax.set_title(f"tanh net 3-4-1, {title}", fontsize=10)
        ax.set_xlabel("gradient-descent step")
    axes[0].set_ylabel("outgoing weight W2[j]")
    axes[1].legend(fontsize=9)
    return fig


def zero_init():
    """All-zero start: the norm of each parameter during training, tanh versus sigmoid."""
    zeros = {"W1": np.zeros((3, 4)), "b1": np.zeros(4), "W2": np.zeros((4, 1)), "b2": np.zeros(1)}
    fig, axes = figure(1, 2, width=10, height=3.6, sharey=True)
    styles = {"W1": ("#3949ab", "-"), "b1": ("#43a047", "--"), "W2": ("#e53935", "-"),
              "b2": ("#fb8c00", ":")}
    for ax, activation in zip(axes, ("tanh", "sigmoid")):
        history = _history(zeros, activation, 100, lr=0.5)
        for name, (color, ls) in styles.items():
            norms = [np.linalg.norm(p[name]) for p in history]
            ax.plot(norms, color=color, ls=ls, label=f"‖{name}‖")
        ax.set_title(f"{activation}, all weights and biases 0", fontsize=10)
        ax.set_xlabel("gradient-descent step")
    axes[0].set_ylabel("norm")
    for ax in axes:
        ax.legend(fontsize=9, loc="upper left")
    return fig


FIGURES = {
    "initialization-symmetry.svg": symmetry,
    "initialization-zero.svg": zero_init,
    "initialization-depth.svg": depth,
}
