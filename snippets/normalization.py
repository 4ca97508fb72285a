"""Batch, layer, RMS, group and instance normalization, forward and backward (the Normalization page).

Shapes: x is (N, D) (statistics per feature) or (N, C, H, W) (statistics per channel, over the
N·H·W values of each channel; any (N, C, …) works the same way). gamma, beta and the running
statistics have shape (C,). Running statistics follow ``torch.nn.BatchNorm``: an exponential
moving average with weight ``momentum`` on the new batch, using the unbiased batch variance,
while the batch itself is normalized with the biased one. Nothing here modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from snippets._validation import as_flag, as_float_array, as_int, as_real


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
def _trailing(x, gamma, beta=None, name="gamma"):
    """Check that gamma (and beta) have the shape of the last gamma.ndim axes of x."""
    gamma = as_float_array(gamma, name)
    if gamma.ndim == 0 or gamma.size == 0:
        raise ValueError(f"{name} must have at least one axis and one value (normalized_shape), "
                         f"got shape {gamma.shape}")
    k = gamma.ndim
    if x.ndim < k or x.shape[x.ndim - k:] != gamma.shape:
        raise ValueError(f"{name} must have the shape of the last {k} axes of x "
                         f"(x has shape {x.shape}), got {gamma.shape}")
    if beta is not None:
        beta = as_float_array(beta, "beta")
        if beta.shape != gamma.shape:
            raise ValueError(f"beta must have the shape of gamma {gamma.shape}, got {beta.shape}")
    return gamma, beta, tuple(range(x.ndim - k, x.ndim))


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization over the last gamma.ndim axes of x (PyTorch's ``layer_norm`` with
    ``normalized_shape = gamma.shape``): for each position of the leading axes, over its D
    normalized values,

        μ = (1/D) Σ x,   σ² = (1/D) Σ (x − μ)²,   out = γ ⊙ (x − μ)/√(σ² + ε) + β

    For a Transformer's (N, L, D) activations gamma has shape (D,): each token is normalized
    over its own D features. For (N, C, H, W) with gamma of shape (C, H, W), each sample over
    all its values. No batch statistics and no running estimates: the same computation in
    training and evaluation, independent of the other samples and tokens.

    >>> out, cache = layernorm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> out.round(4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    >>> x = np.array([[[1.0, 3.0], [0.0, 10.0]]])            # (N, L, D) = (1, 2, 2): two tokens
    >>> layernorm_forward(x, np.ones(2), np.zeros(2))[0].round(4).tolist()   # per token
    [[[-1.0, 1.0], [-1.0, 1.0]]]
    """
    x = as_float_array(x, "x")
    gamma, beta, axes = _trailing(x, gamma, beta)
    eps = as_real(eps, "eps", low=0.0, low_open=True)
    mean = x.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "axes": axes, "kind": "layernorm"}
    return gamma * x_hat + beta, cache


def layernorm_backward(dout, cache):
    """Backward pass of ``layernorm_forward``; over the D normalized values of each position,
    with g = γ ⊙ dout:

        dx = 1 / (D √(σ² + ε)) · (D g − Σ g − x̂ · Σ g · x̂),
        dγ = Σ dout · x̂,   dβ = Σ dout   (summed over the leading axes)

    >>> out, cache = layernorm_forward(np.array([[1.0, 2.0, 3.0]]), np.ones(3), np.zeros(3))
    >>> dx, dgamma, dbeta = layernorm_backward(np.array([[1.0, 0.0, 0.0]]), cache)
    >>> dx.round(4).tolist(), dgamma.round(4).tolist(), dbeta.tolist()
    ([[0.2041, -0.4082, 0.2041]], [-1.2247, 0.0, 0.0], [1.0, 0.0, 0.0])
    """
    x_hat, axes = _checked(cache, "layernorm")["x_hat"], cache["axes"]
    dout = _dout(dout, x_hat)
    d = cache["gamma"].size
    g = dout * cache["gamma"]
    dx = cache["inv_std"] / d * (d * g - g.sum(axis=axes, keepdims=True)
                                 - x_hat * (g * x_hat).sum(axis=axes, keepdims=True))
    lead = tuple(range(dout.ndim - len(axes)))
    return dx, (dout * x_hat).sum(axis=lead), dout.sum(axis=lead)


def _dout(dout, like):
    dout = as_float_array(dout, "dout")
    if dout.shape != like.shape:
        raise ValueError(f"dout must have the shape of x {like.shape}, got {dout.shape}")
    return dout
# --8<-- [end:layernorm]


# --8<-- [start:rmsnorm]
def rmsnorm_forward(x, gamma, eps=None):
    """RMSNorm (Zhang & Sennrich, 2019; ``torch.nn.functional.rms_norm`` with
    ``normalized_shape = gamma.shape``): over the last gamma.ndim axes (D values), no mean is
    subtracted and there is no β:

        rms = √((1/D) Σ x² + ε),      out = γ ⊙ x / rms

    eps=None uses the machine epsilon of x's dtype (2.2e-16 for float64, 1.2e-7 for float32),
    as PyTorch does; float16 is computed in float32, like PyTorch's upcast. Returns (out, cache).

    >>> out, cache = rmsnorm_forward(np.array([[3.0, 4.0]]), np.ones(2))   # rms = √12.5
    >>> out.round(4).tolist()
    [[0.8485, 1.1314]]
    """
    x = as_float_array(x, "x")
    gamma, _, axes = _trailing(x, gamma)
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    eps = float(np.finfo(work.dtype).eps) if eps is None else as_real(eps, "eps", low=0.0)
    inv_rms = 1 / np.sqrt(np.mean(work * work, axis=axes, keepdims=True) + eps)
    x_hat = (work * inv_rms).astype(x.dtype, copy=False)
    cache = {"x": work, "x_hat": x_hat, "inv_rms": inv_rms, "gamma": gamma, "axes": axes,
             "kind": "rmsnorm"}
    return x_hat * gamma, cache


def rmsnorm_backward(dout, cache):
    """Backward pass of ``rmsnorm_forward``, with r = 1/rms and g = γ ⊙ dout:

        dx = r · g − x · r³ · (1/D) Σ g · x,     dγ = Σ dout · x r   (over the leading axes)

    One correction term instead of LayerNorm's two: there is no mean, so no zero-sum term.

    >>> out, cache = rmsnorm_forward(np.array([[3.0, 4.0]]), np.ones(2))
    >>> dx, dgamma = rmsnorm_backward(np.array([[1.0, 0.0]]), cache)
    >>> dx.round(4).tolist(), dgamma.round(4).tolist()
    ([[0.181, -0.1358]], [0.8485, 0.0])
    """
    x_hat, axes = _checked(cache, "rmsnorm")["x_hat"], cache["axes"]
    dout = _dout(dout, x_hat)
    x, r, d = cache["x"], cache["inv_rms"], cache["gamma"].size
    g = dout * cache["gamma"]
    dx = r * g - x * r ** 3 * (g * x).sum(axis=axes, keepdims=True) / d
    lead = tuple(range(dout.ndim - len(axes)))
    return dx.astype(dout.dtype, copy=False), (dout * x_hat).sum(axis=lead)
# --8<-- [end:rmsnorm]


# --8<-- [start:groupnorm]
def _affine_param(value, name, c, default, dtype):
    if value is None:
        return np.full(c, default, dtype=dtype)
    return _channel_param(value, name, c)


def groupnorm_forward(x, num_groups, gamma, beta, eps=1e-5):
    """Group normalization (Wu & He, 2018; ``torch.nn.functional.group_norm``): x is
    (N, C, *); the C channels of each sample are split into G = num_groups groups of C/G
    consecutive channels, and each (sample, group) is normalized over its M = (C/G)·H·W values:

        μ = (1/M) Σ x,   σ² = (1/M) Σ (x − μ)²,   out = γ_c (x − μ)/√(σ² + ε) + β_c

    with γ, β of shape (C,) (None: 1 and 0). G = 1 is LayerNorm over (C, H, W); G = C is
    InstanceNorm. Like PyTorch, raises ValueError when N·(C/G)·H·W is 1. Returns (out, cache).

    >>> x = np.array([[1.0, 2.0, 6.0, 0.0, 10.0, 20.0]])   # N = 1, C = 6: two groups of three
    >>> out, cache = groupnorm_forward(x, 2, np.ones(6), np.zeros(6))
    >>> out.round(4).tolist()
    [[-0.9258, -0.4629, 1.3887, -1.2247, 0.0, 1.2247]]
    """
    x = as_float_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, C, …), got shape {x.shape}")
    n, c = x.shape[:2]
    g = as_int(num_groups, "num_groups", low=1)
    if c % g:
        raise ValueError(f"num_groups must divide the number of channels {c}, got {g}")
    gamma = _affine_param(gamma, "gamma", c, 1.0, x.dtype)
    beta = _affine_param(beta, "beta", c, 0.0, x.dtype)
    eps = as_real(eps, "eps", low=0.0, low_open=True)
    spatial = int(np.prod(x.shape[2:], dtype=np.int64))
    if n * (c // g) * spatial == 1:
        raise ValueError(f"x must have more than 1 value per channel when training, got shape {x.shape}")
    xg = x.reshape(n, g, -1)                                     # (N, G, M)
    mean = xg.mean(axis=2, keepdims=True)
    inv_std = 1 / np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    x_hat = ((xg - mean) * inv_std).reshape(x.shape)
    out = _per_channel(gamma, x.ndim) * x_hat + _per_channel(beta, x.ndim)
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "groups": g, "kind": "groupnorm"}
    return out, cache


def groupnorm_backward(dout, cache):
    """Backward pass of ``groupnorm_forward``: BatchNorm's compact formula applied to each
    (sample, group) of M values, with g = γ_c · dout:

        dx = 1 / (M √(σ² + ε)) · (M g − Σ g − x̂ · Σ g · x̂),
        dγ_c = Σ_{n, h, w} dout · x̂,   dβ_c = Σ_{n, h, w} dout

    >>> x = np.array([[1.0, 2.0, 6.0, 0.0, 10.0, 20.0]])
    >>> out, cache = groupnorm_forward(x, 2, np.ones(6), np.zeros(6))
    >>> dout = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    >>> dx, dgamma, dbeta = groupnorm_backward(dout, cache)
    >>> dx.round(4).tolist()                   # only the first group: groups are independent
    [[0.1763, -0.2204, 0.0441, 0.0, 0.0, 0.0]]
    >>> dgamma.round(4).tolist()[:2], dbeta.tolist()[:2]
    ([-0.9258, 0.0], [1.0, 0.0])
    """
    x_hat = _checked(cache, "groupnorm")["x_hat"]
    dout = _dout(dout, x_hat)
    n, groups = dout.shape[0], cache["groups"]
    axes = (0,) + tuple(range(2, dout.ndim))
    dgamma, dbeta = (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
    gg = (dout * _per_channel(cache["gamma"], dout.ndim)).reshape(n, groups, -1)
    xh = x_hat.reshape(n, groups, -1)
    m = xh.shape[2]
    dx = cache["inv_std"] / m * (m * gg - gg.sum(axis=2, keepdims=True)
                                 - xh * (gg * xh).sum(axis=2, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta
# --8<-- [end:groupnorm]


# --8<-- [start:instancenorm]
def instancenorm_forward(x, gamma, beta, eps=1e-5):
    """Instance normalization (Ulyanov et al., 2016; ``torch.nn.functional.instance_norm``
    with batch statistics and no running estimates): each channel of each sample of
    x (N, C, H, W, …) is normalized over its own H·W values,

        out = γ_c (x − μ_nc)/√(σ²_nc + ε) + β_c

    gamma, beta of shape (C,), or None (1 and 0: ``nn.InstanceNorm2d``'s default has no
    affine parameters). This is GroupNorm with one channel per group, and the cache works with
    ``groupnorm_backward``. Like PyTorch, raises ValueError with one spatial value per channel.
    Returns (out, cache).

    >>> x = np.array([[[1.0, 3.0], [5.0, 5.0]]])           # (N, C, L) = (1, 2, 2)
    >>> out, cache = instancenorm_forward(x, None, None)
    >>> out.round(4).tolist()                              # the constant channel gives β = 0
    [[[-1.0, 1.0], [0.0, 0.0]]]
    """
    x = as_float_array(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x must have shape (N, C, L) or (N, C, H, W, …), got shape {x.shape}")
    if int(np.prod(x.shape[2:], dtype=np.int64)) == 1:
        raise ValueError(f"x must have more than 1 spatial value per channel, got shape {x.shape}")
    return groupnorm_forward(x, x.shape[1], gamma, beta, eps) if x.shape[1] else \
        groupnorm_forward(x, 1, gamma, beta, eps)
# --8<-- [end:instancenorm]
