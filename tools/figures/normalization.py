"""Figures of the Normalization page, computed with snippets.normalization."""

import numpy as np

from snippets import normalization as norm
from tools.figures._style import figure

def _bn_train(h):
    """Training-mode BatchNorm with γ = 1, β = 0 (the running statistics are not needed here)."""
    c = h.shape[1]
    return norm.batchnorm_forward(h, np.ones(c), np.zeros(c), np.zeros(c), np.ones(c))[0]


def deep_relu_stds(gain, batchnorm, layers=20, width=128, batch=256, seed=0):
    """Standard deviation of the pre-activations, layer by layer, of a deep ReLU MLP whose weights
    are drawn from N(0, gain / fan_in): gain 2 is He initialization, gain 1 halves the variance
    at every layer, with or without BatchNorm between the matmul and the ReLU."""
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(batch, width))
    stds = []
    for _ in range(layers):
        z = h @ rng.normal(0.0, np.sqrt(gain / width), size=(width, width))
        if batchnorm:
            z = _bn_train(z)
        stds.append(z.std())
        h = np.maximum(z, 0)
    return np.array(stds)


def deep_tanh_last_layer(batchnorm, layers=10, width=256, batch=512, weight_std=1.0, seed=0):
    """The activations of the last layer of a deep tanh MLP with large weights N(0, 1)."""
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(batch, width))
    for _ in range(layers):
        z = h @ rng.normal(0.0, weight_std, size=(width, width))
        if batchnorm:
            z = _bn_train(z)
        h = np.tanh(z)
    return h


def deep_net():
    fig, axes = figure(1, 2, width=9, height=3.8)
    ax = axes[0]
    layers = np.arange(1, 21)
    for gain, color in ((1.0, "#3949ab"), (2.0, "#43a047"), (3.0, "#e53935")):
        ax.plot(layers, deep_relu_stds(gain, False), ls="--", marker="o", ms=3, color=color,
                label=f"no BN, Var(W) = {gain:g}/n")
    for gain in (1.0, 2.0, 3.0):     # the three curves coincide: draw them all, label one
        ax.plot(layers, deep_relu_stds(gain, True), color="black", lw=1.5,
                label="with BN, each of the three" if gain == 1.0 else None)
    ax.set_yscale("log")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.set_xlabel("layer")
    ax.set_ylabel("std of pre-activations")
    ax.set_title("20-layer ReLU MLP", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1]
    bins = np.linspace(-1, 1, 41)
    ax.hist(deep_tanh_last_layer(False).ravel(), bins=bins, density=True, alpha=0.55,
            color="#e53935", label="no BN: saturated at ±1")
    ax.hist(deep_tanh_last_layer(True).ravel(), bins=bins, density=True, alpha=0.55,
            color="#3949ab", label="with BN")
    ax.set_xticks([-1, -0.5, 0, 0.5, 1])
    ax.set_xlabel("tanh activation, layer 10")
    ax.set_ylabel("density")
    ax.set_title("10-layer tanh MLP, weights N(0, 1)", fontsize=11)
    ax.legend(fontsize=9, loc="upper center")
    return fig


def running_statistics(momentum, steps=300, m=4, channels=500, mean=2.0, std=2.0, seed=0):
    """Running estimates for `channels` independent features with mean 2 and variance 4, each
    seen through batches of m = 4 values; also the biased alternative PyTorch does not use."""
    rng = np.random.default_rng(seed)
    ones, zeros = np.ones(channels), np.zeros(channels)
    rm, rv, biased = zeros, ones, ones
    means, variances, biased_vars = [], [], []
    for _ in range(steps):
        x = rng.normal(mean, std, size=(m, channels))
        _, _, rm, rv = norm.batchnorm_forward(x, ones, zeros, rm, rv, momentum=momentum)
        biased = (1 - momentum) * biased + momentum * x.var(axis=0)
        means.append(rm)
        variances.append(rv)
        biased_vars.append(biased)
    return np.array(means), np.array(variances), np.array(biased_vars)


def running_stats():
    fast, slow = running_statistics(0.1), running_statistics(0.01)
    steps = np.arange(1, len(fast[0]) + 1)
    fig, axes = figure(1, 2, width=9, height=3.8)
    for ax, k, truth in ((axes[0], 0, 2.0), (axes[1], 1, 4.0)):
        ax.plot(steps, fast[k][:, 0], color="#9fa8da", lw=1, label="one channel, momentum 0.1")
        ax.plot(steps, fast[k].mean(axis=1), color="#3949ab", label="average, momentum 0.1")
        ax.plot(steps, slow[k].mean(axis=1), color="#43a047", label="average, momentum 0.01")
        ax.axhline(truth, color="black", ls=":", lw=1)
        ax.set_xlabel("training step (batches of m = 4)")
    axes[1].plot(steps, fast[2].mean(axis=1), color="#e53935",
                 label="biased variance, average, momentum 0.1")
    axes[1].axhline(3.0, color="#e53935", ls=":", lw=1)
    axes[0].set_title("running mean (true mean 2)", fontsize=11)
    axes[1].set_title("running variance (true 4; biased: (m−1)/m · 4 = 3)", fontsize=11)
    axes[0].legend(fontsize=8, loc="lower right")
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


BATCH_SIZES = np.array([2, 4, 8, 16, 32, 64, 128, 256])


def batch_noise_spread(sample=1.0, trials=400, seed=0):
    """Percentiles (5, 25, 50, 75, 95) of the training-mode BN output of one fixed sample, over
    `trials` random batches of other samples drawn from N(0, 1), for each batch size."""
    rng = np.random.default_rng(seed)
    spread = []
    for m in BATCH_SIZES:
        outs = [_bn_train(np.vstack([[[sample]], rng.normal(size=(m - 1, 1))]))[0, 0]
                for _ in range(trials)]
        spread.append(np.percentile(outs, [5, 25, 50, 75, 95]))
    return np.array(spread)


def batch_noise():
    """Training mode depends on the batch; evaluation mode gives one value whatever the batch."""
    spread = batch_noise_spread()
    eval_out = norm.batchnorm_forward(np.array([[1.0]]), np.ones(1), np.zeros(1), np.zeros(1),
                                      np.ones(1), train=False)[0][0, 0]
    fig, ax = figure(width=7, height=3.6)
    ax.fill_between(BATCH_SIZES, spread[:, 0], spread[:, 4], color="#3949ab", alpha=0.15,
                    label="training mode, 5–95 %")
    ax.fill_between(BATCH_SIZES, spread[:, 1], spread[:, 3], color="#3949ab", alpha=0.3,
                    label="training mode, 25–75 %")
    ax.plot(BATCH_SIZES, spread[:, 2], color="#3949ab", marker="o", ms=4,
            label="training mode, median")
    ax.axhline(eval_out, color="#e53935", label="evaluation mode (running stats 0, 1)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(BATCH_SIZES, [str(s) for s in BATCH_SIZES])
    ax.set_xlabel("batch size m")
    ax.set_ylabel("BN output of the sample x = 1")
    ax.legend(fontsize=8, loc="lower right")
    return fig


FIGURES = {
    "normalization-deep-net.svg": deep_net,
    "normalization-running-stats.svg": running_stats,
    "normalization-batch-noise.svg": batch_noise,
}
