"""Backpropagation (the Backprop page): a tiny scalar autograd engine, the ‖Wx‖² example and the
δ recursion of a multi-layer perceptron, forward-mode dual numbers (JVPs) beside the reverse-mode
engine (VJPs), backpropagation through time with truncation, and the memory arithmetic of training
(optimizer state, activation checkpointing).

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

from snippets._validation import as_choice, as_flag, as_float_array, as_int, as_labels, as_list, as_real
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


# --8<-- [start:Dual]
class Dual:
    """Forward mode: a dual number value + tangent·ε with ε² = 0. Every operation carries the
    derivative along with the value, so one forward pass computes a Jacobian-vector product

        J u = d/dt f(x + t·u) at t = 0          (seed the inputs' tangents with u)

    — one input direction per pass, whereas Value.backward() (reverse mode) gives a
    vector-Jacobian product vᵀJ — all inputs at once, one output per pass.

    >>> x, y = Dual(3.0, 1.0), Dual(2.0, 0.0)          # d/dx at (3, 2)
    >>> f = x * y + x.exp() / y
    >>> round(f.value, 4), round(f.tangent, 4)          # f, ∂f/∂x = y + eˣ/y
    (16.0428, 12.0428)
    """

    def __init__(self, value, tangent=0.0):
        self.value = as_real(value, "value")
        self.tangent = as_real(tangent, "tangent")

    def __repr__(self):
        return f"Dual(value={self.value:g}, tangent={self.tangent:g})"

    def __add__(self, other):
        other = _as_dual(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    def __sub__(self, other):
        other = _as_dual(other)
        return Dual(self.value - other.value, self.tangent - other.tangent)

    def __mul__(self, other):                     # (a + a'ε)(b + b'ε) = ab + (a'b + ab')ε
        other = _as_dual(other)
        return Dual(self.value * other.value,
                    self.tangent * other.value + self.value * other.tangent)

    def __truediv__(self, other):
        other = _as_dual(other)
        if other.value == 0:
            raise ValueError("division by a Dual whose value is 0")
        return Dual(self.value / other.value,
                    (self.tangent * other.value - self.value * other.tangent) / other.value ** 2)

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return _as_dual(other) - self

    def __rtruediv__(self, other):
        return _as_dual(other) / self

    def __neg__(self):
        return Dual(-self.value, -self.tangent)

    def __pow__(self, n):                         # constant exponent: (aⁿ)' = n aⁿ⁻¹ a'
        n = as_real(n, "exponent")
        return Dual(_power(self.value, n), n * _power(self.value, n - 1) * self.tangent
                    if n != 0 else 0.0)

    def exp(self):
        e = _finite(math.exp(min(self.value, 710.0)), "exp")
        return Dual(e, e * self.tangent)

    def log(self):
        if self.value <= 0:
            raise ValueError(f"log needs a positive value, got {self.value!r}")
        return Dual(math.log(self.value), self.tangent / self.value)

    def tanh(self):
        t = math.tanh(self.value)
        return Dual(t, (1 - t * t) * self.tangent)

    def relu(self):                               # derivative 0 at 0, as PyTorch
        return Dual(max(self.value, 0.0), self.tangent if self.value > 0 else 0.0)
# --8<-- [end:Dual]


def _as_dual(x):
    return x if isinstance(x, Dual) else Dual(as_real(x, "other"), 0.0)


# --8<-- [start:gradient_modes]
def forward_mode_gradient(f, x):
    """∇f of a scalar function of n inputs by forward mode: n passes, pass i seeds the tangent
    eᵢ and reads ∂f/∂xᵢ. Returns (gradient, number of passes).

    >>> forward_mode_gradient(lambda a, b, c: (a + b) * c, [-2.0, 5.0, -4.0])
    ([-4.0, -4.0, 3.0], 3)
    """
    x = [as_real(v, "x") for v in as_list(list(x), "x")]
    grad = []
    for i in range(len(x)):
        out = f(*(Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)))
        grad.append(_as_dual(out).tangent)
    return grad, len(x)


def reverse_mode_gradient(f, x):
    """∇f of a scalar function of n inputs by reverse mode (Value.backward): one forward and
    one backward pass, whatever n is. Returns (gradient, number of backward passes).

    >>> reverse_mode_gradient(lambda a, b, c: (a + b) * c, [-2.0, 5.0, -4.0])
    ([-4.0, -4.0, 3.0], 1)
    """
    inputs = [Value(as_real(v, "x")) for v in as_list(list(x), "x")]
    out = f(*inputs)
    if not isinstance(out, Value):
        raise ValueError("f must return a Value computed from its inputs")
    out.backward()
    return [v.grad for v in inputs], 1
# --8<-- [end:gradient_modes]


# --8<-- [start:rnn_bptt]
def rnn_bptt(x, h0, Wx, Wh, b, dh, truncate=None):
    """A tanh RNN over T steps and its backward pass through time (BPTT). Rows are examples:

        forward:   h_t = tanh(x_t Wx + h_{t−1} Wh + b),   t = 1 … T
        backward:  h̄_t = g_t + (h̄_{t+1} ⊙ (1 − h_{t+1}²)) Whᵀ        (h̄_{T+1} = 0)
                   ∂L/∂Wh = Σ_t h_{t−1}ᵀ (h̄_t ⊙ (1 − h_t²)),  likewise Wx (with x_t) and b

    where g_t = dh[t] = ∂L/∂h_t is the loss's direct gradient at step t. Wh is shared by every
    step, so its gradient sums over time. truncate=k (truncated BPTT) detaches the hidden state
    every k steps, as ``h = h.detach()`` between chunks in PyTorch: the gradient flows back at
    most to the start of its chunk, so memory and cost per update are O(k), not O(T), and
    dependencies longer than k steps get no gradient. Shapes: x (T, N, D), h0 (N, H), Wx (D, H),
    Wh (H, H), b (H,), dh (T, N, H). Returns (hs (T, N, H), dx, dh0, dWx, dWh, db).

    >>> x = np.ones((3, 1, 1))                       # T = 3 steps, loss = h_3
    >>> hs, dx, dh0, dWx, dWh, db = rnn_bptt(x, np.zeros((1, 1)), np.array([[0.5]]),
    ...                                      np.array([[0.9]]), np.zeros(1), np.eye(3)[2][:, None, None])
    >>> hs[:, 0, 0].round(4).tolist(), round(float(dWh[0, 0]), 4)
    ([0.4621, 0.724, 0.8183], 0.3046)
    >>> round(float(rnn_bptt(x, np.zeros((1, 1)), np.array([[0.5]]), np.array([[0.9]]),   # k = 1
    ...                      np.zeros(1), np.eye(3)[2][:, None, None], truncate=1)[4][0, 0]), 4)
    0.2392
    """
    x = as_float_array(x, "x", ndim=3)
    h0 = as_float_array(h0, "h0", ndim=2)
    Wx = as_float_array(Wx, "Wx", ndim=2)
    Wh = as_float_array(Wh, "Wh", ndim=2)
    b = as_float_array(b, "b", ndim=1)
    dh = as_float_array(dh, "dh", ndim=3)
    T, N, D = x.shape
    H = Wh.shape[0]
    if T == 0:
        raise ValueError("x must have at least one time step (shape (T, N, D) with T >= 1)")
    if Wx.shape != (D, H) or Wh.shape != (H, H):
        raise ValueError(f"Wx must be (D, H) = ({D}, H) and Wh (H, H), got {Wx.shape}, {Wh.shape}")
    if h0.shape != (N, H) or b.shape != (H,) or dh.shape != (T, N, H):
        raise ValueError(f"h0 must be (N, H) = {(N, H)}, b (H,) and dh (T, N, H) = {(T, N, H)}, "
                         f"got {h0.shape}, {b.shape}, {dh.shape}")
    k = T if truncate is None else as_int(truncate, "truncate", 1)
    hs = np.empty((T, N, H), dtype=np.result_type(x, h0, Wx, Wh, b))
    h = h0
    for t in range(T):
        h = np.tanh(x[t] @ Wx + h @ Wh + b)
        hs[t] = h
    dx = np.zeros_like(x)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    carry = np.zeros((N, H))                       # h̄ arriving from step t + 1
    dh0 = np.zeros_like(h0)
    for t in reversed(range(T)):
        if (t + 1) % k == 0:                       # the next step starts a new chunk: detached
            carry = np.zeros((N, H))
        da = (dh[t] + carry) * (1 - hs[t] ** 2)   # through tanh
        h_prev = hs[t - 1] if t > 0 else h0
        dWx += x[t].T @ da
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
        dx[t] = da @ Wx.T
        carry = da @ Wh.T
        if t == 0:
            dh0 = carry
    return hs, dx, dh0, dWx, dWh, db
# --8<-- [end:rnn_bptt]


# --8<-- [start:checkpoint_memory]
def checkpoint_memory(n_layers, segments):
    """Activation checkpointing of a chain of n layers cut into s segments: keep only the s
    segment inputs in the forward pass, and in the backward pass recompute one segment at a
    time. Peak stored activations (in layer outputs) and extra layer evaluations:

        M(s) = s + ⌈n/s⌉,        recompute = n − s  (about one extra forward pass)

    s = 1 or s = n stores everything (no checkpointing: n); s ≈ √n gives the minimum ≈ 2√n.

    >>> checkpoint_memory(100, 100), checkpoint_memory(100, 10), checkpoint_memory(100, 4)
    ((100, 0), (20, 90), (29, 96))
    """
    n = as_int(n_layers, "n_layers", 1)
    s = as_int(segments, "segments", 1)
    if s > n:
        raise ValueError(f"segments must be between 1 and n_layers = {n}, got {s}")
    if s == n:
        return n, 0
    return s + -(-n // s), n - s
# --8<-- [end:checkpoint_memory]


_STATE_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2}


# --8<-- [start:training_memory]
def training_memory(n_params, optimizer="adam", mixed_precision=False,
                    activations_per_example=0, batch_size=1):
    """Bytes a training step holds: weights, gradients and optimizer state per parameter, plus
    the activations kept for the backward pass, which grow with the batch:

        fp32:             (4 + 4 + 4·k) · P  +  4 · A · B
        mixed precision:  (2 + 2 + 4 + 4·k) · P  +  2 · A · B     (fp32 master weights)

    k = 0 (SGD), 1 (SGD with momentum), 2 (Adam/AdamW: m and v); A activations per example,
    B the batch size. Adam costs 16 bytes per parameter either way: mixed precision saves
    activation memory and time, not optimizer memory.

    >>> training_memory(10**8) / 1e9, training_memory(10**8, "sgd") / 1e9     # 100 M parameters
    (1.6, 0.8)
    >>> training_memory(10**8, mixed_precision=True) / 1e9
    1.6
    """
    P = as_int(n_params, "n_params", 0)
    k = _STATE_SLOTS[as_choice(optimizer, tuple(_STATE_SLOTS), "optimizer")]
    mixed = as_flag(mixed_precision, "mixed_precision")
    A = as_int(activations_per_example, "activations_per_example", 0)
    B = as_int(batch_size, "batch_size", 1)
    per_param = (2 + 2 + 4 + 4 * k) if mixed else (4 + 4 + 4 * k)
    return per_param * P + (2 if mixed else 4) * A * B
# --8<-- [end:training_memory]
