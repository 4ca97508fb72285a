"""Convolutional networks (the CNN page): output-size arithmetic, convolution as a loop and as a
matrix multiplication (im2col), pooling, and their backward passes.

Conventions: images are NCHW, x of shape (N, C, H, W); filters w of shape (F, C, HH, WW);
biases b of shape (F,). "Convolution" is cross-correlation, as in PyTorch's ``conv2d``: the
filter is not flipped, and padding adds zeros. A filter or pooling window that does not tile
the (padded) input exactly, i.e. (n + 2·padding − f) not divisible by stride, is rejected with
a ValueError instead of silently dropping the last rows and columns as PyTorch does.
"""

from __future__ import annotations


import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from snippets._validation import as_flag, as_float_array, as_int


def _output_size(n, f, padding, stride, f_name, dim="", noun="filter"):
    """(n + 2p − f)/s + 1 after checking that the window fits and tiles the padded input."""
    span = n + 2 * padding - f
    if span < 0:
        raise ValueError(f"{f_name}: the {noun}{dim} {f} is larger than the padded input{dim} "
                         f"n + 2·padding = {n} + 2·{padding} = {n + 2 * padding}")
    if span % stride:
        raise ValueError(f"stride={stride} does not tile the input{dim}: (n + 2·padding − f)/stride"
                         f" + 1 = ({n} + {2 * padding} − {f})/{stride} + 1 = "
                         f"{span / stride + 1:.3g} is not an integer")
    return span // stride + 1


# --8<-- [start:conv_output_size]
def conv_output_size(n, f, padding=0, stride=1):
    """Output width of a convolution (or pooling) window of size f sliding with step s over an
    input of size n padded with p zeros on each side:

        n_out = (n + 2p − f) / s + 1

    The division must be exact (the window tiles the padded input); otherwise ValueError.
    "Same" padding p = (f − 1)/2 with s = 1 and odd f keeps n_out = n.

    >>> [conv_output_size(7, 3, stride=s) for s in (1, 2)]      # the seeds' N = 7, F = 3
    [5, 3]
    >>> conv_output_size(7, 3, stride=3)                        # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: stride=3 does not tile the input: ... = (7 + 0 − 3)/3 + 1 = 2.33 is not an integer
    >>> conv_output_size(7, 3, padding=1)                       # "same": (7 + 2 − 3)/1 + 1
    7
    >>> conv_output_size(32, 5)                                 # 32×32×3 image, 5×5×3 filter
    28
    """
    n = as_int(n, "n", 1)
    f = as_int(f, "f", 1)
    padding = as_int(padding, "padding", 0)
    stride = as_int(stride, "stride", 1)
    return _output_size(n, f, padding, stride, "f")
# --8<-- [end:conv_output_size]


# --8<-- [start:same_padding]
def same_padding(f):
    """Zero padding that keeps the size at stride 1:  p = (f − 1)/2, for an odd filter size f
    (an even f would need different padding on the two sides).

    >>> [same_padding(f) for f in (1, 3, 5, 7)]
    [0, 1, 2, 3]
    """
    f = as_int(f, "f", 1)
    if f % 2 == 0:
        raise ValueError(f"f must be odd for symmetric 'same' padding, got {f}")
    return (f - 1) // 2
# --8<-- [end:same_padding]


def _conv_inputs(x, w, b, stride, padding):
    """Validate a convolution's arguments; return them with the output height and width."""
    x = as_float_array(x, "x", ndim=4)
    w = as_float_array(w, "w", ndim=4)
    b = as_float_array(b, "b", ndim=1)
    stride = as_int(stride, "stride", 1)
    padding = as_int(padding, "padding", 0)
    if min(w.shape) < 1:
        raise ValueError(f"w must have shape (F, C, HH, WW) with every size >= 1, got {w.shape}")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w must have C = {x.shape[1]} input channels like x {x.shape}, "
                         f"got w of shape {w.shape} (filters are (F, C, HH, WW))")
    if b.shape != (w.shape[0],):
        raise ValueError(f"b must have shape (F,) = ({w.shape[0]},), got {b.shape}")
    h_out = _output_size(x.shape[2], w.shape[2], padding, stride, "w", " height")
    w_out = _output_size(x.shape[3], w.shape[3], padding, stride, "w", " width")
    return x, w, b, stride, padding, h_out, w_out


def _pad(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


# --8<-- [start:conv2d_naive]
def conv2d_naive(x, w, b, stride=1, padding=0):
    """Convolution (cross-correlation) written as explicit loops:

        out[n, f, i, j] = b[f] + Σ_c Σ_p Σ_q  x̃[n, c, i·s + p, j·s + q] · w[f, c, p, q]

    where x̃ is x with ``padding`` zeros around each image. Each output value is the sum of the
    elementwise (Hadamard) product of a filter and an input window, i.e. the dot product of the
    two flattened arrays: one number, not a matrix.
    Shapes: x (N, C, H, W), w (F, C, HH, WW), b (F,) -> out (N, F, H', W').

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])           # x[i, j] − x[i+1, j+1]
    >>> conv2d_naive(x, w, np.array([0.5]))[0, 0].tolist()
    [[-4.5, -4.5, -4.5], [-4.5, -4.5, -4.5], [-4.5, -4.5, -4.5]]
    >>> conv2d_naive(x, w, np.zeros(1), stride=2, padding=1)[0, 0].tolist()
    [[0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]]
    """
    x, w, b, stride, padding, h_out, w_out = _conv_inputs(x, w, b, stride, padding)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    xp = _pad(x, padding)
    out = np.zeros((N, F, h_out, w_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
# --8<-- [end:conv2d_naive]


# --8<-- [start:im2col]
def im2col(x, hh, ww, stride=1, padding=0):
    """Unroll every hh×ww window of the zero-padded input into one row:

        cols[(n, i, j), (c, p, q)] = x̃[n, c, i·s + p, j·s + q]

    Shape (N·H'·W', C·hh·ww); the column order (c, p, q) matches w.reshape(F, −1), so a
    convolution becomes one matrix product: out = cols · w.reshape(F, −1)ᵀ + b.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, 2, 2).tolist()                  # four 2×2 windows of a 3×3 image
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    """
    x = as_float_array(x, "x", ndim=4)
    hh = as_int(hh, "hh", 1)
    ww = as_int(ww, "ww", 1)
    stride = as_int(stride, "stride", 1)
    padding = as_int(padding, "padding", 0)
    N, C, H, W = x.shape
    h_out = _output_size(H, hh, padding, stride, "hh", " height", "window")
    w_out = _output_size(W, ww, padding, stride, "ww", " width", "window")
    windows = sliding_window_view(_pad(x, padding), (hh, ww), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]               # (N, C, H', W', hh, ww)
    # reshape copies here except in corner cases, where it would return a read-only view
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * h_out * w_out, C * hh * ww)
    return cols if cols.flags.writeable else cols.copy()
# --8<-- [end:im2col]


# --8<-- [start:col2im]
def col2im(cols, x_shape, hh, ww, stride=1, padding=0):
    """The adjoint of im2col: add every row of ``cols`` back onto the window it came from.
    A pixel inside several windows receives the sum of their entries (used by the backward
    pass, where the gradient of a shared input is the sum over every window that read it).

        dx̃[n, c, i·s + p, j·s + q] += cols[(n, i, j), (c, p, q)],   then crop the padding

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> col2im(np.ones((4, 4)), x.shape, 2, 2)[0, 0].tolist()   # how many windows read each pixel
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    cols = as_float_array(cols, "cols", ndim=2)
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {x_shape!r}")
    N, C, H, W = (as_int(v, "x_shape", 0) for v in x_shape)
    hh = as_int(hh, "hh", 1)
    ww = as_int(ww, "ww", 1)
    stride = as_int(stride, "stride", 1)
    padding = as_int(padding, "padding", 0)
    h_out = _output_size(H, hh, padding, stride, "hh", " height", "window")
    w_out = _output_size(W, ww, padding, stride, "ww", " width", "window")
    if cols.shape != (N * h_out * w_out, C * hh * ww):
        raise ValueError(f"cols must have shape (N·H'·W', C·hh·ww) = "
                         f"{(N * h_out * w_out, C * hh * ww)}, got {cols.shape}")
    cols = cols.reshape(N, h_out, w_out, C, hh, ww)
    dxp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for p in range(hh):                   # one strided slice per filter offset (p, q)
        for q in range(ww):
            dxp[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += \
                cols[:, :, :, :, p, q].transpose(0, 3, 1, 2)
    return dxp[:, :, padding:padding + H, padding:padding + W]
# --8<-- [end:col2im]


# --8<-- [start:conv2d]
def conv2d(x, w, b, stride=1, padding=0):
    """Vectorized convolution: the same result as conv2d_naive, computed as one matrix product

        out = im2col(x) · w.reshape(F, −1)ᵀ + b,   reshaped to (N, F, H', W')

    H' = (H + 2p − HH)/s + 1, W' = (W + 2p − WW)/s + 1. Cross-correlation with zero padding,
    like torch.nn.functional.conv2d.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    >>> conv2d(x, w, np.zeros(1), stride=2, padding=1)[0, 0].tolist()
    [[0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]]
    >>> conv2d(np.ones((2, 3, 32, 32)), np.ones((10, 3, 5, 5)), np.zeros(10)).shape
    (2, 10, 28, 28)
    """
    x, w, b, stride, padding, h_out, w_out = _conv_inputs(x, w, b, stride, padding)
    N, F = x.shape[0], w.shape[0]
    cols = im2col(x, w.shape[2], w.shape[3], stride, padding)   # (N·H'·W', C·HH·WW)
    out = cols @ w.reshape(F, -1).T + b                           # (N·H'·W', F)
    return np.ascontiguousarray(out.reshape(N, h_out, w_out, F).transpose(0, 3, 1, 2))
# --8<-- [end:conv2d]


# --8<-- [start:conv2d_backward]
def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    """Gradients of out = conv2d(x, w, b, stride, padding), given dout = ∂L/∂out (N, F, H', W'):

        ∂L/∂b[f]          = Σ_{n,i,j} dout[n, f, i, j]
        ∂L/∂w[f, c, p, q] = Σ_{n,i,j} dout[n, f, i, j] · x̃[n, c, i·s + p, j·s + q]
        ∂L/∂x̃[n, c, i·s + p, j·s + q] += Σ_f dout[n, f, i, j] · w[f, c, p, q]

    In matrix form (rows of D = dout laid out as (N·H'·W', F)): dw = Dᵀ · cols,
    dcols = D · w.reshape(F, −1), dx = col2im(dcols). dx is a "full" convolution of dout with
    the filters (a cross-correlation with the filters rotated by 180°); the weights are shared, so their gradient sums over every position.
    Returns (dx, dw, db) with the shapes of x, w and b.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3); w = np.ones((1, 1, 2, 2)); b = np.zeros(1)
    >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, w, b)
    >>> dx[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    >>> dw[0, 0].tolist(), db.tolist()         # dw[p, q] = sum of the pixels under w[p, q]
    ([[8.0, 12.0], [20.0, 24.0]], [4.0])
    """
    x, w, b, stride, padding, h_out, w_out = _conv_inputs(x, w, b, stride, padding)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    dout = as_float_array(dout, "dout", ndim=4)
    if dout.shape != (N, F, h_out, w_out):
        raise ValueError(f"dout must have shape (N, F, H', W') = {(N, F, h_out, w_out)}, "
                         f"got {dout.shape}")
    cols = im2col(x, HH, WW, stride, padding)                     # (N·H'·W', C·HH·WW)
    d_rows = dout.transpose(0, 2, 3, 1).reshape(-1, F)            # (N·H'·W', F)
    db = dout.sum(axis=(0, 2, 3))
    dw = (d_rows.T @ cols).reshape(w.shape)
    dx = col2im(d_rows @ w.reshape(F, -1), x.shape, HH, WW, stride, padding)
    return np.ascontiguousarray(dx), dw, db
# --8<-- [end:conv2d_backward]


def _pool_windows(x, size, stride):
    """Validate pooling arguments; return the (N, C, H', W', size, size) view of the windows."""
    x = as_float_array(x, "x", ndim=4)
    size = as_int(size, "size", 1)
    stride = as_int(stride, "stride", 1)
    _output_size(x.shape[2], size, 0, stride, "size", " height", "window")
    _output_size(x.shape[3], size, 0, stride, "size", " width", "window")
    windows = sliding_window_view(x, (size, size), axis=(2, 3))
    return x, size, stride, windows[:, :, ::stride, ::stride]


# --8<-- [start:max_pool2d]
def max_pool2d(x, size=2, stride=2):
    """Max pooling over size×size windows taken every ``stride`` pixels, channel by channel:

        out[n, c, i, j] = max_{0 ≤ p, q < size} x[n, c, i·s + p, j·s + q]

    H' = (H − size)/s + 1; the depth C is unchanged and there are no parameters.

    >>> x = np.array([[1.0, 1.0, 2.0, 4.0],
    ...               [5.0, 6.0, 7.0, 8.0],
    ...               [3.0, 2.0, 1.0, 0.0],
    ...               [1.0, 2.0, 3.0, 4.0]]).reshape(1, 1, 4, 4)
    >>> max_pool2d(x)[0, 0].tolist()
    [[6.0, 8.0], [3.0, 4.0]]
    """
    _, _, _, windows = _pool_windows(x, size, stride)
    return windows.max(axis=(4, 5))
# --8<-- [end:max_pool2d]


# --8<-- [start:avg_pool2d]
def avg_pool2d(x, size=2, stride=2):
    """Average pooling:  out[n, c, i, j] = (1/size²) Σ_{p,q} x[n, c, i·s + p, j·s + q].

    >>> x = np.array([[1.0, 1.0, 2.0, 4.0],
    ...               [5.0, 6.0, 7.0, 8.0],
    ...               [3.0, 2.0, 1.0, 0.0],
    ...               [1.0, 2.0, 3.0, 4.0]]).reshape(1, 1, 4, 4)
    >>> avg_pool2d(x)[0, 0].tolist()
    [[3.25, 5.25], [2.0, 2.0]]
    """
    _, _, _, windows = _pool_windows(x, size, stride)
    return windows.mean(axis=(4, 5))
# --8<-- [end:avg_pool2d]


# --8<-- [start:max_pool2d_backward]
def max_pool2d_backward(dout, x, size=2, stride=2):
    """Gradient of max pooling: each window sends its upstream gradient to the position of its
    maximum (the max gate) and 0 to the others; overlapping windows add up.

        ∂L/∂x[n, c, i·s + p*, j·s + q*] += dout[n, c, i, j],  (p*, q*) = argmax of the window

    On a tie the first maximum in row-major order gets the gradient (PyTorch's choice too).

    >>> x = np.array([[1.0, 1.0, 2.0, 4.0],
    ...               [5.0, 6.0, 7.0, 8.0],
    ...               [3.0, 2.0, 1.0, 0.0],
    ...               [1.0, 2.0, 3.0, 4.0]]).reshape(1, 1, 4, 4)
    >>> max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), x)[0, 0].tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 2.0], [3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0]]
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), np.ones((1, 1, 2, 2)))[0, 0].tolist()  # tie
    [[1.0, 0.0], [0.0, 0.0]]
    """
    x, size, stride, windows = _pool_windows(x, size, stride)
    N, C, h_out, w_out = windows.shape[:4]
    dout = as_float_array(dout, "dout", ndim=4)
    if dout.shape != (N, C, h_out, w_out):
        raise ValueError(f"dout must have shape (N, C, H', W') = {(N, C, h_out, w_out)}, "
                         f"got {dout.shape}")
    k = windows.reshape(N, C, h_out, w_out, size * size).argmax(axis=-1)   # first maximum
    p, q = np.divmod(k, size)
    n, c, i, j = np.indices((N, C, h_out, w_out))
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    np.add.at(dx, (n, c, i * stride + p, j * stride + q), dout)
    return dx
# --8<-- [end:max_pool2d_backward]


# --8<-- [start:avg_pool2d_backward]
def avg_pool2d_backward(dout, x, size=2, stride=2):
    """Gradient of average pooling: every position of a window gets dout / size²
    (overlapping windows add up).

    >>> avg_pool2d_backward(np.array([[[[4.0, 8.0]]]]), np.zeros((1, 1, 2, 4)))[0, 0].tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    """
    x, size, stride, windows = _pool_windows(x, size, stride)
    N, C, h_out, w_out = windows.shape[:4]
    dout = as_float_array(dout, "dout", ndim=4)
    if dout.shape != (N, C, h_out, w_out):
        raise ValueError(f"dout must have shape (N, C, H', W') = {(N, C, h_out, w_out)}, "
                         f"got {dout.shape}")
    dx = np.zeros(x.shape, dtype=np.result_type(x, dout))
    for p in range(size):
        for q in range(size):
            dx[:, :, p:p + stride * h_out:stride, q:q + stride * w_out:stride] += dout / size ** 2
    return dx
# --8<-- [end:avg_pool2d_backward]


# --8<-- [start:global_avg_pool2d]
def global_avg_pool2d(x):
    """Global average pooling: one number per channel, out[n, c] = (1/(H·W)) Σ_{i,j} x[n, c, i, j].
    (N, C, H, W) -> (N, C); no parameters, and any input size gives the same output size.

    >>> global_avg_pool2d(np.arange(8.0).reshape(1, 2, 2, 2)).tolist()
    [[1.5, 5.5]]
    """
    x = as_float_array(x, "x", ndim=4)
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"x must have H, W >= 1, got shape {x.shape}")
    return x.mean(axis=(2, 3))
# --8<-- [end:global_avg_pool2d]


# --8<-- [start:conv_param_count]
def conv_param_count(in_channels, kernel_size, out_channels=1, bias=True):
    """Learnable parameters of a convolution layer: each of the F filters spans all C input
    channels, plus one bias per filter:

        params = F · (C · HH · WW + 1)          (without bias: F · C · HH · WW)

    The count does not depend on the input's height and width (weight sharing).

    >>> conv_param_count(3, 5)                  # one 5×5×3 filter: 75 weights + 1 bias
    76
    >>> conv_param_count(3, 5, 10)              # ten of them
    760
    >>> conv_param_count(256, 1, 64)            # a 1×1 convolution mixing 256 channels into 64
    16448
    >>> conv_param_count(512, 7, 1000), conv_param_count(512, 1, 1000)   # FC head vs GAP + FC
    (25089000, 513000)
    """
    in_channels = as_int(in_channels, "in_channels", 1)
    out_channels = as_int(out_channels, "out_channels", 1)
    if isinstance(kernel_size, tuple):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size must be an int or a (HH, WW) pair, got {kernel_size!r}")
        hh, ww = (as_int(k, "kernel_size", 1) for k in kernel_size)
    else:
        hh = ww = as_int(kernel_size, "kernel_size", 1)
    return out_channels * (in_channels * hh * ww + int(as_flag(bias, "bias")))
# --8<-- [end:conv_param_count]


# --8<-- [start:receptive_field]
def receptive_field(layers):
    """Receptive field (side length in input pixels) of one output unit of a stack of
    convolution / pooling layers given as (kernel, stride) pairs, first layer first:

        r₀ = 1, j₀ = 1;   r_l = r_{l−1} + (k_l − 1) · j_{l−1},   j_l = j_{l−1} · s_l

    j_l is the distance in input pixels between neighbouring units of layer l.
    Padding does not change the size of the receptive field.

    >>> receptive_field([(3, 1)] * 3)           # three 3×3 convs see as far as one 7×7
    7
    >>> [receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)][:k]) for k in range(1, 6)]
    [3, 4, 8, 10, 18]
    """
    r, jump = 1, 1
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 2:
            raise ValueError(f"layers[{i}] must be a (kernel, stride) pair, got {layer!r}")
        k = as_int(layer[0], f"layers[{i}] kernel", 1)
        s = as_int(layer[1], f"layers[{i}] stride", 1)
        r += (k - 1) * jump
        jump *= s
    return r
# --8<-- [end:receptive_field]


# --8<-- [start:coverage_counts]
def coverage_counts(n, f, stride=1, padding=0):
    """How many output positions read each pixel of an n×n input (f×f window, stride s,
    padding p): the outer product of the 1-D counts

        c[t] = #{ i : i·s ≤ t + p < i·s + f },  0 ≤ i < n_out

    Without padding the border pixels are read far less often than the centre (corner once,
    centre up to f² times at stride 1); "same" padding evens this out.

    >>> coverage_counts(7, 3)[3].tolist()                   # middle row, N = 7, F = 3, S = 1
    [3, 6, 9, 9, 9, 6, 3]
    >>> coverage_counts(7, 3)[0].tolist()                   # top row: corner read once
    [1, 2, 3, 3, 3, 2, 1]
    >>> coverage_counts(7, 3, stride=2)[2].tolist()
    [2, 2, 4, 2, 4, 2, 2]
    >>> coverage_counts(7, 3, padding=1)[0].tolist()       # "same" padding
    [4, 6, 6, 6, 6, 6, 4]
    """
    n = as_int(n, "n", 1)
    f = as_int(f, "f", 1)
    stride = as_int(stride, "stride", 1)
    padding = as_int(padding, "padding", 0)
    n_out = _output_size(n, f, padding, stride, "f")
    counts = np.zeros(n + 2 * padding, dtype=np.int64)
    for i in range(n_out):
        counts[i * stride:i * stride + f] += 1
    counts = counts[padding:padding + n]
    return np.outer(counts, counts)
# --8<-- [end:coverage_counts]
