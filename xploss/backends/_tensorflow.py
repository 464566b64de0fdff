"""TensorFlow: ``tf.custom_gradient`` around each bound loss.

The namespace is xploss' own (:mod:`xploss.backends._tf_array_api`).  The
forward's ops are recorded by any outer tape, so the residuals the gradient
function uses stay differentiable and second-order gradients are exact.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

from .._api import check_caller
from .._define import LRU
from .._errors import XplossTypeError, dtype_name, error
from . import _tf_array_api as xp
from ._common import Backend, built, check_scalar_output, normalize_argnums, pack, refill, wrap

_CACHE: LRU = LRU()


def _eager_hooks() -> tuple[Callable[[], bool], Callable[[], bool], Callable | None, Callable, Callable]:
    """``(eager, no_tape, record, watched, stop_recording)`` from TensorFlow's eager internals: is this thread
    executing eagerly, is no GradientTape or ForwardAccumulator active on it (``could_possibly_record``'s test),
    the tape-set recording that ``tf.custom_gradient`` itself calls eagerly, the gradient orders any active
    tape or accumulator may take of given tensors (0: none watches them, 1: first order only, 2: higher
    orders: a persistent or a nested tape), and the context that pauses the tapes.  Without them (moved
    internals): always the custom gradient."""
    try:
        from tensorflow.python import pywrap_tfe
        from tensorflow.python.eager import context, record
    except ImportError:  # pragma: no cover - depends on TensorFlow's layout
        return (lambda: False), (lambda: False), None, (lambda ts: 2), contextlib.nullcontext
    return (context.executing_eagerly, pywrap_tfe.TFE_Py_TapeSetIsEmpty, record.record_operation,
            pywrap_tfe.TFE_Py_TapeSetPossibleGradientTypes, record.stop_recording)


_EAGER, _NO_TAPE, _RECORD, _WATCHED, _STOP_RECORDING = _eager_hooks()


def _grad_fn(bound: Any, arrays: tuple, res: tuple, present: tuple[bool, ...],
             needs: tuple[bool, ...] | None = None) -> Callable:
    """The hand VJP as TensorFlow's gradient function: cotangents of the given (non-None) arrays; ``needs``:
    which of them a tape or accumulator watches (the others' cotangents are not computed: None), every
    floating one when not given."""
    if needs is None:
        needs = tuple(a is not None and a.dtype.is_floating for a in arrays)

    def grad(g: Any) -> list:
        cts = bound.vjp(xp, arrays, res, g, needs)
        return [c for c, p in zip(cts, present) if p]

    return grad


def _recorded(bound: Any, arrays: tuple) -> Any:
    """Eagerly under a tape: what ``tf.custom_gradient``'s eager path does, for inputs that are tensors and a
    kernel that reads no variable (``apply`` converts variables first): the forward runs with the tapes
    recording where a persistent or nested tape may differentiate the VJP (residuals stay differentiable:
    second order), with them paused where only first order is possible, its output is renamed by an identity op and
    recorded on every active tape and accumulator as one operation whose gradient is the hand VJP.  Without
    the decorator's per-call work (variable watcher, argspec of the gradient function, nest flattening)."""
    present = tuple(a is not None for a in arrays)
    orders = tuple(_WATCHED([a]) if a is not None and a.dtype.is_floating else 0 for a in arrays)
    needs = tuple(k > 0 for k in orders)
    # first order only: nothing differentiates the VJP, so its residuals need no tape (recorded, each block's
    # intermediates would be kept alive by it)
    with _STOP_RECORDING() if max(orders) < 2 else contextlib.nullcontext():
        out, res = bound.forward(xp, *arrays, grad=True)
    out = tf.identity(out)
    _RECORD(bound.prim.name, [out], [a for a in arrays if a is not None],
            _grad_fn(bound, arrays, res, present, needs))
    return out


def _put_rows(buf: Any, n: int, i0: int, i1: int, block: Any) -> Any:
    """xploss._define._Rows' in-place row write (the namespace's ``"put_rows"``): rows ``i0:i1`` of an
    ``n``-row eager buffer (created uninitialised on the first block) set to ``block`` in place
    (``InplaceUpdate`` aliases its input: one full-size buffer, where a concatenation of the blocks holds two).
    Only xploss' own fresh buffer is written, every row exactly once.  None (the caller then concatenates)
    where a tape could record the blocks: InplaceUpdate has no gradient (a VJP differentiated again under a
    persistent or nested tape)."""
    if buf is None:
        if _WATCHED([block]) > 0:
            return None
        buf = tf.raw_ops.Empty(shape=[n, *block.shape[1:]], dtype=block.dtype, init=False)
    return tf.raw_ops.InplaceUpdate(x=buf, i=tf.range(i0, i1), v=block)


xp.__xploss_ops__["put_rows"] = _put_rows


def _build(bound: Any, present: tuple[bool, ...]) -> Callable:
    def full(arrays: Sequence) -> tuple:
        return refill(present, arrays)

    @tf.custom_gradient
    def f(*tensors: Any) -> Any:
        arrays = full(tensors)
        out, res = bound.forward(xp, *arrays, grad=True)
        return out, _grad_fn(bound, arrays, res, present)

    return f


_WIDE_INTS = (tf.int32, tf.int64)


class _Pending(threading.local):
    """Per thread, per public loss call being traced: the run-time size mismatches of its arguments."""

    def __init__(self) -> None:
        self.stack: list[list] = []


_PENDING = _Pending()


def _narrow_int(x: Any) -> bool:
    return isinstance(x, (tf.Tensor, tf.Variable)) and x.dtype.is_integer and x.dtype not in _WIDE_INTS


def _widen(x: Any) -> Any:
    return tf.cast(x, tf.int64) if _narrow_int(x) else x


class TensorFlowBackend(Backend):
    name = "tensorflow"
    xp = xp

    def host(self, x: Any) -> Any:
        """The values of ``x`` as a NumPy array, or None for a symbolic tensor."""
        eager_tensor = type(x).__name__ == "EagerTensor"
        if eager_tensor or (tf.executing_eagerly() and isinstance(x, tf.Variable)):
            return x.numpy()
        return None

    def assert_dims(self, message: str, x: Any, ref: Any, axes: list[tuple[int, int]], broadcast: bool = False) -> None:
        """A ``tf.debugging.Assert`` on the unknown sizes: a stateful op, so ``tf.function`` runs it
        (automatic control dependencies) and a mismatch fails with ``InvalidArgumentError`` carrying
        ``message`` and both shapes, instead of broadcasting.  XLA (``jit_compile=True``) drops
        assertions: the mismatch is also kept for :meth:`call`, which makes that loss NaN."""
        sx, sr = tf.shape(x), tf.shape(ref)
        ok = tf.reduce_all(tf.stack([tf.logical_or(tf.equal(sx[i], sr[j]), broadcast and tf.equal(sx[i], 1))
                                     for i, j in axes]))
        check = tf.debugging.Assert(ok, [message, "shape", sx, "expected sizes",
                                         tf.stack([sr[j] for _, j in axes]), "at axes", [i for i, _ in axes]])
        if _PENDING.stack:
            _PENDING.stack[-1].append((check, tf.logical_not(ok)))

    def call(self, name: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
        """Run a public loss: the Keras caller check, then integer arrays of the dtypes TensorFlow's
        gather / comparison kernels refuse (int8, int16, uint8, uint16, uint32) widened to int64,
        so that labels of every integer dtype work as on NumPy, torch and JAX."""
        check_caller(name, 1)
        if any(_narrow_int(a) for a in args) or any(_narrow_int(v) for v in kwargs.values()):
            args = tuple(_widen(a) for a in args)
            kwargs = {k: _widen(v) for k, v in kwargs.items()}
        _PENDING.stack.append([])
        try:
            out = fn(*args, **kwargs)
        finally:
            mismatched = _PENDING.stack.pop()
        if mismatched:  # sizes unknown while tracing (see assert_dims): NaN where XLA dropped the assertion
            bad = tf.reduce_any(tf.stack([m for _, m in mismatched]))
            out = out + tf.where(bad, tf.constant(float("nan"), out.dtype), tf.zeros([], out.dtype))
        return out

    def apply(self, bound: Any, arrays: tuple) -> Any:
        if _EAGER():  # sizes are known eagerly: no pending size assertions
            arrays = tuple(tf.convert_to_tensor(a) if isinstance(a, tf.Variable) else a for a in arrays)
            if _NO_TAPE():  # nothing can record a gradient: the forward alone, the same value
                return bound.forward(xp, *arrays)[0]
            if _RECORD is not None:
                return _recorded(bound, arrays)
        fn, given = built(_CACHE, _build, bound, arrays)
        given = [tf.convert_to_tensor(a) if isinstance(a, tf.Variable) else a for a in given]
        checks = [c for c, _ in _PENDING.stack[-1]] if _PENDING.stack else []
        if not checks:
            return fn(*given)
        with tf.control_dependencies(checks):  # the size assertions run before the kernel (a gather would fail first)
            return fn(*given)

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """A nested ``tf.GradientTape``: an enclosing tape (the critic step's) records this gradient, so it
        is differentiable with respect to the variables ``f`` uses; eagerly and under ``tf.function``."""
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = f(x)
        return tape.gradient(out, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        def inner(*args: Any, **kwargs: Any) -> Any:
            nums, single = normalize_argnums(argnums, len(args))
            for i in nums:
                if not args[i].dtype.is_floating:
                    raise error("value_and_grad", f"args[{i}]", "a real floating tensor to differentiate",
                                f"dtype {dtype_name(args[i].dtype)}", kind=XplossTypeError)
            with tf.GradientTape() as tape:
                for i in nums:
                    tape.watch(args[i])
                out = fn(*args, **kwargs)
            check_scalar_output(out)
            grads = tape.gradient(out, [args[i] for i in nums],
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return out, pack(single, list(grads))

        return wrap(fn, inner)


def backend(name: str) -> TensorFlowBackend:
    return TensorFlowBackend()
