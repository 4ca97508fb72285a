"""Convolutional networks (the CNN page): output-size arithmetic, convolution as a loop and as a
matrix multiplication (im2col) with stride, padding, dilation and groups, transposed
convolution, pooling, their backward passes, and the counts (parameters, multiply-adds,
receptive fields) that go with them.

Conventions: images are NCHW, x of shape (N, C, H, W); filters w of shape (F, C/groups, HH, WW);
biases b of shape (F,) (or None: no bias). "Convolution" is cross-correlation, as in PyTorch's
``conv2d``: the filter is not flipped, and padding adds zeros. Output sizes **floor like
PyTorch**: when the (dilated) window does not tile the padded input, i.e. (n + 2·padding −
d·(f − 1) − 1) is not divisible by the stride, the last rows and columns that no window reaches
are dropped. ``conv_output_size(..., exact=True)`` applies CS231n's stricter rule and refuses
such a size instead. stride, padding and dilation of the 2-D functions are an int or an
(height, width) pair, as in PyTorch.
"""

from __future__ import annotations


import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from snippets._validation import as_flag, as_float_array, as_int


def _output_size(n, f, padding, stride, f_name, dim="", noun="filter", dilation=1, exact=False):
    """⌊(n + 2p − d(f − 1) − 1)/s⌋ + 1 after checking that the dilated window fits the padded
    input (and, with exact=True, that it tiles it)."""
    reach = dilation * (f - 1) + 1
    span = n + 2 * padding - reach
    if span < 0:
        what = f"{noun}{dim} {f}" if dilation == 1 else \
            f"dilated {noun}{dim} d·(f − 1) + 1 = {dilation}·({f} − 1) + 1 = {reach}"
        raise ValueError(f"{f_name}: the {what} is larger than the padded input{dim} "
                         f"n + 2·padding = {n} + 2·{padding} = {n + 2 * padding}")
    if exact and span % stride:
        raise ValueError(f"stride={stride} does not tile the input{dim}: (n + 2·padding − "
                         f"d·(f − 1) − 1)/stride + 1 = ({n} + {2 * padding} − {reach})/{stride}"
                         f" + 1 = {span / stride + 1:.3g} is not an integer (exact=True)")
    return span // stride + 1


def _pair(value, name, low):
    """An int or an (height, width) pair of ints >= low, as a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        return tuple(as_int(v, name, low) for v in value)
    v = as_int(value, name, low)
    return v, v


# --8<-- [start:conv_output_size]
def conv_output_size(n, f, padding=0, stride=1, dilation=1, exact=False):
    """Output width of a convolution (or pooling) window of size f, dilation d (d − 1 gaps
    between taps, so it reaches d·(f − 1) + 1 pixels), sliding with step s over an input of size
    n padded with p zeros on each side — PyTorch's rule:

        n_out = ⌊(n + 2p − d·(f − 1) − 1) / s⌋ + 1

    When the division is not exact the last rows/columns no window reaches are dropped.
    exact=True is CS231n's rule: such a size raises ValueError instead. A window larger than
    the padded input always raises. "Same" padding p = d·(f − 1)/2 keeps n_out = n at s = 1.

    >>> [conv_output_size(7, 3, stride=s) for s in (1, 2, 3)]   # the seeds' N = 7, F = 3
    [5, 3, 2]
    >>> conv_output_size(7, 3, stride=3, exact=True)              # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: stride=3 does not tile the input: ... = (7 + 0 − 3)/3 + 1 = 2.33 is not an integer (exact=True)
    >>> conv_output_size(8, 3, padding=1, stride=2)   # the usual downsampling conv: 8 -> 4
    4
    >>> conv_output_size(7, 3, padding=1), conv_output_size(32, 5)    # "same"; 32×32 image, 5×5
    (7, 28)
    >>> conv_output_size(7, 3, dilation=2)              # a dilated 3×3 reaches 5 pixels
    3
    """
    n = as_int(n, "n", 1)
    f = as_int(f, "f", 1)
    padding = as_int(padding, "padding", 0)
    stride = as_int(stride, "stride", 1)
    dilation = as_int(dilation, "dilation", 1)
    return _output_size(n, f, padding, stride, "f", dilation=dilation,
                        exact=as_flag(exact, "exact"))
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


def _conv_inputs(x, w, b, stride, padding, dilation=1, groups=1):
    """Validate a convolution's arguments; return them with the output height and width."""
    x = as_float_array(x, "x", ndim=4)
    w = as_float_array(w, "w", ndim=4)
    stride = _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    groups = as_int(groups, "groups", 1)
    if min(w.shape) < 1:
        raise ValueError(f"w must have shape (F, C/groups, HH, WW) with every size >= 1, "
                         f"got {w.shape}")
    C, F = x.shape[1], w.shape[0]
    if C % groups or F % groups:
        raise ValueError(f"groups={groups} must divide the input channels C = {C} and the "
                         f"number of filters F = {F}")
    if w.shape[1] * groups != C:
        raise ValueError(f"w must have C/groups = {C // groups} input channels (x {x.shape}, "
                         f"groups={groups}), got w of shape {w.shape} (filters are "
                         f"(F, C/groups, HH, WW))")
    if b is None:
        b = np.zeros(F, dtype=np.result_type(x, w))
    b = as_float_array(b, "b", ndim=1)
    if b.shape != (F,):
        raise ValueError(f"b must have shape (F,) = ({F},), got {b.shape}")
    h_out = _output_size(x.shape[2], w.shape[2], padding[0], stride[0], "w", " height",
                         dilation=dilation[0])
    w_out = _output_size(x.shape[3], w.shape[3], padding[1], stride[1], "w", " width",
                         dilation=dilation[1])
    return x, w, b, stride, padding, dilation, groups, h_out, w_out


def _pad(x, padding):
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


# --8<-- [start:conv2d_naive]
def conv2d_naive(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Convolution (cross-correlation) written as explicit loops:

        out[n, f, i, j] = b[f] + Σ_c Σ_p Σ_q  x̃[n, g·C' + c, i·s + p·d, j·s + q·d] · w[f, c, p, q]

    where x̃ is x with ``padding`` zeros around each image, d the dilation, and filter f belongs
    to group g = f // (F/groups), which reads only that group's C' = C/groups channels. Each
    output value is the sum of the elementwise (Hadamard) product of a filter and an input
    window, i.e. the dot product of the two flattened arrays: one number, not a matrix.
    Shapes: x (N, C, H, W), w (F, C/groups, HH, WW), b (F,) -> out (N, F, H', W').

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])           # x[i, j] − x[i+1, j+1]
    >>> conv2d_naive(x, w, np.array([0.5]))[0, 0].tolist()
    [[-4.5, -4.5, -4.5], [-4.5, -4.5, -4.5], [-4.5, -4.5, -4.5]]
    >>> conv2d_naive(x, w, np.zeros(1), stride=2, padding=1)[0, 0].tolist()
    [[0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]]
    >>> conv2d_naive(x, w, np.zeros(1), dilation=2)[0, 0].tolist()   # x[i, j] − x[i+2, j+2]
    [[-10.0, -10.0], [-10.0, -10.0]]
    """
    x, w, b, (sh, sw), padding, (dh, dw), groups, h_out, w_out = \
        _conv_inputs(x, w, b, stride, padding, dilation, groups)
    N, F = x.shape[0], w.shape[0]
    Cg, HH, WW = w.shape[1:]
    xp = _pad(x, padding)
    out = np.zeros((N, F, h_out, w_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            c0 = f // (F // groups) * Cg                    # first channel of f's group
            for i in range(h_out):
                for j in range(w_out):
                    window = xp[n, c0:c0 + Cg, i * sh:i * sh + dh * (HH - 1) + 1:dh,
                                j * sw:j * sw + dw * (WW - 1) + 1:dw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
# --8<-- [end:conv2d_naive]


# --8<-- [start:im2col]
def im2col(x, hh, ww, stride=1, padding=0, dilation=1):
    """Unroll every hh×ww window (taps d pixels apart) of the zero-padded input into one row:

        cols[(n, i, j), (c, p, q)] = x̃[n, c, i·s + p·d, j·s + q·d]

    Shape (N·H'·W', C·hh·ww); the column order (c, p, q) matches w.reshape(F, −1), so a
    convolution becomes one matrix product: out = cols · w.reshape(F, −1)ᵀ + b.

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> im2col(x, 2, 2).tolist()                  # four 2×2 windows of a 3×3 image
    [[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]
    >>> im2col(x, 2, 2, dilation=2).tolist()      # one dilated window: the four corners
    [[0.0, 2.0, 6.0, 8.0]]
    """
    x = as_float_array(x, "x", ndim=4)
    hh = as_int(hh, "hh", 1)
    ww = as_int(ww, "ww", 1)
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    N, C, H, W = x.shape
    h_out = _output_size(H, hh, ph, sh, "hh", " height", "window", dh)
    w_out = _output_size(W, ww, pw, sw, "ww", " width", "window", dw)
    reach = (dh * (hh - 1) + 1, dw * (ww - 1) + 1)
    windows = sliding_window_view(_pad(x, (ph, pw)), reach, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :h_out, :w_out]  # (N, C, H', W', hh, ww)
    # reshape copies here except in corner cases, where it would return a read-only view
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * h_out * w_out, C * hh * ww)
    return cols if cols.flags.writeable else cols.copy()
# --8<-- [end:im2col]


# --8<-- [start:col2im]
def col2im(cols, x_shape, hh, ww, stride=1, padding=0, dilation=1):
    """The adjoint of im2col: add every row of ``cols`` back onto the window it came from.
    A pixel inside several windows receives the sum of their entries (used by the backward
    pass, where the gradient of a shared input is the sum over every window that read it).

        dx̃[n, c, i·s + p·d, j·s + q·d] += cols[(n, i, j), (c, p, q)],   then crop the padding

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
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)
    h_out = _output_size(H, hh, ph, sh, "hh", " height", "window", dh)
    w_out = _output_size(W, ww, pw, sw, "ww", " width", "window", dw)
    if cols.shape != (N * h_out * w_out, C * hh * ww):
        raise ValueError(f"cols must have shape (N·H'·W', C·hh·ww) = "
                         f"{(N * h_out * w_out, C * hh * ww)}, got {cols.shape}")
    cols = cols.reshape(N, h_out, w_out, C, hh, ww)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for p in range(hh):                   # one strided slice per filter offset (p, q)
        for q in range(ww):
            dxp[:, :, p * dh:p * dh + sh * h_out:sh, q * dw:q * dw + sw * w_out:sw] += \
                cols[:, :, :, :, p, q].transpose(0, 3, 1, 2)
    return dxp[:, :, ph:ph + H, pw:pw + W]
# --8<-- [end:col2im]


# --8<-- [start:conv2d]
def conv2d(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Vectorized convolution: the same result as conv2d_naive, computed as one matrix product
    per group (groups = 1: a single product; groups = C = F: a depthwise convolution)

        out[:, group g] = im2col(x)[:, g's columns] · w[g's filters].reshape(F/groups, −1)ᵀ + b

    H' = ⌊(H + 2p − d(HH − 1) − 1)/s⌋ + 1, and W' alike. Cross-correlation with zero padding,
    exactly torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups).

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    >>> conv2d(x, w, np.zeros(1), stride=2, padding=1)[0, 0].tolist()
    [[0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]]
    >>> conv2d(np.ones((2, 3, 32, 32)), np.ones((10, 3, 5, 5)), np.zeros(10)).shape
    (2, 10, 28, 28)
    >>> conv2d(np.ones((1, 3, 8, 8)), np.ones((6, 1, 3, 3)), None, 2, 1, groups=3).shape
    (1, 6, 4, 4)
    """
    x, w, b, stride, padding, dilation, groups, h_out, w_out = \
        _conv_inputs(x, w, b, stride, padding, dilation, groups)
    N, F = x.shape[0], w.shape[0]
    cols = im2col(x, w.shape[2], w.shape[3], stride, padding, dilation)   # (N·H'·W', C·HH·WW)
    if groups == 1:                                                     # one matrix product
        out = cols @ w.reshape(F, -1).T + b                             # (N·H'·W', F)
    else:
        M, k = cols.shape[0], cols.shape[1] // groups                   # k = C/groups·HH·WW
        cols = cols.reshape(M, groups, k).transpose(1, 0, 2)            # (groups, M, k)
        w_rows = w.reshape(groups, F // groups, k)                      # (groups, F/groups, k)
        out = (cols @ w_rows.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(M, F) + b
    return np.ascontiguousarray(out.reshape(N, h_out, w_out, F).transpose(0, 3, 1, 2))
# --8<-- [end:conv2d]


# --8<-- [start:conv2d_backward]
def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of out = conv2d(x, w, b, stride, padding, dilation, groups), given
    dout = ∂L/∂out (N, F, H', W'); for groups = 1 and dilation d:

        ∂L/∂b[f]          = Σ_{n,i,j} dout[n, f, i, j]
        ∂L/∂w[f, c, p, q] = Σ_{n,i,j} dout[n, f, i, j] · x̃[n, c, i·s + p·d, j·s + q·d]
        ∂L/∂x̃[n, c, i·s + p·d, j·s + q·d] += Σ_f dout[n, f, i, j] · w[f, c, p, q]

    In matrix form (rows of D = dout laid out as (N·H'·W', F)): dw = Dᵀ · cols,
    dcols = D · w.reshape(F, −1), dx = col2im(dcols); with groups, the same per group. dx is a
    "full" convolution of dout with the filters (a cross-correlation with the filters rotated by
    180°); the weights are shared, so their gradient sums over every position. Pixels that no
    window read (floor mode) get 0. Returns (dx, dw, db) with the shapes of x, w and (F,).

    >>> x = np.arange(9.0).reshape(1, 1, 3, 3); w = np.ones((1, 1, 2, 2)); b = np.zeros(1)
    >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, w, b)
    >>> dx[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    >>> dw[0, 0].tolist(), db.tolist()         # dw[p, q] = sum of the pixels under w[p, q]
    ([[8.0, 12.0], [20.0, 24.0]], [4.0])
    """
    x, w, b, stride, padding, dilation, groups, h_out, w_out = \
        _conv_inputs(x, w, b, stride, padding, dilation, groups)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    dout = as_float_array(dout, "dout", ndim=4)
    if dout.shape != (N, F, h_out, w_out):
        raise ValueError(f"dout must have shape (N, F, H', W') = {(N, F, h_out, w_out)}, "
                         f"got {dout.shape}")
    cols = im2col(x, HH, WW, stride, padding, dilation)           # (N·H'·W', C·HH·WW)
    M, k = cols.shape[0], cols.shape[1] // groups
    cols = cols.reshape(M, groups, k).transpose(1, 0, 2)          # (groups, M, k)
    d_rows = dout.transpose(0, 2, 3, 1).reshape(M, groups, F // groups).transpose(1, 0, 2)
    db = dout.sum(axis=(0, 2, 3))
    dw = (d_rows.transpose(0, 2, 1) @ cols).reshape(w.shape)     # (groups, F/groups, k)
    dcols = (d_rows @ w.reshape(groups, F // groups, k)).transpose(1, 0, 2).reshape(M, -1)
    dx = col2im(dcols, x.shape, HH, WW, stride, padding, dilation)
    return np.ascontiguousarray(dx), dw, db
# --8<-- [end:conv2d_backward]


# --8<-- [start:conv_transpose_output_size]
def conv_transpose_output_size(n, f, padding=0, stride=1, output_padding=0):
    """Output width of a transposed convolution — the input size of the convolution it
    transposes, with output_padding choosing among the sizes that conv floors to n:

        n_out = (n − 1)·s − 2p + f + output_padding,    0 ≤ output_padding < s

    >>> conv_transpose_output_size(4, 3, padding=1, stride=2)        # 4 -> 7 ...
    7
    >>> conv_transpose_output_size(4, 3, padding=1, stride=2, output_padding=1)   # ... or 8
    8
    >>> conv_transpose_output_size(16, 4, padding=1, stride=2)       # the DCGAN 4×4/2 upsampler
    32
    """
    n = as_int(n, "n", 1)
    f = as_int(f, "f", 1)
    padding = as_int(padding, "padding", 0)
    stride = as_int(stride, "stride", 1)
    output_padding = as_int(output_padding, "output_padding", 0)
    if output_padding >= stride:
        raise ValueError(f"output_padding must be smaller than stride={stride}, "
                         f"got {output_padding}")
    out = (n - 1) * stride - 2 * padding + f + output_padding
    if out < 1:
        raise ValueError(f"padding={padding} is too large: (n − 1)·s − 2p + f + output_padding "
                         f"= {out} < 1")
    return out
# --8<-- [end:conv_transpose_output_size]


# --8<-- [start:conv_transpose2d]
def conv_transpose2d(x, w, b, stride=1, padding=0, output_padding=0):
    """Transposed convolution ("deconvolution", fractionally-strided convolution): every input
    pixel stamps a copy of the filter, scaled by its value, onto the output, s pixels apart;
    overlapping stamps add; then p rows/columns are cropped from each border:

        out[n, f, i·s + p', j·s + q'] += x[n, c, i, j] · w[c, f, p', q']   (before cropping)

    Shapes: x (N, C_in, H, W), w (C_in, F, HH, WW) (note: in, out — the transpose of conv2d's
    layout), b (F,) or None -> out (N, F, H_out, W_out) with
    H_out = (H − 1)·s − 2p + HH + output_padding, as torch.nn.functional.conv_transpose2d. It is
    the adjoint (the backward pass with respect to the input) of conv2d with the same w, stride
    and padding, so it maps a conv's output shape back to its input shape — not its values.

    >>> conv_transpose2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), None, stride=2)[0, 0].tolist()
    [[1.0, 1.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 1.0, 1.0], [2.0, 2.0, 4.0, 2.0, 2.0], [1.0, 1.0, 2.0, 1.0, 1.0], [1.0, 1.0, 2.0, 1.0, 1.0]]
    """
    x = as_float_array(x, "x", ndim=4)
    w = as_float_array(w, "w", ndim=4)
    (sh, sw), (ph, pw) = _pair(stride, "stride", 1), _pair(padding, "padding", 0)
    oph, opw = _pair(output_padding, "output_padding", 0)
    if min(w.shape) < 1:
        raise ValueError(f"w must have shape (C_in, F, HH, WW) with every size >= 1, got {w.shape}")
    N, C, H, W = x.shape
    if w.shape[0] != C:
        raise ValueError(f"w must have C_in = {C} rows like x {x.shape} (transposed filters are "
                         f"(C_in, F, HH, WW)), got w of shape {w.shape}")
    F, HH, WW = w.shape[1:]
    if b is None:
        b = np.zeros(F, dtype=np.result_type(x, w))
    b = as_float_array(b, "b", ndim=1)
    if b.shape != (F,):
        raise ValueError(f"b must have shape (F,) = ({F},), got {b.shape}")
    if H < 1 or W < 1:
        raise ValueError(f"x must have H, W >= 1, got shape {x.shape}")
    h_out = conv_transpose_output_size(H, HH, ph, sh, oph)
    w_out = conv_transpose_output_size(W, WW, pw, sw, opw)
    # the stamps: one row per input pixel, one column per (f, p', q')
    stamps = x.transpose(0, 2, 3, 1).reshape(N * H * W, C) @ w.reshape(C, F * HH * WW)
    full_h, full_w = (H - 1) * sh + HH, (W - 1) * sw + WW        # before cropping
    full = col2im(stamps, (N, F, full_h, full_w), HH, WW, (sh, sw))
    full = np.pad(full, ((0, 0), (0, 0), (0, max(0, ph + h_out - full_h)),
                         (0, max(0, pw + w_out - full_w))))      # output_padding beyond the stamps
    out = full[:, :, ph:ph + h_out, pw:pw + w_out] + b[:, None, None]
    return np.ascontiguousarray(out)
# --8<-- [end:conv_transpose2d]


def _pool_windows(x, size, stride):
    """Validate pooling arguments; return the (N, C, H', W', size, size) view of the windows."""
    x = as_float_array(x, "x", ndim=4)
    size = as_int(size, "size", 1)
    stride = as_int(stride, "stride", 1)
    h_out = _output_size(x.shape[2], size, 0, stride, "size", " height", "window")
    w_out = _output_size(x.shape[3], size, 0, stride, "size", " width", "window")
    windows = sliding_window_view(x, (size, size), axis=(2, 3))
    return x, size, stride, windows[:, :, ::stride, ::stride][:, :, :h_out, :w_out]


# --8<-- [start:max_pool2d]
def max_pool2d(x, size=2, stride=2):
    """Max pooling over size×size windows taken every ``stride`` pixels, channel by channel:

        out[n, c, i, j] = max_{0 ≤ p, q < size} x[n, c, i·s + p, j·s + q]

    H' = ⌊(H − size)/s⌋ + 1 (floor, PyTorch's ceil_mode=False: rows and columns no window
    reaches are dropped); the depth C is unchanged and there are no parameters.

    >>> x = np.array([[1.0, 1.0, 2.0, 4.0],
    ...               [5.0, 6.0, 7.0, 8.0],
    ...               [3.0, 2.0, 1.0, 0.0],
    ...               [1.0, 2.0, 3.0, 4.0]]).reshape(1, 1, 4, 4)
    >>> max_pool2d(x)[0, 0].tolist()
    [[6.0, 8.0], [3.0, 4.0]]
    >>> max_pool2d(x[:, :, :3, :3])[0, 0].tolist()      # 3×3 input: floor, one window
    [[6.0]]
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
def conv_param_count(in_channels, kernel_size, out_channels=1, bias=True, groups=1):
    """Learnable parameters of a convolution layer: each of the F filters spans the C/groups
    input channels of its group, plus one bias per filter:

        params = F · (C/groups · HH · WW + 1)          (without bias: F · C/groups · HH · WW)

    The count does not depend on the input's height and width (weight sharing) nor on the
    stride or dilation. groups = C = F is a depthwise convolution: one filter per channel.

    >>> conv_param_count(3, 5)                  # one 5×5×3 filter: 75 weights + 1 bias
    76
    >>> conv_param_count(3, 5, 10)              # ten of them
    760
    >>> conv_param_count(256, 1, 64)            # a 1×1 convolution mixing 256 channels into 64
    16448
    >>> conv_param_count(512, 7, 1000), conv_param_count(512, 1, 1000)   # FC head vs GAP + FC
    (25089000, 513000)
    >>> conv_param_count(256, 3, 256, bias=False, groups=256)   # depthwise 3×3 on 256 channels
    2304
    """
    in_channels = as_int(in_channels, "in_channels", 1)
    out_channels = as_int(out_channels, "out_channels", 1)
    hh, ww = _kernel(kernel_size)
    groups = as_int(groups, "groups", 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    return out_channels * (in_channels // groups * hh * ww + int(as_flag(bias, "bias")))
# --8<-- [end:conv_param_count]


def _kernel(kernel_size):
    if isinstance(kernel_size, tuple):
        if len(kernel_size) != 2:
            raise ValueError(f"kernel_size must be an int or a (HH, WW) pair, got {kernel_size!r}")
        return tuple(as_int(k, "kernel_size", 1) for k in kernel_size)
    k = as_int(kernel_size, "kernel_size", 1)
    return k, k


# --8<-- [start:conv_macs]
def conv_macs(in_channels, kernel_size, out_channels, out_size, groups=1):
    """Multiply-accumulates (MACs) of one convolution layer on one image: every one of the
    F·H'·W' outputs is a dot product of length C/groups·HH·WW

        MACs = F · H' · W' · (C/groups) · HH · WW,        FLOPs ≈ 2 · MACs

    (the bias adds F·H'·W' additions, usually ignored). out_size is H' (square) or (H', W').
    Unlike the parameter count, the cost grows with the output map: weights are shared, work
    is not.

    >>> conv_macs(3, 5, 10, 28)                # ten 5×5×3 filters on a 32×32×3 image
    588000
    >>> conv_macs(64, 3, 64, 56)               # a ResNet 3×3 layer at 56×56: 115.6 M MACs
    115605504
    >>> conv_macs(64, 3, 64, 56, groups=64)    # its depthwise version: 64 times fewer
    1806336
    """
    in_channels = as_int(in_channels, "in_channels", 1)
    out_channels = as_int(out_channels, "out_channels", 1)
    hh, ww = _kernel(kernel_size)
    if isinstance(out_size, tuple):
        if len(out_size) != 2:
            raise ValueError(f"out_size must be an int or an (H', W') pair, got {out_size!r}")
        ho, wo = (as_int(v, "out_size", 1) for v in out_size)
    else:
        ho = wo = as_int(out_size, "out_size", 1)
    groups = as_int(groups, "groups", 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    return out_channels * ho * wo * (in_channels // groups) * hh * ww
# --8<-- [end:conv_macs]


# --8<-- [start:receptive_field]
def receptive_field(layers):
    """Receptive field (side length in input pixels) of one output unit of a stack of
    convolution / pooling layers given as (kernel, stride) or (kernel, stride, dilation)
    tuples, first layer first:

        r₀ = 1, j₀ = 1;   r_l = r_{l−1} + d_l · (k_l − 1) · j_{l−1},   j_l = j_{l−1} · s_l

    j_l is the distance in input pixels between neighbouring units of layer l; a dilated
    kernel spans d·(k − 1) + 1 pixels of its input. Padding does not change the size of the
    receptive field.

    >>> receptive_field([(3, 1)] * 3)           # three 3×3 convs see as far as one 7×7
    7
    >>> [receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)][:k]) for k in range(1, 6)]
    [3, 4, 8, 10, 18]
    >>> receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])   # dilations 1, 2, 4: 15, not 7
    15
    """
    r, jump = 1, 1
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) not in (2, 3):
            raise ValueError(f"layers[{i}] must be a (kernel, stride) pair or a (kernel, stride, "
                             f"dilation) triple, got {layer!r}")
        k = as_int(layer[0], f"layers[{i}] kernel", 1)
        s = as_int(layer[1], f"layers[{i}] stride", 1)
        d = as_int(layer[2], f"layers[{i}] dilation", 1) if len(layer) == 3 else 1
        r += d * (k - 1) * jump
        jump *= s
    return r
# --8<-- [end:receptive_field]


# --8<-- [start:coverage_counts]
def coverage_counts(n, f, stride=1, padding=0):
    """How many output positions read each pixel of an n×n input (f×f window, stride s,
    padding p): the outer product of the 1-D counts

        c[t] = #{ i : i·s ≤ t + p < i·s + f },  0 ≤ i < n_out

    n_out floors like conv_output_size, so pixels that no window reaches count 0. Without padding the border pixels are read far less often than the centre (corner once,
    centre up to f² times at stride 1); "same" padding evens this out.

    >>> coverage_counts(7, 3)[3].tolist()                   # middle row, N = 7, F = 3, S = 1
    [3, 6, 9, 9, 9, 6, 3]
    >>> coverage_counts(7, 3)[0].tolist()                   # top row: corner read once
    [1, 2, 3, 3, 3, 2, 1]
    >>> coverage_counts(7, 3, stride=2)[2].tolist()
    [2, 2, 4, 2, 4, 2, 2]
    >>> coverage_counts(7, 3, padding=1)[0].tolist()       # "same" padding
    [4, 6, 6, 6, 6, 6, 4]
    >>> coverage_counts(7, 3, stride=3)[0].tolist()       # floor: the last column is never read
    [1, 1, 1, 1, 1, 1, 0]
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
