"""Classification losses on logits: softmax cross-entropy.

Cross-entropy never forms ``log(softmax)``: the forward keeps the per-row
log-sum-exp (``O(N)`` residual), the derivative recomputes the softmax from
the logits and that log-sum-exp.
"""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = ["cross_entropy"]


def _along(xp: Any, v: Any, axis: int, ndim: int) -> Any:
    """Reshape a ``(C,)`` vector to broadcast along ``axis`` of an ``ndim`` array."""
    for _ in range(ndim - 1 - axis):
        v = xp.expand_dims(v, axis=-1)
    return v


def _gather(xp: Any, table: Any, idx: Any) -> Any:
    """``table[idx]`` for a 1-D table and integer indices of any shape."""
    if idx.ndim == 1:
        return xp.take(table, idx)
    return xp.reshape(xp.take(table, xp.reshape(idx, (-1,))), tuple(idx.shape))


# -- integer labels --------------------------------------------------------------------

def _valid_and_safe(xp: Any, y: Any, ignore_index: int | None) -> tuple[Any, Any]:
    if ignore_index is None:
        return None, y
    valid = y != ignore_index
    return valid, xp.where(valid, y, xp.zeros_like(y))


def _ce_index_fwd(xp: Any, z: Any, y: Any, cw: Any, *, axis: int, ignore_index: int | None,
                  label_smoothing: float) -> tuple:
    lse = _ops.logsumexp(xp, z, axis)
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    zy = xp.squeeze(_ops.take_along_axis(xp, z, xp.expand_dims(safe, axis=axis), axis), axis=axis)
    lse_s = xp.squeeze(lse, axis=axis)
    loss = lse_s - zy
    if cw is not None:
        loss = _gather(xp, cw, safe) * loss
    if not _ops.is_zero(label_smoothing):
        num_classes = z.shape[axis]
        if cw is None:
            smooth = num_classes * lse_s - xp.sum(z, axis=axis)
        else:
            smooth = xp.sum(cw) * lse_s - xp.sum(_along(xp, cw, axis, z.ndim) * z, axis=axis)
        loss = (1.0 - label_smoothing) * loss + (label_smoothing / num_classes) * smooth
    if valid is not None:
        loss = xp.where(valid, loss, xp.zeros_like(loss))
    return loss, (lse,)


def _ce_index_grad(xp: Any, arrays: tuple, res: tuple, g: Any, *, axis: int, ignore_index: int | None,
                   label_smoothing: float) -> tuple:
    """``g * d loss / d logits`` for a per-sample (or scalar) cotangent ``g``.

    ``softmax(z) * s - onehot(y) * c`` with ``c = g (1-ε) w_y [valid]`` and
    ``s = c + g (ε/C) Σw [valid]``; the smoothing's ``-(ε/C) w_k`` term is dense.
    """
    z, y, cw = arrays
    (lse,) = res
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    shape = tuple(lse.shape[:axis]) + tuple(lse.shape[axis + 1:])
    if None in shape or not hasattr(g, "shape"):  # sizes unknown while tracing (TensorFlow), a Python number
        gv = xp.zeros_like(xp.squeeze(lse, axis=axis)) + g  # per-sample cotangent
    else:  # a view where the library has them (a mean's 0-d cotangent, not a filled buffer)
        gv = xp.broadcast_to(g, shape)
    if valid is not None:
        gv = xp.where(valid, gv, xp.zeros_like(gv))
    c = gv if cw is None else gv * _gather(xp, cw, safe)
    if _ops.is_zero(label_smoothing):
        return _ops.subtract_at(xp, _ops.softmax_scaled(xp, z, lse, c, axis), safe, c, axis), None, None
    num_classes = z.shape[axis]
    eps_c = label_smoothing / num_classes
    total_w = float(num_classes) if cw is None else xp.sum(cw)
    grad = _ops.softmax_scaled(xp, z, lse, (1.0 - label_smoothing) * c + eps_c * total_w * gv, axis)
    grad = _ops.subtract_at(xp, grad, safe, (1.0 - label_smoothing) * c, axis)
    dense = xp.expand_dims(eps_c * gv, axis=axis)
    return (grad - (dense if cw is None else dense * _along(xp, cw, axis, z.ndim))), None, None


def _ce_index_partials(xp: Any, arrays: tuple, res: tuple, **static: Any) -> tuple:
    return _ce_index_grad(xp, arrays, res, 1.0, **static)


def _ce_index_normalizer(xp: Any, z: Any, y: Any, cw: Any, *, axis: int, ignore_index: int | None,
                         label_smoothing: float) -> tuple:
    valid, safe = _valid_and_safe(xp, y, ignore_index)
    v = None if valid is None else xp.astype(valid, z.dtype)
    if cw is None:
        return v, None
    norm = _gather(xp, cw, safe)
    return v, norm if v is None else norm * v


_CE_INDEX = Primitive("cross_entropy", _ce_index_fwd, _ce_index_partials, vjp=_ce_index_grad,
                      normalizer=_ce_index_normalizer, event_axis="axis", shared=(2,))


# -- probability targets ------------------------------------------------------------------

def _smoothed(xp: Any, t: Any, cw: Any, axis: int, ndim: int, label_smoothing: float, num_classes: int) -> Any:
    if not _ops.is_zero(label_smoothing):
        t = (1.0 - label_smoothing) * t + label_smoothing / num_classes
    return t if cw is None else _along(xp, cw, axis, ndim) * t


def _ce_prob_fwd(xp: Any, z: Any, t: Any, cw: Any, *, axis: int, label_smoothing: float) -> tuple:
    lse = _ops.logsumexp(xp, z, axis)
    tw = _smoothed(xp, t, cw, axis, z.ndim, label_smoothing, z.shape[axis])
    nlogp = lse - z
    # double where: a zero target weight contributes 0 even against a -inf logit
    terms = xp.where(tw != 0, tw * nlogp, xp.zeros_like(nlogp))
    return xp.sum(terms, axis=axis), (lse,)


def _ce_prob_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, label_smoothing: float) -> tuple:
    z, t, cw = arrays
    (lse,) = res
    tw = _smoothed(xp, t, cw, axis, z.ndim, label_smoothing, z.shape[axis])
    gz = _ops.softmax_scaled(xp, z, lse, xp.sum(tw, axis=axis), axis) - tw
    gt = lse - z
    if cw is not None:
        gt = _along(xp, cw, axis, z.ndim) * gt
    if not _ops.is_zero(label_smoothing):
        gt = (1.0 - label_smoothing) * gt
    return gz, gt, None


_CE_PROB = Primitive("cross_entropy", _ce_prob_fwd, _ce_prob_partials, event_axis="axis", shared=(2,))


@loss
def cross_entropy(logits: Any, labels: Any, /, *, axis: int = -1, class_weight: Any = None,
                  ignore_index: int | None = -100, label_smoothing: float = 0.0, sample_weight: Any = None,
                  reduction: str = "mean") -> Any:
    r"""Softmax cross-entropy from logits, with class-index or probability targets.

    .. math::
        \ell_i = -\sum_k q_{ik} \log \operatorname{softmax}(z_i)_k
               = \operatorname{logsumexp}(z_i) - \sum_k q_{ik} z_{ik}

    With integer labels ``q`` is one-hot (times ``class_weight[y]``); with
    label smoothing ``ε`` torch's mixture is used:
    ``(1-ε) w_y (lse - z_y) + (ε/C) Σ_k w_k (lse - z_k)``.

    Parameters
    ----------
    logits : array
        Real floating, shape ``(..., C, ...)`` with the classes along ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``, or
        floating probabilities of the shape and dtype of ``logits``.
    axis : int, default -1
        Class axis (torch layout ``(N, C, d1, ...)``: ``axis=1``).
    class_weight : array, optional
        ``(C,)`` weight per class (no gradient).
    ignore_index : int or None, default -100
        Integer labels equal to it contribute 0 to the value, the gradient and
        the count of a mean.  An all-ignored batch gives 0 (torch gives NaN).
    label_smoothing : float, default 0.0
        In ``[0, 1]``; mixes the target with the uniform distribution.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of non-ignored samples;
        ``"weighted_mean"`` by the total weight of the non-ignored targets
        (``Σ weight · class_weight[y]``): torch's default with ``weight=`` and
        Keras' ``mean_with_sample_weight``.

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        Label shape or dtype inconsistent with ``logits``, labels outside
        ``[0, C)`` (checked eagerly), a bad ``axis``, ``class_weight`` not of
        shape ``(C,)``, ``label_smoothing`` outside ``[0, 1]``.

    Notes
    -----
    Stable for logits of any magnitude (log-sum-exp, never ``log(softmax)``).
    The derivative with respect to the logits is ``softmax(z) - q`` (scaled),
    recomputed from the logits and the saved log-sum-exp.  With probability
    targets the targets get the gradient ``-log softmax(z)`` too.

    See Also
    --------
    torch.nn.functional.cross_entropy : ``F.cross_entropy(logits, labels, weight=class_weight,
        ignore_index=..., label_smoothing=...)`` equals ``cross_entropy(..., axis=1)`` with
        ``reduction="weighted_mean"`` (integer labels with ``class_weight``) and ``"mean"`` otherwise.
    keras.losses.SparseCategoricalCrossentropy : ``SparseCategoricalCrossentropy(from_logits=True,
        ignore_class=k)(labels, logits)`` equals ``cross_entropy(logits, labels, ignore_index=k)``.
    keras.losses.CategoricalCrossentropy : ``CategoricalCrossentropy(from_logits=True,
        label_smoothing=ε)(onehot, logits)`` equals ``cross_entropy(logits, onehot, label_smoothing=ε)``.
    optax.losses.softmax_cross_entropy_with_integer_labels : ``(...).mean()``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    >>> round(float(xploss.cross_entropy(logits, np.array([0, 1]))), 6)
    0.360645
    >>> round(float(xploss.cross_entropy(logits, np.array([0, -100]))), 6)
    0.169846
    """
    fn = "cross_entropy"
    be = resolve(fn, {"logits": logits, "labels": labels, "class_weight": class_weight, "sample_weight": sample_weight})
    return run(fn, be, logits, labels, axis=axis, class_weight=class_weight, ignore_index=ignore_index,
               label_smoothing=label_smoothing, sample_weight=sample_weight, reduction=reduction)


def run(fn: str, be: Any, logits: Any, labels: Any, *, axis: int = -1, class_weight: Any = None,
        ignore_index: int | None = None, label_smoothing: float = 0.0, sample_weight: Any = None,
        reduction: str = "mean", name: str = "logits") -> Any:
    """The checks and the call of :func:`cross_entropy` for the loss ``fn`` whose logits argument is ``name``
    (a composite's hard term: its errors name the loss the user called)."""
    xp = be.xp
    axis, num_classes, sample_shape = _checks.class_axis(fn, xp, name, logits, axis)
    zshape = _checks.shape_of(logits)
    ls = _checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0, traced=True)
    class_weight = check_class_weight(fn, xp, class_weight, num_classes, logits.dtype)
    _checks.reduction(fn, reduction)
    if xp.isdtype(labels.dtype, "integral"):
        _checks.index_labels(fn, xp, labels, (name, logits), axis,
                             lambda: f"integer labels of shape {sample_shape} ({name}.shape without axis {axis}) "
                                     f"or probabilities of shape {zshape}",
                             lambda: _checks.label_hint(xp, labels, sample_shape, zshape))
        check_ignore_index(fn, ignore_index)
        masked, labels, invalid = _checks.labels_in_range(fn, be, labels, num_classes, ignore_index)
        sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
        return apply(be, _CE_INDEX, (logits, labels, class_weight), sample_weight=sample_weight, invalid=invalid,
                     reduction=reduction, axis=axis, ignore_index=ignore_index if masked else None, label_smoothing=ls)
    if not xp.isdtype(labels.dtype, "real floating"):
        raise _checks.error(fn, "labels", "integer class indices or floating probabilities",
                            f"dtype {_checks.dtype_name(labels.dtype)}",
                            kind=_checks.XplossTypeError)
    labels = _checks.dense_labels(fn, xp, (name, logits), labels, sample_shape)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
    return apply(be, _CE_PROB, (logits, labels, class_weight), sample_weight=sample_weight, reduction=reduction,
                 axis=axis, label_smoothing=ls)


def check_class_weight(fn: str, xp: Any, class_weight: Any, num_classes: int | None, dtype: Any) -> Any:
    """A ``(C,)`` floating per-class weight cast to ``dtype`` (None stays None)."""
    if class_weight is None:
        return None
    _checks.floating(fn, "class_weight", xp, class_weight)
    cws = _checks.shape_of(class_weight)
    if len(cws) != 1 or (num_classes is not None and cws[0] not in (None, num_classes)):
        raise _checks.error(fn, "class_weight", f"shape ({num_classes},)", f"shape {cws}")
    return xp.astype(class_weight, dtype)


def check_ignore_index(fn: str, ignore_index: Any) -> None:
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise _checks.error(fn, "ignore_index", "an int or None", repr(ignore_index))
