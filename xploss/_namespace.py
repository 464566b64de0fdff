"""Which framework does an array belong to, and what is its array-API namespace?

Detection looks only at the array's type (its module name), cached per type:
it never imports a framework.  A backend module (``xploss.backends._<name>``)
is imported the first time an array of that kind arrives.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from ._errors import XplossTypeError, error

__all__ = ["array_namespace", "backend_of", "backend_for", "hooked_backend", "is_array"]

# Root module of an array type -> xploss backend name.
_ROOTS = {
    "numpy": "numpy",
    "array_api_strict": "array_api_strict",
    "torch": "torch",
    "jax": "jax",
    "jaxlib": "jax",
    "tensorflow": "tensorflow",
    "autograd": "autograd",  # HIPS autograd's ArrayBox: NumPy values being differentiated
}
# Arrays of these two backends meet in one call: autograd boxes among NumPy constants.
_JOINS = {frozenset(("numpy", "autograd")): "autograd"}
# NumPy subclasses whose semantics would silently change a loss: refused, never converted.
_REFUSED = {
    ("numpy", "matrix"): ("a plain array (np.matrix: `*` is a matrix product and rows stay 2-d, so a loss would "
                          "be silently wrong)", "np.asarray(x)"),
    ("numpy.ma", "MaskedArray"): ("a plain array (masked entries would be dropped from sums but still counted "
                                  "in means)", "x.filled(0.0) with sample_weight=~np.ma.getmaskarray(x) to exclude "
                                  "the masked entries, or np.asarray(x.data) to ignore the mask"),
}
_TYPE_CACHE: dict[type, str | None] = {}
_BACKENDS: dict[str, Any] = {}


def _compiling() -> bool:
    """Is torch.compile tracing (never imports torch)?  Its guards on a cache read while it
    fills would recompile after the first call: then the caches are neither read nor filled."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.compiler.is_compiling()


def _name_of_type(tp: type, compiling: bool | None = None) -> str | None:
    """``tp``'s backend name; ``compiling``: :func:`_compiling`'s answer when the caller has it."""
    if _compiling() if compiling is None else compiling:
        return _find_name(tp)
    name = _TYPE_CACHE.get(tp, _UNKNOWN)
    if name is _UNKNOWN:
        name = _TYPE_CACHE[tp] = _find_name(tp)
    return name


_UNKNOWN = object()


def _refusal(tp: type) -> tuple[str, str] | None:
    """``(expected, fix)`` for a refused NumPy subclass, else None."""
    for cls in tp.__mro__:
        found = _REFUSED.get((cls.__module__, cls.__qualname__))
        if found is not None:
            return found
    return None


def _find_name(tp: type) -> str | None:
    name = None
    if tp not in (bool, int, float, complex) and _refusal(tp) is None:
        for cls in tp.__mro__:
            root = (cls.__module__ or "").split(".")[0]
            if root in _ROOTS:
                name = _ROOTS[root]
                break
    return name


def is_array(x: object) -> bool:
    """True for an array of a supported framework (never imports one)."""
    return _name_of_type(type(x)) is not None


def backend_of(x: object) -> str | None:
    """``"numpy" | "array_api_strict" | "torch" | "jax" | "tensorflow"`` or None."""
    return _name_of_type(type(x))


def backend_for(name: str, compiling: bool | None = None) -> Any:
    """The backend object for a backend name (imports its module once)."""
    if _compiling() if compiling is None else compiling:
        return _import(name).backend(name)
    backend = _BACKENDS.get(name)
    if backend is None:
        backend = _BACKENDS[name] = _import(name).backend(name)
    return backend


def _import(name: str) -> ModuleType:
    # Plain import statements (not importlib): torch.compile can trace them on
    # a first call made inside a compiled function.
    if name == "torch":
        from .backends import _torch as module
    elif name == "jax":
        from .backends import _jax as module
    elif name == "tensorflow":
        from .backends import _tensorflow as module
    elif name in ("numpy", "array_api_strict"):
        from .backends import _numpy as module
    elif name == "autograd":
        from .backends import _autograd as module
    else:  # pragma: no cover - _ROOTS and this list are kept in step
        raise KeyError(name)
    return module


def resolve(fn: str, named: dict[str, object]) -> Any:
    """The one backend serving every array among ``named`` values.

    ``None`` values are skipped.  A value that is not an array of a supported
    framework, or arrays of two frameworks, raise :class:`XplossTypeError`.
    """
    found: str | None = None
    first = ""
    compiling = _compiling()
    for arg, x in named.items():
        if x is None:
            continue
        name = _name_of_type(type(x), compiling)
        if name is None and (refused := _refusal(type(x))) is not None:
            expected, fix = refused
            raise error(fn, arg, expected, f"a {type(x).__module__}.{type(x).__qualname__}", kind=XplossTypeError,
                        hint=f"Pass {fix}.")
        if name is None:
            raise error(
                fn, arg, "an array of numpy, array_api_strict, torch, jax or tensorflow",
                f"{type(x).__module__}.{type(x).__qualname__}", kind=XplossTypeError,
            )
        if found is None:
            found, first = name, arg
        elif name != found and frozenset((name, found)) in _JOINS:
            found = _JOINS[frozenset((name, found))]
        elif name != found:
            raise error(
                fn, arg, f"an array of the same library as `{first}` ({found})",
                f"a {name} array (mixed libraries are not converted implicitly)",
                kind=XplossTypeError,
            )
    if found is None:
        raise error(fn, "arrays", "at least one array", "none", kind=XplossTypeError)
    return backend_for(found, compiling)


def hooked_backend(x: object, hooked: tuple[str, ...]) -> Any:
    """The backend object of ``x`` when its backend is one of ``hooked``, else None (one compile test)."""
    compiling = _compiling()
    name = _name_of_type(type(x), compiling)
    return backend_for(name, compiling) if name in hooked else None


def array_namespace(*xs: object) -> Any:
    """Array-API namespace of ``xs`` (skipping None and Python scalars).

    numpy, torch and jax get array-api-compat's namespaces, array_api_strict
    itself, TensorFlow xploss' own (``xploss.backends._tf_array_api``).
    """
    named = {f"arrays[{i}]": x for i, x in enumerate(xs) if not isinstance(x, (bool, int, float, complex))}
    return resolve("array_namespace", named).xp
