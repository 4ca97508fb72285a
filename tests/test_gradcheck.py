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


@pytest.mark.parametrize("call, message", [
    (lambda: numerical_gradient(np.sum, np.zeros(3, dtype=np.float32)), "x must be a float64"),
    (lambda: numerical_gradient(np.sum, [1.0, 2.0]), "x must be a float64"),
    (lambda: numerical_gradient(lambda v: v, np.zeros(3)), "f must return a scalar"),
    (lambda: numerical_gradient(np.sum, np.zeros(3), h=0), "h must be"),
    (lambda: rel_error(np.zeros(2), np.zeros(3)), "b must have the shape of a"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
