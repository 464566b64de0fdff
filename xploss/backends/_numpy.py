"""NumPy and array_api_strict: gradients straight from the hand derivatives.

There is no framework autodiff here, so :func:`value_and_grad` records every
xploss operation on a small tape (a context variable) while the function runs
and then walks it backwards through the ``Bound.vjp`` of each operation.  The
function must return the result of an xploss loss (or a sum of nothing else):
any other arithmetic on the result is not on the tape and is reported.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import XplossError, XplossTypeError, error
from ._common import Backend, check_scalar_output, normalize_argnums, pack, wrap

_TAPE: contextvars.ContextVar[list | None] = contextvars.ContextVar("xploss_tape", default=None)


class NumpyBackend(Backend):
    def __init__(self, name: str) -> None:
        self.name = name
        if name == "numpy":
            import array_api_compat.numpy as xp
        else:
            import array_api_strict as xp
        self.xp = xp

    def host(self, x: Any) -> Any:
        """The values of ``x`` as a NumPy array (always available here)."""
        import numpy as np

        return np.asarray(x)

    def apply(self, bound: Any, arrays: tuple) -> Any:
        out, res = bound.forward(self.xp, *arrays)
        tape = _TAPE.get()
        if tape is not None:
            tape.append((bound, arrays, res, out))
        return out

    def value_and_grad(self, fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
        xp = self.xp

        def inner(*args: Any, **kwargs: Any) -> Any:
            nums, single = normalize_argnums(argnums, len(args))
            for i in nums:
                if not xp.isdtype(args[i].dtype, "real floating"):
                    raise error("value_and_grad", f"args[{i}]", "a real floating array to differentiate",
                                f"dtype {args[i].dtype}", kind=XplossTypeError)
            tape: list = []
            token = _TAPE.set(tape)
            try:
                out = fn(*args, **kwargs)
            finally:
                _TAPE.reset(token)
            check_scalar_output(out)
            if not any(o is out for *_, o in tape):
                raise XplossError(
                    "xploss.value_and_grad: on NumPy and array_api_strict the function must return the "
                    "result of an xploss loss (gradients come from the hand-written derivatives). "
                    "Received: a value computed outside xploss; use torch, jax or tensorflow for "
                    "arbitrary functions."
                )
            cot: dict[int, Any] = {id(out): xp.ones_like(out)}
            for bound, arrays, res, o in reversed(tape):
                g = cot.pop(id(o), None)
                if g is None:
                    continue
                needs = tuple(a is not None for a in arrays)
                cts = bound.vjp(xp, arrays, res, g, needs)
                for a, c in zip(arrays, cts):
                    if a is None or c is None:
                        continue
                    key = id(a)
                    cot[key] = c if key not in cot else cot[key] + c
            grads = []
            for i in nums:
                g = cot.get(id(args[i]))
                grads.append(xp.zeros_like(args[i]) if g is None else xp.astype(g, args[i].dtype))
            return out, pack(single, grads)

        return wrap(fn, inner)


def backend(name: str) -> NumpyBackend:
    return NumpyBackend(name)
