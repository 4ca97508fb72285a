"""Figures and the speedup table of the CNN page, computed with snippets.cnn."""

import time

import numpy as np
from matplotlib.patches import Rectangle

from snippets import cnn
from tools.figures._style import figure

BLUE, ORANGE, GREY, RED = "#3949ab", "#fb8c00", "#d9d9d9", "#e53935"


def _image_axes(ax):
    """An image panel: no ticks or grid, a thin grey frame on all four sides."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color("#999")
        spine.set_linewidth(0.8)


# ---------------------------------------------------------------- padding and stride

def _grid(ax, x0, y0, n, fill=None, lw=0.8):
    """Draw an n×n grid of unit cells with its top-left corner at (x0, y0) (y grows down)."""
    for i in range(n):
        for j in range(n):
            face = fill[i][j] if fill is not None else "white"
            ax.add_patch(Rectangle((x0 + j, y0 + i), 1, 1, facecolor=face, edgecolor="#555",
                                   lw=lw))


def _window(ax, x0, y0, size, color, inset=0.0, lw=2.6):
    ax.add_patch(Rectangle((x0 + inset, y0 + inset), size - 2 * inset, size - 2 * inset,
                           fill=False, edgecolor=color, lw=lw))


def _padding_panel(ax, n, f, stride, padding):
    """Padded input (zeros grey) with the first two windows, and the output grid they produce.
    A stride that does not tile is drawn the way PyTorch floors it: the unread pixels in red."""
    m = n + 2 * padding
    try:
        n_out = cnn.conv_output_size(n, f, padding, stride, exact=True)
        tiles = True
    except ValueError:                          # floor mode: crop the input until it tiles
        used = (m - f) // stride * stride + f
        n_out = cnn.conv_output_size(used - 2 * padding, f, padding, stride)
        tiles = False
    fill = [["white"] * m for _ in range(m)]
    for i in range(m):
        for j in range(m):
            if min(i, j) < padding or max(i, j) >= padding + n:
                fill[i][j] = GREY
    if not tiles:
        reach = (n_out - 1) * stride + f        # the windows read rows/columns [0, reach)
        for i in range(m):
            for j in range(m):
                if i >= reach or j >= reach:
                    fill[i][j] = "#ffcdd2"
    _grid(ax, 0, 0, m, fill)
    for i in range(m):
        for j in range(m):
            if fill[i][j] == GREY:
                ax.text(j + 0.5, i + 0.5, "0", ha="center", va="center", fontsize=7, color="#777")
    _window(ax, 0, 0, f, BLUE, inset=0.06)
    _window(ax, stride, 0, f, ORANGE, inset=0.16)
    gap = 1.6
    x_out = m + gap
    y_out = (m - n_out) / 2
    out_fill = [["white"] * n_out for _ in range(n_out)]
    out_fill[0][0] = "#c5cae9"
    out_fill[0][1] = "#ffe0b2"
    _grid(ax, x_out, y_out, n_out, out_fill)
    ax.annotate("", xy=(x_out - 0.2, m / 2), xytext=(m + 0.2, m / 2),
                arrowprops=dict(arrowstyle="->", lw=1.5, color="#333"))
    name = "same" if padding and n_out == n else ("valid" if not padding else "")
    title = f"N={n}, F={f}, S={stride}, P={padding} ({name}): output {n_out}×{n_out}"
    if not tiles:
        title = (f"N={n}, F={f}, S={stride}: ({n}−{f})/{stride}+1 is not an integer;\n"
                 f"floor mode gives {n_out}×{n_out}, the red pixels are never read")
    ax.set_title(title, fontsize=10)
    ax.text(m / 2, m + 0.5, "input" + (" + zero padding" if padding else ""), ha="center",
            va="top", fontsize=9)
    ax.text(x_out + n_out / 2, y_out + n_out + 0.5, "output", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.3, 7 + gap + 5 + 0.3)                 # the same scale in every panel
    ax.set_ylim(7 + 1.4, -0.3)
    ax.set_aspect("equal")
    ax.axis("off")


def padding_stride():
    fig, axes = figure(2, 2, width=10, height=7.4)
    for ax, (n, f, s, p) in zip(axes.ravel(), [(7, 3, 1, 0), (7, 3, 2, 0), (7, 3, 3, 0),
                                               (5, 3, 1, 1)]):
        _padding_panel(ax, n, f, s, p)
    return fig


# ---------------------------------------------------------------- coverage counts

def coverage():
    cases = [(0, 1), (0, 2), (1, 1), (1, 2)]            # (padding, stride), N = 7, F = 3
    fig, axes = figure(2, 2, width=7.2, height=6.9)
    for ax, (p, s) in zip(axes.ravel(), cases):
        c = cnn.coverage_counts(7, 3, stride=s, padding=p)
        ax.imshow(c, cmap="Blues", vmin=0, vmax=12)
        for i in range(7):
            for j in range(7):
                ax.text(j, i, str(c[i, j]), ha="center", va="center", fontsize=10,
                        color="white" if c[i, j] >= 7 else "black")
        n_out = cnn.conv_output_size(7, 3, p, s)
        kind = "valid (P=0)" if p == 0 else "same (P=1)"
        ax.set_title(f"{kind}, S={s}: output {n_out}×{n_out}", fontsize=10)
        _image_axes(ax)
    return fig


# ---------------------------------------------------------------- feature maps

def synthetic_image(size=32):
    """A bright square and a plus sign on a dark background."""
    img = np.zeros((size, size))
    img[5:15, 5:15] = 1.0                          # square
    img[18:29, 22:25] = 1.0                        # plus: vertical bar
    img[22:25, 18:29] = 1.0                        # plus: horizontal bar
    img[np.arange(17, 29), np.arange(4, 16)] = 1.0  # a diagonal line
    return img


EDGE_FILTERS = [
    ("vertical edges", np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])),
    ("horizontal edges", np.array([[-1.0, -2, -1], [0, 0, 0], [1, 2, 1]])),
    ("diagonal", np.array([[2.0, -1, -1], [-1, 2, -1], [-1, -1, 2]])),
    ("blur (mean)", np.full((3, 3), 1 / 9)),
]


def feature_maps():
    img = synthetic_image()
    x = img[None, None]
    w = np.stack([k for _, k in EDGE_FILTERS])[:, None]          # (4, 1, 3, 3)
    out = cnn.conv2d(x, w, np.zeros(len(EDGE_FILTERS)), stride=1, padding=cnn.same_padding(3))
    pooled = cnn.max_pool2d(np.maximum(out, 0), size=2, stride=2)
    fig = figure(width=10, height=10)[0]
    fig.clf()
    gs = fig.add_gridspec(len(EDGE_FILTERS), 4, width_ratios=[1.1, 0.7, 1.1, 1.1])
    ax = fig.add_subplot(gs[:, 0])
    ax.imshow(img, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"input {img.shape[0]}×{img.shape[1]}", fontsize=10)
    for r, (name, k) in enumerate(EDGE_FILTERS):
        axk = fig.add_subplot(gs[r, 1])
        axk.imshow(k, cmap="RdBu_r", vmin=-2.5, vmax=2.5)
        for i in range(3):
            for j in range(3):
                label = "1/9" if np.isclose(k[i, j], 1 / 9) else f"{k[i, j]:g}"
                axk.text(j, i, label, ha="center", va="center", fontsize=8,
                         color="white" if abs(k[i, j]) >= 1.5 else "black")
        axk.set_title(name, fontsize=9)
        axo = fig.add_subplot(gs[r, 2])
        m = np.abs(out[0, r]).max()
        axo.imshow(out[0, r], cmap="RdBu_r", vmin=-m, vmax=m)
        axo.set_title(f"conv: {out.shape[2]}×{out.shape[3]}", fontsize=9)
        axp = fig.add_subplot(gs[r, 3])
        axp.imshow(pooled[0, r], cmap="gray_r", vmin=0)
        axp.set_title(f"ReLU + 2×2 max pool: {pooled.shape[2]}×{pooled.shape[3]}", fontsize=9)
    for a in fig.axes:
        _image_axes(a)
    return fig


# ---------------------------------------------------------------- receptive field

def _cone(layers, n_top, top):
    """Which units of every layer (1-D, valid convolutions / pools) one top unit depends on:
    back-propagate a one-hot gradient through all-ones filters with conv2d_backward."""
    sizes = [n_top]
    for k, s in reversed(layers):
        sizes.append((sizes[-1] - 1) * s + k)
    sizes = sizes[::-1]                                  # sizes[0] = input width
    g = np.zeros((1, 1, 1, n_top))
    g[0, 0, 0, top] = 1.0
    masks = [g[0, 0, 0] != 0]
    for (k, s), n in zip(reversed(layers), reversed(sizes[:-1])):
        g, _, _ = cnn.conv2d_backward(g, np.zeros((1, 1, 1, n)), np.ones((1, 1, 1, k)),
                                      np.zeros(1), stride=s)
        masks.append(g[0, 0, 0] != 0)
    return sizes, masks[::-1]


def receptive_field_growth():
    fig, (ax, ax2) = figure(1, 2, width=11, height=4.4, gridspec_kw={"width_ratios": [1.25, 1]})
    layers = [(3, 1)] * 3
    sizes, masks = _cone(layers, 3, 1)
    width = sizes[0]
    for l, (n, mask) in enumerate(zip(sizes, masks)):
        offset = (width - n) / 2
        xs = offset + np.arange(n)
        ax.scatter(xs, np.full(n, l), s=160, c=[BLUE if m else "white" for m in mask],
                   edgecolors="#333", zorder=3)
        if l > 0:                                         # edges from a unit to its inputs
            k, s = layers[l - 1]
            prev_off = (width - sizes[l - 1]) / 2
            for i in np.flatnonzero(mask):
                for p in range(k):
                    ax.plot([offset + i, prev_off + i * s + p], [l, l - 1], color=BLUE, lw=1,
                            zorder=1)
        label = "input" if l == 0 else f"conv {l} (3×3)"
        ax.text(-1.2, l, label, ha="right", va="center", fontsize=9)
        ax.text(width + 0.3, l, f"r = {cnn.receptive_field(layers[:l])}", ha="left",
                va="center", fontsize=9, color=BLUE)
    ax.set_xlim(-4.5, width + 1.8)
    ax.set_ylim(-0.6, len(layers) + 0.6)
    ax.axis("off")
    ax.set_title(f"one unit of the third 3×3 layer sees {cnn.receptive_field(layers)} input pixels",
                 fontsize=10)
    depth = np.arange(0, 11)
    stacks = [("3×3 conv, stride 1", [(3, 1)] * 10),
              ("3×3 conv + 2×2 pool (stride 2), alternating", [(3, 1), (2, 2)] * 5),
              ("3×3 conv, stride 2", [(3, 2)] * 10)]
    for name, stack in stacks:
        ax2.plot(depth, [cnn.receptive_field(stack[:d]) for d in depth], marker="o", ms=4,
                 label=name)
    ax2.set_yscale("log", base=2)
    ticks = [2 ** k for k in range(0, 12, 2)]
    ax2.set_yticks(ticks, [str(t) for t in ticks])
    ax2.set_xlabel("number of layers")
    ax2.set_ylabel("receptive field (input pixels)")
    ax2.legend(fontsize=8, loc="upper left")
    return fig


# ---------------------------------------------------------------- equivariance / invariance

def shapes_image(size=24):
    """A small 'key' shape (a square with a bar) on a dark background, away from the border."""
    img = np.zeros((size, size))
    img[4:10, 4:10] = 1.0
    img[6:8, 10:14] = 1.0
    return img


SHIFT = (7, 6)


def equivariance():
    """conv (then ReLU) of an image and of the image shifted by SHIFT: the feature map shifts with
    the input (equivariance); a 2×2 max pool of it is not an exact shifted copy for an odd shift;
    global average pooling gives the same number (invariance)."""
    img = shapes_image()
    shifted = np.roll(img, SHIFT, axis=(0, 1))
    k = EDGE_FILTERS[0][1][None, None]
    fig, axes = figure(2, 3, width=9.5, height=6.4)
    for r, (name, im) in enumerate([("input", img), (f"input shifted by {SHIFT}", shifted)]):
        fmap = np.maximum(cnn.conv2d(im[None, None], k, np.zeros(1)), 0)
        gap = float(cnn.global_avg_pool2d(fmap)[0, 0])
        axes[r, 0].imshow(im, cmap="gray_r")
        axes[r, 0].set_title(name, fontsize=10)
        axes[r, 1].imshow(fmap[0, 0], cmap="Purples", vmin=0, vmax=4)
        axes[r, 1].set_title(f"ReLU(conv) {fmap.shape[2]}×{fmap.shape[3]}; GAP = {gap:.4f}",
                             fontsize=10)
        pooled = cnn.max_pool2d(fmap, 2, 2)[0, 0]
        axes[r, 2].imshow(pooled, cmap="Purples", vmin=0, vmax=4)
        axes[r, 2].set_title("2×2 max pool", fontsize=10)
    for a in axes.ravel():
        _image_axes(a)
    return fig


# ---------------------------------------------------------------- speedup table

SPEEDUP_SHAPES = [((8, 3, 32, 32), (16, 3, 3, 3), 1, 1),
                  ((4, 32, 16, 16), (32, 32, 3, 3), 1, 1),
                  ((4, 64, 8, 8), (128, 64, 1, 1), 1, 0)]


def _median_time(fn, repeats):
    """(median wall time in seconds over ``repeats`` calls, the last result)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def _shape(shape):
    return "×".join(str(n) for n in shape)


def speedup_table(shapes=SPEEDUP_SHAPES, repeats_naive=3, repeats_fast=7):
    """Markdown table: conv2d_naive (four nested loops) vs conv2d (im2col + one matrix product)."""
    rng = np.random.default_rng(0)
    rows = ["| x | w | S, P | naive (ms) | im2col (ms) | speedup | max diff |",
            "|---|---|---|---:|---:|---:|---:|"]
    for x_shape, w_shape, s, p in shapes:
        x = rng.standard_normal(x_shape)
        w = rng.standard_normal(w_shape)
        b = rng.standard_normal(w_shape[0])
        cnn.conv2d(x, w, b, s, p)                       # warm-up (first-call overheads)
        naive, slow_out = _median_time(lambda: cnn.conv2d_naive(x, w, b, s, p), repeats_naive)
        fast, fast_out = _median_time(lambda: cnn.conv2d(x, w, b, s, p), repeats_fast)
        diff = float(np.abs(fast_out - slow_out).max())
        rows.append(f"| {_shape(x_shape)} | {_shape(w_shape)} | {s}, {p} | {naive * 1e3:.1f} "
                    f"| {fast * 1e3:.2f} | {naive / fast:.0f}× | {diff:.1e} |")
    note = ("x is N×C×H×W, w is K×C×F×F, S and P are the stride and the padding. Measured with "
            "`time.perf_counter` on the machine that built this site: median of "
            f"{repeats_naive} runs (naive loops) and {repeats_fast} runs (im2col), float64, "
            "NumPy's default BLAS; the last column is the largest difference between the two "
            "outputs.")
    return "\n".join(rows) + "\n\n" + note + "\n"


FIGURES = {
    "cnn-padding-stride.svg": padding_stride,
    "cnn-coverage.svg": coverage,
    "cnn-feature-maps.svg": feature_maps,
    "cnn-receptive-field.svg": receptive_field_growth,
    "cnn-equivariance.svg": equivariance,
}

TABLES = {"cnn-speedup.md": speedup_table}
