"""Loss functions and their gradients (the Losses page).

Every loss returns ``(loss, grad)`` where ``loss`` is a NumPy scalar of the input's float dtype
and ``grad`` = d loss / d (first argument), with the first argument's shape.
Reductions follow PyTorch's ``reduction="mean"``: the class losses (``scores`` (N, C), integer
labels ``y`` (N,)) average over the N samples; the elementwise losses average over all elements.
Logit-based losses never exponentiate a large positive number, so logits up to ±1e4 give finite
values and gradients with no overflow warnings in float32 and float64.
At a kink (hinge exactly at its margin, |r| = 0 for MAE) the gradient takes the value PyTorch uses.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from snippets._validation import as_float_array, as_int, as_labels, as_real, check_axis, check_same_shape
from snippets.activations import log_softmax, sigmoid, softplus


def _scalar(value, dtype):
    """A reduced loss as a NumPy scalar of the input's dtype (float32 stays float32)."""
    return np.asarray(value, dtype=dtype)[()]


def _scores(scores):
    scores = as_float_array(scores, "scores", ndim=2)
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"scores must have shape (N, C) with N >= 1 and C >= 1, "
                         f"got {scores.shape}")
    # a NaN would slip through comparisons (max(0, nan) vs "if d > 0") and give a finite loss
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite (no nan or inf)")
    return scores


def _scores_and_labels(scores, y):
    scores = _scores(scores)
    return scores, as_labels(y, *scores.shape).astype(np.intp)


def _pair(a, b, name_a, name_b):
    a = as_float_array(a, name_a)
    b = as_float_array(b, name_b)
    check_same_shape(a, b, name_a, name_b)
    if a.size == 0:
        raise ValueError(f"{name_a} must have at least one element to average over")
    return a, b.astype(a.dtype, copy=False)      # the loss and its gradient in the input's dtype


def _binary_targets(logits, y, name="logits"):
    logits, y = _pair(logits, y, name, "y")
    if np.any((y < 0) | (y > 1)) or not np.all(np.isfinite(y)):
        raise ValueError("y must hold targets in [0, 1] (0/1 labels or probabilities)")
    return logits, y


# --8<-- [start:svm_loss]
def svm_loss(scores, y, margin=1.0):
    """Multiclass SVM (hinge) loss, CS231n form, averaged over the N samples:

        Lᵢ = Σ_{j ≠ yᵢ} max(0, s_ij − s_i,yᵢ + Δ),      L = (1/N) Σᵢ Lᵢ

        ∂L/∂s_ij   = (1/N) · 1[s_ij − s_i,yᵢ + Δ > 0]               (j ≠ yᵢ)
        ∂L/∂s_i,yᵢ = −(1/N) · #{j ≠ yᵢ : s_ij − s_i,yᵢ + Δ > 0}

    A term exactly at its margin (s_ij − s_i,yᵢ + Δ = 0) is 0 and gets gradient 0.
    PyTorch's ``multi_margin_loss`` also divides each Lᵢ by C:  svm_loss = C · multi_margin_loss.

    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, grad = svm_loss(scores, np.array([0, 1, 2]))   # per sample: 2.9, 0, 12.9
    >>> round(float(loss), 4)
    5.2667
    >>> (grad * 3).round(4).tolist()
    [[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]]
    >>> float(svm_loss(np.zeros((1, 10)), np.array([0]))[0])   # tiny scores: C − 1
    9.0
    >>> [float(svm_loss(np.array([s]), np.array([0]))[0]) for s in ([10, -1, -1], [10, 9, 9])]
    [0.0, 0.0]
    """
    scores, y = _scores_and_labels(scores, y)
    margin = as_real(margin, "margin", low=0.0)
    n, rows = scores.shape[0], np.arange(scores.shape[0])
    margins = np.maximum(0, scores - scores[rows, y][:, None] + margin)
    margins[rows, y] = 0
    active = (margins > 0).astype(scores.dtype)
    active[rows, y] = 0 - active.sum(axis=1)   # 0 − 0 = +0.0, not −0.0
    return _scalar(margins.sum() / n, scores.dtype), active / n


def svm_loss_naive(scores, y, margin=1.0):
    """The same loss with two Python loops, written in the case form of the hinge:

        max(0, d) = d if d > 0, else 0,      d = s_ij − s_i,yᵢ + Δ

    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> round(float(svm_loss_naive(scores, np.array([0, 1, 2]))[0]), 4)
    5.2667
    """
    scores, y = _scores_and_labels(scores, y)
    margin = as_real(margin, "margin", low=0.0)
    n, c = scores.shape
    loss, grad = 0.0, np.zeros_like(scores)
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            d = scores[i, j] - scores[i, y[i]] + margin
            if d > 0:
                loss += d
                grad[i, j] += 1
                grad[i, y[i]] -= 1
    return _scalar(loss / n, scores.dtype), grad / n
# --8<-- [end:svm_loss]


# --8<-- [start:squared_hinge_loss]
def squared_hinge_loss(scores, y, margin=1.0):
    """Squared hinge (L2-SVM) loss: each violated margin is squared, so large violations cost
    quadratically more and the loss is differentiable at the margin:

        Lᵢ = Σ_{j ≠ yᵢ} max(0, s_ij − s_i,yᵢ + Δ)²,      L = (1/N) Σᵢ Lᵢ
        ∂L/∂s_ij = (2/N) max(0, s_ij − s_i,yᵢ + Δ)  (j ≠ yᵢ),   ∂L/∂s_i,yᵢ = −Σ_{j ≠ yᵢ} ∂L/∂s_ij

    (PyTorch: ``multi_margin_loss(p=2)`` = this / C.)

    >>> loss, grad = squared_hinge_loss(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    >>> round(float(loss), 4), grad.round(4).tolist()                 # 2.9² = 8.41
    (8.41, [[-5.8, 5.8, 0.0]])
    """
    scores, y = _scores_and_labels(scores, y)
    margin = as_real(margin, "margin", low=0.0)
    n, rows = scores.shape[0], np.arange(scores.shape[0])
    margins = np.maximum(0, scores - scores[rows, y][:, None] + margin)
    margins[rows, y] = 0
    grad = 2 * margins
    grad[rows, y] = 0 - grad.sum(axis=1)
    return _scalar((margins ** 2).sum() / n, scores.dtype), grad / n
# --8<-- [end:squared_hinge_loss]


# --8<-- [start:zero_one_loss]
def zero_one_loss(scores, y):
    """0-1 loss: the error rate, L = (1/N) Σᵢ 1[argmax_j s_ij ≠ yᵢ] (ties go to the first
    maximum). It is piecewise constant in the scores, so its gradient is 0 wherever it exists:
    gradient descent gets no signal, which is why we train on a surrogate (hinge, cross-entropy).

    >>> loss, grad = zero_one_loss(np.array([[2.0, 1.0], [0.5, 3.0]]), np.array([0, 0]))
    >>> float(loss), grad.tolist()
    (0.5, [[0.0, 0.0], [0.0, 0.0]])
    """
    scores, y = _scores_and_labels(scores, y)
    wrong = np.argmax(scores, axis=1) != y
    return _scalar(wrong.mean(), scores.dtype), np.zeros_like(scores)
# --8<-- [end:zero_one_loss]


# --8<-- [start:softmax_loss]
def softmax_loss(scores, y):
    """Softmax cross-entropy (the negative log-likelihood of the true class), averaged over N:

        p_ij = e^(s_ij) / Σ_k e^(s_ik),      Lᵢ = −log p_i,yᵢ = −s_i,yᵢ + log Σ_k e^(s_ik)
        ∂L/∂s_ij = (p_ij − 1[j = yᵢ]) / N            (the gradient is "p − y")

    log p comes from ``log_softmax`` (log-sum-exp with the max subtracted), so it is finite
    even where p itself underflows. Same as PyTorch's ``F.cross_entropy(scores, y)``.

    >>> loss, grad = softmax_loss(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    >>> round(float(loss), 4), grad.round(4).tolist()
    (0.4076, [[0.09, 0.2447, -0.3348]])
    >>> round(float(softmax_loss(np.zeros((1, 10)), np.array([0]))[0]), 6)  # log 10
    2.302585
    >>> [f"{float(softmax_loss(np.array([s]), np.array([0]))[0]):.4g}"
    ...  for s in ([10, -1, -1], [10, 9, 9])]       # SVM gives 0 for both
    ['3.34e-05', '0.5514']
    """
    scores, y = _scores_and_labels(scores, y)
    n, rows = scores.shape[0], np.arange(scores.shape[0])
    log_p = log_softmax(scores, axis=1)
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    return _scalar(-log_p[rows, y].sum() / n, scores.dtype), grad / n


def softmax_loss_naive(scores, y):
    """The same loss with explicit loops over samples and classes (max subtracted for stability).

    >>> round(float(softmax_loss_naive(np.array([[1.0, 2.0, 3.0]]), np.array([2]))[0]), 4)
    0.4076
    """
    scores, y = _scores_and_labels(scores, y)
    n, c = scores.shape
    loss, grad = 0.0, np.zeros_like(scores)
    for i in range(n):
        m = max(float(s) for s in scores[i])
        denom = 0.0
        for j in range(c):
            denom += math.exp(scores[i, j] - m)
        loss += -(scores[i, y[i]] - m) + math.log(denom)
        for j in range(c):
            grad[i, j] += math.exp(scores[i, j] - m) / denom - (j == y[i])
    return _scalar(loss / n, scores.dtype), grad / n
# --8<-- [end:softmax_loss]


# --8<-- [start:weighted_softmax_loss]
def weighted_softmax_loss(scores, y, weights):
    """Class-weighted cross-entropy for imbalanced classes, with PyTorch's normalisation
    (``F.cross_entropy(..., weight=w)``): a weighted mean, divided by Σᵢ w_yᵢ and not by N.

        L = Σᵢ w_yᵢ (−log p_i,yᵢ) / Σᵢ w_yᵢ,      ∂L/∂s_ij = w_yᵢ (p_ij − 1[j = yᵢ]) / Σᵢ w_yᵢ

    With all weights equal this is ``softmax_loss``.

    >>> scores, y = np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    >>> round(float(weighted_softmax_loss(scores, y, np.array([1.0, 3.0]))[0]), 4)
    0.2667
    """
    scores, y = _scores_and_labels(scores, y)
    weights = as_float_array(weights, "weights", ndim=1)
    if (weights.shape[0] != scores.shape[1] or np.any(weights < 0)
            or not np.all(np.isfinite(weights))):
        raise ValueError(f"weights must be {scores.shape[1]} finite non-negative class weights, "
                         f"got {weights.tolist()}")
    rows = np.arange(scores.shape[0])
    w = weights[y].astype(scores.dtype, copy=False)
    total = w.sum()
    if total <= 0:
        raise ValueError("weights of the classes present in y must not all be 0")
    log_p = log_softmax(scores, axis=1)
    grad = np.exp(log_p)
    grad[rows, y] -= 1
    loss = -(w * log_p[rows, y]).sum() / total
    return _scalar(loss, scores.dtype), grad * (w / total)[:, None]
# --8<-- [end:weighted_softmax_loss]


# --8<-- [start:label_smoothing]
def smooth_labels(y, num_classes, epsilon):
    """Label-smoothing targets (PyTorch's ``label_smoothing=ε``): the one-hot target mixed with
    the uniform distribution,  t_ij = (1 − ε) · 1[j = yᵢ] + ε / C.

    >>> smooth_labels(np.array([0, 2]), 3, 0.3).round(4).tolist()
    [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]
    """
    num_classes = as_int(num_classes, "num_classes", low=1)
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of class indices, got shape {y.shape}")
    y = as_labels(y, y.shape[0], int(num_classes)).astype(np.intp)
    epsilon = as_real(epsilon, "epsilon", low=0.0, high=1.0)
    targets = np.full((y.shape[0], int(num_classes)), epsilon / num_classes)
    targets[np.arange(y.shape[0]), y] += 1 - epsilon
    return targets


def soft_cross_entropy(scores, target):
    """Cross-entropy of softmax(scores) against target distributions t (N, C), mean over N:

        L = −(1/N) Σᵢ Σ_j t_ij log p_ij,      ∂L/∂s_ij = (p_ij Σ_k t_ik − t_ij) / N

    (= (p − t)/N when each row of t sums to 1). With t = smooth_labels(y, C, ε) this is
    ``F.cross_entropy(scores, y, label_smoothing=ε)``; with one-hot t it is ``softmax_loss``.

    >>> scores, y = np.array([[2.0, 0.0, 0.0]]), np.array([0])
    >>> round(float(soft_cross_entropy(scores, smooth_labels(y, 3, 0.0))[0]), 4)
    0.2395
    >>> round(float(soft_cross_entropy(scores, smooth_labels(y, 3, 0.3))[0]), 4)
    0.6395
    """
    scores = _scores(scores)
    target = as_float_array(target, "target")
    check_same_shape(scores, target, "scores", "target")
    if np.any(target < 0) or not np.all(np.isfinite(target)):
        raise ValueError("target must hold finite non-negative class probabilities")
    target = target.astype(scores.dtype, copy=False)
    n = scores.shape[0]
    log_p = log_softmax(scores, axis=1)
    grad = np.exp(log_p) * target.sum(axis=1, keepdims=True) - target
    return _scalar(-(target * log_p).sum() / n, scores.dtype), grad / n
# --8<-- [end:label_smoothing]


# --8<-- [start:information]
def _distribution(p, name, axis):
    p = as_float_array(p, name)
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (the outcome axis)")
    axis = check_axis(axis, p.ndim)
    tol = math.sqrt(np.finfo(p.dtype).eps)
    if np.any(p < 0) or not np.all(np.isfinite(p)) \
            or not np.allclose(p.sum(axis=axis), 1.0, rtol=0, atol=tol):
        raise ValueError(f"{name} must be a probability distribution along axis {axis}: "
                         f"non-negative entries summing to 1")
    return p, axis


def _xlogy(x, y):
    """x · log y with the convention 0 · log y = 0 (also for y = 0); x > 0 = y gives −inf."""
    log_y = np.full(np.broadcast(x, y).shape, -np.inf, dtype=np.result_type(x, y))
    np.log(y, out=log_y, where=y > 0)
    return np.multiply(x, log_y, out=np.zeros_like(log_y), where=x > 0)


def entropy(p, axis=-1):
    """Shannon entropy in nats:  H(p) = −Σᵢ pᵢ log pᵢ  (with 0 log 0 = 0).

    >>> round(float(entropy(np.array([0.5, 0.5]))), 4), float(entropy(np.array([1.0, 0.0])))
    (0.6931, 0.0)
    """
    p, axis = _distribution(p, "p", axis)
    return 0.0 - _xlogy(p, p).sum(axis=axis)    # 0 − 0 is +0.0


def cross_entropy(p, q, axis=-1):
    """Cross-entropy of q relative to p:  H(p, q) = −Σᵢ pᵢ log qᵢ = H(p) + KL(p ‖ q)  ≥ H(p);
    +inf when some qᵢ = 0 < pᵢ. With a one-hot p it is −log q_y, the softmax loss of one sample.

    >>> p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    >>> round(float(cross_entropy(p, q)), 4), round(float(entropy(p) + kl_divergence(p, q)), 4)
    (1.204, 1.204)
    """
    p, axis = _distribution(p, "p", axis)
    q, _ = _distribution(q, "q", axis)
    check_same_shape(p, q, "p", "q")
    return 0.0 - _xlogy(p, q).sum(axis=axis)


def kl_divergence(p, q, axis=-1):
    """Kullback–Leibler divergence  KL(p ‖ q) = Σᵢ pᵢ log(pᵢ / qᵢ) ≥ 0, zero only when p = q;
    not symmetric; +inf when some qᵢ = 0 < pᵢ.

    >>> p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    >>> round(float(kl_divergence(p, q)), 4), round(float(kl_divergence(q, p)), 4)
    (0.5108, 0.3681)
    """
    p, axis = _distribution(p, "p", axis)
    q, _ = _distribution(q, "q", axis)
    check_same_shape(p, q, "p", "q")
    return (_xlogy(p, p) - _xlogy(p, q)).sum(axis=axis)
# --8<-- [end:information]


# --8<-- [start:mse_loss]
def mse_loss(pred, target):
    """Mean squared error over all n elements, r = pred − target:

        L = (1/n) Σ rᵢ²,      ∂L/∂predᵢ = 2 rᵢ / n

    >>> loss, grad = mse_loss(np.array([1.0, 2.0, 5.0]), np.array([1.0, 0.0, 2.0]))
    >>> round(float(loss), 4), grad.round(4).tolist()
    (4.3333, [0.0, 1.3333, 2.0])
    """
    pred, target = _pair(pred, target, "pred", "target")
    r = pred - target
    return _scalar(np.mean(r * r), pred.dtype), 2 * r / r.size
# --8<-- [end:mse_loss]


# --8<-- [start:mae_loss]
def mae_loss(pred, target):
    """Mean absolute error (L1 loss), r = pred − target:

        L = (1/n) Σ |rᵢ|,      ∂L/∂predᵢ = sign(rᵢ) / n   (0 at rᵢ = 0, as PyTorch)

    The gradient has the same size however large the error: robust to outliers, but it does
    not shrink near the optimum.

    >>> loss, grad = mae_loss(np.array([1.0, 2.0, 5.0]), np.array([1.0, 0.0, 2.0]))
    >>> round(float(loss), 4), grad.round(4).tolist()
    (1.6667, [0.0, 0.3333, 0.3333])
    """
    pred, target = _pair(pred, target, "pred", "target")
    r = pred - target
    return _scalar(np.mean(np.abs(r)), pred.dtype), np.sign(r) / r.size
# --8<-- [end:mae_loss]


# --8<-- [start:huber_loss]
def huber_loss(pred, target, delta=1.0):
    """Huber loss (PyTorch's ``huber_loss``), r = pred − target, δ > 0, mean over all elements:

        ℓ(r) = ½ r²            if |r| ≤ δ      (MSE-like: half the squared error)
        ℓ(r) = δ (|r| − ½ δ)   if |r| > δ      (MAE-like: δ times the absolute error, shifted)

        ℓ'(r) = clip(r, −δ, δ),      ∂L/∂predᵢ = ℓ'(rᵢ) / n

    At |r| = δ both pieces equal ½δ² and both slopes equal ±δ, so ℓ and ℓ' are continuous;
    ℓ'' jumps from 1 to 0 there. (``smooth_l1_loss`` with β = δ is ℓ / δ.)

    >>> loss, grad = huber_loss(np.array([0.5, 3.0]), np.zeros(2))  # ½·0.25 and 1·(3 − ½)
    >>> round(float(loss), 4), grad.round(4).tolist()
    (1.3125, [0.25, 0.5])
    """
    pred, target = _pair(pred, target, "pred", "target")
    delta = as_real(delta, "delta", low=0.0, low_open=True)
    r = pred - target
    a = np.abs(r)
    values = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
    return _scalar(np.mean(values), pred.dtype), np.clip(r, -delta, delta) / r.size
# --8<-- [end:huber_loss]


# --8<-- [start:bce_with_logits]
def bce_with_logits(logits, y):
    """Binary cross-entropy on logits s (the logistic-regression loss), targets y ∈ [0, 1],
    mean over all elements; p = σ(s):

        ℓ = −[y log σ(s) + (1 − y) log(1 − σ(s))] = y · softplus(−s) + (1 − y) · softplus(s)
        ∂L/∂sᵢ = (σ(sᵢ) − yᵢ) / n

    using log σ(s) = −softplus(−s) and log(1 − σ(s)) = −softplus(s), both computed without
    overflow. Same as PyTorch's ``F.binary_cross_entropy_with_logits``.

    >>> loss, grad = bce_with_logits(np.array([2.0, -1.0]), np.array([1.0, 1.0]))
    >>> round(float(loss), 4), grad.round(4).tolist()
    (0.7201, [-0.0596, -0.3655])
    >>> float(bce_with_logits(np.array([-1e4]), np.array([1.0]))[0])   # finite: 1e4
    10000.0
    """
    logits, y = _binary_targets(logits, y)
    values = y * softplus(-logits) + (1 - y) * softplus(logits)
    return _scalar(np.mean(values), logits.dtype), (sigmoid(logits) - y) / logits.size


def binary_cross_entropy(probs, y):
    """The same loss on probabilities p ∈ [0, 1] (PyTorch's ``F.binary_cross_entropy``):

        ℓ = −[y log p + (1 − y) log(1 − p)],      ∂L/∂pᵢ = (pᵢ − yᵢ) / (pᵢ (1 − pᵢ)) / n

    Like PyTorch, each log is clamped at −100 and the denominator at 1e-12, so p = 0 or 1 gives
    a finite (but wrong) value: σ(s) rounds to exactly 1 for s ≳ 37 in float64, which is why the
    logits form is preferred. For moderate logits, binary_cross_entropy(σ(s), y) =
    bce_with_logits(s, y), and grad · σ'(s) is the logits gradient (chain rule).

    >>> round(float(binary_cross_entropy(sigmoid(np.array([2.0, -1.0])), np.ones(2))[0]), 4)
    0.7201
    >>> float(binary_cross_entropy(sigmoid(np.array([-1e4])), np.ones(1))[0])   # clamped
    100.0
    """
    probs, y = _binary_targets(probs, y, name="probs")
    if not np.all((probs >= 0) & (probs <= 1)):          # written so that NaN fails too
        raise ValueError("probs must hold probabilities in [0, 1]")
    log_p = np.full_like(probs, -100.0)
    np.log(probs, out=log_p, where=probs > 0)
    log_1mp = np.full_like(probs, -100.0)
    np.log1p(-probs, out=log_1mp, where=probs < 1)
    values = -(y * np.maximum(log_p, -100) + (1 - y) * np.maximum(log_1mp, -100))
    grad = (probs - y) / np.maximum(probs * (1 - probs), 1e-12)
    return _scalar(np.mean(values), probs.dtype), grad / probs.size
# --8<-- [end:bce_with_logits]


# --8<-- [start:focal_loss]
def focal_loss(logits, y, gamma=2.0, alpha=0.25):
    """Binary focal loss on logits (RetinaNet; ``torchvision.ops.sigmoid_focal_loss`` with
    reduction="mean"), p = σ(s), y ∈ [0, 1]:

        p_t = p y + (1 − p)(1 − y),    α_t = α y + (1 − α)(1 − y)
        ℓ = α_t (1 − p_t)^γ · CE,      CE = bce_with_logits(s, y) per element
        ∂ℓ/∂s = α_t (1 − p_t)^γ [(p − y) + γ (1 − 2y) · p(1 − p)/(1 − p_t) · CE]

    γ ≥ 0 down-weights easy examples (γ = 0 and α = None give plain BCE). α ∈ [0, 1] weights
    the positives by α and the negatives by 1 − α; ``alpha=None`` (or torchvision's −1,
    "ignore") applies no α weighting.

    >>> loss, grad = focal_loss(np.array([2.0, -1.0]), np.array([1.0, 1.0]))
    >>> round(float(loss), 5), grad.round(5).tolist()
    (0.08796, [-0.00061, -0.09603])
    >>> g0 = focal_loss(np.array([2.0, -1.0]), np.array([1.0, 1.0]), gamma=0, alpha=None)
    >>> round(float(g0[0]), 4)                                  # = bce_with_logits
    0.7201
    """
    logits, y = _binary_targets(logits, y)
    gamma = as_real(gamma, "gamma", low=0.0)
    if alpha is None or (isinstance(alpha, numbers.Real) and not isinstance(alpha, (bool, np.bool_))
                         and alpha == -1):
        alpha = None                                      # torchvision's "-1 for ignore"
    else:
        alpha = as_real(alpha, "alpha", low=0.0, high=1.0)
    p, one_minus_p = sigmoid(logits), sigmoid(-logits)
    ce = y * softplus(-logits) + (1 - y) * softplus(logits)
    q = p * (1 - y) + one_minus_p * y                     # 1 − p_t, without cancellation
    ratio = np.divide(p * one_minus_p, q, out=np.zeros_like(q), where=q > 0)   # ≤ 1
    modulator = q ** gamma
    values = modulator * ce
    grad = modulator * ((1 - y) * p - y * one_minus_p + gamma * (1 - 2 * y) * ratio * ce)
    if alpha is not None:
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        values, grad = alpha_t * values, alpha_t * grad
    return _scalar(np.mean(values), logits.dtype), grad / logits.size
# --8<-- [end:focal_loss]
