"""NumPy implementations of the formulas shown on the site, one module per topic.

Every public function states its formula in its docstring and carries a doctest with a worked
example; the pages include the code through pymdownx.snippets sections, and the test suite runs
the doctests, finite-difference gradient checks and property tests.

Conventions: NumPy arrays in, NumPy arrays out; float64 stays float64 and float32 stays float32;
batch first; bad input raises ValueError naming the argument; functions never modify their inputs
and take randomness through an explicit ``numpy.random.Generator``. Importing this package needs
only NumPy and the standard library.
"""
