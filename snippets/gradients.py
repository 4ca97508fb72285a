"""Vanishing and exploding gradients (the Gradients page): products of local derivatives,
per-layer gradient norms of deep networks, gradient clipping, and float16 limits with loss scaling.

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
