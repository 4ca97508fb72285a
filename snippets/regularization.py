"""Weight penalties, max-norm, weight decay and dropout (the Regularization page).

Each penalty returns ``(value, grad)`` with grad = d value / d w (the shape of ``w``); the value
is a NumPy scalar of w's float dtype. The full objective is data loss + penalty; biases are
usually left out of the penalty. Dropout takes its randomness from an explicit
``numpy.random.Generator``; nothing here modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from snippets._validation import (as_flag, as_float_array, as_generator, as_int, as_real, check_axis,
                                  check_same_shape)


def _weights(w):
    return as_float_array(w, "w")


def _lam(lam):
    return as_real(lam, "lam", low=0.0)


def _scalar(value, dtype):
    return np.asarray(value, dtype=dtype)[()]


# --8<-- [start:l0_penalty]
def l0_penalty(w, lam):
    """L0 "norm" penalty: λ · #{i : wᵢ ≠ 0} (a count, not a true norm). Piecewise constant, so
    its gradient is 0 wherever it exists and it cannot be minimised by gradient descent;
    L1 is its convex surrogate.

    >>> value, grad = l0_penalty(np.array([0.0, -3.0, 0.5]), 1.0)
    >>> float(value), grad.tolist()
    (2.0, [0.0, 0.0, 0.0])
    """
    w, lam = _weights(w), _lam(lam)
    return _scalar(lam * np.count_nonzero(w), w.dtype), np.zeros_like(w)
# --8<-- [end:l0_penalty]


# --8<-- [start:l1_penalty]
def l1_penalty(w, lam):
    """L1 penalty (lasso):  R(w) = λ Σᵢ |wᵢ|,   ∂R/∂wᵢ = λ · sign(wᵢ).

    |w| has no derivative at 0; we use the subgradient λ · sign(0) = 0 (as PyTorch's abs).
    The pull towards 0 has the same size λ however small wᵢ is, which is why L1 drives
    weights to exactly 0 (see ``soft_threshold``).

    >>> value, grad = l1_penalty(np.array([1.0, -2.0, 0.0]), 0.5)
    >>> float(value), grad.tolist()
    (1.5, [0.5, -0.5, 0.0])
    >>> [float(l1_penalty(w, 1.0)[0]) for w in ([1.0, 0, 0, 0], [0.25] * 4)]   # a tie
    [1.0, 1.0]
    """
    w, lam = _weights(w), _lam(lam)
    return _scalar(lam * np.abs(w).sum(), w.dtype), lam * np.sign(w)
# --8<-- [end:l1_penalty]


# --8<-- [start:l2_penalty]
def l2_penalty(w, lam):
    """L2 penalty (ridge / weight decay):  R(w) = (λ/2) Σᵢ wᵢ² = (λ/2) ‖w‖₂²,   ∂R/∂w = λ w.

    The penalty is the *squared* norm (the ½ only tidies the gradient). For
    W1 = [1, 0, 0, 0] and W2 = [0.25, 0.25, 0.25, 0.25] (same output w·x = 1 for x = [1, 1, 1, 1]):
    ‖W1‖₂ = 1, ‖W2‖₂ = 0.5, but the squared norms are 1 and 0.25, so L2 prefers the spread-out W2.

    >>> value, grad = l2_penalty(np.array([1.0, -2.0, 0.0]), 0.5)
    >>> float(value), grad.tolist()
    (1.25, [0.5, -1.0, 0.0])
    >>> [float(l2_penalty(w, 2.0)[0]) for w in ([1.0, 0, 0, 0], [0.25] * 4)]   # λ = 2: Σ w²
    [1.0, 0.25]
    """
    w, lam = _weights(w), _lam(lam)
    return _scalar(lam / 2 * np.sum(w * w), w.dtype), lam * w
# --8<-- [end:l2_penalty]


# --8<-- [start:elastic_net_penalty]
def elastic_net_penalty(w, lam, l1_ratio):
    """Elastic net (scikit-learn's parametrisation), mixing ratio ρ = l1_ratio ∈ [0, 1]:

        R(w) = λ [ ρ Σ |wᵢ| + (1 − ρ)/2 Σ wᵢ² ] = l1_penalty(w, λρ) + l2_penalty(w, λ(1 − ρ))
        ∂R/∂w = λ [ ρ sign(w) + (1 − ρ) w ]

    ρ = 1 is L1, ρ = 0 is L2. It keeps L1's exact zeros while L2 spreads weight over
    correlated features instead of picking one arbitrarily.

    >>> value, grad = elastic_net_penalty(np.array([1.0, -2.0, 0.0]), 1.0, 0.5)
    >>> float(value), grad.tolist()
    (2.75, [1.0, -1.5, 0.0])
    """
    w, lam = _weights(w), _lam(lam)
    rho = as_real(l1_ratio, "l1_ratio", low=0.0, high=1.0)
    v1, g1 = l1_penalty(w, lam * rho)
    v2, g2 = l2_penalty(w, lam * (1 - rho))
    return _scalar(v1 + v2, w.dtype), g1 + g2
# --8<-- [end:elastic_net_penalty]


# --8<-- [start:soft_threshold]
def soft_threshold(w, threshold):
    """Proximal step of the L1 penalty (what one step of λ‖w‖₁ with step size η does, t = ηλ):

        prox(w) = argmin_v ½ (v − w)² + t |v| = sign(w) · max(|w| − t, 0)

    Every |wᵢ| ≤ t lands on exactly 0: the reason L1 produces sparse weights. The L2
    counterpart, argmin_v ½ (v − w)² + (t/2) v² = w / (1 + t), shrinks but never reaches 0.

    >>> soft_threshold(np.array([-3.0, -0.5, 0.2, 2.0]), 1.0).tolist()
    [-2.0, 0.0, 0.0, 1.0]
    """
    w = _weights(w)
    t = as_real(threshold, "threshold", low=0.0)
    return np.where(np.abs(w) > t, w - t * np.sign(w), 0).astype(w.dtype, copy=False)
# --8<-- [end:soft_threshold]


# --8<-- [start:ista_step]
def ista_step(w, grad, lr, lam):
    """One proximal-gradient (ISTA) step on ℓ(w) + λ‖w‖₁, with grad = ∇ℓ(w):

        w ← prox_{ηλ}(w − η ∇ℓ(w)) = soft_threshold(w − η ∇ℓ(w), ηλ)

    >>> ista_step(np.array([1.0, 0.05, -2.0]), np.array([0.5, 0.5, -0.5]), 0.1, 1.0).round(6).tolist()
    [0.85, 0.0, -1.85]
    """
    w, grad, lr, lam = _step_inputs(w, grad, lr, lam)
    return soft_threshold(w - lr * grad, lr * lam)
# --8<-- [end:ista_step]


# --8<-- [start:lasso_lambda_max]
def lasso_lambda_max(X, y):
    """The smallest λ at which w = 0 solves the lasso on ℓ(w) = ‖Xw − y‖² / (2n):

        λ_max = ‖Xᵀ y‖∞ / n

    (at w = 0 the data gradient is −Xᵀy / n; once no component exceeds λ, 0 is optimal).

    >>> lasso_lambda_max(np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([1.0, 1.0]))
    2.0
    """
    X = as_float_array(X, "X", ndim=2)
    y = as_float_array(y, "y", ndim=1)
    if X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, d) and y shape (n,) with n >= 1; got {X.shape} and {y.shape}")
    return float(np.max(np.abs(X.T @ y))) / X.shape[0] if X.shape[1] else 0.0
# --8<-- [end:lasso_lambda_max]


# --8<-- [start:max_norm]
def max_norm(w, c, axis=0):
    """Max-norm constraint as a projection, applied after each update: every slice of w along
    ``axis`` (the incoming weight vector of one unit) with ‖w_u‖₂ > c is rescaled to norm c;
    the others are unchanged:   w_u ← w_u · min(1, c / ‖w_u‖₂).

    With W of shape (fan_in, fan_out) used as x @ W, unit u's weights are column u: axis=0
    (the norm is taken along axis 0).

    >>> W = np.array([[3.0, 0.6], [4.0, 0.8]])            # column norms 5 and 1
    >>> max_norm(W, 2.0).round(4).tolist()
    [[1.2, 0.6], [1.6, 0.8]]
    """
    w = _weights(w)
    c = as_real(c, "c", low=0.0, low_open=True)
    if w.ndim == 0:
        raise ValueError("w must have at least one dimension")
    axis = check_axis(axis, w.ndim)
    # squares summed in float64: a float32 entry above ~1.8e19 would overflow when squared
    norms = np.sqrt(np.sum(np.square(w, dtype=np.float64), axis=axis, keepdims=True))
    scale = np.divide(c, norms, out=np.ones_like(norms), where=norms > c)
    return w * scale.astype(w.dtype)
# --8<-- [end:max_norm]


# --8<-- [start:weight_decay]
def sgd_l2_step(w, grad, lr, lam):
    """One SGD step on loss + (λ/2)‖w‖²:   w ← w − η (∇ℓ(w) + λ w).

    >>> sgd_l2_step(np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.01).tolist()
    [0.949, -2.048]
    """
    w, grad, lr, lam = _step_inputs(w, grad, lr, lam)
    return w - lr * (grad + lam * w)


def sgd_weight_decay_step(w, grad, lr, lam):
    """One SGD step with decoupled weight decay:   w ← (1 − ηλ) w − η ∇ℓ(w).

    Under plain SGD this equals ``sgd_l2_step`` (expand η(∇ℓ + λw)); under adaptive
    methods such as Adam it does not, because the L2 term λw is rescaled by the per-weight
    step size — hence AdamW, which decays the weights directly.

    >>> sgd_weight_decay_step(np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.01).tolist()
    [0.949, -2.048]
    """
    w, grad, lr, lam = _step_inputs(w, grad, lr, lam)
    return (1 - lr * lam) * w - lr * grad
# --8<-- [end:weight_decay]


def _step_inputs(w, grad, lr, lam):
    w, grad = _weights(w), as_float_array(grad, "grad")
    check_same_shape(w, grad, "w", "grad")
    return w, grad, as_real(lr, "lr", low=0.0, low_open=True), _lam(lam)


# --8<-- [start:dropout]
def dropout(x, p, rng, train=True):
    """Inverted dropout. Training: each element is kept with probability 1 − p and the kept ones
    are scaled by 1/(1 − p), so the expectation is unchanged and evaluation needs no rescaling:

        mask = Bernoulli(1 − p) / (1 − p)   ∈ {0, 1/(1 − p)},      out = x · mask
        E[out] = x,      Var[out] = p/(1 − p) · x²

    Evaluation (train=False): out = x and mask = 1. The mask already includes the scale, so
    the backward pass is dx = dout · mask. p ∈ [0, 1); rng must be a numpy.random.Generator.

    >>> out, mask = dropout(np.ones(8), 0.5, np.random.default_rng(0))
    >>> out.tolist()
    [2.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0]
    >>> out, mask = dropout(np.ones(3), 0.5, np.random.default_rng(0), train=False)
    >>> out.tolist(), mask.tolist()
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    """
    x = as_float_array(x, "x")
    p = as_real(p, "p", low=0.0, high=1.0, high_open=True)
    as_generator(rng)
    if not as_flag(train, "train") or p == 0:
        return x.copy(), np.ones_like(x)
    keep = rng.random(x.shape) >= p
    mask = (keep / (1 - p)).astype(x.dtype)
    return x * mask, mask
# --8<-- [end:dropout]


# --8<-- [start:drop_path]
def drop_path(x, p, rng, train=True):
    """Stochastic depth / DropPath (torchvision's ``stochastic_depth``, mode "row"): one
    Bernoulli(1 − p) keep per *sample*, for the whole residual branch x of that sample, and the
    kept samples are scaled by 1/(1 − p):

        mask_n = Bernoulli(1 − p) / (1 − p),      out = x · mask    (mask of shape (N, 1, …, 1))

    Used as x + drop_path(F(x)): a dropped sample skips the block (its output is the identity).
    E[out] = x as for dropout. p ∈ [0, 1]; p = 1 drops every sample (mask 0, no division, as
    torchvision). Evaluation (train=False) or p = 0: out = x, mask = 1.

    >>> x = np.ones((4, 3))
    >>> out, mask = drop_path(x, 0.5, np.random.default_rng(0))
    >>> mask.ravel().tolist()                      # one value per sample
    [2.0, 0.0, 0.0, 0.0]
    >>> out.tolist()[:2]
    [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]
    """
    x = as_float_array(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have a batch axis (shape (N, …)), got a scalar")
    p = as_real(p, "p", low=0.0, high=1.0)
    as_generator(rng)
    size = (x.shape[0],) + (1,) * (x.ndim - 1)
    if not as_flag(train, "train") or p == 0:
        return x.copy(), np.ones(size, dtype=x.dtype)
    keep = rng.random(size) >= p
    mask = (keep / (1 - p) if p < 1 else np.zeros(size)).astype(x.dtype)
    return x * mask, mask
# --8<-- [end:drop_path]


def _mix_inputs(x, y, perm):
    x = as_float_array(x, "x")
    y = as_float_array(y, "y", ndim=2)
    if x.ndim == 0 or x.shape[0] != y.shape[0]:
        raise ValueError(f"y must have shape (N, C) with N = x.shape[0]; got x {x.shape}, y {y.shape}")
    n = x.shape[0]
    perm = np.asarray(perm)
    if perm.dtype.kind not in "iu" or perm.shape != (n,):
        raise ValueError(f"perm must be an integer array of shape ({n},), got {perm.dtype} {perm.shape}")
    if n and (perm.min() < 0 or perm.max() >= n):
        raise ValueError(f"perm must hold indices in [0, {n - 1}], got {perm.min()} to {perm.max()}")
    return x, y, perm


# --8<-- [start:mixup]
def mixup(x, y, lam, perm):
    """mixup (Zhang et al., 2018): every sample is blended with the sample perm[n] of the same
    batch, inputs and targets alike, with one λ (drawn from Beta(α, α) by the caller):

        x̃ = λ x + (1 − λ) x[perm],      ỹ = λ y + (1 − λ) y[perm]

    y is one-hot or soft, shape (N, C); x is (N, …). Because cross-entropy is linear in the
    target, the loss on ỹ is λ·CE(y) + (1 − λ)·CE(y[perm]). Returns (x̃, ỹ).

    >>> x, y = np.array([[0.0, 2.0], [4.0, 6.0]]), np.eye(2)
    >>> xm, ym = mixup(x, y, 0.75, np.array([1, 0]))
    >>> xm.tolist(), ym.tolist()
    ([[1.0, 3.0], [3.0, 5.0]], [[0.75, 0.25], [0.25, 0.75]])
    """
    x, y, perm = _mix_inputs(x, y, perm)
    lam = as_real(lam, "lam", low=0.0, high=1.0)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
# --8<-- [end:mixup]


# --8<-- [start:cutmix]
def cutmix(x, y, box, perm):
    """CutMix (Yun et al., 2019): paste the box (top, left, height, width) of image perm[n] into
    image n, for x of shape (N, C, H, W), and mix the targets by the area actually kept:

        x̃ = M ⊙ x + (1 − M) ⊙ x[perm],   λ = 1 − (height · width)/(H · W),   ỹ = λ y + (1 − λ) y[perm]

    (M is 0 inside the box, 1 outside.) The box is usually drawn with sides H√(1 − λ₀), W√(1 − λ₀)
    at a uniform centre, clipped to the image, which is why λ is recomputed from its area.
    Returns (x̃, ỹ, λ).

    >>> x = np.stack([np.zeros((1, 4, 4)), np.ones((1, 4, 4))])
    >>> xm, ym, lam = cutmix(x, np.eye(2), (0, 0, 2, 2), np.array([1, 0]))
    >>> lam, xm[0, 0].tolist()[:2], ym.tolist()
    (0.75, [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], [[0.75, 0.25], [0.25, 0.75]])
    """
    x, y, perm = _mix_inputs(x, y, perm)
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x.shape}")
    h, w = x.shape[2:]
    if (not isinstance(box, (tuple, list)) or len(box) != 4
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in box)):
        raise ValueError(f"box must be (top, left, height, width) integers, got {box!r}")
    top, left, bh, bw = (int(v) for v in box)
    if top < 0 or left < 0 or bh < 0 or bw < 0 or top + bh > h or left + bw > w:
        raise ValueError(f"box must lie inside the {h}×{w} image, got {box!r}")
    out = x.copy()
    out[:, :, top:top + bh, left:left + bw] = x[perm][:, :, top:top + bh, left:left + bw]
    lam = 1 - bh * bw / (h * w)
    return out, lam * y + (1 - lam) * y[perm], lam
# --8<-- [end:cutmix]


# --8<-- [start:ridge_solution]
def ridge_solution(H, w_star, lam):
    """The minimizer of a quadratic loss ½ (w − w*)ᵀ H (w − w*) plus (λ/2)‖w‖²:

        w̃ = (H + λ I)⁻¹ H w*      in the eigenbasis of H (H = Q diag(s) Qᵀ):  w̃ᵢ = sᵢ/(sᵢ + λ) · w*ᵢ

    Directions of large curvature (sᵢ ≫ λ) are kept, flat ones (sᵢ ≪ λ) shrink to 0: L2 removes
    what the data barely determine. H must be symmetric positive semi-definite.

    >>> ridge_solution(np.diag([9.0, 1.0]), np.array([1.0, 1.0]), 1.0).round(4).tolist()
    [0.9, 0.5]
    """
    H = as_float_array(H, "H", ndim=2)
    w_star = as_float_array(w_star, "w_star", ndim=1)
    d = w_star.shape[0]
    if H.shape != (d, d) or not np.allclose(H, H.T):
        raise ValueError(f"H must be a symmetric ({d}, {d}) matrix, got shape {H.shape}")
    lam = _lam(lam)
    return np.linalg.solve(H + lam * np.eye(d), H @ w_star)
# --8<-- [end:ridge_solution]


# --8<-- [start:weight_averaging]
def ema_update(avg, param, decay=0.999):
    """Exponential moving average of the weights (an "EMA model", as
    ``torch.optim.swa_utils.get_ema_multi_avg_fn``):   θ̄ ← decay · θ̄ + (1 − decay) · θ.

    >>> ema_update(np.array([1.0, 0.0]), np.array([2.0, 4.0]), decay=0.9).round(4).tolist()
    [1.1, 0.4]
    """
    avg, param = as_float_array(avg, "avg"), as_float_array(param, "param")
    check_same_shape(avg, param, "avg", "param")
    decay = as_real(decay, "decay", low=0.0, high=1.0)
    return decay * avg + (1 - decay) * param


def swa_update(avg, param, n_averaged):
    """Stochastic weight averaging (Izmailov et al., 2018; ``torch.optim.swa_utils.AveragedModel``):
    the running *equal-weight* mean of the n_averaged weights seen so far and the new one,

        θ_SWA ← θ_SWA + (θ − θ_SWA) / (n + 1)

    After the loop θ_SWA = (1/n) Σ θᵢ. (BatchNorm statistics must then be recomputed for the
    averaged weights: ``update_bn``.)

    >>> avg = np.zeros(2)
    >>> for n, p in enumerate([np.array([1.0, 2.0]), np.array([3.0, 2.0]), np.array([5.0, 8.0])]):
    ...     avg = swa_update(avg, p, n)
    >>> avg.tolist()
    [3.0, 4.0]
    """
    avg, param = as_float_array(avg, "avg"), as_float_array(param, "param")
    check_same_shape(avg, param, "avg", "param")
    n = as_int(n_averaged, "n_averaged", low=0)
    return avg + (param - avg) / (n + 1)
# --8<-- [end:weight_averaging]
