"""JAX: ``jax.custom_jvp`` from the per-sample partials (every order of
differentiation works), ``jax.custom_vjp`` for losses that only have a VJP.
Each bound loss is jitted once per static configuration, so eager JAX runs one
compiled call instead of dispatching every op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from .._errors import XplossTypeError, dtype_name, error
from ._common import Backend, built, pack, refill, wrap

_CACHE: dict[Any, Callable] = {}


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
            return bound.jvp(jnp, full(primals), full(tans))
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
        fn, given = built(_CACHE, _build, bound, arrays)
        return fn(*given)

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
