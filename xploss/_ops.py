"""Building blocks shared by loss kernels, each with a pure array-API body.

A backend may register a native fast path for a block (``xp.__xploss_ops__``,
a dict name -> function with the same signature); the loss kernels call the
block and stay written once.  Fast paths must compute the same numbers; ones
that work in place are used only where the result is a fresh temporary and
autograd is not recording (see ``xploss.backends._torch``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["logsumexp", "softmax", "take_along_axis", "softmax_scaled", "subtract_at", "sigmoid", "sigmoid_bce",
           "sigmoid_minus", "log_ratio", "vecdot"]


# Namespaces without an ``__xploss_ops__`` dict of their own (``jax.numpy``: a third-party module xploss does
# not write into) get their native blocks from this table, filled by the backend module on import and keyed
# by the namespace's ``__name__``.  A namespace that has its own dict (torch, TensorFlow) never reads it, so
# torch.compile does not guard on it.
NATIVE: dict[str, dict[str, Any]] = {}


def native(xp: Any, name: str) -> Any:
    """The backend's native block ``name`` for namespace ``xp`` (None when it has none)."""
    ops = getattr(xp, "__xploss_ops__", None)
    if ops is None:
        ops = NATIVE.get(getattr(xp, "__name__", ""), {})
    return ops.get(name)


def logsumexp(xp: Any, z: Any, axis: int) -> Any:
    """``log(sum(exp(z)))`` along ``axis`` (kept), finite for ±large and -inf rows."""
    fast = native(xp, "logsumexp")
    if fast is not None:
        return fast(z, axis)
    return logsumexp_body(xp, z, axis)


def logsumexp_body(xp: Any, z: Any, axis: int) -> Any:
    """:func:`logsumexp`'s generic body (natives fall back to it for inputs they do not take)."""
    m = xp.max(z, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    return xp.log(xp.sum(xp.exp(z - m), axis=axis, keepdims=True)) + m


def softmax(xp: Any, z: Any, axis: int) -> Any:
    """``exp(z - logsumexp(z))`` along ``axis``: one fused pass where the framework has one."""
    fast = native(xp, "softmax")
    if fast is not None:
        return fast(z, axis)
    return xp.exp(z - logsumexp(xp, z, axis))


def take_along_axis(xp: Any, x: Any, idx: Any, axis: int) -> Any:
    fast = native(xp, "take_along_axis")
    if fast is not None:
        return fast(x, idx, axis)
    return xp.take_along_axis(x, idx, axis=axis)


def softmax_scaled(xp: Any, z: Any, lse: Any, scale: Any, axis: int) -> Any:
    """``exp(z - lse) * scale`` with a per-sample ``scale`` broadcast along ``axis``."""
    fast = native(xp, "softmax_scaled")
    if fast is not None:
        return fast(z, lse, scale, axis)
    return xp.exp(z - lse) * xp.expand_dims(scale, axis=axis)


def subtract_at(xp: Any, g: Any, idx: Any, values: Any, axis: int) -> Any:
    """``g`` minus ``values`` at position ``idx`` along ``axis`` (may reuse ``g``'s memory)."""
    fast = native(xp, "subtract_at")
    if fast is not None:
        return fast(g, idx, values, axis)
    return subtract_at_body(xp, g, idx, values, axis)


def subtract_at_body(xp: Any, g: Any, idx: Any, values: Any, axis: int) -> Any:
    """:func:`subtract_at`'s generic body: a one-hot ``where`` (natives fall back to it)."""
    classes = xp.arange(g.shape[axis], dtype=idx.dtype)
    for _ in range(g.ndim - 1 - axis):
        classes = xp.expand_dims(classes, axis=-1)
    hit = classes == xp.expand_dims(idx, axis=axis)
    vals = xp.expand_dims(values, axis=axis)
    return g - xp.where(hit, vals, xp.zeros_like(vals))


def sigmoid(xp: Any, z: Any) -> Any:
    """``σ(z)`` from ``e = exp(-|z|)``: no overflow, exact 0 and 1 at the extremes."""
    fast = native(xp, "sigmoid")
    if fast is not None:
        return fast(z)
    e = xp.exp(-xp.abs(z))
    big = 1.0 / (1.0 + e)
    return xp.where(z >= 0, big, e * big)


def sigmoid_bce(xp: Any, z: Any, t: Any) -> Any:
    """``softplus(z) - t z`` as ``|z| w + log1p(exp(-|z|))``, ``w = 1 - t`` for ``z >= 0``
    else ``t``: no overflow and no cancellation for any logit."""
    fast = native(xp, "sigmoid_bce")
    if fast is not None:
        return fast(z, t)
    w = xp.where(z >= 0, 1.0 - t, t)
    return xp.abs(z) * w + xp.log1p(xp.exp(-xp.abs(z)))


def sigmoid_minus(xp: Any, z: Any, t: Any, scale: Any) -> Any:
    """``(σ(z) - t) * scale``: the sigmoid cross-entropy gradient (``scale`` broadcasts)."""
    fast = native(xp, "sigmoid_minus")
    if fast is not None:
        return fast(z, t, scale)
    return (sigmoid(xp, z) - t) * scale


def log_ratio(xp: Any, p: Any, lq: Any) -> Any:
    """``log p - lq`` where ``p != 0``, 0 elsewhere (also where ``lq = -inf``): a KL term's log ratio, NaN
    kept (a NaN ``p`` or a NaN ``lq`` where ``p != 0``)."""
    fast = native(xp, "log_ratio")
    if fast is not None:
        return fast(p, lq)
    return log_ratio_body(xp, p, lq)


def log_ratio_body(xp: Any, p: Any, lq: Any) -> Any:
    """:func:`log_ratio`'s generic body: a double ``where``, so that log's gradient stays finite at ``p = 0``
    (natives fall back to it where their one-``where`` form may be differentiated again)."""
    nz = p != 0
    return xp.where(nz, xp.log(xp.where(nz, p, xp.ones_like(p))) - lq, xp.zeros_like(p))


def vecdot(xp: Any, a: Any, b: Any, axis: int = -1) -> Any:
    """``sum(a * b, axis)`` for real arrays (the standard's ``vecdot``): one pass and no product temporary where
    the library has a fused one (NumPy's ``np.vecdot``: about 4x faster than the product and its sum)."""
    fast = native(xp, "vecdot")
    if fast is not None:
        return fast(a, b, axis)
    return xp.sum(a * b, axis=axis)


# -- hyperparameters that may be traced (see xploss._define.is_value) ------------------------------------
def is_zero(v: Any) -> bool:
    """Is ``v`` a Python number equal to 0?  A kernel's shortcut for an option that is off (no smoothing, no
    focusing); a traced value is never known to be 0, so the general formula, exact at 0 too, runs."""
    return isinstance(v, (int, float)) and v == 0


def is_one(v: Any) -> bool:
    """Is ``v`` a Python number equal to 1 (a unit scale)?  False for a traced value."""
    return isinstance(v, (int, float)) and v == 1


def select(xp: Any, cond: Any, a: Any, b: Any) -> Any:
    """``a if cond else b`` for a Python bool, ``xp.where(cond, a, b)`` for a traced one."""
    if isinstance(cond, bool):
        return a if cond else b
    return xp.where(cond, a, b)


# -- a compiled loop over time (the CTC recursions, #9) -------------------------------------------------
def scan(xp: Any, step: Any, carry: tuple, xs: tuple, *, reverse: bool = False) -> tuple[tuple, tuple]:
    """A loop over the leading axis of ``xs``, compiled as one loop where the framework has one.

    ``step(carry, x_t) -> (carry, y_t)``: ``carry`` a tuple of arrays whose shapes and dtypes the step keeps,
    ``x_t`` the tuple of the ``t``-th slices of ``xs`` (a tuple of arrays of one leading length ``T >= 1``),
    ``y_t`` a tuple of arrays (possibly empty).  Returns ``(final carry, ys)``, ``ys`` the tuple of the
    ``y_t`` stacked along a new leading axis in the order of ``t``.  ``reverse=True`` runs ``t = T-1, ..., 0``
    (the outputs still stacked by ``t``): ``jax.lax.scan``'s semantics.

    Paths: JAX ``jax.lax.scan`` (one loop in the jaxpr: ``jax.jit`` does not unroll the ``T`` steps);
    TensorFlow a ``tf.while_loop`` over ``TensorArray`` s (one while op in the graph, XLA-compilable with a
    static ``T``, and a ``T`` unknown while tracing); NumPy, array_api_strict and torch a Python loop (under
    ``torch.compile`` the loop is unrolled: see ``xploss.backends._torch``).  The step must use array-API
    operations only, with no Python branch on values: under JAX and TensorFlow it is traced once.
    """
    fast = native(xp, "scan")
    if fast is not None:
        return fast(step, tuple(carry), tuple(xs), reverse)
    return scan_loop(xp, step, carry, xs, reverse=reverse)


def scan_loop(xp: Any, step: Any, carry: tuple, xs: tuple, *, reverse: bool = False) -> tuple[tuple, tuple]:
    """:func:`scan`'s generic body: a Python loop (``T`` steps), the outputs stacked at the end."""
    carry = tuple(carry)
    n = xs[0].shape[0]
    ys: list = []
    for t in (range(n - 1, -1, -1) if reverse else range(n)):
        carry, y = step(carry, tuple(x[t, ...] for x in xs))
        ys.append(tuple(y))
    if reverse:
        ys.reverse()
    if not ys:
        raise ValueError("xploss._ops.scan: at least one step (the leading axis of xs has size 0)")
    return tuple(carry), tuple(xp.stack([y[k] for y in ys], axis=0) for k in range(len(ys[0])))
