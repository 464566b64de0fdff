"""Regression losses: elementwise kernels on ``r = pred - target``.

Each loss is a value kernel returning per-element losses and residuals, plus
its exact partial derivatives (written with differentiable ops).  The public
functions only validate and hand the pair to :func:`xploss._define.apply`.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = [
    "mean_squared_error", "mse", "mean_absolute_error", "mae", "l1", "huber", "smooth_l1",
    "quantile", "pinball", "log_cosh", "mean_squared_log_error", "msle",
    "mean_absolute_percentage_error", "mape", "poisson", "poisson_nll", "gaussian_nll",
    "l1_penalty", "l2_penalty",
]

_LOG2 = math.log(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _elementwise(fn: str, prim: Primitive, pred: Any, target: Any, sample_weight: Any, reduction: str,
                 nonnegative: dict | None = None, **static: Any) -> Any:
    """Validate a ``(pred, target)`` pair and run an elementwise primitive.

    ``nonnegative``: ``{"pred": "rates", ...}``, the inputs whose values must be >= 0 (checked eagerly).
    """
    be = resolve(fn, {"pred": pred, "target": target, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "pred", xp, pred)
    target = _checks.target_like(fn, xp, ("pred", pred), ("target", target))
    invalid = _checks.either(xp, *(_checks.nonnegative_values(fn, name, be, {"pred": pred, "target": target}[name],
                                                              what) for name, what in (nonnegative or {}).items()))
    sample_weight = _checks.weight(fn, xp, sample_weight, pred)
    _checks.reduction(fn, reduction)
    return apply(be, prim, (pred, target), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 **static)


def _sign(xp: Any, r: Any) -> Any:
    return xp.sign(r)


# -- mean squared error ---------------------------------------------------------

def _mse_fwd(xp: Any, p: Any, y: Any) -> tuple:
    r = p - y
    return r * r, (r,)


def _mse_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    (r,) = res
    return 2.0 * r, lambda: -2.0 * r


def _mse_vjp(xp: Any, arrays: tuple, res: tuple, g: Any) -> tuple:
    """``2 g r`` with the (usually scalar) ``2 g`` formed first: one full-size buffer per input."""
    g2 = 2.0 * g
    return res[0] * g2, lambda: res[0] * -g2


_MSE = Primitive("mean_squared_error", _mse_fwd, _mse_partials, vjp=_mse_vjp)


@loss
def mean_squared_error(pred: Any, target: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Mean squared error.

    .. math:: \ell_i = (p_i - y_i)^2

    Parameters
    ----------
    pred, target : array
        Predictions and targets of the same shape.  ``pred`` must be real
        floating; an integer or bool ``target`` is cast to ``pred.dtype``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``pred`` (``(N,)``
        weighs rows of an ``(N, D)`` input).
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides the (weighted) sum by the element count,
        ``"weighted_mean"`` by the weight total; ``"count"`` and
        ``"total_weight"`` return those denominators (no gradient), the
        partial form whose sums add up across micro-batches.

    Returns
    -------
    array
        A scalar, or the elementwise losses of shape ``pred.shape`` for
        ``reduction="none"``; an array of the inputs' library and dtype.

    Raises
    ------
    XplossError
        Mismatched shapes (no broadcasting), an integer ``pred``, a float
        ``target`` of another dtype, an unknown reduction, a misaligned weight.

    Notes
    -----
    Gradient ``2 (p - y)``.

    See Also
    --------
    torch.nn.functional.mse_loss : ``F.mse_loss(pred, target)`` (equal for every reduction).
    keras.losses.MeanSquaredError : ``MeanSquaredError()(target, pred)`` (target first).
    optax.losses.squared_error : ``squared_error(pred, target).mean()`` (no ½).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0])))
    4.333333333333333
    """
    return _elementwise("mean_squared_error", _MSE, pred, target, sample_weight, reduction)


# -- mean absolute error ----------------------------------------------------------

def _mae_fwd(xp: Any, p: Any, y: Any) -> tuple:
    r = p - y
    return xp.abs(r), (r,)


def _mae_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    s = _sign(xp, res[0])
    return s, lambda: -s


_MAE = Primitive("mean_absolute_error", _mae_fwd, _mae_partials)


@loss
def mean_absolute_error(pred: Any, target: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Mean absolute error (L1).

    .. math:: \ell_i = |p_i - y_i|

    Parameters
    ----------
    pred, target : array
        Same shape.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    Notes
    -----
    Subgradient ``sign(p - y)``, **0 at** ``p == y`` (as torch and TensorFlow;
    JAX's own ``abs`` gives +1 there).

    See Also
    --------
    torch.nn.functional.l1_loss : ``F.l1_loss(pred, target)``.
    keras.losses.MeanAbsoluteError : ``MeanAbsoluteError()(target, pred)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.mae(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
    1.5
    """
    return _elementwise("mean_absolute_error", _MAE, pred, target, sample_weight, reduction)


# -- huber / smooth L1 --------------------------------------------------------------

def _huber_fwd(xp: Any, p: Any, y: Any, *, delta: float, scale: float) -> tuple:
    r = p - y
    c = xp.clip(r, -delta, delta)  # r capped at ±delta: the derivative, kept as the residual
    loss = c * (r - 0.5 * c)  # = ½r² inside, delta (|r| - ½delta) outside (five passes, no abs)
    return (loss if _ops.is_one(scale) else loss * scale), (c,)


def _huber_partials(xp: Any, arrays: tuple, res: tuple, *, delta: float, scale: float) -> tuple:
    d = res[0] if _ops.is_one(scale) else res[0] * scale
    return d, lambda: -d


def _huber_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, delta: float, scale: float) -> tuple:
    gs = g if _ops.is_one(scale) else g * scale
    return res[0] * gs, lambda: res[0] * -gs


_HUBER = Primitive("huber", _huber_fwd, _huber_partials, vjp=_huber_vjp)


@loss
def huber(pred: Any, target: Any, /, *, delta: float = 1.0, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Huber loss.

    .. math::
        \ell_i = \begin{cases} \tfrac12 r_i^2 & |r_i| \le \delta \\
                 \delta\,(|r_i| - \tfrac12\delta) & \text{otherwise} \end{cases},
        \qquad r = p - y

    Parameters
    ----------
    pred, target : array
        Same shape.
    delta : float, default 1.0
        Threshold between the quadratic and linear parts; must be > 0.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``delta <= 0`` and the errors of :func:`mean_squared_error`.

    Notes
    -----
    Computed as ``q (|r| - q/2)`` with ``q = min(|r|, δ)`` (no overflow of
    ``r²`` beyond δ).  Gradient ``clip(r, -δ, δ)``, continuous at ``|r| = δ``.

    See Also
    --------
    torch.nn.functional.huber_loss : ``F.huber_loss(pred, target, delta=delta)``.
    keras.losses.Huber : ``Huber(delta=delta)(target, pred)``.
    optax.losses.huber_loss : ``huber_loss(pred, target, delta=delta).mean()``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.huber(np.array([0.5, 3.0]), np.array([0.0, 0.0]), delta=1.0))
    1.3125
    """
    delta = _checks.number("huber", "delta", delta, low=0.0, low_open=True, traced=True)
    return _elementwise("huber", _HUBER, pred, target, sample_weight, reduction, delta=delta, scale=1.0)


@loss
def smooth_l1(pred: Any, target: Any, /, *, beta: float = 1.0, sample_weight: Any = None,
              reduction: str = "mean") -> Any:
    r"""Smooth L1 loss (``huber(delta=beta) / beta``).

    .. math::
        \ell_i = \begin{cases} \tfrac12 r_i^2/\beta & |r_i| < \beta \\
                 |r_i| - \tfrac12\beta & \text{otherwise} \end{cases}

    Parameters
    ----------
    pred, target : array
        Same shape.
    beta : float, default 1.0
        Must be >= 0; ``beta=0`` is exactly :func:`mean_absolute_error`.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    Notes
    -----
    Gradient ``clip(r / β, -1, 1)``: slope saturates at 1 (Huber's at δ).

    See Also
    --------
    torch.nn.functional.smooth_l1_loss : ``F.smooth_l1_loss(pred, target, beta=beta)``.
    keras.losses.Huber : ``Huber(delta=beta)(target, pred) / beta``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.smooth_l1(np.array([0.5, 3.0]), np.array([0.0, 0.0]), beta=2.0))
    1.03125
    """
    beta = _checks.number("smooth_l1", "beta", beta, low=0.0)
    if beta == 0.0:
        return _elementwise("smooth_l1", _MAE, pred, target, sample_weight, reduction)
    return _elementwise("smooth_l1", _HUBER, pred, target, sample_weight, reduction, delta=beta, scale=1.0 / beta)


# -- quantile (pinball) -----------------------------------------------------------------

def _quantile_fwd(xp: Any, p: Any, y: Any, *, tau: float) -> tuple:
    u = y - p
    return xp.maximum(tau * u, (tau - 1.0) * u), (u,)


def _quantile_partials(xp: Any, arrays: tuple, res: tuple, *, tau: float) -> tuple:
    (u,) = res
    zero = xp.zeros_like(u)
    dp = xp.where(u > 0, zero - tau, xp.where(u < 0, zero + (1.0 - tau), zero))
    return dp, lambda: -dp


_QUANTILE = Primitive("quantile", _quantile_fwd, _quantile_partials)


@loss
def quantile(pred: Any, target: Any, /, *, tau: float = 0.5, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Quantile (pinball) loss.

    .. math:: \ell_i = \max\big(\tau (y_i - p_i),\; (\tau - 1)(y_i - p_i)\big)

    Parameters
    ----------
    pred, target : array
        Same shape.
    tau : float, default 0.5
        Quantile level in the open interval (0, 1); ``tau=0.5`` is half the MAE.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    Notes
    -----
    Subgradient with respect to ``pred``: ``-tau`` where ``y > p``,
    ``1 - tau`` where ``y < p`` and **0 at** ``y == p`` (the same on every
    backend).  Minimised in expectation by the tau-quantile of ``target``.
    No torch or Keras built-in exists: conformance checks the reference formula.

    See Also
    --------
    mean_absolute_error : ``quantile(p, y, tau=0.5) == 0.5 * mae(p, y)``.
    sklearn.metrics.mean_pinball_loss : ``mean_pinball_loss(y, p, alpha=tau)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.quantile(np.array([0.0, 0.0]), np.array([1.0, -1.0]), tau=0.9))
    0.5
    """
    tau = _checks.number("quantile", "tau", tau, low=0.0, high=1.0, low_open=True, high_open=True)
    return _elementwise("quantile", _QUANTILE, pred, target, sample_weight, reduction, tau=tau)


# -- log-cosh ---------------------------------------------------------------------------

def _log_cosh_fwd(xp: Any, p: Any, y: Any) -> tuple:
    r = p - y
    a = xp.abs(r)
    return a + xp.log1p(xp.exp(-2.0 * a)) - _LOG2, (r,)


def _log_cosh_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    t = xp.tanh(res[0])
    return t, lambda: -t


_LOG_COSH = Primitive("log_cosh", _log_cosh_fwd, _log_cosh_partials)


@loss
def log_cosh(pred: Any, target: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Log-cosh loss.

    .. math:: \ell_i = \log\cosh(p_i - y_i)

    Parameters
    ----------
    pred, target : array
        Same shape.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    Notes
    -----
    Evaluated as ``|r| + log1p(exp(-2|r|)) - log 2``: no overflow for large
    residuals (``log_cosh`` of 1e6 is ``1e6 - log 2``).  Gradient ``tanh(r)``.

    See Also
    --------
    keras.losses.LogCosh : ``LogCosh()(target, pred)``.
    optax.losses.log_cosh : ``log_cosh(pred, target).mean()``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.log_cosh(np.array([1.0]), np.array([0.0]))), 6)
    0.433781
    """
    return _elementwise("log_cosh", _LOG_COSH, pred, target, sample_weight, reduction)


# -- mean squared logarithmic error --------------------------------------------------

def _msle_fwd(xp: Any, p: Any, y: Any, *, eps: float) -> tuple:
    d = xp.log1p(xp.maximum(p, eps)) - xp.log1p(xp.maximum(y, eps))
    return d * d, (d,)


def _msle_partials(xp: Any, arrays: tuple, res: tuple, *, eps: float) -> tuple:
    p, y = arrays
    (d,) = res
    zero = xp.zeros_like(d)
    dp = xp.where(p >= eps, 2.0 * d / (1.0 + xp.maximum(p, eps)), zero)
    dy = xp.where(y >= eps, -2.0 * d / (1.0 + xp.maximum(y, eps)), zero)
    return dp, dy


_MSLE = Primitive("mean_squared_log_error", _msle_fwd, _msle_partials)


@loss
def mean_squared_log_error(pred: Any, target: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
                           reduction: str = "mean") -> Any:
    r"""Mean squared logarithmic error (Keras semantics).

    .. math:: \ell_i = \big(\log(1 + \max(p_i, \epsilon)) - \log(1 + \max(y_i, \epsilon))\big)^2

    Parameters
    ----------
    pred, target : array
        Same shape.
    eps : float, default 1e-7
        Keras' epsilon: inputs below it are clamped (zero gradient there).
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    See Also
    --------
    keras.losses.MeanSquaredLogarithmicError : ``MeanSquaredLogarithmicError()(target, pred)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.msle(np.array([np.e - 1.0]), np.array([0.0]))), 6)
    1.0
    """
    eps = _checks.number("mean_squared_log_error", "eps", eps, low=0.0)
    return _elementwise("mean_squared_log_error", _MSLE, pred, target, sample_weight, reduction, eps=eps)


# -- mean absolute percentage error ----------------------------------------------------

def _mape_fwd(xp: Any, p: Any, y: Any, *, eps: float) -> tuple:
    r = p - y
    den = xp.maximum(xp.abs(y), eps)
    return 100.0 * xp.abs(r) / den, (r, den)


def _mape_partials(xp: Any, arrays: tuple, res: tuple, *, eps: float) -> tuple:
    _, y = arrays
    r, den = res
    s = _sign(xp, r)
    dp = 100.0 * s / den
    dden = xp.where(xp.abs(y) >= eps, _sign(xp, y), xp.zeros_like(y))
    dy = -dp - 100.0 * xp.abs(r) * dden / (den * den)
    return dp, dy


_MAPE = Primitive("mean_absolute_percentage_error", _mape_fwd, _mape_partials)


@loss
def mean_absolute_percentage_error(pred: Any, target: Any, /, *, eps: float = 1e-7, sample_weight: Any = None,
                                   reduction: str = "mean") -> Any:
    r"""Mean absolute percentage error (Keras semantics).

    .. math:: \ell_i = 100\,\frac{|p_i - y_i|}{\max(|y_i|, \epsilon)}

    Parameters
    ----------
    pred, target : array
        Same shape.
    eps : float, default 1e-7
        Floor of the denominator (Keras' epsilon).
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    See Also
    --------
    keras.losses.MeanAbsolutePercentageError : ``MeanAbsolutePercentageError()(target, pred)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.mape(np.array([110.0, 45.0]), np.array([100.0, 50.0])))
    10.0
    """
    eps = _checks.number("mean_absolute_percentage_error", "eps", eps, low=0.0, low_open=True)
    return _elementwise("mean_absolute_percentage_error", _MAPE, pred, target, sample_weight, reduction, eps=eps)


# -- poisson ----------------------------------------------------------------------------

def _poisson_fwd(xp: Any, p: Any, y: Any, *, eps: float, log_input: bool, full: bool) -> tuple:
    if log_input:
        loss = xp.exp(p) - y * p
    else:
        loss = p - y * xp.log(p + eps)
    if full:
        big = y > 1.0
        ys = xp.where(big, y, xp.ones_like(y))  # double where: no log(0) in the masked branch
        loss = loss + xp.where(big, ys * xp.log(ys) - ys + 0.5 * xp.log(2.0 * math.pi * ys), xp.zeros_like(y))
    return loss, ()


def _poisson_partials(xp: Any, arrays: tuple, res: tuple, *, eps: float, log_input: bool, full: bool) -> tuple:
    p, y = arrays
    if log_input:
        dp, dy = xp.exp(p) - y, -p
    else:
        dp, dy = 1.0 - y / (p + eps), -xp.log(p + eps)
    if full:
        big = y > 1.0
        ys = xp.where(big, y, xp.ones_like(y))
        dy = dy + xp.where(big, xp.log(ys) + 0.5 / ys, xp.zeros_like(y))
    return dp, dy


_POISSON = Primitive("poisson", _poisson_fwd, _poisson_partials)
_RATES_AND_COUNTS = {"pred": "rates", "target": "counts"}


@loss
def poisson(pred: Any, target: Any, /, *, eps: float = 1e-7, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Poisson loss on rates (Keras semantics).

    .. math:: \ell_i = p_i - y_i \log(p_i + \epsilon)

    Parameters
    ----------
    pred : array
        Predicted rates (>= 0).
    target : array
        Observed counts, same shape.
    eps : float, default 1e-7
        Added inside the log (Keras' epsilon).
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    See Also
    --------
    keras.losses.Poisson : ``Poisson()(target, pred)``.
    torch.nn.functional.poisson_nll_loss : ``F.poisson_nll_loss(pred, target, log_input=False, eps=1e-7)``.
    poisson_nll : torch's parameterisation (log-rate input by default).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.poisson(np.array([1.0, 2.0]), np.array([1.0, 0.0]))), 6)
    1.5
    """
    eps = _checks.number("poisson", "eps", eps, low=0.0)
    return _elementwise("poisson", _POISSON, pred, target, sample_weight, reduction, _RATES_AND_COUNTS, eps=eps,
                        log_input=False, full=False)


@loss
def poisson_nll(pred: Any, target: Any, /, *, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Poisson negative log-likelihood (torch semantics).

    .. math::
        \ell_i = \begin{cases} e^{p_i} - y_i p_i & \text{log\_input} \\
                 p_i - y_i \log(p_i + \epsilon) & \text{otherwise} \end{cases}
        \;+\; [\text{full}]\,[y_i > 1]\,\big(y_i \log y_i - y_i + \tfrac12 \log(2\pi y_i)\big)

    Parameters
    ----------
    pred : array
        Log-rates (``log_input=True``) or rates.
    target : array
        Counts, same shape.
    log_input : bool, default True
        Whether ``pred`` is the log of the rate.
    full : bool, default False
        Add the Stirling approximation term (only where ``target > 1``, as torch).
    eps : float, default 1e-8
        Added inside the log when ``log_input=False``.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses for ``reduction="none"``.

    See Also
    --------
    torch.nn.functional.poisson_nll_loss : ``F.poisson_nll_loss(pred, target, log_input, full, eps=eps)``.
    tensorflow.nn.log_poisson_loss : ``tf.nn.log_poisson_loss(target, pred, compute_full_loss=full)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.poisson_nll(np.array([0.0, 1.0]), np.array([1.0, 2.0]))), 6)
    0.859141
    """
    eps = _checks.number("poisson_nll", "eps", eps, low=0.0)
    nonnegative = {"target": "counts"} if log_input else _RATES_AND_COUNTS
    return _elementwise("poisson_nll", _POISSON, pred, target, sample_weight, reduction, nonnegative, eps=eps,
                        log_input=bool(log_input), full=bool(full))


# -- gaussian NLL -----------------------------------------------------------------------

def _gaussian_fwd(xp: Any, p: Any, y: Any, var: Any, *, eps: float, full: bool) -> tuple:
    if 0 < var.ndim < p.ndim:
        var = xp.expand_dims(var, axis=-1)
    v = xp.maximum(var, eps)
    r = p - y
    loss = 0.5 * (xp.log(v) + r * r / v)
    if full:
        loss = loss + _HALF_LOG_2PI
    return loss, (r, v)


def _gaussian_partials(xp: Any, arrays: tuple, res: tuple, *, eps: float, full: bool) -> tuple:
    r, v = res
    dp = r / v
    # Straight-through clamp, as torch: d/dvar is evaluated at max(var, eps).
    dv = 0.5 * (1.0 / v - r * r / (v * v))
    return dp, -dp, dv


_GAUSSIAN = Primitive("gaussian_nll", _gaussian_fwd, _gaussian_partials, align_leading=True)


@loss
def gaussian_nll(pred: Any, target: Any, var: Any, /, *, full: bool = False, eps: float = 1e-6,
                 sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Gaussian negative log-likelihood (torch semantics).

    .. math::
        \ell_i = \tfrac12\Big(\log \hat v_i + \frac{(p_i - y_i)^2}{\hat v_i}\Big)
                 + [\text{full}]\,\tfrac12\log 2\pi, \qquad \hat v = \max(v, \epsilon)

    Parameters
    ----------
    pred, target : array
        Means and observations, same shape.
    var : array or float
        Variances (>= 0): the shape of ``pred``; ``pred.shape[:-1]`` (one
        variance per sample, aligned on the leading axes); ``pred``'s shape
        with some dims 1 (broadcast); or a Python float (no gradient).
    full : bool, default False
        Include the constant ``½ log 2π``.
    eps : float, default 1e-6
        Clamp of the variance.
    sample_weight, reduction
        As in :func:`mean_squared_error`.

    Returns
    -------
    array
        Scalar, or elementwise losses (shape of ``pred``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        A negative variance (checked eagerly), a ``var`` shape outside the
        rules above, and the errors of :func:`mean_squared_error`.

    Notes
    -----
    The clamp is straight-through, as in torch: the gradient with respect to
    ``var`` is ``½(1/v̂ - r²/v̂²)`` even where ``var < eps``.

    See Also
    --------
    torch.nn.functional.gaussian_nll_loss : ``F.gaussian_nll_loss(pred, target, var, full=full, eps=eps)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.gaussian_nll(np.array([1.0]), np.array([0.0]), np.array([1.0])))
    0.5
    """
    fn = "gaussian_nll"
    be = resolve(fn, {"pred": pred, "target": target, "var": None if isinstance(var, (int, float)) else var,
                      "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "pred", xp, pred)
    target = _checks.target_like(fn, xp, ("pred", pred), ("target", target))
    pshape = _checks.shape_of(pred)
    invalid = None  # traced negative variances (see _checks.labels_in_range)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        _checks.number(fn, "var", var, low=0.0)
        var = xp.asarray(float(var), dtype=pred.dtype)
    else:
        var = _checks.floating(fn, "var", xp, var)
        _checks.same_dtype(fn, ("var", var), ("pred", pred))
        vshape = _checks.shape_of(var)
        same_rank = len(vshape) == len(pshape) and all(
            a is None or b is None or a in (1, b) for a, b in zip(vshape, pshape))
        if not (same_rank or vshape == pshape[:-1] or len(vshape) == 0):
            raise _checks.error(fn, "var", f"shape {pshape}, {pshape[:-1]} or a broadcastable shape of rank "
                                f"{len(pshape)}", f"shape {vshape}")
        invalid = _checks.nonnegative_values(fn, "var", be, var, "variances")
    sample_weight = _checks.weight(fn, xp, sample_weight, pred)
    _checks.reduction(fn, reduction)
    eps = _checks.number(fn, "eps", eps, low=0.0)
    return apply(be, _GAUSSIAN, (pred, target, var), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 eps=eps, full=bool(full))


# -- penalties ----------------------------------------------------------------------------

def _penalty_fwd(xp: Any, *ws: Any, lam: float, square: bool, half: bool, mean: bool) -> tuple:
    total = None
    count = 0
    for w in ws:
        s = xp.sum(w * w) if square else xp.sum(xp.abs(w))
        total = s if total is None else total + s
        count += math.prod(w.shape)
    scale = lam * (0.5 if half else 1.0) / (max(count, 1) if mean else 1)
    return total * scale, ()


def _penalty_partials(xp: Any, arrays: tuple, res: tuple, *, lam: float, square: bool, half: bool,
                      mean: bool) -> tuple:
    count = sum(math.prod(w.shape) for w in arrays)
    scale = lam * (0.5 if half else 1.0) / (max(count, 1) if mean else 1)
    return tuple((2.0 * w if square else xp.sign(w)) * scale for w in arrays)


_PENALTY = Primitive("penalty", _penalty_fwd, _penalty_partials, event_axis="all")


def _penalty(fn: str, params: tuple, lam: float, square: bool, half: bool, reduction: str) -> Any:
    if not params:
        raise _checks.error(fn, "params", "at least one parameter array", "none")
    be = resolve(fn, {f"params[{i}]": w for i, w in enumerate(params)})
    xp = be.xp
    for i, w in enumerate(params):
        _checks.floating(fn, f"params[{i}]", xp, w)
        _checks.same_dtype(fn, (f"params[{i}]", w), ("params[0]", params[0]))
    _checks.reduction(fn, reduction, ("sum", "mean"))
    lam = _checks.number(fn, "lam", lam, low=0.0)
    return apply(be, _PENALTY, params, reduction="sum", lam=lam, square=square, half=bool(half),
                 mean=reduction == "mean")


@loss
def l1_penalty(*params: Any, lam: float = 1.0, reduction: str = "sum") -> Any:
    r"""L1 regulariser over any number of parameter arrays.

    .. math:: \lambda \sum_k \sum_j |w_{kj}|

    Parameters
    ----------
    *params : array
        Parameter arrays of one library and dtype.
    lam : float, default 1.0
        Strength λ >= 0.
    reduction : {"sum", "mean"}
        ``"mean"`` divides by the total number of parameters.

    Returns
    -------
    array
        A scalar.

    Notes
    -----
    Subgradient ``λ sign(w)``, 0 at ``w == 0``.

    See Also
    --------
    l2_penalty
    keras.regularizers.L1 : ``L1(l1=lam)(w)`` for one array.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.l1_penalty(np.array([1.0, -2.0]), np.array([3.0]), lam=0.1))
    0.6000000000000001
    """
    return _penalty("l1_penalty", params, lam, False, False, reduction)


@loss
def l2_penalty(*params: Any, lam: float = 1.0, half: bool = False, reduction: str = "sum") -> Any:
    r"""L2 regulariser (squared norm) over any number of parameter arrays.

    .. math:: \lambda\, c \sum_k \sum_j w_{kj}^2, \qquad c = \tfrac12 \text{ if half else } 1

    Parameters
    ----------
    *params : array
        Parameter arrays of one library and dtype.
    lam : float, default 1.0
        Strength λ >= 0.
    half : bool, default False
        Multiply by ½ (``tf.nn.l2_loss`` / optax ``l2_loss`` convention).
    reduction : {"sum", "mean"}
        ``"mean"`` divides by the total number of parameters.

    Returns
    -------
    array
        A scalar.

    See Also
    --------
    keras.regularizers.L2 : ``L2(l2=lam)(w)`` for one array.
    tensorflow.nn.l2_loss : ``tf.nn.l2_loss(w) == l2_penalty(w, half=True)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.l2_penalty(np.array([1.0, -2.0]), lam=0.5, half=True))
    1.25
    """
    return _penalty("l2_penalty", params, lam, True, half, reduction)


# Aliases
mse = mean_squared_error
mae = l1 = mean_absolute_error
msle = mean_squared_log_error
mape = mean_absolute_percentage_error
pinball = quantile
