"""HIPS autograd: each bound loss is one ``autograd.extend.primitive`` carrying its hand VJP.

autograd differentiates NumPy code by boxing the arrays it traces
(``ArrayBox``).  A loss that receives a box runs its kernel once on the
unboxed values (the NumPy kernel, ``array_api_compat.numpy``) and records one
node whose VJP is :meth:`xploss._define.Bound.vjp`, so
``autograd.grad(lambda w: xploss.huber(X @ w, y))`` differentiates a whole
NumPy model through xploss' derivatives.  The metadata checks (dtype, shape)
read the boxes; the value checks (label ranges) see the unboxed values
through :meth:`AutogradBackend.host`.

First order only.  The hand VJPs are NumPy code, not autograd code, so a
derivative of a derivative (``autograd.grad(autograd.grad(f))``,
``autograd.hessian``) would treat xploss' gradient as a constant: that is
refused with an :class:`~xploss.XplossError` naming torch, JAX and TensorFlow,
whose adapters support every order.  Forward mode (``autograd.make_jvp``) is
not defined either (autograd raises its own ``NotImplementedError``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat.numpy as compat
import numpy as np
from autograd.extend import defvjp_argnums, primitive
from autograd.tracer import getval, isbox

from .._define import LRU
from .._errors import XplossError
from ._common import Backend, built, refill

__all__ = ["AutogradBackend", "backend"]

_CACHE: LRU = LRU()
# The residuals of the last primitive call, handed to the VJP maker that
# autograd calls right after it (matched by the identity of the output).
_SAVED = threading.local()


def _higher_order(name: str) -> XplossError:
    return XplossError(
        f"xploss.{name}: a derivative of a derivative through autograd. xploss' hand-written VJPs run on NumPy "
        "values, so autograd would treat the gradient as a constant (a silently wrong higher-order derivative). "
        "Received: autograd boxes inside the VJP; use torch, jax or tensorflow for second-order derivatives."
    )


def _build(bound: Any, present: tuple[bool, ...]) -> Callable:
    """One autograd primitive for ``bound`` given which of its arrays are present."""
    name = bound.prim.name
    positions = [i for i, p in enumerate(present) if p]  # given index -> position in the bound call

    @primitive
    def f(*arrays: Any) -> Any:
        out, res = bound.forward(compat, *refill(present, arrays), grad=True)
        _SAVED.value = (out, res)
        return out

    def vjp_maker(argnums: tuple[int, ...], ans: Any, args: tuple, kwargs: dict) -> Callable:
        saved, _SAVED.value = getattr(_SAVED, "value", None), None
        if isbox(ans) or any(isbox(a) for a in args):
            raise _higher_order(name)
        full = refill(present, args)
        res = saved[1] if saved is not None and saved[0] is ans else bound.forward(compat, *full, grad=True)[1]
        needs = [False] * len(full)
        for k in argnums:
            needs[positions[k]] = True

        def vjp(g: Any) -> tuple:
            if isbox(g):
                raise _higher_order(name)
            cts = bound.vjp(compat, full, res, g, tuple(needs))
            return tuple(np.zeros_like(args[k]) if cts[positions[k]] is None else cts[positions[k]]
                         for k in argnums)

        return vjp

    defvjp_argnums(f, vjp_maker)
    return f


class _Namespace:
    """array-api-compat's NumPy namespace for the checks and casts outside the kernels.

    ``astype`` accepts an autograd box (a differentiable cast, e.g. a
    ``sample_weight`` of another float dtype); everything else is
    ``array_api_compat.numpy`` (metadata such as ``isdtype`` works on boxes).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(compat, name)

    @staticmethod
    def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
        if isbox(x):
            return x.astype(dtype)
        return compat.astype(x, dtype, copy=copy, device=device)


class AutogradBackend(Backend):
    name = "autograd"
    xp = _Namespace()

    def host(self, x: Any) -> Any:
        """The values of ``x`` (a box or a NumPy array) as a NumPy array."""
        while isbox(x):
            x = getval(x)
        return np.asarray(x)

    def apply(self, bound: Any, arrays: tuple) -> Any:
        fn, given = built(_CACHE, _build, bound, arrays)
        return fn(*given)

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """``autograd.grad`` nested inside the trace that boxed the arguments (a critic step's)."""
        import autograd

        from ._numpy import input_gradient_autograd

        return input_gradient_autograd(autograd, f, x)

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        """Arguments that are already boxes: NumPy's ``value_and_grad`` (autograd) nested inside a trace."""
        from . import _numpy

        return _numpy.backend("numpy").value_and_grad(fn, argnums)


def backend(name: str) -> AutogradBackend:
    return AutogradBackend()
