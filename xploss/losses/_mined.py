"""Losses mined from (embeddings, labels): batch-hard, semi-hard and batch-all triplets, N-pairs, lifted
structure, multi-similarity.

Every loss here is batch-coupled: a value kernel over the ``(N, N)`` distance (or similarity) matrix of
the batch and a hand VJP that maps the matrix cotangent back to the embeddings through
:mod:`xploss.losses._metric`.  Mining is a mask computed from that matrix and the labels: it is
piecewise constant, so no gradient flows through the selection; the gradient flows to the selected
entries (as TF Addons' masked minimum / maximum and pytorch-metric-learning's miners under ``no_grad``).

No data-dependent shapes: masks, ``where``, masked max / min with guards for empty sets, and for the
semi-hard and batch-all losses one stable sort of each anchor's row, by value then role (``O(N²)`` memory,
``O(N² log N)`` time, never the ``O(N³)`` triplet tensor).  Ties are broken towards the lowest index (``argmax`` /
``argmin`` give the first occurrence, the sorts are stable).
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from . import _metric

__all__ = [
    "batch_hard_triplet", "batch_semi_hard_triplet", "batch_all_triplet", "lifted_structure", "multi_similarity",
    "n_pairs",
]

DISTANCES = ("euclidean", "squared_euclidean", "cosine")
SIMILARITIES = ("dot", "cosine")


# -- shared blocks ----------------------------------------------------------------------------

def _sqrt(xp: Any, sq: Any) -> Any:
    """``sqrt(sq)`` with 0 and a zero derivative at ``sq = 0`` (also under the framework's own autodiff)."""
    pos = sq > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, sq, xp.ones_like(sq))), xp.zeros_like(sq))


def _dist(xp: Any, x: Any, distance: str, normalize: bool) -> tuple[Any, tuple]:
    """The ``(N, N)`` distance matrix of the batch and what :func:`_dist_vjp` needs."""
    if distance == "cosine":
        s, res = _metric.cosine_matrix(xp, x, x)
        return 1.0 - s, res
    xn, n = _metric.normalize(xp, x) if normalize else (x, None)
    sq = _metric.sq_distances(xp, xn)
    if distance == "squared_euclidean":
        return sq, (xn, n, sq, None)
    d = _sqrt(xp, sq)
    return d, (xn, n, sq, d)


def _dist_vjp(xp: Any, distance: str, normalize: bool, res: tuple, G: Any) -> Any:
    """Cotangent of the embeddings given ``G``, that of the distance matrix."""
    if distance == "cosine":
        da, db = _metric.cosine_matrix_vjp(xp, res, -G)
        return da + db
    xn, n, sq, d = res
    g_sq = G if d is None else _metric.distances_vjp(xp, d, G)
    dx = _metric.sq_distances_vjp(xp, xn, None, sq, g_sq)[0]
    return _metric.normalize_vjp(xp, xn, n, dx) if normalize else dx


def _fill(xp: Any, like: Any, value: float) -> Any:
    return xp.full_like(like, value)


def _masked_max(xp: Any, d: Any, mask: Any) -> tuple[Any, Any, Any]:
    """Row-wise ``(max over mask (0 for an empty row), index of its first occurrence, non-empty)``."""
    m = xp.where(mask, d, _fill(xp, d, -math.inf))
    has = xp.any(mask, axis=1)
    value = xp.where(has, xp.max(m, axis=1), xp.zeros_like(d[:, 0]))
    return value, xp.argmax(m, axis=1), has


def _masked_min(xp: Any, d: Any, mask: Any) -> tuple[Any, Any, Any]:
    m = xp.where(mask, d, _fill(xp, d, math.inf))
    has = xp.any(mask, axis=1)
    value = xp.where(has, xp.min(m, axis=1), xp.zeros_like(d[:, 0]))
    return value, xp.argmin(m, axis=1), has


def _columns(xp: Any, like: Any) -> Any:
    """The column index of every entry of the ``(N, M)`` matrix ``like``, as floats (no static size needed)."""
    return xp.cumulative_sum(xp.ones_like(like), axis=1) - 1.0


def _onehot(xp: Any, idx: Any, like: Any) -> Any:
    """``(N, M)`` one-hot rows of ``idx`` (N,), in ``like``'s dtype."""
    return _float(xp, _columns(xp, like) == xp.astype(idx, like.dtype)[:, None], like)


def _float(xp: Any, mask: Any, like: Any) -> Any:
    return xp.astype(mask, like.dtype)


def _hinge(xp: Any, z: Any, soft: bool) -> Any:
    if soft:  # softplus, stable for |z| large
        return xp.maximum(z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))
    return xp.maximum(z, xp.zeros_like(z))


def _hinge_grad(xp: Any, z: Any, soft: bool) -> Any:
    """Derivative of :func:`_hinge`; the hinge's subgradient at ``z = 0`` is 0 (``torch.relu``)."""
    if soft:
        return _ops.sigmoid(xp, z)
    return _float(xp, z > 0, z)


def _joint_order(xp: Any, v: Any, first: Any, valid: Any) -> tuple[Any, Any]:
    """Per row, the stable ascending order of the ``valid`` entries of ``v`` (``(N, M)``, the others last),
    ties broken by role: the ``first`` entries (keys or queries) before the others at equal values.  Each
    column holds one role (a positive or a negative of the anchor), so one ``(N, M)`` row holds both: a
    stable sort by role, then a stable sort by value.  Returns ``(perm, inv)``."""
    vals = xp.where(valid, v, _fill(xp, v, math.inf))
    role = xp.where(first, xp.zeros_like(v), xp.ones_like(v))
    by_role = xp.argsort(role, axis=1, stable=True)
    perm = _ops.take_along_axis(xp, by_role, xp.argsort(_ops.take_along_axis(xp, vals, by_role, 1), axis=1,
                                                         stable=True), 1)
    return perm, xp.argsort(perm, axis=1, stable=True)


def _prefix(xp: Any, perm: Any, inv: Any, w: Any) -> Any:
    """Inclusive prefix sums of ``w`` along the joint order, at each entry."""
    s = _ops.take_along_axis(xp, w, perm, 1)
    return _ops.take_along_axis(xp, xp.cumulative_sum(s, axis=1), inv, 1)


# -- batch-hard triplet -----------------------------------------------------------------------

def _hard_parts(xp: Any, x: Any, labels: Any, margin: float, distance: str, normalize: bool) -> tuple:
    d, res = _dist(xp, x, distance, normalize)
    pos, neg = _metric.label_masks(xp, labels)
    hp, ip, has_p = _masked_max(xp, d, pos)
    hn, i_n, has_n = _masked_min(xp, d, neg)
    ok = xp.logical_and(has_p, has_n)
    return hp - hn + margin, ok, ip, i_n, res


def _hard_fwd(xp: Any, x: Any, labels: Any, *, margin: float, soft: bool, distance: str,
              normalize: bool) -> tuple:
    z, ok, *_ = _hard_parts(xp, x, labels, margin, distance, normalize)
    loss = xp.where(ok, _hinge(xp, xp.where(ok, z, xp.zeros_like(z)), soft), xp.zeros_like(z))
    valid = _float(xp, ok, z)
    return loss, (), (valid, valid)


def _hard_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float, soft: bool, distance: str,
              normalize: bool) -> tuple:
    x, labels = arrays
    z, ok, ip, i_n, dres = _hard_parts(xp, x, labels, margin, distance, normalize)
    coef = g * xp.where(ok, _hinge_grad(xp, z, soft), xp.zeros_like(z))
    ones = xp.ones_like(z)[:, None] * xp.ones_like(z)[None, :]
    G = (_onehot(xp, ip, ones) - _onehot(xp, i_n, ones)) * coef[:, None]
    return _dist_vjp(xp, distance, normalize, dres, G), None


_HARD = Primitive("batch_hard_triplet", _hard_fwd, vjp=_hard_vjp, counted=True)


# -- semi-hard triplet (TF Addons' algorithm) -------------------------------------------------

def _semi_parts(xp: Any, x: Any, labels: Any, margin: float, distance: str, normalize: bool) -> tuple:
    d, res = _dist(xp, x, distance, normalize)
    pos, neg = _metric.label_masks(xp, labels)
    negf = _float(xp, neg, d)
    n_neg = xp.sum(negf, axis=1)
    # k[a, p] = #{negatives n of a: d_an <= d_ap}: keys (negatives) before equal queries (positives)
    perm, inv = _joint_order(xp, d, neg, xp.logical_or(pos, neg))
    k = _prefix(xp, perm, inv, negf)  # at the positives' columns
    semi = k < n_neg[:, None]  # a negative farther than d_ap exists: the k-th smallest negative
    order = xp.argsort(xp.where(neg, d, _fill(xp, d, math.inf)), axis=1, stable=True)
    sorted_neg = _ops.take_along_axis(xp, d, order, 1)
    kk = xp.astype(xp.where(pos, k, xp.zeros_like(k)), order.dtype)  # k <= #negatives <= N - 1
    chosen = _ops.take_along_axis(xp, sorted_neg, kk, 1)
    far, i_far, has_n = _masked_max(xp, d, neg)  # else the largest negative
    d_neg = xp.where(semi, chosen, far[:, None] + xp.zeros_like(chosen))
    act = xp.logical_and(pos, has_n[:, None])
    z = xp.where(act, margin + d - d_neg, xp.zeros_like(d))
    return z, act, (perm, inv, order, n_neg, i_far, neg), res


def _semi_fwd(xp: Any, x: Any, labels: Any, *, margin: float, distance: str, normalize: bool) -> tuple:
    z, act, _, _ = _semi_parts(xp, x, labels, margin, distance, normalize)
    loss = xp.sum(xp.where(act, _hinge(xp, z, False), xp.zeros_like(z)), axis=1)
    valid = xp.sum(_float(xp, act, z), axis=1)
    return loss, (), (valid, valid)


def _semi_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float, distance: str,
              normalize: bool) -> tuple:
    x, labels = arrays
    z, act, (perm, inv, order, n_neg, i_far, neg), dres = _semi_parts(xp, x, labels, margin, distance, normalize)
    w = g[:, None] * xp.where(act, _hinge_grad(xp, z, False), xp.zeros_like(z))  # d loss / d d_ap
    # F[a, n] = sum of w over the positives with d_ap < d_an (queries before the key n in the joint order)
    F = _prefix(xp, perm, inv, w)  # at the negatives' columns
    F_rank = _ops.take_along_axis(xp, F, order, 1)  # at the ranks of the sorted negatives
    in_range = _columns(xp, F) < n_neg[:, None]
    F_rank = xp.where(in_range, F_rank, xp.zeros_like(F_rank))
    prev = xp.concat([xp.zeros_like(F_rank[:, :1]), F_rank[:, :-1]], axis=1)
    hist = xp.where(in_range, F_rank - prev, xp.zeros_like(F_rank))  # weight of the positives choosing rank s
    to_neg = _ops.take_along_axis(xp, hist, xp.argsort(order, axis=1, stable=True), 1)
    # the positives farther than every negative take the largest one
    last = xp.astype(xp.maximum(n_neg - 1.0, xp.zeros_like(n_neg)), order.dtype)[:, None]
    beyond = xp.sum(w, axis=1) - xp.squeeze(_ops.take_along_axis(xp, F_rank, last, 1), axis=1)
    G = w - xp.where(neg, to_neg, xp.zeros_like(to_neg)) - _onehot(xp, i_far, w) * beyond[:, None]
    return _dist_vjp(xp, distance, normalize, dres, G), None


_SEMI = Primitive("batch_semi_hard_triplet", _semi_fwd, vjp=_semi_vjp, counted=True)


# -- batch-all triplet ------------------------------------------------------------------------

def _all_parts(xp: Any, x: Any, labels: Any, margin: float, distance: str, normalize: bool) -> tuple:
    d, res = _dist(xp, x, distance, normalize)
    pos, neg = _metric.label_masks(xp, labels)
    posf, negf = _float(xp, pos, d), _float(xp, neg, d)
    q = d + margin  # the triplet (a, p, n) is active iff d_an < d_ap + margin
    # queries (positives) before equal keys (negatives): the keys counted are strictly below the query
    perm, inv = _joint_order(xp, xp.where(pos, q, d), pos, xp.logical_or(pos, neg))
    zeros = xp.zeros_like(d)
    c = _prefix(xp, perm, inv, negf)  # at the positives' columns: #{n: d_an < d_ap + m}
    s = _prefix(xp, perm, inv, xp.where(neg, d, zeros))  # and the sum of those d_an
    return q, c, s, pos, neg, posf, negf, perm, inv, res


def _all_fwd(xp: Any, x: Any, labels: Any, *, margin: float, distance: str, normalize: bool,
             average: str) -> tuple:
    q, c, s, pos, _, posf, negf, *_ = _all_parts(xp, x, labels, margin, distance, normalize)
    zeros = xp.zeros_like(q)
    loss = xp.sum(xp.where(pos, c * q - s, zeros), axis=1)  # sum over (p, n) of max(d_ap - d_an + m, 0)
    if average == "nonzero":
        valid = xp.sum(xp.where(pos, c, zeros), axis=1)
    else:
        valid = xp.sum(posf, axis=1) * xp.sum(negf, axis=1)
    return loss, (), (valid, valid)


def _all_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float, distance: str, normalize: bool,
             average: str) -> tuple:
    x, labels = arrays
    q, c, _, pos, neg, posf, _, perm, inv, dres = _all_parts(xp, x, labels, margin, distance, normalize)
    zeros = xp.zeros_like(q)
    # e[a, n] = #{p: d_ap + m > d_an}: all positives minus those at or before the key n in the joint order
    at_or_below = _prefix(xp, perm, inv, posf)
    e = xp.sum(posf, axis=1)[:, None] - at_or_below
    G = g[:, None] * (xp.where(pos, c, zeros) - xp.where(neg, e, zeros))
    return _dist_vjp(xp, distance, normalize, dres, G), None


_ALL = Primitive("batch_all_triplet", _all_fwd, vjp=_all_vjp, counted=True)


# -- lifted structure ---------------------------------------------------------------------------

def _lifted_parts(xp: Any, x: Any, labels: Any, margin: float, pos_margin: float, distance: str,
                  normalize: bool) -> tuple:
    d, res = _dist(xp, x, distance, normalize)
    pos, neg = _metric.label_masks(xp, labels)
    zn = margin - d
    lse = _metric.masked_logsumexp(xp, zn, neg, axis=1)  # (N, 1), -inf without a negative
    lt = xp.matrix_transpose(lse)
    hi = xp.maximum(lse, lt)
    fin = xp.isfinite(hi)
    hs = xp.where(fin, hi, xp.zeros_like(hi))
    both = xp.exp(xp.where(fin, lse - hs, xp.zeros_like(hi))) + xp.exp(xp.where(fin, lt - hs, xp.zeros_like(hi)))
    act = xp.logical_and(pos, fin)
    pair = xp.where(act, xp.log(xp.where(act, both, xp.ones_like(both))) + hs, xp.zeros_like(d))  # LSE_{i ∪ j}
    J = xp.where(act, pair + d - pos_margin, xp.zeros_like(d))
    return J, act, lse, pair, zn, neg, res


def _lifted_fwd(xp: Any, x: Any, labels: Any, *, margin: float, pos_margin: float, distance: str,
                normalize: bool) -> tuple:
    J, act, *_ = _lifted_parts(xp, x, labels, margin, pos_margin, distance, normalize)
    r = xp.maximum(J, xp.zeros_like(J))
    loss = xp.sum(0.5 * r * r, axis=1)
    valid = xp.sum(_float(xp, act, J), axis=1)
    return loss, (), (valid, valid)


def _lifted_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float, pos_margin: float, distance: str,
                normalize: bool) -> tuple:
    x, labels = arrays
    J, act, lse, pair, zn, neg, dres = _lifted_parts(xp, x, labels, margin, pos_margin, distance, normalize)
    zeros = xp.zeros_like(J)
    R = g[:, None] * xp.maximum(J, zeros)  # d loss / d J_ap (0 off the active pairs)
    # the share of row i's negatives in the pair (i, j): exp(LSE_i - LSE_{i ∪ j})
    share = xp.where(act, xp.exp(xp.where(act, lse - pair, zeros)), zeros)
    u = xp.sum((R + xp.matrix_transpose(R)) * share, axis=1, keepdims=True)
    p = _metric.masked_softmax(xp, zn, neg, lse)
    return _dist_vjp(xp, distance, normalize, dres, R - u * p), None


_LIFTED = Primitive("lifted_structure", _lifted_fwd, vjp=_lifted_vjp, counted=True)


# -- multi-similarity ------------------------------------------------------------------------------

def _sim(xp: Any, a: Any, b: Any, normalize: bool) -> tuple[Any, tuple]:
    if normalize:
        return _metric.cosine_matrix(xp, a, b)
    return a @ xp.matrix_transpose(b), ()


def _sim_vjp(xp: Any, a: Any, b: Any, normalize: bool, res: tuple, G: Any) -> tuple[Any, Any]:
    if normalize:
        return _metric.cosine_matrix_vjp(xp, res, G)
    return G @ b, xp.matrix_transpose(G) @ a


def _lse1(xp: Any, z: Any, mask: Any) -> tuple[Any, Any]:
    """``log(1 + Σ_mask exp z)`` per row (kept) and the softmax over the masked entries and the zero logit."""
    zm = xp.where(mask, z, _fill(xp, z, -math.inf))
    m = xp.maximum(xp.max(zm, axis=1, keepdims=True), xp.zeros_like(z[:, :1]))
    e = xp.where(mask, xp.exp(zm - m), xp.zeros_like(z))
    lse = xp.log(xp.exp(-m) + xp.sum(e, axis=1, keepdims=True)) + m
    return lse, xp.where(mask, xp.exp(xp.where(mask, z, xp.zeros_like(z)) - lse), xp.zeros_like(z))


def _ms_parts(xp: Any, x: Any, labels: Any, alpha: float, beta: float, base: float, normalize: bool) -> tuple:
    s, res = _sim(xp, x, x, normalize)
    pos, neg = _metric.label_masks(xp, labels)
    lp, sp = _lse1(xp, -alpha * (s - base), pos)
    ln, sn = _lse1(xp, beta * (s - base), neg)
    return lp[:, 0] / alpha + ln[:, 0] / beta, sp, sn, res


def _ms_fwd(xp: Any, x: Any, labels: Any, *, alpha: float, beta: float, base: float, normalize: bool) -> tuple:
    loss, *_ = _ms_parts(xp, x, labels, alpha, beta, base, normalize)
    return loss, ()


def _ms_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, alpha: float, beta: float, base: float,
            normalize: bool) -> tuple:
    x, labels = arrays
    _, sp, sn, sres = _ms_parts(xp, x, labels, alpha, beta, base, normalize)
    G = g[:, None] * (sn - sp)
    da, db = _sim_vjp(xp, x, x, normalize, sres, G)
    return da + db, None


_MS = Primitive("multi_similarity", _ms_fwd, vjp=_ms_vjp)


# -- N-pairs ---------------------------------------------------------------------------------------

def _np_targets(xp: Any, z: Any, labels: Any | None) -> Any:
    if labels is None:
        n = z.shape[0]  # square: anchors and positives have one shape
        return _float(xp, _metric.eye(xp, n) if n is not None else _metric._diagonal(xp, z), z)
    same = _float(xp, labels[:, None] == labels[None, :], z)
    return same / xp.sum(same, axis=1, keepdims=True)


def _np_parts(xp: Any, a: Any, p: Any, labels: Any | None, similarity: str) -> tuple:
    z, res = _sim(xp, a, p, similarity == "cosine")
    lse = _ops.logsumexp(xp, z, 1)
    t = _np_targets(xp, z, labels)
    return z, lse, t, res


def _np_fwd(xp: Any, a: Any, p: Any, *labels: Any, similarity: str) -> tuple:
    z, lse, t, _ = _np_parts(xp, a, p, labels[0] if labels else None, similarity)
    return lse[:, 0] - xp.sum(t * z, axis=1), ()


def _np_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, similarity: str) -> tuple:
    a, p, *labels = arrays
    z, lse, t, sres = _np_parts(xp, a, p, labels[0] if labels else None, similarity)
    G = g[:, None] * (xp.exp(z - lse) - t)
    da, dp = _sim_vjp(xp, a, p, similarity == "cosine", sres, G)
    return (da, dp, *([None] * len(labels)))


_NPAIRS = Primitive("n_pairs", _np_fwd, vjp=_np_vjp)


# -- checks ------------------------------------------------------------------------------------------

def _embeddings(fn: str, xp: Any, x: Any, name: str = "embeddings") -> None:
    _checks.floating(fn, name, xp, x)
    if x.ndim != 2:
        raise _checks.error(fn, name, "an array of shape (N, D)", f"shape {_checks.shape_of(x)}")


def _labels(fn: str, xp: Any, labels: Any, embeddings: Any, name: str = "embeddings") -> None:
    """Integer labels of shape ``(N,)`` for ``(N, D)`` embeddings (compared for equality only: no range)."""
    _metric.check_labels(fn, xp, labels, (name, embeddings))


_choice = _checks.choice


_flag = _checks.flag


def _common(fn: str, embeddings: Any, labels: Any, sample_weight: Any, reduction: str) -> tuple:
    be = resolve(fn, {"embeddings": embeddings, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, embeddings)
    _labels(fn, xp, labels, embeddings)
    sample_weight = _checks.weight(fn, xp, sample_weight, embeddings, -1)
    _checks.reduction(fn, reduction)
    return be, sample_weight


_DIST_DOC = """distance : {"euclidean", "squared_euclidean", "cosine"}, default "euclidean"
        ``d_ij``: ``||x_i - x_j||`` (Gram form, subgradient 0 at ``d = 0``), its square, or
        ``1 - cos(x_i, x_j)``.
    normalize : bool, default False
        L2-normalise the embeddings first (``x / max(||x||, 1e-12)``, as pytorch-metric-learning's
        default ``LpDistance(normalize_embeddings=True)``); ignored by ``"cosine"``."""


def _doc(f: Any) -> Any:
    f.__doc__ = f.__doc__.replace("    {distance}", "    " + _DIST_DOC)
    return f


# -- public losses ---------------------------------------------------------------------------------

@loss
@_doc
def batch_hard_triplet(embeddings: Any, labels: Any, /, *, margin: float = 1.0, soft: bool = False,
                       distance: str = "euclidean", normalize: bool = False, sample_weight: Any = None,
                       reduction: str = "mean") -> Any:
    r"""Batch-hard triplet loss (Hermans et al. 2017): per anchor, its farthest positive and closest negative.

    .. math::
        \ell_a = \big[\max_{p \in P(a)} d_{ap} - \min_{n \in N(a)} d_{an} + m\big]_+
        \quad(\text{softplus with } \texttt{soft}),
        \qquad \text{mean} = \frac{\sum_a w_a \ell_a}{\#\{a : P(a) \ne \emptyset \ne N(a)\}}

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` floating embeddings.
    labels : array
        ``(N,)`` integer labels (compared for equality only).
    margin : float, default 1.0
        Margin ``m >= 0``.
    soft : bool, default False
        ``softplus(z)`` instead of ``max(z, 0)`` (the margin stays inside).
    {distance}
    sample_weight, reduction
        Per-anchor weight ``(N,)`` and reduction; ``"mean"`` divides by the number of anchors that have
        both a positive and a negative.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-anchor losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Embeddings not ``(N, D)`` floating, labels not ``(N,)`` integer, ``margin < 0``, unknown ``distance``.

    Notes
    -----
    An anchor without a positive or without a negative contributes 0 with a zero gradient and is not
    counted by ``"mean"``; a batch without any valid anchor gives exactly 0.  Ties: the gradient goes to
    the first index among equal farthest positives / closest negatives.  No gradient flows through the
    selection.  The hinge has subgradient 0 at ``z = 0``.

    See Also
    --------
    pytorch_metric_learning.miners.BatchHardMiner : with ``TripletMarginLoss(margin,
        distance=LpDistance(normalize_embeddings=False), reducer=MeanReducer())`` and the same distance in the
        miner: equal (the miner drops anchors without a positive or negative, as here).
    tfa.losses.triplet_hard_loss : equal when every anchor has a positive and a negative; TF Addons averages
        over all ``N`` anchors and gives a positive-less anchor ``hp = 0``; its ``soft`` drops the margin
        (``margin=0.0`` here).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 2.0]])
    >>> round(float(xploss.batch_hard_triplet(x, np.array([0, 0, 1, 1]), margin=1.0)), 6)
    0.0
    >>> round(float(xploss.batch_hard_triplet(x, np.array([0, 1, 0, 1]), margin=1.0)), 6)
    2.581139
    """
    fn = "batch_hard_triplet"
    be, sample_weight = _common(fn, embeddings, labels, sample_weight, reduction)
    margin = _checks.number(fn, "margin", margin, low=0.0)
    return apply(be, _HARD, (embeddings, labels), sample_weight=sample_weight, reduction=reduction,
                 margin=margin, soft=_flag(fn, "soft", soft), distance=_choice(fn, "distance", distance, DISTANCES),
                 normalize=_flag(fn, "normalize", normalize))


@loss
@_doc
def batch_semi_hard_triplet(embeddings: Any, labels: Any, /, *, margin: float = 1.0, distance: str = "euclidean",
                            normalize: bool = False, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Semi-hard triplet loss with TF Addons' mining (Schroff et al. 2015, ``triplet_semihard_loss``).

    For each ordered positive pair ``(a, p)`` the negative is the closest one farther than the positive,
    else the farthest negative of the anchor:

    .. math::
        n^*(a, p) = \begin{cases} \arg\min_{n \in N(a),\ d_{an} > d_{ap}} d_{an} & \text{if one exists} \\
        \arg\max_{n \in N(a)} d_{an} & \text{otherwise} \end{cases}, \qquad
        \ell_a = \sum_{p \in P(a)} \big[m + d_{ap} - d_{a n^*}\big]_+

    and ``"mean"`` divides by the number of positive pairs whose anchor has a negative.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` floating embeddings.
    labels : array
        ``(N,)`` integer labels.
    margin : float, default 1.0
        Margin ``m >= 0``.
    {distance}
    sample_weight, reduction
        Per-anchor weight ``(N,)`` (it weighs the anchor's pairs) and reduction.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-anchor sums over their positive pairs for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`batch_hard_triplet`.

    Notes
    -----
    ``O(N²)`` memory: a stable sort of each anchor's distances (by value, negatives first at ties)
    replaces TF Addons' ``(N², N)`` tiled mask.  No positive pair gives exactly 0 (TF Addons: 0/0 = NaN);
    the pairs of an anchor without a negative count nothing (TF Addons uses the row minimum, its own
    distance 0, and counts ``m + d_ap``).  Ties: among equal negative distances the lowest index gets the gradient.  The
    selection is piecewise constant (no gradient flows through it); the hinge has subgradient 0 at 0.

    See Also
    --------
    tfa.losses.triplet_semihard_loss : equal when every anchor has a negative (``distance_metric="L2"`` is
        ``distance="euclidean"``, ``"squared-L2"`` is ``"squared_euclidean"``, ``"angular"`` is ``"cosine"``).
    pytorch_metric_learning.miners.TripletMarginMiner : its ``"semihard"`` keeps every semi-hard triplet, not
        one negative per pair: not this loss.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> round(float(xploss.batch_semi_hard_triplet(x, np.array([0, 0, 1, 2]))), 6)
    0.0
    """
    fn = "batch_semi_hard_triplet"
    be, sample_weight = _common(fn, embeddings, labels, sample_weight, reduction)
    margin = _checks.number(fn, "margin", margin, low=0.0)
    return apply(be, _SEMI, (embeddings, labels), sample_weight=sample_weight, reduction=reduction,
                 margin=margin, distance=_choice(fn, "distance", distance, DISTANCES),
                 normalize=_flag(fn, "normalize", normalize))


@loss
@_doc
def batch_all_triplet(embeddings: Any, labels: Any, /, *, margin: float = 1.0, distance: str = "euclidean",
                      normalize: bool = False, average: str = "nonzero", sample_weight: Any = None,
                      reduction: str = "mean") -> Any:
    r"""Batch-all triplet loss: every valid triplet ``(a, p, n)`` of the batch.

    .. math::
        \ell_a = \sum_{p \in P(a)} \sum_{n \in N(a)} \big[d_{ap} - d_{an} + m\big]_+ , \qquad
        \text{mean} = \frac{\sum_a w_a \ell_a}{\sum_a c_a}

    with ``c_a`` the number of the anchor's triplets with a positive loss (``average="nonzero"``) or of all
    its triplets (``average="all"``).

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` floating embeddings.
    labels : array
        ``(N,)`` integer labels.
    margin : float, default 1.0
        Margin ``m >= 0``.
    {distance}
    average : {"nonzero", "all"}, default "nonzero"
        What ``"mean"`` divides by: the triplets with a positive loss (pytorch-metric-learning's
        ``AvgNonZeroReducer``, Hermans et al.'s batch-all) or every valid triplet (``MeanReducer``).
    sample_weight, reduction
        Per-anchor weight ``(N,)`` and reduction.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-anchor sums over their triplets for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`batch_hard_triplet`, and an unknown ``average``.

    Notes
    -----
    The ``N³`` triplets are never formed: per anchor, one stable sort of ``d_ap + m`` and ``d_an``
    gives each positive the count and the sum of the negatives below it (``O(N²)`` memory, ``O(N² log N)``
    time; ``N`` up to a few thousand).  A triplet exactly at the hinge has loss 0, is not counted by
    ``"nonzero"`` and has gradient 0.  No valid triplet (or none active) gives exactly 0.

    See Also
    --------
    pytorch_metric_learning.losses.TripletMarginLoss : ``TripletMarginLoss(margin,
        distance=LpDistance(normalize_embeddings=False))`` (all triplets, ``AvgNonZeroReducer``) is
        ``average="nonzero"``; with ``reducer=MeanReducer()`` it is ``average="all"``.  Its default
        distance normalises (``normalize=True`` here) and its default margin is 0.05.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [1.5, 0.0], [9.0, 9.0]])
    >>> round(float(xploss.batch_all_triplet(x, np.array([0, 0, 1, 2]), reduction="sum")), 6)
    0.697224
    """
    fn = "batch_all_triplet"
    be, sample_weight = _common(fn, embeddings, labels, sample_weight, reduction)
    margin = _checks.number(fn, "margin", margin, low=0.0)
    return apply(be, _ALL, (embeddings, labels), sample_weight=sample_weight, reduction=reduction,
                 margin=margin, distance=_choice(fn, "distance", distance, DISTANCES),
                 normalize=_flag(fn, "normalize", normalize), average=_choice(fn, "average", average,
                                                                               ("nonzero", "all")))


@loss
@_doc
def lifted_structure(embeddings: Any, labels: Any, /, *, margin: float = 1.0, pos_margin: float = 0.0,
                     distance: str = "euclidean", normalize: bool = False, sample_weight: Any = None,
                     reduction: str = "mean") -> Any:
    r"""Lifted structured loss (Oh Song et al. 2016), as TF Addons and pytorch-metric-learning.

    .. math::
        J_{ij} = \log\Big(\sum_{k \in N(i)} e^{m - d_{ik}} + \sum_{l \in N(j)} e^{m - d_{jl}}\Big)
        + d_{ij} - m_+, \qquad
        \ell_a = \sum_{p \in P(a)} \tfrac12 [J_{ap}]_+^2

    ``"mean"`` divides by the number of ordered positive pairs, so it is
    ``Σ_{i<j} [J_ij]_+² / (2 · #unordered pairs)``.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` floating embeddings.
    labels : array
        ``(N,)`` integer labels.
    margin : float, default 1.0
        Negative margin ``m``.
    pos_margin : float, default 0.0
        Positive margin ``m_+`` (pytorch-metric-learning's ``pos_margin``).
    {distance}
    sample_weight, reduction
        Per-anchor weight ``(N,)`` and reduction.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-anchor sums over their positive pairs for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`batch_hard_triplet`.

    Notes
    -----
    The log-sum-exp is stabilised by its maximum (finite for ±1e4-scale embeddings).  A pair with no
    negative on either side has ``J = -inf``: loss 0 (counted in the mean); no positive pair gives exactly
    0 (TF Addons: NaN).  Smooth everywhere except ``d = 0`` (subgradient 0) and the hinge, which is squared
    (C¹).

    See Also
    --------
    tfa.losses.lifted_struct_loss : equal (``margin``; plain L2 distances, no normalisation).
    pytorch_metric_learning.losses.LiftedStructureLoss : ``LiftedStructureLoss(neg_margin=margin,
        pos_margin=pos_margin, distance=LpDistance(normalize_embeddings=False))`` is equal; its default
        distance normalises (``normalize=True`` here).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]])
    >>> round(float(xploss.lifted_structure(x, np.array([0, 0, 1, 1]))), 6)
    0.0
    """
    fn = "lifted_structure"
    be, sample_weight = _common(fn, embeddings, labels, sample_weight, reduction)
    margin = _checks.number(fn, "margin", margin)
    pos_margin = _checks.number(fn, "pos_margin", pos_margin)
    return apply(be, _LIFTED, (embeddings, labels), sample_weight=sample_weight, reduction=reduction,
                 margin=margin, pos_margin=pos_margin, distance=_choice(fn, "distance", distance, DISTANCES),
                 normalize=_flag(fn, "normalize", normalize))


@loss
def multi_similarity(embeddings: Any, labels: Any, /, *, alpha: float = 2.0, beta: float = 50.0,
                     base: float = 0.5, normalize: bool = True, sample_weight: Any = None,
                     reduction: str = "mean") -> Any:
    r"""Multi-similarity loss (Wang et al. 2019) without its mining step, as pytorch-metric-learning.

    .. math::
        \ell_a = \frac1\alpha \log\Big(1 + \sum_{p \in P(a)} e^{-\alpha (s_{ap} - \lambda)}\Big)
        + \frac1\beta \log\Big(1 + \sum_{n \in N(a)} e^{\beta (s_{an} - \lambda)}\Big)

    with ``s`` the cosine similarity (``normalize=True``) or the dot product; ``"mean"`` divides by ``N``.

    Parameters
    ----------
    embeddings : array
        ``(N, D)`` floating embeddings.
    labels : array
        ``(N,)`` integer labels.
    alpha : float, default 2.0
        Positive scale ``α > 0``.
    beta : float, default 50.0
        Negative scale ``β > 0``.
    base : float, default 0.5
        The similarity offset ``λ``.
    normalize : bool, default True
        Cosine similarities (``False``: raw dot products).
    sample_weight, reduction
        Per-anchor weight ``(N,)`` and reduction.

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-anchor losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        As :func:`batch_hard_triplet`, and ``alpha <= 0`` or ``beta <= 0``.

    Notes
    -----
    The ``1 +`` is an explicit zero logit: an empty set contributes 0, so an anchor without positives
    still pays its negative term (as pytorch-metric-learning); a batch with neither gives 0.  The mining
    step of the paper (``MultiSimilarityMiner(epsilon=0.1)``) is not included.  A zero embedding
    normalises to 0 (``F.normalize``'s convention).

    See Also
    --------
    pytorch_metric_learning.losses.MultiSimilarityLoss : ``MultiSimilarityLoss(alpha, beta, base)`` with its
        default ``CosineSimilarity`` and ``MeanReducer``: equal.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    >>> round(float(xploss.multi_similarity(x, np.array([0, 0, 1]))), 6)
    0.105314
    """
    fn = "multi_similarity"
    be, sample_weight = _common(fn, embeddings, labels, sample_weight, reduction)
    alpha = _checks.number(fn, "alpha", alpha, low=0.0, low_open=True)
    beta = _checks.number(fn, "beta", beta, low=0.0, low_open=True)
    base = _checks.number(fn, "base", base)
    return apply(be, _MS, (embeddings, labels), sample_weight=sample_weight, reduction=reduction, alpha=alpha,
                 beta=beta, base=base, normalize=_flag(fn, "normalize", normalize))


@loss
def n_pairs(anchors: Any, positives: Any, /, *, labels: Any = None, similarity: str = "dot",
            sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""N-pair loss (Sohn 2016): a softmax cross-entropy over the anchor × positive similarities.

    .. math::
        z_{ij} = s(a_i, p_j), \qquad
        \ell_i = \log \sum_j e^{z_{ij}} - \sum_j t_{ij} z_{ij}, \qquad
        t_{ij} = \frac{[y_i = y_j]}{\sum_k [y_i = y_k]} \quad (t = I \text{ without labels})

    Parameters
    ----------
    anchors, positives : array
        ``(N, D)`` floating embeddings; row ``i`` of both is the ``i``-th pair.
    labels : array, optional
        ``(N,)`` integer labels of the pairs: positives sharing an anchor's label are targets too (TF
        Addons).  None: the pairs are distinct classes (target ``j = i``).
    similarity : {"dot", "cosine"}, default "dot"
        ``a_i · p_j`` (the paper, TF Addons) or the cosine (pytorch-metric-learning's default).
    sample_weight, reduction
        Per-pair weight ``(N,)`` and reduction (``"mean"`` over the ``N`` pairs).

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-pair losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Anchors or positives not ``(N, D)`` floating or of different shapes or dtypes, labels not ``(N,)``
        integer, unknown ``similarity``.

    Notes
    -----
    No temperature and no L2 penalty on the embeddings (the paper's, and the old ``tf.contrib`` version's
    ``reg_lambda``, are left to the caller).  The log-sum-exp is stabilised by the row maximum.  A zero
    embedding with ``similarity="cosine"`` normalises to 0.

    See Also
    --------
    tfa.losses.npairs_loss : ``npairs_loss(y, anchors @ positives.T)`` is ``n_pairs(anchors, positives,
        labels=y)``.
    pytorch_metric_learning.losses.NPairsLoss : ``NPairsLoss()(embeddings, labels)`` is
        ``n_pairs(embeddings[a], embeddings[p], similarity="cosine")`` with ``(a, p)`` its first positive
        pair per unique label (``np.unique(labels[a_all], return_index=True)`` over the ordered positive
        pairs); the selection is data-dependent, so the caller makes it.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> f = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    >>> round(float(xploss.n_pairs(f, f, labels=np.array([0, 1, 2, 3]))), 6)
    0.253856
    """
    fn = "n_pairs"
    be = resolve(fn, {"anchors": anchors, "positives": positives, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, anchors, "anchors")
    _embeddings(fn, xp, positives, "positives")
    _checks.same_shape(fn, ("anchors", anchors), ("positives", positives))
    _checks.same_dtype(fn, ("positives", positives), ("anchors", anchors))
    arrays = (anchors, positives)
    if labels is not None:
        _labels(fn, xp, labels, anchors, "anchors")
        arrays = (anchors, positives, labels)
    sample_weight = _checks.weight(fn, xp, sample_weight, anchors, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _NPAIRS, arrays, sample_weight=sample_weight, reduction=reduction,
                 similarity=_choice(fn, "similarity", similarity, SIMILARITIES))
