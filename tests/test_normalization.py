"""Tests for snippets.normalization: finite-difference gradients of BatchNorm and LayerNorm,
the page's claims (per-feature/per-channel statistics, identity with γ = √(var+ε), β = mean,
unbiased running variance, evaluation independent of the batch, batch of one), bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradient_assertions import assert_grad
from snippets import normalization as N
from snippets.gradcheck import rel_error

SHAPES = [(6, 4), (3, 2, 4, 5), (1, 3, 2, 2), (4, 3, 5)]


def bn_inputs(rng, shape):
    c = shape[1]
    x = rng.normal(size=shape) * 2 + 1
    return (x, rng.normal(size=c), rng.normal(size=c), rng.normal(size=c),
            rng.uniform(0.5, 2.0, size=c))


def bn(x, gamma, beta, rm, rv, **kw):
    return N.batchnorm_forward(x, gamma, beta, rm, rv, **kw)


# ---------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("backward", [N.batchnorm_backward, N.batchnorm_backward_staged])
def test_batchnorm_gradients(rng, shape, train, backward):
    x, gamma, beta, rm, rv = bn_inputs(rng, shape)
    dout = rng.normal(size=shape)
    _, cache, _, _ = bn(x, gamma, beta, rm, rv, train=train)
    dx, dgamma, dbeta = backward(dout, cache)

    def loss(x_=x, gamma_=gamma, beta_=beta):
        return np.sum(bn(x_, gamma_, beta_, rm, rv, train=train)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)
    assert_grad(lambda v: loss(beta_=v), beta, dbeta)


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 2, 2), (1, 6)])
def test_layernorm_gradients(rng, shape):
    x = rng.normal(size=shape) * 3
    gamma, beta = rng.normal(size=shape[1:]), rng.normal(size=shape[1:])
    dout = rng.normal(size=shape)
    _, cache = N.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = N.layernorm_backward(dout, cache)

    def loss(x_=x, gamma_=gamma, beta_=beta):
        return np.sum(N.layernorm_forward(x_, gamma_, beta_)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)
    assert_grad(lambda v: loss(beta_=v), beta, dbeta)


@given(st.data())
def test_compact_and_staged_backward_agree(data):
    shape = data.draw(st.sampled_from(SHAPES))
    x = data.draw(arrays(np.float64, shape, elements=st.floats(-100, 100)))
    dout = data.draw(arrays(np.float64, shape, elements=st.floats(-10, 10)))
    c = shape[1]
    _, cache, _, _ = bn(x, np.full(c, 1.5), np.zeros(c), np.zeros(c), np.ones(c))
    for a, b in zip(N.batchnorm_backward(dout, cache), N.batchnorm_backward_staged(dout, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-7)


# ---------------------------------------------------------------- claims on the page

def test_statistics_per_feature_for_2d(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (8, 3))
    out, _, _, _ = bn(x, np.ones(3), np.zeros(3), rm, rv)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5) * gamma + beta
    np.testing.assert_allclose(bn(x, gamma, beta, rm, rv)[0], expected, rtol=1e-12, atol=1e-12)


def test_statistics_per_channel_for_nchw(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (4, 3, 5, 2))
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    g4, b4 = gamma[None, :, None, None], beta[None, :, None, None]
    expected = (x - mean) / np.sqrt(var + 1e-5) * g4 + b4
    out, _, new_mean, _ = bn(x, gamma, beta, rm, rv)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(new_mean, 0.9 * rm + 0.1 * mean.ravel(), rtol=1e-12)
    # each channel only sees its own values
    x2 = x.copy()
    x2[:, 1] = x2[:, 1] * 10 + 3
    out2 = bn(x2, gamma, beta, rm, rv)[0]
    np.testing.assert_allclose(out2[:, [0, 2]], out[:, [0, 2]], rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_gamma_sqrt_var_beta_mean_recovers_the_input(rng, shape):
    x, _, _, rm, rv = bn_inputs(rng, shape)
    axes = (0,) + tuple(range(2, x.ndim))
    eps = 1e-5
    gamma, beta = np.sqrt(x.var(axis=axes) + eps), x.mean(axis=axes)
    out, _, _, _ = bn(x, gamma, beta, rm, rv, eps=eps)
    np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_running_variance_uses_the_unbiased_estimate(rng, shape):
    x, gamma, beta, rm, rv = bn_inputs(rng, shape)
    axes = (0,) + tuple(range(2, x.ndim))
    _, _, new_mean, new_var = bn(x, gamma, beta, rm, rv, momentum=1.0)
    np.testing.assert_allclose(new_mean, x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(new_var, x.var(axis=axes, ddof=1), rtol=1e-12)
    assert not np.allclose(new_var, x.var(axis=axes), rtol=1e-6)
    _, _, m2, v2 = bn(x, gamma, beta, rm, rv, momentum=0.3)
    np.testing.assert_allclose(m2, 0.7 * rm + 0.3 * x.mean(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(v2, 0.7 * rv + 0.3 * x.var(axis=axes, ddof=1), rtol=1e-12)


def test_running_statistics_converge_on_a_repeated_batch(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (10, 3))
    for _ in range(300):
        _, _, rm, rv = bn(x, gamma, beta, rm, rv)
    np.testing.assert_allclose(rm, x.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(rv, x.var(axis=0, ddof=1), rtol=1e-9)


def test_evaluation_uses_running_statistics(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (5, 3, 2, 2))
    out, _, new_mean, new_var = bn(x, gamma, beta, rm, rv, train=False)
    expected = ((x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5)
                * gamma[None, :, None, None] + beta[None, :, None, None])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(new_mean, rm)
    np.testing.assert_array_equal(new_var, rv)
    assert new_mean is not rm and new_var is not rv


def test_evaluation_output_is_independent_of_the_batch(rng):
    _, gamma, beta, rm, rv = bn_inputs(rng, (1, 4))
    sample = rng.normal(size=(1, 4))
    batch_a = np.vstack([sample, rng.normal(size=(5, 4))])
    batch_b = np.vstack([rng.normal(size=(2, 4)) * 10, sample])
    eval_a = bn(batch_a, gamma, beta, rm, rv, train=False)[0][0]
    eval_b = bn(batch_b, gamma, beta, rm, rv, train=False)[0][-1]
    eval_1 = bn(sample, gamma, beta, rm, rv, train=False)[0][0]
    np.testing.assert_array_equal(eval_a, eval_b)
    np.testing.assert_array_equal(eval_a, eval_1)
    train_a = bn(batch_a, gamma, beta, rm, rv)[0][0]
    train_b = bn(batch_b, gamma, beta, rm, rv)[0][-1]
    assert not np.allclose(train_a, train_b)          # training output depends on the batch


def test_layernorm_is_batch_independent_and_per_sample(rng):
    gamma, beta = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    sample = rng.normal(size=(1, 3, 2))
    out_1, _ = N.layernorm_forward(sample, gamma, beta)                       # batch of one: fine
    batch = np.concatenate([rng.normal(size=(4, 3, 2)) * 7, sample])
    out_b, _ = N.layernorm_forward(batch, gamma, beta)
    np.testing.assert_allclose(out_b[-1], out_1[0], rtol=1e-12)
    plain, _ = N.layernorm_forward(batch, np.ones((3, 2)), np.zeros((3, 2)))
    np.testing.assert_allclose(plain.mean(axis=(1, 2)), 0, atol=1e-12)
    flat = batch.reshape(5, -1)
    np.testing.assert_allclose(plain.var(axis=(1, 2)), flat.var(axis=1) / (flat.var(axis=1) + 1e-5),
                               rtol=1e-12)


@pytest.mark.parametrize("shape", [(1, 4), (1, 3, 1, 1), (1, 2, 1)])
def test_training_batch_with_one_value_per_channel_raises(rng, shape):
    x, gamma, beta, rm, rv = bn_inputs(rng, shape)
    with pytest.raises(ValueError, match="^x must have more than 1 value per channel"):
        bn(x, gamma, beta, rm, rv)
    out, _, _, _ = bn(x, gamma, beta, rm, rv, train=False)        # evaluation is fine
    assert np.all(np.isfinite(out))


def test_one_sample_with_several_pixels_trains(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (1, 3, 2, 2))          # m = 4 values per channel
    out, _, _, new_var = bn(x, gamma, beta, rm, rv)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(new_var))


def test_inputs_are_not_modified(rng):
    args = bn_inputs(rng, (4, 3, 2, 2))
    before = [a.copy() for a in args]
    out, cache, _, _ = bn(*args)
    N.batchnorm_backward(np.ones_like(out), cache)
    N.batchnorm_backward_staged(np.ones_like(out), cache)
    bn(*args, train=False)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    x = args[0].reshape(4, -1)
    xb = x.copy()
    out, cache = N.layernorm_forward(x, np.ones(12), np.zeros(12))
    N.layernorm_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(x, xb)


def test_float32_stays_float32(rng):
    x, gamma, beta, rm, rv = (a.astype(np.float32) for a in bn_inputs(rng, (4, 3)))
    out, cache, m, v = bn(x, gamma, beta, rm, rv)
    dx, dg, db = N.batchnorm_backward(np.ones_like(out), cache)
    assert {a.dtype for a in (out, m, v, dx, dg, db)} == {np.dtype(np.float32)}
    out, cache = N.layernorm_forward(x, np.ones(3, np.float32), np.zeros(3, np.float32))
    assert out.dtype == np.float32 and N.layernorm_backward(out, cache)[0].dtype == np.float32


# ---------------------------------------------------------------- bad input

X = np.ones((4, 3))
P = np.ones(3)


@pytest.mark.parametrize("kwargs,match", [
    ({"x": np.ones(3)}, "^x "),
    ({"gamma": np.ones(2)}, "^gamma"),
    ({"beta": np.ones((3, 1))}, "^beta"),
    ({"running_mean": np.ones(4)}, "^running_mean"),
    ({"running_var": -np.ones(3)}, "^running_var"),
    ({"momentum": 1.5}, "^momentum"),
    ({"momentum": -0.1}, "^momentum"),
    ({"eps": 0.0}, "^eps"),
    ({"running_var": np.full(3, np.nan)}, "^running_var must be finite"),
    ({"running_mean": np.array([0.0, np.inf, 0.0])}, "^running_mean must be finite"),
    ({"train": "False"}, "^train must be True or False"),
])
def test_batchnorm_rejects_bad_input(kwargs, match):
    args = {"x": X, "gamma": P, "beta": P, "running_mean": P, "running_var": P, **kwargs}
    with pytest.raises(ValueError, match=match):
        N.batchnorm_forward(**args)


def test_backward_rejects_wrong_dout_shape():
    _, cache, _, _ = N.batchnorm_forward(X, P, P, P, P)
    with pytest.raises(ValueError, match="^dout"):
        N.batchnorm_backward(np.ones((3, 3)), cache)
    _, cache = N.layernorm_forward(X, P, P)
    with pytest.raises(ValueError, match="^dout"):
        N.layernorm_backward(np.ones((4, 2)), cache)


def test_backward_rejects_a_cache_from_elsewhere():
    _, bn_cache, _, _ = N.batchnorm_forward(X, P, P, P, P)
    _, ln_cache = N.layernorm_forward(X, P, P)
    for backward, wrong in [(N.batchnorm_backward, ln_cache), (N.batchnorm_backward_staged, None),
                            (N.batchnorm_backward, {}), (N.layernorm_backward, bn_cache)]:
        with pytest.raises(ValueError, match="^cache must be the cache returned by"):
            backward(X, wrong)


@pytest.mark.parametrize("x,gamma,beta,match", [
    (np.ones(2), P, P, "^gamma must have the shape of the last 1 axes"),
    (X, np.ones(2), P, "^gamma must have the shape of the last 1 axes"),
    (X, np.ones((4, 3, 1)), P, "^gamma must have the shape of the last 3 axes"),
    (X, np.float64(1.0), P, "^gamma must have at least one axis"),
    (X, P, np.ones(2), "^beta must have the shape of gamma"),
    (np.array(["a", "b", "c"]), P, P, "^x must be an array of real numbers"),
])
def test_layernorm_rejects_bad_input(x, gamma, beta, match):
    with pytest.raises(ValueError, match=match):
        N.layernorm_forward(x, gamma, beta)


# ---------------------------------------------------------------- the Normalization page's claims
# (each test backs a sentence, a number or a figure of docs/*/normalization.md)

import inspect  # noqa: E402

from snippets import regularization as R  # noqa: E402
from tools.figures import normalization as F  # noqa: E402  (figure data)


def test_default_momentum_and_eps_are_pytorchs():
    params = inspect.signature(N.batchnorm_forward).parameters
    assert params["momentum"].default == 0.1 and params["eps"].default == 1e-5
    assert inspect.signature(N.layernorm_forward).parameters["eps"].default == 1e-5


@given(c=st.floats(-1e3, 1e3), n=st.integers(2, 64))
def test_a_constant_channel_outputs_beta_up_to_rounding(c, n):
    """σ² = 0: the output is β + γ·(c − μ̂)/√ε, and the computed mean μ̂ may miss c by a few ulps,
    which 1/√ε ≈ 316 magnifies: β up to rounding, not necessarily bit for bit."""
    x = np.random.default_rng(n).normal(size=(n, 3))
    x[:, 1] = c
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.5, 2.0])
    out, _, _, _ = bn(x, gamma, beta, np.zeros(3), np.ones(3))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 1], -1.5, rtol=0, atol=1e-11 * max(1.0, abs(c)))


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 5)])
def test_a_bias_before_batchnorm_is_redundant(rng, shape):
    x, gamma, beta, rm, rv = bn_inputs(rng, shape)
    b = _per_channel_vec(rng.normal(size=shape[1]) * 5, len(shape))
    out, cache, _, _ = bn(x, gamma, beta, rm, rv)
    np.testing.assert_allclose(bn(x + b, gamma, beta, rm, rv)[0], out, rtol=1e-9, atol=1e-9)
    dx, _, _ = N.batchnorm_backward(rng.normal(size=shape), cache)
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(dx.sum(axis=axes), 0, atol=1e-12)        # dL/db = Σ dx = 0


def _per_channel_vec(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


@pytest.mark.parametrize("shape", [(7, 4), (3, 2, 4, 5)])
def test_input_gradient_has_zero_sum_and_is_orthogonal_to_x_hat(rng, shape):
    x, gamma, beta, rm, rv = bn_inputs(rng, shape)
    axes = (0,) + tuple(range(2, len(shape)))
    for eps, orthogonal_tol in ((1e-5, 1e-3), (1e-14, 1e-9)):         # orthogonal up to ε
        _, cache, _, _ = bn(x, gamma, beta, rm, rv, eps=eps)
        dout = rng.normal(size=shape)
        for backward in (N.batchnorm_backward, N.batchnorm_backward_staged):
            dx, _, _ = backward(dout, cache)
            np.testing.assert_allclose(dx.sum(axis=axes), 0, atol=1e-12)
            scale = np.abs(dx).sum(axis=axes)
            ortho = np.abs((dx * cache["x_hat"]).sum(axis=axes)) / scale
            assert np.all(ortho < orthogonal_tol), ortho


def test_a_sample_with_zero_upstream_gradient_still_gets_one(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (5, 2))
    _, cache, _, _ = bn(x, gamma, beta, rm, rv)
    dout = np.zeros((5, 2))
    dout[0] = 1.0
    dx, _, _ = N.batchnorm_backward(dout, cache)
    assert np.all(dx[1:] != 0)
    _, cache, _, _ = bn(x, gamma, beta, rm, rv, train=False)            # evaluation: constants
    dx, _, _ = N.batchnorm_backward(dout, cache)
    assert np.all(dx[1:] == 0)
    np.testing.assert_allclose(dx[0], gamma / np.sqrt(rv + 1e-5), rtol=1e-12)


def test_treating_batch_statistics_as_constants_gives_the_wrong_gradient(rng):
    x, gamma, beta, rm, rv = bn_inputs(rng, (6, 3))
    dout = rng.normal(size=(6, 3))
    _, cache, _, _ = bn(x, gamma, beta, rm, rv)
    naive = dout * gamma * cache["inv_std"]
    dx, _, _ = N.batchnorm_backward(dout, cache)
    assert rel_error(naive, dx) > 0.1


def test_doctest_batch_biased_running_variance_would_give_1_0_and_1_3():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    assert x.var(axis=0).tolist() == [1.0, 4.0] and x.var(axis=0, ddof=1).tolist() == [2.0, 8.0]
    biased = 0.9 * np.ones(2) + 0.1 * x.var(axis=0)
    assert biased.round(4).tolist() == [1.0, 1.3]
    _, _, _, rv = bn(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))
    assert rv.round(4).tolist() == [1.1, 1.7]


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_an_old_value_decays_like_one_minus_momentum_to_the_k(rng, momentum):
    x = rng.normal(size=(10, 3)) * 2 + 1
    rm0 = np.array([5.0, -5.0, 0.0])
    rm, rv = rm0, np.ones(3)
    for k in range(1, 31):
        _, _, rm, rv = bn(x, np.ones(3), np.zeros(3), rm, rv, momentum=momentum)
        expected = x.mean(axis=0) + (1 - momentum) ** k * (rm0 - x.mean(axis=0))
        np.testing.assert_allclose(rm, expected, rtol=1e-12, atol=1e-12)


def test_running_statistics_figure_unbiased_settles_at_4_biased_at_3():
    fast, slow = F.running_statistics(0.1), F.running_statistics(0.01)
    means, variances, biased = fast
    assert abs(means[49].mean() - 2) < 0.05                             # a few dozen steps, 0.1
    assert abs(slow[0][49].mean() - 2) > 0.5                            # much slower with 0.01
    assert abs(means[-100:].mean() - 2) < 0.02
    assert abs(variances[-100:].mean() - 4) < 0.05                       # unbiased: true variance
    assert abs(biased[-100:].mean() - 3) < 0.05                          # biased: (m−1)/m · 4
    assert np.std(means[-100:, 0]) > 5 * np.std(means[-100:].mean(axis=1))  # one channel is noisy


def test_evaluation_batchnorm_folds_into_the_preceding_linear_layer(rng):
    x = rng.normal(size=(9, 5))
    W, b = rng.normal(size=(5, 4)), rng.normal(size=4)
    gamma, beta, rm, rv = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4), rng.uniform(0.5, 2, 4)
    out, _, _, _ = bn(x @ W + b, gamma, beta, rm, rv, train=False)
    a = gamma / np.sqrt(rv + 1e-5)
    W_folded, b_folded = W * a, a * b + (beta - a * rm)
    np.testing.assert_allclose(x @ W_folded + b_folded, out, rtol=1e-12, atol=1e-12)


def test_a_batch_of_two_always_gives_plus_and_minus_one(rng):
    for _ in range(100):
        x = rng.normal(size=(2, 3)) * rng.uniform(0.1, 100)
        out, _, _, _ = bn(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3))
        var = x.var(axis=0)
        np.testing.assert_allclose(np.abs(out), np.sqrt(var / (var + 1e-5)) + 0 * out, rtol=1e-12)
        np.testing.assert_allclose(out.sum(axis=0), 0, atol=1e-12)
        out, _, _, _ = bn(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), eps=1e-300)
        np.testing.assert_allclose(np.abs(out), 1, rtol=1e-12)          # ±1 exactly, up to ε


def test_batch_noise_figure_spread_narrows_with_the_batch_size():
    spread = F.batch_noise_spread()
    sizes = F.BATCH_SIZES
    np.testing.assert_allclose(np.abs(spread[sizes == 2]), 1, atol=1e-3)   # m = 2: only ±1
    assert spread[sizes == 2, 0] < 0 < spread[sizes == 2, 4]
    width = spread[:, 4] - spread[:, 0]
    assert np.all(np.diff(width[1:]) < 0)                               # narrows from m = 4 on
    assert width[-1] < 0.25 * width[1]
    eval_out = [N.batchnorm_forward(np.array([[1.0], [v]]), np.ones(1), np.zeros(1), np.zeros(1),
                                    np.ones(1), train=False)[0][0, 0] for v in (-3.0, 0.0, 7.0)]
    assert len(set(eval_out)) == 1                                      # evaluation: one value


@pytest.mark.parametrize("alpha", [0.01, 3.0, 100.0])
def test_batchnorm_is_invariant_to_the_scale_of_the_weights(rng, alpha):
    x, W = rng.normal(size=(16, 6)), rng.normal(size=(6, 4))
    gamma, beta, dout = rng.normal(size=4), rng.normal(size=4), rng.normal(size=(16, 4))
    eps = 1e-12                                                          # "ignoring ε"
    out1, cache1, _, _ = bn(x @ W, gamma, beta, np.zeros(4), np.ones(4), eps=eps)
    out2, cache2, _, _ = bn(x @ (alpha * W), gamma, beta, np.zeros(4), np.ones(4), eps=eps)
    np.testing.assert_allclose(out2, out1, rtol=1e-8, atol=1e-8)
    grad_w1 = x.T @ N.batchnorm_backward(dout, cache1)[0]
    grad_w2 = x.T @ N.batchnorm_backward(dout, cache2)[0]
    np.testing.assert_allclose(grad_w2, grad_w1 / alpha, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("gain, per_layer", [(1.0, 1 / np.sqrt(2)), (2.0, 1.0), (3.0, np.sqrt(1.5))])
def test_deep_relu_figure_std_changes_by_sqrt_gain_over_2_per_layer_without_bn(gain, per_layer):
    stds = F.deep_relu_stds(gain, batchnorm=False)
    ratio = (stds[-1] / stds[0]) ** (1 / (len(stds) - 1))
    assert ratio == pytest.approx(per_layer, rel=0.03)
    with_bn = F.deep_relu_stds(gain, batchnorm=True)
    np.testing.assert_allclose(with_bn, 1, atol=1e-4)


def test_deep_tanh_figure_saturates_without_bn_and_not_with_it():
    plain, normed = F.deep_tanh_last_layer(False), F.deep_tanh_last_layer(True)
    assert np.mean(np.abs(plain) > 0.99) > 0.8                          # most units at ±1
    assert np.mean(np.abs(normed) > 0.99) < 0.01


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_before_batchnorm_causes_a_variance_shift(p):
    rng = np.random.default_rng(0)
    mean, std, c = 1.0, 0.5, 200
    rm, rv = np.zeros(c), np.ones(c)
    for _ in range(300):                                                 # training: dropout on
        x = rng.normal(mean, std, size=(64, c))
        dropped, _ = R.dropout(x, p, rng)
        _, _, rm, rv = bn(dropped, np.ones(c), np.zeros(c), rm, rv)
    predicted = (std ** 2 + mean ** 2) / (1 - p) - mean ** 2
    assert rv.mean() == pytest.approx(predicted, rel=0.03)
    assert predicted > std ** 2
    x = rng.normal(mean, std, size=(4096, c))                            # evaluation: dropout off
    out, _, _, _ = bn(R.dropout(x, p, rng, train=False)[0], np.ones(c), np.zeros(c), rm, rv,
                      train=False)
    assert out.var(axis=0).mean() == pytest.approx(std ** 2 / predicted, rel=0.05)
    assert out.var(axis=0).mean() < 0.9                                 # smaller than in training


def test_layernorm_is_batchnorm_of_the_transpose(rng):
    x = rng.normal(size=(6, 9)) * 3 + 1
    ln, _ = N.layernorm_forward(x, np.ones(9), np.zeros(9))
    bn_t, _, _, _ = bn(x.T, np.ones(6), np.zeros(6), np.zeros(6), np.ones(6))
    np.testing.assert_allclose(ln, bn_t.T, rtol=1e-12, atol=1e-12)


def test_layernorm_is_the_same_in_training_and_evaluation_and_a_batch_of_one_is_fine(rng):
    x = rng.normal(size=(1, 5))
    out, _ = N.layernorm_forward(x, np.ones(5), np.zeros(5))
    assert np.all(np.isfinite(out)) and abs(out.mean()) < 1e-12
    assert "train" not in inspect.signature(N.layernorm_forward).parameters



# ---------------------------------------------------------------- LayerNorm per token, RMSNorm,
# GroupNorm, InstanceNorm (issue 13: the contract additions, checked here against the formulas)

def _ln_reference(x, gamma, beta, k, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + eps) + beta


def test_layernorm_normalizes_each_token_of_an_nld_input(rng):
    x = rng.normal(size=(2, 5, 8)) * rng.uniform(0.5, 4, size=(2, 5, 1)) + rng.normal(size=(2, 5, 1))
    gamma, beta = rng.normal(size=8), rng.normal(size=8)
    out, _ = N.layernorm_forward(x, gamma, beta)
    np.testing.assert_allclose(out, _ln_reference(x, gamma, beta, 1), rtol=1e-12, atol=1e-12)
    plain, _ = N.layernorm_forward(x, np.ones(8), np.zeros(8))
    np.testing.assert_allclose(plain.mean(axis=-1), 0, atol=1e-12)           # every token
    # the old snippet normalized all non-batch axes (5·8 values): a different answer
    old = _ln_reference(x, np.ones(8), np.zeros(8), 2)
    assert np.abs(old - plain).max() > 0.1
    # one token does not see the others: changing token 0 leaves token 1 unchanged
    x2 = x.copy()
    x2[:, 0] = x2[:, 0] * 100 + 7
    np.testing.assert_allclose(N.layernorm_forward(x2, gamma, beta)[0][:, 1:], out[:, 1:], rtol=1e-12)


@pytest.mark.parametrize("shape,k", [((2, 5, 4), 1), ((2, 5, 4), 2), ((3, 2, 3, 2), 3),
                                     ((3, 2, 2, 3), 1), ((6,), 1)])
def test_layernorm_over_the_last_gamma_ndim_axes_and_its_gradients(rng, shape, k):
    x = rng.normal(size=shape) * 3
    gamma, beta = rng.normal(size=shape[len(shape) - k:]), rng.normal(size=shape[len(shape) - k:])
    dout = rng.normal(size=shape)
    out, cache = N.layernorm_forward(x, gamma, beta)
    np.testing.assert_allclose(out, _ln_reference(x, gamma, beta, k), rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = N.layernorm_backward(dout, cache)
    assert dgamma.shape == gamma.shape and dbeta.shape == beta.shape

    def loss(x_=x, gamma_=gamma, beta_=beta):
        return np.sum(N.layernorm_forward(x_, gamma_, beta_)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)
    assert_grad(lambda v: loss(beta_=v), beta, dbeta)


# RMSNorm

@pytest.mark.parametrize("shape,k", [((4, 6), 1), ((2, 3, 5), 1), ((2, 3, 4), 2), ((5,), 1)])
@pytest.mark.parametrize("eps", [None, 1e-5, 0.3])
def test_rmsnorm_forward_and_gradients(rng, shape, k, eps):
    x = rng.normal(size=shape) * 2 + 0.5
    gamma = rng.normal(size=shape[len(shape) - k:])
    dout = rng.normal(size=shape)
    out, cache = N.rmsnorm_forward(x, gamma, eps=eps)
    axes = tuple(range(len(shape) - k, len(shape)))
    e = np.finfo(np.float64).eps if eps is None else eps
    np.testing.assert_allclose(out, gamma * x / np.sqrt((x ** 2).mean(axis=axes, keepdims=True) + e),
                               rtol=1e-12)
    dx, dgamma = N.rmsnorm_backward(dout, cache)
    assert dgamma.shape == gamma.shape

    def loss(x_=x, gamma_=gamma):
        return np.sum(N.rmsnorm_forward(x_, gamma_, eps=eps)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)


def test_rmsnorm_default_eps_is_the_dtypes_machine_epsilon():
    assert inspect.signature(N.rmsnorm_forward).parameters["eps"].default is None
    for dtype in (np.float64, np.float32):
        x = np.array([[1e-9, 0.0]], dtype=dtype)          # mean square 5e-19: eps dominates
        out, _ = N.rmsnorm_forward(x, np.ones(2, dtype))
        assert out.dtype == dtype
        expected = 1e-9 / np.sqrt(5e-19 + float(np.finfo(dtype).eps))
        assert float(out[0, 0]) == pytest.approx(expected, rel=1e-5)
    out, _ = N.rmsnorm_forward(np.zeros((2, 3)), np.ones(3))              # all zero: 0, not nan
    assert np.all(out == 0)
    out16, _ = N.rmsnorm_forward(np.array([[3.0, 4.0]], np.float16), np.ones(2, np.float16))
    assert out16.dtype == np.float16
    np.testing.assert_allclose(out16.astype(float), [[0.8485, 1.1314]], rtol=1e-3)


def test_rmsnorm_is_layernorm_without_the_mean_and_beta(rng):
    x = rng.normal(size=(4, 7))
    x0 = x - x.mean(axis=-1, keepdims=True)                               # zero-mean rows
    gamma = rng.normal(size=7)
    np.testing.assert_allclose(N.rmsnorm_forward(x0, gamma, eps=1e-5)[0],
                               N.layernorm_forward(x0, gamma, np.zeros(7))[0], rtol=1e-12)
    # with a non-zero mean they differ: RMSNorm does not re-centre
    assert not np.allclose(N.rmsnorm_forward(x + 3, gamma, eps=1e-5)[0],
                           N.layernorm_forward(x + 3, gamma, np.zeros(7))[0])


@given(arrays(np.float32, (3, 8), elements=st.floats(np.float32(-1e15), np.float32(1e15), width=32)),
       st.floats(1e-3, 1e3))
def test_rmsnorm_is_finite_and_scale_invariant_on_extreme_inputs(x, c):
    out, cache = N.rmsnorm_forward(x, np.ones(8, np.float32))
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert np.all((out.astype(np.float64) ** 2).mean(axis=-1) <= 1 + 1e-5)   # rms of the output ≤ 1
    dx, _ = N.rmsnorm_backward(np.ones_like(out), cache)
    assert dx.dtype == np.float32 and np.all(np.isfinite(dx))
    x64 = x.astype(np.float64)
    big = np.sqrt((x64 ** 2).mean(axis=-1)) * min(c, 1.0) > 1e-3     # where ε is negligible
    a = N.rmsnorm_forward(x64 * c, np.ones(8))[0][big]
    b = N.rmsnorm_forward(x64, np.ones(8))[0][big]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_rmsnorm_rejects_bad_input():
    with pytest.raises(ValueError, match="^gamma must have the shape of the last 1 axes"):
        N.rmsnorm_forward(X, np.ones(2))
    with pytest.raises(ValueError, match="^eps"):
        N.rmsnorm_forward(X, P, eps=-1.0)
    _, cache = N.rmsnorm_forward(X, P)
    with pytest.raises(ValueError, match="^dout"):
        N.rmsnorm_backward(np.ones((4, 2)), cache)
    with pytest.raises(ValueError, match="^cache must be the cache returned by rmsnorm_forward"):
        N.rmsnorm_backward(X, N.layernorm_forward(X, P, P)[1])


# GroupNorm and InstanceNorm

@pytest.mark.parametrize("shape,groups", [((2, 6, 3, 2), 3), ((3, 4, 5), 2), ((2, 6), 2),
                                          ((1, 6, 2, 2), 1), ((2, 3, 2, 2), 3)])
def test_groupnorm_forward_and_gradients(rng, shape, groups):
    x = rng.normal(size=shape) * 2 + 1
    c = shape[1]
    gamma, beta, dout = rng.normal(size=c), rng.normal(size=c), rng.normal(size=shape)
    out, cache = N.groupnorm_forward(x, groups, gamma, beta)
    xg = x.reshape(shape[0], groups, -1)
    ref = ((xg - xg.mean(axis=2, keepdims=True)) / np.sqrt(xg.var(axis=2, keepdims=True) + 1e-5))
    ref = ref.reshape(shape) * N._per_channel(gamma, len(shape)) + N._per_channel(beta, len(shape))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = N.groupnorm_backward(dout, cache)

    def loss(x_=x, gamma_=gamma, beta_=beta):
        return np.sum(N.groupnorm_forward(x_, groups, gamma_, beta_)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)
    assert_grad(lambda v: loss(beta_=v), beta, dbeta)


def test_groupnorm_with_one_group_is_layernorm_and_with_c_groups_is_instancenorm(rng):
    x = rng.normal(size=(3, 4, 2, 5)) * 3
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    g1, _ = N.groupnorm_forward(x, 1, None, None)
    np.testing.assert_allclose(g1, N.layernorm_forward(x, np.ones((4, 2, 5)), np.zeros((4, 2, 5)))[0],
                               rtol=1e-12, atol=1e-12)
    gc, _ = N.groupnorm_forward(x, 4, gamma, beta)
    inst, _ = N.instancenorm_forward(x, gamma, beta)
    np.testing.assert_array_equal(gc, inst)


def test_groupnorm_is_independent_of_the_batch(rng):
    x = rng.normal(size=(4, 6, 3))
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    full, _ = N.groupnorm_forward(x, 2, gamma, beta)
    one, _ = N.groupnorm_forward(x[2:3], 2, gamma, beta)                   # a batch of one
    np.testing.assert_allclose(one[0], full[2], rtol=1e-12)


def test_instancenorm_forward_and_gradients_through_groupnorm_backward(rng):
    x = rng.normal(size=(2, 3, 4, 2)) * 2
    gamma, beta, dout = rng.normal(size=3), rng.normal(size=3), rng.normal(size=x.shape)
    out, cache = N.instancenorm_forward(x, gamma, beta)
    mu, var = x.mean(axis=(2, 3), keepdims=True), x.var(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(out, gamma[None, :, None, None] * (x - mu) / np.sqrt(var + 1e-5)
                               + beta[None, :, None, None], rtol=1e-12, atol=1e-12)
    dx, dgamma, dbeta = N.groupnorm_backward(dout, cache)

    def loss(x_=x, gamma_=gamma):
        return np.sum(N.instancenorm_forward(x_, gamma_, beta)[0] * dout)

    assert_grad(lambda v: loss(x_=v), x, dx)
    assert_grad(lambda v: loss(gamma_=v), gamma, dgamma)
    plain, _ = N.instancenorm_forward(x, None, None)                       # no affine: 1 and 0
    np.testing.assert_allclose(plain, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12, atol=1e-12)


def test_batchnorm_of_a_single_image_is_instancenorm(rng):
    """The page: BN in training on a (1, C, H, W) batch normalizes each channel over the
    H·W values of the one sample, which is InstanceNorm (plus a running-statistics update)."""
    x = rng.normal(size=(1, 3, 4, 4)) * 2 + 1
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    bn_out, _, _, _ = bn(x, gamma, beta, np.zeros(3), np.ones(3))
    np.testing.assert_allclose(bn_out, N.instancenorm_forward(x, gamma, beta)[0], rtol=1e-12)
    # with a second image, BN pools the two and no longer is
    x2 = np.concatenate([x, rng.normal(size=(1, 3, 4, 4)) * 5])
    assert not np.allclose(bn(x2, gamma, beta, np.zeros(3), np.ones(3))[0][:1],
                           N.instancenorm_forward(x, gamma, beta)[0])


@given(arrays(np.float64, (2, 4, 3), elements=st.floats(-1e6, 1e6)))
def test_group_and_instance_norm_are_finite_on_extreme_and_constant_inputs(x):
    for out, cache in (N.groupnorm_forward(x, 2, None, None), N.instancenorm_forward(x, None, None)):
        assert np.all(np.isfinite(out))
        assert np.all(np.abs(out) <= np.sqrt(6) + 1e-9)       # |x̂| ≤ √(M − 1) for M values
        assert np.all(np.isfinite(N.groupnorm_backward(np.ones_like(out), cache)[0]))


def test_group_and_instance_norm_keep_float32_and_do_not_modify_inputs(rng):
    x = rng.normal(size=(2, 4, 3)).astype(np.float32)
    g = np.ones(4, np.float32)
    xb, gb = x.copy(), g.copy()
    for out, cache in (N.groupnorm_forward(x, 2, g, g), N.instancenorm_forward(x, g, g)):
        assert out.dtype == np.float32
        assert all(a.dtype == np.float32 for a in N.groupnorm_backward(np.ones_like(out), cache))
    out, cache = N.rmsnorm_forward(x, np.ones(3, np.float32))
    N.rmsnorm_backward(out, cache)
    np.testing.assert_array_equal(x, xb)
    np.testing.assert_array_equal(g, gb)


@pytest.mark.parametrize("call,match", [
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), 4, None, None), "^num_groups must divide"),
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), 0, None, None), "^num_groups must be an integer"),
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), True, None, None), "^num_groups must be an integer"),
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), 2, np.ones(3), None), "^gamma must have shape"),
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), 2, None, np.ones(5)), "^beta must have shape"),
    (lambda: N.groupnorm_forward(np.ones(6), 2, None, None), "^x must have shape"),
    (lambda: N.groupnorm_forward(np.ones((1, 2)), 2, None, None), "^x must have more than 1 value"),
    (lambda: N.groupnorm_forward(np.ones((2, 6, 3)), 2, None, None, eps=0.0), "^eps"),
    (lambda: N.instancenorm_forward(np.ones((2, 3)), None, None), "^x must have shape"),
    (lambda: N.instancenorm_forward(np.ones((2, 3, 1, 1)), None, None), "^x must have more than 1 spatial"),
    (lambda: N.groupnorm_backward(np.ones((2, 3)), N.layernorm_forward(X, P, P)[1]), "^cache must be"),
    (lambda: N.groupnorm_backward(np.ones((2, 3)), N.groupnorm_forward(np.ones((2, 6, 3)), 2, None, None)[1]),
     "^dout"),
])
def test_group_and_instance_norm_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_group_and_instance_norm_defaults_are_pytorchs():
    for fn in (N.groupnorm_forward, N.instancenorm_forward):
        assert inspect.signature(fn).parameters["eps"].default == 1e-5


# Framework conventions for the running statistics

def test_keras_momentum_099_is_pytorch_momentum_001(rng):
    x = rng.normal(size=(16, 3)) + 2
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    _, _, new_mean, _ = bn(x, np.ones(3), np.zeros(3), rm, rv, momentum=1 - 0.99)
    np.testing.assert_allclose(new_mean, 0.99 * rm + 0.01 * x.mean(axis=0), rtol=1e-12)


def test_pytorch_momentum_none_is_the_cumulative_average_momentum_1_over_t(rng):
    rm, rv = np.zeros(2), np.ones(2)
    means, vars_ = [], []
    for t in range(1, 21):
        x = rng.normal(size=(8, 2)) * t + t
        means.append(x.mean(axis=0))
        vars_.append(x.var(axis=0, ddof=1))
        _, _, rm, rv = bn(x, np.ones(2), np.zeros(2), rm, rv, momentum=1 / t)
    np.testing.assert_allclose(rm, np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(rv, np.mean(vars_, axis=0), rtol=1e-12)


# Pre-LN vs Post-LN

def _residual_stack(x, weights, placement):
    ln = lambda h: N.layernorm_forward(h, np.ones(h.shape[-1]), np.zeros(h.shape[-1]))[0]  # noqa: E731
    stds = []
    for W in weights:
        if placement == "post":
            x = ln(x + np.tanh(x @ W))
        else:
            x = x + np.tanh(ln(x) @ W)
        stds.append(x.std(axis=-1).mean())
    return np.array(stds)


def test_pre_ln_stream_grows_with_depth_post_ln_stays_normalized(rng):
    d, depth = 64, 24
    weights = [rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(depth)]
    x = rng.normal(size=(8, 10, d))
    post = _residual_stack(x, weights, "post")
    pre = _residual_stack(x, weights, "pre")
    np.testing.assert_allclose(post, 1.0, rtol=1e-4)              # LN output: std 1 per token
    assert np.all(np.diff(pre) > 0)                               # the stream keeps growing
    assert 2.5 < pre[-1] / pre[0] < 4.5                           # roughly like √l: √24/√1 ≈ 4.9 at most
