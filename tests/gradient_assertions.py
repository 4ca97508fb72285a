"""A helper shared by the test modules (pytest puts tests/ on sys.path)."""

from snippets.gradcheck import numerical_gradient, rel_error

GRAD_TOL = 1e-7


def assert_grad(f, x, analytic, tol=GRAD_TOL):
    """Compare an analytic gradient with centred differences of the scalar function f at x;
    return the relative error (reported in the failure message)."""
    numeric = numerical_gradient(f, x.copy())
    err = rel_error(analytic, numeric)
    assert err < tol, f"relative error {err:.3g} >= {tol:g}"
    return err
