"""Pair and ranking losses on embeddings and scores.

Every loss here is per-sample (a row's loss depends on its own row only), so each primitive gives
``partials`` (JAX: custom_jvp, every order of differentiation).  Conventions shared by the family:

* Euclidean distances of :func:`contrastive` are exact (``sqrt(Σ(x1 - x2)²)``, no eps), with the
  subgradient 0 at ``d = 0``; those of :func:`triplet_margin_with_distance` are torch's
  ``pairwise_distance`` (``||x - y + 1e-6||``, never 0);
* cosines follow the library they reproduce: torch ``cosine_embedding_loss`` puts ``1e-12`` inside the
  product of the squared norms, torch ``cosine_similarity`` clamps each norm at ``1e-8``, Keras at
  ``1e-7``, optax clamps the squared norm at ``epsilon`` (xploss adds a floor of ``1e-12`` on the norm);
* hinges follow torch's ``clamp_min`` (the full gradient at exactly 0) where torch is the reference and
  PML's ``relu`` (0 at exactly 0) for the contrastive hinges.
"""

from __future__ import annotations

from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from ._embedding import _distance, _distance_grad

__all__ = [
    "contrastive", "contrastive_from_distances", "cosine_embedding", "margin_ranking", "hinge_embedding",
    "cosine_similarity", "cosine_distance", "triplet_margin_with_distance", "bpr",
]

TORCH_COS_EPS = 9.999999960041972e-13  # ATen cosine_embedding_loss: EPSILON = 1e-12 as a float32 constant
TORCH_SIM_EPS = 1e-8  # torch.nn.functional.cosine_similarity's eps (each norm clamped at it)
KERAS_EPS = 1e-7  # keras.backend.epsilon(): keras.ops.normalize's floor of the norm (Keras 3.15)
NORM_FLOOR = 1e-12  # xploss' floor of the norm in cosine_distance (torch F.normalize's eps)
PAIRWISE_EPS = 1e-6  # torch.nn.functional.pairwise_distance's eps


# -- input checks --------------------------------------------------------------------------

def _labels(fn: str, xp: Any, labels: Any, x: tuple[str, Any], rows: bool) -> Any:
    """Labels cast to ``x``'s dtype: of ``x``'s shape without its last axis (``rows``) or broadcastable
    to ``x``'s shape with its number of dimensions (elementwise losses, as torch)."""
    name, ref = x
    if not hasattr(labels, "dtype"):
        raise _checks.error(fn, "labels", "an array", f"{type(labels).__name__} {labels!r}",
                            kind=_checks.XplossTypeError)
    shape, full = _checks.shape_of(labels), _checks.shape_of(ref)
    if rows:
        expected = f"labels of shape {_shape(full[:-1])} (the shape of `{name}` without its last axis)"
        if len(shape) != len(full) - 1:
            raise _checks.error(fn, "labels", expected, f"shape {_shape(shape)}")
        _checks.dims_match(fn, "labels", expected, labels, ref, [(i, i) for i in range(len(shape))])
    else:
        expected = f"labels of the shape of `{name}` {_shape(full)} (or broadcastable to it, same ndim)"
        if len(shape) != len(full):
            raise _checks.error(fn, "labels", expected, f"shape {_shape(shape)}")
        _checks.dims_match(fn, "labels", expected, labels, ref, [(i, i) for i in range(len(shape))], broadcast=True)
    if xp.isdtype(labels.dtype, "real floating"):
        _checks.same_dtype(fn, ("labels", labels), (name, ref))
        return labels
    if xp.isdtype(labels.dtype, ("integral", "bool")):
        return xp.astype(labels, ref.dtype)
    raise _checks.error(fn, "labels", "a real floating, integer or bool array",
                        f"dtype {_checks.dtype_name(labels.dtype)}", kind=_checks.XplossTypeError)


_shape = _checks.shape_str


def _pair(fn: str, xp: Any, a: tuple[str, Any], b: tuple[str, Any], rows: bool) -> None:
    """Two floating arrays of one shape and dtype (``rows``: at least 1-d, the feature axis last)."""
    _checks.floating(fn, a[0], xp, a[1])
    if rows and a[1].ndim < 1:
        raise _checks.error(fn, a[0], "an array of shape (N, D) or (D,)", "a 0-d array")
    _checks.floating(fn, b[0], xp, b[1])
    _checks.same_shape(fn, a, b)
    _checks.same_dtype(fn, b, a)


# -- unit vectors with a floor on the norm -------------------------------------------------------

def _unit(xp: Any, x: Any, axis: int, floor: float) -> tuple[Any, Any]:
    """``(x / max(||x||, floor), ||x||)`` along ``axis`` (the norm kept with its axis)."""
    n = xp.sqrt(xp.sum(x * x, axis=axis, keepdims=True))
    return x / xp.maximum(n, floor), n


def _unit_vjp(xp: Any, u: Any, n: Any, g: Any, axis: int, floor: float, torch_clamp: bool = False) -> Any:
    """Cotangent of ``x`` given ``g``, that of ``u = x / max(||x||, floor)``.

    ``(g - u (u·g)) / ||x||`` where the norm is free; ``g / floor`` where it is clamped (the clamp has a
    zero slope), except with ``torch_clamp``: torch's ``cosine_similarity`` clamps the norm in place
    without recording it, so the norm's own slope ``x / ||x||`` still flows below the floor
    (``(g - u (u·g) m / ||x||) / m``, ``m = max(||x||, floor)``; ``g / floor`` at ``x = 0``).
    """
    m = xp.maximum(n, floor)
    ug = xp.sum(u * g, axis=axis, keepdims=True)
    if torch_clamp:
        pos = n > 0
        ratio = xp.where(pos, m / xp.where(pos, n, xp.ones_like(n)), xp.zeros_like(n))
        return (g - u * ug * ratio) / m
    radial = xp.where(n > floor, u * ug, xp.zeros_like(g))
    return (g - radial) / m


# -- contrastive (Hadsell et al. / TF Addons, and PML's unsquared hinges) --------------------------

def _hinges(xp: Any, d: Any, margin: float, pos_margin: float) -> tuple[Any, Any]:
    pos, neg = d - pos_margin, margin - d
    zero = xp.zeros_like(d)
    return xp.maximum(pos, zero), xp.maximum(neg, zero)


def _contrastive_value(xp: Any, d: Any, y: Any, margin: float, pos_margin: float, squared: bool) -> Any:
    pos, neg = _hinges(xp, d, margin, pos_margin)
    if squared:
        pos, neg = pos * pos, neg * neg
    return y * pos + (1.0 - y) * neg


def _contrastive_slopes(xp: Any, d: Any, y: Any, margin: float, pos_margin: float, squared: bool) -> tuple:
    """``(d loss / d d, d loss / d y)``: relu's slope is 0 at exactly 0 (PML's ``relu``)."""
    pos, neg = _hinges(xp, d, margin, pos_margin)
    if squared:
        return y * (2.0 * pos) - (1.0 - y) * (2.0 * neg), lambda: pos * pos - neg * neg
    one, zero = xp.ones_like(d), xp.zeros_like(d)
    dpos, dneg = xp.where(pos > 0, one, zero), xp.where(neg > 0, one, zero)
    return y * dpos - (1.0 - y) * dneg, lambda: pos - neg


def _row_distance(xp: Any, x1: Any, x2: Any, distance: str) -> tuple[Any, Any]:
    """``(d, u)``: the exact Euclidean distance (or its square) of the rows, ``u = x1 - x2``."""
    u = x1 - x2
    s = xp.sum(u * u, axis=-1)
    return (xp.sqrt(s) if distance == "euclidean" else s), u


def _contrastive_fwd(xp: Any, x1: Any, x2: Any, y: Any, *, margin: float, pos_margin: float, squared: bool,
                     distance: str) -> tuple:
    d, _ = _row_distance(xp, x1, x2, distance)
    return _contrastive_value(xp, d, y, margin, pos_margin, squared), ()


def _contrastive_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float, pos_margin: float, squared: bool,
                          distance: str) -> tuple:
    x1, x2, y = arrays
    d, u = _row_distance(xp, x1, x2, distance)
    g_d, g_y = _contrastive_slopes(xp, d, y, margin, pos_margin, squared)
    if distance == "euclidean":  # d d / d u = u / d, the subgradient 0 at d = 0
        pos = d > 0
        scale = xp.where(pos, g_d / xp.where(pos, d, xp.ones_like(d)), xp.zeros_like(d))
    else:
        scale = 2.0 * g_d
    grad = xp.expand_dims(scale, axis=-1) * u
    return grad, lambda: -grad, g_y


_CONTRASTIVE = Primitive("contrastive", _contrastive_fwd, _contrastive_partials, event_axis=-1)


def _distances_fwd(xp: Any, d: Any, y: Any, *, margin: float, pos_margin: float, squared: bool) -> tuple:
    return _contrastive_value(xp, d, y, margin, pos_margin, squared), ()


def _distances_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float, pos_margin: float,
                        squared: bool) -> tuple:
    d, y = arrays
    return _contrastive_slopes(xp, d, y, margin, pos_margin, squared)


_CONTRASTIVE_D = Primitive("contrastive_from_distances", _distances_fwd, _distances_partials)


def _contrastive_options(fn: str, margin: Any, pos_margin: Any, squared: Any) -> dict:
    margin = _checks.number(fn, "margin", margin, low=0.0)
    pos_margin = _checks.number(fn, "pos_margin", pos_margin, low=0.0)
    _checks.require(isinstance(squared, bool), fn, "squared", "a bool", repr(squared))
    return {"margin": margin, "pos_margin": pos_margin, "squared": squared}




@loss
def contrastive(x1: Any, x2: Any, labels: Any, /, *, margin: float = 1.0, pos_margin: float = 0.0,
                squared: bool = True, distance: str = "euclidean", sample_weight: Any = None,
                reduction: str = "mean") -> Any:
    r"""Contrastive loss of pairs of embeddings (Hadsell et al. 2006; TF Addons, pytorch-metric-learning).

    .. math::
        \ell_i = y_i\, [d_i - m_+]_+^{k} + (1 - y_i)\, [m - d_i]_+^{k},
        \qquad d_i = \lVert x_{1,i} - x_{2,i} \rVert_2, \quad k = 2 \text{ (squared) or } 1

    Parameters
    ----------
    x1, x2 : array
        The two embeddings of each pair, shape ``(N, D)`` (or ``(D,)``); the distance runs over the
        last axis.
    labels : array
        ``1`` for a similar pair, ``0`` for a dissimilar one (integers, bools, or floats in [0, 1] for
        soft labels, which are differentiated), shape ``(N,)``.
    margin : float, default 1.0
        Margin ``m >= 0`` that dissimilar pairs must exceed (PML's ``neg_margin``).
    pos_margin : float, default 0.0
        Margin ``m_+ >= 0`` below which similar pairs cost nothing (PML's ``pos_margin``; with the
        default 0 the squared form is Hadsell's ``y d²``).
    squared : bool, default True
        Square the hinges (Hadsell, TF Addons ``contrastive_loss``); ``False``: PML's unsquared hinges.
    distance : {"euclidean", "squared_euclidean"}, default "euclidean"
        ``d`` itself or ``d²`` (PML's ``LpDistance(power=2)``) inside the hinges.
    sample_weight : array, optional
        Per-pair weight ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N`` (TF Addons' ``SUM_OVER_BATCH_SIZE``).

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-pair losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, integer embeddings, labels of another shape or outside [0, 1],
        ``margin < 0``, ``pos_margin < 0``, an unknown ``distance``.

    Notes
    -----
    The Euclidean distance is exact (no eps) with the subgradient 0 at ``d = 0``: a similar pair of
    coincident embeddings has loss 0 and gradient 0; a dissimilar one has loss ``m^k`` and gradient 0
    (no direction to push along).  The hinges' slopes are 0 at exactly 0 (PML's ``relu``; the squared
    hinges are smooth there).

    pytorch-metric-learning's ``ContrastiveLoss`` reduces the positive and the negative pairs
    separately and **adds** the two means, which no single mean over the pairs gives:

    * its ``reducer=MeanReducer()``: ``reduction="sum"`` with ``sample_weight = y / n_pos + (1 - y) / n_neg``
      (``n_pos``, ``n_neg`` the numbers of positive and negative pairs);
    * its default ``AvgNonZeroReducer``: the same with ``n_pos``, ``n_neg`` the numbers of pairs whose loss
      is > 0, read from ``reduction="none"`` (constants: PML's counts carry no gradient either).

    See Also
    --------
    contrastive_from_distances : the same loss of precomputed distances (TF Addons' signature).
    tfa.losses.contrastive_loss : ``contrastive_loss(labels, norm(x1 - x2, axis=1), margin)`` with the
        defaults (``squared=True``, ``pos_margin=0``), its Keras class with ``"mean"``.
    pytorch_metric_learning.losses.ContrastiveLoss : ``ContrastiveLoss(pos_margin, neg_margin=margin,
        distance=LpDistance(normalize_embeddings=False))`` on the pairs ``(i, N + i)`` of
        ``cat([x1, x2])`` with ``squared=False`` and the sample weights above.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x1, x2 = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[0.3, 0.4], [0.3, 0.4]])
    >>> xploss.contrastive(x1, x2, np.array([1, 0]), reduction="none").round(6).tolist()
    [0.25, 0.25]
    """
    fn = "contrastive"
    be = resolve(fn, {"x1": x1, "x2": x2, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _pair(fn, xp, ("x1", x1), ("x2", x2), rows=True)
    labels = _labels(fn, xp, labels, ("x1", x1), rows=True)
    invalid = _checks.in_unit_interval(fn, "labels", be, labels)
    opts = _contrastive_options(fn, margin, pos_margin, squared)
    _checks.require(distance in ("euclidean", "squared_euclidean"), fn, "distance",
                    "'euclidean' or 'squared_euclidean'", repr(distance))
    sample_weight = _checks.weight(fn, xp, sample_weight, x1, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _CONTRASTIVE, (x1, x2, labels), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction, distance=distance, **opts)


@loss
def contrastive_from_distances(distances: Any, labels: Any, /, *, margin: float = 1.0, pos_margin: float = 0.0,
                               squared: bool = True, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Contrastive loss of precomputed pair distances (TF Addons' ``contrastive_loss(y_true, y_pred)``).

    .. math::
        \ell_i = y_i\, [d_i - m_+]_+^{k} + (1 - y_i)\, [m - d_i]_+^{k}, \qquad k = 2 \text{ (squared) or } 1

    Parameters
    ----------
    distances : array
        Non-negative distances ``d`` of the pairs, any shape (e.g. ``(N,)``).
    labels : array
        ``1`` similar, ``0`` dissimilar (integers, bools or floats in [0, 1]), the shape of ``distances``.
    margin : float, default 1.0
        Margin ``m >= 0`` of the dissimilar pairs.
    pos_margin : float, default 0.0
        Margin ``m_+ >= 0`` of the similar pairs.
    squared : bool, default True
        Square the hinges (TF Addons); ``False``: PML's unsquared hinges.
    sample_weight : array, optional
        Per-pair weight aligned on the leading axes of ``distances``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As everywhere; ``"mean"`` is TF Addons' ``SUM_OVER_BATCH_SIZE``.

    Returns
    -------
    array
        Scalar, or the per-pair losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched shapes, integer distances, a negative distance, labels outside [0, 1], negative margins.

    Notes
    -----
    The distances are differentiated as given: ``2 y d - 2 (1 - y) [m - d]_+`` (squared).  A negative
    distance is refused (TF Addons' ``y d²`` and xploss' ``y [d - m_+]_+²`` would differ there);
    traced, it gives NaN.  To differentiate through the distance of two embeddings, with its
    subgradient at ``d = 0``, use :func:`contrastive`.

    See Also
    --------
    contrastive : the same loss of two embeddings.
    tfa.losses.contrastive_loss : ``contrastive_loss(labels, distances, margin)`` (its docstring's
        distances of ``a = [[1, 2], [3, 4], [5, 6]]``, ``b = [[5, 9], [3, 6], [1, 8]]`` are
        ``[8.06, 2, 4.473]``), ``reduction="none"``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> d = np.sqrt(np.array([65.0, 4.0, 20.0]))  # TF Addons' docstring distances
    >>> xploss.contrastive_from_distances(d, np.array([1, 1, 0]), margin=5.0, reduction="none").round(6).tolist()
    [65.0, 4.0, 0.27864]
    """
    fn = "contrastive_from_distances"
    be = resolve(fn, {"distances": distances, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "distances", xp, distances)
    labels = _checks.target_like(fn, xp, ("distances", distances), ("labels", labels))
    invalid = _checks.either(xp, _checks.in_unit_interval(fn, "labels", be, labels),
                             _checks.nonnegative_values(fn, "distances", be, distances, "distances"))
    opts = _contrastive_options(fn, margin, pos_margin, squared)
    sample_weight = _checks.weight(fn, xp, sample_weight, distances)
    _checks.reduction(fn, reduction)
    return apply(be, _CONTRASTIVE_D, (distances, labels), sample_weight=sample_weight, invalid=invalid,
                 reduction=reduction, **opts)


# -- torch's pair losses: CosineEmbeddingLoss, MarginRankingLoss, HingeEmbeddingLoss ---------------

def _cos_embedding(xp: Any, x1: Any, x2: Any) -> tuple[Any, Any, Any, Any]:
    """ATen's cosine: ``Σ x1 x2 / sqrt((|x1|² + 1e-12)(|x2|² + 1e-12))``; also ``(den, s1, s2)``."""
    s1 = _ops.vecdot(xp, x1, x1) + TORCH_COS_EPS
    s2 = _ops.vecdot(xp, x2, x2) + TORCH_COS_EPS
    den = xp.sqrt(s1) * xp.sqrt(s2)
    return _ops.vecdot(xp, x1, x2) / den, den, s1, s2


def _cos_embedding_fwd(xp: Any, x1: Any, x2: Any, y: Any, *, margin: float) -> tuple:
    cos, den, s1, s2 = _cos_embedding(xp, x1, x2)
    zero = xp.zeros_like(cos)
    neg = xp.maximum(cos - margin, zero)
    return xp.where(y == 1, 1.0 - cos, xp.where(y == -1, neg, zero)), (cos, den, s1, s2)  # per-row residuals


def _cos_slope(xp: Any, y: Any, cos: Any, margin: float) -> Any:
    """d loss / d cos: -1 for y = 1; 1 where ``cos - m >= 0`` for y = -1 (torch's clamp_min: the full slope at
    cos = m); 0 otherwise."""
    one, zero = xp.ones_like(cos), xp.zeros_like(cos)
    return xp.where(y == 1, -one, xp.where(xp.logical_and(y == -1, cos - margin >= 0), one, zero))


def _cos_embedding_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float) -> tuple:
    x1, x2, y = arrays
    cos, den, s1, s2 = res
    c, dn = xp.expand_dims(cos, axis=-1), xp.expand_dims(den, axis=-1)
    k = xp.expand_dims(_cos_slope(xp, y, cos, margin), axis=-1)
    return (lambda: k * (x2 / dn - c * x1 / xp.expand_dims(s1, axis=-1)),
            lambda: k * (x1 / dn - c * x2 / xp.expand_dims(s2, axis=-1)), None)


def _cos_embedding_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float) -> tuple:
    """``g k (x2 / den - cos x1 / s1)`` with the per-row factors formed first: three full-size operations per
    cotangent (the partials' five, then the cotangent's product)."""
    x1, x2, y = arrays
    cos, den, s1, s2 = res
    gk = g * _cos_slope(xp, y, cos, margin)
    a = xp.expand_dims(gk / den, axis=-1)
    b = gk * cos
    return (lambda: a * x2 - xp.expand_dims(b / s1, axis=-1) * x1,
            lambda: a * x1 - xp.expand_dims(b / s2, axis=-1) * x2, None)


_COS_EMBEDDING = Primitive("cosine_embedding", _cos_embedding_fwd, _cos_embedding_partials,
                           vjp=_cos_embedding_vjp, event_axis=-1)


@loss
def cosine_embedding(x1: Any, x2: Any, labels: Any, /, *, margin: float = 0.0, sample_weight: Any = None,
                     reduction: str = "mean") -> Any:
    r"""Cosine embedding loss (torch ``CosineEmbeddingLoss``).

    .. math::
        \ell_i = \begin{cases} 1 - \cos_i & y_i = 1 \\ \max(0, \cos_i - m) & y_i = -1 \\ 0 & \text{otherwise}
        \end{cases}, \qquad
        \cos_i = \frac{x_{1,i} \cdot x_{2,i}}{\sqrt{(\lVert x_{1,i} \rVert^2 + \epsilon)
        (\lVert x_{2,i} \rVert^2 + \epsilon)}}, \quad \epsilon = 10^{-12}

    Parameters
    ----------
    x1, x2 : array
        Embeddings of shape ``(N, D)`` (or ``(D,)``); the cosine runs over the last axis.
    labels : array
        ``1`` (similar) or ``-1`` (dissimilar), shape ``(N,)`` (or ``()``); any other value gives a
        zero loss, as in torch.  Not differentiated.
    margin : float, default 0.0
        Margin ``m`` of the dissimilar pairs (torch suggests values in [0, 0.5]).
    sample_weight : array, optional
        Per-pair weight ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N``, as torch.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-pair losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, integer embeddings, labels of another shape, a non-finite margin.

    Notes
    -----
    torch's ``1e-12`` (a float32 constant in ATen: ``9.99999996e-13``, used as such in float64 too)
    sits inside each squared norm: a zero vector has ``cos = 0`` (loss 1 for
    ``y = 1``) and a finite gradient ``∓ x_2 / sqrt(1e-12 (|x_2|² + 1e-12))``.  The hinge passes the
    full gradient at ``cos = m`` (torch's ``clamp_min``).

    See Also
    --------
    torch.nn.functional.cosine_embedding_loss : ``F.cosine_embedding_loss(x1, x2, labels, margin=margin)``
        (equal in value and gradient).
    cosine_similarity, cosine_distance : the Keras and optax cosines (other epsilons).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x1, x2 = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> xploss.cosine_embedding(x1, x2, np.array([1, -1]), reduction="none").round(6).tolist()
    [1.0, 1.0]
    """
    fn = "cosine_embedding"
    be = resolve(fn, {"x1": x1, "x2": x2, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _pair(fn, xp, ("x1", x1), ("x2", x2), rows=True)
    labels = _labels(fn, xp, labels, ("x1", x1), rows=True)
    margin = _checks.number(fn, "margin", margin)
    sample_weight = _checks.weight(fn, xp, sample_weight, x1, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _COS_EMBEDDING, (x1, x2, labels), sample_weight=sample_weight, reduction=reduction,
                 margin=margin)


def _ranking_fwd(xp: Any, x1: Any, x2: Any, y: Any, *, margin: float) -> tuple:
    z = margin - y * (x1 - x2)
    return xp.maximum(z, xp.zeros_like(z)), (z,)  # the hinge's argument, kept for its slope


def _ranking_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float) -> tuple:
    x1, x2, y = arrays
    active = xp.astype(res[0] >= 0, x1.dtype)  # torch's clamp_min: the full slope at 0
    return -y * active, lambda: y * active, lambda: -(x1 - x2) * active


def _ranking_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float) -> tuple:
    """``∓ g y [z >= 0]`` formed once for both scores (the partials' products, then the cotangent's, twice)."""
    x1, x2, y = arrays
    ga = g * xp.astype(res[0] >= 0, x1.dtype)
    gy = ga * y
    return -gy, lambda: gy, lambda: -(x1 - x2) * ga


_RANKING = Primitive("margin_ranking", _ranking_fwd, _ranking_partials, vjp=_ranking_vjp)


@loss
def margin_ranking(x1: Any, x2: Any, labels: Any, /, *, margin: float = 0.0, sample_weight: Any = None,
                   reduction: str = "mean") -> Any:
    r"""Margin ranking loss (torch ``MarginRankingLoss``): ``x1`` should rank above ``x2`` where ``y = 1``.

    .. math:: \ell = \max\big(0,\; -y\,(x_1 - x_2) + m\big)

    Parameters
    ----------
    x1, x2 : array
        Scores of one shape (any shape), elementwise.
    labels : array
        ``1`` or ``-1`` (any real value multiplies, as in torch), of the shape of ``x1`` or broadcastable
        to it with the same number of dimensions.  Floating labels are differentiated (``-(x1 - x2)``
        where the hinge is active), as torch's.
    margin : float, default 0.0
        Margin ``m``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``x1``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of elements, as torch.

    Returns
    -------
    array
        Scalar, or the elementwise losses (the shape of ``x1``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes of ``x1`` and ``x2``, labels of another number of dimensions or a
        size that does not broadcast, a non-finite margin.

    Notes
    -----
    The hinge passes the full gradient at exactly 0 (torch's ``clamp_min``).  With ``x2 = 0`` and
    ``margin=1`` it is the binary hinge ``max(0, 1 - y x1)``.

    See Also
    --------
    torch.nn.functional.margin_ranking_loss : ``F.margin_ranking_loss(x1, x2, labels, margin=margin)``
        (equal in value and gradient).
    hinge : Keras' binary hinge (``margin_ranking(pred, 0, labels, margin=1)`` for ±1 labels).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x1, x2 = np.array([0.2, 2.0]), np.array([1.0, 0.5])
    >>> xploss.margin_ranking(x1, x2, np.array([1.0, -1.0]), margin=0.1, reduction="none").round(6).tolist()
    [0.9, 1.6]
    """
    fn = "margin_ranking"
    be = resolve(fn, {"x1": x1, "x2": x2, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _pair(fn, xp, ("x1", x1), ("x2", x2), rows=False)
    labels = _labels(fn, xp, labels, ("x1", x1), rows=False)
    margin = _checks.number(fn, "margin", margin)
    sample_weight = _checks.weight(fn, xp, sample_weight, x1)
    _checks.reduction(fn, reduction)
    return apply(be, _RANKING, (x1, x2, labels), sample_weight=sample_weight, reduction=reduction, margin=margin)


def _hinge_embedding_fwd(xp: Any, x: Any, y: Any, *, margin: float) -> tuple:
    zero = xp.zeros_like(x + y)
    hinge = xp.maximum(margin - x, xp.zeros_like(x))
    return xp.where(y != -1, x + zero, zero) + xp.where(y != 1, hinge + zero, zero), ()


def _hinge_embedding_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float) -> tuple:
    x, y = arrays
    one = xp.ones_like(x + y)
    zero = xp.zeros_like(one)
    active = xp.logical_and(y != 1, margin - x >= 0)  # torch's clamp_min: the full slope at 0
    return xp.where(y != -1, one, zero) - xp.where(active, one, zero), None


_HINGE_EMBEDDING = Primitive("hinge_embedding", _hinge_embedding_fwd, _hinge_embedding_partials)


@loss
def hinge_embedding(x: Any, labels: Any, /, *, margin: float = 1.0, sample_weight: Any = None,
                    reduction: str = "mean") -> Any:
    r"""Hinge embedding loss (torch ``HingeEmbeddingLoss``), e.g. of pair distances ``x``.

    .. math::
        \ell = [y \ne -1]\; x + [y \ne 1]\; \max(0,\, m - x)

    Parameters
    ----------
    x : array
        Inputs (typically distances), any shape, elementwise.
    labels : array
        ``1`` or ``-1``, of the shape of ``x`` or broadcastable to it with the same number of
        dimensions.  Any other value gets both terms, as in torch (``y = 0``: ``x + max(0, m - x)``).
        Not differentiated.
    margin : float, default 1.0
        Margin ``m``.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``x``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by the number of elements, as torch.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        An integer ``x``, labels of another number of dimensions or a size that does not broadcast, a
        non-finite margin.

    Notes
    -----
    The hinge passes the full gradient at ``x = m`` (torch's ``clamp_min``).

    See Also
    --------
    torch.nn.functional.hinge_embedding_loss : ``F.hinge_embedding_loss(x, labels, margin=margin)``
        (equal in value and gradient).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> xploss.hinge_embedding(np.array([0.3, 0.3]), np.array([1, -1]), reduction="none").round(6).tolist()
    [0.3, 0.7]
    """
    fn = "hinge_embedding"
    be = resolve(fn, {"x": x, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "x", xp, x)
    labels = _labels(fn, xp, labels, ("x", x), rows=False)
    margin = _checks.number(fn, "margin", margin)
    sample_weight = _checks.weight(fn, xp, sample_weight, x)
    _checks.reduction(fn, reduction)
    return apply(be, _HINGE_EMBEDDING, (x, labels), sample_weight=sample_weight, reduction=reduction, margin=margin)


# -- cosines of predictions and targets: Keras CosineSimilarity, optax cosine_distance -------------

def _cos_fwd(xp: Any, p: Any, t: Any, *, axis: int, floor: float, offset: float, sign: float) -> tuple:
    ph, _ = _unit(xp, p, axis, floor)
    th, _ = _unit(xp, t, axis, floor)
    return offset + sign * xp.sum(ph * th, axis=axis), ()


def _cos_partials(xp: Any, arrays: tuple, res: tuple, *, axis: int, floor: float, offset: float,
                  sign: float) -> tuple:
    p, t = arrays
    ph, n_p = _unit(xp, p, axis, floor)
    th, n_t = _unit(xp, t, axis, floor)
    return (lambda: _unit_vjp(xp, ph, n_p, sign * th, axis, floor),
            lambda: _unit_vjp(xp, th, n_t, sign * ph, axis, floor))


_COS = Primitive("cosine", _cos_fwd, _cos_partials, event_axis="axis")


def _cosine(fn: str, pred: Any, target: Any, axis: Any, sample_weight: Any, reduction: str, floor: float,
            offset: float, sign: float) -> Any:
    be = resolve(fn, {"pred": pred, "target": target, "sample_weight": sample_weight})
    xp = be.xp
    axis, _, _ = _checks.class_axis(fn, xp, "pred", pred, axis)
    target = _checks.target_like(fn, xp, ("pred", pred), ("target", target))
    sample_weight = _checks.weight(fn, xp, sample_weight, pred, axis)
    _checks.reduction(fn, reduction)
    return apply(be, _COS, (pred, target), sample_weight=sample_weight, reduction=reduction, axis=axis,
                 floor=floor, offset=offset, sign=sign)


@loss
def cosine_similarity(pred: Any, target: Any, /, *, axis: int = -1, sample_weight: Any = None,
                      reduction: str = "mean") -> Any:
    r"""Negative cosine similarity (Keras ``CosineSimilarity``).

    .. math::
        \ell = -\,\hat p \cdot \hat t, \qquad \hat x = \frac{x}{\max(\lVert x \rVert_2, \epsilon)},
        \quad \epsilon = 10^{-7}

    Parameters
    ----------
    pred, target : array
        Vectors along ``axis``, one shape (an integer target is cast to ``pred``'s dtype).
    axis : int, default -1
        The vector axis.
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` is Keras' ``sum_over_batch_size``.

    Returns
    -------
    array
        Scalar, or per-sample losses (the shape without ``axis``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, an integer ``pred``, an axis out of range, an empty ``axis``.

    Notes
    -----
    The norm is floored at ``1e-7`` (``keras.backend.epsilon()``, in float64 too), as Keras 3.15's
    ``x · min(rsqrt(Σx²), 1/ε)``: a zero vector gives loss 0 and the finite gradient
    ``-t̂ / 1e-7``, which Keras gives on TensorFlow (Keras 3.15 on JAX and torch gives NaN there).

    See Also
    --------
    keras.losses.CosineSimilarity : ``CosineSimilarity(axis=axis)(target, pred)`` (equal in value and
        gradient).
    cosine_distance : optax' ``1 - cos`` (``cosine_similarity = cosine_distance - 1`` away from tiny norms).
    torch.nn.functional.cosine_similarity : ``-F.cosine_similarity(pred, target, dim=axis).mean()``
        away from norms below 1e-7.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> y_true, y_pred = np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> xploss.cosine_similarity(y_pred, y_true, reduction="none").round(6).tolist()
    [0.0, -1.0]
    """
    return _cosine("cosine_similarity", pred, target, axis, sample_weight, reduction, KERAS_EPS, 0.0, -1.0)


@loss
def cosine_distance(pred: Any, target: Any, /, *, axis: int = -1, epsilon: float = 0.0, sample_weight: Any = None,
                    reduction: str = "mean") -> Any:
    r"""Cosine distance ``1 - cos`` (optax ``cosine_distance``).

    .. math::
        \ell = 1 - \hat p \cdot \hat t, \qquad
        \hat x = \frac{x}{\max\big(\sqrt{\max(\lVert x \rVert_2^2, \epsilon)},\; 10^{-12}\big)}

    Parameters
    ----------
    pred, target : array
        Vectors along ``axis``, one shape (an integer target is cast to ``pred``'s dtype).
    axis : int, default -1
        The vector axis.
    epsilon : float, default 0.0
        Floor ``>= 0`` of the *squared* norm, as optax' ``epsilon`` (its docstring calls it a minimum
        norm; its code clamps ``Σx²``).
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of the per-sample loss.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As everywhere (optax returns the unreduced losses: ``reduction="none"``).

    Returns
    -------
    array
        Scalar, or per-sample losses (the shape without ``axis``) for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, an integer ``pred``, an axis out of range, an empty ``axis``,
        ``epsilon < 0``.

    Notes
    -----
    Difference from optax: the norm is also floored at ``1e-12`` (torch ``F.normalize``'s eps), so a zero
    vector gives ``cos = 0`` (loss 1) and the finite gradient ``-t̂ / 1e-12``, where optax' default
    ``epsilon=0`` gives NaN.  Every vector of norm ``>= 1e-12`` gets optax' numbers exactly, its
    ``epsilon`` included.

    See Also
    --------
    optax.losses.cosine_distance : ``cosine_distance(pred, target, epsilon=epsilon, axis=axis)`` with
        ``reduction="none"`` (equal in value and gradient for norms >= 1e-12).
    cosine_similarity : Keras' ``-cos``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> p, t = np.array([[1.0, 0.0], [0.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> xploss.cosine_distance(p, t, reduction="none").round(6).tolist()
    [0.292893, 1.0]
    """
    fn = "cosine_distance"
    epsilon = _checks.number(fn, "epsilon", epsilon, low=0.0)
    floor = max(epsilon ** 0.5, NORM_FLOOR)
    return _cosine(fn, pred, target, axis, sample_weight, reduction, floor, 1.0, -1.0)


# -- torch's TripletMarginWithDistanceLoss -----------------------------------------------------

DISTANCES = ("euclidean", "squared_euclidean", "cosine")


def _torch_distance(xp: Any, x: Any, y: Any, kind: str) -> tuple[Any, Any]:
    """The distance ``(N,)`` of ``kind`` between the rows; ``aux`` for :func:`_torch_distance_grads`."""
    if kind == "cosine":
        xh, nx = _unit(xp, x, -1, TORCH_SIM_EPS)
        yh, ny = _unit(xp, y, -1, TORCH_SIM_EPS)
        return 1.0 - xp.sum(xh * yh, axis=-1), (xh, nx, yh, ny)
    d, u = _distance(xp, x, y, 2.0, PAIRWISE_EPS)
    if kind == "squared_euclidean":
        return xp.sum(u * u, axis=-1), (d, u)
    return d, (d, u)


def _torch_distance_grads(xp: Any, aux: tuple, kind: str) -> tuple[Any, Any]:
    """``(d dist / d x, d dist / d y)``, shaped like the rows."""
    if kind == "cosine":
        xh, nx, yh, ny = aux
        return (-_unit_vjp(xp, xh, nx, yh, -1, TORCH_SIM_EPS, torch_clamp=True),
                -_unit_vjp(xp, yh, ny, xh, -1, TORCH_SIM_EPS, torch_clamp=True))
    d, u = aux
    g = 2.0 * u if kind == "squared_euclidean" else _distance_grad(xp, u, d, 2.0)
    return g, -g


def _swap_share(xp: Any, d_an: Any, d_pn: Any) -> Any:
    """The share of ``min(d_an, d_pn)``'s gradient that goes to ``d_pn`` (torch.minimum: half at a tie)."""
    one = xp.ones_like(d_an)
    return xp.where(d_pn < d_an, one, xp.where(d_pn == d_an, 0.5 * one, xp.zeros_like(d_an)))


def _twd_fwd(xp: Any, a: Any, p: Any, n: Any, *, distance: str, margin: float, swap: bool) -> tuple:
    d_ap, _ = _torch_distance(xp, a, p, distance)
    d_an, _ = _torch_distance(xp, a, n, distance)
    if swap:
        d_an = xp.minimum(d_an, _torch_distance(xp, p, n, distance)[0])
    z = margin + d_ap - d_an
    return xp.maximum(z, xp.zeros_like(z)), ()


def _twd_partials(xp: Any, arrays: tuple, res: tuple, *, distance: str, margin: float, swap: bool) -> tuple:
    a, p, n = arrays
    d_ap, aux_ap = _torch_distance(xp, a, p, distance)
    d_an, aux_an = _torch_distance(xp, a, n, distance)
    g_ap_a, g_ap_p = _torch_distance_grads(xp, aux_ap, distance)
    g_an_a, g_an_n = _torch_distance_grads(xp, aux_an, distance)
    if swap:
        d_pn, aux_pn = _torch_distance(xp, p, n, distance)
        share = _swap_share(xp, d_an, d_pn)
        d_neg = xp.minimum(d_an, d_pn)
    else:
        d_neg = d_an
    # torch's clamp_min: the full gradient at the hinge
    active = xp.expand_dims(xp.astype(margin + d_ap - d_neg >= 0, a.dtype), axis=-1)
    if not swap:
        return active * (g_ap_a - g_an_a), active * g_ap_p, -active * g_an_n
    g_pn_p, g_pn_n = _torch_distance_grads(xp, aux_pn, distance)
    use = xp.expand_dims(share, axis=-1)
    keep = 1.0 - use
    return (active * (g_ap_a - keep * g_an_a), active * (g_ap_p - use * g_pn_p),
            -active * (keep * g_an_n + use * g_pn_n))


_TWD = Primitive("triplet_margin_with_distance", _twd_fwd, _twd_partials, event_axis=-1)


def _hinge_fwd(xp: Any, d_ap: Any, d_an: Any, *rest: Any, margin: float) -> tuple:
    d_neg = xp.minimum(d_an, rest[0]) if rest else d_an
    z = margin + d_ap - d_neg
    return xp.maximum(z, xp.zeros_like(z)), ()


def _hinge_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float) -> tuple:
    d_ap, d_an, *rest = arrays
    d_neg = xp.minimum(d_an, rest[0]) if rest else d_an
    active = xp.astype(margin + d_ap - d_neg >= 0, d_ap.dtype)
    if not rest:
        return active, -active
    use = _swap_share(xp, d_an, rest[0])
    return active, -active * (1.0 - use), -active * use


_TRIPLET_HINGE = Primitive("triplet_margin_with_distance", _hinge_fwd, _hinge_partials)


@loss
def triplet_margin_with_distance(anchor: Any, positive: Any, negative: Any, /, *, distance: Any = "euclidean",
                                 margin: float = 1.0, swap: bool = False, sample_weight: Any = None,
                                 reduction: str = "mean") -> Any:
    r"""Triplet margin loss with a chosen distance (torch ``TripletMarginWithDistanceLoss``).

    .. math::
        \ell_i = \max\big(m + d(a_i, p_i) - d^-_i,\; 0\big), \qquad
        d^-_i = d(a_i, n_i) \text{ or, with swap, } \min\big(d(a_i, n_i), d(p_i, n_i)\big)

    Parameters
    ----------
    anchor, positive, negative : array
        Embeddings of one shape ``(N, D)`` (or ``(D,)``), the distance over the last axis.
    distance : {"euclidean", "squared_euclidean", "cosine"}, callable or None, default "euclidean"
        ``"euclidean"`` (or None, torch's ``distance_function=None``): torch's ``pairwise_distance``,
        ``||x - y + 1e-6||_2``;
        ``"squared_euclidean"``: its square; ``"cosine"``: ``1 - F.cosine_similarity(x, y, eps=1e-8)``
        (each norm clamped at 1e-8).  A callable ``d(x, y)`` returns the ``(N,)`` distances of the
        rows, computed with the arrays' own library and differentiated by its autodiff; xploss then
        applies only the hinge (its hand derivative) to those distances.
    margin : float, default 1.0
        Margin ``m >= 0`` (torch requires ``m > 0``).
    swap : bool, default False
        Use ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al.).
    sample_weight : array, optional
        Per-triplet weight ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N``, as torch.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-triplet losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, integer embeddings, ``margin < 0``, an unknown distance name, a
        callable whose result is not a floating array of shape ``(N,)`` and the embeddings' dtype.

    Notes
    -----
    The hinge passes the full gradient at 0 (torch's ``clamp_min``); at a tie ``d(a, n) = d(p, n)``
    with ``swap``, each distance gets half of the gradient (``torch.minimum``).  torch's pairwise
    distance is never 0 (``1e-6`` is added to the difference), so its gradient is finite; the cosine
    distance of a zero vector is 1 with the finite gradient ``-ŷ / 1e-8`` (torch's).

    A callable distance on NumPy needs HIPS autograd for gradients (``xploss.value_and_grad`` then
    differentiates it); on array_api_strict the callable's values work but gradients do not reach
    the embeddings (``value_and_grad`` raises).

    See Also
    --------
    torch.nn.functional.triplet_margin_with_distance_loss : ``F.triplet_margin_with_distance_loss(anchor,
        positive, negative, distance_function=..., margin=margin, swap=swap)`` with ``None`` (the default,
        ``"euclidean"``), ``lambda x, y: 1 - F.cosine_similarity(x, y)`` (``"cosine"``) or
        ``lambda x, y: F.pairwise_distance(x, y) ** 2`` (``"squared_euclidean"``); equal in value and
        gradient.
    triplet_margin : torch's ``TripletMarginLoss`` (any ``p`` and ``eps``).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> a, p, n = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[1.0, 0.1]])
    >>> round(float(xploss.triplet_margin_with_distance(a, p, n, distance="cosine", margin=0.5)), 6)
    1.495037
    """
    fn = "triplet_margin_with_distance"
    be = resolve(fn, {"anchor": anchor, "positive": positive, "negative": negative, "sample_weight": sample_weight})
    xp = be.xp
    _pair(fn, xp, ("anchor", anchor), ("positive", positive), rows=True)
    _pair(fn, xp, ("anchor", anchor), ("negative", negative), rows=True)
    margin = _checks.number(fn, "margin", margin, low=0.0)
    _checks.require(isinstance(swap, bool), fn, "swap", "a bool", repr(swap))
    sample_weight = _checks.weight(fn, xp, sample_weight, anchor, -1)
    _checks.reduction(fn, reduction)
    if distance is None:  # torch's distance_function=None: pairwise_distance
        distance = "euclidean"
    if isinstance(distance, str):
        _checks.require(distance in DISTANCES, fn, "distance", "one of " + ", ".join(map(repr, DISTANCES))
                        + " or a callable d(x, y) -> (N,)", repr(distance))
        return apply(be, _TWD, (anchor, positive, negative), sample_weight=sample_weight, reduction=reduction,
                     distance=distance, margin=margin, swap=swap)
    _checks.require(callable(distance), fn, "distance", "one of " + ", ".join(map(repr, DISTANCES))
                    + " or a callable d(x, y) -> (N,)", repr(distance))
    pairs = [(anchor, positive), (anchor, negative)] + ([(positive, negative)] if swap else [])
    ds = tuple(_callable_distance(fn, xp, distance, x, y, anchor) for x, y in pairs)
    return apply(be, _TRIPLET_HINGE, ds, sample_weight=sample_weight, reduction=reduction, margin=margin)


def _callable_distance(fn: str, xp: Any, distance: Any, x: Any, y: Any, anchor: Any) -> Any:
    """``distance(x, y)``, checked: a floating array of the rows' shape ``anchor.shape[:-1]``."""
    d = distance(x, y)
    expected = f"a callable returning a floating array of shape {_shape(_checks.shape_of(anchor)[:-1])}"
    if not hasattr(d, "dtype") or not hasattr(d, "shape"):
        raise _checks.error(fn, "distance", expected, f"a callable returning {type(d).__name__}",
                            kind=_checks.XplossTypeError)
    if not xp.isdtype(d.dtype, "real floating") or d.dtype != anchor.dtype:
        raise _checks.error(fn, "distance", expected + f" of dtype {_checks.dtype_name(anchor.dtype)}",
                            f"a callable returning dtype {_checks.dtype_name(d.dtype)}", kind=_checks.XplossTypeError)
    shape = _checks.shape_of(d)
    if len(shape) != anchor.ndim - 1:
        raise _checks.error(fn, "distance", expected, f"a callable returning shape {_shape(shape)}")
    _checks.dims_match(fn, "distance", expected, d, anchor, [(i, i) for i in range(len(shape))])
    return d


# -- BPR (Rendle et al.) ----------------------------------------------------------------------

def _bpr_fwd(xp: Any, pos: Any, neg: Any) -> tuple:
    z = neg - pos
    return _ops.sigmoid_bce(xp, z, xp.zeros_like(z)), ()


def _bpr_partials(xp: Any, arrays: tuple, res: tuple) -> tuple:
    pos, neg = arrays
    s = _ops.sigmoid(xp, neg - pos)
    return -s, s


_BPR = Primitive("bpr", _bpr_fwd, _bpr_partials)


@loss
def bpr(pos_scores: Any, neg_scores: Any, /, *, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Bayesian personalised ranking loss (Rendle et al. 2009).

    .. math:: \ell = -\log \sigma(s^+ - s^-) = \operatorname{softplus}(s^- - s^+)

    Parameters
    ----------
    pos_scores, neg_scores : array
        Scores of the observed and the sampled item of each triple ``(u, i, j)``, one shape (any).
    sample_weight : array, optional
        Per-sample weight aligned on the leading axes of ``pos_scores``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As everywhere.

    Returns
    -------
    array
        Scalar, or the elementwise losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes or dtypes, integer scores.

    Notes
    -----
    Evaluated as a stable softplus: finite for score gaps of ±1e4 (``-log σ`` overflows to ``inf`` at
    -100 in float32), gradient ``∓σ(s⁻ - s⁺)``.  RecBole's ``BPRLoss`` computes
    ``-log(1e-10 + σ(s⁺ - s⁻))``: capped at 23.03 with a vanishing gradient for badly ordered pairs;
    that cap is not reproduced (the two differ by about ``1e-10 · (1 + exp(s⁻ - s⁺))``).

    See Also
    --------
    recbole.model.loss.BPRLoss : differs by its ``gamma=1e-10`` cap (above).
    sigmoid_binary_cross_entropy : ``bpr(pos, neg) = sigmoid_binary_cross_entropy(pos - neg, 1)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> xploss.bpr(np.array([2.0, -1e4]), np.array([1.0, 0.0]), reduction="none").round(6).tolist()
    [0.313262, 10000.0]
    """
    fn = "bpr"
    be = resolve(fn, {"pos_scores": pos_scores, "neg_scores": neg_scores, "sample_weight": sample_weight})
    xp = be.xp
    _pair(fn, xp, ("pos_scores", pos_scores), ("neg_scores", neg_scores), rows=False)
    sample_weight = _checks.weight(fn, xp, sample_weight, pos_scores)
    _checks.reduction(fn, reduction)
    return apply(be, _BPR, (pos_scores, neg_scores), sample_weight=sample_weight, reduction=reduction)
