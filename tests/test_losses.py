"""Tests for snippets.losses: finite-difference gradients, properties, the Losses page's claims,
and bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradient_assertions import assert_grad
from snippets import losses as L
from snippets.activations import sigmoid, softmax
from snippets.gradcheck import numerical_gradient


def class_problem(rng, n=6, c=5, scale=2.0):
    return rng.normal(size=(n, c)) * scale, rng.integers(0, c, size=n)


# ---------------------------------------------------------------- gradient checks (float64)

def _away_from_hinge_kinks(scores, y, margin):
    d = scores - scores[np.arange(len(y)), y][:, None] + margin
    d[np.arange(len(y)), y] = 1.0
    return np.min(np.abs(d)) > 1e-3


@pytest.mark.parametrize("loss", [L.svm_loss, L.svm_loss_naive, L.squared_hinge_loss])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_hinge_gradients(rng, loss, margin):
    scores, y = class_problem(rng)
    assert _away_from_hinge_kinks(scores, y, margin)
    _, grad = loss(scores, y, margin)
    assert np.any(grad != 0)
    assert_grad(lambda s: loss(s, y, margin)[0], scores, grad)


@pytest.mark.parametrize("loss", [L.softmax_loss, L.softmax_loss_naive])
def test_softmax_gradient(rng, loss):
    scores, y = class_problem(rng)
    assert_grad(lambda s: loss(s, y)[0], scores, loss(scores, y)[1])


def test_weighted_softmax_gradient(rng):
    scores, y = class_problem(rng)
    w = rng.uniform(0.2, 3.0, size=scores.shape[1])
    assert_grad(lambda s: L.weighted_softmax_loss(s, y, w)[0], scores,
                L.weighted_softmax_loss(scores, y, w)[1])


@pytest.mark.parametrize("normalized", [True, False])
def test_soft_cross_entropy_gradient(rng, normalized):
    scores, _ = class_problem(rng)
    t = rng.dirichlet(np.ones(scores.shape[1]), size=scores.shape[0])
    if not normalized:
        t = t * rng.uniform(0.5, 2.0, size=(scores.shape[0], 1))
    assert_grad(lambda s: L.soft_cross_entropy(s, t)[0], scores, L.soft_cross_entropy(scores, t)[1])


@pytest.mark.parametrize("loss", [L.mse_loss, L.mae_loss])
def test_regression_gradients(rng, loss):
    pred, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    assert np.min(np.abs(pred - target)) > 1e-3
    assert_grad(lambda p: loss(p, target)[0], pred, loss(pred, target)[1])


@pytest.mark.parametrize("delta", [0.5, 1.0, 2.0])
def test_huber_gradient(rng, delta):
    pred, target = rng.normal(size=(5, 4)) * 2, rng.normal(size=(5, 4))
    a = np.abs(pred - target)
    assert np.any(a < delta) and np.any(a > delta) and np.min(np.abs(a - delta)) > 1e-3
    assert_grad(lambda p: L.huber_loss(p, target, delta)[0], pred,
                L.huber_loss(pred, target, delta)[1])


@pytest.mark.parametrize("soft", [False, True])
def test_bce_with_logits_gradient(rng, soft):
    logits = rng.normal(size=(4, 3)) * 3
    y = rng.uniform(size=(4, 3)) if soft else rng.integers(0, 2, size=(4, 3)).astype(float)
    assert_grad(lambda s: L.bce_with_logits(s, y)[0], logits, L.bce_with_logits(logits, y)[1])


def test_binary_cross_entropy_gradient(rng):
    probs, y = rng.uniform(0.05, 0.95, size=(4, 3)), rng.uniform(size=(4, 3))
    assert_grad(lambda p: L.binary_cross_entropy(p, y)[0], probs,
                L.binary_cross_entropy(probs, y)[1])


@pytest.mark.parametrize("gamma,alpha", [(2.0, 0.25), (0.0, 0.25), (0.5, 0.75), (1.0, None),
                                         (3.0, -1), (2.0, 1.0)])
@pytest.mark.parametrize("soft", [False, True])
def test_focal_gradient(rng, gamma, alpha, soft):
    logits = rng.normal(size=(4, 3)) * 3
    y = rng.uniform(size=(4, 3)) if soft else rng.integers(0, 2, size=(4, 3)).astype(float)
    _, grad = L.focal_loss(logits, y, gamma, alpha)
    assert_grad(lambda s: L.focal_loss(s, y, gamma, alpha)[0], logits, grad)


# ---------------------------------------------------------------- properties

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@st.composite
def class_batches(draw, elements=finite, max_n=5, max_c=5):
    n = draw(st.integers(1, max_n))
    c = draw(st.integers(1, max_c))
    scores = draw(arrays(np.float64, (n, c), elements=elements))
    y = draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return scores, y


@given(class_batches(), st.floats(0, 3))
def test_class_losses_are_non_negative(batch, margin):
    scores, y = batch
    for value in (L.svm_loss(scores, y, margin)[0], L.squared_hinge_loss(scores, y, margin)[0],
                  L.softmax_loss(scores, y)[0], L.zero_one_loss(scores, y)[0]):
        assert value >= 0


@given(class_batches(elements=st.integers(-3, 3).map(float)))
def test_svm_loss_is_zero_exactly_when_all_margins_hold(batch):
    scores, y = batch          # small integers: many scores sit exactly on the margin
    rows = np.arange(len(y))
    holds = all(scores[i, y[i]] - scores[i, j] >= 1.0
                for i in rows for j in range(scores.shape[1]) if j != y[i])
    loss, grad = L.svm_loss(scores, y)
    assert (loss == 0) == holds
    if holds:
        assert np.all(grad == 0)


@given(class_batches(max_n=4, max_c=4), st.floats(0, 2))
def test_naive_and_vectorized_agree(batch, margin):
    scores, y = batch
    for fast, slow, args in ((L.svm_loss, L.svm_loss_naive, (margin,)),
                             (L.softmax_loss, L.softmax_loss_naive, ())):
        (lf, gf), (ls, gs) = fast(scores, y, *args), slow(scores, y, *args)
        np.testing.assert_allclose(lf, ls, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gf, gs, rtol=1e-12, atol=1e-12)


@given(class_batches())
def test_softmax_gradient_is_p_minus_y(batch):
    scores, y = batch
    n, c = scores.shape
    _, grad = L.softmax_loss(scores, y)
    np.testing.assert_allclose(grad * n, softmax(scores, axis=1) - np.eye(c)[y], atol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)


@given(arrays(np.float64, st.integers(1, 6), elements=finite),
       arrays(np.float64, st.integers(1, 6), elements=finite),
       st.floats(0.01, 10), st.floats(0, 5), st.floats(0, 1))
def test_elementwise_losses_are_non_negative(a, b, delta, gamma, alpha):
    b = np.resize(b, a.shape)
    y = (b > 0).astype(float)
    for value in (L.mse_loss(a, b)[0], L.mae_loss(a, b)[0], L.huber_loss(a, b, delta)[0],
                  L.bce_with_logits(a, y)[0], L.focal_loss(a, y, gamma, alpha)[0]):
        assert value >= 0


extreme = st.sampled_from([-1e4, 1e4, -9999.5, 0.0, 1.0, -3e3, 5e3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_softmax_and_bce_finite_for_extreme_logits(dtype, data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    scores = data.draw(arrays(dtype, (n, c), elements=extreme))
    y = data.draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    targets = data.draw(arrays(dtype, (n, c), elements=st.sampled_from([0.0, 1.0, 0.5])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [L.softmax_loss(scores, y), L.softmax_loss_naive(scores, y),
                   L.bce_with_logits(scores, targets), L.focal_loss(scores, targets),
                   L.focal_loss(scores, targets, gamma=0.5, alpha=None)]
    for loss, grad in results:
        assert np.isfinite(loss) and np.all(np.isfinite(grad))
        assert loss.dtype == dtype and grad.dtype == dtype
    # Exact reference values: the loss of a sample is the gap to the winning score.
    expected = np.mean(np.max(scores.astype(np.float64), axis=1) - scores[np.arange(n), y])
    assert results[0][0] >= expected - 1e-3 * max(1.0, expected)


@given(class_batches(), st.floats(0.01, 1))
def test_information_identity_cross_entropy_is_entropy_plus_kl(batch, mix):
    scores, _ = batch
    p = softmax(scores, axis=1)
    q = (1 - mix) * softmax(scores[:, ::-1], axis=1) + mix / scores.shape[1]
    h, kl, ce = L.entropy(p), L.kl_divergence(p, q), L.cross_entropy(p, q)
    np.testing.assert_allclose(ce, h + kl, rtol=1e-10, atol=1e-10)
    assert np.all(kl >= -1e-12) and np.all(ce >= h - 1e-12)


# ---------------------------------------------------------------- claims on the Losses page

@pytest.mark.parametrize("c", [2, 3, 10, 100])
def test_sanity_values_at_initialization(rng, c):
    scores = rng.normal(size=(200, c)) * 1e-4           # tiny random weights: scores ≈ 0
    y = rng.integers(0, c, size=200)
    svm, soft = L.svm_loss(scores, y)[0], L.softmax_loss(scores, y)[0]
    assert abs(svm - (c - 1)) < 1e-2, f"SVM loss {svm} is not about C - 1 = {c - 1}"
    assert abs(soft - math.log(c)) < 1e-3, f"softmax loss {soft} is not about log C = {math.log(c)}"


def test_svm_vs_softmax_on_the_two_score_vectors():
    y = np.array([0])
    a, b = np.array([[10.0, -1.0, -1.0]]), np.array([[10.0, 9.0, 9.0]])
    assert L.svm_loss(a, y)[0] == 0 and L.svm_loss(b, y)[0] == 0
    assert np.all(L.svm_loss(b, y)[1] == 0)         # (10, 9, 9) sits exactly on the margin
    soft_a, soft_b = L.softmax_loss(a, y)[0], L.softmax_loss(b, y)[0]
    assert soft_a == pytest.approx(math.log1p(2 * math.exp(-11)), rel=1e-12)
    assert soft_b == pytest.approx(math.log1p(2 * math.exp(-1)), rel=1e-12)
    assert f"{soft_a:.4g}" == "3.34e-05" and f"{soft_b:.4g}" == "0.5514"   # the page's numbers
    assert soft_b > 10_000 * soft_a


def _hinge_case(d):
    return d if d > 0 else 0.0


@given(st.floats(-1e6, 1e6))
def test_hinge_case_form_equals_max_form(d):
    assert _hinge_case(d) == max(0.0, d)


def test_svm_loss_matches_the_classic_worked_example():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    per_sample = [2.9, 0.0, 12.9]
    assert L.svm_loss(scores, y)[0] == pytest.approx(np.mean(per_sample), rel=1e-12)
    for i in range(3):
        assert L.svm_loss(scores[i:i + 1], y[i:i + 1])[0] == pytest.approx(per_sample[i], abs=1e-12)


def test_svm_zero_loss_weights_are_not_unique(rng):
    scores, y = class_problem(rng, n=8, c=4)
    scores[np.arange(8), y] += 10.0                     # every margin holds
    assert L.svm_loss(scores, y)[0] == 0
    for lam in (1.5, 2.0, 10.0):                        # λW gives scores λs: still zero loss
        assert L.svm_loss(lam * scores, y)[0] == 0
    soft = [L.softmax_loss(lam * scores, y)[0] for lam in (1.0, 2.0, 4.0)]
    assert soft[0] > soft[1] > soft[2] > 0              # softmax keeps pushing, never 0


def test_squared_hinge_is_the_square_of_each_violation(rng):
    scores, y = class_problem(rng)
    d = np.maximum(0, scores - scores[np.arange(len(y)), y][:, None] + 1.0)
    d[np.arange(len(y)), y] = 0
    assert L.squared_hinge_loss(scores, y)[0] == pytest.approx((d ** 2).sum() / len(y), rel=1e-12)


def test_zero_one_loss_has_no_gradient(rng):
    scores, y = class_problem(rng)
    loss, grad = L.zero_one_loss(scores, y)
    assert loss == np.mean(scores.argmax(axis=1) != y)
    assert np.all(grad == 0)
    numeric = numerical_gradient(lambda s: L.zero_one_loss(s, y)[0], scores.copy())
    assert np.all(numeric == 0)          # piecewise constant: no signal for gradient descent


def test_binary_cross_entropy_forms_agree(rng):
    s = rng.normal(size=20) * 4
    y = rng.integers(0, 2, size=20).astype(float)
    l_logit, g_logit = L.bce_with_logits(s, y)
    l_prob, g_prob = L.binary_cross_entropy(sigmoid(s), y)
    assert l_prob == pytest.approx(l_logit, rel=1e-10)
    p = sigmoid(s)
    np.testing.assert_allclose(g_prob * p * (1 - p), g_logit, rtol=1e-8, atol=1e-15)   # chain rule
    # The y/(1 − y) form is the two-class softmax with scores (0, s): −Σ_j 1[y = j] log p_j.
    two_class = np.stack([np.zeros_like(s), s], axis=1)
    assert L.softmax_loss(two_class, y.astype(int))[0] == pytest.approx(l_logit, rel=1e-12)
    manual = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert l_logit == pytest.approx(manual, rel=1e-10)


def test_probability_form_breaks_for_saturated_logits():
    s, y = np.array([-1e4]), np.array([1.0])
    assert L.bce_with_logits(s, y)[0] == 1e4
    assert L.binary_cross_entropy(sigmoid(s), y)[0] == 100.0          # log clamped at −100
    assert L.binary_cross_entropy(sigmoid(np.array([40.0])), np.zeros(1))[0] == 100.0
    assert L.bce_with_logits(np.array([40.0]), np.zeros(1))[0] == pytest.approx(40.0)


def test_cross_entropy_with_one_hot_is_the_softmax_loss(rng):
    s, y = rng.normal(size=5), 3
    assert L.cross_entropy(np.eye(5)[y], softmax(s)) == pytest.approx(
        L.softmax_loss(s[None], np.array([y]))[0], rel=1e-12)
    assert L.entropy(np.eye(5)[y]) == 0


def test_information_worked_values():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    assert L.entropy(p) == pytest.approx(math.log(2))
    assert L.kl_divergence(p, p) == 0
    assert L.kl_divergence(p, q) == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5))
    assert L.kl_divergence(p, q) != pytest.approx(L.kl_divergence(q, p))          # asymmetric
    assert L.cross_entropy(p, np.array([1.0, 0.0])) == np.inf
    assert L.kl_divergence(np.array([1.0, 0.0]), p) == pytest.approx(math.log(2))   # 0 log 0 = 0


def test_label_smoothing_targets(rng):
    y, c, eps = np.array([0, 2, 1]), 4, 0.2
    t = L.smooth_labels(y, c, eps)
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    np.testing.assert_allclose(t[np.arange(3), y], 1 - eps + eps / c)
    assert np.isclose(t, eps / c).sum() == 3 * (c - 1)
    scores = rng.normal(size=(3, c))
    plain = L.soft_cross_entropy(scores, L.smooth_labels(y, c, 0.0))
    for a, b in zip(plain, L.softmax_loss(scores, y)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_label_smoothing_has_a_finite_optimum():
    t = L.smooth_labels(np.array([1]), 3, 0.1)
    loss, grad = L.soft_cross_entropy(np.log(t), t)          # scores = log t: softmax = t
    np.testing.assert_allclose(grad, 0, atol=1e-15)
    assert loss == pytest.approx(L.entropy(t[0]), rel=1e-12)  # the minimum is H(t) > 0
    far, _ = L.soft_cross_entropy(np.array([[0.0, 50.0, 0.0]]), t)
    assert far > loss                                        # unlike one-hot targets


def test_weighted_cross_entropy(rng):
    scores, y = class_problem(rng, n=10, c=3)
    for a, b in zip(L.weighted_softmax_loss(scores, y, np.full(3, 2.5)), L.softmax_loss(scores, y)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    w = np.array([1.0, 5.0, 0.5])
    per_sample = -np.log(softmax(scores, axis=1)[np.arange(10), y])
    expected = np.sum(w[y] * per_sample) / np.sum(w[y])              # divided by Σ w_y, not N
    assert L.weighted_softmax_loss(scores, y, w)[0] == pytest.approx(expected, rel=1e-12)
    assert L.weighted_softmax_loss(scores, y, w)[0] != pytest.approx(np.sum(w[y] * per_sample) / 10)


def test_focal_loss_reduces_to_bce_and_downweights_easy_examples(rng):
    s = rng.normal(size=30) * 3
    y = rng.integers(0, 2, size=30).astype(float)
    bce = L.bce_with_logits(s, y)
    for a, b in zip(L.focal_loss(s, y, gamma=0.0, alpha=None), bce):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    for a, b in zip(L.focal_loss(s, y, gamma=0.0, alpha=-1), bce):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    half = L.focal_loss(s, y, gamma=0.0, alpha=0.5)[0]
    assert half == pytest.approx(bce[0] / 2, rel=1e-12)
    # alpha weights positives by alpha and negatives by 1 - alpha
    assert L.focal_loss(s, np.ones(30), gamma=0.0, alpha=0.25)[0] == pytest.approx(
        0.25 * L.bce_with_logits(s, np.ones(30))[0], rel=1e-12)
    assert L.focal_loss(s, np.zeros(30), gamma=0.0, alpha=0.25)[0] == pytest.approx(
        0.75 * L.bce_with_logits(s, np.zeros(30))[0], rel=1e-12)
    # (1 − p_t)^γ: an easy example (p_t = 0.99) loses far more than a hard one (p_t = 0.3)
    easy, hard = math.log(99), math.log(0.3 / 0.7)
    ratio = [L.focal_loss(np.array([v]), np.ones(1), 2.0, None)[0]
             / L.bce_with_logits(np.array([v]), np.ones(1))[0] for v in (easy, hard)]
    assert ratio[0] == pytest.approx(0.01 ** 2) and ratio[1] == pytest.approx(0.7 ** 2)


def test_focal_loss_matches_its_definition(rng):
    s = rng.normal(size=(3, 4)) * 2
    y = rng.uniform(size=(3, 4))
    p = 1 / (1 + np.exp(-s))
    ce = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    p_t = p * y + (1 - p) * (1 - y)
    expected = np.mean((0.25 * y + 0.75 * (1 - y)) * (1 - p_t) ** 2 * ce)
    assert L.focal_loss(s, y)[0] == pytest.approx(expected, rel=1e-12)


def test_regression_losses_match_their_definitions(rng):
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    r = a - b
    assert L.mse_loss(a, b)[0] == pytest.approx(np.mean(r ** 2), rel=1e-12)
    assert L.mae_loss(a, b)[0] == pytest.approx(np.mean(np.abs(r)), rel=1e-12)
    assert L.mae_loss(a, a)[1].tolist() == np.zeros_like(a).tolist()       # sign(0) = 0


def test_huber_pieces_mse_like_inside_mae_like_outside():
    delta = 1.5
    r = np.array([-4.0, -1.5, -0.3, 0.0, 0.7, 1.5, 2.0, 9.0])
    pointwise = [float(L.huber_loss(np.array([v]), np.zeros(1), delta)[0]) for v in r]
    for v, h in zip(r, pointwise):
        if abs(v) <= delta:
            assert h == pytest.approx(0.5 * v * v, rel=1e-12)                   # ½ r²: MSE/2
            assert h == pytest.approx(L.mse_loss(np.array([v]), np.zeros(1))[0] / 2, rel=1e-12)
        else:
            assert h == pytest.approx(delta * (abs(v) - delta / 2), rel=1e-12)  # δ·|r| − δ²/2
            assert h == pytest.approx(delta * L.mae_loss(np.array([v]), np.zeros(1))[0]
                                      - delta ** 2 / 2, rel=1e-12)
    loss, grad = L.huber_loss(r, np.zeros_like(r), delta)
    assert loss == pytest.approx(np.mean(pointwise), rel=1e-12)
    assert np.max(np.abs(grad)) * r.size == delta               # the gradient is bounded by δ


@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_huber_value_and_slope_continuous_at_delta_second_derivative_not(delta, sign):
    def value(r):
        return float(L.huber_loss(np.array([r]), np.zeros(1), delta)[0])

    def slope(r):
        return float(L.huber_loss(np.array([r]), np.zeros(1), delta)[1][0])

    k, e = sign * delta, 1e-7
    assert value(k) == pytest.approx(0.5 * delta ** 2, rel=1e-12)
    assert value(k - sign * e) == pytest.approx(value(k + sign * e), abs=1e-6)       # ℓ continuous
    assert slope(k - sign * e) == pytest.approx(slope(k + sign * e), abs=1e-6)       # ℓ' continuous
    assert slope(k) == sign * delta
    h = 1e-3
    inside = (slope(k - sign * h) - slope(k - sign * 2 * h)) / (sign * h)
    outside = (slope(k + sign * 2 * h) - slope(k + sign * h)) / (sign * h)
    assert inside == pytest.approx(1.0) and outside == pytest.approx(0.0, abs=1e-12)  # ℓ'' jumps


def test_seed_huber_formula_is_the_delta_1_case(rng):
    r = rng.normal(size=50) * 3
    seed = np.where(np.abs(r) > 1, np.abs(r) - 0.5, r ** 2 / 2)
    assert L.huber_loss(r, np.zeros(50), 1.0)[0] == pytest.approx(np.mean(seed), rel=1e-12)


# ---------------------------------------------------------------- more claims on the Losses page

@pytest.mark.parametrize("lam", [0.5, 2.0, 7.0])
@pytest.mark.parametrize("margin", [0.5, 1.0, 3.0])
def test_hinge_is_positively_homogeneous_so_the_margin_only_sets_the_scale(rng, lam, margin):
    scores, y = class_problem(rng)
    loss, _ = L.svm_loss(scores, y, margin)
    scaled, _ = L.svm_loss(lam * scores, y, lam * margin)          # weights λW, margin λΔ
    assert scaled == pytest.approx(lam * loss, rel=1e-12)


@pytest.mark.parametrize("margin", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("c", [3, 10])
def test_initial_svm_loss_is_c_minus_one_times_the_margin(margin, c):
    loss, _ = L.svm_loss(np.zeros((4, c)), np.arange(4) % c, margin)
    assert loss == pytest.approx((c - 1) * margin, rel=1e-12)
    assert c - 1 != pytest.approx((c - 1) * margin) or margin == 1.0   # "C - 1" only for Δ = 1


@pytest.mark.parametrize("loss", [L.svm_loss, L.softmax_loss, L.squared_hinge_loss])
def test_weight_gradient_of_a_linear_classifier_is_x_transpose_score_gradient(rng, loss):
    x, w = rng.normal(size=(7, 4)), rng.normal(size=(4, 5))
    y = rng.integers(0, 5, size=7)
    assert _away_from_hinge_kinks(x @ w, y, 1.0)
    _, dscores = loss(x @ w, y)
    assert_grad(lambda v: loss(x @ v, y)[0], w, x.T @ dscores)


def test_two_class_losses_against_the_margin_as_in_the_figure():
    m = np.linspace(-3, 3, 61)
    rows = [np.array([[v, 0.0]]) for v in m]
    y0 = np.array([0])
    for v, s in zip(m, rows):
        assert L.softmax_loss(s, y0)[0] == pytest.approx(math.log1p(math.exp(-v)), rel=1e-12)
        assert L.softmax_loss(s, y0)[0] == pytest.approx(L.bce_with_logits(np.array([v]), np.ones(1))[0],
                                                         rel=1e-12)        # = the logistic loss
        assert L.svm_loss(s, y0)[0] == pytest.approx(max(0.0, 1 - v), abs=1e-12)
        assert L.squared_hinge_loss(s, y0)[0] == pytest.approx(max(0.0, 1 - v) ** 2, abs=1e-12)
        assert L.zero_one_loss(s, y0)[0] == (1.0 if v < 0 else 0.0)
        assert L.softmax_loss(s, y0)[0] > 0                                  # never reaches 0


def test_sigmoid_rounds_to_exactly_one_from_37_and_to_zero_for_very_negative_logits():
    assert sigmoid(np.array([37.0]))[0] == 1.0 and sigmoid(np.array([36.0]))[0] < 1.0
    assert np.all(sigmoid(np.linspace(37, 1e4, 1000)) == 1.0)
    assert sigmoid(np.array([-1e4]))[0] == 0.0
    with np.errstate(divide="ignore"):
        assert np.log1p(-sigmoid(np.array([37.0])))[0] == -np.inf        # log(1 − 1)


def test_probability_form_also_loses_the_gradient_of_saturated_logits():
    s, y = np.array([-1e4]), np.array([1.0])
    p = sigmoid(s)
    _, g_prob = L.binary_cross_entropy(p, y)
    assert g_prob[0] * p[0] * (1 - p[0]) == 0.0            # chain rule through σ'(s) = 0
    assert L.bce_with_logits(s, y)[1][0] == -1.0            # the true gradient σ(s) − y


def test_mse_on_a_sigmoid_vanishes_when_confidently_wrong_and_is_not_convex():
    def mse_on_sigmoid(s):
        return float(L.mse_loss(sigmoid(np.array([s])), np.ones(1))[0])

    def bce(s):
        return float(L.bce_with_logits(np.array([s]), np.ones(1))[0])

    s = -10.0                                                  # confidently wrong, label 1
    p = sigmoid(np.array([s]))
    g_mse = L.mse_loss(p, np.ones(1))[1][0] * p[0] * (1 - p[0])
    assert g_mse == pytest.approx(2 * (p[0] - 1) * p[0] * (1 - p[0]), rel=1e-12)
    assert abs(g_mse) < 1e-4
    assert L.bce_with_logits(np.array([s]), np.ones(1))[1][0] == pytest.approx(-1.0, abs=1e-4)
    h = 1e-3
    second = [(f(v + h) - 2 * f(v) + f(v - h)) / h ** 2 for f in (mse_on_sigmoid, bce) for v in (-3.0,)]
    assert second[0] < 0 < second[1]                           # MSE∘σ concave there, BCE convex
    grid = np.linspace(-10, 10, 201)
    assert all((bce(v + h) - 2 * bce(v) + bce(v - h)) / h ** 2 > 0 for v in grid)


def test_constant_prediction_minimizes_mse_at_the_mean_and_mae_at_the_median(rng):
    y = rng.standard_exponential(size=41) ** 2                 # skewed: mean and median differ
    grid = np.linspace(y.min(), y.max(), 2_001)
    mse = [L.mse_loss(np.full_like(y, c), y)[0] for c in grid]
    mae = [L.mae_loss(np.full_like(y, c), y)[0] for c in grid]
    step = grid[1] - grid[0]
    assert abs(grid[np.argmin(mse)] - y.mean()) <= step
    assert abs(grid[np.argmin(mae)] - np.median(y)) <= step
    assert abs(y.mean() - np.median(y)) > 10 * step


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_smooth_l1_is_huber_divided_by_beta(rng, beta):
    r = rng.normal(size=200) * 3
    a = np.abs(r)
    smooth_l1 = np.mean(np.where(a < beta, 0.5 * r * r / beta, a - 0.5 * beta))   # PyTorch's docs
    assert smooth_l1 == pytest.approx(L.huber_loss(r, np.zeros_like(r), beta)[0] / beta, rel=1e-12)
    slope = L.huber_loss(np.array([10.0]), np.zeros(1), beta)[1][0] / beta
    assert slope == pytest.approx(1.0)                      # linear part of smooth L1: slope 1


@pytest.mark.parametrize("eps, c", [(0.1, 3), (0.1, 10), (0.3, 5)])
def test_label_smoothing_optimum_has_a_finite_logit_gap(eps, c):
    gap = math.log((1 - eps + eps / c) / (eps / c))
    scores = np.zeros((1, c))
    scores[0, 1] = gap
    t = L.smooth_labels(np.array([1]), c, eps)
    loss, grad = L.soft_cross_entropy(scores, t)
    np.testing.assert_allclose(grad, 0, atol=1e-15)
    np.testing.assert_allclose(softmax(scores, axis=1), t, rtol=1e-12)
    assert loss == pytest.approx(L.entropy(t[0]), rel=1e-12) and loss > 0
    for other in (gap - 0.5, gap + 0.5):                  # a larger or smaller gap costs more
        scores[0, 1] = other
        assert L.soft_cross_entropy(scores, t)[0] > loss


def test_label_smoothing_equals_pytorchs_documented_mixture(rng):
    scores, y = class_problem(rng, n=8, c=6)
    eps = 0.2
    log_p = np.log(softmax(scores, axis=1))
    nll = -log_p[np.arange(8), y].mean()
    uniform = -log_p.mean(axis=1).mean()
    expected = (1 - eps) * nll + eps * uniform
    assert L.soft_cross_entropy(scores, L.smooth_labels(y, 6, eps))[0] == pytest.approx(expected, rel=1e-12)


def test_focal_loss_defaults_are_the_retinanet_values():
    import inspect

    params = inspect.signature(L.focal_loss).parameters
    assert params["gamma"].default == 2.0 and params["alpha"].default == 0.25


def test_scaled_weights_svm_reaches_zero_and_stays_softmax_keeps_decreasing(rng):
    n, c = 64, 5
    scores, y = rng.normal(size=(n, c)), rng.integers(0, c, size=n)
    scores[np.arange(n), y] = scores.max(axis=1) + rng.uniform(0.2, 1.0, size=n)   # all correct
    lam = np.linspace(0.0, 8.0, 161)
    svm = np.array([L.svm_loss(k * scores, y)[0] for k in lam])
    soft = np.array([L.softmax_loss(k * scores, y)[0] for k in lam])
    first_zero = np.argmax(svm == 0)
    assert svm[first_zero] == 0 and 0 < first_zero and np.all(svm[first_zero:] == 0)
    assert np.all(np.diff(soft) < 0) and np.all(soft > 0)


def test_kl_is_not_a_distance_and_cross_entropy_of_p_with_itself_is_its_entropy():
    p, q, r = np.array([0.9, 0.1]), np.array([0.5, 0.5]), np.array([0.1, 0.9])
    assert L.kl_divergence(p, r) > L.kl_divergence(p, q) + L.kl_divergence(q, r)   # no triangle ineq.
    assert L.kl_divergence(p, q) != pytest.approx(L.kl_divergence(q, p))
    assert L.cross_entropy(q, q) == pytest.approx(math.log(2)) and L.cross_entropy(q, q) > 0


def test_speedup_table_is_a_well_formed_markdown_table():
    from tools.figures.losses import TABLES, speedup_table

    assert TABLES == {"losses-speedup.md": speedup_table}
    text = speedup_table(shapes=((20, 3, 1), (30, 4, 1)))
    lines = text.splitlines()
    assert lines[0] == "| loss | N | C | loop (ms) | vectorized (ms) | speedup |"
    rows = [line.split("|")[1:-1] for line in lines[2:6]]
    assert [(r[0].strip(), r[1].strip(), r[2].strip()) for r in rows] == [
        ("SVM (hinge)", "20", "3"), ("softmax cross-entropy", "20", "3"),
        ("SVM (hinge)", "30", "4"), ("softmax cross-entropy", "30", "4")]
    for r in rows:
        loop, vectorized, speedup = float(r[3]), float(r[4]), r[5].strip()
        assert loop > 0 and vectorized > 0 and speedup.endswith("×")
    assert lines[6] == "" and "time.perf_counter" in lines[7] and "$" not in text


# ---------------------------------------------------------------- dtypes, labels, purity

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_are_kept(rng, dtype):
    scores, y = class_problem(rng)
    scores = scores.astype(dtype)
    t = rng.uniform(size=scores.shape).astype(dtype)
    for loss, grad in (L.svm_loss(scores, y), L.softmax_loss(scores, y),
                       L.squared_hinge_loss(scores, y), L.mse_loss(scores, t),
                       L.huber_loss(scores, t), L.mae_loss(scores, t),
                       L.bce_with_logits(scores, t), L.focal_loss(scores, t)):
        assert loss.dtype == dtype and grad.dtype == dtype


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.uint32, np.int64])
def test_any_integer_label_dtype(rng, label_dtype):
    scores, y = class_problem(rng)
    expected = L.softmax_loss(scores, y)[0]
    assert L.softmax_loss(scores, y.astype(label_dtype))[0] == expected
    assert L.svm_loss(scores, y.astype(label_dtype))[0] == L.svm_loss(scores, y)[0]


def test_inputs_are_not_modified(rng):
    scores, y = class_problem(rng)
    t = rng.uniform(size=scores.shape)
    w = np.ones(scores.shape[1])
    args = [scores, y, t, w]
    before = [a.copy() for a in args]
    for f, a in ((L.svm_loss, (scores, y)), (L.svm_loss_naive, (scores, y)),
                 (L.squared_hinge_loss, (scores, y)), (L.softmax_loss, (scores, y)),
                 (L.softmax_loss_naive, (scores, y)), (L.zero_one_loss, (scores, y)),
                 (L.weighted_softmax_loss, (scores, y, w)), (L.soft_cross_entropy, (scores, t)),
                 (L.mse_loss, (scores, t)), (L.mae_loss, (scores, t)), (L.huber_loss, (scores, t)),
                 (L.bce_with_logits, (scores, t)), (L.focal_loss, (scores, t)),
                 (L.binary_cross_entropy, (t, t))):
        f(*a)
    for a, b in zip(args, before):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------- bad input

S = np.zeros((2, 3))
Y = np.array([0, 2])


@pytest.mark.parametrize("loss", [L.svm_loss, L.svm_loss_naive, L.squared_hinge_loss,
                                  L.softmax_loss, L.softmax_loss_naive, L.zero_one_loss])
@pytest.mark.parametrize("scores,y,match", [
    (np.zeros(3), np.array([0]), "^scores"),                    # not 2-D
    (np.zeros((2, 3, 1)), Y, "^scores"),
    (np.zeros((0, 3)), np.zeros(0, dtype=int), "^scores"),      # empty batch
    (S, np.array([0.0, 2.0]), "^y "),                           # float labels
    (S, np.array([True, False]), "^y "),                        # bool labels
    (S, np.array([0, 1, 2]), "^y "),                            # wrong length
    (S, np.array([[0], [2]]), "^y "),
    (S, np.array([0, 3]), "^y "),                               # out of range
    (S, np.array([-1, 0]), "^y "),
    (np.array([[np.nan, 1.0, 0.0], [0.0, 1.0, 2.0]]), Y, "^scores must be finite"),
    (np.array([[np.inf, 1.0, 0.0], [0.0, 1.0, 2.0]]), Y, "^scores must be finite"),
])
def test_class_losses_reject_bad_input(loss, scores, y, match):
    with pytest.raises(ValueError, match=match):
        loss(scores, y)


@pytest.mark.parametrize("loss", [L.svm_loss, L.svm_loss_naive, L.squared_hinge_loss])
def test_negative_margin_rejected(loss):
    with pytest.raises(ValueError, match="^margin"):
        loss(S, Y, margin=-1.0)


@pytest.mark.parametrize("loss", [L.mse_loss, L.mae_loss, L.huber_loss, L.bce_with_logits,
                                  L.focal_loss])
def test_shape_mismatch_rejected(loss):
    with pytest.raises(ValueError, match="^(target|y) must have the shape"):
        loss(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("kwargs,match", [({"delta": 0.0}, "^delta"), ({"delta": -1.0}, "^delta"),
                                          ({"delta": float("nan")}, "^delta")])
def test_huber_delta_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.huber_loss(np.zeros(2), np.zeros(2), **kwargs)


@pytest.mark.parametrize("kwargs,match", [({"gamma": -0.5}, "^gamma"), ({"alpha": 1.5}, "^alpha"),
                                          ({"alpha": -0.5}, "^alpha"), ({"alpha": True}, "^alpha")])
def test_focal_hyperparameters_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.focal_loss(np.zeros(2), np.zeros(2), **kwargs)


@pytest.mark.parametrize("loss", [L.bce_with_logits, L.focal_loss])
def test_binary_targets_outside_unit_interval_rejected(loss):
    with pytest.raises(ValueError, match="^y "):
        loss(np.zeros(2), np.array([0.0, 2.0]))


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="^probs"):
        L.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="^probs"):
        L.binary_cross_entropy(np.array([np.nan, 0.5]), np.ones(2))
    with pytest.raises(ValueError, match="^weights"):
        L.weighted_softmax_loss(S, Y, np.ones(2))
    with pytest.raises(ValueError, match="^weights"):
        L.weighted_softmax_loss(S, Y, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="^target"):
        L.soft_cross_entropy(S, np.ones((2, 2)))
    with pytest.raises(ValueError, match="^epsilon"):
        L.smooth_labels(Y, 3, 1.5)
    with pytest.raises(ValueError, match="^num_classes"):
        L.smooth_labels(Y, 0, 0.1)
    with pytest.raises(ValueError, match="^y "):
        L.smooth_labels(np.array([0, 3]), 3, 0.1)
    with pytest.raises(ValueError, match="^p "):
        L.entropy(np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="^q "):
        L.kl_divergence(np.array([0.5, 0.5]), np.array([-0.5, 1.5]))
    with pytest.raises(ValueError, match="^(pred|target)"):
        L.mse_loss(np.zeros(0), np.zeros(0))


@pytest.mark.parametrize("loss", [L.mse_loss, L.mae_loss, L.huber_loss, L.bce_with_logits,
                                  L.focal_loss])
def test_elementwise_losses_answer_in_the_dtype_of_their_first_argument(loss):
    """float32 predictions with float64 targets: loss and gradient both float32 (as for the
    class losses), not a float32 loss beside a float64 gradient."""
    value, grad = loss(np.array([0.2, -0.4, 1.5], np.float32), np.array([0.0, 1.0, 1.0]))
    assert value.dtype == np.float32 and grad.dtype == np.float32


def test_bce_on_probabilities_clamps_its_gradient_like_pytorch():
    """∂ℓ/∂p = (p − y) / max(p(1 − p), 1e-12), PyTorch's clamp: tiny p stays exact, p = 0 with
    y = 1 gives −1e12 (not inf)."""
    assert L.binary_cross_entropy(np.array([1e-10]), np.array([0.0]))[1][0] == pytest.approx(1.0, rel=1e-6)
    assert L.binary_cross_entropy(np.array([0.0]), np.array([1.0]))[1].tolist() == [-1e12]


def test_class_weights_and_soft_targets_are_validated():
    with pytest.raises(ValueError, match="^weights"):
        L.weighted_softmax_loss(np.zeros((2, 3)), np.array([0, 1]), np.array([0.0, 0.0, 1.0]))
    for bad in ([[1.5, -0.5]], [[np.nan, 1.0]]):
        with pytest.raises(ValueError, match="^target"):
            L.soft_cross_entropy(np.zeros((1, 2)), np.array(bad))


def test_huber_default_delta_is_one_like_pytorch():
    assert L.huber_loss(np.array([3.0]), np.array([0.0]))[0] == pytest.approx(2.5)   # δ(|r| − δ/2)


# ---------------------------------------------------------------- issue 13: modern losses

def test_distillation_gradient(rng):
    for T in (0.5, 1.0, 3.0, 10.0):
        s, t = rng.normal(size=(4, 6)) * 3, rng.normal(size=(4, 6)) * 5
        _, grad = L.distillation_loss(s, t, T)
        assert_grad(lambda v: L.distillation_loss(v, t, T)[0], s, grad)


@pytest.mark.parametrize("margin", [0.3, 1.0, 5.0])
@pytest.mark.parametrize("shape", [(6, 4), (5,)])
def test_triplet_gradient(rng, margin, shape):
    a, p, n = (rng.normal(size=shape) for _ in range(3))
    _, grad = L.triplet_margin_loss(a, p, n, margin)
    assert np.any(grad != 0) or margin < 5.0
    assert_grad(lambda v: L.triplet_margin_loss(v, p, n, margin)[0], a, grad)


@pytest.mark.parametrize("m", [4, 9])
@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_info_nce_gradient(rng, m, tau):
    q, k = rng.normal(size=(4, 3)) * 2, rng.normal(size=(m, 3))
    _, grad = L.info_nce_loss(q, k, tau)
    assert_grad(lambda v: L.info_nce_loss(v, k, tau)[0], q, grad, tol=1e-6)


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), None])
def test_gaussian_nll_gradient(rng, var_shape):
    mean, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    var = 0.7 if var_shape is None else rng.uniform(0.1, 2, size=var_shape)
    _, grad = L.gaussian_nll_loss(mean, target, var)
    assert_grad(lambda v: L.gaussian_nll_loss(v, target, var)[0], mean, grad)


@pytest.mark.parametrize("scale, margin", [(10.0, 0.5), (64.0, 0.5), (30.0, 0.0), (5.0, 1.2)])
def test_arcface_gradient(rng, scale, margin):
    c, y = rng.uniform(-0.95, 0.95, size=(5, 4)), rng.integers(0, 4, size=5)
    _, grad = L.arcface_loss(c, y, scale, margin)
    assert_grad(lambda v: L.arcface_loss(v, y, scale, margin)[0], c, grad, tol=1e-6)


def test_distillation_is_zero_for_a_perfect_student_and_equals_t_squared_kl(rng):
    t = rng.normal(size=(3, 5)) * 4
    loss, grad = L.distillation_loss(t, t, 4.0)
    assert float(loss) == 0.0 and np.all(grad == 0)
    s, T = rng.normal(size=(3, 5)), 2.5
    kl = np.mean([L.kl_divergence(softmax(t[i] / T), softmax(s[i] / T)) for i in range(3)])
    assert float(L.distillation_loss(s, t, T)[0]) == pytest.approx(T * T * kl, rel=1e-12)


def test_distillation_gradient_keeps_its_scale_at_high_temperature_because_of_t_squared(rng):
    s, t = rng.normal(size=(1, 6)), rng.normal(size=(1, 6))
    c = s.shape[1]
    limit = ((s - s.mean()) - (t - t.mean())) / c
    g = {T: L.distillation_loss(s, t, T)[1] for T in (10.0, 100.0, 1000.0)}
    assert np.abs(g[1000.0] - limit).max() < 1e-3 * np.abs(limit).max()
    assert np.abs(g[100.0] - limit).max() < np.abs(g[10.0] - limit).max()
    unscaled = {T: g[T] / T ** 2 for T in g}          # without T², the gradient shrinks like 1/T²
    ratio = np.abs(unscaled[10.0]).max() / np.abs(unscaled[100.0]).max()
    assert ratio == pytest.approx(100, rel=0.05)


def test_distillation_handles_a_teacher_whose_softmax_underflows():
    t = np.array([[1000.0, 0.0, -1000.0]])
    loss, grad = L.distillation_loss(np.zeros((1, 3)), t, 1.0)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert float(loss) == pytest.approx(math.log(3), rel=1e-12)


def test_triplet_loss_is_zero_once_the_margin_holds_and_gradient_passes_at_exactly_zero():
    a, p, n = np.array([[0.0, 0.0]]), np.array([[0.5, 0.0]]), np.array([[0.0, 3.0]])
    loss, grad = L.triplet_margin_loss(a, p, n, margin=1.0)
    assert float(loss) == 0.0 and np.all(grad == 0)
    # triplets exactly on the margin: PyTorch's clamp_min passes the gradient there
    search, found = np.random.default_rng(0), 0
    d = lambda u, v: np.sqrt(np.sum((u - v + 1e-6) * (u - v + 1e-6), axis=-1, keepdims=True))
    while found < 3:
        a, p, n = (search.integers(-3, 4, size=(1, 2)).astype(float) for _ in range(3))
        margin = float((d(a, n) - d(a, p))[0, 0])
        if margin > 0 and float((margin + d(a, p) - d(a, n))[0, 0]) == 0.0:
            loss, grad = L.triplet_margin_loss(a, p, n, margin=margin)
            assert float(loss) == 0.0 and np.any(grad != 0)
            found += 1
    # the anchor's gradient is a difference of two unit vectors: its norm is at most 2
    rng = np.random.default_rng(2)
    _, grad = L.triplet_margin_loss(*(rng.normal(size=(1, 8)) for _ in range(3)), margin=50.0)
    assert np.linalg.norm(grad) <= 2 + 1e-12


def test_info_nce_is_scale_invariant_in_the_queries_and_decreases_when_positives_align(rng):
    q, k = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    loss, grad = L.info_nce_loss(q, k)
    assert float(L.info_nce_loss(3.7 * q, k)[0]) == pytest.approx(float(loss), rel=1e-12)
    np.testing.assert_allclose(np.sum(grad * q, axis=1), 0, atol=1e-12)   # no radial component
    assert float(L.info_nce_loss(k, k)[0]) < float(loss)
    # uniform similarities give log N
    assert float(L.info_nce_loss(np.zeros((4, 3)), np.ones((4, 3)))[0]) == pytest.approx(math.log(4))


def test_info_nce_is_the_softmax_loss_of_the_cosine_logits(rng):
    q, k, tau = rng.normal(size=(4, 3)), rng.normal(size=(6, 3)), 0.2
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    kn = k / np.linalg.norm(k, axis=1, keepdims=True)
    expected = L.softmax_loss(qn @ kn.T / tau, np.arange(4))[0]
    assert float(L.info_nce_loss(q, k, tau)[0]) == pytest.approx(float(expected), rel=1e-12)


def test_gaussian_nll_best_variance_is_the_squared_error_and_unit_variance_is_half_mse():
    r = 1.7
    grid = np.linspace(0.05, 10, 200_000)
    values = [0.5 * (np.log(v) + r * r / v) for v in grid]
    assert grid[int(np.argmin(values))] == pytest.approx(r * r, rel=1e-3)
    mean, target = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 0.5])
    assert float(L.gaussian_nll_loss(mean, target, 1.0)[0]) == pytest.approx(
        float(L.mse_loss(mean, target)[0]) / 2, rel=1e-12)


def test_gaussian_nll_clamps_small_variances_and_accepts_pytorchs_shapes(rng):
    mean, target = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))
    tiny = L.gaussian_nll_loss(mean, target, np.zeros((4, 2, 3)))[0]
    eps = L.gaussian_nll_loss(mean, target, np.full((4, 2, 3), 1e-6))[0]
    assert float(tiny) == float(eps)
    for shape in [(4, 1, 3), (1, 2, 3), (4, 2), (4, 2, 1)]:
        L.gaussian_nll_loss(mean, target, np.ones(shape))                  # accepted, as in PyTorch
    for shape in [(2, 3), (1, 1, 3)]:
        with pytest.raises(ValueError, match="var is of incorrect size"):
            L.gaussian_nll_loss(mean, target, np.ones(shape))


def test_arcface_margin_raises_the_loss_and_zero_margin_is_a_scaled_softmax(rng):
    c, y = rng.uniform(-0.9, 0.9, size=(6, 4)), rng.integers(0, 4, size=6)
    plain = L.arcface_loss(c, y, scale=16.0, margin=0.0)[0]
    assert float(plain) == pytest.approx(float(L.softmax_loss(16.0 * c, y)[0]), rel=1e-6)
    assert float(L.arcface_loss(c, y, scale=16.0, margin=0.5)[0]) > float(plain)
    # cos(θ + m) is not monotone on [0, π]: it rises again once θ + m passes π
    theta = np.linspace(0, math.pi, 1001)
    target = np.cos(theta + 0.5)
    assert np.all(np.diff(target[theta < math.pi - 0.5]) < 0)
    assert np.all(np.diff(target[theta > math.pi - 0.5 + 1e-3]) > 0)


def test_arcface_doctest_values():
    cos = np.array([[0.8, 0.6]])
    assert round(float(L.arcface_loss(cos, np.array([0]), 10.0, 0.0)[0]), 4) == 0.1269
    assert round(float(L.arcface_loss(cos, np.array([0]), 10.0, 0.5)[0]), 4) == 2.0011
    loss, grad = L.arcface_loss(np.array([[1.0, -1.0]]), np.array([0]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


def test_ece_is_zero_for_a_calibrated_model_and_matches_the_definition(rng):
    # predictions at confidence 0.75 of which exactly 3 in 4 are right: calibrated
    probs = np.tile([0.75, 0.25], (8, 1))
    y = np.array([0, 0, 0, 1, 0, 0, 0, 1])
    assert float(L.expected_calibration_error(probs, y, n_bins=10)) == pytest.approx(0.0, abs=1e-15)
    # against a direct implementation with the (lo, hi] bins of Guo et al.
    p = softmax(rng.normal(size=(300, 4)) * 3)
    yy = rng.integers(0, 4, size=300)
    conf, correct = p.max(1), p.argmax(1) == yy
    edges = np.linspace(0, 1, 16)
    expected = sum(np.mean(m) * abs(correct[m].mean() - conf[m].mean())
                   for lo, hi in zip(edges[:-1], edges[1:]) if (m := (conf > lo) & (conf <= hi)).any())
    assert float(L.expected_calibration_error(p, yy)) == pytest.approx(expected, rel=1e-12)
    assert float(L.expected_calibration_error(
        np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]]), np.array([0, 1, 0, 1]), 5)) == 0.375


def _overconfident(rng, n=4000, c=5, sharpness=4.0):
    """Labels drawn from softmax(z), logits reported as sharpness · z: an over-confident model."""
    z = rng.normal(size=(n, c)) * 1.5
    p = softmax(z)
    y = np.array([rng.choice(c, p=row) for row in p])
    return sharpness * z, y


def test_temperature_scaling_zeroes_the_nll_slope_keeps_accuracy_and_lowers_ece():
    rng = np.random.default_rng(7)
    logits, y = _overconfident(rng)
    T = L.fit_temperature(logits, y)
    assert T == pytest.approx(4.0, rel=0.1)              # recovers the over-sharpening
    nll = lambda t: float(L.softmax_loss(logits / t, y)[0])
    h = 1e-5 * T
    assert abs((nll(T + h) - nll(T - h)) / (2 * h)) < 1e-6
    assert nll(T) < nll(1.0) and nll(T) < nll(0.9 * T) and nll(T) < nll(1.1 * T)
    np.testing.assert_array_equal((logits / T).argmax(1), logits.argmax(1))
    before = float(L.expected_calibration_error(softmax(logits), y))
    after = float(L.expected_calibration_error(softmax(logits / T), y))
    assert after < before / 3, (before, after)


def test_fit_temperature_doctest_case_and_impossible_cases():
    logits = np.array([[4.0, 0.0], [4.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    T = L.fit_temperature(logits, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(softmax(logits / T).max(1), 0.75, rtol=1e-10)
    with pytest.raises(ValueError, match="keeps decreasing"):
        L.fit_temperature(logits, np.array([0, 0, 0, 1]))            # everything right
    with pytest.raises(ValueError, match="no better than uniform"):
        L.fit_temperature(logits, np.array([1, 1, 1, 0]))            # everything wrong


def test_first_loss_checks_numbers_quoted_on_the_page():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(500, 100)), rng.integers(0, 10, size=500)
    w = 1e-3 * rng.normal(size=(100, 10))
    r = {k: round(v, 5) for k, v in L.first_loss_checks(x, y, w, lam=1e3).items()}
    assert (r["correct"], r["labels off by one"], r["double softmax"]) == (2.30286, 2.30308, 2.30261)
    for bug in ("correct", "labels off by one", "double softmax"):
        assert abs(r[bug] - math.log(10)) < 5e-4, bug                 # invisible at initialization
    assert round(r["sum, not mean"], 1) == 1151.4 and round(r["weights x1000"], 2) == 15.97
    assert round(r["L2 penalty"] - r["correct"], 2) == 0.49


@pytest.mark.parametrize("c", [3, 10, 100])
def test_label_bugs_stay_near_log_c_for_any_small_initialization(rng, c):
    x, y = rng.normal(size=(256, 50)), rng.integers(0, c, size=256)
    r = L.first_loss_checks(x, y, 1e-4 * rng.normal(size=(50, c)))
    for bug in ("correct", "labels off by one", "double softmax"):
        assert abs(r[bug] - math.log(c)) < 1e-3
    assert r["sum, not mean"] == pytest.approx(256 * r["correct"])
    assert r["weights x1000"] > math.log(c) + 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_new_losses_finite_for_extreme_inputs(dtype, data):
    big = st.floats(-1e4, 1e4, allow_nan=False, width=32 if dtype == np.float32 else 64)
    s = data.draw(arrays(dtype, (3, 4), elements=big))
    t = data.draw(arrays(dtype, (3, 4), elements=big))
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for T in (1.0, 4.0):
            loss, grad = L.distillation_loss(s, t, T)
            assert np.isfinite(loss) and np.all(np.isfinite(grad)) and grad.dtype == dtype
        loss, grad = L.triplet_margin_loss(s, t, s[::-1])
        assert np.isfinite(loss) and np.all(np.isfinite(grad)) and grad.dtype == dtype
        loss, grad = L.info_nce_loss(s, t, 0.07)
        assert np.isfinite(loss) and np.all(np.isfinite(grad)) and grad.dtype == dtype
        var = np.abs(t)
        loss, grad = L.gaussian_nll_loss(s, t, var)
        assert np.isfinite(loss) and np.all(np.isfinite(grad)) and grad.dtype == dtype


def test_new_losses_do_not_modify_their_inputs(rng):
    arrays_ = [rng.normal(size=(4, 3)) for _ in range(3)]
    before = [a.copy() for a in arrays_]
    a, b, c = arrays_
    L.distillation_loss(a, b, 2.0), L.triplet_margin_loss(a, b, c), L.info_nce_loss(a, b)
    L.gaussian_nll_loss(a, b, np.abs(c)), L.arcface_loss(np.tanh(a), np.array([0, 1, 2, 0]))
    L.expected_calibration_error(softmax(a), np.array([0, 1, 2, 0]))
    L.fit_temperature(a * 0 + np.eye(4, 3) * 2 + 0.1 * b, np.array([0, 1, 2, 1]))
    for x, x0 in zip(arrays_, before):
        np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("call, match", [
    (lambda: L.distillation_loss(np.zeros((2, 3)), np.zeros((2, 4))), "teacher_logits must have the shape"),
    (lambda: L.distillation_loss(np.zeros((2, 3)), np.zeros((2, 3)), T=0.0), "^T must be"),
    (lambda: L.distillation_loss(np.zeros(3), np.zeros(3)), "^student_logits must be 2-D"),
    (lambda: L.distillation_loss(np.full((1, 2), np.nan), np.zeros((1, 2))), "^student_logits must be finite"),
    (lambda: L.triplet_margin_loss(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))), "negative must have the shape"),
    (lambda: L.triplet_margin_loss(np.zeros(3), np.zeros(3), np.zeros(3), margin=0.0), "^margin must be"),
    (lambda: L.triplet_margin_loss(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), np.zeros((1, 2, 3))), "^anchor must have shape"),
    (lambda: L.info_nce_loss(np.zeros((3, 2)), np.zeros((2, 2))), "^keys must have shape"),
    (lambda: L.info_nce_loss(np.zeros((3, 2)), np.zeros((3, 4))), "^keys must have shape"),
    (lambda: L.info_nce_loss(np.ones((2, 2)), np.ones((2, 2)), temperature=-1), "^temperature must be"),
    (lambda: L.gaussian_nll_loss(np.zeros(3), np.zeros(3), np.array([1.0, -1.0, 1.0])), "^var has negative"),
    (lambda: L.gaussian_nll_loss(np.zeros(3), np.zeros(3), -1.0), "^var has negative"),
    (lambda: L.gaussian_nll_loss(np.zeros(3), np.zeros(2), 1.0), "^target must have the shape"),
    (lambda: L.gaussian_nll_loss(np.zeros(3), np.zeros(3), 1.0, eps=-1.0), "^eps must be"),
    (lambda: L.arcface_loss(np.full((1, 2), 1.5), np.array([0])), "^cosines must lie in"),
    (lambda: L.arcface_loss(np.zeros((1, 2)), np.array([2])), "^y must hold class indices"),
    (lambda: L.arcface_loss(np.zeros((1, 2)), np.array([0]), scale=0.0), "^scale must be"),
    (lambda: L.arcface_loss(np.zeros((1, 2)), np.array([0]), margin=2.0), "^margin must be"),
    (lambda: L.expected_calibration_error(np.array([[0.5, 0.6]]), np.array([0])), "^probs must hold"),
    (lambda: L.expected_calibration_error(np.array([[0.5, 0.5]]), np.array([0]), n_bins=0), "^n_bins must be"),
    (lambda: L.fit_temperature(np.zeros((2, 2)), np.array([0, 3])), "^y must hold class indices"),
    (lambda: L.first_loss_checks(np.zeros((2, 3)), np.array([0, 1]), np.zeros((4, 2))), r"^w must have shape \(3, C\)"),
    (lambda: L.first_loss_checks(np.zeros((2, 3)), np.array([0, 1]), np.zeros((3, 2)), lam=-1), "^lam must be"),
])
def test_new_losses_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
