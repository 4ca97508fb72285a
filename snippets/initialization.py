"""Weight initialization (the Initialization page).

Weights are laid out for ``x @ W`` with a batch of rows x: W has shape (fan_in, fan_out), so
``z = x @ W`` has one column per unit. (PyTorch's ``nn.Linear.weight`` is the transpose,
(fan_out, fan_in); the variances below are the same as ``torch.nn.init``'s.)

Why the variances: for z_j = Σ_i x_i W_ij with independent zero-mean W of variance σ², and
fan_in = n_in inputs, Var(z) = n_in σ² E[x²]. Keeping the forward signal's scale needs
σ² = 1/n_in, keeping the backward gradient's scale needs σ² = 1/n_out; Xavier takes the
compromise 2/(n_in + n_out) (for tanh, linear near 0). ReLU zeroes half of its inputs, so
E[relu(z)²] = Var(z)/2 and He doubles the variance: 2/n_in. A uniform U(−a, a) has variance
a²/3, so a variance σ² needs the bound a = √(3σ²).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from snippets import activations as act
from snippets._validation import as_choice, as_float_array, as_generator, as_int, as_real


def _normal(fan_in, fan_out, rng, variance):
    return rng.normal(0.0, math.sqrt(variance), size=(fan_in, fan_out))


def _uniform(fan_in, fan_out, rng, variance):
    bound = math.sqrt(3 * variance)               # Var(U(−a, a)) = a²/3
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _checked(fan_in, fan_out, rng):
    return as_int(fan_in, "fan_in", low=1), as_int(fan_out, "fan_out", low=1), as_generator(rng)


# --8<-- [start:xavier_uniform]
def xavier_uniform(fan_in, fan_out, rng):
    """Xavier/Glorot uniform: W ~ U(−a, a) with a = √(6 / (n_in + n_out)),
    so Var(W) = a²/3 = 2 / (n_in + n_out).  (``torch.nn.init.xavier_uniform_``, gain 1.)

    >>> W = xavier_uniform(300, 200, np.random.default_rng(0))
    >>> W.shape, str(W.dtype)
    ((300, 200), 'float64')
    >>> round(float(np.abs(W).max()), 4), round(math.sqrt(6 / 500), 4)    # the bound a
    (0.1095, 0.1095)
    >>> round(float(W.var() * (300 + 200) / 2), 2)                        # Var · (n_in+n_out)/2
    1.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    return _uniform(fan_in, fan_out, rng, 2 / (fan_in + fan_out))
# --8<-- [end:xavier_uniform]


# --8<-- [start:xavier_normal]
def xavier_normal(fan_in, fan_out, rng):
    """Xavier/Glorot normal: W ~ N(0, σ²) with σ² = 2 / (n_in + n_out).
    (``torch.nn.init.xavier_normal_``, gain 1.)

    >>> W = xavier_normal(300, 200, np.random.default_rng(0))
    >>> round(float(W.var() * (300 + 200) / 2), 2), round(float(W.mean()), 3)
    (1.0, 0.0)
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    return _normal(fan_in, fan_out, rng, 2 / (fan_in + fan_out))
# --8<-- [end:xavier_normal]


# --8<-- [start:he_uniform]
def he_uniform(fan_in, fan_out, rng):
    """He/Kaiming uniform for ReLU: W ~ U(−a, a) with a = √(6 / n_in), so Var(W) = 2 / n_in.
    (``torch.nn.init.kaiming_uniform_(mode="fan_in", nonlinearity="relu")``.)

    >>> W = he_uniform(300, 200, np.random.default_rng(0))
    >>> round(float(np.abs(W).max()), 4), round(math.sqrt(6 / 300), 4)
    (0.1414, 0.1414)
    >>> round(float(W.var() * 300 / 2), 2)
    1.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    return _uniform(fan_in, fan_out, rng, 2 / fan_in)
# --8<-- [end:he_uniform]


# --8<-- [start:he_normal]
def he_normal(fan_in, fan_out, rng):
    """He/Kaiming normal for ReLU: W ~ N(0, 2 / n_in).
    (``torch.nn.init.kaiming_normal_(mode="fan_in", nonlinearity="relu")``.)

    >>> W = he_normal(300, 200, np.random.default_rng(0))
    >>> round(float(W.var() * 300 / 2), 2)
    1.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    return _normal(fan_in, fan_out, rng, 2 / fan_in)
# --8<-- [end:he_normal]


# --8<-- [start:lecun_normal]
def lecun_normal(fan_in, fan_out, rng):
    """LeCun normal, the initialization SELU's self-normalization assumes: W ~ N(0, 1 / n_in).
    (PyTorch's SELU docs use ``kaiming_normal_(nonlinearity="linear")``, this same normal;
    Keras draws from a truncated normal rescaled to the same variance.)

    >>> W = lecun_normal(300, 200, np.random.default_rng(0))
    >>> round(float(W.var() * 300), 2)
    1.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    return _normal(fan_in, fan_out, rng, 1 / fan_in)
# --8<-- [end:lecun_normal]


# --8<-- [start:small_random]
def small_random(fan_in, fan_out, rng, scale=0.01):
    """The classic "small random numbers": W = scale · N(0, 1) (NumPy's ``randn``, not ``rand``:
    ``rand`` is uniform on [0, 1), so every weight would be positive with mean scale/2).
    Fine for a shallow net; in a deep one the signal shrinks by about scale·√n_in per layer.

    >>> W = small_random(300, 200, np.random.default_rng(0))
    >>> round(float(W.std()), 4), bool((W < 0).any())
    (0.01, True)
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    scale = as_real(scale, "scale", low=0.0, low_open=True)
    return scale * rng.standard_normal((fan_in, fan_out))
# --8<-- [end:small_random]


# --8<-- [start:calculate_gain]
_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The gain g of ``torch.nn.init.calculate_gain``: initializations multiply their standard
    deviation by g, so that a layer followed by this nonlinearity keeps the signal's scale.

        linear, conv*, sigmoid: 1     tanh: 5/3     relu: √2
        leaky_relu: √(2 / (1 + a²)), a = param (default 0.01)     selu: 3/4

    √2 comes from E[relu(z)²] = Var(z)/2; 5/3 is an empirical value for tanh (its slope is 1
    at 0 and smaller elsewhere, so unit gain lets the signal shrink); 3/4 is PyTorch's choice
    for SELU. sigmoid's 1 is only a convention (σ'(0) = 1/4 and σ is not zero-centred).

    >>> calculate_gain("tanh"), calculate_gain("relu"), calculate_gain("selu")
    (1.6666666666666667, 1.4142135623730951, 0.75)
    >>> round(calculate_gain("leaky_relu"), 6), round(calculate_gain("leaky_relu", math.sqrt(5)), 6)
    (1.414143, 0.57735)
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (bool, np.bool_)) or not isinstance(param, numbers.Real) \
                or not math.isfinite(param):
            raise ValueError(f"param (the negative slope of leaky_relu) must be a real number, "
                             f"got {param!r}")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    as_choice(nonlinearity, _LINEAR_GAIN + ("tanh", "relu", "leaky_relu", "selu"), "nonlinearity")
# --8<-- [end:calculate_gain]


# --8<-- [start:kaiming_uniform]
def kaiming_uniform(fan_in, fan_out, rng, a=0.0):
    """``torch.nn.init.kaiming_uniform_`` (mode "fan_in", nonlinearity "leaky_relu" with slope a):
    W ~ U(−b, b) with

        gain = √(2 / (1 + a²)),    b = gain · √(3 / n_in),    Var(W) = gain² / n_in

    a = 0 is He uniform. a = √5 is what ``nn.Linear`` and ``nn.Conv2d`` use by default
    (``reset_parameters``): gain² = 1/3, so b = 1/√n_in and Var(W) = 1/(3 n_in) — a third of
    LeCun's variance, not He's.

    >>> W = kaiming_uniform(300, 200, np.random.default_rng(0), a=math.sqrt(5))
    >>> round(float(np.abs(W).max()), 4), round(1 / math.sqrt(300), 4)     # the bound 1/√n_in
    (0.0577, 0.0577)
    >>> round(float(W.var() * 3 * 300), 2)                                 # Var = 1/(3 n_in)
    1.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    a = as_real(a, "a")
    return _uniform(fan_in, fan_out, rng, 2 / (1 + a * a) / fan_in)
# --8<-- [end:kaiming_uniform]


# --8<-- [start:orthogonal]
def orthogonal(fan_in, fan_out, rng, gain=1.0):
    """``torch.nn.init.orthogonal_`` in the (fan_in, fan_out) layout: the Q factor of the QR
    decomposition of a Gaussian matrix, its signs fixed by diag(R) (so Q is uniform over the
    orthogonal matrices), times gain:

        n_in ≥ n_out:  Wᵀ W = gain² I  (orthonormal columns)
        n_in < n_out:  W Wᵀ = gain² I  (orthonormal rows: ‖x W‖ = gain · ‖x‖ for every x)

    A square orthogonal W keeps the norm of every input exactly, not only on average, so
    a deep *linear* network neither shrinks nor grows the signal.

    >>> W = orthogonal(3, 5, np.random.default_rng(0))
    >>> (W @ W.T).round(10).tolist() == np.eye(3).tolist()
    True
    >>> x = np.array([1.0, 2.0, 2.0])
    >>> round(float(np.linalg.norm(x @ orthogonal(3, 5, np.random.default_rng(0), gain=2.0))), 10)
    6.0
    """
    fan_in, fan_out, rng = _checked(fan_in, fan_out, rng)
    gain = as_real(gain, "gain")
    flat = rng.standard_normal((fan_in, fan_out))
    transpose = fan_in < fan_out
    if transpose:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    return gain * (q.T if transpose else q)
# --8<-- [end:orthogonal]


# --8<-- [start:fan_in_and_fan_out]
def fan_in_and_fan_out(shape):
    """Fan-in and fan-out of a PyTorch weight shape (``torch.nn.init``'s rule): a Linear weight
    (out, in), or a convolution's (F, C, k_h, k_w, …) whose every output sees C·k_h·k_w inputs:

        n_in = C · k_h · k_w,     n_out = F · k_h · k_w

    >>> fan_in_and_fan_out((64, 3, 3, 3)), fan_in_and_fan_out((10, 784))
    ((27, 576), (784, 10))
    """
    if not isinstance(shape, (tuple, list)) or len(shape) < 2 or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n >= 1
            for n in shape):
        raise ValueError(f"shape must be a tuple of at least two positive integers, got {shape!r}")
    receptive = math.prod(int(n) for n in shape[2:])
    return int(shape[1]) * receptive, int(shape[0]) * receptive
# --8<-- [end:fan_in_and_fan_out]


_ACTIVATIONS = {
    "linear": (lambda z: z, np.ones_like),
    "tanh": (act.tanh, act.tanh_grad),
    "sigmoid": (act.sigmoid, act.sigmoid_grad),
    "relu": (act.relu, act.relu_grad),
    "selu": (act.selu, act.selu_grad),
}


def _activation(name):
    return _ACTIVATIONS[as_choice(name, tuple(_ACTIVATIONS), "activation")]


# --8<-- [start:activation_stds]
def activation_stds(init, activation, rng, n_layers=50, width=256, batch_size=512):
    """Push a batch x ~ N(0, 1) of shape (batch_size, width) through n_layers layers
    a ← activation(a @ W), W = init(width, width, rng), biases 0, and return the standard
    deviation of a after each layer (shape (n_layers,)): the scale the page plots.

    Per layer Var(z) = n σ² E[a²]: with ReLU, He (σ² = 2/n) keeps it constant while Xavier
    (1/n for a square layer) halves it each layer; 0.01·randn shrinks tanh activations by
    about 0.01·√n per layer, to nothing.

    >>> rng = np.random.default_rng(0)
    >>> he = activation_stds(he_normal, "relu", rng, n_layers=50)
    >>> xavier = activation_stds(xavier_normal, "relu", rng, n_layers=50)
    >>> round(float(he[-1] / he[0]), 1)          # ≈ 1: finite-width noise only
    1.5
    >>> f"{float(xavier[-1] / xavier[0]):.0e}"   # halved variance per layer: (1/√2)⁴⁹ ≈ 4e-08
    '3e-08'
    """
    if not callable(init):
        raise ValueError("init must be a function (fan_in, fan_out, rng) -> weight array")
    f, _ = _activation(activation)
    rng = as_generator(rng)
    n_layers = as_int(n_layers, "n_layers", low=1)
    width = as_int(width, "width", low=1)
    batch_size = as_int(batch_size, "batch_size", low=1)
    a = rng.standard_normal((batch_size, width))
    stds = np.empty(n_layers)
    for layer in range(n_layers):
        a = f(a @ init(width, width, rng))
        stds[layer] = a.std()
    return stds
# --8<-- [end:activation_stds]


_PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _net_inputs(params, x, y):
    try:
        W1, b1, W2, b2 = (as_float_array(params[k], f"params[{k!r}]") for k in _PARAM_NAMES)
    except (KeyError, TypeError):
        raise ValueError(f"params must be a dict with keys {_PARAM_NAMES}") from None
    x = as_float_array(x, "x", ndim=2)
    y = as_float_array(y, "y", ndim=2)
    n, d = x.shape
    if W1.ndim != 2 or W1.shape[0] != d:
        raise ValueError(f"params['W1'] must have shape ({d}, H), got {W1.shape}")
    h = W1.shape[1]
    if b1.shape != (h,):
        raise ValueError(f"params['b1'] must have shape ({h},), got {b1.shape}")
    if W2.ndim != 2 or W2.shape[0] != h:
        raise ValueError(f"params['W2'] must have shape ({h}, C), got {W2.shape}")
    c = W2.shape[1]
    if b2.shape != (c,):
        raise ValueError(f"params['b2'] must have shape ({c},), got {b2.shape}")
    if y.shape != (n, c):
        raise ValueError(f"y must have shape {(n, c)}, got {y.shape}")
    return W1, b1, W2, b2, x, y


# --8<-- [start:two_layer_net]
def two_layer_net(params, x, y, activation="tanh"):
    """Loss and gradients of a tiny two-layer net, for the symmetry and zero-init experiments.

        z = x W1 + b1,   h = act(z),   ŷ = h W2 + b2,   L = Σ (ŷ − y)² / (2N)
        dŷ = (ŷ − y)/N,   dW2 = hᵀ dŷ,   db2 = Σ_n dŷ
        dz = (dŷ W2ᵀ) ⊙ act'(z),   dW1 = xᵀ dz,   db1 = Σ_n dz

    ``params`` is a dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); x is (N, D), y (N, C).
    Returns (L, grads) with grads a dict of the same keys and shapes.

    All-zero weights: with tanh (or ReLU) h = act(0) = 0, so dW2 = 0 and, as W2 = 0, dW1 = 0
    and db1 = 0; only b2 learns. With sigmoid h = 1/2, so dW2 ≠ 0 (the same for every unit).

    >>> zeros = {"W1": np.zeros((2, 3)), "b1": np.zeros(3), "W2": np.zeros((3, 1)), "b2": np.zeros(1)}
    >>> x, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([[1.0], [0.0]])
    >>> _, g = two_layer_net(zeros, x, y, "tanh")
    >>> g["W2"].ravel().tolist(), g["b2"].tolist()
    ([0.0, 0.0, 0.0], [-0.5])
    >>> _, g = two_layer_net(zeros, x, y, "sigmoid")
    >>> g["W2"].ravel().tolist(), float(np.abs(g["W1"]).max())
    ([-0.25, -0.25, -0.25], 0.0)
    """
    W1, b1, W2, b2, x, y = _net_inputs(params, x, y)
    f, f_grad = _activation(activation)
    n = x.shape[0]
    z = x @ W1 + b1
    h = f(z)
    y_hat = h @ W2 + b2
    loss = float(np.sum((y_hat - y) ** 2) / (2 * n))
    dy = (y_hat - y) / n
    dz = (dy @ W2.T) * f_grad(z)
    grads = {"W1": x.T @ dz, "b1": dz.sum(axis=0), "W2": h.T @ dy, "b2": dy.sum(axis=0)}
    return loss, grads
# --8<-- [end:two_layer_net]


# --8<-- [start:train_two_layer]
def train_two_layer(params, x, y, activation="tanh", lr=0.1, n_steps=10):
    """Plain gradient descent on ``two_layer_net``: θ ← θ − η ∇L, n_steps times.
    Returns the new params dict (the input dict and arrays are not modified).

    Symmetry: if two hidden units start with the same incoming and outgoing weights, they get
    the same gradients at every step and stay identical, however long we train.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    >>> same = {"W1": np.full((2, 3), 0.5), "b1": np.zeros(3), "W2": np.full((3, 1), 0.5),
    ...         "b2": np.zeros(1)}
    >>> p = train_two_layer(same, x, y, "tanh", lr=0.5, n_steps=100)
    >>> p["W1"].round(4).tolist()               # 3 columns (units), still all equal
    [[0.0561, 0.0561, 0.0561], [0.6045, 0.6045, 0.6045]]
    """
    W1, b1, W2, b2, x, y = _net_inputs(params, x, y)
    lr = as_real(lr, "lr", low=0.0, low_open=True)
    n_steps = as_int(n_steps, "n_steps", low=0)
    current = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    for _ in range(n_steps):
        _, grads = two_layer_net(current, x, y, activation)
        current = {k: current[k] - lr * grads[k] for k in _PARAM_NAMES}
    return {k: np.array(v, copy=True) for k, v in current.items()}
# --8<-- [end:train_two_layer]
