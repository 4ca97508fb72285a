"""The scalar autograd engine, the ‖Wx‖² example and the MLP δ recursion, against finite
differences and the seed notes' worked numbers."""

import math
import random

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from snippets.autograd import (Dual, Value, checkpoint_memory, forward_mode_gradient, graph,
                               mlp_loss_and_grads, reverse_mode_gradient, rnn_bptt,
                               squared_norm_wx, training_memory,
                               topological_order)
from snippets.gradcheck import numerical_gradient, rel_error


# ---------------------------------------------------------------- the seed examples

def test_seed_example_add_then_multiply():
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    assert (q.data, f.data) == (3.0, -12.0)
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (-4.0, -4.0, 3.0, -4.0, 1.0)


def test_seed_example_local_gradients_times_upstream():
    # add gate: local gradients 1 and 1; multiply gate: local gradients are the other input.
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    assert q.local_grads == (1.0, 1.0)
    assert f.local_grads == (z.data, q.data) == (-4.0, 3.0)


def test_seed_max_gate_routes_whole_gradient_to_the_larger_input():
    z, w = Value(2.0), Value(-1.0)
    out = z.max(w) * 2.0                         # upstream gradient 2 reaches the max gate
    out.backward()
    assert (z.grad, w.grad) == (2.0, 0.0)
    z, w = Value(-3.0), Value(-1.0)
    z.max(w).backward()
    assert (z.grad, w.grad) == (0.0, 1.0)


def test_max_gate_tie_splits_gradient_evenly_and_sums_to_one():
    a, b = Value(1.5), Value(1.5)
    a.max(b).backward()
    assert (a.grad, b.grad) == (0.5, 0.5)
    x = Value(4.0)
    x.max(x).backward()                          # max(x, x) = x, so the derivative is 1
    assert x.grad == 1.0


def test_max_with_a_plain_number():
    x = Value(3.0)
    m = x.max(1.0)
    m.backward()
    assert (m.data, x.grad) == (3.0, 1.0)
    x = Value(0.5)
    x.max(1.0).backward()
    assert x.grad == 0.0


# ---------------------------------------------------------------- fan-out (the copy gate)

def test_fan_out_gradients_add():
    x = Value(3.0)
    f = x * x + x                                # df/dx = 2x + 1
    f.backward()
    assert (f.data, x.grad) == (12.0, 7.0)


def test_fan_out_through_two_branches():
    # A feeds B and C; both return gradient to A, which gets the sum.
    a = Value(2.0)
    b = a * 3.0
    c = a.exp()
    f = b + c
    f.backward()
    assert a.grad == pytest.approx(3.0 + math.exp(2.0), rel=1e-15)


def test_shared_intermediate_node_receives_gradient_from_every_use():
    x, y = Value(1.5), Value(-0.5)
    s = x * y                                    # used three times below
    f = s * s + s.tanh() - 2.0 * s
    f.backward()
    ds = 2 * s.data + (1 - math.tanh(s.data) ** 2) - 2.0
    assert s.grad == pytest.approx(ds, rel=1e-14)
    assert x.grad == pytest.approx(ds * y.data, rel=1e-14)
    assert y.grad == pytest.approx(ds * x.data, rel=1e-14)


def test_backward_twice_gives_the_same_gradients():
    x = Value(0.7)
    f = (x * x).tanh() + x
    f.backward()
    first = x.grad
    f.backward()
    assert x.grad == first


# ---------------------------------------------------------------- each operation

def _derivative_check(build, at):
    """Compare Value's derivative of build(x) with a centred difference at x = at."""
    x = Value(at)
    out = build(x)
    out.backward()
    numeric = numerical_gradient(lambda v: build(Value(float(v[0]))).data, np.array([at]))[0]
    err = rel_error(np.array([x.grad]), np.array([numeric]))
    assert err < 1e-8, f"rel error {err:.2e}: analytic {x.grad!r} vs numeric {numeric!r}"
    return out


OPS = {
    "add": (lambda v: v + 2.5, lambda a: a + 2.5),
    "radd": (lambda v: 2.5 + v, lambda a: 2.5 + a),
    "sub": (lambda v: v - 2.5, lambda a: a - 2.5),
    "rsub": (lambda v: 2.5 - v, lambda a: 2.5 - a),
    "mul": (lambda v: v * -1.5, lambda a: a * -1.5),
    "rmul": (lambda v: -1.5 * v, lambda a: -1.5 * a),
    "div": (lambda v: v / 4.0, lambda a: a / 4.0),
    "rdiv": (lambda v: 3.0 / v, lambda a: 3.0 / a),
    "div_by_value": (lambda v: (v + 1.0) / (v * v + 1.0), lambda a: (a + 1) / (a * a + 1)),
    "neg": (lambda v: -v, lambda a: -a),
    "square": (lambda v: v ** 2, lambda a: a ** 2),
    "cube": (lambda v: v ** 3, lambda a: a ** 3),
    "inverse": (lambda v: v ** -1, lambda a: 1 / a),
    "sqrt": (lambda v: (v * v) ** 0.5, lambda a: abs(a)),
    "exp": (lambda v: v.exp(), math.exp),
    "log": (lambda v: (v * v).log(), lambda a: math.log(a * a)),
    "relu": (lambda v: v.relu(), lambda a: max(a, 0.0)),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda a: 1 / (1 + math.exp(-a))),
    "max": (lambda v: v.max(v * 0.5 + 0.2), lambda a: max(a, 0.5 * a + 0.2)),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("at", [-1.3, 0.8, 2.1])
def test_each_operation_value_and_derivative(name, at):
    build, reference = OPS[name]
    out = _derivative_check(build, at)
    assert out.data == pytest.approx(reference(at), rel=1e-14, abs=1e-15)


def test_relu_derivative_at_zero_is_zero_like_pytorch():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0


def test_power_edge_cases():
    x = Value(0.0)
    (x ** 0).backward()                          # x⁰ = 1: derivative 0, no 0 ** −1 evaluated
    assert x.grad == 0.0
    x = Value(0.0)
    (x ** 0.5).backward()                        # √x at 0: infinite slope, as in PyTorch
    assert x.grad == math.inf
    for n, slope in [(1, 1.0), (2, 0.0), (3, 0.0)]:   # xⁿ at 0: n·0ⁿ⁻¹, and 0⁰ = 1 for n = 1
        x = Value(0.0)
        (x ** n).backward()
        assert x.grad == slope, n
    x = Value(-2.0)
    y = x ** 3                                   # negative base, integer exponent is fine
    y.backward()
    assert (y.data, x.grad) == (-8.0, 12.0)


# ---------------------------------------------------------------- random expressions

UNARY = ["neg", "exp", "log", "relu", "tanh", "sigmoid", "square", "cube", "sqrt", "inverse",
         "scale", "shift", "rsub", "rdiv"]
BINARY = ["add", "sub", "mul", "div", "max"]
GUARD = 1e-3    # stay this far from kinks and domain edges, so finite differences are valid

leaf = st.integers(0, 2).map(lambda i: ("leaf", i))
expressions = st.recursive(
    leaf,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(UNARY), sub),
        st.tuples(st.sampled_from(BINARY), sub, sub)),
    max_leaves=8)


def _evaluate(tree, leaves, near_kink):
    """Build the expression with Values; a node whose input is outside its domain is skipped
    (returns its input), so the same tree is defined everywhere. near_kink collects whether
    some kink or domain edge is within GUARD (then finite differences are unreliable)."""
    op = tree[0]
    if op == "leaf":
        return leaves[tree[1]]
    a = _evaluate(tree[1], leaves, near_kink)
    if op in BINARY:
        b = _evaluate(tree[2], leaves, near_kink)
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "max":
            near_kink.append(abs(a.data - b.data) < GUARD)
            return a.max(b)
        near_kink.append(abs(abs(b.data) - 0.2) < GUARD)
        return a / b if abs(b.data) > 0.2 else a
    if op == "neg":
        return -a
    if op == "exp":
        near_kink.append(abs(a.data - 3.0) < GUARD)
        return a.exp() if a.data < 3.0 else a
    if op == "log":
        near_kink.append(abs(a.data - 0.2) < GUARD)
        return a.log() if a.data > 0.2 else a
    if op == "relu":
        near_kink.append(abs(a.data) < GUARD)
        return a.relu()
    if op == "tanh":
        return a.tanh()
    if op == "sigmoid":
        return a.sigmoid()
    if op == "square":
        return a ** 2
    if op == "cube":
        return a ** 3
    if op == "sqrt":
        near_kink.append(abs(a.data - 0.2) < GUARD)
        return a ** 0.5 if a.data > 0.2 else a
    if op == "inverse":
        near_kink.append(abs(abs(a.data) - 0.2) < GUARD)
        return a ** -1 if abs(a.data) > 0.2 else a
    if op == "scale":
        return 0.7 * a
    if op == "shift":
        return a + 0.3
    if op == "rsub":
        return 1.0 - a
    near_kink.append(abs(abs(a.data) - 0.2) < GUARD)
    return 2.0 / a if abs(a.data) > 0.2 else a


@given(tree=expressions,
       point=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3))
def test_random_expressions_match_finite_differences(tree, point):
    leaves = [Value(v, f"x{i}") for i, v in enumerate(point)]
    near_kink = []
    out = _evaluate(tree, leaves, near_kink)
    assume(not any(near_kink) and abs(out.data) < 1e4)
    out.backward()
    analytic = np.array([v.grad for v in leaves])

    def f(p):
        return _evaluate(tree, [Value(float(v)) for v in p], []).data

    numeric = numerical_gradient(f, np.array(point, dtype=np.float64), h=1e-6)
    scale = max(1.0, np.abs(analytic).max(), np.abs(numeric).max())
    err = np.abs(analytic - numeric).max() / scale
    assert err < 1e-5, f"{tree}: max scaled error {err:.2e}, analytic {analytic}, numeric {numeric}"


def _random_tree(rnd, depth):
    if depth == 0 or rnd.random() < 0.15:
        return ("leaf", rnd.randrange(3))
    if rnd.random() < 0.5:
        return (rnd.choice(UNARY), _random_tree(rnd, depth - 1))
    return (rnd.choice(BINARY), _random_tree(rnd, depth - 1), _random_tree(rnd, depth - 1))


@pytest.mark.parametrize("seed", range(40))
def test_seeded_deep_random_expressions_match_finite_differences(seed):
    rnd = random.Random(seed)
    while True:         # draw until the point is away from kinks and the value is moderate
        tree = _random_tree(rnd, 6)
        point = np.array([rnd.uniform(-2, 2) for _ in range(3)])
        leaves = [Value(v) for v in point]
        near_kink = []
        out = _evaluate(tree, leaves, near_kink)
        if not any(near_kink) and abs(out.data) < 1e4:
            break
    out.backward()
    analytic = np.array([v.grad for v in leaves])
    numeric = numerical_gradient(
        lambda p: _evaluate(tree, [Value(float(v)) for v in p], []).data, point, h=1e-6)
    scale = max(1.0, np.abs(analytic).max(), np.abs(numeric).max())
    err = np.abs(analytic - numeric).max() / scale
    assert err < 1e-5, f"max scaled error {err:.2e}, analytic {analytic}, numeric {numeric}"


# ---------------------------------------------------------------- graph structure

def test_graph_of_the_seed_example_for_the_figure():
    from tools.figures.backprop import seed_example

    nodes, edges = graph(seed_example())
    assert [n.label for n in nodes] == ["x", "y", "q", "z", "f"]
    assert [n.op for n in nodes] == ["", "", "+", "", "*"]
    assert [(a.label, b.label) for a, b in edges] == [("x", "q"), ("y", "q"), ("q", "f"),
                                                      ("z", "f")]
    assert [(n.data, n.grad) for n in nodes] == [(-2.0, -4.0), (5.0, -4.0), (3.0, -4.0),
                                                 (-4.0, 3.0), (-12.0, 1.0)]


def test_topological_order_puts_every_node_after_its_children():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d.tanh() * c - b
    order = topological_order(e)
    position = {node: i for i, node in enumerate(order)}
    assert len(order) == len(set(order)) == 7
    assert order[-1] is e
    for node in order:
        for child in node.children:
            assert position[child] < position[node]


def test_edges_count_each_use_of_a_child():
    x = Value(2.0)
    f = x * x
    _, edges = graph(f)
    assert len(edges) == 2 and all(child is x for child, _ in edges)


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + 0.001
    y.backward()
    assert x.grad == 1.0 and len(topological_order(y)) == 10001


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("build, match", [
    (lambda: Value(-1.0).log(), "data"),
    (lambda: Value(0.0).log(), "data"),
    (lambda: Value(0.0) ** -1, "exponent"),
    (lambda: Value(0.0) ** -0.5, "exponent"),
    (lambda: Value(-8.0) ** (1 / 3), "exponent"),
    (lambda: Value(2.0) ** Value(2.0), "exponent"),
    (lambda: Value(2.0) ** "2", "exponent"),
    (lambda: Value(1.0) / 0.0, "other"),
    (lambda: 1.0 / Value(0.0), "other"),
    (lambda: Value(1.0) + "a", "other"),
    (lambda: Value(1.0) * True, "other"),
    (lambda: Value("a"), "data"),
    (lambda: Value(float("nan")), "data"),
    (lambda: Value(float("inf")), "data"),
    (lambda: Value(800.0).exp(), "data"),
    (lambda: Value(1e200) * 1e200, "data"),
    (lambda: Value(10.0) ** 400, "exponent"),
    (lambda: topological_order(3.0), "root"),
])
def test_bad_input_raises_value_error_naming_the_argument(build, match):
    with pytest.raises(ValueError, match=match):
        build()


# ---------------------------------------------------------------- f = ‖Wx‖²

W_SEED = np.array([[0.1, 0.5], [-0.3, 0.8]])
X_SEED = np.array([0.2, 0.4])


def test_squared_norm_seed_numbers():
    f, dW, dx = squared_norm_wx(W_SEED, X_SEED)
    assert f == pytest.approx(0.22 ** 2 + 0.26 ** 2, rel=1e-14)
    np.testing.assert_allclose(dW, [[0.088, 0.176], [0.104, 0.208]], rtol=1e-12)
    np.testing.assert_allclose(dx, [-0.112, 0.636], rtol=1e-12)
    # The seed's figure had dW transposed; the corrected matrix is not symmetric, so the
    # transpose is really wrong.
    assert not np.allclose(dW, dW.T)


@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (1, 4), (4, 3)])
def test_squared_norm_gradients_match_finite_differences(rng, shape):
    W = rng.standard_normal(shape)
    x = rng.standard_normal(shape[1])
    f, dW, dx = squared_norm_wx(W, x)
    assert dW.shape == W.shape and dx.shape == x.shape          # the shape rule
    nW = numerical_gradient(lambda M: squared_norm_wx(M, x)[0], W.copy())
    nx = numerical_gradient(lambda v: squared_norm_wx(W, v)[0], x.copy())
    for name, a, n in (("dW", dW, nW), ("dx", dx, nx)):
        err = rel_error(a, n)
        assert err < 1e-8, f"{name}: rel error {err:.2e}"


def test_squared_norm_agrees_with_the_autograd_engine():
    Wv = [[Value(w) for w in row] for row in W_SEED]
    xv = [Value(v) for v in X_SEED]
    q = [Wv[i][0] * xv[0] + Wv[i][1] * xv[1] for i in range(2)]
    f = q[0] * q[0] + q[1] * q[1]
    f.backward()
    _, dW, dx = squared_norm_wx(W_SEED, X_SEED)
    np.testing.assert_allclose([[w.grad for w in row] for row in Wv], dW, rtol=1e-14)
    np.testing.assert_allclose([v.grad for v in xv], dx, rtol=1e-14)


def test_squared_norm_bad_input():
    with pytest.raises(ValueError, match="x"):
        squared_norm_wx(W_SEED, np.ones(3))
    with pytest.raises(ValueError, match="W"):
        squared_norm_wx(np.ones(2), X_SEED)


# ---------------------------------------------------------------- MLP δ recursion

def _random_mlp(rng, sizes):
    return [(rng.standard_normal((a, b)), rng.standard_normal(b)) for a, b in zip(sizes, sizes[1:])]


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("sizes", [(3, 4), (3, 5, 4), (4, 6, 5, 3)])
def test_mlp_delta_recursion_matches_finite_differences(rng, activation, sizes):
    x = rng.standard_normal((5, sizes[0]))
    y = rng.integers(0, sizes[-1], size=5)
    layers = _random_mlp(rng, sizes)
    loss, grads = mlp_loss_and_grads(x, y, layers, activation)
    assert len(grads) == len(layers)
    for l, ((W, b), (dW, db)) in enumerate(zip(layers, grads)):
        assert dW.shape == W.shape and db.shape == b.shape
        nW = numerical_gradient(
            lambda M: mlp_loss_and_grads(x, y, layers[:l] + [(M, b)] + layers[l + 1:],
                                         activation)[0], W.copy())
        nb = numerical_gradient(
            lambda v: mlp_loss_and_grads(x, y, layers[:l] + [(W, v)] + layers[l + 1:],
                                         activation)[0], b.copy())
        for name, a, n in ((f"dW{l + 1}", dW, nW), (f"db{l + 1}", db, nb)):
            err = rel_error(a, n)
            assert err < 1e-7, f"{activation} {sizes} {name}: rel error {err:.2e}"


def test_mlp_loss_at_zero_weights_is_log_of_class_count():
    x = np.ones((4, 3))
    layers = [(np.zeros((3, 5)), np.zeros(5)), (np.zeros((5, 10)), np.zeros(10))]
    loss, _ = mlp_loss_and_grads(x, np.array([0, 3, 9, 2]), layers)
    assert loss == pytest.approx(math.log(10), rel=1e-14)


def test_mlp_matches_the_autograd_engine_on_one_example():
    rng = np.random.default_rng(3)
    layers = _random_mlp(rng, (2, 3, 2))
    x, y = rng.standard_normal((1, 2)), np.array([1])
    loss, grads = mlp_loss_and_grads(x, y, layers, "sigmoid")
    (W1, b1), (W2, b2) = [([[Value(v) for v in row] for row in W], [Value(v) for v in b])
                          for W, b in layers]
    h = [sum((x[0, i] * W1[i][j] for i in range(2)), b1[j]).sigmoid() for j in range(3)]
    s = [sum((h[i] * W2[i][k] for i in range(3)), b2[k]) for k in range(2)]
    out = (s[0].exp() + s[1].exp()).log() - s[1]          # −log softmax(s)[1]
    out.backward()
    assert out.data == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose([[w.grad for w in row] for row in W1], grads[0][0], rtol=1e-12)
    np.testing.assert_allclose([v.grad for v in b2], grads[1][1], rtol=1e-12)


def test_mlp_does_not_modify_its_inputs(rng):
    layers = _random_mlp(rng, (3, 4, 2))
    copies = [(W.copy(), b.copy()) for W, b in layers]
    x = rng.standard_normal((2, 3))
    x0 = x.copy()
    mlp_loss_and_grads(x, np.array([0, 1]), layers, "relu")
    assert np.array_equal(x, x0)
    for (W, b), (W0, b0) in zip(layers, copies):
        assert np.array_equal(W, W0) and np.array_equal(b, b0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(y=np.array([0, 2])), "y"),
    (dict(y=np.array([0, -1])), "y"),
    (dict(y=np.array([0.0, 1.0])), "y"),
    (dict(y=np.array([0, 1, 1])), "y"),
    (dict(activation="tanh"), "activation"),
    (dict(layers=[(np.ones((4, 2)), np.zeros(2))]), r"layers\[0\]\[0\]"),
    (dict(layers=[(np.ones((3, 2)), np.zeros(3))]), r"layers\[0\]\[1\]"),
    (dict(layers=[]), "layers"),
    (dict(layers=None), "layers must be a non-empty list"),
    (dict(layers=[np.ones((3, 2))]), r"layers\[0\] must be a \(W, b\) pair"),
    (dict(activation=["relu"]), "activation must be one of"),
    (dict(x=np.ones(3)), "x"),
    (dict(x=np.ones((0, 3)), y=np.array([], dtype=int)), "x must hold at least one example"),
])
def test_mlp_bad_input(kwargs, match):
    args = dict(x=np.ones((2, 3)), y=np.array([0, 1]),
                layers=[(np.ones((3, 2)), np.zeros(2))], activation="sigmoid")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mlp_loss_and_grads(**args)


# ---------------------------------------------------------------- the Backprop page's claims

def _gate(build):
    """Run one gate of the page's gate figure: returns the input Values after backward()."""
    a, b = Value(3.0, "x"), Value(-1.0, "y")
    (build(a, b) * 2.0).backward()                # the gate receives an upstream gradient of 2
    return a.grad, b.grad


def test_gate_patterns_shown_in_the_gate_figure():
    assert _gate(lambda a, b: a + b) == (2.0, 2.0)            # add: distributes unchanged
    assert _gate(lambda a, b: a * b) == (-2.0, 6.0)           # multiply: swaps the inputs
    assert _gate(lambda a, b: a.max(b)) == (2.0, 0.0)         # max: routes to the larger input
    x = Value(3.0)
    f = x * x + x                                             # copy: the three uses add up
    f.backward()
    contributions = [local * node.grad for node in topological_order(f)
                     for child, local in zip(node.children, node.local_grads) if child is x]
    assert sorted(contributions) == [1.0, 3.0, 3.0] and sum(contributions) == x.grad == 7.0


def test_each_node_gradient_is_upstream_times_local():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    for node in topological_order(f):
        for child, local in zip(node.children, node.local_grads):
            assert child.grad == local * node.grad    # every child here is used once


def test_full_jacobian_of_wx_with_respect_to_w_is_mostly_zeros(rng):
    """∂q_k/∂W_ij = x_j if k = i else 0: n·n·n entries, only n·n of them nonzero."""
    n = 3
    W, x = rng.standard_normal((n, n)), rng.standard_normal(n)
    jac = np.stack([numerical_gradient(lambda M: (M @ x)[k], W.copy()) for k in range(n)])
    assert jac.shape == (n, n, n)
    expected = np.einsum("ki,j->kij", np.eye(n), x)
    np.testing.assert_allclose(jac, expected, atol=1e-9)
    assert np.count_nonzero(np.abs(jac) > 1e-9) == n * n


def test_squared_norm_gradient_with_respect_to_w_is_a_rank_one_outer_product():
    _, dW, dx = squared_norm_wx(W_SEED, X_SEED)
    assert np.linalg.matrix_rank(dW) == 1
    q = W_SEED @ X_SEED
    np.testing.assert_allclose(dW, 2 * np.outer(q, X_SEED), rtol=1e-15)
    assert dx.shape == X_SEED.shape == (2,)                  # a vector, not a matrix


def test_matrix_multiply_gate_gradients(rng):
    """Y = XW with upstream G = ∂L/∂Y: ∂L/∂X = G Wᵀ and ∂L/∂W = Xᵀ G (the shape rule)."""
    X, W, G = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    nX = numerical_gradient(lambda M: np.sum((M @ W) * G), X.copy())
    nW = numerical_gradient(lambda M: np.sum((X @ M) * G), W.copy())
    assert rel_error(G @ W.T, nX) < 1e-9 and rel_error(X.T @ G, nW) < 1e-9
    assert (G @ W.T).shape == X.shape and (X.T @ G).shape == W.shape


def test_column_vector_form_of_the_delta_recursion_gives_the_same_gradients(rng):
    """Page: for one example as a column vector (z = W a + b, W of shape (fan_out, fan_in)),
    δˡ = f′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ and ∂L/∂Wˡ = δˡ (aˡ⁻¹)ᵀ: the transposes of the code's matrices."""
    from snippets.activations import sigmoid, sigmoid_grad, softmax

    layers = _random_mlp(rng, (3, 4, 2))
    x, y = rng.standard_normal((1, 3)), np.array([1])
    _, grads = mlp_loss_and_grads(x, y, layers, "sigmoid")
    (W1, b1), (W2, b2) = [(W.T, b) for W, b in layers]      # column convention
    a0 = x[0]
    z1 = W1 @ a0 + b1
    a1 = sigmoid(z1)
    z2 = W2 @ a1 + b2
    delta2 = softmax(z2) - np.eye(2)[1]                      # δᴸ = p − y
    delta1 = sigmoid_grad(z1) * (W2.T @ delta2)
    np.testing.assert_allclose(np.outer(delta2, a1), grads[1][0].T, rtol=1e-12)
    np.testing.assert_allclose(np.outer(delta1, a0), grads[0][0].T, rtol=1e-12)
    np.testing.assert_allclose(delta1, grads[0][1], rtol=1e-12)


def test_with_all_weights_zero_only_the_last_layer_gets_a_gradient():
    x = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 2.0]])
    layers = [(np.zeros((3, 4)), np.zeros(4)), (np.zeros((4, 4)), np.zeros(4)),
              (np.zeros((4, 3)), np.zeros(3))]
    _, grads = mlp_loss_and_grads(x, np.array([0, 2]), layers, "sigmoid")
    assert np.all(grads[0][0] == 0) and np.all(grads[1][0] == 0)   # δ = δ Wᵀ ⊙ f′ = 0
    assert np.any(grads[2][0] != 0)
    # and every hidden unit (row) gets the same last-layer gradient: the symmetry is never broken
    assert np.all(grads[2][0] == grads[2][0][0])


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_training_from_all_zero_weights_never_breaks_the_symmetry(activation):
    """Sigmoid: after the first step Wᴸ ≠ 0, so the lower layers do get gradients, but every
    hidden unit of a layer gets the same one. ReLU (f(0) = 0): the hidden outputs stay 0, so only
    the output bias ever learns."""
    x = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 2.0]])
    y = np.array([0, 2])
    layers = [(np.zeros((3, 4)), np.zeros(4)), (np.zeros((4, 4)), np.zeros(4)),
              (np.zeros((4, 3)), np.zeros(3))]
    for step in range(5):
        _, grads = mlp_loss_and_grads(x, y, layers, activation)
        for (dW, db), (W, b) in zip(grads[:-1], layers[:-1]):
            assert np.all(dW == dW[:, :1]) and np.all(db == db[0])     # one column per unit, all equal
            assert np.all(W == W[:, :1])
        lower = max(np.abs(dW).max() for dW, _ in grads[:-1])
        if activation == "relu" or step == 0:
            assert lower == 0
        else:
            assert lower > 1e-4
        if activation == "relu":
            assert np.all(grads[-1][0] == 0) and np.any(grads[-1][1] != 0)
        layers = [(W - 1.0 * dW, b - 1.0 * db) for (W, b), (dW, db) in zip(layers, grads)]


def test_tiny_divisors_and_negative_powers_give_their_finite_value():
    """a/b with |b| < 1e-154: b·b underflows, so the local gradient is −a/b/b (here −inf, honestly
    out of range) while the value 1e200 is fine; likewise b⁻¹, whose derivative −b⁻² overflows."""
    a, b = Value(1.0), Value(1e-200)
    c = a / b
    c.backward()
    assert c.data == pytest.approx(1e200) and a.grad == pytest.approx(1e200) and b.grad == -math.inf
    v = Value(1e-160)
    w = v ** -1
    w.backward()
    assert w.data == pytest.approx(1e160) and v.grad == -math.inf
    u = Value(3.0)
    (u ** 2.5).backward()
    assert u.grad == pytest.approx(2.5 * 3.0 ** 1.5, rel=1e-15)


# ---------------------------------------------------------------- forward mode (JVP) vs reverse (VJP)

def _f_dual_or_value(a, b, c):
    # uses every operation both engines have
    return ((a * b + c / (b * b + 1.0)).tanh() + (a - c).exp() * 0.1 - (b ** 2 + 1.0).log()
            + (2.0 - a).relu() * 3.0 + 1.0 / (c * c + 2.0))


@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_forward_and_reverse_mode_give_the_same_gradient(xs):
    fwd, n_fwd = forward_mode_gradient(_f_dual_or_value, xs)
    rev, n_rev = reverse_mode_gradient(_f_dual_or_value, xs)
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)
    assert (n_fwd, n_rev) == (3, 1)           # n passes forward, one backward pass


def test_forward_mode_matches_finite_differences(rng):
    xs = rng.uniform(-1, 1, 3)
    fwd, _ = forward_mode_gradient(_f_dual_or_value, xs)
    f = lambda v: _f_dual_or_value(*(Dual(t) for t in v)).value   # noqa: E731
    numeric = numerical_gradient(f, xs.copy())
    err = rel_error(np.array(fwd), numeric)
    assert err < 1e-8, f"forward mode vs finite differences: rel error {err:.2e}"


def test_jvp_and_vjp_are_the_two_products_with_the_jacobian(rng):
    # f: R² -> R², f(x) = (x0·x1, tanh(x0) + x1). One Dual pass gives J u; one Value backward of
    # the scalar vᵀf gives vᵀJ; both agree with the explicit Jacobian.
    x, u, v = rng.standard_normal(2), rng.standard_normal(2), rng.standard_normal(2)
    J = np.array([[x[1], x[0]], [1 - np.tanh(x[0]) ** 2, 1.0]])
    a, b = Dual(x[0], u[0]), Dual(x[1], u[1])
    jvp = np.array([(a * b).tangent, (a.tanh() + b).tangent])
    np.testing.assert_allclose(jvp, J @ u, rtol=1e-12)
    A, B = Value(x[0]), Value(x[1])
    (A * B * v[0] + (A.tanh() + B) * v[1]).backward()
    np.testing.assert_allclose([A.grad, B.grad], v @ J, rtol=1e-12)


def test_reverse_mode_cost_does_not_grow_with_the_number_of_inputs():
    for n in (1, 10, 100):
        xs = list(np.linspace(-1, 1, n))
        f = lambda *v: sum((t * t for t in v), 0.0)          # noqa: E731
        fwd, passes = forward_mode_gradient(f, xs)
        rev, one = reverse_mode_gradient(lambda *v: sum((t * t for t in v), Value(0.0)), xs)
        assert passes == n and one == 1
        np.testing.assert_allclose(fwd, 2 * np.array(xs), rtol=1e-12)
        np.testing.assert_allclose(rev, 2 * np.array(xs), rtol=1e-12)


def test_dual_bad_input():
    with pytest.raises(ValueError, match="value"):
        Dual("1")
    with pytest.raises(ValueError, match="log"):
        Dual(0.0).log()
    with pytest.raises(ValueError, match="division"):
        Dual(1.0) / Dual(0.0)
    with pytest.raises(ValueError, match="x"):
        forward_mode_gradient(lambda: 0, [])
    with pytest.raises(ValueError, match="Value"):
        reverse_mode_gradient(lambda a: 1.0, [1.0])


# ---------------------------------------------------------------- backprop through time

def _rnn_case(rng, T=5, N=2, D=3, H=4, scale=0.8):
    return (rng.standard_normal((T, N, D)), rng.standard_normal((N, H)),
            scale * rng.standard_normal((D, H)), scale * rng.standard_normal((H, H)) / np.sqrt(H),
            rng.standard_normal(H), rng.standard_normal((T, N, H)))


def _rnn_loss(x, h0, Wx, Wh, b, dh):
    return float(np.sum(rnn_bptt(x, h0, Wx, Wh, b, dh)[0] * dh))


@pytest.mark.parametrize("T", [1, 2, 6])
def test_bptt_matches_finite_differences(rng, T):
    args = _rnn_case(rng, T=T)
    _, dx, dh0, dWx, dWh, db = rnn_bptt(*args)
    for i, (name, grad) in enumerate(zip(["x", "h0", "Wx", "Wh", "b"], [dx, dh0, dWx, dWh, db])):
        def f(v, i=i):
            a = list(args)
            a[i] = v
            return _rnn_loss(*a)
        numeric = numerical_gradient(f, args[i].copy())
        err = rel_error(grad, numeric)
        assert err < 1e-7, f"BPTT d{name}: rel error {err:.2e}"


def test_truncated_bptt_is_full_bptt_on_each_chunk_with_its_start_state_fixed(rng):
    # truncate=k: detach every k steps. Equal to the sum over chunks of full BPTT on the chunk,
    # started from the (constant) hidden state the forward pass reached.
    x, h0, Wx, Wh, b, dh = _rnn_case(rng, T=7)
    k = 3
    hs, dx, dh0, dWx, dWh, db = rnn_bptt(x, h0, Wx, Wh, b, dh, truncate=k)
    sums = [np.zeros_like(a) for a in (Wx, Wh, b)]
    for start in range(0, 7, k):
        h_start = h0 if start == 0 else hs[start - 1]
        out = rnn_bptt(x[start:start + k], h_start, Wx, Wh, b, dh[start:start + k])
        np.testing.assert_allclose(out[1], dx[start:start + k], rtol=1e-12, atol=1e-14)
        for s_, g in zip(sums, out[3:]):
            s_ += g
        if start == 0:
            np.testing.assert_allclose(out[2], dh0, rtol=1e-12, atol=1e-14)
    for s_, g in zip(sums, (dWx, dWh, db)):
        np.testing.assert_allclose(s_, g, rtol=1e-12, atol=1e-14)


def test_truncation_at_least_t_is_full_bptt_and_shorter_truncation_loses_long_dependencies(rng):
    args = _rnn_case(rng, T=6)
    full = rnn_bptt(*args)
    for k in (6, 7, 50):
        for a, c in zip(full, rnn_bptt(*args, truncate=k)):
            np.testing.assert_array_equal(a, c)
    # a loss on the last step only: with k = 2 the first four inputs get no gradient at all
    dh = np.zeros_like(args[-1])
    dh[-1] = 1.0
    trunc = rnn_bptt(*args[:-1], dh, truncate=2)
    assert np.all(trunc[1][:4] == 0) and np.any(trunc[1][4:] != 0)
    assert np.all(rnn_bptt(*args[:-1], dh)[1][:4] != 0)


def test_bptt_doctest_numbers():
    x = np.ones((3, 1, 1))
    dh = np.eye(3)[2][:, None, None]
    hs, *_, dWh, _ = rnn_bptt(x, np.zeros((1, 1)), np.array([[0.5]]), np.array([[0.9]]),
                              np.zeros(1), dh)
    assert hs[:, 0, 0].round(4).tolist() == [0.4621, 0.724, 0.8183]
    assert round(float(dWh[0, 0]), 4) == 0.3046


def test_bptt_bad_input(rng):
    x, h0, Wx, Wh, b, dh = _rnn_case(rng, T=3)
    with pytest.raises(ValueError, match="Wx"):
        rnn_bptt(x, h0, Wx[:2], Wh, b, dh)
    with pytest.raises(ValueError, match="h0"):
        rnn_bptt(x, h0[:, :2], Wx, Wh, b, dh)
    with pytest.raises(ValueError, match="truncate"):
        rnn_bptt(x, h0, Wx, Wh, b, dh, truncate=0)
    with pytest.raises(ValueError, match="x"):
        rnn_bptt(x[:0], h0, Wx, Wh, b, dh[:0])


# ---------------------------------------------------------------- memory: checkpointing, budget

@given(n=st.integers(1, 400))
def test_checkpointing_minimum_is_about_two_square_roots(n):
    assert checkpoint_memory(n, n) == (n, 0)                # no checkpointing: store all n
    if n == 1:
        return
    cut = [checkpoint_memory(n, s)[0] for s in range(1, n)]
    assert cut == [s + -(-n // s) for s in range(1, n)]
    assert min(cut) >= 2 * math.sqrt(n) - 1e-9              # s + n/s >= 2√n
    s_root = round(math.sqrt(n))
    if 1 <= s_root < n:
        assert checkpoint_memory(n, s_root)[0] <= min(cut) + 1   # s ≈ √n is (nearly) optimal


def test_checkpointing_numbers_on_the_page():
    assert checkpoint_memory(100, 100) == (100, 0)
    assert checkpoint_memory(100, 10) == (20, 90)           # 5 times less, ~one extra forward
    assert min(checkpoint_memory(100, s)[0] for s in range(1, 101)) == 20


def test_checkpointed_backward_recomputes_the_same_gradients(rng):
    # A 12-layer tanh chain; keep only every 4th activation, recompute each segment when the
    # backward pass reaches it: identical gradients, and at most 3 + 4 arrays held at once.
    Ws = [rng.standard_normal((5, 5)) / np.sqrt(5) for _ in range(12)]
    x0 = rng.standard_normal((2, 5))

    def forward(x, layers):
        acts = [x]
        for W in layers:
            acts.append(np.tanh(acts[-1] @ W))
        return acts

    def backward(acts, layers, g):
        dWs = []
        for W, a_in, a_out in zip(reversed(layers), reversed(acts[:-1]), reversed(acts[1:])):
            da = g * (1 - a_out ** 2)
            dWs.append(a_in.T @ da)
            g = da @ W.T
        return dWs[::-1], g

    acts = forward(x0, Ws)
    full, _ = backward(acts, Ws, np.ones_like(acts[-1]))
    s = 3                                                    # segments of 4 layers
    kept = [acts[4 * i] for i in range(s)]                   # the stored segment inputs
    g, pieces, peak = np.ones_like(acts[-1]), [], 0
    for i in reversed(range(s)):
        seg = forward(kept[i], Ws[4 * i:4 * i + 4])          # recompute this segment
        peak = max(peak, len(kept) + len(seg) - 1)
        dWs, g = backward(seg, Ws[4 * i:4 * i + 4], g)
        pieces = dWs + pieces
    for a, c in zip(full, pieces):
        np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-15)
    assert peak == checkpoint_memory(12, 3)[0] == 7 < 12


def test_training_memory_numbers_on_the_page():
    P = 10 ** 8
    assert training_memory(P) == 16 * P == 1.6e9                        # Adam, fp32
    assert training_memory(P, "momentum") == 12 * P
    assert training_memory(P, "sgd") == 8 * P
    assert training_memory(P, mixed_precision=True) == 16 * P          # still 16 bytes
    assert training_memory(7 * 10 ** 9) == 112 * 10 ** 9               # a 7 B model: 112 GB
    # activations scale with the batch; mixed precision halves them
    a = training_memory(0, activations_per_example=10 ** 6, batch_size=64)
    assert a == 4 * 64 * 10 ** 6 == 2 * training_memory(0, mixed_precision=True,
                                                        activations_per_example=10 ** 6,
                                                        batch_size=64)


def test_memory_bad_input():
    with pytest.raises(ValueError, match="segments"):
        checkpoint_memory(10, 11)
    with pytest.raises(ValueError, match="n_layers"):
        checkpoint_memory(0, 1)
    with pytest.raises(ValueError, match="optimizer"):
        training_memory(10, "lion")
    with pytest.raises(ValueError, match="mixed_precision"):
        training_memory(10, mixed_precision=1)
    with pytest.raises(ValueError, match="batch_size"):
        training_memory(10, batch_size=0)
