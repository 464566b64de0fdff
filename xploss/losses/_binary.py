"""Binary classification losses: on probabilities, on logits (sigmoid) and margins.

The input domain is in the name: ``binary_*`` take probabilities,
``sigmoid_*`` / ``soft_margin`` take logits, ``hinge`` takes raw scores.
Logit kernels are written around ``e = exp(-|z|)`` only (``softplus(z) =
max(z, 0) + log1p(e)``, ``σ(z)`` from ``1 / (1 + e)``): finite values and
gradients for logits of any magnitude, never ``log(sigmoid)``.  The
derivatives recompute these terms from the inputs (no per-element residuals).
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = [
    "binary_cross_entropy", "sigmoid_binary_cross_entropy", "binary_cross_entropy_with_logits",
    "sigmoid_focal", "binary_focal", "soft_margin", "multilabel_soft_margin", "hinge", "squared_hinge",
]

_TORCH_LOG_FLOOR = -100.0  # torch BCELoss clamps each log at -100
# torch BCELoss backward: (p - y) / max(p (1 - p), EPSILON), EPSILON = 1e-12 held as a C float:
_TORCH_GRAD_EPS = 9.999999960041972e-13  # float32(1e-12), so that float64 matches torch exactly


# -- shared pieces -----------------------------------------------------------------------

def _smooth(y: Any, label_smoothing: float) -> Any:
    """Keras' binary label smoothing ``y (1 - ls) + ls / 2``."""
    return y if _ops.is_zero(label_smoothing) else y * (1.0 - label_smoothing) + 0.5 * label_smoothing


def _alpha_weight(t: Any, alpha: float | None) -> Any:
    return alpha * t + (1.0 - alpha) * (1.0 - t)


def _logit_terms(xp: Any, z: Any) -> tuple[Any, Any, Any, Any]:
    """``e = exp(-|z|)``, ``log1p(e)``, ``σ(|z|) = 1 / (1 + e)`` and ``σ(z)``."""
    e = xp.exp(-xp.abs(z))
    l1e = xp.log1p(e)
    big = 1.0 / (1.0 + e)
    return e, l1e, big, xp.where(z >= 0, big, e * big)


def _softplus_terms(xp: Any, z: Any) -> tuple[Any, Any]:
    """``e = exp(-|z|)`` and ``log1p(e)`` (what the values need)."""
    e = xp.exp(-xp.abs(z))
    return e, xp.log1p(e)


def _sigmoid_bce(xp: Any, z: Any, t: Any, e: Any, l1e: Any) -> tuple[Any, Any]:
    """``softplus(z) - t z`` as ``|z| w + log1p(e)`` (no cancellation), with ``w`` the
    label mass on the side the logit points away from; returns ``(bce, w)``."""
    pos = z >= 0
    w = xp.where(pos, 1.0 - t, t)
    return xp.abs(z) * w + l1e, w


def _prepare(fn: str, names: tuple[str, str], x: Any, y: Any, sample_weight: Any, reduction: str,
             extra: dict | None = None, event: bool = False, unit: bool = True) -> tuple[Any, Any, Any, Any]:
    """Resolve, check ``x`` (floating) and ``y`` (its shape; cast; values in [0, 1] unless ``unit`` is
    False: the ±1 labels of the margin losses), the weight and the reduction.

    Returns ``(backend, y, sample_weight, invalid)``: ``invalid`` the traced mask of labels outside
    [0, 1] (per sample; None eagerly, where they raise).
    """
    be = resolve(fn, {names[0]: x, names[1]: y, "sample_weight": sample_weight, **(extra or {})})
    xp = be.xp
    _checks.floating(fn, names[0], xp, x)
    y = _checks.target_like(fn, xp, (names[0], x), (names[1], y))
    if event:
        _checks.class_axis(fn, xp, names[0], x, -1)
    invalid = _checks.in_unit_interval(fn, names[1], be, y) if unit else None
    invalid = _checks.per_sample(xp, invalid, -1 if event else None)
    sample_weight = _checks.weight(fn, xp, sample_weight, x, -1 if event else None)
    _checks.reduction(fn, reduction)
    return be, y, sample_weight, invalid


def _alpha(fn: str, alpha: float | None) -> float | None:
    """``None`` or a negative value (torchvision) disables the α-balancing."""
    if alpha is None:
        return None
    alpha = _checks.number(fn, "alpha", alpha)
    _checks.require(alpha <= 1.0, fn, "alpha", "a weight <= 1 (None or a negative value: no balancing)", alpha)
    return None if alpha < 0 else alpha


def _options(fn: str, label_smoothing: float, gamma: float | None = None) -> dict:
    out = {"label_smoothing": _checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0, traced=True)}
    if gamma is not None:
        out["gamma"] = _checks.number(fn, "gamma", gamma, low=0.0, traced=True)
    return out


# -- probabilities: torch BCELoss, Keras BinaryCrossentropy / BinaryFocalCrossentropy ------

def _prob_logs(xp: Any, p: Any, eps: float | None) -> tuple[Any, Any]:
    """``(log p, log(1 - p))``: clamped at -100 (``eps=None``, torch) or of ``clip(p, eps, 1 - eps)`` (Keras)."""
    if eps is not None:
        pc = xp.clip(p, eps, 1.0 - eps)
        return xp.log(pc), xp.log1p(-pc)
    floor = xp.zeros_like(p) + _TORCH_LOG_FLOOR
    # double where: no log(0) evaluated (no warning, no NaN under autodiff); a NaN p is kept (NaN loss, never 100)
    gt0, lt1 = xp.logical_not(p <= 0), xp.logical_not(p >= 1)
    lp = xp.where(gt0, xp.maximum(xp.log(xp.where(gt0, p, xp.ones_like(p))), _TORCH_LOG_FLOOR), floor)
    lq = xp.where(lt1, xp.maximum(xp.log1p(-xp.where(lt1, p, xp.zeros_like(p))), _TORCH_LOG_FLOOR), floor)
    return lp, lq


def _modulation(xp: Any, m: Any, gamma: float) -> tuple[Any, Any]:
    """``m^γ`` and ``γ m^(γ-1)`` for ``m >= 0`` and ``γ >= 0`` (``0^0 = 1``: a traced γ may be 0), taking
    ``γ m^(γ-1) = 0`` at ``m = 0`` for ``γ < 1``."""
    pos = m > 0
    lm = xp.log(xp.where(pos, m, xp.ones_like(m)))
    zero = xp.zeros_like(m)
    mg = xp.where(pos, xp.exp(gamma * lm), _ops.select(xp, gamma == 0.0, zero + 1.0, zero))  # 0^0 = 1 (traced γ)
    dmg = gamma * xp.where(pos, xp.exp((gamma - 1.0) * lm), _ops.select(xp, gamma == 1.0, zero + 1.0, zero))
    return mg, dmg


def _prob_fwd(xp: Any, p: Any, y: Any, *, eps: float | None, label_smoothing: float, alpha: float | None,
              gamma: float) -> tuple:
    t = _smooth(y, label_smoothing)
    lp, lq = _prob_logs(xp, p, eps)
    loss = -(t * lp + (1.0 - t) * lq)
    if not _ops.is_zero(gamma):
        loss = _modulation(xp, t * (1.0 - p) + (1.0 - t) * p, gamma)[0] * loss
    if alpha is not None:
        loss = _alpha_weight(t, alpha) * loss
    return loss, ()


def _prob_partials(xp: Any, arrays: tuple, res: tuple, *, eps: float | None, label_smoothing: float,
                   alpha: float | None, gamma: float) -> tuple:
    p, y = arrays
    t = _smooth(y, label_smoothing)
    lp, lq = _prob_logs(xp, p, eps)
    if eps is None:  # torch's analytic backward, not the derivative of the clamped logs
        dp = (p - t) / xp.maximum(p * (1.0 - p), _TORCH_GRAD_EPS)
    else:  # zero where clipped, the full gradient at the clip edges
        pc = xp.clip(p, eps, 1.0 - eps)
        dp = xp.where(pc == p, (pc - t) / (pc * (1.0 - pc)), xp.zeros_like(p))
    dt = lq - lp
    if not _ops.is_zero(gamma) or alpha is not None:
        loss = -(t * lp + (1.0 - t) * lq)
    if not _ops.is_zero(gamma):  # (1 - p_t) = t (1 - p) + (1 - t) p
        mg, dmg = _modulation(xp, t * (1.0 - p) + (1.0 - t) * p, gamma)
        dp = mg * dp + dmg * (1.0 - 2.0 * t) * loss
        dt = mg * dt + dmg * (1.0 - 2.0 * p) * loss
        loss = mg * loss
    if alpha is not None:
        w = _alpha_weight(t, alpha)
        dp, dt = w * dp, w * dt + (2.0 * alpha - 1.0) * loss
    return dp, lambda: dt * (1.0 - label_smoothing)


_PROB = Primitive("binary_cross_entropy", _prob_fwd, _prob_partials)


def _prob_loss(fn: str, probs: Any, labels: Any, sample_weight: Any, reduction: str, **static: Any) -> Any:
    be, labels, sample_weight, invalid = _prepare(fn, ("probs", "labels"), probs, labels, sample_weight, reduction)
    invalid = _checks.either(be.xp, invalid, _checks.in_unit_interval(fn, "probs", be, probs))
    return apply(be, _PROB, (probs, labels), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 **static)


@loss
def binary_cross_entropy(probs: Any, labels: Any, /, *, eps: float | None = None, label_smoothing: float = 0.0,
                         sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary cross-entropy on probabilities, with torch's or Keras' edge handling.

    .. math::
        \ell_i = -\big(t_i \log \hat p_i + (1 - t_i) \log(1 - \hat p_i)\big),
        \qquad t = y (1 - \text{ls}) + \text{ls}/2

    ``eps=None`` (default, torch ``BCELoss``): ``p̂ = p`` and each log is
    clamped at -100.  ``eps=ε`` (Keras ``BinaryCrossentropy``, ``ε = 1e-7``):
    ``p̂ = clip(p, ε, 1 - ε)``.

    Parameters
    ----------
    probs : array
        Predicted probabilities in ``[0, 1]`` (checked eagerly), any shape.
    labels : array
        Targets in ``[0, 1]`` (hard or soft), the shape of ``probs``; integer or
        bool labels are cast to ``probs.dtype``.
    eps : float or None, default None
        ``None``: torch semantics (log clamp at -100, torch's analytic
        gradient).  A float in ``(0, 0.5)``: Keras semantics (clip to
        ``[eps, 1 - eps]``, zero gradient outside); Keras uses ``1e-7``.
    label_smoothing : float, default 0.0
        In ``[0, 1]``; Keras' binary smoothing ``y (1 - ls) + ls/2``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``probs`` (``(N,)``
        weighs the rows of an ``(N, C)`` input).
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides the (weighted) sum by the element count,
        ``"weighted_mean"`` by the weight total.

    Returns
    -------
    array
        Scalar, or the elementwise losses (shape of ``probs``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        Probabilities outside ``[0, 1]`` (checked eagerly), mismatched shapes,
        ``eps`` outside ``(0, 0.5)``, ``label_smoothing`` outside ``[0, 1]``.

    Notes
    -----
    Probabilities exactly 0 or 1 give finite values and gradients in both
    modes, but not the same ones: a wrong certain prediction costs 100 with
    ``eps=None`` (torch) and ``-log ε ≈ 16.118`` with ``eps=1e-7`` (Keras; in
    float32 ``1 - 1e-7`` rounds to ``1 - 1.19e-7``, so ``(y=0, p=1)`` costs
    15.942, as in Keras).

    Gradient with respect to ``probs``: with ``eps=None`` torch's analytic
    ``(p - t) / max(p (1 - p), 1e-12)`` (``∓1e12`` at a wrong certain
    prediction, beyond float16's range; not the derivative of the clamped
    value); with ``eps`` the
    exact ``(p̂ - t) / (p̂ (1 - p̂))`` inside ``[ε, 1 - ε]`` (edges included) and 0
    outside.  With respect to ``labels``: ``log(1 - p̂) - log p̂`` with the clamped
    logs (finite; torch's own is ``±inf`` at ``p ∈ {0, 1}``).

    See Also
    --------
    torch.nn.functional.binary_cross_entropy : ``F.binary_cross_entropy(probs, labels, weight=W)``
        equals ``binary_cross_entropy(probs, labels)`` with ``weight=W`` per row (torch's ``"mean"``
        divides by the element count, as xploss' ``"mean"``).
    keras.losses.BinaryCrossentropy : ``BinaryCrossentropy(label_smoothing=ls)(labels, probs,
        sample_weight=w)`` equals ``binary_cross_entropy(probs, labels, eps=1e-7, label_smoothing=ls,
        weight=w)`` (Keras' mean over the last axis, then over rows, is the element mean).
    sigmoid_binary_cross_entropy : the same loss from logits, stable for any logit.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.binary_cross_entropy(np.array([0.5, 0.9]), np.array([1.0, 0.0]))), 6)
    1.497866
    >>> p, y = np.array([0.0]), np.array([1.0])
    >>> float(xploss.binary_cross_entropy(p, y)), round(float(xploss.binary_cross_entropy(p, y, eps=1e-7)), 6)
    (100.0, 16.118096)
    """
    fn = "binary_cross_entropy"
    if eps is not None:
        eps = _checks.number(fn, "eps", eps, low=0.0, high=0.5, low_open=True, high_open=True)
    return _prob_loss(fn, probs, labels, sample_weight, reduction, eps=eps, alpha=None, **_options(fn, label_smoothing),
                      gamma=0.0)


@loss
def binary_focal(probs: Any, labels: Any, /, *, alpha: float | None = 0.25, gamma: float = 2.0,
                 label_smoothing: float = 0.0, eps: float = 1e-7, sample_weight: Any = None,
                 reduction: str = "mean") -> Any:
    r"""Binary focal loss on probabilities (Keras ``BinaryFocalCrossentropy`` semantics).

    .. math::
        \ell_i = \alpha_{t,i}\,(1 - p_{t,i})^{\gamma}\,\operatorname{bce}(t_i, \hat p_i),
        \qquad p_t = t p + (1 - t)(1 - p),\quad \alpha_t = \alpha t + (1 - \alpha)(1 - t)

    with ``t = y (1 - ls) + ls/2``, ``p̂ = clip(p, eps, 1 - eps)`` inside the
    cross-entropy and the unclipped ``p`` in ``p_t``, exactly as Keras.

    Parameters
    ----------
    probs : array
        Predicted probabilities in ``[0, 1]`` (checked eagerly).
    labels : array
        Targets in ``[0, 1]``, the shape of ``probs``.
    alpha : float or None, default 0.25
        Weight of the positive class (``1 - alpha`` for the negative);
        ``None`` or a negative value switches the balancing off.
    gamma : float, default 2.0
        Focusing exponent ``>= 0``; ``gamma=0`` is the (balanced) cross-entropy.
    label_smoothing : float, default 0.0
        In ``[0, 1]``; Keras' ``y (1 - ls) + ls/2``, used in every term.
    eps : float, default 1e-7
        Clip of the probabilities inside the logs, in ``(0, 0.5)``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``probs``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`binary_cross_entropy`; ``alpha > 1``, ``gamma < 0``.

    Notes
    -----
    Finite values and gradients at ``p ∈ {0, 1}``.  Where ``1 - p_t = 0`` (a
    certain, correct prediction) the clipped cross-entropy is not 0, so for
    ``γ < 1`` the exact derivative of ``(1 - p_t)^γ`` is infinite there;
    xploss takes that term as 0 (for ``γ = 1`` it is finite and kept).  The
    cross-entropy factor has zero gradient where ``p`` is clipped (Keras).
    Use :func:`sigmoid_focal` on logits: stable for any logit.

    See Also
    --------
    keras.losses.BinaryFocalCrossentropy : ``BinaryFocalCrossentropy(apply_class_balancing=True,
        alpha=a, gamma=g, label_smoothing=ls)(labels, probs)`` equals ``binary_focal(probs, labels,
        alpha=a, gamma=g, label_smoothing=ls)``; Keras' default ``apply_class_balancing=False`` is
        ``alpha=None``.
    sigmoid_focal : the focal loss on logits (torchvision, optax, Keras ``from_logits=True``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.binary_focal(np.array([0.5]), np.array([1.0]), alpha=None)), 6)
    0.173287
    """
    fn = "binary_focal"
    eps = _checks.number(fn, "eps", eps, low=0.0, high=0.5, low_open=True, high_open=True)
    return _prob_loss(fn, probs, labels, sample_weight, reduction, eps=eps, alpha=_alpha(fn, alpha),
                      **_options(fn, label_smoothing, gamma))


# -- logits: sigmoid cross-entropy ---------------------------------------------------------

def _sbce_fwd(xp: Any, z: Any, y: Any, pw: Any, *, label_smoothing: float) -> tuple:
    t = _smooth(y, label_smoothing)
    loss = _ops.sigmoid_bce(xp, z, t)
    if pw is not None:  # torch: (1 + (pw - 1) t) softplus(-z) + (1 - t) z
        loss = loss + (pw - 1.0) * t * (xp.maximum(-z, 0.0) + _softplus_terms(xp, z)[1])
    return loss, ()


def _sbce_partials(xp: Any, arrays: tuple, res: tuple, *, label_smoothing: float) -> tuple:
    z, y, pw = arrays
    t = _smooth(y, label_smoothing)
    sig = _ops.sigmoid(xp, z)
    if pw is None:
        return sig - t, lambda: -z * (1.0 - label_smoothing), None
    sp_neg = xp.maximum(-z, 0.0) + _softplus_terms(xp, z)[1]
    dz = (pw * t + 1.0 - t) * sig - pw * t
    return dz, lambda: ((pw - 1.0) * sp_neg - z) * (1.0 - label_smoothing), lambda: t * sp_neg


def _sbce_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, label_smoothing: float) -> tuple:
    """Fused ``g (σ(z) - t)`` (one buffer on torch); the label cotangent only when asked for."""
    z, y, _ = arrays
    gz = _ops.sigmoid_minus(xp, z, _smooth(y, label_smoothing), g)
    return gz, lambda: -z * (g * (1.0 - label_smoothing)), None


_SBCE = Primitive("sigmoid_binary_cross_entropy", _sbce_fwd, _sbce_partials, vjp=_sbce_vjp)
_SBCE_POS_WEIGHT = Primitive("sigmoid_binary_cross_entropy", _sbce_fwd, _sbce_partials)  # unbroadcasts pw


@loss
def sigmoid_binary_cross_entropy(logits: Any, labels: Any, /, *, pos_weight: Any = None,
                                 label_smoothing: float = 0.0, sample_weight: Any = None,
                                 reduction: str = "mean") -> Any:
    r"""Binary cross-entropy on logits (sigmoid cross-entropy), stable for any logit.

    .. math::
        \ell_i = \operatorname{softplus}(z_i) - t_i z_i + (w^{+} - 1)\, t_i \operatorname{softplus}(-z_i),
        \qquad t = y (1 - \text{ls}) + \text{ls}/2

    evaluated as ``|z| w + log1p(exp(-|z|))`` with ``w = 1 - t`` for ``z >= 0``
    and ``w = t`` otherwise (no overflow, no cancellation).

    Parameters
    ----------
    logits : array
        Real floating, any shape.
    labels : array
        Targets in ``[0, 1]`` (soft labels allowed), the shape of ``logits``.
    pos_weight : array, optional
        Weight ``w⁺`` of the positive term, broadcast against ``logits`` from
        the last axis (``(C,)`` for ``(N, C)`` logits), as torch.  It gets a gradient.
    label_smoothing : float, default 0.0
        In ``[0, 1]``; Keras' ``y (1 - ls) + ls/2``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``logits``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, a ``pos_weight`` that does not broadcast from the
        last axis, ``label_smoothing`` outside ``[0, 1]``.

    Notes
    -----
    Gradient ``σ(z) - t`` (``(w⁺t + 1 - t) σ(z) - w⁺t`` with ``pos_weight``),
    ``-z`` for the labels (``(w⁺ - 1) softplus(-z) - z``, times ``1 - ls``),
    ``t softplus(-z)`` for ``pos_weight``; all finite for logits up to ±1e4
    and beyond.

    See Also
    --------
    torch.nn.functional.binary_cross_entropy_with_logits : ``F.binary_cross_entropy_with_logits(logits,
        labels, weight=W, pos_weight=pw)`` equals ``sigmoid_binary_cross_entropy(logits, labels,
        pos_weight=pw)`` with ``weight=W`` per row.
    keras.losses.BinaryCrossentropy : ``BinaryCrossentropy(from_logits=True, label_smoothing=ls)(labels,
        logits)`` equals ``sigmoid_binary_cross_entropy(logits, labels, label_smoothing=ls)``.
    optax.losses.sigmoid_binary_cross_entropy : ``sigmoid_binary_cross_entropy(logits, labels).mean()``.
    tensorflow.nn.weighted_cross_entropy_with_logits : ``(labels, logits, pos_weight)``, elementwise.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.sigmoid_binary_cross_entropy(np.array([0.0, 2.0]), np.array([1.0, 0.0]))), 6)
    1.410038
    >>> float(xploss.sigmoid_binary_cross_entropy(np.array([-1e4]), np.array([1.0])))
    10000.0
    """
    fn = "sigmoid_binary_cross_entropy"
    be, labels, sample_weight, invalid = _prepare(fn, ("logits", "labels"), logits, labels, sample_weight, reduction,
                                  {"pos_weight": pos_weight})
    if pos_weight is not None:
        pos_weight = _trailing(fn, be.xp, pos_weight, logits)
    prim = _SBCE if pos_weight is None else _SBCE_POS_WEIGHT
    return apply(be, prim, (logits, labels, pos_weight), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction,
                 **_options(fn, label_smoothing))


def _trailing(fn: str, xp: Any, pw: Any, logits: Any) -> Any:
    """``pos_weight``: floating, broadcasting against ``logits`` from the last axis; cast to its dtype."""
    _checks.floating(fn, "pos_weight", xp, pw)
    ps, zs = _checks.shape_of(pw), _checks.shape_of(logits)
    pairs = zip(ps[::-1], zs[::-1], strict=False)  # trailing alignment
    ok = len(ps) <= len(zs) and all(a is None or b is None or a in (1, b) for a, b in pairs)
    if not ok:
        raise _checks.error(fn, "pos_weight", f"a shape broadcasting against logits {zs} from the last axis "
                            f"(e.g. ({zs[-1] if zs else 1},))", f"shape {ps}")
    return pw if pw.dtype == logits.dtype else xp.astype(pw, logits.dtype)


# -- logits: sigmoid focal ---------------------------------------------------------------

def _log1p_over(xp: Any, e: Any) -> Any:
    """``log1p(e) / e`` for ``0 <= e <= 1`` (1 at ``e = 0``); below ``1e-3`` its series, exact to rounding,
    so no derivative of any order divides by a small ``e``."""
    small = e < 1e-3
    e_safe = xp.where(small, xp.ones_like(e), e)
    series = 1.0 + e * (-0.5 + e * (1.0 / 3.0 + e * (-0.25 + e * (0.2 - e / 6.0))))
    return xp.where(small, series, xp.log1p(e_safe) / e_safe)


def _focal_terms(xp: Any, z: Any, t: Any, gamma: float) -> tuple:
    """``bce``, ``(1 - p_t)^γ`` in log space, and what the derivative needs.

    ``1 - p_t = t σ(-z) + (1 - t) σ(z) = σ(|z|) u`` with ``u = w + s e``
    (``w`` the label mass away from the logit's side, ``s`` the mass on it), so
    ``log(1 - p_t) = log u - log1p(e)``.  ``log u`` is ``log w + log1p(s e / w)`` where
    ``w >= s e`` and ``log s - |z| + log1p(w / (s e))`` elsewhere (exactly ``log s - |z|``
    for a hard, correct label, ``w = 0``, with its slope ``1 / u`` in ``w`` kept), and
    ``e / u = exp(-|z| - log u)`` and ``bce / u = |z| w / u + (log1p(e) / e)(e / u)``
    follow from it: no derivative in ``z`` of any order divides by ``u``, which is
    subnormal for a confident, correct logit (a ``1 / u²`` overflowing to inf made the
    float32 Hessian NaN for ``44 <= |z| <= 100``).  Labels outside ``[0, 1]`` keep the
    direct ``log u`` (where ``u > 0``).

    Returns ``bce``, ``mg = (1 - p_t)^γ``, ``e``, ``σ(|z|)``, ``σ(z)``, ``e bce / u`` and
    ``bce / u`` (bounded by about ``|z| + 1``; the last two are 0 and 1 where ``u``
    underflows).
    """
    e, l1e, big, sig = _logit_terms(xp, z)
    bce, w = _sigmoid_bce(xp, z, t, e, l1e)
    s = xp.where(z >= 0, t, 1.0 - t)
    az, one, zero = xp.abs(z), xp.ones_like(z), xp.zeros_like(z)
    inside = xp.logical_and(w >= 0, s >= 0)  # False for a NaN label too
    # log u = log w + log1p(s e / w) where w dominates, log s - |z| + log1p(w / (s e)) elsewhere
    # (there s > 1/2): each log1p argument <= 1, and the derivatives in w and s are kept at w = 0
    # and s = 0 (double where: each branch sees safe inputs only)
    wd = xp.logical_and(w > 0, w >= s * e)
    lw = xp.log(xp.where(wd, w, one))
    ls = xp.log(xp.where(wd, one, xp.where(s > 0, s, one)))
    # c = 1 / (s e) = e^(|z| - log s), only while finite (else 0: no slope in w, as where u underflows)
    cap = math.log(float(xp.finfo(z.dtype).max)) - 2.0
    lim = az - ls <= cap
    c = xp.where(lim, xp.exp(xp.minimum(az - ls, cap)), zero)
    log_u = xp.where(wd, lw + xp.log1p(s * xp.exp(-az - lw)), ls - az + xp.log1p(w * c))
    r = xp.exp(-az - log_u)  # e / u, at most 2 (w + s = 1)
    er = r * bce
    ratio = az * xp.where(wd, xp.exp(lw - log_u), w * c / (1.0 + w * c)) + _log1p_over(xp, e) * r
    # labels outside [0, 1] (double where: the direct form only sees them)
    u = xp.where(inside, one, w + s * e)
    has = u > 0
    u_safe = xp.where(has, u, one)
    old_ratio = xp.where(has, bce / u_safe, one)
    log_u = xp.where(inside, log_u, xp.where(has, xp.log(u_safe), -az))
    er = xp.where(inside, er, e * old_ratio)
    ratio = xp.where(inside, ratio, old_ratio)
    return bce, (one if _ops.is_zero(gamma) else xp.exp(gamma * (log_u - l1e))), e, big, sig, er, ratio


def _focal_fwd(xp: Any, z: Any, y: Any, *, alpha: float | None, gamma: float, label_smoothing: float) -> tuple:
    t = _smooth(y, label_smoothing)
    bce, mg, *_ = _focal_terms(xp, z, t, gamma)
    loss = mg * bce
    return (loss if alpha is None else _alpha_weight(t, alpha) * loss), ()


def _focal_partials(xp: Any, arrays: tuple, res: tuple, *, alpha: float | None, gamma: float,
                    label_smoothing: float) -> tuple:
    z, y = arrays
    t = _smooth(y, label_smoothing)
    bce, mg, e, big, sig, er, ratio = _focal_terms(xp, z, t, gamma)
    # d/dz: mg (γ (1 - 2t) σ(z) σ(-z) bce / (1 - p_t) + σ(z) - t); d/dt: mg (γ (σ(-z) - σ(z)) bce / (1 - p_t) - z)
    side = xp.where(z >= 0, xp.zeros_like(z) - 1.0, xp.ones_like(z))
    if not _ops.is_zero(gamma):
        dz = mg * (gamma * (1.0 - 2.0 * t) * big * er + sig - t)
        dt = mg * (gamma * side * (1.0 - e) * ratio - z)
    else:  # the sigmoid cross-entropy: no term of u (whose slopes in t overflow for hard labels)
        dz, dt = sig - t, -z
    if alpha is not None:
        w = _alpha_weight(t, alpha)
        dz, dt = w * dz, w * dt + (2.0 * alpha - 1.0) * mg * bce
    return dz, lambda: dt * (1.0 - label_smoothing)


_FOCAL = Primitive("sigmoid_focal", _focal_fwd, _focal_partials)


@loss
def sigmoid_focal(logits: Any, labels: Any, /, *, alpha: float | None = 0.25, gamma: float = 2.0,
                  label_smoothing: float = 0.0, sample_weight: Any = None,
                                 reduction: str = "mean") -> Any:
    r"""Sigmoid focal loss on logits (Lin et al. 2017; torchvision and optax semantics).

    .. math::
        \ell_i = \alpha_{t,i}\,(1 - p_{t,i})^{\gamma}\,
                 \big(\operatorname{softplus}(z_i) - t_i z_i\big),
        \qquad 1 - p_t = t\,\sigma(-z) + (1 - t)\,\sigma(z),\quad
        \alpha_t = \alpha t + (1 - \alpha)(1 - t)

    with ``t = y (1 - ls) + ls/2``.

    Parameters
    ----------
    logits : array
        Real floating, any shape.
    labels : array
        Targets in ``[0, 1]`` (soft labels allowed), the shape of ``logits``.
    alpha : float or None, default 0.25
        Weight of the positive class; ``None`` or a negative value (torchvision's
        ``alpha=-1``) switches the balancing off.
    gamma : float, default 2.0
        Focusing exponent ``>= 0``; ``gamma=0`` is the (balanced) sigmoid cross-entropy.
    label_smoothing : float, default 0.0
        In ``[0, 1]``; Keras' ``y (1 - ls) + ls/2``, used in every term.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``logits``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.  torchvision's default is ``"none"``.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, ``alpha > 1``, ``gamma < 0``, ``label_smoothing``
        outside ``[0, 1]``.

    Notes
    -----
    ``(1 - p_t)^γ`` is computed as ``exp(γ log(1 - p_t))`` with ``log(1 - p_t)``
    from log-sigmoid terms (exact also where ``1 - p_t`` underflows), as optax.
    The derivative uses ``bce / (1 - p_t)``, which stays below about ``|z| + 1``:
    values and gradients (logits and labels) are finite for any logit and any
    ``γ >= 0``, ``γ < 1`` included, where naive forms give NaN at ``p_t → 1``.

    See Also
    --------
    torchvision.ops.sigmoid_focal_loss : ``sigmoid_focal_loss(logits, labels, alpha=a, gamma=g,
        reduction="mean")`` equals ``sigmoid_focal(logits, labels, alpha=a, gamma=g)``.
    optax.losses.sigmoid_focal_loss : ``sigmoid_focal_loss(logits, labels, alpha=a, gamma=g).mean()``
        (optax's default ``alpha=None``).
    keras.losses.BinaryFocalCrossentropy : ``BinaryFocalCrossentropy(from_logits=True,
        apply_class_balancing=True, alpha=a, gamma=g, label_smoothing=ls)(labels, logits)`` equals
        ``sigmoid_focal(logits, labels, alpha=a, gamma=g, label_smoothing=ls)`` on Keras' TensorFlow
        backend (``apply_class_balancing=False``: ``alpha=None``).  Keras' JAX, torch and NumPy
        backends clip ``σ(z)`` to ``[1e-7, 1 - 1e-7]`` first and differ for ``|z| > ~16``.
    binary_focal : the Keras focal loss on probabilities.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.sigmoid_focal(np.array([0.0]), np.array([1.0]))), 6)
    0.043322
    """
    fn = "sigmoid_focal"
    be, labels, sample_weight, invalid = _prepare(fn, ("logits", "labels"), logits, labels, sample_weight, reduction)
    return apply(be, _FOCAL, (logits, labels), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction,
                 alpha=_alpha(fn, alpha),
                 **_options(fn, label_smoothing, gamma))


# -- logits: soft margins ------------------------------------------------------------------

def _soft_margin_fwd(xp: Any, z: Any, y: Any) -> tuple:
    v = y * z
    return xp.maximum(-v, 0.0) + xp.log1p(xp.exp(-xp.abs(v))), ()


def _soft_margin_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    z, y = arrays
    v = y * z
    sig = _ops.sigmoid(xp, -v)  # σ(-y z)
    return -y * sig, lambda: -z * sig


_SOFT_MARGIN = Primitive("soft_margin", _soft_margin_fwd, _soft_margin_partials)


@loss
def soft_margin(logits: Any, labels: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Soft-margin (logistic) loss for labels ±1.

    .. math:: \ell_i = \log\big(1 + e^{-y_i z_i}\big)

    Parameters
    ----------
    logits : array
        Real floating, any shape.
    labels : array
        Labels ``-1`` or ``1`` (any real value is accepted), the shape of ``logits``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``logits``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, an integer ``logits``.

    Notes
    -----
    Evaluated as ``softplus(-y z) = max(-y z, 0) + log1p(exp(-|y z|))``: finite
    for any margin, where torch's ``log(1 + exp(-y z))`` overflows to ``inf``
    (``y z < -88`` in float32).  Gradient ``-y σ(-y z)`` (labels: ``-z σ(-y z)``).
    For ``y = ±1`` it equals :func:`sigmoid_binary_cross_entropy` with labels ``(y + 1)/2``.

    See Also
    --------
    torch.nn.functional.soft_margin_loss : ``F.soft_margin_loss(logits, labels)`` (equal where torch is finite).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.soft_margin(np.array([0.0]), np.array([1.0]))), 6)
    0.693147
    >>> float(xploss.soft_margin(np.array([-1000.0]), np.array([1.0])))
    1000.0
    """
    fn = "soft_margin"
    be, labels, sample_weight, invalid = _prepare(fn, ("logits", "labels"), logits, labels, sample_weight, reduction,
                                         unit=False)
    return apply(be, _SOFT_MARGIN, (logits, labels), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction)


def _mlsm_fwd(xp: Any, z: Any, y: Any, cw: Any) -> tuple:
    bce = _ops.sigmoid_bce(xp, z, y)
    if cw is not None:
        bce = cw * bce
    return xp.mean(bce, axis=-1), ()


def _mlsm_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    z, y, cw = arrays
    scale = 1.0 / z.shape[-1] if cw is None else cw / z.shape[-1]
    sig = _ops.sigmoid(xp, z)
    return scale * (sig - y), lambda: -scale * z, None


_MLSM = Primitive("multilabel_soft_margin", _mlsm_fwd, _mlsm_partials, event_axis=-1, shared=(2,))


@loss
def multilabel_soft_margin(logits: Any, labels: Any, /, *, class_weight: Any = None, sample_weight: Any = None,
                           reduction: str = "mean") -> Any:
    r"""Multi-label soft-margin loss: per sample, the class mean of the sigmoid cross-entropy.

    .. math::
        \ell_i = \frac{1}{C} \sum_{c} w_c \big(\operatorname{softplus}(z_{ic}) - y_{ic} z_{ic}\big)

    Parameters
    ----------
    logits : array
        Real floating, shape ``(..., C)`` with the classes on the last axis.
    labels : array
        Targets in ``[0, 1]``, the shape of ``logits``.
    class_weight : array, optional
        ``(C,)`` weight per class (no gradient).
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of the per-sample loss ``(...,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of samples.

    Returns
    -------
    array
        Scalar, or the per-sample losses of shape ``logits.shape[:-1]`` for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, 0-d logits, ``class_weight`` not of shape ``(C,)``.

    Notes
    -----
    Stable for any logit (as :func:`sigmoid_binary_cross_entropy`).  Gradient
    ``w_c (σ(z) - y) / C``; labels ``-w_c z / C``.

    See Also
    --------
    torch.nn.functional.multilabel_soft_margin_loss : ``F.multilabel_soft_margin_loss(logits, labels,
        weight=class_weight)`` (every reduction).
    keras.losses.BinaryCrossentropy : ``BinaryCrossentropy(from_logits=True)(labels, logits)`` per
        sample without ``class_weight`` (``reduction=None``).
    sigmoid_binary_cross_entropy : the elementwise loss; its ``"mean"`` equals this one's without class weights.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z, y = np.array([[0.0, 0.0], [2.0, -2.0]]), np.array([[1.0, 0.0], [1.0, 0.0]])
    >>> np.round(xploss.multilabel_soft_margin(z, y, reduction="none"), 6)
    array([0.693147, 0.126928])
    """
    fn = "multilabel_soft_margin"
    be, labels, sample_weight, invalid = _prepare(fn, ("logits", "labels"), logits, labels, sample_weight, reduction,
                                  {"class_weight": class_weight}, event=True)
    if class_weight is not None:
        xp, num = be.xp, _checks.shape_of(logits)[-1]
        _checks.floating(fn, "class_weight", xp, class_weight)
        cws = _checks.shape_of(class_weight)
        if len(cws) != 1 or (num is not None and cws[0] not in (None, num)):
            raise _checks.error(fn, "class_weight", f"shape ({num},)", f"shape {cws}")
        class_weight = xp.astype(class_weight, logits.dtype)
    return apply(be, _MLSM, (logits, labels, class_weight), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction)


# -- margins: Keras hinge / squared hinge ------------------------------------------------

def _signed(xp: Any, y: Any) -> Any:
    """Keras: labels become ``2y - 1`` when *every* label is 0 or 1 (a reduced flag, no Python branch)."""
    binary = xp.all((y == 0) | (y == 1))
    return xp.where(binary, 2.0 * y - 1.0, y)


def _hinge_fwd(xp: Any, p: Any, y: Any, *, squared: bool) -> tuple:
    h = xp.maximum(1.0 - _signed(xp, y) * p, 0.0)
    return (h * h if squared else h), ()


def _hinge_partials(xp: Any, arrays: tuple, res: tuple, *, squared: bool) -> tuple:
    p, y = arrays
    t = _signed(xp, y)
    s = 1.0 - t * p
    if squared:
        return -2.0 * t * xp.maximum(s, 0.0), None
    return xp.where(s >= 0, -t, xp.zeros_like(t)), None  # the full slope at the kink s = 0


_HINGE = Primitive("hinge", _hinge_fwd, _hinge_partials)


def _hinge(fn: str, pred: Any, labels: Any, sample_weight: Any, reduction: str, squared: bool) -> Any:
    be, labels, sample_weight, invalid = _prepare(fn, ("pred", "labels"), pred, labels, sample_weight, reduction,
                                         unit=False)
    return apply(be, _HINGE, (pred, labels), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction, squared=squared)


@loss
def hinge(pred: Any, labels: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Binary hinge loss (Keras semantics: 0/1 labels become ∓1).

    .. math:: \ell_i = \max(0,\, 1 - \tilde y_i\, p_i), \qquad
              \tilde y = \begin{cases} 2y - 1 & \text{every } y_j \in \{0, 1\} \\ y & \text{otherwise} \end{cases}

    Parameters
    ----------
    pred : array
        Real-valued scores, any shape.
    labels : array
        Labels ``±1``, or ``0``/``1`` (mapped to ``-1``/``1`` when *every* label of
        the call is 0 or 1, as Keras; a mixed ``{-1, 0, 1}`` array is used as
        is), the shape of ``pred``.  Not differentiated.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``pred``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, an integer ``pred``.

    Notes
    -----
    The label mapping is a reduced ``all`` flag and a ``where``: no Python
    branch on values, so it works under ``jax.jit`` and ``tf.function``.
    Subgradient ``-ỹ`` where ``1 - ỹ p >= 0``: the **full** slope at the kink
    (as torch ``clamp_min`` and Keras on TensorFlow; Keras on JAX and optax give
    half of it).

    See Also
    --------
    keras.losses.Hinge : ``Hinge()(labels, pred)`` (its mean over the last axis, then over rows,
        is the element mean).
    optax.losses.hinge_loss : ``hinge_loss(pred, labels).mean()`` for ±1 labels.
    torch.nn.functional.margin_ranking_loss : ``F.margin_ranking_loss(pred, zeros, labels, margin=1)``
        for ±1 labels.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> float(xploss.hinge(np.array([0.3, -2.0]), np.array([1, 0])))
    0.35
    """
    return _hinge("hinge", pred, labels, sample_weight, reduction, False)


@loss
def squared_hinge(pred: Any, labels: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Squared binary hinge loss (Keras semantics: 0/1 labels become ∓1).

    .. math:: \ell_i = \max(0,\, 1 - \tilde y_i\, p_i)^2

    Parameters
    ----------
    pred : array
        Real-valued scores, any shape.
    labels : array
        As in :func:`hinge` (the same 0/1 → ∓1 mapping).
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``pred``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As in :func:`binary_cross_entropy`.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, an integer ``pred``.

    Notes
    -----
    Gradient ``-2 ỹ max(0, 1 - ỹ p)``: continuous, 0 at the margin (as every
    framework).

    See Also
    --------
    keras.losses.SquaredHinge : ``SquaredHinge()(labels, pred)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> round(float(xploss.squared_hinge(np.array([0.3, -2.0]), np.array([1, 0]))), 6)
    0.245
    """
    return _hinge("squared_hinge", pred, labels, sample_weight, reduction, True)


# Aliases
binary_cross_entropy_with_logits = sigmoid_binary_cross_entropy
