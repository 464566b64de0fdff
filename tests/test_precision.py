"""Precision policy: float16 / bfloat16 inputs are computed in float32 and
returned (values and gradients) in their own dtype, on every backend."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BACKENDS, Backend, _load
from helpers import to_backend, to_numpy

import xploss

LOW = {  # backend -> 16-bit dtype names it supports
    Backend.NUMPY: ("float16",),
    Backend.TORCH: ("float16", "bfloat16"),
    Backend.JAX: ("float16", "bfloat16"),
    Backend.TENSORFLOW: ("float16", "bfloat16"),
}


def _cast(b: Backend, x: np.ndarray, name: str):
    if b is Backend.NUMPY:
        return x.astype(name)
    if b is Backend.TORCH:
        import torch

        return torch.tensor(x, dtype=getattr(torch, name))
    if b is Backend.JAX:
        import jax.numpy as jnp

        return jnp.asarray(x, dtype=getattr(jnp, name))
    import tensorflow as tf

    return tf.constant(x, dtype=getattr(tf, name))


def _f64(x) -> np.ndarray:
    x = x.float() if hasattr(x, "float") and hasattr(x, "detach") else x
    return to_numpy(x).astype(np.float64)


CASES = [(b, name) for b in BACKENDS if b in LOW for name in LOW[b]]  # array_api_strict: no 16-bit floats


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize(("backend", "name"), CASES, ids=[f"{b.value}-{n}" for b, n in CASES])
def test_low_precision_computed_in_float32(backend: Backend, name: str, loss: str) -> None:
    _load(backend)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(64, 10)) * 3.0
    other = rng.integers(0, 10, size=64) if loss == "cross_entropy" else rng.normal(size=(64, 10))
    fn = getattr(xploss, loss)
    zz = _cast(backend, z, name)
    oo = to_backend(backend, other) if loss == "cross_entropy" else _cast(backend, other, name)
    # reference: float64 NumPy on the 16-bit inputs themselves (their rounding is not the loss' error)
    v64, g64 = xploss.value_and_grad(fn)(_f64(zz), other if loss == "cross_entropy" else _f64(oo))
    v, g = xploss.value_and_grad(fn)(zz, oo)
    assert name in str(v.dtype) and name in str(g.dtype)
    eps = 2.0**-8 if name == "bfloat16" else 2.0**-11  # one rounding of the result
    assert abs(_f64(v) - v64) <= 2 * eps * max(abs(v64), 1.0)
    assert np.max(np.abs(_f64(g) - g64)) <= 2 * eps * max(np.max(np.abs(g64)), 1.0)
