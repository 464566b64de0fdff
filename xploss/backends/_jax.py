"""JAX: ``jax.custom_jvp`` from the per-sample partials (every order of
differentiation works), ``jax.custom_vjp`` for losses that only have a VJP.
Each bound loss is jitted once per static configuration, so eager JAX runs one
compiled call instead of dispatching every op.

Hyperparameter *values* (floats other than 0 and 1, see
:func:`xploss._define.is_value`: ``gamma``, ``delta``, ``label_smoothing``...)
are arguments of that compiled kernel, not constants of it: the kernel is
compiled once per structure (loss, reduction, axis, which options are given),
whatever the values, and a traced value (a per-step ``gamma`` inside the
user's ``jax.jit``) is accepted.  A kernel that branches on a value in Python
cannot be traced in it: the first such trace raises a concretization error,
and that loss is then compiled per value (a bounded cache) as before.
Hyperparameters are not differentiated: a tangent into one is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from .._define import LRU
from .._errors import XplossTypeError, dtype_name, error
from ._common import Backend, built, pack, refill, wrap

_CACHE: LRU = LRU()
_PER_VALUE: set = set()  # primitives whose kernel branches on a hyperparameter value (compiled per value)


def _jvp(bound: Any, arrays: tuple, tangents: tuple) -> tuple[Any, Any]:
    """The primal output and its tangent.

    For a primitive with a fused VJP the tangent is the transpose of that VJP (linear in the output's
    cotangent) applied to the tangents, so that reverse mode (JAX transposes the tangent map back) runs the
    fused VJP's structure: cross-entropy's ``softmax * (g c)`` in the exp pass and one scatter of the
    one-hot term, instead of the materialised partial ``softmax c - onehot c`` times ``g`` in a second
    full pass (``Bound.jvp``'s ``sum(partial * tangent)``).
    """
    if bound.prim.vjp is None:
        return bound.jvp(jnp, arrays, tangents)
    out, res = bound.forward(jnp, *arrays)
    needs = tuple(t is not None for t in tangents)

    def vjp(g: Any) -> tuple:
        cts = bound.vjp(jnp, arrays, bound.poison_times(res, g), g, needs)
        return tuple(jnp.zeros_like(a) if c is None else c for a, c, n in zip(arrays, cts, needs) if n)

    if not any(needs):
        return out, jnp.zeros_like(out)
    (t_out,) = jax.linear_transpose(vjp, out)(tuple(t for t in tangents if t is not None))
    return out, t_out


def _build(bound: Any, present: tuple[bool, ...]) -> Callable:
    def full(arrays: tuple) -> tuple:
        return refill(present, arrays)

    if bound.prim.partials is not None:
        @jax.custom_jvp
        def f(*arrays: Any) -> Any:
            return bound.forward(jnp, *full(arrays))[0]

        @f.defjvp
        def f_jvp(primals: tuple, tangents: tuple) -> tuple:
            tans = tuple(t if jnp.issubdtype(jnp.result_type(p), jnp.inexact) else None
                         for p, t in zip(primals, tangents))
            return _jvp(bound, full(primals), full(tans))
    else:
        @jax.custom_vjp
        def f(*arrays: Any) -> Any:
            return bound.forward(jnp, *full(arrays))[0]

        def f_fwd(*arrays: Any) -> tuple:
            out, res = bound.forward(jnp, *full(arrays))
            return out, (arrays, res)

        def f_bwd(saved: tuple, g: Any) -> tuple:
            arrays, res = saved
            cts = bound.vjp(jnp, full(arrays), res, g)
            kept = [c for c, p in zip(cts, present) if p]
            return tuple(jnp.zeros_like(a) if c is None else c for a, c in zip(arrays, kept))

        f.defvjp(f_fwd, f_bwd)
    return jax.jit(f)


def _build_valued(bound: Any, present: tuple[bool, ...], names: tuple[str, ...]) -> Callable:
    """The kernel of ``bound``'s structure with the values ``names`` as its trailing arguments."""
    n = sum(present)

    def full(arrays: tuple) -> tuple:
        return refill(present, arrays)

    @jax.custom_jvp
    def f(*args: Any) -> Any:
        return bound.with_values(names, args[n:]).forward(jnp, *full(args[:n]))[0]

    def f_jvp(primals: tuple, tangents: tuple) -> tuple:
        for name, t in zip(names, tangents[n:]):
            if not isinstance(t, SymbolicZero):
                raise error(bound.prim.name, name, "a hyperparameter that is not differentiated (xploss gives no "
                            "gradient for it; pass it through jax.lax.stop_gradient)",
                            "a value being differentiated", kind=XplossTypeError)
        tans = tuple(None if isinstance(t, SymbolicZero) or not jnp.issubdtype(jnp.result_type(p), jnp.inexact)
                     else t for p, t in zip(primals[:n], tangents[:n]))
        return _jvp(bound.with_values(names, primals[n:]), full(primals[:n]), full(tans))

    f.defjvp(f_jvp, symbolic_zeros=True)
    return jax.jit(f)


def _value_dtype(arrays: tuple) -> Any:
    """The dtype a value is computed in: the first array's (float32 for 16-bit inputs, computed in float32)."""
    dt = jnp.result_type(next(a for a in arrays if a is not None))
    return jnp.float32 if dt in (jnp.float16, jnp.bfloat16) else dt


class JaxBackend(Backend):
    name = "jax"
    xp = jnp

    def host(self, x: Any) -> Any:
        """The values of ``x`` as a NumPy array, or None for a tracer.

        A concrete array closed over by a jitted function still has values,
        although jnp operations on it would be traced: hence NumPy, not jnp.
        """
        if isinstance(x, jax.core.Tracer):
            return None
        import numpy as np

        return np.asarray(x)

    def apply(self, bound: Any, arrays: tuple) -> Any:
        names, values = bound.values
        if names and bound.prim.partials is not None and bound.prim not in _PER_VALUE:
            fn, given = built(_CACHE, lambda b, p: _build_valued(b, p, names), bound, arrays, key=bound.structure)
            # a Python float goes in as it is (weakly typed, as in the kernel's arithmetic); an array in the
            # dtype the loss is computed in (a float64 gamma does not promote a float32 loss)
            if not all(type(v) is float for v in values):
                dt = _value_dtype(arrays)
                values = tuple(v if type(v) is float else jnp.asarray(v, dtype=dt) for v in values)
            try:
                return fn(*given, *values)
            except jax.errors.ConcretizationTypeError:  # the kernel branches on a value: compile per value
                _PER_VALUE.add(bound.prim)
        traced = [k for k, v in zip(names, values) if type(v) is not float]
        if traced:
            raise error(bound.prim.name, traced[0], "a Python float (this loss specialises its kernel on it)",
                        "a JAX array", kind=XplossTypeError)
        fn, given = built(_CACHE, _build, bound, arrays)
        return fn(*given)

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """``jax.grad(lambda v: f(v).sum())(x)``: traceable (jit), and differentiable again by an outer
        ``jax.grad`` of what ``f`` closes over."""
        return jax.grad(lambda v: jnp.sum(f(v)))(x)

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        from ._common import check_scalar_output, normalize_argnums

        def inner(*args: Any, **kwargs: Any) -> Any:
            nums, single = normalize_argnums(argnums, len(args))
            for i in nums:
                if not jnp.issubdtype(jnp.result_type(args[i]), jnp.floating):
                    raise error("value_and_grad", f"args[{i}]", "a real floating array to differentiate",
                                f"dtype {dtype_name(args[i].dtype)}", kind=XplossTypeError)

            def g(*a: Any) -> Any:
                out = fn(*a, **kwargs)
                check_scalar_output(out)
                return out

            out, grads = jax.value_and_grad(g, argnums=nums)(*args)
            return out, pack(single, list(grads))

        return wrap(fn, inner)


def backend(name: str) -> JaxBackend:
    return JaxBackend()


# -- native paths of xploss._ops blocks -------------------------------------------------------------------
def _scan(step: Callable, carry: tuple, xs: tuple, reverse: bool) -> tuple:
    """``_ops.scan`` (#9): ``jax.lax.scan``, one loop in the jaxpr."""
    carry, ys = jax.lax.scan(lambda c, x: step(c, x), carry, xs, reverse=reverse)
    return tuple(carry), tuple(ys)


def _subtract_at(g: Any, idx: Any, values: Any, axis: int) -> Any:
    """``_ops.subtract_at`` as one scatter-add of ``-values`` into ``g`` (in place in XLA's buffer).

    The generic body's ``where(arange == idx, values, 0)`` puts an integer compare and select in every
    element of the softmax gradient's fused loop, which XLA:CPU then runs ~1.3x slower than the loop
    alone (cross-entropy 4096x1000 under ``jax.jit``); the scatter touches one element per row.  The
    indices are in range (checked labels, or 0 where a traced check found them invalid).
    """
    axis = axis % g.ndim
    grid = list(jnp.indices(tuple(idx.shape), sparse=True))
    grid.insert(axis, idx)
    return g.at[tuple(grid)].add(-values)


def _register() -> None:
    from .. import _ops

    _ops.NATIVE.setdefault(jnp.__name__, {}).update(scan=_scan, subtract_at=_subtract_at)


_register()
