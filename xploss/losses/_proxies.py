"""Proxy and centre losses: ArcFace, CosFace, center loss (and the paper's centre update).

ArcFace and CosFace are a softmax cross-entropy over the scaled cosines of the (normalised) embeddings
``(N, D)`` with the (normalised) class weights ``(C, D)``, the target class' cosine replaced by a
margin-penalised logit.  Every sample's gradient reaches ``class_weights`` (and a learnable ``scale``),
so they are batch-coupled :class:`~xploss._define.Primitive`\\ s with a hand VJP: residuals are the
normalised rows, their norms and the per-row log-sum-exp (``O(N·D + C·D)``); the ``(N, C)`` cosine
matrix is recomputed in the VJP.  The cross-entropy and its fused gradient are the ones of
:func:`xploss.cross_entropy` (``_classification``), applied to those logits.

The center loss pulls each embedding to the centre of its class; its gradient scatters into the
centres' rows through a one-hot matmul (no data-dependent shapes).
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss, not_converted
from .._define import Primitive, apply
from .._namespace import resolve
from ._classification import _ce_index_fwd, _ce_index_grad
from ._metric import check_labels, normalize, normalize_vjp

__all__ = ["arcface", "cosface", "center", "center_update"]

_CE = {"axis": 1, "ignore_index": None, "label_smoothing": 0.0}


# -- margins on the target cosine ------------------------------------------------------------

def _arc_target(xp: Any, c: Any, *, kind: str, cos_m: float, sin_m: float, th: float, mm: float,
                easy_margin: bool) -> tuple[Any, Any]:
    """ArcFace's target logit ``φ(c)`` and its derivative ``dφ/dc`` (``kind="arc"``), or CosFace's ``c - m``.

    ``φ = cos(θ + m) = c cos m - sin θ sin m`` with ``sin θ = sqrt(max(1 - c², 0))``; where ``sin θ = 0``
    (``|c| >= 1``: exact alignment, or a float32 cosine rounded above 1) its derivative is taken as 0, so
    ``dφ/dc = cos m`` there (elsewhere ``cos m + sin m · c / sin θ``: finite, at most ~1e3·sin m in
    float32).  Beyond ``θ + m > π`` (``c <= cos(π - m)``) the logit is ``c - m sin m``; with
    ``easy_margin`` it is ``c`` for ``c <= 0``.
    """
    one = xp.ones_like(c)
    if kind == "cos":  # cos_m holds CosFace's additive margin
        return c - cos_m, one
    sin2 = 1.0 - c * c
    pos = sin2 > 0
    sin_t = xp.sqrt(xp.where(pos, sin2, xp.zeros_like(sin2)))
    phi = c * cos_m - sin_t * sin_m
    dphi = xp.where(pos, cos_m + sin_m * c / xp.where(pos, sin_t, one), cos_m * one)
    if easy_margin:
        use, alt = c > 0, c
    else:
        use, alt = c > th, c - mm
    return xp.where(use, phi, alt), xp.where(use, dphi, one)


def _logits(xp: Any, xh: Any, wh: Any, y: Any, s: Any, static: dict) -> tuple[Any, Any, Any]:
    """``(u, dφ/dc, z = s·u)``: the unscaled logits (cosines, the target replaced by ``φ``), the margin's
    derivative at the target cosine and the scaled logits."""
    cos = xh @ xp.matrix_transpose(wh)
    ct = xp.squeeze(_ops.take_along_axis(xp, cos, xp.expand_dims(y, axis=1), 1), axis=1)
    phi, dphi = _arc_target(xp, ct, **static)
    u = _ops.subtract_at(xp, cos, y, ct - phi, 1)
    return u, dphi, u * s


def _margin_fwd(xp: Any, x: Any, w: Any, y: Any, s: Any, **static: Any) -> tuple:
    xh, nx = normalize(xp, x)
    wh, nw = normalize(xp, w)
    _, _, z = _logits(xp, xh, wh, y, s, static)
    lossv, (lse,) = _ce_index_fwd(xp, z, y, None, **_CE)
    return lossv, (xh, nx, wh, nw, lse)


def _margin_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, **static: Any) -> tuple:
    _, _, y, s = arrays
    xh, nx, wh, nw, lse = res
    u, dphi, z = _logits(xp, xh, wh, y, s, static)
    # softmax(z) - onehot(y), then times g: the cotangent stays out of the fused (possibly in-place) kernel,
    # which torch.func.jacrev batches (z is not batched, g is)
    gz = _ce_index_grad(xp, (z, y, None), (lse,), 1.0, **_CE)[0]
    gz = gz * (xp.expand_dims(g, axis=1) if g.ndim == 1 else g)
    gu = gz * s
    gt = xp.squeeze(_ops.take_along_axis(xp, gu, xp.expand_dims(y, axis=1), 1), axis=1)
    gcos = _ops.subtract_at(xp, gu, y, gt * (1.0 - dphi), 1)  # the target's entry times dφ/dc
    return (lambda: normalize_vjp(xp, xh, nx, gcos @ wh),
            lambda: normalize_vjp(xp, wh, nw, xp.matrix_transpose(gcos) @ xh),
            None,
            lambda: xp.sum(gz * u))


_MARGIN = Primitive("margin_softmax", _margin_fwd, vjp=_margin_vjp)


def _margin_loss(fn: str, embeddings: Any, class_weights: Any, labels: Any, scale: Any, sample_weight: Any,
                 reduction: str, **static: Any) -> Any:
    be = resolve(fn, {"embeddings": embeddings, "class_weights": class_weights, "labels": labels,
                      "scale": None if isinstance(scale, (int, float)) else scale, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "embeddings", xp, embeddings)
    shape = _checks.shape_of(embeddings)
    if len(shape) != 2:
        raise _checks.error(fn, "embeddings", "an array of shape (N, D)", f"shape {_shape(shape)}")
    _checks.floating(fn, "class_weights", xp, class_weights)
    wshape = _checks.shape_of(class_weights)
    expected = f"an array of shape (C, {'D' if shape[1] is None else shape[1]}) (one row per class, D of `embeddings`)"
    if len(wshape) != 2:
        raise _checks.error(fn, "class_weights", expected, f"shape {_shape(wshape)}")
    _checks.dims_match(fn, "class_weights", expected, class_weights, embeddings, [(1, 1)])
    _checks.same_dtype(fn, ("class_weights", class_weights), ("embeddings", embeddings))
    num_classes = wshape[0]
    if num_classes == 0:
        raise _checks.error(fn, "class_weights", "at least one class (row)", f"shape {_shape(wshape)}")
    y = _labels(fn, be, labels, embeddings)
    _, y, bad = _checks.labels_in_range(fn, be, y, num_classes, None)
    s, bad_s = _checks.learnable(fn, "scale", be, scale, embeddings)
    sample_weight = _checks.weight(fn, xp, sample_weight, embeddings, -1)
    _checks.reduction(fn, reduction)
    invalid = _checks.either(xp, bad, bad_s)  # a traced scale <= 0 (0-d): every sample NaN
    return apply(be, _MARGIN, (embeddings, class_weights, y, s), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction, **static)


_shape = _checks.shape_str


def _labels(fn: str, be: Any, labels: Any, embeddings: Any) -> Any:
    """Integer labels of shape ``(N,)`` for ``(N, D)`` embeddings (metadata checks only)."""
    return check_labels(fn, be.xp, labels, ("embeddings", embeddings))


@loss
def arcface(embeddings: Any, class_weights: Any, labels: Any, /, *, scale: Any = 30.0, margin: float = 0.5,
            easy_margin: bool = False, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""ArcFace: additive angular margin softmax (Deng et al. 2019).

    .. math::
        \cos\theta_{ik} = \hat x_i \cdot \hat w_k, \qquad
        \varphi_i = \cos(\theta_{iy_i} + m) = \cos\theta_{iy_i} \cos m - \sin\theta_{iy_i} \sin m,

        \ell_i = -\log \frac{e^{s\,\varphi_i}}{e^{s\,\varphi_i} + \sum_{k \ne y_i} e^{s \cos\theta_{ik}}}

    with ``x̂``, ``ŵ`` the L2-normalised embeddings and class weights.  Where ``θ + m > π``
    (``cos θ <= cos(π - m)``) the target logit is ``cos θ - m sin m`` instead, keeping it decreasing in
    ``θ`` (insightface's ``th``/``mm``); with ``easy_margin`` it is ``cos θ`` wherever ``cos θ <= 0``.

    Parameters
    ----------
    embeddings : array
        Real floating, shape ``(N, D)``; normalised inside.
    class_weights : array
        The class weights (proxies), shape ``(C, D)`` (the layout of ``nn.Linear(D, C).weight``), the
        dtype of ``embeddings``; normalised inside and differentiable.
    labels : array
        Integer class indices of shape ``(N,)`` in ``[0, C)``.
    scale : float or 0-d array, default 30.0
        The logit scale ``s > 0``; a 0-d (or ``(1,)``) floating array (a ``torch.nn.Parameter``,
        ``tf.Variable`` or JAX array) is learnable: the loss gives its gradient.
    margin : float, default 0.5
        The additive angular margin ``m`` in radians, in ``[0, π)``.
    easy_margin : bool, default False
        Apply the margin only where ``cos θ > 0`` (insightface's ``easy_margin``).
    sample_weight : array, optional
        Per-sample weight of shape ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N``.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-sample losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``embeddings`` not ``(N, D)``, ``class_weights`` not ``(C, D)`` or of another dtype, labels not
        integer of shape ``(N,)``, labels outside ``[0, C)`` (eagerly; traced: NaN for those samples),
        ``scale <= 0``, ``margin`` outside ``[0, π)``.

    Notes
    -----
    ``sin θ = sqrt(max(1 - cos²θ, 0))``: a float32 cosine that rounds above 1 (an embedding aligned with
    its class weight) gives ``sin θ = 0``, never NaN.  Where ``sin θ = 0`` its derivative is taken as 0,
    so ``dφ/d cos θ = cos m`` at ``|cos θ| = 1``; the gradient is finite everywhere (close to
    ``|cos θ| = 1`` it is the exact ``cos m + sin m cos θ / sin θ``, at most ~1e3 in float32).  The
    branch switch is strict: ``cos θ > cos(π - m)`` uses ``φ`` (PML uses ``θ <= π - m``: the two differ
    only at equality).  A zero embedding or class-weight row normalises to 0 (cosine 0) with torch's
    ``F.normalize`` subgradient ``g / 1e-12`` (finite).

    See Also
    --------
    pytorch_metric_learning.losses.ArcFaceLoss : ``ArcFaceLoss(C, D, margin=degrees(m), scale=s)`` with
        ``loss.W.data = class_weights.T`` (its ``(D, C)`` layout) equals ``arcface(..., margin=m,
        scale=s)`` with ``reduction="mean"``, values and gradients, for ``|cos θ| < 1`` (PML's gradient is
        infinite at ``|cos θ| = 1``).
    cosface : the additive cosine margin.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> w = np.array([[1.0, 1.0], [-1.0, 1.0]])
    >>> round(float(xploss.arcface(x, w, np.array([0, 1]), scale=4.0, margin=0.2)), 6)
    0.527903
    """
    fn = "arcface"
    m = _checks.number(fn, "margin", margin, low=0.0, high=math.pi, high_open=True)
    if not isinstance(easy_margin, bool):
        raise _checks.error(fn, "easy_margin", "a bool", repr(easy_margin), kind=_checks.XplossTypeError)
    return _margin_loss(fn, embeddings, class_weights, labels, scale, sample_weight, reduction, kind="arc",
                        cos_m=math.cos(m), sin_m=math.sin(m), th=math.cos(math.pi - m),
                        mm=math.sin(math.pi - m) * m, easy_margin=easy_margin)


@loss
def cosface(embeddings: Any, class_weights: Any, labels: Any, /, *, scale: Any = 30.0, margin: float = 0.35,
            sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""CosFace: additive cosine margin softmax (large margin cosine loss, Wang et al. 2018).

    .. math::
        \ell_i = -\log \frac{e^{s(\cos\theta_{iy_i} - m)}}{e^{s(\cos\theta_{iy_i} - m)}
                 + \sum_{k \ne y_i} e^{s \cos\theta_{ik}}},
        \qquad \cos\theta_{ik} = \hat x_i \cdot \hat w_k

    Parameters
    ----------
    embeddings : array
        Real floating, shape ``(N, D)``; normalised inside.
    class_weights : array
        The class weights (proxies), shape ``(C, D)``, the dtype of ``embeddings``; normalised inside
        and differentiable.
    labels : array
        Integer class indices of shape ``(N,)`` in ``[0, C)``.
    scale : float or 0-d array, default 30.0
        The logit scale ``s > 0``; a 0-d floating array is learnable (see :func:`arcface`).
    margin : float, default 0.35
        The additive cosine margin ``m >= 0``.
    sample_weight : array, optional
        Per-sample weight of shape ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N``.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-sample losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`arcface` (``margin < 0``).

    Notes
    -----
    Linear in the cosine: smooth everywhere, the gradient finite at ``|cos θ| = 1``.  A zero embedding or
    class-weight row has cosine 0 and torch's ``F.normalize`` subgradient (finite).

    See Also
    --------
    pytorch_metric_learning.losses.CosFaceLoss : ``CosFaceLoss(C, D, margin=m, scale=s)`` with
        ``loss.W.data = class_weights.T`` equals ``cosface(..., margin=m, scale=s)`` with
        ``reduction="mean"`` (PML's default scale is 64, insightface's margin 0.4).
    arcface : the additive angular margin.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> w = np.array([[1.0, 1.0], [-1.0, 1.0]])
    >>> round(float(xploss.cosface(x, w, np.array([0, 1]), scale=4.0, margin=0.2)), 6)
    0.589423
    """
    fn = "cosface"
    m = _checks.number(fn, "margin", margin, low=0.0)
    return _margin_loss(fn, embeddings, class_weights, labels, scale, sample_weight, reduction, kind="cos",
                        cos_m=m, sin_m=0.0, th=0.0, mm=0.0, easy_margin=False)


# -- center loss -------------------------------------------------------------------------------

def _onehot(xp: Any, y: Any, num: int, dtype: Any) -> Any:
    """``(N, C)`` one-hot of integer labels (all-zero rows for labels outside ``[0, C)``)."""
    return xp.astype(xp.expand_dims(y, axis=-1) == xp.arange(num, dtype=y.dtype), dtype)


def _center_fwd(xp: Any, x: Any, c: Any, y: Any) -> tuple:
    r = x - xp.take(c, y, axis=0)
    return 0.5 * xp.sum(r * r, axis=-1), (r,)


def _center_vjp(xp: Any, arrays: tuple, res: tuple, g: Any) -> tuple:
    _, c, y = arrays
    (r,) = res
    gr = xp.expand_dims(xp.zeros_like(r[:, 0]) + g, axis=-1) * r
    return gr, lambda: -(xp.matrix_transpose(_onehot(xp, y, c.shape[0], r.dtype)) @ gr), None


_CENTER = Primitive("center", _center_fwd, vjp=_center_vjp)


def _center_args(fn: str, embeddings: Any, centers: Any, labels: Any, extra: dict) -> tuple:
    be = resolve(fn, {"embeddings": embeddings, "centers": centers, "labels": labels, **extra})
    xp = be.xp
    _checks.floating(fn, "embeddings", xp, embeddings)
    shape = _checks.shape_of(embeddings)
    if len(shape) != 2:
        raise _checks.error(fn, "embeddings", "an array of shape (N, D)", f"shape {_shape(shape)}")
    _checks.floating(fn, "centers", xp, centers)
    cshape = _checks.shape_of(centers)
    expected = f"an array of shape (C, {'D' if shape[1] is None else shape[1]}) (one row per class, D of `embeddings`)"
    if len(cshape) != 2:
        raise _checks.error(fn, "centers", expected, f"shape {_shape(cshape)}")
    _checks.dims_match(fn, "centers", expected, centers, embeddings, [(1, 1)])
    _checks.same_dtype(fn, ("centers", centers), ("embeddings", embeddings))
    if cshape[0] == 0:
        raise _checks.error(fn, "centers", "at least one class (row)", f"shape {_shape(cshape)}")
    y = _labels(fn, be, labels, embeddings)
    _, safe, bad = _checks.labels_in_range(fn, be, y, cshape[0], None)
    return be, y, safe, bad


@loss
def center(embeddings: Any, centers: Any, labels: Any, /, *, sample_weight: Any = None,
           reduction: str = "mean") -> Any:
    r"""Center loss (Wen et al. 2016): half the squared distance of each embedding to its class centre.

    .. math::
        \ell_i = \tfrac12 \lVert x_i - c_{y_i} \rVert_2^2

    Parameters
    ----------
    embeddings : array
        Real floating, shape ``(N, D)``.
    centers : array
        The class centres, shape ``(C, D)``, the dtype of ``embeddings``; differentiable (learnable
        centres), or updated outside backprop by :func:`center_update` (the paper's rule).
    labels : array
        Integer class indices of shape ``(N,)`` in ``[0, C)``.
    sample_weight : array, optional
        Per-sample weight of shape ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"sum"`` is the paper's ``L_C = ½ Σ_i ||x_i - c_{y_i}||²``; ``"mean"`` divides it by ``N``.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-sample losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``embeddings`` not ``(N, D)``, ``centers`` not ``(C, D)`` or of another dtype, labels not integer
        of shape ``(N,)``, labels outside ``[0, C)`` (eagerly; traced: NaN for those samples).

    Notes
    -----
    The gradient is ``g_i (x_i - c_{y_i})`` for the embeddings and ``-Σ_{i: y_i = j} g_i (x_i - c_j)`` for
    centre ``j`` (0 for a class absent from the batch); smooth everywhere (0 at ``x_i = c_{y_i}``).
    The direct difference is used, never the Gram expansion ``|x|² + |c|² - 2 x·c`` (KaiyangZhou's
    clamp at 1e-12 adds ``(C - 1)·1e-12`` per sample).

    Other implementations as mappings: EncodeTS' ``tf.nn.l2_loss(x - c_y)`` is ``reduction="sum"``;
    KaiyangZhou's PyTorch ``CenterLoss()(x, labels)`` (learnable centres, ``Σ ||x - c||² / N``) is
    ``2 * center(x, centers, labels)``; facenet's ``reduce_mean(square(x - c_y))`` (a mean over ``N·D``)
    is ``center(...) * 2 / D``.

    See Also
    --------
    center_update : the paper's centre update ``c_j - α Σ (c_j - x_i) / (1 + n_j)``; with it, ``center``
        (``"sum"``) is Wen et al.'s ``L_C``, value and gradient.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]])
    >>> c = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> round(float(xploss.center(x, c, np.array([0, 1, 1]), reduction="sum")), 6)
    5.5
    """
    fn = "center"
    be, _, y, bad = _center_args(fn, embeddings, centers, labels, {"sample_weight": sample_weight})
    sample_weight = _checks.weight(fn, be.xp, sample_weight, embeddings, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _CENTER, (embeddings, centers, y), sample_weight=sample_weight, invalid=bad,
                 reduction=reduction)


@not_converted
def center_update(embeddings: Any, centers: Any, labels: Any, /, *, alpha: float = 0.5) -> Any:
    r"""The centre update of Wen et al. (2016), eq. 4: a new ``(C, D)`` array of centres (not a loss).

    .. math::
        c_j \leftarrow c_j - \alpha \,
            \frac{\sum_{i:\, y_i = j} (c_j - x_i)}{1 + n_j}, \qquad n_j = \#\{i : y_i = j\}

    Parameters
    ----------
    embeddings : array
        Real floating, shape ``(N, D)`` (detach them first: the update is outside backprop).
    centers : array
        The current centres, shape ``(C, D)``, the dtype of ``embeddings``.
    labels : array
        Integer class indices of shape ``(N,)`` in ``[0, C)``.
    alpha : float, default 0.5
        The centre learning rate ``α`` in ``[0, 1]``.

    Returns
    -------
    array
        The updated centres, shape ``(C, D)``; a class absent from the batch keeps its centre.

    Raises
    ------
    XplossError
        As :func:`center`; ``alpha`` outside ``[0, 1]``.  Labels out of range raise eagerly; traced
        (``jax.jit``, ``tf.function``), such a sample moves no centre.

    Notes
    -----
    Written with a one-hot matmul (no scatter, no data-dependent shapes): it traces under
    ``jax.jit``, ``tf.function(jit_compile=True)`` and ``torch.compile``.  Plain array code: framework
    autodiff differentiates it if asked to (the paper does not).

    facenet's rule ``c ← c - (1 - alfa)(c - x)`` (per sample, without ``1 + n_j``) is a different update.

    See Also
    --------
    center : the loss.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]])
    >>> c = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> xploss.center_update(x, c, np.array([0, 1, 1]), alpha=0.5).tolist()
    [[0.25, 0.5], [1.1666666666666667, 0.8333333333333334]]
    """
    fn = "center_update"
    be, y, _, _ = _center_args(fn, embeddings, centers, labels, {})  # raw labels: one out of range matches no row
    a = _checks.number(fn, "alpha", alpha, low=0.0, high=1.0)
    xp = be.xp
    onehot = _onehot(xp, y, centers.shape[0], centers.dtype)  # (N, C)
    count = xp.expand_dims(xp.sum(onehot, axis=0), axis=-1)  # (C, 1)
    pulled = xp.matrix_transpose(onehot) @ embeddings  # Σ_{i: y_i = j} x_i
    return centers - a * (count * centers - pulled) / (1.0 + count)
