"""Metadata-only validation (jit-safe) raising :class:`XplossError`.

Value checks (label ranges, negative variances) run only on concrete arrays,
i.e. eagerly; under ``jax.jit``, ``tf.function`` or ``torch.compile`` they are
skipped, never turned into silent wrong numbers by a Python branch on a tracer.
"""

from __future__ import annotations

import math
from typing import Any

from ._errors import XplossError, XplossTypeError, dtype_name, error
from ._reduce import REDUCTIONS

__all__ = [
    "XplossError", "XplossTypeError", "error", "dtype_name",  # re-exported for the loss modules
    "class_axis", "shape_of", "reduction", "floating", "same_dtype", "same_shape", "number", "weight",
    "labels_in_range",
    "target_like",
]


def shape_of(x: Any) -> tuple:
    """Shape as a tuple; ``None`` for dimensions unknown while tracing (TF)."""
    return tuple(None if d is None else int(d) for d in x.shape)


def _shape_str(shape: tuple) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def reduction(fn: str, value: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise error(fn, "reduction", "one of " + ", ".join(repr(a) for a in allowed), repr(value))
    return value


def floating(fn: str, name: str, xp: Any, x: Any) -> Any:
    """Require a real floating array."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise error(fn, name, "a real floating array (float16/32/64, bfloat16)", f"dtype {dtype_name(x.dtype)}",
                    kind=XplossTypeError)
    return x


def same_dtype(fn: str, x: tuple[str, Any], ref: tuple[str, Any]) -> None:
    """``x`` has the dtype of ``ref`` (no silent up- or down-casting between floating inputs)."""
    if x[1].dtype != ref[1].dtype:
        raise error(fn, x[0], f"dtype {dtype_name(ref[1].dtype)} (the dtype of `{ref[0]}`)",
                    f"dtype {dtype_name(x[1].dtype)}", kind=XplossTypeError)


def same_shape(fn: str, a: tuple[str, Any], b: tuple[str, Any]) -> None:
    """Exactly equal shapes (no broadcasting between prediction and target)."""
    sa, sb = shape_of(a[1]), shape_of(b[1])
    if len(sa) != len(sb) or any(x is not None and y is not None and x != y for x, y in zip(sa, sb)):
        raise error(fn, b[0], f"the shape of `{a[0]}` {_shape_str(sa)} (no broadcasting)",
                    f"shape {_shape_str(sb)}")


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


def number(fn: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """A finite Python number within bounds, returned as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(fn, name, "a finite Python float", repr(value), kind=XplossTypeError)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if low is not None and (value < low or (low_open and value == low)):
        raise error(fn, name, f"a value in {interval}", repr(value))
    if high is not None and (value > high or (high_open and value == high)):
        raise error(fn, name, f"a value in {interval}", repr(value))
    return float(value)


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


def weight(fn: str, xp: Any, w: Any, loss_shape: tuple, dtype: Any) -> Any:
    """A per-sample weight aligned on the leading axes of the unreduced loss.

    ``w.shape`` must be a prefix of ``loss_shape`` (dims of size 1 broadcast);
    e.g. a ``(N,)`` weight for an ``(N, D)`` elementwise loss weighs rows.
    """
    if w is None:
        return None
    if not xp.isdtype(w.dtype, ("real floating", "integral", "bool")):
        raise error(fn, "sample_weight", "a real array", f"dtype {dtype_name(w.dtype)}", kind=XplossTypeError)
    ws = shape_of(w)
    ok = len(ws) <= len(loss_shape) and all(
        a is None or b is None or a == 1 or a == b for a, b in zip(ws, loss_shape)
    )
    if not ok:
        raise error(fn, "sample_weight", f"a shape aligned with the leading axes of the per-sample loss "
                    f"{_shape_str(loss_shape)} (e.g. {_shape_str(loss_shape[:1])} or {_shape_str(loss_shape)})",
                    f"shape {_shape_str(ws)}")
    return w if w.dtype == dtype else xp.astype(w, dtype)


def labels_in_range(fn: str, backend: Any, labels: Any, num_classes: int | None, ignore_index: int | None,
                    ignore_text: str | None = None) -> bool:
    """Check integer labels against ``[0, C)`` (or ``ignore_index``) when their values are known.

    Returns whether the loss needs the ``ignore_index`` mask: under tracing
    (values unknown, nothing checked) whenever there is an ``ignore_index``;
    otherwise only when some label equals it.  The check runs on a NumPy
    copy of the labels, so it never adds ops to a traced graph.
    """
    y = None if num_classes is None else backend.host(labels)
    if y is None:
        return ignore_index is not None
    if y.size == 0:
        return False
    bad = (y < 0) | (y >= num_classes)
    if ignore_index is not None:
        bad &= y != ignore_index
    if bad.any():
        first = y[bad].flat[0]
        extra = "" if ignore_index is None else " or " + (ignore_text or f"ignore_index={ignore_index}")
        raise error(fn, "labels", f"class indices in [0, {num_classes}){extra}", f"a label {int(first)}")
    return ignore_index is not None and bool((y == ignore_index).any())


def nonnegative_values(fn: str, name: str, backend: Any, x: Any, what: str = "values") -> None:
    """Eager check that every value of ``x`` is >= 0 (skipped when values are unknown)."""
    v = backend.host(x)
    if v is not None and v.size and v.min() < 0:
        raise error(fn, name, f"non-negative {what}", f"a minimum of {float(v.min())}")


def in_unit_interval(fn: str, name: str, backend: Any, x: Any) -> None:
    """Eager check that every value of ``x`` lies in [0, 1] (skipped when values are unknown)."""
    v = backend.host(x)
    if v is not None and v.size and (v.min() < 0 or v.max() > 1):
        raise error(fn, name, "values in [0, 1]", f"values from {float(v.min())} to {float(v.max())}")


def require(cond: bool, fn: str, arg: str, expected: str, received: object) -> None:
    if not cond:
        raise error(fn, arg, expected, received)

