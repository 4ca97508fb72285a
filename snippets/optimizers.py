"""Optimizers, in PyTorch's exact form and in the textbook forms the Optimizers page compares.

The classes ``SGD``, ``AdaGrad``, ``RMSProp``, ``Adam`` and ``AdamW`` follow ``torch.optim``
step for step: same defaults, ε added outside the square root, weight decay where PyTorch puts
it. One instance holds the state (step count t, buffers) of ONE parameter array;
``step(param, grad)`` returns the new parameter and never modifies ``param`` or ``grad``.
The learning rate is the attribute ``lr``: a schedule may set it between steps, as a PyTorch
scheduler sets ``param_group["lr"]``.

Notation: θ parameter, g = ∇f(θ) the gradient passed to ``step``, η learning rate, t = 1, 2, …
the step count, products and powers of arrays are elementwise.

The textbook forms (``MomentumEWA``, ``MomentumCS231n``, ``NesterovLookahead``,
``SeedNesterov``, ``RMSPropEpsInRoot``, ``AdamEpsInRoot``) have the same interface so that the
page can run them side by side; the tests state when they coincide with the PyTorch forms.
"""

from __future__ import annotations

import math

import numpy as np

from snippets._validation import (as_flag, as_float_array, as_generator, as_int, as_real,
                                  check_same_shape)


def _beta(value, name):
    """A decay rate in [0, 1)."""
    return as_real(value, name, low=0.0, high=1.0, high_open=True)


def _betas(betas):
    """Adam's (β1, β2), each in [0, 1)."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return _beta(beta1, "betas[0]"), _beta(beta2, "betas[1]")


class _Optimizer:
    """Bookkeeping shared by every optimizer: input checks, the step count t, and the rule
    "one instance per parameter array" (the parameter shape may not change between steps)."""

    def __init__(self, lr):
        self.lr = as_real(lr, "lr", low=0.0, low_open=True)
        self.t = 0
        self._shape = None

    def _inputs(self, param, grad):
        param = as_float_array(param, "param")
        grad = as_float_array(grad, "grad")
        check_same_shape(param, grad, "param", "grad")
        if self._shape is None:
            self._shape = param.shape
        elif param.shape != self._shape:
            raise ValueError(
                f"param has shape {param.shape}, but this optimizer's state belongs to a "
                f"parameter of shape {self._shape} (use one optimizer instance per array)")
        self.t += 1
        return param, grad


# --8<-- [start:SGD]
class SGD(_Optimizer):
    """Stochastic gradient descent with momentum μ, Nesterov momentum and weight decay λ,
    exactly as ``torch.optim.SGD`` (dampening 0):

        g ← g + λθ                                 (weight decay = the gradient of λ/2 ‖θ‖²)
        b ← g             at t = 1,  else  b ← μb + g        (momentum buffer)
        d ← g + μb  if nesterov,   else  d ← b     (μ = 0: d = g, plain SGD)
        θ ← θ − η d

    On f(θ) = θ²/2 (so g = θ) from θ = 1 with η = 0.1, μ = 0.9:
    b = 1, 1.8, 2.34 and θ = 1 − 0.1·1 = 0.9, 0.9 − 0.1·1.8 = 0.72, 0.72 − 0.1·2.34 = 0.486.

    >>> opt, theta = SGD(lr=0.1, momentum=0.9), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=theta)
    ...     print(t + 1, theta.round(4).tolist(), opt.buf.round(4).tolist())
    1 [0.9] [1.0]
    2 [0.72] [1.8]
    3 [0.486] [2.34]
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = as_real(momentum, "momentum", low=0.0)
        self.nesterov = as_flag(nesterov, "nesterov")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0 (as in torch.optim.SGD)")
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.buf = None

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        g = grad + self.weight_decay * param
        if self.momentum == 0:
            d = g
        else:
            self.buf = g.copy() if self.buf is None else self.momentum * self.buf + g
            d = g + self.momentum * self.buf if self.nesterov else self.buf
        return param - self.lr * d
# --8<-- [end:SGD]


# --8<-- [start:AdaGrad]
class AdaGrad(_Optimizer):
    """AdaGrad as ``torch.optim.Adagrad`` (initial accumulator 0, lr_decay 0):

        s ← s + g²                       (sum of ALL squared gradients so far; s₀ = 0)
        θ ← θ − η g / (√s + ε)           (ε outside the root, default 1e-10)

    The step of a coordinate shrinks as its s grows: with a constant gradient c, s = t c² and
    the step is η c / (√t |c| + ε) ≈ η/√t, whatever the size of c.

    >>> opt, theta = AdaGrad(lr=0.1), np.array([0.0, 0.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=np.array([2.0, -0.01]))
    ...     print(t + 1, theta.round(4).tolist())
    1 [-0.1, 0.1]
    2 [-0.1707, 0.1707]
    3 [-0.2284, 0.2284]
    """

    def __init__(self, lr=0.01, eps=1e-10):
        super().__init__(lr)
        self.eps = as_real(eps, "eps", low=0.0)
        self.sum = 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        self.sum = self.sum + grad * grad
        return param - self.lr * grad / (np.sqrt(self.sum) + self.eps)
# --8<-- [end:AdaGrad]


# --8<-- [start:RMSProp]
class RMSProp(_Optimizer):
    """RMSProp as ``torch.optim.RMSprop`` (not centred, no momentum, no bias correction):

        s ← α s + (1 − α) g²             (exponentially weighted average of g²; s₀ = 0)
        θ ← θ − η g / (√s + ε)           (ε outside the root, default 1e-8)

    g/√s is about ±1 for a steady gradient, whatever its scale: each coordinate moves by about
    η per step. Because s starts at 0 and is not bias-corrected, the first step is
    η/√(1 − α) in size: 10η for α = 0.99.

    >>> opt, theta = RMSProp(lr=0.01), np.array([0.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=np.array([5.0]))
    ...     print(t + 1, theta.round(4).tolist())
    1 [-0.1]
    2 [-0.1709]
    3 [-0.2289]
    """

    def __init__(self, lr=0.01, alpha=0.99, eps=1e-8):
        super().__init__(lr)
        self.alpha = _beta(alpha, "alpha")
        self.eps = as_real(eps, "eps", low=0.0)
        self.square_avg = 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        s = self._average_square(grad)
        return param - self.lr * grad / (np.sqrt(s) + self.eps)

    def _average_square(self, g):
        """s ← α s + (1 − α) g², kept in ``square_avg``."""
        self.square_avg = self.alpha * self.square_avg + (1 - self.alpha) * g * g
        return self.square_avg
# --8<-- [end:RMSProp]


# --8<-- [start:Adam]
class Adam(_Optimizer):
    """Adam as ``torch.optim.Adam`` (amsgrad off); weight decay λ is the L2 gradient:

        g ← g + λθ                                   (L2: the decay goes through m and v)
        m ← β1 m + (1 − β1) g                        (m₀ = 0)
        v ← β2 v + (1 − β2) g²                       (v₀ = 0)
        m̂ = m / (1 − β1ᵗ),   v̂ = v / (1 − β2ᵗ)      (bias correction: βᵗ, t = step count)
        θ ← θ − η m̂ / (√v̂ + ε)                      (ε outside the root)

    At t = 1, m̂ = g and √v̂ = |g|, so the first step is η g/(|g| + ε) ≈ η·sign(g): its size
    is η whatever the size of the gradient.

    >>> opt, theta = Adam(lr=0.1), np.array([1.0, 1.0])
    >>> for g in ([100.0, -0.001], [50.0, -0.001], [0.0, -0.001]):
    ...     theta = opt.step(theta, grad=np.array(g))
    ...     print(opt.t, theta.round(4).tolist())
    1 [0.9, 1.1]
    2 [0.8068, 1.2]
    3 [0.7347, 1.3]
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = as_real(eps, "eps", low=0.0)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.m, self.v = 0.0, 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        m_hat, v_hat = self._corrected_moments(grad + self.weight_decay * param)
        return param - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def _corrected_moments(self, g):
        """m̂ and v̂, after updating m and v with g."""
        beta1, beta2 = self.betas
        self.m = beta1 * self.m + (1 - beta1) * g
        self.v = beta2 * self.v + (1 - beta2) * g * g
        return self.m / (1 - beta1 ** self.t), self.v / (1 - beta2 ** self.t)
# --8<-- [end:Adam]


# --8<-- [start:AdamW]
class AdamW(Adam):
    """AdamW as ``torch.optim.AdamW``: decoupled weight decay, applied to θ before the Adam
    step and never seen by m and v:

        θ ← θ (1 − ηλ)                               (decay, default λ = 0.01)
        θ ← θ − η m̂ / (√v̂ + ε)                      (m̂, v̂ from the raw gradient g, as in Adam)

    With Adam + L2 (``Adam(weight_decay=λ)``) the decay λθ is divided by √v̂ like the gradient,
    so weights with large gradients are barely decayed; AdamW decays every weight by the same
    factor 1 − ηλ. Below, with a zero gradient, AdamW shrinks θ by exactly 1 − 0.1·0.5 = 0.95
    per step, while Adam + L2 moves it by about η = 0.1 (its step is ≈ η·sign(λθ)).

    >>> w, l2 = AdamW(lr=0.1, weight_decay=0.5), Adam(lr=0.1, weight_decay=0.5)
    >>> tw = tl = np.array([2.0])
    >>> for t in range(3):
    ...     tw, tl = w.step(tw, np.array([0.0])), l2.step(tl, np.array([0.0]))
    ...     print(t + 1, tw.round(4).tolist(), tl.round(4).tolist())
    1 [1.9] [1.9]
    2 [1.805] [1.8002]
    3 [1.7147] [1.7006]
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(lr, betas, eps, weight_decay)

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        decayed = param * (1 - self.lr * self.weight_decay)
        m_hat, v_hat = self._corrected_moments(grad)
        return decayed - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
# --8<-- [end:AdamW]



def _lerp(start, end, weight):
    """start + weight·(end − start), evaluated the way ``torch.lerp`` does (from the nearer end),
    so that the moving averages below round like torch.optim's ``lerp_`` in float64."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


# --8<-- [start:RAdam]
class RAdam(_Optimizer):
    """Rectified Adam (Liu et al., 2020) as ``torch.optim.RAdam`` (L2 weight decay, as torch's
    default ``decoupled_weight_decay=False``):

        g ← g + λθ;   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²;   m̂ = m / (1 − β1ᵗ)
        ρ∞ = 2/(1 − β2) − 1,   ρ_t = ρ∞ − 2t β2ᵗ / (1 − β2ᵗ)       (length of v's average)
        ρ_t > 5:  r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t))
                  θ ← θ − η m̂ r_t √(1 − β2ᵗ) / (√v + ε)          (ε added to √v, not to √v̂)
        else:     θ ← θ − η m̂                                     (momentum SGD, no division)

    While v rests on too few gradients for its variance to be finite, RAdam does not divide by
    it at all: a built-in warm-up. With β2 = 0.999, ρ_t ≈ t for small t: the first 5 steps are
    momentum steps of size η|m̂| (here η·2 = 0.2), the adaptive step starts at t = 6 with a
    rectification r₆ ≈ 0.026, and r_t → 1 as t grows.

    >>> opt, theta = RAdam(lr=0.1), np.array([1.0])
    >>> for t in range(7):
    ...     theta = opt.step(theta, grad=np.array([2.0]))
    ...     print(t + 1, theta.round(4).tolist(), opt.rect and round(opt.rect, 4))
    1 [0.8] None
    2 [0.6] None
    3 [0.4] None
    4 [0.2] None
    5 [0.0] None
    6 [-0.0026] 0.0258
    7 [-0.0059] 0.0327
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = as_real(eps, "eps", low=0.0)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.m, self.v = 0.0, 0.0
        self.rho_t = None                 # ρ_t of the last step
        self.rect = None                  # r_t of the last step (None: an un-adapted step)

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        beta1, beta2, t = *self.betas, self.t
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        self.m = _lerp(self.m, grad, 1 - beta1)
        self.v = self.v * beta2 + (1 - beta2) * grad * grad
        bias_correction1, bias_correction2 = 1 - beta1 ** t, 1 - beta2 ** t
        m_hat = self.m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = self.rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
        if rho_t > 5.0:
            self.rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5     # ** 0.5 as torch
            adaptive = bias_correction2 ** 0.5 / (np.sqrt(self.v) + self.eps)
            return param - m_hat * self.lr * adaptive * self.rect
        self.rect = None
        return param - m_hat * self.lr
# --8<-- [end:RAdam]


# --8<-- [start:NAdam]
class NAdam(_Optimizer):
    """Adam with Nesterov momentum (Dozat, 2016) as ``torch.optim.NAdam`` (L2 weight decay):

        g ← g + λθ;   μ_t = β1 (1 − ½·0.96^(t ψ)),   μ_{t+1} = β1 (1 − ½·0.96^((t+1) ψ))
        m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²;   d = √(v / (1 − β2ᵗ)) + ε
        θ ← θ − η (1 − μ_t) / (1 − Π_{i≤t} μ_i) · g/d − η μ_{t+1} / (1 − Π_{i≤t+1} μ_i) · m/d

    ψ (momentum_decay, 4e-3) warms the momentum coefficient μ_t up from β1/2 towards β1. The
    first term is the current gradient, the second the momentum it is about to add: the
    look-ahead of Nesterov, applied to Adam's numerator.

    >>> opt, theta = NAdam(lr=0.1), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=np.array([2.0]))
    ...     print(t + 1, theta.round(4).tolist())
    1 [0.8944]
    2 [0.816]
    3 [0.7428]
    """

    def __init__(self, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 momentum_decay=4e-3):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.eps = as_real(eps, "eps", low=0.0)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.momentum_decay = as_real(momentum_decay, "momentum_decay", low=0.0)
        self.m, self.v = 0.0, 0.0
        self.mu_product = 1.0             # Π_{i ≤ t} μ_i
        self.mu = self.mu_next = None     # μ_t and μ_{t+1} of the last step

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        beta1, beta2, t = *self.betas, self.t
        bias_correction2 = 1 - beta2 ** t
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        mu = self.mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        self.mu_product = self.mu_product * mu
        self.m = _lerp(self.m, grad, 1 - beta1)
        self.v = self.v * beta2 + (1 - beta2) * grad * grad
        denom = np.sqrt(self.v / bias_correction2) + self.eps
        mu_product_next = self.mu_product * mu_next
        param = param + (-self.lr * (1.0 - mu) / (1.0 - self.mu_product)) * (grad / denom)
        return param + (-self.lr * mu_next / (1.0 - mu_product_next)) * (self.m / denom)
# --8<-- [end:NAdam]


# --8<-- [start:Adadelta]
class Adadelta(_Optimizer):
    """Adadelta (Zeiler, 2012) as ``torch.optim.Adadelta`` (L2 weight decay):

        g ← g + λθ
        s ← ρ s + (1 − ρ) g²                       (average of g², as RMSProp; s₀ = 0)
        Δ = √(u + ε) / √(s + ε) · g                (ε INSIDE both roots)
        u ← ρ u + (1 − ρ) Δ²                       (average of the squared updates; u₀ = 0)
        θ ← θ − η Δ                                (η = 1.0 by default)

    The ratio of the two RMS values gives Δ the units of θ, so no learning rate is needed in
    Zeiler's form (η = 1). Because u starts at 0, the first steps are tiny: √ε/√(s + ε) · g,
    whatever the gradient's scale (about 0.0032 for g = 2, ρ = 0.9).

    >>> opt, theta = Adadelta(), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=np.array([2.0]))
    ...     print(t + 1, theta.round(6).tolist())
    1 [0.996838]
    2 [0.993593]
    3 [0.990293]
    """

    def __init__(self, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
        super().__init__(lr)
        self.rho = as_real(rho, "rho", low=0.0, high=1.0)
        self.eps = as_real(eps, "eps", low=0.0)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.square_avg, self.acc_delta = 0.0, 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        rho = self.rho
        if self.t == 1:                   # state in the parameter's dtype (a float32 run stays float32)
            self.square_avg, self.acc_delta = np.zeros_like(grad), np.zeros_like(grad)
        self.square_avg = self.square_avg * rho + (1 - rho) * grad * grad
        std = np.sqrt(self.square_avg + self.eps)
        delta = np.sqrt(self.acc_delta + self.eps) / std * grad
        self.acc_delta = self.acc_delta * rho + (1 - rho) * delta * delta
        return param - self.lr * delta
# --8<-- [end:Adadelta]


# --8<-- [start:Lion]
class Lion(_Optimizer):
    """Lion, "EvoLved Sign Momentum" (Chen et al., 2023, Algorithm 2), decoupled weight decay:

        c = β1 m + (1 − β1) g                      (interpolation used for THIS step)
        θ ← θ − η (sign(c) + λθ)                   (every coordinate moves by exactly η, or 0)
        m ← β2 m + (1 − β2) g                      (the momentum kept: a slower average)

    One state array (m) instead of Adam's two, and a step whose size does not depend on the
    gradient's scale. Its updates are larger in norm than Adam's, so the paper uses a learning
    rate 3–10 times smaller than AdamW's and a decay λ 3–10 times larger (same product ηλ).

    Below, a gradient of 3 and one of −0.001 both move θ by η = 0.1; at step 3 the second
    gradient is 0 and θ still moves, because c = β1 m is not.

    >>> opt, theta = Lion(lr=0.1), np.array([1.0, 1.0])
    >>> for g in ([3.0, -0.001], [-1.0, -0.001], [-1.0, 0.0]):
    ...     theta = opt.step(theta, grad=np.array(g))
    ...     print(opt.t, theta.round(4).tolist())
    1 [0.9, 1.1]
    2 [1.0, 1.2]
    3 [1.1, 1.3]
    """

    def __init__(self, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(lr)
        self.betas = _betas(betas)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.m = 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        beta1, beta2 = self.betas
        update = np.sign(beta1 * self.m + (1 - beta1) * grad)
        self.m = beta2 * self.m + (1 - beta2) * grad
        return param - self.lr * (update + self.weight_decay * param)
# --8<-- [end:Lion]


def _bfloat16(x):
    """x rounded to bfloat16 (kept in a float array) as torch rounds it: float64 → float32 →
    bfloat16, each round-to-nearest-even; bfloat16 keeps 8 significant bits."""
    x32 = np.asarray(x, dtype=np.float32)
    bits = x32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32)
    return np.where(np.isfinite(x32), out, x32)


# --8<-- [start:newton_schulz]
def newton_schulz(G, ns_coefficients=(3.4445, -4.775, 2.0315), ns_steps=5, eps=1e-7,
                  bfloat16=False):
    """Orthogonalize a matrix by the quintic Newton–Schulz iteration of Muon:

        X₀ = G / max(‖G‖_F, ε)                    (now every singular value is ≤ 1)
        A = X Xᵀ,   X ← a X + (b A + c A²) X      (k = ns_steps times; (a, b, c) = ns_coefficients)

    On the SVD X = U S Vᵀ one iteration maps each singular value s to p(s) = a s + b s³ + c s⁵
    and keeps U and V; the coefficients make p steep at 0, so 5 steps take every s in
    [0.003, 1] into [0.68, 1.20]: the result is close to U Vᵀ, the orthogonal factor of G
    (not equal to it: the iteration trades accuracy for speed). A matrix with
    more rows than columns is transposed first, so A is the smaller Gram matrix.
    ``bfloat16=True`` rounds every intermediate to bfloat16 as ``torch.optim.Muon`` computes it.

    >>> G = np.array([[3.0, 0.0], [0.0, 0.1]])        # singular values 3 and 0.1
    >>> newton_schulz(G).round(3).tolist()            # both near 1 (U = V = I here)
    [[0.697, 0.0], [0.0, 1.129]]
    """
    G = as_float_array(G, "G", ndim=2)
    try:
        a, b, c = (as_real(x, "ns_coefficients") for x in ns_coefficients)
    except TypeError:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}") from None
    except ValueError as err:
        if "real number" in str(err) or "finite" in str(err):
            raise
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}") from None
    ns_steps = as_int(ns_steps, "ns_steps", low=0)
    if ns_steps >= 100:
        raise ValueError(f"ns_steps must be below 100 (as in torch.optim.Muon), got {ns_steps}")
    eps = as_real(eps, "eps", low=0.0)
    bfloat16 = as_flag(bfloat16, "bfloat16")
    r = _bfloat16 if bfloat16 else (lambda x: x)
    tall = G.shape[0] > G.shape[1]
    X = r(G.T if tall else G).astype(np.float64 if bfloat16 else G.dtype)
    if bfloat16:     # torch sums the squares in float32: below ~1e-22 or above ~1e19 the norm is 0 or inf
        X32 = X.astype(np.float32)
        with np.errstate(over="ignore", under="ignore"):
            norm = float(r(np.sqrt(np.sum(X32 * X32, dtype=np.float32))))
    else:
        norm = float(np.linalg.norm(X))
    with np.errstate(invalid="ignore"):
        X = r(X / max(norm, float(r(eps))))
    for _ in range(ns_steps):
        A = r(X @ X.T)
        B = r(b * A + c * (A @ A))
        X = r(a * X + B @ X)
    X = X.T if tall else X
    return X.astype(G.dtype)
# --8<-- [end:newton_schulz]


# --8<-- [start:Muon]
class Muon(_Optimizer):
    """Muon (Jordan et al., 2024) as ``torch.optim.Muon`` with its default ``adjust_lr_fn``, for
    ONE 2-D parameter (a weight matrix of shape (A, B), e.g. (fan_out, fan_in)):

        b ← μ b + (1 − μ) g                                   (momentum as an average; b₀ = 0)
        u = (1 − μ) g + μ b   if nesterov,  else  u = b
        O = NewtonSchulz(u)                                   (≈ the orthogonal factor U Vᵀ of u)
        θ ← θ (1 − ηλ) − η √max(1, A/B) · O                   (decoupled decay, default λ = 0.1)

    Every singular value of the update is about η: the step changes the matrix by about the
    same amount in every direction, whatever the gradient's spectrum. torch.optim runs the
    Newton–Schulz iteration in bfloat16, and so does this class (``newton_schulz(...,
    bfloat16=True)``): its result agrees with torch to bfloat16's 8 bits, not to float64.
    Biases, gains and embeddings are not 2-D weight matrices of a hidden layer: give them to
    AdamW.

    >>> opt = Muon(lr=0.02, weight_decay=0.0)
    >>> theta = opt.step(np.zeros((2, 2)), grad=np.array([[3.0, 0.0], [0.0, 0.1]]))
    >>> theta.round(5).tolist()                       # −0.02 · NewtonSchulz(g) in bfloat16
    [[-0.01375, 0.0], [0.0, -0.02266]]
    """

    def __init__(self, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5):
        super().__init__(lr)
        self.weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
        self.momentum = as_real(momentum, "momentum", low=0.0)
        self.nesterov = as_flag(nesterov, "nesterov")
        if not isinstance(ns_coefficients, (tuple, list)) or len(ns_coefficients) != 3:
            raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {ns_coefficients!r}")
        self.ns_coefficients = tuple(as_real(c, "ns_coefficients") for c in ns_coefficients)
        self.eps = as_real(eps, "eps", low=0.0)
        self.ns_steps = as_int(ns_steps, "ns_steps", low=0)
        if self.ns_steps >= 100:
            raise ValueError(f"ns_steps must be below 100 (as in torch.optim.Muon), got {ns_steps}")
        self.buf = None

    def step(self, param, grad):
        param = as_float_array(param, "param")
        if param.ndim != 2:
            raise ValueError(f"param must be a 2-D matrix for Muon (use AdamW for biases, gains and "
                             f"embeddings), got shape {param.shape}")
        param, grad = self._inputs(param, grad)
        mu = self.momentum
        self.buf = _lerp(np.zeros_like(grad) if self.buf is None else self.buf, grad, 1 - mu)
        update = _lerp(grad, self.buf, mu) if self.nesterov else self.buf
        update = newton_schulz(update, self.ns_coefficients, self.ns_steps, self.eps, bfloat16=True)
        rows, cols = param.shape
        adjusted_lr = self.lr * math.sqrt(max(1, rows / cols))
        return param * (1 - self.lr * self.weight_decay) + (-adjusted_lr) * update
# --8<-- [end:Muon]


# Textbook forms ------------------------------------------------------------------------------


# --8<-- [start:MomentumEWA]
class MomentumEWA(_Optimizer):
    """Momentum as an exponentially weighted average of gradients (deeplearning.ai form):

        v ← β v + (1 − β) g                (v₀ = 0)
        v̂ = v / (1 − βᵗ)  if bias_correction, else v̂ = v
        θ ← θ − α v̂

    Since v = (1 − β)·b with PyTorch's buffer b, this is ``SGD(lr=η, momentum=β)`` exactly when
    α = η / (1 − β) and bias_correction is off (for any learning-rate schedule).

    >>> opt, theta = MomentumEWA(lr=1.0, beta=0.9), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=theta)
    ...     print(t + 1, theta.round(4).tolist())
    1 [0.9]
    2 [0.72]
    3 [0.486]
    """

    def __init__(self, lr, beta=0.9, bias_correction=False):
        super().__init__(lr)
        self.beta = _beta(beta, "beta")
        self.bias_correction = as_flag(bias_correction, "bias_correction")
        self.v = 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        self.v = self.beta * self.v + (1 - self.beta) * grad
        v_hat = self.v / (1 - self.beta ** self.t) if self.bias_correction else self.v
        return param - self.lr * v_hat
# --8<-- [end:MomentumEWA]


# --8<-- [start:MomentumCS231n]
class MomentumCS231n(_Optimizer):
    """Momentum with a velocity that already contains the learning rate (CS231n form):

        v ← μ v − η g                      (v₀ = 0)
        θ ← θ + v

    With a constant η, v = −η b (b PyTorch's buffer), so this is ``SGD(lr=η, momentum=μ)``
    step for step; when η changes between steps (a schedule) the two differ, because v keeps
    the old learning rates inside it.

    >>> opt, theta = MomentumCS231n(lr=0.1, mu=0.9), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=theta)
    ...     print(t + 1, theta.round(4).tolist())
    1 [0.9]
    2 [0.72]
    3 [0.486]
    """

    def __init__(self, lr, mu=0.9):
        super().__init__(lr)
        self.mu = as_real(mu, "mu", low=0.0)
        self.v = 0.0

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        self.v = self.mu * self.v - self.lr * grad
        return param + self.v
# --8<-- [end:MomentumCS231n]


# --8<-- [start:NesterovLookahead]
class NesterovLookahead(_Optimizer):
    """Nesterov momentum with an explicit look-ahead (Sutskever et al., 2013), written with an
    accumulated step m (θ moves by −m):

        θ_ahead = θ − μ m                  (where momentum alone is about to carry θ)
        m ← μ m + η ∇f(θ_ahead)            (m₀ = 0)
        θ ← θ − m

    ``step(param, grad)`` needs the gradient AT ``lookahead(param)``, not at ``param``
    (``run_optimizer`` does this). The look-ahead points φ = θ − μm are exactly the iterates of
    ``SGD(lr=η, momentum=μ, nesterov=True)``.

    >>> f_grad = lambda x: x                      # f(x) = x²/2
    >>> opt, theta = NesterovLookahead(lr=0.1, momentum=0.9), np.array([1.0])
    >>> for t in range(3):
    ...     theta = opt.step(theta, grad=f_grad(opt.lookahead(theta)))
    ...     print(t + 1, theta.round(4).tolist(), opt.lookahead(theta).round(4).tolist())
    1 [0.9] [0.81]
    2 [0.729] [0.5751]
    3 [0.5176] [0.3273]
    """

    def __init__(self, lr, momentum=0.9):
        super().__init__(lr)
        self.momentum = as_real(momentum, "momentum", low=0.0)
        self.m = 0.0

    def lookahead(self, param):
        return param - self.momentum * self.m

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        self.m = self.momentum * self.m + self.lr * grad
        return param - self.m
# --8<-- [end:NesterovLookahead]


# --8<-- [start:SeedNesterov]
class SeedNesterov(NesterovLookahead):
    """The WRONG look-ahead of the study notes: the gradient is taken at θ + μm, i.e. behind
    θ instead of ahead of it (θ moves by −m):

        m ← μ m + η ∇f(θ + μ m)            (should be θ − μ m)
        θ ← θ − m

    On f = h θ²/2 one step multiplies (θ, m) by a matrix of determinant μ(1 + ηh), against
    μ(1 − ηh) for the correct look-ahead and μ for plain momentum: once μ(1 + ηh) > 1
    (μ = 0.9, ηh > 1/9) it diverges where Nesterov converges.

    >>> right, wrong = NesterovLookahead(lr=0.5, momentum=0.9), SeedNesterov(lr=0.5, momentum=0.9)
    >>> r = w = np.array([1.0])
    >>> for t in range(30):                                  # f(x) = x²/2, so ∇f(x) = x
    ...     r = right.step(r, grad=right.lookahead(r))
    ...     w = wrong.step(w, grad=wrong.lookahead(w))
    >>> print(f"{abs(float(r[0])):.1e}  {abs(float(w[0])):.1e}")
    5.9e-07  3.9e+01
    """

    def lookahead(self, param):
        return param + self.momentum * self.m
# --8<-- [end:SeedNesterov]


# --8<-- [start:RMSPropEpsInRoot]
class RMSPropEpsInRoot(RMSProp):
    """RMSProp as many lecture notes write it, with ε INSIDE the root:

        s ← α s + (1 − α) g²
        θ ← θ − η g / √(s + ε)

    Same as ``RMSProp`` while s ≫ ε, but ε = 1e-8 inside the root acts like √ε = 1e-4 outside
    it: a coordinate whose gradient is 1e-5 moves about 100 times less than with ``RMSProp``.

    >>> g = np.array([5.0, 1e-5])
    >>> RMSPropEpsInRoot(lr=0.01).step(np.zeros(2), g).round(4).tolist()
    [-0.1, -0.001]
    >>> RMSProp(lr=0.01).step(np.zeros(2), g).round(4).tolist()
    [-0.1, -0.099]
    """

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        s = self._average_square(grad)
        return param - self.lr * grad / np.sqrt(s + self.eps)
# --8<-- [end:RMSPropEpsInRoot]


# --8<-- [start:AdamEpsInRoot]
class AdamEpsInRoot(Adam):
    """Adam with ε INSIDE the root (a common textbook variant; PyTorch puts it outside):

        m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
        m̂ = m / (1 − β1ᵗ),      v̂ = v / (1 − β2ᵗ)
        θ ← θ − η m̂ / √(v̂ + ε)

    For |g| ≫ √ε it equals ``Adam``; for |g| ≈ √ε = 1e-4 its first step is η/√2, not η.

    >>> a, b = AdamEpsInRoot(lr=0.1), Adam(lr=0.1)
    >>> g = np.array([1.0, 1e-4])
    >>> a.step(np.zeros(2), g).round(4).tolist(), b.step(np.zeros(2), g).round(4).tolist()
    ([-0.1, -0.0707], [-0.1, -0.1])
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(lr, betas, eps)

    def step(self, param, grad):
        param, grad = self._inputs(param, grad)
        m_hat, v_hat = self._corrected_moments(grad)
        return param - self.lr * m_hat / np.sqrt(v_hat + self.eps)
# --8<-- [end:AdamEpsInRoot]


# Building blocks -----------------------------------------------------------------------------


# --8<-- [start:ewa]
def ewa(values, beta, bias_correction=False):
    """Exponentially weighted average along axis 0, started at S₀ = 0:

        S_t = β S_{t−1} + (1 − β) Y_t = (1 − β) Σ_{k ≤ t} β^(t−k) Y_k
        Ŝ_t = S_t / (1 − βᵗ)               (bias correction)

    The weights of S_t sum to 1 − βᵗ, not 1, so early values are pulled towards 0; dividing by
    1 − βᵗ makes them sum to 1. S averages roughly the last 1/(1 − β) values.

    >>> ewa(np.array([10.0, 10.0, 10.0]), beta=0.9).round(4).tolist()
    [1.0, 1.9, 2.71]
    >>> ewa(np.array([10.0, 10.0, 10.0]), beta=0.9, bias_correction=True).round(4).tolist()
    [10.0, 10.0, 10.0]
    """
    values = as_float_array(values, "values")
    if values.ndim == 0 or len(values) == 0:
        raise ValueError(f"values must hold at least one step along axis 0, got shape {values.shape}")
    beta = _beta(beta, "beta")
    bias_correction = as_flag(bias_correction, "bias_correction")
    out = np.empty_like(values)
    s = np.zeros_like(values[0])
    for t in range(1, len(values) + 1):
        s = beta * s + (1 - beta) * values[t - 1]
        out[t - 1] = s / (1 - beta ** t) if bias_correction else s
    return out
# --8<-- [end:ewa]


# --8<-- [start:clip_grad_norm]
def clip_grad_norm(grads, max_norm):
    """Gradient clipping by the global norm, as ``torch.nn.utils.clip_grad_norm_`` but pure:

        N = √(Σ_i ‖g_i‖²)                         (one norm over ALL the arrays)
        g_i ← g_i · min(1, max_norm / (N + 1e-6))

    Every array is scaled by the same factor, so the direction of the whole update is kept.
    ``grads`` is one array or a list of arrays; returns (clipped grads in the same form, N).

    >>> clipped, total = clip_grad_norm([np.array([3.0]), np.array([4.0])], max_norm=1.0)
    >>> [c.round(6).tolist() for c in clipped], total
    ([[0.6], [0.8]], 5.0)
    >>> clip_grad_norm(np.array([0.3, 0.4]), max_norm=1.0)[0].tolist()    # N ≤ max_norm: kept
    [0.3, 0.4]
    """
    single = not isinstance(grads, (list, tuple))
    arrays = [grads] if single else grads
    arrays = [as_float_array(g, "grads" if single else f"grads[{i}]") for i, g in enumerate(arrays)]
    max_norm = as_real(max_norm, "max_norm", low=0.0, low_open=True)
    # squares summed in float64: an exploding float32 gradient above ~1.8e19 would overflow
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in arrays))
    scale = min(1.0, max_norm / (total + 1e-6))
    clipped = [g * scale for g in arrays]
    return (clipped[0] if single else clipped), total
# --8<-- [end:clip_grad_norm]


# --8<-- [start:step_lr]
def step_lr(base_lr, epoch, step_size, gamma=0.1):
    """Step decay (``torch.optim.lr_scheduler.StepLR``): multiply by γ every step_size epochs.

        η(epoch) = η₀ · γ^⌊epoch / step_size⌋

    >>> [round(step_lr(0.1, e, step_size=2), 6) for e in range(6)]
    [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    """
    base_lr = as_real(base_lr, "base_lr", low=0.0, low_open=True)
    epoch = as_int(epoch, "epoch", low=0)
    step_size = as_int(step_size, "step_size", low=1)
    gamma = as_real(gamma, "gamma", low=0.0, high=1.0, low_open=True)
    return base_lr * gamma ** (epoch // step_size)
# --8<-- [end:step_lr]


# --8<-- [start:cosine_lr]
def cosine_lr(base_lr, t, t_max, eta_min=0.0):
    """Cosine annealing (``CosineAnnealingLR``, closed form) from η₀ at t = 0 to η_min at t_max:

        η(t) = η_min + (η₀ − η_min) (1 + cos(π t / t_max)) / 2

    >>> [round(cosine_lr(1.0, t, t_max=4), 4) for t in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """
    base_lr = as_real(base_lr, "base_lr", low=0.0, low_open=True)
    t = as_int(t, "t", low=0)
    t_max = as_int(t_max, "t_max", low=1)
    eta_min = as_real(eta_min, "eta_min", low=0.0, high=base_lr)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / t_max)) / 2
# --8<-- [end:cosine_lr]


# --8<-- [start:warmup_lr]
def warmup_lr(base_lr, t, warmup_steps):
    """Linear warm-up over the first warmup_steps steps (t = 0, 1, …), then constant:

        η(t) = η₀ · min(1, (t + 1) / warmup_steps)

    (the same as ``LinearLR(start_factor=1/W, end_factor=1, total_iters=W − 1)``.)
    It keeps the first updates small while Adam's v or a network's statistics are unreliable.

    >>> [round(warmup_lr(0.1, t, warmup_steps=4), 6) for t in range(6)]
    [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]
    """
    base_lr = as_real(base_lr, "base_lr", low=0.0, low_open=True)
    t = as_int(t, "t", low=0)
    warmup_steps = as_int(warmup_steps, "warmup_steps", low=1)
    return base_lr * min(1.0, (t + 1) / warmup_steps)
# --8<-- [end:warmup_lr]


# --8<-- [start:inverse_sqrt_lr]
def inverse_sqrt_lr(base_lr, t, warmup_steps):
    """Linear warm-up to η₀, then decay like 1/√t (the schedule of the original Transformer):

        η(t) = η₀ · min((t + 1)/W,  √(W / (t + 1)))          (t = 0, 1, …; peak η₀ at t + 1 = W)

    Vaswani et al. (2017) write it as d_model^(−1/2) · min(n^(−1/2), n · W^(−3/2)) with n = t + 1:
    the same curve with η₀ = (d_model · W)^(−1/2). It never reaches 0, so it needs no total
    number of steps in advance (unlike cosine or one-cycle).

    >>> [round(inverse_sqrt_lr(1.0, t, warmup_steps=4), 4) for t in (0, 1, 3, 15, 63)]
    [0.25, 0.5, 1.0, 0.5, 0.25]
    """
    base_lr = as_real(base_lr, "base_lr", low=0.0, low_open=True)
    t = as_int(t, "t", low=0)
    warmup_steps = as_int(warmup_steps, "warmup_steps", low=1)
    n = t + 1
    return base_lr * min(n / warmup_steps, math.sqrt(warmup_steps / n))
# --8<-- [end:inverse_sqrt_lr]


# --8<-- [start:one_cycle_lr]
def one_cycle_lr(max_lr, t, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """The one-cycle policy (Smith, 2018) as ``torch.optim.lr_scheduler.OneCycleLR`` with its
    defaults (cosine annealing, two phases), at step t = 0, 1, …, total_steps:

        η_start = max_lr / div_factor,   η_end = η_start / final_div_factor,   T₁ = pct_start·T − 1
        t ≤ T₁:  η = cos_anneal(η_start → max_lr, t / T₁)                      (warm-up)
        t > T₁:  η = cos_anneal(max_lr → η_end, (t − T₁) / (T − 1 − T₁))       (annealing)
        cos_anneal(a → b, p) = b + (a − b)(1 + cos πp)/2

    Up to a large rate for about 30% of training, then down to almost 0 (max_lr/25/10⁴).

    >>> [round(one_cycle_lr(1.0, t, total_steps=10), 4) for t in (0, 2, 5, 9)]
    [0.04, 1.0, 0.6113, 0.0]
    """
    max_lr = as_real(max_lr, "max_lr", low=0.0, low_open=True)
    total_steps = as_int(total_steps, "total_steps", low=1)
    t = as_int(t, "t", low=0)
    if t > total_steps:
        raise ValueError(f"t must be at most total_steps = {total_steps} (as OneCycleLR), got {t}")
    pct_start = as_real(pct_start, "pct_start", low=0.0, high=1.0, high_open=True)
    div_factor = as_real(div_factor, "div_factor", low=0.0, low_open=True)
    final_div_factor = as_real(final_div_factor, "final_div_factor", low=0.0, low_open=True)
    warm_end = pct_start * total_steps - 1
    if warm_end == 0:
        raise ValueError(f"pct_start * total_steps must not be 1 (a warm-up phase of length 0), "
                         f"got pct_start={pct_start}, total_steps={total_steps}")
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor

    def cos_anneal(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    if t <= warm_end:
        return cos_anneal(initial_lr, max_lr, t / warm_end)
    return cos_anneal(max_lr, min_lr, (t - warm_end) / (total_steps - 1 - warm_end))
# --8<-- [end:one_cycle_lr]


# --8<-- [start:linear_scaling_lr]
def linear_scaling_lr(base_lr, batch_size, base_batch_size=256):
    """The linear scaling rule (Goyal et al., 2017): k times the batch, k times the rate,

        η = η₀ · B / B₀                            (ImageNet/ResNet: 0.1 per 256 images)

    k small SGD steps θ − η Σ_j g(θ_j) are about one step θ − kη ḡ when the gradient changes
    little over k steps; it breaks down early in training (hence warm-up) and for very large B.

    >>> linear_scaling_lr(0.1, 8192)
    3.2
    """
    base_lr = as_real(base_lr, "base_lr", low=0.0, low_open=True)
    batch_size = as_int(batch_size, "batch_size", low=1)
    base_batch_size = as_int(base_batch_size, "base_batch_size", low=1)
    return base_lr * batch_size / base_batch_size
# --8<-- [end:linear_scaling_lr]


# --8<-- [start:accumulate_gradients]
def accumulate_gradients(micro_grads, micro_sizes):
    """Gradient accumulation: the gradient of a batch of B = Σ n_k examples from K micro-batches,
    each gradient g_k the MEAN over its n_k examples (what ``loss.backward()`` gives for a mean loss):

        g = Σ_k (n_k / B) g_k                      (= (1/K) Σ_k g_k when all n_k are equal)

    In PyTorch: ``(loss_k * n_k / B).backward()`` for each micro-batch (or ``loss_k / K`` for
    equal sizes), then one ``optimizer.step()``. Summing the K mean losses without this weight
    gives K times the gradient; BatchNorm still sees micro-batches of n_k.

    >>> g, _ = accumulate_gradients([np.array([1.0]), np.array([4.0])], micro_sizes=[3, 1])
    >>> g.tolist()                               # (3·1 + 1·4)/4, not (1 + 4)/2
    [1.75]
    """
    if not isinstance(micro_grads, (list, tuple)) or len(micro_grads) == 0:
        raise ValueError(f"micro_grads must be a non-empty list of arrays, got {type(micro_grads).__name__}")
    grads = [as_float_array(g, f"micro_grads[{k}]") for k, g in enumerate(micro_grads)]
    for k, g in enumerate(grads[1:], start=1):
        check_same_shape(grads[0], g, "micro_grads[0]", f"micro_grads[{k}]")
    if not isinstance(micro_sizes, (list, tuple)) or len(micro_sizes) != len(grads):
        raise ValueError(f"micro_sizes must list one size per micro-batch ({len(grads)}), got {micro_sizes!r}")
    sizes = [as_int(n, f"micro_sizes[{k}]", low=1) for k, n in enumerate(micro_sizes)]
    total = sum(sizes)
    return sum(g * (n / total) for g, n in zip(grads, sizes)), total
# --8<-- [end:accumulate_gradients]


# --8<-- [start:weight_decay_groups]
def weight_decay_groups(named_params, weight_decay):
    """Parameter groups for AdamW: decay the weight matrices (and conv kernels), not the biases
    and normalization gains/shifts (1-D arrays), the rule used by nanoGPT and most LLM code.

    Returns ``[{"params": decayed names, "weight_decay": λ}, {"params": the rest, "weight_decay":
    0.0}]``, the shape of ``torch.optim.AdamW(groups)``'s argument (names instead of tensors).
    Decaying a LayerNorm gain pulls it towards 0, i.e. shrinks the layer's output; decaying a
    bias is pointless (it does not scale with the input).

    >>> params = {"fc.weight": np.zeros((4, 3)), "fc.bias": np.zeros(4), "ln.weight": np.ones(4)}
    >>> [(g["params"], g["weight_decay"]) for g in weight_decay_groups(params, 0.1)]
    [(['fc.weight'], 0.1), (['fc.bias', 'ln.weight'], 0.0)]
    """
    if not isinstance(named_params, dict) or not named_params:
        raise ValueError(f"named_params must be a non-empty dict name -> array, got {type(named_params).__name__}")
    weight_decay = as_real(weight_decay, "weight_decay", low=0.0)
    decay, no_decay = [], []
    for name, value in named_params.items():
        (decay if as_float_array(value, f"named_params[{name!r}]").ndim >= 2 else no_decay).append(name)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
# --8<-- [end:weight_decay_groups]


# --8<-- [start:newton_step]
def newton_step(param, grad, hessian):
    """One Newton step: θ ← θ − H⁻¹ ∇f(θ)  (solved as H d = ∇f, never inverting H).

    It jumps to the stationary point of the local quadratic model: the minimum of a convex
    quadratic in ONE step whatever its conditioning, but equally the saddle of x² − y².
    For n parameters H has n² entries and the solve costs O(n³): impossible for n ~ 10⁸.

    >>> x = np.array([3.0, 1.0])
    >>> newton_step(x, grad=np.array([1.0, 100.0]) * x, hessian=np.diag([1.0, 100.0])).tolist()
    [0.0, 0.0]
    """
    param = as_float_array(param, "param", ndim=1)
    grad = as_float_array(grad, "grad", ndim=1)
    check_same_shape(param, grad, "param", "grad")
    hessian = as_float_array(hessian, "hessian", ndim=2)
    if hessian.shape != (param.size, param.size):
        raise ValueError(f"hessian must have shape {(param.size, param.size)}, got {hessian.shape}")
    try:
        return param - np.linalg.solve(hessian, grad)
    except np.linalg.LinAlgError:
        raise ValueError("hessian must be invertible (it is singular): Newton's step is undefined") from None
# --8<-- [end:newton_step]


# --8<-- [start:minibatches]
def minibatches(m, batch_size, rng):
    """Index arrays of one epoch of mini-batch training: a random permutation of the m examples
    cut into ⌈m / B⌉ batches of B (the last one smaller when B does not divide m).
    B = m is batch gradient descent (1 update per epoch), B = 1 is pure SGD (m updates).

    >>> [b.tolist() for b in minibatches(5, 2, np.random.default_rng(0))]
    [[2, 4], [3, 0], [1]]
    """
    m = as_int(m, "m", low=1)
    batch_size = as_int(batch_size, "batch_size", low=1)
    order = as_generator(rng).permutation(m)
    return [order[i:i + batch_size] for i in range(0, m, batch_size)]
# --8<-- [end:minibatches]


# Test functions and the trajectory runner -----------------------------------------------------


def _points(p):
    p = as_float_array(p, "p")
    if p.ndim == 0 or p.shape[-1] != 2:
        raise ValueError(f"p must have shape (..., 2), got {p.shape}")
    return p[..., 0], p[..., 1]


# --8<-- [start:ill_conditioned_quadratic]
def ill_conditioned_quadratic(p, curvatures=(1.0, 100.0), angle=0.0):
    """f(p) = ½ pᵀ H p with H = R diag(a, b) Rᵀ, (a, b) = curvatures, R the rotation by
    ``angle`` (radians); ∇f = H p; minimum 0 at p = 0. With angle = 0: f = (a x² + b y²)/2.

    The condition number κ = b/a says how elongated the valley is: gradient descent must use
    η < 2/b to stay stable across it, and then moves along it by only 1 − ηa per step.
    With angle = 0 the valley is aligned with the axes, which per-coordinate methods (AdaGrad,
    RMSProp, Adam) exploit; a rotated valley takes that advantage away.
    ``p`` is (2,) or (..., 2) (a grid, for contour plots); returns (f, ∇f).

    >>> f, g = ill_conditioned_quadratic(np.array([1.0, 1.0]), curvatures=(1.0, 10.0))
    >>> float(f), g.tolist()
    (5.5, [1.0, 10.0])
    >>> f, g = ill_conditioned_quadratic(np.array([1.0, 1.0]), (1.0, 10.0), angle=np.pi / 4)
    >>> round(float(f), 6), g.round(6).tolist()      # (1, 1) lies along the flat direction
    (1.0, [1.0, 1.0])
    """
    p = as_float_array(p, "p")
    _points(p)
    if not isinstance(curvatures, (tuple, list)) or len(curvatures) != 2:
        raise ValueError(f"curvatures must be a pair (a, b), got {curvatures!r}")
    a, b = (as_real(c, "curvatures", low=0.0, low_open=True) for c in curvatures)
    angle = as_real(angle, "angle")
    c, s = math.cos(angle), math.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    hessian = rotation @ np.diag([a, b]) @ rotation.T
    grad = p @ hessian                      # H is symmetric: (H p) for every row p
    return np.sum(p * grad, axis=-1) / 2, grad
# --8<-- [end:ill_conditioned_quadratic]


# --8<-- [start:rosenbrock]
def rosenbrock(p, a=1.0, b=100.0):
    """Rosenbrock's banana: f(x, y) = (a − x)² + b (y − x²)², minimum 0 at (a, a²).

        ∂f/∂x = −2(a − x) − 4b x (y − x²),   ∂f/∂y = 2b (y − x²)

    >>> f, g = rosenbrock(np.array([-1.0, 1.0]))
    >>> float(f), g.tolist()
    (4.0, [-4.0, 0.0])
    """
    x, y = _points(p)
    a = as_real(a, "a")
    b = as_real(b, "b", low=0.0, low_open=True)
    f = (a - x) ** 2 + b * (y - x * x) ** 2
    return f, np.stack([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)], axis=-1)
# --8<-- [end:rosenbrock]


# --8<-- [start:saddle]
def saddle(p):
    """f(x, y) = x² − y²: ∇f = (2x, −2y) vanishes at 0, a minimum along x and a maximum along y.

    Gradient descent started exactly on y = 0 converges to the saddle; the smallest y ≠ 0 is
    multiplied by 1 + 2η per step and escapes, slowly at first (a plateau).

    >>> f, g = saddle(np.array([1.0, 0.5]))
    >>> float(f), g.tolist()
    (0.75, [2.0, -1.0])
    """
    x, y = _points(p)
    return x * x - y * y, np.stack([2 * x, -2 * y], axis=-1)
# --8<-- [end:saddle]


# --8<-- [start:run_optimizer]
def run_optimizer(optimizer, f, x0, n_steps):
    """Iterate x_{k+1} = optimizer.step(x_k, ∇f(x_k)) and return [x_0, x_1, …, x_n] as an
    array of shape (n + 1,) + x0.shape. ``f`` returns (value, gradient), like the test
    functions above. An optimizer with a ``lookahead`` method (Nesterov's explicit form) gets
    the gradient at ``optimizer.lookahead(x_k)``. A divergent run stops at the first
    non-finite iterate, which is dropped (the result is then shorter).

    >>> path = run_optimizer(SGD(lr=0.01), ill_conditioned_quadratic, np.array([1.0, 1.0]), 3)
    >>> path.round(4).tolist()        # x shrinks by 1 − 0.01·1 per step, y by 1 − 0.01·100 = 0
    [[1.0, 1.0], [0.99, 0.0], [0.9801, 0.0], [0.9703, 0.0]]
    """
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"optimizer must have a step(param, grad) method, got {type(optimizer).__name__}")
    if not callable(f):
        raise ValueError(f"f must be a function returning (value, gradient), got {type(f).__name__}")
    x = as_float_array(x0, "x0").copy()
    n_steps = as_int(n_steps, "n_steps", low=0)
    lookahead = getattr(optimizer, "lookahead", None)
    path = [x]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_steps):
            _, grad = f(lookahead(x) if lookahead is not None else x)
            x = optimizer.step(x, grad)
            if not np.all(np.isfinite(x)):
                break
            path.append(x)
    return np.stack(path)
# --8<-- [end:run_optimizer]


# --8<-- [start:steps_to_tolerance]
def steps_to_tolerance(path, target, tol, stay=False):
    """First k with ‖x_k − x*‖ ≤ tol along a path from ``run_optimizer``, or None if never.

    With stay=True: the first k from which the path stays within tol up to its end (None if
    its last point is outside), which rules out a lucky pass through the target on the way.

    >>> path = np.array([[4.0, 0.0], [1.0, 0.0], [-3.0, 0.0], [0.5, 0.0]])
    >>> steps_to_tolerance(path, np.zeros(2), 2.0), steps_to_tolerance(path, np.zeros(2), 2.0, stay=True)
    (1, 3)
    """
    path = as_float_array(path, "path")
    target = as_float_array(target, "target")
    if path.ndim == 0 or len(path) == 0 or path.shape[1:] != target.shape:
        raise ValueError(f"path must have shape (n,) + {target.shape} with n >= 1, got {path.shape}")
    tol = as_real(tol, "tol", low=0.0, low_open=True)
    with np.errstate(over="ignore"):                 # a diverging path is just "not yet"
        dist = np.sqrt(np.sum((path - target) ** 2, axis=tuple(range(1, path.ndim))))
    inside = dist <= tol
    if stay:
        outside = np.flatnonzero(~inside)
        if outside.size == 0:
            return 0
        return int(outside[-1]) + 1 if outside[-1] + 1 < len(path) else None
    hits = np.flatnonzero(inside)
    return int(hits[0]) if hits.size else None
# --8<-- [end:steps_to_tolerance]
