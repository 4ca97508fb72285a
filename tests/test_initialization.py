"""Initialization: variances and bounds checked statistically (tolerances from the sample size,
fixed seeds), the depth simulation, and the symmetry / zero-init claims of the page."""

import math

import numpy as np
import pytest

from snippets.gradcheck import numerical_gradient, rel_error
from snippets.initialization import (
    activation_stds, he_normal, he_uniform, lecun_normal, small_random, train_two_layer,
    two_layer_net, xavier_normal, xavier_uniform)

FAN_IN, FAN_OUT = 500, 400            # unequal, so a swapped fan_in/fan_out changes the variance
N = FAN_IN * FAN_OUT                  # independent samples per draw
Z = 5.0                               # tolerance in standard errors (fixed seeds: deterministic)

# (init, variance, uniform bound or None)
SCHEMES = [
    (xavier_uniform, 2 / (FAN_IN + FAN_OUT), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (xavier_normal, 2 / (FAN_IN + FAN_OUT), None),
    (he_uniform, 2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    (he_normal, 2 / FAN_IN, None),
    (lecun_normal, 1 / FAN_IN, None),
]
IDS = [s[0].__name__ for s in SCHEMES]


def _kurtosis(w):
    c = w - w.mean()
    return float(np.mean(c ** 4) / np.mean(c ** 2) ** 2)


@pytest.mark.parametrize("init, var, bound", SCHEMES, ids=IDS)
def test_shape_dtype_and_determinism(init, var, bound):
    w = init(FAN_IN, FAN_OUT, np.random.default_rng(0))
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float64
    np.testing.assert_array_equal(w, init(FAN_IN, FAN_OUT, np.random.default_rng(0)))
    assert not np.array_equal(w, init(FAN_IN, FAN_OUT, np.random.default_rng(1)))
    assert init(1, 1, np.random.default_rng(0)).shape == (1, 1)


@pytest.mark.parametrize("init, var, bound", SCHEMES, ids=IDS)
def test_variance_and_mean(init, var, bound):
    w = init(FAN_IN, FAN_OUT, np.random.default_rng(1))
    # standard error of the sample variance: Var(w²)/N with E[w⁴] = 3σ⁴ (normal), 9σ⁴/5 (uniform)
    fourth = 9 / 5 if bound is not None else 3.0
    se_var = var * math.sqrt((fourth - 1) / N)
    assert abs(w.var() - var) < Z * se_var
    assert abs(w.mean()) < Z * math.sqrt(var / N)


@pytest.mark.parametrize("init, var, bound", SCHEMES, ids=IDS)
def test_distribution_shape(init, var, bound):
    """Uniform has kurtosis 9/5, normal 3; the normal's sample kurtosis has s.e. √(24/N) and the
    uniform's is smaller, so Z·√(24/N) (≈ 0.05) separates them."""
    w = init(FAN_IN, FAN_OUT, np.random.default_rng(2))
    expected = 9 / 5 if bound is not None else 3.0
    assert abs(_kurtosis(w) - expected) < Z * math.sqrt(24 / N)


@pytest.mark.parametrize("init, var, bound", [s for s in SCHEMES if s[2] is not None],
                         ids=[s[0].__name__ for s in SCHEMES if s[2] is not None])
def test_uniform_bounds(init, var, bound):
    w = init(FAN_IN, FAN_OUT, np.random.default_rng(3))
    assert np.abs(w).max() <= bound
    # P(max |w| < a(1 − δ)) = (1 − δ)^N ≈ e^(−Nδ): with δ = 30/N that is e^(−30)
    assert w.max() > bound * (1 - 30 / N) and w.min() < -bound * (1 - 30 / N)
    assert bound ** 2 / 3 == pytest.approx(var)          # the bound IS the variance formula


def test_he_is_twice_lecun_and_xavier_is_between_the_fans():
    rng = np.random.default_rng(4)
    he, lecun = he_normal(FAN_IN, FAN_OUT, rng).var(), lecun_normal(FAN_IN, FAN_OUT, rng).var()
    assert he / lecun == pytest.approx(2.0, rel=0.02)
    xavier = xavier_normal(FAN_IN, FAN_OUT, rng).var()
    assert 1 / FAN_IN < xavier < 1 / FAN_OUT            # harmonic mean of 1/n_in and 1/n_out


def test_one_layer_variance_gains():
    """Var(x W) = n_in Var(W) Var(x) forward; Var(δ Wᵀ) = n_out Var(W) Var(δ) backward.
    Xavier balances the two: gains 2 n_in/(n_in+n_out) and 2 n_out/(n_in+n_out)."""
    rng = np.random.default_rng(5)
    n_in, n_out = 400, 100
    w = xavier_normal(n_in, n_out, rng)
    x = rng.standard_normal((2000, n_in))
    delta = rng.standard_normal((2000, n_out))
    assert (x @ w).var() == pytest.approx(2 * n_in / (n_in + n_out), rel=0.03)     # 1.6
    assert (delta @ w.T).var() == pytest.approx(2 * n_out / (n_in + n_out), rel=0.03)  # 0.4
    w = he_normal(n_in, n_out, rng)
    z = x @ w
    assert np.mean(np.maximum(z, 0) ** 2) == pytest.approx(1.0, rel=0.03)  # E[relu(z)²] = E[x²]


def test_small_random_is_randn_not_rand():
    rng = np.random.default_rng(6)
    w = small_random(FAN_IN, FAN_OUT, rng)
    assert abs(w.mean()) < Z * 0.01 / math.sqrt(N)
    assert w.std() == pytest.approx(0.01, rel=Z * math.sqrt(2 / N))
    assert abs((w < 0).mean() - 0.5) < Z * 0.5 / math.sqrt(N)
    # the mistake: rand is U[0, 1), all positive with mean scale/2 …
    wrong = 0.01 * rng.random((FAN_IN, FAN_OUT))
    assert wrong.min() >= 0 and wrong.mean() == pytest.approx(0.005, rel=0.01)
    # … so the units of a layer compute nearly the same thing: corr = E[w]²/E[w²] = 3/4
    x = rng.standard_normal((4000, 50))
    def mean_unit_correlation(weights):
        c = np.corrcoef((x @ weights).T)
        return c[np.triu_indices_from(c, 1)].mean()
    assert abs(mean_unit_correlation(small_random(50, 40, rng))) < 0.05
    assert mean_unit_correlation(0.01 * rng.random((50, 40))) == pytest.approx(0.75, abs=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: xavier_uniform(0, 3, np.random.default_rng()), "fan_in"),
    (lambda: xavier_normal(-2, 3, np.random.default_rng()), "fan_in"),
    (lambda: he_uniform(2.5, 3, np.random.default_rng()), "fan_in"),
    (lambda: he_normal(True, 3, np.random.default_rng()), "fan_in"),
    (lambda: lecun_normal("3", 3, np.random.default_rng()), "fan_in"),
    (lambda: xavier_uniform(3, 0, np.random.default_rng()), "fan_out"),
    (lambda: he_normal(3, 4.0, np.random.default_rng()), "fan_out"),
    (lambda: he_uniform(3, None, np.random.default_rng()), "fan_out"),
    (lambda: xavier_normal(3, 4, None), "rng"),
    (lambda: he_uniform(3, 4, np.random.RandomState(0)), "rng"),
    (lambda: lecun_normal(3, 4, 0), "rng"),
    (lambda: small_random(3, 4, np.random.default_rng(), scale=0.0), "scale"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_integers_are_accepted():
    w = he_normal(np.int64(3), np.int32(4), np.random.default_rng(0))
    assert w.shape == (3, 4)


# --- activation scale through 50 layers ----------------------------------------------------------

def _ratio(init, activation, seed=0):
    s = activation_stds(init, activation, np.random.default_rng(seed))
    assert s.shape == (50,)
    return s, s[-1] / s[0]


def test_relu_he_keeps_the_scale_xavier_and_small_shrink_it():
    s, he = _ratio(he_normal, "relu")
    # layer 1: z ~ N(0, 2) (He), std of relu(z) = √(2 (1/2 − 1/(2π)))
    assert s[0] == pytest.approx(math.sqrt(2 * (0.5 - 1 / (2 * math.pi))), rel=0.03)
    assert 0.25 < he < 4                                   # a random walk around 1
    _, xavier = _ratio(xavier_normal, "relu")
    assert xavier < 1e-6                                   # (1/√2)^49 ≈ 4e-8
    _, small = _ratio(small_random, "relu")
    assert small < 1e-40                                   # (0.01·√(256/2))^49
    _, he_uniform_ratio = _ratio(he_uniform, "relu")
    assert 0.25 < he_uniform_ratio < 4


def test_tanh_scales():
    s, xavier = _ratio(xavier_normal, "tanh")
    assert 0.05 < s[-1] < s[9] < s[0] and s[-1] < 0.3       # shrinks slowly (tanh contracts)
    s_small, small = _ratio(small_random, "tanh")
    assert small < 1e-30 and s_small[9] < 1e-6             # ×0.16 per layer: gone
    s_he, _ = _ratio(he_normal, "tanh")
    assert s_he[-1] > 0.5                                  # large: units near saturation
    assert s_he[-1] > 3 * s[-1]


def test_selu_with_lecun_is_self_normalizing():
    s, ratio = _ratio(lecun_normal, "selu")
    assert np.all(np.abs(s - 1) < 0.1)
    s_he, _ = _ratio(he_normal, "selu")
    assert s_he[-1] > 10                                   # twice the variance: explodes


def test_activation_stds_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="activation"):
        activation_stds(he_normal, "softmax", rng)
    with pytest.raises(ValueError, match="init"):
        activation_stds("he", "relu", rng)
    with pytest.raises(ValueError, match="n_layers"):
        activation_stds(he_normal, "relu", rng, n_layers=0)
    with pytest.raises(ValueError, match="rng"):
        activation_stds(he_normal, "relu", 0)


# --- the tiny two-layer net: gradients, symmetry, zero init --------------------------------------

def _data(seed=0, n=6, d=3, c=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, c))


def _random_params(rng, d=3, h=4, c=2, scale=0.5):
    return {"W1": scale * rng.standard_normal((d, h)), "b1": scale * rng.standard_normal(h),
            "W2": scale * rng.standard_normal((h, c)), "b2": scale * rng.standard_normal(c)}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear", "selu"])
def test_two_layer_gradients_match_finite_differences(activation):
    x, y = _data()
    params = _random_params(np.random.default_rng(1))
    loss, grads = two_layer_net(params, x, y, activation)
    for name in params:
        def f(v, name=name):
            return two_layer_net({**params, name: v}, x, y, activation)[0]
        num = numerical_gradient(f, params[name].copy())
        assert rel_error(grads[name], num) < 1e-7, name
    pred = np.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    if activation == "tanh":
        assert loss == pytest.approx(np.sum((pred - y) ** 2) / (2 * len(x)))


def test_training_does_not_modify_inputs_and_lowers_the_loss():
    x, y = _data()
    params = _random_params(np.random.default_rng(2))
    before = {k: v.copy() for k, v in params.items()}
    trained = train_two_layer(params, x, y, "tanh", lr=0.1, n_steps=200)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
        assert not np.shares_memory(trained[k], params[k])
    assert two_layer_net(trained, x, y)[0] < 0.5 * two_layer_net(params, x, y)[0]
    zero_steps = train_two_layer(params, x, y, n_steps=0)
    for k in params:
        np.testing.assert_array_equal(zero_steps[k], params[k])
        assert not np.shares_memory(zero_steps[k], params[k]), f"{k}: zero steps must still copy"


def _symmetric_params(d=3, h=4, c=2):
    rng = np.random.default_rng(3)
    col, row = rng.standard_normal(d), rng.standard_normal(c)
    return {"W1": np.tile(col[:, None], (1, h)), "b1": np.full(h, 0.1),
            "W2": np.tile(row[None, :], (h, 1)), "b2": np.zeros(c)}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_identical_units_stay_identical(activation):
    x, y = _data()
    p = train_two_layer(_symmetric_params(), x, y, activation, lr=0.2, n_steps=100)
    for j in range(1, 4):
        np.testing.assert_array_equal(p["W1"][:, j], p["W1"][:, 0])
        np.testing.assert_array_equal(p["W2"][j], p["W2"][0])
        assert p["b1"][j] == p["b1"][0]
    # they did learn something: the weights moved
    assert np.abs(p["W1"] - _symmetric_params()["W1"]).max() > 1e-3


def test_symmetry_needs_both_incoming_and_outgoing_weights_equal():
    x, y = _data()
    params = _symmetric_params()
    params["W2"] = params["W2"] + np.arange(4)[:, None] * 0.1   # outgoing weights differ
    p = train_two_layer(params, x, y, "tanh", lr=0.2, n_steps=1)
    assert np.abs(p["W1"][:, 1] - p["W1"][:, 0]).max() > 1e-6
    random = train_two_layer(_random_params(np.random.default_rng(4)), x, y, "tanh", 0.2, 100)
    assert np.abs(np.diff(random["W1"], axis=1)).min() > 1e-6


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_zero_init_with_tanh_or_relu_only_the_output_bias_learns(activation):
    """act(0) = 0 (and relu'(0) = 0): dW2 = hᵀdŷ = 0 and dW1, db1 go through W2 = 0."""
    x, y = _data()
    zeros = {"W1": np.zeros((3, 4)), "b1": np.zeros(4), "W2": np.zeros((4, 2)), "b2": np.zeros(2)}
    p = train_two_layer(zeros, x, y, activation, lr=0.2, n_steps=50)
    for k in ("W1", "b1", "W2"):
        assert not p[k].any(), k
    np.testing.assert_allclose(p["b2"], y.mean(axis=0), rtol=1e-3)   # it fits the mean of y


def test_zero_init_with_sigmoid_learns_but_stays_symmetric():
    """σ(0) = 1/2: dW2 ≠ 0 at step 1, so W1 gets a gradient from step 2 on; every hidden unit
    gets the same update, so the net behaves like one hidden unit (not "all weights stay 0")."""
    x, y = _data()
    zeros = {"W1": np.zeros((3, 4)), "b1": np.zeros(4), "W2": np.zeros((4, 2)), "b2": np.zeros(2)}
    one = train_two_layer(zeros, x, y, "sigmoid", lr=0.2, n_steps=1)
    assert one["W2"].any() and not one["W1"].any()
    np.testing.assert_allclose(one["W2"], np.tile(0.2 * 0.5 * (y - 0).mean(axis=0), (4, 1)))
    two = train_two_layer(zeros, x, y, "sigmoid", lr=0.2, n_steps=2)
    assert two["W1"].any()
    many = train_two_layer(zeros, x, y, "sigmoid", lr=0.2, n_steps=100)
    for j in range(1, 4):
        np.testing.assert_array_equal(many["W1"][:, j], many["W1"][:, 0])
        np.testing.assert_array_equal(many["W2"][j], many["W2"][0])


def test_two_layer_bad_inputs():
    x, y = _data()
    params = _random_params(np.random.default_rng(5))
    with pytest.raises(ValueError, match="W1"):
        two_layer_net({**params, "W1": np.zeros((2, 4))}, x, y)
    with pytest.raises(ValueError, match="b1"):
        two_layer_net({**params, "b1": np.zeros(5)}, x, y)
    with pytest.raises(ValueError, match="W2"):
        two_layer_net({**params, "W2": np.zeros((5, 2))}, x, y)
    with pytest.raises(ValueError, match="b2"):
        two_layer_net({**params, "b2": np.zeros(3)}, x, y)
    with pytest.raises(ValueError, match="y must"):
        two_layer_net(params, x, y[:, :1])
    with pytest.raises(ValueError, match="params"):
        two_layer_net({"W1": params["W1"]}, x, y)
    with pytest.raises(ValueError, match="activation"):
        two_layer_net(params, x, y, "gelu")
    with pytest.raises(ValueError, match="lr"):
        train_two_layer(params, x, y, lr=0.0)
    with pytest.raises(ValueError, match="n_steps"):
        train_two_layer(params, x, y, n_steps=-1)


# --- the page's claims (Initialization page) ------------------------------------------------------

def _per_layer_factor(stds):
    return float(np.median(stds[6:] / stds[5:-1]))


def test_per_layer_scale_factors_through_the_depth():
    """Std ratio between consecutive layers (width 256): 0.01·randn gives 0.01·√256 = 0.16 with
    tanh (linear near 0) and 0.01·√128 ≈ 0.11 with ReLU; Xavier with ReLU gives 1/√2 ≈ 0.71;
    He with ReLU gives 1."""
    def factor(scheme, activation):
        stds = activation_stds(scheme, activation, np.random.default_rng(0), batch_size=128)
        return _per_layer_factor(stds)

    assert factor(small_random, "tanh") == pytest.approx(0.01 * math.sqrt(256), rel=0.02)
    assert factor(small_random, "relu") == pytest.approx(0.01 * math.sqrt(128), rel=0.03)
    assert factor(xavier_normal, "relu") == pytest.approx(1 / math.sqrt(2), rel=0.02)
    assert factor(he_normal, "relu") == pytest.approx(1.0, rel=0.02)
    small_tanh = activation_stds(small_random, "tanh", np.random.default_rng(0), batch_size=128)
    assert 1e-9 < small_tanh[9] < 1e-7                      # "of order 1e-8 after 10 layers"


def test_tanh_scales_quoted_on_the_page():
    """tanh, 50 layers of width 256: Xavier's std falls slowly from about 0.63 to about 0.1;
    He's settles near 0.56 (a fixed point with many units in tanh's curved region)."""
    xavier = activation_stds(xavier_normal, "tanh", np.random.default_rng(0))
    he = activation_stds(he_normal, "tanh", np.random.default_rng(0))
    assert xavier[0] == pytest.approx(0.63, abs=0.01) and xavier[-1] == pytest.approx(0.1, abs=0.01)
    assert np.all(np.diff(xavier[::10]) < 0)                  # down every 10 layers
    assert np.all(np.abs(he[10:] - 0.56) < 0.02)


def test_for_a_square_layer_xavier_is_lecun():
    """n_in = n_out = n: 2/(n + n) = 1/n, so the two draw the very same weights."""
    for n in (1, 7, 256):
        np.testing.assert_array_equal(xavier_normal(n, n, np.random.default_rng(3)),
                                      lecun_normal(n, n, np.random.default_rng(3)))
    assert not np.array_equal(xavier_normal(300, 200, np.random.default_rng(3)),
                              lecun_normal(300, 200, np.random.default_rng(3)))


def test_forward_and_backward_variance_cannot_both_be_kept_unless_fans_are_equal():
    """σ² = 1/n_in keeps the forward variance, 1/n_out the backward one: with n_in ≠ n_out no σ²
    gives gain 1 in both directions; Xavier's 2/(n_in + n_out) gives gains whose product is
    4 n_in n_out/(n_in + n_out)² ≤ 1 (= 1 only when n_in = n_out)."""
    for n_in, n_out in ((400, 100), (256, 256), (784, 10)):
        var = 2 / (n_in + n_out)
        forward, backward = n_in * var, n_out * var
        assert forward * backward == pytest.approx(4 * n_in * n_out / (n_in + n_out) ** 2)
        assert (forward * backward == pytest.approx(1.0)) == (n_in == n_out)
        assert forward + backward == pytest.approx(2.0)      # the two gains average to 1


def test_uniform_bound_from_the_variance():
    """Var U(−a, a) = a²/3, so a = √(3σ²): √(6/(n_in + n_out)) for Xavier, √(6/n_in) for He."""
    rng = np.random.default_rng(7)
    a = 0.37
    assert rng.uniform(-a, a, 2_000_000).var() == pytest.approx(a * a / 3, rel=0.005)
    assert math.sqrt(3 * 2 / (300 + 200)) == pytest.approx(0.1095, abs=1e-4)
    assert math.sqrt(3 * 2 / 300) == pytest.approx(0.1414, abs=1e-4)


# ---------------------------------------------------------------- issue 13: gains, PyTorch's
# default, kaiming_uniform, orthogonal, convolution fans, Transformer and residual init

import numbers  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from snippets import normalization as NORM  # noqa: E402
from snippets.initialization import (  # noqa: E402
    calculate_gain, fan_in_and_fan_out, kaiming_uniform, orthogonal)


@pytest.mark.parametrize("name,param,gain", [
    ("linear", None, 1.0), ("conv1d", None, 1.0), ("conv2d", None, 1.0), ("conv3d", None, 1.0),
    ("conv_transpose1d", None, 1.0), ("conv_transpose2d", None, 1.0), ("conv_transpose3d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))), ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
    ("leaky_relu", 0, math.sqrt(2)), ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75),
])
def test_calculate_gain_is_pytorchs(name, param, gain):
    value = calculate_gain(name, param)
    assert isinstance(value, float) and value == pytest.approx(gain, rel=1e-15)


@pytest.mark.parametrize("name,param,match", [
    ("softmax", None, "^nonlinearity must be one of"), ("ReLU", None, "^nonlinearity must be one of"),
    (None, None, "^nonlinearity must be one of"), ("leaky_relu", "0.1", "^param"),
    ("leaky_relu", True, "^param"), ("leaky_relu", float("nan"), "^param"),
])
def test_calculate_gain_rejects_bad_input(name, param, match):
    with pytest.raises(ValueError, match=match):
        calculate_gain(name, param)


def test_relu_gain_is_the_root_of_the_halved_second_moment():
    z = np.random.default_rng(0).standard_normal(2_000_000)
    assert np.mean(np.maximum(z, 0) ** 2) * calculate_gain("relu") ** 2 == pytest.approx(1, rel=5e-3)


@pytest.mark.parametrize("a", [0.0, 0.01, 0.2, math.sqrt(5), -1.0])
def test_kaiming_uniform_bound_and_variance(a):
    W = kaiming_uniform(FAN_IN, FAN_OUT, np.random.default_rng(3), a=a)
    gain = calculate_gain("leaky_relu", a)
    bound = gain * math.sqrt(3 / FAN_IN)
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == np.float64
    assert np.abs(W).max() <= bound and np.abs(W).max() > bound * (1 - 1e-4)
    var = gain ** 2 / FAN_IN
    assert abs(W.var() - var) < Z * var * math.sqrt(0.8 / N)       # Var(u²)/Var(u)² = 4/5 for a uniform
    np.testing.assert_array_equal(W, kaiming_uniform(FAN_IN, FAN_OUT, np.random.default_rng(3), a=a))


def test_kaiming_uniform_with_a_zero_is_he_uniform():
    np.testing.assert_allclose(kaiming_uniform(FAN_IN, FAN_OUT, np.random.default_rng(1)),
                               he_uniform(FAN_IN, FAN_OUT, np.random.default_rng(1)), rtol=1e-15)


def test_pytorch_default_linear_init_is_uniform_one_over_root_fan_in_a_third_of_lecun():
    W = kaiming_uniform(FAN_IN, FAN_OUT, np.random.default_rng(4), a=math.sqrt(5))
    assert math.sqrt(2 / (1 + 5)) * math.sqrt(3 / FAN_IN) == pytest.approx(1 / math.sqrt(FAN_IN), rel=1e-15)
    assert np.abs(W).max() <= 1 / math.sqrt(FAN_IN)
    assert W.var() * 3 * FAN_IN == pytest.approx(1, rel=0.01)
    assert W.var() / (1 / FAN_IN) == pytest.approx(1 / 3, rel=0.01)           # LeCun: 1/n_in
    assert W.var() / (2 / FAN_IN) == pytest.approx(1 / 6, rel=0.01)           # He: 2/n_in


def test_pytorch_default_init_vanishes_in_a_deep_plain_net():
    """The page: without normalization or residuals, 10 tanh layers with the default shrink the
    activations to about 0.003 and ReLU ones to almost nothing."""
    default = lambda n_in, n_out, rng: kaiming_uniform(n_in, n_out, rng, a=math.sqrt(5))  # noqa: E731
    tanh = activation_stds(default, "tanh", np.random.default_rng(0))
    relu = activation_stds(default, "relu", np.random.default_rng(0))
    assert tanh[9] < 0.01 and relu[9] < 1e-3 and relu[-1] < 1e-10


def test_xavier_for_tanh_decays_and_the_tanh_gain_five_thirds_keeps_the_scale():
    """The correction on the page: tanh + Xavier decays 0.629 -> 0.097 over 50 layers; Xavier
    times calculate_gain("tanh") = 5/3 settles near 0.65."""
    xavier = activation_stds(xavier_normal, "tanh", np.random.default_rng(0))
    assert round(float(xavier[0]), 3) == 0.629 and round(float(xavier[-1]), 3) == 0.097
    gained = activation_stds(lambda a, b, r: calculate_gain("tanh") * xavier_normal(a, b, r), "tanh",
                             np.random.default_rng(0))
    assert np.all(np.abs(gained[10:] - 0.65) < 0.02)
    assert gained[-1] / gained[9] == pytest.approx(1, abs=0.03)


@pytest.mark.parametrize("fan_in,fan_out", [(5, 3), (3, 5), (4, 4), (1, 7), (7, 1)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_orthogonal_has_orthonormal_rows_or_columns(fan_in, fan_out, gain):
    W = orthogonal(fan_in, fan_out, np.random.default_rng(0), gain=gain)
    assert W.shape == (fan_in, fan_out)
    k = min(fan_in, fan_out)
    gram = W.T @ W if fan_in >= fan_out else W @ W.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(k), atol=1e-12)
    np.testing.assert_array_equal(W, orthogonal(fan_in, fan_out, np.random.default_rng(0), gain=gain))


def test_orthogonal_is_uniform_not_biased_by_the_qr_signs():
    """Without the sign fix QR returns R with a positive (or arbitrary) diagonal convention and
    the first column is biased; with it the diagonal of Q has mean 0 (Haar measure)."""
    diag = np.array([np.diag(orthogonal(6, 6, np.random.default_rng(s))) for s in range(400)])
    assert np.all(np.abs(diag.mean(axis=0)) < 0.1)


def test_orthogonal_keeps_the_norm_through_a_deep_linear_net():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 64))
    h_orth, h_gauss = x.copy(), x.copy()
    for _ in range(100):
        h_orth = h_orth @ orthogonal(64, 64, rng)
        h_gauss = h_gauss @ lecun_normal(64, 64, rng)
    np.testing.assert_allclose(np.linalg.norm(h_orth, axis=1), np.linalg.norm(x, axis=1), rtol=1e-10)
    spread = np.linalg.norm(h_gauss, axis=1) / np.linalg.norm(x, axis=1)
    assert spread.max() / spread.min() > 2             # random Gaussian: norms drift apart


@pytest.mark.parametrize("call,match", [
    (lambda: kaiming_uniform(0, 3, np.random.default_rng(0)), "^fan_in"),
    (lambda: kaiming_uniform(3, 3, np.random.default_rng(0), a=float("inf")), "^a must"),
    (lambda: kaiming_uniform(3, 3, 0), "^rng"),
    (lambda: orthogonal(3, 0, np.random.default_rng(0)), "^fan_out"),
    (lambda: orthogonal(3, 3, np.random.default_rng(0), gain="1"), "^gain"),
    (lambda: fan_in_and_fan_out((3,)), "^shape"),
    (lambda: fan_in_and_fan_out((3, 0, 2)), "^shape"),
    (lambda: fan_in_and_fan_out(np.ones(3)), "^shape"),
])
def test_new_initializers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_contract_defaults():
    import inspect
    assert inspect.signature(kaiming_uniform).parameters["a"].default == 0.0
    assert inspect.signature(orthogonal).parameters["gain"].default == 1.0
    assert inspect.signature(calculate_gain).parameters["param"].default is None


@pytest.mark.parametrize("shape,fans", [((64, 3, 3, 3), (27, 576)), ((10, 784), (784, 10)),
                                        ((8, 4, 5), (20, 40)), ((2, 3, 2, 2, 2), (24, 16))])
def test_fan_in_of_a_convolution_is_channels_times_kernel(shape, fans):
    assert fan_in_and_fan_out(shape) == fans
    assert all(isinstance(v, numbers.Integral) for v in fan_in_and_fan_out(shape))


def test_he_with_the_conv_fan_in_keeps_a_conv_outputs_variance():
    """A 3×3 convolution over C channels is a matrix product with C·9 inputs per output."""
    rng = np.random.default_rng(0)
    c, f, k = 16, 32, 3
    fan_in, _ = fan_in_and_fan_out((f, c, k, k))
    w = he_normal(fan_in, f, rng)                          # (C·k·k, F): im2col layout
    patches = rng.standard_normal((20000, fan_in))         # unit-variance inputs
    z = patches @ w
    assert z.var() == pytest.approx(2.0, rel=0.05)         # He: 2 · E[x²] = 2 for the next ReLU
    wrong = he_normal(c, f, rng)                           # fan_in = C forgets the kernel:
    z_wrong = patches @ np.vstack([wrong] * (k * k)) / 1   # same variance 2/C for all C·k·k rows
    assert z_wrong.var() == pytest.approx(2.0 * k * k, rel=0.05)   # 9 times too large


def test_gpt2_residual_scaling_keeps_the_stream_variance_bounded():
    """Each of 2L residual branches adds an independent output of variance σ²: the stream's
    variance is 1 + 2Lσ²; scaling the branch output weights by 1/√(2L) makes it 1 + σ²."""
    rng = np.random.default_rng(0)
    d, depth = 256, 24

    def stream_var(scale):
        x = rng.standard_normal((512, d))
        for _ in range(2 * depth):
            h = NORM.layernorm_forward(x, np.ones(d), np.zeros(d))[0]
            x = x + np.tanh(h @ (rng.standard_normal((d, d)) / math.sqrt(d))) @ \
                (rng.standard_normal((d, d)) / math.sqrt(d) * scale)
        return x.var()

    branch = np.tanh(rng.standard_normal((512, d))).var()               # ≈ 0.39
    plain, scaled = stream_var(1.0), stream_var(1 / math.sqrt(2 * depth))
    assert plain == pytest.approx(1 + 2 * depth * branch, rel=0.1)
    assert scaled == pytest.approx(1 + branch, rel=0.05)


def test_zero_gamma_makes_a_residual_block_start_as_the_identity():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 8))
    W = he_normal(8, 8, rng)
    bn_out, _, _, _ = NORM.batchnorm_forward(np.maximum(x @ W, 0) @ W, np.zeros(8), np.zeros(8),
                                             np.zeros(8), np.ones(8))
    np.testing.assert_array_equal(x + bn_out, x)


@given(st.integers(1, 40), st.integers(1, 40), st.floats(-1e3, 1e3))
def test_orthogonal_and_kaiming_are_finite_for_any_fans(fan_in, fan_out, a):
    W = orthogonal(fan_in, fan_out, np.random.default_rng(0))
    assert np.all(np.isfinite(W)) and np.all(np.abs(W) <= 1 + 1e-12)
    K = kaiming_uniform(fan_in, fan_out, np.random.default_rng(0), a=a)
    assert np.all(np.isfinite(K)) and np.abs(K).max() <= calculate_gain("leaky_relu", a) * math.sqrt(3 / fan_in)
