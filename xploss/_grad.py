"""``xploss.value_and_grad``: one gradient call over every backend."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ._errors import XplossTypeError, error
from ._namespace import backend_for, backend_of

__all__ = ["value_and_grad"]


def value_and_grad(fn: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """Return a function computing ``fn``'s value and its gradient.

    ``xploss.value_and_grad(xploss.huber)(pred, target, delta=0.5)`` returns
    ``(value, d value / d pred)`` as arrays of the inputs' library.

    Parameters
    ----------
    fn : callable
        A scalar-valued function of arrays.  On NumPy and array_api_strict it
        must return the result of an xploss loss (gradients come from the
        hand-written derivatives); on torch, JAX and TensorFlow any function of
        arrays works (their autodiff runs through xploss' hand derivatives).
    argnums : int or tuple of int, default 0
        Positional arguments to differentiate; a tuple returns a tuple of
        gradients.

    Returns
    -------
    callable
        ``(*arrays, **options) -> (value, grad)``.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> value, grad = xploss.value_and_grad(xploss.mse)(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> float(value), grad.tolist()
    (5.0, [1.0, 3.0])
    """

    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        name = None
        for i in nums:
            if isinstance(i, int) and -len(args) <= i < len(args):
                name = backend_of(args[i])
                if name is not None:
                    break
        if name is None:
            raise error("value_and_grad", "argnums", "positions of array arguments to differentiate",
                        f"{argnums!r} over arguments of types {[type(a).__name__ for a in args]}",
                        kind=XplossTypeError)
        return backend_for(name).value_and_grad(fn, argnums)(*args, **kwargs)

    return inner
