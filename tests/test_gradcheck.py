"""snippets.gradcheck: the referee itself must be right."""

import numpy as np
import pytest

from snippets.gradcheck import numerical_gradient, rel_error


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.normal(size=(3, 4))
    A = rng.normal(size=(4, 4))
    f = lambda v: np.sum(np.sin(v) @ A)          # noqa: E731
    exact = np.cos(x) * A.sum(axis=1)
    assert rel_error(numerical_gradient(f, x), exact) < 1e-9


def test_input_is_restored_bit_for_bit(rng):
    x = rng.normal(size=10) * 1e3
    before = x.copy()
    numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_array_equal(x, before)


def test_centred_difference_error_shrinks_like_h_squared_one_sided_like_h():
    f, x0, exact = np.exp, 1.0, np.exp(1.0)
    centred, one_sided = [], []
    for h in (1e-2, 1e-3):
        centred.append(abs(numerical_gradient(lambda v: f(v[0]), np.array([x0]), h=h)[0] - exact))
        one_sided.append(abs((f(x0 + h) - f(x0)) / h - exact))
    assert 80 < centred[0] / centred[1] < 120        # h / 10 -> error / 100
    assert 8 < one_sided[0] / one_sided[1] < 12      # h / 10 -> error / 10


def test_rel_error_is_zero_for_equal_or_both_zero_and_symmetric(rng):
    a, b = rng.normal(size=5), rng.normal(size=5)
    assert rel_error(a, a) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(a, b) == rel_error(b, a)
    assert 0 < rel_error(a, b) <= 1


def test_a_wrong_gradient_is_caught(rng):
    x = rng.normal(size=6)
    numeric = numerical_gradient(lambda v: np.sum(v ** 2), x)
    assert rel_error(2 * x, numeric) < 1e-9
    assert rel_error(x, numeric) > 1e-2            # the classic forgotten factor of 2
    assert rel_error(x, 2 * x) == pytest.approx(1 / 3, rel=1e-15)


@pytest.mark.parametrize("call, message", [
    (lambda: numerical_gradient(np.sum, np.zeros(3, dtype=np.float32)), "x must be a float64"),
    (lambda: numerical_gradient(np.sum, [1.0, 2.0]), "x must be a float64"),
    (lambda: numerical_gradient(lambda v: v, np.zeros(3)), "f must return a real scalar"),
    (lambda: numerical_gradient(np.sum, np.zeros(3), h=0), "h must be"),
    (lambda: rel_error(np.zeros(2), np.zeros(3)), "b must have the shape of a"),
    (lambda: rel_error(np.ones(3), np.ones((1, 3))), "b must have the shape of a"),   # no broadcasting
    (lambda: numerical_gradient(None, np.zeros(3)), "f must be a function"),
    (lambda: numerical_gradient(lambda v: 1j * v.sum(), np.zeros(3)), "f must return a real scalar"),
    (lambda: numerical_gradient(np.sum, np.broadcast_to(np.zeros(1), (3,))), "x must be writeable"),
    (lambda: rel_error(np.array([1 + 1j]), np.array([1 - 1j])), "a must be an array of real"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_x_is_restored_even_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="f must return a real scalar"):
        numerical_gradient(lambda v: v if v[1] != 2 else v.sum(), x)
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_rel_error_does_not_overflow_on_huge_entries():
    assert rel_error(np.array([1e200, 1e200]), np.array([1e200, 2e200])) == pytest.approx(
        rel_error(np.array([1.0, 1.0]), np.array([1.0, 2.0])), rel=1e-15)


# --- the Backprop page's claims about gradient checking ------------------------------------

def _tanh_problem():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=5), rng.normal(size=5)
    return x, w, (1 - np.tanh(x) ** 2) * w                    # f(v) = Σ tanh(v)·w and its gradient


def _centred_error(h, dtype=np.float64):
    x, w, exact = _tanh_problem()
    if dtype == np.float64:
        numeric = numerical_gradient(lambda v: np.sum(np.tanh(v) * w), x.copy(), h=h)
        return rel_error(numeric, exact)
    x, w, h = x.astype(dtype), w.astype(dtype), dtype(h)     # the same difference, in float32
    f = lambda v: np.sum(np.tanh(v) * w)                      # noqa: E731
    e = np.eye(5, dtype=dtype)
    numeric = np.array([(f(x + h * e[i]) - f(x - h * e[i])) / (2 * h) for i in range(5)])
    return rel_error(numeric.astype(np.float64), exact)


def _one_sided_error(h):
    x, w, exact = _tanh_problem()
    f = lambda v: np.sum(np.tanh(v) * w)                      # noqa: E731
    numeric = np.array([(f(x + h * e) - f(x)) / h for e in np.eye(5)])
    return rel_error(numeric, exact)


H = 10.0 ** np.arange(-12, -0.9, 0.25)


def test_best_step_for_centred_differences_in_float64_is_near_the_cube_root_of_eps():
    errors = np.array([_centred_error(h) for h in H])
    best = H[errors.argmin()]
    assert 1e-6 <= best <= 1e-4, best
    assert np.finfo(np.float64).eps ** (1 / 3) == pytest.approx(6.06e-6, rel=1e-3)
    assert 1e-12 < errors.min() < 1e-10                        # "around 1e-11"
    assert _centred_error(1e-5) < 1e-10                        # the default h
    assert _centred_error(1e-12) > 1e-6                        # too small: round-off dominates
    assert _centred_error(1e-1) > 1e-4                         # too large: truncation dominates


def test_one_sided_differences_are_far_less_accurate_at_their_best():
    one_sided = np.array([_one_sided_error(h) for h in H])
    centred = np.array([_centred_error(h) for h in H])
    assert one_sided.min() > 100 * centred.min()
    assert _one_sided_error(1e-5) > 1e4 * _centred_error(1e-5)
    assert 1e-9 <= H[one_sided.argmin()] <= 1e-7               # near √eps ≈ 1.5e-8
    assert np.sqrt(np.finfo(np.float64).eps) == pytest.approx(1.5e-8, rel=0.01)


def test_float32_makes_a_correct_gradient_look_wrong():
    assert 1e-4 < _centred_error(1e-5, np.float32) < 1e-2      # "of order 1e-3" at h = 1e-5
    assert _centred_error(1e-7, np.float32) > 1e-2             # small steps: in the bug zone
    errors = np.array([_centred_error(h, np.float32) for h in H])
    assert 1e-4 <= H[errors.argmin()] <= 1e-2, H[errors.argmin()]
    assert np.finfo(np.float32).eps ** (1 / 3) == pytest.approx(4.9e-3, rel=0.01)
    assert errors.min() > 1e-7                                 # never reaches float64 agreement


def test_a_kink_inside_the_difference_interval_gives_a_large_error():
    x, h = np.array([1e-6]), 1e-5                              # ReLU's kink lies in [x − h, x + h]
    numeric = numerical_gradient(lambda v: np.sum(np.maximum(v, 0)), x, h=h)
    assert numeric[0] == pytest.approx(0.55)
    assert rel_error(np.array([1.0]), numeric) > 0.1           # analytic 1: looks like a bug
    numeric = numerical_gradient(lambda v: np.sum(np.maximum(v, 0)), np.array([0.5]), h=h)
    assert rel_error(np.array([1.0]), numeric) < 1e-9          # away from the kink: fine


def test_one_wrong_entry_hides_in_a_norm_based_error_over_many_entries():
    rng = np.random.default_rng(0)
    g = rng.normal(size=10_000)
    wrong = g.copy()
    wrong[123] = 0.0                                           # one entry 100% wrong
    assert rel_error(wrong, g) < 1e-2
    assert rel_error(wrong[123:124], g[123:124]) == 1.0        # checked alone, it is obvious


def test_numerical_gradient_needs_two_evaluations_per_entry():
    calls = []

    def f(v):
        calls.append(1)
        return np.sum(v ** 2)

    numerical_gradient(f, np.zeros((3, 4)))
    assert len(calls) == 2 * 12
