"""Losses and their gradients under jax.jit, tf.function(jit_compile=True) and torch.compile.

One composite function of several losses is compiled once per framework and
compared with eager xploss on the same backend.  Value checks (label range,
negative variance) run only eagerly: under tracing they are skipped, with
no error and no Python branch on a traced value.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from conftest import Backend
from helpers import assert_close, to_backend, to_numpy

import xploss

rng = np.random.default_rng(7)
P, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
Z, LAB = rng.normal(size=(5, 4)) * 3, np.array([0, 3, -100, 1, 2])
VAR = rng.uniform(0.5, 2.0, size=4)
VAR_NEG = np.array([0.7, -1.0, 1.3, 0.0])  # invalid eagerly; traced (values unknown), a NaN loss
LAB_OOB = np.array([0, 9, -100, 1, -3])  # invalid eagerly; traced, a NaN loss
EPS = 1e-6  # gaussian_nll's default variance clamp
ARGNUMS = (0, 2, 4)  # d/d pred, d/d logits, d/d var


def composite(p, y, z, lab, var):
    return (xploss.mse(p, y) + xploss.huber(p, y, delta=0.5, reduction="sum")
            + xploss.cross_entropy(z, lab, label_smoothing=0.1) + xploss.gaussian_nll(p, y, var))


def _args(b: Backend, var: np.ndarray = VAR, lab: np.ndarray = LAB) -> tuple:
    return tuple(to_backend(b, a) for a in (P, Y, Z, lab, var))


def _compare(b: Backend, compiled, var: np.ndarray = VAR) -> None:
    """``compiled(*args) -> (value, grads)`` equals eager ``value_and_grad`` (variance clamped eagerly)."""
    value, grads = compiled(*_args(b, var))
    ref_value, ref_grads = xploss.value_and_grad(composite, ARGNUMS)(*_args(b, np.maximum(var, EPS)))
    assert_close(value, ref_value, dtype="float64", b=b, what="compiled value")
    for g, r, name in zip(grads, ref_grads, ("pred", "logits", "var")):
        assert_close(g, r, dtype="float64", b=b, what=f"compiled d/d{name}")


def _nan(b: Backend, compiled, var: np.ndarray = VAR, lab: np.ndarray = LAB) -> None:
    """Traced, a value the checks cannot see is bad: the loss is NaN, never a plausible number (#7)."""
    value, _ = compiled(*_args(b, var, lab))
    assert np.isnan(to_numpy(value)), f"{b.value}: traced bad input gave {to_numpy(value)}"


def test_eager_rejects_what_compiled_skips():
    from xploss import XplossError

    with pytest.raises(XplossError, match="argument `var`: expected non-negative variances"):
        composite(*_args(Backend.NUMPY, VAR_NEG))
    with pytest.raises(XplossError, match="argument `labels`: expected class indices in"):
        composite(*_args(Backend.NUMPY, lab=LAB_OOB))


def test_jax_jit():
    import jax

    b = Backend.JAX
    jax.config.update("jax_enable_x64", True)
    value = jax.jit(composite)(*_args(b))
    assert_close(value, composite(*_args(b)), dtype="float64", b=b, what="jit value")
    step = jax.jit(xploss.value_and_grad(composite, ARGNUMS))
    _compare(b, step)
    _nan(b, step, VAR_NEG)
    _nan(b, step, lab=LAB_OOB)  # no error, no ConcretizationTypeError


def test_jax_jit_closed_over_labels_are_checked():
    """Labels closed over by a jitted function are concrete: checked on the host, not traced."""
    import jax
    import jax.numpy as jnp

    logits = jnp.zeros((3, 4))
    good, bad = jnp.asarray([0, 3, -100]), jnp.asarray([0, 4, 1])
    value = jax.jit(lambda z: xploss.cross_entropy(z, good))(logits)
    assert abs(float(value) - np.log(4.0)) < 1e-6
    with pytest.raises(xploss.XplossError, match="Received: a label 4"):
        jax.jit(lambda z: xploss.cross_entropy(z, bad))(logits)


@pytest.mark.slow
def test_tf_function_jit_compile():
    import tensorflow as tf

    b = Backend.TENSORFLOW

    @tf.function(jit_compile=True)
    def step(p, y, z, lab, var):
        with tf.GradientTape() as tape:
            tape.watch([p, z, var])
            value = composite(p, y, z, lab, var)
        return value, tape.gradient(value, [p, z, var])

    _compare(b, step)
    _nan(b, step, VAR_NEG)
    _nan(b, step, lab=LAB_OOB)
    wrapped = tf.function(xploss.value_and_grad(composite, ARGNUMS), jit_compile=True)
    _compare(b, wrapped)


@functools.cache
def _torch_compiled():
    import torch

    return torch.compile(composite)


def _torch_step(*args):
    p, y, z, lab, var = args
    leaves = [a.detach().requires_grad_(True) for a in (p, z, var)]
    value = _torch_compiled()(leaves[0], y, leaves[1], lab, leaves[2])
    value.backward()
    return value.detach(), [leaf.grad for leaf in leaves]


@pytest.mark.slow
def test_torch_compile():
    _compare(Backend.TORCH, _torch_step)


@pytest.mark.slow
def test_torch_compile_skips_value_checks():
    _nan(Backend.TORCH, _torch_step, VAR_NEG)
    _nan(Backend.TORCH, _torch_step, lab=LAB_OOB)


def test_torch_compile_traces_without_graph_breaks():
    """A graph break inside a loss runs its autograd.Function eagerly: nothing of it is compiled."""
    import torch._dynamo

    args = list(_args(Backend.TORCH))
    for i in ARGNUMS:
        args[i] = args[i].requires_grad_(True)
    explained = torch._dynamo.explain(composite)(*args)
    reasons = set()
    for r in explained.break_reasons:
        ours = [f for f in r.user_stack if "/xploss/" in f.filename] or r.user_stack
        reasons.add(f"{r.reason.splitlines()[0]} at {ours[-1].filename.split('/')[-1]}:{ours[-1].lineno} "
                    f"`{ours[-1].line}`")
    assert explained.graph_break_count == 0, f"{explained.graph_break_count} graph breaks: {sorted(reasons)}"
