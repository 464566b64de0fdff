"""In-batch contrastive losses: NT-Xent, InfoNCE, SupCon, CLIP, Circle.

The first four share one softmax-contrastive core: logits ``Z = scale · Q̂ K̂ᵀ (+ bias)`` between
(normalised) queries and keys, a candidate mask (a sample is not its own candidate when ``Q`` and ``K`` are
one set) and, per row, a target distribution ``q_i`` over the candidates (one index: the other view, the
diagonal; or uniform over the keys of the same label).  The per-row loss is
``f_i = LSE_cand(Z_i) − Σ_j q_ij Z_ij`` and its VJP ``G_i = g_i (softmax_cand(Z_i) − q_i)``, mapped back
through the matmul, the normalisation and the scale (``d scale = Σ G ∘ Q̂K̂ᵀ``).

Memory: the forward and the backward run over blocks of rows of ``Q`` (a Python loop over static slices,
traceable by jax.jit, tf.function and torch.compile), so that only a ``(block, M)`` logits buffer exists at
a time (``block = max(1, 2**22 // M)``); the residuals are O(N·D + N): the normalised inputs, their norms and
the per-row log-sum-exp (CLIP: the column log-sum-exp too, accumulated across row blocks with a running
maximum).  The backward recomputes each block's logits.

Circle (Sun et al.) is written on its own from the ``_metric`` blocks: its ``(N, N)`` similarity matrix is
formed whole.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from . import _metric

__all__ = ["nt_xent", "info_nce", "supcon", "clip", "circle"]

BLOCK_ELEMENTS = 2 ** 22  # logits entries of one row block (16 MiB in float32)


def _block_rows(m: int | None) -> int:
    """Rows of ``Q`` per block for ``M`` keys (0: one block, sizes unknown while tracing)."""
    if m is None:
        return 0
    return max(1, BLOCK_ELEMENTS // max(int(m), 1))


def _spans(n: int | None, block: int) -> list[tuple[int, int | None]]:
    if n is None or block <= 0 or block >= n:
        return [(0, n)]
    return [(s, min(s + block, n)) for s in range(0, n, block)]


# -- the softmax-contrastive core ------------------------------------------------------------

def _prepare(xp: Any, x: Any, normalize: bool) -> tuple[Any, Any]:
    """``(x̂, ||x||)`` or ``(x, None)``."""
    if normalize:
        return _metric.normalize(xp, x)
    return x, None


def _back(xp: Any, xh: Any, n: Any, g: Any) -> Any:
    return g if n is None else _metric.normalize_vjp(xp, xh, n, g)


def _partners(xp: Any, kh: Any, n: int, shift: int) -> Any:
    """The target key of each query row ``i``: row ``(i + shift) mod M`` of ``kh`` (``(n, D)``, static slices)."""
    if shift == 0:
        return kh[:n, :]
    return xp.concat([kh[shift:, :], kh[:shift, :]], axis=0)[:n, :]


def _unpartner(xp: Any, dt: Any, m: int, shift: int) -> Any:
    """The adjoint of :func:`_partners`: ``(n, D)`` cotangents of the target rows back to ``(M, D)``."""
    n = dt.shape[0]
    if shift == 0:
        return dt if n == m else xp.concat([dt, xp.zeros((m - n, dt.shape[1]), dtype=dt.dtype)], axis=0)
    return xp.concat([dt[m - shift:, :], dt[:m - shift, :]], axis=0)  # one set (n == m): roll back


def _logits(xp: Any, qh: Any, kht: Any, scale: Any, bias: Any, s: int, e: int | None, same: bool) -> Any:
    """One row block of ``Z = scale · Q̂ K̂ᵀ (+ bias)`` (the scale folded into the rows: O(b·D)), the
    self-similarities at ``-inf`` when ``Q`` and ``K`` are one set (not candidates)."""
    qb = qh[s:e, :]
    Z = (scale * qb) @ kht
    if bias is not None:
        Z = Z + bias
    if same:
        rows = xp.arange(s, qh.shape[0] if e is None else e)
        Z = xp.where(rows[:, None] == xp.arange(kht.shape[-1])[None, :], xp.full_like(Z, -math.inf), Z)
    return Z


def _lse(xp: Any, Z: Any) -> Any:
    """Row log-sum-exp ``(b,)`` (``-inf`` entries are not candidates; finite for ±1e4-scale logits)."""
    mx = xp.max(Z, axis=-1, keepdims=True)
    mx = xp.where(xp.isfinite(mx), mx, xp.zeros_like(mx))
    return xp.log(xp.sum(xp.exp(Z - mx), axis=-1)) + mx[:, 0]


def _finite(xp: Any, v: Any) -> Any:
    return xp.where(xp.isfinite(v), v, xp.zeros_like(v))


def _core_forward(xp: Any, qh: Any, kh: Any, scale: Any, bias: Any, *, same: bool, shift: int | None, ql: Any,
                  kl: Any, cols: bool, block: int) -> tuple[Any, Any, Any, Any, Any]:
    """Per-row ``(f, lse, npos, target logit, col_lse)``: the loss ``LSE − Σ q Z`` (0 for a row without
    positives), its log-sum-exp, its positive count (None for one-index targets), the target logit
    (one-index targets) and, for ``cols`` (CLIP), the column log-sum-exp."""
    kht = xp.matrix_transpose(kh)
    n = qh.shape[0]
    fs, lses, nps = [], [], []
    zt = None
    if shift is not None:  # the target logit by row dot products: O(N·D)
        zt = scale * xp.sum(qh * _partners(xp, kh, n, shift), axis=-1)
        zt = zt if bias is None else zt + bias
    cmax = csum = None
    for s, e in _spans(n, block):
        Z = _logits(xp, qh, kht, scale, bias, s, e, same)
        lse = _lse(xp, Z)
        lses.append(lse)
        if shift is None:
            tgt = ql[s:e][:, None] == kl[None, :]
            if same:
                tgt = xp.logical_and(tgt, xp.isfinite(Z))
            npos = xp.sum(xp.astype(tgt, Z.dtype), axis=-1)
            has = npos > 0
            mean_t = xp.sum(xp.where(tgt, Z, xp.zeros_like(Z)), axis=-1) / xp.where(has, npos, xp.ones_like(npos))
            fs.append(xp.where(has, lse - mean_t, xp.zeros_like(npos)))
            nps.append(npos)
        if cols:  # running column log-sum-exp (no candidate mask: CLIP)
            bmax = xp.max(Z, axis=0)
            nmax = bmax if cmax is None else xp.maximum(cmax, bmax)
            part = xp.sum(xp.exp(Z - nmax[None, :]), axis=0)
            csum = part if csum is None else csum * xp.exp(cmax - nmax) + part
            cmax = nmax

    def cat(parts: list) -> Any:
        return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)

    lse = cat(lses)
    if shift is None:
        f, npos = cat(fs), cat(nps)
    else:  # >= 0 (the target is a candidate): clamp the rounding of two different sums of the same products
        f, npos = xp.maximum(lse - zt, xp.zeros_like(zt)), None
    col_lse = None if not cols else xp.log(csum) + cmax
    return f, lse, npos, zt, col_lse


def _core_vjp(xp: Any, qh: Any, kh: Any, scale: Any, bias: Any, g_rows: Any, lse: Any, *, same: bool,
              shift: int | None, ql: Any, kl: Any, g_cols: Any = None, col_lse: Any = None,
              block: int) -> tuple[Any, Any, Any, Any]:
    """Cotangents ``(dQ̂, dK̂, d scale, d bias)`` given ``g_rows`` (that of ``f``) and, for CLIP,
    ``g_cols`` (that of the column losses ``col_lse_j − Z_jj``).

    ``G = g (softmax(Z) − q)`` block by block; ``dQ̂ = s G K̂``, ``dK̂ = s Gᵀ Q̂``, ``d s = Σ G ∘ Q̂K̂ᵀ``
    (``= Σ (G K̂) ∘ Q̂``: O(N·D)); one-index targets enter through their rows, never a ``(b, M)`` mask."""
    kht = xp.matrix_transpose(kh)
    n, m = qh.shape[0], kh.shape[0]
    lse = _finite(xp, lse)
    gks = []
    dk = dbias = None
    for s, e in _spans(n, block):
        Z = _logits(xp, qh, kht, scale, bias, s, e, same)
        gb = g_rows[s:e]
        if shift is None:
            tgt = ql[s:e][:, None] == kl[None, :]
            if same:
                tgt = xp.logical_and(tgt, xp.isfinite(Z))
            tf = xp.astype(tgt, Z.dtype)
            npos = xp.sum(tf, axis=-1)
            has = npos > 0
            gb = xp.where(has, gb, xp.zeros_like(gb))
            share = gb / xp.where(has, npos, xp.ones_like(npos))
            G = gb[:, None] * xp.exp(Z - lse[s:e][:, None]) - share[:, None] * tf
        else:
            G = gb[:, None] * xp.exp(Z - lse[s:e][:, None])
        if g_cols is not None:
            G = G + g_cols[None, :] * xp.exp(Z - col_lse[None, :])
        gks.append(G @ kh)
        part = xp.matrix_transpose(G) @ qh[s:e, :]
        dk = part if dk is None else dk + part
        if bias is not None:
            db = xp.sum(G)
            dbias = db if dbias is None else dbias + db
    gk = gks[0] if len(gks) == 1 else xp.concat(gks, axis=0)
    if shift is not None:  # the target terms −g_t at (i, t_i): rows of K̂ and Q̂
        gt = g_rows if g_cols is None else g_rows + g_cols[:n]
        gk = gk - gt[:, None] * _partners(xp, kh, n, shift)
        dk = dk - _unpartner(xp, gt[:, None] * qh, m, shift)
        if bias is not None:
            dbias = dbias - xp.sum(gt)
    dscale = xp.sum(gk * qh)
    return scale * gk, scale * dk, dscale, dbias


# -- NT-Xent -----------------------------------------------------------------------------------

def _views(xp: Any, z1: Any, z2: Any) -> Any:
    return xp.concat([z1, z2], axis=0)


def _ntxent_fwd(xp: Any, z1: Any, z2: Any, tau: Any, *, normalize: bool, directions: str, block: int) -> tuple:
    n = z1.shape[0]
    xh, nx = _prepare(xp, _views(xp, z1, z2), normalize)
    f, lse, _, _, _ = _core_forward(xp, xh, xh, 1.0 / tau, None, same=True, shift=n, ql=None, kl=None, cols=False,
                                    block=block)
    c = 0.5 if directions == "mean" else 1.0
    out = c * (f[:n] + f[n:])
    return out, ((xh, nx, lse) if normalize else (lse,))


def _ntxent_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, normalize: bool, directions: str,
                block: int) -> tuple:
    z1, z2, tau = arrays
    n = z1.shape[0]
    if normalize:
        xh, nx, lse = res
    else:
        (lse,), xh, nx = res, _views(xp, z1, z2), None
    c = 0.5 if directions == "mean" else 1.0
    gf = c * xp.concat([g, g], axis=0)
    dq, dk, dscale, _ = _core_vjp(xp, xh, xh, 1.0 / tau, None, gf, lse, same=True, shift=n, ql=None, kl=None,
                                  block=block)
    dx = _back(xp, xh, nx, dq + dk)
    return dx[:n, :], dx[n:, :], -dscale / (tau * tau)


_NTXENT = Primitive("nt_xent", _ntxent_fwd, vjp=_ntxent_vjp)


# -- InfoNCE -----------------------------------------------------------------------------------

def _infonce_fwd(xp: Any, q: Any, k: Any, tau: Any, ql: Any, kl: Any, *, normalize: bool, block: int) -> tuple:
    qh, nq = _prepare(xp, q, normalize)
    kh, nk = _prepare(xp, k, normalize)
    shift = 0 if ql is None else None
    f, lse, npos, _, _ = _core_forward(xp, qh, kh, 1.0 / tau, None, same=False, shift=shift, ql=ql, kl=kl,
                                       cols=False, block=block)
    valid = xp.ones_like(f) if npos is None else xp.astype(npos > 0, f.dtype)
    return f, ((qh, nq, kh, nk, lse) if normalize else (lse,)), (valid, None)


def _infonce_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, normalize: bool, block: int) -> tuple:
    q, k, tau, ql, kl = arrays
    if normalize:
        qh, nq, kh, nk, lse = res
    else:
        (lse,), qh, nq, kh, nk = res, q, None, k, None
    shift = 0 if ql is None else None
    dq, dk, dscale, _ = _core_vjp(xp, qh, kh, 1.0 / tau, None, g, lse, same=False, shift=shift, ql=ql, kl=kl,
                                  block=block)
    return _back(xp, qh, nq, dq), _back(xp, kh, nk, dk), -dscale / (tau * tau), None, None


_INFONCE = Primitive("info_nce", _infonce_fwd, vjp=_infonce_vjp, counted=True)


# -- SupCon ------------------------------------------------------------------------------------

def _shape3(features: Any) -> tuple[int, int, int]:
    """``(N, V, D)`` of ``(N, V, D)`` or ``(N, D)`` (one view) features."""
    if features.ndim == 2:
        return features.shape[0], 1, features.shape[1]
    return tuple(features.shape)


def _stack(xp: Any, features: Any) -> Any:
    """``(N, V, D)`` -> ``(V·N, D)``, view-major (HobbitLong's ``cat(unbind(features, 1))``); 2-d as it is."""
    if features.ndim == 2:
        return features
    n, v, d = features.shape
    return xp.reshape(xp.permute_dims(features, (1, 0, 2)), (v * n, d))


def _supcon_fwd(xp: Any, feats: Any, labels: Any, tau: Any, *, base_temperature: float | None, normalize: bool,
                count: str, block: int) -> tuple:
    n, v, _ = _shape3(feats)
    xh, nx = _prepare(xp, _stack(xp, feats), normalize)
    lab = xp.concat([labels] * v, axis=0) if v > 1 else labels
    f, lse, npos, _, _ = _core_forward(xp, xh, xh, 1.0 / tau, None, same=True, shift=None, ql=lab, kl=lab,
                                       cols=False, block=block)
    factor = 1.0 if base_temperature is None else tau / base_temperature
    per = xp.sum(xp.reshape(f, (v, n)), axis=0)
    out = factor * per
    if count == "all":
        valid = xp.zeros_like(out) + float(v)
    elif count == "positives":
        valid = xp.sum(xp.reshape(xp.astype(npos > 0, f.dtype), (v, n)), axis=0)
    else:  # "nonzero": pytorch-metric-learning's AvgNonZeroReducer over anchors
        valid = xp.sum(xp.reshape(xp.astype(factor * f > 0, f.dtype), (v, n)), axis=0)
    res = (xh, nx, lse, per) if normalize else (lse, per)
    return out, res, (valid, None)


def _supcon_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, base_temperature: float | None, normalize: bool,
                count: str, block: int) -> tuple:
    feats, labels, tau = arrays
    n, v, d = _shape3(feats)
    if normalize:
        xh, nx, lse, per = res
    else:
        (lse, per), xh, nx = res, _stack(xp, feats), None
    lab = xp.concat([labels] * v, axis=0) if v > 1 else labels
    factor = 1.0 if base_temperature is None else tau / base_temperature
    gf = xp.concat([factor * g] * v, axis=0) if v > 1 else factor * g
    dq, dk, dscale, _ = _core_vjp(xp, xh, xh, 1.0 / tau, None, gf, lse, same=True, shift=None, ql=lab, kl=lab,
                                  block=block)
    dx = _back(xp, xh, nx, dq + dk)
    dfeat = dx if feats.ndim == 2 else xp.permute_dims(xp.reshape(dx, (v, n, d)), (1, 0, 2))
    dtau = -dscale / (tau * tau)
    if base_temperature is not None:  # the factor τ / τ_base is differentiated too
        dtau = dtau + xp.sum(g * per) / base_temperature
    return dfeat, None, dtau


_SUPCON = Primitive("supcon", _supcon_fwd, vjp=_supcon_vjp, counted=True)


# -- CLIP --------------------------------------------------------------------------------------

def _clip_fwd(xp: Any, img: Any, txt: Any, scale: Any, bias: Any, *, normalize: bool, block: int) -> tuple:
    ih, ni = _prepare(xp, img, normalize)
    th, nt = _prepare(xp, txt, normalize)
    _, lse, _, diag, col_lse = _core_forward(xp, ih, th, scale, bias, same=False, shift=0, ql=None, kl=None,
                                             cols=True, block=block)
    out = 0.5 * (lse + col_lse) - diag
    out = xp.maximum(out, xp.zeros_like(out))  # >= 0 but for rounding (the diagonal is in both sums)
    return out, ((ih, ni, th, nt, lse, col_lse) if normalize else (lse, col_lse))


def _clip_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, normalize: bool, block: int) -> tuple:
    img, txt, scale, bias = arrays
    if normalize:
        ih, ni, th, nt, lse, col_lse = res
    else:
        (lse, col_lse), ih, ni, th, nt = res, img, None, txt, None
    half = 0.5 * g
    dq, dk, dscale, dbias = _core_vjp(xp, ih, th, scale, bias, half, lse, same=False, shift=0, ql=None, kl=None,
                                      g_cols=half, col_lse=col_lse, block=block)
    return _back(xp, ih, ni, dq), _back(xp, th, nt, dk), dscale, dbias


_CLIP = Primitive("clip", _clip_fwd, vjp=_clip_vjp)


# -- Circle ------------------------------------------------------------------------------------

def _circle_terms(xp: Any, xh: Any, labels: Any, *, gamma: float, margin: float, remove_diagonal: bool) -> tuple:
    S = xh @ xp.matrix_transpose(xh)
    zero = xp.zeros_like(S)
    D = xp.maximum(1.0 - S, zero)
    same = labels[:, None] == labels[None, :]
    neg = xp.logical_not(same)
    pos = xp.logical_and(same, xp.logical_not(_metric.diagonal_of(xp, S))) if remove_diagonal else same
    ap = xp.where(pos, xp.maximum(margin + D, zero), zero)
    an = xp.where(neg, xp.maximum(1.0 + margin - D, zero), zero)
    pl = -gamma * ap * (margin - D)
    nl = gamma * an * (1.0 - margin - D)
    lp = _metric.masked_logsumexp(xp, pl, pos)[:, 0]
    ln = _metric.masked_logsumexp(xp, nl, neg)[:, 0]
    has = xp.logical_and(xp.isfinite(lp), xp.isfinite(ln))
    t = xp.where(has, lp + ln, xp.zeros_like(lp))
    return S, D, pos, neg, ap, an, pl, nl, lp, ln, has, t


def _softplus(xp: Any, t: Any) -> Any:
    return xp.maximum(t, xp.zeros_like(t)) + xp.log1p(xp.exp(-xp.abs(t)))


def _circle_fwd(xp: Any, x: Any, labels: Any, *, gamma: float, margin: float, remove_diagonal: bool,
                normalize: bool, detach_weights: bool) -> tuple:
    xh, nx = _prepare(xp, x, normalize)
    *_, has, t = _circle_terms(xp, xh, labels, gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)
    out = xp.where(has, _softplus(xp, t), xp.zeros_like(t))
    valid = xp.astype(out > 0, out.dtype)  # Keras' mask loss > 0, PML's AvgNonZeroReducer
    return out, ((xh, nx) if normalize else ()), (valid, None)


def _circle_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, gamma: float, margin: float, remove_diagonal: bool,
                normalize: bool, detach_weights: bool) -> tuple:
    x, _ = arrays
    xh, nx = res if normalize else (x, None)
    S, D, pos, neg, ap, an, pl, nl, lp, ln, has, t = _circle_terms(
        xp, xh, labels=arrays[1], gamma=gamma, margin=margin, remove_diagonal=remove_diagonal)
    zero = xp.zeros_like(S)
    sig = 1.0 / (1.0 + xp.exp(-t))
    gt = xp.where(has, g * sig, xp.zeros_like(t))
    gp = gt[:, None] * _metric.masked_softmax(xp, pl, pos, lp[:, None])
    gn = gt[:, None] * _metric.masked_softmax(xp, nl, neg, ln[:, None])
    if detach_weights:  # PML: α_p, α_n are constants
        dpl, dnl = gamma * ap, -gamma * an
    else:  # Keras: d α / d D through the relu (0 at its kink)
        dap = xp.astype(xp.logical_and(pos, margin + D > 0), S.dtype)
        dan = xp.astype(xp.logical_and(neg, 1.0 + margin - D > 0), S.dtype)
        dpl = gamma * (ap - dap * (margin - D))
        dnl = -gamma * (dan * (1.0 - margin - D) + an)
    gD = gp * dpl + gn * dnl
    gS = xp.where(1.0 - S >= 0, -gD, zero)  # the clamp D = max(1 − S, 0) passes at D = 0
    dxh = (gS + xp.matrix_transpose(gS)) @ xh
    return _back(xp, xh, nx, dxh), None


_CIRCLE = Primitive("circle", _circle_fwd, vjp=_circle_vjp, counted=True)


# -- validation --------------------------------------------------------------------------------

def _embeddings(fn: str, xp: Any, name: str, x: Any, ndim: int = 2, what: str = "(N, D)") -> Any:
    _checks.floating(fn, name, xp, x)
    if x.ndim != ndim:
        raise _checks.error(fn, name, f"an array of shape {what}", f"shape {tuple(_checks.shape_of(x))}")
    return x


def _static_batch(fn: str, name: str, x: Any) -> None:
    """The row blocks and the view pairing need the batch size while tracing: an unknown one (TensorFlow's
    ``None``: ``tf.function(input_signature=...)``, Keras ``fit`` retracing for a smaller last batch) is an
    error naming the fix, not a backend failure."""
    if _checks.shape_of(x)[0] is None:
        raise _checks.error(fn, name, "a batch size known while tracing (this loss pairs and blocks the rows of the "
                            "batch)", "a batch of unknown size (None)",
                            hint="Trace with a fixed batch (tf.TensorSpec([N, D]); Keras: equal batches, e.g. "
                                 "drop_remainder=True in tf.data).")


def _labels(fn: str, xp: Any, name: str, labels: Any, ref: tuple[str, Any], axis: int = 0) -> Any:
    expected = f"integer labels of shape (N,), N = `{ref[0]}`.shape[{axis}]"
    if not hasattr(labels, "dtype") or not xp.isdtype(labels.dtype, "integral"):
        received = f"dtype {_checks.dtype_name(labels.dtype)}" if hasattr(labels, "dtype") else repr(labels)
        raise _checks.error(fn, name, expected, received, kind=_checks.XplossTypeError)
    if labels.ndim != 1:
        raise _checks.error(fn, name, expected, f"shape {tuple(_checks.shape_of(labels))}")
    _checks.dims_match(fn, name, expected, labels, ref[1], [(0, axis)])
    return labels


def _features(fn: str, xp: Any, a: tuple[str, Any], b: tuple[str, Any], rows: bool) -> None:
    """``b`` floating of ``a``'s dtype and feature size (and row count when ``rows``)."""
    _embeddings(fn, xp, b[0], b[1])
    _checks.same_dtype(fn, b, a)
    axes = [(0, 0), (1, 1)] if rows else [(1, 1)]
    expected = (f"the shape of `{a[0]}`" if rows else f"the feature size of `{a[0]}`") + \
        f" {tuple(_checks.shape_of(a[1]))}"
    _checks.dims_match(fn, b[0], expected, b[1], a[1], axes)


def _array(value: Any) -> Any:
    """A hyperparameter given as an array (to resolve the backend from), None for a Python number."""
    return None if isinstance(value, (int, float)) else value


_flag = _checks.flag


_choice = _checks.choice


# -- public losses -----------------------------------------------------------------------------

@loss
def nt_xent(z1: Any, z2: Any, /, *, temperature: Any = 0.5, normalize: bool = True, directions: str = "mean",
            sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""NT-Xent (SimCLR): the normalised temperature-scaled cross-entropy of two views.

    The ``2N`` rows ``x = [z_1; z_2]`` are L2-normalised; each row ``a`` is an anchor whose positive
    ``p(a)`` is the other view of its sample and whose candidates are every other row:

    .. math::
        \ell_a = -\log \frac{\exp(\hat x_a\cdot\hat x_{p(a)}/\tau)}
        {\sum_{b \ne a} \exp(\hat x_a\cdot\hat x_b/\tau)},\qquad L_i = \tfrac12\,(\ell_i + \ell_{N+i})

    (``directions="sum"``: ``L_i = ℓ_i + ℓ_{N+i}``).

    Parameters
    ----------
    z1, z2 : array
        The two views ``(N, D)``: row ``i`` of each is the same sample.
    temperature : float or 0-d array, default 0.5
        ``τ > 0``; a differentiable 0-d array (a ``torch.nn.Parameter``, ``tf.Variable``, JAX array) is
        learned: its gradient is returned.
    normalize : bool, default True
        L2-normalise the rows first (``torch.nn.functional.normalize``, eps 1e-12); False: raw dot products.
    directions : {"mean", "sum"}, default "mean"
        Per sample, the mean of its two anchors' losses (optax / pytorch-metric-learning) or their sum
        (SimCLR's ``add_contrastive_loss``: twice the former).
    sample_weight, reduction
        Per-sample weight ``(N,)`` and reduction, as everywhere.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-sample losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``z1`` and ``z2`` of different shapes or dtypes, not 2-d, integer; ``temperature <= 0``; an unknown
        ``directions``.

    Notes
    -----
    Self-similarities are excluded from the candidates (SimCLR subtracts 1e9 instead: the same value).
    The log-sum-exp subtracts the row maximum: ±1e4-scale logits stay finite.  A zero row normalises to 0
    and has the finite gradient ``g / eps`` (torch's convention).  The logits are formed by blocks of rows
    (at most ``2**22`` entries at a time) and recomputed in the backward pass: memory O(N·D) beyond one block.

    See Also
    --------
    optax.losses.ntxent : ``ntxent(concat([z1, z2]), concat([arange(N), arange(N)]), τ)`` equals the default
        ``"mean"`` (value and gradient, away from zero-norm rows: optax clamps the squared norm at eps).
    pytorch_metric_learning.losses.NTXentLoss : ``NTXentLoss(τ)(concat([z1, z2]), labels)``, the same.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(xploss.nt_xent(z, z, temperature=1.0)), 6)
    0.551445
    """
    fn = "nt_xent"
    be = resolve(fn, {"z1": z1, "z2": z2, "temperature": _array(temperature), "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, "z1", z1)
    _static_batch(fn, "z1", z1)
    _features(fn, xp, ("z1", z1), ("z2", z2), rows=True)
    tau, invalid = _checks.learnable(fn, "temperature", be, temperature, z1)
    normalize = _flag(fn, "normalize", normalize)
    directions = _choice(fn, "directions", directions, ("mean", "sum"))
    sample_weight = _checks.weight(fn, xp, sample_weight, z1, -1)
    _checks.reduction(fn, reduction)
    m = None if z1.shape[0] is None else 2 * int(z1.shape[0])
    return apply(be, _NTXENT, (z1, z2, tau), sample_weight=sample_weight, invalid=invalid, reduction=reduction,
                 normalize=normalize, directions=directions, block=_block_rows(m))


@loss
def info_nce(query: Any, keys: Any, /, *, temperature: Any = 0.1, labels: Any = None, key_labels: Any = None,
             normalize: bool = True, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""InfoNCE: each query's cross-entropy over the keys, with in-batch (and extra) negatives.

    .. math::
        \ell_i = \log \sum_{j=1}^{M} e^{\hat q_i\cdot\hat k_j/\tau} - \sum_j t_{ij}\,\hat q_i\cdot\hat k_j/\tau

    where ``t_i`` is one-hot on key ``i`` (the diagonal; keys ``N..M-1`` are negatives only) or, with
    ``labels``, uniform over the keys of the query's label.

    Parameters
    ----------
    query : array
        Queries ``(N, D)``.
    keys : array
        Keys ``(M, D)``, ``M >= N`` without labels (key ``i`` is the positive of query ``i``).
    temperature : float or 0-d array, default 0.1
        ``τ > 0``, learnable as in :func:`nt_xent`.
    labels, key_labels : array, optional
        Integer labels ``(N,)`` of the queries and ``(M,)`` of the keys (``key_labels`` defaults to ``labels``
        when ``M == N``): every key of the query's label is a positive, the target uniform over them.
    normalize : bool, default True
        L2-normalise queries and keys first.
    sample_weight, reduction
        Per-query weight ``(N,)`` and reduction.  ``"mean"`` divides by the number of queries that have a
        positive key.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-query losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Mismatched feature sizes or dtypes, ``M < N`` without labels, labels of another shape or a floating
        dtype, ``key_labels`` without ``labels``, ``temperature <= 0``.

    Notes
    -----
    A query without a positive key (labels only) has loss 0, a zero gradient, and is left out of the mean
    (``reduction="count"`` gives the number of queries counted).  The uniform target over several positives
    is SupCon's ("outside" form): ``ℓ_i = LSE_j Z_ij − mean_{j ∈ P(i)} Z_ij``, every key, positives included,
    in the denominator.

    See Also
    --------
    torch.nn.functional.cross_entropy : ``F.cross_entropy(q̂ k̂ᵀ / τ, arange(N))`` equals the diagonal form.
    pytorch_metric_learning.losses.SupConLoss : ``SupConLoss(τ)(query, labels, ref_emb=keys,
        ref_labels=key_labels)`` equals the labelled form when every query has a positive.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(xploss.info_nce(q, q, temperature=1.0)), 6)
    0.313262
    """
    fn = "info_nce"
    be = resolve(fn, {"query": query, "keys": keys, "temperature": _array(temperature), "labels": labels,
                      "key_labels": key_labels, "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, "query", query)
    _features(fn, xp, ("query", query), ("keys", keys), rows=False)
    n, m = _checks.shape_of(query)[0], _checks.shape_of(keys)[0]
    if labels is None:
        if key_labels is not None:
            raise _checks.error(fn, "key_labels", "None when `labels` is None (the diagonal form)",
                                "an array", hint="Pass labels= too, or drop key_labels.")
        if n is not None and m is not None and m < n:
            raise _checks.error(fn, "keys", f"at least as many rows as `query` ({n}): key i is the positive of "
                                "query i", f"shape {tuple(_checks.shape_of(keys))}")
    else:
        _labels(fn, xp, "labels", labels, ("query", query))
        if key_labels is None:
            if n is not None and m is not None and m != n:
                raise _checks.error(fn, "key_labels", f"integer labels of shape ({m},) (the keys' labels; "
                                    "they default to `labels` only when M == N)", "None")
            key_labels = labels
        else:
            _labels(fn, xp, "key_labels", key_labels, ("keys", keys))
    tau, invalid = _checks.learnable(fn, "temperature", be, temperature, query)
    normalize = _flag(fn, "normalize", normalize)
    sample_weight = _checks.weight(fn, xp, sample_weight, query, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _INFONCE, (query, keys, tau, labels, key_labels), sample_weight=sample_weight,
                 invalid=invalid, reduction=reduction, normalize=normalize, block=_block_rows(m))


@loss
def supcon(features: Any, labels: Any, /, *, temperature: Any = 0.1, base_temperature: float | None = 0.07,
           normalize: bool = True, count: str = "positives", sample_weight: Any = None,
           reduction: str = "mean") -> Any:
    r"""Supervised contrastive loss (Khosla et al. 2020), HobbitLong/SupContrast ``contrast_mode="all"``.

    Every view of every sample is an anchor ``a``; its candidates ``A(a)`` are all other views, its
    positives ``P(a)`` those of the same label:

    .. math::
        \ell_a = -\frac{\tau}{\tau_b}\,\frac{1}{|P(a)|}\sum_{p \in P(a)}
        \log \frac{\exp(\hat x_a\cdot\hat x_p/\tau)}{\sum_{b \in A(a)} \exp(\hat x_a\cdot\hat x_b/\tau)},
        \qquad L_i = \sum_{v} \ell_{(i, v)}

    Parameters
    ----------
    features : array
        ``(N, D)`` (one view) or ``(N, V, D)`` (``V`` views of each sample).
    labels : array
        Integer labels ``(N,)``.
    temperature : float or 0-d array, default 0.1
        ``τ > 0``, learnable as in :func:`nt_xent`.
    base_temperature : float or None, default 0.07
        ``τ_b > 0`` of the factor ``τ / τ_b``; None: no factor (pytorch-metric-learning).
    normalize : bool, default True
        L2-normalise the features first (HobbitLong's loss expects normalised features; PML normalises).
    count : {"positives", "all", "nonzero"}, default "positives"
        What ``"mean"`` divides by: the anchors that have a positive; every anchor (HobbitLong's ``.mean()``);
        the anchors with a loss > 0 (PML's ``AvgNonZeroReducer``).
    sample_weight, reduction
        Per-sample weight ``(N,)`` (all views of a sample) and reduction.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-sample losses (the sum over the sample's views) for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``features`` not 2-d or 3-d or not floating, labels of another length or floating,
        ``temperature <= 0``, ``base_temperature <= 0``, an unknown ``count``.

    Notes
    -----
    An anchor without a positive (a singleton class, one view) has loss 0 and a zero gradient
    (HobbitLong's later fix: no 0/0), and ``count`` decides whether it is in the mean.  The row maximum is
    subtracted (finite for ±1e4-scale logits).  The factor ``τ / τ_b`` is differentiated with a learnable
    ``τ``.

    See Also
    --------
    pytorch_metric_learning.losses.SupConLoss : ``SupConLoss(τ)(x, labels)`` equals
        ``supcon(x, labels, temperature=τ, base_temperature=None, count="nonzero")``.
    optax.losses.ntxent : with two views per label (labels ``[0..N-1]`` twice) SupCon is NT-Xent:
        ``ntxent(concat(views), labels, τ)`` equals ``supcon(stack(views, 1), arange(N),
        base_temperature=None)`` (``"mean"`` divides by the 2N anchors).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    >>> round(float(xploss.supcon(x, np.array([0, 0, 1]), temperature=1.0, base_temperature=None)), 6)
    0.328523
    """
    fn = "supcon"
    be = resolve(fn, {"features": features, "labels": labels, "temperature": _array(temperature),
                      "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "features", xp, features)
    if features.ndim not in (2, 3):
        raise _checks.error(fn, "features", "an array of shape (N, D) or (N, V, D)",
                            f"shape {tuple(_checks.shape_of(features))}")
    _static_batch(fn, "features", features)
    _labels(fn, xp, "labels", labels, ("features", features))
    tau, invalid = _checks.learnable(fn, "temperature", be, temperature, features)
    if base_temperature is not None:
        base_temperature = _checks.number(fn, "base_temperature", base_temperature, low=0.0, low_open=True)
    normalize = _flag(fn, "normalize", normalize)
    count = _choice(fn, "count", count, ("positives", "all", "nonzero"))
    if sample_weight is not None and getattr(sample_weight, "ndim", 0) > 1:
        raise _checks.error(fn, "sample_weight", "a per-sample weight of shape (N,)",
                            f"shape {tuple(_checks.shape_of(sample_weight))}")
    sample_weight = _checks.weight(fn, xp, sample_weight, features, 1 if features.ndim == 3 else -1)
    _checks.reduction(fn, reduction)
    shape = _checks.shape_of(features)
    m = None if None in shape[:-1] else math.prod(shape[:-1])
    out = apply(be, _SUPCON, (features, labels, tau), sample_weight=sample_weight, invalid=invalid,
                reduction=reduction, base_temperature=base_temperature, normalize=normalize, count=count,
                block=_block_rows(m))
    return out


@loss
def clip(image_embeddings: Any, text_embeddings: Any, logit_scale: Any, /, *, logit_bias: Any = None,
         normalize: bool = True, sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""CLIP's symmetric InfoNCE (open_clip ``ClipLoss``): image→text and text→image cross-entropies.

    With ``Z = s · Î T̂ᵀ + b`` (``s`` the already-exponentiated logit scale):

    .. math::
        L_i = \tfrac12\Big(\log\sum_j e^{Z_{ij}} + \log\sum_j e^{Z_{ji}}\Big) - Z_{ii}

    Parameters
    ----------
    image_embeddings, text_embeddings : array
        ``(N, D)`` each; row ``i`` of both is a matching pair.
    logit_scale : float or 0-d array
        ``s > 0`` (open_clip passes ``logit_scale.exp()``); a differentiable 0-d array is learned.
    logit_bias : float or 0-d array, optional
        ``b`` added to every logit (learnable likewise).
    normalize : bool, default True
        L2-normalise both first (open_clip's model does it before the loss: ``F.normalize``).
    sample_weight, reduction
        Per-pair weight ``(N,)`` and reduction; ``"mean"`` is ``(L_img + L_txt) / 2`` of open_clip.

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-pair losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Embeddings of different shapes or dtypes, not 2-d; ``logit_scale <= 0``; a non-finite bias.

    Notes
    -----
    The row and column log-sum-exps are accumulated over row blocks (a running maximum for the columns):
    memory O(N·D) beyond one ``(block, N)`` logits buffer, finite for ±1e4-scale logits.

    See Also
    --------
    torch.nn.functional.cross_entropy : ``(F.cross_entropy(s·Î T̂ᵀ, r) + F.cross_entropy(s·T̂ Îᵀ, r)) / 2``
        with ``r = arange(N)`` equals ``"mean"``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> e = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(xploss.clip(e, e, 1.0)), 6)
    0.313262
    """
    fn = "clip"
    be = resolve(fn, {"image_embeddings": image_embeddings, "text_embeddings": text_embeddings,
                      "logit_scale": _array(logit_scale), "logit_bias": _array(logit_bias),
                      "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, "image_embeddings", image_embeddings)
    _features(fn, xp, ("image_embeddings", image_embeddings), ("text_embeddings", text_embeddings), rows=True)
    scale, invalid = _checks.learnable(fn, "logit_scale", be, logit_scale, image_embeddings)
    bias = None
    if logit_bias is not None:
        bias, bad = _checks.learnable(fn, "logit_bias", be, logit_bias, image_embeddings, low=-math.inf)
        invalid = _checks.either(xp, invalid, bad)
    normalize = _flag(fn, "normalize", normalize)
    sample_weight = _checks.weight(fn, xp, sample_weight, image_embeddings, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _CLIP, (image_embeddings, text_embeddings, scale, bias), sample_weight=sample_weight,
                 invalid=invalid, reduction=reduction, normalize=normalize,
                 block=_block_rows(_checks.shape_of(text_embeddings)[0]))


@loss
def circle(embeddings: Any, labels: Any, /, *, gamma: float = 80.0, margin: float = 0.4,
           remove_diagonal: bool = True, normalize: bool = True, detach_weights: bool = False,
           sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Circle loss (Sun et al. 2020), Keras ``Circle`` semantics.

    With the cosine distance ``D_ij = max(1 − x̂_i·x̂_j, 0)``, positives ``P(i)`` (same label, ``j ≠ i``
    unless ``remove_diagonal=False``) and negatives ``N(i)`` (other labels):

    .. math::
        \alpha^p_{ij} = [m + D_{ij}]_+,\quad \alpha^n_{ij} = [1 + m - D_{ij}]_+,\qquad
        \ell_i = \operatorname{softplus}\Big(\log\sum_{j\in P(i)} e^{-\gamma\alpha^p_{ij}(m - D_{ij})}
        + \log\sum_{j\in N(i)} e^{\gamma\alpha^n_{ij}(1 - m - D_{ij})}\Big)

    Parameters
    ----------
    embeddings : array
        ``(N, D)``.
    labels : array
        Integer labels ``(N,)``.
    gamma : float, default 80.0
        Scale ``γ > 0``.
    margin : float, default 0.4
        Relaxation ``m >= 0``.
    remove_diagonal : bool, default True
        Exclude ``j = i`` from the positives (Keras' option).
    normalize : bool, default True
        L2-normalise the embeddings first (PML does; Keras expects normalised inputs and does not:
        ``normalize=False`` is Keras on any input).
    detach_weights : bool, default False
        Treat ``α^p``, ``α^n`` as constants in the gradient (PML) instead of differentiating them (Keras).
    sample_weight, reduction
        Per-sample weight ``(N,)`` and reduction; ``"mean"`` divides by the number of anchors with a loss
        > 0 (Keras' mask ``loss > 0``, PML's ``AvgNonZeroReducer``).

    Returns
    -------
    array
        Scalar, or ``(N,)`` per-anchor losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        Not 2-d or not floating embeddings, labels of another length or floating, ``gamma <= 0``,
        ``margin < 0``.

    Notes
    -----
    An anchor without a positive or without a negative has loss 0 and a zero gradient, and is left out of
    the mean.  Subgradients: the clamp ``max(1 − s, 0)`` passes the gradient at ``D = 0``, the relu of the
    weights has slope 0 at its kink.

    See Also
    --------
    keras.losses.Circle : ``Circle(gamma, margin, remove_diagonal)(labels, x)`` equals
        ``circle(x, labels, normalize=False)`` (values and gradients).
    pytorch_metric_learning.losses.CircleLoss : ``CircleLoss(m=margin, gamma=gamma)(x, labels)`` equals
        ``circle(x, labels, detach_weights=True)`` (values and gradients).

    Examples
    --------
    >>> import numpy as np, xploss
    >>> x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> round(float(xploss.circle(x, np.array([0, 0, 1, 1]), gamma=1.0)), 6)
    1.00764
    """
    fn = "circle"
    be = resolve(fn, {"embeddings": embeddings, "labels": labels, "sample_weight": sample_weight})
    xp = be.xp
    _embeddings(fn, xp, "embeddings", embeddings)
    _labels(fn, xp, "labels", labels, ("embeddings", embeddings))
    gamma = _checks.number(fn, "gamma", gamma, low=0.0, low_open=True)
    margin = _checks.number(fn, "margin", margin, low=0.0)
    remove_diagonal = _flag(fn, "remove_diagonal", remove_diagonal)
    normalize = _flag(fn, "normalize", normalize)
    detach_weights = _flag(fn, "detach_weights", detach_weights)
    sample_weight = _checks.weight(fn, xp, sample_weight, embeddings, -1)
    _checks.reduction(fn, reduction)
    return apply(be, _CIRCLE, (embeddings, labels), sample_weight=sample_weight, reduction=reduction,
                 gamma=gamma, margin=margin, remove_diagonal=remove_diagonal, normalize=normalize,
                 detach_weights=detach_weights)
