"""Finite-difference gradient checking: the referee for every analytic gradient on the site."""

from __future__ import annotations

import numpy as np

from snippets._validation import as_float_array, as_real


# --8<-- [start:numerical_gradient]
def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function f at x.

        df/dx_i ≈ (f(x + h e_i) − f(x − h e_i)) / (2h)      (error O(h²))

    ``x`` (float64) is perturbed in place one entry at a time and restored exactly afterwards,
    also when f raises.

    >>> x = np.array([1.0, -2.0, 3.0])
    >>> numerical_gradient(lambda v: np.sum(v ** 2), x).round(6).tolist()  # exact: 2x
    [2.0, -4.0, 6.0]
    >>> x.tolist()                                                          # x is unchanged
    [1.0, -2.0, 3.0]
    """
    if not callable(f):
        raise ValueError(f"f must be a function of x, got {type(f).__name__}")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError("x must be a float64 numpy array (float32 is too coarse for h=1e-5)")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place (pass x.copy())")
    h = as_real(h, "h", low=0.0, low_open=True)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + h
            f_plus = _scalar(f(x))
            x[i] = old - h
            f_minus = _scalar(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
# --8<-- [end:numerical_gradient]


def _scalar(value) -> float:
    value = np.asarray(value)
    if value.size != 1 or value.dtype.kind not in "iuf":
        raise ValueError(f"f must return a real scalar, got {value.dtype} of shape {value.shape}")
    return float(value.reshape(()))


# --8<-- [start:rel_error]
def rel_error(a, b):
    """Relative error between two arrays, taken over their norms:

        rel_error(a, b) = ‖a − b‖₂ / (‖a‖₂ + ‖b‖₂),   and 0 when a = b = 0

    0 when a == b; about 1e-7 or less means an analytic gradient agrees
    with a centred difference in float64; 1e-2 or more means a bug.

    >>> rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    >>> rel_error(np.zeros(3), np.zeros(3))
    0.0
    >>> round(rel_error(np.array([1.0, 0.0]), np.array([1.001, 0.0])), 6)
    0.0005
    """
    a = as_float_array(a, "a").astype(np.float64)
    b = as_float_array(b, "b").astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b must have the shape of a {a.shape}, got {b.shape}")
    # the ratio does not change when both are divided by their largest entry, and the squares
    # inside the norms then cannot overflow
    largest = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    if largest == 0:
        return 0.0
    a, b = a / largest, b / largest
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
# --8<-- [end:rel_error]
