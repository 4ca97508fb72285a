"""Input checks shared by the snippet modules; each raises ValueError naming the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a floating-point array: float16/32/64 are kept, ints and bools become float64."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of real numbers: {err}") from None
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind != "f":
        raise ValueError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return arr


def as_real(value, name: str, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a Python float after checking it is finite and inside the interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be a finite number in {left}{lo}, {hi}{right}, got {value!r}")
    return value


def check_axis(axis, ndim: int, name: str = "axis") -> int:
    """Return ``axis`` as a non-negative index into an array with ``ndim`` dimensions."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array with {ndim} dimension(s)")
    return int(axis) % ndim


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise when two arrays that must match elementwise have different shapes."""
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {a.shape}, got {b.shape}")


def as_int(value, name: str, low: int = 0) -> int:
    """Return ``value`` as a Python int after checking it is an integer (not a bool) >= low."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """Randomness comes in explicitly, as a numpy.random.Generator (reproducible, no global state)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name} must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def as_labels(y, n: int, num_classes: int, name: str = "y") -> np.ndarray:
    """Integer class indices: any integer dtype, shape (n,), each in [0, num_classes − 1]."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an array of integer class indices, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per row, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{name} must hold class indices in [0, {num_classes - 1}], "
                         f"got values from {y.min()} to {y.max()}")
    return y


def as_choice(value, options, name: str) -> str:
    """One of a few named options, given as a string."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def as_flag(value, name: str) -> bool:
    """True or False itself: a flag read by truthiness would take the string "False" as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def as_list(items, name: str, pairs: bool = False) -> list:
    """A non-empty list or tuple (of (W, b) pairs when ``pairs``), e.g. a network's layers."""
    if not isinstance(items, (list, tuple)) or len(items) == 0:
        raise ValueError(f"{name} must be a non-empty list, got {type(items).__name__}")
    if pairs:
        for i, item in enumerate(items):
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(f"{name}[{i}] must be a (W, b) pair, got {type(item).__name__}")
    return list(items)
