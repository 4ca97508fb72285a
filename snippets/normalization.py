"""Batch normalization and layer normalization, forward and backward (the Normalization page).

Shapes: x is (N, D) (statistics per feature) or (N, C, H, W) (statistics per channel, over the
N·H·W values of each channel; any (N, C, …) works the same way). gamma, beta and the running
statistics have shape (C,). Running statistics follow ``torch.nn.BatchNorm``: an exponential
moving average with weight ``momentum`` on the new batch, using the unbiased batch variance,
while the batch itself is normalized with the biased one. Nothing here modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from snippets._validation import as_flag, as_float_array, as_real


def _channel_param(value, name, c):
    value = as_float_array(value, name, ndim=1)
    if value.shape != (c,):
        raise ValueError(f"{name} must have shape ({c},), one value per channel of x, "
                         f"got {value.shape}")
    return value


def _per_channel(v, ndim):
    """Reshape a (C,) vector to broadcast against x of shape (N, C, …)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# --8<-- [start:batchnorm_forward]
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                      train=True):
    """Batch normalization. For each channel c, over its m = N·H·W values (m = N for (N, D)):

        training:   μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²          (biased, used to normalize)
        evaluation: μ = running_mean,  σ² = running_var
        x̂ = (x − μ) / √(σ² + ε),      out = γ x̂ + β

    Training also updates the running estimates (PyTorch's rule, unbiased variance):

        running_mean ← (1 − momentum) · running_mean + momentum · μ
        running_var  ← (1 − momentum) · running_var  + momentum · σ² · m / (m − 1)

    Returns (out, cache, new_running_mean, new_running_var); in evaluation the running
    statistics come back unchanged. A training batch with one value per channel (m = 1) has no
    variance and raises ValueError, as in PyTorch.

    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])      # feature means 2, 4; biased variances 1, 4
    >>> out, cache, rm, rv = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    >>> out.round(4).tolist(), rm.round(4).tolist(), rv.round(4).tolist()  # rv: unbiased 2, 8
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 0.4], [1.1, 1.7])
    >>> out, _, _, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), rm, rv, train=False)
    >>> out.round(4).tolist()                       # evaluation: (x − running_mean) / √running_var
    [[0.7628, 1.2271], [2.6697, 4.295]]
    """
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, D) or (N, C, H, W), got shape {x.shape}")
    c = x.shape[1]
    gamma = _channel_param(gamma, "gamma", c)
    beta = _channel_param(beta, "beta", c)
    running_mean = _channel_param(running_mean, "running_mean", c)
    running_var = _channel_param(running_var, "running_var", c)
    if not np.all(np.isfinite(running_mean)):
        raise ValueError("running_mean must be finite")
    if not np.all((running_var >= 0) & np.isfinite(running_var)):     # NaN fails too
        raise ValueError("running_var must be finite and non-negative")
    momentum = as_real(momentum, "momentum", low=0.0, high=1.0)
    eps = as_real(eps, "eps", low=0.0, low_open=True)
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.size // c if c else 0
    if as_flag(train, "train"):
        if m <= 1:
            raise ValueError(f"x must have more than 1 value per channel when training "
                             f"(N·H·W > 1), got shape {x.shape}")
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * (m / (m - 1))
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1 / np.sqrt(var + eps)
    x_centered = x - _per_channel(mean, x.ndim)
    x_hat = x_centered * _per_channel(inv_std, x.ndim)
    out = _per_channel(gamma, x.ndim) * x_hat + _per_channel(beta, x.ndim)
    cache = {"x_hat": x_hat, "x_centered": x_centered, "inv_std": inv_std, "gamma": gamma,
             "axes": axes, "m": m, "train": train, "kind": "batchnorm"}
    return out, cache, new_mean, new_var
# --8<-- [end:batchnorm_forward]


# --8<-- [start:batchnorm_backward]
def batchnorm_backward(dout, cache):
    """Backward pass of ``batchnorm_forward`` in its compact form (per channel, m values):

        dβ = Σ dout,    dγ = Σ dout · x̂
        training:    dx = γ / (m √(σ² + ε)) · (m · dout − Σ dout − x̂ · Σ dout · x̂)
        evaluation:  dx = γ / √(running_var + ε) · dout        (μ, σ² are constants there)

    The two subtracted sums come from μ and σ² depending on every x of the batch: the
    gradient of each sample depends on the whole batch.

    >>> x = np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 1.0]])
    >>> out, cache, _, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    >>> dout = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    >>> dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    >>> dx.round(4).tolist()        # samples 2 and 3 get a gradient although their dout is 0
    [[0.2041, 0.0], [0.2041, 0.0], [-0.4082, 0.0]]
    >>> dgamma.round(4).tolist(), dbeta.tolist()
    ([-1.2247, 0.0], [1.0, 0.0])
    """
    dout, axes, x_hat, g, inv_std = _backward_inputs(dout, cache)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    scale = _per_channel(g * inv_std, dout.ndim)
    if not cache["train"]:
        return scale * dout, dgamma, dbeta
    m = cache["m"]
    dx = scale / m * (m * dout - _per_channel(dbeta, dout.ndim)
                      - x_hat * _per_channel(dgamma, dout.ndim))
    return dx, dgamma, dbeta


def batchnorm_backward_staged(dout, cache):
    """The same gradient, backpropagated one node at a time through the computational graph
    xc = x − μ,  v = mean(xc²),  s = 1/√(v + ε),  x̂ = xc · s,  out = γ x̂ + β
    (μ and v reach x through every sample of the batch).

    >>> x = np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 1.0]])
    >>> out, cache, _, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    >>> dout = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    >>> dx, _, _ = batchnorm_backward_staged(dout, cache)
    >>> dx.round(4).tolist()
    [[0.2041, 0.0], [0.2041, 0.0], [-0.4082, 0.0]]
    """
    if not _checked(cache, "batchnorm")["train"]:
        return batchnorm_backward(dout, cache)
    dout, axes, x_hat, g, inv_std = _backward_inputs(dout, cache)
    nd, m, xc = dout.ndim, cache["m"], cache["x_centered"]
    s = _per_channel(inv_std, nd)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * _per_channel(g, nd)                       # out = γ x̂ + β
    ds = (dx_hat * xc).sum(axis=axes, keepdims=True)          # x̂ = xc · s
    dxc = dx_hat * s
    dv = ds * (-0.5) * s ** 3                                 # s = (v + ε)^(−1/2)
    dxc = dxc + dv * 2 * xc / m                               # v = mean(xc²)
    dmu = -dxc.sum(axis=axes, keepdims=True)                  # xc = x − μ
    dx = dxc + dmu / m                                        # μ = mean(x)
    return dx, dgamma, dbeta


def _checked(cache, kind):
    if not isinstance(cache, dict) or cache.get("kind") != kind:
        raise ValueError(f"cache must be the cache returned by {kind}_forward")
    return cache


def _backward_inputs(dout, cache):
    x_hat = _checked(cache, "batchnorm")["x_hat"]
    dout = as_float_array(dout, "dout")
    if dout.shape != x_hat.shape:
        raise ValueError(f"dout must have the shape of x {x_hat.shape}, got {dout.shape}")
    return dout, cache["axes"], x_hat, cache["gamma"], cache["inv_std"]
# --8<-- [end:batchnorm_backward]


# --8<-- [start:layernorm]
def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization: each sample is normalized over all its non-batch axes (D values),
    then an elementwise affine map (``torch.nn.LayerNorm(x.shape[1:])``):

        μₙ = (1/D) Σ xₙ,   σₙ² = (1/D) Σ (xₙ − μₙ)²,   out = γ ⊙ (xₙ − μₙ)/√(σₙ² + ε) + β

    gamma and beta have shape x.shape[1:]. No batch statistics and no running estimates: the
    same computation in training and evaluation, independent of the other samples, and a batch
    of one is fine.

    >>> out, cache = layernorm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> out.round(4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    """
    x = as_float_array(x, "x")
    if x.ndim < 2 or x.size == 0:
        raise ValueError(f"x must have shape (N, D, …) with at least one feature, got {x.shape}")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if np.shape(value) != x.shape[1:]:
            raise ValueError(f"{name} must have shape {x.shape[1:]} (x.shape[1:]), "
                             f"got {np.shape(value)}")
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    eps = as_real(eps, "eps", low=0.0, low_open=True)
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "axes": axes, "kind": "layernorm"}
    return gamma * x_hat + beta, cache


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``; per sample, with D normalized values and
    g = γ ⊙ dout:

        dx = 1 / (D √(σ² + ε)) · (D g − Σ g − x̂ · Σ g · x̂),   dγ = Σₙ dout · x̂,   dβ = Σₙ dout

    >>> out, cache = layernorm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> dx, dgamma, dbeta = layernorm_backward(np.array([[1.0, 0.0, 0.0]]), cache)
    >>> dx.round(4).tolist(), dgamma.round(4).tolist(), dbeta.tolist()
    ([[0.2041, -0.4082, 0.2041]], [-1.2247, 0.0, 0.0], [1.0, 0.0, 0.0])
    """
    x_hat, axes = _checked(cache, "layernorm")["x_hat"], cache["axes"]
    dout = as_float_array(dout, "dout")
    if dout.shape != x_hat.shape:
        raise ValueError(f"dout must have the shape of x {x_hat.shape}, got {dout.shape}")
    d = x_hat[0].size
    g = dout * cache["gamma"]
    dx = cache["inv_std"] / d * (d * g - g.sum(axis=axes, keepdims=True)
                                 - x_hat * (g * x_hat).sum(axis=axes, keepdims=True))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
# --8<-- [end:layernorm]
