"""snippets.activations: derivatives by finite differences, stability on extreme inputs, the
claims made on the Activations page, and bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from snippets import activations as act
from snippets.gradcheck import numerical_gradient, rel_error

# (name, f, f_grad, kink): kink is where the function is not differentiable (avoid it in checks).
ELEMENTWISE = [
    ("sigmoid", act.sigmoid, act.sigmoid_grad, None),
    ("tanh", act.tanh, act.tanh_grad, None),
    ("relu", act.relu, act.relu_grad, 0.0),
    ("leaky_relu", act.leaky_relu, act.leaky_relu_grad, 0.0),
    ("leaky_relu(0.3)", lambda x: act.leaky_relu(x, 0.3), lambda x: act.leaky_relu_grad(x, 0.3), 0.0),
    ("elu", act.elu, act.elu_grad, None),
    ("elu(0.5)", lambda x: act.elu(x, 0.5), lambda x: act.elu_grad(x, 0.5), 0.0),
    ("selu", act.selu, act.selu_grad, 0.0),
    ("swish", act.swish, act.swish_grad, None),
    ("swish(2.5)", lambda x: act.swish(x, 2.5), lambda x: act.swish_grad(x, 2.5), None),
    ("softplus", act.softplus, act.softplus_grad, None),
    ("gelu", act.gelu, act.gelu_grad, None),
    ("gelu(tanh)", lambda x: act.gelu(x, "tanh"), lambda x: act.gelu_grad(x, "tanh"), None),
    ("binary_step", act.binary_step, act.binary_step_grad, 0.0),
    ("mish", act.mish, act.mish_grad, None),
    ("relu6", act.relu6, act.relu6_grad, (0.0, 6.0)),
    ("hard_sigmoid", act.hard_sigmoid, act.hard_sigmoid_grad, (-3.0, 3.0)),
    ("hard_swish", act.hard_swish, act.hard_swish_grad, (-3.0, 3.0)),
]
IDS = [name for name, *_ in ELEMENTWISE]


def away_from_kink(rng, kink, n=40, width=5.0):
    x = rng.uniform(-width, width, size=n)
    for k in (() if kink is None else np.atleast_1d(kink)):
        x = np.where(np.abs(x - k) < 1e-2, x + 0.1, x)
    return x


@pytest.mark.parametrize("name, f, f_grad, kink", ELEMENTWISE, ids=IDS)
def test_derivative_matches_centred_difference(name, f, f_grad, kink, rng):
    x = away_from_kink(rng, kink)
    w = rng.normal(size=x.shape)   # a random upstream gradient: checks every entry, not a sum
    numeric = numerical_gradient(lambda v: np.sum(f(v) * w), x)
    error = rel_error(f_grad(x) * w, numeric)
    assert error < 1e-7, f"{name}_grad: relative error {error:.2e} against centred differences"


def test_prelu_backward_matches_centred_difference(rng):
    x = away_from_kink(rng, 0.0, n=24).reshape(2, 3, 4)
    alpha = np.array([0.1, 0.2, 0.3])
    dout = rng.normal(size=x.shape)
    dx, dalpha = act.prelu_backward(dout, x, alpha)
    num_dx = numerical_gradient(lambda v: np.sum(act.prelu(v, alpha) * dout), x)
    num_da = numerical_gradient(lambda a: np.sum(act.prelu(x, a) * dout), alpha.copy())
    assert rel_error(dx, num_dx) < 1e-8, f"dx relative error {rel_error(dx, num_dx):.2e}"
    assert rel_error(dalpha, num_da) < 1e-8, f"dalpha relative error {rel_error(dalpha, num_da):.2e}"


def test_crelu_backward_matches_centred_difference(rng):
    x = away_from_kink(rng, 0.0, n=12).reshape(3, 4)
    dout = rng.normal(size=(3, 8))
    numeric = numerical_gradient(lambda v: np.sum(act.crelu(v) * dout), x)
    error = rel_error(act.crelu_backward(dout, x), numeric)
    assert error < 1e-8, f"crelu_backward: relative error {error:.2e}"


def test_maxout_backward_matches_centred_difference(rng):
    x, w, b = rng.normal(size=(5, 4)), rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 2))
    dout = rng.normal(size=(5, 2))
    dx, dw, db = act.maxout_backward(dout, x, w, b)
    for name, analytic, arg in [("dx", dx, x), ("dw", dw, w), ("db", db, b)]:
        def loss(v, name=name):
            args = {"x": x, "w": w, "b": b, name[1:]: v}
            return np.sum(act.maxout(args["x"], args["w"], args["b"]) * dout)
        error = rel_error(analytic, numerical_gradient(loss, arg.copy()))
        assert error < 1e-7, f"maxout_backward {name}: relative error {error:.2e}"


@pytest.mark.parametrize("f, jac", [(act.softmax, act.softmax_jacobian),
                                    (act.log_softmax, act.log_softmax_jacobian)],
                         ids=["softmax", "log_softmax"])
def test_softmax_jacobians_match_centred_difference(f, jac, rng):
    x = rng.normal(size=5)
    for i in range(5):
        numeric = numerical_gradient(lambda v: f(v)[i], x)
        error = rel_error(jac(x)[i], numeric)
        assert error < 1e-7, f"row {i}: relative error {error:.2e}"


# --- numerical stability: |x| up to 1e4, float32 and float64, finite and warning-free --------

def extreme_arrays(dtype):
    values = st.floats(-1e4, 1e4, allow_nan=False, width=32 if dtype == np.float32 else 64)
    return arrays(dtype, st.integers(1, 20), elements=values)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, f, f_grad, kink", ELEMENTWISE, ids=IDS)
@given(data=st.data())
def test_finite_and_warning_free_on_extreme_inputs(data, name, f, f_grad, kink, dtype):
    x = data.draw(extreme_arrays(dtype))
    x = np.concatenate([x, np.array([-1e4, 1e4, 0.0], dtype=dtype)])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for g in (f, f_grad):
            out = g(x)
            assert out.dtype == dtype, f"{name}: {dtype.__name__} in gave {out.dtype} out"
            assert np.all(np.isfinite(out)), f"{name}: non-finite output for {x[~np.isfinite(out)]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_softmax_finite_and_normalised_on_extreme_inputs(data, dtype):
    x = data.draw(extreme_arrays(dtype))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p, logp = act.softmax(x), act.log_softmax(x)
    assert p.dtype == dtype and logp.dtype == dtype
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp))
    assert abs(float(p.sum()) - 1) < (1e-5 if dtype == np.float32 else 1e-12)
    assert np.all(logp <= 0)


# --- the page's claims --------------------------------------------------------------------------

def test_stacked_linear_layers_collapse_to_one(rng):
    layers = [(rng.normal(size=(4, 5)), rng.normal(size=5)),
              (rng.normal(size=(5, 3)), rng.normal(size=3)),
              (rng.normal(size=(3, 2)), rng.normal(size=2))]
    x = rng.normal(size=(7, 4))
    h = x
    for W, b in layers:
        h = h @ W + b
    W, b = act.collapse_linear_layers(layers)
    assert W.shape == (4, 2)
    np.testing.assert_allclose(x @ W + b, h, rtol=1e-12, atol=1e-12)


def test_sigmoid_derivative_is_at_most_quarter_and_reaches_it_at_zero():
    x = np.linspace(-20, 20, 400_001)
    d = act.sigmoid_grad(x)
    assert d.max() == pytest.approx(0.25, abs=1e-15)
    assert x[d.argmax()] == pytest.approx(0.0, abs=1e-9)
    assert act.sigmoid_grad(np.array([0.0]))[0] == 0.25
    assert np.all(d > 0)


def test_sigmoid_derivative_at_ten_is_about_4_5e_minus_5():
    assert act.sigmoid_grad(np.array([10.0]))[0] == pytest.approx(4.5e-5, rel=0.01)


def test_exp_overflow_thresholds_quoted_on_the_page():
    with np.errstate(over="ignore"):
        assert np.isfinite(np.exp(709.0)) and np.isinf(np.exp(710.0))
        assert np.isfinite(np.exp(np.float32(88.0))) and np.isinf(np.exp(np.float32(89.0)))


def test_naive_softmax_fails_where_the_stable_one_does_not():
    def naive(x):
        e = np.exp(x)
        return e / e.sum()

    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(naive(np.array([710.0, 0.0]))).any()
        assert np.isnan(naive(np.array([89.0, 0.0], dtype=np.float32))).any()
        assert np.isfinite(naive(np.array([709.0, 0.0]))).all()


def test_tanh_is_a_rescaled_sigmoid(rng):
    x = rng.uniform(-10, 10, size=1000)
    np.testing.assert_allclose(act.tanh(x), 2 * act.sigmoid(2 * x) - 1, atol=1e-15)


def test_tanh_derivative_peaks_at_one_and_is_about_0_0099_at_three():
    assert act.tanh_grad(np.array([0.0]))[0] == 1.0
    assert np.all(act.tanh_grad(np.linspace(-10, 10, 10_001)) <= 1.0)
    assert act.tanh_grad(np.array([3.0]))[0] == pytest.approx(0.0099, abs=5e-5)


def test_sigmoid_symmetry(rng):
    x = rng.uniform(-30, 30, size=100)
    np.testing.assert_allclose(act.sigmoid(-x), 1 - act.sigmoid(x), atol=1e-15)


def test_relu_minus_mirrored_relu_is_identity(rng):
    x = rng.normal(size=1000) * 100
    np.testing.assert_array_equal(act.relu(x) - act.relu(-x), x)


def test_dead_relu_unit_gets_no_gradient_on_any_input(rng):
    x = rng.normal(size=(256, 3))
    w, b = np.array([0.5, -0.2, 0.1]), -50.0          # bias pushed far negative by a big update
    pre = x @ w + b
    assert np.all(act.relu(pre) == 0)
    assert np.all(act.relu_grad(pre) == 0)             # dL/dw = sum(dout * relu'(pre) * x) = 0


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.3, 0.99])
def test_leaky_relu_equals_max_form_only_for_alpha_at_most_one(alpha, rng):
    x = rng.normal(size=100)
    np.testing.assert_array_equal(act.leaky_relu(x, alpha), np.maximum(alpha * x, x))
    a = 2.0   # alpha > 1: max(a x, x) picks a*x for positive x, a different function
    assert not np.allclose(np.where(x >= 0, x, a * x), np.maximum(a * x, x))


def test_rrelu_slopes_uniform_in_training_and_mean_at_test():
    rng = np.random.default_rng(1)
    x = -np.ones(200_000)
    _, slope = act.rrelu(x, train=True, rng=rng)
    lower, upper = 1 / 8, 1 / 3
    assert slope.min() >= lower and slope.max() <= upper
    # uniform: mean (l+u)/2 and variance (u-l)^2/12, within 5 standard errors
    n = slope.size
    assert abs(slope.mean() - (lower + upper) / 2) < 5 * (upper - lower) / math.sqrt(12 * n)
    assert slope.var() == pytest.approx((upper - lower) ** 2 / 12, rel=0.02)
    # a Gaussian of that mean and variance would put ~8% of samples outside [l, u]; none are
    out, slope = act.rrelu(np.array([-2.0, 3.0]))
    assert slope.tolist() == [(lower + upper) / 2, 1.0]
    assert out.tolist() == [-2 * (lower + upper) / 2, 3.0]


def test_rrelu_training_positive_inputs_pass_unchanged(rng):
    x = rng.normal(size=1000)
    out, slope = act.rrelu(x, train=True, rng=rng)
    np.testing.assert_array_equal(out[x >= 0], x[x >= 0])
    np.testing.assert_array_equal(out, slope * x)


def test_elu_derivative_equals_output_plus_alpha_for_nonpositive_inputs(rng):
    x = -rng.uniform(0, 10, size=200)
    for alpha in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(act.elu_grad(x, alpha), act.elu(x, alpha) + alpha, atol=1e-15)


def test_elu_is_smooth_at_zero_only_for_alpha_one():
    left = lambda alpha: act.elu_grad(np.array([-1e-12]), alpha)[0]
    assert left(1.0) == pytest.approx(1.0) == act.elu_grad(np.array([1e-12]), 1.0)[0]
    assert left(0.5) == pytest.approx(0.5)


def test_selu_constants_and_fixed_point():
    assert round(act.SELU_ALPHA, 4) == 1.6733 and round(act.SELU_LAMBDA, 4) == 1.0507
    # E[SELU(z)] and E[SELU(z)^2] for z ~ N(0, 1) by quadrature on a fine grid
    z = np.linspace(-12, 12, 2_400_001)
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    dz = z[1] - z[0]
    mean = float(np.sum(act.selu(z) * density) * dz)
    second_moment = float(np.sum(act.selu(z) ** 2 * density) * dz)
    assert abs(mean) < 1e-6, mean
    assert abs(second_moment - 1) < 1e-6, second_moment


def test_selu_network_pulls_statistics_to_the_fixed_point():
    rng = np.random.default_rng(0)
    h = rng.normal(1.0, math.sqrt(3.0), size=(1024, 256))
    for _ in range(30):
        h = act.selu(h @ rng.normal(0, math.sqrt(1 / 256), size=(256, 256)))
    assert abs(h.mean()) < 0.05 and abs(h.var() - 1) < 0.1, (h.mean(), h.var())


def test_maxout_special_cases_relu_and_leaky_relu(rng):
    x = rng.normal(size=(50, 3))
    w1, b1 = rng.normal(size=(3, 1)), rng.normal(size=1)
    zero = (np.zeros((3, 1)), np.zeros(1))
    relu_like = act.maxout(x, np.stack([w1, zero[0]]), np.stack([b1, zero[1]]))
    np.testing.assert_allclose(relu_like, act.relu(x @ w1 + b1))
    alpha = 0.1
    leaky_like = act.maxout(x, np.stack([w1, alpha * w1]), np.stack([b1, alpha * b1]))
    np.testing.assert_allclose(leaky_like, act.leaky_relu(x @ w1 + b1, alpha))


def test_swish_minimum_value_and_location():
    x = np.linspace(-5, 0, 500_001)
    y = act.swish(x)
    assert y.min() == pytest.approx(-0.2785, abs=5e-5)
    assert x[y.argmin()] == pytest.approx(-1.2785, abs=5e-5)
    assert np.all(y > -0.2785 - 5e-5)       # bounded below
    assert not np.all(np.diff(y) >= 0)      # not monotonic


def test_swish_interpolates_between_half_identity_and_relu(rng):
    x = rng.normal(size=200) * 3
    np.testing.assert_allclose(act.swish(x, beta=0.0), x / 2)
    np.testing.assert_allclose(act.swish(x, beta=1e3), act.relu(x), atol=1e-3)


def test_softplus_derivative_is_sigmoid_and_softplus_difference_is_identity(rng):
    x = rng.normal(size=100) * 10
    np.testing.assert_array_equal(act.softplus_grad(x), act.sigmoid(x))
    np.testing.assert_allclose(act.softplus(x) - act.softplus(-x), x, atol=1e-12)


def test_gelu_tanh_approximation_is_close_to_exact():
    x = np.linspace(-6, 6, 10_001)
    assert np.max(np.abs(act.gelu(x) - act.gelu(x, "tanh"))) < 1e-3


def test_gelu_is_x_times_normal_cdf():
    for x in (-2.0, -0.5, 0.3, 1.7):
        cdf = 0.5 * (1 + math.erf(x / math.sqrt(2)))
        assert act.gelu(np.array([x]))[0] == pytest.approx(x * cdf, rel=1e-15)


def test_binary_step_has_no_gradient_anywhere(rng):
    x = rng.normal(size=100)
    assert np.all(act.binary_step_grad(x) == 0)
    np.testing.assert_array_equal(act.binary_step(np.array([-1e-300, 0.0])), [0.0, 1.0])


def test_softmax_of_large_logits_equals_softmax_of_shifted_logits():
    np.testing.assert_allclose(act.softmax(np.array([1000.0, 1001.0, 1002.0])),
                               act.softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-15)


def test_softmax_is_shift_invariant_and_normalised_along_axis(rng):
    x = rng.normal(size=(4, 6)) * 5
    np.testing.assert_allclose(act.softmax(x + 123.0, axis=1), act.softmax(x, axis=1), rtol=1e-12)
    np.testing.assert_allclose(act.softmax(x, axis=0).sum(axis=0), np.ones(6))


def test_two_class_softmax_is_the_sigmoid(rng):
    x = rng.normal(size=50) * 5
    pairs = np.stack([x, np.zeros_like(x)], axis=1)
    np.testing.assert_allclose(act.softmax(pairs, axis=1)[:, 0], act.sigmoid(x), rtol=1e-12)


def test_log_softmax_stays_finite_where_log_of_softmax_does_not():
    x = np.array([0.0, 1000.0])
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(act.softmax(x))[0])
    assert act.log_softmax(x).tolist() == [-1000.0, 0.0]


def test_softmax_cross_entropy_gradient_is_p_minus_onehot(rng):
    x, y = rng.normal(size=5), 2
    grad = -act.log_softmax_jacobian(x)[y]          # d(-log p_y)/dx
    np.testing.assert_allclose(grad, act.softmax(x) - np.eye(5)[y], atol=1e-15)


def test_functions_never_modify_their_input(rng):
    x = rng.normal(size=20)
    before = x.copy()
    for _, f, f_grad, _ in ELEMENTWISE:
        f(x), f_grad(x)
    act.softmax(x), act.log_softmax(x), act.crelu(x), act.rrelu(x, train=True, rng=rng)
    np.testing.assert_array_equal(x, before)


def test_integer_input_gives_float64():
    assert act.relu(np.array([-1, 2])).dtype == np.float64
    assert act.sigmoid([0, 1]).dtype == np.float64


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([1 + 2j]), [[1.0], [1.0, 2.0]],
                                 np.array([None, 1.0], dtype=object)])
@pytest.mark.parametrize("name, f, f_grad, kink", ELEMENTWISE, ids=IDS)
def test_non_numeric_input_raises_naming_x(bad, name, f, f_grad, kink):
    with pytest.raises(ValueError, match="^x "):
        f(bad)
    with pytest.raises(ValueError, match="^x "):
        f_grad(bad)


@pytest.mark.parametrize("call, argument", [
    (lambda: act.softmax(np.zeros((3, 0))), "x has an empty axis"),
    (lambda: act.softmax(np.float64(1.0)), "x must have at least one dimension"),
    (lambda: act.softmax(np.zeros((2, 3)), axis=2), "axis=2 is out of range"),
    (lambda: act.log_softmax(np.zeros(3), axis=1.5), "axis must be an integer"),
    (lambda: act.softmax_jacobian(np.zeros((2, 2))), "x must be 1-D"),
    (lambda: act.leaky_relu(np.zeros(2), alpha=1.5), "alpha must be"),
    (lambda: act.leaky_relu(np.zeros(2), alpha=-0.1), "alpha must be"),
    (lambda: act.elu(np.zeros(2), alpha=float("nan")), "alpha must be"),
    (lambda: act.swish(np.zeros(2), beta="1"), "beta must be a real number"),
    (lambda: act.gelu(np.zeros(2), approximate="fast"), "approximate must be"),
    (lambda: act.rrelu(np.zeros(2), train=True), "rng must be a numpy.random.Generator"),
    (lambda: act.rrelu(np.zeros(2), lower=0.5, upper=0.2), "upper must be"),
    (lambda: act.prelu(np.zeros((2, 3)), np.ones(2)), "alpha must be a scalar or have shape"),
    (lambda: act.prelu_backward(np.zeros((2, 2)), np.zeros((2, 3)), 0.1), "dout must have"),
    (lambda: act.crelu(np.float64(1.0)), "x must have at least one dimension"),
    (lambda: act.crelu_backward(np.zeros((2, 3)), np.zeros((2, 3))), "dout must have shape"),
    (lambda: act.maxout(np.zeros((2, 3)), np.zeros((2, 4, 1)), np.zeros((2, 1))), "w must have shape"),
    (lambda: act.maxout(np.zeros((2, 3)), np.zeros((2, 3, 1)), np.zeros((3, 1))), "b must have shape"),
    (lambda: act.maxout(np.zeros(3), np.zeros((2, 3, 1)), np.zeros((2, 1))), "x must be 2-D"),
    (lambda: act.maxout_backward(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 3, 1)),
                                 np.zeros((2, 1))), "dout must have shape"),
    (lambda: act.collapse_linear_layers([]), "layers must be a non-empty list"),
    (lambda: act.collapse_linear_layers(None), "layers must be a non-empty list"),
    (lambda: act.collapse_linear_layers([(np.eye(2),)]), r"layers\[0\] must be a \(W, b\) pair"),
    (lambda: act.crelu_backward(np.ones(2), np.float64(1.0)), "x must have at least one dimension"),
    (lambda: act.gelu(np.zeros(2), approximate=np.array(["none"] * 2)), "approximate must be"),
    (lambda: act.rrelu(np.zeros(2), train="False"), "train must be True or False"),
    (lambda: act.maxout(np.zeros((2, 3)), np.zeros((0, 3, 4)), np.zeros((0, 4))), "k >= 1"),
    (lambda: act.collapse_linear_layers([(np.zeros((2, 3)), np.zeros(3)),
                                         (np.zeros((4, 1)), np.zeros(1))]), r"layers\[1\]\[0\]"),
    (lambda: act.collapse_linear_layers([(np.zeros((2, 3)), np.zeros(2))]), r"layers\[0\]\[1\]"),
])
def test_bad_arguments_raise_value_error_naming_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


@pytest.mark.parametrize("name, f, f_grad, kink", ELEMENTWISE, ids=IDS)
def test_a_single_number_works_like_a_one_element_array(name, f, f_grad, kink):
    for value in (1.5, np.float64(-0.5), np.float32(2.0)):
        assert np.asarray(f(value)).shape == () and np.asarray(f_grad(value)).shape == ()
        assert float(f(value)) == float(f(np.array([value]))[0])
        assert float(f_grad(value)) == float(f_grad(np.array([value]))[0])


def test_derivatives_at_the_kink_take_the_left_value_like_pytorch():
    """At x = 0 PyTorch's backward uses the x ≤ 0 branch for ELU, SELU, Leaky ReLU and PReLU
    (and 0 for ReLU); the gradient checks above stay away from kinks, so this pins the value."""
    assert act.relu_grad(np.array([0.0])).tolist() == [0.0]
    assert act.leaky_relu_grad(np.array([0.0]), 0.1).tolist() == [0.1]
    assert act.elu_grad(np.array([0.0]), alpha=2.0).tolist() == [2.0]
    assert act.selu_grad(np.array([0.0]))[0] == pytest.approx(act.SELU_LAMBDA * act.SELU_ALPHA)
    dx, _ = act.prelu_backward(np.ones((1, 2)), np.zeros((1, 2)), np.array([0.25, 0.5]))
    assert dx.tolist() == [[0.25, 0.5]]


def test_maxout_gives_a_tie_to_the_first_piece():
    """Like max pooling (and torch.max): when two pieces are equal, the first one is the max and
    gets the whole gradient."""
    x, w, b = np.array([[1.0]]), np.array([[[1.0]], [[1.0]]]), np.zeros((2, 1))
    _, dw, db = act.maxout_backward(np.ones((1, 1)), x, w, b)
    assert dw.ravel().tolist() == [1.0, 0.0] and db.ravel().tolist() == [1.0, 0.0]


# --- issue 13: Mish, ReLU6, hard sigmoid / swish, the gated units, softmax temperature ----------

NEW_ELEMENTWISE = [e for e in ELEMENTWISE if e[0] in ("mish", "relu6", "hard_sigmoid", "hard_swish")]
GATED = [("glu", act.glu, act.glu_grad, act.glu_backward),
         ("swiglu", act.swiglu, act.swiglu_grad, act.swiglu_backward),
         ("geglu", act.geglu, act.geglu_grad, act.geglu_backward)]
GATED_IDS = [g[0] for g in GATED]


@pytest.mark.parametrize("name, f, f_grad, kink", NEW_ELEMENTWISE, ids=[e[0] for e in NEW_ELEMENTWISE])
def test_new_derivatives_match_centred_difference_on_a_wider_range(name, f, f_grad, kink):
    """[-8, 8] covers both kinks of ReLU6 (0 and 6) and the flat parts beyond ±3."""
    x = away_from_kink(np.random.default_rng(3), kink, n=200, width=8.0)
    w = np.random.default_rng(4).normal(size=x.shape)
    numeric = numerical_gradient(lambda v: np.sum(f(v) * w), x)
    error = rel_error(f_grad(x) * w, numeric)
    assert error < 1e-7, f"{name}_grad: relative error {error:.2e} against centred differences"


def test_new_derivatives_at_the_kinks_take_pytorchs_values():
    """PyTorch 2.13: relu6 = hardtanh(x, 0, 6), whose backward passes only 0 < x < 6; hardsigmoid's
    passes only -3 < x < 3; hardswish's backward is 0 for x <= -3 and 1 for x >= 3."""
    assert act.relu6_grad(np.array([0.0, 6.0, 1e-300, 6 - 1e-12])).tolist() == [0.0, 0.0, 1.0, 1.0]
    assert act.hard_sigmoid_grad(np.array([-3.0, 3.0, 0.0])).tolist() == [0.0, 0.0, 1 / 6]
    assert act.hard_swish_grad(np.array([-3.0, 3.0])).tolist() == [0.0, 1.0]
    # just inside the kinks the middle piece x/3 + 1/2 gives about -1/2 and 3/2
    inside = act.hard_swish_grad(np.array([-3 + 1e-9, 3 - 1e-9]))
    np.testing.assert_allclose(inside, [-0.5, 1.5], atol=1e-8)


@pytest.mark.parametrize("name, f, f_grad, backward", GATED, ids=GATED_IDS)
@pytest.mark.parametrize("shape, axis", [((6,), -1), ((3, 8), -1), ((4, 6, 5), 1), ((4, 3, 2), 0)])
def test_gated_backward_matches_centred_difference(name, f, f_grad, backward, shape, axis):
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape) * 2
    dout = rng.normal(size=f(x, axis=axis).shape)
    numeric = numerical_gradient(lambda v: np.sum(f(v, axis=axis) * dout), x)
    error = rel_error(backward(dout, x, axis=axis), numeric)
    assert error < 1e-7, f"{name}_backward (axis={axis}): relative error {error:.2e}"
    numeric_sum = numerical_gradient(lambda v: np.sum(f(v, axis=axis)), x)
    error = rel_error(f_grad(x, axis=axis), numeric_sum)
    assert error < 1e-7, f"{name}_grad (axis={axis}): relative error {error:.2e}"


@pytest.mark.parametrize("name, f, f_grad, backward", GATED, ids=GATED_IDS)
def test_gated_units_split_into_first_half_a_and_second_half_b(name, f, f_grad, backward, rng):
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    expected = {"glu": a * act.sigmoid(b), "swiglu": act.swish(a) * b, "geglu": act.gelu(a) * b}[name]
    np.testing.assert_allclose(f(np.concatenate([a, b], axis=1)), expected, rtol=1e-14)
    np.testing.assert_allclose(f(np.concatenate([a, b], axis=0), axis=0), expected, rtol=1e-14)
    assert f(np.zeros((2, 10))).shape == (2, 5)


def test_glu_gate_opens_and_closes_and_swiglu_is_not_symmetric_in_its_halves(rng):
    a = rng.normal(size=5)
    np.testing.assert_allclose(act.glu(np.concatenate([a, np.full(5, 40.0)])), a, rtol=1e-15)
    np.testing.assert_allclose(act.glu(np.concatenate([a, np.full(5, -40.0)])), 0, atol=1e-16)
    b = rng.normal(size=5)
    assert not np.allclose(act.swiglu(np.concatenate([a, b])), act.swiglu(np.concatenate([b, a])))


@pytest.mark.parametrize("d", [64, 768, 4096])
def test_swiglu_hidden_width_of_8d_over_3_keeps_the_ffn_parameter_count(d):
    relu_ffn = 2 * d * (4 * d)                   # W1 (d, 4d) and W2 (4d, d)
    swiglu_ffn = 3 * d * (8 * d / 3)             # W1, W3 (d, h) and W2 (h, d) with h = 8d/3
    assert swiglu_ffn == pytest.approx(relu_ffn)


def test_mish_minimum_shape_and_limits():
    x = np.linspace(-5, 0, 500_001)
    y = act.mish(x)
    assert y.min() == pytest.approx(-0.3088, abs=5e-5)
    assert x[y.argmin()] == pytest.approx(-1.1924, abs=5e-5)
    assert not np.all(np.diff(y) >= 0)
    big = np.array([20.0, 50.0])
    np.testing.assert_allclose(act.mish(big), big, rtol=1e-12)
    assert abs(act.mish(np.array([-50.0]))[0]) < 1e-18


def test_hard_units_are_built_from_relu6_and_approximate_sigmoid_and_swish():
    x = np.linspace(-20, 20, 400_001)
    np.testing.assert_array_equal(act.hard_sigmoid(x), act.relu6(x + 3) / 6)
    np.testing.assert_array_equal(act.hard_swish(x), x * act.hard_sigmoid(x))
    gap = np.abs(act.hard_swish(x) - act.swish(x))
    assert gap.max() < 0.15 and round(float(gap.max()), 3) == 0.142
    assert x[gap.argmax()] == pytest.approx(-3.0, abs=1e-3)
    y = act.hard_swish(x)
    assert y.min() == -0.375 and x[y.argmin()] == pytest.approx(-1.5)
    np.testing.assert_array_equal(act.relu6(np.array([-1.0, 3.0, 6.0, 7.0])), [0.0, 3.0, 6.0, 6.0])


def test_relu_keeps_half_the_second_moment_so_he_uses_two_over_n():
    z = np.linspace(-12, 12, 2_400_001)
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    dz = z[1] - z[0]
    assert float(np.sum(act.relu(z) ** 2 * density) * dz) == pytest.approx(0.5, abs=1e-9)
    rng = np.random.default_rng(0)
    n, h = 512, rng.normal(size=(2000, 512))
    for _ in range(20):                           # He-normal weights keep the scale through depth
        h = act.relu(h @ rng.normal(0, math.sqrt(2 / n), size=(n, n)))
    assert 0.5 < np.mean(h ** 2) < 2.0


@pytest.mark.parametrize("t", [0.1, 0.5, 2.0, 10.0])
def test_softmax_temperature_is_softmax_of_scaled_logits_and_keeps_the_argmax(t, rng):
    x = rng.normal(size=(6, 5)) * 3
    np.testing.assert_allclose(act.softmax(x, temperature=t), act.softmax(x / t), rtol=1e-12)
    np.testing.assert_array_equal(act.softmax(x, temperature=t).argmax(axis=1), x.argmax(axis=1))
    np.testing.assert_array_equal(act.softmax(x, temperature=1.0), act.softmax(x))


def test_softmax_temperature_limits_and_worked_values():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(act.softmax(x, temperature=1e6), np.full(3, 1 / 3), atol=1e-6)
    np.testing.assert_allclose(act.softmax(x, temperature=1e-3), [0.0, 0.0, 1.0], atol=1e-300)
    entropies = [-(p * np.log(p)).sum() for p in (act.softmax(x, temperature=t) for t in (0.5, 1, 2, 5))]
    assert np.all(np.diff(entropies) > 0)            # higher temperature, flatter distribution
    assert act.softmax(x, temperature=0.5).round(4).tolist() == [0.0159, 0.1173, 0.8668]
    assert act.softmax(x, temperature=5.0).round(4).tolist() == [0.2693, 0.3289, 0.4018]


def test_softmax_temperature_jacobian_carries_a_factor_one_over_t(rng):
    x, t = rng.normal(size=5), 0.3
    p = act.softmax(x, temperature=t)
    jac = np.stack([numerical_gradient(lambda v: act.softmax(v, temperature=t)[i], x.copy())
                    for i in range(5)])
    error = rel_error(jac, (np.diag(p) - np.outer(p, p)) / t)
    assert error < 1e-7, f"relative error {error:.2e}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [1e-3, 0.07, 50.0])
@given(data=st.data())
def test_softmax_with_temperature_finite_on_extreme_inputs(data, t, dtype):
    x = data.draw(extreme_arrays(dtype))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = act.softmax(x, temperature=t)
    assert p.dtype == dtype and np.all(np.isfinite(p))
    assert abs(float(p.sum()) - 1) < (1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, f, f_grad, backward", GATED, ids=GATED_IDS)
@given(data=st.data())
def test_gated_units_finite_and_warning_free_on_extreme_inputs(data, name, f, f_grad, backward, dtype):
    half = data.draw(extreme_arrays(dtype))
    x = np.concatenate([half, half[::-1]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        for out in (f(x), f_grad(x)):
            assert out.dtype == dtype and np.all(np.isfinite(out)), f"{name}: {out}"


def test_multi_label_sigmoids_are_independent_softmax_classes_compete(rng):
    logits = rng.normal(size=(1000, 4)) * 3
    p_soft = act.softmax(logits)
    p_sig = act.sigmoid(logits)
    np.testing.assert_allclose(p_soft.sum(axis=1), 1)
    assert np.all((p_soft > 0.5).sum(axis=1) <= 1)
    assert np.any((p_sig > 0.5).sum(axis=1) >= 2)          # several labels on at once
    assert not np.allclose(p_sig.sum(axis=1), 1)
    assert np.all(act.softplus(np.linspace(-700, 700, 10_001)) > 0)   # a positive output


def _comparison_table(lang):
    from tools import pages as P
    text = P.read(P.pages(lang)["activations.md"])
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    table = {}
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        table[cells[0].strip("`")] = cells[1:]
    return table


def _interval(cell):
    tex = cell.strip("$").replace(r"\infty", "inf").replace(" ", "")
    lo, hi = tex[1:-1].split(",")
    return tex[0], float(lo), float(hi), tex[-1]


WORDS = {"yes": "yes", "no": "no", "partly": "partly", "both sides": "both", "left": "left",
         "是": "yes", "否": "no", "部分": "partly", "两侧": "both", "左侧": "left"}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_comparison_table_claims_hold_for_the_code(lang):
    table = _comparison_table(lang)
    assert len(table) == 13, sorted(table)
    x = np.unique(np.concatenate([np.linspace(-60, 60, 1_200_001), [-3.0, 0.0, 3.0, 6.0]]))
    for name, (rng_cell, centred, saturates, monotone, *_) in table.items():
        f, df = getattr(act, name), getattr(act, name + "_grad")
        y = f(x)
        left, lo, hi, right = _interval(rng_cell)
        tol = 5e-5                                   # minima are rounded to four digits
        if left == "[":
            assert abs(y.min() - lo) < tol, f"{name}: min {y.min()} vs {lo}"
        elif np.isfinite(lo):
            assert np.all(y > lo - tol) and abs(y.min() - lo) < tol, f"{name}: inf {y.min()} vs {lo}"
        else:
            assert f(np.array([-1e8]))[0] < -1e5, f"{name}: should be unbounded below"
        if right == "]":
            assert y.max() == hi, f"{name}: max {y.max()} vs {hi}"
        elif np.isfinite(hi):
            assert np.all(y <= hi) and hi - y.max() < 1e-6, f"{name}: sup {y.max()} vs {hi}"
        else:
            assert f(np.array([1e8]))[0] > 1e5, f"{name}: should be unbounded above"
        odd = np.allclose(f(-x), -y, atol=1e-12)
        kind = WORDS[centred]
        assert {"yes": odd, "no": y.min() >= 0, "partly": (not odd) and y.min() < 0}[kind], \
            f"{name}: zero-centred is {centred!r}"
        g_left, g_right = np.abs(df(np.array([-60.0, 60.0])))
        kind = WORDS[saturates]
        expected = {"both": g_left < 1e-6 and g_right < 1e-6,
                    "left": g_left < 1e-6 and g_right > 0.5,
                    "no": g_left > 1e-3 and g_right > 1e-3}[kind]
        assert expected, f"{name}: saturates is {saturates!r} (|f'(-60)| = {g_left}, |f'(60)| = {g_right})"
        is_monotone = bool(np.all(np.diff(y) >= 0))
        assert is_monotone == (WORDS[monotone] == "yes"), f"{name}: monotone is {monotone!r}"


def test_comparison_tables_agree_between_the_languages():
    en, zh = _comparison_table("en"), _comparison_table("zh")
    assert list(en) == list(zh)
    for name in en:
        assert en[name][0] == zh[name][0], name                       # the same range
        assert [WORDS[c] for c in en[name][1:4]] == [WORDS[c] for c in zh[name][1:4]], name


@pytest.mark.parametrize("call, argument", [
    (lambda: act.glu(np.zeros((2, 3))), "x must have an even size along axis 1"),
    (lambda: act.swiglu(np.zeros((3, 2)), axis=0), "x must have an even size along axis 0"),
    (lambda: act.geglu(np.float64(1.0)), "x must have at least one dimension"),
    (lambda: act.glu(np.zeros(4), axis=1), "axis=1 is out of range"),
    (lambda: act.glu_backward(np.zeros(3), np.zeros(4)), "dout must have the shape"),
    (lambda: act.swiglu_grad(np.array(["a", "b"])), "x must be"),
    (lambda: act.softmax(np.zeros(3), temperature=0.0), "temperature must be"),
    (lambda: act.softmax(np.zeros(3), temperature=-1.0), "temperature must be"),
    (lambda: act.softmax(np.zeros(3), temperature=float("nan")), "temperature must be"),
    (lambda: act.softmax(np.zeros(3), temperature="2"), "temperature must be a real number"),
])
def test_new_bad_arguments_raise_value_error_naming_them(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_new_functions_never_modify_their_input(rng):
    x = rng.normal(size=(4, 6))
    before = x.copy()
    for _, f, f_grad, backward in GATED:
        f(x), f_grad(x), backward(np.ones((4, 3)), x)
    act.softmax(x, temperature=0.5)
    np.testing.assert_array_equal(x, before)
