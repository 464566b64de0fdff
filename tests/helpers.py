"""Conversions between NumPy and each backend, and the one ``assert_close``."""

from __future__ import annotations

from typing import Any

import numpy as np
from conftest import Backend

# Tolerances keyed by dtype (relative to max(|expected|, 1)), per DESIGN.md.
RTOL = {"float32": 1e-5, "float64": 1e-12}


def to_backend(b: Backend, x: Any, dtype: str | None = None) -> Any:
    """A NumPy array (or None) as an array of backend ``b``."""
    if x is None:
        return None
    x = np.asarray(x)
    if dtype is not None and x.dtype.kind == "f":
        x = x.astype(dtype)
    if b is Backend.NUMPY:
        return x
    if b is Backend.ARRAY_API_STRICT:
        import array_api_strict as xps

        return xps.asarray(x)
    if b is Backend.TORCH:
        import torch

        return torch.from_numpy(np.ascontiguousarray(x))
    if b is Backend.JAX:
        import jax.numpy as jnp

        return jnp.asarray(x)
    import tensorflow as tf

    return tf.constant(x)


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    if type(x).__module__.startswith("array_api_strict"):
        import array_api_strict as xps

        return np.asarray(xps.to_device(x, "CPU_DEVICE")) if hasattr(xps, "to_device") else np.asarray(x)
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return np.asarray(x.numpy())
    return np.asarray(x)


def backend_name(x: Any) -> str:
    root = type(x).__module__.split(".")[0]
    return {"jaxlib": "jax"}.get(root, root)


def assert_close(actual: Any, expected: Any, *, dtype: str, b: Backend | None = None, rtol: float | None = None,
                 what: str = "") -> float:
    """Compare with ``|a - e| <= rtol * max(|e|, 1)``; also checks library, shape and dtype.

    Returns the worst scaled error seen.
    """
    if b is not None:
        assert backend_name(actual) == b.value, f"{what}: result is a {backend_name(actual)} array, not {b.value}"
    a = to_numpy(actual)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    assert str(a.dtype) == dtype, f"{what}: dtype {a.dtype} != {dtype}"
    tol = RTOL[dtype] if rtol is None else rtol
    err = np.abs(a.astype(np.float64) - e) / np.maximum(np.abs(e), 1.0)
    worst = float(np.max(err)) if err.size else 0.0
    assert np.all(np.isfinite(a) == np.isfinite(e)), f"{what}: finiteness differs: {a} vs {e}"
    assert worst <= tol, f"{what}: worst scaled error {worst:.3g} > {tol:.1g}\nactual={a}\nexpected={e}"
    return worst


class native_autodiff:  # noqa: N801 - used as a context manager
    """Within this block, xploss losses on ``b`` bypass the hand derivative.

    ``Backend.apply`` runs the value kernel with plain framework ops, so the
    framework's own autodiff differentiates the *same kernel*: the reference
    that the hand VJP must reproduce.
    """

    def __init__(self, b: Backend) -> None:
        from xploss._namespace import backend_for

        self.impl = backend_for(b.value)
        self.saved = None

    def __enter__(self) -> native_autodiff:
        impl = self.impl
        self.saved = impl.apply
        impl.apply = lambda bound, arrays: bound.forward(impl.xp, *arrays)[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.impl.apply = self.saved


def hessian(b: Backend, f: Any, x: Any) -> Any:
    """The Hessian of the scalar ``f`` at ``x`` with the backend's own autodiff (torch, JAX or TensorFlow)."""
    if b is Backend.TORCH:
        import torch

        return torch.autograd.functional.hessian(f, x, create_graph=True)
    if b is Backend.JAX:
        import jax

        return jax.hessian(f)(x)
    import tensorflow as tf

    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            value = f(x)
        g = inner.gradient(value, x)
    return outer.jacobian(g, x)


# -- appended by the proxies helper (#8): TensorFlow's own gradient of a gather (tf.gather, e.g. the
# centre rows of `center`) is a tf.IndexedSlices; the native-autodiff comparison densifies it.
_to_numpy_dense = to_numpy


def to_numpy(x: Any) -> np.ndarray:  # noqa: F811 - extends the definition above
    if type(x).__name__ == "IndexedSlices":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
    return _to_numpy_dense(x)
