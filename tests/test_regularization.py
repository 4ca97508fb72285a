"""Tests for snippets.regularization: gradients of the penalties, the page's claims (L1 zeros,
the W1/W2 example, weight decay vs L2 under SGD and Adam, inverted dropout statistics),
bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradient_assertions import assert_grad
from snippets import regularization as R


def weights(rng, shape=(4, 3)):
    w = rng.normal(size=shape)
    assert np.min(np.abs(w)) > 1e-3          # away from the kink of |w|
    return w


# ---------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("lam", [0.0, 0.1, 3.0])
def test_l1_gradient(rng, lam):
    w = weights(rng)
    assert_grad(lambda v: R.l1_penalty(v, lam)[0], w, R.l1_penalty(w, lam)[1])


@pytest.mark.parametrize("lam", [0.0, 0.1, 3.0])
def test_l2_gradient(rng, lam):
    w = weights(rng)
    assert_grad(lambda v: R.l2_penalty(v, lam)[0], w, R.l2_penalty(w, lam)[1])


@pytest.mark.parametrize("ratio", [0.0, 0.3, 1.0])
def test_elastic_net_gradient(rng, ratio):
    w = weights(rng)
    assert_grad(lambda v: R.elastic_net_penalty(v, 0.7, ratio)[0], w,
                R.elastic_net_penalty(w, 0.7, ratio)[1])


def test_dropout_backward_is_dout_times_mask(rng):
    x, dout = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))

    def f(v):       # the same seed each call: the same mask
        return np.sum(R.dropout(v, 0.4, np.random.default_rng(7))[0] * dout)

    _, mask = R.dropout(x, 0.4, np.random.default_rng(7))
    assert_grad(f, x, dout * mask)


# ---------------------------------------------------------------- values and claims

def test_penalty_values(rng):
    w = rng.normal(size=(5, 2))
    assert R.l1_penalty(w, 0.3)[0] == pytest.approx(0.3 * np.abs(w).sum(), rel=1e-12)
    assert R.l2_penalty(w, 0.3)[0] == pytest.approx(0.15 * (w ** 2).sum(), rel=1e-12)
    assert R.l0_penalty(np.array([0.0, 1e-9, -2.0, 0.0]), 2.0)[0] == 4.0
    assert np.all(R.l0_penalty(w, 1.0)[1] == 0)
    v, g = R.elastic_net_penalty(w, 0.8, 0.25)
    assert v == pytest.approx(0.8 * (0.25 * np.abs(w).sum() + 0.75 / 2 * (w ** 2).sum()), rel=1e-12)
    for ratio, ref in ((1.0, R.l1_penalty(w, 0.8)), (0.0, R.l2_penalty(w, 0.8))):
        for a, b in zip(R.elastic_net_penalty(w, 0.8, ratio), ref):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_l1_subgradient_at_zero_is_zero():
    v, g = R.l1_penalty(np.array([0.0, -0.0, 2.0, -3.0]), 0.5)
    assert g.tolist() == [0.0, 0.0, 0.5, -0.5]
    assert R.elastic_net_penalty(np.zeros(2), 1.0, 0.5)[1].tolist() == [0.0, 0.0]


def test_w1_w2_example_norm_versus_squared_penalty():
    w1, w2, x = np.array([1.0, 0, 0, 0]), np.full(4, 0.25), np.ones(4)
    assert w1 @ x == w2 @ x == 1.0                               # the same output
    assert np.linalg.norm(w1) == 1.0 and np.linalg.norm(w2) == 0.5
    assert R.l2_penalty(w1, 2.0)[0] == 1.0 and R.l2_penalty(w2, 2.0)[0] == 0.25  # Σ w², not ‖w‖
    assert R.l1_penalty(w1, 1.0)[0] == R.l1_penalty(w2, 1.0)[0] == 1.0           # L1: a tie


@given(st.floats(-10, 10), st.floats(0, 5))
def test_soft_threshold_is_the_l1_proximal_step(w, t):
    grid = np.linspace(-12, 12, 24_001)                 # step 1e-3
    objective = 0.5 * (grid - w) ** 2 + t * np.abs(grid)
    prox = R.soft_threshold(np.array([w]), t)[0]
    assert abs(prox - grid[np.argmin(objective)]) <= 1e-3
    assert 0.5 * (prox - w) ** 2 + t * abs(prox) <= objective.min() + 1e-12
    if abs(w) <= t:
        assert prox == 0                                # exact zeros: sparsity
    l2_prox = w / (1 + t)                               # the L2 counterpart never hits 0
    assert (l2_prox == 0) == (w == 0)


def test_l1_proximal_gradient_gives_exact_zeros_l2_does_not(rng):
    # least squares with 2 informative and 6 useless features
    X = rng.normal(size=(100, 8))
    y = X[:, 0] * 3 - X[:, 1] * 2 + 0.1 * rng.normal(size=100)
    lr, lam = 0.1, 0.5
    w1 = np.zeros(8)
    w2 = np.zeros(8)
    for _ in range(500):
        grad1 = X.T @ (X @ w1 - y) / 100
        w1 = R.soft_threshold(w1 - lr * grad1, lr * lam)
        grad2 = X.T @ (X @ w2 - y) / 100 + R.l2_penalty(w2, lam)[1]
        w2 = w2 - lr * grad2
    assert np.sum(w1 == 0) >= 5 and np.all(w1[:2] != 0)
    assert np.all(w2 != 0)


def test_max_norm_of_huge_float32_weights_does_not_overflow():
    w = np.array([[3e19], [4e19]], dtype=np.float32)       # w·w overflows float32
    out = R.max_norm(w, 1.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6], [0.8]], rtol=1e-6)


def test_max_norm_is_a_projection(rng):
    W = rng.normal(size=(6, 5)) * rng.uniform(0.1, 3, size=5)
    c = 1.5
    P = R.max_norm(W, c)
    norms, new = np.linalg.norm(W, axis=0), np.linalg.norm(P, axis=0)
    assert np.any(norms > c) and np.any(norms < c)
    assert np.all(new <= c * (1 + 1e-12))
    np.testing.assert_allclose(new[norms > c], c, rtol=1e-12)
    np.testing.assert_array_equal(P[:, norms <= c], W[:, norms <= c])           # untouched
    cos = np.sum(P * W, axis=0) / (new * norms)
    np.testing.assert_allclose(cos, 1.0, rtol=1e-12)                            # same direction
    np.testing.assert_allclose(R.max_norm(P, c), P, rtol=1e-12)                 # idempotent
    np.testing.assert_allclose(np.linalg.norm(R.max_norm(W, c, axis=1), axis=1).max(), c)


def test_weight_decay_equals_l2_step_under_sgd(rng):
    w_l2 = w_wd = rng.normal(size=10)
    target = rng.normal(size=10)
    for _ in range(50):
        w_l2 = R.sgd_l2_step(w_l2, w_l2 - target, 0.1, 0.05)
        w_wd = R.sgd_weight_decay_step(w_wd, w_wd - target, 0.1, 0.05)
    np.testing.assert_allclose(w_l2, w_wd, rtol=1e-12, atol=1e-14)


def _adam_first_step(w, g, lr=0.1, eps=1e-8):
    # From zero state, bias-corrected m̂ = g and v̂ = g², so the step is lr · g / (|g| + eps).
    return w - lr * g / (np.abs(g) + eps)


def test_weight_decay_differs_from_l2_under_adam(rng):
    w, g, lr, lam = rng.normal(size=10), rng.normal(size=10), 0.1, 0.5
    coupled = _adam_first_step(w, g + R.l2_penalty(w, lam)[1], lr)      # Adam + L2 in the gradient
    decoupled = _adam_first_step(w, g, lr) - lr * lam * w               # AdamW
    sgd_l2, sgd_wd = R.sgd_l2_step(w, g, lr, lam), R.sgd_weight_decay_step(w, g, lr, lam)
    np.testing.assert_allclose(sgd_l2, sgd_wd, rtol=1e-12)
    assert np.max(np.abs(coupled - decoupled)) > 1e-2


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_inverted_dropout_mean_and_variance_by_simulation(p):
    n, x0 = 400_000, 1.7
    out, mask = R.dropout(np.full(n, x0), p, np.random.default_rng(123))
    var = p / (1 - p) * x0 ** 2
    se_mean = np.sqrt(var / n)
    assert abs(out.mean() - x0) < 5 * se_mean, f"mean {out.mean()} vs {x0}"
    # Var of the sample variance ≈ (μ4 − σ⁴)/n; a 5% band is > 10 standard errors here
    assert out.var() == pytest.approx(var, rel=0.05), f"variance {out.var()} vs p/(1−p)·x² = {var}"
    assert abs(np.mean(mask == 0) - p) < 5 * np.sqrt(p * (1 - p) / n)
    assert set(np.unique(mask).tolist()) == {0.0, 1 / (1 - p)}
    np.testing.assert_array_equal(out, np.full(n, x0) * mask)


def test_dropout_is_identity_at_evaluation(rng):
    x = rng.normal(size=(4, 5))
    gen = np.random.default_rng(5)
    state = gen.bit_generator.state
    out, mask = R.dropout(x, 0.5, gen, train=False)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))
    assert gen.bit_generator.state == state              # no randomness used
    out[0, 0] = 99.0
    assert x[0, 0] != 99.0                               # a new array, not x itself


def test_dropout_p_zero_keeps_everything(rng):
    x = rng.normal(size=7)
    out, mask = R.dropout(x, 0.0, np.random.default_rng(1))
    np.testing.assert_array_equal(out, x)
    assert np.all(mask == 1)


def test_dropout_is_reproducible_and_pure(rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    before = x.copy()
    a = R.dropout(x, 0.3, np.random.default_rng(9))
    b = R.dropout(x, 0.3, np.random.default_rng(9))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(x, before)
    assert a[0].dtype == np.float32 and a[1].dtype == np.float32


def test_penalties_keep_dtype_and_inputs(rng):
    for dtype in (np.float32, np.float64):
        w = rng.normal(size=5).astype(dtype)
        before = w.copy()
        for value, grad in (R.l1_penalty(w, 0.1), R.l2_penalty(w, 0.1),
                            R.elastic_net_penalty(w, 0.1, 0.5), R.l0_penalty(w, 0.1)):
            assert value.dtype == dtype and grad.dtype == dtype
        R.max_norm(w, 0.5)
        R.soft_threshold(w, 0.5)
        np.testing.assert_array_equal(w, before)


@given(arrays(np.float64, st.integers(1, 8), elements=st.floats(-100, 100)), st.floats(0, 10))
def test_penalties_are_non_negative(w, lam):
    for f in (R.l0_penalty, R.l1_penalty, R.l2_penalty):
        assert f(w, lam)[0] >= 0
    assert R.elastic_net_penalty(w, lam, 0.5)[0] >= 0


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match="^p must"):
        R.dropout(np.ones(3), p, np.random.default_rng(0))


@pytest.mark.parametrize("rng_arg", [None, 0, np.random.RandomState(0)])
def test_dropout_requires_a_generator(rng_arg):
    with pytest.raises(ValueError, match="^rng"):
        R.dropout(np.ones(3), 0.5, rng_arg)


@pytest.mark.parametrize("call,match", [
    (lambda: R.l1_penalty(np.ones(2), -1.0), "^lam"),
    (lambda: R.l2_penalty(np.ones(2), float("inf")), "^lam"),
    (lambda: R.elastic_net_penalty(np.ones(2), 1.0, 1.5), "^l1_ratio"),
    (lambda: R.elastic_net_penalty(np.ones(2), -1.0, 0.5), "^lam"),
    (lambda: R.l2_penalty(np.array(["a"]), 1.0), "^w "),
    (lambda: R.max_norm(np.ones((2, 2)), 0.0), "^c "),
    (lambda: R.max_norm(np.ones((2, 2)), 1.0, axis=2), "^axis"),
    (lambda: R.soft_threshold(np.ones(2), -1.0), "^threshold"),
    (lambda: R.sgd_weight_decay_step(np.ones(2), np.ones(3), 0.1, 0.1), "^grad"),
    (lambda: R.sgd_l2_step(np.ones(2), np.ones(2), 0.0, 0.1), "^lr"),
    (lambda: R.dropout(np.ones(2), 0.5, np.random.default_rng(0), train="False"), "^train must be"),
])
def test_bad_hyperparameters_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- the Regularization page's claims
# (each test backs a sentence, a number or a figure of docs/*/regularization.md)

from tools.figures import regularization as F  # noqa: E402  (figure data: matplotlib is only set up)


def test_scaling_a_zero_svm_loss_solution_keeps_zero_loss_but_not_the_penalty(rng):
    from snippets.losses import svm_loss

    X = rng.normal(size=(30, 5))
    W = rng.normal(size=(5, 3))
    y = np.argmax(X @ W, axis=1)
    scores = X @ W
    margin = np.sort(scores, axis=1)[:, -1] - np.sort(scores, axis=1)[:, -2]
    W = W * 1.01 / margin.min()                    # every margin now exceeds Δ = 1: zero loss
    assert svm_loss(X @ W, y)[0] == 0
    for alpha in (1.5, 2.0, 10.0):
        assert svm_loss(X @ (alpha * W), y)[0] == 0                     # the data loss cannot choose
        assert R.l2_penalty(alpha * W, 1.0)[0] > R.l2_penalty(W, 1.0)[0]  # the penalty can


def test_cauchy_schwarz_bounds_the_change_of_a_linear_unit(rng):
    for _ in range(1000):
        w, x, x2 = rng.normal(size=(3, 6)) * rng.uniform(0.1, 10)
        assert abs(w @ x - w @ x2) <= np.linalg.norm(w) * np.linalg.norm(x - x2) * (1 + 1e-12)


def test_gaussian_and_laplace_priors_give_the_l2_and_l1_penalties(rng):
    w = rng.normal(size=7) * 3
    sigma, b = 0.7, 0.4
    neg_log_gauss = -np.sum(-w ** 2 / (2 * sigma ** 2) - 0.5 * np.log(2 * np.pi * sigma ** 2))
    neg_log_laplace = -np.sum(-np.abs(w) / b - np.log(2 * b))
    const_g = 7 * 0.5 * np.log(2 * np.pi * sigma ** 2)
    const_l = 7 * np.log(2 * b)
    assert neg_log_gauss - const_g == pytest.approx(float(R.l2_penalty(w, 1 / sigma ** 2)[0]), rel=1e-12)
    assert neg_log_laplace - const_l == pytest.approx(float(R.l1_penalty(w, 1 / b)[0]), rel=1e-12)


def test_l0_is_not_a_norm_and_gives_no_gradient(rng):
    w = rng.normal(size=6)
    assert R.l0_penalty(2 * w, 1.0)[0] == R.l0_penalty(w, 1.0)[0] == 6   # ||2w||_0 = ||w||_0
    assert np.all(R.l0_penalty(w, 1.0)[1] == 0)


@pytest.mark.parametrize("n", [2, 4, 10])
def test_equal_weights_minimise_the_sum_of_squares_for_a_fixed_sum(n, rng):
    equal = np.full(n, 1 / n)
    assert float(R.l2_penalty(equal, 2.0)[0]) == pytest.approx(1 / n)
    others = rng.dirichlet(np.ones(n), size=2000)                        # other vectors, sum = 1
    assert np.all(np.sum(others ** 2, axis=1) >= 1 / n - 1e-12)
    assert np.allclose(np.sum(np.abs(others), axis=1), 1.0)             # L1 cannot tell them apart


def _ista(X, y, lam, steps=3000):
    n = len(y)
    lr = 1 / np.linalg.eigvalsh(X.T @ X / n).max()
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        w = R.soft_threshold(w - lr * X.T @ (X @ w - y) / n, lr * lam)
    return w


def test_lambda_max_is_where_every_lasso_weight_becomes_zero():
    X, y = F.least_squares_problem()
    lam_max = np.abs(X.T @ y).max() / len(y)
    assert np.all(_ista(X, y, lam_max * 1.001) == 0)
    assert np.all(_ista(X, y, lam_max * 10) == 0)
    assert np.count_nonzero(_ista(X, y, lam_max * 0.95)) == 1            # the strongest feature


def test_regularization_path_figure_l1_hits_exact_zeros_l2_never():
    X, y = F.least_squares_problem()
    lasso, ridge = F.lasso_path(X, y, F.PATH_LAMS), F.ridge_path(X, y, F.PATH_LAMS)
    assert X.shape[1] == 8 and F.PATH_LAMS.min() == pytest.approx(1e-3) and F.PATH_LAMS.max() == 100
    lam_max = np.abs(X.T @ y).max() / len(y)
    zeros = np.sum(lasso == 0, axis=1)
    assert np.all(lasso[F.PATH_LAMS > lam_max] == 0)                     # all 0 beyond λ_max
    assert np.all(np.diff(zeros) <= 0)                                   # λ decreases along the path
    assert zeros[-1] <= 3 and zeros[0] == 8
    assert np.all(ridge != 0)                                            # ridge: never exactly 0
    n = len(y)
    for lam, w in zip(F.PATH_LAMS[::10], ridge[::10]):                   # and it is the ridge solution
        exact = np.linalg.solve(X.T @ X / n + lam * np.eye(8), X.T @ y / n)
        np.testing.assert_allclose(w, exact, rtol=1e-8, atol=1e-12)
    # the order in which the weights reach 0: useless features first, strongest last
    w_true_strength = [3.0, 2.0, 1.5, 0.8, 0.5, 0.0, 0.0, 0.0]
    last_nonzero = [F.PATH_LAMS[np.nonzero(lasso[:, j])[0]].max(initial=0) for j in range(8)]
    informative = np.argsort(w_true_strength[:5])                      # weakest to strongest
    assert np.all(np.diff(np.array(last_nonzero)[informative]) >= 0)
    assert last_nonzero[0] > max(last_nonzero[1:])                       # the strongest is last
    assert max(last_nonzero[5:]) < min(last_nonzero[:5])                 # the useless ones first


def test_geometry_figure_l1_solution_sits_on_an_axis_l2_does_not():
    w1, w2 = F.geometry_solutions()
    assert w1[1] == 0 and w1[0] > 0
    assert np.all(w2 != 0)
    lam, A, opt = F.GEO_LAM, F.GEO_A, F.GEO_OPT
    g = A @ (w1 - opt)                                                   # optimality of the L1 solution
    assert g[0] == pytest.approx(-lam, abs=1e-9) and abs(g[1]) <= lam
    np.testing.assert_allclose(w2, np.linalg.solve(A + lam * np.eye(2), A @ opt), rtol=1e-9)
    assert opt.tolist() == [1.5, 1.2]


def test_subgradient_descent_on_l1_gives_small_but_not_exactly_zero_weights():
    X, y = F.least_squares_problem()
    n, lam, lr = len(y), 0.5, 0.05
    w = np.zeros(8)
    for _ in range(20_000):
        w = w - lr * (X.T @ (X @ w - y) / n + R.l1_penalty(w, lam)[1])
    prox = _ista(X, y, lam)
    useless = prox == 0
    assert useless.sum() >= 4
    assert np.all(w != 0)                                                # no exact zero at all
    assert np.all(np.abs(w[useless]) <= 2 * lr * lam)                   # small: within ±2ηλ of 0


def _adam(w, grads, lr=0.1, betas=(0.9, 0.999), eps=1e-8, decoupled=0.0):
    """torch.optim.Adam / AdamW for a fixed sequence of gradient functions."""
    m = v = np.zeros_like(w)
    for t, grad in enumerate(grads, start=1):
        g = grad(w)
        w = w * (1 - lr * decoupled)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        w = w - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return w


def test_adam_with_l2_decays_by_gradient_size_adamw_decays_uniformly():
    w0, lam, lr = np.array([1.0, 1.0]), 0.1, 0.1
    data_grad = np.array([0.0, 100.0])                  # weight 0: no data gradient; weight 1: large
    no_decay = _adam(w0, [lambda w: data_grad], lr)
    coupled = _adam(w0, [lambda w: data_grad + R.l2_penalty(w, lam)[1]], lr)
    decoupled = _adam(w0, [lambda w: data_grad], lr, decoupled=lam)
    decay_l2 = no_decay - coupled
    decay_w = no_decay - decoupled
    assert decay_l2[0] == pytest.approx(lr, rel=1e-6)                  # a full step towards 0
    assert abs(decay_l2[1]) < 1e-6                                       # barely decayed
    np.testing.assert_allclose(decay_w, lr * lam * w0, rtol=1e-6)        # AdamW: the same factor


def test_weight_decay_and_l2_differ_once_momentum_accumulates_the_gradient(rng):
    w0, target = rng.normal(size=5), rng.normal(size=5)
    lr, lam, mu = 0.1, 0.5, 0.9

    def run(decoupled):
        w, v = w0.copy(), np.zeros(5)
        for _ in range(20):
            g = w - target if decoupled else w - target + R.l2_penalty(w, lam)[1]
            v = mu * v + g
            w = (1 - lr * lam) * w - lr * v if decoupled else w - lr * v
        return w

    assert np.max(np.abs(run(True) - run(False))) > 1e-2


def test_dropout_figure_simulation_follows_the_theory():
    means, variances = F.dropout_simulation()
    p = F.DROPOUT_PS
    n = 200_000
    var = p / (1 - p)
    assert np.all(np.abs(means - 1) <= 5 * np.sqrt(var / n) + 1e-15)
    np.testing.assert_allclose(variances, var, rtol=0.05, atol=1e-12)
    assert var[p == 0.5] == pytest.approx(1.0) and var[-1] == pytest.approx(9.0)


def test_gradient_descent_from_zero_grows_the_weight_norm_step_by_step():
    X, y = F.least_squares_problem()
    n = len(y)
    lr = 1 / np.linalg.eigvalsh(X.T @ X / n).max()
    w, norms = np.zeros(8), [0.0]
    for _ in range(200):
        w = w - lr * X.T @ (X @ w - y) / n
        norms.append(np.linalg.norm(w))
    assert np.all(np.diff(norms) >= -1e-12) and norms[1] < norms[-1]


def test_early_stopping_acts_like_l2_with_lambda_one_over_eta_t():
    # quadratic loss ½ Σ s_k (w_k − 1)², curvatures from tiny to large; optimum w = 1
    s = np.geomspace(1e-4, 1.0, 41)
    eta, t = 0.5, 200
    w = np.zeros_like(s)
    for _ in range(t):
        w = R.sgd_l2_step(w, s * (w - 1), eta, 0.0)                 # plain gradient descent
    lam = 1 / (eta * t)
    ridge = s / (s + lam)                                            # argmin ℓ + (λ/2)‖w‖²
    x = eta * s * t
    assert np.all(w[x <= 0.1] <= 0.1) and np.all(ridge[x <= 0.1] <= 0.1)   # left unfitted
    assert np.all(w[x >= 10] >= 0.9) and np.all(ridge[x >= 10] >= 0.9)     # fully fitted
    assert np.max(np.abs(w - ridge)) < 0.21                                # close everywhere


def test_l1_stays_below_l0_on_the_unit_box(rng):
    w = rng.uniform(-1, 1, size=(2000, 5)) * (rng.random((2000, 5)) < 0.6)
    l1 = np.array([R.l1_penalty(v, 1.0)[0] for v in w])
    l0 = np.array([R.l0_penalty(v, 1.0)[0] for v in w])
    assert np.all(l1 <= l0)
    e = np.eye(5)                                                        # equal at the vertices
    assert all(R.l1_penalty(v, 1.0)[0] == R.l0_penalty(v, 1.0)[0] == 1 for v in e)


def test_with_duplicated_features_l1_is_indifferent_l2_shares_the_weight(rng):
    x = rng.normal(size=50)
    X = np.stack([x, x], axis=1)                                         # two identical features
    y = 2 * x
    splits = [np.array([a, 2 - a]) for a in (0.0, 0.5, 1.0, 1.5, 2.0)]  # the same prediction 2x
    data = [np.mean((X @ w - y) ** 2) / 2 for w in splits]
    l1 = [float(R.l1_penalty(w, 0.3)[0]) for w in splits]
    l2 = [float(R.l2_penalty(w, 0.3)[0]) for w in splits]
    assert max(data) < 1e-20
    assert len(set(l1)) == 1                                             # every split ties
    assert int(np.argmin(l2)) == 2 and len(set(l2)) > 1                  # the even split wins


def test_lasso_is_zero_exactly_from_lambda_max_on(rng):
    """The page's claim: at λ ≥ λ_max = ‖Xᵀy‖∞/n, ISTA keeps w = 0; just below, w leaves 0."""
    X, y = rng.normal(size=(50, 6)), rng.normal(size=50)
    lam_max = R.lasso_lambda_max(X, y)
    lr = 1 / np.linalg.eigvalsh(X.T @ X / 50).max()

    def solve(lam, steps=300):
        w = np.zeros(6)
        for _ in range(steps):
            w = R.ista_step(w, X.T @ (X @ w - y) / 50, lr, lam)
        return w

    assert np.all(solve(lam_max) == 0)
    assert np.count_nonzero(solve(0.95 * lam_max)) >= 1


def test_ista_step_is_a_gradient_step_then_soft_threshold(rng):
    w, g = rng.normal(size=8), rng.normal(size=8)
    expected = R.soft_threshold(w - 0.1 * g, 0.1 * 0.7)
    np.testing.assert_array_equal(R.ista_step(w, g, 0.1, 0.7), expected)


@pytest.mark.parametrize("X, y, name", [(np.ones(3), np.ones(3), "X"), (np.ones((3, 2)), np.ones(2), "y"),
                                        (np.ones((3, 2)), np.ones((3, 1)), "y")])
def test_lasso_lambda_max_rejects_bad_shapes(X, y, name):
    with pytest.raises(ValueError, match=name):
        R.lasso_lambda_max(X, y)


# ---------------------------------------------------------------- issue 13: DropPath, mixup,
# CutMix, L2 in the Hessian eigenbasis, early stopping, WD × BN, EMA/SWA, ηλ < 1, "often"

import inspect  # noqa: E402

from snippets import activations as A  # noqa: E402
from snippets import normalization as N  # noqa: E402
from snippets.gradcheck import numerical_gradient  # noqa: E402


@pytest.mark.parametrize("shape", [(6,), (5, 3), (4, 2, 3, 3)])
def test_drop_path_keeps_or_drops_whole_samples_and_scales_by_1_over_1_minus_p(shape):
    x = np.random.default_rng(1).normal(size=shape)
    out, mask = R.drop_path(x, 0.3, np.random.default_rng(2))
    assert mask.shape == (shape[0],) + (1,) * (len(shape) - 1)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.7}
    np.testing.assert_array_equal(out, x * mask)
    for n in range(shape[0]):                                     # all or nothing per sample
        assert np.all(out[n] == 0) or np.allclose(out[n], x[n] / 0.7)


def test_drop_path_keeps_the_expectation_and_drops_a_fraction_p():
    x = np.ones((200_000, 2))
    out, mask = R.drop_path(x, 0.2, np.random.default_rng(0))
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(mask == 0) == pytest.approx(0.2, abs=0.005)


def test_drop_path_evaluation_p0_and_p1():
    x = np.arange(6.0).reshape(3, 2)
    for out, mask in (R.drop_path(x, 0.5, np.random.default_rng(0), train=False),
                      R.drop_path(x, 0.0, np.random.default_rng(0))):
        np.testing.assert_array_equal(out, x)
        np.testing.assert_array_equal(mask, np.ones((3, 1)))
        assert out is not x
    out, mask = R.drop_path(x, 1.0, np.random.default_rng(0))     # torchvision: all dropped
    assert np.all(out == 0) and np.all(mask == 0) and np.all(np.isfinite(out))


def test_drop_path_in_a_residual_block_gives_the_identity_for_a_dropped_sample():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4))
    branch = np.tanh(x @ rng.normal(size=(4, 4)))
    out, mask = R.drop_path(branch, 0.5, rng)
    y = x + out
    dropped = mask.ravel() == 0
    assert dropped.any() and (~dropped).any()
    np.testing.assert_array_equal(y[dropped], x[dropped])


def test_drop_path_backward_is_dout_times_mask():
    x = np.random.default_rng(4).normal(size=(5, 3))
    dout = np.random.default_rng(5).normal(size=(5, 3))
    _, mask = R.drop_path(x, 0.4, np.random.default_rng(6))
    num = numerical_gradient(lambda v: np.sum(R.drop_path(v, 0.4, np.random.default_rng(6))[0] * dout), x.copy())
    assert_grad(lambda v: np.sum(R.drop_path(v, 0.4, np.random.default_rng(6))[0] * dout), x, dout * mask)
    np.testing.assert_allclose(num, dout * mask, atol=1e-8)


def test_drop_path_keeps_float32_and_does_not_modify_x():
    x = np.ones((4, 3), np.float32)
    out, mask = R.drop_path(x, 0.5, np.random.default_rng(0))
    assert out.dtype == mask.dtype == np.float32 and np.all(x == 1)


@pytest.mark.parametrize("kwargs,match", [
    ({"p": 1.5}, "^p must"), ({"p": -0.1}, "^p must"), ({"rng": 0}, "^rng"),
    ({"train": "True"}, "^train"), ({"x": np.float64(1.0)}, "^x must have a batch axis"),
])
def test_drop_path_rejects_bad_input(kwargs, match):
    args = {"x": np.ones((2, 2)), "p": 0.5, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=match):
        R.drop_path(**args)


def test_mixup_blends_inputs_and_labels_with_one_lambda():
    rng = np.random.default_rng(0)
    x, labels = rng.normal(size=(6, 3, 2, 2)), rng.integers(0, 4, size=6)
    y = np.eye(4)[labels]
    perm = rng.permutation(6)
    xm, ym = R.mixup(x, y, 0.3, perm)
    np.testing.assert_allclose(xm, 0.3 * x + 0.7 * x[perm], rtol=1e-15)
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-15)          # still a distribution
    np.testing.assert_array_equal(R.mixup(x, y, 1.0, perm)[0], x)          # λ = 1: no mixing
    np.testing.assert_array_equal(R.mixup(x, y, 0.0, perm)[1], y[perm])


def test_mixup_cross_entropy_is_the_mix_of_the_two_losses():
    rng = np.random.default_rng(1)
    scores, y = rng.normal(size=(5, 3)), np.eye(3)[rng.integers(0, 3, size=5)]
    perm, lam = rng.permutation(5), 0.6
    _, ym = R.mixup(rng.normal(size=(5, 2)), y, lam, perm)
    ce = lambda target: -np.sum(target * A.log_softmax(scores), axis=1)   # noqa: E731
    np.testing.assert_allclose(ce(ym), lam * ce(y) + (1 - lam) * ce(y[perm]), rtol=1e-12)


def test_mixup_lambda_from_beta_has_mean_one_half():
    lam = np.random.default_rng(0).beta(0.2, 0.2, size=200_000)
    assert lam.mean() == pytest.approx(0.5, abs=0.005)
    assert np.mean((lam < 0.1) | (lam > 0.9)) > 0.6                    # α = 0.2: mostly near 0 or 1


def test_cutmix_pastes_the_box_and_mixes_the_labels_by_area():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3, 2, 5, 4)), np.eye(3)
    perm = np.array([2, 0, 1])
    xm, ym, lam = R.cutmix(x, y, (1, 1, 3, 2), perm)
    assert lam == pytest.approx(1 - 6 / 20)
    np.testing.assert_array_equal(xm[:, :, 1:4, 1:3], x[perm][:, :, 1:4, 1:3])
    mask = np.ones((5, 4), bool)
    mask[1:4, 1:3] = False
    np.testing.assert_array_equal(xm[:, :, mask], x[:, :, mask])
    np.testing.assert_allclose(ym, lam * y + (1 - lam) * y[perm], rtol=1e-15)
    # the fraction of pixels that come from x is λ
    assert np.mean(xm[0] == x[0]) == pytest.approx(lam)


@pytest.mark.parametrize("call,match", [
    (lambda: R.mixup(np.ones((3, 2)), np.ones((2, 2)), 0.5, np.arange(3)), "^y must have shape"),
    (lambda: R.mixup(np.ones((3, 2)), np.ones(3), 0.5, np.arange(3)), "^y must be 2-D"),
    (lambda: R.mixup(np.ones((3, 2)), np.ones((3, 2)), 1.5, np.arange(3)), "^lam"),
    (lambda: R.mixup(np.ones((3, 2)), np.ones((3, 2)), 0.5, np.arange(3.0)), "^perm must be an integer"),
    (lambda: R.mixup(np.ones((3, 2)), np.ones((3, 2)), 0.5, np.array([0, 1, 3])), "^perm must hold"),
    (lambda: R.cutmix(np.ones((2, 1, 4, 4)), np.ones((2, 2)), (0, 0, 5, 1), np.arange(2)), "^box must lie"),
    (lambda: R.cutmix(np.ones((2, 1, 4, 4)), np.ones((2, 2)), (0, 0, 1.0, 1), np.arange(2)), "^box must be"),
    (lambda: R.cutmix(np.ones((2, 4, 4)), np.ones((2, 2)), (0, 0, 1, 1), np.arange(2)), "^x must have shape"),
])
def test_mixing_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(st.floats(0, 1), arrays(np.float64, (4, 3), elements=st.floats(-1e300, 1e300)))
def test_mixup_is_finite_on_extreme_inputs(lam, x):
    xm, ym = R.mixup(x, np.eye(4)[:, :3], lam, np.array([3, 2, 1, 0]))
    assert np.all(np.isfinite(xm)) and np.all(np.abs(xm) <= np.abs(x).max() * (1 + 1e-15))


def test_ridge_shrinks_each_hessian_eigendirection_by_s_over_s_plus_lambda():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    s = np.array([100.0, 1.0, 0.1, 0.001])
    H, w_star, lam = Q @ np.diag(s) @ Q.T, rng.normal(size=4), 0.1
    w = R.ridge_solution(H, w_star, lam)
    np.testing.assert_allclose(Q.T @ w, s / (s + lam) * (Q.T @ w_star), rtol=1e-10, atol=1e-14)
    # the minimizer: the gradient of the regularized objective vanishes there
    np.testing.assert_allclose(H @ (w - w_star) + lam * w, 0, atol=1e-12)
    factors = s / (s + lam)
    assert factors[0] > 0.99 and factors[-1] < 0.01           # kept vs removed


def test_early_stopping_acts_like_l2_with_lambda_about_1_over_eta_t():
    s = np.array([10.0, 1.0, 1e-2, 1e-4])
    eta, t = 0.05, 200                                        # 1/(ηt) = 0.1
    gd = 1 - (1 - eta * s) ** t                               # t GD steps from w = 0, eigenbasis
    l2 = s / (s + 1 / (eta * t))
    assert np.all(np.abs(gd[:2] - 1) < 0.01) and np.all(np.abs(l2[:2] - 1) < 0.1)   # stiff: kept
    np.testing.assert_allclose(gd[2:], l2[2:], rtol=0.15)                            # flat: ≈ s/λ


def test_weight_decay_factor_needs_eta_lambda_below_one():
    w, g = np.array([1.0, -2.0]), np.zeros(2)
    np.testing.assert_allclose(R.sgd_weight_decay_step(w, g, 0.5, 1.0), 0.5 * w)        # ηλ = 0.5: shrinks
    np.testing.assert_allclose(R.sgd_weight_decay_step(w, g, 1.0, 1.5), -0.5 * w)       # ηλ = 1.5: flips
    v = w
    for _ in range(10):
        v = R.sgd_weight_decay_step(v, g, 1.0, 2.5)                                      # ηλ = 2.5: |1 − ηλ| > 1
    assert np.all(np.abs(v) > 50 * np.abs(w))


def test_gradient_of_a_scale_invariant_layer_is_orthogonal_to_its_weights():
    """With BN after x @ w, L(c w) = L(w): the gradient is orthogonal to w, so a plain SGD step
    only grows ‖w‖ (‖w − ηg‖² = ‖w‖² + η²‖g‖²) and weight decay is what keeps it in check."""
    rng = np.random.default_rng(0)
    x, target = rng.normal(size=(16, 5)), rng.normal(size=16)

    def loss(w):
        out, _, _, _ = N.batchnorm_forward((x @ w)[:, None], np.ones(1), np.zeros(1), np.zeros(1), np.ones(1),
                                           eps=1e-12)
        return 0.5 * np.sum((out[:, 0] - target) ** 2)

    w = rng.normal(size=5)
    g = numerical_gradient(loss, w.copy())
    assert abs(w @ g) < 1e-6 * np.linalg.norm(w) * np.linalg.norm(g)
    assert loss(3 * w) == pytest.approx(loss(w), rel=1e-9)
    eta = 0.1
    assert np.sum((w - eta * g) ** 2) == pytest.approx(np.sum(w ** 2) + eta ** 2 * np.sum(g ** 2), rel=1e-6)
    norms = {}
    for lam in (0.0, 0.05):
        v = w.copy()
        for _ in range(300):
            v = R.sgd_weight_decay_step(v, numerical_gradient(loss, v.copy()), 0.5, lam)
        norms[lam] = np.linalg.norm(v)
    assert norms[0.0] > np.linalg.norm(w)                      # without decay the norm only grows
    assert norms[0.05] < norms[0.0]


def test_ema_and_swa_updates_follow_pytorch():
    avg, p = np.array([1.0, 2.0]), np.array([3.0, -2.0])
    np.testing.assert_allclose(R.ema_update(avg, p, 0.99), 0.99 * avg + 0.01 * p, rtol=1e-15)
    assert inspect.signature(R.ema_update).parameters["decay"].default == 0.999
    rng = np.random.default_rng(0)
    params = rng.normal(size=(7, 3))
    avg = np.zeros(3)
    for n, q in enumerate(params):
        avg = R.swa_update(avg, q, n)
    np.testing.assert_allclose(avg, params.mean(axis=0), rtol=1e-12)


def test_ema_averages_out_the_noise_of_sgd_iterates():
    rng = np.random.default_rng(0)
    iterates = 1.0 + 0.3 * rng.normal(size=(3000, 4))        # noisy weights around the optimum 1
    ema = iterates[0]
    for q in iterates[1:]:
        ema = R.ema_update(ema, q, 0.99)
    assert np.abs(ema - 1).max() < 0.1 < np.abs(iterates[-1] - 1).max()


@pytest.mark.parametrize("call,match", [
    (lambda: R.ema_update(np.ones(2), np.ones(3)), "^param must have the shape of avg"),
    (lambda: R.ema_update(np.ones(2), np.ones(2), 1.5), "^decay"),
    (lambda: R.swa_update(np.ones(2), np.ones(2), -1), "^n_averaged"),
    (lambda: R.ridge_solution(np.ones((2, 3)), np.ones(2), 1.0), "^H must be a symmetric"),
    (lambda: R.ridge_solution(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), 1.0), "^H must be a symmetric"),
    (lambda: R.ridge_solution(np.eye(2), np.ones(2), -1.0), "^lam"),
])
def test_new_regularization_helpers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_l1_solution_need_not_lie_on_a_corner():
    """The page says a contour *often* touches the diamond at a corner, not always: for
    ½‖w − (1.5, 1.2)‖² + 0.5‖w‖₁ the minimizer is (1.0, 0.7), with no zero weight; with
    λ = 1.3 the second weight is exactly 0."""
    w = R.soft_threshold(np.array([1.5, 1.2]), 0.5)
    np.testing.assert_allclose(w, [1.0, 0.7], rtol=1e-15)
    assert np.all(w != 0)
    assert R.soft_threshold(np.array([1.5, 1.2]), 1.3).tolist()[1] == 0.0
