"""Convolution and pooling: output-size arithmetic (with the seed notes' cases), naive vs im2col,
backward passes against finite differences, worked examples, the page's counting claims, and
bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snippets.cnn import (avg_pool2d, avg_pool2d_backward, col2im, conv2d, conv2d_backward,
                          conv_macs, conv_transpose2d, conv_transpose_output_size,
                          conv2d_naive, conv_output_size, conv_param_count, coverage_counts,
                          global_avg_pool2d, im2col, max_pool2d, max_pool2d_backward,
                          receptive_field, same_padding)
from snippets.gradcheck import numerical_gradient, rel_error


# ---------------------------------------------------------------- output size

def test_seed_cases_n7_f3():
    assert conv_output_size(7, 3, stride=1) == 5          # (7 − 3)/1 + 1
    assert conv_output_size(7, 3, stride=2) == 3          # (7 − 3)/2 + 1
    assert conv_output_size(7, 3, stride=3) == 2          # ⌊(7 − 3)/3⌋ + 1: floors like PyTorch
    with pytest.raises(ValueError, match="stride"):       # 2.33 does not tile: CS231n's rule
        conv_output_size(7, 3, stride=3, exact=True)
    assert conv_output_size(7, 3, stride=2, exact=True) == 3


def test_the_most_common_downsampling_layer_is_accepted():
    # A 3×3, stride-2, pad-1 convolution on an 8×8 input gives 4×4 (⌊7/2⌋ + 1), as in PyTorch.
    assert conv_output_size(8, 3, padding=1, stride=2) == 4
    out = conv2d(np.ones((1, 2, 8, 8)), np.ones((5, 2, 3, 3)), np.zeros(5), stride=2, padding=1)
    assert out.shape == (1, 5, 4, 4)
    with pytest.raises(ValueError, match="stride=2 does not tile"):
        conv_output_size(8, 3, padding=1, stride=2, exact=True)


@pytest.mark.parametrize("n, f, d, expected", [(7, 3, 2, 3), (9, 3, 4, 1), (8, 2, 3, 5),
                                               (32, 3, 1, 30)])
def test_dilated_output_size(n, f, d, expected):
    # a dilated filter reaches d·(f − 1) + 1 pixels: the size of an undilated filter that wide
    assert conv_output_size(n, f, dilation=d) == expected == conv_output_size(n, d * (f - 1) + 1)
    if f % 2:                                             # 'same' padding of a dilated filter
        assert conv_output_size(n, f, padding=d * (f - 1) // 2, dilation=d) == n


def test_seed_padding_example_needs_the_plus_one():
    # One ring of zeros around the 7×7 input, F = 3, S = 1: (7 + 2 − 3)/1 + 1 = 7, not 6.
    assert conv_output_size(7, 3, padding=1, stride=1) == 7
    assert (7 + 2 - 3) // 1 == 6                          # the seed's formula without + 1


@pytest.mark.parametrize("f", [1, 3, 5, 7, 9])
@pytest.mark.parametrize("n", [7, 10, 32])
def test_same_padding_keeps_the_size_at_stride_1(n, f):
    p = same_padding(f)
    assert p == (f - 1) / 2
    if f <= n + 2 * p:
        assert conv_output_size(n, f, padding=p, stride=1) == n


def test_same_padding_formula_fails_for_stride_2_and_even_filters():
    assert conv_output_size(9, 3, padding=same_padding(3), stride=2) == 5 != 9
    with pytest.raises(ValueError, match="f"):
        same_padding(4)


@given(n=st.integers(1, 40), f=st.integers(1, 12), p=st.integers(0, 5), s=st.integers(1, 6))
def test_output_size_formula_property(n, f, p, s):
    span = n + 2 * p - f
    if span < 0:
        for exact in (False, True):
            with pytest.raises(ValueError, match="f"):
                conv_output_size(n, f, padding=p, stride=s, exact=exact)
        return
    out = conv_output_size(n, f, padding=p, stride=s)
    assert out == span // s + 1
    # floor: the last window fits, one more would stick out; the unread margin is span % s
    assert (out - 1) * s + f <= n + 2 * p < out * s + f
    assert n + 2 * p - ((out - 1) * s + f) == span % s
    if span % s:
        with pytest.raises(ValueError, match="stride"):
            conv_output_size(n, f, padding=p, stride=s, exact=True)
    else:
        assert conv_output_size(n, f, padding=p, stride=s, exact=True) == out
        assert (out - 1) * s + f == n + 2 * p             # the last window ends at the border


@given(n=st.integers(1, 40), f=st.integers(1, 6), p=st.integers(0, 5), s=st.integers(1, 5),
       d=st.integers(1, 5))
def test_dilated_output_size_property(n, f, p, s, d):
    reach = d * (f - 1) + 1
    if n + 2 * p < reach:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv_output_size(n, f, p, s, d)
    else:
        assert conv_output_size(n, f, p, s, d) == (n + 2 * p - d * (f - 1) - 1) // s + 1


def test_output_size_of_a_32x32x3_image_with_5x5_filters():
    assert conv_output_size(32, 5) == 28
    assert conv2d(np.zeros((1, 3, 32, 32)), np.zeros((6, 3, 5, 5)), np.zeros(6)).shape == \
        (1, 6, 28, 28)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=7, f=9), "f"),
    (dict(n=7, f=3, padding=-1), "padding"),
    (dict(n=7, f=3, stride=0), "stride"),
    (dict(n=7, f=3, stride=-2), "stride"),
    (dict(n=7, f=3, stride=1.0), "stride"),
    (dict(n=7, f=3, stride=True), "stride"),
    (dict(n=7, f=3, padding=0.5), "padding"),
    (dict(n=7.0, f=3), "n"),
    (dict(n=0, f=1), "n"),
    (dict(n=7, f=0), "f"),
    (dict(n=7, f="3"), "f"),
    (dict(n=7, f=3, dilation=0), "dilation"),
    (dict(n=7, f=3, dilation=1.5), "dilation"),
    (dict(n=7, f=4, dilation=3), "dilated filter"),
    (dict(n=7, f=3, exact=1), "exact"),
])
def test_output_size_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(**kwargs)


def test_numpy_integers_are_accepted():
    assert conv_output_size(np.int64(7), np.int32(3), np.int64(0), np.int8(2)) == 3


# ---------------------------------------------------------------- naive == im2col

CONV_CASES = [
    # (N, C, H, W, F, HH, WW, stride, padding)
    (1, 1, 4, 4, 1, 2, 2, 1, 0),
    (2, 3, 5, 5, 4, 3, 3, 1, 1),
    (2, 3, 7, 7, 2, 3, 3, 2, 0),
    (1, 2, 7, 9, 3, 3, 3, 2, 1),
    (3, 1, 6, 4, 2, 2, 2, 2, 0),
    (1, 3, 5, 6, 2, 1, 2, 1, 2),
    (2, 2, 4, 4, 3, 4, 4, 1, 0),
    (1, 2, 8, 8, 2, 5, 5, 3, 0),
    (2, 4, 3, 3, 5, 3, 3, 1, 2),
    (1, 1, 9, 7, 1, 3, 1, 3, 0),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_equals_conv2d_naive(rng, case):
    N, C, H, W, F, HH, WW, s, p = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, HH, WW))
    b = rng.standard_normal(F)
    fast, slow = conv2d(x, w, b, s, p), conv2d_naive(x, w, b, s, p)
    assert fast.shape == slow.shape == (N, F, conv_output_size(H, HH, p, s),
                                        conv_output_size(W, WW, p, s))
    assert fast.dtype == slow.dtype == np.float64
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


@given(N=st.integers(1, 2), C=st.integers(1, 3), F=st.integers(1, 3), HH=st.integers(1, 3),
       WW=st.integers(1, 3), ho=st.integers(1, 4), wo=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), seed=st.integers(0, 2 ** 16))
def test_conv2d_equals_conv2d_naive_property(N, C, F, HH, WW, ho, wo, s, p, seed):
    H, W = (ho - 1) * s + HH - 2 * p, (wo - 1) * s + WW - 2 * p
    if H < 1 or W < 1:
        return
    r = np.random.default_rng(seed)
    x = r.standard_normal((N, C, H, W))
    w = r.standard_normal((F, C, HH, WW))
    b = r.standard_normal(F)
    np.testing.assert_allclose(conv2d(x, w, b, s, p), conv2d_naive(x, w, b, s, p),
                               rtol=1e-12, atol=1e-12)


def test_conv_is_cross_correlation_not_flipped():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0                                       # a single bright pixel
    w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    out = conv2d(x, w, np.zeros(1), padding=1)[0, 0]
    # Cross-correlation: the impulse response is the filter flipped (true convolution would
    # reproduce the filter itself).
    np.testing.assert_array_equal(out, w[0, 0, ::-1, ::-1])


def test_conv_worked_example_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = conv2d(x, w, np.array([0.5]))
    np.testing.assert_array_equal(out, np.full((1, 1, 3, 3), -5.0 + 0.5))   # x[i,j] − x[i+1,j+1]


def test_each_output_is_a_dot_product_not_a_hadamard_matrix(rng):
    # The seeds call the operation "Hadamard product, also called dot product". The Hadamard
    # product of the window and the filter is a matrix; the output is the sum of its entries,
    # i.e. the dot product of the flattened arrays.
    x, w = rng.standard_normal((1, 3, 5, 5)), rng.standard_normal((1, 3, 5, 5))
    hadamard = x[0] * w[0]
    assert hadamard.shape == (3, 5, 5)
    out = conv2d(x, w, np.zeros(1))
    assert out.shape == (1, 1, 1, 1)
    assert out[0, 0, 0, 0] == pytest.approx(hadamard.sum(), rel=1e-12)
    assert out[0, 0, 0, 0] == pytest.approx(x.ravel() @ w.ravel(), rel=1e-12)


def test_one_by_one_convolution_mixes_channels_per_pixel(rng):
    x = rng.standard_normal((2, 6, 4, 5))
    w = rng.standard_normal((3, 6, 1, 1))
    b = rng.standard_normal(3)
    expected = np.einsum("nchw,fc->nfhw", x, w[:, :, 0, 0]) + b[None, :, None, None]
    np.testing.assert_allclose(conv2d(x, w, b), expected, rtol=1e-12, atol=1e-12)


def test_fully_connected_layer_is_a_convolution_covering_the_whole_map(rng):
    x = rng.standard_normal((3, 4, 5, 5))
    w = rng.standard_normal((7, 4, 5, 5))
    b = rng.standard_normal(7)
    fc = x.reshape(3, -1) @ w.reshape(7, -1).T + b
    np.testing.assert_allclose(conv2d(x, w, b)[:, :, 0, 0], fc, rtol=1e-12)


def test_conv_is_translation_equivariant(rng):
    x, w = rng.standard_normal((1, 2, 10, 10)), rng.standard_normal((3, 2, 3, 3))
    shifted = np.roll(x, (2, 1), axis=(2, 3))
    a = conv2d(x, w, np.zeros(3))
    c = conv2d(shifted, w, np.zeros(3))
    np.testing.assert_allclose(c[:, :, 2:, 1:], a[:, :, :-2, :-1], rtol=1e-12, atol=1e-12)


def test_conv2d_is_linear_in_x(rng):
    x1, x2 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    zero = np.zeros(3)
    np.testing.assert_allclose(conv2d(2 * x1 - x2, w, zero, 1, 1),
                               2 * conv2d(x1, w, zero, 1, 1) - conv2d(x2, w, zero, 1, 1),
                               rtol=1e-10, atol=1e-12)


def test_float32_stays_float32():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    w = np.ones((1, 1, 2, 2), dtype=np.float32)
    assert conv2d(x, w, np.zeros(1, dtype=np.float32)).dtype == np.float32
    assert max_pool2d(x).dtype == np.float32


def test_functions_do_not_modify_their_inputs(rng):
    x = rng.standard_normal((2, 2, 6, 6))
    w = rng.standard_normal((3, 2, 2, 2))
    b = rng.standard_normal(3)
    dout = rng.standard_normal((2, 3, 3, 3))
    copies = [a.copy() for a in (x, w, b, dout)]
    conv2d(x, w, b, 2, 0)
    conv2d_naive(x, w, b, 2, 0)
    conv2d_backward(dout, x, w, b, 2, 0)
    max_pool2d_backward(dout[:, :2], x)
    avg_pool2d_backward(dout[:, :2], x)
    for a, a0 in zip((x, w, b, dout), copies):
        assert np.array_equal(a, a0)


# ---------------------------------------------------------------- im2col / col2im

def test_im2col_rows_are_the_windows_in_filter_order(rng):
    x = rng.standard_normal((2, 3, 5, 5))
    cols = im2col(x, 3, 3, stride=2, padding=1)
    assert cols.shape == (2 * 3 * 3, 3 * 3 * 3)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(cols[1 * 9 + 2 * 3 + 1], xp[1, :, 4:7, 2:5].ravel())


def test_im2col_returns_an_array_the_caller_may_write_to():
    for x, size, stride in [(np.ones((1, 1, 4, 4)), 4, 4), (np.ones((2, 3, 5, 5)), 3, 1)]:
        assert im2col(x, size, size, stride=stride).flags.writeable


def test_col2im_is_the_adjoint_of_im2col(rng):
    # <im2col(x), C> = <x, col2im(C)> for all x, C: col2im is the transpose of the linear map.
    x = rng.standard_normal((2, 3, 7, 5))
    cols = im2col(x, 3, 3, stride=2, padding=1)
    c = rng.standard_normal(cols.shape)
    lhs = np.sum(cols * c)
    rhs = np.sum(x * col2im(c, x.shape, 3, 3, stride=2, padding=1))
    assert lhs == pytest.approx(rhs, rel=1e-12)


# ---------------------------------------------------------------- backward

def _check(name, analytic, numeric, tol=1e-7):
    assert analytic.shape == numeric.shape
    err = rel_error(analytic, numeric)
    assert err < tol, f"{name}: rel error {err:.2e} (threshold {tol:g})"


@pytest.mark.parametrize("case", CONV_CASES[:7])
def test_conv2d_backward_matches_finite_differences(rng, case):
    N, C, H, W, F, HH, WW, s, p = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C, HH, WW))
    b = rng.standard_normal(F)
    dout = rng.standard_normal(conv2d(x, w, b, s, p).shape)
    dx, dw, db = conv2d_backward(dout, x, w, b, s, p)

    def loss(x_, w_, b_):
        return np.sum(conv2d(x_, w_, b_, s, p) * dout)

    _check("dx", dx, numerical_gradient(lambda v: loss(v, w, b), x.copy()))
    _check("dw", dw, numerical_gradient(lambda v: loss(x, v, b), w.copy()))
    _check("db", db, numerical_gradient(lambda v: loss(x, w, v), b.copy()))


def test_conv2d_backward_worked_example():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 2, 2)), np.zeros(1))
    np.testing.assert_array_equal(dx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(dw[0, 0], [[8, 12], [20, 24]])
    np.testing.assert_array_equal(db, [4])


def test_conv2d_backward_dx_is_full_convolution_with_flipped_filter(rng):
    # Stride 1: dx = conv2d(dout padded by HH − 1 − p, w flipped and with F and C swapped).
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    p = 1
    dout = rng.standard_normal((2, 4, 6, 6))
    dx, _, _ = conv2d_backward(dout, x, w, np.zeros(4), 1, p)
    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    np.testing.assert_allclose(dx, conv2d(dout, w_flip, np.zeros(3), 1, 3 - 1 - p),
                               rtol=1e-10, atol=1e-12)


POOL_CASES = [
    # (N, C, H, W, size, stride)
    (2, 3, 4, 4, 2, 2),
    (1, 2, 6, 4, 2, 2),
    (1, 2, 6, 6, 3, 3),
    (2, 1, 5, 5, 3, 1),      # overlapping windows
    (1, 2, 7, 5, 3, 2),      # overlapping windows
    (1, 1, 3, 3, 1, 1),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_backward_matches_finite_differences(rng, case):
    N, C, H, W, k, s = case
    # A permutation keeps every value distinct and at least 1 apart: no ties within h = 1e-5.
    x = rng.permutation(N * C * H * W).reshape(N, C, H, W).astype(np.float64)
    dout = rng.standard_normal(max_pool2d(x, k, s).shape)
    dx = max_pool2d_backward(dout, x, k, s)
    numeric = numerical_gradient(lambda v: np.sum(max_pool2d(v, k, s) * dout), x.copy())
    _check("max_pool dx", dx, numeric)


@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool2d_backward_matches_finite_differences(rng, case):
    N, C, H, W, k, s = case
    x = rng.standard_normal((N, C, H, W))
    dout = rng.standard_normal(avg_pool2d(x, k, s).shape)
    dx = avg_pool2d_backward(dout, x, k, s)
    numeric = numerical_gradient(lambda v: np.sum(avg_pool2d(v, k, s) * dout), x.copy())
    _check("avg_pool dx", dx, numeric)


def test_max_pool_backward_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    np.testing.assert_array_equal(max_pool2d_backward(np.full((1, 1, 1, 1), 5.0), x),
                                  [[[[0.0, 5.0], [0.0, 0.0]]]])
    x = np.zeros((1, 1, 4, 4))
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x)
    np.testing.assert_array_equal(dx[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0],
                                             [1, 0, 1, 0], [0, 0, 0, 0]])


def test_max_pool_backward_overlapping_windows_accumulate():
    x = np.array([[[[0.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]]])
    dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), x, size=2, stride=1)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0      # the centre wins all four windows


# ---------------------------------------------------------------- pooling worked examples

X_POOL = np.array([[1.0, 1.0, 2.0, 4.0],
                   [5.0, 6.0, 7.0, 8.0],
                   [3.0, 2.0, 1.0, 0.0],
                   [1.0, 2.0, 3.0, 4.0]]).reshape(1, 1, 4, 4)


def test_pooling_worked_examples():
    np.testing.assert_array_equal(max_pool2d(X_POOL)[0, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(avg_pool2d(X_POOL)[0, 0], [[3.25, 5.25], [2, 2]])
    np.testing.assert_array_equal(max_pool2d(X_POOL, size=2, stride=1)[0, 0],
                                  [[6, 7, 8], [6, 7, 8], [3, 3, 4]])
    np.testing.assert_array_equal(global_avg_pool2d(X_POOL), [[50.0 / 16]])


def test_pooling_keeps_the_depth_and_acts_per_channel(rng):
    x = rng.standard_normal((2, 5, 6, 6))
    out = max_pool2d(x, 3, 3)
    assert out.shape == (2, 5, 2, 2)
    np.testing.assert_array_equal(out[:, 3], max_pool2d(x[:, 3:4], 3, 3)[:, 0])


def test_max_pool_is_at_least_avg_pool(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    assert np.all(max_pool2d(x) >= avg_pool2d(x))


def test_avg_pool_is_a_strided_convolution_with_a_constant_filter(rng):
    # "Strided convolution can replace pooling": average pooling is a stride-k convolution with
    # a fixed per-channel 1/k² filter, which a learned convolution can represent.
    C, k = 3, 2
    x = rng.standard_normal((2, C, 6, 6))
    w = np.eye(C)[:, :, None, None] * np.full((k, k), 1 / k ** 2)
    np.testing.assert_allclose(conv2d(x, w, np.zeros(C), stride=k), avg_pool2d(x, k, k),
                               rtol=1e-12, atol=1e-15)


def test_global_average_pooling_output_does_not_depend_on_input_size(rng):
    assert global_avg_pool2d(rng.standard_normal((2, 8, 7, 7))).shape == (2, 8)
    assert global_avg_pool2d(rng.standard_normal((2, 8, 13, 5))).shape == (2, 8)
    x = rng.standard_normal((1, 2, 4, 4))
    np.testing.assert_allclose(global_avg_pool2d(x), avg_pool2d(x, 4, 4)[:, :, 0, 0], rtol=1e-12)


# ---------------------------------------------------------------- parameter counts

def test_seed_parameter_counts():
    assert conv_param_count(3, 5) == 5 * 5 * 3 + 1 == 76
    assert conv_param_count(3, 5, out_channels=10) == 760


@pytest.mark.parametrize("F, C, HH, WW", [(1, 3, 5, 5), (10, 3, 5, 5), (7, 2, 3, 1), (4, 16, 1, 1)])
def test_parameter_count_matches_the_arrays(F, C, HH, WW):
    w, b = np.zeros((F, C, HH, WW)), np.zeros(F)
    assert conv_param_count(C, (HH, WW), F) == w.size + b.size
    assert conv_param_count(C, (HH, WW), F, bias=False) == w.size


def test_parameter_count_does_not_depend_on_the_input_size():
    # Weight sharing: the same w, b work on any image size.
    w, b = np.ones((2, 3, 3, 3)), np.zeros(2)
    for size in (5, 9, 33):
        conv2d(np.ones((1, 3, size, size)), w, b)
    assert conv_param_count(3, 3, 2) == w.size + b.size == 56


def test_three_3x3_convs_have_fewer_parameters_than_one_7x7_with_the_same_receptive_field():
    C = 64
    assert receptive_field([(3, 1)] * 3) == receptive_field([(7, 1)]) == 7
    three = 3 * conv_param_count(C, 3, C, bias=False)
    one = conv_param_count(C, 7, C, bias=False)
    assert (three, one) == (27 * C * C, 49 * C * C)


def test_gap_head_versus_fully_connected_head_parameters():
    fc = conv_param_count(512, 7, 1000)          # FC on a 512×7×7 map = a 7×7 convolution
    gap = conv_param_count(512, 1, 1000)         # GAP, then FC on 512 numbers
    assert (fc, gap) == (512 * 49 * 1000 + 1000, 512 * 1000 + 1000) == (25_089_000, 513_000)
    assert fc / gap == pytest.approx(48.9, abs=0.05)


def test_one_by_one_convolution_parameter_count():
    assert conv_param_count(256, 1, 64) == 256 * 64 + 64


@pytest.mark.parametrize("args, match", [
    ((0, 3), "in_channels"), ((3, 0), "kernel_size"), ((3, 3, 0), "out_channels"),
    ((3, (3, 3, 3)), "kernel_size"), ((3, 3.0), "kernel_size"), ((3, 3, 1, 1), "bias"),
])
def test_parameter_count_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        conv_param_count(*args)


# ---------------------------------------------------------------- receptive field

def _empirical_receptive_field(layers, out_size=3):
    """Back-propagate from the centre output unit through convolutions with all-ones filters
    and count how wide the non-zero region of the input gradient is."""
    sizes = [out_size]                    # input sizes that every layer tiles, from the top
    for k, s in reversed(layers):
        sizes.append((sizes[-1] - 1) * s + k)
    sizes = sizes[::-1]                   # sizes[l] = input size of layer l
    dout = np.zeros((1, 1, out_size, out_size))
    dout[0, 0, out_size // 2, out_size // 2] = 1.0
    for (k, s), n in zip(reversed(layers), reversed(sizes[:-1])):
        dout, _, _ = conv2d_backward(dout, np.zeros((1, 1, n, n)), np.ones((1, 1, k, k)),
                                     np.zeros(1), stride=s)
    rows = np.flatnonzero(dout[0, 0].any(axis=1))
    return rows[-1] - rows[0] + 1


@pytest.mark.parametrize("layers", [
    [(3, 1)], [(3, 1)] * 2, [(3, 1)] * 3, [(5, 1), (3, 1)], [(2, 2), (2, 2), (2, 2)],
    [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)], [(7, 2), (3, 2), (3, 1)],
])
def test_receptive_field_matches_backpropagation(layers):
    assert receptive_field(layers) == _empirical_receptive_field(layers)


def test_receptive_field_growth():
    assert [receptive_field([(3, 1)] * k) for k in range(1, 6)] == [3, 5, 7, 9, 11]   # +2 each
    stack = [(3, 1), (2, 2)] * 3
    assert [receptive_field(stack[:k]) for k in range(1, 7)] == [3, 4, 8, 10, 18, 22]
    assert receptive_field([]) == 1


@pytest.mark.parametrize("layers, match", [
    ([(3,)], r"layers\[0\]"), ([(3, 0)], "stride"), ([(0, 1)], "kernel"), ([3], r"layers\[0\]"),
])
def test_receptive_field_bad_input(layers, match):
    with pytest.raises(ValueError, match=match):
        receptive_field(layers)


# ---------------------------------------------------------------- coverage counts

def test_seed_coverage_claim_is_wrong():
    # The seeds say interior pixels are covered twice and border pixels once (N = 7, F = 3, S = 1).
    c = coverage_counts(7, 3)
    assert c[0, 0] == 1                                   # a corner: one window
    assert c[3, 3] == 9                                   # the centre: F² = 9 windows, not 2
    assert c[0, 3] == 3 and c[1, 1] == 4
    assert sorted(set(c.ravel().tolist())) == [1, 2, 3, 4, 6, 9]


@pytest.mark.parametrize("n, f, s, p", [(7, 3, 1, 0), (7, 3, 2, 0), (7, 3, 1, 1), (8, 2, 2, 0),
                                        (9, 5, 2, 2), (6, 3, 3, 0), (5, 5, 1, 0)])
def test_coverage_counts_equal_the_backward_pass_of_an_all_ones_filter(n, f, s, p):
    counts = coverage_counts(n, f, stride=s, padding=p)
    n_out = conv_output_size(n, f, p, s)
    dx, _, _ = conv2d_backward(np.ones((1, 1, n_out, n_out)), np.zeros((1, 1, n, n)),
                               np.ones((1, 1, f, f)), np.zeros(1), s, p)
    np.testing.assert_array_equal(counts, dx[0, 0])
    if p == 0:
        assert counts.sum() == n_out ** 2 * f ** 2       # every window reads f² real pixels


def test_same_padding_evens_out_the_coverage():
    c = coverage_counts(7, 3, padding=1)
    assert c[0, 0] == 4 and c[0, 3] == 6 and c[3, 3] == 9
    assert c.min() / c.max() > coverage_counts(7, 3).min() / coverage_counts(7, 3).max()


def test_stride_equal_to_filter_covers_every_pixel_exactly_once():
    np.testing.assert_array_equal(coverage_counts(6, 2, stride=2), np.ones((6, 6)))


def test_stride_larger_than_filter_skips_pixels():
    c = coverage_counts(7, 1, stride=2)
    assert c[1, 1] == 0 and c[0, 0] == 1


# ---------------------------------------------------------------- bad input

X4 = np.ones((2, 3, 6, 6))
W4 = np.ones((4, 3, 3, 3))
B4 = np.zeros(4)


@pytest.mark.parametrize("fn", [conv2d, conv2d_naive])
@pytest.mark.parametrize("args, kwargs, match", [
    ((np.ones((3, 6, 6)), W4, B4), {}, "x"),
    ((X4, np.ones((4, 3, 3)), B4), {}, "w"),
    ((X4, np.ones((4, 2, 3, 3)), B4), {}, "w must have C/groups = 3"),
    ((X4, W4, B4), {"groups": 2}, "groups=2 must divide"),
    ((X4, np.ones((3, 3, 3, 3)), np.zeros(3)), {"groups": 3}, "w must have C/groups = 1"),
    ((X4, np.ones((4, 1, 3, 3)), B4), {"groups": 0}, "groups"),
    ((X4, W4, B4), {"dilation": 0}, "dilation"),
    ((X4, W4, B4), {"dilation": 3}, "dilated filter"),
    ((X4, W4, B4), {"stride": (1, 2, 3)}, "stride"),
    ((X4, W4, np.zeros(3)), {}, "b"),
    ((X4, W4, np.zeros((4, 1))), {}, "b"),
    ((X4, np.ones((4, 3, 9, 9)), B4), {}, "w: the filter"),
    ((X4, np.ones((4, 3, 9, 9)), B4), {"padding": 1}, "w: the filter"),
    ((X4, W4, B4), {"stride": 0}, "stride"),
    ((X4, W4, B4), {"stride": 1.0}, "stride"),
    ((X4, W4, B4), {"padding": -1}, "padding"),
    ((X4, W4, B4), {"padding": 1.5}, "padding"),
    ((X4, np.ones((0, 3, 3, 3)), np.zeros(0)), {}, "w"),
    ((X4.astype(complex), W4, B4), {}, "x"),
])
def test_conv_bad_input(fn, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kwargs)


def test_filter_fits_only_with_padding():
    w = np.ones((1, 3, 8, 8))
    with pytest.raises(ValueError, match="w"):
        conv2d(X4, w, np.zeros(1))
    assert conv2d(X4, w, np.zeros(1), padding=1).shape == (2, 1, 1, 1)


def test_conv_backward_bad_dout():
    with pytest.raises(ValueError, match="dout"):
        conv2d_backward(np.ones((2, 4, 3, 3)), X4, W4, B4)
    with pytest.raises(ValueError, match="dout"):
        conv2d_backward(np.ones((2, 4, 3, 3)), X4, W4, B4, stride=2)   # stride 2 gives 2×2


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.ones((3, 4, 4))), "x"),
    (dict(size=0), "size"),
    (dict(size=2.0), "size"),
    (dict(stride=0), "stride"),
    (dict(size=5), "size"),
    (dict(stride=1.5), "stride"),
])
def test_pool_bad_input(fn, kwargs, match):
    args = dict(x=np.ones((1, 1, 4, 4)), size=2, stride=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fn(**args)


@pytest.mark.parametrize("fn", [max_pool2d_backward, avg_pool2d_backward])
def test_pool_backward_bad_dout(fn):
    with pytest.raises(ValueError, match="dout"):
        fn(np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)), 2, 2)
    with pytest.raises(ValueError, match="dout"):
        fn(np.ones((1, 1, 2)), np.ones((1, 1, 4, 4)), 2, 2)


def test_other_helpers_bad_input():
    with pytest.raises(ValueError, match="x"):
        global_avg_pool2d(np.ones((2, 3)))
    with pytest.raises(ValueError, match="stride"):
        coverage_counts(7, 3, stride=0)
    with pytest.raises(ValueError, match="hh"):
        im2col(X4, 0, 3)
    with pytest.raises(ValueError, match="cols"):
        col2im(np.ones((3, 3)), X4.shape, 3, 3)
    with pytest.raises(ValueError, match="x_shape"):
        col2im(np.ones((3, 3)), (3, 6, 6), 3, 3)


# ---------------------------------------------------------------- the page's claims

def test_true_convolution_is_cross_correlation_with_the_flipped_kernel(rng):
    # True 2-D convolution by its definition, (x * k)[a, b] = Σ_{m,n} x[m, n] k[a − m, b − n]
    # (full size), then the part where the kernel lies inside the image ("valid").
    x, k = rng.standard_normal((6, 7)), rng.standard_normal((3, 3))
    full = np.zeros((6 + 2, 7 + 2))
    for m in range(6):
        for n in range(7):
            full[m:m + 3, n:n + 3] += x[m, n] * k
    valid = full[2:6, 2:7]
    zero = np.zeros(1)
    np.testing.assert_allclose(conv2d(x[None, None], k[::-1, ::-1][None, None], zero)[0, 0],
                               valid, rtol=1e-12, atol=1e-12)
    assert not np.allclose(conv2d(x[None, None], k[None, None], zero)[0, 0], valid)


def test_convolution_is_a_sparse_matrix_with_shared_weights(rng):
    # A 3×3 valid convolution of a 7×7 image, as a matrix acting on the flattened image:
    # 25 × 49, nine non-zeros per row (locality), the same nine numbers in every row (sharing).
    w = rng.standard_normal((1, 1, 3, 3))
    basis = np.eye(49).reshape(49, 1, 7, 7)
    matrix = conv2d(basis, w, np.zeros(1)).reshape(49, 25).T
    assert matrix.shape == (25, 49)
    assert np.all(np.count_nonzero(matrix, axis=1) == 9)
    for row in matrix:
        assert sorted(row[row != 0]) == sorted(w.ravel())
    assert np.count_nonzero(matrix) == 225


def test_fully_connected_layer_on_the_same_image_needs_far_more_parameters():
    # 32×32×3 image -> 28×28×10 output: dense weights + biases vs ten 5×5×3 filters.
    n_in, n_out = 32 * 32 * 3, 28 * 28 * 10
    assert (n_in, n_out) == (3072, 7840)
    assert n_in * n_out + n_out == 24_092_320
    assert conv_param_count(3, 5, 10) == 760
    assert (n_in * n_out + n_out) // 760 == 31_700


def test_floor_mode_drops_the_pixels_the_windows_never_reach(rng):
    # PyTorch's rule ⌊(N + 2P − F)/S⌋ + 1 for N = 7, F = 3, S = 3 gives 2; the two windows cover
    # rows/columns 0..5, so the last one is never read: the result equals the convolution of the
    # 6×6 crop (which tiles exactly), whatever the last row and column contain.
    assert conv_output_size(7, 3, stride=3) == 2 == conv_output_size(6, 3, stride=3, exact=True)
    x, w = rng.standard_normal((1, 1, 7, 7)), rng.standard_normal((1, 1, 3, 3))
    full = conv2d(x, w, np.zeros(1), stride=3)
    np.testing.assert_array_equal(full, conv2d(x[:, :, :6, :6], w, np.zeros(1), stride=3))
    y = x.copy()
    y[:, :, 6, :] = 1e6
    y[:, :, :, 6] = -1e6
    np.testing.assert_array_equal(conv2d(y, w, np.zeros(1), stride=3), full)
    c = coverage_counts(7, 3, stride=3)
    assert c[:6, :6].min() == 1 and c[6].max() == 0 and c[:, 6].max() == 0   # never read
    dx, _, _ = conv2d_backward(np.ones((1, 1, 2, 2)), x, w, np.zeros(1), stride=3)
    assert np.all(dx[0, 0, 6] == 0) and np.all(dx[0, 0, :, 6] == 0)        # and get no gradient
    # pooling floors the same way (ceil_mode=False): a 5×5 map, 2×2 windows, stride 2 -> 2×2
    z = rng.standard_normal((1, 1, 5, 5))
    np.testing.assert_array_equal(max_pool2d(z), max_pool2d(z[:, :, :4, :4]))
    np.testing.assert_array_equal(avg_pool2d(z), avg_pool2d(z[:, :, :4, :4]))


def test_stride_shrinks_the_map_and_the_next_fc_layer_not_the_conv_layer():
    # Ten 5×5×3 filters on a 32×32×3 image, then a fully-connected layer to 10 classes.
    conv = conv_param_count(3, 5, 10)
    sizes = {s: conv_output_size(32, 5, stride=s) for s in (1, 3)}
    assert sizes == {1: 28, 3: 10}
    fc = {s: 10 * n * n * 10 + 10 for s, n in sizes.items()}
    assert conv == 760 and fc == {1: 78_410, 3: 10_010}


def test_im2col_copies_each_pixel_f_squared_times_for_a_same_convolution(rng):
    x = rng.standard_normal((8, 3, 32, 32))
    cols = im2col(x, 3, 3, stride=1, padding=1)
    assert cols.shape == (8 * 32 * 32, 27)
    assert cols.size == 9 * x.size
    # each pixel appears in as many rows as windows read it: the coverage counts
    assert np.count_nonzero(cols == x[0, 0, 0, 0]) == coverage_counts(32, 3, padding=1)[0, 0] == 4


def test_dw_is_the_cross_correlation_of_the_input_with_dout(rng):
    # Stride 1: dw[f, c] = Σ_n x̃[n, c] ⋆ dout[n, f] — a convolution whose "images" are the input
    # channels and whose "filters" are the upstream gradients (batch becomes the channel axis).
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    p = 1
    dout = rng.standard_normal((2, 4, 6, 6))
    _, dw, db = conv2d_backward(dout, x, w, np.zeros(4), 1, p)
    via_conv = conv2d(x.transpose(1, 0, 2, 3), dout.transpose(1, 0, 2, 3), np.zeros(4), 1, p)
    np.testing.assert_allclose(dw, via_conv.transpose(1, 0, 2, 3), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 2, 3)), rtol=1e-12)


def test_weight_gradient_sums_over_every_position_where_the_filter_was_used(rng):
    # Weight sharing: the gradient of a shared weight is the sum of the per-position gradients.
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    dout = rng.standard_normal((1, 1, 3, 3))
    _, dw, _ = conv2d_backward(dout, x, w, np.zeros(1))
    per_position = [dout[0, 0, i, j] * x[0, 0, i:i + 3, j:j + 3] for i in range(3) for j in range(3)]
    np.testing.assert_allclose(dw[0, 0], np.sum(per_position, axis=0), rtol=1e-12)


def test_max_pool_keeps_one_value_in_four_and_routes_each_gradient_to_one_pixel(rng):
    x = rng.permutation(2 * 3 * 8 * 8).reshape(2, 3, 8, 8).astype(np.float64)
    out = max_pool2d(x)
    assert out.size * 4 == x.size
    dout = rng.standard_normal(out.shape)
    dx = max_pool2d_backward(dout, x)
    assert np.count_nonzero(dx) == dout.size                # one pixel per window
    np.testing.assert_allclose(np.sort(dx[dx != 0]), np.sort(dout.ravel()))
    np.testing.assert_array_equal(dx != 0, x == np.repeat(np.repeat(out, 2, 2), 2, 3))


def _shapes_image():
    img = np.zeros((24, 24))
    img[4:10, 4:10] = 1.0
    img[6:8, 10:14] = 1.0
    return img


SOBEL_X = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_global_average_pooling_turns_equivariance_into_invariance():
    img = _shapes_image()
    shifted = np.roll(img, (7, 6), axis=(0, 1))            # the shape stays inside the image
    k = SOBEL_X[None, None]
    a = np.maximum(conv2d(img[None, None], k, np.zeros(1)), 0)
    b = np.maximum(conv2d(shifted[None, None], k, np.zeros(1)), 0)
    np.testing.assert_array_equal(b[:, :, 7:, 6:], a[:, :, :-7, :-6])   # equivariant
    assert not np.array_equal(a, b)
    np.testing.assert_allclose(global_avg_pool2d(b), global_avg_pool2d(a), rtol=1e-15)  # invariant
    assert b.max() == a.max()                                             # global max pool too


def test_local_max_pooling_is_only_invariant_to_some_shifts():
    img = _shapes_image()
    k = SOBEL_X[None, None]

    def pooled(shift):
        im = np.roll(img, shift, axis=(0, 1))
        return max_pool2d(np.maximum(conv2d(im[None, None], k, np.zeros(1)), 0))[0, 0]

    base = pooled((0, 0))
    # an even shift moves the pooled map by half as much: an exact shifted copy
    np.testing.assert_array_equal(pooled((8, 6)), np.roll(base, (4, 3), axis=(0, 1)))
    # an odd shift changes which pixels share a window: no shift of the pooled map reproduces it
    odd = pooled((7, 6))
    assert not any(np.array_equal(odd, np.roll(base, (i, j), axis=(0, 1)))
                   for i in range(11) for j in range(11))


def test_vertical_edge_filter_answers_with_opposite_signs_on_the_two_edges():
    img = np.zeros((10, 10))
    img[2:8, 3:7] = 1.0                                     # a bright rectangle
    out = conv2d(img[None, None], SOBEL_X[None, None], np.zeros(1), padding=1)[0, 0]
    assert np.all(out[3:7, 2:4] > 0)        # dark -> bright going right: positive (left edge)
    assert np.all(out[3:7, 6:8] < 0)        # bright -> dark: negative (right edge)
    assert np.all(out[3:7, 4:6] == 0) and np.all(out[:, 0] == 0)   # flat regions: zero


def test_receptive_field_does_not_depend_on_padding():
    # Three 3×3 'same' convolutions on a 15×15 map: the centre output unit still depends on a
    # 7×7 input patch, the same as without padding.
    n = 15
    dout = np.zeros((1, 1, n, n))
    dout[0, 0, n // 2, n // 2] = 1.0
    for _ in range(3):
        dout, _, _ = conv2d_backward(dout, np.zeros((1, 1, n, n)), np.ones((1, 1, 3, 3)),
                                     np.zeros(1), stride=1, padding=1)
    rows = np.flatnonzero(dout[0, 0].any(axis=1))
    assert rows[-1] - rows[0] + 1 == receptive_field([(3, 1)] * 3) == 7


def test_receptive_field_doubles_when_every_layer_has_stride_2():
    assert [receptive_field([(3, 2)] * k) for k in range(1, 8)] == [2 ** (k + 1) - 1
                                                                    for k in range(1, 8)]


def test_receptive_field_growth_in_the_figure():
    alternating = [(3, 1), (2, 2)] * 5
    assert [receptive_field([(3, 1)] * k) for k in (0, 10)] == [1, 21]
    assert receptive_field(alternating) == 94
    assert receptive_field([(3, 2)] * 10) == 2047


def test_speedup_table_is_markdown_and_both_implementations_agree():
    from tools.figures.cnn import speedup_table

    table = speedup_table(shapes=[((1, 2, 6, 6), (3, 2, 3, 3), 1, 1)], repeats_naive=1,
                          repeats_fast=1)
    lines = table.splitlines()
    assert lines[0].startswith("| x | w | S, P |") and lines[1].startswith("|---")
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells[:3] == ["1×2×6×6", "3×2×3×3", "1, 1"]
    assert float(cells[-1]) < 1e-12 and cells[-2].endswith("×")


def test_coverage_numbers_quoted_on_the_page():
    valid, same = coverage_counts(7, 3), coverage_counts(7, 3, padding=1)
    assert valid[0].max() == 3 and valid[:, 0].max() == 3          # edge pixels: at most 3
    assert np.all(valid[2:5, 2:5] == 9) and np.all(same[1:-1, 1:-1] == 9)
    assert same[0, 0] == 4 and np.all(same[0, 1:-1] == 6)


@pytest.mark.parametrize("n", range(3, 40))
def test_same_padding_at_stride_2_halves_the_size_rounded_up_in_floor_mode(n):
    assert conv_output_size(n, 3, padding=1, stride=2) == -(-n // 2)
    if n % 2 == 0:                                        # even sizes do not tile exactly
        with pytest.raises(ValueError, match="stride"):
            conv_output_size(n, 3, padding=1, stride=2, exact=True)


# ---------------------------------------------------------------- dilation and groups

GENERAL_CASES = [
    # (N, C, H, W, F, HH, WW, stride, padding, dilation, groups)
    (1, 2, 7, 7, 2, 3, 3, 1, 0, 2, 1),
    (2, 4, 8, 8, 6, 3, 3, 2, 1, 1, 2),          # grouped, the stride-2 downsampling layer
    (1, 3, 6, 7, 3, 3, 3, 1, 1, 1, 3),          # depthwise
    (2, 4, 9, 8, 8, 3, 2, 2, 2, 2, 4),          # depthwise with channel multiplier 2, dilated
    (1, 2, 9, 6, 4, 2, 3, (2, 1), (1, 0), (3, 1), 2),
    (1, 3, 5, 5, 3, 1, 1, 3, 0, 1, 1),          # does not tile: floors
]


@pytest.mark.parametrize("case", GENERAL_CASES)
def test_conv2d_equals_conv2d_naive_with_dilation_and_groups(rng, case):
    N, C, H, W, F, HH, WW, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C // g, HH, WW))
    b = rng.standard_normal(F)
    np.testing.assert_allclose(conv2d(x, w, b, s, p, d, g), conv2d_naive(x, w, b, s, p, d, g),
                               rtol=1e-12, atol=1e-12)


@given(g=st.integers(1, 3), cg=st.integers(1, 2), fg=st.integers(1, 2), k=st.integers(1, 3),
       n=st.integers(1, 9), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 3),
       seed=st.integers(0, 2 ** 16))
def test_conv2d_equals_conv2d_naive_property_with_dilation_and_groups(g, cg, fg, k, n, s, p, d,
                                                                      seed):
    if n + 2 * p < d * (k - 1) + 1:
        return
    r = np.random.default_rng(seed)
    x = r.standard_normal((1, g * cg, n, n + 1))
    w = r.standard_normal((g * fg, cg, k, k))
    b = r.standard_normal(g * fg)
    np.testing.assert_allclose(conv2d(x, w, b, s, p, d, g), conv2d_naive(x, w, b, s, p, d, g),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GENERAL_CASES)
def test_conv2d_backward_with_dilation_and_groups_matches_finite_differences(rng, case):
    N, C, H, W, F, HH, WW, s, p, d, g = case
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F, C // g, HH, WW))
    b = rng.standard_normal(F)
    dout = rng.standard_normal(conv2d(x, w, b, s, p, d, g).shape)
    dx, dw, db = conv2d_backward(dout, x, w, b, s, p, d, g)

    def loss(x_, w_, b_):
        return np.sum(conv2d(x_, w_, b_, s, p, d, g) * dout)

    _check("dx", dx, numerical_gradient(lambda v: loss(v, w, b), x.copy()))
    _check("dw", dw, numerical_gradient(lambda v: loss(x, v, b), w.copy()))
    _check("db", db, numerical_gradient(lambda v: loss(x, w, v), b.copy()))


def test_a_grouped_convolution_is_separate_convolutions_on_the_channel_groups(rng):
    x, w = rng.standard_normal((2, 6, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    out = conv2d(x, w, None, padding=1, groups=2)
    np.testing.assert_allclose(out[:, :2], conv2d(x[:, :3], w[:2], None, padding=1), rtol=1e-12)
    np.testing.assert_allclose(out[:, 2:], conv2d(x[:, 3:], w[2:], None, padding=1), rtol=1e-12)


def test_a_dilated_filter_is_the_undilated_filter_with_zeros_between_its_taps(rng):
    x, w = rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((3, 2, 3, 3))
    spread = np.zeros((3, 2, 5, 5))
    spread[:, :, ::2, ::2] = w
    np.testing.assert_allclose(conv2d(x, w, None, dilation=2), conv2d(x, spread, None),
                               rtol=1e-12, atol=1e-12)
    assert conv_param_count(2, 3, 3) == w.size + 3              # same weights, wider reach


def test_bias_none_means_no_bias(rng):
    x, w = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    np.testing.assert_array_equal(conv2d(x, w, None), conv2d(x, w, np.zeros(3)))
    _, _, db = conv2d_backward(np.ones((1, 3, 3, 3)), x, w, None)
    np.testing.assert_array_equal(db, [9.0, 9.0, 9.0])


def test_dilated_receptive_field_matches_backpropagation_and_shows_gridding():
    # Three 3×3 layers with dilations 1, 2, 4 see 15 pixels (r = 1 + 2·(1 + 2 + 4));
    # with dilation 2 three times they see 13, but only every other pixel: the gridding artefact.
    def cone(dilations, n=21):
        sizes = [n]
        for d in dilations:
            sizes.append(sizes[-1] - 2 * d)
        g = np.zeros((1, 1, 1, sizes[-1]))
        g[0, 0, 0, sizes[-1] // 2] = 1.0
        for d, m in zip(reversed(dilations), reversed(sizes[:-1])):
            g, _, _ = conv2d_backward(g, np.zeros((1, 1, 1, m)), np.ones((1, 1, 1, 3)), None,
                                      dilation=d)
        return np.flatnonzero(g[0, 0, 0])
    hit = cone([1, 2, 4])
    assert hit[-1] - hit[0] + 1 == receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == 15
    assert len(hit) == 15                                       # every pixel in between
    hit = cone([2, 2, 2])
    assert hit[-1] - hit[0] + 1 == receptive_field([(3, 1, 2)] * 3) == 13
    assert len(hit) == 7 and np.all(np.diff(hit) == 2)          # only every other pixel


# ---------------------------------------------------------------- counts: params, MACs, memory

@given(C=st.integers(1, 64), K=st.integers(1, 64), F=st.sampled_from([1, 3, 5, 7]))
def test_depthwise_separable_ratio_is_one_over_k_plus_one_over_f_squared(C, K, F):
    separable = (conv_param_count(C, F, C, bias=False, groups=C)     # depthwise F×F
                 + conv_param_count(C, 1, K, bias=False))           # pointwise 1×1
    standard = conv_param_count(C, F, K, bias=False)
    assert separable / standard == pytest.approx(1 / K + 1 / F ** 2, rel=1e-12)
    macs = conv_macs(C, F, C, 14, groups=C) + conv_macs(C, 1, K, 14)
    assert macs / conv_macs(C, F, K, 14) == pytest.approx(1 / K + 1 / F ** 2, rel=1e-12)


def test_depthwise_separable_numbers_on_the_page():
    C = K = 256
    separable = conv_param_count(C, 3, C, bias=False, groups=C) + conv_param_count(C, 1, K, bias=False)
    standard = conv_param_count(C, 3, K, bias=False)
    assert (separable, standard) == (2304 + 65536, 589824) == (67840, 589824)
    assert round(separable / standard, 3) == 0.115 and round(standard / separable, 1) == 8.7


@pytest.mark.parametrize("g", [1, 2, 4, 8])
def test_groups_divide_parameters_and_macs(g):
    assert conv_param_count(64, 3, 128, bias=False, groups=g) * g == conv_param_count(64, 3, 128,
                                                                                       bias=False)
    assert conv_macs(64, 3, 128, 28, groups=g) * g == conv_macs(64, 3, 128, 28)
    w = np.zeros((128, 64 // g, 3, 3))
    assert conv_param_count(64, 3, 128, groups=g) == w.size + 128


def test_conv_macs_counts_one_multiply_add_per_filter_tap_and_output(rng):
    # Count the multiplications conv2d_naive does: out size × (C/groups · HH · WW).
    C, F, g, k = 4, 6, 2, 3
    out = conv2d(np.ones((1, C, 9, 9)), np.ones((F, C // g, k, k)), None, stride=2, groups=g)
    ho, wo = out.shape[2:]
    assert conv_macs(C, k, F, (ho, wo), groups=g) == out.size * (C // g) * k * k == 6 * 16 * 18
    assert conv_macs(3, 5, 10, 28) == 10 * 28 * 28 * 75 == 588_000
    assert conv_macs(64, 3, 64, 56) == 115_605_504


def _vgg16():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    c, size, params, macs = 3, 224, 0, 0
    for v in cfg:
        if v == "M":
            size = conv_output_size(size, 2, stride=2)
            continue
        assert conv_output_size(size, 3, padding=1) == size
        params += conv_param_count(c, 3, v)
        macs += conv_macs(c, 3, v, size)
        c = v
    assert (c, size) == (512, 7)
    fc = [(512 * 7 * 7, 4096), (4096, 4096), (4096, 1000)]
    return params, macs, sum(i * o + o for i, o in fc), sum(i * o for i, o in fc)


def test_vgg16_counts_on_the_page():
    conv_p, conv_m, fc_p, fc_m = _vgg16()
    assert conv_p + fc_p == 138_357_544                 # the famous 138 M
    assert round(fc_p / (conv_p + fc_p), 2) == 0.89      # 89 % of the weights in the dense head
    assert round((conv_m + fc_m) / 1e9, 1) == 15.5       # 15.5 G multiply-adds per image
    assert conv_m / (conv_m + fc_m) > 0.99               # ... >99 % of them in the convolutions


def test_resnet_bottleneck_counts_on_the_page():
    bottleneck = (conv_param_count(256, 1, 64, bias=False) + conv_param_count(64, 3, 64, bias=False)
                  + conv_param_count(64, 1, 256, bias=False))
    plain = 2 * conv_param_count(256, 3, 256, bias=False)
    assert (bottleneck, plain) == (69_632, 1_179_648)
    assert round(plain / bottleneck, 1) == 16.9


def test_activation_memory_numbers_on_the_page():
    # ResNet-50's first convolution: 64 maps of 112×112 per 224×224 image, float32.
    assert conv_output_size(224, 7, padding=3, stride=2) == 112
    per_image = 64 * 112 * 112 * 4
    assert per_image == 3_211_264                        # 3.2 MB
    assert round(per_image * 256 / 1e6) == 822           # batch 256: 822 MB for this one map
    assert conv_param_count(3, 7, 64, bias=False) * 4 == 37_632   # its weights: 37.6 kB


# ---------------------------------------------------------------- transposed convolution

TRANSPOSE_CASES = [
    # (C_in, F, H, W, HH, WW, stride, padding, output_padding)
    (1, 1, 2, 2, 3, 3, 2, 0, 0),
    (2, 3, 4, 4, 3, 3, 2, 1, 1),
    (3, 2, 3, 5, 4, 4, 2, 1, 0),
    (2, 2, 3, 3, 2, 3, (3, 1), (0, 1), (2, 0)),
    (1, 2, 5, 4, 1, 1, 1, 0, 0),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng, case):
    # <conv2d(z, w), y> = <z, conv_transpose2d(y, w)> for every z of the transposed output shape.
    C, F, H, W, HH, WW, s, p, op = case
    y = rng.standard_normal((2, C, H, W))
    w = rng.standard_normal((C, F, HH, WW))
    out = conv_transpose2d(y, w, None, s, p, op)
    z = rng.standard_normal(out.shape)
    lhs = np.sum(conv2d(z, w, None, s, p) * y)
    assert lhs == pytest.approx(np.sum(z * out), rel=1e-11)
    # ... so it is the backward pass of conv2d with respect to its input
    dz, _, _ = conv2d_backward(y, z, w, None, s, p)
    np.testing.assert_allclose(out, dz, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose2d_output_size_and_bias(rng, case):
    C, F, H, W, HH, WW, s, p, op = case
    s2, p2, op2 = ((v, v) if np.isscalar(v) else v for v in (s, p, op))
    out = conv_transpose2d(rng.standard_normal((1, C, H, W)), rng.standard_normal((C, F, HH, WW)),
                           np.arange(F, dtype=float), s, p, op)
    assert out.shape[2:] == (conv_transpose_output_size(H, HH, p2[0], s2[0], op2[0]),
                             conv_transpose_output_size(W, WW, p2[1], s2[1], op2[1]))
    # and conv2d with the same settings maps that size back to H (its floor absorbs op)
    assert conv_output_size(out.shape[2], HH, p2[0], s2[0]) == H
    zero = conv_transpose2d(np.zeros((1, C, H, W)), np.ones((C, F, HH, WW)), np.arange(F, dtype=float),
                            s, p, op)
    assert np.all(zero == np.arange(F)[None, :, None, None])


@given(n=st.integers(1, 12), f=st.integers(1, 5), p=st.integers(0, 3), s=st.integers(1, 4),
       op=st.integers(0, 3))
def test_transposed_output_size_inverts_the_conv_output_size(n, f, p, s, op):
    if op >= s:
        with pytest.raises(ValueError, match="output_padding"):
            conv_transpose_output_size(n, f, p, s, op)
        return
    m = (n - 1) * s - 2 * p + f + op
    if m < 1:
        with pytest.raises(ValueError, match="padding"):
            conv_transpose_output_size(n, f, p, s, op)
        return
    assert conv_transpose_output_size(n, f, p, s, op) == m
    assert conv_output_size(m, f, p, s) == n          # every output_padding < s floors back to n


def test_two_input_sizes_conv_to_the_same_size_and_output_padding_picks_one():
    assert conv_output_size(7, 3, 1, 2) == conv_output_size(8, 3, 1, 2) == 4
    assert [conv_transpose_output_size(4, 3, 1, 2, op) for op in (0, 1)] == [7, 8]


def test_transposed_convolution_is_a_scatter_of_filter_copies():
    # one non-zero input pixel stamps the filter at (i·s, j·s) of the uncropped output
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 2] = 2.0
    w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    out = conv_transpose2d(x, w, None, stride=2)[0, 0]
    assert out.shape == (7, 7)
    np.testing.assert_array_equal(out[2:5, 4:7], 2 * w[0, 0])
    assert np.count_nonzero(out) == 9


def test_checkerboard_of_a_3x3_stride_2_transposed_convolution():
    # all-ones input and filter: how many stamps overlap each output pixel
    uneven = conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), None, 2, 1)[0, 0]
    assert uneven.shape == (7, 7)
    assert uneven[3].tolist() == [2, 4, 2, 4, 2, 4, 2]
    assert sorted(set(uneven.ravel().tolist())) == [1, 2, 4]
    even = conv_transpose2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 4, 4)), None, 2, 1)[0, 0]
    assert even.shape == (8, 8)
    assert np.all(even[1:-1, 1:-1] == 4) and even[0].tolist() == [1, 2, 2, 2, 2, 2, 2, 1]


def test_transpose_bad_input():
    x, w = np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3))
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d(x, w, None, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose2d(x, w, None, stride=1, output_padding=1)
    with pytest.raises(ValueError, match="C_in"):
        conv_transpose2d(x, np.ones((3, 1, 3, 3)), None)
    with pytest.raises(ValueError, match="b"):
        conv_transpose2d(x, w, np.zeros(2))
    with pytest.raises(ValueError, match="padding"):
        conv_transpose2d(x, w, None, padding=3)
    with pytest.raises(ValueError, match="x"):
        conv_transpose2d(np.ones((2, 3, 3)), w, None)
    with pytest.raises(ValueError, match="stride"):
        conv_transpose2d(x, w, None, stride=0)


def test_new_functions_keep_float32_and_do_not_modify_inputs(rng):
    x = rng.standard_normal((1, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    copies = x.copy(), w.copy()
    assert conv2d(x, w, None, 2, 1, 2, 2).dtype == np.float32
    assert conv_transpose2d(x, w, None, 2, 1, 1).dtype == np.float32
    assert all(a.dtype == np.float32 for a in conv2d_backward(np.ones((1, 4, 2, 2), np.float32),
                                                              x, w, None, 2, 1, 2, 2))
    assert np.array_equal(x, copies[0]) and np.array_equal(w, copies[1])


@pytest.mark.parametrize("args, match", [
    ((3, 3, 0, 5), "out_channels"), ((3, 3, 4, 0), "out_size"), ((3, 3, 4, (5, 5, 5)), "out_size"),
    ((4, 3, 6, 5, 4), "groups"), ((3, 3, 4, 5, 0), "groups"),
])
def test_conv_macs_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        conv_macs(*args)


# ---------------------------------------------------------------- equivariance with a stride

def test_strided_convolution_is_equivariant_only_to_shifts_by_multiples_of_the_stride(rng):
    u = rng.standard_normal((1, 1, 8, 8))
    x = np.pad(u, ((0, 0), (0, 0), (4, 4), (4, 4)))          # room to shift inside the image
    w = rng.standard_normal((2, 1, 3, 3))
    conv = lambda z: conv2d(z, w, None, stride=2, padding=1)  # noqa: E731
    base = conv(x)
    np.testing.assert_allclose(conv(np.roll(x, 2, axis=-1)), np.roll(base, 1, axis=-1),
                               rtol=1e-12, atol=1e-12)       # shift by S: output shifts by 1
    odd = conv(np.roll(x, 1, axis=-1))                        # shift by 1: no shift of the map
    assert not any(np.allclose(odd, np.roll(base, k, axis=-1)) for k in range(-4, 5))


def test_cost_numbers_quoted_in_the_prose():
    assert conv_param_count(64, 3, 64, bias=False) == 36_864             # the 56×56 ResNet layer
    assert round(conv_macs(64, 3, 64, 56) / 1e6, 1) == 115.6
    # MobileNet: depthwise-separable 3×3 layers need 8–9 times fewer MACs for 128–1024 channels
    for K in (128, 256, 512, 1024):
        saving = conv_macs(K, 3, K, 14) / (conv_macs(K, 3, K, 14, groups=K) + conv_macs(K, 1, K, 14))
        assert 8 < saving < 9, (K, saving)
