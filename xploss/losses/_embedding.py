"""Embedding and metric-learning losses."""

from __future__ import annotations

from typing import Any

from .. import _checks
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = ["triplet_margin"]


def _distance(xp: Any, x1: Any, x2: Any, p: float, eps: float) -> tuple[Any, Any]:
    """torch's ``pairwise_distance``: ``||x1 - x2 + eps||_p`` over the last axis."""
    u = x1 - x2 + eps
    if p == 2.0:
        linalg = getattr(xp, "linalg", None)  # the standard's extension: one fused pass where the library has it
        d = (linalg.vector_norm(u, axis=-1) if linalg is not None and hasattr(linalg, "vector_norm")
             else xp.sqrt(xp.sum(u * u, axis=-1)))
    elif p == 1.0:
        d = xp.sum(xp.abs(u), axis=-1)
    else:
        d = xp.sum(xp.abs(u) ** p, axis=-1) ** (1.0 / p)
    return d, u


def _distance_grad(xp: Any, u: Any, d: Any, p: float) -> Any:
    """``d ||u||_p / du`` (0 where the norm is 0)."""
    safe = xp.expand_dims(xp.where(d > 0, d, xp.ones_like(d)), axis=-1)
    if p == 2.0:
        return u / safe
    if p == 1.0:
        return xp.sign(u)
    return xp.sign(u) * (xp.abs(u) / safe) ** (p - 1.0)


def _triplet_fwd(xp: Any, a: Any, pos: Any, neg: Any, *, margin: float, p: float, eps: float,
                 swap: bool) -> tuple:
    d_ap, u_ap = _distance(xp, a, pos, p, eps)
    d_an, u_an = _distance(xp, a, neg, p, eps)
    res = (u_ap, d_ap, u_an, d_an)  # kept: the backward forms its cotangents from them (no second pass)
    if swap:
        d_pn, u_pn = _distance(xp, pos, neg, p, eps)
        res += (u_pn, d_pn)
        d_an = xp.minimum(d_an, d_pn)
    z = d_ap - d_an + margin
    return xp.maximum(z, xp.zeros_like(z)), res


def _negative_distance(xp: Any, res: tuple, swap: bool) -> tuple[Any, Any]:
    """``(d_neg, use_pn)``: the negative's distance (``min(d_an, d_pn)`` with ``swap``) and where ``d_pn`` wins."""
    d_an = res[3]
    if not swap:
        return d_an, None
    d_pn = res[5]
    use_pn = d_pn < d_an
    return xp.where(use_pn, d_pn, d_an), use_pn


def _triplet_terms(xp: Any, res: tuple, scale: Any, p: float, swap: bool) -> tuple:
    """``scale * d loss / d (a, p, n)`` with ``scale`` of shape ``(..., 1)`` (the hinge's 0/1, times the
    cotangent in the VJP)."""
    u_ap, d_ap, u_an, d_an = res[:4]
    n_ap, n_an = _distance_grad(xp, u_ap, d_ap, p), _distance_grad(xp, u_an, d_an, p)
    if not swap:
        return scale * (n_ap - n_an), -scale * n_ap, scale * n_an
    use_pn = _negative_distance(xp, res, swap)[1]
    n_pn = _distance_grad(xp, res[4], res[5], p)
    use = xp.expand_dims(xp.astype(use_pn, u_ap.dtype), axis=-1)
    keep = 1.0 - use
    return (scale * (n_ap - keep * n_an), -scale * (n_ap + use * n_pn),
            scale * (keep * n_an + use * n_pn))


def _active(xp: Any, res: tuple, margin: float, swap: bool) -> Any:
    """1 where the hinge is active, torch's ``clamp_min``: the full gradient at the hinge (z == 0)."""
    d_ap = res[1]
    return xp.astype(d_ap - _negative_distance(xp, res, swap)[0] + margin >= 0, d_ap.dtype)


def _triplet_partials(xp: Any, arrays: tuple, res: tuple, *, margin: float, p: float, eps: float,
                      swap: bool) -> tuple:
    return _triplet_terms(xp, res, xp.expand_dims(_active(xp, res, margin, swap), axis=-1), p, swap)


def _triplet_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, margin: float, p: float, eps: float,
                 swap: bool) -> tuple:
    """The cotangents with ``g`` folded into per-row scales: for the Euclidean distance without swap, four
    full-size operations for the three cotangents (``t = u / d * g``: ``t_ap - t_an``, ``-t_ap``, ``t_an``)."""
    ga = g * _active(xp, res, margin, swap)
    if p != 2.0 or swap:
        return _triplet_terms(xp, res, xp.expand_dims(ga, axis=-1), p, swap)
    u_ap, d_ap, u_an, d_an = res
    done: dict = {}

    def term(k: str) -> Any:  # u / d * g, each formed once (the anchor's cotangent reuses both)
        if k not in done:
            u, d = (u_ap, d_ap) if k == "ap" else (u_an, d_an)
            done[k] = u * xp.expand_dims(ga / xp.where(d > 0, d, xp.ones_like(d)), axis=-1)
        return done[k]

    return lambda: term("ap") - term("an"), lambda: -term("ap"), lambda: term("an")


_TRIPLET = Primitive("triplet_margin", _triplet_fwd, _triplet_partials, vjp=_triplet_vjp, event_axis=-1)


@loss
def triplet_margin(anchor: Any, positive: Any, negative: Any, /, *, margin: float = 1.0, p: float = 2.0,
                   eps: float = 1e-6, swap: bool = False, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Triplet margin loss with torch's pairwise distance.

    .. math::
        \ell_i = \max\big(d(a_i, p_i) - d(a_i, n_i) + m,\; 0\big),
        \qquad d(x, y) = \lVert x - y + \epsilon \rVert_p

    Parameters
    ----------
    anchor, positive, negative : array
        Embeddings of the same shape ``(N, D)`` (or ``(D,)``); the distance
        runs over the last axis.
    margin : float, default 1.0
        Margin ``m >= 0``.
    p : float, default 2.0
        Norm degree, ``p > 0``.
    eps : float, default 1e-6
        Added to the difference before the norm (torch's convention): the
        distance of equal vectors is ``eps * D**(1/p)``, never 0, so the
        gradient stays finite.
    swap : bool, default False
        Use ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al.).
    sample_weight, reduction
        Per-sample weight ``(N,)`` and reduction, as everywhere.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-triplet losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Different shapes, integer inputs, ``margin < 0``, ``p <= 0``, ``eps < 0``.

    Notes
    -----
    The hinge passes the full gradient at exactly ``z = 0`` (torch's
    ``clamp_min``).

    See Also
    --------
    torch.nn.functional.triplet_margin_loss : ``F.triplet_margin_loss(anchor, positive, negative,
        margin=margin, p=p, eps=eps, swap=swap)`` (equal in value and gradient).
    optax.losses.triplet_margin_loss : equal only with ``eps=0`` on both sides (optax puts eps inside
        the root).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[1.0, 0.0]])
    >>> round(float(xploss.triplet_margin(a, p, n, eps=0.0)), 6)
    5.0
    """
    fn = "triplet_margin"
    be = resolve(fn, {"anchor": anchor, "positive": positive, "negative": negative, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "anchor", xp, anchor)
    if anchor.ndim < 1:
        raise _checks.error(fn, "anchor", "an array of shape (N, D) or (D,)", "a 0-d array")
    for name, x in (("positive", positive), ("negative", negative)):
        _checks.floating(fn, name, xp, x)
        _checks.same_shape(fn, ("anchor", anchor), (name, x))
        _checks.same_dtype(fn, (name, x), ("anchor", anchor))
    margin = _checks.number(fn, "margin", margin, low=0.0)
    p = _checks.number(fn, "p", p, low=0.0, low_open=True)
    eps = _checks.number(fn, "eps", eps, low=0.0)
    sample_weight = _checks.weight(fn, xp, sample_weight, anchor, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _TRIPLET, (anchor, positive, negative), sample_weight=sample_weight, reduction=reduction,
                 margin=margin, p=p, eps=eps, swap=bool(swap))
