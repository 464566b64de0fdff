"""Linear cross-entropy: the softmax cross-entropy of ``hidden @ class_weights.T + bias`` in vocabulary blocks.

A language model's head turns ``(N, H)`` hidden states into ``(N, V)`` logits over a vocabulary of ``V``
classes; at ``N = 4096``, ``V = 32000`` in float32 those logits are 0.5 GB, and an unfused
``F.cross_entropy(hidden @ W.T)`` keeps them (and their gradient) alive.  This kernel never forms them:

* the forward loops over blocks of ``columns`` classes, computing each block's logits ``h W_bᵀ + b_b``, its
  row log-sum-exp and
  the target logit where the target falls in the block; the row log-sum-exp is the log-sum-exp of the
  blocks' (finite for ``-inf`` and large logits), the label-smoothing row sum ``Σ_k w_k z_k`` is
  ``h · (wᵀ W) + wᵀ b`` (no pass over the logits).  Residual: the ``(N, 1)`` log-sum-exp only;
* the VJP recomputes each block's logits and forms ``G_b = g (softmax_b − q_b)`` (``q`` the one-hot target,
  class-weighted and smoothed as in :func:`xploss.cross_entropy`), accumulates ``dh += G_b W_b`` and writes
  ``dW_b = G_bᵀ h`` and ``db_b = Σ_rows G_b``.

The loop has two drivers (:class:`_Blocks`): eagerly a Python loop over static slices, ``dW`` written block
by block into one ``(V, H)`` buffer where the library assigns items (NumPy, torch); under a compiler
(``jax.jit``, ``tf.function``, ``torch.compile``) and while autograd records (double backward) one
:func:`xploss._ops.scan` over equal blocks, so that the compiler runs them one after the other (given the
unrolled blocks, XLA scheduled every block's matmul at once: 1-2x the logits of temporaries, and 24 s of
compilation for 64 blocks).

Everything that is not the linear layer (ignore_index, label smoothing, class weights, the reductions and
their normalisers) is :func:`xploss.cross_entropy`'s: its checks (``_checks``), its normaliser, its
per-sample cotangent ``c`` and its reductions (``_reduce``, through ``Bound``).
"""

from __future__ import annotations

import math
from typing import Any

from .. import _checks, _ops
from .._api import loss
from .._define import Primitive, apply
from .._namespace import resolve
from ._classification import _ce_index_normalizer, _gather, _valid_and_safe, check_class_weight, check_ignore_index

__all__ = ["linear_cross_entropy"]

BLOCK_ELEMENTS = 1 << 21  # logits entries of one vocabulary block by default (8 MiB of float32)
MIN_COLUMNS = 128  # classes per block at least (a narrower matmul is slow)
UNKNOWN_ROWS_COLUMNS = 512  # classes per block when the number of rows is unknown while tracing


def default_columns(rows: int | None, num_classes: int | None) -> int:
    """The classes per block for ``rows`` hidden states: blocks of at most :data:`BLOCK_ELEMENTS` logits
    (8 MiB in float32), at least :data:`MIN_COLUMNS` classes wide, at most all of them; among the block
    counts up to twice the least one, the first that divides ``V`` exactly (equal blocks: a compiled loop
    then needs no padded last block)."""
    cols = max(UNKNOWN_ROWS_COLUMNS if rows is None else BLOCK_ELEMENTS // max(rows, 1), MIN_COLUMNS)
    if num_classes is None or cols >= num_classes:
        return cols if num_classes is None else max(num_classes, 1)
    least = -(-num_classes // cols)
    for count in range(least, 2 * least + 1):
        if num_classes % count == 0:
            return num_classes // count
    return cols


def _spans(num_classes: int | None, columns: int) -> list[tuple[int, int | None]]:
    """``(start, stop)`` of each block of classes (one block when the count is unknown while tracing)."""
    if num_classes is None or columns >= num_classes:
        return [(0, num_classes)]
    return [(s, min(s + columns, num_classes)) for s in range(0, num_classes, columns)]


def _eager(xp: Any, *xs: Any) -> bool:
    """Does this call run eagerly, op by op (the backends' ``"blocking"`` hook: NumPy, torch outside
    torch.compile, autograd recording and torch.func, TensorFlow outside tf.function)?  Then the blocks are
    a Python loop over static slices; otherwise (JAX, tf.function, torch.compile, recording) one compiled
    loop, :func:`xploss._ops.scan`: a compiler given the unrolled blocks schedules their matmuls together
    (XLA kept every block alive: 1-2x the logits) and compiles each."""
    hook = _ops.native(xp, "blocking")
    return hook is not None and bool(hook(*xs))


def _rows(xp: Any, h: Any, y: Any) -> tuple[Any, Any]:
    """``(M, H)`` hidden states and ``(M,)`` labels of ``(..., H)`` and ``(...)`` ones, the labels as int32 or
    int64 (the blocks subtract their start from them: an unsigned or 8-bit label would wrap)."""
    if not (y.dtype == xp.int32 or y.dtype == xp.int64):
        y = xp.astype(y, xp.int32)
    if h.ndim == 2:
        return h, y
    return xp.reshape(h, (-1, h.shape[-1])), xp.reshape(y, (-1,))


class _Blocks:
    """The blocks of classes of one call: static slices eagerly, one :func:`xploss._ops.scan` otherwise.

    ``columns`` classes per block; compiled, every block has that width: the last one's rows past ``V``
    are gathered clamped and their logits masked to ``-inf`` (zero softmax, zero gradient), and the
    stacked ``dW`` blocks are cut back to ``V`` rows.
    """

    def __init__(self, xp: Any, w: Any, b: Any, safe: Any, columns: int, eager: bool) -> None:
        self.xp, self.w, self.b, self.safe = xp, w, b, safe
        self.num_classes = w.shape[0]
        self.spans = _spans(self.num_classes, columns)
        self.columns = columns
        self.eager = eager or len(self.spans) == 1
        self.padded = len(self.spans) * columns != self.num_classes

    def classes(self, v: Any, s: Any, e: Any) -> Any:
        """The entries (rows) of a per-class array ``v`` (``(V, ...)``) in the block starting at ``s``, zero
        past ``V``."""
        xp = self.xp
        if self.eager:
            return v[s:e, ...]
        cls = s + xp.arange(self.columns, dtype=s.dtype)
        if not self.padded:
            return xp.take(v, cls, axis=0)
        inside = cls < self.num_classes
        got = xp.take(v, xp.where(inside, cls, xp.zeros_like(cls)), axis=0)
        for _ in range(got.ndim - 1):
            inside = xp.expand_dims(inside, axis=-1)
        return xp.where(inside, got, xp.zeros_like(got))

    def logits(self, h: Any, s: Any, e: Any) -> tuple[Any, Any, Any, Any]:
        """``(z, wb, hit, local)`` of the block starting at ``s``: its logits ``(M, width)``, its rows of ``W``,
        whether each row's target lies in it and its column there (0 where not)."""
        xp, b = self.xp, self.b
        wb = self.classes(self.w, s, e)
        z = h @ xp.matrix_transpose(wb)
        if b is not None:
            z = z + self.classes(b, s, e)
        if self.padded and not self.eager:  # the classes past V: -inf logits, zero softmax
            inside = s + xp.arange(self.columns, dtype=s.dtype) < self.num_classes
            z = xp.where(inside, z, xp.zeros_like(z) - math.inf)
        local = self.safe - s
        hit = xp.logical_and(local >= 0, local < z.shape[1])
        return z, wb, hit, xp.where(hit, local, xp.zeros_like(local))

    def run(self, step: Any, carry: tuple) -> tuple[tuple, tuple]:
        """``step(carry, s, e) -> (carry, outputs)`` over the blocks: the final carry and, per output, the
        list of the blocks' (eagerly) or their stack on a new axis 0 (compiled); see :meth:`per_row` and
        :meth:`per_class`."""
        xp = self.xp
        if not self.eager:
            starts = xp.arange(0, len(self.spans) * self.columns, self.columns, dtype=self.safe.dtype)
            return _ops.scan(xp, lambda c, x: step(c, x[0], None), carry, (starts,))
        outs: list = []
        for s, e in self.spans:
            carry, out = step(carry, s, e)
            outs.append(out)
        return carry, tuple([o[k] for o in outs] for k in range(len(outs[0])))

    def per_row(self, out: Any) -> Any:
        """A per-row output of :meth:`run` as ``(blocks, M)``."""
        return self.xp.stack(out, axis=0) if self.eager else out

    def per_class(self, out: Any) -> Any:
        """A per-class output of :meth:`run` (``(width, ...)`` per block) as ``(V, ...)``."""
        xp = self.xp
        if self.eager:
            return out[0] if len(out) == 1 else xp.concat(out, axis=0)
        out = xp.reshape(out, (-1, *out.shape[2:]))
        return out[:self.num_classes, ...] if self.padded else out


def _target(xp: Any, z: Any, hit: Any, local: Any) -> Any:
    """Each row's logit at column ``local`` of ``z`` where ``hit``, else 0."""
    t = xp.squeeze(_ops.take_along_axis(xp, z, xp.expand_dims(local, axis=1), 1), axis=1)
    return xp.where(hit, t, xp.zeros_like(t))


def _smoothing_sum(xp: Any, h: Any, w: Any, b: Any, cw: Any) -> Any:
    """``Σ_k w_k z_ik`` per row, ``w`` the class weights (1 without): ``h · (wᵀ W) + wᵀ b``, no pass over the
    logits."""
    wsum = xp.sum(w, axis=0, keepdims=True) if cw is None else xp.expand_dims(cw, axis=0) @ w  # (1, H)
    out = xp.squeeze(h @ xp.matrix_transpose(wsum), axis=1)
    if b is not None:
        out = out + (xp.sum(b) if cw is None else xp.sum(cw * b))
    return out


def _lce_fwd(xp: Any, h: Any, w: Any, y: Any, b: Any, cw: Any, *, ignore_index: int | None,
             label_smoothing: float, columns: int) -> tuple:
    shape = tuple(y.shape)
    hf, yf = _rows(xp, h, y)
    valid, safe = _valid_and_safe(xp, yf, ignore_index)
    blocks = _Blocks(xp, w, b, safe, columns, _eager(xp, hf, w))

    def step(carry: tuple, s: Any, e: Any) -> tuple:
        z, _, hit, local = blocks.logits(hf, s, e)
        # one block holds each row's target logit: the others add exact zeros
        return (carry[0] + _target(xp, z, hit, local),), (_ops.logsumexp(xp, z, 1)[:, 0],)

    (zy,), (lses,) = blocks.run(step, (xp.zeros_like(safe, dtype=hf.dtype),))
    lses = blocks.per_row(lses)
    lse_s = lses[0, :] if lses.shape[0] == 1 else _ops.logsumexp(xp, lses, 0)[0, :]
    num_classes = w.shape[0]
    out = lse_s - zy
    if cw is not None:
        out = _gather(xp, cw, safe) * out
    if not _ops.is_zero(label_smoothing):
        total_w = float(num_classes) if cw is None else xp.sum(cw)
        smooth = total_w * lse_s - _smoothing_sum(xp, hf, w, b, cw)
        out = (1.0 - label_smoothing) * out + (label_smoothing / num_classes) * smooth
    if valid is not None:
        out = xp.where(valid, out, xp.zeros_like(out))
    return (out if len(shape) == 1 else xp.reshape(out, shape)), (xp.expand_dims(lse_s, axis=1),)


def _lce_vjp(xp: Any, arrays: tuple, res: tuple, g: Any, *, ignore_index: int | None, label_smoothing: float,
             columns: int) -> tuple:
    """Cotangents of ``(hidden, class_weights, labels, bias, class_weight)`` for the per-sample ``g``.

    Per block ``G_b = softmax_b · s − onehot_b · c₁ − (ε/V) g w_b`` with ``c = g w_y [valid]``, ``c₁ = (1−ε) c``
    and ``s = c₁ + (ε/V) g Σw`` (:func:`xploss.cross_entropy`'s gradient), then ``dh += G_b W_b``,
    ``dW_b = G_bᵀ h``, ``db_b = Σ_rows G_b``.  Eagerly, where the library assigns items (NumPy, torch),
    ``dW`` is written block by block into one buffer and ``dh`` accumulated in place.
    """
    h, w, y, b, cw = arrays
    (lse,) = res
    hf, yf = _rows(xp, h, y)
    valid, safe = _valid_and_safe(xp, yf, ignore_index)
    gv = xp.reshape(g, (-1,)) if g.ndim != 1 else g
    if valid is not None:
        gv = xp.where(valid, gv, xp.zeros_like(gv))
    c = gv if cw is None else gv * _gather(xp, cw, safe)
    num_classes = w.shape[0]
    smoothing = not _ops.is_zero(label_smoothing)
    if smoothing:
        eps_c = label_smoothing / num_classes
        total_w = float(num_classes) if cw is None else xp.sum(cw)
        hot = (1.0 - label_smoothing) * c
        scale = hot + eps_c * total_w * gv
        dense = xp.expand_dims(eps_c * gv, axis=1)
    else:
        hot = scale = c
    eager = _eager(xp, hf, w, gv)
    blocks = _Blocks(xp, w, b, safe, columns, eager)
    inplace = blocks.eager and eager and hasattr(type(w), "__setitem__")
    # the smoothing's dense term: per class w_k (1 without class weights; 0 past V in a padded block)
    cws = cw if cw is not None or not (smoothing and blocks.padded and not blocks.eager) else xp.ones_like(w[:, 0])
    dw = xp.empty_like(w) if inplace and len(blocks.spans) > 1 else None

    def step(carry: tuple, s: Any, e: Any) -> tuple:
        z, wb, hit, local = blocks.logits(hf, s, e)
        grad = _ops.softmax_scaled(xp, z, lse, scale, 1)
        del z
        grad = _ops.subtract_at(xp, grad, local, xp.where(hit, hot, xp.zeros_like(hot)), 1)
        if smoothing:
            grad = grad - (dense if cws is None else dense * blocks.classes(cws, s, e))
        part = grad @ wb
        (dh,) = carry
        if inplace:
            dh += part
        else:
            dh = dh + part
        dwb = xp.matrix_transpose(grad) @ hf
        db = () if b is None else (xp.sum(grad, axis=0),)
        if dw is not None:
            dw[s:e, ...] = dwb
            return (dh,), db
        return (dh,), (dwb, *db)

    (dh,), outs = blocks.run(step, (xp.zeros_like(hf),))
    if dw is None:
        dw, outs = blocks.per_class(outs[0]), outs[1:]
    db = blocks.per_class(outs[0]) if b is not None else None
    return (dh if h.ndim == 2 else xp.reshape(dh, tuple(h.shape))), dw, None, db, None


def _lce_normalizer(xp: Any, h: Any, w: Any, y: Any, b: Any, cw: Any, *, ignore_index: int | None,
                    label_smoothing: float, columns: int) -> tuple:
    return _ce_index_normalizer(xp, h, y, cw, axis=-1, ignore_index=ignore_index, label_smoothing=label_smoothing)


_LCE = Primitive("linear_cross_entropy", _lce_fwd, vjp=_lce_vjp, normalizer=_lce_normalizer, rowwise=False)


def _check_linear(fn: str, xp: Any, hidden: Any, class_weights: Any, bias: Any) -> tuple[int | None, tuple]:
    """The metadata checks of the linear layer: ``(V, per-sample shape)``."""
    _checks.floating(fn, "hidden", xp, hidden)
    shape = _checks.shape_of(hidden)
    if not shape:
        raise _checks.error(fn, "hidden", "an array of hidden states of shape (..., H) (ndim >= 1)", "a 0-d array")
    _checks.floating(fn, "class_weights", xp, class_weights)
    wshape = _checks.shape_of(class_weights)
    feat = "H" if shape[-1] is None else shape[-1]
    expected = f"an array of shape (V, {feat}) (one row per class, H the last axis of `hidden`)"
    if len(wshape) != 2:
        raise _checks.error(fn, "class_weights", expected, f"shape {_checks.shape_str(wshape)}")
    _checks.dims_match(fn, "class_weights", expected, class_weights, hidden, [(1, len(shape) - 1)])
    _checks.same_dtype(fn, ("class_weights", class_weights), ("hidden", hidden))
    num_classes = wshape[0]
    if num_classes == 0:
        raise _checks.error(fn, "class_weights", "at least one class (row)", f"shape {_checks.shape_str(wshape)}")
    if bias is not None:
        _checks.floating(fn, "bias", xp, bias)
        bshape = _checks.shape_of(bias)
        vtext = "V" if num_classes is None else num_classes
        if len(bshape) != 1:
            raise _checks.error(fn, "bias", f"shape ({vtext},) (one per row of `class_weights`)",
                                f"shape {_checks.shape_str(bshape)}")
        _checks.dims_match(fn, "bias", f"shape ({vtext},) (one per row of `class_weights`)", bias, class_weights,
                           [(0, 0)])
        _checks.same_dtype(fn, ("bias", bias), ("hidden", hidden))
    return num_classes, shape[:-1]


def _check_labels(fn: str, be: Any, labels: Any, hidden: Any, sample_shape: tuple, num_classes: int | None,
                  ignore_index: Any) -> tuple[bool, Any, Any]:
    """Integer labels of ``hidden.shape[:-1]`` in ``[0, V)`` or ``ignore_index``: ``(masked, labels, invalid)``."""
    xp = be.xp
    expected = (f"integer class indices of shape {_checks.shape_str(sample_shape)} "
                "(`hidden`.shape without its last axis)")
    if not hasattr(labels, "dtype") or not xp.isdtype(labels.dtype, "integral"):
        received = f"dtype {_checks.dtype_name(labels.dtype)}" if hasattr(labels, "dtype") else type(labels).__name__
        raise _checks.error(fn, "labels", expected + " (probability targets are not supported: their (N, V) array "
                            "is the size of the logits this loss avoids)", received, kind=_checks.XplossTypeError,
                            hint=_checks.label_hint(xp, labels, sample_shape, None) if hasattr(labels, "dtype") else "")
    _checks.index_labels(fn, xp, labels, ("hidden", hidden), len(sample_shape), expected,
                         lambda: _checks.label_hint(xp, labels, sample_shape, None))
    check_ignore_index(fn, ignore_index)
    return _checks.labels_in_range(fn, be, labels, num_classes, ignore_index)


def _check_chunk(fn: str, chunk_size: Any, rows: int | None, num_classes: int | None) -> int:
    if chunk_size is None:
        return default_columns(rows, num_classes)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise _checks.error(fn, "chunk_size", "None or a positive int (classes per block)", repr(chunk_size))
    return chunk_size if num_classes is None else min(chunk_size, num_classes)


@loss
def linear_cross_entropy(hidden: Any, class_weights: Any, labels: Any, /, *, bias: Any = None,
                         class_weight: Any = None, ignore_index: int | None = -100, label_smoothing: float = 0.0,
                         sample_weight: Any = None, reduction: str = "mean", chunk_size: int | None = None) -> Any:
    r"""Softmax cross-entropy of a linear layer's logits, never forming the ``(N, V)`` logits.

    .. math::
        z_i = W h_i + b, \qquad
        \ell_i = \operatorname{logsumexp}(z_i) - z_{i y_i}

    the cross-entropy of :func:`cross_entropy` (class weights ``w``, label smoothing ``ε``, ignore_index,
    every reduction) of the logits ``z = hidden @ class_weights.T + bias``: with both options
    ``ℓ_i = (1-ε) w_{y_i} (lse_i - z_{iy_i}) + (ε/V) Σ_k w_k (lse_i - z_{ik})``.  The logits are computed in
    blocks of ``chunk_size`` classes; forward and backward hold one ``(N, chunk_size)`` block at a time.

    Parameters
    ----------
    hidden : array
        Real floating hidden states of shape ``(..., H)``: ``(N, H)``, ``(H,)``, or ``(B, T, H)`` for
        sequences (each leading position is a sample).
    class_weights : array
        The classifier matrix of shape ``(V, H)`` (the layout of ``nn.Linear(H, V).weight``), the dtype of
        ``hidden``; differentiable.
    labels : array
        Integer class indices of shape ``hidden.shape[:-1]`` in ``[0, V)`` (or ``ignore_index``).
    bias : array, optional
        The classifier's bias of shape ``(V,)``, the dtype of ``hidden``; differentiable.
    class_weight : array, optional
        ``(V,)`` weight per class (torch's ``weight=``; no gradient).
    ignore_index : int or None, default -100
        Labels equal to it contribute 0 to the value, the gradient and the count of a mean; None: no label
        is ignored.  An all-ignored batch gives 0 (torch gives NaN).
    label_smoothing : float, default 0.0
        In ``[0, 1]``; mixes the target with the uniform distribution (torch's mixture, see above).
    sample_weight : array, optional
        Per-sample weight aligned with the leading axes of ``labels``.
    reduction : {"mean", "sum", "none", "weighted_mean", "count", "total_weight"}
        As :func:`cross_entropy`: ``"mean"`` divides by the number of non-ignored samples,
        ``"weighted_mean"`` by their total weight ``Σ sample_weight · class_weight[y]`` (torch's "mean" with
        ``weight=``).
    chunk_size : int, optional
        Classes per block (the last block holds the rest).  Default: blocks of at most ``2**21`` logits
        (8 MiB in float32), at least 128 classes wide: ``max(128, 2**21 // N)``.

    Returns
    -------
    array
        Scalar, or the per-sample losses of shape ``labels.shape`` for ``reduction="none"``.

    Raises
    ------
    XplossError
        ``hidden`` not floating or 0-d; ``class_weights`` not ``(V, H)`` with the ``H`` of ``hidden`` or of
        another dtype; ``bias`` not ``(V,)`` or of another dtype; labels not integer, not of shape
        ``hidden.shape[:-1]``, or outside ``[0, V)`` (eagerly; traced: NaN for those samples); ``class_weight``
        not ``(V,)``; ``label_smoothing`` outside ``[0, 1]``; ``chunk_size`` not a positive int.

    Notes
    -----
    Memory: the forward keeps only the ``(N, 1)`` row log-sum-exp (accumulated across blocks: finite for
    ``-inf`` and large logits); the backward recomputes each block's logits, so the extra memory is one or
    two ``(N, chunk_size)`` blocks and the ``(N, H)`` hidden gradient, never ``(N, V)``.  The price is one more
    ``(N, H) x (H, V)`` matmul than the unfused loss (four instead of three).  float16 / bfloat16 inputs are
    computed in float32 (as every xploss loss) and the gradients returned in their dtype.

    Differences from ``torch.nn.functional.linear_cross_entropy`` (torch 2.13):

    * ``ignore_index`` defaults to -100 and None ignores nothing (torch: None means -100);
    * ``reduction="mean"`` with ``class_weight`` divides by the number of samples; torch's is
      ``"weighted_mean"`` here; an all-ignored batch gives 0, not NaN;
    * integer labels only (no probability targets) and no K-dimensional ``(V, d1, ..., H)`` weights; any
      leading shape of ``hidden`` (torch: ``(H,)`` or ``(N, H)``), and ``sample_weight``;
    * torch's default (``options=None``) is the unfused ``cross_entropy(linear(...))``; its chunked path
      (``options=LinearCrossEntropyOptions()``) blocks rows, supports no label smoothing and no double
      backward.  Here every option is chunked, and torch's double backward works (the VJP is recomputed under
      autograd); forward mode (``jvp``, ``jacfwd``) is not available.

    See Also
    --------
    torch.nn.functional.linear_cross_entropy : ``F.linear_cross_entropy(hidden, W, labels, linear_bias=b,
        weight=cw, ignore_index=k, label_smoothing=ε)`` equals ``linear_cross_entropy(hidden, W, labels,
        bias=b, class_weight=cw, ignore_index=k, label_smoothing=ε)`` with ``reduction="weighted_mean"`` when
        ``cw`` is given and ``"mean"`` otherwise.
    torch.nn.functional.cross_entropy : ``F.cross_entropy(hidden @ W.T + b, labels, ...)``: the same
        numbers with the logits formed.
    cross_entropy : the loss of given logits.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> h = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> w = np.array([[2.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> labels = np.array([0, 1])
    >>> round(float(xploss.linear_cross_entropy(h, w, labels)), 6)
    0.204695
    >>> round(float(xploss.cross_entropy(h @ w.T, labels)), 6)
    0.204695
    """
    fn = "linear_cross_entropy"
    be = resolve(fn, {"hidden": hidden, "class_weights": class_weights, "labels": labels, "bias": bias,
                      "class_weight": class_weight, "sample_weight": sample_weight})
    xp = be.xp
    num_classes, sample_shape = _check_linear(fn, xp, hidden, class_weights, bias)
    ls = _checks.number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    class_weight = check_class_weight(fn, xp, class_weight, num_classes, hidden.dtype)
    _checks.reduction(fn, reduction)
    masked, labels, invalid = _check_labels(fn, be, labels, hidden, sample_shape, num_classes, ignore_index)
    rows = None if any(d is None for d in sample_shape) else math.prod(sample_shape)
    columns = _check_chunk(fn, chunk_size, rows, num_classes)
    sample_weight = _checks.weight(fn, xp, sample_weight, hidden, -1)
    return apply(be, _LCE, (hidden, class_weights, labels, bias, class_weight), sample_weight=sample_weight,
                 invalid=invalid, reduction=reduction, ignore_index=ignore_index if masked else None,
                 label_smoothing=ls, columns=columns)
