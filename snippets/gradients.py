"""Vanishing and exploding gradients (the Gradients page): products of local derivatives,
per-layer gradient norms of deep networks, gradient clipping, recurrent Jacobians and the LSTM/GRU
cells (PyTorch's gate order), the update-to-weight ratio, and float16/bfloat16 limits with loss
scaling.

Backpropagation multiplies one Jacobian per layer, so the gradient that reaches layer 1 of an
L-layer network is a product of L factors: factors below 1 make it vanish, above 1 explode.
"""

from __future__ import annotations

import numpy as np

from snippets._validation import as_choice, as_flag, as_float_array, as_generator, as_int, as_list, as_real
from snippets.activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad

# float16 (IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits).
FP16_MAX = 65504.0                    # (2 − 2⁻¹⁰) · 2¹⁵, the largest finite float16
FP16_SMALLEST_NORMAL = 2.0 ** -14     # ≈ 6.10e-5
FP16_SMALLEST_SUBNORMAL = 2.0 ** -24  # ≈ 5.96e-8; half of it and less rounds to 0
# bfloat16 (1 sign, 8 exponent, 7 fraction bits): float32's range, 3 fewer digits.
BF16_MAX = (2 - 2.0 ** -7) * 2.0 ** 127   # ≈ 3.39e38
BF16_SMALLEST_NORMAL = 2.0 ** -126        # ≈ 1.18e-38, as float32


# --8<-- [start:chain_gradients]
def chain_gradients(local_grads):
    """Gradient of the output of a chain y = f_L(…f_2(f_1(x))) with respect to the input of
    each layer, from scalar local derivatives d_l = f_l′:

        ∂y/∂(input of layer l) = d_l · d_{l+1} ⋯ d_L      (returned for l = 1 … L)

    The first entry, the gradient that reaches the input, is a product of L factors.

    >>> g = chain_gradients([1.5] * 50)[0]; float(g)            # 1.5⁵⁰: explodes
    637621500.2140496
    >>> g = chain_gradients([0.5] * 50)[0]; float(g)            # 0.5⁵⁰: vanishes
    8.881784197001252e-16
    >>> chain_gradients([0.25] * 4).tolist()                     # σ′ ≤ 1/4 at every layer
    [0.00390625, 0.015625, 0.0625, 0.25]
    """
    d = as_float_array(local_grads, "local_grads", ndim=1)
    if d.size == 0:
        raise ValueError("local_grads must contain at least one layer")
    return np.cumprod(d[::-1])[::-1]
# --8<-- [end:chain_gradients]


# --8<-- [start:sigmoid_chain]
def sigmoid_chain(x, depth, w=1.0):
    """A scalar chain of ``depth`` sigmoid layers a_l = σ(w · a_{l−1}), a_0 = x, and its
    derivative by the chain rule:

        da_L/dx = Π_l w · σ′(w · a_{l−1}),   so  |da_L/dx| ≤ (|w|/4)^L   since σ′ ≤ 1/4

    Returns (a_L, da_L/dx) as floats.

    >>> out, grad = sigmoid_chain(0.0, 10)
    >>> round(out, 4), f"{grad:.3e}", f"{0.25 ** 10:.3e}"
    (0.659, '3.875e-07', '9.537e-07')
    """
    x = as_real(x, "x")
    depth = as_int(depth, "depth", low=1)
    w = as_real(w, "w")
    a, grad = np.float64(x), 1.0
    for _ in range(depth):
        z = w * a
        grad *= w * float(sigmoid_grad(z))
        a = sigmoid(z)
    return float(a), float(grad)
# --8<-- [end:sigmoid_chain]


_ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad),
                "relu": (relu, relu_grad)}


# --8<-- [start:deep_mlp_grads]
def deep_mlp_grads(x, weights, g, activation="sigmoid", residual=False, branch_scale=1.0):
    """Loss and weight gradients of a deep MLP without biases, plain or residual:

        plain:     aˡ = f(aˡ⁻¹ Wˡ)                  residual:  aˡ = aˡ⁻¹ + β · f(aˡ⁻¹ Wˡ)
        loss = (1/N) Σ g ⊙ aᴸ                        (a fixed random linear read-out g)

    Backward, with ∂loss/∂aᴸ = g / N and zˡ = aˡ⁻¹ Wˡ:

        plain:     δˡ = ∂loss/∂aˡ ⊙ f′(zˡ),      ∂loss/∂aˡ⁻¹ = δˡ (Wˡ)ᵀ
        residual:  δˡ = β · ∂loss/∂aˡ ⊙ f′(zˡ),  ∂loss/∂aˡ⁻¹ = ∂loss/∂aˡ + δˡ (Wˡ)ᵀ
        ∂loss/∂Wˡ = (aˡ⁻¹)ᵀ δˡ

    The residual Jacobian is ∂aˡ/∂aˡ⁻¹ = I + β ∂f/∂aˡ⁻¹: the identity term carries the
    gradient past every layer unchanged. Returns (loss, [∂loss/∂W¹, …, ∂loss/∂Wᴸ]).

    >>> x = np.array([[1.0, -1.0]]); g = np.array([[1.0, 0.0]])
    >>> W = [np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])]
    >>> loss, grads = deep_mlp_grads(x, W, g, activation="relu")    # a¹ = [1, 0], a² = [0, 1]
    >>> loss, [gr.tolist() for gr in grads]
    (0.0, [[[0.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    >>> loss, grads = deep_mlp_grads(x, W, g, activation="relu", residual=True)
    >>> loss, [gr.tolist() for gr in grads]
    (2.0, [[[1.0, 0.0], [-1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    """
    x = as_float_array(x, "x", ndim=2)
    g = as_float_array(g, "g", ndim=2)
    f, f_grad = _ACTIVATIONS[as_choice(activation, tuple(_ACTIVATIONS), "activation")]
    residual = as_flag(residual, "residual")
    beta = as_real(branch_scale, "branch_scale")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one example (row)")
    weights = [as_float_array(W, f"weights[{i}]", ndim=2)
               for i, W in enumerate(as_list(weights, "weights"))]
    for i, W in enumerate(weights):
        if W.shape != (x.shape[1], x.shape[1]):
            raise ValueError(f"weights[{i}] must have shape {(x.shape[1], x.shape[1])} "
                             f"(width × width), got {W.shape}")
    if g.shape != x.shape:
        raise ValueError(f"g must have the shape of x {x.shape}, got {g.shape}")

    a, cache = x, []
    for W in weights:
        z = a @ W
        cache.append((a, z))
        a = a + beta * f(z) if residual else f(z)
    n = x.shape[0]
    loss = float(np.sum(g * a) / n)

    da, grads = g / n, [None] * len(weights)
    for l in reversed(range(len(weights))):
        a_prev, z = cache[l]
        delta = (beta * da if residual else da) * f_grad(z)
        grads[l] = a_prev.T @ delta
        da = (da if residual else 0) + delta @ weights[l].T
    return loss, grads
# --8<-- [end:deep_mlp_grads]


# --8<-- [start:layer_gradient_norms]
def layer_gradient_norms(depth=30, width=64, activation="sigmoid", residual=False,
                         branch_scale=1.0, batch=64, rng=None):
    """‖∂loss/∂Wˡ‖ (Frobenius norm) for every layer l = 1 … depth (layer 1 is next to the input)
    of a randomly initialized deep MLP (see deep_mlp_grads), for a batch x ~ N(0, 1) and a
    random read-out g ~ N(0, 1). Weights are N(0, 1/width) (Xavier) for sigmoid and tanh and
    N(0, 2/width) (He) for ReLU. All randomness comes from ``rng``
    (a numpy.random.Generator; by default ``np.random.default_rng(0)``, so results are reproducible).

    A sigmoid network loses a factor of about 4 or more per layer on the way back (σ′ ≤ 1/4),
    ReLU with He initialization keeps the norms of the same order, and residual connections
    keep them even with sigmoid branches. (With ReLU branches and no normalization the
    residual sum grows with depth; use branch_scale ≈ 1/√depth there.)

    >>> n = layer_gradient_norms(depth=20, activation="sigmoid")
    >>> f"{n[0] / n[-1]:.0e}"                        # first layer / last layer: vanished
    '2e-12'
    >>> n = layer_gradient_norms(depth=20, activation="relu")
    >>> round(float(n[0] / n[-1]), 2)
    1.97
    >>> n = layer_gradient_norms(depth=20, activation="sigmoid", residual=True)
    >>> round(float(n[0] / n[-1]), 2)
    0.36
    """
    depth = as_int(depth, "depth", low=1)
    width = as_int(width, "width", low=1)
    batch = as_int(batch, "batch", low=1)
    as_choice(activation, tuple(_ACTIVATIONS), "activation")
    rng = np.random.default_rng(0) if rng is None else as_generator(rng)
    std = np.sqrt((2.0 if activation == "relu" else 1.0) / width)
    x = rng.standard_normal((batch, width))
    weights = [rng.standard_normal((width, width)) * std for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    _, grads = deep_mlp_grads(x, weights, g, activation, residual, branch_scale)
    return np.array([np.linalg.norm(gr) for gr in grads])
# --8<-- [end:layer_gradient_norms]






# --8<-- [start:fp16_gradient]
def fp16_gradient(grad, scale=1.0):
    """What is left of a gradient stored in float16 with loss scaling:

        fp16_gradient(g, S) = float16(g · S) / S        (the unscaling is done in float64)

    Gradients below 2⁻²⁵ ≈ 3e-8 underflow to 0 in float16 and are lost; multiplying the loss
    (hence every gradient) by S before the backward pass lifts them into range, and dividing by S
    in higher precision afterwards recovers them. Too large a scale overflows to inf
    (from 65520 up; 65504 is the largest float16), which is why dynamic loss scaling lowers S and skips that step.

    >>> fp16_gradient(1e-8)                           # underflows: the update is lost
    0.0
    >>> f"{fp16_gradient(1e-8, scale=2.0 ** 16):.4e}" # scaled by 65536: survives
    '9.9972e-09'
    >>> fp16_gradient(1.0, scale=2.0 ** 17)           # 131072 > 65504: overflow
    inf
    """
    grad = as_float_array(grad, "grad")
    scale = as_real(scale, "scale", low=0.0, low_open=True)
    with np.errstate(over="ignore"):
        stored = (grad * scale).astype(np.float16)
    out = stored.astype(np.float64) / scale
    return float(out) if out.ndim == 0 else out
# --8<-- [end:fp16_gradient]


# --8<-- [start:to_bfloat16]
def to_bfloat16(x):
    """Round to the nearest bfloat16 (ties to even), returned as float32: keep float32's sign and
    8 exponent bits and the top 7 of its 23 fraction bits. Same range as float32 (largest
    (2 − 2⁻⁷)·2¹²⁷ ≈ 3.39e38, smallest normal 2⁻¹²⁶), but a machine epsilon of 2⁻⁷ = 0.0078
    instead of float16's 2⁻¹⁰: gradients rarely underflow, so no loss scaling, but small
    additions to large numbers vanish sooner.

    >>> to_bfloat16(np.array([1 + 2 ** -8, 1 + 2 ** -7, 65520.0, 3.0e38])).tolist()
    [1.0, 1.0078125, 65536.0, 3.00405527047391e+38]
    >>> float(to_bfloat16(1e-8)) > 0                # float16 loses it, bfloat16 keeps it
    True
    """
    x = as_float_array(x, "x")
    with np.errstate(over="ignore"):
        bits = x.astype(np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    lsb = (bits >> 16) & 1                              # round half to even
    rounded = ((bits + 0x7FFF + lsb) >> 16) << 16
    out = (rounded & 0xFFFFFFFF).astype(np.uint32).view(np.float32).reshape(x.shape)
    return np.where(np.isnan(x), np.float32(np.nan), out).astype(np.float32)
# --8<-- [end:to_bfloat16]


# --8<-- [start:lstm_cell]
def lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step, as torch.nn.LSTMCell (gates stacked in the order i, f, g, o):

        [i; f; g; o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh             (N, 4H)
        i, f, o = σ(·),  g = tanh(·)
        c' = f ⊙ c + i ⊙ g,        h' = o ⊙ tanh(c')

    Shapes: x (N, D), h and c (N, H), W_ih (4H, D), W_hh (4H, H), b_ih and b_hh (4H,).
    ∂c'/∂c = diag(f) along the cell path: the forget gate's bias sets how much gradient
    survives each step (b_f = 1 gives f ≈ σ(1) = 0.73 at initialization instead of 0.5).
    Returns (h', c').

    >>> H = 1; W_ih = np.zeros((4, 1)); W_hh = np.zeros((4, 1)); b = np.zeros(4)
    >>> h, c = lstm_cell(np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), W_ih, W_hh, b, b)
    >>> round(float(c[0, 0]), 4), round(float(h[0, 0]), 4)      # c' = 0.5·1 + 0.5·0, h' = 0.5·tanh(0.5)
    (0.5, 0.2311)
    """
    x, h, c, W_ih, W_hh, b_ih, b_hh, H = _cell_inputs(x, h, c, W_ih, W_hh, b_ih, b_hh, 4)
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(c_new)
    return h_new, c_new
# --8<-- [end:lstm_cell]


# --8<-- [start:gru_cell]
def gru_cell(x, h, W_ih, W_hh, b_ih, b_hh):
    """One GRU step, as torch.nn.GRUCell (gates stacked in the order r, z, n):

        r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr),   z = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)
        n = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))
        h' = (1 − z) ⊙ n + z ⊙ h

    z interpolates between the old state and the candidate: ∂h'/∂h contains diag(z), the GRU's
    additive path (the LSTM's forget gate with the input gate tied to 1 − f). Shapes: x (N, D),
    h (N, H), W_ih (3H, D), W_hh (3H, H), b_ih and b_hh (3H,).

    >>> W = np.zeros((3, 1)); b = np.zeros(3)
    >>> round(float(gru_cell(np.ones((1, 1)), np.full((1, 1), 0.8), W, W, b, b)[0, 0]), 4)  # z = 0.5, n = 0
    0.4
    """
    x, h, _, W_ih, W_hh, b_ih, b_hh, H = _cell_inputs(x, h, h, W_ih, W_hh, b_ih, b_hh, 3)
    gi = x @ W_ih.T + b_ih
    gh = h @ W_hh.T + b_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h
# --8<-- [end:gru_cell]


def _cell_inputs(x, h, c, W_ih, W_hh, b_ih, b_hh, k):
    x = as_float_array(x, "x", ndim=2)
    h = as_float_array(h, "h", ndim=2)
    c = as_float_array(c, "c", ndim=2)
    W_ih = as_float_array(W_ih, "W_ih", ndim=2)
    W_hh = as_float_array(W_hh, "W_hh", ndim=2)
    b_ih = as_float_array(b_ih, "b_ih", ndim=1)
    b_hh = as_float_array(b_hh, "b_hh", ndim=1)
    N, D = x.shape
    H = h.shape[1]
    if h.shape[0] != N or c.shape != h.shape:
        raise ValueError(f"h (and c) must have shape (N, H) with N = {N} like x, got {h.shape}, {c.shape}")
    if W_ih.shape != (k * H, D):
        raise ValueError(f"W_ih must have shape ({k}H, D) = {(k * H, D)}, got {W_ih.shape}")
    if W_hh.shape != (k * H, H):
        raise ValueError(f"W_hh must have shape ({k}H, H) = {(k * H, H)}, got {W_hh.shape}")
    if b_ih.shape != (k * H,) or b_hh.shape != (k * H,):
        raise ValueError(f"b_ih and b_hh must have shape ({k}H,) = ({k * H},), got {b_ih.shape}, {b_hh.shape}")
    return x, h, c, W_ih, W_hh, b_ih, b_hh, H


# --8<-- [start:rnn_jacobian_norms]
def rnn_jacobian_norms(W, steps, inputs=None, h0=None):
    """How the gradient of a tanh RNN, h_t = tanh(h_{t−1} W + u_t), changes over time: the
    spectral norms ‖∂h_T/∂h_{T−k}‖₂ for k = 0 … steps (rows as examples, one sequence), where

        ∂h_t/∂h_{t−1} = W diag(1 − h_t²),   so   ‖∂h_T/∂h_{T−k}‖ ≤ (γ σ_max(W))^k,  γ = max|tanh'| = 1

    (Pascanu et al., 2013). σ_max(W) < 1 is sufficient for vanishing; σ_max(W) > 1 is
    necessary for exploding but not sufficient — saturated units (small 1 − h²) or a
    non-normal W can still make the gradient vanish. inputs u_t: (steps, H), default 0;
    h0: (H,), default 0.

    >>> rnn_jacobian_norms(0.5 * np.eye(2), 3).round(4).tolist()          # linear regime: 0.5^k
    [1.0, 0.5, 0.25, 0.125]
    >>> float(rnn_jacobian_norms(3 * np.eye(2), 20, np.ones((20, 2)))[-1]) < 1e-20  # σ = 3, saturated
    True
    """
    W = as_float_array(W, "W", ndim=2)
    H = W.shape[0]
    if W.shape != (H, H) or H == 0:
        raise ValueError(f"W must be a square (H, H) matrix, got shape {W.shape}")
    steps = as_int(steps, "steps", 1)
    u = np.zeros((steps, H)) if inputs is None else as_float_array(inputs, "inputs", ndim=2)
    if u.shape != (steps, H):
        raise ValueError(f"inputs must have shape (steps, H) = {(steps, H)}, got {u.shape}")
    h = np.zeros(H) if h0 is None else as_float_array(h0, "h0", ndim=1)
    if h.shape != (H,):
        raise ValueError(f"h0 must have shape (H,) = ({H},), got {h.shape}")
    local = []
    for t in range(steps):
        h = np.tanh(h @ W + u[t])
        local.append(W * (1 - h ** 2))                 # ∂h_t/∂h_{t−1} = W diag(1 − h_t²)
    norms, J = [1.0], np.eye(H)
    for A in reversed(local):                          # ∂h_T/∂h_{T−k} = A_{T−k+1} … A_T
        J = A @ J
        norms.append(float(np.linalg.norm(J, 2)))
    return np.array(norms)
# --8<-- [end:rnn_jacobian_norms]


# --8<-- [start:update_to_weight_ratio]
def update_to_weight_ratio(weights, update):
    """Size of one optimizer step relative to the weights it changes:

        ratio = ‖Δθ‖ / ‖θ‖                 (for plain SGD, Δθ = −η g)

    A healthy ratio is around 1e-3 per step (CS231n's rule of thumb): far below (1e-5) the layer
    barely learns — too small a learning rate or vanishing gradients; far above (1e-1) it is
    being overwritten every step. Log it per parameter array.

    >>> w = np.ones(100); g = np.full(100, 0.1)
    >>> round(update_to_weight_ratio(w, -0.01 * g), 6)        # lr 0.01: 1e-3
    0.001
    """
    weights = as_float_array(weights, "weights")
    update = as_float_array(update, "update")
    if update.shape != weights.shape:
        raise ValueError(f"update must have the shape of weights {weights.shape}, got {update.shape}")
    norm = float(np.linalg.norm(weights))
    if norm == 0:
        raise ValueError("weights must not be all zero (the ratio is undefined)")
    return float(np.linalg.norm(update)) / norm
# --8<-- [end:update_to_weight_ratio]


def _ln(x, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    sd = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + eps)
    return (x - mu) / sd, sd


def _ln_backward(dy, y, sd):
    return (dy - dy.mean(axis=-1, keepdims=True) - y * (dy * y).mean(axis=-1, keepdims=True)) / sd


# --8<-- [start:ln_residual_stack]
def ln_residual_stack(x, weights, g, pre_ln=True):
    """A stack of residual blocks with a ReLU MLP branch F(x) = relu(x W₁) W₂ and LayerNorm
    (no affine parameters, eps 1e-5) placed the two ways Transformers use:

        Post-LN (original Transformer):  x_{l+1} = LN(x_l + F_l(x_l))
        Pre-LN  (GPT-2 and later):       x_{l+1} = x_l + F_l(LN(x_l)),   output LN(x_L)

    loss = Σ output ⊙ g. Returns (loss, [(∂loss/∂W₁, ∂loss/∂W₂) per block]). In Pre-LN the
    identity path from the loss to every block is never normalized, so ∂x_L/∂x_l = I + …; in
    Post-LN every block's LN sits on the main path. Shapes: x (N, d), weights
    [(W₁ (d, h), W₂ (h, d)), …], g (N, d).

    >>> x = np.array([[1.0, -1.0]]); W = [(np.eye(2), np.eye(2))]; g = np.array([[1.0, 0.0]])
    >>> round(ln_residual_stack(x, W, g, pre_ln=False)[0], 4), round(ln_residual_stack(x, W, g)[0], 4)
    (1.0, 1.0)
    """
    x = as_float_array(x, "x", ndim=2)
    g = as_float_array(g, "g", ndim=2)
    pairs = as_list(weights, "weights", pairs=True)
    pre = as_flag(pre_ln, "pre_ln")
    Ws = []
    for i, (W1, W2) in enumerate(pairs):
        W1 = as_float_array(W1, f"weights[{i}][0]", ndim=2)
        W2 = as_float_array(W2, f"weights[{i}][1]", ndim=2)
        if W1.shape[0] != x.shape[1] or W2.shape != (W1.shape[1], x.shape[1]):
            raise ValueError(f"weights[{i}] must be (W1 (d, h), W2 (h, d)) with d = {x.shape[1]}, "
                             f"got {W1.shape}, {W2.shape}")
        Ws.append((W1, W2))
    if g.shape != x.shape:
        raise ValueError(f"g must have the shape of x {x.shape}, got {g.shape}")
    cache = []
    for W1, W2 in Ws:                                   # forward
        if pre:
            u, sd = _ln(x)
            a = u @ W1
            cache.append((u, sd, a))
            x = x + np.maximum(a, 0) @ W2
        else:
            a = x @ W1
            y, sd = _ln(x + np.maximum(a, 0) @ W2)
            cache.append((x, a, y, sd))
            x = y
    out, sd_out = _ln(x) if pre else (x, None)
    loss = float(np.sum(out * g))
    dx = _ln_backward(g, out, sd_out) if pre else g      # backward
    grads = []
    for (W1, W2), c in zip(reversed(Ws), reversed(cache)):
        if pre:
            u, sd, a = c
            dh = dx @ W2.T * (a > 0)
            grads.append((u.T @ dh, np.maximum(a, 0).T @ dx))
            dx = dx + _ln_backward(dh @ W1.T, u, sd)     # identity path + branch
        else:
            x_in, a, y, sd = c
            ds = _ln_backward(dx, y, sd)                 # every block's LN is on the main path
            dh = ds @ W2.T * (a > 0)
            grads.append((x_in.T @ dh, np.maximum(a, 0).T @ ds))
            dx = ds + dh @ W1.T
    return loss, grads[::-1]
# --8<-- [end:ln_residual_stack]
