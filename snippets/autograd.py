"""Backpropagation (the Backprop page): a tiny scalar autograd engine, the ‖Wx‖² example and the
δ recursion of a multi-layer perceptron.

Every ``Value`` remembers the values it was computed from (its children), the operation that
made it, and the local gradient ∂out/∂child of each child. ``backward()`` visits the graph from
the output back to the inputs (reverse topological order) and applies the chain rule:

    child.grad += (∂out/∂child) · out.grad          (local gradient × upstream gradient)

The ``+=`` is the copy gate: a value used in several places (fan-out) receives the sum of the
gradients that flow back along each use.
"""

from __future__ import annotations

import math

import numpy as np

from snippets._validation import as_choice, as_float_array, as_labels, as_list, as_real
from snippets.activations import log_softmax, relu, relu_grad, sigmoid, sigmoid_grad, softmax


# --8<-- [start:Value]
class Value:
    """A scalar node of a computational graph.

    .data         the forward value
    .grad         ∂(output)/∂(this value), filled in by output.backward()
    .children     the values this one was computed from (empty for an input)
    .local_grads  ∂(this value)/∂child, one number per child, computed in the forward pass
    .op, .label   names used to draw the graph

    The seed example f = (x + y)·z at (x, y, z) = (−2, 5, −4): q = x + y = 3, f = q·z = −12;
    ∂f/∂z = q = 3, ∂f/∂q = z = −4, and the add gate passes −4 on to both x and y.

    >>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    >>> q = x + y; q.label = "q"
    >>> f = q * z; f.label = "f"
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad, q.grad
    (-12.0, -4.0, -4.0, 3.0, -4.0)

    Fan-out: x is used twice in x·x + x, so the gradients of both uses add up (2x + 1 = 7).

    >>> x = Value(3.0, "x")
    >>> g = x * x + x
    >>> g.backward()
    >>> g.data, x.grad
    (12.0, 7.0)

    The max gate sends the whole upstream gradient to the larger input (the seed's example:
    max(2, −1) with upstream gradient 2 gives 2 and 0).

    >>> a, b = Value(2.0, "z"), Value(-1.0, "w")
    >>> m = a.max(b) * 2
    >>> m.backward()
    >>> a.grad, b.grad
    (2.0, 0.0)
    """

    def __init__(self, data, label=""):
        self.data = as_real(data, "data")
        self.grad = 0.0
        self.children = ()
        self.local_grads = ()
        self.op = ""
        self.label = str(label)

    @classmethod
    def _node(cls, data, children, local_grads, op):
        """The result of an operation: its value, its inputs and ∂result/∂input for each."""
        out = cls(_finite(data, op))
        out.children = tuple(children)
        out.local_grads = tuple(float(g) for g in local_grads)
        out.op = op
        return out

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data!r}, grad={self.grad!r})"

    # a + b:  ∂/∂a = 1, ∂/∂b = 1   (the add gate distributes the upstream gradient unchanged)
    def __add__(self, other):
        other = _as_value(other)
        return Value._node(self.data + other.data, (self, other), (1.0, 1.0), "+")

    # a − b:  ∂/∂a = 1, ∂/∂b = −1
    def __sub__(self, other):
        other = _as_value(other)
        return Value._node(self.data - other.data, (self, other), (1.0, -1.0), "-")

    # a · b:  ∂/∂a = b, ∂/∂b = a   (the multiply gate swaps its inputs)
    def __mul__(self, other):
        other = _as_value(other)
        return Value._node(self.data * other.data, (self, other), (other.data, self.data), "*")

    # a / b:  ∂/∂a = 1/b, ∂/∂b = −a/b²
    def __truediv__(self, other):
        other = _as_value(other)
        if other.data == 0:
            raise ValueError("other must be nonzero: division by zero")
        a, b = self.data, other.data
        # −a/b/b rather than −a/(b·b): b·b underflows to 0 for |b| < 1e-154
        return Value._node(a / b, (self, other), (1 / b, -a / b / b), "/")

    def __radd__(self, other):                    # 2 + v
        return _as_value(other) + self

    def __rsub__(self, other):                    # 2 − v
        return _as_value(other) - self

    def __rmul__(self, other):                    # 2 · v
        return _as_value(other) * self

    def __rtruediv__(self, other):                # 2 / v
        return _as_value(other) / self

    # −a:  ∂/∂a = −1
    def __neg__(self):
        return Value._node(-self.data, (self,), (-1.0,), "neg")

    # aⁿ for a plain number n:  ∂/∂a = n·aⁿ⁻¹
    def __pow__(self, n):
        if isinstance(n, Value):
            raise ValueError("exponent must be a plain number, not a Value")
        n = as_real(n, "exponent")
        a = self.data
        if a == 0 and n < 0:
            raise ValueError(f"exponent must be >= 0 when the base is 0, got 0 ** {n:g}")
        if a < 0 and not n.is_integer():
            raise ValueError(f"exponent must be an integer when the base is negative, "
                             f"got {a!r} ** {n:g}")
        out = _power(a, n)
        if n == 0:
            local = 0.0
        elif a == 0:
            local = math.inf if n < 1 else n * 0.0 ** (n - 1)   # d/da √a at 0 is inf, as in PyTorch
        else:
            local = n * out / a   # = n·aⁿ⁻¹, without a second power that can overflow when aⁿ does not
        return Value._node(out, (self,), (local,), f"**{n:g}")

    # eᵃ:  ∂/∂a = eᵃ
    def exp(self):
        if self.data > 709.0:
            raise ValueError(f"data must be <= 709 for exp (float64 overflow), got {self.data!r}")
        out = math.exp(self.data)
        return Value._node(out, (self,), (out,), "exp")

    # log a (natural log, a > 0):  ∂/∂a = 1/a
    def log(self):
        if self.data <= 0:
            raise ValueError(f"data must be > 0 for log, got {self.data!r}")
        return Value._node(math.log(self.data), (self,), (1 / self.data,), "log")

    # ReLU(a) = max(0, a):  ∂/∂a = 1 if a > 0 else 0   (0 at the kink, as in PyTorch)
    def relu(self):
        a = self.data
        return Value._node(max(a, 0.0), (self,), (1.0 if a > 0 else 0.0,), "relu")

    # tanh a:  ∂/∂a = 1 − tanh² a
    def tanh(self):
        t = math.tanh(self.data)
        return Value._node(t, (self,), (1 - t * t,), "tanh")

    # σ(a) = 1 / (1 + e⁻ᵃ):  ∂/∂a = σ(a)(1 − σ(a)) ≤ 1/4
    def sigmoid(self):
        s = float(sigmoid(np.float64(self.data)))
        return Value._node(s, (self,), (s * (1 - s),), "sigmoid")

    # max(a, b):  the gradient goes to the larger input (split evenly on a tie, as in PyTorch)
    def max(self, other):
        other = _as_value(other)
        a, b = self.data, other.data
        local = (1.0, 0.0) if a > b else (0.0, 1.0) if b > a else (0.5, 0.5)
        return Value._node(max(a, b), (self, other), local, "max")

    def backward(self):
        """Set every .grad in the graph to ∂self/∂(that value).

        Reverse topological order guarantees that a node's gradient is complete (all of its
        uses have contributed) before it is passed on to its children.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad
# --8<-- [end:Value]


def _as_value(x):
    return x if isinstance(x, Value) else Value(as_real(x, "other"))


def _finite(data, op):
    if not math.isfinite(data):
        raise ValueError(f"data must be finite: {op} overflowed float64, got {data!r}")
    return data


def _power(a, n):
    try:
        return a ** n
    except OverflowError:
        raise ValueError(f"exponent {n:g} overflows float64 for base {a!r}") from None


# --8<-- [start:topological_order]
def topological_order(root):
    """Every node of the graph that computes ``root``, each one after all of its children
    (inputs first, ``root`` last). An iterative depth-first search, so deep graphs do not hit
    Python's recursion limit.

    >>> x, y = Value(1.0, "x"), Value(2.0, "y")
    >>> f = (x * y) + x; f.label = "f"
    >>> [node.label or node.op for node in topological_order(f)]
    ['x', 'y', '*', 'f']
    """
    if not isinstance(root, Value):
        raise ValueError(f"root must be a Value, got {type(root).__name__}")
    order, seen = [], set()
    stack = [(root, False)]                       # (node, its children are already done)
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children))
    return order
# --8<-- [end:topological_order]


# --8<-- [start:graph]
def graph(root):
    """The graph of ``root`` for drawing: ``(nodes, edges)`` with the nodes in topological
    order and one edge (child, parent) per use of a child, so a value used twice by the same
    operation (x * x) has two edges.

    >>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> nodes, edges = graph(f)
    >>> [(n.label or n.op, n.data, n.grad) for n in nodes]
    [('x', -2.0, -4.0), ('y', 5.0, -4.0), ('+', 3.0, -4.0), ('z', -4.0, 3.0), ('*', -12.0, 1.0)]
    >>> [(a.label or a.op, b.op) for a, b in edges]
    [('x', '+'), ('y', '+'), ('+', '*'), ('z', '*')]
    """
    nodes = topological_order(root)
    edges = [(child, node) for node in nodes for child in node.children]
    return nodes, edges
# --8<-- [end:graph]


# --8<-- [start:squared_norm_wx]
def squared_norm_wx(W, x):
    """f(W, x) = ‖Wx‖² = Σᵢ qᵢ²  with  q = Wx, and its gradients:

        ∂f/∂q = 2q,   ∂f/∂W = 2 q xᵀ  (∂f/∂Wᵢⱼ = 2 qᵢ xⱼ),   ∂f/∂x = 2 Wᵀ q

    Each gradient has the shape of the variable it is taken with respect to.
    Returns (f, df/dW, df/dx).

    >>> W = np.array([[0.1, 0.5], [-0.3, 0.8]]); x = np.array([0.2, 0.4])
    >>> (W @ x).round(4).tolist()                                  # q
    [0.22, 0.26]
    >>> f, dW, dx = squared_norm_wx(W, x)
    >>> round(f, 4), dW.round(4).tolist(), dx.round(4).tolist()
    (0.116, [[0.088, 0.176], [0.104, 0.208]], [-0.112, 0.636])
    """
    W = as_float_array(W, "W", ndim=2)
    x = as_float_array(x, "x", ndim=1)
    if W.shape[1] != x.shape[0]:
        raise ValueError(f"x must have shape ({W.shape[1]},) to match W {W.shape}, got {x.shape}")
    q = W @ x
    return float(q @ q), 2 * np.outer(q, x), 2 * W.T @ q
# --8<-- [end:squared_norm_wx]


_HIDDEN = {"sigmoid": (sigmoid, sigmoid_grad), "relu": (relu, relu_grad)}


# --8<-- [start:mlp_loss_and_grads]
def mlp_loss_and_grads(x, y, layers, activation="sigmoid"):
    """Forward and backward pass of a multi-layer perceptron with softmax cross-entropy loss.

    Rows are examples; layers = [(W¹, b¹), …, (Wᴸ, bᴸ)] with Wˡ of shape (fan_in, fan_out).

        forward:   a⁰ = x,   zˡ = aˡ⁻¹ Wˡ + bˡ,   aˡ = f(zˡ) for l < L,   scores = zᴸ
                   loss = −(1/N) Σₙ log softmax(zᴸₙ)[yₙ]
        backward:  δᴸ = (softmax(zᴸ) − onehot(y)) / N                    δˡ = ∂loss/∂zˡ
                   δˡ = (δˡ⁺¹ (Wˡ⁺¹)ᵀ) ⊙ f′(zˡ)                           the δ recursion
                   ∂loss/∂Wˡ = (aˡ⁻¹)ᵀ δˡ,    ∂loss/∂bˡ = Σₙ δˡₙ

    For one example written as a column vector (zˡ = Wˡ aˡ⁻¹ + bˡ) the same recursion reads
    δˡ = f′(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ and ∂loss/∂Wˡ = δˡ (aˡ⁻¹)ᵀ; ⊙ is the elementwise product.
    f is ``sigmoid`` or ``relu``. Returns (loss, [(∂loss/∂W¹, ∂loss/∂b¹), …]).

    >>> x = np.array([[1.0, 2.0]]); y = np.array([1])
    >>> layers = [(np.array([[0.1, -0.2], [0.3, 0.4]]), np.zeros(2)),
    ...           (np.array([[0.5, -0.5], [-0.3, 0.2]]), np.zeros(2))]
    >>> loss, grads = mlp_loss_and_grads(x, y, layers)
    >>> round(loss, 4)
    0.8807
    >>> grads[1][0].round(4).tolist(), grads[1][1].round(4).tolist()    # ∂loss/∂W², ∂loss/∂b²
    ([[0.3912, -0.3912], [0.378, -0.378]], [0.5855, -0.5855])
    >>> grads[0][0].round(4).tolist(), grads[0][1].round(4).tolist()    # ∂loss/∂W¹, ∂loss/∂b¹
    ([[0.1298, -0.067], [0.2596, -0.134]], [0.1298, -0.067])
    """
    x = as_float_array(x, "x", ndim=2)
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one example (row)")
    f, f_grad = _HIDDEN[as_choice(activation, tuple(_HIDDEN), "activation")]
    layers = _mlp_layers(layers, x.shape[1])
    y = as_labels(y, x.shape[0], layers[-1][0].shape[1])

    a, zs, inputs = x, [], []                     # inputs[l] = aˡ⁻¹, zs[l] = zˡ
    for l, (W, b) in enumerate(layers):
        inputs.append(a)
        z = a @ W + b
        zs.append(z)
        a = f(z) if l < len(layers) - 1 else z
    n = x.shape[0]
    loss = float(-log_softmax(zs[-1])[np.arange(n), y].mean())

    delta = softmax(zs[-1])
    delta[np.arange(n), y] -= 1
    delta /= n                                    # δᴸ
    grads = [None] * len(layers)
    for l in reversed(range(len(layers))):
        grads[l] = (inputs[l].T @ delta, delta.sum(axis=0))
        if l > 0:
            delta = (delta @ layers[l][0].T) * f_grad(zs[l - 1])   # δˡ⁻¹ from δˡ
    return loss, grads
# --8<-- [end:mlp_loss_and_grads]


def _mlp_layers(layers, n_features):
    """Validate [(W, b), ...]: W (fan_in, fan_out) chained, b (fan_out,)."""
    out, fan_in = [], n_features
    for i, layer in enumerate(as_list(layers, "layers", pairs=True)):
        W = as_float_array(layer[0], f"layers[{i}][0]", ndim=2)
        b = as_float_array(layer[1], f"layers[{i}][1]", ndim=1)
        if W.shape[0] != fan_in:
            raise ValueError(f"layers[{i}][0] must have {fan_in} rows, got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"layers[{i}][1] must have shape ({W.shape[1]},), got {b.shape}")
        out.append((W, b))
        fan_in = W.shape[1]
    return out
