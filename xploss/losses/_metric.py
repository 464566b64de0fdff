"""Building blocks of the metric-learning losses: normalisation, similarity and distance matrices,
label masks, masked log-sum-exp, each with its hand VJP.

Every batch-coupled loss is a value kernel over an ``(N, M)`` similarity (or distance) matrix and a
VJP that maps the matrix cotangent ``G`` back to the embeddings through these blocks; nothing here
depends on a framework.  Conventions (documented on the family page):

* :func:`normalize` is ``torch.nn.functional.normalize``: ``x / max(||x||, eps)`` with ``eps = 1e-12``;
  a zero vector normalises to 0 and its gradient is ``g / eps`` (the subgradient torch and
  pytorch-metric-learning give, finite);
* :func:`sq_distances` is the Gram form ``|a|² + |b|² - 2 a·b`` clamped at 0 (what ``torch.cdist``
  uses beyond 25 rows and TF Addons' ``pairwise_distance``): O(N·M) memory, never O(N·M·D);
  the self-distances of one set are exactly 0;
* :func:`distances` is its square root with the subgradient 0 at ``d = 0`` (coincident points),
  as ``torch.cdist`` and TF Addons.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks

__all__ = [
    "NORM_EPS", "normalize", "normalize_vjp", "cosine_matrix", "cosine_matrix_vjp", "sq_distances",
    "sq_distances_vjp", "distances", "distances_vjp", "label_masks", "masked_logsumexp", "masked_softmax",
    "eye", "diagonal_of", "tiny", "check_labels",
]

NORM_EPS = 1e-12  # torch.nn.functional.normalize's eps


def tiny(xp: Any, dtype: Any) -> float:
    """The smallest normal number of ``dtype``."""
    return float(xp.finfo(dtype).smallest_normal)


def normalize(xp: Any, x: Any, eps: float = NORM_EPS) -> tuple[Any, Any]:
    """``(x / max(||x||, eps), ||x||)`` over the last axis (the raw norm, kept for the VJP)."""
    n = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
    return x / xp.maximum(n, eps), n


def normalize_vjp(xp: Any, xhat: Any, n: Any, g: Any, eps: float = NORM_EPS) -> Any:
    """Cotangent of ``x`` given that of ``x̂ = x / max(||x||, eps)``: ``(g - x̂ (x̂·g)) / ||x||``, and
    ``g / eps`` where the norm is clamped (the projection term vanishes with the clamp's gradient)."""
    free = n > eps
    radial = xp.where(free, xhat * xp.sum(xhat * g, axis=-1, keepdims=True), xp.zeros_like(g))
    return (g - radial) / xp.maximum(n, eps)


def cosine_matrix(xp: Any, a: Any, b: Any, eps: float = NORM_EPS) -> tuple[Any, tuple]:
    """``S = â b̂ᵀ`` (N, M) and the residuals ``(â, |a|, b̂, |b|)`` of :func:`cosine_matrix_vjp`."""
    ah, na = normalize(xp, a, eps)
    bh, nb = normalize(xp, b, eps)
    return ah @ xp.matrix_transpose(bh), (ah, na, bh, nb)


def cosine_matrix_vjp(xp: Any, res: tuple, G: Any, eps: float = NORM_EPS) -> tuple[Any, Any]:
    """Cotangents of ``a`` and ``b`` given that of ``S = â b̂ᵀ`` (for one set, ``a is b``: add them)."""
    ah, na, bh, nb = res
    return (normalize_vjp(xp, ah, na, G @ bh, eps),
            normalize_vjp(xp, bh, nb, xp.matrix_transpose(G) @ ah, eps))


def sq_distances(xp: Any, a: Any, b: Any | None = None) -> Any:
    """Squared Euclidean distances ``(N, M)`` by the Gram form, clamped at 0; ``b=None``: the set ``a``
    against itself, its diagonal exactly 0."""
    same = b is None
    b = a if same else b
    sa = xp.sum(a * a, axis=-1)
    sb = sa if same else xp.sum(b * b, axis=-1)
    sq = sa[:, None] + sb[None, :] - 2.0 * (a @ xp.matrix_transpose(b))
    sq = xp.maximum(sq, xp.zeros_like(sq))
    if same:
        n = sq.shape[0]
        sq = xp.where(eye(xp, n) if n is not None else _diagonal(xp, sq), xp.zeros_like(sq), sq)
    return sq


def sq_distances_vjp(xp: Any, a: Any, b: Any | None, sq: Any, G: Any) -> tuple[Any, Any]:
    """Cotangents of ``a`` and ``b`` given ``G``, that of ``sq = sq_distances(a, b)`` (0 where clamped
    and, for one set, on the diagonal).  ``b=None``: one set, the single cotangent of ``a`` (and None)."""
    G = xp.where(sq > 0, G, xp.zeros_like(G))
    if b is None:
        Gs = G + xp.matrix_transpose(G)
        return 2.0 * (xp.sum(Gs, axis=-1)[:, None] * a - Gs @ a), None
    da = 2.0 * (xp.sum(G, axis=-1)[:, None] * a - G @ b)
    db = 2.0 * (xp.sum(G, axis=0)[:, None] * b - xp.matrix_transpose(G) @ a)
    return da, db


def distances(xp: Any, sq: Any) -> Any:
    """``sqrt(sq)``."""
    return xp.sqrt(sq)


def distances_vjp(xp: Any, d: Any, G: Any) -> Any:
    """Cotangent of ``sq`` given that of ``d = sqrt(sq)``: ``G / (2 d)``, 0 where ``d = 0``."""
    pos = d > 0
    return xp.where(pos, G / (2.0 * xp.where(pos, d, xp.ones_like(d))), xp.zeros_like(G))


def eye(xp: Any, n: int, m: int | None = None) -> Any:
    """The boolean identity ``(n, m)``."""
    i = xp.arange(n)
    j = xp.arange(n if m is None else m)
    return i[:, None] == j[None, :]


def diagonal_of(xp: Any, like: Any) -> Any:
    """The boolean diagonal of the square matrix ``like``, of a static or an unknown size."""
    n = like.shape[0]
    return eye(xp, n) if n is not None else _diagonal(xp, like)


def label_masks(xp: Any, labels: Any, ref_labels: Any | None = None) -> tuple[Any, Any]:
    """``(positive, negative)`` boolean ``(N, M)`` masks: same label (the diagonal excluded when
    ``ref_labels`` is None: a sample is not its own positive) and different label."""
    ref = labels if ref_labels is None else ref_labels
    same = labels[:, None] == ref[None, :]
    neg = xp.logical_not(same)
    if ref_labels is None:
        n = labels.shape[0]
        diag = eye(xp, n) if n is not None else _diagonal(xp, same)  # n None: a size unknown while tracing
        same = xp.logical_and(same, xp.logical_not(diag))
    return same, neg


def masked_logsumexp(xp: Any, z: Any, mask: Any, axis: int = -1) -> Any:
    """``log Σ_{mask} exp(z)`` along ``axis`` (kept); ``-inf`` for a row with no entry, finite for
    ±1e4-scale logits (the row maximum is subtracted)."""
    zm = xp.where(mask, z, xp.full_like(z, -math.inf))
    m = xp.max(zm, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    s = xp.sum(xp.where(mask, xp.exp(zm - m), xp.zeros_like(z)), axis=axis, keepdims=True)
    some = s > 0
    return xp.where(some, xp.log(xp.where(some, s, xp.ones_like(s))) + m, xp.full_like(s, -math.inf))


def masked_softmax(xp: Any, z: Any, mask: Any, lse: Any) -> Any:
    """``exp(z - lse)`` on ``mask``, 0 elsewhere (and on rows whose ``lse`` is ``-inf``)."""
    ok = xp.logical_and(mask, xp.isfinite(lse))
    safe = xp.where(xp.isfinite(lse), lse, xp.zeros_like(lse))
    return xp.where(ok, xp.exp(xp.where(ok, z - safe, xp.zeros_like(z))), xp.zeros_like(z))


# -- added by the mined-losses helper (#8): label_masks for a batch size unknown while tracing ----------

def _diagonal(xp: Any, like: Any) -> Any:
    """The boolean diagonal of the square matrix ``like`` without its static size (``tf.function`` with a
    ``None`` batch dimension, as Keras ``fit`` traces): row and column indices by cumulative sums."""
    ones = xp.ones_like(like, dtype=xp.float32)
    return xp.cumulative_sum(ones, axis=0) == xp.cumulative_sum(ones, axis=1)


def check_labels(fn: str, xp: Any, labels: Any, embeddings: tuple[str, Any]) -> Any:
    """Integer labels of shape ``(N,)`` for ``(N, D)`` embeddings (metadata only: labels are compared for
    equality or gathered after :func:`xploss._checks.labels_in_range`)."""
    name, x = embeddings
    if not hasattr(labels, "dtype"):
        raise _checks.error(fn, "labels", "an integer array of shape (N,)", f"{type(labels).__name__}",
                            kind=_checks.XplossTypeError)
    n = _checks.shape_of(x)[0]
    expected = f"integer labels of shape ({'N' if n is None else n},) (one per row of `{name}`)"
    if not xp.isdtype(labels.dtype, "integral"):
        raise _checks.error(fn, "labels", expected, f"dtype {_checks.dtype_name(labels.dtype)}",
                            kind=_checks.XplossTypeError,
                            hint=_checks.label_hint(xp, labels, (n,), None) if n is not None else "")
    _checks.index_labels(fn, xp, labels, (name, x), 1, expected)
    return labels
