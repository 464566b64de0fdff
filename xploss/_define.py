"""The one mechanism: a loss is a value kernel plus its hand derivative.

A :class:`Primitive` holds

* ``forward(xp, *arrays, **static) -> (loss, residuals)``: per-sample loss
  values (zero where masked) and a tuple of residual arrays (never the inputs
  themselves: those are handed back to the derivative);
* ``partials(xp, arrays, residuals, **static) -> tuple``: for each input the
  array of local derivatives ``d loss_i / d x`` (``None`` where the input has
  no gradient, e.g. integer labels; a zero-argument callable to compute it
  only when that input needs a gradient, e.g. ``lambda: -d`` for a target).  A loss is one number per sample, so
  these give both the VJP (``g * partial``) and the JVP
  (``sum(partial * tangent)``): JAX then uses ``custom_jvp`` and every order
  of differentiation works;
* optionally ``vjp(xp, arrays, residuals, g_loss, **static) -> tuple`` that
  fuses the VJP for memory or speed (cross-entropy, sigmoid cross-entropy; each
  entry may be a zero-argument callable, evaluated only when that input needs
  a gradient) or replaces ``partials`` for batch-coupled losses (JAX then uses
  ``custom_vjp``); ``g_loss`` has the per-sample loss' shape (a mean's scalar
  cotangent is broadcast first);
* optionally ``normalizer(xp, *arrays, **static) -> (valid, norm)`` for masks
  and class weights (see :mod:`xploss._reduce`); or, with ``counted=True``,
  the forward returns ``(loss, residuals, (valid, norm))`` itself: batch-coupled
  losses whose per-sample loss sums several items (the triplets or pairs of an
  anchor) give the number of items each sample holds (all of them, or the
  non-zero ones: pytorch-metric-learning's ``AvgNonZeroReducer``), and ``"mean"``
  divides by their total.  Counts are piecewise constant: no gradient flows
  through them.

:class:`Bound` fuses a primitive with its static options and the reduction into
one differentiable operation; the backends bind ``Bound.forward``,
``Bound.vjp`` and ``Bound.jvp`` into their autodiff.  The last two arrays of a
bound call are always the optional ``invalid`` poison and the optional
per-sample ``sample_weight``.

``invalid``: where a value check cannot run (labels out of range, a
probability outside [0, 1], a negative rate or variance, on arrays traced by
``jax.jit``, ``tf.function`` or ``torch.compile``), the check yields a boolean
mask of the samples it could not vouch for instead of raising; :func:`apply`
turns it into a per-sample array that is NaN there and 0 elsewhere, added to
the per-sample loss and to its cotangent.  A traced call with a bad input
thus gives a NaN loss and NaN gradients for the samples concerned, never a
plausible finite number (eagerly, the check raises its error instead).
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _ops, _reduce
from ._errors import XplossTypeError, error

__all__ = ["Primitive", "Bound", "apply", "LRU", "is_value", "summed"]


class LRU(OrderedDict):
    """A dict that keeps its ``maxsize`` most recently used entries: the caches of bound operations and of
    their per-backend bindings, bounded whatever options a training loop passes (a schedule of ``gamma``
    values adds entries that are evicted, not kept forever)."""

    def __init__(self, maxsize: int = 512) -> None:
        super().__init__()
        self.maxsize = maxsize

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            self.move_to_end(key)
        except KeyError:
            return default
        return self[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.maxsize:
            self.popitem(last=False)


def is_value(v: Any) -> bool:
    """Is the static option ``v`` a hyperparameter *value* rather than part of the structure?

    A Python float other than 0 and 1 (kernels specialise on those: no smoothing, no focusing, unit
    scale) or a 0-d array (a traced JAX hyperparameter).  On JAX, values are arguments of the one
    compiled kernel per structure, so a schedule that changes them every step compiles once.
    """
    if type(v) is float:
        return v not in (0.0, 1.0)
    return getattr(v, "shape", None) == ()

# -- precision policy --------------------------------------------------------------
# float16 / bfloat16 inputs are computed in float32 and returned in their own
# dtype (values and gradients): the same policy on every backend.
def _low_dtypes(xp: Any) -> tuple:
    """The namespace's 16-bit float dtypes (compared with ``==``: no dtype hashing).

    A namespace xploss builds itself (torch, TensorFlow) holds them as ``__xploss_low__``, set once when it
    is built; another one's are read from it each time, never cached in a module-level dict: a cache filled
    on the first call is a global that torch.compile guards on, and it would recompile once after that call.
    """
    low = getattr(xp, "__xploss_low__", None)
    if low is None:
        low = tuple(d for d in (getattr(xp, "float16", None), getattr(xp, "bfloat16", None)) if d is not None)
    return low


def _is_low(xp: Any, dtype: Any) -> bool:
    for d in _low_dtypes(xp):
        if dtype == d:
            return True
    return False


def _low_dtype(xp: Any, arrays: tuple) -> Any:
    """The 16-bit float dtype among ``arrays`` (None when there is none)."""
    low = _low_dtypes(xp)
    for a in arrays:
        if a is not None:
            dtype = a.dtype
            for d in low:
                if dtype == d:
                    return dtype
    return None


def _up(xp: Any, arrays: tuple) -> tuple:
    return tuple(xp.astype(a, xp.float32) if a is not None and _is_low(xp, a.dtype) else a for a in arrays)


# -- blocked evaluation (see Bound._rows) ------------------------------------------
# Elements of the inputs' rows per block: the backend's "blocking" hook gives it (sized to keep the kernel's
# temporaries in L2 for that library's per-operation overhead); BLOCK, when set, overrides it (tests).
BLOCK = 0
ROWS = 0  # rows per block, when set: every blockable eager call blocks (tests: blocks of a few rows)
MIN_BLOCKS = 4  # inputs under four blocks keep the whole-array path
# Under MIN_ROWS rows per block, blocking does not pay: wide rows (cross-entropy over 1000 classes, triplets of
# 256 features) already run row reductions whose temporaries are row-sized, and a block's ~10 operations cost
# more in dispatch than they save (measured on torch eager: CE 4096x1000 fwd+bwd 1.0x unblocked, 1.7x blocked).
MIN_ROWS = 256
FLOOR = 1 << 16  # a first input under 64 Ki elements never blocks (the cheap test that small calls pay)
# With a gradient to come and residuals as large as the inputs (elementwise kernels), a first input of up to
# the backend's "whole_grad" elements takes the whole-array path: the residuals kept make the backward one pass,
# where a blocked backward recomputes the kernel per block, paying the library's per-operation dispatch again
# for every block.  torch (5-10 us an operation from Python): 4 Mi elements (bench, fwd+bwd at 1e6: mse 1.39x
# F.mse_loss whole against 3.16x blocked, sigmoid BCE 1.19x against 2.08x); NumPy (about 1 us an operation)
# keeps the blocked backward (huber 0.58x the hand-fused reference blocked, 1.11x whole).  Above it the blocked
# backward bounds the memory to the gradient itself.  WHOLE_GRAD, when set, overrides the backend's (tests).
WHOLE_GRAD: int | None = None


def _whole_grad(xp: Any) -> int:
    """Elements up to which a gradient call with large residuals takes the whole-array path (see WHOLE_GRAD)."""
    if WHOLE_GRAD is not None:
        return WHOLE_GRAD
    return _ops.native(xp, "whole_grad") or 0


class _Blocks:
    """The residual mark of a blocked forward, with the per-block residuals when they are small.

    ``saved``: for each block ``(residuals, valid, norm, loss)`` when all are per-sample and smaller than the
    block's first input (a cross-entropy's log-sum-exp: cheaper kept than recomputed, no second exp pass), else
    None: the backward recomputes the kernel per block (elementwise residuals, 1-D inputs included: recomputing
    from the inputs in cache beats storing them, and keeping them would hold a full-size copy in pieces)."""

    def __init__(self, rows: int, saved: list | None) -> None:
        self.rows, self.saved = rows, saved

    def __repr__(self) -> str:
        return f"<blocked: {self.rows} rows>"


def _size(x: Any) -> int:
    return 0 if x is None else math.prod(x.shape)


def _acc(total: Any, x: Any) -> Any:
    return x if total is None else total + x


class _Rows:
    """One full-size result assembled from row blocks: written in place into one preallocated array where
    the library assigns items (NumPy, torch) or has an in-place row write (the backend's ``"put_rows"``,
    ``(buffer or None, rows, i0, i1, block) -> buffer``: TensorFlow's InplaceUpdate), else concatenated once
    at the end (the blocks and their concatenation: twice the memory)."""

    def __init__(self, xp: Any, n: int, like: Any = None) -> None:
        self.xp, self.n, self.like = xp, n, like
        self.buf: Any = None
        self.parts: list = []
        self.write = _ops.native(xp, "put_rows")

    def put(self, i0: int, i1: int, block: Any) -> None:
        if self.write is not None:
            buf = self.write(self.buf, self.n, i0, i1, block)
            if buf is not None:
                self.buf = buf
                return
            self.write = None  # not here (decided on the first block: a recorded computation): the generic way
        if self.buf is None and not self.parts and hasattr(type(block), "__setitem__"):
            xp = self.xp
            self.buf = (xp.empty_like(self.like) if self.like is not None else
                        xp.empty((self.n, *block.shape[1:]), dtype=block.dtype, device=getattr(block, "device", None)))
        if self.buf is not None:
            self.buf[i0:i1, ...] = block
        else:
            self.parts.append(block)

    def done(self) -> Any:
        return self.buf if self.buf is not None else self.xp.concat(self.parts, axis=0)


@dataclass(frozen=True, eq=False)
class Primitive:
    name: str
    forward: Callable[..., tuple[Any, tuple]]
    partials: Callable[..., tuple] | None = None
    vjp: Callable[..., tuple] | None = None
    normalizer: Callable[..., tuple[Any, Any]] | None = None
    # Inputs with one more axis than the loss (class or feature axis): the
    # static option holding that axis; "all" for scalar losses of whole arrays;
    # "trailing": every axis after the loss' own (a per-image Dice of (N, C, H, W)
    # probabilities is (N,): partials of (N, C, H, W); a batch-pooled one is 0-d).
    event_axis: str | int | None = None
    # Inputs of lower rank align on the *leading* axes of the loss (torch's
    # gaussian_nll var of shape input.shape[:-1]) instead of numpy's trailing.
    align_leading: bool = False
    # The forward returns ``(loss, residuals, (valid, norm))``: counts known only once the loss is computed.
    counted: bool = False
    # Row-local: sample ``i`` of the per-sample loss (and its partials) depends only on row ``i`` of the inputs
    # along axis 0, so eager backends evaluate it over cache-sized blocks of rows (see ``Bound.forward``).
    # None: derived, True for primitives with elementwise partials whose loss keeps the leading axis.
    rowwise: bool | None = None
    # Positions of inputs shared by every sample (per-class weights of shape (C,)): never split into blocks.
    shared: tuple[int, ...] = ()

    @property
    def blockable(self) -> bool:
        if self.rowwise is not None:
            return self.rowwise
        return self.partials is not None and not self.counted and self.event_axis not in ("all", "trailing")

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


def summed(prim: Primitive, name: str) -> Primitive:
    """An elementwise primitive summed over every axis after the first: one loss per sample of a batch on
    axis 0 (a VAE's reconstruction of ``(N, C, H, W)`` images is ``(N,)``).  The kernel and its partials are
    ``prim``'s, unchanged: the partial of a per-sample sum is the elementwise partial
    (``event_axis="trailing"`` expands the per-sample cotangent over the summed axes)."""
    if prim.partials is None:
        raise TypeError(f"summed: {prim.name} has no partials")

    def forward(xp: Any, *arrays: Any, **static: Any) -> tuple:
        loss, res = prim.forward(xp, *arrays, **static)
        return (xp.sum(loss, axis=tuple(range(1, loss.ndim))) if loss.ndim > 1 else loss), res

    return Primitive(name, forward, prim.partials, normalizer=None, event_axis="trailing", rowwise=True)


@dataclass(frozen=True)
class Bound:
    """A primitive + static options + reduction: one differentiable operation."""

    prim: Primitive
    static: tuple[tuple[str, Any], ...]
    reduction: str
    kwargs: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", dict(self.static))
        object.__setattr__(self, "blockable", self.prim.blockable and self.reduction not in _reduce.NORMALIZERS)

    # -- hyperparameter values (see is_value) ------------------------------------
    @functools.cached_property
    def values(self) -> tuple[tuple[str, ...], tuple]:
        """``(names, values)`` of the options that are values, not structure (computed once per Bound)."""
        pairs = [(k, v) for k, v in self.static if is_value(v)]
        return tuple(k for k, _ in pairs), tuple(v for _, v in pairs)

    @functools.cached_property
    def structure(self) -> tuple:
        """A hashable key of everything but the values."""
        names = self.values[0]
        return (self.prim, self.reduction, tuple((k, "<value>" if k in names else v) for k, v in self.static))

    def with_values(self, names: tuple[str, ...], values: tuple) -> Bound:
        """This operation with the options ``names`` set to ``values`` (traced ones, on JAX)."""
        given = dict(zip(names, values))
        return Bound(self.prim, tuple((k, given.get(k, v)) for k, v in self.static), self.reduction)

    # -- forward -----------------------------------------------------------
    def forward(self, xp: Any, *arrays: Any, grad: bool = False) -> tuple[Any, tuple]:
        """``(output, residuals)``.  ``grad``: the residuals are for a backward (a binding that records the
        operation), not discarded: a blocked forward then keeps the whole-array path where that backward is
        cheaper (see :data:`WHOLE_GRAD`)."""
        low = _low_dtype(xp, arrays)
        rows = self._rows(xp, arrays) if self.blockable else 0
        if rows:
            whole = grad and _size(arrays[0]) <= _whole_grad(xp)
            out = self._forward_blocked(xp, arrays, rows, low, whole)
            if out is not None:
                return out
        if low is not None:
            out, res = self._forward(xp, *_up(xp, arrays))
            return xp.astype(out, low), res
        return self._forward(xp, *arrays)

    def _kernel(self, xp: Any, xs: Any) -> tuple[Any, tuple, Any, Any]:
        """``(per-sample loss, residuals, valid, norm)``: the primitive's forward and its normalizer."""
        if self.prim.counted:
            loss, res, (valid, norm) = self.prim.forward(xp, *xs, **self.kwargs)
            if self.reduction not in ("mean", "weighted_mean", *_reduce.NORMALIZERS):
                valid = norm = None
            if norm is valid:  # the same count twice: one residual (torch.compile refuses a tensor saved twice)
                norm = None
            return loss, res, valid, norm
        loss, res = self.prim.forward(xp, *xs, **self.kwargs)
        valid, norm = self._normalizer(xp, xs)
        return loss, res, valid, norm

    def _forward(self, xp: Any, *arrays: Any) -> tuple[Any, tuple]:
        *xs, bad, w = arrays
        loss, res, valid, norm = self._kernel(xp, xs)
        if bad is not None:
            bad = _reduce.expand_weight(xp, bad, loss.ndim)
            loss = loss + bad
        if w is not None:
            w = _reduce.expand_weight(xp, w, loss.ndim)
        out, den = _reduce.forward(xp, loss, w, valid, norm, self.reduction)
        # the per-sample loss is kept for the weight's gradient, and for a VJP primitive's cotangent shape
        # (not when it *is* the output, reduction "none" unweighted: torch marks residuals non-differentiable)
        keep = w is not None or (self.prim.partials is None and out is not loss)
        return out, (*res, bad, loss if keep else None, den, valid, norm)

    def _normalizer(self, xp: Any, xs: Any) -> tuple[Any, Any]:
        if self.prim.normalizer is None or self.reduction not in ("mean", "weighted_mean", *_reduce.NORMALIZERS):
            return None, None
        return self.prim.normalizer(xp, *xs, **self.kwargs)

    # -- reverse mode --------------------------------------------------------
    def vjp(self, xp: Any, arrays: tuple, res: tuple, g: Any, needs: tuple | None = None) -> tuple:
        """Cotangents for every array (None where not differentiable)."""
        if res and isinstance(res[0], _Blocks):
            return self._vjp_blocked(xp, arrays, res, g, needs)
        if _low_dtype(xp, arrays) is not None:
            cts = self._vjp(xp, _up(xp, arrays), res, xp.astype(g, xp.float32), needs)
            return tuple(c if c is None else xp.astype(c, a.dtype) for c, a in zip(cts, arrays))
        return self._vjp(xp, arrays, res, g, needs)

    @staticmethod
    def poison_times(res: tuple, g: Any) -> tuple:
        """``res`` (an unblocked forward's residuals) with the poison ``bad`` (NaN or 0 per sample) times ``g``.

        :meth:`vjp` adds ``bad`` to the per-sample cotangent, an affine term that a linear transpose
        (``jax.linear_transpose``) drops; ``g * bad`` is linear in ``g`` and gives the same numbers.
        """
        *pres, bad, loss, den, valid, norm = res
        return res if bad is None else (*pres, g * bad, loss, den, valid, norm)

    def _vjp(self, xp: Any, arrays: tuple, res: tuple, g: Any, needs: tuple | None) -> tuple:
        if self.reduction in _reduce.NORMALIZERS:  # a count: constant in every input
            return (None,) * len(arrays)
        *xs, _, w = arrays
        *pres, bad, loss, den, valid, norm = res
        needs = needs or (True,) * len(arrays)
        wb = None if w is None else _reduce.expand_weight(xp, w, loss.ndim)
        g_loss, g_w = _reduce.vjp(xp, g, loss, wb, den, valid, norm, self.reduction, bool(needs[-1]))
        if bad is not None:  # NaN gradients where the value is NaN (``bad`` has the loss' rank)
            g_loss = g_loss + bad
        if any(needs[:-2]):
            cts = self._loss_vjp(xp, tuple(xs), tuple(pres), g_loss, needs[:-2], loss)
        else:
            cts = (None,) * len(xs)
        ct_w = None
        if g_w is not None:
            ct_w = xp.reshape(_reduce.unbroadcast(xp, g_w, tuple(wb.shape)), tuple(w.shape))
        return (*cts, None, ct_w)

    def _loss_vjp(self, xp: Any, xs: tuple, pres: tuple, g_loss: Any, needs: tuple, loss: Any = None) -> tuple:
        if self.prim.vjp is not None:  # cotangents, or zero-argument callables computed only when needed
            if loss is not None:  # a mean's 0-d g or a 0-d weight's (1,): per sample (sizes may be unknown)
                g_loss = g_loss + xp.zeros_like(loss)
            cts = self.prim.vjp(xp, xs, pres, g_loss, **self.kwargs)
            out = []
            for x, c, need in zip(xs, cts, needs):  # a broadcast input's cotangent summed back to its shape
                c = (c() if callable(c) else c) if need else None
                out.append(c if c is None or x is None else _reduce.unbroadcast(xp, c, tuple(x.shape)))
            return tuple(out)
        parts = self.prim.partials(xp, xs, pres, **self.kwargs)
        out = []
        for x, p, need in zip(xs, parts, needs):
            if p is None or x is None or not need:
                out.append(None)
                continue
            p = p() if callable(p) else p
            ct = self._expand(xp, g_loss, p) * p
            if self.prim.align_leading and 0 < x.ndim < ct.ndim:
                ct = xp.sum(ct, axis=tuple(range(x.ndim, ct.ndim)))
            out.append(_reduce.unbroadcast(xp, ct, tuple(x.shape)))
        return tuple(out)

    def _expand(self, xp: Any, g: Any, p: Any) -> Any:
        """Give a per-sample cotangent the event axis of a partial."""
        if g.ndim == 0 or g.ndim >= p.ndim or self.prim.event_axis is None:
            return g
        if self.prim.event_axis == "trailing":
            for _ in range(p.ndim - g.ndim):
                g = xp.expand_dims(g, axis=-1)
            return g
        axis = self._axis(p.ndim)
        return xp.expand_dims(g, axis=axis)

    def _axis(self, ndim: int) -> int:
        ev = self.prim.event_axis
        axis = self.kwargs[ev] if isinstance(ev, str) else ev
        return axis % ndim

    # -- blocked eager evaluation ------------------------------------------------
    # A row-local primitive (``Primitive.blockable``) on an eager backend (its ``"blocking"`` hook: NumPy,
    # torch outside torch.compile / autograd recording / torch.func, TensorFlow outside tf.function) is
    # evaluated over blocks of ``rows`` leading rows of a cache-sized working set: every temporary of the
    # kernel is a block, the forward keeps only the reduction's sums, and the backward recomputes the
    # residuals per block and writes each cotangent block into the one full-size gradient.  The kernels are
    # the same; only the loop around them differs.  Compilers fuse the whole-array body themselves: jitted
    # and traced calls never block.
    def _rows(self, xp: Any, arrays: tuple) -> int:
        """Rows per block, or 0 for the whole-array path (small inputs, axis 0 an event axis, not eager)."""
        x0 = arrays[0]
        shape = getattr(x0, "shape", ())
        if len(shape) == 0 or None in shape or shape[0] < 2 or (not ROWS and math.prod(shape) < FLOOR):
            return 0
        n = shape[0]
        per_row = 0
        for a, split in zip(arrays, self._split(arrays, n)):
            if split:
                if any(d is None for d in a.shape):
                    return 0
                per_row += math.prod(a.shape) // n
        ev = self.prim.event_axis
        if ev is not None and ev != "trailing" and self._axis(len(shape)) == 0:
            return 0
        hook = _ops.native(xp, "blocking")
        block = hook(*arrays) if hook is not None else 0
        if not block:
            return 0
        if ROWS:
            return ROWS if n > ROWS else 0
        block = BLOCK or block
        rows = block // max(per_row, 1)
        if rows < MIN_ROWS or n < MIN_BLOCKS * rows:
            return 0
        return rows

    def _split(self, arrays: tuple, n: int) -> tuple[bool, ...]:
        """Which arrays are split into row blocks: those with ``n`` leading rows aligned on the loss' samples.

        The kernel's inputs of the primary's rank (same-rank broadcasting: a size-1 axis is shared), of one
        rank less for a loss with an event axis (labels without the class axis), or of any rank for a
        primitive aligning on the leading axes; never the primitive's ``shared`` positions (per-class
        weights); the poison and the per-sample weight (aligned on the leading axes) when they have ``n`` rows.
        """
        nd = arrays[0].ndim
        k = len(arrays) - 2
        out = []
        for i, a in enumerate(arrays):
            if a is None or a.ndim == 0 or a.shape[0] != n or i in self.prim.shared:
                out.append(False)
            elif i >= k or self.prim.align_leading or a.ndim == nd:
                out.append(True)
            else:
                out.append(self.prim.event_axis is not None and a.ndim == nd - 1)
        return tuple(out)

    def _blocks(self, xp: Any, arrays: tuple, rows: int, low: Any) -> Any:
        """``(start, stop, block arrays)`` per block (float32 blocks of 16-bit inputs)."""
        n = arrays[0].shape[0]
        split = self._split(arrays, n)
        for i0 in range(0, n, rows):
            i1 = min(i0 + rows, n)
            blk = tuple(a[i0:i1, ...] if s else a for a, s in zip(arrays, split))
            yield i0, i1, (_up(xp, blk) if low is not None else blk)

    def _forward_blocked(self, xp: Any, arrays: tuple, rows: int, low: Any, whole: bool = False) -> tuple | None:
        """The blocked forward; None when ``whole`` and the first block's residuals are not small (the caller
        then takes the whole-array path: one block's work is repeated, the backward is one pass)."""
        mean = self.reduction != "none" and self.reduction != "sum"
        total = den = None
        out = _Rows(xp, arrays[0].shape[0])
        saved: list | None = []
        for i0, i1, blk in self._blocks(xp, arrays, rows, low):
            *xs, bad, w = blk
            loss, pres, valid, norm = self._kernel(xp, xs)
            if bad is not None:
                loss = loss + _reduce.expand_weight(xp, bad, loss.ndim)
            if saved is not None:
                # per-sample and smaller than the block's first input (a log-sum-exp of (rows, C) logits); an
                # elementwise residual of a 1-D input is as large as the input: recomputed, never accumulated
                small = all(_size(r) <= i1 - i0 and _size(r) < _size(xs[0]) for r in (*pres, valid, norm, loss))
                if small:
                    saved.append((pres, valid, norm, loss))
                elif whole:
                    return None
                else:
                    saved = None
            if w is not None:
                w = _reduce.expand_weight(xp, w, loss.ndim)
            wl = loss if w is None else w * loss
            if self.reduction == "none":
                out.put(i0, i1, wl if low is None else xp.astype(wl, low))
                continue
            total = _acc(total, xp.sum(wl))
            if mean:
                den = _acc(den, _reduce.denominator(xp, loss, w, valid, norm, self.reduction, raw=True))
        mark = _Blocks(rows, saved)
        if self.reduction == "none":
            return out.done(), (mark, None, None)
        if mean:
            den = _reduce.nonzero(xp, den)
            result = total / den
        else:
            result = total
        keep = total if (self.reduction == "weighted_mean" and arrays[-1] is not None) else None
        return (result if low is None else xp.astype(result, low)), (mark, den, keep)

    def _vjp_blocked(self, xp: Any, arrays: tuple, res: tuple, g: Any, needs: tuple | None) -> tuple:
        mark, den, total = res
        low = _low_dtype(xp, arrays)
        if low is not None:
            g = xp.astype(g, xp.float32)
        needs = needs or (True,) * len(arrays)
        n = arrays[0].shape[0]
        split = self._split(arrays, n)
        out = total / den if total is not None else None  # the weighted mean, for its weight's cotangent
        acc: list = [None] * len(arrays)
        for b, (i0, i1, blk) in enumerate(self._blocks(xp, arrays, mark.rows, low)):
            *xs, bad, w = blk
            if mark.saved is not None:
                pres, valid, norm, loss = mark.saved[b]
            else:
                loss, pres, valid, norm = self._kernel(xp, xs)
            if bad is not None:
                bad = _reduce.expand_weight(xp, bad, loss.ndim)
                if mark.saved is None:
                    loss = loss + bad
            wb = None if w is None else _reduce.expand_weight(xp, w, loss.ndim)
            gb = g[i0:i1, ...] if self.reduction == "none" else g
            g_loss, g_w = _reduce.vjp(xp, gb, loss, wb, den, valid, norm, self.reduction, bool(needs[-1]), out=out)
            if bad is not None:
                g_loss = g_loss + bad
            keep = w is not None or self.prim.partials is None
            cts = (self._loss_vjp(xp, tuple(xs), tuple(pres), g_loss, needs[:-2], loss if keep else None)
                   if any(needs[:-2]) else (None,) * len(xs))
            ct_w = None if g_w is None else xp.reshape(_reduce.unbroadcast(xp, g_w, tuple(wb.shape)), tuple(w.shape))
            for k, c in enumerate((*cts, None, ct_w)):
                if c is None:
                    continue
                a = arrays[k]
                if low is not None:
                    c = xp.astype(c, a.dtype)
                if split[k]:
                    acc[k] = acc[k] or _Rows(xp, n, like=a)
                    acc[k].put(i0, i1, c)
                else:
                    acc[k] = _acc(acc[k], c)
        return tuple(c.done() if isinstance(c, _Rows) else c for c in acc)

    # -- forward mode (JAX custom_jvp) ---------------------------------------
    def jvp(self, xp: Any, arrays: tuple, tangents: tuple) -> tuple[Any, Any]:
        """Primal output and its tangent, written with differentiable ops."""
        low = _low_dtype(xp, arrays)
        if low is not None:
            out, t_out = self._jvp(xp, _up(xp, arrays), _up(xp, tangents))
            return xp.astype(out, low), xp.astype(t_out, low)
        return self._jvp(xp, arrays, tangents)

    def _jvp(self, xp: Any, arrays: tuple, tangents: tuple) -> tuple[Any, Any]:
        *xs, bad, w = arrays
        *txs, _, tw = tangents
        loss, pres, valid, norm = self._kernel(xp, xs)
        if bad is not None:
            loss = loss + _reduce.expand_weight(xp, bad, loss.ndim)
        wb = None if w is None else _reduce.expand_weight(xp, w, loss.ndim)
        out, den = _reduce.forward(xp, loss, wb, valid, norm, self.reduction)
        if self.reduction in _reduce.NORMALIZERS:
            return out, xp.zeros_like(out)
        parts = self.prim.partials(xp, tuple(xs), tuple(pres), **self.kwargs)
        t_loss = None
        for x, p, t in zip(xs, parts, txs):
            if p is None or x is None or t is None:
                continue
            p = p() if callable(p) else p
            if self.prim.align_leading and 0 < t.ndim < p.ndim:
                t = _reduce.expand_weight(xp, t, p.ndim)
            term = p * t
            if term.ndim > loss.ndim:
                if self.prim.event_axis == "all" or (self.prim.event_axis == "trailing" and loss.ndim == 0):
                    term = xp.sum(term)
                elif self.prim.event_axis == "trailing":
                    term = xp.sum(term, axis=tuple(range(loss.ndim, term.ndim)))
                else:
                    term = xp.sum(term, axis=self._axis(term.ndim))
            t_loss = term if t_loss is None else t_loss + term
        if bad is not None and t_loss is not None:  # a factor 1 or NaN: the tangent stays linear (JAX transposes it)
            t_loss = t_loss * (1.0 + _reduce.expand_weight(xp, bad, t_loss.ndim))
        twb = None if (w is None or tw is None) else _reduce.expand_weight(xp, tw, loss.ndim)
        t_out = _reduce.jvp(xp, t_loss, twb, loss, wb, out, den, valid, norm, self.reduction)
        return out, t_out


_BOUND: LRU = LRU()


def apply(backend: Any, prim: Primitive, arrays: tuple, *, sample_weight: Any = None, invalid: Any = None,
          reduction: str = "mean", **static: Any) -> Any:
    """Run ``prim`` on ``arrays`` through ``backend``'s autodiff binding.

    ``invalid``: None, or a boolean mask aligned on the leading axes of the per-sample loss (see the
    module docstring): NaN loss and gradients where it is True.
    """
    poison = None
    if invalid is not None:
        xp = backend.xp
        zero = xp.zeros_like(invalid, dtype=arrays[0].dtype)
        poison = xp.where(invalid, zero + math.nan, zero)
    arrayed = [k for k, v in static.items() if is_value(v) and type(v) is not float]
    if arrayed and backend.name != "jax":
        raise error(prim.name, arrayed[0], "a Python float (an array hyperparameter is a traced JAX value only)",
                    "a JAX array", kind=XplossTypeError)
    if arrayed or backend.compiling():
        # an array value is not hashable; torch.compile guards on a global dict it reads: build a Bound afresh
        return backend.apply(Bound(prim, tuple(sorted(static.items())), reduction), (*arrays, poison, sample_weight))
    key = (prim, reduction, *static.items())
    bound = _BOUND.get(key)
    if bound is None:
        bound = _BOUND[key] = Bound(prim, tuple(sorted(static.items())), reduction)
    return backend.apply(bound, (*arrays, poison, sample_weight))
