"""Vanishing / exploding gradients: chain products, deep-network gradient norms (sigmoid vs ReLU
vs residual), residual Jacobians, clipping, and float16 limits with loss scaling."""

import math

import numpy as np
import pytest

from snippets.activations import sigmoid_grad
from snippets.autograd import Value
from snippets.gradcheck import numerical_gradient, rel_error
from snippets.gradients import (BF16_MAX, BF16_SMALLEST_NORMAL, FP16_MAX, FP16_SMALLEST_NORMAL,
                                FP16_SMALLEST_SUBNORMAL, gru_cell, ln_residual_stack, lstm_cell,
                                rnn_jacobian_norms, to_bfloat16, update_to_weight_ratio,
                                chain_gradients, deep_mlp_grads, fp16_gradient,
                                layer_gradient_norms, sigmoid_chain)
from snippets.optimizers import clip_grad_norm


# ---------------------------------------------------------------- products of local gradients

def test_linear_chain_1_5_to_the_50_versus_0_5_to_the_50():
    explode = chain_gradients([1.5] * 50)[0]
    vanish = chain_gradients([0.5] * 50)[0]
    assert explode == pytest.approx(1.5 ** 50, rel=1e-12)
    assert vanish == pytest.approx(0.5 ** 50, rel=1e-12)
    assert explode > 6e8 and vanish < 1e-15
    assert explode / vanish == pytest.approx(3.0 ** 50, rel=1e-12)


def test_chain_gradients_are_suffix_products():
    d = np.array([2.0, 0.5, 3.0, -1.0])
    np.testing.assert_allclose(chain_gradients(d), [-3.0, -1.5, -3.0, -1.0], rtol=1e-15)


def test_chain_gradients_match_the_autograd_engine():
    x = Value(0.3)
    y, factors = x, [1.5, 0.5, 1.2, -0.7, 2.0]
    for w in factors:
        y = y * w
    y.backward()
    assert x.grad == pytest.approx(chain_gradients(factors)[0], rel=1e-14)


def test_sigmoid_derivative_is_at_most_a_quarter():
    z = np.linspace(-20, 20, 40001)
    assert sigmoid_grad(z).max() == 0.25 == sigmoid_grad(np.array([0.0]))[0]


@pytest.mark.parametrize("depth", [1, 5, 10, 20])
def test_sigmoid_chain_gradient_is_bounded_by_a_quarter_to_the_depth(rng, depth):
    for x in rng.uniform(-3, 3, size=10):
        _, grad = sigmoid_chain(x, depth)
        assert 0 < grad <= 0.25 ** depth


@pytest.mark.parametrize("x, depth, w", [(0.3, 3, 1.0), (-1.2, 6, 2.5), (2.0, 5, -0.8)])
def test_sigmoid_chain_gradient_matches_autograd_and_finite_differences(x, depth, w):
    out, grad = sigmoid_chain(x, depth, w)
    v = Value(x)
    a = v
    for _ in range(depth):
        a = (a * w).sigmoid()
    a.backward()
    assert out == pytest.approx(a.data, rel=1e-14)
    assert grad == pytest.approx(v.grad, rel=1e-12)
    numeric = numerical_gradient(lambda p: sigmoid_chain(float(p[0]), depth, w)[0], np.array([x]))
    err = rel_error(np.array([grad]), numeric)
    assert err < 1e-6, f"rel error {err:.2e}"
    assert abs(grad) <= (abs(w) / 4) ** depth


# ---------------------------------------------------------------- deep networks

@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("residual", [False, True])
def test_deep_mlp_grads_match_finite_differences(rng, activation, residual):
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    weights = [rng.standard_normal((3, 3)) * 0.8 for _ in range(4)]
    loss, grads = deep_mlp_grads(x, weights, g, activation, residual, branch_scale=0.7)
    for l, (W, dW) in enumerate(zip(weights, grads)):
        numeric = numerical_gradient(
            lambda M: deep_mlp_grads(x, weights[:l] + [M] + weights[l + 1:], g, activation,
                                     residual, 0.7)[0], W.copy())
        err = rel_error(dW, numeric)
        assert err < 1e-7, f"{activation} residual={residual} layer {l + 1}: rel error {err:.2e}"


def test_sigmoid_network_gradients_vanish_towards_the_input():
    n = layer_gradient_norms(depth=20, width=64, activation="sigmoid", rng=np.random.default_rng(0))
    assert n.shape == (20,)
    assert n[0] / n[-1] < 1e-9
    per_layer = np.exp(np.mean(np.log(n[:-1] / n[1:])))   # geometric-mean shrink per layer
    assert 0.15 < per_layer < 0.3                          # about σ'(0) = 1/4 per layer
    assert np.all(np.diff(n[5:]) > 0)                      # steadily smaller towards layer 1


def test_relu_with_he_init_keeps_gradient_norms_of_the_same_order():
    n = layer_gradient_norms(depth=20, width=64, activation="relu", rng=np.random.default_rng(0))
    assert 0.2 < n[0] / n[-1] < 5
    assert n.min() / n.max() > 0.1


def test_residual_connections_keep_the_gradient_of_a_sigmoid_network():
    plain = layer_gradient_norms(depth=20, width=64, activation="sigmoid", rng=np.random.default_rng(0))
    res = layer_gradient_norms(depth=20, width=64, activation="sigmoid", residual=True, rng=np.random.default_rng(0))
    assert res[0] / res[-1] > 0.1
    assert (res[0] / res[-1]) / (plain[0] / plain[-1]) > 1e9


def test_residual_relu_branches_need_scaling_without_normalization():
    wild = layer_gradient_norms(depth=20, activation="relu", residual=True, rng=np.random.default_rng(0))
    tame = layer_gradient_norms(depth=20, activation="relu", residual=True,
                                branch_scale=1 / math.sqrt(20), rng=np.random.default_rng(0))
    assert wild.max() > 1e3 * tame.max()
    assert tame.min() / tame.max() > 0.1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vanishing_comparison_holds_for_other_seeds(seed):
    ratio = {name: (n := layer_gradient_norms(depth=15, activation=act, residual=res,
                                             rng=np.random.default_rng(seed)))[0] / n[-1]
             for name, act, res in [("sigmoid", "sigmoid", False), ("relu", "relu", False),
                                    ("residual", "sigmoid", True)]}
    assert ratio["sigmoid"] < 1e-6 < 0.1 < min(ratio["relu"], ratio["residual"])


def test_layer_gradient_norms_is_deterministic_in_the_seed():
    a = layer_gradient_norms(depth=5, width=8, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, layer_gradient_norms(depth=5, width=8, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, layer_gradient_norms(depth=5, width=8, rng=np.random.default_rng(8)))


def test_residual_block_jacobian_is_identity_plus_branch_jacobian(rng):
    W = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)

    def branch(v):
        return np.tanh(v @ W)

    def block(v):
        return v + branch(v)

    def jacobian(fn, v):
        return np.stack([numerical_gradient(lambda u: fn(u)[i], v.copy()) for i in range(3)])

    np.testing.assert_allclose(jacobian(block, x), np.eye(3) + jacobian(branch, x), atol=1e-9)
    analytic = np.eye(3) + (W * (1 - np.tanh(x @ W) ** 2)).T
    np.testing.assert_allclose(jacobian(block, x), analytic, atol=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="elu"), "activation"),
    (dict(depth=0), "depth"),
    (dict(depth=2.0), "depth"),
    (dict(width=0), "width"),
    (dict(batch=True), "batch"),
    (dict(rng=0), "rng must be a numpy.random.Generator"),
])
def test_layer_gradient_norms_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layer_gradient_norms(**kwargs)


def test_deep_mlp_grads_bad_input():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"weights\[1\]"):
        deep_mlp_grads(x, [np.eye(3), np.ones((3, 2))], x)
    with pytest.raises(ValueError, match="g"):
        deep_mlp_grads(x, [np.eye(3)], np.ones((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        deep_mlp_grads(x, [], x)
    with pytest.raises(ValueError, match="weights must be a non-empty list"):
        deep_mlp_grads(x, None, x)
    with pytest.raises(ValueError, match="x must hold at least one example"):
        deep_mlp_grads(np.ones((0, 3)), [np.eye(3)], np.ones((0, 3)))
    with pytest.raises(ValueError, match="residual must be True or False"):
        deep_mlp_grads(x, [np.eye(3)], x, residual="no")
    with pytest.raises(ValueError, match="activation must be one of"):
        deep_mlp_grads(x, [np.eye(3)], x, activation=["relu"])


def test_sigmoid_chain_bad_input():
    with pytest.raises(ValueError, match="depth"):
        sigmoid_chain(0.0, 0)
    with pytest.raises(ValueError, match="x"):
        sigmoid_chain(float("nan"), 3)


# ---------------------------------------------------------------- clipping

def test_clip_grad_norm_caps_the_global_norm_and_keeps_the_direction(rng):
    grads = [rng.standard_normal((3, 4)) * 10, rng.standard_normal(5) * 10]
    clipped, total = clip_grad_norm(grads, max_norm=2.0)
    assert total == pytest.approx(np.sqrt(sum(np.sum(g ** 2) for g in grads)), rel=1e-14)
    new_total = np.sqrt(sum(np.sum(c ** 2) for c in clipped))
    assert new_total == pytest.approx(2.0, rel=1e-5)
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(c, g * (new_total / total), rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = [np.array([0.3, 0.4])]
    clipped, total = clip_grad_norm(grads, max_norm=1.0)
    assert total == pytest.approx(0.5)
    np.testing.assert_array_equal(clipped[0], grads[0])


def test_clip_grad_norm_bad_input():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm([np.ones(2)], 0.0)


# ---------------------------------------------------------------- float16

def test_float16_limits():
    info = np.finfo(np.float16)
    assert FP16_MAX == float(info.max) == 65504.0 == (2 - 2 ** -10) * 2 ** 15
    assert FP16_SMALLEST_NORMAL == float(info.smallest_normal) == 2 ** -14
    assert FP16_SMALLEST_SUBNORMAL == float(info.smallest_subnormal) == 2 ** -24
    assert 6.0e-5 < FP16_SMALLEST_NORMAL < 6.2e-5          # the seeds' "6e-5 … 6e4" range
    assert fp16_gradient(65504.0) == 65504.0
    assert fp16_gradient(65519.0) == 65504.0                # still rounds down to the maximum
    assert fp16_gradient(65520.0) == math.inf               # rounds up: overflow
    assert fp16_gradient(2.0 ** -24) == 2.0 ** -24          # subnormal, still representable
    assert fp16_gradient(2.0 ** -25) == 0.0                 # halfway to 0: rounds to even = 0
    assert fp16_gradient(1e-8) == 0.0


def test_float16_subnormals_lose_precision():
    g = 3 * 2.0 ** -20 + 2.0 ** -26                         # needs more bits than subnormals have
    assert fp16_gradient(g) == 3 * 2.0 ** -20
    assert fp16_gradient(1.0 + 2.0 ** -11) == 1.0           # 10 fraction bits: 1 + 2⁻¹¹ → 1


def test_loss_scaling_rescues_a_gradient_that_underflows():
    g = 1e-8
    assert fp16_gradient(g) == 0.0                          # lost without scaling
    recovered = fp16_gradient(g, scale=2.0 ** 16)
    assert abs(recovered - g) / g < 1e-3                    # ≈ 3 significant digits survive
    assert fp16_gradient(1.0, scale=2.0 ** 17) == math.inf  # too large a scale overflows


def test_fp16_gradient_on_arrays():
    g = np.array([1e-8, 1e-3, 0.5])
    out = fp16_gradient(g, scale=2.0 ** 16)
    assert out.dtype == np.float64 and out.shape == (3,)
    np.testing.assert_allclose(out, g, rtol=5e-4)


def test_a_scale_that_leaves_gradients_subnormal_keeps_fewer_digits():
    # 1e-8 · 1024 ≈ 1.0e-5 is below 2⁻¹⁴: subnormal, so the relative error is larger than
    # with 1e-8 · 65536 ≈ 6.6e-4, which is a normal float16 (relative error ≤ 2⁻¹¹).
    g = 1e-8
    small_scale = abs(fp16_gradient(g, scale=1024.0) - g) / g
    large_scale = abs(fp16_gradient(g, scale=2.0 ** 16) - g) / g
    assert g * 1024 < FP16_SMALLEST_NORMAL < g * 2 ** 16
    assert large_scale <= 2.0 ** -11 < small_scale


def test_fp16_gradient_bad_input():
    with pytest.raises(ValueError, match="scale"):
        fp16_gradient(1.0, scale=0.0)
    with pytest.raises(ValueError, match="grad"):
        fp16_gradient("x")


# ---------------------------------------------------------------- the Gradients page's claims

def test_linear_chains_depend_on_singular_values_not_on_the_size_of_entries():
    g = np.array([1.0, 0.0])
    small_entries = np.full((2, 2), 0.9)                       # every entry < 1 ...
    for depth in (5, 20, 50):
        grad = g @ np.linalg.matrix_power(small_entries.T, depth)
        product = np.linalg.matrix_power(small_entries, depth)
        assert np.linalg.norm(product, 2) == pytest.approx(1.8 ** depth, rel=1e-12)  # ... explodes
        assert np.linalg.norm(grad) == pytest.approx(1.8 ** depth / math.sqrt(2), rel=1e-12)
    large_entries = np.array([[2.0, -2.0], [2.0, -2.0]])       # every |entry| = 2 ...
    assert np.all(np.linalg.matrix_power(large_entries, 2) == 0)   # ... gradient is 0 after 2
    theta = 0.3
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    v = np.array([0.6, -0.8])
    for _ in range(1000):
        v = v @ rotation.T                                     # orthogonal: singular values 1
    assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-12)


def test_sigmoid_network_loses_about_0_24_per_layer():
    n = layer_gradient_norms(depth=20, activation="sigmoid")
    per_layer = np.exp(np.mean(np.log(n[:-1] / n[1:])))
    assert round(float(per_layer), 2) == 0.24
    assert n[0] / n[-1] < 0.25 ** 18                           # roughly a quarter per layer


def test_tanh_with_xavier_init_does_not_vanish_in_this_network():
    n = layer_gradient_norms(depth=20, activation="tanh")
    assert 0.5 < n[0] / n[-1] < 2
    assert n.min() / n.max() > 0.5


def test_relu_network_gradients_scale_with_the_weights_to_the_power_depth_minus_one(rng):
    """ReLU without biases is positively homogeneous: weights × c gives every weight gradient
    × c^(L−1), so the per-layer profile is the same and only the overall scale changes."""
    depth, width = 20, 64
    x, g = rng.standard_normal((64, width)), rng.standard_normal((64, width))
    base = [rng.standard_normal((width, width)) * math.sqrt(2 / width) for _ in range(depth)]

    def norms(c):
        _, grads = deep_mlp_grads(x, [c * W for W in base], g, "relu")
        return np.array([np.linalg.norm(gr) for gr in grads])

    he = norms(1.0)
    for c in (1 / math.sqrt(2), 2.0):                          # Xavier's std for ReLU; twice He
        np.testing.assert_allclose(norms(c), he * c ** (depth - 1), rtol=1e-10)
    assert (1 / math.sqrt(2)) ** 19 == pytest.approx(1.4e-3, rel=0.02)
    assert 2.0 ** 19 == pytest.approx(5.2e5, rel=0.01)


def test_residual_sigmoid_and_unscaled_residual_relu_numbers():
    res = layer_gradient_norms(depth=20, activation="sigmoid", residual=True)
    assert round(float(res[0] / res[-1]), 2) == 0.36
    wild = layer_gradient_norms(depth=20, activation="relu", residual=True)
    tame = layer_gradient_norms(depth=20, activation="relu", residual=True,
                                branch_scale=1 / math.sqrt(20))
    plain = layer_gradient_norms(depth=20, activation="relu")
    assert wild.min() > 1e3 * tame.max()                       # every layer, not just the largest
    assert tame.max() < 10 * plain.max()


def test_batchnorm_makes_a_layer_invariant_to_the_scale_of_its_weights(rng):
    from snippets.normalization import batchnorm_forward

    a, W = rng.standard_normal((32, 8)), rng.standard_normal((8, 8))

    def bn(M):
        return batchnorm_forward(a @ M, np.ones(8), np.zeros(8), np.zeros(8), np.ones(8),
                                 eps=1e-12)[0]

    for c in (0.01, 100.0):
        np.testing.assert_allclose(bn(c * W), bn(W), atol=1e-8)
    # hence ∂L/∂(cW) = ∂L/∂W / c: larger weights get proportionally smaller gradients
    G = rng.standard_normal((32, 8))
    d1 = numerical_gradient(lambda M: np.sum(bn(M) * G), W.copy(), h=1e-6)
    d100 = numerical_gradient(lambda M: np.sum(bn(M) * G), 100 * W, h=1e-4)
    np.testing.assert_allclose(d100, d1 / 100, rtol=1e-4, atol=1e-9)


def test_lstm_cell_path_gradient_is_the_product_of_forget_gates():
    forget = [0.9, 0.95, 0.99, 0.8, 0.97]
    c0 = Value(0.5)
    c = c0
    for f in forget:                                           # c_t = f_t c_{t−1} + i_t g_t
        c = Value(f) * c + Value(0.3) * Value(-0.7).tanh()
    c.backward()
    assert c0.grad == pytest.approx(math.prod(forget), rel=1e-14)
    ones = Value(0.5)
    c = ones
    for _ in range(100):                                       # forget gate open: nothing lost
        c = Value(1.0) * c + Value(0.3) * Value(0.2)
    c.backward()
    assert ones.grad == 1.0


def test_clipping_by_norm_keeps_the_direction_clipping_by_value_does_not():
    g = np.array([3.0, 1.0])
    (by_norm,), _ = clip_grad_norm([g], max_norm=1.0)
    by_value = np.clip(g, -1.0, 1.0)
    cos = lambda a, b: a @ b / (np.linalg.norm(a) * np.linalg.norm(b))  # noqa: E731
    assert cos(by_norm, g) == pytest.approx(1.0, rel=1e-12)
    assert cos(by_value, g) < 0.95


def test_bfloat16_keeps_the_float32_exponent_range():
    # bfloat16 is the top 16 bits of a float32: 1 sign, 8 exponent, 7 fraction bits.
    def bf16(bits):
        return float(np.array([bits << 16], dtype=np.uint32).view(np.float32)[0])

    assert bf16(0x0080) == float(np.finfo(np.float32).tiny) == 2.0 ** -126   # smallest normal
    assert bf16(0x7F7F) == (2 - 2 ** -7) * 2.0 ** 127 == pytest.approx(3.39e38, rel=1e-3)
    assert bf16(0x7F80) == math.inf
    assert 2.0 ** -126 < 1e-8 * 1.0 < FP16_SMALLEST_SUBNORMAL   # 1e-8 fits bfloat16, not float16


def test_float16_numbers_quoted_on_the_page():
    assert f"{FP16_SMALLEST_NORMAL:.2e}" == "6.10e-05"
    assert f"{FP16_SMALLEST_SUBNORMAL:.2e}" == "5.96e-08"
    assert f"{2.0 ** -25:.1e}" == "3.0e-08"
    assert 1e-8 * 2 ** 16 > FP16_SMALLEST_NORMAL               # scaled by 2¹⁶: a normal float16
    assert 65504 * 2 ** -16 < 1 < 65504 * 2 ** -15            # with S = 2¹⁶ a gradient ≥ 1 overflows


def test_numbers_in_the_figures_alt_texts():
    assert 1.5 ** 27 < FP16_MAX < 1.5 ** 28                    # 1.5^L passes 65504 at L = 28
    sigmoid = layer_gradient_norms(depth=20, activation="sigmoid")
    assert 0.5 < sigmoid[-1] < 2 and 1e-12 < sigmoid[0] < 1e-11
    for kwargs in (dict(activation="tanh"), dict(activation="relu"),
                   dict(activation="sigmoid", residual=True)):
        n = layer_gradient_norms(depth=20, **kwargs)
        assert 1 < n.min() and n.max() < 10, kwargs
    wild = layer_gradient_norms(depth=20, activation="relu", residual=True)
    tame = layer_gradient_norms(depth=20, activation="relu", residual=True,
                                branch_scale=1 / math.sqrt(20))
    assert wild.min() > 1e4
    assert 2 < tame.min() and tame.max() < 9


def test_clipping_by_value_turns_the_example_gradient_by_about_27_degrees():
    g, clipped = np.array([3.0, 1.0]), np.clip(np.array([3.0, 1.0]), -1, 1)
    angle = math.degrees(math.acos(g @ clipped / (np.linalg.norm(g) * np.linalg.norm(clipped))))
    assert round(angle) == 27


def test_float16_precision_and_loss_scaling_ranges():
    rng = np.random.default_rng(0)
    normal = np.exp(rng.uniform(math.log(FP16_SMALLEST_NORMAL), math.log(FP16_MAX), 20_000))
    assert np.max(np.abs(fp16_gradient(normal) - normal) / normal) <= 2.0 ** -11
    assert 3 < math.log10(2 ** 11) < 3.5                        # about 3 significant digits
    tiny = np.exp(rng.uniform(math.log(1e-12), math.log(2.0 ** -25), 1000))
    assert np.all(fp16_gradient(tiny) == 0)                     # below 2^-25: lost
    just_above = 2.0 ** -25 * (1 + 2.0 ** -10)
    assert fp16_gradient(just_above) == 2.0 ** -24              # rounds up to the smallest subnormal
    # with S = 2^16 every gradient from 2^-30 ≈ 9.3e-10 up to just below 1 keeps full precision
    assert f"{2.0 ** -30:.1e}" == "9.3e-10"
    g = np.exp(rng.uniform(math.log(2.0 ** -30), math.log(0.9995), 20_000))
    assert np.max(np.abs(fp16_gradient(g, 2.0 ** 16) - g) / g) <= 2.0 ** -11
    assert f"{FP16_SMALLEST_NORMAL:.1e}" == "6.1e-05" and f"{FP16_SMALLEST_SUBNORMAL:.1e}" == "6.0e-08"


# ---------------------------------------------------------------- recurrent Jacobians (Pascanu et al.)

def test_small_largest_singular_value_is_sufficient_for_vanishing(rng):
    # ‖∂h_T/∂h_{T−k}‖ ≤ σ_max(W)^k because |tanh'| ≤ 1
    W = rng.standard_normal((4, 4))
    W *= 0.9 / np.linalg.norm(W, 2)
    norms = rnn_jacobian_norms(W, 30, rng.standard_normal((30, 4)))
    assert np.all(norms <= 0.9 ** np.arange(31) + 1e-12)
    assert norms[-1] < 0.9 ** 30 < 0.05


def test_large_singular_value_is_necessary_but_not_sufficient_for_exploding(rng):
    # saturation: W = 3I has σ_max = 3, but with inputs that saturate tanh the gradient vanishes
    sat = rnn_jacobian_norms(3 * np.eye(3), 20, np.ones((20, 3)))
    assert sat[-1] < 1e-20
    # non-normal: spectral radius 0.5 < 1 but σ_max ≈ 3: a transient growth, then vanishing
    W = np.array([[0.5, 3.0], [0.0, 0.5]])
    assert max(abs(np.linalg.eigvals(W))) == 0.5 and np.linalg.norm(W, 2) > 3
    lin = rnn_jacobian_norms(W, 40, np.zeros((40, 2)))   # h stays 0: tanh is linear, J = W^k
    assert lin[:4].max() > 2 and lin[-1] < 1e-6
    # and when it is large with linear units the gradient does explode
    assert rnn_jacobian_norms(1.5 * np.eye(2), 20)[-1] == pytest.approx(1.5 ** 20, rel=1e-12)


def test_rnn_jacobian_norms_match_the_autograd_engine(rng):
    # the product of per-step Jacobians equals the gradient the engine computes through time
    W, u = 0.8 * rng.standard_normal((2, 2)), rng.standard_normal((5, 2))
    h0 = [Value(0.0), Value(0.0)]
    hs, h = [h0], h0
    for t in range(5):
        h = [(h[0] * W[0, j] + h[1] * W[1, j] + u[t, j]).tanh() for j in range(2)]
        hs.append(h)
    J = np.zeros((2, 2))
    for i in range(2):                        # row i: gradient of h_T[i] w.r.t. h_0
        hs[-1][i].backward()
        J[:, i] = [v.grad for v in hs[0]]
    assert np.linalg.norm(J, 2) == pytest.approx(rnn_jacobian_norms(W, 5, u)[-1], rel=1e-10)


def test_rnn_jacobian_norms_bad_input():
    with pytest.raises(ValueError, match="W"):
        rnn_jacobian_norms(np.ones((2, 3)), 3)
    with pytest.raises(ValueError, match="inputs"):
        rnn_jacobian_norms(np.eye(2), 3, np.ones((2, 2)))
    with pytest.raises(ValueError, match="steps"):
        rnn_jacobian_norms(np.eye(2), 0)


# ---------------------------------------------------------------- LSTM and GRU cells

def _cell_params(rng, k, D, H):
    return (rng.standard_normal((k * H, D)), rng.standard_normal((k * H, H)),
            rng.standard_normal(k * H), rng.standard_normal(k * H))


def test_lstm_cell_follows_the_gate_equations(rng):
    N, D, H = 3, 4, 2
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    W_ih, W_hh, b_ih, b_hh = _cell_params(rng, 4, D, H)
    s = lambda z: 1 / (1 + np.exp(-z))                        # noqa: E731
    pre = lambda k: x @ W_ih[k * H:(k + 1) * H].T + b_ih[k * H:(k + 1) * H] + h @ W_hh[k * H:(k + 1) * H].T + b_hh[k * H:(k + 1) * H]  # noqa: E501,E731
    i, f, g, o = s(pre(0)), s(pre(1)), np.tanh(pre(2)), s(pre(3))
    h_new, c_new = lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
    np.testing.assert_allclose(c_new, f * c + i * g, rtol=1e-12)
    np.testing.assert_allclose(h_new, o * np.tanh(f * c + i * g), rtol=1e-12)


def test_lstm_cell_path_gradient_is_the_forget_gate(rng):
    # ∂c'/∂c = diag(f): finite differences of c' with respect to c
    N, D, H = 1, 3, 4
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    params = _cell_params(rng, 4, D, H)
    f = 1 / (1 + np.exp(-(x @ params[0][H:2 * H].T + params[2][H:2 * H] + h @ params[1][H:2 * H].T
                          + params[3][H:2 * H])))
    for k in range(H):
        numeric = numerical_gradient(lambda v: lstm_cell(x, h, v, *params)[1][0, k], c.copy())
        expected = np.zeros((N, H))
        expected[0, k] = f[0, k]
        err = rel_error(numeric, expected)
        assert err < 1e-8, f"∂c'/∂c row {k}: rel error {err:.2e}"


def test_forget_gate_bias_numbers_on_the_page():
    sig = lambda z: 1 / (1 + math.exp(-z))                   # noqa: E731
    assert round(sig(1.0), 2) == 0.73
    # over 20 steps along the cell path, with all other pre-activations 0 at initialization
    assert f"{0.5 ** 20:.1e}" == "9.5e-07" and f"{sig(1.0) ** 20:.1e}" == "1.9e-03"
    assert round(sig(1.0) ** 20 / 0.5 ** 20) == 1_994                 # about 2,000 times more
    # the cell confirms it: zero weights, forget bias b, no input or candidate contribution
    for b, f in ((0.0, 0.5), (1.0, sig(1.0))):
        W_ih, W_hh = np.zeros((4, 1)), np.zeros((4, 1))
        bias = np.array([-50.0, b, 0.0, 0.0])                 # input gate shut: c' = f c
        c = np.ones((1, 1))
        for _ in range(20):
            _, c = lstm_cell(np.zeros((1, 1)), np.zeros((1, 1)), c, W_ih, W_hh, bias, np.zeros(4))
        assert float(c[0, 0]) == pytest.approx(f ** 20, rel=1e-9)


def test_gru_cell_follows_the_gate_equations(rng):
    N, D, H = 2, 3, 2
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    W_ih, W_hh, b_ih, b_hh = _cell_params(rng, 3, D, H)
    s = lambda z: 1 / (1 + np.exp(-z))                        # noqa: E731
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    r, z = s(gi[:, :H] + gh[:, :H]), s(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    np.testing.assert_allclose(gru_cell(x, h, W_ih, W_hh, b_ih, b_hh), (1 - z) * n + z * h,
                               rtol=1e-12)


def test_cells_bad_input(rng):
    W_ih, W_hh, b_ih, b_hh = _cell_params(rng, 4, 3, 2)
    x, h = np.ones((1, 3)), np.ones((1, 2))
    with pytest.raises(ValueError, match="W_ih"):
        lstm_cell(x, h, h, W_ih[:6], W_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="h"):
        lstm_cell(x, np.ones((2, 2)), h, W_ih, W_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="W_hh"):
        gru_cell(x, h, W_ih[:6], W_hh, b_ih[:6], b_hh[:6])


# ---------------------------------------------------------------- Pre-LN vs Post-LN

def _ln_stack(rng, depth, d=32, h=32, N=16):
    weights = [(rng.standard_normal((d, h)) * np.sqrt(2 / d), rng.standard_normal((h, d)) / np.sqrt(h))
               for _ in range(depth)]
    return rng.standard_normal((N, d)), weights, rng.standard_normal((N, d))


@pytest.mark.parametrize("pre_ln", [True, False])
def test_ln_residual_stack_matches_finite_differences(rng, pre_ln):
    x, weights, g = _ln_stack(rng, 3, d=4, h=3, N=2)
    _, grads = ln_residual_stack(x, weights, g, pre_ln=pre_ln)
    for l in range(3):
        for k in range(2):
            def f(v, l=l, k=k):
                w = [list(p) for p in weights]
                w[l][k] = v
                return ln_residual_stack(x, [tuple(p) for p in w], g, pre_ln=pre_ln)[0]
            numeric = numerical_gradient(f, weights[l][k].copy())
            err = rel_error(grads[l][k], numeric)
            assert err < 1e-6, f"{'Pre' if pre_ln else 'Post'}-LN block {l} W{k + 1}: rel error {err:.2e}"


def test_post_ln_top_gradient_does_not_shrink_with_depth_pre_ln_does():
    # Xiong et al. (2020): at initialization the gradient of the last block's weights is about
    # depth-independent in Post-LN but shrinks like 1/√L in Pre-LN (6 -> 24 blocks: about half).
    ratios = {True: [], False: []}
    for pre in (True, False):
        for seed in range(8):
            top = [np.linalg.norm(ln_residual_stack(*_ln_stack(np.random.default_rng(seed), L),
                                                    pre_ln=pre)[1][-1][1]) for L in (6, 24)]
            ratios[pre].append(top[1] / top[0])
    post, pre_ = np.mean(ratios[False]), np.mean(ratios[True])
    assert 0.8 < post < 1.5, post
    assert 0.35 < pre_ < 0.7, pre_                       # √(6/24) = 0.5
    assert pre_ < post


def test_ln_residual_stack_bad_input(rng):
    x, weights, g = _ln_stack(rng, 2, d=4, h=3, N=2)
    with pytest.raises(ValueError, match="weights"):
        ln_residual_stack(x, [(weights[0][0], weights[0][0])], g)
    with pytest.raises(ValueError, match="g"):
        ln_residual_stack(x, weights, g[:, :2])
    with pytest.raises(ValueError, match="pre_ln"):
        ln_residual_stack(x, weights, g, pre_ln="yes")


# ---------------------------------------------------------------- update-to-weight ratio

def test_update_to_weight_ratio_of_sgd_is_lr_times_gradient_over_weight_norm(rng):
    w, grad = rng.standard_normal(50), rng.standard_normal(50)
    lr = 1e-3
    assert update_to_weight_ratio(w, -lr * grad) == pytest.approx(
        lr * np.linalg.norm(grad) / np.linalg.norm(w), rel=1e-12)
    assert round(update_to_weight_ratio(np.ones(100), np.full(100, -1e-3)), 6) == 1e-3
    with pytest.raises(ValueError, match="update"):
        update_to_weight_ratio(w, grad[:3])
    with pytest.raises(ValueError, match="weights"):
        update_to_weight_ratio(np.zeros(3), np.ones(3))


# ---------------------------------------------------------------- bfloat16 vs float16

def test_bfloat16_format_constants():
    assert BF16_MAX == float(np.float32((2 - 2 ** -7) * 2.0 ** 127)) and f"{BF16_MAX:.3g}" == "3.39e+38"
    assert BF16_SMALLEST_NORMAL == float(np.finfo(np.float32).tiny)
    assert to_bfloat16(np.float32(BF16_MAX)) == np.float32(BF16_MAX)
    assert to_bfloat16(np.float32(3.4e38)) == np.inf                 # rounds past the maximum
    assert to_bfloat16(np.float32(BF16_SMALLEST_NORMAL)) == np.float32(2.0 ** -126)


def test_bfloat16_has_float32_range_and_fewer_bits_than_float16():
    # range: gradients float16 loses survive
    for g in (1e-8, 1e-20, 1e-30):
        assert fp16_gradient(g) == 0.0 and to_bfloat16(g) != 0
        assert abs(float(to_bfloat16(g)) - g) / g < 2 ** -8
    assert fp16_gradient(1e5) == np.inf and float(to_bfloat16(1e5)) == 99840.0
    # precision: eps 2^-7 vs 2^-10; 1 + 2^-8 rounds to 1 in bfloat16 but not in float16
    assert to_bfloat16(1 + 2 ** -8) == 1.0 and np.float16(1 + 2 ** -8) != 1.0
    assert to_bfloat16(1 + 2 ** -7) == 1 + 2 ** -7
    assert to_bfloat16(256.0 + 1.0) == 256.0 and np.float16(256.0 + 1.0) == 257.0


@pytest.mark.parametrize("value", [0.0, -0.0, 1.0, -2.5, 1e-40, 65520.0, np.inf, -np.inf])
def test_bfloat16_keeps_exact_values_and_special_values(value):
    out = to_bfloat16(np.array([value]))[0]
    if value in (1.0, -2.5, 0.0, np.inf, -np.inf):
        assert out == value
    assert np.isfinite(out) == np.isfinite(value) or value == 1e-40
    assert np.isnan(to_bfloat16(np.array([np.nan]))[0])
    assert to_bfloat16(np.ones((2, 3))).shape == (2, 3)
