"""Connectionist temporal classification (Graves et al. 2006): :func:`ctc`.

One primitive with a fused VJP (``vjp``: JAX ``custom_vjp``; nothing is differentiated through the
recursion).  The kernel works in log space over the extended label sequence ``l'`` of length
``L = 2S + 1`` (a blank before, between and after the labels), time-major inside:

* forward variables ``α_t(s)`` by :func:`xploss._ops.scan` over ``t`` (one loop under ``jax.jit`` and
  ``tf.function``), frozen after a sequence's ``input_length``; the per-sequence ``log p`` reads
  ``α`` at ``2U`` and ``2U - 1`` (``U`` the label length);
* the VJP runs the backward variables ``β_t(s)`` by a reverse scan that also emits the state
  posteriors ``exp(α_t(s) + β_t(s) - log p)``; one batched product with the one-hot of ``l'`` gives
  the per-frame label posteriors ``γ_t(k)``, and the gradient w.r.t. the logits is
  ``softmax - γ`` (the log-softmax is fused);
* residuals: the stacked ``α`` (``T·N·L``), the per-frame log-sum-exp (``T·N``) and ``log p``.

The three-way log-sum-exp of the recursion is written so that an unreachable state (all ``-inf``) gives
``-inf`` with a zero (not NaN) derivative: autodiff of the forward (the tests' native reference, torch's
double backward) stays finite.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve

__all__ = ["ctc"]

_NEG = -math.inf


# -- log-space helpers (finite derivatives at -inf) --------------------------------------------------

def _lse(xp: Any, *terms: Any) -> Any:
    """``log(sum(exp(terms)))`` elementwise; ``-inf`` where every term is ``-inf``, with zero slopes there."""
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    fin = xp.isfinite(m)
    ms = xp.where(fin, m, xp.zeros_like(m))
    s = xp.exp(terms[0] - ms)
    for t in terms[1:]:
        s = s + xp.exp(t - ms)
    pos = s > 0
    return xp.where(pos, xp.log(xp.where(pos, s, xp.ones_like(s))) + ms, xp.full_like(s, _NEG))


def _shift(xp: Any, a: Any, k: int, right: bool) -> Any:
    """``a`` moved ``k`` places along its last axis (``right``: towards higher ``s``), ``-inf`` filled."""
    n = a.shape[-1]
    if k >= n:
        return xp.full_like(a, _NEG)
    fill = xp.full_like(a[:, :k], _NEG)
    return xp.concat([fill, a[:, : n - k]], axis=1) if right else xp.concat([a[:, k:], fill], axis=1)


# -- the extended label sequence ---------------------------------------------------------------

def _extended(xp: Any, labels: Any, lab_len: Any, blank: int) -> tuple[Any, Any, Any]:
    """``(ext (N, L), skip (N, L), final (N, L))``.

    ``ext``: blank, l_1, blank, ..., l_U, blank, then blanks (labels past their length are read as
    blank: padding content never matters).  ``skip[s]``: the transition ``s - 2 -> s`` exists (``s`` a
    label different from the previous label).  ``final``: 0 at the end states ``2U`` and ``2U - 1``
    (``U > 0``), ``-inf`` elsewhere.
    """
    n_lab = labels.shape[1]
    pos = _positions(xp, labels, 1)
    inside = pos < xp.expand_dims(lab_len, axis=1)
    blanks = xp.full_like(labels, blank)
    tail = xp.expand_dims(xp.zeros_like(lab_len) + blank, axis=1)  # (N, 1): the last blank
    off = tail != tail
    if n_lab:
        lab = xp.where(inside, labels, blanks)
        ext = xp.concat([xp.reshape(xp.stack([blanks, lab], axis=2), (-1, 2 * n_lab)), tail], axis=1)
        diff = xp.logical_and(lab[:, 1:] != lab[:, :-1], inside[:, 1:])
        lab_skip = xp.concat([off, diff], axis=1)
        skip = xp.concat([xp.reshape(xp.stack([xp.zeros_like(inside), lab_skip], axis=2), (-1, 2 * n_lab)), off],
                         axis=1)
    else:
        ext, skip = tail, off
    s_idx = _positions(xp, ext, 1)
    end = xp.expand_dims(2 * lab_len, axis=1)
    is_final = xp.logical_or(s_idx == end, xp.logical_and(s_idx == end - 1, end > 0))
    return ext, skip, is_final


def _emissions(xp: Any, z: Any, ext: Any, time_major: bool) -> tuple[Any, Any, Any]:
    """``(lp, lse, E)``: log-softmax over the classes (logits' layout), its log-sum-exp, and the
    time-major emissions ``E[t, n, s] = lp[n, t, ext[n, s]]``."""
    lse = _ops.logsumexp(xp, z, axis=-1)
    lp = z - lse
    return lp, lse, _gather_ext(xp, lp, ext, time_major)


def _gather_ext(xp: Any, lp: Any, ext: Any, time_major: bool) -> Any:
    zero = xp.zeros_like(lp[..., :1], dtype=ext.dtype)  # (N, T, 1) or (T, N, 1): broadcast without sizes
    if time_major:
        return _ops.take_along_axis(xp, lp, zero + xp.expand_dims(ext, axis=0), axis=2)
    e = _ops.take_along_axis(xp, lp, zero + xp.expand_dims(ext, axis=1), axis=2)
    return xp.permute_dims(e, (1, 0, 2))


def _positions(xp: Any, like: Any, axis: int) -> Any:
    """``0, 1, 2, ...`` along ``axis`` in ``like``'s shape, dtype and device (no size needed)."""
    return xp.cumulative_sum(xp.ones_like(like), axis=axis) - 1


def _frames(xp: Any, e: Any, in_len: Any) -> Any:
    """``(T, N)`` frame indices in ``in_len``'s dtype."""
    return _positions(xp, xp.zeros_like(e[..., 0], dtype=in_len.dtype), 0)


def _active(xp: Any, e: Any, in_len: Any) -> Any:
    """``(T, N)``: frame ``t`` lies within the sequence."""
    return _frames(xp, e, in_len) < xp.expand_dims(in_len, axis=0)


# -- the primitive ---------------------------------------------------------------------------

def _forward_vars(xp: Any, e: Any, skip: Any, act: Any) -> tuple[Any, Any]:
    """``(alpha at each sequence's last frame (N, L), alpha stacked (T, N, L))``."""
    neg = xp.full_like(e[0, ...], _NEG)
    start = xp.where(_positions(xp, neg, 1) == 0, xp.zeros_like(neg), neg)  # alpha_{-1}

    def step(carry: tuple, x: tuple) -> tuple:
        (a,) = carry
        e_t, act_t = x
        new = _lse(xp, a, _shift(xp, a, 1, True), xp.where(skip, _shift(xp, a, 2, True), neg)) + e_t
        a = xp.where(xp.expand_dims(act_t, axis=1), new, a)
        return (a,), (a,)

    (last,), (alphas,) = _ops.scan(xp, step, (start,), (e, act))
    return last, alphas


def _ctc_fwd(xp: Any, z: Any, labels: Any, in_len: Any, lab_len: Any, *, blank: int, zero_infinity: bool,
             time_major: bool, length_normalize: bool) -> tuple:
    ext, skip, is_final = _extended(xp, labels, lab_len, blank)
    _, lse, e = _emissions(xp, z, ext, time_major)
    act = _active(xp, e, in_len)
    last, alphas = _forward_vars(xp, e, skip, act)
    return _value(xp, -_log_p(xp, last, lab_len), lab_len, zero_infinity, length_normalize), (alphas, lse)


def _log_p(xp: Any, last: Any, lab_len: Any) -> Any:
    """``lse(alpha(2U), alpha(2U - 1))`` at each sequence's last frame (``alpha(2U)`` alone for ``U = 0``)."""
    end = xp.expand_dims(2 * lab_len, axis=1)
    hi = _ops.take_along_axis(xp, last, end, axis=1)[:, 0]
    lo = _ops.take_along_axis(xp, last, xp.maximum(end - 1, xp.zeros_like(end)), axis=1)[:, 0]
    return _lse(xp, hi, xp.where(lab_len > 0, lo, xp.full_like(lo, _NEG)))


def _value(xp: Any, nll: Any, lab_len: Any, zero_infinity: bool, length_normalize: bool) -> Any:
    """The clamped (``>= 0``), optionally zeroed-at-infinity and length-normalised per-sequence loss."""
    out = xp.maximum(nll, xp.zeros_like(nll))
    if zero_infinity:
        out = xp.where(xp.isinf(out), xp.zeros_like(out), out)
    if length_normalize:
        out = out / _length_norm(xp, lab_len, out.dtype)
    return out


def _length_norm(xp: Any, lab_len: Any, dtype: Any) -> Any:
    n = xp.astype(lab_len, dtype)
    return xp.maximum(n, xp.ones_like(n))


def _ctc_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, blank: int, zero_infinity: bool, time_major: bool,
             length_normalize: bool) -> tuple:
    z, labels, in_len, lab_len = arrays
    alphas, lse = res
    ext, skip, is_final = _extended(xp, labels, lab_len, blank)
    lp = z - lse
    e = _gather_ext(xp, lp, ext, time_major)
    logp = _log_p(xp, alphas[-1, ...], lab_len)  # the alphas are frozen past each sequence's end
    t_idx = _frames(xp, e, in_len)
    last_t = t_idx == xp.expand_dims(in_len - 1, axis=0)  # (T, N)
    inner_t = t_idx < xp.expand_dims(in_len - 1, axis=0)
    neg = xp.full_like(e[0, ...], _NEG)
    init = xp.where(is_final, xp.zeros_like(neg), neg)
    skip_from = _shift_bool(xp, skip)  # the transition s -> s + 2 exists
    e_next = xp.concat([e[1:, ...], xp.full_like(e[:1, ...], _NEG)], axis=0)
    feasible = xp.isfinite(logp)
    logp_b = xp.expand_dims(xp.where(feasible, logp, xp.zeros_like(logp)), axis=1)  # no -inf - (-inf) warning

    def step(carry: tuple, x: tuple) -> tuple:
        (b,) = carry
        en, a, last, inner = x
        v = b + en
        rec = _lse(xp, v, _shift(xp, v, 1, False), xp.where(skip_from, _shift(xp, v, 2, False), neg))
        b = xp.where(xp.expand_dims(last, axis=1), init, xp.where(xp.expand_dims(inner, axis=1), rec, neg))
        return (b,), (xp.exp(a + b - logp_b),)

    _, (post,) = _ops.scan(xp, step, (xp.full_like(neg, _NEG),), (e_next, alphas, last_t, inner_t), reverse=True)
    # an infeasible sequence (p = 0): NaN posteriors, hence NaN gradients, as torch
    post = xp.where(xp.expand_dims(xp.expand_dims(feasible, axis=0), axis=2), post, xp.full_like(post, math.nan))
    classes = _positions(xp, xp.zeros_like(z[0, 0, :], dtype=ext.dtype), 0)
    onehot = xp.astype(xp.expand_dims(ext, axis=2) == classes, z.dtype)  # (N, L, C)
    gam = xp.matmul(xp.permute_dims(post, (1, 0, 2)), onehot)  # (N, T, C)
    act = xp.astype(_active(xp, e, in_len), z.dtype)  # (T, N)
    if time_major:
        gam = xp.permute_dims(gam, (1, 0, 2))
    else:
        act = xp.permute_dims(act, (1, 0))
    k = g
    if length_normalize:
        k = k / _length_norm(xp, lab_len, z.dtype)
    k = xp.expand_dims(xp.expand_dims(k, axis=0 if time_major else 1), axis=2)
    grad = (xp.exp(lp) * xp.expand_dims(act, axis=2) - gam) * k
    if zero_infinity:  # an infeasible sequence (NaN posteriors): 0, not 0 * NaN
        ok = xp.expand_dims(xp.expand_dims(feasible, axis=0 if time_major else 1), axis=2)
        grad = xp.where(ok, grad, xp.zeros_like(grad))
    return grad, None, None, None


def _shift_bool(xp: Any, skip: Any) -> Any:
    """``skip`` moved two places towards lower ``s`` (False filled)."""
    n = skip.shape[-1]
    if n <= 2:
        return xp.zeros_like(skip)
    return xp.concat([skip[:, 2:], xp.zeros_like(skip[:, :2])], axis=1)


_CTC = Primitive("ctc", _ctc_fwd, vjp=_ctc_vjp)


# -- the public function --------------------------------------------------------------------------

def _int_array(fn: str, name: str, xp: Any, x: Any) -> Any:
    if not hasattr(x, "dtype"):
        raise _checks.error(fn, name, "an integer array", f"{type(x).__name__} {x!r}", kind=_checks.XplossTypeError)
    if not xp.isdtype(x.dtype, "integral"):
        hint = "Cast the labels to an integer dtype (class indices)." if name == "labels" else ""
        raise _checks.error(fn, name, "an integer array", f"dtype {_checks.dtype_name(x.dtype)}",
                            kind=_checks.XplossTypeError, hint=hint)
    return x


def _index_dtype(xp: Any, labels: Any) -> Any:
    """int64 labels stay int64; every other integer dtype is computed in int32."""
    return labels.dtype if labels.dtype == xp.int64 else xp.int32


def _lengths(fn: str, name: str, be: Any, x: Any, n: int | None, high: int | None, what: str) -> tuple[Any, Any]:
    """A ``(N,)`` length array: values in ``[0, high]`` (eagerly an error; traced: a mask, clipped)."""
    xp = be.xp
    shape = _checks.shape_of(x)
    expected = f"a 1-d integer array of shape ({'?' if n is None else n},) ({what})"
    if len(shape) != 1 or (n is not None and shape[0] is not None and shape[0] != n):
        raise _checks.error(fn, name, expected, f"shape {_checks.shape_str(shape)}")
    v = be.host(x)
    if v is None or not isinstance(high, int):  # traced, or T unknown while tracing (``high`` the (N,) T)
        bad = xp.logical_or(x < 0, x > high)
        if isinstance(high, int):
            return xp.clip(x, min=0, max=high), bad
        return xp.minimum(xp.maximum(x, xp.zeros_like(x)), high), bad
    if v.size and (v.min() < 0 or v.max() > high):
        first = v[(v < 0) | (v > high)].flat[0]
        raise _checks.error(fn, name, f"{what} in [0, {high}]", f"a length {int(first)}")
    return x, None


def _check_labels(fn: str, be: Any, labels: Any, lab_len: Any, n_cls: int, blank: int) -> tuple[Any, Any]:
    """Labels within their length in ``[0, C)`` and not ``blank`` (eagerly an error; traced: a mask)."""
    xp = be.xp
    y, u = be.host(labels), be.host(lab_len)
    if y is None or u is None:
        inside = _positions(xp, labels, 1) < xp.expand_dims(lab_len, axis=1)
        wrong = xp.logical_and(inside, xp.logical_or(xp.logical_or(labels < 0, labels >= n_cls), labels == blank))
        safe = xp.where(wrong, xp.full_like(labels, blank), labels)
        return safe, xp.any(wrong, axis=1)
    import numpy as np

    inside = np.arange(y.shape[1])[None, :] < np.asarray(u)[:, None]
    out = inside & ((y < 0) | (y >= n_cls))
    if out.any():
        raise _checks.error(fn, "labels", f"class indices in [0, {n_cls}) within each label length",
                            f"a label {int(y[out].flat[0])}")
    at_blank = inside & (y == blank)
    if at_blank.any():
        row = int(np.argwhere(at_blank)[0][0])
        raise _checks.error(fn, "labels", f"no blank (blank={blank}) within the label length",
                            f"the blank in row {row} at position {int(np.argwhere(at_blank)[0][1])} "
                            f"(label length {int(np.asarray(u)[row])})",
                            hint="Pad after the labels and pass label_lengths, or leave label_lengths=None to "
                                 "count the labels that are not blank (Keras' convention).")
    return labels, None


@loss
def ctc(logits: Any, labels: Any, input_lengths: Any = None, label_lengths: Any = None, /, *, blank: int = 0,
        zero_infinity: bool = False, time_major: bool = False, length_normalize: bool = False,
        sample_weight: Any = None, reduction: str = "mean") -> Any:
    r"""Connectionist temporal classification loss (Graves et al. 2006): ``-log p(labels | logits)``.

    .. math::
        \ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_n)} \prod_{t=1}^{T_n} p_t(\pi_t),
        \qquad p_t = \operatorname{softmax}(z_t)

    over the alignments :math:`\pi` of length :math:`T_n` that collapse (merge repeats, then drop
    blanks) to the labels :math:`y_n`, computed by the forward recursion over the extended sequence
    :math:`l' = (b, y_1, b, \dots, y_U, b)` (:math:`b` the blank, :math:`L = 2U + 1`):

    .. math::
        \alpha_t(s) = \log p_t(l'_s) + \operatorname{lse}\big(\alpha_{t-1}(s), \alpha_{t-1}(s-1),
        [\,l'_s \ne b,\ l'_s \ne l'_{s-2}\,]\ \alpha_{t-1}(s-2)\big), \qquad
        \ell_n = -\operatorname{lse}(\alpha_{T_n}(2U), \alpha_{T_n}(2U - 1))

    Parameters
    ----------
    logits : array
        Unnormalised scores, shape ``(N, T, C)`` (batch-major, Keras and optax) or ``(T, N, C)`` with
        ``time_major=True`` (torch).  A log-softmax over ``C`` is always applied: it is idempotent, so
        log-probabilities (torch's ``log_probs``) give the same value.
    labels : array
        Integer label sequences, shape ``(N, S)``, padded after each sequence's length (the padding's
        content is ignored).  Within the length: class indices in ``[0, C)``, never ``blank``.
    input_lengths : array, optional
        Integer ``(N,)`` numbers of valid frames, in ``[0, T]``; frames past them are ignored (value
        and gradient).  Default: ``T`` for every sequence.
    label_lengths : array, optional
        Integer ``(N,)`` numbers of labels, in ``[0, S]``.  Default: the number of labels ``!= blank``
        in each row (Keras' convention, where 0 is both the blank and the padding).
    blank : int, default 0
        Index of the blank class, in ``[0, C)``.
    zero_infinity : bool, default False
        An infeasible sequence (no alignment fits in ``T_n`` frames: a loss of ``+inf`` and NaN
        gradients, as torch) gives 0 with a zero gradient instead (torch's ``zero_infinity``).
    time_major : bool, default False
        ``logits`` of shape ``(T, N, C)``.
    length_normalize : bool, default False
        Divide each sequence's loss by ``max(label_length, 1)`` (torch's ``reduction="mean"`` is
        ``length_normalize=True, reduction="mean"``).
    sample_weight : array, optional
        Per-sequence weight ``(N,)``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        ``"mean"`` divides by ``N`` (Keras' ``CTC``, the plain batch mean).

    Returns
    -------
    array
        Scalar, or the ``(N,)`` per-sequence losses for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``logits`` not 3-d floating (or without a frame or a class), ``labels`` not ``(N, S)`` integer,
        a label outside ``[0, C)`` or equal to ``blank`` within its length, lengths of another shape or
        outside ``[0, T]`` / ``[0, S]``, ``blank`` outside ``[0, C)``.  Under ``jax.jit``,
        ``tf.function`` or ``torch.compile`` the value checks cannot raise: those sequences' losses
        and gradients are NaN.

    Notes
    -----
    Each per-sequence value is clamped at ``>= 0`` (``-log p`` is non-negative; optax's float32
    recursion returns ``-8e-8`` for a near-certain alignment, google-deepmind/optax#1771, and Keras' JAX
    and NumPy backends copy it, keras-team/keras#23684).  The clamp changes rounding only, so the
    gradient is that of ``-log p``: ``softmax(z_t) - γ_t`` on the frames within the sequence
    (:math:`γ_t(k)` the posterior of label ``k`` at frame ``t``) and 0 past it.  It is torch's gradient
    when ``log_softmax`` is in torch's graph, which torch's ``ctc_loss`` silently requires
    (pytorch/pytorch#52241): its backward returns ``softmax - γ`` for whatever it is given.

    The empty label sequence gives ``-Σ_t log p_t(blank)``.  Repeated labels need a blank between them,
    so ``[1, 1]`` needs ``T >= 3``.  Unreachable states are ``-inf`` exactly (no ``log_epsilon``):
    an infeasible sequence is ``+inf``, as torch (optax gives ~1e5, TF a finite number).

    The recursions run by :func:`xploss._ops.scan`: one loop under ``jax.jit`` (``jax.lax.scan``) and
    ``tf.function`` (a while loop; XLA needs a static ``T``), a Python loop elsewhere (unrolled by
    ``torch.compile``).  Residuals: the forward variables, ``T·N·(2S+1)`` values.

    See Also
    --------
    torch.nn.functional.ctc_loss : ``ctc_loss(log_softmax(z), targets, input_lengths, target_lengths,
        blank, reduction, zero_infinity)`` equals ``ctc(z, targets, input_lengths, target_lengths,
        time_major=True, blank=blank, zero_infinity=...)`` with ``reduction="none"`` / ``"sum"``, and
        torch's ``"mean"`` is ``length_normalize=True, reduction="mean"``.
    keras.losses.CTC : ``CTC()(y_true, y_pred)`` is ``ctc(y_pred, y_true)`` (blank and padding 0).
    optax.ctc_loss : ``ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id)`` is
        ``ctc(logits, labels, T - logit_paddings.sum(1), S - label_paddings.sum(1), blank=blank_id,
        reduction="none")`` away from near-zero and infeasible losses.
    tf.nn.ctc_loss : ``ctc_loss(labels, logits, label_length, logit_length, logits_time_major=False,
        blank_index=b)`` is ``ctc(logits, labels, logit_length, label_length, blank=b, reduction="none")``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> z = np.zeros((1, 2, 2))  # two frames, classes {blank, "a"} equally likely
    >>> float(np.exp(-xploss.ctc(z, np.array([[1]]))))  # "a-", "-a", "aa": 3 of the 4 paths
    0.75
    """
    fn = "ctc"
    be = resolve(fn, {"logits": logits, "labels": labels, "input_lengths": input_lengths,
                      "label_lengths": label_lengths, "sample_weight": sample_weight})
    xp = be.xp
    _checks.floating(fn, "logits", xp, logits)
    shape = _checks.shape_of(logits)
    layout = "(T, N, C)" if time_major is True else "(N, T, C)"
    if len(shape) != 3:
        raise _checks.error(fn, "logits", f"a 3-d array {layout}", f"shape {_checks.shape_str(shape)}")
    _checks.flag(fn, "time_major", time_major)
    _checks.flag(fn, "zero_infinity", zero_infinity)
    _checks.flag(fn, "length_normalize", length_normalize)
    n, t, c = (shape[1], shape[0], shape[2]) if time_major else shape
    if t == 0 or c == 0:
        raise _checks.error(fn, "logits", f"at least one frame and one class {layout}",
                            f"shape {_checks.shape_str(shape)}")
    if isinstance(blank, bool) or not isinstance(blank, int) or not 0 <= blank < (math.inf if c is None else c):
        raise _checks.error(fn, "blank", f"an int in [0, {'C' if c is None else c})", repr(blank))
    labels = _int_array(fn, "labels", xp, labels)
    lshape = _checks.shape_of(labels)
    if len(lshape) != 2 or (n is not None and lshape[0] is not None and lshape[0] != n):
        raise _checks.error(fn, "labels", f"an integer array of shape ({'?' if n is None else n}, S)",
                            f"shape {_checks.shape_str(lshape)}")
    if lshape[1] is None:
        raise _checks.error(fn, "labels", "a static number of label positions S", f"shape {_checks.shape_str(lshape)}")
    idt = _index_dtype(xp, labels)
    labels = labels if labels.dtype == idt else xp.astype(labels, idt)
    s = lshape[1]
    if label_lengths is None:
        label_lengths = xp.sum(xp.astype(labels != blank, idt), axis=1)
        if label_lengths.dtype != idt:
            label_lengths = xp.astype(label_lengths, idt)
    else:
        label_lengths = _int_array(fn, "label_lengths", xp, label_lengths)
        label_lengths = label_lengths if label_lengths.dtype == idt else xp.astype(label_lengths, idt)
    if input_lengths is None:
        input_lengths = xp.zeros_like(label_lengths) + t if t is not None else None
    else:
        input_lengths = _int_array(fn, "input_lengths", xp, input_lengths)
        input_lengths = input_lengths if input_lengths.dtype == idt else xp.astype(input_lengths, idt)
    frames = t
    if t is None:  # a time axis unknown while tracing (tf.function): T counted from the logits, per sequence
        frames = xp.sum(xp.ones_like(logits[:, :, 0], dtype=idt), axis=0 if time_major else 1)
        frames = frames if frames.dtype == idt else xp.astype(frames, idt)
        input_lengths = frames if input_lengths is None else input_lengths
    input_lengths, bad_in = _lengths(fn, "input_lengths", be, input_lengths, n, frames, "frames per sequence")
    label_lengths, bad_lab = _lengths(fn, "label_lengths", be, label_lengths, n, s, "labels per sequence")
    labels, bad_y = _check_labels(fn, be, labels, label_lengths, c, blank)
    invalid = _checks.either(xp, bad_in, bad_lab, bad_y)
    sample_weight = _checks.weight(fn, xp, sample_weight, logits[0, :, 0] if time_major else logits[:, 0, 0])
    _checks.reduction(fn, reduction)
    return apply(be, _CTC, (logits, labels, input_lengths, label_lengths), sample_weight=sample_weight,
                 invalid=invalid, reduction=reduction, blank=blank, zero_infinity=zero_infinity,
                 time_major=time_major, length_normalize=length_normalize)
