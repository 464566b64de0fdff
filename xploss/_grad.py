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
        A scalar-valued function of arrays.  On torch, JAX and TensorFlow any
        function of arrays works (their autodiff runs through xploss' hand
        derivatives).  On NumPy too when HIPS ``autograd`` is installed
        (``pip install "xploss[autograd]"``): this is ``autograd.value_and_grad``
        with every loss an autograd primitive (first order only).  Without
        autograd, and on array_api_strict, gradients follow xploss' operations
        only: ``fn`` must return the result of an xploss loss, and an argument
        that reaches a loss through other arithmetic raises (see Raises).
    argnums : int or tuple of int, default 0
        Positional arguments to differentiate; a tuple returns a tuple of
        gradients.

    Returns
    -------
    callable
        ``(*arrays, **options) -> (value, grad)``.

    Raises
    ------
    XplossError
        A non-scalar output, a non-floating argument in ``argnums``.  Without
        autograd on NumPy (and on array_api_strict): an output that is not an
        xploss loss's result, or an argument whose path to the loss passes
        through other arithmetic (``xploss.mse(X @ w, y)``); the message names
        ``pip install "xploss[autograd]"`` and torch / JAX / TensorFlow.  The
        gradient is never silently wrong: unused arguments get zeros.  On
        array_api_strict a differentiated argument must be a direct input of
        a loss.

    Examples
    --------
    >>> import numpy as np, xploss
    >>> value, grad = xploss.value_and_grad(xploss.mse)(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> float(value), grad.tolist()
    (5.0, [1.0, 3.0])

    With autograd installed, a whole NumPy model (here linear regression):

    >>> X, y = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), np.array([1.0, 2.0, 4.0])
    >>> value, grad = xploss.value_and_grad(lambda w: xploss.mse(X @ w, y))(np.zeros(2))
    >>> grad.tolist()  # 2 X^T (X w - y) / n
    [-4.666666666666666, -6.666666666666666]
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
