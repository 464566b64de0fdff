"""Margin losses on class scores: Keras' categorical hinge, torch's multi-class
and multi-label margin losses, and the zero-one error (a metric).

Every kernel is written with broadcasting and masks only (no sorting, no
cumulative sums, no Python branch on array values), so it runs under
``jax.jit``, ``tf.function`` and ``torch.compile`` and on xploss' own
TensorFlow namespace.  The class axis is ``axis``; integer labels have the
shape of the scores without it.
"""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from ._classification import _along, _gather

__all__ = ["categorical_hinge", "multi_margin", "multilabel_margin", "zero_one"]


# -- shared validation and helpers ---------------------------------------------------------

def _class_indices(fn: str, be: Any, labels: Any, logits: Any, axis: int, num_classes: Any, what: str,
                   lists: bool = False) -> tuple[Any, Any]:
    """Integer labels in ``[0, C)`` of the logits' shape without ``axis`` (``[-1, C)`` for target ``lists``
    along ``axis``: the logits' shape).

    Returns ``(labels, invalid)``: the range is checked eagerly; traced, the labels out of range are
    replaced by 0 and ``invalid`` masks their samples (see :func:`xploss._checks.labels_in_range`).
    """
    xp = be.xp
    shape = _checks.shape_of(logits)
    hint = "" if lists else _checks.label_hint(xp, labels, shape[:axis] + shape[axis + 1:], None)
    if not xp.isdtype(labels.dtype, "integral"):
        raise _checks.error(fn, "labels", what, f"dtype {_checks.dtype_name(labels.dtype)}",
                            kind=_checks.XplossTypeError, hint=hint)
    _checks.index_labels(fn, xp, labels, ("logits", logits), None if lists else axis, what, hint)
    if not lists:
        _, labels, invalid = _checks.labels_in_range(fn, be, labels, num_classes, None)
        return labels, invalid
    _, labels, invalid = _checks.labels_in_range(fn, be, labels, num_classes, -1, "-1 (the end of a list)")
    return labels, _checks.per_sample(xp, invalid, axis)


def _active(xp: Any, on: Any, u: Any) -> Any:
    """1 where a hinge term is active, 0 elsewhere, NaN where its slack ``u`` is NaN (NaN in, NaN gradient out)."""
    return xp.where(xp.isnan(u), u, xp.astype(on, u.dtype))


def _classes(xp: Any, num: int, dtype: Any, axis: int, ndim: int) -> Any:
    """``arange(num)`` shaped to run along ``axis`` of an ``ndim`` array."""
    return _along(xp, xp.arange(num, dtype=dtype), axis, ndim)


def _onehot_mask(xp: Any, y: Any, num: int, axis: int) -> Any:
    """Boolean ``y == k`` with the class ``k`` inserted at ``axis`` of integer labels ``y``."""
    return xp.expand_dims(y, axis=axis) == _classes(xp, num, y.dtype, axis, y.ndim + 1)


# -- categorical hinge (Keras) -------------------------------------------------------------------

def _ch_fwd(xp: Any, z: Any, t: Any, *, axis: int) -> tuple:
    neg = xp.max((1.0 - t) * z, axis=axis)
    u = neg - xp.sum(t * z, axis=axis) + 1.0
    return xp.maximum(u, xp.zeros_like(u)), ()


def _ch_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int) -> tuple:
    z, t = arrays
    q = (1.0 - t) * z
    m = xp.max(q, axis=axis, keepdims=True)
    hit = xp.astype(q == m, z.dtype)
    share = hit / xp.sum(hit, axis=axis, keepdims=True)  # a tie splits the max's gradient equally
    u = m - xp.sum(t * z, axis=axis, keepdims=True) + 1.0
    active = xp.astype(u >= 0.0, z.dtype)  # full gradient at u == 0 (Keras on TensorFlow)
    return active * (share * (1.0 - t) - t), lambda: -active * z * (1.0 + share)


_CH = Primitive("categorical_hinge", _ch_fwd, _ch_partials, event_axis="axis")


@loss
def categorical_hinge(logits: Any, labels: Any, /, *, axis: int = -1, sample_weight: Any = None,
                      reduction: str = "mean") -> Any:
    r"""Categorical hinge loss, exactly Keras' ``CategoricalHinge``.

    .. math::
        \ell_i = \max\Big(0,\; 1 + \max_k\,(1 - t_{ik})\, s_{ik} - \sum_k t_{ik}\, s_{ik}\Big)

    With a one-hot ``t`` for class ``y`` this is
    ``max(0, 1 + max(0, max_{k≠y} s_k) - s_y)``: the target slot contributes a
    **0** to the inner maximum (not ``-inf``), so a row whose other scores are
    all negative still pays ``max(0, 1 - s_y)``.

    Parameters
    ----------
    logits : array
        Real floating scores ``s``, shape ``(..., C, ...)`` with the classes
        along ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``, or a
        one-hot (any real) target ``t`` of the shape of ``logits`` (Keras'
        formula is applied as written; an integer or bool one-hot is not
        accepted: integer arrays are class indices).
    axis : int, default -1
        Class axis.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of samples (Keras' ``sum_over_batch_size``).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        A bad ``axis``, labels of the wrong shape or dtype, class indices
        outside ``[0, C)`` (checked eagerly).

    Notes
    -----
    Gradient with respect to the scores: ``[u >= 0] (σ (1 - t) - t)`` with
    ``u`` the hinge argument and ``σ`` the indicator of the inner maximum.
    **Ties of the inner maximum split its gradient equally** among the tied
    classes (as ``amax`` and TensorFlow's ``reduce_max`` do, so Keras on every
    backend agrees); at the outer kink ``u = 0`` the full gradient is passed
    (Keras on TensorFlow; Keras on JAX and torch pass half).  A floating
    target gets the gradient ``-[u >= 0] s (1 + σ)``.

    The three built-ins named "multi-class hinge" differ (BUILTINS §2.10):
    optax ``multiclass_hinge_loss`` (Crammer-Singer) takes the inner maximum
    over the other classes only, and torch ``MultiMarginLoss``
    (:func:`multi_margin`) sums over the classes and divides by ``C``.  For
    scores ``[0.5, -1, -2]`` and class 0: Keras 0.5, optax 0, torch 0; for
    ``[0.5, 0.7, -2]``: Keras 1.2, optax 1.2, torch 0.4.

    See Also
    --------
    keras.losses.CategoricalHinge : ``CategoricalHinge()(onehot, logits)`` equals
        ``categorical_hinge(logits, onehot)`` or ``categorical_hinge(logits, labels)``;
        ``sample_weight=w`` is ``weight=w``.
    optax.losses.multiclass_hinge_loss : ``multiclass_hinge_loss(logits, labels).mean()``
        equals this loss where some non-target score is ``>= 0`` in every row.
    multi_margin : torch's multi-class margin loss.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> s = np.array([[0.5, -1.0, -2.0], [0.5, 0.7, -2.0]])
    >>> round(float(xploss.categorical_hinge(s, np.array([0, 0]))), 6)
    0.85
    """
    fn = "categorical_hinge"
    be = resolve(fn, {"logits": logits, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis, num_classes, sample_shape = _checks.class_axis(fn, xp, "logits", logits, axis)
    _checks.reduction(fn, reduction)
    if xp.isdtype(labels.dtype, "integral"):
        labels, invalid = _class_indices(fn, be, labels, logits, axis, num_classes,
                                         f"integer labels of shape {sample_shape} or a floating target of shape "
                                         f"{_checks.shape_of(logits)}")
        labels = xp.astype(_onehot_mask(xp, labels, num_classes, axis), logits.dtype)
    elif xp.isdtype(labels.dtype, "real floating"):
        labels, invalid = _checks.dense_labels(fn, xp, ("logits", logits), labels, sample_shape), None
    else:
        raise _checks.error(fn, "labels", "integer class indices or a floating target",
                            f"dtype {_checks.dtype_name(labels.dtype)}",
                            kind=_checks.XplossTypeError)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
    return apply(be, _CH, (logits, labels), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 axis=axis)


# -- multi-class margin (torch MultiMarginLoss) ------------------------------------------------

def _mm_fwd(xp: Any, z: Any, y: Any, cw: Any, *, axis: int, p: int, margin: float) -> tuple:
    yy = xp.expand_dims(y, axis=axis)
    u = margin - _ops.take_along_axis(xp, z, yy, axis) + z
    other = yy != _classes(xp, z.shape[axis], y.dtype, axis, z.ndim)
    # strict u > 0, target slot excluded; a NaN u is kept (NaN in, NaN out)
    h = xp.where(xp.logical_and(xp.logical_not(u <= 0.0), other), u, xp.zeros_like(u))
    loss = xp.sum(h if p == 1 else h * h, axis=axis) / z.shape[axis]
    return (loss if cw is None else _gather(xp, cw, y) * loss), (h,)


def _mm_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, p: int, margin: float) -> tuple:
    z, y, cw = arrays
    (h,) = res
    scale = 1.0 / z.shape[axis] if cw is None else xp.expand_dims(_gather(xp, cw, y), axis=axis) / z.shape[axis]
    d = (_active(xp, h != 0.0, h) if p == 1 else 2.0 * h) * scale
    return _ops.subtract_at(xp, d, y, xp.sum(d, axis=axis), axis), None, None


def _mm_normalizer(xp: Any, z: Any, y: Any, cw: Any, **static: Any) -> tuple:
    return None, None if cw is None else _gather(xp, cw, y)


_MM = Primitive("multi_margin", _mm_fwd, _mm_partials, normalizer=_mm_normalizer, event_axis="axis",
                shared=(2,))


@loss
def multi_margin(logits: Any, labels: Any, /, *, p: int = 1, margin: float = 1.0, class_weight: Any = None,
                 axis: int = -1, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Multi-class margin loss, torch's ``MultiMarginLoss``.

    .. math::
        \ell_i = \frac{w_{y_i}}{C} \sum_{k \ne y_i} \max\big(0,\; m - z_{i y_i} + z_{ik}\big)^p

    Parameters
    ----------
    logits : array
        Real floating scores ``z``, shape ``(..., C, ...)`` with the classes
        along ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``.
    p : {1, 2}, default 1
        Power of the hinge (torch allows only these two).
    margin : float, default 1.0
        Margin ``m`` (any finite number, as torch).
    class_weight : array, optional
        ``(C,)`` weight ``w`` per class, multiplying the loss of a sample by the
        weight of its target (no gradient); torch's ``weight=``.
    axis : int, default -1
        Class axis.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of samples **even with**
        ``class_weight``, exactly as torch's ``'mean'`` does (torch does not
        divide by the weight sum here, unlike ``cross_entropy``);
        ``"weighted_mean"`` divides by ``Σ weight · class_weight[y]`` (no torch
        twin).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``p`` not 1 or 2, a non-finite ``margin``, a bad ``axis``, labels of
        the wrong shape or dtype, labels outside ``[0, C)`` (checked eagerly),
        ``class_weight`` not of shape ``(C,)``.

    Notes
    -----
    The hinge is strict, as torch's: a term with ``m - z_y + z_k = 0``
    contributes 0 to the value **and to the gradient**.  The gradient is
    ``(w_y / C) p h_k^{p-1}`` for every active ``k`` and minus their sum for
    the target class.  Logits of any magnitude give finite values.

    See Also
    --------
    torch.nn.functional.multi_margin_loss : ``F.multi_margin_loss(logits, labels, p=p, margin=m,
        weight=class_weight, reduction=r)`` equals ``multi_margin(logits, labels, p=p, margin=m,
        class_weight=class_weight, reduction=r)`` for ``r`` in ``"mean"``, ``"sum"``, ``"none"``.
    categorical_hinge : Keras' variant (maximum over the classes, no division by ``C``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z = np.array([[0.5, 0.7, -2.0], [0.5, -1.0, -2.0]])
    >>> round(float(xploss.multi_margin(z, np.array([0, 0]))), 6)
    0.2
    >>> round(float(xploss.multi_margin(z, np.array([0, 0]), p=2, reduction="sum")), 6)
    0.48
    """
    fn = "multi_margin"
    be = resolve(fn, {"logits": logits, "labels": labels, "class_weight": class_weight, "sample_weight": sample_weight})
    xp = be.xp
    axis, num_classes, sample_shape = _checks.class_axis(fn, xp, "logits", logits, axis)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p not in (1, 2):
        raise _checks.error(fn, "p", "1 or 2", repr(p))
    margin = _checks.number(fn, "margin", margin)
    labels, invalid = _class_indices(fn, be, labels, logits, axis, num_classes,
                                     f"integer labels of shape {sample_shape}")
    if class_weight is not None:
        _checks.floating(fn, "class_weight", xp, class_weight)
        cws = _checks.shape_of(class_weight)
        if len(cws) != 1 or (num_classes is not None and cws[0] not in (None, num_classes)):
            raise _checks.error(fn, "class_weight", f"shape ({num_classes},)", f"shape {cws}")
        class_weight = xp.astype(class_weight, logits.dtype)
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
    return apply(be, _MM, (logits, labels, class_weight), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction,
                 axis=axis, p=int(p), margin=margin)


# -- multi-label margin (torch MultiLabelMarginLoss) ---------------------------------------------

def _mlm_terms(xp: Any, z: Any, y: Any, axis: int) -> tuple:
    """Pairwise hinge ``u[j, k] = 1 - z[y_j] + z_k`` (list position ``j`` at ``axis``, class
    ``k`` at ``axis + 1``), its active mask, and ``y_j == k``.

    The target list stops at its first negative entry: ``j`` counts while it
    lies before that entry (a minimum over positions, no cumulative op).
    """
    num = z.shape[axis]
    pos = _classes(xp, num, y.dtype, axis, y.ndim)
    first_stop = xp.min(xp.where(y < 0, pos, xp.zeros_like(y) + num), axis=axis, keepdims=True)
    listed = pos < first_stop
    safe = xp.where(listed, y, xp.zeros_like(y))
    hit = _onehot_mask(xp, safe, num, axis + 1)  # [j, k]: entry j names class k
    is_target = xp.any(xp.logical_and(hit, xp.expand_dims(listed, axis=axis + 1)), axis=axis)
    zt = xp.expand_dims(_ops.take_along_axis(xp, z, safe, axis), axis=axis + 1)
    u = 1.0 - zt + xp.expand_dims(z, axis=axis)
    pair = xp.logical_and(xp.expand_dims(listed, axis=axis + 1),
                          xp.expand_dims(xp.logical_not(is_target), axis=axis))
    return u, xp.logical_and(pair, xp.logical_not(u <= 0.0)), hit  # strict u > 0, as torch; a NaN u is kept


def _mlm_fwd(xp: Any, z: Any, y: Any, *, axis: int) -> tuple:
    u, on, _ = _mlm_terms(xp, z, y, axis)
    return xp.sum(xp.where(on, u, xp.zeros_like(u)), axis=(axis, axis + 1)) / z.shape[axis], ()


def _mlm_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int) -> tuple:
    z, y = arrays
    u, on, hit = _mlm_terms(xp, z, y, axis)
    g = _active(xp, on, u) / z.shape[axis]
    per_entry = xp.sum(g, axis=axis + 1, keepdims=True)  # how much entry j pushes its class down
    return xp.sum(g - xp.astype(hit, z.dtype) * per_entry, axis=axis), None


_MLM = Primitive("multilabel_margin", _mlm_fwd, _mlm_partials, event_axis="axis")


@loss
def multilabel_margin(logits: Any, labels: Any, /, *, axis: int = -1, sample_weight: Any = None,
                      reduction: str = "mean") -> Any:
    r"""Multi-label margin loss, torch's ``MultiLabelMarginLoss``.

    .. math::
        \ell_i = \frac{1}{C} \sum_{j \in J_i} \sum_{k \notin T_i} \max\big(0,\; 1 - z_{i y_{ij}} + z_{ik}\big)

    ``J_i`` are the positions of the target list ``y_i`` before its first
    ``-1`` and ``T_i = {y_ij : j ∈ J_i}`` the target classes.

    Parameters
    ----------
    logits : array
        Real floating scores ``z``, shape ``(..., C, ...)`` with the classes
        along ``axis``.
    labels : array
        Integer target lists of the shape of ``logits``: along ``axis``, the
        target class indices followed by ``-1`` padding (torch's format).  The
        list stops at the first ``-1``; entries after it are ignored (but must
        lie in ``[-1, C)``, as torch checks).  A class listed twice counts
        twice, as in torch.
    axis : int, default -1
        Class axis (the axis of the target lists too).
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of samples (torch's ``'mean'``).

    Returns
    -------
    array
        Scalar, or the per-sample losses (``logits.shape`` without ``axis``)
        for ``reduction="none"``.

    Raises
    ------
    XplossError
        A bad ``axis``, labels not integer or not of the shape of ``logits``,
        labels outside ``[-1, C)`` (checked eagerly).

    Notes
    -----
    Jit-safe: the end of each list is found with a minimum over positions
    (no cumulative op, no branch on values).  Memory is ``O(N C²)``: every
    (list entry, class) pair is formed.  The hinge is strict as torch's: a
    pair with ``1 - z_y + z_k = 0`` contributes 0 to the gradient.  The
    gradient is ``1/C`` per active pair, ``+`` on the non-target class and
    ``-`` on the target.  An empty list (first entry ``-1``) or a list of
    every class gives 0.

    See Also
    --------
    torch.nn.functional.multilabel_margin_loss : ``F.multilabel_margin_loss(logits, labels,
        reduction=r)`` equals ``multilabel_margin(logits, labels, reduction=r)`` (labels int64).
    multi_margin : one target class per sample.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> round(float(xploss.multilabel_margin(z, np.array([[3, 0, -1, 1]]))), 6)
    0.85
    """
    fn = "multilabel_margin"
    be = resolve(fn, {"logits": logits, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis, num_classes, sample_shape = _checks.class_axis(fn, xp, "logits", logits, axis)
    labels, invalid = _class_indices(fn, be, labels, logits, axis, num_classes,
                                     f"integer target lists of shape {_checks.shape_of(logits)} padded with -1",
                                     lists=True)
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
    return apply(be, _MLM, (logits, labels), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 axis=axis)


# -- zero-one error (a metric) ------------------------------------------------------------------

def _zo_fwd(xp: Any, z: Any, y: Any, *, axis: int) -> tuple:
    num = z.shape[axis]
    classes = _classes(xp, num, y.dtype, axis, z.ndim)
    top = z == xp.max(z, axis=axis, keepdims=True)
    first = xp.min(xp.where(top, classes, xp.zeros_like(classes) + num), axis=axis)  # argmax, first on ties
    return xp.astype(first != y, z.dtype), ()


def _zo_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int) -> tuple:
    z = arrays[0]
    return lambda: xp.zeros_like(z), None


_ZO = Primitive("zero_one", _zo_fwd, _zo_partials, event_axis="axis")


@loss
def zero_one(logits: Any, labels: Any, /, *, axis: int = -1, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Zero-one error: the misclassification rate, a metric (no useful gradient).

    .. math:: \ell_i = \big[\operatorname{argmax}_k z_{ik} \ne y_i\big]

    Parameters
    ----------
    logits : array
        Real floating scores, shape ``(..., C, ...)`` with the classes along
        ``axis``.
    labels : array
        Integer class indices of shape ``logits.shape`` without ``axis``.
    axis : int, default -1
        Class axis.
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"``: the error rate; ``"sum"``: the number of errors;
        ``"none"``: 0/1 per sample, in the dtype of ``logits``.

    Returns
    -------
    array
        Scalar, or the per-sample 0/1 errors for ``reduction="none"``.

    Raises
    ------
    XplossError
        A bad ``axis``, labels of the wrong shape or dtype, labels outside
        ``[0, C)`` (checked eagerly).

    Notes
    -----
    The argmax takes the **first** maximal class on ties (as ``numpy.argmax``
    and ``torch.argmax``), computed with a maximum and a minimum over the class
    axis so that every namespace (TensorFlow's included) runs it jit-safely.

    The loss is piecewise constant in the logits: its gradient is **zero
    everywhere** (undefined on ties), and :func:`xploss.value_and_grad` returns
    exactly that zero gradient on every backend rather than raising, so the
    metric can sit in a differentiated sum.  Train with a surrogate
    (:func:`cross_entropy`, :func:`multi_margin`, :func:`categorical_hinge`).
    A per-sample ``sample_weight`` does receive its gradient (the 0/1 errors).

    See Also
    --------
    cross_entropy : the usual differentiable surrogate.
    torch.argmax : ``(logits.argmax(-1) != labels).float().mean()`` is the reference formula
        (no torch, Keras or optax loss ships it; ``keras.metrics.SparseCategoricalAccuracy`` is
        ``1 - zero_one``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    >>> xploss.zero_one(z, np.array([0, 0, 1]), reduction="none")
    array([0., 1., 1.])
    >>> round(float(xploss.zero_one(z, np.array([0, 0, 1]))), 6)
    0.666667
    """
    fn = "zero_one"
    be = resolve(fn, {"logits": logits, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis, num_classes, sample_shape = _checks.class_axis(fn, xp, "logits", logits, axis)
    labels, invalid = _class_indices(fn, be, labels, logits, axis, num_classes,
                                     f"integer labels of shape {sample_shape}")
    _checks.reduction(fn, reduction)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits, axis)
    return apply(be, _ZO, (logits, labels), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 axis=axis)
