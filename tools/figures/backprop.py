"""Figures of the Backprop page: computational graphs drawn from snippets.autograd (values and
gradients computed by the engine, layout computed from the topological order) and the
accuracy of finite-difference gradient checks as a function of the step h."""

import numpy as np
from matplotlib.patches import Circle, FancyBboxPatch

from snippets.autograd import Value, graph
from snippets.gradcheck import numerical_gradient, rel_error
from tools.figures._style import figure

VALUE_COLOR, GRAD_COLOR, NODE_COLOR = "#2e7d32", "#c62828", "#3949ab"
OP_SYMBOL = {"+": "+", "-": "−", "*": "×", "/": "÷", "max": "max", "neg": "−x"}
R_OP, BOX_W, BOX_H = 0.26, 0.62, 0.42


def _num(v):
    return f"{v:.4g}".replace("-", "−")


def _name(node):
    if node.children:
        return OP_SYMBOL.get(node.op, node.op)
    return node.label or _num(node.data)


def _layout(root):
    """Positions from the graph alone: an operation sits one column right of its deepest input;
    an input sits just left of the first operation that uses it; rows are tidy-tree slots
    (inputs numbered in depth-first order from the root, each operation at the mean of its
    inputs), so the same graph always gets the same picture."""
    nodes, edges = graph(root)
    col = {}
    for node in nodes:                                        # inputs before their users
        if node.children:
            col[node] = 1 + max(col.get(c, 0) for c in node.children)
    for node in nodes:
        if not node.children:
            users = [p for c, p in edges if c is node]
            col[node] = min(col[p] for p in users) - 1
    row, next_slot = {}, [0]

    def place(node):                                          # children before parent
        stack = [(node, False)]
        while stack:
            n, done = stack.pop()
            if n in row:
                continue
            if not n.children:
                row[n] = next_slot[0]
                next_slot[0] += 1
            elif done:
                row[n] = np.mean([row[c] for c in n.children])
            else:
                stack.append((n, True))
                stack.extend((c, False) for c in reversed(n.children))
    place(root)
    lowest = min(col.values())
    return nodes, edges, {n: (1.9 * (col[n] - lowest), -1.15 * row[n]) for n in nodes}


def _edge_end(pos, node, toward):
    """Point on the node's outline in the direction of ``toward``."""
    (x, y), (tx, ty) = pos[node], toward
    d = np.hypot(tx - x, ty - y) or 1.0
    ux, uy = (tx - x) / d, (ty - y) / d
    if node.children:
        return x + R_OP * ux, y + R_OP * uy
    s = min(BOX_W / 2 / max(abs(ux), 1e-9), BOX_H / 2 / max(abs(uy), 1e-9))
    return x + s * ux, y + s * uy


def _segment_hits(p, q, centre, radius):
    p, q, c = map(np.asarray, (p, q, centre))
    t = np.clip(np.dot(c - p, q - p) / np.dot(q - p, q - p), 0, 1)
    return np.linalg.norm(p + t * (q - p) - c) < radius


def draw_graph(ax, root, output_name="f"):
    """Draw the graph of ``root`` after root.backward(): each arrow carries the forward value of
    its input (green, above) and the gradient that flows back along it, local gradient ×
    upstream gradient (red, below); inputs show their total gradient ∂f/∂input."""
    nodes, edges, pos = _layout(root)
    seen, label_ys = {}, []
    for i, (child, parent) in enumerate(edges):
        k = seen.get(parent, 0)                               # which input of parent this is
        seen[parent] = k + 1
        flow = parent.local_grads[k] * parent.grad            # this use's share of child.grad
        p0, p1 = pos[child], pos[parent]
        twins = [j for j, (c, p) in enumerate(edges) if c is child and p is parent]
        if len(twins) > 1:                                    # x * x: two arrows, bent apart
            rad = -0.35 if twins.index(i) % 2 == 0 else 0.35
        elif any(_segment_hits(p0, p1, pos[n], 0.45) for n in nodes if n not in (child, parent)):
            rad = 0.8                                         # bend around a node in the way
        else:
            rad = 0.0
        a, b = _edge_end(pos, child, p1), _edge_end(pos, parent, p0)
        ax.annotate("", xy=b, xytext=a, arrowprops=dict(
            arrowstyle="-|>", color="#555555", lw=1.4, shrinkA=0, shrinkB=0,
            connectionstyle=f"arc3,rad={rad}"))
        (x0, y0), (x1, y1) = a, b                             # labels near the arrow's middle
        cx, cy = (x0 + x1) / 2 + rad * (y1 - y0), (y0 + y1) / 2 - rad * (x1 - x0)
        t = 0.4 if rad == 0 else 0.5
        mx = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
        my = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
        value = (f"{child.label} = " if child.label and child.children else "") + _num(child.data)
        # green above red; on a bent arrow both go on the outside of the bend
        if rad == 0:
            places = [(my + 0.09, "bottom"), (my - 0.09, "top")]
        elif cy > (y0 + y1) / 2:
            places = [(my + 0.31, "bottom"), (my + 0.09, "bottom")]
        else:
            places = [(my - 0.09, "top"), (my - 0.31, "top")]
        for text, color, (ty, va) in zip((value, _num(flow)), (VALUE_COLOR, GRAD_COLOR), places):
            ax.text(mx, ty, text, color=color, ha="center", va=va, fontsize=10)
            label_ys.append(ty + (0.25 if va == "bottom" else -0.25))
    for node in nodes:
        x, y = pos[node]
        if node.children:
            ax.add_patch(Circle((x, y), R_OP, fc="white", ec=NODE_COLOR, lw=1.6, zorder=3))
            ax.text(x, y, _name(node), ha="center", va="center", zorder=4,
                    fontsize=12 if len(_name(node)) == 1 else 9)
        else:
            ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
                                        boxstyle="round,pad=0.02", fc="#e8eaf6", ec=NODE_COLOR,
                                        lw=1.2, zorder=3))
            ax.text(x, y, _name(node), ha="center", va="center", zorder=4, fontsize=11)
            if node.label:
                ax.text(x - BOX_W / 2 - 0.08, y, f"∂{output_name}/∂{node.label} = {_num(node.grad)}",
                        color=GRAD_COLOR, ha="right", va="center", fontsize=9)
    x, y = pos[root]
    ax.annotate("", xy=(x + 1.3, y), xytext=(x + R_OP, y),
                arrowprops=dict(arrowstyle="-|>", color="#555555", lw=1.4, shrinkA=0, shrinkB=0))
    ax.text(x + 0.75, y + 0.09, f"{output_name} = {_num(root.data)}", color=VALUE_COLOR,
            ha="center", va="bottom", fontsize=10)
    ax.text(x + 0.75, y - 0.09, _num(root.grad), color=GRAD_COLOR, ha="center", va="top",
            fontsize=10)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.9, max(xs) + 1.45)
    ax.set_ylim(min(ys + label_ys) - 0.35, max(ys + label_ys) + 0.35)
    ax.set_aspect("equal")
    ax.axis("off")


def _legend(fig):
    fig.text(0.5, 0.02, "green: forward value     red: gradient flowing back (local × upstream)",
             ha="center", fontsize=9, color="#444444")


def seed_example():
    """f = (x + y)·z at (−2, 5, −4), backpropagated by snippets.autograd (values and gradients)."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    return f


def seed_graph():
    fig, ax = figure(width=7.5, height=3.6)
    draw_graph(ax, seed_example())
    _legend(fig)
    return fig


def gates():
    """The four gate patterns, each receiving an upstream gradient of 2 (via ·2) except the copy
    gate, which shows x used three times in x·x + x."""
    fig, axes = figure(2, 2, width=10, height=6.4)
    for ax, (title, build) in zip(axes.ravel()[:3], [
            ("add gate: distributes", lambda a, b: a + b),
            ("multiply gate: swaps", lambda a, b: a * b),
            ("max gate: routes", lambda a, b: a.max(b))]):
        a, b = Value(3.0, "x"), Value(-1.0, "y")
        out = build(a, b) * 2.0
        out.backward()
        draw_graph(ax, out)
        ax.set_title(title, fontsize=11)
    x = Value(3.0, "x")
    g = x * x + x
    g.backward()
    ax = axes[1, 1]
    draw_graph(ax, g)
    ax.set_title("copy (fan-out): gradients add, 3 + 3 + 1 = 7", fontsize=11)
    _legend(fig)
    return fig


def _difference_errors(h_values):
    """Relative error of three finite-difference gradients of f(v) = Σ tanh(v)·w against the
    exact gradient: centred in float64 (numerical_gradient), one-sided in float64, centred in
    float32."""
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=5), rng.normal(size=5)
    exact = (1 - np.tanh(x) ** 2) * w
    f = lambda v: np.sum(np.tanh(v) * w)                      # noqa: E731
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    f32 = lambda v: np.sum(np.tanh(v) * w32)                  # noqa: E731
    e64, e32 = np.eye(5), np.eye(5, dtype=np.float32)
    centred, one_sided, centred32 = [], [], []
    for h in h_values:
        centred.append(rel_error(numerical_gradient(f, x.copy(), h=h), exact))
        one_sided.append(rel_error(np.array([(f(x + h * e) - f(x)) / h for e in e64]), exact))
        h32 = np.float32(h)
        num32 = [(f32(x32 + h32 * e) - f32(x32 - h32 * e)) / (2 * h32) for e in e32]
        centred32.append(rel_error(np.array(num32, dtype=np.float64), exact))
    return np.array(centred), np.array(one_sided), np.array(centred32)


def gradcheck_step():
    """Relative error of a gradient check against the step h: truncation error on the right,
    floating-point round-off on the left."""
    h = 10.0 ** np.arange(-12, -0.9, 0.125)
    centred, one_sided, centred32 = _difference_errors(h)
    fig, ax = figure(width=7.5, height=4.0)
    ax.loglog(h, centred, label="centred, float64", marker="o", ms=3)
    ax.loglog(h, one_sided, label="one-sided, float64", marker="s", ms=3)
    ax.loglog(h, np.maximum(centred32, 1e-13), label="centred, float32", marker="^", ms=3)
    ax.axvline(np.finfo(np.float64).eps ** (1 / 3), color="gray", ls=":", lw=1)
    ax.text(np.finfo(np.float64).eps ** (1 / 3) * 1.25, 3e-13, "ε$^{1/3}$ (float64)",
            color="gray", fontsize=9)
    ax.axhspan(1e-2, 3, color="#e53935", alpha=0.08)
    ax.text(2e-12, 2e-2, "rel. error > 1e-2: a bug", color="#b71c1c", fontsize=9)
    ax.axhline(1e-7, color="gray", ls="--", lw=1)
    ax.text(2e-12, 1.4e-7, "1e-7", color="gray", fontsize=9)
    ax.set_ylim(1e-13, 3)
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error of the numerical gradient")
    ax.legend(loc="lower right", fontsize=9)
    return fig


FIGURES = {
    "backprop-graph.svg": seed_graph,
    "backprop-gates.svg": gates,
    "backprop-gradcheck-step.svg": gradcheck_step,
}
