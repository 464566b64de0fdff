"""Hyperparameters that change every call (#7, category 10): a schedule for ``gamma``, ``delta`` or
``label_smoothing`` costs no memory and, on JAX, no compile per value.

* The caches of bound operations (``_define._BOUND``) and of their per-backend bindings are bounded
  (:class:`xploss._define.LRU`): 20,000 distinct values used to add 20,000 entries, never evicted.
* On JAX a float option other than 0 and 1 is an argument of the one compiled kernel per structure
  (before: a new ``jax.jit`` per value, ~35-90 ms each), and a traced 0-d JAX array is accepted for
  ``gamma``, ``delta`` and ``label_smoothing``: ``jax.jit`` of a step with a per-step ``gamma``
  compiles once.  A kernel that branches on a value in Python falls back to a kernel per value.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import xploss
from xploss import XplossTypeError, _define

Z = np.random.default_rng(3).normal(size=(6, 4)) * 2
INPUTS = {"z": Z, "y": np.array([0, 3, 1, 2, 2, 0]), "t": np.random.default_rng(4).uniform(size=(6, 4)),
          "p": 1 / (1 + np.exp(-Z))}
SCHEDULED = {  # name: (loss of the inputs (a dict, backend arrays) and the value, values of a schedule)
    "focal gamma": (lambda a, v: xploss.focal(a["z"], a["y"], gamma=v), (0.5, 1.5, 2.0, 2.5, 3.0)),
    "focal label_smoothing": (lambda a, v: xploss.focal(a["z"], a["y"], label_smoothing=v), (0.05, 0.1, 0.2)),
    "cross_entropy label_smoothing": (lambda a, v: xploss.cross_entropy(a["z"], a["y"], label_smoothing=v),
                                      (0.05, 0.1, 0.2, 0.3)),
    "sigmoid_focal gamma": (lambda a, v: xploss.sigmoid_focal(a["z"], a["t"], gamma=v), (0.5, 1.5, 2.0, 3.0)),
    "binary_focal gamma": (lambda a, v: xploss.binary_focal(a["p"], a["t"], gamma=v), (0.5, 2.0, 4.0)),
    "huber delta": (lambda a, v: xploss.huber(a["z"], a["t"], delta=v), (0.25, 0.5, 2.0)),
}


def _on_jax(jnp, **replace):
    return {k: replace.get(k, jnp.asarray(x)) for k, x in INPUTS.items()}


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax, jax.numpy


@pytest.mark.parametrize("case", list(SCHEDULED))
def test_jax_compiles_once_per_structure(case):
    """Every value of the schedule runs in the same compiled kernel, with the value NumPy gives."""
    jax, jnp = _jax()
    from xploss.backends import _jax as xjax

    fn, values = SCHEDULED[case]
    fn(_on_jax(jnp), values[0])
    before = len(xjax._CACHE)
    for v in values:
        assert_close(fn(_on_jax(jnp), v), fn(INPUTS, v), dtype="float64", what=f"{case}={v}")
    assert len(xjax._CACHE) == before, f"{case}: {len(xjax._CACHE) - before} kernels compiled for {len(values)} values"


@pytest.mark.parametrize("case", list(SCHEDULED))
def test_traced_hyperparameter_in_a_jitted_step(case):
    """``jax.jit`` of a step whose ``gamma`` is an argument: one compile for the whole schedule (before:
    refused, 'expected a finite Python float'); values and gradients equal the eager NumPy ones."""
    jax, jnp = _jax()
    fn, values = SCHEDULED[case]
    arg = "p" if case.startswith("binary") else "z"
    step = jax.jit(jax.value_and_grad(lambda x, v: fn(_on_jax(jnp, **{arg: x}), v)))
    for v in values:
        value, grad = step(jnp.asarray(INPUTS[arg]), jnp.asarray(v))
        ref_value, ref_grad = xploss.value_and_grad(lambda x, v=v: fn({**INPUTS, arg: x}, v))(INPUTS[arg])
        assert_close(value, ref_value, dtype="float64", what=f"{case}={v}")
        assert_close(grad, ref_grad, dtype="float64", what=f"d/dz, {case}={v}")
    assert step._cache_size() == 1


def test_traced_hyperparameter_is_not_differentiated():
    """xploss gives no gradient for a hyperparameter: asking for one is an error, not a silent 0."""
    jax, jnp = _jax()
    with pytest.raises(XplossTypeError, match=r"xploss\.focal: argument `gamma`: expected a hyperparameter that "
                       r"is not differentiated"):
        jax.grad(lambda g: xploss.focal(jnp.asarray(Z), jnp.asarray(INPUTS["y"]), gamma=g))(2.0)


def test_concrete_array_hyperparameter_is_range_checked():
    _, jnp = _jax()
    with pytest.raises(xploss.XplossError, match=r"argument `gamma`: expected a value in \[0\.0, inf\]\. "
                       r"Received: -1\.0"):
        xploss.focal(jnp.asarray(Z), jnp.asarray(INPUTS["y"]), gamma=jnp.asarray(-1.0))


def test_array_hyperparameters_are_jax_only():
    """An array value is a traced JAX hyperparameter: with NumPy scores, or for an option a kernel
    specialises on, it is refused with the fix."""
    _, jnp = _jax()
    with pytest.raises(XplossTypeError, match=r"xploss\.focal: argument `gamma`: expected a Python float \(an "
                       r"array hyperparameter is a traced JAX value only\)\. Received: a JAX array"):
        xploss.focal(Z, INPUTS["y"], gamma=jnp.asarray(2.0))
    with pytest.raises(XplossTypeError, match=r"argument `beta`: expected a finite Python float\. Received"):
        xploss.smooth_l1(jnp.asarray(Z), jnp.asarray(Z), beta=jnp.asarray(0.5))


def test_a_kernel_that_branches_on_a_value_compiles_per_value():
    """triplet_margin specialises on its norm degree ``p`` (``p == 2``: a fast path): tracing it as a value
    fails once, and that loss then compiles per value, still exact."""
    jax, jnp = _jax()
    from xploss.backends import _jax as xjax

    a, p, n = (np.random.default_rng(i).normal(size=(5, 3)) for i in range(3))
    for deg in (3.0, 1.5):
        got = xploss.triplet_margin(jnp.asarray(a), jnp.asarray(p), jnp.asarray(n), p=deg)
        assert_close(got, xploss.triplet_margin(a, p, n, p=deg), dtype="float64", what=f"p={deg}")
    assert any(prim.name == "triplet_margin" for prim in xjax._PER_VALUE)


def test_float16_with_an_array_hyperparameter_keeps_its_dtype():
    """A float64 gamma does not promote a float16 loss; it is applied in float32, the compute dtype."""
    _, jnp = _jax()
    z16 = jnp.asarray(Z, dtype=jnp.float16)
    y = jnp.asarray(INPUTS["y"])
    got = xploss.focal(z16, y, gamma=jnp.asarray(1.5, dtype=jnp.float64))
    assert got.dtype == jnp.float16
    assert abs(float(got) - float(xploss.focal(z16.astype(np.float64), y, gamma=1.5))) < 2e-3


@pytest.mark.parametrize("backend_name", ["numpy", "torch", "tensorflow", "jax"])
def test_caches_are_bounded(backend_name):
    """A schedule of 2,000 distinct ``delta`` values leaves at most ``maxsize`` bound operations and
    bindings behind (before: one entry per value, never evicted)."""
    pytest.importorskip(backend_name)
    from conftest import Backend
    from helpers import to_backend

    b = Backend(backend_name)
    p, y = to_backend(b, np.ones(4)), to_backend(b, np.zeros(4))
    for i in range(2000):
        xploss.huber(p, y, delta=0.5 + i * 1e-6)
    assert len(_define._BOUND) <= _define._BOUND.maxsize
    if backend_name == "tensorflow":
        from xploss.backends import _tensorflow

        assert len(_tensorflow._CACHE) <= _tensorflow._CACHE.maxsize
    if backend_name == "jax":
        from xploss.backends import _jax as xjax

        assert len(xjax._CACHE) <= xjax._CACHE.maxsize
