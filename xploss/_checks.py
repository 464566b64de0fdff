"""Validation raising :class:`XplossError` (jit-safe: no Python branch on a traced value).

Metadata checks (shapes, dtypes, options) run everywhere; sizes unknown while
tracing (TensorFlow's ``None``) are compared at run time (:func:`dims_match`).
Value checks (label ranges, probabilities in [0, 1], negative rates or
variances) raise on concrete arrays; on traced ones they return the mask of the
samples they cannot vouch for, which ``apply(invalid=)`` turns into a NaN loss.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from ._errors import XplossError, XplossTypeError, dtype_name, error
from ._namespace import backend_for, backend_of
from ._reduce import REDUCTIONS

__all__ = [
    "XplossError", "XplossTypeError", "error", "dtype_name",  # re-exported for the loss modules
    "class_axis", "shape_of", "reduction", "floating", "same_dtype", "same_shape", "dims_match", "index_labels",
    "number", "learnable", "weight", "labels_in_range",
    "target_like",
]


def shape_of(x: Any) -> tuple:
    """Shape as a tuple; ``None`` for dimensions unknown while tracing (TF)."""
    shape = tuple(x.shape)
    for d in shape:
        if type(d) is not int:  # a TF Dimension, None, a NumPy integer: converted (ints are returned as they are)
            return tuple(None if d is None else int(d) for d in shape)
    return shape


def shape_str(shape: tuple) -> str:
    """``(4, ?, 3)``: a shape as the messages print it (``?`` for a size unknown while tracing)."""
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


_shape_str = shape_str


def flag(fn: str, name: str, value: Any) -> bool:
    """A Python bool option (not a truthy value)."""
    if not isinstance(value, bool):
        raise error(fn, name, "a bool", repr(value), kind=XplossTypeError)
    return value


def choice(fn: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """A string option among ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise error(fn, name, "one of " + ", ".join(repr(a) for a in allowed), repr(value))
    return value


def reduction(fn: str, value: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise error(fn, "reduction", "one of " + ", ".join(repr(a) for a in allowed), repr(value))
    return value


def floating(fn: str, name: str, xp: Any, x: Any) -> Any:
    """Require a real floating array (a Python bool or other non-array: an error naming its type)."""
    if not hasattr(x, "dtype"):
        raise error(fn, name, "a real floating array (float16/32/64, bfloat16)", f"{type(x).__name__} {x!r}",
                    kind=XplossTypeError)
    if not xp.isdtype(x.dtype, "real floating"):
        raise error(fn, name, "a real floating array (float16/32/64, bfloat16)", f"dtype {dtype_name(x.dtype)}",
                    kind=XplossTypeError)
    return x


def same_dtype(fn: str, x: tuple[str, Any], ref: tuple[str, Any]) -> None:
    """``x`` has the dtype of ``ref`` (no silent up- or down-casting between floating inputs)."""
    if x[1].dtype != ref[1].dtype:
        raise error(fn, x[0], f"dtype {dtype_name(ref[1].dtype)} (the dtype of `{ref[0]}`)",
                    f"dtype {dtype_name(x[1].dtype)}", kind=XplossTypeError)


def dims_match(fn: str, arg: str, expected: str, x: Any, ref: Any, axes: list[tuple[int, int]],
               hint: str = "", broadcast: bool = False) -> None:
    """``x.shape[i] == ref.shape[j]`` for each ``(i, j)`` in ``axes`` (or ``x.shape[i] == 1`` where
    ``broadcast``): checked now where both sizes are known, else (TensorFlow's ``None`` dimensions
    under ``tf.function``) by an assertion in the graph that fails at run time with the same message,
    never a silent broadcast (see ``TensorFlowBackend.assert_dims``)."""
    sx, sr = shape_of(x), shape_of(ref)
    if broadcast:
        axes = [(i, j) for i, j in axes if sx[i] != 1]
    if any(sx[i] is not None and sr[j] is not None and sx[i] != sr[j] for i, j in axes):
        raise error(fn, arg, expected, f"shape {_shape_str(sx)}", hint=hint)
    unknown = [(i, j) for i, j in axes if sx[i] is None or sr[j] is None]
    if unknown:
        backend_for(backend_of(x)).assert_dims(
            f"xploss.{fn}: argument `{arg}`: expected {expected}. Received: another size at run time", x, ref, unknown,
            broadcast)


def same_shape(fn: str, a: tuple[str, Any], b: tuple[str, Any]) -> None:
    """Exactly equal shapes (no broadcasting between prediction and target)."""
    sa, sb = shape_of(a[1]), shape_of(b[1])
    if sa == sb and None not in sa:  # known and equal: nothing to check now or at run time
        return
    expected = f"the shape of `{a[0]}` {_shape_str(sa)} (no broadcasting)"
    if len(sa) != len(sb):
        raise error(fn, b[0], expected, f"shape {_shape_str(sb)}")
    dims_match(fn, b[0], expected, b[1], a[1], [(i, i) for i in range(len(sa))])


def index_labels(fn: str, xp: Any, labels: Any, scores: tuple[str, Any], axis: int | None, expected: str,
                 hint: str = "", name: str = "labels") -> None:
    """Integer labels of the scores' shape without their class ``axis`` (``axis=None``: the scores'
    whole shape, e.g. target lists), statically and, for unknown sizes, at run time.

    ``expected`` and ``hint`` may be zero-argument callables returning the text: formed only for an error.
    """
    full = shape_of(scores[1])
    keep = [i for i in range(len(full)) if i != axis]
    lshape = shape_of(labels)
    if None not in full and lshape == tuple(full[i] for i in keep):  # known and matching: nothing to check
        return
    expected, hint = _text(expected), _text(hint)
    if len(lshape) != len(keep):
        raise error(fn, name, expected, f"shape {_shape_str(lshape)}", hint=hint)
    dims_match(fn, name, expected, labels, scores[1], list(enumerate(keep)), hint)


def _text(v: Any) -> str:
    """A message part given as a string or as a zero-argument callable forming it (only when an error needs it)."""
    return v() if callable(v) else v


def target_like(fn: str, xp: Any, pred: tuple[str, Any], target: tuple[str, Any]) -> Any:
    """A target with the prediction's shape and dtype.

    Integer or bool targets are cast to the prediction's dtype; a floating
    target of another dtype is an error (no silent up- or down-casting).
    """
    same_shape(fn, pred, target)
    p, t = pred[1], target[1]
    if t.dtype == p.dtype:
        return t
    if xp.isdtype(t.dtype, "real floating"):
        same_dtype(fn, target, pred)
    if xp.isdtype(t.dtype, ("integral", "bool")):
        return xp.astype(t, p.dtype)
    raise error(fn, target[0], "a real floating, integer or bool array", f"dtype {dtype_name(t.dtype)}",
                kind=XplossTypeError)


def _matches(shape: tuple, expected: tuple) -> bool:
    """Equal shapes, ``None`` (unknown while tracing) matching any size."""
    return len(shape) == len(expected) and all(a is None or b is None or a == b for a, b in zip(shape, expected))


def label_hint(xp: Any, labels: Any, sample_shape: tuple, dense_shape: tuple | None) -> str:
    """How to fix class labels of a porting-trap kind or shape ('' when none applies).

    Two traps: ``(N, 1)`` labels for ``(N, C)`` scores (Keras squeezes them;
    xploss never reshapes silently), and class indices stored as floats
    (xploss reads floating labels as probabilities where ``dense_shape`` is
    given, and refuses them for index-only losses).
    """
    shape = shape_of(labels)
    hints = []
    if _matches(shape, (*sample_shape, 1)):
        hints.append(f"Labels of shape {_shape_str(shape)} with a trailing axis of 1: drop it "
                     f"(labels[..., 0]) for shape {_shape_str(sample_shape)}; xploss does not squeeze silently.")
    if xp.isdtype(labels.dtype, "real floating") and (_matches(shape, sample_shape) or hints):
        read = ("are read as probabilities of shape " + _shape_str(dense_shape) if dense_shape is not None
                else "are not read as class indices")
        hints.append(f"Floating labels {read}; to pass class indices give an integer array "
                     "(numpy labels.astype(int), torch labels.long(), tf.cast(labels, tf.int64), "
                     "jax labels.astype(int)).")
    return " ".join(hints)


def dense_labels(fn: str, xp: Any, scores: tuple[str, Any], labels: Any, sample_shape: tuple) -> Any:
    """Floating labels as a dense target of the scores' shape and dtype, with the porting hints."""
    full = shape_of(scores[1])
    if not _matches(shape_of(labels), full):
        raise error(fn, "labels", f"integer labels of shape {_shape_str(sample_shape)} or probabilities of the "
                    f"shape of `{scores[0]}` {_shape_str(full)}", f"shape {_shape_str(shape_of(labels))}",
                    hint=label_hint(xp, labels, sample_shape, full))
    return target_like(fn, xp, scores, ("labels", labels))


def _jax_scalar(value: Any) -> bool:
    """A 0-d real floating JAX array (concrete or traced)."""
    return ((type(value).__module__ or "").startswith("jax") and getattr(value, "shape", None) == ()
            and getattr(getattr(value, "dtype", None), "kind", "") == "f")


def number(fn: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, traced: bool = False) -> Any:
    """A finite Python number within bounds, returned as float.

    ``traced=True`` (hyperparameters that schedules change every step: ``gamma``, ``delta``,
    ``label_smoothing``): a 0-d JAX array is accepted too and returned as it is, an argument of the
    compiled kernel (its bounds checked when it is concrete; a traced value cannot be).
    """
    if traced and not isinstance(value, (int, float)) and _jax_scalar(value):
        if isinstance(value, sys.modules["jax"].core.Tracer):
            return value
        number(fn, name, float(value), low=low, high=high, low_open=low_open, high_open=high_open)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(fn, name, "a finite Python float" + (" or a 0-d JAX array" if traced else ""), repr(value),
                    kind=XplossTypeError)
    if (low is not None and (value < low or (low_open and value == low))) or \
            (high is not None and (value > high or (high_open and value == high))):
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
        raise error(fn, name, f"a value in {interval}", repr(value))
    return float(value)


def learnable(fn: str, name: str, backend: Any, value: Any, ref: Any, *, low: float = 0.0,
              low_open: bool = True) -> tuple[Any, Any]:
    """A hyperparameter that may be learned (a temperature, a logit scale): ``(0-d array, invalid)``.

    A Python number is checked against its bound and becomes a 0-d array of ``ref``'s dtype (and
    device); an array (a ``torch.nn.Parameter``, a ``tf.Variable``, a JAX array, traced or not) of shape
    ``()`` or ``(1,)`` is reshaped to 0-d and cast to ``ref``'s dtype, both differentiable, so the loss'
    VJP gives its gradient to the framework.  Its bound is checked when its value is known (an error);
    traced, ``invalid`` is the 0-d mask "out of bounds" (NaN loss, see :func:`labels_in_range`).
    """
    xp = backend.xp
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = number(fn, name, value, low=low, low_open=low_open)
        device = getattr(ref, "device", None) if backend.name == "torch" else None
        return xp.asarray(v, dtype=ref.dtype, device=device), None
    expected = f"a Python float or a 0-d floating array (learnable), {'>' if low_open else '>='} {low}"
    if not hasattr(value, "dtype") or not hasattr(value, "shape"):
        raise error(fn, name, expected, f"{type(value).__name__} {value!r}", kind=XplossTypeError)
    if not xp.isdtype(value.dtype, "real floating"):
        raise error(fn, name, expected, f"dtype {dtype_name(value.dtype)}", kind=XplossTypeError)
    shape = shape_of(value)
    if shape not in ((), (1,)):
        raise error(fn, name, expected, f"shape {_shape_str(shape)}")
    if shape == (1,):
        value = xp.reshape(value, ())
    if value.dtype != ref.dtype:
        value = xp.astype(value, ref.dtype)
    v = backend.host(value)
    if v is None:
        return value, (value <= low) if low_open else (value < low)
    number(fn, name, float(v), low=low, low_open=low_open)
    return value, None


def class_axis(fn: str, xp: Any, name: str, x: Any, axis: Any) -> tuple[int, int | None, tuple]:
    """A real floating input with a class axis: ``(axis >= 0, number of classes, per-sample shape)``."""
    floating(fn, name, xp, x)
    shape = shape_of(x)
    if not shape:
        raise error(fn, name, "an array with a class axis (ndim >= 1)", "a 0-d array")
    if isinstance(axis, bool) or not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        raise error(fn, "axis", f"an int in [-{len(shape)}, {len(shape)})", repr(axis))
    axis %= len(shape)
    if shape[axis] == 0:
        raise error(fn, name, f"at least one class along axis {axis}", f"shape {_shape_str(shape)}")
    return axis, shape[axis], shape[:axis] + shape[axis + 1:]


def weight(fn: str, xp: Any, w: Any, ref: Any, drop: int | None = None, name: str = "sample_weight") -> Any:
    """A per-sample weight aligned on the leading axes of the unreduced loss, cast to ``ref``'s dtype.

    The per-sample loss has the shape of ``ref`` (the prediction or the scores) without its class
    axis ``drop`` (None: elementwise).  ``w.shape`` must be a prefix of it (dims of size 1
    broadcast); e.g. a ``(N,)`` weight for an ``(N, D)`` elementwise loss weighs rows.  Sizes unknown
    while tracing are compared at run time (:func:`dims_match`).  ``name``: the argument's name in errors
    (a GAN discriminator's ``real_weight``).
    """
    if w is None:
        return None
    if not xp.isdtype(w.dtype, ("real floating", "integral", "bool")):
        raise error(fn, name, "a real array", f"dtype {dtype_name(w.dtype)}", kind=XplossTypeError)
    full = shape_of(ref)
    keep = [j for j in range(len(full)) if drop is None or j != drop % len(full)]
    loss_shape = tuple(full[j] for j in keep)
    ws = shape_of(w)
    expected = (f"a shape aligned with the leading axes of the per-sample loss {_shape_str(loss_shape)} "
                f"(e.g. {_shape_str(loss_shape[:1])} or {_shape_str(loss_shape)})")
    if len(ws) > len(loss_shape):
        raise error(fn, name, expected, f"shape {_shape_str(ws)}")
    dims_match(fn, name, expected, w, ref, list(zip(range(len(ws)), keep)), broadcast=True)
    return w if w.dtype == ref.dtype else xp.astype(w, ref.dtype)


def labels_in_range(fn: str, backend: Any, labels: Any, num_classes: int | None, ignore_index: int | None,
                    ignore_text: str | None = None, name: str = "labels") -> tuple[bool, Any, Any]:
    """Check integer labels against ``[0, C)`` (or ``ignore_index``) when their values are known.

    Returns ``(masked, labels, invalid)``.  ``masked``: whether the loss needs the ``ignore_index`` mask
    (eagerly only when some label equals it; under tracing whenever there is one).  Eagerly the labels
    are returned as given with ``invalid=None``, after raising for a label out of range (the check runs
    on a NumPy copy, adding no op to a traced graph).  Under tracing, where no error can be raised,
    ``invalid`` is the mask of labels out of range and those labels are replaced by 0, so that no
    gather reads out of bounds (an error on TensorFlow's CPU, a clamped read on JAX): the loss of
    those samples is NaN (see :func:`xploss._define.apply`).
    """
    if num_classes is not None and (ignore_index is None or not 0 <= ignore_index < num_classes):
        b = backend.bounds(labels)  # every label in [0, C) and none to mask: no NumPy copy
        if b is not None and 0 <= b[0] and b[1] < num_classes:
            return False, labels, None
    y = None if num_classes is None else backend.host(labels)
    if y is None:
        if num_classes is None:
            return ignore_index is not None, labels, None
        xp = backend.xp
        bad = xp.logical_or(labels < 0, labels >= num_classes)
        if ignore_index is not None:
            bad = xp.logical_and(bad, labels != ignore_index)
        return ignore_index is not None, xp.where(bad, xp.zeros_like(labels), labels), bad
    if y.size == 0:
        return False, labels, None
    if _max_unsigned(y) < num_classes:  # every label in [0, C): no error, and ignore_index only if in [0, C)
        masked = ignore_index is not None and 0 <= ignore_index < num_classes and bool((y == ignore_index).any())
        return masked, labels, None
    bad = (y < 0) | (y >= num_classes)
    if ignore_index is not None:
        bad &= y != ignore_index
    if bad.any():
        first = y[bad].flat[0]
        extra = "" if ignore_index is None else " or " + (ignore_text or f"ignore_index={ignore_index}")
        raise error(fn, name, f"class indices in [0, {num_classes}){extra}", f"a label {int(first)}")
    return ignore_index is not None and bool((y == ignore_index).any()), labels, None


_UNSIGNED = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


def _max_unsigned(y: Any) -> int:
    """The largest of integer labels read as unsigned (one reduction: a negative label reads above any count)."""
    u = y if y.dtype.kind == "u" else y.view(_UNSIGNED[y.dtype.itemsize])
    return int(np.maximum.reduce(u, axis=None))


def nonnegative_values(fn: str, name: str, backend: Any, x: Any, what: str = "values") -> Any:
    """Check that every value of ``x`` is >= 0: eagerly an error; traced, the mask of negative values
    (NaN loss there, see :func:`labels_in_range`).  A NaN passes (a NaN input gives a NaN loss anyway)."""
    v = backend.host(x)
    if v is None:
        return x < 0
    if v.size and v.min() < 0:
        raise error(fn, name, f"non-negative {what}", f"a minimum of {float(v.min())}")
    return None


def in_unit_interval(fn: str, name: str, backend: Any, x: Any) -> Any:
    """Check that every value of ``x`` lies in [0, 1]: eagerly an error; traced, the mask of values
    outside (NaN loss there)."""
    v = backend.host(x)
    if v is None:
        return backend.xp.logical_or(x < 0, x > 1)
    if v.size and (v.min() < 0 or v.max() > 1):
        raise error(fn, name, "values in [0, 1]", f"values from {float(v.min())} to {float(v.max())}")
    return None


def either(xp: Any, *masks: Any) -> Any:
    """The union of the ``invalid`` masks that are not None (None when all are)."""
    out = None
    for m in masks:
        if m is not None:
            out = m if out is None else xp.logical_or(out, m)
    return out


def per_sample(xp: Any, mask: Any, axis: int | None) -> Any:
    """An elementwise ``invalid`` mask reduced over a class ``axis`` (None: already per sample)."""
    return mask if mask is None or axis is None else xp.any(mask, axis=axis)


def require(cond: bool, fn: str, arg: str, expected: str, received: object) -> None:
    if not cond:
        raise error(fn, arg, expected, received)

