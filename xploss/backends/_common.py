"""Small helpers shared by the adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .._errors import XplossError, error

__all__ = ["Backend", "normalize_argnums", "check_scalar_output"]


class Backend:
    """What every adapter shares (see ``xploss.backends``)."""

    name: str
    xp: Any

    def host(self, x: Any) -> Any:  # pragma: no cover - every adapter overrides it
        """The values of ``x`` as a NumPy array when known now (eager or a closed-over constant), else None."""
        raise NotImplementedError

    def bounds(self, x: Any) -> tuple[int, int] | None:
        """``(min, max)`` of a non-empty integer array as Python ints when the library gives them cheaply and
        eagerly (one reduction on the array itself), else None: :func:`xploss._checks.labels_in_range` then
        reads the values through :meth:`host`."""
        return None

    def assert_dims(self, message: str, x: Any, ref: Any, axes: list[tuple[int, int]], broadcast: bool = False) -> None:
        """Assert at run time that ``x.shape[i] == ref.shape[j]`` (or 1, where ``broadcast``) for ``(i, j)`` in
        ``axes``, sizes unknown while tracing.  Only TensorFlow has unknown sizes (every other backend traces
        concrete shapes)."""

    def input_gradient(self, fn: str, f: Callable, x: Any) -> Any:
        """``∂ Σ f(x) / ∂ x`` with the graph kept (differentiable again, with respect to what ``f`` closes
        over: a critic's parameters).  Backends without autodiff raise."""
        raise XplossError(
            f"xploss.{fn}: argument `critic`: expected a critic whose input gradient this backend can take. "
            f"Received: arrays of {self.name}, which has no autodiff of arbitrary functions. Use torch, jax "
            "or tensorflow (or NumPy arrays with autograd installed: pip install \"xploss[autograd]\")."
        )

    def compiling(self) -> bool:
        """Is a compiler that guards on Python globals tracing now (torch.compile)? Then no global caches."""
        return False


def normalize_argnums(argnums: int | Sequence[int], nargs: int) -> tuple[tuple[int, ...], bool]:
    """``(argnums tuple, single?)``; raises an xploss error when out of range."""
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise error("value_and_grad", "argnums", "an int or a non-empty tuple of ints", argnums)
    for a in nums:
        if not isinstance(a, int) or not -nargs <= a < nargs:
            raise error("value_and_grad", "argnums", f"positions of positional arrays in range [0, {nargs})", argnums)
    return tuple(a % nargs for a in nums), single


def built(cache: dict, build: Callable, bound: Any, arrays: tuple, key: Any = None) -> tuple[Callable, list]:
    """``build(bound, present)`` once per (``key``, by default the bound; which arrays are given), and the
    given arrays.  ``cache`` is an :class:`xploss._define.LRU`: bounded."""
    present = tuple(a is not None for a in arrays)
    k = (bound if key is None else key, present)
    fn = cache.get(k)
    if fn is None:
        fn = cache[k] = build(bound, present)
    return fn, [a for a in arrays if a is not None]


def refill(present: tuple[bool, ...], arrays: Sequence) -> tuple:
    """The inverse of dropping the ``None`` arrays: ``None`` back where ``present`` is False."""
    it = iter(arrays)
    return tuple(next(it) if p else None for p in present)


def check_scalar_output(out: Any) -> None:
    if getattr(out, "ndim", 0) != 0:
        raise XplossError(
            "xploss.value_and_grad: the function must return a scalar (use reduction='mean' or 'sum'). "
            f"Received: an output of shape {tuple(out.shape)}."
        )


def pack(single: bool, grads: list) -> Any:
    return grads[0] if single else tuple(grads)


def wrap(fn: Callable, inner: Callable) -> Callable:
    inner.__name__ = f"value_and_grad({getattr(fn, '__name__', 'fn')})"
    inner.__doc__ = fn.__doc__
    return inner
