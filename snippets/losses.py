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
from snippets.activations import log_softmax, sigmoid, softmax, softplus


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


def _logit_pair(a, b, name_a, name_b):
    a = _scores(a) if name_a == "scores" else _finite_matrix(a, name_a)
    b = _finite_matrix(b, name_b)
    check_same_shape(a, b, name_a, name_b)
    return a, b.astype(a.dtype, copy=False)


def _finite_matrix(x, name):
    x = as_float_array(x, name, ndim=2)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, C) with N >= 1 and C >= 1, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no nan or inf)")
    return x


# --8<-- [start:distillation_loss]
def distillation_loss(student_logits, teacher_logits, T=1.0):
    """Knowledge distillation (Hinton et al., 2015): the student matches the teacher's softened
    distribution. With p = softmax(t / T) (teacher) and q = softmax(s / T) (student), mean over N:

        L = T² · (1/N) Σᵢ KL(pᵢ ‖ qᵢ) = T² · (1/N) Σᵢ Σⱼ p_ij (log p_ij − log q_ij)
        ∂L/∂s_ij = T · (q_ij − p_ij) / N

    = PyTorch's ``kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean") * T**2``. The T²
    undoes the 1/T² by which softening shrinks the gradient, so the soft term keeps its weight
    when T changes; it is usually mixed with the ordinary cross-entropy on the hard labels.

    >>> s, t = np.array([[1.0, 2.0, 0.0]]), np.array([[3.0, 1.0, 0.0]])
    >>> loss, grad = distillation_loss(s, t, T=2.0)
    >>> round(float(loss), 4), grad.round(4).tolist()
    (0.9153, [[-0.6427, 0.5505, 0.0922]])
    >>> float(distillation_loss(t, t, T=4.0)[0])                  # a student equal to the teacher
    0.0
    """
    s, t = _logit_pair(student_logits, teacher_logits, "student_logits", "teacher_logits")
    T = as_real(T, "T", low=0.0, low_open=True)
    n = s.shape[0]
    log_q = log_softmax(s / T, axis=1)
    log_p = log_softmax(t / T, axis=1)
    p = np.exp(log_p)                     # an underflowed p_ij = 0 contributes 0, as xlogy does
    loss = T * T * np.sum(p * (log_p - log_q)) / n
    return _scalar(loss, s.dtype), T * (np.exp(log_q) - p) / n
# --8<-- [end:distillation_loss]


def _embeddings(x, name):
    x = as_float_array(x, name)
    if x.ndim not in (1, 2) or x.size == 0:
        raise ValueError(f"{name} must have shape (N, D) or (D,) with at least one entry, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no nan or inf)")
    return x


# --8<-- [start:triplet_margin_loss]
def triplet_margin_loss(anchor, positive, negative, margin=1.0):
    """Triplet margin loss (FaceNet; PyTorch's ``triplet_margin_loss`` with p = 2, eps = 1e-6,
    mean over the N triplets of rows (N, D)): the anchor must be closer to the positive than to the
    negative by at least the margin. With PyTorch's distance d(x, y) = ‖x − y + ε‖₂:

        Lᵢ = max(0, d(aᵢ, pᵢ) − d(aᵢ, nᵢ) + margin),      L = (1/N) Σᵢ Lᵢ
        ∂L/∂aᵢ = [(aᵢ − pᵢ + ε)/d(aᵢ, pᵢ) − (aᵢ − nᵢ + ε)/d(aᵢ, nᵢ)] / N   where the hinge is ≥ 0

    (the hinge's gradient passes at exactly 0, as PyTorch's clamp_min does).

    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 0.0]]), np.array([[0.0, 2.0]])
    >>> loss, grad = triplet_margin_loss(a, p, n)                  # 3 − 2 + 1 (≈, with the ε)
    >>> round(float(loss), 4), grad.round(4).tolist()
    (2.0, [[-1.0, 1.0]])
    """
    a = _embeddings(anchor, "anchor")
    pos = _embeddings(positive, "positive")
    neg = _embeddings(negative, "negative")
    check_same_shape(a, pos, "anchor", "positive")
    check_same_shape(a, neg, "anchor", "negative")
    margin = as_real(margin, "margin", low=0.0, low_open=True)
    eps = 1e-6
    dp_vec, dn_vec = a - pos + eps, a - neg + eps
    d_pos = np.sqrt(np.sum(dp_vec * dp_vec, axis=-1, keepdims=True))
    d_neg = np.sqrt(np.sum(dn_vec * dn_vec, axis=-1, keepdims=True))
    hinge = margin + d_pos - d_neg
    n = hinge.size
    unit_pos = np.divide(dp_vec, d_pos, out=np.zeros_like(dp_vec), where=d_pos > 0)
    unit_neg = np.divide(dn_vec, d_neg, out=np.zeros_like(dn_vec), where=d_neg > 0)
    grad = np.where(hinge >= 0, unit_pos - unit_neg, 0) / n
    return _scalar(np.sum(np.maximum(hinge, 0)) / n, a.dtype), grad.astype(a.dtype, copy=False)
# --8<-- [end:triplet_margin_loss]


def _unit_rows(x, eps=1e-12):
    """Rows divided by max(‖row‖, eps), as torch.nn.functional.normalize."""
    norm = np.sqrt(np.sum(x * x, axis=1, keepdims=True))
    scale = np.maximum(norm, eps)
    return x / scale, norm, scale


# --8<-- [start:info_nce_loss]
def info_nce_loss(queries, keys, temperature=0.07):
    """InfoNCE / contrastive loss (CPC, SimCLR, MoCo, CLIP's one direction): row i of ``queries``
    (N, D) and row i of ``keys`` (M, D), M ≥ N, are a positive pair; every other key is a negative.
    With rows L2-normalized, q̂ = q / ‖q‖ (as ``F.normalize``, eps 1e-12):

        z_ij = q̂ᵢ · k̂ⱼ / τ,      L = −(1/N) Σᵢ log softmax(zᵢ)ᵢ    (cross-entropy, label i)
        ∂L/∂q̂ᵢ = Σⱼ (p_ij − 1[j = i]) k̂ⱼ / (N τ),    ∂L/∂qᵢ = (I − q̂ᵢ q̂ᵢᵀ) ∂L/∂q̂ᵢ / ‖qᵢ‖

    The temperature τ sets how hard the negatives are weighted; 0.07 is MoCo's and CLIP's start.

    >>> q = np.array([[1.0, 0.0], [0.0, 2.0]]); k = np.array([[2.0, 0.0], [0.0, 1.0]])
    >>> loss, grad = info_nce_loss(q, k, temperature=0.5)      # z = [[2, 0], [0, 2]]
    >>> round(float(loss), 4), grad.round(4).tolist()
    (0.1269, [[0.0, 0.1192], [0.0596, 0.0]])
    """
    q = _finite_matrix(queries, "queries")
    k = _finite_matrix(keys, "keys").astype(q.dtype, copy=False)
    if k.shape[1] != q.shape[1] or k.shape[0] < q.shape[0]:
        raise ValueError(f"keys must have shape (M, {q.shape[1]}) with M >= {q.shape[0]} "
                         f"(row i is the positive of query i), got {k.shape}")
    temperature = as_real(temperature, "temperature", low=0.0, low_open=True)
    q_hat, q_norm, q_scale = _unit_rows(q)
    k_hat, _, _ = _unit_rows(k)
    n, rows = q.shape[0], np.arange(q.shape[0])
    log_p = log_softmax(q_hat @ k_hat.T / temperature, axis=1)
    dz = np.exp(log_p)
    dz[rows, rows] -= 1
    d_qhat = dz @ k_hat / (n * temperature)
    radial = np.sum(d_qhat * q_hat, axis=1, keepdims=True) * q_hat
    d_q = np.where(q_norm > 1e-12, d_qhat - radial, d_qhat) / q_scale
    return _scalar(-log_p[rows, rows].sum() / n, q.dtype), d_q.astype(q.dtype, copy=False)
# --8<-- [end:info_nce_loss]


def _gaussian_var(var, mean):
    if isinstance(var, numbers.Real) and not isinstance(var, (bool, np.bool_)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        return np.full_like(mean, float(var))
    var = as_float_array(var, "var")
    if np.any(var < 0):
        raise ValueError("var has negative entry/entries")
    if not np.all(np.isfinite(var)):
        raise ValueError("var must be finite (no nan or inf)")
    if var.shape != mean.shape:
        if var.shape == mean.shape[:-1]:                 # one variance per row: (N,) for (N, D)
            var = var[..., None]
        elif var.ndim != mean.ndim or sum(v for m, v in zip(mean.shape, var.shape) if m != v) != 1:
            raise ValueError(f"var is of incorrect size: {var.shape} for mean {mean.shape} (the same "
                             f"shape, the shape without the last axis, or size 1 on one axis)")
    return np.broadcast_to(var, mean.shape).astype(mean.dtype, copy=False)


# --8<-- [start:gaussian_nll_loss]
def gaussian_nll_loss(mean, target, var, eps=1e-6):
    """Gaussian negative log-likelihood (PyTorch's ``gaussian_nll_loss``, full=False, mean): the
    network predicts a mean μ and a variance σ² for each target y; with σ² clamped below at eps,

        ℓ = ½ (log σ² + (μ − y)² / σ²),      ∂ℓ/∂μ = (μ − y) / σ²     (mean over the n elements)

    (the constant ½ log 2π is left out). A large predicted variance makes errors cheap but pays
    log σ²; for a fixed error the best variance is σ² = (μ − y)². ``var`` has the shape of ``mean``,
    or that shape without its last axis (one variance per row), or size 1 on one axis, or is a
    number; as in PyTorch a negative variance raises, a small one is clamped.

    >>> loss, grad = gaussian_nll_loss(np.array([1.0, 2.0]), np.array([0.0, 2.0]), np.array([4.0, 1.0]))
    >>> round(float(loss), 4), grad.round(4).tolist()                 # ½(log 4 + 1/4), ½ log 1
    (0.4091, [0.125, 0.0])
    """
    mean, target = _pair(mean, target, "mean", "target")
    eps = as_real(eps, "eps", low=0.0)
    var = np.maximum(_gaussian_var(var, mean), eps)
    r = mean - target
    values = 0.5 * (np.log(var) + r * r / var)
    return _scalar(np.mean(values), mean.dtype), (r / var / r.size).astype(mean.dtype, copy=False)
# --8<-- [end:gaussian_nll_loss]


# --8<-- [start:arcface_loss]
def arcface_loss(cosines, y, scale=64.0, margin=0.5):
    """Additive angular margin softmax (ArcFace, Deng et al., 2019), averaged over N. ``cosines``
    (N, C) are cos θ_ij between the L2-normalized embedding of sample i and the normalized weight
    (class centre) of class j. The true class's angle is enlarged by the margin m before a scaled
    softmax cross-entropy:

        z_ij = s · cos(θ_ij + m) for j = yᵢ,   z_ij = s · cos θ_ij otherwise,   L = softmax_loss(z, y)
        ∂z_i,yᵢ / ∂cos θ = s (cos m + sin m · cos θ / sin θ),   ∂z_ij / ∂cos θ_ij = s  (j ≠ yᵢ)

    Cosines are clipped to [−1 + 1e-7, 1 − 1e-7] first, as implementations do, since dθ/d cos θ is
    infinite at ±1. m = 0 gives the plain normalized softmax with scale s.

    >>> cos = np.array([[0.8, 0.6]])
    >>> [round(float(arcface_loss(cos, np.array([0]), scale=s, margin=m)[0]), 4)
    ...  for s, m in ((10.0, 0.0), (10.0, 0.5))]                     # the margin raises the loss
    [0.1269, 2.0011]
    """
    cosines, y = _scores_and_labels(cosines, y)
    if np.any(np.abs(cosines) > 1):
        raise ValueError("cosines must lie in [-1, 1] (cosines of angles between unit vectors)")
    scale = as_real(scale, "scale", low=0.0, low_open=True)
    margin = as_real(margin, "margin", low=0.0, high=math.pi / 2)
    c = np.clip(cosines, -1 + 1e-7, 1 - 1e-7)
    rows = np.arange(c.shape[0])
    cos_y = c[rows, y]
    sin_y = np.sqrt(1 - cos_y * cos_y)
    z = scale * c
    z[rows, y] = scale * (cos_y * math.cos(margin) - sin_y * math.sin(margin))   # s cos(θ + m)
    loss, dz = softmax_loss(z, y)
    grad = dz * scale
    grad[rows, y] *= math.cos(margin) + math.sin(margin) * cos_y / sin_y
    inside = np.abs(cosines) < 1 - 1e-7                      # the clip has zero slope outside
    return loss, np.where(inside, grad, 0).astype(cosines.dtype, copy=False)
# --8<-- [end:arcface_loss]


def _probabilities(probs, y):
    probs = as_float_array(probs, "probs", ndim=2)
    if probs.shape[0] == 0 or probs.shape[1] == 0:
        raise ValueError(f"probs must have shape (N, C) with N >= 1 and C >= 1, got {probs.shape}")
    if (np.any(probs < 0) or not np.all(np.isfinite(probs))
            or not np.allclose(probs.sum(axis=1), 1, rtol=0, atol=1e-6)):
        raise ValueError("probs must hold one probability distribution per row "
                         "(non-negative entries summing to 1)")
    return probs, as_labels(y, *probs.shape).astype(np.intp)


# --8<-- [start:calibration]
def expected_calibration_error(probs, y, n_bins=15):
    """Expected calibration error (Guo et al., 2017). The confidence of a prediction is its top
    probability cᵢ = max_j p_ij; the predictions are put in M equal-width bins
    B_b = ((b − 1)/M, b/M] by confidence, and the gap between accuracy and mean confidence is
    averaged over the bins, weighted by their share of the N samples:

        ECE = Σ_b (|B_b| / N) · |acc(B_b) − conf(B_b)|

    0 for a perfectly calibrated model (among predictions made with confidence 0.8, 80 % are right).

    >>> probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    >>> round(float(expected_calibration_error(probs, np.array([0, 1, 0, 1]), n_bins=5)), 4)
    0.375
    """
    probs, y = _probabilities(probs, y)
    n_bins = as_int(n_bins, "n_bins", low=1)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)   # (lo, hi]
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return _scalar(ece, probs.dtype)


def fit_temperature(logits, y, max_iter=200):
    """Temperature scaling (Guo et al., 2017): the one number T > 0 that minimizes the validation
    NLL of softmax(s / T), i.e. softmax_loss(logits / T, y). It never changes the argmax, so the
    accuracy is unchanged; only the confidences move. With β = 1/T the NLL is convex in β and
    its derivative,  d NLL/dβ = (1/N) Σᵢ (Σⱼ p_ij s_ij − s_i,yᵢ),  increases with β, so the
    optimum is found by bisection on that derivative.

    >>> logits = np.array([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    >>> y = np.array([0, 0, 1, 1])                                    # 3 of 4 right, all at 98 %
    >>> T = fit_temperature(logits, y)
    >>> round(T, 4), softmax(logits / T).max(axis=1).round(4).tolist()   # confidence -> 75 %
    (3.641, [0.75, 0.75, 0.75, 0.75])
    """
    logits, y = _scores_and_labels(logits, y)
    max_iter = as_int(max_iter, "max_iter", low=1)
    rows = np.arange(logits.shape[0])

    def slope(beta):                        # d NLL / d beta at beta = 1/T
        p = np.exp(log_softmax(beta * logits, axis=1))
        return float(np.mean(np.sum(p * logits, axis=1) - logits[rows, y]))

    others = np.where(np.arange(logits.shape[1]) == y[:, None], -np.inf, logits)
    if np.all(logits[rows, y] > others.max(axis=1)):
        raise ValueError("logits: the NLL keeps decreasing as T -> 0 (every example is "
                         "classified correctly), so there is no best temperature")
    if slope(0.0) >= 0:
        raise ValueError("logits: the NLL does not decrease from T = inf (the logits are no better "
                         "than uniform on these labels), so there is no finite best temperature")
    lo, hi = 0.0, 1.0
    while slope(hi) < 0:                    # the NLL still decreases: sharpen further
        lo, hi = hi, 2 * hi
        if hi > 1e12:
            raise ValueError("logits: the NLL keeps decreasing as T -> 0 (every example is "
                             "classified correctly), so there is no best temperature")
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if slope(mid) < 0 else (lo, mid)
    return 2 / (lo + hi)
# --8<-- [end:calibration]


# --8<-- [start:first_loss_checks]
def first_loss_checks(x, y, w, lam=0.0):
    """The loss of the first batch of a linear softmax classifier s = x w (plus ½ λ ‖w‖²), and what
    five common bugs do to it. With small initial weights every score is near 0, every class gets
    p ≈ 1/C and the loss is ≈ log C — whatever the labels are, so two bugs stay invisible:

        "labels off by one": the labels shifted by one class          ≈ log C (invisible)
        "double softmax":    softmax applied to the scores first      ≈ log C (invisible)
        "sum, not mean":     the per-example losses summed             N · log C
        "weights x1000":     an initialization 1000 times too large    ≫ log C
        "L2 penalty":        ½ λ ‖w‖² added, here with λ = lam         log C + ½ λ ‖w‖²

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(500, 100)), rng.integers(0, 10, size=500)
    >>> w = 1e-3 * rng.normal(size=(100, 10))
    >>> {k: round(float(v), 5) for k, v in first_loss_checks(x, y, w, lam=1e3).items()}
    {'correct': 2.30286, 'labels off by one': 2.30308, 'double softmax': 2.30261, 'sum, not mean': 1151.4316, 'weights x1000': 15.97186, 'L2 penalty': 2.79724}
    >>> round(math.log(10), 5)
    2.30259
    """
    x = as_float_array(x, "x", ndim=2)
    w = as_float_array(w, "w", ndim=2)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"w must have shape ({x.shape[1]}, C), got {w.shape}")
    lam = as_real(lam, "lam", low=0.0)
    scores = x @ w
    num_classes = scores.shape[1]
    y = as_labels(y, scores.shape[0], num_classes).astype(np.intp)
    loss = float(softmax_loss(scores, y)[0])
    return {
        "correct": loss,
        "labels off by one": float(softmax_loss(scores, (y + 1) % num_classes)[0]),
        "double softmax": float(softmax_loss(softmax(scores, axis=1), y)[0]),
        "sum, not mean": loss * scores.shape[0],
        "weights x1000": float(softmax_loss(x @ (1000 * w), y)[0]),
        "L2 penalty": loss + 0.5 * lam * float(np.sum(w * w)),
    }
# --8<-- [end:first_loss_checks]
