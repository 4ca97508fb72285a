"""Activation functions and their derivatives (the Activations page).

Every elementwise activation ``f`` has ``f_grad(x, ...)`` = df/dx with the shape of ``x``.
All are written so that |x| up to 1e4 gives finite results without overflow warnings in float32
and float64: no ``exp`` ever sees a large positive argument.
At a kink (x = 0 for ReLU and its relatives) the derivative takes the value PyTorch uses.
"""

from __future__ import annotations

import math

import numpy as np

from snippets._validation import (as_choice, as_flag, as_float_array, as_generator, as_list, as_real,
                                  check_axis)

# SELU constants from Klambauer et al. (2017), chosen so that mean 0 / variance 1 is a fixed point.
SELU_ALPHA = 1.6732632423543772
SELU_LAMBDA = 1.0507009873554805


def _like(values, x):
    """Cast a derived array to x's floating dtype (float32 in stays float32)."""
    return np.asarray(values).astype(x.dtype, copy=False)


# --8<-- [start:collapse_linear_layers]
def collapse_linear_layers(layers):
    """Affine layers with no activation between them collapse into one affine layer.

    For rows x:  (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2),
    so any depth of purely linear layers is a single layer with W = W1 W2 … WL.

    >>> W1, b1 = np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([1.0, -1.0])
    >>> W2, b2 = np.array([[2.0], [-1.0]]), np.array([0.5])
    >>> W, b = collapse_linear_layers([(W1, b1), (W2, b2)])
    >>> W.tolist(), b.tolist()
    ([[0.0], [-1.0]], [3.5])
    >>> x = np.array([[3.0, 4.0]])
    >>> ((x @ W1 + b1) @ W2 + b2).tolist(), (x @ W + b).tolist()
    ([[-0.5]], [[-0.5]])
    """
    W, b = None, None
    for i, (Wi, bi) in enumerate(as_list(layers, "layers", pairs=True)):
        Wi = as_float_array(Wi, f"layers[{i}][0]", ndim=2)
        bi = as_float_array(bi, f"layers[{i}][1]", ndim=1)
        if bi.shape[0] != Wi.shape[1]:
            raise ValueError(f"layers[{i}][1] must have shape ({Wi.shape[1]},), got {bi.shape}")
        if W is None:
            W, b = Wi, bi
            continue
        if Wi.shape[0] != W.shape[1]:
            raise ValueError(f"layers[{i}][0] must have {W.shape[1]} rows, got shape {Wi.shape}")
        W, b = W @ Wi, b @ Wi + bi
    return W, b
# --8<-- [end:collapse_linear_layers]


# --8<-- [start:sigmoid]
def sigmoid(x):
    """Logistic sigmoid  σ(x) = 1 / (1 + e^(−x)),  range (0, 1).

    Written with e^(−|x|) ≤ 1 so that no exponential overflows:
    σ(x) = 1 / (1 + e^(−|x|)) for x ≥ 0 and e^(−|x|) / (1 + e^(−|x|)) for x < 0.

    >>> sigmoid(np.array([-2.0, 0.0, 2.0])).round(4).tolist()
    [0.1192, 0.5, 0.8808]
    >>> sigmoid(np.array([-1e4, 1e4])).tolist()   # no overflow
    [0.0, 1.0]
    """
    x = as_float_array(x, "x")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(x):
    """σ'(x) = σ(x) (1 − σ(x)); its maximum is 1/4, at x = 0.

    >>> sigmoid_grad(np.array([0.0, 2.0, 10.0])).round(5).tolist()
    [0.25, 0.10499, 5e-05]
    """
    s = sigmoid(x)
    return s * (1 - s)
# --8<-- [end:sigmoid]


# --8<-- [start:tanh]
def tanh(x):
    """tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)) = 2σ(2x) − 1,  range (−1, 1), zero-centred.

    >>> tanh(np.array([-1.0, 0.0, 1.0])).round(4).tolist()
    [-0.7616, 0.0, 0.7616]
    """
    return np.tanh(as_float_array(x, "x"))


def tanh_grad(x):
    """tanh'(x) = 1 − tanh²(x); its maximum is 1, at x = 0.

    >>> tanh_grad(np.array([0.0, 1.0, 3.0])).round(4).tolist()
    [1.0, 0.42, 0.0099]
    """
    t = tanh(x)
    return 1 - t * t
# --8<-- [end:tanh]


# --8<-- [start:relu]
def relu(x):
    """ReLU(x) = max(0, x).

    >>> relu(np.array([-2.0, 0.0, 3.0])).tolist()
    [0.0, 0.0, 3.0]
    """
    return np.maximum(as_float_array(x, "x"), 0)


def relu_grad(x):
    """ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0 (at the kink x = 0 we use 0, as PyTorch does).

    >>> relu_grad(np.array([-2.0, 0.0, 3.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    x = as_float_array(x, "x")
    return _like(x > 0, x)
# --8<-- [end:relu]


# --8<-- [start:leaky_relu]
def leaky_relu(x, alpha=0.01):
    """Leaky ReLU(x) = x for x ≥ 0 and αx for x < 0, with a small fixed slope 0 ≤ α < 1.

    (Only for α ≤ 1 is this the same as max(αx, x).)

    >>> leaky_relu(np.array([-10.0, 0.0, 5.0]), alpha=0.1).tolist()
    [-1.0, 0.0, 5.0]
    """
    x = as_float_array(x, "x")
    alpha = as_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)
    return np.where(x >= 0, x, alpha * x)


def leaky_relu_grad(x, alpha=0.01):
    """Leaky ReLU'(x) = 1 for x > 0 and α for x ≤ 0.

    >>> leaky_relu_grad(np.array([-10.0, 0.0, 5.0]), alpha=0.1).tolist()
    [0.1, 0.1, 1.0]
    """
    x = as_float_array(x, "x")
    alpha = as_real(alpha, "alpha", low=0.0, high=1.0, high_open=True)
    return _like(np.where(x > 0, 1.0, alpha), x)
# --8<-- [end:leaky_relu]


def _channel_alpha(alpha, x):
    """PReLU slope: a scalar, or one value per channel (axis 1 of x, as in PyTorch)."""
    alpha = as_float_array(alpha, "alpha")
    if alpha.ndim == 0 or alpha.size == 1:
        return alpha.reshape(()).astype(x.dtype), ()
    if alpha.ndim != 1 or x.ndim < 2 or alpha.shape[0] != x.shape[1]:
        raise ValueError(
            f"alpha must be a scalar or have shape (C,) with C = x.shape[1]; "
            f"got alpha {alpha.shape} for x {x.shape}")
    shape = (1, -1) + (1,) * (x.ndim - 2)
    other_axes = (0,) + tuple(range(2, x.ndim))
    return alpha.reshape(shape).astype(x.dtype), other_axes


# --8<-- [start:prelu]
def prelu(x, alpha):
    """PReLU(x) = x for x ≥ 0 and a·x for x < 0, where the slope a is learned
    (one scalar, or one slope per channel: axis 1 of x).

    >>> prelu(np.array([[-2.0, 3.0], [-4.0, -1.0]]), np.array([0.25, 0.5])).tolist()
    [[-0.5, 3.0], [-1.0, -0.5]]
    """
    x = as_float_array(x, "x")
    a, _ = _channel_alpha(alpha, x)
    return np.where(x >= 0, x, a * x)


def prelu_backward(dout, x, alpha):
    """Gradients of PReLU, given dout = dL/d out:

        dL/dx = dout · (1 if x > 0 else a)
        dL/da = Σ dout · x over the entries with x < 0 (per channel when a is per channel)

    >>> dx, da = prelu_backward(np.ones((2, 2)), np.array([[-2.0, 3.0], [-4.0, -1.0]]),
    ...                         np.array([0.25, 0.5]))
    >>> dx.tolist(), da.tolist()
    ([[0.25, 1.0], [0.25, 0.5]], [-6.0, -1.0])
    """
    x = as_float_array(x, "x")
    dout = as_float_array(dout, "dout")
    if dout.shape != x.shape:
        raise ValueError(f"dout must have the shape of x {x.shape}, got {dout.shape}")
    a, other_axes = _channel_alpha(alpha, x)
    dx = np.where(x > 0, dout, a * dout)
    dalpha = np.sum(np.where(x < 0, dout * x, 0), axis=other_axes if other_axes else None)
    return dx, np.asarray(dalpha).reshape(np.shape(alpha))
# --8<-- [end:prelu]


# --8<-- [start:rrelu]
def rrelu(x, lower=1 / 8, upper=1 / 3, *, train=False, rng=None):
    """Randomized leaky ReLU: out = x for x ≥ 0 and a·x for x < 0, where
    training draws a ~ Uniform(lower, upper) independently per element, and
    evaluation uses the fixed mean slope a = (lower + upper) / 2.

    Returns (out, slope); slope = d out / dx, the array to reuse in the backward pass.

    >>> out, slope = rrelu(np.array([-4.0, 2.0]))           # evaluation: a = (1/8 + 1/3) / 2
    >>> out.round(4).tolist(), slope.round(4).tolist()
    ([-0.9167, 2.0], [0.2292, 1.0])
    >>> out, slope = rrelu(np.full(100_000, -1.0), train=True, rng=np.random.default_rng(0))
    >>> bool(slope.min() >= 1 / 8 and slope.max() <= 1 / 3), round(float(slope.mean()), 3)
    (True, 0.229)
    """
    x = as_float_array(x, "x")
    lower = as_real(lower, "lower", low=0.0, high=1.0)
    upper = as_real(upper, "upper", low=lower, high=1.0)
    if as_flag(train, "train"):
        a = as_generator(rng).uniform(lower, upper, size=x.shape)
    else:
        a = (lower + upper) / 2
    slope = _like(np.where(x >= 0, 1.0, a), x)
    return slope * x, slope
# --8<-- [end:rrelu]


# --8<-- [start:elu]
def elu(x, alpha=1.0):
    """ELU(x) = x for x > 0 and α (e^x − 1) for x ≤ 0; it tends to −α as x → −∞.

    >>> elu(np.array([-1.0, 0.0, 2.0])).round(4).tolist()
    [-0.6321, 0.0, 2.0]
    """
    x = as_float_array(x, "x")
    alpha = as_real(alpha, "alpha", low=0.0)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_grad(x, alpha=1.0):
    """ELU'(x) = 1 for x > 0 and α e^x = ELU(x) + α for x ≤ 0.

    >>> elu_grad(np.array([-1.0, 0.0, 2.0])).round(4).tolist()
    [0.3679, 1.0, 1.0]
    """
    x = as_float_array(x, "x")
    alpha = as_real(alpha, "alpha", low=0.0)
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype, copy=False)
# --8<-- [end:elu]


# --8<-- [start:selu]
def selu(x):
    """SELU(x) = λ · ELU(x, α) with α ≈ 1.6733 and λ ≈ 1.0507 (Klambauer et al., 2017).

    These constants make mean 0 and variance 1 a fixed point: if z ~ N(0, 1), then
    E[SELU(z)] = 0 and E[SELU(z)²] = 1.

    >>> selu(np.array([-1.0, 0.0, 1.0])).round(4).tolist()
    [-1.1113, 0.0, 1.0507]
    """
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def selu_grad(x):
    """SELU'(x) = λ for x > 0 and λ α e^x for x ≤ 0.

    >>> selu_grad(np.array([-1.0, 1.0])).round(4).tolist()
    [0.6468, 1.0507]
    """
    return SELU_LAMBDA * elu_grad(x, SELU_ALPHA)
# --8<-- [end:selu]


# --8<-- [start:crelu]
def crelu(x, axis=-1):
    """Concatenated ReLU: CReLU(x) = [ReLU(x), ReLU(−x)] along ``axis`` (use axis=1 for NCHW),
    so the output has twice as many channels and keeps the negative part of the signal.

    >>> crelu(np.array([[-2.0, 3.0]])).tolist()
    [[0.0, 3.0, 2.0, 0.0]]
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension to concatenate along")
    axis = check_axis(axis, x.ndim)
    return np.concatenate([relu(x), relu(-x)], axis=axis)


def crelu_backward(dout, x, axis=-1):
    """dL/dx = dout₊ · [x > 0] − dout₋ · [x < 0], where dout₊ and dout₋ are the two halves of
    dout along ``axis``.

    >>> crelu_backward(np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[-2.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """
    x = as_float_array(x, "x")
    dout = as_float_array(dout, "dout")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension to concatenate along")
    axis = check_axis(axis, x.ndim)
    expected = x.shape[:axis] + (2 * x.shape[axis],) + x.shape[axis + 1:]
    if dout.shape != expected:
        raise ValueError(f"dout must have shape {expected}, got {dout.shape}")
    d_pos, d_neg = np.split(dout, 2, axis=axis)
    return d_pos * relu_grad(x) - d_neg * relu_grad(-x)
# --8<-- [end:crelu]


# --8<-- [start:maxout]
def maxout(x, w, b):
    """Maxout unit with k linear pieces: out[n, m] = max_j (x[n] · w[j, :, m] + b[j, m]).

    Shapes: x (N, D), w (k, D, M), b (k, M) -> out (N, M).  ReLU is the special case k = 2 with
    the second piece fixed at zero; each unit costs k times the parameters of a plain unit.

    >>> x = np.array([[1.0], [-2.0]])
    >>> w = np.array([[[1.0]], [[0.0]]]); b = np.zeros((2, 1))   # pieces x and 0: ReLU
    >>> maxout(x, w, b).tolist()
    [[1.0], [0.0]]
    """
    x, w, b = _maxout_inputs(x, w, b)
    return _maxout_pieces(x, w, b).max(axis=0)


def maxout_backward(dout, x, w, b):
    """Only the winning piece j* = argmax_j z_j gets the gradient:
    dx = Σ_m dout · w[j*, :, m],  dw[j*] = xᵀ dout (on the winning entries),  db[j*] = Σ_n dout.

    >>> x = np.array([[1.0], [-2.0]])
    >>> w = np.array([[[1.0]], [[0.0]]]); b = np.zeros((2, 1))
    >>> dx, dw, db = maxout_backward(np.ones((2, 1)), x, w, b)
    >>> dx.tolist(), dw.ravel().tolist(), db.ravel().tolist()
    ([[1.0], [0.0]], [1.0, -2.0], [1.0, 1.0])
    """
    x, w, b = _maxout_inputs(x, w, b)
    z = _maxout_pieces(x, w, b)
    dout = as_float_array(dout, "dout")
    if dout.shape != z.shape[1:]:
        raise ValueError(f"dout must have shape {z.shape[1:]}, got {dout.shape}")
    winner = z.argmax(axis=0)                                   # (N, M)
    routed = (np.arange(w.shape[0])[:, None, None] == winner) * dout  # (k, N, M)
    dx = np.einsum("knm,kdm->nd", routed, w)
    dw = np.einsum("nd,knm->kdm", x, routed)
    db = routed.sum(axis=1)
    return dx, dw, db
# --8<-- [end:maxout]


def _maxout_inputs(x, w, b):
    x = as_float_array(x, "x", ndim=2)
    w = as_float_array(w, "w", ndim=3)
    b = as_float_array(b, "b", ndim=2)
    if w.shape[0] == 0 or w.shape[1] != x.shape[1]:
        raise ValueError(f"w must have shape (k, {x.shape[1]}, M) with k >= 1 pieces, got {w.shape}")
    if b.shape != (w.shape[0], w.shape[2]):
        raise ValueError(f"b must have shape {(w.shape[0], w.shape[2])}, got {b.shape}")
    return x, w, b


def _maxout_pieces(x, w, b):
    return np.einsum("nd,kdm->knm", x, w) + b[:, None, :]


# --8<-- [start:swish]
def swish(x, beta=1.0):
    """Swish(x) = x · σ(βx); β = 1 is SiLU. Smooth, non-monotonic, bounded below
    (minimum ≈ −0.2785 at x ≈ −1.2785 for β = 1); β → ∞ gives ReLU, β = 0 gives x/2.

    >>> swish(np.array([-1.2785, 0.0, 2.0])).round(4).tolist()
    [-0.2785, 0.0, 1.7616]
    """
    x = as_float_array(x, "x")
    beta = as_real(beta, "beta")
    return x * sigmoid(beta * x)


def swish_grad(x, beta=1.0):
    """Swish'(x) = σ(βx) + βx · σ(βx)(1 − σ(βx)).

    >>> swish_grad(np.array([0.0, 2.0])).round(4).tolist()
    [0.5, 1.0908]
    >>> bool(abs(swish_grad(np.array([-1.2785]))[0]) < 1e-4)   # the minimum of swish
    True
    """
    x = as_float_array(x, "x")
    beta = as_real(beta, "beta")
    s = sigmoid(beta * x)
    return s + beta * x * s * (1 - s)
# --8<-- [end:swish]


# --8<-- [start:softplus]
def softplus(x):
    """softplus(x) = log(1 + e^x), a smooth ReLU; computed as max(x, 0) + log(1 + e^(−|x|)).

    >>> softplus(np.array([-1e4, 0.0, 1e4])).round(4).tolist()
    [0.0, 0.6931, 10000.0]
    """
    x = as_float_array(x, "x")
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softplus_grad(x):
    """softplus'(x) = σ(x).

    >>> softplus_grad(np.array([0.0])).tolist()
    [0.5]
    """
    return sigmoid(x)
# --8<-- [end:softplus]


_erf = np.frompyfunc(math.erf, 1, 1)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


# --8<-- [start:gelu]
def gelu(x, approximate="none"):
    """GELU(x) = x · Φ(x), Φ the standard normal CDF: Φ(x) = (1 + erf(x / √2)) / 2.

    approximate="tanh" gives the form used by BERT/GPT-2:
    x/2 · (1 + tanh(√(2/π) (x + 0.044715 x³))).

    >>> gelu(np.array([-1.0, 0.0, 1.0])).round(4).tolist()
    [-0.1587, 0.0, 0.8413]
    >>> gelu(np.array([-1.0, 0.0, 1.0]), approximate="tanh").round(4).tolist()
    [-0.1588, 0.0, 0.8412]
    """
    x = as_float_array(x, "x")
    if as_choice(approximate, ("none", "tanh"), "approximate") == "none":
        return x * _normal_cdf(x)
    return x / 2 * (1 + np.tanh(_gelu_tanh_arg(x)))


def gelu_grad(x, approximate="none"):
    """GELU'(x) = Φ(x) + x φ(x), φ(x) = e^(−x²/2) / √(2π); for the tanh form, with
    u = √(2/π)(x + 0.044715 x³):  ½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²).

    >>> gelu_grad(np.array([0.0, 1.0])).round(4).tolist()
    [0.5, 1.0833]
    """
    x = as_float_array(x, "x")
    if as_choice(approximate, ("none", "tanh"), "approximate") == "none":
        pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        return _normal_cdf(x) + x * pdf
    t = np.tanh(_gelu_tanh_arg(x))
    return (1 + t) / 2 + x / 2 * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
# --8<-- [end:gelu]


def _normal_cdf(x):
    # frompyfunc returns a Python float for 0-d input and an object array otherwise
    return _like((1 + np.asarray(_erf(x / math.sqrt(2)), dtype=np.float64)) / 2, x)


def _gelu_tanh_arg(x):
    return _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)


# --8<-- [start:mish]
def mish(x):
    """Mish(x) = x · tanh(softplus(x)) (Misra, 2019): smooth, non-monotonic, bounded below
    (minimum ≈ −0.3088 at x ≈ −1.1924), ≈ x for large x and → 0 for x → −∞.

    >>> mish(np.array([-1.1924, 0.0, 1.0, 1e4])).round(4).tolist()
    [-0.3088, 0.0, 0.8651, 10000.0]
    """
    x = as_float_array(x, "x")
    return x * np.tanh(softplus(x))


def mish_grad(x):
    """Mish'(x) = tanh(sp(x)) + x · σ(x) · (1 − tanh²(sp(x))), sp = softplus, since sp' = σ
    (PyTorch's mish_backward uses the same formula).

    >>> mish_grad(np.array([0.0, 1.0])).round(4).tolist()
    [0.6, 1.049]
    """
    x = as_float_array(x, "x")
    t = np.tanh(softplus(x))
    return t + x * sigmoid(x) * (1 - t * t)
# --8<-- [end:mish]


# --8<-- [start:relu6]
def relu6(x):
    """ReLU6(x) = min(max(0, x), 6): ReLU capped at 6 (MobileNet), so that activations fit a
    low-precision fixed-point range.

    >>> relu6(np.array([-1.0, 3.0, 6.0, 8.0])).tolist()
    [0.0, 3.0, 6.0, 6.0]
    """
    return np.clip(as_float_array(x, "x"), 0, 6)


def relu6_grad(x):
    """ReLU6'(x) = 1 for 0 < x < 6 and 0 otherwise; at both kinks (x = 0 and x = 6) the value is 0,
    as in PyTorch (relu6 is hardtanh(x, 0, 6), whose backward passes only 0 < x < 6).

    >>> relu6_grad(np.array([-1.0, 0.0, 3.0, 6.0, 8.0])).tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """
    x = as_float_array(x, "x")
    return _like((x > 0) & (x < 6), x)
# --8<-- [end:relu6]


# --8<-- [start:hard_sigmoid]
def hard_sigmoid(x):
    """Hard sigmoid = ReLU6(x + 3) / 6: 0 for x ≤ −3, 1 for x ≥ 3 and the line x/6 + 1/2 between —
    a piecewise-linear sigmoid with no exponential (PyTorch's ``hardsigmoid``, MobileNetV3).

    >>> hard_sigmoid(np.array([-4.0, 0.0, 1.5, 4.0])).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    return relu6(as_float_array(x, "x") + 3) / 6


def hard_sigmoid_grad(x):
    """Hard sigmoid'(x) = 1/6 for −3 < x < 3 and 0 otherwise (0 at x = ±3, as in PyTorch).

    >>> (hard_sigmoid_grad(np.array([-3.0, 0.0, 3.0])) * 6).tolist()
    [0.0, 1.0, 0.0]
    """
    x = as_float_array(x, "x")
    return _like(np.where((x > -3) & (x < 3), 1 / 6, 0.0), x)
# --8<-- [end:hard_sigmoid]


# --8<-- [start:hard_swish]
def hard_swish(x):
    """Hard swish = x · ReLU6(x + 3) / 6 = x · hard_sigmoid(x) (MobileNetV3): 0 for x ≤ −3, x for
    x ≥ 3 and x (x + 3) / 6 between, with minimum −0.375 at x = −1.5.

    >>> hard_swish(np.array([-4.0, -1.5, 1.0, 4.0])).tolist()
    [-0.0, -0.375, 0.6666666666666666, 4.0]
    """
    x = as_float_array(x, "x")
    return x * hard_sigmoid(x)


def hard_swish_grad(x):
    """Hard swish'(x) = 0 for x ≤ −3, (2x + 3) / 6 = x/3 + 1/2 for −3 < x < 3, and 1 for x ≥ 3.
    At the kinks this is PyTorch's choice: 0 at x = −3 (where the middle piece would give −1/2)
    and 1 at x = 3 (where it would give 3/2).

    >>> hard_swish_grad(np.array([-4.0, -3.0, -1.5, 0.0, 3.0, 4.0])).tolist()
    [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    """
    x = as_float_array(x, "x")
    return _like(np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0)), x)
# --8<-- [end:hard_swish]


def _halves(x, axis):
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension to split in half")
    axis = check_axis(axis, x.ndim)
    if x.shape[axis] % 2:
        raise ValueError(f"x must have an even size along axis {axis} to split into halves a, b; "
                         f"got shape {x.shape}")
    a, b = np.split(x, 2, axis=axis)
    return a, b, axis


def _gated_backward(dout, x, axis, value_and_slopes):
    """Shared backward of the gated units out = f(a, b): dL/da = dout·∂f/∂a, dL/db = dout·∂f/∂b."""
    a, b, axis = _halves(x, axis)
    dout = as_float_array(dout, "dout")
    if dout.shape != a.shape:
        raise ValueError(f"dout must have the shape of the output {a.shape}, got {dout.shape}")
    da, db = value_and_slopes(a, b)
    return np.concatenate([dout * da, dout * db], axis=axis).astype(x.dtype, copy=False)


# --8<-- [start:glu]
def glu(x, axis=-1):
    """Gated linear unit (Dauphin et al., 2017; PyTorch ``F.glu``): split x along ``axis`` into
    halves a (first) and b (second), then GLU(x) = a ⊙ σ(b). The output has half the size of x.

    >>> glu(np.array([[1.0, -2.0, 0.0, 2.0]])).round(4).tolist()      # a = (1, -2), b = (0, 2)
    [[0.5, -1.7616]]
    """
    a, b, _ = _halves(x, axis)
    return a * sigmoid(b)


def glu_backward(dout, x, axis=-1):
    """Given dout = dL/d out:  dL/da = dout ⊙ σ(b),  dL/db = dout ⊙ a ⊙ σ(b)(1 − σ(b)),
    returned concatenated along ``axis`` (the shape of x).

    >>> glu_backward(np.ones((1, 1)), np.array([[2.0, 0.0]])).tolist()
    [[0.5, 0.5]]
    """
    def slopes(a, b):
        s = sigmoid(b)
        return s, a * s * (1 - s)
    return _gated_backward(dout, x, axis, slopes)


def glu_grad(x, axis=-1):
    """d Σ GLU(x) / dx: each output depends on one entry of a and one of b, so the partial
    derivatives σ(b) and a σ(b)(1 − σ(b)) fill an array of x's shape.

    >>> glu_grad(np.array([[1.0, -2.0, 0.0, 2.0]])).round(4).tolist()
    [[0.5, 0.8808, 0.25, -0.21]]
    """
    a, _, _ = _halves(x, axis)
    return glu_backward(np.ones_like(a), x, axis)
# --8<-- [end:glu]


# --8<-- [start:swiglu]
def swiglu(x, axis=-1):
    """SwiGLU (Shazeer, 2020; the feed-forward gate of LLaMA-style models): halves a (the gate,
    first) and b of x along ``axis``, SwiGLU(x) = SiLU(a) ⊙ b = a σ(a) ⊙ b.

    >>> swiglu(np.array([[1.0, -2.0, 3.0, 0.5]])).round(4).tolist()   # a = (1, -2), b = (3, 0.5)
    [[2.1932, -0.1192]]
    """
    a, b, _ = _halves(x, axis)
    return swish(a) * b


def swiglu_backward(dout, x, axis=-1):
    """dL/da = dout ⊙ SiLU'(a) ⊙ b,  dL/db = dout ⊙ SiLU(a), concatenated along ``axis``.

    >>> swiglu_backward(np.ones((1, 1)), np.array([[0.0, 2.0]])).tolist()
    [[1.0, 0.0]]
    """
    return _gated_backward(dout, x, axis, lambda a, b: (swish_grad(a) * b, swish(a)))


def swiglu_grad(x, axis=-1):
    """d Σ SwiGLU(x) / dx, an array of x's shape (the halves SiLU'(a) b and SiLU(a)).

    >>> swiglu_grad(np.array([[1.0, -2.0, 3.0, 0.5]])).round(4).tolist()
    [[2.783, -0.0454, 0.7311, -0.2384]]
    """
    a, _, _ = _halves(x, axis)
    return swiglu_backward(np.ones_like(a), x, axis)
# --8<-- [end:swiglu]


# --8<-- [start:geglu]
def geglu(x, axis=-1):
    """GeGLU (Shazeer, 2020): halves a (first) and b of x along ``axis``, GeGLU(x) = GELU(a) ⊙ b
    with the exact (erf) GELU.

    >>> geglu(np.array([[1.0, -2.0, 3.0, 0.5]])).round(4).tolist()
    [[2.524, -0.0228]]
    """
    a, b, _ = _halves(x, axis)
    return gelu(a) * b


def geglu_backward(dout, x, axis=-1):
    """dL/da = dout ⊙ GELU'(a) ⊙ b,  dL/db = dout ⊙ GELU(a), concatenated along ``axis``.

    >>> geglu_backward(np.ones((1, 1)), np.array([[0.0, 2.0]])).tolist()
    [[1.0, 0.0]]
    """
    return _gated_backward(dout, x, axis, lambda a, b: (gelu_grad(a) * b, gelu(a)))


def geglu_grad(x, axis=-1):
    """d Σ GeGLU(x) / dx, an array of x's shape (the halves GELU'(a) b and GELU(a)).

    >>> geglu_grad(np.array([[1.0, -2.0, 3.0, 0.5]])).round(4).tolist()
    [[3.2499, -0.0426, 0.8413, -0.0455]]
    """
    a, _, _ = _halves(x, axis)
    return geglu_backward(np.ones_like(a), x, axis)
# --8<-- [end:geglu]


# --8<-- [start:binary_step]
def binary_step(x):
    """Heaviside step: 1 for x ≥ 0 and 0 for x < 0 (the perceptron's activation).

    >>> binary_step(np.array([-0.5, 0.0, 2.0])).tolist()
    [0.0, 1.0, 1.0]
    """
    x = as_float_array(x, "x")
    return _like(x >= 0, x)


def binary_step_grad(x):
    """The derivative is 0 everywhere except x = 0, where it does not exist (we return 0):
    no gradient ever flows through a step, which is why gradient descent cannot train it.

    >>> binary_step_grad(np.array([-0.5, 0.0, 2.0])).tolist()
    [0.0, 0.0, 0.0]
    """
    return np.zeros_like(as_float_array(x, "x"))
# --8<-- [end:binary_step]


def _softmax_input(x, axis):
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension (the class axis)")
    axis = check_axis(axis, x.ndim)
    if x.shape[axis] == 0:
        raise ValueError(f"x has an empty axis {axis} (shape {x.shape}): softmax needs >= 1 entry")
    return x, axis


# --8<-- [start:softmax]
def softmax(x, axis=-1, temperature=1.0):
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j), computed as e^(x_i − m) / Σ_j e^(x_j − m) with
    m = max_j x_j: the same value (the factor e^(−m) cancels) without overflow, since every
    exponent is ≤ 0 and the largest term is exactly 1.

    With a temperature T > 0 it is softmax(x / T), computed as e^((x_i − m)/T) / Σ_j e^((x_j − m)/T):
    T > 1 flattens the distribution towards uniform, T < 1 sharpens it towards the argmax.

    >>> softmax(np.array([1.0, 2.0, 3.0])).round(4).tolist()
    [0.09, 0.2447, 0.6652]
    >>> softmax(np.array([1000.0, 1001.0, 1002.0])).round(4).tolist()   # naive e^1000 = inf
    [0.09, 0.2447, 0.6652]
    >>> [softmax(np.array([1.0, 2.0, 3.0]), temperature=t).round(4).tolist() for t in (0.5, 5.0)]
    [[0.0159, 0.1173, 0.8668], [0.2693, 0.3289, 0.4018]]
    """
    x, axis = _softmax_input(x, axis)
    temperature = as_real(temperature, "temperature", low=0.0, low_open=True)
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z if temperature == 1.0 else z / temperature)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """log softmax(x)_i = x_i − m − log Σ_j e^(x_j − m), m = max_j x_j (log-sum-exp trick):
    finite even where softmax itself underflows to 0.

    >>> log_softmax(np.array([0.0, 1000.0])).tolist()    # log(softmax) would give -inf
    [-1000.0, 0.0]
    """
    x, axis = _softmax_input(x, axis)
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_jacobian(x):
    """For one vector x with p = softmax(x):  ∂p_i/∂x_j = p_i (δ_ij − p_j),  J = diag(p) − p pᵀ.

    >>> softmax_jacobian(np.array([0.0, 0.0])).tolist()
    [[0.25, -0.25], [-0.25, 0.25]]
    """
    x = as_float_array(x, "x", ndim=1)
    p = softmax(x)
    return np.diag(p) - np.outer(p, p)


def log_softmax_jacobian(x):
    """∂ log p_i / ∂x_j = δ_ij − p_j, i.e. J = I − 1 pᵀ.

    >>> log_softmax_jacobian(np.array([0.0, 0.0])).tolist()
    [[0.5, -0.5], [-0.5, 0.5]]
    """
    x = as_float_array(x, "x", ndim=1)
    p = softmax(x)
    return np.eye(x.size, dtype=x.dtype) - p[None, :]
# --8<-- [end:softmax]
