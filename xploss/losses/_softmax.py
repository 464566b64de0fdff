"""Softmax-family classification losses beside cross-entropy.

* On logits, stable for logits of any magnitude: :func:`focal` (Lin et al.'s
  multi-class focal loss, integer or probability targets) and
  :func:`poly1_cross_entropy` (optax ``poly_loss_cross_entropy``).
* On log-probabilities: :func:`nll` (torch ``NLLLoss``) and
  :func:`kl_divergence` (torch ``KLDivLoss``, optax ``kl_divergence``).
* On probabilities, with Keras' semantics: :func:`probability_cross_entropy`
  and :func:`categorical_focal` (both renormalise ``p / Σp`` and
  clip to ``[eps, 1 - eps]``), :func:`probability_kl_divergence` (clips to
  ``[eps, 1]``) and :func:`categorical_generalized_cross_entropy`.

Integer labels have the shape of the input without its class axis ``axis``;
labels equal to ``ignore_index`` contribute nothing to the value, the gradient
or the count of a mean.  The derivatives are taken with respect to the
log-probability of each class and carried to the logits by
``d/dz_j = D_j - softmax(z)_j Σ_k D_k``, recomputed from the logits and the
saved log-sum-exp.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from .._reduce import REDUCTIONS
from ._classification import _along, _ce_index_normalizer, _gather, _valid_and_safe

__all__ = [
    "categorical_focal",
    "categorical_generalized_cross_entropy",
    "focal",
    "kl_divergence",
    "nll",
    "poly1_cross_entropy",
    "probability_cross_entropy",
    "probability_kl_divergence",
]

KERAS_EPSILON = 1e-7  # keras.config.epsilon()


# -- shared kernel pieces -----------------------------------------------------------------

def _pick(xp: Any, x: Any, idx: Any, axis: int) -> Any:
    """``x`` at class ``idx`` along ``axis``: one entry per sample."""
    return xp.squeeze(_ops.take_along_axis(xp, x, xp.expand_dims(idx, axis=axis), axis), axis=axis)


def _keep(xp: Any, v: Any, *masks: Any) -> Any:
    """``v`` where every given mask holds, 0 elsewhere (``None`` masks are skipped)."""
    for m in masks:
        if m is not None:
            v = xp.where(m, v, xp.zeros_like(v))
    return v


def _rows(xp: Any, valid: Any, y: Any, dtype: Any) -> Any:
    """The 0/1 per-sample mask of non-ignored labels, as floats (ones without ``ignore_index``)."""
    return xp.ones_like(y, dtype=dtype) if valid is None else xp.astype(valid, dtype)


def _scatter(xp: Any, like: Any, idx: Any, values: Any, axis: int) -> Any:
    """Zeros shaped like ``like`` holding the per-sample ``values`` at class ``idx``."""
    return _ops.subtract_at(xp, xp.zeros_like(like), idx, -values, axis)


def _per_class(xp: Any, alpha: Any, scale: float, axis: int, ndim: int) -> Any:
    """``scale · alpha_k`` broadcast along the class axis (the float ``scale`` without ``alpha``)."""
    return scale if alpha is None else scale * _along(xp, alpha, axis, ndim)


def _of_label(xp: Any, alpha: Any, scale: float, safe: Any) -> Any:
    """``scale · alpha[y]`` per sample (the float ``scale`` without ``alpha``)."""
    return scale if alpha is None else scale * _gather(xp, alpha, safe)


def _target(xp: Any, x: Any, y: Any, *, axis: int, ignore_index: int | None, label_smoothing: float) -> Any:
    """Dense target ``(1-ε) q + ε/C``: ``q`` the probabilities, or the one-hot of integer labels
    (rows of ignored labels all zero)."""
    ls, num = label_smoothing, x.shape[axis]
    if not xp.isdtype(y.dtype, "integral"):
        return y if _ops.is_zero(ls) else (1.0 - ls) * y + ls / num
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    rows = _rows(xp, valid, y, x.dtype)
    onehot = _scatter(xp, x, safe, (1.0 - ls) * rows, axis)
    return onehot if _ops.is_zero(ls) else onehot + (ls / num) * xp.expand_dims(rows, axis=axis)


def _class_normalizer(xp: Any, x: Any, y: Any, cw: Any = None, *, ignore_index: int | None = None,
                      scale: float = 1.0, **_: Any) -> tuple:
    """Integer labels: the valid mask and torch's weighted-mean normaliser ``scale · cw[y]``."""
    if not xp.isdtype(y.dtype, "integral"):
        return None, None
    valid, norm = _ce_index_normalizer(xp, x, y, cw, axis=0, ignore_index=ignore_index, label_smoothing=0.0)
    if not _ops.is_one(scale):
        norm = scale * (_rows(xp, valid, y, x.dtype) if norm is None else norm)
    return valid, norm


def _valid_normalizer(xp: Any, x: Any, y: Any, *_: Any, ignore_index: int | None = None, **__: Any) -> tuple:
    """Integer labels: the valid mask only (Keras' means count samples, never class weights)."""
    if not xp.isdtype(y.dtype, "integral") or ignore_index is None:
        return None, None
    return xp.astype(y != ignore_index, x.dtype), None


# -- shared argument checks ------------------------------------------------------------

def _number_or_none(v: Any) -> Any:
    """``v`` unless it is a Python number (those are options, not arrays)."""
    return None if isinstance(v, (bool, int, float)) else v


def _labels(fn: str, be: Any, name: str, x: Any, labels: Any, axis: int, ignore_index: Any,
            probabilities: bool = True) -> tuple[Any, int | None, Any]:
    """Integer class indices (shape, range and ``ignore_index`` checked) or, where allowed,
    probability targets of ``x``'s shape and dtype; with the ``ignore_index`` the kernel needs
    (None for probabilities, and for eager labels of which none is ignored) and the traced mask of
    labels out of range (``invalid``, see :func:`xploss._checks.labels_in_range`)."""
    xp = be.xp
    shape = _checks.shape_of(x)
    sample = shape[:axis] + shape[axis + 1:]
    dense = f" or probabilities of shape {shape}" if probabilities else ""
    if xp.isdtype(labels.dtype, "integral"):
        _checks.index_labels(fn, xp, labels, (name, x), axis,
                             lambda: f"integer labels of shape {sample} ({name}.shape without axis {axis}){dense}",
                             lambda: _checks.label_hint(xp, labels, sample, shape if probabilities else None))
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
            raise _checks.error(fn, "ignore_index", "an int or None", repr(ignore_index))
        masked, labels, invalid = _checks.labels_in_range(fn, be, labels, shape[axis], ignore_index)
        return labels, ignore_index if masked else None, invalid
    if not probabilities or not xp.isdtype(labels.dtype, "real floating"):
        raise _checks.error(fn, "labels", "integer class indices" + (" or floating probabilities" if dense else ""),
                            f"dtype {_checks.dtype_name(labels.dtype)}", kind=_checks.XplossTypeError,
                            hint=_checks.label_hint(xp, labels, sample, None))
    return _checks.dense_labels(fn, xp, (name, x), labels, sample), None, None


def _class_values(fn: str, xp: Any, name: str, v: Any, num: int | None, dtype: Any,
                  scalar: bool = True) -> tuple[Any, float]:
    """``None``, a Python float (when ``scalar``) or a ``(C,)`` array -> ``(array or None, scale)``."""
    if v is None:
        return None, 1.0
    if scalar and isinstance(v, (int, float)) and not isinstance(v, bool):
        return None, _checks.number(fn, name, v)
    _checks.floating(fn, name, xp, v)
    shape = _checks.shape_of(v)
    if len(shape) != 1 or (num is not None and shape[0] not in (None, num)):
        raise _checks.error(fn, name, f"{'a float or ' if scalar else ''}shape ({num},)", f"shape {shape}")
    return xp.astype(v, dtype), 1.0


def _run(fn: str, be: Any, prim: Primitive, arrays: tuple, sample_weight: Any, reduction: str,
         invalid: Any = None, **static: Any) -> Any:
    """Check the reduction and the weight (per sample: the scores without their class ``axis``), then apply."""
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, be.xp, sample_weight, arrays[0], static["axis"])
    return apply(be, prim, arrays, sample_weight=sample_weight, invalid=invalid, reduction=reduction, **static)


# -- nll ---------------------------------------------------------------------------------

def _nll_fwd(xp: Any, x: Any, y: Any, cw: Any, *, axis: int, ignore_index: int | None) -> tuple:
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    return _keep(xp, -_of_label(xp, cw, 1.0, safe) * _pick(xp, x, safe, axis), valid), ()


def _nll_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, ignore_index: int | None) -> tuple:
    x, y, cw = arrays
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    c = _of_label(xp, cw, 1.0, safe) * _rows(xp, valid, y, x.dtype)
    return _scatter(xp, x, safe, -c, axis), None, None


_NLL = Primitive("nll", _nll_fwd, _nll_partials, normalizer=_class_normalizer, event_axis="axis", shared=(2,))


@loss
def nll(log_probs: Any, labels: Any, /, *, axis: int = -1, class_weight: Any = None,
        ignore_index: int | None = -100, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Negative log-likelihood of integer labels under given log-probabilities.

    .. math::
        \ell_i = -w_{y_i} \, x_{i, y_i}

    with ``x`` the log-probabilities and ``w`` the class weights (1 without
    ``class_weight``).  ``nll(log_softmax(z), y)`` is ``cross_entropy(z, y)``.

    Parameters
    ----------
    log_probs : array
        Real floating log-probabilities, shape ``(..., C, ...)`` with the
        classes along ``axis``.  Any real values are accepted (torch does not
        check them either).
    labels : array
        Integer class indices, shape ``log_probs.shape`` without ``axis``.
    axis : int, default -1
        Class axis (torch layout ``(N, C, d1, ...)``: ``axis=1``).
    class_weight : array, optional
        ``(C,)`` weight per class (no gradient).
    ignore_index : int or None, default -100
        Labels equal to it contribute 0 to the value, the gradient and the
        count of a mean.  An all-ignored batch gives 0 (torch gives NaN).
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples;
        ``"weighted_mean"`` by ``Σ weight · class_weight[y]`` over them
        (torch's mean with ``weight=``).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``log_probs.shape`` without
        ``axis``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels not integer or of the wrong shape, labels outside ``[0, C)``
        (checked eagerly), a bad ``axis`` or ``class_weight`` shape.

    Notes
    -----
    The loss is linear in ``log_probs``: the gradient is ``-w_y`` at the
    label and 0 elsewhere, whatever the values (``-inf`` entries included).

    See Also
    --------
    torch.nn.functional.nll_loss : ``F.nll_loss(log_probs, labels, weight=class_weight,
        ignore_index=k)`` equals ``nll(log_probs, labels, axis=1, class_weight=class_weight,
        ignore_index=k, reduction="weighted_mean")`` (``"mean"`` without a class weight);
        ``reduction="sum"`` and ``"none"`` map one to one.
    keras.losses.SparseCategoricalCrossentropy : ``SparseCategoricalCrossentropy()(labels,
        exp(log_probs))`` has the same value for normalised probabilities in ``[1e-7, 1 - 1e-7]``
        but a different gradient (Keras renormalises): :func:`probability_cross_entropy`
        reproduces it.
    cross_entropy : the same loss on logits.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> log_probs = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]))
    >>> round(float(xploss.nll(log_probs, np.array([0, 1]))), 6)  # (log 2 + log 1.25) / 2
    0.458145
    >>> cw = np.array([3.0, 1.0, 1.0])  # 3 log 2 + log 1.25
    >>> round(float(xploss.nll(log_probs, np.array([0, 1]), class_weight=cw, reduction="sum")), 6)
    2.302585
    """
    fn = "nll"
    be = resolve(fn, {"log_probs": log_probs, "labels": labels, "class_weight": class_weight,
                      "sample_weight": sample_weight})
    xp = be.xp
    axis, num, sample = _checks.class_axis(fn, xp, "log_probs", log_probs, axis)
    labels, ignore_index, invalid = _labels(fn, be, "log_probs", log_probs, labels, axis, ignore_index,
                                            probabilities=False)
    cw, _ = _class_values(fn, xp, "class_weight", class_weight, num, log_probs.dtype, scalar=False)
    return _run(fn, be, _NLL, (log_probs, labels, cw), sample_weight, reduction, invalid,
                axis=axis, ignore_index=ignore_index)


# -- focal -----------------------------------------------------------------------------------

def _log_p(xp: Any, logp: Any, eps: float) -> tuple[Any, Any]:
    """Keras' clip of a probability to ``[eps, 1 - eps]``, done on its log, and where it was inside.

    ``eps = 0`` only keeps ``log p <= 0`` against rounding (no mask: nothing is clipped).
    """
    if _ops.is_zero(eps):
        return xp.clip(logp, max=0.0), None
    lo, hi = (math.log(eps), math.log1p(-eps)) if isinstance(eps, float) else (xp.log(eps), xp.log1p(-eps))
    return xp.clip(logp, min=lo, max=hi), xp.logical_and(logp >= lo, logp <= hi)


def _focal_term(xp: Any, logp: Any, u: Any, gamma: float) -> Any:
    """``(1 - p)^γ · (-log p)`` given ``log p`` and ``u = 1 - p``."""
    return u ** gamma * (-logp)


def _focal_slope(xp: Any, logp: Any, u: Any, p: Any, gamma: float) -> Any:
    """``d/d log p`` of ``(1 - p)^γ (-log p)``: ``-(1-p)^γ (1 + γ p (-log p)/(1-p))``.

    ``(-log p)/(1-p) -> 1`` as ``p -> 1``, so the slope is finite for every ``γ >= 0``
    (the ``γ < 1`` NaN of the naive ``(1-p)^(γ-1)`` form never appears).
    """
    pos = u > 0
    # p = 0 (a -inf logit): p (-log p) / (1 - p) -> 0, never 0 · inf (double where: -log p read only where p > 0)
    nlogp = -xp.where(p > 0, logp, xp.zeros_like(logp))
    ratio = xp.where(pos, nlogp / xp.where(pos, u, xp.ones_like(u)), xp.ones_like(u))
    return -(u ** gamma) * (1.0 + gamma * p * ratio)


def _focal_index_logp(xp: Any, z: Any, y: Any, lse: Any, axis: int, ignore_index: int | None,
                      eps: float) -> tuple:
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    logp, inside = _log_p(xp, _pick(xp, z, safe, axis) - xp.squeeze(lse, axis=axis), eps)
    return valid, safe, logp, inside


def _focal_index_fwd(xp: Any, z: Any, y: Any, alpha: Any, *, axis: int, ignore_index: int | None,
                     gamma: float, eps: float, scale: float) -> tuple:
    lse = _ops.logsumexp(xp, z, axis)
    valid, safe, logp, _ = _focal_index_logp(xp, z, y, lse, axis, ignore_index, eps)
    loss = _of_label(xp, alpha, scale, safe) * _focal_term(xp, logp, -xp.expm1(logp), gamma)
    return _keep(xp, loss, valid), (lse,)


def _focal_index_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, ignore_index: int | None,
                          gamma: float, eps: float, scale: float) -> tuple:
    z, y, alpha = arrays
    (lse,) = res
    valid, safe, logp, inside = _focal_index_logp(xp, z, y, lse, axis, ignore_index, eps)
    slope = _focal_slope(xp, logp, -xp.expm1(logp), xp.exp(logp), gamma)
    c = -_keep(xp, _of_label(xp, alpha, scale, safe) * slope, valid, inside)  # -d loss / d log p_y
    return _ops.subtract_at(xp, _ops.softmax_scaled(xp, z, lse, c, axis), safe, c, axis), None, None


def _focal_dense_parts(xp: Any, z: Any, y: Any, alpha: Any, lse: Any, *, axis: int, ignore_index: int | None,
                       label_smoothing: float, eps: float, scale: float) -> tuple:
    """Per-class weights ``scale · α_k · q̃_k``, clipped ``log p`` and its clip mask."""
    tw = _per_class(xp, alpha, scale, axis, z.ndim) * _target(
        xp, z, y, axis=axis, ignore_index=ignore_index, label_smoothing=label_smoothing)
    logp, inside = _log_p(xp, z - lse, eps)
    return tw, logp, inside


def _focal_dense_fwd(xp: Any, z: Any, y: Any, alpha: Any, *, gamma: float, **static: Any) -> tuple:
    lse = _ops.logsumexp(xp, z, static["axis"])
    tw, logp, _ = _focal_dense_parts(xp, z, y, alpha, lse, **static)
    # double where: a zero target weight contributes 0 even against a -inf logit (no 0 · inf evaluated)
    on = tw != 0
    lp = xp.where(on, logp, xp.zeros_like(logp))
    terms = xp.where(on, tw * _focal_term(xp, lp, -xp.expm1(lp), gamma), xp.zeros_like(logp))
    return xp.sum(terms, axis=static["axis"]), (lse,)


def _focal_dense_partials(xp: Any, arrays: tuple, res: tuple, *, gamma: float, **static: Any) -> tuple:
    z, y, alpha = arrays
    (lse,) = res
    axis, ls = static["axis"], static["label_smoothing"]
    tw, logp, inside = _focal_dense_parts(xp, z, y, alpha, lse, **static)
    u = -xp.expm1(logp)
    d = _keep(xp, tw * _focal_slope(xp, logp, u, xp.exp(logp), gamma), inside)  # d loss / d log p_k
    gz = d + _ops.softmax_scaled(xp, z, lse, -xp.sum(d, axis=axis), axis)
    if xp.isdtype(y.dtype, "integral"):
        return gz, None, None
    return gz, lambda: (1.0 - ls) * _per_class(xp, alpha, static["scale"], axis, z.ndim) * _focal_term(
        xp, logp, u, gamma), None


_FOCAL_INDEX = Primitive("focal", _focal_index_fwd, _focal_index_partials, normalizer=_class_normalizer,
                         event_axis="axis", shared=(2,))
_FOCAL_DENSE = Primitive("focal", _focal_dense_fwd, _focal_dense_partials, normalizer=_class_normalizer,
                         event_axis="axis", shared=(2,))


@loss
def focal(logits: Any, labels: Any, /, *, alpha: Any = None, gamma: float = 2.0, axis: int = -1,
          ignore_index: int | None = -100, label_smoothing: float = 0.0, eps: float = 0.0, sample_weight: Any = None,
          reduction: str = "mean") -> Any:
    r"""Multi-class (softmax) focal loss from logits, with integer or probability targets.

    .. math::
        \ell_i = -\sum_k \alpha_k \, q_{ik} \, (1 - p_{ik})^\gamma \log p_{ik},
        \qquad p_i = \operatorname{softmax}(z_i)

    With integer labels ``q`` is one-hot, so ``ℓ_i = -α_y (1 - p_y)^γ log p_y``
    (Lin et al., 2017).  Label smoothing mixes ``q`` with the uniform
    distribution: ``q̃ = (1-ε) q + ε/C``.  ``γ = 0`` gives :func:`cross_entropy`
    with ``class_weight=alpha``, smoothing included.

    Parameters
    ----------
    logits : array
        Real floating, shape ``(..., C, ...)`` with the classes along ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``, or
        floating probabilities of the shape and dtype of ``logits``.
    alpha : float or array, optional
        Class balance: a ``(C,)`` weight per class (no gradient), or one float
        for every class.  ``None``: 1.
    gamma : float, default 2.0
        Focusing parameter ``γ >= 0``.
    axis : int, default -1
        Class axis (torch layout ``(N, C, d1, ...)``: ``axis=1``).
    ignore_index : int or None, default -100
        Integer labels equal to it contribute 0 to the value, the gradient and
        the count of a mean.
    label_smoothing : float, default 0.0
        ``ε`` in ``[0, 1]``.
    eps : float, default 0.0
        Clip the probabilities to ``[eps, 1 - eps]`` before the loss, as Keras
        does (``1e-7``, with zero gradient outside); 0 clips nothing.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples;
        ``"weighted_mean"`` by ``Σ weight · α_y`` over them for integer labels
        (torch's class-weighted mean; ``Σ weight`` for probability targets).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels of the wrong shape or dtype, labels outside ``[0, C)`` (checked
        eagerly), a bad ``axis``, ``alpha`` of a shape other than ``(C,)``,
        ``gamma < 0``, ``label_smoothing`` outside ``[0, 1]``, ``eps`` outside
        ``[0, 0.5)``.

    Notes
    -----
    ``log p = z - logsumexp(z)`` and ``1 - p = -expm1(log p)``: finite values
    at logits of any magnitude (``±1e4`` included).  The derivative with
    respect to ``log p`` is ``-α (1-p)^γ (1 + γ p (-log p)/(1-p))``, where
    ``(-log p)/(1-p) -> 1`` as ``p -> 1``: the gradient stays finite for every
    ``γ >= 0``, ``γ < 1`` included, where the textbook form
    ``(1-p)^(γ-1)`` is infinite (the NaN of kornia#918 and optax#1267).
    Integer labels without smoothing touch one class per sample (the cost of
    :func:`cross_entropy`); probability targets and smoothing are dense.

    See Also
    --------
    cross_entropy : ``focal(logits, labels, gamma=0.0, alpha=w)`` equals
        ``cross_entropy(logits, labels, class_weight=w)`` for every reduction, smoothing included;
        torch ``F.cross_entropy(logits, labels, weight=w, reduction="none")`` elementwise.
    keras.losses.CategoricalFocalCrossentropy : ``CategoricalFocalCrossentropy(alpha=a, gamma=g,
        from_logits=True, label_smoothing=ε)(onehot, logits)`` equals ``focal(logits, labels,
        alpha=a, gamma=g, label_smoothing=ε, eps=1e-7)`` (Keras' default ``alpha`` is 0.25; a list
        ``alpha`` is a ``(C,)`` array here).  From probabilities: :func:`categorical_focal`.
    torchvision.ops.sigmoid_focal_loss : the binary (sigmoid) focal loss, not this one.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> logits = np.log(np.array([[0.5, 0.25, 0.25]]))  # p_y = 0.5 for label 0
    >>> round(float(xploss.focal(logits, np.array([0]))), 6)  # (1 - 0.5)^2 · log 2
    0.173287
    >>> alpha = np.array([2.0, 1.0, 1.0])  # 2 · (1 - 0.5) · log 2
    >>> round(float(xploss.focal(logits, np.array([0]), gamma=1.0, alpha=alpha)), 6)
    0.693147
    """
    fn = "focal"
    be = resolve(fn, {"logits": logits, "labels": labels, "alpha": _number_or_none(alpha),
                      "sample_weight": sample_weight})
    xp = be.xp
    axis, num, sample = _checks.class_axis(fn, xp, "logits", logits, axis)
    labels, ignore_index, invalid = _labels(fn, be, "logits", logits, labels, axis, ignore_index)
    alpha, scale = _class_values(fn, xp, "alpha", alpha, num, logits.dtype)
    static = dict(axis=axis, ignore_index=ignore_index,
                  gamma=_checks.number(fn, "gamma", gamma, low=0.0, traced=True),
                  eps=_checks.number(fn, "eps", eps, low=0.0, high=0.5, high_open=True), scale=scale)
    ls = _checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0, traced=True)
    if xp.isdtype(labels.dtype, "integral") and _ops.is_zero(ls):
        return _run(fn, be, _FOCAL_INDEX, (logits, labels, alpha), sample_weight, reduction, invalid, **static)
    return _run(fn, be, _FOCAL_DENSE, (logits, labels, alpha), sample_weight, reduction, invalid,
                label_smoothing=ls, **static)


# -- Keras losses on probabilities: renormalise, clip, (focal) cross-entropy -------------------

def _keras_probs(xp: Any, p: Any, axis: int, eps: float) -> tuple:
    """Keras: ``r = p / Σp`` clipped to ``[eps, 1 - eps]``; returns ``(Σp, r, clipped r, inside)``."""
    s = xp.sum(p, axis=axis, keepdims=True)
    r = p / s
    return s, r, xp.clip(r, min=eps, max=1.0 - eps), xp.logical_and(r >= eps, r <= 1.0 - eps)


def _cfce_weights(xp: Any, p: Any, y: Any, alpha: Any, *, axis: int, ignore_index: int | None,
                  label_smoothing: float, scale: float, **_: Any) -> Any:
    return _per_class(xp, alpha, scale, axis, p.ndim) * _target(
        xp, p, y, axis=axis, ignore_index=ignore_index, label_smoothing=label_smoothing)


def _cfce_fwd(xp: Any, p: Any, y: Any, alpha: Any, *, gamma: float, eps: float, **static: Any) -> tuple:
    _, _, c, _ = _keras_probs(xp, p, static["axis"], eps)
    terms = _cfce_weights(xp, p, y, alpha, **static) * _focal_term(xp, xp.log(c), 1.0 - c, gamma)
    return xp.sum(terms, axis=static["axis"]), ()  # eps > 0: log(c) is finite


def _cfce_partials(xp: Any, arrays: tuple, res: tuple, *, gamma: float, eps: float, **static: Any) -> tuple:
    """Through the clip (zero outside) and the renormalisation: ``(g - Σ_k g_k r_k) / Σp``."""
    p, y, alpha = arrays
    axis = static["axis"]
    s, r, c, inside = _keras_probs(xp, p, axis, eps)
    logc = xp.log(c)
    g = _keep(xp, _cfce_weights(xp, p, y, alpha, **static) * _focal_slope(xp, logc, 1.0 - c, c, gamma) / c, inside)
    gp = (g - xp.sum(g * r, axis=axis, keepdims=True)) / s
    if xp.isdtype(y.dtype, "integral"):
        return gp, None, None
    return gp, lambda: (1.0 - static["label_smoothing"]) * _per_class(
        xp, alpha, static["scale"], axis, p.ndim) * _focal_term(xp, logc, 1.0 - c, gamma), None


_CFCE = Primitive("categorical_focal", _cfce_fwd, _cfce_partials, normalizer=_valid_normalizer,
                  event_axis="axis", shared=(2,))
_PCE = Primitive("probability_cross_entropy", _cfce_fwd, _cfce_partials, normalizer=_valid_normalizer,
                 event_axis="axis", shared=(2,))


def _keras_probability_loss(fn: str, prim: Primitive, probs: Any, labels: Any, alpha: Any, *, gamma: float,
                            axis: Any, ignore_index: Any, label_smoothing: Any, eps: Any, sample_weight: Any,
                            reduction: str) -> Any:
    be = resolve(fn, {"probs": probs, "labels": labels, "alpha": _number_or_none(alpha),
                      "sample_weight": sample_weight})
    xp = be.xp
    axis, num, sample = _checks.class_axis(fn, xp, "probs", probs, axis)
    labels, ignore_index, invalid = _labels(fn, be, "probs", probs, labels, axis, ignore_index)
    alpha, scale = _class_values(fn, xp, "alpha", alpha, num, probs.dtype)
    return _run(fn, be, prim, (probs, labels, alpha), sample_weight, reduction, invalid, axis=axis,
                ignore_index=ignore_index, gamma=_checks.number(fn, "gamma", gamma, low=0.0, traced=True), scale=scale,
                label_smoothing=_checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0,
                                               traced=True),
                eps=_checks.number(fn, "eps", eps, low=0.0, high=0.5, low_open=True, high_open=True))


@loss
def probability_cross_entropy(probs: Any, labels: Any, /, *, axis: int = -1, ignore_index: int | None = -100,
                              label_smoothing: float = 0.0, eps: float = KERAS_EPSILON, sample_weight: Any = None,
                              reduction: str = "mean") -> Any:
    r"""Cross-entropy of predicted probabilities, with Keras' renormalisation and clipping.

    .. math::
        \ell_i = -\sum_k \tilde q_{ik} \log \bar p_{ik}, \qquad
        \bar p_i = \operatorname{clip}\!\Big(\frac{p_i}{\sum_k p_{ik}}, \epsilon, 1 - \epsilon\Big)

    with ``q̃ = (1-ε_ls) q + ε_ls/C`` the (smoothed) target: one-hot for
    integer labels.  This is Keras' ``categorical_crossentropy`` /
    ``sparse_categorical_crossentropy`` with ``from_logits=False``.

    Parameters
    ----------
    probs : array
        Real floating predicted probabilities (need not sum to 1: rows are
        renormalised), shape ``(..., C, ...)`` with the classes along ``axis``.
    labels : array
        Integer class indices of shape ``probs.shape`` without ``axis``, or
        floating (one-hot or soft) targets of the shape and dtype of ``probs``.
    axis : int, default -1
        Class axis.
    ignore_index : int or None, default -100
        Integer labels equal to it contribute 0 to the value, the gradient and
        the count of a mean (Keras ``ignore_class``).
    label_smoothing : float, default 0.0
        ``ε_ls`` in ``[0, 1]`` (Keras ``CategoricalCrossentropy``).
    eps : float, default 1e-7
        Clip bound, in ``(0, 0.5)``; Keras' ``keras.config.epsilon()``.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples (Keras'
        ``sum_over_batch_size``), ``"weighted_mean"`` by their total weight
        (Keras' ``mean_with_sample_weight``).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``probs.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels of the wrong shape or dtype, labels outside ``[0, C)`` (checked
        eagerly), a bad ``axis``, ``label_smoothing`` or ``eps`` out of range.

    Notes
    -----
    Each sample's loss is at most ``-log(eps)`` (16.118 for ``1e-7``).  The
    gradient is exactly 0 where the renormalised probability lies outside
    ``[eps, 1 - eps]``.  Because of the renormalisation the gradient is
    ``-q̃_k / p_k + Σq̃ / Σp`` (for unclipped entries), not the ``-q̃_k / p_k``
    of ``nll(log(p))``: the two differ by a constant along the class axis,
    orthogonal to the probability simplex (BUILTINS §3.4).  This reproduces
    Keras' gradient.  The target gets the gradient ``-(1-ε_ls) log p̄``.

    See Also
    --------
    keras.losses.CategoricalCrossentropy : ``CategoricalCrossentropy(label_smoothing=ε)(onehot,
        probs)`` equals ``probability_cross_entropy(probs, onehot, label_smoothing=ε)``.
    keras.losses.SparseCategoricalCrossentropy : ``SparseCategoricalCrossentropy(ignore_class=k)(labels,
        probs)`` equals ``probability_cross_entropy(probs, labels, ignore_index=k)``; Keras' TensorFlow
        backend clips before renormalising, which differs only for probabilities outside
        ``[eps, 1 - eps]``.
    nll : ``nll(log(probs), labels)``: the same value for normalised, unclipped
        probabilities, torch's gradient.
    cross_entropy : the stable form on logits.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> probs = np.array([[0.5, 0.3, 0.2]])
    >>> value, grad = xploss.value_and_grad(xploss.probability_cross_entropy)(probs, np.array([0]))
    >>> round(float(value), 6), np.round(grad, 12).tolist()  # log 2; Keras' gradient [-1/0.5 + 1, 1, 1]
    (0.693147, [[-1.0, 1.0, 1.0]])
    >>> round(float(xploss.probability_cross_entropy(np.array([[1.0, 0.0]]), np.array([1]))), 3)  # -log(1e-7)
    16.118
    """
    return _keras_probability_loss("probability_cross_entropy", _PCE, probs, labels, None, gamma=0.0, axis=axis,
                                   ignore_index=ignore_index, label_smoothing=label_smoothing, eps=eps,
                                   sample_weight=sample_weight, reduction=reduction)


@loss
def categorical_focal(probs: Any, labels: Any, /, *, alpha: Any = 0.25, gamma: float = 2.0,
                                   axis: int = -1, ignore_index: int | None = -100, label_smoothing: float = 0.0,
                                   eps: float = KERAS_EPSILON, sample_weight: Any = None,
                                   reduction: str = "mean") -> Any:
    r"""Keras' categorical focal cross-entropy on predicted probabilities.

    .. math::
        \ell_i = -\sum_k \alpha_k (1 - \bar p_{ik})^\gamma \, \tilde q_{ik} \log \bar p_{ik}, \qquad
        \bar p_i = \operatorname{clip}\!\Big(\frac{p_i}{\sum_k p_{ik}}, \epsilon, 1 - \epsilon\Big)

    with ``q̃ = (1-ε_ls) q + ε_ls/C`` the (smoothed) target, one-hot for integer
    labels.  ``α`` multiplies every class (Keras has no balancing switch).

    Parameters
    ----------
    probs : array
        Real floating predicted probabilities (rows are renormalised), shape
        ``(..., C, ...)`` with the classes along ``axis``.
    labels : array
        Integer class indices of shape ``probs.shape`` without ``axis``, or
        floating (one-hot or soft) targets of the shape and dtype of ``probs``.
    alpha : float or array, default 0.25
        One float for every class, or a ``(C,)`` weight per class (Keras' list
        ``alpha``); no gradient.
    gamma : float, default 2.0
        Focusing parameter ``γ >= 0``.
    axis : int, default -1
        Class axis.
    ignore_index : int or None, default -100
        Integer labels equal to it contribute 0 to the value, the gradient and
        the count of a mean.
    label_smoothing : float, default 0.0
        ``ε_ls`` in ``[0, 1]``.
    eps : float, default 1e-7
        Clip bound, in ``(0, 0.5)``; Keras' ``keras.config.epsilon()``.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples (Keras'
        ``sum_over_batch_size``), ``"weighted_mean"`` by their total weight
        (Keras' ``mean_with_sample_weight``); ``alpha`` never enters a
        denominator.

    Returns
    -------
    array
        Scalar, or the per-sample losses (``probs.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels of the wrong shape or dtype, labels outside ``[0, C)`` (checked
        eagerly), a bad ``axis`` or ``alpha`` shape, ``gamma < 0``,
        ``label_smoothing`` or ``eps`` out of range.

    Notes
    -----
    As in :func:`probability_cross_entropy`, the gradient is 0 outside the
    clip range and carries Keras' renormalisation term; since ``1 - p̄ >= eps``
    it is finite for every ``γ >= 0``.  Keras turns a list ``alpha`` into a
    float32 tensor even for float64 inputs (a relative offset up to ~1e-8);
    xploss keeps ``alpha`` in the input dtype.  On logits use :func:`focal`, which
    is stable; ``focal(..., eps=1e-7)`` reproduces Keras' clipped logits path.

    See Also
    --------
    keras.losses.CategoricalFocalCrossentropy : ``CategoricalFocalCrossentropy(alpha=a, gamma=g,
        label_smoothing=ε)(onehot, probs)`` equals ``categorical_focal(probs, onehot,
        alpha=a, gamma=g, label_smoothing=ε)``; with ``from_logits=True`` it equals
        ``focal(logits, onehot, alpha=a, gamma=g, label_smoothing=ε, eps=1e-7)``.
    focal : the stable loss on logits (``alpha=None`` by default).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> probs = np.array([[0.5, 0.25, 0.25]])
    >>> round(float(xploss.categorical_focal(probs, np.array([0]))), 6)  # 0.25 · (1 - 0.5)^2 · log 2
    0.043322
    >>> onehot = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # Keras' docstring example
    >>> probs = np.array([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]])
    >>> np.round(xploss.categorical_focal(probs, onehot, reduction="none"), 6).tolist()
    [0.000263, 0.675912]

    (``0.25 · 0.1² · (-log 0.9)`` and ``0.25 · 0.95² · (-log 0.05)``.)
    """
    return _keras_probability_loss("categorical_focal", _CFCE, probs, labels, alpha, gamma=gamma,
                                   axis=axis, ignore_index=ignore_index, label_smoothing=label_smoothing,
                                   eps=eps, sample_weight=sample_weight, reduction=reduction)


# -- generalized cross-entropy (Keras) --------------------------------------------------------

def _gce_parts(xp: Any, p: Any, y: Any, axis: int, ignore_index: int | None, eps: float) -> tuple:
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    py = _pick(xp, p, safe, axis)
    return valid, safe, (xp.clip(py, min=eps) if eps else py), (py >= eps if eps else None)


def _gce_fwd(xp: Any, p: Any, y: Any, *, axis: int, ignore_index: int | None, q: float, eps: float) -> tuple:
    valid, _, py, _ = _gce_parts(xp, p, y, axis, ignore_index, eps)
    return _keep(xp, (1.0 - py ** q) / q, valid), ()


def _gce_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, ignore_index: int | None, q: float,
                  eps: float) -> tuple:
    p, y = arrays
    valid, safe, py, inside = _gce_parts(xp, p, y, axis, ignore_index, eps)
    return _scatter(xp, p, safe, _keep(xp, -(py ** (q - 1.0)), valid, inside), axis), None


_GCE = Primitive("categorical_generalized_cross_entropy", _gce_fwd, _gce_partials, normalizer=_valid_normalizer,
                 event_axis="axis")


@loss
def categorical_generalized_cross_entropy(probs: Any, labels: Any, /, *, q: float = 0.5, axis: int = -1,
                                          ignore_index: int | None = -100, eps: float = 0.0, sample_weight: Any = None,
                                          reduction: str = "mean") -> Any:
    r"""Generalized cross-entropy (Zhang & Sabuncu, 2018) of integer labels, on probabilities.

    .. math::
        \ell_i = \frac{1 - p_{i, y_i}^{\,q}}{q}, \qquad 0 < q < 1

    It tends to the cross-entropy ``-log p_y`` as ``q -> 0`` and equals the
    mean absolute error ``1 - p_y`` at ``q = 1``; robust to noisy labels.

    Parameters
    ----------
    probs : array
        Real floating predicted probabilities, shape ``(..., C, ...)`` with the
        classes along ``axis`` (used as given: no renormalisation, no clip).
    labels : array
        Integer class indices, shape ``probs.shape`` without ``axis``.
    q : float, default 0.5
        In ``(0, 1)``, as Keras checks.
    axis : int, default -1
        Class axis.
    ignore_index : int or None, default -100
        Labels equal to it contribute 0 to the value, the gradient and the
        count of a mean.
    eps : float, default 0.0
        Clamp ``p_y`` to at least ``eps`` (zero gradient below), which keeps the
        gradient finite at ``p_y = 0``; 0 is Keras (no clamp).
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples,
        ``"weighted_mean"`` by their total weight.

    Returns
    -------
    array
        Scalar, or the per-sample losses (``probs.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels not integer or of the wrong shape, labels outside ``[0, C)``
        (checked eagerly), a bad ``axis``, ``q`` outside ``(0, 1)``, ``eps``
        outside ``[0, 1)``.

    Notes
    -----
    The gradient is ``-p_y^(q-1)`` at the label and 0 elsewhere: infinite at
    ``p_y = 0`` unless ``eps > 0`` (the value ``1/q`` stays finite).

    See Also
    --------
    keras.losses.CategoricalGeneralizedCrossEntropy : ``CategoricalGeneralizedCrossEntropy(q=q)(labels,
        probs)`` equals ``categorical_generalized_cross_entropy(probs, labels, q=q)`` (Keras has no
        ``ignore_class``; its one-hot of an out-of-range label gives ``p_y = 0``).
    probability_cross_entropy : the ``q -> 0`` limit, with Keras' clipping.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> probs = np.array([[0.25, 0.75], [0.64, 0.36]])
    >>> np.round(xploss.categorical_generalized_cross_entropy(probs, np.array([0, 0]), reduction="none"),
    ...          12).tolist()  # (1 - 0.5) / 0.5, (1 - 0.8) / 0.5
    [1.0, 0.4]
    """
    fn = "categorical_generalized_cross_entropy"
    be = resolve(fn, {"probs": probs, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis, _, sample = _checks.class_axis(fn, xp, "probs", probs, axis)
    labels, ignore_index, invalid = _labels(fn, be, "probs", probs, labels, axis, ignore_index, probabilities=False)
    return _run(fn, be, _GCE, (probs, labels), sample_weight, reduction, invalid, axis=axis,
                ignore_index=ignore_index,
                q=_checks.number(fn, "q", q, low=0.0, high=1.0, low_open=True, high_open=True),
                eps=_checks.number(fn, "eps", eps, low=0.0, high=1.0, high_open=True))


# -- poly-1 -------------------------------------------------------------------------------

def _poly_index_fwd(xp: Any, z: Any, y: Any, *, axis: int, ignore_index: int | None, epsilon: float) -> tuple:
    lse = _ops.logsumexp(xp, z, axis)
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    logp = _pick(xp, z, safe, axis) - xp.squeeze(lse, axis=axis)
    return _keep(xp, -logp - epsilon * xp.expm1(logp), valid), (lse,)  # -log p_y + ε (1 - p_y)


def _poly_index_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, ignore_index: int | None,
                         epsilon: float) -> tuple:
    """``(1 + ε p_y) (softmax(z) - onehot(y))``."""
    z, y = arrays
    (lse,) = res
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    c = _keep(xp, 1.0 + epsilon * xp.exp(_pick(xp, z, safe, axis) - xp.squeeze(lse, axis=axis)), valid)
    return _ops.subtract_at(xp, _ops.softmax_scaled(xp, z, lse, c, axis), safe, c, axis), None


def _poly_prob_fwd(xp: Any, z: Any, t: Any, *, axis: int, ignore_index: int | None, epsilon: float) -> tuple:
    lse = _ops.logsumexp(xp, z, axis)
    nlogp = lse - z
    ce = xp.where(t != 0, t * nlogp, xp.zeros_like(nlogp))
    return xp.sum(ce - epsilon * t * xp.expm1(-nlogp), axis=axis), (lse,)


def _poly_prob_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, ignore_index: int | None,
                        epsilon: float) -> tuple:
    """``p (Σt + ε Σ t p) - t (1 + ε p)`` for the logits, ``-log p + ε (1 - p)`` for the targets."""
    z, t = arrays
    (lse,) = res
    p = xp.exp(z - lse)
    scale = xp.sum(t, axis=axis) + epsilon * xp.sum(t * p, axis=axis)
    gz = _ops.softmax_scaled(xp, z, lse, scale, axis) - t * (1.0 + epsilon * p)
    return gz, lambda: (lse - z) - epsilon * xp.expm1(z - lse)


_POLY_INDEX = Primitive("poly1_cross_entropy", _poly_index_fwd, _poly_index_partials,
                        normalizer=_valid_normalizer, event_axis="axis")
_POLY_PROB = Primitive("poly1_cross_entropy", _poly_prob_fwd, _poly_prob_partials, event_axis="axis")


@loss
def poly1_cross_entropy(logits: Any, labels: Any, /, *, epsilon: float = 2.0, axis: int = -1,
                        ignore_index: int | None = -100, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Poly-1 cross-entropy (Leng et al., 2022): cross-entropy plus ``ε (1 - p_t)``.

    .. math::
        \ell_i = -\sum_k q_{ik} \log p_{ik} + \epsilon \sum_k q_{ik} (1 - p_{ik}),
        \qquad p_i = \operatorname{softmax}(z_i)

    For integer labels (``q`` one-hot): ``-log p_y + ε (1 - p_y)``.

    Parameters
    ----------
    logits : array
        Real floating, shape ``(..., C, ...)`` with the classes along ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``, or
        floating probabilities of the shape and dtype of ``logits``.
    epsilon : float, default 2.0
        Coefficient of the first polynomial term (optax's default; the paper
        uses 2 for ImageNet and -1 for detection).  Any real value.
    axis : int, default -1
        Class axis.
    ignore_index : int or None, default -100
        Integer labels equal to it contribute 0 to the value, the gradient and
        the count of a mean.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples,
        ``"weighted_mean"`` by their total weight.

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Labels of the wrong shape or dtype, labels outside ``[0, C)`` (checked
        eagerly), a bad ``axis``, a non-finite ``epsilon``.

    Notes
    -----
    Stable for logits of any magnitude: ``log p = z - logsumexp(z)`` and
    ``1 - p = -expm1(log p)``.  The gradient with integer labels is
    ``(1 + ε p_y)(softmax(z) - onehot(y))``.  Probability targets get the
    gradient ``-log p + ε (1 - p)``.

    See Also
    --------
    optax.losses.poly_loss_cross_entropy : ``poly_loss_cross_entropy(logits, onehot,
        epsilon=ε).mean()`` equals ``poly1_cross_entropy(logits, labels, epsilon=ε)`` (optax takes
        probability labels only; the default ``ε = 2`` is optax's).
    cross_entropy : ``epsilon=0``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> logits = np.log(np.array([[0.5, 0.25, 0.25]]))
    >>> round(float(xploss.poly1_cross_entropy(logits, np.array([0]), epsilon=1.0)), 6)  # log 2 + 0.5
    1.193147
    """
    fn = "poly1_cross_entropy"
    be = resolve(fn, {"logits": logits, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis, _, sample = _checks.class_axis(fn, xp, "logits", logits, axis)
    labels, ignore_index, invalid = _labels(fn, be, "logits", logits, labels, axis, ignore_index)
    prim = _POLY_INDEX if xp.isdtype(labels.dtype, "integral") else _POLY_PROB
    return _run(fn, be, prim, (logits, labels), sample_weight, reduction, invalid, axis=axis,
                ignore_index=ignore_index,
                epsilon=_checks.number(fn, "epsilon", epsilon))


# -- KL divergence -------------------------------------------------------------------------

def _kl_log_ratio(xp: Any, lq: Any, t: Any, p: Any, log_target: bool) -> Any:
    """``log p - log q`` where ``p != 0`` (0 elsewhere, also against ``log q = -inf``); ``p`` the target's
    probabilities (``exp(t)`` for a log target)."""
    if not log_target:
        return _ops.log_ratio(xp, t, lq)
    nz = p != 0
    lp = xp.where(nz, t, xp.zeros_like(t))
    return _keep(xp, lp - xp.where(nz, lq, xp.zeros_like(lq)), nz)  # double where: -inf - -inf not formed


def _kl_fwd(xp: Any, lq: Any, t: Any, *, axis: int | None, log_target: bool, scale: float) -> tuple:
    p = xp.exp(t) if log_target else t
    terms = p * _kl_log_ratio(xp, lq, t, p, log_target)
    loss = terms if axis is None else xp.sum(terms, axis=axis)
    return (loss if _ops.is_one(scale) else scale * loss), ()


def _kl_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int | None, log_target: bool, scale: float) -> tuple:
    """``-p`` for ``log q``; ``log p - log q + 1`` (times ``p`` for a log target), 0 where ``p = 0``."""
    lq, t = arrays
    p = xp.exp(t) if log_target else t

    def target() -> Any:  # the log ratio only when the target's gradient is asked for
        d = _keep(xp, _kl_log_ratio(xp, lq, t, p, log_target) + 1.0, p != 0)
        return scale * (p * d if log_target else d)
    return -scale * p, target


_KL = Primitive("kl_divergence", _kl_fwd, _kl_partials, event_axis="axis")
_KL_ELEMENTWISE = Primitive("kl_divergence", _kl_fwd, _kl_partials)


@loss
def kl_divergence(log_q: Any, target: Any, /, *, axis: int | None = -1, log_target: bool = False,
                  sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Kullback-Leibler divergence ``KL(p ‖ q)`` from log-probabilities ``log q`` (torch, optax).

    .. math::
        \ell_i = \sum_k p_{ik} \, (\log p_{ik} - \log q_{ik})

    with ``p`` the target (or ``exp(target)`` when ``log_target``); terms with
    ``p = 0`` are 0 (``xlogy``).  The prediction comes first, in log space.

    Parameters
    ----------
    log_q : array
        Real floating log-probabilities of the prediction.
    target : array
        The target distribution ``p`` (probabilities, or log-probabilities
        with ``log_target=True``), of the shape and dtype of ``log_q``.
    axis : int or None, default -1
        Class axis summed into one loss per sample; ``None`` keeps one loss
        per element (torch's unreduced layout).
    log_target : bool, default False
        ``target`` holds ``log p``.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight", "batchmean"}
        ``"mean"`` averages the per-sample (or, with ``axis=None``,
        per-element) losses; ``"batchmean"`` (this loss only) divides the sum
        by ``log_q.shape[0]`` as torch does, which equals ``"mean"`` for 2-D
        inputs.

    Returns
    -------
    array
        Scalar, or the per-sample losses (``log_q.shape`` without ``axis``; all
        of ``log_q.shape`` for ``axis=None``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``target`` of another shape or dtype, a bad ``axis``, an unknown
        ``reduction``, ``"batchmean"`` on a 0-d input or one whose leading
        size is unknown while tracing.

    Notes
    -----
    The gradient is ``-p`` for ``log q`` and ``log p - log q + 1`` for the
    target (``p (log p - log q + 1)`` for a log target).  Where ``p = 0`` the
    target gradient is defined as 0, as TensorFlow's ``xlogy`` gives; torch
    and JAX give NaN there (``xlogy(0, 0)``) and optax's ``kl_divergence``
    NaN as well: a documented disagreement of the built-ins (BUILTINS §2.9,
    §3.1).  A zero target against ``log q = -inf`` contributes 0, not NaN.

    See Also
    --------
    torch.nn.functional.kl_div : ``F.kl_div(log_q, p, reduction="batchmean", log_target=b)`` equals
        ``kl_divergence(log_q, p, log_target=b, reduction="batchmean")`` (and ``"mean"`` for 2-D
        inputs); torch's ``reduction="mean"`` (divided by the number of elements) and ``"none"`` are
        ``axis=None`` with ``"mean"`` and ``"none"``.
    optax.losses.kl_divergence : ``kl_divergence(log_q, p).mean()`` equals
        ``kl_divergence(log_q, p)``; ``kl_divergence_with_log_targets`` is ``log_target=True``.
    probability_kl_divergence : Keras' ``KLDivergence`` on probabilities, clipped to ``[1e-7, 1]``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p, q = np.array([[0.5, 0.5, 0.0]]), np.array([[0.25, 0.25, 0.5]])
    >>> round(float(xploss.kl_divergence(np.log(q), p)), 6)  # 2 · 0.5 · log(0.5 / 0.25)
    0.693147
    >>> round(float(xploss.kl_divergence(np.log(q), p, axis=None)), 6)  # torch 'mean': log(2) / 3
    0.231049
    """
    fn = "kl_divergence"
    be = resolve(fn, {"log_q": log_q, "target": target, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "log_q", xp, log_q)
    _checks.floating(fn, "target", xp, target)
    target = _checks.target_like(fn, xp, ("log_q", log_q), ("target", target))
    shape = _checks.shape_of(log_q)
    if axis is None:
        sample = shape
    else:
        axis, _, sample = _checks.class_axis(fn, xp, "log_q", log_q, axis)
    _checks.reduction(fn, reduction, REDUCTIONS + ("batchmean",))
    scale = 1.0
    if reduction == "batchmean":
        if not shape or shape[0] is None:
            raise _checks.error(fn, "reduction", "'batchmean' on an input with a known leading size",
                                f"shape {shape}")
        reduction, scale = "sum", 1.0 / max(shape[0], 1)
    return _run(fn, be, _KL_ELEMENTWISE if axis is None else _KL, (log_q, target), sample_weight, reduction,
                axis=axis, log_target=bool(log_target), scale=scale)


def _pkl_parts(xp: Any, q: Any, p: Any, eps: float) -> tuple:
    qc, pc = xp.clip(q, min=eps, max=1.0), xp.clip(p, min=eps, max=1.0)
    return qc, pc, xp.log(pc / qc)


def _pkl_fwd(xp: Any, q: Any, p: Any, *, axis: int, eps: float) -> tuple:
    _, pc, log_ratio = _pkl_parts(xp, q, p, eps)
    return xp.sum(pc * log_ratio, axis=axis), ()


def _pkl_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, eps: float) -> tuple:
    q, p = arrays
    qc, pc, log_ratio = _pkl_parts(xp, q, p, eps)

    def inside(x: Any) -> Any:
        return xp.logical_and(x >= eps, x <= 1.0)
    return _keep(xp, -pc / qc, inside(q)), lambda: _keep(xp, log_ratio + 1.0, inside(p))


_PKL = Primitive("probability_kl_divergence", _pkl_fwd, _pkl_partials, event_axis="axis")


@loss
def probability_kl_divergence(probs: Any, target: Any, /, *, axis: int = -1, eps: float = KERAS_EPSILON,
                              sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Keras' ``KL(p ‖ q)`` on probabilities, both clipped to ``[eps, 1]``.

    .. math::
        \ell_i = \sum_k \bar p_{ik} \log \frac{\bar p_{ik}}{\bar q_{ik}}, \qquad
        \bar p = \operatorname{clip}(p, \epsilon, 1), \; \bar q = \operatorname{clip}(q, \epsilon, 1)

    with ``q`` the prediction ``probs`` and ``p`` the ``target``.

    Parameters
    ----------
    probs : array
        Real floating predicted probabilities ``q``, shape ``(..., C, ...)``
        with the classes along ``axis``.
    target : array
        Target probabilities ``p``, of the shape and dtype of ``probs``.
    axis : int, default -1
        Class axis summed into one loss per sample.
    eps : float, default 1e-7
        Lower clip bound, in ``(0, 1)``; Keras' ``keras.config.epsilon()``.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` averages the per-sample losses (Keras'
        ``sum_over_batch_size``).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``probs.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``target`` of another shape or dtype, a bad ``axis``, ``eps`` outside
        ``(0, 1)``.

    Notes
    -----
    The clip keeps every value and gradient finite, at exact zeros included:
    a zero target entry contributes ``eps · log(eps / q̄)`` (not 0, unlike
    :func:`kl_divergence`), and entries outside ``[eps, 1]`` get a zero
    gradient, as in Keras.  The gradient is ``-p̄ / q̄`` for the prediction
    and ``log(p̄ / q̄) + 1`` for the target.

    See Also
    --------
    keras.losses.KLDivergence : ``KLDivergence()(target, probs)`` equals
        ``probability_kl_divergence(probs, target)`` (Keras takes the target first).
    kl_divergence : torch and optax semantics, from ``log q``, without clipping.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])
    >>> round(float(xploss.probability_kl_divergence(q, p)), 6)  # 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75)
    0.143841
    """
    fn = "probability_kl_divergence"
    be = resolve(fn, {"probs": probs, "target": target, "sample_weight": sample_weight})
    xp = be.xp
    axis, _, sample = _checks.class_axis(fn, xp, "probs", probs, axis)
    _checks.floating(fn, "target", xp, target)
    target = _checks.target_like(fn, xp, ("probs", probs), ("target", target))
    return _run(fn, be, _PKL, (probs, target), sample_weight, reduction, axis=axis,
                eps=_checks.number(fn, "eps", eps, low=0.0, high=1.0, low_open=True, high_open=True))
