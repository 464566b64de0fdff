r"""Lovász losses (Berman, Rannen Triki & Blaschko 2018): the convex Lovász extension of the Jaccard loss.

For a group of pixels (an image, or the whole batch: ``per``) with errors ``e`` and ground truth ``f``
(``f_j = 1`` for the pixels of the class), the errors are sorted in decreasing order ``π`` and

.. math::
    \ell = \sum_k e_{\pi_k}\, \big(J_k - J_{k-1}\big), \qquad
    J_k = 1 - \frac{F - \sum_{i \le k} f_{\pi_i}}{F + \sum_{i \le k} (1 - f_{\pi_i})}, \; J_0 = 0

(``F = Σ f``): the Lovász extension of the Jaccard loss at ``e``.  It is piecewise linear in ``e``; its
derivative is exactly the vector of ``J_k − J_{k−1}`` put back in the pixels' order (the sort permutation
is piecewise constant: Berman's reference code and segmentation_models_pytorch do not differentiate it
either).  At tied errors the value does not depend on the order, but the split of the gradient between
the tied pixels does, and frameworks sort ties differently.

* :func:`lovasz_softmax` — multi-class: ``e = |f_c − p_c|`` per class on probabilities, the mean over
  the classes present in the group (or all);
* :func:`lovasz_hinge` — binary: ``e = 1 − x (2y − 1)`` on logits, ``relu(e)`` sorted.

Void pixels (``ignore_index``) sort after every other pixel with error 0: they change neither the
value nor the gradient.
"""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from ._overlap import _activation_vjp, _class_axis, _per_sample_invalid, _probabilities, image_weight

__all__ = ["lovasz_softmax", "lovasz_hinge"]

PER = ("sample", "batch")


def _jaccard_steps(xp: Any, f_sorted: Any) -> Any:
    """``J_k − J_{k−1}`` along the last axis for ground truth sorted by decreasing error."""
    total = xp.sum(f_sorted, axis=-1, keepdims=True)
    hits = xp.cumulative_sum(f_sorted, axis=-1)
    misses = xp.cumulative_sum(1.0 - f_sorted, axis=-1)
    jac = 1.0 - (total - hits) / (total + misses)  # the union is >= 1 from the first pixel on
    prev = xp.concat([xp.zeros_like(jac[..., :1]), jac[..., :-1]], axis=-1)
    return jac - prev


def _lovasz(xp: Any, errors: Any, keys: Any, f: Any) -> tuple[Any, Any]:
    """``(Σ errors_sorted · steps, steps in the pixels' order)`` along the last axis (``keys`` sort)."""
    order = xp.argsort(keys, axis=-1, descending=True, stable=True)
    steps = _jaccard_steps(xp, _ops.take_along_axis(xp, f, order, -1))
    value = xp.sum(_ops.take_along_axis(xp, errors, order, -1) * steps, axis=-1)
    back = xp.argsort(order, axis=-1, stable=True)  # the inverse permutation
    return value, _ops.take_along_axis(xp, steps, back, -1)


def _groups(xp: Any, x: Any, per: str, lead: int) -> Any:
    """``x`` with the group's pixels on the last axis: ``(N, [C,] L)`` per sample, ``(1, [C,] N·L)``."""
    shape = tuple(x.shape)
    if per == "sample":
        return xp.reshape(x, (-1, *shape[1:lead], _size(shape[lead:])))
    if lead == 1:
        return xp.reshape(x, (1, -1))
    x = xp.permute_dims(x, (1, 0, *range(2, x.ndim)))  # (C, N, ...)
    return xp.reshape(x, (1, shape[1], -1))


def _ungroup(xp: Any, x: Any, like_shape: tuple, per: str, lead: int) -> Any:
    if per == "sample" or lead == 1:
        return xp.reshape(x, like_shape)
    c, n = like_shape[1], like_shape[0]
    x = xp.reshape(x, (c, n, *like_shape[2:]))
    return xp.permute_dims(x, (1, 0, *range(2, x.ndim)))


def _size(dims: tuple) -> int:
    out = 1
    for d in dims:
        if d is None:
            return -1
        out *= d
    return out


def _channels_first(xp: Any, x: Any, axis: int) -> Any:
    if axis == 1:
        return x
    return xp.permute_dims(x, (0, axis, *(i for i in range(1, x.ndim) if i != axis)))


def _channels_back(xp: Any, x: Any, axis: int) -> Any:
    if axis == 1:
        return x
    order = [0, axis, *(i for i in range(1, x.ndim) if i != axis)]
    inv = [order.index(i) for i in range(x.ndim)]
    return xp.permute_dims(x, tuple(inv))


# -- lovasz_softmax ------------------------------------------------------------------------------------

def _softmax_kernel(xp: Any, z: Any, y: Any, *, axis: int, activation: Any, per: str, classes: str,
                    ignore_index: Any) -> tuple[Any, Any, Any]:
    """``(per-group loss, ∂loss/∂p in p's layout, p)``."""
    p = _channels_first(xp, _probabilities(xp, z, axis, activation), axis)  # (N, C, ...)
    c = p.shape[1]
    ye = xp.expand_dims(y, axis=1)
    f = xp.astype(ye == _class_ids(xp, c, p.ndim, y.dtype), p.dtype)
    errors = xp.abs(f - p)
    valid = None if ignore_index is None else xp.astype(ye != ignore_index, p.dtype) + xp.zeros_like(p)
    keys = errors
    if valid is not None:
        errors = errors * valid
        keys = xp.where(valid > 0, errors, -xp.ones_like(errors))  # void pixels sort last
        f = f * valid
    ge, gk, gf = (_groups(xp, a, per, 2) for a in (errors, keys, f))  # (G, C, L)
    per_class, steps = _lovasz(xp, ge, gk, gf)  # (G, C), (G, C, L)
    if classes == "present":
        k = xp.astype(xp.sum(gf, axis=-1) > 0, p.dtype)
    else:
        k = xp.ones_like(per_class)
    count = xp.sum(k, axis=-1, keepdims=True)
    k = xp.where(count > 0, k / xp.where(count > 0, count, xp.ones_like(count)), xp.zeros_like(k))
    value = xp.sum(k * per_class, axis=-1)  # (G,)
    slope = xp.where(gf > 0, -xp.ones_like(gf), xp.ones_like(gf))  # d|f - p| / dp for p in [0, 1]
    dp = xp.expand_dims(k, axis=-1) * steps * slope
    dp = _ungroup(xp, dp, tuple(p.shape), per, 2)
    if valid is not None:
        dp = dp * valid
    return value if per == "sample" else xp.sum(value), dp, p


def _class_ids(xp: Any, c: int, ndim: int, dtype: Any) -> Any:
    return xp.reshape(xp.arange(c, dtype=dtype), (1, c, *([1] * (ndim - 2))))


def _softmax_fwd(xp: Any, z: Any, y: Any, **st: Any) -> tuple:
    value, dp, _ = _softmax_kernel(xp, z, y, **st)
    return value, (dp,)


def _softmax_partials(xp: Any, arrays: tuple, res: tuple, **st: Any) -> tuple:
    z, _ = arrays
    (dp,) = res

    def dz() -> Any:
        p = _probabilities(xp, z, st["axis"], st["activation"])
        return _activation_vjp(xp, p, _channels_back(xp, dp, st["axis"]), st["axis"], st["activation"])

    return dz, None


_SOFTMAX = Primitive("lovasz_softmax", _softmax_fwd, _softmax_partials, event_axis="trailing")


@loss
def lovasz_softmax(probs: Any, labels: Any, /, *, axis: int | None = None, from_logits: bool = False,
                   per: str = "batch", classes: str = "present", ignore_index: int | None = None,
                   sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Lovász-softmax loss: the Lovász extension of the Jaccard loss of each class, averaged over classes.

    .. math:: \ell = \frac{1}{|K|} \sum_{c \in K} \overline{\Delta J_c}\big(|f_c - p_c|\big)

    (the module's formula; ``K`` the classes present in the group's labels, or all of them).

    Parameters
    ----------
    probs : array
        Probabilities (or logits with ``from_logits``), real floating, ``(N, C, ...)`` or ``(N, ..., C)``.
    labels : array
        Integer class maps of ``probs.shape`` without ``axis``.
    axis : int, optional
        The class axis, required for images (``1``: torch layout; ``-1``: Keras); ``(N, C)`` inputs
        default to 1.
    from_logits : bool, default False
        Apply a softmax over the classes first (differentiated through).
    per : {"batch", "sample"}, default "batch"
        One ranking over every pixel of the batch (Berman's ``per_image=False``) or one per image
        (``per_image=True``; then the mean over images).
    classes : {"present", "all"}, default "present"
        Average over the classes that occur in the group's labels (Berman's default), or over all.
    ignore_index : int, optional
        Label of void pixels (no value, no gradient).
    sample_weight : array, optional
        ``(N,)`` per-image weight (``per="sample"`` only).
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        Over the per-image losses (``per="sample"``); ``per="batch"`` gives one number.

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        ``axis`` missing for images, labels of another shape or not integer, labels out of range
        (eagerly), probabilities outside ``[0, 1]`` (eagerly).

    Notes
    -----
    A group without any present class has loss 0.  The gradient follows the sorted order; tied errors
    share it in the sort's (stable) order.

    See Also
    --------
    segmentation_models_pytorch.losses.LovaszLoss : ``LovaszLoss("multiclass", per_image=b)(logits, y)``
        = ``lovasz_softmax(logits, y, axis=1, from_logits=True, per="sample" if b else "batch")``
        (it always applies the softmax and refuses float64).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p = np.array([[[0.9, 0.2, 0.6], [0.1, 0.8, 0.4]]])  # (1, 2, 3): one image, 2 classes, 3 pixels
    >>> round(float(xploss.lovasz_softmax(p, np.array([[0, 1, 1]]), axis=1)), 6)
    0.383333
    """
    fn = "lovasz_softmax"
    be = resolve(fn, {"probs": probs, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    axis = _class_axis(fn, xp, probs, axis)
    per = _checks.choice(fn, "per", per, PER)
    classes = _checks.choice(fn, "classes", classes, ("present", "all"))
    logits = _checks.flag(fn, "from_logits", from_logits)
    shape = _checks.shape_of(probs)
    sample = shape[:axis] + shape[axis + 1:]
    if not hasattr(labels, "dtype") or not xp.isdtype(labels.dtype, "integral"):
        raise _checks.error(fn, "labels", f"integer class maps of shape {_checks.shape_str(sample)}",
                            f"dtype {_checks.dtype_name(labels.dtype)}" if hasattr(labels, "dtype") else
                            type(labels).__name__, kind=_checks.XplossTypeError,
                            hint="one-hot targets: pass their argmax over the class axis")
    _checks.index_labels(fn, xp, labels, ("probs", probs), axis,
                         f"integer class maps of shape {_checks.shape_str(sample)} (probs.shape without axis {axis})")
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise _checks.error(fn, "ignore_index", "an int or None", repr(ignore_index))
    masked, labels, bad = _checks.labels_in_range(fn, be, labels, shape[axis], ignore_index)
    if not logits:
        bad = _checks.either(xp, bad, _checks.per_sample(xp, _checks.in_unit_interval(fn, "probs", be, probs), axis))
    sample_weight = image_weight(fn, xp, sample_weight, per, probs)
    _checks.reduction(fn, reduction)
    return apply(be, _SOFTMAX, (probs, labels), sample_weight=sample_weight,
                 invalid=_per_sample_invalid(xp, bad, "sample" if per == "sample" else "batch"),
                 reduction=reduction, axis=axis, activation="softmax" if logits else None, per=per, classes=classes,
                 ignore_index=ignore_index if masked else None)


# -- lovasz_hinge ---------------------------------------------------------------------------------------

def _hinge_kernel(xp: Any, x: Any, y: Any, *, per: str, ignore_index: Any) -> tuple[Any, Any]:
    f = xp.astype(y == 1, x.dtype) if ignore_index is not None else xp.astype(y, x.dtype)
    sign = 2.0 * f - 1.0
    errors = 1.0 - x * sign
    keys = errors
    valid = None
    if ignore_index is not None:
        valid = xp.astype(y != ignore_index, x.dtype)
        keys = xp.where(valid > 0, errors, xp.full_like(errors, -float("inf")))
        f = f * valid
    hinge = xp.maximum(errors, xp.zeros_like(errors))
    if valid is not None:
        hinge = hinge * valid
    ge, gk, gf = (_groups(xp, a, per, 1) for a in (hinge, keys, f))  # (G, L)
    value, steps = _lovasz(xp, ge, gk, gf)
    active = xp.astype(_groups(xp, errors, per, 1) > 0, x.dtype)  # relu: slope 0 at 0 (torch)
    dx = _ungroup(xp, steps * active * -_groups(xp, sign, per, 1), tuple(x.shape), per, 1)
    if valid is not None:
        dx = dx * valid
    return value if per == "sample" else xp.sum(value), dx


def _hinge_fwd(xp: Any, x: Any, y: Any, **st: Any) -> tuple:
    value, dx = _hinge_kernel(xp, x, y, **st)
    return value, (dx,)


def _hinge_partials(xp: Any, arrays: tuple, res: tuple, **st: Any) -> tuple:
    return res[0], None


_HINGE = Primitive("lovasz_hinge", _hinge_fwd, _hinge_partials, event_axis="trailing")


@loss
def lovasz_hinge(logits: Any, labels: Any, /, *, per: str = "sample", ignore_index: int | None = None,
                 sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Lovász hinge loss: the Lovász extension of the binary Jaccard loss of hinge errors on logits.

    .. math:: \ell = \overline{\Delta J}\big(\max(0,\, 1 - x\,(2y - 1))\big)

    Parameters
    ----------
    logits : array
        Real floating, ``(N, ...)``: one logit per pixel (foreground score).
    labels : array
        Binary ground truth (0 / 1; integer, bool or floating) of ``logits``' shape.
    per : {"sample", "batch"}, default "sample"
        One ranking per image (Berman's ``per_image=True``, then the mean over images) or over the
        whole batch (segmentation_models_pytorch's default ``per_image=False``).
    ignore_index : int, optional
        With integer labels: the label of void pixels (no value, no gradient).
    sample_weight : array, optional
        ``(N,)`` per-image weight (``per="sample"`` only).
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        Over the per-image losses (``per="sample"``); ``per="batch"`` gives one number.

    Returns
    -------
    array
        Scalar, or the per-image losses ``(N,)`` for ``reduction="none"`` with ``per="sample"``.

    Raises
    ------
    XplossError
        Labels of another shape, labels other than 0 and 1 (or ``ignore_index``; eagerly), a 0-d input.

    Notes
    -----
    The hinge ``max(0, e)`` has slope 0 at ``e = 0`` (torch's ``relu``).  An image without foreground
    has the loss of its largest error (``J`` jumps to 1 at the first pixel).

    See Also
    --------
    segmentation_models_pytorch.losses.LovaszLoss : ``LovaszLoss("binary", per_image=b)(logits, y)`` =
        ``lovasz_hinge(logits, y, per="sample" if b else "batch")`` (``"multilabel"`` flattens every class
        into one binary problem: pass the ``(N, C, ...)`` logits with ``per="batch"``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[2.0, -1.0, 0.5, -3.0]])
    >>> round(float(xploss.lovasz_hinge(x, np.array([[1, 1, 0, 0]]))), 6)
    1.25
    """
    fn = "lovasz_hinge"
    be = resolve(fn, {"logits": logits, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "logits", xp, logits)
    if logits.ndim < 1:
        raise _checks.error(fn, "logits", "an array of shape (N, ...)", "a 0-d array")
    if not hasattr(labels, "dtype"):
        raise _checks.error(fn, "labels", "an array", type(labels).__name__, kind=_checks.XplossTypeError)
    _checks.same_shape(fn, ("logits", logits), ("labels", labels))
    per = _checks.choice(fn, "per", per, PER)
    integral = xp.isdtype(labels.dtype, ("integral", "bool"))
    if ignore_index is not None:
        if not integral or xp.isdtype(labels.dtype, "bool"):
            raise _checks.error(fn, "ignore_index", "None unless the labels are integers", repr(ignore_index))
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
            raise _checks.error(fn, "ignore_index", "an int or None", repr(ignore_index))
        masked, labels, bad = _checks.labels_in_range(fn, be, labels, 2, ignore_index)
        ignore = ignore_index if masked else None
        if ignore is None:
            labels = xp.astype(labels, logits.dtype)
    else:
        if integral:
            labels = xp.astype(labels, logits.dtype)
        else:
            _checks.same_dtype(fn, ("labels", labels), ("logits", logits))
        ignore = None
        bad = _binary(fn, be, labels)
    sample_weight = image_weight(fn, xp, sample_weight, per, logits)
    _checks.reduction(fn, reduction)
    return apply(be, _HINGE, (logits, labels), sample_weight=sample_weight,
                 invalid=_per_sample_invalid(xp, bad, per), reduction=reduction, per=per, ignore_index=ignore)


def _binary(fn: str, be: Any, labels: Any) -> Any:
    """Labels of 0 and 1 only: eagerly an error, traced the mask of other values."""
    v = be.host(labels)
    if v is None:
        return be.xp.logical_and(labels != 0, labels != 1)
    bad = (v != 0) & (v != 1)
    if bad.any():
        raise _checks.error(fn, "labels", "binary labels (0 or 1)", f"a label {v[bad].flat[0]!r}")
    return None
