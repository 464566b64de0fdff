"""``xploss.value_and_grad`` on every backend, higher-order gradients, framework variables."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from conftest import Backend
from helpers import RTOL, assert_close, hessian, to_backend, to_numpy

import xploss
from xploss import XplossError, XplossTypeError

rng = np.random.default_rng(20240611)
P, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
LOGITS, LABELS = rng.normal(size=(5, 4)) * 2, np.array([0, 3, -100, 1, 2])
NEG = rng.normal(size=(4, 3))


def numeric_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a NumPy scalar function, in float64."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _huber_np(r: np.ndarray, delta: float = 1.0) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


# -- first order, every backend ----------------------------------------------------------

ARGNUMS = [0, 1, -2, (0, 1), (1, 0), (0,)]


@pytest.mark.parametrize("argnums", ARGNUMS, ids=str)
def test_value_and_grad_argnums(backend, dtype, argnums):
    p, y = P.astype(dtype), Y.astype(dtype)
    r = p.astype(np.float64) - y
    expected = {0: 2 * r / r.size, 1: -2 * r / r.size, -2: 2 * r / r.size}
    value, grads = xploss.value_and_grad(xploss.mse, argnums)(to_backend(backend, p), to_backend(backend, y))
    assert_close(value, np.mean(r * r), dtype=dtype, b=backend, what="value")
    if isinstance(argnums, int):
        assert_close(grads, expected[argnums], dtype=dtype, b=backend, what="grad")
        return
    assert isinstance(grads, tuple) and len(grads) == len(argnums)
    for g, a in zip(grads, argnums):
        assert_close(g, expected[a], dtype=dtype, b=backend, what=f"grad {a}")


def test_value_and_grad_options_and_integer_labels(backend, dtype):
    """Keyword options pass through; integer labels ride along undifferentiated."""
    z, lab = LOGITS.astype(dtype), LABELS
    value, grad = xploss.value_and_grad(xploss.cross_entropy)(to_backend(backend, z), to_backend(backend, lab),
                                                              label_smoothing=0.2)
    zz = z.astype(np.float64)
    sm = np.exp(zz - zz.max(-1, keepdims=True))
    sm /= sm.sum(-1, keepdims=True)
    valid = LABELS != -100
    q = 0.8 * np.eye(4)[np.where(valid, LABELS, 0)] + 0.2 / 4
    loss = -(q * np.log(sm)).sum(-1)
    assert_close(value, loss[valid].mean(), dtype=dtype, b=backend, what="value")
    assert_close(grad, (sm - q) * valid[:, None] / valid.sum(), dtype=dtype, b=backend, what="grad")


def test_non_scalar_output(backend):
    f = xploss.value_and_grad(lambda p, y: xploss.mse(p, y, reduction="none"))
    with pytest.raises(XplossError, match=r"must return a scalar .*Received: an output of shape \(4, 3\)\."):
        f(to_backend(backend, P), to_backend(backend, Y))


@pytest.mark.parametrize("argnums,kind,message", [
    (1, XplossTypeError, r"argument `args\[1\]`: expected a real floating .*Received: dtype .*int64"),
    ((0, 1), XplossTypeError, r"argument `args\[1\]`: expected a real floating .*Received: dtype .*int64"),
    (2, XplossError, r"argument `argnums`: expected positions .*Received: 2"),
])
def test_bad_argnums(backend, argnums, kind, message):
    f = xploss.value_and_grad(xploss.cross_entropy, argnums)
    with pytest.raises(kind, match="xploss.value_and_grad: " + message):
        f(to_backend(backend, LOGITS), to_backend(backend, LABELS))


@pytest.mark.parametrize("b", [Backend.NUMPY, Backend.ARRAY_API_STRICT], ids=lambda b: b.value)
def test_numpy_needs_an_xploss_result(b, monkeypatch):
    monkeypatch.setattr("xploss.backends._numpy._load_autograd", lambda: None)  # with autograd it differentiates
    f = xploss.value_and_grad(lambda p, y: xploss.mse(p, y) * 2)
    with pytest.raises(XplossError, match=re.escape("must return the result of an xploss loss")):
        f(to_backend(b, P), to_backend(b, Y))


def test_arbitrary_function_on_autodiff_backends(ad_backend, dtype):
    p, y = P.astype(dtype), Y.astype(dtype)

    def ref(pp, yy):
        r = pp - yy
        return np.mean(r * r) + np.mean(_huber_np(r, 0.5))

    f = xploss.value_and_grad(lambda a, b: xploss.mse(a, b) + xploss.huber(a, b, delta=0.5), argnums=(0, 1))
    value, (gp, gy) = f(to_backend(ad_backend, p), to_backend(ad_backend, y))
    p64, y64 = p.astype(np.float64), y.astype(np.float64)
    tol = max(RTOL[dtype], 1e-8)
    assert_close(value, ref(p64, y64), dtype=dtype, b=ad_backend, what="value")
    assert_close(gp, numeric_grad(lambda a: ref(a, y64), p64), dtype=dtype, b=ad_backend, rtol=tol, what="d/dp")
    assert_close(gy, numeric_grad(lambda b: ref(p64, b), y64), dtype=dtype, b=ad_backend, rtol=tol, what="d/dy")


# -- second order: xploss' Hessians vs torch built-ins' double backward ------------------------

# name -> (xploss loss, torch.nn.functional built-in, x, other, options); Hessians are w.r.t. x
SECOND_ORDER = {
    "mse": (xploss.mse, "mse_loss", P, Y, {}),
    "huber": (xploss.huber, "huber_loss", P, Y, {"delta": 0.7}),
    "cross_entropy": (xploss.cross_entropy, "cross_entropy", LOGITS, LABELS, {}),
    "triplet_margin": (xploss.triplet_margin, "triplet_margin_loss", P, Y, {"margin": 2.0}),
}


def _call(name: str, fn, x, other, convert):
    """Call a loss; triplet_margin gets the fixed negatives (``convert(NEG)``) as third array."""
    kwargs = SECOND_ORDER[name][4]
    extra = (convert(NEG),) if name == "triplet_margin" else ()
    return fn(x, other, *extra, **kwargs)


@functools.cache
def _torch_referencehessian(name: str) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    _, builtin, x, other, _ = SECOND_ORDER[name]
    f = getattr(F, builtin)
    return torch.autograd.functional.hessian(
        lambda t: _call(name, f, t, torch.from_numpy(other), torch.from_numpy), torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_order(ad_backend, name):
    fn, _, x, other, _ = SECOND_ORDER[name]
    o = to_backend(ad_backend, other)
    convert = functools.partial(to_backend, ad_backend)
    h = hessian(ad_backend, lambda t: _call(name, fn, t, o, convert), convert(x))
    ref = _torch_referencehessian(name)
    assert np.abs(ref).max() > 0.01, "degenerate reference Hessian"
    assert_close(h, ref, dtype="float64", b=ad_backend, what=f"Hessian of {name}")


def test_torch_double_backward_mixed():
    """d/dy (d loss/dp . v) through create_graph, vs torch's own mse_loss."""
    import torch
    import torch.nn.functional as F

    def hvp(loss):
        p, y = (torch.from_numpy(a).requires_grad_(True) for a in (P, Y))
        (gp,) = torch.autograd.grad(loss(p, y), p, create_graph=True)
        (gy,) = torch.autograd.grad((gp * torch.from_numpy(NEG)).sum(), y)
        return gy

    expected = hvp(lambda p, y: F.huber_loss(p, y, delta=0.7))
    assert_close(hvp(lambda p, y: xploss.huber(p, y, delta=0.7)), expected.numpy(), dtype="float64")


# -- framework variables -----------------------------------------------------------------------

def test_torch_parameter(dtype):
    import torch

    p = torch.nn.Parameter(torch.from_numpy(P.astype(dtype)))
    y = torch.from_numpy(Y.astype(dtype))
    loss = xploss.huber(p, y, delta=0.5)
    loss.backward()
    r = P.astype(dtype).astype(np.float64) - Y.astype(dtype)
    expected = np.clip(r, -0.5, 0.5) / r.size
    assert_close(p.grad, expected, dtype=dtype, b=Backend.TORCH, what="Parameter.grad")
    value, grad = xploss.value_and_grad(xploss.huber)(p, y, delta=0.5)
    assert type(value) is torch.Tensor and not value.requires_grad
    assert_close(grad, expected, dtype=dtype, b=Backend.TORCH, what="value_and_grad on a Parameter")


def test_tf_variable(dtype):
    import tensorflow as tf

    p = tf.Variable(P.astype(dtype))
    y = tf.constant(Y.astype(dtype))
    with tf.GradientTape() as tape:  # variables are watched automatically
        loss = xploss.mse(p, y)
    r = P.astype(dtype).astype(np.float64) - Y.astype(dtype)
    assert_close(tape.gradient(loss, p), 2 * r / r.size, dtype=dtype, b=Backend.TENSORFLOW, what="tape")
    value, grad = xploss.value_and_grad(xploss.mse)(p, y)
    assert_close(value, np.mean(r * r), dtype=dtype, b=Backend.TENSORFLOW, what="value")
    assert_close(grad, 2 * r / r.size, dtype=dtype, b=Backend.TENSORFLOW, what="value_and_grad on a Variable")
    assert float(to_numpy(p)[0, 0]) == float(P.astype(dtype)[0, 0])  # untouched
