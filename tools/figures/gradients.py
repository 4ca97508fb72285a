"""Figures of the Gradients page, computed with snippets.gradients: products of per-layer
factors against the float16 range, per-layer gradient norms of deep networks (sigmoid, tanh,
ReLU, residual), and what float16 keeps of a gradient with and without loss scaling."""

import math

import numpy as np

from snippets.gradients import (FP16_MAX, FP16_SMALLEST_NORMAL, FP16_SMALLEST_SUBNORMAL,
                                chain_gradients, fp16_gradient, layer_gradient_norms,
                                sigmoid_chain)
from tools.figures._style import figure

DEPTH = 20


def chains(max_depth=50):
    """|∂y/∂x| of a chain of L layers whose local derivatives are all d, for a few d, and the
    exact derivative of a sigmoid chain, against the range of float16."""
    layers = np.arange(1, max_depth + 1)
    fig, ax = figure(width=7.5, height=4.2)
    for d in (1.5, 1.0, 0.5, 0.25):
        ax.semilogy(layers, chain_gradients([d] * max_depth)[::-1], label=f"d = {d:g}: d$^L$")
    ax.semilogy(layers, [sigmoid_chain(0.0, int(n))[1] for n in layers], ls="--", color="black",
                lw=1.5, label="sigmoid chain σ(σ(…σ(x))) at x = 0")
    for value, text in ((FP16_MAX, "float16 max 65504"),
                        (FP16_SMALLEST_NORMAL, "float16 smallest normal 2$^{-14}$"),
                        (FP16_SMALLEST_SUBNORMAL, "float16 smallest subnormal 2$^{-24}$")):
        ax.axhline(value, color="gray", ls=":", lw=1)
        ax.text(max_depth, value * 1.6, text, ha="right", va="bottom", color="dimgray", fontsize=8)
    ax.set_xlabel("number of layers L")
    ax.set_ylabel("|gradient at the input|")
    ax.set_xlim(0, max_depth + 1)
    ax.set_ylim(1e-31, 1e10)
    ax.legend(loc="lower left", fontsize=8.5)
    return fig


def layer_norms():
    """Left: per-layer ‖∂loss/∂Wˡ‖ of 20-layer MLPs at initialization (layer 1 is next to the
    input). Right: residual ReLU branches without normalization, unscaled vs scaled by 1/√depth."""
    fig, (left, right) = figure(1, 2, width=10.5, height=4.2)
    layers = np.arange(1, DEPTH + 1)
    for label, kwargs, marker in [
            ("sigmoid, Xavier", dict(activation="sigmoid"), "o"),
            ("tanh, Xavier", dict(activation="tanh"), "v"),
            ("ReLU, He", dict(activation="relu"), "s"),
            ("sigmoid + residual", dict(activation="sigmoid", residual=True), "^")]:
        left.semilogy(layers, layer_gradient_norms(depth=DEPTH, **kwargs), marker=marker, ms=4,
                      label=label)
    left.set_title(f"{DEPTH}-layer MLP, width 64, at initialization", fontsize=10)
    left.set_xlabel("layer (1 = next to the input)")
    left.set_ylabel("‖∂loss/∂W‖ (Frobenius)")
    left.set_xticks([1, 5, 10, 15, 20])
    left.legend(fontsize=8.5, loc="lower right")
    for label, kwargs, color, marker in [
            ("ReLU + residual, unscaled", dict(activation="relu", residual=True), "#e53935", "D"),
            ("ReLU + residual, branch × 1/√20",
             dict(activation="relu", residual=True, branch_scale=1 / math.sqrt(DEPTH)),
             "#43a047", "^"),
            ("ReLU, He (no residual)", dict(activation="relu"), "#3949ab", "s")]:
        right.semilogy(layers, layer_gradient_norms(depth=DEPTH, **kwargs), marker=marker, ms=4,
                       color=color, label=label)
    right.set_title("residual ReLU branches need scaling (or normalization)", fontsize=10)
    right.set_xlabel("layer (1 = next to the input)")
    right.set_xticks([1, 5, 10, 15, 20])
    right.legend(fontsize=8.5, loc="center right")
    return fig


def fp16_loss_scaling(per_decade=24, samples=64):
    """Worst relative error of a gradient after a round trip through float16 (per band of
    magnitudes), with and without loss scaling: 100% lost below the subnormals, coarse in the
    subnormal range, at most 2⁻¹¹ for normal numbers, and inf above 65504."""
    edges = np.logspace(-13, 6, 19 * per_decade + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    fig, ax = figure(width=7.5, height=4.0)
    for scale, label, color in [(1.0, "no scaling (S = 1)", "#3949ab"),
                                (2.0 ** 16, "loss scaling S = 2$^{16}$", "#e53935")]:
        worst = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            g = np.geomspace(lo, hi, samples, endpoint=False)
            stored = fp16_gradient(g, scale)
            worst.append(np.inf if np.isinf(stored).any() else np.max(np.abs(stored - g) / g))
        worst = np.array(worst)
        finite = np.isfinite(worst)
        ax.loglog(centres[finite], worst[finite], color=color, label=label)
        first = centres[~finite][0]
        ax.axvspan(first, edges[-1], color=color, alpha=0.08)
        ax.text(first * 1.15, 0.25, "overflow\n(inf)", color=color, fontsize=8, va="top")
    ax.axhline(2.0 ** -11, color="gray", ls=":", lw=1, label="2$^{-11}$: normal float16")
    ax.set_xlabel("true gradient g")
    ax.set_ylabel("worst relative error after float16")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(1e-4, 3)
    ax.legend(loc="lower left", fontsize=9)
    return fig


FIGURES = {
    "gradients-chains.svg": chains,
    "gradients-layer-norms.svg": layer_norms,
    "gradients-fp16.svg": fp16_loss_scaling,
}
