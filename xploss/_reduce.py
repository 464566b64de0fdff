"""The only reduction code: ``"mean" | "sum" | "none" | "weighted_mean"``.

One rule for every loss.  A loss kernel yields per-sample values ``l`` (zero
where masked), optionally a 0/1 ``valid`` mask and a per-sample normaliser
``n`` (for cross-entropy: the class weight of the target).  With an optional
per-sample ``weight`` ``w``:

* ``"none"``          -> ``w * l``
* ``"sum"``           -> ``sum(w * l)``
* ``"mean"``          -> ``sum(w * l) / count`` where ``count`` is the number of
  valid (unmasked) samples: Keras' ``sum_over_batch_size`` (masked samples
  excluded, as Keras does for ``ignore_class``);
* ``"weighted_mean"`` -> ``sum(w * l) / sum(w * n)``: torch's weighted mean
  (``F.cross_entropy(weight=...)``) and Keras' ``mean_with_sample_weight``.

A zero denominator (everything masked) gives 0 with a zero gradient, never NaN.

The partial form, for means that add up across micro-batches and devices:
``"count"`` and ``"total_weight"`` return the denominators of ``"mean"`` and
``"weighted_mean"`` themselves (0 when everything is masked; no gradient), so
that ``Σ_k loss(part_k, reduction="sum") / Σ_k loss(part_k, reduction="count")``
is the full batch's ``"mean"`` whatever the split.

Forward, VJP and JVP live together here so that they cannot drift apart.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["REDUCTIONS", "NORMALIZERS", "forward", "vjp", "jvp", "expand_weight", "unbroadcast", "denominator",
           "nonzero"]

REDUCTIONS = ("mean", "sum", "none", "weighted_mean", "count", "total_weight")
NORMALIZERS = {"count": "mean", "total_weight": "weighted_mean"}  # partial form -> the mean it divides


def expand_weight(xp: Any, w: Any, ndim: int) -> Any:
    """Align a per-sample weight on the *leading* axes of the loss."""
    for _ in range(ndim - w.ndim):
        w = xp.expand_dims(w, axis=-1)
    return w


def _count(xp: Any, loss: Any, raw: bool = False) -> Any:
    """Number of elements (a Python float when the shape is static); 0 becomes 1 unless ``raw``."""
    shape = tuple(loss.shape)
    if all(d is not None for d in shape):
        return float(max(math.prod(shape), 0 if raw else 1))
    n = xp.sum(xp.ones_like(loss))
    return n if raw else xp.where(n != 0, n, xp.ones_like(n))


def _base(valid: Any, norm: Any) -> Any:
    return norm if norm is not None else valid


def denominator(xp: Any, loss: Any, w: Any, valid: Any, norm: Any, reduction: str, raw: bool = False) -> Any:
    """The mean's denominator; a zero one becomes 1 (the mean of nothing is 0) unless ``raw``."""
    if reduction == "mean":
        if valid is None:
            return _count(xp, loss, raw)
        den = xp.sum(valid)
    else:  # weighted_mean
        base = _base(valid, norm)
        if w is None and base is None:
            return _count(xp, loss, raw)
        if w is None:
            den = xp.sum(base)
        else:
            den = xp.sum(w * (xp.ones_like(loss) if base is None else base))
    return den if raw else nonzero(xp, den)


def nonzero(xp: Any, den: Any) -> Any:
    """A mean's raw denominator with 0 made 1 (the mean of nothing is 0): summed over the blocks of a blocked
    evaluation (:class:`xploss._define.Bound`), then made safe once."""
    if isinstance(den, float):
        return den if den != 0 else 1.0
    return xp.where(den != 0, den, xp.ones_like(den))


def forward(xp: Any, loss: Any, w: Any, valid: Any, norm: Any, reduction: str) -> tuple[Any, Any]:
    """Reduce per-sample ``loss``; returns ``(out, den)`` (``den`` None unless a mean)."""
    if reduction in NORMALIZERS:
        den = denominator(xp, loss, w, valid, norm, NORMALIZERS[reduction], raw=True)
        if isinstance(den, float):  # a static count: an array of the loss' library and dtype
            den = xp.sum(xp.zeros_like(loss)) + den
        return den, None
    wl = loss if w is None else w * loss
    if reduction == "none":
        return wl, None
    total = xp.sum(wl)
    if reduction == "sum":
        return total, None
    den = denominator(xp, loss, w, valid, norm, reduction)
    return total / den, den


def vjp(xp: Any, g: Any, loss: Any, w: Any, den: Any, valid: Any, norm: Any,
        reduction: str, need_w: bool, out: Any = None) -> tuple[Any, Any]:
    """Cotangents ``(g_loss, g_w)`` of the reduction; ``g_w`` is at loss shape.

    ``out``: the weighted mean itself, when ``loss`` and ``w`` are one block of the batch (else computed).
    """
    gl = g if den is None else g / den
    g_loss = gl if w is None else gl * w
    g_w = None
    if need_w and w is not None:
        if reduction == "weighted_mean":
            base = _base(valid, norm)
            out = xp.sum(w * loss) / den if out is None else out
            g_w = gl * (loss - out * (1.0 if base is None else base))
        else:
            g_w = gl * loss
    return g_loss, g_w


def jvp(xp: Any, t_loss: Any, t_w: Any, loss: Any, w: Any, out: Any, den: Any,
        valid: Any, norm: Any, reduction: str) -> Any:
    """Tangent of the reduced output (a linear map, so it differentiates again)."""
    part = None
    if t_loss is not None:
        part = t_loss if w is None else w * t_loss
    if t_w is not None and w is not None:
        if reduction == "weighted_mean":
            base = _base(valid, norm)
            dw = t_w * (loss - out * (1.0 if base is None else base))
        else:
            dw = t_w * loss
        part = dw if part is None else part + dw
    if part is None:
        return xp.zeros_like(out)
    if reduction == "none":
        return part + xp.zeros_like(out)
    total = xp.sum(part)
    return total if den is None else total / den


def unbroadcast(xp: Any, g: Any, shape: tuple) -> Any:
    """Sum ``g`` down to ``shape`` (the inverse of broadcasting)."""
    if tuple(g.shape) == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead > 0:
        g = xp.sum(g, axis=tuple(range(lead)))
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    return g
